/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hostile split rings, the buffers a chain names: length arithmetic, buffers that
 * are not RAM, direction lies, readable after writable (HOSTILE.md H20-H23).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hostile_ring_checks.h"

/* ---------------- H20 length arithmetic ---------------- */

/* addr + len wrapping 2^64, direct and inside an indirect table. */
Test(hostile_ring, H20_addr_plus_len_wraps)
{
	for (int indirect = 0; indirect < 2; indirect++) {
		struct hopts o = {.manual = true, .features = VIRTIO_RING_F_INDIRECT_DESC};
		struct harness h;
		struct raw_ring r;
		uint8_t *t;
		uint64_t gt;
		const char *what = indirect ? "wrap in table" : "wrap direct";

		hopen_ring(&h, &o, &r);
		gt = harness_buf(&h, 32, (void **)&t);
		if (indirect) {
			put_desc(t, 0, 0xFFFFFFFFFFFFF000ULL, 0x2000, 0, 0);
			put_desc(r.d, 0, gt, 16, VRING_DESC_F_INDIRECT, 0);
		} else {
			put_desc(r.d, 0, 0xFFFFFFFFFFFFFFF0ULL, 0x20, VRING_DESC_F_WRITE, 0);
		}
		raw_push(&r, 0);
		expect_refused(&h, &r, o.features, what);
		harness_close(&h);
	}
}

#define BIG_RAM (64ULL << 20)
#define BIG_SEG (32u << 20)

/* `n` descriptors of 32 MiB each (the last one `last_len`), all readable RAM. */
static int big_chain(struct harness *h, struct raw_ring *r, int n, uint32_t last_len)
{
	static struct iovec iov[256];
	uint16_t fl[256];
	uint16_t head;

	for (int i = 0; i < n; i++) {
		bool last = i + 1 == n;

		put_desc(r->d, (uint16_t)i, BIG_RAM - BIG_SEG, last ? last_len : BIG_SEG,
			 last ? 0 : VRING_DESC_F_NEXT, (uint16_t)(i + 1));
	}
	raw_push(r, 0);
	return vq_getchain(&h->dev->vq[0], &head, iov, 256, fl);
}

/* A chain totalling 2^32 bytes cannot be described by a 32-bit used length: broken. */
Test(hostile_ring, H20_total_length_over_4GiB)
{
	struct hopts o = {.manual = true, .qsize = 256, .ram_size = BIG_RAM};
	struct harness h;
	struct raw_ring r;
	struct snap s;

	hopen_ring(&h, &o, &r);
	snap_take(&h, &r, &s);
	/* 128 x 32 MiB = 2^32 */
	cr_assert_eq(big_chain(&h, &r, 128, BIG_SEG), -1, "a 4 GiB chain was accepted");
	assert_broken(&h, &r, &s, "4 GiB chain");
	assert_recovers(&h, 0, "4 GiB chain");
	harness_close(&h);
}

/* 2^32 - 1 bytes is the largest legal total ("over 2^32 - 1" is what breaks). */
Test(hostile_ring, H20_total_length_4GiB_minus_1_accepted)
{
	struct hopts o = {.manual = true, .qsize = 256, .ram_size = BIG_RAM};
	struct harness h;
	struct raw_ring r;
	int n;

	hopen_ring(&h, &o, &r);
	n = big_chain(&h, &r, 128, BIG_SEG - 1);
	cr_assert_eq(n, 128, "a chain of 2^32 - 1 bytes gave %d", n);
	assert_not_broken(&h, 0, "4 GiB - 1 chain");
	harness_close(&h);
}

