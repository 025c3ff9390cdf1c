/* SPDX-License-Identifier: BSD-3-Clause */
#include "fake_front.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unix_fds.h"

/* --- the device behind the connection --- */

static int echo_create(void *arg, struct vmctx *ctx, struct virtio_base **base_out,
		       void **dev_out)
{
	struct fake_front *ff = arg;
	struct echo_dev_config cfg = {
		.pci = {.mode = VDEV_PCI_MODERN},
		.nvq = FF_NVQ,
		.qsize = 256,
		.use_mutex = true,
		.manual = ff->echo_manual,
	};
	int rc = echo_dev_create(ctx, "echo", &cfg, &ff->echo);

	if (rc < 0)
		return rc;
	*base_out = &ff->echo->base;
	*dev_out = ff->echo;
	return 0;
}

static void echo_destroy(void *arg, void *dev)
{
	struct fake_front *ff = arg;

	echo_dev_destroy(dev);
	ff->echo = NULL;
}

const struct vhost_user_dev_ops ff_echo_ops = {
	.create = echo_create,
	.destroy = echo_destroy,
};

static void ff_log(void *opaque, enum vdev_log_level level, const char *devname,
		   const char *msg)
{
	struct fake_front *ff = opaque;
	int n = snprintf(ff->log + ff->log_len, sizeof(ff->log) - ff->log_len, "%d %s: %s\n",
			 (int)level, devname, msg);

	if (n > 0 && ff->log_len + (size_t)n < sizeof(ff->log))
		ff->log_len += (size_t)n;
	ff->nlog++;
	if (level <= VDEV_LOG_WARN)
		ff->nwarn++;
	if (getenv("FF_VERBOSE"))
		fprintf(stderr, "[%d] %s: %s\n", (int)level, devname, msg);
}

bool ff_log_has(const struct fake_front *ff, const char *needle)
{
	return strstr(ff->log, needle) != NULL;
}

/* --- set-up --- */

