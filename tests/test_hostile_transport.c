/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hostile-guest inputs on the transport and registers, HOSTILE.md H01-H13. Each test
 * names its item and checks the outcome HOSTILE.md and docs/behaviour.md state. Where
 * the outcome is "broken", expect_broken() checks every part of it: NEEDS_RESET in
 * the status, one config interrupt, guest_errors and the log grew, registers still
 * answer; expect_recovers() then shows a reset and a fresh setup bring it back.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"

#define RAM_SIZE (16ULL << 20) /* harness RAM: [0, 16 MiB) */

/* ---------------- helpers ---------------- */

/* One 16-byte request, in -> out; with a manual echo the test serves it itself. */
static void roundtrip(const char *ctx, struct harness *h, uint16_t q)
{
	echo_roundtrip(ctx, h, q, 16, 0x6b, 0);
}

struct snap {
	struct vdev_virtio_stats st;
	struct vdev_sim_irqs irq;
	uint64_t logs;
};

static struct snap snap_take(struct harness *h)
{
	struct snap s = {.st = stats(h), .irq = irqs(h), .logs = vdev_sim_log_count(h->sim)};

	return s;
}

/* Register reads keep answering on a broken device. */
static void expect_registers_answer(const char *ctx, struct harness *h,
				    const struct fx_mode *c)
{
	if (is_legacy(c)) {
		lwr(h, VIRTIO_CR_QSEL, 2, 0);
		CHECK_EQ(ctx, lrd(h, VIRTIO_CR_QNUM, 2), 256);
		CHECK_EQ(ctx, lrd(h, VIRTIO_CR_HOSTCAP, 4), (uint32_t)h->dev->base.device_caps);
	} else {
		CHECK_EQ(ctx, crd(h, VIRTIO_COMMON_NUMQ, 2), h->dev->base.vops->nvq);
		cwr(h, VIRTIO_COMMON_DFSELECT, 4, 1);
		CHECK_EQ(ctx, crd(h, VIRTIO_COMMON_DF, 4), 1);
	}
	CHECK_EQ(ctx, vdev_drv_read_config64(h->drv, ECHO_CFG_ID), ECHO_ID_LE64);
}

/* The "broken" outcome, INTx flavour (the harness runs without MSI-X). */
static void expect_broken(const char *ctx, struct harness *h, const struct fx_mode *c,
			  const struct snap *s)
{
	struct vdev_virtio_stats st = stats(h);
	struct vdev_sim_irqs irq = irqs(h);

	cr_assert(vdev_drv_read_status(h->drv) & NEEDS_RESET, "%s: NEEDS_RESET not latched (%#x)",
		  ctx, vdev_drv_read_status(h->drv));
	cr_assert(st.guest_errors > s->st.guest_errors, "%s: guest_errors did not grow", ctx);
	cr_assert(vdev_sim_log_count(h->sim) > s->logs, "%s: nothing logged", ctx);
	CHECK_EQ(ctx, st.interrupts, s->st.interrupts + 1);           /* one config interrupt */
	CHECK_EQ(ctx, irq.intx_raises, s->irq.intx_raises + 1);
	cr_assert(vdev_drv_read_isr(h->drv) & VIRTIO_CR_ISR_CONF_CHANGED,
		  "%s: config interrupt not in the ISR", ctx);
	expect_registers_answer(ctx, h, c);
	cr_assert(vdev_drv_read_status(h->drv) & NEEDS_RESET, "%s: latch did not hold", ctx);
}

/* A refused access is not a guest error that breaks the device. */
static void expect_not_broken(const char *ctx, struct harness *h, const struct snap *s)
{
	CHECK_EQ(ctx, vdev_drv_read_status(h->drv) & NEEDS_RESET, 0);
	CHECK_EQ(ctx, stats(h).guest_errors, s->st.guest_errors);
}

static void expect_recovers(const char *ctx, struct harness *h)
{
	uint64_t errors;

	cr_assert_eq(vdev_drv_reset(h->drv), 0, "%s: reset", ctx);
	CHECK_EQ(ctx, vdev_drv_read_status(h->drv), 0);
	cr_assert_eq(harness_ready(h, ECHO_F_TEST, 0), 0, "%s: setup after reset", ctx);
	errors = stats(h).guest_errors;
	roundtrip(ctx, h, 0);
	CHECK_EQ(ctx, vdev_drv_read_status(h->drv) & NEEDS_RESET, 0);
	CHECK_EQ(ctx, stats(h).guest_errors, errors);
}

/* Every common-config field at its natural width (per-queue ones for queue_select). */
static const struct {
	int off, width;
} common_fields[] = {
	{VIRTIO_COMMON_DFSELECT, 4}, {VIRTIO_COMMON_DF, 4},       {VIRTIO_COMMON_GFSELECT, 4},
	{VIRTIO_COMMON_GF, 4},       {VIRTIO_COMMON_MSIX, 2},     {VIRTIO_COMMON_NUMQ, 2},
	{VIRTIO_COMMON_STATUS, 1},   {VIRTIO_COMMON_CFGGENERATION, 1},
	{VIRTIO_COMMON_Q_SELECT, 2}, {VIRTIO_COMMON_Q_SIZE, 2},   {VIRTIO_COMMON_Q_MSIX, 2},
	{VIRTIO_COMMON_Q_ENABLE, 2}, {VIRTIO_COMMON_Q_NOFF, 2},   {VIRTIO_COMMON_Q_DESCLO, 4},
	{VIRTIO_COMMON_Q_DESCHI, 4}, {VIRTIO_COMMON_Q_AVAILLO, 4}, {VIRTIO_COMMON_Q_AVAILHI, 4},
	{VIRTIO_COMMON_Q_USEDLO, 4}, {VIRTIO_COMMON_Q_USEDHI, 4},
};
#define NCOMMON (sizeof(common_fields) / sizeof(common_fields[0]))
#define FIRST_QUEUE_FIELD 9 /* queue_size */

static void common_snapshot(struct harness *h, uint64_t *out)
{
	for (size_t i = 0; i < NCOMMON; i++)
		out[i] = brd(h, 4, (uint64_t)common_fields[i].off, common_fields[i].width);
}

static void expect_common_unchanged(const char *ctx, struct harness *h, const uint64_t *before,
				    size_t first)
{
	uint64_t now[NCOMMON];

	common_snapshot(h, now);
	for (size_t i = first; i < NCOMMON; i++)
		cr_assert_eq(now[i], before[i], "%s: common field at %d changed (%#" PRIx64
			     " -> %#" PRIx64 ")", ctx, common_fields[i].off, before[i], now[i]);
}

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

/* A kick written straight to the BAR, so the driver peer cannot filter it. */
static void kick_raw(struct harness *h, const struct fx_mode *c, uint32_t q)
{
	if (is_legacy(c))
		bwr(h, 0, VIRTIO_CR_QNOTIFY, 2, q);
	else
		bwr(h, 4, VIRTIO_CAP_NOTIFY_OFFSET + 4ULL * q, 2, q);
}

static void expect_kick_ignored(const char *ctx, struct harness *h, const struct fx_mode *c,
				uint32_t q)
{
	uint64_t ignored = stats(h).notifies_ignored, kicks = h->dev->kicks;
	uint64_t notifies = stats(h).notifies;

	kick_raw(h, c, q);
	cr_assert_eq(stats(h).notifies_ignored, ignored + 1, "%s: kick of queue %u not counted",
		     ctx, q);
	CHECK_EQ(ctx, h->dev->kicks, kicks);
	CHECK_EQ(ctx, stats(h).notifies, notifies);
}

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
