/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Trace-driven fuzzing: the input is a binary register-access trace
 * (docs/trace-format.md; the file header is optional), replayed against a fresh device
 * by the same engine as `vdev-trace replay`, without checking. A trace reaches
 * everything a guest and the outside world can do to a device: config and BAR
 * accesses, guest memory contents (MEM), backend results and completions in any order,
 * clock jumps, host controls, resets, and translation failures (FAULT). Anything
 * ASan/UBSan can see, an abort, a hang or a leak is a bug.
 *
 * One source, built once per device type and PCI mode (fuzz/meson.build passes the
 * FUZZ_TRACE_* defines): the target's type and mode override whatever the trace's
 * DEVICE record says, so the fuzzer never wastes inputs on a device that does not
 * exist, and each binary's coverage feedback is about one register layout.
 */
#include <stdint.h>
#include <stdlib.h>

#include "replay/replay.h"
#include "vdev/virtio.h"
#include "vdev/virtio_pci.h"

#if !defined(FUZZ_TRACE_TYPE) || !defined(FUZZ_TRACE_MODE) || !defined(FUZZ_TRACE_CFG_ACCESS)
#error "build with -DFUZZ_TRACE_TYPE=VIRTIO_TYPE_x -DFUZZ_TRACE_MODE=VDEV_PCI_x -DFUZZ_TRACE_CFG_ACCESS=0|1"
#endif

/*
 * Work per input stays small so libFuzzer runs thousands of inputs a second. Guest RAM
 * is mapped lazily (only the pages an input touches cost anything), so the limit only
 * has to be large enough that a real guest's layout survives: the traces recorded from
 * a Linux guest declare 512 MiB at address 0, and a region past the limit would be
 * dropped, leaving the seed no RAM at all. The record cap bounds the work of one input
 * (a real guest's trace has a few thousand).
 */
#define FUZZ_RAM_LIMIT (1ull << 30)
#define FUZZ_MAX_RECORDS 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vdev_replay_options o;
	struct vdev_replay_result res;

	vdev_replay_default_options(&o);
	o.check = false;
	o.fuzz = true;
	o.force_type = FUZZ_TRACE_TYPE;
	o.force_mode = FUZZ_TRACE_MODE;
	o.via_cfg_access = FUZZ_TRACE_CFG_ACCESS;
	o.ram_limit = FUZZ_RAM_LIMIT;
	o.max_records = FUZZ_MAX_RECORDS;
	o.log_level = -1;
	vdev_replay_run(data, size, &o, &res);
	/* Whatever the input, the engine stays within the bound it was given. */
	if (res.records > FUZZ_MAX_RECORDS)
		abort();
	return 0;
}
