/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hostile guests against virtio-net (HOSTILE.md H37, H38, H12), through the driver
 * peer. The device sits on the socket backend with the test holding the other end of
 * the socket, so it can see exactly what reached the backend and inject frames.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net_pair.h"
#include "net_raw.h"
#include "util/common.h"

#define WANT                                                                             \
	(VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | VIRTIO_NET_F_CTRL_VQ | VIRTIO_NET_F_CTRL_RX | \
	 VIRTIO_NET_F_CTRL_MAC_ADDR | VIRTIO_RING_F_EVENT_IDX)

static const uint8_t OTHER_MAC[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};

static void settle(struct net_guest *g)
{
	ng_settle(&g->fx.dev, 1, 5);
}

static bool needs_reset(struct net_guest *g)
{
	return (vdev_drv_read_status(g->fx.drv) & VIRTIO_CR_STATUS_NEEDS_RESET) != 0;
}

Test(net_hostile, H37_tx_chain_shorter_than_header)
{
	for (int i = 0; i < FX_NMODES_TRANSITIONAL; i++) {
		struct net_guest g;
		int peer;
		uint64_t gpa;
		uint8_t frame[64];

		raw_open(&g, &fx_modes[i], &peer, NULL, false);
		cr_assert_eq(ng_ready(&g, WANT, 1), 0);
		gpa = vdev_sim_alloc(g.fx.sim, 64, 16);
		for (uint32_t len = 1; len < g.hdr_size; len += 3) {
			struct vdev_drv_seg seg = {gpa, len, false};

			cr_assert_eq(ng_send_raw(&g, 0, &seg, 1), 0);
		}
		settle(&g);
		cr_assert_eq(ng_tx_done(&g, 0), (int)(g.hdr_size + 1) / 3, "%s: chains completed",
			     fx_modes[i].name);
		cr_assert_eq(net_stats(g.fx.dev).tx_malformed, (g.hdr_size + 1) / 3);
		cr_assert_eq(dev_stats(g.fx.dev).dropped, (g.hdr_size + 1) / 3);
		cr_assert_eq(raw_drain(peer, NULL, NULL), 0, "nothing reached the backend");
		cr_assert(!needs_reset(&g));
		/* The queue still works. */
		ng_frame(frame, OTHER_MAC, OTHER_MAC, sizeof(frame), 1);
		cr_assert_eq(ng_send(&g, 0, NULL, frame, sizeof(frame), true), 0);
		cr_assert_eq(raw_drain(peer, NULL, NULL), 1);
		raw_close(&g, peer);
	}
}

Test(net_hostile, H37_tx_header_offsets_past_the_packet)
{
	static const struct {
		const char *why;
		struct vdev_net_hdr h;
		size_t len;
	} cases[] = {
		{"csum_start past the frame", {VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 100, 6}, 60},
		{"csum field past the frame", {VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 50, 9}, 60},
		{"csum offsets wrap 16 bits", {VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 0xFFFF, 0xFFFF},
		 60},
		{"hdr_len past the frame", {0, 0, 200, 0, 0, 0}, 60},
		{"gso without partial checksum", {0, VIRTIO_NET_HDR_GSO_TCPV4, 54, 1448, 0, 0}, 200},
		{"gso_size 0", {VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 54, 0, 34, 16},
		 200},
		{"unknown gso type", {VIRTIO_NET_HDR_F_NEEDS_CSUM, 2, 54, 1448, 34, 16}, 200},
		{"ECN not negotiated",
		 {VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN, 54,
		  1448, 34, 16},
		 200},
		{"TSO6 not negotiated",
		 {VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV6, 74, 1428, 54, 16}, 200},
		{"frame shorter than Ethernet", {0, 0, 0, 0, 0, 0}, 13},
		{"frame past the maximum", {0, 0, 0, 0, 0, 0}, VDEV_NET_MAX_FRAME + 1},
	};
	static uint8_t frame[VDEV_NET_MAX_FRAME + 1];

	for (int i = 0; i < FX_NMODES_TRANSITIONAL; i++) {
		struct net_guest g;
		int peer;

		raw_open(&g, &fx_modes[i], &peer, NULL, true);
		cr_assert_eq(ng_ready(&g,
				      WANT | VIRTIO_NET_F_CSUM | VIRTIO_NET_F_HOST_TSO4 |
					      VIRTIO_NET_F_MRG_RXBUF,
				      1),
			     0);
		for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
			uint64_t before = net_stats(g.fx.dev).tx_malformed;

			ng_frame(frame, OTHER_MAC, OTHER_MAC, cases[k].len, (uint32_t)k);
			cr_assert_eq(ng_send(&g, 0, &cases[k].h, frame, cases[k].len, true), 0);
			cr_assert_eq(ng_tx_done(&g, 0), 1, "%s: completed", cases[k].why);
			cr_assert_eq(net_stats(g.fx.dev).tx_malformed, before + 1, "%s: %s accepted",
				     fx_modes[i].name, cases[k].why);
			cr_assert_eq(raw_drain(peer, NULL, NULL), 0, "%s: reached the backend",
				     cases[k].why);
		}
		cr_assert(!needs_reset(&g));
		/* The same offloads, consistent, pass. */
		{
			struct vdev_net_hdr ok = {VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4,
						  54, 1448, 34, 16};

			ng_frame(frame, OTHER_MAC, OTHER_MAC, 200, 1);
			cr_assert_eq(ng_send(&g, 0, &ok, frame, 200, true), 0);
			cr_assert_eq(raw_drain(peer, NULL, NULL), 1);
		}
		raw_close(&g, peer);
	}
}

