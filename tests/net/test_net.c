/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-net through the driver peer: two devices joined back to back by the socket
 * backend, in legacy, modern and transitional modes, with and without MRG_RXBUF;
 * offload headers, link changes, config space, control commands and their effect,
 * RX back-pressure, multiqueue and argument checks.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "net_pair.h"

#define WANT_BASE                                                                        \
	(VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | VIRTIO_NET_F_CTRL_VQ | VIRTIO_NET_F_CTRL_RX | \
	 VIRTIO_NET_F_CTRL_MAC_ADDR | VIRTIO_NET_F_MTU | VIRTIO_RING_F_EVENT_IDX |           \
	 VIRTIO_RING_F_INDIRECT_DESC)

static const uint8_t OTHER_MAC[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
static const uint8_t BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t MCAST[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};

/* Send `len`-byte frame from `src` to dst MAC; check `dst` guest receives it intact. */
static void check_transfer(struct net_pair *pr, struct net_guest *src, struct net_guest *dst,
			   size_t len, uint32_t seed, const char *what)
{
	static uint8_t out[VDEV_NET_MAX_FRAME], in[VDEV_NET_MAX_FRAME];
	uint8_t dmac[6], smac[6];
	struct vdev_net_hdr h;
	size_t got = 0;
	int nb = 0, rc;
	uint64_t before = net_stats(dst->fx.dev).rx_frames;

	ng_mac(dst, dmac);
	ng_mac(src, smac);
	ng_frame(out, dmac, smac, len, seed);
	cr_assert_eq(ng_send(src, 0, NULL, out, len, true), 0, "%s: send", what);
	pump_rx(pr, dst->fx.dev, before + 1);
	rc = ng_recv(dst, 0, &h, in, sizeof(in), &got, &nb, true, 2048);
	cr_assert_eq(rc, 1, "%s: recv %zu bytes: rc %d", what, len, rc);
	cr_assert_eq(got, len, "%s: got %zu of %zu bytes", what, got, len);
	cr_assert(memcmp(in, out, len) == 0, "%s: bytes differ", what);
	cr_assert_eq(h.flags, 0);
	cr_assert_eq(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	cr_assert_eq(ng_tx_done(src, 0), 1, "%s: TX chain completed", what);
}

static void both_ways(bool mrg, bool msix)
{
	for (int i = 0; i < FX_NMODES_TRANSITIONAL; i++) {
		struct net_pair pr;
		struct vdev_net_config cfg = {.size = sizeof(struct vdev_net_config),
					      .no_mrg_rxbuf = !mrg};
		uint32_t bufsz = mrg ? 256 : 2048;
		char what[96];

		pair_open(&pr, &fx_modes[i], msix, false, &cfg);
		cr_assert_eq(ng_ready(&pr.a, WANT_BASE | VIRTIO_NET_F_MRG_RXBUF, 1), 0);
		cr_assert_eq(ng_ready(&pr.b, WANT_BASE | VIRTIO_NET_F_MRG_RXBUF, 1), 0);
		cr_assert_eq(!!(pr.a.fx.features & VIRTIO_NET_F_MRG_RXBUF), mrg);
		cr_assert_eq(pr.a.hdr_size,
			     (mrg || fx_modes[i].access != VDEV_DRV_LEGACY) ? 12u : 10u);
		cr_assert_eq(ng_post_rx(&pr.a, 0, 64, bufsz), 64);
		cr_assert_eq(ng_post_rx(&pr.b, 0, 64, bufsz), 64);
		for (int k = 0; k < 6; k++) {
			static const size_t sizes[] = {60, 64, 242, 1000, 1514, 1400};

			snprintf(what, sizeof(what), "%s mrg=%d msix=%d a->b", fx_modes[i].name,
				 mrg, msix);
			check_transfer(&pr, &pr.a, &pr.b, sizes[k], (uint32_t)k, what);
			snprintf(what, sizeof(what), "%s mrg=%d msix=%d b->a", fx_modes[i].name,
				 mrg, msix);
			check_transfer(&pr, &pr.b, &pr.a, sizes[5 - k], (uint32_t)k + 100, what);
		}
		cr_assert_eq(net_stats(pr.a.fx.dev).tx_frames, 6);
		cr_assert_eq(net_stats(pr.b.fx.dev).rx_frames, 6);
		cr_assert_eq(dev_stats(pr.a.fx.dev).dropped, 0);
		pair_close(&pr);
	}
}

Test(net, frames_both_ways_mrg_off)
{
	both_ways(false, false);
}

Test(net, frames_both_ways_mrg_on)
{
	both_ways(true, false);
}

Test(net, frames_both_ways_msix)
{
	both_ways(true, true);
}

Test(net, mrg_frame_spans_buffers_with_num_buffers)
{
	struct net_pair pr;
	static uint8_t out[1514], in[2048];
	struct vdev_net_hdr h;
	uint8_t dmac[6];
	size_t got;
	int nb;

	pair_open(&pr, &fx_modes[1], false, false, NULL);
	cr_assert_eq(ng_ready(&pr.a, WANT_BASE | VIRTIO_NET_F_MRG_RXBUF, 1), 0);
	cr_assert_eq(ng_ready(&pr.b, WANT_BASE | VIRTIO_NET_F_MRG_RXBUF, 1), 0);
	/* 12 + 1514 bytes in 256-byte buffers: six buffers, num_buffers = 6. */
	cr_assert_eq(ng_post_rx(&pr.b, 0, 16, 256), 16);
	ng_mac(&pr.b, dmac);
	ng_frame(out, dmac, OTHER_MAC, sizeof(out), 7);
	cr_assert_eq(ng_send(&pr.a, 0, NULL, out, sizeof(out), true), 0);
	pump_rx(&pr, pr.b.fx.dev, 1);
	cr_assert_eq(ng_recv(&pr.b, 0, &h, in, sizeof(in), &got, &nb, false, 0), 1);
	cr_assert_eq(nb, 6);
	cr_assert_eq(got, sizeof(out));
	cr_assert(memcmp(in, out, sizeof(out)) == 0);
	pair_close(&pr);
}

#define OFFL_WANT                                                                        \
	(WANT_BASE | VIRTIO_NET_F_CSUM | VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_HOST_TSO4 |     \
	 VIRTIO_NET_F_GUEST_TSO4 | VIRTIO_NET_F_HOST_TSO6 | VIRTIO_NET_F_GUEST_TSO6 |          \
	 VIRTIO_NET_F_MRG_RXBUF)

Test(net, offload_header_fields_carried_through)
{
	for (int i = 0; i < FX_NMODES_TRANSITIONAL; i++) {
		struct net_pair pr;
		static uint8_t out[3000], in[4096];
		struct vdev_net_hdr h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					 .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
					 .hdr_len = 54,
					 .gso_size = 1448,
					 .csum_start = 34,
					 .csum_offset = 16};
		struct vdev_net_hdr r;
		uint8_t dmac[6];
		size_t got;

		pair_open(&pr, &fx_modes[i], false, true, NULL);
		cr_assert_eq(ng_ready(&pr.a, OFFL_WANT, 1), 0);
		cr_assert_eq(ng_ready(&pr.b, OFFL_WANT, 1), 0);
		cr_assert((pr.a.fx.features & OFFL_WANT) == (OFFL_WANT & ~VIRTIO_NET_F_MTU),
			  "%s: offloads offered: %llx",
			  fx_modes[i].name, (unsigned long long)pr.a.fx.features);
		cr_assert_eq(ng_post_rx(&pr.b, 0, 8, 4096), 8);
		ng_mac(&pr.b, dmac);
		ng_frame(out, dmac, OTHER_MAC, sizeof(out), 3);
		cr_assert_eq(ng_send(&pr.a, 0, &h, out, sizeof(out), true), 0);
		pump_rx(&pr, pr.b.fx.dev, 1);
		cr_assert_eq(ng_recv(&pr.b, 0, &r, in, sizeof(in), &got, NULL, false, 0), 1);
		cr_assert_eq(got, sizeof(out));
		cr_assert(memcmp(in, out, sizeof(out)) == 0);
		cr_assert_eq(r.flags, h.flags, "%s", fx_modes[i].name);
		cr_assert_eq(r.gso_type, h.gso_type);
		cr_assert_eq(r.hdr_len, h.hdr_len);
		cr_assert_eq(r.gso_size, h.gso_size);
		cr_assert_eq(r.csum_start, h.csum_start);
		cr_assert_eq(r.csum_offset, h.csum_offset);
		pair_close(&pr);
	}
}

/* Ones-complement check over [start, len) plus the pseudo-header sum `seed`: 0 when
 * the checksum is right. */
static uint16_t fold(const uint8_t *p, size_t start, size_t len, uint32_t seed)
{
	uint32_t s = seed;

	for (size_t i = start; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if ((len - start) & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xFFFF) + (s >> 16);
	return (uint16_t)~s;
}

Test(net, partial_checksum_completed_for_guest_without_guest_csum)
{
	struct net_pair pr;
	static uint8_t out[301], in[2048];
	struct vdev_net_hdr h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				 .csum_start = 34,
				 .csum_offset = 6};
	struct vdev_net_hdr r;
	uint8_t dmac[6];
	size_t got;

	pair_open(&pr, &fx_modes[1], false, true, NULL);
	cr_assert_eq(ng_ready(&pr.a, WANT_BASE | VIRTIO_NET_F_CSUM | VIRTIO_NET_F_HOST_TSO4, 1), 0);
	cr_assert_eq(ng_ready(&pr.b, WANT_BASE, 1), 0); /* no GUEST_CSUM */
	cr_assert_eq(ng_post_rx(&pr.b, 0, 4, 2048), 4);
	ng_mac(&pr.b, dmac);
	ng_frame(out, dmac, OTHER_MAC, sizeof(out), 9);
	out[40] = 0x12; /* the pseudo-header seed a stack leaves in the field */
	out[41] = 0x34;
	cr_assert_eq(ng_send(&pr.a, 0, &h, out, sizeof(out), true), 0);
	pump_rx(&pr, pr.b.fx.dev, 1);
	cr_assert_eq(ng_recv(&pr.b, 0, &r, in, sizeof(in), &got, NULL, false, 0), 1);
	cr_assert_eq(got, sizeof(out));
	cr_assert_eq(r.flags, 0, "NEEDS_CSUM cleared for a guest without GUEST_CSUM");
	cr_assert(memcmp(in, out, 40) == 0);
	cr_assert(memcmp(in + 42, out + 42, sizeof(out) - 42) == 0);
	/* With the seed folded in, the sum over [34, end) now verifies. */
	cr_assert_eq(fold(in, 34, sizeof(out), 0x1234), 0, "checksum was completed");

	/* Segmented frames cannot be given to a guest without GUEST_TSO4: dropped. */
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = 100;
	h.hdr_len = 54;
	cr_assert_eq(ng_send(&pr.a, 0, &h, out, sizeof(out), true), 0);
	pump_rx(&pr, pr.b.fx.dev, 2);
	cr_assert_eq(net_stats(pr.b.fx.dev).rx_dropped, 1);
	cr_assert_eq(net_stats(pr.b.fx.dev).rx_frames, 1);
	cr_assert_eq(net_stats(pr.a.fx.dev).tx_frames, 2, "the sender accepted it");
	pair_close(&pr);
}

Test(net, link_up_down_raises_config_interrupt)
{
	for (int i = 0; i < FX_NMODES_TRANSITIONAL; i++) {
		for (int msix = 0; msix < 2; msix++) {
			struct net_pair pr;
			struct vdev_sim_irqs irq0, irq1;
			uint8_t gen0 = 0;
			bool modern = fx_modes[i].access != VDEV_DRV_LEGACY;

			pair_open(&pr, &fx_modes[i], msix, false, NULL);
			cr_assert_eq(ng_ready(&pr.a, WANT_BASE, 1), 0);
			cr_assert_eq(vdev_drv_read_config16(pr.a.fx.drv, VIRTIO_NET_CFG_STATUS),
				     VIRTIO_NET_S_LINK_UP);
			if (modern)
				gen0 = (uint8_t)vdev_drv_region_read(pr.a.fx.drv, VDEV_DRV_REGION_COMMON,
							     VIRTIO_COMMON_CFGGENERATION, 1);
			vdev_drv_read_isr(pr.a.fx.drv);
			vdev_sim_get_irqs(pr.a.fx.sim, &irq0);
			cr_assert_eq(vdev_net_set_link(pr.a.fx.dev, false), 0);
			cr_assert_eq(vdev_drv_read_config16(pr.a.fx.drv, VIRTIO_NET_CFG_STATUS), 0);
			vdev_sim_get_irqs(pr.a.fx.sim, &irq1);
			if (msix) {
				cr_assert_eq(vdev_sim_msi_count(pr.a.fx.sim, 0), 1,
					     "%s: config vector", fx_modes[i].name);
			} else {
				cr_assert_eq(irq1.intx_raises, irq0.intx_raises + 1);
				cr_assert_eq(vdev_drv_read_isr(pr.a.fx.drv) & VIRTIO_CR_ISR_CONF_CHANGED,
					     VIRTIO_CR_ISR_CONF_CHANGED);
			}
			if (modern)
				cr_assert_neq(vdev_drv_region_read(pr.a.fx.drv, VDEV_DRV_REGION_COMMON,
								   VIRTIO_COMMON_CFGGENERATION, 1),
					      gen0);
			/* Same state again: no change, no interrupt. */
			cr_assert_eq(vdev_net_set_link(pr.a.fx.dev, false), 0);
			if (msix)
				cr_assert_eq(vdev_sim_msi_count(pr.a.fx.sim, 0), 1);
			else
				cr_assert_eq(vdev_drv_read_isr(pr.a.fx.drv), 0);
			cr_assert_eq(vdev_net_set_link(pr.a.fx.dev, true), 0);
			cr_assert_eq(vdev_drv_read_config16(pr.a.fx.drv, VIRTIO_NET_CFG_STATUS),
				     VIRTIO_NET_S_LINK_UP);
			if (msix)
				cr_assert_eq(vdev_sim_msi_count(pr.a.fx.sim, 0), 2);
			else
				cr_assert_eq(vdev_drv_read_isr(pr.a.fx.drv) & VIRTIO_CR_ISR_CONF_CHANGED,
					     VIRTIO_CR_ISR_CONF_CHANGED);
			pair_close(&pr);
		}
	}
	cr_assert_eq(vdev_net_set_link(NULL, true), -EINVAL);
}

Test(net, link_down_drops_frames_counted)
{
	struct net_pair pr;
	static uint8_t out[100];
	uint8_t dmac[6];

	pair_open(&pr, &fx_modes[1], false, false, NULL);
	cr_assert_eq(ng_ready(&pr.a, WANT_BASE, 1), 0);
	cr_assert_eq(ng_ready(&pr.b, WANT_BASE, 1), 0);
	cr_assert_eq(ng_post_rx(&pr.b, 0, 4, 2048), 4);
	ng_mac(&pr.b, dmac);
	ng_frame(out, dmac, OTHER_MAC, sizeof(out), 1);
	vdev_net_set_link(pr.a.fx.dev, false);
	cr_assert_eq(ng_send(&pr.a, 0, NULL, out, sizeof(out), true), 0);
	cr_assert_eq(ng_tx_done(&pr.a, 0), 1, "the chain still completes");
	cr_assert_eq(dev_stats(pr.a.fx.dev).dropped, 1);
	cr_assert_eq(net_stats(pr.a.fx.dev).tx_frames, 0);
	vdev_net_set_link(pr.a.fx.dev, true);
	vdev_net_set_link(pr.b.fx.dev, false);
	cr_assert_eq(ng_send(&pr.a, 0, NULL, out, sizeof(out), true), 0);
	pump_rx(&pr, pr.b.fx.dev, 1);
	cr_assert_eq(net_stats(pr.b.fx.dev).rx_dropped, 1);
	cr_assert_eq(net_stats(pr.b.fx.dev).rx_frames, 0);
	pair_close(&pr);
}

Test(net, mac_mtu_and_pairs_in_config)
{
	for (int i = 0; i < FX_NMODES_TRANSITIONAL; i++) {
		struct net_pair pr;
		struct vdev_net_config cfg = {.size = sizeof(struct vdev_net_config),
					      .mac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56},
					      .mtu = 9000,
					      .queue_pairs = 3};
		uint8_t mac[6];

		pair_open(&pr, &fx_modes[i], false, false, &cfg);
		cr_assert_eq(ng_ready(&pr.a, WANT_BASE | VIRTIO_NET_F_MQ, 1), 0);
		cr_assert(pr.a.fx.features & VIRTIO_NET_F_MTU);
		cr_assert(pr.a.fx.features & VIRTIO_NET_F_MQ);
		ng_mac(&pr.a, mac);
		cr_assert(memcmp(mac, cfg.mac, 6) == 0, "%s", fx_modes[i].name);
		cr_assert_eq(vdev_drv_read_config16(pr.a.fx.drv, VIRTIO_NET_CFG_MTU), 9000);
		cr_assert_eq(vdev_drv_read_config16(pr.a.fx.drv, VIRTIO_NET_CFG_MAX_PAIRS), 3);
		/* The MAC is driver-writable for legacy drivers only. */
		vdev_drv_write_config8(pr.a.fx.drv, VIRTIO_NET_CFG_MAC + 5, 0x99);
		cr_assert_eq(vdev_drv_read_config8(pr.a.fx.drv, VIRTIO_NET_CFG_MAC + 5),
			     fx_modes[i].access == VDEV_DRV_LEGACY ? 0x99 : 0x56);
		/* Reset restores the configured MAC. */
		vdev_drv_reset(pr.a.fx.drv);
		cr_assert_eq(vdev_drv_read_config8(pr.a.fx.drv, VIRTIO_NET_CFG_MAC + 5), 0x56);
		/* Read-only fields stay. */
		vdev_drv_write_config16(pr.a.fx.drv, VIRTIO_NET_CFG_MTU, 100);
		cr_assert_eq(vdev_drv_read_config16(pr.a.fx.drv, VIRTIO_NET_CFG_MTU), 9000);
		pair_close(&pr);
	}
}

