/* SPDX-License-Identifier: BSD-3-Clause */
/* Building traces by hand for the replay suites, and running the replay engine on them. */
#ifndef VDEV_TESTS_TRACE_BUILDER_H
#define VDEV_TESTS_TRACE_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "replay/replay.h"
#include "trace/trace_format.h"
#include "vdev/vdev.h"
#include "vdev/trace.h"

struct tb {
	uint8_t *buf;
	size_t len, cap;
	uint64_t nrecs;
};

#define REC(...) ((struct vdev_trace_rec){__VA_ARGS__})

/* Append one record; tb_init() writes the file header. */
void tb_add(struct tb *t, struct vdev_trace_rec r);
void tb_init(struct tb *t);
/* The set-up records: the device, a parameter, a config read and what it returned. */
void tb_device(struct tb *t, uint16_t type, int mode, uint8_t flags);
void tb_param(struct tb *t, const char *key, uint64_t v);
void tb_cfg_read(struct tb *t, uint64_t off, int width, uint64_t v);
void tb_free(struct tb *t);
/* Replay a trace with the default options and these switches. */
struct vdev_replay_result run(const uint8_t *buf, size_t len, bool check, bool fuzz,
			      bool cfg_access);
struct vdev_replay_result run_tb(const struct tb *t, bool check);

/* Every device type and PCI mode a trace can name. */
extern const uint16_t tb_types[4];
extern const int tb_modes[3];

#endif
