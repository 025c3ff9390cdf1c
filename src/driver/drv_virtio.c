/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The driver peer's virtio device layer: features, status, ISR, device config, reset
 * and negotiation, over the legacy register block or the modern capabilities.
 */
#include <errno.h>

#include "driver/drv_internal.h"
#include "util/common.h"

/* Reads of status a reset may need before it reads back 0. */
#define DRV_RESET_POLLS 1000
/* Retries of a multi-part config read while config_generation keeps moving. */
#define DRV_CFG_GEN_RETRIES 64

#define STATUS_ALL_BITS 0xff

/* ---------------- status, ISR ---------------- */

VDEV_EXPORT uint8_t vdev_drv_read_status(struct vdev_drv *drv)
{
	if (drv == NULL)
		return 0;
	if (vdrv_is_legacy(drv))
		return (uint8_t)vdrv_rd(drv, VDEV_DRV_REGION_LEGACY, VIRTIO_CR_STATUS, 1);
	return (uint8_t)vdrv_rd(drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_STATUS, 1);
}

VDEV_EXPORT void vdev_drv_write_status(struct vdev_drv *drv, uint8_t status)
{
	if (drv == NULL)
		return;
	if (vdrv_is_legacy(drv))
		vdrv_wr(drv, VDEV_DRV_REGION_LEGACY, VIRTIO_CR_STATUS, 1, status);
	else
		vdrv_wr(drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_STATUS, 1, status);
}

VDEV_EXPORT uint8_t vdev_drv_read_isr(struct vdev_drv *drv)
{
	if (drv == NULL)
		return 0;
	if (vdrv_is_legacy(drv))
		return (uint8_t)vdrv_rd(drv, VDEV_DRV_REGION_LEGACY, VIRTIO_CR_ISR, 1);
	return (uint8_t)vdrv_rd(drv, VDEV_DRV_REGION_ISR, 0, 1);
}

/* ---------------- features ---------------- */

VDEV_EXPORT uint64_t vdev_drv_read_features(struct vdev_drv *drv)
{
	uint64_t lo, hi;

	if (drv == NULL)
		return 0;
	if (vdrv_is_legacy(drv))
		return vdrv_rd(drv, VDEV_DRV_REGION_LEGACY, VIRTIO_CR_HOSTCAP, 4);
	vdrv_wr(drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_DFSELECT, 4, 0);
	lo = vdrv_rd(drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_DF, 4);
	vdrv_wr(drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_DFSELECT, 4, 1);
	hi = vdrv_rd(drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_DF, 4);
	return (lo & 0xffffffffU) | hi << 32;
}

VDEV_EXPORT void vdev_drv_write_features(struct vdev_drv *drv, uint64_t features)
{
	if (drv == NULL)
		return;
	if (vdrv_is_legacy(drv)) {
		vdrv_wr(drv, VDEV_DRV_REGION_LEGACY, VIRTIO_CR_GUESTCAP, 4, (uint32_t)features);
		return;
	}
	vdrv_wr(drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_GFSELECT, 4, 0);
	vdrv_wr(drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_GF, 4, (uint32_t)features);
	vdrv_wr(drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_GFSELECT, 4, 1);
	vdrv_wr(drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_GF, 4, (uint32_t)(features >> 32));
}

VDEV_EXPORT uint64_t vdev_drv_features(const struct vdev_drv *drv)
{
	return drv ? drv->features : 0;
}

/* ---------------- device config ---------------- */

/*
 * Legacy device config starts after the MSI-X vector registers only while MSI-X is
 * enabled; read the enable bit live so a test that toggles MSI-X sees the shift.
 */
static uint32_t legacy_cfg_base(struct vdev_drv *drv)
{
	return vdrv_msix_live(drv) ? VIRTIO_CR_CFG1 : VIRTIO_CR_CFG0;
}

static uint64_t cfg_rd(struct vdev_drv *drv, uint32_t off, int width)
{
	if (vdrv_is_legacy(drv))
		return vdrv_rd(drv, VDEV_DRV_REGION_LEGACY, legacy_cfg_base(drv) + off, width);
	return vdrv_rd(drv, VDEV_DRV_REGION_DEVICE, off, width);
}

static void cfg_wr(struct vdev_drv *drv, uint32_t off, int width, uint64_t val)
{
	if (vdrv_is_legacy(drv))
		vdrv_wr(drv, VDEV_DRV_REGION_LEGACY, legacy_cfg_base(drv) + off, width, val);
	else
		vdrv_wr(drv, VDEV_DRV_REGION_DEVICE, off, width, val);
}

static uint8_t cfg_generation(struct vdev_drv *drv)
{
	return (uint8_t)vdrv_rd(drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_CFGGENERATION, 1);
}

VDEV_EXPORT uint8_t vdev_drv_read_config8(struct vdev_drv *drv, uint32_t off)
{
	return drv ? (uint8_t)cfg_rd(drv, off, 1) : 0;
}

VDEV_EXPORT uint16_t vdev_drv_read_config16(struct vdev_drv *drv, uint32_t off)
{
	return drv ? (uint16_t)cfg_rd(drv, off, 2) : 0;
}

