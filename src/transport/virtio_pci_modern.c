/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The modern (virtio 1.x) interface: vendor capabilities pointing into one memory
 * BAR with a 4 KiB page each for the common config, ISR, device config and notify
 * registers, plus an optional I/O BAR for notifications. Each common-config field is
 * served only at its natural width; the 64-bit ring addresses also as 32-bit halves
 * (HOSTILE.md H11).
 */
#include <errno.h>
#include <string.h>

#include "core/virtio_internal.h"
#include "transport/pci_internal.h"
#include "transport/virtio_pci_internal.h"
#include "util/common.h"

static const struct vdev_vpci_reg common_regs[] = {
	{VIRTIO_COMMON_DFSELECT, 4, false}, {VIRTIO_COMMON_DF, 4, true},
	{VIRTIO_COMMON_GFSELECT, 4, false}, {VIRTIO_COMMON_GF, 4, false},
	{VIRTIO_COMMON_MSIX, 2, false},     {VIRTIO_COMMON_NUMQ, 2, true},
	{VIRTIO_COMMON_STATUS, 1, false},   {VIRTIO_COMMON_CFGGENERATION, 1, true},
	{VIRTIO_COMMON_Q_SELECT, 2, false}, {VIRTIO_COMMON_Q_SIZE, 2, false},
	{VIRTIO_COMMON_Q_MSIX, 2, false},   {VIRTIO_COMMON_Q_ENABLE, 2, false},
	{VIRTIO_COMMON_Q_NOFF, 2, true},
	{VIRTIO_COMMON_Q_DESCLO, 4, false}, {VIRTIO_COMMON_Q_DESCHI, 4, false},
	{VIRTIO_COMMON_Q_AVAILLO, 4, false}, {VIRTIO_COMMON_Q_AVAILHI, 4, false},
	{VIRTIO_COMMON_Q_USEDLO, 4, false}, {VIRTIO_COMMON_Q_USEDHI, 4, false},
	/* a whole 64-bit ring address in one access */
	{VIRTIO_COMMON_Q_DESCLO, 8, false}, {VIRTIO_COMMON_Q_AVAILLO, 8, false},
	{VIRTIO_COMMON_Q_USEDLO, 8, false},
};

static const struct vdev_vpci_reg *find_common(uint64_t off, int size)
{
	return vdev_vpci_find_reg(common_regs, VDEV_ARRAY_SIZE(common_regs), off, size);
}

static struct virtio_vq_info *selected(struct virtio_base *base)
{
	return vdev_virtio_queue(base, (uint32_t)base->curq);
}

/* The (lo, hi) register pair that holds the ring address at common offset `off`. */
static uint32_t *addr_pair(struct virtio_vq_info *vq, uint64_t off)
{
	if (off < VIRTIO_COMMON_Q_AVAILLO)
		return vq->gpa_desc;
	if (off < VIRTIO_COMMON_Q_USEDLO)
		return vq->gpa_avail;
	return vq->gpa_used;
}

static uint32_t feature_half(uint64_t features, uint32_t sel)
{
	return sel == 0 ? (uint32_t)features : sel == 1 ? (uint32_t)(features >> 32) : 0;
}

static uint64_t common_read(struct virtio_base *base, uint64_t off, int size)
{
	struct virtio_vq_info *vq = selected(base);

	if (off >= VIRTIO_COMMON_SIZE)
		return 0;
	if (find_common(off, size) == NULL) {
		vdev_virtio_bad_access(base, "common config read", off, size);
		return 0;
	}
	switch (off) {
	case VIRTIO_COMMON_DFSELECT:
		return base->device_feature_select;
	case VIRTIO_COMMON_DF:
		return feature_half(vdev_virtio_offered(base, false), base->device_feature_select);
	case VIRTIO_COMMON_GFSELECT:
		return base->driver_feature_select;
	case VIRTIO_COMMON_GF:
		return feature_half(base->driver_features, base->driver_feature_select);
	case VIRTIO_COMMON_MSIX:
		return base->msix_cfg_idx;
	case VIRTIO_COMMON_NUMQ:
		return (uint16_t)base->vops->nvq;
	case VIRTIO_COMMON_STATUS:
		return base->status;
	case VIRTIO_COMMON_CFGGENERATION:
		return base->config_generation;
	case VIRTIO_COMMON_Q_SELECT:
		return (uint16_t)base->curq;
	}
	/* Per-queue fields: a queue that does not exist reads as all zeroes (H01). */
	if (vq == NULL)
		return 0;
	switch (off) {
	case VIRTIO_COMMON_Q_SIZE:
		return vq->qsize;
	case VIRTIO_COMMON_Q_MSIX:
		return vq->msix_idx;
	case VIRTIO_COMMON_Q_ENABLE:
		return vq->enabled;
	case VIRTIO_COMMON_Q_NOFF:
		return vq->num;
	}
	if (size == 8)
		return vdev_pair_get(addr_pair(vq, off));
	return addr_pair(vq, off)[(off % 8) / 4];
}

