/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-blk against a hostile driver: HOSTILE.md H36 (malformed requests), H22
 * (direction lies), H31 (no status byte), H12 (reset with requests in flight). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blk_harness.h"

TestSuite(blk_hostile, .fini = bt_cleanup_images);

#define MiB (1ULL << 20)
#define DISK (1 * MiB)
#define CAP (DISK / 512)

/* One device per (mode) pass: legacy and modern. */
static void open_mode(struct bt *t, int legacy, struct vdev_blk_config *cfg)
{
	struct bt_opts o = {legacy ? VDEV_PCI_LEGACY : VDEV_PCI_MODERN,
			    legacy ? VDEV_DRV_LEGACY : VDEV_DRV_MODERN, false, 0, DISK};
	uint8_t buf[4096];
	int fd;

	bt_open(t, &o, cfg);
	/* Known, non-zero content, so any stray write would show. */
	memset(buf, 0x3C, sizeof(buf));
	fd = open(t->path, O_WRONLY);
	for (uint64_t off = 0; off < DISK; off += sizeof(buf))
		cr_assert_eq(pwrite(fd, buf, sizeof(buf), (off_t)off), (ssize_t)sizeof(buf));
	close(fd);
	bt_ready(t, ~0ULL);
}

static void assert_healthy(struct bt *t)
{
	struct vdev_drv_seg s;
	uint8_t *p;

	cr_assert_eq(vdev_drv_read_status(t->fx.drv) & VIRTIO_CR_STATUS_NEEDS_RESET, 0,
		     "device latched NEEDS_RESET");
	s = (struct vdev_drv_seg){bt_alloc(t, 512, &p), 512, true};
	cr_assert_eq(bt_do(t, 0, VDEV_BLK_T_IN, CAP / 2, &s, 1, NULL), VDEV_BLK_S_OK,
		     "device stopped serving good requests");
	cr_assert_eq(p[0], 0x3C);
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

static int rw(struct bt *t, uint32_t type, uint64_t sector, uint32_t len)
{
	uint8_t *p;
	struct vdev_drv_seg s = {bt_alloc(t, len, &p), len, type == VDEV_BLK_T_IN};

	memset(p, 0x99, len);
	return bt_do(t, 0, type, sector, &s, 1, NULL);
}

static int ranges(struct bt *t, uint32_t type, const uint64_t *sec, const uint32_t *n,
		  const uint32_t *fl, int nseg)
{
	uint8_t *p;
	uint64_t gpa = bt_alloc(t, 16 * (uint32_t)nseg, &p);
	struct vdev_drv_seg s = {gpa, 16 * (uint32_t)nseg, false};

	for (int i = 0; i < nseg; i++) {
		uint64_t a = htole64(sec[i]);
		uint32_t b = htole32(n[i]), c = htole32(fl[i]);

		memcpy(p + 16 * i, &a, 8);
		memcpy(p + 16 * i + 8, &b, 4);
		memcpy(p + 16 * i + 12, &c, 4);
	}
	return bt_do(t, 0, type, 0, &s, 1, NULL);
}

static int range1(struct bt *t, uint32_t type, uint64_t sec, uint32_t n, uint32_t fl)
{
	return ranges(t, type, &sec, &n, &fl, 1);
}

Test(blk_hostile, H36_unknown_type_is_unsupp)
{
	static const uint32_t types[] = {2, 3, 5, 10, 14, 99, 0x80000001u, 0xFFFFFFFFu};

	for (int legacy = 0; legacy < 2; legacy++) {
		struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config)};
		struct vdev_dev_stats st;
		struct bt t;
		uint64_t h;

		open_mode(&t, legacy, &cfg);
		h = bt_file_hash(t.path);
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			cr_assert_eq(rw(&t, types[i], 0, 512), VDEV_BLK_S_UNSUPP, "type %u", types[i]);
		cr_assert_eq(bt_file_hash(t.path), h);
		vdev_dev_get_stats(t.fx.dev, &st);
		cr_assert_eq(st.errors, sizeof(types) / sizeof(types[0]));
		assert_healthy(&t);
		bt_close(&t);
	}
}

