/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The driver peer's split virtqueues: set-up, and the per-request path (enqueue,
 * notify, dequeue). The per-request path allocates nothing, makes no syscall and does
 * no translation: it works on host pointers to its rings taken once at set-up, and on
 * its own bookkeeping, never on what the device may have left in the rings.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver/drv_internal.h"
#include "util/common.h"

#define DESC_SIZE 16
#define USED_ELEM_SIZE 8
/* Smallest indirect table handed to a head, so small requests rarely reallocate. */
#define IND_MIN_ENTRIES 8
/* Indirect tables made at set-up: up to this many entries per head... */
#define IND_POOL_ENTRIES 16
/* ...within this many bytes per queue (large queues get smaller tables). */
#define IND_POOL_BYTES (256u * 1024)

/* ---------------- lookup ---------------- */

static struct vdrv_queue *queue_get(const struct vdev_drv *drv, uint16_t q)
{
	if (vdev_unlikely(drv == NULL || q >= drv->nqueues || !drv->queues[q].ready))
		return NULL;
	return &drv->queues[q];
}

/* The queue's bookkeeping, growing the array when q is new. */
static struct vdrv_queue *queue_slot(struct vdev_drv *drv, uint16_t q)
{
	if (q >= drv->nqueues) {
		uint32_t n = (uint32_t)q + 1;
		struct vdrv_queue *arr = realloc(drv->queues, n * sizeof(*arr));

		if (arr == NULL)
			return NULL;
		memset(arr + drv->nqueues, 0, (n - drv->nqueues) * sizeof(*arr));
		drv->queues = arr;
		drv->nqueues = n;
	}
	return &drv->queues[q];
}

void vdrv_queues_forget(struct vdev_drv *drv)
{
	for (uint32_t i = 0; i < drv->nqueues; i++)
		drv->queues[i].ready = false;
}

void vdrv_queues_free(struct vdev_drv *drv)
{
	for (uint32_t i = 0; i < drv->nqueues; i++)
		free(drv->queues[i].slots);
	free(drv->queues);
	drv->queues = NULL;
	drv->nqueues = 0;
}

/* ---------------- ring memory ---------------- */

/*
 * The legacy layout, used for both interfaces: descriptors, the avail ring (with
 * used_event) right after them, the used ring (with avail_event) at the next 4 KiB
 * boundary. Returns the total size.
 */
static uint64_t ring_layout(uint16_t size, uint64_t *avail_off, uint64_t *used_off)
{
	uint64_t avail_len = 6 + 2 * (uint64_t)size;

	*avail_off = DESC_SIZE * (uint64_t)size;
	*used_off = (*avail_off + avail_len + VRING_ALIGN - 1) & ~(uint64_t)(VRING_ALIGN - 1);
	return *used_off + 6 + USED_ELEM_SIZE * (uint64_t)size;
}

/* Host pointers for every ring field the hot path touches. */
static void map_rings(struct vdrv_queue *vq, uint8_t *base, uint64_t avail_off,
		      uint64_t used_off)
{
	uint8_t *avail = base + avail_off, *used = base + used_off;

	vq->desc = base;
	vq->avail_flags = (uint16_t *)avail;
	vq->avail_idx_p = (uint16_t *)(avail + 2);
	vq->avail_ring = (uint16_t *)(avail + 4);
	vq->used_event = (uint16_t *)(avail + 4 + 2 * (uint64_t)vq->size);
	vq->used_flags = (uint16_t *)used;
	vq->used_idx_p = (uint16_t *)(used + 2);
	vq->used_ring = used + 4;
	vq->avail_event = (uint16_t *)(used + 4 + USED_ELEM_SIZE * (uint64_t)vq->size);
}

