/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-console against a hostile guest: direction lies on the data queues (H22),
 * and flooding (H30): a full transmit queue towards a host side that never accepts,
 * host input or control messages waiting while the guest posts no buffer, with kicks
 * and polls without end. The port's backend is scripted by the test so every call the
 * device makes into it is counted: the device holds one chain, makes at most one
 * backend call per poll and none per kick, reads no descriptor it already has, and
 * never buffers guest data on the host. (H39, the control queue's content, is in
 * test_console_multiport.c.)
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "con_util.h"

#define QSIZE 64
#define CHUNK 16
#define ROUNDS 1000
#define RXQ 0
#define TXQ 1

/* Byte k of everything the guest sends. */
static uint8_t pattern(size_t k)
{
	return (uint8_t)(k * 7 + 3);
}

struct script_port {
	int in_efd, out_efd;    /* reported by poll_fd(); in_efd is readable while input waits */
	bool accept;            /* write() takes bytes; else -EAGAIN */
	size_t input;           /* bytes read() may still give */
	uint64_t read_calls, write_calls;
	size_t written;         /* bytes taken, each checked against pattern() */
	size_t written_wrong;
};

static ssize_t sp_read(void *opaque, const struct iovec *iov, int iovcnt)
{
	struct script_port *s = opaque;
	size_t n = 0;

	s->read_calls++;
	if (s->input == 0)
		return -EAGAIN;
	for (int i = 0; i < iovcnt && s->input > 0; i++) {
		size_t l = iov[i].iov_len < s->input ? iov[i].iov_len : s->input;

		memset(iov[i].iov_base, 'i', l);
		s->input -= l;
		n += l;
	}
	return (ssize_t)n;
}

static ssize_t sp_write(void *opaque, const struct iovec *iov, int iovcnt)
{
	struct script_port *s = opaque;
	size_t n = 0;

	s->write_calls++;
	if (!s->accept)
		return -EAGAIN;
	for (int i = 0; i < iovcnt; i++) {
		const uint8_t *p = iov[i].iov_base;

		for (size_t k = 0; k < iov[i].iov_len; k++, n++)
			if (p[k] != pattern(s->written + n))
				s->written_wrong++;
	}
	s->written += n;
	return (ssize_t)n;
}

static int sp_poll_fd(void *opaque, short dir)
{
	struct script_port *s = opaque;

	return dir == VDEV_POLL_IN ? s->in_efd : s->out_efd;
}

static void sp_release(void *opaque)
{
	struct script_port *s = opaque;

	close(s->in_efd);
	close(s->out_efd);
	s->in_efd = s->out_efd = -1;
}

/* One console whose port 0 is `s`; room for `max_ports` ports (above 1: MULTIPORT). */
static void open_scripted(struct ct *t, const struct fx_mode *m, struct script_port *s,
			  uint32_t max_ports)
{
	struct vdev_console_port_config port = {
		.size = sizeof(struct vdev_console_port_config),
		.backend = {.version = VDEV_CONSOLE_BACKEND_VERSION,
			    .opaque = s,
			    .read = sp_read,
			    .write = sp_write,
			    .poll_fd = sp_poll_fd,
			    .release = sp_release},
	};
	struct vdev_console_config cfg = {.size = sizeof(struct vdev_console_config),
					  .qsize = QSIZE, .nports = 1, .ports = &port,
					  .max_nr_ports = max_ports};

	memset(s, 0, sizeof(*s));
	s->in_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->out_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	cr_assert(s->in_efd >= 0 && s->out_efd >= 0);
	ct_open(t, m, &cfg);
	ct_ready(t, ~0ULL);
}

static struct vdev_virtio_stats vstats(struct ct *t)
{
	struct vdev_virtio_stats st;

	vdev_virtio_get_stats(vdev_dev_virtio(t->fx.dev), &st);
	return st;
}

static struct virtio_vq_info *vq_of(struct ct *t, int q)
{
	return &vdev_dev_virtio(t->fx.dev)->queues[q];
}

