/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hostile-guest inputs on queue set-up and kicks, HOSTILE.md H01-H05.
 * Each test names its item and checks the outcome HOSTILE.md and docs/behaviour.md
 * state.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "hostile_transport_checks.h"

/* ---------------- H01 ---------------- */

Test(hostile_transport, H01_queue_select_past_last_queue)
{
	static const uint16_t sels[] = {1, 2, 0x100, 0x8000, 0xffff};

	FOR_EACH_COMBO(c)
	{
		struct harness h;
		struct snap s;

		open_combo(&h, c, NULL); /* one queue */
		cr_assert_eq(vdev_drv_negotiate(h.drv, ECHO_F_TEST, NULL), 0);
		s = snap_take(&h);
		for (size_t i = 0; i < sizeof(sels) / sizeof(sels[0]); i++) {
			if (is_legacy(c)) {
				lwr(&h, VIRTIO_CR_QSEL, 2, sels[i]);
				CHECK_EQ(c->name, lrd(&h, VIRTIO_CR_QSEL, 2), sels[i]);
				CHECK_EQ(c->name, lrd(&h, VIRTIO_CR_QNUM, 2), 0);
				CHECK_EQ(c->name, lrd(&h, VIRTIO_CR_PFN, 4), 0);
				lwr(&h, VIRTIO_CR_PFN, 4, 0x100);
				CHECK_EQ(c->name, lrd(&h, VIRTIO_CR_PFN, 4), 0);
				CHECK_EQ(c->name, lrd(&h, VIRTIO_CR_QNUM, 2), 0);
				continue;
			}
			cwr(&h, VIRTIO_COMMON_Q_SELECT, 2, sels[i]);
			CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_SELECT, 2), sels[i]);
			for (int pass = 0; pass < 2; pass++) {
				CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_SIZE, 2), 0);
				CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_MSIX, 2), 0);
				CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_ENABLE, 2), 0);
				CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_NOFF, 2), 0);
				for (uint64_t off = VIRTIO_COMMON_Q_DESCLO; off < VIRTIO_COMMON_SIZE;
				     off += 4)
					CHECK_EQ(c->name, crd(&h, off, 4), 0);
				if (pass == 1)
					break;
				/* every write to the phantom queue is ignored */
				program_queue(&h, sels[i], 16, 0x10000, 0x11000, 0x12000);
				cwr(&h, VIRTIO_COMMON_Q_MSIX, 2, 0);
				cwr(&h, VIRTIO_COMMON_Q_ENABLE, 2, 1);
			}
		}
		expect_not_broken(c->name, &h, &s);
		/* queue 0 was not touched by any of it */
		if (is_legacy(c)) {
			lwr(&h, VIRTIO_CR_QSEL, 2, 0);
			CHECK_EQ(c->name, lrd(&h, VIRTIO_CR_QNUM, 2), 256);
			CHECK_EQ(c->name, lrd(&h, VIRTIO_CR_PFN, 4), 0);
		} else {
			cwr(&h, VIRTIO_COMMON_Q_SELECT, 2, 0);
			CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_SIZE, 2), 256);
			CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_ENABLE, 2), 0);
			CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_DESCLO, 4), 0);
		}
		cr_assert(!vq_ring_ready(&h.dev->vq[0]));
		expect_recovers(c->name, &h);
		harness_close(&h);
	}
}

Test(hostile_transport, H01_phantom_queue_vector_reads_zero_with_msix)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;

		open_combo_msix(&h, c);
		if (is_legacy(c)) {
			lwr(&h, VIRTIO_CR_QSEL, 2, 0xffff);
			lwr(&h, VIRTIO_CR_QVEC, 2, 1);
			CHECK_EQ(c->name, lrd(&h, VIRTIO_CR_QVEC, 2), 0);
		} else {
			cwr(&h, VIRTIO_COMMON_Q_SELECT, 2, 0xffff);
			cwr(&h, VIRTIO_COMMON_Q_MSIX, 2, 1);
			CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_MSIX, 2), 0);
		}
		harness_close(&h);
	}
}

/* ---------------- H02 ---------------- */


Test(hostile_transport, H02_notify_before_driver_ok_is_ignored)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		void *tok;
		int token;
		uint32_t len;

		open_combo(&h, c, NULL);
		cr_assert_eq(vdev_drv_negotiate(h.drv, ECHO_F_TEST, NULL), 0);
		cr_assert_eq(vdev_drv_queue_setup(h.drv, 0, 0, VIRTIO_MSI_NO_VECTOR), 0);
		enqueue_inout(c->name, &h, 0, 8, &token, NULL);
		expect_kick_ignored(c->name, &h, c, 0);
		CHECK_EQ(c->name, vdev_drv_dequeue(h.drv, 0, &tok, &len), 0);
		/* Once ready, the same request goes through. */
		cr_assert_eq(vdev_drv_driver_ok(h.drv), 0);
		kick_raw(&h, c, 0);
		CHECK_EQ(c->name, vdev_drv_dequeue(h.drv, 0, &tok, &len), 1);
		harness_close(&h);
	}
}

