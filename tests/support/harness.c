/* SPDX-License-Identifier: BSD-3-Clause */
#include "harness.h"

#include <errno.h>
#include <string.h>

const struct harness_combo harness_combos[] = {
	{VDEV_PCI_LEGACY, VDEV_DRV_LEGACY, "legacy"},
	{VDEV_PCI_MODERN, VDEV_DRV_MODERN, "modern"},
	{VDEV_PCI_MODERN, VDEV_DRV_MODERN_CFGACCESS, "modern-cfgaccess"},
	{VDEV_PCI_TRANSITIONAL, VDEV_DRV_LEGACY, "transitional-legacy"},
	{VDEV_PCI_TRANSITIONAL, VDEV_DRV_MODERN, "transitional-modern"},
};
const int harness_ncombos = (int)(sizeof(harness_combos) / sizeof(harness_combos[0]));

#define HARNESS_RAM (16 << 20)

static int open_common(struct harness *h, enum vdev_pci_mode mode, enum vdev_drv_access access,
		       const struct echo_dev_config *ecfg, bool msix, uint64_t ram_size)
{
	struct vdev_sim_config scfg = {.size = sizeof(struct vdev_sim_config),
				       .ram_base = 0, .ram_size = ram_size};
	struct echo_dev_config cfg = {0};
	struct vdev_drv_config dcfg = {.size = sizeof(struct vdev_drv_config),
				       .access = access, .use_msix = msix};
	int rc;

	memset(h, 0, sizeof(*h));
	h->mode = mode;
	h->access = access;
	if (ecfg)
		cfg = *ecfg;
	cfg.pci.mode = mode;
	if (msix)
		cfg.pci.msix = true;
	rc = vdev_sim_create(&scfg, &h->sim);
	if (rc < 0)
		return rc;
	rc = echo_dev_create(vdev_sim_vmctx(h->sim), "echo0", &cfg, &h->dev);
	if (rc < 0)
		goto fail;
	rc = vdev_drv_open(h->sim, echo_dev_pci(h->dev), &dcfg, &h->drv);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	harness_close(h);
	return rc;
}

int harness_open(struct harness *h, enum vdev_pci_mode mode, enum vdev_drv_access access,
		 const struct echo_dev_config *ecfg)
{
	return open_common(h, mode, access, ecfg, ecfg ? ecfg->pci.msix : false, HARNESS_RAM);
}

int harness_open_ram(struct harness *h, enum vdev_pci_mode mode, enum vdev_drv_access access,
		     const struct echo_dev_config *ecfg, uint64_t ram_size)
{
	return open_common(h, mode, access, ecfg, ecfg ? ecfg->pci.msix : false, ram_size);
}

int harness_open_msix(struct harness *h, enum vdev_pci_mode mode, enum vdev_drv_access access)
{
	return open_common(h, mode, access, NULL, true, HARNESS_RAM);
}

void harness_close(struct harness *h)
{
	if (h->drv)
		vdev_drv_close(h->drv);
	if (h->dev)
		echo_dev_destroy(h->dev);
	if (h->sim)
		vdev_sim_destroy(h->sim);
	memset(h, 0, sizeof(*h));
}

int harness_ready(struct harness *h, uint64_t features, uint16_t qsize)
{
	int rc = vdev_drv_negotiate(h->drv, features, NULL);

	if (rc < 0)
		return rc;
	for (int q = 0; q < h->dev->base.vops->nvq; q++) {
		uint16_t vec = vdev_pci_msix_enabled(echo_dev_pci(h->dev)) ? (uint16_t)(q + 1)
									  : VIRTIO_MSI_NO_VECTOR;
		rc = vdev_drv_queue_setup(h->drv, (uint16_t)q, qsize, vec);
		if (rc < 0)
			return rc;
	}
	return vdev_drv_driver_ok(h->drv);
}

uint64_t harness_buf(struct harness *h, uint32_t len, void **p)
{
	uint64_t gpa = vdev_sim_alloc(h->sim, len ? len : 1, 16);

	if (p)
		*p = gpa ? vdev_sim_ptr(h->sim, gpa, len ? len : 1) : NULL;
	return gpa;
}
