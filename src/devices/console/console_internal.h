/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-console internals: wire layouts, the device structure, and what its files
 * offer each other (console_dev.c: create/ops glue and host controls; console_io.c:
 * the ports' data path; console_ctrl.c: the multiport control queues; console_fd.c:
 * the POSIX fd backends).
 */
#ifndef VDEV_SRC_DEVICES_CONSOLE_INTERNAL_H
#define VDEV_SRC_DEVICES_CONSOLE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "devices/dev_internal.h"
#include "vdev/console.h"

/* ---- wire layouts (little-endian) ---- */

/* Device configuration (virtio 1.x, 5.3.4). */
struct con_wire_config {
	uint16_t cols;
	uint16_t rows;
	uint32_t max_nr_ports;
	uint32_t emerg_wr;
};
_Static_assert(sizeof(struct con_wire_config) == 12, "console config is 12 bytes");
_Static_assert(offsetof(struct con_wire_config, rows) == 2, "rows at 2");
_Static_assert(offsetof(struct con_wire_config, max_nr_ports) == 4, "max_nr_ports at 4");
_Static_assert(offsetof(struct con_wire_config, emerg_wr) == 8, "emerg_wr at 8");

#define CON_CFG_COLS 0
#define CON_CFG_ROWS 2
#define CON_CFG_MAX_NR_PORTS 4
#define CON_CFG_EMERG_WR 8
#define CON_CFG_SIZE sizeof(struct con_wire_config)

/* Control message header (5.3.6.2); PORT_NAME and RESIZE carry a payload after it. */
struct con_wire_control {
	uint32_t id;
	uint16_t event;
	uint16_t value;
};
_Static_assert(sizeof(struct con_wire_control) == 8, "control header is 8 bytes");
_Static_assert(offsetof(struct con_wire_control, event) == 4, "event at 4");
_Static_assert(offsetof(struct con_wire_control, value) == 6, "value at 6");

/* RESIZE payload, in the spec's order (older Linux drivers read rows first). */
struct con_wire_resize {
	uint16_t cols;
	uint16_t rows;
};
_Static_assert(sizeof(struct con_wire_resize) == 4, "resize payload is 4 bytes");

#define CON_EV_DEVICE_READY 0
#define CON_EV_DEVICE_ADD 1
#define CON_EV_DEVICE_REMOVE 2
#define CON_EV_PORT_READY 3
#define CON_EV_CONSOLE_PORT 4
#define CON_EV_RESIZE 5
#define CON_EV_PORT_OPEN 6
#define CON_EV_PORT_NAME 7

#define CON_Q_CTRL_RX 2
#define CON_Q_CTRL_TX 3

/* ---- device ---- */

#define CON_DEFAULT_QSIZE 128
#define CON_EMERG_BUF 64

/* Control messages a port still owes the guest, sent in this bit order. */
enum {
	CON_PEND_ADD = 1u << 0,
	CON_PEND_CONSOLE = 1u << 1,
	CON_PEND_NAME = 1u << 2,
	CON_PEND_OPEN = 1u << 3,
	CON_PEND_RESIZE = 1u << 4,
	CON_PEND_REMOVE = 1u << 5,
};

struct con_port {
	/* host side: survives guest resets */
	struct vdev_console_backend be;
	bool present;
	bool console;
	bool host_open;
	bool in_eof;       /* the backend ended input (EOF or an error) */
	uint16_t cols, rows; /* ports > 0: the size RESIZE carries */
	uint16_t name_len;
	char name[VDEV_CONSOLE_NAME_MAX + 1];

	/* guest side: cleared by a reset */
	bool announced;    /* DEVICE_ADD delivered */
	bool guest_ready;  /* PORT_READY(1) received */
	bool guest_open;   /* PORT_OPEN(1) received */
	uint32_t pending;  /* CON_PEND_* */
	bool rx_starved;   /* no_buffer counted for this episode */
	bool out_blocked;  /* the backend said -EAGAIN; wait for POLL_OUT */
	bool tx_again;     /* transmitq not drained (budget, removal): resume in poll */
	bool tx_held_err_logged; /* one log line per run of backend write errors */

