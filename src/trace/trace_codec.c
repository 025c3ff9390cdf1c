/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The binary trace form: the record layouts, the encoder the recorder uses and the
 * decoder that replays and fuzzers run on hostile bytes. Decoding never allocates and
 * never copies: a decoded record's data points into the caller's buffer.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "trace/trace_format.h"
#include "trace/trace_layout.h"
#include "util/common.h"
#include "vdev/net.h"

#define F(slot_, size_, style_, name_) \
	{ .slot = VDEV_TR_SLOT_##slot_, .size = (size_), .style = VDEV_TR_STYLE_##style_, \
	  .name = (name_) }

/* Field order here is the order on the wire and on a text line. */
static const struct vdev_trace_layout layouts[] = {
	{ VDEV_TR_DEVICE, VDEV_TR_PAYLOAD_NONE, 3, "device",
	  { F(TYPE, 2, DEV_TYPE, "type"), F(WIDTH, 1, PCI_MODE, "mode"),
	    F(BAR, 1, PCI_FLAGS, "flags") } },
	{ VDEV_TR_PARAM, VDEV_TR_PAYLOAD_KEY, 1, "param",
	  { F(VALUE, 8, HEX, "value") } },
	{ VDEV_TR_RAM, VDEV_TR_PAYLOAD_NONE, 2, "ram",
	  { F(ADDR, 8, HEX, "addr"), F(VALUE, 8, HEX, "size") } },
	{ VDEV_TR_CFG_READ, VDEV_TR_PAYLOAD_NONE, 4, "cfg-read",
	  { F(ADDR, 4, HEX, "off"), F(WIDTH, 1, DEC, "width"), F(VALUE, 4, HEX, "value"),
	    F(RESULT, 4, SIGNED, "result") } },
	{ VDEV_TR_CFG_WRITE, VDEV_TR_PAYLOAD_NONE, 4, "cfg-write",
	  { F(ADDR, 4, HEX, "off"), F(WIDTH, 1, DEC, "width"), F(VALUE, 4, HEX, "value"),
	    F(RESULT, 4, SIGNED, "result") } },
	{ VDEV_TR_BAR_READ, VDEV_TR_PAYLOAD_NONE, 4, "bar-read",
	  { F(BAR, 1, DEC, "bar"), F(ADDR, 8, HEX, "off"), F(WIDTH, 1, DEC, "width"),
	    F(VALUE, 8, HEX, "value") } },
	{ VDEV_TR_BAR_WRITE, VDEV_TR_PAYLOAD_NONE, 4, "bar-write",
	  { F(BAR, 1, DEC, "bar"), F(ADDR, 8, HEX, "off"), F(WIDTH, 1, DEC, "width"),
	    F(VALUE, 8, HEX, "value") } },
	{ VDEV_TR_NOTIFY, VDEV_TR_PAYLOAD_NONE, 3, "notify",
	  { F(QUEUE, 2, DEC, "queue"), F(WIDTH, 1, DEC, "has-data"),
	    F(VALUE, 4, HEX, "value") } },
	{ VDEV_TR_POLL, VDEV_TR_PAYLOAD_NONE, 0, "poll", { { 0 } } },
	{ VDEV_TR_RESET, VDEV_TR_PAYLOAD_NONE, 0, "reset", { { 0 } } },
	{ VDEV_TR_HOST, VDEV_TR_PAYLOAD_NONE, 3, "host",
	  { F(WIDTH, 1, HOST_OP, "op"), F(ADDR, 8, HEX, "a"), F(VALUE, 8, HEX, "b") } },
	{ VDEV_TR_MEM, VDEV_TR_PAYLOAD_BYTES, 1, "mem",
	  { F(ADDR, 8, HEX, "addr") } },
	{ VDEV_TR_FAULT, VDEV_TR_PAYLOAD_NONE, 3, "fault",
	  { F(WIDTH, 1, FAULT, "kind"), F(QUEUE, 2, DEC, "skip"), F(VALUE, 8, HEX, "limit") } },
	{ VDEV_TR_TIME, VDEV_TR_PAYLOAD_NONE, 1, "time",
	  { F(VALUE, 8, DEC, "ns") } },
	{ VDEV_TR_COMPLETE, VDEV_TR_PAYLOAD_NONE, 3, "complete",
	  { F(QUEUE, 2, DEC, "queue"), F(HEAD, 2, DEC, "head"), F(RESULT, 4, SIGNED, "result") } },
	{ VDEV_TR_BACKEND, VDEV_TR_PAYLOAD_BYTES, 3, "backend",
	  { F(WIDTH, 1, BACKEND_OP, "op"), F(QUEUE, 2, DEC, "queue"),
	    F(RESULT, 4, SIGNED, "result") } },
	{ VDEV_TR_IRQ, VDEV_TR_PAYLOAD_NONE, 3, "irq",
	  { F(WIDTH, 1, IRQ, "kind"), F(ADDR, 8, HEX, "addr"), F(VALUE, 4, HEX, "value") } },
};

