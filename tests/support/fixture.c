/* SPDX-License-Identifier: BSD-3-Clause */
#include "fixture.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dev_loop.h"

const struct fx_mode fx_modes[FX_NMODES] = {
	{VDEV_PCI_LEGACY, VDEV_DRV_LEGACY, "legacy"},
	{VDEV_PCI_MODERN, VDEV_DRV_MODERN, "modern"},
	{VDEV_PCI_TRANSITIONAL, VDEV_DRV_LEGACY, "transitional-legacy"},
	{VDEV_PCI_TRANSITIONAL, VDEV_DRV_MODERN, "transitional-modern"},
	{VDEV_PCI_MODERN, VDEV_DRV_MODERN_CFGACCESS, "modern-cfgaccess"},
};

#define FX_RAM (32u << 20)
#define FX_ALIGN 64

int fx_open(struct fx *f, const struct fx_opts *o, const struct fx_device_ops *ops, void *arg)
{
	struct vdev_sim_config scfg = {.size = sizeof(struct vdev_sim_config),
				       .ram_base = 0, .ram_size = o->ram_size ? o->ram_size : FX_RAM,
				       .frag = o->frag};
	struct vdev_drv_config dcfg = {.size = sizeof(struct vdev_drv_config),
				       .access = o->mode.access, .use_msix = o->msix};
	int rc;

	memset(f, 0, sizeof(*f));
	f->mode = o->mode;
	f->msix = o->msix;
	f->align = o->align ? o->align : FX_ALIGN;
	rc = vdev_sim_create(&scfg, &f->sim);
	if (rc < 0)
		return rc;
	rc = ops->create(f, vdev_sim_vmctx(f->sim), arg);
	if (rc < 0)
		goto fail;
	/* Only now: fx_close() destroys a device through ops once there is one. */
	f->ops = ops;
	rc = vdev_drv_open(f->sim, f->pci, &dcfg, &f->drv);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	fx_close(f);
	return rc;
}

void fx_close(struct fx *f)
{
	if (f->drv)
		vdev_drv_close(f->drv);
	if (f->ops && f->handle)
		f->ops->destroy(f);
	if (f->sim)
		vdev_sim_destroy(f->sim);
	memset(f, 0, sizeof(*f));
}

void fx_adopt_dev(struct fx *f, struct vdev_dev *dev)
{
	f->handle = dev;
	f->dev = dev;
	f->pci = vdev_dev_pci(dev);
}

void fx_destroy_dev(struct fx *f)
{
	vdev_dev_destroy(f->dev);
}

int fx_nvq(const struct fx *f)
{
	if (f->virtio)
		return f->virtio->vops->nvq;
	return vdev_dev_virtio(f->dev)->vops->nvq;
}

int fx_ready(struct fx *f, uint64_t features, uint16_t qsize, int nq)
{
	int rc = vdev_drv_negotiate(f->drv, features, &f->features);

	if (rc < 0)
		return rc;
	if (nq < 0)
		nq = fx_nvq(f);
	for (int q = 0; q < nq; q++) {
		/* The vector follows MSI-X as the device has it now (a test may have
		 * switched it off since open). */
		uint16_t vec = vdev_pci_msix_enabled(f->pci) ? (uint16_t)(q + 1)
							     : VIRTIO_MSI_NO_VECTOR;

		rc = vdev_drv_queue_setup(f->drv, (uint16_t)q, qsize, vec);
		if (rc < 0)
			return rc;
	}
	return vdev_drv_driver_ok(f->drv);
}

uint64_t fx_alloc(struct vdev_sim *sim, uint32_t len, uint32_t align, void **p)
{
	uint64_t gpa;

	if (len == 0)
		len = 1;
	gpa = vdev_sim_alloc(sim, len, align);
	if (p)
		*p = gpa ? vdev_sim_ptr(sim, gpa, len) : NULL;
	return gpa;
}

uint64_t fx_buf(struct fx *f, uint32_t len, void **p)
{
	uint64_t gpa = fx_alloc(f->sim, len, f->align, p);

	cr_assert_neq(gpa, 0, "guest RAM exhausted allocating %u bytes", len);
	return gpa;
}

struct used_wait {
	struct fx *f;
	uint16_t q;
	bool got;
	void *token;
	uint32_t len;
};

static bool used_arrived(void *arg)
{
	struct used_wait *w = arg;

	if (!w->got)
		w->got = vdev_drv_dequeue(w->f->drv, w->q, &w->token, &w->len) == 1;
	return w->got;
}

bool fx_wait_used(struct fx *f, uint16_t q, void **token, uint32_t *len, int timeout_ms)
{
	struct used_wait w = {f, q, false, NULL, 0};

	cr_assert_not_null(f->dev, "fx_wait_used needs a library device");
	if (dev_loop_until(&f->dev, 1, used_arrived, &w, timeout_ms) != 0)
		return false;
	if (token)
		*token = w.token;
	if (len)
		*len = w.len;
	return true;
}

long long fx_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void fx_pump(struct fx *f, int ms)
{
	long long end = fx_now_ms() + ms;

	do
		dev_loop_once(&f->dev, 1, 5);
	while (fx_now_ms() < end);
}

int fx_drain_used(struct fx *f, uint16_t q)
{
	void *token;
	uint32_t len;
	int n = 0;

	while (vdev_drv_dequeue(f->drv, q, &token, &len) == 1)
		n++;
	return n;
}

int fx_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d, "/proc/self/fd: %s", strerror(errno));
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

int fx_count_fds_on(const char *path)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d, "/proc/self/fd: %s", strerror(errno));
	while ((e = readdir(d)) != NULL) {
		char link[300], target[300];
		ssize_t l;

		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		l = readlink(link, target, sizeof(target) - 1);
		if (l > 0) {
			target[l] = '\0';
			n += strcmp(target, path) == 0;
		}
	}
	closedir(d);
	return n;
}
