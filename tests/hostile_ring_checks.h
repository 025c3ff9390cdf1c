/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the hostile split-ring suites (HOSTILE.md H14-H31) share. Each test lets the
 * driver peer set up a queue (so the geometry is valid), then writes descriptors and
 * avail entries into guest memory by hand and either kicks or calls vq_getchain()
 * directly, and checks the outcome docs/behaviour.md promises. "Broken" is checked in
 * full: vq_getchain() returns -1, VQ_BROKED, DEVICE_NEEDS_RESET read by the driver,
 * one config interrupt (ISR bit 0x02 over INTx), guest_errors and the log grow, no
 * used entry for the bad chain, and a reset brings the device back.
 */
#ifndef VDEV_TESTS_HOSTILE_RING_CHECKS_H
#define VDEV_TESTS_HOSTILE_RING_CHECKS_H

#include <stdbool.h>
#include <stdint.h>

#include "test_util.h"

/* ---------------- opening a device ---------------- */

struct hopts {
	enum vdev_pci_mode mode;    /* 0: modern */
	enum vdev_drv_access access; /* 0: modern */
	uint16_t qsize;             /* 0: 8 */
	uint64_t features;          /* negotiated */
	bool manual;                /* echo in manual mode */
	int nvq;
	uint64_t ram_size;          /* 0: 16 MiB */
	uint64_t sim_frag;          /* sim fragmentation (rings included) */
};

void hopen(struct harness *h, const struct hopts *o);
/* hopen(), and the driver's rings of queue 0 in `r`. */
void hopen_ring(struct harness *h, const struct hopts *o, struct raw_ring *r);

uint64_t log_count(struct harness *h);
uint64_t intx_raises(struct harness *h);
uint64_t translations(struct harness *h);

/* ---------------- outcome checks ---------------- */

struct snap {
	struct vdev_virtio_stats st;
	uint64_t logs;
	uint64_t raises;
	uint64_t translations;
	uint16_t used_idx;
	uint64_t chain_errors;
	uint64_t echoed;
};

/* Take a snapshot just before the hostile action; clears a pending ISR first so
 * the config interrupt the break raises is visible on its own. */
void snap_take(struct harness *h, const struct raw_ring *r, struct snap *s);
/* vq_getchain() on queue q of the echo device (n iovecs at most, n <= 256). */
int take(struct harness *h, uint16_t q, uint16_t *head, struct iovec *iov, int n);
/* take() on queue 0 with room for ECHO_MAX_IOV iovecs. */
int take1(struct harness *h, uint16_t *head);
/* Everything "broken" means, for queue q, against the snapshot. */
void assert_broken_q(struct harness *h, uint16_t q, const struct raw_ring *r,
		     const struct snap *s, const char *what);
/* assert_broken_q() for queue 0. */
void assert_broken(struct harness *h, const struct raw_ring *r, const struct snap *s,
		   const char *what);
void assert_not_broken(struct harness *h, uint16_t q, const char *what);
/* One echo round trip through the driver, kicking and serving as the mode needs. */
void roundtrip_ok(struct harness *h, uint16_t q, const char *what);
/* A device reset and a fresh set-up bring the device back. */
void assert_recovers(struct harness *h, uint64_t features, const char *what);
/*
 * The chain now at the head of queue 0 is refused: vq_getchain() returns -1 and the
 * queue is broken in every way assert_broken() checks; then the device recovers.
 */
void expect_refused(struct harness *h, const struct raw_ring *r, uint64_t features,
		    const char *what);

#endif
