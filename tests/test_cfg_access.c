/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The PCI cfg-access capability (VIRTIO_PCI_CAP_PCI_CFG): a window in configuration
 * space that performs BAR accesses, used by firmware before BARs are mapped
 * (docs/behaviour.md, "The PCI cfg-access capability"). libvdev really performs the
 * access, unlike ACRN, so every region must be reachable through it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "test_util.h"

static uint32_t pcird(struct pci_vdev *p, int off, int width)
{
	uint32_t v = 0;

	cr_assert_eq(vdev_pci_cfgread(p, off, width, &v), 0, "cfgread(%#x, %d)", off, width);
	return v;
}

static void pciwr(struct pci_vdev *p, int off, int width, uint32_t v)
{
	cr_assert_eq(vdev_pci_cfgwrite(p, off, width, v), 0, "cfgwrite(%#x, %d)", off, width);
}

/* Find the capability as Linux would: walk the list for vendor cap with cfg_type 5. */
static int find_window(struct pci_vdev *p)
{
	int pos = pcird(p, PCIR_CAP_PTR, 1), ttl = 48;

	while (pos >= 0x40 && ttl--) {
		pos &= ~3;
		if (pcird(p, pos, 1) == PCIY_VENDOR &&
		    pcird(p, pos + 3, 1) == VIRTIO_PCI_CAP_PCI_CFG)
			return pos;
		pos = pcird(p, pos + 1, 1);
	}
	return 0;
}

static void win_set(struct pci_vdev *p, int w, uint8_t bar, uint32_t off, uint32_t len)
{
	pciwr(p, w + 4, 1, bar);
	pciwr(p, w + 8, 4, off);
	pciwr(p, w + 12, 4, len);
}

/* A read through the window, with a config access as wide as the window (as SeaBIOS). */
static uint32_t win_rd(struct pci_vdev *p, int w, uint8_t bar, uint32_t off, uint32_t len)
{
	win_set(p, w, bar, off, len);
	return pcird(p, w + 16, (len == 1 || len == 2) ? (int)len : 4);
}

static void win_wr(struct pci_vdev *p, int w, uint8_t bar, uint32_t off, uint32_t len, uint32_t v)
{
	win_set(p, w, bar, off, len);
	pciwr(p, w + 16, (len == 1 || len == 2) ? (int)len : 4, v);
}

/* One 40-byte echo request (bytes 0, 7, 14, ...), checked. */
static void roundtrip(const char *ctx, struct harness *h, uint16_t q)
{
	echo_roundtrip(ctx, h, q, 40, 0, 7);
}

/* Open the combo and find its cfg-access window (0 if there is none); *p is the function. */
static int open_window(struct harness *h, const struct fx_mode *c,
		       const struct echo_dev_config *e, struct pci_vdev **p)
{
	open_combo(h, c, e);
	*p = echo_dev_pci(h->dev);
	return find_window(*p);
}

/* ---------------- the capability itself ---------------- */

Test(cfg_access, capability_layout_and_writable_fields)
{
	FOR_EACH_MODERN(c)
	{
		struct harness h;
		struct pci_vdev *p;
		int w;
		uint32_t hdr;

		w = open_window(&h, c, NULL, &p);
		cr_assert(w > 0, "%s: no cfg-access capability", c->name);
		CHECK_EQ(c->name, vdev_drv_find_cap(h.drv, PCIY_VENDOR, VIRTIO_PCI_CAP_PCI_CFG), w);
		CHECK_EQ(c->name, pcird(p, w + 2, 1), 20);   /* cap_len */
		hdr = pcird(p, w, 4);

		win_set(p, w, 4, 0x1234, 2);
		CHECK_EQ(c->name, pcird(p, w + 4, 1), 4);
		CHECK_EQ(c->name, pcird(p, w + 8, 4), 0x1234);
		CHECK_EQ(c->name, pcird(p, w + 12, 4), 2);
		win_set(p, w, 1, 0xfffffff0, 0xffffffff);
		CHECK_EQ(c->name, pcird(p, w + 4, 1), 1);
		CHECK_EQ(c->name, pcird(p, w + 8, 4), 0xfffffff0);
		CHECK_EQ(c->name, pcird(p, w + 12, 4), 0xffffffff);
		/* vndr, next, len and cfg_type stay put */
		pciwr(p, w, 4, 0);
		CHECK_EQ(c->name, pcird(p, w, 4), hdr);
		harness_close(&h);
	}
}

