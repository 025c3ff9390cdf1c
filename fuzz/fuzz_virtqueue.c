/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz the split-ring parser: a modern echo device with one queue set up by the
 * driver peer, then the input becomes the guest's descriptor table, avail ring and
 * used_event, RAM holes and fragmentation, and a sequence of device-side calls
 * (getchain with any iovec capacity, relchain with any head and length, retchain,
 * endchains, resets). After every step the engine's invariants are checked: never
 * more iovecs than offered, every iovec inside guest RAM, in-flight count bounded by
 * the queue size, and a broken queue latched NEEDS_RESET.
 */
#include <stdio.h>
#include <stdlib.h>

#include "echo_dev.h"
#include "fuzz_input.h"
#include "harness.h"

#define QSIZE 16
#define RAM (1u << 20) /* small: every input builds a fresh machine */

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "invariant violated: %s\n", what);
		abort();
	}
}

static void fill_rings(struct harness *h, struct fuzz_input *in)
{
	uint64_t desc, avail, used;
	uint8_t *d, *a;

	vdev_drv_queue_rings(h->drv, 0, &desc, &avail, &used);
	d = vdev_sim_ptr(h->sim, desc, 16 * QSIZE);
	a = vdev_sim_ptr(h->sim, avail, 6 + 2 * QSIZE);
	fuzz_take_bytes(in, d, 16 * QSIZE);
	fuzz_take_bytes(in, a, 6 + 2 * QSIZE);
}

static void check_iovecs(struct harness *h, const struct iovec *iov, int n, int cap)
{
	uint8_t *ram = vdev_sim_ptr(h->sim, 0, RAM);

	check(n <= cap, "more iovecs than offered");
	for (int i = 0; i < n; i++) {
		uint8_t *b = iov[i].iov_base;
		check(b >= ram && b + iov[i].iov_len <= ram + RAM && iov[i].iov_len > 0,
		      "iovec outside guest RAM");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, size};
	struct echo_dev_config ecfg = {.qsize = QSIZE, .manual = true};
	struct harness h;
	struct virtio_vq_info *vq;
	uint8_t mode = (uint8_t)fuzz_take(&in, 1);
	uint64_t features = ECHO_DEFAULT_FEATURES & fuzz_take(&in, 8);

	if (harness_open_ram(&h, mode & 1 ? VDEV_PCI_LEGACY : VDEV_PCI_MODERN,
			     mode & 1 ? VDEV_DRV_LEGACY : VDEV_DRV_MODERN, &ecfg, RAM) != 0)
		return 0;
	if (harness_ready(&h, features, (mode & 1) ? 0 : QSIZE) != 0)
		goto out;
	vq = &h.dev->vq[0];
	fill_rings(&h, &in);
	if (mode & 2)
		vdev_sim_set_hole(h.sim, fuzz_take(&in, 3) & (RAM - 1), fuzz_take(&in, 2), true);
	for (int step = 0; step < 64 && in.left > 0; step++) {
		struct iovec iov[64];
		uint16_t flags[64], head;
		uint8_t op = (uint8_t)fuzz_take(&in, 1);
		int cap = 1 + (int)(fuzz_take(&in, 1) % 64), n;

		switch (op % 6) {
		case 0:
		case 1:
			n = vq_getchain(vq, &head, iov, cap, flags);
			check(n >= -1, "getchain result");
			if (n > 0)
				check_iovecs(&h, iov, n, cap);
			if (n < 0)
				check(h.dev->base.status & VIRTIO_CR_STATUS_NEEDS_RESET,
				      "broken queue without NEEDS_RESET");
			break;
		case 2:
			vq_relchain(vq, (uint16_t)fuzz_take(&in, 2), (uint32_t)fuzz_take(&in, 4));
			break;
		case 3:
			vq_retchain(vq);
			break;
		case 4:
			vq_endchains(vq, (int)(fuzz_take(&in, 1) & 1));
			break;
		case 5:
			fill_rings(&h, &in); /* the guest rewrites its rings between calls */
			break;
		}
		check(vq->n_inflight <= vq->qsize || !(vq->flags & VQ_ALLOC), "in-flight bound");
	}
	/* A reset always brings the device back. */
	vdev_drv_reset(h.drv);
	check(vdev_drv_read_status(h.drv) == 0, "reset");
out:
	harness_close(&h);
	return 0;
}
