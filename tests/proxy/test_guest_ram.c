/* SPDX-License-Identifier: BSD-3-Clause */
/* The guest-RAM table on its own: translation, replacement, refusals, stable mappings. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest_ram.h"

#define MB (1u << 20)

static int new_memfd(size_t size)
{
	int fd = memfd_create("gr-test", MFD_CLOEXEC);

	cr_assert(fd >= 0);
	cr_assert_eq(ftruncate(fd, (off_t)size), 0);
	return fd;
}

Test(guest_ram, translate_contract)
{
	struct guest_ram *ram;
	int fd = new_memfd(2 * MB);
	struct guest_ram_region r[2] = {
		{.gpa = 0x100000, .size = MB, .fd = fd, .offset = MB},
		{.gpa = 0, .size = 0xa0000, .fd = fd, .offset = 0},
	};
	void *hva;
	uint64_t contig;

	cr_assert_eq(guest_ram_create(&ram), 0);
	cr_assert_eq(guest_ram_translate(ram, 0, 1, &hva, &contig), -EFAULT, "empty table");
	cr_assert_eq(guest_ram_replace(ram, r, 2), 0, "%s", guest_ram_error(ram));
	cr_assert_eq(guest_ram_count(ram), 2u);

	struct guest_ram_map m;
	cr_assert_eq(guest_ram_get(ram, 0, &m), 0);
	cr_assert_eq(m.gpa, 0u, "sorted by gpa");
	cr_assert_eq(guest_ram_get(ram, 2, &m), -ENOENT);

	cr_assert_eq(guest_ram_translate(ram, 0x9fff0, 0x100, &hva, &contig), 0);
	cr_assert_eq(contig, 0x10u, "stops at the end of the region");
	cr_assert_eq(guest_ram_translate(ram, 0xa0000, 1, &hva, &contig), -EFAULT, "hole");
	cr_assert_eq(guest_ram_translate(ram, 0x1fffff, 8, &hva, &contig), 0);
	cr_assert_eq(contig, 1u);
	cr_assert_eq(guest_ram_translate(ram, 0x200000, 1, &hva, &contig), -EFAULT, "past RAM");
	cr_assert_eq(guest_ram_translate(ram, UINT64_MAX, 1, &hva, &contig), -EFAULT);
	cr_assert_eq(guest_ram_translate(ram, 0, 0, &hva, &contig), -EINVAL);

	/* Both views of the file: writing through one shows in the other. */
	uint8_t *p;
	cr_assert_eq(guest_ram_translate(ram, 0x100000, 4, (void **)&p, &contig), 0);
	memcpy(p, "abcd", 4);
	char buf[4];
	cr_assert_eq(pread(fd, buf, 4, MB), 4);
	cr_assert_eq(memcmp(buf, "abcd", 4), 0);

	guest_ram_destroy(ram);
	close(fd);
}

Test(guest_ram, host_ops_builder)
{
	struct {
		struct guest_ram *ram; /* first, as the builder's contract asks */
		int other;
	} owner;
	struct vdev_host_ops ops;
	int fd = new_memfd(MB);
	struct guest_ram_region r = {.gpa = 0x1000, .size = MB, .fd = fd};
	void *hva;
	uint64_t contig;

	cr_assert_eq(guest_ram_create(&owner.ram), 0);
	cr_assert_eq(guest_ram_replace(owner.ram, &r, 1), 0);
	guest_ram_host_ops(&ops);
	cr_assert_eq(ops.version, VDEV_HOST_OPS_VERSION);
	cr_assert_eq(ops.translate(&owner, 0x1000, 16, VDEV_DMA_READ, &hva, &contig), 0);
	cr_assert_eq(contig, 16u);
	cr_assert_eq(ops.translate(&owner, 0, 16, VDEV_DMA_WRITE, &hva, &contig), -EFAULT);
	struct vmctx *ctx;
	cr_assert_eq(vdev_vmctx_create(&ops, &owner, &ctx), 0);
	vdev_vmctx_destroy(ctx);
	guest_ram_destroy(owner.ram);
	close(fd);
}

Test(guest_ram, mappings_stable_across_replacements)
{
	struct guest_ram *ram;
	int fd = new_memfd(MB), dup1;
	struct guest_ram_region r = {.gpa = 0, .size = MB, .fd = fd};
	void *a, *b;
	uint64_t contig;

	cr_assert_eq(guest_ram_create(&ram), 0);
	cr_assert_eq(guest_ram_replace(ram, &r, 1), 0);
	cr_assert_eq(guest_ram_translate(ram, 0x5000, 1, &a, &contig), 0);
	/* A new descriptor for the same memfd, split differently: same host addresses. */
	dup1 = dup(fd);
	struct guest_ram_region split[2] = {
		{.gpa = 0, .size = 0x4000, .fd = dup1},
		{.gpa = 0x5000, .size = MB - 0x5000, .fd = dup1, .offset = 0x5000},
	};
	cr_assert_eq(guest_ram_replace(ram, split, 2), 0, "%s", guest_ram_error(ram));
	close(dup1);
	close(fd);
	cr_assert_eq(guest_ram_translate(ram, 0x5000, 1, &b, &contig), 0);
	cr_assert_eq(a, b, "a ring pointer taken before the replacement stays valid");
	cr_assert_eq(guest_ram_translate(ram, 0x4800, 1, &b, &contig), -EFAULT);
	*(volatile uint8_t *)a = 1; /* still mapped */
	guest_ram_destroy(ram);
}