Test(hostile_transport, H02_notify_for_missing_or_disabled_queue_is_ignored)
{
	FOR_EACH_COMBO(c)
	{
		struct echo_dev_config e = {.nvq = 2};
		struct harness h;
		struct snap s;

		open_combo(&h, c, &e);
		cr_assert_eq(vdev_drv_negotiate(h.drv, ECHO_F_TEST, NULL), 0);
		cr_assert_eq(vdev_drv_queue_setup(h.drv, 0, 0, VIRTIO_MSI_NO_VECTOR), 0);
		cr_assert_eq(vdev_drv_driver_ok(h.drv), 0);
		s = snap_take(&h);
		expect_kick_ignored(c->name, &h, c, 1);      /* exists, never enabled */
		expect_kick_ignored(c->name, &h, c, 2);      /* does not exist */
		if (is_legacy(c)) {
			expect_kick_ignored(c->name, &h, c, 0x7fff);
			expect_kick_ignored(c->name, &h, c, 0xffff);
		} else {
			/* The notify page past the last queue's register. */
			expect_kick_ignored(c->name, &h, c, 100);
			expect_kick_ignored(c->name, &h, c, 1023);
		}
		CHECK_EQ(c->name, vdev_virtio_queue_notify(&h.dev->base, 1), -EINVAL);
		CHECK_EQ(c->name, vdev_virtio_queue_notify(&h.dev->base, 5), -EINVAL);
		CHECK_EQ(c->name, vdev_virtio_queue_notify(&h.dev->base, -1), -EINVAL);
		CHECK_EQ(c->name, h.dev->kicks, 0);
		expect_not_broken(c->name, &h, &s);
		roundtrip(c->name, &h, 0);
		harness_close(&h);
	}
}

Test(hostile_transport, H02_notify_for_broken_device_is_ignored)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;

		open_ready(&h, c, NULL, ECHO_F_TEST, 0);
		virtio_dev_error(&h.dev->base);
		expect_kick_ignored(c->name, &h, c, 0);
		CHECK_EQ(c->name, vdev_virtio_queue_notify(&h.dev->base, 0), -EINVAL);
		expect_recovers(c->name, &h);
		harness_close(&h);
	}
}

/* ---------------- H03 ---------------- */

Test(hostile_transport, H03_bad_queue_size_is_not_enabled)
{
	static const uint16_t sizes[] = {0, 3, 100, 255, 512, 0x8000, 0xffff};

	FOR_EACH_MODERN(c)
	{
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			struct harness h;
			struct snap s;
			uint64_t d, a, u;

			open_combo(&h, c, NULL); /* maximum 256 */
			cr_assert_eq(vdev_drv_negotiate(h.drv, ECHO_F_TEST, NULL), 0);
			/* Rings big enough for the maximum: only the size is wrong. */
			d = vdev_sim_alloc(h.sim, 16 * 256, 4096);
			a = vdev_sim_alloc(h.sim, 4096, 4096);
			u = vdev_sim_alloc(h.sim, 8192, 4096);
			program_queue(&h, 0, sizes[i], d, a, u);
			s = snap_take(&h);
			cwr(&h, VIRTIO_COMMON_Q_ENABLE, 2, 1);
			cr_assert_eq(crd(&h, VIRTIO_COMMON_Q_ENABLE, 2), 0,
				     "%s: size %u was enabled", c->name, sizes[i]);
			cr_assert(!vq_ring_ready(&h.dev->vq[0]));
			expect_broken(c->name, &h, c, &s);
			expect_recovers(c->name, &h);
			harness_close(&h);
		}
	}
}

Test(hostile_transport, H03_smaller_power_of_two_size_is_fine)
{
	FOR_EACH_MODERN(c)
	{
		struct harness h;

		open_combo(&h, c, NULL);
		cr_assert_eq(vdev_drv_negotiate(h.drv, ECHO_F_TEST, NULL), 0);
		cr_assert_eq(vdev_drv_queue_setup(h.drv, 0, 1, VIRTIO_MSI_NO_VECTOR), 0);
		cwr(&h, VIRTIO_COMMON_Q_SELECT, 2, 0);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_ENABLE, 2), 1);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_SIZE, 2), 1);
		CHECK_EQ(c->name, vdev_drv_read_status(h.drv) & NEEDS_RESET, 0);
		cr_assert_eq(vdev_drv_reset(h.drv), 0);
		cr_assert_eq(harness_ready(&h, ECHO_F_TEST, 2), 0, "%s: size 2", c->name);
		roundtrip(c->name, &h, 0);
		roundtrip(c->name, &h, 0);
		roundtrip(c->name, &h, 0);
		harness_close(&h);
	}
}

