/* SPDX-License-Identifier: BSD-3-Clause */
#include "dev_loop.h"

#include <errno.h>
#include <poll.h>
#include <time.h>

#define MAX_FDS 64

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int dev_loop_once(struct vdev_dev *const *devs, int ndev, int timeout_ms)
{
	struct pollfd pfd[MAX_FDS];
	struct vdev_pollfd vfd[MAX_FDS];
	int n = 0, rc;

	for (int d = 0; d < ndev; d++) {
		int t = vdev_dev_next_timeout_ms(devs[d]);
		int m = vdev_dev_pollfds(devs[d], vfd, MAX_FDS - n);

		if (m < 0)
			return m;
		for (int i = 0; i < m; i++)
			pfd[n++] = (struct pollfd){
				.fd = vfd[i].fd,
				.events = (short)(((vfd[i].events & VDEV_POLL_IN) ? POLLIN : 0) |
						  ((vfd[i].events & VDEV_POLL_OUT) ? POLLOUT : 0))};
		if (t >= 0 && t < timeout_ms)
			timeout_ms = t;
	}
	rc = poll(pfd, (nfds_t)n, timeout_ms);
	if (rc < 0)
		return errno == EINTR ? 0 : -errno;
	for (int d = 0; d < ndev; d++)
		vdev_dev_poll(devs[d]);
	return rc;
}

int dev_loop_until(struct vdev_dev *const *devs, int ndev, bool (*done)(void *), void *arg,
		   int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	while (!done(arg)) {
		long long left = deadline - now_ms();
		int rc;

		if (left <= 0)
			return -ETIMEDOUT;
		rc = dev_loop_once(devs, ndev, left > 50 ? 50 : (int)left);
		if (rc < 0)
			return rc;
	}
	return 0;
}
