/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The driver peer itself, in every (device mode, driver access) pair: open,
 * negotiate, queue set-up, a thousand random requests with checksums, config reads
 * at every width, reset and set-up again, and MSI-X with one vector per queue. Every
 * other test leans on this driver, so it gets checked end to end here.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"

static struct test_rng rng = {0xBADC0DEu};

/* Fletcher-style checksum: order-sensitive, cheap. */
static uint32_t csum(const uint8_t *p, size_t n, uint32_t s)
{
	uint32_t a = s & 0xFFFF, b = s >> 16;

	for (size_t i = 0; i < n; i++) {
		a = (a + p[i]) % 65521;
		b = (b + a) % 65521;
	}
	return (b << 16) | a;
}

/* The combo with `nvq` queues of up to `qsize` entries, and MSI-X on or off. */
static void open_echo(struct harness *h, const struct fx_mode *c, bool msix, int nvq,
		      uint16_t qsize)
{
	struct echo_dev_config ecfg = {.nvq = nvq, .qsize = qsize};

	ecfg.pci.msix = msix;
	open_combo(h, c, &ecfg);
	cr_assert_eq(vdev_pci_msix_enabled(echo_dev_pci(h->dev)), msix,
		     "%s: MSI-X enabled state", c->name);
}

/* Negotiate, set up every queue, DRIVER_OK, and check what the device recorded. */
static void bring_up(struct harness *h, const char *what, uint64_t wanted, uint16_t qsize)
{
	uint64_t accepted = 0;
	uint8_t want_status;
	int rc;

	rc = vdev_drv_negotiate(h->drv, wanted, &accepted);
	cr_assert_eq(rc, 0, "%s: negotiate: %d", what, rc);
	cr_assert_eq(accepted, vdev_drv_features(h->drv));
	cr_assert_eq(accepted & wanted, wanted, "%s: accepted 0x%llx of 0x%llx", what,
		     (unsigned long long)accepted, (unsigned long long)wanted);
	if (h->access == VDEV_DRV_LEGACY) {
		cr_assert_eq(accepted & VIRTIO_F_VERSION_1, 0, "%s: VERSION_1 over legacy", what);
	} else {
		cr_assert_neq(accepted & VIRTIO_F_VERSION_1, 0, "%s: no VERSION_1", what);
		cr_assert_eq(accepted & VIRTIO_F_NOTIFY_ON_EMPTY, 0,
			     "%s: legacy-only feature accepted over modern", what);
	}
	cr_assert_eq(h->dev->base.negotiated_caps, accepted, "%s: device and driver disagree",
		     what);
	cr_assert_eq(h->dev->applied_features, accepted);
	for (int q = 0; q < h->dev->base.vops->nvq; q++) {
		uint16_t vec = vdev_pci_msix_enabled(echo_dev_pci(h->dev)) ? (uint16_t)(q + 1)
									  : VIRTIO_MSI_NO_VECTOR;

		rc = vdev_drv_queue_setup(h->drv, (uint16_t)q, qsize, vec);
		cr_assert_eq(rc, 0, "%s: queue %d setup: %d", what, q, rc);
		cr_assert_eq(vdev_drv_queue_size(h->drv, (uint16_t)q), qsize);
		cr_assert_eq(vdev_drv_queue_free(h->drv, (uint16_t)q), qsize);
		cr_assert(h->dev->vq[q].flags & VQ_ALLOC, "%s: queue %d not mapped", what, q);
	}
	rc = vdev_drv_driver_ok(h->drv);
	cr_assert_eq(rc, 0, "%s: driver_ok: %d", what, rc);
	want_status = VIRTIO_CR_STATUS_ACK | VIRTIO_CR_STATUS_DRIVER | VIRTIO_CR_STATUS_DRIVER_OK;
	if (h->access != VDEV_DRV_LEGACY)
		want_status |= VIRTIO_CR_STATUS_FEATURES_OK;
	cr_assert_eq(vdev_drv_read_status(h->drv), want_status, "%s: status 0x%02x", what,
		     vdev_drv_read_status(h->drv));
}

struct rreq {
	int nr, nw;
	struct vdev_drv_seg segs[6];
	uint8_t *host[6];
	uint32_t rsum;     /* checksum of the readable bytes */
	uint32_t total;    /* readable bytes == writable bytes */
	bool done;
};

/* Split total into n >= 1 random lengths, each >= 1 (n <= total). */
static void split(uint32_t total, int n, uint32_t *lens)
{
	uint32_t left = total;

	for (int i = 0; i < n; i++) {
		uint32_t rest = (uint32_t)(n - i - 1);

		lens[i] = rest == 0 ? left : rng_range(&rng, 1, left - rest);
		left -= lens[i];
	}
}

