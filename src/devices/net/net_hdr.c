/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio-net header (its codec is inline in net_internal.h): checking a guest's TX
 * header against the frame and the negotiated features (H37), and adapting a received
 * frame to what the guest negotiated (finishing a checksum it cannot).
 */
#include <string.h>

#include "core/iov.h"
#include "devices/net/net_internal.h"
#include "util/common.h"

/* The host feature a guest needs to send this segmentation type. */
static uint64_t gso_host_feature(uint8_t gso)
{
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_TCPV4: return VIRTIO_NET_F_HOST_TSO4;
	case VIRTIO_NET_HDR_GSO_TCPV6: return VIRTIO_NET_F_HOST_TSO6;
	case VIRTIO_NET_HDR_GSO_UDP: return VIRTIO_NET_F_HOST_UFO;
	default: return 0;
	}
}

static uint64_t gso_guest_feature(uint8_t gso)
{
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_TCPV4: return VIRTIO_NET_F_GUEST_TSO4;
	case VIRTIO_NET_HDR_GSO_TCPV6: return VIRTIO_NET_F_GUEST_TSO6;
	case VIRTIO_NET_HDR_GSO_UDP: return VIRTIO_NET_F_GUEST_UFO;
	default: return 0;
	}
}

/* Offsets are checked in 32 bits so that 16-bit guest values cannot wrap. */
static bool csum_fits(const struct vdev_net_hdr *hdr, uint32_t len)
{
	return (uint32_t)hdr->csum_start + hdr->csum_offset + 2 <= len;
}

const char *net_hdr_check_tx(const struct net_dev *n, const struct vdev_net_hdr *hdr,
			     uint32_t len)
{
	uint8_t gso = hdr->gso_type;

	if (len < ETH_HLEN_)
		return "frame shorter than an Ethernet header";
	if (len > VDEV_NET_MAX_FRAME)
		return "frame longer than the device's maximum";
	if (hdr->hdr_len > len)
		return "hdr_len past the end of the frame";
	if (hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!net_has(n, VIRTIO_NET_F_CSUM))
			return "NEEDS_CSUM without CSUM negotiated";
		if (!csum_fits(hdr, len))
			return "csum_start + csum_offset past the end of the frame";
	}
	if (gso == VIRTIO_NET_HDR_GSO_NONE)
		return NULL;
	if (gso & VIRTIO_NET_HDR_GSO_ECN)
		return "ECN segmentation not negotiated";
	if (gso_host_feature(gso) == 0)
		return "unknown gso_type";
	if (!net_has(n, gso_host_feature(gso)))
		return "segmentation type not negotiated";
	if (!(hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return "segmentation without a partial checksum";
	if (hdr->gso_size == 0)
		return "segmentation with gso_size 0";
	return NULL;
}

/* Internet checksum of frame[start, len), folded and complemented; 0 becomes 0xFFFF
 * as a UDP receiver expects. The checksum field itself holds the pseudo-header seed. */
static uint16_t inet_csum(const uint8_t *p, uint32_t start, uint32_t len)
{
	uint64_t sum = 0;
	uint32_t i = start;

	for (; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (i < len)
		sum += (uint32_t)p[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	sum = ~sum & 0xFFFF;
	return sum ? (uint16_t)sum : 0xFFFF;
}

bool net_hdr_fit_rx(const struct net_dev *n, struct vdev_net_hdr *hdr, uint8_t *frame,
		    uint32_t len)
{
	uint8_t gso = hdr->gso_type;
	bool guest_csum = net_has(n, VIRTIO_NET_F_GUEST_CSUM);

	if (gso != VIRTIO_NET_HDR_GSO_NONE &&
	    ((gso & VIRTIO_NET_HDR_GSO_ECN) || !net_has(n, gso_guest_feature(gso))))
		return false; /* no software segmentation: the guest cannot take it */
	if (gso == VIRTIO_NET_HDR_GSO_NONE)
		hdr->gso_size = 0;
	if (hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!csum_fits(hdr, len))
			return false;
		if (!guest_csum) {
			uint32_t at = (uint32_t)hdr->csum_start + hdr->csum_offset;
			uint16_t c = inet_csum(frame, hdr->csum_start, len);

			frame[at] = (uint8_t)(c >> 8);
			frame[at + 1] = (uint8_t)c;
		}
	}
	if (!guest_csum) {
		hdr->flags = 0;
		hdr->csum_start = 0;
		hdr->csum_offset = 0;
	} else {
		hdr->flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;
	}
	return true;
}

int net_be_send_iov(struct iovec v[NET_BE_IOV + 1], void *wire, size_t wire_len,
		    const struct iovec *iov, int iovcnt, uint8_t *flat)
{
	v[0] = (struct iovec){wire, wire_len};
	if (iovcnt < 0)
		return -EINVAL;
	if (iovcnt > NET_BE_IOV) {
		/* One system call takes only so many buffers: send a copy in one. */
		size_t len = vdev_iov_len(iov, iovcnt);

		if (len > VDEV_NET_MAX_FRAME)
			return -EMSGSIZE;
		v[1] = (struct iovec){flat, vdev_iov_to_buf(iov, iovcnt, 0, flat, len)};
		return 2;
	}
	memcpy(v + 1, iov, sizeof(*iov) * (size_t)iovcnt);
	return iovcnt + 1;
}
