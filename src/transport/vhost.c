/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vhost transport: a device driven by the outcome of a front end's negotiation
 * (features, ring geometry, kicks) instead of by register accesses, with its
 * interrupts turned into "call" notifications. Everything below reuses the core's own
 * state machine and ring validation, so a vhost front end gets the same checks as a
 * PCI driver.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/virtio_internal.h"
#include "util/common.h"
#include "vdev/vhost.h"

struct vhost_binding {
	struct vdev_vhost_ops ops;
	void *opaque;
	const struct vdev_transport *pci; /* restored by vdev_vhost_unbind() */
	uint16_t *resume_at;              /* per queue: VHOST_USER_SET_VRING_BASE */
};

static struct vhost_binding *binding(const struct virtio_base *base)
{
	return base->priv->transport_priv;
}

/* Queue interrupts carry their queue number as the "vector" (set at ring start). */
static void vh_raise(struct virtio_base *base, uint16_t vector, uint8_t isr_bit)
{
	struct vhost_binding *b = binding(base);

	if (isr_bit & VIRTIO_CR_ISR_CONF_CHANGED) {
		if (b->ops.config_changed)
			b->ops.config_changed(b->opaque);
		return;
	}
	if (vector != VIRTIO_MSI_NO_VECTOR)
		b->ops.call(b->opaque, vector);
}

static void vh_lower(struct virtio_base *base)
{
	(void)base; /* calls are edge notifications: nothing to lower */
}

static struct vmctx *vh_vmctx(const struct virtio_base *base)
{
	return base->vmctx;
}

static const char *vh_name(const struct virtio_base *base)
{
	return binding(base)->pci->name(base);
}

/* Released while still bound: the binding goes, then what the PCI transport holds. */
static void vh_release(struct virtio_base *base)
{
	struct vhost_binding *b = binding(base);
	const struct vdev_transport *pci = b->pci;

	base->priv->transport = pci;
	base->priv->transport_priv = NULL;
	free(b->resume_at);
	free(b);
	if (pci->release)
		pci->release(base);
}

static const struct vdev_transport vhost_transport = {
	.raise = vh_raise,
	.lower = vh_lower,
	.notify_region = NULL,
	.vmctx = vh_vmctx,
	.name = vh_name,
	.release = vh_release,
};

static bool is_bound(const struct virtio_base *base)
{
	return base != NULL && base->priv != NULL && base->priv->transport == &vhost_transport;
}

/* The queue if it exists and is stopped (its geometry may still change). */
static struct virtio_vq_info *stopped_queue(struct virtio_base *base, int q)
{
	struct virtio_vq_info *vq;

	if (!is_bound(base) || q < 0 || (vq = vdev_virtio_queue(base, (uint32_t)q)) == NULL)
		return NULL;
	if (vq->flags & VQ_ALLOC) {
		vdev_base_log(base, VDEV_LOG_WARN, "vhost: queue %d changed while running", q);
		return NULL;
	}
	return vq;
}

VDEV_EXPORT int vdev_vhost_bind(struct virtio_base *base, const struct vdev_vhost_ops *ops,
				void *opaque)
{
	struct vhost_binding *b;

	if (base == NULL || base->vops == NULL || base->priv == NULL || is_bound(base) ||
	    ops == NULL || ops->version != VDEV_VHOST_OPS_VERSION || ops->call == NULL)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return -ENOMEM;
	b->resume_at = calloc((size_t)(base->vops->nvq ? base->vops->nvq : 1), sizeof(uint16_t));
	if (b->resume_at == NULL) {
		free(b);
		return -ENOMEM;
	}
	b->ops = *ops;
	b->opaque = opaque;
	b->pci = base->priv->transport;
	base->priv->transport_priv = b;
	base->priv->transport = &vhost_transport;
	vdev_vhost_reset(base);
	return 0;
}

