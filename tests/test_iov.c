/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The iovec helpers every device parses its chains with (src/core/iov.h): lengths,
 * copies at an offset, skipping, byte addresses and slices, at their edges: empty
 * and zero-length iovecs, offsets at and past the end, ranges that end inside the
 * last iovec.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "core/iov.h"

/* Three buffers of 3, 0 and 5 bytes, filled with 0..7 in order. */
static uint8_t a[3], b[1], c[5];
static struct iovec v[3];

static void fill(void)
{
	for (int i = 0; i < 3; i++)
		a[i] = (uint8_t)i;
	for (int i = 0; i < 5; i++)
		c[i] = (uint8_t)(3 + i);
	v[0] = (struct iovec){a, sizeof(a)};
	v[1] = (struct iovec){b, 0};
	v[2] = (struct iovec){c, sizeof(c)};
}

TestSuite(iov, .init = fill);

Test(iov, len_counts_every_iovec)
{
	cr_assert_eq(vdev_iov_len(v, 3), 8);
	cr_assert_eq(vdev_iov_len(v, 0), 0);
	cr_assert_eq(vdev_iov_len(v + 1, 1), 0);
}

Test(iov, readable_stops_at_the_first_writable)
{
	uint16_t flags[3] = {0, 0, VRING_DESC_F_WRITE};
	uint16_t all_write[3] = {VRING_DESC_F_WRITE, VRING_DESC_F_WRITE, VRING_DESC_F_WRITE};
	uint16_t none[3] = {0, 0, 0};
	size_t bytes = 99;

	cr_assert_eq(vdev_iov_readable(v, flags, 3, &bytes), 2);
	cr_assert_eq(bytes, 3);
	cr_assert_eq(vdev_iov_readable(v, all_write, 3, &bytes), 0);
	cr_assert_eq(bytes, 0);
	cr_assert_eq(vdev_iov_readable(v, none, 3, &bytes), 3);
	cr_assert_eq(bytes, 8);
	cr_assert_eq(vdev_iov_readable(v, none, 3, NULL), 3);
	cr_assert_eq(vdev_iov_readable(v, none, 0, &bytes), 0);
	cr_assert_eq(bytes, 0);
}

Test(iov, to_buf_crosses_iovecs_from_an_offset)
{
	uint8_t out[8];

	memset(out, 0xee, sizeof(out));
	cr_assert_eq(vdev_iov_to_buf(v, 3, 2, out, 4), 4);
	cr_assert_arr_eq(out, ((uint8_t[]){2, 3, 4, 5}), 4);
	cr_assert_eq(out[4], 0xee, "nothing past len is written");
	cr_assert_eq(vdev_iov_to_buf(v, 3, 0, out, 8), 8);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(out[i], i);
}

Test(iov, to_buf_is_short_when_the_iovecs_end)
{
	uint8_t out[8] = {0};

	/* Partial last iovec: 2 bytes from c's tail. */
	cr_assert_eq(vdev_iov_to_buf(v, 3, 6, out, 8), 2);
	cr_assert_eq(out[0], 6);
	cr_assert_eq(out[1], 7);
	cr_assert_eq(vdev_iov_to_buf(v, 3, 8, out, 1), 0, "offset at the end");
	cr_assert_eq(vdev_iov_to_buf(v, 3, 100, out, 1), 0, "offset past the end");
	cr_assert_eq(vdev_iov_to_buf(v, 0, 0, out, 1), 0, "no iovecs");
	cr_assert_eq(vdev_iov_to_buf(v, 3, 0, out, 0), 0, "nothing asked");
	cr_assert_eq(vdev_iov_to_buf(v + 1, 1, 0, out, 1), 0, "only a zero-length iovec");
}

Test(iov, from_buf_crosses_iovecs_from_an_offset)
{
	const uint8_t in[4] = {0xa0, 0xa1, 0xa2, 0xa3};

	cr_assert_eq(vdev_iov_from_buf(v, 3, 1, in, 4), 4);
	cr_assert_eq(a[0], 0);
	cr_assert_eq(a[1], 0xa0);
	cr_assert_eq(a[2], 0xa1);
	cr_assert_eq(c[0], 0xa2);
	cr_assert_eq(c[1], 0xa3);
	cr_assert_eq(c[2], 5, "nothing past len is written");
}

