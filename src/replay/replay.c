/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The replay engine's walk: gather the set-up (DEVICE, PARAM, RAM), build the device,
 * then take the records in order. Records that describe the outside world during an
 * access (MEM, FAULT, TIME, BACKEND, COMPLETE) and what the device raised (IRQ) come
 * before the access record itself; they are applied or queued, then the access is
 * performed and, in check mode, its outcome compared. The first difference stops the
 * walk with a message naming the record.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdev/device.h"
#include "replay/replay_internal.h"
#include "replay/trace_text.h"
#include "vdev/host.h"

static const char *type_name(uint16_t type)
{
	switch (type) {
	case VIRTIO_TYPE_BLOCK:
		return "blk";
	case VIRTIO_TYPE_NET:
		return "net";
	case VIRTIO_TYPE_CONSOLE:
		return "console";
	case VIRTIO_TYPE_ENTROPY:
		return "rng";
	default:
		return "unknown";
	}
}

/* "cfg-read off=0x10 width=4": the access being replayed, for messages. */
static void describe(const struct vdev_trace_rec *r, char *buf, size_t len)
{
	const char *name = vdev_trace_kind_name(r->kind);

	if (name == NULL)
		name = "?";
	switch (r->kind) {
	case VDEV_TR_CFG_READ:
	case VDEV_TR_CFG_WRITE:
		snprintf(buf, len, "%s off=0x%llx width=%u", name, (unsigned long long)r->addr,
			 r->width);
		break;
	case VDEV_TR_BAR_READ:
	case VDEV_TR_BAR_WRITE:
		snprintf(buf, len, "%s bar=%u off=0x%llx width=%u", name, r->bar,
			 (unsigned long long)r->addr, r->width);
		break;
	case VDEV_TR_NOTIFY:
		snprintf(buf, len, "%s queue=%u", name, r->queue);
		break;
	case VDEV_TR_HOST:
		snprintf(buf, len, "%s op=%u", name, r->width);
		break;
	default:
		snprintf(buf, len, "%s", name);
		break;
	}
}

void replay_diverge(struct vdev_replay *rp, const char *fmt, ...)
{
	struct vdev_replay_result *res = rp->res;
	char what[200], where[96];
	va_list ap;

	if (!rp->opt.check || res->diverged || res->error)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	where[0] = '\0';
	if (rp->cur != NULL)
		describe(rp->cur, where, sizeof(where));
	snprintf(res->message, sizeof(res->message), "record %llu (%s): %s",
		 (unsigned long long)rp->rec_index, where[0] ? where : "?", what);
	res->diverged = true;
	res->divergence_record = rp->rec_index;
	rp->stop = true;
}

int replay_fail(struct vdev_replay *rp, int err, const char *fmt, ...)
{
	struct vdev_replay_result *res = rp->res;
	char what[200];
	va_list ap;

	if (err >= 0)
		err = -EINVAL;
	if (res->error == 0) {
		va_start(ap, fmt);
		vsnprintf(what, sizeof(what), fmt, ap);
		va_end(ap);
		snprintf(res->message, sizeof(res->message), "record %llu: %s",
			 (unsigned long long)rp->rec_index, what);
		res->error = err;
	}
	rp->stop = true;
	return err;
}

const char *replay_last_error(const struct vdev_replay *rp)
{
	return rp->last_error[0] ? rp->last_error : "no reason given";
}

void vdev_replay_default_options(struct vdev_replay_options *o)
{
	memset(o, 0, sizeof(*o));
	o->check = true;
	o->log_level = -1;
}

/* ---- set-up ---- */

static int add_param(struct vdev_replay *rp, const struct vdev_trace_rec *r)
{
	struct vdev_trace_param *p;

	if (rp->nparams == REPLAY_MAX_PARAMS) {
		if (rp->opt.fuzz)
			return 0;
		return replay_fail(rp, -EINVAL, "more than %d parameters", REPLAY_MAX_PARAMS);
	}
	if (r->len == 0 || r->len > VDEV_TRACE_MAX_KEY || r->data == NULL)
		return rp->opt.fuzz ? 0 : replay_fail(rp, -EINVAL, "param: bad key");
	p = &rp->params[rp->nparams++];
	memcpy(p->key, r->data, r->len);
	p->key[r->len] = '\0';
	p->value = r->value;
	return 0;
}

