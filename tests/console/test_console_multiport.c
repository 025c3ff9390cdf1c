/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-console with MULTIPORT: the control-queue handshake (DEVICE_READY,
 * DEVICE_ADD, PORT_READY, CONSOLE_PORT, PORT_NAME, PORT_OPEN), data on port 1's queues,
 * RESIZE, host open/close, hot add/remove, and the hostile control messages of H39.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "con_util.h"

#define MP_MAX 4
#define PORT1_NAME "org.libvdev.port1"
#define MP_FEATURES (VIRTIO_CONSOLE_F_MULTIPORT | VIRTIO_CONSOLE_F_SIZE | \
		     VIRTIO_RING_F_EVENT_IDX | VIRTIO_RING_F_INDIRECT_DESC)

struct mp {
	struct ct t;
	int s0[2], s1[2];
};

/* Ports 0 and 1 on socketpairs, room for MP_MAX. */
static void mp_open(struct mp *m, const struct fx_mode *mode)
{
	struct vdev_console_port_config ports[2] = {
		{.size = sizeof(struct vdev_console_port_config), .name = NULL},
		{.size = sizeof(struct vdev_console_port_config), .name = PORT1_NAME},
	};
	struct vdev_console_config cfg = {.size = sizeof(struct vdev_console_config),
					  .max_nr_ports = MP_MAX, .nports = 2, .ports = ports};

	ct_socketpair(m->s0);
	ct_socketpair(m->s1);
	cr_assert_eq(vdev_console_backend_fds(m->s0[0], m->s0[0], VDEV_CONSOLE_FD_CLOSE,
					      &ports[0].backend), 0);
	cr_assert_eq(vdev_console_backend_fds(m->s1[0], m->s1[0], VDEV_CONSOLE_FD_CLOSE,
					      &ports[1].backend), 0);
	ct_open(&m->t, mode, &cfg);
	cr_assert(vdev_drv_read_features(m->t.fx.drv) & VIRTIO_CONSOLE_F_MULTIPORT);
	cr_assert_eq(vdev_dev_virtio(m->t.fx.dev)->vops->nvq, 2 * (MP_MAX + 1));
	ct_ready(&m->t, MP_FEATURES);
}

/* Full handshake; checks what the device says after PORT_READY. */
static void mp_handshake(struct mp *m)
{
	struct ct_msg msgs[16];
	bool console0 = false, open0 = false, name1 = false, open1 = false;
	int n = ct_mp_handshake(&m->t, 2, msgs, 16);

	for (int i = 0; i < n; i++) {
		struct ct_msg *g = &msgs[i];

		if (g->id == 0 && g->event == EV_CONSOLE_PORT && g->value == 1)
			console0 = true;
		else if (g->id == 0 && g->event == EV_PORT_OPEN && g->value == 1)
			open0 = console0; /* CONSOLE_PORT comes first */
		else if (g->id == 1 && g->event == EV_PORT_NAME) {
			cr_assert_eq(g->plen, strlen(PORT1_NAME));
			cr_assert_arr_eq(g->payload, PORT1_NAME, g->plen);
			name1 = true;
		} else if (g->id == 1 && g->event == EV_PORT_OPEN && g->value == 1)
			open1 = name1;
		else
			cr_assert_fail("%s: unexpected message id %u event %u value %u",
				       m->t.fx.mode.name, g->id, g->event, g->value);
	}
	cr_assert(console0 && open0, "%s: port 0 not announced as an open console",
		  m->t.fx.mode.name);
	cr_assert(name1 && open1, "%s: port 1 name/open missing or out of order", m->t.fx.mode.name);
	cr_assert_eq(n, 4);
}

static void mp_close(struct mp *m)
{
	ct_close(&m->t);
	close(m->s0[1]);
	close(m->s1[1]);
}

