/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The register-access trace format (docs/trace-format.md), as records in memory, and
 * its two encodings: the compact binary form (what the recorder writes and libFuzzer
 * mutates) and the readable text form. Conversion between them is lossless.
 *
 * Every field of struct vdev_trace_rec has one meaning per kind; the table in
 * docs/trace-format.md is the contract, this header only names the fields.
 */
#ifndef VDEV_SRC_TRACE_TRACE_FORMAT_H
#define VDEV_SRC_TRACE_TRACE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define VDEV_TRACE_MAGIC "VDEVTRCE" /* 8 bytes, then u16 version, u16 reserved (0) */
#define VDEV_TRACE_MAGIC_LEN 8
#define VDEV_TRACE_HEADER_LEN 12
#define VDEV_TRACE_VERSION 1

/* Longest data payload one record may carry (MEM bytes, BACKEND data, PARAM key). */
#define VDEV_TRACE_MAX_DATA (16u << 20)
#define VDEV_TRACE_MAX_KEY 32

enum vdev_trace_kind {
	/* Set-up: what device to build and what guest RAM looks like. */
	VDEV_TR_DEVICE = 0x01,    /* type = virtio type, width = pci mode, bar = pci flags */
	VDEV_TR_PARAM = 0x02,     /* key (data/len, <= 32 bytes, [a-z0-9_]), value */
	VDEV_TR_RAM = 0x03,       /* addr = gpa, value = size: a guest-RAM region */
	/* What the guest (or host) did to the device. Reads carry the value returned. */
	VDEV_TR_CFG_READ = 0x10,  /* addr = offset, width, value, result (rc of the call) */
	VDEV_TR_CFG_WRITE = 0x11, /* addr = offset, width, value, result */
	VDEV_TR_BAR_READ = 0x12,  /* bar, addr = offset, width, value */
	VDEV_TR_BAR_WRITE = 0x13, /* bar, addr = offset, width, value */
	VDEV_TR_NOTIFY = 0x14,    /* queue, value = data when width == 1 (has data) */
	VDEV_TR_POLL = 0x15,      /* vdev_dev_poll() */
	VDEV_TR_RESET = 0x16,     /* host-initiated virtio_reset_dev() */
	VDEV_TR_HOST = 0x17,      /* width = op (enum vdev_trace_host_op), addr, value = args */
	/* What the device saw of the outside world while it ran. */
	VDEV_TR_MEM = 0x20,       /* addr = gpa, data/len = bytes the device read there */
	VDEV_TR_FAULT = 0x21,     /* width = fault kind, queue = translations to skip first,
				     value = short length (FAULT_SHORT) */
	VDEV_TR_TIME = 0x22,      /* value = monotonic ns the device's clock reads from now */
	VDEV_TR_COMPLETE = 0x30,  /* queue, head, result: an outstanding request finishes */
	VDEV_TR_BACKEND = 0x31,   /* width = op (enum vdev_trace_backend_op), queue, result,
				     data/len (bytes the backend produced, if any) */
	/* What the device did to the guest: checked by a replay, never injected. */
	VDEV_TR_IRQ = 0x40,       /* width = 1 MSI/MSI-X (addr, value = data), 2 INTx
				     (value = level) */
};

enum vdev_trace_fault {
	VDEV_TR_FAULT_FAIL = 1,     /* translate returns -EFAULT */
	VDEV_TR_FAULT_SHORT = 2,    /* contiguous length cut to min(len, value) (>= 1) */
	VDEV_TR_FAULT_NONSENSE = 3, /* the callback returns success with contig 0 */
};

enum vdev_trace_host_op {
	VDEV_TR_HOST_BLK_RESIZE = 1,     /* addr = new size in bytes */
	VDEV_TR_HOST_NET_LINK = 2,       /* addr = 1 up, 0 down */
	VDEV_TR_HOST_CON_RESIZE = 3,     /* addr = port, value = cols << 16 | rows */
	VDEV_TR_HOST_CON_OPEN = 4,       /* addr = port, value = 1 open, 0 closed */
};

enum vdev_trace_backend_op {
	VDEV_TR_BE_NET_RECV = 1,  /* queue = backend queue; result = frame length or -errno;
				     data = the struct vdev_net_hdr image documented in
				     docs/trace-format.md, then the frame */
	VDEV_TR_BE_NET_SEND = 2,  /* queue; result = 0 or -errno (-EAGAIN: back-pressure) */
	VDEV_TR_BE_CON_READ = 3,  /* queue = port; result = bytes or -errno; data = bytes */
	VDEV_TR_BE_CON_WRITE = 4, /* queue = port; result = bytes accepted or -errno */
	VDEV_TR_BE_RNG_READ = 5,  /* result = bytes produced or -errno; no data kept */
};