Test(net, default_mac_is_local_unicast_and_stable)
{
	struct net_pair pr, pr2;
	uint8_t a[6], b[6], a2[6];

	pair_open(&pr, &fx_modes[1], false, false, NULL);
	pair_open(&pr2, &fx_modes[1], false, false, NULL);
	ng_mac(&pr.a, a);
	ng_mac(&pr.b, b);
	ng_mac(&pr2.a, a2);
	cr_assert_eq(a[0], 0x02);
	cr_assert(memcmp(a, b, 6) != 0, "different names, different MACs");
	cr_assert(memcmp(a, a2, 6) == 0, "same name, same MAC");
	cr_assert(!(pr.a.fx.features & VIRTIO_NET_F_MTU));
	pair_close(&pr);
	pair_close(&pr2);
}

/* Send one frame to `dmac` from A; returns true when B's guest got it. */
static bool deliver_to(struct net_pair *pr, const uint8_t dmac[6], uint32_t seed)
{
	static uint8_t out[128], in[2048];
	struct vdev_net_hdr h;
	size_t got;
	uint64_t seen = net_stats(pr->b.fx.dev).rx_frames + net_stats(pr->b.fx.dev).rx_filtered;

	ng_frame(out, dmac, OTHER_MAC, sizeof(out), seed);
	cr_assert_eq(ng_send(&pr->a, 0, NULL, out, sizeof(out), true), 0);
	pump_rx(pr, pr->b.fx.dev, seen + 1);
	ng_tx_done(&pr->a, 0);
	if (ng_recv(&pr->b, 0, &h, in, sizeof(in), &got, NULL, true, 2048) != 1)
		return false;
	cr_assert_eq(got, sizeof(out));
	cr_assert(memcmp(in, out, got) == 0);
	return true;
}

