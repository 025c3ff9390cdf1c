/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Replaying a binary trace against a fresh device, without a guest: the engine behind
 * `vdev-trace replay`/`minimize` and every trace-driven fuzz target.
 *
 * The engine builds the device the DEVICE and PARAM records describe, with replay
 * backends that produce exactly what BACKEND and COMPLETE records say, maps the RAM
 * regions (lazily, MAP_NORESERVE) and serves the device's translations from them,
 * injecting the failures FAULT records ask for. Then it walks the records in order.
 */
#ifndef VDEV_SRC_REPLAY_REPLAY_H
#define VDEV_SRC_REPLAY_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vdev/device.h"

struct vdev_replay_options {
	/* Compare what the device does with the trace: read values, config-access
	 * results, interrupts, the sequence of backend calls. Stop at the first
	 * difference. Off for fuzzing. */
	bool check;
	/* Fuzzing: accept a trace without a file header, ignore a truncated tail, clamp
	 * RAM and work (below) instead of refusing, log nothing. */
	bool fuzz;
	uint16_t force_type;  /* nonzero: build this virtio type whatever DEVICE says */
	int force_mode;       /* nonzero: this enum vdev_pci_mode whatever DEVICE says */
	/* Perform every BAR access through the PCI cfg-access capability window instead
	 * (modern and transitional functions; a legacy-only function has none). */
	bool via_cfg_access;
	uint64_t ram_limit;   /* total RAM bytes mapped; 0: 4 GiB (fuzz: 64 MiB) */
	uint64_t max_records; /* stop after this many records; 0: no limit */
	int log_level;        /* enum vdev_log_level for the device's log; <0: silent */
	/* Where the device's log lines go (with log_level >= 0); NULL: nowhere. */
	void (*log)(void *arg, const char *msg);
	void *log_arg;
};

struct vdev_replay_result {
	uint64_t records;   /* records processed */
	int error;          /* 0, or <0 when the trace could not be replayed at all */
	bool diverged;      /* check mode: the device answered differently */
	uint64_t divergence_record; /* index (0-based) of the first differing record */
	char message[256];  /* what differed, or why the trace was refused */
	/* The device at the end, for `vdev-trace minimize --same-end` and reports. */
	uint8_t status;
	uint64_t negotiated_features;
	struct vdev_dev_stats stats;
	uint64_t interrupts;
};

void vdev_replay_default_options(struct vdev_replay_options *o);

/*
 * Replay the trace in buf. Returns 0 when the whole trace was processed (check the
 * result for a divergence), or <0 (the result says why) when it could not be.
 */
int vdev_replay_run(const uint8_t *buf, size_t len, const struct vdev_replay_options *o,
		    struct vdev_replay_result *res);

#endif
