/* SPDX-License-Identifier: BSD-3-Clause */
/* The set-up and outcome checks the hostile ring suites share (HOSTILE.md H14-H31). */
#include "hostile_ring_checks.h"

#include <criterion/criterion.h>
#include <string.h>



void hopen(struct harness *h, const struct hopts *o)
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
void hopen_ring(struct harness *h, const struct hopts *o, struct raw_ring *r)
{
	hopen(h, o);
	raw_ring_init(h, 0, r);
}

uint64_t log_count(struct harness *h)
{
	return vdev_sim_log_count(h->sim);
}

uint64_t intx_raises(struct harness *h)
{
	struct vdev_sim_irqs irqs;

	vdev_sim_get_irqs(h->sim, &irqs);
	return irqs.intx_raises;
}

uint64_t translations(struct harness *h)
{
	struct vdev_sim_irqs irqs;

	vdev_sim_get_irqs(h->sim, &irqs);
	return irqs.translations;
}

/* ---------------- outcome checks ---------------- */

/* Take a snapshot just before the hostile action; clears a pending ISR first so
 * the config interrupt the break raises is visible on its own. */
void snap_take(struct harness *h, const struct raw_ring *r, struct snap *s)
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

int take(struct harness *h, uint16_t q, uint16_t *head, struct iovec *iov, int n)
{
	uint16_t fl[256];

	cr_assert_leq(n, 256);
	return vq_getchain(&h->dev->vq[q], head, iov, n, fl);
}

int take1(struct harness *h, uint16_t *head)
{
	struct iovec iov[ECHO_MAX_IOV];

	return take(h, 0, head, iov, ECHO_MAX_IOV);
}

/* Everything "broken" means, for queue q, against the snapshot. */
void assert_broken_q(struct harness *h, uint16_t q, const struct raw_ring *r,
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

void assert_broken(struct harness *h, const struct raw_ring *r, const struct snap *s,
		   const char *what)
{
	assert_broken_q(h, 0, r, s, what);
}

void assert_not_broken(struct harness *h, uint16_t q, const char *what)
{
	cr_assert_eq(h->dev->vq[q].flags & VQ_BROKED, 0, "%s: queue broken", what);
	cr_assert_eq(vdev_drv_read_status(h->drv) & VIRTIO_CR_STATUS_NEEDS_RESET, 0,
		     "%s: device needs reset", what);
}

/* One echo round trip through the driver, kicking and serving as the mode needs. */
void roundtrip_ok(struct harness *h, uint16_t q, const char *what)
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
void assert_recovers(struct harness *h, uint64_t features, const char *what)
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
void expect_refused(struct harness *h, const struct raw_ring *r, uint64_t features,
		    const char *what)
{
	struct snap s;
	uint16_t head;

	snap_take(h, r, &s);
	cr_assert_eq(take1(h, &head), -1, "%s: not refused", what);
	assert_broken(h, r, &s, what);
	assert_recovers(h, features, what);
}
