/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-blk internals shared by the request parser (blk_req.c), the device glue
 * (blk_dev.c) and the default backend (blk_file.c).
 */
#ifndef VDEV_SRC_DEVICES_BLK_INTERNAL_H
#define VDEV_SRC_DEVICES_BLK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/dev_internal.h"
#include "vdev/blk.h"

/* Wire layouts: plain fixed-width little-endian fields, accessed with vdev_ld*. */
struct blk_wire_hdr {
	uint32_t type;
	uint32_t ioprio;
	uint64_t sector;
};
_Static_assert(sizeof(struct blk_wire_hdr) == VDEV_BLK_HDR_SIZE, "request header");
_Static_assert(offsetof(struct blk_wire_hdr, sector) == 8, "header sector");

struct blk_wire_seg {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};
_Static_assert(sizeof(struct blk_wire_seg) == VDEV_BLK_SEG_SIZE, "discard segment");
_Static_assert(offsetof(struct blk_wire_seg, flags) == 12, "segment flags");

struct blk_wire_config {
	uint64_t capacity;
	uint32_t size_max;
	uint32_t seg_max;
	uint16_t cylinders;
	uint8_t heads;
	uint8_t sectors;
	uint32_t blk_size;
	uint8_t physical_block_exp;
	uint8_t alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
	uint8_t writeback;
	uint8_t unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors;
	uint32_t max_discard_seg;
	uint32_t discard_sector_alignment;
	uint32_t max_write_zeroes_sectors;
	uint32_t max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap;
	uint8_t unused1[3];
};
/* The wire layout ends at 60 bytes; the compiler pads the struct to 64 (never served). */
_Static_assert(offsetof(struct blk_wire_config, unused1) + 3 == VDEV_BLK_CFG_LEN, "config size");
_Static_assert(offsetof(struct blk_wire_config, opt_io_size) == VDEV_BLK_CFG_OPT_IO_SIZE, "opt_io");
_Static_assert(offsetof(struct blk_wire_config, blk_size) == VDEV_BLK_CFG_BLK_SIZE, "blk_size");
_Static_assert(offsetof(struct blk_wire_config, min_io_size) == VDEV_BLK_CFG_MIN_IO_SIZE,
	       "min_io_size");
_Static_assert(offsetof(struct blk_wire_config, writeback) == VDEV_BLK_CFG_WRITEBACK,
	       "writeback");
_Static_assert(offsetof(struct blk_wire_config, num_queues) == VDEV_BLK_CFG_NUM_QUEUES,
	       "num_queues");
_Static_assert(offsetof(struct blk_wire_config, max_discard_sectors) ==
		       VDEV_BLK_CFG_MAX_DISCARD_SECTORS,
	       "max_discard_sectors");
_Static_assert(offsetof(struct blk_wire_config, max_write_zeroes_seg) == VDEV_BLK_CFG_MAX_WZ_SEG,
	       "max_write_zeroes_seg");
_Static_assert(offsetof(struct blk_wire_config, write_zeroes_may_unmap) ==
		       VDEV_BLK_CFG_WZ_MAY_UNMAP,
	       "write_zeroes_may_unmap");

/*
 * True for the library's own backends (file, null). The device answers a request one
 * of them completes inside submit() at once; any other backend keeps the queued path
 * (completion, then vdev_dev_poll), whose timing is the backend's business: a trace
 * replay's backend, for one, reproduces a recorded run.
 */
bool blk_file_backend_is(const struct vdev_blk_backend *be);
bool blk_null_backend_is(const struct vdev_blk_backend *be);

/* vdev_blk_file_backend() with the choice of serving requests inline (blk_file.c). */
int blk_file_backend_open(const char *path, bool readonly, unsigned workers, bool no_inline,
			  struct vdev_blk_backend *out);

/* Iovecs a request may carry beyond seg_max (header/status sharing, host fragments). */
#define BLK_IOV_SLACK 16
/* The most iovecs a backend request carries (seg_max at its largest, plus the slack). */
#define BLK_IO_IOV_MAX (VDEV_BLK_MAX_SEG_MAX + BLK_IOV_SLACK)

/* What the parser checks a chain against; kept current by the device under its lock. */
struct blk_limits {
	uint64_t capacity;  /* sectors */
	uint64_t features;  /* negotiated */
	bool readonly;
	bool writethrough;
	bool wz_may_unmap;
	uint32_t max_discard_sectors;
	uint32_t max_discard_seg;
	uint32_t max_wz_sectors;
	uint32_t max_wz_seg;
	int iov_cap;        /* iovecs a request's data may use */
	char serial[VDEV_BLK_ID_BYTES];
};

struct blk_queue;

/* One request context; a queue preallocates qsize of them. */
struct blk_req {
	struct vdev_completion node; /* on dev->done once the backend finished */
	struct vdev_blk_io io;       /* what the backend sees */
	struct blk_queue *q;
	struct blk_req *next_free;
	uint32_t epoch;              /* base.epoch when the chain was taken (H12) */
	uint16_t head;
	uint8_t *status;             /* the guest's status byte (host address) */
	uint8_t status_val;          /* for requests the parser completes itself */
	uint32_t used_len;           /* reported on success */
	uint64_t bytes_in, bytes_out;
	int result;                  /* from the backend */
	struct iovec *iov;           /* iov_cap entries; io.iov points here */
	struct vdev_blk_range *ranges; /* range_cap entries */
};

enum blk_verdict {
	BLK_DROP = 0,   /* no status byte: give the chain back with length 0 */
	BLK_DONE = 1,   /* status_val/used_len are final; the backend is not involved */
	BLK_SUBMIT = 2, /* req->io is ready for the backend */
};

/*
 * Decide what a chain is (blk_req.c). iov/flags come from vq_getchain (readable
 * first). Fills req->status, and either status_val/used_len (DONE) or req->io,
 * req->iov, req->ranges, used_len (SUBMIT). Writes guest memory only for GET_ID data.
 */
enum blk_verdict blk_parse_chain(const struct blk_limits *lim, const struct iovec *iov,
				 const uint16_t *flags, int n, struct blk_req *req);

/* What a device was created with, for its describe callback (blk_describe.c). */
struct blk_shape {
	uint16_t nq, qsize;
	uint64_t offered;          /* features offered */
	uint8_t writeback_default;
	struct blk_limits lim;
	struct blk_wire_config cfg; /* little-endian, as the driver reads it */
};
/* 0 with *out filled, or -EINVAL when dev is not a block device. Takes no lock: the
 * caller serialises with the device (the recorder runs under the device lock). */
int blk_shape_of(struct vdev_dev *dev, struct blk_shape *out);

/* blk_describe.c: the PARAM records of this device (struct vdev_dev_ops.describe). */
void blk_describe(struct vdev_dev *dev, vdev_trace_param_fn emit, void *arg);

#endif
