/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The legacy (virtio 0.9.5) register block in I/O BAR 0, register by register: what
 * each reads, what a write does, which widths it takes and which registers refuse
 * writes (docs/behaviour.md, "Register widths", "Queues", "Features"). Accesses go
 * straight to virtio_pci_read/virtio_pci_write on BAR 0 so the driver peer cannot
 * hide a mistake; both the legacy and the transitional function are covered.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "test_util.h"

/* One 32-byte echo request through the driver peer: in -> out, checked. */
static void roundtrip(const char *ctx, struct harness *h, uint16_t q)
{
	echo_roundtrip(ctx, h, q, 32, 0x5c, 0);
}

/* ---------------- HOSTCAP / GUESTCAP ---------------- */

Test(legacy_regs, hostcap_reads_low_32_bits_of_offered_features)
{
	FOR_EACH_LEGACY(c)
	{
		struct echo_dev_config e = {.features = ECHO_DEFAULT_FEATURES | VIRTIO_F_ANY_LAYOUT};
		struct harness h;

		open_combo(&h, c, &e);
		/* Legacy keeps the legacy-only bits NOTIFY_ON_EMPTY and ANY_LAYOUT. */
		CHECK_EQ(c->name, brd(&h, 0, VIRTIO_CR_HOSTCAP, 4),
			 (uint32_t)(ECHO_DEFAULT_FEATURES | VIRTIO_F_ANY_LAYOUT));
		harness_close(&h);
	}
}

Test(legacy_regs, hostcap_is_read_only)
{
	FOR_EACH_LEGACY(c)
	{
		const char *n = c->name;
		struct harness h;
		uint64_t before, bad;

		open_combo(&h, c, NULL);
		before = brd(&h, 0, VIRTIO_CR_HOSTCAP, 4);
		bad = stats(&h).bad_accesses;
		bwr(&h, 0, VIRTIO_CR_HOSTCAP, 4, 0xffffffff);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_HOSTCAP, 4), before);
		cr_assert(stats(&h).bad_accesses > bad, "%s: HOSTCAP write not counted", n);
		harness_close(&h);
	}
}

Test(legacy_regs, guestcap_write_negotiates_offered_bits_and_calls_apply_features)
{
	FOR_EACH_LEGACY(c)
	{
		const char *n = c->name;
		struct harness h;
		uint64_t logs;
		const uint32_t want = (uint32_t)(ECHO_F_TEST | VIRTIO_RING_F_INDIRECT_DESC);

		open_combo(&h, c, NULL);
		bwr(&h, 0, VIRTIO_CR_STATUS, 1, ACK);
		bwr(&h, 0, VIRTIO_CR_STATUS, 1, ACK | DRV);
		logs = vdev_sim_log_count(h.sim);
		/* Bit 5 is not offered: dropped and logged, the rest negotiated at once. */
		bwr(&h, 0, VIRTIO_CR_GUESTCAP, 4, want | (1u << 5));
		CHECK_EQ(n, h.dev->base.negotiated_caps, want);
		CHECK_EQ(n, h.dev->apply_calls, 1);
		CHECK_EQ(n, h.dev->applied_features, want);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_GUESTCAP, 4), want);
		cr_assert(vdev_sim_log_count(h.sim) > logs, "%s: dropped bits not logged", n);
		harness_close(&h);
	}
}

/* ---------------- PFN / QNUM / QSEL ---------------- */

/* A descriptor in host byte order, as a legacy guest sharing the host's writes it. */
static void put_desc_native(void *ring, int i, uint64_t addr, uint32_t len, uint16_t flags,
			    uint16_t next)
{
	struct virtio_desc d = {.addr = addr, .len = len, .flags = flags, .next = next};

	memcpy((char *)ring + 16 * i, &d, sizeof(d));
}

/*
 * Program a queue by PFN and check the device follows the legacy layout: avail right
 * after the descriptors, used at the next 4096 boundary. Small rings matter: there
 * avail does not start on a page boundary.
 */
