/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The trace format's two encodings: every kind survives binary and text round trips
 * byte for byte (edge values and random ones), and hostile binary and text input is
 * refused with an error that says where, never read out of bounds.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay/trace_text.h"
#include "trace/trace_format.h"
#include "trace/trace_layout.h"
#include "vdev/net.h"

/* ---------------- helpers ---------------- */

/* Every kind this version defines, in the order of the format document. */
static const uint8_t all_kinds[] = {
	VDEV_TR_DEVICE, VDEV_TR_PARAM,     VDEV_TR_RAM,     VDEV_TR_CFG_READ, VDEV_TR_CFG_WRITE,
	VDEV_TR_BAR_READ, VDEV_TR_BAR_WRITE, VDEV_TR_NOTIFY, VDEV_TR_POLL,     VDEV_TR_RESET,
	VDEV_TR_HOST,   VDEV_TR_MEM,       VDEV_TR_FAULT,   VDEV_TR_TIME,     VDEV_TR_COMPLETE,
	VDEV_TR_BACKEND, VDEV_TR_IRQ,
};
#define NKINDS (sizeof(all_kinds) / sizeof(all_kinds[0]))

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t next_rand(void)
{
	/* xorshift64*: deterministic, so a failure reproduces. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static uint64_t field_max(unsigned size)
{
	return size >= 8 ? UINT64_MAX : (UINT64_C(1) << (8 * size)) - 1;
}

/* A growing binary trace. */
struct tbuf {
	uint8_t *b;
	size_t len;
	size_t cap;
};

static void tbuf_put(struct tbuf *t, const void *p, size_t n)
{
	if (t->len + n > t->cap) {
		t->cap = (t->len + n) * 2 + 64;
		t->b = realloc(t->b, t->cap);
		cr_assert_not_null(t->b);
	}
	memcpy(t->b + t->len, p, n);
	t->len += n;
}

static void tbuf_header(struct tbuf *t)
{
	uint8_t h[VDEV_TRACE_HEADER_LEN];

	vdev_trace_header_encode(h);
	tbuf_put(t, h, sizeof(h));
}

static size_t tbuf_rec(struct tbuf *t, const struct vdev_trace_rec *r)
{
	size_t size = vdev_trace_rec_size(r);
	cr_assert_gt(size, 0, "kind 0x%02x cannot be encoded", r->kind);
	uint8_t *tmp = malloc(size);
	cr_assert_not_null(tmp);
	cr_assert_eq(vdev_trace_rec_encode(r, tmp), size);
	tbuf_put(t, tmp, size);
	free(tmp);
	return size;
}

static uint8_t data_pool[4096];
static const uint8_t key_max[] = "abcdefghijklmnopqrstuvwxyz_01239"; /* 32 bytes */

/*
 * A record of `kind` whose layout fields are set by `pick(size)` (the zero, maximum or
 * random value of the field's binary size) and whose payload has `dlen` bytes.
 */
static struct vdev_trace_rec make_rec(uint8_t kind, uint64_t (*pick)(unsigned size),
				      uint32_t dlen)
{
	const struct vdev_trace_layout *l = vdev_trace_layout_of(kind);
	struct vdev_trace_rec r = { .kind = kind };

	cr_assert_not_null(l, "kind 0x%02x has no layout", kind);
	for (int i = 0; i < l->nfields; i++)
		vdev_trace_slot_set(&r, l->fields[i].slot, pick(l->fields[i].size));
	if (l->payload == VDEV_TR_PAYLOAD_KEY) {
		r.data = key_max;
		r.len = dlen == 0 ? 1 : (dlen > VDEV_TRACE_MAX_KEY ? VDEV_TRACE_MAX_KEY : dlen);
	} else if (l->payload == VDEV_TR_PAYLOAD_BYTES) {
		r.data = dlen != 0 ? data_pool : NULL;
		r.len = dlen;
	}
	return r;
}

static uint64_t pick_zero(unsigned size)
{
	(void)size;
	return 0;
}

static uint64_t pick_max(unsigned size)
{
	return field_max(size);
}

static uint64_t pick_rand(unsigned size)
{
	/* Half the time a small value (where symbolic names live), else anything. */
	uint64_t v = next_rand();
	return (v & 1) ? (v >> 8) % 8 : (v >> 1) & field_max(size);
}

/* Every field the layout of r's kind carries, and the payload, are equal. */
static void assert_same_rec(const struct vdev_trace_rec *a, const struct vdev_trace_rec *b)
{
	cr_assert_eq(a->kind, b->kind);
	cr_assert_eq(a->width, b->width, "kind 0x%02x width", a->kind);
	cr_assert_eq(a->bar, b->bar, "kind 0x%02x bar", a->kind);
	cr_assert_eq(a->type, b->type, "kind 0x%02x type", a->kind);
	cr_assert_eq(a->queue, b->queue, "kind 0x%02x queue", a->kind);
	cr_assert_eq(a->head, b->head, "kind 0x%02x head", a->kind);
	cr_assert_eq(a->result, b->result, "kind 0x%02x result", a->kind);
	cr_assert_eq(a->addr, b->addr, "kind 0x%02x addr", a->kind);
	cr_assert_eq(a->value, b->value, "kind 0x%02x value", a->kind);
	cr_assert_eq(a->len, b->len, "kind 0x%02x len", a->kind);
	if (a->len != 0)
		cr_assert(memcmp(a->data, b->data, a->len) == 0, "kind 0x%02x data", a->kind);
}

/* The text form of a binary trace, through the reader and the printer. */
static char *to_text(const uint8_t *bin, size_t len, size_t *text_len)
{
	struct vdev_trace_reader rd;
	struct vdev_trace_rec r;
	char *text = NULL;
	FILE *f = open_memstream(&text, text_len);
	int rc;

	cr_assert_not_null(f);
	cr_assert_eq(vdev_trace_reader_init(&rd, bin, len, false), 0, "%s", rd.errmsg);
	cr_assert_eq(vdev_trace_text_header(f), 0);
	while ((rc = vdev_trace_next(&rd, &r)) == 1)
		cr_assert_eq(vdev_trace_rec_print(f, &r), 0, "print kind 0x%02x", r.kind);
	cr_assert_eq(rc, 0, "%s", rd.errmsg);
	fclose(f);
	return text;
}

/* binary -> text -> binary gives the same bytes. */
static void assert_text_round_trip(const struct tbuf *t)
{
	size_t text_len;
	char *text = to_text(t->b, t->len, &text_len);
	uint8_t *back = NULL;
	size_t back_len = 0;
	char err[256];

	int rc = vdev_trace_text_to_binary(text, text_len, &back, &back_len, err, sizeof(err));
	cr_assert_eq(rc, 0, "text did not parse back: %s\n%.2000s", err, text);
	cr_assert_eq(back_len, t->len, "binary length %zu -> %zu\n%.2000s", t->len, back_len,
		     text);
	cr_assert(memcmp(back, t->b, t->len) == 0, "bytes differ after text\n%.2000s", text);
	free(back);
	free(text);
}

/* Parse text that must fail; the error must contain each of the given fragments. */
static void assert_text_error(const char *text, const char *frag1, const char *frag2)
{
	uint8_t *out = (uint8_t *)1;
	size_t out_len = 99;
	char err[256];

	int rc = vdev_trace_text_to_binary(text, strlen(text), &out, &out_len, err, sizeof(err));
	cr_assert_lt(rc, 0, "accepted: %s", text);
	cr_assert_null(out, "no buffer on error");
	cr_assert_str_not_empty(err);
	cr_assert_not_null(strstr(err, frag1), "error '%s' lacks '%s' (text: %s)", err, frag1,
			   text);
	if (frag2 != NULL)
		cr_assert_not_null(strstr(err, frag2), "error '%s' lacks '%s' (text: %s)", err,
				   frag2, text);
}

/* Parse text that must succeed; returns the binary (free it). */
static uint8_t *parse_ok(const char *text, size_t *len)
{
	uint8_t *out = NULL;
	char err[256];

	int rc = vdev_trace_text_to_binary(text, strlen(text), &out, len, err, sizeof(err));
	cr_assert_eq(rc, 0, "rejected (%s): %s", err, text);
	return out;
}

/* Decode all records of a binary trace; returns how many, asserts the final rc. */
static int count_records(const uint8_t *b, size_t len, bool lenient, int want_rc,
			 struct vdev_trace_reader *rd)
{
	struct vdev_trace_rec r;
	int n = 0, rc;

	if (vdev_trace_reader_init(rd, b, len, lenient) < 0) {
		cr_assert_eq(rd->error, want_rc, "init: %s", rd->errmsg);
		return 0;
	}
	while ((rc = vdev_trace_next(rd, &r)) == 1) {
		/* Zero copy: data lies inside the buffer. */
		if (r.len != 0)
			cr_assert(r.data >= b && r.data + r.len <= b + len, "data outside buffer");
		n++;
	}
	cr_assert_eq(rc, want_rc, "final rc %d, expected %d (%s)", rc, want_rc, rd->errmsg);
	return n;
}

/* A trace with one record of every kind, edge and ordinary values mixed. */
static struct tbuf sample_trace(void)
{
	struct tbuf t = { 0 };

	tbuf_header(&t);
	for (size_t i = 0; i < NKINDS; i++) {
		struct vdev_trace_rec r = make_rec(all_kinds[i], pick_rand, 5);
		tbuf_rec(&t, &r);
	}
	return t;
}

/* ---------------- layouts ---------------- */

Test(trace_codec, every_kind_has_a_distinct_name_and_sane_layout)
{
	for (size_t i = 0; i < NKINDS; i++) {
		const struct vdev_trace_layout *l = vdev_trace_layout_of(all_kinds[i]);
		cr_assert_not_null(l, "kind 0x%02x", all_kinds[i]);
		cr_assert_eq(l->kind, all_kinds[i]);
		const char *name = vdev_trace_kind_name(all_kinds[i]);
		cr_assert_not_null(name);
		cr_assert_eq(vdev_trace_layout_named(name, strlen(name)), l, "name %s", name);
		for (size_t j = 0; j < i; j++)
			cr_assert_str_neq(name, vdev_trace_kind_name(all_kinds[j]));
		for (int f = 0; f < l->nfields; f++) {
			unsigned s = l->fields[f].size;
			cr_assert(s == 1 || s == 2 || s == 4 || s == 8, "%s field %d", name, f);
		}
	}
	unsigned known = 0;
	for (unsigned k = 0; k < 256; k++)
		known += vdev_trace_layout_of((uint8_t)k) != NULL;
	cr_assert_eq(known, NKINDS, "layouts for kinds outside the list");
	cr_assert_null(vdev_trace_kind_name(0x00));
	cr_assert_null(vdev_trace_kind_name(0xff));
}

Test(trace_codec, documented_record_sizes)
{
	/* The sizes docs/trace-format.md states; a layout change must update the doc. */
	static const struct {
		uint8_t kind;
		size_t size;
	} sizes[] = {
		{ VDEV_TR_DEVICE, 5 },    { VDEV_TR_RAM, 17 },       { VDEV_TR_CFG_READ, 14 },
		{ VDEV_TR_CFG_WRITE, 14 }, { VDEV_TR_BAR_READ, 19 },  { VDEV_TR_BAR_WRITE, 19 },
		{ VDEV_TR_NOTIFY, 8 },    { VDEV_TR_POLL, 1 },       { VDEV_TR_RESET, 1 },
		{ VDEV_TR_HOST, 18 },     { VDEV_TR_FAULT, 12 },     { VDEV_TR_TIME, 9 },
		{ VDEV_TR_COMPLETE, 9 },  { VDEV_TR_IRQ, 14 },
	};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct vdev_trace_rec r = { .kind = sizes[i].kind };
		cr_assert_eq(vdev_trace_rec_size(&r), sizes[i].size, "kind 0x%02x", r.kind);
	}
	struct vdev_trace_rec p = { .kind = VDEV_TR_PARAM, .data = key_max, .len = 5 };
	cr_assert_eq(vdev_trace_rec_size(&p), 1 + 1 + 5 + 8);
	struct vdev_trace_rec m = { .kind = VDEV_TR_MEM, .data = data_pool, .len = 7 };
	cr_assert_eq(vdev_trace_rec_size(&m), 13 + 7);
	struct vdev_trace_rec b = { .kind = VDEV_TR_BACKEND, .data = data_pool, .len = 7 };
	cr_assert_eq(vdev_trace_rec_size(&b), 12 + 7);
}

