/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hostile guests against virtio-rng (HOSTILE.md): H40 gigabytes of writable buffer,
 * H12 resets while requests wait, H22 readable buffers, H29 chains fragmented past the
 * device's iovec capacity.
 */
#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "rng_util.h"

#define ALIAS_LEN (16u << 20) /* one 16 MiB buffer that every descriptor points at */
#define ALIAS_SEGS 255        /* 255 * 16 MiB = 3.98 GiB per chain, under 4 GiB */

static struct vdev_drv_seg alias_segs[256];

/* Fill alias_segs with n writable descriptors all covering [gpa, gpa + ALIAS_LEN). */
static void alias_chain(uint64_t gpa, int n)
{
	for (int i = 0; i < n; i++)
		alias_segs[i] = (struct vdev_drv_seg){gpa, ALIAS_LEN, true};
}

static const struct rt_opts big_ram = {.ram = 64u << 20, .fake_clock = true};

/* The rest of what "broken" means (HOSTILE.md), once DEVICE_NEEDS_RESET is seen: a
 * config interrupt in the ISR, a log line saying why, and a reset that brings the
 * device back to serving requests. `logs` is the log count before the hostile act. */
static void expect_broken_then_recovers(struct rt *t, uint64_t logs)
{
	uint32_t len;

	cr_assert_neq(vdev_drv_read_status(t->fx.drv) & VIRTIO_CR_STATUS_NEEDS_RESET, 0);
	cr_assert_neq(vdev_drv_read_isr(t->fx.drv) & VIRTIO_CR_ISR_CONF_CHANGED, 0,
		      "no config interrupt");
	cr_assert_gt(vdev_sim_log_count(t->fx.sim), logs, "the break was not logged");
	cr_assert_eq(vdev_drv_reset(t->fx.drv), 0);
	cr_assert_eq(vdev_drv_negotiate(t->fx.drv, ~0ull, NULL), 0);
	cr_assert_eq(vdev_drv_queue_setup(t->fx.drv, 0, 0, VIRTIO_MSI_NO_VECTOR), 0);
	cr_assert_eq(vdev_drv_driver_ok(t->fx.drv), 0);
	cr_assert_eq(vdev_drv_read_status(t->fx.drv) & VIRTIO_CR_STATUS_NEEDS_RESET, 0);
	rt_submit1(t, rt_buf(t, 64, 0, NULL), 64, NULL);
	cr_assert_eq(rt_collect(t, NULL, &len, 1), 1, "no request served after the reset");
	cr_assert_eq(len, 64);
}

/* A source that refuses to be asked for more than the cap at once or in all, so a
 * device that ignored the cap fails at once instead of filling gigabytes. */
struct guard_src {
	uint64_t total, limit;
};

static ssize_t guard_read(void *opaque, void *buf, size_t len)
{
	struct guard_src *g = opaque;

	if (len > VDEV_RNG_DEFAULT_REQUEST_BYTES || g->total + len > g->limit)
		return -EIO;
	g->total += len;
	memset(buf, 0x5A, len);
	return (ssize_t)len;
}

