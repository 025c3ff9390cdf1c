/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Serve a device (modern, 32-bit memory BAR, INTx only) to a real QEMU through
 * x-pci-proxy-dev: make a socketpair, start QEMU with one end inherited, serve the
 * other with proxy_conn, and report what crossed the connection. The device is the echo
 * test device (it registers as virtio-rng, so a guest binds virtio_rng to it, but it
 * returns no bytes to a buffer that has nothing readable), or with -d rng libvdev's
 * virtio-rng backed by getrandom(2).
 *
 *   proxy_smoke [-t seconds] [-v] [-d echo|rng] -- qemu-system-x86_64 ... fd=@FD@
 *
 * Every "@FD@" inside QEMU's arguments becomes the inherited descriptor's number. Exits
 * 0 when QEMU's firmware programmed and enabled the memory BAR, 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "echo_dev.h"
#include "proxy_conn.h"
#include "vdev/rng.h"

struct smoke {
	struct timespec t0;
	int verbose;
	bool rng;
	struct echo_dev *echo;
	struct vdev_dev *dev; /* -d rng */
};

static double elapsed_ms(const struct smoke *s)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - s->t0.tv_sec) * 1e3 + (double)(t.tv_nsec - s->t0.tv_nsec) / 1e6;
}

static void smoke_log(void *opaque, enum vdev_log_level level, const char *devname,
		      const char *msg)
{
	struct smoke *s = opaque;

	if (level > VDEV_LOG_INFO && !s->verbose)
		return;
	fprintf(stderr, "[%9.1f ms] %s: %s\n", elapsed_ms(s), devname, msg);
}

static int create(void *arg, struct vmctx *ctx, struct pci_vdev **pci_out, void **dev_out)
{
	struct smoke *s = arg;
	const struct vdev_virtio_pci_config pci = {.mode = VDEV_PCI_MODERN, .mem32 = true};
	int rc;

	vdev_vmctx_set_log_level(ctx, s->verbose ? VDEV_LOG_DEBUG : VDEV_LOG_INFO);
	if (s->rng) {
		struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config), .pci = pci};

		rc = vdev_rng_create(ctx, "rng0", &cfg, &s->dev);
		if (rc < 0)
			return rc;
		*pci_out = vdev_dev_pci(s->dev);
		*dev_out = s->dev;
		return 0;
	}
	struct echo_dev_config cfg = {.pci = pci};

	rc = echo_dev_create(ctx, "echo0", &cfg, &s->echo);
	if (rc < 0)
		return rc;
	*pci_out = echo_dev_pci(s->echo);
	*dev_out = s->echo;
	return 0;
}

static void destroy(void *arg, void *dev)
{
	struct smoke *s = arg;

	if (s->rng) {
		vdev_dev_destroy(dev);
		s->dev = NULL;
		return;
	}
	echo_dev_destroy(dev);
	s->echo = NULL;
}

static uint64_t served(const struct smoke *s)
{
	struct vdev_dev_stats st;

	if (s->rng) {
		if (s->dev == NULL)
			return 0;
		vdev_dev_get_stats(s->dev, &st);
		return st.requests;
	}
	return s->echo ? s->echo->echoed : 0;
}

static const struct proxy_dev_factory factory = {.create = create, .destroy = destroy};

static pid_t start_qemu(char **argv, int fd)
{
	char num[16];
	pid_t pid;

	snprintf(num, sizeof(num), "%d", fd);
	for (char **a = argv; *a != NULL; a++) {
		char *at = strstr(*a, "@FD@");

		if (at != NULL) {
			size_t len = strlen(*a) + sizeof(num);
			char *r = malloc(len);

			if (r == NULL)
				return -1;
			snprintf(r, len, "%.*s%s%s", (int)(at - *a), *a, num, at + 4);
			*a = r;
		}
	}
	pid = fork();
	if (pid == 0) {
		/* The one descriptor QEMU inherits besides stdio. */
		fcntl(fd, F_SETFD, 0);
		execvp(argv[0], argv);
		perror(argv[0]);
		_exit(127);
	}
	return pid;
}

