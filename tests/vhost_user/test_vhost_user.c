/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vhost-user connector against a fake front end: negotiation, both ways of
 * registering memory, ring set-up with eventfds, echo requests through guest RAM,
 * stop/restart (the SeaBIOS-then-Linux cycle), reset, config space, and the rule on
 * when a ring starts.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_front.h"
#include "guest_ram.h"

Test(vhost_user, negotiation_answers)
{
	struct fake_front ff;
	uint64_t f, proto;

	ff_open(&ff);
	f = ff_get_u64(&ff, VU_GET_FEATURES);
	cr_assert(f & VU_F_PROTOCOL_FEATURES);
	cr_assert(f & VIRTIO_F_VERSION_1);
	cr_assert(f & ECHO_F_TEST);
	proto = ff_get_u64(&ff, VU_GET_PROTOCOL_FEATURES);
	cr_assert(proto & (1ULL << VU_PROTOCOL_F_MQ));
	cr_assert(proto & (1ULL << VU_PROTOCOL_F_REPLY_ACK));
	cr_assert(proto & (1ULL << VU_PROTOCOL_F_CONFIG));
	cr_assert(proto & (1ULL << VU_PROTOCOL_F_RESET_DEVICE));
	cr_assert(proto & (1ULL << VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS));
	cr_assert_not(proto & (1ULL << VU_PROTOCOL_F_INFLIGHT_SHMFD), "not implemented");
	cr_assert_not(proto & (1ULL << VU_PROTOCOL_F_LOG_SHMFD), "not implemented");
	cr_assert_eq(ff_u64(&ff, VU_SET_PROTOCOL_FEATURES, proto, true), 0);
	cr_assert_eq(ff_reply_u64(&ff, VU_SET_PROTOCOL_FEATURES), 0);
	cr_assert_eq(ff_get_u64(&ff, VU_GET_QUEUE_NUM), FF_NVQ);
	cr_assert_eq(ff_get_u64(&ff, VU_GET_MAX_MEM_SLOTS), GUEST_RAM_MAX_REGIONS);
	/* The protocol bit is stripped before the device sees the features. */
	cr_assert_eq(ff_u64(&ff, VU_SET_FEATURES, VIRTIO_F_VERSION_1 | ECHO_F_TEST |
			    VU_F_PROTOCOL_FEATURES, true), 0);
	cr_assert_eq(ff_reply_u64(&ff, VU_SET_FEATURES), 0);
	cr_assert_eq(ff.echo->applied_features, VIRTIO_F_VERSION_1 | ECHO_F_TEST);
	cr_assert(ff_no_reply(&ff));
	ff_close(&ff);
}

Test(vhost_user, withdrawn_protocol_features_are_not_offered)
{
	struct fake_front ff;

	ff_open(&ff);
	vhost_user_conn_withdraw_protocol_features(ff.conn,
						   1ULL << VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS);
	cr_assert_not(ff_get_u64(&ff, VU_GET_PROTOCOL_FEATURES) &
		      (1ULL << VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS));
	ff_close(&ff);
}

Test(vhost_user, set_mem_table_and_echo_requests)
{
	struct fake_front ff;
	struct vhost_user_conn_stats st;

	ff_open(&ff);
	ff_negotiate(&ff, true);
	ff_mem_table_default(&ff);
	ff_setup_ring(&ff, 0, 0, true);
	ff_setup_ring(&ff, 1, 0, true);
	for (int i = 0; i < 40; i++) {
		ff_round_trip(&ff, 0, (uint8_t)i);
		ff_round_trip(&ff, 1, (uint8_t)(0x80 + i));
	}
	cr_assert_eq(ff.echo->echoed, 80);
	vhost_user_conn_get_stats(ff.conn, &st);
	cr_assert_eq(st.ring_starts, 2);
	cr_assert_geq(st.kicks, 80);
	cr_assert_eq(st.refused, 0, "log:\n%s", ff.log);
	ff_close(&ff);
}

