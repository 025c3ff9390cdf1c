/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A hostile front end. Each case must be refused cleanly with a log line: an error
 * reply when one was asked for, the connection closed only when the stream itself
 * cannot be trusted, no descriptor leaked, no crash (run under ASan and UBSan).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_front.h"

static void ready(struct fake_front *ff)
{
	ff_open(ff);
	ff_negotiate(ff, true);
	ff_mem_table_default(ff);
}

/* The connection still answers after a refusal. */
static void still_serves(struct fake_front *ff)
{
	cr_assert(ff_get_u64(ff, VU_GET_FEATURES) & VU_F_PROTOCOL_FEATURES);
}

Test(vhost_user_hostile, oversized_payload_closes)
{
	struct fake_front ff;
	struct vu_hdr h = {.request = VU_SET_MEM_TABLE, .flags = VU_VERSION, .size = 1u << 30};

	ff_open(&ff);
	ff_send_raw(&ff, &h, sizeof(h), NULL, 0);
	cr_assert_eq(ff_handle(&ff), -EMSGSIZE);
	cr_assert(ff_log_has(&ff, "at most"), "log:\n%s", ff.log);
	ff_close(&ff);
}

Test(vhost_user_hostile, oversized_payload_with_fds_leaks_nothing)
{
	int before = fx_count_fds();
	struct fake_front ff;
	struct vu_hdr h = {.request = 77, .flags = VU_VERSION, .size = 100000};
	int efd = eventfd(0, EFD_CLOEXEC);
	int fds[3] = {efd, efd, efd};

	ff_open(&ff);
	ff_send_raw(&ff, &h, sizeof(h), fds, 3);
	cr_assert_eq(ff_handle(&ff), -EMSGSIZE);
	close(efd);
	ff_close(&ff);
	cr_assert_eq(fx_count_fds(), before);
}

Test(vhost_user_hostile, unknown_request_with_need_reply_gets_an_error)
{
	struct fake_front ff;
	uint64_t junk = 42;

	ff_open(&ff);
	cr_assert_eq(ff_send(&ff, 200, true, &junk, sizeof(junk), NULL, 0), 0);
	cr_assert_neq(ff_reply_u64(&ff, 200), 0);
	cr_assert(ff_log_has(&ff, "request 200 is not implemented"), "log:\n%s", ff.log);
	/* Known to the spec but not offered here: the same. */
	cr_assert_eq(ff_send(&ff, VU_GET_INFLIGHT_FD, true, NULL, 0, NULL, 0), 0);
	cr_assert_neq(ff_reply_u64(&ff, VU_GET_INFLIGHT_FD), 0);
	/* Without NEED_REPLY: logged and ignored. */
	cr_assert_eq(ff_send(&ff, 201, false, NULL, 0, NULL, 0), 0);
	cr_assert(ff_no_reply(&ff));
	still_serves(&ff);
	ff_close(&ff);
}

Test(vhost_user_hostile, bad_version_and_reply_flag_close)
{
	struct fake_front ff;
	struct vu_hdr h = {.request = VU_GET_FEATURES, .flags = 2, .size = 0};

	ff_open(&ff);
	ff_send_raw(&ff, &h, sizeof(h), NULL, 0);
	cr_assert_eq(ff_handle(&ff), -EPROTO);
	cr_assert(ff_log_has(&ff, "protocol version"));
	ff_close(&ff);

	ff_open(&ff);
	h.flags = VU_VERSION | VU_FLAG_REPLY;
	ff_send_raw(&ff, &h, sizeof(h), NULL, 0);
	cr_assert_eq(ff_handle(&ff), -EPROTO);
	cr_assert(ff_log_has(&ff, "reply flag"));
	ff_close(&ff);
}

Test(vhost_user_hostile, malformed_payload_closes)
{
	struct fake_front ff;
	uint32_t short_state = 0;

	ff_open(&ff);
	cr_assert_eq(ff_send(&ff, VU_SET_VRING_NUM, false, &short_state, 4, NULL, 0), -EPROTO);
	cr_assert(ff_log_has(&ff, "malformed SET_VRING_NUM"));
	ff_close(&ff);
}

Test(vhost_user_hostile, eof_mid_message)
{
	struct fake_front ff;
	struct vu_hdr h = {.request = VU_SET_FEATURES, .flags = VU_VERSION, .size = 8};

	ff_open(&ff);
	ff_send_raw(&ff, &h, sizeof(h), NULL, 0);
	cr_assert_eq(ff_handle(&ff), 0, "waits for the payload");
	shutdown(ff.sock, SHUT_WR);
	cr_assert_eq(ff_handle(&ff), -EPIPE);
	cr_assert(ff_log_has(&ff, "mid-message"));
	ff_close(&ff);
}

