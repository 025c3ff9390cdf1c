/* SPDX-License-Identifier: BSD-3-Clause */
#include "trace_rig.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>


/* ---------------- a decoded trace ---------------- */


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

void decoded_free(struct decoded *d)
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
size_t last_access(const struct decoded *d)
{
	for (size_t i = d->n; i-- > 0;)
		if (is_access(d->r[i].kind))
			return i;
	return SIZE_MAX;
}

/* Index of the first record written at or after byte `at` of the file. */
size_t index_at(const struct decoded *d, uint64_t at)
{
	size_t i = 0;

	while (i < d->n && d->off[i] < at)
		i++;
	return i;
}

/* Index of the access record before `i` (SIZE_MAX: none, the set-up comes first). */
size_t access_before(const struct decoded *d, size_t i)
{
	while (i-- > 0)
		if (is_access(d->r[i].kind))
			return i;
	return SIZE_MAX;
}

/* How many records of `kind` lie strictly between a and b (a may be SIZE_MAX). */
int count_between(const struct decoded *d, size_t a, size_t b, uint8_t kind)
{
	int n = 0;

	for (size_t i = a == SIZE_MAX ? 0 : a + 1; i < b; i++)
		n += d->r[i].kind == kind;
	return n;
}

/* The first record of `kind` strictly between a and b, or NULL. */
const struct vdev_trace_rec *find_between(const struct decoded *d, size_t a, size_t b,
					  uint8_t kind)
{
	for (size_t i = a == SIZE_MAX ? 0 : a + 1; i < b; i++)
		if (d->r[i].kind == kind)
			return &d->r[i];
	return NULL;
}

/* ---------------- a held block backend ---------------- */


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
int held_release(struct held *h, int result)
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
void rig_open(struct rig *g, const struct rig_opts *o)
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
void rig_stop(struct rig *g, int want, struct decoded *d)
{
	int rc = vdev_trace_stop(g->trace);

	g->trace = NULL;
	cr_assert_eq(rc, want, "vdev_trace_stop: %d, expected %d", rc, want);
	if (d != NULL)
		decode_fd(g->fd, d);
}

void rig_close(struct rig *g)
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

uint64_t rig_buf(struct rig *g, uint32_t len, uint8_t **p)
{
	uint64_t gpa = vdev_sim_alloc(g->sim, len, 16);

	cr_assert_neq(gpa, 0);
	*p = vdev_sim_ptr(g->sim, gpa, len);
	cr_assert_not_null(*p);
	return gpa;
}

/* A virtio-blk request on queue 0 (header, optional data, status), kicked. */
void blk_request(struct rig *g, uint32_t type, uint64_t sector, uint32_t len, bool write,
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

/* One writable buffer of len bytes for the entropy device, kicked. */
void rng_kick(struct rig *g, uint32_t len, uint8_t **buf)
{
	struct vdev_drv_seg seg = {rig_buf(g, len, buf), len, true};

	memset(*buf, 0, len);
	cr_assert_eq(vdev_drv_enqueue(g->drv, 0, &seg, 1, false, NULL), 0);
	vdev_drv_kick(g->drv, 0);
}

size_t last_notify(const struct decoded *d)
{
	size_t n = SIZE_MAX;

	for (size_t i = 0; i < d->n; i++)
		if (d->r[i].kind == VDEV_TR_BAR_WRITE && d->r[i].addr == VIRTIO_CAP_NOTIFY_OFFSET)
			n = i;
	cr_assert_neq(n, SIZE_MAX, "no notify recorded");
	return n;
}

const struct rig_opts blk_modern = {
	.type = VIRTIO_TYPE_BLOCK, .mode = VDEV_PCI_MODERN, .access = VDEV_DRV_MODERN,
	.trace_fd = -1,
};
const struct rig_opts rng_modern = {
	.type = VIRTIO_TYPE_ENTROPY, .mode = VDEV_PCI_MODERN, .access = VDEV_DRV_MODERN,
	.trace_fd = -1,
};
