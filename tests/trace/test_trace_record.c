/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Recording traces inside the library: devices driven by the driver peer with a
 * recorder attached to a memfd, the result decoded with the format's own reader.
 * Checks what a replay depends on: the set-up records first; reads carrying the value
 * the driver saw; the guest memory a device read written before the access that made
 * it read; interrupts, completions, backend answers and clock readings where they
 * happened; host resets and controls as records of their own. Then the recorder's own
 * contract: write errors and max_bytes stop it and vdev_trace_stop() says so, a
 * device with a recorder behaves exactly as one without, and a device destroyed with
 * its recorder attached leaves a whole file behind.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/dev_internal.h"
#include "trace/trace_format.h"
#include "vdev/vdev.h"

#define RAM_SIZE (8u << 20)
#define QSIZE 16
#define HELD_MAX 64
#define CLOCK_MAX 256

/* ---------------- a decoded trace ---------------- */

struct decoded {
	uint8_t *buf;
	size_t len;
	struct vdev_trace_rec *r;
	size_t *off; /* where each record starts in the file */
	size_t n;
};

static int make_memfd(void)
{
	int fd = memfd_create("vdev-trace-test", MFD_CLOEXEC);

	cr_assert(fd >= 0, "memfd_create: %s", strerror(errno));
	return fd;
}

/* Read the whole file behind fd and decode it strictly (header required, no
 * truncated record): a recorder only ever writes whole records. */
static void decode_fd(int fd, struct decoded *d)
{
	struct vdev_trace_reader rd;
	struct stat st;
	size_t cap = 0;
	int rc;

	memset(d, 0, sizeof(*d));
	cr_assert_eq(fstat(fd, &st), 0);
	d->len = (size_t)st.st_size;
	d->buf = malloc(d->len + 1);
	cr_assert_not_null(d->buf);
	cr_assert_eq(pread(fd, d->buf, d->len, 0), (ssize_t)d->len);
	rc = vdev_trace_reader_init(&rd, d->buf, d->len, false);
	cr_assert_eq(rc, 0, "trace header: %s", rd.errmsg);
	for (;;) {
		struct vdev_trace_rec r;
		size_t at = rd.pos;

		rc = vdev_trace_next(&rd, &r);
		cr_assert(rc >= 0, "record %zu: %s", d->n, rd.errmsg);
		if (rc == 0)
			break;
		if (d->n == cap) {
			cap = cap ? cap * 2 : 256;
			d->r = realloc(d->r, cap * sizeof(*d->r));
			d->off = realloc(d->off, cap * sizeof(*d->off));
			cr_assert(d->r != NULL && d->off != NULL);
		}
		d->off[d->n] = at;
		d->r[d->n++] = r;
	}
}

static void decoded_free(struct decoded *d)
{
	free(d->buf);
	free(d->r);
	free(d->off);
	memset(d, 0, sizeof(*d));
}

static bool is_access(uint8_t kind)
{
	switch (kind) {
	case VDEV_TR_CFG_READ:
	case VDEV_TR_CFG_WRITE:
	case VDEV_TR_BAR_READ:
	case VDEV_TR_BAR_WRITE:
	case VDEV_TR_NOTIFY:
	case VDEV_TR_POLL:
	case VDEV_TR_RESET:
	case VDEV_TR_HOST:
		return true;
	default:
		return false;
	}
}

/* Index of the last access record, or SIZE_MAX. */
static size_t last_access(const struct decoded *d)
{
	for (size_t i = d->n; i-- > 0;)
		if (is_access(d->r[i].kind))
			return i;
	return SIZE_MAX;
}

/* Index of the first record written at or after byte `at` of the file. */
static size_t index_at(const struct decoded *d, uint64_t at)
{
	size_t i = 0;

	while (i < d->n && d->off[i] < at)
		i++;
	return i;
}

/* Index of the access record before `i` (SIZE_MAX: none, the set-up comes first). */
static size_t access_before(const struct decoded *d, size_t i)
{
	while (i-- > 0)
		if (is_access(d->r[i].kind))
			return i;
	return SIZE_MAX;
}

/* How many records of `kind` lie strictly between a and b (a may be SIZE_MAX). */
static int count_between(const struct decoded *d, size_t a, size_t b, uint8_t kind)
{
	int n = 0;

	for (size_t i = a == SIZE_MAX ? 0 : a + 1; i < b; i++)
		n += d->r[i].kind == kind;
	return n;
}

/* The first record of `kind` strictly between a and b, or NULL. */
static const struct vdev_trace_rec *find_between(const struct decoded *d, size_t a, size_t b,
						 uint8_t kind)
{
	for (size_t i = a == SIZE_MAX ? 0 : a + 1; i < b; i++)
		if (d->r[i].kind == kind)
			return &d->r[i];
	return NULL;
}

/* ---------------- a held block backend ---------------- */

struct held {
	struct vdev_blk_io *ios[HELD_MAX];
	int n;
	uint64_t size;
	struct vdev_blk_backend be;
};

static int held_info(void *opaque, struct vdev_blk_backend_info *out)
{
	*out = (struct vdev_blk_backend_info){.size = ((struct held *)opaque)->size};
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
	struct held *h = qctx;

	if (h->n == HELD_MAX)
		return -EBUSY;
	h->ios[h->n++] = io;
	return 0;
}

static void held_quiesce(void *qctx)
{
	(void)qctx;
}

/* Complete every held io with `result`, oldest first. */
static int held_release(struct held *h, int result)
{
	int n = h->n;

	for (int i = 0; i < n; i++)
		vdev_blk_io_complete(h->ios[i], result);
	h->n = 0;
	return n;
}

static void held_queue_close(void *qctx)
{
	held_release(qctx, -ECANCELED);
}

