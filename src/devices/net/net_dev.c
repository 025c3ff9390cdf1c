/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-net device glue: creation and argument checks, the virtio_ops callbacks
 * (config space, features, reset, kicks), the event-loop hooks and host controls.
 * The RX, TX and control paths live in net_rx.c, net_tx.c and net_ctrl.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/iov.h"
#include "core/vmctx.h"
#include "devices/net/net_internal.h"
#include "trace/trace_format.h"
#include "trace/trace_hooks.h"
#include "util/common.h"
#include "util/config.h"

#define NET_DEFAULT_QSIZE 256

static const struct vdev_dev_ops net_dev_ops;

void net_log(struct net_dev *n, enum vdev_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (n->dev.base.vmctx == NULL)
		return;
	va_start(ap, fmt);
	vdev_ctx_vlog(n->dev.base.vmctx, level, vdev_dev_name(&n->dev), fmt, ap);
	va_end(ap);
}

static bool driver_live(const struct net_dev *n)
{
	uint8_t s = n->dev.base.status;

	return (s & VIRTIO_CR_STATUS_DRIVER_OK) &&
	       !(s & (VIRTIO_CR_STATUS_NEEDS_RESET | VIRTIO_CR_STATUS_FAILED));
}

struct virtio_vq_info *net_rx_vq(struct net_dev *n, unsigned int p)
{
	struct virtio_vq_info *vq;

	if (p >= n->active_pairs || !driver_live(n))
		return NULL;
	vq = &n->vq[2 * p];
	return vq_ring_ready(vq) ? vq : NULL;
}

struct virtio_vq_info *net_tx_vq(struct net_dev *n, unsigned int p)
{
	struct virtio_vq_info *vq;

	/* A TX queue past the active pairs is still served: the chains the guest puts
	 * there are completed and dropped (net_tx.c), so none is left unanswered. */
	if (p >= (n->mq ? n->max_pairs : 1u) || !driver_live(n))
		return NULL;
	vq = &n->vq[2 * p + 1];
	return vq_ring_ready(vq) ? vq : NULL;
}

/* ---- virtio_ops ---- */

/* Everything a reset forgets, apart from what the core does. */
static void net_state_reset(struct net_dev *n)
{
	net_rx_reset(n);
	net_tx_reset(n);
	net_filter_reset(&n->filter);
	n->active_pairs = 1;
	memcpy(n->cfg.mac, n->cfg_mac, ETH_ALEN_);
	n->hdr_size = VIRTIO_NET_HDR_LEN;
	n->mrg = false;
	n->mq = false;
	if (n->be.set_offloads)
		n->be.set_offloads(n->be.opaque, 0);
}

static void net_reset(void *softc)
{
	struct net_dev *n = softc;

	net_state_reset(n);
	virtio_reset_dev(&n->dev.base);
}

/* Guest offloads (what the backend may now hand us) from negotiated features. */
static uint32_t guest_offloads(uint64_t f)
{
	uint32_t o = 0;

	if (f & VIRTIO_NET_F_GUEST_CSUM)
		o |= VDEV_NET_OFFLOAD_CSUM;
	if (f & VIRTIO_NET_F_GUEST_TSO4)
		o |= VDEV_NET_OFFLOAD_TSO4;
	if (f & VIRTIO_NET_F_GUEST_TSO6)
		o |= VDEV_NET_OFFLOAD_TSO6;
	if (f & VIRTIO_NET_F_GUEST_UFO)
		o |= VDEV_NET_OFFLOAD_UFO;
	return o;
}

static void net_apply_features(void *softc, uint64_t features)
{
	struct net_dev *n = softc;

	/* H37: the header size comes from the features, never from anything the guest
	 * writes into a header. */
	n->mrg = (features & VIRTIO_NET_F_MRG_RXBUF) != 0;
	n->hdr_size = (n->mrg || (features & VIRTIO_F_VERSION_1)) ? VIRTIO_NET_HDR_MRG_LEN
								  : VIRTIO_NET_HDR_LEN;
	n->mq = (features & VIRTIO_NET_F_MQ) != 0;
	if (n->be.set_offloads &&
	    n->be.set_offloads(n->be.opaque, guest_offloads(features) & n->be.rx_offloads) < 0)
		net_log(n, VDEV_LOG_WARN, "backend refused the guest's offloads");
}

