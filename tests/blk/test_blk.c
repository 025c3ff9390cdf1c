/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-blk through the driver peer: config, data round-trips, flush, discard,
 * write zeroes, read-only, GET_ID, multiqueue, resize, bad create() arguments. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "blk_harness.h"

TestSuite(blk, .fini = bt_cleanup_images);

#define MiB (1ULL << 20)

/* Every fdatasync the library makes lands here first (the test executable's
 * definition wins over libc's), so the tests can see a FLUSH reach storage. */
static atomic_int g_fdatasyncs;

int fdatasync(int fd)
{
	atomic_fetch_add(&g_fdatasyncs, 1);
	return (int)syscall(SYS_fdatasync, fd);
}

static const struct bt_opts *combo_opts(int i, uint64_t image)
{
	static struct bt_opts o;

	o = (struct bt_opts){.mode = fx_modes[i].mode, .access = fx_modes[i].access,
			     .image_size = image};
	return &o;
}

static void rd(int fd, void *buf, size_t n, off_t off)
{
	cr_assert_eq(pread(fd, buf, n, off), (ssize_t)n, "pread: %s", strerror(errno));
}

/* ---- configuration ---- */

Test(blk, config_fields_read_back_in_every_mode)
{
	for (int i = 0; i < FX_NMODES; i++) {
		struct vdev_blk_config cfg = {
			.size = sizeof(struct vdev_blk_config),
			.blk_size = 4096, .physical_block_exp = 3, .alignment_offset = 1,
			.min_io_size = 8, .opt_io_size = 64, .seg_max = 60, .size_max = 65536,
			.max_discard_sectors = 2048, .max_discard_seg = 4,
			.discard_sector_alignment = 8, .max_write_zeroes_sectors = 4096,
			.max_write_zeroes_seg = 2,
		};
		uint64_t want = VDEV_BLK_F_SIZE_MAX | VDEV_BLK_F_SEG_MAX | VDEV_BLK_F_BLK_SIZE |
				VDEV_BLK_F_TOPOLOGY | VDEV_BLK_F_FLUSH | VDEV_BLK_F_CONFIG_WCE |
				VDEV_BLK_F_DISCARD | VDEV_BLK_F_WRITE_ZEROES;
		struct bt t;

		bt_open(&t, combo_opts(i, 8 * MiB + 700), &cfg);
		bt_ready(&t, ~0ULL);
		cr_assert_eq(t.fx.features & want, want, "%s: features 0x%llx", fx_modes[i].name,
			     (unsigned long long)t.fx.features);
		cr_assert_eq(t.fx.features & (VDEV_BLK_F_RO | VDEV_BLK_F_MQ), 0);
		/* 8 MiB + 700 bytes: the partial sector is not part of the disk. */
		cr_assert_eq(vdev_drv_read_config64(t.fx.drv, VDEV_BLK_CFG_CAPACITY), 16385);
		cr_assert_eq(vdev_drv_read_config32(t.fx.drv, VDEV_BLK_CFG_SIZE_MAX), 65536);
		cr_assert_eq(vdev_drv_read_config32(t.fx.drv, VDEV_BLK_CFG_SEG_MAX), 60);
		cr_assert_eq(vdev_drv_read_config32(t.fx.drv, VDEV_BLK_CFG_BLK_SIZE), 4096);
		cr_assert_eq(vdev_drv_read_config8(t.fx.drv, VDEV_BLK_CFG_PHYS_BLOCK_EXP), 3);
		cr_assert_eq(vdev_drv_read_config8(t.fx.drv, VDEV_BLK_CFG_ALIGNMENT_OFFSET), 1);
		cr_assert_eq(vdev_drv_read_config16(t.fx.drv, VDEV_BLK_CFG_MIN_IO_SIZE), 8);
		cr_assert_eq(vdev_drv_read_config32(t.fx.drv, VDEV_BLK_CFG_OPT_IO_SIZE), 64);
		cr_assert_eq(vdev_drv_read_config8(t.fx.drv, VDEV_BLK_CFG_WRITEBACK), 1);
		cr_assert_eq(vdev_drv_read_config16(t.fx.drv, VDEV_BLK_CFG_NUM_QUEUES), 1);
		cr_assert_eq(vdev_drv_read_config32(t.fx.drv, VDEV_BLK_CFG_MAX_DISCARD_SECTORS), 2048);
		cr_assert_eq(vdev_drv_read_config32(t.fx.drv, VDEV_BLK_CFG_MAX_DISCARD_SEG), 4);
		cr_assert_eq(vdev_drv_read_config32(t.fx.drv, VDEV_BLK_CFG_DISCARD_ALIGNMENT), 8);
		cr_assert_eq(vdev_drv_read_config32(t.fx.drv, VDEV_BLK_CFG_MAX_WZ_SECTORS), 4096);
		cr_assert_eq(vdev_drv_read_config32(t.fx.drv, VDEV_BLK_CFG_MAX_WZ_SEG), 2);
		cr_assert_eq(vdev_drv_read_config8(t.fx.drv, VDEV_BLK_CFG_WZ_MAY_UNMAP), 1);
		/* Read-only fields stay put; writeback takes 0/1 only. */
		vdev_drv_write_config32(t.fx.drv, VDEV_BLK_CFG_SEG_MAX, 7);
		cr_assert_eq(vdev_drv_read_config32(t.fx.drv, VDEV_BLK_CFG_SEG_MAX), 60);
		vdev_drv_write_config8(t.fx.drv, VDEV_BLK_CFG_WRITEBACK, 5);
		cr_assert_eq(vdev_drv_read_config8(t.fx.drv, VDEV_BLK_CFG_WRITEBACK), 1);
		vdev_drv_write_config8(t.fx.drv, VDEV_BLK_CFG_WRITEBACK, 0);
		cr_assert_eq(vdev_drv_read_config8(t.fx.drv, VDEV_BLK_CFG_WRITEBACK), 0);
		bt_close(&t);
	}
}

