/* SPDX-License-Identifier: BSD-3-Clause */
/* One vhost-user connection: life cycle, event-loop glue and the device's callbacks. */
#include "vhost_user.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vhost_user_conn.h"
#include "vhost_user_internal.h"

/* --- host callbacks of the connection's vmctx and of the vhost binding --- */

static void cb_log(void *opaque, enum vdev_log_level level, const char *devname,
		   const char *msg)
{
	struct vhost_user_conn *c = opaque;

	if (c->log)
		c->log(c->log_opaque, level, devname && devname[0] ? devname : c->name, msg);
}

/* Called with the device lock held, from a kick or a device poll on our thread. */
static void cb_call(void *opaque, int q)
{
	struct vhost_user_conn *c = opaque;
	uint64_t one = 1;

	if (q < 0 || q >= c->nvq || c->rings[q].call_fd < 0)
		return;
	/* A counter at its maximum (EAGAIN) still means "signalled". */
	if (write(c->rings[q].call_fd, &one, sizeof(one)) == (ssize_t)sizeof(one))
		c->stats.calls++;
}

static void cb_config_changed(void *opaque)
{
	struct vhost_user_conn *c = opaque;
	uint64_t need = (1ULL << VU_PROTOCOL_F_SLAVE_REQ) | (1ULL << VU_PROTOCOL_F_CONFIG);
	int rc;

	if (c->slave_fd < 0 || (c->protocol & need) != need) {
		c->stats.config_changes_dropped++;
		vu_log(c, VDEV_LOG_INFO, "device config changed; the front end has no slave "
		       "channel with CONFIG to hear it");
		return;
	}
	/* No NEED_REPLY: waiting for QEMU here would block the loop. */
	rc = vu_send(c->slave_fd, VU_SLAVE_CONFIG_CHANGE_MSG, VU_VERSION, NULL, 0, NULL, 0);
	if (rc < 0) {
		c->stats.config_changes_dropped++;
		vu_log(c, VDEV_LOG_WARN, "config change not sent on the slave channel: %s",
		       strerror(-rc));
		return;
	}
	c->stats.config_changes_sent++;
}

static const struct vdev_vhost_ops vhost_ops = {
	.version = VDEV_VHOST_OPS_VERSION,
	.call = cb_call,
	.config_changed = cb_config_changed,
};

/* --- a struct vdev_dev behind the general device table --- */

static int vdev_create(void *arg, struct vmctx *ctx, struct virtio_base **base_out,
		       void **dev_out)
{
	struct vhost_user_conn *c = arg;
	struct vdev_dev *dev = NULL;
	int rc = c->factory(c->factory_arg, ctx, &dev);

	if (rc < 0)
		return rc;
	if (dev == NULL || vdev_dev_virtio(dev) == NULL)
		return -EINVAL;
	c->vdev = dev;
	*base_out = vdev_dev_virtio(dev);
	*dev_out = dev;
	return 0;
}

static void vdev_destroy(void *arg, void *dev)
{
	(void)arg;
	vdev_dev_destroy(dev);
}

static int vdev_pollfds(void *arg, void *dev, struct vdev_pollfd *fds, int max)
{
	(void)arg;
	return vdev_dev_pollfds(dev, fds, max);
}

static int vdev_poll(void *arg, void *dev)
{
	(void)arg;
	return vdev_dev_poll(dev);
}

static int vdev_timeout(void *arg, void *dev)
{
	(void)arg;
	return vdev_dev_next_timeout_ms(dev);
}

static const struct vhost_user_dev_ops vdev_dev_ops = {
	.create = vdev_create,
	.destroy = vdev_destroy,
	.pollfds = vdev_pollfds,
	.poll = vdev_poll,
	.next_timeout_ms = vdev_timeout,
};

/* --- life cycle --- */

static int build_device(struct vhost_user_conn *c)
{
	struct vdev_host_ops hops;
	int rc;

	rc = guest_ram_create(&c->ram);
	if (rc < 0)
		return rc;
	guest_ram_host_ops(&hops);
	hops.log = cb_log;
	/* The opaque is the connection, whose first member is the table pointer. */
	rc = vdev_vmctx_create(&hops, c, &c->ctx);
	if (rc < 0)
		return rc;
	rc = c->ops->create(c->ops_arg, c->ctx, &c->base, &c->dev);
	if (rc < 0)
		return rc;
	if (c->base == NULL || c->base->vops == NULL || c->base->vops->nvq <= 0)
		return -EINVAL;
	c->nvq = c->base->vops->nvq;
	c->rings = calloc((size_t)c->nvq, sizeof(*c->rings));
	if (c->rings == NULL)
		return -ENOMEM;
	for (int q = 0; q < c->nvq; q++) {
		c->rings[q].kick_fd = -1;
		c->rings[q].call_fd = -1;
		c->rings[q].err_fd = -1;
	}
	vu_lock(c);
	rc = vdev_vhost_bind(c->base, &vhost_ops, c);
	vu_unlock(c);
	if (rc < 0)
		return rc;
	c->bound = true;
	return 0;
}

