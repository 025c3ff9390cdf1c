/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The replay engine (src/trace/replay.h) on recorded driver-peer sessions of each
 * device type, which must replay identically, directly and through the PCI cfg-access
 * capability; and on recorded traces edited to diverge.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "replay/replay.h"
#include "trace/trace_format.h"
#include "vdev/driver.h"
#include "vdev/vdev.h"
#include "vdev/trace.h"
#include "trace_builder.h"

/* ---------------- recorded sessions ---------------- */

#define RAM_SIZE (16u << 20)

struct session {
	struct vdev_sim *sim;
	struct vdev_dev *dev;
	struct vdev_drv *drv;
	struct vdev_trace *trace;
	int fd;
	int efd; /* for backends that need a descriptor */
	bool msix;
	/* The device at the end of the recording. */
	uint8_t status;
	uint64_t features;
	struct vdev_dev_stats stats;
	/* The trace. */
	uint8_t *buf;
	size_t len;
};

static struct vdev_virtio_pci_config pci_of(enum vdev_pci_mode mode)
{
	/* Modern functions with MSI-X, legacy ones with INTx: both interrupt paths. */
	struct vdev_virtio_pci_config pci = {.mode = mode, .msix = mode != VDEV_PCI_LEGACY};

	return pci;
}

static void session_begin(struct session *s, enum vdev_pci_mode mode)
{
	struct vdev_sim_config sc = {.size = sizeof(struct vdev_sim_config), .ram_size = RAM_SIZE};

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	cr_assert_geq(s->efd, 0);
	s->msix = mode != VDEV_PCI_LEGACY;
	cr_assert_eq(vdev_sim_create(&sc, &s->sim), 0);
}

/* Attach the recorder to the device just made, and the driver peer. */
static void session_attach(struct session *s, enum vdev_pci_mode mode)
{
	struct vdev_trace_config tc = {.size = sizeof(struct vdev_trace_config), .fd = -1};
	struct vdev_drv_config dc = {
		.size = sizeof(struct vdev_drv_config),
		.access = mode == VDEV_PCI_LEGACY ? VDEV_DRV_LEGACY : VDEV_DRV_MODERN,
		.use_msix = s->msix,
	};

	s->fd = memfd_create("trace", MFD_CLOEXEC);
	cr_assert_geq(s->fd, 0);
	tc.fd = s->fd;
	cr_assert_eq(vdev_trace_start(s->dev, &tc, &s->trace), 0);
	cr_assert_eq(vdev_trace_add_ram(s->trace, 0, RAM_SIZE), 0);
	cr_assert_eq(vdev_drv_open(s->sim, vdev_dev_pci(s->dev), &dc, &s->drv), 0);
}

static void session_ready(struct session *s, uint16_t nq)
{
	cr_assert_eq(vdev_drv_negotiate(s->drv, ~0ull, NULL), 0);
	for (uint16_t q = 0; q < nq; q++)
		cr_assert_eq(vdev_drv_queue_setup(s->drv, q, 0, s->msix ? q : VIRTIO_MSI_NO_VECTOR),
			     0, "queue %u", q);
	cr_assert_eq(vdev_drv_driver_ok(s->drv), 0);
}

/* Enqueue segments and kick, then let the device run until the request is back. */
static uint32_t session_request(struct session *s, uint16_t q, const struct vdev_drv_seg *segs,
				int n)
{
	void *token;
	uint32_t len = 0;

	cr_assert_eq(vdev_drv_enqueue(s->drv, q, segs, n, false, (void *)1), 0);
	vdev_drv_kick(s->drv, q);
	for (int i = 0; i < 100; i++) {
		if (vdev_drv_dequeue(s->drv, q, &token, &len) == 1)
			return len;
		cr_assert_eq(vdev_dev_poll(s->dev), 0);
	}
	cr_assert_fail("queue %u: request never completed", q);
	return 0;
}

