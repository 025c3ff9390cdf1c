/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-blk request parsing: turn one validated chain (iovecs, readable first) into
 * either a final status or a backend request. Everything here is guest input: the
 * header and the discard segments are copied once into locals before anything is
 * decided from them, every sector computation is checked against the capacity before
 * it is multiplied, and nothing of the image is touched for a malformed request
 * (HOSTILE.md H36, H22).
 */
#include <errno.h>
#include <string.h>

#include "core/iov.h"
#include "devices/blk/blk_internal.h"
#include "util/common.h"

static enum blk_verdict finish(struct blk_req *req, uint8_t status, uint32_t used_len)
{
	req->status_val = status;
	req->used_len = used_len;
	return BLK_DONE;
}

/* [sector, sector + nsec) inside the disk? Checked without multiplying first, so a
 * sector near 2^64 cannot wrap (H36). */
static bool range_ok(const struct blk_limits *lim, uint64_t sector, uint64_t nsec)
{
	return sector <= lim->capacity && nsec <= lim->capacity - sector;
}

/* READ or WRITE: `len` data bytes at `off` in iov[0..n); `wrong_dir` when the chain
 * also carries data in the other direction. */
static enum blk_verdict parse_rw(const struct blk_limits *lim, struct blk_req *req,
				 uint32_t op, uint64_t sector, const struct iovec *iov, int n,
				 uint64_t off, uint64_t len, bool wrong_dir)
{
	int cnt;

	if (wrong_dir || len % VDEV_BLK_SECTOR_SIZE != 0 ||
	    !range_ok(lim, sector, len / VDEV_BLK_SECTOR_SIZE))
		return finish(req, VDEV_BLK_S_IOERR, 1);
	if (len == 0)
		return finish(req, VDEV_BLK_S_OK, 1);
	cnt = vdev_iov_slice(iov, n, off, len, req->iov, lim->iov_cap);
	if (cnt < 0)
		return finish(req, VDEV_BLK_S_IOERR, 1);
	req->io.op = op;
	req->io.offset = sector * VDEV_BLK_SECTOR_SIZE;
	req->io.len = len;
	req->io.iov = req->iov;
	req->io.iovcnt = cnt;
	req->io.sync = op == VDEV_BLK_OP_WRITE && lim->writethrough;
	if (op == VDEV_BLK_OP_READ) {
		/* The whole chain is at most 4 GiB - 1, so this fits. */
		req->used_len = (uint32_t)(len + 1);
		req->bytes_out = len;
	} else {
		req->used_len = 1;
		req->bytes_in = len;
	}
	return BLK_SUBMIT;
}

/* DISCARD or WRITE_ZEROES: `len` bytes of segments at `off` in the readable iovecs. */
static enum blk_verdict parse_ranges(const struct blk_limits *lim, struct blk_req *req,
				     uint32_t type, const struct iovec *iov, int n,
				     uint64_t off, uint64_t len, bool has_wdata)
{
	bool discard = type == VDEV_BLK_T_DISCARD;
	uint64_t feature = discard ? VDEV_BLK_F_DISCARD : VDEV_BLK_F_WRITE_ZEROES;
	uint32_t max_seg = discard ? lim->max_discard_seg : lim->max_wz_seg;
	uint32_t max_sectors = discard ? lim->max_discard_sectors : lim->max_wz_sectors;
	bool unmap = false;
	uint64_t nseg;

	if (!(lim->features & feature))
		return finish(req, VDEV_BLK_S_UNSUPP, 1);
	if (lim->readonly || has_wdata || len == 0 || len % VDEV_BLK_SEG_SIZE != 0)
		return finish(req, VDEV_BLK_S_IOERR, 1);
	nseg = len / VDEV_BLK_SEG_SIZE;
	if (nseg > max_seg)
		return finish(req, VDEV_BLK_S_IOERR, 1);
	for (uint64_t i = 0; i < nseg; i++) {
		uint8_t raw[VDEV_BLK_SEG_SIZE];
		uint64_t sector;
		uint32_t nsec, fl;

		if (vdev_iov_to_buf(iov, n, off + i * VDEV_BLK_SEG_SIZE, raw, sizeof(raw)) !=
		    sizeof(raw))
			return finish(req, VDEV_BLK_S_IOERR, 1);
		sector = vdev_ld64(raw + offsetof(struct blk_wire_seg, sector));
		nsec = vdev_ld32(raw + offsetof(struct blk_wire_seg, num_sectors));
		fl = vdev_ld32(raw + offsetof(struct blk_wire_seg, flags));
		/* Discard takes no flags at all; write zeroes only UNMAP. */
		if ((discard && fl != 0) || (fl & ~VDEV_BLK_WZ_F_UNMAP))
			return finish(req, VDEV_BLK_S_UNSUPP, 1);
		if (nsec > max_sectors || !range_ok(lim, sector, nsec))
			return finish(req, VDEV_BLK_S_IOERR, 1);
		req->ranges[i].offset = sector * VDEV_BLK_SECTOR_SIZE;
		req->ranges[i].len = (uint64_t)nsec * VDEV_BLK_SECTOR_SIZE;
		unmap |= (fl & VDEV_BLK_WZ_F_UNMAP) != 0;
	}
	req->io.op = discard ? VDEV_BLK_OP_DISCARD : VDEV_BLK_OP_WRITE_ZEROES;
	req->io.ranges = req->ranges;
	req->io.nranges = (int)nseg;
	req->io.unmap = !discard && unmap && lim->wz_may_unmap;
	req->io.sync = lim->writethrough;
	req->used_len = 1;
	return BLK_SUBMIT;
}

