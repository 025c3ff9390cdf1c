/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Interrupt and kick suppression on the split ring: EVENT_IDX (used_event set by the
 * driver, avail_event published by the device), both across the 0xFFFF -> 0 wrap of
 * the 16-bit indices, and the NO_INTERRUPT flag and NOTIFY_ON_EMPTY without it.
 * Interrupts are counted per MSI-X vector (exact) or through the ISR over INTx.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"

/* ---------------- helpers ---------------- */

static struct test_rng rng = {0xC0FFEEu};

/* The tests that need only one combo use one of these. */
static const struct fx_mode modern = {VDEV_PCI_MODERN, VDEV_DRV_MODERN, "modern"};
static const struct fx_mode legacy = {VDEV_PCI_LEGACY, VDEV_DRV_LEGACY, "legacy"};

/* Open a combo with MSI-X, echo in manual mode (the test serves the ring). */
static void open_msix(struct harness *h, const struct fx_mode *c, uint16_t qsize, int nvq,
		      bool manual, uint64_t features)
{
	struct echo_dev_config ecfg = {.qsize = qsize, .nvq = nvq, .manual = manual};
	int rc;

	ecfg.pci.msix = true;
	open_combo(h, c, &ecfg);
	cr_assert(vdev_pci_msix_enabled(echo_dev_pci(h->dev)), "%s: MSI-X not enabled", c->name);
	rc = harness_ready(h, features, qsize);
	cr_assert_eq(rc, 0, "%s: harness_ready: %d", c->name, rc);
	cr_assert_eq(vdev_drv_features(h->drv) & features, features,
		     "%s: features not negotiated", c->name);
}

static void open_intx(struct harness *h, const struct fx_mode *c, uint16_t qsize,
		      bool manual, uint64_t features)
{
	struct echo_dev_config ecfg = {.qsize = qsize, .manual = manual};

	open_ready(h, c, &ecfg, features, qsize);
	cr_assert_eq(vdev_drv_features(h->drv) & features, features,
		     "%s: features not negotiated", c->name);
}

/* Queue q's interrupts so far (harness_ready gives queue q vector q + 1). */
static uint64_t qirqs(struct harness *h, uint16_t q)
{
	return vdev_sim_msi_count(h->sim, (uint32_t)q + 1);
}

/* Enqueue n one-descriptor writable requests (buffers shared; content irrelevant). */
static void enqueue_n(struct harness *h, uint16_t q, uint64_t gpa, int n)
{
	struct vdev_drv_seg seg = {.gpa = gpa, .len = 8, .writable = true};

	for (int i = 0; i < n; i++) {
		int rc = vdev_drv_enqueue(h->drv, q, &seg, 1, false, (void *)(uintptr_t)(i + 1));
		cr_assert_eq(rc, 0, "enqueue %d of %d: %d", i, n, rc);
	}
}

/* Device side: take and complete n chains, without vq_endchains(). */
static void serve_n(struct harness *h, uint16_t q, int n)
{
	struct virtio_vq_info *vq = &h->dev->vq[q];

	for (int i = 0; i < n; i++) {
		struct iovec iov[4];
		uint16_t head;
		int got = vq_getchain(vq, &head, iov, 4, NULL);

		cr_assert_eq(got, 1, "chain %d of %d: vq_getchain %d", i, n, got);
		vq_relchain(vq, head, 8);
	}
}

/* ---------------- used_event ---------------- */

/*
 * used_event chosen around (and far from) the device's used index, batch after batch,
 * until the 16-bit used index has wrapped: exactly one MSI-X message when the index
 * crossed used_event in that batch, none otherwise. Every combo.
 */