static uint64_t session_buf(struct session *s, uint32_t len, const void *fill)
{
	uint64_t gpa = vdev_sim_alloc(s->sim, len, 16);

	cr_assert_neq(gpa, 0);
	if (fill != NULL)
		memcpy(vdev_sim_ptr(s->sim, gpa, len), fill, len);
	return gpa;
}

/* Stop recording, keep the device's end state and the trace, tear everything down. */
static void session_end(struct session *s)
{
	struct virtio_base *base = vdev_dev_virtio(s->dev);
	off_t size;

	s->status = base->status;
	s->features = base->negotiated_caps;
	vdev_dev_get_stats(s->dev, &s->stats);
	cr_assert_eq(vdev_trace_stop(s->trace), 0);
	vdev_drv_close(s->drv);
	vdev_dev_destroy(s->dev);
	vdev_sim_destroy(s->sim);
	close(s->efd);
	size = lseek(s->fd, 0, SEEK_END);
	cr_assert_gt(size, VDEV_TRACE_HEADER_LEN);
	s->len = (size_t)size;
	s->buf = malloc(s->len);
	cr_assert_not_null(s->buf);
	cr_assert_eq(pread(s->fd, s->buf, s->len, 0), (ssize_t)s->len);
	close(s->fd);
}

/* The recorded trace replays identically, directly and (modern functions) through the
 * cfg-access window, and ends where the device ended. */
static void check_session(struct session *s, const char *what, enum vdev_pci_mode mode)
{
	for (int via = 0; via < (mode == VDEV_PCI_LEGACY ? 1 : 2); via++) {
		struct vdev_replay_result res = run(s->buf, s->len, true, false, via);

		cr_assert_eq(res.error, 0, "%s%s: %s", what, via ? " via cfg-access" : "",
			     res.message);
		cr_assert(!res.diverged, "%s%s: %s", what, via ? " via cfg-access" : "",
			  res.message);
		cr_assert_eq(res.status, s->status, "%s: status", what);
		cr_assert_eq(res.negotiated_features, s->features, "%s: features", what);
		cr_assert_eq(res.stats.requests, s->stats.requests, "%s: requests", what);
		cr_assert_eq(res.stats.bytes_in, s->stats.bytes_in, "%s: bytes in", what);
		cr_assert_eq(res.stats.bytes_out, s->stats.bytes_out, "%s: bytes out", what);
		cr_assert_eq(res.stats.errors, s->stats.errors, "%s: errors", what);
		cr_assert_gt(res.interrupts, 0, "%s: interrupts replayed", what);
	}
}

/* ---- rng ---- */

static ssize_t test_rng_read(void *opaque, void *buf, size_t len)
{
	(void)opaque;
	memset(buf, 0x5a, len);
	return (ssize_t)len;
}

static void record_rng(struct session *s, enum vdev_pci_mode mode)
{
	struct vdev_rng_backend be = {.version = VDEV_RNG_BACKEND_VERSION, .read = test_rng_read};
	struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config),
				      .pci = pci_of(mode), .backend = &be,
				      .max_request_bytes = 48};
	struct vdev_drv_seg seg;

	session_begin(s, mode);
	cr_assert_eq(vdev_rng_create(vdev_sim_vmctx(s->sim), "rng0", &cfg, &s->dev), 0);
	session_attach(s, mode);
	session_ready(s, 1);
	for (int i = 0; i < 3; i++) {
		seg = (struct vdev_drv_seg){session_buf(s, 64, NULL), 64, true};
		cr_assert_eq(session_request(s, 0, &seg, 1), 48, "capped at max_request_bytes");
	}
	session_end(s);
}

/* ---- blk ---- */

static int tblk_info(void *opaque, struct vdev_blk_backend_info *out)
{
	(void)opaque;
	*out = (struct vdev_blk_backend_info){.size = 1 << 20, .discard = true,
					      .write_zeroes = true};
	return 0;
}

static int tblk_queue_open(void *opaque, int q, void **qctx)
{
	(void)q;
	*qctx = opaque;
	return 0;
}

