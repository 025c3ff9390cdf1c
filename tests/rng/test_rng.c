/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-rng through the driver peer, in legacy, modern and transitional modes:
 * data, the file source, the per-request cap, the rate limiter (on a fake clock), the
 * per-poll bound, source retries, counters, create() arguments and host controls.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "dev_loop.h"
#include "rng_util.h"

/* ---------------- helpers ---------------- */

/* A temporary file holding `len` bytes of `data`; the path goes into buf. */
static void temp_file(char *buf, size_t bufsz, const uint8_t *data, size_t len)
{
	int fd;

	snprintf(buf, bufsz, "/tmp/vdev-rng-test-XXXXXX");
	fd = mkstemp(buf);
	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void append_file(const char *path, const uint8_t *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_APPEND);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

/* ---------------- data ---------------- */

Test(rng, returns_random_data_all_modes)
{
	for (int m = 0; m < FX_NMODES_TRANSITIONAL; m++) {
		struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config)};
		struct rt t;
		uint8_t *a, *b;
		uint64_t ga, gb;
		uint32_t lens[2];
		void *toks[2];

		rt_open(&t, &fx_modes[m], &cfg, NULL);
		ga = rt_buf(&t, 64, 0, &a);
		gb = rt_buf(&t, 64, 0, &b);
		rt_submit1(&t, ga, 64, (void *)1);
		rt_submit1(&t, gb, 64, (void *)2);
		cr_assert_eq(rt_collect(&t, toks, lens, 2), 2, "%s", fx_modes[m].name);
		cr_assert_eq(toks[0], (void *)1);
		cr_assert_eq(lens[0], 64, "%s: used len %u", fx_modes[m].name, lens[0]);
		cr_assert_eq(lens[1], 64);
		cr_assert(!rt_all(a, 64, 0), "%s: all zeroes", fx_modes[m].name);
		cr_assert(!rt_all(b, 64, 0), "%s: all zeroes", fx_modes[m].name);
		cr_assert_neq(memcmp(a, b, 64), 0, "%s: two requests gave the same bytes",
			      fx_modes[m].name);
		cr_assert_eq(rt_stats(&t).requests, 2);
		cr_assert_eq(rt_stats(&t).bytes_out, 128);
		cr_assert_eq(rt_stats(&t).bytes_in, 0);
		cr_assert_eq(vdev_dev_next_timeout_ms(t.fx.dev), -1);
		rt_close(&t);
	}
}

Test(rng, pci_identity_and_no_config)
{
	for (int m = 0; m < FX_NMODES_TRANSITIONAL; m++) {
		struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config)};
		struct rt t;
		uint32_t want = fx_modes[m].mode == VDEV_PCI_MODERN ? 0x1044 : 0x1005;

		rt_open(&t, &fx_modes[m], &cfg, NULL);
		cr_assert_eq(vdev_drv_pci_read(t.fx.drv, PCIR_VENDOR, 2), 0x1af4);
		cr_assert_eq(vdev_drv_pci_read(t.fx.drv, PCIR_DEVICE, 2), want, "%s: device 0x%x",
			     fx_modes[m].name, vdev_drv_pci_read(t.fx.drv, PCIR_DEVICE, 2));
		cr_assert_eq(vdev_drv_queue_size(t.fx.drv, 0), VDEV_RNG_DEFAULT_QUEUE_SIZE);
		rt_close(&t);
	}
}

Test(rng, indirect_and_multi_segment)
{
	for (int m = 0; m < FX_NMODES_TRANSITIONAL; m++) {
		struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config)};
		struct rt t;
		uint8_t *p;
		uint64_t g;
		uint32_t len;
		struct vdev_drv_seg segs[3];

		rt_open(&t, &fx_modes[m], &cfg, NULL);
		cr_assert_neq(vdev_drv_features(t.fx.drv) & VIRTIO_RING_F_INDIRECT_DESC, 0);
		g = rt_buf(&t, 300, 0, &p);
		for (int i = 0; i < 3; i++)
			segs[i] = (struct vdev_drv_seg){g + 100u * (uint32_t)i, 100, true};
		rt_submit(&t, segs, 3, true, NULL);
		cr_assert_eq(rt_collect(&t, NULL, &len, 1), 1);
		cr_assert_eq(len, 300);
		cr_assert(!rt_all(p + 200, 100, 0), "%s: last segment not filled",
			  fx_modes[m].name);
		rt_close(&t);
	}
}

/* ---------------- file source ---------------- */

