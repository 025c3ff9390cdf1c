/* SPDX-License-Identifier: BSD-3-Clause */
#include "con_util.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dev_loop.h"

const struct ct_mode ct_modes[] = {
	{VDEV_PCI_LEGACY, VDEV_DRV_LEGACY, "legacy"},
	{VDEV_PCI_MODERN, VDEV_DRV_MODERN, "modern"},
	{VDEV_PCI_TRANSITIONAL, VDEV_DRV_LEGACY, "transitional-legacy"},
};
const int ct_nmodes = (int)(sizeof(ct_modes) / sizeof(ct_modes[0]));

void ct_open(struct ct *t, const struct ct_mode *m, struct vdev_console_config *cfg)
{
	struct vdev_sim_config scfg = {.size = sizeof(struct vdev_sim_config),
				       .ram_size = 32 << 20};
	struct vdev_drv_config dcfg = {.size = sizeof(struct vdev_drv_config), .access = m->access};
	int rc;

	memset(t, 0, sizeof(*t));
	t->m = m;
	cfg->pci.mode = m->mode;
	cr_assert_eq(vdev_sim_create(&scfg, &t->sim), 0);
	rc = vdev_console_create(vdev_sim_vmctx(t->sim), "con0", cfg, &t->dev);
	cr_assert_eq(rc, 0, "%s: create: %d (%s)", m->name, rc, vdev_sim_last_log(t->sim));
	rc = vdev_drv_open(t->sim, vdev_dev_pci(t->dev), &dcfg, &t->drv);
	cr_assert_eq(rc, 0, "%s: drv_open: %d", m->name, rc);
}

void ct_ready(struct ct *t, uint64_t want)
{
	int nvq = vdev_dev_virtio(t->dev)->vops->nvq;

	cr_assert_eq(vdev_drv_negotiate(t->drv, want, NULL), 0, "%s: negotiate", t->m->name);
	for (int q = 0; q < nvq; q++)
		cr_assert_eq(vdev_drv_queue_setup(t->drv, (uint16_t)q, 0, VIRTIO_MSI_NO_VECTOR), 0,
			     "%s: queue %d setup", t->m->name, q);
	cr_assert_eq(vdev_drv_driver_ok(t->drv), 0);
}

void ct_close(struct ct *t)
{
	if (t->drv)
		vdev_drv_close(t->drv);
	if (t->dev)
		vdev_dev_destroy(t->dev);
	if (t->sim)
		vdev_sim_destroy(t->sim);
	memset(t, 0, sizeof(*t));
}

uint64_t ct_buf(struct ct *t, uint32_t len, void **p)
{
	uint64_t gpa = vdev_sim_alloc(t->sim, len ? len : 1, 16);

	cr_assert_neq(gpa, 0, "guest RAM exhausted");
	if (p)
		*p = vdev_sim_ptr(t->sim, gpa, len ? len : 1);
	return gpa;
}

void ct_tx(struct ct *t, uint16_t q, const void *data, uint32_t len)
{
	void *p;
	struct vdev_drv_seg seg = {ct_buf(t, len, &p), len, false};

	memcpy(p, data, len);
	cr_assert_eq(vdev_drv_enqueue(t->drv, q, &seg, 1, false, (void *)(uintptr_t)seg.gpa), 0);
	vdev_drv_kick(t->drv, q);
}

uint64_t ct_rx_post(struct ct *t, uint16_t q, uint32_t len)
{
	void *p;
	struct vdev_drv_seg seg = {ct_buf(t, len, &p), len, true};

	memset(p, 0xAA, len);
	cr_assert_eq(vdev_drv_enqueue(t->drv, q, &seg, 1, false, (void *)(uintptr_t)seg.gpa), 0);
	vdev_drv_kick(t->drv, q);
	return seg.gpa;
}

struct used_wait {
	struct ct *t;
	uint16_t q;
	bool got;
	void *token;
	uint32_t len;
};

