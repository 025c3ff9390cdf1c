/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-console, single port: data both ways through the fd backends, a log file,
 * back-pressure, console size and config interrupts, emergency write, a custom
 * backend, create() argument checks, and reset with output pending (H12). Driven
 * through the driver peer in legacy, modern and transitional modes.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "con_util.h"
#include "dev_loop.h"

/* One port whose backend is sv[0] of a fresh socketpair. */
static void open_sock_console(struct ct *t, const struct fx_mode *m, int sv[2],
			      struct vdev_console_config *cfg)
{
	struct vdev_console_port_config port = {.size = sizeof(struct vdev_console_port_config)};

	ct_socketpair(sv);
	cr_assert_eq(vdev_console_backend_fds(sv[0], sv[0], VDEV_CONSOLE_FD_CLOSE, &port.backend), 0);
	cfg->nports = 1;
	cfg->ports = &port;
	ct_open(t, m, cfg);
	cfg->ports = NULL;
}

Test(console, offers_features_and_config)
{
	for (int i = 0; i < FX_NMODES_BASIC; i++) {
		struct vdev_console_config cfg = {.size = sizeof(struct vdev_console_config),
						  .cols = 100, .rows = 30};
		struct ct t;
		uint64_t f;

		ct_open(&t, &fx_modes[i], &cfg);
		f = vdev_drv_read_features(t.fx.drv);
		cr_assert(f & VIRTIO_CONSOLE_F_SIZE, "%s: SIZE not offered", fx_modes[i].name);
		cr_assert(f & VIRTIO_CONSOLE_F_EMERG_WRITE);
		cr_assert(!(f & VIRTIO_CONSOLE_F_MULTIPORT), "MULTIPORT offered with one port");
		cr_assert_eq(vdev_dev_type(t.fx.dev), VIRTIO_TYPE_CONSOLE);
		cr_assert_eq(vdev_dev_virtio(t.fx.dev)->vops->nvq, 2);
		ct_ready(&t, ~0ULL);
		cr_assert_eq(vdev_drv_read_config16(t.fx.drv, 0), 100);
		cr_assert_eq(vdev_drv_read_config16(t.fx.drv, 2), 30);
		cr_assert_eq(vdev_drv_read_config32(t.fx.drv, 4), 1);
		cr_assert_eq(vdev_drv_read_config32(t.fx.drv, 8), 0, "emerg_wr must read 0");
		ct_close(&t);
	}
}

Test(console, echo_through_socketpair)
{
	for (size_t i = 0; i < FX_NMODES; i++) {
		struct vdev_console_config cfg = {.size = sizeof(struct vdev_console_config)};
		struct vdev_dev_stats st;
		struct ct t;
		int sv[2];
		char in[64];
		uint64_t gpa;
		uint32_t len;

		open_sock_console(&t, &fx_modes[i], sv, &cfg);
		ct_ready(&t, ~0ULL);
		/* host -> guest */
		gpa = ct_rx_post(&t, 0, 64);
		cr_assert_eq(send(sv[1], "hello guest", 11, 0), 11);
		len = ct_wait_used(&t, 0, &gpa, 2000);
		cr_assert_eq(len, 11, "%s: rx len %u", fx_modes[i].name, len);
		cr_assert_arr_eq(vdev_sim_ptr(t.fx.sim, gpa, 11), "hello guest", 11);
		/* guest -> host, in two chains */
		ct_tx(&t, 1, "hello ", 6);
		ct_tx(&t, 1, "host", 4);
		ct_host_read(&t, sv[1], in, 10, 2000);
		cr_assert_arr_eq(in, "hello host", 10, "%s", fx_modes[i].name);
		cr_assert_eq(ct_wait_used(&t, 1, NULL, 2000), 0, "tx used length must be 0");
		ct_wait_used(&t, 1, NULL, 2000);
		st = ct_stats(&t);
		cr_assert_eq(st.bytes_out, 11);
		cr_assert_eq(st.bytes_in, 10);
		cr_assert_eq(st.requests, 3);
		cr_assert_eq(st.dropped, 0);
		ct_close(&t);
		close(sv[1]);
	}
}

