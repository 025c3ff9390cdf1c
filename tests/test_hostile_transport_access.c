/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hostile-guest register widths, resets in flight and buffers outside RAM,
 * HOSTILE.md H11-H13.
 * Each test names its item and checks the outcome HOSTILE.md and docs/behaviour.md
 * state.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "hostile_transport_checks.h"

/* ---------------- H11 ---------------- */

Test(hostile_transport, H11_common_config_wrong_widths_leave_fields_unchanged)
{
	static const struct {
		uint64_t off;
		int width;
		uint64_t val;
	} bad[] = {
		{VIRTIO_COMMON_Q_SELECT, 4, 0x00080000},       /* queue_select + queue_size */
		{VIRTIO_COMMON_STATUS, 2, 0},                  /* status + generation: no reset */
		{VIRTIO_COMMON_NUMQ, 4, 0},                    /* num_queues + status + gen */
		{VIRTIO_COMMON_STATUS, 4, 0},
		{VIRTIO_COMMON_Q_DESCLO, 1, 0xff},
		{VIRTIO_COMMON_Q_DESCLO + 1, 1, 0xff},
		{VIRTIO_COMMON_Q_DESCLO + 2, 2, 0xffff},
		{VIRTIO_COMMON_Q_DESCLO + 4, 8, ~0ULL},        /* 64-bit at the high half */
		{VIRTIO_COMMON_Q_AVAILLO + 2, 4, 0},           /* straddles lo/hi */
		{VIRTIO_COMMON_DFSELECT, 8, 0x0000000100000001ULL},
		{VIRTIO_COMMON_DF + 1, 2, 0xffff},
		{VIRTIO_COMMON_GF, 2, 0xffff},
		{VIRTIO_COMMON_MSIX, 4, 0},
		{VIRTIO_COMMON_Q_ENABLE, 4, 0},
		{VIRTIO_COMMON_Q_SIZE, 1, 1},
		{VIRTIO_COMMON_Q_SIZE + 1, 1, 1},
		{VIRTIO_COMMON_Q_USEDHI, 8, ~0ULL},            /* runs past the end */
		{VIRTIO_COMMON_CFGGENERATION, 2, 0},
	};

	FOR_EACH_MODERN(c)
	{
		struct echo_dev_config e = {.nvq = 2};
		struct harness h;
		struct snap s;
		uint64_t before[NCOMMON], resets;

		open_combo(&h, c, &e);
		cr_assert_eq(vdev_drv_negotiate(h.drv, ECHO_F_TEST, NULL), 0);
		cr_assert_eq(vdev_drv_queue_setup(h.drv, 0, 64, VIRTIO_MSI_NO_VECTOR), 0);
		cwr(&h, VIRTIO_COMMON_Q_SELECT, 2, 1);
		program_queue(&h, 1, 32, 0x100000, 0x101000, 0x102000); /* not enabled */
		cwr(&h, VIRTIO_COMMON_DFSELECT, 4, 0);
		common_snapshot(&h, before);
		s = snap_take(&h);
		resets = stats(&h).resets;
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			uint64_t r = stats(&h).bad_accesses;

			bwr(&h, 4, bad[i].off, bad[i].width, bad[i].val);
			cr_assert(stats(&h).bad_accesses > r, "%s: write at %" PRIu64
				  " width %d not refused", c->name, bad[i].off, bad[i].width);
			expect_common_unchanged(c->name, &h, before, 0);
		}
		expect_not_broken(c->name, &h, &s);
		CHECK_EQ(c->name, stats(&h).resets, resets); /* the 2-byte status write was no reset */
		cr_assert_eq(vdev_drv_driver_ok(h.drv), 0);
		roundtrip(c->name, &h, 0);
		harness_close(&h);
	}
}

Test(hostile_transport, H11_notify_wrong_widths_and_unaligned_do_not_kick)
{
	static const struct {
		uint64_t off;
		int width;
	} bad[] = {{0, 1}, {0, 8}, {1, 2}, {2, 4}, {3, 1}, {4 + 1, 2}, {4 + 2, 4}, {0, 3}};

	FOR_EACH_MODERN(c)
	{
		struct echo_dev_config e = {.nvq = 2};
		struct harness h;
		struct snap s;

		open_ready(&h, c, &e, ECHO_F_TEST, 0);
		s = snap_take(&h);
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			bwr(&h, 4, VIRTIO_CAP_NOTIFY_OFFSET + bad[i].off, bad[i].width, 0);
			cr_assert_eq(h.dev->kicks, 0, "%s: notify at +%" PRIu64 " width %d kicked",
				     c->name, bad[i].off, bad[i].width);
		}
		CHECK_EQ(c->name, stats(&h).notifies, 0);
		expect_not_broken(c->name, &h, &s);
		roundtrip(c->name, &h, 0);
		roundtrip(c->name, &h, 1);
		harness_close(&h);
	}
}

