/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Performing one access record on the replayed device, the way the original host made
 * it (or, on request, every BAR access through the PCI cfg-access capability window,
 * as firmware does), and comparing what the device answered with what the trace says.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "replay/replay_internal.h"
#include "vdev/blk.h"
#include "vdev/console.h"
#include "vdev/net.h"
#include "vdev/pci.h"
#include "vdev/virtio.h"

/* Offsets inside struct virtio_pci_cfg_cap. */
#define WIN_BAR 4
#define WIN_OFFSET 8
#define WIN_LENGTH 12
#define WIN_DATA 16

/* Anything past config space: the library refuses it, whatever the trace's number. */
#define CFG_OFF_INVALID 0x10000

static int cfg_off(uint64_t addr)
{
	return addr < CFG_OFF_INVALID ? (int)addr : CFG_OFF_INVALID;
}

/* Where the cfg-access capability lives in config space, or 0 when there is none. */
static int find_window(struct pci_vdev *pci)
{
	int ptr = vdev_pci_get_cfgdata8(pci, PCIR_CAP_PTR) & ~3;

	/* Bounded: a capability list has at most 48 entries in 256 bytes. */
	for (int hops = 0; ptr >= 0x40 && ptr <= 0xFC && hops < 48; hops++) {
		if (vdev_pci_get_cfgdata8(pci, ptr) == PCIY_VENDOR && ptr + WIN_DATA + 4 <= 0x100 &&
		    vdev_pci_get_cfgdata8(pci, ptr + 3) == VIRTIO_PCI_CAP_PCI_CFG)
			return ptr;
		ptr = vdev_pci_get_cfgdata8(pci, ptr + 1) & ~3;
	}
	return 0;
}

/*
 * A BAR access through the window: program bar/offset/length, then read or write the
 * data field. The window registers are put back afterwards, so a later config read of
 * them sees what the trace's driver left there. false when the access cannot go
 * through the window (no window, a width or alignment it cannot carry).
 */
static bool window_access(struct pci_vdev *pci, int win, bool write, int bar, uint64_t off,
			  int width, uint64_t *val)
{
	uint32_t saved_bar = 0, saved_off = 0, saved_len = 0, v = 0;

	if (win == 0 || (width != 1 && width != 2 && width != 4) || off % (uint64_t)width != 0 ||
	    off > UINT32_MAX - 4 || bar < 0 || bar > 5)
		return false;
	(void)vdev_pci_cfgread(pci, win + WIN_BAR, 1, &saved_bar);
	(void)vdev_pci_cfgread(pci, win + WIN_OFFSET, 4, &saved_off);
	(void)vdev_pci_cfgread(pci, win + WIN_LENGTH, 4, &saved_len);
	(void)vdev_pci_cfgwrite(pci, win + WIN_BAR, 1, (uint32_t)bar);
	(void)vdev_pci_cfgwrite(pci, win + WIN_OFFSET, 4, (uint32_t)off);
	(void)vdev_pci_cfgwrite(pci, win + WIN_LENGTH, 4, (uint32_t)width);
	if (write) {
		(void)vdev_pci_cfgwrite(pci, win + WIN_DATA, width, (uint32_t)*val);
	} else {
		(void)vdev_pci_cfgread(pci, win + WIN_DATA, width, &v);
		*val = v;
	}
	(void)vdev_pci_cfgwrite(pci, win + WIN_BAR, 1, saved_bar);
	(void)vdev_pci_cfgwrite(pci, win + WIN_OFFSET, 4, saved_off);
	(void)vdev_pci_cfgwrite(pci, win + WIN_LENGTH, 4, saved_len);
	return true;
}

static uint64_t bar_read(struct vdev_replay *rp, int bar, uint64_t off, int width)
{
	struct pci_vdev *pci = vdev_dev_pci(rp->dev);
	uint64_t v = 0;

	if (rp->opt.via_cfg_access && window_access(pci, find_window(pci), false, bar, off,
						     width, &v))
		return v;
	return virtio_pci_read(rp->ctx, 0, pci, bar, off, width);
}

