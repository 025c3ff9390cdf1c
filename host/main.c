/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vdev-host: serve libvdev devices described by a JSON file to QEMU, through QEMU's
 * multi-process proxy (x-pci-proxy-dev) or vhost-user, on a libuv loop. Built on
 * libvdev's public API only.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "server.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vdev-host --config FILE        serve the devices FILE describes\n"
		"       vdev-host --check-config FILE  validate FILE and exit\n"
		"       vdev-host --help | --version\n"
		"\n"
		"Exit status: 0 stopped cleanly (SIGINT/SIGTERM) or the configuration is valid;\n"
		"1 the configuration is invalid (nothing was opened); 2 bad command line;\n"
		"3 a socket could not be set up or the event loop failed.\n"
		"FILE is a regular file of at most 1 MiB, or - for standard input; relative\n"
		"paths in it are relative to its folder (to the working directory for -).\n"
		"The configuration format is described in docs/config.md.\n");
}

static void summarise(const struct host_config *cfg)
{
	static const char *const modes[] = {"", "legacy", "modern", "transitional"};

	for (int i = 0; i < cfg->ndevs; i++) {
		const struct host_dev_config *d = &cfg->devs[i];

		printf("  %-16s %-8s %-12s %-11s %s\n", d->id, host_dev_type_name(d->type),
		       d->conn == HOST_CONN_PROXY ? modes[d->pci.mode] : "-",
		       host_conn_type_name(d->conn), d->socket);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	bool check_only = false;
	struct host_config cfg;
	char err[512];
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:k:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
		case 'k':
			if (path != NULL) {
				fprintf(stderr, "vdev-host: give one configuration file\n");
				return HOST_EXIT_USAGE;
			}
			path = optarg;
			check_only = c == 'k';
			break;
		case 'h':
			usage(stdout);
			return HOST_EXIT_OK;
		case 'V':
			printf("vdev-host %s\n", VDEV_VERSION_STRING);
			return HOST_EXIT_OK;
		default:
			usage(stderr);
			return HOST_EXIT_USAGE;
		}
	}
	if (path == NULL || optind != argc) {
		usage(stderr);
		return HOST_EXIT_USAGE;
	}
	if (host_config_load(path, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "vdev-host: %s: %s\n", path, err);
		return HOST_EXIT_CONFIG;
	}
	printf("%s: %d device%s\n", path, cfg.ndevs, cfg.ndevs == 1 ? "" : "s");
	summarise(&cfg);
	fflush(stdout);
	rc = check_only ? HOST_EXIT_OK : host_server_run(&cfg);
	host_config_free(&cfg);
	return rc;
}
