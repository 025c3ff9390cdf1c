/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-rng (VIRTIO_TYPE_ENTROPY): one request queue; every device-writable buffer
 * the guest offers is filled with bytes from an entropy source.
 *
 * Sources: getrandom(2) by default, a file or character device (`path`), or the
 * embedder's own (`backend`). Bytes go straight from the source into guest memory;
 * the device never allocates from a guest length.
 *
 * Bounds a guest cannot lift (HOSTILE.md H40):
 *  - each request gets at most `max_request_bytes` (the used length says how many);
 *  - an optional token bucket limits bytes per second; requests that find it empty
 *    wait in the ring (never dropped) and the device asks the embedder's loop for a
 *    timer through vdev_dev_next_timeout_ms();
 *  - at most `max_requests_per_poll` requests are served per kick or
 *    vdev_dev_poll(); the rest are served on the next poll, which the device asks for
 *    at once (vdev_dev_next_timeout_ms() returns 0).
 *
 * Everything runs on the embedder's thread, inside register accesses and
 * vdev_dev_poll(): there is no backend thread, so nothing is ever in flight across a
 * device reset.
 */
#ifndef VDEV_RNG_H
#define VDEV_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vdev/device.h"
#include "vdev/virtio_pci.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bump when struct vdev_rng_backend grows; older tables stay accepted. */
#define VDEV_RNG_BACKEND_VERSION 1

/* Defaults and limits of struct vdev_rng_config. */
#define VDEV_RNG_DEFAULT_REQUEST_BYTES (64u * 1024)
#define VDEV_RNG_MAX_REQUEST_BYTES (16u * 1024 * 1024)
#define VDEV_RNG_DEFAULT_QUEUE_SIZE 64
#define VDEV_RNG_MAX_QUEUE_SIZE 1024
#define VDEV_RNG_DEFAULT_REQUESTS_PER_POLL 16
#define VDEV_RNG_MAX_RATE 0xFFFFFFFFull /* bytes per second */
/* How long the device waits before asking a source again: after -EAGAIN/-EINTR, and
 * after a hard failure (an exhausted file, an I/O error). */
#define VDEV_RNG_RETRY_MS 10
#define VDEV_RNG_FAILED_RETRY_MS 1000

/*
 * An entropy source. The device copies the table; `opaque` is passed to every call.
 * All calls come from the embedder's thread with the device lock held.
 */
struct vdev_rng_backend {
	uint32_t version; /* VDEV_RNG_BACKEND_VERSION */
	void *opaque;
	/*
	 * Required. Write up to `len` (> 0) bytes of entropy at `buf` (guest memory) and
	 * never block. Returns the bytes written (1..len); -EAGAIN or -EINTR when none
	 * are ready now (the device retries later: when pollfd() is readable or after
	 * VDEV_RNG_RETRY_MS); or another negative errno when the source failed
	 * (-ENODATA: exhausted). A failed source is retried every
	 * VDEV_RNG_FAILED_RETRY_MS. 0, or more than `len`, is taken as -EIO.
	 */
	ssize_t (*read)(void *opaque, void *buf, size_t len);
	/* Optional: a descriptor that becomes readable when read() may succeed again
	 * after -EAGAIN, or -1. */
	int (*pollfd)(void *opaque);
	/* Optional: release the source; called once, by vdev_dev_destroy(). */
	void (*close)(void *opaque);
};

/*
 * The default POSIX sources, for an embedder that wants to wrap or share them.
 * vdev_rng_backend_getrandom(): getrandom(2) with GRND_NONBLOCK. Returns 0.
 * vdev_rng_backend_file(): reads `path` (opened read-only, non-blocking). At the end
 * of a regular file it starts again at offset 0 when `wrap`, else reports -ENODATA
 * (and reads on if the file grows). Returns 0, -EINVAL (NULL argument, a directory,
 * an empty regular file), or the errno of open(2)/fstat(2) as a negative number.
 * Either fills *out; the source is freed by out->close.
 */
int vdev_rng_backend_getrandom(struct vdev_rng_backend *out);
int vdev_rng_backend_file(const char *path, bool wrap, struct vdev_rng_backend *out);