/* A request of `total` random bytes split over 1..3 readable and 1..3 writable segments. */
static void rreq_build(struct harness *h, struct rreq *r)
{
	uint32_t total = rng_range(&rng, 1, 4096), lens[3];

	memset(r, 0, sizeof(*r));
	r->total = total;
	r->nr = (int)rng_range(&rng, 1, total < 3 ? total : 3);
	r->nw = (int)rng_range(&rng, 1, total < 3 ? total : 3);
	r->rsum = 1;
	for (int side = 0; side < 2; side++) {
		int n = side ? r->nw : r->nr, base = side ? r->nr : 0;

		split(total, n, lens);
		for (int i = 0; i < n; i++) {
			void *p;

			r->segs[base + i] = (struct vdev_drv_seg){.gpa = harness_buf(h, lens[i], &p),
								  .len = lens[i],
								  .writable = side == 1};
			cr_assert_neq(r->segs[base + i].gpa, 0);
			r->host[base + i] = p;
			if (side == 0) {
				for (uint32_t k = 0; k < lens[i]; k++)
					r->host[base + i][k] = (uint8_t)rng_next(&rng);
				r->rsum = csum(p, lens[i], r->rsum);
			} else {
				memset(p, 0, lens[i]);
			}
		}
	}
}

static uint32_t rreq_wsum(const struct rreq *r)
{
	uint32_t s = 1;

	for (int i = r->nr; i < r->nr + r->nw; i++)
		s = csum(r->host[i], r->segs[i].len, s);
	return s;
}

/* `count` random requests in random batches (some indirect) on queue q. */
static void random_traffic(struct harness *h, uint16_t q, int count, bool indirect_ok,
			   const char *what)
{
	uint64_t mark = vdev_sim_alloc_mark(h->sim);
	int done = 0;

	while (done < count) {
		struct rreq reqs[8];
		int nb = (int)rng_range(&rng, 1, 8), got = 0;
		void *tok;
		uint32_t len;

		if (nb > count - done)
			nb = count - done;
		for (int i = 0; i < nb; i++) {
			bool ind = indirect_ok && rng_next(&rng) % 3 == 0;
			int rc, need;

			rreq_build(h, &reqs[i]);
			need = ind ? 1 : reqs[i].nr + reqs[i].nw;
			if (vdev_drv_queue_free(h->drv, q) < need) {
				/* the ring is full: this batch ends here */
				cr_assert_gt(i, 0, "%s: empty ring too small", what);
				nb = i;
				break;
			}
			rc = vdev_drv_enqueue(h->drv, q, reqs[i].segs, reqs[i].nr + reqs[i].nw, ind,
					      &reqs[i]);
			cr_assert_eq(rc, 0, "%s: enqueue: %d", what, rc);
		}
		cr_assert_eq(vdev_drv_notify(h->drv, q), 1, "%s: notify did not kick", what);
		while (vdev_drv_dequeue(h->drv, q, &tok, &len) == 1) {
			struct rreq *r = tok;

			cr_assert(r >= reqs && r < reqs + nb, "%s: stray token", what);
			cr_assert(!r->done, "%s: completed twice", what);
			r->done = true;
			cr_assert_eq(len, r->total, "%s: used length %u, want %u", what, len, r->total);
			cr_assert_eq(rreq_wsum(r), r->rsum, "%s: checksum mismatch (%u bytes)", what,
				     r->total);
			got++;
		}
		cr_assert_eq(got, nb, "%s: %d of %d completed", what, got, nb);
		done += nb;
		vdev_sim_alloc_reset(h->sim, mark);
	}
}

/* assert_healthy(), and the echo device never failed to take a chain. */
static void assert_clean(struct harness *h, const char *what)
{
	assert_healthy(h, what);
	cr_assert_eq(h->dev->chain_errors, 0, "%s: chain errors", what);
}

/* ---------------- tests ---------------- */

Test(driver_modes, thousand_random_requests_every_mode, .timeout = 60)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;

		open_echo(&h, c, false, 1, 64);
		bring_up(&h, c->name, ECHO_F_TEST | VIRTIO_RING_F_INDIRECT_DESC, 64);
		random_traffic(&h, 0, 1000, true, c->name);
		cr_assert_eq(h.dev->echoed, 1000);
		cr_assert_eq(vdev_drv_read_config32(h.drv, ECHO_CFG_REQUESTS), 1000,
			     "%s: device's request counter", c->name);
		cr_assert_eq(vdev_drv_queue_free(h.drv, 0), 64, "%s: descriptors leaked", c->name);
		assert_clean(&h, c->name);
		harness_close(&h);
	}
}

