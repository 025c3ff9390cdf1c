/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-net internals shared by the device glue, the RX/TX/control paths and the
 * header parser. */
#ifndef VDEV_SRC_DEVICES_NET_INTERNAL_H
#define VDEV_SRC_DEVICES_NET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/dev_internal.h"
#include "util/common.h"
#include "vdev/net.h"

/* Room in front of a received frame for its virtio-net header, so that the common
 * delivery copies header and frame to the guest in one go (a few wide stores rather
 * than one store per header field into a cache line the driver owns). */
#define NET_RX_HEADROOM 16
/* Buffers the built-in backends hand to one sendmsg/writev; a frame in more is
 * gathered into the backend's own frame buffer first (below Linux's IOV_MAX). */
#define NET_BE_IOV 128
/* Frames moved per queue per poll before the others get a turn (H30). */
#define NET_BUDGET 256
/* Frames completed on one queue between used-index publications: the driver polls that
 * index from another CPU, so it is stored once per burst rather than once per frame,
 * and the driver starts on a burst while the device fills the next instead of waiting
 * for the whole budget. */
#define NET_PUBLISH_EVERY 32
/* How many chains ahead of the one being filled RX starts the cache misses of (4 and
 * 16 measured slower than 8 with DPDK's front end). */
#define NET_RX_PREFETCH_AHEAD 8
/* Largest control payload (class, command and data) we look at (H38): a MAC table of
 * up to 1024 addresses, so long lists still reach the "accept all" overflow mode. */
#define NET_CTRL_MAX (2 + 2 * 4 + 1024 * 6)
#define ETH_ALEN_ 6
#define ETH_HLEN_ 14

/* Wire layouts (little-endian). */
struct net_config_wire {
	uint8_t mac[6];
	uint16_t status;
	uint16_t max_virtqueue_pairs;
	uint16_t mtu;
};
_Static_assert(sizeof(struct net_config_wire) == VIRTIO_NET_CFG_SIZE, "net config size");
_Static_assert(offsetof(struct net_config_wire, status) == VIRTIO_NET_CFG_STATUS, "status");
_Static_assert(offsetof(struct net_config_wire, max_virtqueue_pairs) == VIRTIO_NET_CFG_MAX_PAIRS,
	       "max_virtqueue_pairs");
_Static_assert(offsetof(struct net_config_wire, mtu) == VIRTIO_NET_CFG_MTU, "mtu");

struct net_hdr_wire {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers; /* only with MRG_RXBUF or VERSION_1 */
};
_Static_assert(sizeof(struct net_hdr_wire) == VIRTIO_NET_HDR_MRG_LEN, "net hdr size");
_Static_assert(offsetof(struct net_hdr_wire, csum_offset) == 8, "csum_offset");
_Static_assert(offsetof(struct net_hdr_wire, num_buffers) == VIRTIO_NET_HDR_LEN, "num_buffers");

/* RX state of one queue pair: the frame read from the backend that waits for guest
 * buffers, and (MRG_RXBUF) the chains it already occupies. */
struct net_rxq {
	uint8_t *room;           /* the allocation: NET_RX_HEADROOM, then buf */
	uint8_t *buf;            /* VDEV_NET_MAX_FRAME bytes */
	uint32_t len;            /* frame length when pending */
	struct vdev_net_hdr hdr;
	bool pending;
	bool dead;               /* the backend queue failed; it is not read again */
	bool counted_wait;       /* no_buffer already counted for this frame */
	uint16_t pair;           /* the queue pair the pending frame goes to */
	uint32_t copied;         /* frame bytes already in held chains */
	uint16_t nheld;          /* chains filled for this frame, not yet released */
	uint16_t *held_head;     /* qsize_max entries */
	uint32_t *held_len;
	uint8_t *nbuf_at[2];     /* where num_buffers lives in the first chain */
};

/* TX state of one queue pair: a chain the backend could not take yet (EAGAIN). */
struct net_txq {
	bool pending;
	bool more;               /* the budget ran out with chains left */
	bool blocked;            /* the pending frame already met EAGAIN (counted once) */
	uint16_t head;
	uint32_t epoch;          /* base.epoch when the chain was taken (H12) */
	uint32_t len;            /* frame bytes */
	uint16_t unpublished;    /* completions written since used->idx was last stored */
	int first;               /* the frame starts at iov[first] (after the header) */
	int niov;                /* iovecs from there */
	struct vdev_net_hdr hdr;
	struct iovec *iov;       /* iov_cap entries */
};

struct net_filter {
	bool promisc;
	bool allmulti;
	bool uni_overflow;       /* the guest's unicast table did not fit: accept all */
	bool multi_overflow;
	uint32_t n_uni;
	uint32_t n_multi;
	uint8_t macs[VDEV_NET_MAC_TABLE_ENTRIES][ETH_ALEN_]; /* unicast, then multicast */
};

struct net_dev {
	struct vdev_dev dev; /* first */
	struct virtio_vq_info vq[2 * VDEV_NET_MAX_QUEUE_PAIRS + 1];
	struct vdev_net_backend be;
	bool be_owned;
	uint16_t max_pairs;
	uint16_t active_pairs;
	uint8_t cfg_mac[ETH_ALEN_];  /* the configured MAC, restored at reset */
	struct net_config_wire cfg;  /* what the guest reads */
	bool link_up;
	/* From the negotiated features (apply_features). */
	size_t hdr_size;
	bool mrg;
	bool mq;
	struct net_filter filter;
	struct net_rxq rxq[VDEV_NET_MAX_QUEUE_PAIRS];
	struct net_txq txq[VDEV_NET_MAX_QUEUE_PAIRS];
	struct vdev_net_stats nstats;
	/* Scratch for gathering one control command. */
	uint8_t ctrl_buf[NET_CTRL_MAX];
	/* Chain scratch, iov_cap entries each: the receive and control paths' iovecs, the
	 * writable part of a receive chain, and every path's flags. Used within one call
	 * under the device lock, never kept. */
	int iov_cap;             /* vdev_iov_chain_cap(queue size) */
	struct iovec *iov;
	struct iovec *wiov;
	uint16_t *iov_flags;
};