/* Allocate (or reuse, after a reset) zeroed ring memory for vq->size entries. */
static int alloc_rings(struct vdev_drv *drv, struct vdrv_queue *vq)
{
	uint64_t avail_off, used_off, len = ring_layout(vq->size, &avail_off, &used_off);
	uint8_t *base;

	if (vq->mem_gpa == 0 || vq->mem_len < len) {
		uint64_t gpa = vdev_sim_alloc(drv->sim, len, VRING_ALIGN);

		if (gpa == 0)
			return -ENOMEM;
		vq->mem_gpa = gpa;
		vq->mem_len = len;
	}
	base = vdev_sim_ptr(drv->sim, vq->mem_gpa, len);
	if (base == NULL)
		return -ENOMEM;
	memset(base, 0, (size_t)len);
	vq->desc_gpa = vq->mem_gpa;
	vq->avail_gpa = vq->mem_gpa + avail_off;
	vq->used_gpa = vq->mem_gpa + used_off;
	map_rings(vq, base, avail_off, used_off);
	return 0;
}

/* Per-descriptor bookkeeping; indirect tables survive when the size is unchanged. */
static int init_slots(struct vdrv_queue *vq)
{
	if (vq->nslots < vq->size) {
		struct vdrv_slot *s = calloc(vq->size, sizeof(*s));

		if (s == NULL)
			return -ENOMEM;
		free(vq->slots);
		vq->slots = s;
		vq->nslots = vq->size;
	}
	for (uint32_t i = 0; i < vq->size; i++) {
		vq->slots[i].token = NULL;
		vq->slots[i].ndesc = 0;
		vq->slots[i].tail = (uint16_t)i;
		vq->slots[i].next = (uint16_t)(i + 1);
	}
	vq->free_head = 0;
	vq->nfree = vq->size;
	return 0;
}

/*
 * With INDIRECT_DESC, give every head a table at set-up, in one block. Tests take an
 * allocation mark after set-up and rewind to it between batches, so tables made
 * lazily later would be handed out again as data buffers; only a request longer than
 * the pool's tables still allocates (once per head).
 */
static int prealloc_indirect(struct vdev_drv *drv, struct vdrv_queue *vq)
{
	uint32_t per = IND_POOL_BYTES / (DESC_SIZE * (uint32_t)vq->size), lacking = 0;
	uint64_t gpa;
	uint8_t *p;

	if (!(drv->features & VIRTIO_RING_F_INDIRECT_DESC))
		return 0;
	per = per > IND_POOL_ENTRIES ? IND_POOL_ENTRIES : (per ? per : 1);
	for (uint32_t i = 0; i < vq->size; i++)
		lacking += vq->slots[i].ind_cap < per;
	if (lacking == 0)
		return 0;
	gpa = vdev_sim_alloc(drv->sim, (uint64_t)lacking * per * DESC_SIZE, DESC_SIZE);
	p = gpa ? vdev_sim_ptr(drv->sim, gpa, (uint64_t)lacking * per * DESC_SIZE) : NULL;
	if (p == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < vq->size; i++) {
		struct vdrv_slot *s = &vq->slots[i];

		if (s->ind_cap >= per)
			continue;
		s->ind_gpa = gpa;
		s->ind_ptr = p;
		s->ind_cap = per;
		gpa += (uint64_t)per * DESC_SIZE;
		p += (size_t)per * DESC_SIZE;
	}
	return 0;
}

static bool size_ok(uint16_t size, uint16_t max)
{
	return size != 0 && size <= max && vdev_is_pow2(size);
}

static int prepare_queue(struct vdev_drv *drv, struct vdrv_queue *vq, uint16_t size)
{
	int rc;

	vq->ready = false;
	vq->size = size;
	vq->mask = (uint16_t)(size - 1);
	vq->avail_idx = 0;
	vq->notified_idx = 0;
	vq->last_used = 0;
	vq->irq_off = false;
	vq->kick_fd = -1;
	vq->event_idx = (drv->features & VIRTIO_RING_F_EVENT_IDX) != 0;
	rc = alloc_rings(drv, vq);
	if (rc < 0)
		return rc;
	rc = init_slots(vq);
	if (rc < 0)
		return rc;
	return prealloc_indirect(drv, vq);
}

struct vdrv_queue *vdrv_queue_prepare(struct vdev_drv *drv, uint16_t q, uint16_t size, int *rc)
{
	struct vdrv_queue *vq;

	if (!size_ok(size, VDEV_VQ_MAX_SIZE)) {
		*rc = -EINVAL;
		return NULL;
	}
	vq = queue_slot(drv, q);
	if (vq == NULL) {
		*rc = -ENOMEM;
		return NULL;
	}
	*rc = prepare_queue(drv, vq, size);
	return *rc < 0 ? NULL : vq;
}

