/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PCI configuration space of a virtio function, as firmware and the Linux PCI core
 * see it: identities, capability list, BAR sizing and programming, read-only and
 * writable fields, malformed accesses and BAR lookup (docs/behaviour.md, "PCI
 * configuration space", "Virtio capabilities", "Identities").
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"

#define ECHO_TYPE VIRTIO_TYPE_ENTROPY

/* A device with no driver attached: the function exactly as firmware first finds it. */
struct bare {
	struct vdev_sim *sim;
	struct echo_dev *dev;
	struct pci_vdev *pci;
};

static void bare_open(struct bare *b, struct vdev_virtio_pci_config pc, int nvq)
{
	struct vdev_sim_config sc = {.size = sizeof(struct vdev_sim_config),
				     .ram_base = 0, .ram_size = 1 << 20};
	struct echo_dev_config ec = {.pci = pc, .nvq = nvq};

	memset(b, 0, sizeof(*b));
	cr_assert_eq(vdev_sim_create(&sc, &b->sim), 0, "vdev_sim_create");
	cr_assert_eq(echo_dev_create(vdev_sim_vmctx(b->sim), "echo0", &ec, &b->dev), 0,
		     "echo_dev_create");
	b->pci = echo_dev_pci(b->dev);
}

static void bare_close(struct bare *b)
{
	echo_dev_destroy(b->dev);
	vdev_sim_destroy(b->sim);
	memset(b, 0, sizeof(*b));
}

static uint32_t cfg_rd(struct bare *b, int off, int width)
{
	uint32_t v = 0xdeadbeef;
	int rc = vdev_pci_cfgread(b->pci, off, width, &v);

	cr_assert_eq(rc, 0, "cfgread(%#x, %d) = %d", off, width, rc);
	return v;
}

static void cfg_wr(struct bare *b, int off, int width, uint32_t val)
{
	int rc = vdev_pci_cfgwrite(b->pci, off, width, val);

	cr_assert_eq(rc, 0, "cfgwrite(%#x, %d) = %d", off, width, rc);
}

/* BAR sizing exactly as firmware does it: save, write all ones, read, restore. */
static uint32_t bar_probe(struct bare *b, int idx)
{
	uint32_t saved = cfg_rd(b, PCIR_BAR(idx), 4), v;

	cfg_wr(b, PCIR_BAR(idx), 4, 0xffffffff);
	v = cfg_rd(b, PCIR_BAR(idx), 4);
	cfg_wr(b, PCIR_BAR(idx), 4, saved);
	return v;
}

static struct vdev_virtio_pci_config pcfg(enum vdev_pci_mode mode)
{
	struct vdev_virtio_pci_config c = {.mode = mode};
	return c;
}

/* ---------------- identities ---------------- */

Test(pci_config, modern_identity_uses_0x1040_plus_type_revision_1)
{
	struct bare b;

	bare_open(&b, pcfg(VDEV_PCI_MODERN), 1);
	CHECK_EQ("modern", cfg_rd(&b, PCIR_VENDOR, 2), 0x1AF4);
	CHECK_EQ("modern", cfg_rd(&b, PCIR_DEVICE, 2), 0x1040 + ECHO_TYPE);
	CHECK_EQ("modern", cfg_rd(&b, PCIR_REVID, 1), 1);
	CHECK_EQ("modern", cfg_rd(&b, PCIR_SUBVEND_0, 2), 0x1AF4);
	CHECK_EQ("modern", cfg_rd(&b, PCIR_SUBDEV_0, 2), 0x40 + ECHO_TYPE);
	/* A dword read returns the same fields packed, as the PCI core reads them. */
	CHECK_EQ("modern", cfg_rd(&b, 0, 4), ((0x1040u + ECHO_TYPE) << 16) | 0x1AF4);
	CHECK_EQ("modern", cfg_rd(&b, PCIR_SUBVEND_0, 4), ((0x40u + ECHO_TYPE) << 16) | 0x1AF4);
	bare_close(&b);
}

Test(pci_config, transitional_and_legacy_identity_use_transitional_table_revision_0)
{
	static const enum vdev_pci_mode modes[] = {VDEV_PCI_TRANSITIONAL, VDEV_PCI_LEGACY};

	for (size_t i = 0; i < 2; i++) {
		const char *name = modes[i] == VDEV_PCI_LEGACY ? "legacy" : "transitional";
		struct bare b;

		bare_open(&b, pcfg(modes[i]), 1);
		CHECK_EQ(name, cfg_rd(&b, PCIR_VENDOR, 2), 0x1AF4);
		CHECK_EQ(name, cfg_rd(&b, PCIR_DEVICE, 2), VIRTIO_DEV_RANDOM);
		CHECK_EQ(name, cfg_rd(&b, PCIR_REVID, 1), 0);
		CHECK_EQ(name, cfg_rd(&b, PCIR_SUBVEND_0, 2), 0x1AF4);
		CHECK_EQ(name, cfg_rd(&b, PCIR_SUBDEV_0, 2), ECHO_TYPE);
		bare_close(&b);
	}
}

Test(pci_config, device_id_table_matches_spec)
{
	CHECK_EQ("net", vdev_virtio_pci_device_id(VIRTIO_TYPE_NET, VDEV_PCI_TRANSITIONAL), 0x1000);
	CHECK_EQ("blk", vdev_virtio_pci_device_id(VIRTIO_TYPE_BLOCK, VDEV_PCI_LEGACY), 0x1001);
	CHECK_EQ("balloon", vdev_virtio_pci_device_id(VIRTIO_TYPE_BALLOON, VDEV_PCI_TRANSITIONAL),
		 0x1002);
	CHECK_EQ("console", vdev_virtio_pci_device_id(VIRTIO_TYPE_CONSOLE, VDEV_PCI_TRANSITIONAL),
		 0x1003);
	CHECK_EQ("scsi", vdev_virtio_pci_device_id(VIRTIO_TYPE_SCSI, VDEV_PCI_TRANSITIONAL), 0x1004);
	CHECK_EQ("rng", vdev_virtio_pci_device_id(VIRTIO_TYPE_ENTROPY, VDEV_PCI_TRANSITIONAL),
		 0x1005);
	CHECK_EQ("9p", vdev_virtio_pci_device_id(VIRTIO_TYPE_9P, VDEV_PCI_TRANSITIONAL), 0x1009);
	CHECK_EQ("net modern", vdev_virtio_pci_device_id(VIRTIO_TYPE_NET, VDEV_PCI_MODERN), 0x1041);
	CHECK_EQ("blk modern", vdev_virtio_pci_device_id(VIRTIO_TYPE_BLOCK, VDEV_PCI_MODERN), 0x1042);
	/* rpmsg has no transitional id: only the modern one exists. */
	CHECK_EQ("rpmsg modern", vdev_virtio_pci_device_id(VIRTIO_TYPE_RPMSG, VDEV_PCI_MODERN),
		 0x1047);
	CHECK_EQ("rpmsg transitional",
		 vdev_virtio_pci_device_id(VIRTIO_TYPE_RPMSG, VDEV_PCI_TRANSITIONAL), 0);
}

Test(pci_config, header_type_0_interrupt_pin_inta_and_class_override)
{
	static const enum vdev_pci_mode modes[] = {VDEV_PCI_LEGACY, VDEV_PCI_MODERN,
						   VDEV_PCI_TRANSITIONAL};

	for (size_t i = 0; i < 3; i++) {
		struct vdev_virtio_pci_config c = pcfg(modes[i]);
		struct bare b;

		c.class_code = 0x078000; /* communication controller, other */
		bare_open(&b, c, 1);
		CHECK_EQ("mode", cfg_rd(&b, PCIR_HDRTYPE, 1), 0);
		CHECK_EQ("mode", cfg_rd(&b, PCIR_INTPIN, 1), 1);
		CHECK_EQ("mode", cfg_rd(&b, PCIR_CLASS, 1), 0x07);
		CHECK_EQ("mode", cfg_rd(&b, PCIR_SUBCLASS, 1), 0x80);
		CHECK_EQ("mode", cfg_rd(&b, PCIR_PROGIF, 1), 0x00);
		bare_close(&b);
	}
}

/* ---------------- capability list ---------------- */

struct cap_seen {
	int off;
	uint8_t id;
	uint8_t len;      /* cap_len (vendor caps) */
	uint8_t cfg_type; /* vendor caps */
	uint8_t bar;
	uint32_t offset;
	uint32_t length;
	uint32_t mult;    /* notify caps */
};

/* Walk the list as Linux's __pci_find_next_cap_ttl() does: word reads, 48 hops max. */
static int walk_caps(struct bare *b, struct cap_seen *out, int max)
{
	int n = 0, ttl = 48;
	int pos;

	if (!(cfg_rd(b, PCIR_STATUS, 2) & PCIM_STATUS_CAPPRESENT))
		return 0;
	pos = cfg_rd(b, PCIR_CAP_PTR, 1);
	while (ttl--) {
		uint16_t ent;

		if (pos < 0x40)
			break;
		pos &= ~3;
		ent = (uint16_t)cfg_rd(b, pos, 2);
		if ((ent & 0xff) == 0xff)
			break;
		cr_assert(n < max, "too many capabilities");
		memset(&out[n], 0, sizeof(out[n]));
		out[n].off = pos;
		out[n].id = ent & 0xff;
		if (out[n].id == PCIY_VENDOR) {
			out[n].len = (uint8_t)cfg_rd(b, pos + 2, 1);
			out[n].cfg_type = (uint8_t)cfg_rd(b, pos + 3, 1);
			out[n].bar = (uint8_t)cfg_rd(b, pos + 4, 1);
			out[n].offset = cfg_rd(b, pos + 8, 4);
			out[n].length = cfg_rd(b, pos + 12, 4);
			if (out[n].cfg_type == VIRTIO_PCI_CAP_NOTIFY_CFG && out[n].len >= 20)
				out[n].mult = cfg_rd(b, pos + 16, 4);
		}
		n++;
		pos = ent >> 8;
	}
	cr_assert(ttl >= 0, "capability list does not terminate");
	return n;
}

struct cap_expect {
	uint8_t cfg_type, bar, len;
	uint32_t offset, length, mult;
};

static void check_virtio_caps(const char *ctx, struct bare *b, bool notify_pio, bool cfg_access,
			      int nvq)
{
	struct cap_seen caps[32];
	struct cap_expect exp[8];
	int n = walk_caps(b, caps, 32), ne = 0, first_vendor = -1, k = 0;

	exp[ne++] = (struct cap_expect){VIRTIO_PCI_CAP_COMMON_CFG, 4, 16, 0, 56, 0};
	exp[ne++] = (struct cap_expect){VIRTIO_PCI_CAP_NOTIFY_CFG, 4, 20, 0x3000,
					(uint32_t)(4 * nvq), 4};
	exp[ne++] = (struct cap_expect){VIRTIO_PCI_CAP_ISR_CFG, 4, 16, 0x1000, 1, 0};
	exp[ne++] = (struct cap_expect){VIRTIO_PCI_CAP_DEVICE_CFG, 4, 16, 0x2000, ECHO_CFG_SIZE, 0};
	if (notify_pio)
		exp[ne++] = (struct cap_expect){VIRTIO_PCI_CAP_NOTIFY_CFG, 2, 20, 0, 2, 0};
	if (cfg_access)
		exp[ne++] = (struct cap_expect){VIRTIO_PCI_CAP_PCI_CFG, 0, 20, 0, 0, 0};

	for (int i = 0; i < n; i++) {
		if (caps[i].id == PCIY_VENDOR) {
			if (first_vendor < 0)
				first_vendor = i;
			continue;
		}
		/* MSI-X / MSI come before the virtio capabilities. */
		cr_assert(first_vendor < 0, "%s: capability %#x at %#x after a virtio capability",
			  ctx, caps[i].id, caps[i].off);
	}
	for (int i = 0; i < n; i++) {
		if (caps[i].id != PCIY_VENDOR)
			continue;
		cr_assert(k < ne, "%s: unexpected extra virtio capability type %d at %#x", ctx,
			  caps[i].cfg_type, caps[i].off);
		CHECK_EQ(ctx, caps[i].cfg_type, exp[k].cfg_type);
		CHECK_EQ(ctx, caps[i].len, exp[k].len);
		if (exp[k].cfg_type != VIRTIO_PCI_CAP_PCI_CFG) {
			CHECK_EQ(ctx, caps[i].bar, exp[k].bar);
			CHECK_EQ(ctx, caps[i].offset, exp[k].offset);
			CHECK_EQ(ctx, caps[i].length, exp[k].length);
		}
		if (exp[k].cfg_type == VIRTIO_PCI_CAP_NOTIFY_CFG)
			CHECK_EQ(ctx, caps[i].mult, exp[k].mult);
		cr_assert(caps[i].off % 4 == 0, "%s: capability not dword aligned", ctx);
		k++;
	}
	CHECK_EQ(ctx, k, ne);
}

/* Offset of the capability with this id, 0 if the list has none. */
static int find_cap(struct bare *b, uint8_t id)
{
	struct cap_seen caps[32];
	int n = walk_caps(b, caps, 32);

	for (int i = 0; i < n; i++)
		if (caps[i].id == id)
			return caps[i].off;
	return 0;
}

Test(pci_config, modern_capability_list_in_documented_order)
{
	struct bare b;

	bare_open(&b, pcfg(VDEV_PCI_MODERN), 1);
	cr_assert(cfg_rd(&b, PCIR_STATUS, 2) & PCIM_STATUS_CAPPRESENT);
	cr_assert(cfg_rd(&b, PCIR_CAP_PTR, 1) >= 0x40);
	check_virtio_caps("modern", &b, false, true, 1);
	bare_close(&b);
}

Test(pci_config, modern_capability_list_with_msix_msi_notify_pio_and_three_queues)
{
	struct vdev_virtio_pci_config c = pcfg(VDEV_PCI_MODERN);
	struct bare b;

	c.msix = true;
	c.msi = true;
	c.notify_pio = true;
	bare_open(&b, c, 3);
	cr_assert(find_cap(&b, PCIY_MSIX) != 0, "MSI-X capability missing");
	cr_assert(find_cap(&b, PCIY_MSI) != 0, "MSI capability missing");
	check_virtio_caps("modern+msix+msi+pio", &b, true, true, 3);
	bare_close(&b);
}

Test(pci_config, modern_without_cfg_access_capability)
{
	struct vdev_virtio_pci_config c = pcfg(VDEV_PCI_MODERN);
	struct bare b;

	c.no_cfg_access = true;
	bare_open(&b, c, 2);
	check_virtio_caps("modern no cfg access", &b, false, false, 2);
	bare_close(&b);
}

Test(pci_config, transitional_capability_list_matches_modern)
{
	struct vdev_virtio_pci_config c = pcfg(VDEV_PCI_TRANSITIONAL);
	struct bare b;

	c.msix = true;
	bare_open(&b, c, 2);
	cr_assert(find_cap(&b, PCIY_MSIX) != 0);
	check_virtio_caps("transitional", &b, false, true, 2);
	bare_close(&b);
}

Test(pci_config, legacy_has_no_virtio_capabilities)
{
	struct vdev_virtio_pci_config c = pcfg(VDEV_PCI_LEGACY);
	struct cap_seen caps[32];
	struct bare b;
	int n;

	c.msix = true;
	bare_open(&b, c, 1);
	n = walk_caps(&b, caps, 32);
	for (int i = 0; i < n; i++)
		cr_assert(caps[i].id != PCIY_VENDOR, "legacy function has a vendor capability");
	cr_assert(find_cap(&b, PCIY_MSIX) != 0);
	bare_close(&b);
}

Test(pci_config, capability_present_status_bit_agrees_with_pointer)
{
	static const enum vdev_pci_mode modes[] = {VDEV_PCI_LEGACY, VDEV_PCI_MODERN,
						   VDEV_PCI_TRANSITIONAL};

	for (size_t i = 0; i < 3; i++) {
		struct bare b;
		uint32_t st, ptr;

		bare_open(&b, pcfg(modes[i]), 1);
		st = cfg_rd(&b, PCIR_STATUS, 2);
		ptr = cfg_rd(&b, PCIR_CAP_PTR, 1);
		cr_assert(((st & PCIM_STATUS_CAPPRESENT) != 0) == (ptr != 0),
			  "status %#x but cap pointer %#x", st, ptr);
		bare_close(&b);
	}
}

Test(pci_config, msix_capability_fields_and_writable_bits)
{
	struct vdev_virtio_pci_config c = pcfg(VDEV_PCI_MODERN);
	struct bare b;
	int cap;
	uint32_t ctl;

	c.msix = true;
	bare_open(&b, c, 2); /* nvq + 1 = 3 vectors */
	cap = find_cap(&b, PCIY_MSIX);
	cr_assert(cap != 0);
	ctl = cfg_rd(&b, cap + 2, 2);
	CHECK_EQ("msix", ctl & 0x7ff, 2);        /* table size = nvec - 1 */
	CHECK_EQ("msix", ctl & 0xc000, 0);       /* disabled, unmasked at reset */
	CHECK_EQ("msix", cfg_rd(&b, cap + 4, 4), 0x00000001); /* table: BIR 1, offset 0 */
	CHECK_EQ("msix", cfg_rd(&b, cap + 8, 4), 0x00000801); /* PBA: BIR 1, offset 0x800 */

	/* Only Enable (15) and Function Mask (14) take a write. */
	cfg_wr(&b, cap + 2, 2, 0xffff);
	CHECK_EQ("msix", cfg_rd(&b, cap + 2, 2), 0xc000 | 2);
	cr_assert(vdev_pci_msix_enabled(b.pci));
	cfg_wr(&b, cap + 2, 2, 0);
	CHECK_EQ("msix", cfg_rd(&b, cap + 2, 2), 2);
	cr_assert(!vdev_pci_msix_enabled(b.pci));
	/* Table and PBA locations are read-only. */
	cfg_wr(&b, cap + 4, 4, 0x12345674);
	cfg_wr(&b, cap + 8, 4, 0x12345674);
	CHECK_EQ("msix", cfg_rd(&b, cap + 4, 4), 0x00000001);
	CHECK_EQ("msix", cfg_rd(&b, cap + 8, 4), 0x00000801);
	bare_close(&b);
}

Test(pci_config, msi_capability_is_64bit_with_writable_enable_address_and_data)
{
	struct vdev_virtio_pci_config c = pcfg(VDEV_PCI_MODERN);
	struct bare b;
	int cap;
	uint32_t ctl;

	c.msi = true;
	bare_open(&b, c, 1);
	cap = find_cap(&b, PCIY_MSI);
	cr_assert(cap != 0, "no MSI capability");
	ctl = cfg_rd(&b, cap + 2, 2);
	cr_assert(ctl & 0x80, "MSI is not 64-bit capable: %#x", ctl);
	CHECK_EQ("msi", ctl & 1, 0);

	cfg_wr(&b, cap + 2, 2, 0xffff);
	/* Beyond enable and Multiple Message Enable (6:4) nothing changes. */
	CHECK_EQ("msi", cfg_rd(&b, cap + 2, 2) & ~0x71u, ctl & ~0x71u);
	cr_assert(cfg_rd(&b, cap + 2, 2) & 1);
	cr_assert(vdev_pci_msi_enabled(b.pci));
	cfg_wr(&b, cap + 2, 2, 0);
	cr_assert(!vdev_pci_msi_enabled(b.pci));

	cfg_wr(&b, cap + 4, 4, 0xfee01000);
	cfg_wr(&b, cap + 8, 4, 0x00000001);
	cfg_wr(&b, cap + 12, 2, 0x4321);
	CHECK_EQ("msi", cfg_rd(&b, cap + 4, 4) & ~3u, 0xfee01000);
	CHECK_EQ("msi", cfg_rd(&b, cap + 8, 4), 1);
	CHECK_EQ("msi", cfg_rd(&b, cap + 12, 2), 0x4321);
	bare_close(&b);
}

Test(pci_config, virtio_capability_bytes_are_read_only)
{
	struct bare b;
	struct cap_seen caps[32];
	int n;

	bare_open(&b, pcfg(VDEV_PCI_MODERN), 1);
	n = walk_caps(&b, caps, 32);
	for (int i = 0; i < n; i++) {
		int off = caps[i].off;
		uint32_t w0, w1, w2, w3;

		if (caps[i].id != PCIY_VENDOR || caps[i].cfg_type == VIRTIO_PCI_CAP_PCI_CFG)
			continue;
		w0 = cfg_rd(&b, off, 4);
		w1 = cfg_rd(&b, off + 4, 4);
		w2 = cfg_rd(&b, off + 8, 4);
		w3 = cfg_rd(&b, off + 12, 4);
		cfg_wr(&b, off, 4, 0xffffffff);
		cfg_wr(&b, off + 4, 4, 0x5a5a5a5a);
		cfg_wr(&b, off + 8, 4, 0xa5a5a5a5);
		cfg_wr(&b, off + 12, 1, 0x77);
		CHECK_EQ("vendor cap", cfg_rd(&b, off, 4), w0);
		CHECK_EQ("vendor cap", cfg_rd(&b, off + 4, 4), w1);
		CHECK_EQ("vendor cap", cfg_rd(&b, off + 8, 4), w2);
		CHECK_EQ("vendor cap", cfg_rd(&b, off + 12, 4), w3);
	}
	bare_close(&b);
}

/* ---------------- BARs ---------------- */

Test(pci_config, legacy_io_bar0_sizes_to_next_power_of_two_of_header_plus_config)
{
	static const enum vdev_pci_mode modes[] = {VDEV_PCI_LEGACY, VDEV_PCI_TRANSITIONAL};

	for (size_t i = 0; i < 2; i++) {
		struct bare b;
		uint32_t v;
		struct vdev_pci_bar_info info;

		bare_open(&b, pcfg(modes[i]), 1);
		/* 24 + 24 bytes of echo config -> 64 */
		v = bar_probe(&b, 0);
		CHECK_EQ("bar0", v & 3, 1);              /* I/O space indicator */
		CHECK_EQ("bar0", v & 0xffff, 0xffc1);    /* 64-byte size mask */
		cr_assert(v >> 16 == 0 || v >> 16 == 0xffff, "bar0 upper bits %#x", v);
		cr_assert_eq(vdev_pci_bar_info(b.pci, 0, &info), 0);
		CHECK_EQ("bar0", info.type, VDEV_PCI_BAR_IO);
		CHECK_EQ("bar0", info.size, 64);
		bare_close(&b);
	}
}

Test(pci_config, msix_bar1_is_4k_mem32)
{
	static const enum vdev_pci_mode modes[] = {VDEV_PCI_LEGACY, VDEV_PCI_MODERN,
						   VDEV_PCI_TRANSITIONAL};

	for (size_t i = 0; i < 3; i++) {
		struct vdev_virtio_pci_config c = pcfg(modes[i]);
		struct vdev_pci_bar_info info;
		struct bare b;

		c.msix = true;
		bare_open(&b, c, 1);
		CHECK_EQ("bar1", bar_probe(&b, 1), 0xfffff000);
		cr_assert_eq(vdev_pci_bar_info(b.pci, 1, &info), 0);
		CHECK_EQ("bar1", info.type, VDEV_PCI_BAR_MEM32);
		CHECK_EQ("bar1", info.size, 4096);
		bare_close(&b);
	}
}

Test(pci_config, modern_bar4_is_16k_mem64_with_writable_upper_dword)
{
	static const enum vdev_pci_mode modes[] = {VDEV_PCI_MODERN, VDEV_PCI_TRANSITIONAL};

	for (size_t i = 0; i < 2; i++) {
		struct vdev_pci_bar_info info;
		struct bare b;

		bare_open(&b, pcfg(modes[i]), 1);
		/* 16 KiB, 64-bit, non-prefetchable */
		CHECK_EQ("bar4", bar_probe(&b, 4), 0xffffc004);
		CHECK_EQ("bar5", bar_probe(&b, 5), 0xffffffff);
		cfg_wr(&b, PCIR_BAR(5), 4, 0x12345678);
		CHECK_EQ("bar5", cfg_rd(&b, PCIR_BAR(5), 4), 0x12345678);
		cr_assert_eq(vdev_pci_bar_info(b.pci, 4, &info), 0);
		CHECK_EQ("bar4", info.type, VDEV_PCI_BAR_MEM64);
		CHECK_EQ("bar4", info.size, 0x4000);
		bare_close(&b);
	}
}

Test(pci_config, modern_bar4_is_mem32_when_asked)
{
	struct vdev_virtio_pci_config c = pcfg(VDEV_PCI_MODERN);
	struct vdev_pci_bar_info info;
	struct bare b;

	c.mem32 = true;
	bare_open(&b, c, 1);
	CHECK_EQ("bar4", bar_probe(&b, 4), 0xffffc000);
	CHECK_EQ("bar5 unused", bar_probe(&b, 5), 0);
	cr_assert_eq(vdev_pci_bar_info(b.pci, 4, &info), 0);
	CHECK_EQ("bar4", info.type, VDEV_PCI_BAR_MEM32);
	CHECK_EQ("bar4", info.size, 0x4000);
	bare_close(&b);
}

Test(pci_config, notify_pio_bar2_is_io)
{
	struct vdev_virtio_pci_config c = pcfg(VDEV_PCI_MODERN);
	struct vdev_pci_bar_info info;
	struct bare b;
	uint32_t v;

	c.notify_pio = true;
	bare_open(&b, c, 1);
	v = bar_probe(&b, 2);
	CHECK_EQ("bar2", v & 3, 1);
	cr_assert_eq(vdev_pci_bar_info(b.pci, 2, &info), 0);
	CHECK_EQ("bar2", info.type, VDEV_PCI_BAR_IO);
	cr_assert(info.size >= 2, "I/O notify BAR too small");
	/* size from the probe agrees with bar_info */
	CHECK_EQ("bar2", (~(v & 0xfffc) + 1) & 0xffff, info.size);
	bare_close(&b);
}

Test(pci_config, unused_bars_and_expansion_rom_read_zero)
{
	struct bare b;

	bare_open(&b, pcfg(VDEV_PCI_MODERN), 1);
	/* modern without MSI-X or I/O notify: 0, 1, 2, 3 unused */
	for (int i = 0; i < 4; i++) {
		struct vdev_pci_bar_info info;

		CHECK_EQ("unused bar", bar_probe(&b, i), 0);
		cfg_wr(&b, PCIR_BAR(i), 4, 0xc0001000);
		CHECK_EQ("unused bar", cfg_rd(&b, PCIR_BAR(i), 4), 0);
		cr_assert_eq(vdev_pci_bar_info(b.pci, i, &info), 0);
		CHECK_EQ("unused bar", info.type, VDEV_PCI_BAR_NONE);
		CHECK_EQ("unused bar", info.size, 0);
	}
	cfg_wr(&b, 0x30, 4, 0xffffffff);
	CHECK_EQ("rom", cfg_rd(&b, 0x30, 4), 0);
	bare_close(&b);

	bare_open(&b, pcfg(VDEV_PCI_LEGACY), 1);
	for (int i = 1; i < 6; i++)
		CHECK_EQ("legacy unused bar", bar_probe(&b, i), 0);
	bare_close(&b);
}

Test(pci_config, bar_addresses_keep_only_bits_above_size)
{
	struct vdev_virtio_pci_config c = pcfg(VDEV_PCI_TRANSITIONAL);
	struct vdev_pci_bar_info info;
	struct bare b;

	c.msix = true;
	bare_open(&b, c, 1);
	cfg_wr(&b, PCIR_BAR(0), 4, 0xc0ff);
	CHECK_EQ("bar0", cfg_rd(&b, PCIR_BAR(0), 4) & 0xffff, 0xc0c1);
	cfg_wr(&b, PCIR_BAR(1), 4, 0xe0101fff);
	CHECK_EQ("bar1", cfg_rd(&b, PCIR_BAR(1), 4), 0xe0101000);
	cfg_wr(&b, PCIR_BAR(4), 4, 0xe0007fff);
	CHECK_EQ("bar4", cfg_rd(&b, PCIR_BAR(4), 4), 0xe0004004);
	cfg_wr(&b, PCIR_BAR(5), 4, 0x2);
	CHECK_EQ("bar5", cfg_rd(&b, PCIR_BAR(5), 4), 0x2);
	cr_assert_eq(vdev_pci_bar_info(b.pci, 4, &info), 0);
	CHECK_EQ("bar4 addr", info.addr, 0x2e0004000ULL);
	cr_assert_eq(vdev_pci_bar_info(b.pci, 0, &info), 0);
	CHECK_EQ("bar0 addr", info.addr, 0xc0c0);
	/* Byte writes into a BAR work like the dword write with the rest kept. */
	cfg_wr(&b, PCIR_BAR(1) + 3, 1, 0xd0);
	CHECK_EQ("bar1", cfg_rd(&b, PCIR_BAR(1), 4), 0xd0101000);
	bare_close(&b);
}

Test(pci_config, bar_info_rejects_bad_index)
{
	struct vdev_pci_bar_info info;
	struct bare b;

	bare_open(&b, pcfg(VDEV_PCI_MODERN), 1);
	CHECK_EQ("bar_info", vdev_pci_bar_info(b.pci, 6, &info), -EINVAL);
	CHECK_EQ("bar_info", vdev_pci_bar_info(b.pci, -1, &info), -EINVAL);
	bare_close(&b);
}

/* ---------------- read-only and writable fields ---------------- */

Test(pci_config, read_only_fields_refuse_writes)
{
	static const enum vdev_pci_mode modes[] = {VDEV_PCI_LEGACY, VDEV_PCI_MODERN,
						   VDEV_PCI_TRANSITIONAL};
	static const struct {
		int off, width;
	} ro[] = {
		{PCIR_VENDOR, 2}, {PCIR_DEVICE, 2}, {PCIR_REVID, 1}, {PCIR_PROGIF, 1},
		{PCIR_SUBCLASS, 1}, {PCIR_CLASS, 1}, {PCIR_HDRTYPE, 1}, {PCIR_SUBVEND_0, 2},
		{PCIR_SUBDEV_0, 2}, {PCIR_CAP_PTR, 1}, {PCIR_INTPIN, 1}, {0x08, 4}, {0x00, 4},
		{0x2c, 4}, {PCIR_STATUS, 2},
	};

	for (size_t m = 0; m < 3; m++) {
		struct bare b;

		bare_open(&b, pcfg(modes[m]), 1);
		for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
			uint32_t before = cfg_rd(&b, ro[i].off, ro[i].width);

			cfg_wr(&b, ro[i].off, ro[i].width, ~before);
			cr_assert_eq(cfg_rd(&b, ro[i].off, ro[i].width), before,
				     "mode %d: field at %#x (%d bytes) took a write", modes[m],
				     ro[i].off, ro[i].width);
		}
		bare_close(&b);
	}
}

