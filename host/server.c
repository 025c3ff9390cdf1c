/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "conn.h"
#include "server.h"

struct listener {
	struct host_server *srv;
	const struct host_dev_config *dc;
	int fd;
	uv_poll_t poll;
	struct host_conn *active; /* one QEMU per device at a time */
	unsigned int served;      /* connections accepted so far (numbers their traces) */
	bool bound;
};

struct host_server {
	uv_loop_t loop;
	struct host_log log;
	struct listener *ls;
	int nls;
	uv_signal_t sigint, sigterm;
	bool stopping;
};

static void on_conn_closed(void *arg, struct host_conn *conn)
{
	struct listener *l = arg;

	(void)conn;
	l->active = NULL;
}

static void on_accept(uv_poll_t *h, int status, int events)
{
	struct listener *l = h->data;
	int fd;

	(void)events;
	if (status < 0 || l->srv->stopping)
		return;
	fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (l->active != NULL) {
		host_logf(&l->srv->log, VDEV_LOG_WARN, l->dc->id,
			  "refusing a second connection while one is served");
		close(fd);
		return;
	}
	host_logf(&l->srv->log, VDEV_LOG_INFO, l->dc->id, "%s connection accepted",
		  host_conn_type_name(l->dc->conn));
	host_conn_start(&l->srv->loop, fd, l->dc, ++l->served, &l->srv->log, on_conn_closed, l,
			&l->active);
}

/* A stale socket from an earlier run is replaced; anything else at that path is not. */
static int prepare_path(struct host_server *srv, const struct host_dev_config *dc)
{
	struct stat st;

	if (lstat(dc->socket, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		host_logf(&srv->log, VDEV_LOG_ERROR, dc->id,
			  "%s exists and is not a socket; not replacing it", dc->socket);
		return -EEXIST;
	}
	return unlink(dc->socket) == 0 ? 0 : -errno;
}

static int listen_on(struct host_server *srv, struct listener *l)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int rc = prepare_path(srv, l->dc);

	if (rc < 0)
		return rc;
	memcpy(addr.sun_path, l->dc->socket, strlen(l->dc->socket) + 1);
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l->fd < 0)
		return -errno;
	if (bind(l->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(l->fd, 4) != 0) {
		rc = -errno;
		host_logf(&srv->log, VDEV_LOG_ERROR, l->dc->id, "cannot listen on %s: %s",
			  l->dc->socket, strerror(-rc));
		close(l->fd);
		l->fd = -1;
		return rc;
	}
	l->bound = true;
	uv_poll_init(&srv->loop, &l->poll, l->fd);
	l->poll.data = l;
	uv_poll_start(&l->poll, UV_READABLE, on_accept);
	host_logf(&srv->log, VDEV_LOG_INFO, l->dc->id, "%s device, %s connector, listening on %s",
		  host_dev_type_name(l->dc->type), host_conn_type_name(l->dc->conn), l->dc->socket);
	return 0;
}

/* Close every connection (devices flush their backends), listener and socket file. */
static void stop_all(struct host_server *srv)
{
	srv->stopping = true;
	for (int i = 0; i < srv->nls; i++) {
		struct listener *l = &srv->ls[i];

		host_conn_close(l->active);
		if (l->bound) {
			uv_poll_stop(&l->poll);
			uv_close((uv_handle_t *)&l->poll, NULL);
			close(l->fd);
			unlink(l->dc->socket);
			l->bound = false;
		}
	}
	uv_close((uv_handle_t *)&srv->sigint, NULL);
	uv_close((uv_handle_t *)&srv->sigterm, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct host_server *srv = h->data;

	if (srv->stopping)
		return;
	host_logf(&srv->log, VDEV_LOG_INFO, "", "signal %d: shutting down", signum);
	stop_all(srv);
}

int host_server_run(const struct host_config *cfg)
{
	struct host_server srv = {.log = {cfg->log_level}, .nls = cfg->ndevs};
	int rc = HOST_EXIT_OK;

	signal(SIGPIPE, SIG_IGN); /* a vanished QEMU is an EPIPE, not a dead host */
	if (uv_loop_init(&srv.loop) != 0)
		return HOST_EXIT_RUNTIME;
	srv.ls = calloc((size_t)cfg->ndevs, sizeof(*srv.ls));
	if (srv.ls == NULL)
		return HOST_EXIT_RUNTIME;
	uv_signal_init(&srv.loop, &srv.sigint);
	uv_signal_init(&srv.loop, &srv.sigterm);
	srv.sigint.data = srv.sigterm.data = &srv;
	uv_signal_start(&srv.sigint, on_signal, SIGINT);
	uv_signal_start(&srv.sigterm, on_signal, SIGTERM);
	for (int i = 0; i < cfg->ndevs; i++) {
		srv.ls[i] = (struct listener){.srv = &srv, .dc = &cfg->devs[i], .fd = -1};
		if (listen_on(&srv, &srv.ls[i]) < 0) {
			rc = HOST_EXIT_RUNTIME;
			stop_all(&srv);
			break;
		}
	}
	if (rc == HOST_EXIT_OK)
		host_logf(&srv.log, VDEV_LOG_INFO, "", "serving %d device%s; SIGINT or SIGTERM stops",
			  cfg->ndevs, cfg->ndevs == 1 ? "" : "s");
	if (uv_run(&srv.loop, UV_RUN_DEFAULT) != 0 && rc == HOST_EXIT_OK)
		rc = HOST_EXIT_RUNTIME;
	uv_loop_close(&srv.loop);
	free(srv.ls);
	host_logf(&srv.log, VDEV_LOG_INFO, "", "stopped");
	return rc;
}
