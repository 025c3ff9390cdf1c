/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-blk on the test fixture: a temp image, helpers that build requests and pump
 * completions, and a backend that holds requests. */
#ifndef VDEV_TESTS_BLK_HARNESS_H
#define VDEV_TESTS_BLK_HARNESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "fixture.h"
#include "vdev/blk.h"

#define BT_SLOTS 64

struct bt {
	struct fx fx;          /* sim, device, driver; fx.features as negotiated */
	char path[256];        /* temp image ("" when none) */
	int nq;
	/* per-slot header and status buffers in guest RAM */
	uint64_t hdr_gpa[BT_SLOTS];
	uint8_t *hdr[BT_SLOTS];
	uint64_t st_gpa[BT_SLOTS];
	uint8_t *st[BT_SLOTS];
	bool done[BT_SLOTS];
	uint32_t len[BT_SLOTS];
	int want_q, want_n, got_n;
};

struct bt_opts {
	enum vdev_pci_mode mode;
	enum vdev_drv_access access;
	bool msix;
	uint64_t frag;          /* sim fragmentation (0: none) */
	uint64_t image_size;    /* bytes of the temp image (0: no image is made) */
};

/* Make a zero-filled temp image of `size` bytes under $TMPDIR or /tmp. */
void bt_make_image(char *path, size_t n, uint64_t size);
/* Remove every image made so far (the suites' .fini, for tests that failed early). */
void bt_cleanup_images(void);

/* Build sim + device + driver; cfg->pci.mode and (when an image was made) cfg->path are
 * filled in. Fails the test on error. */
void bt_open(struct bt *t, const struct bt_opts *o, struct vdev_blk_config *cfg);
/* Negotiate `wanted`, set up every queue, DRIVER_OK. */
void bt_ready(struct bt *t, uint64_t wanted);
/* Tear down and remove the image. */
void bt_close(struct bt *t);

uint64_t bt_alloc(struct bt *t, uint32_t len, uint8_t **p);

/* Fill slot s's header. */
void bt_hdr(struct bt *t, int s, uint32_t type, uint64_t sector);

/*
 * Enqueue a standard request in slot s on queue q: header (readable, 16 bytes), the
 * given data segments, status (writable, 1 byte, preset to 0xEE), and kick.
 */
void bt_post(struct bt *t, int q, int s, const struct vdev_drv_seg *data, int ndata,
	     bool indirect);
/* Enqueue arbitrary segments with token slot s (its status byte is not used). */
void bt_post_raw(struct bt *t, int q, int s, const struct vdev_drv_seg *segs, int n,
		 bool indirect);
/* Pump the device until n completions arrived on queue q (fails the test after 5 s). */
void bt_wait(struct bt *t, int q, int n);
/* One request, synchronously: returns the status byte; *used gets the used length. */
int bt_do(struct bt *t, int q, uint32_t type, uint64_t sector, const struct vdev_drv_seg *data,
	  int ndata, uint32_t *used);
/* Pump the loop for about ms milliseconds. */
void bt_pump(struct bt *t, int ms);

/* FNV-1a of a whole file, and of a buffer. */
uint64_t bt_file_hash(const char *path);
uint64_t bt_hash(const void *p, size_t n);
/* Deterministic pseudo-random bytes. */
void bt_random(uint64_t *state, void *p, size_t n);
uint64_t bt_rand(uint64_t *state);

/* A backend that holds every io until the test releases it (H12 and back-pressure). */
struct held_be {
	pthread_mutex_t lock;
	struct vdev_blk_io *ios[1024];
	int n;
	int submits, quiesces, closes;
	uint64_t size;
	struct vdev_blk_backend be;
};
void held_init(struct held_be *h, uint64_t size);
/* Complete every held io with `result`; returns how many. */
int held_release(struct held_be *h, int result);
int held_count(struct held_be *h);

#endif
