/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One QEMU multi-process connection (x-pci-proxy-dev): one PCI function, built fresh for
 * this connection on its own vmctx and guest-RAM table, served over a connected UNIX
 * stream socket. Independent of any event loop: the owner watches the descriptors
 * proxy_conn_pollfds() lists (level-triggered) and calls proxy_conn_handle() when one is
 * readable. All calls for one connection come from one thread.
 *
 * Interrupts are INTx only, through the eventfd pair of SET_IRQFD as QEMU wires it to a
 * KVM irqfd with a resample fd: a rising level signals the INTx eventfd, the interrupt
 * controller de-asserts the line at EOI and signals the resample fd, and if the function
 * still drives INTx high then, the connection signals again. MSI and MSI-X cannot be
 * delivered over this protocol: configure devices without them.
 */
#ifndef VDEV_HOST_PROXY_CONN_H
#define VDEV_HOST_PROXY_CONN_H

#include <stdint.h>

#include "vdev/vdev.h"

/* Builds and tears down the device one connection serves. */
struct proxy_dev_factory {
	/*
	 * Required. Create the device on `ctx` (the connection's own host handle) and
	 * return its PCI function and an opaque device handle. Returns 0 or a negative
	 * errno. Serve 32-bit memory BARs and no MSI-X: QEMU's proxy sizes every BAR
	 * register as a 32-bit BAR of its own.
	 */
	int (*create)(void *arg, struct vmctx *ctx, struct pci_vdev **pci_out, void **dev_out);
	/* Required. Destroy what create() built, PCI function included. */
	void (*destroy)(void *arg, void *dev);
	/*
	 * Optional: reset the device for DEVICE_RESET. Without it the connection writes
	 * 0 to the virtio device status through the register model.
	 */
	void (*reset)(void *arg, void *dev);
	/*
	 * Optional: the guest-RAM table changed (SYNC_SYSMEM accepted); called once per
	 * region of the new table, old and new alike (a trace recorder declares each
	 * region the first time it appears).
	 */
	void (*ram_region)(void *arg, void *dev, uint64_t gpa, uint64_t size);
};

/* The connector's log sink; the same shape as vdev_host_ops.log, which it also serves. */
typedef void (*proxy_log_fn)(void *opaque, enum vdev_log_level level, const char *devname,
			     const char *msg);

struct proxy_conn;

/*
 * Serve the connected socket `fd` (QEMU's x-pci-proxy-dev fd=N peer). `factory` (kept,
 * not copied) builds the device with `arg`. `log` may be NULL. On success the
 * connection owns `fd` and sets it non-blocking; on failure the caller still owns it.
 * Returns 0, -EINVAL, -ENOMEM, or the factory's error.
 */
int proxy_conn_create(int fd, const struct proxy_dev_factory *factory, void *arg,
		      proxy_log_fn log, void *log_opaque, struct proxy_conn **out);

/* Destroy the device, unmap guest RAM, close every descriptor. NULL is accepted. */
void proxy_conn_destroy(struct proxy_conn *conn);

/* Name the connection's own log lines (default "proxy-fdN"), e.g. with the device id. */
void proxy_conn_set_name(struct proxy_conn *conn, const char *name);

/* The socket, to watch for readability. */
int proxy_conn_fd(const struct proxy_conn *conn);

/* The resample eventfd once QEMU sent SET_IRQFD, else -1; also to watch for reading. */
int proxy_conn_resample_fd(const struct proxy_conn *conn);

/*
 * Every descriptor to watch for reading now (the socket, then the resample fd), at
 * most `max`. Returns how many were written. The set can change after
 * proxy_conn_handle(); ask again after each call.
 */
int proxy_conn_pollfds(const struct proxy_conn *conn, int *fds, int max);

/*
 * The socket is readable: read and answer every complete message waiting (a bounded
 * number per call). Returns 0, or a negative errno when the connection must be closed
 * (-EPIPE: QEMU went away; -EPROTO: QEMU sent something this side cannot accept; the
 * reason is logged).
 */
int proxy_conn_handle(struct proxy_conn *conn);

/* The resample fd is readable: clear it and re-raise INTx if the line is still high. */
void proxy_conn_handle_resample(struct proxy_conn *conn);

/* What a factory built, for the owner's own event loop (vdev_dev_pollfds() and so on). */
void *proxy_conn_device(const struct proxy_conn *conn);
struct pci_vdev *proxy_conn_pci(const struct proxy_conn *conn);

struct proxy_conn_stats {
	uint64_t messages;   /* complete messages handled */
	uint64_t cfg_reads;
	uint64_t cfg_writes;
	uint64_t bar_reads;
	uint64_t bar_writes;
	uint64_t bar_misses; /* BAR accesses that hit no decoding BAR */
	uint64_t sysmem;     /* SYNC_SYSMEM tables accepted */
	uint64_t sysmem_refused;
	uint64_t resets;
	uint64_t intx_signals; /* writes to the INTx eventfd */
	uint64_t resamples;
};
void proxy_conn_get_stats(const struct proxy_conn *conn, struct proxy_conn_stats *out);

#endif /* VDEV_HOST_PROXY_CONN_H */