static int tblk_submit(void *qctx, struct vdev_blk_io *io)
{
	(void)qctx;
	for (int i = 0; io->op == VDEV_BLK_OP_READ && i < io->iovcnt; i++)
		memset(io->iov[i].iov_base, 0x33, io->iov[i].iov_len);
	/* Finishes at once; the device answers the guest in its next poll. */
	vdev_blk_io_complete(io, 0);
	return 0;
}

static void tblk_nop(void *qctx)
{
	(void)qctx;
}

static void record_blk(struct session *s, enum vdev_pci_mode mode)
{
	struct vdev_blk_backend be = {
		.version = VDEV_BLK_BACKEND_VERSION, .info = tblk_info,
		.queue_open = tblk_queue_open, .submit = tblk_submit, .quiesce = tblk_nop,
		.queue_close = tblk_nop,
	};
	struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config),
				      .pci = pci_of(mode), .backend = &be, .serial = "trace-1",
				      .queue_size = 64};
	static const uint32_t ops[] = {VDEV_BLK_T_IN, VDEV_BLK_T_OUT, VDEV_BLK_T_FLUSH,
				       VDEV_BLK_T_GET_ID};

	session_begin(s, mode);
	cr_assert_eq(vdev_blk_create(vdev_sim_vmctx(s->sim), "blk0", &cfg, &s->dev), 0);
	session_attach(s, mode);
	session_ready(s, 1);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		uint8_t hdr[16] = {0};
		uint8_t status = 0xee;
		struct vdev_drv_seg segs[3];
		int n = 0;

		hdr[0] = (uint8_t)ops[i];
		hdr[8] = (uint8_t)i; /* sector */
		segs[n++] = (struct vdev_drv_seg){session_buf(s, 16, hdr), 16, false};
		if (ops[i] != VDEV_BLK_T_FLUSH)
			segs[n++] = (struct vdev_drv_seg){session_buf(s, 512, NULL), 512,
							  ops[i] != VDEV_BLK_T_OUT};
		segs[n++] = (struct vdev_drv_seg){session_buf(s, 1, &status), 1, true};
		session_request(s, 0, segs, n);
		cr_assert_eq(*(uint8_t *)vdev_sim_ptr(s->sim, segs[n - 1].gpa, 1),
			     VDEV_BLK_S_OK, "request %zu", i);
	}
	session_end(s);
}

/* A backend that holds requests until the test lets them finish (an I/O thread's
 * latency), so a reset can come between. */
static struct vdev_blk_io *held_ios[8];
static int nheld;

static int tblk_hold(void *qctx, struct vdev_blk_io *io)
{
	(void)qctx;
	cr_assert_lt(nheld, 8);
	held_ios[nheld++] = io;
	return 0;
}

static void tblk_release_all(int result)
{
	for (int i = 0; i < nheld; i++)
		vdev_blk_io_complete(held_ios[i], result);
	nheld = 0;
}

static void tblk_close(void *qctx)
{
	(void)qctx;
	tblk_release_all(-ECANCELED);
}

/* Post one read without waiting for it. */
static uint64_t blk_post_read(struct session *s, uint64_t sector)
{
	uint8_t hdr[16] = {0};
	uint8_t status = 0xee;
	struct vdev_drv_seg segs[3];

	hdr[8] = (uint8_t)sector;
	segs[0] = (struct vdev_drv_seg){session_buf(s, 16, hdr), 16, false};
	segs[1] = (struct vdev_drv_seg){session_buf(s, 512, NULL), 512, true};
	segs[2] = (struct vdev_drv_seg){session_buf(s, 1, &status), 1, true};
	cr_assert_eq(vdev_drv_enqueue(s->drv, 0, segs, 3, false, (void *)1), 0);
	vdev_drv_kick(s->drv, 0);
	return segs[2].gpa;
}

