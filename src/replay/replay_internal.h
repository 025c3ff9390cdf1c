/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The replay engine's state and what its parts offer each other:
 *   replay.c         the record walk, set-up (DEVICE/PARAM/RAM), checking, results
 *   replay_mem.c     guest RAM and the host callbacks (translate with FAULT injection,
 *                    interrupts, the clock)
 *   replay_backend.c what the replay backends are fed: BACKEND and COMPLETE records
 *   replay_access.c  performing one access record (directly or through the PCI
 *                    cfg-access capability)
 *   replay_<type>.c  the per-device adapters (replay_adapter.h)
 *
 * The replay is the host: it owns the vmctx, so every callback below runs on the
 * replay's own thread, inside a call the engine made into the device.
 */
#ifndef VDEV_SRC_REPLAY_REPLAY_INTERNAL_H
#define VDEV_SRC_REPLAY_REPLAY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "replay/replay.h"
#include "replay/replay_adapter.h"
#include "trace/trace_format.h"
#include "vdev/host.h"

/* Bounds of a replay, whatever the trace says (fuzz inputs are hostile). */
#define REPLAY_MAX_REGIONS 32
#define REPLAY_MAX_PARAMS 256
#define REPLAY_FUZZ_MAX_RECORDS 100000u
#define REPLAY_FUZZ_MAX_MEM_BYTES (64ull << 20) /* MEM payload bytes applied in total */
#define REPLAY_DEFAULT_RAM_SIZE (16ull << 20)   /* a trace without RAM records */
#define REPLAY_DEFAULT_RAM_LIMIT (4ull << 30)
#define REPLAY_FUZZ_RAM_LIMIT (64ull << 20)
/* Records of one access the engine keeps to compare or feed (more are dropped, and
 * a check-mode replay reports the trace as diverging). */
#define REPLAY_MAX_PENDING 4096
#define REPLAY_MAX_IRQS 1024

struct replay_region {
	uint64_t gpa, size;
	uint8_t *hva; /* NULL until the first translation or MEM record touches it */
};

struct replay_irq {
	uint8_t kind; /* 1 MSI/MSI-X, 2 INTx (the IRQ record's width) */
	uint64_t addr;
	uint64_t value;
};

/* A bounded list of records (copies; their data stays borrowed from the trace). */
struct replay_fifo {
	struct vdev_trace_rec *recs;
	uint32_t head, count, cap;
};

struct vdev_replay {
	struct vdev_replay_options opt;
	struct vdev_replay_result *res;

	/* Set-up, gathered until the first record that needs the device. */
	bool have_device_rec;
	uint16_t type;
	int mode;      /* enum vdev_pci_mode */
	uint8_t pci_flags;
	struct vdev_trace_param params[REPLAY_MAX_PARAMS];
	int nparams;

	struct vmctx *ctx;
	struct vdev_dev *dev;
	const struct vdev_replay_adapter *adapter;

	/* Guest RAM (replay_mem.c). */
	struct replay_region regions[REPLAY_MAX_REGIONS];
	int nregions;
	uint64_t ram_total; /* bytes of all declared regions */
	uint64_t ram_limit;
	uint64_t mem_bytes; /* MEM payload bytes applied */

	/* FAULT: one armed failure of the translate callback. */
	bool fault_armed;
	uint8_t fault_kind;
	uint32_t fault_skip;
	uint64_t fault_short;
	uint64_t faults_fired;

	/* The clock: TIME records of the current access, consumed one per reading. */
	uint64_t now;
	uint64_t time_fifo[64];
	uint32_t time_head, time_count;

	/* Interrupts: expected (IRQ records before the access) and raised during it. */
	struct replay_irq irq_want[REPLAY_MAX_IRQS];
	uint32_t nirq_want;
	bool irq_want_overflow;
	struct replay_irq irq_got[REPLAY_MAX_IRQS];
	uint32_t nirq_got;
	bool irq_got_overflow;
	uint64_t interrupts;

	/* Backend results of the current access, in call order (replay_backend.c). */
	struct replay_fifo backend;
	bool backend_overflow;
	/* COMPLETE records not matched with a held request yet. */
	struct replay_fifo completes;

	/* The adapter's own state (its backends), freed after the device. */
	void *adapter_state;
	void (*adapter_free)(void *state);
	/* blk: a COMPLETE record finishes the request (queue, head) if held, or is kept
	 * in `completes` for a request submitted later. Returns true when matched. */
	bool (*complete)(void *state, uint16_t queue, uint16_t head, int32_t result);

	bool saw_ram;         /* the trace has RAM records (else a default region) */
	char last_error[160]; /* the device's last error log line, for messages */

