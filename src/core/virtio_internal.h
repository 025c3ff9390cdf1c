/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the core offers its transports, and what a transport must offer the core.
 * The core owns device status, features, queues and ring memory; a transport owns
 * register layouts and interrupt delivery and calls in here.
 */
#ifndef VDEV_SRC_CORE_VIRTIO_INTERNAL_H
#define VDEV_SRC_CORE_VIRTIO_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "vdev/virtio.h"

/* Implemented by a transport (virtio-pci today). */
struct vdev_transport {
	/*
	 * Raise an interrupt: `vector` is the MSI-X vector to use when MSI-X is on
	 * (VIRTIO_MSI_NO_VECTOR: none), `isr_bit` what to latch in the ISR otherwise.
	 */
	void (*raise)(struct virtio_base *base, uint16_t vector, uint8_t isr_bit);
	/* Drop the ISR-driven line (after the ISR was read or cleared by a reset). */
	void (*lower)(struct virtio_base *base);
	/* A queue's notify register became live (add) or went away. May be NULL. */
	void (*notify_region)(struct virtio_base *base, int q, bool add);
	/* A log line with the device's name. */
	struct vmctx *(*vmctx)(const struct virtio_base *base);
	const char *(*name)(const struct virtio_base *base);

	/* The device is being released (vdev_virtio_release()): free what the
	 * transport attached to it. May be NULL. */
	void (*release)(struct virtio_base *base);
};

/* Marks a head as in flight in vdev_vq_priv.inflight. */
#define VDEV_VQ_INFLIGHT (1ULL << 32)

/*
 * A queue's engine state: everything that depends on the ring layout. Public
 * struct virtio_vq_info points here (`priv`), so this may change with no ABI change.
 */
struct vdev_vq_priv {
	volatile struct virtio_desc *desc;
	volatile struct vring_avail *avail;
	volatile struct vring_used *used;
	uint64_t *inflight;      /* per head: 0 = free, else VDEV_VQ_INFLIGHT | writable bytes */
	uint16_t last_head;      /* head returned by the latest vq_getchain() */
	uint16_t avail_shadow;   /* the latest avail->idx read */
	uint16_t used_published; /* used->idx as last stored; behind used_idx during a
				    vdev_vq_relchain_batch() burst */
	/* This queue's share of vdev_virtio_stats (chains, used, descriptors), counted
	 * here rather than in the device's so the per-chain path touches one struct;
	 * vdev_virtio_get_stats() adds them up. */
	uint64_t n_chains, n_used, n_descriptors;
	bool kicks_off;          /* the device asked not to be kicked */
	bool notify_live;        /* the host was told about this queue's notify register */
};

/*
 * A device's engine state, allocated by vdev_virtio_base_init() in one piece with
 * its queues' (virtio_base.priv, virtio_vq_info.priv) and freed by
 * vdev_virtio_release().
 */
struct vdev_base_priv {
	const struct vdev_transport *transport;
	void *transport_priv;     /* state of a non-PCI transport (vhost) */
	struct vdev_trace *trace; /* the recorder attached by vdev_trace_start(), or NULL */
	struct vdev_virtio_stats stats; /* all but the per-queue counters (vdev_vq_priv) */
	int nvq;
	struct vdev_vq_priv vq[]; /* nvq of them */
};

/*
 * Bind softc, ops and queues (the transport-independent half of virtio_linkup()) and
 * allocate the private state. Returns 0, or -ENOMEM with base->priv left NULL and
 * nothing else bound.
 */
int vdev_virtio_base_init(struct virtio_base *base, const struct virtio_ops *vops, void *softc,
			  struct virtio_vq_info *queues, const struct vdev_transport *transport);

/* The recorder attached to the device, or NULL (the hooks' guard: trace_hooks.h). */
static inline struct vdev_trace *vdev_virtio_trace(const struct virtio_base *base)
{
	return base->priv->trace;
}

/* Attach (t) or detach (NULL) a recorder. The recorder calls this through the device
 * layer (src/devices/device_trace.c). */
static inline void vdev_virtio_set_trace(struct virtio_base *base, struct vdev_trace *t)
{
	base->priv->trace = t;
}

/* The state of a transport bound over the PCI one (vhost), or NULL. */
static inline void *vdev_virtio_transport_priv(const struct virtio_base *base)
{
	return base->priv->transport_priv;
}

/* ---- device status and features (virtio_base.c) ---- */

/* A status write from the driver; `legacy` when it came through the legacy registers. */
void vdev_virtio_write_status(struct virtio_base *base, uint8_t val, bool legacy);
/* Features offered through one interface (legacy: the low 32 bits only). */
uint64_t vdev_virtio_offered(const struct virtio_base *base, bool legacy);
/* Modern driver-feature write of one 32-bit half (`sel` 0 or 1; others ignored). */
void vdev_virtio_write_driver_features(struct virtio_base *base, uint32_t sel, uint32_t val);
/* Legacy guest-features write: negotiated at once (legacy has no FEATURES_OK). */
void vdev_virtio_write_legacy_features(struct virtio_base *base, uint32_t val);
/* ISR read: returns the bits and clears them, dropping INTx. */
uint8_t vdev_virtio_read_isr(struct virtio_base *base);
/* Device-config access: width 1, 2, 4 or 8, bounds-checked against cfgsize. */
uint64_t vdev_virtio_cfg_read(struct virtio_base *base, uint64_t off, int width);
void vdev_virtio_cfg_write(struct virtio_base *base, uint64_t off, int width, uint64_t val);
/* A guest kick for queue q (also the host's ioeventfd path). 0 or -EINVAL (ignored). */
int vdev_virtio_notify(struct virtio_base *base, uint32_t q);
/* Lock / unlock the device mutex when there is one. */
void vdev_virtio_lock(struct virtio_base *base);
void vdev_virtio_unlock(struct virtio_base *base);
/* Count and log a refused register access. */
void vdev_virtio_bad_access(struct virtio_base *base, const char *what, uint64_t off, int width);
/* Queue `q` if it exists, else NULL (queue_select may hold anything up to 0xFFFF). */
struct virtio_vq_info *vdev_virtio_queue(struct virtio_base *base, uint32_t q);
/* True once DRIVER_OK is set (queue geometry is then frozen). */
bool vdev_virtio_driver_ready(const struct virtio_base *base);

/* ---- queue geometry (virtqueue_setup.c) ---- */

/*
 * Validate and map a split ring of `size` entries at the given addresses, as a modern
 * queue_enable or a legacy PFN write asks. Returns 0, or a negative errno with the
 * queue left disabled (the caller breaks the device and logs).
 */
int vdev_vq_map(struct virtio_vq_info *vq, uint16_t size, uint64_t desc, uint64_t avail,
		uint64_t used);
/* Forget a queue's geometry and in-flight tracking (device reset). */
void vdev_vq_unmap(struct virtio_vq_info *vq);
/* Mark a queue broken for `why` and latch DEVICE_NEEDS_RESET. */
void vdev_vq_break(struct virtio_vq_info *vq, const char *why);
/* Start the cache misses of a chain the device will take soon (see virtqueue.c). */
void vdev_vq_prefetch(struct virtio_vq_info *vq, uint16_t ahead);

/* Logging helpers for core files. */
void vdev_base_log(const struct virtio_base *base, enum vdev_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
