/* SPDX-License-Identifier: BSD-3-Clause */
#include "test_util.h"

#include <endian.h>
#include <string.h>

/* ---------------- opening a device ---------------- */

bool is_legacy(const struct harness_combo *c)
{
	return c->access == VDEV_DRV_LEGACY;
}

void open_combo(struct harness *h, const struct harness_combo *c, const struct echo_dev_config *e)
{
	int rc = harness_open(h, c->mode, c->access, e);

	cr_assert_eq(rc, 0, "%s: harness_open = %d", c->name, rc);
}

void open_acked(struct harness *h, const struct harness_combo *c, const struct echo_dev_config *e)
{
	open_combo(h, c, e);
	vdev_drv_write_status(h->drv, ACK);
	vdev_drv_write_status(h->drv, ACK | DRV);
}

void open_combo_msix(struct harness *h, const struct harness_combo *c)
{
	int rc = harness_open_msix(h, c->mode, c->access);

	cr_assert_eq(rc, 0, "%s: harness_open_msix = %d", c->name, rc);
	cr_assert(vdev_pci_msix_enabled(echo_dev_pci(h->dev)), "%s: MSI-X not enabled", c->name);
}

void open_ready(struct harness *h, const struct harness_combo *c, const struct echo_dev_config *e,
		uint64_t features, uint16_t qsize)
{
	int rc;

	open_combo(h, c, e);
	rc = harness_ready(h, features, qsize);
	cr_assert_eq(rc, 0, "%s: harness_ready = %d", c->name, rc);
}

void open_sim(struct harness *h, enum vdev_pci_mode mode, enum vdev_drv_access access,
	      struct echo_dev_config ecfg, uint64_t ram_size, uint64_t frag)
{
	struct vdev_sim_config scfg = {.size = sizeof(struct vdev_sim_config),
				       .ram_base = 0, .ram_size = ram_size, .frag = frag};
	struct vdev_drv_config dcfg = {.size = sizeof(struct vdev_drv_config), .access = access};
	int rc;

	memset(h, 0, sizeof(*h));
	h->mode = mode;
	h->access = access;
	ecfg.pci.mode = mode;
	rc = vdev_sim_create(&scfg, &h->sim);
	cr_assert_eq(rc, 0, "vdev_sim_create: %d", rc);
	rc = echo_dev_create(vdev_sim_vmctx(h->sim), "echo0", &ecfg, &h->dev);
	cr_assert_eq(rc, 0, "echo_dev_create: %d", rc);
	rc = vdev_drv_open(h->sim, echo_dev_pci(h->dev), &dcfg, &h->drv);
	cr_assert_eq(rc, 0, "vdev_drv_open: %d", rc);
}

/* ---------------- statistics ---------------- */

struct vdev_virtio_stats stats(struct harness *h)
{
	struct vdev_virtio_stats st;

	vdev_virtio_get_stats(&h->dev->base, &st);
	return st;
}

struct vdev_sim_irqs irqs(struct harness *h)
{
	struct vdev_sim_irqs i;

	vdev_sim_get_irqs(h->sim, &i);
	return i;
}

uint64_t refusals(struct harness *h)
{
	struct vdev_pci_stats ps;

	vdev_pci_get_stats(echo_dev_pci(h->dev), &ps);
	return stats(h).bad_accesses + ps.bad_accesses;
}

/* ---------------- registers ---------------- */

uint64_t brd(struct harness *h, int bar, uint64_t off, int width)
{
	return virtio_pci_read(vdev_sim_vmctx(h->sim), 0, echo_dev_pci(h->dev), bar, off, width);
}

void bwr(struct harness *h, int bar, uint64_t off, int width, uint64_t val)
{
	virtio_pci_write(vdev_sim_vmctx(h->sim), 0, echo_dev_pci(h->dev), bar, off, width, val);
}

uint64_t crd(struct harness *h, uint64_t off, int width)
{
	return vdev_drv_region_read(h->drv, VDEV_DRV_REGION_COMMON, off, width);
}

void cwr(struct harness *h, uint64_t off, int width, uint64_t val)
{
	vdev_drv_region_write(h->drv, VDEV_DRV_REGION_COMMON, off, width, val);
}

uint64_t lrd(struct harness *h, uint64_t off, int width)
{
	return vdev_drv_region_read(h->drv, VDEV_DRV_REGION_LEGACY, off, width);
}

void lwr(struct harness *h, uint64_t off, int width, uint64_t val)
{
	vdev_drv_region_write(h->drv, VDEV_DRV_REGION_LEGACY, off, width, val);
}

void msix_program(struct harness *h, int v, uint32_t data, bool masked)
{
	bwr(h, VIRTIO_MSIX_BAR_IDX, 16u * (unsigned)v, 4, MSI_ADDR);
	bwr(h, VIRTIO_MSIX_BAR_IDX, 16u * (unsigned)v + 4, 4, 0);
	bwr(h, VIRTIO_MSIX_BAR_IDX, 16u * (unsigned)v + 8, 4, data);
	bwr(h, VIRTIO_MSIX_BAR_IDX, 16u * (unsigned)v + 12, 4, masked ? MSIX_CTRL_MASK : 0);
}

