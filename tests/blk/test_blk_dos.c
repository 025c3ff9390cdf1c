/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-blk against a flooding guest (HOSTILE.md H30): every queue kept full by a
 * guest that kicks endlessly, over a backend that never completes. What must stay
 * bounded is counted, never timed: requests handed to the backend (one per request
 * context, qsize per queue, allocated at create time), chains in flight, and
 * descriptors read per kick (`vdev_virtio_stats.descriptors`).
 */
#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "blk_harness.h"

TestSuite(blk_dos, .fini = bt_cleanup_images);

#define QSIZE 16
#define NQ 2
#define KICKS 2000

static struct vdev_virtio_stats vstats(struct bt *t)
{
	struct vdev_virtio_stats st;

	vdev_virtio_get_stats(vdev_dev_virtio(t->fx.dev), &st);
	return st;
}

static struct virtio_vq_info *vq_of(struct bt *t, int q)
{
	return &vdev_dev_virtio(t->fx.dev)->queues[q];
}

static uint8_t *avail_of(struct bt *t, int q)
{
	uint64_t avail;

	cr_assert_eq(vdev_drv_queue_rings(t->fx.drv, (uint16_t)q, NULL, &avail, NULL), 0);
	return vdev_sim_ptr(t->fx.sim, avail, 4 + 2 * QSIZE);
}

static uint16_t used_idx(struct bt *t, int q)
{
	uint64_t used;
	uint16_t v;

	cr_assert_eq(vdev_drv_queue_rings(t->fx.drv, (uint16_t)q, NULL, NULL, &used), 0);
	memcpy(&v, (uint8_t *)vdev_sim_ptr(t->fx.sim, used, 4) + 2, 2);
	return le16toh(v);
}

/* Open blk over the holding backend, NQ queues of QSIZE, every feature accepted. */
static void open_held(struct bt *t, struct held_be *held, int legacy)
{
	struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config),
				      .num_queues = NQ, .queue_size = QSIZE};
	struct bt_opts o = {legacy ? VDEV_PCI_LEGACY : VDEV_PCI_MODERN,
			    legacy ? VDEV_DRV_LEGACY : VDEV_DRV_MODERN, false, 0, 0};

	held_init(held, 1 << 20);
	cfg.backend = &held->be;
	bt_open(t, &o, &cfg);
	bt_ready(t, ~0ULL);
	cr_assert_neq(t->fx.features & VIRTIO_RING_F_INDIRECT_DESC, 0);
}

/* Fill every queue: QSIZE one-descriptor (indirect) reads each; slots q * QSIZE + i. */
static void fill_queues(struct bt *t, struct vdev_drv_seg *data)
{
	for (int q = 0; q < NQ; q++) {
		for (int i = 0; i < QSIZE; i++) {
			int s = q * QSIZE + i;

			bt_hdr(t, s, VDEV_BLK_T_IN, (uint64_t)s);
			bt_post(t, q, s, data, 1, true);
		}
		/* The guest has nothing left to offer. */
		cr_assert_eq(vdev_drv_enqueue(t->fx.drv, (uint16_t)q, data, 1, true, NULL), -ENOSPC);
	}
}

Test(blk_dos, H30_backend_never_completes_inflight_bounded_by_queue_size)
{
	for (int legacy = 0; legacy < 2; legacy++) {
		struct held_be held;
		struct vdev_virtio_stats s0, s1;
		struct vdev_dev_stats d1;
		struct vdev_drv_seg data;
		struct bt t;
		uint8_t *p;

		open_held(&t, &held, legacy);
		data = (struct vdev_drv_seg){bt_alloc(&t, 512, &p), 512, true};
		fill_queues(&t, &data);
		cr_assert_eq(held.submits, NQ * QSIZE);
		cr_assert_eq(held_count(&held), NQ * QSIZE);

		/* Kicks and polls without end: nothing more is taken or read. */
		s0 = vstats(&t);
		for (int k = 0; k < KICKS; k++) {
			for (int q = 0; q < NQ; q++)
				vdev_drv_kick(t.fx.drv, (uint16_t)q);
			cr_assert_eq(vdev_dev_poll(t.fx.dev), 0);
		}
		s1 = vstats(&t);
		cr_assert_eq(s1.notifies, s0.notifies + (uint64_t)NQ * KICKS);
		cr_assert_eq(s1.descriptors, s0.descriptors,
			     "kicks of full queues read %llu descriptors",
			     (unsigned long long)(s1.descriptors - s0.descriptors));
		cr_assert_eq(s1.chains, s0.chains);
		cr_assert_eq(held.submits, NQ * QSIZE,
			     "more requests than contexts reached the backend");
		vdev_dev_get_stats(t.fx.dev, &d1);
		cr_assert_eq(d1.requests, 0);
		for (int q = 0; q < NQ; q++) {
			cr_assert_eq(vq_of(&t, q)->n_inflight, QSIZE);
			cr_assert_eq(used_idx(&t, q), 0);
		}
		for (int s = 0; s < NQ * QSIZE; s++)
			cr_assert_eq(*t.st[s], 0xEE);
		cr_assert_eq(vdev_drv_read_status(t.fx.drv) & VIRTIO_CR_STATUS_NEEDS_RESET, 0);

		/* The backend finally answers: every request completes, once. */
		cr_assert_eq(held_release(&held, 0), NQ * QSIZE);
		for (int q = 0; q < NQ; q++)
			bt_wait(&t, q, QSIZE);
		for (int s = 0; s < NQ * QSIZE; s++)
			cr_assert_eq(*t.st[s], VDEV_BLK_S_OK, "slot %d", s);
		for (int q = 0; q < NQ; q++)
			cr_assert_eq(vq_of(&t, q)->n_inflight, 0);
		vdev_dev_get_stats(t.fx.dev, &d1);
		cr_assert_eq(d1.requests, NQ * QSIZE);
		bt_close(&t);
	}
}