Test(rng_hostile, H40_gigabytes_of_aliased_writable_buffer_capped)
{
	for (int m = 0; m < FX_NMODES_TRANSITIONAL; m++) {
		struct guard_src src = {.limit = 4ull * VDEV_RNG_DEFAULT_REQUEST_BYTES};
		struct vdev_rng_backend be = {.version = 1, .opaque = &src, .read = guard_read};
		struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config),
					      .queue_size = 256, .backend = &be};
		struct rt t;
		uint8_t *p;
		uint64_t g;
		uint32_t len;

		rt_open(&t, &fx_modes[m], &cfg, &big_ram);
		g = rt_buf(&t, ALIAS_LEN, 0xA5, &p);
		alias_chain(g, ALIAS_SEGS);
		/* The same 3.98 GiB chain, again and again. */
		for (int round = 0; round < 4; round++) {
			rt_submit(&t, alias_segs, ALIAS_SEGS, false, NULL);
			cr_assert_eq(rt_collect(&t, NULL, &len, 1), 1, "%s round %d",
				     fx_modes[m].name, round);
			cr_assert_eq(len, VDEV_RNG_DEFAULT_REQUEST_BYTES, "%s: used len %u",
				     fx_modes[m].name, len);
		}
		cr_assert(rt_all(p, VDEV_RNG_DEFAULT_REQUEST_BYTES, 0x5A));
		cr_assert(rt_all(p + VDEV_RNG_DEFAULT_REQUEST_BYTES,
				 ALIAS_LEN - VDEV_RNG_DEFAULT_REQUEST_BYTES, 0xA5),
			  "%s: wrote past the cap", fx_modes[m].name);
		cr_assert_eq(rt_stats(&t).bytes_out, 4ull * VDEV_RNG_DEFAULT_REQUEST_BYTES);
		cr_assert_eq(rt_xstats(&t).capped, 4);
		cr_assert_eq(vdev_drv_read_status(t.fx.drv) & VIRTIO_CR_STATUS_NEEDS_RESET, 0);
		rt_close(&t);
	}
}

Test(rng_hostile, H40_full_ring_of_gigabyte_chains_bounded_per_poll)
{
	/* 256 heads, each an indirect table of 255 * 16 MiB aliases: about 1 TiB of
	 * writable buffer offered in one kick. Each poll serves at most 16 requests and
	 * each request at most the cap. */
	struct guard_src src = {.limit = 256ull * VDEV_RNG_DEFAULT_REQUEST_BYTES};
	struct vdev_rng_backend be = {.version = 1, .opaque = &src, .read = guard_read};
	struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config),
				      .queue_size = 256, .max_requests_per_poll = 16,
				      .backend = &be};
	struct rt t;
	uint32_t lens[256];
	uint64_t g;
	int total = 0, polls = 0;

	rt_open(&t, &fx_modes[1], &cfg, &big_ram);
	cr_assert_neq(vdev_drv_features(t.fx.drv) & VIRTIO_RING_F_INDIRECT_DESC, 0);
	g = rt_buf(&t, ALIAS_LEN, 0xA5, NULL);
	alias_chain(g, ALIAS_SEGS);
	for (int i = 0; i < 256; i++)
		cr_assert_eq(vdev_drv_enqueue(t.fx.drv, 0, alias_segs, ALIAS_SEGS, true, NULL), 0);
	vdev_drv_kick(t.fx.drv, 0);
	for (;;) {
		int n = rt_collect(&t, NULL, lens, 256);

		cr_assert_leq(n, 16, "poll %d served %d requests", polls, n);
		for (int i = 0; i < n; i++)
			cr_assert_eq(lens[i], VDEV_RNG_DEFAULT_REQUEST_BYTES);
		total += n;
		if (total == 256)
			break;
		cr_assert_eq(n, 16, "stalled after %d", total);
		cr_assert_eq(vdev_dev_next_timeout_ms(t.fx.dev), 0);
		vdev_dev_poll(t.fx.dev);
		polls++;
	}
	cr_assert_eq(polls, 15);
	cr_assert_eq(vdev_dev_next_timeout_ms(t.fx.dev), -1);
	cr_assert_eq(rt_stats(&t).bytes_out, 256ull * VDEV_RNG_DEFAULT_REQUEST_BYTES);
	rt_close(&t);
}

