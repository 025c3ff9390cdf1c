/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inactive queue pairs: a pair at or above the count the driver set with
 * VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET (1 until it does, and again after a reset) sends
 * nothing. Its TX chains are completed in ring order and the frames dropped and
 * counted, as QEMU (which detaches the backend queues of inactive pairs) and Linux
 * (which never transmits there) expect; raising the count sends again. Received frames
 * go to active pairs only.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "net_pair.h"
#include "net_raw.h"

#define WANT                                                                             \
	(VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | VIRTIO_NET_F_CTRL_VQ | VIRTIO_NET_F_MQ | \
	 VIRTIO_RING_F_INDIRECT_DESC | VIRTIO_F_IN_ORDER)

static const uint8_t OTHER_MAC[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};

static struct vdev_net_config two_pairs(void)
{
	return (struct vdev_net_config){.size = sizeof(struct vdev_net_config),
					.queue_pairs = 2,
					.queue_size = 64};
}

static void set_pairs(struct net_guest *g, uint16_t pairs)
{
	cr_assert_eq(ng_ctrl(g, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2),
		     VIRTIO_NET_OK, "set %u pairs", pairs);
}

/* Queue `n` frames on pair p, tokens first..first+n-1, with one kick. */
static void send_frames(struct net_guest *g, uint16_t p, int n, uintptr_t first)
{
	for (int k = 0; k < n; k++) {
		uint64_t gpa = vdev_sim_alloc(g->fx.sim, 2048, 64);
		uint8_t *b = vdev_sim_ptr(g->fx.sim, gpa, 2048);
		struct vdev_drv_seg seg = {gpa, (uint32_t)(g->hdr_size + 100), false};

		memset(b, 0, g->hdr_size);
		ng_frame(b + g->hdr_size, OTHER_MAC, OTHER_MAC, 100, (uint32_t)(first + k));
		cr_assert_eq(vdev_drv_enqueue(g->fx.drv, (uint16_t)(2 * p + 1), &seg, 1, false,
					      (void *)(first + k)),
			     0);
	}
	vdev_drv_kick(g->fx.drv, (uint16_t)(2 * p + 1));
	ng_settle(&g->fx.dev, 1, 3);
}

/* Every chain of tokens first..first+n-1 came back from pair p, in ring order. */
static void expect_completed(struct net_guest *g, uint16_t p, int n, uintptr_t first,
			     const char *what)
{
	for (int k = 0; k < n; k++) {
		void *tok;
		uint32_t len;

		cr_assert_eq(vdev_drv_dequeue(g->fx.drv, (uint16_t)(2 * p + 1), &tok, &len), 1,
			     "%s: completion %d", what, k);
		cr_assert_eq((uintptr_t)tok, first + k, "%s: completion %d is chain %zu", what, k,
			     (size_t)(uintptr_t)tok);
		cr_assert_eq(len, 0, "%s: TX writes nothing", what);
	}
	cr_assert_eq(ng_tx_done(g, p), 0, "%s: nothing more completed", what);
}

Test(net_pairs, tx_on_inactive_pair_is_completed_and_dropped_until_raised)
{
	for (int i = 0; i < FX_NMODES_TRANSITIONAL; i++) {
		const char *m = fx_modes[i].name;
		struct vdev_net_config cfg = two_pairs();
		struct net_guest g;
		uint64_t dropped;
		int peer;

		raw_open(&g, &fx_modes[i], &peer, &cfg, false);
		cr_assert_eq(ng_ready(&g, WANT, 2), 0);
		cr_assert(g.fx.features & VIRTIO_NET_F_MQ);
		set_pairs(&g, 2);
		send_frames(&g, 1, 1, 1);
		expect_completed(&g, 1, 1, 1, m);
		cr_assert_eq(raw_drain(peer, NULL, NULL), 1, "%s: pair 1 sends while active", m);

		set_pairs(&g, 1);
		dropped = dev_stats(g.fx.dev).dropped;
		send_frames(&g, 1, 3, 10);
		expect_completed(&g, 1, 3, 10, m);
		cr_assert_eq(raw_drain(peer, NULL, NULL), 0, "%s: nothing sent from pair 1", m);
		cr_assert_eq(dev_stats(g.fx.dev).dropped, dropped + 3, "%s", m);
		cr_assert_eq(net_stats(g.fx.dev).tx_frames, 1, "%s", m);
		cr_assert_eq(net_stats(g.fx.dev).tx_malformed, 0, "%s", m);

		send_frames(&g, 0, 2, 20);
		expect_completed(&g, 0, 2, 20, m);
		cr_assert_eq(raw_drain(peer, NULL, NULL), 2, "%s: pair 0 still sends", m);

		set_pairs(&g, 2);
		send_frames(&g, 1, 2, 30);
		expect_completed(&g, 1, 2, 30, m);
		cr_assert_eq(raw_drain(peer, NULL, NULL), 2, "%s: pair 1 sends again", m);
		cr_assert_eq(dev_stats(g.fx.dev).dropped, dropped + 3, "%s", m);
		cr_assert_eq(net_stats(g.fx.dev).tx_frames, 5, "%s", m);
		raw_close(&g, peer);
	}
}