Test(rng, file_backend_gives_file_bytes_in_order_then_waits_at_eof)
{
	uint8_t data[1000], more[50];
	char path[64];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = pattern(i);
	for (size_t i = 0; i < sizeof(more); i++)
		more[i] = (uint8_t)(0xC0 + i);
	for (int m = 0; m < FX_NMODES_TRANSITIONAL; m++) {
		struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config)};
		struct rt t;
		uint8_t *b[5];
		uint64_t g[5];
		uint32_t lens[5];
		struct vdev_rng_stats xs;
		int to;

		temp_file(path, sizeof(path), data, sizeof(data));
		cfg.path = path;
		rt_open(&t, &fx_modes[m], &cfg, &(struct rt_opts){.fake_clock = true});
		for (int i = 0; i < 5; i++)
			g[i] = rt_buf(&t, 300, 0xEE, &b[i]);
		for (int i = 0; i < 3; i++)
			rt_submit1(&t, g[i], 300, NULL);
		cr_assert_eq(rt_collect(&t, NULL, lens, 5), 3);
		for (int i = 0; i < 3; i++) {
			cr_assert_eq(lens[i], 300);
			cr_assert_eq(memcmp(b[i], data + 300 * i, 300), 0,
				     "%s: request %d is not the file's bytes", fx_modes[m].name, i);
		}
		/* 100 bytes left: a partial request, then the source is exhausted. */
		rt_submit1(&t, g[3], 300, NULL);
		cr_assert_eq(rt_collect(&t, NULL, lens, 5), 1);
		cr_assert_eq(lens[0], 100, "%s: tail used len %u", fx_modes[m].name, lens[0]);
		cr_assert_eq(memcmp(b[3], data + 900, 100), 0);
		cr_assert(rt_all(b[3] + 100, 200, 0xEE), "written past the data it had");
		xs = rt_xstats(&t);
		cr_assert(xs.source_failed);
		cr_assert_eq(xs.source_failures, 1);
		cr_assert_eq(rt_stats(&t).errors, 1);
		cr_assert_neq(strstr(vdev_sim_last_log(t.fx.sim), "exhausted"), NULL, "log: %s",
			      vdev_sim_last_log(t.fx.sim));
		/* The next request waits (never completed empty) and is retried slowly. */
		rt_submit1(&t, g[4], 300, NULL);
		cr_assert_eq(rt_collect(&t, NULL, lens, 5), 0);
		to = vdev_dev_next_timeout_ms(t.fx.dev);
		cr_assert(to > 0 && to <= VDEV_RNG_FAILED_RETRY_MS, "timeout %d", to);
		rt_advance(&t, 10);
		cr_assert_eq(rt_collect(&t, NULL, lens, 5), 0);
		cr_assert_eq(rt_stats(&t).errors, 1, "a failure is counted once");
		/* The file grows: the waiting request gets the new bytes at the next retry. */
		append_file(path, more, sizeof(more));
		rt_advance(&t, VDEV_RNG_FAILED_RETRY_MS);
		cr_assert_eq(rt_collect(&t, NULL, lens, 5), 1);
		cr_assert_eq(lens[0], 50);
		cr_assert_eq(memcmp(b[4], more, 50), 0);
		/* ...and ran dry again within that request: a second failure. */
		cr_assert(rt_xstats(&t).source_failed);
		cr_assert_eq(rt_stats(&t).errors, 2);
		cr_assert_eq(rt_stats(&t).bytes_out, 1050);
		rt_close(&t);
		unlink(path);
	}
}

Test(rng, file_backend_wraps_when_asked)
{
	uint8_t data[100], *p;
	char path[64];
	struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config)};
	struct rt t;
	uint32_t len;
	uint64_t g;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = pattern(i);
	temp_file(path, sizeof(path), data, sizeof(data));
	cfg.path = path;
	cfg.wrap = true;
	rt_open(&t, &fx_modes[1], &cfg, NULL);
	g = rt_buf(&t, 250, 0, &p);
	rt_submit1(&t, g, 250, NULL);
	cr_assert_eq(rt_collect(&t, NULL, &len, 1), 1);
	cr_assert_eq(len, 250);
	for (int i = 0; i < 250; i++)
		cr_assert_eq(p[i], pattern((size_t)i % 100), "byte %d", i);
	cr_assert_eq(rt_stats(&t).errors, 0);
	rt_close(&t);
	unlink(path);
}

Test(rng, dev_urandom_path)
{
	struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config),
				      .path = "/dev/urandom"};
	struct rt t;
	uint8_t *p;
	uint32_t len;
	uint64_t g;

	rt_open(&t, &fx_modes[0], &cfg, NULL);
	g = rt_buf(&t, 4096, 0, &p);
	rt_submit1(&t, g, 4096, NULL);
	cr_assert_eq(rt_collect(&t, NULL, &len, 1), 1);
	cr_assert_eq(len, 4096);
	cr_assert(!rt_all(p + 4000, 96, 0));
	rt_close(&t);
}

/* ---------------- the cap ---------------- */

