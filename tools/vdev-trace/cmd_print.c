/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `vdev-trace print`: a trace as text on standard output, or with --summary how many
 * records of each kind it holds and how many data bytes they carry.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "replay/trace_text.h"
#include "trace/trace_format.h"

static void print_usage(FILE *out)
{
	fprintf(out,
		"usage: vdev-trace print [--summary] [--raw] FILE\n"
		"  --summary  count the records of each kind instead of printing them\n"
		"  --raw      FILE is raw binary records without a header (a fuzzer input);\n"
		"             a truncated last record is ignored\n");
}

struct kind_count {
	uint64_t records;
	uint64_t bytes;
};

static void print_summary(const struct kind_count counts[256], uint64_t total)
{
	uint64_t bytes = 0;

	printf("%-10s %12s %14s\n", "kind", "records", "data bytes");
	for (int k = 0; k < 256; k++) {
		if (counts[k].records == 0)
			continue;
		printf("%-10s %12" PRIu64 " %14" PRIu64 "\n", vdev_trace_kind_name((uint8_t)k),
		       counts[k].records, counts[k].bytes);
		bytes += counts[k].bytes;
	}
	printf("%-10s %12" PRIu64 " %14" PRIu64 "\n", "total", total, bytes);
}

int vt_cmd_print(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "summary", no_argument, NULL, 's' },
		{ "raw", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool summary = false, raw = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "srh", opts, NULL)) != -1) {
		switch (c) {
		case 's': summary = true; break;
		case 'r': raw = true; break;
		case 'h': print_usage(stdout); return VT_EXIT_OK;
		default: print_usage(stderr); return VT_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		print_usage(stderr);
		return VT_EXIT_USAGE;
	}
	const char *path = argv[optind];

	uint8_t *buf;
	size_t len;
	int rc = raw ? vt_read_file(path, &buf, &len) : vt_load_trace(path, &buf, &len);
	if (rc != VT_EXIT_OK)
		return rc;

	struct vdev_trace_reader rd;
	struct vdev_trace_rec r;
	struct kind_count *counts = calloc(256, sizeof(*counts));
	uint64_t n = 0;

	if (counts == NULL) {
		fprintf(stderr, "vdev-trace: out of memory\n");
		free(buf);
		return VT_EXIT_IO;
	}
	bool header_ok = vdev_trace_reader_init(&rd, buf, len, raw) == 0;
	if (header_ok) {
		if (!summary)
			vdev_trace_text_header(stdout);
		while (vdev_trace_next(&rd, &r) == 1) {
			n++;
			counts[r.kind].records++;
			if (r.kind != VDEV_TR_PARAM) /* a key is not data */
				counts[r.kind].bytes += r.len;
			if (!summary)
				vdev_trace_rec_print(stdout, &r);
		}
	}
	rc = VT_EXIT_OK;
	if (rd.error != 0) {
		fflush(stdout);
		if (header_ok)
			fprintf(stderr, "vdev-trace: %s: record %" PRIu64 ": %s\n", path, n,
				rd.errmsg);
		else
			fprintf(stderr, "vdev-trace: %s: %s\n", path, rd.errmsg);
		rc = VT_EXIT_IO;
	} else if (summary) {
		print_summary(counts, n);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "vdev-trace: writing the output failed\n");
		rc = VT_EXIT_IO;
	}
	free(counts);
	free(buf);
	return rc;
}