static bool used_done(void *arg)
{
	struct used_wait *w = arg;

	if (!w->got)
		w->got = vdev_drv_dequeue(w->t->drv, w->q, &w->token, &w->len) == 1;
	return w->got;
}

uint32_t ct_wait_used(struct ct *t, uint16_t q, uint64_t *gpa, int timeout_ms)
{
	struct used_wait w = {t, q, false, NULL, 0};
	int rc = dev_loop_until(&t->dev, 1, used_done, &w, timeout_ms);

	cr_assert_eq(rc, 0, "%s: no completion on queue %u", t->m->name, q);
	if (gpa)
		*gpa = (uint64_t)(uintptr_t)w.token;
	return w.len;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ct_pump(struct ct *t, int ms)
{
	long long end = now_ms() + ms;

	do
		dev_loop_once(&t->dev, 1, 5);
	while (now_ms() < end);
}

int ct_drain_used(struct ct *t, uint16_t q)
{
	void *token;
	uint32_t len;
	int n = 0;

	while (vdev_drv_dequeue(t->drv, q, &token, &len) == 1)
		n++;
	return n;
}

void ct_ctrl_send(struct ct *t, uint32_t id, uint16_t event, uint16_t value)
{
	uint8_t m[8];

	memcpy(m, &id, 4); /* little-endian host */
	memcpy(m + 4, &event, 2);
	memcpy(m + 6, &value, 2);
	ct_tx(t, CT_CTRL_TX, m, sizeof(m));
	ct_pump(t, 1);
	ct_drain_used(t, CT_CTRL_TX);
}

void ct_ctrl_post(struct ct *t, int n)
{
	for (int i = 0; i < n; i++)
		ct_rx_post(t, CT_CTRL_RX, 256);
}

struct ctrl_wait {
	struct ct *t;
	bool got;
	void *token;
	uint32_t len;
};

static bool ctrl_done(void *arg)
{
	struct ctrl_wait *w = arg;

	if (!w->got)
		w->got = vdev_drv_dequeue(w->t->drv, CT_CTRL_RX, &w->token, &w->len) == 1;
	return w->got;
}

bool ct_ctrl_recv(struct ct *t, struct ct_msg *m, int timeout_ms)
{
	struct ctrl_wait w = {t, false, NULL, 0};
	uint64_t gpa;
	uint8_t *p;

	if (dev_loop_until(&t->dev, 1, ctrl_done, &w, timeout_ms) != 0)
		return false;
	gpa = (uint64_t)(uintptr_t)w.token;
	p = vdev_sim_ptr(t->sim, gpa, 256);
	cr_assert_geq(w.len, 8, "control message of %u bytes", w.len);
	memset(m, 0, sizeof(*m));
	memcpy(&m->id, p, 4);
	memcpy(&m->event, p + 4, 2);
	memcpy(&m->value, p + 6, 2);
	m->plen = w.len - 8;
	memcpy(m->payload, p + 8, m->plen);
	/* Give the buffer back, as a driver does. */
	{
		struct vdev_drv_seg seg = {gpa, 256, true};
		cr_assert_eq(vdev_drv_enqueue(t->drv, CT_CTRL_RX, &seg, 1, false, w.token), 0);
		vdev_drv_kick(t->drv, CT_CTRL_RX);
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
		cr_assert(ct_ctrl_recv(t, &m, 2000), "%s: no DEVICE_ADD for port %u", t->m->name, i);
		cr_assert_eq(m.event, EV_DEVICE_ADD, "%s: event %u, not DEVICE_ADD", t->m->name,
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
	long long end = now_ms() + timeout_ms;
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, (uint8_t *)buf + got, len - got, MSG_DONTWAIT);

		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		cr_assert(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK),
			  "host read: %zd (%s)", n, strerror(errno));
		cr_assert(now_ms() < end, "%s: host read %zu of %zu bytes", t->m->name, got, len);
		dev_loop_once(&t->dev, 1, 5);
	}
}

struct vdev_dev_stats ct_stats(struct ct *t)
{
	struct vdev_dev_stats s;

	vdev_dev_get_stats(t->dev, &s);
	return s;
}
