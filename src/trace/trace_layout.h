/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The one description of every record kind that both encodings follow: which fields
 * of struct vdev_trace_rec a kind uses, in what order, how many bytes each takes in
 * the binary form, and how the text form names and spells it. Keeping it in one table
 * is what makes binary -> text -> binary byte-identical: neither encoding can carry a
 * field the other forgets. docs/trace-format.md is this table written out.
 */
#ifndef VDEV_SRC_TRACE_TRACE_LAYOUT_H
#define VDEV_SRC_TRACE_TRACE_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace/trace_format.h"

/* The members of struct vdev_trace_rec a fixed field can live in. */
enum vdev_trace_slot {
	VDEV_TR_SLOT_WIDTH,
	VDEV_TR_SLOT_BAR,
	VDEV_TR_SLOT_TYPE,
	VDEV_TR_SLOT_QUEUE,
	VDEV_TR_SLOT_HEAD,
	VDEV_TR_SLOT_RESULT, /* signed: stored as its 32-bit two's complement */
	VDEV_TR_SLOT_ADDR,
	VDEV_TR_SLOT_VALUE,
};

/* How the text form spells a field's value. Every style also accepts plain numbers. */
enum vdev_trace_style {
	VDEV_TR_STYLE_DEC,        /* small counts and indexes: decimal */
	VDEV_TR_STYLE_SIGNED,     /* results: decimal, negative errno as -N */
	VDEV_TR_STYLE_HEX,        /* addresses, values, sizes: 0x... */
	VDEV_TR_STYLE_DEV_TYPE,   /* blk, net, console, rng */
	VDEV_TR_STYLE_PCI_MODE,   /* legacy, modern, transitional */
	VDEV_TR_STYLE_PCI_FLAGS,  /* msix,msi,notify-pio,mem32,no-cfg-access or none */
	VDEV_TR_STYLE_HOST_OP,    /* blk-resize, net-link, con-resize, con-open */
	VDEV_TR_STYLE_FAULT,      /* fail, short, nonsense */
	VDEV_TR_STYLE_BACKEND_OP, /* net-recv, net-send, con-read, con-write, rng-read */
	VDEV_TR_STYLE_IRQ,        /* msi, intx */
};

/* Where a kind's variable part sits, if it has one. */
enum vdev_trace_payload {
	VDEV_TR_PAYLOAD_NONE,
	VDEV_TR_PAYLOAD_BYTES, /* after the fixed fields: u32 length, then the bytes */
	VDEV_TR_PAYLOAD_KEY,   /* before the fixed fields: u8 length, then the key */
};

struct vdev_trace_field {
	uint8_t slot;     /* enum vdev_trace_slot */
	uint8_t size;     /* bytes in the binary form: 1, 2, 4 or 8 */
	uint8_t style;    /* enum vdev_trace_style */
	const char *name; /* the text form's key */
};

#define VDEV_TRACE_MAX_FIELDS 4

struct vdev_trace_layout {
	uint8_t kind;
	uint8_t payload;    /* enum vdev_trace_payload */
	uint8_t nfields;
	const char *name;   /* the text form's kind name */
	struct vdev_trace_field fields[VDEV_TRACE_MAX_FIELDS];
};

/* The layout of a kind, or NULL for a kind this version does not know. */
const struct vdev_trace_layout *vdev_trace_layout_of(uint8_t kind);
/* The layout whose text name is name[0..len), or NULL. */
const struct vdev_trace_layout *vdev_trace_layout_named(const char *name, size_t len);

uint64_t vdev_trace_slot_get(const struct vdev_trace_rec *r, uint8_t slot);
void vdev_trace_slot_set(struct vdev_trace_rec *r, uint8_t slot, uint64_t v);

/* A PARAM key: 1..VDEV_TRACE_MAX_KEY bytes of [a-z0-9_]. */
bool vdev_trace_key_valid(const uint8_t *key, size_t len);

#endif
