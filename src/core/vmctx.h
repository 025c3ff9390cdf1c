/* SPDX-License-Identifier: BSD-3-Clause */
/* Library-internal view of the host handle: thin wrappers over the embedder's
 * callbacks, so no other file calls a host callback directly. */
#ifndef VDEV_SRC_CORE_VMCTX_H
#define VDEV_SRC_CORE_VMCTX_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>

#include "vdev/host.h"

struct vmctx {
	struct vdev_host_ops ops;
	void *opaque;
	enum vdev_log_level log_level;
};

/*
 * Translate one fragment: 0 with *hva and *contig set (1 <= *contig <= len), or <0.
 * Inline: it runs once per descriptor on the request path.
 */
static inline int vdev_ctx_translate(struct vmctx *ctx, uint64_t gpa, uint64_t len,
				     enum vdev_dma_dir dir, void **hva, uint64_t *contig)
{
	void *p = NULL;
	uint64_t n = 0;
	int rc;

	if (len == 0 || gpa + len < gpa)
		return -EFAULT;
	rc = ctx->ops.translate(ctx->opaque, gpa, len, dir, &p, &n);
	/* A host callback that reports nonsense is treated like a failed translation. */
	if (rc != 0 || p == NULL || n == 0 || n > len)
		return rc < 0 ? rc : -EFAULT;
	*hva = p;
	*contig = n;
	return 0;
}

/* Copy guest memory in or out, fragment by fragment. 0, or -EFAULT when any part of
 * the range is not RAM (nothing is partially reported as success). */
int vdev_ctx_read(struct vmctx *ctx, uint64_t gpa, void *buf, uint64_t len);
int vdev_ctx_write(struct vmctx *ctx, uint64_t gpa, const void *buf, uint64_t len);

static inline void vdev_ctx_mark_dirty(struct vmctx *ctx, uint64_t gpa, uint64_t len)
{
	if (ctx->ops.mark_dirty != NULL && len > 0)
		ctx->ops.mark_dirty(ctx->opaque, gpa, len);
}

/* Interrupt delivery. msi_send returns 0, or <0 when refused or there is no callback. */
int vdev_ctx_msi_send(struct vmctx *ctx, struct pci_vdev *dev, uint64_t addr, uint32_t data);
void vdev_ctx_intx_set(struct vmctx *ctx, struct pci_vdev *dev, int level);
void vdev_ctx_notify_region(struct vmctx *ctx, struct pci_vdev *dev, int queue, int baridx,
			    uint64_t offset, int width, uint32_t datamatch, bool add);

/* The devices' clock: the host's now_ns callback (version 2), else CLOCK_MONOTONIC.
 * Device code reads time only through here, so a replay controls it. */
uint64_t vdev_ctx_now_ns(struct vmctx *ctx);

/* Logging with printf formatting; cheap when the level is filtered out. */
void vdev_ctx_log(struct vmctx *ctx, enum vdev_log_level level, const char *devname,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void vdev_ctx_vlog(struct vmctx *ctx, enum vdev_log_level level, const char *devname,
		   const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));
static inline int vdev_ctx_log_enabled(const struct vmctx *ctx, enum vdev_log_level level)
{
	return ctx->ops.log != NULL && level <= ctx->log_level;
}

#endif
