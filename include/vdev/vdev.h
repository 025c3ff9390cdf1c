/* SPDX-License-Identifier: BSD-3-Clause */
/* Everything an embedder includes: the host interface, the PCI function model, the
 * ACRN-compatible virtio API and its transport helpers, the devices and traces. The
 * driver peer (vdev/driver.h, vdev/vu_front.h) is libvdev-driver's, included on its own. */
#ifndef VDEV_VDEV_H
#define VDEV_VDEV_H

#include "vdev/host.h"
#include "vdev/pci.h"
#include "vdev/virtio.h"
#include "vdev/virtio_pci.h"
#include "vdev/device.h"
#include "vdev/vhost.h"
#include "vdev/blk.h"
#include "vdev/net.h"
#include "vdev/console.h"
#include "vdev/rng.h"
#include "vdev/trace.h"

#endif /* VDEV_VDEV_H */
