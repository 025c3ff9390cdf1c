/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A stand-alone vhost-user back end for smoke tests with real front ends: listens on
 * a UNIX socket and serves each connection with a fresh device, on a plain poll()
 * loop, the way vdev-host will on libuv.
 *
 *   vhost_user_serve --socket PATH --device rng|echo|net|blk [--once] [--verbose]
 *                    [--no-mem-slots] [--net-reflect] [--blk-file IMAGE]
 *
 * rng: virtio-rng from getrandom(2). echo: the tests' echo device (registers as an
 * entropy device). net: virtio-net on a socketpair backend whose far end this program
 * drains (counting frames) or, with --net-reflect, sends every frame back. blk:
 * virtio-blk on IMAGE.
 * --no-mem-slots withdraws CONFIGURE_MEM_SLOTS so QEMU uses SET_MEM_TABLE.
 * On exit (SIGINT/SIGTERM, or the end of the connection with --once) it prints one
 * line per connection: "vhost_user_serve: closed: ..." with counters.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "echo_dev.h"
#include "vdev/blk.h"
#include "vdev/net.h"
#include "vdev/rng.h"
#include "vhost_user.h"

#define MAX_CONNS 4
#define MAX_FDS 64

struct opts {
	const char *socket;
	const char *device;
	bool once;
	bool verbose;
	bool no_mem_slots;
	bool net_reflect;
	const char *blk_file;
};

struct server {
	struct opts o;
	struct vhost_user_conn *conns[MAX_CONNS];
	int net_far[MAX_CONNS]; /* the far end of a net device's socketpair backend */
	uint64_t frames[MAX_CONNS];
	int pending_far;        /* set by the net factory for the connection being built */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void log_line(void *opaque, enum vdev_log_level level, const char *devname,
		     const char *msg)
{
	struct server *s = opaque;

	if (level <= VDEV_LOG_INFO || s->o.verbose)
		fprintf(stderr, "vhost_user_serve: [%d] %s: %s\n", (int)level, devname, msg);
}

static int rng_factory(void *arg, struct vmctx *ctx, struct vdev_dev **out)
{
	struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config),
				      .pci = {.mode = VDEV_PCI_MODERN}};

	(void)arg;
	return vdev_rng_create(ctx, "rng0", &cfg, out);
}

static int blk_factory(void *arg, struct vmctx *ctx, struct vdev_dev **out)
{
	struct server *s = arg;
	struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config),
				      .pci = {.mode = VDEV_PCI_MODERN}, .path = s->o.blk_file};

	return vdev_blk_create(ctx, "blk0", &cfg, out);
}

static int net_factory(void *arg, struct vmctx *ctx, struct vdev_dev **out)
{
	struct server *s = arg;
	struct vdev_net_config cfg = {.size = sizeof(struct vdev_net_config),
				      .pci = {.mode = VDEV_PCI_MODERN}};
	struct vdev_net_backend be;
	int sv[2], rc;

	rc = vdev_net_socketpair(sv);
	if (rc < 0)
		return rc;
	rc = vdev_net_backend_socket(sv[0], false, &be);
	close(sv[0]);
	if (rc < 0) {
		close(sv[1]);
		return rc;
	}
	cfg.backend = &be;
	rc = vdev_net_create(ctx, "net0", &cfg, out);
	if (rc < 0) {
		vdev_net_backend_close(&be);
		close(sv[1]);
		return rc;
	}
	s->pending_far = sv[1];
	return 0;
}

static int echo_create(void *arg, struct vmctx *ctx, struct virtio_base **base_out,
		       void **dev_out)
{
	struct echo_dev_config cfg = {.pci = {.mode = VDEV_PCI_MODERN}, .use_mutex = true};
	struct echo_dev *dev;
	int rc = echo_dev_create(ctx, "echo0", &cfg, &dev);

	(void)arg;
	if (rc < 0)
		return rc;
	*base_out = &dev->base;
	*dev_out = dev;
	return 0;
}

static void echo_destroy(void *arg, void *dev)
{
	(void)arg;
	echo_dev_destroy(dev);
}

