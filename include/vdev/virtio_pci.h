/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One call that lays out a virtio PCI function the way the spec and Linux expect:
 * identities, class, interrupts and the legacy, modern or transitional register
 * blocks. It is built from the ACRN-style calls in vdev/virtio.h, which remain
 * available for devices ported from ACRN that do this by hand.
 */
#ifndef VDEV_VIRTIO_PCI_H
#define VDEV_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "vdev/virtio.h"

#ifdef __cplusplus
extern "C" {
#endif

enum vdev_pci_mode {
	VDEV_PCI_LEGACY = 1,       /* legacy I/O BAR only (virtio 0.9.5) */
	VDEV_PCI_MODERN = 2,       /* virtio 1.x capabilities only, device id 0x1040+type */
	VDEV_PCI_TRANSITIONAL = 3, /* both, device id 0x1000-range, revision 0 */
};

/*
 * Zero-initialise, then set what you need; zero means the default. This struct is
 * embedded as `.pci` inside every device config, so it cannot grow by a size field
 * without moving the fields after it: it carries reserved room instead, which must be
 * zero (the library refuses anything else with -EINVAL), and new fields take it up.
 */
struct vdev_virtio_pci_config {
	enum vdev_pci_mode mode; /* required */
	bool msix;               /* MSI-X: nvq + 1 vectors in BAR 1 */
	bool msi;                /* also an MSI capability (one vector) */
	bool notify_pio;         /* modern: notify registers also in I/O BAR 2 */
	bool mem32;              /* modern: 32-bit memory BAR 4 (QEMU's proxy needs it) */
	bool no_cfg_access;      /* modern: leave out the PCI cfg-access capability */
	uint32_t class_code;     /* class<<16 | subclass<<8 | progif; 0: by device type */
	uint32_t reserved[4];    /* zero: room for fields to come */
};

/*
 * Lay out the function of a device already bound with virtio_linkup(). Returns 0, or
 * -EINVAL when the mode is unknown, a transitional/legacy mode is asked for a device
 * type that has no transitional id, `reserved` is not zero, or the device was laid
 * out already; -ENOMEM.
 */
int vdev_virtio_pci_init(struct virtio_base *base, uint16_t virtio_type,
			 const struct vdev_virtio_pci_config *cfg);

/* PCI device id for a type in a mode, or 0 when there is none. */
uint16_t vdev_virtio_pci_device_id(uint16_t virtio_type, enum vdev_pci_mode mode);

#ifdef __cplusplus
}
#endif

#endif /* VDEV_VIRTIO_PCI_H */