VDEV_EXPORT uint32_t vdev_drv_read_config32(struct vdev_drv *drv, uint32_t off)
{
	return drv ? (uint32_t)cfg_rd(drv, off, 4) : 0;
}

/*
 * Two 32-bit halves, as Linux reads a 64-bit field; on the modern interface repeat
 * while config_generation moved, so a field the device changed meanwhile is never
 * returned torn.
 */
VDEV_EXPORT uint64_t vdev_drv_read_config64(struct vdev_drv *drv, uint32_t off)
{
	uint64_t lo, hi;
	uint8_t gen;
	int tries = 0;

	if (drv == NULL)
		return 0;
	if (vdrv_is_legacy(drv)) {
		lo = cfg_rd(drv, off, 4);
		hi = cfg_rd(drv, off + 4, 4);
		return (lo & 0xffffffffU) | hi << 32;
	}
	do {
		gen = cfg_generation(drv);
		lo = cfg_rd(drv, off, 4);
		hi = cfg_rd(drv, off + 4, 4);
	} while (gen != cfg_generation(drv) && ++tries < DRV_CFG_GEN_RETRIES);
	return (lo & 0xffffffffU) | hi << 32;
}

VDEV_EXPORT void vdev_drv_write_config8(struct vdev_drv *drv, uint32_t off, uint8_t val)
{
	if (drv)
		cfg_wr(drv, off, 1, val);
}

VDEV_EXPORT void vdev_drv_write_config16(struct vdev_drv *drv, uint32_t off, uint16_t val)
{
	if (drv)
		cfg_wr(drv, off, 2, val);
}

VDEV_EXPORT void vdev_drv_write_config32(struct vdev_drv *drv, uint32_t off, uint32_t val)
{
	if (drv)
		cfg_wr(drv, off, 4, val);
}

VDEV_EXPORT void vdev_drv_write_config64(struct vdev_drv *drv, uint32_t off, uint64_t val)
{
	if (drv == NULL)
		return;
	cfg_wr(drv, off, 4, (uint32_t)val);
	cfg_wr(drv, off + 4, 4, (uint32_t)(val >> 32));
}

/* ---------------- reset and negotiation ---------------- */

/* A reset clears the config vector; point it at entry 0 again while MSI-X is on. */
static void restore_config_vector(struct vdev_drv *drv)
{
	if (!drv->msix_on || !vdrv_msix_live(drv))
		return;
	if (vdrv_is_legacy(drv))
		vdrv_wr(drv, VDEV_DRV_REGION_LEGACY, VIRTIO_CR_CFGVEC, 2, 0);
	else
		vdrv_wr(drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_MSIX, 2, 0);
}

VDEV_EXPORT int vdev_drv_reset(struct vdev_drv *drv)
{
	int polls = 0;

	if (drv == NULL)
		return -EINVAL;
	vdev_drv_write_status(drv, 0);
	while (vdev_drv_read_status(drv) != 0) {
		if (++polls >= DRV_RESET_POLLS)
			return -EIO;
	}
	drv->features = 0;
	vdrv_queues_forget(drv);
	restore_config_vector(drv);
	return 0;
}

/* Set `bits` on top of the current status (the device refuses clearing a bit). */
static uint8_t status_add(struct vdev_drv *drv, uint8_t bits)
{
	uint8_t st = (uint8_t)((vdev_drv_read_status(drv) | bits) & STATUS_ALL_BITS);

	vdev_drv_write_status(drv, st);
	return vdev_drv_read_status(drv);
}

VDEV_EXPORT int vdev_drv_negotiate(struct vdev_drv *drv, uint64_t wanted, uint64_t *accepted)
{
	uint64_t acc;
	int rc;

	if (accepted)
		*accepted = 0;
	if (drv == NULL)
		return -EINVAL;
	/* A device still in reset (as open leaves it) is not reset again: its reset
	 * callback runs once per reset the driver really needs. */
	if (vdev_drv_read_status(drv) != 0) {
		rc = vdev_drv_reset(drv);
		if (rc < 0)
			return rc;
	} else {
		drv->features = 0;
		vdrv_queues_forget(drv);
		restore_config_vector(drv);
	}
	status_add(drv, VIRTIO_CR_STATUS_ACK);
	status_add(drv, VIRTIO_CR_STATUS_DRIVER);
	acc = wanted & vdev_drv_read_features(drv);
	if (vdrv_is_legacy(drv))
		acc &= 0xffffffffU;
	else
		acc |= VIRTIO_F_VERSION_1;
	vdev_drv_write_features(drv, acc);
	if (!vdrv_is_legacy(drv) &&
	    !(status_add(drv, VIRTIO_CR_STATUS_FEATURES_OK) & VIRTIO_CR_STATUS_FEATURES_OK))
		return -EIO;
	drv->features = acc;
	if (accepted)
		*accepted = acc;
	return 0;
}

VDEV_EXPORT int vdev_drv_driver_ok(struct vdev_drv *drv)
{
	if (drv == NULL)
		return -EINVAL;
	if (!(status_add(drv, VIRTIO_CR_STATUS_DRIVER_OK) & VIRTIO_CR_STATUS_DRIVER_OK))
		return -EIO;
	return 0;
}