Test(rng, cap_one_mib_buffer_gets_exactly_cap)
{
	for (int m = 0; m < FX_NMODES_TRANSITIONAL; m++) {
		struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config)};
		struct rt t;
		uint8_t *p;
		uint32_t len;
		uint64_t g;

		rt_open(&t, &fx_modes[m], &cfg, NULL);
		g = rt_buf(&t, 1u << 20, 0xA5, &p);
		rt_submit1(&t, g, 1u << 20, NULL);
		cr_assert_eq(rt_collect(&t, NULL, &len, 1), 1);
		cr_assert_eq(len, VDEV_RNG_DEFAULT_REQUEST_BYTES, "%s: used len %u",
			     fx_modes[m].name, len);
		cr_assert(rt_all(p + len, (1u << 20) - len, 0xA5), "%s: written past the cap",
			  fx_modes[m].name);
		cr_assert(!rt_all(p + len - 64, 64, 0xA5), "%s: cap not filled", fx_modes[m].name);
		cr_assert_eq(rt_stats(&t).bytes_out, VDEV_RNG_DEFAULT_REQUEST_BYTES);
		cr_assert_eq(rt_xstats(&t).capped, 1);
		rt_close(&t);
	}
}

Test(rng, configured_cap_across_segments)
{
	struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config),
				      .max_request_bytes = 1000};
	struct vdev_drv_seg segs[3];
	struct rt t;
	uint8_t *p;
	uint32_t len;
	uint64_t g;

	rt_open(&t, &fx_modes[1], &cfg, NULL);
	g = rt_buf(&t, 1200, 0xA5, &p);
	for (int i = 0; i < 3; i++)
		segs[i] = (struct vdev_drv_seg){g + 400u * (uint32_t)i, 400, true};
	rt_submit(&t, segs, 3, false, NULL);
	cr_assert_eq(rt_collect(&t, NULL, &len, 1), 1);
	cr_assert_eq(len, 1000);
	cr_assert(rt_all(p + 1000, 200, 0xA5));
	cr_assert(!rt_all(p + 800, 200, 0xA5));
	/* A request under the cap gets all it asked for and is not counted as capped. */
	g = rt_buf(&t, 999, 0xA5, &p);
	rt_submit1(&t, g, 999, NULL);
	cr_assert_eq(rt_collect(&t, NULL, &len, 1), 1);
	cr_assert_eq(len, 999);
	cr_assert_eq(rt_xstats(&t).capped, 1);
	rt_close(&t);
}

/* ---------------- readable descriptors ---------------- */

Test(rng, readable_descriptors_ignored_and_counted)
{
	for (int m = 0; m < FX_NMODES_TRANSITIONAL; m++) {
		struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config)};
		struct rt t;
		uint8_t *r, *w;
		uint64_t gr, gw;
		uint32_t len;
		struct vdev_drv_seg segs[2];
		struct vdev_dev_stats st;

		rt_open(&t, &fx_modes[m], &cfg, NULL);
		gr = rt_buf(&t, 100, 0x11, &r);
		gw = rt_buf(&t, 64, 0, &w);
		segs[0] = (struct vdev_drv_seg){gr, 100, false};
		segs[1] = (struct vdev_drv_seg){gw, 64, true};
		rt_submit(&t, segs, 2, false, NULL);
		cr_assert_eq(rt_collect(&t, NULL, &len, 1), 1);
		cr_assert_eq(len, 64, "%s: readable bytes counted as written", fx_modes[m].name);
		cr_assert(rt_all(r, 100, 0x11), "%s: wrote into a readable buffer",
			  fx_modes[m].name);
		cr_assert(!rt_all(w, 64, 0));
		/* Only readable: completed empty, counted as dropped. */
		rt_submit(&t, segs, 1, false, NULL);
		cr_assert_eq(rt_collect(&t, NULL, &len, 1), 1);
		cr_assert_eq(len, 0);
		cr_assert(rt_all(r, 100, 0x11));
		st = rt_stats(&t);
		cr_assert_eq(st.requests, 2);
		cr_assert_eq(st.dropped, 1);
		cr_assert_eq(st.bytes_out, 64);
		cr_assert_eq(st.bytes_in, 0);
		cr_assert_eq(rt_xstats(&t).readable_ignored, 200);
		cr_assert_eq(vdev_drv_read_status(t.fx.drv) & VIRTIO_CR_STATUS_NEEDS_RESET, 0);
		rt_close(&t);
	}
}

/* ---------------- rate limit ---------------- */

