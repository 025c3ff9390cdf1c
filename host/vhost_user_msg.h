/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vhost-user wire format (QEMU docs/interop/vhost-user.rst): a 12-byte header
 * (request, flags, size, all u32 in the host's byte order) followed by `size` bytes of
 * payload, with file descriptors riding as SCM_RIGHTS on the same stream. This file
 * only frames, bounds and decodes messages; what they mean is vhost_user.c's business.
 *
 * Everything here treats the peer as hostile: sizes are bounded before anything is
 * read, descriptors are counted and capped, and a message that does not fit is
 * reported, never guessed at.
 */
#ifndef VDEV_HOST_VHOST_USER_MSG_H
#define VDEV_HOST_VHOST_USER_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Front-end requests (the ids of the spec). */
enum vu_request {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_RESET_OWNER = 4,
	VU_SET_MEM_TABLE = 5,
	VU_SET_LOG_BASE = 6,
	VU_SET_LOG_FD = 7,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_SET_VRING_ERR = 14,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
	VU_SEND_RARP = 19,
	VU_NET_SET_MTU = 20,
	VU_SET_SLAVE_REQ_FD = 21,
	VU_IOTLB_MSG = 22,
	VU_SET_VRING_ENDIAN = 23,
	VU_GET_CONFIG = 24,
	VU_SET_CONFIG = 25,
	VU_GET_INFLIGHT_FD = 31,
	VU_SET_INFLIGHT_FD = 32,
	VU_RESET_DEVICE = 34,
	VU_VRING_KICK = 35,
	VU_GET_MAX_MEM_SLOTS = 36,
	VU_ADD_MEM_REG = 37,
	VU_REM_MEM_REG = 38,
	VU_SET_STATUS = 39,
	VU_GET_STATUS = 40,
};

/* Back-end requests, sent on the slave channel. */
#define VU_SLAVE_CONFIG_CHANGE_MSG 2

/* Header flags. */
#define VU_FLAG_VERSION_MASK 0x3u
#define VU_VERSION 0x1u
#define VU_FLAG_REPLY (1u << 2)
#define VU_FLAG_NEED_REPLY (1u << 3)

/* The virtio feature bit that announces protocol features (reserved bit 30). */
#define VU_F_PROTOCOL_FEATURES (1ULL << 30)

/* Protocol feature bits. */
#define VU_PROTOCOL_F_MQ 0
#define VU_PROTOCOL_F_LOG_SHMFD 1
#define VU_PROTOCOL_F_REPLY_ACK 3
#define VU_PROTOCOL_F_SLAVE_REQ 5
#define VU_PROTOCOL_F_CONFIG 9
#define VU_PROTOCOL_F_INFLIGHT_SHMFD 12
#define VU_PROTOCOL_F_RESET_DEVICE 13
#define VU_PROTOCOL_F_INBAND_NOTIFICATIONS 14
#define VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS 15

/* SET_VRING_KICK/CALL/ERR payload: ring index in bits 0-7, "no fd" in bit 8. */
#define VU_VRING_IDX_MASK 0xffu
#define VU_VRING_NOFD (1u << 8)

#define VU_HDR_SIZE 12
/* Regions of SET_MEM_TABLE (and fds per message): the spec's baseline. */
#define VU_MAX_TABLE_REGIONS 8
#define VU_MAX_FDS 8
#define VU_MAX_CONFIG_SIZE 256
#define VU_CONFIG_HDR_SIZE 12
/* The largest payload of any request this back end understands (GET/SET_CONFIG). */
#define VU_MAX_PAYLOAD (VU_CONFIG_HDR_SIZE + VU_MAX_CONFIG_SIZE)

struct vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
};
_Static_assert(sizeof(struct vu_hdr) == VU_HDR_SIZE, "vhost-user header");

struct vu_state { /* vring state description */
	uint32_t index;
	uint32_t num;
};
_Static_assert(sizeof(struct vu_state) == 8, "vring state");

struct vu_addr { /* vring address description; note used comes before avail */
	uint32_t index;
	uint32_t flags;
	uint64_t desc;
	uint64_t used;
	uint64_t avail;
	uint64_t log;
};
_Static_assert(sizeof(struct vu_addr) == 40, "vring address");

struct vu_region { /* one memory region */
	uint64_t gpa;
	uint64_t size;
	uint64_t uaddr;
	uint64_t mmap_offset;
};
_Static_assert(sizeof(struct vu_region) == 32, "memory region");

#define VU_MEM_TABLE_HDR_SIZE 8  /* nregions u32, padding u32 */
#define VU_MEM_REG_SIZE 40       /* padding u64, one region */

struct vu_config_hdr {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
};
_Static_assert(sizeof(struct vu_config_hdr) == VU_CONFIG_HDR_SIZE, "config header");

/* One received message and the descriptors that came with it. */
struct vu_msg {
	struct vu_hdr hdr;
	union {
		uint64_t align;
		uint8_t bytes[VU_MAX_PAYLOAD];
	} payload;
	int fds[VU_MAX_FDS];
	int nfds;
	bool fds_dropped; /* more descriptors came than fit: the extras were closed */
};

/* Reads one message at a time from a non-blocking stream socket. */
struct vu_reader {
	struct vu_msg msg;
	size_t got; /* bytes of header + payload received so far */
};

void vu_reader_init(struct vu_reader *rd);

/*
 * Read what is available of the current message. Returns 1 when rd->msg is complete
 * (the caller owns its fds; call vu_reader_init() before the next), 0 when more bytes
 * are needed, or a negative errno: -EPIPE (peer closed), -EMSGSIZE (size past
 * VU_MAX_PAYLOAD), -EPROTO (wrong version or a reply flag on a request), or a
 * recvmsg errno. On error `why` holds the reason and any fds received are closed.
 */
int vu_read(int sock, struct vu_reader *rd, char *why, size_t whylen);

/* Close every descriptor still held by msg (those set to -1 were taken). */
void vu_msg_close_fds(struct vu_msg *msg);

/*
 * Send one message (header + payload, plus fds) without blocking. Returns 0, or
 * -EAGAIN when the socket cannot take the whole message now (the peer is not
 * reading), or a negative errno.
 */
int vu_send(int sock, uint32_t request, uint32_t flags, const void *payload, uint32_t size,
	    const int *fds, int nfds);

/* Payload decoders: 0, or -EINVAL when the payload is not exactly that shape. */
int vu_get_u64(const struct vu_msg *msg, uint64_t *out);
int vu_get_state(const struct vu_msg *msg, struct vu_state *out);
int vu_get_addr(const struct vu_msg *msg, struct vu_addr *out);
/* SET_MEM_TABLE: at most VU_MAX_TABLE_REGIONS; returns the count or -EINVAL. */
int vu_get_mem_table(const struct vu_msg *msg, struct vu_region *out, int max);
/* ADD_MEM_REG / REM_MEM_REG */
int vu_get_mem_reg(const struct vu_msg *msg, struct vu_region *out);
/* GET_CONFIG / SET_CONFIG: header checked against the payload; *data points into msg. */
int vu_get_config(const struct vu_msg *msg, struct vu_config_hdr *out, const uint8_t **data);

/* "SET_MEM_TABLE", or "request 77" for an unknown id (buf receives it). */
const char *vu_request_name(uint32_t request, char *buf, size_t len);

#endif /* VDEV_HOST_VHOST_USER_MSG_H */
