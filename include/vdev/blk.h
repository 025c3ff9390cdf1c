/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-blk: a block device served from a raw image file or block device (the default
 * POSIX backend, a small worker-thread pool per queue), or from any backend the
 * embedder plugs in through struct vdev_blk_backend.
 *
 * Requests travel asynchronously: the device parses and checks a chain on the
 * embedder's thread, hands the backend a struct vdev_blk_io whose buffers point into
 * guest memory, and the backend finishes it later, from any thread, with
 * vdev_blk_io_complete(). The status byte and the used ring are written by
 * vdev_dev_poll() on the embedder's thread, and only when the driver has not reset
 * the device meanwhile (HOSTILE.md H12); a request the library's own backends (file,
 * null) complete inside submit(), on that same thread, is answered at once instead.
 *
 * Malformed requests never reach the backend: they get VDEV_BLK_S_IOERR or
 * VDEV_BLK_S_UNSUPP in their status byte, or, when the chain has no writable status
 * byte, go back on the used ring with length 0 (HOSTILE.md H36).
 */
#ifndef VDEV_BLK_H
#define VDEV_BLK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vdev/device.h"
#include "vdev/virtio_pci.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Feature bits of the block device (masks; prefixed so <linux/virtio_blk.h> can coexist). */
#define VDEV_BLK_F_SIZE_MAX (1ULL << 1)
#define VDEV_BLK_F_SEG_MAX (1ULL << 2)
#define VDEV_BLK_F_GEOMETRY (1ULL << 4)
#define VDEV_BLK_F_RO (1ULL << 5)
#define VDEV_BLK_F_BLK_SIZE (1ULL << 6)
#define VDEV_BLK_F_FLUSH (1ULL << 9)
#define VDEV_BLK_F_TOPOLOGY (1ULL << 10)
#define VDEV_BLK_F_CONFIG_WCE (1ULL << 11)
#define VDEV_BLK_F_MQ (1ULL << 12)
#define VDEV_BLK_F_DISCARD (1ULL << 13)
#define VDEV_BLK_F_WRITE_ZEROES (1ULL << 14)

/* Request types (the first field of the request header). */
#define VDEV_BLK_T_IN 0
#define VDEV_BLK_T_OUT 1
#define VDEV_BLK_T_FLUSH 4
#define VDEV_BLK_T_GET_ID 8
#define VDEV_BLK_T_DISCARD 11
#define VDEV_BLK_T_WRITE_ZEROES 13

/* Status byte values (the last byte of every request). */
#define VDEV_BLK_S_OK 0
#define VDEV_BLK_S_IOERR 1
#define VDEV_BLK_S_UNSUPP 2

/* Discard / write-zeroes segment flags. */
#define VDEV_BLK_WZ_F_UNMAP 1u

#define VDEV_BLK_SECTOR_SIZE 512u
#define VDEV_BLK_ID_BYTES 20u   /* GET_ID answer: the serial, zero-padded */
#define VDEV_BLK_HDR_SIZE 16u   /* le32 type, le32 ioprio, le64 sector */
#define VDEV_BLK_SEG_SIZE 16u   /* discard/write-zeroes segment: le64, le32, le32 */

/* Device configuration layout (little-endian), as the driver reads it. */
#define VDEV_BLK_CFG_CAPACITY 0          /* le64, in 512-byte sectors */
#define VDEV_BLK_CFG_SIZE_MAX 8          /* le32 */
#define VDEV_BLK_CFG_SEG_MAX 12          /* le32 */
#define VDEV_BLK_CFG_GEOMETRY 16         /* le16 cylinders, u8 heads, u8 sectors */
#define VDEV_BLK_CFG_BLK_SIZE 20         /* le32 */
#define VDEV_BLK_CFG_PHYS_BLOCK_EXP 24   /* u8 */
#define VDEV_BLK_CFG_ALIGNMENT_OFFSET 25 /* u8 */
#define VDEV_BLK_CFG_MIN_IO_SIZE 26      /* le16 */
#define VDEV_BLK_CFG_OPT_IO_SIZE 28      /* le32 */
#define VDEV_BLK_CFG_WRITEBACK 32        /* u8, writable with CONFIG_WCE */
#define VDEV_BLK_CFG_NUM_QUEUES 34       /* le16 */
#define VDEV_BLK_CFG_MAX_DISCARD_SECTORS 36
#define VDEV_BLK_CFG_MAX_DISCARD_SEG 40
#define VDEV_BLK_CFG_DISCARD_ALIGNMENT 44
#define VDEV_BLK_CFG_MAX_WZ_SECTORS 48
#define VDEV_BLK_CFG_MAX_WZ_SEG 52
#define VDEV_BLK_CFG_WZ_MAY_UNMAP 56     /* u8 */
#define VDEV_BLK_CFG_LEN 60              /* bytes of device config served */

