/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The driver peer's PCI side: what firmware and a PCI core do before a virtio driver
 * runs (BAR sizing and programming, decoding, the capability walk, MSI-X). Register
 * accesses go through drv_regs.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "driver/drv_internal.h"
#include "util/common.h"
#include "util/config.h"

#define DRV_DEFAULT_MMIO_BASE 0xe0000000ULL
#define DRV_DEFAULT_IO_BASE 0xc000
/* Linux's bound on capability-list hops, so a looping list cannot hang the walk. */
#define DRV_CAP_MAX_HOPS 48
#define DRV_MSI_ADDR 0xfee00000U

/* ---------------- BAR sizing and programming ---------------- */

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Size BAR idx (and its upper half for 64-bit) with the all-ones protocol. Returns how
 * many BAR slots it takes (1 or 2). */
static int size_bar(struct vdev_drv *drv, int idx)
{
	struct vdrv_bar *b = &drv->bar[idx];
	uint32_t lo;
	uint64_t mask;

	vdrv_cfg_write(drv, PCIR_BAR(idx), 4, 0xffffffffU);
	lo = vdrv_cfg_read(drv, PCIR_BAR(idx), 4);
	if (lo == 0 || lo == 0xffffffffU)
		return 1;
	if (lo & 1) {
		/* I/O: a function may decode only 16 address bits, its upper ones then
		 * read 0; count them as set so the size comes out right either way. */
		uint32_t m = lo & ~3U;

		if ((m >> 16) == 0)
			m |= 0xffff0000U;
		b->type = VDEV_PCI_BAR_IO;
		b->size = (uint32_t)(~m + 1);
		return 1;
	}
	mask = (uint64_t)(lo & ~0xfU) | 0xffffffff00000000ULL;
	b->type = VDEV_PCI_BAR_MEM32;
	if (((lo >> 1) & 3) == 2 && idx + 1 < VDEV_PCI_NUM_BARS) {
		uint32_t hi;

		vdrv_cfg_write(drv, PCIR_BAR(idx + 1), 4, 0xffffffffU);
		hi = vdrv_cfg_read(drv, PCIR_BAR(idx + 1), 4);
		mask = (uint64_t)(lo & ~0xfU) | (uint64_t)hi << 32;
		b->type = VDEV_PCI_BAR_MEM64;
	}
	b->size = ~mask + 1;
	return b->type == VDEV_PCI_BAR_MEM64 ? 2 : 1;
}

/* Give BAR idx a naturally aligned address from the right window and program it. */
static void place_bar(struct vdev_drv *drv, int idx, uint64_t *io_next, uint64_t *mem_next)
{
	struct vdrv_bar *b = &drv->bar[idx];
	uint64_t *next = b->type == VDEV_PCI_BAR_IO ? io_next : mem_next;

	if (b->size == 0)
		return;
	b->addr = align_up(*next, b->size);
	*next = b->addr + b->size;
	vdrv_cfg_write(drv, PCIR_BAR(idx), 4, (uint32_t)b->addr);
	if (b->type == VDEV_PCI_BAR_MEM64)
		vdrv_cfg_write(drv, PCIR_BAR(idx + 1), 4, (uint32_t)(b->addr >> 32));
}

static void setup_bars(struct vdev_drv *drv)
{
	uint64_t io_next = drv->io_base, mem_next = drv->mmio_base;

	/* Decoding off while BARs hold sizing patterns, as a PCI core does. */
	vdrv_cfg_write(drv, PCIR_COMMAND, 2, 0);
	for (int i = 0; i < VDEV_PCI_NUM_BARS;) {
		int used = size_bar(drv, i);

		place_bar(drv, i, &io_next, &mem_next);
		i += used;
	}
	vdrv_cfg_write(drv, PCIR_COMMAND, 2,
		       PCIM_CMD_PORTEN | PCIM_CMD_MEMEN | PCIM_CMD_BUSMASTEREN);
}

/* ---------------- capabilities ---------------- */

