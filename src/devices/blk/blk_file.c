/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The default virtio-blk backend: a raw image in a regular file or a block device,
 * served by a small pool of worker threads per queue doing plain blocking syscalls
 * (preadv, pwritev, fdatasync, fallocate). Workers touch guest memory only through
 * the iovecs of the request they execute, and quiesce() waits for those to finish,
 * so nothing lands in guest memory after a device reset.
 *
 * Requests that cannot block are served inline instead, on the device's thread inside
 * submit(): everything but discard and write-zeroes on a memory-backed file (tmpfs,
 * ramfs: a copy, no device behind it), and reads the page cache holds on other files
 * (preadv2 with RWF_NOWAIT, where the file system supports it). Handing those to a
 * worker cost more than the copy: a futex wake-up, two context switches, the
 * completion queue's lock and eventfd and another event-loop turn per request.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/iov.h"
#include "devices/blk/blk_internal.h"
#include "util/common.h"

#define FILE_DEFAULT_WORKERS 4
#define ZERO_CHUNK 65536
#define ZERO_IOV 16
/* statfs(2) magic numbers of memory-backed file systems (linux/magic.h). */
#define FS_MAGIC_TMPFS 0x01021994
#define FS_MAGIC_RAMFS 0x858458f6

/* Written by nobody: the source of plain zero writes when fallocate cannot help. */
static const uint8_t zero_chunk[ZERO_CHUNK];

struct file_be {
	int fd;
	bool readonly;
	bool is_blkdev;
	unsigned workers;
	uint64_t size;
	uint32_t block_size;
	bool memory_backed; /* tmpfs/ramfs: serve reads, writes and flushes inline */
	bool try_nowait;    /* reads may try the page cache inline (RWF_NOWAIT) */
};

/* One queue's pool: a FIFO of ios (linked through backend_data[0]) and its workers. */
struct file_queue {
	struct file_be *fb;
	pthread_mutex_t lock;
	pthread_cond_t work;      /* an io was queued, or stop */
	pthread_cond_t idle;      /* `executing` dropped to 0 */
	struct vdev_blk_io *head;
	struct vdev_blk_io **tail;
	unsigned executing;       /* ios a worker is running right now */
	bool stop;
	unsigned nthreads;
	pthread_t threads[];
};

/* ---- the I/O itself (worker threads) ---- */

/* Run preadv/pwritev to completion over iov, looping over short transfers. A read
 * past the end of a regular file yields zeroes, as a sparse disk would. */
static int rw_all(int fd, bool write, const struct iovec *iov, int cnt, uint64_t off)
{
	struct iovec local[BLK_IO_IOV_MAX];
	const struct iovec *cur = iov;
	int idx = 0;

	while (idx < cnt) {
		ssize_t n = write ? pwritev(fd, cur + idx, cnt - idx, (off_t)off)
				  : preadv(fd, cur + idx, cnt - idx, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0) {
			if (write)
				return -EIO;
			for (int i = idx; i < cnt; i++) /* end of file */
				memset(cur[i].iov_base, 0, cur[i].iov_len);
			return 0;
		}
		off += (uint64_t)n;
		/* Short transfer (rare): continue from a private, trimmed copy. */
		if (cur == iov) {
			memcpy(local, iov, sizeof(*iov) * (size_t)cnt);
			cur = local;
		}
		idx += vdev_iov_skip(local + idx, cnt - idx, (size_t)n);
	}
	return 0;
}

