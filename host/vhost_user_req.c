/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Request dispatch: which requests this back end answers, the checks every message
 * passes before its handler runs, REPLY_ACK, and the small requests (features,
 * ownership, config space, reset) that need no state of their own.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "vhost_user_conn.h"
#include "vhost_user_internal.h"

static void reply_u64(struct vu_reply *r, uint64_t v)
{
	r->has = true;
	r->size = sizeof(v);
	memcpy(r->body.bytes, &v, sizeof(v));
}

static bool any_ring_started(const struct vhost_user_conn *c)
{
	for (int q = 0; q < c->nvq; q++)
		if (c->rings[q].started)
			return true;
	return false;
}

static int get_features(struct vhost_user_conn *c, struct vu_msg *m, struct vu_reply *r)
{
	uint64_t f;

	(void)m;
	vu_lock(c);
	f = vdev_vhost_get_features(c->base);
	vu_unlock(c);
	reply_u64(r, f | VU_F_PROTOCOL_FEATURES);
	return 0;
}

static int set_features(struct vhost_user_conn *c, struct vu_msg *m, struct vu_reply *r)
{
	uint64_t v, f;
	int rc;

	(void)r;
	if (vu_get_u64(m, &v) < 0)
		return -EPROTO;
	f = v & ~VU_F_PROTOCOL_FEATURES;
	if (any_ring_started(c)) {
		/* QEMU repeats SET_FEATURES to toggle dirty logging; the same set is fine. */
		if (c->features_set && f == c->features)
			return 0;
		vu_refuse(c, "SET_FEATURES 0x%llx while rings run (in force: 0x%llx)",
			  (unsigned long long)f, (unsigned long long)c->features);
		return -EBUSY;
	}
	vu_lock(c);
	rc = vdev_vhost_set_features(c->base, f);
	vu_unlock(c);
	if (rc < 0) {
		c->features_set = false;
		vu_refuse(c, "SET_FEATURES 0x%llx refused by the device", (unsigned long long)f);
		return rc;
	}
	c->features = f;
	c->features_set = true;
	c->proto_acked = (v & VU_F_PROTOCOL_FEATURES) != 0;
	vu_log(c, VDEV_LOG_INFO, "features 0x%llx%s", (unsigned long long)f,
	       c->proto_acked ? " (+protocol features)" : "");
	return 0;
}

static int get_protocol_features(struct vhost_user_conn *c, struct vu_msg *m,
				 struct vu_reply *r)
{
	(void)m;
	reply_u64(r, c->offered_protocol);
	return 0;
}

static int set_protocol_features(struct vhost_user_conn *c, struct vu_msg *m,
				 struct vu_reply *r)
{
	uint64_t v;

	(void)r;
	if (vu_get_u64(m, &v) < 0)
		return -EPROTO;
	/* Keep what was offered either way: QEMU sends this without NEED_REPLY, so a
	 * refusal could not reach it, and bits we never offered must not turn on. */
	c->protocol = v & c->offered_protocol;
	if (v & ~c->offered_protocol) {
		vu_refuse(c, "SET_PROTOCOL_FEATURES 0x%llx: 0x%llx never offered",
			  (unsigned long long)v, (unsigned long long)(v & ~c->offered_protocol));
		return -EINVAL;
	}
	return 0;
}

static int set_owner(struct vhost_user_conn *c, struct vu_msg *m, struct vu_reply *r)
{
	(void)m;
	(void)r;
	if (c->owner)
		vu_log(c, VDEV_LOG_DEBUG, "SET_OWNER again");
	c->owner = true;
	return 0;
}

/* Deprecated; the spec allows ignoring it or disabling the rings. Disabling keeps the
 * rest of the session, which is what later front ends expect. */
static int reset_owner(struct vhost_user_conn *c, struct vu_msg *m, struct vu_reply *r)
{
	(void)m;
	(void)r;
	vu_rings_stop_all(c, false);
	return 0;
}

/* Rings, descriptors and features back to their initial state. The memory table
 * stays: a front end using ADD_MEM_REG only sends what changed afterwards. */
static int reset_device(struct vhost_user_conn *c, struct vu_msg *m, struct vu_reply *r)
{
	(void)m;
	(void)r;
	vu_rings_stop_all(c, true);
	vu_lock(c);
	vdev_vhost_reset(c->base);
	vu_unlock(c);
	c->features_set = false;
	c->proto_acked = false;
	vu_log(c, VDEV_LOG_INFO, "device reset");
	return 0;
}