Test(net_hostile, H37_needs_csum_without_csum_negotiated)
{
	struct net_guest g;
	int peer;
	uint8_t frame[100];
	struct vdev_net_hdr h = {VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 34, 6};

	raw_open(&g, &fx_modes[1], &peer, NULL, true);
	cr_assert_eq(ng_ready(&g, WANT, 1), 0); /* no CSUM */
	ng_frame(frame, OTHER_MAC, OTHER_MAC, sizeof(frame), 1);
	cr_assert_eq(ng_send(&g, 0, &h, frame, sizeof(frame), true), 0);
	cr_assert_eq(net_stats(g.fx.dev).tx_malformed, 1);
	cr_assert_eq(raw_drain(peer, NULL, NULL), 0);
	raw_close(&g, peer);
}

/* The header size follows the features alone: 10 bytes for a legacy driver without
 * MRG_RXBUF, 12 otherwise, whatever the guest writes into num_buffers. */
Test(net_hostile, H37_header_size_from_features_not_guest_fields)
{
	static const struct {
		int mode;
		uint64_t extra;
		size_t hs;
	} cases[] = {
		{0, 0, 10},
		{0, VIRTIO_NET_F_MRG_RXBUF, 12},
		{1, 0, 12},
		{1, VIRTIO_NET_F_MRG_RXBUF, 12},
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct net_guest g;
		int peer;
		uint64_t gpa;
		uint8_t *p, got[128], frame[100];
		size_t len = 0;
		struct vdev_drv_seg seg;
		void *tok;
		uint32_t used;

		raw_open(&g, &fx_modes[cases[k].mode], &peer, NULL, false);
		cr_assert_eq(ng_ready(&g, WANT | cases[k].extra, 1), 0);
		/* TX: one buffer of 12 + 100 bytes whose bytes 10..11 are 0xFFFF. */
		gpa = vdev_sim_alloc(g.fx.sim, 128, 16);
		p = vdev_sim_ptr(g.fx.sim, gpa, 128);
		memset(p, 0, 12);
		p[10] = p[11] = 0xFF;
		ng_frame(p + 12, OTHER_MAC, OTHER_MAC, 100, 3);
		seg = (struct vdev_drv_seg){gpa, 112, false};
		cr_assert_eq(ng_send_raw(&g, 0, &seg, 1), 0);
		cr_assert_eq(raw_drain(peer, &len, got), 1);
		cr_assert_eq(len, 112 - cases[k].hs, "case %zu: frame of %zu bytes", k, len);
		cr_assert(memcmp(got, p + cases[k].hs, len) == 0);
		/* RX: the used length is the header size plus the frame. */
		cr_assert_eq(ng_post_rx(&g, 0, 1, 2048), 1);
		ng_frame(frame, OTHER_MAC, OTHER_MAC, sizeof(frame), 4);
		raw_inject(peer, frame, sizeof(frame));
		settle(&g);
		cr_assert_eq(vdev_drv_dequeue(g.fx.drv, 0, &tok, &used), 1);
		cr_assert_eq(used, cases[k].hs + sizeof(frame), "case %zu: used %u", k, used);
		raw_close(&g, peer);
	}
}

