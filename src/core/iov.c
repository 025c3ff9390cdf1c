/* SPDX-License-Identifier: BSD-3-Clause */
/* Copies into and out of iovecs at an offset, and byte-range views of them. */
#include "core/iov.h"

#include <string.h>

size_t vdev_iov_to_buf(const struct iovec *iov, int n, size_t off, void *buf, size_t len)
{
	uint8_t *out = buf;
	size_t done = 0;

	for (int i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l -= off;
		if (l > len - done)
			l = len - done;
		memcpy(out + done, (const uint8_t *)iov[i].iov_base + off, l);
		done += l;
		off = 0;
	}
	return done;
}

size_t vdev_iov_from_buf(const struct iovec *iov, int n, size_t off, const void *buf,
			 size_t len)
{
	const uint8_t *in = buf;
	size_t done = 0;

	for (int i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l -= off;
		if (l > len - done)
			l = len - done;
		memcpy((uint8_t *)iov[i].iov_base + off, in + done, l);
		done += l;
		off = 0;
	}
	return done;
}

int vdev_iov_slice(const struct iovec *iov, int n, size_t off, size_t len, struct iovec *dst,
		   int cap)
{
	int k = 0;

	for (int i = 0; i < n && len > 0; i++) {
		size_t l = iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l -= off;
		if (l > len)
			l = len;
		if (k == cap)
			return -1;
		dst[k].iov_base = (uint8_t *)iov[i].iov_base + off;
		dst[k].iov_len = l;
		k++;
		len -= l;
		off = 0;
	}
	return k;
}