static void queue_enable(struct virtio_base *base, struct virtio_vq_info *vq, uint64_t val)
{
	if (val != 1) {
		vdev_virtio_bad_access(base, "queue_enable other than 1", VIRTIO_COMMON_Q_ENABLE, 2);
		return;
	}
	if (!vdev_vpci_queue_writable(base, vq, "queue_enable on an enabled queue"))
		return;
	vdev_vpci_queue_mapped(base, vq,
			       vdev_vq_map(vq, vq->qsize, vdev_pair_get(vq->gpa_desc),
					   vdev_pair_get(vq->gpa_avail), vdev_pair_get(vq->gpa_used)));
}

static void queue_write(struct virtio_base *base, struct virtio_vq_info *vq, uint64_t off,
			int size, uint64_t val)
{
	uint32_t *pair;

	if (vq == NULL)
		return; /* H01 */
	switch (off) {
	case VIRTIO_COMMON_Q_MSIX:
		vq->msix_idx = vdev_vpci_checked_vector(base, val);
		return;
	case VIRTIO_COMMON_Q_ENABLE:
		queue_enable(base, vq, val);
		return;
	case VIRTIO_COMMON_Q_SIZE:
		/* Recorded as written; vdev_vq_map() validates it at enable (H03). */
		if (vdev_vpci_queue_writable(base, vq, "queue_size after enable"))
			vq->qsize = (uint16_t)val;
		return;
	}
	if (!vdev_vpci_queue_writable(base, vq, "ring address after enable"))
		return;
	pair = addr_pair(vq, off);
	if (size == 8) {
		vdev_pair_set(pair, val);
	} else {
		pair[(off % 8) / 4] = (uint32_t)val;
	}
}

static void common_write(struct virtio_base *base, uint64_t off, int size, uint64_t val)
{
	const struct vdev_vpci_reg *reg = off < VIRTIO_COMMON_SIZE ? find_common(off, size) : NULL;

	if (reg == NULL || reg->ro) {
		vdev_virtio_bad_access(base, "common config write", off, size);
		return;
	}
	switch (off) {
	case VIRTIO_COMMON_DFSELECT:
		base->device_feature_select = (uint32_t)val;
		return;
	case VIRTIO_COMMON_GFSELECT:
		base->driver_feature_select = (uint32_t)val;
		return;
	case VIRTIO_COMMON_GF:
		vdev_virtio_write_driver_features(base, base->driver_feature_select, (uint32_t)val);
		return;
	case VIRTIO_COMMON_MSIX:
		base->msix_cfg_idx = vdev_vpci_checked_vector(base, val);
		return;
	case VIRTIO_COMMON_STATUS:
		vdev_virtio_write_status(base, (uint8_t)val, false);
		return;
	case VIRTIO_COMMON_Q_SELECT:
		base->curq = (uint16_t)val;
		return;
	}
	queue_write(base, selected(base), off, size, val);
}

static void notify_write(struct virtio_base *base, uint64_t rel, int size)
{
	if (rel % VIRTIO_MODERN_NOTIFY_OFF_MULT != 0 || (size != 2 && size != 4)) {
		vdev_virtio_bad_access(base, "notify write", VIRTIO_CAP_NOTIFY_OFFSET + rel, size);
		return;
	}
	/* The address names the queue, as a host's ioeventfd would see it. */
	vdev_virtio_notify(base, (uint32_t)(rel / VIRTIO_MODERN_NOTIFY_OFF_MULT));
}

uint64_t vdev_vpci_modern_read(struct virtio_base *base, uint64_t off, int size)
{
	if (off < VIRTIO_CAP_ISR_OFFSET)
		return common_read(base, off - VIRTIO_CAP_COMMON_OFFSET, size);
	if (off < VIRTIO_CAP_DEVICE_OFFSET) {
		if (off != VIRTIO_CAP_ISR_OFFSET)
			return 0;
		if (size != 1) {
			vdev_virtio_bad_access(base, "ISR read", off, size);
			return 0;
		}
		return vdev_virtio_read_isr(base);
	}
	if (off < VIRTIO_CAP_NOTIFY_OFFSET)
		return vdev_virtio_cfg_read(base, off - VIRTIO_CAP_DEVICE_OFFSET, size);
	return 0;
}

void vdev_vpci_modern_write(struct virtio_base *base, uint64_t off, int size, uint64_t val)
{
	if (off < VIRTIO_CAP_ISR_OFFSET)
		common_write(base, off - VIRTIO_CAP_COMMON_OFFSET, size, val);
	else if (off < VIRTIO_CAP_DEVICE_OFFSET)
		vdev_virtio_bad_access(base, "ISR write", off, size);
	else if (off < VIRTIO_CAP_NOTIFY_OFFSET)
		vdev_virtio_cfg_write(base, off - VIRTIO_CAP_DEVICE_OFFSET, size, val);
	else
		notify_write(base, off - VIRTIO_CAP_NOTIFY_OFFSET, size);
}

