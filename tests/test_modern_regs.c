/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The modern (virtio 1.x) register regions: common config field by field, queue
 * setup, notify (memory and I/O), ISR and device config (docs/behaviour.md,
 * "Features", "Queues", "Register widths"). Run through the memory BAR, through the
 * PCI cfg-access window and on a transitional function.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "test_util.h"

/* One 24-byte echo request, checked. */
static void roundtrip(const char *ctx, struct harness *h, uint16_t q)
{
	echo_roundtrip(ctx, h, q, 24, 0x3e, 0);
}

/* Enqueue an 8-byte request ("abcdefgh") without kicking; returns the output buffer. */
static void *enqueue_one(const char *ctx, struct harness *h, uint16_t q, int *token)
{
	void *in, *out = enqueue_inout(ctx, h, q, 8, token, &in);

	memcpy(in, "abcdefgh", 8);
	memset(out, 0, 8);
	return out;
}

/* ---------------- features ---------------- */

Test(modern_regs, device_features_by_select)
{
	FOR_EACH_MODERN(c)
	{
		struct harness h;

		open_combo(&h, c, NULL);
		cwr(&h, VIRTIO_COMMON_DFSELECT, 4, 0);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_DFSELECT, 4), 0);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_DF, 4), MODERN_OFFER_LO);
		cwr(&h, VIRTIO_COMMON_DFSELECT, 4, 1);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_DFSELECT, 4), 1);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_DF, 4), VIRTIO_F_VERSION_1 >> 32);
		cwr(&h, VIRTIO_COMMON_DFSELECT, 4, 2);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_DF, 4), 0);
		/* device_feature itself takes no write */
		cwr(&h, VIRTIO_COMMON_DFSELECT, 4, 0);
		cwr(&h, VIRTIO_COMMON_DF, 4, 0xffffffff);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_DF, 4), MODERN_OFFER_LO);
		CHECK_EQ(c->name, vdev_drv_read_features(h.drv),
			 (ECHO_DEFAULT_FEATURES & ~VIRTIO_F_NOTIFY_ON_EMPTY) | VIRTIO_F_VERSION_1);
		harness_close(&h);
	}
}

Test(modern_regs, device_features_drop_legacy_only_and_packed_bits)
{
	FOR_EACH_MODERN(c)
	{
		struct echo_dev_config e = {
			.features = ECHO_F_TEST | VIRTIO_F_NOTIFY_ON_EMPTY | VIRTIO_F_ANY_LAYOUT |
				    VIRTIO_F_RING_PACKED | VIRTIO_RING_F_INDIRECT_DESC};
		struct harness h;

		open_combo(&h, c, &e);
		cwr(&h, VIRTIO_COMMON_DFSELECT, 4, 0);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_DF, 4),
			 (uint32_t)(ECHO_F_TEST | VIRTIO_RING_F_INDIRECT_DESC));
		cwr(&h, VIRTIO_COMMON_DFSELECT, 4, 1);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_DF, 4), VIRTIO_F_VERSION_1 >> 32);
		harness_close(&h);
	}
}

Test(modern_regs, driver_features_recorded_per_select)
{
	FOR_EACH_MODERN(c)
	{
		struct harness h;

		open_combo(&h, c, NULL);
		cwr(&h, VIRTIO_COMMON_GFSELECT, 4, 1);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_GFSELECT, 4), 1);
		cwr(&h, VIRTIO_COMMON_GF, 4, 1);
		cwr(&h, VIRTIO_COMMON_GFSELECT, 4, 0);
		cwr(&h, VIRTIO_COMMON_GF, 4, (uint32_t)ECHO_F_TEST);
		CHECK_EQ(c->name, h.dev->base.driver_features, VIRTIO_F_VERSION_1 | ECHO_F_TEST);
		/* Only recorded: nothing is negotiated before FEATURES_OK. */
		CHECK_EQ(c->name, h.dev->apply_calls, 0);
		harness_close(&h);
	}
}

/* ---------------- device-wide fields ---------------- */

Test(modern_regs, num_queues_reports_nvq_and_is_read_only)
{
	FOR_EACH_MODERN(c)
	{
		struct echo_dev_config e = {.nvq = 3};
		struct harness h;

		open_combo(&h, c, &e);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_NUMQ, 2), 3);
		cwr(&h, VIRTIO_COMMON_NUMQ, 2, 7);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_NUMQ, 2), 3);
		harness_close(&h);
	}
}

