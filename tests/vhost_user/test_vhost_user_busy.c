/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The connector's busy-poll mode (vhost_user_conn_set_busy_poll()): the front end is
 * told not to kick, rings run from vhost_user_conn_busy_poll_once() without any kick,
 * the socket is read every N rounds, and turning the mode off strands nothing. Both
 * with the echo device and with virtio-net and a frame-generating backend. And the
 * ordinary eventfd mode's side of it: a kick is served with kicks switched off, then
 * asked for again, and buffers the device cannot use yet never make the loop spin.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_front.h"
#include "vdev/net.h"

#define USED_F_NO_NOTIFY 1

static uint16_t used_flags(struct fake_front *ff, int q)
{
	uint16_t f;

	memcpy(&f, ff->ram + FF_USED_OFF(q), 2);
	return f;
}

static uint16_t avail_event(struct fake_front *ff, int q)
{
	uint16_t e;

	memcpy(&e, ff->ram + FF_USED_OFF(q) + 4u + 8u * FF_QSIZE, 2);
	return e;
}

static void echo_ready(struct fake_front *ff, uint64_t extra_features)
{
	ff_open(ff);
	ff->want_features |= extra_features;
	ff_negotiate(ff, true);
	ff_mem_table_default(ff);
}

/* Post one echo request without kicking; returns its head. */
static uint16_t post_quiet(struct fake_front *ff, int q, uint8_t fill)
{
	uint8_t in[32];

	memset(in, fill, sizeof(in));
	return ff_post(ff, q, in, sizeof(in), sizeof(in));
}

static void expect_echo(struct fake_front *ff, int q, uint16_t head, uint8_t fill)
{
	uint32_t id, len;
	uint8_t in[32];

	memset(in, fill, sizeof(in));
	cr_assert_eq(ff_used(ff, q, &id, &len), 1, "ring %d: nothing in the used ring", q);
	cr_assert_eq(id, head);
	cr_assert_eq(len, sizeof(in));
	cr_assert_eq(memcmp(ff_out_buf(ff, q, head), in, sizeof(in)), 0);
}

Test(vhost_user_busy, refused_while_off_and_for_null)
{
	struct fake_front ff;

	ff_open(&ff);
	cr_assert_eq(vhost_user_conn_busy_poll_once(ff.conn), -EINVAL);
	cr_assert_eq(vhost_user_conn_busy_poll_once(NULL), -EINVAL);
	cr_assert_eq(vhost_user_conn_set_busy_poll(NULL, true, 0), -EINVAL);
	cr_assert_not(vhost_user_conn_busy_polling(ff.conn));
	cr_assert_not(vhost_user_conn_busy_polling(NULL));
	ff_close(&ff);
}

Test(vhost_user_busy, rings_run_without_kicks_and_the_front_end_is_told_not_to_kick)
{
	struct fake_front ff;
	struct vhost_user_conn_stats st;
	uint16_t h0, h1;

	echo_ready(&ff, 0);
	ff_setup_ring(&ff, 0, 0, true);
	ff_setup_ring(&ff, 1, 0, true);
	cr_assert_eq(used_flags(&ff, 0) & USED_F_NO_NOTIFY, 0);
	cr_assert_eq(vhost_user_conn_set_busy_poll(ff.conn, true, 0), 0);
	cr_assert(vhost_user_conn_busy_polling(ff.conn));
	cr_assert_eq(used_flags(&ff, 0) & USED_F_NO_NOTIFY, USED_F_NO_NOTIFY);
	cr_assert_eq(used_flags(&ff, 1) & USED_F_NO_NOTIFY, USED_F_NO_NOTIFY);

	h0 = post_quiet(&ff, 0, 0x11);
	h1 = post_quiet(&ff, 1, 0x22);
	cr_assert_eq(vhost_user_conn_busy_poll_once(ff.conn), 1);
	expect_echo(&ff, 0, h0, 0x11);
	expect_echo(&ff, 1, h1, 0x22);
	/* Nothing left: an idle round says so. */
	cr_assert_eq(vhost_user_conn_busy_poll_once(ff.conn), 0);
	vhost_user_conn_get_stats(ff.conn, &st);
	cr_assert_eq(st.busy_rounds, 2);
	cr_assert_eq(st.busy_idle, 1);
	cr_assert_eq(st.kicks, 0, "no kick eventfd was read");
	/* The echo device asks for calls; the front end did not refuse them. */
	cr_assert_geq(ff_call_take(&ff, 0), 1);
	ff_close(&ff);
}