Test(blk, defaults)
{
	struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config)};
	struct bt t;

	bt_open(&t, combo_opts(1, 1 * MiB), &cfg);
	bt_ready(&t, ~0ULL);
	cr_assert_eq(vdev_drv_read_config64(t.fx.drv, VDEV_BLK_CFG_CAPACITY), 2048);
	cr_assert_eq(vdev_blk_capacity(t.fx.dev), 2048);
	cr_assert_eq(vdev_drv_read_config32(t.fx.drv, VDEV_BLK_CFG_BLK_SIZE), 512);
	cr_assert_eq(vdev_drv_read_config32(t.fx.drv, VDEV_BLK_CFG_SEG_MAX), 126);
	cr_assert_eq(vdev_drv_read_config32(t.fx.drv, VDEV_BLK_CFG_SIZE_MAX), 1 << 20);
	cr_assert_eq(vdev_drv_queue_size(t.fx.drv, 0), 256);
	cr_assert_eq(vdev_dev_type(t.fx.dev), VIRTIO_TYPE_BLOCK);
	cr_assert_str_eq(vdev_dev_name(t.fx.dev), "blk0");
	bt_close(&t);
}

/* ---- data ---- */

/* Split `len` bytes at gpa into n segments of random, non-zero lengths. */
static int split(uint64_t *rs, uint64_t gpa, uint32_t len, bool writable, int maxn,
		 struct vdev_drv_seg *segs)
{
	int n = 1 + (int)(bt_rand(rs) % (uint64_t)maxn);
	uint32_t left = len;

	if ((uint32_t)n > len)
		n = (int)len;
	for (int i = 0; i < n; i++) {
		uint32_t l = i == n - 1 ? left : 1 + (uint32_t)(bt_rand(rs) % (left - (n - 1 - i)));

		if (i < n - 1 && l > left - (uint32_t)(n - 1 - i))
			l = left - (uint32_t)(n - 1 - i);
		segs[i] = (struct vdev_drv_seg){gpa, l, writable};
		gpa += l;
		left -= l;
	}
	return n;
}

static void roundtrip(int combo, uint64_t frag)
{
	enum { DISK = 2 * MiB, MAXSEC = 64, CHUNK = 64 * 1024 };
	struct bt_opts o = *combo_opts(combo, DISK);
	/* Small rings fit in one fragment of a fragmented guest RAM. */
	struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config),
				      .queue_size = frag ? 64 : 0};
	uint8_t *shadow = calloc(1, DISK), *wbuf, *rbuf, *one, *file = malloc(DISK);
	uint64_t wgpa, rgpa, onegpa, rs = 0x1234567ULL + (uint64_t)combo * 77 + frag;
	struct vdev_drv_seg segs[16];
	struct vdev_dev_stats st;
	uint64_t written = 0;
	struct bt t;
	int fd;

	o.frag = frag;
	bt_open(&t, &o, &cfg);
	bt_ready(&t, ~0ULL);
	wgpa = bt_alloc(&t, MAXSEC * 512, &wbuf);
	rgpa = bt_alloc(&t, CHUNK, &rbuf);
	onegpa = bt_alloc(&t, 16 + MAXSEC * 512 + 1, &one);
	for (int i = 0; i < 40; i++) {
		uint32_t nsec = 1 + (uint32_t)(bt_rand(&rs) % MAXSEC);
		uint64_t sector = bt_rand(&rs) % (DISK / 512 - nsec + 1);
		bool indirect = (t.fx.features & VIRTIO_RING_F_INDIRECT_DESC) && (i % 3 == 1);
		int n;

		bt_random(&rs, wbuf, nsec * 512);
		memcpy(shadow + sector * 512, wbuf, nsec * 512);
		written += nsec * 512;
		if (i % 7 == 3) {
			/* Header and data in one readable descriptor (any layout). */
			struct vdev_drv_seg raw[2] = {{onegpa, 16 + nsec * 512, false},
						      {t.st_gpa[0], 1, true}};

			bt_hdr(&t, 0, VDEV_BLK_T_OUT, sector);
			memcpy(one, t.hdr[0], 16);
			memcpy(one + 16, wbuf, nsec * 512);
			*t.st[0] = 0xEE;
			bt_post_raw(&t, 0, 0, raw, 2, indirect);
			bt_wait(&t, 0, 1);
			cr_assert_eq(*t.st[0], VDEV_BLK_S_OK);
			continue;
		}
		n = split(&rs, wgpa, nsec * 512, false, 8, segs);
		bt_hdr(&t, 0, VDEV_BLK_T_OUT, sector);
		bt_post(&t, 0, 0, segs, n, indirect);
		bt_wait(&t, 0, 1);
		cr_assert_eq(*t.st[0], VDEV_BLK_S_OK, "write %d", i);
		cr_assert_eq(t.len[0], 1);
	}
	/* Read everything back with other layouts, one of them data+status in one buffer. */
	for (uint64_t off = 0; off < DISK; off += CHUNK) {
		uint32_t used;
		int n;

		memset(rbuf, 0x5A, CHUNK);
		if ((off / CHUNK) % 5 == 2) {
			struct vdev_drv_seg raw[2] = {{t.hdr_gpa[0], 16, false},
						      {onegpa, MAXSEC * 512 + 1, true}};

			bt_hdr(&t, 0, VDEV_BLK_T_IN, off / 512);
			bt_post_raw(&t, 0, 0, raw, 2, false);
			bt_wait(&t, 0, 1);
			cr_assert_eq(one[MAXSEC * 512], VDEV_BLK_S_OK);
			cr_assert_eq(t.len[0], MAXSEC * 512 + 1);
			cr_assert_eq(memcmp(one, shadow + off, MAXSEC * 512), 0);
			off -= CHUNK - MAXSEC * 512; /* this pass read only MAXSEC sectors */
			continue;
		}
		n = split(&rs, rgpa, CHUNK, true, 12, segs);
		cr_assert_eq(bt_do(&t, 0, VDEV_BLK_T_IN, off / 512, segs, n, &used), VDEV_BLK_S_OK);
		cr_assert_eq(used, CHUNK + 1);
		cr_assert_eq(bt_hash(rbuf, CHUNK), bt_hash(shadow + off, CHUNK),
			     "%s frag %llu: data differs at %llu", fx_modes[combo].name,
			     (unsigned long long)frag, (unsigned long long)off);
	}
	/* And the image itself, through a separate descriptor. */
	fd = open(t.path, O_RDONLY);
	cr_assert(fd >= 0);
	rd(fd, file, DISK, 0);
	close(fd);
	cr_assert_eq(bt_hash(file, DISK), bt_hash(shadow, DISK));
	vdev_dev_get_stats(t.fx.dev, &st);
	cr_assert_eq(st.bytes_in, written);
	cr_assert_eq(st.errors, 0);
	cr_assert_eq(st.dropped, 0);
	bt_close(&t);
	free(shadow);
	free(file);
}