void msix_disable(struct harness *h)
{
	int cap = vdev_drv_find_cap(h->drv, PCIY_MSIX, 0);

	cr_assert(cap > 0);
	vdev_drv_pci_write(h->drv, cap + 2, 2, vdev_drv_pci_read(h->drv, cap + 2, 2) & ~0x8000u);
	cr_assert(!vdev_pci_msix_enabled(echo_dev_pci(h->dev)));
}

void set_config_vector(struct harness *h, const struct harness_combo *c, uint16_t v)
{
	if (is_legacy(c))
		lwr(h, VIRTIO_CR_CFGVEC, 2, v);
	else
		cwr(h, VIRTIO_COMMON_MSIX, 2, v);
}

void write_modern_features(struct harness *h, uint64_t f)
{
	cwr(h, VIRTIO_COMMON_GFSELECT, 4, 0);
	cwr(h, VIRTIO_COMMON_GF, 4, (uint32_t)f);
	cwr(h, VIRTIO_COMMON_GFSELECT, 4, 1);
	cwr(h, VIRTIO_COMMON_GF, 4, f >> 32);
}

void write_features_ok(struct harness *h, uint64_t f)
{
	write_modern_features(h, f);
	vdev_drv_write_status(h->drv, ACK | DRV | FOK);
}

void expect_status_refused(const char *ctx, struct harness *h, uint8_t val)
{
	uint8_t before = vdev_drv_read_status(h->drv);
	uint64_t refused = stats(h).status_refused;
	uint64_t last = h->dev->last_status;

	vdev_drv_write_status(h->drv, val);
	cr_assert_eq(vdev_drv_read_status(h->drv), before,
		     "%s: status write %#x from %#x was taken (now %#x)", ctx, val, before,
		     vdev_drv_read_status(h->drv));
	cr_assert_eq(stats(h).status_refused, refused + 1,
		     "%s: status write %#x from %#x not counted", ctx, val, before);
	cr_assert_eq(h->dev->last_status, last, "%s: set_status called for a refused write",
		     ctx);
}

void program_queue(struct harness *h, uint16_t q, uint16_t size, uint64_t desc, uint64_t avail,
		   uint64_t used)
{
	cwr(h, VIRTIO_COMMON_Q_SELECT, 2, q);
	cwr(h, VIRTIO_COMMON_Q_SIZE, 2, size);
	cwr(h, VIRTIO_COMMON_Q_DESCLO, 4, (uint32_t)desc);
	cwr(h, VIRTIO_COMMON_Q_DESCHI, 4, desc >> 32);
	cwr(h, VIRTIO_COMMON_Q_AVAILLO, 4, (uint32_t)avail);
	cwr(h, VIRTIO_COMMON_Q_AVAILHI, 4, avail >> 32);
	cwr(h, VIRTIO_COMMON_Q_USEDLO, 4, (uint32_t)used);
	cwr(h, VIRTIO_COMMON_Q_USEDHI, 4, used >> 32);
}

/* ---------------- requests ---------------- */

void *enqueue_inout(const char *ctx, struct harness *h, uint16_t q, uint32_t len, void *token,
		    void **in)
{
	void *pin, *out;
	uint64_t gin = harness_buf(h, len, &pin), gout = harness_buf(h, len, &out);
	struct vdev_drv_seg segs[2] = {{gin, len, false}, {gout, len, true}};

	cr_assert_eq(vdev_drv_enqueue(h->drv, q, segs, 2, false, token), 0, "%s: enqueue", ctx);
	if (in)
		*in = pin;
	return out;
}

void echo_roundtrip(const char *ctx, struct harness *h, uint16_t q, uint32_t len, uint8_t first,
		    uint8_t step)
{
	uint8_t *in, *out;
	void *tok = NULL;
	int token;
	uint32_t got = 0;

	out = enqueue_inout(ctx, h, q, len, &token, (void **)&in);
	for (uint32_t i = 0; i < len; i++)
		in[i] = (uint8_t)(first + i * step);
	memset(out, 0, len);
	vdev_drv_kick(h->drv, q);
	if (h->dev->manual)
		echo_dev_process(h->dev, q);
	cr_assert_eq(vdev_drv_dequeue(h->drv, q, &tok, &got), 1, "%s: no completion", ctx);
	cr_assert_eq(tok, &token, "%s: wrong token", ctx);
	CHECK_EQ(ctx, got, len);
	cr_assert(memcmp(in, out, len) == 0, "%s: data not echoed", ctx);
}

