/* SPDX-License-Identifier: BSD-3-Clause */
/* The outcome checks the hostile transport suites share (HOSTILE.md H01-H13). */
#include "hostile_transport_checks.h"

#include <criterion/criterion.h>
#include <inttypes.h>

/* One 16-byte request, in -> out; with a manual echo the test serves it itself. */
void roundtrip(const char *ctx, struct harness *h, uint16_t q)
{
	echo_roundtrip(ctx, h, q, 16, 0x6b, 0);
}

struct snap snap_take(struct harness *h)
{
	struct snap s = {.st = stats(h), .irq = irqs(h), .logs = vdev_sim_log_count(h->sim)};

	return s;
}

/* Register reads keep answering on a broken device. */
void expect_registers_answer(const char *ctx, struct harness *h,
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
void expect_broken(const char *ctx, struct harness *h, const struct fx_mode *c,
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
void expect_not_broken(const char *ctx, struct harness *h, const struct snap *s)
{
	CHECK_EQ(ctx, vdev_drv_read_status(h->drv) & NEEDS_RESET, 0);
	CHECK_EQ(ctx, stats(h).guest_errors, s->st.guest_errors);
}

void expect_recovers(const char *ctx, struct harness *h)
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
const struct common_field common_fields[NCOMMON] = {
	{VIRTIO_COMMON_DFSELECT, 4}, {VIRTIO_COMMON_DF, 4},       {VIRTIO_COMMON_GFSELECT, 4},
	{VIRTIO_COMMON_GF, 4},       {VIRTIO_COMMON_MSIX, 2},     {VIRTIO_COMMON_NUMQ, 2},
	{VIRTIO_COMMON_STATUS, 1},   {VIRTIO_COMMON_CFGGENERATION, 1},
	{VIRTIO_COMMON_Q_SELECT, 2}, {VIRTIO_COMMON_Q_SIZE, 2},   {VIRTIO_COMMON_Q_MSIX, 2},
	{VIRTIO_COMMON_Q_ENABLE, 2}, {VIRTIO_COMMON_Q_NOFF, 2},   {VIRTIO_COMMON_Q_DESCLO, 4},
	{VIRTIO_COMMON_Q_DESCHI, 4}, {VIRTIO_COMMON_Q_AVAILLO, 4}, {VIRTIO_COMMON_Q_AVAILHI, 4},
	{VIRTIO_COMMON_Q_USEDLO, 4}, {VIRTIO_COMMON_Q_USEDHI, 4},
};

void common_snapshot(struct harness *h, uint64_t *out)
{
	for (size_t i = 0; i < NCOMMON; i++)
		out[i] = brd(h, 4, (uint64_t)common_fields[i].off, common_fields[i].width);
}

void expect_common_unchanged(const char *ctx, struct harness *h, const uint64_t *before,
			     size_t first)
{
	uint64_t now[NCOMMON];

	common_snapshot(h, now);
	for (size_t i = first; i < NCOMMON; i++)
		cr_assert_eq(now[i], before[i], "%s: common field at %d changed (%#" PRIx64
			     " -> %#" PRIx64 ")", ctx, common_fields[i].off, before[i], now[i]);
}
/* A kick written straight to the BAR, so the driver peer cannot filter it. */
void kick_raw(struct harness *h, const struct fx_mode *c, uint32_t q)
{
	if (is_legacy(c))
		bwr(h, 0, VIRTIO_CR_QNOTIFY, 2, q);
	else
		bwr(h, 4, VIRTIO_CAP_NOTIFY_OFFSET + 4ULL * q, 2, q);
}

void expect_kick_ignored(const char *ctx, struct harness *h, const struct fx_mode *c,
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
