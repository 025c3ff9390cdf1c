/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared state of one vhost-user connection, split over vhost_user.c (life cycle,
 * event-loop glue, device callbacks), vhost_user_req.c (request dispatch and the
 * small requests), vhost_user_mem.c (the memory table), vhost_user_ring.c (ring
 * state) and vhost_user_conn.c (log, refusals, lock: what all of them call). Not part
 * of any API.
 */
#ifndef VDEV_HOST_VHOST_USER_INTERNAL_H
#define VDEV_HOST_VHOST_USER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "guest_ram.h"
#include "vhost_user.h"
#include "vhost_user_msg.h"

/* Protocol features offered unless withdrawn. INFLIGHT_SHMFD, LOG_SHMFD and in-band
 * notifications are not implemented, so never offered. */
#define VU_OFFERED_PROTOCOL                                                               \
	((1ULL << VU_PROTOCOL_F_MQ) | (1ULL << VU_PROTOCOL_F_REPLY_ACK) |                 \
	 (1ULL << VU_PROTOCOL_F_SLAVE_REQ) | (1ULL << VU_PROTOCOL_F_CONFIG) |             \
	 (1ULL << VU_PROTOCOL_F_RESET_DEVICE) | (1ULL << VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS))

/* Messages handled per vhost_user_conn_handle(): a front end sends one and usually
 * waits, so only a flood reaches this. */
#define VU_MAX_MESSAGES_PER_CALL 64
/* Refusals logged one by one before they are only counted (and logged sparsely), so
 * a hostile front end cannot flood the log. */
#define VU_REFUSE_LOG_FIRST 32
#define VU_REFUSE_LOG_EVERY 1024

enum { VU_DESC, VU_AVAIL, VU_USED };

/* What the front end told us about one ring, kept apart from libvdev's queue so that
 * the order of messages does not matter: it is applied when the ring starts. */
struct vu_ring {
	uint16_t num;
	bool have_addr;
	uint64_t uaddr[3]; /* desc, avail, used: the front end's user addresses */
	uint16_t base;     /* where to resume: SET_VRING_BASE, or where a stop left it */
	int kick_fd;
	int call_fd;
	int err_fd;
	bool enabled;      /* SET_VRING_ENABLE */
	bool started;      /* the libvdev ring runs */
	/* Where the running ring was mapped, to notice a table change that moves it. */
	uint64_t gpa[3];
	uint64_t len[3];
	void *hva[3];
};

/* One region of the table as the front end gave it, with the descriptor kept so the
 * whole table can be rebuilt after ADD_MEM_REG/REM_MEM_REG. */
struct vu_mem_slot {
	struct vu_region r;
	int fd;
};

struct vhost_user_conn {
	/* First: guest_ram_host_ops() finds the table through the vmctx opaque. */
	struct guest_ram *ram;
	int sock;
	int slave_fd;
	struct vmctx *ctx;

	/* the device */
	const struct vhost_user_dev_ops *ops;
	void *ops_arg;
	vhost_user_factory_fn factory; /* vhost_user_conn_create() only */
	void *factory_arg;
	struct vdev_dev *vdev;         /* NULL for a vhost_user_dev_ops device */
	void *dev;
	struct virtio_base *base;
	bool bound;
	int nvq;
	struct vu_ring *rings;

	/* negotiation */
	uint64_t offered_protocol;
	uint64_t protocol;      /* SET_PROTOCOL_FEATURES */
	uint64_t features;      /* SET_FEATURES, without VU_F_PROTOCOL_FEATURES */
	bool features_set;
	bool proto_acked;       /* VU_F_PROTOCOL_FEATURES was in SET_FEATURES */
	bool owner;

	struct vu_mem_slot mem[GUEST_RAM_MAX_REGIONS];
	int nmem;

	vhost_user_log_fn log;
	void *log_opaque;
	/* busy polling (vhost_user_conn_set_busy_poll) */
	bool busy;
	unsigned int busy_socket_every;
	unsigned int busy_countdown; /* rounds until the socket is read again */

	struct vu_reader rd;
	struct vhost_user_conn_stats stats;
	char name[32];
};

/* The body of a reply a request produces itself (GET_*). */
struct vu_reply {
	bool has;
	uint32_t size;
	union {
		uint64_t align;
		uint8_t bytes[VU_MAX_PAYLOAD];
	} body;
};

/* vhost_user_req.c: act on one complete message (its fds are consumed). Returns 0,
 * or a negative errno when the connection must close. */
int vu_handle_message(struct vhost_user_conn *c, struct vu_msg *msg);

/* vhost_user_mem.c. Each returns 0, -EPROTO for a malformed message, or another
 * negative errno for a refused one. */
int vu_mem_set_table(struct vhost_user_conn *c, struct vu_msg *msg);
int vu_mem_add_region(struct vhost_user_conn *c, struct vu_msg *msg);
int vu_mem_remove_region(struct vhost_user_conn *c, struct vu_msg *msg);
void vu_mem_release(struct vhost_user_conn *c);

/* vhost_user_ring.c */
int vu_ring_set_num(struct vhost_user_conn *c, struct vu_msg *msg);
int vu_ring_set_addr(struct vhost_user_conn *c, struct vu_msg *msg);
int vu_ring_set_base(struct vhost_user_conn *c, struct vu_msg *msg);
int vu_ring_get_base(struct vhost_user_conn *c, struct vu_msg *msg, struct vu_reply *reply);
int vu_ring_set_fd(struct vhost_user_conn *c, struct vu_msg *msg);
int vu_ring_set_enable(struct vhost_user_conn *c, struct vu_msg *msg);
/* After the memory table changed: stop rings whose memory moved, start those that
 * can start now. */
void vu_rings_table_changed(struct vhost_user_conn *c);
/* Stop every ring (their kick fds are dropped); with `forget` also forget their
 * geometry and every descriptor (RESET_DEVICE). */
void vu_rings_stop_all(struct vhost_user_conn *c, bool forget);
/* The ring whose kick fd is `fd`, or -1. */
int vu_ring_of_kick_fd(const struct vhost_user_conn *c, int fd);
/* The kick fd of ring q became readable. */
void vu_ring_kicked(struct vhost_user_conn *c, int q);
void vu_rings_close(struct vhost_user_conn *c);
/* Ask the front end of ring q not to kick (busy polling) or to kick again; with the
 * device lock held, on a started ring. */
void vu_ring_set_kicks(struct vhost_user_conn *c, int q, bool wanted);

#endif /* VDEV_HOST_VHOST_USER_INTERNAL_H */
