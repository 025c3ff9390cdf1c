/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The null virtio-blk backend: a disk of a given size that stores nothing. Every
 * request completes successfully inside submit(), without touching guest memory
 * (reads leave the buffers as they were, as QEMU's null-co does without
 * read-zeroes). It measures what the device and its transport cost without I/O.
 */
#include <errno.h>
#include <stdlib.h>

#include "devices/blk/blk_internal.h"
#include "util/common.h"

struct null_be {
	uint64_t size;
};

static int null_info(void *opaque, struct vdev_blk_backend_info *out)
{
	struct null_be *nb = opaque;

	*out = (struct vdev_blk_backend_info){
		.size = nb->size, .discard = true, .write_zeroes = true};
	return 0;
}

static int null_queue_open(void *opaque, int q, void **qctx)
{
	(void)q;
	*qctx = opaque;
	return 0;
}

static int null_submit(void *qctx, struct vdev_blk_io *io)
{
	(void)qctx;
	vdev_blk_io_complete(io, 0);
	return 0;
}

/* Nothing is ever held: every io completed inside submit(). */
static void null_quiesce(void *qctx)
{
	(void)qctx;
}

static void null_queue_close(void *qctx)
{
	(void)qctx;
}

static void null_destroy(void *opaque)
{
	free(opaque);
}

bool blk_null_backend_is(const struct vdev_blk_backend *be)
{
	return be->submit == null_submit;
}

VDEV_EXPORT int vdev_blk_null_backend(uint64_t size, struct vdev_blk_backend *out)
{
	struct null_be *nb;

	if (out == NULL || size < VDEV_BLK_SECTOR_SIZE)
		return -EINVAL;
	nb = calloc(1, sizeof(*nb));
	if (nb == NULL)
		return -ENOMEM;
	nb->size = size;
	*out = (struct vdev_blk_backend){
		.version = VDEV_BLK_BACKEND_VERSION,
		.opaque = nb,
		.info = null_info,
		.queue_open = null_queue_open,
		.submit = null_submit,
		.quiesce = null_quiesce,
		.queue_close = null_queue_close,
		.destroy = null_destroy,
	};
	return 0;
}
