/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The driver peer: a guest-side virtio driver that lives in the same process as the
 * device, shaped like Phoenix-RTOS libvirtio. It reaches a device only through the
 * public register entry points (vdev_pci_cfgread/cfgwrite, virtio_pci_read/write),
 * and keeps its rings and buffers in a simulated guest RAM that it owns. Tests,
 * fuzzers, benchmarks and bindings share it.
 *
 * Two objects:
 *  - struct vdev_sim: a simulated machine. Guest RAM (with optional holes and a
 *    fragmentation size that makes every translation short), a bump allocator, an
 *    interrupt recorder, and the vdev_host_ops/vmctx that devices are created on.
 *  - struct vdev_drv: one driver bound to one PCI function, speaking the legacy
 *    interface, the modern one through BARs, or the modern one through the PCI
 *    cfg-access capability alone.
 */
#ifndef VDEV_DRIVER_H
#define VDEV_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vdev/host.h"
#include "vdev/pci.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------- the simulated machine ---------------- */

struct vdev_sim;

/*
 * Zero-initialise, set .size = sizeof(struct vdev_sim_config), then set what you need.
 * The size lets the struct grow: fields are only ever appended; a caller's shorter
 * struct (an older header) reads as zero past its end, a longer one is refused (-E2BIG)
 * only when it sets what this library does not know; a size below the first version's is
 * -EINVAL.
 */
struct vdev_sim_config {
	uint32_t size; /* required: sizeof(struct vdev_sim_config) */
	uint64_t ram_base;  /* guest-physical address of RAM (default 0) */
	uint64_t ram_size;  /* bytes of RAM (required, at most 1 GiB) */
	uint64_t frag;      /* 0, or: no translation is contiguous beyond a multiple
			       of this many bytes (tests fragment handling) */
	bool shared;        /* RAM in a memfd (MAP_SHARED), so another process can map
			       it: what a vhost-user front end hands its back end */
};

/* Returns 0, -EINVAL on a bad config, -ENOMEM. */
int vdev_sim_create(const struct vdev_sim_config *cfg, struct vdev_sim **out);
void vdev_sim_destroy(struct vdev_sim *sim);

/* The host handle devices are created on; its log goes to the sim's log hook. */
struct vmctx *vdev_sim_vmctx(struct vdev_sim *sim);

/* Route library log lines (default: kept in a small ring, see vdev_sim_last_log()). */
void vdev_sim_set_log(struct vdev_sim *sim,
		      void (*fn)(void *arg, enum vdev_log_level, const char *dev, const char *msg),
		      void *arg);
/* The newest log line (or "" when none), and how many lines were logged in all. */
const char *vdev_sim_last_log(const struct vdev_sim *sim);
uint64_t vdev_sim_log_count(const struct vdev_sim *sim);

/* Where RAM is: its guest-physical base and size. */
void vdev_sim_ram_range(const struct vdev_sim *sim, uint64_t *base, uint64_t *size);
/* With `shared`: the memfd holding RAM (owned by the sim), else -1. */
int vdev_sim_memfd(const struct vdev_sim *sim);

/* Allocate `size` bytes of guest RAM aligned to `align` (power of two); 0 on failure. */
uint64_t vdev_sim_alloc(struct vdev_sim *sim, uint64_t size, uint64_t align);
/* Give back everything allocated after `mark` (a value vdev_sim_alloc_mark() returned). */
uint64_t vdev_sim_alloc_mark(const struct vdev_sim *sim);
void vdev_sim_alloc_reset(struct vdev_sim *sim, uint64_t mark);

/* Host pointer for [gpa, gpa+len) when it is all RAM, else NULL (for the test side). */
void *vdev_sim_ptr(struct vdev_sim *sim, uint64_t gpa, uint64_t len);

/* Make [gpa, gpa+len) of RAM fail translation (a hole), or RAM again. */
int vdev_sim_set_hole(struct vdev_sim *sim, uint64_t gpa, uint64_t len, bool hole);

