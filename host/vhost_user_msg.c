/* SPDX-License-Identifier: BSD-3-Clause */
#include "vhost_user_msg.h"
#include "unix_fds.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void vu_reader_init(struct vu_reader *rd)
{
	memset(&rd->msg.hdr, 0, sizeof(rd->msg.hdr));
	for (int i = 0; i < VU_MAX_FDS; i++)
		rd->msg.fds[i] = -1;
	rd->msg.nfds = 0;
	rd->msg.fds_dropped = false;
	rd->got = 0;
}

void vu_msg_close_fds(struct vu_msg *msg)
{
	for (int i = 0; i < msg->nfds; i++) {
		if (msg->fds[i] >= 0)
			close(msg->fds[i]);
		msg->fds[i] = -1;
	}
	msg->nfds = 0;
}

static int failf(struct vu_msg *msg, int rc, char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int failf(struct vu_msg *msg, int rc, char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	vu_msg_close_fds(msg);
	return rc;
}

/* Keep the descriptors that fit; anything beyond VU_MAX_FDS is closed at once so a
 * peer cannot make this process hold descriptors it never asked for. */
static void take_fds(struct vu_msg *msg, struct msghdr *mh)
{
	if (mh->msg_flags & MSG_CTRUNC)
		msg->fds_dropped = true;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (msg->nfds < VU_MAX_FDS) {
				msg->fds[msg->nfds++] = fd;
			} else {
				close(fd);
				msg->fds_dropped = true;
			}
		}
	}
}

static ssize_t recv_some(int sock, void *dst, size_t want, struct vu_msg *msg)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = dst, .iov_len = want};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf)};
	ssize_t n;

	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	take_fds(msg, &mh);
	return n;
}

static int check_header(struct vu_msg *msg, char *why, size_t whylen)
{
	const struct vu_hdr *h = &msg->hdr;

	if ((h->flags & VU_FLAG_VERSION_MASK) != VU_VERSION)
		return failf(msg, -EPROTO, why, whylen, "request %u: protocol version %u, not %u",
			     h->request, h->flags & VU_FLAG_VERSION_MASK, VU_VERSION);
	if (h->flags & VU_FLAG_REPLY)
		return failf(msg, -EPROTO, why, whylen, "request %u carries the reply flag",
			     h->request);
	if (h->size > VU_MAX_PAYLOAD)
		return failf(msg, -EMSGSIZE, why, whylen,
			     "request %u: payload of %u bytes, at most %u", h->request, h->size,
			     (unsigned)VU_MAX_PAYLOAD);
	return 0;
}

int vu_read(int sock, struct vu_reader *rd, char *why, size_t whylen)
{
	struct vu_msg *msg = &rd->msg;

	for (;;) {
		uint8_t *dst;
		size_t want;
		ssize_t n;

		if (rd->got < VU_HDR_SIZE) {
			dst = (uint8_t *)&msg->hdr + rd->got;
			want = VU_HDR_SIZE - rd->got;
		} else {
			size_t off = rd->got - VU_HDR_SIZE;

			if (off == msg->hdr.size)
				return 1;
			dst = msg->payload.bytes + off;
			want = msg->hdr.size - off;
		}
		n = recv_some(sock, dst, want, msg);
		if (n == -EAGAIN || n == -EWOULDBLOCK)
			return 0;
		if (n < 0)
			return failf(msg, (int)n, why, whylen, "recvmsg: %s", strerror((int)-n));
		if (n == 0)
			return failf(msg, -EPIPE, why, whylen, "%s",
				     rd->got ? "front end closed the socket mid-message"
					     : "front end closed the socket");
		rd->got += (size_t)n;
		if (rd->got == VU_HDR_SIZE) {
			int rc = check_header(msg, why, whylen);

			if (rc < 0)
				return rc;
		}
	}
}

