/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * json-c keeps the last of two equal keys in one object without a word (0.16 has no
 * flag to refuse them), so a configuration that says "path" twice would silently mean
 * the second. This walks the text json-c has already accepted and finds the first key
 * that repeats within its object.
 */
#ifndef VDEV_HOST_JSON_DUP_KEYS_H
#define VDEV_HOST_JSON_DUP_KEYS_H

#include <stdbool.h>
#include <stddef.h>

struct json_dup_key {
	char path[160]; /* the object holding it, as "devices[0].connector" ("" at the top) */
	char key[64];   /* the key, cut to fit */
	int line;       /* of its second occurrence */
};

/* True when some object of `text` (valid JSON) has a key twice; *dup says where. */
bool json_find_dup_key(const char *text, size_t len, struct json_dup_key *dup);

#endif