Test(legacy_regs, pfn_programs_ring_at_legacy_layout)
{
	static const uint16_t sizes[] = {256, 16, 4};

	FOR_EACH_LEGACY(c)
	{
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			const char *n = c->name;
			struct echo_dev_config e = {.qsize = sizes[s]};
			uint16_t N = sizes[s];
			uint64_t avail_off = 16ULL * N;
			uint64_t used_off = (avail_off + 6 + 2ULL * N + 4095) & ~4095ULL;
			uint64_t total = (used_off + 6 + 8ULL * N + 4095) & ~4095ULL;
			struct harness h;
			uint64_t base, gin, gout;
			char *ring;
			void *in, *out;

			open_combo(&h, c, &e);
			base = vdev_sim_alloc(h.sim, total, 4096);
			cr_assert(base != 0);
			ring = vdev_sim_ptr(h.sim, base, total);
			memset(ring, 0, total);
			gin = harness_buf(&h, 16, &in);
			gout = harness_buf(&h, 16, &out);
			memset(in, 0xa7, 16);
			memset(out, 0, 16);
			put_desc_native(ring, 0, gin, 16, VRING_DESC_F_NEXT, 1);
			put_desc_native(ring, 1, gout, 16, VRING_DESC_F_WRITE, 0);
			st16(ring + avail_off + 4, 0); /* ring[0] = head 0 */
			st16(ring + avail_off + 2, 1); /* avail->idx = 1 */

			bwr(&h, 0, VIRTIO_CR_STATUS, 1, ACK);
			bwr(&h, 0, VIRTIO_CR_STATUS, 1, ACK | DRV);
			bwr(&h, 0, VIRTIO_CR_GUESTCAP, 4, ECHO_F_TEST);
			bwr(&h, 0, VIRTIO_CR_QSEL, 2, 0);
			CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_QNUM, 2), N);
			bwr(&h, 0, VIRTIO_CR_PFN, 4, base >> 12);
			CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_PFN, 4), base >> 12);
			bwr(&h, 0, VIRTIO_CR_STATUS, 1, ACK | DRV | DOK);
			bwr(&h, 0, VIRTIO_CR_QNOTIFY, 2, 0);

			CHECK_EQ(n, h.dev->echoed, 1);
			CHECK_EQ(n, ld16(ring + used_off + 2), 1);   /* used->idx */
			CHECK_EQ(n, ld32(ring + used_off + 4), 0);   /* used->ring[0].id */
			CHECK_EQ(n, ld32(ring + used_off + 8), 16);  /* used->ring[0].len */
			cr_assert(memcmp(in, out, 16) == 0, "%s/%u: data not echoed", n, N);
			harness_close(&h);
		}
	}
}

Test(legacy_regs, pfn_zero_disables_queue_before_driver_ok)
{
	FOR_EACH_LEGACY(c)
	{
		const char *n = c->name;
		struct harness h;
		struct vdev_virtio_stats st0, st1;

		open_combo(&h, c, NULL);
		cr_assert_eq(vdev_drv_negotiate(h.drv, ECHO_F_TEST, NULL), 0);
		cr_assert_eq(vdev_drv_queue_setup(h.drv, 0, 0, VIRTIO_MSI_NO_VECTOR), 0);
		bwr(&h, 0, VIRTIO_CR_QSEL, 2, 0);
		cr_assert(brd(&h, 0, VIRTIO_CR_PFN, 4) != 0, "%s: PFN not set by setup", n);
		cr_assert(vq_ring_ready(&h.dev->vq[0]), "%s: queue not ready after PFN", n);
		bwr(&h, 0, VIRTIO_CR_PFN, 4, 0);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_PFN, 4), 0);
		cr_assert(!vq_ring_ready(&h.dev->vq[0]), "%s: PFN 0 left the queue mapped", n);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_STATUS, 1) & VIRTIO_CR_STATUS_NEEDS_RESET, 0);
		/* A kick for the disabled queue is ignored. */
		bwr(&h, 0, VIRTIO_CR_STATUS, 1, ACK | DRV | DOK);
		vdev_virtio_get_stats(&h.dev->base, &st0);
		bwr(&h, 0, VIRTIO_CR_QNOTIFY, 2, 0);
		vdev_virtio_get_stats(&h.dev->base, &st1);
		CHECK_EQ(n, h.dev->kicks, 0);
		CHECK_EQ(n, st1.notifies_ignored, st0.notifies_ignored + 1);
		harness_close(&h);
	}
}

