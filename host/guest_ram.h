/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest RAM shared by a VMM as file descriptors (memfd, hugetlbfs, /dev/shm files), for
 * one guest-memory view: the table QEMU's multi-process SYNC_SYSMEM and vhost-user's
 * SET_MEM_TABLE describe. Each message replaces the whole table.
 *
 * Host addresses stay stable across replacements: every distinct file (same device and
 * inode) is mapped once, whole, and regions are windows into that mapping. QEMU resends
 * the same memfd dozens of times per boot, and libvdev keeps ring pointers from queue
 * enable onwards, so remapping on every message would leave those pointers dangling. A
 * file is unmapped only when no region of the new table uses it.
 *
 * Not thread-safe: the owner serialises guest_ram_replace() against translations (the
 * connectors do both on their own thread, under the device's rules in vdev/host.h).
 */
#ifndef VDEV_HOST_GUEST_RAM_H
#define VDEV_HOST_GUEST_RAM_H

#include <stddef.h>
#include <stdint.h>

#include "vdev/host.h"

/* Regions per table; vhost-user back ends advertise at most this many memory slots. */
#define GUEST_RAM_MAX_REGIONS 32

/* One region as a peer describes it. */
struct guest_ram_region {
	uint64_t gpa;    /* guest-physical start */
	uint64_t size;   /* bytes, > 0 */
	int fd;          /* borrowed: the caller closes it after guest_ram_replace() */
	uint64_t offset; /* where the region starts in the file */
	uint64_t uaddr;  /* the peer's own virtual address of it (vhost-user), else 0 */
};

/* One region as it is mapped here. */
struct guest_ram_map {
	uint64_t gpa;
	uint64_t size;
	uint64_t offset;
	uint64_t uaddr;
	void *hva; /* host address of gpa */
};

struct guest_ram;

/* An empty table. Returns 0 or -ENOMEM. */
int guest_ram_create(struct guest_ram **out);

/* Unmap everything and free the table. NULL is accepted. */
void guest_ram_destroy(struct guest_ram *ram);

/*
 * Replace the whole table with `n` regions (n = 0 empties it). Refused with -EINVAL
 * (too many regions, zero size, gpa + size or offset + size past 2^64, overlapping
 * guest ranges, a region past the end of its file, an fd that is not a regular file),
 * -EBADF, or the mmap errno; the old table then stays in force and
 * guest_ram_error() says why. Files no longer used are unmapped on success.
 */
int guest_ram_replace(struct guest_ram *ram, const struct guest_ram_region *regions, size_t n);

/* Why the last guest_ram_replace() failed ("" after a success). */
const char *guest_ram_error(const struct guest_ram *ram);

/* Regions in force, sorted by gpa; guest_ram_get() returns -ENOENT past the end. */
size_t guest_ram_count(const struct guest_ram *ram);
int guest_ram_get(const struct guest_ram *ram, size_t i, struct guest_ram_map *out);

/*
 * The vdev_host_ops translate contract: host address of gpa and how many bytes from
 * there are contiguous (to the end of its region, at most len). -EFAULT when gpa is
 * not in any region, -EINVAL when len is 0.
 */
int guest_ram_translate(const struct guest_ram *ram, uint64_t gpa, uint64_t len, void **hva,
			uint64_t *contig);

/* vhost-user: the guest-physical address of the peer's virtual address `uaddr`. */
int guest_ram_uaddr_to_gpa(const struct guest_ram *ram, uint64_t uaddr, uint64_t *gpa);

/*
 * Start a vdev_host_ops table for a connection: version and translate are set, the
 * rest zeroed for the caller to fill. The `opaque` later given to vdev_vmctx_create()
 * must point to a `struct guest_ram *` variable that holds the table, typically the
 * first member of the connection's own struct, so that one opaque serves every
 * callback.
 */
void guest_ram_host_ops(struct vdev_host_ops *ops);

#endif /* VDEV_HOST_GUEST_RAM_H */