Test(blk_hostile, H36_sector_past_capacity_is_ioerr)
{
	for (int legacy = 0; legacy < 2; legacy++) {
		struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config)};
		struct bt t;
		uint64_t h;

		open_mode(&t, legacy, &cfg);
		h = bt_file_hash(t.path);
		cr_assert_eq(rw(&t, VDEV_BLK_T_IN, CAP, 512), VDEV_BLK_S_IOERR);
		cr_assert_eq(rw(&t, VDEV_BLK_T_IN, CAP - 1, 1024), VDEV_BLK_S_IOERR);
		cr_assert_eq(rw(&t, VDEV_BLK_T_OUT, CAP, 512), VDEV_BLK_S_IOERR);
		cr_assert_eq(rw(&t, VDEV_BLK_T_OUT, CAP - 1, 1024), VDEV_BLK_S_IOERR);
		cr_assert_eq(rw(&t, VDEV_BLK_T_OUT, CAP + 1000000, 512), VDEV_BLK_S_IOERR);
		/* The last sector itself is fine. */
		cr_assert_eq(rw(&t, VDEV_BLK_T_IN, CAP - 1, 512), VDEV_BLK_S_OK);
		cr_assert_eq(bt_file_hash(t.path), h, "image changed");
		cr_assert_eq(file_size(t.path), DISK, "image grew");
		assert_healthy(&t);
		bt_close(&t);
	}
}

Test(blk_hostile, H36_sector_times_512_overflow_is_ioerr)
{
	static const uint64_t sectors[] = {
		UINT64_MAX, UINT64_MAX / 512 + 1, UINT64_MAX / 512, (UINT64_MAX - 511) / 512,
		1ULL << 55, 1ULL << 63,
	};

	for (int legacy = 0; legacy < 2; legacy++) {
		struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config)};
		struct bt t;
		uint64_t h;

		open_mode(&t, legacy, &cfg);
		h = bt_file_hash(t.path);
		for (size_t i = 0; i < sizeof(sectors) / sizeof(sectors[0]); i++) {
			cr_assert_eq(rw(&t, VDEV_BLK_T_IN, sectors[i], 4096), VDEV_BLK_S_IOERR);
			cr_assert_eq(rw(&t, VDEV_BLK_T_OUT, sectors[i], 4096), VDEV_BLK_S_IOERR);
			cr_assert_eq(range1(&t, VDEV_BLK_T_DISCARD, sectors[i], 8, 0),
				     VDEV_BLK_S_IOERR);
			cr_assert_eq(range1(&t, VDEV_BLK_T_WRITE_ZEROES, sectors[i], 8, 0),
				     VDEV_BLK_S_IOERR);
		}
		cr_assert_eq(bt_file_hash(t.path), h);
		cr_assert_eq(file_size(t.path), DISK);
		assert_healthy(&t);
		bt_close(&t);
	}
}

Test(blk_hostile, H36_discard_and_write_zeroes_huge_counts_are_ioerr)
{
	for (int legacy = 0; legacy < 2; legacy++) {
		struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config),
					      .max_discard_sectors = 64, .max_write_zeroes_sectors = 64};
		struct bt t;
		uint64_t h;

		open_mode(&t, legacy, &cfg);
		h = bt_file_hash(t.path);
		cr_assert_eq(range1(&t, VDEV_BLK_T_DISCARD, 0, 0xFFFFFFFFu, 0), VDEV_BLK_S_IOERR);
		cr_assert_eq(range1(&t, VDEV_BLK_T_WRITE_ZEROES, 0, 0xFFFFFFFFu, 0),
			     VDEV_BLK_S_IOERR);
		cr_assert_eq(range1(&t, VDEV_BLK_T_DISCARD, 0, 65, 0), VDEV_BLK_S_IOERR);
		cr_assert_eq(range1(&t, VDEV_BLK_T_WRITE_ZEROES, 0, 65, VDEV_BLK_WZ_F_UNMAP),
			     VDEV_BLK_S_IOERR);
		cr_assert_eq(range1(&t, VDEV_BLK_T_WRITE_ZEROES, CAP - 10, 20, 0), VDEV_BLK_S_IOERR);
		cr_assert_eq(bt_file_hash(t.path), h, "a refused range touched the image");
		/* At the limit it works. */
		cr_assert_eq(range1(&t, VDEV_BLK_T_WRITE_ZEROES, CAP - 64, 64, 0), VDEV_BLK_S_OK);
		assert_healthy(&t);
		bt_close(&t);
	}
}