static void held_init(struct held *h, uint64_t size)
{
	memset(h, 0, sizeof(*h));
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

/* ---------------- an entropy source that counts ---------------- */

struct pattern {
	uint8_t next;
	int calls;
};

static ssize_t pattern_read(void *opaque, void *buf, size_t len)
{
	struct pattern *p = opaque;
	uint8_t *b = buf;

	p->calls++;
	for (size_t i = 0; i < len; i++)
		b[i] = p->next++;
	return (ssize_t)len;
}

/* ---------------- the machine ---------------- */

struct rig {
	struct vdev_sim *sim;
	struct vmctx *own_ctx;  /* a host table of the test's own (the clock tests) */
	struct vdev_dev *dev;
	struct vdev_drv *drv;
	struct vdev_trace *trace;
	int fd;
	struct held held;
	struct pattern pattern;
	struct vdev_rng_backend rng_be;
	/* The clock the own host table serves, and every value it handed out. */
	uint64_t clock;
	uint64_t clock_log[CLOCK_MAX];
	int nclock;
	bool v1_clock_called;
	int trace_log_lines;
};

struct rig_opts {
	uint16_t type;               /* VIRTIO_TYPE_BLOCK or VIRTIO_TYPE_ENTROPY */
	enum vdev_pci_mode mode;
	enum vdev_drv_access access;
	bool msix;
	bool no_trace;
	uint64_t max_bytes;
	uint32_t host_ops_version;   /* 0: the sim's host table; 1 or 2: the rig's own */
	uint64_t rng_rate;
	int trace_fd;                /* >= 0: record there instead of a fresh memfd */
};

static int rig_translate(void *opaque, uint64_t gpa, uint64_t len, enum vdev_dma_dir dir,
			 void **hva, uint64_t *contig)
{
	struct rig *g = opaque;
	void *p = vdev_sim_ptr(g->sim, gpa, len);

	(void)dir;
	if (p == NULL)
		return -EFAULT;
	*hva = p;
	*contig = len;
	return 0;
}

static uint64_t rig_now(void *opaque)
{
	struct rig *g = opaque;

	g->clock += 1000;
	if (g->nclock < CLOCK_MAX)
		g->clock_log[g->nclock++] = g->clock;
	return g->clock;
}

static uint64_t v1_now(void *opaque)
{
	((struct rig *)opaque)->v1_clock_called = true;
	return 0;
}

static void rig_log(void *arg, enum vdev_log_level level, const char *dev, const char *msg)
{
	(void)level;
	(void)dev;
	if (strstr(msg, "trace:") != NULL)
		((struct rig *)arg)->trace_log_lines++;
}

static struct vmctx *rig_ctx(struct rig *g, const struct rig_opts *o)
{
	struct vdev_host_ops ops = {
		.version = o->host_ops_version,
		.translate = rig_translate,
		.now_ns = o->host_ops_version == 1 ? v1_now : rig_now,
	};
	int rc;

	if (o->host_ops_version == 0)
		return vdev_sim_vmctx(g->sim);
	rc = vdev_vmctx_create(&ops, g, &g->own_ctx);
	cr_assert_eq(rc, 0, "vmctx with a version-%u table: %d", o->host_ops_version, rc);
	return g->own_ctx;
}

static void rig_device(struct rig *g, const struct rig_opts *o, struct vmctx *ctx)
{
	struct vdev_virtio_pci_config pci = {.mode = o->mode, .msix = o->msix};
	int rc;

	if (o->type == VIRTIO_TYPE_BLOCK) {
		struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config),
					      .pci = pci, .backend = &g->held.be,
					      .queue_size = QSIZE};

		held_init(&g->held, 1u << 20);
		rc = vdev_blk_create(ctx, "blk0", &cfg, &g->dev);
	} else {
		struct vdev_rng_config cfg = {.size = sizeof(struct vdev_rng_config),
					      .pci = pci, .backend = &g->rng_be,
					      .queue_size = QSIZE,
					      .rate_bytes_per_sec = o->rng_rate};

		g->rng_be = (struct vdev_rng_backend){.version = VDEV_RNG_BACKEND_VERSION,
						      .opaque = &g->pattern,
						      .read = pattern_read};
		rc = vdev_rng_create(ctx, "rng0", &cfg, &g->dev);
	}
	cr_assert_eq(rc, 0, "create type %u: %d (%s)", o->type, rc, vdev_sim_last_log(g->sim));
}

/* Sim, device, recorder (before the guest touches anything), driver ready with queue 0. */
static void rig_open(struct rig *g, const struct rig_opts *o)
{
	struct vdev_sim_config scfg = {.size = sizeof(struct vdev_sim_config),
				       .ram_size = RAM_SIZE};
	struct vdev_drv_config dcfg = {.size = sizeof(struct vdev_drv_config),
				       .access = o->access, .use_msix = o->msix};
	int rc;

	memset(g, 0, sizeof(*g));
	g->fd = -1;
	g->clock = 1000000000ull;
	cr_assert_eq(vdev_sim_create(&scfg, &g->sim), 0);
	vdev_sim_set_log(g->sim, rig_log, g);
	rig_device(g, o, rig_ctx(g, o));
	if (!o->no_trace) {
		struct vdev_trace_config tc = {.size = sizeof(struct vdev_trace_config),
					       .fd = o->trace_fd, .max_bytes = o->max_bytes};

		if (o->trace_fd < 0)
			tc.fd = g->fd = make_memfd();
		rc = vdev_trace_start(g->dev, &tc, &g->trace);
		cr_assert_eq(rc, 0, "vdev_trace_start: %d", rc);
		cr_assert_eq(vdev_trace_add_ram(g->trace, 0, RAM_SIZE), 0);
	}
	rc = vdev_drv_open(g->sim, vdev_dev_pci(g->dev), &dcfg, &g->drv);
	cr_assert_eq(rc, 0, "driver open: %d", rc);
	cr_assert_eq(vdev_drv_negotiate(g->drv, ~0ull, NULL), 0);
	cr_assert_eq(vdev_drv_queue_setup(g->drv, 0, QSIZE, o->msix ? 1 : VIRTIO_MSI_NO_VECTOR), 0);
	cr_assert_eq(vdev_drv_driver_ok(g->drv), 0);
}

/* Stop the recorder (asserting it reports `want`) and decode what it wrote. */
static void rig_stop(struct rig *g, int want, struct decoded *d)
{
	int rc = vdev_trace_stop(g->trace);

	g->trace = NULL;
	cr_assert_eq(rc, want, "vdev_trace_stop: %d, expected %d", rc, want);
	if (d != NULL)
		decode_fd(g->fd, d);
}

static void rig_close(struct rig *g)
{
	if (g->trace != NULL)
		vdev_trace_stop(g->trace);
	if (g->drv)
		vdev_drv_close(g->drv);
	vdev_dev_destroy(g->dev);
	if (g->own_ctx)
		vdev_vmctx_destroy(g->own_ctx);
	if (g->sim)
		vdev_sim_destroy(g->sim);
	if (g->fd >= 0)
		close(g->fd);
	memset(g, 0, sizeof(*g));
}

