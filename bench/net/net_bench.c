/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-net benchmark: two devices joined back to back by the socket backend (an
 * AF_UNIX SOCK_SEQPACKET pair), both drivers and the event loop in one thread. Guest A
 * keeps its TX ring full of N frames, the loop moves them, guest B takes them from its
 * RX ring and gives the buffers back. Every received frame is checked (length and a
 * sequence number), so a wrong run fails instead of printing a fast number.
 *
 * The peer is the same frames over a plain socketpair with send()/recv() from the same
 * thread, in the same batches: what the device costs on top of the socket itself.
 *
 * Usage: net_bench [--quick]
 *   bench: net 64B a->b: <n> frames/s
 *   bench: net 64B a->b: <n> MB/s
 *   ratio: net 64B a->b: <libvdev/peer>
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dev_loop.h"
#include "vdev/driver.h"
#include "vdev/net.h"
#include "vdev/vdev.h"

#define QSIZE 256
#define RXBUF 2048
#define HDR 12
#define RUNS 5

struct side {
	struct vdev_sim *sim;
	struct vdev_dev *dev;
	struct vdev_drv *drv;
	uint64_t bufs;   /* QSIZE buffers of RXBUF bytes (TX slots on A, RX buffers on B) */
	uint8_t *host;
};

struct rig {
	struct side a, b;
	struct vdev_dev *devs[2];
	uint8_t mac_b[6];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int side_open(struct side *s, const char *name, int fd)
{
	struct vdev_sim_config scfg = {.size = sizeof(struct vdev_sim_config),
				       .ram_size = 16 << 20};
	struct vdev_drv_config dcfg = {.size = sizeof(struct vdev_drv_config),
				       .access = VDEV_DRV_MODERN};
	struct vdev_net_backend be;
	struct vdev_net_config cfg = {.size = sizeof(struct vdev_net_config),
				      .pci = {.mode = VDEV_PCI_MODERN}, .queue_size = QSIZE};
	uint64_t want = VIRTIO_NET_F_MAC | VIRTIO_NET_F_MRG_RXBUF | VIRTIO_RING_F_EVENT_IDX;
	int rc;

	memset(s, 0, sizeof(*s));
	if ((rc = vdev_sim_create(&scfg, &s->sim)) < 0 ||
	    (rc = vdev_net_backend_socket(fd, false, &be)) < 0)
		return rc;
	cfg.backend = &be;
	if ((rc = vdev_net_create(vdev_sim_vmctx(s->sim), name, &cfg, &s->dev)) < 0) {
		vdev_net_backend_close(&be);
		return rc;
	}
	if ((rc = vdev_drv_open(s->sim, vdev_dev_pci(s->dev), &dcfg, &s->drv)) < 0 ||
	    (rc = vdev_drv_negotiate(s->drv, want, NULL)) < 0 ||
	    (rc = vdev_drv_queue_setup(s->drv, 0, QSIZE, VIRTIO_MSI_NO_VECTOR)) < 0 ||
	    (rc = vdev_drv_queue_setup(s->drv, 1, QSIZE, VIRTIO_MSI_NO_VECTOR)) < 0 ||
	    (rc = vdev_drv_driver_ok(s->drv)) < 0)
		return rc;
	s->bufs = vdev_sim_alloc(s->sim, (uint64_t)QSIZE * RXBUF, 64);
	s->host = s->bufs ? vdev_sim_ptr(s->sim, s->bufs, (uint64_t)QSIZE * RXBUF) : NULL;
	return s->host ? 0 : -ENOMEM;
}

static void side_close(struct side *s)
{
	if (s->drv)
		vdev_drv_close(s->drv);
	if (s->dev)
		vdev_dev_destroy(s->dev);
	if (s->sim)
		vdev_sim_destroy(s->sim);
}

static void make_frame(uint8_t *f, const uint8_t dst[6], size_t len)
{
	static const uint8_t src[6] = {0x02, 0, 0, 0, 0, 1};

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x88;
	f[13] = 0xB5;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)i;
}

static int rig_open(struct rig *r)
{
	int fds[2], rc;

	if ((rc = vdev_net_socketpair(fds)) < 0)
		return rc;
	rc = side_open(&r->a, "bench-a", fds[0]);
	if (rc == 0)
		rc = side_open(&r->b, "bench-b", fds[1]);
	close(fds[0]);
	close(fds[1]);
	if (rc < 0)
		return rc;
	r->devs[0] = r->a.dev;
	r->devs[1] = r->b.dev;
	for (int i = 0; i < 6; i++)
		r->mac_b[i] = vdev_drv_read_config8(r->b.drv, (uint32_t)i);
	/* B: every buffer posted once; they come back and go out again. */
	for (int i = 0; i < QSIZE; i++) {
		uint64_t gpa = r->b.bufs + (uint64_t)i * RXBUF;
		struct vdev_drv_seg seg = {gpa, RXBUF, true};

		if (vdev_drv_enqueue(r->b.drv, 0, &seg, 1, false, (void *)(uintptr_t)gpa) < 0)
			return -EIO;
	}
	vdev_drv_notify(r->b.drv, 0);
	return 0;
}