static int datasync(int fd)
{
	while (fdatasync(fd) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

static bool unsupported(int err)
{
	return err == EOPNOTSUPP || err == ENOTSUP || err == ENOSYS || err == EINVAL ||
	       err == ENOTTY;
}

/* Plain zero writes, ZERO_CHUNK * ZERO_IOV bytes per syscall. */
static int write_zeroes_slow(int fd, uint64_t off, uint64_t len)
{
	struct iovec iov[ZERO_IOV];

	while (len > 0) {
		int cnt = 0;
		uint64_t batch = 0;

		while (cnt < ZERO_IOV && batch < len) {
			uint64_t l = len - batch < ZERO_CHUNK ? len - batch : ZERO_CHUNK;

			iov[cnt].iov_base = (void *)zero_chunk;
			iov[cnt++].iov_len = (size_t)l;
			batch += l;
		}
		int rc = rw_all(fd, true, iov, cnt, off);
		if (rc < 0)
			return rc;
		off += batch;
		len -= batch;
	}
	return 0;
}

static int blkdev_ioctl_range(int fd, unsigned long req, uint64_t off, uint64_t len)
{
	uint64_t r[2] = {off, len};

	return ioctl(fd, req, r) < 0 ? -errno : 0;
}

static int do_discard(struct file_be *fb, const struct vdev_blk_range *r)
{
	int rc = 0;

	if (fallocate(fb->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)r->offset,
		      (off_t)r->len) == 0)
		return 0;
	rc = -errno;
	if (unsupported(-rc) && fb->is_blkdev)
		rc = blkdev_ioctl_range(fb->fd, BLKDISCARD, r->offset, r->len);
	/* Discard is a hint: storage that cannot deallocate simply keeps the data. */
	return rc < 0 && unsupported(-rc) ? 0 : rc;
}

static int do_write_zeroes(struct file_be *fb, const struct vdev_blk_range *r, bool unmap)
{
	int rc;

	if (unmap && fallocate(fb->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       (off_t)r->offset, (off_t)r->len) == 0)
		return 0;
	if (fallocate(fb->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)r->offset,
		      (off_t)r->len) == 0)
		return 0;
	rc = -errno;
	if (!unsupported(-rc))
		return rc;
	if (fb->is_blkdev && blkdev_ioctl_range(fb->fd, BLKZEROOUT, r->offset, r->len) == 0)
		return 0;
	return write_zeroes_slow(fb->fd, r->offset, r->len);
}