Test(legacy_regs, qnum_reports_device_maximum_and_is_read_only)
{
	FOR_EACH_LEGACY(c)
	{
		const char *n = c->name;
		struct echo_dev_config e = {.nvq = 2, .qsize = 128};
		struct harness h;
		uint64_t bad;

		open_combo(&h, c, &e);
		bwr(&h, 0, VIRTIO_CR_QSEL, 2, 1);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_QNUM, 2), 128);
		bad = stats(&h).bad_accesses;
		bwr(&h, 0, VIRTIO_CR_QNUM, 2, 16);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_QNUM, 2), 128);
		cr_assert(stats(&h).bad_accesses > bad, "%s: QNUM write not counted", n);
		CHECK_EQ(n, h.dev->vq[1].qsize, 128);
		harness_close(&h);
	}
}

Test(legacy_regs, qsel_selects_queue_and_missing_queue_reads_zero)
{
	FOR_EACH_LEGACY(c)
	{
		const char *n = c->name;
		struct echo_dev_config e = {.nvq = 2};
		struct harness h;
		uint64_t pfn0;

		open_combo(&h, c, &e);
		cr_assert_eq(vdev_drv_negotiate(h.drv, ECHO_F_TEST, NULL), 0);
		cr_assert_eq(vdev_drv_queue_setup(h.drv, 0, 0, VIRTIO_MSI_NO_VECTOR), 0);
		bwr(&h, 0, VIRTIO_CR_QSEL, 2, 0);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_QSEL, 2), 0);
		pfn0 = brd(&h, 0, VIRTIO_CR_PFN, 4);
		cr_assert(pfn0 != 0);
		bwr(&h, 0, VIRTIO_CR_QSEL, 2, 1);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_QSEL, 2), 1);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_PFN, 4), 0);      /* queue 1 not set up */
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_QNUM, 2), 256);
		bwr(&h, 0, VIRTIO_CR_QSEL, 2, 2);                  /* past the last queue */
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_QNUM, 2), 0);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_PFN, 4), 0);
		bwr(&h, 0, VIRTIO_CR_QSEL, 2, 0);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_PFN, 4), pfn0);
		harness_close(&h);
	}
}

/* ---------------- QNOTIFY ---------------- */

Test(legacy_regs, qnotify_value_names_the_queue)
{
	FOR_EACH_LEGACY(c)
	{
		const char *n = c->name;
		struct echo_dev_config e = {.nvq = 2};
		struct harness h;
		void *in, *out, *tok;
		uint32_t len;
		int token;

		open_ready(&h, c, &e, ECHO_F_TEST, 0);
		out = enqueue_inout(n, &h, 1, 8, &token, &in);
		memcpy(in, "12345678", 8);
		/* Kicking queue 0 does not serve queue 1. */
		bwr(&h, 0, VIRTIO_CR_QNOTIFY, 2, 0);
		CHECK_EQ(n, vdev_drv_dequeue(h.drv, 1, &tok, &len), 0);
		bwr(&h, 0, VIRTIO_CR_QNOTIFY, 2, 1);
		CHECK_EQ(n, vdev_drv_dequeue(h.drv, 1, &tok, &len), 1);
		CHECK_EQ(n, len, 8);
		cr_assert(memcmp(out, "12345678", 8) == 0);
		CHECK_EQ(n, h.dev->kicks, 2);
		harness_close(&h);
	}
}

Test(legacy_regs, qnotify_of_wrong_width_does_not_kick)
{
	FOR_EACH_LEGACY(c)
	{
		const char *n = c->name;
		struct harness h;
		uint64_t bad;

		open_ready(&h, c, NULL, ECHO_F_TEST, 0);
		bad = stats(&h).bad_accesses;
		bwr(&h, 0, VIRTIO_CR_QNOTIFY, 4, 0);
		bwr(&h, 0, VIRTIO_CR_QNOTIFY, 1, 0);
		CHECK_EQ(n, h.dev->kicks, 0);
		cr_assert(stats(&h).bad_accesses >= bad + 2, "%s: wrong-width kicks not counted", n);
		bwr(&h, 0, VIRTIO_CR_QNOTIFY, 2, 0);
		CHECK_EQ(n, h.dev->kicks, 1);
		harness_close(&h);
	}
}