Test(hostile_transport, H11_legacy_wrong_widths_leave_registers_unchanged)
{
	FOR_EACH_LEGACY(c)
	{
		struct harness h;
		struct snap s;
		uint64_t pfn;

		open_combo(&h, c, NULL);
		cr_assert_eq(vdev_drv_negotiate(h.drv, ECHO_F_TEST, NULL), 0);
		cr_assert_eq(vdev_drv_queue_setup(h.drv, 0, 0, VIRTIO_MSI_NO_VECTOR), 0);
		lwr(&h, VIRTIO_CR_QSEL, 2, 0);
		pfn = lrd(&h, VIRTIO_CR_PFN, 4);
		s = snap_take(&h);
		bwr(&h, 0, VIRTIO_CR_QSEL, 4, 0x00000005);   /* QSEL + QNOTIFY */
		bwr(&h, 0, VIRTIO_CR_STATUS, 2, 0);          /* STATUS + ISR */
		bwr(&h, 0, VIRTIO_CR_PFN, 1, 0);
		bwr(&h, 0, VIRTIO_CR_PFN + 2, 2, 0);
		bwr(&h, 0, VIRTIO_CR_PFN, 8, 0);
		bwr(&h, 0, VIRTIO_CR_GUESTCAP, 2, 0xffff);
		bwr(&h, 0, VIRTIO_CR_QNUM, 4, 0);
		CHECK_EQ(c->name, lrd(&h, VIRTIO_CR_QSEL, 2), 0);
		CHECK_EQ(c->name, lrd(&h, VIRTIO_CR_PFN, 4), pfn);
		CHECK_EQ(c->name, lrd(&h, VIRTIO_CR_STATUS, 1), ACK | DRV);
		CHECK_EQ(c->name, h.dev->base.negotiated_caps, ECHO_F_TEST);
		CHECK_EQ(c->name, h.dev->kicks, 0);
		CHECK_EQ(c->name, stats(&h).resets, s.st.resets);
		cr_assert(stats(&h).bad_accesses >= s.st.bad_accesses + 7, "%s: not counted",
			  c->name);
		expect_not_broken(c->name, &h, &s);
		harness_close(&h);
	}
}

/* ---------------- H12 ---------------- */

