/* SPDX-License-Identifier: BSD-3-Clause */
/* The listening sockets of every configured device, on one libuv loop, until SIGINT
 * or SIGTERM. */
#ifndef VDEV_HOST_SERVER_H
#define VDEV_HOST_SERVER_H

#include "config.h"

/* Exit codes of vdev-host (also documented in --help and docs/config.md). */
enum {
	HOST_EXIT_OK = 0,
	HOST_EXIT_CONFIG = 1,  /* the configuration is invalid: nothing was opened */
	HOST_EXIT_USAGE = 2,   /* bad command line */
	HOST_EXIT_RUNTIME = 3, /* a socket could not be set up, or the loop failed */
};

/* Serve cfg until a signal; returns one of the exit codes above. */
int host_server_run(const struct host_config *cfg);

#endif
