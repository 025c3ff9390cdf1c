/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The PCI function model: a type-0 configuration space with a capability list,
 * six BARs, MSI-X, MSI and INTx. A virtio device is bound to one with
 * virtio_linkup() and laid out with vdev_virtio_pci_init() (vdev/virtio_pci.h).
 *
 * An embedder routes the guest's accesses here:
 *   - PCI configuration space: vdev_pci_cfgread()/vdev_pci_cfgwrite();
 *   - BAR accesses: virtio_pci_read()/virtio_pci_write() (vdev/virtio.h) with the BAR
 *     index and the offset inside it. A host that sees absolute bus addresses finds
 *     both with vdev_pci_bar_lookup(), which follows what the guest programmed.
 */
#ifndef VDEV_PCI_H
#define VDEV_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "vdev/host.h"

#ifdef __cplusplus
extern "C" {
#endif

struct pci_vdev;

#define VDEV_PCI_NUM_BARS 6
#define VDEV_PCI_CFG_SIZE 256      /* conventional space that is modelled */
#define VDEV_PCI_CFG_EXT_SIZE 4096 /* extended space: reads 0, writes ignored */

/*
 * Standard configuration-space names, as ACRN's and FreeBSD's pcireg.h spell them. An
 * embedder that already includes such a header keeps its own (the values agree).
 */
#ifndef PCIR_VENDOR
#define PCIR_VENDOR 0x00
#define PCIR_DEVICE 0x02
#define PCIR_COMMAND 0x04
#define PCIR_STATUS 0x06
#define PCIR_REVID 0x08
#define PCIR_PROGIF 0x09
#define PCIR_SUBCLASS 0x0a
#define PCIR_CLASS 0x0b
#define PCIR_HDRTYPE 0x0e
#define PCIR_BAR(x) (0x10 + (x) * 4)
#define PCIR_SUBVEND_0 0x2c
#define PCIR_SUBDEV_0 0x2e
#define PCIR_CAP_PTR 0x34
#define PCIR_INTLINE 0x3c
#define PCIR_INTPIN 0x3d

#define PCIM_CMD_PORTEN 0x0001
#define PCIM_CMD_MEMEN 0x0002
#define PCIM_CMD_BUSMASTEREN 0x0004
#define PCIM_CMD_INTxDIS 0x0400
#define PCIM_STATUS_INTxSTATE 0x0008
#define PCIM_STATUS_CAPPRESENT 0x0010

#define PCIY_MSI 0x05
#define PCIY_VENDOR 0x09
#define PCIY_MSIX 0x11
#endif /* PCIR_VENDOR */

enum vdev_pci_bar_type {
	VDEV_PCI_BAR_NONE = 0,
	VDEV_PCI_BAR_IO,
	VDEV_PCI_BAR_MEM32,
	VDEV_PCI_BAR_MEM64, /* takes this BAR and the next one */
};

struct vdev_pci_bar_info {
	enum vdev_pci_bar_type type;
	uint64_t size;    /* power of two; 0 when the BAR is unused */
	uint64_t addr;    /* what the guest programmed (0 until it does) */
	bool decode;      /* the command register enables this BAR's space */
};

/*
 * Create a PCI function on `ctx`. `name` (copied, at most 31 bytes used) prefixes its
 * log lines. Returns 0, -EINVAL on a bad argument, or -ENOMEM.
 */
int vdev_pci_create(struct vmctx *ctx, const char *name, struct pci_vdev **out);

/* Destroy a PCI function; the virtio device linked to it must be released first. */
void vdev_pci_destroy(struct pci_vdev *dev);

struct vmctx *vdev_pci_vmctx(const struct pci_vdev *dev);
const char *vdev_pci_name(const struct pci_vdev *dev);

/*
 * Guest accesses to configuration space. `bytes` is 1, 2 or 4 and `coff` must be
 * naturally aligned for it. Out-of-range or misaligned accesses return -EINVAL (a read
 * then yields all ones, as a master abort would). Offsets in the extended space read
 * as 0 and ignore writes.
 */
int vdev_pci_cfgread(struct pci_vdev *dev, int coff, int bytes, uint32_t *val);
int vdev_pci_cfgwrite(struct pci_vdev *dev, int coff, int bytes, uint32_t val);

/* Raw setters for the read-only identity fields, as ACRN's pci_set_cfgdata*(). */
void vdev_pci_set_cfgdata8(struct pci_vdev *dev, int off, uint8_t val);
void vdev_pci_set_cfgdata16(struct pci_vdev *dev, int off, uint16_t val);
void vdev_pci_set_cfgdata32(struct pci_vdev *dev, int off, uint32_t val);
uint8_t vdev_pci_get_cfgdata8(const struct pci_vdev *dev, int off);
uint16_t vdev_pci_get_cfgdata16(const struct pci_vdev *dev, int off);
uint32_t vdev_pci_get_cfgdata32(const struct pci_vdev *dev, int off);

/* Describe BAR `idx`. Returns 0 or -EINVAL. For a 64-bit BAR, ask for the low index. */
int vdev_pci_bar_info(const struct pci_vdev *dev, int idx, struct vdev_pci_bar_info *out);

/*
 * Resolve an absolute bus address to (BAR, offset), as the guest programmed the BARs
 * and enabled decoding. `io` selects I/O space. Returns 0, or -ENOENT when no decoding
 * BAR of that space holds [addr, addr + size).
 */
int vdev_pci_bar_lookup(const struct pci_vdev *dev, bool io, uint64_t addr, int size,
			int *baridx, uint64_t *offset);

bool vdev_pci_msix_enabled(const struct pci_vdev *dev);
bool vdev_pci_msi_enabled(const struct pci_vdev *dev);

/* Current INTx level as the function drives it (after the INTx-disable bit). */
int vdev_pci_intx_level(const struct pci_vdev *dev);

/* Interrupt counters of one function. */
struct vdev_pci_stats {
	uint64_t msix_sent;     /* messages handed to the host */
	uint64_t msix_pended;   /* held because the vector or the function was masked */
	uint64_t msi_sent;
	uint64_t intx_asserts;  /* low-to-high transitions */
	uint64_t irq_failed;    /* the host refused a message or had no callback */
	uint64_t bad_accesses;  /* malformed config or BAR accesses refused */
	uint64_t reserved[8]; /* zero: a counter added later takes a slot here, so the
				struct keeps its size and layout */
};
void vdev_pci_get_stats(const struct pci_vdev *dev, struct vdev_pci_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* VDEV_PCI_H */
