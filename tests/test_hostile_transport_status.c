/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hostile-guest status, feature and device-config accesses, HOSTILE.md H06-H08.
 * Each test names its item and checks the outcome HOSTILE.md and docs/behaviour.md
 * state.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "hostile_transport_checks.h"

/* ---------------- H06 ---------------- */

Test(hostile_transport, H06_driver_ok_without_features_ok_refused)
{
	FOR_EACH_MODERN(c)
	{
		struct harness h;

		open_acked(&h, c, NULL);
		expect_status_refused(c->name, &h, ACK | DRV | DOK);
		/* A queue set up meanwhile is not kicked into service. */
		cr_assert_eq(vdev_drv_queue_setup(h.drv, 0, 0, VIRTIO_MSI_NO_VECTOR), 0);
		expect_kick_ignored(c->name, &h, c, 0);
		harness_close(&h);
	}
}

Test(hostile_transport, H06_clearing_bits_without_reset_refused)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		uint8_t st;

		open_ready(&h, c, NULL, ECHO_F_TEST, 0);
		st = vdev_drv_read_status(h.drv);
		expect_status_refused(c->name, &h, st & ~ACK);
		expect_status_refused(c->name, &h, st & ~DRV);
		expect_status_refused(c->name, &h, st & ~DOK);
		expect_status_refused(c->name, &h, ACK);
		roundtrip(c->name, &h, 0);
		harness_close(&h);
	}
}

Test(hostile_transport, H06_reserved_status_bits_refused)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		uint8_t st;

		open_ready(&h, c, NULL, ECHO_F_TEST, 0);
		st = vdev_drv_read_status(h.drv);
		expect_status_refused(c->name, &h, st | 0x10);
		expect_status_refused(c->name, &h, st | 0x20);
		expect_status_refused(c->name, &h, 0xff & ~NEEDS_RESET);
		roundtrip(c->name, &h, 0);
		harness_close(&h);
	}
}

Test(hostile_transport, H06_failed_then_kick_is_ignored)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		void *out, *tok;
		int token;
		uint32_t len;

		open_ready(&h, c, NULL, ECHO_F_TEST, 0);
		vdev_drv_write_status(h.drv, vdev_drv_read_status(h.drv) | FAILED);
		cr_assert(vdev_drv_read_status(h.drv) & FAILED);
		out = enqueue_inout(c->name, &h, 0, 8, &token, NULL);
		memset(out, 0, 8);
		expect_kick_ignored(c->name, &h, c, 0);
		CHECK_EQ(c->name, vdev_drv_dequeue(h.drv, 0, &tok, &len), 0);
		CHECK_EQ(c->name, h.dev->echoed, 0);
		expect_recovers(c->name, &h);
		harness_close(&h);
	}
}

Test(hostile_transport, H06_driver_ok_twice_is_harmless)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		uint8_t st;
		uint64_t refused, resets;

		open_ready(&h, c, NULL, ECHO_F_TEST, 0);
		roundtrip(c->name, &h, 0);
		st = vdev_drv_read_status(h.drv);
		refused = stats(&h).status_refused;
		resets = stats(&h).resets;
		for (int i = 0; i < 3; i++)
			vdev_drv_write_status(h.drv, st);
		CHECK_EQ(c->name, vdev_drv_read_status(h.drv), st);
		CHECK_EQ(c->name, stats(&h).status_refused, refused);
		CHECK_EQ(c->name, stats(&h).resets, resets);
		CHECK_EQ(c->name, h.dev->apply_calls, 1);
		cr_assert(vq_ring_ready(&h.dev->vq[0]));
		roundtrip(c->name, &h, 0);
		harness_close(&h);
	}
}

/* ---------------- H07 ---------------- */