/* Limits of what vdev_blk_create() accepts. */
#define VDEV_BLK_MAX_QUEUES 64
#define VDEV_BLK_MAX_QUEUE_SIZE 1024
#define VDEV_BLK_MAX_SEG_MAX 1000
#define VDEV_BLK_MAX_RANGE_SEGS 256 /* max_discard_seg / max_write_zeroes_seg */
#define VDEV_BLK_MAX_WORKERS 64

/* ---------------- backends ---------------- */

enum vdev_blk_op {
	VDEV_BLK_OP_READ = 1,         /* fill iov from [offset, offset + len) */
	VDEV_BLK_OP_WRITE = 2,        /* store iov at [offset, offset + len) */
	VDEV_BLK_OP_FLUSH = 3,        /* make every completed write stable */
	VDEV_BLK_OP_DISCARD = 4,      /* ranges may be deallocated; contents undefined */
	VDEV_BLK_OP_WRITE_ZEROES = 5, /* ranges read back as zeroes */
};

/* One byte range of a discard or write-zeroes request. */
struct vdev_blk_range {
	uint64_t offset; /* bytes */
	uint64_t len;    /* bytes */
};

/*
 * One request as a backend sees it. Every field is already checked: ranges lie
 * inside the capacity and nothing overflows. `iov` points into guest memory; the
 * backend may touch it only until it calls vdev_blk_io_complete(), or until its
 * quiesce() returns, whichever comes first.
 */
struct vdev_blk_io {
	uint32_t op;       /* enum vdev_blk_op */
	uint16_t queue;    /* the virtqueue it came from */
	bool sync;         /* WRITE, DISCARD, WRITE_ZEROES: writethrough mode, the data
			      must be stable when the request completes */
	bool unmap;        /* WRITE_ZEROES: the range may be deallocated */
	uint64_t offset;   /* READ/WRITE: bytes from the start of the disk */
	uint64_t len;      /* READ/WRITE: bytes, the sum of the iov lengths */
	const struct iovec *iov;
	int iovcnt;
	const struct vdev_blk_range *ranges; /* DISCARD/WRITE_ZEROES */
	int nranges;
	void *backend_data[2]; /* the backend's own, while it holds the request */
};

/*
 * Finish a request, from any thread, exactly once per submitted io. `result` is 0,
 * -EOPNOTSUPP (the guest sees UNSUPP) or another negative errno (IOERR). The io must
 * not be touched afterwards.
 */
void vdev_blk_io_complete(struct vdev_blk_io *io, int result);

/*
 * The head index of the descriptor chain `io` came from: unique among the requests in
 * flight on its queue, and what a register-access trace names a completion by. Valid
 * while the backend holds the io.
 */
uint16_t vdev_blk_io_head(const struct vdev_blk_io *io);

/* What a backend tells the device about its storage, once, at create time. */
struct vdev_blk_backend_info {
	uint64_t size;       /* bytes; the capacity is size / 512 */
	bool readonly;       /* the device then offers RO and refuses writes itself */
	bool discard;        /* DISCARD may be offered */
	bool write_zeroes;   /* WRITE_ZEROES may be offered */
	uint32_t block_size; /* the storage's logical block size, 0 when unknown */
};

#define VDEV_BLK_BACKEND_VERSION 1

/*
 * A backend. The device calls queue_open() once per virtqueue at create time (one
 * backend context per queue) and then submit() with that context, always under the
 * device lock on the embedder's thread. Ownership: vdev_blk_create() takes the
 * backend over only when it succeeds (vdev_dev_destroy() then calls quiesce() and
 * queue_close() for each queue, and destroy()); on failure the caller still owns it.
 */
struct vdev_blk_backend {
	uint32_t version; /* VDEV_BLK_BACKEND_VERSION */
	void *opaque;
	/* Required. */
	int (*info)(void *opaque, struct vdev_blk_backend_info *out);
	/* Required: a context for queue `q` (0 .. num_queues - 1). 0 or a negative errno. */
	int (*queue_open)(void *opaque, int q, void **qctx);
	/*
	 * Required: start `io`. Return 0 when accepted (vdev_blk_io_complete() follows,
	 * possibly before submit() returns), or a negative errno when refused (the
	 * device completes it with IOERR itself; the backend must not).
	 */
	int (*submit)(void *qctx, struct vdev_blk_io *io);
	/*
	 * Required: the driver reset the device. Return only when no io submitted so far
	 * is touching its iov any more; ios not started yet should be completed without
	 * being started (any result: the device drops them).
	 */
	void (*quiesce)(void *qctx);
	/* Required: complete every io still held, stop, free the context. */
	void (*queue_close)(void *qctx);
	/* Optional: make completed writes stable and free everything. */
	void (*destroy)(void *opaque);
};

