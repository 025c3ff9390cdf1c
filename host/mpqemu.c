/* SPDX-License-Identifier: BSD-3-Clause */
#include "mpqemu.h"
#include "unix_fds.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define HDR_SIZE sizeof(struct mpqemu_hdr)

static const char *const cmd_names[MPQEMU_CMD_MAX] = {
	[MPQEMU_CMD_SYNC_SYSMEM] = "SYNC_SYSMEM",   [MPQEMU_CMD_RET] = "RET",
	[MPQEMU_CMD_PCI_CFGWRITE] = "PCI_CFGWRITE", [MPQEMU_CMD_PCI_CFGREAD] = "PCI_CFGREAD",
	[MPQEMU_CMD_BAR_WRITE] = "BAR_WRITE",       [MPQEMU_CMD_BAR_READ] = "BAR_READ",
	[MPQEMU_CMD_SET_IRQFD] = "SET_IRQFD",       [MPQEMU_CMD_DEVICE_RESET] = "DEVICE_RESET",
};

const char *mpqemu_cmd_name(int32_t cmd)
{
	if (cmd < 0 || cmd >= MPQEMU_CMD_MAX)
		return "unknown";
	return cmd_names[cmd];
}

int mpqemu_cmd_payload_size(int32_t cmd)
{
	switch (cmd) {
	case MPQEMU_CMD_SYNC_SYSMEM:
		return (int)sizeof(struct mpqemu_sysmem);
	case MPQEMU_CMD_PCI_CFGWRITE:
	case MPQEMU_CMD_PCI_CFGREAD:
		return (int)sizeof(struct mpqemu_cfg);
	case MPQEMU_CMD_BAR_WRITE:
	case MPQEMU_CMD_BAR_READ:
		return (int)sizeof(struct mpqemu_bar);
	case MPQEMU_CMD_SET_IRQFD:
	case MPQEMU_CMD_DEVICE_RESET:
		return 0;
	default: /* RET and anything unknown: a server never receives them */
		return -1;
	}
}

bool mpqemu_cmd_wants_reply(int32_t cmd)
{
	/* proxy.c awaits a reply for config, BAR and reset; the memory listener and
	 * setup_irqfd() only send. */
	return cmd == MPQEMU_CMD_PCI_CFGWRITE || cmd == MPQEMU_CMD_PCI_CFGREAD ||
	       cmd == MPQEMU_CMD_BAR_WRITE || cmd == MPQEMU_CMD_BAR_READ ||
	       cmd == MPQEMU_CMD_DEVICE_RESET;
}

void mpqemu_reader_init(struct mpqemu_reader *rd)
{
	rd->have = 0;
	rd->nfds = 0;
}

void mpqemu_reader_reset(struct mpqemu_reader *rd)
{
	for (int i = 0; i < rd->nfds; i++)
		close(rd->fds[i]);
	mpqemu_reader_init(rd);
}

void mpqemu_msg_close_fds(struct mpqemu_msg *msg)
{
	for (int i = 0; i < msg->nfds; i++)
		if (msg->fds[i] >= 0)
			close(msg->fds[i]);
	msg->nfds = 0;
}

static int protocol_error(struct mpqemu_reader *rd, int rc, char *err, size_t errlen,
			  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int protocol_error(struct mpqemu_reader *rd, int rc, char *err, size_t errlen,
			  const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	mpqemu_reader_reset(rd);
	return rc;
}

/*
 * Keep the descriptors of every SCM_RIGHTS block, up to the cap. More than the cap is
 * an error, and so is MSG_CTRUNC: the kernel then dropped descriptors we never saw.
 */
static int take_fds(struct mpqemu_reader *rd, struct msghdr *mh, int *extra)
{
	struct cmsghdr *c;

	*extra = 0;
	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		size_t n;
		const uint8_t *data;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		data = CMSG_DATA(c);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, data + i * sizeof(int), sizeof(int));
			if (rd->nfds < MPQEMU_MAX_FDS) {
				rd->fds[rd->nfds++] = fd;
			} else {
				close(fd);
				(*extra)++;
			}
		}
	}
	return (mh->msg_flags & MSG_CTRUNC) ? -1 : 0;
}

/* Header complete: decide now, before reading a payload, whether the peer is sane. */
static int check_header(struct mpqemu_reader *rd, const struct mpqemu_hdr *h, char *err,
			size_t errlen)
{
	int want = mpqemu_cmd_payload_size(h->cmd);

	if (want < 0)
		return protocol_error(rd, -EPROTO, err, errlen, "unknown command %d (size %llu)",
				      h->cmd, (unsigned long long)h->size);
	if (h->size > MPQEMU_MAX_PAYLOAD)
		return protocol_error(rd, -EPROTO, err, errlen,
				      "%s: size %llu is larger than any message (%zu)",
				      mpqemu_cmd_name(h->cmd), (unsigned long long)h->size,
				      MPQEMU_MAX_PAYLOAD);
	if (h->size != (uint64_t)want)
		return protocol_error(rd, -EPROTO, err, errlen, "%s: size %llu, expected %d",
				      mpqemu_cmd_name(h->cmd), (unsigned long long)h->size, want);
	return 0;
}

