/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-console (VIRTIO_TYPE_CONSOLE): one port, or up to VDEV_CONSOLE_MAX_PORTS with
 * VIRTIO_CONSOLE_F_MULTIPORT and its control queues; console size (F_SIZE) and
 * emergency write (F_EMERG_WRITE).
 *
 * Queues: port 0 receiveq/transmitq = 0/1, control receiveq/transmitq = 2/3, port N
 * receiveq/transmitq = 2N+2/2N+3. Without multiport the device has queues 0 and 1 only.
 *
 * Each port has a backend: a versioned table of non-blocking read/write callbacks, so
 * an embedder can plug its own I/O; the default backends below wrap file descriptors
 * (stdio, a pty, a socket, a log file). Guest output is written straight from guest
 * memory: when the backend would block, the device keeps that one chain, takes no more
 * from the port's transmitq, watches the backend's fd for writing and resumes, so host
 * memory never grows with what the guest sends. Host input is read straight into the
 * guest's receive buffers, and only while the guest has some.
 *
 * Everything here follows the event-loop contract of vdev/device.h: watch
 * vdev_dev_pollfds(), call vdev_dev_poll().
 */
#ifndef VDEV_CONSOLE_H
#define VDEV_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "vdev/device.h"
#include "vdev/virtio_pci.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Feature bits (virtio 1.x, 5.3.3). */
#define VIRTIO_CONSOLE_F_SIZE (1ULL << 0)
#define VIRTIO_CONSOLE_F_MULTIPORT (1ULL << 1)
#define VIRTIO_CONSOLE_F_EMERG_WRITE (1ULL << 2)

/* Most ports one device serves (QEMU's virtio-serial default as well). */
#define VDEV_CONSOLE_MAX_PORTS 31
/* Longest port name announced with PORT_NAME, in bytes. */
#define VDEV_CONSOLE_NAME_MAX 127

/* Bump when struct vdev_console_backend grows; older tables stay accepted. */
#define VDEV_CONSOLE_BACKEND_VERSION 1

/*
 * The host side of one port. All callbacks run on the embedder's thread with the
 * device lock held, must not block, and must not call back into the device.
 * A zeroed struct (version 0) means "no backend": guest output is discarded (counted
 * in stats.dropped) and there is no host input.
 */
struct vdev_console_backend {
	uint32_t version; /* VDEV_CONSOLE_BACKEND_VERSION, or 0 for none */
	void *opaque;     /* passed to every callback */
	/*
	 * Optional (NULL: no host input). Read into iov[0..iovcnt). Return the bytes read
	 * (> 0), 0 at end of input (the device stops reading this port), -EAGAIN when
	 * nothing is available now, or another negative errno (logged; input stops).
	 */
	ssize_t (*read)(void *opaque, const struct iovec *iov, int iovcnt);
	/*
	 * Optional (NULL: output discarded). Write from iov[0..iovcnt). Return the bytes
	 * accepted (> 0, may be fewer than offered), -EAGAIN when the host side is full
	 * (the device keeps the rest and retries once poll_fd(VDEV_POLL_OUT) is writable),
	 * or another negative errno (the rest of that chain is dropped and counted).
	 */
	ssize_t (*write)(void *opaque, const struct iovec *iov, int iovcnt);
	/*
	 * Optional: the fd whose readiness for `dir` (VDEV_POLL_IN or VDEV_POLL_OUT) the
	 * embedder's loop should wait for, or -1. Without one the device retries at
	 * every vdev_dev_poll().
	 */
	int (*poll_fd)(void *opaque, short dir);
	/* Optional: called once when the device lets go of the backend. */
	void (*release)(void *opaque);
};

/* Flags of vdev_console_backend_fds(). */
#define VDEV_CONSOLE_FD_CLOSE 0x1 /* close the fds when the backend is released */

/*
 * A backend over a pair of file descriptors: host input is read from in_fd, guest
 * output written to out_fd (either may be -1, not both; they may be the same fd).
 * Sockets are used with MSG_DONTWAIT / MSG_NOSIGNAL and left as they are; other fds
 * that can block (pipes, terminals) are switched to O_NONBLOCK, and their flags are
 * restored on release; writes to them never raise SIGPIPE. Returns 0, -EINVAL, -EBADF
 * when an fd is not open, or -ENOMEM. On success the caller owns *out until it hands
 * it to a port (or calls vdev_console_backend_release()).
 */
int vdev_console_backend_fds(int in_fd, int out_fd, uint32_t flags,
			     struct vdev_console_backend *out);

/* vdev_console_backend_fds(0, 1, 0, out): the process's standard input and output. */
int vdev_console_backend_stdio(struct vdev_console_backend *out);

/*
 * An output-only backend appending guest output to the file at `path` (created with
 * mode 0644 when missing). Returns 0, -EINVAL, or the negative errno of open().
 */
int vdev_console_backend_logfile(const char *path, struct vdev_console_backend *out);

