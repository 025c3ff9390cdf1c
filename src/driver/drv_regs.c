/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The driver peer's register accessors: the one place where its config-space and BAR
 * accesses are routed, directly to a BAR or through the PCI cfg-access capability
 * window. The PCI bring-up (drv_pci.c), the virtio registers (drv_virtio.c) and the
 * queues (drv_queue.c) all call down to these, and these call nothing of theirs.
 */
#include "driver/drv_internal.h"
#include "util/common.h"

/* ---------------- configuration space ---------------- */

uint32_t vdrv_cfg_read(struct vdev_drv *drv, int coff, int width)
{
	uint32_t val = 0;

	if (drv->dev == NULL || vdev_pci_cfgread(drv->dev, coff, width, &val) < 0)
		return 0xffffffffU;
	return val;
}

void vdrv_cfg_write(struct vdev_drv *drv, int coff, int width, uint32_t val)
{
	if (drv->dev != NULL)
		(void)vdev_pci_cfgwrite(drv->dev, coff, width, val);
}

bool vdrv_msix_live(struct vdev_drv *drv)
{
	if (drv->msix_cap == 0)
		return false;
	return (vdrv_cfg_read(drv, drv->msix_cap + MSIX_CTRL, 2) & MSIX_CTRL_ENABLE) != 0;
}

/* ---------------- BAR accesses ---------------- */

/* Point the cfg-access window at (bar, off, len), as a driver must before each use. */
static void window_setup(struct vdev_drv *drv, int bar, uint64_t off, int len)
{
	int c = drv->cfgacc_coff;

	vdrv_cfg_write(drv, c + VCAP_BAR, 1, (uint32_t)bar);
	vdrv_cfg_write(drv, c + VCAP_OFFSET, 4, (uint32_t)off);
	vdrv_cfg_write(drv, c + VCAP_LENGTH, 4, (uint32_t)len);
}

/* The window's data access has the width of the BAR access (4 for odd widths, which
 * the device then refuses, as it should). */
static int window_width(int width)
{
	return (width == 1 || width == 2) ? width : 4;
}

static uint32_t window_read(struct vdev_drv *drv, int bar, uint64_t off, int width)
{
	window_setup(drv, bar, off, width);
	return vdrv_cfg_read(drv, drv->cfgacc_coff + VCAP_CFG_DATA, window_width(width));
}

static void window_write(struct vdev_drv *drv, int bar, uint64_t off, int width, uint32_t val)
{
	window_setup(drv, bar, off, width);
	vdrv_cfg_write(drv, drv->cfgacc_coff + VCAP_CFG_DATA, window_width(width), val);
}

uint64_t vdrv_bar_read(struct vdev_drv *drv, int bar, uint64_t off, int width)
{
	/* A vhost-user front end's driver has no PCI function: nothing to reach. */
	if (drv->dev == NULL)
		return ~0ULL;
	if (drv->access != VDEV_DRV_MODERN_CFGACCESS)
		return virtio_pci_read(drv->ctx, 0, drv->dev, bar, off, width);
	if (width == 8) {
		/* The window is 4 bytes wide: two halves, low first. */
		uint64_t lo = window_read(drv, bar, off, 4);
		uint64_t hi = window_read(drv, bar, off + 4, 4);

		return lo | hi << 32;
	}
	return window_read(drv, bar, off, width);
}

void vdrv_bar_write(struct vdev_drv *drv, int bar, uint64_t off, int width, uint64_t val)
{
	if (drv->dev == NULL)
		return;
	if (drv->access != VDEV_DRV_MODERN_CFGACCESS) {
		virtio_pci_write(drv->ctx, 0, drv->dev, bar, off, width, val);
		return;
	}
	if (width == 8) {
		window_write(drv, bar, off, 4, (uint32_t)val);
		window_write(drv, bar, off + 4, 4, (uint32_t)(val >> 32));
		return;
	}
	window_write(drv, bar, off, width, (uint32_t)val);
}

static const struct vdrv_region *region_of(const struct vdev_drv *drv, enum vdev_drv_region r)
{
	if ((int)r <= 0 || (int)r >= VDRV_NREGIONS || drv->region[r].bar < 0)
		return NULL;
	return &drv->region[r];
}

uint64_t vdrv_rd(struct vdev_drv *drv, enum vdev_drv_region r, uint64_t off, int width)
{
	const struct vdrv_region *reg = region_of(drv, r);

	if (reg == NULL)
		return 0;
	return vdrv_bar_read(drv, reg->bar, reg->off + off, width);
}

void vdrv_wr(struct vdev_drv *drv, enum vdev_drv_region r, uint64_t off, int width,
	     uint64_t val)
{
	const struct vdrv_region *reg = region_of(drv, r);

	if (reg != NULL)
		vdrv_bar_write(drv, reg->bar, reg->off + off, width, val);
}
