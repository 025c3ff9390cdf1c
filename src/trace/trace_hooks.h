/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The points where the library tells an attached trace what happened. Every call site
 * is guarded by `if (x->trace != NULL)`, so a device without a trace pays one
 * predictable branch. Only recording attaches a trace: a replay is the host itself (its
 * translate, interrupt and clock callbacks, its replay backends) and needs no hook.
 *
 * Ordering contract (what makes a replay line up with the recording):
 *  - An entry point (config access, BAR access, notify, poll, host reset, host control)
 *    calls vdev_trace_enter() first and vdev_trace_leave_*() last. Only the outermost
 *    entry records (the cfg-access capability performs a BAR access from inside a
 *    config access: that inner access is not a separate record).
 *  - vdev_trace_enter() emits MEM records for whatever changed in the mapped rings
 *    since the last entry; everything the device reads or is given during the entry
 *    (MEM, BACKEND, COMPLETE, TIME) and raises (IRQ) is written while it happens; the
 *    access record itself is written by the leave call, with the value returned. A
 *    replay applies the records before an access, then performs the access.
 */
#ifndef VDEV_SRC_TRACE_TRACE_HOOKS_H
#define VDEV_SRC_TRACE_TRACE_HOOKS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct vdev_trace;

void vdev_trace_enter(struct vdev_trace *t);
void vdev_trace_leave_cfg(struct vdev_trace *t, bool write, int off, int width,
			  uint32_t value, int rc);
void vdev_trace_leave_bar(struct vdev_trace *t, bool write, int bar, uint64_t off,
			  int width, uint64_t value);
void vdev_trace_leave_notify(struct vdev_trace *t, int queue);
void vdev_trace_leave_poll(struct vdev_trace *t);
void vdev_trace_leave_reset(struct vdev_trace *t);
void vdev_trace_leave_host(struct vdev_trace *t, int op, uint64_t a, uint64_t b);

/* A ring (descriptor table or available ring: what the device reads) was mapped at
 * queue enable; the recorder keeps a shadow copy and records changes at each entry.
 * vdev_trace_rings_reset() forgets them all (device reset). */
void vdev_trace_ring_mapped(struct vdev_trace *t, int queue, uint64_t gpa,
			    const volatile void *hva, uint64_t len);
void vdev_trace_rings_reset(struct vdev_trace *t);
/* One queue's rings went away (legacy PFN 0, or the queue is re-mapped): forget them. */
void vdev_trace_ring_unmapped(struct vdev_trace *t, int queue);

/* The device translated [gpa, gpa+len) for reading: record its current bytes. */
void vdev_trace_mem_read(struct vdev_trace *t, uint64_t gpa, const void *hva, uint64_t len);

void vdev_trace_irq_msi(struct vdev_trace *t, uint64_t addr, uint32_t data);
void vdev_trace_irq_intx(struct vdev_trace *t, int level);

/* An outstanding request (queue, head) completed with `result` (delivered in poll). */
void vdev_trace_complete(struct vdev_trace *t, int queue, uint16_t head, int result);
/* A backend call returned `result`, producing `len` bytes of `data` (may be NULL). */
void vdev_trace_backend(struct vdev_trace *t, int op, int queue, int result,
			const void *data, uint32_t len);
/* The same with the data gathered from iov[0..niov): its first `len` bytes (a backend
 * that wrote into guest buffers, or a header image followed by a frame). */
void vdev_trace_backend_iov(struct vdev_trace *t, int op, int queue, int result,
			    const struct iovec *iov, int niov, uint64_t len);

/* A backend's ssize_t answer as a record's 32-bit result (clamped, never wrapped). */
static inline int32_t vdev_trace_result(int64_t v)
{
	return v < INT32_MIN ? INT32_MIN : v > INT32_MAX ? INT32_MAX : (int32_t)v;
}

/* The device read its clock (vdev_ctx_now_ns: the host's now_ns callback, or
 * CLOCK_MONOTONIC): recorded as a TIME record for every reading inside an entry,
 * repeated values included, since a replay serves the readings of an access one TIME
 * record each, through its own host callback (docs/trace-format.md). */
void vdev_trace_time(struct vdev_trace *t, uint64_t ns);

/* The device is being destroyed with the recorder still attached: the recorder lets
 * go of it (a later vdev_trace_stop() only flushes and closes). */
void vdev_trace_detach(struct vdev_trace *t);

#endif
