/* SPDX-License-Identifier: BSD-3-Clause */
#include "rng_util.h"

#include <criterion/criterion.h>
#include <string.h>

static uint64_t fake_clock(void *arg)
{
	return ((struct rt *)arg)->now_ns;
}

static int rng_create(struct fx *f, struct vmctx *ctx, void *arg)
{
	struct vdev_dev *dev;
	int rc = vdev_rng_create(ctx, "rng0", arg, &dev);

	if (rc == 0)
		fx_adopt_dev(f, dev);
	return rc;
}

static const struct fx_device_ops rng_ops = {.create = rng_create, .destroy = fx_destroy_dev};

void rt_open(struct rt *t, const struct fx_mode *m, struct vdev_rng_config *cfg,
	     const struct rt_opts *o)
{
	static const struct rt_opts none;
	struct fx_opts fo;
	int rc;

	if (o == NULL)
		o = &none;
	fo = (struct fx_opts){.mode = *m, .ram_size = o->ram, .frag = o->frag};
	memset(t, 0, sizeof(*t));
	t->now_ns = 1000000000ull;
	cfg->pci.mode = m->mode;
	if (o->fake_clock) {
		cfg->clock_ns = fake_clock;
		cfg->clock_arg = t;
	}
	rc = fx_open(&t->fx, &fo, &rng_ops, cfg);
	cr_assert_eq(rc, 0, "%s: rng fixture: %d (%s)", m->name, rc,
		     t->fx.sim ? vdev_sim_last_log(t->fx.sim) : "");
	cr_assert_eq(vdev_dev_type(t->fx.dev), VIRTIO_TYPE_ENTROPY);
	rc = fx_ready(&t->fx, o->features ? o->features : ~0ull, 0, 1);
	cr_assert_eq(rc, 0, "%s: ready: %d", m->name, rc);
	/* DRIVER_OK asks for one look at the ring; let it happen so tests start idle. */
	vdev_dev_poll(t->fx.dev);
	cr_assert_eq(vdev_dev_next_timeout_ms(t->fx.dev), -1, "%s: not idle after start", m->name);
}

void rt_close(struct rt *t)
{
	fx_close(&t->fx);
	memset(t, 0, sizeof(*t));
}

uint64_t rt_buf(struct rt *t, uint32_t len, uint8_t fill, uint8_t **p)
{
	uint8_t *hp;
	uint64_t gpa = fx_buf(&t->fx, len, (void **)&hp);

	cr_assert_not_null(hp);
	memset(hp, fill, len);
	if (p)
		*p = hp;
	return gpa;
}

void rt_submit(struct rt *t, const struct vdev_drv_seg *segs, int n, bool indirect, void *token)
{
	int rc = vdev_drv_enqueue(t->fx.drv, 0, segs, n, indirect, token);

	cr_assert_eq(rc, 0, "enqueue: %d", rc);
	vdev_drv_kick(t->fx.drv, 0);
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

	while (vdev_drv_dequeue(t->fx.drv, 0, &tok, &len) == 1) {
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
	vdev_dev_poll(t->fx.dev);
}

struct vdev_dev_stats rt_stats(struct rt *t)
{
	struct vdev_dev_stats s;

	vdev_dev_get_stats(t->fx.dev, &s);
	return s;
}

struct vdev_rng_stats rt_xstats(struct rt *t)
{
	struct vdev_rng_stats s;

	cr_assert_eq(vdev_rng_get_stats(t->fx.dev, &s), 0);
	return s;
}

bool rt_all(const uint8_t *p, uint64_t len, uint8_t v)
{
	for (uint64_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}
