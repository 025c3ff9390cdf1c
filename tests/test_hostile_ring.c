/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hostile split rings, HOSTILE.md H14-H31. Each test lets the driver peer set up a
 * queue (so the geometry is valid), then writes descriptors and avail entries into
 * guest memory by hand and either kicks or calls vq_getchain() directly, and checks
 * the outcome docs/behaviour.md promises. "Broken" is checked in full: vq_getchain()
 * returns -1, VQ_BROKED, DEVICE_NEEDS_RESET read by the driver, one config interrupt
 * (ISR bit 0x02 over INTx), guest_errors and the log grow, no used entry for the bad
 * chain, and a reset brings the device back.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"

/* ---------------- a test host with its own translate callback ---------------- */

/*
 * H26 needs the "guest" to rewrite memory at the exact moment the device translates
 * a buffer, so the device runs on a host whose translate callback can do that. The
 * driver peer only serves devices on its own sim's host, so these tests bring the
 * queue up by hand through the modern registers (mini_setup below); RAM is still
 * the sim's.
 */
struct thost {
	struct vdev_sim *sim;
	struct vmctx *ctx;
	uint64_t ram_size;
	uint64_t translations;
	uint64_t faults;
	uint64_t hook_gpa;      /* the first translation starting here runs hook */
	void (*hook)(struct thost *t);
	uint8_t *hook_p;        /* what the hook rewrites */
	uint64_t hook_arg;
	int intx_level;
	uint64_t intx_raises;
	uint64_t msis;
	uint64_t logs;
};

static int th_translate(void *opaque, uint64_t gpa, uint64_t len, enum vdev_dma_dir dir,
			void **hva, uint64_t *contig)
{
	struct thost *t = opaque;
	uint64_t n;

	(void)dir;
	t->translations++;
	if (gpa >= t->ram_size || len == 0) {
		t->faults++;
		return -EFAULT;
	}
	n = t->ram_size - gpa;
	if (n > len)
		n = len;
	*hva = vdev_sim_ptr(t->sim, gpa, n);
	if (*hva == NULL) {
		t->faults++;
		return -EFAULT;
	}
	*contig = n;
	if (t->hook != NULL && gpa == t->hook_gpa) {
		void (*fn)(struct thost *) = t->hook;

		t->hook = NULL;
		fn(t);
	}
	return 0;
}

static int th_msi(void *opaque, struct pci_vdev *dev, uint64_t addr, uint32_t data)
{
	struct thost *t = opaque;

	(void)dev;
	(void)addr;
	(void)data;
	t->msis++;
	return 0;
}

static void th_intx(void *opaque, struct pci_vdev *dev, int level)
{
	struct thost *t = opaque;

	(void)dev;
	if (level && !t->intx_level)
		t->intx_raises++;
	t->intx_level = level;
}

static void th_log(void *opaque, enum vdev_log_level level, const char *dev, const char *msg)
{
	struct thost *t = opaque;

	(void)level;
	(void)dev;
	(void)msg;
	t->logs++;
}

static const struct vdev_host_ops th_ops = {
	.version = VDEV_HOST_OPS_VERSION,
	.translate = th_translate,
	.msi_send = th_msi,
	.intx_set = th_intx,
	.log = th_log,
};

/* ---------------- opening a device ---------------- */

struct hopts {
	enum vdev_pci_mode mode;    /* 0: modern */
	enum vdev_drv_access access; /* 0: modern */
	uint16_t qsize;             /* 0: 8 */
	uint64_t features;          /* negotiated */
	bool manual;                /* echo in manual mode */
	int nvq;
	uint64_t ram_size;          /* 0: 16 MiB */
	uint64_t sim_frag;          /* sim fragmentation (rings included) */
};

static struct thost th;

static void hopen(struct harness *h, const struct hopts *o)
{
	enum vdev_pci_mode mode = o->mode ? o->mode : VDEV_PCI_MODERN;
	enum vdev_drv_access access = o->access ? o->access : VDEV_DRV_MODERN;
	uint16_t qsize = o->qsize ? o->qsize : 8;
	struct echo_dev_config ecfg = {.qsize = qsize, .manual = o->manual, .nvq = o->nvq};
	int rc;

	open_sim(h, mode, access, ecfg, o->ram_size ? o->ram_size : 16 << 20, o->sim_frag);
	rc = harness_ready(h, o->features, qsize);
	cr_assert_eq(rc, 0, "harness_ready: %d", rc);
}

/* hopen(), and the driver's rings of queue 0 in `r`. */
static void hopen_ring(struct harness *h, const struct hopts *o, struct raw_ring *r)
{
	hopen(h, o);
	raw_ring_init(h, 0, r);
}

static uint64_t log_count(struct harness *h)
{
	return vdev_sim_log_count(h->sim);
}

static uint64_t intx_raises(struct harness *h)
{
	struct vdev_sim_irqs irqs;

	vdev_sim_get_irqs(h->sim, &irqs);
	return irqs.intx_raises;
}

static uint64_t translations(struct harness *h)
{
	struct vdev_sim_irqs irqs;

	vdev_sim_get_irqs(h->sim, &irqs);
	return irqs.translations;
}

/* ---------------- outcome checks ---------------- */

struct snap {
	struct vdev_virtio_stats st;
	uint64_t logs;
	uint64_t raises;
	uint64_t translations;
	uint16_t used_idx;
	uint64_t chain_errors;
	uint64_t echoed;
};

/* Take a snapshot just before the hostile action; clears a pending ISR first so
 * the config interrupt the break raises is visible on its own. */
static void snap_take(struct harness *h, const struct raw_ring *r, struct snap *s)
{
	(void)vdev_drv_read_isr(h->drv);
	s->st = stats(h);
	s->logs = log_count(h);
	s->raises = intx_raises(h);
	s->translations = translations(h);
	s->used_idx = raw_used_idx(r);
	s->chain_errors = h->dev->chain_errors;
	s->echoed = h->dev->echoed;
}

static int take(struct harness *h, uint16_t q, uint16_t *head, struct iovec *iov, int n)
{
	uint16_t fl[256];

	cr_assert_leq(n, 256);
	return vq_getchain(&h->dev->vq[q], head, iov, n, fl);
}

static int take1(struct harness *h, uint16_t *head)
{
	struct iovec iov[ECHO_MAX_IOV];

	return take(h, 0, head, iov, ECHO_MAX_IOV);
}

/* Everything "broken" means, for queue q, against the snapshot. */
static void assert_broken_q(struct harness *h, uint16_t q, const struct raw_ring *r,
			    const struct snap *s, const char *what)
{
	struct virtio_vq_info *vq = &h->dev->vq[q];
	struct vdev_virtio_stats now = stats(h);
	uint8_t status = vdev_drv_read_status(h->drv);
	uint8_t isr = vdev_drv_read_isr(h->drv);
	uint16_t head = 0xAAAA;
	struct iovec iov[4];

	cr_assert(vq->flags & VQ_BROKED, "%s: queue not marked VQ_BROKED", what);
	cr_assert_eq(vq_ring_ready(vq), 0, "%s: broken queue still ready", what);
	cr_assert(status & VIRTIO_CR_STATUS_NEEDS_RESET,
		  "%s: status 0x%02x lacks DEVICE_NEEDS_RESET", what, status);
	cr_assert(isr & VIRTIO_CR_ISR_CONF_CHANGED, "%s: no config interrupt (ISR 0x%02x)", what,
		  isr);
	cr_assert_gt(intx_raises(h), s->raises, "%s: INTx never raised", what);
	cr_assert_gt(now.guest_errors, s->st.guest_errors, "%s: guest_errors did not grow", what);
	cr_assert_gt(log_count(h), s->logs, "%s: nothing logged", what);
	cr_assert_eq(raw_used_idx(r), s->used_idx, "%s: used ring written for the bad chain",
		     what);
	cr_assert_eq(vq->used_idx, s->used_idx, "%s: device used index moved", what);
	/* No longer processed, and the config interrupt came once. */
	cr_assert_eq(vq_has_descs(vq), 0, "%s: broken queue reports work", what);
	cr_assert_leq(take(h, q, &head, iov, 4), 0, "%s: broken queue handed out a chain", what);
	vq_endchains(vq, 1);
	cr_assert_eq(vdev_drv_read_isr(h->drv), 0, "%s: a second interrupt after the break",
		     what);
	cr_assert_eq(raw_used_idx(r), s->used_idx, "%s: used ring written after the break", what);
	/* register reads keep working */
	cr_assert_eq(vdev_drv_read_config64(h->drv, ECHO_CFG_ID), ECHO_ID_LE64,
		     "%s: config read after the break", what);
}

static void assert_broken(struct harness *h, const struct raw_ring *r, const struct snap *s,
			  const char *what)
{
	assert_broken_q(h, 0, r, s, what);
}

static void assert_not_broken(struct harness *h, uint16_t q, const char *what)
{
	cr_assert_eq(h->dev->vq[q].flags & VQ_BROKED, 0, "%s: queue broken", what);
	cr_assert_eq(vdev_drv_read_status(h->drv) & VIRTIO_CR_STATUS_NEEDS_RESET, 0,
		     "%s: device needs reset", what);
}

