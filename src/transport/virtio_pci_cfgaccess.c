/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The PCI cfg-access capability (VIRTIO_PCI_CAP_PCI_CFG): a window in configuration
 * space through which firmware or a driver reaches any BAR register without mapping
 * the BAR. The driver writes bar, offset and length, then reads or writes
 * pci_cfg_data, and the device performs that BAR access for real (ACRN and kvmtool
 * advertised the capability without serving it).
 */
#include "core/virtio_internal.h"
#include "transport/pci_internal.h"
#include "transport/virtio_pci_internal.h"
#include "util/common.h"

#define CAP_BAR 4     /* offsetof(struct virtio_pci_cap, bar) */
#define CAP_OFFSET 8  /* offsetof(struct virtio_pci_cap, offset) */
#define CAP_LENGTH 12 /* offsetof(struct virtio_pci_cap, length) */
#define CAP_DATA 16   /* offsetof(struct virtio_pci_cfg_cap, pci_cfg_data) */
#define CAP_END 20

_Static_assert(offsetof(struct virtio_pci_cfg_cap, pci_cfg_data) == CAP_DATA, "layout");
_Static_assert(offsetof(struct virtio_pci_cap, length) == CAP_LENGTH, "layout");

static struct virtio_base *window_owner(struct pci_vdev *dev)
{
	struct virtio_base *base = dev ? dev->arg : NULL;

	return base != NULL && base->cfg_coff > 0 ? base : NULL;
}

static bool overlaps(int coff, int bytes, int start, int end)
{
	return coff < end && coff + bytes > start;
}

/* The BAR access the window describes, when it is a valid one. */
static bool window_target(struct virtio_base *base, int *bar, uint64_t *off, int *len)
{
	const uint8_t *cap = base->dev->cfg + base->cfg_coff;
	struct vdev_pci_bar_info info;
	uint32_t length = vdev_ld32(cap + CAP_LENGTH);

	*bar = cap[CAP_BAR];
	*off = vdev_ld32(cap + CAP_OFFSET);
	*len = (int)length;
	if ((length != 1 && length != 2 && length != 4) || *off % length != 0 ||
	    vdev_pci_bar_info(base->dev, *bar, &info) < 0 || info.type == VDEV_PCI_BAR_NONE ||
	    *off + length > info.size) {
		vdev_virtio_bad_access(base, "cfg-access window (bad bar/offset/length)", *off,
				       (int)length);
		return false;
	}
	return true;
}

VDEV_EXPORT int virtio_pci_modern_cfgread(struct vmctx *ctx, int vcpu, struct pci_vdev *dev,
					  int coff, int bytes, uint32_t *rv)
{
	struct virtio_base *base = window_owner(dev);
	uint8_t *cap;
	int bar, len;
	uint64_t off;

	(void)ctx;
	(void)vcpu;
	if (base == NULL || rv == NULL ||
	    !overlaps(coff, bytes, base->cfg_coff + CAP_DATA, base->cfg_coff + CAP_END))
		return -1;
	cap = dev->cfg + base->cfg_coff;
	if (window_target(base, &bar, &off, &len))
		vdev_st_width(cap + CAP_DATA, len, vdev_vpci_bar_read(base, bar, off, len));
	*rv = (uint32_t)vdev_ld_width(dev->cfg + coff, bytes);
	return 0;
}

VDEV_EXPORT int virtio_pci_modern_cfgwrite(struct vmctx *ctx, int vcpu, struct pci_vdev *dev,
					   int coff, int bytes, uint32_t val)
{
	struct virtio_base *base = window_owner(dev);
	int c, bar, len;
	uint64_t off;
	bool handled = false;

	(void)ctx;
	(void)vcpu;
	if (base == NULL)
		return -1;
	c = base->cfg_coff;
	/* Only bar, offset, length and data are the driver's to write. */
	for (int i = 0; i < bytes; i++) {
		int at = coff + i - c;
		if (at == CAP_BAR || (at >= CAP_OFFSET && at < CAP_END)) {
			dev->cfg[coff + i] = (uint8_t)(val >> (8 * i));
			handled = true;
		}
	}
	if (overlaps(coff, bytes, c + CAP_DATA, c + CAP_END) &&
	    window_target(base, &bar, &off, &len))
		vdev_vpci_bar_write(base, bar, off, len, vdev_ld_width(dev->cfg + c + CAP_DATA, len));
	return handled ? 0 : -1;
}
