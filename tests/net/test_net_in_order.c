/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VIRTIO_F_IN_ORDER: when it is negotiated the device promises to use chains in the
 * order the driver made them available, so every path that completes a chain (frames
 * sent, malformed frames dropped, receive buffers too small for the header, frames
 * merged across buffers) must keep ring order.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "net_pair.h"
#include "net_raw.h"

#define WANT (VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | VIRTIO_NET_F_MRG_RXBUF | VIRTIO_F_IN_ORDER)

static const uint8_t OTHER_MAC[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};

static bool in_order(struct net_guest *g)
{
	return (vdev_drv_features(g->fx.drv) & VIRTIO_F_IN_ORDER) != 0;
}

/* The modern drivers of fx_modes (the feature bit is past the legacy 32). */
static bool is_modern(const struct fx_mode *m)
{
	return m->access == VDEV_DRV_MODERN;
}

static int nop_fd(void *opaque, unsigned int q)
{
	(void)opaque;
	(void)q;
	return -1;
}

static ssize_t nop_recv(void *opaque, unsigned int q, struct vdev_net_hdr *hdr, void *buf,
			size_t len)
{
	(void)opaque;
	(void)q;
	(void)hdr;
	(void)buf;
	(void)len;
	return -EAGAIN;
}

static int nop_send(void *opaque, unsigned int q, const struct vdev_net_hdr *hdr,
		    const struct iovec *iov, int iovcnt)
{
	(void)opaque;
	(void)q;
	(void)hdr;
	(void)iov;
	(void)iovcnt;
	return 0;
}

Test(net_in_order, offered_to_modern_drivers_when_one_backend_queue_feeds_the_pairs)
{
	for (int i = 0; i < FX_NMODES_TRANSITIONAL; i++) {
		struct net_guest g;
		int peer;

		raw_open(&g, &fx_modes[i], &peer, NULL, false);
		cr_assert_eq(ng_ready(&g, WANT, 1), 0);
		cr_assert_eq(in_order(&g), is_modern(&fx_modes[i]), "%s: IN_ORDER negotiated: %d",
			     fx_modes[i].name, in_order(&g));
		raw_close(&g, peer);
	}
	{
		struct vdev_net_config cfg = {.size = sizeof(struct vdev_net_config),
					      .no_in_order = true};
		struct net_guest g;
		int peer;

		raw_open(&g, &fx_modes[1], &peer, &cfg, false);
		cr_assert_eq(ng_ready(&g, WANT, 1), 0);
		cr_assert(!in_order(&g), "no_in_order: not offered");
		raw_close(&g, peer);
	}
	{
		/* Two backend queues may feed one pair: the promise is not made. */
		struct vdev_net_backend be = {
			.version = VDEV_NET_BACKEND_VERSION, .nqueues = 2, .filter = true,
			.fd = nop_fd, .recv = nop_recv, .send = nop_send,
		};
		struct vdev_net_config cfg = {.size = sizeof(struct vdev_net_config),
					      .backend = &be, .queue_pairs = 2};
		struct net_guest g;

		cr_assert_eq(ng_open(&g, "inorder2", &fx_modes[1], false, &cfg), 0);
		cr_assert_eq(ng_ready(&g, WANT | VIRTIO_NET_F_MQ, 2), 0);
		cr_assert(!in_order(&g), "two backend queues: not offered");
		ng_close(&g);
	}
}

/* One TX chain in guest RAM: a zero header then a frame, or `len` bytes of nothing. */
static struct vdev_drv_seg tx_chain(struct net_guest *g, size_t frame_len, uint32_t seed)
{
	uint64_t gpa = vdev_sim_alloc(g->fx.sim, 2048, 64);
	uint8_t *p = vdev_sim_ptr(g->fx.sim, gpa, 2048);

	memset(p, 0, g->hdr_size);
	ng_frame(p + g->hdr_size, OTHER_MAC, OTHER_MAC, frame_len, seed);
	return (struct vdev_drv_seg){gpa, (uint32_t)(g->hdr_size + frame_len), false};
}