/* ---------------- programming the device ---------------- */

static void write_addr(struct vdev_drv *drv, uint64_t lo_off, uint64_t gpa)
{
	vdrv_wr(drv, VDEV_DRV_REGION_COMMON, lo_off, 4, (uint32_t)gpa);
	vdrv_wr(drv, VDEV_DRV_REGION_COMMON, lo_off + 4, 4, (uint32_t)(gpa >> 32));
}

static int setup_modern(struct vdev_drv *drv, uint16_t q, uint16_t size, uint16_t vec)
{
	const struct vdrv_region *notify = &drv->region[VDEV_DRV_REGION_NOTIFY];
	struct vdrv_queue *vq;
	uint16_t max, noff;
	int rc;

	vdrv_wr(drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_Q_SELECT, 2, q);
	max = (uint16_t)vdrv_rd(drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_Q_SIZE, 2);
	if (max == 0)
		return -ENOENT;
	if (size == 0)
		size = max;
	if (!size_ok(size, max))
		return -EINVAL;
	vq = queue_slot(drv, q);
	if (vq == NULL)
		return -ENOMEM;
	rc = prepare_queue(drv, vq, size);
	if (rc < 0)
		return rc;
	vdrv_wr(drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_Q_SIZE, 2, size);
	write_addr(drv, VIRTIO_COMMON_Q_DESCLO, vq->desc_gpa);
	write_addr(drv, VIRTIO_COMMON_Q_AVAILLO, vq->avail_gpa);
	write_addr(drv, VIRTIO_COMMON_Q_USEDLO, vq->used_gpa);
	if (vdrv_msix_live(drv))
		vdrv_wr(drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_Q_MSIX, 2, vec);
	noff = (uint16_t)vdrv_rd(drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_Q_NOFF, 2);
	vdrv_wr(drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_Q_ENABLE, 2, 1);
	if (vdrv_rd(drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_Q_ENABLE, 2) == 0)
		return -EIO;
	vq->notify_bar = notify->bar;
	vq->notify_off = notify->off + (uint64_t)noff * drv->notify_mult;
	vq->ready = true;
	return 0;
}

static int setup_legacy(struct vdev_drv *drv, uint16_t q, uint16_t size, uint16_t vec)
{
	struct vdrv_queue *vq;
	uint16_t qnum;
	uint64_t pfn;
	int rc;

	vdrv_wr(drv, VDEV_DRV_REGION_LEGACY, VIRTIO_CR_QSEL, 2, q);
	qnum = (uint16_t)vdrv_rd(drv, VDEV_DRV_REGION_LEGACY, VIRTIO_CR_QNUM, 2);
	if (qnum == 0)
		return -ENOENT;
	/* The legacy interface has no size register: the device's size is the size. */
	if ((size != 0 && size != qnum) || !size_ok(qnum, qnum))
		return -EINVAL;
	vq = queue_slot(drv, q);
	if (vq == NULL)
		return -ENOMEM;
	rc = prepare_queue(drv, vq, qnum);
	if (rc < 0)
		return rc;
	pfn = vq->desc_gpa >> VRING_PAGE_BITS;
	if (pfn > 0xffffffffU)
		return -ENOMEM;
	if (vdrv_msix_live(drv))
		vdrv_wr(drv, VDEV_DRV_REGION_LEGACY, VIRTIO_CR_QVEC, 2, vec);
	vdrv_wr(drv, VDEV_DRV_REGION_LEGACY, VIRTIO_CR_PFN, 4, pfn);
	/* A refused ring latches DEVICE_NEEDS_RESET; legacy has no enable to read. */
	if (vdrv_rd(drv, VDEV_DRV_REGION_LEGACY, VIRTIO_CR_STATUS, 1) &
	    VIRTIO_CR_STATUS_NEEDS_RESET)
		return -EIO;
	vq->notify_bar = drv->region[VDEV_DRV_REGION_LEGACY].bar;
	vq->notify_off = VIRTIO_CR_QNOTIFY;
	vq->ready = true;
	return 0;
}