Test(blk_hostile, H36_discard_bad_segment_counts_are_ioerr)
{
	for (int legacy = 0; legacy < 2; legacy++) {
		struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config),
					      .max_discard_seg = 4, .max_write_zeroes_seg = 2};
		uint64_t sec[5] = {0, 8, 16, 24, 32};
		uint32_t n[5] = {8, 8, 8, 8, 8}, fl[5] = {0};
		struct vdev_drv_seg s[2];
		struct bt t;
		uint8_t *p;
		uint64_t h;

		open_mode(&t, legacy, &cfg);
		h = bt_file_hash(t.path);
		cr_assert_eq(ranges(&t, VDEV_BLK_T_DISCARD, sec, n, fl, 5), VDEV_BLK_S_IOERR);
		cr_assert_eq(ranges(&t, VDEV_BLK_T_WRITE_ZEROES, sec, n, fl, 3), VDEV_BLK_S_IOERR);
		/* No segment at all, a partial one, one and a half. */
		cr_assert_eq(bt_do(&t, 0, VDEV_BLK_T_DISCARD, 0, NULL, 0, NULL), VDEV_BLK_S_IOERR);
		s[0] = (struct vdev_drv_seg){bt_alloc(&t, 64, &p), 8, false};
		memset(p, 0, 64);
		cr_assert_eq(bt_do(&t, 0, VDEV_BLK_T_DISCARD, 0, s, 1, NULL), VDEV_BLK_S_IOERR);
		s[0].len = 24;
		cr_assert_eq(bt_do(&t, 0, VDEV_BLK_T_WRITE_ZEROES, 0, s, 1, NULL), VDEV_BLK_S_IOERR);
		/* Segments in a device-writable buffer (direction lie). */
		s[0] = (struct vdev_drv_seg){s[0].gpa, 16, true};
		cr_assert_eq(bt_do(&t, 0, VDEV_BLK_T_DISCARD, 0, s, 1, NULL), VDEV_BLK_S_IOERR);
		/* Flags: discard takes none; write zeroes only UNMAP. */
		cr_assert_eq(range1(&t, VDEV_BLK_T_DISCARD, 0, 8, VDEV_BLK_WZ_F_UNMAP),
			     VDEV_BLK_S_UNSUPP);
		cr_assert_eq(range1(&t, VDEV_BLK_T_WRITE_ZEROES, 0, 8, 2), VDEV_BLK_S_UNSUPP);
		cr_assert_eq(bt_file_hash(t.path), h);
		/* Four segments are allowed. */
		cr_assert_eq(ranges(&t, VDEV_BLK_T_DISCARD, sec, n, fl, 4), VDEV_BLK_S_OK);
		assert_healthy(&t);
		bt_close(&t);
	}
}

Test(blk_hostile, H36_discard_without_negotiating_is_unsupp)
{
	struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config)};
	struct bt_opts o = {VDEV_PCI_MODERN, VDEV_DRV_MODERN, false, 0, DISK};
	struct bt t;
	uint64_t h;

	bt_open(&t, &o, &cfg);
	bt_ready(&t, ~(VDEV_BLK_F_DISCARD | VDEV_BLK_F_WRITE_ZEROES));
	h = bt_file_hash(t.path);
	cr_assert_eq(range1(&t, VDEV_BLK_T_DISCARD, 0, 8, 0), VDEV_BLK_S_UNSUPP);
	cr_assert_eq(range1(&t, VDEV_BLK_T_WRITE_ZEROES, 0, 8, 0), VDEV_BLK_S_UNSUPP);
	cr_assert_eq(bt_file_hash(t.path), h);
	bt_close(&t);
}

