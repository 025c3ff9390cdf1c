/* SPDX-License-Identifier: BSD-3-Clause */
#include "harness.h"

#include <string.h>

#define HARNESS_RAM (16 << 20)
#define HARNESS_ALIGN 16

static int echo_create(struct fx *f, struct vmctx *ctx, void *arg)
{
	struct echo_dev *dev;
	int rc = echo_dev_create(ctx, "echo0", arg, &dev);

	if (rc < 0)
		return rc;
	f->handle = dev;
	f->pci = echo_dev_pci(dev);
	f->virtio = &dev->base;
	return 0;
}

static void echo_destroy(struct fx *f)
{
	echo_dev_destroy(f->handle);
}

static const struct fx_device_ops echo_ops = {.create = echo_create, .destroy = echo_destroy};

int harness_open_full(struct harness *h, enum vdev_pci_mode mode, enum vdev_drv_access access,
		      const struct echo_dev_config *ecfg, bool msix, uint64_t ram_size,
		      uint64_t frag)
{
	struct fx_opts o = {.mode = {mode, access, "echo"}, .msix = msix, .ram_size = ram_size, .frag = frag,
			    .align = HARNESS_ALIGN};
	struct echo_dev_config cfg = {0};
	int rc;

	memset(h, 0, sizeof(*h));
	if (ecfg)
		cfg = *ecfg;
	cfg.pci.mode = mode;
	if (msix)
		cfg.pci.msix = true;
	rc = fx_open(&h->fx, &o, &echo_ops, &cfg);
	if (rc < 0)
		return rc;
	h->sim = h->fx.sim;
	h->dev = h->fx.handle;
	h->drv = h->fx.drv;
	h->mode = mode;
	h->access = access;
	return 0;
}

int harness_open(struct harness *h, enum vdev_pci_mode mode, enum vdev_drv_access access,
		 const struct echo_dev_config *ecfg)
{
	return harness_open_full(h, mode, access, ecfg, ecfg ? ecfg->pci.msix : false,
				 HARNESS_RAM, 0);
}

int harness_open_ram(struct harness *h, enum vdev_pci_mode mode, enum vdev_drv_access access,
		     const struct echo_dev_config *ecfg, uint64_t ram_size)
{
	return harness_open_full(h, mode, access, ecfg, ecfg ? ecfg->pci.msix : false, ram_size,
				 0);
}

int harness_open_msix(struct harness *h, enum vdev_pci_mode mode, enum vdev_drv_access access)
{
	return harness_open_full(h, mode, access, NULL, true, HARNESS_RAM, 0);
}

void harness_close(struct harness *h)
{
	fx_close(&h->fx);
	memset(h, 0, sizeof(*h));
}

int harness_ready(struct harness *h, uint64_t features, uint16_t qsize)
{
	return fx_ready(&h->fx, features, qsize, -1);
}

uint64_t harness_buf(struct harness *h, uint32_t len, void **p)
{
	return fx_alloc(h->sim, len, HARNESS_ALIGN, p);
}
