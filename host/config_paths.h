/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Path helpers for the configuration: relative paths in a configuration file mean
 * "beside the file", and paths that name the same place must compare equal even
 * when the file does not exist yet (a socket), so comparison is lexical.
 */
#ifndef VDEV_HOST_CONFIG_PATHS_H
#define VDEV_HOST_CONFIG_PATHS_H

#include <stddef.h>

/* The folder of the configuration file `file`, "" when it is in the working directory. */
void config_base_dir(const char *file, char *dir, size_t dirlen);
/*
 * Prefix a relative `path` (a buffer of `size` bytes) with `base`; absolute paths and
 * an empty base are left alone. -ENAMETOOLONG when the result does not fit.
 */
int config_resolve(const char *base, char *path, size_t size);
/*
 * `path` made absolute (against the working directory) and lexically normalised:
 * no ".", "..", or repeated "/". Nothing is looked up on disk, so symlinks are not
 * followed. Returns 0, or -ENAMETOOLONG / -errno of getcwd.
 */
int config_normalise(const char *path, char *out, size_t outlen);

#endif
