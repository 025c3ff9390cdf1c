/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The split-ring engine: the only code in libvdev that reads or writes ring memory.
 *
 * Guest memory is hostile and may change under us, so every descriptor is copied
 * once into a local before anything is decided from it, every index is checked
 * before it indexes anything, walks are bounded by the queue size, and the device
 * keeps its own copy of every index it publishes (HOSTILE.md H14-H31). Any violation
 * breaks the queue (vdev_vq_break) rather than the process.
 *
 * Ring layout (all little-endian):
 *   avail: flags u16, idx u16, ring[size] u16, used_event u16
 *   used:  flags u16, idx u16, ring[size] {id u32, len u32}, avail_event u16
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "core/virtio_internal.h"
#include "core/vmctx.h"
#include "trace/trace_hooks.h"
#include "util/common.h"

/* Chains whose total length would not fit the 32-bit used length are refused. */
#define CHAIN_MAX_BYTES 0xFFFFFFFFULL

/*
 * The ring helpers take the queue's private state (vq->priv), which every function
 * below loads once: the ring pointers live behind it so the public struct does not
 * freeze the ring layout.
 */
static inline volatile uint16_t *avail_ring(const struct vdev_vq_priv *p)
{
	return (volatile uint16_t *)((volatile uint8_t *)p->avail + 4);
}

static inline volatile uint16_t *used_event_ptr(const struct virtio_vq_info *vq,
						const struct vdev_vq_priv *p)
{
	return avail_ring(p) + vq->qsize;
}

static inline volatile uint32_t *used_elem(const struct vdev_vq_priv *p, uint16_t slot)
{
	return (volatile uint32_t *)((volatile uint8_t *)p->used + 4 + 8 * (size_t)slot);
}

static inline volatile uint16_t *avail_event_ptr(const struct virtio_vq_info *vq,
						 const struct vdev_vq_priv *p)
{
	return (volatile uint16_t *)((volatile uint8_t *)p->used + 4 + 8 * (size_t)vq->qsize);
}

static inline uint16_t load_avail_idx(const struct vdev_vq_priv *p)
{
	/* Acquire: ring entries are read only after the index that published them. */
	return le16toh(__atomic_load_n((uint16_t *)&p->avail->idx, __ATOMIC_ACQUIRE));
}

static inline void store_u16(volatile uint16_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, htole16(v), __ATOMIC_RELAXED);
}

static inline bool ring_ready(const struct virtio_vq_info *vq)
{
	return (vq->flags & (VQ_ALLOC | VQ_BROKED)) == VQ_ALLOC;
}

static inline bool has_feature(const struct virtio_vq_info *vq, uint64_t f)
{
	return (vq->base->negotiated_caps & f) != 0;
}

static uint64_t used_gpa(const struct virtio_vq_info *vq)
{
	return vdev_pair_get(vq->gpa_used);
}

/* One chain being turned into iovecs. */
struct chain_walk {
	struct virtio_vq_info *vq;
	struct iovec *iov;
	uint16_t *flags;
	int n_iov;
	int niov;
	uint64_t total;
	uint64_t writable;
	bool seen_write;
	const char *err;
};

static int walk_fail(struct chain_walk *w, const char *why)
{
	w->err = why;
	return -1;
}

/* A descriptor copied out of guest memory, turned into host byte order. */
static inline void desc_to_host(struct virtio_desc *d)
{
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
}

/* Copy one descriptor out of guest memory, once, into host byte order. */
static inline void desc_copy(struct virtio_desc *d, const volatile struct virtio_desc *src)
{
	memcpy(d, (const void *)src, sizeof(*d));
	desc_to_host(d);
}

/* Append [addr, addr+len) to the walk, translated fragment by fragment. */
static int add_fragments(struct chain_walk *w, uint64_t addr, uint64_t len, bool writable)
{
	struct vmctx *ctx = w->vq->base->vmctx;
	struct vdev_trace *trace = vdev_virtio_trace(w->vq->base);
	enum vdev_dma_dir dir = writable ? VDEV_DMA_WRITE : VDEV_DMA_READ;

	while (len > 0) {
		void *hva;
		uint64_t n;

		if (w->niov == w->n_iov)
			return walk_fail(w, "chain needs more iovecs than the device offers");
		if (vdev_ctx_translate(ctx, addr, len, dir, &hva, &n) < 0)
			return walk_fail(w, "buffer is not guest RAM");
		w->iov[w->niov].iov_base = hva;
		w->iov[w->niov].iov_len = n;
		if (w->flags)
			w->flags[w->niov] = writable ? VRING_DESC_F_WRITE : 0;
		w->niov++;
		if (writable)
			vdev_ctx_mark_dirty(ctx, addr, n);
		else if (vdev_unlikely(trace != NULL))
			/* The bytes the device gets, for a replay to give it the same. */
			vdev_trace_mem_read(trace, addr, hva, n);
		addr += n;
		len -= n;
	}
	return 0;
}

