/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The text trace form: one record per line, `kind field=value ...`, every field of the
 * kind's layout printed so that text -> binary gives back the same bytes. Text is what
 * people write by hand and edit, so the parser is strict and its errors name the line
 * and the field.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay/trace_text.h"
#include "trace/trace_layout.h"
#include "util/common.h"
#include "vdev/virtio.h"
#include "vdev/virtio_pci.h"

#define TEXT_MAGIC "vdev-trace"

/* ---- symbolic names ---- */

struct sym {
	const char *name;
	uint64_t value;
};

static const struct sym dev_types[] = {
	{ "net", VIRTIO_TYPE_NET },
	{ "blk", VIRTIO_TYPE_BLOCK },
	{ "console", VIRTIO_TYPE_CONSOLE },
	{ "rng", VIRTIO_TYPE_ENTROPY },
	{ NULL, 0 },
};

static const struct sym pci_modes[] = {
	{ "legacy", VDEV_PCI_LEGACY },
	{ "modern", VDEV_PCI_MODERN },
	{ "transitional", VDEV_PCI_TRANSITIONAL },
	{ NULL, 0 },
};

static const struct sym pci_flags[] = {
	{ "msix", VDEV_TR_PCI_MSIX },
	{ "msi", VDEV_TR_PCI_MSI },
	{ "notify-pio", VDEV_TR_PCI_NOTIFY_PIO },
	{ "mem32", VDEV_TR_PCI_MEM32 },
	{ "no-cfg-access", VDEV_TR_PCI_NO_CFG_ACCESS },
	{ NULL, 0 },
};

static const struct sym host_ops[] = {
	{ "blk-resize", VDEV_TR_HOST_BLK_RESIZE },
	{ "net-link", VDEV_TR_HOST_NET_LINK },
	{ "con-resize", VDEV_TR_HOST_CON_RESIZE },
	{ "con-open", VDEV_TR_HOST_CON_OPEN },
	{ NULL, 0 },
};

static const struct sym faults[] = {
	{ "fail", VDEV_TR_FAULT_FAIL },
	{ "short", VDEV_TR_FAULT_SHORT },
	{ "nonsense", VDEV_TR_FAULT_NONSENSE },
	{ NULL, 0 },
};

static const struct sym backend_ops[] = {
	{ "net-recv", VDEV_TR_BE_NET_RECV },
	{ "net-send", VDEV_TR_BE_NET_SEND },
	{ "con-read", VDEV_TR_BE_CON_READ },
	{ "con-write", VDEV_TR_BE_CON_WRITE },
	{ "rng-read", VDEV_TR_BE_RNG_READ },
	{ NULL, 0 },
};

static const struct sym irq_kinds[] = {
	{ "msi", 1 },
	{ "intx", 2 },
	{ NULL, 0 },
};

/* The names of a style that prints as one symbol, or NULL. */
static const struct sym *symbols_of(uint8_t style)
{
	switch (style) {
	case VDEV_TR_STYLE_DEV_TYPE: return dev_types;
	case VDEV_TR_STYLE_PCI_MODE: return pci_modes;
	case VDEV_TR_STYLE_HOST_OP: return host_ops;
	case VDEV_TR_STYLE_FAULT: return faults;
	case VDEV_TR_STYLE_BACKEND_OP: return backend_ops;
	case VDEV_TR_STYLE_IRQ: return irq_kinds;
	default: return NULL;
	}
}

static const char *sym_name(const struct sym *t, uint64_t v)
{
	for (; t->name != NULL; t++) {
		if (t->value == v)
			return t->name;
	}
	return NULL;
}

static bool sym_value(const struct sym *t, const char *s, size_t len, uint64_t *v)
{
	for (; t->name != NULL; t++) {
		if (strlen(t->name) == len && memcmp(t->name, s, len) == 0) {
			*v = t->value;
			return true;
		}
	}
	return false;
}

const char *vdev_trace_kind_name(uint8_t kind)
{
	const struct vdev_trace_layout *l = vdev_trace_layout_of(kind);

	return l != NULL ? l->name : NULL;
}