/* Interrupts the sim received. */
struct vdev_sim_irqs {
	uint64_t msi_count;        /* MSI/MSI-X messages in all */
	uint64_t last_msi_addr;
	uint32_t last_msi_data;
	int intx_level;            /* current INTx level */
	uint64_t intx_raises;      /* low-to-high transitions seen */
	uint64_t translations;     /* translate callbacks served */
	uint64_t translate_faults; /* translations refused (holes, outside RAM) */
};
void vdev_sim_get_irqs(const struct vdev_sim *sim, struct vdev_sim_irqs *out);
/* Messages received with this MSI data value (vector numbers are data values here). */
uint64_t vdev_sim_msi_count(const struct vdev_sim *sim, uint32_t data);

/* ---------------- the driver ---------------- */

struct vdev_drv;

enum vdev_drv_access {
	VDEV_DRV_LEGACY = 1,         /* legacy I/O BAR */
	VDEV_DRV_MODERN = 2,         /* modern capabilities through the memory BAR */
	VDEV_DRV_MODERN_CFGACCESS = 3, /* modern, every BAR access through the PCI
					  cfg-access capability window */
};

/* Which region of the device an access targets (modern: a capability; legacy: the
 * whole header with VDEV_DRV_REGION_LEGACY). */
enum vdev_drv_region {
	VDEV_DRV_REGION_COMMON = 1,
	VDEV_DRV_REGION_NOTIFY = 2,
	VDEV_DRV_REGION_ISR = 3,
	VDEV_DRV_REGION_DEVICE = 4,
	VDEV_DRV_REGION_LEGACY = 5,
};

/*
 * Zero-initialise, set .size = sizeof(struct vdev_drv_config), then set what you need.
 * The size lets the struct grow: fields are only ever appended; a caller's shorter
 * struct (an older header) reads as zero past its end, a longer one is refused (-E2BIG)
 * only when it sets what this library does not know; a size below the first version's is
 * -EINVAL.
 */
struct vdev_drv_config {
	uint32_t size; /* required: sizeof(struct vdev_drv_config) */
	enum vdev_drv_access access; /* required */
	bool use_msix;              /* enable MSI-X when the function has it */
	uint64_t mmio_base;         /* where to program memory BARs (default 0xe0000000) */
	uint16_t io_base;           /* where to program I/O BARs (default 0xc000) */
};

/*
 * Find and initialise the function as firmware and a PCI core would: check the
 * vendor id, size and program the BARs, enable decoding and bus mastering, walk the
 * capability list (as Linux does) to find the virtio, MSI-X and cfg-access
 * capabilities, optionally enable MSI-X, and reset the device.
 * Returns 0, -ENODEV when the function is not virtio or lacks what `access` needs,
 * -EINVAL, -ENOMEM.
 */
int vdev_drv_open(struct vdev_sim *sim, struct pci_vdev *dev, const struct vdev_drv_config *cfg,
		  struct vdev_drv **out);
void vdev_drv_close(struct vdev_drv *drv);

/* Raw access to a region through the chosen access method (what the tests poke). */
uint64_t vdev_drv_region_read(struct vdev_drv *drv, enum vdev_drv_region r, uint64_t off,
			      int width);
void vdev_drv_region_write(struct vdev_drv *drv, enum vdev_drv_region r, uint64_t off,
			   int width, uint64_t val);

/* Config-space access of the function (the PCI core's view). */
uint32_t vdev_drv_pci_read(struct vdev_drv *drv, int coff, int width);
void vdev_drv_pci_write(struct vdev_drv *drv, int coff, int width, uint32_t val);
/* Offset of the first capability of `cap_id` (and, for vendor caps, cfg_type), or 0. */
int vdev_drv_find_cap(struct vdev_drv *drv, uint8_t cap_id, int cfg_type);
/* Where the driver programmed BAR `idx` (0 when unused). */
uint64_t vdev_drv_bar_addr(const struct vdev_drv *drv, int idx);

