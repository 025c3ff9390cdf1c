/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-net: an Ethernet device whose frames go to a pluggable backend.
 *
 * Supported: MAC, STATUS (link up/down from the host), MTU, MRG_RXBUF, IN_ORDER,
 * CSUM and GUEST_CSUM, HOST/GUEST TSO4/TSO6/UFO when the backend can take and produce
 * offloaded frames, CTRL_VQ with CTRL_RX (promiscuous, all-multicast, MAC table, MAC
 * address) and MQ (VQ_PAIRS_SET). Queue layout: rx0, tx0, rx1, tx1, ..., then the control
 * queue (at index 2 when MQ is not negotiated, as the spec says).
 *
 * Two backends come with the library: a Linux tap device and a connected datagram
 * socket (SOCK_SEQPACKET or SOCK_DGRAM, so frame boundaries are kept). An embedder
 * can plug its own by filling struct vdev_net_backend.
 *
 * Threading: the device follows the event-loop contract of vdev/device.h; backend
 * callbacks are called on the embedder's thread, with the device lock held, from
 * register accesses (queue kicks) and vdev_dev_poll(). They must not block.
 */
#ifndef VDEV_NET_H
#define VDEV_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vdev/device.h"
#include "vdev/virtio_pci.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Feature bits (virtio 1.x, 5.1.3). */
#define VIRTIO_NET_F_CSUM (1ULL << 0)
#define VIRTIO_NET_F_GUEST_CSUM (1ULL << 1)
#define VIRTIO_NET_F_MTU (1ULL << 3)
#define VIRTIO_NET_F_MAC (1ULL << 5)
#define VIRTIO_NET_F_GUEST_TSO4 (1ULL << 7)
#define VIRTIO_NET_F_GUEST_TSO6 (1ULL << 8)
#define VIRTIO_NET_F_GUEST_UFO (1ULL << 10)
#define VIRTIO_NET_F_HOST_TSO4 (1ULL << 11)
#define VIRTIO_NET_F_HOST_TSO6 (1ULL << 12)
#define VIRTIO_NET_F_HOST_UFO (1ULL << 14)
#define VIRTIO_NET_F_MRG_RXBUF (1ULL << 15)
#define VIRTIO_NET_F_STATUS (1ULL << 16)
#define VIRTIO_NET_F_CTRL_VQ (1ULL << 17)
#define VIRTIO_NET_F_CTRL_RX (1ULL << 18)
#define VIRTIO_NET_F_MQ (1ULL << 22)
#define VIRTIO_NET_F_CTRL_MAC_ADDR (1ULL << 23)

/* Device config layout (little-endian; legacy drivers on little-endian hosts). */
#define VIRTIO_NET_CFG_MAC 0
#define VIRTIO_NET_CFG_STATUS 6
#define VIRTIO_NET_CFG_MAX_PAIRS 8
#define VIRTIO_NET_CFG_MTU 10
#define VIRTIO_NET_CFG_SIZE 12
#define VIRTIO_NET_S_LINK_UP 1

/* The virtio-net header in front of every frame: 10 bytes, or 12 (num_buffers added)
 * when MRG_RXBUF or VERSION_1 is negotiated. */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE 0
#define VIRTIO_NET_HDR_GSO_TCPV4 1
#define VIRTIO_NET_HDR_GSO_UDP 3
#define VIRTIO_NET_HDR_GSO_TCPV6 4
#define VIRTIO_NET_HDR_GSO_ECN 0x80
#define VIRTIO_NET_HDR_LEN 10
#define VIRTIO_NET_HDR_MRG_LEN 12

/* Control queue: class, command, payload (driver-readable), then one ack byte. */
#define VIRTIO_NET_OK 0
#define VIRTIO_NET_ERR 1
#define VIRTIO_NET_CTRL_RX 0
#define VIRTIO_NET_CTRL_RX_PROMISC 0
#define VIRTIO_NET_CTRL_RX_ALLMULTI 1
#define VIRTIO_NET_CTRL_MAC 1
#define VIRTIO_NET_CTRL_MAC_TABLE_SET 0
#define VIRTIO_NET_CTRL_MAC_ADDR_SET 1
#define VIRTIO_NET_CTRL_MQ 4
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 0

/* Limits of this implementation. */
#define VDEV_NET_MAX_QUEUE_PAIRS 8
#define VDEV_NET_MAX_FRAME 65560 /* largest frame, offloaded or not, without header */
#define VDEV_NET_MAC_TABLE_ENTRIES 64 /* unicast + multicast; more means "accept all" */