Test(net_hostile, H37_rx_buffer_smaller_than_header)
{
	for (int i = 0; i < FX_NMODES_TRANSITIONAL; i++) {
		struct net_guest g;
		int peer;
		uint8_t frame[80], in[2048];
		struct vdev_net_hdr h;
		uint64_t small, ro;
		void *tok;
		uint32_t used;
		size_t got;
		struct vdev_drv_seg seg;

		raw_open(&g, &fx_modes[i], &peer, NULL, false);
		cr_assert_eq(ng_ready(&g, WANT | VIRTIO_NET_F_MRG_RXBUF, 1), 0);
		/* A 4-byte buffer, a read-only buffer (direction lie), then a good one. */
		small = vdev_sim_alloc(g.fx.sim, 64, 16);
		ro = vdev_sim_alloc(g.fx.sim, 2048, 16);
		cr_assert_eq(ng_repost(&g, 0, small, 4, false), 0);
		seg = (struct vdev_drv_seg){ro, 2048, false};
		cr_assert_eq(vdev_drv_enqueue(g.fx.drv, 0, &seg, 1, false, (void *)(uintptr_t)ro), 0);
		cr_assert_eq(ng_post_rx(&g, 0, 1, 2048), 1);
		memset(vdev_sim_ptr(g.fx.sim, ro, 2048), 0xAB, 2048);
		ng_frame(frame, OTHER_MAC, OTHER_MAC, sizeof(frame), 2);
		raw_inject(peer, frame, sizeof(frame));
		settle(&g);
		cr_assert_eq(vdev_drv_dequeue(g.fx.drv, 0, &tok, &used), 1);
		cr_assert_eq((uint64_t)(uintptr_t)tok, small);
		cr_assert_eq(used, 0, "%s: a too-small buffer comes back empty", fx_modes[i].name);
		cr_assert_eq(vdev_drv_dequeue(g.fx.drv, 0, &tok, &used), 1);
		cr_assert_eq((uint64_t)(uintptr_t)tok, ro);
		cr_assert_eq(used, 0, "a read-only buffer comes back empty");
		cr_assert_eq(((uint8_t *)vdev_sim_ptr(g.fx.sim, ro, 1))[0], 0xAB, "and unwritten");
		cr_assert_eq(ng_recv(&g, 0, &h, in, sizeof(in), &got, NULL, false, 0), 1);
		cr_assert_eq(got, sizeof(frame));
		cr_assert(memcmp(in, frame, got) == 0, "the frame went to the next buffer");
		cr_assert_eq(net_stats(g.fx.dev).rx_bad_buffer, 2);
		cr_assert(!needs_reset(&g));
		raw_close(&g, peer);
	}
}

Test(net_hostile, H37_rx_frame_larger_than_buffer_without_mrg)
{
	struct net_guest g;
	int peer;
	uint8_t frame[1500], in[4096];
	struct vdev_net_hdr h;
	size_t got;

	raw_open(&g, &fx_modes[1], &peer, NULL, false);
	cr_assert_eq(ng_ready(&g, WANT, 1), 0);
	cr_assert_eq(ng_post_rx(&g, 0, 1, 512), 1);
	ng_frame(frame, OTHER_MAC, OTHER_MAC, sizeof(frame), 2);
	raw_inject(peer, frame, sizeof(frame));
	raw_inject(peer, frame, 300);
	settle(&g);
	cr_assert_eq(net_stats(g.fx.dev).rx_dropped, 1, "the big frame is dropped, counted");
	cr_assert_eq(ng_recv(&g, 0, &h, in, sizeof(in), &got, NULL, false, 0), 1);
	cr_assert_eq(got, 300, "the buffer served the next frame");
	raw_close(&g, peer);
}

/* ---- H38: control queue ---- */

struct ctrl_case {
	const char *why;
	uint8_t cls, cmd;
	uint8_t data[64];
	size_t len;
};