Test(hostile_transport, H07_unoffered_features_leave_features_ok_clear)
{
	static const uint64_t extra[] = {1ULL << 5, 1ULL << 23, VIRTIO_F_RING_PACKED,
					 VIRTIO_F_ACCESS_PLATFORM, 1ULL << 63,
					 VIRTIO_F_NOTIFY_ON_EMPTY};

	FOR_EACH_MODERN(c)
	{
		for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
			struct harness h;

			open_acked(&h, c, NULL);
			write_features_ok(&h, ECHO_F_TEST | VIRTIO_F_VERSION_1 | extra[i]);
			cr_assert_eq(vdev_drv_read_status(h.drv) & FOK, 0,
				     "%s: FEATURES_OK kept with %#" PRIx64, c->name, extra[i]);
			CHECK_EQ(c->name, stats(&h).features_refused, 1);
			CHECK_EQ(c->name, h.dev->apply_calls, 0);
			harness_close(&h);
		}
	}
}

Test(hostile_transport, H07_legacy_unoffered_features_are_dropped)
{
	FOR_EACH_LEGACY(c)
	{
		struct harness h;

		open_acked(&h, c, NULL);
		lwr(&h, VIRTIO_CR_GUESTCAP, 4, 0xffffffff);
		CHECK_EQ(c->name, h.dev->base.negotiated_caps, (uint32_t)ECHO_DEFAULT_FEATURES);
		CHECK_EQ(c->name, h.dev->applied_features, (uint32_t)ECHO_DEFAULT_FEATURES);
		harness_close(&h);
	}
}

Test(hostile_transport, H07_features_changed_after_features_ok_are_ignored)
{
	FOR_EACH_MODERN(c)
	{
		struct harness h;

		open_ready(&h, c, NULL, ECHO_F_TEST, 0);
		write_modern_features(&h, ~0ULL);
		CHECK_EQ(c->name, h.dev->base.negotiated_caps, ECHO_F_TEST | VIRTIO_F_VERSION_1);
		CHECK_EQ(c->name, h.dev->apply_calls, 1);
		CHECK_EQ(c->name, h.dev->base.flags & VIRTIO_EVENT_IDX, 0);
		roundtrip(c->name, &h, 0);
		harness_close(&h);
	}
}

Test(hostile_transport, H07_feature_select_out_of_range)
{
	FOR_EACH_MODERN(c)
	{
		struct harness h;

		open_combo(&h, c, NULL);
		for (uint32_t sel = 2; sel < 40; sel += 7) {
			cwr(&h, VIRTIO_COMMON_DFSELECT, 4, sel);
			CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_DF, 4), 0);
			cwr(&h, VIRTIO_COMMON_GFSELECT, 4, sel);
			cwr(&h, VIRTIO_COMMON_GF, 4, 0xffffffff);
		}
		cwr(&h, VIRTIO_COMMON_DFSELECT, 4, 0xffffffff);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_DF, 4), 0);
		CHECK_EQ(c->name, h.dev->base.driver_features, 0);
		cr_assert_eq(harness_ready(&h, ECHO_F_TEST, 0), 0);
		CHECK_EQ(c->name, h.dev->base.negotiated_caps, ECHO_F_TEST | VIRTIO_F_VERSION_1);
		harness_close(&h);
	}
}

/* An indirect descriptor written straight into the driver's ring, unnegotiated. */
Test(hostile_transport, H07_indirect_descriptor_without_feature_breaks_queue)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		struct snap s;
		uint64_t desc, avail, used, table, gin, gout;
		uint16_t size;
		struct virtio_desc d;
		void *in, *out, *tp;

		open_ready(&h, c, NULL, ECHO_F_TEST, 0);
		CHECK_EQ(c->name, h.dev->base.negotiated_caps & VIRTIO_RING_F_INDIRECT_DESC, 0);
		size = vdev_drv_queue_size(h.drv, 0);
		cr_assert_eq(vdev_drv_queue_rings(h.drv, 0, &desc, &avail, &used), 0);
		gin = harness_buf(&h, 8, &in);
		gout = harness_buf(&h, 8, &out);
		memset(in, 0x11, 8);
		memset(out, 0, 8);
		table = harness_buf(&h, 32, &tp);
		d = (struct virtio_desc){gin, 8, VRING_DESC_F_NEXT, 1};
		memcpy(tp, &d, 16);
		d = (struct virtio_desc){gout, 8, VRING_DESC_F_WRITE, 0};
		memcpy((char *)tp + 16, &d, 16);
		d = (struct virtio_desc){table, 32, VRING_DESC_F_INDIRECT, 0};
		memcpy(vdev_sim_ptr(h.sim, desc, 16), &d, 16);
		st16(vdev_sim_ptr(h.sim, avail + 4, 2), 0);
		st16(vdev_sim_ptr(h.sim, avail + 2, 2), 1);
		s = snap_take(&h);
		vdev_drv_kick(h.drv, 0);
		CHECK_EQ(c->name, h.dev->chain_errors, 1);
		CHECK_EQ(c->name, h.dev->echoed, 0);
		cr_assert(h.dev->vq[0].flags & VQ_BROKED, "%s: queue not broken", c->name);
		CHECK_EQ(c->name, ld16(vdev_sim_ptr(h.sim, used + 2, 2)), 0);
		cr_assert(memcmp(out, "\0\0\0\0\0\0\0\0", 8) == 0, "%s: device wrote", c->name);
		expect_broken(c->name, &h, c, &s);
		/* A broken queue is not processed any more. */
		expect_kick_ignored(c->name, &h, c, 0);
		(void)size;
		expect_recovers(c->name, &h);
		harness_close(&h);
	}
}