Test(modern_regs, status_reads_back_and_config_generation_is_read_only)
{
	FOR_EACH_MODERN(c)
	{
		struct harness h;
		uint64_t gen;

		open_combo(&h, c, NULL);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_STATUS, 1), 0);
		cwr(&h, VIRTIO_COMMON_STATUS, 1, ACK);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_STATUS, 1), ACK);
		cwr(&h, VIRTIO_COMMON_STATUS, 1, ACK | DRV);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_STATUS, 1), ACK | DRV);
		CHECK_EQ(c->name, vdev_drv_read_status(h.drv), ACK | DRV);

		gen = crd(&h, VIRTIO_COMMON_CFGGENERATION, 1);
		cwr(&h, VIRTIO_COMMON_CFGGENERATION, 1, gen + 5);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_CFGGENERATION, 1), gen);
		/* queue_notify_off is read-only too */
		cwr(&h, VIRTIO_COMMON_Q_SELECT, 2, 0);
		cwr(&h, VIRTIO_COMMON_Q_NOFF, 2, 9);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_NOFF, 2), 0);
		harness_close(&h);
	}
}

Test(modern_regs, config_generation_bumps_when_device_changes_config)
{
	FOR_EACH_MODERN(c)
	{
		struct harness h;
		uint64_t gen0, gen1;

		open_ready(&h, c, NULL, ECHO_F_TEST, 0);
		gen0 = crd(&h, VIRTIO_COMMON_CFGGENERATION, 1);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_CFGGENERATION, 1), gen0); /* stable */
		echo_dev_host_set_scratch(h.dev, 0x55aa);
		gen1 = crd(&h, VIRTIO_COMMON_CFGGENERATION, 1);
		cr_assert(gen1 != gen0, "%s: generation did not change", c->name);
		CHECK_EQ(c->name, vdev_drv_read_config32(h.drv, ECHO_CFG_SCRATCH), 0x55aa);
		echo_dev_host_set_scratch(h.dev, 0x55ab);
		cr_assert(crd(&h, VIRTIO_COMMON_CFGGENERATION, 1) != gen1,
			  "%s: second change not seen", c->name);
		/* A driver write to config is not a device change. */
		gen1 = crd(&h, VIRTIO_COMMON_CFGGENERATION, 1);
		vdev_drv_write_config32(h.drv, ECHO_CFG_SCRATCH, 1);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_CFGGENERATION, 1), gen1);
		harness_close(&h);
	}
}

/* ---------------- per-queue fields ---------------- */

Test(modern_regs, queue_size_defaults_to_maximum_and_records_writes)
{
	FOR_EACH_MODERN(c)
	{
		struct echo_dev_config e = {.nvq = 2, .qsize = 128};
		struct harness h;

		open_combo(&h, c, &e);
		for (uint16_t q = 0; q < 2; q++) {
			cwr(&h, VIRTIO_COMMON_Q_SELECT, 2, q);
			CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_SELECT, 2), q);
			CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_SIZE, 2), 128);
		}
		/* Recorded as-is; validation waits for queue_enable. */
		cwr(&h, VIRTIO_COMMON_Q_SELECT, 2, 1);
		cwr(&h, VIRTIO_COMMON_Q_SIZE, 2, 100);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_SIZE, 2), 100);
		cwr(&h, VIRTIO_COMMON_Q_SIZE, 2, 64);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_SIZE, 2), 64);
		cwr(&h, VIRTIO_COMMON_Q_SELECT, 2, 0);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_SIZE, 2), 128);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_STATUS, 1) & VIRTIO_CR_STATUS_NEEDS_RESET, 0);
		harness_close(&h);
	}
}

Test(modern_regs, queue_notify_off_is_the_queue_index)
{
	FOR_EACH_MODERN(c)
	{
		struct echo_dev_config e = {.nvq = 4};
		struct harness h;

		open_combo(&h, c, &e);
		for (uint16_t q = 0; q < 4; q++) {
			cwr(&h, VIRTIO_COMMON_Q_SELECT, 2, q);
			CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_NOFF, 2), q);
		}
		harness_close(&h);
	}
}