Test(rng, rate_limit_token_bucket_on_fake_clock)
{
	for (int m = 0; m < FX_NMODES_TRANSITIONAL; m++) {
		struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config),
					      .rate_bytes_per_sec = 4096};
		struct rt t;
		uint64_t g[16];
		uint32_t lens[16];
		uint8_t *p[16];

		rt_open(&t, &fx_modes[m], &cfg, &(struct rt_opts){.fake_clock = true});
		for (int i = 0; i < 16; i++) {
			g[i] = rt_buf(&t, 512, 0xA5, &p[i]);
			rt_submit1(&t, g[i], 512, NULL);
		}
		/* The bucket starts full: 4096 bytes, eight requests; the rest wait. */
		cr_assert_eq(rt_collect(&t, NULL, lens, 16), 8, "%s", fx_modes[m].name);
		cr_assert_eq(rt_stats(&t).bytes_out, 4096);
		cr_assert(rt_all(p[8], 512, 0xA5), "a waiting request was written");
		/* 512 tokens at 4096 B/s take 125 ms; polling earlier serves nothing. */
		cr_assert_eq(vdev_dev_next_timeout_ms(t.fx.dev), 125, "%s: timeout %d",
			     fx_modes[m].name, vdev_dev_next_timeout_ms(t.fx.dev));
		for (int i = 0; i < 5; i++)
			vdev_dev_poll(t.fx.dev);
		rt_advance(&t, 124);
		cr_assert_eq(rt_collect(&t, NULL, lens, 16), 0);
		cr_assert_eq(vdev_dev_next_timeout_ms(t.fx.dev), 1);
		rt_advance(&t, 1);
		cr_assert_eq(rt_collect(&t, NULL, lens, 16), 1);
		cr_assert_eq(lens[0], 512);
		cr_assert_eq(rt_stats(&t).bytes_out, 4608);
		/* A whole second later the bucket is full again (not fuller): 7 remain. */
		rt_advance(&t, 10000);
		cr_assert_eq(rt_collect(&t, NULL, lens, 16), 7);
		cr_assert_eq(rt_stats(&t).bytes_out, 16 * 512);
		cr_assert_eq(vdev_dev_next_timeout_ms(t.fx.dev), -1);
		cr_assert_geq(rt_xstats(&t).throttled, 2);
		cr_assert_eq(rt_stats(&t).dropped, 0);
		rt_close(&t);
	}
}

Test(rng, rate_limit_large_request_served_per_burst)
{
	struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config),
				      .rate_bytes_per_sec = 4096, .rate_burst_bytes = 1024};
	struct rt t;
	uint32_t len;
	uint8_t *p;
	uint64_t g;

	rt_open(&t, &fx_modes[1], &cfg, &(struct rt_opts){.fake_clock = true});
	g = rt_buf(&t, 65536, 0xA5, &p);
	rt_submit1(&t, g, 65536, NULL);
	cr_assert_eq(rt_collect(&t, NULL, &len, 1), 1);
	cr_assert_eq(len, 1024, "a request gets at most the bucket depth");
	rt_submit1(&t, g, 65536, NULL);
	cr_assert_eq(rt_collect(&t, NULL, &len, 1), 0);
	cr_assert_eq(vdev_dev_next_timeout_ms(t.fx.dev), 250);
	rt_advance(&t, 250);
	cr_assert_eq(rt_collect(&t, NULL, &len, 1), 1);
	cr_assert_eq(len, 1024);
	rt_close(&t);
}

static bool all_done(void *arg)
{
	int *left = arg;

	return *left == 0;
}

struct loop_ctx {
	struct rt *t;
	int left;
};

static bool loop_collect(void *arg)
{
	struct loop_ctx *c = arg;
	uint32_t len;
	void *tok;

	while (vdev_drv_dequeue(c->t->fx.drv, 0, &tok, &len) == 1) {
		cr_assert_eq(len, 1024);
		c->left--;
	}
	return all_done(&c->left);
}

Test(rng, rate_limit_real_clock_through_event_loop)
{
	/* 64 KiB/s with a 2 KiB bucket: 32 requests of 1 KiB need the timer about 30
	 * times. Only completion is asserted, never wall time. */
	struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config),
				      .rate_bytes_per_sec = 65536, .rate_burst_bytes = 2048};
	struct loop_ctx c = {0};
	struct rt t;
	int rc;

	rt_open(&t, &fx_modes[1], &cfg, NULL);
	c.t = &t;
	c.left = 32;
	for (int i = 0; i < 32; i++)
		rt_submit1(&t, rt_buf(&t, 1024, 0, NULL), 1024, NULL);
	rc = dev_loop_until(&t.fx.dev, 1, loop_collect, &c, 5000);
	cr_assert_eq(rc, 0, "loop: %d, %d left", rc, c.left);
	cr_assert_eq(rt_stats(&t).bytes_out, 32 * 1024);
	cr_assert_gt(rt_xstats(&t).throttled, 0);
	rt_close(&t);
}