Test(console, input_waits_for_guest_buffers)
{
	for (int i = 0; i < FX_NMODES_BASIC; i++) {
		struct vdev_console_config cfg = {.size = sizeof(struct vdev_console_config)};
		struct vdev_pollfd fds[8];
		struct ct t;
		int sv[2], n;
		uint64_t gpa;

		open_sock_console(&t, &fx_modes[i], sv, &cfg);
		ct_ready(&t, ~0ULL);
		cr_assert_eq(send(sv[1], "early", 5, 0), 5);
		fx_pump(&t.fx, 20);
		/* Nowhere to put it: the input fd is not watched, the wait is counted once. */
		n = vdev_dev_pollfds(t.fx.dev, fds, 8);
		for (int k = 0; k < n; k++)
			cr_assert(!(fds[k].fd == sv[0] && (fds[k].events & VDEV_POLL_IN)),
				  "%s: input fd watched without guest buffers", fx_modes[i].name);
		cr_assert_eq(ct_stats(&t).no_buffer, 1, "%s: no_buffer %llu", fx_modes[i].name,
			     (unsigned long long)ct_stats(&t).no_buffer);
		/* Small buffers: the data is split, nothing lost. */
		ct_rx_post(&t, 0, 3);
		ct_rx_post(&t, 0, 3);
		cr_assert_eq(ct_wait_used(&t, 0, &gpa, 2000), 3);
		cr_assert_arr_eq(vdev_sim_ptr(t.fx.sim, gpa, 3), "ear", 3);
		cr_assert_eq(ct_wait_used(&t, 0, &gpa, 2000), 2);
		cr_assert_arr_eq(vdev_sim_ptr(t.fx.sim, gpa, 2), "ly", 2);
		ct_close(&t);
		close(sv[1]);
	}
}

Test(console, logfile_backend_receives_output)
{
	for (int i = 0; i < FX_NMODES_BASIC; i++) {
		char dir[] = "/tmp/vdev-con-XXXXXX", path[64], buf[64];
		struct vdev_console_config cfg = {.size = sizeof(struct vdev_console_config)};
		struct vdev_console_port_config port = {.size = sizeof(struct vdev_console_port_config)};
		struct ct t;
		ssize_t n;
		int fd;

		cr_assert_not_null(mkdtemp(dir));
		snprintf(path, sizeof(path), "%s/guest.log", dir);
		cr_assert_eq(vdev_console_backend_logfile(path, &port.backend), 0);
		cr_assert_null(port.backend.read, "a log file has no input");
		cfg.nports = 1;
		cfg.ports = &port;
		ct_open(&t, &fx_modes[i], &cfg);
		ct_ready(&t, ~0ULL);
		ct_rx_post(&t, 0, 16); /* output-only: must stay unused */
		ct_tx(&t, 1, "boot: ok\n", 9);
		ct_tx(&t, 1, "login: ", 7);
		ct_wait_used(&t, 1, NULL, 2000);
		ct_wait_used(&t, 1, NULL, 2000);
		fx_pump(&t.fx, 5);
		cr_assert_eq(fx_drain_used(&t.fx, 0), 0, "rx buffer used on an output-only port");
		ct_close(&t);
		fd = open(path, O_RDONLY);
		cr_assert_geq(fd, 0);
		n = read(fd, buf, sizeof(buf));
		close(fd);
		unlink(path);
		rmdir(dir);
		cr_assert_eq(n, 16, "%s: log has %zd bytes", fx_modes[i].name, n);
		cr_assert_arr_eq(buf, "boot: ok\nlogin: ", 16);
	}
}

/*
 * Back-pressure: the host end is not read. The device writes until the socket is full,
 * then holds one chain and takes no more; once the host drains, everything arrives in
 * order, once.
 */
#define BP_CHAINS 64
#define BP_CHUNK 4096

static uint8_t bp_byte(size_t off)
{
	return (uint8_t)(off * 7 + off / 4093);
}