	/* the one transmit chain held under back-pressure */
	bool tx_held;
	uint16_t tx_head;
	uint32_t tx_epoch; /* base.epoch when taken (H12) */
	int tx_niov;
	int tx_idx;        /* first iovec not fully written; earlier ones are done */
	struct iovec *tx_iov; /* iov_cap entries: kept while the backend is full */
};

struct con_dev {
	struct vdev_dev dev; /* first: the framework's handle */
	struct virtio_ops vops; /* per instance: nvq depends on max_nr_ports */
	struct virtio_vq_info *queues;
	uint32_t max_nr_ports;
	bool multiport_offered;
	uint16_t cols, rows; /* port 0 */

	bool dev_ready;      /* DEVICE_READY(1) received since the last reset */
	bool ctrl_starved;   /* no_buffer counted while control messages wait */
	bool ctrl_again;     /* control transmitq not drained within budget */
	bool wake_queued;    /* `wake` sits in dev.done */
	struct vdev_completion wake;

	uint8_t emerg[CON_EMERG_BUF]; /* emergency-write bytes not yet out on port 0 */
	uint32_t emerg_len;
	bool emerg_blocked;

	struct con_port *ports; /* max_nr_ports of them */

	/* Chain scratch for the receive and control queues, used within one call and
	 * never across a call into another queue's processing; iov_cap entries each. */
	int iov_cap;             /* vdev_iov_chain_cap(queue size) */
	struct iovec *iov;
	uint16_t *iov_flags;     /* also the transmit chains' flags (not kept) */
};

static inline struct con_dev *con_of(struct vdev_dev *d)
{
	return (struct con_dev *)d;
}

/* Queue numbers of a port's receiveq / transmitq. */
static inline uint32_t con_rxq(uint32_t port)
{
	return port == 0 ? 0 : 2 * port + 2;
}
static inline uint32_t con_txq(uint32_t port)
{
	return con_rxq(port) + 1;
}

/* MULTIPORT negotiated: the control queues and ports > 0 are live. */
static inline bool con_multiport(const struct con_dev *c)
{
	return (c->dev.base.negotiated_caps & VIRTIO_CONSOLE_F_MULTIPORT) != 0;
}

/* DRIVER_OK set and no NEEDS_RESET latched: the device may move data. */
static inline bool con_live(const struct con_dev *c)
{
	uint8_t s = c->dev.base.status;

	return (s & VIRTIO_CR_STATUS_DRIVER_OK) &&
	       !(s & (VIRTIO_CR_STATUS_NEEDS_RESET | VIRTIO_CR_STATUS_FAILED));
}

/* console_dev.c */
void con_wake(struct con_dev *c);
/* Validate one port config for port `id`; logs on ctx and returns -EINVAL when bad. */
int con_check_port(struct vmctx *ctx, const char *name, uint32_t id,
		   const struct vdev_console_port_config *pc);
void con_port_install(struct con_port *p, uint32_t id, const struct vdev_console_port_config *pc);

/* console_io.c */
void con_process_tx(struct con_dev *c, uint32_t port);
void con_process_rx(struct con_dev *c, uint32_t port);
void con_emerg_put(struct con_dev *c, uint8_t ch);
void con_port_guest_reset(struct con_port *p);
int con_io_pollfds(struct con_dev *c, struct vdev_pollfd *fds, int max);
void con_io_poll(struct con_dev *c);

/* console_ctrl.c */
void con_ctrl_tx(struct con_dev *c);
void con_ctrl_flush(struct con_dev *c);

/* console_describe.c: the PARAM records of this device (struct vdev_dev_ops.describe). */
void console_describe(struct vdev_dev *dev, vdev_trace_param_fn emit, void *arg);

#endif
