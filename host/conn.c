/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "devices.h"
#include "proxy_conn.h"
#include "vhost_user.h"

#define MAX_WATCH 48

struct watch {
	int fd;
	int events; /* UV_READABLE | UV_WRITABLE */
	uv_poll_t *poll;
};

struct host_conn {
	uv_loop_t *loop;
	const struct host_dev_config *dc;
	unsigned int serial;           /* this device's connection number, from 1 */
	struct vdev_trace *trace;      /* recording the device, when dc->trace */
	char trace_file[PATH_MAX];
	struct host_log *log;
	host_conn_closed_fn closed;
	void *closed_arg;
	struct proxy_conn *proxy;      /* one of these two */
	struct vhost_user_conn *vu;
	struct watch w[MAX_WATCH];
	int nw;
	uv_timer_t timer;
	bool closing;
	int handles_open;              /* uv handles not yet closed; freed at zero */
};

/* ---- traces ---- */

/*
 * Record the device from its first register access on. A trace that cannot be started
 * is logged and the device served without one: the guest does not pay for it.
 */
static void trace_start(struct host_conn *c, struct vdev_dev *dev)
{
	struct vdev_trace_config tc = {.size = sizeof(struct vdev_trace_config),
				       .path = c->trace_file};
	int rc;

	if (!c->dc->trace)
		return;
	if (c->serial <= 1)
		snprintf(c->trace_file, sizeof(c->trace_file), "%s", c->dc->trace_path);
	else
		snprintf(c->trace_file, sizeof(c->trace_file), "%s.%u", c->dc->trace_path,
			 c->serial);
	rc = vdev_trace_start(dev, &tc, &c->trace);
	if (rc < 0) {
		host_logf(c->log, VDEV_LOG_ERROR, c->dc->id,
			  "cannot record a trace to %s: %s; serving without one", c->trace_file,
			  strerror(-rc));
		c->trace = NULL;
		return;
	}
	host_logf(c->log, VDEV_LOG_INFO, c->dc->id, "recording a trace to %s", c->trace_file);
}

static void trace_stop(struct host_conn *c)
{
	uint64_t bytes;
	int rc;

	if (c->trace == NULL)
		return;
	bytes = vdev_trace_bytes(c->trace);
	rc = vdev_trace_stop(c->trace);
	c->trace = NULL;
	if (rc == -EFBIG)
		host_logf(c->log, VDEV_LOG_WARN, c->dc->id,
			  "trace %s: stopped at its size limit (%llu bytes)", c->trace_file,
			  (unsigned long long)bytes);
	else if (rc < 0)
		host_logf(c->log, VDEV_LOG_ERROR, c->dc->id, "trace %s is incomplete: %s",
			  c->trace_file, strerror(-rc));
	else
		host_logf(c->log, VDEV_LOG_INFO, c->dc->id, "trace %s: %llu bytes",
			  c->trace_file, (unsigned long long)bytes);
}

/* ---- the device factories the connectors call ---- */

static int proxy_create(void *arg, struct vmctx *ctx, struct pci_vdev **pci_out, void **dev_out)
{
	struct host_conn *c = arg;
	struct vdev_dev *dev;
	int rc = host_dev_build(c->dc, ctx, &dev);

	if (rc < 0)
		return rc;
	trace_start(c, dev);
	*pci_out = vdev_dev_pci(dev);
	*dev_out = dev;
	return 0;
}

static void proxy_destroy(void *arg, void *dev)
{
	trace_stop(arg);
	vdev_dev_destroy(dev);
}

/* Each guest-RAM region the connector learns, so a replay maps the same layout. */
static void proxy_ram_region(void *arg, void *dev, uint64_t gpa, uint64_t size)
{
	struct host_conn *c = arg;
	int rc;

	(void)dev;
	if (c->trace == NULL)
		return;
	rc = vdev_trace_add_ram(c->trace, gpa, size);
	if (rc < 0)
		host_logf(c->log, VDEV_LOG_WARN, c->dc->id,
			  "trace: guest RAM %#llx+%#llx not declared: %s", (unsigned long long)gpa,
			  (unsigned long long)size, strerror(-rc));
}