static uint64_t rig_buf(struct rig *g, uint32_t len, uint8_t **p)
{
	uint64_t gpa = vdev_sim_alloc(g->sim, len, 16);

	cr_assert_neq(gpa, 0);
	*p = vdev_sim_ptr(g->sim, gpa, len);
	cr_assert_not_null(*p);
	return gpa;
}

/* A virtio-blk request on queue 0 (header, optional data, status), kicked. */
static void blk_request(struct rig *g, uint32_t type, uint64_t sector, uint32_t len, bool write,
			uint8_t fill, uint64_t *data_gpa)
{
	struct vdev_drv_seg segs[3];
	uint8_t *hdr, *data, *status;
	int n = 0;

	segs[n++] = (struct vdev_drv_seg){rig_buf(g, 16, &hdr), 16, false};
	memset(hdr, 0, 16);
	hdr[0] = (uint8_t)type;
	memcpy(hdr + 8, &sector, 8);
	if (len > 0) {
		segs[n] = (struct vdev_drv_seg){rig_buf(g, len, &data), len, !write};
		memset(data, fill, len);
		if (data_gpa)
			*data_gpa = segs[n].gpa;
		n++;
	}
	segs[n++] = (struct vdev_drv_seg){rig_buf(g, 1, &status), 1, true};
	*status = 0xee;
	cr_assert_eq(vdev_drv_enqueue(g->drv, 0, segs, n, false, (void *)(uintptr_t)sector), 0);
	vdev_drv_kick(g->drv, 0);
}

static const struct rig_opts blk_modern = {
	.type = VIRTIO_TYPE_BLOCK, .mode = VDEV_PCI_MODERN, .access = VDEV_DRV_MODERN,
	.trace_fd = -1,
};
static const struct rig_opts rng_modern = {
	.type = VIRTIO_TYPE_ENTROPY, .mode = VDEV_PCI_MODERN, .access = VDEV_DRV_MODERN,
	.trace_fd = -1,
};

/* ---------------- set-up records ---------------- */

struct params_seen {
	char key[64][VDEV_TRACE_MAX_KEY + 1];
	uint64_t value[64];
	int n;
};

static void collect_param(void *arg, const char *key, uint64_t value)
{
	struct params_seen *p = arg;

	cr_assert_lt(p->n, 64);
	snprintf(p->key[p->n], sizeof(p->key[0]), "%s", key);
	p->value[p->n++] = value;
}

Test(trace_record, setup_records_come_first)
{
	static const struct {
		uint16_t type;
		enum vdev_pci_mode mode;
		bool msix;
		uint8_t flags;
	} cases[] = {
		{VIRTIO_TYPE_BLOCK, VDEV_PCI_MODERN, false, 0},
		{VIRTIO_TYPE_BLOCK, VDEV_PCI_TRANSITIONAL, true, VDEV_TR_PCI_MSIX},
		{VIRTIO_TYPE_ENTROPY, VDEV_PCI_LEGACY, false, 0},
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct rig_opts o = {.type = cases[c].type, .mode = cases[c].mode,
				     .msix = cases[c].msix, .trace_fd = -1,
				     .access = cases[c].mode == VDEV_PCI_LEGACY ? VDEV_DRV_LEGACY
										: VDEV_DRV_MODERN};
		struct params_seen want = {.n = 0};
		struct decoded d;
		size_t i = 0;
		struct rig g;

		rig_open(&g, &o);
		/* What the device's own describe callback says, now, is what was recorded. */
		cr_assert_not_null(g.dev->ops->describe, "case %zu: no describe callback", c);
		g.dev->ops->describe(g.dev, collect_param, &want);
		cr_assert_gt(want.n, 0, "case %zu: the device described nothing", c);
		rig_stop(&g, 0, &d);
		cr_assert_eq(memcmp(d.buf, VDEV_TRACE_MAGIC, VDEV_TRACE_MAGIC_LEN), 0);
		cr_assert_gt(d.n, 3u, "case %zu: only %zu records", c, d.n);
		cr_assert_eq(d.r[0].kind, VDEV_TR_DEVICE, "case %zu: first record %u", c,
			     d.r[0].kind);
		cr_assert_eq(d.r[0].type, cases[c].type);
		cr_assert_eq(d.r[0].width, cases[c].mode);
		cr_assert_eq(d.r[0].bar, cases[c].flags, "case %zu: pci flags %#x", c, d.r[0].bar);
		/* The device's parameters, in its order, then the RAM declared. */
		for (i = 1; i <= (size_t)want.n; i++) {
			cr_assert_eq(d.r[i].kind, VDEV_TR_PARAM, "case %zu: record %zu", c, i);
			cr_assert_eq(d.r[i].len, strlen(want.key[i - 1]));
			cr_assert_eq(memcmp(d.r[i].data, want.key[i - 1], d.r[i].len), 0,
				     "case %zu: param %zu is not %s", c, i, want.key[i - 1]);
			cr_assert_eq(d.r[i].value, want.value[i - 1]);
		}
		cr_assert_eq(d.r[i].kind, VDEV_TR_RAM, "case %zu: record %zu is %u, not RAM", c, i,
			     d.r[i].kind);
		cr_assert_eq(d.r[i].addr, 0);
		cr_assert_eq(d.r[i].value, RAM_SIZE);
		/* Nothing but accesses and what they caused after that. */
		for (i++; i < d.n; i++)
			cr_assert(d.r[i].kind != VDEV_TR_DEVICE && d.r[i].kind != VDEV_TR_PARAM &&
					  d.r[i].kind != VDEV_TR_RAM,
				  "case %zu: set-up record %u at %zu", c, d.r[i].kind, i);
		/* The driver's first look at the function is a config read of the vendor. */
		i = want.n + 2;
		cr_assert_eq(d.r[i].kind, VDEV_TR_CFG_READ);
		cr_assert_eq(d.r[i].addr, 0);
		decoded_free(&d);
		rig_close(&g);
	}
}

/* ---------------- accesses carry what the driver saw ---------------- */

/* What one access method left in the trace, read from the end backwards: the device
 * features, the queue count, the config write, the refused config read, the vendor. */