Test(vhost_user_busy, a_ring_started_later_is_told_not_to_kick)
{
	struct fake_front ff;
	uint16_t h;

	echo_ready(&ff, 0);
	cr_assert_eq(vhost_user_conn_set_busy_poll(ff.conn, true, 0), 0);
	ff_setup_ring(&ff, 0, 0, true);
	cr_assert_eq(used_flags(&ff, 0) & USED_F_NO_NOTIFY, USED_F_NO_NOTIFY);
	h = post_quiet(&ff, 0, 0x33);
	cr_assert_eq(vhost_user_conn_busy_poll_once(ff.conn), 1);
	expect_echo(&ff, 0, h, 0x33);
	ff_close(&ff);
}

Test(vhost_user_busy, with_event_idx_avail_event_is_not_advanced)
{
	struct fake_front ff;
	uint16_t before;

	echo_ready(&ff, VIRTIO_RING_F_EVENT_IDX);
	ff_setup_ring(&ff, 0, 0, true);
	cr_assert_eq(vhost_user_conn_set_busy_poll(ff.conn, true, 0), 0);
	before = avail_event(&ff, 0);
	for (uint8_t i = 0; i < 3; i++) {
		uint16_t h = post_quiet(&ff, 0, i);

		cr_assert_eq(vhost_user_conn_busy_poll_once(ff.conn), 1);
		expect_echo(&ff, 0, h, i);
	}
	cr_assert_eq(vhost_user_conn_busy_poll_once(ff.conn), 0);
	cr_assert_eq(avail_event(&ff, 0), before, "the driver was asked to kick at %u",
		     avail_event(&ff, 0));
	/* Off again: the driver is asked to kick at the next entry. */
	cr_assert_eq(vhost_user_conn_set_busy_poll(ff.conn, false, 0), 0);
	cr_assert_eq(avail_event(&ff, 0), 3);
	ff_close(&ff);
}

Test(vhost_user_busy, turning_it_off_asks_for_kicks_and_strands_nothing)
{
	struct fake_front ff;
	uint16_t h;

	echo_ready(&ff, 0);
	ff_setup_ring(&ff, 0, 0, true);
	cr_assert_eq(vhost_user_conn_set_busy_poll(ff.conn, true, 0), 0);
	/* Queued while the driver was told not to kick, and never kicked. */
	h = post_quiet(&ff, 0, 0x44);
	cr_assert_eq(vhost_user_conn_set_busy_poll(ff.conn, false, 0), 0);
	cr_assert_not(vhost_user_conn_busy_polling(ff.conn));
	cr_assert_eq(used_flags(&ff, 0) & USED_F_NO_NOTIFY, 0);
	expect_echo(&ff, 0, h, 0x44);
	/* The event-driven path works again. */
	ff_round_trip(&ff, 0, 0x55);
	ff_close(&ff);
}

