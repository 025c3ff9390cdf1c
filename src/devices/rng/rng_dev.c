/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-rng: configuration checks, creation and tear-down, and the glue between the
 * virtio core (virtio_ops), the embedder's event loop (vdev_dev_ops) and the request
 * path in rng_request.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "core/vmctx.h"
#include "devices/rng/rng_internal.h"
#include "util/common.h"
#include "util/config.h"

/* Room for the longest chain a queue of `qsize` can carry (qsize ring descriptors, an
 * indirect table of qsize more) plus slack for buffers the host maps in pieces. A
 * chain needing more iovecs breaks the queue (HOSTILE.md H29). */
#define RNG_IOV_SLACK 512

static const struct vdev_dev_ops rng_dev_ops;

/* ---- virtio_ops ---- */

static void rng_reset(void *softc)
{
	struct rng_dev *r = softc;

	virtio_reset_dev(&r->dev.base);
	/* Waiting requests were in the ring, which is gone: nothing to finish. The
	 * bucket is deliberately kept, so a reset does not buy a guest more bytes. */
	r->wait = RNG_IDLE;
}

static void rng_qnotify(void *softc, struct virtio_vq_info *vq)
{
	(void)vq;
	rng_run(softc);
}

static void rng_set_status(void *softc, uint64_t status)
{
	struct rng_dev *r = softc;

	/* A driver may queue requests before DRIVER_OK (kicks then are ignored): look
	 * at the ring on the next poll. */
	if (status & VIRTIO_CR_STATUS_DRIVER_OK)
		r->wait = RNG_BACKLOG;
}

static const struct virtio_ops rng_vops = {
	.name = "virtio-rng",
	.nvq = 1,
	.cfgsize = 0, /* the entropy device has no configuration space */
	.reset = rng_reset,
	.qnotify = rng_qnotify,
	.set_status = rng_set_status,
	.hv_caps = VIRTIO_RING_F_INDIRECT_DESC | VIRTIO_RING_F_EVENT_IDX,
};

/* ---- vdev_dev_ops ---- */

static int rng_pollfds(struct vdev_dev *dev, struct vdev_pollfd *fds, int max)
{
	struct rng_dev *r = (struct rng_dev *)dev;
	int fd;

	if (r->wait != RNG_SOURCE || r->be.pollfd == NULL || max < 1 || !rng_live(r))
		return 0;
	fd = r->be.pollfd(r->be.opaque);
	if (fd < 0)
		return 0;
	fds[0] = (struct vdev_pollfd){.fd = fd, .events = VDEV_POLL_IN};
	return 1;
}