Test(vhost_user, pollfds_list_the_socket_the_kicks_and_nothing_else)
{
	struct fake_front ff;
	struct vdev_pollfd fds[8];
	int n;

	ff_open(&ff);
	n = vhost_user_conn_pollfds(ff.conn, fds, 8);
	cr_assert_eq(n, 1);
	cr_assert_eq(fds[0].fd, vhost_user_conn_fd(ff.conn));
	ff_negotiate(&ff, true);
	ff_mem_table_default(&ff);
	ff_setup_ring(&ff, 0, 0, true);
	n = vhost_user_conn_pollfds(ff.conn, fds, 8);
	cr_assert_eq(n, 2);
	cr_assert_eq(fds[1].events, VDEV_POLL_IN);
	cr_assert_eq(vhost_user_conn_pollfds(ff.conn, fds, 1), 1, "bounded by max");
	cr_assert_eq(vhost_user_conn_next_timeout_ms(ff.conn), -1);
	ff_close(&ff);
}

/* QEMU 7.2 with CONFIGURE_MEM_SLOTS: RAM arrives region by region. Two windows of the
 * same memfd, as QEMU sends for RAM below and above a hole; the ring is in the second. */
Test(vhost_user, add_mem_reg_and_rem_mem_reg)
{
	struct fake_front ff;
	const uint64_t half = FF_RAM_SIZE / 2;

	ff_open(&ff);
	ff_negotiate(&ff, true);
	cr_assert_eq(ff_add_region(&ff, FF_GPA, half, FF_UADDR, 0, true), 0);
	cr_assert_eq(ff_reply_u64(&ff, VU_ADD_MEM_REG), 0);
	cr_assert_eq(ff_add_region(&ff, FF_GPA + half, half, FF_UADDR + half, half, true), 0);
	cr_assert_eq(ff_reply_u64(&ff, VU_ADD_MEM_REG), 0);
	/* The same region again is harmless (and its descriptor is not leaked). */
	cr_assert_eq(ff_add_region(&ff, FF_GPA + half, half, FF_UADDR + half, half, true), 0);
	cr_assert_eq(ff_reply_u64(&ff, VU_ADD_MEM_REG), 0);
	ff_setup_ring(&ff, 0, 0, true);
	ff_round_trip(&ff, 0, 0x5a);
	/* Removing a region the ring does not use changes nothing for it. The buffers
	 * live above 0x40000, in the first half, so move nothing that is in use. */
	cr_assert_eq(ff_rem_region(&ff, FF_GPA + half, half, FF_UADDR + half, true), 0);
	cr_assert_eq(ff_reply_u64(&ff, VU_REM_MEM_REG), 0);
	ff_round_trip(&ff, 0, 0x5b);
	cr_assert_eq(ff_rem_region(&ff, FF_GPA + half, half, FF_UADDR + half, true), 0);
	cr_assert_neq(ff_reply_u64(&ff, VU_REM_MEM_REG), 0, "already removed");
	cr_assert(ff_log_has(&ff, "no such region"));
	ff_close(&ff);
}

/* The firmware starts the device, the front end stops it (GET_VRING_BASE), and the
 * OS starts it again from where it stopped. */
Test(vhost_user, get_vring_base_stops_and_restart_continues)
{
	struct fake_front ff;
	struct vu_state s;
	struct vdev_pollfd fds[8];

	ff_open(&ff);
	ff_negotiate(&ff, true);
	ff_mem_table_default(&ff);
	ff_setup_ring(&ff, 0, 0, true);
	for (int i = 0; i < 5; i++)
		ff_round_trip(&ff, 0, 0x11);
	cr_assert_eq(ff_state(&ff, VU_SET_VRING_ENABLE, 0, 0, false), 0);
	cr_assert_eq(ff_state(&ff, VU_GET_VRING_BASE, 0, 0, false), 0);
	cr_assert_eq(ff_reply(&ff, VU_GET_VRING_BASE, &s, sizeof(s)), sizeof(s));
	cr_assert_eq(s.index, 0);
	cr_assert_eq(s.num, 5);
	cr_assert_eq(vhost_user_conn_pollfds(ff.conn, fds, 8), 1, "the kick fd was dropped");
	/* A kick on the old eventfd is nobody's business now. */
	ff_post(&ff, 0, "x", 1, 1);
	ff_kick(&ff, 0);
	ff_pump(&ff);
	cr_assert_eq(ff.echo->echoed, 5);
	/* The OS: features again, the same ring resumed at 5 (the posted chain is
	 * taken now). */
	cr_assert_eq(ff_u64(&ff, VU_SET_FEATURES, VIRTIO_F_VERSION_1 | ECHO_F_TEST |
			    VU_F_PROTOCOL_FEATURES, false), 0);
	ff_setup_ring(&ff, 0, 5, true);
	ff.ring[0].avail_idx = 6;
	cr_assert_eq(ff.echo->echoed, 6, "the chain posted while stopped is served at start");
	{
		uint32_t id, len;

		cr_assert_eq(ff_used(&ff, 0, &id, &len), 1);
		(void)ff_call_take(&ff, 0);
	}
	for (int i = 0; i < 20; i++)
		ff_round_trip(&ff, 0, 0x22);
	cr_assert_eq(ff.echo->echoed, 26);
	ff_close(&ff);
}

