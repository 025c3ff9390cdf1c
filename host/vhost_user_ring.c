/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ring state. The spec's rules: a ring is stopped until it gets a kick descriptor
 * (SET_VRING_KICK) and stopped again by GET_VRING_BASE; when
 * VHOST_USER_F_PROTOCOL_FEATURES was negotiated it also starts disabled and only
 * SET_VRING_ENABLE 1 lets it run, otherwise it is enabled from the start. Here a ring
 * is handed to libvdev (vdev_vhost_start_vring) once it has a kick descriptor, is
 * enabled, and its features, size and addresses are known; a ring disabled after that
 * stays mapped (requests in flight may still complete) but its kicks are ignored.
 *
 * Geometry is kept here, not in libvdev's queue, and applied at start: front ends
 * send SET_VRING_CALL before SET_FEATURES, and SET_FEATURES resets the device.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "vhost_user_conn.h"
#include "vhost_user_internal.h"

static const char *const part_name[3] = {"descriptor table", "avail ring", "used ring"};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* A ring index from the front end, or -1 (refused and logged). */
static int ring_index(struct vhost_user_conn *c, uint32_t index, const char *what)
{
	if (index >= (uint32_t)c->nvq) {
		vu_refuse(c, "%s for ring %u; the device has %d", what, index, c->nvq);
		return -1;
	}
	return (int)index;
}

static bool ring_enabled(const struct vhost_user_conn *c, const struct vu_ring *r)
{
	return !c->proto_acked || r->enabled;
}

static void ring_lengths(uint16_t num, uint64_t len[3])
{
	len[VU_DESC] = 16ULL * num;
	len[VU_AVAIL] = 6ULL + 2ULL * num;
	len[VU_USED] = 6ULL + 8ULL * num;
}

/* Rounds of "drain, ask for kicks again, find more" one kick may run before the loop
 * gets the other descriptors back. */
#define KICK_ROUNDS 4

static void kick_device(struct vhost_user_conn *c, int q)
{
	struct virtio_vq_info *vq = &c->base->queues[q];
	uint64_t one = 1;
	int round;

	vu_lock(c);
	if (c->busy || !vdev_vhost_vring_started(c->base, q)) {
		(void)vdev_vhost_kick(c->base, q);
		vu_unlock(c);
		return;
	}
	/*
	 * As vhost-net does: the driver is told not to kick while the device drains the
	 * ring (a kick is a system call in its loop, a VM exit in a guest's), then asked
	 * again, and the ring looked at once more for what was added meanwhile.
	 */
	for (round = 0; round < KICK_ROUNDS; round++) {
		struct vdev_virtio_stats st;
		uint64_t taken;

		vdev_virtio_get_stats(c->base, &st);
		taken = st.chains;

		vdev_vq_kick_disable(vq);
		(void)vdev_vhost_kick(c->base, q);
		/* Buffers left that the device took none of are waiting for something else
		 * (frames to receive, room in the backend), which wakes the device itself. */
		if (!vdev_vq_kick_enable(vq))
			break;
		vdev_virtio_get_stats(c->base, &st);
		if (st.chains == taken)
			break;
	}
	vu_unlock(c);
	/* Still taking more: come back through the loop (kick ourselves) rather than
	 * starve the socket and the other rings. */
	if (round == KICK_ROUNDS && write(c->rings[q].kick_fd, &one, sizeof(one)) < 0)
		vu_log(c, VDEV_LOG_WARN, "ring %d: cannot re-arm its kick: %s", q, strerror(errno));
}

/* Start ring q if everything it needs is there. 0 when it runs or must still wait
 * for its kick descriptor or enable; a negative errno when it cannot start. */