/*
 * A new pseudo-terminal in raw mode: the guest's port is its master side, and the
 * slave's path (e.g. "/dev/pts/3") is copied into name[0..name_len) for a terminal
 * program to open. The backend keeps the slave open itself, so guest output simply
 * waits (back-pressure) while nobody is attached. Returns 0, -EINVAL, -ERANGE when
 * name_len is too small, or the negative errno of the pty calls.
 */
int vdev_console_backend_pty(struct vdev_console_backend *out, char *name, size_t name_len);

/* Release a backend that was not handed to a device (e.g. create() failed). Idempotent:
 * the struct is zeroed. NULL is accepted. */
void vdev_console_backend_release(struct vdev_console_backend *be);

/*
 * One port. Zero-initialise, set .size = sizeof(struct vdev_console_port_config), then
 * set what you need. The size lets the struct grow: fields are only ever appended; a
 * caller's shorter struct (an older header) reads as zero past its end, a longer one
 * is refused (-E2BIG) only when it sets what this library does not know; a size below
 * the first version's is -EINVAL. In vdev_console_config.ports every entry must carry
 * the same size, and the array is stepped through by that size.
 */
struct vdev_console_port_config {
	uint32_t size; /* required: sizeof(struct vdev_console_port_config) */
	struct vdev_console_backend backend; /* taken over by the device on success */
	const char *name;  /* multiport: sent with PORT_NAME; NULL or "" for none. Copied. */
	bool console;      /* multiport: announce as a console (CONSOLE_PORT); port 0 always is */
	bool host_closed;  /* multiport: host side starts closed (no PORT_OPEN until
			      vdev_console_set_open()) */
};

/*
 * Zero-initialise, set .size = sizeof(struct vdev_console_config), then set what you
 * need; zero means the default. The size lets the struct grow: fields are only ever
 * appended; a caller's shorter struct (an older header) reads as zero past its end, a
 * longer one is refused (-E2BIG) only when it sets what this library does not know; a
 * size below the first version's is -EINVAL.
 */
struct vdev_console_config {
	uint32_t size; /* required: sizeof(struct vdev_console_config) */
	struct vdev_virtio_pci_config pci; /* pci.mode is required */
	uint16_t qsize;         /* queue size, a power of two <= 32768; 0: 128 */
	uint32_t nports;        /* entries in `ports` (ports 0..nports-1); 0: one port
				   without a backend */
	const struct vdev_console_port_config *ports;
	uint32_t max_nr_ports;  /* 0: max(nports, 1); at most VDEV_CONSOLE_MAX_PORTS.
				   Above 1, MULTIPORT is offered */
	bool multiport;         /* offer MULTIPORT even when max_nr_ports is 1 */
	uint16_t cols, rows;    /* port 0's size for F_SIZE; 0: 80 x 24 */
	bool no_size;           /* do not offer F_SIZE */
	bool no_emerg_write;    /* do not offer F_EMERG_WRITE */
};

/*
 * Create a console device on ctx. On success every port backend in cfg belongs to the
 * device (released by vdev_dev_destroy()); on failure none is touched, nothing is
 * opened or written, and a log line on ctx names the bad field. Returns 0, -EINVAL for
 * a bad argument, -ENOMEM.
 */
int vdev_console_create(struct vmctx *ctx, const char *name, const struct vdev_console_config *cfg,
			struct vdev_dev **out);

/*
 * The host's terminal for `port` changed size. Port 0: the config fields change and,
 * once the driver is ready, a config interrupt follows (F_SIZE must be offered).
 * Other ports (multiport): a RESIZE control message is queued for the guest.
 * Returns 0, -EINVAL (not a console device, no such port), -ENOTSUP (feature not offered).
 */
int vdev_console_resize(struct vdev_dev *dev, uint32_t port, uint16_t cols, uint16_t rows);

/*
 * The host side of `port` was opened or closed (multiport: a PORT_OPEN control message
 * tells the guest). Returns 0, -EINVAL, -ENOTSUP without multiport.
 */
int vdev_console_set_open(struct vdev_dev *dev, uint32_t port, bool open);

/*
 * Hot-plug: add a port (id < max_nr_ports, not present) with its config, announced
 * with DEVICE_ADD once the guest is ready; or remove one (PORT_REMOVE; its backend is
 * released at once, and guest output still queued for it is discarded). Multiport only.
 * Returns 0, -EINVAL, -EBUSY (port present, or its removal not yet delivered),
 * -ENOTSUP, -ENOMEM. On failure of add, pc->backend still belongs to the caller.
 */
int vdev_console_port_add(struct vdev_dev *dev, uint32_t port,
			  const struct vdev_console_port_config *pc);
int vdev_console_port_remove(struct vdev_dev *dev, uint32_t port);

#ifdef __cplusplus
}
#endif

#endif /* VDEV_CONSOLE_H */
