/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "log.h"

static const char *level_word(enum vdev_log_level level)
{
	switch (level) {
	case VDEV_LOG_ERROR: return "error";
	case VDEV_LOG_WARN: return "warn";
	case VDEV_LOG_INFO: return "info";
	default: return "debug";
	}
}

void host_log_sink(void *opaque, enum vdev_log_level level, const char *devname,
		   const char *msg)
{
	struct host_log *log = opaque;
	struct timespec ts;

	if (log != NULL && level > log->level)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	fprintf(stderr, "vdev-host %6lld.%03ld %-5s [%s] %s\n", (long long)ts.tv_sec,
		ts.tv_nsec / 1000000, level_word(level), devname && devname[0] ? devname : "-",
		msg);
}

void host_logf(struct host_log *log, enum vdev_log_level level, const char *devname,
	       const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	host_log_sink(log, level, devname, msg);
}