static void open_common(struct fake_front *ff, int *backend_end)
{
	int sv[2];

	memset(ff, 0, sizeof(*ff));
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ff->sock = sv[0];
	*backend_end = sv[1];
	ff->memfd = memfd_create("ff-guest-ram", MFD_CLOEXEC);
	cr_assert_geq(ff->memfd, 0);
	cr_assert_eq(ftruncate(ff->memfd, FF_RAM_SIZE), 0);
	ff->ram = mmap(NULL, FF_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, ff->memfd, 0);
	cr_assert_neq(ff->ram, MAP_FAILED);
	for (int q = 0; q < FF_NVQ; q++) {
		ff->kick[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		ff->call[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		cr_assert(ff->kick[q] >= 0 && ff->call[q] >= 0);
	}
}

void ff_open(struct fake_front *ff)
{
	ff_open_echo(ff, false);
}

void ff_open_echo(struct fake_front *ff, bool manual)
{
	int fd;

	open_common(ff, &fd);
	ff->echo_manual = manual;
	ff->want_features = VIRTIO_F_VERSION_1 | ECHO_F_TEST;
	cr_assert_eq(vhost_user_conn_create_ops(fd, &ff_echo_ops, ff, ff_log, ff, &ff->conn), 0);
}

void ff_open_factory(struct fake_front *ff, vhost_user_factory_fn factory, void *arg)
{
	int fd;

	open_common(ff, &fd);
	ff->want_features = VIRTIO_F_VERSION_1;
	cr_assert_eq(vhost_user_conn_create(fd, factory, arg, ff_log, ff, &ff->conn), 0);
}

void ff_close(struct fake_front *ff)
{
	vhost_user_conn_destroy(ff->conn);
	ff->conn = NULL;
	for (int q = 0; q < FF_NVQ; q++) {
		close(ff->kick[q]);
		close(ff->call[q]);
	}
	munmap(ff->ram, FF_RAM_SIZE);
	close(ff->memfd);
	close(ff->sock);
}

/* --- messages --- */

void ff_send_raw(struct fake_front *ff, const void *buf, size_t len, const int *fds, int nfds)
{
	union {
		char b[UNIX_FDS_SPACE(16)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	cr_assert_leq(nfds, 16);
	/* The connectors' own helper: the fake sends descriptors as the host code does. */
	unix_fds_attach(&mh, ctl.b, sizeof(ctl.b), fds, nfds);
	cr_assert_eq(sendmsg(ff->sock, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

int ff_handle(struct fake_front *ff)
{
	cr_assert_not_null(ff->conn, "the connection already ended");
	ff->last_rc = vhost_user_conn_handle(ff->conn);
	return ff->last_rc;
}

int ff_send(struct fake_front *ff, uint32_t req, bool need_reply, const void *payload,
	    uint32_t size, const int *fds, int nfds)
{
	uint8_t buf[VU_HDR_SIZE + 4096];
	struct vu_hdr h = {.request = req,
			   .flags = VU_VERSION | (need_reply ? VU_FLAG_NEED_REPLY : 0),
			   .size = size};

	cr_assert_leq(size, 4096);
	memcpy(buf, &h, sizeof(h));
	if (size)
		memcpy(buf + VU_HDR_SIZE, payload, size);
	ff_send_raw(ff, buf, VU_HDR_SIZE + size, fds, nfds);
	return ff_handle(ff);
}

bool ff_no_reply(struct fake_front *ff)
{
	uint8_t b;

	return recv(ff->sock, &b, 1, MSG_DONTWAIT | MSG_PEEK) < 0 && errno == EAGAIN;
}

uint32_t ff_reply(struct fake_front *ff, uint32_t req, void *buf, uint32_t len)
{
	struct vu_hdr h;
	uint8_t body[VU_MAX_PAYLOAD];

	cr_assert_eq(recv(ff->sock, &h, sizeof(h), MSG_DONTWAIT), (ssize_t)sizeof(h),
		     "no reply waiting");
	cr_assert_eq(h.request, req, "reply to %u, expected %u", h.request, req);
	cr_assert_eq(h.flags, VU_VERSION | VU_FLAG_REPLY);
	cr_assert_leq(h.size, sizeof(body));
	if (h.size)
		cr_assert_eq(recv(ff->sock, body, h.size, MSG_DONTWAIT), (ssize_t)h.size);
	memcpy(buf, body, h.size < len ? h.size : len);
	return h.size;
}

uint64_t ff_reply_u64(struct fake_front *ff, uint32_t req)
{
	uint64_t v = 0;

	cr_assert_eq(ff_reply(ff, req, &v, sizeof(v)), sizeof(v));
	return v;
}

int ff_u64(struct fake_front *ff, uint32_t req, uint64_t v, bool need_reply)
{
	return ff_send(ff, req, need_reply, &v, sizeof(v), NULL, 0);
}

int ff_state(struct fake_front *ff, uint32_t req, uint32_t index, uint32_t num,
	     bool need_reply)
{
	struct vu_state s = {.index = index, .num = num};

	return ff_send(ff, req, need_reply, &s, sizeof(s), NULL, 0);
}

uint64_t ff_get_u64(struct fake_front *ff, uint32_t req)
{
	cr_assert_eq(ff_send(ff, req, false, NULL, 0, NULL, 0), 0);
	return ff_reply_u64(ff, req);
}

uint64_t ff_uaddr(uint32_t off)
{
	return FF_UADDR + off;
}

void ff_mem_table_default(struct fake_front *ff)
{
	uint8_t p[VU_MEM_TABLE_HDR_SIZE + sizeof(struct vu_region)] = {0};
	struct vu_region r = {.gpa = FF_GPA, .size = FF_RAM_SIZE, .uaddr = FF_UADDR,
			      .mmap_offset = 0};
	uint32_t n = 1;

	memcpy(p, &n, sizeof(n));
	memcpy(p + VU_MEM_TABLE_HDR_SIZE, &r, sizeof(r));
	cr_assert_eq(ff_send(ff, VU_SET_MEM_TABLE, true, p, sizeof(p), &ff->memfd, 1), 0);
	cr_assert_eq(ff_reply_u64(ff, VU_SET_MEM_TABLE), 0);
}

static int mem_reg(struct fake_front *ff, uint32_t req, uint64_t gpa, uint64_t size,
		   uint64_t uaddr, uint64_t offset, bool need_reply, int nfds)
{
	uint8_t p[VU_MEM_REG_SIZE] = {0};
	struct vu_region r = {.gpa = gpa, .size = size, .uaddr = uaddr, .mmap_offset = offset};

	memcpy(p + 8, &r, sizeof(r));
	return ff_send(ff, req, need_reply, p, sizeof(p), &ff->memfd, nfds);
}

int ff_add_region(struct fake_front *ff, uint64_t gpa, uint64_t size, uint64_t uaddr,
		  uint64_t offset, bool need_reply)
{
	return mem_reg(ff, VU_ADD_MEM_REG, gpa, size, uaddr, offset, need_reply, 1);
}

int ff_rem_region(struct fake_front *ff, uint64_t gpa, uint64_t size, uint64_t uaddr,
		  bool need_reply)
{
	return mem_reg(ff, VU_REM_MEM_REG, gpa, size, uaddr, 0, need_reply, 0);
}

void ff_negotiate(struct fake_front *ff, bool protocol)
{
	uint64_t offered = ff_get_u64(ff, VU_GET_FEATURES);
	uint64_t want = ff->want_features;

	cr_assert(offered & VU_F_PROTOCOL_FEATURES);
	cr_assert_eq(offered & want, want);
	cr_assert_eq(ff_send(ff, VU_SET_OWNER, false, NULL, 0, NULL, 0), 0);
	if (protocol) {
		uint64_t proto = ff_get_u64(ff, VU_GET_PROTOCOL_FEATURES);

		cr_assert_eq(ff_u64(ff, VU_SET_PROTOCOL_FEATURES, proto, false), 0);
		want |= VU_F_PROTOCOL_FEATURES;
	}
	cr_assert_eq(ff_u64(ff, VU_SET_FEATURES, want, true), 0);
	cr_assert_eq(ff_reply_u64(ff, VU_SET_FEATURES), 0);
}

static uint64_t ring_u64(uint32_t off)
{
	return ff_uaddr(off);
}

void ff_setup_ring(struct fake_front *ff, int q, uint16_t base, bool enable)
{
	struct vu_addr a = {.index = (uint32_t)q,
			    .desc = ring_u64(FF_DESC_OFF(q)),
			    .avail = ring_u64(FF_AVAIL_OFF(q)),
			    .used = ring_u64(FF_USED_OFF(q))};
	uint64_t idx = (uint64_t)q;

	cr_assert_eq(ff_send(ff, VU_SET_VRING_CALL, false, &idx, sizeof(idx), &ff->call[q], 1),
		     0);
	cr_assert_eq(ff_state(ff, VU_SET_VRING_NUM, (uint32_t)q, FF_QSIZE, false), 0);
	cr_assert_eq(ff_state(ff, VU_SET_VRING_BASE, (uint32_t)q, base, false), 0);
	cr_assert_eq(ff_send(ff, VU_SET_VRING_ADDR, true, &a, sizeof(a), NULL, 0), 0);
	cr_assert_eq(ff_reply_u64(ff, VU_SET_VRING_ADDR), 0);
	cr_assert_eq(ff_send(ff, VU_SET_VRING_KICK, true, &idx, sizeof(idx), &ff->kick[q], 1),
		     0);
	cr_assert_eq(ff_reply_u64(ff, VU_SET_VRING_KICK), 0);
	if (enable) {
		cr_assert_eq(ff_state(ff, VU_SET_VRING_ENABLE, (uint32_t)q, 1, true), 0);
		cr_assert_eq(ff_reply_u64(ff, VU_SET_VRING_ENABLE), 0);
	}
	ff->ring[q].avail_idx = base;
	ff->ring[q].used_seen = base;
}

/* --- the driver side of a split ring, in the front end's mapping --- */

struct ff_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

static uint8_t *at(struct fake_front *ff, uint32_t off)
{
	cr_assert_lt(off, FF_RAM_SIZE);
	return ff->ram + off;
}

static uint32_t buf_off(int q, uint16_t head)
{
	return FF_BUF_OFF + 0x20000u * (unsigned)q + 0x1000u * head;
}

uint16_t ff_post(struct fake_front *ff, int q, const void *in, uint32_t in_len,
		 uint32_t out_len)
{
	struct ff_ring *r = &ff->ring[q];
	uint16_t head = r->next_desc % FF_QSIZE, second = (uint16_t)((head + 1) % FF_QSIZE);
	uint32_t boff = buf_off(q, head);
	struct ff_desc d[2] = {
		{FF_GPA + boff, in_len, 1 /* NEXT */, second},
		{FF_GPA + boff + 0x800, out_len, 2 /* WRITE */, 0},
	};
	uint16_t idx;

	cr_assert_leq(in_len, 0x800);
	cr_assert_leq(out_len, 0x800);
	memset(at(ff, boff + 0x800), 0, out_len);
	if (in_len > 0) {
		memcpy(at(ff, boff), in, in_len);
		memcpy(at(ff, FF_DESC_OFF(q) + 16u * head), &d[0], 16);
		memcpy(at(ff, FF_DESC_OFF(q) + 16u * second), &d[1], 16);
	} else {
		/* Nothing to read: one device-writable descriptor, as an rng driver posts. */
		memcpy(at(ff, FF_DESC_OFF(q) + 16u * head), &d[1], 16);
	}
	memcpy(at(ff, FF_AVAIL_OFF(q) + 4u + 2u * (r->avail_idx % FF_QSIZE)), &head, 2);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	r->avail_idx++;
	idx = r->avail_idx;
	memcpy(at(ff, FF_AVAIL_OFF(q) + 2u), &idx, 2);
	r->next_desc = (uint16_t)((r->next_desc + 2) % FF_QSIZE);
	return head;
}

const uint8_t *ff_out_buf(struct fake_front *ff, int q, uint16_t head)
{
	return at(ff, buf_off(q, head) + 0x800);
}

void ff_kick(struct fake_front *ff, int q)
{
	uint64_t one = 1;

	cr_assert_eq(write(ff->kick[q], &one, sizeof(one)), (ssize_t)sizeof(one));
}

void ff_pump(struct fake_front *ff)
{
	for (int round = 0; round < 64; round++) {
		struct vdev_pollfd vfds[32];
		struct pollfd pfds[32];
		int n = vhost_user_conn_pollfds(ff->conn, vfds, 32), ready;

		cr_assert_geq(n, 1);
		for (int i = 0; i < n; i++)
			pfds[i] = (struct pollfd){.fd = vfds[i].fd,
						  .events = (short)((vfds[i].events & VDEV_POLL_IN
									 ? POLLIN : 0) |
								(vfds[i].events & VDEV_POLL_OUT
									 ? POLLOUT : 0))};
		ready = poll(pfds, (nfds_t)n, 0);
		cr_assert_geq(ready, 0);
		if (ready == 0)
			return;
		for (int i = 0; i < n; i++)
			if (pfds[i].revents) {
				ff->last_rc = vhost_user_conn_dispatch(ff->conn, pfds[i].fd);
				if (ff->last_rc < 0)
					return;
			}
	}
	cr_assert_fail("the connection stays busy");
}

uint64_t ff_call_take(struct fake_front *ff, int q)
{
	uint64_t v = 0;

	if (read(ff->call[q], &v, sizeof(v)) != (ssize_t)sizeof(v))
		return 0;
	return v;
}

int ff_used(struct fake_front *ff, int q, uint32_t *id, uint32_t *len)
{
	struct ff_ring *r = &ff->ring[q];
	uint16_t idx;
	uint32_t e[2];

	memcpy(&idx, at(ff, FF_USED_OFF(q) + 2u), 2);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (idx == r->used_seen)
		return 0;
	memcpy(e, at(ff, FF_USED_OFF(q) + 4u + 8u * (r->used_seen % FF_QSIZE)), 8);
	*id = e[0];
	*len = e[1];
	r->used_seen++;
	return 1;
}

void ff_round_trip(struct fake_front *ff, int q, uint8_t fill)
{
	uint8_t in[64];
	uint32_t id, len;
	uint16_t head;

	memset(in, fill, sizeof(in));
	head = ff_post(ff, q, in, sizeof(in), sizeof(in));
	ff_kick(ff, q);
	ff_pump(ff);
	cr_assert_eq(ff->last_rc, 0);
	cr_assert_geq(ff_call_take(ff, q), 1, "ring %d: no call after a request", q);
	cr_assert_eq(ff_used(ff, q, &id, &len), 1, "ring %d: nothing in the used ring", q);
	cr_assert_eq(id, head);
	cr_assert_eq(len, sizeof(in));
	cr_assert_eq(memcmp(ff_out_buf(ff, q, head), in, sizeof(in)), 0,
		     "the echo differs");
}