Test(vq_event_idx, used_event_crossing_exact_across_wrap, .timeout = 60)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		struct raw_ring r;
		struct virtio_vq_info *vq;
		uint64_t buf, total = 0, expect_irqs = 0, irqs0;
		struct vdev_virtio_stats st0, st;
		bool wrapped = false;

		open_msix(&h, c, 16, 1, true, VIRTIO_RING_F_EVENT_IDX);
		raw_ring_init(&h, 0, &r);
		vq = &h.dev->vq[0];
		buf = harness_buf(&h, 8, NULL);
		irqs0 = qirqs(&h, 0);
		vdev_virtio_get_stats(&h.dev->base, &st0);
		while (total < 65536 + 3000) {
			int k = 1 + (int)(rng_next(&rng) % r.size);
			uint16_t old = vq->used_idx, new_idx = (uint16_t)(old + k), ev;
			uint64_t before = qirqs(&h, 0);

			switch (rng_next(&rng) % 8) {
			case 0: ev = (uint16_t)(old + rng_next(&rng) % (uint32_t)k); break; /* inside: fire */
			case 1: ev = new_idx; break;                   /* just past: no */
			case 2: ev = (uint16_t)(old - 1); break;       /* stale: no */
			case 3: ev = old; break;                       /* first one: fire */
			case 4: ev = (uint16_t)(new_idx - 1); break;   /* last one: fire */
			case 5: ev = 0xFFFF; break;
			case 6: ev = (uint16_t)(old + 0x8000); break;  /* far away */
			default: ev = (uint16_t)rng_next(&rng); break;
			}
			enqueue_n(&h, 0, buf, k);
			serve_n(&h, 0, k);
			cr_assert_eq(vq->used_idx, new_idx);
			/* written after the driver's own bookkeeping, right before the decision */
			raw_set_used_event(&r, ev);
			vq_endchains(vq, 0);
			cr_assert_eq(qirqs(&h, 0) - before, event_crossed(ev, new_idx, old) ? 1u : 0u,
				     "%s: used %u -> %u, used_event %u: %llu interrupts", c->name, old,
				     new_idx, ev, (unsigned long long)(qirqs(&h, 0) - before));
			expect_irqs += event_crossed(ev, new_idx, old);
			if (new_idx < old)
				wrapped = true;
			cr_assert_eq(dequeue_all(&h, 0), k);
			total += (uint64_t)k;
		}
		cr_assert(wrapped, "%s: the used index never wrapped", c->name);
		cr_assert_eq(qirqs(&h, 0) - irqs0, expect_irqs);
		vdev_virtio_get_stats(&h.dev->base, &st);
		cr_assert_eq(st.interrupts - st0.interrupts, expect_irqs, "%s: stats.interrupts",
			     c->name);
		cr_assert_gt(st.interrupts_suppressed, st0.interrupts_suppressed);
		assert_healthy(&h, c->name);
		harness_close(&h);
	}
}

/*
 * The driver's own calls: enable_irq asks for the next completion; with EVENT_IDX
 * disable_irq leaves used_event where it was (one more interrupt when the index
 * passes it, then silence), and enable_irq re-arms it.
 */
Test(vq_event_idx, driver_enable_disable_irq)
{
	struct harness h;
	struct raw_ring r;
	struct virtio_vq_info *vq;
	uint64_t buf, base;

	open_msix(&h, &modern, 16, 1, true, VIRTIO_RING_F_EVENT_IDX);
	raw_ring_init(&h, 0, &r);
	vq = &h.dev->vq[0];
	buf = harness_buf(&h, 8, NULL);
	base = qirqs(&h, 0);

	vdev_drv_enable_irq(h.drv, 0);
	cr_assert_eq(raw_used_event(&r), 0);
	enqueue_n(&h, 0, buf, 1);
	serve_n(&h, 0, 1);
	vq_endchains(vq, 1);
	cr_assert_eq(qirqs(&h, 0) - base, 1, "no interrupt at used_event");
	cr_assert_eq(dequeue_all(&h, 0), 1);

	/* the driver re-armed at 1 while reaping: the next completion interrupts */
	cr_assert_eq(raw_used_event(&r), 1);
	enqueue_n(&h, 0, buf, 2);
	serve_n(&h, 0, 2);
	vq_endchains(vq, 1);
	cr_assert_eq(qirqs(&h, 0) - base, 2);
	cr_assert_eq(dequeue_all(&h, 0), 2);

	/* interrupts off: used_event stays at 3; this batch passes it once... */
	vdev_drv_disable_irq(h.drv, 0);
	cr_assert_eq(raw_used_event(&r), 3);
	enqueue_n(&h, 0, buf, 3);
	serve_n(&h, 0, 3);
	vq_endchains(vq, 1);
	cr_assert_eq(qirqs(&h, 0) - base, 3);
	cr_assert_eq(dequeue_all(&h, 0), 3);
	/* ...and later batches are silent */
	for (int i = 0; i < 20; i++) {
		enqueue_n(&h, 0, buf, 1 + i % 5);
		serve_n(&h, 0, 1 + i % 5);
		vq_endchains(vq, 1);
		cr_assert_eq(dequeue_all(&h, 0), 1 + i % 5);
	}
	cr_assert_eq(qirqs(&h, 0) - base, 3, "interrupts while disabled");
	cr_assert_eq(raw_used_event(&r), 3, "driver moved used_event while disabled");

	/* re-enabled: the next completion interrupts again */
	vdev_drv_enable_irq(h.drv, 0);
	cr_assert_eq(raw_used_event(&r), vq->used_idx);
	enqueue_n(&h, 0, buf, 1);
	serve_n(&h, 0, 1);
	vq_endchains(vq, 1);
	cr_assert_eq(qirqs(&h, 0) - base, 4);
	assert_healthy(&h, "enable/disable");
	harness_close(&h);
}