static void check_reads(const struct decoded *d, enum vdev_drv_access access, uint32_t vendor,
			uint64_t numq, uint64_t devf)
{
	bool legacy = access == VDEV_DRV_LEGACY, via_cfg = access == VDEV_DRV_MODERN_CFGACCESS;
	uint8_t read_kind = via_cfg ? VDEV_TR_CFG_READ : VDEV_TR_BAR_READ;
	size_t i = last_access(d);
	const struct vdev_trace_rec *r = &d->r[i];

	cr_assert_eq(r->kind, read_kind, "access %d: last record %u", access, r->kind);
	cr_assert_eq(r->value, devf, "access %d: features read %#llx, traced %#llx", access,
		     (unsigned long long)devf, (unsigned long long)r->value);
	if (via_cfg) {
		/* The window's BAR access is part of the config read, not a record. */
		cr_assert_eq(count_between(d, SIZE_MAX, d->n, VDEV_TR_BAR_READ), 0);
		cr_assert_eq(count_between(d, SIZE_MAX, d->n, VDEV_TR_BAR_WRITE), 0);
	} else {
		cr_assert_eq(r->bar,
			     legacy ? VIRTIO_LEGACY_PIO_BAR_IDX : VIRTIO_MODERN_MMIO_BAR_IDX);
		cr_assert_eq(r->addr, legacy ? VIRTIO_CR_HOSTCAP : VIRTIO_COMMON_DF);
		cr_assert_eq(r->width, 4);
	}
	/* The queue count, found the same way (through the window: its 2-byte read). */
	i = access_before(d, i);
	while (via_cfg && (d->r[i].kind != VDEV_TR_CFG_READ || d->r[i].width != 2))
		i = access_before(d, i);
	r = &d->r[i];
	cr_assert_eq(r->kind, read_kind);
	cr_assert_eq(r->value, numq, "access %d: queue count %llu, traced %llu", access,
		     (unsigned long long)numq, (unsigned long long)r->value);
	/* The config accesses, in order, with their results. */
	while (!(d->r[i].kind == VDEV_TR_CFG_WRITE && d->r[i].addr == 0x3c))
		i = access_before(d, i);
	r = &d->r[i];
	cr_assert_eq(r->width, 1);
	cr_assert_eq(r->value, 0x0b);
	cr_assert_eq(r->result, 0);
	i = access_before(d, i);
	r = &d->r[i];
	cr_assert_eq(r->kind, VDEV_TR_CFG_READ);
	cr_assert_eq(r->addr, 3);
	cr_assert_eq(r->result, -EINVAL);
	cr_assert_eq(r->value, 0xffffffffu);
	r = &d->r[access_before(d, i)];
	cr_assert_eq(r->kind, VDEV_TR_CFG_READ);
	cr_assert_eq(r->addr, 0);
	cr_assert_eq(r->width, 2);
	cr_assert_eq(r->value, vendor);
}

Test(trace_record, reads_carry_the_values_returned)
{
	static const enum vdev_drv_access accesses[] = {VDEV_DRV_LEGACY, VDEV_DRV_MODERN,
							VDEV_DRV_MODERN_CFGACCESS};

	for (size_t a = 0; a < 3; a++) {
		bool legacy = accesses[a] == VDEV_DRV_LEGACY;
		enum vdev_drv_region region = legacy ? VDEV_DRV_REGION_LEGACY
						     : VDEV_DRV_REGION_COMMON;
		struct rig_opts o = blk_modern;
		uint32_t vendor, v = 0;
		uint64_t numq, devf;
		struct decoded d;
		struct rig g;

		o.mode = VDEV_PCI_TRANSITIONAL;
		o.access = accesses[a];
		rig_open(&g, &o);
		/* One of each kind of access; check_reads() finds them in the trace. */
		vendor = vdev_drv_pci_read(g.drv, 0, 2);
		/* misaligned: refused */
		cr_assert_eq(vdev_pci_cfgread(vdev_dev_pci(g.dev), 3, 2, &v), -EINVAL);
		cr_assert_eq(vdev_pci_cfgwrite(vdev_dev_pci(g.dev), 0x3c, 1, 0x0b), 0);
		numq = vdev_drv_region_read(g.drv, region,
					    legacy ? VIRTIO_CR_QNUM : VIRTIO_COMMON_NUMQ, 2);
		devf = vdev_drv_region_read(g.drv, region,
					    legacy ? VIRTIO_CR_HOSTCAP : VIRTIO_COMMON_DF, 4);
		rig_stop(&g, 0, &d);
		cr_assert_eq(vendor, VIRTIO_VENDOR);
		cr_assert_neq(devf, 0);
		check_reads(&d, accesses[a], vendor, numq, devf);
		decoded_free(&d);
		rig_close(&g);
	}
}

/* ---------------- guest memory before the access that read it ---------------- */

/* Apply every MEM record before index `end` to a zeroed RAM image. */
static uint8_t *image_before(const struct decoded *d, size_t end)
{
	uint8_t *img = calloc(1, RAM_SIZE);

	cr_assert_not_null(img);
	for (size_t i = 0; i < end; i++) {
		const struct vdev_trace_rec *r = &d->r[i];

		if (r->kind != VDEV_TR_MEM)
			continue;
		cr_assert(r->addr < RAM_SIZE && r->len <= RAM_SIZE - r->addr,
			  "MEM record %zu outside RAM", i);
		memcpy(img + r->addr, r->data, r->len);
	}
	return img;
}

static bool mem_covers(const struct decoded *d, size_t a, size_t b, uint64_t gpa, uint64_t len)
{
	for (size_t i = a + 1; i < b; i++)
		if (d->r[i].kind == VDEV_TR_MEM && d->r[i].addr <= gpa &&
		    gpa + len <= d->r[i].addr + d->r[i].len)
			return true;
	return false;
}

/* Some MEM record strictly between a and b overlaps [gpa, gpa + len). */
static bool mem_touches(const struct decoded *d, size_t a, size_t b, uint64_t gpa, uint64_t len)
{
	for (size_t i = a + 1; i < b; i++)
		if (d->r[i].kind == VDEV_TR_MEM && d->r[i].addr < gpa + len &&
		    gpa < d->r[i].addr + d->r[i].len)
			return true;
	return false;
}