/* ---- printing ---- */

static void print_flags(FILE *out, uint64_t v)
{
	const char *sep = "";

	if (v == 0) {
		fputs("none", out);
		return;
	}
	for (const struct sym *s = pci_flags; s->name != NULL; s++) {
		if (v & s->value) {
			fprintf(out, "%s%s", sep, s->name);
			sep = ",";
			v &= ~s->value;
		}
	}
	/* Bits this version has no name for still round-trip. */
	if (v != 0)
		fprintf(out, "%s0x%llx", sep, (unsigned long long)v);
}

static void print_value(FILE *out, const struct vdev_trace_field *f, uint64_t v)
{
	const struct sym *syms = symbols_of(f->style);
	const char *name = syms != NULL ? sym_name(syms, v) : NULL;

	if (name != NULL) {
		fputs(name, out);
		return;
	}
	switch (f->style) {
	case VDEV_TR_STYLE_SIGNED:
		fprintf(out, "%d", (int)(int32_t)(uint32_t)v);
		break;
	case VDEV_TR_STYLE_HEX:
		fprintf(out, "0x%llx", (unsigned long long)v);
		break;
	case VDEV_TR_STYLE_PCI_FLAGS:
		print_flags(out, v);
		break;
	default:
		fprintf(out, "%llu", (unsigned long long)v);
		break;
	}
}

static void print_hex(FILE *out, const uint8_t *data, uint32_t len)
{
	static const char digits[] = "0123456789abcdef";
	char chunk[512];
	size_t n = 0;

	for (uint32_t i = 0; i < len; i++) {
		chunk[n++] = digits[data[i] >> 4];
		chunk[n++] = digits[data[i] & 15];
		if (n == sizeof(chunk)) {
			fwrite(chunk, 1, n, out);
			n = 0;
		}
	}
	fwrite(chunk, 1, n, out);
}

int vdev_trace_rec_print(FILE *out, const struct vdev_trace_rec *r)
{
	const struct vdev_trace_layout *l = vdev_trace_layout_of(r->kind);

	if (l == NULL)
		return -EINVAL;
	if (l->payload == VDEV_TR_PAYLOAD_KEY && !vdev_trace_key_valid(r->data, r->len))
		return -EINVAL;
	if (l->payload == VDEV_TR_PAYLOAD_BYTES && r->len != 0 && r->data == NULL)
		return -EINVAL;

	fputs(l->name, out);
	if (l->payload == VDEV_TR_PAYLOAD_KEY)
		fprintf(out, " key=%.*s", (int)r->len, (const char *)r->data);
	for (int i = 0; i < l->nfields; i++) {
		fprintf(out, " %s=", l->fields[i].name);
		print_value(out, &l->fields[i], vdev_trace_slot_get(r, l->fields[i].slot));
	}
	if (l->payload == VDEV_TR_PAYLOAD_BYTES) {
		fputs(" data=", out);
		print_hex(out, r->data, r->len);
	}
	fputc('\n', out);
	return ferror(out) ? -EIO : 0;
}

int vdev_trace_text_header(FILE *out)
{
	fprintf(out, "%s %d\n", TEXT_MAGIC, VDEV_TRACE_VERSION);
	return ferror(out) ? -EIO : 0;
}

/* ---- parsing ---- */

struct parser {
	size_t line;
	char *err;
	size_t errlen;
	/* The binary trace being built. */
	uint8_t *out;
	size_t out_len;
	size_t out_cap;
	/* Decoded data of the current record (MEM/BACKEND bytes, PARAM key). */
	uint8_t *data;
	size_t data_cap;
};

