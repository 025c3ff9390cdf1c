/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MSI: a 64-bit-address capability without per-vector masking. The capability bytes
 * in config space are the only state, so what the guest reads is what gets sent.
 */
#include <errno.h>

#include "core/vmctx.h"
#include "trace/trace_hooks.h"
#include "transport/pci_caps.h"
#include "transport/pci_internal.h"
#include "util/common.h"

#define MSI_CTRL 2
#define MSI_ADDR_LO 4
#define MSI_ADDR_HI 8
#define MSI_DATA 12

#define MSI_MAX_VECTORS 32
#define MSI_MME_MASK (0x7u << PCI_MSI_CTRL_MME_SHIFT)

static uint16_t msi_ctrl(const struct pci_vdev *dev)
{
	return vdev_ld16(&dev->cfg[dev->msi.cap + MSI_CTRL]);
}

VDEV_EXPORT bool vdev_pci_msi_enabled(const struct pci_vdev *dev)
{
	return dev != NULL && dev->msi.cap != 0 && (msi_ctrl(dev) & PCI_MSI_CTRL_ENABLE);
}

static int log2_exact(int v)
{
	int n = 0;

	while ((1 << n) < v)
		n++;
	return n;
}

int vdev_pci_msi_init(struct pci_vdev *dev, int nvec)
{
	uint8_t cap[PCI_MSI_CAP_LEN] = { PCIY_MSI, 0 };
	int rc;

	if (dev == NULL || nvec < 1 || nvec > MSI_MAX_VECTORS || !vdev_is_pow2((uint64_t)nvec))
		return -EINVAL;
	if (dev->msi.cap != 0)
		return -EBUSY;
	vdev_st16(&cap[MSI_CTRL], (uint16_t)(PCI_MSI_CTRL_64BIT |
					     (log2_exact(nvec) << PCI_MSI_CTRL_MMC_SHIFT)));
	rc = vdev_pci_add_cap(dev, cap, sizeof(cap));
	if (rc < 0)
		return rc;
	dev->msi.cap = rc;
	dev->msi.nvec = nvec;
	return 0;
}

/* Writable bits of each dword of the capability, from its start. */
static uint32_t msi_wmask(int rel)
{
	switch (rel) {
	case 0: return (uint32_t)(PCI_MSI_CTRL_ENABLE | MSI_MME_MASK) << 16;
	case MSI_ADDR_LO: return 0xfffffffcu; /* messages are dword aligned */
	case MSI_ADDR_HI: return 0xffffffffu;
	case MSI_DATA: return 0x0000ffffu;     /* the upper half is reserved */
	default: return 0;
	}
}

void vdev_pci_msi_cfgwrite(struct pci_vdev *dev, int coff, int bytes, uint32_t val)
{
	pci_cfg_update(dev, coff, bytes, val, msi_wmask((coff & ~3) - dev->msi.cap));
}

/* Vectors the driver enabled: a count above what we offered is a driver bug; honour
 * only what we offered. */
static unsigned msi_enabled_vectors(const struct pci_vdev *dev)
{
	uint16_t ctrl = msi_ctrl(dev);
	unsigned mme = (ctrl & MSI_MME_MASK) >> PCI_MSI_CTRL_MME_SHIFT;
	unsigned mmc = (ctrl >> PCI_MSI_CTRL_MMC_SHIFT) & 0x7u;

	return 1u << (mme < mmc ? mme : mmc);
}

int vdev_pci_msi_send(struct pci_vdev *dev, unsigned vector)
{
	const uint8_t *cap;
	uint64_t addr;
	uint32_t data;
	int rc;

	if (dev == NULL)
		return -EINVAL;
	if (!vdev_pci_msi_enabled(dev) || vector >= msi_enabled_vectors(dev)) {
		dev->stats.irq_failed++;
		vdev_pci_log(dev, VDEV_LOG_DEBUG, "MSI vector %u not sent: %s", vector,
			     vdev_pci_msi_enabled(dev) ? "not enabled by driver" : "MSI is off");
		return -EINVAL;
	}
	cap = &dev->cfg[dev->msi.cap];
	addr = vdev_ld32(cap + MSI_ADDR_LO) | ((uint64_t)vdev_ld32(cap + MSI_ADDR_HI) << 32);
	data = vdev_ld16(cap + MSI_DATA) | vector;
	if (vdev_unlikely(dev->trace != NULL))
		vdev_trace_irq_msi(dev->trace, addr, data);
	rc = vdev_ctx_msi_send(dev->ctx, dev, addr, data);
	if (rc < 0) {
		dev->stats.irq_failed++;
		vdev_pci_log(dev, VDEV_LOG_WARN, "MSI vector %u: host refused message (%d)",
			     vector, rc);
		return rc;
	}
	dev->stats.msi_sent++;
	return 0;
}