static void pci_config_of(const struct vdev_replay *rp, struct vdev_virtio_pci_config *pci)
{
	memset(pci, 0, sizeof(*pci));
	pci->mode = (enum vdev_pci_mode)rp->mode;
	pci->msix = (rp->pci_flags & VDEV_TR_PCI_MSIX) != 0;
	pci->msi = (rp->pci_flags & VDEV_TR_PCI_MSI) != 0;
	pci->notify_pio = (rp->pci_flags & VDEV_TR_PCI_NOTIFY_PIO) != 0;
	pci->mem32 = (rp->pci_flags & VDEV_TR_PCI_MEM32) != 0;
	pci->no_cfg_access = (rp->pci_flags & VDEV_TR_PCI_NO_CFG_ACCESS) != 0;
}

static int build_device(struct vdev_replay *rp)
{
	struct vdev_virtio_pci_config pci;
	struct vdev_host_ops ops;
	const struct vdev_trace_param *params = rp->params;
	int nparams = rp->nparams;
	int rc;

	if (rp->opt.force_type != 0) {
		/* Parameters of another type describe nothing this device has. */
		if (rp->type != rp->opt.force_type)
			nparams = 0;
		rp->type = rp->opt.force_type;
	} else if (!rp->have_device_rec) {
		return replay_fail(rp, -EINVAL, "no device record before the first access");
	}
	if (rp->opt.force_mode != 0)
		rp->mode = rp->opt.force_mode;
	rp->adapter = vdev_replay_adapter_for(rp->type);
	if (rp->adapter == NULL)
		return replay_fail(rp, -EINVAL, "device type %u cannot be replayed", rp->type);
	if (rp->mode < VDEV_PCI_LEGACY || rp->mode > VDEV_PCI_TRANSITIONAL) {
		if (!rp->opt.fuzz)
			return replay_fail(rp, -EINVAL, "unknown pci mode %d", rp->mode);
		rp->mode = VDEV_PCI_MODERN;
	}
	/* A trace without RAM records: a small machine at address 0. */
	if (rp->nregions == 0 && !rp->saw_ram) {
		rc = replay_add_ram(rp, 0, REPLAY_DEFAULT_RAM_SIZE);
		if (rc < 0)
			return rc;
	}
	replay_host_ops(&ops);
	rc = vdev_vmctx_create(&ops, rp, &rp->ctx);
	if (rc < 0)
		return replay_fail(rp, rc, "cannot create the host handle (%d)", rc);
	vdev_vmctx_set_log_level(rp->ctx, rp->opt.log_level < 0 ? VDEV_LOG_ERROR
					 : (enum vdev_log_level)rp->opt.log_level);
	pci_config_of(rp, &pci);
	rc = rp->adapter->create(rp->ctx, &pci, params, nparams, rp, &rp->dev);
	if (rc < 0 && rp->opt.fuzz) {
		/* A mutated parameter or layout: exercise the default device instead. */
		if (rp->dev != NULL) {
			vdev_dev_destroy(rp->dev);
			rp->dev = NULL;
		}
		if (rp->adapter_free != NULL)
			rp->adapter_free(rp->adapter_state);
		rp->adapter_state = NULL;
		rp->adapter_free = NULL;
		rp->complete = NULL;
		rp->res->error = 0;
		rp->res->message[0] = '\0';
		rp->stop = false;
		pci.msix = pci.msi = pci.notify_pio = pci.mem32 = pci.no_cfg_access = false;
		rc = rp->adapter->create(rp->ctx, &pci, NULL, 0, rp, &rp->dev);
	}
	if (rc < 0) {
		if (rp->dev != NULL) {
			vdev_dev_destroy(rp->dev);
			rp->dev = NULL;
		}
		return replay_fail(rp, rc, "cannot build the %s device (%d)", type_name(rp->type),
				   rc);
	}
	return 0;
}

/* ---- checking an access ---- */

