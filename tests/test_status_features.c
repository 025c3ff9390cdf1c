/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The device-status state machine and feature negotiation (docs/behaviour.md,
 * "Features" and "Device status"), in every mode and through both interfaces of a
 * transitional function.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "test_util.h"

static void expect_status_accepted(const char *ctx, struct harness *h, uint8_t val)
{
	uint64_t refused = stats(h).status_refused;

	vdev_drv_write_status(h->drv, val);
	cr_assert_eq(vdev_drv_read_status(h->drv), val, "%s: status write %#x not taken (%#x)",
		     ctx, val, vdev_drv_read_status(h->drv));
	CHECK_EQ(ctx, stats(h).status_refused, refused);
	CHECK_EQ(ctx, h->dev->last_status, val);
}

/* One 16-byte echo request, checked. */
static void roundtrip(const char *ctx, struct harness *h, uint16_t q)
{
	echo_roundtrip(ctx, h, q, 16, 0x42, 0);
}

/* One status write and what the device must do with it. */
enum { REFUSED, ACCEPTED };

struct status_step {
	int outcome;
	uint8_t val;
};

/* A fresh device of the combo takes the status writes `steps` in order, each checked. */
static void status_steps(const struct fx_mode *c, const struct status_step *steps, size_t n)
{
	struct harness h;

	open_combo(&h, c, NULL);
	for (size_t i = 0; i < n; i++) {
		if (steps[i].outcome == ACCEPTED)
			expect_status_accepted(c->name, &h, steps[i].val);
		else
			expect_status_refused(c->name, &h, steps[i].val);
	}
	harness_close(&h);
}

#define NSTEPS(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------- modern negotiation ---------------- */

Test(status_features, modern_negotiation_success_applies_features_once)
{
	FOR_EACH_MODERN(c)
	{
		struct harness h;
		uint64_t acc = 0;
		const uint64_t want = ECHO_F_TEST | VIRTIO_RING_F_INDIRECT_DESC;

		open_combo(&h, c, NULL);
		cr_assert_eq(vdev_drv_negotiate(h.drv, want, &acc), 0, "%s: negotiate", c->name);
		CHECK_EQ(c->name, acc, want | VIRTIO_F_VERSION_1);
		CHECK_EQ(c->name, vdev_drv_read_status(h.drv), ACK | DRV | FOK);
		CHECK_EQ(c->name, h.dev->base.negotiated_caps, want | VIRTIO_F_VERSION_1);
		CHECK_EQ(c->name, h.dev->base.driver_features, want | VIRTIO_F_VERSION_1);
		CHECK_EQ(c->name, h.dev->apply_calls, 1);
		CHECK_EQ(c->name, h.dev->applied_features, want | VIRTIO_F_VERSION_1);
		CHECK_EQ(c->name, stats(&h).features_refused, 0);
		/* driver_feature reads back what is in force */
		cwr(&h, VIRTIO_COMMON_GFSELECT, 4, 0);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_GF, 4), (uint32_t)want);
		cwr(&h, VIRTIO_COMMON_GFSELECT, 4, 1);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_GF, 4), 1);
		cr_assert_eq(vdev_drv_driver_ok(h.drv), 0);
		CHECK_EQ(c->name, h.dev->apply_calls, 1);
		harness_close(&h);
	}
}

Test(status_features, modern_unoffered_feature_makes_features_ok_read_back_clear)
{
	FOR_EACH_MODERN(c)
	{
		struct harness h;

		open_acked(&h, c, NULL);
		/* bit 5 is not offered */
		write_features_ok(&h, ECHO_F_TEST | (1ULL << 5) | VIRTIO_F_VERSION_1);
		/* FEATURES_OK is refused, the rest of the write stands */
		CHECK_EQ(c->name, vdev_drv_read_status(h.drv), ACK | DRV);
		CHECK_EQ(c->name, stats(&h).features_refused, 1);
		CHECK_EQ(c->name, h.dev->apply_calls, 0);
		CHECK_EQ(c->name, h.dev->base.negotiated_caps, 0);
		/* and DRIVER_OK cannot follow */
		vdev_drv_write_status(h.drv, ACK | DRV | FOK | DOK);
		CHECK_EQ(c->name, vdev_drv_read_status(h.drv) & (FOK | DOK), 0);
		harness_close(&h);
	}
}

