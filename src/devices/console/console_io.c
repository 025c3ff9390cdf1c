/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-console data path: guest output (transmitq) to each port's backend with
 * back-pressure, host input to the guest's receive buffers, emergency writes, and
 * which fds the embedder's loop should watch.
 *
 * No host buffering: output is written from the guest's own buffers; when the
 * backend would block, the port keeps that one chain (its iovecs) and takes no more
 * until the backend's fd is writable. Input is read straight into a receive chain,
 * and only while the guest has one.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "core/iov.h"
#include "devices/console/console_internal.h"
#include "trace/trace_format.h"
#include "trace/trace_hooks.h"
#include "util/common.h"

/* ---- per-port state ---- */

void con_port_guest_reset(struct con_port *p)
{
	/* A held chain is simply forgotten: the reset unmapped its queue, and its
	 * memory is the guest's again (H12). */
	p->tx_held = false;
	p->tx_niov = 0;
	p->tx_idx = 0;
	p->out_blocked = false;
	p->tx_again = false;
	p->announced = false;
	p->guest_ready = false;
	p->guest_open = false;
	p->pending = 0;
	p->rx_starved = false;
}

/* May host input go to this port's guest side now? */
static bool rx_gate(const struct con_dev *c, const struct con_port *p, uint32_t port)
{
	if (!p->present || !con_live(c) || p->be.read == NULL || p->in_eof)
		return false;
	if (!con_multiport(c))
		return port == 0;
	/* Linux drops data for a port nobody opened; hold it on the host instead. */
	return p->guest_ready && (p->guest_open || p->console);
}

static int be_fd(const struct con_port *p, short dir)
{
	return p->be.poll_fd ? p->be.poll_fd(p->be.opaque, dir) : -1;
}

/* ---- emergency write ---- */

static int emerg_flush(struct con_dev *c)
{
	struct con_port *p = &c->ports[0];

	while (c->emerg_len > 0) {
		struct iovec iov = {c->emerg, c->emerg_len};
		ssize_t n;

		if (!p->present || p->be.write == NULL) {
			c->dev.stats.dropped++;
			c->emerg_len = 0;
			break;
		}
		n = p->be.write(p->be.opaque, &iov, 1);
		if (vdev_unlikely(vdev_virtio_trace(&c->dev.base) != NULL))
			vdev_trace_backend(vdev_virtio_trace(&c->dev.base), VDEV_TR_BE_CON_WRITE, 0,
					   vdev_trace_result(n), NULL, 0);
		if (n == -EAGAIN || n == 0) {
			c->emerg_blocked = true;
			return -EAGAIN;
		}
		if (n < 0) {
			c->dev.stats.dropped++;
			c->emerg_len = 0;
			break;
		}
		if ((size_t)n > c->emerg_len)
			n = (ssize_t)c->emerg_len;
		memmove(c->emerg, c->emerg + n, c->emerg_len - (size_t)n);
		c->emerg_len -= (uint32_t)n;
		c->dev.stats.bytes_in += (uint64_t)n;
	}
	c->emerg_blocked = false;
	return 0;
}

void con_emerg_put(struct con_dev *c, uint8_t ch)
{
	/* A fixed buffer: a guest hammering emerg_wr at a stuck host loses characters. */
	if (c->emerg_len == CON_EMERG_BUF) {
		c->dev.stats.dropped++;
		return;
	}
	c->emerg[c->emerg_len++] = ch;
	if (!c->emerg_blocked)
		(void)emerg_flush(c);
}

/* ---- guest output ---- */

/* Drop what is left of the held chain; the guest still gets it back. */
static void tx_drop(struct con_dev *c, struct con_port *p, const char *why, int err)
{
	c->dev.stats.dropped++;
	if (why != NULL && !p->tx_held_err_logged) {
		vdev_virtio_log(&c->dev.base, VDEV_LOG_WARN, "console: port output dropped: %s (%s)",
				why, strerror(err));
		p->tx_held_err_logged = true;
	}
	p->tx_idx = p->tx_niov;
}

static void tx_advance(struct con_port *p, size_t n)
{
	p->tx_idx += vdev_iov_skip(p->tx_iov + p->tx_idx, p->tx_niov - p->tx_idx, n);
}