Test(cfg_access, capability_absent_when_configured_out)
{
	struct echo_dev_config e = {0};
	struct vdev_sim_config sc = {.size = sizeof(struct vdev_sim_config), .ram_size = 1 << 20};
	struct vdev_drv_config dc = {.size = sizeof(struct vdev_drv_config),
				     .access = VDEV_DRV_MODERN_CFGACCESS};
	struct vdev_sim *sim;
	struct echo_dev *dev;
	struct vdev_drv *drv = NULL;

	e.pci.mode = VDEV_PCI_MODERN;
	e.pci.no_cfg_access = true;
	cr_assert_eq(vdev_sim_create(&sc, &sim), 0);
	cr_assert_eq(echo_dev_create(vdev_sim_vmctx(sim), "echo0", &e, &dev), 0);
	CHECK_EQ("no cfg access", find_window(echo_dev_pci(dev)), 0);
	/* A driver that needs the window finds nothing to use. */
	CHECK_EQ("no cfg access", vdev_drv_open(sim, echo_dev_pci(dev), &dc, &drv), -ENODEV);
	echo_dev_destroy(dev);
	vdev_sim_destroy(sim);
}

/* ---------------- accesses through the window ---------------- */

Test(cfg_access, window_reads_common_config)
{
	FOR_EACH_MODERN(c)
	{
		struct echo_dev_config e = {.nvq = 3};
		struct harness h;
		struct pci_vdev *p;
		int w;

		w = open_window(&h, c, &e, &p);
		cr_assert(w > 0);
		CHECK_EQ(c->name, win_rd(p, w, 4, VIRTIO_COMMON_NUMQ, 2), 3);
		win_wr(p, w, 4, VIRTIO_COMMON_DFSELECT, 4, 0);
		CHECK_EQ(c->name, win_rd(p, w, 4, VIRTIO_COMMON_DF, 4), MODERN_OFFER_LO);
		CHECK_EQ(c->name, win_rd(p, w, 4, VIRTIO_COMMON_STATUS, 1), 0);
		vdev_drv_write_status(h.drv, VIRTIO_CR_STATUS_ACK);
		CHECK_EQ(c->name, win_rd(p, w, 4, VIRTIO_COMMON_STATUS, 1), VIRTIO_CR_STATUS_ACK);
		/* queue_size of queue 0 */
		win_wr(p, w, 4, VIRTIO_COMMON_Q_SELECT, 2, 0);
		CHECK_EQ(c->name, win_rd(p, w, 4, VIRTIO_COMMON_Q_SIZE, 2), 256);
		/* A read with a config access of width 4 still yields the 2 bytes. */
		win_set(p, w, 4, VIRTIO_COMMON_NUMQ, 2);
		CHECK_EQ(c->name, pcird(p, w + 16, 4) & 0xffff, 3);
		harness_close(&h);
	}
}

Test(cfg_access, window_writes_common_config)
{
	FOR_EACH_MODERN(c)
	{
		struct echo_dev_config e = {.nvq = 3};
		struct harness h;
		struct pci_vdev *p;
		int w;

		w = open_window(&h, c, &e, &p);
		win_wr(p, w, 4, VIRTIO_COMMON_Q_SELECT, 2, 2);
		CHECK_EQ(c->name, h.dev->base.curq, 2);
		CHECK_EQ(c->name, vdev_drv_region_read(h.drv, VDEV_DRV_REGION_COMMON,
						       VIRTIO_COMMON_Q_SELECT, 2), 2);
		CHECK_EQ(c->name, win_rd(p, w, 4, VIRTIO_COMMON_Q_NOFF, 2), 2);
		win_wr(p, w, 4, VIRTIO_COMMON_DFSELECT, 4, 1);
		CHECK_EQ(c->name, win_rd(p, w, 4, VIRTIO_COMMON_DF, 4), 1); /* VERSION_1 */
		win_wr(p, w, 4, VIRTIO_COMMON_STATUS, 1, VIRTIO_CR_STATUS_ACK);
		CHECK_EQ(c->name, vdev_drv_read_status(h.drv), VIRTIO_CR_STATUS_ACK);
		harness_close(&h);
	}
}

