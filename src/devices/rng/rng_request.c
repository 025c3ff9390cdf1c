/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio-rng request path. A request is one chain; its device-writable iovecs are
 * filled in order, straight from the source, up to the per-request cap. Readable
 * iovecs carry nothing for this device: they are skipped, counted, and never written.
 *
 * A request that cannot be served now (bucket short, source not ready) is given back
 * with vq_retchain() and stays in the ring, so nothing is ever held across a reset and
 * a waiting request costs no host memory.
 */
#include <errno.h>

#include "core/iov.h"
#include "core/vmctx.h"
#include "devices/rng/rng_internal.h"
#include "trace/trace_format.h"
#include "trace/trace_hooks.h"
#include "util/common.h"

uint64_t rng_now(const struct rng_dev *r)
{
	struct vdev_trace *t = vdev_virtio_trace(&r->dev.base);
	uint64_t now = r->clock_ns ? r->clock_ns(r->clock_arg) : vdev_ctx_now_ns(r->dev.base.vmctx);

	if (t != NULL)
		vdev_trace_time(t, now);
	return now;
}

bool rng_live(struct rng_dev *r)
{
	const struct virtio_base *b = &r->dev.base;

	/* After FAILED or a latched NEEDS_RESET the queue is left alone until a reset. */
	return (b->status & VIRTIO_CR_STATUS_DRIVER_OK) &&
	       !(b->status & VIRTIO_CR_STATUS_FAILED) && !(b->flags & VIRTIO_BROKED) &&
	       vq_ring_ready(&r->vq);
}

/* Device-writable bytes of the chain just taken; the readable ones (vq_getchain puts
 * them first) are counted aside. */
static uint64_t writable_bytes(struct rng_dev *r, int n)
{
	size_t readable;
	int nr = vdev_iov_readable(r->iov, r->iov_flags, n, &readable);

	r->xstats.readable_ignored += readable;
	return vdev_iov_len(r->iov + nr, n - nr);
}

/* One backend call, with what a misbehaving backend returns folded into -EIO. */
static ssize_t source_read(struct rng_dev *r, uint8_t *p, size_t len)
{
	ssize_t got = r->be.read(r->be.opaque, p, len);

	/* What the source answered, before folding: a replay's source answers the same. */
	if (vdev_virtio_trace(&r->dev.base) != NULL)
		vdev_trace_backend(vdev_virtio_trace(&r->dev.base), VDEV_TR_BE_RNG_READ, 0,
				   vdev_trace_result(got), NULL, 0);

	if (got == 0 || got > (ssize_t)len)
		return -EIO;
	return got < 0 ? -vdev_backend_errno(got) : got;
}

/*
 * Fill up to `want` bytes of the chain's writable iovecs. Returns the bytes written;
 * *err gets 0, or the source's negative errno when it stopped short.
 */
static uint64_t fill_chain(struct rng_dev *r, int n, uint64_t want, int *err)
{
	uint64_t done = 0;

	*err = 0;
	for (int i = 0; i < n && done < want; i++) {
		uint8_t *p = r->iov[i].iov_base;
		uint64_t left = r->iov[i].iov_len;

		if (!(r->iov_flags[i] & VRING_DESC_F_WRITE))
			continue;
		if (left > want - done)
			left = want - done;
		while (left > 0) {
			ssize_t got = source_read(r, p, (size_t)left);

			if (got < 0) {
				*err = (int)got;
				return done;
			}
			p += got;
			left -= (uint64_t)got;
			done += (uint64_t)got;
		}
	}
	return done;
}

static void wait_until(struct rng_dev *r, enum rng_wait why, uint64_t wake_ns)
{
	r->wait = why;
	r->wake_ns = wake_ns;
}

