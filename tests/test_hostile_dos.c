/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Denial of service by a hostile guest (HOSTILE.md H14, H30, H31), measured with
 * counters, never with a clock: `stats.descriptors` is every descriptor a chain walk
 * copied out of guest memory, so "work per kick" is a number a test can bound. The
 * guest here loops chains, re-kicks endlessly, and offers the most expensive legal
 * rings there are. The device models' own floods (a backend that never completes, no
 * receive buffers, a host side that never accepts) are in the suites blk_dos, net_dos
 * and console_hostile.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "test_util.h"

#define KICKS 10000 /* "endlessly", as far as any counter can tell */

/* Every counter a kick could move, plus what the host saw. */
struct cost {
	struct vdev_virtio_stats st;
	struct vdev_sim_irqs irq;
	uint64_t logs;
	uint64_t kicks;  /* kicks that reached the device's qnotify */
	uint64_t echoed; /* chains the echo device completed */
};

static struct cost cost_now(struct harness *h)
{
	struct cost c = {.st = stats(h),
			 .irq = irqs(h),
			 .logs = vdev_sim_log_count(h->sim),
			 .kicks = h->dev->kicks,
			 .echoed = h->dev->echoed};

	return c;
}

/* One device of `qsize` entries, set up with `features`, and its queue 0 ring. */
static void open_q(struct harness *h, const struct fx_mode *c, uint16_t qsize,
		   uint64_t features, bool manual, struct raw_ring *r)
{
	struct echo_dev_config e = {.qsize = qsize, .manual = manual};

	open_ready(h, c, &e, features, qsize);
	raw_ring_init(h, 0, r);
	cr_assert_eq(r->size, qsize, "%s: ring of %u entries", c->name, r->size);
}

/* A reset and a fresh set-up bring the device back, and it echoes again. */
static void expect_recovers(const char *ctx, struct harness *h, uint64_t features, uint16_t qsize)
{
	cr_assert_eq(vdev_drv_reset(h->drv), 0, "%s: reset", ctx);
	cr_assert_eq(harness_ready(h, features, qsize), 0, "%s: set-up after reset", ctx);
	assert_healthy(h, ctx);
	echo_roundtrip(ctx, h, 0, 24, 0x41, 3);
}

/*
 * A self-loop costs at most queue-size descriptor reads, once: the queue breaks, and
 * every one of the guest's endless re-kicks after that is ignored at the register
 * (counted, not logged above debug) without reaching the device or guest memory.
 */
Test(hostile_dos, H14_loop_costs_one_bounded_walk_then_rekicks_cost_nothing)
{
	FOR_EACH_COMBO(c)
	{
		const uint16_t qsize = 256;
		struct harness h;
		struct raw_ring r;
		struct cost c0, c1, c2;
		uint64_t g;

		open_q(&h, c, qsize, 0, false, &r);
		g = harness_buf(&h, 16, NULL);
		put_desc(r.d, 9, g, 16, VRING_DESC_F_NEXT, 9);
		raw_push(&r, 9);
		c0 = cost_now(&h);
		vdev_drv_kick(h.drv, 0);
		c1 = cost_now(&h);
		cr_assert_gt(c1.st.descriptors, c0.st.descriptors, "%s: nothing walked", c->name);
		cr_assert_leq(c1.st.descriptors - c0.st.descriptors, qsize,
			      "%s: a loop cost %llu descriptor reads for a %u-entry ring", c->name,
			      (unsigned long long)(c1.st.descriptors - c0.st.descriptors), qsize);
		cr_assert_leq(c1.irq.translations - c0.irq.translations, qsize, "%s", c->name);
		CHECK_EQ(c->name, c1.st.guest_errors, c0.st.guest_errors + 1);
		CHECK_EQ(c->name, c1.st.interrupts, c0.st.interrupts + 1); /* the config one */
		cr_assert(vdev_drv_read_status(h.drv) & NEEDS_RESET, "%s: not broken", c->name);
		cr_assert_gt(c1.logs, c0.logs, "%s: the break was not logged", c->name);

		for (int i = 0; i < KICKS; i++)
			vdev_drv_kick(h.drv, 0);
		c2 = cost_now(&h);
		CHECK_EQ(c->name, c2.st.notifies_ignored, c1.st.notifies_ignored + KICKS);
		CHECK_EQ(c->name, c2.st.notifies, c1.st.notifies);
		CHECK_EQ(c->name, c2.kicks, c1.kicks);
		CHECK_EQ(c->name, c2.st.descriptors, c1.st.descriptors);
		CHECK_EQ(c->name, c2.irq.translations, c1.irq.translations);
		CHECK_EQ(c->name, c2.st.guest_errors, c1.st.guest_errors);
		CHECK_EQ(c->name, c2.st.interrupts, c1.st.interrupts);
		CHECK_EQ(c->name, c2.irq.intx_raises, c1.irq.intx_raises);
		CHECK_EQ(c->name, c2.logs, c1.logs);
		CHECK_EQ(c->name, raw_used_idx(&r), 0);
		expect_recovers(c->name, &h, 0, qsize);
		harness_close(&h);
	}
}

