/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-console: creation, the virtio_ops glue, device config and the host controls. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/iov.h"
#include "core/vmctx.h"
#include "devices/console/console_internal.h"
#include "trace/trace_format.h"
#include "trace/trace_hooks.h"
#include "util/common.h"
#include "util/config.h"

#define CON_DEFAULT_COLS 80
#define CON_DEFAULT_ROWS 24

static const struct vdev_dev_ops con_dev_ops;

/* ---- virtio_ops ---- */

static void con_reset(void *softc)
{
	struct con_dev *c = softc;

	/* Held chains belong to the old epoch: forget them without completing (H12). */
	for (uint32_t i = 0; i < c->max_nr_ports; i++)
		con_port_guest_reset(&c->ports[i]);
	c->dev_ready = false;
	c->ctrl_starved = false;
	virtio_reset_dev(&c->dev.base);
}

static void con_qnotify(void *softc, struct virtio_vq_info *vq)
{
	struct con_dev *c = softc;
	uint32_t q = vq->num;

	if (q == CON_Q_CTRL_RX || q == CON_Q_CTRL_TX) {
		if (!con_multiport(c)) {
			vdev_virtio_log(&c->dev.base, VDEV_LOG_DEBUG,
					"kick on control queue %u without MULTIPORT ignored", q);
			return;
		}
		/* A wait for buffers ends when the guest offers some, not at any kick:
		 * empty kicks must not recount it (H30). */
		if (q == CON_Q_CTRL_TX)
			con_ctrl_tx(c);
		else if (vq_has_descs(vq))
			c->ctrl_starved = false;
		con_ctrl_flush(c);
		return;
	}
	{
		uint32_t port = q < 2 ? 0 : (q - 2) / 2;

		if (port > 0 && !con_multiport(c))
			return;
		if (q & 1) {
			con_process_tx(c, port);
		} else {
			if (vq_has_descs(vq))
				c->ports[port].rx_starved = false;
			con_process_rx(c, port);
		}
	}
}

static int con_cfgread(void *softc, int off, int size, uint32_t *val)
{
	struct con_dev *c = softc;
	uint64_t caps = c->dev.base.device_caps;
	uint8_t img[CON_CFG_SIZE] = {0};
	uint32_t v = 0;

	if (caps & VIRTIO_CONSOLE_F_SIZE) {
		vdev_st16(img + CON_CFG_COLS, c->cols);
		vdev_st16(img + CON_CFG_ROWS, c->rows);
	}
	vdev_st32(img + CON_CFG_MAX_NR_PORTS, c->max_nr_ports);
	/* emerg_wr reads 0; off/size were checked against cfgsize by the core. */
	for (int i = 0; i < size; i++)
		v |= (uint32_t)img[off + i] << (8 * i);
	*val = v;
	return 0;
}

static int con_cfgwrite(void *softc, int off, int size, uint32_t val)
{
	struct con_dev *c = softc;

	/* Only emerg_wr is writable, and only from its first byte: one character. */
	if (off != CON_CFG_EMERG_WR || !(c->dev.base.device_caps & VIRTIO_CONSOLE_F_EMERG_WRITE))
		return -1;
	(void)size;
	con_emerg_put(c, (uint8_t)val);
	return 0;
}

static const struct virtio_ops con_vops_template = {
	.name = "virtio-console",
	.nvq = 2,
	.cfgsize = CON_CFG_SIZE,
	.reset = con_reset,
	.qnotify = con_qnotify,
	.cfgread = con_cfgread,
	.cfgwrite = con_cfgwrite,
	.hv_caps = VIRTIO_RING_F_INDIRECT_DESC | VIRTIO_RING_F_EVENT_IDX,
};

/* ---- vdev_dev_ops ---- */

static int con_pollfds(struct vdev_dev *d, struct vdev_pollfd *fds, int max)
{
	return con_io_pollfds(con_of(d), fds, max);
}

static int con_poll(struct vdev_dev *d)
{
	struct con_dev *c = con_of(d);

	/* Wake-ups only say "look again"; the state says what to do. */
	if (vdev_completions_take(&d->done) != NULL)
		c->wake_queued = false;
	con_io_poll(c);
	if (con_multiport(c) && con_live(c))
		con_ctrl_flush(c);
	return 0;
}

