/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-console multiport control queues: parse what the driver sends on the control
 * transmitq (DEVICE_READY, PORT_READY, PORT_OPEN), and deliver what each port owes the
 * driver on the control receiveq (DEVICE_ADD, CONSOLE_PORT, PORT_NAME, PORT_OPEN,
 * RESIZE, PORT_REMOVE).
 *
 * Outgoing messages are not queued: each port keeps a bit per message kind
 * (CON_PEND_*), built from the port's current state when a buffer is there. That
 * bounds host memory whatever the guest does, and coalesces repeats.
 * Anything malformed from the driver (H39) is ignored, counted in stats.dropped and
 * logged.
 */
#include <errno.h>
#include <string.h>

#include "core/iov.h"
#include "devices/console/console_internal.h"
#include "util/common.h"

/* ---- driver -> device ---- */

static void ctrl_ignore(struct con_dev *c, uint32_t id, uint16_t event, const char *why)
{
	c->dev.stats.dropped++;
	vdev_virtio_log(&c->dev.base, VDEV_LOG_WARN,
			"console: control message (id %u, event %u) ignored: %s", id, event, why);
}

static void on_device_ready(struct con_dev *c, uint16_t value)
{
	if (value != 1) {
		vdev_virtio_log(&c->dev.base, VDEV_LOG_WARN,
				"console: driver reports failure (DEVICE_READY %u)", value);
		return;
	}
	c->dev_ready = true;
	for (uint32_t i = 0; i < c->max_nr_ports; i++)
		if (c->ports[i].present && !c->ports[i].announced)
			c->ports[i].pending |= CON_PEND_ADD;
}

static void on_port_ready(struct con_dev *c, uint32_t id, uint16_t value)
{
	struct con_port *p = &c->ports[id];

	if (value != 1) {
		vdev_virtio_log(&c->dev.base, VDEV_LOG_WARN,
				"console: driver failed to set up port %u", id);
		return;
	}
	p->guest_ready = true;
	/* What the driver needs to know about the port now that it can listen. */
	if (p->console)
		p->pending |= CON_PEND_CONSOLE;
	if (p->name_len > 0)
		p->pending |= CON_PEND_NAME;
	if (p->host_open)
		p->pending |= CON_PEND_OPEN;
	if (id > 0 && p->console && (p->cols || p->rows))
		p->pending |= CON_PEND_RESIZE;
	con_process_rx(c, id);
}

static void ctrl_handle(struct con_dev *c, uint32_t id, uint16_t event, uint16_t value)
{
	struct con_port *p;

	if (event == CON_EV_DEVICE_READY) {
		on_device_ready(c, value);
		return;
	}
	if (event != CON_EV_PORT_READY && event != CON_EV_PORT_OPEN) {
		ctrl_ignore(c, id, event, "unknown event or one only the device sends");
		return;
	}
	if (id >= c->max_nr_ports) {
		ctrl_ignore(c, id, event, "port id past max_nr_ports");
		return;
	}
	p = &c->ports[id];
	if (!p->present || !p->announced) {
		ctrl_ignore(c, id, event, "no such port");
		return;
	}
	if (event == CON_EV_PORT_READY) {
		on_port_ready(c, id, value);
		return;
	}
	p->guest_open = value != 0;
	if (p->guest_open)
		con_process_rx(c, id);
}

void con_ctrl_tx(struct con_dev *c)
{
	struct virtio_vq_info *vq = &c->queues[CON_Q_CTRL_TX];
	struct iovec *iov = c->iov;
	uint16_t *flags = c->iov_flags, head;
	uint32_t budget;

	c->ctrl_again = false;
	for (budget = vq->qsize; budget > 0; budget--) {
		uint8_t msg[sizeof(struct con_wire_control)];
		int n = vq_getchain(vq, &head, iov, c->iov_cap, flags);
		size_t got, total;

		if (n <= 0)
			break;
		if (vdev_iov_readable(iov, flags, n, NULL) != n) {
			vq_relchain(vq, head, 0);
			c->dev.stats.errors++;
			vdev_virtio_log(&c->dev.base, VDEV_LOG_WARN,
					"console: writable buffer in a control transmit chain");
			virtio_dev_error(&c->dev.base);
			break;
		}
		/* One private copy of the header; the guest may rewrite its buffer. */
		total = vdev_iov_len(iov, n);
		got = vdev_iov_to_buf(iov, n, 0, msg, sizeof(msg));
		vq_relchain(vq, head, 0);
		c->dev.stats.requests++;
		if (got < sizeof(msg)) {
			c->dev.stats.dropped++;
			vdev_virtio_log(&c->dev.base, VDEV_LOG_WARN,
					"console: truncated control message (%zu bytes) ignored",
					total);
			continue;
		}
		ctrl_handle(c, vdev_ld32(msg + offsetof(struct con_wire_control, id)),
			    vdev_ld16(msg + offsetof(struct con_wire_control, event)),
			    vdev_ld16(msg + offsetof(struct con_wire_control, value)));
		if (!con_live(c))
			break;
	}
	if (budget == 0) {
		c->ctrl_again = true;
		con_wake(c);
	}
	vq_endchains(vq, 1);
}