VDEV_EXPORT int vdev_drv_queue_setup(struct vdev_drv *drv, uint16_t q, uint16_t size,
				     uint16_t msix_vector)
{
	if (drv == NULL)
		return -EINVAL;
	if (vdrv_is_legacy(drv))
		return setup_legacy(drv, q, size, msix_vector);
	return setup_modern(drv, q, size, msix_vector);
}

VDEV_EXPORT uint16_t vdev_drv_queue_size(const struct vdev_drv *drv, uint16_t q)
{
	const struct vdrv_queue *vq = queue_get(drv, q);

	return vq ? vq->size : 0;
}

VDEV_EXPORT int vdev_drv_queue_rings(const struct vdev_drv *drv, uint16_t q, uint64_t *desc,
				     uint64_t *avail, uint64_t *used)
{
	const struct vdrv_queue *vq = queue_get(drv, q);

	if (vq == NULL)
		return -EINVAL;
	if (desc)
		*desc = vq->desc_gpa;
	if (avail)
		*avail = vq->avail_gpa;
	if (used)
		*used = vq->used_gpa;
	return 0;
}

VDEV_EXPORT uint16_t vdev_drv_queue_free(const struct vdev_drv *drv, uint16_t q)
{
	const struct vdrv_queue *vq = queue_get(drv, q);

	return vq ? vq->nfree : 0;
}

/* ---------------- enqueue ---------------- */

static void put_desc(uint8_t *d, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	vdev_st64(d, addr);
	vdev_st32(d + 8, len);
	vdev_st16(d + 12, flags);
	vdev_st16(d + 14, next);
}

static uint16_t seg_flags(const struct vdev_drv_seg *s)
{
	return s->writable ? VRING_DESC_F_WRITE : 0;
}

/* Chain nsegs ring descriptors off the free list; returns the head. */
static uint16_t add_direct(struct vdrv_queue *vq, const struct vdev_drv_seg *segs, int nsegs)
{
	uint16_t head = vq->free_head, d = head, last = head;

	for (int i = 0; i < nsegs; i++) {
		uint16_t next = vq->slots[d].next;
		bool more = i + 1 < nsegs;

		put_desc(vq->desc + (size_t)d * DESC_SIZE, segs[i].gpa, segs[i].len,
			 (uint16_t)(seg_flags(&segs[i]) | (more ? VRING_DESC_F_NEXT : 0)),
			 more ? next : 0);
		last = d;
		d = next;
	}
	vq->free_head = d;
	vq->nfree = (uint16_t)(vq->nfree - nsegs);
	vq->slots[head].ndesc = (uint16_t)nsegs;
	vq->slots[head].tail = last;
	return head;
}

/*
 * Each head keeps its own indirect table in sim RAM and reuses it, growing it only
 * when a longer request comes; steady-state traffic therefore never allocates.
 */
static int ind_table(struct vdev_drv *drv, struct vdrv_slot *s, int nsegs)
{
	uint32_t cap = nsegs < IND_MIN_ENTRIES ? IND_MIN_ENTRIES : (uint32_t)nsegs;
	uint64_t gpa;
	void *p;

	if (s->ind_cap >= (uint32_t)nsegs)
		return 0;
	gpa = vdev_sim_alloc(drv->sim, (uint64_t)cap * DESC_SIZE, DESC_SIZE);
	p = gpa ? vdev_sim_ptr(drv->sim, gpa, (uint64_t)cap * DESC_SIZE) : NULL;
	if (p == NULL)
		return -ENOMEM;
	s->ind_gpa = gpa;
	s->ind_ptr = p;
	s->ind_cap = cap;
	return 0;
}