static void mac_table(struct net_guest *g, const uint8_t (*uni)[6], uint32_t nu,
		      const uint8_t (*multi)[6], uint32_t nm, uint8_t expect)
{
	uint8_t buf[8 + 64 * 6];
	size_t off = 0;

	memcpy(buf, &nu, 4); /* little-endian host */
	off = 4;
	if (nu)
		memcpy(buf + off, uni, 6 * nu);
	off += 6 * nu;
	memcpy(buf + off, &nm, 4);
	off += 4;
	if (nm)
		memcpy(buf + off, multi, 6 * nm);
	off += 6 * nm;
	cr_assert_eq(ng_ctrl(g, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, buf, off),
		     expect);
}

Test(net, ctrl_rx_mode_and_mac_table_filter)
{
	for (int i = 0; i < FX_NMODES_TRANSITIONAL; i++) {
		struct net_pair pr;
		uint8_t own[6], on = 1, off = 0;

		pair_open(&pr, &fx_modes[i], false, false, NULL);
		cr_assert_eq(ng_ready(&pr.a, WANT_BASE, 1), 0);
		cr_assert_eq(ng_ready(&pr.b, WANT_BASE, 1), 0);
		cr_assert_eq(ng_post_rx(&pr.b, 0, 32, 2048), 32);
		ng_mac(&pr.b, own);
		/* Promiscuous by default: anything arrives. */
		cr_assert(deliver_to(&pr, OTHER_MAC, 1), "%s", fx_modes[i].name);
		cr_assert_eq(ng_ctrl(&pr.b, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &off, 1),
			     VIRTIO_NET_OK);
		cr_assert(!deliver_to(&pr, OTHER_MAC, 2), "another unicast MAC is filtered");
		cr_assert_eq(net_stats(pr.b.fx.dev).rx_filtered, 1);
		cr_assert(deliver_to(&pr, own, 3), "own MAC passes");
		cr_assert(deliver_to(&pr, BCAST, 4), "broadcast passes");
		cr_assert(!deliver_to(&pr, MCAST, 5), "multicast filtered");
		cr_assert_eq(ng_ctrl(&pr.b, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &on, 1),
			     VIRTIO_NET_OK);
		cr_assert(deliver_to(&pr, MCAST, 6), "allmulti passes multicast");
		cr_assert_eq(ng_ctrl(&pr.b, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &off, 1),
			     VIRTIO_NET_OK);
		mac_table(&pr.b, &OTHER_MAC, 1, &MCAST, 1, VIRTIO_NET_OK);
		cr_assert(deliver_to(&pr, OTHER_MAC, 7), "unicast table entry passes");
		cr_assert(deliver_to(&pr, MCAST, 8), "multicast table entry passes");
		mac_table(&pr.b, NULL, 0, NULL, 0, VIRTIO_NET_OK);
		cr_assert(!deliver_to(&pr, OTHER_MAC, 9), "table cleared");
		/* ADDR_SET changes the device's own address. */
		cr_assert_eq(ng_ctrl(&pr.b, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET,
				     OTHER_MAC, 6),
			     VIRTIO_NET_OK);
		ng_mac(&pr.b, own);
		cr_assert(memcmp(own, OTHER_MAC, 6) == 0);
		cr_assert(deliver_to(&pr, OTHER_MAC, 10), "new own MAC passes");
		cr_assert_eq(ng_ctrl(&pr.b, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1),
			     VIRTIO_NET_OK);
		cr_assert(deliver_to(&pr, MCAST, 11));
		cr_assert_eq(net_stats(pr.b.fx.dev).ctrl_ok, 7);
		pair_close(&pr);
	}
}

