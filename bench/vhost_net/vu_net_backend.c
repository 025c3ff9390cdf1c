/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libvdev's virtio-net served over vhost-user with a traffic-generating backend, for
 * measuring the device against other vhost-user back ends with the same front end.
 *
 *   vu_net_backend --socket PATH --mode sink|source [--poll event|busy]
 *                  [--socket-every N] [--idle-pause N] [--queue-size N]
 *
 * --mode sink: every frame the guest sends is counted (and its Ethernet header
 *   checked) and dropped. --mode source: the guest receives 64-byte frames (a valid
 *   Ethernet header, then a 64-bit sequence number) as fast as it posts buffers.
 * --poll event: the ordinary embedder's loop: poll() on the connector's descriptors
 *   (socket, kick eventfds), vhost_user_conn_dispatch() on what is ready. --poll busy:
 *   the connector's busy-poll mode (vhost_user_conn_set_busy_poll()): the front end is
 *   told not to kick and vhost_user_conn_busy_poll_once() runs in a loop, reading the
 *   socket every --socket-every rounds; after a round that found nothing it executes
 *   --idle-pause N pause instructions (default 0) before the next.
 *
 * Serves one connection, then prints its counters ("vu_net_backend: ...") and checks
 * them: a sink must have received frames, all well formed; a source must have lost
 * none on its side (every frame it generated reached the guest, but for one that may
 * still wait for a buffer). Exit status 0 when the checks pass, 1 when they fail, 2
 * on a usage error. SIGINT/SIGTERM end the connection early (still reported).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vdev/net.h"
#include "vhost_user.h"

#define MAX_FDS 32
#define FRAME_LEN 64
#define ETHERTYPE_OFF 12
/* The source's EtherType: IEEE 802 local experimental. */
#define SOURCE_ETHERTYPE 0x88b5
#define SEQ_OFF 14

enum mode { MODE_SINK, MODE_SOURCE };

struct opts {
	const char *socket;
	enum mode mode;
	bool busy;
	unsigned int socket_every;
	unsigned int idle_pauses;
	uint16_t queue_size;
};

/* The backend's own counters (it runs on the device's thread, so plain fields). */
struct traffic {
	enum mode mode;
	uint8_t template_frame[FRAME_LEN];
	uint64_t seq;          /* source: frames generated (the next sequence number) */
	uint64_t frames;       /* sink: frames received */
	uint64_t bytes;
	uint64_t short_frames; /* sink: shorter than an Ethernet header */
	uint64_t ipv4;         /* sink: frames with EtherType IPv4 */
	uint64_t unexpected;   /* frames in the direction the mode does not serve */
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
	(void)opaque;
	if (level <= VDEV_LOG_WARN)
		fprintf(stderr, "vu_net_backend: %s: %s\n", devname, msg);
}

/* ---- the backend ---- */

static int tr_fd(void *opaque, unsigned int q)
{
	(void)opaque;
	(void)q;
	return -1; /* nothing to wait for: the source is always ready, the sink never full */
}

static ssize_t tr_recv(void *opaque, unsigned int q, struct vdev_net_hdr *hdr, void *buf,
		       size_t len)
{
	struct traffic *t = opaque;
	uint8_t *f = buf;
	uint64_t seq;

	(void)q;
	if (t->mode != MODE_SOURCE)
		return -EAGAIN;
	if (len < FRAME_LEN)
		return FRAME_LEN; /* cannot happen: the device offers its maximum frame */
	memset(hdr, 0, sizeof(*hdr));
	memcpy(f, t->template_frame, FRAME_LEN);
	seq = t->seq++;
	memcpy(f + SEQ_OFF, &seq, sizeof(seq));
	t->bytes += FRAME_LEN;
	return FRAME_LEN;
}

static int tr_send(void *opaque, unsigned int q, const struct vdev_net_hdr *hdr,
		   const struct iovec *iov, int iovcnt)
{
	struct traffic *t = opaque;
	size_t len = 0;

	(void)q;
	(void)hdr;
	if (t->mode != MODE_SINK) {
		t->unexpected++;
		return 0;
	}
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	/* Look at the frame as a real sink would: its Ethernet header (testpmd's txonly
	 * frames are IPv4 over Ethernet). */
	if (len < ETHERTYPE_OFF + 2)
		t->short_frames++;
	else if (iov[0].iov_len >= ETHERTYPE_OFF + 2 &&
		 ((const uint8_t *)iov[0].iov_base)[ETHERTYPE_OFF] == 0x08 &&
		 ((const uint8_t *)iov[0].iov_base)[ETHERTYPE_OFF + 1] == 0x00)
		t->ipv4++;
	t->frames++;
	t->bytes += len;
	return 0;
}

