/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-pci: binds a virtio device to a PCI function, lays out its BARs and
 * capabilities, routes BAR accesses to the legacy or modern register blocks, and
 * turns the core's interrupt requests into MSI-X, MSI or INTx.
 */
#include <errno.h>
#include <string.h>

#include "core/virtio_internal.h"
#include "core/vmctx.h"
#include "trace/trace_hooks.h"
#include "transport/pci_internal.h"
#include "transport/virtio_pci_internal.h"
#include "util/common.h"
#include "util/config.h"
#include "vdev/virtio_pci.h"

/* ---- the transport as the core sees it ---- */

static struct vmctx *tp_vmctx(const struct virtio_base *base)
{
	return vdev_pci_vmctx(base->dev);
}

static const char *tp_name(const struct virtio_base *base)
{
	return vdev_pci_name(base->dev);
}

static void tp_raise(struct virtio_base *base, uint16_t vector, uint8_t isr_bit)
{
	struct pci_vdev *dev = base->dev;

	if (vdev_pci_msix_enabled(dev)) {
		/* NO_VECTOR is the driver's way of saying "no interrupt for this". */
		if (vector != VIRTIO_MSI_NO_VECTOR)
			vdev_pci_msix_send(dev, vector);
		return;
	}
	base->isr |= isr_bit;
	if (vdev_pci_msi_enabled(dev))
		vdev_pci_msi_send(dev, 0);
	else
		vdev_pci_intx_assert(dev);
}

static void tp_lower(struct virtio_base *base)
{
	vdev_pci_intx_deassert(base->dev);
}

static void tp_notify_region(struct virtio_base *base, int q, bool add)
{
	struct vmctx *ctx = base->vmctx;

	if (base->legacy_driver || !base->has_modern)
		vdev_ctx_notify_region(ctx, base->dev, q, (int)base->legacy_pio_bar_idx,
				       VIRTIO_CR_QNOTIFY, 2, (uint32_t)q, add);
	else
		vdev_ctx_notify_region(ctx, base->dev, q, (int)base->modern_mmio_bar_idx,
				       VIRTIO_CAP_NOTIFY_OFFSET +
					       (uint64_t)q * VIRTIO_MODERN_NOTIFY_OFF_MULT,
				       2, (uint32_t)q, add);
}

/* The function stops routing to the device: its accesses read as nothing from now. */
static void tp_release(struct virtio_base *base)
{
	vdev_pci_set_hooks(base->dev, NULL, NULL);
}

static const struct vdev_transport virtio_pci_transport = {
	.raise = tp_raise,
	.lower = tp_lower,
	.notify_region = tp_notify_region,
	.vmctx = tp_vmctx,
	.name = tp_name,
	.release = tp_release,
};

/* ---- PCI configuration-space hooks ---- */

static int hook_cfgread(struct pci_vdev *dev, int coff, int bytes, uint32_t *val)
{
	return virtio_pci_modern_cfgread(NULL, 0, dev, coff, bytes, val);
}

static int hook_cfgwrite(struct pci_vdev *dev, int coff, int bytes, uint32_t val)
{
	return virtio_pci_modern_cfgwrite(NULL, 0, dev, coff, bytes, val);
}

static void hook_lock(struct pci_vdev *dev)
{
	vdev_virtio_lock(dev->arg);
}

static void hook_unlock(struct pci_vdev *dev)
{
	vdev_virtio_unlock(dev->arg);
}

static const struct pci_vdev_hooks virtio_pci_hooks = {
	.cfgread = hook_cfgread,
	.cfgwrite = hook_cfgwrite,
	.lock = hook_lock,
	.unlock = hook_unlock,
};

VDEV_EXPORT void virtio_linkup(struct virtio_base *base, const struct virtio_ops *vops,
			       void *pci_virtio_dev, struct pci_vdev *dev,
			       struct virtio_vq_info *queues)
{
	if (base == NULL || vops == NULL || dev == NULL || vops->nvq < 0 ||
	    (vops->nvq > 0 && queues == NULL))
		return;
	base->dev = dev;
	base->flags = 0;
	base->has_legacy = false;
	base->has_modern = false;
	base->notify_pio = false;
	base->cfg_coff = 0;
	/* Without its private state the device stays unbound: the function's registers
	 * do not reach it and every layout call returns -ENOMEM (virtio.h, note 12). */
	if (vdev_virtio_base_init(base, vops, pci_virtio_dev, queues, &virtio_pci_transport) < 0) {
		vdev_pci_log(dev, VDEV_LOG_ERROR, "virtio_linkup: out of memory");
		return;
	}
	vdev_pci_set_hooks(dev, &virtio_pci_hooks, base);
}

/* ---- BAR dispatch ---- */