static int reconcile(struct vhost_user_conn *c, int q)
{
	struct vu_ring *r = &c->rings[q];
	uint64_t gpa[3];
	int rc;

	if (r->started || r->kick_fd < 0 || !ring_enabled(c, r))
		return 0;
	if (!c->features_set || r->num == 0 || !r->have_addr) {
		vu_refuse(c, "ring %d kicked before its %s", q,
			  !c->features_set ? "features" : r->num == 0 ? "size" : "addresses");
		return -EINVAL;
	}
	for (int i = 0; i < 3; i++) {
		if (guest_ram_uaddr_to_gpa(c->ram, r->uaddr[i], &gpa[i]) < 0) {
			vu_refuse(c, "ring %d: %s at user address 0x%llx is in no memory region",
				  q, part_name[i], (unsigned long long)r->uaddr[i]);
			return -EFAULT;
		}
	}
	vu_lock(c);
	rc = vdev_vhost_set_vring_num(c->base, q, r->num);
	if (rc == 0)
		rc = vdev_vhost_set_vring_addr(c->base, q, gpa[VU_DESC], gpa[VU_AVAIL],
					       gpa[VU_USED]);
	if (rc == 0)
		rc = vdev_vhost_set_vring_base(c->base, q, r->base);
	if (rc == 0)
		rc = vdev_vhost_start_vring(c->base, q);
	vu_unlock(c);
	if (rc < 0) {
		vu_refuse(c, "ring %d (size %u) refused by the device", q, r->num);
		return rc;
	}
	/* Remember where it was mapped; a later table change is checked against it. */
	ring_lengths(r->num, r->len);
	for (int i = 0; i < 3; i++) {
		uint64_t contig = 0;

		r->gpa[i] = gpa[i];
		r->hva[i] = NULL;
		(void)guest_ram_translate(c->ram, gpa[i], r->len[i], &r->hva[i], &contig);
	}
	r->started = true;
	c->stats.ring_starts++;
	if (c->busy) {
		vu_lock(c);
		vu_ring_set_kicks(c, q, false);
		vu_unlock(c);
	}
	vu_log(c, VDEV_LOG_INFO, "ring %d started: size %u, resuming at %u", q, r->num, r->base);
	/* Buffers the driver made available while the ring was stopped need no kick of
	 * their own to be seen. */
	kick_device(c, q);
	return 0;
}

static void stop_ring(struct vhost_user_conn *c, int q)
{
	struct vu_ring *r = &c->rings[q];
	uint16_t at = r->base;

	if (!r->started)
		return;
	vu_lock(c);
	(void)vdev_vhost_stop_vring(c->base, q, &at);
	vu_unlock(c);
	r->base = at;
	r->started = false;
	c->stats.ring_stops++;
	vu_log(c, VDEV_LOG_INFO, "ring %d stopped at %u", q, at);
}

int vu_ring_set_num(struct vhost_user_conn *c, struct vu_msg *msg)
{
	struct vu_state s;
	int q;

	if (vu_get_state(msg, &s) < 0)
		return -EPROTO;
	if ((q = ring_index(c, s.index, "SET_VRING_NUM")) < 0)
		return -EINVAL;
	/* A split ring's size is a power of two up to 32768; the device checks its own
	 * maximum when the ring starts. */
	if (s.num == 0 || s.num > 32768 || (s.num & (s.num - 1)) != 0) {
		vu_refuse(c, "SET_VRING_NUM %u for ring %d: not a power of two up to 32768",
			  s.num, q);
		return -EINVAL;
	}
	if (c->rings[q].started) {
		vu_refuse(c, "SET_VRING_NUM for running ring %d", q);
		return -EBUSY;
	}
	c->rings[q].num = (uint16_t)s.num;
	return 0;
}