/* ---------------- STATUS / ISR ---------------- */

Test(legacy_regs, status_register_reads_back_what_was_accepted)
{
	FOR_EACH_LEGACY(c)
	{
		const char *n = c->name;
		struct harness h;

		open_combo(&h, c, NULL);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_STATUS, 1), 0);
		bwr(&h, 0, VIRTIO_CR_STATUS, 1, ACK);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_STATUS, 1), ACK);
		CHECK_EQ(n, h.dev->base.status, ACK);
		bwr(&h, 0, VIRTIO_CR_STATUS, 1, ACK | DRV);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_STATUS, 1), ACK | DRV);
		bwr(&h, 0, VIRTIO_CR_STATUS, 1, 0);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_STATUS, 1), 0);
		harness_close(&h);
	}
}

Test(legacy_regs, isr_read_returns_and_clears_and_write_is_refused)
{
	FOR_EACH_LEGACY(c)
	{
		const char *n = c->name;
		struct harness h;
		uint64_t bad;

		open_ready(&h, c, NULL, ECHO_F_TEST, 0);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_ISR, 1), 0);
		echo_dev_host_set_scratch(h.dev, 7);
		bad = stats(&h).bad_accesses;
		bwr(&h, 0, VIRTIO_CR_ISR, 1, 0);   /* read-only: must not clear */
		cr_assert(stats(&h).bad_accesses > bad, "%s: ISR write not counted", n);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_ISR, 1), VIRTIO_CR_ISR_CONF_CHANGED);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_ISR, 1), 0);
		{
			void *tok;
			uint32_t len;
			int token;

			enqueue_inout(n, &h, 0, 8, &token, NULL);
			bwr(&h, 0, VIRTIO_CR_QNOTIFY, 2, 0);
			/* Read before the driver peer looks at the used ring. */
			CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_ISR, 1), VIRTIO_CR_ISR_QUEUES);
			CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_ISR, 1), 0);
			CHECK_EQ(n, vdev_drv_dequeue(h.drv, 0, &tok, &len), 1);
		}
		harness_close(&h);
	}
}

/* ---------------- MSI-X vectors and device config offset ---------------- */

Test(legacy_regs, msix_vector_registers_exist_while_msix_is_enabled)
{
	FOR_EACH_LEGACY(c)
	{
		const char *n = c->name;
		struct harness h;

		open_combo_msix(&h, c);
		/* echo: 1 queue -> 2 vectors (0, 1) */
		bwr(&h, 0, VIRTIO_CR_CFGVEC, 2, 0);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_CFGVEC, 2), 0);
		bwr(&h, 0, VIRTIO_CR_CFGVEC, 2, 1);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_CFGVEC, 2), 1);
		bwr(&h, 0, VIRTIO_CR_CFGVEC, 2, 2);       /* not a table entry */
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_CFGVEC, 2), VIRTIO_MSI_NO_VECTOR);
		bwr(&h, 0, VIRTIO_CR_CFGVEC, 2, VIRTIO_MSI_NO_VECTOR);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_CFGVEC, 2), VIRTIO_MSI_NO_VECTOR);

		bwr(&h, 0, VIRTIO_CR_QSEL, 2, 0);
		bwr(&h, 0, VIRTIO_CR_QVEC, 2, 1);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_QVEC, 2), 1);
		bwr(&h, 0, VIRTIO_CR_QVEC, 2, 0x7ff);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_QVEC, 2), VIRTIO_MSI_NO_VECTOR);
		/* 32-bit access over the two vector registers is the wrong width. */
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_CFGVEC, 4), 0);
		harness_close(&h);
	}
}

