/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The driver peer as a vhost-user front end (include/vdev/vu_front.h). The control
 * path is blocking and simple: one request, then (when it owes one) its reply read
 * with a deadline. The data path is the driver peer's own split-ring code
 * (drv_queue.c) on rings in the sim's memfd RAM; only its kick differs (an eventfd
 * write instead of a register write).
 *
 * Addresses: the memory table describes one region, guest-physical [base, base +
 * size) at the front end's own user address of the mapping; ring addresses go out as
 * user addresses, descriptors carry guest-physical ones, as QEMU does.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "driver/drv_internal.h"
#include "util/common.h"
#include "util/config.h"
#include "vdev/vu_front.h"

/* Requests of the vhost-user spec this front end sends. */
enum {
	VUF_GET_FEATURES = 1,
	VUF_SET_FEATURES = 2,
	VUF_SET_OWNER = 3,
	VUF_SET_MEM_TABLE = 5,
	VUF_SET_VRING_NUM = 8,
	VUF_SET_VRING_ADDR = 9,
	VUF_SET_VRING_BASE = 10,
	VUF_GET_VRING_BASE = 11,
	VUF_SET_VRING_KICK = 12,
	VUF_SET_VRING_CALL = 13,
	VUF_GET_PROTOCOL_FEATURES = 15,
	VUF_SET_PROTOCOL_FEATURES = 16,
	VUF_GET_QUEUE_NUM = 17,
	VUF_SET_VRING_ENABLE = 18,
	VUF_GET_CONFIG = 24,
};

#define VUF_VERSION 0x1u
#define VUF_VERSION_MASK 0x3u
#define VUF_FLAG_REPLY (1u << 2)
#define VUF_FLAG_NEED_REPLY (1u << 3)
#define VUF_F_PROTOCOL_FEATURES (1ULL << 30)
#define VUF_PROTO_MQ 0
#define VUF_PROTO_REPLY_ACK 3
#define VUF_PROTO_CONFIG 9
/* What this front end can use of the protocol. */
#define VUF_PROTO_WANTED \
	((1ULL << VUF_PROTO_MQ) | (1ULL << VUF_PROTO_REPLY_ACK) | (1ULL << VUF_PROTO_CONFIG))
#define VUF_HDR_SIZE 12
#define VUF_CONFIG_HDR 12  /* GET_CONFIG: u32 offset, u32 size, u32 flags */
#define VUF_CONFIG_MAX 256
/* The largest payload ever sent or accepted: GET_CONFIG with 256 bytes. */
#define VUF_MAX_PAYLOAD (VUF_CONFIG_HDR + VUF_CONFIG_MAX)
#define VUF_DEFAULT_TIMEOUT_MS 5000

struct vuf_msg {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
	uint8_t payload[VUF_MAX_PAYLOAD];
};

struct vdev_vu_front {
	int sock;
	int timeout_ms;
	struct vdev_sim *sim;
	uint64_t ram_base, ram_size;
	uint8_t *ram; /* the front end's view of guest RAM (also the table's user address) */
	uint64_t offered;      /* device features, bit 30 stripped */
	bool protocol;         /* bit 30 offered: protocol features in use */
	uint64_t proto;        /* agreed protocol features */
	uint16_t queue_num;
	struct vdev_drv *drv;
	uint16_t nqueues;      /* rings started */
	int kick_fd[VDEV_VU_FRONT_MAX_QUEUES];
	int call_fd[VDEV_VU_FRONT_MAX_QUEUES];
};

