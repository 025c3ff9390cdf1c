/* SPDX-License-Identifier: BSD-3-Clause */
#include "trace_builder.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

void tb_add(struct tb *t, struct vdev_trace_rec r)
{
	size_t n = vdev_trace_rec_size(&r);

	if (t->len + n > t->cap) {
		t->cap = (t->len + n) * 2 + 64;
		t->buf = realloc(t->buf, t->cap);
		cr_assert_not_null(t->buf);
	}
	t->len += vdev_trace_rec_encode(&r, t->buf + t->len);
	t->nrecs++;
}

void tb_init(struct tb *t)
{
	memset(t, 0, sizeof(*t));
	t->cap = 256;
	t->buf = malloc(t->cap);
	cr_assert_not_null(t->buf);
	vdev_trace_header_encode(t->buf);
	t->len = VDEV_TRACE_HEADER_LEN;
}

void tb_device(struct tb *t, uint16_t type, int mode, uint8_t flags)
{
	tb_add(t, REC(.kind = VDEV_TR_DEVICE, .type = type, .width = (uint8_t)mode, .bar = flags));
}

void tb_param(struct tb *t, const char *key, uint64_t v)
{
	tb_add(t, REC(.kind = VDEV_TR_PARAM, .data = (const uint8_t *)key,
		      .len = (uint32_t)strlen(key), .value = v));
}

void tb_cfg_read(struct tb *t, uint64_t off, int width, uint64_t v)
{
	tb_add(t, REC(.kind = VDEV_TR_CFG_READ, .addr = off, .width = (uint8_t)width, .value = v));
}

void tb_free(struct tb *t)
{
	free(t->buf);
	t->buf = NULL;
}

struct vdev_replay_result run(const uint8_t *buf, size_t len, bool check, bool fuzz,
			      bool cfg_access)
{
	struct vdev_replay_options o;
	struct vdev_replay_result res;

	vdev_replay_default_options(&o);
	o.check = check;
	o.fuzz = fuzz;
	o.via_cfg_access = cfg_access;
	vdev_replay_run(buf, len, &o, &res);
	return res;
}

struct vdev_replay_result run_tb(const struct tb *t, bool check)
{
	return run(t->buf, t->len, check, false, false);
}

const uint16_t tb_types[4] = {VIRTIO_TYPE_BLOCK, VIRTIO_TYPE_NET, VIRTIO_TYPE_CONSOLE,
			      VIRTIO_TYPE_ENTROPY};
const int tb_modes[3] = {VDEV_PCI_LEGACY, VDEV_PCI_MODERN, VDEV_PCI_TRANSITIONAL};