static void bp_fill(struct ct *t, int sv[2])
{
	int small = 4096;

	cr_assert_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	cr_assert_eq(setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	for (int c = 0; c < BP_CHAINS; c++) {
		uint8_t *p;
		struct vdev_drv_seg seg = {fx_buf(&t->fx, BP_CHUNK, (void **)&p), BP_CHUNK, false};

		for (int k = 0; k < BP_CHUNK; k++)
			p[k] = bp_byte((size_t)c * BP_CHUNK + (size_t)k);
		cr_assert_eq(vdev_drv_enqueue(t->fx.drv, 1, &seg, 1, false, NULL), 0);
	}
	vdev_drv_kick(t->fx.drv, 1);
	fx_pump(&t->fx, 20);
}

Test(console, back_pressure_holds_one_chain_and_resumes)
{
	for (int i = 0; i < FX_NMODES_BASIC; i++) {
		struct vdev_console_config cfg = {.size = sizeof(struct vdev_console_config),
						  .qsize = 64};
		struct virtio_vq_info *txq;
		struct vdev_pollfd fds[8];
		static uint8_t got[BP_CHAINS * BP_CHUNK];
		struct ct t;
		int sv[2], done, n, watched = 0;
		uint16_t taken;
		size_t have = 0;

		open_sock_console(&t, &fx_modes[i], sv, &cfg);
		ct_ready(&t, ~0ULL);
		bp_fill(&t, sv);
		txq = &vdev_dev_virtio(t.fx.dev)->queues[1];
		done = fx_drain_used(&t.fx, 1);
		cr_assert_lt(done, BP_CHAINS - 2, "%s: the socket never filled (%d done)",
			     fx_modes[i].name, done);
		cr_assert_eq(txq->n_inflight, 1, "%s: %u chains held", fx_modes[i].name,
			     txq->n_inflight);
		taken = txq->last_avail;
		cr_assert_eq(taken, done + 1, "device took chains it cannot write");
		n = vdev_dev_pollfds(t.fx.dev, fds, 8);
		for (int k = 0; k < n; k++)
			watched |= fds[k].fd == sv[0] && (fds[k].events & VDEV_POLL_OUT);
		cr_assert(watched, "%s: output fd not watched for writing", fx_modes[i].name);
		/* Kicks and polls while blocked change nothing. */
		vdev_drv_kick(t.fx.drv, 1);
		fx_pump(&t.fx, 20);
		cr_assert_eq(txq->last_avail, taken);
		cr_assert_eq(fx_drain_used(&t.fx, 1), 0);
		/* Drain the host side: everything arrives, in order, once. */
		while (have < sizeof(got)) {
			ssize_t r = recv(sv[1], got + have, sizeof(got) - have, MSG_DONTWAIT);

			if (r > 0)
				have += (size_t)r;
			else
				cr_assert_eq(dev_loop_once(&t.fx.dev, 1, 20) >= 0, 1);
			done += fx_drain_used(&t.fx, 1);
		}
		fx_pump(&t.fx, 5);
		done += fx_drain_used(&t.fx, 1);
		cr_assert_eq(done, BP_CHAINS, "%s: %d chains completed", fx_modes[i].name, done);
		cr_assert_eq(recv(sv[1], got, 1, MSG_DONTWAIT), -1, "bytes duplicated");
		for (size_t k = 0; k < sizeof(got); k++)
			cr_assert_eq(got[k], bp_byte(k), "%s: byte %zu wrong", fx_modes[i].name, k);
		cr_assert_eq(ct_stats(&t).bytes_in, sizeof(got));
		cr_assert_eq(txq->n_inflight, 0);
		ct_close(&t);
		close(sv[1]);
	}
}

/* H12: reset while a chain is held under back-pressure and receive buffers are posted;
 * whatever the host does afterwards, nothing is written to guest memory. */
Test(console, H12_reset_with_output_pending_writes_nothing)
{
	for (int i = 0; i < FX_NMODES_BASIC; i++) {
		struct vdev_console_config cfg = {.size = sizeof(struct vdev_console_config),
						  .qsize = 64};
		struct vdev_dev_stats before;
		struct ct t;
		int sv[2];
		uint64_t rx_gpa, used_tx, used_rx;
		volatile uint16_t *utx, *urx;
		uint16_t utx0, urx0;
		uint8_t *rxp, sink[4096], in[8];

		open_sock_console(&t, &fx_modes[i], sv, &cfg);
		ct_ready(&t, ~0ULL);
		bp_fill(&t, sv);
		cr_assert_eq(vdev_dev_virtio(t.fx.dev)->queues[1].n_inflight, 1, "no chain held");
		rx_gpa = ct_rx_post(&t, 0, 64);
		rxp = vdev_sim_ptr(t.fx.sim, rx_gpa, 64);
		cr_assert_eq(vdev_drv_queue_rings(t.fx.drv, 1, NULL, NULL, &used_tx), 0);
		cr_assert_eq(vdev_drv_queue_rings(t.fx.drv, 0, NULL, NULL, &used_rx), 0);
		utx = vdev_sim_ptr(t.fx.sim, used_tx, 4);
		urx = vdev_sim_ptr(t.fx.sim, used_rx, 4);
		utx0 = utx[1];
		urx0 = urx[1];
		before = ct_stats(&t);

		cr_assert_eq(vdev_drv_reset(t.fx.drv), 0);
		/* The host drains and sends input: the old rings must not move. */
		while (recv(sv[1], sink, sizeof(sink), MSG_DONTWAIT) > 0)
			fx_pump(&t.fx, 1);
		cr_assert_eq(send(sv[1], "late", 4, 0), 4);
		fx_pump(&t.fx, 30);
		while (recv(sv[1], sink, sizeof(sink), MSG_DONTWAIT) > 0)
			fx_pump(&t.fx, 1);
		cr_assert_eq(utx[1], utx0, "%s: tx used ring written after reset",
			     fx_modes[i].name);
		cr_assert_eq(urx[1], urx0, "%s: rx used ring written after reset",
			     fx_modes[i].name);
		for (int k = 0; k < 64; k++)
			cr_assert_eq(rxp[k], 0xAA, "%s: rx buffer written after reset",
				     fx_modes[i].name);
		cr_assert_eq(ct_stats(&t).requests, before.requests);
		cr_assert_eq(vdev_dev_virtio(t.fx.dev)->queues[1].n_inflight, 0);

		/* The device works again after the driver re-initialises it. */
		ct_ready(&t, ~0ULL);
		ct_rx_post(&t, 0, 64);
		cr_assert_eq(ct_wait_used(&t, 0, &rx_gpa, 2000), 4, "held input lost");
		cr_assert_arr_eq(vdev_sim_ptr(t.fx.sim, rx_gpa, 4), "late", 4);
		ct_tx(&t, 1, "again", 5);
		ct_host_read(&t, sv[1], in, 5, 2000);
		cr_assert_arr_eq(in, "again", 5);
		ct_close(&t);
		close(sv[1]);
	}
}

Test(console, resize_raises_config_interrupt)
{
	for (int i = 0; i < FX_NMODES_BASIC; i++) {
		struct vdev_console_config cfg = {.size = sizeof(struct vdev_console_config)};
		struct ct t;
		uint8_t gen = 0;
		bool modern = fx_modes[i].access != VDEV_DRV_LEGACY;

		ct_open(&t, &fx_modes[i], &cfg);
		ct_ready(&t, ~0ULL);
		cr_assert(vdev_drv_features(t.fx.drv) & VIRTIO_CONSOLE_F_SIZE);
		cr_assert_eq(vdev_drv_read_config16(t.fx.drv, 0), 80);
		cr_assert_eq(vdev_drv_read_config16(t.fx.drv, 2), 24);
		(void)vdev_drv_read_isr(t.fx.drv);
		if (modern)
			gen = (uint8_t)vdev_drv_region_read(t.fx.drv, VDEV_DRV_REGION_COMMON,
							    VIRTIO_COMMON_CFGGENERATION, 1);
		cr_assert_eq(vdev_console_resize(t.fx.dev, 0, 132, 43), 0);
		cr_assert(vdev_drv_read_isr(t.fx.drv) & VIRTIO_CR_ISR_CONF_CHANGED,
			  "%s: no config interrupt", fx_modes[i].name);
		cr_assert_eq(vdev_drv_read_config16(t.fx.drv, 0), 132);
		cr_assert_eq(vdev_drv_read_config16(t.fx.drv, 2), 43);
		if (modern)
			cr_assert_neq(vdev_drv_region_read(t.fx.drv, VDEV_DRV_REGION_COMMON,
							   VIRTIO_COMMON_CFGGENERATION, 1),
				      gen, "config_generation unchanged");
		/* Not a port, not a console device, not multiport. */
		cr_assert_eq(vdev_console_resize(t.fx.dev, 1, 1, 1), -EINVAL);
		cr_assert_eq(vdev_console_resize(NULL, 0, 1, 1), -EINVAL);
		cr_assert_eq(vdev_console_set_open(t.fx.dev, 0, true), -ENOTSUP);
		ct_close(&t);
	}
}

Test(console, resize_without_size_feature_refused)
{
	struct vdev_console_config cfg = {.size = sizeof(struct vdev_console_config),
					  .no_size = true};
	struct ct t;

	ct_open(&t, &fx_modes[1], &cfg);
	cr_assert(!(vdev_drv_read_features(t.fx.drv) & VIRTIO_CONSOLE_F_SIZE));
	cr_assert_eq(vdev_console_resize(t.fx.dev, 0, 10, 10), -ENOTSUP);
	ct_close(&t);
}

Test(console, emerg_write_goes_to_port0)
{
	for (int i = 0; i < FX_NMODES_BASIC; i++) {
		struct vdev_console_config cfg = {.size = sizeof(struct vdev_console_config)};
		struct ct t;
		int sv[2];
		char out[4];

		open_sock_console(&t, &fx_modes[i], sv, &cfg);
		/* Usable before the driver is set up: that is its point. */
		vdev_drv_write_config32(t.fx.drv, 8, 'E');
		ct_ready(&t, ~0ULL);
		vdev_drv_write_config32(t.fx.drv, 8, 'M');
		vdev_drv_write_config8(t.fx.drv, 8, 'G');
		ct_host_read(&t, sv[1], out, 3, 2000);
		cr_assert_arr_eq(out, "EMG", 3, "%s", fx_modes[i].name);
		cr_assert_eq(vdev_drv_read_config32(t.fx.drv, 8), 0);
		ct_close(&t);
		close(sv[1]);
	}
}

Test(console, emerg_write_refused_when_not_offered)
{
	struct vdev_console_config cfg = {.size = sizeof(struct vdev_console_config),
					  .no_emerg_write = true};
	struct vdev_virtio_stats vs;
	struct ct t;
	int sv[2];
	char c;

	open_sock_console(&t, &fx_modes[1], sv, &cfg);
	cr_assert(!(vdev_drv_read_features(t.fx.drv) & VIRTIO_CONSOLE_F_EMERG_WRITE));
	ct_ready(&t, ~0ULL);
	vdev_drv_write_config32(t.fx.drv, 8, 'X');
	vdev_drv_write_config16(t.fx.drv, 0, 5); /* cols is read-only */
	fx_pump(&t.fx, 5);
	vdev_virtio_get_stats(vdev_dev_virtio(t.fx.dev), &vs);
	cr_assert_eq(vs.bad_accesses, 2);
	cr_assert_eq(recv(sv[1], &c, 1, MSG_DONTWAIT), -1, "refused emergency write came out");
	ct_close(&t);
	close(sv[1]);
}

/* A backend from the embedder: in-memory buffers, no fd at all. */
struct mem_be {
	char in[32];
	size_t in_len, in_off;
	char out[64];
	size_t out_len;
	int releases;
};

static ssize_t mem_read(void *o, const struct iovec *iov, int n)
{
	struct mem_be *m = o;
	size_t k = m->in_len - m->in_off;

	if (k == 0)
		return -EAGAIN;
	if (k > iov[0].iov_len)
		k = iov[0].iov_len;
	(void)n;
	memcpy(iov[0].iov_base, m->in + m->in_off, k);
	m->in_off += k;
	return (ssize_t)k;
}

static ssize_t mem_write(void *o, const struct iovec *iov, int n)
{
	struct mem_be *m = o;
	size_t total = 0;

	for (int i = 0; i < n; i++) {
		cr_assert_leq(m->out_len + iov[i].iov_len, sizeof(m->out));
		memcpy(m->out + m->out_len, iov[i].iov_base, iov[i].iov_len);
		m->out_len += iov[i].iov_len;
		total += iov[i].iov_len;
	}
	return (ssize_t)total;
}

static void mem_release(void *o)
{
	((struct mem_be *)o)->releases++;
}

static struct vdev_console_backend mem_backend(struct mem_be *m)
{
	return (struct vdev_console_backend){
		.version = VDEV_CONSOLE_BACKEND_VERSION,
		.opaque = m,
		.read = mem_read,
		.write = mem_write,
		.release = mem_release,
	};
}

Test(console, custom_backend_without_fds)
{
	for (int i = 0; i < FX_NMODES_BASIC; i++) {
		struct mem_be m = {.in = "typed", .in_len = 5};
		struct vdev_console_port_config port = {.size = sizeof(struct vdev_console_port_config),
							.backend = mem_backend(&m)};
		struct vdev_console_config cfg = {.size = sizeof(struct vdev_console_config),
						  .nports = 1, .ports = &port};
		struct ct t;
		uint64_t gpa;

		ct_open(&t, &fx_modes[i], &cfg);
		ct_ready(&t, ~0ULL);
		ct_rx_post(&t, 0, 32);
		cr_assert_eq(ct_wait_used(&t, 0, &gpa, 2000), 5);
		cr_assert_arr_eq(vdev_sim_ptr(t.fx.sim, gpa, 5), "typed", 5);
		ct_tx(&t, 1, "shown", 5);
		ct_wait_used(&t, 1, NULL, 2000);
		cr_assert_eq(m.out_len, 5);
		cr_assert_arr_eq(m.out, "shown", 5);
		ct_close(&t);
		cr_assert_eq(m.releases, 1, "backend released %d times", m.releases);
	}
}

Test(console, port_without_backend_discards_output)
{
	struct vdev_console_config cfg = {.size = sizeof(struct vdev_console_config)};
	struct ct t;

	ct_open(&t, &fx_modes[1], &cfg);
	ct_ready(&t, ~0ULL);
	ct_tx(&t, 1, "void", 4);
	ct_wait_used(&t, 1, NULL, 2000);
	cr_assert_eq(ct_stats(&t).dropped, 1);
	ct_close(&t);
}

/* Every bad argument: -EINVAL, a log line naming the field, nothing opened, and the
 * caller's backend untouched. */
Test(console, create_rejects_bad_arguments)
{
	struct vdev_sim_config scfg = {.size = sizeof(struct vdev_sim_config), .ram_size = 1 << 20};
	struct vdev_sim *sim;
	struct vmctx *ctx;
	struct vdev_dev *dev = NULL;
	struct mem_be m = {0};
	struct vdev_console_port_config ports[2] = {{.size = sizeof(struct vdev_console_port_config),
						     .backend = mem_backend(&m)},
						    {.size = sizeof(struct vdev_console_port_config),
						     .backend = mem_backend(&m)}};
	char longname[VDEV_CONSOLE_NAME_MAX + 2];
	static const struct {
		const char *field;
		struct vdev_console_config cfg;
	} bad[] = {
		{"pci.mode", {.pci = {.mode = (enum vdev_pci_mode)9}}},
		{"qsize", {.pci = {.mode = VDEV_PCI_MODERN}, .qsize = 100}},
		{"max_nr_ports", {.pci = {.mode = VDEV_PCI_MODERN}, .max_nr_ports = 32}},
		{"nports", {.pci = {.mode = VDEV_PCI_MODERN}, .nports = 2, .max_nr_ports = 1}},
		{"ports", {.pci = {.mode = VDEV_PCI_MODERN}, .nports = 1}},
	};
	struct vdev_console_config cfg = {.size = sizeof(struct vdev_console_config),
					  .pci = {.mode = VDEV_PCI_MODERN}};
	int fds0;

	cr_assert_eq(vdev_sim_create(&scfg, &sim), 0);
	ctx = vdev_sim_vmctx(sim);
	fds0 = fx_count_fds();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vdev_console_config c = bad[i].cfg;
		uint64_t logs = vdev_sim_log_count(sim);

		c.size = sizeof(c); /* left out of the table to keep each case on a line */
		if (c.nports == 2)
			c.ports = ports;
		cr_assert_eq(vdev_console_create(ctx, "bad", &c, &dev), -EINVAL, "%s",
			     bad[i].field);
		cr_assert_gt(vdev_sim_log_count(sim), logs, "%s: not logged", bad[i].field);
		cr_assert_not_null(strstr(vdev_sim_last_log(sim), bad[i].field),
				   "log \"%s\" does not name %s", vdev_sim_last_log(sim),
				   bad[i].field);
	}
	/* Port-level fields. */
	cfg.nports = 2;
	cfg.ports = ports;
	ports[1].backend.version = 99;
	cr_assert_eq(vdev_console_create(ctx, "bad", &cfg, &dev), -EINVAL);
	cr_assert_not_null(strstr(vdev_sim_last_log(sim), "ports[1].backend.version"));
	ports[1].backend.version = VDEV_CONSOLE_BACKEND_VERSION;
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ports[0].name = longname;
	cr_assert_eq(vdev_console_create(ctx, "bad", &cfg, &dev), -EINVAL);
	cr_assert_not_null(strstr(vdev_sim_last_log(sim), "ports[0].name"));
	cr_assert_eq(vdev_console_create(ctx, "bad", NULL, &dev), -EINVAL);
	cr_assert_not_null(strstr(vdev_sim_last_log(sim), "cfg"));
	cr_assert_eq(vdev_console_create(ctx, "bad", &cfg, NULL), -EINVAL);
	cr_assert_eq(vdev_console_create(NULL, "bad", &cfg, &dev), -EINVAL);
	cr_assert_null(dev);
	cr_assert_eq(m.releases, 0, "a failed create released the caller's backend");
	cr_assert_eq(fx_count_fds(), fds0, "a failed create left an fd open");
	/* Backend constructors check their arguments too. */
	{
		struct vdev_console_backend be;
		char name[2];
		cr_assert_eq(vdev_console_backend_fds(-1, -1, 0, &be), -EINVAL);
		int fl0 = fcntl(0, F_GETFL);
		cr_assert_eq(vdev_console_backend_fds(1000, -1, 0, &be), -EBADF);
		cr_assert_eq(fcntl(0, F_GETFL), fl0, "a failed constructor changed fd 0");
		cr_assert_eq(vdev_console_backend_logfile("", &be), -EINVAL);
		cr_assert_eq(vdev_console_backend_pty(&be, name, sizeof(name)), -ERANGE);
	}
	cr_assert_eq(fx_count_fds(), fds0, "a failed backend constructor left an fd open");
	vdev_sim_destroy(sim);
}