Test(vhost_user_busy, the_socket_is_read_every_n_rounds)
{
	struct fake_front ff;
	struct vu_hdr h = {.request = VU_GET_FEATURES, .flags = VU_VERSION, .size = 0};

	echo_ready(&ff, 0);
	ff_setup_ring(&ff, 0, 0, true);
	cr_assert_eq(vhost_user_conn_set_busy_poll(ff.conn, true, 4), 0);
	ff_send_raw(&ff, &h, sizeof(h), NULL, 0);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(vhost_user_conn_busy_poll_once(ff.conn), 0);
		cr_assert(ff_no_reply(&ff), "answered in round %d", i + 1);
	}
	/* The fourth round reads it: a message handled is work. */
	cr_assert_eq(vhost_user_conn_busy_poll_once(ff.conn), 1);
	cr_assert_neq(ff_reply_u64(&ff, VU_GET_FEATURES), 0);
	ff_close(&ff);
}

Test(vhost_user_busy, a_front_end_that_leaves_ends_the_loop)
{
	struct fake_front ff;
	int rc = 0;

	echo_ready(&ff, 0);
	ff_setup_ring(&ff, 0, 0, true);
	cr_assert_eq(vhost_user_conn_set_busy_poll(ff.conn, true, 8), 0);
	shutdown(ff.sock, SHUT_RDWR);
	for (int i = 0; i < 8 && rc == 0; i++)
		rc = vhost_user_conn_busy_poll_once(ff.conn);
	cr_assert_eq(rc, -EPIPE);
	ff_close(&ff);
}

Test(vhost_user_busy, a_ring_stopped_by_the_front_end_is_not_run)
{
	struct fake_front ff;
	uint64_t base;

	echo_ready(&ff, 0);
	ff_setup_ring(&ff, 0, 0, true);
	cr_assert_eq(vhost_user_conn_set_busy_poll(ff.conn, true, 1), 0);
	cr_assert_eq(ff_state(&ff, VU_GET_VRING_BASE, 0, 0, false), 0);
	base = ff_reply_u64(&ff, VU_GET_VRING_BASE);
	cr_assert_eq(base, 0);
	(void)post_quiet(&ff, 0, 0x66);
	cr_assert_eq(vhost_user_conn_busy_poll_once(ff.conn), 0);
	ff_close(&ff);
}

/* --- virtio-net with a generating/counting backend --- */

#define NET_FRAME 64
#define NET_HDR 12 /* VERSION_1: num_buffers included */

struct gen {
	bool no_frames;   /* recv has nothing */
	bool full;        /* send would block */
	uint64_t seq;
	uint64_t sent;
	uint8_t last[NET_FRAME];
	size_t last_len;
};

static int gen_fd(void *opaque, unsigned int q)
{
	(void)opaque;
	(void)q;
	return -1;
}

static ssize_t gen_recv(void *opaque, unsigned int q, struct vdev_net_hdr *hdr, void *buf,
			size_t len)
{
	struct gen *g = opaque;
	uint8_t *f = buf;

	(void)q;
	if (g->no_frames)
		return -EAGAIN;
	cr_assert_geq(len, NET_FRAME);
	memset(hdr, 0, sizeof(*hdr));
	memset(f, 0xee, NET_FRAME);
	f[0] = 0x02; /* a unicast destination */
	memcpy(f + 14, &g->seq, sizeof(g->seq));
	g->seq++;
	return NET_FRAME;
}

static int gen_send(void *opaque, unsigned int q, const struct vdev_net_hdr *hdr,
		    const struct iovec *iov, int iovcnt)
{
	struct gen *g = opaque;

	(void)q;
	(void)hdr;
	if (g->full)
		return -EAGAIN;
	g->last_len = 0;
	for (int i = 0; i < iovcnt; i++) {
		cr_assert_leq(g->last_len + iov[i].iov_len, sizeof(g->last));
		memcpy(g->last + g->last_len, iov[i].iov_base, iov[i].iov_len);
		g->last_len += iov[i].iov_len;
	}
	g->sent++;
	return 0;
}