Test(rng_hostile, H40_chain_over_4GiB_breaks_the_queue)
{
	/* 256 * 16 MiB = 4 GiB: one byte more than a used length can say. */
	struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config), .queue_size = 256};
	struct rt t;
	uint32_t len;
	uint8_t *p;
	uint64_t g, logs;

	rt_open(&t, &fx_modes[1], &cfg, &big_ram);
	g = rt_buf(&t, ALIAS_LEN, 0xA5, &p);
	alias_chain(g, 256);
	(void)vdev_drv_read_isr(t.fx.drv);
	logs = vdev_sim_log_count(t.fx.sim);
	rt_submit(&t, alias_segs, 256, true, NULL);
	cr_assert_eq(rt_collect(&t, NULL, &len, 1), 0);
	cr_assert_neq(vdev_drv_read_status(t.fx.drv) & VIRTIO_CR_STATUS_NEEDS_RESET, 0);
	cr_assert(rt_all(p, 4096, 0xA5), "wrote into a refused chain");
	cr_assert_eq(rt_stats(&t).bytes_out, 0);
	cr_assert_eq(vdev_dev_next_timeout_ms(t.fx.dev), -1);
	expect_broken_then_recovers(&t, logs);
	rt_close(&t);
}

/* Read the used index straight from guest memory. */
static uint16_t used_idx(struct rt *t, uint64_t used_gpa)
{
	uint8_t *u = vdev_sim_ptr(t->fx.sim, used_gpa, 4);
	uint16_t v;

	memcpy(&v, u + 2, 2);
	return le16toh(v);
}

Test(rng_hostile, H12_reset_while_requests_wait_for_the_rate_limiter)
{
	for (int m = 0; m < FX_NMODES_TRANSITIONAL; m++) {
		struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config),
					      .rate_bytes_per_sec = 4096};
		struct rt t;
		uint8_t *p[8];
		uint64_t used;
		uint32_t lens[8];

		rt_open(&t, &fx_modes[m], &cfg, &(struct rt_opts){.fake_clock = true});
		cr_assert_eq(vdev_drv_queue_rings(t.fx.drv, 0, NULL, NULL, &used), 0);
		for (int i = 0; i < 8; i++)
			rt_submit1(&t, rt_buf(&t, 1024, 0xA5, &p[i]), 1024, NULL);
		cr_assert_eq(rt_collect(&t, NULL, lens, 8), 4);
		cr_assert_gt(vdev_dev_next_timeout_ms(t.fx.dev), 0);
		cr_assert_eq(vdev_drv_reset(t.fx.drv), 0);
		cr_assert_eq(vdev_dev_next_timeout_ms(t.fx.dev), -1, "%s: timer kept after reset",
			     fx_modes[m].name);
		/* Plenty of tokens later, every way the device can be woken. */
		rt_advance(&t, 10000);
		vdev_dev_poll(t.fx.dev);
		for (int i = 4; i < 8; i++)
			cr_assert(rt_all(p[i], 1024, 0xA5), "%s: request %d written after reset",
				  fx_modes[m].name, i);
		cr_assert_eq(used_idx(&t, used), 4, "%s: used ring written after reset",
			     fx_modes[m].name);
		cr_assert_eq(rt_stats(&t).requests, 4);
		cr_assert_eq(rt_stats(&t).bytes_out, 4096);
		/* The device works again after the driver sets it up anew; the bucket was
		 * not refilled by the reset, only by time. */
		cr_assert_eq(vdev_drv_negotiate(t.fx.drv, ~0ull, NULL), 0);
		cr_assert_eq(vdev_drv_queue_setup(t.fx.drv, 0, 0, VIRTIO_MSI_NO_VECTOR), 0);
		cr_assert_eq(vdev_drv_driver_ok(t.fx.drv), 0);
		vdev_dev_poll(t.fx.dev);
		rt_submit1(&t, rt_buf(&t, 64, 0, NULL), 64, NULL);
		cr_assert_eq(rt_collect(&t, NULL, lens, 8), 1);
		cr_assert_eq(lens[0], 64);
		rt_close(&t);
	}
}

