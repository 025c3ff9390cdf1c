/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private state of the driver peer (drv_pci.c, drv_virtio.c, drv_queue.c, drv_regs.c,
 * drv_vhost_user.c). The driver reaches its device only through the public register
 * entry points; everything here is the driver's own bookkeeping, which it never takes
 * from guest memory.
 */
#ifndef VDEV_SRC_DRIVER_DRV_INTERNAL_H
#define VDEV_SRC_DRIVER_DRV_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "vdev/driver.h"
#include "vdev/pci.h"
#include "vdev/virtio.h"

/* Byte offsets inside a virtio vendor capability (struct virtio_pci_cap). */
#define VCAP_CFG_TYPE 3
#define VCAP_BAR 4
#define VCAP_OFFSET 8
#define VCAP_LENGTH 12
#define VCAP_NOTIFY_MULT 16
#define VCAP_CFG_DATA 16

/* MSI-X capability fields. */
#define MSIX_CTRL 2
#define MSIX_TABLE 4
#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_CTRL_MASK 0x4000
#define MSIX_ENTRY_SIZE 16

/* Regions are indexed by enum vdev_drv_region (1..5); slot 0 stays unused. */
#define VDRV_NREGIONS 6

/* Where one register block lives: a BAR and an offset inside it. */
struct vdrv_region {
	int bar;      /* -1 when the function lacks this block */
	uint64_t off; /* start of the block inside the BAR */
	uint32_t len;
};

/* What the driver programmed into one BAR. */
struct vdrv_bar {
	enum vdev_pci_bar_type type;
	uint64_t size;
	uint64_t addr;
};

/*
 * Per-descriptor bookkeeping, indexed by descriptor number. For a head in flight it
 * also records the chain, so completions never depend on what the device left in
 * the descriptor table.
 */
struct vdrv_slot {
	void *token;      /* handed back by vdev_drv_dequeue() */
	uint8_t *ind_ptr; /* this head's indirect table (host view), reused per request */
	uint64_t ind_gpa;
	uint32_t ind_cap; /* entries the table holds (0: none allocated yet) */
	uint16_t next;    /* free list / chain link, the driver's own copy */
	uint16_t tail;    /* last descriptor of the chain headed here */
	uint16_t ndesc;   /* ring descriptors of the chain headed here; 0 when not a head */
};

struct vdrv_queue {
	bool ready;
	bool event_idx; /* EVENT_IDX negotiated when the queue was set up */
	bool irq_off;   /* the driver asked for no interrupts (shadow of the avail flag) */
	uint16_t size;
	uint16_t mask;
	uint16_t free_head;
	uint16_t nfree;
	uint16_t avail_idx;    /* next avail index to publish (shadow of avail->idx) */
	uint16_t notified_idx; /* avail index at the previous vdev_drv_notify() */
	uint16_t last_used;    /* next used entry to consume */
	uint64_t bad_used;     /* used entries naming no chain in flight (device bug) */

	/* Kick target: a BAR write of the queue index, or (vhost-user front end) a
	 * write to this eventfd when it is >= 0. */
	int kick_fd;
	int notify_bar;
	uint64_t notify_off;

	/* Ring memory in sim RAM, kept across resets and reused when large enough. */
	uint64_t mem_gpa;
	uint64_t mem_len;
	uint64_t desc_gpa, avail_gpa, used_gpa;

	/* Host views of the rings (all little-endian, naturally aligned). */
	uint8_t *desc;
	uint16_t *avail_flags;
	uint16_t *avail_idx_p;
	uint16_t *avail_ring;
	uint16_t *used_event;
	uint16_t *used_flags;
	uint16_t *used_idx_p;
	uint8_t *used_ring;
	uint16_t *avail_event;

	struct vdrv_slot *slots; /* `nslots` entries, at least `size` */
	uint32_t nslots;
};

struct vdev_drv {
	struct vdev_sim *sim;
	struct pci_vdev *dev;
	struct vmctx *ctx;
	enum vdev_drv_access access;
	bool use_msix;
	bool msix_on; /* the driver enabled MSI-X at open */
	uint64_t mmio_base;
	uint16_t io_base;

	struct vdrv_bar bar[VDEV_PCI_NUM_BARS];
	struct vdrv_region region[VDRV_NREGIONS];
	uint32_t notify_mult;
	int cfgacc_coff; /* the cfg-access capability, 0: none */
	int msix_cap;    /* 0: none */
	int msi_cap;     /* 0: none */
	int msix_nvec;
	int msix_table_bar;
	uint32_t msix_table_off;

	uint64_t features; /* negotiated */

	struct vdrv_queue *queues;
	uint32_t nqueues;
};

/* ---- drv_regs.c ---- */

/* A BAR access through the chosen method (direct, or the cfg-access window). */
uint64_t vdrv_bar_read(struct vdev_drv *drv, int bar, uint64_t off, int width);
void vdrv_bar_write(struct vdev_drv *drv, int bar, uint64_t off, int width, uint64_t val);
/* Region-relative accesses; an absent region reads 0 and ignores writes. */
uint64_t vdrv_rd(struct vdev_drv *drv, enum vdev_drv_region r, uint64_t off, int width);
void vdrv_wr(struct vdev_drv *drv, enum vdev_drv_region r, uint64_t off, int width,
	     uint64_t val);
/* Config space; a refused read yields all ones. */
uint32_t vdrv_cfg_read(struct vdev_drv *drv, int coff, int width);
void vdrv_cfg_write(struct vdev_drv *drv, int coff, int width, uint32_t val);
/* True while the function's MSI-X enable bit is set (read live). */
bool vdrv_msix_live(struct vdev_drv *drv);

/* ---- drv_virtio.c ---- */

/* The driver speaks the legacy register block. */
static inline bool vdrv_is_legacy(const struct vdev_drv *drv)
{
	return drv->access == VDEV_DRV_LEGACY;
}

/* ---- drv_queue.c ---- */

/* A device reset happened: queues are gone, ring memory is kept for reuse. */
void vdrv_queues_forget(struct vdev_drv *drv);
/* Free the driver's host-side queue state (close). */
void vdrv_queues_free(struct vdev_drv *drv);
/*
 * Allocate and zero queue q's rings in sim RAM (reused when large enough) and reset
 * its bookkeeping for `size` entries, without telling any device: for transports
 * that program the device themselves (drv_vhost_user.c). The queue is left not
 * ready, kicking nothing. Returns it, or NULL with *rc set.
 */
struct vdrv_queue *vdrv_queue_prepare(struct vdev_drv *drv, uint16_t q, uint16_t size, int *rc);

#endif
