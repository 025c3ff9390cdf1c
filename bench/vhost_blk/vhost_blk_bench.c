/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-blk over vhost-user, measured from the guest side: the driver peer's
 * vhost-user front end (vdev/vu_front.h) keeps QD requests in flight against any
 * vhost-user-blk back end (vdev-host, qemu-storage-daemon) and reports IOPS and MB/s.
 *
 *   vhost_blk_bench --socket PATH --mode randread|randwrite|seqread|seqwrite
 *                   [--bs BYTES] [--qd N] [--seconds S] [--warmup S] [--seed N]
 *                   [--qsize N] [--poll] [--indirect] [--no-verify]
 *
 * Every completion is checked: the status byte must turn from 0xff into OK, and each
 * 4 KiB block a read returns must carry its own byte offset in its first 8 bytes (the
 * pattern the runner fills the image with, and the one writes store), so a back end
 * that answers without doing the I/O fails the run instead of looking fast.
 * Completions are awaited on the ring's call eventfd (interrupt style), or with
 * --poll by spinning on the used ring.
 *
 * Output (stdout): "result: iops N mbps M requests R seconds S".
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vdev/blk.h"
#include "vdev/driver.h"
#include "vdev/virtio.h"
#include "vdev/vu_front.h"

#define TAG_BLOCK 4096u
#define MAX_QD 256

enum mode { RANDREAD, RANDWRITE, SEQREAD, SEQWRITE };

struct opts {
	const char *socket;
	enum mode mode;
	uint32_t bs;
	int qd;
	double seconds, warmup;
	uint64_t seed;
	uint16_t qsize;
	bool poll, indirect, verify;
};

/* One request slot: header, data and status live in guest RAM for the whole run. */
struct slot {
	uint64_t hdr_gpa, data_gpa, status_gpa;
	uint8_t *hdr, *data, *status;
	uint64_t offset;
};

struct run {
	struct opts o;
	struct vdev_drv *drv;
	uint64_t disk_bytes;
	uint64_t blocks;   /* of bs bytes */
	uint64_t next_seq; /* next sequential block */
	uint64_t rng;
	struct slot slots[MAX_QD];
	uint64_t done, bytes;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "vhost_blk_bench: %s: %s\n", what, rc ? strerror(rc < 0 ? -rc : rc) : "failed");
	exit(1);
}

/* xorshift64*: a fixed seed gives the same offsets to both back ends. */
static uint64_t next_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static bool is_read(enum mode m)
{
	return m == RANDREAD || m == SEQREAD;
}

static uint64_t pick_offset(struct run *r)
{
	uint64_t blk;

	if (r->o.mode == RANDREAD || r->o.mode == RANDWRITE) {
		blk = next_rand(&r->rng) % r->blocks;
	} else {
		blk = r->next_seq;
		r->next_seq = (r->next_seq + 1) % r->blocks;
	}
	return blk * r->o.bs;
}

static void st_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t ld_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void submit(struct run *r, struct slot *s)
{
	bool rd = is_read(r->o.mode);
	struct vdev_drv_seg segs[3] = {
		{.gpa = s->hdr_gpa, .len = VDEV_BLK_HDR_SIZE, .writable = false},
		{.gpa = s->data_gpa, .len = r->o.bs, .writable = rd},
		{.gpa = s->status_gpa, .len = 1, .writable = true},
	};
	int rc;

	s->offset = pick_offset(r);
	st_le64(s->hdr, 0);
	s->hdr[0] = rd ? VDEV_BLK_T_IN : VDEV_BLK_T_OUT;
	st_le64(s->hdr + 8, s->offset / VDEV_BLK_SECTOR_SIZE);
	*s->status = 0xff;
	if (rd) {
		if (r->o.verify) /* stale tags must not pass for fresh ones */
			for (uint32_t b = 0; b < r->o.bs; b += TAG_BLOCK)
				st_le64(s->data + b, ~0ULL);
	} else {
		for (uint32_t b = 0; b < r->o.bs; b += TAG_BLOCK)
			st_le64(s->data + b, s->offset + b);
	}
	rc = vdev_drv_enqueue(r->drv, 0, segs, 3, r->o.indirect, s);
	if (rc < 0)
		die("enqueue", rc);
}

