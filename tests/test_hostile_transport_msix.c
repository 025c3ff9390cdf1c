/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hostile-guest MSI-X table and vector programming, HOSTILE.md H09-H10.
 * Each test names its item and checks the outcome HOSTILE.md and docs/behaviour.md
 * state.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "hostile_transport_checks.h"

/* ---------------- H09 ---------------- */

Test(hostile_transport, H09_msix_table_and_pba_abuse)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		uint32_t table[8];
		uint64_t r;
		struct snap s;

		open_combo_msix(&h, c);
		cr_assert_eq(harness_ready(&h, ECHO_F_TEST, 0), 0);
		for (int v = 0; v < 2; v++)
			msix_program(&h, v, 0x100u + (unsigned)v, false);
		for (unsigned i = 0; i < 8; i++)
			table[i] = (uint32_t)brd(&h, 1, 4 * i, 4);
		s = snap_take(&h);
		r = refusals(&h);

		/* 1, 2 and 3-byte accesses to the table */
		for (int w = 1; w <= 3; w++) {
			for (unsigned off = 0; off < 32; off += 4) {
				cr_assert_eq(brd(&h, 1, off, w), 0, "%s: %d-byte table read at %u",
					     c->name, w, off);
				bwr(&h, 1, off, w, 0xffffff);
			}
		}
		/* unaligned 4 and 8-byte accesses */
		CHECK_EQ(c->name, brd(&h, 1, 2, 4), 0);
		CHECK_EQ(c->name, brd(&h, 1, 4, 8), 0);
		bwr(&h, 1, 6, 4, 0xffffffff);
		bwr(&h, 1, 12, 8, 0);
		cr_assert(refusals(&h) >= r + 3 * 8 * 2 + 4, "%s: table refusals not counted",
			  c->name);
		/* past the table (2 entries), before the PBA */
		bwr(&h, 1, 0x20, 4, 0xdeadbeef);
		bwr(&h, 1, 0x7f8, 8, ~0ULL);
		CHECK_EQ(c->name, brd(&h, 1, 0x20, 4), 0);
		CHECK_EQ(c->name, brd(&h, 1, 0x7f8, 8), 0);
		/* the PBA is read-only */
		r = refusals(&h);
		bwr(&h, 1, 0x800, 4, 0xffffffff);
		bwr(&h, 1, 0x800, 8, ~0ULL);
		cr_assert(refusals(&h) >= r + 2, "%s: PBA writes not counted", c->name);
		CHECK_EQ(c->name, brd(&h, 1, 0x800, 8), 0);
		/* past the PBA and past the BAR */
		CHECK_EQ(c->name, brd(&h, 1, 0x808, 4), 0);
		CHECK_EQ(c->name, brd(&h, 1, 0x1000, 4), 0);
		bwr(&h, 1, 0x1000, 4, 1);

		for (unsigned i = 0; i < 8; i++)
			cr_assert_eq((uint32_t)brd(&h, 1, 4 * i, 4), table[i],
				     "%s: table dword %u changed", c->name, i);
		expect_not_broken(c->name, &h, &s);

		/* A pending bit survives a PBA write; unmasking delivers it once. */
		bwr(&h, 1, 16 + 12, 4, 1);
		roundtrip(c->name, &h, 0);
		CHECK_EQ(c->name, brd(&h, 1, 0x800, 4) & 2, 2);
		bwr(&h, 1, 0x800, 4, 0);
		CHECK_EQ(c->name, brd(&h, 1, 0x800, 4) & 2, 2);
		CHECK_EQ(c->name, vdev_sim_msi_count(h.sim, 0x101), 0);
		bwr(&h, 1, 16 + 12, 4, 0);
		CHECK_EQ(c->name, vdev_sim_msi_count(h.sim, 0x101), 1);
		CHECK_EQ(c->name, brd(&h, 1, 0x800, 4), 0);
		harness_close(&h);
	}
}

/* ---------------- H10 ---------------- */

static uint16_t get_cfg_vector(struct harness *h, const struct fx_mode *c)
{
	return (uint16_t)(is_legacy(c) ? lrd(h, VIRTIO_CR_CFGVEC, 2) : crd(h, VIRTIO_COMMON_MSIX, 2));
}

