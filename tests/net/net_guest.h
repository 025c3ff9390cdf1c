/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A virtio-net guest on the test fixture, with helpers that do what a guest network
 * driver does (post RX buffers, send frames with a header, read frames back across
 * merged buffers, send control commands).
 */
#ifndef VDEV_TESTS_NET_GUEST_H
#define VDEV_TESTS_NET_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dev_loop.h"
#include "fixture.h"
#include "vdev/driver.h"
#include "vdev/net.h"
#include "vdev/vdev.h"

#define NG_TX_SLOT 4096
#define NG_MAX_PAIRS VDEV_NET_MAX_QUEUE_PAIRS

struct net_guest {
	struct fx fx;        /* sim, device, driver; fx.features as negotiated */
	size_t hdr_size;
	uint16_t pairs;      /* pairs set up */
	uint16_t ctrl_q;     /* control queue index, or 0xFFFF */
	uint16_t qsize;
	/* TX buffers reused in ring order (TX completes in order). */
	uint64_t tx_slots[NG_MAX_PAIRS];
	uint32_t tx_next[NG_MAX_PAIRS];
	uint64_t ctrl_buf;
};

/*
 * Create the sim and the device (cfg->pci.mode is replaced by mode, cfg->pci.msix by
 * msix; cfg->backend must be set) and open the driver. Returns 0 or a negative errno.
 */
int ng_open(struct net_guest *g, const char *name, const struct fx_mode *m, bool msix,
	    const struct vdev_net_config *cfg);
void ng_close(struct net_guest *g);

/* Negotiate `wanted`, set up rx/tx of `pairs` pairs (0: 1) and the control queue when
 * negotiated, DRIVER_OK. */
int ng_ready(struct net_guest *g, uint64_t wanted, uint16_t pairs);

/* Post `count` RX buffers of `size` bytes to pair p and kick. Returns buffers posted. */
int ng_post_rx(struct net_guest *g, uint16_t p, int count, uint32_t size);
/* Re-post one buffer (its gpa came back as the token). */
int ng_repost(struct net_guest *g, uint16_t p, uint64_t gpa, uint32_t size, bool kick);

/* Queue one frame with header `hdr` (NULL: zero header) on pair p; kick when `kick`. */
int ng_send(struct net_guest *g, uint16_t p, const struct vdev_net_hdr *hdr,
	    const void *frame, size_t len, bool kick);
/* Queue raw bytes as one TX chain of readable segments (for hostile tests). */
int ng_send_raw(struct net_guest *g, uint16_t p, const struct vdev_drv_seg *segs, int n);
/* Completed TX chains taken from pair p's TX queue. */
int ng_tx_done(struct net_guest *g, uint16_t p);

/*
 * Take one received frame from pair p: header into *hdr, frame into buf (at most cap
 * bytes), its length into *len, buffers it used into *nbufs (may be NULL). Returns 1,
 * 0 when none, -1 on an inconsistent completion. Buffers are re-posted when `repost`.
 */
int ng_recv(struct net_guest *g, uint16_t p, struct vdev_net_hdr *hdr, void *buf, size_t cap,
	    size_t *len, int *nbufs, bool repost, uint32_t repost_size);

/* Send a control command, returning the ack byte (0xEE when not completed). */
uint8_t ng_ctrl(struct net_guest *g, uint8_t cls, uint8_t cmd, const void *data, size_t len);

/* Pump the devices until cond(arg) or timeout_ms; true when cond became true. */
bool ng_pump(struct vdev_dev *const *devs, int ndev, bool (*cond)(void *), void *arg,
	     int timeout_ms);
/* Pump for a while regardless (lets in-flight work settle). */
void ng_settle(struct vdev_dev *const *devs, int ndev, int rounds);

/* Build a frame: dst, src, ethertype 0x88B5 (local experimental) and a pattern. */
size_t ng_frame(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], size_t len,
		uint32_t seed);

/* The device's MAC as the guest reads it from config space. */
void ng_mac(struct net_guest *g, uint8_t mac[6]);

#endif