Test(hostile_transport, H12_reset_with_requests_in_flight_writes_nothing)
{
	FOR_EACH_COMBO(c)
	{
		struct echo_dev_config e = {.manual = true};
		struct harness h;
		uint64_t desc, avail, used, used_count;
		struct vdev_sim_irqs i0;
		struct virtio_vq_info *vq;
		uint16_t size, heads[2];
		uint8_t used_copy[4 + 8 * 2];
		void *outs[2];

		open_ready(&h, c, &e, ECHO_F_TEST, 0);
		vq = &h.dev->vq[0];
		size = vdev_drv_queue_size(h.drv, 0);
		cr_assert_eq(vdev_drv_queue_rings(h.drv, 0, &desc, &avail, &used), 0);
		for (int i = 0; i < 2; i++) {
			void *in;
			static int token[2];

			outs[i] = enqueue_inout(c->name, &h, 0, 8, &token[i], &in);
			memset(in, 0x77, 8);
			memset(outs[i], 0, 8);
		}
		vdev_drv_kick(h.drv, 0);
		CHECK_EQ(c->name, h.dev->kicks, 1);
		for (int i = 0; i < 2; i++) {
			struct iovec iov[4];
			uint16_t flags[4];

			cr_assert_eq(vq_getchain(vq, &heads[i], iov, 4, flags), 2);
			/* the backend "works" on host memory only; it writes no guest memory */
		}
		CHECK_EQ(c->name, vq->n_inflight, 2);

		cr_assert_eq(vdev_drv_reset(h.drv), 0);
		CHECK_EQ(c->name, vdev_drv_read_status(h.drv), 0);
		memcpy(used_copy, vdev_sim_ptr(h.sim, used, sizeof(used_copy)), sizeof(used_copy));
		i0 = irqs(&h);
		used_count = stats(&h).used;

		/* the backend completes after the reset */
		vq_relchain(vq, heads[0], 8);
		vq_relchain(vq, heads[1], 8);
		vq_endchains(vq, 1);

		CHECK_EQ(c->name, ld16(vdev_sim_ptr(h.sim, used + 2, 2)), 0);
		cr_assert(memcmp(used_copy, vdev_sim_ptr(h.sim, used, sizeof(used_copy)),
				 sizeof(used_copy)) == 0, "%s: used ring written after reset", c->name);
		CHECK_EQ(c->name, irqs(&h).intx_raises, i0.intx_raises);
		CHECK_EQ(c->name, irqs(&h).msi_count, i0.msi_count);
		CHECK_EQ(c->name, vdev_drv_read_isr(h.drv), 0);
		CHECK_EQ(c->name, stats(&h).used, used_count);
		CHECK_EQ(c->name, vq->n_inflight, 0);
		/* a second release of the same heads is just as harmless */
		vq_relchain(vq, heads[0], 8);
		vq_endchains(vq, 1);
		CHECK_EQ(c->name, ld16(vdev_sim_ptr(h.sim, used + 2, 2)), 0);
		(void)size;
		(void)desc;
		(void)avail;
		expect_recovers(c->name, &h);
		harness_close(&h);
	}
}

/* behaviour.md: a vq_relchain() of a head that is not in flight is ignored and logged. */
Test(hostile_transport, H12_completion_after_reset_is_logged)
{
	FOR_EACH_COMBO(c)
	{
		struct echo_dev_config e = {.manual = true};
		struct harness h;
		struct iovec iov[4];
		uint16_t flags[4], head;
		uint64_t logs;
		static int token;

		open_ready(&h, c, &e, ECHO_F_TEST, 0);
		enqueue_inout(c->name, &h, 0, 8, &token, NULL);
		vdev_drv_kick(h.drv, 0);
		cr_assert(vq_getchain(&h.dev->vq[0], &head, iov, 4, flags) > 0);
		cr_assert_eq(vdev_drv_reset(h.drv), 0);
		logs = vdev_sim_log_count(h.sim);
		vq_relchain(&h.dev->vq[0], head, 8);
		cr_assert(vdev_sim_log_count(h.sim) > logs, "%s: stale completion not logged",
			  c->name);
		harness_close(&h);
	}
}

Test(hostile_transport, H12_reset_in_flight_with_msix_sends_nothing)
{
	FOR_EACH_COMBO(c)
	{
		struct echo_dev_config e = {.manual = true, .pci = {.msix = true}};
		struct harness h;
		struct vdev_sim_irqs i0;
		struct virtio_vq_info *vq;
		uint16_t head;
		struct iovec iov[4];
		uint16_t flags[4];
		uint64_t desc, avail, used;
		int token;

		open_combo(&h, c, &e);
		cr_assert(vdev_pci_msix_enabled(echo_dev_pci(h.dev)));
		cr_assert_eq(harness_ready(&h, ECHO_F_TEST, 0), 0);
		cr_assert_eq(vdev_drv_queue_rings(h.drv, 0, &desc, &avail, &used), 0);
		vq = &h.dev->vq[0];
		enqueue_inout(c->name, &h, 0, 8, &token, NULL);
		vdev_drv_kick(h.drv, 0);
		cr_assert(vq_getchain(vq, &head, iov, 4, flags) > 0);
		cr_assert_eq(vdev_drv_reset(h.drv), 0);
		i0 = irqs(&h);
		vq_relchain(vq, head, 8);
		vq_endchains(vq, 1);
		CHECK_EQ(c->name, irqs(&h).msi_count, i0.msi_count);
		CHECK_EQ(c->name, ld16(vdev_sim_ptr(h.sim, used + 2, 2)), 0);
		harness_close(&h);
	}
}

/* ---------------- H13 ---------------- */

enum bad_buf { BUF_OWN_BAR_READ, BUF_OWN_BAR_WRITE, BUF_OUTSIDE_RAM, BUF_PAST_END, BUF_STRADDLE,
	       BUF_HOLE, BUF_MSIX_BAR };

