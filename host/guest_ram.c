/* SPDX-License-Identifier: BSD-3-Clause */
#include "guest_ram.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* One mapped file; regions point into it, so its address never moves while it is used. */
struct ram_file {
	dev_t dev;
	ino_t ino;
	uint8_t *base;
	size_t len;
};

struct ram_entry {
	uint64_t gpa;
	uint64_t size;
	uint64_t offset;
	uint64_t uaddr;
	int file; /* index into files[] */
};

struct guest_ram {
	struct ram_entry regions[GUEST_RAM_MAX_REGIONS]; /* sorted by gpa, disjoint */
	size_t nregions;
	struct ram_file files[GUEST_RAM_MAX_REGIONS];
	size_t nfiles;
	char error[160];
};

/* A table under construction: the same shape, plus which mappings it created itself. */
struct ram_build {
	struct ram_entry regions[GUEST_RAM_MAX_REGIONS];
	struct ram_file files[GUEST_RAM_MAX_REGIONS];
	bool fresh[GUEST_RAM_MAX_REGIONS]; /* mapped by this build, unmapped if it fails */
	uint64_t need[GUEST_RAM_MAX_REGIONS];
	size_t nfiles;
};

static int fail(struct guest_ram *ram, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct guest_ram *ram, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ram->error, sizeof(ram->error), fmt, ap);
	va_end(ap);
	return rc;
}

int guest_ram_create(struct guest_ram **out)
{
	struct guest_ram *ram = calloc(1, sizeof(*ram));

	if (ram == NULL)
		return -ENOMEM;
	*out = ram;
	return 0;
}

static void unmap_files(struct ram_file *files, size_t n, const bool *only)
{
	for (size_t i = 0; i < n; i++)
		if (only == NULL || only[i])
			munmap(files[i].base, files[i].len);
}

void guest_ram_destroy(struct guest_ram *ram)
{
	if (ram == NULL)
		return;
	unmap_files(ram->files, ram->nfiles, NULL);
	free(ram);
}

/* Shape checks that need no system call: sizes, wrap-around, overlap (on a sorted copy). */
static int check_shape(struct guest_ram *ram, const struct guest_ram_region *regions, size_t n,
		       struct ram_entry *sorted)
{
	for (size_t i = 0; i < n; i++) {
		const struct guest_ram_region *r = &regions[i];
		size_t j;

		if (r->size == 0)
			return fail(ram, -EINVAL, "region %zu: size 0", i);
		if (r->gpa + (r->size - 1) < r->gpa)
			return fail(ram, -EINVAL, "region %zu: gpa %#llx + size %#llx wraps", i,
				    (unsigned long long)r->gpa, (unsigned long long)r->size);
		if (r->offset + (r->size - 1) < r->offset)
			return fail(ram, -EINVAL, "region %zu: offset %#llx + size wraps", i,
				    (unsigned long long)r->offset);
		if (r->fd < 0)
			return fail(ram, -EBADF, "region %zu: no file descriptor", i);
		/* insertion sort: n is small and bounded */
		for (j = i; j > 0 && sorted[j - 1].gpa > r->gpa; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = (struct ram_entry){.gpa = r->gpa, .size = r->size, .offset = r->offset,
					       .uaddr = r->uaddr, .file = (int)i};
	}
	for (size_t i = 1; i < n; i++) {
		const struct ram_entry *a = &sorted[i - 1], *b = &sorted[i];

		if (a->gpa + (a->size - 1) >= b->gpa)
			return fail(ram, -EINVAL,
				    "regions overlap: [%#llx, +%#llx) and [%#llx, +%#llx)",
				    (unsigned long long)a->gpa, (unsigned long long)a->size,
				    (unsigned long long)b->gpa, (unsigned long long)b->size);
	}
	return 0;
}

static int find_file(const struct ram_file *files, size_t n, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < n; i++)
		if (files[i].dev == dev && files[i].ino == ino)
			return (int)i;
	return -1;
}

/*
 * Attach each region to a file identity, checking it lies inside the file: touching a
 * MAP_SHARED page past the end of a file raises SIGBUS, so a region the file cannot back
 * must be refused here, not discovered by the device.
 */
static int bind_files(struct guest_ram *ram, const struct guest_ram_region *regions,
		      struct ram_entry *sorted, size_t n, struct ram_build *b, int *fds_of_file)
{
	for (size_t i = 0; i < n; i++) {
		const struct guest_ram_region *r = &regions[sorted[i].file];
		struct stat st;
		int f;

		if (fstat(r->fd, &st) < 0)
			return fail(ram, -errno, "region gpa %#llx: fstat: %s",
				    (unsigned long long)r->gpa, strerror(errno));
		if (!S_ISREG(st.st_mode))
			return fail(ram, -EINVAL, "region gpa %#llx: fd is not a regular file",
				    (unsigned long long)r->gpa);
		if (st.st_size < 0 || r->offset + r->size > (uint64_t)st.st_size ||
		    r->offset + r->size < r->offset)
			return fail(ram, -EINVAL,
				    "region gpa %#llx: offset %#llx + size %#llx is past the end "
				    "of its file (%lld bytes)",
				    (unsigned long long)r->gpa, (unsigned long long)r->offset,
				    (unsigned long long)r->size, (long long)st.st_size);
		f = find_file(b->files, b->nfiles, st.st_dev, st.st_ino);
		if (f < 0) {
			f = (int)b->nfiles++;
			b->files[f] = (struct ram_file){.dev = st.st_dev, .ino = st.st_ino,
							.len = (size_t)st.st_size};
			b->need[f] = 0;
			fds_of_file[f] = r->fd;
		}
		if (r->offset + r->size > b->need[f])
			b->need[f] = r->offset + r->size;
		sorted[i].file = f;
	}
	return 0;
}