static void con_release_ports(struct con_dev *c)
{
	if (c->ports == NULL)
		return;
	for (uint32_t i = 0; i < c->max_nr_ports; i++)
		vdev_console_backend_release(&c->ports[i].be);
}

static void con_free(struct con_dev *c)
{
	for (uint32_t i = 0; c->ports != NULL && i < c->max_nr_ports; i++)
		free(c->ports[i].tx_iov);
	free(c->iov);
	free(c->iov_flags);
	free(c->ports);
	free(c->queues);
	free(c);
}

static void con_destroy(struct vdev_dev *d)
{
	struct con_dev *c = con_of(d);

	con_release_ports(c);
	vdev_dev_fini(d);
	con_free(c);
}

static const struct vdev_dev_ops con_dev_ops = {
	.type = VIRTIO_TYPE_CONSOLE,
	.pollfds = con_pollfds,
	.poll = con_poll,
	.destroy = con_destroy,
	.describe = console_describe,
};

void con_wake(struct con_dev *c)
{
	if (c->wake_queued)
		return;
	c->wake_queued = true;
	vdev_completions_push(&c->dev.done, &c->wake);
}

/* ---- create ---- */

#define CON_BAD(ctx, name, ...)                                                            \
	do {                                                                               \
		vdev_ctx_log((ctx), VDEV_LOG_ERROR, (name), __VA_ARGS__);                  \
		return -EINVAL;                                                            \
	} while (0)

int con_check_port(struct vmctx *ctx, const char *name, uint32_t id,
		   const struct vdev_console_port_config *pc)
{
	const struct vdev_console_backend *be = &pc->backend;

	if (be->version > VDEV_CONSOLE_BACKEND_VERSION)
		CON_BAD(ctx, name, "console: ports[%u].backend.version %u unknown (max %u)", id,
			be->version, VDEV_CONSOLE_BACKEND_VERSION);
	if (be->version == 0 && (be->read || be->write || be->poll_fd || be->release))
		CON_BAD(ctx, name, "console: ports[%u].backend has callbacks but version 0", id);
	if (pc->name != NULL && strnlen(pc->name, VDEV_CONSOLE_NAME_MAX + 1) > VDEV_CONSOLE_NAME_MAX)
		CON_BAD(ctx, name, "console: ports[%u].name longer than %d bytes", id,
			VDEV_CONSOLE_NAME_MAX);
	return 0;
}

/* The sizes of the config structs' first versions; new fields go after them. */
#define CON_CONFIG_V1 VDEV_CONFIG_V1_SIZE(struct vdev_console_config, no_emerg_write)
#define CON_PORT_CONFIG_V1 VDEV_CONFIG_V1_SIZE(struct vdev_console_port_config, host_closed)

/* Copy the caller's port config `given` (sized) into *pc, the library's layout. */
static int con_take_port(struct vmctx *ctx, const char *name, uint32_t id, const void *given,
			 struct vdev_console_port_config *pc)
{
	char why[VDEV_CONFIG_WHY_LEN];
	int rc = vdev_config_take(pc, sizeof(*pc), given, CON_PORT_CONFIG_V1,
				  "vdev_console_port_config", why, sizeof(why));

	if (rc < 0)
		vdev_ctx_log(ctx, VDEV_LOG_ERROR, name, "console: ports[%u].size: %s", id, why);
	return rc;
}

/*
 * Copy cfg->ports into ports[] (library layout) and point cfg->ports there. The
 * caller's entries are as long as its header made them: every entry must carry the
 * size of the first, and the array is stepped through by that size.
 */
static int con_take_ports(struct vmctx *ctx, const char *name, struct vdev_console_config *cfg,
			  struct vdev_console_port_config *ports)
{
	const unsigned char *at = (const unsigned char *)cfg->ports;
	uint32_t stride, size;
	int rc;

	if (cfg->nports == 0)
		return 0;
	memcpy(&stride, at, sizeof(stride));
	for (uint32_t i = 0; i < cfg->nports; i++, at += stride) {
		memcpy(&size, at, sizeof(size));
		if (size != stride)
			CON_BAD(ctx, name, "console: ports[%u].size: %u is not ports[0].size %u",
				i, size, stride);
		rc = con_take_port(ctx, name, i, at, &ports[i]);
		if (rc < 0)
			return rc;
	}
	cfg->ports = ports;
	return 0;
}