/* Without EVENT_IDX the device neither honours used_event nor writes avail_event. */
Test(hostile_transport, H07_event_idx_fields_ignored_without_feature)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		uint64_t desc, avail, used, raises;
		uint16_t size;
		void *tok;
		int token;
		uint32_t len;

		open_ready(&h, c, NULL, ECHO_F_TEST, 0);
		size = vdev_drv_queue_size(h.drv, 0);
		cr_assert_eq(vdev_drv_queue_rings(h.drv, 0, &desc, &avail, &used), 0);
		st16(vdev_sim_ptr(h.sim, used + 4 + 8ULL * size, 2), 0xabcd); /* avail_event */
		enqueue_inout(c->name, &h, 0, 8, &token, NULL);
		/* used_event far away: would suppress the interrupt if it were honoured */
		st16(vdev_sim_ptr(h.sim, avail + 4 + 2ULL * size, 2), 0x7fff);
		raises = irqs(&h).intx_raises;
		vdev_drv_kick(h.drv, 0);
		CHECK_EQ(c->name, irqs(&h).intx_raises, raises + 1);
		CHECK_EQ(c->name, ld16(vdev_sim_ptr(h.sim, used + 4 + 8ULL * size, 2)), 0xabcd);
		CHECK_EQ(c->name, vdev_drv_dequeue(h.drv, 0, &tok, &len), 1);
		harness_close(&h);
	}
}

/* ---------------- H08 ---------------- */

static int cfg_bar(const struct fx_mode *c)
{
	return is_legacy(c) ? 0 : 4;
}

static uint64_t cfg_base(const struct fx_mode *c)
{
	return is_legacy(c) ? VIRTIO_CR_CFG0 : VIRTIO_CAP_DEVICE_OFFSET;
}

Test(hostile_transport, H08_device_config_past_end_straddling_and_odd_widths)
{
	static const struct {
		uint64_t off;
		int width;
	} bad[] = {
		{ECHO_CFG_SIZE, 1}, {ECHO_CFG_SIZE, 2}, {ECHO_CFG_SIZE, 4}, {ECHO_CFG_SIZE, 8},
		{100, 4},           {ECHO_CFG_SIZE - 1, 2}, {ECHO_CFG_SIZE - 2, 4},
		{ECHO_CFG_SIZE - 4, 8}, {17, 8},        {0, 3},  {4, 3}, {ECHO_CFG_SIZE - 3, 3},
		{0, 5},             {0, 16},            {0, 0},
	};

	FOR_EACH_COMBO(c)
	{
		struct harness h;
		struct snap s;
		uint8_t cfg[ECHO_CFG_SIZE];
		int bar = cfg_bar(c);
		uint64_t base = cfg_base(c);

		open_ready(&h, c, NULL, ECHO_F_TEST, 0);
		vdev_drv_write_config64(h.drv, ECHO_CFG_SCRATCH64, 0x8877665544332211ULL);
		vdev_drv_write_config32(h.drv, ECHO_CFG_SCRATCH, 0xfeedface);
		memcpy(cfg, h.dev->cfg, sizeof(cfg));
		s = snap_take(&h);
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			uint64_t r = refusals(&h);

			cr_assert_eq(brd(&h, bar, base + bad[i].off, bad[i].width), 0,
				     "%s: read off %" PRIu64 " width %d not refused", c->name,
				     bad[i].off, bad[i].width);
			bwr(&h, bar, base + bad[i].off, bad[i].width, ~0ULL);
			cr_assert(refusals(&h) >= r + 2, "%s: off %" PRIu64 " width %d not counted",
				  c->name, bad[i].off, bad[i].width);
		}
		cr_assert(memcmp(cfg, h.dev->cfg, sizeof(cfg)) == 0, "%s: config changed", c->name);
		/* valid 8-byte accesses around them still work */
		CHECK_EQ(c->name, brd(&h, bar, base + ECHO_CFG_SCRATCH64, 8), 0x8877665544332211ULL);
		CHECK_EQ(c->name, brd(&h, bar, base + ECHO_CFG_ID, 8), ECHO_ID_LE64);
		CHECK_EQ(c->name, brd(&h, bar, base + ECHO_CFG_SCRATCH, 8), 0x44332211feedfaceULL);
		expect_not_broken(c->name, &h, &s);
		roundtrip(c->name, &h, 0);
		harness_close(&h);
	}
}

