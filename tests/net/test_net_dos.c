/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-net against a flooding guest (HOSTILE.md H30): a guest that posts no
 * receive buffers while the host has frames for it, and one that keeps its transmit
 * queue full towards a backend that never accepts, both kicking without end. The
 * backend is scripted by the test, so every call the device makes into it is counted:
 * host memory and work are bounded when the device holds one frame at most, makes at
 * most one backend call per kick or poll, and reads no descriptor it already has.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "net_pair.h"

#define QSIZE 64
#define FRAME 64
#define NFRAMES 200
#define ROUNDS 1000
#define WANT (VIRTIO_NET_F_MAC | VIRTIO_RING_F_EVENT_IDX)

static const uint8_t DST[6] = {0x02, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE};
static const uint8_t SRC[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};

/* A backend that hands out NFRAMES numbered frames and accepts sends only when told. */
struct script_be {
	int efd;            /* reported by fd(): nothing ever signals it */
	uint32_t handed;    /* frames recv() gave the device */
	uint32_t available; /* frames recv() may give in all */
	bool accept;        /* send() takes frames; else -EAGAIN */
	uint64_t recv_calls, send_calls;
	uint32_t sent;      /* frames taken, each checked against its number */
	uint32_t sent_wrong;
};

static int sb_fd(void *opaque, unsigned int q)
{
	struct script_be *b = opaque;

	(void)q;
	return b->efd;
}

static ssize_t sb_recv(void *opaque, unsigned int q, struct vdev_net_hdr *hdr, void *buf,
		       size_t len)
{
	struct script_be *b = opaque;

	(void)q;
	b->recv_calls++;
	if (b->handed == b->available)
		return -EAGAIN;
	cr_assert_geq(len, FRAME);
	memset(hdr, 0, sizeof(*hdr));
	ng_frame(buf, DST, SRC, FRAME, b->handed++);
	return FRAME;
}

static int sb_send(void *opaque, unsigned int q, const struct vdev_net_hdr *hdr,
		   const struct iovec *iov, int iovcnt)
{
	struct script_be *b = opaque;
	uint8_t got[FRAME], want[FRAME];
	size_t n = 0;

	(void)q;
	(void)hdr;
	b->send_calls++;
	if (!b->accept)
		return -EAGAIN;
	for (int i = 0; i < iovcnt; i++) {
		size_t l = iov[i].iov_len;

		if (n + l > sizeof(got))
			l = sizeof(got) - n;
		memcpy(got + n, iov[i].iov_base, l);
		n += l;
	}
	ng_frame(want, DST, SRC, FRAME, b->sent++);
	if (n != FRAME || memcmp(got, want, FRAME) != 0)
		b->sent_wrong++;
	return 0;
}

static void sb_close(void *opaque)
{
	struct script_be *b = opaque;

	close(b->efd);
	b->efd = -1;
}

static void open_scripted(struct net_guest *g, const struct fx_mode *m, struct script_be *b)
{
	struct vdev_net_backend be = {
		.version = VDEV_NET_BACKEND_VERSION,
		.opaque = b,
		.nqueues = 1,
		.filter = true,
		.fd = sb_fd,
		.recv = sb_recv,
		.send = sb_send,
		.close = sb_close,
	};
	struct vdev_net_config cfg = {.size = sizeof(struct vdev_net_config),
				      .backend = &be, .queue_size = QSIZE, .no_ctrl_vq = true};

	memset(b, 0, sizeof(*b));
	b->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	cr_assert_geq(b->efd, 0);
	cr_assert_eq(ng_open(g, "dos0", m, false, &cfg), 0, "%s: open", m->name);
	cr_assert_eq(ng_ready(g, WANT, 1), 0, "%s: ready", m->name);
}

static struct vdev_virtio_stats vstats(struct net_guest *g)
{
	struct vdev_virtio_stats st;

	vdev_virtio_get_stats(vdev_dev_virtio(g->fx.dev), &st);
	return st;
}

static struct virtio_vq_info *vq_of(struct net_guest *g, int q)
{
	return &vdev_dev_virtio(g->fx.dev)->queues[q];
}

/* The events the device asks its embedder to wait for on the backend's fd. */
static short watched(struct net_guest *g, int efd)
{
	struct vdev_pollfd fds[8];
	int n = vdev_dev_pollfds(g->fx.dev, fds, 8);
	short ev = 0;

	cr_assert_geq(n, 0);
	for (int i = 0; i < n; i++)
		if (fds[i].fd == efd)
			ev |= fds[i].events;
	return ev;
}

/*
 * No receive buffers while the host has NFRAMES frames: the device takes one frame,
 * counts the wait once, stops reading the backend (its fd is not watched), and no
 * poll or kick costs a backend call or a descriptor read. Buffers posted later get
 * every frame, in order: nothing was lost or buffered beyond that one.
 */
