/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The trace recorder (vdev/trace.h): attaching to a device, the set-up records, the
 * buffered writer, and the hooks of src/trace/trace_hooks.h except the ring shadows
 * (trace_rings.c).
 *
 * Recording must never change what the device does: every failure here (a write
 * error, max_bytes, no memory for a shadow) only stops the recording, is logged once,
 * and is what vdev_trace_stop() returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace/trace_hooks.h"
#include "trace/trace_internal.h"
#include "trace/trace_subject.h"
#include "util/common.h"
#include "vdev/trace.h"

/* Longest record the writer encodes in one piece: a PARAM (kind, key length, key,
 * value), or the fixed part of any other kind. */
#define TRACE_MAX_FIXED 64

/* ---- the writer ---- */

void trace_fail(struct vdev_trace *t, int err, const char *why)
{
	if (t->error != 0)
		return;
	t->error = err;
	if (t->log != NULL) {
		char msg[160];

		snprintf(msg, sizeof(msg), "trace: recording stopped after %llu bytes: %s (%s)",
			 (unsigned long long)t->bytes, why, strerror(-err));
		t->log(t->log_arg, t->name, msg);
	}
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void flush(struct vdev_trace *t)
{
	int rc;

	if (t->fill == 0 || t->error != 0)
		return;
	rc = write_all(t->fd, t->buf, t->fill);
	t->fill = 0;
	if (rc < 0)
		trace_fail(t, rc, "cannot write the trace file");
}

/* Room for `n` more bytes under max_bytes, or the recording stops (-EFBIG). */
static bool reserve(struct vdev_trace *t, uint64_t n)
{
	if (t->error != 0)
		return false;
	if (n > t->max_bytes - t->bytes) {
		/* What is buffered is whole records: keep them. */
		flush(t);
		trace_fail(t, -EFBIG, "max_bytes reached");
		return false;
	}
	t->bytes += n;
	return true;
}

/* Copy bytes into the buffer, writing it out whenever it fills. */
static void append(struct vdev_trace *t, const volatile void *src, size_t n)
{
	const volatile uint8_t *p = src;

	while (n > 0 && t->error == 0) {
		size_t room = TRACE_WRITE_BUF - t->fill;
		size_t k = n < room ? n : room;

		/* Guest memory may change under us; whatever is copied is what is told. */
		memcpy(t->buf + t->fill, (const void *)p, k);
		t->fill += k;
		p += k;
		n -= k;
		if (t->fill == TRACE_WRITE_BUF)
			flush(t);
	}
}

void trace_put(struct vdev_trace *t, const struct vdev_trace_rec *r)
{
	uint8_t rec[TRACE_MAX_FIXED];
	size_t n = vdev_trace_rec_size(r);

	if (t->error != 0)
		return;
	if (n == 0 || n > sizeof(rec)) {
		trace_fail(t, -EINVAL, "a record could not be encoded");
		return;
	}
	vdev_trace_rec_encode(r, rec);
	if (reserve(t, n))
		append(t, rec, n);
}

void trace_put_gather(struct vdev_trace *t, const struct vdev_trace_rec *r,
		      const struct iovec *iov, int niov, uint32_t len)
{
	struct vdev_trace_rec head = *r;
	uint8_t rec[TRACE_MAX_FIXED];
	size_t n;

	if (t->error != 0)
		return;
	/* Encode the fixed part with an empty payload, then put the real length in its
	 * last four bytes: the bytes follow it on the wire (trace_layout.h). Nothing is
	 * allocated for the payload, however large. */
	head.data = NULL;
	head.len = 0;
	n = vdev_trace_rec_size(&head);
	if (n < 5 || n > sizeof(rec) || len > VDEV_TRACE_MAX_DATA) {
		trace_fail(t, -EINVAL, "a record could not be encoded");
		return;
	}
	vdev_trace_rec_encode(&head, rec);
	vdev_st32(rec + n - 4, len);
	if (!reserve(t, (uint64_t)n + len))
		return;
	append(t, rec, n);
	for (int i = 0; i < niov && len > 0; i++) {
		size_t k = iov[i].iov_len < len ? iov[i].iov_len : len;

		append(t, iov[i].iov_base, k);
		len -= (uint32_t)k;
	}
	/* An iovec shorter than it claimed (never from the library's own callers). */
	if (len > 0)
		trace_fail(t, -EINVAL, "record payload shorter than its length");
}

void trace_put_mem(struct vdev_trace *t, uint64_t gpa, const volatile void *hva, uint64_t len)
{
	struct vdev_trace_rec r = {.kind = VDEV_TR_MEM};
	const volatile uint8_t *p = hva;

	while (len > 0 && t->error == 0) {
		uint32_t k = len < VDEV_TRACE_MAX_DATA ? (uint32_t)len : VDEV_TRACE_MAX_DATA;
		struct iovec iov = {(void *)(uintptr_t)p, k};

		r.addr = gpa;
		trace_put_gather(t, &r, &iov, 1, k);
		gpa += k;
		p += k;
		len -= k;
	}
}

/* ---- attaching ---- */

static void emit_param(void *arg, const char *key, uint64_t value)
{
	struct vdev_trace_rec r = {.kind = VDEV_TR_PARAM, .value = value};

	r.data = (const uint8_t *)key;
	r.len = (uint32_t)strnlen(key, VDEV_TRACE_MAX_KEY + 1);
	trace_put(arg, &r);
}

void vdev_trace_emit_bytes(vdev_trace_param_fn emit, void *arg, const char *prefix,
			   const void *bytes, size_t len)
{
	const uint8_t *b = bytes;
	char key[VDEV_TRACE_MAX_KEY + 1];

	if (len == 0)
		return;
	snprintf(key, sizeof(key), "%s_len", prefix);
	emit(arg, key, len);
	for (size_t i = 0; i * 8 < len; i++) {
		uint8_t chunk[8] = {0};
		size_t n = len - i * 8 < 8 ? len - i * 8 : 8;

		memcpy(chunk, b + i * 8, n);
		snprintf(key, sizeof(key), "%s_%zu", prefix, i);
		emit(arg, key, vdev_ld64(chunk));
	}
}

/* Header, DEVICE and PARAM records, written before the recorder is attached. */
static void put_setup(struct vdev_trace *t)
{
	uint8_t hdr[VDEV_TRACE_HEADER_LEN];
	struct vdev_trace_rec r = {
		.kind = VDEV_TR_DEVICE,
		.type = t->type,
		.width = t->pci_mode,
		.bar = t->pci_flags,
	};

	vdev_trace_header_encode(hdr);
	if (reserve(t, sizeof(hdr)))
		append(t, hdr, sizeof(hdr));
	trace_put(t, &r);
	/* Without a description the trace still records; only a replay cannot rebuild
	 * the device. */
	if (t->describe != NULL)
		t->describe(t->dev, emit_param, t);
	flush(t);
}

static int open_output(const struct vdev_trace_config *cfg)
{
	int fd;

	if (cfg->path != NULL)
		fd = open(cfg->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	else
		fd = fcntl(cfg->fd, F_DUPFD_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

static void trace_free(struct vdev_trace *t)
{
	trace_rings_free(t);
	free(t->rings);
	free(t->ram);
	free(t->buf);
	free(t);
}

static struct vdev_trace *trace_alloc(const struct vdev_trace_subject *s,
				      const struct vdev_trace_config *cfg)
{
	struct vdev_trace *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->fd = -1;
	t->buf = malloc(TRACE_WRITE_BUF);
	if (t->buf == NULL || trace_rings_init(t, s->nvq) < 0) {
		trace_free(t);
		return NULL;
	}
	t->max_bytes = cfg->max_bytes != 0 ? cfg->max_bytes : TRACE_DEFAULT_MAX_BYTES;
	t->type = s->type;
	t->pci_mode = s->pci_mode;
	t->pci_flags = s->pci_flags;
	t->lock = s->lock;
	t->hook = s->hook;
	t->describe = s->describe;
	t->dev = s->dev;
	t->log = s->log;
	t->log_arg = s->log_arg;
	snprintf(t->name, sizeof(t->name), "%s", s->name != NULL ? s->name : "");
	return t;
}

int vdev_trace_recorder_open(const struct vdev_trace_subject *s,
			     const struct vdev_trace_config *cfg, struct vdev_trace **out)
{
	struct vdev_trace *t;
	int rc;

	*out = NULL;
	t = trace_alloc(s, cfg);
	if (t == NULL)
		return -ENOMEM;
	rc = open_output(cfg);
	if (rc < 0) {
		trace_free(t);
		return rc;
	}
	t->fd = rc;
	*out = t;
	return 0;
}

int vdev_trace_recorder_attach(struct vdev_trace *t)
{
	put_setup(t);
	if (t->error != 0)
		return t->error;
	t->hook(t->dev, t);
	t->attached = true;
	return 0;
}

void vdev_trace_recorder_discard(struct vdev_trace *t)
{
	close(t->fd);
	trace_free(t);
}

/* Take the device lock when the recorder is still attached. */
static void lock_dev(struct vdev_trace *t)
{
	if (t->attached)
		pthread_mutex_lock(t->lock);
}

static void unlock_dev(struct vdev_trace *t)
{
	if (t->attached)
		pthread_mutex_unlock(t->lock);
}

/* Declare the parts of [gpa, gpa + size) not declared yet, keeping t->ram disjoint and
 * sorted: a replay maps each RAM record as a region of its own and refuses overlaps. */
static int declare_ram(struct vdev_trace *t, uint64_t gpa, uint64_t size)
{
	uint64_t cur = gpa, end = gpa + size;
	size_t i = 0;

	while (cur < end) {
		uint64_t piece_end = end;
		struct vdev_trace_rec r = {.kind = VDEV_TR_RAM};

		/* Skip declared regions that end before cur. */
		while (i < t->nram && t->ram[i].gpa + t->ram[i].size <= cur)
			i++;
		if (i < t->nram && t->ram[i].gpa <= cur) {
			cur = t->ram[i].gpa + t->ram[i].size; /* already declared */
			continue;
		}
		if (i < t->nram && t->ram[i].gpa < piece_end)
			piece_end = t->ram[i].gpa;
		if (t->nram == TRACE_MAX_RAM)
			return -EINVAL;
		memmove(&t->ram[i + 1], &t->ram[i], (t->nram - i) * sizeof(t->ram[0]));
		t->ram[i] = (struct trace_ram){cur, piece_end - cur};
		t->nram++;
		r.addr = cur;
		r.value = piece_end - cur;
		trace_put(t, &r);
		cur = piece_end;
	}
	return 0;
}

VDEV_EXPORT int vdev_trace_add_ram(struct vdev_trace *t, uint64_t gpa, uint64_t size)
{
	int rc;

	if (t == NULL || size == 0 || gpa + size < gpa || gpa + size == 0)
		return -EINVAL;
	lock_dev(t);
	if (t->ram == NULL) {
		t->ram = calloc(TRACE_MAX_RAM, sizeof(*t->ram));
		if (t->ram == NULL) {
			unlock_dev(t);
			return -ENOMEM;
		}
	}
	rc = declare_ram(t, gpa, size);
	unlock_dev(t);
	return rc;
}

VDEV_EXPORT uint64_t vdev_trace_bytes(const struct vdev_trace *t)
{
	return t != NULL ? t->bytes : 0;
}

/* Let go of the device: no hook reaches this recorder any more. Device lock held. */
static void unhook(struct vdev_trace *t)
{
	if (t->attached)
		t->hook(t->dev, NULL);
	t->hook = NULL;
	trace_rings_free(t);
	t->attached = false;
	t->dev = NULL;
	t->describe = NULL;
	/* The host may go right after its devices: no log line from here on. */
	t->log = NULL;
}

void vdev_trace_detach(struct vdev_trace *t)
{
	flush(t);
	unhook(t);
}

VDEV_EXPORT int vdev_trace_stop(struct vdev_trace *t)
{
	pthread_mutex_t *lock;
	int rc;

	if (t == NULL)
		return 0;
	lock = t->attached ? t->lock : NULL;
	if (lock != NULL)
		pthread_mutex_lock(lock);
	flush(t);
	unhook(t);
	if (lock != NULL)
		pthread_mutex_unlock(lock);
	if (close(t->fd) != 0 && t->error == 0)
		t->error = -errno;
	rc = t->error;
	trace_free(t);
	return rc;
}

/* ---- entries ---- */

void vdev_trace_enter(struct vdev_trace *t)
{
	if (t->depth++ == 0 && t->error == 0)
		trace_rings_diff(t);
}

/* True when this leave ends the outermost entry and the record is to be written. */
static bool leaving(struct vdev_trace *t)
{
	if (t->depth == 0)
		return false; /* unbalanced: the recorder was attached mid-entry */
	return --t->depth == 0 && t->error == 0;
}

void vdev_trace_leave_cfg(struct vdev_trace *t, bool write, int off, int width, uint32_t value,
			  int rc)
{
	struct vdev_trace_rec r = {
		.kind = write ? VDEV_TR_CFG_WRITE : VDEV_TR_CFG_READ,
		.addr = (uint32_t)off,
		.width = (uint8_t)width,
		.value = value,
		.result = rc,
	};

	if (leaving(t))
		trace_put(t, &r);
}

void vdev_trace_leave_bar(struct vdev_trace *t, bool write, int bar, uint64_t off, int width,
			  uint64_t value)
{
	struct vdev_trace_rec r = {
		.kind = write ? VDEV_TR_BAR_WRITE : VDEV_TR_BAR_READ,
		.bar = (uint8_t)bar,
		.addr = off,
		.width = (uint8_t)width,
		.value = value,
	};

	if (leaving(t))
		trace_put(t, &r);
}

void vdev_trace_leave_notify(struct vdev_trace *t, int queue)
{
	struct vdev_trace_rec r = {.kind = VDEV_TR_NOTIFY, .queue = (uint16_t)queue};

	if (leaving(t))
		trace_put(t, &r);
}

void vdev_trace_leave_poll(struct vdev_trace *t)
{
	struct vdev_trace_rec r = {.kind = VDEV_TR_POLL};

	if (leaving(t))
		trace_put(t, &r);
}

void vdev_trace_leave_reset(struct vdev_trace *t)
{
	struct vdev_trace_rec r = {.kind = VDEV_TR_RESET};

	if (leaving(t))
		trace_put(t, &r);
}

void vdev_trace_leave_host(struct vdev_trace *t, int op, uint64_t a, uint64_t b)
{
	struct vdev_trace_rec r = {.kind = VDEV_TR_HOST, .width = (uint8_t)op, .addr = a,
				   .value = b};

	if (leaving(t))
		trace_put(t, &r);
}

/* ---- effects ---- */

void vdev_trace_mem_read(struct vdev_trace *t, uint64_t gpa, const void *hva, uint64_t len)
{
	if (t->error == 0)
		trace_put_mem(t, gpa, hva, len);
}

void vdev_trace_irq_msi(struct vdev_trace *t, uint64_t addr, uint32_t data)
{
	struct vdev_trace_rec r = {.kind = VDEV_TR_IRQ, .width = 1, .addr = addr, .value = data};

	trace_put(t, &r);
}

void vdev_trace_irq_intx(struct vdev_trace *t, int level)
{
	struct vdev_trace_rec r = {.kind = VDEV_TR_IRQ, .width = 2, .value = level ? 1 : 0};

	trace_put(t, &r);
}

void vdev_trace_complete(struct vdev_trace *t, int queue, uint16_t head, int result)
{
	struct vdev_trace_rec r = {.kind = VDEV_TR_COMPLETE, .queue = (uint16_t)queue,
				   .head = head, .result = result};

	trace_put(t, &r);
}

void vdev_trace_backend(struct vdev_trace *t, int op, int queue, int result, const void *data,
			uint32_t len)
{
	struct iovec iov = {(void *)(uintptr_t)data, data != NULL ? len : 0};

	vdev_trace_backend_iov(t, op, queue, result, &iov, 1, iov.iov_len);
}

void vdev_trace_backend_iov(struct vdev_trace *t, int op, int queue, int result,
			    const struct iovec *iov, int niov, uint64_t len)
{
	struct vdev_trace_rec r = {.kind = VDEV_TR_BACKEND, .width = (uint8_t)op,
				   .queue = (uint16_t)queue, .result = result};

	/* A backend never produces more than the largest record carries; clip if so. */
	if (len > VDEV_TRACE_MAX_DATA)
		len = VDEV_TRACE_MAX_DATA;
	trace_put_gather(t, &r, iov, niov, (uint32_t)len);
}

void vdev_trace_time(struct vdev_trace *t, uint64_t ns)
{
	struct vdev_trace_rec r = {.kind = VDEV_TR_TIME, .value = ns};

	/*
	 * Every reading inside an entry, repeated values included: a replay serves the
	 * TIME records of an access one per reading. Readings outside any entry (the
	 * embedder asking for the next timeout) are not replayed, so not recorded.
	 */
	if (t->depth > 0)
		trace_put(t, &r);
}