/* Append the buffer of one (non-indirect) descriptor. */
static int add_buffer(struct chain_walk *w, const struct virtio_desc *d)
{
	bool writable = (d->flags & VRING_DESC_F_WRITE) != 0;
	uint64_t len = d->len;

	if (writable)
		w->seen_write = true;
	else if (w->seen_write)
		return walk_fail(w, "readable descriptor after a writable one");
	if (len == 0)
		return 0;
	if (d->addr > UINT64_MAX - len)
		return walk_fail(w, "buffer wraps the address space");
	w->total += len;
	if (w->total > CHAIN_MAX_BYTES)
		return walk_fail(w, "chain longer than 4 GiB");
	if (writable)
		w->writable += len;
	return add_fragments(w, d->addr, len, writable);
}

/* Read entry i of an indirect table, whether the table is one mapping or fragments. */
static int table_entry(struct chain_walk *w, const volatile struct virtio_desc *table,
		       uint64_t table_gpa, uint32_t i, struct virtio_desc *d)
{
	if (table != NULL) {
		desc_copy(d, &table[i]);
		return 0;
	}
	struct vdev_trace *trace = vdev_virtio_trace(w->vq->base);

	if (vdev_ctx_read(w->vq->base->vmctx, table_gpa + 16ULL * i, d, sizeof(*d)) < 0)
		return walk_fail(w, "indirect table is not guest RAM");
	if (vdev_unlikely(trace != NULL))
		vdev_trace_mem_read(trace, table_gpa + 16ULL * i, d, sizeof(*d));
	desc_to_host(d);
	return 0;
}

static int walk_indirect(struct chain_walk *w, const struct virtio_desc *ind)
{
	struct virtio_vq_info *vq = w->vq;
	const volatile struct virtio_desc *table = NULL;
	uint32_t n = ind->len / 16;
	uint32_t i = 0;
	void *hva;
	uint64_t contig;

	if (!has_feature(vq, VIRTIO_RING_F_INDIRECT_DESC))
		return walk_fail(w, "indirect descriptor without INDIRECT_DESC");
	if (ind->flags & VRING_DESC_F_NEXT)
		return walk_fail(w, "indirect descriptor with NEXT set");
	if (ind->len == 0 || ind->len % 16 != 0 || n > vq->qsize)
		return walk_fail(w, "indirect table length invalid");
	if (ind->addr > UINT64_MAX - ind->len)
		return walk_fail(w, "indirect table wraps the address space");
	if (vdev_ctx_translate(vq->base->vmctx, ind->addr, ind->len, VDEV_DMA_READ, &hva,
			       &contig) < 0)
		return walk_fail(w, "indirect table is not guest RAM");
	/* A table in one piece is read in place; a fragmented one entry by entry. */
	if (contig == ind->len && ((uintptr_t)hva & 7) == 0) {
		struct vdev_trace *trace = vdev_virtio_trace(vq->base);

		table = hva;
		if (vdev_unlikely(trace != NULL))
			vdev_trace_mem_read(trace, ind->addr, hva, ind->len);
	}
	for (uint32_t hops = 0;; hops++) {
		struct virtio_desc d;

		if (hops >= n)
			return walk_fail(w, "indirect chain loops or outruns its table");
		if (table_entry(w, table, ind->addr, i, &d) < 0)
			return -1;
		vq->priv->n_descriptors++;
		if (d.flags & VRING_DESC_F_INDIRECT)
			return walk_fail(w, "nested indirect descriptor");
		if (add_buffer(w, &d) < 0)
			return -1;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		i = d.next;
		if (i >= n)
			return walk_fail(w, "indirect next past the table");
	}
}

static int walk_chain(struct chain_walk *w, uint16_t head)
{
	struct virtio_vq_info *vq = w->vq;
	const volatile struct virtio_desc *desc = vq->priv->desc;
	uint16_t idx = head;

	for (uint32_t hops = 0;; hops++) {
		struct virtio_desc d;

		if (hops >= vq->qsize)
			return walk_fail(w, "descriptor chain loops or exceeds the queue size");
		desc_copy(&d, &desc[idx]);
		vq->priv->n_descriptors++;
		if (d.flags & VRING_DESC_F_INDIRECT)
			return walk_indirect(w, &d);
		if (add_buffer(w, &d) < 0)
			return -1;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		idx = d.next;
		if (idx >= vq->qsize)
			return walk_fail(w, "next index past the queue size");
	}
}