Test(blk, random_roundtrip_every_mode)
{
	for (int i = 0; i < FX_NMODES; i++)
		roundtrip(i, 0);
}

Test(blk, random_roundtrip_fragmented_guest_memory)
{
	roundtrip(0, 4096); /* legacy */
	roundtrip(1, 4096); /* modern */
}

Test(blk, queue_depth_many_in_flight)
{
	enum { N = 48 };
	struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config), .io_workers = 3};
	struct bt t;
	uint8_t *buf[N];
	uint64_t gpa[N];

	bt_open(&t, combo_opts(1, 1 * MiB), &cfg);
	bt_ready(&t, ~0ULL);
	for (int i = 0; i < N; i++) {
		struct vdev_drv_seg s;

		gpa[i] = bt_alloc(&t, 4096, &buf[i]);
		memset(buf[i], i + 1, 4096);
		s = (struct vdev_drv_seg){gpa[i], 4096, false};
		bt_hdr(&t, i, VDEV_BLK_T_OUT, (uint64_t)i * 8);
		bt_post(&t, 0, i, &s, 1, true);
	}
	bt_wait(&t, 0, N);
	for (int i = 0; i < N; i++) {
		struct vdev_drv_seg s = {gpa[i], 4096, true};

		cr_assert_eq(*t.st[i], VDEV_BLK_S_OK);
		memset(buf[i], 0, 4096);
		bt_hdr(&t, i, VDEV_BLK_T_IN, (uint64_t)i * 8);
		bt_post(&t, 0, i, &s, 1, true);
	}
	bt_wait(&t, 0, N);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(*t.st[i], VDEV_BLK_S_OK);
		for (int b = 0; b < 4096; b++)
			cr_assert_eq(buf[i][b], (uint8_t)(i + 1), "request %d byte %d", i, b);
	}
	bt_close(&t);
}

/* ---- flush and cache modes ---- */

static void write_sectors(struct bt *t, uint64_t sector, uint8_t fill, uint32_t nsec)
{
	uint8_t *p;
	uint64_t gpa = bt_alloc(t, nsec * 512, &p);
	struct vdev_drv_seg s = {gpa, nsec * 512, false};

	memset(p, fill, nsec * 512);
	cr_assert_eq(bt_do(t, 0, VDEV_BLK_T_OUT, sector, &s, 1, NULL), VDEV_BLK_S_OK);
}

Test(blk, flush_reaches_storage)
{
	for (int i = 0; i < 2; i++) {
		struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config)};
		uint8_t back[4096];
		struct bt t;
		int before, fd;

		bt_open(&t, combo_opts(i, 1 * MiB), &cfg);
		bt_ready(&t, ~0ULL);
		cr_assert(t.fx.features & VDEV_BLK_F_FLUSH);
		before = atomic_load(&g_fdatasyncs);
		write_sectors(&t, 16, 0xC3, 8);
		/* Writeback mode: a write alone does not sync. */
		cr_assert_eq(atomic_load(&g_fdatasyncs), before);
		cr_assert_eq(bt_do(&t, 0, VDEV_BLK_T_FLUSH, 0, NULL, 0, NULL), VDEV_BLK_S_OK);
		cr_assert_eq(atomic_load(&g_fdatasyncs), before + 1, "FLUSH did not fdatasync");
		fd = open(t.path, O_RDONLY);
		rd(fd, back, sizeof(back), 16 * 512);
		close(fd);
		for (size_t b = 0; b < sizeof(back); b++)
			cr_assert_eq(back[b], 0xC3);
		bt_close(&t);
	}
}

Test(blk, writethrough_syncs_every_write)
{
	struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config)};
	struct bt t;
	int before;

	/* The driver switches the cache off through CONFIG_WCE. */
	bt_open(&t, combo_opts(1, 1 * MiB), &cfg);
	bt_ready(&t, ~0ULL);
	vdev_drv_write_config8(t.fx.drv, VDEV_BLK_CFG_WRITEBACK, 0);
	before = atomic_load(&g_fdatasyncs);
	write_sectors(&t, 0, 1, 1);
	write_sectors(&t, 1, 2, 1);
	cr_assert_eq(atomic_load(&g_fdatasyncs), before + 2);
	bt_close(&t);

	/* A driver that did not negotiate FLUSH gets writethrough. */
	bt_open(&t, combo_opts(0, 1 * MiB), &cfg);
	bt_ready(&t, ~VDEV_BLK_F_FLUSH);
	before = atomic_load(&g_fdatasyncs);
	write_sectors(&t, 0, 1, 1);
	cr_assert_eq(atomic_load(&g_fdatasyncs), before + 1);
	bt_close(&t);

	/* Configured to start in writethrough. */
	cfg.writethrough = true;
	bt_open(&t, combo_opts(1, 1 * MiB), &cfg);
	bt_ready(&t, ~0ULL);
	cr_assert_eq(vdev_drv_read_config8(t.fx.drv, VDEV_BLK_CFG_WRITEBACK), 0);
	before = atomic_load(&g_fdatasyncs);
	write_sectors(&t, 0, 1, 1);
	cr_assert_eq(atomic_load(&g_fdatasyncs), before + 1);
	bt_close(&t);
}

