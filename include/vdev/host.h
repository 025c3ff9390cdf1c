/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The host interface: everything libvdev needs from the program that embeds it.
 *
 * The library never assumes KVM, ACRN, an event loop, or that guest RAM is one flat
 * mapping. The embedder supplies one versioned table of callbacks when it creates a
 * `struct vmctx` (the opaque host handle that every device hangs off), and the library
 * reaches guest memory, interrupts and logging only through it.
 *
 * Threading contract
 * ------------------
 * - libvdev has no global mutable state and starts no threads. Distinct `vmctx`
 *   objects, and the devices under them, may be used from different threads freely.
 * - All entry points of one device (register accesses, vq_* calls, interrupt and reset
 *   calls) must be serialised. Either the embedder does that itself, or it sets
 *   `virtio_base.mtx` (ACRN's optional per-device lock, see vdev/virtio.h): the library
 *   then takes that mutex around every register access it receives, and calls the
 *   device's virtio_ops callbacks with it held. A device whose backend completes
 *   requests on another thread takes the same mutex around vq_relchain()/vq_endchains().
 *   The library never takes the lock from inside vq_* or interrupt paths, so a plain
 *   (non-recursive) mutex is enough.
 * - Host callbacks are invoked on the thread that made the libvdev call, with the
 *   device lock (if any) held. They must not call back into the same device.
 */
#ifndef VDEV_HOST_H
#define VDEV_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Bump when the layout of struct vdev_host_ops grows; older tables stay accepted.
 * 1: translate .. log.  2: adds now_ns (a version-1 table is read without it and
 * behaves as before: the devices read CLOCK_MONOTONIC).
 */
#define VDEV_HOST_OPS_VERSION 2

/* Direction of a guest-memory access, seen from the device. */
enum vdev_dma_dir {
	VDEV_DMA_READ = 1,  /* the device reads guest memory */
	VDEV_DMA_WRITE = 2, /* the device writes guest memory */
};

enum vdev_log_level {
	VDEV_LOG_ERROR = 0, /* the library cannot do what it was asked */
	VDEV_LOG_WARN = 1,  /* a guest or caller broke a rule; libvdev coped */
	VDEV_LOG_INFO = 2,  /* life-cycle events: reset, driver ready, queue enabled */
	VDEV_LOG_DEBUG = 3, /* per-access detail; costly, off by default */
};

struct pci_vdev;

struct vdev_host_ops {
	/* Must be VDEV_HOST_OPS_VERSION (or an older version this library accepts). */
	uint32_t version;

	/*
	 * Required. Translate the guest-physical range [gpa, gpa + len) to host memory.
	 * On success return 0, set *hva to the host address of gpa and *contig to how
	 * many bytes starting there are contiguous in host memory (1 <= *contig <= len).
	 * Return a negative errno when gpa is not guest RAM (unmapped, MMIO, a device's
	 * own BAR): libvdev treats that as a guest error, never as a crash, and loops
	 * over fragments itself when *contig < len. It may also be asked about a buffer
	 * the device is about to use, to start its cache misses early (virtio-net
	 * receive), and not use after all: a translation must not have side effects.
	 */
	int (*translate)(void *opaque, uint64_t gpa, uint64_t len, enum vdev_dma_dir dir,
			 void **hva, uint64_t *contig);

	/* Optional: guest memory [gpa, gpa+len) was (or may have been) written. */
	void (*mark_dirty)(void *opaque, uint64_t gpa, uint64_t len);

	/*
	 * Optional: send an MSI or MSI-X message. Return 0 when delivered, a negative
	 * errno otherwise (the library counts failures and logs them).
	 */
	int (*msi_send)(void *opaque, struct pci_vdev *dev, uint64_t addr, uint32_t data);

	/* Optional: set the level of the function's INTx line (1 asserted, 0 not). */
	void (*intx_set)(void *opaque, struct pci_vdev *dev, int level);

	/*
	 * Optional: a queue's notify register became live (add = true, at queue enable)
	 * or went away (add = false, at reset). `baridx`/`offset` locate it inside the
	 * function's BAR, `width` is the access size and `datamatch` the value a driver
	 * writes there for this queue, so a host can wire an ioeventfd to it and call
	 * vdev_virtio_queue_notify() when it fires.
	 */
	void (*notify_region)(void *opaque, struct pci_vdev *dev, int queue, int baridx,
			      uint64_t offset, int width, uint32_t datamatch, bool add);

	/*
	 * Optional: one log line, without a trailing newline. `devname` is the name the
	 * device was created with ("" for messages about the vmctx itself). Without this
	 * callback messages are dropped; the library never writes to stderr by itself.
	 */
	void (*log)(void *opaque, enum vdev_log_level level, const char *devname,
		    const char *msg);

	/* ---- version 2 ---- */

	/*
	 * Optional: the devices' clock, monotonic nanoseconds (rate limiters, retry
	 * timers). Without it they read CLOCK_MONOTONIC. A host that must control time
	 * supplies it: a trace replay serves recorded clock readings through it, a test a
	 * fake clock. It must never go backwards.
	 */
	uint64_t (*now_ns)(void *opaque);
};

/*
 * The opaque host handle ACRN calls `struct vmctx`. One per guest-memory view; any
 * number of PCI functions may share one. Created by the embedder, who owns it.
 */
struct vmctx;

/*
 * Create a host handle. `ops` is copied. Returns 0, or -EINVAL when ops is NULL, its
 * version is unknown or `translate` is missing, or -ENOMEM.
 */
int vdev_vmctx_create(const struct vdev_host_ops *ops, void *opaque, struct vmctx **out);

/* Destroy a host handle. Every PCI function created on it must be destroyed first. */
void vdev_vmctx_destroy(struct vmctx *ctx);

/* Messages above `level` are not formatted nor passed on. Default: VDEV_LOG_INFO. */
void vdev_vmctx_set_log_level(struct vmctx *ctx, enum vdev_log_level level);

/* The opaque pointer given at creation. */
void *vdev_vmctx_opaque(const struct vmctx *ctx);

/* Library version, e.g. "0.1.0". */
const char *vdev_version(void);

#ifdef __cplusplus
}
#endif

#endif /* VDEV_HOST_H */