Test(legacy_regs, device_config_starts_at_20_without_msix)
{
	FOR_EACH_LEGACY(c)
	{
		const char *n = c->name;
		struct harness h;

		open_combo(&h, c, NULL);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_CFG0 + ECHO_CFG_ID, 4), 0x76656476);     /* "vdev" */
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_CFG0 + ECHO_CFG_ID, 8), ECHO_ID_LE64);
		bwr(&h, 0, VIRTIO_CR_CFG0 + ECHO_CFG_SCRATCH, 4, 0xcafef00d);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_CFG0 + ECHO_CFG_SCRATCH, 4), 0xcafef00d);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_CFG0 + ECHO_CFG_SCRATCH, 2), 0xf00d);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_CFG0 + ECHO_CFG_SCRATCH + 3, 1), 0xca);
		/* The driver helpers agree. */
		CHECK_EQ(n, vdev_drv_read_config32(h.drv, ECHO_CFG_SCRATCH), 0xcafef00d);
		harness_close(&h);
	}
}

Test(legacy_regs, device_config_starts_at_24_with_msix)
{
	FOR_EACH_LEGACY(c)
	{
		const char *n = c->name;
		struct harness h;

		open_combo_msix(&h, c);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_CFG1 + ECHO_CFG_ID, 4), 0x76656476);
		bwr(&h, 0, VIRTIO_CR_CFG1 + ECHO_CFG_SCRATCH, 4, 0x01020304);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_CFG1 + ECHO_CFG_SCRATCH, 4), 0x01020304);
		CHECK_EQ(n, vdev_drv_read_config32(h.drv, ECHO_CFG_SCRATCH), 0x01020304);
		CHECK_EQ(n, vdev_drv_read_config64(h.drv, ECHO_CFG_ID), ECHO_ID_LE64);
		harness_close(&h);
	}
}

Test(legacy_regs, device_config_widths_bounds_and_read_only_fields)
{
	FOR_EACH_LEGACY(c)
	{
		const char *n = c->name;
		const uint64_t cfg = VIRTIO_CR_CFG0;
		struct harness h;
		uint64_t bad;

		open_combo(&h, c, NULL);
		bwr(&h, 0, cfg + ECHO_CFG_SCRATCH64, 8, 0x1122334455667788ULL);
		CHECK_EQ(n, brd(&h, 0, cfg + ECHO_CFG_SCRATCH64, 8), 0x1122334455667788ULL);
		CHECK_EQ(n, brd(&h, 0, cfg + ECHO_CFG_SCRATCH64 + 4, 4), 0x11223344);
		/* Any offset works while the access stays inside the config. */
		CHECK_EQ(n, brd(&h, 0, cfg + ECHO_CFG_SCRATCH64 + 1, 2), 0x6677);
		CHECK_EQ(n, brd(&h, 0, cfg + ECHO_CFG_SIZE - 1, 1), 'o');

		bad = stats(&h).bad_accesses;
		CHECK_EQ(n, brd(&h, 0, cfg + ECHO_CFG_SIZE, 1), 0);           /* past the end */
		CHECK_EQ(n, brd(&h, 0, cfg + ECHO_CFG_SIZE - 2, 4), 0);       /* straddling */
		CHECK_EQ(n, brd(&h, 0, cfg + ECHO_CFG_SIZE - 4, 8), 0);
		CHECK_EQ(n, brd(&h, 0, cfg + ECHO_CFG_ID, 3), 0);             /* odd width */
		cr_assert(stats(&h).bad_accesses >= bad + 4, "%s: config refusals not counted", n);

		/* requests (offset 0) and id are read-only: the device refuses, counted. */
		bad = stats(&h).bad_accesses;
		bwr(&h, 0, cfg + ECHO_CFG_REQUESTS, 4, 0x99);
		bwr(&h, 0, cfg + ECHO_CFG_ID, 1, 'X');
		CHECK_EQ(n, brd(&h, 0, cfg + ECHO_CFG_REQUESTS, 4), 0);
		CHECK_EQ(n, brd(&h, 0, cfg + ECHO_CFG_ID, 1), 'v');
		cr_assert(stats(&h).bad_accesses >= bad + 2, "%s: refused writes not counted", n);
		harness_close(&h);
	}
}

/* ---------------- widths ---------------- */

