/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-console in traces: the parameters that make a console look the same to a
 * guest (ports, their names and roles, which backend callbacks each had), and per-port
 * replay backends whose read/write return what the trace's BACKEND records say.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "replay/replay_internal.h"
#include "trace/trace_describe.h"
#include "util/common.h"
#include "vdev/console.h"

/* ---- replay: the backends ---- */

struct rcon_port {
	struct vdev_replay *rp;
	uint32_t port;
	int efd;
};

struct rcon_state {
	struct rcon_port ports[VDEV_CONSOLE_MAX_PORTS];
};

static ssize_t rcon_read(void *opaque, const struct iovec *iov, int iovcnt)
{
	struct rcon_port *rp = opaque;
	struct vdev_trace_rec r;
	size_t want, done = 0;

	if (!replay_backend_take(rp->rp, VDEV_TR_BE_CON_READ, (int)rp->port, &r))
		return -EAGAIN;
	if (r.result <= 0)
		return r.result;
	want = (size_t)r.result;
	for (int i = 0; i < iovcnt && done < want; i++) {
		size_t n = iov[i].iov_len < want - done ? iov[i].iov_len : want - done;
		size_t from_trace = done < r.len ? r.len - done : 0;

		if (from_trace > n)
			from_trace = n;
		if (from_trace > 0)
			memcpy(iov[i].iov_base, r.data + done, from_trace);
		if (n > from_trace)
			replay_fill_pattern((uint8_t *)iov[i].iov_base + from_trace,
					    n - from_trace, done + from_trace);
		done += n;
	}
	return r.result;
}

static ssize_t rcon_write(void *opaque, const struct iovec *iov, int iovcnt)
{
	struct rcon_port *rp = opaque;
	struct vdev_trace_rec r;

	(void)iov;
	(void)iovcnt;
	if (!replay_backend_take(rp->rp, VDEV_TR_BE_CON_WRITE, (int)rp->port, &r))
		return -EAGAIN;
	return r.result;
}

static int rcon_poll_fd(void *opaque, short dir)
{
	struct rcon_port *rp = opaque;

	(void)dir;
	return rp->efd;
}

static void rcon_free(void *state)
{
	struct rcon_state *st = state;

	if (st == NULL)
		return;
	for (int i = 0; i < VDEV_CONSOLE_MAX_PORTS; i++)
		if (st->ports[i].efd >= 0)
			close(st->ports[i].efd);
	free(st);
}

/* ---- replay: building the device ---- */

struct con_replay_params {
	struct vdev_console_config cfg;
	bool size, emerg_write;
	uint8_t pflags[VDEV_CONSOLE_MAX_PORTS];
	char names[VDEV_CONSOLE_MAX_PORTS][VDEV_CONSOLE_NAME_MAX + 1];
	bool have_features;
	uint64_t features;
};

/* "p<N>" or "p<N>_name_*": 1 when handled, 0 when not a port key, <0 on error. */
static int take_port_param(struct vdev_replay *rp, const struct vdev_trace_param *p,
			   struct con_replay_params *cp)
{
	unsigned int port = 0;
	const char *k = p->key + 1;
	char prefix[16];
	size_t len = 0;
	int rc;

	if (p->key[0] != 'p' || k[0] < '0' || k[0] > '9')
		return 0;
	while (*k >= '0' && *k <= '9' && port < 1000)
		port = port * 10 + (unsigned int)(*k++ - '0');
	if (port >= VDEV_CONSOLE_MAX_PORTS)
		return replay_fail(rp, -EINVAL, "param %s: port past %d", p->key,
				   VDEV_CONSOLE_MAX_PORTS - 1);
	if (*k == '\0') {
		if (p->value & ~(uint64_t)VDEV_TRACE_CONP_ALL || !(p->value & VDEV_TRACE_CONP_PRESENT))
			return replay_fail(rp, -EINVAL, "param %s: bad port flags 0x%llx", p->key,
					   (unsigned long long)p->value);
		cp->pflags[port] = (uint8_t)p->value;
		return 1;
	}
	snprintf(prefix, sizeof(prefix), "p%u_name", port);
	rc = replay_param_bytes(rp, p, prefix, (uint8_t *)cp->names[port],
				VDEV_CONSOLE_NAME_MAX, &len);
	if (rc == 0)
		return replay_unknown_param(rp, p);
	return rc;
}

static int take_param(struct vdev_replay *rp, const struct vdev_trace_param *p,
		      struct con_replay_params *cp)
{
	uint64_t v;
	int rc;

