/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hostile split rings, what the guest does around the chains: writes to the used
 * ring, EVENT_IDX values, iovec overflow, flooding, chains the device cannot use
 * (HOSTILE.md H27-H31).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hostile_ring_checks.h"

/* ---------------- H27 guest writes the used ring ---------------- */

Test(hostile_ring, H27_guest_scribbles_used_idx)
{
	struct hopts o = {.features = VIRTIO_RING_F_EVENT_IDX};
	struct harness h;
	struct raw_ring r;
	uint64_t g;
	uint32_t id, len;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	for (uint16_t i = 0; i < r.size; i++)
		put_desc(r.d, i, g, 16, VRING_DESC_F_WRITE, 0);
	for (uint16_t i = 0; i < 3; i++)
		raw_push(&r, i);
	vdev_drv_kick(h.drv, 0);
	cr_assert_eq(raw_used_idx(&r), 3);

	/* the guest scribbles over used->idx, used->flags, the elements, avail_event */
	put16(r.u, 0xFFFF);
	put16(r.u + 2, 100);
	memset(r.u + 4, 0xA5, 8u * r.size);
	put16(r.u + 4 + 8u * r.size, 0x1234);

	raw_push(&r, 5);
	vdev_drv_kick(h.drv, 0);
	cr_assert_eq(h.dev->chain_errors, 0);
	cr_assert_eq(h.dev->vq[0].used_idx, 4, "device index followed the guest's");
	cr_assert_eq(raw_used_idx(&r), 4, "used->idx %u, device wrote its own 4", raw_used_idx(&r));
	expect_used(&r, 3, 5, 0, "used scribble");
	/* slot 100 % size (= 4) was not written */
	raw_used_elem(&r, 100, &id, &len);
	cr_assert_eq(id, 0xA5A5A5A5u);
	assert_not_broken(&h, 0, "used scribble");
	harness_close(&h);
}

/* ---------------- H28 hostile EVENT_IDX values ---------------- */

/*
 * used_event stale, equal, far behind, far ahead or 0xFFFF: the wrapping comparison
 * decides exactly, and nothing breaks.
 */
Test(hostile_ring, H28_event_idx_hostile_used_event)
{
	struct hopts o = {.manual = true, .features = VIRTIO_RING_F_EVENT_IDX};
	struct harness h;
	struct raw_ring r;
	uint64_t g;
	uint16_t head;
	struct virtio_vq_info *vq;

	hopen_ring(&h, &o, &r);
	vq = &h.dev->vq[0];
	g = harness_buf(&h, 16, NULL);
	for (uint16_t i = 0; i < r.size; i++)
		put_desc(r.d, i, g, 16, VRING_DESC_F_WRITE, 0);
	(void)vdev_drv_read_isr(h.drv);
	for (int round = 0; round < 400; round++) {
		uint16_t old = vq->used_idx, new_idx, ev;
		int k = 1 + round % 3;
		uint8_t isr;

		switch (round % 8) {
		case 0: ev = 0xFFFF; break;
		case 1: ev = (uint16_t)(old - 1); break;       /* stale */
		case 2: ev = old; break;                       /* equal: next one */
		case 3: ev = (uint16_t)(old - 0x8000); break;  /* far behind */
		case 4: ev = (uint16_t)(old + 0x8000); break;  /* far ahead */
		case 5: ev = (uint16_t)(old + (uint16_t)k); break; /* just not reached */
		case 6: ev = (uint16_t)(old + (uint16_t)k - 1); break; /* the last one */
		default: ev = (uint16_t)(round * 2654435761u); break;
		}
		for (int i = 0; i < k; i++)
			raw_push(&r, (uint16_t)i);
		for (int i = 0; i < k; i++) {
			cr_assert_eq(take1(&h, &head), 1);
			vq_relchain(vq, head, 16);
		}
		new_idx = vq->used_idx;
		raw_set_used_event(&r, ev);
		vq_endchains(vq, 0);
		isr = vdev_drv_read_isr(h.drv);
		cr_assert_eq(!!(isr & VIRTIO_CR_ISR_QUEUES), event_crossed(ev, new_idx, old),
			     "round %d: used_event %u, used %u -> %u: ISR 0x%02x", round, ev, old,
			     new_idx, isr);
	}
	assert_not_broken(&h, 0, "event values");
	harness_close(&h);
}

