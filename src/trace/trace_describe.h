/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * How a device describes itself to a trace: PARAM records, one (key, u64) pair each,
 * written right after the DEVICE record, from which a replay rebuilds a device that
 * looks the same to the guest. Each device type writes its own from a `describe`
 * callback (struct vdev_dev_ops); the keys of each type are listed in
 * docs/trace-format.md and read back by that type's replay adapter (src/replay).
 *
 * This header is the whole vocabulary the two sides share, so neither includes the
 * other: the recorder never sees a device's internals, the replay never sees them.
 */
#ifndef VDEV_SRC_TRACE_TRACE_DESCRIBE_H
#define VDEV_SRC_TRACE_TRACE_DESCRIBE_H

#include <stddef.h>
#include <stdint.h>

/* Receives one PARAM: key (at most VDEV_TRACE_MAX_KEY bytes) and value. */
typedef void (*vdev_trace_param_fn)(void *arg, const char *key, uint64_t value);

/* A byte string (a serial number, a port name) as PARAMs: "<prefix>_len", then the
 * bytes in 8-byte little-endian chunks "<prefix>_0", "<prefix>_1", ... Nothing for an
 * empty string. */
void vdev_trace_emit_bytes(vdev_trace_param_fn emit, void *arg, const char *prefix,
			   const void *bytes, size_t len);

/* virtio-console: the flags of one port's "p<N>" parameter. */
#define VDEV_TRACE_CONP_PRESENT 0x01
#define VDEV_TRACE_CONP_CONSOLE 0x02
#define VDEV_TRACE_CONP_HOST_OPEN 0x04
#define VDEV_TRACE_CONP_READ 0x08    /* the backend had a read callback */
#define VDEV_TRACE_CONP_WRITE 0x10   /* ... a write callback */
#define VDEV_TRACE_CONP_POLL_FD 0x20 /* ... a poll_fd callback */
#define VDEV_TRACE_CONP_ALL 0x3F

#endif
