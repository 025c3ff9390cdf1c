/* SPDX-License-Identifier: BSD-3-Clause */
#include "echo_dev.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void echo_reset(void *softc)
{
	struct echo_dev *dev = softc;

	dev->resets++;
	memset(dev->cfg, 0, ECHO_CFG_REQUESTS + 4);
	virtio_reset_dev(&dev->base);
}

static void echo_qnotify(void *softc, struct virtio_vq_info *vq)
{
	struct echo_dev *dev = softc;

	dev->kicks++;
	if (!dev->manual)
		echo_dev_process(dev, vq->num);
}

static int echo_cfgread(void *softc, int off, int size, uint32_t *val)
{
	struct echo_dev *dev = softc;
	uint32_t v = 0;

	memcpy(&v, dev->cfg + off, (size_t)size); /* little-endian host */
	*val = v;
	return 0;
}

static int echo_cfgwrite(void *softc, int off, int size, uint32_t val)
{
	struct echo_dev *dev = softc;

	/* Only the two scratch fields are writable. */
	if (off < ECHO_CFG_SCRATCH || off + size > ECHO_CFG_ID)
		return -1;
	memcpy(dev->cfg + off, &val, (size_t)size);
	return 0;
}

static void echo_apply_features(void *softc, uint64_t features)
{
	struct echo_dev *dev = softc;

	dev->applied_features = features;
	dev->apply_calls++;
}

static void echo_set_status(void *softc, uint64_t status)
{
	struct echo_dev *dev = softc;

	dev->last_status = status;
}

static void echo_one(struct iovec *iov, uint16_t *flags, int n, uint32_t *copied)
{
	int first_writable, r = 0, w;
	size_t roff = 0, woff = 0;

	*copied = 0;
	for (first_writable = 0; first_writable < n && !(flags[first_writable] & VRING_DESC_F_WRITE);
	     first_writable++)
		;
	/* readable iovecs are [0, first_writable), writable [first_writable, n) */
	w = first_writable;
	while (r < first_writable && w < n) {
		size_t chunk = iov[r].iov_len - roff;
		if (chunk > iov[w].iov_len - woff)
			chunk = iov[w].iov_len - woff;
		memmove((char *)iov[w].iov_base + woff, (char *)iov[r].iov_base + roff, chunk);
		*copied += (uint32_t)chunk;
		roff += chunk;
		woff += chunk;
		if (roff == iov[r].iov_len) {
			r++;
			roff = 0;
		}
		if (woff == iov[w].iov_len) {
			w++;
			woff = 0;
		}
	}
}

int echo_dev_process(struct echo_dev *dev, int q)
{
	struct virtio_vq_info *vq = &dev->vq[q];
	struct iovec iov[ECHO_MAX_IOV];
	uint16_t flags[ECHO_MAX_IOV];
	int served = 0;

	while (vq_has_descs(vq)) {
		uint16_t head;
		uint32_t copied;
		int n = vq_getchain(vq, &head, iov, ECHO_MAX_IOV, flags);

		if (n < 0) {
			dev->chain_errors++;
			return -1;
		}
		if (n == 0)
			break;
		echo_one(iov, flags, n, &copied);
		vq_relchain(vq, head, copied);
		served++;
		dev->echoed++;
	}
	{
		uint32_t req;
		memcpy(&req, dev->cfg + ECHO_CFG_REQUESTS, 4);
		req += (uint32_t)served;
		memcpy(dev->cfg + ECHO_CFG_REQUESTS, &req, 4);
	}
	vq_endchains(vq, 1);
	return served;
}

void echo_dev_host_set_scratch(struct echo_dev *dev, uint32_t val)
{
	memcpy(dev->cfg + ECHO_CFG_SCRATCH, &val, 4);
	virtio_config_changed(&dev->base);
}

int echo_dev_create(struct vmctx *ctx, const char *name, const struct echo_dev_config *cfg,
		    struct echo_dev **out)
{
	struct echo_dev *dev;
	struct pci_vdev *pci;
	int nvq = cfg->nvq ? cfg->nvq : 1;
	int rc;

	if (nvq > ECHO_MAX_QUEUES)
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (dev == NULL)
		return -ENOMEM;
	rc = vdev_pci_create(ctx, name, &pci);
	if (rc < 0) {
		free(dev);
		return rc;
	}
	dev->ops = (struct virtio_ops){
		.name = "echo",
		.nvq = nvq,
		.cfgsize = ECHO_CFG_SIZE,
		.reset = echo_reset,
		.qnotify = echo_qnotify,
		.cfgread = echo_cfgread,
		.cfgwrite = echo_cfgwrite,
		.apply_features = echo_apply_features,
		.set_status = echo_set_status,
		.hv_caps = cfg->features ? cfg->features : ECHO_DEFAULT_FEATURES,
	};
	dev->manual = cfg->manual;
	memcpy(dev->cfg + ECHO_CFG_ID, "vdevecho", 8);
	for (int i = 0; i < nvq; i++)
		dev->vq[i].qsize = cfg->qsize ? cfg->qsize : 256;
	virtio_linkup(&dev->base, &dev->ops, dev, pci, dev->vq);
	if (cfg->use_mutex) {
		pthread_mutex_init(&dev->mtx, NULL);
		dev->base.mtx = &dev->mtx;
	}
	rc = vdev_virtio_pci_init(&dev->base, VIRTIO_TYPE_ENTROPY, &cfg->pci);
	if (rc < 0) {
		echo_dev_destroy(dev);
		return rc;
	}
	*out = dev;
	return 0;
}

struct pci_vdev *echo_dev_pci(struct echo_dev *dev)
{
	return dev->base.dev;
}

void echo_dev_destroy(struct echo_dev *dev)
{
	struct pci_vdev *pci;

	if (dev == NULL)
		return;
	pci = dev->base.dev;
	vdev_virtio_release(&dev->base);
	if (dev->base.mtx)
		pthread_mutex_destroy(&dev->mtx);
	vdev_pci_destroy(pci);
	free(dev);
}