static int execute(struct file_be *fb, const struct vdev_blk_io *io)
{
	int rc = 0;

	switch (io->op) {
	case VDEV_BLK_OP_READ:
		return rw_all(fb->fd, false, io->iov, io->iovcnt, io->offset);
	case VDEV_BLK_OP_WRITE:
		if (fb->readonly)
			return -EBADF;
		rc = rw_all(fb->fd, true, io->iov, io->iovcnt, io->offset);
		break;
	case VDEV_BLK_OP_FLUSH:
		return fb->readonly ? 0 : datasync(fb->fd);
	case VDEV_BLK_OP_DISCARD:
	case VDEV_BLK_OP_WRITE_ZEROES:
		if (fb->readonly)
			return -EBADF;
		for (int i = 0; i < io->nranges && rc == 0; i++)
			rc = io->op == VDEV_BLK_OP_DISCARD
				     ? do_discard(fb, &io->ranges[i])
				     : do_write_zeroes(fb, &io->ranges[i], io->unmap);
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (rc == 0 && io->sync)
		rc = datasync(fb->fd);
	return rc;
}

static void *worker_main(void *arg)
{
	struct file_queue *fq = arg;

	pthread_mutex_lock(&fq->lock);
	for (;;) {
		struct vdev_blk_io *io;
		int rc;

		while (fq->head == NULL && !fq->stop)
			pthread_cond_wait(&fq->work, &fq->lock);
		if (fq->head == NULL)
			break; /* stopping, and everything queued was done */
		io = fq->head;
		fq->head = io->backend_data[0];
		if (fq->head == NULL)
			fq->tail = &fq->head;
		fq->executing++;
		pthread_mutex_unlock(&fq->lock);
		rc = execute(fq->fb, io);
		vdev_blk_io_complete(io, rc); /* io is the device's again */
		pthread_mutex_lock(&fq->lock);
		if (--fq->executing == 0)
			pthread_cond_broadcast(&fq->idle);
	}
	pthread_mutex_unlock(&fq->lock);
	return NULL;
}

/* ---- backend ops (device thread) ---- */

static int file_info(void *opaque, struct vdev_blk_backend_info *out)
{
	struct file_be *fb = opaque;

	*out = (struct vdev_blk_backend_info){
		.size = fb->size,
		.readonly = fb->readonly,
		.discard = !fb->readonly,
		.write_zeroes = !fb->readonly,
		.block_size = fb->block_size,
	};
	return 0;
}

static void file_queue_free(struct file_queue *fq)
{
	pthread_cond_destroy(&fq->idle);
	pthread_cond_destroy(&fq->work);
	pthread_mutex_destroy(&fq->lock);
	free(fq);
}

static void file_queue_close(void *qctx)
{
	struct file_queue *fq = qctx;

	pthread_mutex_lock(&fq->lock);
	fq->stop = true;
	pthread_cond_broadcast(&fq->work);
	pthread_mutex_unlock(&fq->lock);
	/* Workers drain the FIFO before they leave, so every io gets completed. */
	for (unsigned i = 0; i < fq->nthreads; i++)
		pthread_join(fq->threads[i], NULL);
	file_queue_free(fq);
}

static int file_queue_open(void *opaque, int q, void **qctx)
{
	struct file_be *fb = opaque;
	struct file_queue *fq;

	(void)q;
	fq = calloc(1, sizeof(*fq) + sizeof(pthread_t) * fb->workers);
	if (fq == NULL)
		return -ENOMEM;
	fq->fb = fb;
	fq->tail = &fq->head;
	if (pthread_mutex_init(&fq->lock, NULL) != 0) {
		free(fq);
		return -ENOMEM;
	}
	pthread_cond_init(&fq->work, NULL);
	pthread_cond_init(&fq->idle, NULL);
	for (unsigned i = 0; i < fb->workers; i++) {
		int rc = pthread_create(&fq->threads[i], NULL, worker_main, fq);

		if (rc != 0) {
			if (fq->nthreads == 0) {
				file_queue_free(fq);
				return -rc;
			}
			break; /* fewer workers still work */
		}
		fq->nthreads++;
	}
	*qctx = fq;
	return 0;
}

/* A page-cache read that must not block: true when it was served in full. */
static bool read_nowait(struct file_be *fb, const struct vdev_blk_io *io)
{
	ssize_t n = preadv2(fb->fd, io->iov, io->iovcnt, (off_t)io->offset, RWF_NOWAIT);

	if (n >= 0 && (uint64_t)n == io->len)
		return true;
	/* Not supported here: stop trying. EAGAIN or short (not all cached, or the end
	 * of the file): a worker does it again, whole, which is harmless for a read. */
	if (n < 0 && (errno == EOPNOTSUPP || errno == EINVAL))
		__atomic_store_n(&fb->try_nowait, false, __ATOMIC_RELAXED);
	return false;
}

/* Serve io on this thread when that cannot block; true when it was completed. */
static bool try_inline(struct file_be *fb, struct vdev_blk_io *io)
{
	if (fb->memory_backed && (io->op == VDEV_BLK_OP_READ || io->op == VDEV_BLK_OP_WRITE ||
				  io->op == VDEV_BLK_OP_FLUSH)) {
		vdev_blk_io_complete(io, execute(fb, io));
		return true;
	}
	if (io->op == VDEV_BLK_OP_READ && __atomic_load_n(&fb->try_nowait, __ATOMIC_RELAXED) &&
	    read_nowait(fb, io)) {
		vdev_blk_io_complete(io, 0);
		return true;
	}
	return false;
}

static int file_submit(void *qctx, struct vdev_blk_io *io)
{
	struct file_queue *fq = qctx;

	if (try_inline(fq->fb, io))
		return 0;
	io->backend_data[0] = NULL;
	pthread_mutex_lock(&fq->lock);
	if (fq->stop) {
		pthread_mutex_unlock(&fq->lock);
		return -ESHUTDOWN;
	}
	*fq->tail = io;
	fq->tail = (struct vdev_blk_io **)&io->backend_data[0];
	pthread_cond_signal(&fq->work);
	pthread_mutex_unlock(&fq->lock);
	return 0;
}

static void file_quiesce(void *qctx)
{
	struct file_queue *fq = qctx;
	struct vdev_blk_io *io, *next;

	pthread_mutex_lock(&fq->lock);
	io = fq->head;
	fq->head = NULL;
	fq->tail = &fq->head;
	/* What a worker is executing finishes (a bounded syscall); nothing new starts. */
	while (fq->executing > 0)
		pthread_cond_wait(&fq->idle, &fq->lock);
	pthread_mutex_unlock(&fq->lock);
	for (; io != NULL; io = next) {
		next = io->backend_data[0];
		vdev_blk_io_complete(io, -ECANCELED);
	}
}

static void file_destroy(void *opaque)
{
	struct file_be *fb = opaque;

	/* Writes the guest saw completed in writeback mode reach storage now. */
	if (!fb->readonly)
		(void)datasync(fb->fd);
	close(fb->fd);
	free(fb);
}

/* Size and logical block size of what fd names; -EINVAL for anything but a regular
 * file or a block device. */
static int probe(struct file_be *fb)
{
	struct stat st;

	if (fstat(fb->fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode)) {
		struct statfs sfs;

		fb->size = (uint64_t)st.st_size;
		if (fstatfs(fb->fd, &sfs) == 0)
			fb->memory_backed = sfs.f_type == FS_MAGIC_TMPFS ||
					    sfs.f_type == FS_MAGIC_RAMFS;
		fb->try_nowait = true;
		return 0;
	}
	if (S_ISBLK(st.st_mode)) {
		int lbs = 0;

		if (ioctl(fb->fd, BLKGETSIZE64, &fb->size) < 0)
			return -errno;
		if (ioctl(fb->fd, BLKSSZGET, &lbs) == 0 && lbs > 0)
			fb->block_size = (uint32_t)lbs;
		fb->is_blkdev = true;
		return 0;
	}
	return -EINVAL;
}

bool blk_file_backend_is(const struct vdev_blk_backend *be)
{
	return be->submit == file_submit;
}

VDEV_EXPORT int vdev_blk_file_backend(const char *path, bool readonly, unsigned workers,
				      struct vdev_blk_backend *out)
{
	return blk_file_backend_open(path, readonly, workers, false, out);
}

int blk_file_backend_open(const char *path, bool readonly, unsigned workers, bool no_inline,
			  struct vdev_blk_backend *out)
{
	struct file_be *fb;
	int rc;

	if (path == NULL || *path == '\0' || out == NULL || workers > VDEV_BLK_MAX_WORKERS)
		return -EINVAL;
	fb = calloc(1, sizeof(*fb));
	if (fb == NULL)
		return -ENOMEM;
	fb->readonly = readonly;
	fb->workers = workers ? workers : FILE_DEFAULT_WORKERS;
	/* No O_CREAT: a missing image is an error, never silently a new empty disk. */
	fb->fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fb->fd < 0) {
		rc = -errno;
		free(fb);
		return rc;
	}
	rc = probe(fb);
	if (rc < 0) {
		close(fb->fd);
		free(fb);
		return rc;
	}
	if (no_inline)
		fb->memory_backed = fb->try_nowait = false;
	*out = (struct vdev_blk_backend){
		.version = VDEV_BLK_BACKEND_VERSION,
		.opaque = fb,
		.info = file_info,
		.queue_open = file_queue_open,
		.submit = file_submit,
		.quiesce = file_quiesce,
		.queue_close = file_queue_close,
		.destroy = file_destroy,
	};
	return 0;
}