Test(rng, set_rate_limit_at_run_time)
{
	struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config),
				      .rate_bytes_per_sec = 100};
	struct rt t;
	uint32_t lens[4];

	rt_open(&t, &fx_modes[1], &cfg, &(struct rt_opts){.fake_clock = true});
	for (int i = 0; i < 4; i++)
		rt_submit1(&t, rt_buf(&t, 100, 0, NULL), 100, NULL);
	cr_assert_eq(rt_collect(&t, NULL, lens, 4), 1);
	cr_assert_gt(vdev_dev_next_timeout_ms(t.fx.dev), 0);
	cr_assert_eq(vdev_rng_set_rate_limit(t.fx.dev, 0, 0), 0);
	/* The waiting requests are looked at on the next poll, at once. */
	cr_assert_eq(vdev_dev_next_timeout_ms(t.fx.dev), 0);
	cr_assert_eq(rt_collect(&t, NULL, lens, 4), 0, "served outside poll");
	vdev_dev_poll(t.fx.dev);
	cr_assert_eq(rt_collect(&t, NULL, lens, 4), 3);
	cr_assert_eq(vdev_rng_set_rate_limit(t.fx.dev, VDEV_RNG_MAX_RATE + 1, 0), -EINVAL);
	cr_assert_eq(vdev_rng_set_rate_limit(t.fx.dev, 0, 10), -EINVAL);
	cr_assert_eq(vdev_rng_set_rate_limit(NULL, 10, 0), -EINVAL);
	rt_close(&t);
}

/* ---------------- per-poll bound ---------------- */

Test(rng, per_kick_bound_resumes_in_poll)
{
	for (int m = 0; m < FX_NMODES_TRANSITIONAL; m++) {
		struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config),
					      .max_requests_per_poll = 4};
		struct rt t;
		uint64_t g[10];
		uint32_t lens[10];
		int got;

		rt_open(&t, &fx_modes[m], &cfg, NULL);
		for (int i = 0; i < 10; i++) {
			g[i] = rt_buf(&t, 32, 0, NULL);
			cr_assert_eq(vdev_drv_enqueue(t.fx.drv, 0,
						      &(struct vdev_drv_seg){g[i], 32, true}, 1,
						      false, NULL),
				     0);
		}
		vdev_drv_kick(t.fx.drv, 0);
		cr_assert_eq(rt_collect(&t, NULL, lens, 10), 4, "%s", fx_modes[m].name);
		cr_assert_eq(vdev_dev_next_timeout_ms(t.fx.dev), 0, "backlog must ask for a poll");
		vdev_dev_poll(t.fx.dev);
		cr_assert_eq(rt_collect(&t, NULL, lens, 10), 4);
		cr_assert_eq(vdev_dev_next_timeout_ms(t.fx.dev), 0);
		vdev_dev_poll(t.fx.dev);
		got = rt_collect(&t, NULL, lens, 10);
		cr_assert_eq(got, 2);
		cr_assert_eq(vdev_dev_next_timeout_ms(t.fx.dev), -1);
		cr_assert_eq(rt_stats(&t).requests, 10);
		rt_close(&t);
	}
}

Test(rng, requests_queued_before_driver_ok_are_served)
{
	struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config)};
	struct vdev_drv_config dcfg = {.size = sizeof(struct vdev_drv_config),
				       .access = VDEV_DRV_MODERN};
	struct vdev_sim_config scfg = {.size = sizeof(struct vdev_sim_config),
				       .ram_size = 4u << 20};
	struct vdev_sim *sim;
	struct vdev_dev *dev;
	struct vdev_drv *drv;
	uint32_t len;
	void *tok;
	uint64_t g;

	cfg.pci.mode = VDEV_PCI_MODERN;
	cr_assert_eq(vdev_sim_create(&scfg, &sim), 0);
	cr_assert_eq(vdev_rng_create(vdev_sim_vmctx(sim), "rng0", &cfg, &dev), 0);
	cr_assert_eq(vdev_drv_open(sim, vdev_dev_pci(dev), &dcfg, &drv), 0);
	cr_assert_eq(vdev_drv_negotiate(drv, ~0ull, NULL), 0);
	cr_assert_eq(vdev_drv_queue_setup(drv, 0, 0, VIRTIO_MSI_NO_VECTOR), 0);
	g = vdev_sim_alloc(sim, 64, 64);
	cr_assert_eq(vdev_drv_enqueue(drv, 0, &(struct vdev_drv_seg){g, 64, true}, 1, false, NULL),
		     0);
	vdev_drv_kick(drv, 0); /* ignored: before DRIVER_OK */
	cr_assert_eq(vdev_drv_dequeue(drv, 0, &tok, &len), 0);
	cr_assert_eq(vdev_drv_driver_ok(drv), 0);
	cr_assert_eq(vdev_dev_next_timeout_ms(dev), 0);
	vdev_dev_poll(dev);
	cr_assert_eq(vdev_drv_dequeue(drv, 0, &tok, &len), 1);
	cr_assert_eq(len, 64);
	vdev_drv_close(drv);
	vdev_dev_destroy(dev);
	vdev_sim_destroy(sim);
}