static bool bar_access_ok(struct virtio_base *base, int bar, uint64_t off, int size)
{
	struct vdev_pci_bar_info info;

	if ((size != 1 && size != 2 && size != 4 && size != 8) ||
	    vdev_pci_bar_info(base->dev, bar, &info) < 0 || info.type == VDEV_PCI_BAR_NONE ||
	    off >= info.size || (uint64_t)size > info.size - off)
		return false;
	return true;
}

uint64_t vdev_vpci_bar_read(struct virtio_base *base, int bar, uint64_t off, int size)
{
	uint64_t val = 0;

	if (!bar_access_ok(base, bar, off, size)) {
		vdev_virtio_bad_access(base, "BAR read", off, size);
		return 0;
	}
	if (vdev_pci_msix_bar_access(base->dev, bar, off, size, false, &val))
		return val;
	if (base->has_legacy && (uint32_t)bar == base->legacy_pio_bar_idx)
		return vdev_vpci_legacy_read(base, off, size);
	if (base->has_modern && (uint32_t)bar == base->modern_mmio_bar_idx)
		return vdev_vpci_modern_read(base, off, size);
	/* The I/O notify BAR and the rest of the MSI-X BAR read as 0. */
	return 0;
}

void vdev_vpci_bar_write(struct virtio_base *base, int bar, uint64_t off, int size, uint64_t val)
{
	if (!bar_access_ok(base, bar, off, size)) {
		vdev_virtio_bad_access(base, "BAR write", off, size);
		return;
	}
	if (vdev_pci_msix_bar_access(base->dev, bar, off, size, true, &val))
		return;
	if (base->has_legacy && (uint32_t)bar == base->legacy_pio_bar_idx)
		vdev_vpci_legacy_write(base, off, size, val);
	else if (base->has_modern && (uint32_t)bar == base->modern_mmio_bar_idx)
		vdev_vpci_modern_write(base, off, size, val);
	else if (base->notify_pio && (uint32_t)bar == base->modern_pio_bar_idx)
		vdev_vpci_notify_pio_write(base, off, size, val);
	else
		vdev_virtio_bad_access(base, "write to a BAR with no registers", off, size);
}

/* The same accesses with a recorder attached: kept out of line, so the untraced path
 * pays one test and keeps its registers (trace_hooks.h). */
static __attribute__((noinline, cold)) uint64_t traced_bar_read(struct virtio_base *base,
								  int bar, uint64_t off, int size)
{
	struct vdev_trace *t = vdev_virtio_trace(base);
	uint64_t val;

	vdev_trace_enter(t);
	val = vdev_vpci_bar_read(base, bar, off, size);
	vdev_trace_leave_bar(t, false, bar, off, size, val);
	return val;
}

static __attribute__((noinline, cold)) void traced_bar_write(struct virtio_base *base, int bar,
							       uint64_t off, int size,
							       uint64_t val)
{
	struct vdev_trace *t = vdev_virtio_trace(base);

	vdev_trace_enter(t);
	vdev_vpci_bar_write(base, bar, off, size, val);
	vdev_trace_leave_bar(t, true, bar, off, size, val);
}

VDEV_EXPORT uint64_t virtio_pci_read(struct vmctx *ctx, int vcpu, struct pci_vdev *dev,
				     int baridx, uint64_t offset, int size)
{
	struct virtio_base *base;
	uint64_t val;

	(void)ctx;
	(void)vcpu;
	if (dev == NULL || (base = dev->arg) == NULL)
		return 0;
	vdev_virtio_lock(base);
	if (vdev_unlikely(vdev_virtio_trace(base) != NULL))
		val = traced_bar_read(base, baridx, offset, size);
	else
		val = vdev_vpci_bar_read(base, baridx, offset, size);
	vdev_virtio_unlock(base);
	return val;
}

VDEV_EXPORT void virtio_pci_write(struct vmctx *ctx, int vcpu, struct pci_vdev *dev, int baridx,
				  uint64_t offset, int size, uint64_t value)
{
	struct virtio_base *base;

	(void)ctx;
	(void)vcpu;
	if (dev == NULL || (base = dev->arg) == NULL)
		return;
	vdev_virtio_lock(base);
	if (vdev_unlikely(vdev_virtio_trace(base) != NULL))
		traced_bar_write(base, baridx, offset, size, value);
	else
		vdev_vpci_bar_write(base, baridx, offset, size, value);
	vdev_virtio_unlock(base);
}

/* ---- helpers shared by both register blocks ---- */

const struct vdev_vpci_reg *vdev_vpci_find_reg(const struct vdev_vpci_reg *table, size_t n,
					       uint64_t off, int size)
{
	for (size_t i = 0; i < n; i++)
		if (table[i].off == off && table[i].width == size)
			return &table[i];
	return NULL;
}

