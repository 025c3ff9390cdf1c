/* SPDX-License-Identifier: BSD-3-Clause */
/* The public device handle and the completion queue shared by all device models. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/dev_internal.h"
#include "transport/virtio_pci_internal.h"
#include "trace/trace_hooks.h"
#include "util/common.h"

/* ---- completion queue ---- */

int vdev_completions_init(struct vdev_completions *c)
{
	c->head = NULL;
	c->tail = &c->head;
	c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->efd < 0)
		return -errno;
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		close(c->efd);
		c->efd = -1;
		return -ENOMEM;
	}
	return 0;
}

void vdev_completions_fini(struct vdev_completions *c)
{
	if (c->efd < 0)
		return;
	pthread_mutex_destroy(&c->lock);
	close(c->efd);
	c->efd = -1;
}

void vdev_completions_push(struct vdev_completions *c, struct vdev_completion *item)
{
	uint64_t one = 1;
	bool was_empty;

	item->next = NULL;
	pthread_mutex_lock(&c->lock);
	was_empty = c->head == NULL;
	*c->tail = item;
	c->tail = &item->next;
	pthread_mutex_unlock(&c->lock);
	/* One wake-up per batch: the consumer takes everything queued at once. */
	if (was_empty)
		(void)!write(c->efd, &one, sizeof(one));
}

struct vdev_completion *vdev_completions_take(struct vdev_completions *c)
{
	struct vdev_completion *list;
	uint64_t n;

	/* Clear the wake-up first: anything pushed after this read wakes us again. */
	(void)!read(c->efd, &n, sizeof(n));
	pthread_mutex_lock(&c->lock);
	list = c->head;
	c->head = NULL;
	c->tail = &c->head;
	pthread_mutex_unlock(&c->lock);
	return list;
}

int vdev_completions_fd(const struct vdev_completions *c)
{
	return c->efd;
}

/* ---- the handle ---- */

int vdev_dev_check_pci(const struct vdev_virtio_pci_config *pci, const char **field,
		       const char **why)
{
	const char *f, *w;

	if (pci == NULL)
		return -EINVAL;
	return vdev_vpci_check_config(pci, field ? field : &f, why ? why : &w);
}

int vdev_dev_init(struct vdev_dev *dev, struct vmctx *ctx, const char *name,
		  const struct vdev_dev_ops *ops, const struct virtio_ops *vops,
		  struct virtio_vq_info *queues, const struct vdev_virtio_pci_config *pci)
{
	struct pci_vdev *fn;
	int rc;

	if (ctx == NULL || ops == NULL || vops == NULL || vdev_dev_check_pci(pci, NULL, NULL) < 0)
		return -EINVAL;
	dev->done.efd = -1;
	if (pthread_mutex_init(&dev->lock, NULL) != 0)
		return -ENOMEM;
	rc = vdev_pci_create(ctx, name, &fn);
	if (rc < 0) {
		pthread_mutex_destroy(&dev->lock);
		return rc;
	}
	dev->ops = ops;
	virtio_linkup(&dev->base, vops, dev, fn, queues);
	dev->base.mtx = &dev->lock;
	rc = vdev_virtio_pci_init(&dev->base, ops->type, pci);
	if (rc < 0) {
		vdev_dev_fini(dev);
		return rc;
	}
	return 0;
}

int vdev_dev_enable_completions(struct vdev_dev *dev)
{
	int rc = vdev_completions_init(&dev->done);

	if (rc == 0)
		dev->have_done = true;
	return rc;
}

void vdev_dev_fini(struct vdev_dev *dev)
{
	struct pci_vdev *fn = dev->base.dev;

	/* A recorder still attached keeps its file until vdev_trace_stop(), not the device.
	 * No private state: virtio_linkup() ran out of memory, nothing is attached. */
	if (dev->base.priv != NULL && vdev_virtio_trace(&dev->base) != NULL)
		vdev_trace_detach(vdev_virtio_trace(&dev->base));
	vdev_virtio_release(&dev->base);
	if (dev->have_done)
		vdev_completions_fini(&dev->done);
	dev->have_done = false;
	if (fn != NULL)
		vdev_pci_destroy(fn);
	dev->base.dev = NULL;
	pthread_mutex_destroy(&dev->lock);
}

VDEV_EXPORT int vdev_dev_pollfds(struct vdev_dev *dev, struct vdev_pollfd *fds, int max)
{
	int n = 0;

	if (dev == NULL || (fds == NULL && max > 0) || max < 0)
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	if (dev->have_done && n < max)
		fds[n++] = (struct vdev_pollfd){.fd = dev->done.efd, .events = VDEV_POLL_IN};
	if (dev->ops->pollfds) {
		int m = dev->ops->pollfds(dev, fds + n, max - n);
		n = m < 0 ? m : n + m;
	}
	pthread_mutex_unlock(&dev->lock);
	return n;
}

VDEV_EXPORT int vdev_dev_next_timeout_ms(struct vdev_dev *dev)
{
	int ms = -1;

	if (dev == NULL)
		return -1;
	pthread_mutex_lock(&dev->lock);
	if (dev->ops->next_timeout_ms)
		ms = dev->ops->next_timeout_ms(dev);
	pthread_mutex_unlock(&dev->lock);
	return ms;
}

VDEV_EXPORT int vdev_dev_poll(struct vdev_dev *dev)
{
	struct vdev_trace *t;
	int rc = 0;

	if (dev == NULL)
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	t = vdev_virtio_trace(&dev->base);
	if (vdev_unlikely(t != NULL))
		vdev_trace_enter(t);
	if (dev->ops->poll)
		rc = dev->ops->poll(dev);
	if (vdev_unlikely(t != NULL))
		vdev_trace_leave_poll(t);
	pthread_mutex_unlock(&dev->lock);
	return rc;
}

VDEV_EXPORT struct pci_vdev *vdev_dev_pci(struct vdev_dev *dev)
{
	return dev ? dev->base.dev : NULL;
}

VDEV_EXPORT struct virtio_base *vdev_dev_virtio(struct vdev_dev *dev)
{
	return dev ? &dev->base : NULL;
}

VDEV_EXPORT const char *vdev_dev_name(const struct vdev_dev *dev)
{
	return dev && dev->base.dev ? vdev_pci_name(dev->base.dev) : "";
}

VDEV_EXPORT uint16_t vdev_dev_type(const struct vdev_dev *dev)
{
	return dev ? dev->ops->type : 0;
}

VDEV_EXPORT void vdev_dev_get_stats(struct vdev_dev *dev, struct vdev_dev_stats *out)
{
	if (dev == NULL || out == NULL)
		return;
	pthread_mutex_lock(&dev->lock);
	*out = dev->stats;
	pthread_mutex_unlock(&dev->lock);
}

VDEV_EXPORT void vdev_dev_destroy(struct vdev_dev *dev)
{
	if (dev == NULL)
		return;
	/* The type's destroy stops backend threads first, so nothing completes into a
	 * device that is being torn down; it frees the device memory after fini. */
	dev->ops->destroy(dev);
}