Test(trace_replay, blk_reset_with_requests_in_flight_replays_identically)
{
	struct vdev_blk_backend be = {
		.version = VDEV_BLK_BACKEND_VERSION, .info = tblk_info,
		.queue_open = tblk_queue_open, .submit = tblk_hold, .quiesce = tblk_nop,
		.queue_close = tblk_close,
	};
	static const int modes2[] = {VDEV_PCI_LEGACY, VDEV_PCI_MODERN};

	for (int mi = 0; mi < 2; mi++) {
		enum vdev_pci_mode mode = (enum vdev_pci_mode)modes2[mi];
		struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config),
					      .pci = pci_of(mode), .backend = &be,
					      .queue_size = 8};
		struct session s;
		uint64_t st;
		void *token;
		uint32_t len;

		session_begin(&s, mode);
		nheld = 0;
		cr_assert_eq(vdev_blk_create(vdev_sim_vmctx(s.sim), "blk0", &cfg, &s.dev), 0);
		session_attach(&s, mode);
		session_ready(&s, 1);
		/* Two requests in flight, then the driver resets and starts again. */
		blk_post_read(&s, 1);
		blk_post_read(&s, 2);
		cr_assert_eq(nheld, 2);
		cr_assert_eq(vdev_drv_reset(s.drv), 0);
		session_ready(&s, 1);
		/* The old requests finish now, failed: dropped, not a byte written. */
		tblk_release_all(-EIO);
		cr_assert_eq(vdev_dev_poll(s.dev), 0);
		/* A new request takes a head the old epoch used. */
		st = blk_post_read(&s, 3);
		cr_assert_eq(nheld, 1);
		tblk_release_all(0);
		cr_assert_eq(vdev_dev_poll(s.dev), 0);
		cr_assert_eq(vdev_drv_dequeue(s.drv, 0, &token, &len), 1);
		cr_assert_eq(*(uint8_t *)vdev_sim_ptr(s.sim, st, 1), VDEV_BLK_S_OK);
		session_end(&s);
		check_session(&s, mode == VDEV_PCI_LEGACY ? "blk reset legacy" : "blk reset modern",
			      mode);
		free(s.buf);
	}
}

/* ---- net ---- */

static int tnet_fd(void *opaque, unsigned int q)
{
	(void)q;
	return ((struct session *)opaque)->efd;
}

static int tnet_frames; /* frames the backend still has to deliver */

static ssize_t tnet_recv(void *opaque, unsigned int q, struct vdev_net_hdr *hdr, void *buf,
			 size_t len)
{
	(void)opaque;
	(void)q;
	if (tnet_frames == 0 || len < 60)
		return -EAGAIN;
	tnet_frames--;
	memset(hdr, 0, sizeof(*hdr));
	memset(buf, 0xff, 6); /* broadcast */
	memset((uint8_t *)buf + 6, 0x02, 54);
	return 60;
}

static int tnet_send(void *opaque, unsigned int q, const struct vdev_net_hdr *hdr,
		     const struct iovec *iov, int iovcnt)
{
	(void)opaque;
	(void)q;
	(void)hdr;
	(void)iov;
	(void)iovcnt;
	return 0;
}