Test(iov, from_buf_is_short_when_the_iovecs_end)
{
	const uint8_t in[4] = {0xa0, 0xa1, 0xa2, 0xa3};

	cr_assert_eq(vdev_iov_from_buf(v, 3, 5, in, 4), 3);
	cr_assert_eq(c[1], 4);
	cr_assert_eq(c[2], 0xa0);
	cr_assert_eq(c[4], 0xa2);
	cr_assert_eq(vdev_iov_from_buf(v, 3, 8, in, 4), 0, "offset at the end");
	cr_assert_eq(vdev_iov_from_buf(v, 3, 9, in, 4), 0, "offset past the end");
	cr_assert_eq(vdev_iov_from_buf(v, 0, 0, in, 4), 0, "no iovecs");
}

Test(iov, skip_inside_the_first_iovec)
{
	int first = vdev_iov_skip(v, 3, 2);

	cr_assert_eq(first, 0);
	cr_assert_eq(v[0].iov_base, a + 2);
	cr_assert_eq(v[0].iov_len, 1);
}

Test(iov, skip_passes_whole_and_zero_length_iovecs)
{
	/* Exactly the first iovec: the zero-length one after it is passed too. */
	cr_assert_eq(vdev_iov_skip(v, 3, 3), 2);
	cr_assert_eq(v[2].iov_base, c, "the iovec it stops at is untouched");
	cr_assert_eq(v[2].iov_len, 5);
	fill();
	cr_assert_eq(vdev_iov_skip(v, 3, 4), 2);
	cr_assert_eq(v[2].iov_base, c + 1);
	cr_assert_eq(v[2].iov_len, 4);
}

Test(iov, skip_to_and_past_the_end)
{
	cr_assert_eq(vdev_iov_skip(v, 3, 8), 3);
	fill();
	cr_assert_eq(vdev_iov_skip(v, 3, 100), 3);
	cr_assert_eq(vdev_iov_skip(v, 0, 1), 0);
	fill();
	cr_assert_eq(vdev_iov_skip(v, 3, 0), 0, "nothing to skip");
	cr_assert_eq(v[0].iov_len, 3);
}

Test(iov, at_finds_each_byte)
{
	for (size_t off = 0; off < 8; off++) {
		uint8_t *p = vdev_iov_at(v, 3, off);

		cr_assert_not_null(p);
		cr_assert_eq(*p, off);
	}
	cr_assert_null(vdev_iov_at(v, 3, 8));
	cr_assert_null(vdev_iov_at(v, 3, 1000));
	cr_assert_null(vdev_iov_at(v, 0, 0));
	cr_assert_null(vdev_iov_at(v + 1, 1, 0));
}

Test(iov, slice_describes_a_range_without_zero_length_entries)
{
	struct iovec d[3];
	int k = vdev_iov_slice(v, 3, 1, 5, d, 3);

	cr_assert_eq(k, 2);
	cr_assert_eq(d[0].iov_base, a + 1);
	cr_assert_eq(d[0].iov_len, 2);
	cr_assert_eq(d[1].iov_base, c);
	cr_assert_eq(d[1].iov_len, 3);
}

Test(iov, slice_inside_the_last_iovec)
{
	struct iovec d[1];

	cr_assert_eq(vdev_iov_slice(v, 3, 4, 3, d, 1), 1);
	cr_assert_eq(d[0].iov_base, c + 1);
	cr_assert_eq(d[0].iov_len, 3);
}

Test(iov, slice_edges)
{
	struct iovec d[3];

	cr_assert_eq(vdev_iov_slice(v, 3, 0, 8, d, 1), -1, "needs two entries");
	cr_assert_eq(vdev_iov_slice(v, 3, 0, 8, d, 2), 2);
	cr_assert_eq(vdev_iov_slice(v, 3, 0, 0, d, 0), 0, "empty range");
	cr_assert_eq(vdev_iov_slice(v, 3, 8, 4, d, 3), 0, "offset at the end");
	cr_assert_eq(vdev_iov_slice(v, 3, 50, 4, d, 3), 0, "offset past the end");
	/* A range longer than what is left describes what is left. */
	cr_assert_eq(vdev_iov_slice(v, 3, 6, 10, d, 3), 1);
	cr_assert_eq(d[0].iov_base, c + 3);
	cr_assert_eq(d[0].iov_len, 2);
}
