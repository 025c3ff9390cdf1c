/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Loading a trace file whichever form it is in: the binary form is recognised by its
 * magic, the text form by its `vdev-trace` first line; text is converted to binary so
 * every sub-command works on one form.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "replay/trace_text.h"
#include "trace/trace_format.h"

#define TEXT_MAGIC "vdev-trace"

int vt_read_file(const char *path, uint8_t **buf, size_t *len)
{
	bool is_stdin = strcmp(path, "-") == 0;
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *b = NULL;
	size_t n = 0, cap = 0;

	*buf = NULL;
	*len = 0;
	if (fd < 0) {
		fprintf(stderr, "vdev-trace: %s: %s\n", path, strerror(errno));
		return VT_EXIT_IO;
	}
	/* A regular file's size is only a first guess: it may still be growing. */
	cap = 65536;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (uint64_t)st.st_size < SIZE_MAX / 2)
		cap = (size_t)st.st_size + 1;
	b = malloc(cap);
	for (;;) {
		if (b != NULL && n == cap) {
			uint8_t *nb = cap < SIZE_MAX / 2 ? realloc(b, cap * 2) : NULL;
			if (nb == NULL)
				free(b);
			b = nb;
			cap *= 2;
		}
		if (b == NULL) {
			fprintf(stderr, "vdev-trace: %s: file too large to load\n", path);
			goto fail;
		}
		ssize_t got = read(fd, b + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			fprintf(stderr, "vdev-trace: %s: %s\n", path, strerror(errno));
			goto fail;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	if (!is_stdin)
		close(fd);
	*buf = b;
	*len = n;
	return VT_EXIT_OK;
fail:
	if (!is_stdin)
		close(fd);
	free(b);
	return VT_EXIT_IO;
}

static bool starts_with(const uint8_t *b, size_t len, const char *s)
{
	size_t n = strlen(s);

	return len >= n && memcmp(b, s, n) == 0;
}

int vt_load_trace_form(const char *path, uint8_t **buf, size_t *len, bool *was_text)
{
	uint8_t *raw;
	size_t raw_len;
	int rc = vt_read_file(path, &raw, &raw_len);

	if (rc != VT_EXIT_OK)
		return rc;
	*was_text = false;
	if (starts_with(raw, raw_len, VDEV_TRACE_MAGIC)) {
		*buf = raw;
		*len = raw_len;
		return VT_EXIT_OK;
	}
	if (!starts_with(raw, raw_len, TEXT_MAGIC)) {
		fprintf(stderr, "vdev-trace: %s: not a trace (neither the binary %s header nor "
			"a '%s 1' first line)\n", path, VDEV_TRACE_MAGIC, TEXT_MAGIC);
		free(raw);
		return VT_EXIT_IO;
	}

	char err[256];
	rc = vdev_trace_text_to_binary((const char *)raw, raw_len, buf, len, err, sizeof(err));
	free(raw);
	if (rc < 0) {
		fprintf(stderr, "vdev-trace: %s: %s\n", path, err);
		return VT_EXIT_IO;
	}
	*was_text = true;
	return VT_EXIT_OK;
}

int vt_load_trace(const char *path, uint8_t **buf, size_t *len)
{
	bool was_text;

	return vt_load_trace_form(path, buf, len, &was_text);
}
