/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The file source: a character device (/dev/urandom, /dev/hwrng), a FIFO, or a
 * regular file (deterministic tests). Opened non-blocking so a slow device answers
 * EAGAIN instead of stalling the embedder's loop; the device then waits for the
 * descriptor to become readable. A regular file at its end either starts again
 * (`wrap`) or reports -ENODATA, and is read on from the same offset when it grows.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/vmctx.h"
#include "devices/rng/rng_internal.h"
#include "util/common.h"

struct rng_file {
	int fd;
	bool regular;
	bool wrap;
};

static ssize_t file_read(void *opaque, void *buf, size_t len)
{
	struct rng_file *f = opaque;
	ssize_t n = read(f->fd, buf, len);

	if (n > 0)
		return n;
	if (n < 0)
		return -errno;
	if (!f->regular || !f->wrap)
		return -ENODATA;
	/* End of a regular file with wrap: once more from the start. */
	if (lseek(f->fd, 0, SEEK_SET) < 0)
		return -errno;
	n = read(f->fd, buf, len);
	if (n < 0)
		return -errno;
	return n > 0 ? n : -ENODATA; /* the file was truncated to nothing */
}

/* Only a descriptor whose readiness means something: a regular file always polls
 * readable, which would turn waiting into spinning. */
static int file_pollfd(void *opaque)
{
	struct rng_file *f = opaque;

	return f->regular ? -1 : f->fd;
}

static void file_close(void *opaque)
{
	struct rng_file *f = opaque;

	close(f->fd);
	free(f);
}

static int refuse(struct vmctx *ctx, const char *devname, const char *path, int rc,
		  const char *why)
{
	char buf[96];

	if (why == NULL)
		why = strerror_r(-rc, buf, sizeof(buf)); /* GNU: returns the message */
	if (ctx != NULL)
		vdev_ctx_log(ctx, VDEV_LOG_ERROR, devname ? devname : "",
			     "rng: path: '%s': %s", path, why);
	return rc;
}

/* What can be told without opening anything: the path names something readable. */
static int check_kind(struct vmctx *ctx, const char *devname, const char *path,
		      const struct stat *st)
{
	if (S_ISDIR(st->st_mode))
		return refuse(ctx, devname, path, -EINVAL, "is a directory");
	if (S_ISREG(st->st_mode) && st->st_size == 0)
		return refuse(ctx, devname, path, -EINVAL, "is an empty file");
	return 0;
}

int rng_file_open(struct vmctx *ctx, const char *devname, const char *path, bool wrap,
		  struct vdev_rng_backend *out)
{
	struct rng_file *f;
	struct stat st;
	int fd, rc;

	if (path == NULL || out == NULL || path[0] == '\0')
		return refuse(ctx, devname, path ? path : "(null)", -EINVAL, "is empty");
	if (stat(path, &st) < 0)
		return refuse(ctx, devname, path, -errno, NULL);
	rc = check_kind(ctx, devname, path, &st);
	if (rc < 0)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return refuse(ctx, devname, path, -errno, NULL);
	/* Check what was opened, not what the name meant a moment ago. */
	rc = fstat(fd, &st) < 0 ? -errno : check_kind(ctx, devname, path, &st);
	f = rc == 0 ? calloc(1, sizeof(*f)) : NULL;
	if (f == NULL) {
		close(fd);
		return rc < 0 ? rc : -ENOMEM;
	}
	f->fd = fd;
	f->regular = S_ISREG(st.st_mode);
	f->wrap = wrap;
	*out = (struct vdev_rng_backend){
		.version = VDEV_RNG_BACKEND_VERSION,
		.opaque = f,
		.read = file_read,
		.pollfd = file_pollfd,
		.close = file_close,
	};
	return 0;
}

VDEV_EXPORT int vdev_rng_backend_file(const char *path, bool wrap, struct vdev_rng_backend *out)
{
	return rng_file_open(NULL, NULL, path, wrap, out);
}
