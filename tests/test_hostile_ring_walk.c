/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hostile split rings, the walk itself: descriptor loops, over-long chains, next
 * and head past the queue, avail index abuse, duplicate heads (HOSTILE.md H14-H19).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hostile_ring_checks.h"

/* ---------------- H14 descriptor loops ---------------- */

/* A self-loop through `next` in every device mode: stops within queue-size hops. */
Test(hostile_ring, H14_descriptor_self_loop)
{
	for (int ci = 0; ci < FX_NMODES; ci++) {
		const struct fx_mode *c = &fx_modes[ci];
		struct hopts o = {.mode = c->mode, .access = c->access, .manual = true};
		struct harness h;
		struct raw_ring r;
		struct snap s;
		uint16_t head;
		uint64_t g;

		hopen_ring(&h, &o, &r);
		g = harness_buf(&h, 16, NULL);
		put_desc(r.d, 0, g, 16, VRING_DESC_F_NEXT, 0);
		raw_push(&r, 0);
		snap_take(&h, &r, &s);
		cr_assert_eq(take1(&h, &head), -1, "%s: self-loop not refused", c->name);
		/* at most one translation per hop, and at most queue-size hops */
		cr_assert_leq(translations(&h) - s.translations, r.size, "%s: %llu translations",
			      c->name, (unsigned long long)(translations(&h) - s.translations));
		assert_broken(&h, &r, &s, c->name);
		assert_recovers(&h, 0, c->name);
		harness_close(&h);
	}
}

/* A two-descriptor cycle reached through a kick and the echo device. */
Test(hostile_ring, H14_descriptor_two_cycle_via_kick)
{
	struct hopts o = {0};
	struct harness h;
	struct raw_ring r;
	struct snap s;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	put_desc(r.d, 2, g, 16, VRING_DESC_F_NEXT, 5);
	put_desc(r.d, 5, g, 16, VRING_DESC_F_NEXT, 2);
	raw_push(&r, 2);
	snap_take(&h, &r, &s);
	vdev_drv_kick(h.drv, 0);
	cr_assert_eq(h.dev->chain_errors, s.chain_errors + 1);
	cr_assert_eq(h.dev->echoed, s.echoed);
	cr_assert_leq(translations(&h) - s.translations, r.size);
	assert_broken(&h, &r, &s, "two-cycle");
	/* kicks to a broken queue are ignored and counted */
	vdev_drv_kick(h.drv, 0);
	cr_assert_gt(stats(&h).notifies_ignored, s.st.notifies_ignored);
	cr_assert_eq(h.dev->chain_errors, s.chain_errors + 1);
	assert_recovers(&h, 0, "two-cycle");
	harness_close(&h);
}

/* ---------------- H15 over-long chains ---------------- */

/* Exactly `size` descriptors is the longest legal chain. */
Test(hostile_ring, H15_chain_of_queue_size_accepted)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	struct iovec iov[16];
	uint16_t head;
	uint64_t g;
	int n;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16 * r.size, NULL);
	for (uint16_t i = 0; i < r.size; i++) {
		bool last = i + 1 == r.size;

		put_desc(r.d, i, g + 16u * i, 16,
			 (uint16_t)((last ? VRING_DESC_F_WRITE : 0) | (last ? 0 : VRING_DESC_F_NEXT)),
			 (uint16_t)(i + 1));
	}
	raw_push(&r, 0);
	n = take(&h, 0, &head, iov, 16);
	cr_assert_eq(n, r.size, "chain of queue size gave %d", n);
	vq_relchain(&h.dev->vq[0], head, 16);
	vq_endchains(&h.dev->vq[0], 1);
	cr_assert_eq(raw_used_idx(&r), 1);
	assert_not_broken(&h, 0, "size chain");
	harness_close(&h);
}

/* size + 1 hops (the last one revisits the head): broken. */
Test(hostile_ring, H15_chain_longer_than_queue_size)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	struct snap s;
	uint16_t head;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	for (uint16_t i = 0; i < r.size; i++)
		put_desc(r.d, i, g, 16, VRING_DESC_F_NEXT, (uint16_t)((i + 1) % r.size));
	raw_push(&r, 0);
	snap_take(&h, &r, &s);
	cr_assert_eq(take1(&h, &head), -1);
	cr_assert_leq(translations(&h) - s.translations, r.size);
	assert_broken(&h, &r, &s, "size+1 chain");
	assert_recovers(&h, 0, "size+1 chain");
	harness_close(&h);
}