/*
 * Walk the capability list as Linux does: from the pointer at 0x34, through cap_next,
 * at most DRV_CAP_MAX_HOPS steps, stopping at pointers below 0x40 or an id of 0xff.
 * `visit` returns non-zero to stop; the walk returns that value (0 when it ran out).
 */
static int walk_caps(struct vdev_drv *drv, int (*visit)(struct vdev_drv *, int, uint8_t, void *),
		     void *arg)
{
	int pos, rc;

	if (!(vdrv_cfg_read(drv, PCIR_STATUS, 2) & PCIM_STATUS_CAPPRESENT))
		return 0;
	pos = (int)(vdrv_cfg_read(drv, PCIR_CAP_PTR, 1) & 0xfc);
	for (int hops = 0; hops < DRV_CAP_MAX_HOPS && pos >= 0x40; hops++) {
		uint8_t id = (uint8_t)vdrv_cfg_read(drv, pos, 1);

		if (id == 0xff)
			break;
		rc = visit(drv, pos, id, arg);
		if (rc != 0)
			return rc;
		pos = (int)(vdrv_cfg_read(drv, pos + 1, 1) & 0xfc);
	}
	return 0;
}

static enum vdev_drv_region region_for_type(uint8_t type)
{
	switch (type) {
	case VIRTIO_PCI_CAP_COMMON_CFG: return VDEV_DRV_REGION_COMMON;
	case VIRTIO_PCI_CAP_NOTIFY_CFG: return VDEV_DRV_REGION_NOTIFY;
	case VIRTIO_PCI_CAP_ISR_CFG: return VDEV_DRV_REGION_ISR;
	case VIRTIO_PCI_CAP_DEVICE_CFG: return VDEV_DRV_REGION_DEVICE;
	default: return 0;
	}
}

/* Record one virtio vendor capability: the first of each type, except that a notify
 * capability in a memory BAR wins over one in an I/O BAR. */
static void note_virtio_cap(struct vdev_drv *drv, int pos)
{
	uint8_t type = (uint8_t)vdrv_cfg_read(drv, pos + VCAP_CFG_TYPE, 1);
	uint8_t bar = (uint8_t)vdrv_cfg_read(drv, pos + VCAP_BAR, 1);
	enum vdev_drv_region r = region_for_type(type);
	struct vdrv_region *reg;

	if (type == VIRTIO_PCI_CAP_PCI_CFG) {
		if (drv->cfgacc_coff == 0)
			drv->cfgacc_coff = pos;
		return;
	}
	if (r == 0 || bar >= VDEV_PCI_NUM_BARS || drv->bar[bar].size == 0)
		return;
	reg = &drv->region[r];
	if (reg->bar >= 0) {
		bool have_mem = drv->bar[reg->bar].type != VDEV_PCI_BAR_IO;

		if (r != VDEV_DRV_REGION_NOTIFY || have_mem ||
		    drv->bar[bar].type == VDEV_PCI_BAR_IO)
			return;
	}
	reg->bar = bar;
	reg->off = vdrv_cfg_read(drv, pos + VCAP_OFFSET, 4);
	reg->len = vdrv_cfg_read(drv, pos + VCAP_LENGTH, 4);
	if (r == VDEV_DRV_REGION_NOTIFY)
		drv->notify_mult = vdrv_cfg_read(drv, pos + VCAP_NOTIFY_MULT, 4);
}

static int record_cap(struct vdev_drv *drv, int pos, uint8_t id, void *arg)
{
	(void)arg;
	if (id == PCIY_VENDOR)
		note_virtio_cap(drv, pos);
	else if (id == PCIY_MSIX && drv->msix_cap == 0)
		drv->msix_cap = pos;
	else if (id == PCIY_MSI && drv->msi_cap == 0)
		drv->msi_cap = pos;
	return 0;
}

struct cap_query {
	uint8_t id;
	int cfg_type;
};