/* ---------------- H04 ---------------- */

Test(hostile_transport, H04_modern_geometry_rewrites_after_enable_are_ignored)
{
	FOR_EACH_MODERN(c)
	{
		struct echo_dev_config e = {.nvq = 2};
		struct harness h;
		struct snap s;
		uint64_t q0[NCOMMON], q1[NCOMMON];

		open_combo(&h, c, &e);
		cr_assert_eq(vdev_drv_negotiate(h.drv, ECHO_F_TEST, NULL), 0);
		cr_assert_eq(vdev_drv_queue_setup(h.drv, 0, 64, VIRTIO_MSI_NO_VECTOR), 0);
		cwr(&h, VIRTIO_COMMON_Q_SELECT, 2, 0);
		common_snapshot(&h, q0);
		CHECK_EQ(c->name, q0[FIRST_QUEUE_FIELD], 64);
		s = snap_take(&h);

		/* Enabled queue: size, addresses and enable are frozen. */
		program_queue(&h, 0, 128, 0x100000, 0x101000, 0x102000);
		cwr(&h, VIRTIO_COMMON_Q_ENABLE, 2, 0);
		expect_common_unchanged(c->name, &h, q0, FIRST_QUEUE_FIELD);
		cr_assert_eq(vdev_drv_driver_ok(h.drv), 0);

		/* After DRIVER_OK: a queue that was never enabled stays that way. */
		cwr(&h, VIRTIO_COMMON_Q_SELECT, 2, 1);
		common_snapshot(&h, q1);
		program_queue(&h, 1, 16, 0x200000, 0x201000, 0x202000);
		cwr(&h, VIRTIO_COMMON_Q_ENABLE, 2, 1);
		expect_common_unchanged(c->name, &h, q1, FIRST_QUEUE_FIELD);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_ENABLE, 2), 0);
		cr_assert(!vq_ring_ready(&h.dev->vq[1]));

		/* And queue 0, after DRIVER_OK, once more. */
		program_queue(&h, 0, 32, 0x300000, 0x301000, 0x302000);
		cwr(&h, VIRTIO_COMMON_Q_ENABLE, 2, 0);
		expect_common_unchanged(c->name, &h, q0, FIRST_QUEUE_FIELD);
		expect_not_broken(c->name, &h, &s);
		/* The device still uses the geometry validated at enable: 70 > 64 wraps it. */
		for (int i = 0; i < 70; i++)
			roundtrip(c->name, &h, 0);
		harness_close(&h);
	}
}

Test(hostile_transport, H04_legacy_pfn_rewrites_after_driver_ok_are_ignored)
{
	FOR_EACH_LEGACY(c)
	{
		struct harness h;
		struct snap s;
		uint64_t pfn, other;

		open_ready(&h, c, NULL, ECHO_F_TEST, 0);
		lwr(&h, VIRTIO_CR_QSEL, 2, 0);
		pfn = lrd(&h, VIRTIO_CR_PFN, 4);
		cr_assert(pfn != 0);
		other = vdev_sim_alloc(h.sim, 3 * 4096, 4096) >> 12;
		s = snap_take(&h);
		lwr(&h, VIRTIO_CR_PFN, 4, other);
		CHECK_EQ(c->name, lrd(&h, VIRTIO_CR_PFN, 4), pfn);
		lwr(&h, VIRTIO_CR_PFN, 4, 0);
		CHECK_EQ(c->name, lrd(&h, VIRTIO_CR_PFN, 4), pfn);
		cr_assert(vq_ring_ready(&h.dev->vq[0]));
		expect_not_broken(c->name, &h, &s);
		roundtrip(c->name, &h, 0);
		harness_close(&h);
	}
}

/* ---------------- H05 ---------------- */

enum ring_part { DESC, AVAIL, USED };

struct ring_case {
	const char *what;
	enum ring_part part;
	int kind; /* 0: absolute address, 1: offset from the part's own page, 2: other part */
	uint64_t val;
	enum ring_part base; /* kind 2: which part's page */
};

static const struct ring_case ring_cases[] = {
	{"desc at 0", DESC, 0, 0, DESC},
	{"avail at 0", AVAIL, 0, 0, DESC},
	{"used at 0", USED, 0, 0, DESC},
	{"desc misaligned", DESC, 1, 8, DESC},
	{"avail misaligned", AVAIL, 1, 1, DESC},
	{"used misaligned", USED, 1, 2, DESC},
	{"desc outside RAM", DESC, 0, 2 * RAM_SIZE, DESC},
	{"avail outside RAM", AVAIL, 0, 0x100000000ULL, DESC},
	{"used straddles end of RAM", USED, 0, RAM_SIZE - 64, DESC},
	{"desc straddles end of RAM", DESC, 0, RAM_SIZE - 128, DESC},
	{"avail overlaps desc", AVAIL, 2, 128, DESC},
	{"used overlaps avail", USED, 2, 4, AVAIL},
	{"used overlaps desc", USED, 2, 0, DESC},
	{"desc wraps 2^64", DESC, 0, 0xffffffffffffff00ULL, DESC},
	{"used wraps 2^64", USED, 0, 0xfffffffffffffff0ULL, DESC},
	{"avail wraps 2^64", AVAIL, 0, 0xfffffffffffffffeULL, DESC},
};

