/* SPDX-License-Identifier: BSD-3-Clause */
/* The sub-commands of vdev-trace; each returns the process exit status. */
#ifndef VDEV_TOOLS_VDEV_TRACE_COMMANDS_H
#define VDEV_TOOLS_VDEV_TRACE_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit statuses shared by every sub-command. */
#define VT_EXIT_OK 0
#define VT_EXIT_DIVERGED 1 /* replay: the device answered differently */
#define VT_EXIT_USAGE 2
#define VT_EXIT_IO 3       /* a file could not be read or written, or is malformed */

int vt_cmd_print(int argc, char **argv);
int vt_cmd_convert(int argc, char **argv);
int vt_cmd_replay(int argc, char **argv);
int vt_cmd_minimize(int argc, char **argv);

/* Read a whole trace file, binary or text (text is converted): 0 or VT_EXIT_IO with
 * a message on stderr. Free *buf with free(). */
int vt_load_trace(const char *path, uint8_t **buf, size_t *len);

/* The same, also saying whether the file was in the text form. */
int vt_load_trace_form(const char *path, uint8_t **buf, size_t *len, bool *was_text);

/* Read a whole file as it is ("-": standard input), e.g. a fuzzer's raw input that has
 * no header: 0 or VT_EXIT_IO with a message on stderr. Free *buf with free(). */
int vt_read_file(const char *path, uint8_t **buf, size_t *len);

/* "legacy", "modern" or "transitional" as an enum vdev_pci_mode; 0 when unknown. */
int vt_parse_mode(const char *s);

#endif
