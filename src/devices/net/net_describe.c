/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-net describing itself to a trace: the PARAM records a replay rebuilds the
 * same device from (src/replay/replay_net.c reads them back; docs/trace-format.md
 * lists them).
 */
#include <string.h>

#include "devices/net/net_internal.h"
#include "util/common.h"

void net_describe(struct vdev_dev *dev, vdev_trace_param_fn emit, void *arg)
{
	struct net_dev *n = (struct net_dev *)dev;
	uint64_t caps = dev->base.device_caps;
	uint8_t mac[8] = {0};

	if (vdev_dev_type(dev) != VIRTIO_TYPE_NET)
		return;
	memcpy(mac, n->cfg_mac, ETH_ALEN_);
	emit(arg, "mac", vdev_ld64(mac));
	emit(arg, "mtu", vdev_ld16(&n->cfg.mtu));
	emit(arg, "queue_pairs", n->max_pairs);
	emit(arg, "queue_size", n->vq[0].qsize_max ? n->vq[0].qsize_max : n->vq[0].qsize);
	emit(arg, "link_up", n->link_up);
	emit(arg, "mrg_rxbuf", (caps & VIRTIO_NET_F_MRG_RXBUF) != 0);
	emit(arg, "ctrl_vq", (caps & VIRTIO_NET_F_CTRL_VQ) != 0);
	emit(arg, "event_idx", (caps & VIRTIO_RING_F_EVENT_IDX) != 0);
	emit(arg, "in_order", (caps & VIRTIO_F_IN_ORDER) != 0);
	emit(arg, "backend_queues", n->be.nqueues);
	emit(arg, "tx_offloads", n->be.tx_offloads);
	emit(arg, "rx_offloads", n->be.rx_offloads);
	emit(arg, "filter", n->be.filter);
	emit(arg, "features", caps);
}