static const struct proxy_dev_factory proxy_factory = {
	.create = proxy_create,
	.destroy = proxy_destroy,
	.ram_region = proxy_ram_region,
};

static int vhost_create(void *arg, struct vmctx *ctx, struct vdev_dev **dev_out)
{
	return host_dev_build(arg, ctx, dev_out);
}

/* ---- watching fds ---- */

static int uv_events(short vdev_events)
{
	return ((vdev_events & VDEV_POLL_IN) ? UV_READABLE : 0) |
	       ((vdev_events & VDEV_POLL_OUT) ? UV_WRITABLE : 0);
}

/* Everything the connector and its device want watched now, merged per fd. */
static int wanted(struct host_conn *c, struct watch *out, int max)
{
	struct vdev_pollfd vfd[MAX_WATCH];
	int n = 0, m = 0;

	if (c->proxy) {
		int fds[8];
		struct vdev_dev *dev = proxy_conn_device(c->proxy);
		int k = proxy_conn_pollfds(c->proxy, fds, 8);

		for (int i = 0; i < k; i++)
			vfd[m++] = (struct vdev_pollfd){fds[i], VDEV_POLL_IN};
		if (dev != NULL) {
			k = vdev_dev_pollfds(dev, vfd + m, MAX_WATCH - m);
			m += k > 0 ? k : 0;
		}
	} else {
		m = vhost_user_conn_pollfds(c->vu, vfd, MAX_WATCH);
		if (m < 0)
			m = 0;
	}
	for (int i = 0; i < m; i++) {
		int j;

		for (j = 0; j < n && out[j].fd != vfd[i].fd; j++)
			;
		if (j == n) {
			if (n == max)
				break;
			out[n++] = (struct watch){vfd[i].fd, 0, NULL};
		}
		out[j].events |= uv_events(vfd[i].events);
	}
	return n;
}

static void on_handle_closed(uv_handle_t *h)
{
	struct host_conn *c = h->data;

	if (h != (uv_handle_t *)&c->timer)
		free(h);
	if (--c->handles_open == 0) {
		if (c->closed)
			c->closed(c->closed_arg, c);
		free(c);
	}
}

static void drop_watch(struct host_conn *c, int i)
{
	uv_poll_stop(c->w[i].poll);
	uv_close((uv_handle_t *)c->w[i].poll, on_handle_closed);
	c->w[i] = c->w[--c->nw];
}

static void on_poll(uv_poll_t *h, int status, int events);

static void add_watch(struct host_conn *c, const struct watch *want)
{
	uv_poll_t *p = calloc(1, sizeof(*p));

	if (p == NULL || c->nw == MAX_WATCH || uv_poll_init(c->loop, p, want->fd) != 0) {
		free(p);
		host_logf(c->log, VDEV_LOG_ERROR, c->dc->id, "cannot watch fd %d", want->fd);
		return;
	}
	p->data = c;
	c->handles_open++;
	uv_poll_start(p, want->events, on_poll);
	c->w[c->nw++] = (struct watch){want->fd, want->events, p};
}

static void on_timer(uv_timer_t *t);

/* Bring the uv handles in line with what is wanted now, and re-arm the timer. */
static void sync_watches(struct host_conn *c)
{
	struct watch want[MAX_WATCH];
	int n = wanted(c, want, MAX_WATCH), ms;

	for (int i = c->nw - 1; i >= 0; i--) {
		int j;

		for (j = 0; j < n && want[j].fd != c->w[i].fd; j++)
			;
		if (j == n)
			drop_watch(c, i);
		else if (want[j].events != c->w[i].events) {
			c->w[i].events = want[j].events;
			uv_poll_start(c->w[i].poll, want[j].events, on_poll);
		}
	}
	for (int j = 0; j < n; j++) {
		int i;

		for (i = 0; i < c->nw && c->w[i].fd != want[j].fd; i++)
			;
		if (i == c->nw)
			add_watch(c, &want[j]);
	}
	if (c->proxy)
		ms = proxy_conn_device(c->proxy) ? vdev_dev_next_timeout_ms(proxy_conn_device(c->proxy))
						 : -1;
	else
		ms = vhost_user_conn_next_timeout_ms(c->vu);
	if (ms >= 0)
		uv_timer_start(&c->timer, on_timer, (uint64_t)ms, 0);
	else
		uv_timer_stop(&c->timer);
}