/* One echo round trip through the driver, kicking and serving as the mode needs. */
static void roundtrip_ok(struct harness *h, uint16_t q, const char *what)
{
	uint8_t *in, *out;
	struct vdev_drv_seg segs[2];
	void *tok = NULL;
	uint32_t len = 0;
	int rc;

	segs[0] = (struct vdev_drv_seg){.gpa = harness_buf(h, 32, (void **)&in), .len = 32};
	segs[1] = (struct vdev_drv_seg){.gpa = harness_buf(h, 32, (void **)&out), .len = 32,
					.writable = true};
	for (int i = 0; i < 32; i++)
		in[i] = (uint8_t)(i * 5 + 1);
	memset(out, 0, 32);
	rc = vdev_drv_enqueue(h->drv, q, segs, 2, false, (void *)segs);
	cr_assert_eq(rc, 0, "%s: enqueue: %d", what, rc);
	vdev_drv_kick(h->drv, q);
	if (h->dev->manual)
		cr_assert_eq(echo_dev_process(h->dev, q), 1, "%s: echo did not serve", what);
	cr_assert_eq(vdev_drv_dequeue(h->drv, q, &tok, &len), 1, "%s: no completion", what);
	cr_assert_eq(tok, (void *)segs);
	cr_assert_eq(len, 32, "%s: used length %u", what, len);
	cr_assert_eq(memcmp(in, out, 32), 0, "%s: echo data differ", what);
}

/* A device reset and a fresh set-up bring the device back. */
static void assert_recovers(struct harness *h, uint64_t features, const char *what)
{
	uint16_t qsize = h->dev->vq[0].qsize;
	int rc;

	rc = vdev_drv_reset(h->drv);
	cr_assert_eq(rc, 0, "%s: reset: %d", what, rc);
	cr_assert_eq(vdev_drv_read_status(h->drv), 0, "%s: status after reset", what);
	rc = harness_ready(h, features, qsize);
	cr_assert_eq(rc, 0, "%s: set-up after reset: %d", what, rc);
	for (int q = 0; q < h->dev->base.vops->nvq; q++)
		assert_not_broken(h, (uint16_t)q, what);
	roundtrip_ok(h, 0, what);
}

/*
 * The chain now at the head of queue 0 is refused: vq_getchain() returns -1 and the
 * queue is broken in every way assert_broken() checks; then the device recovers.
 */
static void expect_refused(struct harness *h, const struct raw_ring *r, uint64_t features,
			   const char *what)
{
	struct snap s;
	uint16_t head;

	snap_take(h, r, &s);
	cr_assert_eq(take1(h, &head), -1, "%s: not refused", what);
	assert_broken(h, r, &s, what);
	assert_recovers(h, features, what);
}

/* ---------------- H14 descriptor loops ---------------- */

/* A self-loop through `next` in every device mode: stops within queue-size hops. */
Test(hostile_ring, H14_descriptor_self_loop)
{
	for (int ci = 0; ci < harness_ncombos; ci++) {
		const struct harness_combo *c = &harness_combos[ci];
		struct hopts o = {.mode = c->mode, .access = c->access, .manual = true};
		struct harness h;
		struct raw_ring r;
		struct snap s;
		uint16_t head;
		uint64_t g;

		hopen_ring(&h, &o, &r);
		g = harness_buf(&h, 16, NULL);
		put_desc(r.d, 0, g, 16, VRING_DESC_F_NEXT, 0);
		raw_push(&r, 0);
		snap_take(&h, &r, &s);
		cr_assert_eq(take1(&h, &head), -1, "%s: self-loop not refused", c->name);
		/* at most one translation per hop, and at most queue-size hops */
		cr_assert_leq(translations(&h) - s.translations, r.size, "%s: %llu translations",
			      c->name, (unsigned long long)(translations(&h) - s.translations));
		assert_broken(&h, &r, &s, c->name);
		assert_recovers(&h, 0, c->name);
		harness_close(&h);
	}
}

/* A two-descriptor cycle reached through a kick and the echo device. */
Test(hostile_ring, H14_descriptor_two_cycle_via_kick)
{
	struct hopts o = {0};
	struct harness h;
	struct raw_ring r;
	struct snap s;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	put_desc(r.d, 2, g, 16, VRING_DESC_F_NEXT, 5);
	put_desc(r.d, 5, g, 16, VRING_DESC_F_NEXT, 2);
	raw_push(&r, 2);
	snap_take(&h, &r, &s);
	vdev_drv_kick(h.drv, 0);
	cr_assert_eq(h.dev->chain_errors, s.chain_errors + 1);
	cr_assert_eq(h.dev->echoed, s.echoed);
	cr_assert_leq(translations(&h) - s.translations, r.size);
	assert_broken(&h, &r, &s, "two-cycle");
	/* kicks to a broken queue are ignored and counted */
	vdev_drv_kick(h.drv, 0);
	cr_assert_gt(stats(&h).notifies_ignored, s.st.notifies_ignored);
	cr_assert_eq(h.dev->chain_errors, s.chain_errors + 1);
	assert_recovers(&h, 0, "two-cycle");
	harness_close(&h);
}

/* ---------------- H15 over-long chains ---------------- */

/* Exactly `size` descriptors is the longest legal chain. */
Test(hostile_ring, H15_chain_of_queue_size_accepted)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	struct iovec iov[16];
	uint16_t head;
	uint64_t g;
	int n;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16 * r.size, NULL);
	for (uint16_t i = 0; i < r.size; i++) {
		bool last = i + 1 == r.size;

		put_desc(r.d, i, g + 16u * i, 16,
			 (uint16_t)((last ? VRING_DESC_F_WRITE : 0) | (last ? 0 : VRING_DESC_F_NEXT)),
			 (uint16_t)(i + 1));
	}
	raw_push(&r, 0);
	n = take(&h, 0, &head, iov, 16);
	cr_assert_eq(n, r.size, "chain of queue size gave %d", n);
	vq_relchain(&h.dev->vq[0], head, 16);
	vq_endchains(&h.dev->vq[0], 1);
	cr_assert_eq(raw_used_idx(&r), 1);
	assert_not_broken(&h, 0, "size chain");
	harness_close(&h);
}

/* size + 1 hops (the last one revisits the head): broken. */
Test(hostile_ring, H15_chain_longer_than_queue_size)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	struct snap s;
	uint16_t head;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	for (uint16_t i = 0; i < r.size; i++)
		put_desc(r.d, i, g, 16, VRING_DESC_F_NEXT, (uint16_t)((i + 1) % r.size));
	raw_push(&r, 0);
	snap_take(&h, &r, &s);
	cr_assert_eq(take1(&h, &head), -1);
	cr_assert_leq(translations(&h) - s.translations, r.size);
	assert_broken(&h, &r, &s, "size+1 chain");
	assert_recovers(&h, 0, "size+1 chain");
	harness_close(&h);
}

/* An indirect table chaining size + 1 entries: broken (H15 through H24's door). */
Test(hostile_ring, H15_indirect_chain_longer_than_queue_size)
{
	struct hopts o = {.manual = true, .features = VIRTIO_RING_F_INDIRECT_DESC};
	struct harness h;
	struct raw_ring r;
	uint8_t *t;
	uint64_t g, gt;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	gt = harness_buf(&h, 16u * (r.size + 1), (void **)&t);
	for (uint16_t i = 0; i <= r.size; i++)
		put_desc(t, i, g, 16, i < r.size ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	put_desc(r.d, 0, gt, 16u * (r.size + 1), VRING_DESC_F_INDIRECT, 0);
	raw_push(&r, 0);
	expect_refused(&h, &r, o.features, "indirect size+1");
	harness_close(&h);
}

/* ---------------- H16 next past the queue ---------------- */

static void next_past_size(uint16_t bad_next)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	uint64_t g;
	char what[32];

	snprintf(what, sizeof(what), "next=0x%x", bad_next);
	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	put_desc(r.d, 0, g, 16, VRING_DESC_F_NEXT, 1);
	put_desc(r.d, 1, g, 16, VRING_DESC_F_NEXT, bad_next);
	raw_push(&r, 0);
	expect_refused(&h, &r, 0, what);
	harness_close(&h);
}

Test(hostile_ring, H16_next_equal_to_queue_size)
{
	next_past_size(8);
}

Test(hostile_ring, H16_next_0xffff)
{
	next_past_size(0xFFFF);
}

/* ---------------- H17 avail index ---------------- */

/* avail->idx more than size ahead: broken, and no phantom entry is processed. */
Test(hostile_ring, H17_avail_idx_jumps_ahead)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	struct snap s;
	uint16_t head;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	for (uint16_t i = 0; i < r.size; i++) {
		put_desc(r.d, i, g, 16, VRING_DESC_F_WRITE, 0);
		raw_avail_entry(&r, i, i);
	}
	raw_set_avail_idx(&r, (uint16_t)(r.size + 1));
	snap_take(&h, &r, &s);
	cr_assert_eq(take1(&h, &head), -1);
	cr_assert_eq(stats(&h).chains, s.st.chains, "phantom entries were taken");
	cr_assert_eq(h.dev->vq[0].n_inflight, 0);
	assert_broken(&h, &r, &s, "avail idx size+1");
	assert_recovers(&h, 0, "avail idx size+1");
	harness_close(&h);
}

/* The same through a kick: the echo device serves nothing. */
Test(hostile_ring, H17_avail_idx_jumps_ahead_via_kick)
{
	struct hopts o = {0};
	struct harness h;
	struct raw_ring r;
	struct snap s;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	for (uint16_t i = 0; i < r.size; i++) {
		put_desc(r.d, i, g, 16, VRING_DESC_F_WRITE, 0);
		raw_avail_entry(&r, i, i);
	}
	raw_set_avail_idx(&r, 0x8000);
	snap_take(&h, &r, &s);
	vdev_drv_kick(h.drv, 0);
	cr_assert_eq(h.dev->echoed, s.echoed, "phantom entries were served");
	assert_broken(&h, &r, &s, "avail idx 0x8000");
	assert_recovers(&h, 0, "avail idx 0x8000");
	harness_close(&h);
}