Test(net_hostile, H38_ctrl_bad_payloads_get_err)
{
	static const struct ctrl_case cases[] = {
		{"promisc without its byte", VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, {0}, 0},
		{"promisc with two bytes", VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, {0, 0}, 2},
		{"allmulti with 9 bytes", VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, {1}, 9},
		{"unknown rx command", VIRTIO_NET_CTRL_RX, 77, {0}, 1},
		{"table: no counts", VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, {0}, 2},
		{"table: unicast count past payload",
		 VIRTIO_NET_CTRL_MAC,
		 VIRTIO_NET_CTRL_MAC_TABLE_SET,
		 {0xE8, 0x03, 0, 0, 0, 0, 0, 0},
		 8},
		{"table: huge unicast count",
		 VIRTIO_NET_CTRL_MAC,
		 VIRTIO_NET_CTRL_MAC_TABLE_SET,
		 {0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0},
		 8},
		{"table: multicast count past payload",
		 VIRTIO_NET_CTRL_MAC,
		 VIRTIO_NET_CTRL_MAC_TABLE_SET,
		 {0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0x5e, 0, 0, 1},
		 14},
		{"table: missing multicast count",
		 VIRTIO_NET_CTRL_MAC,
		 VIRTIO_NET_CTRL_MAC_TABLE_SET,
		 {1, 0, 0, 0, 2, 0, 0, 0, 0, 1},
		 10},
		{"table: trailing bytes",
		 VIRTIO_NET_CTRL_MAC,
		 VIRTIO_NET_CTRL_MAC_TABLE_SET,
		 {0, 0, 0, 0, 0, 0, 0, 0, 9},
		 9},
		{"addr_set short", VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, {2, 0, 0, 0, 0},
		 5},
		{"addr_set long", VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, {2}, 7},
		{"addr_set multicast", VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, {1}, 6},
		{"mq without MQ", VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, {1, 0}, 2},
		{"unknown class", 77, 0, {0}, 1},
		{"vlan class (not offered)", 2, 0, {0, 0}, 2},
		{"announce class (not offered)", 3, 0, {0}, 0},
	};

	for (int i = 0; i < FX_NMODES_TRANSITIONAL; i++) {
		struct net_guest g;
		int peer;
		uint8_t frame[64], mac0[6], mac1[6];

		raw_open(&g, &fx_modes[i], &peer, NULL, false);
		cr_assert_eq(ng_ready(&g, WANT, 1), 0);
		ng_mac(&g, mac0);
		for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
			cr_assert_eq(ng_ctrl(&g, cases[k].cls, cases[k].cmd, cases[k].data,
					     cases[k].len),
				     VIRTIO_NET_ERR, "%s: %s", fx_modes[i].name, cases[k].why);
		{
			/* A payload far longer than any command. */
			static uint8_t big[7000];

			cr_assert_eq(ng_ctrl(&g, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, big,
					     sizeof(big)),
				     VIRTIO_NET_ERR);
		}
		/* No class byte even: a chain of just the ack. */
		{
			uint64_t b = vdev_sim_alloc(g.fx.sim, 16, 16);
			struct vdev_drv_seg seg = {b, 1, true};
			void *tok;
			uint32_t used;

			cr_assert_eq(vdev_drv_enqueue(g.fx.drv, g.ctrl_q, &seg, 1, false, NULL), 0);
			vdev_drv_kick(g.fx.drv, g.ctrl_q);
			cr_assert_eq(vdev_drv_dequeue(g.fx.drv, g.ctrl_q, &tok, &used), 1);
			cr_assert_eq(*(uint8_t *)vdev_sim_ptr(g.fx.sim, b, 1), VIRTIO_NET_ERR);
		}
		cr_assert_eq(net_stats(g.fx.dev).ctrl_err, sizeof(cases) / sizeof(cases[0]) + 2);
		cr_assert_eq(net_stats(g.fx.dev).ctrl_ok, 0);
		/* Nothing changed: still promiscuous, same MAC. */
		ng_mac(&g, mac1);
		cr_assert(memcmp(mac0, mac1, 6) == 0);
		cr_assert_eq(ng_post_rx(&g, 0, 1, 2048), 1);
		ng_frame(frame, OTHER_MAC, OTHER_MAC, sizeof(frame), 1);
		raw_inject(peer, frame, sizeof(frame));
		settle(&g);
		cr_assert_eq(net_stats(g.fx.dev).rx_frames, 1, "still promiscuous");
		cr_assert(!needs_reset(&g));
		raw_close(&g, peer);
	}
}