/* The events the device asks its embedder to wait for on `fd`. */
static short watched(struct ct *t, int fd)
{
	struct vdev_pollfd fds[8];
	int n = vdev_dev_pollfds(t->fx.dev, fds, 8);
	short ev = 0;

	cr_assert_geq(n, 0);
	for (int i = 0; i < n; i++)
		if (fds[i].fd == fd)
			ev |= fds[i].events;
	return ev;
}

/*
 * The guest fills the transmit queue and kicks without end; the host side never
 * accepts. The device keeps one chain (written from guest memory, nothing copied to
 * the host), tries that chain at most once per poll and never per kick, reads no
 * further descriptor, and waits on the backend's fd for room. When the host accepts,
 * every byte goes out once, in order.
 */
Test(console_hostile, H30_output_to_a_host_that_never_accepts_holds_one_chain)
{
	for (int i = 0; i < FX_NMODES_BASIC; i++) {
		const char *mode = fx_modes[i].name;
		struct script_port s;
		struct vdev_virtio_stats s0, s1;
		uint64_t calls0;
		struct ct t;
		int queued = 0;

		open_scripted(&t, &fx_modes[i], &s, 1);
		for (;;) {
			uint8_t *p;
			struct vdev_drv_seg seg = {fx_buf(&t.fx, CHUNK, (void **)&p), CHUNK, false};

			for (int k = 0; k < CHUNK; k++)
				p[k] = pattern((size_t)queued * CHUNK + (size_t)k);
			if (vdev_drv_enqueue(t.fx.drv, TXQ, &seg, 1, false, NULL) != 0)
				break;
			queued++;
		}
		cr_assert_eq(queued, QSIZE, "%s: %d chains fit", mode, queued);
		vdev_drv_kick(t.fx.drv, TXQ);
		cr_assert_eq(vq_of(&t, TXQ)->n_inflight, 1, "%s", mode);
		cr_assert_eq(s.write_calls, 1, "%s", mode);

		s0 = vstats(&t);
		calls0 = s.write_calls;
		for (int k = 0; k < ROUNDS; k++) {
			vdev_drv_kick(t.fx.drv, TXQ);
			cr_assert_eq(vdev_dev_poll(t.fx.dev), 0);
		}
		s1 = vstats(&t);
		cr_assert_eq(s1.notifies, s0.notifies + ROUNDS);
		cr_assert_leq(s.write_calls - calls0, ROUNDS, "%s: %llu write attempts", mode,
			      (unsigned long long)(s.write_calls - calls0));
		cr_assert_eq(s1.descriptors, s0.descriptors, "%s", mode);
		cr_assert_eq(s1.chains, s0.chains);
		cr_assert_eq(vq_of(&t, TXQ)->n_inflight, 1);
		cr_assert_eq(ct_stats(&t).requests, 0);
		cr_assert_eq(fx_drain_used(&t.fx, TXQ), 0);
		cr_assert_neq(watched(&t, s.out_efd) & VDEV_POLL_OUT, 0,
			      "%s: nobody waits for room", mode);
		cr_assert_eq(vdev_drv_read_status(t.fx.drv) & VIRTIO_CR_STATUS_NEEDS_RESET, 0);

		/* Room at last: everything leaves, once, in order. */
		s.accept = true;
		for (int k = 0; k < 100 && s.written < (size_t)queued * CHUNK; k++)
			cr_assert_eq(vdev_dev_poll(t.fx.dev), 0);
		cr_assert_eq(s.written, (size_t)queued * CHUNK, "%s: %zu bytes", mode, s.written);
		cr_assert_eq(s.written_wrong, 0, "%s: bytes changed or reordered", mode);
		cr_assert_eq(fx_drain_used(&t.fx, TXQ), queued);
		cr_assert_eq(vq_of(&t, TXQ)->n_inflight, 0);
		cr_assert_eq(watched(&t, s.out_efd) & VDEV_POLL_OUT, 0);
		ct_close(&t);
	}
}

/*
 * Host input waits and the guest posts no receive buffer: the backend is not read,
 * its fd is not watched (a readable fd nobody drains would spin the embedder's
 * loop), the wait is counted once, and polls and kicks read nothing. The first buffer
 * the guest posts gets the input.
 */