Test(status_features, modern_refusal_keeps_other_bits_of_same_write)
{
	FOR_EACH_MODERN(c)
	{
		struct harness h;

		open_combo(&h, c, NULL);
		vdev_drv_write_status(h.drv, ACK);
		write_modern_features(&h, ECHO_F_TEST | (1ULL << 7) | VIRTIO_F_VERSION_1);
		/* DRIVER and FEATURES_OK in one write: DRIVER stays, FEATURES_OK does not. */
		vdev_drv_write_status(h.drv, ACK | DRV | FOK);
		CHECK_EQ(c->name, vdev_drv_read_status(h.drv), ACK | DRV);
		CHECK_EQ(c->name, stats(&h).features_refused, 1);
		harness_close(&h);
	}
}

Test(status_features, modern_missing_version_1_is_refused)
{
	FOR_EACH_MODERN(c)
	{
		struct harness h;

		open_acked(&h, c, NULL);
		write_features_ok(&h, ECHO_F_TEST);
		CHECK_EQ(c->name, vdev_drv_read_status(h.drv), ACK | DRV);
		CHECK_EQ(c->name, stats(&h).features_refused, 1);
		CHECK_EQ(c->name, h.dev->apply_calls, 0);
		/* The driver may try again with VERSION_1: the same device accepts. */
		write_features_ok(&h, ECHO_F_TEST | VIRTIO_F_VERSION_1);
		CHECK_EQ(c->name, vdev_drv_read_status(h.drv), ACK | DRV | FOK);
		CHECK_EQ(c->name, h.dev->apply_calls, 1);
		CHECK_EQ(c->name, h.dev->applied_features, ECHO_F_TEST | VIRTIO_F_VERSION_1);
		harness_close(&h);
	}
}

Test(status_features, modern_legacy_only_and_packed_bits_are_refused)
{
	static const uint64_t bad[] = {VIRTIO_F_NOTIFY_ON_EMPTY, VIRTIO_F_ANY_LAYOUT,
				       VIRTIO_F_RING_PACKED};

	FOR_EACH_MODERN(c)
	{
		for (int i = 0; i < 3; i++) {
			struct echo_dev_config e = {.features = ECHO_DEFAULT_FEATURES |
								VIRTIO_F_ANY_LAYOUT |
								VIRTIO_F_RING_PACKED};
			struct harness h;

			open_acked(&h, c, &e);
			write_features_ok(&h, ECHO_F_TEST | VIRTIO_F_VERSION_1 | bad[i]);
			cr_assert_eq(vdev_drv_read_status(h.drv), ACK | DRV,
				     "%s: feature %#" PRIx64 " accepted", c->name, bad[i]);
			CHECK_EQ(c->name, stats(&h).features_refused, 1);
			harness_close(&h);
		}
	}
}

Test(status_features, feature_select_out_of_range_reads_zero_and_ignores_writes)
{
	static const uint32_t sels[] = {2, 3, 0x80000000u, 0xffffffffu};

	FOR_EACH_MODERN(c)
	{
		struct harness h;

		open_combo(&h, c, NULL);
		for (int i = 0; i < 4; i++) {
			cwr(&h, VIRTIO_COMMON_DFSELECT, 4, sels[i]);
			CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_DF, 4), 0);
			cwr(&h, VIRTIO_COMMON_GFSELECT, 4, sels[i]);
			cwr(&h, VIRTIO_COMMON_GF, 4, 0xffffffff);
			CHECK_EQ(c->name, h.dev->base.driver_features, 0);
		}
		/* A good negotiation still works afterwards. */
		cr_assert_eq(vdev_drv_negotiate(h.drv, ECHO_F_TEST, NULL), 0);
		CHECK_EQ(c->name, h.dev->base.negotiated_caps, ECHO_F_TEST | VIRTIO_F_VERSION_1);
		harness_close(&h);
	}
}

