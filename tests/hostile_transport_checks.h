/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the hostile transport suites (HOSTILE.md H01-H13) share. Where the outcome is
 * "broken", expect_broken() checks every part of it: NEEDS_RESET in the status, one
 * config interrupt, guest_errors and the log grew, registers still answer;
 * expect_recovers() then shows a reset and a fresh setup bring it back.
 */
#ifndef VDEV_TESTS_HOSTILE_TRANSPORT_CHECKS_H
#define VDEV_TESTS_HOSTILE_TRANSPORT_CHECKS_H

#include <stddef.h>
#include <stdint.h>

#include "test_util.h"

#define RAM_SIZE (16ULL << 20) /* harness RAM: [0, 16 MiB) */

/* One 16-byte request, in -> out; with a manual echo the test serves it itself. */
void roundtrip(const char *ctx, struct harness *h, uint16_t q);

struct snap {
	struct vdev_virtio_stats st;
	struct vdev_sim_irqs irq;
	uint64_t logs;
};

struct snap snap_take(struct harness *h);
/* Register reads keep answering on a broken device. */
void expect_registers_answer(const char *ctx, struct harness *h, const struct fx_mode *c);
/* The "broken" outcome, INTx flavour (the harness runs without MSI-X). */
void expect_broken(const char *ctx, struct harness *h, const struct fx_mode *c,
		   const struct snap *s);
/* A refused access is not a guest error that breaks the device. */
void expect_not_broken(const char *ctx, struct harness *h, const struct snap *s);
void expect_recovers(const char *ctx, struct harness *h);

/* Every common-config field at its natural width (per-queue ones for queue_select). */
struct common_field {
	int off, width;
};
#define NCOMMON 19
#define FIRST_QUEUE_FIELD 9 /* queue_size */
extern const struct common_field common_fields[NCOMMON];

void common_snapshot(struct harness *h, uint64_t *out);
void expect_common_unchanged(const char *ctx, struct harness *h, const uint64_t *before,
			     size_t first);

/* A kick written straight to the BAR, so the driver peer cannot filter it. */
void kick_raw(struct harness *h, const struct fx_mode *c, uint32_t q);
void expect_kick_ignored(const char *ctx, struct harness *h, const struct fx_mode *c,
			 uint32_t q);

#endif