/* Exactly size ahead is a full ring, not an error. */
Test(hostile_ring, H17_avail_idx_exactly_size_ahead_ok)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	uint16_t head;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	for (uint16_t i = 0; i < r.size; i++) {
		put_desc(r.d, i, g, 16, VRING_DESC_F_WRITE, 0);
		raw_avail_entry(&r, i, (uint16_t)(r.size - 1 - i));
	}
	raw_set_avail_idx(&r, r.size);
	for (uint16_t i = 0; i < r.size; i++) {
		cr_assert_eq(take1(&h, &head), 1, "entry %u", i);
		cr_assert_eq(head, r.size - 1 - i);
	}
	cr_assert_eq(take1(&h, &head), 0);
	cr_assert_eq(h.dev->vq[0].n_inflight, r.size);
	assert_not_broken(&h, 0, "full ring");
	harness_close(&h);
}

/* avail->idx moving backwards is 0xFFFF entries ahead in 16-bit terms: broken. */
Test(hostile_ring, H17_avail_idx_moves_backwards)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	uint16_t head[2];
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	put_desc(r.d, 0, g, 16, VRING_DESC_F_WRITE, 0);
	put_desc(r.d, 1, g, 16, VRING_DESC_F_WRITE, 0);
	raw_push(&r, 0);
	raw_push(&r, 1);
	cr_assert_eq(take1(&h, &head[0]), 1);
	cr_assert_eq(take1(&h, &head[1]), 1);
	vq_relchain(&h.dev->vq[0], head[0], 16);
	vq_relchain(&h.dev->vq[0], head[1], 16);
	vq_endchains(&h.dev->vq[0], 1);
	raw_set_avail_idx(&r, 1);
	expect_refused(&h, &r, 0, "avail idx backwards");
	harness_close(&h);
}

/* Legal traffic across the 0xFFFF -> 0 wrap of avail->idx is not mistaken for a jump. */
Test(hostile_ring, H17_avail_idx_wraps_at_0xffff, .timeout = 30)
{
	struct hopts o = {0};
	struct harness h;
	struct raw_ring r;
	struct vdev_drv_seg seg;
	uint32_t total = 0;
	void *tok;
	uint32_t len;

	hopen_ring(&h, &o, &r);
	seg = (struct vdev_drv_seg){.gpa = harness_buf(&h, 16, NULL), .len = 16, .writable = true};
	while (total < 65536 + 100) {
		int n = 0;

		while (vdev_drv_enqueue(h.drv, 0, &seg, 1, false, NULL) == 0)
			n++;
		cr_assert_eq(n, r.size);
		vdev_drv_kick(h.drv, 0);
		while (vdev_drv_dequeue(h.drv, 0, &tok, &len) == 1)
			n--;
		cr_assert_eq(n, 0, "completions missing after %u requests", total);
		total += r.size;
	}
	cr_assert_eq(raw_avail_idx(&r), (uint16_t)total);
	cr_assert_eq(raw_used_idx(&r), (uint16_t)total);
	cr_assert_eq(h.dev->echoed, total);
	cr_assert_eq(h.dev->chain_errors, 0);
	assert_not_broken(&h, 0, "wrap");
	harness_close(&h);
}

/* ---------------- H18 head past the queue ---------------- */

static void head_past_size(uint16_t bad)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	char what[32];

	snprintf(what, sizeof(what), "head=0x%x", bad);
	hopen_ring(&h, &o, &r);
	raw_push(&r, bad);
	expect_refused(&h, &r, 0, what);
	harness_close(&h);
}

Test(hostile_ring, H18_head_equal_to_queue_size)
{
	head_past_size(8);
}

Test(hostile_ring, H18_head_0xffff)
{
	head_past_size(0xFFFF);
}

/* ---------------- H19 duplicate heads ---------------- */

/* The same head twice before completion: the second take breaks the queue and the
 * head is completed at most once. */
Test(hostile_ring, H19_duplicate_head_in_flight)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	struct snap s;
	uint16_t head, head2;
	struct vdev_virtio_stats st;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	put_desc(r.d, 3, g, 16, VRING_DESC_F_WRITE, 0);
	raw_push(&r, 3);
	raw_push(&r, 3);
	cr_assert_eq(take1(&h, &head), 1);
	cr_assert_eq(head, 3);
	snap_take(&h, &r, &s);
	cr_assert_eq(take1(&h, &head2), -1, "second copy of an in-flight head taken");
	cr_assert_eq(h.dev->vq[0].n_inflight, 1);
	/* the backend now finishes the first copy (and, buggy, a second time) */
	vq_relchain(&h.dev->vq[0], head, 16);
	vq_relchain(&h.dev->vq[0], head, 16);
	vq_endchains(&h.dev->vq[0], 1);
	cr_assert_eq(h.dev->vq[0].n_inflight, 0);
	st = stats(&h);
	cr_assert_eq(st.used, s.st.used + 1, "head completed %llu times",
		     (unsigned long long)(st.used - s.st.used));
	assert_broken(&h, &r, &s, "duplicate head");
	assert_recovers(&h, 0, "duplicate head");
	harness_close(&h);
}

/* vq_relchain of a head that is not in flight: ignored and logged, not broken. */
Test(hostile_ring, H19_relchain_not_in_flight_ignored)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	uint16_t head;
	uint64_t g, logs;
	struct vdev_virtio_stats st;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	put_desc(r.d, 0, g, 16, VRING_DESC_F_WRITE, 0);
	raw_push(&r, 0);
	cr_assert_eq(take1(&h, &head), 1);
	vq_relchain(&h.dev->vq[0], head, 16);
	st = stats(&h);
	logs = log_count(&h);
	vq_relchain(&h.dev->vq[0], head, 16);   /* twice */
	vq_relchain(&h.dev->vq[0], 5, 16);      /* never taken */
	vq_relchain(&h.dev->vq[0], 0xFFFF, 16); /* not a head at all */
	vq_endchains(&h.dev->vq[0], 1);
	cr_assert_eq(raw_used_idx(&r), 1);
	expect_used(&r, 0, 0, 16, "stray relchain");
	cr_assert_eq(stats(&h).used, st.used);
	cr_assert_geq(log_count(&h), logs + 3, "ignored completions were not logged");
	cr_assert_eq(h.dev->vq[0].n_inflight, 0);
	assert_not_broken(&h, 0, "stray relchain");
	harness_close(&h);
}

/* A head made available again after it completed is legal. */
Test(hostile_ring, H19_head_reused_after_completion)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	uint16_t head;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	put_desc(r.d, 0, g, 16, VRING_DESC_F_WRITE, 0);
	for (int i = 0; i < 3 * r.size; i++) {
		raw_push(&r, 0);
		cr_assert_eq(take1(&h, &head), 1, "round %d", i);
		cr_assert_eq(head, 0);
		vq_relchain(&h.dev->vq[0], head, 4);
		vq_endchains(&h.dev->vq[0], 1);
	}
	cr_assert_eq(raw_used_idx(&r), 3 * r.size);
	assert_not_broken(&h, 0, "reuse");
	harness_close(&h);
}

/* ---------------- H20 length arithmetic ---------------- */

/* addr + len wrapping 2^64, direct and inside an indirect table. */
Test(hostile_ring, H20_addr_plus_len_wraps)
{
	for (int indirect = 0; indirect < 2; indirect++) {
		struct hopts o = {.manual = true, .features = VIRTIO_RING_F_INDIRECT_DESC};
		struct harness h;
		struct raw_ring r;
		uint8_t *t;
		uint64_t gt;
		const char *what = indirect ? "wrap in table" : "wrap direct";

		hopen_ring(&h, &o, &r);
		gt = harness_buf(&h, 32, (void **)&t);
		if (indirect) {
			put_desc(t, 0, 0xFFFFFFFFFFFFF000ULL, 0x2000, 0, 0);
			put_desc(r.d, 0, gt, 16, VRING_DESC_F_INDIRECT, 0);
		} else {
			put_desc(r.d, 0, 0xFFFFFFFFFFFFFFF0ULL, 0x20, VRING_DESC_F_WRITE, 0);
		}
		raw_push(&r, 0);
		expect_refused(&h, &r, o.features, what);
		harness_close(&h);
	}
}

#define BIG_RAM (64ULL << 20)
#define BIG_SEG (32u << 20)

/* `n` descriptors of 32 MiB each (the last one `last_len`), all readable RAM. */
static int big_chain(struct harness *h, struct raw_ring *r, int n, uint32_t last_len)
{
	static struct iovec iov[256];
	uint16_t fl[256];
	uint16_t head;

	for (int i = 0; i < n; i++) {
		bool last = i + 1 == n;

		put_desc(r->d, (uint16_t)i, BIG_RAM - BIG_SEG, last ? last_len : BIG_SEG,
			 last ? 0 : VRING_DESC_F_NEXT, (uint16_t)(i + 1));
	}
	raw_push(r, 0);
	return vq_getchain(&h->dev->vq[0], &head, iov, 256, fl);
}

/* A chain totalling 2^32 bytes cannot be described by a 32-bit used length: broken. */
Test(hostile_ring, H20_total_length_over_4GiB)
{
	struct hopts o = {.manual = true, .qsize = 256, .ram_size = BIG_RAM};
	struct harness h;
	struct raw_ring r;
	struct snap s;

	hopen_ring(&h, &o, &r);
	snap_take(&h, &r, &s);
	/* 128 x 32 MiB = 2^32 */
	cr_assert_eq(big_chain(&h, &r, 128, BIG_SEG), -1, "a 4 GiB chain was accepted");
	assert_broken(&h, &r, &s, "4 GiB chain");
	assert_recovers(&h, 0, "4 GiB chain");
	harness_close(&h);
}

