/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The one test fixture every suite builds on: a simulated machine, a device made by
 * a create callback, and the driver peer bound to it; the (device mode, driver
 * access) matrix the suites loop over; guest buffers; bringing the driver up to
 * DRIVER_OK; waiting for a used entry; and counting this process's descriptors.
 *
 * Device fixtures (blk, console, net, rng, the echo harness) embed a struct fx and
 * add only what is particular to their device.
 */
#ifndef VDEV_TESTS_FIXTURE_H
#define VDEV_TESTS_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "vdev/driver.h"
#include "vdev/vdev.h"

/* ---------------- the mode x access matrix ---------------- */

struct fx_mode {
	enum vdev_pci_mode mode;
	enum vdev_drv_access access;
	const char *name;
};

/*
 * Every (device mode, driver access) pair that makes sense, defined once. The rows
 * are ordered so that each prefix below is a subset a suite runs in.
 */
extern const struct fx_mode fx_modes[];
/* legacy, modern, transitional with a legacy driver. */
#define FX_NMODES_BASIC 3
/* ... and transitional with a modern driver. */
#define FX_NMODES_TRANSITIONAL 4
/* ... and modern reached only through the PCI configuration access capability. */
#define FX_NMODES 5

/* ---------------- sim + device + driver ---------------- */

struct fx;

/*
 * How a fixture makes its device on the sim's context. `create` builds it from `arg`
 * (the device's own config, already given mode and MSI-X by the caller), stores the
 * device's handle in f->handle and its PCI function in f->pci, and may set f->dev
 * (a library device, for the event loop) and f->virtio. Returns 0 or a negative errno.
 * `destroy` takes f->handle back.
 */
struct fx_device_ops {
	int (*create)(struct fx *f, struct vmctx *ctx, void *arg);
	void (*destroy)(struct fx *f);
};

/* A create callback of a library device hands its device here: handle, dev, pci set. */
void fx_adopt_dev(struct fx *f, struct vdev_dev *dev);
/* The destroy callback of every library device. */
void fx_destroy_dev(struct fx *f);

struct fx_opts {
	struct fx_mode mode;        /* required (name may be NULL) */
	bool msix;                  /* the driver uses MSI-X, one vector per queue */
	uint64_t ram_size;          /* guest RAM at gpa 0; 0: 32 MiB */
	uint64_t frag;              /* sim fragmentation; 0: none */
	uint32_t align;             /* fx_buf() alignment; 0: 64 */
};

struct fx {
	struct vdev_sim *sim;
	struct vdev_dev *dev;         /* the library device, or NULL (the echo device) */
	struct vdev_drv *drv;
	struct pci_vdev *pci;
	struct virtio_base *virtio;   /* for the queue count */
	void *handle;                 /* what the create callback made */
	const struct fx_device_ops *ops;
	struct fx_mode mode;
	bool msix;
	uint32_t align;
	uint64_t features;            /* negotiated by fx_ready() */
};

/* Build sim, device and driver. Returns 0 or a negative errno (everything undone). */
int fx_open(struct fx *f, const struct fx_opts *o, const struct fx_device_ops *ops, void *arg);
/* Tear down whatever fx_open() built; safe on a zeroed or closed fixture. */
void fx_close(struct fx *f);

/* The device's queue count (its virtio ops' nvq). */
int fx_nvq(const struct fx *f);
/*
 * Negotiate `features` (the result in f->features), set up queues [0, nq) at `qsize`
 * (0: the maximum) with vector q + 1 under MSI-X, and set DRIVER_OK. nq < 0: every
 * queue of the device. Returns 0 or a negative errno.
 */
int fx_ready(struct fx *f, uint64_t features, uint16_t qsize, int nq);

/* ---------------- guest memory ---------------- */

/* `len` bytes (at least 1) of sim RAM aligned to `align`; 0 when RAM is exhausted.
 * *p (when p is not NULL) gets the host pointer, NULL on failure. Never asserts. */
uint64_t fx_alloc(struct vdev_sim *sim, uint32_t len, uint32_t align, void **p);
/* fx_alloc() at the fixture's alignment, failing the test when RAM is exhausted. */
uint64_t fx_buf(struct fx *f, uint32_t len, void **p);

/* ---------------- completions ---------------- */

/*
 * Run the device's event loop until queue q has a used entry or timeout_ms passed.
 * Returns true with its token and length (either pointer may be NULL), false on
 * timeout. The fixture must have a library device (f->dev).
 */
bool fx_wait_used(struct fx *f, uint16_t q, void **token, uint32_t *len, int timeout_ms);
/* Pump the device's event loop for about `ms` milliseconds. */
void fx_pump(struct fx *f, int ms);
/* Reap every used entry of queue q; returns how many. */
int fx_drain_used(struct fx *f, uint16_t q);

/* ---------------- process resources ---------------- */

/* Open descriptors of this process (for leak checks: compare before and after). */
int fx_count_fds(void);
/* How many of them refer to `path`. */
int fx_count_fds_on(const char *path);

/* Milliseconds on the monotonic clock. */
long long fx_now_ms(void);

#endif