static int rng_next_timeout_ms(struct vdev_dev *dev)
{
	struct rng_dev *r = (struct rng_dev *)dev;
	uint64_t now, ms;

	if (r->wait == RNG_IDLE || !rng_live(r))
		return -1;
	if (r->wait == RNG_BACKLOG)
		return 0;
	now = rng_now(r);
	if (now >= r->wake_ns)
		return 0;
	ms = (r->wake_ns - now + RNG_NS_PER_MS - 1) / RNG_NS_PER_MS;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

static int rng_poll(struct vdev_dev *dev)
{
	struct rng_dev *r = (struct rng_dev *)dev;

	if (!rng_live(r)) {
		r->wait = RNG_IDLE;
		return 0;
	}
	rng_run(r);
	return 0;
}

static void rng_free(struct rng_dev *r)
{
	free(r->iov);
	free(r->iov_flags);
	free(r);
}

static void rng_destroy(struct vdev_dev *dev)
{
	struct rng_dev *r = (struct rng_dev *)dev;

	if (r->be.close)
		r->be.close(r->be.opaque);
	vdev_dev_fini(&r->dev);
	rng_free(r);
}

static const struct vdev_dev_ops rng_dev_ops = {
	.type = VIRTIO_TYPE_ENTROPY,
	.pollfds = rng_pollfds,
	.next_timeout_ms = rng_next_timeout_ms,
	.poll = rng_poll,
	.destroy = rng_destroy,
	.describe = rng_describe,
};

/* ---- configuration ---- */

#define REFUSE(...)                                                                    \
	do {                                                                           \
		vdev_ctx_log(ctx, VDEV_LOG_ERROR, devname, "rng: " __VA_ARGS__);       \
		return -EINVAL;                                                        \
	} while (0)

static int check_source(struct vmctx *ctx, const char *devname, const struct vdev_rng_config *c)
{
	const struct vdev_rng_backend *be = c->backend;

	if (c->path != NULL && be != NULL)
		REFUSE("path and backend: set at most one source");
	if (c->wrap && c->path == NULL)
		REFUSE("wrap: only applies to a path");
	if (be == NULL)
		return 0;
	if (be->version == 0 || be->version > VDEV_RNG_BACKEND_VERSION)
		REFUSE("backend.version: %u is not a known version (this library knows 1..%u)",
		       be->version, VDEV_RNG_BACKEND_VERSION);
	if (be->read == NULL)
		REFUSE("backend.read: is required");
	return 0;
}

static int check_limits(struct vmctx *ctx, const char *devname, const struct vdev_rng_config *c)
{
	if (c->max_request_bytes > VDEV_RNG_MAX_REQUEST_BYTES)
		REFUSE("max_request_bytes: %u is more than %u", c->max_request_bytes,
		       VDEV_RNG_MAX_REQUEST_BYTES);
	if (c->rate_bytes_per_sec > VDEV_RNG_MAX_RATE)
		REFUSE("rate_bytes_per_sec: %llu is more than %llu",
		       (unsigned long long)c->rate_bytes_per_sec, VDEV_RNG_MAX_RATE);
	if (c->rate_burst_bytes != 0 && c->rate_bytes_per_sec == 0)
		REFUSE("rate_burst_bytes: set without rate_bytes_per_sec");
	if (c->queue_size != 0 &&
	    (!vdev_is_pow2(c->queue_size) || c->queue_size > VDEV_RNG_MAX_QUEUE_SIZE))
		REFUSE("queue_size: %u is not a power of two up to %u", c->queue_size,
		       VDEV_RNG_MAX_QUEUE_SIZE);
	return 0;
}

/* The size of struct vdev_rng_config's first version; new fields go after it. */
#define RNG_CONFIG_V1 VDEV_CONFIG_V1_SIZE(struct vdev_rng_config, clock_arg)

/* Copy the caller's `given` into *c (the library's layout), then check it. */
static int check_config(struct vmctx *ctx, const char *devname,
			const struct vdev_rng_config *given, struct vdev_rng_config *c,
			struct vdev_dev **out)
{
	const char *field, *reason;
	char why[VDEV_CONFIG_WHY_LEN];
	int rc;

	if (given == NULL)
		REFUSE("cfg: is NULL");
	if (out == NULL)
		REFUSE("out: is NULL");
	rc = vdev_config_take(c, sizeof(*c), given, RNG_CONFIG_V1, "vdev_rng_config", why,
			      sizeof(why));
	if (rc < 0) {
		vdev_ctx_log(ctx, VDEV_LOG_ERROR, devname, "rng: size: %s", why);
		return rc;
	}
	if (vdev_dev_check_pci(&c->pci, &field, &reason) < 0)
		REFUSE("%s: %s", field, reason);
	rc = check_source(ctx, devname, c);
	return rc < 0 ? rc : check_limits(ctx, devname, c);
}

/* Everything from the config except the source; allocations sized from it only. */
static int rng_setup(struct vmctx *ctx, struct rng_dev *r, const struct vdev_rng_config *c)
{
	uint16_t qsize = c->queue_size ? c->queue_size : VDEV_RNG_DEFAULT_QUEUE_SIZE;

	r->vq.qsize = qsize;
	r->max_request = c->max_request_bytes ? c->max_request_bytes
					      : VDEV_RNG_DEFAULT_REQUEST_BYTES;
	r->per_poll = c->max_requests_per_poll ? c->max_requests_per_poll
					       : VDEV_RNG_DEFAULT_REQUESTS_PER_POLL;
	/* NULL: the host's clock (vdev_ctx_now_ns), which a trace replay controls. */
	r->clock_ns = c->clock_ns;
	r->clock_arg = c->clock_arg;
	r->n_iov = 2 * qsize + RNG_IOV_SLACK;
	r->iov = calloc((size_t)r->n_iov, sizeof(*r->iov));
	r->iov_flags = calloc((size_t)r->n_iov, sizeof(*r->iov_flags));
	if (r->iov == NULL || r->iov_flags == NULL)
		return -ENOMEM;
	rng_limiter_set(&r->lim, c->rate_bytes_per_sec,
			c->rate_burst_bytes ? c->rate_burst_bytes : c->rate_bytes_per_sec,
			r->clock_ns ? r->clock_ns(r->clock_arg) : vdev_ctx_now_ns(ctx));
	return 0;
}

static int rng_open_source(struct vmctx *ctx, const char *devname, struct rng_dev *r,
			   const struct vdev_rng_config *c)
{
	if (c->backend != NULL) {
		r->be = *c->backend;
		return 0;
	}
	if (c->path != NULL)
		return rng_file_open(ctx, devname, c->path, c->wrap, &r->be);
	return vdev_rng_backend_getrandom(&r->be);
}

VDEV_EXPORT int vdev_rng_create(struct vmctx *ctx, const char *name,
				const struct vdev_rng_config *given, struct vdev_dev **out)
{
	struct vdev_rng_config local; /* everything below reads this copy only */
	const struct vdev_rng_config *cfg = &local;
	const char *devname = name ? name : "";
	struct rng_dev *r;
	int rc;

	if (ctx == NULL)
		return -EINVAL;
	rc = check_config(ctx, devname, given, &local, out);
	if (rc < 0)
		return rc;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	rc = rng_setup(ctx, r, cfg);
	if (rc == 0)
		rc = rng_open_source(ctx, devname, r, cfg);
	if (rc < 0) {
		rng_free(r);
		return rc;
	}
	rc = vdev_dev_init(&r->dev, ctx, name, &rng_dev_ops, &rng_vops, &r->vq, &cfg->pci);
	if (rc < 0) {
		vdev_ctx_log(ctx, VDEV_LOG_ERROR, devname, "rng: cannot lay out the PCI function: %d",
			     rc);
		/* Only a source we opened is ours to close; the embedder's stays its own. */
		if (cfg->backend == NULL && r->be.close)
			r->be.close(r->be.opaque);
		rng_free(r);
		return rc;
	}
	*out = &r->dev;
	return 0;
}

/* ---- host controls ---- */

static struct rng_dev *to_rng(struct vdev_dev *dev)
{
	return dev != NULL && dev->ops == &rng_dev_ops ? (struct rng_dev *)dev : NULL;
}

VDEV_EXPORT int vdev_rng_set_rate_limit(struct vdev_dev *dev, uint64_t bytes_per_sec,
					uint32_t burst_bytes)
{
	struct rng_dev *r = to_rng(dev);

	if (r == NULL || bytes_per_sec > VDEV_RNG_MAX_RATE ||
	    (burst_bytes != 0 && bytes_per_sec == 0))
		return -EINVAL;
	pthread_mutex_lock(&r->dev.lock);
	rng_limiter_set(&r->lim, bytes_per_sec, burst_bytes ? burst_bytes : bytes_per_sec,
			rng_now(r));
	/* Requests waiting for tokens are looked at again on the next poll (guest-visible
	 * work happens only there). */
	if (r->wait == RNG_TOKENS)
		r->wait = RNG_BACKLOG;
	pthread_mutex_unlock(&r->dev.lock);
	return 0;
}

VDEV_EXPORT int vdev_rng_get_stats(struct vdev_dev *dev, struct vdev_rng_stats *out)
{
	struct rng_dev *r = to_rng(dev);

	if (r == NULL || out == NULL)
		return -EINVAL;
	pthread_mutex_lock(&r->dev.lock);
	*out = r->xstats;
	pthread_mutex_unlock(&r->dev.lock);
	return 0;
}
