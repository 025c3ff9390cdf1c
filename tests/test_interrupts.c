/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Interrupt delivery (docs/behaviour.md, "Interrupts"): INTx with the ISR, the
 * command register's INTx-disable, MSI-X (table, masking, PBA, function mask,
 * per-queue and config vectors), MSI, and the vq_endchains() suppression rules.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "test_util.h"

#define MSIX_FUNC_MASK 0x4000u

static struct vdev_pci_stats pstats(struct harness *h)
{
	struct vdev_pci_stats s;

	vdev_pci_get_stats(echo_dev_pci(h->dev), &s);
	return s;
}

static void msix_set_mask(struct harness *h, int v, bool masked)
{
	bwr(h, VIRTIO_MSIX_BAR_IDX, 16u * (unsigned)v + 12, 4, masked ? MSIX_CTRL_MASK : 0);
}

static uint32_t pba(struct harness *h)
{
	return (uint32_t)brd(h, VIRTIO_MSIX_BAR_IDX, 0x800, 4);
}

/*
 * MSI-X on and the device ready: vector 0 (data 0x100) takes config changes, vector 1
 * (data 0x101, masked if asked) queue 0.
 */
static void open_msix_vectors(struct harness *h, const struct fx_mode *c,
			      bool mask_queue_vector)
{
	open_combo_msix(h, c);
	cr_assert_eq(harness_ready(h, ECHO_F_TEST, 0), 0, "%s: ready", c->name);
	msix_program(h, 0, 0x100, false);
	msix_program(h, 1, 0x101, mask_queue_vector);
	set_config_vector(h, c, 0);
}

/* Enqueue a small request and kick; the echo device completes it at once. */
static void request(const char *ctx, struct harness *h, uint16_t q)
{
	static int token;
	void *in;

	enqueue_inout(ctx, h, q, 8, &token, &in);
	memset(in, 1, 8);
	vdev_drv_kick(h->drv, q);
}

static void drain(const char *ctx, struct harness *h, uint16_t q, int n)
{
	void *tok;
	uint32_t len;

	for (int i = 0; i < n; i++)
		cr_assert_eq(vdev_drv_dequeue(h->drv, q, &tok, &len), 1, "%s: completion %d missing",
			     ctx, i);
	cr_assert_eq(vdev_drv_dequeue(h->drv, q, &tok, &len), 0, "%s: extra completion", ctx);
}

/* ---------------- INTx and ISR ---------------- */

Test(interrupts, intx_queue_interrupt_sets_isr_bit_0x01_until_read)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		struct vdev_sim_irqs i0, i1;
		struct vdev_pci_stats p0;

		open_ready(&h, c, NULL, ECHO_F_TEST, 0);
		i0 = irqs(&h);
		p0 = pstats(&h);
		CHECK_EQ(c->name, i0.intx_level, 0);
		request(c->name, &h, 0);
		i1 = irqs(&h);
		CHECK_EQ(c->name, i1.intx_level, 1);
		CHECK_EQ(c->name, i1.intx_raises, i0.intx_raises + 1);
		CHECK_EQ(c->name, i1.msi_count, i0.msi_count);
		CHECK_EQ(c->name, vdev_pci_intx_level(echo_dev_pci(h.dev)), 1);
		cr_assert(vdev_drv_pci_read(h.drv, PCIR_STATUS, 2) & PCIM_STATUS_INTxSTATE,
			  "%s: PCI status INTx bit clear while asserted", c->name);
		CHECK_EQ(c->name, pstats(&h).intx_asserts, p0.intx_asserts + 1);

		CHECK_EQ(c->name, vdev_drv_read_isr(h.drv), VIRTIO_CR_ISR_QUEUES);
		CHECK_EQ(c->name, irqs(&h).intx_level, 0);
		CHECK_EQ(c->name, vdev_pci_intx_level(echo_dev_pci(h.dev)), 0);
		CHECK_EQ(c->name, vdev_drv_pci_read(h.drv, PCIR_STATUS, 2) & PCIM_STATUS_INTxSTATE, 0);
		CHECK_EQ(c->name, vdev_drv_read_isr(h.drv), 0);
		drain(c->name, &h, 0, 1);
		harness_close(&h);
	}
}

