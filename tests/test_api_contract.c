/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The library's promises to an embedder that are not about any one register: API
 * arguments are validated, the host table is versioned, log lines carry the device
 * name, the library never writes to stderr, and the optional device lock is honoured.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static int dummy_translate(void *opaque, uint64_t gpa, uint64_t len, enum vdev_dma_dir dir,
			   void **hva, uint64_t *contig)
{
	(void)opaque, (void)gpa, (void)len, (void)dir, (void)hva, (void)contig;
	return -EFAULT;
}

Test(api_contract, vmctx_create_validates_the_host_table)
{
	struct vdev_host_ops ops = {.version = VDEV_HOST_OPS_VERSION, .translate = dummy_translate};
	struct vmctx *ctx = (struct vmctx *)1;

	cr_assert_eq(vdev_vmctx_create(NULL, NULL, &ctx), -EINVAL);
	cr_assert_null(ctx, "out-parameter cleared on failure");
	cr_assert_eq(vdev_vmctx_create(&ops, NULL, NULL), -EINVAL);

	ops.version = 0;
	cr_assert_eq(vdev_vmctx_create(&ops, NULL, &ctx), -EINVAL);
	ops.version = VDEV_HOST_OPS_VERSION + 1;
	cr_assert_eq(vdev_vmctx_create(&ops, NULL, &ctx), -EINVAL, "future version refused");
	ops.version = VDEV_HOST_OPS_VERSION;
	ops.translate = NULL;
	cr_assert_eq(vdev_vmctx_create(&ops, NULL, &ctx), -EINVAL, "translate is required");

	ops.translate = dummy_translate;
	cr_assert_eq(vdev_vmctx_create(&ops, &ops, &ctx), 0);
	cr_assert_eq(vdev_vmctx_opaque(ctx), &ops);
	vdev_vmctx_destroy(ctx);
	vdev_vmctx_destroy(NULL);
}

Test(api_contract, version_string_matches_project)
{
	cr_assert_str_eq(vdev_version(), "0.1.0");
}

Test(api_contract, pci_and_layout_arguments_are_checked)
{
	struct vdev_sim_config scfg = {.size = sizeof(struct vdev_sim_config), .ram_size = 1 << 20};
	struct vdev_sim *sim;
	struct pci_vdev *pci = NULL;
	struct echo_dev_config ecfg = {.pci = {.mode = VDEV_PCI_MODERN}};
	struct echo_dev *dev;
	struct vdev_virtio_pci_config bad = {.mode = (enum vdev_pci_mode)7};

	cr_assert_eq(vdev_sim_create(&scfg, &sim), 0);
	cr_assert_eq(vdev_pci_create(NULL, "x", &pci), -EINVAL);
	cr_assert_eq(vdev_pci_create(vdev_sim_vmctx(sim), "x", NULL), -EINVAL);

	cr_assert_eq(echo_dev_create(vdev_sim_vmctx(sim), "e", &ecfg, &dev), 0);
	/* Laying out the same function twice would duplicate capabilities. */
	cr_assert_eq(vdev_virtio_pci_init(&dev->base, VIRTIO_TYPE_ENTROPY, &ecfg.pci), -EINVAL);
	cr_assert_eq(vdev_virtio_pci_init(&dev->base, VIRTIO_TYPE_ENTROPY, NULL), -EINVAL);
	cr_assert_eq(vdev_virtio_pci_init(NULL, VIRTIO_TYPE_ENTROPY, &ecfg.pci), -EINVAL);
	echo_dev_destroy(dev);

	/* An unknown mode, and transitional for a type without a transitional id. */
	ecfg.pci = bad;
	cr_assert_eq(echo_dev_create(vdev_sim_vmctx(sim), "e", &ecfg, &dev), -EINVAL);
	cr_assert_eq(vdev_virtio_pci_device_id(42, VDEV_PCI_TRANSITIONAL), 0);
	cr_assert_eq(vdev_virtio_pci_device_id(42, VDEV_PCI_MODERN), 0x1040 + 42);
	cr_assert_eq(vdev_virtio_pci_device_id(VIRTIO_TYPE_BLOCK, VDEV_PCI_LEGACY), 0x1001);
	cr_assert_eq(vdev_virtio_pci_device_id(VIRTIO_TYPE_ENTROPY, VDEV_PCI_TRANSITIONAL), 0x1005);

	/* NULL everywhere does not crash. */
	virtio_linkup(NULL, NULL, NULL, NULL, NULL);
	virtio_reset_dev(NULL);
	virtio_dev_error(NULL);
	virtio_config_changed(NULL);
	cr_assert_eq(vq_getchain(NULL, NULL, NULL, 0, NULL), -1);
	vq_relchain(NULL, 0, 0);
	vq_endchains(NULL, 1);
	cr_assert_eq(vq_has_descs(NULL), 0);
	cr_assert_eq(virtio_pci_read(NULL, 0, NULL, 0, 0, 4), 0);
	virtio_pci_write(NULL, 0, NULL, 0, 0, 4, 0);
	cr_assert_eq(vdev_virtio_queue_notify(NULL, 0), -EINVAL);
	vdev_sim_destroy(sim);
}