/* The used length never exceeds the writable bytes, whatever the device claims. */
Test(hostile_ring, H20_used_length_never_exceeds_writable)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	uint16_t heads[3];
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 64, NULL);
	put_desc(r.d, 0, g, 7, VRING_DESC_F_NEXT, 1);
	put_desc(r.d, 1, g + 8, 9, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	put_desc(r.d, 2, g + 32, 3, VRING_DESC_F_WRITE, 0);
	put_desc(r.d, 4, g, 40, 0, 0);
	put_desc(r.d, 6, g, 40, VRING_DESC_F_WRITE, 0);
	raw_push(&r, 0);
	raw_push(&r, 4);
	raw_push(&r, 6);
	for (int i = 0; i < 3; i++)
		cr_assert_gt(take1(&h, &heads[i]), 0);
	vq_relchain(&h.dev->vq[0], heads[0], 0xFFFFFFFFu);
	vq_relchain(&h.dev->vq[0], heads[1], 0xFFFFFFFFu);
	vq_relchain(&h.dev->vq[0], heads[2], 41);
	vq_endchains(&h.dev->vq[0], 1);
	expect_used(&r, 0, 0, 12, "mixed chain");
	expect_used(&r, 1, 4, 0, "read-only chain");
	expect_used(&r, 2, 6, 40, "clamp");
	assert_not_broken(&h, 0, "clamp");
	harness_close(&h);
}

/* ---------------- H21 buffers that are not RAM ---------------- */

static void bad_buffer(uint64_t addr, uint32_t len, uint16_t flags, const char *what)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	struct snap s;
	uint16_t head;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	/* a good descriptor first, so the bad one is not the head */
	g = harness_buf(&h, 16, NULL);
	put_desc(r.d, 0, g, 16, VRING_DESC_F_NEXT, 1);
	put_desc(r.d, 1, addr, len, flags, 0);
	raw_push(&r, 0);
	snap_take(&h, &r, &s);
	cr_assert_eq(take1(&h, &head), -1, "%s: not refused", what);
	/* one translation per fragment, and only a few fragments */
	cr_assert_leq(translations(&h) - s.translations, 4, "%s: %llu translations", what,
		      (unsigned long long)(translations(&h) - s.translations));
	assert_broken(&h, &r, &s, what);
	assert_recovers(&h, 0, what);
	harness_close(&h);
}

Test(hostile_ring, H21_buffer_past_end_of_ram)
{
	bad_buffer(16 << 20, 16, 0, "past RAM");
}

Test(hostile_ring, H21_buffer_straddles_end_of_ram)
{
	bad_buffer((16 << 20) - 8, 16, VRING_DESC_F_WRITE, "straddling RAM end");
}

Test(hostile_ring, H21_buffer_length_0xffffffff)
{
	bad_buffer(0x100000, 0xFFFFFFFFu, 0, "length 0xffffffff");
}

Test(hostile_ring, H21_buffer_far_above_ram)
{
	bad_buffer(0x7FFFFFFFFFFF0000ULL, 64, VRING_DESC_F_WRITE, "far above RAM");
}

/* A hole in RAM (the sim refuses translation there). */
Test(hostile_ring, H21_buffer_in_ram_hole)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	struct snap s;
	struct vdev_sim_irqs irqs;
	uint64_t faults;
	uint16_t head;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = vdev_sim_alloc(h.sim, 8192, 4096);
	cr_assert_eq(vdev_sim_set_hole(h.sim, g + 4096, 4096, true), 0);
	put_desc(r.d, 0, g + 4000, 200, VRING_DESC_F_WRITE, 0);
	raw_push(&r, 0);
	vdev_sim_get_irqs(h.sim, &irqs);
	faults = irqs.translate_faults;
	snap_take(&h, &r, &s);
	cr_assert_eq(take1(&h, &head), -1, "buffer running into a hole accepted");
	vdev_sim_get_irqs(h.sim, &irqs);
	cr_assert_gt(irqs.translate_faults, faults);
	assert_broken(&h, &r, &s, "hole");
	cr_assert_eq(vdev_sim_set_hole(h.sim, g + 4096, 4096, false), 0);
	assert_recovers(&h, 0, "hole");
	harness_close(&h);
}

/*
 * A buffer on the device's own BAR (H13 and H21): refused as not RAM, and the
 * register model is never re-entered (no notify, no refused register access).
 */