Test(blk_hostile, H36_get_id_into_fewer_than_20_bytes)
{
	for (int legacy = 0; legacy < 2; legacy++) {
		struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config),
					      .serial = "0123456789abcdefghij"};
		struct vdev_drv_seg s[2];
		struct bt t;
		uint32_t used;
		uint8_t *p;

		open_mode(&t, legacy, &cfg);
		s[0] = (struct vdev_drv_seg){bt_alloc(&t, 32, &p), 8, true};
		memset(p, 0x5A, 32);
		cr_assert_eq(bt_do(&t, 0, VDEV_BLK_T_GET_ID, 0, s, 1, &used), VDEV_BLK_S_OK);
		cr_assert_eq(memcmp(p, "01234567", 8), 0);
		for (int b = 8; b < 32; b++)
			cr_assert_eq(p[b], 0x5A, "wrote past the buffer at %d", b);
		cr_assert_eq(used, 9);
		/* Split over two buffers of 3 and 4 bytes. */
		memset(p, 0x5A, 32);
		s[0].len = 3;
		s[1] = (struct vdev_drv_seg){s[0].gpa + 16, 4, true};
		cr_assert_eq(bt_do(&t, 0, VDEV_BLK_T_GET_ID, 0, s, 2, &used), VDEV_BLK_S_OK);
		cr_assert_eq(memcmp(p, "012", 3), 0);
		cr_assert_eq(p[3], 0x5A);
		cr_assert_eq(memcmp(p + 16, "3456", 4), 0);
		cr_assert_eq(p[20], 0x5A);
		/* No room at all: only the status byte. */
		cr_assert_eq(bt_do(&t, 0, VDEV_BLK_T_GET_ID, 0, NULL, 0, &used), VDEV_BLK_S_OK);
		cr_assert_eq(used, 1);
		assert_healthy(&t);
		bt_close(&t);
	}
}

Test(blk_hostile, H36_no_status_byte_returns_chain_empty)
{
	for (int legacy = 0; legacy < 2; legacy++) {
		struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config)};
		struct vdev_dev_stats st;
		struct vdev_drv_seg segs[3];
		struct bt t;
		uint8_t *data, *stb;
		uint64_t h;

		open_mode(&t, legacy, &cfg);
		h = bt_file_hash(t.path);
		/* A write whose "status" is device-readable: nothing to answer in. */
		segs[1] = (struct vdev_drv_seg){bt_alloc(&t, 512, &data), 512, false};
		segs[2] = (struct vdev_drv_seg){bt_alloc(&t, 1, &stb), 1, false};
		memset(data, 0x42, 512);
		*stb = 0xEE;
		bt_hdr(&t, 0, VDEV_BLK_T_OUT, 4);
		segs[0] = (struct vdev_drv_seg){t.hdr_gpa[0], 16, false};
		bt_post_raw(&t, 0, 0, segs, 3, false);
		bt_wait(&t, 0, 1);
		cr_assert_eq(t.len[0], 0);
		cr_assert_eq(*stb, 0xEE);
		/* Header only. */
		bt_post_raw(&t, 0, 1, segs, 1, false);
		bt_wait(&t, 0, 1);
		cr_assert_eq(t.len[1], 0);
		/* A read without a status byte: the data buffer stays untouched. */
		bt_hdr(&t, 2, VDEV_BLK_T_IN, 4);
		segs[0] = (struct vdev_drv_seg){t.hdr_gpa[2], 16, false};
		bt_post_raw(&t, 0, 2, segs, 2, false);
		bt_wait(&t, 0, 1);
		cr_assert_eq(t.len[2], 0);
		for (int b = 0; b < 512; b++)
			cr_assert_eq(data[b], 0x42);
		cr_assert_eq(bt_file_hash(t.path), h, "a request without status reached the image");
		vdev_dev_get_stats(t.fx.dev, &st);
		cr_assert_eq(st.dropped, 3);
		assert_healthy(&t);
		bt_close(&t);
	}
}