/* An indirect table chaining size + 1 entries: broken (H15 through H24's door). */
Test(hostile_ring, H15_indirect_chain_longer_than_queue_size)
{
	struct hopts o = {.manual = true, .features = VIRTIO_RING_F_INDIRECT_DESC};
	struct harness h;
	struct raw_ring r;
	uint8_t *t;
	uint64_t g, gt;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	gt = harness_buf(&h, 16u * (r.size + 1), (void **)&t);
	for (uint16_t i = 0; i <= r.size; i++)
		put_desc(t, i, g, 16, i < r.size ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	put_desc(r.d, 0, gt, 16u * (r.size + 1), VRING_DESC_F_INDIRECT, 0);
	raw_push(&r, 0);
	expect_refused(&h, &r, o.features, "indirect size+1");
	harness_close(&h);
}

/* ---------------- H16 next past the queue ---------------- */

static void next_past_size(uint16_t bad_next)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	uint64_t g;
	char what[32];

	snprintf(what, sizeof(what), "next=0x%x", bad_next);
	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	put_desc(r.d, 0, g, 16, VRING_DESC_F_NEXT, 1);
	put_desc(r.d, 1, g, 16, VRING_DESC_F_NEXT, bad_next);
	raw_push(&r, 0);
	expect_refused(&h, &r, 0, what);
	harness_close(&h);
}

Test(hostile_ring, H16_next_equal_to_queue_size)
{
	next_past_size(8);
}

Test(hostile_ring, H16_next_0xffff)
{
	next_past_size(0xFFFF);
}

/* ---------------- H17 avail index ---------------- */

/* avail->idx more than size ahead: broken, and no phantom entry is processed. */
Test(hostile_ring, H17_avail_idx_jumps_ahead)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	struct snap s;
	uint16_t head;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	for (uint16_t i = 0; i < r.size; i++) {
		put_desc(r.d, i, g, 16, VRING_DESC_F_WRITE, 0);
		raw_avail_entry(&r, i, i);
	}
	raw_set_avail_idx(&r, (uint16_t)(r.size + 1));
	snap_take(&h, &r, &s);
	cr_assert_eq(take1(&h, &head), -1);
	cr_assert_eq(stats(&h).chains, s.st.chains, "phantom entries were taken");
	cr_assert_eq(h.dev->vq[0].n_inflight, 0);
	assert_broken(&h, &r, &s, "avail idx size+1");
	assert_recovers(&h, 0, "avail idx size+1");
	harness_close(&h);
}

/* The same through a kick: the echo device serves nothing. */
Test(hostile_ring, H17_avail_idx_jumps_ahead_via_kick)
{
	struct hopts o = {0};
	struct harness h;
	struct raw_ring r;
	struct snap s;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	for (uint16_t i = 0; i < r.size; i++) {
		put_desc(r.d, i, g, 16, VRING_DESC_F_WRITE, 0);
		raw_avail_entry(&r, i, i);
	}
	raw_set_avail_idx(&r, 0x8000);
	snap_take(&h, &r, &s);
	vdev_drv_kick(h.drv, 0);
	cr_assert_eq(h.dev->echoed, s.echoed, "phantom entries were served");
	assert_broken(&h, &r, &s, "avail idx 0x8000");
	assert_recovers(&h, 0, "avail idx 0x8000");
	harness_close(&h);
}

/* Exactly size ahead is a full ring, not an error. */
Test(hostile_ring, H17_avail_idx_exactly_size_ahead_ok)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	uint16_t head;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	for (uint16_t i = 0; i < r.size; i++) {
		put_desc(r.d, i, g, 16, VRING_DESC_F_WRITE, 0);
		raw_avail_entry(&r, i, (uint16_t)(r.size - 1 - i));
	}
	raw_set_avail_idx(&r, r.size);
	for (uint16_t i = 0; i < r.size; i++) {
		cr_assert_eq(take1(&h, &head), 1, "entry %u", i);
		cr_assert_eq(head, r.size - 1 - i);
	}
	cr_assert_eq(take1(&h, &head), 0);
	cr_assert_eq(h.dev->vq[0].n_inflight, r.size);
	assert_not_broken(&h, 0, "full ring");
	harness_close(&h);
}

/* avail->idx moving backwards is 0xFFFF entries ahead in 16-bit terms: broken. */
Test(hostile_ring, H17_avail_idx_moves_backwards)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	uint16_t head[2];
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	put_desc(r.d, 0, g, 16, VRING_DESC_F_WRITE, 0);
	put_desc(r.d, 1, g, 16, VRING_DESC_F_WRITE, 0);
	raw_push(&r, 0);
	raw_push(&r, 1);
	cr_assert_eq(take1(&h, &head[0]), 1);
	cr_assert_eq(take1(&h, &head[1]), 1);
	vq_relchain(&h.dev->vq[0], head[0], 16);
	vq_relchain(&h.dev->vq[0], head[1], 16);
	vq_endchains(&h.dev->vq[0], 1);
	raw_set_avail_idx(&r, 1);
	expect_refused(&h, &r, 0, "avail idx backwards");
	harness_close(&h);
}