Test(status_features, modern_feature_writes_after_features_ok_are_refused)
{
	FOR_EACH_MODERN(c)
	{
		struct harness h;
		uint64_t bad;

		open_combo(&h, c, NULL);
		cr_assert_eq(vdev_drv_negotiate(h.drv, ECHO_F_TEST, NULL), 0);
		bad = stats(&h).bad_accesses;
		write_modern_features(&h, ECHO_F_TEST | VIRTIO_RING_F_INDIRECT_DESC |
						  VIRTIO_RING_F_EVENT_IDX | VIRTIO_F_VERSION_1);
		cr_assert(stats(&h).bad_accesses >= bad + 2, "%s: late feature writes not counted",
			  c->name);
		CHECK_EQ(c->name, h.dev->base.driver_features, ECHO_F_TEST | VIRTIO_F_VERSION_1);
		CHECK_EQ(c->name, h.dev->base.negotiated_caps, ECHO_F_TEST | VIRTIO_F_VERSION_1);
		CHECK_EQ(c->name, h.dev->apply_calls, 1);
		/* Rewriting FEATURES_OK does not re-run the negotiation. */
		vdev_drv_write_status(h.drv, ACK | DRV | FOK);
		CHECK_EQ(c->name, h.dev->apply_calls, 1);
		cr_assert_eq(vdev_drv_driver_ok(h.drv), 0);
		CHECK_EQ(c->name, h.dev->base.flags & VIRTIO_EVENT_IDX, 0);
		harness_close(&h);
	}
}

/* ---------------- legacy negotiation ---------------- */

Test(status_features, legacy_features_write_drops_unoffered_bits_and_applies)
{
	FOR_EACH_LEGACY(c)
	{
		struct harness h;
		const uint32_t want = (uint32_t)(ECHO_F_TEST | VIRTIO_F_NOTIFY_ON_EMPTY);

		open_acked(&h, c, NULL);
		lwr(&h, VIRTIO_CR_GUESTCAP, 4, want | (1u << 9) | (1u << 30));
		CHECK_EQ(c->name, h.dev->base.negotiated_caps, want);
		CHECK_EQ(c->name, h.dev->apply_calls, 1);
		CHECK_EQ(c->name, h.dev->applied_features, want);
		CHECK_EQ(c->name, stats(&h).features_refused, 0);
		/* No FEATURES_OK on the legacy interface: DRIVER_OK follows DRIVER. */
		vdev_drv_write_status(h.drv, ACK | DRV | DOK);
		CHECK_EQ(c->name, vdev_drv_read_status(h.drv), ACK | DRV | DOK);
		harness_close(&h);
	}
}

Test(status_features, legacy_negotiation_through_driver_peer)
{
	FOR_EACH_LEGACY(c)
	{
		struct harness h;
		uint64_t acc = 0;

		open_combo(&h, c, NULL);
		/* VERSION_1 cannot be asked for through legacy; the peer must not get it. */
		cr_assert_eq(vdev_drv_negotiate(h.drv,
						ECHO_F_TEST | VIRTIO_RING_F_EVENT_IDX | VIRTIO_F_VERSION_1,
						&acc),
			     0);
		CHECK_EQ(c->name, acc, ECHO_F_TEST | VIRTIO_RING_F_EVENT_IDX);
		CHECK_EQ(c->name, h.dev->base.negotiated_caps, acc);
		CHECK_EQ(c->name, h.dev->apply_calls, 1);
		cr_assert(h.dev->base.flags & VIRTIO_EVENT_IDX, "%s: EVENT_IDX flag not set", c->name);
		harness_close(&h);
	}
}

