/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One connection from a QEMU (qemu-proxy or vhost-user) on a libuv loop: the
 * connector's socket and the fds its device wants watched, each with a uv_poll_t,
 * re-synchronised after every event, plus a timer for the device's deadlines.
 */
#ifndef VDEV_HOST_CONN_H
#define VDEV_HOST_CONN_H

#include <uv.h>

#include "config.h"
#include "log.h"

struct host_conn;

/* Called once the connection is gone (peer closed, protocol error, or shutdown). */
typedef void (*host_conn_closed_fn)(void *arg, struct host_conn *conn);

/*
 * Serve the device `dc` describes on the accepted socket `fd` (taken over, closed on
 * failure). The device is built when the connector asks for it, on the connection's
 * own vmctx. `serial` numbers the connections to this device from 1: with a "trace"
 * the first records to its path, later ones to path.2, path.3, ... so a restarted
 * guest never overwrites an earlier trace. Returns 0 with *out set, or a negative
 * errno (logged).
 */
int host_conn_start(uv_loop_t *loop, int fd, const struct host_dev_config *dc,
		    unsigned int serial, struct host_log *log, host_conn_closed_fn closed,
		    void *arg, struct host_conn **out);

/* Tear the connection down: stop watching, finish the device's trace, destroy the
 * device (flushing it), close the socket. The closed callback runs. Safe to call once. */
void host_conn_close(struct host_conn *conn);

#endif