Test(trace_codec, exact_bytes_of_a_cfg_read)
{
	/* Pins the byte order and field order against the document. */
	struct vdev_trace_rec r = { .kind = VDEV_TR_CFG_READ, .addr = 0x44, .width = 4,
				    .value = 0x11223344, .result = -22 };
	static const uint8_t want[] = { 0x10, 0x44, 0, 0, 0, 4, 0x44, 0x33, 0x22, 0x11,
					0xea, 0xff, 0xff, 0xff };
	uint8_t buf[32];

	cr_assert_eq(vdev_trace_rec_encode(&r, buf), sizeof(want));
	cr_assert(memcmp(buf, want, sizeof(want)) == 0);

	uint8_t hdr[VDEV_TRACE_HEADER_LEN];
	vdev_trace_header_encode(hdr);
	cr_assert(memcmp(hdr, "VDEVTRCE\x01\x00\x00\x00", 12) == 0);
}

/* ---------------- round trips ---------------- */

static void binary_round_trip(uint64_t (*pick)(unsigned), uint32_t dlen)
{
	struct tbuf t = { 0 };
	struct vdev_trace_rec want[NKINDS], got;
	struct vdev_trace_reader rd;

	tbuf_header(&t);
	for (size_t i = 0; i < NKINDS; i++) {
		want[i] = make_rec(all_kinds[i], pick, dlen);
		tbuf_rec(&t, &want[i]);
	}
	cr_assert_eq(vdev_trace_reader_init(&rd, t.b, t.len, false), 0, "%s", rd.errmsg);
	for (size_t i = 0; i < NKINDS; i++) {
		cr_assert_eq(vdev_trace_next(&rd, &got), 1, "record %zu: %s", i, rd.errmsg);
		assert_same_rec(&want[i], &got);
	}
	cr_assert_eq(vdev_trace_next(&rd, &got), 0);
	assert_text_round_trip(&t);
	free(t.b);
}