static const struct vhost_user_dev_ops echo_ops = {.create = echo_create,
						   .destroy = echo_destroy};

static int listen_on(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return -e;
	}
	return fd;
}

static void report(struct server *s, int i, int rc)
{
	struct vhost_user_conn *c = s->conns[i];
	struct vhost_user_conn_stats st;
	struct vdev_dev_stats ds = {0};

	vhost_user_conn_get_stats(c, &st);
	if (vhost_user_conn_device(c))
		vdev_dev_get_stats(vhost_user_conn_device(c), &ds);
	else if (vhost_user_conn_dev_handle(c))
		ds.requests = ((struct echo_dev *)vhost_user_conn_dev_handle(c))->echoed;
	printf("vhost_user_serve: closed: rc %d messages %llu refused %llu mem_tables %llu "
	       "ring_starts %llu ring_stops %llu kicks %llu calls %llu requests %llu "
	       "bytes_in %llu bytes_out %llu frames_out %llu\n",
	       rc, (unsigned long long)st.messages, (unsigned long long)st.refused,
	       (unsigned long long)st.mem_tables, (unsigned long long)st.ring_starts,
	       (unsigned long long)st.ring_stops, (unsigned long long)st.kicks,
	       (unsigned long long)st.calls, (unsigned long long)ds.requests,
	       (unsigned long long)ds.bytes_in, (unsigned long long)ds.bytes_out,
	       (unsigned long long)s->frames[i]);
	fflush(stdout);
}

static void close_conn(struct server *s, int i, int rc)
{
	report(s, i, rc);
	vhost_user_conn_destroy(s->conns[i]);
	s->conns[i] = NULL;
	if (s->net_far[i] >= 0)
		close(s->net_far[i]);
	s->net_far[i] = -1;
	if (s->o.once)
		stop = 1;
}

static void accept_one(struct server *s, int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), i, rc;

	if (fd < 0)
		return;
	for (i = 0; i < MAX_CONNS && s->conns[i] != NULL; i++)
		;
	if (i == MAX_CONNS) {
		close(fd);
		return;
	}
	s->pending_far = -1;
	if (strcmp(s->o.device, "echo") == 0)
		rc = vhost_user_conn_create_ops(fd, &echo_ops, s, log_line, s, &s->conns[i]);
	else if (strcmp(s->o.device, "net") == 0)
		rc = vhost_user_conn_create(fd, net_factory, s, log_line, s, &s->conns[i]);
	else if (strcmp(s->o.device, "blk") == 0)
		rc = vhost_user_conn_create(fd, blk_factory, s, log_line, s, &s->conns[i]);
	else
		rc = vhost_user_conn_create(fd, rng_factory, s, log_line, s, &s->conns[i]);
	if (rc < 0) {
		fprintf(stderr, "vhost_user_serve: connection refused: %s\n", strerror(-rc));
		close(fd);
		return;
	}
	if (s->o.no_mem_slots)
		vhost_user_conn_withdraw_protocol_features(s->conns[i], 1ULL << 15);
	s->net_far[i] = s->pending_far;
	s->frames[i] = 0;
	fprintf(stderr, "vhost_user_serve: front end connected\n");
}

/* The far end of a net backend: count (and maybe reflect) what the guest sent. */
static void drain_far(struct server *s, int i)
{
	uint8_t frame[65600];

	for (int n = 0; n < 256; n++) {
		ssize_t len = recv(s->net_far[i], frame, sizeof(frame), MSG_DONTWAIT);

		if (len <= 0)
			return;
		s->frames[i]++;
		if (s->o.net_reflect)
			(void)send(s->net_far[i], frame, (size_t)len, MSG_DONTWAIT);
	}
}

