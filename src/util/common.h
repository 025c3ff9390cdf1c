/* SPDX-License-Identifier: BSD-3-Clause */
/* Small helpers every library file may use. */
#ifndef VDEV_SRC_UTIL_COMMON_H
#define VDEV_SRC_UTIL_COMMON_H

#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

/* Symbols are hidden by default (-fvisibility=hidden); the public API is marked. */
#define VDEV_EXPORT __attribute__((visibility("default")))

#define vdev_likely(x) __builtin_expect(!!(x), 1)
#define vdev_unlikely(x) __builtin_expect(!!(x), 0)

/*
 * Ask for the cache line at p in the state a store needs (exclusive). The builtin
 * emits a read prefetch on x86-64 unless the target has PRFCHW, which leaves a line
 * shared and the store still waiting for the other core to let go of it; PREFETCHW
 * itself runs as a no-op on the x86-64 CPUs that predate it.
 */
static inline void vdev_prefetch_for_write(const void *p)
{
#if defined(__x86_64__)
	__asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
	__builtin_prefetch(p, 1);
#endif
}

#define VDEV_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The positive errno of a failed backend call. A backend is the embedder's code and may
 * answer any negative number; one that is not an errno (past -4095, INT_MIN, SSIZE_MIN)
 * becomes EIO, so nothing downstream negates or logs a value that cannot be one.
 */
static inline int vdev_backend_errno(ssize_t rc)
{
	return rc < 0 && rc >= -4095 ? (int)-rc : EIO;
}

static inline int vdev_is_pow2(uint64_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

/* Little-endian loads and stores of guest-visible fields, from unaligned buffers. */
static inline uint16_t vdev_ld16(const void *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return le16toh(v);
}
static inline uint32_t vdev_ld32(const void *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}
static inline uint64_t vdev_ld64(const void *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}
static inline void vdev_st16(void *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, sizeof(v));
}
static inline void vdev_st32(void *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}
static inline void vdev_st64(void *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

/* A 64-bit guest address kept as the (lo, hi) pair of 32-bit registers a driver writes. */
static inline uint64_t vdev_pair_get(const uint32_t pair[2])
{
	return pair[0] | ((uint64_t)pair[1] << 32);
}
static inline void vdev_pair_set(uint32_t pair[2], uint64_t v)
{
	pair[0] = (uint32_t)v;
	pair[1] = (uint32_t)(v >> 32);
}

/* Read `width` (1, 2, 4 or 8) little-endian bytes at p / store the low bytes of v. */
static inline uint64_t vdev_ld_width(const void *p, int width)
{
	switch (width) {
	case 1: return *(const uint8_t *)p;
	case 2: return vdev_ld16(p);
	case 4: return vdev_ld32(p);
	default: return vdev_ld64(p);
	}
}
static inline void vdev_st_width(void *p, int width, uint64_t v)
{
	switch (width) {
	case 1: *(uint8_t *)p = (uint8_t)v; break;
	case 2: vdev_st16(p, (uint16_t)v); break;
	case 4: vdev_st32(p, (uint32_t)v); break;
	default: vdev_st64(p, v); break;
	}
}

#endif