/* ---------------- the wire ---------------- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Send one message with up to `nfds` descriptors; the socket is blocking. */
static int send_msg(struct vdev_vu_front *f, uint32_t request, uint32_t flags,
		    const void *payload, uint32_t size, const int *fds, int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} ctl;
	uint32_t hdr[3] = {request, VUF_VERSION | flags, size};
	struct iovec iov[2] = {{hdr, sizeof(hdr)}, {(void *)payload, size}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = size ? 2 : 1};
	size_t want = sizeof(hdr) + size;
	ssize_t n;

	if (nfds > 8)
		return -EINVAL;
	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	do {
		n = sendmsg(f->sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return -ETIMEDOUT; /* SO_SNDTIMEO: the back end stopped reading */
	if (n < 0)
		return errno == EPIPE || errno == ECONNRESET ? -EPIPE : -errno;
	/* A stream socket takes a message this small whole or not at all in practice;
	 * a short send would leave the stream unusable, so say so. */
	return (size_t)n == want ? 0 : -EIO;
}

/* Read exactly len bytes before the deadline; close any descriptor that rides along
 * (a reply carries none). */
static int recv_exact(struct vdev_vu_front *f, void *buf, size_t len, int64_t deadline)
{
	size_t got = 0;

	while (got < len) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * 8)];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = {(uint8_t *)buf + got, len - got};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
				    .msg_controllen = sizeof(ctl.buf)};
		struct pollfd p = {.fd = f->sock, .events = POLLIN};
		int64_t left = deadline - now_ms();
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		n = recvmsg(f->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return errno == ECONNRESET ? -EPIPE : -errno;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				int fd;

				for (size_t i = 0; i < k; i++) {
					memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
					close(fd);
				}
			}
		}
		if (n == 0)
			return -EPIPE;
		got += (size_t)n;
	}
	return 0;
}

/*
 * The reply to `request`: the right id, the reply flag, version 1, and a payload of
 * exactly `size` bytes (or, when size_ok_min is true, between min and size).
 */
static int recv_reply(struct vdev_vu_front *f, uint32_t request, void *payload, uint32_t min,
		      uint32_t size, uint32_t *got)
{
	int64_t deadline = now_ms() + f->timeout_ms;
	uint32_t hdr[3];
	uint8_t sink[VUF_MAX_PAYLOAD];
	int rc = recv_exact(f, hdr, sizeof(hdr), deadline);

	if (rc < 0)
		return rc;
	if (hdr[0] != request || !(hdr[1] & VUF_FLAG_REPLY) ||
	    (hdr[1] & VUF_VERSION_MASK) != VUF_VERSION || hdr[2] > VUF_MAX_PAYLOAD)
		return -EPROTO;
	rc = recv_exact(f, sink, hdr[2], deadline);
	if (rc < 0)
		return rc;
	if (hdr[2] < min || hdr[2] > size)
		return -EPROTO;
	memcpy(payload, sink, hdr[2]);
	if (got)
		*got = hdr[2];
	return 0;
}

/* A request that owes no reply of its own: with REPLY_ACK, ask for one and check it. */
static int request(struct vdev_vu_front *f, uint32_t req, const void *payload, uint32_t size,
		   const int *fds, int nfds)
{
	bool ack = (f->proto & (1ULL << VUF_PROTO_REPLY_ACK)) != 0;
	uint64_t status;
	int rc = send_msg(f, req, ack ? VUF_FLAG_NEED_REPLY : 0, payload, size, fds, nfds);

	if (rc < 0 || !ack)
		return rc;
	rc = recv_reply(f, req, &status, sizeof(status), sizeof(status), NULL);
	if (rc < 0)
		return rc;
	return status == 0 ? 0 : -EREMOTEIO;
}

/* A request answered with a u64 (GET_FEATURES, GET_PROTOCOL_FEATURES, GET_QUEUE_NUM). */
static int get_u64(struct vdev_vu_front *f, uint32_t req, uint64_t *val)
{
	int rc = send_msg(f, req, 0, NULL, 0, NULL, 0);

	if (rc < 0)
		return rc;
	return recv_reply(f, req, val, sizeof(*val), sizeof(*val), NULL);
}

static int set_u64(struct vdev_vu_front *f, uint32_t req, uint64_t val)
{
	return request(f, req, &val, sizeof(val), NULL, 0);
}

/* ---------------- connecting ---------------- */