/* 2^32 - 1 bytes is the largest legal total ("over 2^32 - 1" is what breaks). */
Test(hostile_ring, H20_total_length_4GiB_minus_1_accepted)
{
	struct hopts o = {.manual = true, .qsize = 256, .ram_size = BIG_RAM};
	struct harness h;
	struct raw_ring r;
	int n;

	hopen_ring(&h, &o, &r);
	n = big_chain(&h, &r, 128, BIG_SEG - 1);
	cr_assert_eq(n, 128, "a chain of 2^32 - 1 bytes gave %d", n);
	assert_not_broken(&h, 0, "4 GiB - 1 chain");
	harness_close(&h);
}

/* The used length never exceeds the writable bytes, whatever the device claims. */
Test(hostile_ring, H20_used_length_never_exceeds_writable)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	uint16_t heads[3];
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 64, NULL);
	put_desc(r.d, 0, g, 7, VRING_DESC_F_NEXT, 1);
	put_desc(r.d, 1, g + 8, 9, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	put_desc(r.d, 2, g + 32, 3, VRING_DESC_F_WRITE, 0);
	put_desc(r.d, 4, g, 40, 0, 0);
	put_desc(r.d, 6, g, 40, VRING_DESC_F_WRITE, 0);
	raw_push(&r, 0);
	raw_push(&r, 4);
	raw_push(&r, 6);
	for (int i = 0; i < 3; i++)
		cr_assert_gt(take1(&h, &heads[i]), 0);
	vq_relchain(&h.dev->vq[0], heads[0], 0xFFFFFFFFu);
	vq_relchain(&h.dev->vq[0], heads[1], 0xFFFFFFFFu);
	vq_relchain(&h.dev->vq[0], heads[2], 41);
	vq_endchains(&h.dev->vq[0], 1);
	expect_used(&r, 0, 0, 12, "mixed chain");
	expect_used(&r, 1, 4, 0, "read-only chain");
	expect_used(&r, 2, 6, 40, "clamp");
	assert_not_broken(&h, 0, "clamp");
	harness_close(&h);
}

/* ---------------- H21 buffers that are not RAM ---------------- */

static void bad_buffer(uint64_t addr, uint32_t len, uint16_t flags, const char *what)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	struct snap s;
	uint16_t head;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	/* a good descriptor first, so the bad one is not the head */
	g = harness_buf(&h, 16, NULL);
	put_desc(r.d, 0, g, 16, VRING_DESC_F_NEXT, 1);
	put_desc(r.d, 1, addr, len, flags, 0);
	raw_push(&r, 0);
	snap_take(&h, &r, &s);
	cr_assert_eq(take1(&h, &head), -1, "%s: not refused", what);
	/* one translation per fragment, and only a few fragments */
	cr_assert_leq(translations(&h) - s.translations, 4, "%s: %llu translations", what,
		      (unsigned long long)(translations(&h) - s.translations));
	assert_broken(&h, &r, &s, what);
	assert_recovers(&h, 0, what);
	harness_close(&h);
}

Test(hostile_ring, H21_buffer_past_end_of_ram)
{
	bad_buffer(16 << 20, 16, 0, "past RAM");
}

Test(hostile_ring, H21_buffer_straddles_end_of_ram)
{
	bad_buffer((16 << 20) - 8, 16, VRING_DESC_F_WRITE, "straddling RAM end");
}

Test(hostile_ring, H21_buffer_length_0xffffffff)
{
	bad_buffer(0x100000, 0xFFFFFFFFu, 0, "length 0xffffffff");
}

Test(hostile_ring, H21_buffer_far_above_ram)
{
	bad_buffer(0x7FFFFFFFFFFF0000ULL, 64, VRING_DESC_F_WRITE, "far above RAM");
}

/* A hole in RAM (the sim refuses translation there). */
Test(hostile_ring, H21_buffer_in_ram_hole)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	struct snap s;
	struct vdev_sim_irqs irqs;
	uint64_t faults;
	uint16_t head;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = vdev_sim_alloc(h.sim, 8192, 4096);
	cr_assert_eq(vdev_sim_set_hole(h.sim, g + 4096, 4096, true), 0);
	put_desc(r.d, 0, g + 4000, 200, VRING_DESC_F_WRITE, 0);
	raw_push(&r, 0);
	vdev_sim_get_irqs(h.sim, &irqs);
	faults = irqs.translate_faults;
	snap_take(&h, &r, &s);
	cr_assert_eq(take1(&h, &head), -1, "buffer running into a hole accepted");
	vdev_sim_get_irqs(h.sim, &irqs);
	cr_assert_gt(irqs.translate_faults, faults);
	assert_broken(&h, &r, &s, "hole");
	cr_assert_eq(vdev_sim_set_hole(h.sim, g + 4096, 4096, false), 0);
	assert_recovers(&h, 0, "hole");
	harness_close(&h);
}

/*
 * A buffer on the device's own BAR (H13 and H21): refused as not RAM, and the
 * register model is never re-entered (no notify, no refused register access).
 */
Test(hostile_ring, H21_buffer_on_device_bar)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	struct snap s;
	struct vdev_virtio_stats st;
	uint16_t head;
	uint64_t bar;

	hopen_ring(&h, &o, &r);
	bar = vdev_drv_bar_addr(h.drv, VIRTIO_MODERN_MMIO_BAR_IDX);
	cr_assert_neq(bar, 0);
	/* the notify register of queue 0 */
	put_desc(r.d, 0, bar + VIRTIO_CAP_NOTIFY_OFFSET, 4, VRING_DESC_F_WRITE, 0);
	raw_push(&r, 0);
	snap_take(&h, &r, &s);
	cr_assert_eq(take1(&h, &head), -1);
	st = stats(&h);
	cr_assert_eq(st.notifies, s.st.notifies, "queue processing re-entered the notify register");
	cr_assert_eq(st.bad_accesses, s.st.bad_accesses);
	assert_broken(&h, &r, &s, "BAR buffer");
	assert_recovers(&h, 0, "BAR buffer");
	harness_close(&h);
}

/* Address 0 is ordinary RAM here (RAM starts at 0): accepted, data right. */
Test(hostile_ring, H21_buffer_at_address_0_is_ram)
{
	struct hopts o = {0};
	struct harness h;
	struct raw_ring r;
	uint8_t *zero, *out;
	uint64_t gout;
	uint32_t id, len;

	hopen_ring(&h, &o, &r);
	zero = vdev_sim_ptr(h.sim, 0, 16);
	cr_assert_not_null(zero);
	for (int i = 0; i < 16; i++)
		zero[i] = (uint8_t)(0x30 + i);
	gout = harness_buf(&h, 16, (void **)&out);
	put_desc(r.d, 0, 0, 16, VRING_DESC_F_NEXT, 1);
	put_desc(r.d, 1, gout, 16, VRING_DESC_F_WRITE, 0);
	raw_push(&r, 0);
	vdev_drv_kick(h.drv, 0);
	cr_assert_eq(raw_used_idx(&r), 1);
	raw_used_elem(&r, 0, &id, &len);
	cr_assert_eq(len, 16);
	cr_assert_eq(memcmp(zero, out, 16), 0);
	assert_not_broken(&h, 0, "address 0");
	harness_close(&h);
}

/*
 * Length 0: nothing to translate, so nothing is, even at an address that is no RAM
 * at all; the descriptor adds no iovec and the rest of the chain is served.
 */
Test(hostile_ring, H21_zero_length_descriptor_is_never_translated)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	struct iovec iov[8];
	uint16_t fl[8], head;
	uint8_t *a, *b;
	uint64_t ga, gb, t0;
	struct vdev_sim_irqs i0, i1;
	int n;

	hopen_ring(&h, &o, &r);
	ga = harness_buf(&h, 16, (void **)&a);
	gb = harness_buf(&h, 16, (void **)&b);
	put_desc(r.d, 0, ga, 16, VRING_DESC_F_NEXT, 1);
	put_desc(r.d, 1, 0xFFFFFFFFFFFFFFF0ULL, 0, VRING_DESC_F_NEXT, 2);
	put_desc(r.d, 2, 0x7000000000ULL, 0, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
	put_desc(r.d, 3, gb, 16, VRING_DESC_F_WRITE, 0);
	raw_push(&r, 0);
	vdev_sim_get_irqs(h.sim, &i0);
	t0 = stats(&h).descriptors;
	n = vq_getchain(&h.dev->vq[0], &head, iov, 8, fl);
	vdev_sim_get_irqs(h.sim, &i1);
	cr_assert_eq(n, 2, "zero-length descriptors gave %d iovecs", n);
	expect_iov(iov, fl, 0, a, 16, false, "length 0");
	expect_iov(iov, fl, 1, b, 16, true, "length 0");
	cr_assert_eq(i1.translations - i0.translations, 2, "a zero-length buffer was translated");
	cr_assert_eq(i1.translate_faults, i0.translate_faults);
	cr_assert_eq(stats(&h).descriptors - t0, 4);
	vq_relchain(&h.dev->vq[0], head, 0xFFFFFFFFu);
	vq_endchains(&h.dev->vq[0], 1);
	expect_used(&r, 0, 0, 16, "length 0");
	assert_not_broken(&h, 0, "length 0");
	harness_close(&h);
}

/* ---------------- H22 direction lies ---------------- */

/*
 * The device is told each iovec's direction exactly as the guest flagged it, so a
 * device that honours the flags never writes a readable buffer: a read-only chain
 * completes with 0 bytes and its memory is untouched.
 */