uint16_t vdev_vpci_checked_vector(struct virtio_base *base, uint64_t val)
{
	if (val == VIRTIO_MSI_NO_VECTOR)
		return VIRTIO_MSI_NO_VECTOR;
	if (val >= (uint64_t)vdev_pci_msix_nvec(base->dev)) {
		vdev_base_log(base, VDEV_LOG_WARN, "MSI-X vector %llu does not exist",
			      (unsigned long long)val);
		return VIRTIO_MSI_NO_VECTOR;
	}
	return (uint16_t)val;
}

bool vdev_vpci_queue_writable(struct virtio_base *base, struct virtio_vq_info *vq,
			      const char *what)
{
	if (vq == NULL)
		return false; /* H01: a queue that does not exist ignores writes */
	if (vq->enabled || vdev_virtio_driver_ready(base)) {
		vdev_virtio_bad_access(base, what, vq->num, 0);
		return false;
	}
	return true;
}

void vdev_vpci_queue_mapped(struct virtio_base *base, struct virtio_vq_info *vq, int rc)
{
	if (rc < 0) {
		base->priv->stats.guest_errors++;
		vdev_base_log(base, VDEV_LOG_WARN, "queue %u refused", vq->num);
		virtio_dev_error(base);
		return;
	}
	vq->priv->notify_live = true;
	tp_notify_region(base, vq->num, true);
}

void vdev_vpci_queue_unmap(struct virtio_base *base, struct virtio_vq_info *vq)
{
	if (vq->priv->notify_live)
		tp_notify_region(base, vq->num, false);
	vq->priv->notify_live = false;
	vdev_vq_unmap(vq);
}

/* ---- layout ---- */

VDEV_EXPORT int virtio_intr_init(struct virtio_base *base, int barnum, int use_msix)
{
	int rc;

	if (base == NULL || base->dev == NULL || base->vops == NULL)
		return -EINVAL;
	if (base->priv == NULL)
		return -ENOMEM; /* virtio_linkup() could not allocate */
	if (use_msix) {
		rc = vdev_pci_msix_init(base->dev, barnum, base->vops->nvq + 1);
		if (rc == 0)
			base->flags |= VIRTIO_USE_MSIX;
	} else {
		rc = vdev_pci_msi_init(base->dev, 1);
	}
	return rc;
}

VDEV_EXPORT int virtio_interrupt_init(struct virtio_base *base, int use_msix)
{
	return virtio_intr_init(base, VIRTIO_MSIX_BAR_IDX, use_msix);
}