Test(blk_hostile, H36_short_or_unreadable_header_is_ioerr)
{
	for (int legacy = 0; legacy < 2; legacy++) {
		struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config)};
		struct vdev_drv_seg segs[3];
		struct bt t;
		uint8_t *whdr;
		uint64_t h;

		open_mode(&t, legacy, &cfg);
		h = bt_file_hash(t.path);
		/* 8 of 16 header bytes. */
		bt_hdr(&t, 0, VDEV_BLK_T_OUT, 0);
		segs[0] = (struct vdev_drv_seg){t.hdr_gpa[0], 8, false};
		segs[1] = (struct vdev_drv_seg){t.st_gpa[0], 1, true};
		*t.st[0] = 0xEE;
		bt_post_raw(&t, 0, 0, segs, 2, false);
		bt_wait(&t, 0, 1);
		cr_assert_eq(*t.st[0], VDEV_BLK_S_IOERR);
		/* The header in a device-writable buffer (H22): IOERR in the status byte, the
		 * rest of that buffer untouched. */
		segs[0] = (struct vdev_drv_seg){bt_alloc(&t, 16, &whdr), 16, true};
		memcpy(whdr, t.hdr[0], 16);
		*t.st[0] = 0xEE;
		bt_post_raw(&t, 0, 0, segs, 2, false);
		bt_wait(&t, 0, 1);
		cr_assert_eq(*t.st[0], VDEV_BLK_S_IOERR);
		cr_assert_eq(memcmp(whdr, t.hdr[0], 16), 0, "device wrote into the header");
		/* A header split over two descriptors is legal. */
		segs[0] = (struct vdev_drv_seg){t.hdr_gpa[0], 5, false};
		segs[1] = (struct vdev_drv_seg){t.hdr_gpa[0] + 5, 11, false};
		segs[2] = (struct vdev_drv_seg){t.st_gpa[0], 1, true};
		bt_hdr(&t, 0, VDEV_BLK_T_FLUSH, 0);
		*t.st[0] = 0xEE;
		bt_post_raw(&t, 0, 0, segs, 3, false);
		bt_wait(&t, 0, 1);
		cr_assert_eq(*t.st[0], VDEV_BLK_S_OK);
		cr_assert_eq(bt_file_hash(t.path), h);
		assert_healthy(&t);
		bt_close(&t);
	}
}

Test(blk_hostile, H36_wrong_data_direction_is_ioerr)
{
	for (int legacy = 0; legacy < 2; legacy++) {
		struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config)};
		struct vdev_drv_seg s;
		struct bt t;
		uint8_t *p;
		uint64_t h;

		open_mode(&t, legacy, &cfg);
		h = bt_file_hash(t.path);
		/* A read whose data buffer is device-readable (H22): never written. */
		s = (struct vdev_drv_seg){bt_alloc(&t, 4096, &p), 4096, false};
		memset(p, 0x61, 4096);
		cr_assert_eq(bt_do(&t, 0, VDEV_BLK_T_IN, 0, &s, 1, NULL), VDEV_BLK_S_IOERR);
		for (int b = 0; b < 4096; b++)
			cr_assert_eq(p[b], 0x61, "device wrote a readable buffer");
		/* A write whose data is device-writable: nothing reaches the image, and the
		 * buffer is not written either. */
		s.writable = true;
		cr_assert_eq(bt_do(&t, 0, VDEV_BLK_T_OUT, 0, &s, 1, NULL), VDEV_BLK_S_IOERR);
		for (int b = 0; b < 4096; b++)
			cr_assert_eq(p[b], 0x61);
		cr_assert_eq(bt_file_hash(t.path), h);
		assert_healthy(&t);
		bt_close(&t);
	}
}

Test(blk_hostile, H36_data_not_a_sector_multiple_is_ioerr)
{
	for (int legacy = 0; legacy < 2; legacy++) {
		struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config)};
		struct bt t;
		uint64_t h;

		open_mode(&t, legacy, &cfg);
		h = bt_file_hash(t.path);
		cr_assert_eq(rw(&t, VDEV_BLK_T_OUT, 0, 700), VDEV_BLK_S_IOERR);
		cr_assert_eq(rw(&t, VDEV_BLK_T_OUT, 0, 1), VDEV_BLK_S_IOERR);
		cr_assert_eq(rw(&t, VDEV_BLK_T_IN, 0, 100), VDEV_BLK_S_IOERR);
		cr_assert_eq(bt_file_hash(t.path), h);
		assert_healthy(&t);
		bt_close(&t);
	}
}

Test(blk_hostile, H36_too_many_segments_is_ioerr)
{
	for (int legacy = 0; legacy < 2; legacy++) {
		/* seg_max 4: a request may use 4 + 16 iovecs for its data. */
		struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config), .seg_max = 4};
		struct vdev_drv_seg segs[40];
		struct bt t;
		uint8_t *p;
		uint64_t gpa, h;

		open_mode(&t, legacy, &cfg);
		h = bt_file_hash(t.path);
		gpa = bt_alloc(&t, 40 * 512, &p);
		for (int i = 0; i < 40; i++)
			segs[i] = (struct vdev_drv_seg){gpa + 512ULL * i, 512, false};
		bt_hdr(&t, 0, VDEV_BLK_T_OUT, 0);
		bt_post(&t, 0, 0, segs, 40, false);
		bt_wait(&t, 0, 1);
		cr_assert_eq(*t.st[0], VDEV_BLK_S_IOERR);
		cr_assert_eq(bt_file_hash(t.path), h);
		/* 20 still fit. */
		bt_post(&t, 0, 0, segs, 20, false);
		bt_wait(&t, 0, 1);
		cr_assert_eq(*t.st[0], VDEV_BLK_S_OK);
		assert_healthy(&t);
		bt_close(&t);
	}
}