static int match_cap(struct vdev_drv *drv, int pos, uint8_t id, void *arg)
{
	const struct cap_query *q = arg;

	if (id != q->id)
		return 0;
	if (id == PCIY_VENDOR && q->cfg_type >= 0 &&
	    vdrv_cfg_read(drv, pos + VCAP_CFG_TYPE, 1) != (uint32_t)q->cfg_type)
		return 0;
	return pos;
}

/* ---------------- MSI-X ---------------- */

static void msix_read_layout(struct vdev_drv *drv)
{
	uint32_t ctrl = vdrv_cfg_read(drv, drv->msix_cap + MSIX_CTRL, 2);
	uint32_t table = vdrv_cfg_read(drv, drv->msix_cap + MSIX_TABLE, 4);

	drv->msix_nvec = (int)(ctrl & 0x7ff) + 1;
	drv->msix_table_bar = (int)(table & 7);
	drv->msix_table_off = table & ~7U;
}

/*
 * Enable MSI-X as a PCI core does: enable with the function masked, point every table
 * entry at the local APIC with data = vector index and unmask it, then unmask the
 * function. The table is reached by plain BAR accesses (it is not a virtio region).
 */
static void msix_enable(struct vdev_drv *drv)
{
	int c = drv->msix_cap + MSIX_CTRL;
	uint32_t ctrl = vdrv_cfg_read(drv, c, 2);

	vdrv_cfg_write(drv, c, 2, ctrl | MSIX_CTRL_ENABLE | MSIX_CTRL_MASK);
	for (int i = 0; i < drv->msix_nvec; i++) {
		uint64_t e = drv->msix_table_off + (uint64_t)i * MSIX_ENTRY_SIZE;
		int bar = drv->msix_table_bar;

		virtio_pci_write(drv->ctx, 0, drv->dev, bar, e + 0, 4, DRV_MSI_ADDR);
		virtio_pci_write(drv->ctx, 0, drv->dev, bar, e + 4, 4, 0);
		virtio_pci_write(drv->ctx, 0, drv->dev, bar, e + 8, 4, (uint32_t)i);
		virtio_pci_write(drv->ctx, 0, drv->dev, bar, e + 12, 4, 0);
	}
	vdrv_cfg_write(drv, c, 2, (ctrl | MSIX_CTRL_ENABLE) & ~MSIX_CTRL_MASK);
	drv->msix_on = true;
}

/* ---------------- open / close ---------------- */

/* Check the access method has what it needs; -ENODEV otherwise. */
static int check_access(struct vdev_drv *drv)
{
	switch (drv->access) {
	case VDEV_DRV_LEGACY:
		return drv->region[VDEV_DRV_REGION_LEGACY].bar == 0 ? 0 : -ENODEV;
	case VDEV_DRV_MODERN_CFGACCESS:
		if (drv->cfgacc_coff == 0)
			return -ENODEV;
		/* fall through */
	case VDEV_DRV_MODERN:
		if (drv->region[VDEV_DRV_REGION_COMMON].bar < 0 ||
		    drv->region[VDEV_DRV_REGION_NOTIFY].bar < 0 ||
		    drv->region[VDEV_DRV_REGION_ISR].bar < 0)
			return -ENODEV;
		return 0;
	default:
		return -EINVAL;
	}
}

static int probe(struct vdev_drv *drv)
{
	int rc;

	if ((vdrv_cfg_read(drv, PCIR_VENDOR, 2) & 0xffff) != VIRTIO_VENDOR)
		return -ENODEV;
	setup_bars(drv);
	for (int r = 0; r < VDRV_NREGIONS; r++)
		drv->region[r].bar = -1;
	if (drv->bar[0].type == VDEV_PCI_BAR_IO) {
		drv->region[VDEV_DRV_REGION_LEGACY].bar = 0;
		drv->region[VDEV_DRV_REGION_LEGACY].len = (uint32_t)drv->bar[0].size;
	}
	walk_caps(drv, record_cap, NULL);
	rc = check_access(drv);
	if (rc < 0)
		return rc;
	if (drv->msix_cap != 0) {
		msix_read_layout(drv);
		if (drv->use_msix)
			msix_enable(drv);
	}
	return vdev_drv_reset(drv);
}

