/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-blk: 4 KiB random reads and writes at queue depth 1 and 32, through the
 * driver peer (modern interface) and the default file backend, against a 64 MiB file
 * on tmpfs (/dev/shm) and on disk (/var/tmp), each measured beside a plain-POSIX peer
 * on the same file in the same run:
 *  - QD1 peer: one thread in a tight pread/pwrite loop at random 4 KiB offsets.
 *  - QD32 peer: as many threads as the device's worker pool (4), each in a tight
 *    pread/pwrite loop. With 4 workers at most 4 of the 32 outstanding requests
 *    execute at once, so this is what the pool could do with no virtio around it.
 * Medians of 5 runs after a warm-up, libvdev and peer runs alternating. Buffered I/O
 * (no O_DIRECT) on both sides: "disk" writes mostly land in the page cache.
 *
 * Usage: blk_bench [--quick]
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dev_loop.h"
#include "vdev/blk.h"
#include "vdev/driver.h"
#include "vdev/vdev.h"

#define FILE_SIZE (64ULL << 20)
#define BS 4096
#define MAXQD 32
#define WORKERS 4
#define RUNS 5

static double run_secs = 0.6;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint64_t rand_block(uint64_t *s)
{
	return xorshift(s) % (FILE_SIZE / BS);
}

static void die(const char *what, int err)
{
	fprintf(stderr, "blk_bench: %s: %s\n", what, strerror(err));
	exit(1);
}

/* A 64 MiB file with data in every block, so reads really read. */
static void make_file(char *path)
{
	static uint8_t buf[1 << 20];
	uint64_t s = 42;
	int fd = mkstemp(path);

	if (fd < 0)
		die(path, errno);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)xorshift(&s);
	for (uint64_t off = 0; off < FILE_SIZE; off += sizeof(buf))
		if (pwrite(fd, buf, sizeof(buf), (off_t)off) != (ssize_t)sizeof(buf))
			die("pwrite", errno);
	fsync(fd);
	close(fd);
}

/* ---- libvdev side ---- */

struct lv {
	struct vdev_sim *sim;
	struct vdev_dev *dev;
	struct vdev_drv *drv;
	uint64_t hdr_gpa[MAXQD], buf_gpa[MAXQD], st_gpa[MAXQD];
	uint8_t *hdr[MAXQD], *st[MAXQD];
	uint64_t rs;
};

static void lv_open(struct lv *l, const char *path)
{
	struct vdev_sim_config scfg = {.size = sizeof(struct vdev_sim_config),
				       .ram_size = 16 << 20};
	struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config),
				      .pci = {.mode = VDEV_PCI_MODERN}, .path = path,
				      .io_workers = WORKERS};
	struct vdev_drv_config dcfg = {.size = sizeof(struct vdev_drv_config),
				       .access = VDEV_DRV_MODERN};
	int rc;

	memset(l, 0, sizeof(*l));
	l->rs = 0x9e3779b97f4a7c15ULL;
	if ((rc = vdev_sim_create(&scfg, &l->sim)) < 0)
		die("sim", -rc);
	if ((rc = vdev_blk_create(vdev_sim_vmctx(l->sim), "bench0", &cfg, &l->dev)) < 0)
		die("vdev_blk_create", -rc);
	if ((rc = vdev_drv_open(l->sim, vdev_dev_pci(l->dev), &dcfg, &l->drv)) < 0)
		die("vdev_drv_open", -rc);
	if ((rc = vdev_drv_negotiate(l->drv, ~0ULL, NULL)) < 0 ||
	    (rc = vdev_drv_queue_setup(l->drv, 0, 0, VIRTIO_MSI_NO_VECTOR)) < 0 ||
	    (rc = vdev_drv_driver_ok(l->drv)) < 0)
		die("driver set-up", -rc);
	for (int i = 0; i < MAXQD; i++) {
		l->hdr_gpa[i] = vdev_sim_alloc(l->sim, 16, 16);
		l->buf_gpa[i] = vdev_sim_alloc(l->sim, BS, BS);
		l->st_gpa[i] = vdev_sim_alloc(l->sim, 1, 16);
		l->hdr[i] = vdev_sim_ptr(l->sim, l->hdr_gpa[i], 16);
		l->st[i] = vdev_sim_ptr(l->sim, l->st_gpa[i], 1);
	}
}

static void lv_close(struct lv *l)
{
	vdev_drv_close(l->drv);
	vdev_dev_destroy(l->dev);
	vdev_sim_destroy(l->sim);
}

static void lv_post(struct lv *l, int slot, bool write)
{
	uint32_t type = htole32(write ? VDEV_BLK_T_OUT : VDEV_BLK_T_IN);
	uint64_t sector = htole64(rand_block(&l->rs) * (BS / 512));
	struct vdev_drv_seg segs[3] = {
		{l->hdr_gpa[slot], 16, false},
		{l->buf_gpa[slot], BS, !write},
		{l->st_gpa[slot], 1, true},
	};

	memcpy(l->hdr[slot], &type, 4);
	memset(l->hdr[slot] + 4, 0, 4);
	memcpy(l->hdr[slot] + 8, &sector, 8);
	*l->st[slot] = 0xFF;
	if (vdev_drv_enqueue(l->drv, 0, segs, 3, false, (void *)(uintptr_t)(slot + 1)) < 0)
		die("enqueue", ENOSPC);
}

