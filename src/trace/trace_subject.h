/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the recorder is told about the device it records. The recorder sits below
 * every other layer of the library and includes nothing of theirs: the layer that
 * attaches it (src/devices/device_trace.c, behind vdev_trace_start()) fills this in
 * from the device, and from then on the recorder learns what happens only through
 * the hooks of trace_hooks.h.
 */
#ifndef VDEV_SRC_TRACE_TRACE_SUBJECT_H
#define VDEV_SRC_TRACE_TRACE_SUBJECT_H

#include <pthread.h>
#include <stdint.h>

#include "trace/trace_describe.h"

struct vdev_trace;
struct vdev_trace_config;

struct vdev_trace_subject {
	uint16_t type;     /* VIRTIO_TYPE_* */
	uint8_t pci_mode;  /* VDEV_PCI_LEGACY, _MODERN or _TRANSITIONAL */
	uint8_t pci_flags; /* VDEV_TR_PCI_*: how the function was laid out */
	int nvq;
	const char *name;  /* for the one log line about a failure */
	/* The device lock: every hook runs under it, and the recorder takes it for the
	 * calls an embedder makes on the recorder itself. */
	pthread_mutex_t *lock;
	/* Point the device's hooks at the recorder (t), or away from it (NULL): called
	 * with the device lock held when the recorder attaches and when it lets go
	 * (stop, or the device is destroyed). */
	void (*hook)(void *dev, struct vdev_trace *t);
	/* The device's PARAM records, or NULL (the trace records, a replay cannot
	 * rebuild the device). Called once, device lock held. */
	void (*describe)(void *dev, vdev_trace_param_fn emit, void *arg);
	void *dev;
	/* One line about why the recording stopped; NULL: none. Not called after the
	 * recorder let go of the device (the host may be gone by then). */
	void (*log)(void *log_arg, const char *name, const char *msg);
	void *log_arg;
};

/*
 * Allocate a recorder for `s` and open its output per `cfg` (a path is created or
 * truncated here). Nothing is attached yet, no lock is taken. 0 or a negative errno.
 */
int vdev_trace_recorder_open(const struct vdev_trace_subject *s,
			     const struct vdev_trace_config *cfg, struct vdev_trace **out);

/*
 * Device lock held: write the header, DEVICE and PARAM records, and when they went
 * out, hook the recorder into the device. 0, or the write error (the caller then
 * discards the recorder).
 */
int vdev_trace_recorder_attach(struct vdev_trace *t);

/* Close and free a recorder that never attached. */
void vdev_trace_recorder_discard(struct vdev_trace *t);

#endif