Test(net, mac_table_overflow_accepts_all)
{
	struct net_pair pr;
	static uint8_t many[70][6];
	uint8_t buf[8 + 70 * 6], off = 0;
	uint32_t nu = 70, nm = 0;

	for (int k = 0; k < 70; k++) {
		many[k][0] = 0x02;
		many[k][5] = (uint8_t)k;
	}
	pair_open(&pr, &fx_modes[1], false, false, NULL);
	cr_assert_eq(ng_ready(&pr.a, WANT_BASE, 1), 0);
	cr_assert_eq(ng_ready(&pr.b, WANT_BASE, 1), 0);
	cr_assert_eq(ng_post_rx(&pr.b, 0, 8, 2048), 8);
	cr_assert_eq(ng_ctrl(&pr.b, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &off, 1),
		     VIRTIO_NET_OK);
	memcpy(buf, &nu, 4);
	memcpy(buf + 4, many, sizeof(many));
	memcpy(buf + 4 + sizeof(many), &nm, 4);
	cr_assert_eq(ng_ctrl(&pr.b, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, buf,
			     sizeof(buf)),
		     VIRTIO_NET_OK);
	cr_assert(deliver_to(&pr, OTHER_MAC, 1), "overflowed unicast table accepts all");
	cr_assert(!deliver_to(&pr, MCAST, 2), "multicast still filtered");
	pair_close(&pr);
}

