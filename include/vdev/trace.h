/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Recording a register-access trace of one device (docs/trace-format.md).
 *
 * A trace holds everything one device saw: the PCI config and BAR accesses made to
 * it (reads with the value returned), queue notifications, the guest memory it read,
 * what its backend produced and when requests completed, clock readings, host
 * controls and the interrupts it raised. `vdev-trace replay` re-runs it against a
 * fresh device without any guest and reports the first place the device answers
 * differently; the fuzzers in fuzz/ mutate traces in the same binary form.
 *
 * Attach the recorder before the guest first touches the device (right after
 * vdev_<type>_create): a replay starts from a freshly created device. Recording never
 * changes what the device does; a write error stops the recording (logged once) and
 * vdev_trace_stop() reports it.
 *
 * Threading: the recorder runs under the device lock, on whatever thread makes the
 * device call, like the device itself.
 */
#ifndef VDEV_TRACE_H
#define VDEV_TRACE_H

#include <stdint.h>

#include "vdev/device.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vdev_trace;

/*
 * Zero-initialise, set .size = sizeof(struct vdev_trace_config), then set what you need.
 * The size lets the struct grow: fields are only ever appended; a caller's shorter
 * struct (an older header) reads as zero past its end, a longer one is refused (-E2BIG)
 * only when it sets what this library does not know; a size below the first version's is
 * -EINVAL.
 */
struct vdev_trace_config {
	uint32_t size; /* required: sizeof(struct vdev_trace_config) */
	const char *path;   /* file to create or truncate (mode 0600); or NULL and: */
	int fd;             /* a descriptor to write to (the recorder writes a dup) */
	uint64_t max_bytes; /* stop recording past this size; 0: 1 GiB */
};

/*
 * Start recording `dev` (a device made by vdev_blk/net/console/rng_create). Writes the
 * file header and the device's set-up records at once. Returns 0, -EINVAL (bad
 * arguments, or a recorder is already attached), -ENOMEM, or the errno of opening
 * or writing the file.
 */
int vdev_trace_start(struct vdev_dev *dev, const struct vdev_trace_config *cfg,
		     struct vdev_trace **out);

/*
 * Declare a guest-RAM region, so a replay can map the same layout. Call it for every
 * region the host's translate callback serves, before or while recording (a region
 * added later is recorded at that point of the trace). Declaring a region again is
 * harmless: only the part not declared before is recorded. Also accepted after the
 * device was destroyed, until vdev_trace_stop(). Returns 0, -EINVAL (size 0, the
 * range wraps past 2^64, or more than 1024 disjoint regions), or -ENOMEM.
 */
int vdev_trace_add_ram(struct vdev_trace *t, uint64_t gpa, uint64_t size);

/* Bytes written so far (header included). */
uint64_t vdev_trace_bytes(const struct vdev_trace *t);

/*
 * Detach from the device, flush and close. Returns 0, or the first write error
 * (negative errno; -EFBIG when max_bytes was reached). NULL is accepted. A device
 * destroyed while recording lets go of its recorder first (what it recorded is kept);
 * the recorder is still freed only here.
 */
int vdev_trace_stop(struct vdev_trace *t);

#ifdef __cplusplus
}
#endif

#endif /* VDEV_TRACE_H */