Test(interrupts, intx_config_change_sets_isr_bit_0x02)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		uint64_t raises;

		open_ready(&h, c, NULL, ECHO_F_TEST, 0);
		raises = irqs(&h).intx_raises;
		echo_dev_host_set_scratch(h.dev, 1);
		CHECK_EQ(c->name, irqs(&h).intx_level, 1);
		CHECK_EQ(c->name, irqs(&h).intx_raises, raises + 1);
		/* A queue interrupt on top: both bits, still one level. */
		request(c->name, &h, 0);
		CHECK_EQ(c->name, irqs(&h).intx_raises, raises + 1);
		CHECK_EQ(c->name, vdev_drv_read_isr(h.drv),
			 VIRTIO_CR_ISR_CONF_CHANGED | VIRTIO_CR_ISR_QUEUES);
		CHECK_EQ(c->name, irqs(&h).intx_level, 0);
		CHECK_EQ(c->name, vdev_drv_read_isr(h.drv), 0);
		drain(c->name, &h, 0, 1);
		harness_close(&h);
	}
}

Test(interrupts, intx_disable_holds_the_line_and_status_bit_still_mirrors)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		uint32_t cmd;
		uint64_t raises;

		open_ready(&h, c, NULL, ECHO_F_TEST, 0);
		cmd = vdev_drv_pci_read(h.drv, PCIR_COMMAND, 2);
		vdev_drv_pci_write(h.drv, PCIR_COMMAND, 2, cmd | PCIM_CMD_INTxDIS);
		raises = irqs(&h).intx_raises;

		echo_dev_host_set_scratch(h.dev, 2);
		CHECK_EQ(c->name, irqs(&h).intx_level, 0);
		CHECK_EQ(c->name, irqs(&h).intx_raises, raises);
		CHECK_EQ(c->name, vdev_pci_intx_level(echo_dev_pci(h.dev)), 0);
		cr_assert(vdev_drv_pci_read(h.drv, PCIR_STATUS, 2) & PCIM_STATUS_INTxSTATE,
			  "%s: status must show the pending INTx despite the disable bit", c->name);

		/* Clearing the disable bit lets the host hear the pending level. */
		vdev_drv_pci_write(h.drv, PCIR_COMMAND, 2, cmd);
		CHECK_EQ(c->name, irqs(&h).intx_level, 1);
		CHECK_EQ(c->name, vdev_pci_intx_level(echo_dev_pci(h.dev)), 1);
		CHECK_EQ(c->name, vdev_drv_read_isr(h.drv), VIRTIO_CR_ISR_CONF_CHANGED);
		CHECK_EQ(c->name, irqs(&h).intx_level, 0);

		/* Disabled, raised, cleared by the ISR read: nothing ever reaches the host. */
		vdev_drv_pci_write(h.drv, PCIR_COMMAND, 2, cmd | PCIM_CMD_INTxDIS);
		raises = irqs(&h).intx_raises;
		echo_dev_host_set_scratch(h.dev, 3);
		CHECK_EQ(c->name, vdev_drv_read_isr(h.drv), VIRTIO_CR_ISR_CONF_CHANGED);
		vdev_drv_pci_write(h.drv, PCIR_COMMAND, 2, cmd);
		CHECK_EQ(c->name, irqs(&h).intx_level, 0);
		CHECK_EQ(c->name, irqs(&h).intx_raises, raises);
		harness_close(&h);
	}
}

Test(interrupts, reset_lowers_intx)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;

		open_ready(&h, c, NULL, ECHO_F_TEST, 0);
		echo_dev_host_set_scratch(h.dev, 2);
		CHECK_EQ(c->name, irqs(&h).intx_level, 1);
		vdev_drv_write_status(h.drv, 0);
		CHECK_EQ(c->name, irqs(&h).intx_level, 0);
		CHECK_EQ(c->name, vdev_drv_read_isr(h.drv), 0);
		harness_close(&h);
	}
}

/* ---------------- MSI-X ---------------- */

