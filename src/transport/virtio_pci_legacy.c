/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The legacy (virtio 0.9.5) register block in an I/O BAR, ACRN's VIRTIO_CR_* layout.
 * While MSI-X is enabled two vector registers sit at 20 and 22 and the device config
 * moves from 20 to 24. Every register is served only at its own width (H11).
 */
#include "core/virtio_internal.h"
#include "transport/pci_internal.h"
#include "transport/virtio_pci_internal.h"
#include "util/common.h"

/* CFGVEC and QVEC are only reached while MSI-X is on: otherwise offset 20 and up is
 * device config, which config_start() routes first. */
static const struct vdev_vpci_reg legacy_regs[] = {
	{VIRTIO_CR_HOSTCAP, 4, true},  {VIRTIO_CR_GUESTCAP, 4, false}, {VIRTIO_CR_PFN, 4, false},
	{VIRTIO_CR_QNUM, 2, true},     {VIRTIO_CR_QSEL, 2, false},     {VIRTIO_CR_QNOTIFY, 2, false},
	{VIRTIO_CR_STATUS, 1, false},  {VIRTIO_CR_ISR, 1, true},       {VIRTIO_CR_CFGVEC, 2, false},
	{VIRTIO_CR_QVEC, 2, false},
};

static uint64_t config_start(struct virtio_base *base)
{
	return vdev_pci_msix_enabled(base->dev) ? VIRTIO_CR_CFG1 : VIRTIO_CR_CFG0;
}

static const struct vdev_vpci_reg *find_reg(uint64_t off, int size)
{
	return vdev_vpci_find_reg(legacy_regs, VDEV_ARRAY_SIZE(legacy_regs), off, size);
}

static struct virtio_vq_info *selected(struct virtio_base *base)
{
	return vdev_virtio_queue(base, (uint32_t)base->curq);
}

uint64_t vdev_vpci_legacy_read(struct virtio_base *base, uint64_t off, int size)
{
	uint64_t cfg = config_start(base);
	struct virtio_vq_info *vq = selected(base);

	if (off >= cfg)
		return vdev_virtio_cfg_read(base, off - cfg, size);
	if (find_reg(off, size) == NULL) {
		vdev_virtio_bad_access(base, "legacy register read", off, size);
		return 0;
	}
	switch (off) {
	case VIRTIO_CR_HOSTCAP:
		return vdev_virtio_offered(base, true);
	case VIRTIO_CR_GUESTCAP:
		return base->negotiated_caps & 0xFFFFFFFFULL;
	case VIRTIO_CR_PFN:
		return vq ? vq->pfn : 0;
	case VIRTIO_CR_QNUM:
		return vq ? vq->qsize_max : 0;
	case VIRTIO_CR_QSEL:
		return (uint16_t)base->curq;
	case VIRTIO_CR_QNOTIFY:
		return 0;
	case VIRTIO_CR_STATUS:
		return base->status;
	case VIRTIO_CR_ISR:
		return vdev_virtio_read_isr(base);
	case VIRTIO_CR_CFGVEC:
		return base->msix_cfg_idx;
	case VIRTIO_CR_QVEC:
		return vq ? vq->msix_idx : 0;
	}
	return 0;
}

static void write_pfn(struct virtio_base *base, struct virtio_vq_info *vq, uint32_t pfn)
{
	uint64_t desc, avail, used;
	uint16_t size;

	if (vq == NULL)
		return;
	if (pfn == 0) {
		/* Legacy drivers release a queue by writing PFN 0 (before DRIVER_OK). */
		if (!vdev_virtio_driver_ready(base)) {
			vdev_vpci_queue_unmap(base, vq);
			vq->pfn = 0;
		}
		return;
	}
	if (!vdev_vpci_queue_writable(base, vq, "legacy queue PFN rewrite"))
		return;
	size = vq->qsize_max;
	desc = (uint64_t)pfn << VRING_PAGE_BITS;
	avail = desc + 16ULL * size;
	used = (avail + 6ULL + 2ULL * size + VRING_ALIGN - 1) & ~(uint64_t)(VRING_ALIGN - 1);
	vq->pfn = pfn;
	vdev_pair_set(vq->gpa_desc, desc);
	vdev_pair_set(vq->gpa_avail, avail);
	vdev_pair_set(vq->gpa_used, used);
	vdev_vpci_queue_mapped(base, vq, vdev_vq_map(vq, size, desc, avail, used));
}

void vdev_vpci_legacy_write(struct virtio_base *base, uint64_t off, int size, uint64_t val)
{
	uint64_t cfg = config_start(base);
	const struct vdev_vpci_reg *reg;
	struct virtio_vq_info *vq = selected(base);

	if (off >= cfg) {
		vdev_virtio_cfg_write(base, off - cfg, size, val);
		return;
	}
	reg = find_reg(off, size);
	if (reg == NULL || reg->ro) {
		vdev_virtio_bad_access(base, "legacy register write", off, size);
		return;
	}
	switch (off) {
	case VIRTIO_CR_GUESTCAP:
		vdev_virtio_write_legacy_features(base, (uint32_t)val);
		break;
	case VIRTIO_CR_PFN:
		write_pfn(base, vq, (uint32_t)val);
		break;
	case VIRTIO_CR_QSEL:
		base->curq = (uint16_t)val;
		break;
	case VIRTIO_CR_QNOTIFY:
		vdev_virtio_notify(base, (uint16_t)val);
		break;
	case VIRTIO_CR_STATUS:
		vdev_virtio_write_status(base, (uint8_t)val, true);
		break;
	case VIRTIO_CR_CFGVEC:
		base->msix_cfg_idx = vdev_vpci_checked_vector(base, val);
		break;
	case VIRTIO_CR_QVEC:
		if (vq != NULL)
			vq->msix_idx = vdev_vpci_checked_vector(base, val);
		break;
	}
}
