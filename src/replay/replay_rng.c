/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-rng in traces: the parameters that shape what a guest gets (request cap,
 * rate limit, queue size, requests per poll), and a replay source that produces as
 * many bytes as the trace's BACKEND records say (a fixed pattern: the trace keeps no
 * entropy).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "replay/replay_internal.h"
#include "util/common.h"
#include "vdev/rng.h"

/* ---- replay: the source ---- */

struct rrng_state {
	struct vdev_replay *rp;
	int efd;
	uint64_t produced;
};

static ssize_t rrng_read(void *opaque, void *buf, size_t len)
{
	struct rrng_state *st = opaque;
	struct vdev_trace_rec r;

	if (!replay_backend_take(st->rp, VDEV_TR_BE_RNG_READ, 0, &r))
		return -EAGAIN;
	if (r.result <= 0)
		return r.result;
	/* A source never writes more than it is asked for; when a replay asks for less
	 * than the recording did (a fragment a FAULT record cut short), it gets less. */
	len = (size_t)r.result < len ? (size_t)r.result : len;
	replay_fill_pattern(buf, len, st->produced);
	st->produced += len;
	return (ssize_t)len;
}

static int rrng_pollfd(void *opaque)
{
	return ((struct rrng_state *)opaque)->efd;
}

static void rrng_free(void *state)
{
	struct rrng_state *st = state;

	if (st == NULL)
		return;
	if (st->efd >= 0)
		close(st->efd);
	free(st);
}

/* ---- replay: building the device ---- */

static int take_param(struct vdev_replay *rp, const struct vdev_trace_param *p,
		      struct vdev_rng_config *c, bool *pollfd, bool *have_features,
		      uint64_t *features)
{
	uint64_t v;
	int rc;

#define U(name, max, dst)                                                  \
	if (strcmp(p->key, name) == 0) {                                   \
		if ((rc = replay_param_u(rp, p, (max), &v)) < 0)           \
			return rc;                                         \
		dst = v;                                                   \
		return 0;                                                  \
	}
	U("max_request_bytes", VDEV_RNG_MAX_REQUEST_BYTES, c->max_request_bytes);
	U("rate", VDEV_RNG_MAX_RATE, c->rate_bytes_per_sec);
	U("burst", UINT32_MAX, c->rate_burst_bytes);
	U("queue_size", VDEV_RNG_MAX_QUEUE_SIZE, c->queue_size);
	U("per_poll", UINT16_MAX, c->max_requests_per_poll);
	U("pollfd", 1, *pollfd);
#undef U
	if (strcmp(p->key, "features") == 0) {
		*have_features = true;
		*features = p->value;
		return 0;
	}
	return replay_unknown_param(rp, p);
}

static int rng_create(struct vmctx *ctx, const struct vdev_virtio_pci_config *pci,
		      const struct vdev_trace_param *params, int nparams,
		      struct vdev_replay *rp, struct vdev_dev **out)
{
	struct vdev_rng_config cfg;
	struct vdev_rng_backend be;
	struct rrng_state *st;
	bool pollfd = false, have_features = false;
	uint64_t features = 0;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	for (int i = 0; i < nparams; i++) {
		rc = take_param(rp, &params[i], &cfg, &pollfd, &have_features, &features);
		if (rc < 0)
			return rc;
	}
	if (cfg.rate_bytes_per_sec == 0)
		cfg.rate_burst_bytes = 0; /* a burst means nothing without a rate */
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return -ENOMEM;
	st->rp = rp;
	st->efd = -1;
	if (pollfd) {
		st->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (st->efd < 0) {
			rc = -errno;
			rrng_free(st);
			return replay_fail(rp, rc, "rng: cannot create an eventfd");
		}
	}
	be = (struct vdev_rng_backend){
		.version = VDEV_RNG_BACKEND_VERSION,
		.opaque = st,
		.read = rrng_read,
		.pollfd = pollfd ? rrng_pollfd : NULL,
	};
	cfg.size = sizeof(cfg);
	cfg.pci = *pci;
	cfg.backend = &be;
	/* No clock_ns: the device reads the host's clock, which the replay serves from
	 * the TIME records. */
	rc = vdev_rng_create(ctx, "replay", &cfg, out);
	if (rc < 0) {
		rrng_free(st);
		return replay_fail(rp, rc, "the rng's parameters were refused: %s",
				   replay_last_error(rp));
	}
	rp->adapter_state = st;
	rp->adapter_free = rrng_free;
	return replay_check_features(rp, *out, have_features, features);
}

const struct vdev_replay_adapter replay_rng_adapter = {
	.type = VIRTIO_TYPE_ENTROPY,
	.create = rng_create,
};
