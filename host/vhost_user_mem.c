/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The memory table: SET_MEM_TABLE replaces it, ADD_MEM_REG and REM_MEM_REG edit it
 * one region at a time (QEMU 7.2 uses those once CONFIGURE_MEM_SLOTS is offered).
 * guest_ram only knows whole tables, so each edit rebuilds the table from the regions
 * kept here, each with its descriptor; guest_ram keeps a file's mapping (and so every
 * host address in it) while any region still uses that file.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vhost_user_conn.h"
#include "vhost_user_internal.h"

static void to_guest_ram(const struct vu_mem_slot *s, struct guest_ram_region *out)
{
	*out = (struct guest_ram_region){.gpa = s->r.gpa, .size = s->r.size, .fd = s->fd,
					 .offset = s->r.mmap_offset, .uaddr = s->r.uaddr};
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* True when some file of the table in force is used by none of `slots`: guest_ram
 * then unmaps it. */
static bool drops_a_file(const struct vhost_user_conn *c, const struct vu_mem_slot *slots,
			 int n)
{
	for (int i = 0; i < c->nmem; i++) {
		bool kept = false;

		for (int j = 0; j < n && !kept; j++)
			kept = slots[j].fd == c->mem[i].fd || same_file(slots[j].fd, c->mem[i].fd);
		if (!kept)
			return true;
	}
	return false;
}

static bool requests_in_flight(struct vhost_user_conn *c)
{
	bool any = false;

	vu_lock(c);
	for (int q = 0; q < c->nvq && !any; q++)
		any = c->rings[q].started && c->base->queues[q].n_inflight > 0;
	vu_unlock(c);
	return any;
}

/*
 * A backend may be copying into guest buffers on its own threads while it holds
 * requests. Unmapping their memory under it would crash this process, so when a table
 * change takes a file away from a device with requests in flight, the device is reset
 * first: that waits for the backend (vdev/blk.h, quiesce). Only a front end removing
 * RAM the guest still uses gets here.
 */
static void quiesce_before_unmap(struct vhost_user_conn *c, const struct vu_mem_slot *slots,
				 int n, const char *what)
{
	if (!drops_a_file(c, slots, n) || !requests_in_flight(c))
		return;
	vu_log(c, VDEV_LOG_WARN, "%s takes away guest RAM under requests in flight; "
	       "resetting the device first", what);
	vu_rings_stop_all(c, false);
	vu_lock(c);
	vdev_vhost_reset(c->base);
	vu_unlock(c);
	c->features_set = false;
}

/* Install `slots` (n of them) as the whole table. On success the descriptors of old
 * slots that are not in the new set are closed; on failure nothing changes and the
 * caller still owns the new descriptors. */
static int install(struct vhost_user_conn *c, const struct vu_mem_slot *slots, int n,
		   const char *what)
{
	struct guest_ram_region regions[GUEST_RAM_MAX_REGIONS];
	int rc;

	for (int i = 0; i < n; i++)
		to_guest_ram(&slots[i], &regions[i]);
	quiesce_before_unmap(c, slots, n, what);
	rc = guest_ram_replace(c->ram, regions, (size_t)n);
	if (rc < 0) {
		vu_refuse(c, "%s refused: %s", what, guest_ram_error(c->ram));
		return rc;
	}
	for (int i = 0; i < c->nmem; i++) {
		bool kept = false;

		for (int j = 0; j < n && !kept; j++)
			kept = slots[j].fd == c->mem[i].fd;
		if (!kept)
			close(c->mem[i].fd);
	}
	if (n > 0)
		memmove(c->mem, slots, (size_t)n * sizeof(*slots));
	c->nmem = n;
	c->stats.mem_tables++;
	vu_log(c, VDEV_LOG_DEBUG, "%s: %d regions", what, n);
	vu_rings_table_changed(c);
	return 0;
}

int vu_mem_set_table(struct vhost_user_conn *c, struct vu_msg *msg)
{
	struct vu_region r[VU_MAX_TABLE_REGIONS];
	struct vu_mem_slot slots[VU_MAX_TABLE_REGIONS];
	int n = vu_get_mem_table(msg, r, VU_MAX_TABLE_REGIONS);
	int rc;

	if (n < 0)
		return -EPROTO;
	if (msg->nfds != n) {
		vu_refuse(c, "SET_MEM_TABLE: %d regions but %d descriptors", n, msg->nfds);
		return -EINVAL;
	}
	for (int i = 0; i < n; i++)
		slots[i] = (struct vu_mem_slot){.r = r[i], .fd = msg->fds[i]};
	rc = install(c, slots, n, "SET_MEM_TABLE");
	if (rc == 0)
		for (int i = 0; i < n; i++)
			msg->fds[i] = -1; /* kept */
	return rc;
}

static bool same_region(const struct vu_region *a, const struct vu_region *b)
{
	/* The spec identifies a region by guest address, user address and size. */
	return a->gpa == b->gpa && a->uaddr == b->uaddr && a->size == b->size;
}

int vu_mem_add_region(struct vhost_user_conn *c, struct vu_msg *msg)
{
	struct vu_mem_slot slots[GUEST_RAM_MAX_REGIONS];
	struct vu_region r;
	int rc;

	if (vu_get_mem_reg(msg, &r) < 0)
		return -EPROTO;
	if (msg->nfds != 1) {
		vu_refuse(c, "ADD_MEM_REG with %d descriptors, not 1", msg->nfds);
		return -EINVAL;
	}
	for (int i = 0; i < c->nmem; i++)
		if (same_region(&c->mem[i].r, &r) && c->mem[i].r.mmap_offset == r.mmap_offset) {
			vu_log(c, VDEV_LOG_DEBUG, "ADD_MEM_REG of a region already present");
			return 0; /* the caller closes the duplicate descriptor */
		}
	if (c->nmem >= GUEST_RAM_MAX_REGIONS) {
		vu_refuse(c, "ADD_MEM_REG: all %d slots in use", GUEST_RAM_MAX_REGIONS);
		return -ENOSPC;
	}
	memcpy(slots, c->mem, (size_t)c->nmem * sizeof(*slots));
	slots[c->nmem] = (struct vu_mem_slot){.r = r, .fd = msg->fds[0]};
	rc = install(c, slots, c->nmem + 1, "ADD_MEM_REG");
	if (rc == 0)
		msg->fds[0] = -1;
	return rc;
}

int vu_mem_remove_region(struct vhost_user_conn *c, struct vu_msg *msg)
{
	struct vu_mem_slot slots[GUEST_RAM_MAX_REGIONS];
	struct vu_region r;
	int n = 0, found = -1;

	if (vu_get_mem_reg(msg, &r) < 0)
		return -EPROTO;
	/* The spec tolerates one stray descriptor here (closed unused by the caller). */
	if (msg->nfds > 1) {
		vu_refuse(c, "REM_MEM_REG with %d descriptors", msg->nfds);
		return -EINVAL;
	}
	for (int i = 0; i < c->nmem; i++) {
		if (found < 0 && same_region(&c->mem[i].r, &r))
			found = i;
		else
			slots[n++] = c->mem[i];
	}
	if (found < 0) {
		vu_refuse(c, "REM_MEM_REG of gpa 0x%llx size 0x%llx: no such region",
			  (unsigned long long)r.gpa, (unsigned long long)r.size);
		return -ENOENT;
	}
	return install(c, slots, n, "REM_MEM_REG");
}

void vu_mem_release(struct vhost_user_conn *c)
{
	for (int i = 0; i < c->nmem; i++)
		close(c->mem[i].fd);
	c->nmem = 0;
}
