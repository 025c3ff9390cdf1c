/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the foundation's Criterion suites share on top of the harness: an assertion
 * that names the expression, loops over the (device mode, driver access) combos,
 * opening a harness with its return codes checked, register shorthands, one echo
 * request end to end, and raw access to a split ring in guest memory.
 *
 * The helpers assert with Criterion, so they are for Criterion tests only: a failed
 * assertion here fails the calling test, at the helper's line, with the helper's
 * message (every message names its context: the combo or what the test is doing).
 */
#ifndef VDEV_TESTS_TEST_UTIL_H
#define VDEV_TESTS_TEST_UTIL_H

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>

#include "harness.h"

/* ---------------- assertions and loops ---------------- */

/* actual == expected compared as 64-bit values; a failure shows both and the expression. */
#define CHECK_EQ(ctx, actual, expected)                                                  \
	do {                                                                             \
		uint64_t a__ = (uint64_t)(actual), e__ = (uint64_t)(expected);           \
		cr_assert(a__ == e__, "%s: %s = %#" PRIx64 ", expected %#" PRIx64, (ctx), \
			  #actual, a__, e__);                                            \
	} while (0)

/* `c` walks fx_modes: every combo, the modern-access ones, the legacy-access ones. */
#define FOR_EACH_COMBO(c)                                                                   \
	for (const struct fx_mode *c = fx_modes; c < fx_modes + FX_NMODES; c++)
#define FOR_EACH_MODERN(c)                                                                  \
	FOR_EACH_COMBO(c)                                                                   \
	if (c->access == VDEV_DRV_LEGACY)                                                   \
		continue;                                                                   \
	else
#define FOR_EACH_LEGACY(c)                                                                  \
	FOR_EACH_COMBO(c)                                                                   \
	if (c->access != VDEV_DRV_LEGACY)                                                   \
		continue;                                                                   \
	else

/* ---------------- constants ---------------- */

#define ACK VIRTIO_CR_STATUS_ACK
#define DRV VIRTIO_CR_STATUS_DRIVER
#define DOK VIRTIO_CR_STATUS_DRIVER_OK
#define FOK VIRTIO_CR_STATUS_FEATURES_OK
#define NEEDS_RESET VIRTIO_CR_STATUS_NEEDS_RESET
#define FAILED VIRTIO_CR_STATUS_FAILED

#define MSI_ADDR 0xfee00000u               /* an x86 MSI address for MSI-X table entries */
#define MSIX_CTRL_MASK 1u                  /* vector control: the entry is masked */
#define ECHO_ID_LE64 0x6f68636576656476ULL /* the echo id "vdevecho" as a little-endian u64 */
/* The low feature word the modern interface offers for the echo default (no NOTIFY_ON_EMPTY). */
#define MODERN_OFFER_LO ((uint32_t)(ECHO_DEFAULT_FEATURES & ~VIRTIO_F_NOTIFY_ON_EMPTY))

/* ---------------- opening a device ---------------- */

/* The combo uses the legacy interface. */
bool is_legacy(const struct fx_mode *c);

/* harness_open() for the combo (`e` may be NULL), asserting it worked. */
void open_combo(struct harness *h, const struct fx_mode *c, const struct echo_dev_config *e);
/* open_combo(), then the driver sets ACKNOWLEDGE and then DRIVER. */
void open_acked(struct harness *h, const struct fx_mode *c, const struct echo_dev_config *e);
/* harness_open_msix() for the combo, asserting it worked and MSI-X is on. */
void open_combo_msix(struct harness *h, const struct fx_mode *c);
/* open_combo(), then harness_ready(h, features, qsize), asserting both worked. */
void open_ready(struct harness *h, const struct fx_mode *c, const struct echo_dev_config *e,
		uint64_t features, uint16_t qsize);
/*
 * What harness_open() builds, with the sim's RAM size and fragmentation chosen:
 * RAM [0, ram_size), echo device "echo0" from `ecfg` (its pci.mode is set to `mode`),
 * a driver with `access`. Asserts every step; no set-up is done.
 */
void open_sim(struct harness *h, enum vdev_pci_mode mode, enum vdev_drv_access access,
	      struct echo_dev_config ecfg, uint64_t ram_size, uint64_t frag);

/* ---------------- statistics ---------------- */

struct vdev_virtio_stats stats(struct harness *h);
struct vdev_sim_irqs irqs(struct harness *h);
/* Refused accesses counted at either layer (virtio and PCI). */
uint64_t refusals(struct harness *h);

/* ---------------- registers ---------------- */

/* A BAR access straight into the device, bypassing the driver peer. */
uint64_t brd(struct harness *h, int bar, uint64_t off, int width);
void bwr(struct harness *h, int bar, uint64_t off, int width, uint64_t val);
/* Common config (modern) and the legacy header, the way the driver reaches them. */
uint64_t crd(struct harness *h, uint64_t off, int width);
void cwr(struct harness *h, uint64_t off, int width, uint64_t val);
uint64_t lrd(struct harness *h, uint64_t off, int width);
void lwr(struct harness *h, uint64_t off, int width, uint64_t val);

/* Modern: write both driver-feature halves. */
void write_modern_features(struct harness *h, uint64_t f);
/* Modern: write the driver features `f`, then status ACKNOWLEDGE | DRIVER | FEATURES_OK. */
void write_features_ok(struct harness *h, uint64_t f);
/* Modern: select queue q and write its size and ring addresses (not queue_enable). */
void program_queue(struct harness *h, uint16_t q, uint16_t size, uint64_t desc, uint64_t avail,
		   uint64_t used);
/* A status write the device must refuse: status unchanged, the refusal counted, and no
 * set_status call (the echo device's last_status stays). */
void expect_status_refused(const char *ctx, struct harness *h, uint8_t val);

/* MSI-X table entry v (BAR 1): address MSI_ADDR, `data`, masked or not. */
void msix_program(struct harness *h, int v, uint32_t data, bool masked);
/* The driver switches MSI-X off in the capability (asserts it is off). */
void msix_disable(struct harness *h);
/* The config change vector, through the interface the combo uses. */
void set_config_vector(struct harness *h, const struct fx_mode *c, uint16_t v);

/* ---------------- requests ---------------- */

/*
 * Enqueue one request of `len` readable bytes then `len` writable ones, tagged `token`,
 * without kicking; asserts the enqueue worked. Returns the host pointer of the writable
 * buffer and, through `in` when not NULL, of the readable one.
 */
void *enqueue_inout(const char *ctx, struct harness *h, uint16_t q, uint32_t len, void *token,
		    void **in);
/*
 * One echo request end to end on queue q: `len` bytes with byte i = first + i * step,
 * enqueued, kicked (and served by the test when the echo is in manual mode), and the
 * completion checked: one, with its token, length `len`, and the bytes echoed.
 */
void echo_roundtrip(const char *ctx, struct harness *h, uint16_t q, uint32_t len, uint8_t first,
		    uint8_t step);
/* Enqueue `seg` alone on queue q and call vdev_drv_notify(): it must return `kicked`. */
void enqueue_notify(struct harness *h, uint16_t q, const struct vdev_drv_seg *seg, int kicked,
		    const char *what, const char *why);
/* Reap every completion of queue q; returns how many there were. */
int dequeue_all(struct harness *h, uint16_t q);
/* No queue broken and no DEVICE_NEEDS_RESET. */
void assert_healthy(struct harness *h, const char *what);

/* ---------------- a deterministic PRNG (xorshift32) ---------------- */

struct test_rng {
	uint32_t state; /* the seed, then the generator's state; never 0 */
};

uint32_t rng_next(struct test_rng *r);
/* Uniform in [lo, hi]. */
uint32_t rng_range(struct test_rng *r, uint32_t lo, uint32_t hi);

/* ---------------- guest memory, byte by byte ---------------- */

/* Little-endian, as the split ring and modern device config are laid out. */
uint16_t get16(const uint8_t *p);
uint32_t get32(const uint8_t *p);
void put16(uint8_t *p, uint16_t v);
void put32(uint8_t *p, uint32_t v);
void put64(uint8_t *p, uint64_t v);
/* Host byte order (a legacy guest's ring, on the host the guest shares). */
uint16_t ld16(const void *p);
uint32_t ld32(const void *p);
void st16(void *p, uint16_t v);

/* ---------------- a split ring, from the guest's side ---------------- */

struct raw_ring {
	uint16_t size;
	uint64_t desc, avail, used; /* guest addresses */
	uint8_t *d, *a, *u;         /* host pointers to them */
};

/* The rings the driver set up for queue q (asserts the queue exists in sim RAM). */
void raw_ring_init(struct harness *h, uint16_t q, struct raw_ring *r);
/* Write one 16-byte descriptor at `table` (a ring's table or an indirect table). */
void put_desc(uint8_t *table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
	      uint16_t next);
uint16_t raw_avail_idx(const struct raw_ring *r);
void raw_set_avail_idx(struct raw_ring *r, uint16_t idx);
/* Write avail ring entry `slot` (mod size) without publishing it. */
void raw_avail_entry(struct raw_ring *r, uint16_t slot, uint16_t head);
/* Make `head` available: the next avail entry, then avail->idx. */
void raw_push(struct raw_ring *r, uint16_t head);
uint16_t raw_used_idx(const struct raw_ring *r);
void raw_used_elem(const struct raw_ring *r, uint16_t slot, uint32_t *id, uint32_t *len);
/* Used ring entry `slot` (mod size) completes head `id` with length `len`. */
void expect_used(const struct raw_ring *r, uint16_t slot, uint32_t id, uint32_t len,
		 const char *what);
/* iovec i of what vq_getchain() returned: at `base`, `len` bytes, device-writable or not. */
void expect_iov(const struct iovec *iov, const uint16_t *flags, int i, const void *base,
		size_t len, bool writable, const char *what);
/* EVENT_IDX fields: used_event ends the avail ring, avail_event ends the used ring. */
uint16_t raw_used_event(const struct raw_ring *r);
void raw_set_used_event(struct raw_ring *r, uint16_t v);
uint16_t raw_avail_event(const struct raw_ring *r);
/* The virtio rule: an interrupt is due when `event` lies in [old, new_idx), mod 2^16. */
bool event_crossed(uint16_t event, uint16_t new_idx, uint16_t old);

#endif