void con_port_install(struct con_port *p, uint32_t id, const struct vdev_console_port_config *pc)
{
	p->be = pc->backend;
	p->present = true;
	p->console = id == 0 || pc->console;
	p->host_open = !pc->host_closed;
	p->in_eof = false;
	p->name_len = 0;
	if (pc->name != NULL) {
		p->name_len = (uint16_t)strnlen(pc->name, VDEV_CONSOLE_NAME_MAX);
		memcpy(p->name, pc->name, p->name_len);
	}
	p->name[p->name_len] = '\0';
}

/* Copy the caller's `given` into *cfg and its ports into ports[] (the library's
 * layout), then check them. */
static int con_check_config(struct vmctx *ctx, const char *name,
			    const struct vdev_console_config *given, struct vdev_console_config *cfg,
			    struct vdev_console_port_config *ports, uint32_t *max_ports)
{
	const char *field, *reason;
	char why[VDEV_CONFIG_WHY_LEN];
	uint32_t max;
	int rc;

	rc = vdev_config_take(cfg, sizeof(*cfg), given, CON_CONFIG_V1, "vdev_console_config",
			      why, sizeof(why));
	if (rc < 0) {
		vdev_ctx_log(ctx, VDEV_LOG_ERROR, name, "console: size: %s", why);
		return rc;
	}
	max = cfg->max_nr_ports;
	if (vdev_dev_check_pci(&cfg->pci, &field, &reason) < 0)
		CON_BAD(ctx, name, "console: %s: %s", field, reason);
	if (cfg->qsize != 0 && (!vdev_is_pow2(cfg->qsize) || cfg->qsize > VDEV_VQ_MAX_SIZE))
		CON_BAD(ctx, name, "console: qsize %u is not a power of two <= %d", cfg->qsize,
			VDEV_VQ_MAX_SIZE);
	if (cfg->nports > 0 && cfg->ports == NULL)
		CON_BAD(ctx, name, "console: nports %u but ports is NULL", cfg->nports);
	if (cfg->nports > VDEV_CONSOLE_MAX_PORTS)
		CON_BAD(ctx, name, "console: nports %u above %d", cfg->nports,
			VDEV_CONSOLE_MAX_PORTS);
	if (max == 0)
		max = cfg->nports ? cfg->nports : 1;
	if (max > VDEV_CONSOLE_MAX_PORTS)
		CON_BAD(ctx, name, "console: max_nr_ports %u above %d", max, VDEV_CONSOLE_MAX_PORTS);
	if (cfg->nports > max)
		CON_BAD(ctx, name, "console: nports %u above max_nr_ports %u", cfg->nports, max);
	rc = con_take_ports(ctx, name, cfg, ports);
	if (rc < 0)
		return rc;
	for (uint32_t i = 0; i < cfg->nports; i++)
		if (con_check_port(ctx, name, i, &cfg->ports[i]) < 0)
			return -EINVAL;
	*max_ports = max;
	return 0;
}

static int con_alloc(struct con_dev **out, uint32_t max_ports, bool multiport, uint16_t qsize)
{
	struct con_dev *c = calloc(1, sizeof(*c));
	int nvq = multiport ? (int)(2 * (max_ports + 1)) : 2;

	if (c == NULL)
		return -ENOMEM;
	c->queues = calloc((size_t)nvq, sizeof(*c->queues));
	c->ports = calloc(max_ports, sizeof(*c->ports));
	c->max_nr_ports = max_ports;
	/*
	 * Every chain the queue allows is taken whole: the backend writes one chain as one
	 * iovec array, and a held chain must not be walked again (the guest may have
	 * rewritten its descriptors). So the arrays are sized from the queue, once, here.
	 */
	c->iov_cap = vdev_iov_chain_cap(qsize);
	c->iov = calloc((size_t)c->iov_cap, sizeof(*c->iov));
	c->iov_flags = calloc((size_t)c->iov_cap, sizeof(*c->iov_flags));
	if (c->queues == NULL || c->ports == NULL || c->iov == NULL || c->iov_flags == NULL) {
		con_free(c);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < max_ports; i++) {
		c->ports[i].tx_iov = calloc((size_t)c->iov_cap, sizeof(*c->ports[i].tx_iov));
		if (c->ports[i].tx_iov == NULL) {
			con_free(c);
			return -ENOMEM;
		}
	}
	for (int i = 0; i < nvq; i++)
		c->queues[i].qsize = qsize;
	c->vops = con_vops_template;
	c->vops.nvq = nvq;
	c->multiport_offered = multiport;
	*out = c;
	return 0;
}