__attribute__((format(printf, 2, 3)))
static int parse_error(struct parser *p, const char *fmt, ...)
{
	char reason[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (p->err != NULL && p->errlen > 0)
		snprintf(p->err, p->errlen, "line %zu: %s", p->line, reason);
	return -EINVAL;
}

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap != 0 ? *cap : 4096;
	while (n < need)
		n *= 2;
	uint8_t *b = realloc(*buf, n);
	if (b == NULL)
		return -ENOMEM;
	*buf = b;
	*cap = n;
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* An unsigned number, decimal or 0x hex, that fits 64 bits. */
static bool parse_unsigned(const char *s, size_t len, uint64_t *v)
{
	uint64_t n = 0;
	unsigned base = 10;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		len -= 2;
	}
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		int d = hex_digit(s[i]);
		if (d < 0 || (unsigned)d >= base)
			return false;
		if (n > (UINT64_MAX - (unsigned)d) / base)
			return false;
		n = n * base + (unsigned)d;
	}
	*v = n;
	return true;
}

static uint64_t max_of_size(unsigned size)
{
	return size >= 8 ? UINT64_MAX : (UINT64_C(1) << (8 * size)) - 1;
}

/* A signed 32-bit result: -N or N (decimal or 0x hex), or the 0x bit pattern of a
 * negative one (0xffffffea for -22). */
static bool parse_signed(const char *s, size_t len, uint64_t *v)
{
	uint64_t n;

	if (len > 0 && s[0] == '-') {
		if (!parse_unsigned(s + 1, len - 1, &n) || n > (UINT64_C(1) << 31))
			return false;
		*v = (uint32_t)(-(int64_t)n);
		return true;
	}
	if (!parse_unsigned(s, len, &n))
		return false;
	bool hex = len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	if (n > (hex ? UINT32_MAX : (uint64_t)INT32_MAX))
		return false;
	*v = n;
	return true;
}

static int parse_flags(struct parser *p, const char *kind, const struct vdev_trace_field *f,
		       const char *s, size_t len, uint64_t *v)
{
	uint64_t all = 0;

	if (len == 4 && memcmp(s, "none", 4) == 0) {
		*v = 0;
		return 0;
	}
	while (len > 0) {
		const char *comma = memchr(s, ',', len);
		size_t n = comma != NULL ? (size_t)(comma - s) : len;
		uint64_t bit;
		if (!sym_value(pci_flags, s, n, &bit) && !parse_unsigned(s, n, &bit))
			return parse_error(p, "%s: field '%s': unknown flag '%.*s' (msix, msi, "
					   "notify-pio, mem32, no-cfg-access, none or a number)",
					   kind, f->name, (int)n, s);
		all |= bit;
		if (comma == NULL)
			break;
		s += n + 1;
		len -= n + 1;
		if (len == 0)
			return parse_error(p, "%s: field '%s': empty flag after ','", kind,
					   f->name);
	}
	if (all > max_of_size(f->size))
		return parse_error(p, "%s: field '%s': flags 0x%llx do not fit %u byte(s)", kind,
				   f->name, (unsigned long long)all, f->size);
	*v = all;
	return 0;
}

static int parse_field_value(struct parser *p, const char *kind,
			     const struct vdev_trace_field *f, const char *s, size_t len,
			     uint64_t *v)
{
	if (f->style == VDEV_TR_STYLE_PCI_FLAGS)
		return parse_flags(p, kind, f, s, len, v);
	const struct sym *syms = symbols_of(f->style);
	if (syms != NULL && sym_value(syms, s, len, v))
		return 0;
	if (f->style == VDEV_TR_STYLE_SIGNED) {
		if (!parse_signed(s, len, v))
			return parse_error(p, "%s: field '%s': '%.*s' is not a 32-bit signed "
					   "number", kind, f->name, (int)len, s);
		return 0;
	}
	if (!parse_unsigned(s, len, v))
		return parse_error(p, "%s: field '%s': '%.*s' is not a %snumber", kind, f->name,
				   (int)len, s, syms != NULL ? "known name or " : "");
	if (*v > max_of_size(f->size))
		return parse_error(p, "%s: field '%s': %.*s is out of range (at most 0x%llx)",
				   kind, f->name, (int)len, s,
				   (unsigned long long)max_of_size(f->size));
	return 0;
}