/* The source stopped short with `err`: note why and when to ask it again. */
static void source_trouble(struct rng_dev *r, int err, uint64_t now)
{
	if (err == -EAGAIN || err == -EINTR) {
		r->xstats.source_retries++;
		wait_until(r, RNG_SOURCE, now + VDEV_RNG_RETRY_MS * RNG_NS_PER_MS);
		return;
	}
	/* Log and count a failure once, when the source goes bad, not on every retry. */
	if (!r->xstats.source_failed) {
		r->xstats.source_failed = true;
		r->xstats.source_failures++;
		r->dev.stats.errors++;
		vdev_virtio_log(&r->dev.base, VDEV_LOG_WARN,
				"rng: entropy source failed (errno %d%s); requests wait, "
				"retrying every %d ms", -err,
				err == -ENODATA ? ", exhausted" : "", VDEV_RNG_FAILED_RETRY_MS);
	}
	wait_until(r, RNG_FAILED, now + VDEV_RNG_FAILED_RETRY_MS * RNG_NS_PER_MS);
}

static void complete(struct rng_dev *r, uint16_t head, uint64_t len)
{
	vq_relchain(&r->vq, head, (uint32_t)len);
	r->dev.stats.requests++;
	r->dev.stats.bytes_out += len;
}

enum rng_serve rng_serve_one(struct rng_dev *r, uint64_t now)
{
	uint64_t writable, want, got;
	uint16_t head;
	int n, err;

	n = vq_getchain(&r->vq, &head, r->iov, r->n_iov, r->iov_flags);
	if (n < 0)
		return RNG_BROKEN;
	if (n == 0)
		return RNG_EMPTY;
	writable = writable_bytes(r, n);
	if (writable == 0) {
		/* Nothing the device may write: give it back empty (a guest oddity). */
		complete(r, head, 0);
		r->dev.stats.dropped++;
		return RNG_SERVED;
	}
	want = writable < r->max_request ? writable : r->max_request;
	if (r->lim.rate != 0) {
		if (want > r->lim.burst)
			want = r->lim.burst;
		rng_limiter_refill(&r->lim, now);
		if (r->lim.tokens < want) {
			vq_retchain(&r->vq);
			r->xstats.throttled++;
			wait_until(r, RNG_TOKENS, now + rng_limiter_wait_ns(&r->lim, want, now));
			return RNG_WAIT;
		}
	}
	got = fill_chain(r, n, want, &err);
	if (got == 0) {
		vq_retchain(&r->vq);
		source_trouble(r, err, now);
		return RNG_WAIT;
	}
	if (r->xstats.source_failed) {
		r->xstats.source_failed = false;
		vdev_virtio_log(&r->dev.base, VDEV_LOG_INFO, "rng: entropy source recovered");
	}
	rng_limiter_take(&r->lim, got);
	if (got < writable && got == r->max_request)
		r->xstats.capped++;
	/* Bytes written before the source stopped are the guest's: complete with them. */
	complete(r, head, got);
	if (err != 0)
		source_trouble(r, err, now);
	return err != 0 ? RNG_WAIT : RNG_SERVED;
}

/* Whether a timer-gated wait is still in force (the source's fd may end it early). */
static bool still_waiting(const struct rng_dev *r, uint64_t now)
{
	switch (r->wait) {
	case RNG_TOKENS:
	case RNG_FAILED:
		return now < r->wake_ns;
	case RNG_SOURCE:
		/* With an fd we are polled when it fires: try then. */
		return now < r->wake_ns && (r->be.pollfd == NULL || r->be.pollfd(r->be.opaque) < 0);
	default:
		return false;
	}
}

void rng_run(struct rng_dev *r)
{
	struct virtio_vq_info *vq = &r->vq;
	enum rng_serve s = RNG_EMPTY;
	uint64_t now;
	int served = 0;

	if (!rng_live(r)) {
		r->wait = RNG_IDLE;
		return;
	}
	now = rng_now(r);
	if (still_waiting(r, now))
		return;
	r->wait = RNG_IDLE;
	while (served < r->per_poll) {
		s = rng_serve_one(r, now);
		if (s != RNG_SERVED)
			break;
		served++;
	}
	/* Out of budget with chains left: come back at once, from the embedder's loop. */
	if (s == RNG_SERVED && vq_has_descs(vq))
		r->wait = RNG_BACKLOG;
	vq_endchains(vq, s == RNG_EMPTY || (s == RNG_SERVED && r->wait == RNG_IDLE));
}