Test(cfg_access, window_reads_and_writes_device_config)
{
	FOR_EACH_MODERN(c)
	{
		struct harness h;
		struct pci_vdev *p;
		int w;
		uint32_t v;

		w = open_window(&h, c, NULL, &p);
		CHECK_EQ(c->name, win_rd(p, w, 4, VIRTIO_CAP_DEVICE_OFFSET + ECHO_CFG_ID, 4),
			 0x76656476);
		CHECK_EQ(c->name, win_rd(p, w, 4, VIRTIO_CAP_DEVICE_OFFSET + ECHO_CFG_ID + 4, 1), 'e');
		win_wr(p, w, 4, VIRTIO_CAP_DEVICE_OFFSET + ECHO_CFG_SCRATCH, 4, 0xabcd1234);
		memcpy(&v, h.dev->cfg + ECHO_CFG_SCRATCH, 4);
		CHECK_EQ(c->name, v, 0xabcd1234);
		win_wr(p, w, 4, VIRTIO_CAP_DEVICE_OFFSET + ECHO_CFG_SCRATCH + 2, 2, 0x5555);
		CHECK_EQ(c->name, win_rd(p, w, 4, VIRTIO_CAP_DEVICE_OFFSET + ECHO_CFG_SCRATCH, 4),
			 0x55551234);
		CHECK_EQ(c->name, vdev_drv_read_config32(h.drv, ECHO_CFG_SCRATCH), 0x55551234);
		harness_close(&h);
	}
}

Test(cfg_access, window_notify_delivers_a_kick)
{
	FOR_EACH_MODERN(c)
	{
		struct echo_dev_config e = {.nvq = 2};
		struct harness h;
		struct pci_vdev *p;
		int w, token;
		void *in, *out, *tok;
		uint32_t len;

		w = open_window(&h, c, &e, &p);
		cr_assert_eq(harness_ready(&h, ECHO_F_TEST, 0), 0, "%s: ready", c->name);
		out = enqueue_inout(c->name, &h, 1, 12, &token, &in);
		memcpy(in, "through-cfg!", 12);
		win_wr(p, w, 4, VIRTIO_CAP_NOTIFY_OFFSET + 4 * 1, 2, 1);
		CHECK_EQ(c->name, h.dev->kicks, 1);
		CHECK_EQ(c->name, vdev_drv_dequeue(h.drv, 1, &tok, &len), 1);
		CHECK_EQ(c->name, len, 12);
		cr_assert(memcmp(out, "through-cfg!", 12) == 0, "%s: not echoed", c->name);
		harness_close(&h);
	}
}

Test(cfg_access, window_isr_read_clears_it)
{
	FOR_EACH_MODERN(c)
	{
		struct harness h;
		struct pci_vdev *p;
		int w;
		struct vdev_sim_irqs irq;

		w = open_window(&h, c, NULL, &p);
		cr_assert_eq(harness_ready(&h, ECHO_F_TEST, 0), 0);
		echo_dev_host_set_scratch(h.dev, 1);
		vdev_sim_get_irqs(h.sim, &irq);
		CHECK_EQ(c->name, irq.intx_level, 1);
		CHECK_EQ(c->name, win_rd(p, w, 4, VIRTIO_CAP_ISR_OFFSET, 1), VIRTIO_CR_ISR_CONF_CHANGED);
		vdev_sim_get_irqs(h.sim, &irq);
		CHECK_EQ(c->name, irq.intx_level, 0);
		CHECK_EQ(c->name, win_rd(p, w, 4, VIRTIO_CAP_ISR_OFFSET, 1), 0);
		CHECK_EQ(c->name, vdev_drv_read_isr(h.drv), 0);
		harness_close(&h);
	}
}

Test(cfg_access, window_reaches_legacy_and_msix_bars_of_transitional_function)
{
	struct harness h;
	struct pci_vdev *p;
	int w;

	cr_assert_eq(harness_open_msix(&h, VDEV_PCI_TRANSITIONAL, VDEV_DRV_MODERN), 0);
	p = echo_dev_pci(h.dev);
	w = find_window(p);
	cr_assert(w > 0);
	/* BAR 0 is the legacy header: QNUM of queue 0. */
	CHECK_EQ("legacy bar", win_rd(p, w, 0, VIRTIO_CR_QNUM, 2), 256);
	/* BAR 1 is the MSI-X table: write and read back entry 1's data. */
	win_wr(p, w, 1, 16 + 8, 4, 0x7777);
	CHECK_EQ("msix bar", win_rd(p, w, 1, 16 + 8, 4), 0x7777);
	CHECK_EQ("msix bar", virtio_pci_read(vdev_sim_vmctx(h.sim), 0, p, 1, 16 + 8, 4), 0x7777);
	harness_close(&h);
}

