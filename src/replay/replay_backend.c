/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the replay backends are fed. BACKEND records that precede an access are what
 * the device's backend calls returned during that access, in call order: they wait
 * here until a replay backend makes the call, and a check-mode replay notes a call the
 * trace does not have, or one it has that the device did not make. COMPLETE records
 * finish a held block request, or wait for one submitted later.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "replay/replay_internal.h"

static const char *op_name(int op)
{
	switch (op) {
	case VDEV_TR_BE_NET_RECV:
		return "net-recv";
	case VDEV_TR_BE_NET_SEND:
		return "net-send";
	case VDEV_TR_BE_CON_READ:
		return "con-read";
	case VDEV_TR_BE_CON_WRITE:
		return "con-write";
	case VDEV_TR_BE_RNG_READ:
		return "rng-read";
	default:
		return "unknown";
	}
}

int replay_fifo_push(struct replay_fifo *f, const struct vdev_trace_rec *r, uint32_t max)
{
	if (f->count == f->cap) {
		uint32_t ncap = f->cap ? f->cap * 2 : 16;
		struct vdev_trace_rec *n;

		if (f->cap >= max)
			return -ENOSPC;
		if (ncap > max)
			ncap = max;
		n = malloc((size_t)ncap * sizeof(*n));
		if (n == NULL)
			return -ENOMEM;
		/* Unwrap into the new array: oldest first. */
		for (uint32_t i = 0; i < f->count; i++)
			n[i] = f->recs[(f->head + i) % f->cap];
		free(f->recs);
		f->recs = n;
		f->cap = ncap;
		f->head = 0;
	}
	f->recs[(f->head + f->count) % f->cap] = *r;
	f->count++;
	return 0;
}

/* Remove entry i (0 = oldest), keeping the order of the others. */
static void fifo_remove(struct replay_fifo *f, uint32_t i)
{
	for (uint32_t k = i; k > 0; k--)
		f->recs[(f->head + k) % f->cap] = f->recs[(f->head + k - 1) % f->cap];
	f->head = (f->head + 1) % f->cap;
	f->count--;
}

void replay_fifo_free(struct replay_fifo *f)
{
	free(f->recs);
	memset(f, 0, sizeof(*f));
}

void replay_push_backend(struct vdev_replay *rp, const struct vdev_trace_rec *r)
{
	if (replay_fifo_push(&rp->backend, r, REPLAY_MAX_PENDING) < 0)
		rp->backend_overflow = true;
}

bool replay_backend_take(struct vdev_replay *rp, int op, int queue, struct vdev_trace_rec *out)
{
	struct replay_fifo *f = &rp->backend;

	if (rp->opt.check) {
		/* The device must make the calls in the trace's order. */
		if (f->count > 0) {
			const struct vdev_trace_rec *r = &f->recs[f->head];

			if (r->width == op && r->queue == queue) {
				*out = *r;
				fifo_remove(f, 0);
				return true;
			}
			replay_diverge(rp, "device called backend %s on queue %d, the trace's next "
				       "backend call is %s on queue %u",
				       op_name(op), queue, op_name(r->width), r->queue);
			return false;
		}
		replay_diverge(rp, "device called backend %s on queue %d, the trace has no "
			       "such call", op_name(op), queue);
		return false;
	}
	/* Without checking, take the first matching one: a replay that drifted (or a
	 * fuzzer's trace) still feeds each queue what the trace gives it. */
	for (uint32_t i = 0; i < f->count; i++) {
		const struct vdev_trace_rec *r = &f->recs[(f->head + i) % f->cap];

		if (r->width == op && r->queue == queue) {
			*out = *r;
			fifo_remove(f, i);
			return true;
		}
	}
	return false;
}

void replay_backend_settle(struct vdev_replay *rp)
{
	struct replay_fifo *f = &rp->backend;

	if (rp->opt.check && f->count > 0) {
		const struct vdev_trace_rec *r = &f->recs[f->head];

		replay_diverge(rp, "the trace has backend call %s on queue %u (result %d) the "
			       "device did not make", op_name(r->width), r->queue, r->result);
	} else if (rp->opt.check && rp->backend_overflow) {
		replay_diverge(rp, "more than %d backend records before one access",
			       REPLAY_MAX_PENDING);
	}
	/* What the device did not ask for belongs to this access only. */
	f->head = 0;
	f->count = 0;
	rp->backend_overflow = false;
}

void replay_push_complete(struct vdev_replay *rp, const struct vdev_trace_rec *r)
{
	if (rp->complete != NULL &&
	    rp->complete(rp->adapter_state, r->queue, r->head, r->result))
		return;
	/* Not held (yet): keep it, dropping the oldest when too many wait. */
	if (replay_fifo_push(&rp->completes, r, REPLAY_MAX_PENDING) < 0 &&
	    rp->completes.count > 0) {
		fifo_remove(&rp->completes, 0);
		(void)replay_fifo_push(&rp->completes, r, REPLAY_MAX_PENDING);
	}
}

bool replay_take_complete(struct vdev_replay *rp, uint16_t queue, uint16_t head,
			  int32_t *result)
{
	struct replay_fifo *f = &rp->completes;

	for (uint32_t i = 0; i < f->count; i++) {
		const struct vdev_trace_rec *r = &f->recs[(f->head + i) % f->cap];

		if (r->queue == queue && r->head == head) {
			*result = r->result;
			fifo_remove(f, i);
			return true;
		}
	}
	return false;
}

/*
 * The device never looks at these bytes, so one recognisable non-zero byte per call is
 * enough. A per-byte pattern loop, traced by the fuzzers' comparison instrumentation and
 * checked byte by byte by ASan, took 70% of a fuzz run when a large blk read was filled
 * (perf, trace_blk_transitional: 30 ms an input); memset is one range check.
 */
void replay_fill_pattern(void *buf, size_t len, uint64_t seed)
{
	uint8_t b = (uint8_t)(0xA5 ^ (seed * 0x9Du));

	memset(buf, b != 0 ? b : 0xA5, len);
}