VDEV_EXPORT int vdev_console_create(struct vmctx *ctx, const char *name,
				    const struct vdev_console_config *given, struct vdev_dev **out)
{
	/* Everything below reads these copies only. */
	struct vdev_console_port_config ports[VDEV_CONSOLE_MAX_PORTS];
	struct vdev_console_config local;
	const struct vdev_console_config *cfg = &local;
	struct con_dev *c;
	uint32_t max_ports = 1;
	bool multiport;
	int rc;

	if (ctx == NULL)
		return -EINVAL;
	if (name == NULL || out == NULL || given == NULL)
		CON_BAD(ctx, name ? name : "", "console: %s is NULL",
			name == NULL ? "name" : out == NULL ? "out" : "cfg");
	rc = con_check_config(ctx, name, given, &local, ports, &max_ports);
	if (rc < 0)
		return rc;
	multiport = max_ports > 1 || cfg->multiport;
	rc = con_alloc(&c, max_ports, multiport,
		       cfg->qsize ? cfg->qsize : CON_DEFAULT_QSIZE);
	if (rc < 0)
		return rc;
	c->cols = cfg->cols ? cfg->cols : CON_DEFAULT_COLS;
	c->rows = cfg->rows ? cfg->rows : CON_DEFAULT_ROWS;
	rc = vdev_dev_init(&c->dev, ctx, name, &con_dev_ops, &c->vops, c->queues, &cfg->pci);
	if (rc < 0) {
		con_free(c);
		return rc;
	}
	rc = vdev_dev_enable_completions(&c->dev);
	if (rc < 0) {
		vdev_dev_fini(&c->dev);
		con_free(c);
		return rc;
	}
	c->dev.base.device_caps |= (multiport ? VIRTIO_CONSOLE_F_MULTIPORT : 0) |
				   (cfg->no_size ? 0 : VIRTIO_CONSOLE_F_SIZE) |
				   (cfg->no_emerg_write ? 0 : VIRTIO_CONSOLE_F_EMERG_WRITE);
	/* Only now, with nothing left to fail, do the backends change hands. */
	if (cfg->nports == 0)
		c->ports[0].present = c->ports[0].console = c->ports[0].host_open = true;
	for (uint32_t i = 0; i < cfg->nports; i++)
		con_port_install(&c->ports[i], i, &cfg->ports[i]);
	*out = &c->dev;
	return 0;
}

/* ---- host controls ---- */

/* The console behind `d`, locked, or NULL when d is not a console. */
static struct con_dev *con_lock(struct vdev_dev *d)
{
	if (d == NULL || d->ops != &con_dev_ops)
		return NULL;
	pthread_mutex_lock(&d->lock);
	return con_of(d);
}

static void con_unlock(struct con_dev *c)
{
	pthread_mutex_unlock(&c->dev.lock);
}

/* A host control is an entry point of its own for a recorder (trace_hooks.h). */
static void host_enter(struct con_dev *c)
{
	if (vdev_virtio_trace(&c->dev.base) != NULL)
		vdev_trace_enter(vdev_virtio_trace(&c->dev.base));
}

static void host_leave(struct con_dev *c, int op, uint64_t a, uint64_t b)
{
	if (vdev_virtio_trace(&c->dev.base) != NULL)
		vdev_trace_leave_host(vdev_virtio_trace(&c->dev.base), op, a, b);
}