static int run(struct server *s, int lfd)
{
	while (!stop) {
		struct pollfd pfd[MAX_FDS];
		int owner[MAX_FDS]; /* connection index, -1 listen, -2-i net far end */
		int n = 0, timeout = 1000;

		pfd[n] = (struct pollfd){.fd = lfd, .events = POLLIN};
		owner[n++] = -1;
		for (int i = 0; i < MAX_CONNS; i++) {
			struct vdev_pollfd v[MAX_FDS];
			int m, t;

			if (s->conns[i] == NULL)
				continue;
			m = vhost_user_conn_pollfds(s->conns[i], v, MAX_FDS - n - 1);
			for (int k = 0; k < m; k++) {
				short ev = 0;

				if (v[k].events & VDEV_POLL_IN)
					ev |= POLLIN;
				if (v[k].events & VDEV_POLL_OUT)
					ev |= POLLOUT;
				pfd[n] = (struct pollfd){.fd = v[k].fd, .events = ev};
				owner[n++] = i;
			}
			if (s->net_far[i] >= 0 && n < MAX_FDS) {
				pfd[n] = (struct pollfd){.fd = s->net_far[i], .events = POLLIN};
				owner[n++] = -2 - i;
			}
			t = vhost_user_conn_next_timeout_ms(s->conns[i]);
			if (t >= 0 && t < timeout)
				timeout = t;
		}
		if (poll(pfd, (nfds_t)n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int k = 0; k < n; k++) {
			int i = owner[k];

			if (!pfd[k].revents)
				continue;
			if (i == -1) {
				accept_one(s, lfd);
			} else if (i <= -2) {
				if (s->conns[-2 - i] != NULL)
					drain_far(s, -2 - i);
			} else if (s->conns[i] != NULL) {
				int rc = vhost_user_conn_dispatch(s->conns[i], pfd[k].fd);

				if (rc < 0)
					close_conn(s, i, rc);
			}
		}
		for (int i = 0; i < MAX_CONNS; i++)
			if (s->conns[i] != NULL)
				(void)vhost_user_conn_poll(s->conns[i]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct server s = {.o = {.device = "rng"}};
	struct sigaction sa = {.sa_handler = on_signal};
	int lfd, rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
			s.o.socket = argv[++i];
		else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
			s.o.device = argv[++i];
		else if (strcmp(argv[i], "--once") == 0)
			s.o.once = true;
		else if (strcmp(argv[i], "--verbose") == 0)
			s.o.verbose = true;
		else if (strcmp(argv[i], "--no-mem-slots") == 0)
			s.o.no_mem_slots = true;
		else if (strcmp(argv[i], "--net-reflect") == 0)
			s.o.net_reflect = true;
		else if (strcmp(argv[i], "--blk-file") == 0 && i + 1 < argc)
			s.o.blk_file = argv[++i];
		else {
			fprintf(stderr, "usage: %s --socket PATH [--device rng|echo|net|blk] "
				"[--once] [--verbose] [--no-mem-slots] [--net-reflect] "
				"[--blk-file IMAGE]\n", argv[0]);
			return 2;
		}
	}
	if (s.o.socket == NULL ||
	    (strcmp(s.o.device, "rng") != 0 && strcmp(s.o.device, "echo") != 0 &&
	     strcmp(s.o.device, "net") != 0 && strcmp(s.o.device, "blk") != 0) ||
	    (strcmp(s.o.device, "blk") == 0) != (s.o.blk_file != NULL)) {
		fprintf(stderr, "%s: --socket is required; --device is rng, echo, net or blk "
			"(blk, and only blk, with --blk-file)\n", argv[0]);
		return 2;
	}
	for (int i = 0; i < MAX_CONNS; i++)
		s.net_far[i] = -1;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	lfd = listen_on(s.o.socket);
	if (lfd < 0) {
		fprintf(stderr, "%s: cannot listen on %s: %s\n", argv[0], s.o.socket,
			strerror(-lfd));
		return 1;
	}
	fprintf(stderr, "vhost_user_serve: listening on %s (%s)\n", s.o.socket, s.o.device);
	rc = run(&s, lfd);
	for (int i = 0; i < MAX_CONNS; i++)
		if (s.conns[i] != NULL)
			close_conn(&s, i, 0);
	close(lfd);
	unlink(s.o.socket);
	return rc < 0 ? 1 : 0;
}
