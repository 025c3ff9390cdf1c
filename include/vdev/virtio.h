/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio device API, with the names and meanings of ACRN's device model
 * (devicemodel/include/virtio.h), so a device written against ACRN ports with little
 * change.
 *
 * Where libvdev deliberately differs from ACRN, and why
 * -----------------------------------------------------
 *  1. Ring memory is private to the library. ACRN's `desc`/`avail`/`used` are not in
 *     struct virtio_vq_info (they live behind its opaque `priv`), and
 *     struct vring_avail/vring_used carry only their fixed header (no flexible ring[]).
 *     Every ring access goes through the vq_* functions, which validate each guest
 *     index once (HOSTILE.md H14-H31). ACRN devices that poke `vq->used->flags` call
 *     vdev_vq_kick_disable()/vdev_vq_kick_enable() instead.
 *  2. vq_ring_ready(), vq_has_descs() and vq_interrupt() are functions, not inlines,
 *     for the same reason and so the ABI does not freeze ring layouts.
 *  3. vq_getchain() returns iovecs, not descriptors: one descriptor whose guest memory
 *     is not contiguous in host memory becomes several iovecs, each with its own flag.
 *     A chain that needs more than n_iov iovecs, or that breaks any ring rule, returns
 *     -1 and breaks the queue (ACRN returned a count larger than n_iov or logged and
 *     carried on); with a valid chain the return value never exceeds n_iov.
 *  4. vq_relchain() clamps the used length to the chain's writable bytes and ignores a
 *     head that is not in flight (a duplicate or post-reset completion), so a device
 *     bug or a guest trick can never complete a head twice or report bytes it did not
 *     have (H19, H20, H12).
 *  5. Features are checked, not masked: what the driver accepts is kept in
 *     `driver_features` and compared with what was offered when it sets FEATURES_OK;
 *     a refusal leaves FEATURES_OK clear (ACRN silently masked unoffered bits).
 *     apply_features() runs once, at FEATURES_OK (modern) or on the legacy guest
 *     features write. Offered features live in `device_caps`, filled from
 *     `virtio_ops.hv_caps` by virtio_linkup(); a device may narrow it per instance
 *     before the guest starts.
 *  6. `qsize` is the device's maximum when it calls virtio_linkup(); libvdev keeps that
 *     maximum in `qsize_max`, lets a modern driver choose a smaller power of two, and
 *     restores the maximum on reset (ACRN let the driver's write overwrite it).
 *  7. virtio_config_changed() also bumps `config_generation`, so a driver reading a
 *     multi-field config sees the change (H08).
 *  8. `struct pci_vdev` is libvdev's own PCI function model (vdev/pci.h) and
 *     `struct vmctx` an opaque host handle (vdev/host.h). PCI configuration space goes
 *     through vdev_pci_cfgread()/vdev_pci_cfgwrite(); virtio_pci_modern_cfgread()/
 *     cfgwrite() remain the virtio hooks those call, with ACRN's meaning (0: handled).
 *  9. The PCI cfg-access capability (VIRTIO_PCI_CAP_PCI_CFG) really performs the BAR
 *     access it describes; ACRN advertised it without serving it.
 * 10. Locking: the library takes `mtx` (when set) around register accesses only, never
 *     inside vq_* or interrupt paths, so the mutex need not be recursive. See the
 *     threading contract in vdev/host.h.
 * 11. virtio_linkup() takes `const struct virtio_ops *`; one static const table per
 *     device type is enough.
 * 12. virtio_linkup() allocates the library's private state for the device and its
 *     queues (`priv`); vdev_virtio_release() frees it, so call it before freeing the
 *     device's own structure, and before linking the same structure again. ACRN's
 *     virtio_linkup() returns nothing, so an allocation failure is reported by what
 *     follows: `base->priv` stays NULL, the failure is logged, the function gets no
 *     virtio registers, and virtio_interrupt_init(), virtio_intr_init(),
 *     virtio_set_modern_bar() and vdev_virtio_pci_init() return -ENOMEM (a device
 *     checks those already).
 */
#ifndef VDEV_VIRTIO_H
#define VDEV_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vdev/host.h"
#include "vdev/pci.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VRING_ALIGN 4096
#define VRING_PAGE_BITS 12

#define VRING_DESC_F_NEXT (1 << 0)
#define VRING_DESC_F_WRITE (1 << 1)
#define VRING_DESC_F_INDIRECT (1 << 2)

#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY 1

/* Split-ring wire structures (little-endian guest memory). */
struct virtio_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtio_used {
	uint32_t idx;  /* head of the used chain */
	uint32_t tlen; /* bytes written */
};

/* Only the headers: the rings behind them are the library's business (see note 1). */
struct vring_avail {
	uint16_t flags;
	uint16_t idx;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
};

/* Largest split-ring size the spec allows. */
#define VDEV_VQ_MAX_SIZE 32768

/* Virtio device types. */
#define VIRTIO_TYPE_NET 1
#define VIRTIO_TYPE_BLOCK 2
#define VIRTIO_TYPE_CONSOLE 3
#define VIRTIO_TYPE_ENTROPY 4
#define VIRTIO_TYPE_BALLOON 5
#define VIRTIO_TYPE_IOMEMORY 6
#define VIRTIO_TYPE_RPMSG 7
#define VIRTIO_TYPE_SCSI 8
#define VIRTIO_TYPE_9P 9

/* PCI identities. Transitional ids; modern-only devices use 0x1040 + type. */
#define VIRTIO_VENDOR 0x1AF4
#define VIRTIO_DEV_NET 0x1000
#define VIRTIO_DEV_BLOCK 0x1001
#define VIRTIO_DEV_BALLOON 0x1002
#define VIRTIO_DEV_CONSOLE 0x1003
#define VIRTIO_DEV_SCSI 0x1004
#define VIRTIO_DEV_RANDOM 0x1005
#define VIRTIO_DEV_9P 0x1009
#define VIRTIO_DEV_MODERN_BASE 0x1040

/* Legacy register layout in the I/O BAR. */
#define VIRTIO_CR_HOSTCAP 0
#define VIRTIO_CR_GUESTCAP 4
#define VIRTIO_CR_PFN 8
#define VIRTIO_CR_QNUM 12
#define VIRTIO_CR_QSEL 14
#define VIRTIO_CR_QNOTIFY 16
#define VIRTIO_CR_STATUS 18
#define VIRTIO_CR_ISR 19
#define VIRTIO_CR_CFGVEC 20
#define VIRTIO_CR_QVEC 22
#define VIRTIO_CR_CFG0 20 /* device config without MSI-X enabled */
#define VIRTIO_CR_CFG1 24 /* device config with MSI-X enabled */
#define VIRTIO_CR_MSIX 20

/* Device status bits. */
#define VIRTIO_CR_STATUS_ACK 0x01
#define VIRTIO_CR_STATUS_DRIVER 0x02
#define VIRTIO_CR_STATUS_DRIVER_OK 0x04
#define VIRTIO_CR_STATUS_FEATURES_OK 0x08
#define VIRTIO_CR_STATUS_NEEDS_RESET 0x40
#define VIRTIO_CR_STATUS_FAILED 0x80

/* ISR bits (INTx and MSI; unused under MSI-X). */
#define VIRTIO_CR_ISR_QUEUES 0x01
#define VIRTIO_CR_ISR_CONF_CHANGED 0x02

#define VIRTIO_MSI_NO_VECTOR 0xFFFF

/* Transport feature bits. Bits 0-23 belong to each device type. */
#define VIRTIO_F_NOTIFY_ON_EMPTY (1ULL << 24)
#define VIRTIO_F_ANY_LAYOUT (1ULL << 27)
#define VIRTIO_RING_F_INDIRECT_DESC (1ULL << 28)
#define VIRTIO_RING_F_EVENT_IDX (1ULL << 29)
#define VIRTIO_F_VERSION_1 (1ULL << 32)
#define VIRTIO_F_ACCESS_PLATFORM (1ULL << 33)
#define VIRTIO_F_RING_PACKED (1ULL << 34)
/* The device uses buffers in the order they were made available. */
#define VIRTIO_F_IN_ORDER (1ULL << 35)

/* virtio_base.flags */
#define VIRTIO_USE_MSIX 0x01
#define VIRTIO_EVENT_IDX 0x02 /* EVENT_IDX was negotiated */
#define VIRTIO_BROKED 0x08    /* the device latched DEVICE_NEEDS_RESET */

/* BAR layout (ACRN's):
 * legacy: 0 (+1 MSI-X); modern: 1 + 4/5 (+2 for I/O notify); transitional: all. */
#define VIRTIO_LEGACY_PIO_BAR_IDX 0
#define VIRTIO_MSIX_BAR_IDX 1
#define VIRTIO_MODERN_PIO_BAR_IDX 2
#define VIRTIO_MODERN_MMIO_BAR_IDX 4

/* Regions of the modern memory BAR, one 4 KiB page per capability. */
#define VIRTIO_CAP_COMMON_OFFSET 0x0000
#define VIRTIO_CAP_COMMON_SIZE 0x1000
#define VIRTIO_CAP_ISR_OFFSET 0x1000
#define VIRTIO_CAP_ISR_SIZE 0x1000
#define VIRTIO_CAP_DEVICE_OFFSET 0x2000
#define VIRTIO_CAP_DEVICE_SIZE 0x1000
#define VIRTIO_CAP_NOTIFY_OFFSET 0x3000
#define VIRTIO_CAP_NOTIFY_SIZE 0x1000
#define VIRTIO_MODERN_MEM_BAR_SIZE (VIRTIO_CAP_NOTIFY_OFFSET + VIRTIO_CAP_NOTIFY_SIZE)
#define VIRTIO_MODERN_NOTIFY_OFF_MULT 4

/* Modern capability types. */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG 5

/* Common configuration layout (virtio 1.x, 4.1.4.3). */
#define VIRTIO_COMMON_DFSELECT 0
#define VIRTIO_COMMON_DF 4
#define VIRTIO_COMMON_GFSELECT 8
#define VIRTIO_COMMON_GF 12
#define VIRTIO_COMMON_MSIX 16
#define VIRTIO_COMMON_NUMQ 18
#define VIRTIO_COMMON_STATUS 20
#define VIRTIO_COMMON_CFGGENERATION 21
#define VIRTIO_COMMON_Q_SELECT 22
#define VIRTIO_COMMON_Q_SIZE 24
#define VIRTIO_COMMON_Q_MSIX 26
#define VIRTIO_COMMON_Q_ENABLE 28
#define VIRTIO_COMMON_Q_NOFF 30
#define VIRTIO_COMMON_Q_DESCLO 32
#define VIRTIO_COMMON_Q_DESCHI 36
#define VIRTIO_COMMON_Q_AVAILLO 40
#define VIRTIO_COMMON_Q_AVAILHI 44
#define VIRTIO_COMMON_Q_USEDLO 48
#define VIRTIO_COMMON_Q_USEDHI 52
#define VIRTIO_COMMON_SIZE 56

/* Wire layout of the virtio PCI capabilities. */
struct virtio_pci_cap {
	uint8_t cap_vndr;
	uint8_t cap_next;
	uint8_t cap_len;
	uint8_t cfg_type;
	uint8_t bar;
	uint8_t padding[3];
	uint32_t offset;
	uint32_t length;
};

struct virtio_pci_notify_cap {
	struct virtio_pci_cap cap;
	uint32_t notify_off_multiplier;
};

struct virtio_pci_cfg_cap {
	struct virtio_pci_cap cap;
	uint8_t pci_cfg_data[4];
};

struct virtio_vq_info;
struct virtio_base;
struct vdev_base_priv; /* library-private state of a device (virtio_base.priv) */
struct vdev_vq_priv;   /* library-private state of a queue (virtio_vq_info.priv) */

/* Per-device counters, readable at any time with vdev_virtio_get_stats(). */
struct vdev_virtio_stats {
	uint64_t notifies;          /* guest kicks delivered to a queue */
	uint64_t notifies_ignored;  /* kicks for a missing, disabled or broken queue, or
				       before DRIVER_OK (H02) */
	uint64_t chains;            /* chains handed to the device by vq_getchain() */
	uint64_t used;              /* chains returned by vq_relchain() */
	uint64_t interrupts;        /* queue and config interrupts raised */
	uint64_t interrupts_suppressed; /* skipped by EVENT_IDX or NO_INTERRUPT */
	uint64_t guest_errors;      /* protocol violations that broke a queue or device */
	uint64_t bad_accesses;      /* refused register accesses (offset, width, RO) */
	uint64_t status_refused;    /* refused device-status transitions (H06) */
	uint64_t features_refused;  /* FEATURES_OK refusals (H07) */
	uint64_t resets;
	uint64_t descriptors;       /* descriptors chain walks copied from guest memory
				       (ring and indirect-table entries): the work the
				       guest's kicks cost, at most 2 * size per chain
				       (H14, H30) */
	uint64_t reserved[8]; /* zero: a counter added later takes a slot here, so the
				struct keeps its size and layout */
};

/*
 * The device's constants and callbacks. Callbacks get the `pci_virtio_dev` pointer
 * given to virtio_linkup(). cfgread/cfgwrite get an offset into the device config and
 * a width of 1, 2, 4 or 8 bytes already checked against cfgsize; they return 0, or
 * non-zero to refuse (a refused read reads as 0).
 */
struct virtio_ops {
	const char *name;
	int nvq;
	size_t cfgsize;
	void (*reset)(void *);
	void (*qnotify)(void *, struct virtio_vq_info *);
	int (*cfgread)(void *, int, int, uint32_t *);
	int (*cfgwrite)(void *, int, int, uint32_t);
	void (*apply_features)(void *, uint64_t);
	void (*set_status)(void *, uint64_t);
	uint64_t hv_caps; /* features offered; transport bits (VERSION_1) are added */
};

/*
 * Base of every virtio device; put it first in the device's own structure (ACRN's
 * convention). Fields marked "library" are maintained by libvdev; a device reads them
 * but does not write them.
 *
 * ABI: every field declared here keeps its offset, size and meaning for the life of
 * the soname; new public fields come out of `reserved`. The engine's own state (ring
 * pointers, in-flight tracking, transport binding, recorder) lives behind `priv`,
 * which virtio_linkup() allocates and vdev_virtio_release() frees, so it can change
 * freely (a new ring layout, say) without changing this structure.
 */
struct virtio_base {
	const struct virtio_ops *vops;
	int flags;                       /* library: VIRTIO_USE_MSIX, VIRTIO_EVENT_IDX, ... */
	pthread_mutex_t *mtx;            /* optional per-device lock, see vdev/host.h */
	struct pci_vdev *dev;
	uint64_t negotiated_caps;        /* library: features in force */
	uint64_t device_caps;            /* features offered (from vops->hv_caps) */
	struct virtio_vq_info *queues;   /* vops->nvq of them */
	int curq;                        /* library: queue_select */
	uint8_t status;                  /* library */
	uint8_t isr;                     /* library */
	uint16_t msix_cfg_idx;           /* library */
	uint32_t legacy_pio_bar_idx;
	uint32_t modern_pio_bar_idx;
	uint32_t modern_mmio_bar_idx;
	uint8_t config_generation;       /* library */
	uint32_t device_feature_select;  /* library */
	uint32_t driver_feature_select;  /* library */
	int cfg_coff;                    /* library: offset of the cfg-access capability */

	/* libvdev additions */
	void *softc;                     /* the pci_virtio_dev given to virtio_linkup() */
	uint64_t driver_features;        /* library: what the driver wrote, unchecked */
	uint32_t epoch;                  /* library: bumped by every reset (see note 4) */
	bool legacy_driver;              /* library: the driver speaks the legacy interface */
	bool has_legacy;                 /* library: a legacy I/O BAR exists */
	bool has_modern;                 /* library: the modern capabilities exist */
	bool notify_pio;                 /* library: modern notify also in an I/O BAR */
	bool modern_mem32;               /* modern BAR is 32-bit (set before
					    virtio_set_modern_bar()) */
	struct vmctx *vmctx;             /* library: the host handle of `dev` */
	struct vdev_base_priv *priv;     /* library-owned and opaque: never touch */
	void *reserved[4];               /* room for public fields; zero, unused today */
};

#define VQ_ALLOC 0x01  /* the ring geometry is validated and mapped */
#define VQ_BROKED 0x02 /* the queue broke a rule; it is not processed until reset */

/*
 * Per-queue state. The same ABI rule as struct virtio_base: the fields below are
 * stable, new public ones come out of `reserved`, and everything that depends on the
 * ring layout (ring pointers, in-flight tracking, shadows of guest indexes) is behind
 * `priv`, set by virtio_linkup() (see note 1).
 */
struct virtio_vq_info {
	uint16_t qsize;  /* set by the device to its maximum; then the size in use */
	void (*notify)(void *, struct virtio_vq_info *); /* per-queue kick handler, or NULL
							    for vops->qnotify */
	struct virtio_base *base;
	uint16_t num;
	uint16_t flags;       /* library: VQ_ALLOC, VQ_BROKED */
	uint16_t last_avail;  /* library: next avail entry the device will take */
	uint16_t save_used;   /* library: used->idx at the last vq_endchains() */
	uint16_t msix_idx;    /* library */
	uint32_t pfn;         /* library: legacy queue PFN */
	uint32_t gpa_desc[2];  /* library: ring addresses as the driver wrote them (lo, hi) */
	uint32_t gpa_avail[2];
	uint32_t gpa_used[2];
	bool enabled;          /* library */

	/* libvdev additions, all maintained by the library */
	uint16_t qsize_max;
	uint16_t used_idx;     /* the device's own copy of used->idx (H27) */
	uint16_t n_inflight;   /* chains taken and not yet released */
	struct vdev_vq_priv *priv; /* library-owned and opaque: never touch */
	void *reserved[2];     /* room for public fields; zero, unused today */
};

/*
 * Bind a device structure, its ops, its PCI function and its queues together, and
 * allocate the library's state for them (see note 12 for failure and release).
 */
void virtio_linkup(struct virtio_base *base, const struct virtio_ops *vops,
		   void *pci_virtio_dev, struct pci_vdev *dev, struct virtio_vq_info *queues);

/*
 * Add MSI-X (nvq + 1 vectors in BAR `barnum`) when use_msix, else an MSI capability.
 * INTx is always present. virtio_interrupt_init() uses VIRTIO_MSIX_BAR_IDX.
 * Returns 0 or a negative errno.
 */
int virtio_interrupt_init(struct virtio_base *base, int use_msix);
int virtio_intr_init(struct virtio_base *base, int barnum, int use_msix);

/* The legacy register block in I/O BAR `barnum` (usually 0). */
void virtio_set_io_bar(struct virtio_base *base, int barnum);

/*
 * The modern capabilities in a memory BAR (VIRTIO_MODERN_MMIO_BAR_IDX, 64-bit unless
 * vdev_virtio_pci_init() asked for 32-bit), plus an I/O notify BAR when
 * use_notify_pio. Returns 0 or a negative errno.
 */
int virtio_set_modern_bar(struct virtio_base *base, bool use_notify_pio);

/* Device-wide reset, as a status write of 0 does: queues unmapped, state cleared. */
void virtio_reset_dev(struct virtio_base *base);

/*
 * Latch DEVICE_NEEDS_RESET and raise a config interrupt (the driver must reset).
 * Queues stop being processed until the reset.
 */
void virtio_dev_error(struct virtio_base *base);

/* The device changed its config: bump config_generation and raise a config interrupt. */
void virtio_config_changed(struct virtio_base *base);

/* Raise the queue's interrupt now, without any suppression check. */
void vq_interrupt(struct virtio_base *base, struct virtio_vq_info *vq);

/* 1 when the queue is mapped and not broken, else 0. */
int vq_ring_ready(struct virtio_vq_info *vq);

/* 1 when the driver has made chains available that the device has not taken. */
int vq_has_descs(struct virtio_vq_info *vq);

/*
 * Take the next available chain: fills iov[0..n) and, when `flags` is not NULL,
 * flags[0..n) with VRING_DESC_F_WRITE for device-writable iovecs (readable ones come
 * first). *pidx receives the head to give back to vq_relchain(). Returns n > 0,
 * 0 when nothing is available, or -1 when the chain broke a rule: the queue is then
 * broken, the device latches DEVICE_NEEDS_RESET and the log says why.
 */
int vq_getchain(struct virtio_vq_info *vq, uint16_t *pidx, struct iovec *iov, int n_iov,
		uint16_t *flags);

/* Give back the chain taken by the latest vq_getchain(), unprocessed. */
void vq_retchain(struct virtio_vq_info *vq);

/* Complete chain `idx` with `iolen` bytes written (clamped; see note 4). */
void vq_relchain(struct virtio_vq_info *vq, uint16_t idx, uint32_t iolen);

/*
 * Batched completion: like vq_relchain(), but the used index the driver reads is only
 * moved by the next vdev_vq_publish_used(), vq_relchain() or vq_endchains() on this
 * queue. A burst then costs one store to the cache line the driver polls instead of
 * one per chain. The device must publish before it goes idle (calling vq_endchains()
 * after a burst, as every device does, is enough).
 */
void vdev_vq_relchain_batch(struct virtio_vq_info *vq, uint16_t idx, uint32_t iolen);
void vdev_vq_publish_used(struct virtio_vq_info *vq);

/*
 * After a batch of vq_relchain() calls: publish them and decide, once, whether the
 * guest needs an interrupt (EVENT_IDX, NO_INTERRUPT, NOTIFY_ON_EMPTY when
 * used_all_avail).
 */
void vq_endchains(struct virtio_vq_info *vq, int used_all_avail);

/*
 * BAR accesses from the guest. `size` is 1, 2, 4 or 8. Reads of nothing return 0;
 * malformed accesses are refused, counted and logged. ctx and vcpu are accepted for
 * ACRN compatibility; libvdev uses the function's own vmctx.
 */
uint64_t virtio_pci_read(struct vmctx *ctx, int vcpu, struct pci_vdev *dev, int baridx,
			 uint64_t offset, int size);
void virtio_pci_write(struct vmctx *ctx, int vcpu, struct pci_vdev *dev, int baridx,
		      uint64_t offset, int size, uint64_t value);

/*
 * Virtio's configuration-space hooks: they serve the cfg-access capability window.
 * Return 0 when they handled the access, -1 when generic PCI emulation should.
 */
int virtio_pci_modern_cfgread(struct vmctx *ctx, int vcpu, struct pci_vdev *dev, int coff,
			      int bytes, uint32_t *rv);
int virtio_pci_modern_cfgwrite(struct vmctx *ctx, int vcpu, struct pci_vdev *dev, int coff,
			       int bytes, uint32_t val);

/* --- libvdev additions --- */

/*
 * Deliver a notification for queue `q` as if the guest had written the notify
 * register (for a host that wired notify_region to an ioeventfd). Ignored and counted
 * when the queue does not exist, is not ready, or the driver is not ready. Returns 0
 * when delivered, -EINVAL when ignored.
 */
int vdev_virtio_queue_notify(struct virtio_base *base, int q);

/* Ask the driver not to kick (VRING_USED_F_NO_NOTIFY, or avail_event with EVENT_IDX). */
void vdev_vq_kick_disable(struct virtio_vq_info *vq);
/* Ask for kicks again; returns 1 when chains arrived meanwhile (re-check the ring). */
int vdev_vq_kick_enable(struct virtio_vq_info *vq);

void vdev_virtio_get_stats(const struct virtio_base *base, struct vdev_virtio_stats *out);

/*
 * Free what virtio_linkup() and the guest's queue setup allocated for this device
 * (`priv`, queue tracking, a vhost binding left bound). Idempotent; afterwards the
 * device is unlinked and its structure may be freed or linked again.
 */
void vdev_virtio_release(struct virtio_base *base);

/* printf-style log line through the host's log callback, prefixed with the device name. */
void vdev_virtio_log(const struct virtio_base *base, enum vdev_log_level level,
		     const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;

#ifdef __cplusplus
}
#endif

#endif /* VDEV_VIRTIO_H */