struct log_capture {
	int lines;
	char dev[64];
	char msg[256];
	enum vdev_log_level level;
};

static void capture_log(void *arg, enum vdev_log_level level, const char *dev, const char *msg)
{
	struct log_capture *c = arg;

	c->lines++;
	c->level = level;
	snprintf(c->dev, sizeof(c->dev), "%s", dev);
	snprintf(c->msg, sizeof(c->msg), "%s", msg);
}

Test(api_contract, log_lines_name_the_device_and_never_reach_stderr)
{
	struct harness h;
	struct log_capture cap = {0};
	char path[] = "/tmp/vdev-stderr-XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	off_t size;

	cr_assert(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);

	cr_assert_eq(harness_open(&h, VDEV_PCI_MODERN, VDEV_DRV_MODERN, NULL), 0);
	vdev_sim_set_log(h.sim, capture_log, &cap);
	/* A refused access: a 4-byte read of the 1-byte status register. */
	vdev_drv_region_read(h.drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_STATUS, 4);
	cr_assert_geq(cap.lines, 1);
	cr_assert_str_eq(cap.dev, "echo0");
	cr_assert_eq(cap.level, VDEV_LOG_WARN);
	cr_assert_not_null(strstr(cap.msg, "refused"), "message says what happened: %s", cap.msg);

	/* Filtering: nothing below WARN passes once the level is lowered to ERROR. */
	vdev_vmctx_set_log_level(vdev_sim_vmctx(h.sim), VDEV_LOG_ERROR);
	cap.lines = 0;
	vdev_drv_region_read(h.drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_STATUS, 4);
	cr_assert_eq(cap.lines, 0);
	harness_close(&h);

	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	size = lseek(fd, 0, SEEK_END);
	close(fd);
	unlink(path);
	cr_assert_eq(size, 0, "the library wrote %lld bytes to stderr", (long long)size);
}

Test(api_contract, device_lock_is_taken_and_released)
{
	struct echo_dev_config ecfg = {.use_mutex = true};
	struct harness h;
	uint64_t gpa_in, gpa_out;
	void *in, *out, *token;
	uint32_t len;

	cr_assert_eq(harness_open(&h, VDEV_PCI_MODERN, VDEV_DRV_MODERN, &ecfg), 0);
	cr_assert_not_null(h.dev->base.mtx);
	cr_assert_eq(harness_ready(&h, ECHO_DEFAULT_FEATURES, 16), 0);
	gpa_in = harness_buf(&h, 32, &in);
	gpa_out = harness_buf(&h, 32, &out);
	memset(in, 0x5a, 32);
	struct vdev_drv_seg segs[2] = {{gpa_in, 32, false}, {gpa_out, 32, true}};
	cr_assert_eq(vdev_drv_enqueue(h.drv, 0, segs, 2, false, &h), 0);
	vdev_drv_kick(h.drv, 0);
	cr_assert_eq(vdev_drv_dequeue(h.drv, 0, &token, &len), 1);
	cr_assert_eq(len, 32);
	cr_assert_eq(memcmp(in, out, 32), 0);

	/* While the embedder holds the lock on another thread, a register access waits. */
	cr_assert_eq(pthread_mutex_trylock(h.dev->base.mtx), 0, "lock was left held");
	pthread_mutex_unlock(h.dev->base.mtx);
	harness_close(&h);
}

static void *reader_thread(void *arg)
{
	struct harness *h = arg;

	for (int i = 0; i < 20000; i++)
		(void)vdev_drv_read_config32(h->drv, ECHO_CFG_REQUESTS);
	return NULL;
}

Test(api_contract, concurrent_register_access_with_the_lock_is_consistent)
{
	struct echo_dev_config ecfg = {.use_mutex = true};
	struct harness h;
	pthread_t t;
	uint64_t gpa;
	void *buf, *token;
	uint32_t len;
	int done = 0;

	cr_assert_eq(harness_open(&h, VDEV_PCI_MODERN, VDEV_DRV_MODERN, &ecfg), 0);
	cr_assert_eq(harness_ready(&h, ECHO_DEFAULT_FEATURES, 64), 0);
	gpa = harness_buf(&h, 64, &buf);
	cr_assert_eq(pthread_create(&t, NULL, reader_thread, &h), 0);
	for (int i = 0; i < 2000; i++) {
		struct vdev_drv_seg segs[2] = {{gpa, 32, false}, {gpa + 32, 32, true}};
		cr_assert_eq(vdev_drv_enqueue(h.drv, 0, segs, 2, false, NULL), 0);
		vdev_drv_kick(h.drv, 0);
		while (vdev_drv_dequeue(h.drv, 0, &token, &len) == 1)
			done++;
	}
	pthread_join(t, NULL);
	cr_assert_eq(done, 2000);
	cr_assert_eq(vdev_drv_read_config32(h.drv, ECHO_CFG_REQUESTS), 2000);
	harness_close(&h);
}