void enqueue_notify(struct harness *h, uint16_t q, const struct vdev_drv_seg *seg, int kicked,
		    const char *what, const char *why)
{
	cr_assert_eq(vdev_drv_enqueue(h->drv, q, seg, 1, false, NULL), 0, "%s: enqueue", what);
	cr_assert_eq(vdev_drv_notify(h->drv, q), kicked, "%s: %s", what, why);
}

int dequeue_all(struct harness *h, uint16_t q)
{
	void *tok;
	uint32_t len;
	int n = 0;

	while (vdev_drv_dequeue(h->drv, q, &tok, &len) == 1)
		n++;
	return n;
}

void assert_healthy(struct harness *h, const char *what)
{
	for (int q = 0; q < h->dev->base.vops->nvq; q++)
		cr_assert_eq(h->dev->vq[q].flags & VQ_BROKED, 0, "%s: queue %d broken", what, q);
	cr_assert_eq(vdev_drv_read_status(h->drv) & VIRTIO_CR_STATUS_NEEDS_RESET, 0,
		     "%s: device needs reset", what);
}

/* ---------------- PRNG ---------------- */

uint32_t rng_next(struct test_rng *r)
{
	uint32_t x = r->state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	r->state = x;
	return x;
}

uint32_t rng_range(struct test_rng *r, uint32_t lo, uint32_t hi)
{
	return lo + rng_next(r) % (hi - lo + 1);
}

/* ---------------- guest memory ---------------- */

uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return le16toh(v);
}

uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

void put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

uint16_t ld16(const void *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

uint32_t ld32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

void st16(void *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

/* ---------------- split ring ---------------- */

void raw_ring_init(struct harness *h, uint16_t q, struct raw_ring *r)
{
	int rc;

	r->size = vdev_drv_queue_size(h->drv, q);
	cr_assert_gt(r->size, 0);
	rc = vdev_drv_queue_rings(h->drv, q, &r->desc, &r->avail, &r->used);
	cr_assert_eq(rc, 0, "vdev_drv_queue_rings: %d", rc);
	r->d = vdev_sim_ptr(h->sim, r->desc, 16u * r->size);
	r->a = vdev_sim_ptr(h->sim, r->avail, 6u + 2u * r->size);
	r->u = vdev_sim_ptr(h->sim, r->used, 6u + 8u * r->size);
	cr_assert(r->d && r->a && r->u, "ring memory is not sim RAM");
}

void put_desc(uint8_t *table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
	      uint16_t next)
{
	uint8_t *p = table + 16u * i;

	put64(p, addr);
	put32(p + 8, len);
	put16(p + 12, flags);
	put16(p + 14, next);
}

uint16_t raw_avail_idx(const struct raw_ring *r)
{
	return get16(r->a + 2);
}

void raw_set_avail_idx(struct raw_ring *r, uint16_t idx)
{
	put16(r->a + 2, idx);
}

void raw_avail_entry(struct raw_ring *r, uint16_t slot, uint16_t head)
{
	put16(r->a + 4 + 2u * (slot % r->size), head);
}

void raw_push(struct raw_ring *r, uint16_t head)
{
	uint16_t idx = raw_avail_idx(r);

	raw_avail_entry(r, idx, head);
	raw_set_avail_idx(r, (uint16_t)(idx + 1));
}

uint16_t raw_used_idx(const struct raw_ring *r)
{
	return get16(r->u + 2);
}

void raw_used_elem(const struct raw_ring *r, uint16_t slot, uint32_t *id, uint32_t *len)
{
	const uint8_t *p = r->u + 4 + 8u * (slot % r->size);

	*id = get32(p);
	*len = get32(p + 4);
}

void expect_used(const struct raw_ring *r, uint16_t slot, uint32_t id, uint32_t len,
		 const char *what)
{
	uint32_t got_id, got_len;

	raw_used_elem(r, slot, &got_id, &got_len);
	cr_assert_eq(got_id, id, "%s: used[%u] names head %u, want %u", what, slot, got_id, id);
	cr_assert_eq(got_len, len, "%s: used[%u] length %u, want %u", what, slot, got_len, len);
}

void expect_iov(const struct iovec *iov, const uint16_t *flags, int i, const void *base,
		size_t len, bool writable, const char *what)
{
	cr_assert_eq(iov[i].iov_base, base, "%s: iov %d base", what, i);
	cr_assert_eq(iov[i].iov_len, len, "%s: iov %d length %zu, want %zu", what, i,
		     iov[i].iov_len, len);
	cr_assert_eq(!!(flags[i] & VRING_DESC_F_WRITE), writable, "%s: iov %d direction", what, i);
}

uint16_t raw_used_event(const struct raw_ring *r)
{
	return get16(r->a + 4 + 2u * r->size);
}

void raw_set_used_event(struct raw_ring *r, uint16_t v)
{
	put16(r->a + 4 + 2u * r->size, v);
}

uint16_t raw_avail_event(const struct raw_ring *r)
{
	return get16(r->u + 4 + 8u * r->size);
}

bool event_crossed(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}