Test(net_hostile, H38_ctrl_table_count_larger_than_payload_keeps_old_table)
{
	struct net_guest g;
	int peer;
	uint8_t off = 0, frame[64];
	uint8_t ok_tbl[4 + 6 + 4] = {1, 0, 0, 0, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0, 0, 0};
	uint8_t bad_tbl[4 + 6 + 4] = {1, 0, 0, 0, 0x02, 0x66, 0x66, 0x66, 0x66, 0x66, 5, 0, 0, 0};

	raw_open(&g, &fx_modes[1], &peer, NULL, false);
	cr_assert_eq(ng_ready(&g, WANT, 1), 0);
	cr_assert_eq(ng_ctrl(&g, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &off, 1),
		     VIRTIO_NET_OK);
	cr_assert_eq(ng_ctrl(&g, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, ok_tbl,
			     sizeof(ok_tbl)),
		     VIRTIO_NET_OK);
	cr_assert_eq(ng_ctrl(&g, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, bad_tbl,
			     sizeof(bad_tbl)),
		     VIRTIO_NET_ERR);
	cr_assert_eq(ng_post_rx(&g, 0, 2, 2048), 2);
	ng_frame(frame, OTHER_MAC, OTHER_MAC, sizeof(frame), 1);
	raw_inject(peer, frame, sizeof(frame)); /* in the old table: passes */
	frame[1] = 0x66;
	raw_inject(peer, frame, sizeof(frame)); /* only in the refused table: filtered */
	settle(&g);
	cr_assert_eq(net_stats(g.fx.dev).rx_frames, 1);
	cr_assert_eq(net_stats(g.fx.dev).rx_filtered, 1);
	raw_close(&g, peer);
}

Test(net_hostile, H38_ctrl_ack_not_writable_breaks_device)
{
	for (int i = 0; i < FX_NMODES_TRANSITIONAL; i++) {
		struct net_guest g;
		int peer;
		uint64_t b;
		struct vdev_drv_seg seg;
		uint8_t *p;
		void *tok;
		uint32_t used;
		uint64_t logs;

		raw_open(&g, &fx_modes[i], &peer, NULL, false);
		cr_assert_eq(ng_ready(&g, WANT, 1), 0);
		b = vdev_sim_alloc(g.fx.sim, 16, 16);
		p = vdev_sim_ptr(g.fx.sim, b, 16);
		p[0] = VIRTIO_NET_CTRL_RX;
		p[1] = VIRTIO_NET_CTRL_RX_PROMISC;
		p[2] = 0;
		p[3] = 0x5A;
		seg = (struct vdev_drv_seg){b, 4, false};
		cr_assert_eq(vdev_drv_enqueue(g.fx.drv, g.ctrl_q, &seg, 1, false, NULL), 0);
		(void)vdev_drv_read_isr(g.fx.drv);
		logs = vdev_sim_log_count(g.fx.sim);
		vdev_drv_kick(g.fx.drv, g.ctrl_q);
		cr_assert_eq(vdev_drv_dequeue(g.fx.drv, g.ctrl_q, &tok, &used), 1, "not leaked");
		cr_assert_eq(used, 0);
		cr_assert_eq(p[3], 0x5A, "nothing written into a read-only buffer");
		cr_assert(needs_reset(&g), "%s: device must need a reset", fx_modes[i].name);
		cr_assert_neq(vdev_drv_read_isr(g.fx.drv) & VIRTIO_CR_ISR_CONF_CHANGED, 0,
			      "%s: no config interrupt", fx_modes[i].name);
		cr_assert_gt(vdev_sim_log_count(g.fx.sim), logs, "%s: the break was not logged",
			     fx_modes[i].name);
		/* A reset brings it back. */
		cr_assert_eq(vdev_drv_reset(g.fx.drv), 0);
		cr_assert_eq(ng_ready(&g, WANT, 1), 0);
		cr_assert(!needs_reset(&g));
		cr_assert_eq(ng_ctrl(&g, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &p[2], 1),
			     VIRTIO_NET_OK);
		raw_close(&g, peer);
	}
}

/* ---- H12: reset with requests in flight ---- */

static uint16_t used_idx(struct net_guest *g, uint16_t q)
{
	uint64_t used;

	cr_assert_eq(vdev_drv_queue_rings(g->fx.drv, q, NULL, NULL, &used), 0);
	return vdev_ld16(vdev_sim_ptr(g->fx.sim, used + 2, 2));
}

