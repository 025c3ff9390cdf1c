/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-console describing itself to a trace: the PARAM records a replay rebuilds the
 * same device from (src/replay/replay_console.c reads them back; docs/trace-format.md
 * lists them).
 */
#include <stdio.h>

#include "devices/console/console_internal.h"
#include "trace/trace_format.h"
#include "util/common.h"

void console_describe(struct vdev_dev *dev, vdev_trace_param_fn emit, void *arg)
{
	struct con_dev *c = con_of(dev);
	uint64_t caps = dev->base.device_caps;
	char key[VDEV_TRACE_MAX_KEY + 1];

	if (vdev_dev_type(dev) != VIRTIO_TYPE_CONSOLE)
		return;
	emit(arg, "queue_size", c->queues[0].qsize_max ? c->queues[0].qsize_max
						       : c->queues[0].qsize);
	emit(arg, "max_nr_ports", c->max_nr_ports);
	emit(arg, "multiport", c->multiport_offered);
	emit(arg, "cols", c->cols);
	emit(arg, "rows", c->rows);
	emit(arg, "size", (caps & VIRTIO_CONSOLE_F_SIZE) != 0);
	emit(arg, "emerg_write", (caps & VIRTIO_CONSOLE_F_EMERG_WRITE) != 0);
	for (uint32_t i = 0; i < c->max_nr_ports; i++) {
		const struct con_port *p = &c->ports[i];
		uint64_t f = VDEV_TRACE_CONP_PRESENT;

		if (!p->present)
			continue;
		f |= p->console ? VDEV_TRACE_CONP_CONSOLE : 0;
		f |= p->host_open ? VDEV_TRACE_CONP_HOST_OPEN : 0;
		if (p->be.version != 0) {
			f |= p->be.read ? VDEV_TRACE_CONP_READ : 0;
			f |= p->be.write ? VDEV_TRACE_CONP_WRITE : 0;
			f |= p->be.poll_fd ? VDEV_TRACE_CONP_POLL_FD : 0;
		}
		snprintf(key, sizeof(key), "p%u", i);
		emit(arg, key, f);
		snprintf(key, sizeof(key), "p%u_name", i);
		vdev_trace_emit_bytes(emit, arg, key, p->name, p->name_len);
	}
	emit(arg, "features", caps);
}
