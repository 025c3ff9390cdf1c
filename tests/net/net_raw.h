/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A virtio-net guest on the socket backend whose far end the test holds: it sees
 * exactly what reached the backend and injects frames (12-byte header, then the frame).
 */
#ifndef VDEV_TESTS_NET_RAW_H
#define VDEV_TESTS_NET_RAW_H

#include <criterion/criterion.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_guest.h"

/* A guest whose backend's far end is `*peer` (non-blocking) in the test's hands. */
static inline void raw_open(struct net_guest *g, const struct fx_mode *m, int *peer,
			    const struct vdev_net_config *cfg, bool offloads)
{
	struct vdev_net_config c = {.size = sizeof(struct vdev_net_config)};
	struct vdev_net_backend be;
	int fds[2];

	if (cfg)
		c = *cfg;
	cr_assert_eq(vdev_net_socketpair(fds), 0);
	cr_assert_eq(vdev_net_backend_socket(fds[0], offloads, &be), 0);
	close(fds[0]);
	c.backend = &be;
	cr_assert_eq(ng_open(g, "hostile0", m, false, &c), 0);
	*peer = fds[1];
}

static inline void raw_close(struct net_guest *g, int peer)
{
	ng_close(g);
	close(peer);
}

/* Frames waiting at the peer: count them (and keep the last one's length). */
static inline int raw_drain(int peer, size_t *last_len, uint8_t *last)
{
	static uint8_t buf[VDEV_NET_MAX_FRAME + 12];
	int n = 0;
	ssize_t r;

	while ((r = recv(peer, buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
		n++;
		if (last_len)
			*last_len = (size_t)r - 12;
		if (last)
			memcpy(last, buf + 12, (size_t)r - 12);
	}
	return n;
}

static inline void raw_inject(int peer, const uint8_t *frame, size_t len)
{
	static uint8_t buf[VDEV_NET_MAX_FRAME + 12];

	memset(buf, 0, 12);
	memcpy(buf + 12, frame, len);
	cr_assert_eq(send(peer, buf, len + 12, MSG_DONTWAIT), (ssize_t)(len + 12));
}

#endif