Test(guest_ram, refused_replacement_keeps_old_table)
{
	struct guest_ram *ram;
	int fd = new_memfd(MB);
	struct guest_ram_region good = {.gpa = 0, .size = MB, .fd = fd};
	struct guest_ram_region bad[GUEST_RAM_MAX_REGIONS + 1];
	void *hva;
	uint64_t contig;

	cr_assert_eq(guest_ram_create(&ram), 0);
	cr_assert_eq(guest_ram_replace(ram, &good, 1), 0);
	cr_assert_str_eq(guest_ram_error(ram), "");
	for (size_t i = 0; i < GUEST_RAM_MAX_REGIONS + 1; i++)
		bad[i] = (struct guest_ram_region){.gpa = i * 0x1000, .size = 0x1000, .fd = fd,
						   .offset = i * 0x1000};
	cr_assert_eq(guest_ram_replace(ram, bad, GUEST_RAM_MAX_REGIONS + 1), -EINVAL);
	cr_assert(strstr(guest_ram_error(ram), "at most") != NULL);
	bad[1].gpa = 0x800; /* overlaps bad[0] */
	cr_assert_eq(guest_ram_replace(ram, bad, 2), -EINVAL);
	cr_assert(strstr(guest_ram_error(ram), "overlap") != NULL);
	bad[0] = (struct guest_ram_region){.gpa = 0, .size = 0x1000, .fd = -1};
	cr_assert_eq(guest_ram_replace(ram, bad, 1), -EBADF);
	bad[0] = (struct guest_ram_region){.gpa = 0, .size = 0x1000, .fd = 9999};
	cr_assert_eq(guest_ram_replace(ram, bad, 1), -EBADF);
	bad[0] = (struct guest_ram_region){.gpa = 0, .size = UINT64_MAX, .fd = fd,
					   .offset = 0x1000};
	cr_assert_eq(guest_ram_replace(ram, bad, 1), -EINVAL);
	/* adjacent regions are fine; the old table survived every refusal above */
	cr_assert_eq(guest_ram_count(ram), 1u);
	cr_assert_eq(guest_ram_translate(ram, MB - 1, 1, &hva, &contig), 0);
	bad[0] = (struct guest_ram_region){.gpa = 0, .size = 0x1000, .fd = fd};
	bad[1] = (struct guest_ram_region){.gpa = 0x1000, .size = 0x1000, .fd = fd};
	cr_assert_eq(guest_ram_replace(ram, bad, 2), 0);
	cr_assert_eq(guest_ram_replace(ram, NULL, 0), 0, "empty table");
	cr_assert_eq(guest_ram_translate(ram, 0, 1, &hva, &contig), -EFAULT);
	guest_ram_destroy(ram);
	close(fd);
}

Test(guest_ram, region_at_top_of_address_space)
{
	struct guest_ram *ram;
	int fd = new_memfd(0x2000);
	struct guest_ram_region r = {.gpa = UINT64_MAX - 0xfff, .size = 0x1000, .fd = fd};
	void *hva;
	uint64_t contig;

	cr_assert_eq(guest_ram_create(&ram), 0);
	cr_assert_eq(guest_ram_replace(ram, &r, 1), 0, "%s", guest_ram_error(ram));
	cr_assert_eq(guest_ram_translate(ram, UINT64_MAX, 16, &hva, &contig), 0);
	cr_assert_eq(contig, 1u);
	guest_ram_destroy(ram);
	close(fd);
}

Test(guest_ram, uaddr_lookup)
{
	struct guest_ram *ram;
	int fd = new_memfd(MB);
	struct guest_ram_region r = {.gpa = 0x100000, .size = MB, .fd = fd,
				     .uaddr = 0x7f0000000000ull};
	uint64_t gpa;

	cr_assert_eq(guest_ram_create(&ram), 0);
	cr_assert_eq(guest_ram_replace(ram, &r, 1), 0);
	cr_assert_eq(guest_ram_uaddr_to_gpa(ram, 0x7f0000000010ull, &gpa), 0);
	cr_assert_eq(gpa, 0x100010u);
	cr_assert_eq(guest_ram_uaddr_to_gpa(ram, 0x7f0000100000ull, &gpa), -EFAULT);
	guest_ram_destroy(ram);
	close(fd);
}
