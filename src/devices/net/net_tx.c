/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Transmit path: guest frames to the backend.
 *
 * Each chain is a virtio-net header (its size fixed by the negotiated features) and
 * the frame, all device-readable. A malformed chain is completed at once and counted
 * (H37). When the backend would block, the chain is kept in flight, the backend's fd
 * is watched for writing and the send is retried from vdev_dev_poll(); the queue
 * waits behind it, so frames leave in order. A reset discards the kept chain without
 * sending it or writing anything to guest memory (H12).
 *
 * A pair at or above the active count (VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET; 1 until the
 * driver sets it) sends nothing: its chains are completed and dropped like frames
 * sent while the link is down. QEMU detaches the backend queues of inactive pairs and
 * Linux never transmits on them, so a frame found there is a driver racing a pair
 * change; dropping it keeps that driver running and keeps the backend's queues serving
 * only the pairs the driver configured.
 */
#include <errno.h>
#include <string.h>

#include "core/iov.h"
#include "devices/net/net_internal.h"
#include "trace/trace_format.h"
#include "trace/trace_hooks.h"
#include "util/common.h"

/* Complete a chain: its used element is written at once, so completions stay in the
 * order the chains were taken (VIRTIO_F_IN_ORDER); used->idx is stored per burst. */
static void tx_done(struct net_txq *t, struct virtio_vq_info *vq, uint16_t head)
{
	vdev_vq_relchain_batch(vq, head, 0);
	if (++t->unpublished == NET_PUBLISH_EVERY) {
		vdev_vq_publish_used(vq);
		t->unpublished = 0;
	}
}

static void tx_malformed(struct net_dev *n, struct net_txq *t, struct virtio_vq_info *vq,
			 uint16_t head, const char *why)
{
	tx_done(t, vq, head);
	n->nstats.tx_malformed++;
	n->dev.stats.dropped++;
	net_log(n, VDEV_LOG_WARN, "TX queue %u: frame dropped: %s", vq->num, why);
}

/* Whether pair p may reach the backend now; the caller knows p has a TX queue. */
static bool tx_pair_active(const struct net_dev *n, unsigned int p)
{
	return p < n->active_pairs;
}

/*
 * Take the next chain of pair p and check it. Returns 1 with txq filled (pending), 0 when the
 * ring is empty or broken, -1 when a chain was consumed without a frame to send.
 */
static int tx_take(struct net_dev *n, struct net_txq *t, struct virtio_vq_info *vq,
		   unsigned int p)
{
	uint8_t wire[VIRTIO_NET_HDR_MRG_LEN];
	uint16_t *flags = n->iov_flags, head;
	int k = vq_getchain(vq, &head, t->iov, n->iov_cap, flags), r;
	size_t total;
	const char *why;

	if (k <= 0)
		return 0;
	/* Only the readable part is the frame; a writable tail is ignored. */
	r = vdev_iov_readable(t->iov, flags, k, &total);
	if (total < n->hdr_size) {
		tx_malformed(n, t, vq, head, "chain shorter than the virtio-net header");
		return -1;
	}
	/* Drivers put the header in front of the frame or alone in the first buffer:
	 * decode it in place then, without gathering it. */
	if (t->iov[0].iov_len >= n->hdr_size) {
		net_hdr_decode(t->iov[0].iov_base, &t->hdr);
	} else {
		vdev_iov_to_buf(t->iov, r, 0, wire, n->hdr_size);
		net_hdr_decode(wire, &t->hdr);
	}
	t->hdr.flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM; /* the others mean nothing on TX */
	if (total - n->hdr_size > VDEV_NET_MAX_FRAME) {
		tx_malformed(n, t, vq, head, "frame longer than the device's maximum");
		return -1;
	}
	t->len = (uint32_t)(total - n->hdr_size);
	/* A frame that asks for no offload needs only its length checks; the general
	 * check (checksum and segmentation fields) runs for the others. */
	if (t->hdr.flags == 0 && t->hdr.gso_type == VIRTIO_NET_HDR_GSO_NONE &&
	    t->len >= ETH_HLEN_ && t->hdr.hdr_len <= t->len)
		why = NULL;
	else
		why = net_hdr_check_tx(n, &t->hdr, t->len);
	if (why != NULL) {
		tx_malformed(n, t, vq, head, why);
		return -1;
	}
	/* Link down or pair inactive: completed in ring order, never sent. */
	if (!n->link_up || !tx_pair_active(n, p)) {
		tx_done(t, vq, head);
		n->dev.stats.dropped++;
		return -1;
	}
	t->first = vdev_iov_skip(t->iov, r, n->hdr_size);
	t->niov = r - t->first;
	t->head = head;
	t->epoch = n->dev.base.epoch;
	t->pending = true;
	return 1;
}

