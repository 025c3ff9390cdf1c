/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The text form of a trace (docs/trace-format.md): one record a line. Only tools,
 * tests and the replay's own messages use it, so it lives in libvdev-replay, not in
 * libvdev; the binary encoding it mirrors is trace/trace_format.h.
 */
#ifndef VDEV_SRC_REPLAY_TRACE_TEXT_H
#define VDEV_SRC_REPLAY_TRACE_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "trace/trace_format.h"

/* Print one record as one line (with '\n'). Returns 0 or -errno. */
int vdev_trace_rec_print(FILE *out, const struct vdev_trace_rec *r);
/* The first line of a text trace ("vdev-trace 1\n"). */
int vdev_trace_text_header(FILE *out);

/*
 * Parse a whole text trace into a freshly allocated binary trace (header included).
 * Returns 0 with *out and *out_len set (free() it), or <0 with err (line number and
 * reason) filled.
 */
int vdev_trace_text_to_binary(const char *text, size_t len, uint8_t **out, size_t *out_len,
			      char *err, size_t errlen);

/* Name of a kind in the text form ("cfg-read"), or NULL for an unknown kind. */
const char *vdev_trace_kind_name(uint8_t kind);

#endif
