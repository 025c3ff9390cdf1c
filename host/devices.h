/* SPDX-License-Identifier: BSD-3-Clause */
/* Turning one validated device configuration into a libvdev device, through the
 * public API only. */
#ifndef VDEV_HOST_DEVICES_H
#define VDEV_HOST_DEVICES_H

#include "config.h"

/*
 * Create the device `dc` describes on ctx (a connection's own host handle). Returns 0,
 * or the constructor's negative errno (the library has logged why on ctx).
 */
int host_dev_build(const struct host_dev_config *dc, struct vmctx *ctx, struct vdev_dev **out);

#endif