int vu_ring_set_addr(struct vhost_user_conn *c, struct vu_msg *msg)
{
	struct vu_addr a;
	struct vu_ring *r;
	uint64_t gpa;
	int q, rc = 0;

	if (vu_get_addr(msg, &a) < 0)
		return -EPROTO;
	if ((q = ring_index(c, a.index, "SET_VRING_ADDR")) < 0)
		return -EINVAL;
	r = &c->rings[q];
	if (r->started) {
		vu_refuse(c, "SET_VRING_ADDR for running ring %d", q);
		return -EBUSY;
	}
	/* The log address and flag matter only for migration logging, not offered. */
	r->uaddr[VU_DESC] = a.desc;
	r->uaddr[VU_AVAIL] = a.avail;
	r->uaddr[VU_USED] = a.used;
	r->have_addr = true;
	/* Checked again at start (the table may change in between); a front end that
	 * asked for a reply hears about an address outside every region now. */
	for (int i = 0; i < 3 && rc == 0; i++) {
		if (guest_ram_uaddr_to_gpa(c->ram, r->uaddr[i], &gpa) < 0) {
			vu_refuse(c, "SET_VRING_ADDR ring %d: %s at user address 0x%llx is in "
				  "no memory region", q, part_name[i],
				  (unsigned long long)r->uaddr[i]);
			rc = -EFAULT;
		}
	}
	return rc;
}

int vu_ring_set_base(struct vhost_user_conn *c, struct vu_msg *msg)
{
	struct vu_state s;
	int q;

	if (vu_get_state(msg, &s) < 0)
		return -EPROTO;
	if ((q = ring_index(c, s.index, "SET_VRING_BASE")) < 0)
		return -EINVAL;
	if (s.num > 0xffff) {
		vu_refuse(c, "SET_VRING_BASE %u for ring %d: split rings count to 65535", s.num,
			  q);
		return -EINVAL;
	}
	if (c->rings[q].started) {
		vu_refuse(c, "SET_VRING_BASE for running ring %d", q);
		return -EBUSY;
	}
	c->rings[q].base = (uint16_t)s.num;
	return 0;
}

int vu_ring_get_base(struct vhost_user_conn *c, struct vu_msg *msg, struct vu_reply *reply)
{
	struct vu_state s;
	int q;

	if (vu_get_state(msg, &s) < 0)
		return -EPROTO;
	/* The front end waits for the reply; a ring that does not exist has none. */
	if ((q = ring_index(c, s.index, "GET_VRING_BASE")) < 0)
		return -EPROTO;
	stop_ring(c, q);
	/* Stopped until a new kick descriptor: the spec's rule, and QEMU sends one. */
	close_fd(&c->rings[q].kick_fd);
	s.num = c->rings[q].base;
	reply->has = true;
	reply->size = sizeof(s);
	memcpy(reply->body.bytes, &s, sizeof(s));
	return 0;
}