/* ---------------- refused window accesses ---------------- */

/* Store a pattern with invalid parameters, then read: the pattern comes back. */
static void expect_window_refused(const char *ctx, struct harness *h, uint8_t bar, uint32_t off,
				  uint32_t len)
{
	struct pci_vdev *p = echo_dev_pci(h->dev);
	int w = find_window(p);
	uint64_t before;
	uint32_t dfsel = (uint32_t)vdev_drv_region_read(h->drv, VDEV_DRV_REGION_COMMON,
							VIRTIO_COMMON_DFSELECT, 4);

	win_set(p, w, bar, off, len);
	pciwr(p, w + 16, 4, 0xa5a5a5a5);
	before = refusals(h);
	cr_assert_eq(pcird(p, w + 16, 4), 0xa5a5a5a5,
		     "%s: bar %u off %#x len %u: read did not return the stored bytes", ctx, bar,
		     off, len);
	cr_assert(refusals(h) > before, "%s: bar %u off %#x len %u: refusal not counted", ctx, bar,
		  off, len);
	/* The BAR write did not happen either. */
	CHECK_EQ(ctx, vdev_drv_region_read(h->drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_DFSELECT, 4),
		 dfsel);
	CHECK_EQ(ctx, vdev_drv_read_status(h->drv), 0);
}

Test(cfg_access, window_invalid_length_is_refused)
{
	static const uint32_t lens[] = {0, 3, 8, 5, 0x100, 0xffffffff};

	FOR_EACH_MODERN(c)
	{
		struct harness h;

		open_combo(&h, c, NULL);
		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			expect_window_refused(c->name, &h, 4, VIRTIO_COMMON_DFSELECT, lens[i]);
			expect_window_refused(c->name, &h, 4, VIRTIO_COMMON_STATUS, lens[i]);
		}
		harness_close(&h);
	}
}

Test(cfg_access, window_misaligned_offset_is_refused)
{
	static const struct {
		uint32_t off, len;
	} bad[] = {{VIRTIO_COMMON_DFSELECT + 1, 2}, {VIRTIO_COMMON_DFSELECT + 2, 4},
		   {VIRTIO_COMMON_STATUS - 1, 2}, {VIRTIO_COMMON_DFSELECT + 1, 4}};

	FOR_EACH_MODERN(c)
	{
		struct harness h;

		open_combo(&h, c, NULL);
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			expect_window_refused(c->name, &h, 4, bad[i].off, bad[i].len);
		harness_close(&h);
	}
}

Test(cfg_access, window_bar_that_does_not_exist_is_refused)
{
	FOR_EACH_MODERN(c)
	{
		struct harness h;

		open_combo(&h, c, NULL);
		/* no MSI-X, no I/O notify: BARs 1, 2, 3 do not exist; 6+ never */
		expect_window_refused(c->name, &h, 2, 0, 4);
		expect_window_refused(c->name, &h, 3, 0, 4);
		expect_window_refused(c->name, &h, 6, 0, 4);
		expect_window_refused(c->name, &h, 0xff, 0, 1);
		if (c->mode == VDEV_PCI_MODERN)
			expect_window_refused(c->name, &h, 0, VIRTIO_CR_STATUS, 1);
		harness_close(&h);
	}
}

Test(cfg_access, window_past_bar_end_does_nothing)
{
	FOR_EACH_MODERN(c)
	{
		struct harness h;
		struct pci_vdev *p;
		int w;

		w = open_window(&h, c, NULL, &p);
		win_wr(p, w, 4, VIRTIO_MODERN_MEM_BAR_SIZE, 4, 0xffffffff);
		win_wr(p, w, 4, 0xfffffffc, 4, 0xffffffff);
		CHECK_EQ(c->name, vdev_drv_read_status(h.drv), 0);
		CHECK_EQ(c->name, win_rd(p, w, 4, VIRTIO_COMMON_NUMQ, 2), 1);
		harness_close(&h);
	}
}