/*
 * With used_event parked at 100 the used index passes it once per 65536 completions:
 * 140000 completions make exactly three interrupts, the later two after wraps.
 */
Test(vq_event_idx, parked_used_event_fires_once_per_wrap, .timeout = 60)
{
	struct harness h;
	struct raw_ring r;
	uint64_t buf, base;
	uint32_t total = 0;

	/* the echo device serves each kick itself and ends the chains once */
	open_msix(&h, &modern, 16, 1, false, VIRTIO_RING_F_EVENT_IDX);
	raw_ring_init(&h, 0, &r);
	buf = harness_buf(&h, 8, NULL);
	vdev_drv_disable_irq(h.drv, 0);
	raw_set_used_event(&r, 100);
	base = qirqs(&h, 0);
	while (total < 140000) {
		enqueue_n(&h, 0, buf, r.size);
		vdev_drv_kick(h.drv, 0);
		cr_assert_eq(dequeue_all(&h, 0), r.size);
		total += r.size;
		/* 100 is crossed by the batch that takes the index past it */
		if (total == 112 || total == 112 + 65536 || total == 112 + 2 * 65536)
			cr_assert_eq(qirqs(&h, 0) - base,
				     1 + (total - 112) / 65536, "no interrupt at %u", total);
	}
	cr_assert_eq(h.dev->echoed, total);
	cr_assert_eq(qirqs(&h, 0) - base, 3, "%llu interrupts for three crossings",
		     (unsigned long long)(qirqs(&h, 0) - base));
	assert_healthy(&h, "parked");
	harness_close(&h);
}

/*
 * A driver that re-arms on every reap gets exactly one interrupt per batch, across
 * the wrap, in every combo (INTx combos count through the ISR).
 */
Test(vq_event_idx, one_interrupt_per_batch_across_wrap, .timeout = 60)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		struct raw_ring r;
		uint64_t buf, base;
		uint32_t total = 0, batches = 0;
		/* MSI-X in some combos, INTx in the others: both paths across the wrap. */
		bool msix = strcmp(c->name, "modern") != 0 &&
			    strcmp(c->name, "transitional-legacy") != 0;

		if (msix)
			open_msix(&h, c, 8, 1, false, VIRTIO_RING_F_EVENT_IDX);
		else
			open_intx(&h, c, 8, false, VIRTIO_RING_F_EVENT_IDX);
		raw_ring_init(&h, 0, &r);
		buf = harness_buf(&h, 8, NULL);
		vdev_drv_enable_irq(h.drv, 0);
		base = qirqs(&h, 0);
		while (total < 65536 + 500) {
			int k = 1 + (int)(rng_next(&rng) % r.size);

			enqueue_n(&h, 0, buf, k);
			vdev_drv_kick(h.drv, 0);
			if (msix) {
				cr_assert_eq(qirqs(&h, 0) - base, batches + 1, "%s: batch %u", c->name,
					     batches);
			} else {
				uint8_t isr = vdev_drv_read_isr(h.drv);

				cr_assert_eq(isr & VIRTIO_CR_ISR_QUEUES, VIRTIO_CR_ISR_QUEUES,
					     "%s: batch %u: ISR 0x%02x", c->name, batches, isr);
			}
			batches++;
			cr_assert_eq(dequeue_all(&h, 0), k);
			total += (uint32_t)k;
		}
		if (msix) {
			cr_assert_eq(qirqs(&h, 0) - base, batches);
		} else {
			struct vdev_sim_irqs irqs;

			vdev_sim_get_irqs(h.sim, &irqs);
			cr_assert_geq(irqs.intx_raises, batches);
		}
		cr_assert_eq((uint16_t)h.dev->vq[0].used_idx, (uint16_t)total);
		assert_healthy(&h, c->name);
		harness_close(&h);
	}
}

