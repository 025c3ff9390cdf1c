/* SPDX-License-Identifier: BSD-3-Clause */
/* The helpers every part of a vhost-user connection calls: log, refuse, lock. */
#include "vhost_user_conn.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vhost_user_internal.h"

void vu_log(struct vhost_user_conn *c, enum vdev_log_level level, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (c->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->log(c->log_opaque, level, c->name, msg);
}

void vu_refuse(struct vhost_user_conn *c, const char *fmt, ...)
{
	uint64_t n = ++c->stats.refused;
	char msg[256];
	va_list ap;

	if (c->log == NULL || (n > VU_REFUSE_LOG_FIRST && n % VU_REFUSE_LOG_EVERY != 0))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n > VU_REFUSE_LOG_FIRST) {
		size_t len = strlen(msg);
		snprintf(msg + len, sizeof(msg) - len, " (%llu refusals so far)",
			 (unsigned long long)n);
	}
	c->log(c->log_opaque, VDEV_LOG_WARN, c->name, msg);
}

void vu_lock(struct vhost_user_conn *c)
{
	if (c->base->mtx)
		pthread_mutex_lock(c->base->mtx);
}

void vu_unlock(struct vhost_user_conn *c)
{
	if (c->base->mtx)
		pthread_mutex_unlock(c->base->mtx);
}