/* The echo id "vdevecho" at offset 16 through every width, with and without MSI-X
 * (the legacy header grows by 4 bytes while MSI-X is on). */
Test(driver_modes, config_reads_every_width)
{
	static const char id[] = "vdevecho";

	FOR_EACH_COMBO(c)
	{
		for (int msix = 0; msix < 2; msix++) {
			struct harness h;
			char what[64];

			snprintf(what, sizeof(what), "%s%s", c->name, msix ? " msix" : "");
			open_echo(&h, c, msix, 1, 16);
			bring_up(&h, what, ECHO_F_TEST, 16);
			for (uint32_t i = 0; i < 8; i++)
				cr_assert_eq(vdev_drv_read_config8(h.drv, ECHO_CFG_ID + i),
					     (uint8_t)id[i], "%s: byte %u", what, i);
			for (uint32_t i = 0; i < 8; i += 2)
				cr_assert_eq(vdev_drv_read_config16(h.drv, ECHO_CFG_ID + i),
					     (uint16_t)((uint8_t)id[i] | (uint8_t)id[i + 1] << 8),
					     "%s: u16 at %u", what, i);
			cr_assert_eq(vdev_drv_read_config32(h.drv, ECHO_CFG_ID), 0x76656476u, "%s",
				     what);
			cr_assert_eq(vdev_drv_read_config32(h.drv, ECHO_CFG_ID + 4), 0x6f686365u,
				     "%s", what);
			cr_assert_eq(vdev_drv_read_config64(h.drv, ECHO_CFG_ID), ECHO_ID_LE64, "%s", what);

			/* scratch fields round-trip at every width */
			vdev_drv_write_config32(h.drv, ECHO_CFG_SCRATCH, 0xA1B2C3D4u);
			cr_assert_eq(vdev_drv_read_config32(h.drv, ECHO_CFG_SCRATCH), 0xA1B2C3D4u,
				     "%s", what);
			cr_assert_eq(vdev_drv_read_config16(h.drv, ECHO_CFG_SCRATCH + 2), 0xA1B2,
				     "%s", what);
			cr_assert_eq(vdev_drv_read_config8(h.drv, ECHO_CFG_SCRATCH), 0xD4, "%s", what);
			vdev_drv_write_config8(h.drv, ECHO_CFG_SCRATCH + 1, 0x5A);
			vdev_drv_write_config16(h.drv, ECHO_CFG_SCRATCH + 2, 0x1234);
			cr_assert_eq(vdev_drv_read_config32(h.drv, ECHO_CFG_SCRATCH), 0x12345AD4u,
				     "%s", what);
			vdev_drv_write_config64(h.drv, ECHO_CFG_SCRATCH64, 0x0123456789ABCDEFULL);
			cr_assert_eq(vdev_drv_read_config64(h.drv, ECHO_CFG_SCRATCH64),
				     0x0123456789ABCDEFULL, "%s", what);
			cr_assert_eq(vdev_drv_read_config32(h.drv, ECHO_CFG_SCRATCH64 + 4),
				     0x01234567u, "%s", what);
			/* the id is read-only: a write there is refused */
			vdev_drv_write_config8(h.drv, ECHO_CFG_ID, 'X');
			cr_assert_eq(vdev_drv_read_config64(h.drv, ECHO_CFG_ID), ECHO_ID_LE64,
				     "%s: read-only id changed", what);
			assert_clean(&h, what);
			harness_close(&h);
		}
	}
}