Test(console_hostile, H30_input_without_receive_buffers_is_not_read)
{
	for (int i = 0; i < FX_NMODES_BASIC; i++) {
		const char *mode = fx_modes[i].name;
		struct script_port s;
		struct vdev_virtio_stats s0, s1;
		uint64_t gpa;
		uint32_t len;
		struct ct t;

		open_scripted(&t, &fx_modes[i], &s, 1);
		s.input = 1 << 20;
		cr_assert_eq(eventfd_write(s.in_efd, 1), 0);
		s0 = vstats(&t);
		for (int k = 0; k < ROUNDS; k++) {
			vdev_drv_kick(t.fx.drv, RXQ);
			cr_assert_eq(vdev_dev_poll(t.fx.dev), 0);
		}
		s1 = vstats(&t);
		cr_assert_eq(s.read_calls, 0, "%s: read %llu times with nowhere to put it", mode,
			     (unsigned long long)s.read_calls);
		cr_assert_eq(s1.descriptors, s0.descriptors);
		cr_assert_eq(s1.chains, s0.chains);
		cr_assert_eq(ct_stats(&t).no_buffer, 1, "%s: the wait counted %llu times", mode,
			     (unsigned long long)ct_stats(&t).no_buffer);
		cr_assert_eq(watched(&t, s.in_efd) & VDEV_POLL_IN, 0,
			     "%s: an undrainable fd is watched", mode);

		ct_rx_post(&t, RXQ, 256);
		len = ct_wait_used(&t, RXQ, &gpa, 2000);
		cr_assert_eq(len, 256, "%s", mode);
		cr_assert_eq(((uint8_t *)vdev_sim_ptr(t.fx.sim, gpa, 1))[0], 'i');
		cr_assert_eq(vq_of(&t, RXQ)->n_inflight, 0);
		ct_close(&t);
	}
}

/*
 * The same for the control queue (MULTIPORT): the device has DEVICE_ADD to say and
 * the guest posts no control buffer but kicks that queue without end. The message
 * waits on the host (one per port, a fixed set), the wait is counted once, nothing is
 * read; the first buffers posted get it.
 */
Test(console_hostile, H30_control_messages_without_buffers_wait_once)
{
	for (int i = 0; i < FX_NMODES_BASIC; i++) {
		const char *mode = fx_modes[i].name;
		struct script_port s;
		struct vdev_virtio_stats s0, s1;
		struct ct_msg msg;
		struct ct t;

		open_scripted(&t, &fx_modes[i], &s, 2);
		cr_assert_neq(vdev_drv_features(t.fx.drv) & VIRTIO_CONSOLE_F_MULTIPORT, 0, "%s", mode);
		ct_ctrl_send(&t, 0, EV_DEVICE_READY, 1);
		cr_assert_eq(ct_stats(&t).no_buffer, 1, "%s: DEVICE_ADD did not wait", mode);
		s0 = vstats(&t);
		for (int k = 0; k < ROUNDS; k++) {
			vdev_drv_kick(t.fx.drv, CT_CTRL_RX);
			cr_assert_eq(vdev_dev_poll(t.fx.dev), 0);
		}
		s1 = vstats(&t);
		cr_assert_eq(s1.notifies, s0.notifies + ROUNDS);
		cr_assert_eq(s1.descriptors, s0.descriptors);
		cr_assert_eq(s1.chains, s0.chains);
		cr_assert_eq(ct_stats(&t).no_buffer, 1, "%s: the wait counted %llu times", mode,
			     (unsigned long long)ct_stats(&t).no_buffer);
		cr_assert_eq(vdev_drv_read_status(t.fx.drv) & VIRTIO_CR_STATUS_NEEDS_RESET, 0);

		ct_ctrl_post(&t, 4);
		cr_assert(ct_ctrl_recv(&t, &msg, 2000), "%s: DEVICE_ADD lost", mode);
		cr_assert(msg.id == 0 && msg.event == EV_DEVICE_ADD, "%s: id %u event %u", mode,
			  msg.id, msg.event);
		cr_assert(!ct_ctrl_recv(&t, &msg, 20), "%s: a second message (event %u)", mode,
			  msg.event);
		ct_close(&t);
	}
}