Test(blk, destroy_syncs_writeback_data)
{
	struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config)};
	struct bt t;
	char path[256];
	int before;

	bt_open(&t, combo_opts(1, 1 * MiB), &cfg);
	bt_ready(&t, ~0ULL);
	write_sectors(&t, 3, 9, 2);
	before = atomic_load(&g_fdatasyncs);
	snprintf(path, sizeof(path), "%s", t.path);
	vdev_dev_destroy(t.fx.dev);
	t.fx.dev = NULL;
	cr_assert_eq(atomic_load(&g_fdatasyncs), before + 1);
	bt_close(&t);
	cr_assert(access(path, F_OK) != 0, "temp image left behind");
}

/* ---- discard and write zeroes ---- */

static int range_req(struct bt *t, uint32_t type, uint64_t sector, uint32_t nsec, uint32_t flags)
{
	uint8_t *p;
	uint64_t gpa = bt_alloc(t, 16, &p);
	struct vdev_drv_seg s = {gpa, 16, false};
	uint64_t le_sector = htole64(sector);
	uint32_t le_n = htole32(nsec), le_f = htole32(flags);

	memcpy(p, &le_sector, 8);
	memcpy(p + 8, &le_n, 4);
	memcpy(p + 12, &le_f, 4);
	return bt_do(t, 0, type, 0, &s, 1, NULL);
}

static void fill_file(const char *path, uint64_t size)
{
	uint8_t buf[65536];
	int fd = open(path, O_WRONLY);

	memset(buf, 0x77, sizeof(buf));
	cr_assert(fd >= 0);
	for (uint64_t off = 0; off < size; off += sizeof(buf))
		cr_assert_eq(pwrite(fd, buf, sizeof(buf), (off_t)off), (ssize_t)sizeof(buf));
	cr_assert_eq(fsync(fd), 0);
	close(fd);
}

static void read_back_zero(struct bt *t, uint64_t sector, uint32_t nsec, bool zero)
{
	uint8_t *p;
	uint64_t gpa = bt_alloc(t, nsec * 512, &p);
	struct vdev_drv_seg s = {gpa, nsec * 512, true};

	memset(p, 0xFF, nsec * 512);
	cr_assert_eq(bt_do(t, 0, VDEV_BLK_T_IN, sector, &s, 1, NULL), VDEV_BLK_S_OK);
	for (uint32_t b = 0; b < nsec * 512; b++)
		cr_assert_eq(p[b] == 0, zero, "byte %u at sector %llu", b, (unsigned long long)sector);
}

Test(blk, discard_punches_a_hole)
{
	for (int i = 0; i < 2; i++) {
		struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config)};
		struct stat before, after;
		struct bt t;
		off_t hole;
		int fd;

		bt_open(&t, combo_opts(i, 4 * MiB), &cfg);
		fill_file(t.path, 4 * MiB);
		bt_ready(&t, ~0ULL);
		cr_assert(t.fx.features & VDEV_BLK_F_DISCARD);
		cr_assert_eq(stat(t.path, &before), 0);
		/* 512 KiB at 1 MiB */
		cr_assert_eq(range_req(&t, VDEV_BLK_T_DISCARD, 2048, 1024, 0), VDEV_BLK_S_OK);
		cr_assert_eq(stat(t.path, &after), 0);
		cr_assert_eq(after.st_size, 4 * MiB, "discard changed the size");
		cr_assert(after.st_blocks <= before.st_blocks - 1024,
			  "st_blocks %lld -> %lld: no hole punched", (long long)before.st_blocks,
			  (long long)after.st_blocks);
		fd = open(t.path, O_RDONLY);
		hole = lseek(fd, 0, SEEK_HOLE);
		close(fd);
		cr_assert_eq(hole, (off_t)MiB, "SEEK_HOLE found %lld", (long long)hole);
		read_back_zero(&t, 2048, 1024, true);
		read_back_zero(&t, 2048 - 8, 8, false);
		read_back_zero(&t, 3072, 8, false);
		bt_close(&t);
	}
}

Test(blk, write_zeroes_reads_back_zeroes)
{
	for (int i = 0; i < 2; i++) {
		struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config)};
		struct bt t;
		uint8_t back[512];
		int fd;

		bt_open(&t, combo_opts(i, 4 * MiB), &cfg);
		fill_file(t.path, 4 * MiB);
		bt_ready(&t, ~0ULL);
		cr_assert(t.fx.features & VDEV_BLK_F_WRITE_ZEROES);
		cr_assert_eq(range_req(&t, VDEV_BLK_T_WRITE_ZEROES, 100, 300, 0), VDEV_BLK_S_OK);
		read_back_zero(&t, 100, 300, true);
		read_back_zero(&t, 99, 1, false);
		read_back_zero(&t, 400, 1, false);
		/* With UNMAP the range may become a hole; it still reads zeroes. */
		cr_assert_eq(range_req(&t, VDEV_BLK_T_WRITE_ZEROES, 4096, 2048, VDEV_BLK_WZ_F_UNMAP),
			     VDEV_BLK_S_OK);
		read_back_zero(&t, 4096, 2048, true);
		read_back_zero(&t, 6144, 1, false);
		fd = open(t.path, O_RDONLY);
		rd(fd, back, sizeof(back), 200 * 512);
		for (int b = 0; b < 512; b++)
			cr_assert_eq(back[b], 0);
		cr_assert_eq(lseek(fd, 2 * MiB, SEEK_HOLE), (off_t)(2 * MiB),
			     "unmapping write zeroes left no hole");
		close(fd);
		bt_close(&t);
	}
}

