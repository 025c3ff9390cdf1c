/* SPDX-License-Identifier: BSD-3-Clause */
/* A cursor over the fuzzer's bytes: reads past the end yield zeroes, so every input
 * is a valid program. */
#ifndef VDEV_FUZZ_INPUT_H
#define VDEV_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct fuzz_input {
	const uint8_t *p;
	size_t left;
};

static inline uint64_t fuzz_take(struct fuzz_input *in, size_t n)
{
	uint64_t v = 0;
	size_t k = n < in->left ? n : in->left;

	memcpy(&v, in->p, k);
	in->p += k;
	in->left -= k;
	return v;
}

static inline void fuzz_take_bytes(struct fuzz_input *in, void *dst, size_t n)
{
	size_t k = n < in->left ? n : in->left;

	memcpy(dst, in->p, k);
	memset((uint8_t *)dst + k, 0, n - k);
	in->p += k;
	in->left -= k;
}

#endif