Test(modern_regs, ring_address_halves_read_back)
{
	static const int lo[] = {VIRTIO_COMMON_Q_DESCLO, VIRTIO_COMMON_Q_AVAILLO,
				 VIRTIO_COMMON_Q_USEDLO};

	FOR_EACH_MODERN(c)
	{
		struct harness h;

		open_combo(&h, c, NULL);
		cwr(&h, VIRTIO_COMMON_Q_SELECT, 2, 0);
		for (int i = 0; i < 3; i++) {
			cwr(&h, (uint64_t)lo[i], 4, 0x12345000u + 0x100u * (unsigned)i);
			cwr(&h, (uint64_t)lo[i] + 4, 4, 0x9u + (unsigned)i);
		}
		for (int i = 0; i < 3; i++) {
			CHECK_EQ(c->name, crd(&h, (uint64_t)lo[i], 4), 0x12345000u + 0x100u * (unsigned)i);
			CHECK_EQ(c->name, crd(&h, (uint64_t)lo[i] + 4, 4), 0x9u + (unsigned)i);
		}
		/* Not enabled: nothing was validated yet, the device is fine. */
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_ENABLE, 2), 0);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_STATUS, 1), 0);
		harness_close(&h);
	}
}

Test(modern_regs, ring_address_single_64bit_access_at_low_half)
{
	static const int lo[] = {VIRTIO_COMMON_Q_DESCLO, VIRTIO_COMMON_Q_AVAILLO,
				 VIRTIO_COMMON_Q_USEDLO};

	FOR_EACH_MODERN(c)
	{
		struct harness h;
		uint64_t bad;

		open_combo(&h, c, NULL);
		bwr(&h, 4, VIRTIO_COMMON_Q_SELECT, 2, 0);
		for (int i = 0; i < 3; i++) {
			uint64_t v = 0x0000000a00001000ULL * (uint64_t)(i + 1);

			bwr(&h, 4, (uint64_t)lo[i], 8, v);
			CHECK_EQ(c->name, brd(&h, 4, (uint64_t)lo[i], 8), v);
			CHECK_EQ(c->name, brd(&h, 4, (uint64_t)lo[i], 4), (uint32_t)v);
			CHECK_EQ(c->name, brd(&h, 4, (uint64_t)lo[i] + 4, 4), v >> 32);
		}
		/* A 64-bit access at the high half is not an address access. */
		bad = stats(&h).bad_accesses;
		CHECK_EQ(c->name, brd(&h, 4, VIRTIO_COMMON_Q_DESCHI, 8), 0);
		bwr(&h, 4, VIRTIO_COMMON_Q_DESCHI, 8, 0x77);
		CHECK_EQ(c->name, brd(&h, 4, VIRTIO_COMMON_Q_DESCHI, 4), 0xa);
		CHECK_EQ(c->name, brd(&h, 4, VIRTIO_COMMON_Q_AVAILLO, 4), 0x2000);
		cr_assert(stats(&h).bad_accesses >= bad + 2, "%s: 64-bit at high half not counted",
			  c->name);
		harness_close(&h);
	}
}

/* A small ring the test writes itself, in three separate pages. */
static void mini_ring_alloc(struct harness *h, struct raw_ring *r, uint16_t size)
{
	r->size = size;
	r->used = vdev_sim_alloc(h->sim, 4096, 4096);
	r->desc = vdev_sim_alloc(h->sim, 4096, 4096);
	r->avail = vdev_sim_alloc(h->sim, 4096, 4096);
	cr_assert(r->desc && r->avail && r->used);
	r->d = vdev_sim_ptr(h->sim, r->desc, 4096);
	r->a = vdev_sim_ptr(h->sim, r->avail, 4096);
	r->u = vdev_sim_ptr(h->sim, r->used, 4096);
	memset(r->d, 0, 4096);
	memset(r->a, 0, 4096);
	memset(r->u, 0, 4096);
}

/* Make request number `n` (in -> out) available, descriptors 2n and 2n+1. */
static void mini_ring_add(struct raw_ring *r, uint16_t n, uint64_t in, uint64_t out, uint32_t len)
{
	uint16_t head = (uint16_t)((2 * n) % r->size), next = (uint16_t)((2 * n + 1) % r->size);

	put_desc(r->d, head, in, len, VRING_DESC_F_NEXT, next);
	put_desc(r->d, next, out, len, VRING_DESC_F_WRITE, 0);
	raw_avail_entry(r, n, head);
	raw_set_avail_idx(r, (uint16_t)(n + 1));
}