Test(status_features, legacy_feature_writes_after_driver_ok_are_refused)
{
	FOR_EACH_LEGACY(c)
	{
		struct harness h;
		uint64_t bad;

		open_ready(&h, c, NULL, ECHO_F_TEST, 0);
		CHECK_EQ(c->name, h.dev->apply_calls, 1);
		bad = stats(&h).bad_accesses;
		lwr(&h, VIRTIO_CR_GUESTCAP, 4, (uint32_t)(ECHO_F_TEST | VIRTIO_RING_F_INDIRECT_DESC));
		cr_assert(stats(&h).bad_accesses > bad, "%s: late write not counted", c->name);
		CHECK_EQ(c->name, h.dev->base.negotiated_caps, ECHO_F_TEST);
		CHECK_EQ(c->name, h.dev->apply_calls, 1);
		CHECK_EQ(c->name, lrd(&h, VIRTIO_CR_GUESTCAP, 4), ECHO_F_TEST);
		roundtrip(c->name, &h, 0);
		harness_close(&h);
	}
}

/* ---------------- status transitions ---------------- */

Test(status_features, status_clearing_a_set_bit_is_refused)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;

		open_combo(&h, c, NULL);
		expect_status_accepted(c->name, &h, ACK);
		expect_status_accepted(c->name, &h, ACK | DRV);
		expect_status_refused(c->name, &h, ACK);
		expect_status_refused(c->name, &h, DRV);
		cr_assert_eq(harness_ready(&h, ECHO_F_TEST, 0), 0, "%s: ready", c->name);
		expect_status_refused(c->name, &h, vdev_drv_read_status(h.drv) & ~DOK);
		expect_status_refused(c->name, &h, ACK | DOK | FOK);
		roundtrip(c->name, &h, 0);
		harness_close(&h);
	}
}

Test(status_features, status_reserved_bits_are_refused)
{
	static const struct status_step steps[] = {
		{REFUSED, 0x10},      {REFUSED, 0x20},      {ACCEPTED, ACK},
		{REFUSED, ACK | 0x10}, {REFUSED, ACK | 0x20}, {REFUSED, ACK | DRV | 0x30},
	};

	FOR_EACH_COMBO(c)
		status_steps(c, steps, NSTEPS(steps));
}

Test(status_features, status_driver_without_acknowledge_is_refused)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;

		open_combo(&h, c, NULL);
		expect_status_refused(c->name, &h, DRV);
		CHECK_EQ(c->name, vdev_drv_read_status(h.drv), 0);
		harness_close(&h);
	}
}

Test(status_features, status_features_ok_without_driver_is_refused)
{
	static const struct status_step steps[] = {
		{REFUSED, FOK}, {ACCEPTED, ACK}, {REFUSED, ACK | FOK},
	};

	FOR_EACH_COMBO(c)
		status_steps(c, steps, NSTEPS(steps));
}

Test(status_features, status_driver_ok_without_driver_is_refused)
{
	static const struct status_step steps[] = {
		{REFUSED, DOK}, {ACCEPTED, ACK}, {REFUSED, ACK | DOK},
	};

	FOR_EACH_COMBO(c)
		status_steps(c, steps, NSTEPS(steps));
}

Test(status_features, modern_driver_ok_without_features_ok_is_refused)
{
	FOR_EACH_MODERN(c)
	{
		struct harness h;

		open_combo(&h, c, NULL);
		expect_status_accepted(c->name, &h, ACK);
		expect_status_accepted(c->name, &h, ACK | DRV);
		write_modern_features(&h, ECHO_F_TEST | VIRTIO_F_VERSION_1);
		expect_status_refused(c->name, &h, ACK | DRV | DOK);
		CHECK_EQ(c->name, h.dev->apply_calls, 0);
		harness_close(&h);
	}
}

Test(status_features, legacy_driver_ok_without_features_ok_is_accepted)
{
	static const struct status_step steps[] = {
		{ACCEPTED, ACK}, {ACCEPTED, ACK | DRV}, {ACCEPTED, ACK | DRV | DOK},
	};

	FOR_EACH_LEGACY(c)
		status_steps(c, steps, NSTEPS(steps));
}