Test(interrupts, msix_table_entries_start_masked_and_read_back)
{
	struct vdev_sim_config sc = {.size = sizeof(struct vdev_sim_config), .ram_size = 1 << 20};
	struct echo_dev_config ec = {.nvq = 3};
	struct harness h = {0};

	ec.pci.mode = VDEV_PCI_MODERN;
	ec.pci.msix = true;
	cr_assert_eq(vdev_sim_create(&sc, &h.sim), 0);
	cr_assert_eq(echo_dev_create(vdev_sim_vmctx(h.sim), "echo0", &ec, &h.dev), 0);
	/* nvq + 1 = 4 vectors, all masked before anyone touched them */
	for (int v = 0; v < 4; v++)
		CHECK_EQ("msix", brd(&h, 1, 16u * (unsigned)v + 12, 4) & MSIX_CTRL_MASK, 1);
	for (int v = 0; v < 4; v++) {
		bwr(&h, 1, 16u * (unsigned)v, 4, MSI_ADDR + 0x10u * (unsigned)v);
		bwr(&h, 1, 16u * (unsigned)v + 4, 4, (unsigned)v);
		bwr(&h, 1, 16u * (unsigned)v + 8, 4, 0x1000u + (unsigned)v);
		bwr(&h, 1, 16u * (unsigned)v + 12, 4, v & 1);
	}
	for (int v = 0; v < 4; v++) {
		CHECK_EQ("msix", brd(&h, 1, 16u * (unsigned)v, 4), MSI_ADDR + 0x10u * (unsigned)v);
		CHECK_EQ("msix", brd(&h, 1, 16u * (unsigned)v + 4, 4), (unsigned)v);
		CHECK_EQ("msix", brd(&h, 1, 16u * (unsigned)v + 8, 4), 0x1000u + (unsigned)v);
		CHECK_EQ("msix", brd(&h, 1, 16u * (unsigned)v + 12, 4) & 1, (unsigned)(v & 1));
		/* 8-byte access to the address pair */
		CHECK_EQ("msix", brd(&h, 1, 16u * (unsigned)v, 8),
			 ((uint64_t)v << 32) | (MSI_ADDR + 0x10u * (unsigned)v));
	}
	bwr(&h, 1, 16, 8, 0x00000002fee0f000ULL);
	CHECK_EQ("msix", brd(&h, 1, 16, 4), 0xfee0f000);
	CHECK_EQ("msix", brd(&h, 1, 20, 4), 2);
	CHECK_EQ("msix pba", brd(&h, 1, 0x800, 8), 0);
	echo_dev_destroy(h.dev);
	vdev_sim_destroy(h.sim);
}

Test(interrupts, msix_queue_and_config_vectors_deliver_by_data)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		struct vdev_sim_irqs i0;

		struct vdev_pci_stats p0;

		open_msix_vectors(&h, c, false);
		i0 = irqs(&h);
		p0 = pstats(&h);

		request(c->name, &h, 0);                 /* queue 0 uses vector 1 */
		CHECK_EQ(c->name, vdev_sim_msi_count(h.sim, 0x101), 1);
		CHECK_EQ(c->name, vdev_sim_msi_count(h.sim, 0x100), 0);
		CHECK_EQ(c->name, irqs(&h).last_msi_addr, MSI_ADDR);
		echo_dev_host_set_scratch(h.dev, 5);     /* config uses vector 0 */
		CHECK_EQ(c->name, vdev_sim_msi_count(h.sim, 0x100), 1);
		CHECK_EQ(c->name, vdev_sim_msi_count(h.sim, 0x101), 1);
		request(c->name, &h, 0);
		CHECK_EQ(c->name, vdev_sim_msi_count(h.sim, 0x101), 2);
		CHECK_EQ(c->name, irqs(&h).msi_count, i0.msi_count + 3);
		/* Under MSI-X neither the ISR nor INTx is used. */
		CHECK_EQ(c->name, irqs(&h).intx_raises, i0.intx_raises);
		CHECK_EQ(c->name, vdev_drv_read_isr(h.drv), 0);
		CHECK_EQ(c->name, pstats(&h).msix_sent, p0.msix_sent + 3);
		drain(c->name, &h, 0, 2);
		harness_close(&h);
	}
}

Test(interrupts, msix_no_vector_sends_nothing)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		struct vdev_sim_irqs i0;

		struct vdev_pci_stats p0;

		open_combo_msix(&h, c);
		cr_assert_eq(vdev_drv_negotiate(h.drv, ECHO_F_TEST, NULL), 0);
		cr_assert_eq(vdev_drv_queue_setup(h.drv, 0, 0, VIRTIO_MSI_NO_VECTOR), 0);
		cr_assert_eq(vdev_drv_driver_ok(h.drv), 0);
		msix_program(&h, 0, 0x100, false);
		msix_program(&h, 1, 0x101, false);
		set_config_vector(&h, c, VIRTIO_MSI_NO_VECTOR);
		i0 = irqs(&h);
		p0 = pstats(&h);
		request(c->name, &h, 0);
		echo_dev_host_set_scratch(h.dev, 5);
		CHECK_EQ(c->name, irqs(&h).msi_count, i0.msi_count);
		CHECK_EQ(c->name, irqs(&h).intx_raises, i0.intx_raises);
		CHECK_EQ(c->name, pstats(&h).msix_sent, p0.msix_sent);
		drain(c->name, &h, 0, 1);
		harness_close(&h);
	}
}

