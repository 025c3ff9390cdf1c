/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Socket backend: frames over a connected socket that keeps message boundaries
 * (SOCK_SEQPACKET or SOCK_DGRAM). Each message is a 12-byte little-endian header
 * (the fields of struct vdev_net_hdr, then two zero bytes) and the frame, so two
 * devices joined back to back keep their checksum and segmentation offloads. One
 * socket serves every queue pair.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/net/net_internal.h"
#include "util/common.h"

#define SOCK_HDR VIRTIO_NET_HDR_MRG_LEN

struct sock_be {
	int fd;
	int type; /* SOCK_SEQPACKET or SOCK_DGRAM */
	uint8_t flat[VDEV_NET_MAX_FRAME]; /* a frame in more than NET_BE_IOV buffers */
};

static int sock_fd(void *opaque, unsigned int q)
{
	(void)q;
	return ((struct sock_be *)opaque)->fd;
}

static ssize_t sock_recv(void *opaque, unsigned int q, struct vdev_net_hdr *hdr, void *buf,
			 size_t len)
{
	struct sock_be *s = opaque;
	uint8_t wire[SOCK_HDR];
	struct iovec iov[2] = {{wire, sizeof(wire)}, {buf, len}};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
	ssize_t n;

	(void)q;
	n = recvmsg(s->fd, &msg, MSG_DONTWAIT);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (n == 0 && s->type == SOCK_SEQPACKET)
		return -EPIPE; /* end of file: the peer closed */
	if (n < SOCK_HDR)
		return -EBADMSG;
	net_hdr_decode(wire, hdr);
	if (msg.msg_flags & MSG_TRUNC)
		return (ssize_t)len + 1;
	return n - SOCK_HDR;
}

static int sock_send(void *opaque, unsigned int q, const struct vdev_net_hdr *hdr,
		     const struct iovec *iov, int iovcnt)
{
	struct sock_be *s = opaque;
	uint8_t wire[SOCK_HDR];
	struct iovec v[NET_BE_IOV + 1];
	struct msghdr msg = {.msg_iov = v};
	int nv;

	(void)q;
	net_hdr_encode(hdr, 0, wire);
	nv = net_be_send_iov(v, wire, sizeof(wire), iov, iovcnt, s->flat);
	if (nv < 0)
		return nv;
	msg.msg_iovlen = (size_t)nv;
	if (sendmsg(s->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return errno == EWOULDBLOCK || errno == ENOBUFS ? -EAGAIN : -errno;
	return 0;
}

static void sock_close(void *opaque)
{
	struct sock_be *s = opaque;

	close(s->fd);
	free(s);
}

VDEV_EXPORT int vdev_net_backend_socket(int fd, bool offloads, struct vdev_net_backend *out)
{
	struct sock_be *s;
	int type = 0, dup_fd;
	socklen_t tl = sizeof(type);

	if (out == NULL || fd < 0)
		return -EINVAL;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0)
		return errno == ENOTSOCK || errno == EBADF ? -EINVAL : -errno;
	if (type != SOCK_SEQPACKET && type != SOCK_DGRAM)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	/* Non-blocking on the open file description: the caller's copy shares it. */
	if (dup_fd < 0 || fcntl(dup_fd, F_SETFL, fcntl(dup_fd, F_GETFL) | O_NONBLOCK) < 0) {
		int e = errno;

		if (dup_fd >= 0)
			close(dup_fd);
		free(s);
		return -e;
	}
	s->fd = dup_fd;
	s->type = type;
	*out = (struct vdev_net_backend){
		.version = VDEV_NET_BACKEND_VERSION,
		.opaque = s,
		.nqueues = 1,
		.tx_offloads = offloads ? VDEV_NET_OFFLOAD_ALL : 0,
		.rx_offloads = offloads ? VDEV_NET_OFFLOAD_ALL : 0,
		.filter = true,
		.fd = sock_fd,
		.recv = sock_recv,
		.send = sock_send,
		.close = sock_close,
	};
	return 0;
}

VDEV_EXPORT int vdev_net_socketpair(int fds[2])
{
	if (fds == NULL)
		return -EINVAL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0)
		return -errno;
	return 0;
}
