/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hostile split rings, indirect tables and descriptors that move: indirect abuse,
 * tables inside the rings, descriptors rewritten under the device (HOSTILE.md H24-H26).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hostile_ring_checks.h"
#include "test_host.h"

/* ---------------- H24 indirect abuse ---------------- */

enum ind_case {
	IND_NO_FEATURE,
	IND_WITH_NEXT,
	IND_NESTED,
	IND_LEN_0,
	IND_LEN_NOT_16,
	IND_TOO_MANY_ENTRIES,
	IND_GIGABYTES,
	IND_NEXT_PAST_TABLE,
	IND_LOOP,
	IND_NOT_RAM,
	IND_TABLE_STRADDLES_RAM_END,
};

static void indirect_abuse(enum ind_case which, const char *what)
{
	struct hopts o = {.manual = true,
			  .features = which == IND_NO_FEATURE ? 0 : VIRTIO_RING_F_INDIRECT_DESC};
	struct harness h;
	struct raw_ring r;
	struct snap s;
	uint16_t head;
	uint8_t *t, *t2;
	uint64_t g, gt, gt2;

	hopen_ring(&h, &o, &r);
	cr_assert_eq(!!(vdev_drv_features(h.drv) & VIRTIO_RING_F_INDIRECT_DESC),
		     which != IND_NO_FEATURE);
	g = harness_buf(&h, 64, NULL);
	gt = harness_buf(&h, 16u * 64, (void **)&t);
	gt2 = harness_buf(&h, 64, (void **)&t2);
	/* a valid 2-entry table unless the case says otherwise */
	put_desc(t, 0, g, 16, VRING_DESC_F_NEXT, 1);
	put_desc(t, 1, g + 16, 16, VRING_DESC_F_WRITE, 0);
	put_desc(r.d, 0, gt, 32, VRING_DESC_F_INDIRECT, 0);
	switch (which) {
	case IND_NO_FEATURE:
		break;
	case IND_WITH_NEXT:
		put_desc(r.d, 0, gt, 32, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
		put_desc(r.d, 1, g + 32, 16, VRING_DESC_F_WRITE, 0);
		break;
	case IND_NESTED:
		put_desc(t2, 0, g + 32, 16, VRING_DESC_F_WRITE, 0);
		put_desc(t, 1, gt2, 16, VRING_DESC_F_INDIRECT, 0);
		break;
	case IND_LEN_0:
		put_desc(r.d, 0, gt, 0, VRING_DESC_F_INDIRECT, 0);
		break;
	case IND_LEN_NOT_16:
		put_desc(r.d, 0, gt, 24, VRING_DESC_F_INDIRECT, 0);
		break;
	case IND_TOO_MANY_ENTRIES:
		/* size + 1 entries, only the first two chained */
		put_desc(r.d, 0, gt, 16u * (r.size + 1), VRING_DESC_F_INDIRECT, 0);
		break;
	case IND_GIGABYTES:
		put_desc(r.d, 0, gt, 0x80000000u, VRING_DESC_F_INDIRECT, 0);
		break;
	case IND_NEXT_PAST_TABLE:
		put_desc(t, 0, g, 16, VRING_DESC_F_NEXT, 2); /* table has 2 entries */
		put_desc(t, 2, g + 16, 16, VRING_DESC_F_WRITE, 0); /* in memory, past len */
		break;
	case IND_LOOP:
		put_desc(t, 1, g + 16, 16, VRING_DESC_F_NEXT, 0);
		break;
	case IND_NOT_RAM:
		put_desc(r.d, 0, 16 << 20, 32, VRING_DESC_F_INDIRECT, 0);
		break;
	case IND_TABLE_STRADDLES_RAM_END: {
		/* entry 0 is the last 16 bytes of RAM and chains on to entry 1, past it */
		uint8_t *last = vdev_sim_ptr(h.sim, (16 << 20) - 16, 16);

		cr_assert_not_null(last);
		put_desc(last, 0, g, 16, VRING_DESC_F_NEXT, 1);
		put_desc(r.d, 0, (16 << 20) - 16, 32, VRING_DESC_F_INDIRECT, 0);
		break;
	}
	}
	raw_push(&r, 0);
	snap_take(&h, &r, &s);
	cr_assert_eq(take1(&h, &head), -1, "%s: not refused", what);
	cr_assert_leq(translations(&h) - s.translations, 4u * r.size, "%s: unbounded work", what);
	assert_broken(&h, &r, &s, what);
	assert_recovers(&h, o.features, what);
	harness_close(&h);
}

Test(hostile_ring, H24_indirect_without_feature)
{
	indirect_abuse(IND_NO_FEATURE, "no feature");
}

Test(hostile_ring, H24_indirect_with_next)
{
	indirect_abuse(IND_WITH_NEXT, "INDIRECT|NEXT");
}

Test(hostile_ring, H24_indirect_nested)
{
	indirect_abuse(IND_NESTED, "nested");
}

Test(hostile_ring, H24_indirect_table_length_0)
{
	indirect_abuse(IND_LEN_0, "length 0");
}

Test(hostile_ring, H24_indirect_table_length_not_multiple_of_16)
{
	indirect_abuse(IND_LEN_NOT_16, "length 24");
}

Test(hostile_ring, H24_indirect_table_more_entries_than_queue)
{
	indirect_abuse(IND_TOO_MANY_ENTRIES, "size+1 entries");
}

Test(hostile_ring, H24_indirect_table_gigabytes_long)
{
	indirect_abuse(IND_GIGABYTES, "2 GiB table");
}

Test(hostile_ring, H24_indirect_next_past_table)
{
	indirect_abuse(IND_NEXT_PAST_TABLE, "next past table");
}

Test(hostile_ring, H24_indirect_loop_inside_table)
{
	indirect_abuse(IND_LOOP, "loop in table");
}

Test(hostile_ring, H24_indirect_table_not_ram)
{
	indirect_abuse(IND_NOT_RAM, "table outside RAM");
}

Test(hostile_ring, H24_indirect_table_straddles_ram_end)
{
	indirect_abuse(IND_TABLE_STRADDLES_RAM_END, "table straddling RAM end");
}

/* ---------------- H25 tables inside the rings ---------------- */

/*
 * An indirect table placed in the used ring, where the device's own completion of
 * this very chain lands: the chain is parsed before, and its completion is right.
 */
Test(hostile_ring, H25_indirect_table_inside_used_ring)
{
	struct hopts o = {.features = VIRTIO_RING_F_INDIRECT_DESC};
	struct harness h;
	struct raw_ring r;
	uint8_t *in, *out;
	uint64_t gin, gout;

	hopen_ring(&h, &o, &r);
	gin = harness_buf(&h, 16, (void **)&in);
	gout = harness_buf(&h, 16, (void **)&out);
	for (int i = 0; i < 16; i++)
		in[i] = (uint8_t)(0xC0 + i);
	/* the table covers used ring elements 0..3 */
	put_desc(r.u + 4, 0, gin, 16, VRING_DESC_F_NEXT, 1);
	put_desc(r.u + 4, 1, gout, 16, VRING_DESC_F_WRITE, 0);
	put_desc(r.d, 0, r.used + 4, 32, VRING_DESC_F_INDIRECT, 0);
	raw_push(&r, 0);
	vdev_drv_kick(h.drv, 0);
	cr_assert_eq(h.dev->chain_errors, 0);
	cr_assert_eq(raw_used_idx(&r), 1);
	expect_used(&r, 0, 0, 16, "table in used ring");
	cr_assert_eq(memcmp(in, out, 16), 0);
	assert_not_broken(&h, 0, "table in used ring");
	assert_recovers(&h, o.features, "table in used ring");
	harness_close(&h);
}

/*
 * The chain's writable buffer is its own descriptor table entry: the echo device
 * overwrites the head descriptor with a hostile one while the chain is in flight.
 * The completion must use what the device parsed (16 writable bytes), not re-read
 * the now hostile descriptor.
 */
Test(hostile_ring, H25_chain_writes_over_its_own_descriptors)
{
	struct hopts o = {0};
	struct harness h;
	struct raw_ring r;
	uint8_t *in;
	uint64_t gin;

	hopen_ring(&h, &o, &r);
	gin = harness_buf(&h, 16, (void **)&in);
	/* what lands on descriptor 0: a writable self-loop of 4 GiB - 1 */
	put_desc(in, 0, 0, 0xFFFFFFFFu, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0);
	put_desc(r.d, 0, gin, 16, VRING_DESC_F_NEXT, 1);
	put_desc(r.d, 1, r.desc, 16, VRING_DESC_F_WRITE, 0);
	raw_push(&r, 0);
	vdev_drv_kick(h.drv, 0);
	cr_assert_eq(h.dev->chain_errors, 0);
	cr_assert_eq(memcmp(r.d, in, 16), 0, "echo did not land on the descriptor");
	cr_assert_eq(raw_used_idx(&r), 1);
	expect_used(&r, 0, 0, 16, "self-overwrite");
	assert_not_broken(&h, 0, "self-overwrite");
	/* the guest now offers the hostile descriptor: that one is refused */
	{
		struct snap s;

		raw_push(&r, 0);
		snap_take(&h, &r, &s);
		vdev_drv_kick(h.drv, 0);
		assert_broken(&h, &r, &s, "rewritten descriptor");
	}
	assert_recovers(&h, 0, "self-overwrite");
	harness_close(&h);
}

/* ---------------- H26 descriptors rewritten under the device ---------------- */

/* Rewriting a descriptor after the take changes nothing the device reports. */
Test(hostile_ring, H26_descriptor_rewritten_after_take)
{
	struct hopts o = {.manual = true};
	struct harness h;
	struct raw_ring r;
	uint16_t head;
	uint64_t g;

	hopen_ring(&h, &o, &r);
	g = harness_buf(&h, 64, NULL);
	put_desc(r.d, 0, g, 8, VRING_DESC_F_NEXT, 1);
	put_desc(r.d, 1, g + 16, 16, VRING_DESC_F_WRITE, 0);
	raw_push(&r, 0);
	cr_assert_eq(take1(&h, &head), 2);
	/* the guest grows the writable buffer and turns the readable one writable */
	put_desc(r.d, 0, g, 4096, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	put_desc(r.d, 1, g + 16, 0x100000, VRING_DESC_F_WRITE, 0);
	raw_avail_entry(&r, 0, 7);
	vq_relchain(&h.dev->vq[0], head, 0x100000);
	vq_endchains(&h.dev->vq[0], 1);
	expect_used(&r, 0, 0, 16, "rewrite after take");
	assert_not_broken(&h, 0, "rewrite after take");
	harness_close(&h);
}

/* The host the H26 walk tests run on (its translate callback runs the hook). */
static struct thost th;

static void hook_rewrite_desc(struct thost *t)
{
	/* the descriptor whose buffer is being translated becomes a hostile one */
	put_desc(t->hook_p, 0, 0xFFFFFFFFFFFFFF00ULL, 0xFFFFFFFFu,
		 VRING_DESC_F_WRITE | VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT, 0);
}

static uint64_t m_rd(struct pci_vdev *p, uint64_t off, int width)
{
	return virtio_pci_read(NULL, 0, p, VIRTIO_MODERN_MMIO_BAR_IDX, off, width);
}

static void m_wr(struct pci_vdev *p, uint64_t off, int width, uint64_t val)
{
	virtio_pci_write(NULL, 0, p, VIRTIO_MODERN_MMIO_BAR_IDX, off, width, val);
}

/* Queue 0 of a modern device brought up by hand through the common config. */
static void mini_setup(struct pci_vdev *p, struct vdev_sim *sim, uint16_t size,
		       uint64_t features, struct raw_ring *r)
{
	uint64_t base = vdev_sim_alloc(sim, 8192, 4096);
	uint8_t st = VIRTIO_CR_STATUS_ACK | VIRTIO_CR_STATUS_DRIVER;

	cr_assert_neq(base, 0);
	features |= VIRTIO_F_VERSION_1;
	m_wr(p, VIRTIO_COMMON_STATUS, 1, 0);
	m_wr(p, VIRTIO_COMMON_STATUS, 1, VIRTIO_CR_STATUS_ACK);
	m_wr(p, VIRTIO_COMMON_STATUS, 1, st);
	m_wr(p, VIRTIO_COMMON_GFSELECT, 4, 0);
	m_wr(p, VIRTIO_COMMON_GF, 4, (uint32_t)features);
	m_wr(p, VIRTIO_COMMON_GFSELECT, 4, 1);
	m_wr(p, VIRTIO_COMMON_GF, 4, (uint32_t)(features >> 32));
	st |= VIRTIO_CR_STATUS_FEATURES_OK;
	m_wr(p, VIRTIO_COMMON_STATUS, 1, st);
	cr_assert_eq(m_rd(p, VIRTIO_COMMON_STATUS, 1), st, "FEATURES_OK refused");
	r->size = size;
	r->desc = base;
	r->avail = base + 16u * size;
	r->used = base + 4096;
	r->d = vdev_sim_ptr(sim, r->desc, 16u * size);
	r->a = vdev_sim_ptr(sim, r->avail, 6u + 2u * size);
	r->u = vdev_sim_ptr(sim, r->used, 6u + 8u * size);
	cr_assert(r->d && r->a && r->u);
	memset(r->d, 0, 8192);
	m_wr(p, VIRTIO_COMMON_Q_SELECT, 2, 0);
	m_wr(p, VIRTIO_COMMON_Q_SIZE, 2, size);
	m_wr(p, VIRTIO_COMMON_Q_DESCLO, 4, (uint32_t)r->desc);
	m_wr(p, VIRTIO_COMMON_Q_DESCHI, 4, (uint32_t)(r->desc >> 32));
	m_wr(p, VIRTIO_COMMON_Q_AVAILLO, 4, (uint32_t)r->avail);
	m_wr(p, VIRTIO_COMMON_Q_AVAILHI, 4, (uint32_t)(r->avail >> 32));
	m_wr(p, VIRTIO_COMMON_Q_USEDLO, 4, (uint32_t)r->used);
	m_wr(p, VIRTIO_COMMON_Q_USEDHI, 4, (uint32_t)(r->used >> 32));
	m_wr(p, VIRTIO_COMMON_Q_ENABLE, 2, 1);
	cr_assert_eq(m_rd(p, VIRTIO_COMMON_Q_ENABLE, 2), 1, "queue not enabled");
	st |= VIRTIO_CR_STATUS_DRIVER_OK;
	m_wr(p, VIRTIO_COMMON_STATUS, 1, st);
	cr_assert_eq(m_rd(p, VIRTIO_COMMON_STATUS, 1), st);
}

/*
 * The guest rewrites a descriptor at the moment the device translates its buffer
 * (the host's translate callback plays the racing vCPU): each descriptor is read
 * exactly once, so the chain is the one that was there when it was read.
 */
static void rewrite_during_walk(bool indirect)
{
	struct vdev_sim_config scfg = {.size = sizeof(struct vdev_sim_config),
				       .ram_size = 16 << 20};
	struct echo_dev_config ecfg = {.qsize = 8, .manual = true,
				       .pci = {.mode = VDEV_PCI_MODERN}};
	struct vdev_sim *sim;
	struct echo_dev *dev;
	struct pci_vdev *pci;
	struct raw_ring r;
	struct iovec iov[8];
	uint16_t fl[8], head;
	uint8_t *a, *b, *t;
	uint64_t ga, gb, gt;
	int n;
	const char *what = indirect ? "indirect entry" : "descriptor";

	cr_assert_eq(vdev_sim_create(&scfg, &sim), 0);
	thost_open(&th, sim, scfg.ram_size);
	cr_assert_eq(echo_dev_create(th.ctx, "echo0", &ecfg, &dev), 0);
	pci = echo_dev_pci(dev);
	mini_setup(pci, sim, 8, VIRTIO_RING_F_INDIRECT_DESC, &r);

	ga = vdev_sim_alloc(sim, 32, 16);
	gb = vdev_sim_alloc(sim, 32, 16);
	gt = vdev_sim_alloc(sim, 32, 16);
	a = vdev_sim_ptr(sim, ga, 32);
	b = vdev_sim_ptr(sim, gb, 32);
	t = vdev_sim_ptr(sim, gt, 32);
	for (int i = 0; i < 32; i++)
		a[i] = (uint8_t)(i + 1);
	memset(b, 0, 32);
	if (indirect) {
		put_desc(t, 0, ga, 32, VRING_DESC_F_NEXT, 1);
		put_desc(t, 1, gb, 32, VRING_DESC_F_WRITE, 0);
		put_desc(r.d, 4, gt, 32, VRING_DESC_F_INDIRECT, 0);
		th.hook_p = t;
	} else {
		put_desc(r.d, 4, ga, 32, VRING_DESC_F_NEXT, 6);
		put_desc(r.d, 6, gb, 32, VRING_DESC_F_WRITE, 0);
		th.hook_p = r.d + 16 * 4;
	}
	th.hook_gpa = ga;
	th.hook = hook_rewrite_desc;
	raw_push(&r, 4);
	n = vq_getchain(&dev->vq[0], &head, iov, 8, fl);
	cr_assert_null(th.hook, "%s: buffer never translated", what);
	cr_assert_eq(n, 2, "%s: rewritten during the walk: %d iovecs", what, n);
	cr_assert_eq(head, 4);
	expect_iov(iov, fl, 0, a, 32, false, what);
	expect_iov(iov, fl, 1, b, 32, true, what);
	vq_relchain(&dev->vq[0], head, 0xFFFFFFFFu);
	vq_endchains(&dev->vq[0], 1);
	expect_used(&r, 0, 4, 32, what);
	cr_assert_eq(raw_used_idx(&r), 1);
	cr_assert_eq(dev->vq[0].flags & VQ_BROKED, 0, "%s: queue broken", what);
	cr_assert_eq(m_rd(pci, VIRTIO_COMMON_STATUS, 1) & VIRTIO_CR_STATUS_NEEDS_RESET, 0);
	/* the queue interrupt arrived over INTx */
	cr_assert_eq(th.intx_raises, 1);
	cr_assert_eq(m_rd(pci, VIRTIO_CAP_ISR_OFFSET, 1), VIRTIO_CR_ISR_QUEUES);
	echo_dev_destroy(dev);
	thost_close(&th);
	vdev_sim_destroy(sim);
}

Test(hostile_ring, H26_descriptor_rewritten_during_walk)
{
	rewrite_during_walk(false);
}

Test(hostile_ring, H26_indirect_entry_rewritten_during_walk)
{
	rewrite_during_walk(true);
}
