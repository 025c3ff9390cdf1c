/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What every libvdev device model (blk, net, console, rng) has in common: a handle,
 * counters, and how it plugs into the embedder's event loop.
 *
 * Event-loop contract
 * -------------------
 * libvdev owns no loop and starts no thread of its own (a backend may run a worker
 * pool, e.g. block I/O). A device lists the file descriptors it wants watched with
 * vdev_dev_pollfds(); when any of them is ready, or a timer the device asked for with
 * vdev_dev_next_timeout_ms() expires, the embedder calls vdev_dev_poll() on its own
 * thread. All guest-visible effects (used-ring writes, interrupts, config changes)
 * happen inside register accesses or vdev_dev_poll(), under the device's lock; a
 * backend thread never touches guest memory or raises an interrupt itself, so the
 * host's callbacks always run on the embedder's thread.
 *
 * Every device sets `virtio_base.mtx` to its own mutex: register accesses,
 * vdev_dev_poll() and the vdev_<type>_* host controls may come from different threads.
 */
#ifndef VDEV_DEVICE_H
#define VDEV_DEVICE_H

#include <stdint.h>

#include "vdev/virtio.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vdev_dev;

/* Counters of one device. Monotonic until the device is destroyed (not cleared by a
 * guest reset). */
struct vdev_dev_stats {
	uint64_t requests;  /* requests (chains) completed */
	uint64_t bytes_in;  /* payload bytes the device took from the guest */
	uint64_t bytes_out; /* payload bytes the device gave the guest */
	uint64_t errors;    /* requests completed with an error status */
	uint64_t dropped;   /* requests or frames dropped (malformed, backend refused) */
	uint64_t no_buffer; /* host data waited because the guest had no buffer */
	uint64_t reserved[8]; /* zero: a counter added later takes a slot here, so the
				struct keeps its size and layout */
};

#define VDEV_POLL_IN 0x1
#define VDEV_POLL_OUT 0x4

struct vdev_pollfd {
	int fd;
	short events; /* VDEV_POLL_IN and/or VDEV_POLL_OUT */
};

/*
 * The descriptors to watch now, at most `max` (returns the number written, or a
 * negative errno). The set can change after any call into the device; ask again after
 * each vdev_dev_poll().
 */
int vdev_dev_pollfds(struct vdev_dev *dev, struct vdev_pollfd *fds, int max);

/* Milliseconds until the device wants vdev_dev_poll() even if no fd is ready (a rate
 * limiter refilling), or -1 for never. */
int vdev_dev_next_timeout_ms(struct vdev_dev *dev);

/*
 * Do whatever is ready: deliver backend completions, move host data to the guest,
 * retry what waited for buffers or back-pressure. Never blocks. Returns 0 or a
 * negative errno for a host-side failure (logged; the device keeps running).
 */
int vdev_dev_poll(struct vdev_dev *dev);

struct pci_vdev *vdev_dev_pci(struct vdev_dev *dev);
struct virtio_base *vdev_dev_virtio(struct vdev_dev *dev);
const char *vdev_dev_name(const struct vdev_dev *dev);
uint16_t vdev_dev_type(const struct vdev_dev *dev); /* VIRTIO_TYPE_* */
void vdev_dev_get_stats(struct vdev_dev *dev, struct vdev_dev_stats *out);

/*
 * Stop the backends (waiting for requests they hold), flush what must reach storage,
 * and free the device and its PCI function. NULL is accepted.
 */
void vdev_dev_destroy(struct vdev_dev *dev);

#ifdef __cplusplus
}
#endif

#endif /* VDEV_DEVICE_H */