Test(vhost_user_hostile, ring_addresses_outside_every_region)
{
	struct fake_front ff;
	struct vhost_user_conn_stats st;
	struct vu_addr a = {.index = 0, .desc = 0x1000, .avail = ff_uaddr(FF_AVAIL_OFF(0)),
			    .used = ff_uaddr(FF_USED_OFF(0))};
	uint64_t idx = 0;

	ready(&ff);
	cr_assert_eq(ff_state(&ff, VU_SET_VRING_NUM, 0, FF_QSIZE, false), 0);
	cr_assert_eq(ff_send(&ff, VU_SET_VRING_ADDR, true, &a, sizeof(a), NULL, 0), 0);
	cr_assert_neq(ff_reply_u64(&ff, VU_SET_VRING_ADDR), 0);
	cr_assert(ff_log_has(&ff, "in no memory region"), "log:\n%s", ff.log);
	/* The ring cannot start with it. */
	cr_assert_eq(ff_send(&ff, VU_SET_VRING_KICK, true, &idx, sizeof(idx), &ff.kick[0], 1),
		     0);
	cr_assert_eq(ff_state(&ff, VU_SET_VRING_ENABLE, 0, 1, true), 0);
	(void)ff_reply_u64(&ff, VU_SET_VRING_KICK);
	cr_assert_neq(ff_reply_u64(&ff, VU_SET_VRING_ENABLE), 0);
	/* A used ring that straddles the end of guest RAM is caught by the device. */
	a.desc = ff_uaddr(FF_DESC_OFF(0));
	a.used = ff_uaddr(FF_RAM_SIZE - 8);
	cr_assert_eq(ff_send(&ff, VU_SET_VRING_ADDR, false, &a, sizeof(a), NULL, 0), 0);
	cr_assert_eq(ff_state(&ff, VU_SET_VRING_ENABLE, 0, 1, true), 0);
	cr_assert_neq(ff_reply_u64(&ff, VU_SET_VRING_ENABLE), 0);
	vhost_user_conn_get_stats(ff.conn, &st);
	cr_assert_eq(st.ring_starts, 0);
	ff_kick(&ff, 0);
	ff_pump(&ff);
	cr_assert_eq(ff.last_rc, 0);
	cr_assert_eq(ff.echo->echoed, 0);
	still_serves(&ff);
	ff_close(&ff);
}

Test(vhost_user_hostile, ring_index_out_of_range)
{
	struct fake_front ff;
	uint64_t idx = 7;
	struct vu_state s = {.index = 1000, .num = 0};

	ready(&ff);
	cr_assert_eq(ff_state(&ff, VU_SET_VRING_NUM, 255, 16, true), 0);
	cr_assert_neq(ff_reply_u64(&ff, VU_SET_VRING_NUM), 0);
	cr_assert_eq(ff_send(&ff, VU_SET_VRING_CALL, true, &idx, sizeof(idx), &ff.call[0], 1),
		     0);
	cr_assert_neq(ff_reply_u64(&ff, VU_SET_VRING_CALL), 0);
	cr_assert(ff_log_has(&ff, "the device has 2"));
	still_serves(&ff);
	/* GET_VRING_BASE owes a reply it cannot give: the connection closes. */
	cr_assert_eq(ff_send(&ff, VU_GET_VRING_BASE, false, &s, sizeof(s), NULL, 0), -EPROTO);
	ff_close(&ff);
}