Test(modern_regs, queue_enable_uses_the_programmed_geometry)
{
	FOR_EACH_MODERN(c)
	{
		struct harness h;
		struct raw_ring r;
		uint64_t gin, gout;
		void *in, *out;
		uint32_t id, len;

		open_combo(&h, c, NULL);
		cr_assert_eq(vdev_drv_negotiate(h.drv, ECHO_F_TEST, NULL), 0);
		mini_ring_alloc(&h, &r, 8);
		program_queue(&h, 0, 8, r.desc, r.avail, r.used);
		cwr(&h, VIRTIO_COMMON_Q_ENABLE, 2, 1);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_ENABLE, 2), 1);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_SIZE, 2), 8);
		cwr(&h, VIRTIO_COMMON_STATUS, 1, ACK | DRV | FOK | DOK);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_STATUS, 1), ACK | DRV | FOK | DOK);

		/* Ten requests wrap the 8-entry ring: the device must use size 8. */
		for (uint16_t n = 0; n < 10; n++) {
			gin = harness_buf(&h, 4, &in);
			gout = harness_buf(&h, 4, &out);
			memcpy(in, &n, 2);
			memset(out, 0xff, 4);
			mini_ring_add(&r, n, gin, gout, 2);
			vdev_drv_region_write(h.drv, VDEV_DRV_REGION_NOTIFY, 0, 2, 0);
			CHECK_EQ(c->name, raw_used_idx(&r), n + 1);
			raw_used_elem(&r, n, &id, &len);
			CHECK_EQ(c->name, id, (2 * n) % 8);
			CHECK_EQ(c->name, len, 2);
			cr_assert(memcmp(in, out, 2) == 0, "%s: request %u not echoed", c->name, n);
		}
		harness_close(&h);
	}
}

Test(modern_regs, driver_setup_matches_registers_and_reset_clears_queue)
{
	FOR_EACH_MODERN(c)
	{
		struct echo_dev_config e = {.nvq = 2};
		struct harness h;
		uint64_t desc, avail, used;

		open_combo(&h, c, &e);
		cr_assert_eq(vdev_drv_negotiate(h.drv, ECHO_F_TEST, NULL), 0);
		cr_assert_eq(vdev_drv_queue_setup(h.drv, 1, 32, VIRTIO_MSI_NO_VECTOR), 0);
		cr_assert_eq(vdev_drv_queue_rings(h.drv, 1, &desc, &avail, &used), 0);
		cwr(&h, VIRTIO_COMMON_Q_SELECT, 2, 1);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_ENABLE, 2), 1);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_SIZE, 2), 32);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_DESCLO, 4), (uint32_t)desc);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_DESCHI, 4), desc >> 32);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_AVAILLO, 4), (uint32_t)avail);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_USEDLO, 4), (uint32_t)used);
		cr_assert(vq_ring_ready(&h.dev->vq[1]));
		cr_assert(!vq_ring_ready(&h.dev->vq[0]));

		cwr(&h, VIRTIO_COMMON_STATUS, 1, 0);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_STATUS, 1), 0);
		cwr(&h, VIRTIO_COMMON_Q_SELECT, 2, 1);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_ENABLE, 2), 0);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_SIZE, 2), 256);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_DESCLO, 4), 0);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_AVAILLO, 4), 0);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_USEDLO, 4), 0);
		cr_assert(!vq_ring_ready(&h.dev->vq[1]));
		harness_close(&h);
	}
}

Test(modern_regs, msix_vector_fields_read_no_vector_without_msix)
{
	FOR_EACH_MODERN(c)
	{
		struct harness h;

		open_combo(&h, c, NULL);
		cwr(&h, VIRTIO_COMMON_MSIX, 2, 0);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
		cwr(&h, VIRTIO_COMMON_Q_SELECT, 2, 0);
		cwr(&h, VIRTIO_COMMON_Q_MSIX, 2, 1);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
		harness_close(&h);
	}
}

Test(modern_regs, msix_vector_fields_hold_table_entries)
{
	FOR_EACH_MODERN(c)
	{
		struct harness h;
		int rc = harness_open_msix(&h, c->mode, c->access);

		cr_assert_eq(rc, 0, "%s: open msix", c->name);
		cwr(&h, VIRTIO_COMMON_MSIX, 2, 1);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_MSIX, 2), 1);
		cwr(&h, VIRTIO_COMMON_MSIX, 2, 0);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_MSIX, 2), 0);
		cwr(&h, VIRTIO_COMMON_Q_SELECT, 2, 0);
		cwr(&h, VIRTIO_COMMON_Q_MSIX, 2, 1);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_MSIX, 2), 1);
		cwr(&h, VIRTIO_COMMON_Q_MSIX, 2, 2); /* 2 vectors: 0 and 1 */
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
		cwr(&h, VIRTIO_COMMON_Q_MSIX, 2, VIRTIO_MSI_NO_VECTOR);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
		harness_close(&h);
	}
}

/* ---------------- widths and the rest of the page ---------------- */

struct field {
	const char *name;
	int off, width;
	bool has64;
};