/* ---------------- the embedder's source ---------------- */

struct fake_src {
	int calls;
	int fail_first; /* answer this many calls with `fail_err` */
	int fail_err;
	int efd;        /* pollfd, or -1 */
	int closed;
};

static ssize_t fake_read(void *opaque, void *buf, size_t len)
{
	struct fake_src *s = opaque;

	s->calls++;
	if (s->fail_first > 0) {
		s->fail_first--;
		return s->fail_err;
	}
	memset(buf, 0x5A, len);
	return (ssize_t)len;
}

static int fake_pollfd(void *opaque)
{
	return ((struct fake_src *)opaque)->efd;
}

static void fake_close(void *opaque)
{
	((struct fake_src *)opaque)->closed++;
}

Test(rng, custom_backend_eagain_retried_on_timer_not_busy)
{
	static const int errs[] = {-EAGAIN, -EINTR};

	for (int e = 0; e < 2; e++) {
		struct fake_src src = {.fail_first = 2, .fail_err = errs[e], .efd = -1};
		struct vdev_rng_backend be = {.version = VDEV_RNG_BACKEND_VERSION,
					      .opaque = &src,
					      .read = fake_read,
					      .close = fake_close};
		struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config),
					      .backend = &be};
		struct vdev_pollfd fds[4];
		struct rt t;
		uint32_t len;
		uint8_t *p;
		uint64_t g;

		rt_open(&t, &fx_modes[e ? 3 : 1], &cfg, &(struct rt_opts){.fake_clock = true});
		g = rt_buf(&t, 128, 0, &p);
		rt_submit1(&t, g, 128, NULL);
		cr_assert_eq(src.calls, 1);
		cr_assert_eq(rt_collect(&t, NULL, &len, 1), 0);
		cr_assert_eq(vdev_dev_next_timeout_ms(t.fx.dev), VDEV_RNG_RETRY_MS);
		cr_assert_eq(vdev_dev_pollfds(t.fx.dev, fds, 4), 0);
		/* Polls and kicks before the timer do not ask the source again. */
		for (int i = 0; i < 10; i++)
			vdev_dev_poll(t.fx.dev);
		vdev_drv_kick(t.fx.drv, 0);
		cr_assert_eq(src.calls, 1, "busy-looped on the source");
		rt_advance(&t, VDEV_RNG_RETRY_MS);
		cr_assert_eq(src.calls, 2);
		cr_assert_eq(rt_collect(&t, NULL, &len, 1), 0);
		rt_advance(&t, VDEV_RNG_RETRY_MS);
		cr_assert_eq(rt_collect(&t, NULL, &len, 1), 1);
		cr_assert_eq(len, 128);
		cr_assert(rt_all(p, 128, 0x5A));
		cr_assert_eq(rt_xstats(&t).source_retries, 2);
		cr_assert_eq(rt_stats(&t).errors, 0);
		cr_assert_eq(src.closed, 0);
		rt_close(&t);
		cr_assert_eq(src.closed, 1, "destroy must close the backend once");
	}
}

Test(rng, custom_backend_pollfd_listed_while_waiting)
{
	struct fake_src src = {.fail_first = 1, .fail_err = -EAGAIN};
	struct vdev_rng_backend be = {.version = VDEV_RNG_BACKEND_VERSION,
				      .opaque = &src,
				      .read = fake_read,
				      .pollfd = fake_pollfd};
	struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config), .backend = &be};
	struct vdev_pollfd fds[4];
	struct rt t;
	uint32_t len;

	src.efd = eventfd(0, EFD_CLOEXEC);
	cr_assert_geq(src.efd, 0);
	rt_open(&t, &fx_modes[1], &cfg, &(struct rt_opts){.fake_clock = true});
	cr_assert_eq(vdev_dev_pollfds(t.fx.dev, fds, 4), 0, "fd listed while idle");
	rt_submit1(&t, rt_buf(&t, 16, 0, NULL), 16, NULL);
	cr_assert_eq(rt_collect(&t, NULL, &len, 1), 0);
	cr_assert_eq(vdev_dev_pollfds(t.fx.dev, fds, 4), 1);
	cr_assert_eq(fds[0].fd, src.efd);
	cr_assert_eq(fds[0].events, VDEV_POLL_IN);
	/* The fd fired: the embedder polls before the timer and the source is asked. */
	vdev_dev_poll(t.fx.dev);
	cr_assert_eq(rt_collect(&t, NULL, &len, 1), 1);
	cr_assert_eq(len, 16);
	cr_assert_eq(vdev_dev_pollfds(t.fx.dev, fds, 4), 0);
	rt_close(&t);
	close(src.efd);
}

