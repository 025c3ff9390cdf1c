/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared test set-up: a simulated machine, an echo device and a driver peer. */
#ifndef VDEV_TESTS_HARNESS_H
#define VDEV_TESTS_HARNESS_H

#include "echo_dev.h"
#include "vdev/driver.h"
#include "vdev/vdev.h"

struct harness {
	struct vdev_sim *sim;
	struct echo_dev *dev;
	struct vdev_drv *drv;
	enum vdev_pci_mode mode;
	enum vdev_drv_access access;
};

/*
 * Build sim (16 MiB RAM at gpa 0), echo device and driver. `ecfg` may be NULL for
 * defaults; its pci.mode is overridden by `mode`. Returns 0 or a negative errno.
 */
int harness_open(struct harness *h, enum vdev_pci_mode mode, enum vdev_drv_access access,
		 const struct echo_dev_config *ecfg);
/* Same, with `ram_size` bytes of guest RAM (fuzzers build thousands of small guests). */
int harness_open_ram(struct harness *h, enum vdev_pci_mode mode, enum vdev_drv_access access,
		     const struct echo_dev_config *ecfg, uint64_t ram_size);
/* Same, with MSI-X on in both device and driver. */
int harness_open_msix(struct harness *h, enum vdev_pci_mode mode, enum vdev_drv_access access);
void harness_close(struct harness *h);

/* Negotiate `features`, set up every queue at `qsize` (0: max) and set DRIVER_OK. */
int harness_ready(struct harness *h, uint64_t features, uint16_t qsize);

/* Allocate a guest buffer and return its host pointer through *p. */
uint64_t harness_buf(struct harness *h, uint32_t len, void **p);

/* Every (device mode, driver access) pair that makes sense, for parameterised loops. */
struct harness_combo {
	enum vdev_pci_mode mode;
	enum vdev_drv_access access;
	const char *name;
};
extern const struct harness_combo harness_combos[];
extern const int harness_ncombos;

#endif