/* Phoenix-RTOS-shaped calls. */
uint64_t vdev_drv_read_features(struct vdev_drv *drv);
void vdev_drv_write_features(struct vdev_drv *drv, uint64_t features);
uint8_t vdev_drv_read_status(struct vdev_drv *drv);
void vdev_drv_write_status(struct vdev_drv *drv, uint8_t status);
uint8_t vdev_drv_read_isr(struct vdev_drv *drv);
uint8_t vdev_drv_read_config8(struct vdev_drv *drv, uint32_t off);
uint16_t vdev_drv_read_config16(struct vdev_drv *drv, uint32_t off);
uint32_t vdev_drv_read_config32(struct vdev_drv *drv, uint32_t off);
uint64_t vdev_drv_read_config64(struct vdev_drv *drv, uint32_t off);
void vdev_drv_write_config8(struct vdev_drv *drv, uint32_t off, uint8_t val);
void vdev_drv_write_config16(struct vdev_drv *drv, uint32_t off, uint16_t val);
void vdev_drv_write_config32(struct vdev_drv *drv, uint32_t off, uint32_t val);
void vdev_drv_write_config64(struct vdev_drv *drv, uint32_t off, uint64_t val);

/* Reset (status 0, waiting until it reads back 0) and forget every queue. */
int vdev_drv_reset(struct vdev_drv *drv);

/*
 * ACKNOWLEDGE, DRIVER, accept `wanted & offered` (plus VERSION_1 on the modern
 * interface), FEATURES_OK (modern) and check it stuck. *accepted may be NULL.
 * Returns 0, or -EIO when the device refused.
 */
int vdev_drv_negotiate(struct vdev_drv *drv, uint64_t wanted, uint64_t *accepted);
/* Set DRIVER_OK. */
int vdev_drv_driver_ok(struct vdev_drv *drv);
uint64_t vdev_drv_features(const struct vdev_drv *drv); /* what was negotiated */

/*
 * Allocate and program queue `q` with `size` entries (0: the device's maximum) in
 * sim RAM and enable it; `msix_vector` is used when MSI-X is on (VIRTIO_MSI_NO_VECTOR
 * for none). Legacy: PFN at the device's fixed size. Returns 0 or a negative errno.
 */
int vdev_drv_queue_setup(struct vdev_drv *drv, uint16_t q, uint16_t size, uint16_t msix_vector);
uint16_t vdev_drv_queue_size(const struct vdev_drv *drv, uint16_t q);
/* Ring addresses the driver chose for queue q (for tests that corrupt rings). */
int vdev_drv_queue_rings(const struct vdev_drv *drv, uint16_t q, uint64_t *desc,
			 uint64_t *avail, uint64_t *used);

/* One segment of a request: guest RAM [gpa, gpa+len), readable or writable by the
 * device. Readable segments must come first. */
struct vdev_drv_seg {
	uint64_t gpa;
	uint32_t len;
	bool writable;
};

/*
 * Add a request. `indirect` puts the segments in an indirect table (needs
 * INDIRECT_DESC negotiated). `token` comes back from vdev_drv_dequeue(). Returns 0,
 * -ENOSPC when the ring is full, -EINVAL.
 */
int vdev_drv_enqueue(struct vdev_drv *drv, uint16_t q, const struct vdev_drv_seg *segs,
		     int nsegs, bool indirect, void *token);
/* Kick the device unless it asked not to be (flags or avail_event); returns 1 if kicked. */
int vdev_drv_notify(struct vdev_drv *drv, uint16_t q);
/* Kick unconditionally. */
void vdev_drv_kick(struct vdev_drv *drv, uint16_t q);
/* Take one completion: returns 1 and fills token/len, or 0 when none. */
int vdev_drv_dequeue(struct vdev_drv *drv, uint16_t q, void **token, uint32_t *len);
/* Interrupt suppression from the driver side (flags, or used_event with EVENT_IDX). */
void vdev_drv_enable_irq(struct vdev_drv *drv, uint16_t q);
void vdev_drv_disable_irq(struct vdev_drv *drv, uint16_t q);
/* Free descriptors left in queue q. */
uint16_t vdev_drv_queue_free(const struct vdev_drv *drv, uint16_t q);

#ifdef __cplusplus
}
#endif

#endif /* VDEV_DRIVER_H */
