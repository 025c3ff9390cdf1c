/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vdev-trace: work with register-access traces recorded by libvdev
 * (docs/trace-format.md). One sub-command per job; each parses its own options.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "vdev/host.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "print", vt_cmd_print, "print [--summary] [--raw] FILE\n      show a trace as text" },
	{ "convert", vt_cmd_convert, "convert [--to text|binary] [--raw] IN OUT\n"
				     "      write a trace in the other (or the given) form" },
	{ "replay", vt_cmd_replay, "replay [options] FILE\n"
				   "      re-run a trace against a fresh device and check it" },
	{ "minimize", vt_cmd_minimize, "minimize [options] IN OUT\n"
				       "      shrink a trace that still shows a problem" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: vdev-trace COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %s\n", commands[i].summary);
	fprintf(out,
		"  --help | --version\n"
		"\n"
		"FILE may be binary or text; '-' reads standard input. 'vdev-trace COMMAND --help'\n"
		"describes a command's options. Exit status: 0 success; 1 the replayed device\n"
		"answered differently; 2 bad command line; 3 a file could not be read or\n"
		"written, or is not a valid trace. The format is described in\n"
		"docs/trace-format.md.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return VT_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		usage(stdout);
		return VT_EXIT_OK;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
		printf("vdev-trace %s\n", vdev_version());
		return VT_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		/* The sub-command sees itself as argv[0], so getopt starts after it. */
		if (strcmp(cmd, commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "vdev-trace: unknown command '%s'\n", cmd);
	usage(stderr);
	return VT_EXIT_USAGE;
}
