/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split-virtqueue benchmark: the driver peer and the echo device in one process
 * (modern interface, echo in manual mode), with this program playing the device side
 * through vq_has_descs/vq_getchain/vq_relchain/vq_endchains. One batch = the driver
 * enqueues B requests and notifies once, the device serves all B and ends the chains
 * once, the driver reaps B. Each request is checked, so a wrong round trip fails the
 * run instead of producing a fast number.
 *
 * Two figures per case: the whole round trip (driver enqueue + notify, device, driver
 * reap) and the device side alone (vq_has_descs/vq_getchain/vq_relchain/vq_endchains,
 * timed around each batch: the "engine" cost per request; at batch 1 the clock reads
 * themselves are a visible part of it).
 *
 * Usage: vq_bench [--quick] [--case SUBSTRING]
 * Prints one line per measurement: "bench: vq 1-desc batch32: 41.7 ns/request" and
 * "bench: vq engine 1-desc batch32: 20.1 ns/request".
 */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define QSIZE 256
#define MAX_BATCH 32
#define ONE_LEN 64
#define HDR_LEN 16
#define DATA_LEN 512

enum kind { ONE_DESC, THREE_DESC, INDIRECT };

struct bench_case {
	const char *name;
	enum kind kind;
	int batch;
};

static const struct bench_case cases[] = {
	{"vq 1-desc batch1", ONE_DESC, 1},
	{"vq 1-desc batch32", ONE_DESC, 32},
	{"vq 3-desc batch1", THREE_DESC, 1},
	{"vq 3-desc batch32", THREE_DESC, 32},
	{"vq indirect batch1", INDIRECT, 1},
	{"vq indirect batch32", INDIRECT, 32},
};

/* One in-flight request slot: its segments and host views of them. */
struct slot {
	struct vdev_drv_seg segs[3];
	int nsegs;
	uint8_t *buf;    /* ONE_DESC: the writable buffer */
	uint8_t *hdr;    /* 3-segment: readable header (sequence number) */
	uint8_t *status; /* 3-segment: writable status byte */
	uint64_t seq;
};