Test(net_hostile, H12_reset_with_tx_in_flight)
{
	for (int i = 0; i < FX_NMODES_TRANSITIONAL; i++) {
		struct net_guest g;
		int peer, sent = 0;
		uint64_t used_gpa;
		uint8_t frame[1400], snap[8 + 8 * 256 + 2];
		const uint8_t *ring;
		size_t ring_len;

		raw_open(&g, &fx_modes[i], &peer, NULL, false);
		cr_assert_eq(ng_ready(&g, WANT, 1), 0);
		/* The peer reads nothing: sends block, and a chain stays in flight. */
		while (net_stats(g.fx.dev).tx_blocked == 0 && sent < 250) {
			ng_frame(frame, OTHER_MAC, OTHER_MAC, sizeof(frame), (uint32_t)sent);
			cr_assert_eq(ng_send(&g, 0, NULL, frame, sizeof(frame), true), 0);
			sent++;
		}
		cr_assert_eq(net_stats(g.fx.dev).tx_blocked, 1, "%s: socket never filled",
			     fx_modes[i].name);
		cr_assert_eq(used_idx(&g, 1), sent - 1, "all but the blocked one completed");
		cr_assert_eq(vdev_drv_queue_rings(g.fx.drv, 1, NULL, NULL, &used_gpa), 0);
		ring_len = 4 + 8ULL * g.qsize + 2;
		ring = vdev_sim_ptr(g.fx.sim, used_gpa, ring_len);
		memcpy(snap, ring, ring_len);
		cr_assert_eq(vdev_drv_reset(g.fx.drv), 0);
		/* The backend drains; the device gets every chance to finish the send. */
		cr_assert_eq(raw_drain(peer, NULL, NULL), sent - 1);
		ng_settle(&g.fx.dev, 1, 20);
		cr_assert_eq(raw_drain(peer, NULL, NULL), 0, "the blocked frame was not sent");
		cr_assert(memcmp(snap, ring, ring_len) == 0, "used ring written after the reset");
		cr_assert_eq(net_stats(g.fx.dev).tx_frames, (uint64_t)sent - 1);
		cr_assert_eq(dev_stats(g.fx.dev).dropped, 1, "the discarded frame is counted");
		/* And the device works after the reset. */
		cr_assert_eq(ng_ready(&g, WANT, 1), 0);
		cr_assert_eq(ng_send(&g, 0, NULL, frame, sizeof(frame), true), 0);
		cr_assert_eq(raw_drain(peer, NULL, NULL), 1);
		raw_close(&g, peer);
	}
}

Test(net_hostile, H12_reset_with_rx_frame_half_delivered)
{
	for (int i = 0; i < FX_NMODES_TRANSITIONAL; i++) {
		struct net_guest g;
		int peer;
		uint8_t frame[1000], snap[256], rsnap[8 + 8 * 256 + 2];
		uint64_t buf, used_gpa;
		const uint8_t *ring, *bp;
		size_t ring_len;

		raw_open(&g, &fx_modes[i], &peer, NULL, false);
		cr_assert_eq(ng_ready(&g, WANT | VIRTIO_NET_F_MRG_RXBUF, 1), 0);
		/* One 256-byte buffer for a 1000-byte frame: it is filled and held. */
		buf = vdev_sim_alloc(g.fx.sim, 256, 16);
		cr_assert_eq(ng_repost(&g, 0, buf, 256, true), 0);
		ng_frame(frame, OTHER_MAC, OTHER_MAC, sizeof(frame), 6);
		raw_inject(peer, frame, sizeof(frame));
		settle(&g);
		cr_assert_eq(used_idx(&g, 0), 0, "%s: nothing released yet", fx_modes[i].name);
		cr_assert_eq(dev_stats(g.fx.dev).no_buffer, 1);
		cr_assert_eq(vdev_drv_queue_rings(g.fx.drv, 0, NULL, NULL, &used_gpa), 0);
		ring_len = 4 + 8ULL * g.qsize + 2;
		ring = vdev_sim_ptr(g.fx.sim, used_gpa, ring_len);
		bp = vdev_sim_ptr(g.fx.sim, buf, 256);
		cr_assert_eq(vdev_drv_reset(g.fx.drv), 0);
		memcpy(rsnap, ring, ring_len);
		memcpy(snap, bp, 256);
		ng_settle(&g.fx.dev, 1, 10);
		cr_assert(memcmp(rsnap, ring, ring_len) == 0, "used ring written after reset");
		cr_assert(memcmp(snap, bp, 256) == 0, "buffer written after reset");
		cr_assert_eq(net_stats(g.fx.dev).rx_dropped, 1, "the cut frame is counted");
		/* Frames after the reset go to the new rings. */
		cr_assert_eq(ng_ready(&g, WANT | VIRTIO_NET_F_MRG_RXBUF, 1), 0);
		cr_assert_eq(ng_post_rx(&g, 0, 8, 256), 8);
		raw_inject(peer, frame, sizeof(frame));
		settle(&g);
		cr_assert_eq(net_stats(g.fx.dev).rx_frames, 1);
		raw_close(&g, peer);
	}
}