Test(net_pairs, one_pair_is_active_until_set_and_again_after_reset)
{
	for (int i = 0; i < FX_NMODES_TRANSITIONAL; i++) {
		const char *m = fx_modes[i].name;
		struct vdev_net_config cfg = two_pairs();
		struct net_guest g;
		int peer;

		raw_open(&g, &fx_modes[i], &peer, &cfg, false);
		cr_assert_eq(ng_ready(&g, WANT, 2), 0);
		/* MQ negotiated, no VQ_PAIRS_SET yet: only pair 0 is in use (the spec). */
		send_frames(&g, 1, 1, 1);
		expect_completed(&g, 1, 1, 1, m);
		cr_assert_eq(raw_drain(peer, NULL, NULL), 0, "%s: pair 1 before the command", m);
		cr_assert_eq(dev_stats(g.fx.dev).dropped, 1, "%s", m);
		set_pairs(&g, 2);
		send_frames(&g, 1, 1, 2);
		expect_completed(&g, 1, 1, 2, m);
		cr_assert_eq(raw_drain(peer, NULL, NULL), 1, "%s: pair 1 once set", m);

		/* A reset forgets the count: pair 1 is inactive again until set. */
		vdev_drv_reset(g.fx.drv);
		cr_assert_eq(ng_ready(&g, WANT, 2), 0);
		send_frames(&g, 1, 1, 3);
		expect_completed(&g, 1, 1, 3, m);
		cr_assert_eq(raw_drain(peer, NULL, NULL), 0, "%s: pair 1 after the reset", m);
		set_pairs(&g, 2);
		send_frames(&g, 1, 1, 4);
		expect_completed(&g, 1, 1, 4, m);
		cr_assert_eq(raw_drain(peer, NULL, NULL), 1, "%s: pair 1 set again", m);
		raw_close(&g, peer);
	}
}

Test(net_pairs, chain_waiting_on_the_backend_is_dropped_when_its_pair_goes_inactive)
{
	struct vdev_net_config cfg = two_pairs();
	struct net_guest g;
	int peer, sent = 0;
	uint64_t dropped;

	raw_open(&g, &fx_modes[1], &peer, &cfg, false);
	cr_assert_eq(ng_ready(&g, WANT, 2), 0);
	set_pairs(&g, 2);
	/* The peer reads nothing: the socket fills and pair 1's send blocks. */
	while (net_stats(g.fx.dev).tx_blocked == 0 && sent < 2000) {
		static uint8_t out[1400];

		ng_frame(out, OTHER_MAC, OTHER_MAC, sizeof(out), (uint32_t)sent);
		cr_assert_eq(ng_send(&g, 1, NULL, out, sizeof(out), true), 0);
		sent++;
		ng_settle(&g.fx.dev, 1, 1);
		cr_assert_eq(ng_tx_done(&g, 1), net_stats(g.fx.dev).tx_blocked ? 0 : 1);
	}
	cr_assert_gt(net_stats(g.fx.dev).tx_blocked, 0, "socket never filled");
	dropped = dev_stats(g.fx.dev).dropped;
	/* Pair 1 goes inactive with its last chain waiting: completed, never sent, even
	 * while the backend stays full. */
	set_pairs(&g, 1);
	cr_assert_eq(vdev_dev_next_timeout_ms(g.fx.dev), 0, "the drop is not left waiting");
	ng_settle(&g.fx.dev, 1, 3);
	cr_assert_eq(ng_tx_done(&g, 1), 1, "the waiting chain completes");
	cr_assert_eq(dev_stats(g.fx.dev).dropped, dropped + 1);
	cr_assert_eq(raw_drain(peer, NULL, NULL), sent - 1, "it never reached the backend");
	cr_assert_eq(net_stats(g.fx.dev).tx_frames, (uint64_t)(sent - 1));
	raw_close(&g, peer);
}

