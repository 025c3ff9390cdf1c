/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-net in traces: the parameters that make a network device look the same to a
 * guest, and a replay backend whose recv/send return what the trace's BACKEND records
 * say, in order, per backend queue ("nothing now" when the trace has nothing more).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "replay/replay_internal.h"
#include "util/common.h"
#include "vdev/net.h"

/* ---- replay: the backend ---- */

struct rnet_state {
	struct vdev_replay *rp;
	unsigned int nqueues;
	int efd[VDEV_NET_MAX_QUEUE_PAIRS];
};

static int rnet_fd(void *opaque, unsigned int q)
{
	struct rnet_state *st = opaque;

	return q < st->nqueues ? st->efd[q] : -1;
}

static ssize_t rnet_recv(void *opaque, unsigned int q, struct vdev_net_hdr *hdr, void *buf,
			 size_t len)
{
	struct rnet_state *st = opaque;
	struct vdev_trace_rec r;
	uint32_t have;

	if (!replay_backend_take(st->rp, VDEV_TR_BE_NET_RECV, (int)q, &r))
		return -EAGAIN;
	if (r.result < 0)
		return r.result;
	memset(hdr, 0, sizeof(*hdr));
	/* A record too short for the header image (a fuzzer's) brings a plain frame. */
	if (vdev_trace_net_hdr_decode(r.data, r.len, hdr) == 0)
		have = r.len - VDEV_TRACE_NET_HDR_LEN;
	else
		have = 0;
	{
		size_t frame = (size_t)r.result < len ? (size_t)r.result : len;
		size_t copy = have < frame ? have : frame;

		if (copy > 0)
			memcpy(buf, r.data + VDEV_TRACE_NET_HDR_LEN, copy);
		/* Bytes the trace did not keep (a truncated record): a fixed pattern. */
		if (frame > copy)
			replay_fill_pattern((uint8_t *)buf + copy, frame - copy, copy);
	}
	return r.result;
}

static int rnet_send(void *opaque, unsigned int q, const struct vdev_net_hdr *hdr,
		     const struct iovec *iov, int iovcnt)
{
	struct rnet_state *st = opaque;
	struct vdev_trace_rec r;

	(void)hdr;
	(void)iov;
	(void)iovcnt;
	if (!replay_backend_take(st->rp, VDEV_TR_BE_NET_SEND, (int)q, &r))
		return -EAGAIN;
	return r.result > 0 ? 0 : r.result;
}

static void rnet_free(void *state)
{
	struct rnet_state *st = state;

	if (st == NULL)
		return;
	for (unsigned int q = 0; q < VDEV_NET_MAX_QUEUE_PAIRS; q++)
		if (st->efd[q] >= 0)
			close(st->efd[q]);
	free(st);
}

/* ---- replay: building the device ---- */

struct net_replay_params {
	struct vdev_net_config cfg;
	uint64_t mac;
	bool link_up, mrg_rxbuf, ctrl_vq, event_idx, in_order, filter;
	uint64_t backend_queues, tx_offloads, rx_offloads;
	bool have_features;
	uint64_t features;
};

static int take_param(struct vdev_replay *rp, const struct vdev_trace_param *p,
		      struct net_replay_params *np)
{
	uint64_t v;
	int rc;

#define U(name, max, dst)                                                  \
	if (strcmp(p->key, name) == 0) {                                   \
		if ((rc = replay_param_u(rp, p, (max), &v)) < 0)           \
			return rc;                                         \
		dst = v;                                                   \
		return 0;                                                  \
	}
	U("mac", 0xFFFFFFFFFFFFull, np->mac);
	U("mtu", UINT16_MAX, np->cfg.mtu);
	U("queue_pairs", VDEV_NET_MAX_QUEUE_PAIRS, np->cfg.queue_pairs);
	U("queue_size", VDEV_VQ_MAX_SIZE, np->cfg.queue_size);
	U("link_up", 1, np->link_up);
	U("mrg_rxbuf", 1, np->mrg_rxbuf);
	U("ctrl_vq", 1, np->ctrl_vq);
	U("event_idx", 1, np->event_idx);
	U("in_order", 1, np->in_order);
	U("backend_queues", VDEV_NET_MAX_QUEUE_PAIRS, np->backend_queues);
	U("tx_offloads", VDEV_NET_OFFLOAD_ALL, np->tx_offloads);
	U("rx_offloads", VDEV_NET_OFFLOAD_ALL, np->rx_offloads);
	U("filter", 1, np->filter);
#undef U
	if (strcmp(p->key, "features") == 0) {
		np->have_features = true;
		np->features = p->value;
		return 0;
	}
	return replay_unknown_param(rp, p);
}

