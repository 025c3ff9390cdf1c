/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vdev_trace_start(): attaching the recorder (src/trace) to a device. The recorder
 * sits below every other layer and includes none of them, so this is where a device
 * is turned into what the recorder needs to know (trace/trace_subject.h): its type,
 * how its PCI function was laid out, its lock, how to point its hooks at the
 * recorder, and its own describe callback for the PARAM records.
 */
#include <errno.h>

#include "core/vmctx.h"
#include "devices/dev_internal.h"
#include "trace/trace_format.h"
#include "trace/trace_subject.h"
#include "transport/pci_internal.h"
#include "util/common.h"
#include "util/config.h"
#include "vdev/trace.h"

static uint8_t pci_mode_of(const struct virtio_base *b)
{
	if (b->has_legacy && b->has_modern)
		return VDEV_PCI_TRANSITIONAL;
	return b->has_modern ? VDEV_PCI_MODERN : VDEV_PCI_LEGACY;
}

/* The struct vdev_virtio_pci_config booleans the function was laid out with. */
static uint8_t pci_flags_of(const struct virtio_base *b, const struct pci_vdev *pci)
{
	uint8_t f = 0;

	if (pci->msix.cap != 0)
		f |= VDEV_TR_PCI_MSIX;
	if (pci->msi.cap != 0)
		f |= VDEV_TR_PCI_MSI;
	if (b->notify_pio)
		f |= VDEV_TR_PCI_NOTIFY_PIO;
	if (b->has_modern && b->modern_mem32)
		f |= VDEV_TR_PCI_MEM32;
	if (b->has_modern && b->cfg_coff == 0)
		f |= VDEV_TR_PCI_NO_CFG_ACCESS;
	return f;
}

static void describe(void *opaque, vdev_trace_param_fn emit, void *arg)
{
	struct vdev_dev *dev = opaque;

	dev->ops->describe(dev, emit, arg);
}

/* The recorder attaches (t) or lets go (NULL): every hook of the device follows. */
static void hook(void *opaque, struct vdev_trace *t)
{
	struct vdev_dev *dev = opaque;

	vdev_virtio_set_trace(&dev->base, t);
	dev->base.dev->trace = t;
}

static void log_line(void *log_arg, const char *name, const char *msg)
{
	vdev_ctx_log(log_arg, VDEV_LOG_ERROR, name, "%s", msg);
}

/* One recorder per device; a vhost-bound device has no registers to record. Device
 * lock held. */
static bool attachable(const struct vdev_dev *dev)
{
	return vdev_virtio_trace(&dev->base) == NULL &&
	       vdev_virtio_transport_priv(&dev->base) == NULL;
}

/* The size of struct vdev_trace_config's first version; new fields go after it. */
#define TRACE_CONFIG_V1 VDEV_CONFIG_V1_SIZE(struct vdev_trace_config, max_bytes)

VDEV_EXPORT int vdev_trace_start(struct vdev_dev *dev, const struct vdev_trace_config *given,
				 struct vdev_trace **out)
{
	struct vdev_trace_config local; /* everything below reads this copy only */
	const struct vdev_trace_config *cfg = &local;
	char why[VDEV_CONFIG_WHY_LEN];
	struct vdev_trace_subject s;
	struct vdev_trace *t;
	bool ok;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (dev == NULL || given == NULL || out == NULL)
		return -EINVAL;
	rc = vdev_config_take(&local, sizeof(local), given, TRACE_CONFIG_V1, "vdev_trace_config",
			      why, sizeof(why));
	if (rc < 0) {
		vdev_ctx_log(dev->base.vmctx, VDEV_LOG_ERROR, vdev_dev_name(dev), "trace: size: %s",
			     why);
		return rc;
	}
	if ((cfg->path == NULL && cfg->fd < 0) || dev->base.dev == NULL || dev->base.vops == NULL)
		return -EINVAL;
	s = (struct vdev_trace_subject){
		.type = dev->ops->type,
		.nvq = dev->base.vops->nvq,
		.name = vdev_pci_name(dev->base.dev),
		.lock = &dev->lock,
		.hook = hook,
		.describe = dev->ops->describe != NULL ? describe : NULL,
		.dev = dev,
		.log = log_line,
		.log_arg = dev->base.vmctx,
	};
	/* Checked before the file is opened (and truncated), and again once it is. */
	pthread_mutex_lock(&dev->lock);
	ok = attachable(dev);
	s.pci_mode = pci_mode_of(&dev->base);
	s.pci_flags = pci_flags_of(&dev->base, dev->base.dev);
	pthread_mutex_unlock(&dev->lock);
	if (!ok)
		return -EINVAL;
	rc = vdev_trace_recorder_open(&s, cfg, &t);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&dev->lock);
	rc = attachable(dev) ? vdev_trace_recorder_attach(t) : -EINVAL;
	pthread_mutex_unlock(&dev->lock);
	if (rc < 0) {
		vdev_trace_recorder_discard(t);
		return rc;
	}
	*out = t;
	return 0;
}