Test(rng_hostile, H12_reset_does_not_refill_the_bucket)
{
	struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config),
				      .rate_bytes_per_sec = 1024};
	struct rt t;
	uint32_t lens[4];

	rt_open(&t, &fx_modes[1], &cfg, &(struct rt_opts){.fake_clock = true});
	rt_submit1(&t, rt_buf(&t, 1024, 0, NULL), 1024, NULL);
	cr_assert_eq(rt_collect(&t, NULL, lens, 4), 1);
	cr_assert_eq(vdev_drv_reset(t.fx.drv), 0);
	cr_assert_eq(vdev_drv_negotiate(t.fx.drv, ~0ull, NULL), 0);
	cr_assert_eq(vdev_drv_queue_setup(t.fx.drv, 0, 0, VIRTIO_MSI_NO_VECTOR), 0);
	cr_assert_eq(vdev_drv_driver_ok(t.fx.drv), 0);
	vdev_dev_poll(t.fx.dev);
	rt_submit1(&t, rt_buf(&t, 1024, 0, NULL), 1024, NULL);
	cr_assert_eq(rt_collect(&t, NULL, lens, 4), 0, "a reset bought a fresh bucket");
	rt_advance(&t, 1000);
	cr_assert_eq(rt_collect(&t, NULL, lens, 4), 1);
	rt_close(&t);
}

struct slow_src {
	int calls;
	bool ready;
};

static ssize_t slow_read(void *opaque, void *buf, size_t len)
{
	struct slow_src *s = opaque;

	s->calls++;
	if (!s->ready)
		return -EAGAIN;
	memset(buf, 0x5A, len);
	return (ssize_t)len;
}

Test(rng_hostile, H12_reset_while_the_source_is_not_ready)
{
	struct slow_src src = {0};
	struct vdev_rng_backend be = {.version = 1, .opaque = &src, .read = slow_read};
	struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config), .backend = &be};
	struct rt t;
	uint64_t used;
	uint32_t len;
	uint8_t *p;

	rt_open(&t, &fx_modes[3], &cfg, &(struct rt_opts){.fake_clock = true});
	cr_assert_eq(vdev_drv_queue_rings(t.fx.drv, 0, NULL, NULL, &used), 0);
	rt_submit1(&t, rt_buf(&t, 256, 0xA5, &p), 256, NULL);
	cr_assert_eq(rt_collect(&t, NULL, &len, 1), 0);
	cr_assert_eq(vdev_drv_reset(t.fx.drv), 0);
	src.ready = true;
	rt_advance(&t, 1000);
	cr_assert(rt_all(p, 256, 0xA5), "written after reset");
	cr_assert_eq(used_idx(&t, used), 0);
	cr_assert_eq(src.calls, 1, "the source was asked for a reset device");
	cr_assert_eq(rt_stats(&t).requests, 0);
	rt_close(&t);
}

Test(rng_hostile, H22_device_never_writes_readable_buffers)
{
	for (int m = 0; m < FX_NMODES_TRANSITIONAL; m++) {
		struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config)};
		struct vdev_drv_seg segs[4];
		struct rt t;
		uint8_t *r;
		uint64_t g;
		uint32_t lens[2];

		rt_open(&t, &fx_modes[m], &cfg, NULL);
		g = rt_buf(&t, 4096, 0x33, &r);
		/* Only readable descriptors, big ones, directly and through a table. */
		for (int i = 0; i < 4; i++)
			segs[i] = (struct vdev_drv_seg){g, 4096, false};
		rt_submit(&t, segs, 4, false, NULL);
		rt_submit(&t, segs, 4, true, NULL);
		cr_assert_eq(rt_collect(&t, NULL, lens, 2), 2);
		cr_assert_eq(lens[0], 0);
		cr_assert_eq(lens[1], 0);
		cr_assert(rt_all(r, 4096, 0x33), "%s: readable buffer written", fx_modes[m].name);
		cr_assert_eq(rt_stats(&t).bytes_out, 0);
		cr_assert_eq(rt_stats(&t).dropped, 2);
		rt_close(&t);
	}
}