void vdev_vpci_notify_pio_write(struct virtio_base *base, uint64_t off, int size, uint64_t val)
{
	if (off != 0 || (size != 2 && size != 4)) {
		vdev_virtio_bad_access(base, "I/O notify write", off, size);
		return;
	}
	/* All queues share this register: the value names the queue. */
	vdev_virtio_notify(base, (uint16_t)val);
}

/* ---- capabilities ---- */

static int add_vendor_cap(struct pci_vdev *dev, uint8_t type, uint8_t bar, uint32_t offset,
			  uint32_t length, const void *extra, uint8_t extra_len)
{
	uint8_t buf[sizeof(struct virtio_pci_cap) + 4] = {0};
	struct virtio_pci_cap *cap = (struct virtio_pci_cap *)buf;

	cap->cap_vndr = PCIY_VENDOR;
	cap->cap_len = (uint8_t)(sizeof(*cap) + extra_len);
	cap->cfg_type = type;
	cap->bar = bar;
	vdev_st32(&cap->offset, offset);
	vdev_st32(&cap->length, length);
	if (extra_len)
		memcpy(buf + sizeof(*cap), extra, extra_len);
	return vdev_pci_add_cap(dev, buf, cap->cap_len);
}

_Static_assert(sizeof(struct virtio_pci_cap) == 16, "virtio_pci_cap is 16 bytes");
_Static_assert(sizeof(struct virtio_pci_notify_cap) == 20, "notify cap is 20 bytes");
_Static_assert(sizeof(struct virtio_pci_cfg_cap) == 20, "cfg-access cap is 20 bytes");
_Static_assert(offsetof(struct virtio_pci_cap, offset) == 8, "cap offset field");
_Static_assert(sizeof(struct virtio_desc) == 16, "descriptor is 16 bytes");
_Static_assert(sizeof(struct virtio_used) == 8, "used element is 8 bytes");

int vdev_vpci_add_modern(struct virtio_base *base, bool notify_pio, bool cfg_access)
{
	struct pci_vdev *dev = base->dev;
	const uint8_t bar = VIRTIO_MODERN_MMIO_BAR_IDX;
	uint8_t mult[4], no_mult[4] = {0};
	uint32_t nvq = (uint32_t)base->vops->nvq;
	int rc;

	if (base->has_modern)
		return -EINVAL;
	rc = vdev_pci_alloc_bar(dev, bar, base->modern_mem32 ? VDEV_PCI_BAR_MEM32 : VDEV_PCI_BAR_MEM64,
				VIRTIO_MODERN_MEM_BAR_SIZE);
	if (rc < 0)
		return rc;
	vdev_st32(mult, VIRTIO_MODERN_NOTIFY_OFF_MULT);
	if ((rc = add_vendor_cap(dev, VIRTIO_PCI_CAP_COMMON_CFG, bar, VIRTIO_CAP_COMMON_OFFSET,
				 VIRTIO_COMMON_SIZE, NULL, 0)) < 0 ||
	    (rc = add_vendor_cap(dev, VIRTIO_PCI_CAP_NOTIFY_CFG, bar, VIRTIO_CAP_NOTIFY_OFFSET,
				 (nvq ? nvq : 1) * VIRTIO_MODERN_NOTIFY_OFF_MULT, mult, 4)) < 0 ||
	    (rc = add_vendor_cap(dev, VIRTIO_PCI_CAP_ISR_CFG, bar, VIRTIO_CAP_ISR_OFFSET, 1, NULL,
				 0)) < 0)
		return rc;
	if (base->vops->cfgsize > 0 &&
	    (rc = add_vendor_cap(dev, VIRTIO_PCI_CAP_DEVICE_CFG, bar, VIRTIO_CAP_DEVICE_OFFSET,
				 (uint32_t)base->vops->cfgsize, NULL, 0)) < 0)
		return rc;
	if (notify_pio) {
		rc = vdev_pci_alloc_bar(dev, VIRTIO_MODERN_PIO_BAR_IDX, VDEV_PCI_BAR_IO, 4);
		if (rc < 0)
			return rc;
		rc = add_vendor_cap(dev, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_MODERN_PIO_BAR_IDX, 0, 2,
				    no_mult, 4);
		if (rc < 0)
			return rc;
		base->modern_pio_bar_idx = VIRTIO_MODERN_PIO_BAR_IDX;
		base->notify_pio = true;
	}
	if (cfg_access) {
		rc = add_vendor_cap(dev, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0, no_mult, 4);
		if (rc < 0)
			return rc;
		base->cfg_coff = rc;
	}
	base->modern_mmio_bar_idx = bar;
	base->has_modern = true;
	return 0;
}
