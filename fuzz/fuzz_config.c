/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz vdev-host's configuration loader: the JSON parse and every validation rule
 * behind it (docs/config.md). A person writes that file, so it is not guest input, but
 * a typo must end in an error message, never in a crash, a hang or a leak. The input
 * is the file's text; on success everything the loader returned is freed, and on
 * failure the error line must be non-empty and the result empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* host_config_load refuses files above this; the parser never sees more. */
#define CONFIG_MAX (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct host_config cfg;
	char err[512];
	char *text;
	int rc;

	if (size > CONFIG_MAX)
		return 0;
	/* The loader takes a C string, as host_config_load hands it: stop at a NUL. */
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	err[0] = '\0';
	rc = host_config_parse(text, &cfg, err, sizeof(err));
	if (rc < 0) {
		/* A refusal names the field and the reason, and leaves nothing to free. */
		if (err[0] == '\0' || cfg.devs != NULL || cfg.ndevs != 0)
			abort();
	} else {
		if (cfg.ndevs < 1 || cfg.ndevs > HOST_MAX_DEVICES || cfg.devs == NULL)
			abort();
		/* Ids were checked for length: each one must be a terminated string. */
		for (int i = 0; i < cfg.ndevs; i++)
			if (memchr(cfg.devs[i].id, '\0', sizeof(cfg.devs[i].id)) == NULL)
				abort();
	}
	host_config_free(&cfg);
	free(text);
	return 0;
}
