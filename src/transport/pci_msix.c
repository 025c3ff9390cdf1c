/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MSI-X: the capability, the vector table and pending-bit array in a memory BAR, and
 * message delivery. A message that cannot go out because its vector or the whole
 * function is masked is remembered in the PBA and sent exactly once when that stops
 * being true, which is what drivers rely on when they mask around reprogramming.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/vmctx.h"
#include "trace/trace_hooks.h"
#include "transport/pci_caps.h"
#include "transport/pci_internal.h"
#include "util/common.h"

#define MSIX_ENTRY_ADDR_LO 0
#define MSIX_ENTRY_ADDR_HI 4
#define MSIX_ENTRY_DATA 8
#define MSIX_ENTRY_CTRL 12
#define MSIX_CTRL_MASKED 0x1u

#define MSIX_PBA_SMALL_OFF 0x800 /* PBA offset while the table fits below it */
#define MSIX_MIN_BAR 4096

static uint16_t msix_ctrl(const struct pci_vdev *dev)
{
	return vdev_ld16(&dev->cfg[dev->msix.cap + 2]);
}

VDEV_EXPORT bool vdev_pci_msix_enabled(const struct pci_vdev *dev)
{
	return dev != NULL && dev->msix.cap != 0 && (msix_ctrl(dev) & PCI_MSIX_CTRL_ENABLE);
}

int vdev_pci_msix_nvec(const struct pci_vdev *dev)
{
	return dev != NULL && dev->msix.cap != 0 ? dev->msix.nvec : 0;
}

/* Messages flow only while MSI-X is on and the function is not masked as a whole. */
static bool msix_function_open(const struct pci_vdev *dev)
{
	uint16_t ctrl = msix_ctrl(dev);

	return (ctrl & PCI_MSIX_CTRL_ENABLE) && !(ctrl & PCI_MSIX_CTRL_FMASK);
}

static bool pba_test(const struct pci_vdev *dev, int vec)
{
	return (dev->msix.pba[vec / 64] >> (vec % 64)) & 1;
}

static void pba_set(struct pci_vdev *dev, int vec)
{
	dev->msix.pba[vec / 64] |= UINT64_C(1) << (vec % 64);
}

static void pba_clear(struct pci_vdev *dev, int vec)
{
	dev->msix.pba[vec / 64] &= ~(UINT64_C(1) << (vec % 64));
}

/* Hand the message of `vec` to the host, counting the outcome. */
static int msix_deliver(struct pci_vdev *dev, int vec)
{
	const struct vdev_msix_entry *e = &dev->msix.table[vec];
	int rc;

	if (vdev_unlikely(dev->trace != NULL))
		vdev_trace_irq_msi(dev->trace, e->addr, e->data);
	rc = vdev_ctx_msi_send(dev->ctx, dev, e->addr, e->data);

	if (rc < 0) {
		dev->stats.irq_failed++;
		vdev_pci_log(dev, VDEV_LOG_WARN, "MSI-X vector %d: host refused message (%d)",
			     vec, rc);
		return rc;
	}
	dev->stats.msix_sent++;
	return 0;
}

/* Send `vec` if it is pending and nothing masks it; the bit is cleared first, so a
 * message is never delivered twice even when the host refuses it. */
static void msix_flush_one(struct pci_vdev *dev, int vec)
{
	if (!pba_test(dev, vec) || !msix_function_open(dev) ||
	    (dev->msix.table[vec].ctrl & MSIX_CTRL_MASKED))
		return;
	pba_clear(dev, vec);
	msix_deliver(dev, vec);
}

static void msix_flush_all(struct pci_vdev *dev)
{
	int vec;

	for (vec = 0; vec < dev->msix.nvec; vec++)
		msix_flush_one(dev, vec);
}

int vdev_pci_msix_send(struct pci_vdev *dev, uint16_t vector)
{
	if (dev == NULL)
		return -EINVAL;
	if (!vdev_pci_msix_enabled(dev) || vector >= dev->msix.nvec) {
		dev->stats.irq_failed++;
		vdev_pci_log(dev, VDEV_LOG_DEBUG, "MSI-X vector %u not sent: %s", vector,
			     vdev_pci_msix_enabled(dev) ? "no such vector" : "MSI-X is off");
		return -EINVAL;
	}
	if (!msix_function_open(dev) || (dev->msix.table[vector].ctrl & MSIX_CTRL_MASKED)) {
		pba_set(dev, vector);
		dev->stats.msix_pended++;
		return 0;
	}
	return msix_deliver(dev, vector);
}

void vdev_pci_msix_cfgwrite(struct pci_vdev *dev, int coff, int bytes, uint32_t val)
{
	bool was_open, now_open;
	uint32_t wmask = (uint32_t)(PCI_MSIX_CTRL_ENABLE | PCI_MSIX_CTRL_FMASK) << 16;

	/* Only message control (the high half of the first dword) has writable bits. */
	if ((coff & ~3) != dev->msix.cap)
		return;
	was_open = msix_function_open(dev);
	pci_cfg_update(dev, coff, bytes, val, wmask);
	now_open = msix_function_open(dev);
	if (now_open && !was_open)
		msix_flush_all(dev);
}

void vdev_pci_msix_free(struct pci_vdev *dev)
{
	free(dev->msix.table);
	free(dev->msix.pba);
	dev->msix.table = NULL;
	dev->msix.pba = NULL;
}

/* ---- initialisation ---- */

static uint64_t round_pow2(uint64_t v)
{
	uint64_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

/* Use an existing memory BAR that is large enough, or check one can be made. */
static int msix_bar_check(const struct pci_vdev *dev, int bar, uint64_t need, bool *alloc)
{
	const struct vdev_pci_bar *b = &dev->bar[bar];

	if (b->upper_half)
		return -EBUSY;
	if (b->type == VDEV_PCI_BAR_NONE) {
		*alloc = true;
		return 0;
	}
	if (b->type == VDEV_PCI_BAR_IO || b->size < need)
		return -EBUSY;
	*alloc = false;
	return 0;
}

static int msix_alloc_state(struct pci_vdev *dev, int nvec)
{
	int vec;

	dev->msix.table = calloc((size_t)nvec, sizeof(*dev->msix.table));
	dev->msix.pba = calloc((size_t)(nvec + 63) / 64, sizeof(*dev->msix.pba));
	if (dev->msix.table == NULL || dev->msix.pba == NULL) {
		vdev_pci_msix_free(dev);
		return -ENOMEM;
	}
	for (vec = 0; vec < nvec; vec++)
		dev->msix.table[vec].ctrl = MSIX_CTRL_MASKED; /* reset state per the spec */
	return 0;
}

static int msix_add_cap(struct pci_vdev *dev, int bar, int nvec)
{
	uint8_t cap[PCI_MSIX_CAP_LEN] = { PCIY_MSIX, 0 };

	vdev_st16(&cap[2], (uint16_t)(nvec - 1));
	vdev_st32(&cap[4], dev->msix.table_off | (uint32_t)bar);
	vdev_st32(&cap[8], dev->msix.pba_off | (uint32_t)bar);
	return vdev_pci_add_cap(dev, cap, sizeof(cap));
}

int vdev_pci_msix_init(struct pci_vdev *dev, int bar, int nvec)
{
	uint32_t table_len, pba_off, need;
	bool alloc = false;
	int rc;

	if (dev == NULL || bar < 0 || bar >= VDEV_PCI_NUM_BARS || nvec < 1 ||
	    nvec > VDEV_PCI_MSIX_MAX_VECTORS)
		return -EINVAL;
	if (dev->msix.cap != 0)
		return -EBUSY;
	table_len = (uint32_t)nvec * VDEV_PCI_MSIX_ENTRY_SIZE;
	pba_off = table_len <= MSIX_PBA_SMALL_OFF ? MSIX_PBA_SMALL_OFF : (table_len + 7) & ~7u;
	need = pba_off + (uint32_t)(nvec + 63) / 64 * 8;
	rc = msix_bar_check(dev, bar, need, &alloc);
	if (rc < 0)
		return rc;
	rc = msix_alloc_state(dev, nvec);
	if (rc < 0)
		return rc;
	dev->msix.table_off = 0;
	dev->msix.pba_off = pba_off;
	rc = msix_add_cap(dev, bar, nvec);
	if (rc < 0) {
		vdev_pci_msix_free(dev);
		return rc;
	}
	dev->msix.cap = rc;
	dev->msix.bar = bar;
	dev->msix.nvec = nvec;
	/* Checked above, so this cannot fail; the capability is already in place. */
	if (alloc)
		vdev_pci_alloc_bar(dev, bar, VDEV_PCI_BAR_MEM32,
				   round_pow2(need < MSIX_MIN_BAR ? MSIX_MIN_BAR : need));
	return 0;
}

/* ---- BAR accesses ---- */

static bool msix_width_ok(uint64_t offset, int size)
{
	return (size == 4 || size == 8) && (offset & (uint64_t)(size - 1)) == 0;
}

static void msix_refuse(struct pci_vdev *dev, const char *what, uint64_t offset, int size,
			bool write, uint64_t *val)
{
	if (!write)
		*val = 0;
	dev->stats.bad_accesses++;
	vdev_pci_log(dev, VDEV_LOG_WARN, "refused MSI-X %s %s at BAR %d + 0x%llx, %d bytes",
		     what, write ? "write" : "read", dev->msix.bar, (unsigned long long)offset,
		     size);
}

static uint32_t entry_read32(const struct vdev_msix_entry *e, unsigned field)
{
	switch (field) {
	case MSIX_ENTRY_ADDR_LO: return (uint32_t)e->addr;
	case MSIX_ENTRY_ADDR_HI: return (uint32_t)(e->addr >> 32);
	case MSIX_ENTRY_DATA: return e->data;
	default: return e->ctrl;
	}
}

/* Vector control: only the mask bit exists; unmasking releases a pending message. */
static void entry_write_ctrl(struct pci_vdev *dev, int vec, uint32_t v)
{
	struct vdev_msix_entry *e = &dev->msix.table[vec];
	bool was_masked = e->ctrl & MSIX_CTRL_MASKED;

	e->ctrl = v & MSIX_CTRL_MASKED;
	if (was_masked && !(e->ctrl & MSIX_CTRL_MASKED))
		msix_flush_one(dev, vec);
}

static void entry_write32(struct pci_vdev *dev, int vec, unsigned field, uint32_t v)
{
	struct vdev_msix_entry *e = &dev->msix.table[vec];

	switch (field) {
	case MSIX_ENTRY_ADDR_LO:
		e->addr = (e->addr & ~UINT64_C(0xffffffff)) | v;
		break;
	case MSIX_ENTRY_ADDR_HI:
		e->addr = (e->addr & UINT64_C(0xffffffff)) | ((uint64_t)v << 32);
		break;
	case MSIX_ENTRY_DATA:
		e->data = v;
		break;
	default:
		entry_write_ctrl(dev, vec, v);
		break;
	}
}

static void msix_table_access(struct pci_vdev *dev, uint64_t off, int size, bool write,
			      uint64_t *val)
{
	int vec = (int)(off / VDEV_PCI_MSIX_ENTRY_SIZE);
	unsigned field = (unsigned)(off % VDEV_PCI_MSIX_ENTRY_SIZE);
	const struct vdev_msix_entry *e = &dev->msix.table[vec];

	if (!write) {
		*val = entry_read32(e, field);
		if (size == 8)
			*val |= (uint64_t)entry_read32(e, field + 4) << 32;
		return;
	}
	/* An 8-byte write is two dword writes; data before control keeps the order a
	 * driver expects when it unmasks with the same store. */
	entry_write32(dev, vec, field, (uint32_t)*val);
	if (size == 8)
		entry_write32(dev, vec, field + 4, (uint32_t)(*val >> 32));
}

static void msix_pba_read(const struct pci_vdev *dev, uint64_t off, int size, uint64_t *val)
{
	uint64_t word = dev->msix.pba[off / 8];

	*val = size == 8 ? word : (uint32_t)(word >> ((off & 4) * 8));
}

int vdev_pci_msix_bar_access(struct pci_vdev *dev, int bar, uint64_t offset, int size,
			     bool write, uint64_t *val)
{
	uint64_t table_len, pba_len;

	if (dev == NULL || val == NULL || dev->msix.cap == 0 || bar != dev->msix.bar)
		return 0;
	table_len = (uint64_t)dev->msix.nvec * VDEV_PCI_MSIX_ENTRY_SIZE;
	pba_len = (uint64_t)(dev->msix.nvec + 63) / 64 * 8;
	if (offset >= dev->msix.table_off && offset - dev->msix.table_off < table_len) {
		if (!msix_width_ok(offset, size))
			msix_refuse(dev, "table", offset, size, write, val);
		else
			msix_table_access(dev, offset - dev->msix.table_off, size, write, val);
		return 1;
	}
	if (offset >= dev->msix.pba_off && offset - dev->msix.pba_off < pba_len) {
		if (write || !msix_width_ok(offset, size))
			msix_refuse(dev, "PBA", offset, size, write, val);
		else
			msix_pba_read(dev, offset - dev->msix.pba_off, size, val);
		return 1;
	}
	return 0;
}
