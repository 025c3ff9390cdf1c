/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tap backend: a Linux tap interface opened through /dev/net/tun with
 * IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, a 12-byte little-endian vnet header
 * (TUNSETVNETHDRSZ, TUNSETVNETLE), non-blocking descriptors, one per queue
 * (IFF_MULTI_QUEUE when more than one). The guest's receive offloads are passed on
 * with TUNSETOFFLOAD. The kernel filters by itself, so the device does not.
 * A tap the backend created disappears when its last descriptor closes, unless it was
 * made persistent.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "devices/net/net_internal.h"
#include "util/common.h"
#include "util/config.h"

#define TAP_HDR VIRTIO_NET_HDR_MRG_LEN

struct tap_be {
	unsigned int n;
	int fds[VDEV_NET_MAX_QUEUE_PAIRS];
	uint8_t flat[VDEV_NET_MAX_FRAME]; /* a frame in more than NET_BE_IOV buffers */
};

static int tap_fd(void *opaque, unsigned int q)
{
	struct tap_be *t = opaque;

	return q < t->n ? t->fds[q] : -1;
}

static ssize_t tap_recv(void *opaque, unsigned int q, struct vdev_net_hdr *hdr, void *buf,
			size_t len)
{
	struct tap_be *t = opaque;
	uint8_t wire[TAP_HDR];
	struct iovec iov[2] = {{wire, sizeof(wire)}, {buf, len}};
	ssize_t n;

	if (q >= t->n)
		return -EINVAL;
	n = readv(t->fds[q], iov, 2);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (n < TAP_HDR)
		return -EBADMSG;
	net_hdr_decode(wire, hdr);
	return n - TAP_HDR;
}

static int tap_send(void *opaque, unsigned int q, const struct vdev_net_hdr *hdr,
		    const struct iovec *iov, int iovcnt)
{
	struct tap_be *t = opaque;
	uint8_t wire[TAP_HDR];
	struct iovec v[NET_BE_IOV + 1];
	int nv;

	if (q >= t->n)
		return -EINVAL;
	net_hdr_encode(hdr, 0, wire);
	nv = net_be_send_iov(v, wire, sizeof(wire), iov, iovcnt, t->flat);
	if (nv < 0)
		return nv;
	if (writev(t->fds[q], v, nv) < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return 0;
}

static unsigned int tun_flags(uint32_t offloads)
{
	unsigned int f = 0;

	if (offloads & VDEV_NET_OFFLOAD_CSUM) {
		f |= TUN_F_CSUM;
		if (offloads & VDEV_NET_OFFLOAD_TSO4)
			f |= TUN_F_TSO4;
		if (offloads & VDEV_NET_OFFLOAD_TSO6)
			f |= TUN_F_TSO6;
		if (offloads & VDEV_NET_OFFLOAD_UFO)
			f |= TUN_F_UFO;
	}
	return f;
}

static int tap_set_offloads(void *opaque, uint32_t offloads)
{
	struct tap_be *t = opaque;

	for (unsigned int q = 0; q < t->n; q++)
		if (ioctl(t->fds[q], TUNSETOFFLOAD, (unsigned long)tun_flags(offloads)) < 0)
			return -errno;
	return 0;
}

static void tap_close(void *opaque)
{
	struct tap_be *t = opaque;

	for (unsigned int q = 0; q < t->n; q++)
		close(t->fds[q]);
	free(t);
}

static int tap_open_one(const char *name, bool multi)
{
	struct ifreq ifr;
	int hdr = TAP_HDR, le = 1;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (multi ? IFF_MULTI_QUEUE : 0);
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	/* Little-endian headers whatever the host; a kernel without the ioctl is
	 * little-endian-only (or native) anyway. */
	(void)ioctl(fd, TUNSETVNETLE, &le);
	return fd;
}

/* The richest offload set the kernel accepts on this tap. */
static uint32_t tap_probe_offloads(int fd)
{
	static const uint32_t tries[] = {
		VDEV_NET_OFFLOAD_ALL,
		VDEV_NET_OFFLOAD_CSUM | VDEV_NET_OFFLOAD_TSO4 | VDEV_NET_OFFLOAD_TSO6,
		VDEV_NET_OFFLOAD_CSUM,
	};
	uint32_t got = 0;

	for (size_t i = 0; i < VDEV_ARRAY_SIZE(tries); i++) {
		if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)tun_flags(tries[i])) == 0) {
			got = tries[i];
			break;
		}
	}
	(void)ioctl(fd, TUNSETOFFLOAD, 0UL); /* nothing until a guest asks */
	return got;
}

/* The size of struct vdev_net_tap_config's first version; new fields go after it. */
#define TAP_CONFIG_V1 VDEV_CONFIG_V1_SIZE(struct vdev_net_tap_config, no_offloads)

VDEV_EXPORT int vdev_net_backend_tap(const struct vdev_net_tap_config *given,
				     struct vdev_net_backend *out)
{
	struct vdev_net_tap_config local; /* everything below reads this copy only */
	const struct vdev_net_tap_config *cfg = &local;
	char why[VDEV_CONFIG_WHY_LEN];
	struct tap_be *t;
	unsigned int nq;
	uint32_t offloads;
	size_t len;
	int rc;

	if (given == NULL || out == NULL)
		return -EINVAL;
	/* No vmctx to log on: the errno alone tells the caller. */
	rc = vdev_config_take(&local, sizeof(local), given, TAP_CONFIG_V1, "vdev_net_tap_config",
			      why, sizeof(why));
	if (rc < 0)
		return rc;
	if (cfg->ifname == NULL)
		return -EINVAL;
	len = strlen(cfg->ifname);
	nq = cfg->queues ? cfg->queues : 1;
	if (len == 0 || len >= IFNAMSIZ || strchr(cfg->ifname, '/') != NULL ||
	    nq > VDEV_NET_MAX_QUEUE_PAIRS)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	for (; t->n < nq; t->n++) {
		int fd = tap_open_one(cfg->ifname, nq > 1);

		if (fd < 0) {
			tap_close(t);
			return fd;
		}
		t->fds[t->n] = fd;
	}
	if (cfg->persistent && ioctl(t->fds[0], TUNSETPERSIST, 1UL) < 0) {
		int e = errno;

		tap_close(t);
		return -e;
	}
	offloads = cfg->no_offloads ? 0 : tap_probe_offloads(t->fds[0]);
	*out = (struct vdev_net_backend){
		.version = VDEV_NET_BACKEND_VERSION,
		.opaque = t,
		.nqueues = nq,
		.tx_offloads = offloads,
		.rx_offloads = offloads,
		.filter = false,
		.fd = tap_fd,
		.recv = tap_recv,
		.send = tap_send,
		.set_offloads = tap_set_offloads,
		.close = tap_close,
	};
	return 0;
}
