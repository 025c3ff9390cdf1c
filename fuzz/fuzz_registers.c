/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz the register model as a guest sees it: an echo device in a mode the first byte
 * picks (legacy, modern, transitional; MSI-X, MSI, I/O notify, 32-bit BAR), then a
 * program of 16-byte operations: config-space reads and writes, BAR reads and writes,
 * guest RAM writes (rings and buffers), host-side config changes and notifications.
 * The echo device serves its queue on every kick, so a program that sets a queue up
 * also reaches the ring parser. Anything ASan/UBSan can see is a bug; at the end a
 * reset must still bring the device back to status 0.
 *
 * Operation: kind u8, width u8, bar u8, pad u8, offset u32, value u64.
 */
#include <stdio.h>
#include <stdlib.h>

#include "echo_dev.h"
#include "fuzz_input.h"
#include "vdev/driver.h"
#include "vdev/vdev.h"

#define RAM (1u << 20) /* small: every input builds a fresh machine */

enum op_kind { OP_CFG_READ, OP_CFG_WRITE, OP_BAR_READ, OP_BAR_WRITE, OP_RAM_WRITE,
	       OP_HOST_CONFIG, OP_HOST_NOTIFY, OP_KINDS };

static const int widths[4] = {1, 2, 4, 8};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, size};
	struct vdev_sim_config scfg = {.size = sizeof(struct vdev_sim_config), .ram_size = RAM};
	struct echo_dev_config ecfg = {.nvq = 2, .qsize = 16};
	uint8_t mode = (uint8_t)fuzz_take(&in, 1);
	struct vdev_sim *sim;
	struct echo_dev *dev;
	struct pci_vdev *pci;
	uint8_t *ram;
	uint32_t v;

	ecfg.pci.mode = (enum vdev_pci_mode)(1 + mode % 3);
	ecfg.pci.msix = mode & 0x04;
	ecfg.pci.msi = mode & 0x08;
	ecfg.pci.notify_pio = mode & 0x10;
	ecfg.pci.mem32 = mode & 0x20;
	if (vdev_sim_create(&scfg, &sim) != 0)
		return 0;
	if (echo_dev_create(vdev_sim_vmctx(sim), "fuzz0", &ecfg, &dev) != 0) {
		vdev_sim_destroy(sim);
		return 0;
	}
	pci = echo_dev_pci(dev);
	ram = vdev_sim_ptr(sim, 0, RAM);
	for (int step = 0; step < 512 && in.left > 0; step++) {
		uint8_t kind = (uint8_t)fuzz_take(&in, 1) % OP_KINDS;
		int width = widths[fuzz_take(&in, 1) & 3];
		int bar = (int)(fuzz_take(&in, 1) % 6);
		uint32_t off;
		uint64_t val;

		fuzz_take(&in, 1);
		off = (uint32_t)fuzz_take(&in, 4);
		val = fuzz_take(&in, 8);
		switch (kind) {
		case OP_CFG_READ:
			vdev_pci_cfgread(pci, (int)(off & 0xfff), width > 4 ? 4 : width, &v);
			break;
		case OP_CFG_WRITE:
			vdev_pci_cfgwrite(pci, (int)(off & 0xfff), width > 4 ? 4 : width, (uint32_t)val);
			break;
		case OP_BAR_READ:
			virtio_pci_read(NULL, 0, pci, bar, off & 0xffff, width);
			break;
		case OP_BAR_WRITE:
			virtio_pci_write(NULL, 0, pci, bar, off & 0xffff, width, val);
			break;
		case OP_RAM_WRITE:
			memcpy(ram + (off % (RAM - 8)), &val, 8);
			break;
		case OP_HOST_CONFIG:
			echo_dev_host_set_scratch(dev, (uint32_t)val);
			break;
		case OP_HOST_NOTIFY:
			vdev_virtio_queue_notify(&dev->base, (int)(off & 3));
			break;
		}
	}
	vdev_pci_cfgwrite(pci, PCIR_COMMAND, 2, PCIM_CMD_PORTEN | PCIM_CMD_MEMEN);
	if (dev->base.has_modern)
		virtio_pci_write(NULL, 0, pci, VIRTIO_MODERN_MMIO_BAR_IDX, VIRTIO_COMMON_STATUS, 1, 0);
	else
		virtio_pci_write(NULL, 0, pci, VIRTIO_LEGACY_PIO_BAR_IDX, VIRTIO_CR_STATUS, 1, 0);
	if (dev->base.status != 0)
		abort();
	echo_dev_destroy(dev);
	vdev_sim_destroy(sim);
	return 0;
}
