/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-blk in traces: the parameters that make a block device look the same to a
 * guest, and a replay backend that holds every request until a COMPLETE record for
 * its (queue, head) finishes it, with the result the trace says.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "replay/replay_internal.h"
#include "util/common.h"
#include "vdev/blk.h"

/* ---- replay: the backend ---- */

struct rblk_io_link {
	struct vdev_blk_io *io;
	bool stale; /* held across a reset: its buffers are the guest's again */
	struct rblk_io_link *next;
};

struct rblk_queue {
	struct rblk_state *st;
	uint16_t idx;
	/* Requests held until the trace completes them: at most queue_size, each on one
	 * free link from the pool below. */
	struct rblk_io_link *held;
	struct rblk_io_link *free;
	struct rblk_io_link *links;
};

struct rblk_state {
	struct vdev_replay *rp;
	struct vdev_blk_backend_info info;
	uint16_t nq, qsize;
	struct rblk_queue *queues;
};

static int rblk_info(void *opaque, struct vdev_blk_backend_info *out)
{
	struct rblk_state *st = opaque;

	*out = st->info;
	return 0;
}

static int rblk_queue_open(void *opaque, int q, void **qctx)
{
	struct rblk_state *st = opaque;

	if (q < 0 || q >= st->nq)
		return -EINVAL;
	*qctx = &st->queues[q];
	return 0;
}

static void rblk_finish(struct vdev_replay *rp, struct vdev_blk_io *io, int result, bool stale)
{
	/* What a real backend would have read from storage: a pattern, so a guest
	 * buffer the device hands over is written the way it would be. */
	if (result == 0 && io->op == VDEV_BLK_OP_READ && !stale) {
		for (int i = 0; i < io->iovcnt; i++)
			replay_fill_pattern(io->iov[i].iov_base, io->iov[i].iov_len,
					    io->offset + (uint64_t)i);
	}
	(void)rp;
	vdev_blk_io_complete(io, result);
}

static int rblk_submit(void *qctx, struct vdev_blk_io *io)
{
	struct rblk_queue *q = qctx;
	struct rblk_io_link *l = q->free;
	int32_t result;

	if (replay_take_complete(q->st->rp, q->idx, vdev_blk_io_head(io), &result)) {
		rblk_finish(q->st->rp, io, result, false);
		return 0;
	}
	if (l == NULL)
		return -EBUSY; /* more requests than the queue holds: cannot happen */
	q->free = l->next;
	l->io = io;
	l->stale = false;
	l->next = q->held;
	q->held = l;
	return 0;
}

/* Finish every held request (the device drops those of an old epoch). */
static void rblk_complete_all(struct rblk_queue *q, int result)
{
	while (q->held != NULL) {
		struct rblk_io_link *l = q->held;

		q->held = l->next;
		l->next = q->free;
		q->free = l;
		vdev_blk_io_complete(l->io, result);
	}
}

static void rblk_quiesce(void *qctx)
{
	struct rblk_queue *q = qctx;

	/* The requests stay held: the recording has a COMPLETE for each of them when
	 * the original backend finished it (the device drops it, a reset came between),
	 * and only then does its request context come back for reuse. */
	for (struct rblk_io_link *l = q->held; l != NULL; l = l->next)
		l->stale = true;
}

static void rblk_queue_close(void *qctx)
{
	rblk_complete_all(qctx, -ECANCELED);
}

static bool rblk_complete(void *state, uint16_t queue, uint16_t head, int32_t result)
{
	struct rblk_state *st = state;
	struct rblk_queue *q;
	struct rblk_io_link **pp;

	if (queue >= st->nq)
		return false;
	q = &st->queues[queue];
	/* Oldest first: the held list is newest first, so take the last match. */
	struct rblk_io_link **match = NULL;

	for (pp = &q->held; *pp != NULL; pp = &(*pp)->next)
		if (vdev_blk_io_head((*pp)->io) == head)
			match = pp;
	if (match == NULL)
		return false;
	{
		struct rblk_io_link *l = *match;

		*match = l->next;
		l->next = q->free;
		q->free = l;
		rblk_finish(st->rp, l->io, result, l->stale);
	}
	return true;
}

static void rblk_free(void *state)
{
	struct rblk_state *st = state;

	if (st == NULL)
		return;
	for (int i = 0; st->queues != NULL && i < st->nq; i++)
		free(st->queues[i].links);
	free(st->queues);
	free(st);
}

static int rblk_alloc(struct rblk_state *st)
{
	st->queues = calloc(st->nq, sizeof(*st->queues));
	if (st->queues == NULL)
		return -ENOMEM;
	for (int i = 0; i < st->nq; i++) {
		struct rblk_queue *q = &st->queues[i];

		q->st = st;
		q->idx = (uint16_t)i;
		q->links = calloc(st->qsize, sizeof(*q->links));
		if (q->links == NULL)
			return -ENOMEM;
		for (uint32_t k = 0; k < st->qsize; k++) {
			q->links[k].next = q->free;
			q->free = &q->links[k];
		}
	}
	return 0;
}

/* ---- replay: building the device ---- */

struct blk_replay_params {
	struct vdev_blk_config cfg;
	char serial[VDEV_BLK_ID_BYTES + 1];
	uint64_t capacity;
	bool readonly, discard, write_zeroes, wz_may_unmap, writeback;
	bool have_features;
	uint64_t features;
};

static int take_param(struct vdev_replay *rp, const struct vdev_trace_param *p,
		      struct blk_replay_params *bp)
{
	struct vdev_blk_config *c = &bp->cfg;
	uint64_t v;
	size_t serial_len = 0;
	int rc;