static void traffic_init(struct traffic *t, enum mode mode)
{
	static const uint8_t dst[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
	static const uint8_t src[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

	memset(t, 0, sizeof(*t));
	t->mode = mode;
	memcpy(t->template_frame, dst, 6);
	memcpy(t->template_frame + 6, src, 6);
	t->template_frame[ETHERTYPE_OFF] = SOURCE_ETHERTYPE >> 8;
	t->template_frame[ETHERTYPE_OFF + 1] = SOURCE_ETHERTYPE & 0xff;
	for (int i = SEQ_OFF + 8; i < FRAME_LEN; i++)
		t->template_frame[i] = (uint8_t)i;
}

struct server {
	struct opts o;
	struct traffic tr;
};

static int net_factory(void *arg, struct vmctx *ctx, struct vdev_dev **out)
{
	struct server *s = arg;
	struct vdev_net_backend be = {
		.version = VDEV_NET_BACKEND_VERSION,
		.opaque = &s->tr,
		.nqueues = 1,
		.filter = false, /* the source addresses no one in particular */
		.fd = tr_fd,
		.recv = tr_recv,
		.send = tr_send,
	};
	struct vdev_net_config cfg = {
		.size = sizeof(struct vdev_net_config),
		.pci = {.mode = VDEV_PCI_MODERN},
		.backend = &be,
		.queue_size = s->o.queue_size,
	};

	return vdev_net_create(ctx, "net0", &cfg, out);
}

/* ---- loops ---- */

static int listen_on(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return -e;
	}
	return fd;
}

static int run_event(struct vhost_user_conn *c)
{
	while (!stop) {
		struct vdev_pollfd v[MAX_FDS];
		struct pollfd pfd[MAX_FDS];
		int n = vhost_user_conn_pollfds(c, v, MAX_FDS), t;

		if (n < 0)
			return n;
		for (int k = 0; k < n; k++)
			pfd[k] = (struct pollfd){
				.fd = v[k].fd,
				.events = (short)(((v[k].events & VDEV_POLL_IN) ? POLLIN : 0) |
						  ((v[k].events & VDEV_POLL_OUT) ? POLLOUT : 0)),
			};
		t = vhost_user_conn_next_timeout_ms(c);
		if (poll(pfd, (nfds_t)n, t < 0 || t > 1000 ? 1000 : t) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int k = 0; k < n; k++) {
			if (pfd[k].revents) {
				int rc = vhost_user_conn_dispatch(c, pfd[k].fd);

				if (rc < 0)
					return rc;
			}
		}
		if (t == 0)
			(void)vhost_user_conn_poll(c);
	}
	return 0;
}

/* A short wait without a system call: after a round that found nothing, polling the
 * driver's ring indexes again at once only pulls its cache lines away from it while it
 * is writing them. */
static void idle_pause(unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#else
		__asm__ __volatile__("" ::: "memory");
#endif
	}
}

