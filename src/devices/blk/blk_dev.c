/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-blk device: configuration checks, the virtio_ops glue, per-queue request
 * pools, and the completion path that runs in vdev_dev_poll().
 *
 * Life of a request: qnotify (device lock, embedder's thread) takes a chain into the
 * queue's scratch iovecs, takes a preallocated request context, lets blk_req.c decide,
 * and either answers at once or submits to the backend. The backend completes it from
 * any thread onto dev->done; blk_poll (device lock) writes the status byte and the
 * used entry, unless the device was reset since the chain was taken (epoch, H12), and
 * gives the context back. Host memory is fixed at create time: qsize contexts per
 * queue, never sized from anything the guest wrote.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/iov.h"
#include "core/vmctx.h"
#include "devices/blk/blk_internal.h"
#include "trace/trace_format.h"
#include "trace/trace_hooks.h"
#include "util/common.h"
#include "util/config.h"

#define BLK_DEFAULT_QSIZE 256
#define BLK_DEFAULT_SEG_MAX 126
#define BLK_DEFAULT_SIZE_MAX (1u << 20)
#define BLK_DEFAULT_RANGE_SECTORS (1u << 22)
#define BLK_DEFAULT_RANGE_SEGS 16
/* Largest capacity whose byte offsets fit off_t. */
#define BLK_MAX_CAPACITY ((uint64_t)INT64_MAX / VDEV_BLK_SECTOR_SIZE)

#define container_of(p, type, member) ((type *)(void *)((char *)(p)-offsetof(type, member)))

struct blk_dev;

struct blk_queue {
	struct blk_dev *blk;
	int idx;
	void *bctx;                /* the backend's context for this queue */
	bool opened;
	bool starved;              /* chains wait for a free request context */
	bool touched;              /* used entries published since the last endchains */
	struct blk_req *reqs;      /* nreqs contexts */
	uint32_t nreqs;
	struct blk_req *free;
	struct iovec *iov_pool;    /* nreqs * iov_cap */
	struct vdev_blk_range *range_pool; /* nreqs * range_cap */
	struct iovec *scratch;     /* n_scratch entries, for vq_getchain */
	int n_scratch;             /* vdev_iov_chain_cap(qsize) */
	uint16_t *scratch_flags;
};

struct blk_dev {
	struct vdev_dev dev; /* first: the softc of every callback */
	struct virtio_ops vops;
	struct virtio_vq_info *vqs;
	struct blk_queue *queues;
	int nq;
	struct vdev_blk_backend be;
	bool have_be;
	bool inline_ok; /* answer requests the backend completes inside submit() at once */
	struct blk_limits lim;
	struct blk_wire_config cfg; /* little-endian, as the driver reads it */
	uint8_t writeback_default;
};

/* Everything vdev_blk_create() resolved from the caller's config. */
struct blk_params {
	uint16_t nq, qsize;
	uint32_t blk_size, seg_max, size_max;
	uint32_t max_discard_sectors, max_discard_seg, discard_alignment;
	uint32_t max_wz_sectors, max_wz_seg;
	char serial[VDEV_BLK_ID_BYTES];
};

static const struct vdev_dev_ops blk_dev_ops;

/* ---- completing requests (device lock held) ---- */

static void req_put(struct blk_queue *q, struct blk_req *req)
{
	req->next_free = q->free;
	q->free = req;
}

/* Answer the guest: status byte, used entry, counters; the context goes back. */
static void req_deliver(struct blk_dev *b, struct blk_queue *q, struct blk_req *req,
			uint8_t status)
{
	struct vdev_dev_stats *st = &b->dev.stats;

	*req->status = status;
	vq_relchain(&b->vqs[q->idx], req->head, status == VDEV_BLK_S_OK ? req->used_len : 1);
	st->requests++;
	if (status == VDEV_BLK_S_OK) {
		st->bytes_in += req->bytes_in;
		st->bytes_out += req->bytes_out;
	} else {
		st->errors++;
	}
	q->touched = true;
	req_put(q, req);
}

static uint8_t status_of(int result)
{
	if (result == 0)
		return VDEV_BLK_S_OK;
	return result == -EOPNOTSUPP ? VDEV_BLK_S_UNSUPP : VDEV_BLK_S_IOERR;
}

/*
 * The request this thread is submitting right now, while the device lock is held
 * (NULL otherwise). A backend that finishes it inside submit() (the null backend, the
 * file backend on memory-backed files) completes it here, and req_start answers the
 * guest at once: no trip through dev->done, its eventfd and another loop iteration.
 * Thread-local, so a worker completing some other request meanwhile is not mistaken
 * for it.
 */
static _Thread_local struct blk_req *submitting;

VDEV_EXPORT void vdev_blk_io_complete(struct vdev_blk_io *io, int result)
{
	struct blk_req *req;

	if (io == NULL)
		return;
	req = container_of(io, struct blk_req, io);
	req->result = result;
	if (req == submitting) {
		submitting = NULL; /* completed inline; req_start delivers it */
		return;
	}
	vdev_completions_push(&req->q->blk->dev.done, &req->node);
}

/* ---- taking requests (device lock held) ---- */

static void req_start(struct blk_dev *b, struct blk_queue *q, struct blk_req *req,
		      uint16_t head, int n)
{
	struct virtio_vq_info *vq = &b->vqs[q->idx];
	bool inline_ok, completed_inline;
	int rc;

	memset(&req->io, 0, sizeof(req->io));
	req->io.queue = (uint16_t)q->idx;
	req->head = head;
	req->epoch = b->dev.base.epoch;
	req->bytes_in = req->bytes_out = 0;
	req->result = 0;
	switch (blk_parse_chain(&b->lim, q->scratch, q->scratch_flags, n, req)) {
	case BLK_DROP:
		/* No status byte to answer in: the chain goes back empty (H31, H36). */
		vq_relchain(vq, head, 0);
		b->dev.stats.dropped++;
		q->touched = true;
		req_put(q, req);
		vdev_virtio_log(&b->dev.base, VDEV_LOG_DEBUG,
				"queue %d: request without a status byte dropped", q->idx);
		return;
	case BLK_DONE:
		req_deliver(b, q, req, req->status_val);
		return;
	case BLK_SUBMIT:
		/* A trace records every completion through blk_poll: no shortcut then. */
		inline_ok = b->inline_ok && vdev_likely(vdev_virtio_trace(&b->dev.base) == NULL);
		submitting = inline_ok ? req : NULL;
		rc = b->be.submit(q->bctx, &req->io);
		completed_inline = inline_ok && submitting == NULL;
		submitting = NULL;
		if (rc < 0)
			req_deliver(b, q, req, VDEV_BLK_S_IOERR);
		else if (completed_inline)
			req_deliver(b, q, req, status_of(req->result));
		return;
	}
}

static void process_queue(struct blk_dev *b, struct blk_queue *q)
{
	struct virtio_vq_info *vq = &b->vqs[q->idx];

	q->starved = false;
	for (;;) {
		struct blk_req *req = q->free;
		uint16_t head;
		int n;

		if (req == NULL) {
			/* Only after a reset left old requests with the backend; blk_poll
			 * resumes us when their contexts come back. */
			q->starved = vq_has_descs(vq) != 0;
			break;
		}
		n = vq_getchain(vq, &head, q->scratch, q->n_scratch, q->scratch_flags);
		if (n <= 0)
			break; /* empty, or the queue broke (logged by the core) */
		q->free = req->next_free;
		req_start(b, q, req, head, n);
	}
	q->touched = false;
	vq_endchains(vq, 1);
}

/* ---- virtio_ops ---- */

static void blk_update_mode(struct blk_dev *b)
{
	/* Without FLUSH the driver cannot ask for stability, so every write must be. */
	b->lim.writethrough = !(b->lim.features & VDEV_BLK_F_FLUSH) || b->cfg.writeback == 0;
}

static void blk_qnotify(void *softc, struct virtio_vq_info *vq)
{
	struct blk_dev *b = softc;

	process_queue(b, &b->queues[vq->num]);
}

static void blk_reset(void *softc)
{
	struct blk_dev *b = softc;

	/* Let the backend finish touching guest memory; what it still holds completes
	 * later into an old epoch and is dropped in blk_poll (H12). */
	for (int i = 0; i < b->nq; i++) {
		if (b->queues[i].opened)
			b->be.quiesce(b->queues[i].bctx);
		b->queues[i].starved = false;
		b->queues[i].touched = false;
	}
	b->lim.features = 0;
	b->cfg.writeback = b->writeback_default;
	blk_update_mode(b);
	virtio_reset_dev(&b->dev.base);
}

static int blk_cfgread(void *softc, int off, int size, uint32_t *val)
{
	struct blk_dev *b = softc;

	*val = (uint32_t)vdev_ld_width((const uint8_t *)&b->cfg + off, size);
	return 0;
}

static int blk_cfgwrite(void *softc, int off, int size, uint32_t val)
{
	struct blk_dev *b = softc;

	/* Only the cache mode is the driver's to change, and only to 0 or 1. */
	if (off != VDEV_BLK_CFG_WRITEBACK || size != 1 || val > 1 ||
	    !(b->dev.base.device_caps & VDEV_BLK_F_CONFIG_WCE))
		return -1;
	b->cfg.writeback = (uint8_t)val;
	blk_update_mode(b);
	return 0;
}

static void blk_apply_features(void *softc, uint64_t features)
{
	struct blk_dev *b = softc;

	b->lim.features = features;
	blk_update_mode(b);
}

static const struct virtio_ops blk_vops_template = {
	.name = "virtio-blk",
	.nvq = 1,
	.cfgsize = VDEV_BLK_CFG_LEN,
	.reset = blk_reset,
	.qnotify = blk_qnotify,
	.cfgread = blk_cfgread,
	.cfgwrite = blk_cfgwrite,
	.apply_features = blk_apply_features,
};

/* ---- vdev_dev_ops ---- */

static int blk_poll(struct vdev_dev *dev)
{
	struct blk_dev *b = (struct blk_dev *)dev;
	struct vdev_completion *c = vdev_completions_take(&dev->done);

	while (c != NULL) {
		struct vdev_completion *next = c->next;
		struct blk_req *req = container_of(c, struct blk_req, node);

		/* Stale ones too: a replay's backend holds them as well and must let go. */
		if (vdev_unlikely(vdev_virtio_trace(&dev->base) != NULL))
			vdev_trace_complete(vdev_virtio_trace(&dev->base), req->q->idx, req->head,
					    req->result);
		if (req->epoch == dev->base.epoch)
			req_deliver(b, req->q, req, status_of(req->result));
		else
			req_put(req->q, req); /* the driver reset meanwhile: not a byte */
		c = next;
	}
	for (int i = 0; i < b->nq; i++) {
		struct blk_queue *q = &b->queues[i];

		if (q->starved)
			process_queue(b, q);
		else if (q->touched) {
			q->touched = false;
			vq_endchains(&b->vqs[i], 1);
		}
	}
	return 0;
}

static void free_queues(struct blk_dev *b)
{
	for (int i = 0; b->queues != NULL && i < b->nq; i++) {
		struct blk_queue *q = &b->queues[i];

		free(q->reqs);
		free(q->iov_pool);
		free(q->range_pool);
		free(q->scratch);
		free(q->scratch_flags);
	}
	free(b->queues);
	free(b->vqs);
}

/* Stop the backend's queues and forget their completions: what has not started is
 * cancelled (never acknowledged, so nothing the guest was told is lost), what runs
 * finishes, then every io completes in queue_close. */
static void close_backend_queues(struct blk_dev *b)
{
	for (int i = 0; b->queues != NULL && i < b->nq; i++) {
		if (b->queues[i].opened) {
			b->be.quiesce(b->queues[i].bctx);
			b->be.queue_close(b->queues[i].bctx);
		}
		b->queues[i].opened = false;
	}
	if (b->dev.have_done)
		(void)vdev_completions_take(&b->dev.done);
}

static void blk_destroy(struct vdev_dev *dev)
{
	struct blk_dev *b = (struct blk_dev *)dev;

	close_backend_queues(b);
	if (b->have_be && b->be.destroy)
		b->be.destroy(b->be.opaque);
	vdev_dev_fini(dev);
	free_queues(b);
	free(b);
}

static const struct vdev_dev_ops blk_dev_ops = {
	.type = VIRTIO_TYPE_BLOCK,
	.poll = blk_poll,
	.destroy = blk_destroy,
	.describe = blk_describe,
};

/* ---- creation ---- */

static int bad(struct vmctx *ctx, const char *name, const char *field, const char *why)
{
	vdev_ctx_log(ctx, VDEV_LOG_ERROR, name ? name : "", "virtio-blk: %s: %s", field, why);
	return -EINVAL;
}

static uint32_t or_default(uint32_t v, uint32_t def)
{
	return v ? v : def;
}

/* The size of struct vdev_blk_config's first version; new fields go after it. */
#define BLK_CONFIG_V1 VDEV_CONFIG_V1_SIZE(struct vdev_blk_config, writethrough)

/* Check every field before anything is opened: the caller's `given` is copied into
 * *cfg (the library's layout), and defaults resolved into *p. */
static int check_config(struct vmctx *ctx, const char *name, const struct vdev_blk_config *given,
			struct vdev_blk_config *cfg, struct blk_params *p)
{
	const char *field, *reason;
	char why[VDEV_CONFIG_WHY_LEN];
	int rc;

	if (name == NULL || *name == '\0')
		return bad(ctx, name, "name", "required");
	if (given == NULL)
		return bad(ctx, name, "config", "required");
	rc = vdev_config_take(cfg, sizeof(*cfg), given, BLK_CONFIG_V1, "vdev_blk_config", why,
			      sizeof(why));
	if (rc < 0) {
		vdev_ctx_log(ctx, VDEV_LOG_ERROR, name, "virtio-blk: size: %s", why);
		return rc;
	}
	if (vdev_dev_check_pci(&cfg->pci, &field, &reason) < 0)
		return bad(ctx, name, field, reason);
	if ((cfg->path == NULL || *cfg->path == '\0') == (cfg->backend == NULL))
		return bad(ctx, name, "path", "exactly one of path and backend is required");
	if (cfg->io_workers > VDEV_BLK_MAX_WORKERS)
		return bad(ctx, name, "io_workers", "more than 64");
	p->nq = cfg->num_queues ? cfg->num_queues : 1;
	if (p->nq > VDEV_BLK_MAX_QUEUES)
		return bad(ctx, name, "num_queues", "more than 64");
	p->qsize = cfg->queue_size ? cfg->queue_size : BLK_DEFAULT_QSIZE;
	if (!vdev_is_pow2(p->qsize) || p->qsize < 2 || p->qsize > VDEV_BLK_MAX_QUEUE_SIZE)
		return bad(ctx, name, "queue_size", "must be a power of two from 2 to 1024");
	p->blk_size = cfg->blk_size;
	if (p->blk_size && (!vdev_is_pow2(p->blk_size) || p->blk_size < 512 || p->blk_size > 65536))
		return bad(ctx, name, "blk_size", "must be a power of two from 512 to 65536");
	if (cfg->physical_block_exp > 15)
		return bad(ctx, name, "physical_block_exp", "more than 15");
	p->seg_max = or_default(cfg->seg_max, p->qsize > BLK_DEFAULT_SEG_MAX + 2
						     ? BLK_DEFAULT_SEG_MAX
						     : p->qsize - 2u);
	if (p->seg_max == 0)
		p->seg_max = 1;
	if (p->seg_max > VDEV_BLK_MAX_SEG_MAX)
		return bad(ctx, name, "seg_max", "more than 1000");
	/* A request is seg_max data descriptors plus header and status, and no chain may
	 * be longer than the queue (2.7.5.3.1): a larger seg_max would promise what the
	 * ring cannot carry, so the driver is told what fits. */
	if (p->seg_max > p->qsize - 2u) {
		vdev_ctx_log(ctx, VDEV_LOG_WARN, name, "virtio-blk: seg_max %u lowered to %u "
			     "(queue_size %u - 2)", p->seg_max, p->qsize - 2u, p->qsize);
		p->seg_max = p->qsize > 2 ? p->qsize - 2u : 1;
	}
	p->size_max = or_default(cfg->size_max, BLK_DEFAULT_SIZE_MAX);
	if (p->size_max < 4096)
		return bad(ctx, name, "size_max", "less than 4096");
	p->max_discard_sectors = or_default(cfg->max_discard_sectors, BLK_DEFAULT_RANGE_SECTORS);
	p->max_wz_sectors = or_default(cfg->max_write_zeroes_sectors, BLK_DEFAULT_RANGE_SECTORS);
	p->max_discard_seg = or_default(cfg->max_discard_seg, BLK_DEFAULT_RANGE_SEGS);
	if (p->max_discard_seg > VDEV_BLK_MAX_RANGE_SEGS)
		return bad(ctx, name, "max_discard_seg", "more than 256");
	p->max_wz_seg = or_default(cfg->max_write_zeroes_seg, BLK_DEFAULT_RANGE_SEGS);
	if (p->max_wz_seg > VDEV_BLK_MAX_RANGE_SEGS)
		return bad(ctx, name, "max_write_zeroes_seg", "more than 256");
	p->discard_alignment = cfg->discard_sector_alignment;
	memset(p->serial, 0, sizeof(p->serial));
	if (cfg->serial != NULL) {
		size_t len = strnlen(cfg->serial, VDEV_BLK_ID_BYTES + 1);

		if (len > VDEV_BLK_ID_BYTES)
			return bad(ctx, name, "serial", "longer than 20 bytes");
		memcpy(p->serial, cfg->serial, len);
	}
	if (cfg->backend != NULL) {
		const struct vdev_blk_backend *be = cfg->backend;

		if (be->version != VDEV_BLK_BACKEND_VERSION)
			return bad(ctx, name, "backend.version", "unknown version");
		if (!be->info || !be->queue_open || !be->submit || !be->quiesce ||
		    !be->queue_close)
			return bad(ctx, name, "backend", "a required callback is missing");
	}
	return 0;
}

static int open_backend(struct vmctx *ctx, const char *name, const struct vdev_blk_config *cfg,
			struct blk_dev *b, struct vdev_blk_backend_info *info)
{
	int rc;

	if (cfg->backend != NULL) {
		b->be = *cfg->backend;
	} else {
		rc = blk_file_backend_open(cfg->path, cfg->readonly, cfg->io_workers,
					   cfg->io_no_inline, &b->be);
		if (rc < 0) {
			vdev_ctx_log(ctx, VDEV_LOG_ERROR, name, "virtio-blk: path: cannot open %s: %s",
				     cfg->path, strerror(-rc));
			return rc;
		}
		b->have_be = true; /* ours from the start: destroyed on any failure */
	}
	b->inline_ok = blk_file_backend_is(&b->be) || blk_null_backend_is(&b->be);
	memset(info, 0, sizeof(*info));
	rc = b->be.info(b->be.opaque, info);
	if (rc < 0) {
		vdev_ctx_log(ctx, VDEV_LOG_ERROR, name, "virtio-blk: backend: info failed: %s",
			     strerror(-rc));
		return rc;
	}
	if (info->size > INT64_MAX) {
		vdev_ctx_log(ctx, VDEV_LOG_ERROR, name, "virtio-blk: backend: size too large");
		return -EINVAL;
	}
	return 0;
}

static int setup_queue(struct blk_dev *b, int i, uint16_t qsize, int range_cap)
{
	struct blk_queue *q = &b->queues[i];
	int iov_cap = b->lim.iov_cap;

	q->blk = b;
	q->idx = i;
	q->nreqs = qsize;
	q->reqs = calloc(qsize, sizeof(*q->reqs));
	q->iov_pool = calloc((size_t)qsize * (size_t)iov_cap, sizeof(*q->iov_pool));
	q->range_pool = calloc((size_t)qsize * (size_t)range_cap, sizeof(*q->range_pool));
	q->n_scratch = vdev_iov_chain_cap(qsize);
	q->scratch = calloc((size_t)q->n_scratch, sizeof(*q->scratch));
	q->scratch_flags = calloc((size_t)q->n_scratch, sizeof(*q->scratch_flags));
	if (!q->reqs || !q->iov_pool || !q->range_pool || !q->scratch || !q->scratch_flags)
		return -ENOMEM;
	for (uint32_t r = 0; r < qsize; r++) {
		struct blk_req *req = &q->reqs[r];

		req->q = q;
		req->iov = q->iov_pool + (size_t)r * (size_t)iov_cap;
		req->ranges = q->range_pool + (size_t)r * (size_t)range_cap;
		req_put(q, req);
	}
	b->vqs[i].qsize = qsize;
	return 0;
}

static uint64_t offered_features(const struct vdev_blk_config *cfg, bool ro, int nq,
				 const struct vdev_blk_backend_info *info)
{
	uint64_t f = VDEV_BLK_F_SIZE_MAX | VDEV_BLK_F_SEG_MAX | VDEV_BLK_F_BLK_SIZE |
		     VDEV_BLK_F_TOPOLOGY | VDEV_BLK_F_FLUSH | VDEV_BLK_F_CONFIG_WCE |
		     VIRTIO_RING_F_INDIRECT_DESC | VIRTIO_RING_F_EVENT_IDX |
		     VIRTIO_F_NOTIFY_ON_EMPTY | VIRTIO_F_ANY_LAYOUT;

	if (ro)
		f |= VDEV_BLK_F_RO;
	if (nq > 1)
		f |= VDEV_BLK_F_MQ;
	if (!ro && info->discard && !cfg->no_discard)
		f |= VDEV_BLK_F_DISCARD;
	if (!ro && info->write_zeroes && !cfg->no_write_zeroes)
		f |= VDEV_BLK_F_WRITE_ZEROES;
	return f;
}

static void fill_config(struct blk_dev *b, const struct vdev_blk_config *cfg,
			const struct blk_params *p, uint32_t blk_size)
{
	struct blk_wire_config *c = &b->cfg;
	uint32_t align = p->discard_alignment ? p->discard_alignment
					      : blk_size / VDEV_BLK_SECTOR_SIZE;

	memset(c, 0, sizeof(*c));
	c->capacity = htole64(b->lim.capacity);
	c->size_max = htole32(p->size_max);
	c->seg_max = htole32(p->seg_max);
	c->blk_size = htole32(blk_size);
	c->physical_block_exp = cfg->physical_block_exp;
	c->alignment_offset = cfg->alignment_offset;
	c->min_io_size = htole16(cfg->min_io_size);
	c->opt_io_size = htole32(cfg->opt_io_size);
	c->writeback = b->writeback_default;
	c->num_queues = htole16(p->nq);
	c->max_discard_sectors = htole32(p->max_discard_sectors);
	c->max_discard_seg = htole32(p->max_discard_seg);
	c->discard_sector_alignment = htole32(align);
	c->max_write_zeroes_sectors = htole32(p->max_wz_sectors);
	c->max_write_zeroes_seg = htole32(p->max_wz_seg);
	c->write_zeroes_may_unmap = b->lim.wz_may_unmap;
}

static void blk_fail(struct blk_dev *b, bool inited)
{
	close_backend_queues(b);
	if (b->have_be && b->be.destroy)
		b->be.destroy(b->be.opaque);
	if (inited)
		vdev_dev_fini(&b->dev);
	free_queues(b);
	free(b);
}

VDEV_EXPORT int vdev_blk_create(struct vmctx *ctx, const char *name,
				const struct vdev_blk_config *given, struct vdev_dev **out)
{
	struct vdev_blk_config local; /* everything below reads this copy only */
	const struct vdev_blk_config *cfg = &local;
	struct vdev_blk_backend_info info;
	struct blk_params p;
	struct blk_dev *b;
	uint32_t blk_size;
	bool ro;
	int rc, range_cap;

	if (ctx == NULL)
		return -EINVAL;
	if (out == NULL)
		return bad(ctx, name, "out", "required");
	rc = check_config(ctx, name, given, &local, &p);
	if (rc < 0)
		return rc;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return -ENOMEM;
	b->nq = p.nq;
	b->vqs = calloc(p.nq, sizeof(*b->vqs));
	b->queues = calloc(p.nq, sizeof(*b->queues));
	if (b->vqs == NULL || b->queues == NULL) {
		blk_fail(b, false);
		return -ENOMEM;
	}
	rc = open_backend(ctx, name, cfg, b, &info);
	if (rc < 0) {
		blk_fail(b, false);
		return rc;
	}
	ro = cfg->readonly || info.readonly;
	blk_size = p.blk_size ? p.blk_size
	 : (info.block_size >= 512 && info.block_size <= 65536 && vdev_is_pow2(info.block_size))
		       ? info.block_size
		       : 512;
	b->lim = (struct blk_limits){
		.capacity = info.size / VDEV_BLK_SECTOR_SIZE,
		.readonly = ro,
		.wz_may_unmap = !cfg->no_wz_unmap,
		.max_discard_sectors = p.max_discard_sectors,
		.max_discard_seg = p.max_discard_seg,
		.max_wz_sectors = p.max_wz_sectors,
		.max_wz_seg = p.max_wz_seg,
		.iov_cap = (int)p.seg_max + BLK_IOV_SLACK,
	};
	memcpy(b->lim.serial, p.serial, sizeof(p.serial));
	b->writeback_default = cfg->writethrough ? 0 : 1;
	fill_config(b, cfg, &p, blk_size);
	blk_update_mode(b);

	b->vops = blk_vops_template;
	b->vops.nvq = p.nq;
	b->vops.hv_caps = offered_features(cfg, ro, p.nq, &info);
	range_cap = (int)(p.max_discard_seg > p.max_wz_seg ? p.max_discard_seg : p.max_wz_seg);
	for (int i = 0; i < p.nq; i++) {
		if (setup_queue(b, i, p.qsize, range_cap) < 0) {
			blk_fail(b, false);
			return -ENOMEM;
		}
	}
	rc = vdev_dev_init(&b->dev, ctx, name, &blk_dev_ops, &b->vops, b->vqs, &cfg->pci);
	if (rc < 0) {
		blk_fail(b, false);
		return rc;
	}
	rc = vdev_dev_enable_completions(&b->dev);
	for (int i = 0; rc == 0 && i < p.nq; i++) {
		rc = b->be.queue_open(b->be.opaque, i, &b->queues[i].bctx);
		b->queues[i].opened = rc == 0;
	}
	if (rc < 0) {
		vdev_ctx_log(ctx, VDEV_LOG_ERROR, name, "virtio-blk: backend: queue set-up failed: %s",
			     strerror(-rc));
		blk_fail(b, true);
		return rc;
	}
	b->have_be = true; /* from here on the device owns the backend */
	*out = &b->dev;
	return 0;
}

static struct blk_dev *as_blk(struct vdev_dev *dev)
{
	return dev != NULL && dev->ops == &blk_dev_ops ? (struct blk_dev *)dev : NULL;
}

VDEV_EXPORT int vdev_blk_resize(struct vdev_dev *dev, uint64_t size_bytes)
{
	struct blk_dev *b = as_blk(dev);
	uint64_t capacity = size_bytes / VDEV_BLK_SECTOR_SIZE;
	struct vdev_trace *t;

	if (b == NULL)
		return -EINVAL;
	if (capacity > BLK_MAX_CAPACITY) {
		vdev_virtio_log(&dev->base, VDEV_LOG_ERROR, "resize: size_bytes: too large");
		return -EINVAL;
	}
	pthread_mutex_lock(&dev->lock);
	t = vdev_virtio_trace(&dev->base);
	if (t != NULL)
		vdev_trace_enter(t);
	b->lim.capacity = capacity;
	b->cfg.capacity = htole64(capacity);
	virtio_config_changed(&dev->base);
	if (t != NULL)
		vdev_trace_leave_host(t, VDEV_TR_HOST_BLK_RESIZE, size_bytes, 0);
	pthread_mutex_unlock(&dev->lock);
	vdev_virtio_log(&dev->base, VDEV_LOG_INFO, "resized to %llu sectors",
			(unsigned long long)capacity);
	return 0;
}

VDEV_EXPORT uint64_t vdev_blk_capacity(struct vdev_dev *dev)
{
	struct blk_dev *b = as_blk(dev);
	uint64_t cap;

	if (b == NULL)
		return 0;
	pthread_mutex_lock(&dev->lock);
	cap = b->lim.capacity;
	pthread_mutex_unlock(&dev->lock);
	return cap;
}

/* ---- for blk_describe.c and backends ---- */

int blk_shape_of(struct vdev_dev *dev, struct blk_shape *out)
{
	struct blk_dev *b = as_blk(dev);

	if (b == NULL || out == NULL)
		return -EINVAL;
	out->nq = (uint16_t)b->nq;
	out->qsize = b->vqs[0].qsize_max ? b->vqs[0].qsize_max : b->vqs[0].qsize;
	out->offered = dev->base.device_caps;
	out->writeback_default = b->writeback_default;
	out->lim = b->lim;
	out->cfg = b->cfg;
	return 0;
}

VDEV_EXPORT uint16_t vdev_blk_io_head(const struct vdev_blk_io *io)
{
	return container_of(io, const struct blk_req, io)->head;
}