Test(net_hostile, H30_rx_flood_is_bounded_per_poll)
{
	struct net_guest g;
	int peer;
	uint8_t frame[64];
	int sz = 1 << 20;

	raw_open(&g, &fx_modes[1], &peer, NULL, false);
	/* Room for 300 small frames in the socket, whatever the default. */
	cr_assert_eq(setsockopt(peer, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
	cr_assert_eq(ng_ready(&g, WANT, 1), 0);
	cr_assert_eq(ng_post_rx(&g, 0, 256, 128), 256);
	ng_frame(frame, OTHER_MAC, OTHER_MAC, sizeof(frame), 1);
	for (int k = 0; k < 300; k++)
		raw_inject(peer, frame, sizeof(frame));
	cr_assert_eq(vdev_dev_poll(g.fx.dev), 0);
	cr_assert_eq(net_stats(g.fx.dev).rx_frames, 256, "one poll moves at most the budget");
	cr_assert_eq(dev_stats(g.fx.dev).no_buffer, 0);
	cr_assert_eq(vdev_dev_poll(g.fx.dev), 0);
	cr_assert_eq(dev_stats(g.fx.dev).no_buffer, 1, "then waits for buffers");
	raw_close(&g, peer);
}

/*
 * RX looks a few chains ahead to start their cache misses (vdev_vq_prefetch): a buffer
 * that is not RAM, sitting where the look-ahead reads it, must change nothing until
 * the device takes that chain, and then break the queue as any such buffer does (H21).
 */
Test(net_hostile, H21_rx_buffer_not_ram_seen_ahead_breaks_only_when_taken)
{
	for (int i = 0; i < FX_NMODES_TRANSITIONAL; i++) {
		struct net_guest g;
		int peer;
		uint8_t frame[64];
		uint64_t faults_before;
		struct vdev_sim_irqs irqs;

		raw_open(&g, &fx_modes[i], &peer, NULL, false);
		cr_assert_eq(ng_ready(&g, WANT, 1), 0);
		/* Ten good buffers, one far above RAM, eight good ones. */
		for (int k = 0; k < 19; k++) {
			uint64_t gpa = k == 10 ? 0x7FFFFFFF0000ULL : vdev_sim_alloc(g.fx.sim, 2048, 64);

			cr_assert_eq(ng_repost(&g, 0, gpa, 2048, k == 18), 0);
		}
		vdev_sim_get_irqs(g.fx.sim, &irqs);
		faults_before = irqs.translate_faults;
		ng_frame(frame, OTHER_MAC, OTHER_MAC, sizeof(frame), 9);
		for (int k = 0; k < 10; k++)
			raw_inject(peer, frame, sizeof(frame));
		settle(&g);
		cr_assert_eq(net_stats(g.fx.dev).rx_frames, 10, "%s: frames before the bad buffer",
			     fx_modes[i].name);
		cr_assert(!needs_reset(&g), "%s: a buffer only looked at broke the queue",
			  fx_modes[i].name);
		vdev_sim_get_irqs(g.fx.sim, &irqs);
		cr_assert_gt(irqs.translate_faults, faults_before, "%s: the look-ahead asked",
			     fx_modes[i].name);
		/* The next frame takes it. */
		raw_inject(peer, frame, sizeof(frame));
		settle(&g);
		cr_assert(needs_reset(&g), "%s: taking a buffer outside RAM breaks the queue",
			  fx_modes[i].name);
		cr_assert_eq(net_stats(g.fx.dev).rx_frames, 10);
		raw_close(&g, peer);
	}
}

/* ---------------- H29: the longest chains the specification allows ---------------- */

#define LONG_SEG 4

/*
 * A frame in a chain of queue-size descriptors (the header alone in the first), direct
 * or as one indirect table of queue-size entries, reaches the backend whole; a received
 * frame fills a receive chain of queue-size buffers in order. Nothing breaks.
 */
static void long_chain_net(const struct fx_mode *m, bool indirect)
{
	struct net_guest g;
	int peer;

	raw_open(&g, m, &peer, NULL, false);
	cr_assert_eq(ng_ready(&g, WANT | VIRTIO_RING_F_INDIRECT_DESC, 1), 0);

	uint16_t qs = vdev_drv_queue_size(g.fx.drv, 1);
	struct vdev_drv_seg *segs = calloc(qs, sizeof(*segs));
	size_t flen = (size_t)(qs - 1) * LONG_SEG, got_len = 0;
	uint8_t *frame = malloc(flen), *got = malloc(VDEV_NET_MAX_FRAME);
	uint32_t len;
	void *p;

	cr_assert(segs != NULL && frame != NULL && got != NULL);
	cr_assert_geq(qs, 256, "%s: queue size %u", m->name, qs);
	ng_frame(frame, OTHER_MAC, OTHER_MAC, flen, 7);
	segs[0] = (struct vdev_drv_seg){vdev_sim_alloc(g.fx.sim, g.hdr_size, 16),
					(uint32_t)g.hdr_size, false};
	memset(vdev_sim_ptr(g.fx.sim, segs[0].gpa, g.hdr_size), 0, g.hdr_size);
	for (uint32_t i = 1; i < qs; i++) {
		segs[i] = (struct vdev_drv_seg){fx_buf(&g.fx, LONG_SEG, &p), LONG_SEG, false};
		memcpy(p, frame + (i - 1) * LONG_SEG, LONG_SEG);
	}
	cr_assert_eq(vdev_drv_enqueue(g.fx.drv, 1, segs, qs, indirect, NULL), 0, "%s", m->name);
	vdev_drv_kick(g.fx.drv, 1);
	settle(&g);
	cr_assert_eq(ng_tx_done(&g, 0), 1, "%s: tx chain not completed", m->name);
	cr_assert_eq(raw_drain(peer, &got_len, got), 1, "%s: frame not sent", m->name);
	cr_assert_eq(got_len, flen);
	cr_assert_arr_eq(got, frame, flen, "%s: frame differs", m->name);

	/* host -> guest: qs writable buffers of LONG_SEG bytes */
	for (uint32_t i = 0; i < qs; i++)
		segs[i] = (struct vdev_drv_seg){fx_buf(&g.fx, LONG_SEG, NULL), LONG_SEG, true};
	cr_assert_eq(vdev_drv_enqueue(g.fx.drv, 0, segs, qs, indirect, NULL), 0, "%s", m->name);
	vdev_drv_kick(g.fx.drv, 0);
	flen = (size_t)qs * LONG_SEG - g.hdr_size;
	ng_frame(frame, OTHER_MAC, OTHER_MAC, flen, 9);
	raw_inject(peer, frame, flen);
	cr_assert(fx_wait_used(&g.fx, 0, NULL, &len, 2000), "%s: no rx completion", m->name);
	cr_assert_eq(len, (uint32_t)(qs * LONG_SEG), "%s: rx used length %u", m->name, len);
	for (uint32_t i = 0; i < qs; i++)
		memcpy(got + i * LONG_SEG, vdev_sim_ptr(g.fx.sim, segs[i].gpa, LONG_SEG), LONG_SEG);
	cr_assert_arr_eq(got + g.hdr_size, frame, flen, "%s: received frame differs", m->name);

	cr_assert(!needs_reset(&g), "%s: broken by a legal chain", m->name);
	free(segs);
	free(frame);
	free(got);
	raw_close(&g, peer);
}

Test(net_hostile, H29_queue_size_chain_is_served)
{
	for (int i = 0; i < FX_NMODES; i++)
		long_chain_net(&fx_modes[i], false);
}

Test(net_hostile, H29_queue_size_indirect_table_is_served)
{
	for (int i = 0; i < FX_NMODES; i++)
		long_chain_net(&fx_modes[i], true);
}