struct bench {
	struct harness h;
	struct virtio_vq_info *vq;
	enum kind kind;
	struct slot slots[MAX_BATCH];
	uint64_t seq;
	uint64_t failures;
	uint64_t device_ns; /* time spent in device_serve() */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint8_t status_for(uint64_t seq)
{
	return (uint8_t)(seq * 31 + 7);
}

static int bench_open(struct bench *b, enum kind kind)
{
	struct echo_dev_config ecfg = {.qsize = QSIZE, .manual = true};
	int rc;

	memset(b, 0, sizeof(*b));
	b->kind = kind;
	rc = harness_open(&b->h, VDEV_PCI_MODERN, VDEV_DRV_MODERN, &ecfg);
	if (rc < 0)
		return rc;
	rc = harness_ready(&b->h, VIRTIO_RING_F_INDIRECT_DESC, QSIZE);
	if (rc < 0)
		return rc;
	if (!(vdev_drv_features(b->h.drv) & VIRTIO_RING_F_INDIRECT_DESC))
		return -ENOTSUP;
	b->vq = &b->h.dev->vq[0];
	for (int i = 0; i < MAX_BATCH; i++) {
		struct slot *s = &b->slots[i];
		void *p;

		if (kind == ONE_DESC) {
			s->segs[0] = (struct vdev_drv_seg){.gpa = harness_buf(&b->h, ONE_LEN, &p),
							   .len = ONE_LEN, .writable = true};
			s->buf = p;
			s->nsegs = 1;
		} else {
			s->segs[0] = (struct vdev_drv_seg){.gpa = harness_buf(&b->h, HDR_LEN, &p),
							   .len = HDR_LEN};
			s->hdr = p;
			s->segs[1] = (struct vdev_drv_seg){.gpa = harness_buf(&b->h, DATA_LEN, &p),
							   .len = DATA_LEN};
			memset(p, 0x3C, DATA_LEN);
			s->segs[2] = (struct vdev_drv_seg){.gpa = harness_buf(&b->h, 1, &p), .len = 1,
							   .writable = true};
			s->status = p;
			s->nsegs = 3;
		}
		if (s->segs[0].gpa == 0 || (s->nsegs == 3 && (s->segs[1].gpa == 0 ||
							       s->segs[2].gpa == 0)))
			return -ENOMEM;
	}
	return 0;
}

/* The device side: serve everything available, then decide on one interrupt. */
static void device_serve(struct bench *b)
{
	struct virtio_vq_info *vq = b->vq;
	struct iovec iov[8];
	uint16_t flags[8];

	while (vq_has_descs(vq)) {
		uint16_t head;
		int n = vq_getchain(vq, &head, iov, 8, flags);

		if (n <= 0) {
			b->failures++;
			break;
		}
		if (b->kind == ONE_DESC) {
			if (n != 1 || !(flags[0] & VRING_DESC_F_WRITE) || iov[0].iov_len != ONE_LEN) {
				b->failures++;
			} else {
				((uint8_t *)iov[0].iov_base)[0] = 0xA5;
			}
			vq_relchain(vq, head, ONE_LEN);
		} else {
			uint64_t seq;

			if (n != 3 || iov[0].iov_len != HDR_LEN || !(flags[2] & VRING_DESC_F_WRITE) ||
			    iov[2].iov_len != 1) {
				b->failures++;
			} else {
				memcpy(&seq, iov[0].iov_base, sizeof(seq));
				*(uint8_t *)iov[2].iov_base = status_for(seq);
			}
			vq_relchain(vq, head, 1);
		}
	}
	vq_endchains(vq, 1);
}

/* One batch of `batch` requests end to end. */
static void run_batch(struct bench *b, int batch)
{
	bool indirect = b->kind == INDIRECT;

	for (int i = 0; i < batch; i++) {
		struct slot *s = &b->slots[i];

		s->seq = b->seq++;
		if (s->hdr)
			memcpy(s->hdr, &s->seq, sizeof(s->seq));
		if (vdev_drv_enqueue(b->h.drv, 0, s->segs, s->nsegs, indirect, s) != 0)
			b->failures++;
	}
	uint64_t t0;

	vdev_drv_notify(b->h.drv, 0);
	t0 = now_ns();
	device_serve(b);
	b->device_ns += now_ns() - t0;
	for (int i = 0; i < batch; i++) {
		void *tok;
		uint32_t len;
		struct slot *s;

		if (vdev_drv_dequeue(b->h.drv, 0, &tok, &len) != 1) {
			b->failures++;
			continue;
		}
		s = tok;
		if (b->kind == ONE_DESC) {
			if (len != ONE_LEN || s->buf[0] != 0xA5)
				b->failures++;
			s->buf[0] = 0;
		} else {
			if (len != 1 || *s->status != status_for(s->seq))
				b->failures++;
		}
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Driver and device run on one thread; keep it on one CPU so migrations between the
 * shared cores do not show up as per-request cost. */
static void pin_to_last_cpu(void)
{
	cpu_set_t set;
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return;
	CPU_ZERO(&set);
	CPU_SET((int)(n - 1), &set);
	(void)sched_setaffinity(0, sizeof(set), &set);
}

int main(int argc, char **argv)
{
	bool quick = false;
	const char *only = NULL;
	int reps = 7;
	long per_rep = 200000, warmup = 50000;
	int status = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			quick = true;
		} else if (strcmp(argv[i], "--case") == 0 && i + 1 < argc) {
			only = argv[++i];
		} else {
			fprintf(stderr, "usage: %s [--quick] [--case SUBSTRING]\n", argv[0]);
			return 2;
		}
	}
	pin_to_last_cpu();
	if (quick) {
		reps = 3;
		per_rep = 20000;
		warmup = 5000;
	}

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct bench_case *bc = &cases[c];
		struct bench *b = calloc(1, sizeof(*b));
		double ns[7], dev_ns[7];
		long batches = per_rep / bc->batch;
		int rc;

		if (only != NULL && strstr(bc->name, only) == NULL) {
			free(b);
			continue;
		}
		if (b == NULL) {
			fprintf(stderr, "vq_bench: out of memory\n");
			return 1;
		}
		rc = bench_open(b, bc->kind);
		if (rc < 0) {
			fprintf(stderr, "vq_bench: %s: set-up failed: %s\n", bc->name, strerror(-rc));
			harness_close(&b->h);
			free(b);
			return 1;
		}
		for (long i = 0; i < warmup / bc->batch; i++)
			run_batch(b, bc->batch);
		for (int r = 0; r < reps; r++) {
			uint64_t t0 = now_ns(), t1;

			b->device_ns = 0;
			for (long i = 0; i < batches; i++)
				run_batch(b, bc->batch);
			t1 = now_ns();
			ns[r] = (double)(t1 - t0) / (double)(batches * bc->batch);
			dev_ns[r] = (double)b->device_ns / (double)(batches * bc->batch);
		}
		qsort(ns, (size_t)reps, sizeof(ns[0]), cmp_double);
		qsort(dev_ns, (size_t)reps, sizeof(dev_ns[0]), cmp_double);
		if (b->failures != 0 || b->h.dev->chain_errors != 0 ||
		    (b->vq->flags & VQ_BROKED)) {
			fprintf(stderr, "vq_bench: %s: %llu requests failed to round-trip\n", bc->name,
				(unsigned long long)b->failures);
			status = 1;
		} else {
			printf("bench: %s: %.1f ns/request\n", bc->name, ns[reps / 2]);
			printf("bench: vq engine %s: %.1f ns/request\n", bc->name + 3,
			       dev_ns[reps / 2]);
			fflush(stdout);
		}
		harness_close(&b->h);
		free(b);
	}
	return status;
}
