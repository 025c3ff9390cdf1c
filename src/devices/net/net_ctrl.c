/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Control queue: class, command and payload (device-readable), then an ack byte
 * (device-writable). Every command is checked for exact length, for the feature it
 * belongs to and for counts that outrun the payload; anything wrong is acked
 * VIRTIO_NET_ERR and changes nothing (H38). A chain without a writable ack byte has no
 * way to report an error, so it breaks the device (DEVICE_NEEDS_RESET).
 */
#include <string.h>

#include "core/iov.h"
#include "devices/net/net_internal.h"
#include "util/common.h"

void net_filter_reset(struct net_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->promisc = true; /* until the driver says otherwise, as a plain NIC would */
}

static uint8_t ctrl_rx(struct net_dev *n, uint8_t cmd, const uint8_t *data, size_t len)
{
	if (!net_has(n, VIRTIO_NET_F_CTRL_RX) || len != 1)
		return VIRTIO_NET_ERR;
	switch (cmd) {
	case VIRTIO_NET_CTRL_RX_PROMISC: n->filter.promisc = data[0] != 0; break;
	case VIRTIO_NET_CTRL_RX_ALLMULTI: n->filter.allmulti = data[0] != 0; break;
	default: return VIRTIO_NET_ERR;
	}
	return VIRTIO_NET_OK;
}

/*
 * MAC_TABLE_SET: le32 n_uni, n_uni MACs, le32 n_multi, n_multi MACs, nothing after.
 * Counts are checked against the bytes actually there before any is used.
 */
static uint8_t ctrl_mac_table(struct net_dev *n, const uint8_t *data, size_t len)
{
	struct net_filter *f = &n->filter;
	uint64_t n_uni, n_multi, off;
	const uint8_t *uni, *multi;

	if (len < 4)
		return VIRTIO_NET_ERR;
	n_uni = vdev_ld32(data);
	if (n_uni > (len - 4) / ETH_ALEN_)
		return VIRTIO_NET_ERR;
	uni = data + 4;
	off = 4 + n_uni * ETH_ALEN_;
	if (len - off < 4)
		return VIRTIO_NET_ERR;
	n_multi = vdev_ld32(data + off);
	off += 4;
	if (n_multi > (len - off) / ETH_ALEN_ || off + n_multi * ETH_ALEN_ != len)
		return VIRTIO_NET_ERR;
	multi = data + off;
	/* Valid: replace the table. Lists too long for it mean "accept all" of that kind. */
	f->n_uni = f->n_multi = 0;
	f->uni_overflow = n_uni > VDEV_NET_MAC_TABLE_ENTRIES;
	if (!f->uni_overflow) {
		memcpy(f->macs, uni, (size_t)n_uni * ETH_ALEN_);
		f->n_uni = (uint32_t)n_uni;
	}
	f->multi_overflow = f->n_uni + n_multi > VDEV_NET_MAC_TABLE_ENTRIES;
	if (!f->multi_overflow && n_multi > 0) {
		memcpy(f->macs[f->n_uni], multi, (size_t)n_multi * ETH_ALEN_);
		f->n_multi = (uint32_t)n_multi;
	}
	return VIRTIO_NET_OK;
}

static uint8_t ctrl_mac(struct net_dev *n, uint8_t cmd, const uint8_t *data, size_t len)
{
	switch (cmd) {
	case VIRTIO_NET_CTRL_MAC_TABLE_SET:
		if (!net_has(n, VIRTIO_NET_F_CTRL_RX))
			return VIRTIO_NET_ERR;
		return ctrl_mac_table(n, data, len);
	case VIRTIO_NET_CTRL_MAC_ADDR_SET:
		if (!net_has(n, VIRTIO_NET_F_CTRL_MAC_ADDR) || len != ETH_ALEN_ || (data[0] & 1))
			return VIRTIO_NET_ERR;
		memcpy(n->cfg.mac, data, ETH_ALEN_);
		return VIRTIO_NET_OK;
	default:
		return VIRTIO_NET_ERR;
	}
}

static uint8_t ctrl_mq(struct net_dev *n, uint8_t cmd, const uint8_t *data, size_t len)
{
	uint16_t pairs;

	if (!net_has(n, VIRTIO_NET_F_MQ) || cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET || len != 2)
		return VIRTIO_NET_ERR;
	pairs = vdev_ld16(data);
	if (pairs < 1 || pairs > n->max_pairs)
		return VIRTIO_NET_ERR;
	n->active_pairs = pairs;
	return VIRTIO_NET_OK;
}

static uint8_t ctrl_command(struct net_dev *n, const uint8_t *msg, size_t len)
{
	if (len < 2)
		return VIRTIO_NET_ERR;
	switch (msg[0]) {
	case VIRTIO_NET_CTRL_RX: return ctrl_rx(n, msg[1], msg + 2, len - 2);
	case VIRTIO_NET_CTRL_MAC: return ctrl_mac(n, msg[1], msg + 2, len - 2);
	case VIRTIO_NET_CTRL_MQ: return ctrl_mq(n, msg[1], msg + 2, len - 2);
	default: return VIRTIO_NET_ERR;
	}
}

/* Serve one chain. false when the device had to be broken. */
static bool ctrl_one(struct net_dev *n, struct virtio_vq_info *vq, uint16_t head,
		     const struct iovec *iov, const uint16_t *flags, int k)
{
	size_t rbytes;
	int r = vdev_iov_readable(iov, flags, k, &rbytes), w;
	uint8_t ack = VIRTIO_NET_ERR;

	for (w = r; w < k && iov[w].iov_len == 0; w++)
		;
	if (w == k) {
		vq_relchain(vq, head, 0);
		n->dev.stats.errors++;
		net_log(n, VDEV_LOG_WARN, "control command without a writable ack byte");
		virtio_dev_error(&n->dev.base);
		return false;
	}
	if (rbytes <= sizeof(n->ctrl_buf)) {
		vdev_iov_to_buf(iov, r, 0, n->ctrl_buf, rbytes);
		ack = ctrl_command(n, n->ctrl_buf, rbytes);
	}
	*(uint8_t *)iov[w].iov_base = ack;
	vq_relchain(vq, head, 1);
	n->dev.stats.requests++;
	if (ack == VIRTIO_NET_OK) {
		n->nstats.ctrl_ok++;
	} else {
		n->nstats.ctrl_err++;
		n->dev.stats.errors++;
		net_log(n, VDEV_LOG_DEBUG, "control command of %zu bytes refused", rbytes);
	}
	return true;
}

void net_ctrl_run(struct net_dev *n, struct virtio_vq_info *vq)
{
	struct iovec *iov = n->iov;
	uint16_t *flags = n->iov_flags, head;
	int k;

	while ((k = vq_getchain(vq, &head, iov, n->iov_cap, flags)) > 0)
		if (!ctrl_one(n, vq, head, iov, flags, k))
			break;
	vq_endchains(vq, 1);
}