	/* Walk position, for messages. */
	uint64_t rec_index;   /* index of the record being processed */
	const struct vdev_trace_rec *cur; /* the access being performed, or NULL */
	bool stop;            /* a divergence or error ended the walk */
};

/* ---- replay.c ---- */

/* Check mode: note the first difference (later ones are ignored) and stop the walk.
 * In other modes nothing is noted. */
void replay_diverge(struct vdev_replay *rp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The trace cannot be replayed: set the error (the first one wins) and stop. */
int replay_fail(struct vdev_replay *rp, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Why the device refused to be built: its last error log line, or "". */
const char *replay_last_error(const struct vdev_replay *rp);

/* ---- replay_mem.c ---- */

/* Host callbacks of the replay's vmctx (opaque = the struct vdev_replay). */
void replay_host_ops(struct vdev_host_ops *ops);
/* Declare a RAM region. 0; in fuzz mode regions past the cap or overlapping are
 * dropped (0), otherwise refused (<0, replay_fail called). */
int replay_add_ram(struct vdev_replay *rp, uint64_t gpa, uint64_t size);
/* Copy a MEM record's bytes into RAM. */
int replay_apply_mem(struct vdev_replay *rp, uint64_t gpa, const uint8_t *data, uint32_t len);
void replay_arm_fault(struct vdev_replay *rp, const struct vdev_trace_rec *r);
void replay_push_time(struct vdev_replay *rp, uint64_t ns);
/* End of an access: the clock keeps the last TIME value it was given. */
void replay_settle_time(struct vdev_replay *rp);
uint64_t replay_now(struct vdev_replay *rp);
void replay_free_ram(struct vdev_replay *rp);

/* ---- replay_backend.c ---- */

int replay_fifo_push(struct replay_fifo *f, const struct vdev_trace_rec *r, uint32_t max);
void replay_fifo_free(struct replay_fifo *f);
/* Queue a BACKEND record for the access that follows. */
void replay_push_backend(struct vdev_replay *rp, const struct vdev_trace_rec *r);
/*
 * A replay backend is being called (op, queue): take the trace's result for it. Returns
 * true with *out filled (data borrowed from the trace), or false when the trace has no
 * such call left in this access (the backend then answers "nothing now"; check mode
 * notes the difference).
 */
bool replay_backend_take(struct vdev_replay *rp, int op, int queue, struct vdev_trace_rec *out);
/* End of an access: the backend calls the trace has and the device did not make. */
void replay_backend_settle(struct vdev_replay *rp);
/* A COMPLETE record: hand it to the adapter, or keep it for a later submission. */
void replay_push_complete(struct vdev_replay *rp, const struct vdev_trace_rec *r);
/* A request was submitted on (queue, head): a kept COMPLETE for it, if any. */
bool replay_take_complete(struct vdev_replay *rp, uint16_t queue, uint16_t head,
			  int32_t *result);
/* A byte pattern for data a backend produces that the trace does not keep. */
void replay_fill_pattern(void *buf, size_t len, uint64_t seed);

/* ---- replay_access.c ---- */

/* Perform one access record on the device and, in check mode, compare its outcome. */
void replay_access(struct vdev_replay *rp, const struct vdev_trace_rec *r);

/* ---- the adapters (replay_<type>.c), found through vdev_replay_adapter_for() ---- */

extern const struct vdev_replay_adapter replay_blk_adapter;
extern const struct vdev_replay_adapter replay_net_adapter;
extern const struct vdev_replay_adapter replay_console_adapter;
extern const struct vdev_replay_adapter replay_rng_adapter;

/* ---- parameters (replay_adapters.c), for the adapters ---- */

/* Replay: 0 with *out = the value, or <0 (replay_fail) when it is above max. */
int replay_param_u(struct vdev_replay *rp, const struct vdev_trace_param *p, uint64_t max,
		   uint64_t *out);
/* Replay: 1 when p is one of the <prefix>_* keys of vdev_trace_emit_bytes (buf[cap]
 * gets the bytes, *len the length), 0 when it is not, <0 when malformed. */
int replay_param_bytes(struct vdev_replay *rp, const struct vdev_trace_param *p,
		       const char *prefix, uint8_t *buf, size_t cap, size_t *len);
/* Replay: the device the params built does not offer what the trace's device did. */
int replay_check_features(struct vdev_replay *rp, struct vdev_dev *dev, bool have,
			  uint64_t want);
int replay_unknown_param(struct vdev_replay *rp, const struct vdev_trace_param *p);

/* Fuzzing: at most `cap` (a device's legal but costly sizes would make each input
 * allocate hundreds of MiB); otherwise v as it is. */
static inline uint64_t replay_fuzz_cap(const struct vdev_replay *rp, uint64_t v, uint64_t cap)
{
	return rp->opt.fuzz && v > cap ? cap : v;
}

#endif