/* One ring descriptor pointing at a table that holds the whole chain. */
static int add_indirect(struct vdev_drv *drv, struct vdrv_queue *vq,
			const struct vdev_drv_seg *segs, int nsegs, uint16_t *headp)
{
	uint16_t head = vq->free_head;
	struct vdrv_slot *s = &vq->slots[head];
	int rc = ind_table(drv, s, nsegs);

	if (rc < 0)
		return rc;
	for (int i = 0; i < nsegs; i++) {
		bool more = i + 1 < nsegs;

		put_desc(s->ind_ptr + (size_t)i * DESC_SIZE, segs[i].gpa, segs[i].len,
			 (uint16_t)(seg_flags(&segs[i]) | (more ? VRING_DESC_F_NEXT : 0)),
			 more ? (uint16_t)(i + 1) : 0);
	}
	put_desc(vq->desc + (size_t)head * DESC_SIZE, s->ind_gpa, (uint32_t)nsegs * DESC_SIZE,
		 VRING_DESC_F_INDIRECT, 0);
	vq->free_head = s->next;
	vq->nfree--;
	s->ndesc = 1;
	s->tail = head;
	*headp = head;
	return 0;
}

/*
 * With nothing of its own in flight the driver's indices must equal the ring's. When
 * they do not, a test pushed chains by hand: adopt the ring's positions, so the next
 * request lands after those and their completions are not taken for ours.
 */
static void resync_idle(struct vdrv_queue *vq)
{
	uint16_t avail = le16toh(__atomic_load_n(vq->avail_idx_p, __ATOMIC_RELAXED));

	if (avail != vq->avail_idx)
		vq->avail_idx = vq->notified_idx = avail;
	vq->last_used = le16toh(__atomic_load_n(vq->used_idx_p, __ATOMIC_ACQUIRE));
}

/* Make `head` visible: the ring entry first, then avail->idx with release order. */
static void publish(struct vdrv_queue *vq, uint16_t head)
{
	vq->avail_ring[vq->avail_idx & vq->mask] = htole16(head);
	vq->avail_idx++;
	__atomic_store_n(vq->avail_idx_p, htole16(vq->avail_idx), __ATOMIC_RELEASE);
}

/*
 * Segment order and flags are not checked: tests use the driver to hand the device
 * chains that break ring rules (writable before readable, zero lengths, indirect
 * without the feature), and the device is the one that must refuse them.
 */
VDEV_EXPORT int vdev_drv_enqueue(struct vdev_drv *drv, uint16_t q, const struct vdev_drv_seg *segs,
				 int nsegs, bool indirect, void *token)
{
	struct vdrv_queue *vq = queue_get(drv, q);
	uint16_t head;

	if (vdev_unlikely(vq == NULL || segs == NULL || nsegs <= 0))
		return -EINVAL;
	if (vq->nfree == vq->size)
		resync_idle(vq);
	if (indirect) {
		int rc;

		if (nsegs > VDEV_VQ_MAX_SIZE)
			return -EINVAL;
		if (vq->nfree == 0)
			return -ENOSPC;
		rc = add_indirect(drv, vq, segs, nsegs, &head);
		if (rc < 0)
			return rc;
	} else {
		if (nsegs > vq->nfree)
			return -ENOSPC;
		head = add_direct(vq, segs, nsegs);
	}
	vq->slots[head].token = token;
	publish(vq, head);
	return 0;
}

/* ---------------- notify ---------------- */

static void kick(struct vdev_drv *drv, const struct vdrv_queue *vq, uint16_t q)
{
	if (vq->kick_fd >= 0) {
		uint64_t one = 1;

		/* An eventfd write cannot fail short; a full counter still wakes. */
		(void)!write(vq->kick_fd, &one, sizeof(one));
		return;
	}
	vdrv_bar_write(drv, vq->notify_bar, vq->notify_off, 2, q);
}

/* Where queue q's notify register is when the driver never set it up. */
static void kick_unset(struct vdev_drv *drv, uint16_t q)
{
	const struct vdrv_region *n = &drv->region[VDEV_DRV_REGION_NOTIFY];

	if (vdrv_is_legacy(drv)) {
		vdrv_wr(drv, VDEV_DRV_REGION_LEGACY, VIRTIO_CR_QNOTIFY, 2, q);
		return;
	}
	/* queue_notify_off reads the queue index on this device family. */
	if (n->bar >= 0)
		vdrv_bar_write(drv, n->bar, n->off + (uint64_t)q * drv->notify_mult, 2, q);
}

/* True when vq_need_event semantics say the device wants a kick for new - old. */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