/* GET_ID: the serial, zero-padded to 20 bytes, cut to the room the driver gave. */
static enum blk_verdict get_id(const struct blk_limits *lim, struct blk_req *req,
			       const struct iovec *wiov, int nw, uint64_t room)
{
	size_t k = room < VDEV_BLK_ID_BYTES ? (size_t)room : VDEV_BLK_ID_BYTES;

	vdev_iov_from_buf(wiov, nw, 0, lim->serial, k);
	req->bytes_out = k;
	return finish(req, VDEV_BLK_S_OK, (uint32_t)k + 1);
}

enum blk_verdict blk_parse_chain(const struct blk_limits *lim, const struct iovec *iov,
				 const uint16_t *flags, int n, struct blk_req *req)
{
	uint8_t hdr[VDEV_BLK_HDR_SIZE];
	const struct iovec *last = &iov[n - 1];
	size_t rbytes, wbytes;
	uint64_t sector;
	uint32_t type;
	int nr = vdev_iov_readable(iov, flags, n, &rbytes);

	wbytes = vdev_iov_len(iov + nr, n - nr);
	/* The status byte is the chain's last byte and must be device-writable; without
	 * one there is nothing to answer in (H31, H36). */
	if (wbytes == 0)
		return BLK_DROP;
	req->status = (uint8_t *)last->iov_base + last->iov_len - 1;
	if (rbytes < VDEV_BLK_HDR_SIZE ||
	    vdev_iov_to_buf(iov, nr, 0, hdr, sizeof(hdr)) != sizeof(hdr))
		return finish(req, VDEV_BLK_S_IOERR, 1);
	type = vdev_ld32(hdr + offsetof(struct blk_wire_hdr, type));
	sector = vdev_ld64(hdr + offsetof(struct blk_wire_hdr, sector));
	rbytes -= VDEV_BLK_HDR_SIZE; /* data the driver gave the device */
	wbytes -= 1;                 /* room the driver gave for data */

	switch (type) {
	case VDEV_BLK_T_IN:
		return parse_rw(lim, req, VDEV_BLK_OP_READ, sector, iov + nr, n - nr, 0, wbytes,
				rbytes != 0);
	case VDEV_BLK_T_OUT:
		if (lim->readonly)
			return finish(req, VDEV_BLK_S_IOERR, 1);
		return parse_rw(lim, req, VDEV_BLK_OP_WRITE, sector, iov, nr, VDEV_BLK_HDR_SIZE,
				rbytes, wbytes != 0);
	case VDEV_BLK_T_FLUSH:
		if (lim->readonly)
			return finish(req, VDEV_BLK_S_OK, 1);
		req->io.op = VDEV_BLK_OP_FLUSH;
		req->used_len = 1;
		return BLK_SUBMIT;
	case VDEV_BLK_T_GET_ID:
		return get_id(lim, req, iov + nr, n - nr, wbytes);
	case VDEV_BLK_T_DISCARD:
	case VDEV_BLK_T_WRITE_ZEROES:
		return parse_ranges(lim, req, type, iov, nr, VDEV_BLK_HDR_SIZE, rbytes,
				    wbytes != 0);
	default:
		return finish(req, VDEV_BLK_S_UNSUPP, 1);
	}
}