/* A backend with two queues whose frames the test hands out one at a time, counting
 * what each queue is asked to send. */
static struct {
	int waiting[2];
	int sent[2];
	uint8_t frame[100];
} two_q;

static int two_q_fd(void *opaque, unsigned int q)
{
	(void)opaque;
	(void)q;
	return -1; /* vdev_dev_poll() reads every queue anyway */
}

static ssize_t two_q_recv(void *opaque, unsigned int q, struct vdev_net_hdr *hdr, void *buf,
			  size_t len)
{
	(void)opaque;
	if (two_q.waiting[q] == 0 || len < sizeof(two_q.frame))
		return -EAGAIN;
	two_q.waiting[q]--;
	memset(hdr, 0, sizeof(*hdr));
	memcpy(buf, two_q.frame, sizeof(two_q.frame));
	return (ssize_t)sizeof(two_q.frame);
}

static int two_q_send(void *opaque, unsigned int q, const struct vdev_net_hdr *hdr,
		      const struct iovec *iov, int iovcnt)
{
	(void)opaque;
	(void)hdr;
	(void)iov;
	(void)iovcnt;
	two_q.sent[q]++;
	return 0;
}

Test(net_pairs, frames_reach_only_active_pairs_with_two_backend_queues)
{
	struct vdev_net_backend be = {
		.version = VDEV_NET_BACKEND_VERSION, .nqueues = 2, .filter = true,
		.fd = two_q_fd, .recv = two_q_recv, .send = two_q_send,
	};
	struct vdev_net_config cfg = two_pairs();
	static uint8_t in[2048];
	struct vdev_net_hdr h;
	struct net_guest g;
	uint8_t mac[6];
	size_t got;

	memset(&two_q, 0, sizeof(two_q));
	cfg.backend = &be;
	cr_assert_eq(ng_open(&g, "pairs2", &fx_modes[1], false, &cfg), 0);
	cr_assert_eq(ng_ready(&g, WANT, 2), 0);
	ng_mac(&g, mac);
	ng_frame(two_q.frame, mac, OTHER_MAC, sizeof(two_q.frame), 7);
	set_pairs(&g, 2);
	cr_assert_eq(ng_post_rx(&g, 0, 4, 2048), 4);
	cr_assert_eq(ng_post_rx(&g, 1, 4, 2048), 4);

	/* Two active pairs: backend queue 1 feeds pair 1, which sends on it. */
	two_q.waiting[1] = 1;
	ng_settle(&g.fx.dev, 1, 3);
	cr_assert_eq(ng_recv(&g, 1, &h, in, sizeof(in), &got, NULL, false, 0), 1);
	cr_assert_eq(ng_recv(&g, 0, &h, in, sizeof(in), &got, NULL, false, 0), 0);
	send_frames(&g, 1, 1, 1);
	expect_completed(&g, 1, 1, 1, "pair 1 active");
	cr_assert_eq(two_q.sent[1], 1);

	/* One active pair: queue 1's frames are steered to pair 0, pair 1's receive
	 * queue is left alone, and nothing of pair 1 reaches queue 1. */
	set_pairs(&g, 1);
	two_q.waiting[1] = 2;
	ng_settle(&g.fx.dev, 1, 3);
	cr_assert_eq(ng_recv(&g, 0, &h, in, sizeof(in), &got, NULL, false, 0), 1);
	cr_assert_eq(ng_recv(&g, 0, &h, in, sizeof(in), &got, NULL, false, 0), 1);
	cr_assert_eq(got, sizeof(two_q.frame));
	cr_assert_eq(ng_recv(&g, 1, &h, in, sizeof(in), &got, NULL, false, 0), 0,
		     "nothing for the inactive pair");
	send_frames(&g, 1, 2, 2);
	expect_completed(&g, 1, 2, 2, "pair 1 inactive");
	cr_assert_eq(two_q.sent[0] + two_q.sent[1], 1, "no frame of pair 1 was sent");
	cr_assert_eq(net_stats(g.fx.dev).rx_frames, 3);
	ng_close(&g);
}
