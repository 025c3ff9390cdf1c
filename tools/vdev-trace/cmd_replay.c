/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `vdev-trace replay`: re-run a trace against a fresh device, without a guest, and say
 * whether the device still answers the way it did when the trace was recorded.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "replay/replay.h"
#include "vdev/virtio_pci.h"

static void replay_usage(FILE *out)
{
	fprintf(out,
		"usage: vdev-trace replay [options] FILE\n"
		"  --no-check     run the trace without comparing (exit 0 unless it is\n"
		"                 malformed)\n"
		"  --mode MODE    build the function as legacy, modern or transitional,\n"
		"                 whatever the trace's device record says\n"
		"  --cfg-access   make every BAR access through the PCI cfg-access capability\n"
		"                 (modern and transitional functions)\n"
		"  --verbose      print the device's log and its state at the end\n"
		"Exit status: 0 the device answered as recorded, 1 it answered differently\n"
		"(the first difference is printed), 3 the trace is malformed or cannot be\n"
		"replayed.\n");
}

int vt_parse_mode(const char *s)
{
	if (strcmp(s, "legacy") == 0)
		return VDEV_PCI_LEGACY;
	if (strcmp(s, "modern") == 0)
		return VDEV_PCI_MODERN;
	if (strcmp(s, "transitional") == 0)
		return VDEV_PCI_TRANSITIONAL;
	return 0;
}

static void print_log(void *arg, const char *msg)
{
	fprintf(arg, "  log: %s\n", msg);
}

static void print_end(const struct vdev_replay_result *res)
{
	const struct vdev_dev_stats *s = &res->stats;

	fprintf(stderr,
		"  end: status 0x%02x, features 0x%" PRIx64 ", %" PRIu64 " interrupts\n"
		"  stats: requests %" PRIu64 ", bytes in %" PRIu64 ", bytes out %" PRIu64
		", errors %" PRIu64 ", dropped %" PRIu64 ", no buffer %" PRIu64 "\n",
		res->status, res->negotiated_features, res->interrupts, s->requests, s->bytes_in,
		s->bytes_out, s->errors, s->dropped, s->no_buffer);
}

int vt_cmd_replay(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "no-check", no_argument, NULL, 'n' },
		{ "mode", required_argument, NULL, 'm' },
		{ "cfg-access", no_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vdev_replay_options o;
	struct vdev_replay_result res;
	bool verbose = false;
	uint8_t *buf;
	size_t len;
	int c, rc;

	vdev_replay_default_options(&o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "nm:cvh", opts, NULL)) != -1) {
		switch (c) {
		case 'n': o.check = false; break;
		case 'c': o.via_cfg_access = true; break;
		case 'v': verbose = true; break;
		case 'm':
			o.force_mode = vt_parse_mode(optarg);
			if (o.force_mode == 0) {
				fprintf(stderr, "vdev-trace: replay: --mode must be legacy, modern "
						"or transitional, not '%s'\n", optarg);
				return VT_EXIT_USAGE;
			}
			break;
		case 'h': replay_usage(stdout); return VT_EXIT_OK;
		default: replay_usage(stderr); return VT_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		replay_usage(stderr);
		return VT_EXIT_USAGE;
	}
	rc = vt_load_trace(argv[optind], &buf, &len);
	if (rc != VT_EXIT_OK)
		return rc;
	if (verbose) {
		o.log_level = 3; /* VDEV_LOG_DEBUG */
		o.log = print_log;
		o.log_arg = stderr;
	}
	rc = vdev_replay_run(buf, len, &o, &res);
	free(buf);
	if (rc < 0 || res.error != 0) {
		fprintf(stderr, "vdev-trace: replay: %s: %s\n", argv[optind], res.message);
		return VT_EXIT_IO;
	}
	if (res.diverged) {
		printf("diverged at %s\n", res.message);
		if (verbose)
			print_end(&res);
		return VT_EXIT_DIVERGED;
	}
	printf("%s: %" PRIu64 " records, %s\n", argv[optind], res.records,
	       o.check ? "identical" : "replayed without checking");
	if (verbose)
		print_end(&res);
	return VT_EXIT_OK;
}