/* Without EVENT_IDX only bit 0 of avail->flags counts; reserved bits are ignored. */
Test(hostile_ring, H28_avail_flags_reserved_bits_ignored)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	uint64_t g;
	uint16_t head;
	static const uint16_t flags[] = {0xFFFE, 0xFFFF, 0x8000, 0x0001};
	static const bool want[] = {true, false, true, false};

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	put_desc(r.d, 0, g, 16, VRING_DESC_F_WRITE, 0);
	(void)vdev_drv_read_isr(h.drv);
	for (int i = 0; i < 4; i++) {
		uint8_t isr;

		put16(r.a, flags[i]);
		raw_push(&r, 0);
		cr_assert_eq(take1(&h, &head), 1);
		vq_relchain(&h.dev->vq[0], head, 1);
		vq_endchains(&h.dev->vq[0], 0);
		isr = vdev_drv_read_isr(h.drv);
		cr_assert_eq(!!(isr & VIRTIO_CR_ISR_QUEUES), want[i], "avail flags 0x%04x: ISR 0x%02x",
			     flags[i], isr);
	}
	assert_not_broken(&h, 0, "avail flags");
	harness_close(&h);
}

/* ---------------- H29 iovec overflow ---------------- */

/*
 * One 1 MiB buffer in 512-byte host fragments (2048 of them): broken at the 64-iovec
 * cap, after at most 64 translations.
 */
Test(hostile_ring, H29_iovec_overflow_breaks_at_cap)
{
	struct hopts o = {.manual = true, .sim_frag = 512};
	struct harness h;
	struct raw_ring r;
	struct snap s;
	uint16_t head;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = vdev_sim_alloc(h.sim, 1 << 20, 4096);
	cr_assert_neq(g, 0);
	put_desc(r.d, 0, g, 1 << 20, 0, 0);
	raw_push(&r, 0);
	snap_take(&h, &r, &s);
	cr_assert_eq(take1(&h, &head), -1, "2048 fragments did not overflow 64 iovecs");
	cr_assert_leq(translations(&h) - s.translations, ECHO_MAX_IOV + 1,
		      "%llu translations for a 64-iovec cap",
		      (unsigned long long)(translations(&h) - s.translations));
	assert_broken(&h, &r, &s, "iovec overflow");
	assert_recovers(&h, 0, "iovec overflow");
	harness_close(&h);
}

/* Exactly n_iov fragments fit; one byte more breaks (sim fragmentation 512). */
Test(hostile_ring, H29_exactly_n_iov_fragments)
{
	struct hopts o = {.manual = true, .sim_frag = 512};
	struct harness h;
	struct raw_ring r;
	struct snap s;
	uint16_t head;
	struct iovec iov[ECHO_MAX_IOV];
	uint64_t g;
	int n;

	hopen_ring(&h, &o, &r);
	g = vdev_sim_alloc(h.sim, ECHO_MAX_IOV * 512 + 512, 512);
	cr_assert_neq(g, 0);
	put_desc(r.d, 0, g, ECHO_MAX_IOV * 512, VRING_DESC_F_WRITE, 0);
	put_desc(r.d, 1, g, ECHO_MAX_IOV * 512 + 1, VRING_DESC_F_WRITE, 0);
	raw_push(&r, 0);
	n = take(&h, 0, &head, iov, ECHO_MAX_IOV);
	cr_assert_eq(n, ECHO_MAX_IOV, "64 fragments gave %d", n);
	vq_relchain(&h.dev->vq[0], head, 0);
	vq_endchains(&h.dev->vq[0], 1);
	raw_push(&r, 1);
	snap_take(&h, &r, &s);
	cr_assert_eq(take(&h, 0, &head, iov, ECHO_MAX_IOV), -1, "65 fragments accepted");
	assert_broken(&h, &r, &s, "65 fragments");
	assert_recovers(&h, 0, "65 fragments");
	harness_close(&h);
}