Test(blk_hostile, H36_readonly_write_never_reaches_backend)
{
	struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config), .readonly = true};
	struct bt_opts o = {VDEV_PCI_MODERN, VDEV_DRV_MODERN, false, 0, 0};
	struct held_be held;
	struct bt t;

	held_init(&held, DISK);
	cfg.backend = &held.be;
	bt_open(&t, &o, &cfg);
	bt_ready(&t, ~0ULL);
	cr_assert_eq(rw(&t, VDEV_BLK_T_OUT, 0, 512), VDEV_BLK_S_IOERR);
	cr_assert_eq(held.submits, 0);
	bt_close(&t);
}

/* ---- H12: reset with requests in flight ---- */

static uint16_t used_idx(struct bt *t, uint64_t used_gpa)
{
	uint16_t v;

	memcpy(&v, (uint8_t *)vdev_sim_ptr(t->fx.sim, used_gpa, 4) + 2, 2);
	return le16toh(v);
}

struct releaser {
	struct held_be *h;
	int result;
	int n;
};

static void *release_thread(void *arg)
{
	struct releaser *r = arg;

	r->n = held_release(r->h, r->result);
	return NULL;
}

Test(blk_hostile, H12_reset_with_requests_in_flight_writes_nothing)
{
	for (int legacy = 0; legacy < 2; legacy++) {
		struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config)};
		struct bt_opts o = {legacy ? VDEV_PCI_LEGACY : VDEV_PCI_MODERN,
				    legacy ? VDEV_DRV_LEGACY : VDEV_DRV_MODERN, false, 0, 0};
		struct held_be held;
		struct vdev_dev_stats before, after;
		struct releaser r;
		struct vdev_drv_seg rd, wr;
		uint64_t desc, avail, used;
		uint8_t *rp, *wp;
		pthread_t th;
		struct bt t;
		int quiesces;

		held_init(&held, DISK);
		cfg.backend = &held.be;
		bt_open(&t, &o, &cfg);
		bt_ready(&t, ~0ULL);
		rd = (struct vdev_drv_seg){bt_alloc(&t, 4096, &rp), 4096, true};
		wr = (struct vdev_drv_seg){bt_alloc(&t, 4096, &wp), 4096, false};
		memset(rp, 0xAB, 4096);
		memset(wp, 0xCD, 4096);
		bt_hdr(&t, 0, VDEV_BLK_T_IN, 0);
		bt_post(&t, 0, 0, &rd, 1, false);
		bt_hdr(&t, 1, VDEV_BLK_T_OUT, 8);
		bt_post(&t, 0, 1, &wr, 1, false);
		bt_hdr(&t, 2, VDEV_BLK_T_FLUSH, 0);
		bt_post(&t, 0, 2, NULL, 0, false);
		cr_assert_eq(held_count(&held), 3);
		cr_assert_eq(vdev_drv_queue_rings(t.fx.drv, 0, &desc, &avail, &used), 0);
		cr_assert_eq(used_idx(&t, used), 0);
		vdev_dev_get_stats(t.fx.dev, &before);
		quiesces = held.quiesces;

		cr_assert_eq(vdev_drv_reset(t.fx.drv), 0);
		cr_assert_eq(held.quiesces, quiesces + 1, "reset did not quiesce the backend");
		/* The backend completes late, from another thread. */
		r = (struct releaser){&held, 0, 0};
		cr_assert_eq(pthread_create(&th, NULL, release_thread, &r), 0);
		pthread_join(th, NULL);
		cr_assert_eq(r.n, 3);
		bt_pump(&t, 50);
		for (int s = 0; s < 3; s++)
			cr_assert_eq(*t.st[s], 0xEE, "status %d written after reset", s);
		for (int b = 0; b < 4096; b++)
			cr_assert_eq(rp[b], 0xAB);
		cr_assert_eq(used_idx(&t, used), 0, "used ring written after reset");
		vdev_dev_get_stats(t.fx.dev, &after);
		cr_assert_eq(after.requests, before.requests);

		/* The device works again after re-initialisation. */
		bt_ready(&t, ~0ULL);
		bt_hdr(&t, 3, VDEV_BLK_T_IN, 0);
		bt_post(&t, 0, 3, &rd, 1, false);
		cr_assert_eq(held_count(&held), 1);
		held_release(&held, 0);
		bt_wait(&t, 0, 1);
		cr_assert_eq(*t.st[3], VDEV_BLK_S_OK);
		cr_assert_eq(*t.st[0], 0xEE);
		bt_close(&t);
	}
}

