/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The replay engine (src/trace/replay.h) on hand-built traces: every device type and
 * PCI mode, divergence detection, FAULT injection, and hostile traces that must give
 * an error and never a crash. (Recorded sessions: test_trace_replay_sessions.c.)
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "replay/replay.h"
#include "trace/trace_format.h"
#include "vdev/driver.h"
#include "vdev/vdev.h"
#include "vdev/trace.h"
#include "trace_builder.h"

/* ---------------- hand-built traces ---------------- */

Test(trace_replay, identity_of_every_type_and_mode)
{
	for (size_t ti = 0; ti < sizeof(tb_types) / sizeof(tb_types[0]); ti++) {
		for (size_t mi = 0; mi < sizeof(tb_modes) / sizeof(tb_modes[0]); mi++) {
			uint16_t id = vdev_virtio_pci_device_id(tb_types[ti], tb_modes[mi]);
			struct vdev_replay_result res;
			struct tb t;

			tb_init(&t);
			tb_device(&t, tb_types[ti], tb_modes[mi], VDEV_TR_PCI_MSIX);
			tb_cfg_read(&t, PCIR_VENDOR, 2, 0x1af4);
			tb_cfg_read(&t, PCIR_DEVICE, 2, id);
			res = run_tb(&t, true);
			cr_assert_eq(res.error, 0, "type %u mode %d: %s", tb_types[ti], tb_modes[mi],
				     res.message);
			cr_assert(!res.diverged, "type %u mode %d: %s", tb_types[ti], tb_modes[mi],
				  res.message);
			cr_assert_eq(res.records, 3);
			/* A mode override builds another function: its device id differs
			 * between legacy and modern. */
			if (tb_modes[mi] != VDEV_PCI_TRANSITIONAL) {
				struct vdev_replay_options o;

				vdev_replay_default_options(&o);
				o.force_mode = tb_modes[mi] == VDEV_PCI_LEGACY ? VDEV_PCI_MODERN
									    : VDEV_PCI_LEGACY;
				vdev_replay_run(t.buf, t.len, &o, &res);
				cr_assert(res.diverged, "type %u: forced mode not applied",
					  tb_types[ti]);
				cr_assert_eq(res.divergence_record, 2);
			}
			tb_free(&t);
		}
	}
}

Test(trace_replay, changed_read_value_is_reported_with_its_record)
{
	struct vdev_replay_result res;
	char want[200];
	struct tb t;

	tb_init(&t);
	tb_device(&t, VIRTIO_TYPE_ENTROPY, VDEV_PCI_MODERN, 0);
	tb_cfg_read(&t, PCIR_VENDOR, 2, 0x1af4);
	tb_cfg_read(&t, PCIR_DEVICE, 2, 0x1234);
	tb_cfg_read(&t, PCIR_VENDOR, 2, 0x1af4);
	res = run_tb(&t, true);
	cr_assert_eq(res.error, 0, "%s", res.message);
	cr_assert(res.diverged);
	cr_assert_eq(res.divergence_record, 2);
	snprintf(want, sizeof(want),
		 "record 2 (cfg-read off=0x2 width=2): trace says 0x1234, device returned 0x%x",
		 vdev_virtio_pci_device_id(VIRTIO_TYPE_ENTROPY, VDEV_PCI_MODERN));
	cr_assert_str_eq(res.message, want);
	cr_assert_eq(res.records, 3, "the walk stops at the first difference");

	/* Without checking the same trace simply runs to the end. */
	res = run_tb(&t, false);
	cr_assert(!res.diverged);
	cr_assert_eq(res.error, 0);
	cr_assert_eq(res.records, 4);
	tb_free(&t);
}

Test(trace_replay, config_access_result_is_compared)
{
	struct vdev_replay_result res;
	struct tb t;

	tb_init(&t);
	tb_device(&t, VIRTIO_TYPE_BLOCK, VDEV_PCI_LEGACY, 0);
	/* An access past config space is refused: the trace says it worked. */
	tb_add(&t, REC(.kind = VDEV_TR_CFG_READ, .addr = 0x2000, .width = 4, .result = 0));
	res = run_tb(&t, true);
	cr_assert(res.diverged);
	cr_assert(strstr(res.message, "trace says rc 0, device returned rc") != NULL, "%s",
		  res.message);
	tb_free(&t);
}