/* Offload capabilities of a backend. */
#define VDEV_NET_OFFLOAD_CSUM 0x1 /* partial checksums (NEEDS_CSUM) */
#define VDEV_NET_OFFLOAD_TSO4 0x2
#define VDEV_NET_OFFLOAD_TSO6 0x4
#define VDEV_NET_OFFLOAD_UFO 0x8
#define VDEV_NET_OFFLOAD_ALL 0xF

/* The meaning of a virtio-net header, in host byte order, as backends see it. */
struct vdev_net_hdr {
	uint8_t flags;    /* VIRTIO_NET_HDR_F_* */
	uint8_t gso_type; /* VIRTIO_NET_HDR_GSO_* */
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};

#define VDEV_NET_BACKEND_VERSION 1

/*
 * Where frames go. Fill it (version first) to plug your own I/O, or get one from
 * vdev_net_backend_tap()/vdev_net_backend_socket(). Backend queue q serves guest
 * queue pair q (pairs past nqueues share queue pair % nqueues for TX; RX from
 * queue q goes to pair q % active pairs).
 */
struct vdev_net_backend {
	uint32_t version;      /* VDEV_NET_BACKEND_VERSION */
	void *opaque;          /* passed to every callback */
	unsigned int nqueues;  /* 1..VDEV_NET_MAX_QUEUE_PAIRS */
	uint32_t tx_offloads;  /* offloaded frames it accepts from the guest (VDEV_NET_OFFLOAD_*) */
	uint32_t rx_offloads;  /* offloaded frames it can produce once set_offloads allows */
	bool filter;           /* true: the device applies the guest's RX filter (MAC table,
				  promiscuous mode); false: the backend filters itself */
	/* Required: the descriptor to watch for queue q (readable: frames to receive;
	 * writable: room after send returned -EAGAIN). */
	int (*fd)(void *opaque, unsigned int q);
	/* Required: take one frame of at most `len` bytes into buf and its header into
	 * *hdr. Returns the frame's full length (more than len: it was truncated and is
	 * dropped), -EAGAIN when there is none, or another negative errno. */
	ssize_t (*recv)(void *opaque, unsigned int q, struct vdev_net_hdr *hdr, void *buf,
			size_t len);
	/* Required: send one frame (header + iov). Returns 0, -EAGAIN when it would block
	 * (the frame was not taken; it is retried once fd(q) is writable), or another
	 * negative errno (the frame is dropped and counted). */
	int (*send)(void *opaque, unsigned int q, const struct vdev_net_hdr *hdr,
		    const struct iovec *iov, int iovcnt);
	/* Optional: the guest accepts these offloads on receive (a subset of rx_offloads);
	 * called after feature negotiation and after each reset (with 0). */
	int (*set_offloads)(void *opaque, uint32_t offloads);
	/* Optional: release everything. Called once by vdev_dev_destroy(). */
	void (*close)(void *opaque);
};

/*
 * Options of the tap backend. Zero-initialise, set .size = sizeof(struct
 * vdev_net_tap_config), then set what you need. The size lets the struct grow: fields
 * are only ever appended; a caller's shorter struct (an older header) reads as zero past
 * its end, a longer one is refused (-E2BIG) only when it sets what this library does not
 * know; a size below the first version's is -EINVAL.
 */
struct vdev_net_tap_config {
	uint32_t size; /* required: sizeof(struct vdev_net_tap_config) */
	const char *ifname;   /* required: 1..15 bytes; created if it does not exist */
	unsigned int queues;  /* 0: 1; more opens a multiqueue tap (IFF_MULTI_QUEUE) */
	bool persistent;      /* keep the interface after the device closes it */
	bool no_offloads;     /* do not offer checksum/TSO/UFO even if the tap can */
};

/*
 * Open (creating when needed) the Linux tap device cfg->ifname with a 12-byte vnet
 * header, non-blocking. Offloads are those the kernel accepts (TUNSETOFFLOAD probe).
 * The interface is not brought up. Returns 0, -EINVAL on a bad argument, or the errno
 * of the failing open/ioctl (negated).
 */
int vdev_net_backend_tap(const struct vdev_net_tap_config *cfg, struct vdev_net_backend *out);