Test(hostile_ring, H22_direction_reported_and_honoured)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	struct iovec iov[8];
	uint16_t fl[8], head;
	uint8_t *a, *b, copy_a[32], copy_b[32];
	uint64_t ga, gb;
	uint32_t id, len;
	int n;

	hopen_ring(&h, &o, &r);
	ga = harness_buf(&h, 32, (void **)&a);
	gb = harness_buf(&h, 32, (void **)&b);
	for (int i = 0; i < 32; i++) {
		a[i] = (uint8_t)i;
		b[i] = (uint8_t)(0x80 + i);
	}
	memcpy(copy_a, a, 32);
	memcpy(copy_b, b, 32);

	/* a device-writable header then a read-only status byte would be R-after-W;
	 * here: only readable buffers where the device expected to write */
	put_desc(r.d, 0, ga, 32, VRING_DESC_F_NEXT, 1);
	put_desc(r.d, 1, gb, 32, 0, 0);
	raw_push(&r, 0);
	n = vq_getchain(&h.dev->vq[0], &head, iov, 8, fl);
	cr_assert_eq(n, 2);
	cr_assert_eq(fl[0] & VRING_DESC_F_WRITE, 0);
	cr_assert_eq(fl[1] & VRING_DESC_F_WRITE, 0);
	vq_retchain(&h.dev->vq[0]);
	cr_assert_eq(echo_dev_process(h.dev, 0), 1);
	raw_used_elem(&r, 0, &id, &len);
	cr_assert_eq(len, 0);
	cr_assert_eq(memcmp(a, copy_a, 32), 0, "device wrote a readable buffer");
	cr_assert_eq(memcmp(b, copy_b, 32), 0, "device wrote a readable buffer");

	/* only writable: nothing to echo, nothing written, length 0 */
	put_desc(r.d, 2, ga, 32, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
	put_desc(r.d, 3, gb, 32, VRING_DESC_F_WRITE, 0);
	raw_push(&r, 2);
	n = vq_getchain(&h.dev->vq[0], &head, iov, 8, fl);
	cr_assert_eq(n, 2);
	cr_assert_neq(fl[0] & VRING_DESC_F_WRITE, 0);
	cr_assert_neq(fl[1] & VRING_DESC_F_WRITE, 0);
	vq_retchain(&h.dev->vq[0]);
	cr_assert_eq(echo_dev_process(h.dev, 0), 1);
	expect_used(&r, 1, 2, 0, "directions");
	cr_assert_eq(memcmp(a, copy_a, 32), 0);
	assert_not_broken(&h, 0, "directions");
	harness_close(&h);
}

/* ---------------- H23 readable after writable ---------------- */