int vu_send(int sock, uint32_t request, uint32_t flags, const void *payload, uint32_t size,
	    const int *fds, int nfds)
{
	struct vu_hdr hdr = {.request = request, .flags = flags, .size = size};
	union {
		char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov[2] = {{.iov_base = &hdr, .iov_len = sizeof(hdr)},
			       {.iov_base = (void *)payload, .iov_len = size}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = size ? 2 : 1};
	ssize_t n;

	if (nfds < 0 || nfds > VU_MAX_FDS || size > VU_MAX_PAYLOAD || (size && !payload))
		return -EINVAL;
	unix_fds_attach(&mh, ctl.buf, sizeof(ctl.buf), fds, nfds);
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	/* A partial message cannot be finished later without blocking the loop; the
	 * caller treats it like a peer that stopped reading. */
	if ((size_t)n != sizeof(hdr) + size)
		return -EAGAIN;
	return 0;
}

int vu_get_u64(const struct vu_msg *msg, uint64_t *out)
{
	if (msg->hdr.size != sizeof(*out))
		return -EINVAL;
	memcpy(out, msg->payload.bytes, sizeof(*out));
	return 0;
}

int vu_get_state(const struct vu_msg *msg, struct vu_state *out)
{
	if (msg->hdr.size != sizeof(*out))
		return -EINVAL;
	memcpy(out, msg->payload.bytes, sizeof(*out));
	return 0;
}

int vu_get_addr(const struct vu_msg *msg, struct vu_addr *out)
{
	if (msg->hdr.size != sizeof(*out))
		return -EINVAL;
	memcpy(out, msg->payload.bytes, sizeof(*out));
	return 0;
}

int vu_get_mem_table(const struct vu_msg *msg, struct vu_region *out, int max)
{
	uint32_t n;

	if (msg->hdr.size < VU_MEM_TABLE_HDR_SIZE)
		return -EINVAL;
	memcpy(&n, msg->payload.bytes, sizeof(n));
	if (n > (uint32_t)max || n > VU_MAX_TABLE_REGIONS)
		return -EINVAL;
	/* Front ends send exactly n regions; some send the whole 8-slot array. */
	if (msg->hdr.size < VU_MEM_TABLE_HDR_SIZE + n * sizeof(struct vu_region) ||
	    msg->hdr.size > VU_MEM_TABLE_HDR_SIZE + VU_MAX_TABLE_REGIONS * sizeof(struct vu_region))
		return -EINVAL;
	memcpy(out, msg->payload.bytes + VU_MEM_TABLE_HDR_SIZE, n * sizeof(struct vu_region));
	return (int)n;
}

int vu_get_mem_reg(const struct vu_msg *msg, struct vu_region *out)
{
	if (msg->hdr.size != VU_MEM_REG_SIZE)
		return -EINVAL;
	memcpy(out, msg->payload.bytes + 8, sizeof(*out));
	return 0;
}

int vu_get_config(const struct vu_msg *msg, struct vu_config_hdr *out, const uint8_t **data)
{
	if (msg->hdr.size < VU_CONFIG_HDR_SIZE)
		return -EINVAL;
	memcpy(out, msg->payload.bytes, sizeof(*out));
	if (out->size > VU_MAX_CONFIG_SIZE || msg->hdr.size != VU_CONFIG_HDR_SIZE + out->size)
		return -EINVAL;
	*data = msg->payload.bytes + VU_CONFIG_HDR_SIZE;
	return 0;
}

static const char *const request_names[] = {
	[VU_GET_FEATURES] = "GET_FEATURES",
	[VU_SET_FEATURES] = "SET_FEATURES",
	[VU_SET_OWNER] = "SET_OWNER",
	[VU_RESET_OWNER] = "RESET_OWNER",
	[VU_SET_MEM_TABLE] = "SET_MEM_TABLE",
	[VU_SET_LOG_BASE] = "SET_LOG_BASE",
	[VU_SET_LOG_FD] = "SET_LOG_FD",
	[VU_SET_VRING_NUM] = "SET_VRING_NUM",
	[VU_SET_VRING_ADDR] = "SET_VRING_ADDR",
	[VU_SET_VRING_BASE] = "SET_VRING_BASE",
	[VU_GET_VRING_BASE] = "GET_VRING_BASE",
	[VU_SET_VRING_KICK] = "SET_VRING_KICK",
	[VU_SET_VRING_CALL] = "SET_VRING_CALL",
	[VU_SET_VRING_ERR] = "SET_VRING_ERR",
	[VU_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	[VU_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	[VU_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	[VU_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	[VU_SEND_RARP] = "SEND_RARP",
	[VU_NET_SET_MTU] = "NET_SET_MTU",
	[VU_SET_SLAVE_REQ_FD] = "SET_SLAVE_REQ_FD",
	[VU_IOTLB_MSG] = "IOTLB_MSG",
	[VU_SET_VRING_ENDIAN] = "SET_VRING_ENDIAN",
	[VU_GET_CONFIG] = "GET_CONFIG",
	[VU_SET_CONFIG] = "SET_CONFIG",
	[VU_GET_INFLIGHT_FD] = "GET_INFLIGHT_FD",
	[VU_SET_INFLIGHT_FD] = "SET_INFLIGHT_FD",
	[VU_RESET_DEVICE] = "RESET_DEVICE",
	[VU_VRING_KICK] = "VRING_KICK",
	[VU_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
	[VU_ADD_MEM_REG] = "ADD_MEM_REG",
	[VU_REM_MEM_REG] = "REM_MEM_REG",
	[VU_SET_STATUS] = "SET_STATUS",
	[VU_GET_STATUS] = "GET_STATUS",
};

const char *vu_request_name(uint32_t request, char *buf, size_t len)
{
	if (request < sizeof(request_names) / sizeof(request_names[0]) &&
	    request_names[request] != NULL)
		return request_names[request];
	snprintf(buf, len, "request %u", request);
	return buf;
}
