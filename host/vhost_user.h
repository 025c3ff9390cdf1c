/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One vhost-user connection, back-end side: a front end (QEMU's vhost-user-*-pci,
 * DPDK's virtio-user) connected on a UNIX stream socket, served by one libvdev device
 * built for this connection on its own vmctx and guest-RAM table.
 *
 * Independent of any event loop: the owner watches the descriptors
 * vhost_user_conn_pollfds() lists (level-triggered) and calls
 * vhost_user_conn_dispatch() with each one that is ready, and vhost_user_conn_poll()
 * when vhost_user_conn_next_timeout_ms() expires. All calls for one connection come
 * from one thread; the device's own lock is taken around every call into it.
 *
 * The front end is untrusted: every message is bounded, every descriptor counted,
 * every ring address checked against the memory table. A malformed or refused message
 * is logged; the connection is closed only when the stream cannot be trusted any more
 * (see vhost_user_conn_handle()).
 */
#ifndef VDEV_HOST_VHOST_USER_H
#define VDEV_HOST_VHOST_USER_H

#include <stdbool.h>
#include <stdint.h>

#include "vdev/vdev.h"

/* The connector's log sink; the same shape as vdev_host_ops.log, which it also serves. */
typedef void (*vhost_user_log_fn)(void *opaque, enum vdev_log_level level, const char *devname,
				  const char *msg);

/*
 * Builds the device a connection serves, on `ctx` (the connection's own host handle,
 * whose translate callback reads the connection's memory table). Returns 0 or a
 * negative errno. The connection destroys it with vdev_dev_destroy().
 */
typedef int (*vhost_user_factory_fn)(void *arg, struct vmctx *ctx, struct vdev_dev **dev_out);

/*
 * The general form, for a device that is not a struct vdev_dev (an embedder's own
 * ACRN-style device, the tests' echo device). The table is kept, not copied.
 */
struct vhost_user_dev_ops {
	/* Required: create the device on ctx; return its virtio base and a handle. */
	int (*create)(void *arg, struct vmctx *ctx, struct virtio_base **base_out,
		      void **dev_out);
	/* Required: destroy what create() built. */
	void (*destroy)(void *arg, void *dev);
	/* Optional: event-loop hooks with the meaning of vdev_dev_pollfds(),
	 * vdev_dev_poll() and vdev_dev_next_timeout_ms(); called without the device
	 * lock (they take it themselves if they need it). */
	int (*pollfds)(void *arg, void *dev, struct vdev_pollfd *fds, int max);
	int (*poll)(void *arg, void *dev);
	int (*next_timeout_ms)(void *arg, void *dev);
};

struct vhost_user_conn;

/*
 * Serve the connected socket `fd` with the device `factory(arg, ...)` builds. `log`
 * may be NULL. On success the connection owns `fd` and sets it non-blocking; on
 * failure the caller still owns it. Returns 0, -EINVAL, -ENOMEM, or the factory's
 * error.
 */
int vhost_user_conn_create(int fd, vhost_user_factory_fn factory, void *arg,
			   vhost_user_log_fn log, void *log_opaque, struct vhost_user_conn **out);

/* The same with a struct vhost_user_dev_ops device. */
int vhost_user_conn_create_ops(int fd, const struct vhost_user_dev_ops *ops, void *arg,
			       vhost_user_log_fn log, void *log_opaque,
			       struct vhost_user_conn **out);

/* Unbind and destroy the device, unmap guest RAM, close every descriptor. NULL is
 * accepted. */
void vhost_user_conn_destroy(struct vhost_user_conn *conn);

/* Name the connection's own log lines (default "vhost-user:N"), e.g. with the device id. */
void vhost_user_conn_set_name(struct vhost_user_conn *conn, const char *name);

/* The socket. */
int vhost_user_conn_fd(const struct vhost_user_conn *conn);

/*
 * The socket is readable: read and answer every complete message waiting (a bounded
 * number per call). Returns 0, or a negative errno when the connection must be closed:
 * -EPIPE (the front end went away), -EMSGSIZE (a message larger than any request
 * this back end knows), -EPROTO (a message it cannot accept: wrong version, a payload
 * of the wrong shape, a ring index that does not exist), -EAGAIN (the front end does
 * not read its replies). The reason is logged.
 */
int vhost_user_conn_handle(struct vhost_user_conn *conn);

/*
 * Every descriptor to watch now, at most `max`: the socket, each ring's kick eventfd,
 * then the device's own (vdev_dev_pollfds()). Returns how many were written, or a
 * negative errno. The set changes after vhost_user_conn_handle(); ask again after
 * each dispatch.
 */
int vhost_user_conn_pollfds(struct vhost_user_conn *conn, struct vdev_pollfd *fds, int max);

/*
 * `fd` (one of those listed) is ready: the socket is handled as by
 * vhost_user_conn_handle(), a kick eventfd is drained and its ring kicked, anything
 * else is the device's and it is polled. Returns 0, or what vhost_user_conn_handle()
 * returns for the socket.
 */
int vhost_user_conn_dispatch(struct vhost_user_conn *conn, int fd);

/* Milliseconds until the device wants vhost_user_conn_poll(), or -1. */
int vhost_user_conn_next_timeout_ms(struct vhost_user_conn *conn);

/* Let the device do whatever is ready (its timer expired). */
int vhost_user_conn_poll(struct vhost_user_conn *conn);

/*
 * Withdraw protocol features from the offer (VHOST_USER_PROTOCOL_F_* bit numbers as a
 * mask), before the front end asks for them: e.g. CONFIGURE_MEM_SLOTS to make QEMU
 * use SET_MEM_TABLE instead of ADD_MEM_REG/REM_MEM_REG.
 */
void vhost_user_conn_withdraw_protocol_features(struct vhost_user_conn *conn, uint64_t mask);

/* What the factory built: the vdev_dev (NULL for a vhost_user_dev_ops device), the
 * ops device handle, and the virtio base either way. */
struct vdev_dev *vhost_user_conn_device(const struct vhost_user_conn *conn);
void *vhost_user_conn_dev_handle(const struct vhost_user_conn *conn);
struct virtio_base *vhost_user_conn_virtio(const struct vhost_user_conn *conn);

/*
 * Busy polling, for a loop that owns a CPU and wants no system call per frame (what
 * DPDK's vhost PMD does). While it is on:
 *  - every running ring asks the front end not to kick (VRING_USED_F_NO_NOTIFY, or,
 *    with EVENT_IDX, an avail_event that is no longer advanced), rings started later
 *    included; a front end that kicks anyway only wastes its own time;
 *  - the owner calls vhost_user_conn_busy_poll_once() in a loop instead of waiting on
 *    the kick eventfds. Each call runs every started, enabled ring that has buffers
 *    the device has not taken yet, as a kick would have, then lets the device poll
 *    (its backend, and rings it left work on); no system call is made on that
 *    path unless the device's backend makes one. Every `socket_every`-th call also
 *    reads the socket (one non-blocking recvmsg) and handles what arrived, so the
 *    front end's messages (GET_VRING_BASE, a new memory table) wait at most that many
 *    rounds;
 *  - interrupts are unchanged: the device still signals a call eventfd when the front
 *    end asks for one (DPDK's virtio-user asks for none: VRING_AVAIL_F_NO_INTERRUPT).
 * vhost_user_conn_pollfds()/dispatch() keep working, so a loop may switch between the
 * two styles; turning busy polling off asks for kicks again and runs every ring once,
 * so buffers made available meanwhile are not stranded.
 * `socket_every` 0 means VHOST_USER_BUSY_SOCKET_EVERY. Returns 0 or -EINVAL.
 */
#define VHOST_USER_BUSY_SOCKET_EVERY 1024
int vhost_user_conn_set_busy_poll(struct vhost_user_conn *conn, bool on,
				  unsigned int socket_every);
bool vhost_user_conn_busy_polling(const struct vhost_user_conn *conn);

/*
 * One busy-poll round (see above; busy polling must be on). Returns 1 when chains
 * moved or a message was handled, 0 when the round found nothing to do (the owner
 * may back off), or a negative errno from the socket, as vhost_user_conn_handle()
 * returns it: the connection must then be destroyed.
 */
int vhost_user_conn_busy_poll_once(struct vhost_user_conn *conn);

struct vhost_user_conn_stats {
	uint64_t messages;     /* complete messages handled */
	uint64_t refused;      /* messages refused (answered with an error if asked) */
	uint64_t unknown;      /* requests this back end does not implement */
	uint64_t mem_tables;   /* memory tables accepted (SET_MEM_TABLE, ADD/REM_MEM_REG) */
	uint64_t ring_starts;
	uint64_t ring_stops;
	uint64_t kicks;        /* kick eventfd reads passed to a running ring */
	uint64_t kicks_ignored; /* kicks for a stopped or disabled ring */
	uint64_t calls;        /* call eventfd writes */
	uint64_t config_changes_sent;
	uint64_t config_changes_dropped; /* no slave channel to send them on */
	uint64_t busy_rounds;  /* vhost_user_conn_busy_poll_once() calls */
	uint64_t busy_idle;    /* of which found nothing to do */
};
void vhost_user_conn_get_stats(const struct vhost_user_conn *conn,
			       struct vhost_user_conn_stats *out);

#endif /* VDEV_HOST_VHOST_USER_H */