Test(vhost_user_hostile, too_many_fds)
{
	int before = fx_count_fds();
	struct fake_front ff;
	uint64_t idx = 0;
	int efd[12];

	for (int i = 0; i < 12; i++)
		efd[i] = eventfd(0, EFD_CLOEXEC);
	ready(&ff);
	/* Two where one belongs. */
	cr_assert_eq(ff_send(&ff, VU_SET_VRING_KICK, true, &idx, sizeof(idx), efd, 2), 0);
	cr_assert_neq(ff_reply_u64(&ff, VU_SET_VRING_KICK), 0);
	/* More than any message may carry: the kernel truncates, the message is refused. */
	cr_assert_eq(ff_send(&ff, VU_SET_VRING_CALL, true, &idx, sizeof(idx), efd, 12), 0);
	cr_assert_neq(ff_reply_u64(&ff, VU_SET_VRING_CALL), 0);
	cr_assert(ff_log_has(&ff, "more than 8"), "log:\n%s", ff.log);
	/* Descriptors on a request that takes none. */
	cr_assert_eq(ff_state(&ff, VU_SET_VRING_NUM, 0, 16, true), 0);
	cr_assert_eq(ff_reply_u64(&ff, VU_SET_VRING_NUM), 0);
	{
		struct vu_state s = {.index = 0, .num = 16};
		cr_assert_eq(ff_send(&ff, VU_SET_VRING_NUM, true, &s, sizeof(s), efd, 3), 0);
		cr_assert_neq(ff_reply_u64(&ff, VU_SET_VRING_NUM), 0);
		cr_assert(ff_log_has(&ff, "unexpected descriptors"));
	}
	/* ...and on one that owes a reply: nothing can be said in band, so it closes. */
	cr_assert_eq(ff_send(&ff, VU_GET_FEATURES, false, NULL, 0, efd, 1), -EPROTO);
	ff_close(&ff);
	for (int i = 0; i < 12; i++)
		close(efd[i]);
	cr_assert_eq(fx_count_fds(), before, "every descriptor received was closed");
}

Test(vhost_user_hostile, kick_without_fd_and_call_fd_count_mismatch)
{
	struct fake_front ff;
	uint64_t v = VU_VRING_NOFD;

	ready(&ff);
	cr_assert_eq(ff_send(&ff, VU_SET_VRING_KICK, true, &v, sizeof(v), NULL, 0), 0);
	cr_assert_neq(ff_reply_u64(&ff, VU_SET_VRING_KICK), 0);
	cr_assert(ff_log_has(&ff, "polling is not supported"));
	/* NOFD with a descriptor anyway. */
	cr_assert_eq(ff_send(&ff, VU_SET_VRING_CALL, true, &v, sizeof(v), &ff.call[0], 1), 0);
	cr_assert_neq(ff_reply_u64(&ff, VU_SET_VRING_CALL), 0);
	/* NOFD call: polling on the front end's side is fine. */
	cr_assert_eq(ff_send(&ff, VU_SET_VRING_CALL, true, &v, sizeof(v), NULL, 0), 0);
	cr_assert_eq(ff_reply_u64(&ff, VU_SET_VRING_CALL), 0);
	ff_close(&ff);
}

static void mem_table(struct fake_front *ff, uint32_t n, const struct vu_region *r, int nfds,
		      uint64_t expect_nonzero)
{
	uint8_t p[VU_MEM_TABLE_HDR_SIZE + 8 * sizeof(struct vu_region)] = {0};
	int fds[8];

	for (int i = 0; i < 8; i++)
		fds[i] = ff->memfd;
	memcpy(p, &n, sizeof(n));
	memcpy(p + VU_MEM_TABLE_HDR_SIZE, r, n * sizeof(*r));
	cr_assert_eq(ff_send(ff, VU_SET_MEM_TABLE, true, p,
			     VU_MEM_TABLE_HDR_SIZE + n * (uint32_t)sizeof(*r), fds, nfds), 0);
	if (expect_nonzero)
		cr_assert_neq(ff_reply_u64(ff, VU_SET_MEM_TABLE), 0);
	else
		cr_assert_eq(ff_reply_u64(ff, VU_SET_MEM_TABLE), 0);
}

Test(vhost_user_hostile, bad_memory_tables_are_refused_and_the_old_one_stays)
{
	int before = fx_count_fds();
	struct fake_front ff;
	struct vu_region overlap[2] = {
		{.gpa = 0, .size = 0x10000, .uaddr = 0x10000000, .mmap_offset = 0},
		{.gpa = 0x8000, .size = 0x10000, .uaddr = 0x20000000, .mmap_offset = 0},
	};
	struct vu_region past_end = {.gpa = 0, .size = FF_RAM_SIZE, .uaddr = 0x1000,
				     .mmap_offset = 0x1000};
	struct vu_region wraps = {.gpa = ~0ull - 0xfff, .size = 0x2000, .uaddr = 0x1000};
	uint8_t p[VU_MEM_TABLE_HDR_SIZE];
	uint32_t nine = 9;

	ready(&ff);
	ff_setup_ring(&ff, 0, 0, true);
	mem_table(&ff, 2, overlap, 2, 1);
	cr_assert(ff_log_has(&ff, "overlap"), "log:\n%s", ff.log);
	mem_table(&ff, 1, &past_end, 1, 1);
	cr_assert(ff_log_has(&ff, "past the end"));
	mem_table(&ff, 1, &wraps, 1, 1);
	mem_table(&ff, 2, overlap, 1, 1); /* fewer descriptors than regions */
	cr_assert(ff_log_has(&ff, "2 regions but 1 descriptors"));
	/* The table in force still serves the ring. */
	ff_round_trip(&ff, 0, 0x77);
	/* More regions than the message may hold: malformed, closed. */
	memcpy(p, &nine, 4);
	memset(p + 4, 0, 4);
	cr_assert_eq(ff_send(&ff, VU_SET_MEM_TABLE, false, p, sizeof(p), NULL, 0), -EPROTO);
	ff_close(&ff);
	cr_assert_eq(fx_count_fds(), before);
}