/*
 * The default POSIX backend on a regular file or a block device (fstat, BLKGETSIZE64),
 * opened O_RDONLY when `readonly`. Each queue gets `workers` threads (0: 4) doing
 * preadv/pwritev/fdatasync/fallocate (PUNCH_HOLE for discard, ZERO_RANGE or
 * PUNCH_HOLE for write zeroes, with BLKDISCARD/BLKZEROOUT and plain zero writes as
 * fall-backs). Requests that cannot block are served inline, inside submit(), on the
 * device's thread: reads, writes and flushes on a memory-backed file (tmpfs, ramfs),
 * and reads the page cache holds (preadv2 RWF_NOWAIT) elsewhere.
 * Returns 0 with *out filled, -EINVAL for a bad argument or a file that is neither a
 * regular file nor a block device, or the open()'s negative errno.
 */
int vdev_blk_file_backend(const char *path, bool readonly, unsigned workers,
			  struct vdev_blk_backend *out);

/*
 * A backend of `size` bytes (at least 512) that stores nothing: every request
 * succeeds inside submit() and reads leave guest buffers untouched. For measuring the
 * device without I/O. Returns 0 with *out filled, -EINVAL, -ENOMEM.
 */
int vdev_blk_null_backend(uint64_t size, struct vdev_blk_backend *out);

/* ---------------- the device ---------------- */

/*
 * Zero-initialise, set .size = sizeof(struct vdev_blk_config), then set what you need;
 * zero means the default. The size lets the struct grow: fields are only ever appended;
 * a caller's shorter struct (an older header) reads as zero past its end, a longer one
 * is refused (-E2BIG) only when it sets what this library does not know; a size below
 * the first version's is -EINVAL.
 */
struct vdev_blk_config {
	uint32_t size; /* required: sizeof(struct vdev_blk_config) */
	struct vdev_virtio_pci_config pci; /* pci.mode is required */
	const char *path;      /* image for the default backend (this or `backend`) */
	bool readonly;         /* open the image read-only and offer RO */
	unsigned io_workers;   /* default backend: threads per queue (0: 4) */
	bool io_no_inline;     /* default backend: never serve a request on the calling
				  thread (by default requests that cannot block are: see
				  vdev_blk_file_backend()) */
	const struct vdev_blk_backend *backend; /* an embedder's backend instead of path */
	uint16_t num_queues;   /* 0: 1; MQ is offered when > 1 */
	uint16_t queue_size;   /* per queue, power of two (0: 256) */
	const char *serial;    /* GET_ID answer, at most 20 bytes (NULL: empty) */
	uint32_t blk_size;     /* logical block size, power of two 512..65536 (0: 512) */
	uint8_t physical_block_exp; /* topology: physical = logical << exp (max 15) */
	uint8_t alignment_offset;   /* topology: in logical blocks */
	uint16_t min_io_size;       /* topology: in logical blocks */
	uint32_t opt_io_size;       /* topology: in logical blocks */
	uint32_t seg_max;      /* data segments per request (0: 126; max 1000) */
	uint32_t size_max;     /* bytes per segment (0: 1 MiB; min 4096) */
	uint32_t max_discard_sectors;      /* 0: 4194304 (2 GiB) */
	uint32_t max_discard_seg;          /* 0: 16; max 256 */
	uint32_t discard_sector_alignment; /* 0: blk_size / 512 */
	uint32_t max_write_zeroes_sectors; /* 0: 4194304 */
	uint32_t max_write_zeroes_seg;     /* 0: 16; max 256 */
	bool no_discard;       /* do not offer DISCARD */
	bool no_write_zeroes;  /* do not offer WRITE_ZEROES */
	bool no_wz_unmap;      /* write zeroes never deallocate (write_zeroes_may_unmap 0) */
	bool writethrough;     /* start in writethrough mode (writeback = 0) */
};

/*
 * Create a virtio-blk device `name` on ctx. A bad argument returns -EINVAL, logs the
 * field and the reason on ctx, and opens nothing. Returns 0 with *out set, -EINVAL,
 * -ENOMEM, or the backend's negative errno (e.g. the image cannot be opened).
 */
int vdev_blk_create(struct vmctx *ctx, const char *name, const struct vdev_blk_config *cfg,
		    struct vdev_dev **out);

/*
 * The host resized the storage to `size_bytes` (already done by the host): update the
 * capacity (size_bytes / 512) and raise a config change. Returns 0, or -EINVAL when
 * dev is not a block device or the size is out of range.
 */
int vdev_blk_resize(struct vdev_dev *dev, uint64_t size_bytes);

/* Current capacity in 512-byte sectors (0 when dev is not a block device). */
uint64_t vdev_blk_capacity(struct vdev_dev *dev);

#ifdef __cplusplus
}
#endif

#endif /* VDEV_BLK_H */