/* The echo device's own path: chain_errors grows and the queue breaks. */
Test(hostile_ring, H29_iovec_overflow_via_echo)
{
	struct hopts o = {.sim_frag = 512};
	struct harness h;
	struct raw_ring r;
	struct snap s;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = vdev_sim_alloc(h.sim, 80 * 512, 512);
	cr_assert_neq(g, 0);
	/* 40 + 40 fragments */
	put_desc(r.d, 0, g, 40 * 512, VRING_DESC_F_NEXT, 1);
	put_desc(r.d, 1, g + 40 * 512, 40 * 512, VRING_DESC_F_WRITE, 0);
	raw_push(&r, 0);
	snap_take(&h, &r, &s);
	vdev_drv_kick(h.drv, 0);
	cr_assert_eq(h.dev->chain_errors, s.chain_errors + 1);
	assert_broken(&h, &r, &s, "echo iovec overflow");
	assert_recovers(&h, 0, "echo iovec overflow");
	harness_close(&h);
}

/* ---------------- H30 flooding ---------------- */

/*
 * The guest republishes the same completed heads over and over without ever reaping
 * the used ring: the device keeps up, nothing stays in flight, work per kick is
 * bounded by the queue size.
 */
Test(hostile_ring, H30_full_queue_never_reaped)
{
	struct hopts o = {0};
	struct harness h;
	struct raw_ring r;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	for (uint16_t i = 0; i < r.size; i++)
		put_desc(r.d, i, g, 16, VRING_DESC_F_WRITE, 0);
	for (int round = 1; round <= 2000; round++) {
		uint64_t t0 = translations(&h);

		for (uint16_t i = 0; i < r.size; i++)
			raw_push(&r, i);
		vdev_drv_kick(h.drv, 0);
		cr_assert_leq(translations(&h) - t0, r.size, "round %d: unbounded work", round);
		cr_assert_eq(h.dev->vq[0].n_inflight, 0);
		cr_assert_eq(raw_used_idx(&r), (uint16_t)(round * r.size));
	}
	cr_assert_eq(h.dev->echoed, 2000u * r.size);
	assert_not_broken(&h, 0, "flood");
	harness_close(&h);
}

/* A backend that never completes: in flight stays <= size, and the guest cannot
 * push more work past it. */
Test(hostile_ring, H30_inflight_bounded_by_queue_size)
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
		raw_push(&r, i);
	}
	for (uint16_t i = 0; i < r.size; i++)
		cr_assert_eq(take1(&h, &head), 1);
	cr_assert_eq(take1(&h, &head), 0);
	cr_assert_eq(h.dev->vq[0].n_inflight, r.size);
	/* the guest republishes the in-flight heads */
	for (uint16_t i = 0; i < r.size; i++)
		raw_push(&r, i);
	snap_take(&h, &r, &s);
	cr_assert_eq(take1(&h, &head), -1);
	cr_assert_leq(h.dev->vq[0].n_inflight, r.size);
	assert_broken(&h, &r, &s, "republished in-flight heads");
	assert_recovers(&h, 0, "republished in-flight heads");
	harness_close(&h);
}

/* Every queue full and kicked at once: each one is served completely. */
Test(hostile_ring, H30_many_queues_kicked_at_once)
{
	struct hopts o = {.nvq = ECHO_MAX_QUEUES};
	struct harness h;
	struct raw_ring r[ECHO_MAX_QUEUES];
	uint64_t g;

	hopen(&h, &o);
	g = harness_buf(&h, 16, NULL);
	for (int round = 1; round <= 50; round++) {
		for (uint16_t q = 0; q < ECHO_MAX_QUEUES; q++) {
			if (round == 1) {
				raw_ring_init(&h, q, &r[q]);
				for (uint16_t i = 0; i < r[q].size; i++)
					put_desc(r[q].d, i, g, 16, VRING_DESC_F_WRITE, 0);
			}
			for (uint16_t i = 0; i < r[q].size; i++)
				raw_push(&r[q], i);
		}
		for (uint16_t q = 0; q < ECHO_MAX_QUEUES; q++)
			vdev_drv_kick(h.drv, q);
		for (uint16_t q = 0; q < ECHO_MAX_QUEUES; q++) {
			cr_assert_eq(raw_used_idx(&r[q]), (uint16_t)(round * r[q].size),
				     "queue %u starved in round %d", q, round);
			cr_assert_eq(h.dev->vq[q].n_inflight, 0);
		}
	}
	for (uint16_t q = 0; q < ECHO_MAX_QUEUES; q++)
		assert_not_broken(&h, q, "many queues");
	harness_close(&h);
}

/* ---------------- H31 chains the device cannot use ---------------- */