/* Legal traffic across the 0xFFFF -> 0 wrap of avail->idx is not mistaken for a jump. */
Test(hostile_ring, H17_avail_idx_wraps_at_0xffff, .timeout = 30)
{
	struct hopts o = {0};
	struct harness h;
	struct raw_ring r;
	struct vdev_drv_seg seg;
	uint32_t total = 0;
	void *tok;
	uint32_t len;

	hopen_ring(&h, &o, &r);
	seg = (struct vdev_drv_seg){.gpa = harness_buf(&h, 16, NULL), .len = 16, .writable = true};
	while (total < 65536 + 100) {
		int n = 0;

		while (vdev_drv_enqueue(h.drv, 0, &seg, 1, false, NULL) == 0)
			n++;
		cr_assert_eq(n, r.size);
		vdev_drv_kick(h.drv, 0);
		while (vdev_drv_dequeue(h.drv, 0, &tok, &len) == 1)
			n--;
		cr_assert_eq(n, 0, "completions missing after %u requests", total);
		total += r.size;
	}
	cr_assert_eq(raw_avail_idx(&r), (uint16_t)total);
	cr_assert_eq(raw_used_idx(&r), (uint16_t)total);
	cr_assert_eq(h.dev->echoed, total);
	cr_assert_eq(h.dev->chain_errors, 0);
	assert_not_broken(&h, 0, "wrap");
	harness_close(&h);
}

/* ---------------- H18 head past the queue ---------------- */

static void head_past_size(uint16_t bad)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	char what[32];

	snprintf(what, sizeof(what), "head=0x%x", bad);
	hopen_ring(&h, &o, &r);
	raw_push(&r, bad);
	expect_refused(&h, &r, 0, what);
	harness_close(&h);
}

Test(hostile_ring, H18_head_equal_to_queue_size)
{
	head_past_size(8);
}

Test(hostile_ring, H18_head_0xffff)
{
	head_past_size(0xFFFF);
}

/* ---------------- H19 duplicate heads ---------------- */

/* The same head twice before completion: the second take breaks the queue and the
 * head is completed at most once. */
Test(hostile_ring, H19_duplicate_head_in_flight)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	struct snap s;
	uint16_t head, head2;
	struct vdev_virtio_stats st;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	put_desc(r.d, 3, g, 16, VRING_DESC_F_WRITE, 0);
	raw_push(&r, 3);
	raw_push(&r, 3);
	cr_assert_eq(take1(&h, &head), 1);
	cr_assert_eq(head, 3);
	snap_take(&h, &r, &s);
	cr_assert_eq(take1(&h, &head2), -1, "second copy of an in-flight head taken");
	cr_assert_eq(h.dev->vq[0].n_inflight, 1);
	/* the backend now finishes the first copy (and, buggy, a second time) */
	vq_relchain(&h.dev->vq[0], head, 16);
	vq_relchain(&h.dev->vq[0], head, 16);
	vq_endchains(&h.dev->vq[0], 1);
	cr_assert_eq(h.dev->vq[0].n_inflight, 0);
	st = stats(&h);
	cr_assert_eq(st.used, s.st.used + 1, "head completed %llu times",
		     (unsigned long long)(st.used - s.st.used));
	assert_broken(&h, &r, &s, "duplicate head");
	assert_recovers(&h, 0, "duplicate head");
	harness_close(&h);
}

/* vq_relchain of a head that is not in flight: ignored and logged, not broken. */
Test(hostile_ring, H19_relchain_not_in_flight_ignored)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	uint16_t head;
	uint64_t g, logs;
	struct vdev_virtio_stats st;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	put_desc(r.d, 0, g, 16, VRING_DESC_F_WRITE, 0);
	raw_push(&r, 0);
	cr_assert_eq(take1(&h, &head), 1);
	vq_relchain(&h.dev->vq[0], head, 16);
	st = stats(&h);
	logs = log_count(&h);
	vq_relchain(&h.dev->vq[0], head, 16);   /* twice */
	vq_relchain(&h.dev->vq[0], 5, 16);      /* never taken */
	vq_relchain(&h.dev->vq[0], 0xFFFF, 16); /* not a head at all */
	vq_endchains(&h.dev->vq[0], 1);
	cr_assert_eq(raw_used_idx(&r), 1);
	expect_used(&r, 0, 0, 16, "stray relchain");
	cr_assert_eq(stats(&h).used, st.used);
	cr_assert_geq(log_count(&h), logs + 3, "ignored completions were not logged");
	cr_assert_eq(h.dev->vq[0].n_inflight, 0);
	assert_not_broken(&h, 0, "stray relchain");
	harness_close(&h);
}

/* A head made available again after it completed is legal. */
Test(hostile_ring, H19_head_reused_after_completion)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	uint16_t head;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	put_desc(r.d, 0, g, 16, VRING_DESC_F_WRITE, 0);
	for (int i = 0; i < 3 * r.size; i++) {
		raw_push(&r, 0);
		cr_assert_eq(take1(&h, &head), 1, "round %d", i);
		cr_assert_eq(head, 0);
		vq_relchain(&h.dev->vq[0], head, 4);
		vq_endchains(&h.dev->vq[0], 1);
	}
	cr_assert_eq(raw_used_idx(&r), 3 * r.size);
	assert_not_broken(&h, 0, "reuse");
	harness_close(&h);
}
