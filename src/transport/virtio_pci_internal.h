/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared by the virtio-pci files: BAR dispatch, the legacy and modern register blocks,
 * and the cfg-access window. */
#ifndef VDEV_SRC_TRANSPORT_VIRTIO_PCI_INTERNAL_H
#define VDEV_SRC_TRANSPORT_VIRTIO_PCI_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vdev/virtio.h"
#include "vdev/virtio_pci.h"

/* One register of a fixed block (the legacy header, the modern common config): each
 * is served only at its own offset and width (H11). */
struct vdev_vpci_reg {
	uint8_t off;
	uint8_t width;
	bool ro; /* a write is refused */
};

/* The row of table[0..n) at exactly (off, size), or NULL: a wrong width, a partial
 * access or a hole. */
const struct vdev_vpci_reg *vdev_vpci_find_reg(const struct vdev_vpci_reg *table, size_t n,
					       uint64_t off, int size);

/* BAR accesses without taking the device lock (the caller holds it). */
uint64_t vdev_vpci_bar_read(struct virtio_base *base, int bar, uint64_t off, int size);
/*
 * Check an embedder's PCI layout: a known mode and zero reserved words. 0, or -EINVAL
 * with *field and *why (string literals) saying what is wrong, for the caller's log
 * line. vdev_virtio_pci_init() checks with it; device constructors call it (through
 * vdev_dev_check_pci()) before they open anything.
 */
int vdev_vpci_check_config(const struct vdev_virtio_pci_config *cfg, const char **field,
			   const char **why);

void vdev_vpci_bar_write(struct virtio_base *base, int bar, uint64_t off, int size,
			 uint64_t val);

/* The legacy header in the I/O BAR. */
uint64_t vdev_vpci_legacy_read(struct virtio_base *base, uint64_t off, int size);
void vdev_vpci_legacy_write(struct virtio_base *base, uint64_t off, int size, uint64_t val);

/* The modern memory BAR (common, ISR, device and notify pages) and the I/O notify BAR. */
uint64_t vdev_vpci_modern_read(struct virtio_base *base, uint64_t off, int size);
void vdev_vpci_modern_write(struct virtio_base *base, uint64_t off, int size, uint64_t val);
void vdev_vpci_notify_pio_write(struct virtio_base *base, uint64_t off, int size, uint64_t val);

/* Add the modern capabilities and BARs. */
int vdev_vpci_add_modern(struct virtio_base *base, bool notify_pio, bool cfg_access);

/* An MSI-X vector the driver may use, or VIRTIO_MSI_NO_VECTOR (H10). */
uint16_t vdev_vpci_checked_vector(struct virtio_base *base, uint64_t val);

/* After vdev_vq_map(): tell the host about the notify register, or break the device. */
void vdev_vpci_queue_mapped(struct virtio_base *base, struct virtio_vq_info *vq, int rc);
/* Disable a queue (legacy PFN 0). */
void vdev_vpci_queue_unmap(struct virtio_base *base, struct virtio_vq_info *vq);
/* True when the driver may still change this queue's geometry (H04). */
bool vdev_vpci_queue_writable(struct virtio_base *base, struct virtio_vq_info *vq,
			      const char *what);

#endif