#undef F

/* Kind byte -> layout, so the decoder's lookup is one load. */
static const struct vdev_trace_layout *const by_kind[256] = {
	[VDEV_TR_DEVICE] = &layouts[0],
	[VDEV_TR_PARAM] = &layouts[1],
	[VDEV_TR_RAM] = &layouts[2],
	[VDEV_TR_CFG_READ] = &layouts[3],
	[VDEV_TR_CFG_WRITE] = &layouts[4],
	[VDEV_TR_BAR_READ] = &layouts[5],
	[VDEV_TR_BAR_WRITE] = &layouts[6],
	[VDEV_TR_NOTIFY] = &layouts[7],
	[VDEV_TR_POLL] = &layouts[8],
	[VDEV_TR_RESET] = &layouts[9],
	[VDEV_TR_HOST] = &layouts[10],
	[VDEV_TR_MEM] = &layouts[11],
	[VDEV_TR_FAULT] = &layouts[12],
	[VDEV_TR_TIME] = &layouts[13],
	[VDEV_TR_COMPLETE] = &layouts[14],
	[VDEV_TR_BACKEND] = &layouts[15],
	[VDEV_TR_IRQ] = &layouts[16],
};

_Static_assert(VDEV_ARRAY_SIZE(layouts) == 17, "by_kind must list every layout");
_Static_assert(VDEV_TRACE_MAX_KEY < 256, "a PARAM key length is one byte");

const struct vdev_trace_layout *vdev_trace_layout_of(uint8_t kind)
{
	const struct vdev_trace_layout *l = by_kind[kind];

	/* A by_kind slot pointing at the wrong layout would silently misdecode. */
	return (l != NULL && l->kind == kind) ? l : NULL;
}

const struct vdev_trace_layout *vdev_trace_layout_named(const char *name, size_t len)
{
	for (size_t i = 0; i < VDEV_ARRAY_SIZE(layouts); i++) {
		if (strlen(layouts[i].name) == len && memcmp(layouts[i].name, name, len) == 0)
			return &layouts[i];
	}
	return NULL;
}

uint64_t vdev_trace_slot_get(const struct vdev_trace_rec *r, uint8_t slot)
{
	switch (slot) {
	case VDEV_TR_SLOT_WIDTH: return r->width;
	case VDEV_TR_SLOT_BAR: return r->bar;
	case VDEV_TR_SLOT_TYPE: return r->type;
	case VDEV_TR_SLOT_QUEUE: return r->queue;
	case VDEV_TR_SLOT_HEAD: return r->head;
	case VDEV_TR_SLOT_RESULT: return (uint32_t)r->result;
	case VDEV_TR_SLOT_ADDR: return r->addr;
	default: return r->value;
	}
}

void vdev_trace_slot_set(struct vdev_trace_rec *r, uint8_t slot, uint64_t v)
{
	switch (slot) {
	case VDEV_TR_SLOT_WIDTH: r->width = (uint8_t)v; break;
	case VDEV_TR_SLOT_BAR: r->bar = (uint8_t)v; break;
	case VDEV_TR_SLOT_TYPE: r->type = (uint16_t)v; break;
	case VDEV_TR_SLOT_QUEUE: r->queue = (uint16_t)v; break;
	case VDEV_TR_SLOT_HEAD: r->head = (uint16_t)v; break;
	case VDEV_TR_SLOT_RESULT: r->result = (int32_t)(uint32_t)v; break;
	case VDEV_TR_SLOT_ADDR: r->addr = v; break;
	default: r->value = v; break;
	}
}