static void set_q_vector(struct harness *h, const struct fx_mode *c, uint16_t q, uint16_t v)
{
	if (is_legacy(c)) {
		lwr(h, VIRTIO_CR_QSEL, 2, q);
		lwr(h, VIRTIO_CR_QVEC, 2, v);
	} else {
		cwr(h, VIRTIO_COMMON_Q_SELECT, 2, q);
		cwr(h, VIRTIO_COMMON_Q_MSIX, 2, v);
	}
}

static uint16_t get_q_vector(struct harness *h, const struct fx_mode *c, uint16_t q)
{
	if (is_legacy(c)) {
		lwr(h, VIRTIO_CR_QSEL, 2, q);
		return (uint16_t)lrd(h, VIRTIO_CR_QVEC, 2);
	}
	cwr(h, VIRTIO_COMMON_Q_SELECT, 2, q);
	return (uint16_t)crd(h, VIRTIO_COMMON_Q_MSIX, 2);
}

Test(hostile_transport, H10_vector_past_table_reads_no_vector_and_sends_nothing)
{
	static const uint16_t bogus[] = {2, 3, 0x7ff, 0x800, 0xfffe};

	FOR_EACH_COMBO(c)
	{
		for (size_t i = 0; i < sizeof(bogus) / sizeof(bogus[0]); i++) {
			struct harness h;
			struct vdev_sim_irqs i0;

			open_combo_msix(&h, c); /* 1 queue: vectors 0 and 1 */
			for (unsigned v = 0; v < 2; v++) {
				bwr(&h, 1, 16 * v, 4, MSI_ADDR);
				bwr(&h, 1, 16 * v + 8, 4, v);
				bwr(&h, 1, 16 * v + 12, 4, 0);
			}
			cr_assert_eq(vdev_drv_negotiate(h.drv, ECHO_F_TEST, NULL), 0);
			cr_assert_eq(vdev_drv_queue_setup(h.drv, 0, 0, VIRTIO_MSI_NO_VECTOR), 0);
			set_config_vector(&h, c, bogus[i]);
			CHECK_EQ(c->name, get_cfg_vector(&h, c), VIRTIO_MSI_NO_VECTOR);
			set_q_vector(&h, c, 0, bogus[i]);
			CHECK_EQ(c->name, get_q_vector(&h, c, 0), VIRTIO_MSI_NO_VECTOR);
			cr_assert_eq(vdev_drv_driver_ok(h.drv), 0);
			i0 = irqs(&h);
			roundtrip(c->name, &h, 0);
			echo_dev_host_set_scratch(h.dev, 1);
			CHECK_EQ(c->name, irqs(&h).msi_count, i0.msi_count);
			CHECK_EQ(c->name, irqs(&h).intx_raises, i0.intx_raises);
			/* valid vectors still take */
			set_config_vector(&h, c, 1);
			CHECK_EQ(c->name, get_cfg_vector(&h, c), 1);
			echo_dev_host_set_scratch(h.dev, 2);
			CHECK_EQ(c->name, vdev_sim_msi_count(h.sim, 1), 1);
			harness_close(&h);
		}
	}
}

Test(hostile_transport, H10_vectors_without_msix_read_no_vector)
{
	FOR_EACH_MODERN(c)
	{
		struct harness h;
		uint64_t raises;

		open_combo(&h, c, NULL);
		cr_assert_eq(vdev_drv_negotiate(h.drv, ECHO_F_TEST, NULL), 0);
		set_config_vector(&h, c, 0);
		CHECK_EQ(c->name, get_cfg_vector(&h, c), VIRTIO_MSI_NO_VECTOR);
		set_q_vector(&h, c, 0, 0);
		CHECK_EQ(c->name, get_q_vector(&h, c, 0), VIRTIO_MSI_NO_VECTOR);
		cr_assert_eq(vdev_drv_queue_setup(h.drv, 0, 0, VIRTIO_MSI_NO_VECTOR), 0);
		cr_assert_eq(vdev_drv_driver_ok(h.drv), 0);
		/* INTx keeps working */
		raises = irqs(&h).intx_raises;
		echo_dev_host_set_scratch(h.dev, 1);
		CHECK_EQ(c->name, irqs(&h).intx_raises, raises + 1);
		CHECK_EQ(c->name, irqs(&h).msi_count, 0);
		harness_close(&h);
	}
}