Test(pci_config, command_register_keeps_only_io_mem_busmaster_intx_disable)
{
	struct bare b;

	bare_open(&b, pcfg(VDEV_PCI_TRANSITIONAL), 1);
	cfg_wr(&b, PCIR_COMMAND, 2, 0xffff);
	CHECK_EQ("command", cfg_rd(&b, PCIR_COMMAND, 2), 0x0407);
	cfg_wr(&b, PCIR_COMMAND, 2, PCIM_CMD_MEMEN);
	CHECK_EQ("command", cfg_rd(&b, PCIR_COMMAND, 2), PCIM_CMD_MEMEN);
	cfg_wr(&b, PCIR_COMMAND, 2, 0);
	CHECK_EQ("command", cfg_rd(&b, PCIR_COMMAND, 2), 0);
	/* A dword write at 0x04 touches command but never status. */
	{
		uint32_t st = cfg_rd(&b, PCIR_STATUS, 2);

		cfg_wr(&b, PCIR_COMMAND, 4, 0xffff0005);
		CHECK_EQ("command", cfg_rd(&b, PCIR_COMMAND, 2), 0x0005);
		CHECK_EQ("status", cfg_rd(&b, PCIR_STATUS, 2), st);
	}
	bare_close(&b);
}

Test(pci_config, cache_line_latency_and_interrupt_line_are_read_write)
{
	struct bare b;

	bare_open(&b, pcfg(VDEV_PCI_MODERN), 1);
	cfg_wr(&b, 0x0c, 1, 0x10);
	cfg_wr(&b, 0x0d, 1, 0x40);
	cfg_wr(&b, PCIR_INTLINE, 1, 0x0b);
	CHECK_EQ("cache line", cfg_rd(&b, 0x0c, 1), 0x10);
	CHECK_EQ("latency", cfg_rd(&b, 0x0d, 1), 0x40);
	CHECK_EQ("intline", cfg_rd(&b, PCIR_INTLINE, 1), 0x0b);
	CHECK_EQ("intpin", cfg_rd(&b, PCIR_INTPIN, 1), 1);
	bare_close(&b);
}