bool vdev_trace_key_valid(const uint8_t *key, size_t len)
{
	if (len == 0 || len > VDEV_TRACE_MAX_KEY)
		return false;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = key[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

static size_t fields_size(const struct vdev_trace_layout *l)
{
	size_t n = 0;

	for (int i = 0; i < l->nfields; i++)
		n += l->fields[i].size;
	return n;
}

/* ---- encoding ---- */

size_t vdev_trace_rec_size(const struct vdev_trace_rec *r)
{
	const struct vdev_trace_layout *l = vdev_trace_layout_of(r->kind);

	if (l == NULL)
		return 0;
	size_t n = 1 + fields_size(l);
	switch (l->payload) {
	case VDEV_TR_PAYLOAD_KEY:
		if (!vdev_trace_key_valid(r->data, r->len))
			return 0;
		return n + 1 + r->len;
	case VDEV_TR_PAYLOAD_BYTES:
		if (r->len > VDEV_TRACE_MAX_DATA || (r->len != 0 && r->data == NULL))
			return 0;
		return n + 4 + r->len;
	default:
		return n;
	}
}

static uint8_t *put_field(uint8_t *p, unsigned size, uint64_t v)
{
	vdev_st_width(p, (int)size, v);
	return p + size;
}

size_t vdev_trace_rec_encode(const struct vdev_trace_rec *r, uint8_t *buf)
{
	size_t size = vdev_trace_rec_size(r);

	if (size == 0)
		return 0;
	const struct vdev_trace_layout *l = vdev_trace_layout_of(r->kind);
	uint8_t *p = buf;
	*p++ = r->kind;
	if (l->payload == VDEV_TR_PAYLOAD_KEY) {
		*p++ = (uint8_t)r->len;
		memcpy(p, r->data, r->len);
		p += r->len;
	}
	for (int i = 0; i < l->nfields; i++)
		p = put_field(p, l->fields[i].size, vdev_trace_slot_get(r, l->fields[i].slot));
	if (l->payload == VDEV_TR_PAYLOAD_BYTES) {
		vdev_st32(p, r->len);
		p += 4;
		if (r->len != 0)
			memcpy(p, r->data, r->len);
		p += r->len;
	}
	return (size_t)(p - buf);
}

void vdev_trace_header_encode(uint8_t buf[VDEV_TRACE_HEADER_LEN])
{
	memcpy(buf, VDEV_TRACE_MAGIC, VDEV_TRACE_MAGIC_LEN);
	vdev_st16(buf + 8, VDEV_TRACE_VERSION);
	vdev_st16(buf + 10, 0);
}

/* ---- decoding ---- */

__attribute__((format(printf, 3, 4)))
static int fail(struct vdev_trace_reader *rd, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rd->errmsg, sizeof(rd->errmsg), fmt, ap);
	va_end(ap);
	rd->error = err;
	return err;
}

int vdev_trace_reader_init(struct vdev_trace_reader *rd, const uint8_t *buf, size_t len,
			   bool lenient)
{
	memset(rd, 0, sizeof(*rd));
	rd->buf = buf;
	rd->len = buf != NULL ? len : 0;
	rd->lenient = lenient;

	size_t magic_seen = rd->len < VDEV_TRACE_MAGIC_LEN ? rd->len : VDEV_TRACE_MAGIC_LEN;
	bool magic = magic_seen > 0 && memcmp(buf, VDEV_TRACE_MAGIC, magic_seen) == 0;
	if (lenient) {
		/* Fuzz inputs may or may not start with a header; when one is there it is
		 * skipped whatever its version, and a cut-off one is an empty trace. */
		if (magic)
			rd->pos = rd->len < VDEV_TRACE_HEADER_LEN ? rd->len : VDEV_TRACE_HEADER_LEN;
		return 0;
	}
	if (rd->len < VDEV_TRACE_HEADER_LEN || !magic)
		return fail(rd, -EINVAL, "not a vdev trace: no %s header", VDEV_TRACE_MAGIC);
	uint16_t version = vdev_ld16(buf + 8);
	if (version != VDEV_TRACE_VERSION)
		return fail(rd, -EINVAL, "trace format version %u is not supported (this build "
			    "reads version %u)", version, VDEV_TRACE_VERSION);
	if (vdev_ld16(buf + 10) != 0)
		return fail(rd, -EINVAL, "trace header: reserved field is 0x%04x, not 0",
			    vdev_ld16(buf + 10));
	rd->pos = VDEV_TRACE_HEADER_LEN;
	return 0;
}

/* The record at rd->pos needs `need` bytes and fewer are left. */
static int truncated(struct vdev_trace_reader *rd, const struct vdev_trace_layout *l,
		     size_t need)
{
	if (rd->lenient) {
		rd->pos = rd->len;
		return 0;
	}
	return fail(rd, -EPROTO, "%s record at offset %zu is truncated: needs %zu bytes, "
		    "%zu left", l->name, rd->pos, need, rd->len - rd->pos);
}

int vdev_trace_next(struct vdev_trace_reader *rd, struct vdev_trace_rec *r)
{
	if (rd->error != 0)
		return rd->error;
	size_t left = rd->len - rd->pos;
	if (left == 0)
		return 0;

	const uint8_t *start = rd->buf + rd->pos;
	const struct vdev_trace_layout *l = vdev_trace_layout_of(start[0]);
	if (l == NULL)
		return fail(rd, -EPROTO, "unknown record kind 0x%02x at offset %zu", start[0],
			    rd->pos);

	memset(r, 0, sizeof(*r));
	r->kind = start[0];
	size_t need = 1;
	const uint8_t *p = start + 1;

	if (l->payload == VDEV_TR_PAYLOAD_KEY) {
		if (left < need + 1)
			return truncated(rd, l, need + 1);
		uint8_t klen = *p++;
		need += 1 + (size_t)klen;
		if (left < need)
			return truncated(rd, l, need);
		if (!vdev_trace_key_valid(p, klen))
			return fail(rd, -EPROTO, "param record at offset %zu: key must be 1..%u "
				    "bytes of [a-z0-9_] (length %u)", rd->pos, VDEV_TRACE_MAX_KEY,
				    klen);
		r->data = p;
		r->len = klen;
		p += klen;
	}

	need += fields_size(l);
	if (l->payload == VDEV_TR_PAYLOAD_BYTES)
		need += 4;
	if (left < need)
		return truncated(rd, l, need);
	for (int i = 0; i < l->nfields; i++) {
		unsigned size = l->fields[i].size;
		vdev_trace_slot_set(r, l->fields[i].slot, vdev_ld_width(p, (int)size));
		p += size;
	}

	if (l->payload == VDEV_TR_PAYLOAD_BYTES) {
		uint32_t dlen = vdev_ld32(p);
		p += 4;
		if (dlen > VDEV_TRACE_MAX_DATA)
			return fail(rd, -EPROTO, "%s record at offset %zu: data length %u exceeds "
				    "the limit of %u bytes", l->name, rd->pos, dlen,
				    VDEV_TRACE_MAX_DATA);
		need += dlen;
		if (left < need)
			return truncated(rd, l, need);
		r->data = dlen != 0 ? p : NULL;
		r->len = dlen;
	}

	rd->pos += need;
	return 1;
}

/* ---- backend data images ---- */

void vdev_trace_net_hdr_encode(const struct vdev_net_hdr *h,
			       uint8_t out[VDEV_TRACE_NET_HDR_LEN])
{
	out[0] = h->flags;
	out[1] = h->gso_type;
	vdev_st16(out + 2, h->hdr_len);
	vdev_st16(out + 4, h->gso_size);
	vdev_st16(out + 6, h->csum_start);
	vdev_st16(out + 8, h->csum_offset);
}

int vdev_trace_net_hdr_decode(const uint8_t *data, uint32_t len, struct vdev_net_hdr *h)
{
	if (data == NULL || len < VDEV_TRACE_NET_HDR_LEN)
		return -EPROTO;
	h->flags = data[0];
	h->gso_type = data[1];
	h->hdr_len = vdev_ld16(data + 2);
	h->gso_size = vdev_ld16(data + 4);
	h->csum_start = vdev_ld16(data + 6);
	h->csum_offset = vdev_ld16(data + 8);
	return 0;
}