/* Descriptor counts per command, as QEMU's mpqemu_msg_valid() and the senders use them. */
static int check_fds(struct mpqemu_reader *rd, int32_t cmd, char *err, size_t errlen)
{
	bool ok;

	switch (cmd) {
	case MPQEMU_CMD_SYNC_SYSMEM:
		ok = rd->nfds >= 1 && rd->nfds <= MPQEMU_SYSMEM_REGIONS;
		break;
	case MPQEMU_CMD_SET_IRQFD:
		ok = rd->nfds == 2;
		break;
	default:
		ok = rd->nfds == 0;
		break;
	}
	if (!ok)
		return protocol_error(rd, -EPROTO, err, errlen, "%s with %d file descriptors",
				      mpqemu_cmd_name(cmd), rd->nfds);
	return 0;
}

static void deliver(struct mpqemu_reader *rd, const struct mpqemu_hdr *h,
		    struct mpqemu_msg *msg)
{
	memset(msg, 0, sizeof(*msg));
	msg->cmd = h->cmd;
	msg->size = h->size;
	memcpy(&msg->u, rd->buf + HDR_SIZE, (size_t)h->size);
	memcpy(msg->fds, rd->fds, (size_t)rd->nfds * sizeof(int));
	msg->nfds = rd->nfds;
	/* the message owns the descriptors now */
	rd->nfds = 0;
	rd->have = 0;
}

int mpqemu_read(int sock, struct mpqemu_reader *rd, struct mpqemu_msg *msg, char *err,
		size_t errlen)
{
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(int) * MPQEMU_MAX_FDS)];
	} ctl;
	struct mpqemu_hdr h;

	for (;;) {
		size_t need = HDR_SIZE;
		struct iovec iov;
		struct msghdr mh = {0};
		ssize_t n;
		int extra;

		if (rd->have >= HDR_SIZE) {
			memcpy(&h, rd->buf, HDR_SIZE);
			need = HDR_SIZE + (size_t)h.size; /* checked against the buffer */
			if (rd->have == need) {
				int rc = check_fds(rd, h.cmd, err, errlen);

				if (rc < 0)
					return rc;
				deliver(rd, &h, msg);
				return 1;
			}
		}
		/* Never read past this message: the next one's descriptors stay queued. */
		iov.iov_base = rd->buf + rd->have;
		iov.iov_len = need - rd->have;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return protocol_error(rd, -errno, err, errlen, "recvmsg: %s",
					      strerror(errno));
		}
		if (take_fds(rd, &mh, &extra) < 0 || extra > 0)
			return protocol_error(rd, -EPROTO, err, errlen,
					      "more than %d file descriptors on one message",
					      MPQEMU_MAX_FDS);
		if (n == 0) {
			if (rd->have == 0 && rd->nfds == 0)
				return protocol_error(rd, -EPIPE, err, errlen, "peer closed");
			return protocol_error(rd, -EPIPE, err, errlen,
					      "peer closed in the middle of a message "
					      "(%zu of %zu bytes)",
					      rd->have, need);
		}
		rd->have += (size_t)n;
		if (rd->have == HDR_SIZE) {
			int rc;

			memcpy(&h, rd->buf, HDR_SIZE);
			rc = check_header(rd, &h, err, errlen);
			if (rc < 0)
				return rc;
		}
	}
}

int mpqemu_send(int sock, int32_t cmd, const void *payload, uint64_t size, const int *fds,
		int nfds)
{
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(int) * MPQEMU_MAX_FDS)];
	} ctl;
	struct mpqemu_hdr h = {.cmd = cmd, .size = size};
	uint8_t out[sizeof(struct mpqemu_hdr) + MPQEMU_MAX_PAYLOAD];
	size_t total = HDR_SIZE + (size_t)size, done = 0;

	if (size > MPQEMU_MAX_PAYLOAD || nfds < 0 || nfds > MPQEMU_MAX_FDS ||
	    (size > 0 && payload == NULL))
		return -EINVAL;
	memcpy(out, &h, HDR_SIZE);
	if (size > 0)
		memcpy(out + HDR_SIZE, payload, (size_t)size);
	while (done < total) {
		struct iovec iov = {.iov_base = out + done, .iov_len = total - done};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		ssize_t n;

		if (done == 0) /* the descriptors ride on the first byte only */
			unix_fds_attach(&mh, ctl.buf, sizeof(ctl.buf), fds, nfds);
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)n;
	}
	return 0;
}

int mpqemu_send_ret(int sock, uint64_t val)
{
	return mpqemu_send(sock, MPQEMU_CMD_RET, &val, sizeof(val), NULL, 0);
}