int vu_ring_set_fd(struct vhost_user_conn *c, struct vu_msg *msg)
{
	char nb[24];
	const char *what = vu_request_name(msg->hdr.request, nb, sizeof(nb));
	uint64_t v;
	bool nofd;
	int q, fd, *slot;

	if (vu_get_u64(msg, &v) < 0)
		return -EPROTO;
	if ((q = ring_index(c, (uint32_t)(v & VU_VRING_IDX_MASK), what)) < 0)
		return -EINVAL;
	nofd = (v & VU_VRING_NOFD) != 0;
	if (msg->nfds != (nofd ? 0 : 1)) {
		vu_refuse(c, "%s ring %d: %d descriptors with the no-fd flag %s", what, q,
			  msg->nfds, nofd ? "set" : "clear");
		return -EINVAL;
	}
	if (msg->hdr.request == VU_SET_VRING_KICK && nofd) {
		/* Polling mode: nothing would ever tell the device to look at the ring. */
		vu_refuse(c, "SET_VRING_KICK ring %d without a descriptor: polling is not "
			  "supported", q);
		return -ENOTSUP;
	}
	fd = nofd ? -1 : msg->fds[0];
	if (!nofd)
		msg->fds[0] = -1;
	if (msg->hdr.request == VU_SET_VRING_KICK) {
		/* Drained from the loop: it must never block it. QEMU and DPDK create
		 * these non-blocking already. */
		int fl = fcntl(fd, F_GETFL);

		if (fl >= 0)
			(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		slot = &c->rings[q].kick_fd;
	} else if (msg->hdr.request == VU_SET_VRING_CALL) {
		slot = &c->rings[q].call_fd;
	} else {
		slot = &c->rings[q].err_fd;
	}
	close_fd(slot);
	*slot = fd;
	return msg->hdr.request == VU_SET_VRING_KICK ? reconcile(c, q) : 0;
}

int vu_ring_set_enable(struct vhost_user_conn *c, struct vu_msg *msg)
{
	struct vu_state s;
	struct vu_ring *r;
	int q;

	if (vu_get_state(msg, &s) < 0)
		return -EPROTO;
	if ((q = ring_index(c, s.index, "SET_VRING_ENABLE")) < 0)
		return -EINVAL;
	if (s.num > 1) {
		vu_refuse(c, "SET_VRING_ENABLE %u for ring %d", s.num, q);
		return -EINVAL;
	}
	r = &c->rings[q];
	r->enabled = s.num == 1;
	if (r->started && ring_enabled(c, r)) {
		kick_device(c, q); /* kicks were ignored while it was disabled */
		return 0;
	}
	return reconcile(c, q);
}

void vu_rings_table_changed(struct vhost_user_conn *c)
{
	for (int q = 0; q < c->nvq; q++) {
		struct vu_ring *r = &c->rings[q];

		for (int i = 0; i < 3 && r->started; i++) {
			void *hva = NULL;
			uint64_t contig = 0;
			int rc = guest_ram_translate(c->ram, r->gpa[i], r->len[i], &hva, &contig);

			/* libvdev holds pointers into the ring: if its memory left the table
			 * (and possibly the address space), the ring must stop now. */
			if (rc < 0 || hva != r->hva[i] || contig != r->len[i]) {
				vu_log(c, VDEV_LOG_WARN, "ring %d: memory table change moved its "
				       "%s; stopping it", q, part_name[i]);
				stop_ring(c, q);
			}
		}
		/* Start what can start now: a ring stopped above, or one whose addresses
		 * were not in the table before. */
		if (!r->started && r->kick_fd >= 0 && ring_enabled(c, r))
			(void)reconcile(c, q);
	}
}

void vu_rings_stop_all(struct vhost_user_conn *c, bool forget)
{
	for (int q = 0; q < c->nvq; q++) {
		struct vu_ring *r = &c->rings[q];

		stop_ring(c, q);
		close_fd(&r->kick_fd);
		if (forget) {
			close_fd(&r->call_fd);
			close_fd(&r->err_fd);
			*r = (struct vu_ring){.kick_fd = -1, .call_fd = -1, .err_fd = -1};
		}
	}
}

int vu_ring_of_kick_fd(const struct vhost_user_conn *c, int fd)
{
	for (int q = 0; q < c->nvq; q++)
		if (fd >= 0 && c->rings[q].kick_fd == fd)
			return q;
	return -1;
}

void vu_ring_kicked(struct vhost_user_conn *c, int q)
{
	struct vu_ring *r = &c->rings[q];
	uint64_t count;

	/* Clear the level first, whatever happens next, or the loop spins on it. */
	if (read(r->kick_fd, &count, sizeof(count)) != (ssize_t)sizeof(count))
		return;
	if (!r->started || !ring_enabled(c, r)) {
		c->stats.kicks_ignored++;
		return;
	}
	c->stats.kicks++;
	kick_device(c, q);
}

void vu_rings_close(struct vhost_user_conn *c)
{
	for (int q = 0; q < c->nvq; q++) {
		close_fd(&c->rings[q].kick_fd);
		close_fd(&c->rings[q].call_fd);
		close_fd(&c->rings[q].err_fd);
	}
}

void vu_ring_set_kicks(struct vhost_user_conn *c, int q, bool wanted)
{
	struct virtio_vq_info *vq = &c->base->queues[q];

	if (!vdev_vhost_vring_started(c->base, q))
		return;
	if (wanted)
		(void)vdev_vq_kick_enable(vq);
	else
		vdev_vq_kick_disable(vq);
}