static int connect_unix(const char *path, int *out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	do {
		rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	} while (rc < 0 && errno == EINTR);
	if (rc < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	*out = fd;
	return 0;
}

static int negotiate_protocol(struct vdev_vu_front *f)
{
	uint64_t offered, qn;
	int rc = get_u64(f, VUF_GET_PROTOCOL_FEATURES, &offered);

	if (rc < 0)
		return rc;
	/* Not through request(): REPLY_ACK is not in force until this is accepted. */
	rc = send_msg(f, VUF_SET_PROTOCOL_FEATURES, 0, &(uint64_t){offered & VUF_PROTO_WANTED},
		      sizeof(uint64_t), NULL, 0);
	if (rc < 0)
		return rc;
	f->proto = offered & VUF_PROTO_WANTED;
	if (!(f->proto & (1ULL << VUF_PROTO_MQ)))
		return 0;
	rc = get_u64(f, VUF_GET_QUEUE_NUM, &qn);
	if (rc < 0)
		return rc;
	f->queue_num = qn > UINT16_MAX ? UINT16_MAX : (uint16_t)qn;
	return 0;
}

static int handshake(struct vdev_vu_front *f)
{
	uint64_t features;
	int rc = send_msg(f, VUF_SET_OWNER, 0, NULL, 0, NULL, 0);

	if (rc < 0)
		return rc;
	rc = get_u64(f, VUF_GET_FEATURES, &features);
	if (rc < 0)
		return rc;
	f->protocol = (features & VUF_F_PROTOCOL_FEATURES) != 0;
	f->offered = features & ~VUF_F_PROTOCOL_FEATURES;
	return f->protocol ? negotiate_protocol(f) : 0;
}

/* The size of struct vdev_vu_front_config's first version; new fields go after it. */
#define VUF_CONFIG_V1 VDEV_CONFIG_V1_SIZE(struct vdev_vu_front_config, timeout_ms)

VDEV_EXPORT int vdev_vu_front_connect(const struct vdev_vu_front_config *given,
				      struct vdev_vu_front **out)
{
	struct vdev_vu_front_config local; /* everything below reads this copy only */
	const struct vdev_vu_front_config *cfg = &local;
	char why[VDEV_CONFIG_WHY_LEN];
	struct vdev_vu_front *f;
	int rc;

	if (out == NULL)
		return -EINVAL;
	*out = NULL;
	if (given == NULL)
		return -EINVAL;
	/* No vmctx to log on: the errno alone tells the caller. */
	rc = vdev_config_take(&local, sizeof(local), given, VUF_CONFIG_V1, "vdev_vu_front_config",
			      why, sizeof(why));
	if (rc < 0)
		return rc;
	if (cfg->path == NULL || cfg->sim == NULL || cfg->timeout_ms < 0 ||
	    vdev_sim_memfd(cfg->sim) < 0)
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -ENOMEM;
	for (int i = 0; i < VDEV_VU_FRONT_MAX_QUEUES; i++)
		f->kick_fd[i] = f->call_fd[i] = -1;
	f->sim = cfg->sim;
	f->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : VUF_DEFAULT_TIMEOUT_MS;
	vdev_sim_ram_range(cfg->sim, &f->ram_base, &f->ram_size);
	f->ram = vdev_sim_ptr(cfg->sim, f->ram_base, f->ram_size);
	if (f->ram == NULL) {
		free(f);
		return -EINVAL;
	}
	rc = connect_unix(cfg->path, &f->sock);
	if (rc < 0) {
		free(f);
		return rc;
	}
	{
		/* A back end that stops reading must not block a send forever either. */
		struct timeval tv = {.tv_sec = f->timeout_ms / 1000,
				     .tv_usec = (f->timeout_ms % 1000) * 1000};

		(void)setsockopt(f->sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	rc = handshake(f);
	if (rc < 0) {
		vdev_vu_front_close(f);
		return rc;
	}
	*out = f;
	return 0;
}

VDEV_EXPORT uint64_t vdev_vu_front_device_features(const struct vdev_vu_front *f)
{
	return f ? f->offered : 0;
}

VDEV_EXPORT uint64_t vdev_vu_front_protocol_features(const struct vdev_vu_front *f)
{
	return f ? f->proto : 0;
}

VDEV_EXPORT uint16_t vdev_vu_front_queue_num(const struct vdev_vu_front *f)
{
	return f ? f->queue_num : 0;
}

VDEV_EXPORT int vdev_vu_front_get_config(struct vdev_vu_front *f, uint32_t off, void *buf,
					 uint32_t len)
{
	uint8_t msg[VUF_MAX_PAYLOAD] = {0};
	uint32_t got = 0, hdr[3];
	int rc;

	if (f == NULL || buf == NULL || len == 0 || len > VUF_CONFIG_MAX)
		return -EINVAL;
	if (!(f->proto & (1ULL << VUF_PROTO_CONFIG)))
		return -EOPNOTSUPP;
	hdr[0] = off;
	hdr[1] = len;
	hdr[2] = 0;
	memcpy(msg, hdr, sizeof(hdr));
	rc = send_msg(f, VUF_GET_CONFIG, 0, msg, VUF_CONFIG_HDR + len, NULL, 0);
	if (rc < 0)
		return rc;
	/* The spec's refusal is an empty payload; anything but the full answer fails. */
	rc = recv_reply(f, VUF_GET_CONFIG, msg, 0, VUF_CONFIG_HDR + len, &got);
	if (rc < 0)
		return rc;
	if (got != VUF_CONFIG_HDR + len)
		return -EREMOTEIO;
	memcpy(hdr, msg, sizeof(hdr));
	if (hdr[0] != off || hdr[1] != len)
		return -EPROTO;
	memcpy(buf, msg + VUF_CONFIG_HDR, len);
	return 0;
}

/* ---------------- starting the rings ---------------- */

static int send_mem_table(struct vdev_vu_front *f)
{
	struct {
		uint32_t nregions, padding;
		uint64_t gpa, size, uaddr, mmap_offset;
	} t = {
		.nregions = 1,
		.gpa = f->ram_base,
		.size = f->ram_size,
		.uaddr = (uint64_t)(uintptr_t)f->ram,
		.mmap_offset = 0,
	};
	int fd = vdev_sim_memfd(f->sim);

	return request(f, VUF_SET_MEM_TABLE, &t, sizeof(t), &fd, 1);
}

static int set_state(struct vdev_vu_front *f, uint32_t req, uint32_t idx, uint32_t num)
{
	uint32_t s[2] = {idx, num};

	return request(f, req, s, sizeof(s), NULL, 0);
}

static uint64_t uaddr(const struct vdev_vu_front *f, uint64_t gpa)
{
	return (uint64_t)(uintptr_t)(f->ram + (gpa - f->ram_base));
}

static int set_vring_fd(struct vdev_vu_front *f, uint32_t req, uint16_t q, int fd)
{
	uint64_t v = q;

	return request(f, req, &v, sizeof(v), &fd, 1);
}

static int start_ring(struct vdev_vu_front *f, uint16_t q, uint16_t size)
{
	struct vring_addr {
		uint32_t index, flags;
		uint64_t desc, used, avail, log;
	} a;
	struct vdrv_queue *vq;
	int rc;

	vq = vdrv_queue_prepare(f->drv, q, size, &rc);
	if (vq == NULL)
		return rc;
	f->kick_fd[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	f->call_fd[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (f->kick_fd[q] < 0 || f->call_fd[q] < 0)
		return -errno;
	a = (struct vring_addr){
		.index = q,
		.desc = uaddr(f, vq->desc_gpa),
		.used = uaddr(f, vq->used_gpa),
		.avail = uaddr(f, vq->avail_gpa),
	};
	if ((rc = set_state(f, VUF_SET_VRING_NUM, q, size)) < 0 ||
	    (rc = request(f, VUF_SET_VRING_ADDR, &a, sizeof(a), NULL, 0)) < 0 ||
	    (rc = set_state(f, VUF_SET_VRING_BASE, q, 0)) < 0 ||
	    (rc = set_vring_fd(f, VUF_SET_VRING_CALL, q, f->call_fd[q])) < 0 ||
	    (rc = set_vring_fd(f, VUF_SET_VRING_KICK, q, f->kick_fd[q])) < 0)
		return rc;
	/* Rings start disabled when protocol features are on (the spec's rule). */
	if (f->protocol && (rc = set_state(f, VUF_SET_VRING_ENABLE, q, 1)) < 0)
		return rc;
	vq->kick_fd = f->kick_fd[q];
	vq->ready = true;
	f->nqueues = (uint16_t)(q + 1);
	return 0;
}

VDEV_EXPORT int vdev_vu_front_start(struct vdev_vu_front *f, uint64_t wanted, uint16_t nqueues,
				    uint16_t qsize, uint64_t *accepted)
{
	uint64_t feat;
	int rc;

	if (f == NULL || f->drv != NULL || nqueues == 0 || nqueues > VDEV_VU_FRONT_MAX_QUEUES ||
	    qsize == 0 || (qsize & (qsize - 1)) != 0)
		return -EINVAL;
	if (f->queue_num != 0 && nqueues > f->queue_num)
		return -EINVAL;
	if (!(f->offered & VIRTIO_F_VERSION_1))
		return -EOPNOTSUPP; /* the rings here are the modern (little-endian) layout */
	feat = (wanted & f->offered) | VIRTIO_F_VERSION_1;
	f->drv = calloc(1, sizeof(*f->drv));
	if (f->drv == NULL)
		return -ENOMEM;
	f->drv->sim = f->sim;
	f->drv->access = VDEV_DRV_MODERN;
	f->drv->features = feat;
	for (int i = 0; i < VDRV_NREGIONS; i++)
		f->drv->region[i].bar = -1;
	rc = set_u64(f, VUF_SET_FEATURES, feat | (f->protocol ? VUF_F_PROTOCOL_FEATURES : 0));
	if (rc < 0)
		return rc;
	rc = send_mem_table(f);
	if (rc < 0)
		return rc;
	for (uint16_t q = 0; q < nqueues; q++) {
		rc = start_ring(f, q, qsize);
		if (rc < 0)
			return rc;
	}
	if (accepted)
		*accepted = feat;
	return 0;
}

VDEV_EXPORT struct vdev_drv *vdev_vu_front_drv(struct vdev_vu_front *f)
{
	return f ? f->drv : NULL;
}

VDEV_EXPORT int vdev_vu_front_call_fd(const struct vdev_vu_front *f, uint16_t q)
{
	return f && q < VDEV_VU_FRONT_MAX_QUEUES ? f->call_fd[q] : -1;
}

/* The back end hung up (or sent something unasked, which this front end never
 * expects: it gives no back-end channel). */
static bool peer_gone(struct vdev_vu_front *f, short revents)
{
	char c;

	if (revents & (POLLHUP | POLLERR))
		return true;
	return recv(f->sock, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

VDEV_EXPORT int vdev_vu_front_wait(struct vdev_vu_front *f, uint16_t q, int timeout_ms)
{
	struct pollfd p[2];
	uint64_t n;
	int rc;

	if (f == NULL || q >= f->nqueues || f->call_fd[q] < 0)
		return -EINVAL;
	p[0] = (struct pollfd){.fd = f->call_fd[q], .events = POLLIN};
	p[1] = (struct pollfd){.fd = f->sock, .events = POLLIN};
	do {
		rc = poll(p, 2, timeout_ms);
	} while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -errno;
	if (p[1].revents && peer_gone(f, p[1].revents))
		return -EPIPE;
	if (!(p[0].revents & POLLIN))
		return 0;
	(void)!read(f->call_fd[q], &n, sizeof(n));
	return 1;
}

/* ---------------- closing ---------------- */

VDEV_EXPORT void vdev_vu_front_close(struct vdev_vu_front *f)
{
	if (f == NULL)
		return;
	/* Stop the rings so the back end lets go of guest RAM before it goes away; a
	 * back end that no longer answers only shortens this. */
	for (uint16_t q = 0; q < f->nqueues && f->sock >= 0; q++) {
		uint32_t s[2] = {q, 0};

		if (send_msg(f, VUF_GET_VRING_BASE, 0, s, sizeof(s), NULL, 0) < 0 ||
		    recv_reply(f, VUF_GET_VRING_BASE, s, sizeof(s), sizeof(s), NULL) < 0)
			break;
	}
	if (f->sock >= 0)
		close(f->sock);
	for (int i = 0; i < VDEV_VU_FRONT_MAX_QUEUES; i++) {
		if (f->kick_fd[i] >= 0)
			close(f->kick_fd[i]);
		if (f->call_fd[i] >= 0)
			close(f->call_fd[i]);
	}
	if (f->drv != NULL) {
		vdrv_queues_free(f->drv);
		free(f->drv);
	}
	free(f);
}
