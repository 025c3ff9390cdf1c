/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-console on the test fixture: guest-side helpers for the port and control
 * queues, and host-side socket helpers. */
#ifndef VDEV_TESTS_CONSOLE_CON_UTIL_H
#define VDEV_TESTS_CONSOLE_CON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fixture.h"
#include "vdev/console.h"
#include "vdev/driver.h"
#include "vdev/vdev.h"

/* Control events (virtio 1.x, 5.3.6.2). */
#define EV_DEVICE_READY 0
#define EV_DEVICE_ADD 1
#define EV_DEVICE_REMOVE 2
#define EV_PORT_READY 3
#define EV_CONSOLE_PORT 4
#define EV_RESIZE 5
#define EV_PORT_OPEN 6
#define EV_PORT_NAME 7

#define CT_CTRL_RX 2
#define CT_CTRL_TX 3

struct ct {
	struct fx fx; /* sim, console, driver; fx.mode.name names the combo in messages */
};

/* Create sim (32 MiB), console (cfg->pci.mode set from m) and driver. Asserts. */
void ct_open(struct ct *t, const struct fx_mode *m, struct vdev_console_config *cfg);
/* Negotiate `want`, set up every queue, DRIVER_OK. Asserts. */
void ct_ready(struct ct *t, uint64_t want);
void ct_close(struct ct *t);

/* Guest sends `len` bytes on queue q (one readable buffer) and kicks. */
void ct_tx(struct ct *t, uint16_t q, const void *data, uint32_t len);
/* Guest posts one writable buffer of len bytes on queue q (token = its gpa), kicks. */
uint64_t ct_rx_post(struct ct *t, uint16_t q, uint32_t len);
/* Pump the device until queue q has a completion (asserts within timeout_ms). Returns
 * the length; *gpa (may be NULL) gets the token. */
uint32_t ct_wait_used(struct ct *t, uint16_t q, uint64_t *gpa, int timeout_ms);

/* Control messages. */
struct ct_msg {
	uint32_t id;
	uint16_t event, value;
	uint32_t plen;
	uint8_t payload[256];
};
void ct_ctrl_send(struct ct *t, uint32_t id, uint16_t event, uint16_t value);
void ct_ctrl_post(struct ct *t, int n);
/* Receive one control message (reposting its buffer); false when none arrives within
 * timeout_ms. */
bool ct_ctrl_recv(struct ct *t, struct ct_msg *m, int timeout_ms);
/* DEVICE_READY, expect DEVICE_ADD for ports [0, nports), PORT_READY each, and
 * collect what follows into msgs (returns the count, up to max). */
int ct_mp_handshake(struct ct *t, uint32_t nports, struct ct_msg *msgs, int max);

/* Host side: a socketpair, [0] for the device backend, [1] for the test. */
void ct_socketpair(int sv[2]);
/* Read exactly len bytes from fd, pumping the device meanwhile. Asserts. */
void ct_host_read(struct ct *t, int fd, void *buf, size_t len, int timeout_ms);
/* Stats of the device. */
struct vdev_dev_stats ct_stats(struct ct *t);

#endif