Test(net, ctrl_mq_pairs_and_second_pair_tx)
{
	for (int i = 0; i < FX_NMODES_TRANSITIONAL; i++) {
		struct net_pair pr;
		struct vdev_net_config cfg = {.size = sizeof(struct vdev_net_config),
					      .queue_pairs = 2};
		static uint8_t out[200], in[2048];
		struct vdev_net_hdr h;
		uint16_t v;
		uint8_t dmac[6];
		size_t got;

		pair_open(&pr, &fx_modes[i], false, false, &cfg);
		cr_assert_eq(ng_ready(&pr.a, WANT_BASE | VIRTIO_NET_F_MQ, 2), 0);
		cr_assert_eq(ng_ready(&pr.b, WANT_BASE | VIRTIO_NET_F_MQ, 2), 0);
		cr_assert_eq(pr.a.ctrl_q, 4);
		v = 2;
		cr_assert_eq(ng_ctrl(&pr.a, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &v,
				     2),
			     VIRTIO_NET_OK, "%s", fx_modes[i].name);
		cr_assert_eq(ng_ctrl(&pr.b, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &v,
				     2),
			     VIRTIO_NET_OK);
		v = 3;
		cr_assert_eq(ng_ctrl(&pr.a, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &v,
				     2),
			     VIRTIO_NET_ERR);
		v = 0;
		cr_assert_eq(ng_ctrl(&pr.a, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &v,
				     2),
			     VIRTIO_NET_ERR);
		/* A frame sent on pair 1 reaches the peer (one socket serves all pairs and
		 * its frames arrive on pair 0). */
		cr_assert_eq(ng_post_rx(&pr.b, 0, 8, 2048), 8);
		cr_assert_eq(ng_post_rx(&pr.b, 1, 8, 2048), 8);
		ng_mac(&pr.b, dmac);
		ng_frame(out, dmac, OTHER_MAC, sizeof(out), 5);
		cr_assert_eq(ng_send(&pr.a, 1, NULL, out, sizeof(out), true), 0);
		pump_rx(&pr, pr.b.fx.dev, 1);
		cr_assert_eq(ng_recv(&pr.b, 0, &h, in, sizeof(in), &got, NULL, false, 0), 1);
		cr_assert_eq(got, sizeof(out));
		cr_assert(memcmp(in, out, got) == 0);
		cr_assert_eq(ng_tx_done(&pr.a, 1), 1);
		pair_close(&pr);
	}
}