	rc = take_port_param(rp, p, cp);
	if (rc != 0)
		return rc < 0 ? rc : 0;
#define U(name, max, dst)                                                  \
	if (strcmp(p->key, name) == 0) {                                   \
		if ((rc = replay_param_u(rp, p, (max), &v)) < 0)           \
			return rc;                                         \
		dst = v;                                                   \
		return 0;                                                  \
	}
	U("queue_size", VDEV_VQ_MAX_SIZE, cp->cfg.qsize);
	U("max_nr_ports", VDEV_CONSOLE_MAX_PORTS, cp->cfg.max_nr_ports);
	U("multiport", 1, cp->cfg.multiport);
	U("cols", UINT16_MAX, cp->cfg.cols);
	U("rows", UINT16_MAX, cp->cfg.rows);
	U("size", 1, cp->size);
	U("emerg_write", 1, cp->emerg_write);
#undef U
	if (strcmp(p->key, "features") == 0) {
		cp->have_features = true;
		cp->features = p->value;
		return 0;
	}
	return replay_unknown_param(rp, p);
}

static int make_backends(struct vdev_replay *rp, struct con_replay_params *cp,
			 struct rcon_state *st, struct vdev_console_port_config *ports,
			 uint32_t nports)
{
	for (uint32_t i = 0; i < nports; i++) {
		uint8_t f = cp->pflags[i];
		struct vdev_console_port_config *pc = &ports[i];

		pc->size = sizeof(*pc);
		pc->name = cp->names[i][0] ? cp->names[i] : NULL;
		pc->console = (f & VDEV_TRACE_CONP_CONSOLE) != 0;
		pc->host_closed = !(f & VDEV_TRACE_CONP_HOST_OPEN);
		if (!(f & (VDEV_TRACE_CONP_READ | VDEV_TRACE_CONP_WRITE | VDEV_TRACE_CONP_POLL_FD)))
			continue;
		if (f & VDEV_TRACE_CONP_POLL_FD) {
			st->ports[i].efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
			if (st->ports[i].efd < 0)
				return replay_fail(rp, -errno, "console: cannot create an eventfd");
		}
		pc->backend = (struct vdev_console_backend){
			.version = VDEV_CONSOLE_BACKEND_VERSION,
			.opaque = &st->ports[i],
			.read = (f & VDEV_TRACE_CONP_READ) ? rcon_read : NULL,
			.write = (f & VDEV_TRACE_CONP_WRITE) ? rcon_write : NULL,
			.poll_fd = (f & VDEV_TRACE_CONP_POLL_FD) ? rcon_poll_fd : NULL,
		};
	}
	return 0;
}

static int console_create(struct vmctx *ctx, const struct vdev_virtio_pci_config *pci,
			  const struct vdev_trace_param *params, int nparams,
			  struct vdev_replay *rp, struct vdev_dev **out)
{
	struct con_replay_params *cp;
	struct vdev_console_port_config ports[VDEV_CONSOLE_MAX_PORTS];
	struct rcon_state *st;
	uint32_t nports = 0;
	int rc;

	cp = calloc(1, sizeof(*cp));
	st = calloc(1, sizeof(*st));
	if (cp == NULL || st == NULL) {
		free(cp);
		free(st);
		return -ENOMEM;
	}
	for (int i = 0; i < VDEV_CONSOLE_MAX_PORTS; i++) {
		st->ports[i].rp = rp;
		st->ports[i].port = (uint32_t)i;
		st->ports[i].efd = -1;
	}
	cp->size = cp->emerg_write = true;
	rc = 0;
	for (int i = 0; i < nparams && rc >= 0; i++)
		rc = take_param(rp, &params[i], cp);
	for (uint32_t i = 0; i < VDEV_CONSOLE_MAX_PORTS; i++)
		if (cp->pflags[i])
			nports = i + 1;
	memset(ports, 0, sizeof(ports));
	if (rc >= 0)
		rc = make_backends(rp, cp, st, ports, nports);
	if (rc >= 0) {
		cp->cfg.qsize = (uint16_t)replay_fuzz_cap(rp, cp->cfg.qsize, 1024);
		cp->cfg.size = sizeof(cp->cfg);
		cp->cfg.pci = *pci;
		cp->cfg.no_size = !cp->size;
		cp->cfg.no_emerg_write = !cp->emerg_write;
		cp->cfg.nports = nports;
		cp->cfg.ports = ports;
		rc = vdev_console_create(ctx, "replay", &cp->cfg, out);
		if (rc < 0)
			rc = replay_fail(rp, rc, "the console's parameters were refused: %s",
				   replay_last_error(rp));
	}
	/* A port the trace's device did not have below one it had (hot-unplugged before
	 * the recording began). */
	for (uint32_t i = 1; rc >= 0 && i < nports; i++)
		if (!cp->pflags[i])
			(void)vdev_console_port_remove(*out, i);
	if (rc >= 0) {
		rp->adapter_state = st;
		rp->adapter_free = rcon_free;
		rc = replay_check_features(rp, *out, cp->have_features, cp->features);
	} else {
		rcon_free(st);
	}
	free(cp);
	return rc;
}

const struct vdev_replay_adapter replay_console_adapter = {
	.type = VIRTIO_TYPE_CONSOLE,
	.create = console_create,
};