static void check(struct run *r, const struct slot *s)
{
	if (*s->status != VDEV_BLK_S_OK) {
		fprintf(stderr, "vhost_blk_bench: request at %" PRIu64 " got status %u\n",
			s->offset, *s->status);
		exit(1);
	}
	if (!is_read(r->o.mode) || !r->o.verify)
		return;
	for (uint32_t b = 0; b < r->o.bs; b += TAG_BLOCK) {
		uint64_t tag = ld_le64(s->data + b);

		if (tag != s->offset + b) {
			fprintf(stderr,
				"vhost_blk_bench: read at %" PRIu64 ": block +%u holds tag %#" PRIx64
				", not its offset (image not filled with the pattern?)\n",
				s->offset, b, tag);
			exit(1);
		}
	}
}

/* Take every completion there is, check it and put its slot back in flight. */
static int reap(struct run *r, bool refill)
{
	void *tok;
	uint32_t len;
	int n = 0;

	while (vdev_drv_dequeue(r->drv, 0, &tok, &len) == 1) {
		struct slot *s = tok;

		check(r, s);
		r->done++;
		r->bytes += r->o.bs;
		n++;
		if (refill)
			submit(r, s);
	}
	return n;
}

static void wait_completion(struct vdev_vu_front *f, struct run *r)
{
	int rc;

	if (r->o.poll)
		return;
	/* Ask for the interrupt, then look once more: a completion that raced the
	 * request is seen here rather than slept through. */
	vdev_drv_enable_irq(r->drv, 0);
	if (reap(r, true) > 0) {
		vdev_drv_notify(r->drv, 0);
		return;
	}
	rc = vdev_vu_front_wait(f, 0, 5000);
	if (rc == 0)
		die("no completion within 5 s", ETIMEDOUT);
	if (rc < 0)
		die("waiting for a completion", rc);
}

/* Run until `until`; the counters measure from the call on. */
static void drive(struct vdev_vu_front *f, struct run *r, double until)
{
	unsigned iter = 0;

	for (;;) {
		int n = reap(r, true);

		if (n > 0)
			vdev_drv_notify(r->drv, 0);
		else
			wait_completion(f, r);
		if ((++iter & 15) == 0 && now_s() >= until)
			break;
	}
}

static void setup_slots(struct run *r, struct vdev_sim *sim)
{
	for (int i = 0; i < r->o.qd; i++) {
		struct slot *s = &r->slots[i];

		s->hdr_gpa = vdev_sim_alloc(sim, VDEV_BLK_HDR_SIZE, 16);
		s->status_gpa = vdev_sim_alloc(sim, 1, 1);
		s->data_gpa = vdev_sim_alloc(sim, r->o.bs, 4096);
		if (!s->hdr_gpa || !s->status_gpa || !s->data_gpa)
			die("guest RAM for the requests", ENOMEM);
		s->hdr = vdev_sim_ptr(sim, s->hdr_gpa, VDEV_BLK_HDR_SIZE);
		s->status = vdev_sim_ptr(sim, s->status_gpa, 1);
		s->data = vdev_sim_ptr(sim, s->data_gpa, r->o.bs);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: vhost_blk_bench --socket PATH --mode randread|randwrite|seqread|"
			"seqwrite [--bs N] [--qd N] [--seconds S] [--warmup S] [--seed N] "
			"[--qsize N] [--poll] [--indirect] [--no-verify]\n");
	exit(2);
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"socket", required_argument, NULL, 's'}, {"mode", required_argument, NULL, 'm'},
		{"bs", required_argument, NULL, 'b'},     {"qd", required_argument, NULL, 'q'},
		{"seconds", required_argument, NULL, 't'}, {"warmup", required_argument, NULL, 'w'},
		{"seed", required_argument, NULL, 'r'},   {"qsize", required_argument, NULL, 'z'},
		{"poll", no_argument, NULL, 'p'},         {"indirect", no_argument, NULL, 'i'},
		{"no-verify", no_argument, NULL, 'n'},    {NULL, 0, NULL, 0},
	};
	static const char *const modes[] = {"randread", "randwrite", "seqread", "seqwrite"};
	int c;

	*o = (struct opts){.bs = 4096, .qd = 1, .seconds = 2, .warmup = 0.3, .seed = 42,
			   .qsize = 256, .verify = true, .mode = -1};
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': o->socket = optarg; break;
		case 'm':
			for (int i = 0; i < 4; i++)
				if (strcmp(optarg, modes[i]) == 0)
					o->mode = (enum mode)i;
			break;
		case 'b': o->bs = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'q': o->qd = atoi(optarg); break;
		case 't': o->seconds = atof(optarg); break;
		case 'w': o->warmup = atof(optarg); break;
		case 'r': o->seed = strtoull(optarg, NULL, 0); break;
		case 'z': o->qsize = (uint16_t)atoi(optarg); break;
		case 'p': o->poll = true; break;
		case 'i': o->indirect = true; break;
		case 'n': o->verify = false; break;
		default: usage();
		}
	}
	if (o->socket == NULL || (int)o->mode < 0 || o->qd < 1 || o->qd > MAX_QD ||
	    o->bs < TAG_BLOCK || o->bs % TAG_BLOCK != 0 || o->bs > (4u << 20) || o->seconds <= 0)
		usage();
	if (!o->indirect && o->qd * 3 > o->qsize)
		usage(); /* three descriptors per request must fit the ring */
}

