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

#include "harness.h"

#define CHECK_EQ(ctx, actual, expected)                                                  \
	do {                                                                             \
		uint64_t a__ = (uint64_t)(actual), e__ = (uint64_t)(expected);           \
		cr_assert(a__ == e__, "%s: %s = %#" PRIx64 ", expected %#" PRIx64, (ctx), \
			  #actual, a__, e__);                                            \
	} while (0)

#define ACK VIRTIO_CR_STATUS_ACK
#define DRV VIRTIO_CR_STATUS_DRIVER
#define DOK VIRTIO_CR_STATUS_DRIVER_OK
#define FOK VIRTIO_CR_STATUS_FEATURES_OK
#define NEEDS_RESET VIRTIO_CR_STATUS_NEEDS_RESET
#define FAILED VIRTIO_CR_STATUS_FAILED

#define FOR_EACH_COMBO(c)                                                                   \
	for (const struct harness_combo *c = harness_combos; c < harness_combos + harness_ncombos; \
	     c++)

#define FOR_EACH_MODERN(c)                                                                  \
	FOR_EACH_COMBO(c)                                                                   \
	if (c->access == VDEV_DRV_LEGACY)                                                   \
		continue;                                                                   \
	else

#define FOR_EACH_LEGACY(c)                                                                  \
	FOR_EACH_COMBO(c)                                                                   \
	if (c->access != VDEV_DRV_LEGACY)                                                   \
		continue;                                                                   \
	else

static void open_combo(struct harness *h, const struct harness_combo *c,
		       const struct echo_dev_config *e)
{
	int rc = harness_open(h, c->mode, c->access, e);

	cr_assert_eq(rc, 0, "%s: harness_open = %d", c->name, rc);
}

static struct vdev_virtio_stats stats(struct harness *h)
{
	struct vdev_virtio_stats st;

	vdev_virtio_get_stats(&h->dev->base, &st);
	return st;
}

static bool is_legacy(const struct harness_combo *c)
{
	return c->access == VDEV_DRV_LEGACY;
}

static uint64_t crd(struct harness *h, uint64_t off, int w)
{
	return vdev_drv_region_read(h->drv, VDEV_DRV_REGION_COMMON, off, w);
}

static void cwr(struct harness *h, uint64_t off, int w, uint64_t v)
{
	vdev_drv_region_write(h->drv, VDEV_DRV_REGION_COMMON, off, w, v);
}

static void lwr(struct harness *h, uint64_t off, int w, uint64_t v)
{
	vdev_drv_region_write(h->drv, VDEV_DRV_REGION_LEGACY, off, w, v);
}

static uint64_t lrd(struct harness *h, uint64_t off, int w)
{
	return vdev_drv_region_read(h->drv, VDEV_DRV_REGION_LEGACY, off, w);
}

/* Modern: write both driver-feature halves. */
static void write_modern_features(struct harness *h, uint64_t f)
{
	cwr(h, VIRTIO_COMMON_GFSELECT, 4, 0);
	cwr(h, VIRTIO_COMMON_GF, 4, (uint32_t)f);
	cwr(h, VIRTIO_COMMON_GFSELECT, 4, 1);
	cwr(h, VIRTIO_COMMON_GF, 4, f >> 32);
}

/* A status write the device must refuse: unchanged, counted, no set_status call. */
static void expect_status_refused(const char *ctx, struct harness *h, uint8_t val)
{
	uint8_t before = vdev_drv_read_status(h->drv);
	uint64_t refused = stats(h).status_refused;
	uint64_t last = h->dev->last_status;

	vdev_drv_write_status(h->drv, val);
	cr_assert_eq(vdev_drv_read_status(h->drv), before,
		     "%s: status write %#x from %#x was taken (now %#x)", ctx, val, before,
		     vdev_drv_read_status(h->drv));
	cr_assert_eq(stats(h).status_refused, refused + 1,
		     "%s: status write %#x from %#x not counted", ctx, val, before);
	cr_assert_eq(h->dev->last_status, last, "%s: set_status called for a refused write",
		     ctx);
}

static void expect_status_accepted(const char *ctx, struct harness *h, uint8_t val)
{
	uint64_t refused = stats(h).status_refused;

	vdev_drv_write_status(h->drv, val);
	cr_assert_eq(vdev_drv_read_status(h->drv), val, "%s: status write %#x not taken (%#x)",
		     ctx, val, vdev_drv_read_status(h->drv));
	CHECK_EQ(ctx, stats(h).status_refused, refused);
	CHECK_EQ(ctx, h->dev->last_status, val);
}

static void roundtrip(const char *ctx, struct harness *h, uint16_t q)
{
	void *in, *out, *tok = NULL;
	uint64_t gin = harness_buf(h, 16, &in), gout = harness_buf(h, 16, &out);
	struct vdev_drv_seg segs[2] = {{gin, 16, false}, {gout, 16, true}};
	int token;
	uint32_t len = 0;

	memset(in, 0x42, 16);
	memset(out, 0, 16);
	cr_assert_eq(vdev_drv_enqueue(h->drv, q, segs, 2, false, &token), 0, "%s: enqueue", ctx);
	vdev_drv_kick(h->drv, q);
	cr_assert_eq(vdev_drv_dequeue(h->drv, q, &tok, &len), 1, "%s: no completion", ctx);
	CHECK_EQ(ctx, len, 16);
	cr_assert(memcmp(in, out, 16) == 0, "%s: data not echoed", ctx);
}

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

		open_combo(&h, c, NULL);
		vdev_drv_write_status(h.drv, ACK);
		vdev_drv_write_status(h.drv, ACK | DRV);
		/* bit 5 is not offered */
		write_modern_features(&h, ECHO_F_TEST | (1ULL << 5) | VIRTIO_F_VERSION_1);
		vdev_drv_write_status(h.drv, ACK | DRV | FOK);
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

		open_combo(&h, c, NULL);
		vdev_drv_write_status(h.drv, ACK);
		vdev_drv_write_status(h.drv, ACK | DRV);
		write_modern_features(&h, ECHO_F_TEST);
		vdev_drv_write_status(h.drv, ACK | DRV | FOK);
		CHECK_EQ(c->name, vdev_drv_read_status(h.drv), ACK | DRV);
		CHECK_EQ(c->name, stats(&h).features_refused, 1);
		CHECK_EQ(c->name, h.dev->apply_calls, 0);
		/* The driver may try again with VERSION_1: the same device accepts. */
		write_modern_features(&h, ECHO_F_TEST | VIRTIO_F_VERSION_1);
		vdev_drv_write_status(h.drv, ACK | DRV | FOK);
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

			open_combo(&h, c, &e);
			vdev_drv_write_status(h.drv, ACK);
			vdev_drv_write_status(h.drv, ACK | DRV);
			write_modern_features(&h, ECHO_F_TEST | VIRTIO_F_VERSION_1 | bad[i]);
			vdev_drv_write_status(h.drv, ACK | DRV | FOK);
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

		open_combo(&h, c, NULL);
		vdev_drv_write_status(h.drv, ACK);
		vdev_drv_write_status(h.drv, ACK | DRV);
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

		open_combo(&h, c, NULL);
		cr_assert_eq(harness_ready(&h, ECHO_F_TEST, 0), 0);
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
	FOR_EACH_COMBO(c)
	{
		struct harness h;

		open_combo(&h, c, NULL);
		expect_status_refused(c->name, &h, 0x10);
		expect_status_refused(c->name, &h, 0x20);
		expect_status_accepted(c->name, &h, ACK);
		expect_status_refused(c->name, &h, ACK | 0x10);
		expect_status_refused(c->name, &h, ACK | 0x20);
		expect_status_refused(c->name, &h, ACK | DRV | 0x30);
		harness_close(&h);
	}
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
	FOR_EACH_COMBO(c)
	{
		struct harness h;

		open_combo(&h, c, NULL);
		expect_status_refused(c->name, &h, FOK);
		expect_status_accepted(c->name, &h, ACK);
		expect_status_refused(c->name, &h, ACK | FOK);
		harness_close(&h);
	}
}