Test(console_multiport, handshake_and_data_on_port1)
{
	for (int i = 0; i < FX_NMODES_BASIC; i++) {
		struct mp m;
		uint64_t gpa;
		char in[8];

		mp_open(&m, &fx_modes[i]);
		cr_assert_eq(vdev_drv_read_config32(m.t.fx.drv, 4), MP_MAX);
		/* Before the guest opens port 1, host input waits on the host side. */
		ct_rx_post(&m.t, 4, 64);
		mp_handshake(&m);
		cr_assert_eq(send(m.s1[1], "ping", 4, 0), 4);
		fx_pump(&m.t.fx, 20);
		cr_assert_eq(fx_drain_used(&m.t.fx, 4), 0, "%s: data before PORT_OPEN",
			     fx_modes[i].name);
		ct_ctrl_send(&m.t, 1, EV_PORT_OPEN, 1);
		cr_assert_eq(ct_wait_used(&m.t, 4, &gpa, 2000), 4);
		cr_assert_arr_eq(vdev_sim_ptr(m.t.fx.sim, gpa, 4), "ping", 4);
		ct_tx(&m.t, 5, "pong", 4);
		ct_host_read(&m.t, m.s1[1], in, 4, 2000);
		cr_assert_arr_eq(in, "pong", 4);
		/* Port 0 still on queues 0/1, and nothing crossed between ports. */
		ct_tx(&m.t, 1, "zero", 4);
		ct_host_read(&m.t, m.s0[1], in, 4, 2000);
		cr_assert_arr_eq(in, "zero", 4);
		cr_assert_eq(recv(m.s1[1], in, 1, MSG_DONTWAIT), -1);
		cr_assert_eq(ct_stats(&m.t).dropped, 0);
		mp_close(&m);
	}
}

Test(console_multiport, resize_open_remove_add)
{
	for (int i = 0; i < FX_NMODES_BASIC; i++) {
		struct vdev_console_port_config p2 = {.size = sizeof(struct vdev_console_port_config),
						      .name = "two", .console = true};
		struct ct_msg g;
		struct mp m;

		mp_open(&m, &fx_modes[i]);
		mp_handshake(&m);
		/* Port 0 through the config space and a config interrupt. */
		(void)vdev_drv_read_isr(m.t.fx.drv);
		cr_assert_eq(vdev_console_resize(m.t.fx.dev, 0, 120, 40), 0);
		cr_assert(vdev_drv_read_isr(m.t.fx.drv) & VIRTIO_CR_ISR_CONF_CHANGED);
		cr_assert_eq(vdev_drv_read_config16(m.t.fx.drv, 0), 120);
		cr_assert_eq(vdev_drv_read_config16(m.t.fx.drv, 2), 40);
		cr_assert(!ct_ctrl_recv(&m.t, &g, 30), "port 0 resize sent a control message");
		/* Port 1 through a RESIZE message: cols then rows. */
		cr_assert_eq(vdev_console_resize(m.t.fx.dev, 1, 200, 50), 0);
		cr_assert(ct_ctrl_recv(&m.t, &g, 2000), "%s: no RESIZE", fx_modes[i].name);
		cr_assert_eq(g.id, 1);
		cr_assert_eq(g.event, EV_RESIZE);
		cr_assert_eq(g.plen, 4);
		cr_assert_eq(g.payload[0] | g.payload[1] << 8, 200);
		cr_assert_eq(g.payload[2] | g.payload[3] << 8, 50);
		/* Host closes port 1. */
		cr_assert_eq(vdev_console_set_open(m.t.fx.dev, 1, false), 0);
		cr_assert(ct_ctrl_recv(&m.t, &g, 2000));
		cr_assert(g.id == 1 && g.event == EV_PORT_OPEN && g.value == 0);
		/* Remove port 1, add port 2 (a console). */
		cr_assert_eq(vdev_console_port_remove(m.t.fx.dev, 1), 0);
		cr_assert_eq(vdev_console_port_remove(m.t.fx.dev, 1), -EINVAL);
		cr_assert(ct_ctrl_recv(&m.t, &g, 2000));
		cr_assert(g.id == 1 && g.event == EV_DEVICE_REMOVE, "%s: got id %u event %u",
			  fx_modes[i].name, g.id, g.event);
		ct_tx(&m.t, 5, "gone", 4);
		ct_wait_used(&m.t, 5, NULL, 2000);
		cr_assert_eq(ct_stats(&m.t).dropped, 1, "output to a removed port not dropped");
		cr_assert_eq(vdev_console_port_add(m.t.fx.dev, 2, &p2), 0);
		cr_assert_eq(vdev_console_port_add(m.t.fx.dev, 2, &p2), -EBUSY);
		cr_assert_eq(vdev_console_port_add(m.t.fx.dev, MP_MAX, &p2), -EINVAL);
		cr_assert(ct_ctrl_recv(&m.t, &g, 2000));
		cr_assert(g.id == 2 && g.event == EV_DEVICE_ADD);
		ct_ctrl_send(&m.t, 2, EV_PORT_READY, 1);
		cr_assert(ct_ctrl_recv(&m.t, &g, 2000));
		cr_assert(g.id == 2 && g.event == EV_CONSOLE_PORT && g.value == 1);
		cr_assert(ct_ctrl_recv(&m.t, &g, 2000));
		cr_assert(g.id == 2 && g.event == EV_PORT_NAME && g.plen == 3);
		cr_assert(ct_ctrl_recv(&m.t, &g, 2000));
		cr_assert(g.id == 2 && g.event == EV_PORT_OPEN && g.value == 1);
		mp_close(&m);
	}
}

