/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libvdev end to end, in one process: a small entropy-style device written against
 * the ACRN-compatible API, served in every PCI mode to the in-tree driver peer, which
 * enumerates it as a PCI core would, negotiates, sets up a queue and sends requests.
 * Prints what the guest side saw.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vdev/driver.h>
#include <vdev/vdev.h>

#define DEMO_QSIZE 64
#define DEMO_REQUESTS 1000

/* The device: fills every writable buffer with a xorshift stream. */
struct demo_rng {
	struct virtio_base base;
	struct virtio_vq_info vq;
	uint64_t state;
	uint64_t bytes;
};

static void rng_reset(void *softc)
{
	virtio_reset_dev(&((struct demo_rng *)softc)->base);
}

static void rng_fill(struct demo_rng *rng, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		rng->state ^= rng->state << 13;
		rng->state ^= rng->state >> 7;
		rng->state ^= rng->state << 17;
		p[i] = (uint8_t)rng->state;
	}
	rng->bytes += n;
}

static void rng_notify(void *softc, struct virtio_vq_info *vq)
{
	struct demo_rng *rng = softc;
	struct iovec iov[8];
	uint16_t flags[8], head;
	int n;

	while ((n = vq_getchain(vq, &head, iov, 8, flags)) > 0) {
		uint32_t len = 0;
		for (int i = 0; i < n; i++) {
			if (!(flags[i] & VRING_DESC_F_WRITE))
				continue; /* an entropy device has nothing to read */
			rng_fill(rng, iov[i].iov_base, iov[i].iov_len);
			len += (uint32_t)iov[i].iov_len;
		}
		vq_relchain(vq, head, len);
	}
	vq_endchains(vq, 1);
}

static const struct virtio_ops rng_ops = {
	.name = "demo-rng",
	.nvq = 1,
	.cfgsize = 0,
	.reset = rng_reset,
	.qnotify = rng_notify,
	.hv_caps = VIRTIO_RING_F_INDIRECT_DESC | VIRTIO_RING_F_EVENT_IDX,
};

static int run_mode(enum vdev_pci_mode mode, enum vdev_drv_access access, bool msix,
		    const char *label)
{
	struct vdev_sim_config scfg = {.size = sizeof(struct vdev_sim_config), .ram_size = 8 << 20};
	struct vdev_virtio_pci_config layout = {.mode = mode, .msix = msix};
	struct vdev_drv_config dcfg = {.size = sizeof(struct vdev_drv_config),
				       .access = access, .use_msix = msix};
	struct demo_rng rng = {.vq = {.qsize = DEMO_QSIZE}, .state = 0x9e3779b97f4a7c15ULL};
	struct vdev_sim *sim;
	struct pci_vdev *pci;
	struct vdev_drv *drv;
	struct vdev_sim_irqs irqs;
	struct vdev_virtio_stats st;
	uint64_t features, buf;
	int done = 0, rc;

	if ((rc = vdev_sim_create(&scfg, &sim)) < 0)
		return rc;
	if ((rc = vdev_pci_create(vdev_sim_vmctx(sim), "rng0", &pci)) < 0)
		goto out_sim;
	virtio_linkup(&rng.base, &rng_ops, &rng, pci, &rng.vq);
	if ((rc = vdev_virtio_pci_init(&rng.base, VIRTIO_TYPE_ENTROPY, &layout)) < 0 ||
	    (rc = vdev_drv_open(sim, pci, &dcfg, &drv)) < 0)
		goto out_pci;
	if ((rc = vdev_drv_negotiate(drv, ~0ULL, &features)) < 0 ||
	    (rc = vdev_drv_queue_setup(drv, 0, 0, msix ? 1 : VIRTIO_MSI_NO_VECTOR)) < 0 ||
	    (rc = vdev_drv_driver_ok(drv)) < 0)
		goto out_drv;
	buf = vdev_sim_alloc(sim, 4096, 64);
	for (int i = 0; i < DEMO_REQUESTS; i++) {
		struct vdev_drv_seg seg = {buf, 256, true};
		void *token;
		uint32_t len;

		if (vdev_drv_enqueue(drv, 0, &seg, 1, i % 2 == 1, NULL) < 0)
			break;
		vdev_drv_notify(drv, 0);
		/* What an INTx handler does first: read (and so clear) the ISR. */
		if (!msix)
			vdev_drv_read_isr(drv);
		while (vdev_drv_dequeue(drv, 0, &token, &len) == 1)
			done += len == 256;
	}
	vdev_sim_get_irqs(sim, &irqs);
	vdev_virtio_get_stats(&rng.base, &st);
	printf("%-28s %04x:%04x rev %u  features 0x%09llx  queue %u  "
	       "%d/%d requests ok  %llu bytes  %llu interrupts (%s)\n",
	       label, vdev_drv_pci_read(drv, PCIR_VENDOR, 2), vdev_drv_pci_read(drv, PCIR_DEVICE, 2),
	       vdev_drv_pci_read(drv, PCIR_REVID, 1), (unsigned long long)features,
	       vdev_drv_queue_size(drv, 0), done, DEMO_REQUESTS, (unsigned long long)rng.bytes,
	       (unsigned long long)(msix ? irqs.msi_count : irqs.intx_raises),
	       msix ? "MSI-X" : "INTx");
	rc = done == DEMO_REQUESTS && st.guest_errors == 0 ? 0 : -EIO;
out_drv:
	vdev_drv_close(drv);
out_pci:
	vdev_virtio_release(&rng.base);
	vdev_pci_destroy(pci);
out_sim:
	vdev_sim_destroy(sim);
	return rc;
}

int main(void)
{
	static const struct {
		enum vdev_pci_mode mode;
		enum vdev_drv_access access;
		bool msix;
		const char *label;
	} runs[] = {
		{VDEV_PCI_LEGACY, VDEV_DRV_LEGACY, false, "legacy"},
		{VDEV_PCI_LEGACY, VDEV_DRV_LEGACY, true, "legacy + MSI-X"},
		{VDEV_PCI_MODERN, VDEV_DRV_MODERN, false, "modern"},
		{VDEV_PCI_MODERN, VDEV_DRV_MODERN, true, "modern + MSI-X"},
		{VDEV_PCI_MODERN, VDEV_DRV_MODERN_CFGACCESS, false, "modern via cfg-access window"},
		{VDEV_PCI_TRANSITIONAL, VDEV_DRV_LEGACY, false, "transitional, legacy driver"},
		{VDEV_PCI_TRANSITIONAL, VDEV_DRV_MODERN, true, "transitional, modern driver"},
	};
	int failed = 0;

	printf("libvdev %s demo: one device, every PCI mode, driven by the driver peer\n",
	       vdev_version());
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		int rc = run_mode(runs[i].mode, runs[i].access, runs[i].msix, runs[i].label);
		if (rc < 0) {
			printf("%-28s FAILED: %s\n", runs[i].label, strerror(-rc));
			failed++;
		}
	}
	return failed ? 1 : 0;
}
