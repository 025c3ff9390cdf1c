/* SPDX-License-Identifier: BSD-3-Clause */
/* The host handle: validation of the embedder's callback table, guest-memory copies
 * that walk fragments, and the one place log lines are formatted. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/vmctx.h"
#include "util/common.h"
#include "vdev_config.h"

VDEV_EXPORT const char *vdev_version(void)
{
	return VDEV_VERSION_STRING;
}

/* Bytes of struct vdev_host_ops that a table of `version` has. */
static size_t host_ops_size(uint32_t version)
{
	if (version == 1)
		return offsetof(struct vdev_host_ops, now_ns);
	return sizeof(struct vdev_host_ops);
}

VDEV_EXPORT int vdev_vmctx_create(const struct vdev_host_ops *ops, void *opaque,
				  struct vmctx **out)
{
	struct vmctx *ctx;

	if (out == NULL)
		return -EINVAL;
	*out = NULL;
	if (ops == NULL || ops->version == 0 || ops->version > VDEV_HOST_OPS_VERSION ||
	    ops->translate == NULL)
		return -EINVAL;
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		return -ENOMEM;
	/* An older table is shorter: copy only what its version has, the rest stays 0. */
	memcpy(&ctx->ops, ops, host_ops_size(ops->version));
	ctx->opaque = opaque;
	ctx->log_level = VDEV_LOG_INFO;
	*out = ctx;
	return 0;
}

VDEV_EXPORT void vdev_vmctx_destroy(struct vmctx *ctx)
{
	free(ctx);
}

VDEV_EXPORT void vdev_vmctx_set_log_level(struct vmctx *ctx, enum vdev_log_level level)
{
	if (ctx == NULL)
		return;
	if (level > VDEV_LOG_DEBUG)
		level = VDEV_LOG_DEBUG;
	ctx->log_level = level;
}

VDEV_EXPORT void *vdev_vmctx_opaque(const struct vmctx *ctx)
{
	return ctx ? ctx->opaque : NULL;
}

static int copy_guest(struct vmctx *ctx, uint64_t gpa, void *buf, uint64_t len, bool to_guest)
{
	uint8_t *b = buf;

	while (len > 0) {
		void *hva;
		uint64_t n;
		int rc = vdev_ctx_translate(ctx, gpa, len,
					    to_guest ? VDEV_DMA_WRITE : VDEV_DMA_READ, &hva, &n);
		if (rc < 0)
			return -EFAULT;
		if (to_guest) {
			memcpy(hva, b, n);
			vdev_ctx_mark_dirty(ctx, gpa, n);
		} else {
			memcpy(b, hva, n);
		}
		b += n;
		gpa += n;
		len -= n;
	}
	return 0;
}

int vdev_ctx_read(struct vmctx *ctx, uint64_t gpa, void *buf, uint64_t len)
{
	return copy_guest(ctx, gpa, buf, len, false);
}

int vdev_ctx_write(struct vmctx *ctx, uint64_t gpa, const void *buf, uint64_t len)
{
	return copy_guest(ctx, gpa, (void *)buf, len, true);
}

int vdev_ctx_msi_send(struct vmctx *ctx, struct pci_vdev *dev, uint64_t addr, uint32_t data)
{
	if (ctx->ops.msi_send == NULL)
		return -ENOSYS;
	return ctx->ops.msi_send(ctx->opaque, dev, addr, data) < 0 ? -EIO : 0;
}

void vdev_ctx_intx_set(struct vmctx *ctx, struct pci_vdev *dev, int level)
{
	if (ctx->ops.intx_set != NULL)
		ctx->ops.intx_set(ctx->opaque, dev, level);
}

void vdev_ctx_notify_region(struct vmctx *ctx, struct pci_vdev *dev, int queue, int baridx,
			    uint64_t offset, int width, uint32_t datamatch, bool add)
{
	if (ctx->ops.notify_region != NULL)
		ctx->ops.notify_region(ctx->opaque, dev, queue, baridx, offset, width, datamatch,
				       add);
}

uint64_t vdev_ctx_now_ns(struct vmctx *ctx)
{
	struct timespec ts;

	if (ctx->ops.now_ns != NULL)
		return ctx->ops.now_ns(ctx->opaque);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void vdev_ctx_vlog(struct vmctx *ctx, enum vdev_log_level level, const char *devname,
		   const char *fmt, va_list ap)
{
	char msg[256];

	if (ctx == NULL || !vdev_ctx_log_enabled(ctx, level))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	ctx->ops.log(ctx->opaque, level, devname ? devname : "", msg);
}

void vdev_ctx_log(struct vmctx *ctx, enum vdev_log_level level, const char *devname,
		  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdev_ctx_vlog(ctx, level, devname, fmt, ap);
	va_end(ap);
}
