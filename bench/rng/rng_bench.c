/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-rng throughput: the driver peer asks the device (modern, getrandom source)
 * for batches of 32 requests, kicks once and reaps them; the peer is the plain POSIX
 * way of getting the same bytes, getrandom(2) into the same buffers. Runs alternate
 * libvdev and peer; each figure is the median of the runs after a warm-up.
 *
 * Usage: rng_bench [--quick]
 * Prints "bench: <name>: <value> <unit>" and "ratio: <name>: <libvdev/peer>".
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "vdev/driver.h"
#include "vdev/rng.h"
#include "vdev/vdev.h"

#define BATCH 32
#define RUNS 7

struct bench {
	struct vdev_sim *sim;
	struct vdev_dev *dev;
	struct vdev_drv *drv;
	uint64_t gpa[BATCH];
	uint8_t *buf[BATCH];
	uint32_t len;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int bench_open(struct bench *b, uint32_t len)
{
	struct vdev_sim_config scfg = {.size = sizeof(struct vdev_sim_config),
				       .ram_size = 16u << 20};
	struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config),
				      .pci = {.mode = VDEV_PCI_MODERN}};
	struct vdev_drv_config dcfg = {.size = sizeof(struct vdev_drv_config),
				       .access = VDEV_DRV_MODERN};
	int rc;

	memset(b, 0, sizeof(*b));
	b->len = len;
	if ((rc = vdev_sim_create(&scfg, &b->sim)) < 0 ||
	    (rc = vdev_rng_create(vdev_sim_vmctx(b->sim), "rng0", &cfg, &b->dev)) < 0 ||
	    (rc = vdev_drv_open(b->sim, vdev_dev_pci(b->dev), &dcfg, &b->drv)) < 0 ||
	    (rc = vdev_drv_negotiate(b->drv, ~0ull, NULL)) < 0 ||
	    (rc = vdev_drv_queue_setup(b->drv, 0, 0, VIRTIO_MSI_NO_VECTOR)) < 0 ||
	    (rc = vdev_drv_driver_ok(b->drv)) < 0)
		return rc;
	vdev_dev_poll(b->dev);
	for (int i = 0; i < BATCH; i++) {
		b->gpa[i] = vdev_sim_alloc(b->sim, len, 64);
		b->buf[i] = b->gpa[i] ? vdev_sim_ptr(b->sim, b->gpa[i], len) : NULL;
		if (b->buf[i] == NULL)
			return -ENOMEM;
	}
	return 0;
}

static void bench_close(struct bench *b)
{
	if (b->drv)
		vdev_drv_close(b->drv);
	vdev_dev_destroy(b->dev);
	if (b->sim)
		vdev_sim_destroy(b->sim);
}

/* One batch through the device; returns the bytes the guest received, 0 on error. */
static uint64_t device_batch(struct bench *b)
{
	uint64_t bytes = 0;
	int done = 0;
	void *tok;
	uint32_t len;

	for (int i = 0; i < BATCH; i++) {
		struct vdev_drv_seg s = {b->gpa[i], b->len, true};

		if (vdev_drv_enqueue(b->drv, 0, &s, 1, false, NULL) < 0)
			return 0;
	}
	vdev_drv_notify(b->drv, 0);
	/* The per-poll bound leaves a backlog that the embedder's loop would poll. */
	while (vdev_dev_next_timeout_ms(b->dev) == 0)
		vdev_dev_poll(b->dev);
	while (vdev_drv_dequeue(b->drv, 0, &tok, &len) == 1) {
		if (len != b->len)
			return 0;
		bytes += len;
		done++;
	}
	return done == BATCH ? bytes : 0;
}

static uint64_t peer_batch(struct bench *b)
{
	uint64_t bytes = 0;

	for (int i = 0; i < BATCH; i++) {
		uint32_t off = 0;

		while (off < b->len) {
			ssize_t n = getrandom(b->buf[i] + off, b->len - off, 0);

			if (n <= 0)
				return 0;
			off += (uint32_t)n;
		}
		bytes += b->len;
	}
	return bytes;
}

/* Bytes per second over `batches` batches of one kind. */
static double run(struct bench *b, bool device, int batches)
{
	uint64_t bytes = 0;
	double t0 = now_s(), dt;

	for (int i = 0; i < batches; i++) {
		uint64_t n = device ? device_batch(b) : peer_batch(b);

		if (n == 0) {
			fprintf(stderr, "rng_bench: a batch failed\n");
			exit(1);
		}
		bytes += n;
	}
	dt = now_s() - t0;
	return dt > 0 ? (double)bytes / dt : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void measure(const char *name, uint32_t len, int batches)
{
	double dev[RUNS], peer[RUNS], md, mp;
	struct bench b;
	int rc = bench_open(&b, len);

	if (rc < 0) {
		fprintf(stderr, "rng_bench: set-up failed: %s\n", strerror(-rc));
		exit(1);
	}
	run(&b, true, batches / 4 + 1); /* warm-up */
	run(&b, false, batches / 4 + 1);
	for (int r = 0; r < RUNS; r++) {
		dev[r] = run(&b, true, batches);
		peer[r] = run(&b, false, batches);
	}
	bench_close(&b);
	qsort(dev, RUNS, sizeof(double), cmp_double);
	qsort(peer, RUNS, sizeof(double), cmp_double);
	md = dev[RUNS / 2];
	mp = peer[RUNS / 2];
	if (len >= 4096) {
		printf("bench: %s: %.1f MiB/s\n", name, md / (1024.0 * 1024.0));
		printf("bench: %s peer getrandom: %.1f MiB/s\n", name, mp / (1024.0 * 1024.0));
	} else {
		printf("bench: %s: %.0f requests/s\n", name, md / len);
		printf("bench: %s peer getrandom: %.0f requests/s\n", name, mp / len);
	}
	printf("ratio: %s: %.3f\n", name, mp > 0 ? md / mp : 0);
}

int main(int argc, char **argv)
{
	bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	int scale = quick ? 10 : 1;

	measure("rng 64B requests", 64, 2000 / scale);
	measure("rng 4KiB requests", 4096, 400 / scale);
	measure("rng 64KiB requests", 65536, 40 / scale);
	return 0;
}