/* Write one used element; the index that makes it visible is published separately. */
static void put_used(struct virtio_vq_info *vq, struct vdev_vq_priv *p, uint16_t head,
		     uint32_t len)
{
	uint16_t slot = vq->used_idx & (uint16_t)(vq->qsize - 1);
	volatile uint32_t *elem = used_elem(p, slot);
	struct vmctx *ctx = vq->base->vmctx;

	elem[0] = htole32(head);
	elem[1] = htole32(len);
	vq->used_idx++;
	if (ctx->ops.mark_dirty)
		vdev_ctx_mark_dirty(ctx, used_gpa(vq) + 4 + 8ULL * slot, 8);
}

/* Make every element written so far visible to the driver. */
static void publish_used_idx(struct virtio_vq_info *vq, struct vdev_vq_priv *p)
{
	struct vmctx *ctx = vq->base->vmctx;

	if (p->used_published == vq->used_idx)
		return;
	/* Release: the elements are visible before the index that publishes them. */
	__atomic_store_n((uint16_t *)&p->used->idx, htole16(vq->used_idx), __ATOMIC_RELEASE);
	p->used_published = vq->used_idx;
	if (ctx->ops.mark_dirty)
		vdev_ctx_mark_dirty(ctx, used_gpa(vq) + 2, 2);
}

/*
 * Refresh the cached avail index. When the ring looks empty and EVENT_IDX is on, the
 * device is about to go idle: ask for a kick at the next entry (avail_event), then
 * look once more in case the driver published one before it could see that request.
 * Every way of draining a ring (vq_has_descs, or vq_getchain until it returns 0) goes
 * through here, so no device can forget it.
 */
static uint16_t refresh_avail(struct virtio_vq_info *vq, struct vdev_vq_priv *p)
{
	if (vq->last_avail != p->avail_shadow)
		return p->avail_shadow;
	p->avail_shadow = load_avail_idx(p);
	if (p->avail_shadow == vq->last_avail && (vq->base->flags & VIRTIO_EVENT_IDX) &&
	    !p->kicks_off) {
		store_u16(avail_event_ptr(vq, p), vq->last_avail);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		p->avail_shadow = load_avail_idx(p);
	}
	return p->avail_shadow;
}

/* How many entries are pending, or -1 when the driver's index is impossible (H17). */
static int pending_entries(struct virtio_vq_info *vq, struct vdev_vq_priv *p)
{
	uint16_t pending = (uint16_t)(refresh_avail(vq, p) - vq->last_avail);

	if (pending > vq->qsize) {
		vdev_vq_break(vq, "avail index ran more than the queue size ahead");
		return -1;
	}
	return pending;
}

/*
 * The common chain, one direct descriptor, in a straight line: the checks walk_chain()
 * and add_buffer() make, without their bookkeeping. Returns the number of iovecs
 * filled; 0 when the chain is not of that kind (chained, indirect, empty, or the device
 * is traced, whose recorder hooks live in the general walk) and nothing was translated
 * yet, so the general walk takes it from the start; -1 with w->err set. A buffer the
 * host translates in several fragments continues in the general walk's loop, so every
 * translation is asked for exactly once.
 */
static inline int take_single(struct chain_walk *w, struct vdev_vq_priv *p,
			      uint16_t head)
{
	struct virtio_vq_info *vq = w->vq;
	struct vmctx *ctx = vq->base->vmctx;
	struct virtio_desc d;
	bool writable;
	void *hva;
	uint64_t n;

	desc_copy(&d, &p->desc[head]);
	if ((d.flags & (VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT)) || d.len == 0 ||
	    vdev_unlikely(vdev_virtio_trace(vq->base) != NULL))
		return 0;
	p->n_descriptors++;
	writable = (d.flags & VRING_DESC_F_WRITE) != 0;
	if (vdev_ctx_translate(ctx, d.addr, d.len, writable ? VDEV_DMA_WRITE : VDEV_DMA_READ,
			       &hva, &n) < 0)
		return walk_fail(w, d.addr > UINT64_MAX - d.len ? "buffer wraps the address space"
								  : "buffer is not guest RAM");
	w->iov[0].iov_base = hva;
	w->iov[0].iov_len = n;
	if (w->flags)
		w->flags[0] = writable ? VRING_DESC_F_WRITE : 0;
	w->niov = 1;
	if (writable) {
		vdev_ctx_mark_dirty(ctx, d.addr, n);
		w->writable = d.len;
	}
	if (vdev_likely(n == d.len))
		return 1;
	if (add_fragments(w, d.addr + n, d.len - n, writable) < 0)
		return -1;
	return w->niov;
}