/* ---------------- whole-device use ---------------- */

Test(cfg_access, request_roundtrip_with_no_bar_decoding)
{
	static const enum vdev_pci_mode modes[] = {VDEV_PCI_MODERN, VDEV_PCI_TRANSITIONAL};

	for (int m = 0; m < 2; m++) {
		const char *n = modes[m] == VDEV_PCI_MODERN ? "modern" : "transitional";
		struct echo_dev_config e = {.nvq = 2};
		struct harness h;
		uint32_t cmd;
		struct vdev_pci_bar_info info;
		struct vdev_sim_irqs irq;

		cr_assert_eq(harness_open(&h, modes[m], VDEV_DRV_MODERN_CFGACCESS, &e), 0, "%s", n);
		cmd = vdev_drv_pci_read(h.drv, PCIR_COMMAND, 2);
		vdev_drv_pci_write(h.drv, PCIR_COMMAND, 2,
				   cmd & ~(uint32_t)(PCIM_CMD_PORTEN | PCIM_CMD_MEMEN));
		cr_assert_eq(vdev_pci_bar_info(echo_dev_pci(h.dev), 4, &info), 0);
		cr_assert(!info.decode, "%s: BAR 4 still decoding", n);

		cr_assert_eq(harness_ready(&h, ECHO_F_TEST | VIRTIO_RING_F_INDIRECT_DESC, 0), 0,
			     "%s: ready through the window", n);
		CHECK_EQ(n, h.dev->base.negotiated_caps,
			 ECHO_F_TEST | VIRTIO_RING_F_INDIRECT_DESC | VIRTIO_F_VERSION_1);
		roundtrip(n, &h, 0);
		roundtrip(n, &h, 1);
		echo_dev_host_set_scratch(h.dev, 1);
		cr_assert(vdev_drv_read_isr(h.drv) & VIRTIO_CR_ISR_CONF_CHANGED, "%s: ISR", n);
		vdev_sim_get_irqs(h.sim, &irq);
		CHECK_EQ(n, irq.intx_level, 0);
		CHECK_EQ(n, vdev_drv_read_config64(h.drv, ECHO_CFG_ID), ECHO_ID_LE64);
		vdev_drv_write_config32(h.drv, ECHO_CFG_SCRATCH, 77);
		CHECK_EQ(n, vdev_drv_read_config32(h.drv, ECHO_CFG_SCRATCH), 77);
		/* and a reset through the window too */
		cr_assert_eq(vdev_drv_reset(h.drv), 0);
		CHECK_EQ(n, h.dev->base.status, 0);
		cr_assert_eq(harness_ready(&h, ECHO_F_TEST, 0), 0);
		roundtrip(n, &h, 0);
		harness_close(&h);
	}
}

Test(cfg_access, window_works_before_bars_are_programmed)
{
	struct echo_dev_config e = {.nvq = 2};
	struct vdev_sim_config sc = {.size = sizeof(struct vdev_sim_config), .ram_size = 1 << 20};
	struct vdev_sim *sim;
	struct echo_dev *dev;
	struct pci_vdev *p;
	int w;

	e.pci.mode = VDEV_PCI_MODERN;
	cr_assert_eq(vdev_sim_create(&sc, &sim), 0);
	cr_assert_eq(echo_dev_create(vdev_sim_vmctx(sim), "echo0", &e, &dev), 0);
	p = echo_dev_pci(dev);
	CHECK_EQ("fresh", pcird(p, PCIR_BAR(4), 4) & ~0xfu, 0);
	CHECK_EQ("fresh", pcird(p, PCIR_COMMAND, 2), 0);
	w = find_window(p);
	cr_assert(w > 0);
	CHECK_EQ("fresh", win_rd(p, w, 4, VIRTIO_COMMON_NUMQ, 2), 2);
	win_wr(p, w, 4, VIRTIO_COMMON_STATUS, 1, VIRTIO_CR_STATUS_ACK);
	CHECK_EQ("fresh", dev->base.status, VIRTIO_CR_STATUS_ACK);
	CHECK_EQ("fresh", win_rd(p, w, 4, VIRTIO_CAP_DEVICE_OFFSET + ECHO_CFG_ID, 2), 0x6476);
	echo_dev_destroy(dev);
	vdev_sim_destroy(sim);
}
