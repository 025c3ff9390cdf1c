/* SPDX-License-Identifier: BSD-3-Clause */
/* A minimal event loop for tests and benchmarks: what an embedder's loop does with
 * vdev_dev_pollfds(), vdev_dev_next_timeout_ms() and vdev_dev_poll(). */
#ifndef VDEV_TESTS_DEV_LOOP_H
#define VDEV_TESTS_DEV_LOOP_H

#include <stdbool.h>

#include "vdev/device.h"

/* Wait up to timeout_ms for any fd of the devices (or a device timer), then poll every
 * device once. Returns the number of ready fds (0 on timeout), or a negative errno. */
int dev_loop_once(struct vdev_dev *const *devs, int ndev, int timeout_ms);

/* Run dev_loop_once until done(arg) is true. Returns 0, or -ETIMEDOUT after
 * timeout_ms in all. */
int dev_loop_until(struct vdev_dev *const *devs, int ndev, bool (*done)(void *), void *arg,
		   int timeout_ms);

#endif
