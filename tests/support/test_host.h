/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A test host with its own translate callback, for the tests that need the "guest"
 * to rewrite memory at the exact moment the device translates a buffer (HOSTILE.md
 * H26). The driver peer only serves devices on its own sim's host, so a device on
 * this host has its queues brought up by hand; RAM is still the sim's, [0, ram_size).
 * It counts translations, faults, INTx raises, MSIs and log lines.
 */
#ifndef VDEV_TESTS_TEST_HOST_H
#define VDEV_TESTS_TEST_HOST_H

#include <stdint.h>

#include "vdev/driver.h"
#include "vdev/vdev.h"

struct thost {
	struct vdev_sim *sim;
	struct vmctx *ctx;
	uint64_t ram_size;
	uint64_t translations;
	uint64_t faults;
	uint64_t hook_gpa;      /* the first translation starting here runs hook */
	void (*hook)(struct thost *t);
	uint8_t *hook_p;        /* what the hook rewrites */
	uint64_t hook_arg;
	int intx_level;
	uint64_t intx_raises;
	uint64_t msis;
	uint64_t logs;
};

/* A vmctx on this host over the sim's RAM (asserts it was made). */
void thost_open(struct thost *t, struct vdev_sim *sim, uint64_t ram_size);
void thost_close(struct thost *t);

#endif