static int get_queue_num(struct vhost_user_conn *c, struct vu_msg *m, struct vu_reply *r)
{
	(void)m;
	reply_u64(r, (uint64_t)c->nvq);
	return 0;
}

static int get_max_mem_slots(struct vhost_user_conn *c, struct vu_msg *m, struct vu_reply *r)
{
	(void)c;
	(void)m;
	reply_u64(r, GUEST_RAM_MAX_REGIONS);
	return 0;
}

static int set_slave_req_fd(struct vhost_user_conn *c, struct vu_msg *m, struct vu_reply *r)
{
	(void)r;
	if (m->nfds != 1) {
		vu_refuse(c, "SET_SLAVE_REQ_FD with %d descriptors, not 1", m->nfds);
		return -EINVAL;
	}
	if (c->slave_fd >= 0)
		close(c->slave_fd);
	c->slave_fd = m->fds[0];
	m->fds[0] = -1;
	return 0;
}

/*
 * The reply always has the size asked for (the spec requires it): bytes past the end
 * of the device's config space read as zero, as they would through PCI. A request
 * the device cannot answer gets an empty payload, the spec's error.
 */
static int get_config(struct vhost_user_conn *c, struct vu_msg *m, struct vu_reply *r)
{
	struct vu_config_hdr h;
	const uint8_t *data;
	uint32_t cfgsize = (uint32_t)c->base->vops->cfgsize, have;
	int rc = 0;

	if (vu_get_config(m, &h, &data) < 0)
		return -EPROTO;
	r->has = true;
	r->size = 0;
	if (h.offset > VU_MAX_CONFIG_SIZE || h.size > VU_MAX_CONFIG_SIZE - h.offset) {
		vu_refuse(c, "GET_CONFIG offset %u size %u outside the config space", h.offset,
			  h.size);
		return -EINVAL;
	}
	memset(r->body.bytes, 0, VU_CONFIG_HDR_SIZE + h.size);
	have = h.offset >= cfgsize ? 0 : cfgsize - h.offset;
	if (have > h.size)
		have = h.size;
	if (have > 0) {
		vu_lock(c);
		rc = vdev_vhost_get_config(c->base, h.offset, r->body.bytes + VU_CONFIG_HDR_SIZE,
					   have);
		vu_unlock(c);
	}
	if (rc < 0) {
		vu_refuse(c, "GET_CONFIG offset %u size %u refused by the device", h.offset,
			  h.size);
		return rc;
	}
	memcpy(r->body.bytes, &h, sizeof(h));
	r->size = VU_CONFIG_HDR_SIZE + h.size;
	return 0;
}

static int set_config(struct vhost_user_conn *c, struct vu_msg *m, struct vu_reply *r)
{
	struct vu_config_hdr h;
	const uint8_t *data;
	int rc;

	(void)r;
	if (vu_get_config(m, &h, &data) < 0)
		return -EPROTO;
	vu_lock(c);
	rc = vdev_vhost_set_config(c->base, h.offset, data, h.size);
	vu_unlock(c);
	if (rc < 0)
		vu_refuse(c, "SET_CONFIG offset %u size %u outside the device's config space",
			  h.offset, h.size);
	return rc;
}

static int ring_get_base(struct vhost_user_conn *c, struct vu_msg *m, struct vu_reply *r)
{
	return vu_ring_get_base(c, m, r);
}

#define NOREPLY(fn)                                                                      \
	static int fn##_req(struct vhost_user_conn *c, struct vu_msg *m, struct vu_reply *r) \
	{                                                                                \
		(void)r;                                                                 \
		return fn(c, m);                                                         \
	}
NOREPLY(vu_mem_set_table)
NOREPLY(vu_mem_add_region)
NOREPLY(vu_mem_remove_region)
NOREPLY(vu_ring_set_num)
NOREPLY(vu_ring_set_addr)
NOREPLY(vu_ring_set_base)
NOREPLY(vu_ring_set_fd)
NOREPLY(vu_ring_set_enable)
#undef NOREPLY

struct handler {
	int (*fn)(struct vhost_user_conn *c, struct vu_msg *m, struct vu_reply *r);
	bool takes_fds; /* the handler counts them itself; others must come with none */
	bool replies;   /* the request has a reply of its own (not a REPLY_ACK) */
};