Test(blk, discard_and_write_zeroes_several_segments)
{
	struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config)};
	struct bt t;
	uint8_t *p;
	uint64_t gpa;
	struct vdev_drv_seg s;

	bt_open(&t, combo_opts(1, 4 * MiB), &cfg);
	fill_file(t.path, 4 * MiB);
	bt_ready(&t, ~0ULL);
	gpa = bt_alloc(&t, 48, &p);
	for (int i = 0; i < 3; i++) {
		uint64_t sec = htole64(1000 + (uint64_t)i * 100);
		uint32_t n = htole32(10), f = 0;

		memcpy(p + 16 * i, &sec, 8);
		memcpy(p + 16 * i + 8, &n, 4);
		memcpy(p + 16 * i + 12, &f, 4);
	}
	s = (struct vdev_drv_seg){gpa, 48, false};
	cr_assert_eq(bt_do(&t, 0, VDEV_BLK_T_WRITE_ZEROES, 0, &s, 1, NULL), VDEV_BLK_S_OK);
	for (int i = 0; i < 3; i++) {
		read_back_zero(&t, 1000 + (uint64_t)i * 100, 10, true);
		read_back_zero(&t, 1010 + (uint64_t)i * 100, 1, false);
	}
	bt_close(&t);
}

/* ---- read-only ---- */

/* The access mode of the descriptor this process holds on `path`, or -1. */
static int open_mode_of(const char *path)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int mode = -1;

	cr_assert(d != NULL);
	while ((e = readdir(d)) != NULL) {
		char link[300], target[300], info[300], line[128];
		ssize_t n;
		FILE *f;

		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, path) != 0)
			continue;
		snprintf(info, sizeof(info), "/proc/self/fdinfo/%s", e->d_name);
		f = fopen(info, "r");
		while (f && fgets(line, sizeof(line), f))
			if (strncmp(line, "flags:", 6) == 0)
				mode = (int)(strtol(line + 6, NULL, 8) & O_ACCMODE);
		if (f)
			fclose(f);
	}
	closedir(d);
	return mode;
}

Test(blk, readonly_refuses_writes)
{
	for (int i = 0; i < 2; i++) {
		struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config),
					      .readonly = true};
		struct vdev_dev_stats st;
		struct bt t;
		uint64_t hash, gpa;
		uint8_t *p;
		struct vdev_drv_seg s;
		int before;

		bt_open(&t, combo_opts(i, 1 * MiB), &cfg);
		cr_assert_eq(open_mode_of(t.path), O_RDONLY, "image not opened O_RDONLY");
		bt_ready(&t, ~0ULL);
		fill_file(t.path, 1 * MiB);
		hash = bt_file_hash(t.path);
		cr_assert(t.fx.features & VDEV_BLK_F_RO);
		cr_assert_eq(t.fx.features & (VDEV_BLK_F_DISCARD | VDEV_BLK_F_WRITE_ZEROES), 0);
		gpa = bt_alloc(&t, 4096, &p);
		memset(p, 0x11, 4096);
		s = (struct vdev_drv_seg){gpa, 4096, false};
		before = atomic_load(&g_fdatasyncs);
		cr_assert_eq(bt_do(&t, 0, VDEV_BLK_T_OUT, 8, &s, 1, NULL), VDEV_BLK_S_IOERR);
		cr_assert_eq(range_req(&t, VDEV_BLK_T_DISCARD, 0, 8, 0), VDEV_BLK_S_UNSUPP);
		cr_assert_eq(range_req(&t, VDEV_BLK_T_WRITE_ZEROES, 0, 8, 0), VDEV_BLK_S_UNSUPP);
		cr_assert_eq(bt_do(&t, 0, VDEV_BLK_T_FLUSH, 0, NULL, 0, NULL), VDEV_BLK_S_OK);
		cr_assert_eq(atomic_load(&g_fdatasyncs), before);
		read_back_zero(&t, 8, 8, false); /* reads work: 0x77 fill */
		cr_assert_eq(bt_file_hash(t.path), hash, "read-only image changed");
		vdev_dev_get_stats(t.fx.dev, &st);
		cr_assert_eq(st.errors, 3);
		cr_assert_eq(st.bytes_in, 0);
		bt_close(&t);
	}
}

/* ---- GET_ID ---- */

Test(blk, get_id_returns_serial)
{
	for (int i = 0; i < FX_NMODES; i++) {
		struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config),
					      .serial = "vdev-serial-01"};
		struct vdev_drv_seg s;
		struct bt t;
		uint8_t *p;
		uint32_t used;
		uint64_t gpa;

		bt_open(&t, combo_opts(i, 1 * MiB), &cfg);
		bt_ready(&t, ~0ULL);
		gpa = bt_alloc(&t, 20, &p);
		memset(p, 0xAA, 20);
		s = (struct vdev_drv_seg){gpa, 20, true};
		cr_assert_eq(bt_do(&t, 0, VDEV_BLK_T_GET_ID, 0, &s, 1, &used), VDEV_BLK_S_OK);
		cr_assert_eq(memcmp(p, "vdev-serial-01\0\0\0\0\0\0", 20), 0);
		cr_assert_eq(used, 21);
		bt_close(&t);
	}
	{
		/* A 20-byte serial fills the answer with no terminator. */
		struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config),
					      .serial = "ABCDEFGHIJKLMNOPQRST"};
		struct vdev_drv_seg s;
		struct bt t;
		uint8_t *p;

		bt_open(&t, combo_opts(1, 1 * MiB), &cfg);
		bt_ready(&t, ~0ULL);
		s = (struct vdev_drv_seg){bt_alloc(&t, 20, &p), 20, true};
		cr_assert_eq(bt_do(&t, 0, VDEV_BLK_T_GET_ID, 0, &s, 1, NULL), VDEV_BLK_S_OK);
		cr_assert_eq(memcmp(p, "ABCDEFGHIJKLMNOPQRST", 20), 0);
		bt_close(&t);
	}
}

