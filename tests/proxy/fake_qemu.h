/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A fake QEMU for the proxy connector: the QEMU end of a socketpair speaking the
 * multi-process protocol, guest RAM in a memfd, and a proxy_conn serving an echo device
 * on the other end. Everything runs on one thread: each request is written, the
 * connection handles it, and the reply is read back.
 */
#ifndef VDEV_TESTS_FAKE_QEMU_H
#define VDEV_TESTS_FAKE_QEMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "echo_dev.h"
#include "fixture.h"
#include "mpqemu.h"
#include "proxy_conn.h"

#define FQ_RAM_SIZE (1u << 20) /* the memfd: 1 MiB of guest RAM at gpa 0 */
#define FQ_MEM_BAR_ADDR 0xfe000000u
#define FQ_LOG_SIZE 8192

struct fake_qemu {
	int sock;  /* QEMU's end */
	int memfd; /* guest RAM */
	uint8_t *ram;
	int intx;     /* eventfd pair QEMU would hand to KVM */
	int resample;
	struct proxy_conn *conn; /* NULL once the connection ended */
	int last_rc;             /* last proxy_conn_handle() result */
	struct echo_dev *echo;
	char log[FQ_LOG_SIZE]; /* every log line, newline-separated */
	size_t log_len;
	int nlog;
};

extern const struct proxy_dev_factory fq_echo_factory;

/* Socketpair, memfd, eventfds, connection. Does not send SYNC_SYSMEM or SET_IRQFD. */
void fq_open(struct fake_qemu *fq);
void fq_close(struct fake_qemu *fq);

/* Send raw bytes / a message from QEMU's end, then let the connection handle them. */
void fq_send_raw(struct fake_qemu *fq, const void *buf, size_t len, const int *fds, int nfds);
void fq_send(struct fake_qemu *fq, int32_t cmd, const void *payload, uint64_t size,
	     const int *fds, int nfds);
int fq_handle(struct fake_qemu *fq);

/* Read a RET from QEMU's end; fails the test when none is waiting. */
uint64_t fq_reply(struct fake_qemu *fq);
/* True when the connection wrote nothing back. */
bool fq_no_reply(struct fake_qemu *fq);

/* One region per entry; `fds` NULL means the memfd for every region. */
void fq_sync_sysmem(struct fake_qemu *fq, int n, const uint64_t *gpa, const uint64_t *size,
		    const int64_t *offset, const int *fds);
void fq_sysmem_default(struct fake_qemu *fq); /* the whole memfd at gpa 0 */
void fq_set_irqfd(struct fake_qemu *fq);

uint32_t fq_cfg_read(struct fake_qemu *fq, uint32_t addr, int len);
void fq_cfg_write(struct fake_qemu *fq, uint32_t addr, int len, uint32_t val);
uint64_t fq_bar_read(struct fake_qemu *fq, bool memory, uint64_t addr, uint32_t size);
void fq_bar_write(struct fake_qemu *fq, bool memory, uint64_t addr, uint32_t size,
		  uint64_t val);
uint64_t fq_device_reset(struct fake_qemu *fq);

/* What SeaBIOS does: size and place BAR 4 at FQ_MEM_BAR_ADDR, enable memory and DMA. */
void fq_program_bars(struct fake_qemu *fq);

/* Pending count on the INTx eventfd (0 when nothing was signalled); clears it. */
uint64_t fq_intx_take(struct fake_qemu *fq);

bool fq_log_has(const struct fake_qemu *fq, const char *needle);


#endif