Test(console, pty_backend_carries_data)
{
	struct vdev_console_port_config port = {.size = sizeof(struct vdev_console_port_config)};
	struct vdev_console_config cfg = {.size = sizeof(struct vdev_console_config),
					  .nports = 1, .ports = &port};
	char name[64], buf[8];
	struct ct t;
	uint64_t gpa;
	int s;

	cr_assert_eq(vdev_console_backend_pty(&port.backend, name, sizeof(name)), 0,
		     "no pty here; this test needs /dev/ptmx");
	ct_open(&t, &fx_modes[1], &cfg);
	ct_ready(&t, ~0ULL);
	s = open(name, O_RDWR | O_NOCTTY);
	cr_assert_geq(s, 0, "open %s", name);
	ct_tx(&t, 1, "tty!", 4);
	ct_wait_used(&t, 1, NULL, 2000);
	cr_assert_eq(read(s, buf, 4), 4);
	cr_assert_arr_eq(buf, "tty!", 4);
	ct_rx_post(&t, 0, 16);
	cr_assert_eq(write(s, "key", 3), 3);
	cr_assert_eq(ct_wait_used(&t, 0, &gpa, 2000), 3, "raw mode: bytes pass at once");
	cr_assert_arr_eq(vdev_sim_ptr(t.fx.sim, gpa, 3), "key", 3);
	close(s);
	ct_close(&t);
}