static void teardown(struct vhost_user_conn *c)
{
	if (c->bound) {
		vu_lock(c);
		vdev_vhost_unbind(c->base);
		vu_unlock(c);
	}
	if (c->dev != NULL)
		c->ops->destroy(c->ops_arg, c->dev);
	if (c->ctx != NULL)
		vdev_vmctx_destroy(c->ctx);
	if (c->rings != NULL)
		vu_rings_close(c);
	free(c->rings);
	vu_mem_release(c);
	guest_ram_destroy(c->ram);
	if (c->slave_fd >= 0)
		close(c->slave_fd);
	vu_msg_close_fds(&c->rd.msg);
}

/* Common to both constructors: c->ops (and the factory) are already set. */
static int start_conn(struct vhost_user_conn *c, int fd, vhost_user_log_fn log,
		      void *log_opaque, struct vhost_user_conn **out)
{
	int flags, rc;

	c->sock = fd;
	c->slave_fd = -1;
	c->log = log;
	c->log_opaque = log_opaque;
	c->offered_protocol = VU_OFFERED_PROTOCOL;
	snprintf(c->name, sizeof(c->name), "vhost-user:%d", fd);
	vu_reader_init(&c->rd);
	rc = build_device(c);
	if (rc == 0 && ((flags = fcntl(fd, F_GETFL)) < 0 ||
			fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0))
		rc = -errno;
	if (rc < 0) {
		vu_log(c, VDEV_LOG_ERROR, "cannot serve the connection: %s", strerror(-rc));
		teardown(c);
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int vhost_user_conn_create_ops(int fd, const struct vhost_user_dev_ops *ops, void *arg,
			       vhost_user_log_fn log, void *log_opaque,
			       struct vhost_user_conn **out)
{
	struct vhost_user_conn *c;

	if (fd < 0 || ops == NULL || ops->create == NULL || ops->destroy == NULL || out == NULL)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->ops = ops;
	c->ops_arg = arg;
	return start_conn(c, fd, log, log_opaque, out);
}

int vhost_user_conn_create(int fd, vhost_user_factory_fn factory, void *arg,
			   vhost_user_log_fn log, void *log_opaque, struct vhost_user_conn **out)
{
	struct vhost_user_conn *c;

	if (fd < 0 || factory == NULL || out == NULL)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	/* The connection itself is the adapter table's arg, so it reaches the factory. */
	c->ops = &vdev_dev_ops;
	c->ops_arg = c;
	c->factory = factory;
	c->factory_arg = arg;
	return start_conn(c, fd, log, log_opaque, out);
}

void vhost_user_conn_destroy(struct vhost_user_conn *c)
{
	if (c == NULL)
		return;
	teardown(c);
	close(c->sock);
	free(c);
}

int vhost_user_conn_fd(const struct vhost_user_conn *c)
{
	return c->sock;
}

int vhost_user_conn_handle(struct vhost_user_conn *c)
{
	for (int i = 0; i < VU_MAX_MESSAGES_PER_CALL; i++) {
		char why[160];
		int rc = vu_read(c->sock, &c->rd, why, sizeof(why));

		if (rc == 0)
			return 0;
		if (rc < 0) {
			vu_log(c, rc == -EPIPE ? VDEV_LOG_INFO : VDEV_LOG_WARN,
			       "closing the connection: %s", why);
			vu_reader_init(&c->rd);
			return rc;
		}
		c->stats.messages++;
		rc = vu_handle_message(c, &c->rd.msg);
		vu_msg_close_fds(&c->rd.msg);
		vu_reader_init(&c->rd);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int vhost_user_conn_pollfds(struct vhost_user_conn *c, struct vdev_pollfd *fds, int max)
{
	int n = 0;

	if (c == NULL || max < 0 || (fds == NULL && max > 0))
		return -EINVAL;
	if (n < max)
		fds[n++] = (struct vdev_pollfd){.fd = c->sock, .events = VDEV_POLL_IN};
	for (int q = 0; q < c->nvq && n < max; q++)
		if (c->rings[q].kick_fd >= 0)
			fds[n++] = (struct vdev_pollfd){.fd = c->rings[q].kick_fd,
							.events = VDEV_POLL_IN};
	if (c->ops->pollfds != NULL && n < max) {
		int m = c->ops->pollfds(c->ops_arg, c->dev, fds + n, max - n);

		if (m < 0)
			return m;
		n += m;
	}
	return n;
}

int vhost_user_conn_dispatch(struct vhost_user_conn *c, int fd)
{
	int q;

	if (fd == c->sock)
		return vhost_user_conn_handle(c);
	q = vu_ring_of_kick_fd(c, fd);
	if (q >= 0) {
		vu_ring_kicked(c, q);
		return 0;
	}
	return vhost_user_conn_poll(c);
}

int vhost_user_conn_next_timeout_ms(struct vhost_user_conn *c)
{
	return c->ops->next_timeout_ms ? c->ops->next_timeout_ms(c->ops_arg, c->dev) : -1;
}

int vhost_user_conn_poll(struct vhost_user_conn *c)
{
	/* A device's own failure is logged by the device and does not end the session. */
	if (c->ops->poll)
		(void)c->ops->poll(c->ops_arg, c->dev);
	return 0;
}

/* --- busy polling --- */

static bool ring_runs(const struct vhost_user_conn *c, int q)
{
	const struct vu_ring *r = &c->rings[q];

	return r->started && (!c->proto_acked || r->enabled);
}

/* Run every running ring as if it had been kicked; with `only_busy`, only those the
 * driver put buffers on that the device has not taken yet (what a kick would have
 * announced). With the device lock held. */
static void run_rings(struct vhost_user_conn *c, bool only_busy)
{
	for (int q = 0; q < c->nvq; q++)
		if (ring_runs(c, q) && (!only_busy || vq_has_descs(&c->base->queues[q])))
			(void)vdev_vhost_kick(c->base, q);
}

int vhost_user_conn_set_busy_poll(struct vhost_user_conn *c, bool on, unsigned int socket_every)
{
	if (c == NULL)
		return -EINVAL;
	c->busy_socket_every = socket_every ? socket_every : VHOST_USER_BUSY_SOCKET_EVERY;
	c->busy_countdown = c->busy_socket_every;
	if (c->busy == on)
		return 0;
	c->busy = on;
	vu_lock(c);
	for (int q = 0; q < c->nvq; q++)
		vu_ring_set_kicks(c, q, !on);
	/* Kicks asked for again: whatever the driver queued while it was told not to
	 * kick would otherwise wait for its next kick. */
	if (!on)
		run_rings(c, false);
	vu_unlock(c);
	return 0;
}

bool vhost_user_conn_busy_polling(const struct vhost_user_conn *c)
{
	return c != NULL && c->busy;
}

int vhost_user_conn_busy_poll_once(struct vhost_user_conn *c)
{
	struct vdev_virtio_stats vs;
	uint64_t before;
	bool work = false;

	if (c == NULL || !c->busy)
		return -EINVAL;
	c->stats.busy_rounds++;
	if (--c->busy_countdown == 0) {
		uint64_t msgs = c->stats.messages;
		int rc;

		c->busy_countdown = c->busy_socket_every;
		rc = vhost_user_conn_handle(c);
		if (rc < 0)
			return rc;
		work = c->stats.messages != msgs;
	}
	vdev_virtio_get_stats(c->base, &vs);
	before = vs.chains + vs.used;
	vu_lock(c);
	run_rings(c, true);
	vu_unlock(c);
	/* The device's own work (a backend's frames for the guest). */
	if (c->ops->poll)
		(void)c->ops->poll(c->ops_arg, c->dev);
	vdev_virtio_get_stats(c->base, &vs);
	if (vs.chains + vs.used != before)
		work = true;
	if (!work)
		c->stats.busy_idle++;
	return work ? 1 : 0;
}

void vhost_user_conn_withdraw_protocol_features(struct vhost_user_conn *c, uint64_t mask)
{
	c->offered_protocol &= ~mask;
}

struct vdev_dev *vhost_user_conn_device(const struct vhost_user_conn *c)
{
	return c->vdev;
}

void *vhost_user_conn_dev_handle(const struct vhost_user_conn *c)
{
	return c->dev;
}

struct virtio_base *vhost_user_conn_virtio(const struct vhost_user_conn *c)
{
	return c->base;
}

void vhost_user_conn_get_stats(const struct vhost_user_conn *c, struct vhost_user_conn_stats *out)
{
	*out = c->stats;
}

void vhost_user_conn_set_name(struct vhost_user_conn *c, const char *name)
{
	if (c != NULL && name != NULL)
		snprintf(c->name, sizeof(c->name), "%s", name);
}