VDEV_EXPORT int vq_getchain(struct virtio_vq_info *vq, uint16_t *pidx, struct iovec *iov,
			    int n_iov, uint16_t *flags)
{
	struct vdev_vq_priv *p;

	if (vq == NULL || pidx == NULL || iov == NULL || n_iov <= 0)
		return -1;
	if (!(vq->flags & VQ_ALLOC))
		return 0;
	p = vq->priv;
	/* Empty chains are completed in here; a guest refilling them as fast as we
	 * complete them must not keep us in this loop forever. */
	for (uint32_t taken = 0; taken <= vq->qsize; taken++) {
		struct chain_walk w = {vq, iov, flags, n_iov, 0, 0, 0, false, NULL};
		int pending, niov;
		uint16_t head;

		if (vq->flags & VQ_BROKED)
			return -1;
		pending = pending_entries(vq, p);
		if (pending <= 0)
			return pending;
		head = le16toh(avail_ring(p)[vq->last_avail & (uint16_t)(vq->qsize - 1)]);
		if (head >= vq->qsize) {
			vdev_vq_break(vq, "avail ring head past the queue size");
			return -1;
		}
		if (p->inflight[head] != 0) {
			vdev_vq_break(vq, "head made available again while in flight");
			return -1;
		}
		niov = take_single(&w, p, head);
		if (niov == 0)
			niov = walk_chain(&w, head) < 0 ? -1 : w.niov;
		if (niov < 0) {
			vdev_vq_break(vq, w.err);
			return -1;
		}
		vq->last_avail++;
		p->inflight[head] = VDEV_VQ_INFLIGHT | w.writable;
		vq->n_inflight++;
		p->n_chains++;
		if (niov == 0) {
			/* Nothing for the device to look at: give it back at once (H31). */
			vq_relchain(vq, head, 0);
			continue;
		}
		p->last_head = head;
		*pidx = head;
		return niov;
	}
	return 0;
}

/*
 * Warm the caches for the chain `ahead` entries past the next one, if the driver has
 * published it: its first buffer (two lines, for writing) and the used element it
 * will get. A device filling many small buffers (network receive) otherwise stalls on
 * one write miss after another to lines the driver owns; started a few chains early
 * the misses overlap. Nothing is decided from what is read here: a descriptor the
 * driver rewrites meanwhile costs a wasted prefetch, and vq_getchain() checks it all
 * when it takes the chain. Not while tracing: a replay must see the same translations.
 */
void vdev_vq_prefetch(struct virtio_vq_info *vq, uint16_t ahead)
{
	struct vdev_vq_priv *p = vq->priv;
	uint16_t mask = (uint16_t)(vq->qsize - 1), head;
	uint64_t addr, n;
	uint32_t len;
	void *hva;

	if ((uint16_t)(p->avail_shadow - vq->last_avail) <= ahead ||
	    vdev_unlikely(vdev_virtio_trace(vq->base) != NULL))
		return;
	head = le16toh(avail_ring(p)[(uint16_t)(vq->last_avail + ahead) & mask]);
	if (head >= vq->qsize)
		return;
	addr = le64toh(p->desc[head].addr);
	len = le32toh(p->desc[head].len);
	if (len > 128)
		len = 128;
	if (vdev_ctx_translate(vq->base->vmctx, addr, len, VDEV_DMA_WRITE, &hva, &n) == 0) {
		vdev_prefetch_for_write(hva);
		if (n > 64)
			vdev_prefetch_for_write((uint8_t *)hva + 64);
	}
	vdev_prefetch_for_write((const void *)used_elem(p, (uint16_t)(vq->used_idx + ahead) & mask));
}

VDEV_EXPORT void vq_retchain(struct virtio_vq_info *vq)
{
	struct vdev_vq_priv *p;

	if (vq == NULL || !(vq->flags & VQ_ALLOC))
		return;
	p = vq->priv;
	if (p->inflight[p->last_head] == 0)
		return;
	p->inflight[p->last_head] = 0;
	vq->n_inflight--;
	vq->last_avail--;
	p->n_chains--;
}

/*
 * The checks and bookkeeping of a completion. Returns the queue's private state for
 * the caller to write the used element through, or NULL when nothing may be written.
 */
