/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The replay as the device's host: guest RAM (one anonymous MAP_NORESERVE mapping per
 * region, made when first touched, so a trace may declare gigabytes and only pay for
 * what it uses), translations with FAULT injection, interrupts counted and kept for
 * checking, and a clock that reads what the TIME records say.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "replay/replay_internal.h"
#include "vdev/pci.h"

/* ---- regions ---- */

int replay_add_ram(struct vdev_replay *rp, uint64_t gpa, uint64_t size)
{
	const char *why = NULL;

	if (size == 0 || gpa + size < gpa)
		why = "empty or wraps the address space";
	else if (rp->nregions == REPLAY_MAX_REGIONS)
		why = "too many regions";
	else if (size > rp->ram_limit - rp->ram_total)
		why = "beyond the RAM limit";
	for (int i = 0; why == NULL && i < rp->nregions; i++) {
		const struct replay_region *g = &rp->regions[i];

		if (gpa < g->gpa + g->size && g->gpa < gpa + size)
			why = "overlaps another region";
	}
	if (why != NULL) {
		if (rp->opt.fuzz)
			return 0; /* a mutated layout: run with the regions that make sense */
		return replay_fail(rp, -EINVAL, "ram gpa=0x%llx size=0x%llx: %s",
				   (unsigned long long)gpa, (unsigned long long)size, why);
	}
	rp->regions[rp->nregions++] = (struct replay_region){.gpa = gpa, .size = size};
	rp->ram_total += size;
	return 0;
}