Test(trace_codec, every_kind_round_trips_with_zero_fields)
{
	binary_round_trip(pick_zero, 0);
}

Test(trace_codec, every_kind_round_trips_with_maximum_fields)
{
	binary_round_trip(pick_max, VDEV_TRACE_MAX_KEY);
	binary_round_trip(pick_max, sizeof(data_pool));
}

Test(trace_codec, random_records_round_trip_through_text)
{
	for (size_t i = 0; i < sizeof(data_pool); i++)
		data_pool[i] = (uint8_t)next_rand();
	for (int round = 0; round < 50; round++) {
		struct tbuf t = { 0 };
		tbuf_header(&t);
		for (int n = 0; n < 60; n++) {
			uint8_t kind = all_kinds[next_rand() % NKINDS];
			struct vdev_trace_rec r = make_rec(kind, pick_rand, next_rand() % 40);
			tbuf_rec(&t, &r);
		}
		assert_text_round_trip(&t);
		free(t.b);
	}
}

Test(trace_codec, negative_results_and_unnamed_values_round_trip)
{
	struct tbuf t = { 0 };
	tbuf_header(&t);
	struct vdev_trace_rec recs[] = {
		{ .kind = VDEV_TR_CFG_WRITE, .result = INT32_MIN, .width = 255 },
		{ .kind = VDEV_TR_COMPLETE, .result = -1, .queue = 65535, .head = 65535 },
		{ .kind = VDEV_TR_BACKEND, .result = INT32_MAX, .width = 200 },
		{ .kind = VDEV_TR_DEVICE, .type = 0xffff, .width = 9, .bar = 0xff },
		{ .kind = VDEV_TR_DEVICE, .type = 2, .width = 2, .bar = 0x40 | VDEV_TR_PCI_MSI },
		{ .kind = VDEV_TR_FAULT, .width = 0, .queue = 3, .value = UINT64_MAX },
		{ .kind = VDEV_TR_IRQ, .width = 7, .addr = UINT64_MAX, .value = UINT32_MAX },
		{ .kind = VDEV_TR_HOST, .width = 0, .addr = 1, .value = 2 },
	};
	for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++)
		tbuf_rec(&t, &recs[i]);
	assert_text_round_trip(&t);
	free(t.b);
}