Test(console_multiport, not_negotiated_means_single_port)
{
	for (int i = 0; i < FX_NMODES_BASIC; i++) {
		struct vdev_console_port_config ports[2] = {
			{.size = sizeof(struct vdev_console_port_config), .name = NULL},
			{.size = sizeof(struct vdev_console_port_config), .name = NULL},
		};
		struct vdev_console_config cfg = {.size = sizeof(struct vdev_console_config),
						  .nports = 2, .ports = ports};
		struct ct t;
		int s0[2];
		char in[4];
		struct ct_msg g;

		ct_socketpair(s0);
		cr_assert_eq(vdev_console_backend_fds(s0[0], s0[0], VDEV_CONSOLE_FD_CLOSE,
						      &ports[0].backend), 0);
		ct_open(&t, &fx_modes[i], &cfg);
		ct_ready(&t, VIRTIO_CONSOLE_F_SIZE);
		ct_tx(&t, 1, "solo", 4);
		ct_host_read(&t, s0[1], in, 4, 2000);
		cr_assert_arr_eq(in, "solo", 4);
		/* The control queues exist but are dead without the feature. */
		ct_ctrl_post(&t, 2);
		ct_ctrl_send(&t, 0, EV_DEVICE_READY, 1);
		cr_assert(!ct_ctrl_recv(&t, &g, 30), "control traffic without MULTIPORT");
		ct_close(&t);
		close(s0[1]);
	}
}

/* ---------------- H39: hostile control messages ---------------- */

static void h39_assert_ignored(struct mp *m, uint64_t dropped_before, uint64_t n,
			       const char *what)
{
	struct ct_msg g;

	cr_assert_eq(ct_stats(&m->t).dropped, dropped_before + n, "%s (%s): dropped %llu",
		     what, m->t.fx.mode.name, (unsigned long long)ct_stats(&m->t).dropped);
	cr_assert(!ct_ctrl_recv(&m->t, &g, 20), "%s: the device answered (event %u)", what,
		  g.event);
	cr_assert(!(vdev_drv_read_status(m->t.fx.drv) & VIRTIO_CR_STATUS_NEEDS_RESET),
		  "%s: device broken", what);
}

/* After the hostile messages, the control path still works. */
static void h39_assert_alive(struct mp *m)
{
	struct ct_msg g;
	char in[2];

	cr_assert_eq(vdev_console_set_open(m->t.fx.dev, 1, true), 0);
	cr_assert(ct_ctrl_recv(&m->t, &g, 2000), "control path dead");
	cr_assert(g.id == 1 && g.event == EV_PORT_OPEN);
	ct_tx(&m->t, 5, "ok", 2);
	ct_host_read(&m->t, m->s1[1], in, 2, 2000);
}

Test(console_multiport, H39_port_id_past_max_nr_ports_ignored)
{
	for (int i = 0; i < FX_NMODES_BASIC; i++) {
		struct mp m;
		uint64_t d;
		uint64_t logs;

		mp_open(&m, &fx_modes[i]);
		mp_handshake(&m);
		d = ct_stats(&m.t).dropped;
		logs = vdev_sim_log_count(m.t.fx.sim);
		ct_ctrl_send(&m.t, MP_MAX, EV_PORT_READY, 1);
		cr_assert_not_null(strstr(vdev_sim_last_log(m.t.fx.sim), "past max_nr_ports"),
				   "log: %s", vdev_sim_last_log(m.t.fx.sim));
		ct_ctrl_send(&m.t, 0xFFFFFFFFu, EV_PORT_OPEN, 1);
		ct_ctrl_send(&m.t, 0x80000000u, EV_PORT_READY, 0);
		/* In range but not a port that exists. */
		ct_ctrl_send(&m.t, 3, EV_PORT_READY, 1);
		cr_assert_not_null(strstr(vdev_sim_last_log(m.t.fx.sim), "no such port"));
		cr_assert_geq(vdev_sim_log_count(m.t.fx.sim), logs + 4, "not every case logged");
		h39_assert_ignored(&m, d, 4, "port id");
		h39_assert_alive(&m);
		mp_close(&m);
	}
}