static void net_qnotify(void *softc, struct virtio_vq_info *vq)
{
	struct net_dev *n = softc;
	unsigned int idx = vq->num, pair = idx / 2;

	if ((n->dev.base.device_caps & VIRTIO_NET_F_CTRL_VQ) && idx == net_ctrl_index(n)) {
		net_ctrl_run(n, vq);
		return;
	}
	if (pair >= (n->mq ? n->max_pairs : 1u)) {
		net_log(n, VDEV_LOG_DEBUG, "kick for queue %u, unused under these features", idx);
		return;
	}
	if (idx % 2 == 0)
		net_rx_kick(n, pair);
	else
		net_tx_run(n, pair);
}

static int net_cfgread(void *softc, int off, int size, uint32_t *val)
{
	struct net_dev *n = softc;
	uint8_t raw[sizeof(n->cfg)];

	memcpy(raw, &n->cfg, sizeof(raw));
	*val = (uint32_t)vdev_ld_width(raw + off, size);
	return 0;
}

static int net_cfgwrite(void *softc, int off, int size, uint32_t val)
{
	struct net_dev *n = softc;

	/* Only a legacy driver may write the MAC (it has no MAC_ADDR_SET command). */
	if (!n->dev.base.legacy_driver || off + size > ETH_ALEN_)
		return -1;
	/* The core splits wider accesses: size is 1, 2 or 4 here. */
	for (int i = 0; i < size; i++)
		n->cfg.mac[off + i] = (uint8_t)(val >> (8 * i));
	return 0;
}

#define NET_HV_CAPS                                                                      \
	(VIRTIO_NET_F_CSUM | VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_MTU | VIRTIO_NET_F_MAC | \
	 VIRTIO_NET_F_GUEST_TSO4 | VIRTIO_NET_F_GUEST_TSO6 | VIRTIO_NET_F_GUEST_UFO |        \
	 VIRTIO_NET_F_HOST_TSO4 | VIRTIO_NET_F_HOST_TSO6 | VIRTIO_NET_F_HOST_UFO |           \
	 VIRTIO_NET_F_MRG_RXBUF | VIRTIO_NET_F_STATUS | VIRTIO_NET_F_CTRL_VQ |               \
	 VIRTIO_NET_F_CTRL_RX | VIRTIO_NET_F_MQ | VIRTIO_NET_F_CTRL_MAC_ADDR |               \
	 VIRTIO_F_ANY_LAYOUT | VIRTIO_RING_F_INDIRECT_DESC | VIRTIO_RING_F_EVENT_IDX |     \
	 VIRTIO_F_IN_ORDER)

#define NET_VOPS(nq)                                                                     \
	{                                                                                \
		.name = "virtio-net", .nvq = (nq), .cfgsize = VIRTIO_NET_CFG_SIZE,       \
		.reset = net_reset, .qnotify = net_qnotify, .cfgread = net_cfgread,       \
		.cfgwrite = net_cfgwrite, .apply_features = net_apply_features,          \
		.hv_caps = NET_HV_CAPS,                                                  \
	}

/* One table per queue count: [0] has no control queue, [p] is p pairs + control. */
static const struct virtio_ops net_vops[VDEV_NET_MAX_QUEUE_PAIRS + 1] = {
	NET_VOPS(2),  NET_VOPS(3),  NET_VOPS(5),  NET_VOPS(7),  NET_VOPS(9),
	NET_VOPS(11), NET_VOPS(13), NET_VOPS(15), NET_VOPS(17),
};
_Static_assert(VDEV_NET_MAX_QUEUE_PAIRS == 8, "extend net_vops");

/* ---- event loop ---- */

static bool tx_waits_on(struct net_dev *n, unsigned int q)
{
	for (unsigned int p = 0; p < n->max_pairs; p++)
		if (n->txq[p].pending && p % n->be.nqueues == q)
			return true;
	return false;
}

static int net_pollfds(struct vdev_dev *dev, struct vdev_pollfd *fds, int max)
{
	struct net_dev *n = (struct net_dev *)dev;
	int k = 0;

	for (unsigned int q = 0; q < n->be.nqueues && k < max; q++) {
		short ev = 0;
		int fd;

		if (net_rx_wants_fd(n, q))
			ev |= VDEV_POLL_IN;
		if (tx_waits_on(n, q))
			ev |= VDEV_POLL_OUT;
		fd = ev ? n->be.fd(n->be.opaque, q) : -1;
		if (fd >= 0)
			fds[k++] = (struct vdev_pollfd){.fd = fd, .events = ev};
	}
	return k;
}

static int net_next_timeout(struct vdev_dev *dev)
{
	struct net_dev *n = (struct net_dev *)dev;

	/* TX chains left over by the budget have no fd to wake us: come back at once.
	 * So does a chain waiting on the backend from a pair the driver has made
	 * inactive, which is dropped, not sent, however long the backend stays full. */
	for (unsigned int p = 0; p < n->max_pairs; p++)
		if (n->txq[p].more || (n->txq[p].pending && p >= n->active_pairs))
			return 0;
	return -1;
}