Test(trace_replay, interrupts_and_backend_calls_are_compared)
{
	struct vdev_replay_result res;
	struct tb t;

	/* The trace says an interrupt came with this read; the device raises none. */
	tb_init(&t);
	tb_device(&t, VIRTIO_TYPE_ENTROPY, VDEV_PCI_MODERN, VDEV_TR_PCI_MSIX);
	tb_add(&t, REC(.kind = VDEV_TR_IRQ, .width = 1, .addr = 0xfee00000, .value = 0x41));
	tb_cfg_read(&t, PCIR_VENDOR, 2, 0x1af4);
	res = run_tb(&t, true);
	cr_assert(res.diverged);
	cr_assert_eq(res.divergence_record, 2);
	cr_assert(strstr(res.message, "trace says interrupts [msi 0xfee00000/0x41], device "
				      "raised [none]") != NULL, "%s", res.message);
	tb_free(&t);

	/* The trace has a backend call the device does not make during this access. */
	tb_init(&t);
	tb_device(&t, VIRTIO_TYPE_ENTROPY, VDEV_PCI_MODERN, 0);
	tb_add(&t, REC(.kind = VDEV_TR_BACKEND, .width = VDEV_TR_BE_RNG_READ, .result = 5));
	tb_cfg_read(&t, PCIR_VENDOR, 2, 0x1af4);
	res = run_tb(&t, true);
	cr_assert(res.diverged);
	cr_assert(strstr(res.message, "rng-read on queue 0 (result 5) the device did not make"),
		  "%s", res.message);
	res = run_tb(&t, false);
	cr_assert(!res.diverged && res.error == 0, "%s", res.message);
	tb_free(&t);
}

Test(trace_replay, parameters_rebuild_the_device)
{
	struct vdev_replay_result res;
	struct tb t;

	/* blk capacity of 4096 sectors, read-only: config space says so. */
	tb_init(&t);
	tb_device(&t, VIRTIO_TYPE_BLOCK, VDEV_PCI_LEGACY, 0);
	tb_param(&t, "capacity", 4096);
	tb_param(&t, "readonly", 1);
	tb_param(&t, "serial_len", 3);
	tb_param(&t, "serial_0", 0x636261); /* "abc" */
	/* Legacy: device config starts at 20 in BAR 0 (no MSI-X). */
	tb_add(&t, REC(.kind = VDEV_TR_BAR_READ, .bar = 0, .addr = 20, .width = 4, .value = 4096));
	tb_add(&t, REC(.kind = VDEV_TR_BAR_READ, .bar = 0, .addr = 0, .width = 4,
		       .value = 0));
	res = run_tb(&t, true);
	cr_assert_eq(res.error, 0, "%s", res.message);
	/* The feature word differs from 0: the read of offset 0 is the one that diverges,
	 * and it names the device's answer, which must include RO (bit 5). */
	cr_assert(res.diverged);
	cr_assert_eq(res.divergence_record, 6, "%s", res.message);
	{
		const char *p = strstr(res.message, "device returned 0x");
		unsigned long f;

		cr_assert_not_null(p, "%s", res.message);
		f = strtoul(p + strlen("device returned "), NULL, 16);
		cr_assert(f & (1u << 5), "RO offered: %s", res.message);
		cr_assert(!(f & (1u << 13)), "no DISCARD on a read-only disk: %s", res.message);
	}
	tb_free(&t);

	/* A "features" parameter the parameters cannot reproduce is refused. */
	tb_init(&t);
	tb_device(&t, VIRTIO_TYPE_ENTROPY, VDEV_PCI_MODERN, 0);
	tb_param(&t, "features", 0x12345);
	tb_cfg_read(&t, 0, 2, 0x1af4);
	res = run_tb(&t, true);
	cr_assert_eq(res.error, -EINVAL);
	cr_assert(strstr(res.message, "offering features") != NULL, "%s", res.message);
	tb_free(&t);
}

/* ---------------- hostile traces ---------------- */

static void expect_error(const struct tb *t, const char *what, const char *needle)
{
	struct vdev_replay_result res = run_tb(t, true);

	cr_assert(res.error < 0, "%s: accepted (%s)", what, res.message);
	cr_assert(strstr(res.message, needle) != NULL, "%s: message '%s' lacks '%s'", what,
		  res.message, needle);
	/* A fuzzer's replay of the same trace neither fails nor crashes. */
	res = run(t->buf, t->len, false, true, false);
	(void)res;
}