Test(trace_codec, text_uses_symbolic_names)
{
	struct tbuf t = { 0 };
	tbuf_header(&t);
	struct vdev_trace_rec recs[] = {
		{ .kind = VDEV_TR_DEVICE, .type = 2, .width = 2,
		  .bar = VDEV_TR_PCI_MSIX | VDEV_TR_PCI_MSI },
		{ .kind = VDEV_TR_FAULT, .width = VDEV_TR_FAULT_SHORT, .value = 3 },
		{ .kind = VDEV_TR_BACKEND, .width = VDEV_TR_BE_NET_RECV, .result = -11,
		  .data = (const uint8_t *)"\x01\xab", .len = 2 },
		{ .kind = VDEV_TR_HOST, .width = VDEV_TR_HOST_BLK_RESIZE, .addr = 0x100000 },
		{ .kind = VDEV_TR_IRQ, .width = 2, .value = 1 },
	};
	for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++)
		tbuf_rec(&t, &recs[i]);
	size_t len;
	char *text = to_text(t.b, t.len, &len);
	const char *want = "vdev-trace 1\n"
			   "device type=blk mode=modern flags=msix,msi\n"
			   "fault kind=short skip=0 limit=0x3\n"
			   "backend op=net-recv queue=0 result=-11 data=01ab\n"
			   "host op=blk-resize a=0x100000 b=0x0\n"
			   "irq kind=intx addr=0x0 value=0x1\n";
	cr_assert_str_eq(text, want);
	free(text);
	free(t.b);
}

Test(trace_codec, text_accepts_comments_blanks_crlf_and_defaults)
{
	size_t a_len, b_len;
	uint8_t *a = parse_ok("vdev-trace 1   # a comment on the header\r\n"
			      "\n"
			      "# a whole-line comment\n"
			      "   \t\n"
			      "device type=2 mode=2 flags=0x3\r\n"
			      "cfg-read off=0x10 width=4   # trailing comment\n"
			      "notify queue=1\n"
			      "mem addr=0x1000 data=DEADbeef\n"
			      "param key=num_queues value=4\n"
			      "poll",
			      &a_len);
	uint8_t *b = parse_ok("vdev-trace 1\n"
			      "device type=blk mode=modern flags=msi,msix\n"
			      "cfg-read width=4 off=16 value=0 result=0\n"
			      "notify has-data=0 queue=1 value=0x0\n"
			      "mem data=deadbeef addr=4096\n"
			      "param value=0x4 key=num_queues\n"
			      "poll\n",
			      &b_len);
	cr_assert_eq(a_len, b_len);
	cr_assert(memcmp(a, b, a_len) == 0, "defaults, names and numbers must agree");

	struct vdev_trace_reader rd;
	cr_assert_eq(count_records(a, a_len, false, 0, &rd), 6);
	free(a);
	free(b);
}

