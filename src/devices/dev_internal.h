/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The common half of every device model: struct vdev_dev (embedded first in each
 * device), its set-up and tear-down, and the completion queue through which backend
 * threads hand finished work to vdev_dev_poll() on the embedder's thread.
 */
#ifndef VDEV_SRC_DEVICES_DEV_INTERNAL_H
#define VDEV_SRC_DEVICES_DEV_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include "core/virtio_internal.h"
#include "trace/trace_describe.h"
#include "vdev/device.h"
#include "vdev/virtio_pci.h"

struct vdev_dev;

/* What a device type plugs into the common handle. */
struct vdev_dev_ops {
	uint16_t type; /* VIRTIO_TYPE_* */
	/* Called with the device lock held. May be NULL (no fds, no timer). */
	int (*pollfds)(struct vdev_dev *dev, struct vdev_pollfd *fds, int max);
	int (*next_timeout_ms)(struct vdev_dev *dev);
	/* Called with the device lock held; never blocks. */
	int (*poll)(struct vdev_dev *dev);
	/* Called without the lock: stop the backends (joining their threads), free the
	 * type's own state, call vdev_dev_fini(), then free the device memory. */
	void (*destroy)(struct vdev_dev *dev);
	/* Emit the PARAM records a replay rebuilds this device from (its configuration
	 * as created: docs/trace-format.md lists the keys per type). Device lock held.
	 * May be NULL: the device is then recorded but cannot be replayed. */
	void (*describe)(struct vdev_dev *dev, vdev_trace_param_fn emit, void *arg);
};

/* One finished piece of backend work, linked intrusively into the queue. */
struct vdev_completion {
	struct vdev_completion *next;
};

/* Multi-producer (backend threads), single-consumer (vdev_dev_poll) queue that wakes
 * the embedder's loop through an eventfd. */
struct vdev_completions {
	pthread_mutex_t lock;
	struct vdev_completion *head;
	struct vdev_completion **tail;
	int efd;
};

int vdev_completions_init(struct vdev_completions *c);
void vdev_completions_fini(struct vdev_completions *c);
/* From any thread: queue one item and wake the loop. */
void vdev_completions_push(struct vdev_completions *c, struct vdev_completion *item);
/* Take everything queued so far, oldest first (NULL when empty); clears the wake-up. */
struct vdev_completion *vdev_completions_take(struct vdev_completions *c);
int vdev_completions_fd(const struct vdev_completions *c);

struct vdev_dev {
	struct virtio_base base; /* first: the softc every virtio_ops callback receives */
	const struct vdev_dev_ops *ops;
	pthread_mutex_t lock;    /* virtio_base.mtx points here */
	struct vdev_dev_stats stats;
	struct vdev_completions done;
	bool have_done;
};

/*
 * Create the PCI function `name` on ctx, link the virtio base (offering `features`
 * on top of vops->hv_caps), set the lock, and lay out the function per `pci`. On
 * failure everything is undone. `dev` must be zeroed by the caller.
 */
int vdev_dev_init(struct vdev_dev *dev, struct vmctx *ctx, const char *name,
		  const struct vdev_dev_ops *ops, const struct virtio_ops *vops,
		  struct virtio_vq_info *queues, const struct vdev_virtio_pci_config *pci);

/* Set up dev->done for a device whose backend completes asynchronously. */
int vdev_dev_enable_completions(struct vdev_dev *dev);

/* Undo vdev_dev_init (the caller frees the device memory itself afterwards). */
void vdev_dev_fini(struct vdev_dev *dev);

/* Validate a PCI layout from an embedder: mode known. Returns 0 or -EINVAL. */
int vdev_dev_check_pci(const struct vdev_virtio_pci_config *pci, const char **field,
		       const char **why);

#endif