Test(status_features, status_needs_reset_bit_in_a_write_is_ignored)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		uint64_t refused;

		open_combo(&h, c, NULL);
		expect_status_accepted(c->name, &h, ACK);
		refused = stats(&h).status_refused;
		vdev_drv_write_status(h.drv, ACK | DRV | NEEDS_RESET);
		CHECK_EQ(c->name, vdev_drv_read_status(h.drv), ACK | DRV);
		CHECK_EQ(c->name, stats(&h).status_refused, refused);
		/* A latched NEEDS_RESET is not cleared by writing the status without it. */
		virtio_dev_error(&h.dev->base);
		CHECK_EQ(c->name, vdev_drv_read_status(h.drv), ACK | DRV | NEEDS_RESET);
		vdev_drv_write_status(h.drv, ACK | DRV);
		cr_assert(vdev_drv_read_status(h.drv) & NEEDS_RESET, "%s: latch cleared", c->name);
		vdev_drv_write_status(h.drv, 0);
		CHECK_EQ(c->name, vdev_drv_read_status(h.drv), 0);
		harness_close(&h);
	}
}

Test(status_features, status_failed_may_be_set_at_any_time_and_stops_kicks)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		struct vdev_virtio_stats st0;
		int token;
		void *tok;
		uint32_t len;

		/* from reset */
		open_combo(&h, c, NULL);
		expect_status_accepted(c->name, &h, FAILED);
		harness_close(&h);

		/* mid-negotiation */
		open_combo(&h, c, NULL);
		expect_status_accepted(c->name, &h, ACK);
		expect_status_accepted(c->name, &h, ACK | DRV | FAILED);
		harness_close(&h);

		/* after DRIVER_OK: kicks are ignored */
		open_ready(&h, c, NULL, ECHO_F_TEST, 0);
		expect_status_accepted(c->name, &h, vdev_drv_read_status(h.drv) | FAILED);
		enqueue_inout(c->name, &h, 0, 8, &token, NULL);
		st0 = stats(&h);
		vdev_drv_kick(h.drv, 0);
		CHECK_EQ(c->name, h.dev->kicks, 0);
		CHECK_EQ(c->name, stats(&h).notifies_ignored, st0.notifies_ignored + 1);
		CHECK_EQ(c->name, vdev_drv_dequeue(h.drv, 0, &tok, &len), 0);
		harness_close(&h);
	}
}

Test(status_features, status_driver_ok_twice_changes_nothing)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		uint8_t st;
		uint64_t refused;

		open_ready(&h, c, NULL, ECHO_F_TEST, 0);
		st = vdev_drv_read_status(h.drv);
		cr_assert(st & DOK);
		refused = stats(&h).status_refused;
		h.dev->last_status = 0xdead;
		vdev_drv_write_status(h.drv, st);
		CHECK_EQ(c->name, vdev_drv_read_status(h.drv), st);
		CHECK_EQ(c->name, stats(&h).status_refused, refused);
		/* not a change, so no set_status call */
		CHECK_EQ(c->name, h.dev->last_status, 0xdead);
		CHECK_EQ(c->name, h.dev->apply_calls, 1);
		roundtrip(c->name, &h, 0);
		harness_close(&h);
	}
}

Test(status_features, set_status_callback_sees_each_accepted_change)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;

		open_combo(&h, c, NULL);
		vdev_drv_write_status(h.drv, ACK);
		CHECK_EQ(c->name, h.dev->last_status, ACK);
		vdev_drv_write_status(h.drv, ACK | DRV);
		CHECK_EQ(c->name, h.dev->last_status, ACK | DRV);
		if (is_legacy(c)) {
			lwr(&h, VIRTIO_CR_GUESTCAP, 4, (uint32_t)ECHO_F_TEST);
			vdev_drv_write_status(h.drv, ACK | DRV | DOK);
			CHECK_EQ(c->name, h.dev->last_status, ACK | DRV | DOK);
		} else {
			write_features_ok(&h, ECHO_F_TEST | VIRTIO_F_VERSION_1);
			CHECK_EQ(c->name, h.dev->last_status, ACK | DRV | FOK);
			vdev_drv_write_status(h.drv, ACK | DRV | FOK | DOK);
			CHECK_EQ(c->name, h.dev->last_status, ACK | DRV | FOK | DOK);
		}
		harness_close(&h);
	}
}