Test(trace_record, notify_is_preceded_by_the_memory_it_reads)
{
	struct rig_opts o = blk_modern;
	uint64_t desc, avail, used, data_gpa = 0, mark;
	size_t notify = SIZE_MAX, before;
	struct decoded d;
	uint8_t *img;
	struct rig g;

	o.mode = VDEV_PCI_MODERN;
	rig_open(&g, &o);
	cr_assert_eq(vdev_drv_queue_rings(g.drv, 0, &desc, &avail, &used), 0);
	/* Everything the trace holds from here on is the kick's doing (the driver
	 * may look at a register or two before it writes the notify register). */
	mark = vdev_trace_bytes(g.trace);
	blk_request(&g, VDEV_BLK_T_OUT, 0, 512, true, 0x5a, &data_gpa);
	rig_stop(&g, 0, &d);

	for (size_t i = 0; i < d.n; i++)
		if (d.r[i].kind == VDEV_TR_BAR_WRITE && d.r[i].addr == VIRTIO_CAP_NOTIFY_OFFSET)
			notify = i;
	cr_assert_neq(notify, SIZE_MAX, "no notify write recorded");
	before = index_at(&d, mark);
	cr_assert_lt(before, notify);
	before--; /* mem_covers looks strictly after it */
	/* The changes the driver made since its previous access come with the kick. */
	cr_assert(mem_touches(&d, before, notify, avail + 2, 2), "avail idx change not recorded");
	cr_assert(mem_touches(&d, before, notify, desc, 16 * 3), "new descriptors not recorded");
	cr_assert(mem_covers(&d, before, notify, data_gpa, 512), "request data not recorded");
	/* Only what changed is sent again: the descriptor table is not repeated whole. */
	cr_assert(!mem_covers(&d, before, notify, desc, 16 * QSIZE));
	/* And everything a replay needs is in RAM by then: every byte the device read. */
	img = image_before(&d, notify);
	cr_assert_eq(memcmp(img + desc, vdev_sim_ptr(g.sim, desc, 16 * QSIZE), 16 * QSIZE), 0,
		     "descriptor table differs");
	cr_assert_eq(memcmp(img + avail, vdev_sim_ptr(g.sim, avail, 6 + 2 * QSIZE), 6 + 2 * QSIZE),
		     0, "available ring differs");
	cr_assert_eq(memcmp(img + data_gpa, vdev_sim_ptr(g.sim, data_gpa, 512), 512), 0,
		     "request data differs");
	/* The used ring is the device's to write: it is never recorded. */
	cr_assert(!mem_covers(&d, SIZE_MAX, d.n, used + 4, 8));
	free(img);
	decoded_free(&d);
	rig_close(&g);
}

Test(trace_record, indirect_tables_are_recorded)
{
	struct rig_opts o = blk_modern;
	struct vdev_drv_seg segs[3];
	uint8_t *hdr, *data, *status;
	size_t notify = SIZE_MAX;
	struct decoded d;
	uint8_t *img;
	struct rig g;

	rig_open(&g, &o);
	segs[0] = (struct vdev_drv_seg){rig_buf(&g, 16, &hdr), 16, false};
	memset(hdr, 0, 16);
	hdr[0] = VDEV_BLK_T_OUT;
	segs[1] = (struct vdev_drv_seg){rig_buf(&g, 1024, &data), 1024, false};
	memset(data, 0xc3, 1024);
	segs[2] = (struct vdev_drv_seg){rig_buf(&g, 1, &status), 1, true};
	cr_assert_eq(vdev_drv_enqueue(g.drv, 0, segs, 3, true, NULL), 0);
	vdev_drv_kick(g.drv, 0);
	cr_assert_eq(g.held.n, 1, "the request did not reach the backend");
	rig_stop(&g, 0, &d);
	for (size_t i = 0; i < d.n; i++)
		if (d.r[i].kind == VDEV_TR_BAR_WRITE && d.r[i].addr == VIRTIO_CAP_NOTIFY_OFFSET)
			notify = i;
	cr_assert_neq(notify, SIZE_MAX);
	img = image_before(&d, notify);
	/* The table lives wherever the driver put it: the header and data prove it was
	 * followed, the table bytes themselves that a replay can follow it too. */
	cr_assert_eq(memcmp(img + segs[0].gpa, hdr, 16), 0);
	cr_assert_eq(memcmp(img + segs[1].gpa, data, 1024), 0);
	{
		uint64_t desc, avail, used;
		uint8_t *ring;
		uint64_t table;

		cr_assert_eq(vdev_drv_queue_rings(g.drv, 0, &desc, &avail, &used), 0);
		ring = vdev_sim_ptr(g.sim, desc, 16 * QSIZE);
		for (int i = 0; i < QSIZE; i++) {
			uint16_t flags;

			memcpy(&flags, ring + 16 * i + 12, 2);
			if (!(flags & VRING_DESC_F_INDIRECT))
				continue;
			memcpy(&table, ring + 16 * i, 8);
			cr_assert_eq(memcmp(img + table, vdev_sim_ptr(g.sim, table, 48), 48), 0,
				     "indirect table differs");
		}
	}
	free(img);
	decoded_free(&d);
	rig_close(&g);
}

/* ---------------- completions and interrupts ---------------- */

static uint16_t avail_entry(struct rig *g, int slot)
{
	uint64_t desc, avail, used;
	uint16_t head;

	cr_assert_eq(vdev_drv_queue_rings(g->drv, 0, &desc, &avail, &used), 0);
	memcpy(&head, vdev_sim_ptr(g->sim, avail + 4 + 2 * (uint64_t)slot, 2), 2);
	return head;
}