static void record_net(struct session *s, enum vdev_pci_mode mode)
{
	struct vdev_net_backend be = {
		.version = VDEV_NET_BACKEND_VERSION, .nqueues = 1, .filter = true,
		.fd = tnet_fd, .recv = tnet_recv, .send = tnet_send,
	};
	struct vdev_net_config cfg = {.size = sizeof(struct vdev_net_config),
				      .pci = pci_of(mode), .backend = &be, .queue_size = 64,
				      .mtu = 1500};
	uint8_t frame[12 + 60] = {0};
	struct vdev_drv_seg seg;

	session_begin(s, mode);
	be.opaque = s;
	tnet_frames = 0;
	cr_assert_eq(vdev_net_create(vdev_sim_vmctx(s->sim), "net0", &cfg, &s->dev), 0);
	session_attach(s, mode);
	session_ready(s, 3);
	/* Receive: a buffer first, then the host has a frame. */
	seg = (struct vdev_drv_seg){session_buf(s, 2048, NULL), 2048, true};
	cr_assert_eq(vdev_drv_enqueue(s->drv, 0, &seg, 1, false, (void *)1), 0);
	vdev_drv_kick(s->drv, 0);
	tnet_frames = 1;
	{
		void *token;
		uint32_t len = 0;
		int i;

		for (i = 0; i < 10 && vdev_drv_dequeue(s->drv, 0, &token, &len) != 1; i++)
			cr_assert_eq(vdev_dev_poll(s->dev), 0);
		cr_assert_lt(i, 10, "frame received");
		cr_assert_gt(len, 60);
	}
	/* Transmit one frame (header + 60 bytes). */
	memset(frame + 12, 0xff, 6);
	seg = (struct vdev_drv_seg){session_buf(s, sizeof(frame), frame), sizeof(frame), false};
	session_request(s, 1, &seg, 1);
	/* The host takes the link down and up again. */
	cr_assert_eq(vdev_net_set_link(s->dev, false), 0);
	cr_assert_eq(vdev_net_set_link(s->dev, true), 0);
	session_end(s);
}

/* ---- console ---- */

static int tcon_reads; /* chunks of input the host still has */

static ssize_t tcon_read(void *opaque, const struct iovec *iov, int iovcnt)
{
	(void)opaque;
	if (tcon_reads == 0 || iovcnt < 1 || iov[0].iov_len < 5)
		return -EAGAIN;
	tcon_reads--;
	memcpy(iov[0].iov_base, "hello", 5);
	return 5;
}

static ssize_t tcon_write(void *opaque, const struct iovec *iov, int iovcnt)
{
	ssize_t n = 0;

	(void)opaque;
	for (int i = 0; i < iovcnt; i++)
		n += (ssize_t)iov[i].iov_len;
	return n;
}

static void record_console(struct session *s, enum vdev_pci_mode mode)
{
	struct vdev_console_port_config port = {
		.size = sizeof(struct vdev_console_port_config),
		.backend = {.version = VDEV_CONSOLE_BACKEND_VERSION, .read = tcon_read,
			    .write = tcon_write},
	};
	struct vdev_console_config cfg = {.size = sizeof(struct vdev_console_config),
					  .pci = pci_of(mode), .nports = 1, .ports = &port,
					  .qsize = 32};
	struct vdev_drv_seg seg;

	session_begin(s, mode);
	tcon_reads = 1;
	cr_assert_eq(vdev_console_create(vdev_sim_vmctx(s->sim), "con0", &cfg, &s->dev), 0);
	session_attach(s, mode);
	session_ready(s, 2);
	seg = (struct vdev_drv_seg){session_buf(s, 64, NULL), 64, true};
	cr_assert_eq(session_request(s, 0, &seg, 1), 5, "host input received");
	seg = (struct vdev_drv_seg){session_buf(s, 3, "hi\n"), 3, false};
	session_request(s, 1, &seg, 1);
	/* The host's terminal changes size: a config change for the guest. */
	cr_assert_eq(vdev_console_resize(s->dev, 0, 100, 40), 0);
	cr_assert_eq(vdev_drv_read_config16(s->drv, 0), 100);
	session_end(s);
}

typedef void (*recorder_fn)(struct session *s, enum vdev_pci_mode mode);

static void record_and_replay(recorder_fn rec, const char *name)
{
	for (size_t mi = 0; mi < sizeof(tb_modes) / sizeof(tb_modes[0]); mi++) {
		struct session s;
		char what[64];

		snprintf(what, sizeof(what), "%s mode %d", name, tb_modes[mi]);
		rec(&s, (enum vdev_pci_mode)tb_modes[mi]);
		check_session(&s, what, (enum vdev_pci_mode)tb_modes[mi]);
		free(s.buf);
	}
}

Test(trace_replay, recorded_rng_session_replays_identically)
{
	record_and_replay(record_rng, "rng");
}