static int irq_text(const struct replay_irq *v, uint32_t n, bool overflow, char *buf,
		    size_t len)
{
	size_t at = 0;

	if (n == 0)
		return snprintf(buf, len, "none");
	buf[0] = '\0';
	for (uint32_t i = 0; i < n && at + 1 < len; i++) {
		int w;

		if (v[i].kind == 1)
			w = snprintf(buf + at, len - at, "%smsi 0x%llx/0x%llx", i ? ", " : "",
				     (unsigned long long)v[i].addr, (unsigned long long)v[i].value);
		else
			w = snprintf(buf + at, len - at, "%sintx %llu", i ? ", " : "",
				     (unsigned long long)v[i].value);
		if (w < 0)
			break;
		at += (size_t)w;
	}
	if (overflow && at + 5 < len)
		snprintf(buf + at, len - at, ", ...");
	return 0;
}

static void check_irqs(struct vdev_replay *rp)
{
	bool same = rp->nirq_want == rp->nirq_got &&
		    rp->irq_want_overflow == rp->irq_got_overflow;
	char want[72], got[72];

	for (uint32_t i = 0; same && i < rp->nirq_want; i++)
		same = rp->irq_want[i].kind == rp->irq_got[i].kind &&
		       rp->irq_want[i].addr == rp->irq_got[i].addr &&
		       rp->irq_want[i].value == rp->irq_got[i].value;
	if (same)
		return;
	irq_text(rp->irq_want, rp->nirq_want, rp->irq_want_overflow, want, sizeof(want));
	irq_text(rp->irq_got, rp->nirq_got, rp->irq_got_overflow, got, sizeof(got));
	replay_diverge(rp, "trace says interrupts [%s], device raised [%s]", want, got);
}

static void push_irq_want(struct vdev_replay *rp, const struct vdev_trace_rec *r)
{
	if (rp->nirq_want == REPLAY_MAX_IRQS) {
		rp->irq_want_overflow = true;
		return;
	}
	rp->irq_want[rp->nirq_want++] = (struct replay_irq){
		.kind = r->width,
		.addr = r->width == 1 ? r->addr : 0,
		.value = r->width == 1 ? (uint32_t)r->value : r->value,
	};
}

static void do_access(struct vdev_replay *rp, const struct vdev_trace_rec *r)
{
	rp->cur = r;
	rp->nirq_got = 0;
	rp->irq_got_overflow = false;
	replay_access(rp, r);
	if (!rp->stop) {
		check_irqs(rp);
		replay_backend_settle(rp);
	}
	replay_settle_time(rp);
	rp->nirq_want = 0;
	rp->irq_want_overflow = false;
	rp->cur = NULL;
}

/* ---- the walk ---- */

static bool is_setup(uint8_t kind)
{
	return kind == VDEV_TR_DEVICE || kind == VDEV_TR_PARAM || kind == VDEV_TR_RAM;
}

static void setup_record(struct vdev_replay *rp, const struct vdev_trace_rec *r)
{
	if (r->kind == VDEV_TR_RAM) {
		(void)replay_add_ram(rp, r->addr, r->value);
		return;
	}
	if (rp->dev != NULL || (r->kind == VDEV_TR_DEVICE && rp->have_device_rec)) {
		/* The device exists already: set-up records cannot change it any more. */
		if (!rp->opt.fuzz)
			replay_fail(rp, -EINVAL, "%s record after the device was set up",
				    vdev_trace_kind_name(r->kind));
		return;
	}
	if (r->kind == VDEV_TR_DEVICE) {
		rp->have_device_rec = true;
		rp->type = r->type;
		rp->mode = r->width;
		rp->pci_flags = r->bar;
		return;
	}
	(void)add_param(rp, r);
}

static void world_record(struct vdev_replay *rp, const struct vdev_trace_rec *r)
{
	switch (r->kind) {
	case VDEV_TR_MEM:
		(void)replay_apply_mem(rp, r->addr, r->data, r->len);
		break;
	case VDEV_TR_FAULT:
		replay_arm_fault(rp, r);
		break;
	case VDEV_TR_TIME:
		replay_push_time(rp, r->value);
		break;
	case VDEV_TR_COMPLETE:
		replay_push_complete(rp, r);
		break;
	case VDEV_TR_BACKEND:
		replay_push_backend(rp, r);
		break;
	case VDEV_TR_IRQ:
		push_irq_want(rp, r);
		break;
	default:
		do_access(rp, r);
		break;
	}
}