/* The region holding gpa, mapped; NULL when gpa is not RAM (or cannot be mapped). */
static struct replay_region *region_of(struct vdev_replay *rp, uint64_t gpa)
{
	for (int i = 0; i < rp->nregions; i++) {
		struct replay_region *g = &rp->regions[i];

		if (gpa < g->gpa || gpa - g->gpa >= g->size)
			continue;
		if (g->hva == NULL) {
			void *p = mmap(NULL, g->size, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

			if (p == MAP_FAILED)
				return NULL;
			g->hva = p;
		}
		return g;
	}
	return NULL;
}

int replay_apply_mem(struct vdev_replay *rp, uint64_t gpa, const uint8_t *data, uint32_t len)
{
	uint32_t done = 0;

	if (rp->opt.fuzz && rp->mem_bytes + len > REPLAY_FUZZ_MAX_MEM_BYTES)
		return 0;
	rp->mem_bytes += len;
	while (done < len) {
		uint64_t at = gpa + done;
		struct replay_region *g = at < gpa ? NULL : region_of(rp, at);
		uint64_t off, n;

		if (g == NULL) {
			if (rp->opt.fuzz)
				return 0;
			return replay_fail(rp, -EINVAL,
					   "mem gpa=0x%llx len=%u: 0x%llx is not guest RAM",
					   (unsigned long long)gpa, len, (unsigned long long)at);
		}
		off = at - g->gpa;
		n = g->size - off < len - done ? g->size - off : len - done;
		memcpy(g->hva + off, data + done, n);
		done += (uint32_t)n;
	}
	return 0;
}

void replay_free_ram(struct vdev_replay *rp)
{
	for (int i = 0; i < rp->nregions; i++) {
		if (rp->regions[i].hva != NULL)
			munmap(rp->regions[i].hva, rp->regions[i].size);
		rp->regions[i].hva = NULL;
	}
	rp->nregions = 0;
	rp->ram_total = 0;
}

/* ---- faults ---- */

void replay_arm_fault(struct vdev_replay *rp, const struct vdev_trace_rec *r)
{
	if (r->width < VDEV_TR_FAULT_FAIL || r->width > VDEV_TR_FAULT_NONSENSE) {
		if (!rp->opt.fuzz)
			replay_fail(rp, -EINVAL, "fault: unknown kind %u", r->width);
		return;
	}
	/* A new FAULT replaces one that has not fired yet. */
	rp->fault_armed = true;
	rp->fault_kind = r->width;
	rp->fault_skip = r->queue;
	rp->fault_short = r->value ? r->value : 1;
}

/* ---- host callbacks ---- */

static int replay_translate(void *opaque, uint64_t gpa, uint64_t len, enum vdev_dma_dir dir,
			    void **hva, uint64_t *contig)
{
	struct vdev_replay *rp = opaque;
	struct replay_region *g;
	uint64_t off;
	uint8_t fault = 0;

	(void)dir;
	if (rp->fault_armed) {
		if (rp->fault_skip > 0) {
			rp->fault_skip--;
		} else {
			fault = rp->fault_kind;
			rp->fault_armed = false;
			rp->faults_fired++;
		}
	}
	if (fault == VDEV_TR_FAULT_FAIL)
		return -EFAULT;
	g = region_of(rp, gpa);
	if (g == NULL)
		return -EFAULT;
	off = gpa - g->gpa;
	*hva = g->hva + off;
	*contig = g->size - off < len ? g->size - off : len;
	if (fault == VDEV_TR_FAULT_SHORT && *contig > rp->fault_short)
		*contig = rp->fault_short;
	if (fault == VDEV_TR_FAULT_NONSENSE)
		*contig = 0; /* "success" that covers nothing: the library must refuse it */
	return 0;
}

static void note_irq(struct vdev_replay *rp, uint8_t kind, uint64_t addr, uint64_t value)
{
	rp->interrupts++;
	if (rp->nirq_got == REPLAY_MAX_IRQS) {
		rp->irq_got_overflow = true;
		return;
	}
	rp->irq_got[rp->nirq_got++] = (struct replay_irq){kind, addr, value};
}

static int replay_msi_send(void *opaque, struct pci_vdev *dev, uint64_t addr, uint32_t data)
{
	(void)dev;
	note_irq(opaque, 1, addr, data);
	return 0;
}

static void replay_intx_set(void *opaque, struct pci_vdev *dev, int level)
{
	(void)dev;
	note_irq(opaque, 2, 0, (uint64_t)level);
}

/* ---- the clock ---- */

void replay_push_time(struct vdev_replay *rp, uint64_t ns)
{
	uint32_t cap = sizeof(rp->time_fifo) / sizeof(rp->time_fifo[0]);

	if (rp->time_count == cap) {
		/* More readings than any access makes: keep the newest. */
		rp->now = rp->time_fifo[rp->time_head];
		rp->time_head = (rp->time_head + 1) % cap;
		rp->time_count--;
	}
	rp->time_fifo[(rp->time_head + rp->time_count) % cap] = ns;
	rp->time_count++;
}

void replay_settle_time(struct vdev_replay *rp)
{
	uint32_t cap = sizeof(rp->time_fifo) / sizeof(rp->time_fifo[0]);

	if (rp->time_count > 0)
		rp->now = rp->time_fifo[(rp->time_head + rp->time_count - 1) % cap];
	rp->time_head = rp->time_count = 0;
}

uint64_t replay_now(struct vdev_replay *rp)
{
	uint32_t cap = sizeof(rp->time_fifo) / sizeof(rp->time_fifo[0]);

	/* The recorder writes a TIME record for each reading that moved the clock, so
	 * each reading takes the next one; readings past them see the last. */
	if (rp->time_count > 0) {
		rp->now = rp->time_fifo[rp->time_head];
		rp->time_head = (rp->time_head + 1) % cap;
		rp->time_count--;
	}
	return rp->now;
}

static uint64_t replay_now_ns(void *opaque)
{
	return replay_now(opaque);
}

static void replay_log(void *opaque, enum vdev_log_level level, const char *devname,
		       const char *msg)
{
	struct vdev_replay *rp = opaque;

	char line[320];

	(void)devname;
	if (level == VDEV_LOG_ERROR)
		snprintf(rp->last_error, sizeof(rp->last_error), "%s", msg);
	if (rp->opt.log == NULL || rp->opt.log_level < 0 || (int)level > rp->opt.log_level)
		return;
	snprintf(line, sizeof(line), "record %llu: %s", (unsigned long long)rp->rec_index, msg);
	rp->opt.log(rp->opt.log_arg, line);
}

void replay_host_ops(struct vdev_host_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
	ops->version = VDEV_HOST_OPS_VERSION;
	ops->translate = replay_translate;
	ops->msi_send = replay_msi_send;
	ops->intx_set = replay_intx_set;
	ops->log = replay_log;
	ops->now_ns = replay_now_ns;
}
