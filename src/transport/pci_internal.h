/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Library-internal interface of the generic PCI function model (pci_vdev.c,
 * pci_msix.c, pci_msi.c, pci_intx.c). It knows PCI and nothing of virtio; the
 * virtio-pci layer (virtio_pci*.c) plugs into it through struct pci_vdev_hooks.
 */
#ifndef VDEV_SRC_TRANSPORT_PCI_INTERNAL_H
#define VDEV_SRC_TRANSPORT_PCI_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "vdev/pci.h"

/* What the layer above (virtio-pci) plugs in. Every member may be NULL. */
struct pci_vdev_hooks {
	/*
	 * Offered every config access first, after width/alignment checks. Return 0
	 * when handled (the cfg-access capability window), non-zero to let the generic
	 * emulation handle it.
	 */
	int (*cfgread)(struct pci_vdev *dev, int coff, int bytes, uint32_t *val);
	int (*cfgwrite)(struct pci_vdev *dev, int coff, int bytes, uint32_t val);
	/* Taken around vdev_pci_cfgread()/vdev_pci_cfgwrite() (the device lock). */
	void (*lock)(struct pci_vdev *dev);
	void (*unlock)(struct pci_vdev *dev);
};

#define VDEV_PCI_MSIX_MAX_VECTORS 2048
#define VDEV_PCI_MSIX_ENTRY_SIZE 16

struct vdev_pci_bar {
	enum vdev_pci_bar_type type; /* NONE for unused and for the upper half of MEM64 */
	bool upper_half;             /* this index is the high dword of the previous BAR */
	uint64_t size;
	uint64_t addr;               /* programmed base (bits below size are 0) */
};

struct vdev_msix_entry {
	uint64_t addr;
	uint32_t data;
	uint32_t ctrl; /* bit 0: masked */
};

struct pci_vdev {
	struct vmctx *ctx;
	char name[32];
	uint8_t cfg[VDEV_PCI_CFG_SIZE];
	uint8_t cap_end;           /* next free capability offset */
	uint8_t cap_last;          /* offset of the last capability (0: none) */
	struct vdev_pci_bar bar[VDEV_PCI_NUM_BARS];

	struct {
		int cap;           /* capability offset, 0: no MSI-X */
		int bar;
		uint32_t table_off, pba_off;
		int nvec;
		struct vdev_msix_entry *table;
		uint64_t *pba;     /* pending bits */
	} msix;
	struct {
		int cap;           /* capability offset, 0: no MSI */
		int nvec;
	} msi;
	int intx_level;           /* what the function wants (before INTx-disable) */
	int intx_out;             /* what the host was last told */

	struct vdev_pci_stats stats;
	const struct pci_vdev_hooks *hooks;
	void *arg;                 /* the layer above (a struct virtio_base) */
	struct vdev_trace *trace;  /* the recorder of the device on this function, or NULL
				      (src/trace/trace_hooks.h) */
};

void vdev_pci_set_hooks(struct pci_vdev *dev, const struct pci_vdev_hooks *hooks, void *arg);

/*
 * Declare BAR `idx` with a power-of-two `size` (I/O: at least 4; memory: at least
 * 16, 4096 recommended). MEM64 takes idx and idx + 1. Returns 0, or -EINVAL (bad
 * index, size, or the BAR is taken), -EBUSY.
 */
int vdev_pci_alloc_bar(struct pci_vdev *dev, int idx, enum vdev_pci_bar_type type,
		       uint64_t size);

/*
 * Append a capability: `len` bytes of `data` whose first byte is the capability id;
 * the next pointer (byte 1) is filled in. Capabilities start at 0x40, are 4-byte
 * aligned and read-only to the guest unless the code that owns them says otherwise.
 * Returns the offset (> 0) or -ENOSPC.
 */
int vdev_pci_add_cap(struct pci_vdev *dev, const void *data, int len);

/*
 * MSI-X with `nvec` vectors in memory BAR `bar`: table at offset 0, PBA after it
 * (8-byte aligned, at 0x800 when the table fits), the BAR allocated here (MEM32, at
 * least 4096 bytes) unless it already exists and is large enough. All vectors start
 * masked. Returns 0 or a negative errno.
 */
int vdev_pci_msix_init(struct pci_vdev *dev, int bar, int nvec);

/*
 * If (bar, offset) lies in the MSI-X table or PBA, perform the access and return 1;
 * else return 0. Table: 4- and 8-byte aligned accesses (others refused and counted,
 * reads give 0). PBA: read-only (writes ignored and counted).
 */
int vdev_pci_msix_bar_access(struct pci_vdev *dev, int bar, uint64_t offset, int size,
			     bool write, uint64_t *val);

/*
 * Signal MSI-X vector `vector`: sent now, or its pending bit set while the vector or
 * the function is masked (and sent when unmasked). Returns 0, or -EINVAL when MSI-X is
 * off or the vector does not exist (nothing sent, counted).
 */
int vdev_pci_msix_send(struct pci_vdev *dev, uint16_t vector);
int vdev_pci_msix_nvec(const struct pci_vdev *dev);

/* An MSI capability (64-bit address, per-vector masking off) with nvec = 1. */
int vdev_pci_msi_init(struct pci_vdev *dev, int nvec);
/* Send MSI message `vector` (data + vector); -EINVAL when MSI is off. */
int vdev_pci_msi_send(struct pci_vdev *dev, unsigned vector);

/* Drive the INTx line. The host hears only level changes, and nothing while the
 * command register's INTx-disable bit is set (it hears the level when it clears). */
void vdev_pci_intx_assert(struct pci_vdev *dev);
void vdev_pci_intx_deassert(struct pci_vdev *dev);

/* Log through the function's vmctx, prefixed with its name. */
void vdev_pci_log(const struct pci_vdev *dev, enum vdev_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void vdev_pci_vlog(const struct pci_vdev *dev, enum vdev_log_level level, const char *fmt,
		   va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif
