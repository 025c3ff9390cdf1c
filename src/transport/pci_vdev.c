/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The generic PCI function: a type-0 configuration space, six BARs and the capability
 * list. `cfg[]` always holds exactly what the guest reads, so reads are plain loads and
 * every write path keeps it in step with the BAR and interrupt state it mirrors.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/vmctx.h"
#include "trace/trace_hooks.h"
#include "transport/pci_caps.h"
#include "transport/pci_internal.h"
#include "util/common.h"

#define PCI_CAP_START 0x40
#define PCI_CMD_WMASK (PCIM_CMD_PORTEN | PCIM_CMD_MEMEN | PCIM_CMD_BUSMASTEREN | PCIM_CMD_INTxDIS)

/* Type bits a BAR's low dword carries next to the address. */
#define PCI_BAR_IO_BIT 0x1
#define PCI_BAR_MEM64_BITS 0x4

/* Largest BAR each type can describe: the address must keep at least one bit. */
#define PCI_BAR_IO_MAX (UINT64_C(1) << 16)
#define PCI_BAR_MEM32_MAX (UINT64_C(1) << 31)
#define PCI_BAR_MEM64_MAX (UINT64_C(1) << 63)

VDEV_EXPORT int vdev_pci_create(struct vmctx *ctx, const char *name, struct pci_vdev **out)
{
	struct pci_vdev *dev;

	if (out == NULL)
		return -EINVAL;
	*out = NULL;
	if (ctx == NULL)
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (dev == NULL)
		return -ENOMEM;
	dev->ctx = ctx;
	if (name != NULL) {
		strncpy(dev->name, name, sizeof(dev->name) - 1);
		dev->name[sizeof(dev->name) - 1] = '\0';
	}
	dev->cap_end = PCI_CAP_START;
	dev->cfg[PCIR_HDRTYPE] = 0;
	dev->cfg[PCIR_INTPIN] = 1; /* INTA: the only pin a single-function device needs */
	*out = dev;
	return 0;
}

VDEV_EXPORT void vdev_pci_destroy(struct pci_vdev *dev)
{
	if (dev == NULL)
		return;
	vdev_pci_msix_free(dev);
	free(dev);
}

VDEV_EXPORT struct vmctx *vdev_pci_vmctx(const struct pci_vdev *dev)
{
	return dev ? dev->ctx : NULL;
}

VDEV_EXPORT const char *vdev_pci_name(const struct pci_vdev *dev)
{
	return dev ? dev->name : NULL;
}

void vdev_pci_set_hooks(struct pci_vdev *dev, const struct pci_vdev_hooks *hooks, void *arg)
{
	if (dev == NULL)
		return;
	dev->hooks = hooks;
	dev->arg = arg;
}

void vdev_pci_vlog(const struct pci_vdev *dev, enum vdev_log_level level, const char *fmt,
		   va_list ap)
{
	if (dev == NULL || fmt == NULL)
		return;
	vdev_ctx_vlog(dev->ctx, level, dev->name, fmt, ap);
}

void vdev_pci_log(const struct pci_vdev *dev, enum vdev_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdev_pci_vlog(dev, level, fmt, ap);
	va_end(ap);
}

/* ---- BARs ---- */

/* Rewrite the guest-visible register(s) of BAR `idx` (the low index of a MEM64). */
static void bar_sync(struct pci_vdev *dev, int idx)
{
	const struct vdev_pci_bar *b = &dev->bar[idx];
	uint32_t lo = (uint32_t)b->addr;

	switch (b->type) {
	case VDEV_PCI_BAR_IO:
		lo |= PCI_BAR_IO_BIT;
		break;
	case VDEV_PCI_BAR_MEM64:
		lo |= PCI_BAR_MEM64_BITS;
		vdev_st32(&dev->cfg[PCIR_BAR(idx + 1)], (uint32_t)(b->addr >> 32));
		break;
	default:
		break;
	}
	vdev_st32(&dev->cfg[PCIR_BAR(idx)], b->type == VDEV_PCI_BAR_NONE ? 0 : lo);
}

static bool bar_size_ok(enum vdev_pci_bar_type type, uint64_t size)
{
	if (!vdev_is_pow2(size))
		return false;
	switch (type) {
	case VDEV_PCI_BAR_IO:
		return size >= 4 && size <= PCI_BAR_IO_MAX;
	case VDEV_PCI_BAR_MEM32:
		return size >= 16 && size <= PCI_BAR_MEM32_MAX;
	case VDEV_PCI_BAR_MEM64:
		return size >= 16 && size <= PCI_BAR_MEM64_MAX;
	default:
		return false;
	}
}

static bool bar_taken(const struct pci_vdev *dev, int idx)
{
	return dev->bar[idx].type != VDEV_PCI_BAR_NONE || dev->bar[idx].upper_half;
}

int vdev_pci_alloc_bar(struct pci_vdev *dev, int idx, enum vdev_pci_bar_type type,
		       uint64_t size)
{
	int last = type == VDEV_PCI_BAR_MEM64 ? idx + 1 : idx;

	if (dev == NULL || idx < 0 || last >= VDEV_PCI_NUM_BARS || !bar_size_ok(type, size))
		return -EINVAL;
	if (bar_taken(dev, idx) || bar_taken(dev, last))
		return -EBUSY;
	dev->bar[idx].type = type;
	dev->bar[idx].size = size;
	dev->bar[idx].addr = 0;
	if (last != idx)
		dev->bar[last].upper_half = true;
	bar_sync(dev, idx);
	return 0;
}

/*
 * A guest write of the full dword `v` to BAR register `idx`. Addresses keep only the
 * bits above the size, which is also what makes the all-ones sizing protocol work:
 * the guest reads back the size mask with the type bits.
 */
static void bar_write(struct pci_vdev *dev, int idx, uint32_t v)
{
	struct vdev_pci_bar *b = &dev->bar[idx];

	if (b->upper_half) {
		struct vdev_pci_bar *lo = &dev->bar[idx - 1];

		lo->addr = (((uint64_t)v << 32) | (lo->addr & 0xffffffffu)) & ~(lo->size - 1);
		bar_sync(dev, idx - 1);
		return;
	}
	switch (b->type) {
	case VDEV_PCI_BAR_IO:
	case VDEV_PCI_BAR_MEM32:
		b->addr = (uint64_t)v & ~(b->size - 1) & 0xffffffffu;
		break;
	case VDEV_PCI_BAR_MEM64:
		b->addr = ((b->addr & ~UINT64_C(0xffffffff)) | v) & ~(b->size - 1);
		break;
	default:
		return; /* unused BARs read 0 whatever is written */
	}
	bar_sync(dev, idx);
}

static bool bar_decodes(const struct pci_vdev *dev, const struct vdev_pci_bar *b)
{
	uint16_t cmd = vdev_ld16(&dev->cfg[PCIR_COMMAND]);

	if (b->type == VDEV_PCI_BAR_IO)
		return (cmd & PCIM_CMD_PORTEN) != 0;
	if (b->type == VDEV_PCI_BAR_MEM32 || b->type == VDEV_PCI_BAR_MEM64)
		return (cmd & PCIM_CMD_MEMEN) != 0;
	return false;
}

VDEV_EXPORT int vdev_pci_bar_info(const struct pci_vdev *dev, int idx,
				  struct vdev_pci_bar_info *out)
{
	const struct vdev_pci_bar *b;

	if (dev == NULL || out == NULL || idx < 0 || idx >= VDEV_PCI_NUM_BARS)
		return -EINVAL;
	b = &dev->bar[idx];
	/* The upper half of a MEM64 BAR is not a BAR of its own: it reads as unused. */
	out->type = b->type;
	out->size = b->type == VDEV_PCI_BAR_NONE ? 0 : b->size;
	out->addr = b->type == VDEV_PCI_BAR_NONE ? 0 : b->addr;
	out->decode = bar_decodes(dev, b);
	return 0;
}

VDEV_EXPORT int vdev_pci_bar_lookup(const struct pci_vdev *dev, bool io, uint64_t addr, int size,
				    int *baridx, uint64_t *offset)
{
	int i;

	if (dev == NULL || size <= 0 || addr + (uint64_t)size < addr)
		return -EINVAL;
	for (i = 0; i < VDEV_PCI_NUM_BARS; i++) {
		const struct vdev_pci_bar *b = &dev->bar[i];

		if ((b->type == VDEV_PCI_BAR_IO) != io || !bar_decodes(dev, b))
			continue;
		/* Address 0 means "not programmed yet", not a BAR at the bottom of space. */
		if (b->addr == 0 || addr < b->addr)
			continue;
		if (addr - b->addr > b->size || (uint64_t)size > b->size - (addr - b->addr))
			continue;
		if (baridx != NULL)
			*baridx = i;
		if (offset != NULL)
			*offset = addr - b->addr;
		return 0;
	}
	return -ENOENT;
}

/* ---- capabilities ---- */

/* cap_end is a byte: 256 wraps to 0, and create() starts it at 0x40, so 0 means full. */
static int cap_free_offset(const struct pci_vdev *dev)
{
	return dev->cap_end == 0 ? VDEV_PCI_CFG_SIZE : dev->cap_end;
}

int vdev_pci_add_cap(struct pci_vdev *dev, const void *data, int len)
{
	int off, end;

	if (dev == NULL || data == NULL || len < 2)
		return -EINVAL;
	off = cap_free_offset(dev);
	if (len > VDEV_PCI_CFG_SIZE - off)
		return -ENOSPC;
	memcpy(&dev->cfg[off], data, (size_t)len);
	dev->cfg[off + 1] = 0;
	if (dev->cap_last != 0)
		dev->cfg[dev->cap_last + 1] = (uint8_t)off;
	else
		dev->cfg[PCIR_CAP_PTR] = (uint8_t)off;
	dev->cfg[PCIR_STATUS] |= PCIM_STATUS_CAPPRESENT;
	dev->cap_last = (uint8_t)off;
	end = (off + len + 3) & ~3;
	dev->cap_end = (uint8_t)(end >= VDEV_PCI_CFG_SIZE ? 0 : end);
	return off;
}

/* ---- raw accessors ---- */

static bool raw_ok(const struct pci_vdev *dev, int off, int width)
{
	return dev != NULL && off >= 0 && off <= VDEV_PCI_CFG_SIZE - width;
}

VDEV_EXPORT void vdev_pci_set_cfgdata8(struct pci_vdev *dev, int off, uint8_t val)
{
	if (raw_ok(dev, off, 1))
		dev->cfg[off] = val;
}

VDEV_EXPORT void vdev_pci_set_cfgdata16(struct pci_vdev *dev, int off, uint16_t val)
{
	if (raw_ok(dev, off, 2))
		vdev_st16(&dev->cfg[off], val);
}

VDEV_EXPORT void vdev_pci_set_cfgdata32(struct pci_vdev *dev, int off, uint32_t val)
{
	if (raw_ok(dev, off, 4))
		vdev_st32(&dev->cfg[off], val);
}

VDEV_EXPORT uint8_t vdev_pci_get_cfgdata8(const struct pci_vdev *dev, int off)
{
	return raw_ok(dev, off, 1) ? dev->cfg[off] : 0;
}

VDEV_EXPORT uint16_t vdev_pci_get_cfgdata16(const struct pci_vdev *dev, int off)
{
	return raw_ok(dev, off, 2) ? vdev_ld16(&dev->cfg[off]) : 0;
}

VDEV_EXPORT uint32_t vdev_pci_get_cfgdata32(const struct pci_vdev *dev, int off)
{
	return raw_ok(dev, off, 4) ? vdev_ld32(&dev->cfg[off]) : 0;
}

/* ---- guest configuration accesses ---- */

static bool cfg_access_ok(int coff, int bytes)
{
	if (bytes != 1 && bytes != 2 && bytes != 4)
		return false;
	return coff >= 0 && coff < VDEV_PCI_CFG_EXT_SIZE && (coff & (bytes - 1)) == 0;
}

static void cfg_refuse(struct pci_vdev *dev, const char *what, int coff, int bytes)
{
	dev->stats.bad_accesses++;
	vdev_pci_log(dev, VDEV_LOG_WARN, "refused config %s at 0x%x, %d bytes", what, coff,
		     bytes);
}

static void cfg_lock(struct pci_vdev *dev)
{
	if (dev->hooks != NULL && dev->hooks->lock != NULL)
		dev->hooks->lock(dev);
}

static void cfg_unlock(struct pci_vdev *dev)
{
	if (dev->hooks != NULL && dev->hooks->unlock != NULL)
		dev->hooks->unlock(dev);
}

static int cfgread_locked(struct pci_vdev *dev, int coff, int bytes, uint32_t *val)
{
	if (!cfg_access_ok(coff, bytes)) {
		*val = 0xffffffffu; /* what a master abort returns */
		cfg_refuse(dev, "read", coff, bytes);
		return -EINVAL;
	}
	if (dev->hooks != NULL && dev->hooks->cfgread != NULL &&
	    dev->hooks->cfgread(dev, coff, bytes, val) == 0)
		return 0;
	if (coff >= VDEV_PCI_CFG_SIZE)
		*val = 0; /* no extended capabilities */
	else
		*val = (uint32_t)vdev_ld_width(&dev->cfg[coff], bytes);
	return 0;
}

VDEV_EXPORT int vdev_pci_cfgread(struct pci_vdev *dev, int coff, int bytes, uint32_t *val)
{
	struct vdev_trace *t;
	int rc;

	if (val == NULL)
		return -EINVAL;
	if (dev == NULL) {
		*val = 0xffffffffu;
		return -EINVAL;
	}
	cfg_lock(dev);
	t = dev->trace;
	if (vdev_unlikely(t != NULL))
		vdev_trace_enter(t);
	rc = cfgread_locked(dev, coff, bytes, val);
	if (vdev_unlikely(t != NULL))
		vdev_trace_leave_cfg(t, false, coff, bytes, *val, rc);
	cfg_unlock(dev);
	return rc;
}

static bool in_cap(int coff, int cap, int len)
{
	return cap != 0 && coff >= cap && coff < cap + len;
}

/* The command register; a change of INTx-disable changes what the host hears. */
static void command_write(struct pci_vdev *dev, int coff, int bytes, uint32_t val)
{
	uint16_t old = vdev_ld16(&dev->cfg[PCIR_COMMAND]);
	uint16_t cur = (uint16_t)pci_cfg_update(dev, coff, bytes, val, PCI_CMD_WMASK);

	if ((old ^ cur) & PCIM_CMD_INTxDIS)
		vdev_pci_intx_refresh(dev);
}

/* Generic emulation of a validated write inside the modelled 256 bytes. */
static void cfg_write_generic(struct pci_vdev *dev, int coff, int bytes, uint32_t val)
{
	int dword = coff & ~3;

	if (dword == PCIR_COMMAND) {
		command_write(dev, coff, bytes, val); /* status (0x06) ignores writes */
	} else if (dword == 0x0c) {
		pci_cfg_update(dev, coff, bytes, val, 0x0000ffffu); /* cache line, latency */
	} else if (dword >= PCIR_BAR(0) && dword <= PCIR_BAR(VDEV_PCI_NUM_BARS - 1)) {
		int idx = (dword - PCIR_BAR(0)) / 4;

		bar_write(dev, idx, pci_cfg_merged(dev, coff, bytes, val));
	} else if (dword == PCIR_INTLINE) {
		pci_cfg_update(dev, coff, bytes, val, 0x000000ffu); /* interrupt line */
	} else if (in_cap(coff, dev->msix.cap, PCI_MSIX_CAP_LEN)) {
		vdev_pci_msix_cfgwrite(dev, coff, bytes, val);
	} else if (in_cap(coff, dev->msi.cap, PCI_MSI_CAP_LEN)) {
		vdev_pci_msi_cfgwrite(dev, coff, bytes, val);
	}
	/* Everything else is read-only: PCI silently drops such writes. */
}

static int cfgwrite_locked(struct pci_vdev *dev, int coff, int bytes, uint32_t val)
{
	if (!cfg_access_ok(coff, bytes)) {
		cfg_refuse(dev, "write", coff, bytes);
		return -EINVAL;
	}
	if (bytes < 4)
		val &= (1u << (bytes * 8)) - 1;
	if (dev->hooks != NULL && dev->hooks->cfgwrite != NULL &&
	    dev->hooks->cfgwrite(dev, coff, bytes, val) == 0)
		return 0;
	if (coff < VDEV_PCI_CFG_SIZE)
		cfg_write_generic(dev, coff, bytes, val);
	return 0;
}

VDEV_EXPORT int vdev_pci_cfgwrite(struct pci_vdev *dev, int coff, int bytes, uint32_t val)
{
	struct vdev_trace *t;
	int rc;

	if (dev == NULL)
		return -EINVAL;
	cfg_lock(dev);
	t = dev->trace;
	if (vdev_unlikely(t != NULL))
		vdev_trace_enter(t);
	rc = cfgwrite_locked(dev, coff, bytes, val);
	if (vdev_unlikely(t != NULL))
		vdev_trace_leave_cfg(t, true, coff, bytes, val, rc);
	cfg_unlock(dev);
	return rc;
}

/* ---- state queries ---- */

VDEV_EXPORT int vdev_pci_intx_level(const struct pci_vdev *dev)
{
	return dev ? dev->intx_out : 0;
}

VDEV_EXPORT void vdev_pci_get_stats(const struct pci_vdev *dev, struct vdev_pci_stats *out)
{
	if (out == NULL)
		return;
	if (dev == NULL) {
		memset(out, 0, sizeof(*out));
		return;
	}
	*out = dev->stats;
}