Test(trace_codec, negative_result_in_hex_or_with_a_sign)
{
	size_t c_len, d_len;
	uint8_t *c = parse_ok("vdev-trace 1\ncomplete result=-0x16\n", &c_len);
	uint8_t *d = parse_ok("vdev-trace 1\ncomplete result=0xffffffea\n", &d_len);

	cr_assert(c_len == d_len && memcmp(c, d, c_len) == 0);
	cr_assert_eq(c[c_len - 4], 0xea);
	free(c);
	free(d);
}

Test(trace_codec, empty_text_trace_is_just_a_header)
{
	size_t len;
	uint8_t *b = parse_ok("vdev-trace 1\n", &len);
	cr_assert_eq(len, VDEV_TRACE_HEADER_LEN);
	free(b);
}

/* ---------------- hostile binary ---------------- */

Test(trace_codec, truncated_at_every_byte)
{
	struct tbuf t = sample_trace();
	/* Offsets where a record ends: a cut there is a clean, shorter trace. */
	size_t ends[NKINDS + 1];
	size_t nends = 0;
	struct vdev_trace_reader rd;
	struct vdev_trace_rec r;

	cr_assert_eq(vdev_trace_reader_init(&rd, t.b, t.len, false), 0);
	ends[nends++] = rd.pos;
	while (vdev_trace_next(&rd, &r) == 1)
		ends[nends++] = rd.pos;
	cr_assert_eq(nends, NKINDS + 1);

	for (size_t cut = 0; cut < t.len; cut++) {
		/* A copy of exactly `cut` bytes, so a read past it is caught by ASan. */
		uint8_t *b = malloc(cut ? cut : 1);
		memcpy(b, t.b, cut);
		int whole = 0;
		bool boundary = false;
		for (size_t i = 0; i < nends; i++) {
			if (ends[i] <= cut)
				whole = (int)i;
			if (ends[i] == cut)
				boundary = true;
		}
		if (cut < VDEV_TRACE_HEADER_LEN) {
			cr_assert_eq(count_records(b, cut, false, -EINVAL, &rd), 0, "cut %zu", cut);
			cr_assert_eq(count_records(b, cut, true, 0, &rd), 0, "lenient cut %zu", cut);
		} else {
			int strict = count_records(b, cut, false, boundary ? 0 : -EPROTO, &rd);
			cr_assert_eq(strict, whole, "strict cut %zu", cut);
			if (!boundary)
				cr_assert_not_null(strstr(rd.errmsg, "truncated"), "%s", rd.errmsg);
			cr_assert_eq(count_records(b, cut, true, 0, &rd), whole, "lenient cut %zu",
				     cut);
		}
		free(b);
	}
	free(t.b);
}

Test(trace_codec, lenient_reader_takes_raw_records)
{
	struct tbuf t = sample_trace();
	struct vdev_trace_reader rd;
	const uint8_t *raw = t.b + VDEV_TRACE_HEADER_LEN;
	size_t raw_len = t.len - VDEV_TRACE_HEADER_LEN;

	cr_assert_eq(count_records(raw, raw_len, true, 0, &rd), (int)NKINDS);
	/* Without the header a strict reader refuses. */
	cr_assert_eq(count_records(raw, raw_len, false, -EINVAL, &rd), 0);
	cr_assert_not_null(strstr(rd.errmsg, "VDEVTRCE"), "%s", rd.errmsg);
	/* An empty or NULL input is an empty trace. */
	cr_assert_eq(count_records(NULL, 0, true, 0, &rd), 0);
	cr_assert_eq(count_records(raw, 0, true, 0, &rd), 0);
	free(t.b);
}

Test(trace_codec, header_version_and_reserved_checked)
{
	uint8_t b[VDEV_TRACE_HEADER_LEN + 1];
	struct vdev_trace_reader rd;

	vdev_trace_header_encode(b);
	b[VDEV_TRACE_HEADER_LEN] = VDEV_TR_POLL;
	cr_assert_eq(count_records(b, sizeof(b), false, 0, &rd), 1);

	b[8] = 2;
	cr_assert_eq(count_records(b, sizeof(b), false, -EINVAL, &rd), 0);
	cr_assert_not_null(strstr(rd.errmsg, "version 2"), "%s", rd.errmsg);
	/* A fuzzer's mutated version is skipped with the rest of the header. */
	cr_assert_eq(count_records(b, sizeof(b), true, 0, &rd), 1);

	b[8] = 1;
	b[11] = 0x80;
	cr_assert_eq(count_records(b, sizeof(b), false, -EINVAL, &rd), 0);
	cr_assert_not_null(strstr(rd.errmsg, "reserved"), "%s", rd.errmsg);
}

