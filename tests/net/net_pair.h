/* SPDX-License-Identifier: BSD-3-Clause */
/* Two virtio-net guests joined back to back by the socket backend, for the tests. */
#ifndef VDEV_TESTS_NET_PAIR_H
#define VDEV_TESTS_NET_PAIR_H

#include <criterion/criterion.h>
#include <unistd.h>

#include "net_guest.h"

struct net_pair {
	struct net_guest a, b;
	struct vdev_dev *devs[2];
};

/* Open both sides (not yet negotiated). `cfg` supplies everything but the backend. */
static inline void pair_open(struct net_pair *pr, const struct fx_mode *m, bool msix,
			     bool offloads, const struct vdev_net_config *cfg)
{
	struct vdev_net_config c = {.size = sizeof(struct vdev_net_config)};
	struct vdev_net_backend ba, bb;
	int fds[2], rc;

	if (cfg)
		c = *cfg;
	cr_assert_eq(vdev_net_socketpair(fds), 0);
	cr_assert_eq(vdev_net_backend_socket(fds[0], offloads, &ba), 0);
	cr_assert_eq(vdev_net_backend_socket(fds[1], offloads, &bb), 0);
	close(fds[0]);
	close(fds[1]);
	c.backend = &ba;
	rc = ng_open(&pr->a, "neta", m, msix, &c);
	cr_assert_eq(rc, 0, "%s: open a: %d", m->name, rc);
	c.backend = &bb;
	rc = ng_open(&pr->b, "netb", m, msix, &c);
	cr_assert_eq(rc, 0, "%s: open b: %d", m->name, rc);
	pr->devs[0] = pr->a.fx.dev;
	pr->devs[1] = pr->b.fx.dev;
}

static inline void pair_close(struct net_pair *pr)
{
	ng_close(&pr->a);
	ng_close(&pr->b);
}

static inline struct vdev_net_stats net_stats(struct vdev_dev *d)
{
	struct vdev_net_stats s;

	cr_assert_eq(vdev_net_get_stats(d, &s), 0);
	return s;
}

static inline struct vdev_dev_stats dev_stats(struct vdev_dev *d)
{
	struct vdev_dev_stats s;

	vdev_dev_get_stats(d, &s);
	return s;
}

/* Wait condition: device `dev` has given its guest at least `n` frames. */
struct rx_wait {
	struct vdev_dev *dev;
	uint64_t n;
};

static inline bool rx_reached(void *arg)
{
	struct rx_wait *w = arg;
	struct vdev_net_stats s;

	vdev_net_get_stats(w->dev, &s);
	return s.rx_frames + s.rx_filtered + s.rx_dropped >= w->n;
}

static inline void pump_rx(struct net_pair *pr, struct vdev_dev *dst, uint64_t n)
{
	struct rx_wait w = {dst, n};

	cr_assert(ng_pump(pr->devs, 2, rx_reached, &w, 3000),
		  "timed out waiting for %llu frames", (unsigned long long)n);
}

#endif