/* Reset forgets everything; the same driver sets the device up again and it works. */
Test(driver_modes, reset_and_setup_again)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		uint64_t resets;
		/* a modern driver may pick a smaller ring the second time */
		uint16_t second = c->access == VDEV_DRV_LEGACY ? 32 : 8;

		open_echo(&h, c, false, 2, 32);
		bring_up(&h, c->name, ECHO_F_TEST, 32);
		random_traffic(&h, 0, 50, false, c->name);
		random_traffic(&h, 1, 20, false, c->name);
		cr_assert_eq(vdev_drv_read_config32(h.drv, ECHO_CFG_REQUESTS), 70);

		resets = h.dev->resets;
		cr_assert_eq(vdev_drv_reset(h.drv), 0, "%s: reset", c->name);
		cr_assert_eq(vdev_drv_read_status(h.drv), 0);
		cr_assert_gt(h.dev->resets, resets, "%s: device reset callback not run", c->name);
		for (int q = 0; q < 2; q++) {
			cr_assert_eq(h.dev->vq[q].flags & VQ_ALLOC, 0, "%s: queue %d still mapped",
				     c->name, q);
			cr_assert_eq(h.dev->vq[q].used_idx, 0);
			cr_assert_eq(h.dev->vq[q].last_avail, 0);
		}
		cr_assert_eq(h.dev->base.negotiated_caps, 0, "%s: features survive reset", c->name);
		cr_assert_eq(vdev_drv_read_config32(h.drv, ECHO_CFG_REQUESTS), 0);

		/* set up again, without INDIRECT this time */
		bring_up(&h, c->name, 0, second);
		cr_assert_eq(h.dev->vq[0].qsize, second);
		cr_assert_eq(vdev_drv_features(h.drv) & ECHO_F_TEST, 0);
		random_traffic(&h, 0, 100, false, c->name);
		random_traffic(&h, 1, 10, false, c->name);
		cr_assert_eq(h.dev->vq[0].used_idx, 100);
		cr_assert_eq(vdev_drv_read_config32(h.drv, ECHO_CFG_REQUESTS), 110);

		/* and a third time straight away */
		cr_assert_eq(vdev_drv_reset(h.drv), 0);
		bring_up(&h, c->name, ECHO_F_TEST | VIRTIO_RING_F_INDIRECT_DESC, second);
		random_traffic(&h, 0, 30, true, c->name);
		assert_clean(&h, c->name);
		harness_close(&h);
	}
}

/* MSI-X: each queue interrupts on its own vector, config changes on vector 0. */
Test(driver_modes, msix_per_queue_vectors)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		uint64_t before[4], cfg_before;
		struct vdev_sim_irqs irqs;

		open_echo(&h, c, true, 3, 16);
		bring_up(&h, c->name, ECHO_F_TEST, 16);
		for (int round = 0; round < 3; round++) {
			for (uint16_t q = 0; q < 3; q++) {
				for (uint32_t v = 0; v < 4; v++)
					before[v] = vdev_sim_msi_count(h.sim, v);
				random_traffic(&h, q, 1, false, c->name);
				for (uint32_t v = 0; v < 4; v++)
					cr_assert_eq(vdev_sim_msi_count(h.sim, v) - before[v],
						     v == (uint32_t)q + 1 ? 1u : 0u,
						     "%s: request on queue %u, vector %u", c->name, q, v);
			}
		}
		/* no ISR and no INTx under MSI-X */
		vdev_sim_get_irqs(h.sim, &irqs);
		cr_assert_eq(irqs.intx_raises, 0, "%s: INTx used under MSI-X", c->name);
		cr_assert_eq(vdev_drv_read_isr(h.drv), 0);
		/* a config change goes to the config vector */
		cfg_before = vdev_sim_msi_count(h.sim, 0);
		echo_dev_host_set_scratch(h.dev, 77);
		cr_assert_eq(vdev_sim_msi_count(h.sim, 0) - cfg_before, 1, "%s: config vector",
			     c->name);
		cr_assert_eq(vdev_drv_read_config32(h.drv, ECHO_CFG_SCRATCH), 77);
		/* after a reset the vectors are programmed again and still work */
		cr_assert_eq(vdev_drv_reset(h.drv), 0);
		bring_up(&h, c->name, ECHO_F_TEST, 16);
		before[2] = vdev_sim_msi_count(h.sim, 2);
		random_traffic(&h, 1, 1, false, c->name);
		cr_assert_eq(vdev_sim_msi_count(h.sim, 2) - before[2], 1);
		assert_clean(&h, c->name);
		harness_close(&h);
	}
}

/* Without MSI-X, queue interrupts raise INTx and set ISR bit 0, cleared by the read. */
Test(driver_modes, intx_and_isr)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		struct vdev_sim_irqs irqs;
		uint64_t raises;

		open_echo(&h, c, false, 1, 16);
		bring_up(&h, c->name, ECHO_F_TEST, 16);
		vdev_sim_get_irqs(h.sim, &irqs);
		raises = irqs.intx_raises;
		random_traffic(&h, 0, 1, false, c->name);
		vdev_sim_get_irqs(h.sim, &irqs);
		cr_assert_eq(irqs.intx_level, 1, "%s: INTx not asserted", c->name);
		cr_assert_eq(irqs.intx_raises, raises + 1);
		cr_assert_eq(vdev_drv_read_isr(h.drv), VIRTIO_CR_ISR_QUEUES, "%s", c->name);
		vdev_sim_get_irqs(h.sim, &irqs);
		cr_assert_eq(irqs.intx_level, 0, "%s: ISR read did not lower INTx", c->name);
		cr_assert_eq(vdev_drv_read_isr(h.drv), 0);
		assert_clean(&h, c->name);
		harness_close(&h);
	}
}