Test(blk_hostile, H12_reset_with_every_context_held_recovers)
{
	/* qsize 4: all four request contexts stay with the backend across a reset. The
	 * new driver's requests wait for them, and each old context is reused once. */
	struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config), .queue_size = 4};
	struct bt_opts o = {VDEV_PCI_MODERN, VDEV_DRV_MODERN, false, 0, 0};
	struct held_be held;
	struct vdev_drv_seg s;
	struct bt t;
	uint8_t *p;

	held_init(&held, DISK);
	cfg.backend = &held.be;
	bt_open(&t, &o, &cfg);
	bt_ready(&t, ~0ULL);
	s = (struct vdev_drv_seg){bt_alloc(&t, 512, &p), 512, true};
	for (int i = 0; i < 4; i++) {
		bt_hdr(&t, i, VDEV_BLK_T_IN, (uint64_t)i);
		bt_post(&t, 0, i, &s, 1, true);
	}
	cr_assert_eq(held_count(&held), 4);
	{
		struct vdev_blk_io *old[4];

		memcpy(old, held.ios, sizeof(old));
		held.n = 0;
		cr_assert_eq(vdev_drv_reset(t.fx.drv), 0);
		bt_ready(&t, ~0ULL);
		for (int i = 4; i < 8; i++) {
			bt_hdr(&t, i, VDEV_BLK_T_IN, (uint64_t)i);
			bt_post(&t, 0, i, &s, 1, true);
		}
		/* No context free: nothing reaches the backend yet. */
		cr_assert_eq(held_count(&held), 0);
		for (int i = 0; i < 4; i++)
			vdev_blk_io_complete(old[i], 0);
	}
	bt_pump(&t, 20);
	cr_assert_eq(held_count(&held), 4, "waiting requests did not resume");
	for (int i = 0; i < 4; i++)
		cr_assert_eq(*t.st[i], 0xEE);
	held_release(&held, 0);
	bt_wait(&t, 0, 4);
	for (int i = 4; i < 8; i++)
		cr_assert_eq(*t.st[i], VDEV_BLK_S_OK);
	bt_close(&t);
}

Test(blk_hostile, H12_reset_with_file_backend_in_flight)
{
	for (int legacy = 0; legacy < 2; legacy++) {
		/* Every request through the workers, so that they are still in flight. */
		struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config),
					      .io_workers = 2, .io_no_inline = true};
		uint64_t desc, avail, used;
		struct vdev_drv_seg s[32];
		struct bt t;

		open_mode(&t, legacy, &cfg);
		for (int i = 0; i < 32; i++) {
			uint8_t *p;

			s[i] = (struct vdev_drv_seg){bt_alloc(&t, 8192, &p), 8192, (i & 1) == 0};
			bt_hdr(&t, i, (i & 1) ? VDEV_BLK_T_OUT : VDEV_BLK_T_IN, (uint64_t)i * 16);
			bt_post(&t, 0, i, &s[i], 1, false);
		}
		cr_assert_eq(vdev_drv_queue_rings(t.fx.drv, 0, &desc, &avail, &used), 0);
		/* No poll ran, so nothing was answered yet; after the reset nothing may be. */
		cr_assert_eq(vdev_drv_reset(t.fx.drv), 0);
		bt_pump(&t, 100);
		for (int i = 0; i < 32; i++)
			cr_assert_eq(*t.st[i], 0xEE, "status %d written after reset", i);
		cr_assert_eq(used_idx(&t, used), 0);
		bt_ready(&t, ~0ULL);
		assert_healthy(&t);
		bt_close(&t);
	}
}