Test(hostile_ring, H21_buffer_on_device_bar)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	struct snap s;
	struct vdev_virtio_stats st;
	uint16_t head;
	uint64_t bar;

	hopen_ring(&h, &o, &r);
	bar = vdev_drv_bar_addr(h.drv, VIRTIO_MODERN_MMIO_BAR_IDX);
	cr_assert_neq(bar, 0);
	/* the notify register of queue 0 */
	put_desc(r.d, 0, bar + VIRTIO_CAP_NOTIFY_OFFSET, 4, VRING_DESC_F_WRITE, 0);
	raw_push(&r, 0);
	snap_take(&h, &r, &s);
	cr_assert_eq(take1(&h, &head), -1);
	st = stats(&h);
	cr_assert_eq(st.notifies, s.st.notifies, "queue processing re-entered the notify register");
	cr_assert_eq(st.bad_accesses, s.st.bad_accesses);
	assert_broken(&h, &r, &s, "BAR buffer");
	assert_recovers(&h, 0, "BAR buffer");
	harness_close(&h);
}

/* Address 0 is ordinary RAM here (RAM starts at 0): accepted, data right. */
Test(hostile_ring, H21_buffer_at_address_0_is_ram)
{
	struct hopts o = {0};
	struct harness h;
	struct raw_ring r;
	uint8_t *zero, *out;
	uint64_t gout;
	uint32_t id, len;

	hopen_ring(&h, &o, &r);
	zero = vdev_sim_ptr(h.sim, 0, 16);
	cr_assert_not_null(zero);
	for (int i = 0; i < 16; i++)
		zero[i] = (uint8_t)(0x30 + i);
	gout = harness_buf(&h, 16, (void **)&out);
	put_desc(r.d, 0, 0, 16, VRING_DESC_F_NEXT, 1);
	put_desc(r.d, 1, gout, 16, VRING_DESC_F_WRITE, 0);
	raw_push(&r, 0);
	vdev_drv_kick(h.drv, 0);
	cr_assert_eq(raw_used_idx(&r), 1);
	raw_used_elem(&r, 0, &id, &len);
	cr_assert_eq(len, 16);
	cr_assert_eq(memcmp(zero, out, 16), 0);
	assert_not_broken(&h, 0, "address 0");
	harness_close(&h);
}

/*
 * Length 0: nothing to translate, so nothing is, even at an address that is no RAM
 * at all; the descriptor adds no iovec and the rest of the chain is served.
 */
Test(hostile_ring, H21_zero_length_descriptor_is_never_translated)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	struct iovec iov[8];
	uint16_t fl[8], head;
	uint8_t *a, *b;
	uint64_t ga, gb, t0;
	struct vdev_sim_irqs i0, i1;
	int n;

	hopen_ring(&h, &o, &r);
	ga = harness_buf(&h, 16, (void **)&a);
	gb = harness_buf(&h, 16, (void **)&b);
	put_desc(r.d, 0, ga, 16, VRING_DESC_F_NEXT, 1);
	put_desc(r.d, 1, 0xFFFFFFFFFFFFFFF0ULL, 0, VRING_DESC_F_NEXT, 2);
	put_desc(r.d, 2, 0x7000000000ULL, 0, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
	put_desc(r.d, 3, gb, 16, VRING_DESC_F_WRITE, 0);
	raw_push(&r, 0);
	vdev_sim_get_irqs(h.sim, &i0);
	t0 = stats(&h).descriptors;
	n = vq_getchain(&h.dev->vq[0], &head, iov, 8, fl);
	vdev_sim_get_irqs(h.sim, &i1);
	cr_assert_eq(n, 2, "zero-length descriptors gave %d iovecs", n);
	expect_iov(iov, fl, 0, a, 16, false, "length 0");
	expect_iov(iov, fl, 1, b, 16, true, "length 0");
	cr_assert_eq(i1.translations - i0.translations, 2, "a zero-length buffer was translated");
	cr_assert_eq(i1.translate_faults, i0.translate_faults);
	cr_assert_eq(stats(&h).descriptors - t0, 4);
	vq_relchain(&h.dev->vq[0], head, 0xFFFFFFFFu);
	vq_endchains(&h.dev->vq[0], 1);
	expect_used(&r, 0, 0, 16, "length 0");
	assert_not_broken(&h, 0, "length 0");
	harness_close(&h);
}

/* ---------------- H22 direction lies ---------------- */

/*
 * The device is told each iovec's direction exactly as the guest flagged it, so a
 * device that honours the flags never writes a readable buffer: a read-only chain
 * completes with 0 bytes and its memory is untouched.
 */
