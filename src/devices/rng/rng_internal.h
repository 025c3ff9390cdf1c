/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-rng internals shared by the device glue, the request path, the limiter and
 * the POSIX sources. */
#ifndef VDEV_SRC_DEVICES_RNG_INTERNAL_H
#define VDEV_SRC_DEVICES_RNG_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/dev_internal.h"
#include "vdev/rng.h"

#define RNG_NS_PER_SEC 1000000000ull
#define RNG_NS_PER_MS 1000000ull

/* Token bucket. All amounts fit 32 bits, so every product below fits 64 bits. */
struct rng_limiter {
	uint64_t rate;    /* bytes per second; 0 = unlimited */
	uint64_t burst;   /* bucket depth, <= UINT32_MAX */
	uint64_t tokens;  /* <= burst */
	uint64_t last_ns; /* clock time the tokens were last brought up to date */
};

void rng_limiter_set(struct rng_limiter *l, uint64_t rate, uint64_t burst, uint64_t now);
/* Bring the tokens up to date with `now`. */
void rng_limiter_refill(struct rng_limiter *l, uint64_t now);
/* Nanoseconds from `now` until the bucket holds `want` (<= burst) tokens; 0 if it does. */
uint64_t rng_limiter_wait_ns(const struct rng_limiter *l, uint64_t want, uint64_t now);
void rng_limiter_take(struct rng_limiter *l, uint64_t n);

/* Why the device is not serving right now. */
enum rng_wait {
	RNG_IDLE = 0,  /* nothing pending (a kick will wake us) */
	RNG_BACKLOG,   /* the per-poll bound stopped us; poll again at once */
	RNG_TOKENS,    /* the bucket is short; poll at wake_ns */
	RNG_SOURCE,    /* the source said "not now"; poll at wake_ns or when its fd fires */
	RNG_FAILED,    /* the source failed; try again at wake_ns */
};

struct rng_dev {
	struct vdev_dev dev; /* first: the softc of every callback */
	struct virtio_vq_info vq;
	struct vdev_rng_backend be;
	struct rng_limiter lim;
	uint32_t max_request;
	uint16_t per_poll;
	uint64_t (*clock_ns)(void *arg);
	void *clock_arg;
	/* Per-request scratch, sized from the configured queue size only. */
	struct iovec *iov;
	uint16_t *iov_flags;
	int n_iov;
	enum rng_wait wait;
	uint64_t wake_ns;
	struct vdev_rng_stats xstats;
};

/* Outcome of serving one request. */
enum rng_serve {
	RNG_SERVED,    /* a chain was completed */
	RNG_EMPTY,     /* the ring is empty */
	RNG_BROKEN,    /* the guest broke the ring (the core latched NEEDS_RESET) */
	RNG_WAIT,      /* the head chain was put back; r->wait/wake_ns say why */
};

uint64_t rng_now(const struct rng_dev *r);
/* DRIVER_OK, not FAILED, not NEEDS_RESET, and the queue mapped and whole. */
bool rng_live(struct rng_dev *r);
/* Serve the next available chain, within the cap and the limiter (rng_request.c). */
enum rng_serve rng_serve_one(struct rng_dev *r, uint64_t now);
/* Serve up to per_poll chains and decide the interrupt once (rng_request.c). */
void rng_run(struct rng_dev *r);

/* The file source, logging why it refuses a path when ctx is not NULL (rng_file.c). */
int rng_file_open(struct vmctx *ctx, const char *devname, const char *path, bool wrap,
		  struct vdev_rng_backend *out);

/* rng_describe.c: the PARAM records of this device (struct vdev_dev_ops.describe). */
void rng_describe(struct vdev_dev *dev, vdev_trace_param_fn emit, void *arg);

#endif