Test(rng, custom_backend_misbehaving_returns_are_errors)
{
	static const ssize_t bad[] = {0, 1 << 30};

	for (int i = 0; i < 2; i++) {
		struct fake_src src = {.fail_first = 1, .fail_err = (int)bad[i], .efd = -1};
		struct vdev_rng_backend be = {.version = 1, .opaque = &src, .read = fake_read};
		struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config),
					      .backend = &be};
		struct rt t;
		uint32_t len;
		uint8_t *p;

		rt_open(&t, &fx_modes[1], &cfg, &(struct rt_opts){.fake_clock = true});
		rt_submit1(&t, rt_buf(&t, 16, 0, &p), 16, NULL);
		cr_assert_eq(rt_collect(&t, NULL, &len, 1), 0);
		cr_assert(rt_xstats(&t).source_failed);
		cr_assert_eq(rt_stats(&t).errors, 1);
		rt_advance(&t, VDEV_RNG_FAILED_RETRY_MS);
		cr_assert_eq(rt_collect(&t, NULL, &len, 1), 1);
		cr_assert(rt_all(p, 16, 0x5A));
		rt_close(&t);
	}
}

/* ---------------- counters ---------------- */

Test(rng, counters)
{
	struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config),
				      .max_request_bytes = 100};
	struct vdev_drv_seg ro;
	struct vdev_dev_stats st;
	struct rt t;
	uint32_t lens[8];

	rt_open(&t, &fx_modes[2], &cfg, NULL);
	for (int i = 0; i < 3; i++)
		rt_submit1(&t, rt_buf(&t, 50, 0, NULL), 50, NULL);
	rt_submit1(&t, rt_buf(&t, 500, 0, NULL), 500, NULL);
	ro = (struct vdev_drv_seg){rt_buf(&t, 10, 0, NULL), 10, false};
	rt_submit(&t, &ro, 1, false, NULL);
	cr_assert_eq(rt_collect(&t, NULL, lens, 8), 5);
	st = rt_stats(&t);
	cr_assert_eq(st.requests, 5);
	cr_assert_eq(st.bytes_out, 250);
	cr_assert_eq(st.bytes_in, 0);
	cr_assert_eq(st.dropped, 1);
	cr_assert_eq(st.errors, 0);
	cr_assert_eq(st.no_buffer, 0);
	cr_assert_eq(rt_xstats(&t).capped, 1);
	/* Counters survive a guest reset. */
	cr_assert_eq(vdev_drv_reset(t.fx.drv), 0);
	cr_assert_eq(rt_stats(&t).requests, 5);
	rt_close(&t);
}

/* ---------------- create() arguments ---------------- */

struct bad_case {
	const char *field;
	void (*set)(struct vdev_rng_config *c, struct vdev_rng_backend *be);
};

static void bad_mode(struct vdev_rng_config *c, struct vdev_rng_backend *be)
{
	(void)be;
	c->pci.mode = (enum vdev_pci_mode)9;
}
static void bad_both(struct vdev_rng_config *c, struct vdev_rng_backend *be)
{
	c->path = "/dev/urandom";
	c->backend = be;
}
static void bad_wrap(struct vdev_rng_config *c, struct vdev_rng_backend *be)
{
	(void)be;
	c->wrap = true;
}
static void bad_version(struct vdev_rng_config *c, struct vdev_rng_backend *be)
{
	be->version = 99;
	c->backend = be;
}
static void bad_read(struct vdev_rng_config *c, struct vdev_rng_backend *be)
{
	be->read = NULL;
	c->backend = be;
}
static void bad_cap(struct vdev_rng_config *c, struct vdev_rng_backend *be)
{
	(void)be;
	c->max_request_bytes = VDEV_RNG_MAX_REQUEST_BYTES + 1;
}
static void bad_rate(struct vdev_rng_config *c, struct vdev_rng_backend *be)
{
	(void)be;
	c->rate_bytes_per_sec = VDEV_RNG_MAX_RATE + 1;
}
static void bad_burst(struct vdev_rng_config *c, struct vdev_rng_backend *be)
{
	(void)be;
	c->rate_burst_bytes = 100;
}
static void bad_qsize(struct vdev_rng_config *c, struct vdev_rng_backend *be)
{
	(void)be;
	c->queue_size = 48;
}
static void big_qsize(struct vdev_rng_config *c, struct vdev_rng_backend *be)
{
	(void)be;
	c->queue_size = 2048;
}
static void dir_path(struct vdev_rng_config *c, struct vdev_rng_backend *be)
{
	(void)be;
	c->path = "/tmp";
}
static void empty_path(struct vdev_rng_config *c, struct vdev_rng_backend *be)
{
	(void)be;
	c->path = "";
}

