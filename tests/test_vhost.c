/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vhost transport: an echo device driven only by what a vhost front end would
 * send (features, ring geometry, base, kicks), with completions signalled through the
 * call callback. The driver peer lays out rings and buffers in guest RAM, as the
 * guest's driver would behind a real front end; its PCI registers are not used after
 * the rings exist.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "harness.h"

struct front_end {
	int calls[ECHO_MAX_QUEUES];
	int config_changes;
};

static void fe_call(void *opaque, int q)
{
	struct front_end *fe = opaque;

	if (q >= 0 && q < ECHO_MAX_QUEUES)
		fe->calls[q]++;
}

static void fe_config(void *opaque)
{
	((struct front_end *)opaque)->config_changes++;
}

static const struct vdev_vhost_ops fe_ops = {
	.version = VDEV_VHOST_OPS_VERSION,
	.call = fe_call,
	.config_changed = fe_config,
};

/* The driver peer allocates queue 0's rings through PCI; then the device is handed to
 * the "front end", which replays that geometry through the vhost calls. */
static void open_bound(struct harness *h, struct front_end *fe, uint64_t features)
{
	uint64_t desc, avail, used;
	struct virtio_base *base;

	memset(fe, 0, sizeof(*fe));
	cr_assert_eq(harness_open(h, VDEV_PCI_MODERN, VDEV_DRV_MODERN, NULL), 0);
	cr_assert_eq(harness_ready(h, features, 16), 0);
	base = &h->dev->base;
	cr_assert_eq(vdev_drv_queue_rings(h->drv, 0, &desc, &avail, &used), 0);
	cr_assert_eq(vdev_vhost_bind(base, &fe_ops, fe), 0);
	cr_assert_eq(base->status, 0, "binding resets the device");
	cr_assert_eq(vdev_vhost_set_features(base, vdev_drv_features(h->drv)), 0);
	cr_assert_eq(vdev_vhost_set_vring_num(base, 0, 16), 0);
	cr_assert_eq(vdev_vhost_set_vring_addr(base, 0, desc, avail, used), 0);
	cr_assert_eq(vdev_vhost_set_vring_base(base, 0, 0), 0);
	cr_assert_eq(vdev_vhost_start_vring(base, 0), 0);
}

static void round_trip(struct harness *h, struct front_end *fe, uint8_t fill)
{
	void *in, *out, *token;
	uint64_t gin = harness_buf(h, 40, &in), gout = harness_buf(h, 40, &out);
	struct vdev_drv_seg segs[2] = {{gin, 40, false}, {gout, 40, true}};
	int calls = fe->calls[0];
	uint32_t len;

	memset(in, fill, 40);
	cr_assert_eq(vdev_drv_enqueue(h->drv, 0, segs, 2, false, in), 0);
	cr_assert_eq(vdev_vhost_kick(&h->dev->base, 0), 0);
	cr_assert_eq(fe->calls[0], calls + 1, "a completion is signalled through call");
	cr_assert_eq(vdev_drv_dequeue(h->drv, 0, &token, &len), 1);
	cr_assert_eq(token, in);
	cr_assert_eq(len, 40);
	cr_assert_eq(memcmp(in, out, 40), 0);
}

Test(vhost, bind_checks_its_arguments)
{
	struct harness h;
	struct front_end fe;
	struct vdev_vhost_ops no_call = {.version = VDEV_VHOST_OPS_VERSION};
	struct vdev_vhost_ops future = fe_ops;

	future.version = VDEV_VHOST_OPS_VERSION + 1;
	cr_assert_eq(harness_open(&h, VDEV_PCI_MODERN, VDEV_DRV_MODERN, NULL), 0);
	cr_assert_eq(vdev_vhost_bind(NULL, &fe_ops, &fe), -EINVAL);
	cr_assert_eq(vdev_vhost_bind(&h.dev->base, NULL, &fe), -EINVAL);
	cr_assert_eq(vdev_vhost_bind(&h.dev->base, &no_call, &fe), -EINVAL);
	cr_assert_eq(vdev_vhost_bind(&h.dev->base, &future, &fe), -EINVAL);
	cr_assert_eq(vdev_vhost_bind(&h.dev->base, &fe_ops, &fe), 0);
	cr_assert_eq(vdev_vhost_bind(&h.dev->base, &fe_ops, &fe), -EINVAL, "bound twice");
	/* Calls on an unbound device are refused, not misapplied. */
	vdev_vhost_unbind(&h.dev->base);
	cr_assert_eq(vdev_vhost_kick(&h.dev->base, 0), -EINVAL);
	cr_assert_eq(vdev_vhost_get_features(&h.dev->base), 0);
	harness_close(&h);
}

Test(vhost, features_are_checked_and_applied)
{
	struct harness h;
	struct front_end fe = {0};
	struct virtio_base *base;
	uint64_t offered;

	cr_assert_eq(harness_open(&h, VDEV_PCI_MODERN, VDEV_DRV_MODERN, NULL), 0);
	base = &h.dev->base;
	cr_assert_eq(vdev_vhost_bind(base, &fe_ops, &fe), 0);
	offered = vdev_vhost_get_features(base);
	cr_assert(offered & VIRTIO_F_VERSION_1);
	cr_assert(offered & VIRTIO_RING_F_EVENT_IDX);
	cr_assert_eq(vdev_vhost_set_features(base, offered | (1ULL << 20)), -EINVAL,
		     "an unoffered bit is refused");
	cr_assert_eq(vdev_vhost_set_features(base, VIRTIO_F_VERSION_1 | ECHO_F_TEST), 0);
	cr_assert_eq(h.dev->applied_features, VIRTIO_F_VERSION_1 | ECHO_F_TEST);
	cr_assert(base->status & VIRTIO_CR_STATUS_DRIVER_OK);
	/* A legacy guest behind the front end: no VERSION_1, 32-bit features. */
	cr_assert_eq(vdev_vhost_set_features(base, ECHO_F_TEST | VIRTIO_F_NOTIFY_ON_EMPTY), 0);
	cr_assert_eq(h.dev->applied_features, ECHO_F_TEST | VIRTIO_F_NOTIFY_ON_EMPTY);
	vdev_vhost_unbind(base);
	harness_close(&h);
}