/* Move queue q's avail index on by `n`, republishing the heads already in slots [0, n). */
static void republish(struct bt *t, int q, uint16_t n)
{
	uint8_t *avail = avail_of(t, q);
	uint16_t idx;

	memcpy(&idx, avail + 2, 2);
	idx = le16toh(idx);
	for (uint16_t i = 0; i < n; i++)
		memcpy(avail + 4 + 2 * ((idx + i) % QSIZE), avail + 4 + 2 * (i % QSIZE), 2);
	idx = htole16((uint16_t)(idx + n));
	memcpy(avail + 2, &idx, 2);
}

/*
 * With every context at the backend, the guest republishes its in-flight heads and
 * kicks without end to squeeze out more work: the entries wait, unread, for a free
 * context; nothing more reaches the backend. When the backend answers, each entry is
 * taken exactly once (its head has completed by then, so it is a new request).
 */
Test(blk_dos, H30_republished_heads_wait_for_contexts_without_growing)
{
	for (int legacy = 0; legacy < 2; legacy++) {
		struct held_be held;
		struct vdev_virtio_stats s0, s1;
		struct vdev_drv_seg data;
		struct bt t;
		uint8_t *p;

		open_held(&t, &held, legacy);
		data = (struct vdev_drv_seg){bt_alloc(&t, 512, &p), 512, true};
		fill_queues(&t, &data);
		republish(&t, 0, QSIZE);
		s0 = vstats(&t);
		for (int k = 0; k < KICKS; k++) {
			vdev_drv_kick(t.fx.drv, 0);
			cr_assert_eq(vdev_dev_poll(t.fx.dev), 0);
		}
		s1 = vstats(&t);
		cr_assert_eq(s1.descriptors, s0.descriptors);
		cr_assert_eq(s1.chains, s0.chains);
		cr_assert_eq(held.submits, NQ * QSIZE);
		cr_assert_eq(vq_of(&t, 0)->n_inflight, QSIZE);
		cr_assert_eq(vdev_drv_read_status(t.fx.drv) & VIRTIO_CR_STATUS_NEEDS_RESET, 0);

		cr_assert_eq(held_release(&held, 0), NQ * QSIZE);
		for (int k = 0; k < 20; k++)
			cr_assert_eq(vdev_dev_poll(t.fx.dev), 0);
		cr_assert_eq(held.submits, NQ * QSIZE + QSIZE, "republished entries taken %d times",
			     held.submits - NQ * QSIZE);
		cr_assert_eq(held_count(&held), QSIZE);
		cr_assert_eq(vq_of(&t, 0)->n_inflight, QSIZE);
		cr_assert_eq(used_idx(&t, 0), QSIZE);
		bt_close(&t);
	}
}

/*
 * A head republished while its request is at the backend, with contexts free to take
 * it: the queue breaks (H19) rather than start the same head twice; the late
 * completion writes nothing to the broken ring, and a reset brings the device back.
 */
Test(blk_dos, H19_inflight_head_republished_breaks_the_queue)
{
	for (int legacy = 0; legacy < 2; legacy++) {
		const int half = QSIZE / 2;
		struct held_be held;
		struct vdev_virtio_stats s0, s1;
		struct vdev_drv_seg data;
		struct bt t;
		uint64_t logs;
		uint8_t *p;

		open_held(&t, &held, legacy);
		data = (struct vdev_drv_seg){bt_alloc(&t, 512, &p), 512, true};
		for (int s = 0; s < half; s++) {
			bt_hdr(&t, s, VDEV_BLK_T_IN, (uint64_t)s);
			bt_post(&t, 0, s, &data, 1, true);
		}
		cr_assert_eq(held.submits, half);
		republish(&t, 0, (uint16_t)half);
		s0 = vstats(&t);
		logs = vdev_sim_log_count(t.fx.sim);
		vdev_drv_kick(t.fx.drv, 0);
		s1 = vstats(&t);
		cr_assert_neq(vdev_drv_read_status(t.fx.drv) & VIRTIO_CR_STATUS_NEEDS_RESET, 0);
		cr_assert_eq(s1.guest_errors, s0.guest_errors + 1);
		cr_assert_gt(vdev_sim_log_count(t.fx.sim), logs, "the break was not logged");
		cr_assert_eq(s1.interrupts, s0.interrupts + 1, "no config interrupt");
		cr_assert_eq(held.submits, half, "a head reached the backend twice");
		cr_assert_eq(vq_of(&t, 0)->n_inflight, half);
		cr_assert_eq(s1.descriptors, s0.descriptors, "the duplicate was walked");

		/* Late completions: contexts come back, the broken ring stays untouched. */
		cr_assert_eq(held_release(&held, 0), half);
		bt_pump(&t, 20);
		cr_assert_eq(vq_of(&t, 0)->n_inflight, 0);
		cr_assert_eq(used_idx(&t, 0), 0, "broken ring written");
		cr_assert_eq(vdev_drv_reset(t.fx.drv), 0);
		bt_ready(&t, ~0ULL);
		cr_assert_eq(vdev_drv_read_status(t.fx.drv) & VIRTIO_CR_STATUS_NEEDS_RESET, 0);
		bt_hdr(&t, 0, VDEV_BLK_T_IN, 0);
		bt_post(&t, 0, 0, &data, 1, true);
		cr_assert_eq(held_count(&held), 1);
		cr_assert_eq(held_release(&held, 0), 1);
		bt_wait(&t, 0, 1);
		cr_assert_eq(*t.st[0], VDEV_BLK_S_OK);
		bt_close(&t);
	}
}