Test(trace_codec, unknown_kinds_refused_in_both_modes)
{
	struct vdev_trace_reader rd;

	for (unsigned k = 0; k < 256; k++) {
		if (vdev_trace_layout_of((uint8_t)k) != NULL)
			continue;
		/* A full record's worth of bytes after it, so only the kind is wrong. */
		uint8_t b[64] = { (uint8_t)k };
		for (int lenient = 0; lenient < 2; lenient++) {
			if (!lenient) {
				uint8_t hb[VDEV_TRACE_HEADER_LEN + sizeof(b)];
				vdev_trace_header_encode(hb);
				memcpy(hb + VDEV_TRACE_HEADER_LEN, b, sizeof(b));
				cr_assert_eq(count_records(hb, sizeof(hb), false, -EPROTO, &rd), 0);
			} else {
				cr_assert_eq(count_records(b, sizeof(b), true, -EPROTO, &rd), 0);
			}
			char want[32];
			snprintf(want, sizeof(want), "kind 0x%02x", k);
			cr_assert_not_null(strstr(rd.errmsg, want), "%s", rd.errmsg);
		}
	}
}

Test(trace_codec, errors_are_sticky)
{
	uint8_t b[] = { VDEV_TR_POLL, 0xee, VDEV_TR_POLL };
	struct vdev_trace_reader rd;
	struct vdev_trace_rec r;

	cr_assert_eq(vdev_trace_reader_init(&rd, b, sizeof(b), true), 0);
	cr_assert_eq(vdev_trace_next(&rd, &r), 1);
	cr_assert_eq(vdev_trace_next(&rd, &r), -EPROTO);
	cr_assert_eq(vdev_trace_next(&rd, &r), -EPROTO, "the poll after it stays unread");
	cr_assert_eq(rd.error, -EPROTO);
}

static void mem_with_len(uint8_t *b, uint32_t len)
{
	b[0] = VDEV_TR_MEM;
	memset(b + 1, 0, 8);
	b[9] = (uint8_t)len;
	b[10] = (uint8_t)(len >> 8);
	b[11] = (uint8_t)(len >> 16);
	b[12] = (uint8_t)(len >> 24);
}

Test(trace_codec, huge_lengths_refused_without_reading_past_the_buffer)
{
	struct vdev_trace_reader rd;
	static const uint32_t over[] = { VDEV_TRACE_MAX_DATA + 1, 0x80000000u, 0xffffffffu };

	for (size_t i = 0; i < sizeof(over) / sizeof(over[0]); i++) {
		/* Header (for the strict reader), the record, 4 bytes of data. */
		size_t len = VDEV_TRACE_HEADER_LEN + 13 + 4;
		uint8_t *b = malloc(len);
		vdev_trace_header_encode(b);
		mem_with_len(b + VDEV_TRACE_HEADER_LEN, over[i]);
		memset(b + len - 4, 0xaa, 4);
		for (int lenient = 0; lenient < 2; lenient++) {
			cr_assert_eq(count_records(b, len, lenient, -EPROTO, &rd), 0, "len %#x",
				     over[i]);
			cr_assert_not_null(strstr(rd.errmsg, "limit"), "%s", rd.errmsg);
		}
		free(b);
	}
	/* At the limit the length is legal but the bytes are not there: truncated. */
	uint8_t *b = malloc(VDEV_TRACE_HEADER_LEN + 13 + 4);
	vdev_trace_header_encode(b);
	mem_with_len(b + VDEV_TRACE_HEADER_LEN, VDEV_TRACE_MAX_DATA);
	memset(b + VDEV_TRACE_HEADER_LEN + 13, 0xaa, 4);
	cr_assert_eq(count_records(b, VDEV_TRACE_HEADER_LEN + 17, true, 0, &rd), 0);
	cr_assert_eq(count_records(b, VDEV_TRACE_HEADER_LEN + 17, false, -EPROTO, &rd), 0);
	cr_assert_not_null(strstr(rd.errmsg, "truncated"), "%s", rd.errmsg);
	free(b);

	/* The same for a BACKEND record. */
	uint8_t be[12] = { VDEV_TR_BACKEND, 1, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff };
	cr_assert_eq(count_records(be, sizeof(be), true, -EPROTO, &rd), 0);
	cr_assert_not_null(strstr(rd.errmsg, "backend"), "%s", rd.errmsg);
}

Test(trace_codec, bad_param_keys_refused)
{
	static const struct {
		const char *key;
		uint8_t len;
	} bad[] = {
		{ "", 0 },        { "Upper", 5 }, { "has-dash", 8 }, { "sp ace", 6 },
		{ "nul\0x", 5 },  { "\xff", 1 },
		{ "abcdefghijklmnopqrstuvwxyz0123456", 33 },
	};
	struct vdev_trace_reader rd;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t b[64] = { VDEV_TR_PARAM, bad[i].len };
		memcpy(b + 2, bad[i].key, bad[i].len);
		size_t len = 2 + bad[i].len + 8;
		cr_assert_eq(count_records(b, len, true, -EPROTO, &rd), 0, "key %zu", i);
		cr_assert_not_null(strstr(rd.errmsg, "key"), "%s", rd.errmsg);
		struct vdev_trace_rec r = { .kind = VDEV_TR_PARAM,
					    .data = (const uint8_t *)bad[i].key,
					    .len = bad[i].len };
		cr_assert_eq(vdev_trace_rec_size(&r), 0, "encoder must refuse key %zu", i);
		cr_assert_eq(vdev_trace_rec_encode(&r, b), 0);
		cr_assert_eq(vdev_trace_rec_print(stdout, &r), -EINVAL);
	}
	/* A key length pointing past the end is truncation, not a bad key. */
	uint8_t cut[] = { VDEV_TR_PARAM, 30, 'a', 'b' };
	cr_assert_eq(count_records(cut, sizeof(cut), true, 0, &rd), 0);
}