VDEV_EXPORT int vdev_console_resize(struct vdev_dev *dev, uint32_t port, uint16_t cols,
				    uint16_t rows)
{
	struct con_dev *c = con_lock(dev);
	int rc = 0;

	if (c == NULL)
		return -EINVAL;
	host_enter(c);
	if (port >= c->max_nr_ports || !c->ports[port].present) {
		rc = -EINVAL;
	} else if (port == 0) {
		if (!(c->dev.base.device_caps & VIRTIO_CONSOLE_F_SIZE)) {
			rc = -ENOTSUP;
		} else {
			c->cols = cols;
			c->rows = rows;
			if (c->dev.base.status & VIRTIO_CR_STATUS_DRIVER_OK)
				virtio_config_changed(&c->dev.base);
		}
	} else {
		c->ports[port].cols = cols;
		c->ports[port].rows = rows;
		c->ports[port].pending |= CON_PEND_RESIZE;
		con_wake(c);
	}
	host_leave(c, VDEV_TR_HOST_CON_RESIZE, port, (uint64_t)cols << 16 | rows);
	con_unlock(c);
	return rc;
}

VDEV_EXPORT int vdev_console_set_open(struct vdev_dev *dev, uint32_t port, bool open)
{
	struct con_dev *c = con_lock(dev);
	int rc = 0;

	if (c == NULL)
		return -EINVAL;
	host_enter(c);
	if (!c->multiport_offered) {
		rc = -ENOTSUP;
	} else if (port >= c->max_nr_ports || !c->ports[port].present) {
		rc = -EINVAL;
	} else {
		c->ports[port].host_open = open;
		c->ports[port].pending |= CON_PEND_OPEN;
		con_wake(c);
	}
	host_leave(c, VDEV_TR_HOST_CON_OPEN, port, open ? 1 : 0);
	con_unlock(c);
	return rc;
}

VDEV_EXPORT int vdev_console_port_add(struct vdev_dev *dev, uint32_t port,
				      const struct vdev_console_port_config *given)
{
	struct con_dev *c = con_lock(dev);
	struct vdev_console_port_config local; /* read from here on, never `given` */
	const struct vdev_console_port_config *pc = &local;
	struct con_port *p;
	int rc = 0;

	if (c == NULL)
		return -EINVAL;
	if (!c->multiport_offered) {
		rc = -ENOTSUP;
	} else if (given == NULL || port >= c->max_nr_ports) {
		vdev_virtio_log(&c->dev.base, VDEV_LOG_ERROR, "console: port_add: %s",
				given == NULL ? "pc is NULL" : "port past max_nr_ports");
		rc = -EINVAL;
	} else if ((rc = con_take_port(c->dev.base.vmctx, vdev_dev_name(dev), port, given,
				       &local)) < 0) {
		/* logged */
	} else if (c->ports[port].present || (c->ports[port].pending & CON_PEND_REMOVE)) {
		rc = -EBUSY;
	} else if (con_check_port(c->dev.base.vmctx, vdev_dev_name(dev), port, pc) < 0) {
		rc = -EINVAL;
	} else {
		p = &c->ports[port];
		/* Any chain still held from a removed predecessor is completed in poll. */
		p->announced = p->guest_ready = p->guest_open = p->rx_starved = false;
		p->pending = 0;
		con_port_install(p, port, pc);
		if (c->dev_ready)
			p->pending |= CON_PEND_ADD;
		con_wake(c);
	}
	con_unlock(c);
	return rc;
}

VDEV_EXPORT int vdev_console_port_remove(struct vdev_dev *dev, uint32_t port)
{
	struct con_dev *c = con_lock(dev);
	struct con_port *p;
	int rc = 0;

	if (c == NULL)
		return -EINVAL;
	if (!c->multiport_offered) {
		rc = -ENOTSUP;
	} else if (port >= c->max_nr_ports || !c->ports[port].present) {
		rc = -EINVAL;
	} else {
		p = &c->ports[port];
		vdev_console_backend_release(&p->be);
		p->present = false;
		p->guest_ready = p->guest_open = false;
		/* Only a port the guest knows about needs a PORT_REMOVE. */
		p->pending = p->announced ? CON_PEND_REMOVE : 0;
		/* The held chain (if any) and queued output are completed, dropped, in poll. */
		p->tx_again = true;
		p->out_blocked = false;
		con_wake(c);
	}
	con_unlock(c);
	return rc;
}
