/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per device type, the two halves that make a trace self-contained: which PARAM
 * records describe a device as it was created (written by the recorder right after
 * DEVICE), and how a replay builds the same device from them with replay backends.
 * One adapter per type lives in src/trace/replay_<type>.c.
 */
#ifndef VDEV_SRC_TRACE_TRACE_DEVICE_H
#define VDEV_SRC_TRACE_TRACE_DEVICE_H

#include <stdint.h>

#include "vdev/device.h"
#include "vdev/virtio_pci.h"

struct vdev_replay; /* the replay engine's state (src/trace/replay_internal.h) */

struct vdev_trace_param {
	char key[33];
	uint64_t value;
};

typedef void (*vdev_trace_param_fn)(void *arg, const char *key, uint64_t value);

struct vdev_trace_device {
	uint16_t type; /* VIRTIO_TYPE_* */
	/* Recording: call emit once per parameter of `dev` as created. */
	void (*params)(struct vdev_dev *dev, vdev_trace_param_fn emit, void *arg);
	/* Replay: create the device on ctx from the parameters (unknown keys are an
	 * error; missing keys take the device's defaults), its backends fed by `rp`. */
	int (*create)(struct vmctx *ctx, const struct vdev_virtio_pci_config *pci,
		      const struct vdev_trace_param *params, int nparams,
		      struct vdev_replay *rp, struct vdev_dev **out);
};

/* The adapter for a virtio type, or NULL. */
const struct vdev_trace_device *vdev_trace_device_for(uint16_t type);

#endif