Test(trace_codec, encoder_refuses_what_it_cannot_encode)
{
	struct vdev_trace_rec r = { .kind = 0x7f };
	uint8_t b[8] = { 0x5a };

	cr_assert_eq(vdev_trace_rec_size(&r), 0);
	cr_assert_eq(vdev_trace_rec_encode(&r, b), 0);
	cr_assert_eq(b[0], 0x5a, "nothing written");
	cr_assert_eq(vdev_trace_rec_print(stdout, &r), -EINVAL);

	struct vdev_trace_rec big = { .kind = VDEV_TR_MEM, .data = data_pool,
				      .len = VDEV_TRACE_MAX_DATA + 1 };
	cr_assert_eq(vdev_trace_rec_size(&big), 0);
	struct vdev_trace_rec nodata = { .kind = VDEV_TR_BACKEND, .len = 3 };
	cr_assert_eq(vdev_trace_rec_size(&nodata), 0);
}

Test(trace_codec, random_bytes_never_crash_the_reader)
{
	uint8_t b[256];
	struct vdev_trace_reader rd;
	struct vdev_trace_rec r;

	for (int round = 0; round < 20000; round++) {
		size_t len = next_rand() % sizeof(b);
		for (size_t i = 0; i < len; i++) {
			/* Bias towards known kinds so decoding goes deep. */
			uint64_t x = next_rand();
			b[i] = (x & 3) == 0 ? all_kinds[(x >> 8) % NKINDS] : (uint8_t)(x >> 16);
		}
		vdev_trace_reader_init(&rd, b, len, true);
		int rc, n = 0;
		while ((rc = vdev_trace_next(&rd, &r)) == 1) {
			cr_assert(rd.pos <= len);
			n++;
		}
		cr_assert(rc == 0 || rc == -EPROTO);
		cr_assert(rc == 0 || rd.errmsg[0] != '\0');
	}
}

Test(trace_codec, mutated_text_is_refused_or_parses_to_a_valid_trace)
{
	static const char alphabet[] = "0123456789abcdefxX=-, \t\n#\r\x01zqueo";
	struct tbuf t = sample_trace();
	size_t len;
	char *text = to_text(t.b, t.len, &len);
	char *m = malloc(len);
	char err[256];

	cr_assert_not_null(m);
	for (int round = 0; round < 3000; round++) {
		memcpy(m, text, len);
		for (int k = 0; k < 1 + (int)(next_rand() % 4); k++)
			m[next_rand() % len] = alphabet[next_rand() % (sizeof(alphabet) - 1)];
		size_t mlen = next_rand() % 8 == 0 ? next_rand() % len : len;
		uint8_t *bin = NULL;
		size_t bin_len = 0;
		if (vdev_trace_text_to_binary(m, mlen, &bin, &bin_len, err, sizeof(err)) < 0) {
			cr_assert_null(bin);
			cr_assert(strncmp(err, "line ", 5) == 0, "error without a line: %s", err);
			continue;
		}
		/* Whatever parsed is a valid binary trace that survives a text round trip. */
		struct tbuf b = { .b = bin, .len = bin_len, .cap = bin_len };
		assert_text_round_trip(&b);
		free(bin);
	}
	free(m);
	free(text);
	free(t.b);
}

/* ---------------- net header image ---------------- */

Test(trace_codec, net_header_image)
{
	struct vdev_net_hdr h = { .flags = 1, .gso_type = 0x81, .hdr_len = 0x1234,
				  .gso_size = 0xfedc, .csum_start = 34, .csum_offset = 16 };
	uint8_t img[VDEV_TRACE_NET_HDR_LEN + 1];
	static const uint8_t want[] = { 1, 0x81, 0x34, 0x12, 0xdc, 0xfe, 34, 0, 16, 0 };

	vdev_trace_net_hdr_encode(&h, img);
	cr_assert(memcmp(img, want, sizeof(want)) == 0);
	struct vdev_net_hdr back;
	memset(&back, 0x55, sizeof(back));
	cr_assert_eq(vdev_trace_net_hdr_decode(img, VDEV_TRACE_NET_HDR_LEN, &back), 0);
	cr_assert_eq(back.flags, h.flags);
	cr_assert_eq(back.gso_type, h.gso_type);
	cr_assert_eq(back.hdr_len, h.hdr_len);
	cr_assert_eq(back.gso_size, h.gso_size);
	cr_assert_eq(back.csum_start, h.csum_start);
	cr_assert_eq(back.csum_offset, h.csum_offset);
	cr_assert_eq(vdev_trace_net_hdr_decode(img, VDEV_TRACE_NET_HDR_LEN - 1, &back), -EPROTO);
	cr_assert_eq(vdev_trace_net_hdr_decode(NULL, 0, &back), -EPROTO);
}