static bool nobuf_seen(void *arg)
{
	return dev_stats(arg).no_buffer >= 1;
}

Test(net, rx_without_buffers_counts_and_resumes_without_loss)
{
	for (int i = 0; i < FX_NMODES_TRANSITIONAL; i++) {
		struct net_pair pr;
		static uint8_t out[5][300], in[2048];
		struct vdev_pollfd fds[8];
		struct vdev_net_hdr h;
		uint8_t dmac[6];
		size_t got;
		int nfd;

		pair_open(&pr, &fx_modes[i], false, false, NULL);
		cr_assert_eq(ng_ready(&pr.a, WANT_BASE | VIRTIO_NET_F_MRG_RXBUF, 1), 0);
		cr_assert_eq(ng_ready(&pr.b, WANT_BASE | VIRTIO_NET_F_MRG_RXBUF, 1), 0);
		ng_mac(&pr.b, dmac);
		for (int k = 0; k < 5; k++) {
			ng_frame(out[k], dmac, OTHER_MAC, sizeof(out[k]), (uint32_t)k);
			cr_assert_eq(ng_send(&pr.a, 0, NULL, out[k], sizeof(out[k]), true), 0);
		}
		cr_assert(ng_pump(pr.devs, 2, nobuf_seen, pr.b.fx.dev, 3000));
		ng_settle(pr.devs, 2, 20);
		cr_assert_eq(dev_stats(pr.b.fx.dev).no_buffer, 1, "counted once while waiting");
		cr_assert_eq(net_stats(pr.b.fx.dev).rx_frames, 0);
		cr_assert_eq(dev_stats(pr.b.fx.dev).dropped, 0, "nothing dropped");
		/* The backend is no longer watched for reading: no spinning. */
		nfd = vdev_dev_pollfds(pr.b.fx.dev, fds, 8);
		for (int k = 0; k < nfd; k++)
			cr_assert(!(fds[k].events & VDEV_POLL_IN), "RX fd still watched");
		/* Buffers arrive: every frame comes through, in order. */
		cr_assert_eq(ng_post_rx(&pr.b, 0, 16, 1024), 16);
		pump_rx(&pr, pr.b.fx.dev, 5);
		for (int k = 0; k < 5; k++) {
			cr_assert_eq(ng_recv(&pr.b, 0, &h, in, sizeof(in), &got, NULL, false, 0), 1,
				     "%s frame %d", fx_modes[i].name, k);
			cr_assert_eq(got, sizeof(out[k]));
			cr_assert(memcmp(in, out[k], got) == 0, "frame %d in order", k);
		}
		nfd = vdev_dev_pollfds(pr.b.fx.dev, fds, 8);
		cr_assert(nfd >= 1 && (fds[nfd - 1].events & VDEV_POLL_IN), "RX fd watched again");
		pair_close(&pr);
	}
}

