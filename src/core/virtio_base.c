/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device-wide virtio state: the status and feature state machine, reset, the
 * NEEDS_RESET latch, config-space access and interrupts. Transport-independent: the
 * transport calls in with decoded register meanings and gets interrupts back through
 * struct vdev_transport.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/virtio_internal.h"
#include "core/vmctx.h"
#include "trace/trace_hooks.h"
#include "util/common.h"

#define STATUS_RESERVED 0x30
#define STATUS_DRIVER_BITS                                                            \
	(VIRTIO_CR_STATUS_ACK | VIRTIO_CR_STATUS_DRIVER | VIRTIO_CR_STATUS_DRIVER_OK |   \
	 VIRTIO_CR_STATUS_FEATURES_OK | VIRTIO_CR_STATUS_FAILED)

/* Transport bits the core implements; any other bit in 24..63 is never offered. */
#define TRANSPORT_BITS_MASK (~0ULL << 24)
#define TRANSPORT_BITS_SUPPORTED                                                      \
	(VIRTIO_F_NOTIFY_ON_EMPTY | VIRTIO_F_ANY_LAYOUT | VIRTIO_RING_F_INDIRECT_DESC |  \
	 VIRTIO_RING_F_EVENT_IDX | VIRTIO_F_VERSION_1 | VIRTIO_F_ACCESS_PLATFORM |        \
	 VIRTIO_F_IN_ORDER)
#define LEGACY_ONLY_BITS (VIRTIO_F_NOTIFY_ON_EMPTY | VIRTIO_F_ANY_LAYOUT)

__attribute__((format(printf, 3, 0))) static void base_vlog(const struct virtio_base *base,
							    enum vdev_log_level level,
							    const char *fmt, va_list ap)
{
	if (base->priv == NULL || base->priv->transport == NULL)
		return;
	vdev_ctx_vlog(base->vmctx, level, base->priv->transport->name(base), fmt, ap);
}

void vdev_base_log(const struct virtio_base *base, enum vdev_log_level level, const char *fmt,
		   ...)
{
	va_list ap;

	va_start(ap, fmt);
	base_vlog(base, level, fmt, ap);
	va_end(ap);
}

VDEV_EXPORT void vdev_virtio_log(const struct virtio_base *base, enum vdev_log_level level,
				 const char *fmt, ...)
{
	va_list ap;

	if (base == NULL || fmt == NULL)
		return;
	va_start(ap, fmt);
	base_vlog(base, level, fmt, ap);
	va_end(ap);
}

static void reset_queue_state(struct virtio_vq_info *vq)
{
	vdev_vq_unmap(vq);
	vq->msix_idx = VIRTIO_MSI_NO_VECTOR;
	vq->pfn = 0;
	memset(vq->gpa_desc, 0, sizeof(vq->gpa_desc));
	memset(vq->gpa_avail, 0, sizeof(vq->gpa_avail));
	memset(vq->gpa_used, 0, sizeof(vq->gpa_used));
	vq->qsize = vq->qsize_max;
	vq->priv->kicks_off = false;
}

int vdev_virtio_base_init(struct virtio_base *base, const struct virtio_ops *vops, void *softc,
			  struct virtio_vq_info *queues, const struct vdev_transport *transport)
{
	/* One allocation for the device and all its queues: released in one free(). */
	struct vdev_base_priv *p =
		calloc(1, sizeof(*p) + (size_t)vops->nvq * sizeof(p->vq[0]));

	base->vops = vops;
	base->softc = softc;
	base->queues = queues;
	base->priv = p;
	if (p == NULL)
		return -ENOMEM;
	p->transport = transport;
	p->nvq = vops->nvq;
	base->vmctx = transport->vmctx(base);
	base->device_caps = vops->hv_caps;
	base->msix_cfg_idx = VIRTIO_MSI_NO_VECTOR;
	for (int i = 0; i < vops->nvq; i++) {
		struct virtio_vq_info *vq = &queues[i];
		uint16_t max = vq->qsize;

		/* The device states its maximum in qsize; keep it sane. */
		if (!vdev_is_pow2(max) || max > VDEV_VQ_MAX_SIZE)
			max = 256;
		vq->qsize_max = max;
		vq->base = base;
		vq->num = (uint16_t)i;
		vq->priv = &p->vq[i];
		reset_queue_state(vq);
	}
	return 0;
}

