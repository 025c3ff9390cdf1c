/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices.h"
#include "vdev/blk.h"
#include "vdev/console.h"
#include "vdev/net.h"
#include "vdev/rng.h"

static int build_blk(const struct host_dev_config *dc, struct vmctx *ctx, struct vdev_dev **out)
{
	const struct host_blk_config *b = &dc->u.blk;
	struct vdev_blk_backend be;
	struct vdev_blk_config cfg = {
		.size = sizeof(struct vdev_blk_config),
		.pci = dc->pci,
		.path = b->null_size ? NULL : b->path,
		.readonly = b->readonly,
		.num_queues = b->num_queues,
		.queue_size = b->queue_size,
		.serial = b->serial[0] ? b->serial : NULL,
		.blk_size = b->blk_size,
		.no_discard = !b->discard,
		.no_write_zeroes = !b->write_zeroes,
	};
	int rc;

	if (b->null_size == 0)
		return vdev_blk_create(ctx, dc->id, &cfg, out);
	rc = vdev_blk_null_backend(b->null_size, &be);
	if (rc < 0)
		return rc;
	cfg.backend = &be;
	rc = vdev_blk_create(ctx, dc->id, &cfg, out);
	if (rc < 0 && be.destroy)
		be.destroy(be.opaque); /* not taken over on failure */
	return rc;
}

/* The guest's link is only useful with the host end up; addresses are the user's. */
static void tap_up(const char *ifname)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		(void)ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
}

static int build_net(const struct host_dev_config *dc, struct vmctx *ctx, struct vdev_dev **out)
{
	const struct host_net_config *n = &dc->u.net;
	struct vdev_net_tap_config tap = {.size = sizeof(struct vdev_net_tap_config),
					  .ifname = n->ifname, .queues = n->queue_pairs};
	struct vdev_net_backend be;
	struct vdev_net_config cfg = {
		.size = sizeof(struct vdev_net_config),
		.pci = dc->pci,
		.backend = &be,
		.mtu = n->mtu,
		.queue_pairs = n->queue_pairs,
	};
	int rc = vdev_net_backend_tap(&tap, &be);

	if (rc < 0)
		return rc;
	if (n->has_mac)
		memcpy(cfg.mac, n->mac, sizeof(cfg.mac));
	rc = vdev_net_create(ctx, dc->id, &cfg, out);
	if (rc < 0) {
		vdev_net_backend_close(&be);
		return rc;
	}
	tap_up(n->ifname);
	return 0;
}

static int build_console(const struct host_dev_config *dc, struct vmctx *ctx,
			 struct vdev_dev **out)
{
	struct vdev_console_port_config port = {.size = sizeof(struct vdev_console_port_config)};
	struct vdev_console_config cfg = {.size = sizeof(struct vdev_console_config),
					  .pci = dc->pci, .nports = 1, .ports = &port};
	char pty[64];
	int rc;

	switch (dc->u.console.backend) {
	case HOST_CONSOLE_FILE:
		rc = vdev_console_backend_logfile(dc->u.console.path, &port.backend);
		break;
	case HOST_CONSOLE_STDIO:
		rc = vdev_console_backend_stdio(&port.backend);
		break;
	default:
		rc = vdev_console_backend_pty(&port.backend, pty, sizeof(pty));
		if (rc == 0)
			fprintf(stderr, "vdev-host info [%s] console on %s\n", dc->id, pty);
		break;
	}
	if (rc < 0)
		return rc;
	rc = vdev_console_create(ctx, dc->id, &cfg, out);
	if (rc < 0)
		vdev_console_backend_release(&port.backend);
	return rc;
}

static int build_rng(const struct host_dev_config *dc, struct vmctx *ctx, struct vdev_dev **out)
{
	const struct host_rng_config *r = &dc->u.rng;
	struct vdev_rng_config cfg = {
		.size = sizeof(struct vdev_rng_config),
		.pci = dc->pci,
		.path = r->path[0] ? r->path : NULL,
		.max_request_bytes = r->max_request_bytes,
		.rate_bytes_per_sec = r->rate_bytes_per_sec,
	};

	return vdev_rng_create(ctx, dc->id, &cfg, out);
}

int host_dev_build(const struct host_dev_config *dc, struct vmctx *ctx, struct vdev_dev **out)
{
	switch (dc->type) {
	case HOST_DEV_BLK: return build_blk(dc, ctx, out);
	case HOST_DEV_NET: return build_net(dc, ctx, out);
	case HOST_DEV_CONSOLE: return build_console(dc, ctx, out);
	case HOST_DEV_RNG: return build_rng(dc, ctx, out);
	}
	return -EINVAL;
}
