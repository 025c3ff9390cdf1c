/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The recording suites' machine: a device (virtio-blk on a held backend, or
 * virtio-rng on a counting source) driven by the driver peer with a recorder attached
 * to a memfd, optionally on a host table of its own with a clock the test controls;
 * and the trace it wrote, decoded with the format's own reader.
 */
#ifndef VDEV_TESTS_TRACE_RIG_H
#define VDEV_TESTS_TRACE_RIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace/trace_format.h"
#include "vdev/driver.h"
#include "vdev/vdev.h"

#define RAM_SIZE (8u << 20)
#define QSIZE 16
#define HELD_MAX 64
#define CLOCK_MAX 256

/* ---------------- a decoded trace ---------------- */

struct decoded {
	uint8_t *buf;
	size_t len;
	struct vdev_trace_rec *r;
	size_t *off; /* where each record starts in the file */
	size_t n;
};

void decoded_free(struct decoded *d);
/* Index of the last access record, or SIZE_MAX. */
size_t last_access(const struct decoded *d);
/* Index of the first record written at or after byte `at` of the file. */
size_t index_at(const struct decoded *d, uint64_t at);
/* Index of the access record before `i` (SIZE_MAX: none, the set-up comes first). */
size_t access_before(const struct decoded *d, size_t i);
/* How many records of `kind` lie strictly between a and b (a may be SIZE_MAX). */
int count_between(const struct decoded *d, size_t a, size_t b, uint8_t kind);
/* The first record of `kind` strictly between a and b, or NULL. */
const struct vdev_trace_rec *find_between(const struct decoded *d, size_t a, size_t b,
					  uint8_t kind);

/* ---------------- a held block backend, a counting entropy source ---------------- */

struct held {
	struct vdev_blk_io *ios[HELD_MAX];
	int n;
	uint64_t size;
	struct vdev_blk_backend be;
};

struct pattern {
	uint8_t next;
	int calls;
};

/* Complete every held io with `result`, oldest first. */
int held_release(struct held *h, int result);

/* ---------------- the machine ---------------- */

struct rig {
	struct vdev_sim *sim;
	struct vmctx *own_ctx;  /* a host table of the test's own (the clock tests) */
	struct vdev_dev *dev;
	struct vdev_drv *drv;
	struct vdev_trace *trace;
	int fd;
	struct held held;
	struct pattern pattern;
	struct vdev_rng_backend rng_be;
	/* The clock the own host table serves, and every value it handed out. */
	uint64_t clock;
	uint64_t clock_log[CLOCK_MAX];
	int nclock;
	bool v1_clock_called;
	int trace_log_lines;
};

struct rig_opts {
	uint16_t type;               /* VIRTIO_TYPE_BLOCK or VIRTIO_TYPE_ENTROPY */
	enum vdev_pci_mode mode;
	enum vdev_drv_access access;
	bool msix;
	bool no_trace;
	uint64_t max_bytes;
	uint32_t host_ops_version;   /* 0: the sim's host table; 1 or 2: the rig's own */
	uint64_t rng_rate;
	int trace_fd;                /* >= 0: record there instead of a fresh memfd */
};

/* Sim, device, recorder (before the guest touches anything), driver ready with queue 0. */
void rig_open(struct rig *g, const struct rig_opts *o);
/* Stop the recorder (asserting it reports `want`) and decode what it wrote. */
void rig_stop(struct rig *g, int want, struct decoded *d);
void rig_close(struct rig *g);
uint64_t rig_buf(struct rig *g, uint32_t len, uint8_t **p);
/* A virtio-blk request on queue 0 (header, optional data, status), kicked. */
void blk_request(struct rig *g, uint32_t type, uint64_t sector, uint32_t len, bool write,
		 uint8_t fill, uint64_t *data_gpa);

/* One writable buffer of len bytes for the entropy device, kicked. */
void rng_kick(struct rig *g, uint32_t len, uint8_t **buf);
/* Index of the last notify write, asserting there is one. */
size_t last_notify(const struct decoded *d);

/* A modern virtio-blk and a modern virtio-rng, each recorded to a fresh memfd. */
extern const struct rig_opts blk_modern;
extern const struct rig_opts rng_modern;

#endif