static const struct handler handlers[] = {
	[VU_GET_FEATURES] = {get_features, false, true},
	[VU_SET_FEATURES] = {set_features, false, false},
	[VU_SET_OWNER] = {set_owner, false, false},
	[VU_RESET_OWNER] = {reset_owner, false, false},
	[VU_SET_MEM_TABLE] = {vu_mem_set_table_req, true, false},
	[VU_SET_VRING_NUM] = {vu_ring_set_num_req, false, false},
	[VU_SET_VRING_ADDR] = {vu_ring_set_addr_req, false, false},
	[VU_SET_VRING_BASE] = {vu_ring_set_base_req, false, false},
	[VU_GET_VRING_BASE] = {ring_get_base, false, true},
	[VU_SET_VRING_KICK] = {vu_ring_set_fd_req, true, false},
	[VU_SET_VRING_CALL] = {vu_ring_set_fd_req, true, false},
	[VU_SET_VRING_ERR] = {vu_ring_set_fd_req, true, false},
	[VU_GET_PROTOCOL_FEATURES] = {get_protocol_features, false, true},
	[VU_SET_PROTOCOL_FEATURES] = {set_protocol_features, false, false},
	[VU_GET_QUEUE_NUM] = {get_queue_num, false, true},
	[VU_SET_VRING_ENABLE] = {vu_ring_set_enable_req, false, false},
	[VU_SET_SLAVE_REQ_FD] = {set_slave_req_fd, true, false},
	[VU_GET_CONFIG] = {get_config, false, true},
	[VU_SET_CONFIG] = {set_config, false, false},
	[VU_RESET_DEVICE] = {reset_device, false, false},
	[VU_GET_MAX_MEM_SLOTS] = {get_max_mem_slots, false, true},
	[VU_ADD_MEM_REG] = {vu_mem_add_region_req, true, false},
	[VU_REM_MEM_REG] = {vu_mem_remove_region_req, true, false},
};

static int send_reply(struct vhost_user_conn *c, uint32_t request, const void *body,
		      uint32_t size)
{
	int rc = vu_send(c->sock, request, VU_VERSION | VU_FLAG_REPLY, body, size, NULL, 0);

	if (rc < 0) {
		char nb[24];

		vu_log(c, VDEV_LOG_WARN, "closing the connection: reply to %s not sent: %s",
		       vu_request_name(request, nb, sizeof(nb)),
		       rc == -EAGAIN ? "the front end does not read its replies" : strerror(-rc));
	}
	return rc;
}

int vu_handle_message(struct vhost_user_conn *c, struct vu_msg *m)
{
	uint32_t req = m->hdr.request;
	const struct handler *h = NULL;
	struct vu_reply reply;
	bool need_ack = (m->hdr.flags & VU_FLAG_NEED_REPLY) != 0;
	char nb[24];
	int rc;

	if (req < sizeof(handlers) / sizeof(handlers[0]) && handlers[req].fn != NULL)
		h = &handlers[req];
	vu_log(c, VDEV_LOG_DEBUG, "%s: %u bytes, %d fds%s", vu_request_name(req, nb, sizeof(nb)),
	       m->hdr.size, m->nfds, need_ack ? ", reply wanted" : "");
	reply.has = false;
	if (h == NULL) {
		c->stats.unknown++;
		vu_refuse(c, "%s is not implemented%s", vu_request_name(req, nb, sizeof(nb)),
			  need_ack ? "; answered with an error" : "; ignored");
		rc = -ENOSYS;
	} else if (m->fds_dropped || (!h->takes_fds && m->nfds > 0)) {
		vu_refuse(c, "%s with %s descriptors", vu_request_name(req, nb, sizeof(nb)),
			  m->fds_dropped ? "more than 8" : "unexpected");
		/* A request that owes a reply cannot be refused in band. */
		if (h->replies)
			return -EPROTO;
		rc = -EINVAL;
	} else {
		rc = h->fn(c, m, &reply);
	}
	vu_msg_close_fds(m);
	if (rc == -EPROTO) {
		vu_log(c, VDEV_LOG_WARN, "closing the connection: malformed %s (%u bytes)",
		       vu_request_name(req, nb, sizeof(nb)), m->hdr.size);
		return rc;
	}
	if (reply.has)
		return send_reply(c, req, reply.body.bytes, reply.size);
	if (need_ack) {
		uint64_t status = rc < 0 ? 1 : 0;

		return send_reply(c, req, &status, sizeof(status));
	}
	return 0;
}