VDEV_EXPORT void virtio_reset_dev(struct virtio_base *base)
{
	struct vdev_trace *t;

	if (base == NULL || base->vops == NULL || base->priv == NULL)
		return;
	/* Recorded only when the host resets the device itself: from inside a status
	 * write it is part of that access (the recorder's depth counter sees to it). */
	t = base->priv->trace;
	if (vdev_unlikely(t != NULL))
		vdev_trace_enter(t);
	for (int i = 0; i < base->vops->nvq; i++) {
		struct virtio_vq_info *vq = &base->queues[i];

		if (vq->priv->notify_live && base->priv->transport->notify_region)
			base->priv->transport->notify_region(base, i, false);
		vq->priv->notify_live = false;
		reset_queue_state(vq);
	}
	base->status = 0;
	base->negotiated_caps = 0;
	base->driver_features = 0;
	base->curq = 0;
	base->isr = 0;
	base->msix_cfg_idx = VIRTIO_MSI_NO_VECTOR;
	base->device_feature_select = 0;
	base->driver_feature_select = 0;
	base->legacy_driver = false;
	base->flags &= ~(VIRTIO_EVENT_IDX | VIRTIO_BROKED);
	/* Completions that arrive after this belong to the old epoch and are dropped. */
	base->epoch++;
	base->priv->stats.resets++;
	base->priv->transport->lower(base);
	if (vdev_unlikely(t != NULL)) {
		vdev_trace_rings_reset(t);
		vdev_trace_leave_reset(t);
	}
}

VDEV_EXPORT void vdev_virtio_release(struct virtio_base *base)
{
	struct vdev_base_priv *p;

	if (base == NULL || (p = base->priv) == NULL)
		return;
	if (p->transport->release)
		p->transport->release(base);
	for (int i = 0; i < p->nvq; i++) {
		vdev_vq_unmap(&base->queues[i]);
		base->queues[i].priv = NULL;
	}
	base->priv = NULL;
	free(p);
}

static void raise_config_interrupt(struct virtio_base *base)
{
	base->priv->stats.interrupts++;
	base->priv->transport->raise(base, base->msix_cfg_idx, VIRTIO_CR_ISR_CONF_CHANGED);
}

VDEV_EXPORT void virtio_dev_error(struct virtio_base *base)
{
	if (base == NULL || base->priv == NULL)
		return;
	/* Latch once: a guest that keeps misbehaving gets one interrupt, not a storm. */
	if (base->status & VIRTIO_CR_STATUS_NEEDS_RESET)
		return;
	base->status |= VIRTIO_CR_STATUS_NEEDS_RESET;
	base->flags |= VIRTIO_BROKED;
	vdev_base_log(base, VDEV_LOG_WARN, "device needs reset");
	raise_config_interrupt(base);
}

VDEV_EXPORT void virtio_config_changed(struct virtio_base *base)
{
	if (base == NULL || base->priv == NULL)
		return;
	base->config_generation++;
	raise_config_interrupt(base);
}

VDEV_EXPORT void vq_interrupt(struct virtio_base *base, struct virtio_vq_info *vq)
{
	if (base == NULL || vq == NULL || base->priv == NULL)
		return;
	base->priv->stats.interrupts++;
	base->priv->transport->raise(base, vq->msix_idx, VIRTIO_CR_ISR_QUEUES);
}

uint8_t vdev_virtio_read_isr(struct virtio_base *base)
{
	uint8_t isr = base->isr;

	base->isr = 0;
	base->priv->transport->lower(base);
	return isr;
}

/* ---- features ---- */

