/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * How a VMM embeds libvdev: supply the host callbacks, create a PCI function, bind a
 * device to it, and route the guest's config-space and BAR accesses. The "VMM" here
 * is a flat RAM array; the device is the simplest possible one (no queues at all).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <vdev/vdev.h>

struct my_vmm {
	uint8_t *ram;
	uint64_t ram_size;
};

/* Guest-physical -> host: one flat region here; a real VMM walks its memory map. */
static int my_translate(void *opaque, uint64_t gpa, uint64_t len, enum vdev_dma_dir dir,
			void **hva, uint64_t *contig)
{
	struct my_vmm *vmm = opaque;

	(void)dir;
	if (gpa >= vmm->ram_size)
		return -EFAULT; /* not RAM: libvdev treats it as a guest error */
	*hva = vmm->ram + gpa;
	*contig = vmm->ram_size - gpa < len ? vmm->ram_size - gpa : len;
	return 0;
}

static int my_msi(void *opaque, struct pci_vdev *dev, uint64_t addr, uint32_t data)
{
	(void)opaque;
	printf("  MSI from %s: addr 0x%llx data 0x%x\n", vdev_pci_name(dev),
	       (unsigned long long)addr, data);
	return 0;
}

static void my_intx(void *opaque, struct pci_vdev *dev, int level)
{
	(void)opaque;
	printf("  INTx of %s -> %d\n", vdev_pci_name(dev), level);
}

static void my_log(void *opaque, enum vdev_log_level level, const char *dev, const char *msg)
{
	(void)opaque;
	printf("  log %d [%s] %s\n", level, dev, msg);
}

/* A device with one read-only config field and no queues. */
struct tiny_dev {
	struct virtio_base base; /* first, as in ACRN */
	uint32_t answer;
};

static int tiny_cfgread(void *softc, int off, int size, uint32_t *val)
{
	struct tiny_dev *t = softc;

	*val = off == 0 && size == 4 ? t->answer : 0;
	return 0;
}

static const struct virtio_ops tiny_ops = {
	.name = "tiny",
	.nvq = 0,
	.cfgsize = 4,
	.cfgread = tiny_cfgread,
	.hv_caps = 0,
};

int main(void)
{
	struct my_vmm vmm = {.ram_size = 1 << 20};
	const struct vdev_host_ops ops = {
		.version = VDEV_HOST_OPS_VERSION,
		.translate = my_translate,
		.msi_send = my_msi,
		.intx_set = my_intx,
		.log = my_log,
	};
	struct vdev_virtio_pci_config layout = {.mode = VDEV_PCI_MODERN, .mem32 = true};
	struct tiny_dev tiny = {.answer = 42};
	struct vmctx *ctx;
	struct pci_vdev *pci;
	uint32_t id;
	int bar, rc;
	uint64_t off;

	vmm.ram = calloc(1, vmm.ram_size);
	if (vmm.ram == NULL || vdev_vmctx_create(&ops, &vmm, &ctx) < 0 ||
	    vdev_pci_create(ctx, "tiny0", &pci) < 0)
		return 1;
	virtio_linkup(&tiny.base, &tiny_ops, &tiny, pci, NULL);
	rc = vdev_virtio_pci_init(&tiny.base, 42, &layout);
	if (rc < 0)
		return 1;

	/* The guest's PCI core: identity, then program BAR 4 and enable memory decoding. */
	vdev_pci_cfgread(pci, PCIR_VENDOR, 4, &id);
	printf("vendor:device %04x:%04x\n", id & 0xffff, id >> 16);
	vdev_pci_cfgwrite(pci, PCIR_BAR(4), 4, 0xfe000000);
	vdev_pci_cfgwrite(pci, PCIR_COMMAND, 2, PCIM_CMD_MEMEN);

	/* A trapped MMIO access at an absolute address: find the BAR, then dispatch. */
	if (vdev_pci_bar_lookup(pci, false, 0xfe000000 + VIRTIO_CAP_DEVICE_OFFSET, 4, &bar, &off) == 0)
		printf("device config word 0 = %llu (BAR %d offset 0x%llx)\n",
		       (unsigned long long)virtio_pci_read(ctx, 0, pci, bar, off, 4), bar,
		       (unsigned long long)off);
	/* A guest mistake is refused, logged through my_log, and never fatal. */
	virtio_pci_write(ctx, 0, pci, bar, VIRTIO_COMMON_NUMQ, 2, 7);

	vdev_virtio_release(&tiny.base);
	vdev_pci_destroy(pci);
	vdev_vmctx_destroy(ctx);
	free(vmm.ram);
	return 0;
}