/* Kicking a healthy, empty queue forever reaches the device and costs nothing else. */
Test(hostile_dos, H30_rekicking_an_empty_queue_reads_no_descriptor)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		struct raw_ring r;
		struct cost c0, c1;

		open_q(&h, c, 64, VIRTIO_RING_F_EVENT_IDX, false, &r);
		echo_roundtrip(c->name, &h, 0, 8, 1, 1);
		c0 = cost_now(&h);
		for (int i = 0; i < KICKS; i++)
			vdev_drv_kick(h.drv, 0);
		c1 = cost_now(&h);
		CHECK_EQ(c->name, c1.st.notifies, c0.st.notifies + KICKS);
		CHECK_EQ(c->name, c1.kicks, c0.kicks + KICKS);
		CHECK_EQ(c->name, c1.st.descriptors, c0.st.descriptors);
		CHECK_EQ(c->name, c1.irq.translations, c0.irq.translations);
		CHECK_EQ(c->name, c1.st.chains, c0.st.chains);
		CHECK_EQ(c->name, c1.st.interrupts, c0.st.interrupts);
		CHECK_EQ(c->name, c1.logs, c0.logs);
		CHECK_EQ(c->name, raw_used_idx(&r), 1);
		assert_healthy(&h, c->name);
		harness_close(&h);
	}
}

/*
 * A backend that never completes (the device takes every chain and never returns
 * one): in flight stops at the queue size, the guest has nothing left to offer, and
 * further kicks read no descriptor. Completing everything later still works.
 */
Test(hostile_dos, H30_never_completed_chains_stop_at_queue_size)
{
	FOR_EACH_COMBO(c)
	{
		const uint16_t qsize = 32;
		struct harness h;
		struct raw_ring r;
		struct cost c0, c1;
		struct virtio_vq_info *vq;
		struct vdev_drv_seg seg;
		uint16_t heads[32];
		struct iovec iov[4];
		uint16_t fl[4];
		int n = 0;

		open_q(&h, c, qsize, 0, true, &r);
		vq = &h.dev->vq[0];
		seg = (struct vdev_drv_seg){harness_buf(&h, 64, NULL), 64, true};
		while (vdev_drv_enqueue(h.drv, 0, &seg, 1, false, &seg) == 0)
			n++;
		CHECK_EQ(c->name, n, qsize);
		vdev_drv_kick(h.drv, 0);
		for (int i = 0; i < qsize; i++)
			cr_assert_eq(vq_getchain(vq, &heads[i], iov, 4, fl), 1, "%s: chain %d",
				     c->name, i);
		CHECK_EQ(c->name, vq->n_inflight, qsize);

		c0 = cost_now(&h);
		for (int i = 0; i < KICKS; i++) {
			vdev_drv_kick(h.drv, 0);
			cr_assert_eq(vq_getchain(vq, &heads[0], iov, 4, fl), 0,
				     "%s: a chain past the queue size", c->name);
		}
		c1 = cost_now(&h);
		CHECK_EQ(c->name, vq->n_inflight, qsize);
		CHECK_EQ(c->name, c1.st.descriptors, c0.st.descriptors);
		CHECK_EQ(c->name, c1.st.chains, c0.st.chains);
		CHECK_EQ(c->name, c1.irq.translations, c0.irq.translations);
		CHECK_EQ(c->name, vdev_drv_enqueue(h.drv, 0, &seg, 1, false, &seg), -ENOSPC);
		assert_healthy(&h, c->name);

		/* The backend finally completes everything: all of it reaches the guest. */
		for (int i = 0; i < qsize; i++)
			vq_relchain(vq, heads[i], 64);
		vq_endchains(vq, 1);
		CHECK_EQ(c->name, vq->n_inflight, 0);
		CHECK_EQ(c->name, dequeue_all(&h, 0), qsize);
		assert_healthy(&h, c->name);
		harness_close(&h);
	}
}