Test(trace_replay, hostile_ram_layouts_are_refused)
{
	struct tb t;

	tb_init(&t);
	tb_device(&t, VIRTIO_TYPE_ENTROPY, VDEV_PCI_MODERN, 0);
	tb_add(&t, REC(.kind = VDEV_TR_RAM, .addr = 0, .value = 1 << 20));
	tb_add(&t, REC(.kind = VDEV_TR_RAM, .addr = 0x80000, .value = 1 << 20));
	tb_cfg_read(&t, 0, 2, 0x1af4);
	expect_error(&t, "overlap", "overlaps");
	tb_free(&t);

	tb_init(&t);
	tb_device(&t, VIRTIO_TYPE_ENTROPY, VDEV_PCI_MODERN, 0);
	tb_add(&t, REC(.kind = VDEV_TR_RAM, .addr = 1ull << 40, .value = 1ull << 62));
	tb_cfg_read(&t, 0, 2, 0x1af4);
	expect_error(&t, "huge", "beyond the RAM limit");
	tb_free(&t);

	tb_init(&t);
	tb_device(&t, VIRTIO_TYPE_ENTROPY, VDEV_PCI_MODERN, 0);
	tb_add(&t, REC(.kind = VDEV_TR_RAM, .addr = UINT64_MAX - 10, .value = 100));
	expect_error(&t, "wrapping", "wraps");
	tb_free(&t);

	tb_init(&t);
	tb_device(&t, VIRTIO_TYPE_ENTROPY, VDEV_PCI_MODERN, 0);
	for (int i = 0; i < 40; i++)
		tb_add(&t, REC(.kind = VDEV_TR_RAM, .addr = (uint64_t)i << 20, .value = 4096));
	expect_error(&t, "many", "too many regions");
	tb_free(&t);
}

