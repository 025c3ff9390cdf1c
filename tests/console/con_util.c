/* SPDX-License-Identifier: BSD-3-Clause */
#include "con_util.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dev_loop.h"

static int console_create(struct fx *f, struct vmctx *ctx, void *arg)
{
	struct vdev_dev *dev;
	int rc = vdev_console_create(ctx, "con0", arg, &dev);

	if (rc == 0)
		fx_adopt_dev(f, dev);
	return rc;
}

static const struct fx_device_ops console_ops = {.create = console_create,
						 .destroy = fx_destroy_dev};

void ct_open(struct ct *t, const struct fx_mode *m, struct vdev_console_config *cfg)
{
	struct fx_opts o = {.mode = *m, .align = 16};
	int rc;

	memset(t, 0, sizeof(*t));
	cfg->pci.mode = m->mode;
	rc = fx_open(&t->fx, &o, &console_ops, cfg);
	cr_assert_eq(rc, 0, "%s: console fixture: %d", m->name, rc);
}

void ct_ready(struct ct *t, uint64_t want)
{
	int rc = fx_ready(&t->fx, want, 0, -1);

	cr_assert_eq(rc, 0, "%s: ready: %d", t->fx.mode.name, rc);
}

void ct_close(struct ct *t)
{
	fx_close(&t->fx);
}

void ct_tx(struct ct *t, uint16_t q, const void *data, uint32_t len)
{
	void *p;
	struct vdev_drv_seg seg = {fx_buf(&t->fx, len, &p), len, false};

	memcpy(p, data, len);
	cr_assert_eq(vdev_drv_enqueue(t->fx.drv, q, &seg, 1, false, (void *)(uintptr_t)seg.gpa), 0);
	vdev_drv_kick(t->fx.drv, q);
}

uint64_t ct_rx_post(struct ct *t, uint16_t q, uint32_t len)
{
	void *p;
	struct vdev_drv_seg seg = {fx_buf(&t->fx, len, &p), len, true};

	memset(p, 0xAA, len);
	cr_assert_eq(vdev_drv_enqueue(t->fx.drv, q, &seg, 1, false, (void *)(uintptr_t)seg.gpa), 0);
	vdev_drv_kick(t->fx.drv, q);
	return seg.gpa;
}

uint32_t ct_wait_used(struct ct *t, uint16_t q, uint64_t *gpa, int timeout_ms)
{
	void *token;
	uint32_t len;

	cr_assert(fx_wait_used(&t->fx, q, &token, &len, timeout_ms),
		  "%s: no completion on queue %u", t->fx.mode.name, q);
	if (gpa)
		*gpa = (uint64_t)(uintptr_t)token;
	return len;
}

void ct_ctrl_send(struct ct *t, uint32_t id, uint16_t event, uint16_t value)
{
	uint8_t m[8];

	memcpy(m, &id, 4); /* little-endian host */
	memcpy(m + 4, &event, 2);
	memcpy(m + 6, &value, 2);
	ct_tx(t, CT_CTRL_TX, m, sizeof(m));
	fx_pump(&t->fx, 1);
	fx_drain_used(&t->fx, CT_CTRL_TX);
}

void ct_ctrl_post(struct ct *t, int n)
{
	for (int i = 0; i < n; i++)
		ct_rx_post(t, CT_CTRL_RX, 256);
}

bool ct_ctrl_recv(struct ct *t, struct ct_msg *m, int timeout_ms)
{
	void *token;
	uint32_t len;
	uint64_t gpa;
	uint8_t *p;

	if (!fx_wait_used(&t->fx, CT_CTRL_RX, &token, &len, timeout_ms))
		return false;
	gpa = (uint64_t)(uintptr_t)token;
	p = vdev_sim_ptr(t->fx.sim, gpa, 256);
	cr_assert_geq(len, 8, "control message of %u bytes", len);
	memset(m, 0, sizeof(*m));
	memcpy(&m->id, p, 4);
	memcpy(&m->event, p + 4, 2);
	memcpy(&m->value, p + 6, 2);
	m->plen = len - 8;
	memcpy(m->payload, p + 8, m->plen);
	/* Give the buffer back, as a driver does. */
	{
		struct vdev_drv_seg seg = {gpa, 256, true};
		cr_assert_eq(vdev_drv_enqueue(t->fx.drv, CT_CTRL_RX, &seg, 1, false, token), 0);
		vdev_drv_kick(t->fx.drv, CT_CTRL_RX);
	}
	return true;
}

int ct_mp_handshake(struct ct *t, uint32_t nports, struct ct_msg *msgs, int max)
{
	struct ct_msg m;
	int n = 0;

	ct_ctrl_post(t, 16);
	ct_ctrl_send(t, 0, EV_DEVICE_READY, 1);
	for (uint32_t i = 0; i < nports; i++) {
		cr_assert(ct_ctrl_recv(t, &m, 2000), "%s: no DEVICE_ADD for port %u", t->fx.mode.name, i);
		cr_assert_eq(m.event, EV_DEVICE_ADD, "%s: event %u, not DEVICE_ADD", t->fx.mode.name,
			     m.event);
		cr_assert_eq(m.id, i);
	}
	for (uint32_t i = 0; i < nports; i++)
		ct_ctrl_send(t, i, EV_PORT_READY, 1);
	while (n < max && ct_ctrl_recv(t, &msgs[n], 100))
		n++;
	return n;
}

void ct_socketpair(int sv[2])
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

void ct_host_read(struct ct *t, int fd, void *buf, size_t len, int timeout_ms)
{
	long long end = fx_now_ms() + timeout_ms;
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, (uint8_t *)buf + got, len - got, MSG_DONTWAIT);

		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		cr_assert(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK),
			  "host read: %zd (%s)", n, strerror(errno));
		cr_assert(fx_now_ms() < end, "%s: host read %zu of %zu bytes", t->fx.mode.name, got, len);
		dev_loop_once(&t->fx.dev, 1, 5);
	}
}

struct vdev_dev_stats ct_stats(struct ct *t)
{
	struct vdev_dev_stats s;

	vdev_dev_get_stats(t->fx.dev, &s);
	return s;
}