static struct vdev_vq_priv *release(struct virtio_vq_info *vq, uint16_t idx, uint32_t *iolen)
{
	struct vdev_vq_priv *p;
	uint64_t *inflight;
	uint32_t writable;

	if (vq == NULL || vq->base == NULL)
		return NULL;
	/* Looked into only once the queue is mapped (NULL after vdev_virtio_release()). */
	p = vq->priv;
	if (!(vq->flags & VQ_ALLOC) || idx >= vq->qsize || p->inflight[idx] == 0) {
		vdev_base_log(vq->base, VDEV_LOG_WARN,
			      "queue %u: completion for head %u that is not in flight ignored",
			      vq->num, idx);
		return NULL;
	}
	inflight = p->inflight;
	writable = (uint32_t)inflight[idx];
	if (*iolen > writable)
		*iolen = writable;
	inflight[idx] = 0;
	vq->n_inflight--;
	p->n_used++;
	/* A broken queue is not touched again until the driver resets the device. */
	return (vq->flags & VQ_BROKED) ? NULL : p;
}

VDEV_EXPORT void vq_relchain(struct virtio_vq_info *vq, uint16_t idx, uint32_t iolen)
{
	struct vdev_vq_priv *p = release(vq, idx, &iolen);

	if (p == NULL)
		return;
	put_used(vq, p, idx, iolen);
	publish_used_idx(vq, p);
}

VDEV_EXPORT void vdev_vq_relchain_batch(struct virtio_vq_info *vq, uint16_t idx,
					uint32_t iolen)
{
	struct vdev_vq_priv *p = release(vq, idx, &iolen);

	if (p != NULL)
		put_used(vq, p, idx, iolen);
}

VDEV_EXPORT void vdev_vq_publish_used(struct virtio_vq_info *vq)
{
	if (vq != NULL && vq->base != NULL && ring_ready(vq))
		publish_used_idx(vq, vq->priv);
}

static bool need_interrupt(struct virtio_vq_info *vq, uint16_t old, uint16_t new_idx)
{
	const struct vdev_vq_priv *p = vq->priv;

	if (vq->base->flags & VIRTIO_EVENT_IDX) {
		uint16_t event = le16toh(*used_event_ptr(vq, p));
		/* Interrupt when used_event lies in [old, new): 16-bit wrapping arithmetic. */
		return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
	}
	return !(le16toh(p->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
}

VDEV_EXPORT void vq_endchains(struct virtio_vq_info *vq, int used_all_avail)
{
	uint16_t old, new_idx;
	bool intr;

	if (vq == NULL || !ring_ready(vq))
		return;
	publish_used_idx(vq, vq->priv);
	old = vq->save_used;
	new_idx = vq->used_idx;
	vq->save_used = new_idx;
	if (new_idx == old)
		return;
	if (used_all_avail && has_feature(vq, VIRTIO_F_NOTIFY_ON_EMPTY)) {
		/* The driver asked to hear whenever the device runs dry, suppressed or not. */
		intr = true;
	} else {
		/* Our used->idx store must be visible before we read the driver's wishes,
		 * or both sides could decide the other will act. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		intr = need_interrupt(vq, old, new_idx);
	}
	if (intr)
		vq_interrupt(vq->base, vq);
	else
		vq->base->priv->stats.interrupts_suppressed++;
}

VDEV_EXPORT int vq_has_descs(struct virtio_vq_info *vq)
{
	if (vq == NULL || !ring_ready(vq))
		return 0;
	return refresh_avail(vq, vq->priv) != vq->last_avail;
}

VDEV_EXPORT void vdev_vq_kick_disable(struct virtio_vq_info *vq)
{
	if (vq == NULL || !ring_ready(vq))
		return;
	vq->priv->kicks_off = true;
	/* With EVENT_IDX, simply not advancing avail_event keeps the driver quiet. */
	if (!(vq->base->flags & VIRTIO_EVENT_IDX))
		store_u16(&vq->priv->used->flags, VRING_USED_F_NO_NOTIFY);
}

VDEV_EXPORT int vdev_vq_kick_enable(struct virtio_vq_info *vq)
{
	struct vdev_vq_priv *p;

	if (vq == NULL || !ring_ready(vq))
		return 0;
	p = vq->priv;
	p->kicks_off = false;
	if (vq->base->flags & VIRTIO_EVENT_IDX)
		store_u16(avail_event_ptr(vq, p), vq->last_avail);
	else
		store_u16(&p->used->flags, 0);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	p->avail_shadow = load_avail_idx(p);
	return p->avail_shadow != vq->last_avail;
}