Test(vhost_user, reset_device_forgets_rings_and_runs_again)
{
	struct fake_front ff;
	struct vdev_pollfd fds[8];
	struct vhost_user_conn_stats st;

	ff_open(&ff);
	ff_negotiate(&ff, true);
	ff_mem_table_default(&ff);
	ff_setup_ring(&ff, 0, 0, true);
	ff_round_trip(&ff, 0, 1);
	cr_assert_eq(ff_send(&ff, VU_RESET_DEVICE, true, NULL, 0, NULL, 0), 0);
	cr_assert_eq(ff_reply_u64(&ff, VU_RESET_DEVICE), 0);
	cr_assert_eq(vhost_user_conn_pollfds(ff.conn, fds, 8), 1);
	cr_assert_eq(ff.echo->base.status, 0, "the device was reset");
	vhost_user_conn_get_stats(ff.conn, &st);
	cr_assert_eq(st.ring_stops, 1);
	/* From scratch, over the same memory table (kept across the reset). */
	memset(ff.ring, 0, sizeof(ff.ring));
	memset(ff.ram + FF_RING_OFF(0), 0, 0x4000);
	ff_negotiate(&ff, true);
	ff_setup_ring(&ff, 0, 0, true);
	ff_round_trip(&ff, 0, 2);
	ff_close(&ff);
}

/* Without VHOST_USER_F_PROTOCOL_FEATURES a ring is enabled from the start. */
Test(vhost_user, ring_starts_at_kick_without_protocol_features)
{
	struct fake_front ff;

	ff_open(&ff);
	ff_negotiate(&ff, false);
	ff_mem_table_default(&ff);
	ff_setup_ring(&ff, 0, 0, false);
	ff_round_trip(&ff, 0, 3);
	ff_close(&ff);
}

/* With it, a ring waits for SET_VRING_ENABLE 1; while disabled its kicks wait. */
Test(vhost_user, ring_waits_for_enable_with_protocol_features)
{
	struct fake_front ff;
	struct vhost_user_conn_stats st;
	uint32_t id, len;

	ff_open(&ff);
	ff_negotiate(&ff, true);
	ff_mem_table_default(&ff);
	ff_setup_ring(&ff, 0, 0, false);
	vhost_user_conn_get_stats(ff.conn, &st);
	cr_assert_eq(st.ring_starts, 0);
	ff_post(&ff, 0, "abc", 3, 3);
	ff_kick(&ff, 0);
	ff_pump(&ff);
	cr_assert_eq(ff.echo->echoed, 0);
	cr_assert_eq(ff_state(&ff, VU_SET_VRING_ENABLE, 0, 1, false), 0);
	cr_assert_eq(ff.echo->echoed, 1, "what was posted before is served at enable");
	cr_assert_eq(ff_used(&ff, 0, &id, &len), 1);
	cr_assert_eq(len, 3);
	(void)ff_call_take(&ff, 0);
	/* Disabled again: the ring stays mapped but kicks are ignored until enabled. */
	cr_assert_eq(ff_state(&ff, VU_SET_VRING_ENABLE, 0, 0, false), 0);
	ff_post(&ff, 0, "de", 2, 2);
	ff_kick(&ff, 0);
	ff_pump(&ff);
	cr_assert_eq(ff.echo->echoed, 1);
	vhost_user_conn_get_stats(ff.conn, &st);
	cr_assert_eq(st.kicks_ignored, 2);
	cr_assert_eq(ff_state(&ff, VU_SET_VRING_ENABLE, 0, 1, false), 0);
	cr_assert_eq(ff.echo->echoed, 2);
	ff_close(&ff);
}