/*
 * The most expensive legal ring: every avail entry names head 0, whose chain runs
 * through all `size` descriptors and ends in an indirect table of `size` entries.
 * Each chain costs 2 * size descriptor reads and one kick serves `size` of them:
 * 2 * size^2 is the ceiling (pending entries <= size, ring hops <= size, table
 * entries <= size), and this ring reaches it without breaking a rule.
 */
Test(hostile_dos, H30_work_per_kick_is_at_most_twice_queue_size_squared)
{
	FOR_EACH_COMBO(c)
	{
		const uint16_t qsize = 16;
		const uint64_t ceiling = 2ULL * qsize * qsize;
		struct harness h;
		struct raw_ring r;
		struct cost c0, c1;
		uint8_t *t;
		uint64_t g, gt;

		open_q(&h, c, qsize, VIRTIO_RING_F_INDIRECT_DESC, false, &r);
		g = harness_buf(&h, 32u * qsize, NULL);
		gt = harness_buf(&h, 16u * qsize, (void **)&t);
		for (uint16_t i = 0; i + 1 < qsize; i++)
			put_desc(r.d, i, g + 16u * i, 16, VRING_DESC_F_NEXT, (uint16_t)(i + 1));
		put_desc(r.d, (uint16_t)(qsize - 1), gt, 16u * qsize, VRING_DESC_F_INDIRECT, 0);
		for (uint16_t i = 0; i < qsize; i++)
			put_desc(t, i, g + 16u * (qsize + i), 16,
				 (uint16_t)(VRING_DESC_F_WRITE |
					    (i + 1 < qsize ? VRING_DESC_F_NEXT : 0)),
				 (uint16_t)(i + 1));
		for (uint16_t i = 0; i < qsize; i++)
			raw_push(&r, 0);
		c0 = cost_now(&h);
		vdev_drv_kick(h.drv, 0);
		c1 = cost_now(&h);
		CHECK_EQ(c->name, c1.echoed, c0.echoed + qsize);
		CHECK_EQ(c->name, raw_used_idx(&r), qsize);
		cr_assert_leq(c1.st.descriptors - c0.st.descriptors, ceiling,
			      "%s: %llu descriptor reads in one kick, ceiling %llu", c->name,
			      (unsigned long long)(c1.st.descriptors - c0.st.descriptors),
			      (unsigned long long)ceiling);
		CHECK_EQ(c->name, c1.st.descriptors - c0.st.descriptors, ceiling);
		/* one translation per buffer, a table in one piece costs one more */
		cr_assert_leq(c1.irq.translations - c0.irq.translations, ceiling + qsize, "%s",
			      c->name);
		CHECK_EQ(c->name, h.dev->vq[0].n_inflight, 0);
		assert_healthy(&h, c->name);
		harness_close(&h);
	}
}

/*
 * The same ring with every length 0 (H31): no chain has anything for the device, so
 * vq_getchain() completes them itself, all inside one call. That loop, too, stops at
 * the ring's content: `size` chains, 2 * size^2 descriptor reads, nothing translated.
 */
