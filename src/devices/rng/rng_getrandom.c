/* SPDX-License-Identifier: BSD-3-Clause */
/* The default entropy source: the kernel's CSPRNG through getrandom(2). */
#include <errno.h>
#include <sys/random.h>

#include "devices/rng/rng_internal.h"
#include "util/common.h"

/* GRND_NONBLOCK: before the kernel's pool is ready this says EAGAIN instead of
 * blocking the embedder's loop; the device then retries on a timer. */
static ssize_t getrandom_read(void *opaque, void *buf, size_t len)
{
	ssize_t got;

	(void)opaque;
	got = getrandom(buf, len, GRND_NONBLOCK);
	return got < 0 ? -errno : got;
}

VDEV_EXPORT int vdev_rng_backend_getrandom(struct vdev_rng_backend *out)
{
	if (out == NULL)
		return -EINVAL;
	*out = (struct vdev_rng_backend){
		.version = VDEV_RNG_BACKEND_VERSION,
		.opaque = NULL,
		.read = getrandom_read,
	};
	return 0;
}