Test(trace_replay, large_ram_costs_only_what_is_touched)
{
	static const uint8_t bytes[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct vdev_replay_result res;
	struct tb t;

	/* 2 GiB declared, a few bytes written at its end: mapped lazily, never touched. */
	tb_init(&t);
	tb_device(&t, VIRTIO_TYPE_ENTROPY, VDEV_PCI_MODERN, 0);
	tb_add(&t, REC(.kind = VDEV_TR_RAM, .addr = 1ull << 32, .value = 2ull << 30));
	tb_add(&t, REC(.kind = VDEV_TR_MEM, .addr = (1ull << 32) + (2ull << 30) - 8,
		       .data = bytes, .len = 8));
	tb_cfg_read(&t, 0, 2, 0x1af4);
	res = run_tb(&t, true);
	cr_assert_eq(res.error, 0, "%s", res.message);
	cr_assert(!res.diverged);
	tb_free(&t);
}

Test(trace_replay, memory_outside_ram_is_an_error)
{
	static const uint8_t bytes[16];
	struct tb t;

	tb_init(&t);
	tb_device(&t, VIRTIO_TYPE_ENTROPY, VDEV_PCI_MODERN, 0);
	tb_add(&t, REC(.kind = VDEV_TR_RAM, .addr = 0, .value = 4096));
	tb_add(&t, REC(.kind = VDEV_TR_MEM, .addr = 4090, .data = bytes, .len = 16));
	tb_cfg_read(&t, 0, 2, 0x1af4);
	expect_error(&t, "straddling", "not guest RAM");
	tb_free(&t);

	/* Without RAM records the default region is 16 MiB at 0. */
	tb_init(&t);
	tb_device(&t, VIRTIO_TYPE_ENTROPY, VDEV_PCI_MODERN, 0);
	tb_add(&t, REC(.kind = VDEV_TR_MEM, .addr = (16 << 20) - 16, .data = bytes, .len = 16));
	tb_cfg_read(&t, 0, 2, 0x1af4);
	cr_assert_eq(run_tb(&t, true).error, 0);
	tb_add(&t, REC(.kind = VDEV_TR_MEM, .addr = 16 << 20, .data = bytes, .len = 16));
	expect_error(&t, "past the default", "not guest RAM");
	tb_free(&t);
}

Test(trace_replay, bad_set_up_is_an_error)
{
	struct tb t;

	tb_init(&t);
	tb_device(&t, VIRTIO_TYPE_NET, VDEV_PCI_MODERN, 0);
	tb_param(&t, "no_such_thing", 1);
	tb_cfg_read(&t, 0, 2, 0x1af4);
	expect_error(&t, "unknown param", "unknown");
	tb_free(&t);

	tb_init(&t);
	tb_device(&t, VIRTIO_TYPE_CONSOLE, VDEV_PCI_MODERN, 0);
	tb_param(&t, "p40", 1);
	tb_cfg_read(&t, 0, 2, 0x1af4);
	expect_error(&t, "port past the last", "port past");
	tb_free(&t);

	tb_init(&t);
	tb_device(&t, VIRTIO_TYPE_BLOCK, VDEV_PCI_MODERN, 0);
	tb_param(&t, "queue_size", 3);
	tb_cfg_read(&t, 0, 2, 0x1af4);
	expect_error(&t, "queue size 3", "refused");
	tb_free(&t);

	tb_init(&t);
	tb_device(&t, VIRTIO_TYPE_BLOCK, VDEV_PCI_MODERN, 0);
	tb_param(&t, "num_queues", 1000);
	tb_cfg_read(&t, 0, 2, 0x1af4);
	expect_error(&t, "1000 queues", "above");
	tb_free(&t);

	/* Set-up alone still builds the device, and the device's own reason is given. */
	tb_init(&t);
	tb_device(&t, VIRTIO_TYPE_NET, VDEV_PCI_LEGACY, 0);
	tb_param(&t, "mac", 0x1);
	expect_error(&t, "multicast mac", "multicast address");
	tb_free(&t);

	tb_init(&t);
	tb_cfg_read(&t, 0, 2, 0x1af4);
	expect_error(&t, "no device", "no device record");
	tb_free(&t);

	tb_init(&t);
	tb_device(&t, 99, VDEV_PCI_MODERN, 0);
	tb_cfg_read(&t, 0, 2, 0x1af4);
	expect_error(&t, "unknown type", "cannot be replayed");
	tb_free(&t);

	tb_init(&t);
	tb_device(&t, VIRTIO_TYPE_ENTROPY, 7, 0);
	tb_cfg_read(&t, 0, 2, 0x1af4);
	expect_error(&t, "unknown mode", "pci mode");
	tb_free(&t);

	tb_init(&t);
	tb_device(&t, VIRTIO_TYPE_ENTROPY, VDEV_PCI_MODERN, 0);
	tb_cfg_read(&t, 0, 2, 0x1af4);
	tb_param(&t, "rate", 1);
	expect_error(&t, "late param", "after the device was set up");
	tb_free(&t);

	tb_init(&t);
	tb_device(&t, VIRTIO_TYPE_ENTROPY, VDEV_PCI_MODERN, 0);
	tb_add(&t, REC(.kind = VDEV_TR_FAULT, .width = 9));
	expect_error(&t, "unknown fault", "unknown kind");
	tb_free(&t);
}

Test(trace_replay, truncated_and_garbage_traces)
{
	struct vdev_replay_result res;
	struct tb t;
	uint8_t junk[512];
	uint32_t seed = 12345;

	tb_init(&t);
	tb_device(&t, VIRTIO_TYPE_ENTROPY, VDEV_PCI_MODERN, 0);
	tb_cfg_read(&t, 0, 2, 0x1af4);
	tb_cfg_read(&t, 2, 2, 0x1044);
	/* Cut inside the last record: malformed, refused before anything runs. */
	res = run(t.buf, t.len - 3, true, false, false);
	cr_assert(res.error < 0);
	cr_assert_eq(res.records, 0, "nothing replayed from a malformed trace");
	/* A fuzzer's truncated input: the whole records run. */
	res = run(t.buf, t.len - 3, false, true, false);
	cr_assert_eq(res.error, 0, "%s", res.message);
	cr_assert_eq(res.records, 2);
	/* No header at all: refused unless fuzzing. */
	res = run(t.buf + VDEV_TRACE_HEADER_LEN, t.len - VDEV_TRACE_HEADER_LEN, true, false,
		  false);
	cr_assert(res.error < 0);
	tb_free(&t);

	/* Random bytes, raw and after a valid header, every type forced: no crash. */
	for (int round = 0; round < 400; round++) {
		struct vdev_replay_options o;

		for (size_t i = 0; i < sizeof(junk); i++) {
			seed = seed * 1103515245u + 12345u;
			junk[i] = (uint8_t)(seed >> 16);
			/* Bias towards known kinds so records get decoded. */
			if (i % 23 == 0)
				junk[i] = (uint8_t)(0x10 + (seed >> 24) % 8);
		}
		vdev_replay_default_options(&o);
		o.fuzz = true;
		o.check = false;
		o.force_type = tb_types[round % 4];
		o.force_mode = tb_modes[round % 3];
		o.via_cfg_access = round % 2;
		vdev_replay_run(junk, sizeof(junk), &o, &res);
		cr_assert(res.records <= sizeof(junk));
	}
}
