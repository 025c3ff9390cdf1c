/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A fake vhost-user front end for the connector's tests: the front end's end of a
 * socketpair, guest RAM in a memfd that it maps itself (as QEMU does), kick and call
 * eventfds per ring, and a split-ring driver writing descriptors straight into that
 * RAM. The back end (a vhost_user_conn serving the echo device) runs on the same
 * thread: each request is written, the connection handles it, the reply is read back.
 *
 * Guest RAM: FF_RAM_SIZE bytes of one memfd, at guest-physical FF_GPA, which the
 * front end claims to have at user address FF_UADDR (deliberately different from
 * both the gpa and the real mapping, so every translation is exercised).
 */
#ifndef VDEV_TESTS_FAKE_FRONT_H
#define VDEV_TESTS_FAKE_FRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "echo_dev.h"
#include "fixture.h"
#include "vhost_user.h"
#include "vhost_user_msg.h"

#define FF_RAM_SIZE (1u << 20)
#define FF_GPA 0x100000ull
#define FF_UADDR 0x7f1200000000ull
#define FF_QSIZE 16
#define FF_NVQ 2
#define FF_LOG_SIZE 16384

/* Ring layout of queue q inside guest RAM (offsets from FF_GPA). */
#define FF_RING_OFF(q) (0x1000u * 4 * (unsigned)(q))
#define FF_DESC_OFF(q) (FF_RING_OFF(q))
#define FF_AVAIL_OFF(q) (FF_RING_OFF(q) + 0x1000u)
#define FF_USED_OFF(q) (FF_RING_OFF(q) + 0x2000u)
#define FF_BUF_OFF 0x40000u

struct ff_ring {
	uint16_t avail_idx;  /* next avail index the driver publishes */
	uint16_t used_seen;  /* used entries consumed */
	uint16_t next_desc;
};

struct fake_front {
	int sock;
	int memfd;
	uint8_t *ram; /* the front end's own mapping of guest RAM */
	int kick[FF_NVQ];
	int call[FF_NVQ];
	struct ff_ring ring[FF_NVQ];
	struct vhost_user_conn *conn; /* NULL once the connection ended */
	int last_rc;                  /* last vhost_user_conn_handle() result */
	struct echo_dev *echo;
	bool echo_manual;
	uint64_t want_features; /* what ff_negotiate() accepts */
	char log[FF_LOG_SIZE];
	size_t log_len;
	int nlog;
	int nwarn; /* lines at VDEV_LOG_WARN or worse */
};

extern const struct vhost_user_dev_ops ff_echo_ops;

/* Socketpair, memfd, eventfds, and a connection serving a 2-queue echo device. */
void ff_open(struct fake_front *ff);
/* The same; a `manual` echo device counts kicks and leaves chains to the test. */
void ff_open_echo(struct fake_front *ff, bool manual);
/* The same with a struct vdev_dev device from `factory` (ff->echo stays NULL). */
void ff_open_factory(struct fake_front *ff, vhost_user_factory_fn factory, void *arg);
void ff_close(struct fake_front *ff);

/* Send one message from the front end's end (need_reply sets the flag), then let the
 * connection handle it; the result is in ff->last_rc and returned. */
int ff_send(struct fake_front *ff, uint32_t req, bool need_reply, const void *payload,
	    uint32_t size, const int *fds, int nfds);
void ff_send_raw(struct fake_front *ff, const void *buf, size_t len, const int *fds, int nfds);
int ff_handle(struct fake_front *ff);

/* Read one reply for `req`; its payload goes to buf (up to len). Returns the payload
 * size; the test fails when no reply is waiting or it is for another request. */
uint32_t ff_reply(struct fake_front *ff, uint32_t req, void *buf, uint32_t len);
uint64_t ff_reply_u64(struct fake_front *ff, uint32_t req);
bool ff_no_reply(struct fake_front *ff);

/* Requests with a u64, a state, or nothing; need_reply = false unless said. */
int ff_u64(struct fake_front *ff, uint32_t req, uint64_t v, bool need_reply);
int ff_state(struct fake_front *ff, uint32_t req, uint32_t index, uint32_t num,
	     bool need_reply);
uint64_t ff_get_u64(struct fake_front *ff, uint32_t req);

/* The whole memfd as one region (SET_MEM_TABLE). */
void ff_mem_table_default(struct fake_front *ff);
/* One region by ADD_MEM_REG / REM_MEM_REG (offset into the memfd). */
int ff_add_region(struct fake_front *ff, uint64_t gpa, uint64_t size, uint64_t uaddr,
		  uint64_t offset, bool need_reply);
int ff_rem_region(struct fake_front *ff, uint64_t gpa, uint64_t size, uint64_t uaddr,
		  bool need_reply);

/* GET/SET_FEATURES: ff->want_features (VERSION_1, and ECHO_F_TEST for the echo
 * device), plus the protocol-features bit when
 * `protocol`, then SET_PROTOCOL_FEATURES with everything offered. */
void ff_negotiate(struct fake_front *ff, bool protocol);
/* SET_VRING_CALL, NUM, BASE, ADDR (rings at FF_*_OFF(q)), KICK; and ENABLE when
 * `enable`. Resets the driver's view of the ring to `base`. */
void ff_setup_ring(struct fake_front *ff, int q, uint16_t base, bool enable);
/* The user address the front end gives for guest-RAM offset `off`. */
uint64_t ff_uaddr(uint32_t off);

/* Put a two-descriptor chain (readable `in` bytes, writable `out_len`; only the
 * writable one when in_len is 0) on ring q and publish it; returns the head. Buffers
 * live at FF_BUF_OFF + 0x20000 * q + 0x1000 * head. */
uint16_t ff_post(struct fake_front *ff, int q, const void *in, uint32_t in_len,
		 uint32_t out_len);
void ff_kick(struct fake_front *ff, int q);
/* Run the connection's descriptors as an event loop would, until nothing is ready. */
void ff_pump(struct fake_front *ff);
/* Pending count of ring q's call eventfd (0 when none); clears it. */
uint64_t ff_call_take(struct fake_front *ff, int q);
/* Next used entry of ring q: 1 with id/len, or 0 when none is waiting. */
int ff_used(struct fake_front *ff, int q, uint32_t *id, uint32_t *len);
/* The writable buffer of a chain posted with ff_post() on ring q. */
const uint8_t *ff_out_buf(struct fake_front *ff, int q, uint16_t head);
/* Post, kick, pump, and check the echo came back with a call. */
void ff_round_trip(struct fake_front *ff, int q, uint8_t fill);

bool ff_log_has(const struct fake_front *ff, const char *needle);

#endif
