/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers over the iovecs vq_getchain() hands a device: lengths, copies into and out
 * of them at a byte offset, and views of a byte range. Every device parses its
 * requests with these, so each edge (an offset past the end, a short chain, a range
 * that ends inside an iovec) is handled once. Internal; not part of the API.
 *
 * The small ones are inline: they sit on the per-frame paths (net TX drops the header
 * with vdev_iov_skip, every device splits its chain with vdev_iov_readable). The
 * copies and the slice loop are out of line in iov.c.
 */
#ifndef VDEV_SRC_CORE_IOV_H
#define VDEV_SRC_CORE_IOV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vdev/virtio.h"

/*
 * Iovecs that hold every chain vq_getchain() accepts on a queue of `qsize` entries:
 * up to qsize - 1 ring descriptors, the last of which may point at an indirect table
 * of up to qsize entries, with a few to spare for buffers the host maps in pieces. A
 * chain needing more still breaks the queue (H29). Devices size their chain arrays
 * with it once, when they are created, never per request.
 */
#define VDEV_IOV_CHAIN_SLACK 16
static inline int vdev_iov_chain_cap(uint32_t qsize)
{
	return 2 * (int)qsize + VDEV_IOV_CHAIN_SLACK;
}

/* Bytes described by iov[0..n). */
static inline size_t vdev_iov_len(const struct iovec *iov, int n)
{
	size_t total = 0;

	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	return total;
}

/*
 * The device-readable iovecs that lead a chain (vq_getchain puts them first): their
 * number, and their bytes in *bytes unless bytes is NULL.
 */
static inline int vdev_iov_readable(const struct iovec *iov, const uint16_t *flags, int n,
				    size_t *bytes)
{
	size_t total = 0;
	int i = 0;

	while (i < n && !(flags[i] & VRING_DESC_F_WRITE))
		total += iov[i++].iov_len;
	if (bytes != NULL)
		*bytes = total;
	return i;
}

/*
 * Drop the first `skip` bytes of iov[0..n) in place: the iovecs they cover entirely
 * are passed over (returned as the index of the first one left, n when none is) and
 * the one they end in is shortened from the front. Nothing moves, so the common
 * layouts cost a comparison.
 */
static inline int vdev_iov_skip(struct iovec *iov, int n, size_t skip)
{
	int i = 0;

	while (i < n && skip >= iov[i].iov_len) {
		skip -= iov[i].iov_len;
		i++;
	}
	if (i < n && skip > 0) {
		iov[i].iov_base = (uint8_t *)iov[i].iov_base + skip;
		iov[i].iov_len -= skip;
	}
	return i;
}

/* Host address of byte `off` of iov[0..n), or NULL when off is past the end. */
static inline void *vdev_iov_at(const struct iovec *iov, int n, size_t off)
{
	for (int i = 0; i < n; i++) {
		if (off < iov[i].iov_len)
			return (uint8_t *)iov[i].iov_base + off;
		off -= iov[i].iov_len;
	}
	return NULL;
}

/* Copy up to len bytes from iov[0..n), starting `off` bytes in, to buf. Returns the
 * bytes copied: less than len when the iovecs end first. */
size_t vdev_iov_to_buf(const struct iovec *iov, int n, size_t off, void *buf, size_t len);

/* Copy up to len bytes of buf into iov[0..n), starting `off` bytes in. Returns the
 * bytes copied: less than len when the iovecs end first. */
size_t vdev_iov_from_buf(const struct iovec *iov, int n, size_t off, const void *buf,
			 size_t len);

/*
 * Describe bytes [off, off + len) of iov[0..n) in dst, at most cap entries, without
 * copying. Returns the entries used (fewer bytes than len when iov ends first), or -1
 * when more than cap would be needed.
 */
int vdev_iov_slice(const struct iovec *iov, int n, size_t off, size_t len, struct iovec *dst,
		   int cap);

#endif