Test(vhost_user, reply_ack_on_plain_requests)
{
	struct fake_front ff;

	ff_open(&ff);
	ff_negotiate(&ff, true);
	cr_assert_eq(ff_state(&ff, VU_SET_VRING_NUM, 0, 16, true), 0);
	cr_assert_eq(ff_reply_u64(&ff, VU_SET_VRING_NUM), 0);
	cr_assert_eq(ff_state(&ff, VU_SET_VRING_NUM, 0, 16, false), 0);
	cr_assert(ff_no_reply(&ff), "no reply without NEED_REPLY");
	cr_assert_eq(ff_state(&ff, VU_SET_VRING_NUM, 0, 17, true), 0);
	cr_assert_neq(ff_reply_u64(&ff, VU_SET_VRING_NUM), 0, "not a power of two");
	ff_close(&ff);
}

static uint32_t get_config(struct fake_front *ff, uint32_t off, uint32_t size, uint8_t *out)
{
	uint8_t p[VU_CONFIG_HDR_SIZE + VU_MAX_CONFIG_SIZE] = {0};
	struct vu_config_hdr h = {.offset = off, .size = size};
	uint32_t got;

	memcpy(p, &h, sizeof(h));
	cr_assert_eq(ff_send(ff, VU_GET_CONFIG, false, p, VU_CONFIG_HDR_SIZE + size, NULL, 0),
		     0);
	got = ff_reply(ff, VU_GET_CONFIG, p, sizeof(p));
	if (got >= VU_CONFIG_HDR_SIZE)
		memcpy(out, p + VU_CONFIG_HDR_SIZE, got - VU_CONFIG_HDR_SIZE);
	return got;
}

Test(vhost_user, config_space_reads_and_writes)
{
	struct fake_front ff;
	uint8_t buf[64], p[VU_CONFIG_HDR_SIZE + 4];
	struct vu_config_hdr h = {.offset = ECHO_CFG_SCRATCH, .size = 4};
	uint32_t v = 0xa1b2c3d4;

	ff_open(&ff);
	ff_negotiate(&ff, true);
	cr_assert_eq(get_config(&ff, ECHO_CFG_ID, 8, buf), VU_CONFIG_HDR_SIZE + 8);
	cr_assert_eq(memcmp(buf, "vdevecho", 8), 0);
	memcpy(p, &h, sizeof(h));
	memcpy(p + VU_CONFIG_HDR_SIZE, &v, 4);
	cr_assert_eq(ff_send(&ff, VU_SET_CONFIG, true, p, sizeof(p), NULL, 0), 0);
	cr_assert_eq(ff_reply_u64(&ff, VU_SET_CONFIG), 0);
	cr_assert_eq(get_config(&ff, ECHO_CFG_SCRATCH, 4, buf), VU_CONFIG_HDR_SIZE + 4);
	cr_assert_eq(memcmp(buf, &v, 4), 0);
	/* Past the end of the device's 24 bytes: the reply keeps the size asked for,
	 * zero-filled, as a PCI read past the config would be. */
	memset(buf, 0xee, sizeof(buf));
	cr_assert_eq(get_config(&ff, 16, 40, buf), VU_CONFIG_HDR_SIZE + 40);
	cr_assert_eq(memcmp(buf, "vdevecho", 8), 0);
	for (int i = 8; i < 40; i++)
		cr_assert_eq(buf[i], 0);
	/* Writes past the end are refused. */
	h.offset = ECHO_CFG_SIZE;
	memcpy(p, &h, sizeof(h));
	cr_assert_eq(ff_send(&ff, VU_SET_CONFIG, true, p, sizeof(p), NULL, 0), 0);
	cr_assert_neq(ff_reply_u64(&ff, VU_SET_CONFIG), 0);
	ff_close(&ff);
}