static int parse_hex_data(struct parser *p, const char *kind, const char *s, size_t len,
			  uint32_t *out_len)
{
	if (len % 2 != 0)
		return parse_error(p, "%s: field 'data': odd number of hex digits (%zu)", kind,
				   len);
	if (len / 2 > VDEV_TRACE_MAX_DATA)
		return parse_error(p, "%s: field 'data': %zu bytes exceed the limit of %u", kind,
				   len / 2, VDEV_TRACE_MAX_DATA);
	if (grow(&p->data, &p->data_cap, len / 2) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < len; i += 2) {
		int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);
		if (hi < 0 || lo < 0) {
			size_t at = hi < 0 ? i : i + 1;
			unsigned char c = (unsigned char)s[at];
			if (c > 0x20 && c < 0x7f)
				return parse_error(p, "%s: field 'data': '%c' at digit %zu is not hex",
						   kind, c, at + 1);
			return parse_error(p, "%s: field 'data': byte 0x%02x at digit %zu is not "
					   "hex", kind, c, at + 1);
		}
		p->data[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	*out_len = (uint32_t)(len / 2);
	return 0;
}

static int parse_key(struct parser *p, const char *s, size_t len, uint32_t *out_len)
{
	if (!vdev_trace_key_valid((const uint8_t *)s, len))
		return parse_error(p, "param: field 'key': '%.*s' is not 1..%u characters of "
				   "[a-z0-9_]", (int)(len > 64 ? 64 : len), s, VDEV_TRACE_MAX_KEY);
	if (grow(&p->data, &p->data_cap, len) < 0)
		return -ENOMEM;
	memcpy(p->data, s, len);
	*out_len = (uint32_t)len;
	return 0;
}

/* The next token of [*s, end): a run of non-blank characters. */
static bool next_token(const char **s, const char *end, const char **tok, size_t *len)
{
	const char *c = *s;

	while (c < end && is_space(*c))
		c++;
	if (c == end)
		return false;
	*tok = c;
	while (c < end && !is_space(*c))
		c++;
	*len = (size_t)(c - *tok);
	*s = c;
	return true;
}

/* Index of the field named name[0..len) in l: 0..nfields-1, or the two pseudo fields. */
#define FIELD_PAYLOAD VDEV_TRACE_MAX_FIELDS
static int field_index(const struct vdev_trace_layout *l, const char *name, size_t len)
{
	for (int i = 0; i < l->nfields; i++) {
		if (strlen(l->fields[i].name) == len && memcmp(l->fields[i].name, name, len) == 0)
			return i;
	}
	const char *pseudo = l->payload == VDEV_TR_PAYLOAD_KEY     ? "key"
			     : l->payload == VDEV_TR_PAYLOAD_BYTES ? "data"
								   : NULL;
	if (pseudo != NULL && strlen(pseudo) == len && memcmp(pseudo, name, len) == 0)
		return FIELD_PAYLOAD;
	return -1;
}

static int parse_record(struct parser *p, const char *s, const char *end)
{
	const char *tok;
	size_t len;

	if (!next_token(&s, end, &tok, &len))
		return 0; /* blank */
	const struct vdev_trace_layout *l = vdev_trace_layout_named(tok, len);
	if (l == NULL)
		return parse_error(p, "unknown record kind '%.*s'", (int)(len > 32 ? 32 : len),
				   tok);

	struct vdev_trace_rec r = { .kind = l->kind };
	unsigned seen = 0;
	while (next_token(&s, end, &tok, &len)) {
		const char *eq = memchr(tok, '=', len);
		if (eq == NULL)
			return parse_error(p, "%s: '%.*s' is not field=value", l->name,
					   (int)(len > 32 ? 32 : len), tok);
		size_t nlen = (size_t)(eq - tok);
		const char *val = eq + 1;
		size_t vlen = len - nlen - 1;
		int idx = field_index(l, tok, nlen);
		if (idx < 0)
			return parse_error(p, "%s: unknown field '%.*s'", l->name,
					   (int)(nlen > 32 ? 32 : nlen), tok);
		if (seen & (1u << idx))
			return parse_error(p, "%s: field '%.*s' given twice", l->name, (int)nlen,
					   tok);
		seen |= 1u << idx;

		int rc;
		if (idx == FIELD_PAYLOAD) {
			rc = l->payload == VDEV_TR_PAYLOAD_KEY
				     ? parse_key(p, val, vlen, &r.len)
				     : parse_hex_data(p, l->name, val, vlen, &r.len);
			r.data = p->data;
		} else {
			uint64_t v;
			rc = parse_field_value(p, l->name, &l->fields[idx], val, vlen, &v);
			if (rc == 0)
				vdev_trace_slot_set(&r, l->fields[idx].slot, v);
		}
		if (rc < 0)
			return rc;
	}
	if (l->payload == VDEV_TR_PAYLOAD_KEY && !(seen & (1u << FIELD_PAYLOAD)))
		return parse_error(p, "param: field 'key' is missing");

	size_t size = vdev_trace_rec_size(&r);
	if (size == 0) /* every reason was checked above; keep the error anyway */
		return parse_error(p, "%s: record cannot be encoded", l->name);
	if (grow(&p->out, &p->out_cap, p->out_len + size) < 0)
		return -ENOMEM;
	p->out_len += vdev_trace_rec_encode(&r, p->out + p->out_len);
	return 0;
}

/* Line `vdev-trace N`: the version the rest of the text is written in. */
static int parse_header(struct parser *p, const char *s, const char *end)
{
	const char *tok;
	size_t len;

	if (!next_token(&s, end, &tok, &len) || len != strlen(TEXT_MAGIC) ||
	    memcmp(tok, TEXT_MAGIC, len) != 0)
		return parse_error(p, "not a text trace: the first line must be '%s %d'",
				   TEXT_MAGIC, VDEV_TRACE_VERSION);
	uint64_t version;
	if (!next_token(&s, end, &tok, &len) || !parse_unsigned(tok, len, &version))
		return parse_error(p, "'%s' must be followed by the format version", TEXT_MAGIC);
	if (version != VDEV_TRACE_VERSION)
		return parse_error(p, "text trace version %.*s is not supported (this build "
				   "reads version %d)", (int)(len > 20 ? 20 : len), tok,
				   VDEV_TRACE_VERSION);
	if (next_token(&s, end, &tok, &len))
		return parse_error(p, "unexpected '%.*s' after the version",
				   (int)(len > 32 ? 32 : len), tok);
	return 0;
}

int vdev_trace_text_to_binary(const char *text, size_t len, uint8_t **out, size_t *out_len,
			      char *err, size_t errlen)
{
	struct parser p = { .err = err, .errlen = errlen };
	const char *s = text != NULL ? text : "";
	const char *end = s + (text != NULL ? len : 0);
	int rc = 0;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	*out = NULL;
	*out_len = 0;
	if (grow(&p.out, &p.out_cap, VDEV_TRACE_HEADER_LEN) < 0)
		return -ENOMEM;
	vdev_trace_header_encode(p.out);
	p.out_len = VDEV_TRACE_HEADER_LEN;

	while (s < end || p.line == 0) {
		size_t left = (size_t)(end - s);
		const char *nl = memchr(s, '\n', left);
		size_t line_len = nl != NULL ? (size_t)(nl - s) : left;
		p.line++;
		/* The rest of a line from '#' on is a comment; the '\r' of CRLF text is
		 * dropped; any other control byte is refused where it stands. */
		const char *hash = memchr(s, '#', line_len);
		size_t n = hash != NULL ? (size_t)(hash - s) : line_len;
		while (n > 0 && s[n - 1] == '\r')
			n--;
		for (size_t i = 0; i < n && rc == 0; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c < 0x20 && c != '\t')
				rc = parse_error(&p, "control byte 0x%02x at column %zu", c, i + 1);
		}
		if (rc == 0)
			rc = p.line == 1 ? parse_header(&p, s, s + n) : parse_record(&p, s, s + n);
		if (rc < 0)
			break;
		s += line_len + (nl != NULL ? 1 : 0);
	}

	free(p.data);
	if (rc < 0) {
		if (rc == -ENOMEM && err != NULL && errlen > 0)
			snprintf(err, errlen, "line %zu: out of memory", p.line);
		free(p.out);
		return rc;
	}
	*out = p.out;
	*out_len = p.out_len;
	return 0;
}