/* ---- device -> driver ---- */

/* The next message port p can send now (a CON_PEND_* bit), or 0. */
static uint32_t next_message(const struct con_port *p)
{
	uint32_t sendable = 0;

	if (p->present && !p->announced)
		sendable |= CON_PEND_ADD;
	if (p->present && p->announced && p->guest_ready)
		sendable |= CON_PEND_CONSOLE | CON_PEND_NAME | CON_PEND_OPEN | CON_PEND_RESIZE;
	if (!p->present && p->announced)
		sendable |= CON_PEND_REMOVE;
	sendable &= p->pending;
	return sendable & (~sendable + 1); /* lowest bit: the protocol's order */
}

/* Build message `kind` for port `id` into buf; returns its length. */
static size_t build_message(const struct con_port *p, uint32_t id, uint32_t kind, uint8_t *buf)
{
	uint16_t event = CON_EV_DEVICE_ADD, value = 1;
	size_t len = sizeof(struct con_wire_control);

	switch (kind) {
	case CON_PEND_ADD: event = CON_EV_DEVICE_ADD; break;
	case CON_PEND_CONSOLE: event = CON_EV_CONSOLE_PORT; break;
	case CON_PEND_NAME:
		event = CON_EV_PORT_NAME;
		memcpy(buf + len, p->name, p->name_len);
		len += p->name_len;
		break;
	case CON_PEND_OPEN:
		event = CON_EV_PORT_OPEN;
		value = p->host_open ? 1 : 0;
		break;
	case CON_PEND_RESIZE:
		event = CON_EV_RESIZE;
		value = 0;
		vdev_st16(buf + len + offsetof(struct con_wire_resize, cols), p->cols);
		vdev_st16(buf + len + offsetof(struct con_wire_resize, rows), p->rows);
		len += sizeof(struct con_wire_resize);
		break;
	case CON_PEND_REMOVE: event = CON_EV_DEVICE_REMOVE; break;
	default: break;
	}
	vdev_st32(buf + offsetof(struct con_wire_control, id), id);
	vdev_st16(buf + offsetof(struct con_wire_control, event), event);
	vdev_st16(buf + offsetof(struct con_wire_control, value), value);
	return len;
}

/* Deliver one message into the next control receive buffer: 1 sent, 0 no buffer (or
 * the chain was too small to carry a header), -1 stop. */
static int send_message(struct con_dev *c, struct virtio_vq_info *vq, const uint8_t *msg,
			size_t len)
{
	struct iovec *iov = c->iov;
	uint16_t *flags = c->iov_flags, head;
	size_t total;
	int n = vq_getchain(vq, &head, iov, c->iov_cap, flags);

	if (n < 0)
		return -1;
	if (n == 0) {
		if (!c->ctrl_starved)
			c->dev.stats.no_buffer++;
		c->ctrl_starved = true;
		return -1;
	}
	if (vdev_iov_readable(iov, flags, n, NULL) != 0) {
		vq_relchain(vq, head, 0);
		c->dev.stats.errors++;
		vdev_virtio_log(&c->dev.base, VDEV_LOG_WARN,
				"console: readable buffer in a control receive chain");
		virtio_dev_error(&c->dev.base);
		return -1;
	}
	total = vdev_iov_len(iov, n);
	if (total < sizeof(struct con_wire_control)) {
		/* Too small for any message: hand it back empty, keep the message. */
		vq_relchain(vq, head, 0);
		c->dev.stats.dropped++;
		return 0;
	}
	/* A name longer than the buffer is cut; the header always fits. */
	vq_relchain(vq, head, 
		    (uint32_t)vdev_iov_from_buf(iov, n, 0, msg, len < total ? len : total));
	c->dev.stats.requests++;
	return 1;
}

void con_ctrl_flush(struct con_dev *c)
{
	struct virtio_vq_info *vq = &c->queues[CON_Q_CTRL_RX];
	uint8_t msg[sizeof(struct con_wire_control) + VDEV_CONSOLE_NAME_MAX];
	uint32_t budget = vq->qsize;

	if (c->ctrl_again)
		con_ctrl_tx(c);
	if (!con_multiport(c) || !con_live(c) || !c->dev_ready || !vq_ring_ready(vq))
		return;
	for (uint32_t i = 0; i < c->max_nr_ports && budget > 0; i++) {
		struct con_port *p = &c->ports[i];
		uint32_t kind;

		while (budget > 0 && (kind = next_message(p)) != 0) {
			int rc;

			budget--;
			rc = send_message(c, vq, msg, build_message(p, i, kind, msg));
			if (rc < 0)
				goto out;
			if (rc == 0)
				continue;
			p->pending &= ~kind;
			if (kind == CON_PEND_ADD)
				p->announced = true;
			else if (kind == CON_PEND_REMOVE)
				p->announced = false;
		}
		/* Nothing left to say about a removed port. */
		if (!p->present && !p->announced)
			p->pending = 0;
	}
out:
	vq_endchains(vq, 1);
}