Test(hostile_ring, H22_direction_reported_and_honoured)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	struct iovec iov[8];
	uint16_t fl[8], head;
	uint8_t *a, *b, copy_a[32], copy_b[32];
	uint64_t ga, gb;
	uint32_t id, len;
	int n;

	hopen_ring(&h, &o, &r);
	ga = harness_buf(&h, 32, (void **)&a);
	gb = harness_buf(&h, 32, (void **)&b);
	for (int i = 0; i < 32; i++) {
		a[i] = (uint8_t)i;
		b[i] = (uint8_t)(0x80 + i);
	}
	memcpy(copy_a, a, 32);
	memcpy(copy_b, b, 32);

	/* a device-writable header then a read-only status byte would be R-after-W;
	 * here: only readable buffers where the device expected to write */
	put_desc(r.d, 0, ga, 32, VRING_DESC_F_NEXT, 1);
	put_desc(r.d, 1, gb, 32, 0, 0);
	raw_push(&r, 0);
	n = vq_getchain(&h.dev->vq[0], &head, iov, 8, fl);
	cr_assert_eq(n, 2);
	cr_assert_eq(fl[0] & VRING_DESC_F_WRITE, 0);
	cr_assert_eq(fl[1] & VRING_DESC_F_WRITE, 0);
	vq_retchain(&h.dev->vq[0]);
	cr_assert_eq(echo_dev_process(h.dev, 0), 1);
	raw_used_elem(&r, 0, &id, &len);
	cr_assert_eq(len, 0);
	cr_assert_eq(memcmp(a, copy_a, 32), 0, "device wrote a readable buffer");
	cr_assert_eq(memcmp(b, copy_b, 32), 0, "device wrote a readable buffer");

	/* only writable: nothing to echo, nothing written, length 0 */
	put_desc(r.d, 2, ga, 32, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
	put_desc(r.d, 3, gb, 32, VRING_DESC_F_WRITE, 0);
	raw_push(&r, 2);
	n = vq_getchain(&h.dev->vq[0], &head, iov, 8, fl);
	cr_assert_eq(n, 2);
	cr_assert_neq(fl[0] & VRING_DESC_F_WRITE, 0);
	cr_assert_neq(fl[1] & VRING_DESC_F_WRITE, 0);
	vq_retchain(&h.dev->vq[0]);
	cr_assert_eq(echo_dev_process(h.dev, 0), 1);
	expect_used(&r, 1, 2, 0, "directions");
	cr_assert_eq(memcmp(a, copy_a, 32), 0);
	assert_not_broken(&h, 0, "directions");
	harness_close(&h);
}

/* ---------------- H23 readable after writable ---------------- */

static void r_after_w(int variant, const char *what)
{
	struct hopts o = {.manual = true, .features = VIRTIO_RING_F_INDIRECT_DESC};
	struct harness h;
	struct raw_ring r;
	uint8_t *t;
	uint64_t g, gt;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 64, NULL);
	gt = harness_buf(&h, 64, (void **)&t);
	switch (variant) {
	case 0: /* direct W, R */
		put_desc(r.d, 0, g, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
		put_desc(r.d, 1, g + 16, 16, 0, 0);
		break;
	case 1: /* inside an indirect table: R, W, R */
		put_desc(t, 0, g, 16, VRING_DESC_F_NEXT, 1);
		put_desc(t, 1, g + 16, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
		put_desc(t, 2, g + 32, 16, 0, 0);
		put_desc(r.d, 0, gt, 48, VRING_DESC_F_INDIRECT, 0);
		break;
	default: /* direct W, then an indirect table that starts readable */
		put_desc(r.d, 0, g, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
		put_desc(t, 0, g + 16, 16, 0, 0);
		put_desc(r.d, 1, gt, 16, VRING_DESC_F_INDIRECT, 0);
		break;
	}
	raw_push(&r, 0);
	expect_refused(&h, &r, o.features, what);
	harness_close(&h);
}

Test(hostile_ring, H23_readable_after_writable_direct)
{
	r_after_w(0, "direct W,R");
}

Test(hostile_ring, H23_readable_after_writable_in_indirect_table)
{
	r_after_w(1, "indirect R,W,R");
}

Test(hostile_ring, H23_readable_after_writable_across_indirect)
{
	r_after_w(2, "W then indirect R");
}