static int net_factory(void *arg, struct vmctx *ctx, struct vdev_dev **out)
{
	struct vdev_net_backend be = {
		.version = VDEV_NET_BACKEND_VERSION,
		.opaque = arg,
		.nqueues = 1,
		.fd = gen_fd,
		.recv = gen_recv,
		.send = gen_send,
	};
	struct vdev_net_config cfg = {
		.size = sizeof(struct vdev_net_config),
		.pci = {.mode = VDEV_PCI_MODERN},
		.backend = &be,
		.queue_size = FF_QSIZE,
		.no_ctrl_vq = true, /* two rings, as the fake front end has */
	};

	return vdev_net_create(ctx, "net0", &cfg, out);
}

/* The backend's behaviour (g) is set by the caller before the rings start. */
static void net_open(struct fake_front *ff, struct gen *g)
{
	ff_open_factory(ff, net_factory, g);
	ff_negotiate(ff, true);
	ff_mem_table_default(ff);
	ff_setup_ring(ff, 0, 0, true);
	ff_setup_ring(ff, 1, 0, true);
}

static void net_ready(struct fake_front *ff, struct gen *g)
{
	memset(g, 0, sizeof(*g));
	net_open(ff, g);
	cr_assert_eq(vhost_user_conn_set_busy_poll(ff->conn, true, 0), 0);
}

Test(vhost_user_busy, net_frames_reach_the_guest_in_sequence_without_kicks)
{
	struct fake_front ff;
	struct gen g;
	uint16_t heads[4];

	net_ready(&ff, &g);
	/* No RX buffers yet: the source's frame waits, nothing is lost. */
	cr_assert_eq(vhost_user_conn_busy_poll_once(ff.conn), 0);
	for (int i = 0; i < 4; i++)
		heads[i] = ff_post(&ff, 0, NULL, 0, NET_HDR + NET_FRAME + 20);
	cr_assert_eq(vhost_user_conn_busy_poll_once(ff.conn), 1);
	for (uint64_t i = 0; i < 4; i++) {
		uint32_t id, len;
		const uint8_t *b;
		uint64_t seq;

		cr_assert_eq(ff_used(&ff, 0, &id, &len), 1, "frame %llu", (unsigned long long)i);
		cr_assert_eq(id, heads[i]);
		cr_assert_eq(len, NET_HDR + NET_FRAME);
		b = ff_out_buf(&ff, 0, heads[i]);
		cr_assert_eq(b[10] | b[11] << 8, 1, "num_buffers");
		cr_assert_eq(b[NET_HDR], 0x02);
		memcpy(&seq, b + NET_HDR + 14, sizeof(seq));
		cr_assert_eq(seq, i, "frame %llu carries sequence %llu", (unsigned long long)i,
			     (unsigned long long)seq);
		cr_assert_eq(b[NET_HDR + NET_FRAME - 1], 0xee);
	}
	cr_assert_eq(ff_used(&ff, 0, &(uint32_t){0}, &(uint32_t){0}), 0);
	/* One more frame was generated and waits for a buffer. */
	cr_assert_eq(g.seq, 5);
	ff_close(&ff);
}

Test(vhost_user_busy, net_frames_from_the_guest_reach_the_backend_without_kicks)
{
	struct fake_front ff;
	struct gen g;
	uint8_t pkt[NET_HDR + NET_FRAME] = {0};
	uint32_t id, len;
	uint16_t head;

	net_ready(&ff, &g);
	for (int i = 0; i < NET_FRAME; i++)
		pkt[NET_HDR + i] = (uint8_t)(i + 1);
	head = ff_post(&ff, 1, pkt, sizeof(pkt), 16);
	cr_assert_eq(vhost_user_conn_busy_poll_once(ff.conn), 1);
	cr_assert_eq(g.sent, 1);
	cr_assert_eq(g.last_len, NET_FRAME);
	cr_assert_eq(memcmp(g.last, pkt + NET_HDR, NET_FRAME), 0);
	cr_assert_eq(ff_used(&ff, 1, &id, &len), 1);
	cr_assert_eq(id, head);
	cr_assert_eq(len, 0);
	ff_close(&ff);
}