/* Try to send the pending frame: true when it is done with (sent or refused). */
static bool tx_send(struct net_dev *n, struct net_txq *t, struct virtio_vq_info *vq,
		    unsigned int p, bool *blocked_before)
{
	int rc;

	if (t->epoch != n->dev.base.epoch) {
		/* Taken before a reset: the guest memory is no longer ours (H12). */
		t->pending = false;
		return true;
	}
	if (!tx_pair_active(n, p)) {
		/* Taken while the pair was active, waiting on the backend when the driver
		 * made it inactive: nothing reaches the backend from an inactive pair. It
		 * is the oldest chain in flight, so completing it now keeps ring order. */
		*blocked_before = false;
		t->pending = false;
		tx_done(t, vq, t->head);
		n->dev.stats.dropped++;
		return true;
	}
	rc = n->be.send(n->be.opaque, net_mod(p, n->be.nqueues), &t->hdr, t->iov + t->first,
			t->niov);
	if (vdev_unlikely(vdev_virtio_trace(&n->dev.base) != NULL))
		vdev_trace_backend(vdev_virtio_trace(&n->dev.base), VDEV_TR_BE_NET_SEND,
				   (int)net_mod(p, n->be.nqueues), rc, NULL, 0);
	if (rc == -EAGAIN) {
		if (!*blocked_before)
			n->nstats.tx_blocked++;
		*blocked_before = true;
		return false;
	}
	*blocked_before = false;
	t->pending = false;
	tx_done(t, vq, t->head);
	if (rc < 0) {
		n->nstats.tx_backend_err++;
		n->dev.stats.dropped++;
		net_log(n, VDEV_LOG_DEBUG, "backend refused a frame (%d)", rc);
		return true;
	}
	n->nstats.tx_frames++;
	n->dev.stats.requests++;
	n->dev.stats.bytes_in += t->len;
	return true;
}

void net_tx_run(struct net_dev *n, unsigned int p)
{
	struct net_txq *t = &n->txq[p];
	struct virtio_vq_info *vq = net_tx_vq(n, p);
	bool done_any = false;
	int budget;

	t->more = false;
	if (vq == NULL) {
		/* Nothing of an unusable queue is ever completed. */
		if (t->pending)
			n->dev.stats.dropped++;
		t->pending = false;
		return;
	}
	for (budget = 0; budget < NET_BUDGET; budget++) {
		if (!t->pending) {
			int rc = tx_take(n, t, vq, p);

			if (rc == 0)
				break;
			done_any = true;
			if (rc < 0)
				continue;
			t->blocked = false;
		}
		if (!tx_send(n, t, vq, p, &t->blocked))
			break;
		done_any = true;
	}
	if (budget == NET_BUDGET)
		t->more = true;
	t->unpublished = 0; /* vq_endchains() publishes what is left */
	if (done_any)
		vq_endchains(vq, 1);
}

void net_tx_reset(struct net_dev *n)
{
	for (unsigned int p = 0; p < VDEV_NET_MAX_QUEUE_PAIRS; p++) {
		struct net_txq *t = &n->txq[p];

		if (t->pending)
			n->dev.stats.dropped++;
		t->pending = false;
		t->more = false;
		t->blocked = false;
	}
}