Test(vhost_user_hostile, memory_pulled_from_under_a_running_ring)
{
	struct fake_front ff;
	struct vhost_user_conn_stats st;

	ff_open(&ff);
	ff_negotiate(&ff, true);
	cr_assert_eq(ff_add_region(&ff, FF_GPA, FF_RAM_SIZE, FF_UADDR, 0, false), 0);
	ff_setup_ring(&ff, 0, 0, true);
	ff_round_trip(&ff, 0, 1);
	/* The only region goes: the ring must stop before anything touches it. */
	cr_assert_eq(ff_rem_region(&ff, FF_GPA, FF_RAM_SIZE, FF_UADDR, true), 0);
	cr_assert_eq(ff_reply_u64(&ff, VU_REM_MEM_REG), 0);
	cr_assert(ff_log_has(&ff, "memory table change moved"), "log:\n%s", ff.log);
	vhost_user_conn_get_stats(ff.conn, &st);
	cr_assert_eq(st.ring_stops, 1);
	ff_post(&ff, 0, "zz", 2, 2);
	ff_kick(&ff, 0);
	ff_pump(&ff);
	cr_assert_eq(ff.echo->echoed, 1);
	/* It comes back: the ring resumes where it stopped and serves the chain. */
	cr_assert_eq(ff_add_region(&ff, FF_GPA, FF_RAM_SIZE, FF_UADDR, 0, true), 0);
	cr_assert_eq(ff_reply_u64(&ff, VU_ADD_MEM_REG), 0);
	cr_assert_eq(ff.echo->echoed, 2);
	ff_close(&ff);
}

Test(vhost_user_hostile, geometry_changes_while_running_are_refused)
{
	struct fake_front ff;
	struct vu_addr a = {.index = 0, .desc = ff_uaddr(0x100000 - 0x1000)};

	ready(&ff);
	ff_setup_ring(&ff, 0, 0, true);
	cr_assert_eq(ff_state(&ff, VU_SET_VRING_NUM, 0, 8, true), 0);
	cr_assert_neq(ff_reply_u64(&ff, VU_SET_VRING_NUM), 0);
	cr_assert_eq(ff_state(&ff, VU_SET_VRING_BASE, 0, 3, true), 0);
	cr_assert_neq(ff_reply_u64(&ff, VU_SET_VRING_BASE), 0);
	cr_assert_eq(ff_send(&ff, VU_SET_VRING_ADDR, true, &a, sizeof(a), NULL, 0), 0);
	cr_assert_neq(ff_reply_u64(&ff, VU_SET_VRING_ADDR), 0);
	cr_assert_eq(ff_u64(&ff, VU_SET_FEATURES, VIRTIO_F_VERSION_1, true), 0);
	cr_assert_neq(ff_reply_u64(&ff, VU_SET_FEATURES), 0, "other features while running");
	ff_round_trip(&ff, 0, 0x31);
	ff_close(&ff);
}

Test(vhost_user_hostile, unoffered_features_are_refused)
{
	struct fake_front ff;

	ff_open(&ff);
	cr_assert_eq(ff_u64(&ff, VU_SET_FEATURES, VIRTIO_F_VERSION_1 | (1ULL << 55), true), 0);
	cr_assert_neq(ff_reply_u64(&ff, VU_SET_FEATURES), 0);
	cr_assert_eq(ff_u64(&ff, VU_SET_PROTOCOL_FEATURES, 1ULL << 12, true), 0);
	cr_assert_neq(ff_reply_u64(&ff, VU_SET_PROTOCOL_FEATURES), 0);
	/* A ring kicked before any features cannot start. */
	ff_mem_table_default(&ff);
	{
		uint64_t idx = 0;
		cr_assert_eq(ff_state(&ff, VU_SET_VRING_NUM, 0, 16, false), 0);
		cr_assert_eq(ff_send(&ff, VU_SET_VRING_KICK, true, &idx, sizeof(idx),
				     &ff.kick[0], 1), 0);
		cr_assert_neq(ff_reply_u64(&ff, VU_SET_VRING_KICK), 0);
		cr_assert(ff_log_has(&ff, "before its features"), "log:\n%s", ff.log);
	}
	ff_close(&ff);
}

