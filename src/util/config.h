/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sized configuration structs. Every public *_config struct starts with
 * `uint32_t size`, which the caller sets to sizeof the struct as its header declared
 * it. Fields are only ever appended, so a caller built against an older header passes
 * a shorter struct (the fields it lacks read as 0, the default) and one built against
 * a newer header a longer one (accepted while the fields this library does not know
 * are all zero). A field appended later must start at or past the struct's sizeof of
 * the version before (pad explicitly if needed): a new field hidden in old trailing
 * padding would be ignored by an older library instead of refused.
 */
#ifndef VDEV_SRC_UTIL_CONFIG_H
#define VDEV_SRC_UTIL_CONFIG_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/*
 * The size of a config struct's first version: up to the end of `last`, its last
 * field then. Written with the field's name so appending fields leaves it alone.
 */
#define VDEV_CONFIG_V1_SIZE(type, last) (offsetof(type, last) + sizeof(((type *)0)->last))

/* True when the n bytes at p are all zero. Never inlined: where a caller's struct is
 * a local of known size, GCC (with the sanitizers) would otherwise warn about the
 * bytes past it that this reads only when the caller said its struct is longer. */
__attribute__((noinline, unused)) static bool vdev_config_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
}

/*
 * Copy the caller's sized config `cfg` (non-NULL, its first field the uint32_t size)
 * into `local`, the library's full struct of `local_size` bytes: min(size, local_size)
 * bytes are copied and the rest of local is zeroed. Returns 0; -EINVAL when size is
 * below `min_size` (the struct's first version); -E2BIG when the caller's struct is
 * longer than ours and a byte past ours is not zero (it asks for something this
 * library does not know). On error, `why` (why_len bytes) says what was wrong with
 * the size field, e.g. "0 (set .size = sizeof(struct vdev_blk_config))"; `type` is
 * the struct's name for that message.
 */
static inline int vdev_config_take(void *local, size_t local_size, const void *cfg,
				   size_t min_size, const char *type, char *why, size_t why_len)
{
	uint32_t size;

	memset(local, 0, local_size);
	memcpy(&size, cfg, sizeof(size));
	if (size < min_size) {
		snprintf(why, why_len, "%u (set .size = sizeof(struct %s))", size, type);
		return -EINVAL;
	}
	if (size > local_size &&
	    !vdev_config_zero((const unsigned char *)cfg + local_size, size - local_size)) {
		snprintf(why, why_len,
			 "%u: fields past byte %zu are set, which this library does not know",
			 size, local_size);
		return -E2BIG;
	}
	memcpy(local, cfg, size < local_size ? size : local_size);
	return 0;
}

/* Room for vdev_config_take()'s message. */
#define VDEV_CONFIG_WHY_LEN 96

#endif