/* ---- multiqueue ---- */

Test(blk, multiqueue_four_queues)
{
	for (int i = 0; i < 2; i++) {
		struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config),
					      .num_queues = 4, .io_workers = 2};
		struct bt t;
		uint8_t *p[4];
		uint64_t gpa[4];

		bt_open(&t, combo_opts(i == 0 ? 1 : 2, 1 * MiB), &cfg);
		bt_ready(&t, ~0ULL);
		cr_assert(t.fx.features & VDEV_BLK_F_MQ);
		cr_assert_eq(vdev_drv_read_config16(t.fx.drv, VDEV_BLK_CFG_NUM_QUEUES), 4);
		for (int q = 0; q < 4; q++) {
			struct vdev_drv_seg s;

			gpa[q] = bt_alloc(&t, 1024, &p[q]);
			memset(p[q], 0x40 + q, 1024);
			s = (struct vdev_drv_seg){gpa[q], 1024, false};
			bt_hdr(&t, q, VDEV_BLK_T_OUT, 100 + (uint64_t)q * 2);
			bt_post(&t, q, q, &s, 1, false);
		}
		for (int q = 0; q < 4; q++) {
			bt_wait(&t, q, 1);
			cr_assert_eq(*t.st[q], VDEV_BLK_S_OK, "queue %d", q);
		}
		/* Read each queue's sectors back through another queue. */
		for (int q = 0; q < 4; q++) {
			struct vdev_drv_seg s = {gpa[q], 1024, true};

			memset(p[q], 0, 1024);
			cr_assert_eq(bt_do(&t, (q + 1) % 4, VDEV_BLK_T_IN, 100 + (uint64_t)q * 2, &s, 1,
					   NULL),
				     VDEV_BLK_S_OK);
			for (int b = 0; b < 1024; b++)
				cr_assert_eq(p[q][b], 0x40 + q);
		}
		bt_close(&t);
	}
}

Test(blk, single_queue_does_not_offer_mq)
{
	struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config)};
	struct bt t;

	bt_open(&t, combo_opts(1, 1 * MiB), &cfg);
	cr_assert_eq(vdev_drv_read_features(t.fx.drv) & VDEV_BLK_F_MQ, 0);
	bt_close(&t);
}

/* ---- resize ---- */

Test(blk, resize_raises_config_interrupt)
{
	/* INTx: the ISR's config bit; modern also bumps config_generation. */
	for (int i = 0; i < 2; i++) {
		struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config)};
		struct vdev_drv_seg s;
		struct bt t;
		uint8_t *p;
		uint8_t gen = 0;

		bt_open(&t, combo_opts(i, 1 * MiB), &cfg);
		bt_ready(&t, ~0ULL);
		s = (struct vdev_drv_seg){bt_alloc(&t, 512, &p), 512, true};
		(void)vdev_drv_read_isr(t.fx.drv);
		if (i == 1)
			gen = (uint8_t)vdev_drv_region_read(t.fx.drv, VDEV_DRV_REGION_COMMON,
							    VIRTIO_COMMON_CFGGENERATION, 1);
		cr_assert_eq(bt_do(&t, 0, VDEV_BLK_T_IN, 2048, &s, 1, NULL), VDEV_BLK_S_IOERR);
		cr_assert_eq(truncate(t.path, 2 * MiB), 0);
		(void)vdev_drv_read_isr(t.fx.drv);
		cr_assert_eq(vdev_blk_resize(t.fx.dev, 2 * MiB), 0);
		cr_assert(vdev_drv_read_isr(t.fx.drv) & VIRTIO_CR_ISR_CONF_CHANGED);
		cr_assert_eq(vdev_drv_read_config64(t.fx.drv, VDEV_BLK_CFG_CAPACITY), 4096);
		if (i == 1)
			cr_assert_neq(vdev_drv_region_read(t.fx.drv, VDEV_DRV_REGION_COMMON,
							   VIRTIO_COMMON_CFGGENERATION, 1),
				      gen);
		cr_assert_eq(bt_do(&t, 0, VDEV_BLK_T_IN, 2048, &s, 1, NULL), VDEV_BLK_S_OK);
		/* Shrinking works the same way. */
		cr_assert_eq(vdev_blk_resize(t.fx.dev, 512 * 1024), 0);
		cr_assert_eq(bt_do(&t, 0, VDEV_BLK_T_IN, 1024, &s, 1, NULL), VDEV_BLK_S_IOERR);
		bt_close(&t);
	}
}

Test(blk, resize_with_msix_uses_config_vector)
{
	struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config)};
	struct bt_opts o = {VDEV_PCI_MODERN, VDEV_DRV_MODERN, true, 0, 1 * MiB};
	struct bt t;
	uint64_t before;

	bt_open(&t, &o, &cfg);
	bt_ready(&t, ~0ULL);
	/* The driver peer leaves the config vector unset: point it at entry 0. */
	vdev_drv_region_write(t.fx.drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_MSIX, 2, 0);
	cr_assert_eq(vdev_drv_region_read(t.fx.drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_MSIX, 2), 0);
	before = vdev_sim_msi_count(t.fx.sim, 0);
	cr_assert_eq(vdev_blk_resize(t.fx.dev, 3 * MiB), 0);
	cr_assert_eq(vdev_sim_msi_count(t.fx.sim, 0), before + 1);
	cr_assert_eq(vdev_blk_capacity(t.fx.dev), 6144);
	bt_close(&t);
}