Test(trace_replay, recorded_blk_session_replays_identically)
{
	record_and_replay(record_blk, "blk");
}

Test(trace_replay, recorded_net_session_replays_identically)
{
	record_and_replay(record_net, "net");
}

Test(trace_replay, recorded_console_session_replays_identically)
{
	record_and_replay(record_console, "console");
}

/* ---------------- editing recorded traces ---------------- */

/* Copy a trace, changing or inserting records on the way. `edit` sees each record and
 * its index; it returns how many records it wrote into out[] (0: drop, 1: keep/replace,
 * 2: insert one before). */
typedef int (*edit_fn)(void *arg, uint64_t index, const struct vdev_trace_rec *r,
		       struct vdev_trace_rec out[2]);

static void rewrite(const uint8_t *buf, size_t len, edit_fn edit, void *arg, struct tb *t)
{
	struct vdev_trace_reader rd;
	struct vdev_trace_rec r, out[2];
	uint64_t i = 0;

	tb_init(t);
	cr_assert_eq(vdev_trace_reader_init(&rd, buf, len, false), 0);
	while (vdev_trace_next(&rd, &r) == 1) {
		int n = edit(arg, i++, &r, out);

		for (int k = 0; k < n; k++)
			tb_add(t, out[k]);
	}
	cr_assert_eq(rd.error, 0);
}

struct nth_kind {
	uint8_t kind;
	int nth;      /* which one of that kind (0-based) */
	int seen;
	uint64_t index; /* where it was */
	struct vdev_trace_rec insert; /* kind 0: change the value instead */
};

static int edit_nth(void *arg, uint64_t index, const struct vdev_trace_rec *r,
		    struct vdev_trace_rec out[2])
{
	struct nth_kind *e = arg;

	if (r->kind != e->kind || e->seen++ != e->nth) {
		out[0] = *r;
		return 1;
	}
	e->index = index;
	if (e->insert.kind == 0) {
		out[0] = *r;
		out[0].value ^= 0x1;
		return 1;
	}
	out[0] = e->insert;
	out[1] = *r;
	return 2;
}

Test(trace_replay, changed_bar_read_in_a_recording_is_found)
{
	struct session s;
	struct nth_kind e = {.kind = VDEV_TR_BAR_READ, .nth = 5};
	struct vdev_replay_result res;
	struct tb t;
	char where[32];

	record_rng(&s, VDEV_PCI_MODERN);
	rewrite(s.buf, s.len, edit_nth, &e, &t);
	res = run_tb(&t, true);
	cr_assert_eq(res.error, 0, "%s", res.message);
	cr_assert(res.diverged);
	cr_assert_eq(res.divergence_record, e.index);
	snprintf(where, sizeof(where), "record %llu (bar-read", (unsigned long long)e.index);
	cr_assert(strncmp(res.message, where, strlen(where)) == 0, "%s", res.message);
	tb_free(&t);
	free(s.buf);
}

/* Insert `insert` just before the access that raised the n-th interrupt (or group of
 * interrupts): in an rng recording, the access that served the n-th request. */
struct before_irq_access {
	int nth;
	int groups;
	bool in_group;
	struct vdev_trace_rec insert;
};

static int edit_before_irq_access(void *arg, uint64_t index, const struct vdev_trace_rec *r,
				  struct vdev_trace_rec out[2])
{
	struct before_irq_access *e = arg;

	(void)index;
	if (r->kind == VDEV_TR_IRQ) {
		e->in_group = true;
	} else if (e->in_group && r->kind >= VDEV_TR_CFG_READ && r->kind <= VDEV_TR_HOST) {
		e->in_group = false;
		if (e->groups++ == e->nth) {
			/* Armed before the access is performed: its translations see it. */
			out[0] = e->insert;
			out[1] = *r;
			return 2;
		}
	}
	out[0] = *r;
	return 1;
}