uint64_t vdev_virtio_offered(const struct virtio_base *base, bool legacy)
{
	uint64_t caps = base->device_caps;

	/* Transport bits the core does not implement are never offered, whatever the
	 * device asked for: offering packed rings we cannot parse would be a lie. */
	caps &= ~TRANSPORT_BITS_MASK | TRANSPORT_BITS_SUPPORTED;
	if (legacy)
		return caps & 0xFFFFFFFFULL & ~VIRTIO_F_VERSION_1;
	return (caps | VIRTIO_F_VERSION_1) & ~LEGACY_ONLY_BITS;
}

static void apply_negotiated(struct virtio_base *base, uint64_t features)
{
	base->negotiated_caps = features;
	if (features & VIRTIO_RING_F_EVENT_IDX)
		base->flags |= VIRTIO_EVENT_IDX;
	else
		base->flags &= ~VIRTIO_EVENT_IDX;
	if (base->vops->apply_features)
		base->vops->apply_features(base->softc, features);
}

void vdev_virtio_write_driver_features(struct virtio_base *base, uint32_t sel, uint32_t val)
{
	if (base->status & VIRTIO_CR_STATUS_FEATURES_OK) {
		vdev_virtio_bad_access(base, "driver features after FEATURES_OK", sel, 4);
		return;
	}
	if (sel > 1) {
		if (val != 0)
			vdev_virtio_bad_access(base, "driver_feature_select out of range", sel, 4);
		return;
	}
	if (sel == 0)
		base->driver_features = (base->driver_features & ~0xFFFFFFFFULL) | val;
	else
		base->driver_features =
			(base->driver_features & 0xFFFFFFFFULL) | ((uint64_t)val << 32);
}

void vdev_virtio_write_legacy_features(struct virtio_base *base, uint32_t val)
{
	uint64_t offered = vdev_virtio_offered(base, true);

	if (base->status & VIRTIO_CR_STATUS_DRIVER_OK) {
		vdev_virtio_bad_access(base, "guest features after DRIVER_OK", VIRTIO_CR_GUESTCAP,
				       4);
		return;
	}
	base->legacy_driver = true;
	base->driver_features = val;
	if (val & ~offered)
		vdev_base_log(base, VDEV_LOG_WARN,
			      "legacy driver accepted unoffered features 0x%llx; dropped",
			      (unsigned long long)(val & ~offered));
	apply_negotiated(base, val & offered);
}

/* FEATURES_OK: keep it only if the driver accepted a subset of the offer. */
static bool features_acceptable(struct virtio_base *base, bool legacy)
{
	uint64_t offered = vdev_virtio_offered(base, legacy);
	uint64_t want = base->driver_features;

	if (want & ~offered) {
		vdev_base_log(base, VDEV_LOG_WARN,
			      "FEATURES_OK refused: driver accepted unoffered features 0x%llx",
			      (unsigned long long)(want & ~offered));
		return false;
	}
	if (!legacy && !(want & VIRTIO_F_VERSION_1)) {
		vdev_base_log(base, VDEV_LOG_WARN, "FEATURES_OK refused: VERSION_1 not accepted");
		return false;
	}
	return true;
}

/* ---- status ---- */

static bool status_transition_ok(uint8_t cur, uint8_t val, bool legacy, const char **why)
{
	uint8_t added = (uint8_t)(val & ~cur);

	if (val & STATUS_RESERVED) {
		*why = "reserved status bits";
		return false;
	}
	if (cur & ~val) {
		*why = "status bits cleared without a reset";
		return false;
	}
	if ((added & VIRTIO_CR_STATUS_DRIVER) && !(val & VIRTIO_CR_STATUS_ACK)) {
		*why = "DRIVER without ACKNOWLEDGE";
		return false;
	}
	if ((added & VIRTIO_CR_STATUS_FEATURES_OK) && !(val & VIRTIO_CR_STATUS_DRIVER)) {
		*why = "FEATURES_OK without DRIVER";
		return false;
	}
	if (added & VIRTIO_CR_STATUS_DRIVER_OK) {
		if (!(val & VIRTIO_CR_STATUS_DRIVER)) {
			*why = "DRIVER_OK without DRIVER";
			return false;
		}
		if (!legacy && !(val & VIRTIO_CR_STATUS_FEATURES_OK)) {
			*why = "DRIVER_OK without FEATURES_OK";
			return false;
		}
	}
	return true;
}