/* Everything a device-level "broken" promises, against counters taken before. */
static void expect_device_broken(struct ct *t, const char *mode, uint64_t interrupts,
				 uint64_t logs)
{
	cr_assert_neq(vdev_drv_read_status(t->fx.drv) & VIRTIO_CR_STATUS_NEEDS_RESET, 0,
		      "%s: DEVICE_NEEDS_RESET not latched", mode);
	/* the config interrupt, and the queue's for the returned chain */
	cr_assert_gt(vstats(t).interrupts, interrupts, "%s: no interrupt", mode);
	cr_assert_neq(vdev_drv_read_isr(t->fx.drv) & VIRTIO_CR_ISR_CONF_CHANGED, 0, "%s", mode);
	cr_assert_gt(vdev_sim_log_count(t->fx.sim), logs, "%s: nothing logged", mode);
	cr_assert_eq(ct_stats(t).errors, 1, "%s", mode);
}

/*
 * Direction lies: a transmit chain with a device-writable buffer, a receive chain
 * that starts device-readable. Each comes back with length 0 and untouched (nothing
 * of it reaches the host, nothing is written into it), the device needs a reset, and
 * after one both directions work.
 */
Test(console_hostile, H22_direction_lies_on_data_queues_break_the_device)
{
	for (int i = 0; i < FX_NMODES_BASIC; i++) {
		const char *mode = fx_modes[i].name;
		struct script_port s;
		struct vdev_drv_seg segs[2];
		uint8_t *p, *w;
		void *tok;
		uint32_t len;
		uint64_t irq0, logs0, gpa;
		struct ct t;

		/* Transmit: readable bytes, then a writable buffer. */
		open_scripted(&t, &fx_modes[i], &s, 1);
		s.accept = true;
		segs[0] = (struct vdev_drv_seg){fx_buf(&t.fx, CHUNK, (void **)&p), CHUNK, false};
		segs[1] = (struct vdev_drv_seg){fx_buf(&t.fx, CHUNK, (void **)&w), CHUNK, true};
		for (int k = 0; k < CHUNK; k++)
			p[k] = pattern((size_t)k);
		memset(w, 0x5A, CHUNK);
		(void)vdev_drv_read_isr(t.fx.drv);
		irq0 = vstats(&t).interrupts;
		logs0 = vdev_sim_log_count(t.fx.sim);
		cr_assert_eq(vdev_drv_enqueue(t.fx.drv, TXQ, segs, 2, false, &s), 0);
		vdev_drv_kick(t.fx.drv, TXQ);
		cr_assert_eq(vdev_drv_dequeue(t.fx.drv, TXQ, &tok, &len), 1, "%s: chain leaked", mode);
		cr_assert_eq(len, 0);
		cr_assert_eq(s.write_calls, 0, "%s: a lying chain reached the host", mode);
		for (int k = 0; k < CHUNK; k++)
			cr_assert_eq(w[k], 0x5A, "%s: writable part written", mode);
		expect_device_broken(&t, mode, irq0, logs0);
		cr_assert_eq(vdev_drv_reset(t.fx.drv), 0);
		ct_ready(&t, ~0ULL);
		cr_assert_eq(vdev_drv_enqueue(t.fx.drv, TXQ, segs, 1, false, &s), 0);
		vdev_drv_kick(t.fx.drv, TXQ);
		cr_assert_eq(s.written, CHUNK, "%s: output after the reset", mode);
		cr_assert_eq(s.written_wrong, 0);
		ct_close(&t);

		/* Receive: a device-readable buffer where input would land. */
		open_scripted(&t, &fx_modes[i], &s, 1);
		s.input = 64;
		cr_assert_eq(eventfd_write(s.in_efd, 1), 0);
		segs[0] = (struct vdev_drv_seg){fx_buf(&t.fx, 64, (void **)&p), 64, false};
		memset(p, 0x33, 64);
		(void)vdev_drv_read_isr(t.fx.drv);
		irq0 = vstats(&t).interrupts;
		logs0 = vdev_sim_log_count(t.fx.sim);
		cr_assert_eq(vdev_drv_enqueue(t.fx.drv, RXQ, segs, 1, false, &s), 0);
		vdev_drv_kick(t.fx.drv, RXQ);
		cr_assert_eq(vdev_drv_dequeue(t.fx.drv, RXQ, &tok, &len), 1, "%s: chain leaked", mode);
		cr_assert_eq(len, 0);
		cr_assert_eq(s.read_calls, 0, "%s: input read into a readable buffer", mode);
		for (int k = 0; k < 64; k++)
			cr_assert_eq(p[k], 0x33, "%s: readable buffer written", mode);
		expect_device_broken(&t, mode, irq0, logs0);
		cr_assert_eq(vdev_drv_reset(t.fx.drv), 0);
		ct_ready(&t, ~0ULL);
		ct_rx_post(&t, RXQ, 64);
		cr_assert_eq(ct_wait_used(&t, RXQ, &gpa, 2000), 64, "%s: input after the reset",
			     mode);
		cr_assert_eq(((uint8_t *)vdev_sim_ptr(t.fx.sim, gpa, 1))[0], 'i');
		ct_close(&t);
	}
}