Test(vhost_user, config_change_goes_over_the_slave_channel)
{
	struct fake_front ff;
	struct vhost_user_conn_stats st;
	struct vu_hdr h;
	int sv[2];

	ff_open(&ff);
	ff_negotiate(&ff, true);
	/* Without a slave channel the change is only logged. */
	echo_dev_host_set_scratch(ff.echo, 1);
	vhost_user_conn_get_stats(ff.conn, &st);
	cr_assert_eq(st.config_changes_dropped, 1);
	cr_assert(ff_log_has(&ff, "no slave channel"));
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	cr_assert_eq(ff_send(&ff, VU_SET_SLAVE_REQ_FD, true, NULL, 0, &sv[1], 1), 0);
	cr_assert_eq(ff_reply_u64(&ff, VU_SET_SLAVE_REQ_FD), 0);
	close(sv[1]);
	echo_dev_host_set_scratch(ff.echo, 2);
	cr_assert_eq(recv(sv[0], &h, sizeof(h), MSG_DONTWAIT), (ssize_t)sizeof(h));
	cr_assert_eq(h.request, VU_SLAVE_CONFIG_CHANGE_MSG);
	cr_assert_eq(h.flags, VU_VERSION);
	cr_assert_eq(h.size, 0);
	vhost_user_conn_get_stats(ff.conn, &st);
	cr_assert_eq(st.config_changes_sent, 1);
	close(sv[0]);
	ff_close(&ff);
}

Test(vhost_user, messages_split_across_reads_are_reassembled)
{
	struct fake_front ff;
	uint8_t msg[VU_HDR_SIZE];
	struct vu_hdr h = {.request = VU_GET_FEATURES, .flags = VU_VERSION, .size = 0};

	ff_open(&ff);
	memcpy(msg, &h, sizeof(h));
	ff_send_raw(&ff, msg, 5, NULL, 0);
	cr_assert_eq(ff_handle(&ff), 0);
	cr_assert(ff_no_reply(&ff));
	ff_send_raw(&ff, msg + 5, sizeof(msg) - 5, NULL, 0);
	cr_assert_eq(ff_handle(&ff), 0);
	cr_assert(ff_reply_u64(&ff, VU_GET_FEATURES) & VU_F_PROTOCOL_FEATURES);
	ff_close(&ff);
}

Test(vhost_user, destroy_releases_every_descriptor)
{
	int before = fx_count_fds();
	struct fake_front ff;
	int sv[2];

	ff_open(&ff);
	ff_negotiate(&ff, true);
	ff_mem_table_default(&ff);
	ff_setup_ring(&ff, 0, 0, true);
	ff_setup_ring(&ff, 1, 0, true);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	cr_assert_eq(ff_send(&ff, VU_SET_SLAVE_REQ_FD, false, NULL, 0, &sv[1], 1), 0);
	close(sv[0]);
	close(sv[1]);
	ff_round_trip(&ff, 0, 9);
	ff_close(&ff);
	cr_assert_eq(fx_count_fds(), before);
}

/* QEMU resends the table whenever its memory map changes; the same RAM must not
 * disturb a running ring, and a RESET_OWNER only stops the rings. */
Test(vhost_user, a_resent_table_keeps_rings_running_and_reset_owner_stops_them)
{
	struct fake_front ff;
	struct vhost_user_conn_stats st;
	struct vdev_pollfd fds[8];

	ff_open(&ff);
	ff_negotiate(&ff, true);
	ff_mem_table_default(&ff);
	ff_setup_ring(&ff, 0, 0, true);
	ff_round_trip(&ff, 0, 1);
	ff_mem_table_default(&ff);
	ff_mem_table_default(&ff);
	ff_round_trip(&ff, 0, 2);
	vhost_user_conn_get_stats(ff.conn, &st);
	cr_assert_eq(st.ring_stops, 0);
	cr_assert_eq(st.mem_tables, 3);
	cr_assert_eq(ff_send(&ff, VU_RESET_OWNER, false, NULL, 0, NULL, 0), 0);
	vhost_user_conn_get_stats(ff.conn, &st);
	cr_assert_eq(st.ring_stops, 1);
	cr_assert_eq(vhost_user_conn_pollfds(ff.conn, fds, 8), 1);
	cr_assert(ff.echo->base.status & VIRTIO_CR_STATUS_DRIVER_OK, "features kept");
	ff_close(&ff);
}
