/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split-ring geometry: validated and snapshotted once, when the driver enables a
 * queue (modern queue_enable, legacy PFN write). Later register writes cannot change
 * what the device uses (HOSTILE.md H03-H05); the rings must be guest RAM and
 * contiguous in host memory so the hot path never translates ring addresses again.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/virtio_internal.h"
#include "core/vmctx.h"
#include "trace/trace_hooks.h"
#include "util/common.h"

struct ring_range {
	const char *name;
	uint64_t gpa;
	uint64_t len;
	uint64_t align;
	enum vdev_dma_dir dir;
	void *hva;
};

static bool ranges_overlap(const struct ring_range *a, const struct ring_range *b)
{
	return a->gpa < b->gpa + b->len && b->gpa < a->gpa + a->len;
}

static int check_range(struct virtio_vq_info *vq, struct ring_range *r)
{
	struct virtio_base *base = vq->base;
	uint64_t contig = 0;

	if (r->gpa == 0) {
		vdev_base_log(base, VDEV_LOG_WARN, "queue %u: %s ring at address 0", vq->num,
			      r->name);
		return -EINVAL;
	}
	if (r->gpa & (r->align - 1)) {
		vdev_base_log(base, VDEV_LOG_WARN, "queue %u: %s ring 0x%llx not %llu-aligned",
			      vq->num, r->name, (unsigned long long)r->gpa,
			      (unsigned long long)r->align);
		return -EINVAL;
	}
	if (r->gpa + r->len < r->gpa) {
		vdev_base_log(base, VDEV_LOG_WARN, "queue %u: %s ring wraps the address space",
			      vq->num, r->name);
		return -EINVAL;
	}
	/* The hot path reads these rings through host pointers with aligned atomics, so the
	 * host mapping must keep the guest alignment too. */
	if (vdev_ctx_translate(base->vmctx, r->gpa, r->len, r->dir, &r->hva, &contig) < 0 ||
	    contig != r->len || ((uintptr_t)r->hva & (r->align - 1)) != 0) {
		vdev_base_log(base, VDEV_LOG_WARN,
			      "queue %u: %s ring 0x%llx+%llu is not contiguous guest RAM", vq->num,
			      r->name, (unsigned long long)r->gpa, (unsigned long long)r->len);
		return -EFAULT;
	}
	return 0;
}

int vdev_vq_map(struct virtio_vq_info *vq, uint16_t size, uint64_t desc, uint64_t avail,
		uint64_t used)
{
	struct virtio_base *base = vq->base;
	struct ring_range r[3] = {
		{"descriptor", desc, 16ULL * size, 16, VDEV_DMA_READ, NULL},
		/* flags, idx, ring[size], used_event */
		{"avail", avail, 6ULL + 2ULL * size, 2, VDEV_DMA_READ, NULL},
		/* flags, idx, ring[size] of 8-byte elements, avail_event */
		{"used", used, 6ULL + 8ULL * size, 4, VDEV_DMA_WRITE, NULL},
	};
	struct vdev_vq_priv *p = vq->priv;
	struct vdev_trace *t = vdev_virtio_trace(base);
	uint64_t *inflight;

	if (!vdev_is_pow2(size) || size > vq->qsize_max) {
		vdev_base_log(base, VDEV_LOG_WARN, "queue %u: size %u invalid (max %u)", vq->num,
			      size, vq->qsize_max);
		return -EINVAL;
	}
	for (int i = 0; i < 3; i++) {
		int rc = check_range(vq, &r[i]);
		if (rc < 0)
			return rc;
	}
	if (ranges_overlap(&r[0], &r[1]) || ranges_overlap(&r[0], &r[2]) ||
	    ranges_overlap(&r[1], &r[2])) {
		vdev_base_log(base, VDEV_LOG_WARN, "queue %u: rings overlap", vq->num);
		return -EINVAL;
	}
	/* Sized by the validated queue size, never by anything else the guest wrote. */
	inflight = calloc(size, sizeof(*inflight));
	if (inflight == NULL) {
		vdev_base_log(base, VDEV_LOG_ERROR, "queue %u: out of memory", vq->num);
		return -ENOMEM;
	}
	free(p->inflight);
	p->inflight = inflight;
	vq->qsize = size;
	p->desc = r[0].hva;
	p->avail = r[1].hva;
	p->used = r[2].hva;
	vq->last_avail = 0;
	p->avail_shadow = 0;
	vq->used_idx = 0;
	p->used_published = 0;
	vq->save_used = 0;
	vq->n_inflight = 0;
	vq->flags = VQ_ALLOC;
	vq->enabled = true;
	/* What the device reads from now on: a recorder shadows it from here. */
	if (t != NULL) {
		vdev_trace_ring_unmapped(t, vq->num);
		vdev_trace_ring_mapped(t, vq->num, desc, r[0].hva, r[0].len);
		vdev_trace_ring_mapped(t, vq->num, avail, r[1].hva, r[1].len);
	}
	vdev_base_log(base, VDEV_LOG_DEBUG, "queue %u enabled: size %u desc 0x%llx avail 0x%llx "
		      "used 0x%llx", vq->num, size, (unsigned long long)desc,
		      (unsigned long long)avail, (unsigned long long)used);
	return 0;
}

void vdev_vq_unmap(struct virtio_vq_info *vq)
{
	struct vdev_vq_priv *p = vq->priv;
	struct vdev_trace *t = vdev_virtio_trace(vq->base);

	if (t != NULL)
		vdev_trace_ring_unmapped(t, vq->num);
	free(p->inflight);
	p->inflight = NULL;
	p->desc = NULL;
	p->avail = NULL;
	p->used = NULL;
	vq->flags = 0;
	vq->enabled = false;
	vq->last_avail = 0;
	p->avail_shadow = 0;
	vq->used_idx = 0;
	p->used_published = 0;
	vq->save_used = 0;
	vq->n_inflight = 0;
	p->last_head = 0;
}

void vdev_vq_break(struct virtio_vq_info *vq, const char *why)
{
	struct virtio_base *base = vq->base;

	if (!(vq->flags & VQ_BROKED)) {
		vq->flags |= VQ_BROKED;
		base->priv->stats.guest_errors++;
		vdev_base_log(base, VDEV_LOG_WARN, "queue %u broken: %s", vq->num, why);
	}
	virtio_dev_error(base);
}

VDEV_EXPORT int vq_ring_ready(struct virtio_vq_info *vq)
{
	return vq != NULL && (vq->flags & (VQ_ALLOC | VQ_BROKED)) == VQ_ALLOC;
}