/*
 * Zero-initialise, set .size = sizeof(struct vdev_rng_config), then set what you need;
 * zero means the default. The size lets the struct grow: fields are only ever appended;
 * a caller's shorter struct (an older header) reads as zero past its end, a longer one
 * is refused (-E2BIG) only when it sets what this library does not know; a size below
 * the first version's is -EINVAL.
 */
struct vdev_rng_config {
	uint32_t size; /* required: sizeof(struct vdev_rng_config) */
	struct vdev_virtio_pci_config pci; /* pci.mode is required */

	/* The source: at most one of `path` and `backend`; neither means getrandom(2). */
	const char *path; /* file or character device, e.g. "/dev/urandom" */
	bool wrap;        /* regular `path` at end of file: false (default) reports an
			     error and the device waits for more data; true starts
			     again at offset 0 (deterministic tests only: it repeats
			     bytes) */
	/* The embedder's source, copied. On success the device owns it (and calls its
	 * close at destroy); when create() fails it is left untouched. */
	const struct vdev_rng_backend *backend;

	/* Bytes given to one request at most: 0 = VDEV_RNG_DEFAULT_REQUEST_BYTES,
	 * at most VDEV_RNG_MAX_REQUEST_BYTES. */
	uint32_t max_request_bytes;
	/* Token bucket: 0 = unlimited, at most VDEV_RNG_MAX_RATE bytes per second. */
	uint64_t rate_bytes_per_sec;
	/* Bucket depth in bytes: 0 = one second's worth. A request is served once the
	 * bucket holds min(its writable bytes, max_request_bytes, burst) tokens. The
	 * bucket starts full and a guest reset does not refill it. */
	uint32_t rate_burst_bytes;

	/* Queue size: 0 = VDEV_RNG_DEFAULT_QUEUE_SIZE; a power of two up to
	 * VDEV_RNG_MAX_QUEUE_SIZE. */
	uint16_t queue_size;
	/* Requests served per kick or poll: 0 = VDEV_RNG_DEFAULT_REQUESTS_PER_POLL. */
	uint16_t max_requests_per_poll;

	/* Monotonic time in nanoseconds for the rate limiter and retry timers: NULL means
	 * the host's clock (vdev_host_ops.now_ns, else CLOCK_MONOTONIC); tests pass a fake
	 * clock. */
	uint64_t (*clock_ns)(void *arg);
	void *clock_arg;
};

/*
 * Create a virtio-rng PCI function `name` on ctx. Returns 0 with *out set, -EINVAL
 * for a bad argument (logged on ctx, naming the field; nothing is opened), the
 * negative errno of opening `path`, or -ENOMEM.
 */
int vdev_rng_create(struct vmctx *ctx, const char *name, const struct vdev_rng_config *cfg,
		    struct vdev_dev **out);

/*
 * Change the rate limit at run time (same meaning and limits as the config fields;
 * 0 = unlimited). A full bucket of the new depth is granted. Returns 0, or -EINVAL
 * when dev is not a virtio-rng device or a value is out of range.
 */
int vdev_rng_set_rate_limit(struct vdev_dev *dev, uint64_t bytes_per_sec, uint32_t burst_bytes);

/* Counters beyond struct vdev_dev_stats; monotonic until destroy. */
struct vdev_rng_stats {
	uint64_t capped;          /* requests given max_request_bytes, less than offered */
	uint64_t throttled;       /* times a request waited for the rate limiter */
	uint64_t source_retries;  /* times the source said -EAGAIN/-EINTR */
	uint64_t source_failures; /* times the source failed (also counted in errors) */
	uint64_t readable_ignored; /* device-readable bytes found in requests, ignored */
	bool source_failed;       /* the source is failed now (waiting to retry) */
	uint64_t reserved[8]; /* zero: a counter added later takes a slot here, so the
				struct keeps its size and layout */
};

/* Returns 0, or -EINVAL when dev is not a virtio-rng device or out is NULL. */
int vdev_rng_get_stats(struct vdev_dev *dev, struct vdev_rng_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* VDEV_RNG_H */