Test(hostile_dos, H31_ring_of_maximal_empty_chains_is_bounded_in_one_call)
{
	FOR_EACH_COMBO(c)
	{
		const uint16_t qsize = 16;
		const uint64_t ceiling = 2ULL * qsize * qsize;
		struct harness h;
		struct raw_ring r;
		struct cost c0, c1;
		struct iovec iov[4];
		uint16_t fl[4], head;
		uint8_t *t;
		uint64_t g, gt;

		open_q(&h, c, qsize, VIRTIO_RING_F_INDIRECT_DESC, true, &r);
		g = harness_buf(&h, 16, NULL);
		gt = harness_buf(&h, 16u * qsize, (void **)&t);
		for (uint16_t i = 0; i + 1 < qsize; i++)
			put_desc(r.d, i, g, 0, VRING_DESC_F_NEXT, (uint16_t)(i + 1));
		put_desc(r.d, (uint16_t)(qsize - 1), gt, 16u * qsize, VRING_DESC_F_INDIRECT, 0);
		for (uint16_t i = 0; i < qsize; i++)
			put_desc(t, i, g, 0, i + 1 < qsize ? VRING_DESC_F_NEXT : 0,
				 (uint16_t)(i + 1));
		for (uint16_t i = 0; i < qsize; i++)
			raw_push(&r, 0);
		vdev_drv_kick(h.drv, 0);
		c0 = cost_now(&h);
		cr_assert_eq(vq_getchain(&h.dev->vq[0], &head, iov, 4, fl), 0, "%s", c->name);
		c1 = cost_now(&h);
		CHECK_EQ(c->name, raw_used_idx(&r), qsize);
		for (uint16_t i = 0; i < qsize; i++)
			expect_used(&r, i, 0, 0, c->name);
		CHECK_EQ(c->name, c1.st.chains - c0.st.chains, qsize);
		CHECK_EQ(c->name, c1.st.used - c0.st.used, qsize);
		cr_assert_leq(c1.st.descriptors - c0.st.descriptors, ceiling,
			      "%s: %llu descriptor reads in one call", c->name,
			      (unsigned long long)(c1.st.descriptors - c0.st.descriptors));
		/* only the indirect tables were looked up, never a zero-length buffer */
		cr_assert_leq(c1.irq.translations - c0.irq.translations, qsize, "%s", c->name);
		CHECK_EQ(c->name, h.dev->vq[0].n_inflight, 0);
		assert_healthy(&h, c->name);
		harness_close(&h);
	}
}

/*
 * Every queue full and kicked, over and over, by a guest that never reads the used
 * rings: the work of each kick is bounded by that queue's own ring, and no queue is
 * left behind (H30, fairness).
 */
Test(hostile_dos, H30_all_queues_flooded_work_per_kick_bounded)
{
	FOR_EACH_COMBO(c)
	{
		const uint16_t qsize = 16;
		struct echo_dev_config e = {.qsize = qsize, .nvq = ECHO_MAX_QUEUES};
		struct harness h;
		struct raw_ring r[ECHO_MAX_QUEUES];
		uint64_t g;

		open_ready(&h, c, &e, 0, qsize);
		g = harness_buf(&h, 16, NULL);
		for (uint16_t q = 0; q < ECHO_MAX_QUEUES; q++) {
			raw_ring_init(&h, q, &r[q]);
			for (uint16_t i = 0; i < qsize; i++)
				put_desc(r[q].d, i, g, 16, VRING_DESC_F_WRITE, 0);
		}
		for (int round = 1; round <= 200; round++) {
			for (uint16_t q = 0; q < ECHO_MAX_QUEUES; q++)
				for (uint16_t i = 0; i < qsize; i++)
					raw_push(&r[q], i);
			for (uint16_t q = 0; q < ECHO_MAX_QUEUES; q++) {
				struct cost c0 = cost_now(&h), c1;

				vdev_drv_kick(h.drv, q);
				c1 = cost_now(&h);
				cr_assert_leq(c1.st.descriptors - c0.st.descriptors, qsize,
					      "%s: queue %u round %d", c->name, q, round);
				CHECK_EQ(c->name, c1.echoed - c0.echoed, qsize);
				CHECK_EQ(c->name, raw_used_idx(&r[q]), (uint16_t)(round * qsize));
				CHECK_EQ(c->name, h.dev->vq[q].n_inflight, 0);
			}
		}
		assert_healthy(&h, c->name);
		harness_close(&h);
	}
}