VDEV_EXPORT int vdev_drv_notify(struct vdev_drv *drv, uint16_t q)
{
	struct vdrv_queue *vq = queue_get(drv, q);
	uint16_t old_idx;
	bool want;

	if (vdev_unlikely(vq == NULL))
		return -EINVAL;
	/* The avail->idx store must be visible before the device's wishes are read. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	old_idx = vq->notified_idx;
	vq->notified_idx = vq->avail_idx;
	if (vq->event_idx) {
		uint16_t ev = le16toh(__atomic_load_n(vq->avail_event, __ATOMIC_RELAXED));

		want = need_event(ev, vq->avail_idx, old_idx);
	} else {
		uint16_t fl = le16toh(__atomic_load_n(vq->used_flags, __ATOMIC_RELAXED));

		want = !(fl & VRING_USED_F_NO_NOTIFY);
	}
	if (!want)
		return 0;
	kick(drv, vq, q);
	return 1;
}

VDEV_EXPORT void vdev_drv_kick(struct vdev_drv *drv, uint16_t q)
{
	struct vdrv_queue *vq = queue_get(drv, q);

	if (drv == NULL)
		return;
	if (vq != NULL) {
		vq->notified_idx = vq->avail_idx;
		kick(drv, vq, q);
	} else {
		kick_unset(drv, q);
	}
}

/* ---------------- dequeue ---------------- */

/* Return a completed chain's descriptors to the free list, by the driver's record. */
static void free_chain(struct vdrv_queue *vq, uint16_t head)
{
	struct vdrv_slot *s = &vq->slots[head];

	vq->slots[s->tail].next = vq->free_head;
	vq->free_head = head;
	vq->nfree = (uint16_t)(vq->nfree + s->ndesc);
	s->ndesc = 0;
}

VDEV_EXPORT int vdev_drv_dequeue(struct vdev_drv *drv, uint16_t q, void **token, uint32_t *len)
{
	struct vdrv_queue *vq = queue_get(drv, q);
	uint16_t used_idx;

	if (vdev_unlikely(vq == NULL))
		return 0;
	used_idx = le16toh(__atomic_load_n(vq->used_idx_p, __ATOMIC_ACQUIRE));
	while (vq->last_used != used_idx) {
		const uint8_t *e = vq->used_ring + (size_t)(vq->last_used & vq->mask) * 8;
		uint32_t id = vdev_ld32(e), n = vdev_ld32(e + 4);

		vq->last_used++;
		/* A device bug, not ours to crash on: skip an element naming no request. */
		if (vdev_unlikely(id >= vq->size || vq->slots[id].ndesc == 0)) {
			vq->bad_used++;
			continue;
		}
		if (token)
			*token = vq->slots[id].token;
		if (len)
			*len = n;
		free_chain(vq, (uint16_t)id);
		/* With EVENT_IDX, ask for an interrupt at the next completion (Linux does
		 * the same); the fence pairs with enable_irq, not needed here. */
		if (vq->event_idx && !vq->irq_off)
			__atomic_store_n(vq->used_event, htole16(vq->last_used), __ATOMIC_RELAXED);
		return 1;
	}
	return 0;
}

/* ---------------- interrupt suppression ---------------- */

VDEV_EXPORT void vdev_drv_enable_irq(struct vdev_drv *drv, uint16_t q)
{
	struct vdrv_queue *vq = queue_get(drv, q);

	if (vq == NULL)
		return;
	vq->irq_off = false;
	__atomic_store_n(vq->avail_flags, htole16(0), __ATOMIC_RELAXED);
	if (vq->event_idx)
		__atomic_store_n(vq->used_event, htole16(vq->last_used), __ATOMIC_RELAXED);
	/* Visible before the caller re-checks the used ring and goes to sleep. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Under EVENT_IDX the device ignores the flag; used_event is left where it was. */
VDEV_EXPORT void vdev_drv_disable_irq(struct vdev_drv *drv, uint16_t q)
{
	struct vdrv_queue *vq = queue_get(drv, q);

	if (vq == NULL)
		return;
	vq->irq_off = true;
	__atomic_store_n(vq->avail_flags, htole16(VRING_AVAIL_F_NO_INTERRUPT), __ATOMIC_RELAXED);
}