static const struct field common_fields[] = {
	{"device_feature_select", VIRTIO_COMMON_DFSELECT, 4, false},
	{"device_feature", VIRTIO_COMMON_DF, 4, false},
	{"driver_feature_select", VIRTIO_COMMON_GFSELECT, 4, false},
	{"driver_feature", VIRTIO_COMMON_GF, 4, false},
	{"config_msix_vector", VIRTIO_COMMON_MSIX, 2, false},
	{"num_queues", VIRTIO_COMMON_NUMQ, 2, false},
	{"device_status", VIRTIO_COMMON_STATUS, 1, false},
	{"config_generation", VIRTIO_COMMON_CFGGENERATION, 1, false},
	{"queue_select", VIRTIO_COMMON_Q_SELECT, 2, false},
	{"queue_size", VIRTIO_COMMON_Q_SIZE, 2, false},
	{"queue_msix_vector", VIRTIO_COMMON_Q_MSIX, 2, false},
	{"queue_enable", VIRTIO_COMMON_Q_ENABLE, 2, false},
	{"queue_notify_off", VIRTIO_COMMON_Q_NOFF, 2, false},
	{"queue_desc_lo", VIRTIO_COMMON_Q_DESCLO, 4, true},
	{"queue_desc_hi", VIRTIO_COMMON_Q_DESCHI, 4, false},
	{"queue_avail_lo", VIRTIO_COMMON_Q_AVAILLO, 4, true},
	{"queue_avail_hi", VIRTIO_COMMON_Q_AVAILHI, 4, false},
	{"queue_used_lo", VIRTIO_COMMON_Q_USEDLO, 4, true},
	{"queue_used_hi", VIRTIO_COMMON_Q_USEDHI, 4, false},
};
#define NFIELDS (sizeof(common_fields) / sizeof(common_fields[0]))

Test(modern_regs, common_fields_refuse_other_widths_without_side_effects)
{
	static const int widths[] = {1, 2, 4, 8};

	FOR_EACH_MODERN(c)
	{
		struct harness h;
		uint64_t before[NFIELDS];

		open_combo(&h, c, NULL);
		cr_assert_eq(vdev_drv_negotiate(h.drv, ECHO_F_TEST, NULL), 0);
		cr_assert_eq(vdev_drv_queue_setup(h.drv, 0, 64, VIRTIO_MSI_NO_VECTOR), 0);
		bwr(&h, 4, VIRTIO_COMMON_Q_SELECT, 2, 0);
		bwr(&h, 4, VIRTIO_COMMON_DFSELECT, 4, 0);
		bwr(&h, 4, VIRTIO_COMMON_GFSELECT, 4, 0);
		for (size_t f = 0; f < NFIELDS; f++)
			before[f] = brd(&h, 4, (uint64_t)common_fields[f].off, common_fields[f].width);

		for (size_t f = 0; f < NFIELDS; f++) {
			for (int w = 0; w < 4; w++) {
				const struct field *fd = &common_fields[f];
				uint64_t bad = stats(&h).bad_accesses;

				if (widths[w] == fd->width || (widths[w] == 8 && fd->has64))
					continue;
				cr_assert_eq(brd(&h, 4, (uint64_t)fd->off, widths[w]), 0,
					     "%s: %s read at width %d not refused", c->name,
					     fd->name, widths[w]);
				/* Zero would reset (status) or clear a select: visible if taken. */
				bwr(&h, 4, (uint64_t)fd->off, widths[w], 0);
				cr_assert(stats(&h).bad_accesses >= bad + 2,
					  "%s: %s width %d not counted", c->name, fd->name,
					  widths[w]);
			}
		}
		/* Unaligned accesses inside fields. */
		CHECK_EQ(c->name, brd(&h, 4, VIRTIO_COMMON_DF + 1, 2), 0);
		CHECK_EQ(c->name, brd(&h, 4, VIRTIO_COMMON_DF + 2, 2), 0);
		CHECK_EQ(c->name, brd(&h, 4, VIRTIO_COMMON_Q_SIZE + 1, 1), 0);
		bwr(&h, 4, VIRTIO_COMMON_Q_SELECT + 1, 1, 0xff);
		bwr(&h, 4, VIRTIO_COMMON_Q_DESCLO + 2, 2, 0);

		for (size_t f = 0; f < NFIELDS; f++)
			cr_assert_eq(brd(&h, 4, (uint64_t)common_fields[f].off,
					 common_fields[f].width),
				     before[f], "%s: %s changed by a refused access", c->name,
				     common_fields[f].name);
		harness_close(&h);
	}
}