Test(trace_record, blk_completion_and_intx_come_before_the_poll)
{
	struct rig_opts o = blk_modern;
	const struct vdev_trace_rec *c, *irq;
	size_t poll, before;
	uint16_t head;
	struct decoded d;
	void *token;
	uint32_t len;
	struct rig g;

	rig_open(&g, &o);
	blk_request(&g, VDEV_BLK_T_IN, 3, 512, false, 0, NULL);
	head = avail_entry(&g, 0);
	cr_assert_eq(held_release(&g.held, 0), 1);
	cr_assert_eq(vdev_dev_poll(g.dev), 0);
	cr_assert_eq(vdev_drv_dequeue(g.drv, 0, &token, &len), 1);
	cr_assert_eq((uintptr_t)token, 3);
	(void)vdev_drv_read_isr(g.drv);
	rig_stop(&g, 0, &d);

	poll = SIZE_MAX;
	for (size_t i = 0; i < d.n; i++)
		if (d.r[i].kind == VDEV_TR_POLL)
			poll = i;
	cr_assert_neq(poll, SIZE_MAX, "no POLL record");
	before = access_before(&d, poll);
	c = find_between(&d, before, poll, VDEV_TR_COMPLETE);
	cr_assert_not_null(c, "no COMPLETE before the poll that delivered it");
	cr_assert_eq(c->queue, 0);
	cr_assert_eq(c->head, head);
	cr_assert_eq(c->result, 0);
	irq = find_between(&d, before, poll, VDEV_TR_IRQ);
	cr_assert_not_null(irq, "no IRQ for the completion");
	cr_assert_eq(irq->width, 2);
	cr_assert_eq(irq->value, 1);
	/* The ISR read lowered the line again: recorded within that read. */
	irq = find_between(&d, poll, d.n, VDEV_TR_IRQ);
	cr_assert_not_null(irq);
	cr_assert_eq(irq->value, 0);
	cr_assert_eq(d.r[last_access(&d)].kind, VDEV_TR_BAR_READ);
	decoded_free(&d);
	rig_close(&g);
}

Test(trace_record, msix_messages_are_recorded_as_sent)
{
	struct rig_opts o = blk_modern;
	struct vdev_sim_irqs irqs;
	const struct vdev_trace_rec *irq;
	size_t poll = SIZE_MAX;
	struct decoded d;
	struct rig g;

	o.msix = true;
	rig_open(&g, &o);
	cr_assert(vdev_pci_msix_enabled(vdev_dev_pci(g.dev)));
	blk_request(&g, VDEV_BLK_T_IN, 0, 512, false, 0, NULL);
	cr_assert_eq(held_release(&g.held, 0), 1);
	vdev_dev_poll(g.dev);
	vdev_sim_get_irqs(g.sim, &irqs);
	cr_assert_gt(irqs.msi_count, 0);
	rig_stop(&g, 0, &d);
	for (size_t i = 0; i < d.n; i++)
		if (d.r[i].kind == VDEV_TR_POLL)
			poll = i;
	cr_assert_neq(poll, SIZE_MAX);
	irq = find_between(&d, access_before(&d, poll), poll, VDEV_TR_IRQ);
	cr_assert_not_null(irq);
	cr_assert_eq(irq->width, 1);
	cr_assert_eq(irq->addr, irqs.last_msi_addr);
	cr_assert_eq(irq->value, irqs.last_msi_data);
	cr_assert_eq(count_between(&d, SIZE_MAX, d.n, VDEV_TR_IRQ), (int)irqs.msi_count);
	decoded_free(&d);
	rig_close(&g);
}

/* ---------------- backends and the clock ---------------- */

/* One writable buffer of len bytes for the entropy device, kicked. */
static void rng_kick(struct rig *g, uint32_t len, uint8_t **buf)
{
	struct vdev_drv_seg seg = {rig_buf(g, len, buf), len, true};

	memset(*buf, 0, len);
	cr_assert_eq(vdev_drv_enqueue(g->drv, 0, &seg, 1, false, NULL), 0);
	vdev_drv_kick(g->drv, 0);
}

static size_t last_notify(const struct decoded *d)
{
	size_t n = SIZE_MAX;

	for (size_t i = 0; i < d->n; i++)
		if (d->r[i].kind == VDEV_TR_BAR_WRITE && d->r[i].addr == VIRTIO_CAP_NOTIFY_OFFSET)
			n = i;
	cr_assert_neq(n, SIZE_MAX, "no notify recorded");
	return n;
}

Test(trace_record, rng_backend_answers_are_recorded)
{
	struct rig_opts o = rng_modern;
	const struct vdev_trace_rec *be;
	size_t notify;
	struct decoded d;
	uint8_t *buf;
	struct rig g;

	rig_open(&g, &o);
	vdev_dev_poll(g.dev);
	g.pattern.calls = 0;
	rng_kick(&g, 64, &buf);
	cr_assert_eq(g.pattern.calls, 1);
	cr_assert_eq(buf[63], 63);
	rig_stop(&g, 0, &d);
	notify = last_notify(&d);
	be = find_between(&d, access_before(&d, notify), notify, VDEV_TR_BACKEND);
	cr_assert_not_null(be, "no BACKEND record before the notify");
	cr_assert_eq(be->width, VDEV_TR_BE_RNG_READ);
	cr_assert_eq(be->result, 64);
	cr_assert_eq(be->len, 0, "rng data is not kept");
	cr_assert_eq(count_between(&d, access_before(&d, notify), notify, VDEV_TR_BACKEND), 1);
	cr_assert_not_null(find_between(&d, access_before(&d, notify), notify, VDEV_TR_IRQ));
	decoded_free(&d);
	rig_close(&g);
}

Test(trace_record, clock_readings_come_from_the_host_and_are_recorded)
{
	struct rig_opts o = rng_modern;
	size_t notify, before;
	int first, k = 0;
	struct decoded d;
	uint8_t *buf;
	struct rig g;

	o.host_ops_version = 2;
	o.rng_rate = 1u << 20;
	rig_open(&g, &o);
	vdev_dev_poll(g.dev);
	first = g.nclock;
	rng_kick(&g, 64, &buf);
	cr_assert_gt(g.nclock, first, "the device did not read the host's clock");
	cr_assert_eq(g.pattern.calls, 1);
	rig_stop(&g, 0, &d);
	notify = last_notify(&d);
	before = access_before(&d, notify);
	/* Every reading made during the kick, in order, and nothing else. */
	for (size_t i = before + 1; i < notify; i++) {
		if (d.r[i].kind != VDEV_TR_TIME)
			continue;
		cr_assert_lt(first + k, g.nclock);
		cr_assert_eq(d.r[i].value, g.clock_log[first + k], "TIME %d: %llu, clock gave %llu",
			     k, (unsigned long long)d.r[i].value,
			     (unsigned long long)g.clock_log[first + k]);
		k++;
	}
	cr_assert_eq(first + k, g.nclock, "%d readings, %d recorded", g.nclock - first, k);
	decoded_free(&d);
	rig_close(&g);
}

