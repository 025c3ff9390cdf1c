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
};
void vhost_user_conn_get_stats(const struct vhost_user_conn *conn,
			       struct vhost_user_conn_stats *out);

#endif /* VDEV_HOST_VHOST_USER_H */
