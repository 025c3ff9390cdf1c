/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The driver peer as a vhost-user front end: the guest side of a vhost-user
 * connection without a VM. It hands a back end (libvdev's connector, QEMU's
 * qemu-storage-daemon, DPDK's vhost PMD) the driver peer's simulated guest RAM as a
 * memfd, negotiates features, sets up split rings with kick and call eventfds, and
 * then lets the ordinary driver-peer calls (vdev_drv_enqueue / vdev_drv_notify /
 * vdev_drv_dequeue) drive those rings: a notify that the back end wants becomes an
 * eventfd write, and completions are found on the used ring, optionally after waiting
 * on the ring's call eventfd.
 *
 * The back end is untrusted: every reply is checked (request id, reply flag, version,
 * size), a reply that does not come within the timeout or does not fit is an error,
 * and a NEED_REPLY acknowledgement that is not 0 fails the request. Nothing the back
 * end sends sizes an allocation.
 *
 * One thread at a time per front end.
 */
#ifndef VDEV_VU_FRONT_H
#define VDEV_VU_FRONT_H

#include <stdint.h>

#include "vdev/driver.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vdev_vu_front;

/* Most queues a front end sets up. */
#define VDEV_VU_FRONT_MAX_QUEUES 16

/*
 * Zero-initialise, set .size = sizeof(struct vdev_vu_front_config), then set what you
 * need. The size lets the struct grow: fields are only ever appended; a caller's shorter
 * struct (an older header) reads as zero past its end, a longer one is refused (-E2BIG)
 * only when it sets what this library does not know; a size below the first version's is
 * -EINVAL.
 */
struct vdev_vu_front_config {
	uint32_t size; /* required: sizeof(struct vdev_vu_front_config) */
	const char *path;   /* the back end's UNIX socket (required) */
	struct vdev_sim *sim; /* guest RAM; must be created with `shared` (required) */
	int timeout_ms;     /* how long to wait for each reply (0: 5000) */
};

/*
 * Connect, SET_OWNER, read the back end's features and, when it offers protocol
 * features, agree on MQ, REPLY_ACK and CONFIG (whichever it has) and read its queue
 * count. Returns 0, -EINVAL (bad config, RAM not shared), -ECONNREFUSED / -ENOENT
 * (nobody listens), -ETIMEDOUT, -EPROTO (a reply that does not fit), -ENOMEM.
 */
int vdev_vu_front_connect(const struct vdev_vu_front_config *cfg, struct vdev_vu_front **out);

/* Stop every started ring (GET_VRING_BASE), close the socket and every eventfd. The
 * sim stays the caller's. NULL is accepted. */
void vdev_vu_front_close(struct vdev_vu_front *f);

/* The device features the back end offers (without VHOST_USER_F_PROTOCOL_FEATURES). */
uint64_t vdev_vu_front_device_features(const struct vdev_vu_front *f);
/* Protocol features agreed on (bit numbers of the vhost-user spec, as a mask). */
uint64_t vdev_vu_front_protocol_features(const struct vdev_vu_front *f);
/* Queues the back end has (GET_QUEUE_NUM with MQ, else 0: unknown). */
uint16_t vdev_vu_front_queue_num(const struct vdev_vu_front *f);

/* GET_CONFIG: `len` (1..256) bytes of device config space from `off`. Needs the
 * CONFIG protocol feature (-EOPNOTSUPP otherwise). Returns 0 or a negative errno. */
int vdev_vu_front_get_config(struct vdev_vu_front *f, uint32_t off, void *buf, uint32_t len);

/*
 * Start the device: SET_FEATURES with `wanted & offered` plus VERSION_1 (and bit 30
 * when protocol features are on), SET_MEM_TABLE with the sim's RAM as one region,
 * then for each queue 0..nqueues-1 rings of `qsize` entries in sim RAM and
 * SET_VRING_NUM / ADDR / BASE 0 / CALL / KICK / ENABLE. *accepted (may be NULL) gets
 * the features in force. Returns 0 or a negative errno; after a failure close.
 */
int vdev_vu_front_start(struct vdev_vu_front *f, uint64_t wanted, uint16_t nqueues,
			uint16_t qsize, uint64_t *accepted);

/* The driver whose queues are the started rings: use vdev_drv_enqueue, notify,
 * kick, dequeue, enable_irq, disable_irq, queue_free and queue_size on it. Its
 * register calls (status, config, ...) reach nothing. NULL before start. */
struct vdev_drv *vdev_vu_front_drv(struct vdev_vu_front *f);

/* Queue q's call eventfd (the back end writes it to interrupt), or -1. */
int vdev_vu_front_call_fd(const struct vdev_vu_front *f, uint16_t q);

/*
 * Wait up to timeout_ms (-1: forever) for queue q's call eventfd and clear it.
 * Returns 1 when it was signalled, 0 on timeout, or a negative errno (-EPIPE when
 * the back end closed the connection meanwhile).
 */
int vdev_vu_front_wait(struct vdev_vu_front *f, uint16_t q, int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif /* VDEV_VU_FRONT_H */