/* The size of struct vdev_drv_config's first version; new fields go after it. */
#define DRV_CONFIG_V1 VDEV_CONFIG_V1_SIZE(struct vdev_drv_config, io_base)

VDEV_EXPORT int vdev_drv_open(struct vdev_sim *sim, struct pci_vdev *dev,
			      const struct vdev_drv_config *given, struct vdev_drv **out)
{
	struct vdev_drv_config local; /* everything below reads this copy only */
	const struct vdev_drv_config *cfg = &local;
	char why[VDEV_CONFIG_WHY_LEN];
	struct vdev_drv *drv;
	int rc;

	if (out == NULL)
		return -EINVAL;
	*out = NULL;
	if (sim == NULL || dev == NULL || given == NULL)
		return -EINVAL;
	/* The driver peer logs nothing of its own: the errno alone tells the caller. */
	rc = vdev_config_take(&local, sizeof(local), given, DRV_CONFIG_V1, "vdev_drv_config",
			      why, sizeof(why));
	if (rc < 0)
		return rc;
	if (cfg->access < VDEV_DRV_LEGACY || cfg->access > VDEV_DRV_MODERN_CFGACCESS)
		return -EINVAL;
	drv = calloc(1, sizeof(*drv));
	if (drv == NULL)
		return -ENOMEM;
	drv->sim = sim;
	drv->dev = dev;
	/* The device may sit on a host that wraps the sim (tests interpose on
	 * translations), so address it through its own handle. */
	drv->ctx = vdev_pci_vmctx(dev);
	drv->access = cfg->access;
	drv->use_msix = cfg->use_msix;
	drv->mmio_base = cfg->mmio_base ? cfg->mmio_base : DRV_DEFAULT_MMIO_BASE;
	drv->io_base = cfg->io_base ? cfg->io_base : DRV_DEFAULT_IO_BASE;
	rc = probe(drv);
	if (rc < 0) {
		vdev_drv_close(drv);
		return rc;
	}
	*out = drv;
	return 0;
}

VDEV_EXPORT void vdev_drv_close(struct vdev_drv *drv)
{
	if (drv == NULL)
		return;
	vdrv_queues_free(drv);
	free(drv);
}

/* ---------------- public raw access ---------------- */

VDEV_EXPORT uint64_t vdev_drv_region_read(struct vdev_drv *drv, enum vdev_drv_region r,
					  uint64_t off, int width)
{
	if (drv == NULL)
		return 0;
	return vdrv_rd(drv, r, off, width);
}

VDEV_EXPORT void vdev_drv_region_write(struct vdev_drv *drv, enum vdev_drv_region r,
				       uint64_t off, int width, uint64_t val)
{
	if (drv != NULL)
		vdrv_wr(drv, r, off, width, val);
}

VDEV_EXPORT uint32_t vdev_drv_pci_read(struct vdev_drv *drv, int coff, int width)
{
	if (drv == NULL)
		return 0xffffffffU;
	return vdrv_cfg_read(drv, coff, width);
}

VDEV_EXPORT void vdev_drv_pci_write(struct vdev_drv *drv, int coff, int width, uint32_t val)
{
	if (drv != NULL)
		vdrv_cfg_write(drv, coff, width, val);
}

VDEV_EXPORT int vdev_drv_find_cap(struct vdev_drv *drv, uint8_t cap_id, int cfg_type)
{
	struct cap_query q = {.id = cap_id, .cfg_type = cfg_type};

	if (drv == NULL)
		return 0;
	return walk_caps(drv, match_cap, &q);
}

VDEV_EXPORT uint64_t vdev_drv_bar_addr(const struct vdev_drv *drv, int idx)
{
	if (drv == NULL || idx < 0 || idx >= VDEV_PCI_NUM_BARS)
		return 0;
	return drv->bar[idx].addr;
}