/* Only readable segments: the echo device completes with length 0; nothing leaks. */
Test(hostile_ring, H31_readable_only_chain_completes_len_0)
{
	struct hopts o = {0};
	struct harness h;
	struct vdev_drv_seg segs[2];
	void *tok = NULL;
	uint32_t len = 1;
	uint64_t g;

	hopen(&h, &o);
	g = harness_buf(&h, 32, NULL);
	segs[0] = (struct vdev_drv_seg){.gpa = g, .len = 16};
	segs[1] = (struct vdev_drv_seg){.gpa = g + 16, .len = 16};
	for (int round = 0; round < 3 * 8; round++) {
		cr_assert_eq(vdev_drv_enqueue(h.drv, 0, segs, 2, false, segs), 0, "round %d", round);
		vdev_drv_kick(h.drv, 0);
		cr_assert_eq(vdev_drv_dequeue(h.drv, 0, &tok, &len), 1);
		cr_assert_eq(tok, segs);
		cr_assert_eq(len, 0);
		cr_assert_eq(h.dev->vq[0].n_inflight, 0, "head leaked");
	}
	cr_assert_eq(vdev_drv_queue_free(h.drv, 0), 8);
	assert_not_broken(&h, 0, "read-only");
	roundtrip_ok(&h, 0, "after read-only chains");
	harness_close(&h);
}

/*
 * A chain of only zero-length descriptors yields no iovec: vq_getchain completes it
 * at once with length 0 and hands out the next chain instead.
 */
Test(hostile_ring, H31_zero_length_only_chain_completed)
{
	struct hopts o = {.manual = true, .features = VIRTIO_RING_F_INDIRECT_DESC};
	struct harness h;
	struct raw_ring r;
	uint16_t head;
	uint64_t g, gt;
	uint8_t *t;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	gt = harness_buf(&h, 32, (void **)&t);
	put_desc(r.d, 0, g, 0, VRING_DESC_F_NEXT, 1);
	put_desc(r.d, 1, g, 0, VRING_DESC_F_WRITE, 0);
	put_desc(t, 0, g, 0, VRING_DESC_F_NEXT, 1);
	put_desc(t, 1, g, 0, VRING_DESC_F_WRITE, 0);
	put_desc(r.d, 2, gt, 32, VRING_DESC_F_INDIRECT, 0);
	put_desc(r.d, 3, g, 16, VRING_DESC_F_WRITE, 0);
	raw_push(&r, 0);
	raw_push(&r, 2);
	raw_push(&r, 3);
	cr_assert_eq(take1(&h, &head), 1, "the next real chain was not handed out");
	cr_assert_eq(head, 3);
	cr_assert_eq(raw_used_idx(&r), 2, "empty chains not completed at once");
	expect_used(&r, 0, 0, 0, "empty chains");
	expect_used(&r, 1, 2, 0, "empty chains");
	cr_assert_eq(h.dev->vq[0].n_inflight, 1);
	vq_relchain(&h.dev->vq[0], head, 16);
	vq_endchains(&h.dev->vq[0], 1);
	cr_assert_eq(h.dev->vq[0].n_inflight, 0);

	/* an empty chain with nothing after it: 0, and still completed */
	raw_push(&r, 0);
	cr_assert_eq(take1(&h, &head), 0);
	cr_assert_eq(raw_used_idx(&r), 4);
	expect_used(&r, 3, 0, 0, "empty chains");
	cr_assert_eq(h.dev->vq[0].n_inflight, 0, "empty chain leaked");
	assert_not_broken(&h, 0, "empty chains");
	harness_close(&h);
}

/* A full ring of empty chains is drained in bounded work, and nothing leaks. */
Test(hostile_ring, H31_ring_full_of_empty_chains)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	uint16_t head;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 16, NULL);
	for (int round = 1; round <= 100; round++) {
		for (uint16_t i = 0; i < r.size; i++) {
			put_desc(r.d, i, g, 0, VRING_DESC_F_WRITE, 0);
			raw_push(&r, i);
		}
		cr_assert_eq(take1(&h, &head), 0);
		cr_assert_eq(raw_used_idx(&r), (uint16_t)(round * r.size));
		cr_assert_eq(h.dev->vq[0].n_inflight, 0);
	}
	assert_not_broken(&h, 0, "empty ring");
	harness_close(&h);
}
