/* SPDX-License-Identifier: BSD-3-Clause */
/* vdev-host's log: one line per event on stderr, each carrying the device id. */
#ifndef VDEV_HOST_LOG_H
#define VDEV_HOST_LOG_H

#include "vdev/host.h"

struct host_log {
	enum vdev_log_level level;
};

/* The sink for libvdev and the connectors (shape of vdev_host_ops.log). */
void host_log_sink(void *opaque, enum vdev_log_level level, const char *devname,
		   const char *msg);

void host_logf(struct host_log *log, enum vdev_log_level level, const char *devname,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