Test(rng, create_refuses_bad_arguments_and_names_the_field)
{
	static const struct bad_case cases[] = {
		{"pci.mode", bad_mode},
		{"path and backend", bad_both},
		{"wrap", bad_wrap},
		{"backend.version", bad_version},
		{"backend.read", bad_read},
		{"max_request_bytes", bad_cap},
		{"rate_bytes_per_sec", bad_rate},
		{"rate_burst_bytes", bad_burst},
		{"queue_size", bad_qsize},
		{"queue_size", big_qsize},
		{"path", dir_path},
		{"path", empty_path},
	};
	struct vdev_sim_config scfg = {.size = sizeof(struct vdev_sim_config),
				       .ram_size = 1u << 20};
	struct vdev_sim *sim;
	int fds_before = fx_count_fds();

	cr_assert_eq(vdev_sim_create(&scfg, &sim), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake_src src = {.efd = -1};
		struct vdev_rng_backend be = {.version = 1, .opaque = &src, .read = fake_read,
					      .close = fake_close};
		struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config),
					      .pci = {.mode = VDEV_PCI_MODERN}};
		struct vdev_dev *dev = (struct vdev_dev *)&cfg; /* must stay untouched */
		uint64_t logs = vdev_sim_log_count(sim);
		int rc;

		cases[i].set(&cfg, &be);
		rc = vdev_rng_create(vdev_sim_vmctx(sim), "rng0", &cfg, &dev);
		cr_assert_eq(rc, -EINVAL, "%s: rc %d", cases[i].field, rc);
		cr_assert_eq(dev, (struct vdev_dev *)&cfg, "%s: out written", cases[i].field);
		cr_assert_gt(vdev_sim_log_count(sim), logs, "%s: nothing logged", cases[i].field);
		cr_assert_neq(strstr(vdev_sim_last_log(sim), cases[i].field), NULL,
			      "%s: log does not name it: %s", cases[i].field,
			      vdev_sim_last_log(sim));
		cr_assert_eq(src.closed, 0, "%s: the embedder's backend was closed",
			     cases[i].field);
	}
	{
		struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config),
					      .pci = {.mode = VDEV_PCI_MODERN}};
		struct vdev_dev *dev = NULL;
		char path[64];

		cr_assert_eq(vdev_rng_create(vdev_sim_vmctx(sim), "x", NULL, &dev), -EINVAL);
		cr_assert_eq(vdev_rng_create(vdev_sim_vmctx(sim), "x", &cfg, NULL), -EINVAL);
		cr_assert_eq(vdev_rng_create(NULL, "x", &cfg, &dev), -EINVAL);
		cfg.path = "/nonexistent/vdev-rng";
		cr_assert_eq(vdev_rng_create(vdev_sim_vmctx(sim), "x", &cfg, &dev), -ENOENT);
		cr_assert_neq(strstr(vdev_sim_last_log(sim), "path"), NULL);
		temp_file(path, sizeof(path), (const uint8_t *)"", 0);
		cfg.path = path;
		cr_assert_eq(vdev_rng_create(vdev_sim_vmctx(sim), "x", &cfg, &dev), -EINVAL);
		cr_assert_neq(strstr(vdev_sim_last_log(sim), "empty"), NULL);
		unlink(path);
		cr_assert_null(dev);
	}
	vdev_sim_destroy(sim);
	cr_assert_eq(fx_count_fds(), fds_before, "a refused create left a descriptor open");
}

Test(rng, public_backend_constructors)
{
	struct vdev_rng_backend be;
	uint8_t buf[32] = {0};
	char path[64];

	cr_assert_eq(vdev_rng_backend_getrandom(&be), 0);
	cr_assert_eq(be.version, VDEV_RNG_BACKEND_VERSION);
	cr_assert_eq(be.read(be.opaque, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	cr_assert(!rt_all(buf, sizeof(buf), 0));
	cr_assert_eq(vdev_rng_backend_getrandom(NULL), -EINVAL);
	temp_file(path, sizeof(path), (const uint8_t *)"abc", 3);
	cr_assert_eq(vdev_rng_backend_file(path, false, &be), 0);
	cr_assert_eq(be.read(be.opaque, buf, sizeof(buf)), 3);
	cr_assert_eq(memcmp(buf, "abc", 3), 0);
	cr_assert_eq(be.read(be.opaque, buf, sizeof(buf)), -ENODATA);
	cr_assert_eq(be.pollfd(be.opaque), -1, "a regular file must not be polled");
	be.close(be.opaque);
	cr_assert_eq(vdev_rng_backend_file(path, true, &be), 0);
	cr_assert_eq(be.read(be.opaque, buf, 3), 3);
	cr_assert_eq(be.read(be.opaque, buf, 2), 2);
	cr_assert_eq(memcmp(buf, "ab", 2), 0);
	be.close(be.opaque);
	unlink(path);
	cr_assert_eq(vdev_rng_backend_file("/tmp", false, &be), -EINVAL);
	cr_assert_eq(vdev_rng_backend_file(NULL, false, &be), -EINVAL);
}