static int net_poll(struct vdev_dev *dev)
{
	struct net_dev *n = (struct net_dev *)dev;

	for (unsigned int p = 0; p < n->max_pairs; p++)
		if (n->txq[p].pending || n->txq[p].more)
			net_tx_run(n, p);
	for (unsigned int q = 0; q < n->be.nqueues; q++)
		net_rx_run(n, q);
	return 0;
}

static void net_free(struct net_dev *n)
{
	for (unsigned int q = 0; q < VDEV_NET_MAX_QUEUE_PAIRS; q++) {
		free(n->rxq[q].room);
		free(n->rxq[q].held_head);
		free(n->rxq[q].held_len);
		free(n->txq[q].iov);
	}
	free(n->iov);
	free(n->wiov);
	free(n->iov_flags);
	free(n);
}

static void net_destroy(struct vdev_dev *dev)
{
	struct net_dev *n = (struct net_dev *)dev;

	if (n->be_owned && n->be.close)
		n->be.close(n->be.opaque);
	vdev_dev_fini(&n->dev);
	net_free(n);
}

static const struct vdev_dev_ops net_dev_ops = {
	.type = VIRTIO_TYPE_NET,
	.pollfds = net_pollfds,
	.next_timeout_ms = net_next_timeout,
	.poll = net_poll,
	.destroy = net_destroy,
	.describe = net_describe,
};

/* ---- creation ---- */

#define BAD_ARG(ctx, name, ...)                                                          \
	do {                                                                             \
		vdev_ctx_log(ctx, VDEV_LOG_ERROR, name, __VA_ARGS__);                    \
		return -EINVAL;                                                          \
	} while (0)

static int check_backend(struct vmctx *ctx, const char *name, const struct vdev_net_backend *be)
{
	if (be == NULL)
		BAD_ARG(ctx, name, "virtio-net: backend: required");
	if (be->version != VDEV_NET_BACKEND_VERSION)
		BAD_ARG(ctx, name, "virtio-net: backend.version: %u is not %u", be->version,
			VDEV_NET_BACKEND_VERSION);
	if (be->fd == NULL || be->recv == NULL || be->send == NULL)
		BAD_ARG(ctx, name, "virtio-net: backend: fd, recv and send callbacks are required");
	if (be->nqueues == 0 || be->nqueues > VDEV_NET_MAX_QUEUE_PAIRS)
		BAD_ARG(ctx, name, "virtio-net: backend.nqueues: %u not in 1..%d", be->nqueues,
			VDEV_NET_MAX_QUEUE_PAIRS);
	if ((be->tx_offloads | be->rx_offloads) & ~(uint32_t)VDEV_NET_OFFLOAD_ALL)
		BAD_ARG(ctx, name, "virtio-net: backend offloads: unknown bits");
	return 0;
}

/* The size of struct vdev_net_config's first version; new fields go after it. */
#define NET_CONFIG_V1 VDEV_CONFIG_V1_SIZE(struct vdev_net_config, no_in_order)

/* Copy the caller's `given` into *cfg (the library's layout), then check it. */
static int check_config(struct vmctx *ctx, const char *name, const struct vdev_net_config *given,
			struct vdev_net_config *cfg)
{
	const char *field, *reason;
	char why[VDEV_CONFIG_WHY_LEN];
	int rc = vdev_config_take(cfg, sizeof(*cfg), given, NET_CONFIG_V1, "vdev_net_config",
				  why, sizeof(why));

	if (rc < 0) {
		vdev_ctx_log(ctx, VDEV_LOG_ERROR, name, "virtio-net: size: %s", why);
		return rc;
	}
	if (vdev_dev_check_pci(&cfg->pci, &field, &reason) < 0)
		BAD_ARG(ctx, name, "virtio-net: %s: %s", field, reason);
	if (cfg->mac[0] & 1)
		BAD_ARG(ctx, name, "virtio-net: mac: a multicast address cannot be a device's own");
	if (cfg->mtu != 0 && cfg->mtu < 68)
		BAD_ARG(ctx, name, "virtio-net: mtu: %u is below 68", cfg->mtu);
	if (cfg->queue_pairs > VDEV_NET_MAX_QUEUE_PAIRS)
		BAD_ARG(ctx, name, "virtio-net: queue_pairs: %u is above %d", cfg->queue_pairs,
			VDEV_NET_MAX_QUEUE_PAIRS);
	if (cfg->queue_pairs > 1 && cfg->no_ctrl_vq)
		BAD_ARG(ctx, name, "virtio-net: queue_pairs: multiqueue needs the control queue");
	if (cfg->queue_size != 0 &&
	    (!vdev_is_pow2(cfg->queue_size) || cfg->queue_size > VDEV_VQ_MAX_SIZE))
		BAD_ARG(ctx, name, "virtio-net: queue_size: %u is not a power of two up to %d",
			cfg->queue_size, VDEV_VQ_MAX_SIZE);
	return check_backend(ctx, name, cfg->backend);
}