Test(net_in_order, tx_completions_keep_ring_order_when_frames_are_dropped)
{
	/* sent, short, sent, short, too long for a frame, sent: one kick */
	static const int kind[] = {0, 1, 0, 1, 2, 0};
	const int n = (int)(sizeof(kind) / sizeof(kind[0]));

	for (int i = 0; i < FX_NMODES_TRANSITIONAL; i++) {
		struct net_guest g;
		uint64_t huge;
		int peer;

		if (!is_modern(&fx_modes[i]))
			continue;
		raw_open(&g, &fx_modes[i], &peer, NULL, false);
		cr_assert_eq(ng_ready(&g, WANT | VIRTIO_RING_F_INDIRECT_DESC, 1), 0);
		cr_assert(in_order(&g));
		huge = vdev_sim_alloc(g.fx.sim, VDEV_NET_MAX_FRAME + 64, 64);
		for (int k = 0; k < n; k++) {
			struct vdev_drv_seg seg = tx_chain(&g, 64, (uint32_t)k);

			if (kind[k] == 1)
				seg.len = 3; /* shorter than the header */
			else if (kind[k] == 2)
				seg = (struct vdev_drv_seg){huge, VDEV_NET_MAX_FRAME + 64, false};
			cr_assert_eq(vdev_drv_enqueue(g.fx.drv, 1, &seg, 1, false,
						      (void *)(uintptr_t)(k + 1)), 0);
		}
		vdev_drv_kick(g.fx.drv, 1);
		ng_settle(&g.fx.dev, 1, 5);
		for (int k = 0; k < n; k++) {
			void *tok;
			uint32_t len;

			cr_assert_eq(vdev_drv_dequeue(g.fx.drv, 1, &tok, &len), 1,
				     "%s: completion %d", fx_modes[i].name, k);
			cr_assert_eq((uintptr_t)tok, (uintptr_t)(k + 1),
				     "%s: completion %d is chain %zu", fx_modes[i].name, k,
				     (size_t)(uintptr_t)tok);
		}
		cr_assert_eq(raw_drain(peer, NULL, NULL), 3, "the three good frames were sent");
		cr_assert_eq(net_stats(g.fx.dev).tx_malformed, 3);
		raw_close(&g, peer);
	}
}

Test(net_in_order, rx_completions_keep_ring_order_across_bad_and_merged_buffers)
{
	for (int i = 0; i < FX_NMODES_TRANSITIONAL; i++) {
		struct net_guest g;
		uint64_t gpa[5];
		static const uint32_t size[5] = {2048, 4, 2048, 100, 2048};
		uint8_t f1[64], f2[64], f3[300];
		int peer;

		if (!is_modern(&fx_modes[i]))
			continue;
		raw_open(&g, &fx_modes[i], &peer, NULL, false);
		cr_assert_eq(ng_ready(&g, WANT, 1), 0);
		cr_assert(in_order(&g));
		/* A good buffer, one too small for the header (given back empty), a good
		 * one, then two a 300-byte frame is merged across. */
		for (int k = 0; k < 5; k++) {
			gpa[k] = vdev_sim_alloc(g.fx.sim, 2048, 64);
			cr_assert_eq(ng_repost(&g, 0, gpa[k], size[k], k == 4), 0);
		}
		ng_frame(f1, OTHER_MAC, OTHER_MAC, sizeof(f1), 1);
		ng_frame(f2, OTHER_MAC, OTHER_MAC, sizeof(f2), 2);
		ng_frame(f3, OTHER_MAC, OTHER_MAC, sizeof(f3), 3);
		raw_inject(peer, f1, sizeof(f1));
		raw_inject(peer, f2, sizeof(f2));
		raw_inject(peer, f3, sizeof(f3));
		ng_settle(&g.fx.dev, 1, 5);
		for (int k = 0; k < 5; k++) {
			void *tok;
			uint32_t len;

			cr_assert_eq(vdev_drv_dequeue(g.fx.drv, 0, &tok, &len), 1,
				     "%s: completion %d", fx_modes[i].name, k);
			cr_assert_eq((uint64_t)(uintptr_t)tok, gpa[k], "%s: completion %d is buffer %d",
				     fx_modes[i].name, k, k);
		}
		cr_assert_eq(net_stats(g.fx.dev).rx_frames, 3);
		cr_assert_eq(net_stats(g.fx.dev).rx_bad_buffer, 1);
		raw_close(&g, peer);
	}
}