Test(interrupts, msix_masked_vector_sets_pba_and_unmask_delivers_once)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;

		open_msix_vectors(&h, c, true);  /* queue vector masked */

		request(c->name, &h, 0);
		request(c->name, &h, 0);
		CHECK_EQ(c->name, vdev_sim_msi_count(h.sim, 0x101), 0);
		CHECK_EQ(c->name, pba(&h), 1u << 1);
		cr_assert(pstats(&h).msix_pended >= 1, "%s: pended not counted", c->name);
		/* Other vectors are unaffected. */
		echo_dev_host_set_scratch(h.dev, 1);
		CHECK_EQ(c->name, vdev_sim_msi_count(h.sim, 0x100), 1);
		CHECK_EQ(c->name, pba(&h), 1u << 1);

		msix_set_mask(&h, 1, false);
		CHECK_EQ(c->name, vdev_sim_msi_count(h.sim, 0x101), 1);
		CHECK_EQ(c->name, pba(&h), 0);
		msix_set_mask(&h, 1, false);             /* unmasking again sends nothing */
		CHECK_EQ(c->name, vdev_sim_msi_count(h.sim, 0x101), 1);
		msix_set_mask(&h, 1, true);
		msix_set_mask(&h, 1, false);             /* nothing pending: nothing sent */
		CHECK_EQ(c->name, vdev_sim_msi_count(h.sim, 0x101), 1);
		request(c->name, &h, 0);
		CHECK_EQ(c->name, vdev_sim_msi_count(h.sim, 0x101), 2);
		drain(c->name, &h, 0, 3);
		harness_close(&h);
	}
}

Test(interrupts, msix_function_mask_holds_every_vector)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		int cap;
		uint32_t ctl;
		struct vdev_sim_irqs i0;

		open_msix_vectors(&h, c, false);
		i0 = irqs(&h);
		cap = vdev_drv_find_cap(h.drv, PCIY_MSIX, 0);
		cr_assert(cap > 0);
		ctl = vdev_drv_pci_read(h.drv, cap + 2, 2);
		vdev_drv_pci_write(h.drv, cap + 2, 2, ctl | MSIX_FUNC_MASK);

		request(c->name, &h, 0);
		echo_dev_host_set_scratch(h.dev, 1);
		CHECK_EQ(c->name, irqs(&h).msi_count, i0.msi_count);
		CHECK_EQ(c->name, pba(&h), 3);
		/* Entry mask bits are not changed by the function mask. */
		CHECK_EQ(c->name, brd(&h, 1, 12, 4) & 1, 0);

		vdev_drv_pci_write(h.drv, cap + 2, 2, ctl & ~MSIX_FUNC_MASK);
		CHECK_EQ(c->name, vdev_sim_msi_count(h.sim, 0x100), 1);
		CHECK_EQ(c->name, vdev_sim_msi_count(h.sim, 0x101), 1);
		CHECK_EQ(c->name, pba(&h), 0);
		CHECK_EQ(c->name, irqs(&h).intx_raises, i0.intx_raises);
		drain(c->name, &h, 0, 1);
		harness_close(&h);
	}
}

Test(interrupts, msix_disabled_by_driver_falls_back_to_isr_and_intx)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;

		open_combo_msix(&h, c);
		msix_disable(&h);
		cr_assert_eq(harness_ready(&h, ECHO_F_TEST, 0), 0, "%s: ready", c->name);
		echo_dev_host_set_scratch(h.dev, 1);
		CHECK_EQ(c->name, irqs(&h).msi_count, 0);
		CHECK_EQ(c->name, irqs(&h).intx_level, 1);
		CHECK_EQ(c->name, vdev_drv_read_isr(h.drv), VIRTIO_CR_ISR_CONF_CHANGED);
		harness_close(&h);
	}
}

/* ---------------- MSI ---------------- */