/* ---------------- malformed accesses ---------------- */

Test(pci_config, misaligned_and_oversized_accesses_fail_with_all_ones)
{
	static const struct {
		int off, width;
	} bad[] = {
		{1, 2}, {3, 2}, {2, 4}, {1, 4}, {0, 3}, {0, 8}, {0, 0}, {-1, 1}, {-4, 4},
		{4096, 1}, {4096, 4}, {8192, 2}, {0x101, 2}, {0xffe, 4},
	};
	struct vdev_pci_stats st0, st1;
	struct bare b;

	bare_open(&b, pcfg(VDEV_PCI_MODERN), 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t v = 0x12;
		uint32_t cmd = cfg_rd(&b, PCIR_COMMAND, 2);
		int rc;

		vdev_pci_get_stats(b.pci, &st0);
		rc = vdev_pci_cfgread(b.pci, bad[i].off, bad[i].width, &v);
		cr_assert_eq(rc, -EINVAL, "read(%d, %d) = %d", bad[i].off, bad[i].width, rc);
		if (bad[i].width == 1 || bad[i].width == 2)
			cr_assert_eq(v & ((1u << (8 * bad[i].width)) - 1),
				     (1u << (8 * bad[i].width)) - 1,
				     "read(%d, %d) gave %#x", bad[i].off, bad[i].width, v);
		else if (bad[i].width == 3)
			cr_assert_eq(v & 0xffffff, 0xffffff, "3-byte read gave %#x", v);
		else
			cr_assert_eq(v, 0xffffffff, "read(%d, %d) gave %#x", bad[i].off,
				     bad[i].width, v);
		rc = vdev_pci_cfgwrite(b.pci, bad[i].off, bad[i].width, 0xffffffff);
		cr_assert_eq(rc, -EINVAL, "write(%d, %d) = %d", bad[i].off, bad[i].width, rc);
		vdev_pci_get_stats(b.pci, &st1);
		cr_assert(st1.bad_accesses >= st0.bad_accesses + 2,
			  "malformed access (%d, %d) not counted", bad[i].off, bad[i].width);
		/* The misaligned write at 2/4 must not have reached the command register. */
		CHECK_EQ("command", cfg_rd(&b, PCIR_COMMAND, 2), cmd);
	}
	bare_close(&b);
}

