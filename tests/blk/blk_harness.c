/* SPDX-License-Identifier: BSD-3-Clause */
#include "blk_harness.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dev_loop.h"

/* Every image this test process made, so a failed assertion (which skips bt_close)
 * still leaves nothing behind: the suites' .fini calls bt_cleanup_images(). */
static char made[32][256];
static int nmade;

void bt_cleanup_images(void)
{
	for (int i = 0; i < nmade; i++)
		unlink(made[i]);
	nmade = 0;
}

void bt_make_image(char *path, size_t n, uint64_t size)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(path, n, "%s/vdev-blk-XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	cr_assert(fd >= 0, "mkstemp %s: %s", path, strerror(errno));
	if (nmade < (int)(sizeof(made) / sizeof(made[0])))
		snprintf(made[nmade++], sizeof(made[0]), "%s", path);
	cr_assert(ftruncate(fd, (off_t)size) == 0, "ftruncate: %s", strerror(errno));
	close(fd);
}

void bt_open(struct bt *t, const struct bt_opts *o, struct vdev_blk_config *cfg)
{
	struct vdev_sim_config scfg = {.size = sizeof(struct vdev_sim_config),
				       .ram_size = 32 << 20, .frag = o->frag};
	struct vdev_drv_config dcfg = {.size = sizeof(struct vdev_drv_config),
				       .access = o->access, .use_msix = o->msix};
	int rc;

	memset(t, 0, sizeof(*t));
	t->nq = cfg->num_queues ? cfg->num_queues : 1;
	t->msix = o->msix;
	cfg->pci.mode = o->mode;
	cfg->pci.msix = o->msix;
	if (o->image_size) {
		bt_make_image(t->path, sizeof(t->path), o->image_size);
		cfg->path = t->path;
	}
	cr_assert_eq(vdev_sim_create(&scfg, &t->sim), 0);
	rc = vdev_blk_create(vdev_sim_vmctx(t->sim), "blk0", cfg, &t->dev);
	cr_assert_eq(rc, 0, "vdev_blk_create: %d (%s)", rc, vdev_sim_last_log(t->sim));
	rc = vdev_drv_open(t->sim, vdev_dev_pci(t->dev), &dcfg, &t->drv);
	cr_assert_eq(rc, 0, "vdev_drv_open: %d", rc);
	for (int s = 0; s < BT_SLOTS; s++) {
		t->hdr_gpa[s] = bt_alloc(t, VDEV_BLK_HDR_SIZE, &t->hdr[s]);
		t->st_gpa[s] = bt_alloc(t, 1, &t->st[s]);
	}
}

void bt_ready(struct bt *t, uint64_t wanted)
{
	cr_assert_eq(vdev_drv_negotiate(t->drv, wanted, &t->features), 0);
	for (int q = 0; q < t->nq; q++) {
		uint16_t vec = t->msix ? (uint16_t)(q + 1) : VIRTIO_MSI_NO_VECTOR;

		cr_assert_eq(vdev_drv_queue_setup(t->drv, (uint16_t)q, 0, vec), 0);
	}
	cr_assert_eq(vdev_drv_driver_ok(t->drv), 0);
}

void bt_close(struct bt *t)
{
	if (t->drv)
		vdev_drv_close(t->drv);
	if (t->dev)
		vdev_dev_destroy(t->dev);
	if (t->sim)
		vdev_sim_destroy(t->sim);
	if (t->path[0])
		unlink(t->path);
	memset(t, 0, sizeof(*t));
}

uint64_t bt_alloc(struct bt *t, uint32_t len, uint8_t **p)
{
	uint64_t gpa = vdev_sim_alloc(t->sim, len ? len : 1, 64);

	cr_assert_neq(gpa, 0, "sim RAM exhausted");
	if (p)
		*p = vdev_sim_ptr(t->sim, gpa, len ? len : 1);
	return gpa;
}

void bt_hdr(struct bt *t, int s, uint32_t type, uint64_t sector)
{
	uint8_t *h = t->hdr[s];
	uint32_t zero = 0;

	type = htole32(type);
	sector = htole64(sector);
	memcpy(h, &type, 4);
	memcpy(h + 4, &zero, 4);
	memcpy(h + 8, &sector, 8);
}

void bt_post_raw(struct bt *t, int q, int s, const struct vdev_drv_seg *segs, int n,
		 bool indirect)
{
	t->done[s] = false;
	t->len[s] = 0xFFFFFFFF;
	cr_assert_eq(vdev_drv_enqueue(t->drv, (uint16_t)q, segs, n, indirect, &t->done[s]), 0);
	vdev_drv_kick(t->drv, (uint16_t)q);
}