static void r_after_w(int variant, const char *what)
{
	struct hopts o = {.manual = true, .features = VIRTIO_RING_F_INDIRECT_DESC};
	struct harness h;
	struct raw_ring r;
	uint8_t *t;
	uint64_t g, gt;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 64, NULL);
	gt = harness_buf(&h, 64, (void **)&t);
	switch (variant) {
	case 0: /* direct W, R */
		put_desc(r.d, 0, g, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
		put_desc(r.d, 1, g + 16, 16, 0, 0);
		break;
	case 1: /* inside an indirect table: R, W, R */
		put_desc(t, 0, g, 16, VRING_DESC_F_NEXT, 1);
		put_desc(t, 1, g + 16, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
		put_desc(t, 2, g + 32, 16, 0, 0);
		put_desc(r.d, 0, gt, 48, VRING_DESC_F_INDIRECT, 0);
		break;
	default: /* direct W, then an indirect table that starts readable */
		put_desc(r.d, 0, g, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
		put_desc(t, 0, g + 16, 16, 0, 0);
		put_desc(r.d, 1, gt, 16, VRING_DESC_F_INDIRECT, 0);
		break;
	}
	raw_push(&r, 0);
	expect_refused(&h, &r, o.features, what);
	harness_close(&h);
}

Test(hostile_ring, H23_readable_after_writable_direct)
{
	r_after_w(0, "direct W,R");
}

Test(hostile_ring, H23_readable_after_writable_in_indirect_table)
{
	r_after_w(1, "indirect R,W,R");
}

Test(hostile_ring, H23_readable_after_writable_across_indirect)
{
	r_after_w(2, "W then indirect R");
}

/* ---------------- H24 indirect abuse ---------------- */

enum ind_case {
	IND_NO_FEATURE,
	IND_WITH_NEXT,
	IND_NESTED,
	IND_LEN_0,
	IND_LEN_NOT_16,
	IND_TOO_MANY_ENTRIES,
	IND_GIGABYTES,
	IND_NEXT_PAST_TABLE,
	IND_LOOP,
	IND_NOT_RAM,
	IND_TABLE_STRADDLES_RAM_END,
};

static void indirect_abuse(enum ind_case which, const char *what)
{
	struct hopts o = {.manual = true,
			  .features = which == IND_NO_FEATURE ? 0 : VIRTIO_RING_F_INDIRECT_DESC};
	struct harness h;
	struct raw_ring r;
	struct snap s;
	uint16_t head;
	uint8_t *t, *t2;
	uint64_t g, gt, gt2;

	hopen_ring(&h, &o, &r);
	cr_assert_eq(!!(vdev_drv_features(h.drv) & VIRTIO_RING_F_INDIRECT_DESC),
		     which != IND_NO_FEATURE);
	g = harness_buf(&h, 64, NULL);
	gt = harness_buf(&h, 16u * 64, (void **)&t);
	gt2 = harness_buf(&h, 64, (void **)&t2);
	/* a valid 2-entry table unless the case says otherwise */
	put_desc(t, 0, g, 16, VRING_DESC_F_NEXT, 1);
	put_desc(t, 1, g + 16, 16, VRING_DESC_F_WRITE, 0);
	put_desc(r.d, 0, gt, 32, VRING_DESC_F_INDIRECT, 0);
	switch (which) {
	case IND_NO_FEATURE:
		break;
	case IND_WITH_NEXT:
		put_desc(r.d, 0, gt, 32, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
		put_desc(r.d, 1, g + 32, 16, VRING_DESC_F_WRITE, 0);
		break;
	case IND_NESTED:
		put_desc(t2, 0, g + 32, 16, VRING_DESC_F_WRITE, 0);
		put_desc(t, 1, gt2, 16, VRING_DESC_F_INDIRECT, 0);
		break;
	case IND_LEN_0:
		put_desc(r.d, 0, gt, 0, VRING_DESC_F_INDIRECT, 0);
		break;
	case IND_LEN_NOT_16:
		put_desc(r.d, 0, gt, 24, VRING_DESC_F_INDIRECT, 0);
		break;
	case IND_TOO_MANY_ENTRIES:
		/* size + 1 entries, only the first two chained */
		put_desc(r.d, 0, gt, 16u * (r.size + 1), VRING_DESC_F_INDIRECT, 0);
		break;
	case IND_GIGABYTES:
		put_desc(r.d, 0, gt, 0x80000000u, VRING_DESC_F_INDIRECT, 0);
		break;
	case IND_NEXT_PAST_TABLE:
		put_desc(t, 0, g, 16, VRING_DESC_F_NEXT, 2); /* table has 2 entries */
		put_desc(t, 2, g + 16, 16, VRING_DESC_F_WRITE, 0); /* in memory, past len */
		break;
	case IND_LOOP:
		put_desc(t, 1, g + 16, 16, VRING_DESC_F_NEXT, 0);
		break;
	case IND_NOT_RAM:
		put_desc(r.d, 0, 16 << 20, 32, VRING_DESC_F_INDIRECT, 0);
		break;
	case IND_TABLE_STRADDLES_RAM_END: {
		/* entry 0 is the last 16 bytes of RAM and chains on to entry 1, past it */
		uint8_t *last = vdev_sim_ptr(h.sim, (16 << 20) - 16, 16);

		cr_assert_not_null(last);
		put_desc(last, 0, g, 16, VRING_DESC_F_NEXT, 1);
		put_desc(r.d, 0, (16 << 20) - 16, 32, VRING_DESC_F_INDIRECT, 0);
		break;
	}
	}
	raw_push(&r, 0);
	snap_take(&h, &r, &s);
	cr_assert_eq(take1(&h, &head), -1, "%s: not refused", what);
	cr_assert_leq(translations(&h) - s.translations, 4u * r.size, "%s: unbounded work", what);
	assert_broken(&h, &r, &s, what);
	assert_recovers(&h, o.features, what);
	harness_close(&h);
}

Test(hostile_ring, H24_indirect_without_feature)
{
	indirect_abuse(IND_NO_FEATURE, "no feature");
}

Test(hostile_ring, H24_indirect_with_next)
{
	indirect_abuse(IND_WITH_NEXT, "INDIRECT|NEXT");
}

Test(hostile_ring, H24_indirect_nested)
{
	indirect_abuse(IND_NESTED, "nested");
}

Test(hostile_ring, H24_indirect_table_length_0)
{
	indirect_abuse(IND_LEN_0, "length 0");
}

Test(hostile_ring, H24_indirect_table_length_not_multiple_of_16)
{
	indirect_abuse(IND_LEN_NOT_16, "length 24");
}

Test(hostile_ring, H24_indirect_table_more_entries_than_queue)
{
	indirect_abuse(IND_TOO_MANY_ENTRIES, "size+1 entries");
}

Test(hostile_ring, H24_indirect_table_gigabytes_long)
{
	indirect_abuse(IND_GIGABYTES, "2 GiB table");
}

Test(hostile_ring, H24_indirect_next_past_table)
{
	indirect_abuse(IND_NEXT_PAST_TABLE, "next past table");
}

Test(hostile_ring, H24_indirect_loop_inside_table)
{
	indirect_abuse(IND_LOOP, "loop in table");
}

Test(hostile_ring, H24_indirect_table_not_ram)
{
	indirect_abuse(IND_NOT_RAM, "table outside RAM");
}

Test(hostile_ring, H24_indirect_table_straddles_ram_end)
{
	indirect_abuse(IND_TABLE_STRADDLES_RAM_END, "table straddling RAM end");
}

/* ---------------- H25 tables inside the rings ---------------- */

/*
 * An indirect table placed in the used ring, where the device's own completion of
 * this very chain lands: the chain is parsed before, and its completion is right.
 */
Test(hostile_ring, H25_indirect_table_inside_used_ring)
{
	struct hopts o = {.features = VIRTIO_RING_F_INDIRECT_DESC};
	struct harness h;
	struct raw_ring r;
	uint8_t *in, *out;
	uint64_t gin, gout;

	hopen_ring(&h, &o, &r);
	gin = harness_buf(&h, 16, (void **)&in);
	gout = harness_buf(&h, 16, (void **)&out);
	for (int i = 0; i < 16; i++)
		in[i] = (uint8_t)(0xC0 + i);
	/* the table covers used ring elements 0..3 */
	put_desc(r.u + 4, 0, gin, 16, VRING_DESC_F_NEXT, 1);
	put_desc(r.u + 4, 1, gout, 16, VRING_DESC_F_WRITE, 0);
	put_desc(r.d, 0, r.used + 4, 32, VRING_DESC_F_INDIRECT, 0);
	raw_push(&r, 0);
	vdev_drv_kick(h.drv, 0);
	cr_assert_eq(h.dev->chain_errors, 0);
	cr_assert_eq(raw_used_idx(&r), 1);
	expect_used(&r, 0, 0, 16, "table in used ring");
	cr_assert_eq(memcmp(in, out, 16), 0);
	assert_not_broken(&h, 0, "table in used ring");
	assert_recovers(&h, o.features, "table in used ring");
	harness_close(&h);
}

/*
 * The chain's writable buffer is its own descriptor table entry: the echo device
 * overwrites the head descriptor with a hostile one while the chain is in flight.
 * The completion must use what the device parsed (16 writable bytes), not re-read
 * the now hostile descriptor.
 */
Test(hostile_ring, H25_chain_writes_over_its_own_descriptors)
{
	struct hopts o = {0};
	struct harness h;
	struct raw_ring r;
	uint8_t *in;
	uint64_t gin;

	hopen_ring(&h, &o, &r);
	gin = harness_buf(&h, 16, (void **)&in);
	/* what lands on descriptor 0: a writable self-loop of 4 GiB - 1 */
	put_desc(in, 0, 0, 0xFFFFFFFFu, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0);
	put_desc(r.d, 0, gin, 16, VRING_DESC_F_NEXT, 1);
	put_desc(r.d, 1, r.desc, 16, VRING_DESC_F_WRITE, 0);
	raw_push(&r, 0);
	vdev_drv_kick(h.drv, 0);
	cr_assert_eq(h.dev->chain_errors, 0);
	cr_assert_eq(memcmp(r.d, in, 16), 0, "echo did not land on the descriptor");
	cr_assert_eq(raw_used_idx(&r), 1);
	expect_used(&r, 0, 0, 16, "self-overwrite");
	assert_not_broken(&h, 0, "self-overwrite");
	/* the guest now offers the hostile descriptor: that one is refused */
	{
		struct snap s;

		raw_push(&r, 0);
		snap_take(&h, &r, &s);
		vdev_drv_kick(h.drv, 0);
		assert_broken(&h, &r, &s, "rewritten descriptor");
	}
	assert_recovers(&h, 0, "self-overwrite");
	harness_close(&h);
}

/* ---------------- H26 descriptors rewritten under the device ---------------- */

/* Rewriting a descriptor after the take changes nothing the device reports. */
Test(hostile_ring, H26_descriptor_rewritten_after_take)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	uint16_t head;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 64, NULL);
	put_desc(r.d, 0, g, 8, VRING_DESC_F_NEXT, 1);
	put_desc(r.d, 1, g + 16, 16, VRING_DESC_F_WRITE, 0);
	raw_push(&r, 0);
	cr_assert_eq(take1(&h, &head), 2);
	/* the guest grows the writable buffer and turns the readable one writable */
	put_desc(r.d, 0, g, 4096, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	put_desc(r.d, 1, g + 16, 0x100000, VRING_DESC_F_WRITE, 0);
	raw_avail_entry(&r, 0, 7);
	vq_relchain(&h.dev->vq[0], head, 0x100000);
	vq_endchains(&h.dev->vq[0], 1);
	expect_used(&r, 0, 0, 16, "rewrite after take");
	assert_not_broken(&h, 0, "rewrite after take");
	harness_close(&h);
}

static void hook_rewrite_desc(struct thost *t)
{
	/* the descriptor whose buffer is being translated becomes a hostile one */
	put_desc(t->hook_p, 0, 0xFFFFFFFFFFFFFF00ULL, 0xFFFFFFFFu,
		 VRING_DESC_F_WRITE | VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT, 0);
}

static uint64_t m_rd(struct pci_vdev *p, uint64_t off, int width)
{
	return virtio_pci_read(NULL, 0, p, VIRTIO_MODERN_MMIO_BAR_IDX, off, width);
}

static void m_wr(struct pci_vdev *p, uint64_t off, int width, uint64_t val)
{
	virtio_pci_write(NULL, 0, p, VIRTIO_MODERN_MMIO_BAR_IDX, off, width, val);
}

/* Queue 0 of a modern device brought up by hand through the common config. */
static void mini_setup(struct pci_vdev *p, struct vdev_sim *sim, uint16_t size,
		       uint64_t features, struct raw_ring *r)
{
	uint64_t base = vdev_sim_alloc(sim, 8192, 4096);
	uint8_t st = VIRTIO_CR_STATUS_ACK | VIRTIO_CR_STATUS_DRIVER;

	cr_assert_neq(base, 0);
	features |= VIRTIO_F_VERSION_1;
	m_wr(p, VIRTIO_COMMON_STATUS, 1, 0);
	m_wr(p, VIRTIO_COMMON_STATUS, 1, VIRTIO_CR_STATUS_ACK);
	m_wr(p, VIRTIO_COMMON_STATUS, 1, st);
	m_wr(p, VIRTIO_COMMON_GFSELECT, 4, 0);
	m_wr(p, VIRTIO_COMMON_GF, 4, (uint32_t)features);
	m_wr(p, VIRTIO_COMMON_GFSELECT, 4, 1);
	m_wr(p, VIRTIO_COMMON_GF, 4, (uint32_t)(features >> 32));
	st |= VIRTIO_CR_STATUS_FEATURES_OK;
	m_wr(p, VIRTIO_COMMON_STATUS, 1, st);
	cr_assert_eq(m_rd(p, VIRTIO_COMMON_STATUS, 1), st, "FEATURES_OK refused");
	r->size = size;
	r->desc = base;
	r->avail = base + 16u * size;
	r->used = base + 4096;
	r->d = vdev_sim_ptr(sim, r->desc, 16u * size);
	r->a = vdev_sim_ptr(sim, r->avail, 6u + 2u * size);
	r->u = vdev_sim_ptr(sim, r->used, 6u + 8u * size);
	cr_assert(r->d && r->a && r->u);
	memset(r->d, 0, 8192);
	m_wr(p, VIRTIO_COMMON_Q_SELECT, 2, 0);
	m_wr(p, VIRTIO_COMMON_Q_SIZE, 2, size);
	m_wr(p, VIRTIO_COMMON_Q_DESCLO, 4, (uint32_t)r->desc);
	m_wr(p, VIRTIO_COMMON_Q_DESCHI, 4, (uint32_t)(r->desc >> 32));
	m_wr(p, VIRTIO_COMMON_Q_AVAILLO, 4, (uint32_t)r->avail);
	m_wr(p, VIRTIO_COMMON_Q_AVAILHI, 4, (uint32_t)(r->avail >> 32));
	m_wr(p, VIRTIO_COMMON_Q_USEDLO, 4, (uint32_t)r->used);
	m_wr(p, VIRTIO_COMMON_Q_USEDHI, 4, (uint32_t)(r->used >> 32));
	m_wr(p, VIRTIO_COMMON_Q_ENABLE, 2, 1);
	cr_assert_eq(m_rd(p, VIRTIO_COMMON_Q_ENABLE, 2), 1, "queue not enabled");
	st |= VIRTIO_CR_STATUS_DRIVER_OK;
	m_wr(p, VIRTIO_COMMON_STATUS, 1, st);
	cr_assert_eq(m_rd(p, VIRTIO_COMMON_STATUS, 1), st);
}

/*
 * The guest rewrites a descriptor at the moment the device translates its buffer
 * (the host's translate callback plays the racing vCPU): each descriptor is read
 * exactly once, so the chain is the one that was there when it was read.
 */
static void rewrite_during_walk(bool indirect)
{
	struct vdev_sim_config scfg = {.size = sizeof(struct vdev_sim_config),
				       .ram_size = 16 << 20};
	struct echo_dev_config ecfg = {.qsize = 8, .manual = true,
				       .pci = {.mode = VDEV_PCI_MODERN}};
	struct vdev_sim *sim;
	struct echo_dev *dev;
	struct pci_vdev *pci;
	struct raw_ring r;
	struct iovec iov[8];
	uint16_t fl[8], head;
	uint8_t *a, *b, *t;
	uint64_t ga, gb, gt;
	int n;
	const char *what = indirect ? "indirect entry" : "descriptor";

	cr_assert_eq(vdev_sim_create(&scfg, &sim), 0);
	memset(&th, 0, sizeof(th));
	th.sim = sim;
	th.ram_size = scfg.ram_size;
	cr_assert_eq(vdev_vmctx_create(&th_ops, &th, &th.ctx), 0);
	cr_assert_eq(echo_dev_create(th.ctx, "echo0", &ecfg, &dev), 0);
	pci = echo_dev_pci(dev);
	mini_setup(pci, sim, 8, VIRTIO_RING_F_INDIRECT_DESC, &r);

	ga = vdev_sim_alloc(sim, 32, 16);
	gb = vdev_sim_alloc(sim, 32, 16);
	gt = vdev_sim_alloc(sim, 32, 16);
	a = vdev_sim_ptr(sim, ga, 32);
	b = vdev_sim_ptr(sim, gb, 32);
	t = vdev_sim_ptr(sim, gt, 32);
	for (int i = 0; i < 32; i++)
		a[i] = (uint8_t)(i + 1);
	memset(b, 0, 32);
	if (indirect) {
		put_desc(t, 0, ga, 32, VRING_DESC_F_NEXT, 1);
		put_desc(t, 1, gb, 32, VRING_DESC_F_WRITE, 0);
		put_desc(r.d, 4, gt, 32, VRING_DESC_F_INDIRECT, 0);
		th.hook_p = t;
	} else {
		put_desc(r.d, 4, ga, 32, VRING_DESC_F_NEXT, 6);
		put_desc(r.d, 6, gb, 32, VRING_DESC_F_WRITE, 0);
		th.hook_p = r.d + 16 * 4;
	}
	th.hook_gpa = ga;
	th.hook = hook_rewrite_desc;
	raw_push(&r, 4);
	n = vq_getchain(&dev->vq[0], &head, iov, 8, fl);
	cr_assert_null(th.hook, "%s: buffer never translated", what);
	cr_assert_eq(n, 2, "%s: rewritten during the walk: %d iovecs", what, n);
	cr_assert_eq(head, 4);
	expect_iov(iov, fl, 0, a, 32, false, what);
	expect_iov(iov, fl, 1, b, 32, true, what);
	vq_relchain(&dev->vq[0], head, 0xFFFFFFFFu);
	vq_endchains(&dev->vq[0], 1);
	expect_used(&r, 0, 4, 32, what);
	cr_assert_eq(raw_used_idx(&r), 1);
	cr_assert_eq(dev->vq[0].flags & VQ_BROKED, 0, "%s: queue broken", what);
	cr_assert_eq(m_rd(pci, VIRTIO_COMMON_STATUS, 1) & VIRTIO_CR_STATUS_NEEDS_RESET, 0);
	/* the queue interrupt arrived over INTx */
	cr_assert_eq(th.intx_raises, 1);
	cr_assert_eq(m_rd(pci, VIRTIO_CAP_ISR_OFFSET, 1), VIRTIO_CR_ISR_QUEUES);
	echo_dev_destroy(dev);
	vdev_vmctx_destroy(th.ctx);
	vdev_sim_destroy(sim);
}

Test(hostile_ring, H26_descriptor_rewritten_during_walk)
{
	rewrite_during_walk(false);
}

Test(hostile_ring, H26_indirect_entry_rewritten_during_walk)
{
	rewrite_during_walk(true);
}

/* ---------------- H27 guest writes the used ring ---------------- */

Test(hostile_ring, H27_guest_scribbles_used_idx)
{
	struct hopts o = {.features = VIRTIO_RING_F_EVENT_IDX};
	struct harness h;
	struct raw_ring r;
	uint64_t g;
	uint32_t id, len;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	for (uint16_t i = 0; i < r.size; i++)
		put_desc(r.d, i, g, 16, VRING_DESC_F_WRITE, 0);
	for (uint16_t i = 0; i < 3; i++)
		raw_push(&r, i);
	vdev_drv_kick(h.drv, 0);
	cr_assert_eq(raw_used_idx(&r), 3);

	/* the guest scribbles over used->idx, used->flags, the elements, avail_event */
	put16(r.u, 0xFFFF);
	put16(r.u + 2, 100);
	memset(r.u + 4, 0xA5, 8u * r.size);
	put16(r.u + 4 + 8u * r.size, 0x1234);

	raw_push(&r, 5);
	vdev_drv_kick(h.drv, 0);
	cr_assert_eq(h.dev->chain_errors, 0);
	cr_assert_eq(h.dev->vq[0].used_idx, 4, "device index followed the guest's");
	cr_assert_eq(raw_used_idx(&r), 4, "used->idx %u, device wrote its own 4", raw_used_idx(&r));
	expect_used(&r, 3, 5, 0, "used scribble");
	/* slot 100 % size (= 4) was not written */
	raw_used_elem(&r, 100, &id, &len);
	cr_assert_eq(id, 0xA5A5A5A5u);
	assert_not_broken(&h, 0, "used scribble");
	harness_close(&h);
}

/* ---------------- H28 hostile EVENT_IDX values ---------------- */

/*
 * used_event stale, equal, far behind, far ahead or 0xFFFF: the wrapping comparison
 * decides exactly, and nothing breaks.
 */
Test(hostile_ring, H28_event_idx_hostile_used_event)
{
	struct hopts o = {.manual = true, .features = VIRTIO_RING_F_EVENT_IDX};
	struct harness h;
	struct raw_ring r;
	uint64_t g;
	uint16_t head;
	struct virtio_vq_info *vq;

	hopen_ring(&h, &o, &r);
	vq = &h.dev->vq[0];
	g = harness_buf(&h, 16, NULL);
	for (uint16_t i = 0; i < r.size; i++)
		put_desc(r.d, i, g, 16, VRING_DESC_F_WRITE, 0);
	(void)vdev_drv_read_isr(h.drv);
	for (int round = 0; round < 400; round++) {
		uint16_t old = vq->used_idx, new_idx, ev;
		int k = 1 + round % 3;
		uint8_t isr;

		switch (round % 8) {
		case 0: ev = 0xFFFF; break;
		case 1: ev = (uint16_t)(old - 1); break;       /* stale */
		case 2: ev = old; break;                       /* equal: next one */
		case 3: ev = (uint16_t)(old - 0x8000); break;  /* far behind */
		case 4: ev = (uint16_t)(old + 0x8000); break;  /* far ahead */
		case 5: ev = (uint16_t)(old + (uint16_t)k); break; /* just not reached */
		case 6: ev = (uint16_t)(old + (uint16_t)k - 1); break; /* the last one */
		default: ev = (uint16_t)(round * 2654435761u); break;
		}
		for (int i = 0; i < k; i++)
			raw_push(&r, (uint16_t)i);
		for (int i = 0; i < k; i++) {
			cr_assert_eq(take1(&h, &head), 1);
			vq_relchain(vq, head, 16);
		}
		new_idx = vq->used_idx;
		raw_set_used_event(&r, ev);
		vq_endchains(vq, 0);
		isr = vdev_drv_read_isr(h.drv);
		cr_assert_eq(!!(isr & VIRTIO_CR_ISR_QUEUES), event_crossed(ev, new_idx, old),
			     "round %d: used_event %u, used %u -> %u: ISR 0x%02x", round, ev, old,
			     new_idx, isr);
	}
	assert_not_broken(&h, 0, "event values");
	harness_close(&h);
}

/* Without EVENT_IDX only bit 0 of avail->flags counts; reserved bits are ignored. */
Test(hostile_ring, H28_avail_flags_reserved_bits_ignored)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	uint64_t g;
	uint16_t head;
	static const uint16_t flags[] = {0xFFFE, 0xFFFF, 0x8000, 0x0001};
	static const bool want[] = {true, false, true, false};

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	put_desc(r.d, 0, g, 16, VRING_DESC_F_WRITE, 0);
	(void)vdev_drv_read_isr(h.drv);
	for (int i = 0; i < 4; i++) {
		uint8_t isr;

		put16(r.a, flags[i]);
		raw_push(&r, 0);
		cr_assert_eq(take1(&h, &head), 1);
		vq_relchain(&h.dev->vq[0], head, 1);
		vq_endchains(&h.dev->vq[0], 0);
		isr = vdev_drv_read_isr(h.drv);
		cr_assert_eq(!!(isr & VIRTIO_CR_ISR_QUEUES), want[i], "avail flags 0x%04x: ISR 0x%02x",
			     flags[i], isr);
	}
	assert_not_broken(&h, 0, "avail flags");
	harness_close(&h);
}

/* ---------------- H29 iovec overflow ---------------- */

/*
 * One 1 MiB buffer in 512-byte host fragments (2048 of them): broken at the 64-iovec
 * cap, after at most 64 translations.
 */
Test(hostile_ring, H29_iovec_overflow_breaks_at_cap)
{
	struct hopts o = {.manual = true, .sim_frag = 512};
	struct harness h;
	struct raw_ring r;
	struct snap s;
	uint16_t head;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = vdev_sim_alloc(h.sim, 1 << 20, 4096);
	cr_assert_neq(g, 0);
	put_desc(r.d, 0, g, 1 << 20, 0, 0);
	raw_push(&r, 0);
	snap_take(&h, &r, &s);
	cr_assert_eq(take1(&h, &head), -1, "2048 fragments did not overflow 64 iovecs");
	cr_assert_leq(translations(&h) - s.translations, ECHO_MAX_IOV + 1,
		      "%llu translations for a 64-iovec cap",
		      (unsigned long long)(translations(&h) - s.translations));
	assert_broken(&h, &r, &s, "iovec overflow");
	assert_recovers(&h, 0, "iovec overflow");
	harness_close(&h);
}

/* Exactly n_iov fragments fit; one byte more breaks (sim fragmentation 512). */
Test(hostile_ring, H29_exactly_n_iov_fragments)
{
	struct hopts o = {.manual = true, .sim_frag = 512};
	struct harness h;
	struct raw_ring r;
	struct snap s;
	uint16_t head;
	struct iovec iov[ECHO_MAX_IOV];
	uint64_t g;
	int n;

	hopen_ring(&h, &o, &r);
	g = vdev_sim_alloc(h.sim, ECHO_MAX_IOV * 512 + 512, 512);
	cr_assert_neq(g, 0);
	put_desc(r.d, 0, g, ECHO_MAX_IOV * 512, VRING_DESC_F_WRITE, 0);
	put_desc(r.d, 1, g, ECHO_MAX_IOV * 512 + 1, VRING_DESC_F_WRITE, 0);
	raw_push(&r, 0);
	n = take(&h, 0, &head, iov, ECHO_MAX_IOV);
	cr_assert_eq(n, ECHO_MAX_IOV, "64 fragments gave %d", n);
	vq_relchain(&h.dev->vq[0], head, 0);
	vq_endchains(&h.dev->vq[0], 1);
	raw_push(&r, 1);
	snap_take(&h, &r, &s);
	cr_assert_eq(take(&h, 0, &head, iov, ECHO_MAX_IOV), -1, "65 fragments accepted");
	assert_broken(&h, &r, &s, "65 fragments");
	assert_recovers(&h, 0, "65 fragments");
	harness_close(&h);
}

/* The echo device's own path: chain_errors grows and the queue breaks. */
Test(hostile_ring, H29_iovec_overflow_via_echo)
{
	struct hopts o = {.sim_frag = 512};
	struct harness h;
	struct raw_ring r;
	struct snap s;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = vdev_sim_alloc(h.sim, 80 * 512, 512);
	cr_assert_neq(g, 0);
	/* 40 + 40 fragments */
	put_desc(r.d, 0, g, 40 * 512, VRING_DESC_F_NEXT, 1);
	put_desc(r.d, 1, g + 40 * 512, 40 * 512, VRING_DESC_F_WRITE, 0);
	raw_push(&r, 0);
	snap_take(&h, &r, &s);
	vdev_drv_kick(h.drv, 0);
	cr_assert_eq(h.dev->chain_errors, s.chain_errors + 1);
	assert_broken(&h, &r, &s, "echo iovec overflow");
	assert_recovers(&h, 0, "echo iovec overflow");
	harness_close(&h);
}

/* ---------------- H30 flooding ---------------- */

/*
 * The guest republishes the same completed heads over and over without ever reaping
 * the used ring: the device keeps up, nothing stays in flight, work per kick is
 * bounded by the queue size.
 */
Test(hostile_ring, H30_full_queue_never_reaped)
{
	struct hopts o = {0};
	struct harness h;
	struct raw_ring r;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	for (uint16_t i = 0; i < r.size; i++)
		put_desc(r.d, i, g, 16, VRING_DESC_F_WRITE, 0);
	for (int round = 1; round <= 2000; round++) {
		uint64_t t0 = translations(&h);

		for (uint16_t i = 0; i < r.size; i++)
			raw_push(&r, i);
		vdev_drv_kick(h.drv, 0);
		cr_assert_leq(translations(&h) - t0, r.size, "round %d: unbounded work", round);
		cr_assert_eq(h.dev->vq[0].n_inflight, 0);
		cr_assert_eq(raw_used_idx(&r), (uint16_t)(round * r.size));
	}
	cr_assert_eq(h.dev->echoed, 2000u * r.size);
	assert_not_broken(&h, 0, "flood");
	harness_close(&h);
}

/* A backend that never completes: in flight stays <= size, and the guest cannot
 * push more work past it. */
Test(hostile_ring, H30_inflight_bounded_by_queue_size)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	struct snap s;
	uint16_t head;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	for (uint16_t i = 0; i < r.size; i++) {
		put_desc(r.d, i, g, 16, VRING_DESC_F_WRITE, 0);
		raw_push(&r, i);
	}
	for (uint16_t i = 0; i < r.size; i++)
		cr_assert_eq(take1(&h, &head), 1);
	cr_assert_eq(take1(&h, &head), 0);
	cr_assert_eq(h.dev->vq[0].n_inflight, r.size);
	/* the guest republishes the in-flight heads */
	for (uint16_t i = 0; i < r.size; i++)
		raw_push(&r, i);
	snap_take(&h, &r, &s);
	cr_assert_eq(take1(&h, &head), -1);
	cr_assert_leq(h.dev->vq[0].n_inflight, r.size);
	assert_broken(&h, &r, &s, "republished in-flight heads");
	assert_recovers(&h, 0, "republished in-flight heads");
	harness_close(&h);
}