static struct vdev_replay_result with_fault(const struct session *s, uint8_t kind,
					    uint16_t skip, uint64_t value, int nth)
{
	struct before_irq_access e = {
		.nth = nth,
		.insert = REC(.kind = VDEV_TR_FAULT, .width = kind, .queue = skip, .value = value),
	};
	struct vdev_replay_result res;
	struct tb t;

	rewrite(s->buf, s->len, edit_before_irq_access, &e, &t);
	cr_assert_gt(e.groups, nth, "the recording has that many interrupting accesses");
	res = run_tb(&t, false);
	cr_assert_eq(res.error, 0, "%s", res.message);
	tb_free(&t);
	return res;
}

Test(trace_replay, fault_records_make_translation_fail)
{
	struct session s;
	struct vdev_replay_result res;

	record_rng(&s, VDEV_PCI_MODERN);
	cr_assert_eq(s.stats.requests, 3);

	/* Failure and nonsense: the request's buffer cannot be reached; the device
	 * latches NEEDS_RESET instead of serving it. */
	res = with_fault(&s, VDEV_TR_FAULT_FAIL, 0, 0, 1);
	cr_assert(res.status & VIRTIO_CR_STATUS_NEEDS_RESET, "fail: status 0x%x", res.status);
	cr_assert_lt(res.stats.requests, 3);
	res = with_fault(&s, VDEV_TR_FAULT_NONSENSE, 0, 0, 1);
	cr_assert(res.status & VIRTIO_CR_STATUS_NEEDS_RESET, "nonsense: status 0x%x",
		  res.status);
	cr_assert_lt(res.stats.requests, 3);

	/* A short translation is only a fragment: the library loops over it and the
	 * request is served, though the source is now asked for one byte first (and the
	 * trace has no second read for the rest: the request gets that one byte). */
	res = with_fault(&s, VDEV_TR_FAULT_SHORT, 0, 1, 1);
	cr_assert(!(res.status & VIRTIO_CR_STATUS_NEEDS_RESET), "short: status 0x%x",
		  res.status);
	cr_assert_geq(res.stats.requests, 2);
	cr_assert_eq(res.stats.bytes_out, 48 + 1 + (res.stats.requests == 3 ? 48 : 0));

	/* Without a fault the replay ends where the recording did. */
	res = run(s.buf, s.len, false, false, false);
	cr_assert_eq(res.status, s.status);
	cr_assert_eq(res.stats.requests, 3);
	free(s.buf);
}

Test(trace_replay, fault_skip_count_delays_the_failure)
{
	struct session s;
	struct vdev_replay_result near, far;

	record_rng(&s, VDEV_PCI_MODERN);
	/* Armed before the first request with a skip past every translation the replay
	 * makes: it never fires, and all requests are served. */
	far = with_fault(&s, VDEV_TR_FAULT_FAIL, 1000, 0, 0);
	near = with_fault(&s, VDEV_TR_FAULT_FAIL, 0, 0, 0);
	cr_assert_eq(far.stats.requests, 3);
	cr_assert(!(far.status & VIRTIO_CR_STATUS_NEEDS_RESET));
	cr_assert(near.status & VIRTIO_CR_STATUS_NEEDS_RESET);
	free(s.buf);
}

Test(trace_replay, fuzz_mode_bounds_work)
{
	struct vdev_replay_options o;
	struct vdev_replay_result res;
	struct tb t;

	tb_init(&t);
	tb_device(&t, VIRTIO_TYPE_ENTROPY, VDEV_PCI_MODERN, 0);
	for (int i = 0; i < 5000; i++)
		tb_add(&t, REC(.kind = VDEV_TR_POLL));
	vdev_replay_default_options(&o);
	o.fuzz = true;
	o.max_records = 1000;
	vdev_replay_run(t.buf, t.len, &o, &res);
	cr_assert_eq(res.records, 1000);
	o.max_records = 0;
	vdev_replay_run(t.buf, t.len, &o, &res);
	cr_assert_eq(res.records, 5001);
	tb_free(&t);
}