Test(net, tx_backpressure_waits_for_writable_and_keeps_order)
{
	struct net_pair pr;
	static uint8_t out[1400], in[2048];
	struct vdev_net_hdr h;
	uint8_t dmac[6];
	size_t got;
	int sent = 0, done = 0, received = 0;

	pair_open(&pr, &fx_modes[1], false, false, NULL);
	cr_assert_eq(ng_ready(&pr.a, WANT_BASE, 1), 0);
	cr_assert_eq(ng_ready(&pr.b, WANT_BASE, 1), 0);
	ng_mac(&pr.b, dmac);
	/* B posts nothing: the socket fills and A's sends block. */
	while (net_stats(pr.a.fx.dev).tx_blocked == 0 && sent < 240) {
		ng_frame(out, dmac, OTHER_MAC, sizeof(out), (uint32_t)sent);
		cr_assert_eq(ng_send(&pr.a, 0, NULL, out, sizeof(out), true), 0);
		sent++;
		ng_settle(pr.devs, 2, 1);
	}
	cr_assert_gt(net_stats(pr.a.fx.dev).tx_blocked, 0, "socket never filled");
	cr_assert_lt(ng_tx_done(&pr.a, 0), sent, "the blocked chain stays in flight");
	/* Let B drain; A's waiting frames go out once the socket is writable. */
	cr_assert_eq(ng_post_rx(&pr.b, 0, 256, 2048), 256);
	for (int round = 0; round < 2000 && received < sent; round++) {
		ng_settle(pr.devs, 2, 1);
		while (ng_recv(&pr.b, 0, &h, in, sizeof(in), &got, NULL, true, 2048) == 1) {
			ng_frame(out, dmac, OTHER_MAC, sizeof(out), (uint32_t)received);
			cr_assert(memcmp(in, out, sizeof(out)) == 0, "frame %d in order", received);
			received++;
		}
	}
	done = (int)net_stats(pr.a.fx.dev).tx_frames;
	cr_assert_eq(received, sent);
	cr_assert_eq(done, sent);
	cr_assert_eq(dev_stats(pr.a.fx.dev).dropped, 0);
	pair_close(&pr);
}

