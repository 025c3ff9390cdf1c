/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-type replay adapters and the parameter helpers they share. A PARAM value is
 * one u64; byte strings (a serial number, a port name) travel as a length and 8-byte
 * chunks (vdev_trace_emit_bytes() writes them).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "replay/replay_internal.h"
#include "util/common.h"

const struct vdev_replay_adapter *vdev_replay_adapter_for(uint16_t type)
{
	static const struct vdev_replay_adapter *const adapters[] = {
		&replay_blk_adapter,
		&replay_net_adapter,
		&replay_console_adapter,
		&replay_rng_adapter,
	};

	for (size_t i = 0; i < sizeof(adapters) / sizeof(adapters[0]); i++)
		if (adapters[i]->type == type)
			return adapters[i];
	return NULL;
}

int replay_param_u(struct vdev_replay *rp, const struct vdev_trace_param *p, uint64_t max,
		   uint64_t *out)
{
	if (p->value > max)
		return replay_fail(rp, -EINVAL, "param %s: %llu is above %llu", p->key,
				   (unsigned long long)p->value, (unsigned long long)max);
	*out = p->value;
	return 0;
}

int replay_param_bytes(struct vdev_replay *rp, const struct vdev_trace_param *p,
		       const char *prefix, uint8_t *buf, size_t cap, size_t *len)
{
	size_t plen = strlen(prefix);
	const char *rest;
	unsigned long idx = 0;

	if (strncmp(p->key, prefix, plen) != 0 || p->key[plen] != '_')
		return 0;
	rest = p->key + plen + 1;
	if (strcmp(rest, "len") == 0) {
		if (p->value > cap)
			return replay_fail(rp, -EINVAL, "param %s: %llu bytes, at most %zu",
					   p->key, (unsigned long long)p->value, cap);
		*len = (size_t)p->value;
		return 1;
	}
	if (*rest == '\0' || strlen(rest) > 3)
		return replay_fail(rp, -EINVAL, "param %s: unknown", p->key);
	for (const char *c = rest; *c; c++) {
		if (*c < '0' || *c > '9')
			return replay_fail(rp, -EINVAL, "param %s: unknown", p->key);
		idx = idx * 10 + (unsigned long)(*c - '0');
	}
	if (idx * 8 >= cap)
		return replay_fail(rp, -EINVAL, "param %s: chunk past %zu bytes", p->key, cap);
	{
		uint8_t chunk[8];
		size_t n = cap - idx * 8 < 8 ? cap - idx * 8 : 8;

		vdev_st64(chunk, p->value);
		memcpy(buf + idx * 8, chunk, n);
	}
	return 1;
}

int replay_check_features(struct vdev_replay *rp, struct vdev_dev *dev, bool have,
			  uint64_t want)
{
	uint64_t got = vdev_dev_virtio(dev)->device_caps;

	/* A fuzzer's mutated parameter should not stop the device from being exercised. */
	if (!have || got == want || rp->opt.fuzz)
		return 0;
	return replay_fail(rp, -EINVAL,
			   "the parameters rebuild a device offering features 0x%llx, the "
			   "trace's device offered 0x%llx",
			   (unsigned long long)got, (unsigned long long)want);
}

int replay_unknown_param(struct vdev_replay *rp, const struct vdev_trace_param *p)
{
	return replay_fail(rp, -EINVAL, "param %s: unknown for this device type", p->key);
}