static void do_reset(struct virtio_base *base)
{
	uint32_t epoch = base->epoch;

	/* ACRN devices reset themselves from vops->reset by calling virtio_reset_dev();
	 * make sure the reset happened even for a device that forgot. */
	if (base->vops->reset)
		base->vops->reset(base->softc);
	if (base->epoch == epoch)
		virtio_reset_dev(base);
	vdev_base_log(base, VDEV_LOG_INFO, "reset");
}

void vdev_virtio_write_status(struct virtio_base *base, uint8_t val, bool legacy)
{
	uint8_t latch = base->status & VIRTIO_CR_STATUS_NEEDS_RESET;
	uint8_t cur = base->status & STATUS_DRIVER_BITS;
	const char *why = NULL;

	if (val == 0) {
		do_reset(base);
		return;
	}
	/* The driver echoes NEEDS_RESET back when it ORs bits into what it read. */
	val &= (uint8_t)~VIRTIO_CR_STATUS_NEEDS_RESET;
	if (cur == 0)
		base->legacy_driver = legacy;
	else
		legacy = base->legacy_driver;
	if (val == cur)
		return;
	if (!status_transition_ok(cur, val, legacy, &why)) {
		base->priv->stats.status_refused++;
		vdev_base_log(base, VDEV_LOG_WARN, "status 0x%02x -> 0x%02x refused: %s", cur, val,
			      why);
		return;
	}
	if ((val & ~cur) & VIRTIO_CR_STATUS_FEATURES_OK) {
		if (features_acceptable(base, legacy)) {
			apply_negotiated(base, base->driver_features);
		} else {
			base->priv->stats.features_refused++;
			val &= (uint8_t)~VIRTIO_CR_STATUS_FEATURES_OK;
			/* DRIVER_OK in the same write cannot stand without FEATURES_OK. */
			if (!legacy)
				val &= (uint8_t)~VIRTIO_CR_STATUS_DRIVER_OK;
		}
	}
	base->status = (uint8_t)(val | latch);
	if ((val & ~cur) & VIRTIO_CR_STATUS_DRIVER_OK)
		vdev_base_log(base, VDEV_LOG_INFO, "driver ready (%s), features 0x%llx",
			      legacy ? "legacy" : "modern",
			      (unsigned long long)base->negotiated_caps);
	if (base->vops->set_status)
		base->vops->set_status(base->softc, base->status);
}

bool vdev_virtio_driver_ready(const struct virtio_base *base)
{
	return (base->status & VIRTIO_CR_STATUS_DRIVER_OK) != 0;
}

/* ---- device config ---- */

static bool cfg_access_ok(struct virtio_base *base, uint64_t off, int width, bool write)
{
	uint64_t size = base->vops->cfgsize;

	if ((width != 1 && width != 2 && width != 4 && width != 8) || off >= size ||
	    (uint64_t)width > size - off) {
		vdev_virtio_bad_access(base, write ? "device config write" : "device config read",
				       off, width);
		return false;
	}
	return true;
}

static uint32_t cfg_read32(struct virtio_base *base, uint64_t off, int width)
{
	uint32_t v = 0;

	if (base->vops->cfgread == NULL ||
	    base->vops->cfgread(base->softc, (int)off, width, &v) != 0) {
		vdev_virtio_bad_access(base, "device config read refused by device", off, width);
		return 0;
	}
	if (width < 4)
		v &= (1U << (width * 8)) - 1;
	return v;
}

static void cfg_write32(struct virtio_base *base, uint64_t off, int width, uint32_t val)
{
	if (base->vops->cfgwrite == NULL ||
	    base->vops->cfgwrite(base->softc, (int)off, width, val) != 0)
		vdev_virtio_bad_access(base, "device config write refused by device", off, width);
}

uint64_t vdev_virtio_cfg_read(struct virtio_base *base, uint64_t off, int width)
{
	if (!cfg_access_ok(base, off, width, false))
		return 0;
	/* Devices see at most 32-bit accesses, as ACRN devices expect. */
	if (width == 8)
		return cfg_read32(base, off, 4) | ((uint64_t)cfg_read32(base, off + 4, 4) << 32);
	return cfg_read32(base, off, width);
}