Test(modern_regs, common_offsets_56_to_4095_read_zero_and_refuse_writes)
{
	static const struct {
		uint64_t off;
		int width;
	} tail[] = {{56, 4}, {56, 2}, {58, 2}, {60, 4}, {64, 8}, {0x100, 4}, {0x800, 1},
		    {0xffc, 4}, {0xfff, 1}};

	FOR_EACH_MODERN(c)
	{
		struct harness h;

		open_combo(&h, c, NULL);
		for (size_t i = 0; i < sizeof(tail) / sizeof(tail[0]); i++) {
			uint64_t bad;

			if (tail[i].width == 8 && c->access == VDEV_DRV_MODERN_CFGACCESS)
				continue; /* the window carries at most 4 bytes */
			CHECK_EQ(c->name, crd(&h, tail[i].off, tail[i].width), 0);
			bad = stats(&h).bad_accesses;
			cwr(&h, tail[i].off, tail[i].width, 0xffffffff);
			cr_assert(stats(&h).bad_accesses > bad, "%s: write at %#" PRIx64
				  " not refused", c->name, tail[i].off);
			CHECK_EQ(c->name, crd(&h, tail[i].off, tail[i].width), 0);
		}
		/* Raw: an 8-byte read across the last field and the tail is refused too. */
		CHECK_EQ(c->name, brd(&h, 4, VIRTIO_COMMON_Q_USEDHI, 8), 0);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_STATUS, 1), 0);
		harness_close(&h);
	}
}

/* ---------------- notify ---------------- */

Test(modern_regs, notify_through_memory_region_width_2_and_4)
{
	FOR_EACH_MODERN(c)
	{
		struct echo_dev_config e = {.nvq = 2};
		struct harness h;
		int token;
		void *tok;
		uint32_t len;

		open_ready(&h, c, &e, ECHO_F_TEST, 0);
		enqueue_one(c->name, &h, 1, &token);
		vdev_drv_region_write(h.drv, VDEV_DRV_REGION_NOTIFY, 4, 2, 1);
		CHECK_EQ(c->name, vdev_drv_dequeue(h.drv, 1, &tok, &len), 1);
		enqueue_one(c->name, &h, 1, &token);
		vdev_drv_region_write(h.drv, VDEV_DRV_REGION_NOTIFY, 4, 4, 1);
		CHECK_EQ(c->name, vdev_drv_dequeue(h.drv, 1, &tok, &len), 1);
		enqueue_one(c->name, &h, 0, &token);
		vdev_drv_kick(h.drv, 0);
		CHECK_EQ(c->name, vdev_drv_dequeue(h.drv, 0, &tok, &len), 1);
		CHECK_EQ(c->name, stats(&h).notifies, 3);
		harness_close(&h);
	}
}

Test(modern_regs, notify_address_names_the_queue_not_the_value)
{
	FOR_EACH_MODERN(c)
	{
		struct echo_dev_config e = {.nvq = 2};
		struct harness h;
		int token;
		void *tok;
		uint32_t len;

		open_ready(&h, c, &e, ECHO_F_TEST, 0);
		enqueue_one(c->name, &h, 1, &token);
		/* Queue 0's register, value 1: kicks queue 0, so queue 1 stays pending. */
		vdev_drv_region_write(h.drv, VDEV_DRV_REGION_NOTIFY, 0, 2, 1);
		CHECK_EQ(c->name, vdev_drv_dequeue(h.drv, 1, &tok, &len), 0);
		/* Queue 1's register, any value. */
		bwr(&h, 4, VIRTIO_CAP_NOTIFY_OFFSET + 4, 2, 0xbeef);
		CHECK_EQ(c->name, vdev_drv_dequeue(h.drv, 1, &tok, &len), 1);
		CHECK_EQ(c->name, len, 8);
		harness_close(&h);
	}
}

Test(modern_regs, notify_through_io_bar_value_names_the_queue)
{
	static const enum vdev_pci_mode modes[] = {VDEV_PCI_MODERN, VDEV_PCI_TRANSITIONAL};

	for (int m = 0; m < 2; m++) {
		struct echo_dev_config e = {.nvq = 2};
		struct harness h;
		int token;
		void *tok;
		uint32_t len;
		char *out;
		struct vdev_pci_bar_info info;

		e.pci.notify_pio = true;
		cr_assert_eq(harness_open(&h, modes[m], VDEV_DRV_MODERN, &e), 0);
		cr_assert_eq(vdev_pci_bar_info(echo_dev_pci(h.dev), 2, &info), 0);
		CHECK_EQ("pio", info.type, VDEV_PCI_BAR_IO);
		cr_assert_eq(harness_ready(&h, ECHO_F_TEST, 0), 0);
		out = enqueue_one("pio", &h, 1, &token);
		bwr(&h, 2, 0, 2, 0);
		CHECK_EQ("pio", vdev_drv_dequeue(h.drv, 1, &tok, &len), 0);
		bwr(&h, 2, 0, 2, 1);
		CHECK_EQ("pio", vdev_drv_dequeue(h.drv, 1, &tok, &len), 1);
		cr_assert(memcmp(out, "abcdefgh", 8) == 0);
		CHECK_EQ("pio", stats(&h).notifies, 2);
		harness_close(&h);
	}
}