/* Write the held chain: 0 when it is finished (written or dropped), -EAGAIN when the
 * backend is full. */
static int tx_write(struct con_dev *c, struct con_port *p, uint32_t port)
{
	if (!p->present || p->be.write == NULL) {
		tx_drop(c, p, NULL, 0);
		return 0;
	}
	/* Emergency characters go first; they were written before this chain resumed. */
	if (port == 0 && c->emerg_len > 0 && emerg_flush(c) == -EAGAIN)
		return -EAGAIN;
	while (p->tx_idx < p->tx_niov) {
		ssize_t n = p->be.write(p->be.opaque, &p->tx_iov[p->tx_idx],
					p->tx_niov - p->tx_idx);

		if (vdev_unlikely(vdev_virtio_trace(&c->dev.base) != NULL))
			vdev_trace_backend(vdev_virtio_trace(&c->dev.base), VDEV_TR_BE_CON_WRITE,
					   (int)port, vdev_trace_result(n), NULL, 0);

		if (n == -EAGAIN || n == 0)
			return -EAGAIN;
		if (n < 0) {
			tx_drop(c, p, "backend write failed", vdev_backend_errno(n));
			return 0;
		}
		p->tx_held_err_logged = false;
		c->dev.stats.bytes_in += (uint64_t)n;
		tx_advance(p, (size_t)n);
	}
	return 0;
}

/* Take the next transmit chain into p->tx_*: 1 taken, 0 none, -1 stop (broken). */
static int tx_take(struct con_dev *c, struct con_port *p, struct virtio_vq_info *vq)
{
	uint16_t *flags = c->iov_flags, head;
	int n = vq_getchain(vq, &head, p->tx_iov, c->iov_cap, flags);

	if (n <= 0)
		return n < 0 ? -1 : 0;
	if (vdev_iov_readable(p->tx_iov, flags, n, NULL) != n) {
		/* A device-writable buffer on a transmitq: the driver is confused. */
		vq_relchain(vq, head, 0);
		c->dev.stats.errors++;
		vdev_virtio_log(&c->dev.base, VDEV_LOG_WARN,
				"console: queue %u: writable buffer in a transmit chain", vq->num);
		virtio_dev_error(&c->dev.base);
		return -1;
	}
	p->tx_held = true;
	p->tx_head = head;
	p->tx_niov = n;
	p->tx_idx = 0;
	p->tx_epoch = c->dev.base.epoch;
	return 1;
}

void con_process_tx(struct con_dev *c, uint32_t port)
{
	struct con_port *p = &c->ports[port];
	struct virtio_vq_info *vq = &c->queues[con_txq(port)];
	uint32_t budget = vq->qsize;

	p->tx_again = false;
	if (p->out_blocked)
		return; /* the backend's fd will tell us; a kick changes nothing */
	for (;;) {
		if (!p->tx_held) {
			if (budget == 0) {
				/* Fairness (H30): let other queues run, come back in poll. */
				p->tx_again = true;
				con_wake(c);
				break;
			}
			budget--;
			if (tx_take(c, p, vq) <= 0)
				break;
		}
		if (p->tx_epoch != c->dev.base.epoch) {
			p->tx_held = false; /* taken before a reset: never completed (H12) */
			continue;
		}
		if (tx_write(c, p, port) == -EAGAIN) {
			p->out_blocked = true;
			break;
		}
		p->tx_held = false;
		vq_relchain(vq, p->tx_head, 0);
		c->dev.stats.requests++;
	}
	vq_endchains(vq, 1);
}

/* ---- host input ---- */