void vdev_virtio_cfg_write(struct virtio_base *base, uint64_t off, int width, uint64_t val)
{
	if (!cfg_access_ok(base, off, width, true))
		return;
	if (width == 8) {
		cfg_write32(base, off, 4, (uint32_t)val);
		cfg_write32(base, off + 4, 4, (uint32_t)(val >> 32));
		return;
	}
	cfg_write32(base, off, width, (uint32_t)val);
}

/* ---- notifications ---- */

struct virtio_vq_info *vdev_virtio_queue(struct virtio_base *base, uint32_t q)
{
	if (base->vops == NULL || q >= (uint32_t)base->vops->nvq)
		return NULL;
	return &base->queues[q];
}

int vdev_virtio_notify(struct virtio_base *base, uint32_t q)
{
	struct virtio_vq_info *vq = vdev_virtio_queue(base, q);
	const char *why = NULL;

	if (vq == NULL)
		why = "no such queue";
	else if (!(base->status & VIRTIO_CR_STATUS_DRIVER_OK))
		why = "driver not ready";
	else if (base->status & (VIRTIO_CR_STATUS_FAILED | VIRTIO_CR_STATUS_NEEDS_RESET))
		why = "device failed or needs reset";
	else if (!(vq->flags & VQ_ALLOC) || (vq->flags & VQ_BROKED))
		why = "queue not ready";
	if (why != NULL) {
		base->priv->stats.notifies_ignored++;
		vdev_base_log(base, VDEV_LOG_DEBUG, "notify for queue %u ignored: %s", q, why);
		return -EINVAL;
	}
	base->priv->stats.notifies++;
	if (vq->notify)
		vq->notify(base->softc, vq);
	else if (base->vops->qnotify)
		base->vops->qnotify(base->softc, vq);
	return 0;
}

/* A host notification with a recorder attached, out of line (trace_hooks.h). */
static __attribute__((noinline, cold)) int traced_notify(struct virtio_base *base, int q)
{
	struct vdev_trace *t = base->priv->trace;
	int rc;

	vdev_trace_enter(t);
	rc = vdev_virtio_notify(base, (uint32_t)q);
	vdev_trace_leave_notify(t, q);
	return rc;
}

VDEV_EXPORT int vdev_virtio_queue_notify(struct virtio_base *base, int q)
{
	int rc;

	if (base == NULL || base->vops == NULL || base->priv == NULL || q < 0)
		return -EINVAL;
	vdev_virtio_lock(base);
	if (vdev_unlikely(base->priv->trace != NULL))
		rc = traced_notify(base, q);
	else
		rc = vdev_virtio_notify(base, (uint32_t)q);
	vdev_virtio_unlock(base);
	return rc;
}

/* ---- misc ---- */

void vdev_virtio_lock(struct virtio_base *base)
{
	if (base->mtx)
		pthread_mutex_lock(base->mtx);
}

void vdev_virtio_unlock(struct virtio_base *base)
{
	if (base->mtx)
		pthread_mutex_unlock(base->mtx);
}

void vdev_virtio_bad_access(struct virtio_base *base, const char *what, uint64_t off, int width)
{
	base->priv->stats.bad_accesses++;
	vdev_base_log(base, VDEV_LOG_WARN, "refused %s at 0x%llx width %d", what,
		      (unsigned long long)off, width);
}

VDEV_EXPORT void vdev_virtio_get_stats(const struct virtio_base *base,
				       struct vdev_virtio_stats *out)
{
	if (base == NULL || out == NULL)
		return;
	if (base->priv == NULL) {
		memset(out, 0, sizeof(*out));
		return;
	}
	*out = base->priv->stats;
	for (int i = 0; i < base->priv->nvq; i++) {
		const struct vdev_vq_priv *q = &base->priv->vq[i];

		out->chains += q->n_chains;
		out->used += q->n_used;
		out->descriptors += q->n_descriptors;
	}
}
