/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-rng on the test fixture: a fake clock and small request helpers. */
#ifndef VDEV_TESTS_RNG_UTIL_H
#define VDEV_TESTS_RNG_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "fixture.h"
#include "vdev/driver.h"
#include "vdev/rng.h"
#include "vdev/vdev.h"

struct rt {
	struct fx fx;    /* sim, device, driver */
	uint64_t now_ns; /* the fake clock, when the config asked for it */
};

/* Options beyond the device config. */
struct rt_opts {
	uint64_t ram;      /* sim RAM, 0: 32 MiB */
	uint64_t frag;     /* sim fragmentation, 0: none */
	bool fake_clock;   /* cfg->clock_ns = the rt's fake clock (starts at 1 s) */
	uint64_t features; /* what the driver accepts, 0: everything offered */
};

/* Sim, device (cfg->pci.mode set from m), driver ready with queue 0 at its maximum.
 * `t` must not move while open (the fake clock points into it). Asserts on failure. */
void rt_open(struct rt *t, const struct fx_mode *m, struct vdev_rng_config *cfg,
	     const struct rt_opts *o);
void rt_close(struct rt *t);

/* A guest buffer of len bytes set to `fill`; *p gets its host pointer. */
uint64_t rt_buf(struct rt *t, uint32_t len, uint8_t fill, uint8_t **p);
/* Enqueue one chain of segments and notify (asserts the enqueue worked). */
void rt_submit(struct rt *t, const struct vdev_drv_seg *segs, int n, bool indirect, void *token);
/* One writable segment. */
void rt_submit1(struct rt *t, uint64_t gpa, uint32_t len, void *token);
/* Take completions: fills tokens/lens up to max, returns how many. */
int rt_collect(struct rt *t, void **tokens, uint32_t *lens, int max);
/* Advance the fake clock by ms and poll the device once. */
void rt_advance(struct rt *t, uint64_t ms);

struct vdev_dev_stats rt_stats(struct rt *t);
struct vdev_rng_stats rt_xstats(struct rt *t);
bool rt_all(const uint8_t *p, uint64_t len, uint8_t v);

#endif
