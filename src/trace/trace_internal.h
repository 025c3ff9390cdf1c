/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The recorder's state, shared by its two halves: trace_record.c (the public API, the
 * buffered writer and every hook but the ring ones) and trace_rings.c (the shadow
 * copies of the rings the device reads, diffed at each entry).
 *
 * Everything here runs under the device lock (see vdev/trace.h), so nothing in it is
 * atomic.
 */
#ifndef VDEV_SRC_TRACE_TRACE_INTERNAL_H
#define VDEV_SRC_TRACE_TRACE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <pthread.h>

#include "trace/trace_describe.h"
#include "trace/trace_format.h"

/* Bytes the writer gathers before one write(2). */
#define TRACE_WRITE_BUF (64u * 1024)
/* Default and largest max_bytes. */
#define TRACE_DEFAULT_MAX_BYTES (1ull << 30)
/* Guest-RAM regions one trace declares (after removing overlaps), at most. */
#define TRACE_MAX_RAM 1024
/* Two changed byte runs of a ring closer than this become one MEM record: a record
 * costs about 13 bytes of framing, so shorter gaps are cheaper to repeat. */
#define TRACE_RING_MERGE_GAP 16

/* One ring area the device reads (descriptor table or available ring) and what the
 * trace has told about its bytes so far. */
struct trace_ring {
	bool live;
	uint16_t queue;
	uint64_t gpa;
	const volatile uint8_t *hva; /* valid while the queue stays mapped */
	uint32_t len;                /* from the queue size the engine validated */
	uint8_t *shadow;             /* len bytes */
};

struct trace_ram {
	uint64_t gpa, size;
};

struct vdev_trace {
	/* What trace_subject.h told about the device; the pointers are all NULL once
	 * detached (stopped, or the device destroyed). */
	bool attached;
	uint16_t type;
	uint8_t pci_mode, pci_flags;
	pthread_mutex_t *lock;
	void (*hook)(void *dev, struct vdev_trace *t);
	void (*describe)(void *dev, vdev_trace_param_fn emit, void *arg);
	void *dev;
	void (*log)(void *log_arg, const char *name, const char *msg);
	void *log_arg;
	char name[32];     /* the device's name, for the log line */

	int fd;
	uint8_t *buf;      /* TRACE_WRITE_BUF bytes */
	size_t fill;
	uint64_t bytes;    /* accepted so far: written plus buffered */
	uint64_t max_bytes;
	int error;         /* first failure (negative errno); nothing is written after it */

	unsigned depth;    /* nesting of entry points; only the outermost records */

	/* 2 per queue: the descriptor table and the available ring. */
	struct trace_ring *rings;
	int nrings;
	uint8_t *scratch;  /* a snapshot of one ring while it is diffed */
	uint32_t scratch_len;

	/* Guest RAM declared so far: disjoint, sorted by gpa. */
	struct trace_ram *ram;
	size_t nram;
};

/* ---- trace_record.c: the writer ---- */

/* Stop recording with `err` (the first error wins), logged once through the device. */
void trace_fail(struct vdev_trace *t, int err, const char *why);

/* Append one record without payload bytes (or a PARAM, whose key is small). */
void trace_put(struct vdev_trace *t, const struct vdev_trace_rec *r);

/* Append a MEM or BACKEND record whose payload is the first `len` bytes of
 * iov[0..niov) (len <= VDEV_TRACE_MAX_DATA); r->data and r->len are ignored. */
void trace_put_gather(struct vdev_trace *t, const struct vdev_trace_rec *r,
		      const struct iovec *iov, int niov, uint32_t len);

/* MEM records for guest bytes at gpa, split so none exceeds VDEV_TRACE_MAX_DATA. */
void trace_put_mem(struct vdev_trace *t, uint64_t gpa, const volatile void *hva, uint64_t len);

/* ---- trace_rings.c ---- */

/* Allocate room for the rings of `nvq` queues. 0 or -ENOMEM. */
int trace_rings_init(struct vdev_trace *t, int nvq);
/* Emit MEM records for every byte run that changed in a mapped ring since the trace
 * last described it. */
void trace_rings_diff(struct vdev_trace *t);
/* Forget every ring and free the shadows (reset, detach, stop). */
void trace_rings_free(struct vdev_trace *t);

#endif