/* One ready fd. A negative return means the connection is finished. */
static int dispatch(struct host_conn *c, int fd)
{
	if (c->proxy) {
		struct vdev_dev *dev = proxy_conn_device(c->proxy);

		if (fd == proxy_conn_fd(c->proxy))
			return proxy_conn_handle(c->proxy);
		if (fd == proxy_conn_resample_fd(c->proxy))
			proxy_conn_handle_resample(c->proxy);
		else if (dev != NULL)
			vdev_dev_poll(dev);
		return 0;
	}
	if (fd == vhost_user_conn_fd(c->vu))
		return vhost_user_conn_handle(c->vu);
	vhost_user_conn_dispatch(c->vu, fd);
	return 0;
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct host_conn *c = h->data;
	uv_os_fd_t fd;

	(void)events;
	if (c->closing || uv_fileno((uv_handle_t *)h, &fd) != 0)
		return;
	if (status < 0 || dispatch(c, fd) < 0) {
		host_logf(c->log, VDEV_LOG_INFO, c->dc->id, "%s connection closed",
			  host_conn_type_name(c->dc->conn));
		host_conn_close(c);
		return;
	}
	sync_watches(c);
}

static void on_timer(uv_timer_t *t)
{
	struct host_conn *c = t->data;

	if (c->closing)
		return;
	if (c->proxy && proxy_conn_device(c->proxy))
		vdev_dev_poll(proxy_conn_device(c->proxy));
	else if (c->vu)
		vhost_user_conn_poll(c->vu);
	sync_watches(c);
}

int host_conn_start(uv_loop_t *loop, int fd, const struct host_dev_config *dc,
		    unsigned int serial, struct host_log *log, host_conn_closed_fn closed,
		    void *arg, struct host_conn **out)
{
	struct host_conn *c = calloc(1, sizeof(*c));
	int rc;

	if (c == NULL) {
		close(fd);
		return -ENOMEM;
	}
	*c = (struct host_conn){.loop = loop, .dc = dc, .serial = serial, .log = log,
				.closed = closed, .closed_arg = arg};
	if (dc->conn == HOST_CONN_PROXY)
		rc = proxy_conn_create(fd, &proxy_factory, c, host_log_sink, log, &c->proxy);
	else
		rc = vhost_user_conn_create(fd, vhost_create, (void *)dc, host_log_sink, log, &c->vu);
	if (rc < 0) {
		host_logf(log, VDEV_LOG_ERROR, dc->id, "cannot serve the connection: %s",
			  strerror(-rc));
		close(fd);
		free(c);
		return rc;
	}
	/* Every line about this connection carries the device id. */
	if (c->proxy)
		proxy_conn_set_name(c->proxy, dc->id);
	else
		vhost_user_conn_set_name(c->vu, dc->id);
	uv_timer_init(loop, &c->timer);
	c->timer.data = c;
	c->handles_open = 1;
	sync_watches(c);
	*out = c;
	return 0;
}

void host_conn_close(struct host_conn *c)
{
	if (c == NULL || c->closing)
		return;
	c->closing = true;
	/* Stop watching before the connector closes its fds, so no stale fd is polled. */
	while (c->nw > 0)
		drop_watch(c, c->nw - 1);
	uv_timer_stop(&c->timer);
	if (c->proxy)
		proxy_conn_destroy(c->proxy);
	else
		vhost_user_conn_destroy(c->vu);
	c->proxy = NULL;
	c->vu = NULL;
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}