/* A locally administered unicast MAC that is stable for a given device name. */
static void default_mac(const char *name, uint8_t mac[6])
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const char *s = name; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	mac[0] = 0x02;
	for (int i = 1; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * i));
}

static uint64_t offered_features(const struct vdev_net_config *cfg,
				 const struct vdev_net_backend *be, uint16_t pairs)
{
	uint64_t f = VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | VIRTIO_F_ANY_LAYOUT |
		     VIRTIO_RING_F_INDIRECT_DESC;

	if (!cfg->no_event_idx)
		f |= VIRTIO_RING_F_EVENT_IDX;
	if (!cfg->no_mrg_rxbuf)
		f |= VIRTIO_NET_F_MRG_RXBUF;
	/* Every path completes chains in the order it took them: RX and TX take them one
	 * at a time and complete them before (or, MRG_RXBUF, together with) the next.
	 * Two backend queues feeding one pair could interleave a frame held across chains
	 * with another frame, so the promise is made for one backend queue only. With it
	 * a driver may skip per-chain bookkeeping (DPDK's in-order paths). */
	if (!cfg->no_in_order && be->nqueues == 1)
		f |= VIRTIO_F_IN_ORDER;
	if (cfg->mtu)
		f |= VIRTIO_NET_F_MTU;
	if (!cfg->no_ctrl_vq)
		f |= VIRTIO_NET_F_CTRL_VQ | VIRTIO_NET_F_CTRL_RX | VIRTIO_NET_F_CTRL_MAC_ADDR;
	if (pairs > 1)
		f |= VIRTIO_NET_F_MQ;
	/* Segmentation offloads depend on checksum offload, in both directions. */
	if (be->tx_offloads & VDEV_NET_OFFLOAD_CSUM) {
		f |= VIRTIO_NET_F_CSUM;
		if (be->tx_offloads & VDEV_NET_OFFLOAD_TSO4)
			f |= VIRTIO_NET_F_HOST_TSO4;
		if (be->tx_offloads & VDEV_NET_OFFLOAD_TSO6)
			f |= VIRTIO_NET_F_HOST_TSO6;
		if (be->tx_offloads & VDEV_NET_OFFLOAD_UFO)
			f |= VIRTIO_NET_F_HOST_UFO;
	}
	if (be->rx_offloads & VDEV_NET_OFFLOAD_CSUM) {
		f |= VIRTIO_NET_F_GUEST_CSUM;
		if (be->rx_offloads & VDEV_NET_OFFLOAD_TSO4)
			f |= VIRTIO_NET_F_GUEST_TSO4;
		if (be->rx_offloads & VDEV_NET_OFFLOAD_TSO6)
			f |= VIRTIO_NET_F_GUEST_TSO6;
		if (be->rx_offloads & VDEV_NET_OFFLOAD_UFO)
			f |= VIRTIO_NET_F_GUEST_UFO;
	}
	return f;
}

static int alloc_queues(struct net_dev *n, uint16_t qsize)
{
	/* Sized from the queue, once: every legal chain is taken whole (H29). */
	n->iov_cap = vdev_iov_chain_cap(qsize);
	n->iov = calloc((size_t)n->iov_cap, sizeof(*n->iov));
	n->wiov = calloc((size_t)n->iov_cap, sizeof(*n->wiov));
	n->iov_flags = calloc((size_t)n->iov_cap, sizeof(*n->iov_flags));
	if (n->iov == NULL || n->wiov == NULL || n->iov_flags == NULL)
		return -ENOMEM;
	for (unsigned int p = 0; p < n->max_pairs; p++) {
		n->txq[p].iov = calloc((size_t)n->iov_cap, sizeof(*n->txq[p].iov));
		if (n->txq[p].iov == NULL)
			return -ENOMEM;
	}
	for (unsigned int q = 0; q < n->be.nqueues; q++) {
		struct net_rxq *r = &n->rxq[q];

		r->room = malloc(NET_RX_HEADROOM + VDEV_NET_MAX_FRAME);
		r->buf = r->room ? r->room + NET_RX_HEADROOM : NULL;
		r->held_head = calloc(qsize, sizeof(*r->held_head));
		r->held_len = calloc(qsize, sizeof(*r->held_len));
		if (r->buf == NULL || r->held_head == NULL || r->held_len == NULL)
			return -ENOMEM;
	}
	return 0;
}

