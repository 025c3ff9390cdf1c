/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per device type, how a replay builds the device a trace recorded from its PARAM
 * records, with replay backends fed by the trace. The other half, which PARAM records
 * a device writes, is the device's own describe callback (src/devices/<type>/
 * <type>_describe.c); trace/trace_describe.h is all the two halves share. One adapter
 * per type lives in src/replay/replay_<type>.c; each builds its device through the
 * public API only.
 */
#ifndef VDEV_SRC_REPLAY_REPLAY_ADAPTER_H
#define VDEV_SRC_REPLAY_REPLAY_ADAPTER_H

#include <stdint.h>

#include "vdev/device.h"
#include "vdev/virtio_pci.h"

struct vdev_replay; /* the replay engine's state (src/replay/replay_internal.h) */

struct vdev_trace_param {
	char key[33];
	uint64_t value;
};

struct vdev_replay_adapter {
	uint16_t type; /* VIRTIO_TYPE_* */
	/* Replay: create the device on ctx from the parameters (unknown keys are an
	 * error; missing keys take the device's defaults), its backends fed by `rp`. */
	int (*create)(struct vmctx *ctx, const struct vdev_virtio_pci_config *pci,
		      const struct vdev_trace_param *params, int nparams,
		      struct vdev_replay *rp, struct vdev_dev **out);
};

/* The adapter for a virtio type, or NULL. */
const struct vdev_replay_adapter *vdev_replay_adapter_for(uint16_t type);

#endif