/* IOPS of `qd` requests kept in flight for run_secs. */
static double lv_run(struct lv *l, bool write, int qd)
{
	int outstanding = qd;
	uint64_t done = 0;
	double t0 = now(), t1 = 0;
	bool idle = false;

	for (int i = 0; i < qd; i++)
		lv_post(l, i, write);
	vdev_drv_notify(l->drv, 0);
	while (outstanding > 0) {
		bool more = t1 == 0;
		int posted = 0;
		void *tok;
		uint32_t len;

		/* Requests the backend finished inside submit() are on the used ring
		 * already: wait for the device only after a pass that found nothing. */
		dev_loop_once(&l->dev, 1, idle ? 100 : 0);
		idle = true;
		while (vdev_drv_dequeue(l->drv, 0, &tok, &len) == 1) {
			int slot = (int)(uintptr_t)tok - 1;

			idle = false;
			if (*l->st[slot] != VDEV_BLK_S_OK)
				die("request failed", EIO);
			outstanding--;
			if (!more)
				continue;
			done++;
			lv_post(l, slot, write);
			outstanding++;
			posted++;
		}
		if (posted)
			vdev_drv_notify(l->drv, 0);
		if (t1 == 0 && now() - t0 >= run_secs)
			t1 = now(); /* stop posting; drain what is in flight */
	}
	return (double)done / (t1 - t0);
}

/* ---- plain POSIX peer ---- */

struct peer {
	int fd;
	bool write;
	atomic_bool stop;
	atomic_uint_fast64_t ops;
	uint64_t seed;
};

static void *peer_loop(void *arg)
{
	struct peer *p = arg;
	uint64_t s = p->seed ^ (uint64_t)(uintptr_t)&s;
	uint64_t n = 0;
	void *buf;

	if (posix_memalign(&buf, BS, BS) != 0)
		die("posix_memalign", ENOMEM);
	memset(buf, 0x5A, BS);
	while (!atomic_load_explicit(&p->stop, memory_order_relaxed)) {
		off_t off = (off_t)(rand_block(&s) * BS);
		ssize_t r = p->write ? pwrite(p->fd, buf, BS, off) : pread(p->fd, buf, BS, off);

		if (r != BS)
			die("peer I/O", errno ? errno : EIO);
		n++;
	}
	atomic_fetch_add(&p->ops, n);
	free(buf);
	return NULL;
}

static double peer_run(const char *path, bool write, int qd)
{
	struct peer p = {.write = write, .seed = 0x1234567};
	int nthreads = qd == 1 ? 1 : WORKERS;
	pthread_t th[WORKERS];
	double t0;

	p.fd = open(path, O_RDWR);
	if (p.fd < 0)
		die(path, errno);
	atomic_init(&p.stop, false);
	atomic_init(&p.ops, 0);
	t0 = now();
	for (int i = 0; i < nthreads; i++)
		pthread_create(&th[i], NULL, peer_loop, &p);
	while (now() - t0 < run_secs)
		usleep(2000);
	atomic_store(&p.stop, true);
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	t0 = now() - t0;
	close(p.fd);
	return (double)atomic_load(&p.ops) / t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void measure(struct lv *l, const char *path, const char *target, bool write, int qd)
{
	double lvr[RUNS], pr[RUNS], lvm, pm;
	char name[96];

	(void)lv_run(l, write, qd); /* warm-up */
	(void)peer_run(path, write, qd);
	for (int r = 0; r < RUNS; r++) {
		lvr[r] = lv_run(l, write, qd);
		pr[r] = peer_run(path, write, qd);
	}
	qsort(lvr, RUNS, sizeof(double), cmp_double);
	qsort(pr, RUNS, sizeof(double), cmp_double);
	lvm = lvr[RUNS / 2];
	pm = pr[RUNS / 2];
	snprintf(name, sizeof(name), "blk 4k %s qd%d %s", write ? "randwrite" : "randread", qd,
		 target);
	printf("bench: %s: %.0f IOPS\n", name, lvm);
	printf("bench: %s: %.1f MB/s\n", name, lvm * BS / 1e6);
	printf("bench: %s peer: %.0f IOPS\n", name, pm);
	printf("ratio: %s: %.3f\n", name, lvm / pm);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *dir, *target;
	} targets[] = {{"/dev/shm", "tmpfs"}, {"/var/tmp", "disk"}};

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			run_secs = 0.05;
		} else {
			fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
			return 2;
		}
	}
	for (size_t t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
		char path[256];
		struct lv l;

		snprintf(path, sizeof(path), "%s/vdev-blk-bench-XXXXXX", targets[t].dir);
		make_file(path);
		lv_open(&l, path);
		for (int w = 0; w < 2; w++) {
			measure(&l, path, targets[t].target, w == 1, 1);
			measure(&l, path, targets[t].target, w == 1, 32);
		}
		lv_close(&l);
		unlink(path);
	}
	return 0;
}