/* Look at the whole trace first: a malformed one is refused before anything runs. */
static int prescan(struct vdev_replay *rp, const uint8_t *buf, size_t len)
{
	struct vdev_trace_reader rd;
	struct vdev_trace_rec r;
	int rc;

	rc = vdev_trace_reader_init(&rd, buf, len, rp->opt.fuzz);
	if (rc < 0)
		return replay_fail(rp, rc, "%s", rd.errmsg);
	while ((rc = vdev_trace_next(&rd, &r)) > 0) {
		if (r.kind == VDEV_TR_RAM)
			rp->saw_ram = true;
	}
	if (rc < 0 && !rp->opt.fuzz)
		return replay_fail(rp, rc, "%s", rd.errmsg);
	return 0;
}

static void walk(struct vdev_replay *rp, const uint8_t *buf, size_t len, uint64_t max)
{
	struct vdev_trace_reader rd;
	struct vdev_trace_rec r;

	if (vdev_trace_reader_init(&rd, buf, len, rp->opt.fuzz) < 0)
		return;
	for (rp->rec_index = 0; !rp->stop; rp->rec_index++) {
		/* A fuzz input's malformed tail simply ends it. */
		if (max != 0 && rp->rec_index >= max)
			break;
		if (vdev_trace_next(&rd, &r) <= 0)
			break;
		rp->res->records = rp->rec_index + 1;
		if (is_setup(r.kind)) {
			setup_record(rp, &r);
			continue;
		}
		if (rp->dev == NULL && build_device(rp) < 0)
			break;
		world_record(rp, &r);
	}
	/* A trace of set-up only still describes a device: build it, so a bad one is
	 * reported and the end state is that device's. */
	if (rp->dev == NULL && !rp->stop && (rp->have_device_rec || rp->opt.force_type != 0))
		(void)build_device(rp);
}

static void finish(struct vdev_replay *rp)
{
	struct vdev_replay_result *res = rp->res;

	if (rp->dev != NULL) {
		struct virtio_base *base = vdev_dev_virtio(rp->dev);

		res->status = base->status;
		res->negotiated_features = base->negotiated_caps;
		vdev_dev_get_stats(rp->dev, &res->stats);
		vdev_dev_destroy(rp->dev);
		rp->dev = NULL;
	}
	res->interrupts = rp->interrupts;
	if (rp->adapter_free != NULL)
		rp->adapter_free(rp->adapter_state);
	if (rp->ctx != NULL)
		vdev_vmctx_destroy(rp->ctx);
	replay_free_ram(rp);
	replay_fifo_free(&rp->backend);
	replay_fifo_free(&rp->completes);
}

int vdev_replay_run(const uint8_t *buf, size_t len, const struct vdev_replay_options *o,
		    struct vdev_replay_result *res)
{
	struct vdev_replay *rp;
	struct vdev_replay_result scratch;
	uint64_t max;
	int err;

	if (res == NULL)
		res = &scratch;
	memset(res, 0, sizeof(*res));
	if (buf == NULL && len > 0) {
		res->error = -EINVAL;
		snprintf(res->message, sizeof(res->message), "no trace");
		return res->error;
	}
	rp = calloc(1, sizeof(*rp));
	if (rp == NULL) {
		res->error = -ENOMEM;
		snprintf(res->message, sizeof(res->message), "out of memory");
		return res->error;
	}
	if (o != NULL)
		rp->opt = *o;
	else
		vdev_replay_default_options(&rp->opt);
	if (rp->opt.fuzz)
		rp->opt.check = false;
	rp->res = res;
	rp->ram_limit = rp->opt.ram_limit ? rp->opt.ram_limit
			: rp->opt.fuzz    ? REPLAY_FUZZ_RAM_LIMIT
					  : REPLAY_DEFAULT_RAM_LIMIT;
	max = rp->opt.max_records;
	if (rp->opt.fuzz && (max == 0 || max > REPLAY_FUZZ_MAX_RECORDS))
		max = REPLAY_FUZZ_MAX_RECORDS;
	if (prescan(rp, buf, len) == 0)
		walk(rp, buf, len, max);
	finish(rp);
	err = res->error;
	free(rp);
	return err;
}
