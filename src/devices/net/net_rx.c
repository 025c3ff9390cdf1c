/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Receive path: frames from the backend into guest RX buffers.
 *
 * One frame per backend queue may wait in a host buffer for guest buffers. While it
 * waits the backend is not read (its fd is not listed for reading), so a guest that
 * posts no buffers costs nothing and loses nothing: the frame and everything behind
 * it stay queued, and the guest's next RX kick resumes delivery in order. With
 * MRG_RXBUF a frame may span chains; the ones it already filled are held (in flight)
 * until the last one is found, then all are released with num_buffers set.
 */
#include <errno.h>
#include <string.h>

#include "core/iov.h"
#include "core/virtio_internal.h"
#include "devices/net/net_internal.h"
#include "trace/trace_format.h"
#include "trace/trace_hooks.h"
#include "util/common.h"

/* The writable part of one chain. */
struct wchain {
	struct iovec *iov;       /* net_dev.wiov */
	int n;
	size_t bytes;
};

static void writable_part(struct wchain *w, const struct iovec *iov, const uint16_t *flags,
			  int n)
{
	w->n = 0;
	w->bytes = 0;
	for (int i = 0; i < n; i++) {
		if (!(flags[i] & VRING_DESC_F_WRITE))
			continue; /* RX chains have nothing to read; ignore what is there */
		w->iov[w->n++] = iov[i];
		w->bytes += iov[i].iov_len;
	}
}

static bool is_broadcast(const uint8_t *m)
{
	static const uint8_t bc[ETH_ALEN_] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

	return memcmp(m, bc, ETH_ALEN_) == 0;
}

static bool in_table(const struct net_filter *f, uint32_t from, uint32_t count,
		     const uint8_t *m)
{
	for (uint32_t i = from; i < from + count; i++)
		if (memcmp(f->macs[i], m, ETH_ALEN_) == 0)
			return true;
	return false;
}

bool net_rx_accept(const struct net_dev *n, const uint8_t *frame, uint32_t len)
{
	const struct net_filter *f = &n->filter;
	const uint8_t *dst = frame;

	/* The filter is the guest's (CTRL_RX) and only applies where the backend does not
	 * filter for itself. */
	if (!n->be.filter || !net_has(n, VIRTIO_NET_F_CTRL_RX) || f->promisc)
		return true;
	if (len < ETH_ALEN_)
		return false;
	if (is_broadcast(dst))
		return true;
	if (dst[0] & 1)
		return f->allmulti || f->multi_overflow || in_table(f, f->n_uni, f->n_multi, dst);
	if (memcmp(dst, n->cfg.mac, ETH_ALEN_) == 0)
		return true;
	return f->uni_overflow || in_table(f, 0, f->n_uni, dst);
}

static void rx_forget(struct net_rxq *r)
{
	r->pending = false;
	r->counted_wait = false;
	r->copied = 0;
	r->nheld = 0;
	r->nbuf_at[0] = r->nbuf_at[1] = NULL;
}

static void rx_drop(struct net_dev *n, struct net_rxq *r)
{
	n->nstats.rx_dropped++;
	n->dev.stats.dropped++;
	rx_forget(r);
}

/* The first chain of a frame: header, then as much of the frame as fits. */
static int rx_first_chain(struct net_dev *n, struct net_rxq *r, struct virtio_vq_info *vq,
			  uint16_t head, struct wchain *w)
{
	uint8_t wire[VIRTIO_NET_HDR_MRG_LEN];
	size_t hs = n->hdr_size, room;

	if (w->bytes < hs) {
		/* H37: cannot even hold the header. Give it back empty, keep the frame. */
		vq_relchain(vq, head, 0);
		n->nstats.rx_bad_buffer++;
		n->dev.stats.errors++;
		net_log(n, VDEV_LOG_WARN, "RX buffer of %zu bytes is smaller than the %zu-byte header",
			w->bytes, hs);
		return 0;
	}
	if (!n->mrg && w->bytes - hs < r->len) {
		/* Without merging a frame must fit one chain; the chain stays for the next. */
		vq_retchain(vq);
		net_log(n, VDEV_LOG_DEBUG, "RX frame of %u bytes dropped: buffer of %zu", r->len,
			w->bytes);
		rx_drop(n, r);
		return -1;
	}
	net_hdr_encode(&r->hdr, 1, wire);
	vdev_iov_from_buf(w->iov, w->n, 0, wire, hs);
	if (hs == VIRTIO_NET_HDR_MRG_LEN) {
		r->nbuf_at[0] = vdev_iov_at(w->iov, w->n, VIRTIO_NET_HDR_LEN);
		r->nbuf_at[1] = vdev_iov_at(w->iov, w->n, VIRTIO_NET_HDR_LEN + 1);
	}
	room = w->bytes - hs;
	if (room > r->len)
		room = r->len;
	vdev_iov_from_buf(w->iov, w->n, hs, r->buf, room);
	r->held_head[0] = head;
	r->held_len[0] = (uint32_t)(hs + room);
	r->nheld = 1;
	r->copied = (uint32_t)room;
	return 1;
}