Test(hostile_transport, H08_device_config_read_only_fields_refuse_writes)
{
	static const struct {
		uint64_t off;
		int width;
	} ro[] = {
		{ECHO_CFG_REQUESTS, 4}, {ECHO_CFG_REQUESTS, 1}, {ECHO_CFG_REQUESTS + 2, 2},
		{ECHO_CFG_ID, 8}, {ECHO_CFG_ID + 3, 1}, {ECHO_CFG_SCRATCH64 + 4, 8},
		{ECHO_CFG_REQUESTS, 8}, /* scratch half is writable, requests half is not */
	};

	FOR_EACH_COMBO(c)
	{
		struct harness h;
		struct snap s;
		uint8_t cfg[ECHO_CFG_SIZE];
		int bar = cfg_bar(c);
		uint64_t base = cfg_base(c);

		open_ready(&h, c, NULL, ECHO_F_TEST, 0);
		roundtrip(c->name, &h, 0);  /* requests = 1 */
		memcpy(cfg, h.dev->cfg, sizeof(cfg));
		s = snap_take(&h);
		for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
			uint64_t bad = stats(&h).bad_accesses;

			bwr(&h, bar, base + ro[i].off, ro[i].width, 0x5a5a5a5a5a5a5a5aULL);
			cr_assert(stats(&h).bad_accesses > bad, "%s: write at %" PRIu64
				  " width %d not counted", c->name, ro[i].off, ro[i].width);
			cr_assert(memcmp(cfg + ECHO_CFG_REQUESTS, h.dev->cfg + ECHO_CFG_REQUESTS, 4) == 0 &&
					  memcmp(cfg + ECHO_CFG_ID, h.dev->cfg + ECHO_CFG_ID, 8) == 0,
				  "%s: read-only config changed", c->name);
		}
		CHECK_EQ(c->name, vdev_drv_read_config32(h.drv, ECHO_CFG_REQUESTS), 1);
		expect_not_broken(c->name, &h, &s);
		harness_close(&h);
	}
}

Test(hostile_transport, H08_config_generation_changes_with_device_config)
{
	FOR_EACH_MODERN(c)
	{
		struct harness h;
		uint8_t gen;

		open_ready(&h, c, NULL, ECHO_F_TEST, 0);
		for (int i = 0; i < 300; i++) { /* across the 8-bit wrap */
			gen = (uint8_t)crd(&h, VIRTIO_COMMON_CFGGENERATION, 1);
			echo_dev_host_set_scratch(h.dev, (uint32_t)i);
			cr_assert((uint8_t)crd(&h, VIRTIO_COMMON_CFGGENERATION, 1) != gen,
				  "%s: change %d not visible in config_generation", c->name, i);
		}
		CHECK_EQ(c->name, vdev_drv_read_config32(h.drv, ECHO_CFG_SCRATCH), 299);
		harness_close(&h);
	}
}
