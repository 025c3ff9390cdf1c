/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Serving a device the way a vhost back end does. A vhost front end (QEMU's
 * vhost-user-*-pci devices, DPDK's virtio-user) owns the PCI function and the
 * driver's register accesses; the back end only hears their outcome: the negotiated
 * features, each ring's size, addresses and starting index, kicks, and when to call.
 * These functions apply that outcome to a libvdev device, reusing the same device code
 * and virtqueue engine as the PCI transport. The vhost-user wire protocol itself lives
 * in the host program; this is the part that touches the device.
 *
 * Once bound, the device's interrupts go to the callbacks below instead of its PCI
 * function (which stays unused). Guest memory is still reached through the vmctx the
 * device was created on, so ring addresses are guest-physical: a vhost-user host turns
 * the front end's user addresses into guest-physical ones with its memory table.
 * Calls must be serialised with the device's other entry points (take the device lock,
 * virtio_base.mtx, or call from the thread that runs vdev_dev_poll()).
 */
#ifndef VDEV_VHOST_H
#define VDEV_VHOST_H

#include <stdbool.h>
#include <stdint.h>

#include "vdev/virtio.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VDEV_VHOST_OPS_VERSION 1

struct vdev_vhost_ops {
	uint32_t version; /* VDEV_VHOST_OPS_VERSION */
	/* Signal queue q's call eventfd (used buffers, or NOTIFY_ON_EMPTY). Required. */
	void (*call)(void *opaque, int q);
	/* The device changed its config (VHOST_USER_SLAVE_CONFIG_CHANGE_MSG). Optional. */
	void (*config_changed)(void *opaque);
};

/*
 * Switch `base` from its PCI function to a vhost front end, resetting the device.
 * Returns 0, or -EINVAL (bad arguments, ops without call or of an unknown version).
 */
int vdev_vhost_bind(struct virtio_base *base, const struct vdev_vhost_ops *ops, void *opaque);

/* Release what vdev_vhost_bind() set up (call before destroying the device). */
void vdev_vhost_unbind(struct virtio_base *base);

/* Features the device offers a vhost front end (VERSION_1 included). */
uint64_t vdev_vhost_get_features(struct virtio_base *base);

/*
 * The front end's choice (VHOST_USER_SET_FEATURES): must be a subset of what was
 * offered (bits the protocol itself uses, such as VHOST_USER_F_PROTOCOL_FEATURES, are
 * the caller's to strip). The device is then ready, as after DRIVER_OK.
 * Returns 0, or -EINVAL when a bit was not offered or the rings already run.
 */
int vdev_vhost_set_features(struct virtio_base *base, uint64_t features);

/* Ring geometry for queue q, before the ring is started. -EINVAL when q does not
 * exist, the size is not a power of two up to the device's maximum, or the ring runs. */
int vdev_vhost_set_vring_num(struct virtio_base *base, int q, uint16_t num);
int vdev_vhost_set_vring_addr(struct virtio_base *base, int q, uint64_t desc_gpa,
			      uint64_t avail_gpa, uint64_t used_gpa);
/* Where the device resumes taking buffers (VHOST_USER_SET_VRING_BASE). */
int vdev_vhost_set_vring_base(struct virtio_base *base, int q, uint16_t last_avail);

/*
 * Start queue q with the geometry given above: validated and mapped as a PCI queue
 * enable would be (HOSTILE.md H03-H05); the used index continues from what the ring
 * holds. Returns 0, or a negative errno (the queue stays stopped and the log says why).
 */
int vdev_vhost_start_vring(struct virtio_base *base, int q);

/*
 * Stop queue q (VHOST_USER_GET_VRING_BASE) and return, through *last_avail, where a
 * later back end must resume. Requests the device still holds complete into nothing.
 */
int vdev_vhost_stop_vring(struct virtio_base *base, int q, uint16_t *last_avail);

/* True while queue q runs. */
bool vdev_vhost_vring_started(const struct virtio_base *base, int q);

/* A kick arrived on queue q's kick eventfd. 0, or -EINVAL when the queue is stopped. */
int vdev_vhost_kick(struct virtio_base *base, int q);

/* Device config space (VHOST_USER_GET_CONFIG / SET_CONFIG), bounds-checked. */
int vdev_vhost_get_config(struct virtio_base *base, uint32_t offset, uint8_t *buf,
			  uint32_t len);
int vdev_vhost_set_config(struct virtio_base *base, uint32_t offset, const uint8_t *buf,
			  uint32_t len);

/* VHOST_USER_RESET_DEVICE / RESET_OWNER: reset as a status write of 0 would. */
void vdev_vhost_reset(struct virtio_base *base);

#ifdef __cplusplus
}
#endif

#endif /* VDEV_VHOST_H */