static uint64_t pow2_at_least(uint64_t v)
{
	uint64_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

VDEV_EXPORT void virtio_set_io_bar(struct virtio_base *base, int barnum)
{
	uint64_t size;

	if (base == NULL || base->dev == NULL || base->vops == NULL || base->priv == NULL)
		return;
	size = pow2_at_least(VIRTIO_CR_CFG1 + base->vops->cfgsize);
	if (vdev_pci_alloc_bar(base->dev, barnum, VDEV_PCI_BAR_IO, size) < 0) {
		vdev_base_log(base, VDEV_LOG_ERROR, "cannot place the legacy I/O BAR %d", barnum);
		return;
	}
	base->legacy_pio_bar_idx = (uint32_t)barnum;
	base->has_legacy = true;
}

VDEV_EXPORT int virtio_set_modern_bar(struct virtio_base *base, bool use_notify_pio)
{
	if (base == NULL || base->dev == NULL || base->vops == NULL)
		return -EINVAL;
	if (base->priv == NULL)
		return -ENOMEM;
	return vdev_vpci_add_modern(base, use_notify_pio, true);
}

static const struct {
	uint16_t type;
	uint16_t transitional_id;
	uint32_t class_code;
} device_table[] = {
	{VIRTIO_TYPE_NET, VIRTIO_DEV_NET, 0x020000},         /* network, ethernet */
	{VIRTIO_TYPE_BLOCK, VIRTIO_DEV_BLOCK, 0x010000},     /* mass storage, SCSI */
	{VIRTIO_TYPE_CONSOLE, VIRTIO_DEV_CONSOLE, 0x078000}, /* communication, other */
	{VIRTIO_TYPE_ENTROPY, VIRTIO_DEV_RANDOM, 0x00ff00},  /* unclassified */
	{VIRTIO_TYPE_BALLOON, VIRTIO_DEV_BALLOON, 0x05ff00}, /* memory, other */
	{VIRTIO_TYPE_SCSI, VIRTIO_DEV_SCSI, 0x010000},
	{VIRTIO_TYPE_9P, VIRTIO_DEV_9P, 0x020000},
};

int vdev_vpci_check_config(const struct vdev_virtio_pci_config *cfg, const char **field,
			   const char **why)
{
	if (cfg->mode != VDEV_PCI_LEGACY && cfg->mode != VDEV_PCI_MODERN &&
	    cfg->mode != VDEV_PCI_TRANSITIONAL) {
		*field = "pci.mode";
		*why = "must be legacy, modern or transitional";
		return -EINVAL;
	}
	/* Room for fields to come: a caller that sets it asks for what we do not know. */
	if (!vdev_config_zero(cfg->reserved, sizeof(cfg->reserved))) {
		*field = "pci.reserved";
		*why = "must be zero";
		return -EINVAL;
	}
	return 0;
}

VDEV_EXPORT uint16_t vdev_virtio_pci_device_id(uint16_t virtio_type, enum vdev_pci_mode mode)
{
	if (mode == VDEV_PCI_MODERN)
		return virtio_type <= 0xFFFF - VIRTIO_DEV_MODERN_BASE
			       ? (uint16_t)(VIRTIO_DEV_MODERN_BASE + virtio_type)
			       : 0;
	if (mode != VDEV_PCI_LEGACY && mode != VDEV_PCI_TRANSITIONAL)
		return 0;
	for (size_t i = 0; i < VDEV_ARRAY_SIZE(device_table); i++)
		if (device_table[i].type == virtio_type)
			return device_table[i].transitional_id;
	return 0;
}

static uint32_t default_class(uint16_t virtio_type)
{
	for (size_t i = 0; i < VDEV_ARRAY_SIZE(device_table); i++)
		if (device_table[i].type == virtio_type)
			return device_table[i].class_code;
	return 0xff0000;
}

VDEV_EXPORT int vdev_virtio_pci_init(struct virtio_base *base, uint16_t virtio_type,
				     const struct vdev_virtio_pci_config *cfg)
{
	struct pci_vdev *dev;
	uint16_t device_id;
	uint32_t class_code;
	const char *field, *why;
	bool modern_only;
	int rc;

	if (base == NULL || base->dev == NULL || base->vops == NULL || cfg == NULL)
		return -EINVAL;
	if (base->priv == NULL)
		return -ENOMEM;
	if (base->has_legacy || base->has_modern)
		return -EINVAL;
	if (vdev_vpci_check_config(cfg, &field, &why) < 0) {
		vdev_virtio_log(base, VDEV_LOG_ERROR, "virtio-pci: %s: %s", field, why);
		return -EINVAL;
	}
	device_id = vdev_virtio_pci_device_id(virtio_type, cfg->mode);
	if (device_id == 0)
		return -EINVAL;
	dev = base->dev;
	modern_only = cfg->mode == VDEV_PCI_MODERN;
	class_code = cfg->class_code ? cfg->class_code : default_class(virtio_type);
	vdev_pci_set_cfgdata16(dev, PCIR_VENDOR, VIRTIO_VENDOR);
	vdev_pci_set_cfgdata16(dev, PCIR_DEVICE, device_id);
	vdev_pci_set_cfgdata8(dev, PCIR_REVID, modern_only ? 1 : 0);
	vdev_pci_set_cfgdata8(dev, PCIR_CLASS, (uint8_t)(class_code >> 16));
	vdev_pci_set_cfgdata8(dev, PCIR_SUBCLASS, (uint8_t)(class_code >> 8));
	vdev_pci_set_cfgdata8(dev, PCIR_PROGIF, (uint8_t)class_code);
	vdev_pci_set_cfgdata16(dev, PCIR_SUBVEND_0, VIRTIO_VENDOR);
	/* Transitional devices must carry the device type; others 0x40 and up. */
	vdev_pci_set_cfgdata16(dev, PCIR_SUBDEV_0,
			       modern_only ? (uint16_t)(0x40 + virtio_type) : virtio_type);
	if (cfg->msix) {
		rc = virtio_intr_init(base, VIRTIO_MSIX_BAR_IDX, 1);
		if (rc < 0)
			return rc;
	}
	if (cfg->msi) {
		rc = vdev_pci_msi_init(dev, 1);
		if (rc < 0)
			return rc;
	}
	if (!modern_only) {
		virtio_set_io_bar(base, VIRTIO_LEGACY_PIO_BAR_IDX);
		if (!base->has_legacy)
			return -ENOSPC;
	}
	if (cfg->mode != VDEV_PCI_LEGACY) {
		base->modern_mem32 = cfg->mem32;
		rc = vdev_vpci_add_modern(base, cfg->notify_pio, !cfg->no_cfg_access);
		if (rc < 0)
			return rc;
	}
	return 0;
}