Test(net_dos, H30_rx_without_buffers_holds_one_frame_and_stops_reading)
{
	for (int i = 0; i < FX_NMODES_TRANSITIONAL; i++) {
		const char *mode = fx_modes[i].name;
		struct net_guest g;
		struct script_be b;
		struct vdev_virtio_stats s0, s1;
		struct vdev_net_hdr h;
		uint8_t got[2048], want[FRAME];
		uint32_t delivered = 0;

		open_scripted(&g, &fx_modes[i], &b);
		b.available = NFRAMES;
		cr_assert_eq(vdev_dev_poll(g.fx.dev), 0);
		cr_assert_eq(b.recv_calls, 1, "%s", mode);
		s0 = vstats(&g);
		for (int k = 0; k < ROUNDS; k++) {
			vdev_drv_kick(g.fx.drv, 0);
			cr_assert_eq(vdev_dev_poll(g.fx.dev), 0);
		}
		s1 = vstats(&g);
		cr_assert_eq(b.recv_calls, 1, "%s: the backend was read %llu times with no buffer",
			     mode, (unsigned long long)b.recv_calls);
		cr_assert_eq(b.handed, 1);
		cr_assert_eq(s1.notifies, s0.notifies + ROUNDS);
		cr_assert_eq(s1.descriptors, s0.descriptors);
		cr_assert_eq(s1.chains, s0.chains);
		cr_assert_eq(dev_stats(g.fx.dev).no_buffer, 1, "%s: the wait counted more than once",
			     mode);
		cr_assert_eq(net_stats(g.fx.dev).rx_frames, 0);
		cr_assert_eq(net_stats(g.fx.dev).rx_dropped, 0);
		cr_assert_eq(watched(&g, b.efd) & VDEV_POLL_IN, 0,
			     "%s: an undrainable fd is watched", mode);
		cr_assert_eq(vdev_drv_read_status(g.fx.drv) & VIRTIO_CR_STATUS_NEEDS_RESET, 0);

		/* The guest posts buffers: every frame arrives, once, in order. */
		cr_assert_eq(ng_post_rx(&g, 0, QSIZE, 2048), QSIZE);
		for (int k = 0; k < 100 * NFRAMES && delivered < NFRAMES; k++) {
			size_t len;

			while (delivered < NFRAMES &&
			       ng_recv(&g, 0, &h, got, sizeof(got), &len, NULL, true, 2048) == 1) {
				ng_frame(want, DST, SRC, FRAME, delivered);
				cr_assert_eq(len, FRAME, "%s: frame %u", mode, delivered);
				cr_assert(memcmp(got, want, FRAME) == 0,
					  "%s: frame %u out of order", mode, delivered);
				delivered++;
			}
			cr_assert_eq(vdev_dev_poll(g.fx.dev), 0);
		}
		cr_assert_eq(delivered, NFRAMES, "%s: %u of %u frames", mode, delivered, NFRAMES);
		cr_assert_eq(net_stats(g.fx.dev).rx_frames, NFRAMES);
		cr_assert_eq(net_stats(g.fx.dev).rx_dropped, 0);
		cr_assert_eq(vq_of(&g, 0)->n_inflight, 0);
		ng_close(&g);
	}
}

/*
 * The guest keeps its transmit queue full and kicks without end; the backend never
 * accepts. One chain is in flight (frames leave in order), each kick or poll costs at
 * most one send attempt and no descriptor read, the wait is counted once, and the
 * backend's fd is watched for room. When the backend accepts, every frame goes out
 * once, in order.
 */
Test(net_dos, H30_tx_to_a_backend_that_never_accepts_holds_one_chain)
{
	for (int i = 0; i < FX_NMODES_TRANSITIONAL; i++) {
		const char *mode = fx_modes[i].name;
		struct net_guest g;
		struct script_be b;
		struct vdev_virtio_stats s0, s1;
		uint64_t calls0;
		uint8_t frame[FRAME];
		uint32_t queued = 0;

		open_scripted(&g, &fx_modes[i], &b);
		for (;;) {
			ng_frame(frame, DST, SRC, FRAME, queued);
			if (ng_send(&g, 0, NULL, frame, FRAME, true) != 0)
				break;
			queued++;
		}
		/* two descriptors a frame: header, then the frame */
		cr_assert_eq(queued, QSIZE / 2, "%s: %u frames fit", mode, queued);
		cr_assert_eq(vq_of(&g, 1)->n_inflight, 1, "%s", mode);
		cr_assert_eq(net_stats(g.fx.dev).tx_blocked, 1);

		s0 = vstats(&g);
		calls0 = b.send_calls;
		for (int k = 0; k < ROUNDS; k++) {
			vdev_drv_kick(g.fx.drv, 1);
			cr_assert_eq(vdev_dev_poll(g.fx.dev), 0);
		}
		s1 = vstats(&g);
		cr_assert_leq(b.send_calls - calls0, 2 * ROUNDS, "%s: %llu send attempts", mode,
			      (unsigned long long)(b.send_calls - calls0));
		cr_assert_eq(s1.descriptors, s0.descriptors, "%s", mode);
		cr_assert_eq(s1.chains, s0.chains);
		cr_assert_eq(vq_of(&g, 1)->n_inflight, 1);
		cr_assert_eq(net_stats(g.fx.dev).tx_blocked, 1, "%s: the wait counted more than once",
			     mode);
		cr_assert_eq(net_stats(g.fx.dev).tx_frames, 0);
		cr_assert_eq(ng_tx_done(&g, 0), 0);
		cr_assert_neq(watched(&g, b.efd) & VDEV_POLL_OUT, 0, "%s: nobody waits for room",
			      mode);

		/* Room at last: everything leaves, once, in order. */
		b.accept = true;
		for (int k = 0; k < 100 && net_stats(g.fx.dev).tx_frames < queued; k++)
			cr_assert_eq(vdev_dev_poll(g.fx.dev), 0);
		cr_assert_eq(net_stats(g.fx.dev).tx_frames, queued, "%s", mode);
		cr_assert_eq(b.sent, queued);
		cr_assert_eq(b.sent_wrong, 0, "%s: frames changed or reordered", mode);
		cr_assert_eq(ng_tx_done(&g, 0), (int)queued);
		cr_assert_eq(vq_of(&g, 1)->n_inflight, 0);
		cr_assert_eq(watched(&g, b.efd) & VDEV_POLL_OUT, 0);
		ng_close(&g);
	}
}