/* ---------------- reset ---------------- */

Test(status_features, reset_reads_back_zero_and_clears_everything)
{
	FOR_EACH_COMBO(c)
	{
		struct echo_dev_config e = {.nvq = 2};
		struct harness h;
		uint64_t resets, echo_resets;

		open_ready(&h, c, &e, ECHO_F_TEST | VIRTIO_RING_F_EVENT_IDX, 0);
		roundtrip(c->name, &h, 0);
		echo_dev_host_set_scratch(h.dev, 9);    /* ISR bit pending, INTx up */
		virtio_dev_error(&h.dev->base);         /* NEEDS_RESET latched */
		cr_assert(vdev_pci_intx_level(echo_dev_pci(h.dev)) == 1);
		resets = stats(&h).resets;
		echo_resets = h.dev->resets;

		vdev_drv_write_status(h.drv, 0);
		CHECK_EQ(c->name, vdev_drv_read_status(h.drv), 0);   /* at once */
		CHECK_EQ(c->name, stats(&h).resets, resets + 1);
		CHECK_EQ(c->name, h.dev->resets, echo_resets + 1);
		CHECK_EQ(c->name, h.dev->base.negotiated_caps, 0);
		CHECK_EQ(c->name, h.dev->base.driver_features, 0);
		CHECK_EQ(c->name, h.dev->base.flags & (VIRTIO_EVENT_IDX | VIRTIO_BROKED), 0);
		CHECK_EQ(c->name, vdev_pci_intx_level(echo_dev_pci(h.dev)), 0);
		CHECK_EQ(c->name, vdev_drv_read_isr(h.drv), 0);
		for (int q = 0; q < 2; q++) {
			cr_assert(!vq_ring_ready(&h.dev->vq[q]), "%s: queue %d still mapped", c->name,
				  q);
			if (is_legacy(c)) {
				lwr(&h, VIRTIO_CR_QSEL, 2, (uint64_t)q);
				CHECK_EQ(c->name, lrd(&h, VIRTIO_CR_PFN, 4), 0);
				CHECK_EQ(c->name, lrd(&h, VIRTIO_CR_QNUM, 2), 256);
			} else {
				cwr(&h, VIRTIO_COMMON_Q_SELECT, 2, (uint64_t)q);
				CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_ENABLE, 2), 0);
				CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_SIZE, 2), 256);
			}
		}
		/* And the device comes back. */
		cr_assert_eq(vdev_drv_reset(h.drv), 0);
		cr_assert_eq(harness_ready(&h, ECHO_F_TEST, 0), 0, "%s: ready again", c->name);
		CHECK_EQ(c->name, h.dev->apply_calls, 2);
		roundtrip(c->name, &h, 1);
		harness_close(&h);
	}
}

static int forgetful_resets;

/* A device reset callback that forgets to call virtio_reset_dev(). */
static void forgetful_reset(void *softc)
{
	(void)softc;
	forgetful_resets++;
}

Test(status_features, reset_happens_even_when_device_callback_skips_virtio_reset_dev)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;

		open_combo(&h, c, NULL);
		h.dev->ops.reset = forgetful_reset; /* linkup kept a pointer to ops */
		forgetful_resets = 0;
		cr_assert_eq(harness_ready(&h, ECHO_F_TEST, 0), 0);
		roundtrip(c->name, &h, 0);
		vdev_drv_write_status(h.drv, 0);
		CHECK_EQ(c->name, forgetful_resets, 1);
		CHECK_EQ(c->name, vdev_drv_read_status(h.drv), 0);
		CHECK_EQ(c->name, h.dev->base.negotiated_caps, 0);
		cr_assert(!vq_ring_ready(&h.dev->vq[0]), "%s: queue survived the reset", c->name);
		cr_assert_eq(vdev_drv_reset(h.drv), 0);
		cr_assert_eq(harness_ready(&h, ECHO_F_TEST, 0), 0, "%s: ready again", c->name);
		roundtrip(c->name, &h, 0);
		harness_close(&h);
	}
}