Test(interrupts, msi_enabled_through_config_space_sends_data_and_sets_isr)
{
	FOR_EACH_COMBO(c)
	{
		struct echo_dev_config e = {0};
		struct harness h;
		int cap;
		uint32_t ctl;

		e.pci.msi = true;
		open_combo(&h, c, &e);
		cap = vdev_drv_find_cap(h.drv, PCIY_MSI, 0);
		cr_assert(cap > 0, "%s: no MSI capability", c->name);
		vdev_drv_pci_write(h.drv, cap + 4, 4, MSI_ADDR);
		vdev_drv_pci_write(h.drv, cap + 8, 4, 0);
		vdev_drv_pci_write(h.drv, cap + 12, 2, 0x4500);
		ctl = vdev_drv_pci_read(h.drv, cap + 2, 2);
		vdev_drv_pci_write(h.drv, cap + 2, 2, ctl | 1);
		cr_assert(vdev_pci_msi_enabled(echo_dev_pci(h.dev)), "%s: MSI not enabled", c->name);
		cr_assert_eq(harness_ready(&h, ECHO_F_TEST, 0), 0, "%s: ready", c->name);

		request(c->name, &h, 0);
		CHECK_EQ(c->name, vdev_sim_msi_count(h.sim, 0x4500), 1);
		CHECK_EQ(c->name, irqs(&h).last_msi_addr, MSI_ADDR);
		CHECK_EQ(c->name, irqs(&h).intx_raises, 0);
		CHECK_EQ(c->name, pstats(&h).msi_sent, 1);
		CHECK_EQ(c->name, vdev_drv_read_isr(h.drv), VIRTIO_CR_ISR_QUEUES);
		echo_dev_host_set_scratch(h.dev, 1);
		CHECK_EQ(c->name, vdev_sim_msi_count(h.sim, 0x4500), 2);
		CHECK_EQ(c->name, vdev_drv_read_isr(h.drv), VIRTIO_CR_ISR_CONF_CHANGED);
		CHECK_EQ(c->name, irqs(&h).intx_raises, 0);

		/* MSI off again: back to INTx. */
		vdev_drv_pci_write(h.drv, cap + 2, 2, ctl & ~1u);
		echo_dev_host_set_scratch(h.dev, 2);
		CHECK_EQ(c->name, vdev_sim_msi_count(h.sim, 0x4500), 2);
		CHECK_EQ(c->name, irqs(&h).intx_level, 1);
		drain(c->name, &h, 0, 1);
		harness_close(&h);
	}
}

/* ---------------- suppression and vq_endchains ---------------- */

Test(interrupts, no_interrupt_flag_suppresses_queue_interrupt)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		uint64_t raises, supp;

		open_ready(&h, c, NULL, ECHO_F_TEST, 0);
		vdev_drv_disable_irq(h.drv, 0);
		raises = irqs(&h).intx_raises;
		supp = stats(&h).interrupts_suppressed;
		request(c->name, &h, 0);
		CHECK_EQ(c->name, irqs(&h).intx_raises, raises);
		CHECK_EQ(c->name, vdev_drv_read_isr(h.drv), 0);
		CHECK_EQ(c->name, stats(&h).interrupts_suppressed, supp + 1);
		drain(c->name, &h, 0, 1);   /* the work was still done */

		vdev_drv_enable_irq(h.drv, 0);
		request(c->name, &h, 0);
		CHECK_EQ(c->name, irqs(&h).intx_raises, raises + 1);
		CHECK_EQ(c->name, vdev_drv_read_isr(h.drv), VIRTIO_CR_ISR_QUEUES);
		drain(c->name, &h, 0, 1);
		harness_close(&h);
	}
}

Test(interrupts, notify_on_empty_overrides_no_interrupt_when_ring_drained)
{
	FOR_EACH_LEGACY(c)
	{
		struct harness h;
		uint64_t raises;

		open_ready(&h, c, NULL, ECHO_F_TEST | VIRTIO_F_NOTIFY_ON_EMPTY, 0);
		cr_assert(h.dev->base.negotiated_caps & VIRTIO_F_NOTIFY_ON_EMPTY);
		vdev_drv_disable_irq(h.drv, 0);
		raises = irqs(&h).intx_raises;
		request(c->name, &h, 0);  /* echo ends with vq_endchains(vq, 1) */
		CHECK_EQ(c->name, irqs(&h).intx_raises, raises + 1);
		CHECK_EQ(c->name, vdev_drv_read_isr(h.drv), VIRTIO_CR_ISR_QUEUES);
		drain(c->name, &h, 0, 1);
		harness_close(&h);
	}
}