Test(console_multiport, H39_unknown_events_ignored)
{
	static const uint16_t events[] = {8, 0x7fff, 0xffff, EV_DEVICE_ADD, EV_DEVICE_REMOVE,
					  EV_CONSOLE_PORT, EV_RESIZE, EV_PORT_NAME};

	for (int i = 0; i < FX_NMODES_BASIC; i++) {
		struct mp m;
		uint64_t d;

		mp_open(&m, &fx_modes[i]);
		mp_handshake(&m);
		d = ct_stats(&m.t).dropped;
		for (size_t k = 0; k < sizeof(events) / sizeof(events[0]); k++) {
			ct_ctrl_send(&m.t, 1, events[k], 1);
			cr_assert_not_null(strstr(vdev_sim_last_log(m.t.fx.sim), "ignored"),
					   "event %u not logged", events[k]);
		}
		h39_assert_ignored(&m, d, sizeof(events) / sizeof(events[0]), "unknown event");
		h39_assert_alive(&m);
		mp_close(&m);
	}
}

Test(console_multiport, H39_truncated_messages_ignored)
{
	static const uint8_t full[8] = {1, 0, 0, 0, EV_PORT_OPEN, 0, 1, 0};

	for (int i = 0; i < FX_NMODES_BASIC; i++) {
		struct mp m;
		uint64_t d;
		struct ct_msg g;

		mp_open(&m, &fx_modes[i]);
		mp_handshake(&m);
		d = ct_stats(&m.t).dropped;
		for (uint32_t len = 1; len < 8; len++) {
			ct_tx(&m.t, CT_CTRL_TX, full, len);
			ct_wait_used(&m.t, CT_CTRL_TX, NULL, 2000);
		}
		cr_assert_not_null(strstr(vdev_sim_last_log(m.t.fx.sim), "truncated"));
		h39_assert_ignored(&m, d, 7, "truncated message");
		cr_assert(!vdev_dev_virtio(m.t.fx.dev)->queues[CT_CTRL_TX].n_inflight);
		/* A whole header split over two descriptors is not truncated. */
		{
			uint8_t *p;
			uint64_t gpa = fx_buf(&m.t.fx, 8, (void **)&p);
			struct vdev_drv_seg segs[2] = {{gpa, 3, false}, {gpa + 3, 5, false}};

			memcpy(p, full, 8);
			p[6] = 0; /* PORT_OPEN 0 for port 1: accepted, nothing sent back */
			cr_assert_eq(vdev_drv_enqueue(m.t.fx.drv, CT_CTRL_TX, segs, 2, false, NULL), 0);
			vdev_drv_kick(m.t.fx.drv, CT_CTRL_TX);
			ct_wait_used(&m.t, CT_CTRL_TX, NULL, 2000);
			cr_assert_eq(ct_stats(&m.t).dropped, d + 7, "split header refused");
			cr_assert(!ct_ctrl_recv(&m.t, &g, 20));
		}
		h39_assert_alive(&m);
		mp_close(&m);
	}
}

Test(console_multiport, H39_control_receive_buffer_too_small)
{
	for (int i = 0; i < FX_NMODES_BASIC; i++) {
		struct ct_msg g;
		struct mp m;

		mp_open(&m, &fx_modes[i]);
		/* One 4-byte buffer first: handed back empty; the message waits for the next. */
		ct_rx_post(&m.t, CT_CTRL_RX, 4);
		ct_ctrl_send(&m.t, 0, EV_DEVICE_READY, 1);
		cr_assert_eq(ct_wait_used(&m.t, CT_CTRL_RX, NULL, 2000), 0);
		ct_ctrl_post(&m.t, 4);
		cr_assert(ct_ctrl_recv(&m.t, &g, 2000));
		cr_assert(g.id == 0 && g.event == EV_DEVICE_ADD, "DEVICE_ADD for port 0 lost");
		cr_assert(ct_ctrl_recv(&m.t, &g, 2000));
		cr_assert(g.id == 1 && g.event == EV_DEVICE_ADD);
		cr_assert(!(vdev_drv_read_status(m.t.fx.drv) & VIRTIO_CR_STATUS_NEEDS_RESET));
		mp_close(&m);
	}
}