Test(legacy_regs, every_header_register_refuses_wrong_widths)
{
	static const struct {
		const char *name;
		int off, width;
	} regs[] = {
		{"HOSTCAP", VIRTIO_CR_HOSTCAP, 4}, {"GUESTCAP", VIRTIO_CR_GUESTCAP, 4},
		{"PFN", VIRTIO_CR_PFN, 4},         {"QNUM", VIRTIO_CR_QNUM, 2},
		{"QSEL", VIRTIO_CR_QSEL, 2},       {"QNOTIFY", VIRTIO_CR_QNOTIFY, 2},
		{"STATUS", VIRTIO_CR_STATUS, 1},   {"ISR", VIRTIO_CR_ISR, 1},
	};
	static const int widths[] = {1, 2, 4, 8};

	FOR_EACH_LEGACY(c)
	{
		const char *n = c->name;
		struct harness h;
		uint64_t pfn, guest;

		open_combo(&h, c, NULL);
		cr_assert_eq(vdev_drv_negotiate(h.drv, ECHO_F_TEST, NULL), 0);
		cr_assert_eq(vdev_drv_queue_setup(h.drv, 0, 0, VIRTIO_MSI_NO_VECTOR), 0);
		bwr(&h, 0, VIRTIO_CR_QSEL, 2, 0);
		pfn = brd(&h, 0, VIRTIO_CR_PFN, 4);
		guest = brd(&h, 0, VIRTIO_CR_GUESTCAP, 4);
		echo_dev_host_set_scratch(h.dev, 1); /* ISR has bit 2 pending */

		for (size_t r = 0; r < sizeof(regs) / sizeof(regs[0]); r++) {
			for (size_t w = 0; w < 4; w++) {
				uint64_t bad = stats(&h).bad_accesses;

				if (widths[w] == regs[r].width)
					continue;
				cr_assert_eq(brd(&h, 0, (uint64_t)regs[r].off, widths[w]), 0,
					     "%s: %s read with width %d not refused", n,
					     regs[r].name, widths[w]);
				bwr(&h, 0, (uint64_t)regs[r].off, widths[w], 0);
				cr_assert(stats(&h).bad_accesses >= bad + 2,
					  "%s: %s width %d not counted", n, regs[r].name,
					  widths[w]);
			}
		}
		/* Unaligned accesses inside a register are refused as well. */
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_HOSTCAP + 2, 2), 0);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_QNUM + 1, 1), 0);
		bwr(&h, 0, VIRTIO_CR_PFN + 1, 1, 0);
		bwr(&h, 0, VIRTIO_CR_PFN + 2, 2, 0);

		/* Nothing moved: not the PFN, features, status, and not the pending ISR. */
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_QSEL, 2), 0);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_PFN, 4), pfn);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_GUESTCAP, 4), guest);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_STATUS, 1), ACK | DRV);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_ISR, 1), VIRTIO_CR_ISR_CONF_CHANGED);
		CHECK_EQ(n, h.dev->kicks, 0);
		harness_close(&h);
	}
}

Test(legacy_regs, access_past_bar_end_or_odd_width_is_refused)
{
	FOR_EACH_LEGACY(c)
	{
		const char *n = c->name;
		struct vdev_pci_bar_info info;
		struct harness h;
		uint64_t bad;

		open_combo(&h, c, NULL);
		cr_assert_eq(vdev_pci_bar_info(echo_dev_pci(h.dev), 0, &info), 0);
		bad = refusals(&h);
		CHECK_EQ(n, brd(&h, 0, info.size, 1), 0);
		CHECK_EQ(n, brd(&h, 0, info.size - 2, 4), 0);
		CHECK_EQ(n, brd(&h, 0, 0x10000, 4), 0);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_HOSTCAP, 3), 0);
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_HOSTCAP, 0), 0);
		bwr(&h, 0, info.size, 4, 0xffffffff);
		cr_assert(refusals(&h) >= bad + 6, "%s: refused BAR accesses not counted", n);
		/* The registers still answer and the device still works. */
		CHECK_EQ(n, brd(&h, 0, VIRTIO_CR_QNUM, 2), 256);
		cr_assert_eq(harness_ready(&h, ECHO_F_TEST, 0), 0);
		roundtrip(n, &h, 0);
		harness_close(&h);
	}
}
