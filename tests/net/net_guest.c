/* SPDX-License-Identifier: BSD-3-Clause */
#include "net_guest.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "util/common.h"

/* What the create callback needs: the device's name and its config. */
struct net_create_arg {
	const char *name;
	const struct vdev_net_config *cfg;
};

static int net_create(struct fx *f, struct vmctx *ctx, void *arg)
{
	const struct net_create_arg *a = arg;
	struct vdev_dev *dev;
	int rc = vdev_net_create(ctx, a->name, a->cfg, &dev);

	if (rc == 0)
		fx_adopt_dev(f, dev);
	return rc;
}

static const struct fx_device_ops net_ops = {.create = net_create, .destroy = fx_destroy_dev};

int ng_open(struct net_guest *g, const char *name, const struct fx_mode *m, bool msix,
	    const struct vdev_net_config *cfg)
{
	struct fx_opts o = {.mode = *m, .msix = msix};
	struct vdev_net_config c = *cfg;
	struct net_create_arg a = {name, &c};
	int rc;

	memset(g, 0, sizeof(*g));
	c.pci.mode = m->mode;
	c.pci.msix = msix;
	rc = fx_open(&g->fx, &o, &net_ops, &a);
	if (rc < 0)
		return rc;
	g->ctrl_q = 0xFFFF;
	return 0;
}

void ng_close(struct net_guest *g)
{
	fx_close(&g->fx);
	memset(g, 0, sizeof(*g));
}

static uint16_t vec(struct net_guest *g, uint16_t q)
{
	return g->fx.msix ? (uint16_t)(q + 1) : VIRTIO_MSI_NO_VECTOR;
}

int ng_ready(struct net_guest *g, uint64_t wanted, uint16_t pairs)
{
	int rc = vdev_drv_negotiate(g->fx.drv, wanted, &g->fx.features);

	if (rc < 0)
		return rc;
	pairs = pairs ? pairs : 1;
	g->pairs = pairs;
	g->hdr_size = (g->fx.features & (VIRTIO_NET_F_MRG_RXBUF | VIRTIO_F_VERSION_1))
			      ? VIRTIO_NET_HDR_MRG_LEN
			      : VIRTIO_NET_HDR_LEN;
	for (uint16_t q = 0; q < 2 * pairs; q++) {
		rc = vdev_drv_queue_setup(g->fx.drv, q, 0, vec(g, q));
		if (rc < 0)
			return rc;
	}
	if (g->fx.features & VIRTIO_NET_F_CTRL_VQ) {
		uint16_t maxp = (g->fx.features & VIRTIO_NET_F_MQ)
					? vdev_drv_read_config16(g->fx.drv, VIRTIO_NET_CFG_MAX_PAIRS)
					: 1;

		g->ctrl_q = (uint16_t)(2 * maxp);
		rc = vdev_drv_queue_setup(g->fx.drv, g->ctrl_q, 0, vec(g, g->ctrl_q));
		if (rc < 0)
			return rc;
		g->ctrl_buf = fx_alloc(g->fx.sim, 8192, 64, NULL);
	}
	g->qsize = vdev_drv_queue_size(g->fx.drv, 0);
	for (uint16_t p = 0; p < pairs; p++) {
		g->tx_slots[p] = fx_alloc(g->fx.sim, (uint32_t)g->qsize * NG_TX_SLOT, 64, NULL);
		if (g->tx_slots[p] == 0)
			return -ENOMEM;
	}
	return vdev_drv_driver_ok(g->fx.drv);
}

int ng_repost(struct net_guest *g, uint16_t p, uint64_t gpa, uint32_t size, bool kick)
{
	struct vdev_drv_seg seg = {gpa, size, true};
	int rc = vdev_drv_enqueue(g->fx.drv, (uint16_t)(2 * p), &seg, 1, false,
				  (void *)(uintptr_t)gpa);

	if (rc == 0 && kick)
		vdev_drv_notify(g->fx.drv, (uint16_t)(2 * p));
	return rc;
}

int ng_post_rx(struct net_guest *g, uint16_t p, int count, uint32_t size)
{
	int done = 0;

	for (; done < count; done++) {
		uint64_t gpa = fx_alloc(g->fx.sim, size, 64, NULL);

		if (gpa == 0 || ng_repost(g, p, gpa, size, false) < 0)
			break;
	}
	vdev_drv_notify(g->fx.drv, (uint16_t)(2 * p));
	return done;
}

static void hdr_to_wire(const struct vdev_net_hdr *h, uint8_t *w)
{
	memset(w, 0, VIRTIO_NET_HDR_MRG_LEN);
	if (h == NULL)
		return;
	w[0] = h->flags;
	w[1] = h->gso_type;
	vdev_st16(w + 2, h->hdr_len);
	vdev_st16(w + 4, h->gso_size);
	vdev_st16(w + 6, h->csum_start);
	vdev_st16(w + 8, h->csum_offset);
}