/* Release every chain of a completely copied frame. */
static void rx_complete(struct net_dev *n, struct net_rxq *r, struct virtio_vq_info *vq)
{
	if (n->mrg && r->nbuf_at[0] != NULL) {
		r->nbuf_at[0][0] = (uint8_t)r->nheld;
		r->nbuf_at[1][0] = (uint8_t)(r->nheld >> 8);
	}
	for (uint16_t i = 0; i < r->nheld; i++)
		vq_relchain(vq, r->held_head[i], r->held_len[i]);
	n->nstats.rx_frames++;
	n->dev.stats.requests++;
	n->dev.stats.bytes_out += r->len;
	rx_forget(r);
}

/*
 * The common case, taken without gathering the chain: a frame that fits, header
 * included, in the chain's first buffer, which the device may write. It is
 * delivered whole, with num_buffers 1.
 */
static bool rx_fits_first(const struct net_dev *n, const struct net_rxq *r,
			  const struct iovec *iov, const uint16_t *flags)
{
	return r->nheld == 0 && (flags[0] & VRING_DESC_F_WRITE) &&
	       iov[0].iov_len >= n->hdr_size + r->len;
}

static void rx_deliver_first(struct net_dev *n, struct net_rxq *r, struct virtio_vq_info *vq,
			     uint16_t head, const struct iovec *iov)
{
	size_t hs = n->hdr_size;
	uint8_t wire[VIRTIO_NET_HDR_MRG_LEN];

	/* The header goes in the headroom just in front of the frame (num_buffers only
	 * where the header has it: MRG_RXBUF or VERSION_1), and both to the guest in one
	 * copy. */
	_Static_assert(NET_RX_HEADROOM >= VIRTIO_NET_HDR_MRG_LEN, "headroom");
	net_hdr_encode(&r->hdr, 1, wire);
	memcpy(r->buf - hs, wire, hs);
	memcpy(iov[0].iov_base, r->buf - hs, hs + r->len);
	/* Released now (the chain's bookkeeping must be current before the next
	 * vq_getchain), published with the burst by vq_endchains. */
	vdev_vq_relchain_batch(vq, head, (uint32_t)(hs + r->len));
	n->nstats.rx_frames++;
	n->dev.stats.requests++;
	n->dev.stats.bytes_out += r->len;
	rx_forget(r);
}

/*
 * Put the pending frame of backend queue q into guest buffers. Returns 1 when it is
 * gone (delivered or dropped), 0 when it waits for buffers.
 */
static int rx_deliver(struct net_dev *n, struct net_rxq *r, struct virtio_vq_info *vq)
{
	struct wchain w = {.iov = n->wiov};
	struct iovec *iov = n->iov;
	uint16_t *flags = n->iov_flags;

	while (r->nheld == 0 || r->copied < r->len) {
		uint16_t head;
		int k;

		if (NET_RX_PREFETCH_AHEAD > 0)
			vdev_vq_prefetch(vq, NET_RX_PREFETCH_AHEAD);
		k = vq_getchain(vq, &head, iov, n->iov_cap, flags);

		if (k < 0) {
			/* The guest broke the ring; the held chains die with the queue. */
			rx_drop(n, r);
			return 1;
		}
		if (k == 0) {
			if (!r->counted_wait) {
				r->counted_wait = true;
				n->dev.stats.no_buffer++;
			}
			return 0;
		}
		if (rx_fits_first(n, r, iov, flags)) {
			rx_deliver_first(n, r, vq, head, iov);
			return 1;
		}
		writable_part(&w, iov, flags, k);
		if (r->nheld == 0) {
			int rc = rx_first_chain(n, r, vq, head, &w);

			if (rc < 0)
				return 1;
			continue;
		}
		/* A further MRG_RXBUF chain: continue the frame from where it stopped. */
		{
			size_t room = w.bytes;

			if (room > r->len - r->copied)
				room = r->len - r->copied;
			vdev_iov_from_buf(w.iov, w.n, 0, r->buf + r->copied, room);
			r->held_head[r->nheld] = head;
			r->held_len[r->nheld] = (uint32_t)room;
			r->nheld++;
			r->copied += (uint32_t)room;
		}
	}
	rx_complete(n, r, vq);
	return 1;
}

bool net_rx_wants_fd(struct net_dev *n, unsigned int q)
{
	if (n->rxq[q].pending || n->rxq[q].dead)
		return false;
	if (!n->link_up)
		return net_tx_vq(n, 0) != NULL; /* read and discard while a driver runs */
	return net_rx_vq(n, net_mod(q, n->active_pairs)) != NULL;
}

