/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * INTx: the function keeps the level it wants; the host hears that level gated by the
 * command register's INTx-disable bit, and only when it changes, so repeated asserts
 * from a busy device cost nothing and a driver that masks the line is really obeyed.
 */
#include "core/vmctx.h"
#include "trace/trace_hooks.h"
#include "transport/pci_caps.h"
#include "transport/pci_internal.h"
#include "util/common.h"

void vdev_pci_intx_refresh(struct pci_vdev *dev)
{
	uint16_t cmd;
	int out;

	if (dev == NULL)
		return;
	cmd = vdev_ld16(&dev->cfg[PCIR_COMMAND]);
	out = dev->intx_level && !(cmd & PCIM_CMD_INTxDIS);
	if (out == dev->intx_out)
		return;
	dev->intx_out = out;
	if (out)
		dev->stats.intx_asserts++;
	if (vdev_unlikely(dev->trace != NULL))
		vdev_trace_irq_intx(dev->trace, out);
	vdev_ctx_intx_set(dev->ctx, dev, out);
}

/* The status register's INTx bit shows the wanted level, even while it is gated. */
static void intx_want(struct pci_vdev *dev, int level)
{
	uint16_t status;

	if (dev == NULL)
		return;
	dev->intx_level = level;
	status = vdev_ld16(&dev->cfg[PCIR_STATUS]);
	if (level)
		status |= PCIM_STATUS_INTxSTATE;
	else
		status &= (uint16_t)~PCIM_STATUS_INTxSTATE;
	vdev_st16(&dev->cfg[PCIR_STATUS], status);
	vdev_pci_intx_refresh(dev);
}

void vdev_pci_intx_assert(struct pci_vdev *dev)
{
	intx_want(dev, 1);
}

void vdev_pci_intx_deassert(struct pci_vdev *dev)
{
	intx_want(dev, 0);
}