Test(trace_record, version_1_host_tables_keep_the_monotonic_clock)
{
	struct rig_opts o = rng_modern;
	uint8_t *buf;
	struct rig g;

	/* A version-1 caller's struct ends before now_ns: whatever lies there is not read. */
	o.host_ops_version = 1;
	o.rng_rate = 1u << 20;
	o.no_trace = true;
	rig_open(&g, &o);
	vdev_dev_poll(g.dev);
	rng_kick(&g, 64, &buf);
	cr_assert_eq(g.pattern.calls, 1, "the request was not served");
	cr_assert(!g.v1_clock_called, "now_ns of a version-1 table was called");
	rig_close(&g);
}

/* ---------------- host entry points ---------------- */

Test(trace_record, host_resets_and_controls_are_records_of_their_own)
{
	struct rig_opts o = blk_modern;
	const struct vdev_trace_rec *r;
	struct decoded d;
	size_t i;
	struct rig g;

	rig_open(&g, &o);
	cr_assert_eq(vdev_drv_reset(g.drv), 0); /* the guest's: a status write */
	virtio_reset_dev(vdev_dev_virtio(g.dev)); /* the host's */
	cr_assert_eq(vdev_blk_resize(g.dev, 2u << 20), 0);
	vdev_dev_poll(g.dev);
	cr_assert_eq(vdev_virtio_queue_notify(vdev_dev_virtio(g.dev), 0), -EINVAL);
	rig_stop(&g, 0, &d);

	cr_assert_eq(count_between(&d, SIZE_MAX, d.n, VDEV_TR_RESET), 1,
		     "a reset inside a status write is part of that write");
	i = last_access(&d);
	r = &d.r[i];
	cr_assert_eq(r->kind, VDEV_TR_NOTIFY);
	cr_assert_eq(r->queue, 0);
	i = access_before(&d, i);
	cr_assert_eq(d.r[i].kind, VDEV_TR_POLL);
	i = access_before(&d, i);
	r = &d.r[i];
	cr_assert_eq(r->kind, VDEV_TR_HOST);
	cr_assert_eq(r->width, VDEV_TR_HOST_BLK_RESIZE);
	cr_assert_eq(r->addr, 2u << 20);
	i = access_before(&d, i);
	cr_assert_eq(d.r[i].kind, VDEV_TR_RESET);
	r = &d.r[access_before(&d, i)];
	cr_assert(r->kind == VDEV_TR_BAR_READ || r->kind == VDEV_TR_BAR_WRITE,
		  "the guest reset's register accesses come before the host's reset");
	decoded_free(&d);
	rig_close(&g);
}

/* ---------------- the recorder's own contract ---------------- */

Test(trace_record, write_errors_stop_recording_and_are_reported_once)
{
	struct rig_opts o = blk_modern;
	int p[2];
	struct rig g;

	signal(SIGPIPE, SIG_IGN);
	cr_assert_eq(pipe(p), 0);
	o.trace_fd = p[1];
	rig_open(&g, &o);
	close(p[1]);
	close(p[0]); /* from now on every write fails with EPIPE */
	/* Far more than one buffer of records: the writer meets the error while recording. */
	for (int i = 0; i < 20000; i++)
		cr_assert_eq(vdev_drv_region_read(g.drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_NUMQ,
						  2),
			     1, "the device stopped answering at read %d", i);
	cr_assert_eq(g.trace_log_lines, 1, "%d log lines about the trace", g.trace_log_lines);
	blk_request(&g, VDEV_BLK_T_IN, 0, 512, false, 0, NULL);
	cr_assert_eq(g.held.n, 1, "the device stopped serving");
	rig_stop(&g, -EPIPE, NULL);
	cr_assert_eq(g.trace_log_lines, 1);
	rig_close(&g);
}

Test(trace_record, max_bytes_is_honoured)
{
	struct rig_opts o = blk_modern;
	struct decoded d;
	uint64_t at_limit;
	struct rig g;

	o.max_bytes = 4096;
	rig_open(&g, &o);
	for (int i = 0; i < 2000; i++)
		vdev_drv_region_read(g.drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_NUMQ, 2);
	at_limit = vdev_trace_bytes(g.trace);
	cr_assert_leq(at_limit, 4096);
	cr_assert_gt(at_limit, 4096 - 64, "stopped at %llu, well before the limit",
		     (unsigned long long)at_limit);
	vdev_drv_region_read(g.drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_NUMQ, 2);
	cr_assert_eq(vdev_trace_bytes(g.trace), at_limit);
	cr_assert_eq(g.trace_log_lines, 1);
	rig_stop(&g, -EFBIG, &d); /* decodes strictly: only whole records were written */
	cr_assert_eq(d.len, at_limit);
	decoded_free(&d);
	rig_close(&g);
}

/* One fixed workload: requests of every kind, completions, a reset, more requests. */
static void workload(struct rig *g)
{
	void *token;
	uint32_t len;

	/* Five chains of three descriptors fill the 16-entry ring. */
	for (int i = 0; i < 4; i++)
		blk_request(g, i % 2 ? VDEV_BLK_T_OUT : VDEV_BLK_T_IN, (uint64_t)i * 8, 4096,
			    i % 2, (uint8_t)i, NULL);
	blk_request(g, VDEV_BLK_T_GET_ID, 0, 20, false, 0, NULL);
	held_release(&g->held, 0);
	vdev_dev_poll(g->dev);
	while (vdev_drv_dequeue(g->drv, 0, &token, &len) == 1)
		;
	(void)vdev_drv_read_isr(g->drv);
	blk_request(g, VDEV_BLK_T_FLUSH, 0, 0, false, 0, NULL);
	held_release(&g->held, -EIO);
	vdev_dev_poll(g->dev);
	cr_assert_eq(vdev_drv_reset(g->drv), 0);
	cr_assert_eq(vdev_drv_negotiate(g->drv, ~0ull, NULL), 0);
	cr_assert_eq(vdev_drv_queue_setup(g->drv, 0, QSIZE, VIRTIO_MSI_NO_VECTOR), 0);
	cr_assert_eq(vdev_drv_driver_ok(g->drv), 0);
	blk_request(g, VDEV_BLK_T_OUT, 100, 512, true, 0x77, NULL);
	held_release(&g->held, 0);
	vdev_dev_poll(g->dev);
}