/* ---------------- ISR ---------------- */

Test(modern_regs, isr_region_byte_0_reads_and_clears_others_read_zero)
{
	FOR_EACH_MODERN(c)
	{
		struct harness h;
		int token;
		void *tok;
		uint32_t len;

		open_ready(&h, c, NULL, ECHO_F_TEST, 0);
		CHECK_EQ(c->name, vdev_drv_region_read(h.drv, VDEV_DRV_REGION_ISR, 0, 1), 0);
		echo_dev_host_set_scratch(h.dev, 3);
		/* Other offsets and widths read 0 and do not consume the bits. */
		CHECK_EQ(c->name, brd(&h, 4, VIRTIO_CAP_ISR_OFFSET + 1, 1), 0);
		CHECK_EQ(c->name, brd(&h, 4, VIRTIO_CAP_ISR_OFFSET + 0x10, 4), 0);
		CHECK_EQ(c->name, brd(&h, 4, VIRTIO_CAP_ISR_OFFSET, 2), 0);
		CHECK_EQ(c->name, brd(&h, 4, VIRTIO_CAP_ISR_OFFSET, 4), 0);
		CHECK_EQ(c->name, vdev_drv_region_read(h.drv, VDEV_DRV_REGION_ISR, 0, 1),
			 VIRTIO_CR_ISR_CONF_CHANGED);
		CHECK_EQ(c->name, vdev_drv_region_read(h.drv, VDEV_DRV_REGION_ISR, 0, 1), 0);

		enqueue_one(c->name, &h, 0, &token);
		vdev_drv_kick(h.drv, 0);
		CHECK_EQ(c->name, brd(&h, 4, VIRTIO_CAP_ISR_OFFSET, 1), VIRTIO_CR_ISR_QUEUES);
		CHECK_EQ(c->name, vdev_drv_read_isr(h.drv), 0);
		CHECK_EQ(c->name, vdev_drv_dequeue(h.drv, 0, &tok, &len), 1);
		/* A write does not set or clear anything. */
		echo_dev_host_set_scratch(h.dev, 4);
		bwr(&h, 4, VIRTIO_CAP_ISR_OFFSET, 1, 0);
		CHECK_EQ(c->name, vdev_drv_read_isr(h.drv), VIRTIO_CR_ISR_CONF_CHANGED);
		harness_close(&h);
	}
}

/* ---------------- device config ---------------- */

Test(modern_regs, device_config_through_driver_helpers_8_16_32_64)
{
	FOR_EACH_MODERN(c)
	{
		struct harness h;

		open_combo(&h, c, NULL);
		CHECK_EQ(c->name, vdev_drv_read_config8(h.drv, ECHO_CFG_ID), 'v');
		CHECK_EQ(c->name, vdev_drv_read_config16(h.drv, ECHO_CFG_ID), 0x6476);
		CHECK_EQ(c->name, vdev_drv_read_config32(h.drv, ECHO_CFG_ID), 0x76656476);
		CHECK_EQ(c->name, vdev_drv_read_config64(h.drv, ECHO_CFG_ID), ECHO_ID_LE64);
		vdev_drv_write_config8(h.drv, ECHO_CFG_SCRATCH, 0x11);
		CHECK_EQ(c->name, vdev_drv_read_config32(h.drv, ECHO_CFG_SCRATCH), 0x11);
		vdev_drv_write_config16(h.drv, ECHO_CFG_SCRATCH + 2, 0x2233);
		CHECK_EQ(c->name, vdev_drv_read_config32(h.drv, ECHO_CFG_SCRATCH), 0x22330011);
		vdev_drv_write_config32(h.drv, ECHO_CFG_SCRATCH, 0xdeadbeef);
		CHECK_EQ(c->name, vdev_drv_read_config16(h.drv, ECHO_CFG_SCRATCH + 2), 0xdead);
		vdev_drv_write_config64(h.drv, ECHO_CFG_SCRATCH64, 0x0102030405060708ULL);
		CHECK_EQ(c->name, vdev_drv_read_config64(h.drv, ECHO_CFG_SCRATCH64),
			 0x0102030405060708ULL);
		CHECK_EQ(c->name, vdev_drv_read_config8(h.drv, ECHO_CFG_SCRATCH64 + 7), 0x01);
		cr_assert(memcmp(h.dev->cfg + ECHO_CFG_SCRATCH64, "\x08\x07\x06\x05\x04\x03\x02\x01",
				 8) == 0, "%s: device config bytes wrong", c->name);
		harness_close(&h);
	}
}

