/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What every part of a vhost-user connection uses: its log, its refusal counter and
 * the device lock. The dispatcher (vhost_user.c) and the request, memory and ring
 * files all call down to these; nothing here calls back up. Not part of any API.
 */
#ifndef VDEV_HOST_VHOST_USER_CONN_H
#define VDEV_HOST_VHOST_USER_CONN_H

#include "vhost_user.h"

void vu_log(struct vhost_user_conn *c, enum vdev_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A refusal: counted, and logged unless the front end is flooding. */
void vu_refuse(struct vhost_user_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The device lock (virtio_base.mtx) around every vdev_vhost_* call. */
void vu_lock(struct vhost_user_conn *c);
void vu_unlock(struct vhost_user_conn *c);

#endif /* VDEV_HOST_VHOST_USER_CONN_H */