/*
 * What a built-in backend hands one sendmsg/writev for a frame (net_hdr.c): v[0] is the
 * wire header (wire, wire_len), then the frame's iov[0, iovcnt), or, when the frame has
 * more than NET_BE_IOV buffers, one buffer holding a copy of it in flat
 * (VDEV_NET_MAX_FRAME bytes). Returns the number of entries of v used, -EINVAL for a
 * negative iovcnt, or -EMSGSIZE for a frame longer than flat.
 */
int net_be_send_iov(struct iovec v[NET_BE_IOV + 1], void *wire, size_t wire_len,
		    const struct iovec *iov, int iovcnt, uint8_t *flat);

static inline bool net_has(const struct net_dev *n, uint64_t f)
{
	return (n->dev.base.negotiated_caps & f) != 0;
}

/* a % b for the small queue counts of the hot paths: almost always a < b, and a
 * division costs tens of cycles per frame. */
static inline unsigned int net_mod(unsigned int a, unsigned int b)
{
	return vdev_likely(a < b) ? a : a % b;
}

static inline uint16_t net_ctrl_index(const struct net_dev *n)
{
	return (uint16_t)(n->mq ? 2 * n->max_pairs : 2);
}

/* The header codec, inline: it runs once per frame. */
static inline void net_hdr_decode(const uint8_t *wire, struct vdev_net_hdr *hdr)
{
	hdr->flags = wire[offsetof(struct net_hdr_wire, flags)];
	hdr->gso_type = wire[offsetof(struct net_hdr_wire, gso_type)];
	hdr->hdr_len = vdev_ld16(wire + offsetof(struct net_hdr_wire, hdr_len));
	hdr->gso_size = vdev_ld16(wire + offsetof(struct net_hdr_wire, gso_size));
	hdr->csum_start = vdev_ld16(wire + offsetof(struct net_hdr_wire, csum_start));
	hdr->csum_offset = vdev_ld16(wire + offsetof(struct net_hdr_wire, csum_offset));
}

static inline void net_hdr_encode(const struct vdev_net_hdr *hdr, uint16_t num_buffers,
				   uint8_t *wire)
{
	wire[offsetof(struct net_hdr_wire, flags)] = hdr->flags;
	wire[offsetof(struct net_hdr_wire, gso_type)] = hdr->gso_type;
	vdev_st16(wire + offsetof(struct net_hdr_wire, hdr_len), hdr->hdr_len);
	vdev_st16(wire + offsetof(struct net_hdr_wire, gso_size), hdr->gso_size);
	vdev_st16(wire + offsetof(struct net_hdr_wire, csum_start), hdr->csum_start);
	vdev_st16(wire + offsetof(struct net_hdr_wire, csum_offset), hdr->csum_offset);
	vdev_st16(wire + offsetof(struct net_hdr_wire, num_buffers), num_buffers);
}

/* net_hdr.c: header validation (H37) and checksum completion. */
/* 0 when a guest TX header fits a frame of `len` bytes and the negotiated features,
 * else a reason string. */
const char *net_hdr_check_tx(const struct net_dev *n, const struct vdev_net_hdr *hdr,
			     uint32_t len);
/* Make a received frame acceptable to this guest: finish a partial checksum the guest
 * cannot, clear what it did not negotiate. false: the frame must be dropped. */
bool net_hdr_fit_rx(const struct net_dev *n, struct vdev_net_hdr *hdr, uint8_t *frame,
		    uint32_t len);

/* net_rx.c */
bool net_rx_accept(const struct net_dev *n, const uint8_t *frame, uint32_t len);
/* Move frames from backend queue q to the guest until the budget, buffers or frames
 * run out. */
void net_rx_run(struct net_dev *n, unsigned int q);
/* The guest added RX buffers to pair p. */
void net_rx_kick(struct net_dev *n, unsigned int p);
/* True when backend queue q should be watched for reading. */
bool net_rx_wants_fd(struct net_dev *n, unsigned int q);
void net_rx_reset(struct net_dev *n);

/* net_tx.c */
void net_tx_run(struct net_dev *n, unsigned int p);
void net_tx_reset(struct net_dev *n);

/* net_ctrl.c */
void net_ctrl_run(struct net_dev *n, struct virtio_vq_info *vq);
void net_filter_reset(struct net_filter *f);

/* net_dev.c */
void net_log(struct net_dev *n, enum vdev_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Pair p's RX / TX virtqueue, or NULL when it is not usable now. */
struct virtio_vq_info *net_rx_vq(struct net_dev *n, unsigned int p);
struct virtio_vq_info *net_tx_vq(struct net_dev *n, unsigned int p);

/* net_tap.c, net_socket.c: nothing beyond the public constructors. */

/* net_describe.c: the PARAM records of this device (struct vdev_dev_ops.describe). */
void net_describe(struct vdev_dev *dev, vdev_trace_param_fn emit, void *arg);

#endif