static void bar_write(struct vdev_replay *rp, int bar, uint64_t off, int width, uint64_t v)
{
	struct pci_vdev *pci = vdev_dev_pci(rp->dev);

	if (rp->opt.via_cfg_access && window_access(pci, find_window(pci), true, bar, off,
						     width, &v))
		return;
	virtio_pci_write(rp->ctx, 0, pci, bar, off, width, v);
}

static void host_control(struct vdev_replay *rp, const struct vdev_trace_rec *r)
{
	struct vdev_dev *dev = rp->dev;
	uint32_t port = r->addr > UINT32_MAX ? UINT32_MAX : (uint32_t)r->addr;

	/* Each control refuses a device of another type itself. */
	switch (r->width) {
	case VDEV_TR_HOST_BLK_RESIZE:
		(void)vdev_blk_resize(dev, r->addr);
		break;
	case VDEV_TR_HOST_NET_LINK:
		(void)vdev_net_set_link(dev, r->addr != 0);
		break;
	case VDEV_TR_HOST_CON_RESIZE:
		(void)vdev_console_resize(dev, port, (uint16_t)(r->value >> 16),
					  (uint16_t)r->value);
		break;
	case VDEV_TR_HOST_CON_OPEN:
		(void)vdev_console_set_open(dev, port, r->value != 0);
		break;
	default:
		if (!rp->opt.fuzz)
			replay_fail(rp, -EINVAL, "host: unknown control %u", r->width);
		break;
	}
}

static void host_reset(struct vdev_replay *rp)
{
	struct virtio_base *base = vdev_dev_virtio(rp->dev);

	/* A host resets under the device lock, like any other call into the device. */
	if (base->mtx != NULL)
		pthread_mutex_lock(base->mtx);
	virtio_reset_dev(base);
	if (base->mtx != NULL)
		pthread_mutex_unlock(base->mtx);
}

void replay_access(struct vdev_replay *rp, const struct vdev_trace_rec *r)
{
	struct pci_vdev *pci = vdev_dev_pci(rp->dev);
	int width = r->width;
	uint32_t v32 = 0;
	uint64_t v;
	int rc;

	switch (r->kind) {
	case VDEV_TR_CFG_READ:
		rc = vdev_pci_cfgread(pci, cfg_off(r->addr), width, &v32);
		if (rc != r->result)
			replay_diverge(rp, "trace says rc %d, device returned rc %d", r->result, rc);
		else if (rc == 0 && v32 != (uint32_t)r->value)
			replay_diverge(rp, "trace says 0x%llx, device returned 0x%x",
				       (unsigned long long)r->value, v32);
		break;
	case VDEV_TR_CFG_WRITE:
		rc = vdev_pci_cfgwrite(pci, cfg_off(r->addr), width, (uint32_t)r->value);
		if (rc != r->result)
			replay_diverge(rp, "trace says rc %d, device returned rc %d", r->result, rc);
		break;
	case VDEV_TR_BAR_READ:
		v = bar_read(rp, r->bar, r->addr, width);
		if (v != r->value)
			replay_diverge(rp, "trace says 0x%llx, device returned 0x%llx",
				       (unsigned long long)r->value, (unsigned long long)v);
		break;
	case VDEV_TR_BAR_WRITE:
		bar_write(rp, r->bar, r->addr, width, r->value);
		break;
	case VDEV_TR_NOTIFY:
		(void)vdev_virtio_queue_notify(vdev_dev_virtio(rp->dev), r->queue);
		break;
	case VDEV_TR_POLL:
		(void)vdev_dev_poll(rp->dev);
		break;
	case VDEV_TR_RESET:
		host_reset(rp);
		break;
	case VDEV_TR_HOST:
		host_control(rp, r);
		break;
	default:
		break;
	}
}
