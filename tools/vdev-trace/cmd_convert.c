/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `vdev-trace convert`: between the binary and text forms. Records are decoded and
 * written again (never copied as bytes), so the output is a valid trace or there is
 * no output: a file is written under a temporary name and renamed only on success.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "replay/trace_text.h"
#include "trace/trace_format.h"

static void convert_usage(FILE *out)
{
	fprintf(out,
		"usage: vdev-trace convert [--to text|binary] [--raw] IN OUT\n"
		"  --to FORM  the output form; default: the other form than IN's\n"
		"  --raw      IN is raw binary records without a header (a fuzzer input);\n"
		"             a truncated last record is ignored\n"
		"IN or OUT may be '-' (standard input or output). A text file written by\n"
		"hand converts to binary, and back, with every field spelled out.\n");
}

/* Write every record of buf to out in the chosen form. 0, or VT_EXIT_IO (reported). */
static int write_trace(FILE *out, const uint8_t *buf, size_t len, bool raw, bool to_text,
		       const char *in_path)
{
	struct vdev_trace_reader rd;
	struct vdev_trace_rec r;
	uint8_t *rec = NULL;
	size_t rec_cap = 0;
	uint64_t n = 0;
	int rc = VT_EXIT_OK;

	if (vdev_trace_reader_init(&rd, buf, len, raw) < 0) {
		fprintf(stderr, "vdev-trace: %s: %s\n", in_path, rd.errmsg);
		return VT_EXIT_IO;
	}
	if (to_text) {
		vdev_trace_text_header(out);
	} else {
		uint8_t hdr[VDEV_TRACE_HEADER_LEN];
		vdev_trace_header_encode(hdr);
		fwrite(hdr, 1, sizeof(hdr), out);
	}
	while (vdev_trace_next(&rd, &r) == 1) {
		n++;
		if (to_text) {
			vdev_trace_rec_print(out, &r);
			continue;
		}
		size_t size = vdev_trace_rec_size(&r);
		if (size > rec_cap) {
			uint8_t *nb = realloc(rec, size);
			if (nb == NULL) {
				fprintf(stderr, "vdev-trace: out of memory\n");
				rc = VT_EXIT_IO;
				break;
			}
			rec = nb;
			rec_cap = size;
		}
		fwrite(rec, 1, vdev_trace_rec_encode(&r, rec), out);
	}
	if (rd.error != 0) {
		fprintf(stderr, "vdev-trace: %s: record %" PRIu64 ": %s\n", in_path, n,
			rd.errmsg);
		rc = VT_EXIT_IO;
	}
	free(rec);
	return rc;
}

/* A temporary file beside `path`, so the final rename stays on one file system. */
static FILE *open_temp(const char *path, char **tmp_path)
{
	size_t n = strlen(path) + sizeof(".tmp-XXXXXX");
	char *tmp = malloc(n);

	if (tmp == NULL)
		return NULL;
	snprintf(tmp, n, "%s.tmp-XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		free(tmp);
		return NULL;
	}
	FILE *f = fdopen(fd, "wb");
	if (f == NULL) {
		int e = errno;
		close(fd);
		unlink(tmp);
		free(tmp);
		errno = e;
		return NULL;
	}
	*tmp_path = tmp;
	return f;
}

int vt_cmd_convert(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "raw", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *to = NULL;
	bool raw = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "t:rh", opts, NULL)) != -1) {
		switch (c) {
		case 't': to = optarg; break;
		case 'r': raw = true; break;
		case 'h': convert_usage(stdout); return VT_EXIT_OK;
		default: convert_usage(stderr); return VT_EXIT_USAGE;
		}
	}
	if (to != NULL && strcmp(to, "text") != 0 && strcmp(to, "binary") != 0) {
		fprintf(stderr, "vdev-trace: convert: --to must be 'text' or 'binary', not '%s'\n",
			to);
		return VT_EXIT_USAGE;
	}
	if (optind + 2 != argc) {
		convert_usage(stderr);
		return VT_EXIT_USAGE;
	}
	const char *in = argv[optind], *out = argv[optind + 1];

	uint8_t *buf;
	size_t len;
	bool was_text = false;
	int rc = raw ? vt_read_file(in, &buf, &len)
		     : vt_load_trace_form(in, &buf, &len, &was_text);
	if (rc != VT_EXIT_OK)
		return rc;
	bool to_text = to != NULL ? strcmp(to, "text") == 0 : !was_text;

	bool to_stdout = strcmp(out, "-") == 0;
	char *tmp = NULL;
	FILE *f = to_stdout ? stdout : open_temp(out, &tmp);
	if (f == NULL) {
		fprintf(stderr, "vdev-trace: %s: %s\n", out, strerror(errno));
		free(buf);
		return VT_EXIT_IO;
	}

	rc = write_trace(f, buf, len, raw, to_text, in);
	free(buf);
	int werr = 0;
	if (fflush(f) != 0 || ferror(f))
		werr = errno != 0 ? errno : EIO;
	if (!to_stdout && fclose(f) != 0 && werr == 0)
		werr = errno != 0 ? errno : EIO;
	if (rc == VT_EXIT_OK && werr != 0) {
		fprintf(stderr, "vdev-trace: %s: %s\n", out, strerror(werr));
		rc = VT_EXIT_IO;
	}
	if (!to_stdout) {
		if (rc == VT_EXIT_OK && rename(tmp, out) != 0) {
			fprintf(stderr, "vdev-trace: %s: %s\n", out, strerror(errno));
			rc = VT_EXIT_IO;
		}
		if (rc != VT_EXIT_OK)
			unlink(tmp);
		free(tmp);
	}
	return rc;
}