static const char *bad_buf_name[] = {"readable buffer on own BAR", "writable buffer on own BAR",
				     "outside RAM", "just past end of RAM",
				     "straddles end of RAM", "in a hole", "on the MSI-X BAR"};

Test(hostile_transport, H13_buffer_not_in_ram_is_refused_and_breaks_queue)
{
	FOR_EACH_COMBO(c)
	{
		for (int k = BUF_OWN_BAR_READ; k <= BUF_MSIX_BAR; k++) {
			struct harness h;
			struct snap s;
			void *in, *out, *tok;
			uint64_t gin, gout, bar4 = 0;
			uint32_t inlen = 16, len;
			struct vdev_drv_seg segs[2];
			int token;
			uint8_t status_before;
			char ctx[96];

			if ((k == BUF_OWN_BAR_READ || k == BUF_OWN_BAR_WRITE) &&
			    c->mode == VDEV_PCI_LEGACY)
				continue; /* legacy has only an I/O BAR: no memory address */
			if (k == BUF_MSIX_BAR && c->mode != VDEV_PCI_LEGACY)
				continue; /* covered by BAR 4 for the others */
			snprintf(ctx, sizeof(ctx), "%s: %s", c->name, bad_buf_name[k]);
			if (k == BUF_MSIX_BAR) {
				/* MSI-X present (BAR 1 in memory space), then switched off so
				 * the config interrupt shows in the ISR. */
				open_combo_msix(&h, c);
				msix_disable(&h);
			} else {
				open_combo(&h, c, NULL);
			}
			cr_assert_eq(harness_ready(&h, ECHO_F_TEST, 0), 0, "%s: ready", ctx);
			gin = harness_buf(&h, 16, &in);
			gout = harness_buf(&h, 4096, &out);
			memset(in, 0x99, 16);
			if (c->mode != VDEV_PCI_LEGACY)
				bar4 = vdev_drv_bar_addr(h.drv, 4);
			switch (k) {
			case BUF_OWN_BAR_READ:
				gin = bar4 + VIRTIO_CAP_COMMON_OFFSET + VIRTIO_COMMON_STATUS;
				inlen = 1;
				break;
			case BUF_OWN_BAR_WRITE:
				gout = bar4 + VIRTIO_CAP_NOTIFY_OFFSET; /* a write here would kick */
				break;
			case BUF_OUTSIDE_RAM:
				gout = 0x40000000ULL;
				break;
			case BUF_PAST_END:
				gout = RAM_SIZE;
				break;
			case BUF_STRADDLE:
				gout = RAM_SIZE - 8;
				break;
			case BUF_HOLE:
				cr_assert_eq(vdev_sim_set_hole(h.sim, gout, 4096, true), 0);
				break;
			case BUF_MSIX_BAR:
				gout = vdev_drv_bar_addr(h.drv, 1);
				cr_assert(gout != 0, "%s: BAR 1 not programmed", ctx);
				break;
			}
			segs[0] = (struct vdev_drv_seg){gin, inlen, false};
			segs[1] = (struct vdev_drv_seg){gout, 16, true};
			cr_assert_eq(vdev_drv_enqueue(h.drv, 0, segs, 2, false, &token), 0);
			status_before = vdev_drv_read_status(h.drv);
			s = snap_take(&h);
			vdev_drv_kick(h.drv, 0);

			/* never re-entered the register model: one kick, no status change */
			CHECK_EQ(ctx, h.dev->kicks, 1);
			CHECK_EQ(ctx, stats(&h).notifies, s.st.notifies + 1);
			CHECK_EQ(ctx, h.dev->base.status & ~NEEDS_RESET, status_before);
			CHECK_EQ(ctx, h.dev->chain_errors, 1);
			CHECK_EQ(ctx, h.dev->echoed, 0);
			cr_assert(h.dev->vq[0].flags & VQ_BROKED, "%s: queue not broken", ctx);
			cr_assert(irqs(&h).translate_faults > s.irq.translate_faults,
				  "%s: no translation was refused", ctx);
			CHECK_EQ(ctx, vdev_drv_dequeue(h.drv, 0, &tok, &len), 0);
			expect_broken(ctx, &h, c, &s);
			expect_recovers(ctx, &h);
			harness_close(&h);
		}
	}
}