Test(rng_hostile, H29_fragmented_chain_past_the_iovec_capacity_breaks)
{
	/* Every 4 KiB of guest RAM is its own host fragment: a 4 MiB buffer needs 1024
	 * iovecs, more than a 64-entry queue's device keeps (2 * 64 + 512). */
	struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config)};
	struct rt t;
	uint32_t len;
	uint8_t *p;
	uint64_t g, logs;

	rt_open(&t, &fx_modes[1], &cfg, &(struct rt_opts){.frag = 4096});
	g = rt_buf(&t, 4u << 20, 0xA5, &p);
	(void)vdev_drv_read_isr(t.fx.drv);
	logs = vdev_sim_log_count(t.fx.sim);
	rt_submit1(&t, g, 4u << 20, NULL);
	cr_assert_eq(rt_collect(&t, NULL, &len, 1), 0);
	cr_assert_neq(vdev_drv_read_status(t.fx.drv) & VIRTIO_CR_STATUS_NEEDS_RESET, 0);
	cr_assert_neq(vdev_drv_read_isr(t.fx.drv) & VIRTIO_CR_ISR_CONF_CHANGED, 0,
		      "no config interrupt");
	cr_assert_gt(vdev_sim_log_count(t.fx.sim), logs, "the break was not logged");
	cr_assert(rt_all(p, 4u << 20, 0xA5));
	/* A reset brings it back, and a fragmented buffer within capacity works. */
	cr_assert_eq(vdev_drv_reset(t.fx.drv), 0);
	cr_assert_eq(vdev_drv_negotiate(t.fx.drv, ~0ull, NULL), 0);
	cr_assert_eq(vdev_drv_queue_setup(t.fx.drv, 0, 0, VIRTIO_MSI_NO_VECTOR), 0);
	cr_assert_eq(vdev_drv_driver_ok(t.fx.drv), 0);
	rt_submit1(&t, g, 256u << 10, NULL);
	cr_assert_eq(rt_collect(&t, NULL, &len, 1), 1);
	cr_assert_eq(len, VDEV_RNG_DEFAULT_REQUEST_BYTES);
	rt_close(&t);
}

/* A chain of queue-size writable buffers, direct or as one indirect table of queue-size
 * entries, is filled whole in every mode. */
static void long_chain_rng(const struct fx_mode *m, bool indirect)
{
	struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config)};
	struct vdev_drv_seg segs[VDEV_RNG_DEFAULT_QUEUE_SIZE];
	uint8_t *p[VDEV_RNG_DEFAULT_QUEUE_SIZE];
	struct rt t;
	uint32_t len = 0;
	uint16_t qs;

	rt_open(&t, m, &cfg, NULL);
	qs = vdev_drv_queue_size(t.fx.drv, 0);
	cr_assert_eq(qs, VDEV_RNG_DEFAULT_QUEUE_SIZE, "%s: queue size %u", m->name, qs);
	for (uint32_t i = 0; i < qs; i++)
		segs[i] = (struct vdev_drv_seg){rt_buf(&t, 8, 0, &p[i]), 8, true};
	rt_submit(&t, segs, qs, indirect, NULL);
	cr_assert_eq(rt_collect(&t, NULL, &len, 1), 1, "%s: not completed", m->name);
	cr_assert_eq(len, 8u * qs, "%s: used length %u", m->name, len);
	cr_assert_eq(vdev_drv_read_status(t.fx.drv) & VIRTIO_CR_STATUS_NEEDS_RESET, 0,
		     "%s: broken by a legal chain", m->name);
	rt_close(&t);
}

Test(rng_hostile, H29_queue_size_chain_is_served)
{
	for (int i = 0; i < FX_NMODES; i++)
		long_chain_rng(&fx_modes[i], false);
}

Test(rng_hostile, H29_queue_size_indirect_table_is_served)
{
	for (int i = 0; i < FX_NMODES; i++)
		long_chain_rng(&fx_modes[i], true);
}
