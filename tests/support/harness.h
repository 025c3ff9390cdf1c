/* SPDX-License-Identifier: BSD-3-Clause */
/* The echo device on the test fixture: what the foundation suites, the fuzzers and the
 * benchmarks open. */
#ifndef VDEV_TESTS_HARNESS_H
#define VDEV_TESTS_HARNESS_H

#include "echo_dev.h"
#include "fixture.h"
#include "vdev/driver.h"
#include "vdev/vdev.h"

struct harness {
	struct fx fx;
	/* fx.sim and fx.drv again, under the short names the echo suites, fuzzers and
	 * benchmarks use, beside the echo device itself. */
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
/*
 * The general form: RAM [0, ram_size) fragmented by `frag`, the echo device from `ecfg`
 * (its pci.mode set to `mode`), a driver with `access` and MSI-X when `msix`.
 */
int harness_open_full(struct harness *h, enum vdev_pci_mode mode, enum vdev_drv_access access,
		      const struct echo_dev_config *ecfg, bool msix, uint64_t ram_size,
		      uint64_t frag);
void harness_close(struct harness *h);

/* Negotiate `features`, set up every queue at `qsize` (0: max) and set DRIVER_OK. */
int harness_ready(struct harness *h, uint64_t features, uint16_t qsize);

/* Allocate a guest buffer and return its host pointer through *p (0 when RAM is out). */
uint64_t harness_buf(struct harness *h, uint32_t len, void **p);

#endif