/* ---------------- H29: the longest chains the specification allows ---------------- */

/*
 * A chain of queue-size descriptors (the most a driver may build, 2.7.5.3.1), direct or
 * as one indirect table of queue-size entries, on the transmitq and the receiveq of a
 * port backed by a socketpair: every byte arrives in order, the used length is right,
 * and nothing breaks.
 */
#define LONG_SEG 3

static void long_chain_port(const struct fx_mode *m, bool indirect)
{
	struct vdev_console_config cfg = {.size = sizeof(struct vdev_console_config)};
	struct vdev_console_port_config port = {.size = sizeof(struct vdev_console_port_config)};
	struct ct t;
	int sv[2];

	ct_socketpair(sv);
	cr_assert_eq(vdev_console_backend_fds(sv[0], sv[0], VDEV_CONSOLE_FD_CLOSE, &port.backend), 0);
	cfg.nports = 1;
	cfg.ports = &port;
	ct_open(&t, m, &cfg);
	ct_ready(&t, ~0ULL);

	uint16_t qs = vdev_drv_queue_size(t.fx.drv, TXQ);
	struct vdev_drv_seg *segs = calloc(qs, sizeof(*segs));
	uint8_t *want = malloc((size_t)qs * LONG_SEG), *got = malloc((size_t)qs * LONG_SEG);
	uint32_t len;
	void *p;

	cr_assert(segs != NULL && want != NULL && got != NULL);
	cr_assert_geq(qs, 128, "%s: queue size %u", m->name, qs);
	/* guest -> host: qs readable buffers */
	for (uint32_t i = 0; i < qs; i++) {
		segs[i] = (struct vdev_drv_seg){fx_buf(&t.fx, LONG_SEG, &p), LONG_SEG, false};
		for (uint32_t k = 0; k < LONG_SEG; k++)
			((uint8_t *)p)[k] = want[i * LONG_SEG + k] = pattern(i * LONG_SEG + k);
	}
	cr_assert_eq(vdev_drv_enqueue(t.fx.drv, TXQ, segs, qs, indirect, segs), 0, "%s", m->name);
	vdev_drv_kick(t.fx.drv, TXQ);
	ct_host_read(&t, sv[1], got, (size_t)qs * LONG_SEG, 2000);
	cr_assert_arr_eq(got, want, (size_t)qs * LONG_SEG, "%s: output differs", m->name);
	cr_assert_eq(ct_wait_used(&t, TXQ, NULL, 2000), 0, "%s: tx used length", m->name);

	/* host -> guest: qs writable buffers, filled in order */
	for (uint32_t i = 0; i < qs; i++)
		segs[i] = (struct vdev_drv_seg){fx_buf(&t.fx, LONG_SEG, NULL), LONG_SEG, true};
	cr_assert_eq(vdev_drv_enqueue(t.fx.drv, RXQ, segs, qs, indirect, segs), 0, "%s", m->name);
	vdev_drv_kick(t.fx.drv, RXQ);
	cr_assert_eq(send(sv[1], want, (size_t)qs * LONG_SEG, 0), (ssize_t)qs * LONG_SEG);
	len = ct_wait_used(&t, RXQ, NULL, 2000);
	cr_assert_eq(len, (uint32_t)qs * LONG_SEG, "%s: rx used length %u", m->name, len);
	for (uint32_t i = 0; i < qs; i++)
		cr_assert_arr_eq(vdev_sim_ptr(t.fx.sim, segs[i].gpa, LONG_SEG), want + i * LONG_SEG,
				 LONG_SEG, "%s: rx buffer %u", m->name, i);

	cr_assert_eq(vdev_drv_read_status(t.fx.drv) & VIRTIO_CR_STATUS_NEEDS_RESET, 0,
		     "%s: broken by a legal chain", m->name);
	cr_assert_eq(ct_stats(&t).errors, 0);
	free(segs);
	free(want);
	free(got);
	ct_close(&t);
	close(sv[1]);
}

