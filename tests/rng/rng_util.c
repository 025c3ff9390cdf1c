/* SPDX-License-Identifier: BSD-3-Clause */
#include "rng_util.h"

#include <criterion/criterion.h>
#include <string.h>

const struct rt_mode rt_modes[] = {
	{VDEV_PCI_LEGACY, VDEV_DRV_LEGACY, "legacy"},
	{VDEV_PCI_MODERN, VDEV_DRV_MODERN, "modern"},
	{VDEV_PCI_TRANSITIONAL, VDEV_DRV_LEGACY, "transitional-legacy"},
	{VDEV_PCI_TRANSITIONAL, VDEV_DRV_MODERN, "transitional-modern"},
};
const int rt_nmodes = (int)(sizeof(rt_modes) / sizeof(rt_modes[0]));

static uint64_t fake_clock(void *arg)
{
	return ((struct rt *)arg)->now_ns;
}

void rt_open(struct rt *t, const struct rt_mode *m, struct vdev_rng_config *cfg,
	     const struct rt_opts *o)
{
	static const struct rt_opts none;
	struct vdev_drv_config dcfg = {.size = sizeof(struct vdev_drv_config), .access = m->access};
	struct vdev_sim_config scfg = {.size = sizeof(struct vdev_sim_config)};
	int rc;

	if (o == NULL)
		o = &none;
	memset(t, 0, sizeof(*t));
	t->now_ns = 1000000000ull;
	scfg.ram_size = o->ram ? o->ram : 32u << 20;
	scfg.frag = o->frag;
	cfg->pci.mode = m->mode;
	if (o->fake_clock) {
		cfg->clock_ns = fake_clock;
		cfg->clock_arg = t;
	}
	rc = vdev_sim_create(&scfg, &t->sim);
	cr_assert_eq(rc, 0, "%s: sim: %d", m->name, rc);
	rc = vdev_rng_create(vdev_sim_vmctx(t->sim), "rng0", cfg, &t->dev);
	cr_assert_eq(rc, 0, "%s: vdev_rng_create: %d (%s)", m->name, rc,
		     vdev_sim_last_log(t->sim));
	cr_assert_eq(vdev_dev_type(t->dev), VIRTIO_TYPE_ENTROPY);
	rc = vdev_drv_open(t->sim, vdev_dev_pci(t->dev), &dcfg, &t->drv);
	cr_assert_eq(rc, 0, "%s: drv open: %d", m->name, rc);
	rc = vdev_drv_negotiate(t->drv, o->features ? o->features : ~0ull, NULL);
	cr_assert_eq(rc, 0, "%s: negotiate: %d", m->name, rc);
	rc = vdev_drv_queue_setup(t->drv, 0, 0, VIRTIO_MSI_NO_VECTOR);
	cr_assert_eq(rc, 0, "%s: queue setup: %d", m->name, rc);
	rc = vdev_drv_driver_ok(t->drv);
	cr_assert_eq(rc, 0, "%s: driver ok: %d", m->name, rc);
	/* DRIVER_OK asks for one look at the ring; let it happen so tests start idle. */
	vdev_dev_poll(t->dev);
	cr_assert_eq(vdev_dev_next_timeout_ms(t->dev), -1, "%s: not idle after start", m->name);
}

void rt_close(struct rt *t)
{
	if (t->drv)
		vdev_drv_close(t->drv);
	vdev_dev_destroy(t->dev);
	if (t->sim)
		vdev_sim_destroy(t->sim);
	memset(t, 0, sizeof(*t));
}

uint64_t rt_buf(struct rt *t, uint32_t len, uint8_t fill, uint8_t **p)
{
	uint64_t gpa = vdev_sim_alloc(t->sim, len, 64);
	uint8_t *hp;

	cr_assert_neq(gpa, 0, "sim RAM exhausted allocating %u", len);
	hp = vdev_sim_ptr(t->sim, gpa, len);
	cr_assert_not_null(hp);
	memset(hp, fill, len);
	if (p)
		*p = hp;
	return gpa;
}

void rt_submit(struct rt *t, const struct vdev_drv_seg *segs, int n, bool indirect, void *token)
{
	int rc = vdev_drv_enqueue(t->drv, 0, segs, n, indirect, token);

	cr_assert_eq(rc, 0, "enqueue: %d", rc);
	vdev_drv_kick(t->drv, 0);
}

void rt_submit1(struct rt *t, uint64_t gpa, uint32_t len, void *token)
{
	struct vdev_drv_seg s = {gpa, len, true};

	rt_submit(t, &s, 1, false, token);
}

int rt_collect(struct rt *t, void **tokens, uint32_t *lens, int max)
{
	int n = 0;
	void *tok;
	uint32_t len;

	while (vdev_drv_dequeue(t->drv, 0, &tok, &len) == 1) {
		cr_assert_lt(n, max, "more completions than expected");
		if (tokens)
			tokens[n] = tok;
		if (lens)
			lens[n] = len;
		n++;
	}
	return n;
}

void rt_advance(struct rt *t, uint64_t ms)
{
	t->now_ns += ms * 1000000ull;
	vdev_dev_poll(t->dev);
}

struct vdev_dev_stats rt_stats(struct rt *t)
{
	struct vdev_dev_stats s;

	vdev_dev_get_stats(t->dev, &s);
	return s;
}

struct vdev_rng_stats rt_xstats(struct rt *t)
{
	struct vdev_rng_stats s;

	cr_assert_eq(vdev_rng_get_stats(t->dev, &s), 0);
	return s;
}

bool rt_all(const uint8_t *p, uint64_t len, uint8_t v)
{
	for (uint64_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}