static int net_create(struct vmctx *ctx, const struct vdev_virtio_pci_config *pci,
		      const struct vdev_trace_param *params, int nparams,
		      struct vdev_replay *rp, struct vdev_dev **out)
{
	struct net_replay_params np;
	struct vdev_net_backend be;
	struct rnet_state *st;
	uint8_t mac[8];
	int rc;

	memset(&np, 0, sizeof(np));
	np.link_up = np.mrg_rxbuf = np.ctrl_vq = np.event_idx = np.filter = true;
	/* Traces recorded before the device offered IN_ORDER have no such parameter. */
	np.in_order = false;
	np.backend_queues = 1;
	np.mac = 0x563412005202ull; /* 02:52:00:12:34:56 */
	for (int i = 0; i < nparams; i++) {
		rc = take_param(rp, &params[i], &np);
		if (rc < 0)
			return rc;
	}
	np.cfg.queue_size = (uint16_t)replay_fuzz_cap(rp, np.cfg.queue_size, 1024);
	np.cfg.size = sizeof(np.cfg);
	np.cfg.pci = *pci;
	vdev_st64(mac, np.mac);
	memcpy(np.cfg.mac, mac, 6);
	np.cfg.link_down = !np.link_up;
	np.cfg.no_mrg_rxbuf = !np.mrg_rxbuf;
	np.cfg.no_ctrl_vq = !np.ctrl_vq;
	np.cfg.no_event_idx = !np.event_idx;
	np.cfg.no_in_order = !np.in_order;

	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return -ENOMEM;
	st->rp = rp;
	st->nqueues = np.backend_queues ? (unsigned int)np.backend_queues : 1;
	for (unsigned int q = 0; q < VDEV_NET_MAX_QUEUE_PAIRS; q++)
		st->efd[q] = -1;
	for (unsigned int q = 0; q < st->nqueues; q++) {
		/* The device only watches it; a real descriptor keeps pollfds honest. */
		st->efd[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (st->efd[q] < 0) {
			rc = -errno;
			rnet_free(st);
			return replay_fail(rp, rc, "net: cannot create an eventfd");
		}
	}
	be = (struct vdev_net_backend){
		.version = VDEV_NET_BACKEND_VERSION,
		.opaque = st,
		.nqueues = st->nqueues,
		.tx_offloads = (uint32_t)np.tx_offloads,
		.rx_offloads = (uint32_t)np.rx_offloads,
		.filter = np.filter,
		.fd = rnet_fd,
		.recv = rnet_recv,
		.send = rnet_send,
	};
	np.cfg.backend = &be;
	rc = vdev_net_create(ctx, "replay", &np.cfg, out);
	if (rc < 0) {
		rnet_free(st);
		return replay_fail(rp, rc, "the network device's parameters were refused: %s",
				   replay_last_error(rp));
	}
	rp->adapter_state = st;
	rp->adapter_free = rnet_free;
	return replay_check_features(rp, *out, np.have_features, np.features);
}

const struct vdev_replay_adapter replay_net_adapter = {
	.type = VIRTIO_TYPE_NET,
	.create = net_create,
};