Test(console_hostile, H29_queue_size_chain_is_served)
{
	for (int i = 0; i < FX_NMODES; i++)
		long_chain_port(&fx_modes[i], false);
}

Test(console_hostile, H29_queue_size_indirect_table_is_served)
{
	for (int i = 0; i < FX_NMODES; i++)
		long_chain_port(&fx_modes[i], true);
}

/* The control queues take the same: DEVICE_READY spread over queue-size one-byte
 * buffers, and DEVICE_ADD delivered into a receive chain of queue-size buffers. */
static void long_chain_control(const struct fx_mode *m, bool indirect)
{
	struct vdev_console_config cfg = {.size = sizeof(struct vdev_console_config),
					  .multiport = true};
	const uint8_t ready[8] = {0, 0, 0, 0, EV_DEVICE_READY, 0, 1, 0};
	struct ct t;

	ct_open(&t, m, &cfg);
	ct_ready(&t, ~0ULL);

	uint16_t qs = vdev_drv_queue_size(t.fx.drv, CT_CTRL_TX);
	struct vdev_drv_seg *segs = calloc(qs, sizeof(*segs));
	uint64_t rx[8];
	uint8_t msg[8];
	uint32_t len;
	void *p;

	cr_assert(segs != NULL);
	for (uint32_t i = 0; i < qs; i++) {
		segs[i] = (struct vdev_drv_seg){fx_buf(&t.fx, 1, NULL), 1, true};
		if (i < 8)
			rx[i] = segs[i].gpa;
	}
	cr_assert_eq(vdev_drv_enqueue(t.fx.drv, CT_CTRL_RX, segs, qs, indirect, NULL), 0);
	vdev_drv_kick(t.fx.drv, CT_CTRL_RX);
	for (uint32_t i = 0; i < qs; i++) {
		segs[i] = (struct vdev_drv_seg){fx_buf(&t.fx, 1, &p), 1, false};
		*(uint8_t *)p = i < sizeof(ready) ? ready[i] : 0xEE;
	}
	cr_assert_eq(vdev_drv_enqueue(t.fx.drv, CT_CTRL_TX, segs, qs, indirect, NULL), 0);
	vdev_drv_kick(t.fx.drv, CT_CTRL_TX);
	len = ct_wait_used(&t, CT_CTRL_RX, NULL, 2000);
	cr_assert_eq(len, 8, "%s: DEVICE_ADD length %u", m->name, len);
	for (uint32_t i = 0; i < 8; i++)
		msg[i] = *(uint8_t *)vdev_sim_ptr(t.fx.sim, rx[i], 1);
	cr_assert_eq(msg[4], EV_DEVICE_ADD, "%s: event %u", m->name, msg[4]);
	cr_assert_eq(msg[0] | msg[1] | msg[2] | msg[3], 0, "%s: port id", m->name);
	cr_assert_eq(vdev_drv_read_status(t.fx.drv) & VIRTIO_CR_STATUS_NEEDS_RESET, 0,
		     "%s: broken by a legal control chain", m->name);
	cr_assert_eq(ct_stats(&t).errors, 0);
	free(segs);
	ct_close(&t);
}

Test(console_hostile, H29_queue_size_control_chains_are_served)
{
	for (int i = 0; i < FX_NMODES; i++) {
		long_chain_control(&fx_modes[i], false);
		long_chain_control(&fx_modes[i], true);
	}
}