/*
 * A backend over a connected socket that keeps frame boundaries (SOCK_SEQPACKET or
 * SOCK_DGRAM). The backend works on its own duplicate of `fd`; the caller still owns
 * `fd`. Every frame travels with a 12-byte little-endian header (struct
 * vdev_net_hdr), so two devices joined back to back keep checksum and segmentation
 * offloads; `offloads` says whether to offer them (both ends must agree). One socket
 * serves all queue pairs. The device applies the guest's RX filter. Returns 0,
 * -EINVAL when fd is not such a socket, or a negative errno.
 */
int vdev_net_backend_socket(int fd, bool offloads, struct vdev_net_backend *out);

/* A connected non-blocking, close-on-exec AF_UNIX SOCK_SEQPACKET pair, to join two
 * devices back to back (give fds[0] to one, fds[1] to the other, then close both).
 * Returns 0 or a negative errno. */
int vdev_net_socketpair(int fds[2]);

/* Release a backend that was not handed to a device (calls its close). */
void vdev_net_backend_close(struct vdev_net_backend *be);

/*
 * Zero-initialise, set .size = sizeof(struct vdev_net_config), then set what you need;
 * zero means the default. The size lets the struct grow: fields are only ever appended;
 * a caller's shorter struct (an older header) reads as zero past its end, a longer one
 * is refused (-E2BIG) only when it sets what this library does not know; a size below
 * the first version's is -EINVAL.
 */
struct vdev_net_config {
	uint32_t size; /* required: sizeof(struct vdev_net_config) */
	struct vdev_virtio_pci_config pci; /* pci.mode is required */
	const struct vdev_net_backend *backend; /* required; copied. On success the device
						   owns it (closes it on destroy); on failure
						   the caller still does */
	uint8_t mac[6];       /* 0: 02:xx:xx:xx:xx:xx derived from the device name */
	uint16_t mtu;         /* 0: not offered; else 68..65535, offered with F_MTU */
	uint16_t queue_pairs; /* 0: 1; at most VDEV_NET_MAX_QUEUE_PAIRS (MQ when > 1) */
	uint16_t queue_size;  /* 0: 256; a power of two up to 32768 */
	bool link_down;       /* start with the link down */
	bool no_mrg_rxbuf;    /* do not offer MRG_RXBUF */
	bool no_ctrl_vq;      /* do not offer CTRL_VQ (nor CTRL_RX, MAC_ADDR, MQ) */
	bool no_event_idx;    /* do not offer EVENT_IDX */
	bool no_in_order;     /* do not offer VIRTIO_F_IN_ORDER (offered, modern only, when
				 the backend has one queue) */
};

/*
 * Create a virtio-net function `name` on ctx. Returns 0 and the device in *out,
 * -EINVAL (logged, naming the field) for a bad argument, or a negative errno.
 */
int vdev_net_create(struct vmctx *ctx, const char *name, const struct vdev_net_config *cfg,
		    struct vdev_dev **out);

/*
 * Host control: set the link up or down. Updates the config status and raises a
 * config change (once the driver is ready). While the link is down, TX frames are
 * dropped and received frames discarded, both counted. Returns 0, or -EINVAL when
 * dev is not a virtio-net device.
 */
int vdev_net_set_link(struct vdev_dev *dev, bool up);

/* Counters specific to virtio-net (the common ones are in vdev_dev_get_stats()). */
struct vdev_net_stats {
	uint64_t tx_frames;      /* frames handed to the backend */
	uint64_t rx_frames;      /* frames given to the guest */
	uint64_t tx_malformed;   /* TX chains dropped for a bad header or length (H37) */
	uint64_t tx_backend_err; /* frames the backend refused (other than EAGAIN) */
	uint64_t tx_blocked;     /* sends that waited for the backend (EAGAIN) */
	uint64_t rx_filtered;    /* frames the guest's RX filter rejected */
	uint64_t rx_dropped;     /* frames dropped: too large, link down, offload the
				    guest cannot take, or discarded by a reset */
	uint64_t rx_bad_buffer;  /* RX chains smaller than the header (H37) */
	uint64_t ctrl_ok;        /* control commands acked VIRTIO_NET_OK */
	uint64_t ctrl_err;       /* control commands acked VIRTIO_NET_ERR (H38) */
	uint64_t reserved[8]; /* zero: a counter added later takes a slot here, so the
				struct keeps its size and layout */
};

/* Returns 0, or -EINVAL when dev is not a virtio-net device. */
int vdev_net_get_stats(struct vdev_dev *dev, struct vdev_net_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* VDEV_NET_H */