/* ---------------- text parse errors ---------------- */

Test(trace_codec, text_header_errors)
{
	assert_text_error("", "line 1", "vdev-trace 1");
	assert_text_error("poll\n", "line 1", "first line");
	assert_text_error("vdev-trace\n", "line 1", "version");
	assert_text_error("vdev-trace 2\npoll\n", "line 1", "version 2");
	assert_text_error("vdev-trace 1 extra\n", "line 1", "extra");
	assert_text_error("VDEVTRCE\x01", "line 1", NULL);
}

Test(trace_codec, text_record_errors_name_line_and_field)
{
	assert_text_error("vdev-trace 1\npoll\nfrobnicate x=1\n", "line 3", "frobnicate");
	assert_text_error("vdev-trace 1\n\n\ncfg-read width=256\n", "line 4", "'width'");
	assert_text_error("vdev-trace 1\ncfg-read off=0x100000000\n", "line 2", "'off'");
	assert_text_error("vdev-trace 1\ncfg-read value=0x100000000\n", "line 2", "'value'");
	assert_text_error("vdev-trace 1\ncfg-read result=2147483648\n", "line 2", "'result'");
	assert_text_error("vdev-trace 1\ncfg-read result=-2147483649\n", "line 2", "'result'");
	assert_text_error("vdev-trace 1\ncomplete queue=65536\n", "line 2", "'queue'");
	assert_text_error("vdev-trace 1\nbar-read off=18446744073709551616\n", "line 2",
			  "'off'");
	assert_text_error("vdev-trace 1\nbar-read off=0x\n", "line 2", "'off'");
	assert_text_error("vdev-trace 1\nbar-read off=-1\n", "line 2", "'off'");
	assert_text_error("vdev-trace 1\nbar-read bogus=1\n", "line 2", "'bogus'");
	assert_text_error("vdev-trace 1\nbar-read bar=1 bar=2\n", "line 2", "twice");
	assert_text_error("vdev-trace 1\nbar-read bar\n", "line 2", "field=value");
	assert_text_error("vdev-trace 1\npoll data=00\n", "line 2", "'data'");
	assert_text_error("vdev-trace 1\nmem data=abc\n", "line 2", "odd");
	assert_text_error("vdev-trace 1\nmem data=zz\n", "line 2", "not hex");
	assert_text_error("vdev-trace 1\nmem data=00\xc3\xa9\n", "line 2", "byte 0xc3 at digit 3");
	assert_text_error("vdev-trace 1\nparam value=1\n", "line 2", "'key'");
	assert_text_error("vdev-trace 1\nparam key=Bad value=1\n", "line 2", "'key'");
	assert_text_error("vdev-trace 1\nparam key= value=1\n", "line 2", "'key'");
	assert_text_error("vdev-trace 1\nparam key=abcdefghijklmnopqrstuvwxyz0123456\n",
			  "line 2", "'key'");
	assert_text_error("vdev-trace 1\ndevice type=floppy\n", "line 2", "'type'");
	assert_text_error("vdev-trace 1\ndevice mode=sideways\n", "line 2", "'mode'");
	assert_text_error("vdev-trace 1\ndevice flags=msix,wings\n", "line 2", "wings");
	assert_text_error("vdev-trace 1\ndevice flags=msix,\n", "line 2", "'flags'");
	assert_text_error("vdev-trace 1\ndevice flags=0x100\n", "line 2", "'flags'");
	assert_text_error("vdev-trace 1\nfault kind=sometimes\n", "line 2", "'kind'");
	assert_text_error("vdev-trace 1\nbackend op=net-teleport\n", "line 2", "'op'");
	assert_text_error("vdev-trace 1\nhost op=explode\n", "line 2", "'op'");
	assert_text_error("vdev-trace 1\nirq kind=nmi\n", "line 2", "'kind'");
	assert_text_error("vdev-trace 1\npoll\npoll\x01\n", "line 3", "control");
	assert_text_error("vdev-trace 1\npoll\nreset\r\rpoll\n", "line 3", "control");
}

Test(trace_codec, text_data_over_the_limit_refused)
{
	size_t hex = (size_t)(VDEV_TRACE_MAX_DATA + 1) * 2;
	const char *head = "vdev-trace 1\nmem addr=0x0 data=";
	size_t hl = strlen(head);
	char *text = malloc(hl + hex + 2);
	cr_assert_not_null(text);
	memcpy(text, head, hl);
	memset(text + hl, 'a', hex);
	text[hl + hex] = '\n';
	text[hl + hex + 1] = '\0';
	assert_text_error(text, "line 2", "limit");
	free(text);
}
