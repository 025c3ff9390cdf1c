/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-blk describing itself to a trace: the PARAM records a replay rebuilds the
 * same device from (src/replay/replay_blk.c reads them back; docs/trace-format.md
 * lists them).
 */
#include <string.h>

#include "devices/blk/blk_internal.h"
#include "util/common.h"

void blk_describe(struct vdev_dev *dev, vdev_trace_param_fn emit, void *arg)
{
	struct blk_shape s;
	const struct blk_wire_config *c = &s.cfg;

	if (blk_shape_of(dev, &s) < 0)
		return;
	emit(arg, "capacity", s.lim.capacity);
	emit(arg, "readonly", s.lim.readonly);
	emit(arg, "discard", (s.offered & VDEV_BLK_F_DISCARD) != 0);
	emit(arg, "write_zeroes", (s.offered & VDEV_BLK_F_WRITE_ZEROES) != 0);
	emit(arg, "wz_may_unmap", s.lim.wz_may_unmap);
	emit(arg, "writeback", s.writeback_default);
	emit(arg, "num_queues", s.nq);
	emit(arg, "queue_size", s.qsize);
	emit(arg, "seg_max", vdev_ld32(&c->seg_max));
	emit(arg, "size_max", vdev_ld32(&c->size_max));
	emit(arg, "blk_size", vdev_ld32(&c->blk_size));
	emit(arg, "physical_block_exp", c->physical_block_exp);
	emit(arg, "alignment_offset", c->alignment_offset);
	emit(arg, "min_io_size", vdev_ld16(&c->min_io_size));
	emit(arg, "opt_io_size", vdev_ld32(&c->opt_io_size));
	emit(arg, "max_discard_sectors", vdev_ld32(&c->max_discard_sectors));
	emit(arg, "max_discard_seg", vdev_ld32(&c->max_discard_seg));
	emit(arg, "discard_alignment", vdev_ld32(&c->discard_sector_alignment));
	emit(arg, "max_wz_sectors", vdev_ld32(&c->max_write_zeroes_sectors));
	emit(arg, "max_wz_seg", vdev_ld32(&c->max_write_zeroes_seg));
	vdev_trace_emit_bytes(emit, arg, "serial", s.lim.serial, strnlen(s.lim.serial, 20));
	/* Not a creation parameter: lets a replay confirm it rebuilt the same device. */
	emit(arg, "features", s.offered);
}