/* Every queue full and kicked at once: each one is served completely. */
Test(hostile_ring, H30_many_queues_kicked_at_once)
{
	struct hopts o = {.nvq = ECHO_MAX_QUEUES};
	struct harness h;
	struct raw_ring r[ECHO_MAX_QUEUES];
	uint64_t g;

	hopen(&h, &o);
	g = harness_buf(&h, 16, NULL);
	for (int round = 1; round <= 50; round++) {
		for (uint16_t q = 0; q < ECHO_MAX_QUEUES; q++) {
			if (round == 1) {
				raw_ring_init(&h, q, &r[q]);
				for (uint16_t i = 0; i < r[q].size; i++)
					put_desc(r[q].d, i, g, 16, VRING_DESC_F_WRITE, 0);
			}
			for (uint16_t i = 0; i < r[q].size; i++)
				raw_push(&r[q], i);
		}
		for (uint16_t q = 0; q < ECHO_MAX_QUEUES; q++)
			vdev_drv_kick(h.drv, q);
		for (uint16_t q = 0; q < ECHO_MAX_QUEUES; q++) {
			cr_assert_eq(raw_used_idx(&r[q]), (uint16_t)(round * r[q].size),
				     "queue %u starved in round %d", q, round);
			cr_assert_eq(h.dev->vq[q].n_inflight, 0);
		}
	}
	for (uint16_t q = 0; q < ECHO_MAX_QUEUES; q++)
		assert_not_broken(&h, q, "many queues");
	harness_close(&h);
}