/* Queues keep separate used_event state and vectors. */
Test(vq_event_idx, per_queue_independent)
{
	struct harness h;
	struct raw_ring r0, r1;
	uint64_t buf, b0, b1;

	open_msix(&h, &modern, 16, 2, true, VIRTIO_RING_F_EVENT_IDX);
	raw_ring_init(&h, 0, &r0);
	raw_ring_init(&h, 1, &r1);
	buf = harness_buf(&h, 8, NULL);
	b0 = qirqs(&h, 0);
	b1 = qirqs(&h, 1);
	raw_set_used_event(&r0, 5);  /* queue 0: not before its 6th completion */
	raw_set_used_event(&r1, 0);  /* queue 1: at the first */
	enqueue_n(&h, 0, buf, 3);
	enqueue_n(&h, 1, buf, 3);
	serve_n(&h, 0, 3);
	serve_n(&h, 1, 3);
	raw_set_used_event(&r0, 5);
	raw_set_used_event(&r1, 0);
	vq_endchains(&h.dev->vq[0], 0);
	vq_endchains(&h.dev->vq[1], 0);
	cr_assert_eq(qirqs(&h, 0) - b0, 0);
	cr_assert_eq(qirqs(&h, 1) - b1, 1);
	cr_assert_eq(dequeue_all(&h, 0), 3);
	cr_assert_eq(dequeue_all(&h, 1), 3);
	enqueue_n(&h, 0, buf, 3);
	serve_n(&h, 0, 3);
	raw_set_used_event(&r0, 5);
	vq_endchains(&h.dev->vq[0], 0);
	cr_assert_eq(qirqs(&h, 0) - b0, 1);
	cr_assert_eq(qirqs(&h, 1) - b1, 1);
	assert_healthy(&h, "per queue");
	harness_close(&h);
}

/* vq_endchains() with no chains used since the previous call raises nothing. */
Test(vq_event_idx, endchains_without_new_chains_is_silent)
{
	for (int ev = 0; ev < 2; ev++) {
		struct harness h;
		struct raw_ring r;
		uint64_t buf, base;
		struct virtio_vq_info *vq;

		open_msix(&h, &modern, 16, 1, true, ev ? VIRTIO_RING_F_EVENT_IDX : 0);
		raw_ring_init(&h, 0, &r);
		vq = &h.dev->vq[0];
		buf = harness_buf(&h, 8, NULL);
		base = qirqs(&h, 0);
		vq_endchains(vq, 1);
		vq_endchains(vq, 0);
		cr_assert_eq(qirqs(&h, 0) - base, 0, "interrupt with nothing used (event_idx %d)", ev);
		enqueue_n(&h, 0, buf, 2);
		serve_n(&h, 0, 2);
		if (ev)
			raw_set_used_event(&r, 0);
		vq_endchains(vq, 1);
		cr_assert_eq(qirqs(&h, 0) - base, 1);
		vq_endchains(vq, 1);
		vq_endchains(vq, 0);
		cr_assert_eq(qirqs(&h, 0) - base, 1, "repeat vq_endchains interrupted again");
		assert_healthy(&h, "empty endchains");
		harness_close(&h);
	}
}

/* ---------------- avail_event ---------------- */

/*
 * The device publishes avail_event = its position each time it finds the ring
 * empty, so a driver that notifies after every request kicks exactly once per batch
 * (the first request after the device went idle), across the avail index wrap.
 */
