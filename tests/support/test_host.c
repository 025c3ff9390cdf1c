/* SPDX-License-Identifier: BSD-3-Clause */
#include "test_host.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

static int th_translate(void *opaque, uint64_t gpa, uint64_t len, enum vdev_dma_dir dir,
			void **hva, uint64_t *contig)
{
	struct thost *t = opaque;
	uint64_t n;

	(void)dir;
	t->translations++;
	if (gpa >= t->ram_size || len == 0) {
		t->faults++;
		return -EFAULT;
	}
	n = t->ram_size - gpa;
	if (n > len)
		n = len;
	*hva = vdev_sim_ptr(t->sim, gpa, n);
	if (*hva == NULL) {
		t->faults++;
		return -EFAULT;
	}
	*contig = n;
	if (t->hook != NULL && gpa == t->hook_gpa) {
		void (*fn)(struct thost *) = t->hook;

		t->hook = NULL;
		fn(t);
	}
	return 0;
}

static int th_msi(void *opaque, struct pci_vdev *dev, uint64_t addr, uint32_t data)
{
	struct thost *t = opaque;

	(void)dev;
	(void)addr;
	(void)data;
	t->msis++;
	return 0;
}

static void th_intx(void *opaque, struct pci_vdev *dev, int level)
{
	struct thost *t = opaque;

	(void)dev;
	if (level && !t->intx_level)
		t->intx_raises++;
	t->intx_level = level;
}

static void th_log(void *opaque, enum vdev_log_level level, const char *dev, const char *msg)
{
	struct thost *t = opaque;

	(void)level;
	(void)dev;
	(void)msg;
	t->logs++;
}

static const struct vdev_host_ops thost_ops = {
	.version = VDEV_HOST_OPS_VERSION,
	.translate = th_translate,
	.msi_send = th_msi,
	.intx_set = th_intx,
	.log = th_log,
};

void thost_open(struct thost *t, struct vdev_sim *sim, uint64_t ram_size)
{
	memset(t, 0, sizeof(*t));
	t->sim = sim;
	t->ram_size = ram_size;
	cr_assert_eq(vdev_vmctx_create(&thost_ops, t, &t->ctx), 0, "test host context");
}

void thost_close(struct thost *t)
{
	if (t->ctx)
		vdev_vmctx_destroy(t->ctx);
	t->ctx = NULL;
}