/* --- eventfd mode: how a kick is served --- */

static bool kick_pending(struct fake_front *ff, int q)
{
	struct pollfd p = {.fd = ff->kick[q], .events = POLLIN};

	cr_assert_geq(poll(&p, 1, 0), 0);
	return (p.revents & POLLIN) != 0;
}

Test(vhost_user_busy, event_mode_asks_for_kicks_again_after_serving_one)
{
	struct fake_front ff;
	uint16_t head;

	echo_ready(&ff, 0);
	ff_setup_ring(&ff, 0, 0, true);
	head = post_quiet(&ff, 0, 0x21);
	ff_kick(&ff, 0);
	ff_pump(&ff);
	expect_echo(&ff, 0, head, 0x21);
	cr_assert_eq(used_flags(&ff, 0) & USED_F_NO_NOTIFY, 0, "kicks left switched off");
	cr_assert(!kick_pending(&ff, 0), "the connector kicked itself with nothing to do");
	/* The next request is served on its kick as before. */
	head = post_quiet(&ff, 0, 0x22);
	ff_kick(&ff, 0);
	ff_pump(&ff);
	expect_echo(&ff, 0, head, 0x22);
	ff_close(&ff);
}

Test(vhost_user_busy, event_mode_with_event_idx_asks_at_the_next_entry)
{
	struct fake_front ff;
	uint16_t head;

	echo_ready(&ff, 1ULL << 29 /* EVENT_IDX */);
	ff_setup_ring(&ff, 0, 0, true);
	head = post_quiet(&ff, 0, 0x31);
	ff_kick(&ff, 0);
	ff_pump(&ff);
	expect_echo(&ff, 0, head, 0x31);
	cr_assert_eq(avail_event(&ff, 0), 1, "avail_event asks for the kick of entry 1");
	ff_close(&ff);
}

Test(vhost_user_busy, event_mode_rx_buffers_without_frames_do_not_spin)
{
	struct fake_front ff;
	struct gen g;

	memset(&g, 0, sizeof(g));
	g.no_frames = true;
	net_open(&ff, &g);
	for (int i = 0; i < 4; i++)
		(void)ff_post(&ff, 0, NULL, 0, NET_HDR + NET_FRAME);
	ff_kick(&ff, 0);
	ff_pump(&ff); /* fails if the connection stays busy */
	cr_assert(!kick_pending(&ff, 0), "buffers the device cannot fill re-armed the kick");
	cr_assert_eq(used_flags(&ff, 0) & USED_F_NO_NOTIFY, 0);
	cr_assert_eq(ff_used(&ff, 0, &(uint32_t){0}, &(uint32_t){0}), 0);
	/* Frames arrive: the device's poll delivers them into the waiting buffers. */
	g.no_frames = false;
	cr_assert_eq(vhost_user_conn_poll(ff.conn), 0);
	cr_assert_eq(ff_used(&ff, 0, &(uint32_t){0}, &(uint32_t){0}), 1);
	ff_close(&ff);
}

Test(vhost_user_busy, event_mode_tx_to_a_full_backend_does_not_spin)
{
	struct fake_front ff;
	struct gen g;
	uint8_t pkt[NET_HDR + NET_FRAME] = {0};

	memset(&g, 0, sizeof(g));
	g.full = true;
	net_open(&ff, &g);
	for (int i = 0; i < 3; i++)
		(void)ff_post(&ff, 1, pkt, sizeof(pkt), 0);
	ff_kick(&ff, 1);
	ff_pump(&ff);
	cr_assert(!kick_pending(&ff, 1), "a blocked backend re-armed the kick");
	cr_assert_eq(g.sent, 0);
	/* Room again: the device's own wake-up (its backend's fd) sends them all. */
	g.full = false;
	cr_assert_eq(vhost_user_conn_poll(ff.conn), 0);
	cr_assert_eq(g.sent, 3);
	ff_close(&ff);
}
