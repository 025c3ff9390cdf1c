/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-rng describing itself to a trace: the PARAM records a replay rebuilds the
 * same device from (src/replay/replay_rng.c reads them back; docs/trace-format.md
 * lists them).
 */
#include "devices/rng/rng_internal.h"

void rng_describe(struct vdev_dev *dev, vdev_trace_param_fn emit, void *arg)
{
	struct rng_dev *r = (struct rng_dev *)dev;

	if (vdev_dev_type(dev) != VIRTIO_TYPE_ENTROPY)
		return;
	emit(arg, "max_request_bytes", r->max_request);
	emit(arg, "rate", r->lim.rate);
	emit(arg, "burst", r->lim.rate ? r->lim.burst : 0);
	emit(arg, "queue_size", r->vq.qsize_max ? r->vq.qsize_max : r->vq.qsize);
	emit(arg, "per_poll", r->per_poll);
	emit(arg, "pollfd", r->be.pollfd != NULL);
	emit(arg, "features", dev->base.device_caps);
}