Test(pci_config, extended_space_reads_zero_and_ignores_writes)
{
	static const int offs[] = {0x100, 0x104, 0x200, 0xffc};
	struct bare b;

	bare_open(&b, pcfg(VDEV_PCI_MODERN), 1);
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		uint32_t v = 0x55;

		CHECK_EQ("ext read", vdev_pci_cfgread(b.pci, offs[i], 4, &v), 0);
		CHECK_EQ("ext", v, 0);
		CHECK_EQ("ext write", vdev_pci_cfgwrite(b.pci, offs[i], 4, 0xffffffff), 0);
		CHECK_EQ("ext", cfg_rd(&b, offs[i], 4), 0);
		CHECK_EQ("ext byte", cfg_rd(&b, offs[i] + 3, 1), 0);
	}
	/* No extended capability header: Linux stops at offset 0x100 reading 0. */
	CHECK_EQ("ext cap header", cfg_rd(&b, 0x100, 4), 0);
	bare_close(&b);
}

/* ---------------- BAR lookup ---------------- */

Test(pci_config, bar_lookup_follows_programmed_bars_and_decode_bits)
{
	struct vdev_virtio_pci_config c = pcfg(VDEV_PCI_TRANSITIONAL);
	struct vdev_pci_bar_info info;
	struct bare b;
	int bar = -1;
	uint64_t off = ~0ULL;

	c.msix = true;
	bare_open(&b, c, 1);
	/* Nothing decodes before the command register says so. */
	CHECK_EQ("lookup", vdev_pci_bar_lookup(b.pci, false, 0, 4, &bar, &off), -ENOENT);

	cfg_wr(&b, PCIR_BAR(0), 4, 0xc040);
	cfg_wr(&b, PCIR_BAR(1), 4, 0xe0100000);
	cfg_wr(&b, PCIR_BAR(4), 4, 0xe0000000);
	cfg_wr(&b, PCIR_BAR(5), 4, 0x1);
	CHECK_EQ("lookup no decode", vdev_pci_bar_lookup(b.pci, false, 0x1e0001000ULL, 1, &bar, &off),
		 -ENOENT);
	CHECK_EQ("lookup no decode", vdev_pci_bar_lookup(b.pci, true, 0xc050, 1, &bar, &off),
		 -ENOENT);
	cr_assert_eq(vdev_pci_bar_info(b.pci, 4, &info), 0);
	cr_assert(!info.decode);

	cfg_wr(&b, PCIR_COMMAND, 2, PCIM_CMD_PORTEN | PCIM_CMD_MEMEN);
	cr_assert_eq(vdev_pci_bar_info(b.pci, 4, &info), 0);
	cr_assert(info.decode);
	CHECK_EQ("bar4 addr", info.addr, 0x1e0000000ULL);

	CHECK_EQ("mem lookup", vdev_pci_bar_lookup(b.pci, false, 0x1e0001000ULL, 1, &bar, &off), 0);
	CHECK_EQ("mem lookup", bar, 4);
	CHECK_EQ("mem lookup", off, 0x1000);
	CHECK_EQ("mem lookup end", vdev_pci_bar_lookup(b.pci, false, 0x1e0003ffcULL, 4, &bar, &off),
		 0);
	CHECK_EQ("mem lookup end", off, 0x3ffc);
	/* An access straddling the end of a BAR is not inside it. */
	CHECK_EQ("straddle", vdev_pci_bar_lookup(b.pci, false, 0x1e0003ffeULL, 4, &bar, &off),
		 -ENOENT);
	CHECK_EQ("past end", vdev_pci_bar_lookup(b.pci, false, 0x1e0004000ULL, 1, &bar, &off),
		 -ENOENT);
	/* The 32-bit address alone is not the BAR: the upper dword counts. */
	CHECK_EQ("upper dword", vdev_pci_bar_lookup(b.pci, false, 0xe0000000ULL, 4, &bar, &off),
		 -ENOENT);

	CHECK_EQ("msix lookup", vdev_pci_bar_lookup(b.pci, false, 0xe0100808ULL, 8, &bar, &off), 0);
	CHECK_EQ("msix lookup", bar, 1);
	CHECK_EQ("msix lookup", off, 0x808);

	CHECK_EQ("io lookup", vdev_pci_bar_lookup(b.pci, true, 0xc052, 2, &bar, &off), 0);
	CHECK_EQ("io lookup", bar, 0);
	CHECK_EQ("io lookup", off, 0x12);
	/* Spaces do not mix: the I/O address is not found as memory and vice versa. */
	CHECK_EQ("io as mem", vdev_pci_bar_lookup(b.pci, false, 0xc052, 2, &bar, &off), -ENOENT);
	CHECK_EQ("mem as io", vdev_pci_bar_lookup(b.pci, true, 0xe0100000ULL, 4, &bar, &off),
		 -ENOENT);

	/* Turning decode off again (memory only) hides memory BARs but not I/O. */
	cfg_wr(&b, PCIR_COMMAND, 2, PCIM_CMD_PORTEN);
	CHECK_EQ("mem off", vdev_pci_bar_lookup(b.pci, false, 0x1e0001000ULL, 1, &bar, &off),
		 -ENOENT);
	CHECK_EQ("io still on", vdev_pci_bar_lookup(b.pci, true, 0xc052, 2, &bar, &off), 0);
	cfg_wr(&b, PCIR_COMMAND, 2, PCIM_CMD_MEMEN);
	CHECK_EQ("io off", vdev_pci_bar_lookup(b.pci, true, 0xc052, 2, &bar, &off), -ENOENT);

	/* Reprogramming moves the BAR. */
	cfg_wr(&b, PCIR_BAR(1), 4, 0xe0200000);
	CHECK_EQ("moved", vdev_pci_bar_lookup(b.pci, false, 0xe0100000ULL, 4, &bar, &off), -ENOENT);
	CHECK_EQ("moved", vdev_pci_bar_lookup(b.pci, false, 0xe0200010ULL, 4, &bar, &off), 0);
	CHECK_EQ("moved", bar, 1);
	CHECK_EQ("moved", off, 0x10);
	bare_close(&b);
}