VDEV_EXPORT void vdev_vhost_unbind(struct virtio_base *base)
{
	struct vhost_binding *b;

	if (!is_bound(base))
		return;
	vdev_vhost_reset(base);
	b = binding(base);
	base->priv->transport = b->pci;
	base->priv->transport_priv = NULL;
	free(b->resume_at);
	free(b);
}

VDEV_EXPORT uint64_t vdev_vhost_get_features(struct virtio_base *base)
{
	if (!is_bound(base))
		return 0;
	return vdev_virtio_offered(base, false);
}

static bool any_ring_running(const struct virtio_base *base)
{
	for (int q = 0; q < base->vops->nvq; q++)
		if (base->queues[q].flags & VQ_ALLOC)
			return true;
	return false;
}

VDEV_EXPORT int vdev_vhost_set_features(struct virtio_base *base, uint64_t features)
{
	/* A front end for a legacy guest negotiates without VERSION_1. */
	bool legacy = !(features & VIRTIO_F_VERSION_1);
	uint8_t ready = VIRTIO_CR_STATUS_ACK | VIRTIO_CR_STATUS_DRIVER;

	if (!is_bound(base) || any_ring_running(base))
		return -EINVAL;
	if (features & ~vdev_virtio_offered(base, legacy)) {
		vdev_base_log(base, VDEV_LOG_WARN, "vhost: front end set unoffered features 0x%llx",
			      (unsigned long long)(features & ~vdev_virtio_offered(base, legacy)));
		return -EINVAL;
	}
	/* Walk the same status state machine a PCI driver would. */
	if (base->status != 0)
		vdev_virtio_write_status(base, 0, legacy);
	vdev_virtio_write_status(base, VIRTIO_CR_STATUS_ACK, legacy);
	vdev_virtio_write_status(base, ready, legacy);
	if (legacy) {
		vdev_virtio_write_legacy_features(base, (uint32_t)features);
	} else {
		vdev_virtio_write_driver_features(base, 0, (uint32_t)features);
		vdev_virtio_write_driver_features(base, 1, (uint32_t)(features >> 32));
		ready |= VIRTIO_CR_STATUS_FEATURES_OK;
		vdev_virtio_write_status(base, ready, legacy);
	}
	vdev_virtio_write_status(base, ready | VIRTIO_CR_STATUS_DRIVER_OK, legacy);
	return vdev_virtio_driver_ready(base) ? 0 : -EINVAL;
}

VDEV_EXPORT int vdev_vhost_set_vring_num(struct virtio_base *base, int q, uint16_t num)
{
	struct virtio_vq_info *vq = stopped_queue(base, q);

	if (vq == NULL || !vdev_is_pow2(num) || num > vq->qsize_max)
		return -EINVAL;
	vq->qsize = num;
	return 0;
}

VDEV_EXPORT int vdev_vhost_set_vring_addr(struct virtio_base *base, int q, uint64_t desc_gpa,
					  uint64_t avail_gpa, uint64_t used_gpa)
{
	struct virtio_vq_info *vq = stopped_queue(base, q);

	if (vq == NULL)
		return -EINVAL;
	vdev_pair_set(vq->gpa_desc, desc_gpa);
	vdev_pair_set(vq->gpa_avail, avail_gpa);
	vdev_pair_set(vq->gpa_used, used_gpa);
	return 0;
}

VDEV_EXPORT int vdev_vhost_set_vring_base(struct virtio_base *base, int q, uint16_t last_avail)
{
	if (stopped_queue(base, q) == NULL)
		return -EINVAL;
	binding(base)->resume_at[q] = last_avail;
	return 0;
}

