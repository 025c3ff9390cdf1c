/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Recording traces inside the library: devices driven by the driver peer with a
 * recorder attached to a memfd, the result decoded with the format's own reader.
 * Checks what a replay depends on: the set-up records first; reads carrying the value
 * the driver saw; the guest memory a device read written before the access that made
 * it read; interrupts, completions, backend answers and clock readings where they
 * happened; host resets and controls as records of their own. (Host entry points
 * and the recorder's own contract: test_trace_record_host.c.)
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/dev_internal.h"
#include "trace_rig.h"

/* ---------------- set-up records ---------------- */

struct params_seen {
	char key[64][VDEV_TRACE_MAX_KEY + 1];
	uint64_t value[64];
	int n;
};

static void collect_param(void *arg, const char *key, uint64_t value)
{
	struct params_seen *p = arg;

	cr_assert_lt(p->n, 64);
	snprintf(p->key[p->n], sizeof(p->key[0]), "%s", key);
	p->value[p->n++] = value;
}

Test(trace_record, setup_records_come_first)
{
	static const struct {
		uint16_t type;
		enum vdev_pci_mode mode;
		bool msix;
		uint8_t flags;
	} cases[] = {
		{VIRTIO_TYPE_BLOCK, VDEV_PCI_MODERN, false, 0},
		{VIRTIO_TYPE_BLOCK, VDEV_PCI_TRANSITIONAL, true, VDEV_TR_PCI_MSIX},
		{VIRTIO_TYPE_ENTROPY, VDEV_PCI_LEGACY, false, 0},
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct rig_opts o = {.type = cases[c].type, .mode = cases[c].mode,
				     .msix = cases[c].msix, .trace_fd = -1,
				     .access = cases[c].mode == VDEV_PCI_LEGACY ? VDEV_DRV_LEGACY
										: VDEV_DRV_MODERN};
		struct params_seen want = {.n = 0};
		struct decoded d;
		size_t i = 0;
		struct rig g;

		rig_open(&g, &o);
		/* What the device's own describe callback says, now, is what was recorded. */
		cr_assert_not_null(g.dev->ops->describe, "case %zu: no describe callback", c);
		g.dev->ops->describe(g.dev, collect_param, &want);
		cr_assert_gt(want.n, 0, "case %zu: the device described nothing", c);
		rig_stop(&g, 0, &d);
		cr_assert_eq(memcmp(d.buf, VDEV_TRACE_MAGIC, VDEV_TRACE_MAGIC_LEN), 0);
		cr_assert_gt(d.n, 3u, "case %zu: only %zu records", c, d.n);
		cr_assert_eq(d.r[0].kind, VDEV_TR_DEVICE, "case %zu: first record %u", c,
			     d.r[0].kind);
		cr_assert_eq(d.r[0].type, cases[c].type);
		cr_assert_eq(d.r[0].width, cases[c].mode);
		cr_assert_eq(d.r[0].bar, cases[c].flags, "case %zu: pci flags %#x", c, d.r[0].bar);
		/* The device's parameters, in its order, then the RAM declared. */
		for (i = 1; i <= (size_t)want.n; i++) {
			cr_assert_eq(d.r[i].kind, VDEV_TR_PARAM, "case %zu: record %zu", c, i);
			cr_assert_eq(d.r[i].len, strlen(want.key[i - 1]));
			cr_assert_eq(memcmp(d.r[i].data, want.key[i - 1], d.r[i].len), 0,
				     "case %zu: param %zu is not %s", c, i, want.key[i - 1]);
			cr_assert_eq(d.r[i].value, want.value[i - 1]);
		}
		cr_assert_eq(d.r[i].kind, VDEV_TR_RAM, "case %zu: record %zu is %u, not RAM", c, i,
			     d.r[i].kind);
		cr_assert_eq(d.r[i].addr, 0);
		cr_assert_eq(d.r[i].value, RAM_SIZE);
		/* Nothing but accesses and what they caused after that. */
		for (i++; i < d.n; i++)
			cr_assert(d.r[i].kind != VDEV_TR_DEVICE && d.r[i].kind != VDEV_TR_PARAM &&
					  d.r[i].kind != VDEV_TR_RAM,
				  "case %zu: set-up record %u at %zu", c, d.r[i].kind, i);
		/* The driver's first look at the function is a config read of the vendor. */
		i = want.n + 2;
		cr_assert_eq(d.r[i].kind, VDEV_TR_CFG_READ);
		cr_assert_eq(d.r[i].addr, 0);
		decoded_free(&d);
		rig_close(&g);
	}
}

/* ---------------- accesses carry what the driver saw ---------------- */

/* What one access method left in the trace, read from the end backwards: the device
 * features, the queue count, the config write, the refused config read, the vendor. */
static void check_reads(const struct decoded *d, enum vdev_drv_access access, uint32_t vendor,
			uint64_t numq, uint64_t devf)
{
	bool legacy = access == VDEV_DRV_LEGACY, via_cfg = access == VDEV_DRV_MODERN_CFGACCESS;
	uint8_t read_kind = via_cfg ? VDEV_TR_CFG_READ : VDEV_TR_BAR_READ;
	size_t i = last_access(d);
	const struct vdev_trace_rec *r = &d->r[i];

	cr_assert_eq(r->kind, read_kind, "access %d: last record %u", access, r->kind);
	cr_assert_eq(r->value, devf, "access %d: features read %#llx, traced %#llx", access,
		     (unsigned long long)devf, (unsigned long long)r->value);
	if (via_cfg) {
		/* The window's BAR access is part of the config read, not a record. */
		cr_assert_eq(count_between(d, SIZE_MAX, d->n, VDEV_TR_BAR_READ), 0);
		cr_assert_eq(count_between(d, SIZE_MAX, d->n, VDEV_TR_BAR_WRITE), 0);
	} else {
		cr_assert_eq(r->bar,
			     legacy ? VIRTIO_LEGACY_PIO_BAR_IDX : VIRTIO_MODERN_MMIO_BAR_IDX);
		cr_assert_eq(r->addr, legacy ? VIRTIO_CR_HOSTCAP : VIRTIO_COMMON_DF);
		cr_assert_eq(r->width, 4);
	}
	/* The queue count, found the same way (through the window: its 2-byte read). */
	i = access_before(d, i);
	while (via_cfg && (d->r[i].kind != VDEV_TR_CFG_READ || d->r[i].width != 2))
		i = access_before(d, i);
	r = &d->r[i];
	cr_assert_eq(r->kind, read_kind);
	cr_assert_eq(r->value, numq, "access %d: queue count %llu, traced %llu", access,
		     (unsigned long long)numq, (unsigned long long)r->value);
	/* The config accesses, in order, with their results. */
	while (!(d->r[i].kind == VDEV_TR_CFG_WRITE && d->r[i].addr == 0x3c))
		i = access_before(d, i);
	r = &d->r[i];
	cr_assert_eq(r->width, 1);
	cr_assert_eq(r->value, 0x0b);
	cr_assert_eq(r->result, 0);
	i = access_before(d, i);
	r = &d->r[i];
	cr_assert_eq(r->kind, VDEV_TR_CFG_READ);
	cr_assert_eq(r->addr, 3);
	cr_assert_eq(r->result, -EINVAL);
	cr_assert_eq(r->value, 0xffffffffu);
	r = &d->r[access_before(d, i)];
	cr_assert_eq(r->kind, VDEV_TR_CFG_READ);
	cr_assert_eq(r->addr, 0);
	cr_assert_eq(r->width, 2);
	cr_assert_eq(r->value, vendor);
}

Test(trace_record, reads_carry_the_values_returned)
{
	static const enum vdev_drv_access accesses[] = {VDEV_DRV_LEGACY, VDEV_DRV_MODERN,
							VDEV_DRV_MODERN_CFGACCESS};

	for (size_t a = 0; a < 3; a++) {
		bool legacy = accesses[a] == VDEV_DRV_LEGACY;
		enum vdev_drv_region region = legacy ? VDEV_DRV_REGION_LEGACY
						     : VDEV_DRV_REGION_COMMON;
		struct rig_opts o = blk_modern;
		uint32_t vendor, v = 0;
		uint64_t numq, devf;
		struct decoded d;
		struct rig g;

		o.mode = VDEV_PCI_TRANSITIONAL;
		o.access = accesses[a];
		rig_open(&g, &o);
		/* One of each kind of access; check_reads() finds them in the trace. */
		vendor = vdev_drv_pci_read(g.drv, 0, 2);
		/* misaligned: refused */
		cr_assert_eq(vdev_pci_cfgread(vdev_dev_pci(g.dev), 3, 2, &v), -EINVAL);
		cr_assert_eq(vdev_pci_cfgwrite(vdev_dev_pci(g.dev), 0x3c, 1, 0x0b), 0);
		numq = vdev_drv_region_read(g.drv, region,
					    legacy ? VIRTIO_CR_QNUM : VIRTIO_COMMON_NUMQ, 2);
		devf = vdev_drv_region_read(g.drv, region,
					    legacy ? VIRTIO_CR_HOSTCAP : VIRTIO_COMMON_DF, 4);
		rig_stop(&g, 0, &d);
		cr_assert_eq(vendor, VIRTIO_VENDOR);
		cr_assert_neq(devf, 0);
		check_reads(&d, accesses[a], vendor, numq, devf);
		decoded_free(&d);
		rig_close(&g);
	}
}

/* ---------------- guest memory before the access that read it ---------------- */

/* Apply every MEM record before index `end` to a zeroed RAM image. */
static uint8_t *image_before(const struct decoded *d, size_t end)
{
	uint8_t *img = calloc(1, RAM_SIZE);

	cr_assert_not_null(img);
	for (size_t i = 0; i < end; i++) {
		const struct vdev_trace_rec *r = &d->r[i];

		if (r->kind != VDEV_TR_MEM)
			continue;
		cr_assert(r->addr < RAM_SIZE && r->len <= RAM_SIZE - r->addr,
			  "MEM record %zu outside RAM", i);
		memcpy(img + r->addr, r->data, r->len);
	}
	return img;
}

static bool mem_covers(const struct decoded *d, size_t a, size_t b, uint64_t gpa, uint64_t len)
{
	for (size_t i = a + 1; i < b; i++)
		if (d->r[i].kind == VDEV_TR_MEM && d->r[i].addr <= gpa &&
		    gpa + len <= d->r[i].addr + d->r[i].len)
			return true;
	return false;
}

/* Some MEM record strictly between a and b overlaps [gpa, gpa + len). */
static bool mem_touches(const struct decoded *d, size_t a, size_t b, uint64_t gpa, uint64_t len)
{
	for (size_t i = a + 1; i < b; i++)
		if (d->r[i].kind == VDEV_TR_MEM && d->r[i].addr < gpa + len &&
		    gpa < d->r[i].addr + d->r[i].len)
			return true;
	return false;
}

Test(trace_record, notify_is_preceded_by_the_memory_it_reads)
{
	struct rig_opts o = blk_modern;
	uint64_t desc, avail, used, data_gpa = 0, mark;
	size_t notify = SIZE_MAX, before;
	struct decoded d;
	uint8_t *img;
	struct rig g;

	o.mode = VDEV_PCI_MODERN;
	rig_open(&g, &o);
	cr_assert_eq(vdev_drv_queue_rings(g.drv, 0, &desc, &avail, &used), 0);
	/* Everything the trace holds from here on is the kick's doing (the driver
	 * may look at a register or two before it writes the notify register). */
	mark = vdev_trace_bytes(g.trace);
	blk_request(&g, VDEV_BLK_T_OUT, 0, 512, true, 0x5a, &data_gpa);
	rig_stop(&g, 0, &d);

	for (size_t i = 0; i < d.n; i++)
		if (d.r[i].kind == VDEV_TR_BAR_WRITE && d.r[i].addr == VIRTIO_CAP_NOTIFY_OFFSET)
			notify = i;
	cr_assert_neq(notify, SIZE_MAX, "no notify write recorded");
	before = index_at(&d, mark);
	cr_assert_lt(before, notify);
	before--; /* mem_covers looks strictly after it */
	/* The changes the driver made since its previous access come with the kick. */
	cr_assert(mem_touches(&d, before, notify, avail + 2, 2), "avail idx change not recorded");
	cr_assert(mem_touches(&d, before, notify, desc, 16 * 3), "new descriptors not recorded");
	cr_assert(mem_covers(&d, before, notify, data_gpa, 512), "request data not recorded");
	/* Only what changed is sent again: the descriptor table is not repeated whole. */
	cr_assert(!mem_covers(&d, before, notify, desc, 16 * QSIZE));
	/* And everything a replay needs is in RAM by then: every byte the device read. */
	img = image_before(&d, notify);
	cr_assert_eq(memcmp(img + desc, vdev_sim_ptr(g.sim, desc, 16 * QSIZE), 16 * QSIZE), 0,
		     "descriptor table differs");
	cr_assert_eq(memcmp(img + avail, vdev_sim_ptr(g.sim, avail, 6 + 2 * QSIZE), 6 + 2 * QSIZE),
		     0, "available ring differs");
	cr_assert_eq(memcmp(img + data_gpa, vdev_sim_ptr(g.sim, data_gpa, 512), 512), 0,
		     "request data differs");
	/* The used ring is the device's to write: it is never recorded. */
	cr_assert(!mem_covers(&d, SIZE_MAX, d.n, used + 4, 8));
	free(img);
	decoded_free(&d);
	rig_close(&g);
}

Test(trace_record, indirect_tables_are_recorded)
{
	struct rig_opts o = blk_modern;
	struct vdev_drv_seg segs[3];
	uint8_t *hdr, *data, *status;
	size_t notify = SIZE_MAX;
	struct decoded d;
	uint8_t *img;
	struct rig g;

	rig_open(&g, &o);
	segs[0] = (struct vdev_drv_seg){rig_buf(&g, 16, &hdr), 16, false};
	memset(hdr, 0, 16);
	hdr[0] = VDEV_BLK_T_OUT;
	segs[1] = (struct vdev_drv_seg){rig_buf(&g, 1024, &data), 1024, false};
	memset(data, 0xc3, 1024);
	segs[2] = (struct vdev_drv_seg){rig_buf(&g, 1, &status), 1, true};
	cr_assert_eq(vdev_drv_enqueue(g.drv, 0, segs, 3, true, NULL), 0);
	vdev_drv_kick(g.drv, 0);
	cr_assert_eq(g.held.n, 1, "the request did not reach the backend");
	rig_stop(&g, 0, &d);
	for (size_t i = 0; i < d.n; i++)
		if (d.r[i].kind == VDEV_TR_BAR_WRITE && d.r[i].addr == VIRTIO_CAP_NOTIFY_OFFSET)
			notify = i;
	cr_assert_neq(notify, SIZE_MAX);
	img = image_before(&d, notify);
	/* The table lives wherever the driver put it: the header and data prove it was
	 * followed, the table bytes themselves that a replay can follow it too. */
	cr_assert_eq(memcmp(img + segs[0].gpa, hdr, 16), 0);
	cr_assert_eq(memcmp(img + segs[1].gpa, data, 1024), 0);
	{
		uint64_t desc, avail, used;
		uint8_t *ring;
		uint64_t table;

		cr_assert_eq(vdev_drv_queue_rings(g.drv, 0, &desc, &avail, &used), 0);
		ring = vdev_sim_ptr(g.sim, desc, 16 * QSIZE);
		for (int i = 0; i < QSIZE; i++) {
			uint16_t flags;

			memcpy(&flags, ring + 16 * i + 12, 2);
			if (!(flags & VRING_DESC_F_INDIRECT))
				continue;
			memcpy(&table, ring + 16 * i, 8);
			cr_assert_eq(memcmp(img + table, vdev_sim_ptr(g.sim, table, 48), 48), 0,
				     "indirect table differs");
		}
	}
	free(img);
	decoded_free(&d);
	rig_close(&g);
}

/* ---------------- completions and interrupts ---------------- */

static uint16_t avail_entry(struct rig *g, int slot)
{
	uint64_t desc, avail, used;
	uint16_t head;

	cr_assert_eq(vdev_drv_queue_rings(g->drv, 0, &desc, &avail, &used), 0);
	memcpy(&head, vdev_sim_ptr(g->sim, avail + 4 + 2 * (uint64_t)slot, 2), 2);
	return head;
}

Test(trace_record, blk_completion_and_intx_come_before_the_poll)
{
	struct rig_opts o = blk_modern;
	const struct vdev_trace_rec *c, *irq;
	size_t poll, before;
	uint16_t head;
	struct decoded d;
	void *token;
	uint32_t len;
	struct rig g;

	rig_open(&g, &o);
	blk_request(&g, VDEV_BLK_T_IN, 3, 512, false, 0, NULL);
	head = avail_entry(&g, 0);
	cr_assert_eq(held_release(&g.held, 0), 1);
	cr_assert_eq(vdev_dev_poll(g.dev), 0);
	cr_assert_eq(vdev_drv_dequeue(g.drv, 0, &token, &len), 1);
	cr_assert_eq((uintptr_t)token, 3);
	(void)vdev_drv_read_isr(g.drv);
	rig_stop(&g, 0, &d);

	poll = SIZE_MAX;
	for (size_t i = 0; i < d.n; i++)
		if (d.r[i].kind == VDEV_TR_POLL)
			poll = i;
	cr_assert_neq(poll, SIZE_MAX, "no POLL record");
	before = access_before(&d, poll);
	c = find_between(&d, before, poll, VDEV_TR_COMPLETE);
	cr_assert_not_null(c, "no COMPLETE before the poll that delivered it");
	cr_assert_eq(c->queue, 0);
	cr_assert_eq(c->head, head);
	cr_assert_eq(c->result, 0);
	irq = find_between(&d, before, poll, VDEV_TR_IRQ);
	cr_assert_not_null(irq, "no IRQ for the completion");
	cr_assert_eq(irq->width, 2);
	cr_assert_eq(irq->value, 1);
	/* The ISR read lowered the line again: recorded within that read. */
	irq = find_between(&d, poll, d.n, VDEV_TR_IRQ);
	cr_assert_not_null(irq);
	cr_assert_eq(irq->value, 0);
	cr_assert_eq(d.r[last_access(&d)].kind, VDEV_TR_BAR_READ);
	decoded_free(&d);
	rig_close(&g);
}

Test(trace_record, msix_messages_are_recorded_as_sent)
{
	struct rig_opts o = blk_modern;
	struct vdev_sim_irqs irqs;
	const struct vdev_trace_rec *irq;
	size_t poll = SIZE_MAX;
	struct decoded d;
	struct rig g;

	o.msix = true;
	rig_open(&g, &o);
	cr_assert(vdev_pci_msix_enabled(vdev_dev_pci(g.dev)));
	blk_request(&g, VDEV_BLK_T_IN, 0, 512, false, 0, NULL);
	cr_assert_eq(held_release(&g.held, 0), 1);
	vdev_dev_poll(g.dev);
	vdev_sim_get_irqs(g.sim, &irqs);
	cr_assert_gt(irqs.msi_count, 0);
	rig_stop(&g, 0, &d);
	for (size_t i = 0; i < d.n; i++)
		if (d.r[i].kind == VDEV_TR_POLL)
			poll = i;
	cr_assert_neq(poll, SIZE_MAX);
	irq = find_between(&d, access_before(&d, poll), poll, VDEV_TR_IRQ);
	cr_assert_not_null(irq);
	cr_assert_eq(irq->width, 1);
	cr_assert_eq(irq->addr, irqs.last_msi_addr);
	cr_assert_eq(irq->value, irqs.last_msi_data);
	cr_assert_eq(count_between(&d, SIZE_MAX, d.n, VDEV_TR_IRQ), (int)irqs.msi_count);
	decoded_free(&d);
	rig_close(&g);
}

/* ---------------- backends and the clock ---------------- */

Test(trace_record, rng_backend_answers_are_recorded)
{
	struct rig_opts o = rng_modern;
	const struct vdev_trace_rec *be;
	size_t notify;
	struct decoded d;
	uint8_t *buf;
	struct rig g;

	rig_open(&g, &o);
	vdev_dev_poll(g.dev);
	g.pattern.calls = 0;
	rng_kick(&g, 64, &buf);
	cr_assert_eq(g.pattern.calls, 1);
	cr_assert_eq(buf[63], 63);
	rig_stop(&g, 0, &d);
	notify = last_notify(&d);
	be = find_between(&d, access_before(&d, notify), notify, VDEV_TR_BACKEND);
	cr_assert_not_null(be, "no BACKEND record before the notify");
	cr_assert_eq(be->width, VDEV_TR_BE_RNG_READ);
	cr_assert_eq(be->result, 64);
	cr_assert_eq(be->len, 0, "rng data is not kept");
	cr_assert_eq(count_between(&d, access_before(&d, notify), notify, VDEV_TR_BACKEND), 1);
	cr_assert_not_null(find_between(&d, access_before(&d, notify), notify, VDEV_TR_IRQ));
	decoded_free(&d);
	rig_close(&g);
}

Test(trace_record, clock_readings_come_from_the_host_and_are_recorded)
{
	struct rig_opts o = rng_modern;
	size_t notify, before;
	int first, k = 0;
	struct decoded d;
	uint8_t *buf;
	struct rig g;

	o.host_ops_version = 2;
	o.rng_rate = 1u << 20;
	rig_open(&g, &o);
	vdev_dev_poll(g.dev);
	first = g.nclock;
	rng_kick(&g, 64, &buf);
	cr_assert_gt(g.nclock, first, "the device did not read the host's clock");
	cr_assert_eq(g.pattern.calls, 1);
	rig_stop(&g, 0, &d);
	notify = last_notify(&d);
	before = access_before(&d, notify);
	/* Every reading made during the kick, in order, and nothing else. */
	for (size_t i = before + 1; i < notify; i++) {
		if (d.r[i].kind != VDEV_TR_TIME)
			continue;
		cr_assert_lt(first + k, g.nclock);
		cr_assert_eq(d.r[i].value, g.clock_log[first + k], "TIME %d: %llu, clock gave %llu",
			     k, (unsigned long long)d.r[i].value,
			     (unsigned long long)g.clock_log[first + k]);
		k++;
	}
	cr_assert_eq(first + k, g.nclock, "%d readings, %d recorded", g.nclock - first, k);
	decoded_free(&d);
	rig_close(&g);
}

Test(trace_record, version_1_host_tables_keep_the_monotonic_clock)
{
	struct rig_opts o = rng_modern;
	uint8_t *buf;
	struct rig g;

	/* A version-1 caller's struct ends before now_ns: whatever lies there is not read. */
	o.host_ops_version = 1;
	o.rng_rate = 1u << 20;
	o.no_trace = true;
	rig_open(&g, &o);
	vdev_dev_poll(g.dev);
	rng_kick(&g, 64, &buf);
	cr_assert_eq(g.pattern.calls, 1, "the request was not served");
	cr_assert(!g.v1_clock_called, "now_ns of a version-1 table was called");
	rig_close(&g);
}