Test(vhost, requests_round_trip_and_call_the_front_end)
{
	struct harness h;
	struct front_end fe;

	open_bound(&h, &fe, ECHO_DEFAULT_FEATURES);
	for (int i = 0; i < 100; i++)
		round_trip(&h, &fe, (uint8_t)i);
	vdev_vhost_unbind(&h.dev->base);
	harness_close(&h);
}

Test(vhost, ring_geometry_is_validated_and_frozen_while_running)
{
	struct harness h;
	struct front_end fe;
	struct virtio_base *base;
	uint16_t at = 0;

	open_bound(&h, &fe, ECHO_DEFAULT_FEATURES);
	base = &h.dev->base;
	cr_assert_eq(vdev_vhost_set_vring_num(base, 0, 8), -EINVAL, "changed while running");
	cr_assert_eq(vdev_vhost_set_vring_num(base, 7, 8), -EINVAL, "no such queue");
	cr_assert_eq(vdev_vhost_stop_vring(base, 0, &at), 0);
	cr_assert_eq(vdev_vhost_set_vring_num(base, 0, 3), -EINVAL, "not a power of two");
	cr_assert_eq(vdev_vhost_set_vring_num(base, 0, 512), -EINVAL, "above the maximum");
	/* Rings outside guest RAM are refused at start, as a PCI enable would be (H05). */
	cr_assert_eq(vdev_vhost_set_vring_addr(base, 0, 1ULL << 40, 1ULL << 41, 1ULL << 42), 0);
	cr_assert_lt(vdev_vhost_start_vring(base, 0), 0);
	cr_assert(!vdev_vhost_vring_started(base, 0));
	cr_assert_eq(vdev_vhost_kick(base, 0), -EINVAL, "a stopped ring takes no kicks");
	vdev_vhost_unbind(base);
	harness_close(&h);
}

Test(vhost, stop_reports_where_to_resume_and_restart_continues)
{
	struct harness h;
	struct front_end fe;
	struct virtio_base *base;
	uint16_t at = 0;

	open_bound(&h, &fe, ECHO_DEFAULT_FEATURES);
	base = &h.dev->base;
	for (int i = 0; i < 5; i++)
		round_trip(&h, &fe, 0x11);
	cr_assert_eq(vdev_vhost_stop_vring(base, 0, &at), 0);
	cr_assert_eq(at, 5);
	/* A new back end (or the same one after a migration) resumes at that index, and
	 * the used index continues from the ring. */
	cr_assert_eq(vdev_vhost_set_vring_base(base, 0, at), 0);
	cr_assert_eq(vdev_vhost_start_vring(base, 0), 0);
	for (int i = 0; i < 20; i++)
		round_trip(&h, &fe, 0x22);
	cr_assert_eq(base->queues[0].used_idx, 25);
	vdev_vhost_unbind(base);
	harness_close(&h);
}

Test(vhost, config_space_and_config_changes)
{
	struct harness h;
	struct front_end fe;
	struct virtio_base *base;
	uint8_t id[8], scratch[4] = {1, 2, 3, 4};
	uint32_t got;

	open_bound(&h, &fe, ECHO_DEFAULT_FEATURES);
	base = &h.dev->base;
	cr_assert_eq(vdev_vhost_get_config(base, ECHO_CFG_ID, id, 8), 0);
	cr_assert_eq(memcmp(id, "vdevecho", 8), 0);
	cr_assert_eq(vdev_vhost_get_config(base, ECHO_CFG_ID + 1, id, 8), -EINVAL, "past the end");
	cr_assert_eq(vdev_vhost_get_config(base, 0, id, 0), -EINVAL);
	cr_assert_eq(vdev_vhost_set_config(base, ECHO_CFG_SCRATCH, scratch, 4), 0);
	cr_assert_eq(vdev_vhost_get_config(base, ECHO_CFG_SCRATCH, (uint8_t *)&got, 4), 0);
	cr_assert_eq(got, 0x04030201);
	echo_dev_host_set_scratch(h.dev, 7);
	cr_assert_eq(fe.config_changes, 1);
	vdev_vhost_unbind(base);
	harness_close(&h);
}

Test(vhost, unbind_gives_the_device_back_to_pci)
{
	struct harness h;
	struct front_end fe;
	void *token;
	uint32_t len;
	uint64_t g;
	void *p;

	open_bound(&h, &fe, ECHO_DEFAULT_FEATURES);
	vdev_vhost_unbind(&h.dev->base);
	cr_assert_eq(h.dev->base.status, 0);
	/* The PCI driver can take the device over again from scratch. */
	cr_assert_eq(vdev_drv_reset(h.drv), 0);
	cr_assert_eq(harness_ready(&h, ECHO_DEFAULT_FEATURES, 16), 0);
	g = harness_buf(&h, 16, &p);
	struct vdev_drv_seg segs[2] = {{g, 8, false}, {g + 8, 8, true}};
	cr_assert_eq(vdev_drv_enqueue(h.drv, 0, segs, 2, false, NULL), 0);
	vdev_drv_kick(h.drv, 0);
	cr_assert_eq(vdev_drv_dequeue(h.drv, 0, &token, &len), 1);
	cr_assert_eq(len, 8);
	harness_close(&h);
}