Test(vq_event_idx, avail_event_one_kick_per_batch_across_wrap, .timeout = 60)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		struct raw_ring r;
		struct vdev_drv_seg seg;
		uint64_t kicks0;
		uint32_t total = 0, batches = 0;
		bool wrapped = false;

		open_intx(&h, c, 16, true, VIRTIO_RING_F_EVENT_IDX);
		raw_ring_init(&h, 0, &r);
		seg = (struct vdev_drv_seg){.gpa = harness_buf(&h, 8, NULL), .len = 8,
					    .writable = true};
		/* the device looks once and finds nothing */
		cr_assert_eq(echo_dev_process(h.dev, 0), 0);
		cr_assert_eq(raw_avail_event(&r), 0);
		kicks0 = h.dev->kicks;
		while (total < 65536 + 500) {
			int k = 1 + (int)(rng_next(&rng) % r.size);
			uint16_t before = h.dev->vq[0].last_avail;

			for (int i = 0; i < k; i++) {
				cr_assert_eq(vdev_drv_enqueue(h.drv, 0, &seg, 1, false, NULL), 0);
				cr_assert_eq(vdev_drv_notify(h.drv, 0), i == 0 ? 1 : 0,
					     "%s: request %d of batch %u: wrong kick decision", c->name,
					     i, batches);
			}
			batches++;
			cr_assert_eq(h.dev->kicks - kicks0, batches);
			cr_assert_eq(echo_dev_process(h.dev, 0), k);
			cr_assert_eq(raw_avail_event(&r), (uint16_t)(before + k),
				     "%s: avail_event %u after draining to %u", c->name,
				     raw_avail_event(&r), (uint16_t)(before + k));
			if ((uint16_t)(before + k) < before)
				wrapped = true;
			cr_assert_eq(dequeue_all(&h, 0), k);
			total += (uint32_t)k;
		}
		cr_assert(wrapped, "%s: avail index never wrapped", c->name);
		assert_healthy(&h, c->name);
		harness_close(&h);
	}
}

/* A device that has not looked again since the last kick gets no further kicks. */
Test(vq_event_idx, avail_event_not_moved_means_no_kick)
{
	struct harness h;
	struct raw_ring r;
	struct vdev_drv_seg seg;

	open_intx(&h, &modern, 16, true, VIRTIO_RING_F_EVENT_IDX);
	raw_ring_init(&h, 0, &r);
	seg = (struct vdev_drv_seg){.gpa = harness_buf(&h, 8, NULL), .len = 8, .writable = true};
	enqueue_notify(&h, 0, &seg, 1, "avail_event", "first request did not kick");
	/* the device takes one chain but does not find the ring empty */
	cr_assert_eq(vdev_drv_enqueue(h.drv, 0, &seg, 1, false, NULL), 0);
	serve_n(&h, 0, 1);
	cr_assert_eq(raw_avail_event(&r), 0);
	for (int i = 0; i < 5; i++)
		enqueue_notify(&h, 0, &seg, 0, "avail_event", "kick not needed");
	/* once the device drains, avail_event catches up and the next request kicks */
	cr_assert_eq(echo_dev_process(h.dev, 0), 6);
	cr_assert_eq(raw_avail_event(&r), 7);
	enqueue_notify(&h, 0, &seg, 1, "avail_event", "no kick after the device drained");
	assert_healthy(&h, "avail_event");
	harness_close(&h);
}

/* ---------------- without EVENT_IDX ---------------- */