Test(trace_record, a_traced_device_behaves_like_an_untraced_one)
{
	struct rig_opts traced = blk_modern, plain = blk_modern;
	struct vdev_virtio_stats vs[2];
	struct vdev_dev_stats ds[2];
	struct vdev_sim_irqs irq[2];
	struct rig g[2];
	struct decoded d;

	plain.no_trace = true;
	rig_open(&g[0], &traced);
	rig_open(&g[1], &plain);
	for (int i = 0; i < 2; i++) {
		workload(&g[i]);
		vdev_dev_get_stats(g[i].dev, &ds[i]);
		vdev_virtio_get_stats(vdev_dev_virtio(g[i].dev), &vs[i]);
		vdev_sim_get_irqs(g[i].sim, &irq[i]);
	}
	cr_assert_gt(ds[0].requests, 0);
	cr_assert_eq(memcmp(&ds[0], &ds[1], sizeof(ds[0])), 0, "device counters differ");
	cr_assert_eq(memcmp(&vs[0], &vs[1], sizeof(vs[0])), 0, "virtio counters differ");
	cr_assert_eq(irq[0].intx_raises, irq[1].intx_raises);
	cr_assert_eq(irq[0].intx_level, irq[1].intx_level);
	/* Same guest RAM, byte for byte: rings, used entries, data, status bytes. */
	cr_assert_eq(memcmp(vdev_sim_ptr(g[0].sim, 0, RAM_SIZE),
			    vdev_sim_ptr(g[1].sim, 0, RAM_SIZE), RAM_SIZE),
		     0, "guest RAM differs");
	rig_stop(&g[0], 0, &d);
	cr_assert_gt(d.n, 100u);
	decoded_free(&d);
	rig_close(&g[0]);
	rig_close(&g[1]);
}

Test(trace_record, destroying_the_device_leaves_a_whole_trace)
{
	struct rig_opts o = rng_modern;
	struct decoded d;
	uint8_t *buf;
	struct rig g;

	rig_open(&g, &o);
	rng_kick(&g, 32, &buf);
	vdev_drv_close(g.drv);
	g.drv = NULL;
	vdev_dev_destroy(g.dev);
	g.dev = NULL;
	/* The recorder outlives the device: stop flushes and closes. */
	cr_assert_eq(vdev_trace_add_ram(g.trace, 1ull << 32, 4096), 0);
	rig_stop(&g, 0, &d);
	cr_assert_eq(d.r[d.n - 1].kind, VDEV_TR_RAM);
	cr_assert_neq(last_notify(&d), SIZE_MAX);
	decoded_free(&d);
	rig_close(&g);
}

Test(trace_record, ram_regions_are_declared_once)
{
	struct rig_opts o = rng_modern;
	struct decoded d;
	size_t first;
	struct rig g;

	rig_open(&g, &o);
	cr_assert_eq(vdev_trace_add_ram(g.trace, 0, RAM_SIZE), 0);      /* again: nothing */
	cr_assert_eq(vdev_trace_add_ram(g.trace, 4096, 4096), 0);       /* inside: nothing */
	cr_assert_eq(vdev_trace_add_ram(g.trace, RAM_SIZE - 4096, 3 * 4096), 0); /* the tail */
	cr_assert_eq(vdev_trace_add_ram(g.trace, 0x100000000ull, 1 << 20), 0);
	cr_assert_eq(vdev_trace_add_ram(g.trace, 0, 0), -EINVAL);
	cr_assert_eq(vdev_trace_add_ram(g.trace, UINT64_MAX - 10, 100), -EINVAL);
	cr_assert_eq(vdev_trace_add_ram(NULL, 0, 4096), -EINVAL);
	rig_stop(&g, 0, &d);
	first = 0;
	while (d.r[first].kind != VDEV_TR_RAM)
		first++;
	cr_assert_eq(count_between(&d, SIZE_MAX, d.n, VDEV_TR_RAM), 3);
	for (size_t i = first + 1; i < d.n; i++) {
		if (d.r[i].kind != VDEV_TR_RAM)
			continue;
		if (d.r[i].addr == RAM_SIZE)
			cr_assert_eq(d.r[i].value, 2 * 4096, "only the part not declared yet");
		else
			cr_assert_eq(d.r[i].addr, 0x100000000ull);
	}
	decoded_free(&d);
	rig_close(&g);
}

Test(trace_record, start_refuses_what_it_cannot_record)
{
	struct rig_opts o = rng_modern;
	struct vdev_trace_config tc = {.size = sizeof(struct vdev_trace_config),
				       .path = "/nonexistent-dir/trace.bin"};
	struct vdev_trace *t = (struct vdev_trace *)&tc, *first = NULL;
	char path[] = "/tmp/vdev-trace-test-XXXXXX";
	struct stat st;
	off_t size;
	int fd;
	struct rig g;

	o.no_trace = true;
	rig_open(&g, &o);
	cr_assert_eq(vdev_trace_start(g.dev, &tc, &t), -ENOENT);
	cr_assert_null(t);
	cr_assert_eq(vdev_trace_start(NULL, &tc, &t), -EINVAL);
	cr_assert_eq(vdev_trace_start(g.dev, NULL, &t), -EINVAL);
	cr_assert_eq(vdev_trace_start(g.dev, &tc, NULL), -EINVAL);
	tc = (struct vdev_trace_config){.size = sizeof(struct vdev_trace_config), .fd = -1};
	cr_assert_eq(vdev_trace_start(g.dev, &tc, &t), -EINVAL);

	fd = mkstemp(path);
	cr_assert(fd >= 0);
	close(fd);
	tc = (struct vdev_trace_config){.size = sizeof(struct vdev_trace_config), .path = path};
	cr_assert_eq(vdev_trace_start(g.dev, &tc, &first), 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	size = st.st_size;
	cr_assert_gt(size, VDEV_TRACE_HEADER_LEN, "the set-up records are written at once");
	/* One recorder per device; the second attempt does not even truncate the file. */
	cr_assert_eq(vdev_trace_start(g.dev, &tc, &t), -EINVAL);
	cr_assert_null(t);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, size);
	cr_assert_eq(vdev_trace_stop(first), 0);
	cr_assert_eq(vdev_trace_stop(NULL), 0);
	unlink(path);
	rig_close(&g);
}