void bt_post(struct bt *t, int q, int s, const struct vdev_drv_seg *data, int ndata,
	     bool indirect)
{
	struct vdev_drv_seg segs[1100];

	cr_assert(ndata + 2 <= (int)(sizeof(segs) / sizeof(segs[0])));
	segs[0] = (struct vdev_drv_seg){t->hdr_gpa[s], VDEV_BLK_HDR_SIZE, false};
	for (int i = 0; i < ndata; i++)
		segs[i + 1] = data[i];
	segs[ndata + 1] = (struct vdev_drv_seg){t->st_gpa[s], 1, true};
	*t->st[s] = 0xEE;
	bt_post_raw(t, q, s, segs, ndata + 2, indirect);
}

static bool collect(void *arg)
{
	struct bt *t = arg;
	void *token;
	uint32_t len;

	while (vdev_drv_dequeue(t->drv, (uint16_t)t->want_q, &token, &len) == 1) {
		bool *done = token;
		int s = (int)(done - t->done);

		cr_assert(s >= 0 && s < BT_SLOTS, "unknown token");
		cr_assert(!t->done[s], "slot %d completed twice", s);
		t->done[s] = true;
		t->len[s] = len;
		t->got_n++;
	}
	return t->got_n >= t->want_n;
}

void bt_wait(struct bt *t, int q, int n)
{
	int rc;

	t->want_q = q;
	t->want_n = n;
	t->got_n = 0;
	rc = dev_loop_until(&t->dev, 1, collect, t, 5000);
	cr_assert_eq(rc, 0, "only %d of %d completions on queue %d", t->got_n, n, q);
}

int bt_do(struct bt *t, int q, uint32_t type, uint64_t sector, const struct vdev_drv_seg *data,
	  int ndata, uint32_t *used)
{
	bt_hdr(t, 0, type, sector);
	bt_post(t, q, 0, data, ndata, false);
	bt_wait(t, q, 1);
	if (used)
		*used = t->len[0];
	return *t->st[0];
}

void bt_pump(struct bt *t, int ms)
{
	for (int i = 0; i < ms / 5 + 1; i++)
		dev_loop_once(&t->dev, 1, 5);
}

uint64_t bt_hash(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

uint64_t bt_file_hash(const char *path)
{
	static uint8_t buf[1 << 16];
	uint64_t h = 0xcbf29ce484222325ULL;
	int fd = open(path, O_RDONLY);
	ssize_t n;

	cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			h = (h ^ buf[i]) * 0x100000001b3ULL;
	close(fd);
	return h;
}

uint64_t bt_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

void bt_random(uint64_t *state, void *p, size_t n)
{
	uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(bt_rand(state) >> 24);
}

/* ---- the holding backend ---- */

static int held_info(void *opaque, struct vdev_blk_backend_info *out)
{
	struct held_be *h = opaque;

	*out = (struct vdev_blk_backend_info){.size = h->size, .discard = true,
					      .write_zeroes = true};
	return 0;
}

static int held_queue_open(void *opaque, int q, void **qctx)
{
	(void)q;
	*qctx = opaque;
	return 0;
}

static int held_submit(void *qctx, struct vdev_blk_io *io)
{
	struct held_be *h = qctx;

	pthread_mutex_lock(&h->lock);
	h->submits++;
	if (h->n == (int)(sizeof(h->ios) / sizeof(h->ios[0]))) {
		pthread_mutex_unlock(&h->lock);
		return -EBUSY;
	}
	h->ios[h->n++] = io;
	pthread_mutex_unlock(&h->lock);
	return 0;
}

/* This backend never touches an io's buffers, so there is nothing to wait for. */
static void held_quiesce(void *qctx)
{
	struct held_be *h = qctx;

	pthread_mutex_lock(&h->lock);
	h->quiesces++;
	pthread_mutex_unlock(&h->lock);
}

static void held_queue_close(void *qctx)
{
	struct held_be *h = qctx;

	held_release(h, -ECANCELED);
	pthread_mutex_lock(&h->lock);
	h->closes++;
	pthread_mutex_unlock(&h->lock);
}

void held_init(struct held_be *h, uint64_t size)
{
	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	h->size = size;
	h->be = (struct vdev_blk_backend){
		.version = VDEV_BLK_BACKEND_VERSION,
		.opaque = h,
		.info = held_info,
		.queue_open = held_queue_open,
		.submit = held_submit,
		.quiesce = held_quiesce,
		.queue_close = held_queue_close,
	};
}

int held_release(struct held_be *h, int result)
{
	struct vdev_blk_io *ios[1024];
	int n;

	pthread_mutex_lock(&h->lock);
	n = h->n;
	memcpy(ios, h->ios, sizeof(ios[0]) * (size_t)n);
	h->n = 0;
	pthread_mutex_unlock(&h->lock);
	for (int i = 0; i < n; i++)
		vdev_blk_io_complete(ios[i], result);
	return n;
}

int held_count(struct held_be *h)
{
	int n;

	pthread_mutex_lock(&h->lock);
	n = h->n;
	pthread_mutex_unlock(&h->lock);
	return n;
}