/* pci flags of a DEVICE record (the struct vdev_virtio_pci_config booleans). */
#define VDEV_TR_PCI_MSIX 0x01
#define VDEV_TR_PCI_MSI 0x02
#define VDEV_TR_PCI_NOTIFY_PIO 0x04
#define VDEV_TR_PCI_MEM32 0x08
#define VDEV_TR_PCI_NO_CFG_ACCESS 0x10

struct vdev_trace_rec {
	uint8_t kind;   /* enum vdev_trace_kind */
	uint8_t width;  /* access width, or the op/kind selector noted above */
	uint8_t bar;    /* BAR index; DEVICE: pci flags */
	uint16_t type;  /* DEVICE: virtio device type */
	uint16_t queue; /* NOTIFY/COMPLETE/BACKEND queue; FAULT skip count */
	uint16_t head;  /* COMPLETE: head index of the request */
	int32_t result; /* rc of a config access; COMPLETE/BACKEND result */
	uint64_t addr;  /* offset, gpa, or first argument */
	uint64_t value; /* value read/written, size, or second argument */
	const uint8_t *data; /* MEM, BACKEND, PARAM (key); borrowed, not owned */
	uint32_t len;
};

/* ---- binary form ---- */

/*
 * Bytes the binary encoding of `r` takes (header excluded), or 0 when it cannot be
 * encoded: an unknown kind, a PARAM key that is not 1..VDEV_TRACE_MAX_KEY bytes of
 * [a-z0-9_], or data longer than VDEV_TRACE_MAX_DATA (split longer MEM reads). Fields
 * wider than their slot in the kind's layout keep their low bytes; fields the kind
 * does not use are not encoded (they decode as 0).
 */
size_t vdev_trace_rec_size(const struct vdev_trace_rec *r);

/* Encode one record into buf (at least vdev_trace_rec_size bytes). Returns the size,
 * or 0 (nothing written) when vdev_trace_rec_size() is 0. */
size_t vdev_trace_rec_encode(const struct vdev_trace_rec *r, uint8_t *buf);

/* Write the 12-byte file header. */
void vdev_trace_header_encode(uint8_t buf[VDEV_TRACE_HEADER_LEN]);

/*
 * A cursor over a binary trace in memory. Records decoded from it borrow their data
 * from the buffer. The header is optional when `lenient` is set (the fuzzers feed raw
 * records); otherwise a missing or unknown header is an error.
 */
struct vdev_trace_reader {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	bool lenient;  /* fuzz inputs: no header needed, a truncated tail ends the trace */
	int error;     /* 0, or -EINVAL/-EPROTO once a record could not be decoded */
	char errmsg[128];
};

/* Returns 0, or -EINVAL (strict: no header, another version, reserved not 0) with
 * rd->errmsg set. A lenient reader skips a header when one is there, whatever its
 * version. */
int vdev_trace_reader_init(struct vdev_trace_reader *rd, const uint8_t *buf, size_t len,
			   bool lenient);
/* 1 with *r filled, 0 at the end, <0 (-EPROTO) on a malformed record: unknown kind, bad
 * PARAM key, data over VDEV_TRACE_MAX_DATA, or (strict only) a truncated record;
 * rd->errmsg says why and which offset. Errors are sticky. */
int vdev_trace_next(struct vdev_trace_reader *rd, struct vdev_trace_rec *r);

/*
 * The data of a BACKEND net-recv record starts with this fixed little-endian image of
 * struct vdev_net_hdr (flags u8, gso_type u8, hdr_len, gso_size, csum_start,
 * csum_offset u16 each), then the frame. decode returns 0, or -EPROTO when `len` is
 * shorter than the image.
 */
#define VDEV_TRACE_NET_HDR_LEN 10
struct vdev_net_hdr;
void vdev_trace_net_hdr_encode(const struct vdev_net_hdr *h,
			       uint8_t out[VDEV_TRACE_NET_HDR_LEN]);
int vdev_trace_net_hdr_decode(const uint8_t *data, uint32_t len, struct vdev_net_hdr *h);

#endif