int ng_send(struct net_guest *g, uint16_t p, const struct vdev_net_hdr *hdr,
	    const void *frame, size_t len, bool kick)
{
	uint64_t gpa;
	uint8_t *ptr;
	struct vdev_drv_seg segs[2];
	int rc;

	if (g->hdr_size + len <= NG_TX_SLOT) {
		gpa = g->tx_slots[p] + (uint64_t)(g->tx_next[p]++ % g->qsize) * NG_TX_SLOT;
	} else {
		gpa = fx_alloc(g->fx.sim, (uint32_t)(g->hdr_size + len), 64, NULL);
		if (gpa == 0)
			return -ENOMEM;
	}
	ptr = vdev_sim_ptr(g->fx.sim, gpa, g->hdr_size + len);
	hdr_to_wire(hdr, ptr);
	memcpy(ptr + g->hdr_size, frame, len);
	/* Header and frame in separate descriptors, as legacy Linux drivers do. */
	segs[0] = (struct vdev_drv_seg){gpa, (uint32_t)g->hdr_size, false};
	segs[1] = (struct vdev_drv_seg){gpa + g->hdr_size, (uint32_t)len, false};
	rc = vdev_drv_enqueue(g->fx.drv, (uint16_t)(2 * p + 1), segs, len ? 2 : 1, false, NULL);
	if (rc == 0 && kick)
		vdev_drv_notify(g->fx.drv, (uint16_t)(2 * p + 1));
	return rc;
}

int ng_send_raw(struct net_guest *g, uint16_t p, const struct vdev_drv_seg *segs, int n)
{
	int rc = vdev_drv_enqueue(g->fx.drv, (uint16_t)(2 * p + 1), segs, n, false, NULL);

	if (rc == 0)
		vdev_drv_kick(g->fx.drv, (uint16_t)(2 * p + 1));
	return rc;
}

int ng_tx_done(struct net_guest *g, uint16_t p)
{
	void *tok;
	uint32_t len;
	int n = 0;

	while (vdev_drv_dequeue(g->fx.drv, (uint16_t)(2 * p + 1), &tok, &len) == 1)
		n++;
	return n;
}

int ng_recv(struct net_guest *g, uint16_t p, struct vdev_net_hdr *hdr, void *buf, size_t cap,
	    size_t *len, int *nbufs, bool repost, uint32_t repost_size)
{
	uint16_t q = (uint16_t)(2 * p);
	void *tok;
	uint32_t used;
	uint16_t want = 1;
	size_t got = 0;
	int n = 0;

	while (n < want) {
		uint64_t gpa;
		const uint8_t *ptr;
		size_t off = 0;

		if (vdev_drv_dequeue(g->fx.drv, q, &tok, &used) != 1)
			return n == 0 ? 0 : -1;
		gpa = (uint64_t)(uintptr_t)tok;
		ptr = vdev_sim_ptr(g->fx.sim, gpa, used ? used : 1);
		if (ptr == NULL)
			return -1;
		if (n == 0) {
			if (used < g->hdr_size)
				return -1;
			hdr->flags = ptr[0];
			hdr->gso_type = ptr[1];
			hdr->hdr_len = vdev_ld16(ptr + 2);
			hdr->gso_size = vdev_ld16(ptr + 4);
			hdr->csum_start = vdev_ld16(ptr + 6);
			hdr->csum_offset = vdev_ld16(ptr + 8);
			if (g->fx.features & VIRTIO_NET_F_MRG_RXBUF)
				want = vdev_ld16(ptr + 10);
			if (want == 0)
				return -1;
			off = g->hdr_size;
		}
		if (got + (used - off) > cap)
			return -1;
		memcpy((uint8_t *)buf + got, ptr + off, used - off);
		got += used - off;
		n++;
		if (repost)
			ng_repost(g, p, gpa, repost_size, false);
	}
	if (repost)
		vdev_drv_notify(g->fx.drv, q);
	*len = got;
	if (nbufs)
		*nbufs = n;
	return 1;
}

uint8_t ng_ctrl(struct net_guest *g, uint8_t cls, uint8_t cmd, const void *data, size_t len)
{
	uint8_t *p = vdev_sim_ptr(g->fx.sim, g->ctrl_buf, 8192);
	struct vdev_drv_seg segs[3];
	void *tok;
	uint32_t used;
	int n = 0;

	if (g->ctrl_q == 0xFFFF || len > 8000)
		return 0xEE;
	p[0] = cls;
	p[1] = cmd;
	memcpy(p + 2, data, len);
	p[8191] = 0xEE;
	segs[n++] = (struct vdev_drv_seg){g->ctrl_buf, 2, false};
	if (len)
		segs[n++] = (struct vdev_drv_seg){g->ctrl_buf + 2, (uint32_t)len, false};
	segs[n++] = (struct vdev_drv_seg){g->ctrl_buf + 8191, 1, true};
	if (vdev_drv_enqueue(g->fx.drv, g->ctrl_q, segs, n, false, NULL) < 0)
		return 0xEE;
	vdev_drv_kick(g->fx.drv, g->ctrl_q);
	if (vdev_drv_dequeue(g->fx.drv, g->ctrl_q, &tok, &used) != 1 || used != 1)
		return 0xEE;
	return p[8191];
}

bool ng_pump(struct vdev_dev *const *devs, int ndev, bool (*cond)(void *), void *arg,
	     int timeout_ms)
{
	return dev_loop_until(devs, ndev, cond, arg, timeout_ms) == 0;
}

void ng_settle(struct vdev_dev *const *devs, int ndev, int rounds)
{
	for (int i = 0; i < rounds; i++)
		dev_loop_once(devs, ndev, 1);
}

size_t ng_frame(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], size_t len,
		uint32_t seed)
{
	memcpy(buf, dst, 6);
	memcpy(buf + 6, src, 6);
	buf[12] = 0x88;
	buf[13] = 0xB5;
	for (size_t i = 14; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (uint8_t)(seed >> 16);
	}
	return len;
}

void ng_mac(struct net_guest *g, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++)
		mac[i] = vdev_drv_read_config8(g->fx.drv, VIRTIO_NET_CFG_MAC + (uint32_t)i);
}