Test(interrupts, notify_on_empty_needs_used_all_avail)
{
	FOR_EACH_LEGACY(c)
	{
		struct echo_dev_config e = {.manual = true};
		struct virtio_vq_info *vq;
		struct iovec iov[4];
		uint16_t flags[4], head;
		struct harness h;
		uint64_t raises;

		open_ready(&h, c, &e, ECHO_F_TEST | VIRTIO_F_NOTIFY_ON_EMPTY, 0);
		vq = &h.dev->vq[0];
		vdev_drv_disable_irq(h.drv, 0);
		raises = irqs(&h).intx_raises;
		request(c->name, &h, 0);
		cr_assert(vq_getchain(vq, &head, iov, 4, flags) > 0);
		vq_relchain(vq, head, 0);
		vq_endchains(vq, 0);       /* not drained: NO_INTERRUPT holds */
		CHECK_EQ(c->name, irqs(&h).intx_raises, raises);
		harness_close(&h);
	}
}

Test(interrupts, endchains_without_used_chains_raises_nothing)
{
	FOR_EACH_COMBO(c)
	{
		struct echo_dev_config e = {.manual = true};
		struct harness h;
		uint64_t raises, ints;
		uint64_t feat = ECHO_F_TEST;

		if (c->access == VDEV_DRV_LEGACY)
			feat |= VIRTIO_F_NOTIFY_ON_EMPTY;
		open_ready(&h, c, &e, feat, 0);
		raises = irqs(&h).intx_raises;
		ints = stats(&h).interrupts;
		vq_endchains(&h.dev->vq[0], 1);
		vq_endchains(&h.dev->vq[0], 0);
		CHECK_EQ(c->name, irqs(&h).intx_raises, raises);
		CHECK_EQ(c->name, stats(&h).interrupts, ints);
		CHECK_EQ(c->name, vdev_drv_read_isr(h.drv), 0);
		harness_close(&h);
	}
}

Test(interrupts, endchains_raises_one_interrupt_per_batch)
{
	FOR_EACH_COMBO(c)
	{
		struct echo_dev_config e = {.manual = true};
		struct virtio_vq_info *vq;
		struct harness h;
		uint64_t raises, ints;

		open_ready(&h, c, &e, ECHO_F_TEST, 0);
		vq = &h.dev->vq[0];
		for (int i = 0; i < 3; i++)
			request(c->name, &h, 0);
		CHECK_EQ(c->name, h.dev->kicks, 3);
		raises = irqs(&h).intx_raises;
		ints = stats(&h).interrupts;
		for (int i = 0; i < 3; i++) {
			struct iovec iov[4];
			uint16_t flags[4], head;

			cr_assert_eq(vq_getchain(vq, &head, iov, 4, flags), 2, "%s: chain %d", c->name,
				     i);
			vq_relchain(vq, head, 8);
		}
		CHECK_EQ(c->name, irqs(&h).intx_raises, raises); /* nothing before endchains */
		vq_endchains(vq, 1);
		CHECK_EQ(c->name, irqs(&h).intx_raises, raises + 1);
		CHECK_EQ(c->name, stats(&h).interrupts, ints + 1);
		vq_endchains(vq, 1);                             /* nothing new: nothing sent */
		CHECK_EQ(c->name, stats(&h).interrupts, ints + 1);
		CHECK_EQ(c->name, vdev_drv_read_isr(h.drv), VIRTIO_CR_ISR_QUEUES);
		drain(c->name, &h, 0, 3);
		harness_close(&h);
	}
}

Test(interrupts, vq_interrupt_raises_without_checks)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		uint64_t raises;

		open_ready(&h, c, NULL, ECHO_F_TEST, 0);
		vdev_drv_disable_irq(h.drv, 0);
		raises = irqs(&h).intx_raises;
		vq_interrupt(&h.dev->base, &h.dev->vq[0]);
		CHECK_EQ(c->name, irqs(&h).intx_raises, raises + 1);
		CHECK_EQ(c->name, vdev_drv_read_isr(h.drv), VIRTIO_CR_ISR_QUEUES);
		harness_close(&h);
	}
}