/* NO_INTERRUPT suppresses queue interrupts (counted as suppressed) until cleared. */
Test(vq_event_idx, no_interrupt_flag_without_event_idx)
{
	FOR_EACH_COMBO(c)
	{
		for (int msix = 0; msix < 2; msix++) {
			struct harness h;
			struct raw_ring r;
			struct vdev_virtio_stats st0, st;
			struct virtio_vq_info *vq;
			uint64_t buf, base = 0;
			char what[64];

			snprintf(what, sizeof(what), "%s %s", c->name, msix ? "msix" : "intx");
			if (msix)
				open_msix(&h, c, 16, 1, true, 0);
			else
				open_intx(&h, c, 16, true, 0);
			cr_assert_eq(vdev_drv_features(h.drv) & VIRTIO_RING_F_EVENT_IDX, 0);
			raw_ring_init(&h, 0, &r);
			vq = &h.dev->vq[0];
			buf = harness_buf(&h, 8, NULL);
			(void)vdev_drv_read_isr(h.drv);
			if (msix)
				base = qirqs(&h, 0);

			vdev_drv_disable_irq(h.drv, 0);
			cr_assert_eq(get16(r.a) & VRING_AVAIL_F_NO_INTERRUPT,
				     VRING_AVAIL_F_NO_INTERRUPT);
			vdev_virtio_get_stats(&h.dev->base, &st0);
			for (int i = 0; i < 10; i++) {
				enqueue_n(&h, 0, buf, 2);
				serve_n(&h, 0, 2);
				vq_endchains(vq, 0);
				cr_assert_eq(dequeue_all(&h, 0), 2);
			}
			if (msix)
				cr_assert_eq(qirqs(&h, 0) - base, 0, "%s: interrupt despite NO_INTERRUPT",
					     what);
			else
				cr_assert_eq(vdev_drv_read_isr(h.drv) & VIRTIO_CR_ISR_QUEUES, 0,
					     "%s: interrupt despite NO_INTERRUPT", what);
			vdev_virtio_get_stats(&h.dev->base, &st);
			cr_assert_eq(st.interrupts_suppressed - st0.interrupts_suppressed, 10, "%s",
				     what);
			cr_assert_eq(st.interrupts, st0.interrupts, "%s", what);

			vdev_drv_enable_irq(h.drv, 0);
			enqueue_n(&h, 0, buf, 2);
			serve_n(&h, 0, 2);
			vq_endchains(vq, 0);
			if (msix)
				cr_assert_eq(qirqs(&h, 0) - base, 1, "%s: no interrupt after enable",
					     what);
			else
				cr_assert_eq(vdev_drv_read_isr(h.drv) & VIRTIO_CR_ISR_QUEUES,
					     VIRTIO_CR_ISR_QUEUES, "%s: no interrupt after enable",
					     what);
			assert_healthy(&h, what);
			harness_close(&h);
		}
	}
}

/*
 * NOTIFY_ON_EMPTY (legacy interface only): with NO_INTERRUPT set, vq_endchains(vq, 1)
 * still interrupts once chains were used; vq_endchains(vq, 0) does not.
 */
Test(vq_event_idx, notify_on_empty_overrides_no_interrupt)
{
	struct harness h;
	struct raw_ring r;
	struct virtio_vq_info *vq;
	uint64_t buf;

	open_intx(&h, &legacy, 16, true, VIRTIO_F_NOTIFY_ON_EMPTY);
	raw_ring_init(&h, 0, &r);
	vq = &h.dev->vq[0];
	buf = harness_buf(&h, 8, NULL);
	(void)vdev_drv_read_isr(h.drv);
	vdev_drv_disable_irq(h.drv, 0);

	enqueue_n(&h, 0, buf, 2);
	serve_n(&h, 0, 2);
	vq_endchains(vq, 0);
	cr_assert_eq(vdev_drv_read_isr(h.drv) & VIRTIO_CR_ISR_QUEUES, 0,
		     "NO_INTERRUPT ignored without used_all_avail");
	enqueue_n(&h, 0, buf, 2);
	serve_n(&h, 0, 2);
	vq_endchains(vq, 1);
	cr_assert_eq(vdev_drv_read_isr(h.drv) & VIRTIO_CR_ISR_QUEUES, VIRTIO_CR_ISR_QUEUES,
		     "NOTIFY_ON_EMPTY did not interrupt on empty");
	assert_healthy(&h, "notify on empty");
	harness_close(&h);
}

/* "Only if chains were used since the previous call" holds for NOTIFY_ON_EMPTY too. */
Test(vq_event_idx, notify_on_empty_needs_used_chains)
{
	struct harness h;
	struct virtio_vq_info *vq;
	uint64_t buf;

	open_intx(&h, &legacy, 16, true, VIRTIO_F_NOTIFY_ON_EMPTY);
	vq = &h.dev->vq[0];
	buf = harness_buf(&h, 8, NULL);
	(void)vdev_drv_read_isr(h.drv);
	vq_endchains(vq, 1);
	cr_assert_eq(vdev_drv_read_isr(h.drv), 0, "interrupt with no chain used at all");
	enqueue_n(&h, 0, buf, 1);
	serve_n(&h, 0, 1);
	vq_endchains(vq, 1);
	cr_assert_eq(vdev_drv_read_isr(h.drv), VIRTIO_CR_ISR_QUEUES);
	vq_endchains(vq, 1);
	cr_assert_eq(vdev_drv_read_isr(h.drv), 0, "second vq_endchains with nothing new interrupted");
	assert_healthy(&h, "notify on empty, nothing used");
	harness_close(&h);
}