Test(blk_hostile, H12_destroy_with_requests_in_flight)
{
	struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config), .io_workers = 1};
	struct bt t;

	open_mode(&t, 0, &cfg);
	for (int i = 0; i < 32; i++) {
		uint8_t *p;
		struct vdev_drv_seg s = {bt_alloc(&t, 65536, &p), 65536, true};

		bt_hdr(&t, i, VDEV_BLK_T_IN, (uint64_t)i * 8);
		bt_post(&t, 0, i, &s, 1, false);
	}
	/* Destroy stops the workers, waiting for what they hold; nothing leaks (ASan). */
	bt_close(&t);
}

/* ---------------- H29: the longest requests the driver is allowed ---------------- */

/*
 * A driver that reads seg_max sends requests of seg_max data segments plus header and
 * status (Linux does); with the default seg_max that is the whole queue for a small
 * queue and 128 descriptors for the default one. Written and read back, direct and as
 * an indirect table, in every mode; seg_max never promises more than the queue holds.
 */
static void long_request(const struct fx_mode *m, uint16_t qsize, bool indirect)
{
	struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config), .queue_size = qsize};
	struct bt_opts o = {m->mode, m->access, false, 0, DISK};
	struct vdev_drv_seg *segs;
	struct bt t;
	uint32_t seg_max;
	uint8_t *p;
	uint64_t gpa;

	bt_open(&t, &o, &cfg);
	bt_ready(&t, ~0ULL);
	seg_max = vdev_drv_read_config32(t.fx.drv, VDEV_BLK_CFG_SEG_MAX);
	cr_assert_leq(seg_max + 2, vdev_drv_queue_size(t.fx.drv, 0),
		      "%s: seg_max %u does not fit the queue", m->name, seg_max);
	segs = calloc(seg_max, sizeof(*segs));
	gpa = bt_alloc(&t, seg_max * 512, &p);
	for (uint32_t i = 0; i < seg_max; i++) {
		segs[i] = (struct vdev_drv_seg){gpa + 512ULL * i, 512, false};
		memset(p + 512 * i, (int)(i * 3 + 1), 512);
	}
	bt_hdr(&t, 0, VDEV_BLK_T_OUT, 8);
	bt_post(&t, 0, 0, segs, (int)seg_max, indirect);
	bt_wait(&t, 0, 1);
	cr_assert_eq(*t.st[0], VDEV_BLK_S_OK, "%s: write of %u segments", m->name, seg_max);
	memset(p, 0, seg_max * 512);
	for (uint32_t i = 0; i < seg_max; i++)
		segs[i].writable = true;
	bt_hdr(&t, 0, VDEV_BLK_T_IN, 8);
	bt_post(&t, 0, 0, segs, (int)seg_max, indirect);
	bt_wait(&t, 0, 1);
	cr_assert_eq(*t.st[0], VDEV_BLK_S_OK, "%s: read of %u segments", m->name, seg_max);
	for (uint32_t i = 0; i < seg_max; i++)
		cr_assert_eq(p[512 * i + 511], (uint8_t)(i * 3 + 1), "%s: segment %u", m->name, i);
	cr_assert_eq(vdev_drv_read_status(t.fx.drv) & VIRTIO_CR_STATUS_NEEDS_RESET, 0);
	free(segs);
	bt_close(&t);
}

Test(blk_hostile, H29_seg_max_request_is_served)
{
	for (int i = 0; i < FX_NMODES; i++) {
		long_request(&fx_modes[i], 0, false);
		long_request(&fx_modes[i], 64, false);
	}
}

Test(blk_hostile, H29_seg_max_indirect_request_is_served)
{
	for (int i = 0; i < FX_NMODES; i++) {
		long_request(&fx_modes[i], 0, true);
		long_request(&fx_modes[i], 64, true);
	}
}

Test(blk_hostile, H29_seg_max_above_the_queue_is_lowered)
{
	struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config), .queue_size = 64,
				      .seg_max = 500};
	struct bt_opts o = {VDEV_PCI_MODERN, VDEV_DRV_MODERN, false, 0, DISK};
	struct bt t;

	bt_open(&t, &o, &cfg);
	bt_ready(&t, ~0ULL);
	cr_assert_eq(vdev_drv_read_config32(t.fx.drv, VDEV_BLK_CFG_SEG_MAX), 62);
	bt_close(&t);
}
