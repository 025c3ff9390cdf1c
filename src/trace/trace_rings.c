/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shadow copies of the rings a device reads (descriptor table and available ring), so
 * that a trace tells a replay every byte of them the device may have seen, without a
 * hook on each ring read in the engine's hot path.
 *
 * When a queue is mapped its rings are recorded whole (a replay's RAM may hold
 * anything there). At every outermost entry point afterwards the rings are copied once
 * and compared with the shadow; each run of changed bytes becomes one MEM record,
 * nearby runs merged. The shadows are sized from the ring sizes the engine validated
 * at queue enable (at most 16 * 32768 bytes), never from anything else a guest wrote.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace/trace_hooks.h"
#include "trace/trace_internal.h"

int trace_rings_init(struct vdev_trace *t, int nvq)
{
	t->nrings = nvq > 0 ? 2 * nvq : 0;
	if (t->nrings == 0)
		return 0;
	t->rings = calloc((size_t)t->nrings, sizeof(*t->rings));
	return t->rings != NULL ? 0 : -ENOMEM;
}

static void ring_forget(struct trace_ring *r)
{
	free(r->shadow);
	*r = (struct trace_ring){0};
}

void trace_rings_free(struct vdev_trace *t)
{
	for (int i = 0; i < t->nrings; i++)
		ring_forget(&t->rings[i]);
	free(t->scratch);
	t->scratch = NULL;
	t->scratch_len = 0;
}

/* The slot for a ring of `queue` at `gpa`: the one already there, a free one, or the
 * first of the queue's two (a queue re-mapped without being unmapped first). */
static struct trace_ring *slot_for(struct vdev_trace *t, int queue, uint64_t gpa)
{
	struct trace_ring *pair = &t->rings[2 * queue];

	for (int i = 0; i < 2; i++)
		if (pair[i].live && pair[i].gpa == gpa)
			return &pair[i];
	for (int i = 0; i < 2; i++)
		if (!pair[i].live)
			return &pair[i];
	return &pair[0];
}

void vdev_trace_ring_mapped(struct vdev_trace *t, int queue, uint64_t gpa,
			    const volatile void *hva, uint64_t len)
{
	struct trace_ring *r;

	if (t->error != 0 || queue < 0 || queue >= t->nrings / 2 || len == 0 ||
	    len > UINT32_MAX)
		return;
	r = slot_for(t, queue, gpa);
	ring_forget(r);
	r->shadow = malloc(len);
	if (r->shadow == NULL) {
		trace_fail(t, -ENOMEM, "no memory for a ring shadow");
		return;
	}
	if (len > t->scratch_len) {
		uint8_t *s = realloc(t->scratch, len);

		if (s == NULL) {
			ring_forget(r);
			trace_fail(t, -ENOMEM, "no memory for a ring snapshot");
			return;
		}
		t->scratch = s;
		t->scratch_len = (uint32_t)len;
	}
	memcpy(r->shadow, (const void *)hva, len);
	r->live = true;
	r->queue = (uint16_t)queue;
	r->gpa = gpa;
	r->hva = hva;
	r->len = (uint32_t)len;
	trace_put_mem(t, gpa, r->shadow, len);
}

void vdev_trace_ring_unmapped(struct vdev_trace *t, int queue)
{
	if (queue < 0 || queue >= t->nrings / 2)
		return;
	ring_forget(&t->rings[2 * queue]);
	ring_forget(&t->rings[2 * queue + 1]);
}

void vdev_trace_rings_reset(struct vdev_trace *t)
{
	for (int i = 0; i < t->nrings; i++)
		ring_forget(&t->rings[i]);
}

/* First index >= i where a and b differ, or n. */
static uint32_t next_diff(const uint8_t *a, const uint8_t *b, uint32_t i, uint32_t n)
{
	while (i + 8 <= n) {
		uint64_t x, y;

		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			break;
		i += 8;
	}
	while (i < n && a[i] == b[i])
		i++;
	return i;
}

static void diff_one(struct vdev_trace *t, struct trace_ring *r)
{
	uint8_t *now = t->scratch;
	uint32_t n = r->len;
	uint32_t i;

	/* One copy of what the guest has there now: what is compared is what is told. */
	memcpy(now, (const void *)r->hva, n);
	i = next_diff(now, r->shadow, 0, n);
	while (i < n && t->error == 0) {
		uint32_t start = i, end = i + 1;

		/* Grow the run while the next change is close enough to be worth merging. */
		for (;;) {
			i = next_diff(now, r->shadow, end, n);
			if (i == n || i - end >= TRACE_RING_MERGE_GAP)
				break;
			end = i + 1;
		}
		trace_put_mem(t, r->gpa + start, now + start, end - start);
		memcpy(r->shadow + start, now + start, end - start);
	}
}

void trace_rings_diff(struct vdev_trace *t)
{
	for (int i = 0; i < t->nrings && t->error == 0; i++)
		if (t->rings[i].live)
			diff_one(t, &t->rings[i]);
}