int main(int argc, char **argv)
{
	struct smoke s = {0};
	struct proxy_conn *conn;
	struct proxy_conn_stats st;
	struct vdev_pci_bar_info bar;
	double first_msg = -1, bar_ready = -1;
	int seconds = 60, opt, sv[2], status = 0, rc;
	bool exited = false;
	pid_t pid;

	while ((opt = getopt(argc, argv, "t:vd:")) != -1) {
		if (opt == 't')
			seconds = atoi(optarg);
		else if (opt == 'v')
			s.verbose = 1;
		else if (opt == 'd' && (strcmp(optarg, "rng") == 0 || strcmp(optarg, "echo") == 0))
			s.rng = strcmp(optarg, "rng") == 0;
		else
			return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: %s [-t seconds] [-v] -- qemu ... fd=@FD@\n", argv[0]);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &s.t0);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("socketpair");
		return 1;
	}
	rc = proxy_conn_create(sv[0], &factory, &s, smoke_log, &s, &conn);
	if (rc < 0) {
		fprintf(stderr, "proxy_conn_create: %s\n", strerror(-rc));
		return 1;
	}
	pid = start_qemu(argv + optind, sv[1]);
	if (pid < 0)
		return 1;
	close(sv[1]);

	while (elapsed_ms(&s) < seconds * 1000.0) {
		struct pollfd pfd[2 + 8];
		struct vdev_pollfd dfds[8];
		int fds[2], n = proxy_conn_pollfds(conn, fds, 2), nd = 0, timeout = 200;

		for (int i = 0; i < n; i++)
			pfd[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
		if (s.dev != NULL) {
			int t = vdev_dev_next_timeout_ms(s.dev);

			nd = vdev_dev_pollfds(s.dev, dfds, 8);
			for (int i = 0; i < nd; i++) {
				short ev = 0;

				if (dfds[i].events & VDEV_POLL_IN)
					ev |= POLLIN;
				if (dfds[i].events & VDEV_POLL_OUT)
					ev |= POLLOUT;
				pfd[n + i] = (struct pollfd){.fd = dfds[i].fd, .events = ev};
			}
			if (t >= 0 && t < timeout)
				timeout = t;
		}
		if (poll(pfd, (nfds_t)(n + (nd > 0 ? nd : 0)), timeout) < 0 && errno != EINTR)
			break;
		if (s.dev != NULL)
			vdev_dev_poll(s.dev); /* cheap when nothing is ready */
		if (n > 1 && (pfd[1].revents & POLLIN))
			proxy_conn_handle_resample(conn);
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (first_msg < 0)
				first_msg = elapsed_ms(&s);
			if (proxy_conn_handle(conn) < 0)
				break;
		}
		if (bar_ready < 0 && vdev_pci_bar_info(proxy_conn_pci(conn), 4, &bar) == 0 &&
		    bar.addr != 0 && bar.decode) {
			bar_ready = elapsed_ms(&s);
			fprintf(stderr, "[%9.1f ms] smoke: BAR 4 programmed at %#llx, decoding\n",
				bar_ready, (unsigned long long)bar.addr);
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			exited = true;
			break;
		}
	}
	/* QEMU closed the socket: give it (or the script around it) time to finish. */
	for (int i = 0; !exited && elapsed_ms(&s) < seconds * 1000.0 && i < 100; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			exited = true;
		else
			usleep(100 * 1000);
	}
	if (!exited) {
		kill(pid, SIGTERM);
		waitpid(pid, &status, 0);
	}
	proxy_conn_get_stats(conn, &st);
	vdev_pci_bar_info(proxy_conn_pci(conn), 4, &bar);
	fprintf(stderr,
		"smoke: qemu %s after %.0f ms; first message at %.1f ms; BAR ready at %.1f ms\n"
		"smoke: messages=%llu cfg_reads=%llu cfg_writes=%llu bar_reads=%llu "
		"bar_writes=%llu bar_misses=%llu sysmem=%llu sysmem_refused=%llu resets=%llu "
		"intx_signals=%llu resamples=%llu requests=%llu\n"
		"smoke: BAR 4 addr=%#llx decode=%d\n",
		exited ? "exited" : "stopped", elapsed_ms(&s), first_msg, bar_ready,
		(unsigned long long)st.messages, (unsigned long long)st.cfg_reads,
		(unsigned long long)st.cfg_writes, (unsigned long long)st.bar_reads,
		(unsigned long long)st.bar_writes, (unsigned long long)st.bar_misses,
		(unsigned long long)st.sysmem, (unsigned long long)st.sysmem_refused,
		(unsigned long long)st.resets, (unsigned long long)st.intx_signals,
		(unsigned long long)st.resamples,
		(unsigned long long)served(&s),
		(unsigned long long)bar.addr, bar.decode);
	proxy_conn_destroy(conn);
	return bar_ready >= 0 ? 0 : 1;
}