VDEV_EXPORT int vdev_vhost_start_vring(struct virtio_base *base, int q)
{
	struct virtio_vq_info *vq = stopped_queue(base, q);
	int rc;

	if (vq == NULL)
		return -EINVAL;
	if (!vdev_virtio_driver_ready(base)) {
		vdev_base_log(base, VDEV_LOG_WARN, "vhost: queue %d started before features", q);
		return -EINVAL;
	}
	rc = vdev_vq_map(vq, vq->qsize, vdev_pair_get(vq->gpa_desc), vdev_pair_get(vq->gpa_avail),
			 vdev_pair_get(vq->gpa_used));
	if (rc < 0)
		return rc;
	/* Resume where the previous back end stopped; the used index is what the ring
	 * says, since whoever served it last wrote it there. */
	vq->last_avail = binding(base)->resume_at[q];
	vq->priv->avail_shadow = vq->last_avail;
	vq->used_idx = le16toh(vq->priv->used->idx);
	vq->priv->used_published = vq->used_idx;
	vq->save_used = vq->used_idx;
	vq->msix_idx = (uint16_t)q;
	return 0;
}

VDEV_EXPORT int vdev_vhost_stop_vring(struct virtio_base *base, int q, uint16_t *last_avail)
{
	struct virtio_vq_info *vq;

	if (!is_bound(base) || q < 0 || (vq = vdev_virtio_queue(base, (uint32_t)q)) == NULL)
		return -EINVAL;
	/* Chains the device holds were taken: the next back end starts after them. A
	 * stopped ring reports where it would have resumed. */
	if (vq->flags & VQ_ALLOC) {
		binding(base)->resume_at[q] = vq->last_avail;
		/* The ring is still the front end's: leave no completion unpublished. */
		vdev_vq_publish_used(vq);
	}
	if (last_avail)
		*last_avail = binding(base)->resume_at[q];
	vdev_vq_unmap(vq);
	return 0;
}

VDEV_EXPORT bool vdev_vhost_vring_started(const struct virtio_base *base, int q)
{
	if (!is_bound(base) || q < 0 || q >= base->vops->nvq)
		return false;
	return (base->queues[q].flags & VQ_ALLOC) != 0;
}

VDEV_EXPORT int vdev_vhost_kick(struct virtio_base *base, int q)
{
	if (!is_bound(base) || q < 0)
		return -EINVAL;
	return vdev_virtio_notify(base, (uint32_t)q);
}

/* The widest naturally aligned access (4, 2 or 1 bytes) that fits at off. */
static int chunk_width(uint32_t off, uint32_t left)
{
	if (off % 4 == 0 && left >= 4)
		return 4;
	if (off % 2 == 0 && left >= 2)
		return 2;
	return 1;
}

static int config_range_ok(struct virtio_base *base, uint32_t offset, uint32_t len)
{
	return is_bound(base) && len > 0 && offset <= base->vops->cfgsize &&
	       len <= base->vops->cfgsize - offset;
}

VDEV_EXPORT int vdev_vhost_get_config(struct virtio_base *base, uint32_t offset, uint8_t *buf,
				      uint32_t len)
{
	if (buf == NULL || !config_range_ok(base, offset, len))
		return -EINVAL;
	for (uint32_t done = 0; done < len;) {
		int w = chunk_width(offset + done, len - done);
		vdev_st_width(buf + done, w, vdev_virtio_cfg_read(base, offset + done, w));
		done += (uint32_t)w;
	}
	return 0;
}

VDEV_EXPORT int vdev_vhost_set_config(struct virtio_base *base, uint32_t offset,
				      const uint8_t *buf, uint32_t len)
{
	if (buf == NULL || !config_range_ok(base, offset, len))
		return -EINVAL;
	for (uint32_t done = 0; done < len;) {
		int w = chunk_width(offset + done, len - done);
		vdev_virtio_cfg_write(base, offset + done, w, vdev_ld_width(buf + done, w));
		done += (uint32_t)w;
	}
	return 0;
}

VDEV_EXPORT void vdev_vhost_reset(struct virtio_base *base)
{
	if (!is_bound(base))
		return;
	vdev_virtio_write_status(base, 0, false);
	for (int q = 0; q < base->vops->nvq; q++)
		binding(base)->resume_at[q] = 0;
}