VDEV_EXPORT int vdev_net_create(struct vmctx *ctx, const char *name,
				const struct vdev_net_config *given, struct vdev_dev **out)
{
	struct vdev_net_config local; /* everything below reads this copy only */
	const struct vdev_net_config *cfg = &local;
	struct net_dev *n;
	uint16_t pairs, qsize;
	const struct virtio_ops *vops;
	int rc;

	if (ctx == NULL)
		return -EINVAL;
	if (name == NULL || name[0] == '\0')
		BAD_ARG(ctx, "", "virtio-net: name: required");
	if (given == NULL || out == NULL)
		BAD_ARG(ctx, name, "virtio-net: %s: required", given == NULL ? "config" : "out");
	rc = check_config(ctx, name, given, &local);
	if (rc < 0)
		return rc;
	pairs = cfg->queue_pairs ? cfg->queue_pairs : 1;
	qsize = cfg->queue_size ? cfg->queue_size : NET_DEFAULT_QSIZE;
	vops = &net_vops[cfg->no_ctrl_vq ? 0 : pairs];
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	n->be = *cfg->backend;
	n->max_pairs = pairs;
	rc = alloc_queues(n, qsize);
	if (rc < 0) {
		net_free(n);
		return rc;
	}
	for (int i = 0; i < vops->nvq; i++)
		n->vq[i].qsize = qsize;
	rc = vdev_dev_init(&n->dev, ctx, name, &net_dev_ops, vops, n->vq, &cfg->pci);
	if (rc < 0) {
		vdev_ctx_log(ctx, VDEV_LOG_ERROR, name, "virtio-net: PCI set-up failed (%d)", rc);
		net_free(n);
		return rc;
	}
	n->dev.base.device_caps = offered_features(cfg, &n->be, pairs);
	if (cfg->mac[0] | cfg->mac[1] | cfg->mac[2] | cfg->mac[3] | cfg->mac[4] | cfg->mac[5])
		memcpy(n->cfg_mac, cfg->mac, ETH_ALEN_);
	else
		default_mac(name, n->cfg_mac);
	n->link_up = !cfg->link_down;
	vdev_st16(&n->cfg.status, n->link_up ? VIRTIO_NET_S_LINK_UP : 0);
	vdev_st16(&n->cfg.max_virtqueue_pairs, pairs);
	vdev_st16(&n->cfg.mtu, cfg->mtu);
	net_state_reset(n);
	n->be_owned = true;
	*out = &n->dev;
	return 0;
}

/* ---- host controls ---- */

static struct net_dev *as_net(struct vdev_dev *dev)
{
	return dev != NULL && dev->ops == &net_dev_ops ? (struct net_dev *)dev : NULL;
}

VDEV_EXPORT int vdev_net_set_link(struct vdev_dev *dev, bool up)
{
	struct net_dev *n = as_net(dev);
	struct vdev_trace *t;

	if (n == NULL)
		return -EINVAL;
	pthread_mutex_lock(&n->dev.lock);
	t = vdev_virtio_trace(&n->dev.base);
	if (t != NULL)
		vdev_trace_enter(t);
	if (n->link_up != up) {
		n->link_up = up;
		vdev_st16(&n->cfg.status, up ? VIRTIO_NET_S_LINK_UP : 0);
		net_log(n, VDEV_LOG_INFO, "link %s", up ? "up" : "down");
		/* A driver that is not ready yet reads the status when it gets there. */
		if (n->dev.base.status & VIRTIO_CR_STATUS_DRIVER_OK)
			virtio_config_changed(&n->dev.base);
	}
	if (t != NULL)
		vdev_trace_leave_host(t, VDEV_TR_HOST_NET_LINK, up ? 1 : 0, 0);
	pthread_mutex_unlock(&n->dev.lock);
	return 0;
}

VDEV_EXPORT int vdev_net_get_stats(struct vdev_dev *dev, struct vdev_net_stats *out)
{
	struct net_dev *n = as_net(dev);

	if (n == NULL || out == NULL)
		return -EINVAL;
	pthread_mutex_lock(&n->dev.lock);
	*out = n->nstats;
	pthread_mutex_unlock(&n->dev.lock);
	return 0;
}

VDEV_EXPORT void vdev_net_backend_close(struct vdev_net_backend *be)
{
	if (be == NULL || be->close == NULL)
		return;
	be->close(be->opaque);
	be->close = NULL;
}
