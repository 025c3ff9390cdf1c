/* SPDX-License-Identifier: BSD-3-Clause */
/* Lexical path handling for the configuration (see config_paths.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config_paths.h"

void config_base_dir(const char *file, char *dir, size_t dirlen)
{
	const char *slash = strrchr(file, '/');

	if (slash == NULL)
		snprintf(dir, dirlen, "%s", "");
	else if (slash == file)
		snprintf(dir, dirlen, "%s", "/");
	else
		snprintf(dir, dirlen, "%.*s", (int)(slash - file), file);
}

int config_resolve(const char *base, char *path, size_t size)
{
	char joined[PATH_MAX * 2];
	size_t blen = strlen(base);
	int n;

	if (path[0] == '/' || path[0] == '\0' || blen == 0)
		return 0;
	n = snprintf(joined, sizeof(joined), "%s%s%s", base, base[blen - 1] == '/' ? "" : "/",
		     path);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	memcpy(path, joined, (size_t)n + 1);
	return 0;
}

int config_normalise(const char *path, char *out, size_t outlen)
{
	char full[PATH_MAX * 2];
	size_t len = 0;
	const char *p;

	if (path[0] == '/') {
		snprintf(full, sizeof(full), "%s", path);
	} else {
		char cwd[PATH_MAX];

		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return -errno;
		if ((size_t)snprintf(full, sizeof(full), "%s/%s", cwd, path) >= sizeof(full))
			return -ENAMETOOLONG;
	}
	if (outlen < 2)
		return -ENAMETOOLONG;
	/* Copy component by component; ".." takes back the last one copied. */
	for (p = full; *p;) {
		size_t clen;

		while (*p == '/')
			p++;
		clen = strcspn(p, "/");
		if (clen == 0)
			break;
		if (clen == 1 && p[0] == '.') {
			/* nothing */
		} else if (clen == 2 && p[0] == '.' && p[1] == '.') {
			while (len > 0 && out[--len] != '/')
				;
		} else {
			if (len + 1 + clen >= outlen)
				return -ENAMETOOLONG;
			out[len] = '/';
			memcpy(out + len + 1, p, clen);
			len += 1 + clen;
		}
		p += clen;
	}
	if (len == 0)
		out[len++] = '/';
	out[len] = '\0';
	return 0;
}
