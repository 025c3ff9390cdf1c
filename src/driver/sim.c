/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The simulated machine: one block of guest RAM (with optional holes and forced
 * fragmentation, to exercise the library's fragment handling), a bump allocator, an
 * interrupt recorder and a log sink. It is the embedder of the devices it hosts, so
 * it, unlike the library, may print to stderr (only when VDEV_SIM_LOG is set).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/common.h"
#include "util/config.h"
#include "vdev/driver.h"

#define SIM_MAX_RAM (1ULL << 30)
#define SIM_MAX_HOLES 16
#define SIM_MSI_DATA_MAX 2048
/* Other data values (MSI data registers hold any 16 bits) go to a small table. */
#define SIM_MSI_OTHER 64
#define SIM_LOG_LINE 512
/* The first page is never handed out: address 0 is refused as a ring address. */
#define SIM_ALLOC_START 4096

struct sim_hole {
	uint64_t gpa;
	uint64_t len;
};

struct vdev_sim {
	uint8_t *ram;
	int memfd;  /* -1 unless RAM is shared */
	uint64_t base;
	uint64_t size;
	uint64_t frag;
	uint64_t brk; /* next free guest address of the bump allocator */

	struct sim_hole holes[SIM_MAX_HOLES];
	int nholes;

	struct vmctx *ctx;
	struct vdev_sim_irqs irqs;
	uint64_t msi_by_data[SIM_MSI_DATA_MAX];
	struct {
		uint32_t data;
		uint64_t count; /* 0: slot unused */
	} msi_other[SIM_MSI_OTHER];

	void (*log_fn)(void *arg, enum vdev_log_level, const char *dev, const char *msg);
	void *log_arg;
	bool log_stderr;
	uint64_t log_count;
	char last_log[SIM_LOG_LINE];
};

/* True when [gpa, gpa + len) lies inside RAM (len may be 0 at an address inside). */
static bool in_ram(const struct vdev_sim *sim, uint64_t gpa, uint64_t len)
{
	uint64_t end = sim->base + sim->size;

	return gpa >= sim->base && gpa < end && len <= end - gpa;
}

/*
 * How many bytes from gpa (inside RAM) are usable before a hole starts, or 0 when
 * gpa is itself in a hole. Holes are few, so a linear scan is cheapest.
 */
static uint64_t room_before_hole(const struct vdev_sim *sim, uint64_t gpa, uint64_t room)
{
	for (int i = 0; i < sim->nholes; i++) {
		const struct sim_hole *h = &sim->holes[i];

		if (gpa >= h->gpa && gpa - h->gpa < h->len)
			return 0;
		if (h->gpa > gpa && h->gpa - gpa < room)
			room = h->gpa - gpa;
	}
	return room;
}

static int sim_translate(void *opaque, uint64_t gpa, uint64_t len, enum vdev_dma_dir dir,
			 void **hva, uint64_t *contig)
{
	struct vdev_sim *sim = opaque;
	uint64_t room;

	(void)dir;
	if (len == 0 || !in_ram(sim, gpa, 0))
		goto fault;
	room = sim->base + sim->size - gpa;
	if (vdev_unlikely(sim->nholes != 0)) {
		room = room_before_hole(sim, gpa, room);
		if (room == 0)
			goto fault;
	}
	if (vdev_unlikely(sim->frag != 0)) {
		/* Stop at the next multiple of frag so that long ranges come in pieces. */
		uint64_t to_boundary = sim->frag - gpa % sim->frag;

		if (to_boundary < room)
			room = to_boundary;
	}
	*hva = sim->ram + (gpa - sim->base);
	*contig = room < len ? room : len;
	sim->irqs.translations++;
	return 0;
fault:
	sim->irqs.translate_faults++;
	return -EFAULT;
}

/* Index of the table slot counting `data`, or -1. */
static int msi_other_find(const struct vdev_sim *sim, uint32_t data)
{
	for (int i = 0; i < SIM_MSI_OTHER; i++) {
		if (sim->msi_other[i].count != 0 && sim->msi_other[i].data == data)
			return i;
	}
	return -1;
}

/* Count one message with a data value outside the direct array (dropped when full). */
static void msi_other_count(struct vdev_sim *sim, uint32_t data)
{
	int i = msi_other_find(sim, data);

	for (int j = 0; i < 0 && j < SIM_MSI_OTHER; j++) {
		if (sim->msi_other[j].count == 0) {
			sim->msi_other[j].data = data;
			i = j;
		}
	}
	if (i >= 0)
		sim->msi_other[i].count++;
}

static int sim_msi_send(void *opaque, struct pci_vdev *dev, uint64_t addr, uint32_t data)
{
	struct vdev_sim *sim = opaque;

	(void)dev;
	sim->irqs.msi_count++;
	sim->irqs.last_msi_addr = addr;
	sim->irqs.last_msi_data = data;
	if (data < SIM_MSI_DATA_MAX) {
		sim->msi_by_data[data]++;
	} else {
		msi_other_count(sim, data);
	}
	return 0;
}

static void sim_intx_set(void *opaque, struct pci_vdev *dev, int level)
{
	struct vdev_sim *sim = opaque;

	(void)dev;
	if (level && !sim->irqs.intx_level)
		sim->irqs.intx_raises++;
	sim->irqs.intx_level = level ? 1 : 0;
}

static const char *level_name(enum vdev_log_level level)
{
	switch (level) {
	case VDEV_LOG_ERROR: return "error";
	case VDEV_LOG_WARN: return "warn";
	case VDEV_LOG_INFO: return "info";
	default: return "debug";
	}
}

static void sim_log(void *opaque, enum vdev_log_level level, const char *devname,
		    const char *msg)
{
	struct vdev_sim *sim = opaque;

	sim->log_count++;
	/* Keep the newest line even when redirected: tests look at it either way. */
	snprintf(sim->last_log, sizeof(sim->last_log), "%s", msg ? msg : "");
	if (sim->log_stderr)
		fprintf(stderr, "vdev-sim %s [%s] %s\n", level_name(level),
			devname ? devname : "", msg ? msg : "");
	if (sim->log_fn)
		sim->log_fn(sim->log_arg, level, devname, msg);
}

static const struct vdev_host_ops sim_ops = {
	.version = VDEV_HOST_OPS_VERSION,
	.translate = sim_translate,
	.msi_send = sim_msi_send,
	.intx_set = sim_intx_set,
	.log = sim_log,
};

static int check_config(const struct vdev_sim_config *cfg)
{
	if (cfg->ram_size == 0 || cfg->ram_size > SIM_MAX_RAM)
		return -EINVAL;
	if (cfg->ram_base + cfg->ram_size < cfg->ram_base)
		return -EINVAL;
	/* The allocator needs something past its reserved first page. */
	if (cfg->ram_size <= SIM_ALLOC_START)
		return -EINVAL;
	return 0;
}

/* VDEV_SIM_LOG=debug (or 3) also lowers the library's log threshold to DEBUG. */
static void setup_env_logging(struct vdev_sim *sim)
{
	const char *env = getenv("VDEV_SIM_LOG");

	if (env == NULL)
		return;
	sim->log_stderr = true;
	if (strcmp(env, "debug") == 0 || strcmp(env, "3") == 0)
		vdev_vmctx_set_log_level(sim->ctx, VDEV_LOG_DEBUG);
}

/* Private zeroed RAM, or a memfd mapped shared; returns 0 or a negative errno. */
static int ram_alloc(struct vdev_sim *sim, const struct vdev_sim_config *cfg)
{
	void *p;

	sim->memfd = -1;
	if (!cfg->shared) {
		sim->ram = calloc(1, (size_t)cfg->ram_size);
		return sim->ram ? 0 : -ENOMEM;
	}
	sim->memfd = memfd_create("vdev-sim-ram", MFD_CLOEXEC);
	if (sim->memfd < 0)
		return -errno;
	if (ftruncate(sim->memfd, (off_t)cfg->ram_size) < 0) {
		int rc = -errno;

		close(sim->memfd);
		return rc;
	}
	p = mmap(NULL, (size_t)cfg->ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, sim->memfd, 0);
	if (p == MAP_FAILED) {
		int rc = -errno;

		close(sim->memfd);
		return rc;
	}
	sim->ram = p;
	return 0;
}

static void ram_free(struct vdev_sim *sim)
{
	if (sim->memfd < 0) {
		free(sim->ram);
		return;
	}
	munmap(sim->ram, (size_t)sim->size);
	close(sim->memfd);
}

/* The size of struct vdev_sim_config's first version; new fields go after it. */
#define SIM_CONFIG_V1 VDEV_CONFIG_V1_SIZE(struct vdev_sim_config, shared)

VDEV_EXPORT int vdev_sim_create(const struct vdev_sim_config *given, struct vdev_sim **out)
{
	struct vdev_sim_config local; /* everything below reads this copy only */
	const struct vdev_sim_config *cfg = &local;
	char why[VDEV_CONFIG_WHY_LEN];
	struct vdev_sim *sim;
	int rc;

	if (out == NULL)
		return -EINVAL;
	*out = NULL;
	if (given == NULL)
		return -EINVAL;
	/* No vmctx yet to log on: the errno alone tells the caller. */
	rc = vdev_config_take(&local, sizeof(local), given, SIM_CONFIG_V1, "vdev_sim_config",
			      why, sizeof(why));
	if (rc < 0)
		return rc;
	if (check_config(cfg) < 0)
		return -EINVAL;
	sim = calloc(1, sizeof(*sim));
	if (sim == NULL)
		return -ENOMEM;
	rc = ram_alloc(sim, cfg);
	if (rc < 0) {
		free(sim);
		return rc;
	}
	sim->base = cfg->ram_base;
	sim->size = cfg->ram_size;
	sim->frag = cfg->frag;
	sim->brk = sim->base + SIM_ALLOC_START;
	rc = vdev_vmctx_create(&sim_ops, sim, &sim->ctx);
	if (rc < 0) {
		ram_free(sim);
		free(sim);
		return rc;
	}
	setup_env_logging(sim);
	*out = sim;
	return 0;
}

VDEV_EXPORT void vdev_sim_destroy(struct vdev_sim *sim)
{
	if (sim == NULL)
		return;
	vdev_vmctx_destroy(sim->ctx);
	ram_free(sim);
	free(sim);
}

VDEV_EXPORT void vdev_sim_ram_range(const struct vdev_sim *sim, uint64_t *base, uint64_t *size)
{
	if (base)
		*base = sim ? sim->base : 0;
	if (size)
		*size = sim ? sim->size : 0;
}

VDEV_EXPORT int vdev_sim_memfd(const struct vdev_sim *sim)
{
	return sim ? sim->memfd : -1;
}

VDEV_EXPORT struct vmctx *vdev_sim_vmctx(struct vdev_sim *sim)
{
	return sim ? sim->ctx : NULL;
}

VDEV_EXPORT void vdev_sim_set_log(struct vdev_sim *sim,
				  void (*fn)(void *arg, enum vdev_log_level, const char *dev,
					     const char *msg),
				  void *arg)
{
	if (sim == NULL)
		return;
	sim->log_fn = fn;
	sim->log_arg = arg;
}

VDEV_EXPORT const char *vdev_sim_last_log(const struct vdev_sim *sim)
{
	return sim ? sim->last_log : "";
}

VDEV_EXPORT uint64_t vdev_sim_log_count(const struct vdev_sim *sim)
{
	return sim ? sim->log_count : 0;
}

VDEV_EXPORT uint64_t vdev_sim_alloc(struct vdev_sim *sim, uint64_t size, uint64_t align)
{
	uint64_t start, end = 0;

	if (sim == NULL || size == 0)
		return 0;
	if (align == 0)
		align = 1;
	if (!vdev_is_pow2(align) || align > SIM_MAX_RAM)
		return 0;
	start = (sim->brk + align - 1) & ~(align - 1);
	if (start < sim->brk || __builtin_add_overflow(start, size, &end) ||
	    end > sim->base + sim->size)
		return 0;
	sim->brk = end;
	/* Memory handed back by alloc_reset may hold old rings: start clean. */
	memset(sim->ram + (start - sim->base), 0, (size_t)size);
	return start;
}

VDEV_EXPORT uint64_t vdev_sim_alloc_mark(const struct vdev_sim *sim)
{
	return sim ? sim->brk : 0;
}

VDEV_EXPORT void vdev_sim_alloc_reset(struct vdev_sim *sim, uint64_t mark)
{
	if (sim == NULL)
		return;
	/* Only rewind, and never below the reserved first page. */
	if (mark >= sim->base + SIM_ALLOC_START && mark <= sim->brk)
		sim->brk = mark;
}

VDEV_EXPORT void *vdev_sim_ptr(struct vdev_sim *sim, uint64_t gpa, uint64_t len)
{
	if (sim == NULL || !in_ram(sim, gpa, len))
		return NULL;
	return sim->ram + (gpa - sim->base);
}

static int add_hole(struct vdev_sim *sim, uint64_t gpa, uint64_t len)
{
	if (sim->nholes == SIM_MAX_HOLES)
		return -ENOSPC;
	sim->holes[sim->nholes].gpa = gpa;
	sim->holes[sim->nholes].len = len;
	sim->nholes++;
	return 0;
}

/* Make [gpa, end) RAM again: trim or split every hole that overlaps it. */
static int clear_holes(struct vdev_sim *sim, uint64_t gpa, uint64_t end)
{
	int i = 0;

	while (i < sim->nholes) {
		struct sim_hole h = sim->holes[i];
		uint64_t hend = h.gpa + h.len;

		if (hend <= gpa || h.gpa >= end) {
			i++;
			continue;
		}
		/* Remove it, then re-add the parts outside [gpa, end). */
		sim->holes[i] = sim->holes[--sim->nholes];
		if (h.gpa < gpa && add_hole(sim, h.gpa, gpa - h.gpa) < 0)
			return -ENOSPC;
		if (hend > end && add_hole(sim, end, hend - end) < 0)
			return -ENOSPC;
	}
	return 0;
}

VDEV_EXPORT int vdev_sim_set_hole(struct vdev_sim *sim, uint64_t gpa, uint64_t len, bool hole)
{
	uint64_t end;

	if (sim == NULL || len == 0 || __builtin_add_overflow(gpa, len, &end))
		return -EINVAL;
	return hole ? add_hole(sim, gpa, len) : clear_holes(sim, gpa, end);
}

VDEV_EXPORT void vdev_sim_get_irqs(const struct vdev_sim *sim, struct vdev_sim_irqs *out)
{
	if (out == NULL)
		return;
	if (sim == NULL) {
		memset(out, 0, sizeof(*out));
		return;
	}
	*out = sim->irqs;
}

VDEV_EXPORT uint64_t vdev_sim_msi_count(const struct vdev_sim *sim, uint32_t data)
{
	int i;

	if (sim == NULL)
		return 0;
	if (data < SIM_MSI_DATA_MAX)
		return sim->msi_by_data[data];
	i = msi_other_find(sim, data);
	return i < 0 ? 0 : sim->msi_other[i].count;
}