static int run_busy(struct vhost_user_conn *c, unsigned int socket_every,
		    unsigned int idle_pauses)
{
	int rc = vhost_user_conn_set_busy_poll(c, true, socket_every);

	while (rc >= 0 && !stop) {
		rc = vhost_user_conn_busy_poll_once(c);
		if (rc == 0)
			idle_pause(idle_pauses);
	}
	return rc < 0 ? rc : 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Print the counters and check them; returns the exit status. */
static int report(struct server *s, struct vhost_user_conn *c, int rc, double secs)
{
	struct vhost_user_conn_stats cs;
	struct vdev_net_stats ns = {0};
	struct vdev_dev_stats ds = {0};
	const struct traffic *t = &s->tr;
	bool ok = true;
	uint64_t moved;

	vhost_user_conn_get_stats(c, &cs);
	(void)vdev_net_get_stats(vhost_user_conn_device(c), &ns);
	(void)vdev_dev_get_stats(vhost_user_conn_device(c), &ds);
	printf("vu_net_backend: mode %s poll %s: end %d, %.2f s connected\n",
	       t->mode == MODE_SINK ? "sink" : "source", s->o.busy ? "busy" : "event", rc, secs);
	printf("vu_net_backend: backend: generated %" PRIu64 " received %" PRIu64
	       " bytes %" PRIu64 " short %" PRIu64 " ipv4 %" PRIu64 " unexpected %" PRIu64 "\n",
	       t->seq, t->frames, t->bytes, t->short_frames, t->ipv4, t->unexpected);
	printf("vu_net_backend: device: tx_frames %" PRIu64 " rx_frames %" PRIu64
	       " tx_malformed %" PRIu64 " rx_dropped %" PRIu64 " rx_filtered %" PRIu64
	       " rx_bad_buffer %" PRIu64 " dropped %" PRIu64 "\n",
	       ns.tx_frames, ns.rx_frames, ns.tx_malformed, ns.rx_dropped, ns.rx_filtered,
	       ns.rx_bad_buffer, ds.dropped);
	printf("vu_net_backend: connection: messages %" PRIu64 " refused %" PRIu64
	       " kicks %" PRIu64 " calls %" PRIu64 " busy_rounds %" PRIu64 " busy_idle %" PRIu64
	       "\n",
	       cs.messages, cs.refused, cs.kicks, cs.calls, cs.busy_rounds, cs.busy_idle);
	if (t->mode == MODE_SINK) {
		moved = t->frames;
		if (t->frames == 0 || t->short_frames != 0 || ns.tx_frames != t->frames ||
		    ns.tx_malformed != 0)
			ok = false;
	} else {
		moved = ns.rx_frames;
		/* Every generated frame reached the guest, but for one that may still wait
		 * for a buffer; nothing was dropped or filtered on the way. */
		if (ns.rx_frames == 0 || t->seq - ns.rx_frames > 1 || ns.rx_dropped != 0 ||
		    ns.rx_filtered != 0 || ns.rx_bad_buffer != 0)
			ok = false;
	}
	if (t->unexpected != 0 || cs.refused != 0)
		ok = false;
	printf("vu_net_backend: frames %" PRIu64 " (%.3f Mpps over the connection): %s\n",
	       moved, secs > 0 ? moved / secs / 1e6 : 0.0, ok ? "ok" : "FAILED");
	fflush(stdout);
	return ok ? 0 : 1;
}

static int usage(const char *argv0)
{
	fprintf(stderr, "usage: %s --socket PATH --mode sink|source [--poll event|busy] "
		"[--socket-every N] [--idle-pause N] [--queue-size N]\n", argv0);
	return 2;
}

int main(int argc, char **argv)
{
	static struct server s = {.o = {.mode = MODE_SINK}};
	struct sigaction sa = {.sa_handler = on_signal};
	struct vhost_user_conn *c = NULL;
	bool have_mode = false;
	double t0;
	int lfd, fd, rc, status;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v == NULL)
			return usage(argv[0]);
		i++;
		if (strcmp(a, "--socket") == 0) {
			s.o.socket = v;
		} else if (strcmp(a, "--mode") == 0) {
			if (strcmp(v, "sink") != 0 && strcmp(v, "source") != 0)
				return usage(argv[0]);
			s.o.mode = strcmp(v, "sink") == 0 ? MODE_SINK : MODE_SOURCE;
			have_mode = true;
		} else if (strcmp(a, "--poll") == 0) {
			if (strcmp(v, "event") != 0 && strcmp(v, "busy") != 0)
				return usage(argv[0]);
			s.o.busy = strcmp(v, "busy") == 0;
		} else if (strcmp(a, "--socket-every") == 0) {
			s.o.socket_every = (unsigned int)strtoul(v, NULL, 0);
		} else if (strcmp(a, "--idle-pause") == 0) {
			s.o.idle_pauses = (unsigned int)strtoul(v, NULL, 0);
		} else if (strcmp(a, "--queue-size") == 0) {
			s.o.queue_size = (uint16_t)strtoul(v, NULL, 0);
		} else {
			return usage(argv[0]);
		}
	}
	if (s.o.socket == NULL || !have_mode)
		return usage(argv[0]);
	traffic_init(&s.tr, s.o.mode);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	lfd = listen_on(s.o.socket);
	if (lfd < 0) {
		fprintf(stderr, "vu_net_backend: cannot listen on %s: %s\n", s.o.socket,
			strerror(-lfd));
		return 1;
	}
	fprintf(stderr, "vu_net_backend: listening on %s (mode %s, poll %s)\n", s.o.socket,
		s.o.mode == MODE_SINK ? "sink" : "source", s.o.busy ? "busy" : "event");
	do {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	} while (fd < 0 && errno == EINTR && !stop);
	close(lfd);
	unlink(s.o.socket);
	if (fd < 0) {
		fprintf(stderr, "vu_net_backend: no front end connected\n");
		return 1;
	}
	rc = vhost_user_conn_create(fd, net_factory, &s, log_line, NULL, &c);
	if (rc < 0) {
		fprintf(stderr, "vu_net_backend: cannot serve: %s\n", strerror(-rc));
		close(fd);
		return 1;
	}
	t0 = now_s();
	rc = s.o.busy ? run_busy(c, s.o.socket_every, s.o.idle_pauses) : run_event(c);
	status = report(&s, c, rc, now_s() - t0);
	vhost_user_conn_destroy(c);
	return status;
}