/* Reuse the current mapping of a file when it covers what the new table needs. */
static int map_files(struct guest_ram *ram, struct ram_build *b, const int *fds_of_file)
{
	for (size_t f = 0; f < b->nfiles; f++) {
		struct ram_file *nf = &b->files[f];
		int old = find_file(ram->files, ram->nfiles, nf->dev, nf->ino);
		void *p;

		if (old >= 0 && ram->files[old].len >= b->need[f]) {
			*nf = ram->files[old];
			continue;
		}
		p = mmap(NULL, nf->len, PROT_READ | PROT_WRITE, MAP_SHARED, fds_of_file[f], 0);
		if (p == MAP_FAILED) {
			int err = errno;

			return fail(ram, -err, "mmap of %zu bytes of guest RAM: %s", nf->len,
				    strerror(err));
		}
		nf->base = p;
		b->fresh[f] = true;
	}
	return 0;
}

int guest_ram_replace(struct guest_ram *ram, const struct guest_ram_region *regions, size_t n)
{
	struct ram_build *b;
	int fds_of_file[GUEST_RAM_MAX_REGIONS];
	bool keep[GUEST_RAM_MAX_REGIONS] = {false};
	int rc;

	ram->error[0] = '\0';
	if (n > GUEST_RAM_MAX_REGIONS)
		return fail(ram, -EINVAL, "%zu regions, at most %d", n, GUEST_RAM_MAX_REGIONS);
	if (n > 0 && regions == NULL)
		return fail(ram, -EINVAL, "no region array");
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return fail(ram, -ENOMEM, "out of memory");
	rc = check_shape(ram, regions, n, b->regions);
	if (rc == 0)
		rc = bind_files(ram, regions, b->regions, n, b, fds_of_file);
	if (rc == 0)
		rc = map_files(ram, b, fds_of_file);
	if (rc < 0) {
		unmap_files(b->files, b->nfiles, b->fresh);
		free(b);
		return rc;
	}
	/* Commit: unmap the old files nothing refers to any more. */
	for (size_t f = 0; f < b->nfiles; f++) {
		int old = find_file(ram->files, ram->nfiles, b->files[f].dev, b->files[f].ino);

		if (old >= 0 && !b->fresh[f])
			keep[old] = true;
	}
	for (size_t i = 0; i < ram->nfiles; i++)
		if (!keep[i])
			munmap(ram->files[i].base, ram->files[i].len);
	memcpy(ram->regions, b->regions, n * sizeof(b->regions[0]));
	memcpy(ram->files, b->files, b->nfiles * sizeof(b->files[0]));
	ram->nregions = n;
	ram->nfiles = b->nfiles;
	free(b);
	return 0;
}

const char *guest_ram_error(const struct guest_ram *ram)
{
	return ram->error;
}

size_t guest_ram_count(const struct guest_ram *ram)
{
	return ram->nregions;
}

static void *entry_hva(const struct guest_ram *ram, const struct ram_entry *e)
{
	return ram->files[e->file].base + e->offset;
}

int guest_ram_get(const struct guest_ram *ram, size_t i, struct guest_ram_map *out)
{
	const struct ram_entry *e;

	if (i >= ram->nregions)
		return -ENOENT;
	e = &ram->regions[i];
	*out = (struct guest_ram_map){.gpa = e->gpa, .size = e->size, .offset = e->offset,
				      .uaddr = e->uaddr, .hva = entry_hva(ram, e)};
	return 0;
}

int guest_ram_translate(const struct guest_ram *ram, uint64_t gpa, uint64_t len, void **hva,
			uint64_t *contig)
{
	size_t lo = 0, hi = ram->nregions;
	const struct ram_entry *e;
	uint64_t off;

	if (len == 0)
		return -EINVAL;
	/* the last region starting at or below gpa */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ram->regions[mid].gpa <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return -EFAULT;
	e = &ram->regions[lo - 1];
	off = gpa - e->gpa;
	if (off >= e->size)
		return -EFAULT;
	*hva = (uint8_t *)entry_hva(ram, e) + off;
	*contig = e->size - off < len ? e->size - off : len;
	return 0;
}

int guest_ram_uaddr_to_gpa(const struct guest_ram *ram, uint64_t uaddr, uint64_t *gpa)
{
	for (size_t i = 0; i < ram->nregions; i++) {
		const struct ram_entry *e = &ram->regions[i];

		if (e->uaddr != 0 && uaddr >= e->uaddr && uaddr - e->uaddr < e->size) {
			*gpa = e->gpa + (uaddr - e->uaddr);
			return 0;
		}
	}
	return -EFAULT;
}

static int translate_cb(void *opaque, uint64_t gpa, uint64_t len, enum vdev_dma_dir dir,
			void **hva, uint64_t *contig)
{
	struct guest_ram *const *ramp = opaque;

	(void)dir; /* every region is mapped read-write */
	return guest_ram_translate(*ramp, gpa, len, hva, contig);
}

void guest_ram_host_ops(struct vdev_host_ops *ops)
{
	*ops = (struct vdev_host_ops){.version = VDEV_HOST_OPS_VERSION,
				      .translate = translate_cb};
}
