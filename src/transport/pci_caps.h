/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private glue between the files of the PCI function model: pci_vdev.c owns the
 * configuration-space dispatch and hands writes that land in the MSI-X or MSI
 * capability, or that change the command register, to the file that owns that state.
 * Nothing outside src/transport/pci_*.c needs this header.
 */
#ifndef VDEV_SRC_TRANSPORT_PCI_CAPS_H
#define VDEV_SRC_TRANSPORT_PCI_CAPS_H

#include <stdint.h>

#include "transport/pci_internal.h"
#include "util/common.h"

#define PCI_MSIX_CAP_LEN 12
#define PCI_MSI_CAP_LEN 16 /* 14 bytes of 64-bit MSI, padded to the 4-byte grid */

/* Message-control bits of the MSI-X capability (at cap + 2). */
#define PCI_MSIX_CTRL_ENABLE 0x8000
#define PCI_MSIX_CTRL_FMASK 0x4000
#define PCI_MSIX_CTRL_TSIZE 0x07ff

/* Message-control bits of the MSI capability (at cap + 2). */
#define PCI_MSI_CTRL_ENABLE 0x0001
#define PCI_MSI_CTRL_MMC_SHIFT 1
#define PCI_MSI_CTRL_MME_SHIFT 4
#define PCI_MSI_CTRL_64BIT 0x0080

/* Bits of the byte lanes an access of `bytes` at `coff` touches inside its dword. */
static inline uint32_t pci_cfg_lanes(int coff, int bytes)
{
	uint32_t m = bytes >= 4 ? 0xffffffffu : ((1u << (bytes * 8)) - 1);

	return m << ((coff & 3) * 8);
}

/*
 * Apply a guest write to the dword holding `coff`, changing only bits that are both
 * touched by the access and in `wmask` (the register's writable bits). Every
 * register is handled at dword granularity this way, so byte and word writes need no
 * special cases. Returns the new dword value (also stored in config space).
 */
static inline uint32_t pci_cfg_update(struct pci_vdev *dev, int coff, int bytes, uint32_t val,
				      uint32_t wmask)
{
	uint8_t *p = &dev->cfg[coff & ~3];
	uint32_t m = pci_cfg_lanes(coff, bytes) & wmask;
	uint32_t v = val << ((coff & 3) * 8);
	uint32_t nv = (vdev_ld32(p) & ~m) | (v & m);

	vdev_st32(p, nv);
	return nv;
}

/* The dword a naturally aligned access at `coff` would merge into, before masking. */
static inline uint32_t pci_cfg_merged(const struct pci_vdev *dev, int coff, int bytes,
				      uint32_t val)
{
	uint32_t m = pci_cfg_lanes(coff, bytes);

	return (vdev_ld32(&dev->cfg[coff & ~3]) & ~m) | ((val << ((coff & 3) * 8)) & m);
}

/* A config write inside the MSI-X capability (pci_msix.c). */
void vdev_pci_msix_cfgwrite(struct pci_vdev *dev, int coff, int bytes, uint32_t val);
/* Free the MSI-X table and PBA (pci_msix.c); called by vdev_pci_destroy(). */
void vdev_pci_msix_free(struct pci_vdev *dev);

/* A config write inside the MSI capability (pci_msi.c). */
void vdev_pci_msi_cfgwrite(struct pci_vdev *dev, int coff, int bytes, uint32_t val);

/* Re-evaluate the INTx output after the command register changed (pci_intx.c). */
void vdev_pci_intx_refresh(struct pci_vdev *dev);

#endif