Test(blk, resize_rejects_bad_arguments)
{
	struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config)};
	struct bt t;

	cr_assert_eq(vdev_blk_resize(NULL, 4096), -EINVAL);
	bt_open(&t, combo_opts(1, 1 * MiB), &cfg);
	cr_assert_eq(vdev_blk_resize(t.fx.dev, UINT64_MAX), -EINVAL);
	cr_assert_eq(vdev_blk_capacity(t.fx.dev), 2048);
	bt_close(&t);
}

/* ---- counters ---- */

Test(blk, counters)
{
	struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config), .serial = "s"};
	struct vdev_dev_stats st;
	struct vdev_drv_seg s, id;
	struct bt t;
	uint8_t *p, *q;

	bt_open(&t, combo_opts(1, 1 * MiB), &cfg);
	bt_ready(&t, ~0ULL);
	s = (struct vdev_drv_seg){bt_alloc(&t, 2048, &p), 2048, false};
	cr_assert_eq(bt_do(&t, 0, VDEV_BLK_T_OUT, 0, &s, 1, NULL), VDEV_BLK_S_OK);
	s.writable = true;
	cr_assert_eq(bt_do(&t, 0, VDEV_BLK_T_IN, 0, &s, 1, NULL), VDEV_BLK_S_OK);
	id = (struct vdev_drv_seg){bt_alloc(&t, 20, &q), 20, true};
	cr_assert_eq(bt_do(&t, 0, VDEV_BLK_T_GET_ID, 0, &id, 1, NULL), VDEV_BLK_S_OK);
	cr_assert_eq(bt_do(&t, 0, 77, 0, NULL, 0, NULL), VDEV_BLK_S_UNSUPP);
	vdev_dev_get_stats(t.fx.dev, &st);
	cr_assert_eq(st.requests, 4);
	cr_assert_eq(st.bytes_in, 2048);
	cr_assert_eq(st.bytes_out, 2048 + 20);
	cr_assert_eq(st.errors, 1);
	cr_assert_eq(st.dropped, 0);
	bt_close(&t);
}

/* ---- create() arguments ---- */

Test(blk, create_rejects_bad_arguments)
{
	struct vdev_sim_config scfg = {.size = sizeof(struct vdev_sim_config), .ram_size = 1 << 20};
	struct vdev_sim *sim;
	struct vdev_dev *dev = NULL;
	struct held_be held;
	struct vdev_blk_backend nosubmit, badver;
	char path[256], missing[300];
	uint64_t hash;
	const struct {
		const char *field;
		struct vdev_blk_config cfg;
	} cases[] = {
		{"pci.mode", {.pci = {.mode = 0}}},
		{"pci.mode", {.pci = {.mode = 9}}},
		{"path", {.pci = {.mode = VDEV_PCI_MODERN}, .path = NULL}},
		{"path", {.pci = {.mode = VDEV_PCI_MODERN}, .path = ""}},
		{"path", {.pci = {.mode = VDEV_PCI_MODERN}, .path = path, .backend = &held.be}},
		{"num_queues", {.pci = {.mode = VDEV_PCI_MODERN}, .path = path, .num_queues = 65}},
		{"queue_size", {.pci = {.mode = VDEV_PCI_MODERN}, .path = path, .queue_size = 100}},
		{"queue_size", {.pci = {.mode = VDEV_PCI_MODERN}, .path = path, .queue_size = 2048}},
		{"queue_size", {.pci = {.mode = VDEV_PCI_MODERN}, .path = path, .queue_size = 1}},
		{"blk_size", {.pci = {.mode = VDEV_PCI_MODERN}, .path = path, .blk_size = 1000}},
		{"blk_size", {.pci = {.mode = VDEV_PCI_MODERN}, .path = path, .blk_size = 256}},
		{"blk_size", {.pci = {.mode = VDEV_PCI_MODERN}, .path = path, .blk_size = 1 << 17}},
		{"physical_block_exp",
		 {.pci = {.mode = VDEV_PCI_MODERN}, .path = path, .physical_block_exp = 16}},
		{"seg_max", {.pci = {.mode = VDEV_PCI_MODERN}, .path = path, .seg_max = 1001}},
		{"size_max", {.pci = {.mode = VDEV_PCI_MODERN}, .path = path, .size_max = 100}},
		{"max_discard_seg",
		 {.pci = {.mode = VDEV_PCI_MODERN}, .path = path, .max_discard_seg = 257}},
		{"max_write_zeroes_seg",
		 {.pci = {.mode = VDEV_PCI_MODERN}, .path = path, .max_write_zeroes_seg = 1000}},
		{"serial",
		 {.pci = {.mode = VDEV_PCI_MODERN}, .path = path, .serial = "123456789012345678901"}},
		{"io_workers", {.pci = {.mode = VDEV_PCI_MODERN}, .path = path, .io_workers = 65}},
		{"backend.version", {.pci = {.mode = VDEV_PCI_MODERN}, .backend = &badver}},
		{"backend", {.pci = {.mode = VDEV_PCI_MODERN}, .backend = &nosubmit}},
	};

	held_init(&held, 1 * MiB);
	nosubmit = held.be;
	nosubmit.submit = NULL;
	badver = held.be;
	badver.version = 99;
	bt_make_image(path, sizeof(path), 1 * MiB);
	fill_file(path, 1 * MiB);
	hash = bt_file_hash(path);
	cr_assert_eq(vdev_sim_create(&scfg, &sim), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vdev_blk_config c = cases[i].cfg;
		int rc;

		c.size = sizeof(c); /* left out of the table to keep each case on a line */
		rc = vdev_blk_create(vdev_sim_vmctx(sim), "bad0", &c, &dev);
		cr_assert_eq(rc, -EINVAL, "case %zu (%s): rc %d", i, cases[i].field, rc);
		cr_assert(strstr(vdev_sim_last_log(sim), cases[i].field) != NULL,
			  "case %zu: log \"%s\" does not name %s", i, vdev_sim_last_log(sim),
			  cases[i].field);
		cr_assert_eq(fx_count_fds_on(path), 0, "case %zu left the image open", i);
	}
	cr_assert_eq(held.submits + held.quiesces + held.closes, 0);
	{
		struct vdev_blk_config ok = {.size = sizeof(struct vdev_blk_config),
					     .pci = {.mode = VDEV_PCI_MODERN}, .path = path};

		cr_assert_eq(vdev_blk_create(NULL, "x", &ok, &dev), -EINVAL);
		cr_assert_eq(vdev_blk_create(vdev_sim_vmctx(sim), NULL, &ok, &dev), -EINVAL);
		cr_assert(strstr(vdev_sim_last_log(sim), "name") != NULL);
		cr_assert_eq(vdev_blk_create(vdev_sim_vmctx(sim), "", &ok, &dev), -EINVAL);
		cr_assert_eq(vdev_blk_create(vdev_sim_vmctx(sim), "x", NULL, &dev), -EINVAL);
		cr_assert(strstr(vdev_sim_last_log(sim), "config") != NULL);
		cr_assert_eq(vdev_blk_create(vdev_sim_vmctx(sim), "x", &ok, NULL), -EINVAL);
		cr_assert(strstr(vdev_sim_last_log(sim), "out") != NULL);
		/* A missing image is an error, and is not created. */
		snprintf(missing, sizeof(missing), "%s.missing", path);
		ok.path = missing;
		cr_assert_eq(vdev_blk_create(vdev_sim_vmctx(sim), "x", &ok, &dev), -ENOENT);
		cr_assert(strstr(vdev_sim_last_log(sim), "path") != NULL);
		cr_assert(access(missing, F_OK) != 0, "create() made the missing image");
		/* Not a file nor a block device. */
		ok.path = "/tmp";
		ok.readonly = true;
		cr_assert_eq(vdev_blk_create(vdev_sim_vmctx(sim), "x", &ok, &dev), -EINVAL);
	}
	cr_assert_eq(bt_file_hash(path), hash, "a refused create() changed the image");
	vdev_sim_destroy(sim);
	unlink(path);
}