Test(modern_regs, device_config_raw_accesses_and_bounds)
{
	FOR_EACH_MODERN(c)
	{
		const uint64_t d = VIRTIO_CAP_DEVICE_OFFSET;
		struct harness h;
		uint64_t bad;

		open_combo(&h, c, NULL);
		bwr(&h, 4, d + ECHO_CFG_SCRATCH64, 8, 0xa1a2a3a4b1b2b3b4ULL);
		CHECK_EQ(c->name, brd(&h, 4, d + ECHO_CFG_SCRATCH64, 8), 0xa1a2a3a4b1b2b3b4ULL);
		CHECK_EQ(c->name, brd(&h, 4, d + ECHO_CFG_SCRATCH64 + 4, 4), 0xa1a2a3a4);
		CHECK_EQ(c->name, brd(&h, 4, d + ECHO_CFG_SCRATCH64 + 3, 2), 0xa4b1);
		CHECK_EQ(c->name, brd(&h, 4, d + ECHO_CFG_ID + 7, 1), 'o');
		CHECK_EQ(c->name, brd(&h, 4, d + ECHO_CFG_ID + 4, 4), 0x6f686365);

		bad = stats(&h).bad_accesses;
		CHECK_EQ(c->name, brd(&h, 4, d + ECHO_CFG_SIZE, 1), 0);
		CHECK_EQ(c->name, brd(&h, 4, d + ECHO_CFG_SIZE - 1, 2), 0);
		CHECK_EQ(c->name, brd(&h, 4, d + ECHO_CFG_SIZE - 4, 8), 0);
		CHECK_EQ(c->name, brd(&h, 4, d + ECHO_CFG_ID, 3), 0);
		CHECK_EQ(c->name, brd(&h, 4, d + 0xffc, 4), 0);
		bwr(&h, 4, d + ECHO_CFG_SIZE, 4, 0xffffffff);
		bwr(&h, 4, d + ECHO_CFG_REQUESTS, 4, 0x1234); /* read-only field */
		cr_assert(stats(&h).bad_accesses >= bad + 7, "%s: refusals not counted", c->name);
		CHECK_EQ(c->name, brd(&h, 4, d + ECHO_CFG_REQUESTS, 4), 0);
		harness_close(&h);
	}
}

Test(modern_regs, bar4_accesses_past_end_or_of_odd_width_refused)
{
	FOR_EACH_MODERN(c)
	{
		struct harness h;
		struct vdev_virtio_stats st;
		struct vdev_pci_stats ps0, ps1;
		uint64_t bad;

		open_combo(&h, c, NULL);
		vdev_pci_get_stats(echo_dev_pci(h.dev), &ps0);
		bad = stats(&h).bad_accesses;
		CHECK_EQ(c->name, brd(&h, 4, VIRTIO_MODERN_MEM_BAR_SIZE, 4), 0);
		CHECK_EQ(c->name, brd(&h, 4, VIRTIO_MODERN_MEM_BAR_SIZE - 2, 4), 0);
		CHECK_EQ(c->name, brd(&h, 4, VIRTIO_COMMON_NUMQ, 3), 0);
		CHECK_EQ(c->name, brd(&h, 4, VIRTIO_COMMON_NUMQ, 16), 0);
		bwr(&h, 4, VIRTIO_MODERN_MEM_BAR_SIZE, 4, 1);
		vdev_pci_get_stats(echo_dev_pci(h.dev), &ps1);
		st = stats(&h);
		cr_assert(st.bad_accesses + ps1.bad_accesses >= bad + ps0.bad_accesses + 5,
			  "%s: refused BAR accesses not counted", c->name);
		CHECK_EQ(c->name, crd(&h, VIRTIO_COMMON_NUMQ, 2), 1);
		cr_assert_eq(harness_ready(&h, ECHO_F_TEST, 0), 0, "%s: ready", c->name);
		roundtrip(c->name, &h, 0);
		harness_close(&h);
	}
}