Test(vhost_user_hostile, bad_config_requests)
{
	struct fake_front ff;
	uint8_t p[VU_CONFIG_HDR_SIZE + 8] = {0};
	struct vu_config_hdr h = {.offset = 0xfffffff0u, .size = 8};

	ff_open(&ff);
	memcpy(p, &h, sizeof(h));
	cr_assert_eq(ff_send(&ff, VU_GET_CONFIG, false, p, sizeof(p), NULL, 0), 0);
	cr_assert_eq(ff_reply(&ff, VU_GET_CONFIG, p, sizeof(p)), 0, "empty payload: error");
	/* The header's size disagrees with the message's. */
	h.offset = 0;
	h.size = 200;
	memcpy(p, &h, sizeof(h));
	cr_assert_eq(ff_send(&ff, VU_GET_CONFIG, false, p, sizeof(p), NULL, 0), -EPROTO);
	ff_close(&ff);
}

/* A front end that never reads its replies cannot block the back end's loop. */
Test(vhost_user_hostile, front_end_that_does_not_read_replies)
{
	struct fake_front ff;
	struct vu_hdr h = {.request = VU_GET_FEATURES, .flags = VU_VERSION, .size = 0};
	int rc = 0, fl;

	ff_open(&ff);
	fl = fcntl(ff.sock, F_GETFL);
	cr_assert_eq(fcntl(ff.sock, F_SETFL, fl | O_NONBLOCK), 0);
	for (int i = 0; i < 200000 && rc == 0; i++) {
		while (send(ff.sock, &h, sizeof(h), MSG_DONTWAIT | MSG_NOSIGNAL) ==
		       (ssize_t)sizeof(h))
			;
		rc = vhost_user_conn_handle(ff.conn);
	}
	cr_assert_eq(rc, -EAGAIN);
	cr_assert(ff_log_has(&ff, "does not read its replies"));
	ff_close(&ff);
}

/* A flood of refusals is counted, and logged only sparsely. */
Test(vhost_user_hostile, refusal_logging_is_bounded)
{
	struct fake_front ff;
	struct vhost_user_conn_stats st;

	ff_open(&ff);
	for (int i = 0; i < 3000; i++) {
		cr_assert_eq(ff_send(&ff, 250, false, NULL, 0, NULL, 0), 0);
	}
	vhost_user_conn_get_stats(ff.conn, &st);
	cr_assert_eq(st.unknown, 3000);
	cr_assert_lt(ff.nwarn, 40, "%d warnings", ff.nwarn);
	ff_close(&ff);
}

/* RAM taken away while the device holds a request (a backend thread could be copying
 * into it): the device is reset before the memory goes, never written through after. */
Test(vhost_user_hostile, memory_pulled_from_under_requests_in_flight)
{
	struct fake_front ff;
	struct iovec iov[4];
	uint16_t head, flags[4];

	ff_open_echo(&ff, true);
	ff_negotiate(&ff, true);
	cr_assert_eq(ff_add_region(&ff, FF_GPA, FF_RAM_SIZE, FF_UADDR, 0, false), 0);
	ff_setup_ring(&ff, 0, 0, true);
	ff_post(&ff, 0, "held", 4, 4);
	ff_kick(&ff, 0);
	ff_pump(&ff);
	/* The "backend" takes the chain and keeps it. */
	pthread_mutex_lock(ff.echo->base.mtx);
	cr_assert_eq(vq_getchain(&ff.echo->vq[0], &head, iov, 4, flags), 2);
	pthread_mutex_unlock(ff.echo->base.mtx);
	cr_assert_eq(ff_rem_region(&ff, FF_GPA, FF_RAM_SIZE, FF_UADDR, true), 0);
	cr_assert_eq(ff_reply_u64(&ff, VU_REM_MEM_REG), 0);
	cr_assert(ff_log_has(&ff, "under requests in flight"), "log:\n%s", ff.log);
	cr_assert_eq(ff.echo->base.status, 0, "the device was reset before the unmap");
	/* Completing now writes nothing anywhere. */
	pthread_mutex_lock(ff.echo->base.mtx);
	vq_relchain(&ff.echo->vq[0], head, 4);
	vq_endchains(&ff.echo->vq[0], 1);
	pthread_mutex_unlock(ff.echo->base.mtx);
	still_serves(&ff);
	ff_close(&ff);
}