Test(blk, file_backend_rejects_bad_arguments)
{
	struct vdev_blk_backend be;

	cr_assert_eq(vdev_blk_file_backend(NULL, false, 0, &be), -EINVAL);
	cr_assert_eq(vdev_blk_file_backend("", false, 0, &be), -EINVAL);
	cr_assert_eq(vdev_blk_file_backend("/tmp", false, 0, NULL), -EINVAL);
	cr_assert_eq(vdev_blk_file_backend("/dev/null", false, 65, &be), -EINVAL);
	cr_assert_eq(vdev_blk_file_backend("/dev/null", false, 0, &be), -EINVAL); /* char dev */
}

Test(blk, custom_backend_gets_checked_requests)
{
	struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config), .num_queues = 2};
	struct bt_opts o = {VDEV_PCI_MODERN, VDEV_DRV_MODERN, false, 0, 0};
	struct held_be held;
	struct vdev_drv_seg s[2];
	struct vdev_blk_io *io;
	struct bt t;
	uint8_t *p;

	held_init(&held, 8 * MiB);
	cfg.backend = &held.be;
	bt_open(&t, &o, &cfg);
	bt_ready(&t, ~0ULL);
	s[0] = (struct vdev_drv_seg){bt_alloc(&t, 3000, &p), 1000, false};
	s[1] = (struct vdev_drv_seg){s[0].gpa + 1000, 1048, false};
	bt_hdr(&t, 0, VDEV_BLK_T_OUT, 77);
	bt_post(&t, 1, 0, s, 2, false);
	cr_assert_eq(held_count(&held), 1);
	io = held.ios[0];
	cr_assert_eq(io->op, VDEV_BLK_OP_WRITE);
	cr_assert_eq(io->queue, 1);
	cr_assert_eq(io->offset, 77 * 512);
	cr_assert_eq(io->len, 2048);
	cr_assert_eq(io->iovcnt, 2);
	cr_assert_eq(io->iov[0].iov_base, p);
	cr_assert_eq(io->iov[0].iov_len, 1000);
	cr_assert_eq(io->iov[1].iov_len, 1048);
	cr_assert(!io->sync);
	cr_assert_eq(held_release(&held, 0), 1);
	bt_wait(&t, 1, 1);
	cr_assert_eq(*t.st[0], VDEV_BLK_S_OK);
	/* A backend's -EOPNOTSUPP is UNSUPP, other errors IOERR. */
	bt_hdr(&t, 1, VDEV_BLK_T_OUT, 1);
	bt_post(&t, 0, 1, s, 2, false);
	held_release(&held, -EOPNOTSUPP);
	bt_wait(&t, 0, 1);
	cr_assert_eq(*t.st[1], VDEV_BLK_S_UNSUPP);
	bt_hdr(&t, 2, VDEV_BLK_T_OUT, 2);
	bt_post(&t, 0, 2, s, 2, false);
	held_release(&held, -EIO);
	bt_wait(&t, 0, 1);
	cr_assert_eq(*t.st[2], VDEV_BLK_S_IOERR);
	bt_close(&t);
	cr_assert_eq(held.closes, 2, "queue_close once per queue");
}