static void log_sink(void *arg, enum vdev_log_level lvl, const char *dev, const char *msg)
{
	(void)lvl;
	(void)dev;
	snprintf(arg, 256, "%s", msg);
}

Test(net, create_rejects_bad_arguments_naming_the_field)
{
	struct vdev_sim_config scfg = {.size = sizeof(struct vdev_sim_config), .ram_size = 1 << 20};
	struct vdev_sim *sim;
	struct vdev_net_backend be;
	struct vdev_dev *dev = NULL;
	char last[256] = "";
	int fds[2];

	cr_assert_eq(vdev_sim_create(&scfg, &sim), 0);
	vdev_sim_set_log(sim, log_sink, last);
	cr_assert_eq(vdev_net_socketpair(fds), 0);
	cr_assert_eq(vdev_net_backend_socket(fds[0], false, &be), 0);

	struct vdev_net_config good = {.size = sizeof(struct vdev_net_config),
				       .pci = {.mode = VDEV_PCI_MODERN}, .backend = &be};
	struct {
		const char *field;
		struct vdev_net_config cfg;
	} bad[] = {
		{"pci.mode", good},   {"mac", good},        {"mtu", good},
		{"queue_pairs", good}, {"queue_pairs", good}, {"queue_size", good},
		{"backend", good},    {"backend.version", good}, {"backend.nqueues", good},
	};
	struct vdev_net_backend badver = be, badq = be;

	badver.version = 99;
	badq.nqueues = 0;
	bad[0].cfg.pci.mode = (enum vdev_pci_mode)7;
	bad[1].cfg.mac[0] = 0x01;
	bad[2].cfg.mtu = 67;
	bad[3].cfg.queue_pairs = VDEV_NET_MAX_QUEUE_PAIRS + 1;
	bad[4].cfg.queue_pairs = 2;
	bad[4].cfg.no_ctrl_vq = true;
	bad[5].cfg.queue_size = 100;
	bad[6].cfg.backend = NULL;
	bad[7].cfg.backend = &badver;
	bad[8].cfg.backend = &badq;
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		last[0] = '\0';
		cr_assert_eq(vdev_net_create(vdev_sim_vmctx(sim), "bad", &bad[k].cfg, &dev), -EINVAL,
			     "%s accepted", bad[k].field);
		cr_assert(strstr(last, bad[k].field) != NULL, "log '%s' does not name %s", last,
			  bad[k].field);
	}
	cr_assert_eq(vdev_net_create(vdev_sim_vmctx(sim), NULL, &good, &dev), -EINVAL);
	cr_assert_eq(vdev_net_create(vdev_sim_vmctx(sim), "x", NULL, &dev), -EINVAL);
	cr_assert_eq(vdev_net_create(NULL, "x", &good, &dev), -EINVAL);
	cr_assert_null(dev);
	/* Nothing was taken from the backend: it still works and is ours to close. */
	cr_assert_eq(vdev_net_create(vdev_sim_vmctx(sim), "good", &good, &dev), 0);
	vdev_dev_destroy(dev);
	cr_assert_eq(vdev_net_backend_socket(-1, false, &be), -EINVAL);
	cr_assert_eq(vdev_net_backend_socket(fds[1], false, NULL), -EINVAL);
	{
		struct vdev_net_tap_config tc = {.size = sizeof(struct vdev_net_tap_config),
						 .ifname = "this-name-is-too-long"};

		cr_assert_eq(vdev_net_backend_tap(&tc, &be), -EINVAL);
		tc.ifname = "";
		cr_assert_eq(vdev_net_backend_tap(&tc, &be), -EINVAL);
	}
	close(fds[0]);
	close(fds[1]);
	vdev_sim_destroy(sim);
}