Test(pci_config, bar_lookup_after_driver_programmed_the_function)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		int bar = -1;
		uint64_t off = 0, base;
		uint32_t cmd;

		open_combo(&h, c, NULL);
		if (c->mode != VDEV_PCI_LEGACY) {
			base = vdev_drv_bar_addr(h.drv, 4);
			cr_assert(base != 0, "%s: BAR 4 not programmed", c->name);
			CHECK_EQ(c->name,
				 vdev_pci_bar_lookup(echo_dev_pci(h.dev), false, base + 0x2004, 4,
						     &bar, &off),
				 0);
			CHECK_EQ(c->name, bar, 4);
			CHECK_EQ(c->name, off, 0x2004);
		}
		if (c->access == VDEV_DRV_LEGACY) {
			base = vdev_drv_bar_addr(h.drv, 0);
			cr_assert(base != 0, "%s: BAR 0 not programmed", c->name);
			CHECK_EQ(c->name,
				 vdev_pci_bar_lookup(echo_dev_pci(h.dev), true, base + 18, 1, &bar,
						     &off),
				 0);
			CHECK_EQ(c->name, bar, 0);
			CHECK_EQ(c->name, off, 18);
		}
		/* With decoding off, nothing resolves. */
		cmd = vdev_drv_pci_read(h.drv, PCIR_COMMAND, 2);
		vdev_drv_pci_write(h.drv, PCIR_COMMAND, 2, cmd & ~(PCIM_CMD_PORTEN | PCIM_CMD_MEMEN));
		if (c->mode != VDEV_PCI_LEGACY)
			CHECK_EQ(c->name,
				 vdev_pci_bar_lookup(echo_dev_pci(h.dev), false,
						     vdev_drv_bar_addr(h.drv, 4), 4, &bar, &off),
				 -ENOENT);
		if (c->mode != VDEV_PCI_MODERN)
			CHECK_EQ(c->name,
				 vdev_pci_bar_lookup(echo_dev_pci(h.dev), true,
						     vdev_drv_bar_addr(h.drv, 0), 1, &bar, &off),
				 -ENOENT);
		harness_close(&h);
	}
}