void con_process_rx(struct con_dev *c, uint32_t port)
{
	struct con_port *p = &c->ports[port];
	struct virtio_vq_info *vq = &c->queues[con_rxq(port)];
	struct iovec *iov = c->iov;
	uint16_t *flags = c->iov_flags, head;

	if (!rx_gate(c, p, port))
		return;
	for (uint32_t budget = vq->qsize; budget > 0; budget--) {
		int n = vq_getchain(vq, &head, iov, c->iov_cap, flags);
		size_t total;
		ssize_t r;

		if (n <= 0)
			break;
		if (vdev_iov_readable(iov, flags, n, NULL) != 0) {
			/* Never write into a device-readable buffer (H22). */
			vq_relchain(vq, head, 0);
			c->dev.stats.errors++;
			vdev_virtio_log(&c->dev.base, VDEV_LOG_WARN,
					"console: queue %u: readable buffer in a receive chain",
					vq->num);
			virtio_dev_error(&c->dev.base);
			break;
		}
		total = vdev_iov_len(iov, n);
		r = p->be.read(p->be.opaque, iov, n);
		/* The bytes it wrote into the guest's buffers are what a replay must give. */
		if (vdev_unlikely(vdev_virtio_trace(&c->dev.base) != NULL))
			vdev_trace_backend_iov(vdev_virtio_trace(&c->dev.base), VDEV_TR_BE_CON_READ,
					       (int)port, vdev_trace_result(r), iov, n,
					       r > 0 ? ((size_t)r < total ? (size_t)r : total) : 0);
		if (r > 0) {
			if ((size_t)r > total)
				r = (ssize_t)total; /* a backend that claims too much */
			vq_relchain(vq, head, (uint32_t)r);
			p->rx_starved = false;
			c->dev.stats.bytes_out += (uint64_t)r;
			c->dev.stats.requests++;
			continue;
		}
		vq_retchain(vq);
		if (r != -EAGAIN) {
			p->in_eof = true;
			vdev_virtio_log(&c->dev.base, r == 0 ? VDEV_LOG_INFO : VDEV_LOG_WARN,
					"console: port %u input %s%s", port,
					r == 0 ? "ended" : "failed: ",
					r == 0 ? "" : strerror((int)-r));
		}
		break;
	}
	vq_endchains(vq, 1);
}

/* Host data waits with no receive buffer: count it once per episode. */
static void rx_check_starved(struct con_dev *c, struct con_port *p, uint32_t port)
{
	struct virtio_vq_info *vq = &c->queues[con_rxq(port)];
	struct pollfd pfd;

	if (p->rx_starved || !rx_gate(c, p, port) || !vq_ring_ready(vq) || vq_has_descs(vq))
		return;
	pfd.fd = be_fd(p, VDEV_POLL_IN);
	pfd.events = POLLIN;
	if (pfd.fd < 0 || poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLIN))
		return;
	p->rx_starved = true;
	c->dev.stats.no_buffer++;
}

/* ---- event loop ---- */

static bool want_in(struct con_dev *c, struct con_port *p, uint32_t port)
{
	struct virtio_vq_info *vq = &c->queues[con_rxq(port)];

	/* Only with somewhere to put it: a readable fd we cannot drain would spin. */
	return rx_gate(c, p, port) && vq_ring_ready(vq) && vq_has_descs(vq);
}

static int add_fd(struct vdev_pollfd *fds, int n, int max, int fd, short ev)
{
	if (fd < 0)
		return n;
	if (n >= max)
		return -ENOSPC;
	fds[n] = (struct vdev_pollfd){.fd = fd, .events = ev};
	return n + 1;
}

int con_io_pollfds(struct con_dev *c, struct vdev_pollfd *fds, int max)
{
	int n = 0;

	for (uint32_t i = 0; i < c->max_nr_ports && n >= 0; i++) {
		struct con_port *p = &c->ports[i];

		if (!p->present)
			continue;
		if (want_in(c, p, i))
			n = add_fd(fds, n, max, be_fd(p, VDEV_POLL_IN), VDEV_POLL_IN);
		if (n >= 0 && ((p->tx_held && p->out_blocked) || (i == 0 && c->emerg_blocked)))
			n = add_fd(fds, n, max, be_fd(p, VDEV_POLL_OUT), VDEV_POLL_OUT);
	}
	return n;
}

void con_io_poll(struct con_dev *c)
{
	if (c->emerg_blocked)
		(void)emerg_flush(c);
	for (uint32_t i = 0; i < c->max_nr_ports; i++) {
		struct con_port *p = &c->ports[i];

		if (!con_live(c) || (i > 0 && !con_multiport(c)))
			continue;
		if (p->tx_again || p->out_blocked) {
			p->out_blocked = false;
			con_process_tx(c, i);
		}
		con_process_rx(c, i);
		rx_check_starved(c, p, i);
	}
}