/* Move n frames of `len` bytes from A to B; returns seconds, or < 0 on a failure. */
static double run_vdev(struct rig *r, size_t len, long n)
{
	long sent = 0, done = 0, got = 0, inflight = 0;
	double t0;

	/* A's TX slots hold the header and frame; only the sequence number changes. */
	for (int i = 0; i < QSIZE; i++) {
		uint8_t *p = r->a.host + (size_t)i * RXBUF;

		memset(p, 0, HDR);
		make_frame(p + HDR, r->mac_b, len);
	}
	t0 = now_s();
	while (got < n) {
		void *tok;
		uint32_t ulen;
		int batch = 0;

		while (inflight < QSIZE && sent < n) {
			int slot = (int)(sent % QSIZE);
			uint64_t gpa = r->a.bufs + (uint64_t)slot * RXBUF;
			struct vdev_drv_seg seg = {gpa, (uint32_t)(HDR + len), false};

			memcpy(r->a.host + (size_t)slot * RXBUF + HDR + 14, &sent, sizeof(sent));
			if (vdev_drv_enqueue(r->a.drv, 1, &seg, 1, false, NULL) < 0)
				break;
			sent++;
			inflight++;
			batch++;
		}
		if (batch)
			vdev_drv_notify(r->a.drv, 1);
		if (dev_loop_once(r->devs, 2, 0) < 0)
			return -1;
		while (vdev_drv_dequeue(r->a.drv, 1, &tok, &ulen) == 1) {
			inflight--;
			done++;
		}
		batch = 0;
		while (vdev_drv_dequeue(r->b.drv, 0, &tok, &ulen) == 1) {
			uint64_t gpa = (uint64_t)(uintptr_t)tok;
			const uint8_t *p = r->b.host + (gpa - r->b.bufs);
			struct vdev_drv_seg seg = {gpa, RXBUF, true};
			long seq;

			memcpy(&seq, p + HDR + 14, sizeof(seq));
			if (ulen != HDR + len || seq != got) {
				fprintf(stderr, "net_bench: frame %ld: len %u seq %ld\n", got, ulen,
					seq);
				return -1;
			}
			got++;
			vdev_drv_enqueue(r->b.drv, 0, &seg, 1, false, tok);
			batch++;
		}
		if (batch)
			vdev_drv_notify(r->b.drv, 0);
	}
	return now_s() - t0;
}

/* The peer: the same frames over a plain socketpair, batched the same way. */
static double run_peer(size_t len, long n, const uint8_t dst[6])
{
	static uint8_t out[HDR + 1600], in[HDR + 1600];
	long sent = 0, got = 0;
	int fds[2];
	double t0, t;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0)
		return -1;
	memset(out, 0, HDR);
	make_frame(out + HDR, dst, len);
	t0 = now_s();
	while (got < n) {
		struct pollfd p = {.fd = fds[1], .events = POLLIN};

		for (int b = 0; b < QSIZE && sent < n; b++) {
			memcpy(out + HDR + 14, &sent, sizeof(sent));
			if (send(fds[0], out, HDR + len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
				break;
			sent++;
		}
		(void)poll(&p, 1, 0); /* what the event loop does once per round */
		for (int b = 0; b < QSIZE; b++) {
			long seq;
			ssize_t r = recv(fds[1], in, sizeof(in), MSG_DONTWAIT);

			if (r < 0)
				break;
			memcpy(&seq, in + HDR + 14, sizeof(seq));
			if ((size_t)r != HDR + len || seq != got)
				return -1;
			got++;
		}
	}
	t = now_s() - t0;
	close(fds[0]);
	close(fds[1]);
	return t;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	static const size_t sizes[] = {64, 1500};
	struct rig r;
	int rc = rig_open(&r);

	if (rc < 0) {
		fprintf(stderr, "net_bench: set-up failed: %s\n", strerror(-rc));
		return 1;
	}
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t len = sizes[k];
		long n = quick ? 20000 : (len < 512 ? 400000 : 200000);
		double tv[RUNS], tp[RUNS], fv, fp;
		char name[64];

		/* Warm-up, then alternate so drift hits both sides alike. */
		if (run_vdev(&r, len, n / 10) < 0 || run_peer(len, n / 10, r.mac_b) < 0)
			goto fail;
		for (int i = 0; i < RUNS; i++) {
			tv[i] = run_vdev(&r, len, n);
			tp[i] = run_peer(len, n, r.mac_b);
			if (tv[i] <= 0 || tp[i] <= 0)
				goto fail;
		}
		fv = (double)n / median(tv, RUNS);
		fp = (double)n / median(tp, RUNS);
		snprintf(name, sizeof(name), "net %zuB a->b", len);
		printf("bench: %s: %.0f frames/s\n", name, fv);
		printf("bench: %s: %.1f MB/s\n", name, fv * (double)len / 1e6);
		printf("bench: %s peer: %.0f frames/s\n", name, fp);
		printf("bench: %s peer: %.1f MB/s\n", name, fp * (double)len / 1e6);
		printf("ratio: %s: %.2f\n", name, fv / fp);
	}
	side_close(&r.a);
	side_close(&r.b);
	return 0;
fail:
	fprintf(stderr, "net_bench: a run failed\n");
	side_close(&r.a);
	side_close(&r.b);
	return 1;
}
