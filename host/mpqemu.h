/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The wire format of QEMU's multi-process protocol (x-pci-proxy-dev, QEMU 7.2), as
 * QEMU's hw/remote/mpqemu-link.c, proxy.c and message.c define it. Fields are in the
 * host's byte order and layout: both ends run on the same machine.
 *
 * A message is a 16-byte header (int32 cmd, 4 bytes padding, uint64 size) followed by
 * `size` bytes of payload; file descriptors ride as SCM_RIGHTS with the header. QEMU
 * waits for a RET reply (an 8-byte value) after every command except SYNC_SYSMEM and
 * SET_IRQFD.
 *
 * Everything read here comes from a peer and is bounded: no allocation, a fixed buffer
 * the size of the largest payload, at most MPQEMU_MAX_FDS descriptors, and exact
 * payload sizes per command.
 */
#ifndef VDEV_HOST_MPQEMU_H
#define VDEV_HOST_MPQEMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mpqemu_cmd {
	MPQEMU_CMD_SYNC_SYSMEM = 0,  /* guest RAM table; fds; no reply */
	MPQEMU_CMD_RET = 1,          /* reply: 8-byte value */
	MPQEMU_CMD_PCI_CFGWRITE = 2, /* reply 0, or all ones when refused */
	MPQEMU_CMD_PCI_CFGREAD = 3,  /* reply: the value */
	MPQEMU_CMD_BAR_WRITE = 4,    /* reply 0 */
	MPQEMU_CMD_BAR_READ = 5,     /* reply: the value */
	MPQEMU_CMD_SET_IRQFD = 6,    /* two eventfds (INTx, resample); no reply */
	MPQEMU_CMD_DEVICE_RESET = 7, /* reply 0 */
	MPQEMU_CMD_MAX = 8,
};

#define MPQEMU_MAX_FDS 8 /* QEMU's REMOTE_MAX_FDS */
#define MPQEMU_SYSMEM_REGIONS MPQEMU_MAX_FDS

struct mpqemu_hdr {
	int32_t cmd;
	uint32_t pad;
	uint64_t size;
};
_Static_assert(sizeof(struct mpqemu_hdr) == 16, "header is 16 bytes");

/* SyncSysmemMsg: one region per fd received; entries past the fd count are unused. */
struct mpqemu_sysmem {
	uint64_t gpa[MPQEMU_SYSMEM_REGIONS];
	uint64_t size[MPQEMU_SYSMEM_REGIONS];
	int64_t offset[MPQEMU_SYSMEM_REGIONS]; /* off_t */
};
_Static_assert(sizeof(struct mpqemu_sysmem) == 192, "SyncSysmemMsg is 192 bytes");

/* PciConfDataMsg */
struct mpqemu_cfg {
	uint32_t addr;
	uint32_t val;
	int32_t len;
};
_Static_assert(sizeof(struct mpqemu_cfg) == 12, "PciConfDataMsg is 12 bytes");

/* BarAccessMsg: addr is the absolute guest bus address (memory or I/O space). */
struct mpqemu_bar {
	uint64_t addr;
	uint64_t val;
	uint32_t size;
	uint8_t memory; /* C bool: 1 memory space, 0 I/O space */
	uint8_t pad[3];
};
_Static_assert(sizeof(struct mpqemu_bar) == 24, "BarAccessMsg is 24 bytes");
_Static_assert(offsetof(struct mpqemu_bar, memory) == 20, "BarAccessMsg.memory at 20");

/* The largest payload QEMU defines (the data union of MPQemuMsg). */
#define MPQEMU_MAX_PAYLOAD sizeof(struct mpqemu_sysmem)

/* A complete, validated message. It owns `fds` until mpqemu_msg_close_fds(). */
struct mpqemu_msg {
	int32_t cmd;
	uint64_t size;
	union {
		uint64_t u64;
		struct mpqemu_sysmem sysmem;
		struct mpqemu_cfg cfg;
		struct mpqemu_bar bar;
	} u;
	int fds[MPQEMU_MAX_FDS];
	int nfds;
};

/* Bytes of one message gathered so far from a non-blocking socket. */
struct mpqemu_reader {
	uint8_t buf[sizeof(struct mpqemu_hdr) + MPQEMU_MAX_PAYLOAD];
	size_t have;
	int fds[MPQEMU_MAX_FDS];
	int nfds;
};

void mpqemu_reader_init(struct mpqemu_reader *rd);
/* Drop a partial message, closing the descriptors it brought. */
void mpqemu_reader_reset(struct mpqemu_reader *rd);

/*
 * Read from `sock` until one message is complete. Returns 1 with *msg filled (it then
 * owns the descriptors), 0 when the socket has no more bytes yet (EAGAIN; the partial
 * message is kept in `rd`), or a negative errno when the connection must end: -EPIPE
 * for EOF (0 bytes at a message boundary: an orderly close; mid-message: truncated),
 * -EPROTO for a protocol violation (unknown command, a size that is not the command's,
 * too many descriptors, descriptors on a command that takes none or the wrong number),
 * or the recvmsg errno. On error `err` says why and every descriptor received is closed.
 */
int mpqemu_read(int sock, struct mpqemu_reader *rd, struct mpqemu_msg *msg, char *err,
		size_t errlen);

/* Close the descriptors a message still owns (and forget them). */
void mpqemu_msg_close_fds(struct mpqemu_msg *msg);

/* Whether QEMU waits for a RET after sending `cmd`. */
bool mpqemu_cmd_wants_reply(int32_t cmd);

/* The payload size a command must carry, or -1 for a command a server never receives. */
int mpqemu_cmd_payload_size(int32_t cmd);

const char *mpqemu_cmd_name(int32_t cmd);

/*
 * Send one message: header, payload, and `nfds` descriptors as SCM_RIGHTS. The socket
 * may be non-blocking; a peer that does not drain its replies gets -EAGAIN (the caller
 * ends the connection). Returns 0 or a negative errno. Never raises SIGPIPE.
 */
int mpqemu_send(int sock, int32_t cmd, const void *payload, uint64_t size, const int *fds,
		int nfds);

/* A RET reply with an 8-byte value. */
int mpqemu_send_ret(int sock, uint64_t val);

#endif /* VDEV_HOST_MPQEMU_H */