Test(status_features, status_driver_ok_without_driver_is_refused)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;

		open_combo(&h, c, NULL);
		expect_status_refused(c->name, &h, DOK);
		expect_status_accepted(c->name, &h, ACK);
		expect_status_refused(c->name, &h, ACK | DOK);
		harness_close(&h);
	}
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
	FOR_EACH_LEGACY(c)
	{
		struct harness h;

		open_combo(&h, c, NULL);
		expect_status_accepted(c->name, &h, ACK);
		expect_status_accepted(c->name, &h, ACK | DRV);
		expect_status_accepted(c->name, &h, ACK | DRV | DOK);
		harness_close(&h);
	}
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
		void *in, *out, *tok;
		uint64_t gin, gout;
		struct vdev_drv_seg segs[2];
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
		open_combo(&h, c, NULL);
		cr_assert_eq(harness_ready(&h, ECHO_F_TEST, 0), 0);
		expect_status_accepted(c->name, &h, vdev_drv_read_status(h.drv) | FAILED);
		gin = harness_buf(&h, 8, &in);
		gout = harness_buf(&h, 8, &out);
		segs[0] = (struct vdev_drv_seg){gin, 8, false};
		segs[1] = (struct vdev_drv_seg){gout, 8, true};
		cr_assert_eq(vdev_drv_enqueue(h.drv, 0, segs, 2, false, &token), 0);
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

		open_combo(&h, c, NULL);
		cr_assert_eq(harness_ready(&h, ECHO_F_TEST, 0), 0);
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
			write_modern_features(&h, ECHO_F_TEST | VIRTIO_F_VERSION_1);
			vdev_drv_write_status(h.drv, ACK | DRV | FOK);
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

		open_combo(&h, c, &e);
		cr_assert_eq(harness_ready(&h, ECHO_F_TEST | VIRTIO_RING_F_EVENT_IDX, 0), 0);
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