/* ---------------- H31 chains the device cannot use ---------------- */

/* Only readable segments: the echo device completes with length 0; nothing leaks. */
Test(hostile_ring, H31_readable_only_chain_completes_len_0)
{
	struct hopts o = {0};
	struct harness h;
	struct vdev_drv_seg segs[2];
	void *tok = NULL;
	uint32_t len = 1;
	uint64_t g;

	hopen(&h, &o);
	g = harness_buf(&h, 32, NULL);
	segs[0] = (struct vdev_drv_seg){.gpa = g, .len = 16};
	segs[1] = (struct vdev_drv_seg){.gpa = g + 16, .len = 16};
	for (int round = 0; round < 3 * 8; round++) {
		cr_assert_eq(vdev_drv_enqueue(h.drv, 0, segs, 2, false, segs), 0, "round %d", round);
		vdev_drv_kick(h.drv, 0);
		cr_assert_eq(vdev_drv_dequeue(h.drv, 0, &tok, &len), 1);
		cr_assert_eq(tok, segs);
		cr_assert_eq(len, 0);
		cr_assert_eq(h.dev->vq[0].n_inflight, 0, "head leaked");
	}
	cr_assert_eq(vdev_drv_queue_free(h.drv, 0), 8);
	assert_not_broken(&h, 0, "read-only");
	roundtrip_ok(&h, 0, "after read-only chains");
	harness_close(&h);
}

/*
 * A chain of only zero-length descriptors yields no iovec: vq_getchain completes it
 * at once with length 0 and hands out the next chain instead.
 */
Test(hostile_ring, H31_zero_length_only_chain_completed)
{
	struct hopts o = {.manual = true, .features = VIRTIO_RING_F_INDIRECT_DESC};
	struct harness h;
	struct raw_ring r;
	uint16_t head;
	uint64_t g, gt;
	uint8_t *t;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	gt = harness_buf(&h, 32, (void **)&t);
	put_desc(r.d, 0, g, 0, VRING_DESC_F_NEXT, 1);
	put_desc(r.d, 1, g, 0, VRING_DESC_F_WRITE, 0);
	put_desc(t, 0, g, 0, VRING_DESC_F_NEXT, 1);
	put_desc(t, 1, g, 0, VRING_DESC_F_WRITE, 0);
	put_desc(r.d, 2, gt, 32, VRING_DESC_F_INDIRECT, 0);
	put_desc(r.d, 3, g, 16, VRING_DESC_F_WRITE, 0);
	raw_push(&r, 0);
	raw_push(&r, 2);
	raw_push(&r, 3);
	cr_assert_eq(take1(&h, &head), 1, "the next real chain was not handed out");
	cr_assert_eq(head, 3);
	cr_assert_eq(raw_used_idx(&r), 2, "empty chains not completed at once");
	expect_used(&r, 0, 0, 0, "empty chains");
	expect_used(&r, 1, 2, 0, "empty chains");
	cr_assert_eq(h.dev->vq[0].n_inflight, 1);
	vq_relchain(&h.dev->vq[0], head, 16);
	vq_endchains(&h.dev->vq[0], 1);
	cr_assert_eq(h.dev->vq[0].n_inflight, 0);

	/* an empty chain with nothing after it: 0, and still completed */
	raw_push(&r, 0);
	cr_assert_eq(take1(&h, &head), 0);
	cr_assert_eq(raw_used_idx(&r), 4);
	expect_used(&r, 3, 0, 0, "empty chains");
	cr_assert_eq(h.dev->vq[0].n_inflight, 0, "empty chain leaked");
	assert_not_broken(&h, 0, "empty chains");
	harness_close(&h);
}

/* A full ring of empty chains is drained in bounded work, and nothing leaks. */
Test(hostile_ring, H31_ring_full_of_empty_chains)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	uint16_t head;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	for (int round = 1; round <= 100; round++) {
		for (uint16_t i = 0; i < r.size; i++) {
			put_desc(r.d, i, g, 0, VRING_DESC_F_WRITE, 0);
			raw_push(&r, i);
		}
		cr_assert_eq(take1(&h, &head), 0);
		cr_assert_eq(raw_used_idx(&r), (uint16_t)(round * r.size));
		cr_assert_eq(h.dev->vq[0].n_inflight, 0);
	}
	assert_not_broken(&h, 0, "empty ring");
	harness_close(&h);
}