	rc = replay_param_bytes(rp, p, "serial", (uint8_t *)bp->serial, VDEV_BLK_ID_BYTES,
				&serial_len);
	if (rc != 0)
		return rc < 0 ? rc : 0;
#define U(name, max, dst)                                                  \
	if (strcmp(p->key, name) == 0) {                                   \
		if ((rc = replay_param_u(rp, p, (max), &v)) < 0)           \
			return rc;                                         \
		dst = v;                                                   \
		return 0;                                                  \
	}
	U("capacity", (uint64_t)INT64_MAX / VDEV_BLK_SECTOR_SIZE, bp->capacity);
	U("readonly", 1, bp->readonly);
	U("discard", 1, bp->discard);
	U("write_zeroes", 1, bp->write_zeroes);
	U("wz_may_unmap", 1, bp->wz_may_unmap);
	U("writeback", 1, bp->writeback);
	U("num_queues", VDEV_BLK_MAX_QUEUES, c->num_queues);
	U("queue_size", VDEV_BLK_MAX_QUEUE_SIZE, c->queue_size);
	U("seg_max", VDEV_BLK_MAX_SEG_MAX, c->seg_max);
	U("size_max", UINT32_MAX, c->size_max);
	U("blk_size", 65536, c->blk_size);
	U("physical_block_exp", 15, c->physical_block_exp);
	U("alignment_offset", UINT8_MAX, c->alignment_offset);
	U("min_io_size", UINT16_MAX, c->min_io_size);
	U("opt_io_size", UINT32_MAX, c->opt_io_size);
	U("max_discard_sectors", UINT32_MAX, c->max_discard_sectors);
	U("max_discard_seg", VDEV_BLK_MAX_RANGE_SEGS, c->max_discard_seg);
	U("discard_alignment", UINT32_MAX, c->discard_sector_alignment);
	U("max_wz_sectors", UINT32_MAX, c->max_write_zeroes_sectors);
	U("max_wz_seg", VDEV_BLK_MAX_RANGE_SEGS, c->max_write_zeroes_seg);
#undef U
	if (strcmp(p->key, "features") == 0) {
		bp->have_features = true;
		bp->features = p->value;
		return 0;
	}
	return replay_unknown_param(rp, p);
}

static int blk_create(struct vmctx *ctx, const struct vdev_virtio_pci_config *pci,
		      const struct vdev_trace_param *params, int nparams,
		      struct vdev_replay *rp, struct vdev_dev **out)
{
	struct blk_replay_params bp;
	struct vdev_blk_backend be;
	struct rblk_state *st;
	int rc;

	memset(&bp, 0, sizeof(bp));
	/* Defaults of a device described by nothing: what vdev_blk_create() picks, on
	 * a small disk that can discard and write zeroes. */
	bp.capacity = 2048;
	bp.discard = bp.write_zeroes = bp.wz_may_unmap = bp.writeback = true;
	for (int i = 0; i < nparams; i++) {
		rc = take_param(rp, &params[i], &bp);
		if (rc < 0)
			return rc;
	}
	/* Bounded host memory per fuzz input: queues x requests x segments. */
	bp.cfg.num_queues = (uint16_t)replay_fuzz_cap(rp, bp.cfg.num_queues, 4);
	bp.cfg.queue_size = (uint16_t)replay_fuzz_cap(rp, bp.cfg.queue_size, 256);
	bp.cfg.seg_max = (uint32_t)replay_fuzz_cap(rp, bp.cfg.seg_max, 254);
	/* The trace says what is on; the config says what is off. */
	bp.cfg.no_wz_unmap = !bp.wz_may_unmap;
	bp.cfg.writethrough = !bp.writeback;
	bp.cfg.size = sizeof(bp.cfg);
	bp.cfg.pci = *pci;
	bp.cfg.readonly = bp.readonly;
	bp.cfg.no_discard = !bp.discard;
	bp.cfg.no_write_zeroes = !bp.write_zeroes;
	bp.cfg.serial = bp.serial;

	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return -ENOMEM;
	st->rp = rp;
	st->nq = bp.cfg.num_queues ? bp.cfg.num_queues : 1;
	st->qsize = bp.cfg.queue_size ? bp.cfg.queue_size : 256;
	st->info = (struct vdev_blk_backend_info){
		.size = bp.capacity * VDEV_BLK_SECTOR_SIZE,
		.readonly = bp.readonly,
		.discard = bp.discard,
		.write_zeroes = bp.write_zeroes,
		.block_size = bp.cfg.blk_size,
	};
	rc = rblk_alloc(st);
	if (rc < 0) {
		rblk_free(st);
		return rc;
	}
	be = (struct vdev_blk_backend){
		.version = VDEV_BLK_BACKEND_VERSION,
		.opaque = st,
		.info = rblk_info,
		.queue_open = rblk_queue_open,
		.submit = rblk_submit,
		.quiesce = rblk_quiesce,
		.queue_close = rblk_queue_close,
	};
	bp.cfg.backend = &be;
	rc = vdev_blk_create(ctx, "replay", &bp.cfg, out);
	if (rc < 0) {
		rblk_free(st);
		return replay_fail(rp, rc, "the block device's parameters were refused: %s",
				   replay_last_error(rp));
	}
	rp->adapter_state = st;
	rp->adapter_free = rblk_free;
	rp->complete = rblk_complete;
	return replay_check_features(rp, *out, bp.have_features, bp.features);
}

const struct vdev_replay_adapter replay_blk_adapter = {
	.type = VIRTIO_TYPE_BLOCK,
	.create = blk_create,
};