Test(hostile_transport, H05_bad_ring_addresses_are_rejected_at_enable)
{
	FOR_EACH_MODERN(c)
	{
		for (size_t i = 0; i < sizeof(ring_cases) / sizeof(ring_cases[0]); i++) {
			const struct ring_case *rc = &ring_cases[i];
			struct harness h;
			struct snap s;
			uint64_t page[3], addr[3];
			char ctx[96];

			snprintf(ctx, sizeof(ctx), "%s: %s", c->name, rc->what);
			open_combo(&h, c, NULL);
			cr_assert_eq(vdev_drv_negotiate(h.drv, ECHO_F_TEST, NULL), 0);
			for (int p = 0; p < 3; p++) {
				page[p] = vdev_sim_alloc(h.sim, 4096, 4096);
				addr[p] = page[p];
			}
			if (rc->kind == 0)
				addr[rc->part] = rc->val;
			else if (rc->kind == 1)
				addr[rc->part] = page[rc->part] + rc->val;
			else
				addr[rc->part] = page[rc->base] + rc->val;
			program_queue(&h, 0, 16, addr[DESC], addr[AVAIL], addr[USED]);
			s = snap_take(&h);
			cwr(&h, VIRTIO_COMMON_Q_ENABLE, 2, 1);
			cr_assert_eq(crd(&h, VIRTIO_COMMON_Q_ENABLE, 2), 0, "%s: enabled", ctx);
			expect_broken(ctx, &h, c, &s);
			expect_recovers(ctx, &h);
			harness_close(&h);
		}
	}
}

Test(hostile_transport, H05_ring_in_a_hole_is_rejected_at_enable)
{
	FOR_EACH_MODERN(c)
	{
		for (int part = 0; part < 3; part++) {
			struct harness h;
			struct snap s;
			uint64_t page[3];

			open_combo(&h, c, NULL);
			cr_assert_eq(vdev_drv_negotiate(h.drv, ECHO_F_TEST, NULL), 0);
			for (int p = 0; p < 3; p++)
				page[p] = vdev_sim_alloc(h.sim, 4096, 4096);
			cr_assert_eq(vdev_sim_set_hole(h.sim, page[part], 4096, true), 0);
			program_queue(&h, 0, 16, page[DESC], page[AVAIL], page[USED]);
			s = snap_take(&h);
			cwr(&h, VIRTIO_COMMON_Q_ENABLE, 2, 1);
			CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_ENABLE, 2), 0);
			expect_broken(c->name, &h, c, &s);
			expect_recovers(c->name, &h);
			harness_close(&h);
		}
	}
}

Test(hostile_transport, H05_legacy_bad_pfn_breaks_the_device)
{
	FOR_EACH_LEGACY(c)
	{
		for (int k = 0; k < 4; k++) {
			struct harness h;
			struct snap s;
			uint64_t pfn = 0;
			static const char *what[] = {"outside RAM", "straddles end of RAM",
						     "huge pfn", "used ring in a hole"};
			char ctx[96];

			snprintf(ctx, sizeof(ctx), "%s: %s", c->name, what[k]);
			open_combo(&h, c, NULL);
			cr_assert_eq(vdev_drv_negotiate(h.drv, ECHO_F_TEST, NULL), 0);
			switch (k) {
			case 0: pfn = (2 * RAM_SIZE) >> 12; break;
			case 1: pfn = (RAM_SIZE - 4096) >> 12; break; /* 256 entries need 3 pages */
			case 2: pfn = 0xffffffff; break;
			default: {
				uint64_t base = vdev_sim_alloc(h.sim, 3 * 4096, 4096);

				cr_assert_eq(vdev_sim_set_hole(h.sim, base + 8192, 4096, true), 0);
				pfn = base >> 12;
			}
			}
			lwr(&h, VIRTIO_CR_QSEL, 2, 0);
			s = snap_take(&h);
			lwr(&h, VIRTIO_CR_PFN, 4, pfn);
			cr_assert(!vq_ring_ready(&h.dev->vq[0]), "%s: queue mapped", ctx);
			expect_broken(ctx, &h, c, &s);
			expect_recovers(ctx, &h);
			harness_close(&h);
		}
	}
}