/* What the backend gave: its answer, the header image and the frame. */
static void trace_recv(struct net_dev *n, unsigned int q, const struct net_rxq *r, ssize_t len)
{
	uint8_t img[VDEV_TRACE_NET_HDR_LEN];
	struct iovec iov[2] = {{img, sizeof(img)}, {r->buf, 0}};
	uint64_t total = 0;

	if (len >= 0) {
		vdev_trace_net_hdr_encode(&r->hdr, img);
		iov[1].iov_len = (size_t)len < VDEV_NET_MAX_FRAME ? (size_t)len : VDEV_NET_MAX_FRAME;
		total = sizeof(img) + iov[1].iov_len;
	}
	vdev_trace_backend_iov(vdev_virtio_trace(&n->dev.base), VDEV_TR_BE_NET_RECV, (int)q,
			       vdev_trace_result(len), iov, 2, total);
}

/* Read one frame from backend queue q into its host buffer. 1: got one, 0: none. */
static int rx_fetch(struct net_dev *n, unsigned int q)
{
	struct net_rxq *r = &n->rxq[q];
	ssize_t len = n->be.recv(n->be.opaque, q, &r->hdr, r->buf, VDEV_NET_MAX_FRAME);

	if (vdev_unlikely(vdev_virtio_trace(&n->dev.base) != NULL))
		trace_recv(n, q, r, len);

	if (len == -EAGAIN)
		return 0;
	if (len < 0 && len != -EBADMSG) {
		/* The backend is gone (peer closed, device removed): stop watching it rather
		 * than spin on a descriptor that stays readable. */
		r->dead = true;
		net_log(n, VDEV_LOG_ERROR, "backend queue %u receive failed (%zd); not read again",
			q, len);
		return 0;
	}
	if (len < 0 || len > VDEV_NET_MAX_FRAME || !n->link_up) {
		n->nstats.rx_dropped++;
		n->dev.stats.dropped++;
		return 1;
	}
	r->len = (uint32_t)len;
	if (!net_rx_accept(n, r->buf, r->len)) {
		n->nstats.rx_filtered++;
		return 1;
	}
	if (!net_hdr_fit_rx(n, &r->hdr, r->buf, r->len)) {
		n->nstats.rx_dropped++;
		n->dev.stats.dropped++;
		return 1;
	}
	r->pending = true;
	r->pair = (uint16_t)net_mod(q, n->active_pairs);
	return 1;
}

void net_rx_run(struct net_dev *n, unsigned int q)
{
	struct net_rxq *r = &n->rxq[q];
	struct virtio_vq_info *touched = NULL;
	unsigned int unpublished = 0;

	for (int budget = 0; budget < NET_BUDGET; budget++) {
		struct virtio_vq_info *vq;

		if (!r->pending) {
			if (!net_rx_wants_fd(n, q) || rx_fetch(n, q) == 0)
				break;
			if (!r->pending)
				continue; /* dropped or filtered */
		}
		/* The queue of the previous frame, if this one goes to the same pair and
		 * the ring did not break meanwhile (nothing else can change under the
		 * device lock), saves the full check per frame. */
		if (touched != NULL && touched->num == 2u * r->pair &&
		    (touched->flags & (VQ_ALLOC | VQ_BROKED)) == VQ_ALLOC)
			vq = touched;
		else
			vq = net_rx_vq(n, r->pair);
		if (vq == NULL) {
			/* The pair went away (reset, fewer pairs, broken ring). */
			if (r->pair >= n->active_pairs || n->link_up == false) {
				rx_drop(n, r);
				continue;
			}
			break;
		}
		if (touched != NULL && touched != vq) {
			vq_endchains(touched, 1);
			unpublished = 0;
		}
		touched = vq;
		if (rx_deliver(n, r, vq) == 0)
			break;
		if (++unpublished == NET_PUBLISH_EVERY) {
			vq_endchains(vq, 0);
			unpublished = 0;
		}
	}
	if (touched != NULL)
		vq_endchains(touched, 1);
}

void net_rx_kick(struct net_dev *n, unsigned int p)
{
	/* Any backend queue may feed pair p (or hold a frame for it). */
	for (unsigned int q = 0; q < n->be.nqueues; q++)
		if (n->rxq[q].pending ? n->rxq[q].pair == p : net_mod(q, n->active_pairs) == p)
			net_rx_run(n, q);
}

void net_rx_reset(struct net_dev *n)
{
	for (unsigned int q = 0; q < n->be.nqueues; q++) {
		struct net_rxq *r = &n->rxq[q];

		/* A frame taken from the backend but not delivered is lost with the reset;
		 * the chains it held belong to the old epoch and are never written again. */
		if (r->pending)
			rx_drop(n, r);
		rx_forget(r);
	}
}