int main(int argc, char **argv)
{
	static struct run r;
	struct vdev_sim *sim;
	struct vdev_vu_front *f;
	uint64_t ram, cap = 0, feat = 0;
	double t0, t1;
	int rc;

	parse(argc, argv, &r.o);
	r.rng = r.o.seed ? r.o.seed : 1;
	ram = (uint64_t)r.o.qd * (r.o.bs + 4096) + (8u << 20);
	rc = vdev_sim_create(&(struct vdev_sim_config){.size = sizeof(struct vdev_sim_config),
						       .ram_size = ram, .shared = true}, &sim);
	if (rc < 0)
		die("guest RAM", rc);
	rc = vdev_vu_front_connect(&(struct vdev_vu_front_config){.size = sizeof(struct vdev_vu_front_config),
								  .path = r.o.socket, .sim = sim},
				   &f);
	if (rc < 0)
		die("connecting to the back end", rc);
	rc = vdev_vu_front_get_config(f, VDEV_BLK_CFG_CAPACITY, &cap, sizeof(cap));
	if (rc < 0)
		die("reading the capacity (GET_CONFIG)", rc);
	r.disk_bytes = cap * VDEV_BLK_SECTOR_SIZE;
	r.blocks = r.disk_bytes / r.o.bs;
	if (r.blocks == 0)
		die("disk smaller than one block", EINVAL);
	rc = vdev_vu_front_start(f,
				 VIRTIO_RING_F_EVENT_IDX | VIRTIO_RING_F_INDIRECT_DESC |
					 VDEV_BLK_F_FLUSH | VDEV_BLK_F_BLK_SIZE | VDEV_BLK_F_SEG_MAX,
				 1, r.o.qsize, &feat);
	if (rc < 0)
		die("starting the ring", rc);
	if (r.o.indirect && !(feat & VIRTIO_RING_F_INDIRECT_DESC))
		die("--indirect: the back end does not offer INDIRECT_DESC", EOPNOTSUPP);
	r.drv = vdev_vu_front_drv(f);
	setup_slots(&r, sim);
	if (r.o.poll)
		vdev_drv_disable_irq(r.drv, 0);
	for (int i = 0; i < r.o.qd; i++)
		submit(&r, &r.slots[i]);
	vdev_drv_kick(r.drv, 0);
	t0 = now_s();
	drive(f, &r, t0 + r.o.warmup);
	r.done = r.bytes = 0;
	t0 = now_s();
	drive(f, &r, t0 + r.o.seconds);
	t1 = now_s();
	{
		uint64_t measured = r.done, bytes = r.bytes;

		/* Let what is in flight finish, so the back end is left idle. */
		while (vdev_drv_queue_free(r.drv, 0) != vdev_drv_queue_size(r.drv, 0)) {
			if (reap(&r, false) == 0 && !r.o.poll &&
			    vdev_vu_front_wait(f, 0, 5000) <= 0)
				die("draining", ETIMEDOUT);
		}
		printf("result: iops %.0f mbps %.1f requests %" PRIu64 " seconds %.3f\n",
		       (double)measured / (t1 - t0), (double)bytes / (t1 - t0) / 1e6, measured,
		       t1 - t0);
	}
	vdev_vu_front_close(f);
	vdev_sim_destroy(sim);
	return 0;
}
