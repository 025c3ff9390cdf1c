/* SPDX-License-Identifier: BSD-3-Clause */
#include "fake_qemu.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unix_fds.h"

static int echo_create(void *arg, struct vmctx *ctx, struct pci_vdev **pci_out, void **dev_out)
{
	struct fake_qemu *fq = arg;
	struct echo_dev_config cfg = {
		.pci = {.mode = VDEV_PCI_MODERN, .mem32 = true},
		.qsize = 64,
	};
	struct echo_dev *dev;
	int rc = echo_dev_create(ctx, "echo0", &cfg, &dev);

	if (rc < 0)
		return rc;
	fq->echo = dev;
	*pci_out = echo_dev_pci(dev);
	*dev_out = dev;
	return 0;
}

static void echo_destroy(void *arg, void *dev)
{
	struct fake_qemu *fq = arg;

	echo_dev_destroy(dev);
	fq->echo = NULL;
}

const struct proxy_dev_factory fq_echo_factory = {
	.create = echo_create,
	.destroy = echo_destroy,
};

static void fq_log(void *opaque, enum vdev_log_level level, const char *devname,
		   const char *msg)
{
	struct fake_qemu *fq = opaque;
	int n;

	fq->nlog++;
	if (fq->log_len >= sizeof(fq->log) - 1)
		return;
	n = snprintf(fq->log + fq->log_len, sizeof(fq->log) - fq->log_len, "%d %s: %s\n",
		     (int)level, devname, msg);
	if (n > 0)
		fq->log_len += (size_t)n;
	if (fq->log_len > sizeof(fq->log) - 1)
		fq->log_len = sizeof(fq->log) - 1;
}

void fq_open(struct fake_qemu *fq)
{
	int sv[2], rc;

	memset(fq, 0, sizeof(*fq));
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fq->sock = sv[0];
	fq->memfd = memfd_create("fq-ram", MFD_CLOEXEC);
	cr_assert(fq->memfd >= 0);
	cr_assert_eq(ftruncate(fq->memfd, FQ_RAM_SIZE), 0);
	fq->ram = mmap(NULL, FQ_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fq->memfd, 0);
	cr_assert(fq->ram != MAP_FAILED);
	fq->intx = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fq->resample = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cr_assert(fq->intx >= 0 && fq->resample >= 0);
	rc = proxy_conn_create(sv[1], &fq_echo_factory, fq, fq_log, fq, &fq->conn);
	cr_assert_eq(rc, 0, "proxy_conn_create = %d", rc);
}

void fq_close(struct fake_qemu *fq)
{
	proxy_conn_destroy(fq->conn);
	fq->conn = NULL;
	munmap(fq->ram, FQ_RAM_SIZE);
	close(fq->memfd);
	close(fq->intx);
	close(fq->resample);
	close(fq->sock);
}

void fq_send_raw(struct fake_qemu *fq, const void *buf, size_t len, const int *fds, int nfds)
{
	union {
		struct cmsghdr align;
		char b[UNIX_FDS_SPACE(16)];
	} ctl;
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	cr_assert(nfds <= 16);
	unix_fds_attach(&mh, ctl.b, sizeof(ctl.b), fds, nfds);
	cr_assert_eq(sendmsg(fq->sock, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

void fq_send(struct fake_qemu *fq, int32_t cmd, const void *payload, uint64_t size,
	     const int *fds, int nfds)
{
	int rc = mpqemu_send(fq->sock, cmd, payload, size, fds, nfds);

	cr_assert_eq(rc, 0, "mpqemu_send = %d", rc);
}

int fq_handle(struct fake_qemu *fq)
{
	cr_assert(fq->conn != NULL, "the connection already ended");
	fq->last_rc = proxy_conn_handle(fq->conn);
	if (fq->last_rc < 0) {
		proxy_conn_destroy(fq->conn);
		fq->conn = NULL;
	}
	return fq->last_rc;
}

static bool readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

uint64_t fq_reply(struct fake_qemu *fq)
{
	struct mpqemu_hdr h;
	uint64_t v;

	cr_assert(readable(fq->sock), "no reply waiting (log:\n%s)", fq->log);
	cr_assert_eq(recv(fq->sock, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	cr_assert_eq(h.cmd, MPQEMU_CMD_RET);
	cr_assert_eq(h.size, 8u);
	cr_assert_eq(recv(fq->sock, &v, sizeof(v), 0), (ssize_t)sizeof(v));
	return v;
}

bool fq_no_reply(struct fake_qemu *fq)
{
	char c;

	/* A closed connection reads as end-of-file, which is not a reply. */
	return !readable(fq->sock) || recv(fq->sock, &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0;
}

void fq_sync_sysmem(struct fake_qemu *fq, int n, const uint64_t *gpa, const uint64_t *size,
		    const int64_t *offset, const int *fds)
{
	struct mpqemu_sysmem m = {0};
	int f[MPQEMU_MAX_FDS];

	cr_assert(n >= 0 && n <= MPQEMU_MAX_FDS);
	for (int i = 0; i < n; i++) {
		m.gpa[i] = gpa[i];
		m.size[i] = size[i];
		m.offset[i] = offset[i];
		f[i] = fds ? fds[i] : fq->memfd;
	}
	fq_send(fq, MPQEMU_CMD_SYNC_SYSMEM, &m, sizeof(m), f, n);
	fq_handle(fq);
}

void fq_sysmem_default(struct fake_qemu *fq)
{
	uint64_t gpa = 0, size = FQ_RAM_SIZE;
	int64_t off = 0;

	fq_sync_sysmem(fq, 1, &gpa, &size, &off, NULL);
	cr_assert_eq(fq->last_rc, 0);
	cr_assert(fq_no_reply(fq), "SYNC_SYSMEM takes no reply");
}

void fq_set_irqfd(struct fake_qemu *fq)
{
	int fds[2] = {fq->intx, fq->resample};

	fq_send(fq, MPQEMU_CMD_SET_IRQFD, NULL, 0, fds, 2);
	cr_assert_eq(fq_handle(fq), 0);
	cr_assert(fq_no_reply(fq), "SET_IRQFD takes no reply");
}

uint32_t fq_cfg_read(struct fake_qemu *fq, uint32_t addr, int len)
{
	struct mpqemu_cfg c = {.addr = addr, .len = len};

	fq_send(fq, MPQEMU_CMD_PCI_CFGREAD, &c, sizeof(c), NULL, 0);
	cr_assert_eq(fq_handle(fq), 0);
	return (uint32_t)fq_reply(fq);
}

void fq_cfg_write(struct fake_qemu *fq, uint32_t addr, int len, uint32_t val)
{
	struct mpqemu_cfg c = {.addr = addr, .val = val, .len = len};

	fq_send(fq, MPQEMU_CMD_PCI_CFGWRITE, &c, sizeof(c), NULL, 0);
	cr_assert_eq(fq_handle(fq), 0);
	cr_assert_eq(fq_reply(fq), 0u, "config write at %#x refused", addr);
}

uint64_t fq_bar_read(struct fake_qemu *fq, bool memory, uint64_t addr, uint32_t size)
{
	struct mpqemu_bar b = {.addr = addr, .size = size, .memory = memory};

	fq_send(fq, MPQEMU_CMD_BAR_READ, &b, sizeof(b), NULL, 0);
	cr_assert_eq(fq_handle(fq), 0);
	return fq_reply(fq);
}

void fq_bar_write(struct fake_qemu *fq, bool memory, uint64_t addr, uint32_t size,
		  uint64_t val)
{
	struct mpqemu_bar b = {.addr = addr, .val = val, .size = size, .memory = memory};

	fq_send(fq, MPQEMU_CMD_BAR_WRITE, &b, sizeof(b), NULL, 0);
	cr_assert_eq(fq_handle(fq), 0);
	cr_assert_eq(fq_reply(fq), 0u);
}

uint64_t fq_device_reset(struct fake_qemu *fq)
{
	fq_send(fq, MPQEMU_CMD_DEVICE_RESET, NULL, 0, NULL, 0);
	cr_assert_eq(fq_handle(fq), 0);
	return fq_reply(fq);
}

void fq_program_bars(struct fake_qemu *fq)
{
	uint32_t v;

	/* QEMU's probe_pci_info(): read, write all ones, read the size back, restore. */
	for (int i = 0; i < 6; i++) {
		uint32_t orig = fq_cfg_read(fq, (uint32_t)PCIR_BAR(i), 4);

		fq_cfg_write(fq, (uint32_t)PCIR_BAR(i), 4, 0xffffffffu);
		v = fq_cfg_read(fq, (uint32_t)PCIR_BAR(i), 4);
		fq_cfg_write(fq, (uint32_t)PCIR_BAR(i), 4, orig);
		if (i == VIRTIO_MODERN_MMIO_BAR_IDX)
			cr_assert_eq(v & 0xfffffff7u, ~(uint32_t)(VIRTIO_MODERN_MEM_BAR_SIZE - 1),
				     "BAR 4 sizes as %#x", v);
		else
			cr_assert_eq(v, 0u, "BAR %d unused but sizes as %#x", i, v);
	}
	fq_cfg_write(fq, (uint32_t)PCIR_BAR(VIRTIO_MODERN_MMIO_BAR_IDX), 4, FQ_MEM_BAR_ADDR);
	fq_cfg_write(fq, PCIR_COMMAND, 2, PCIM_CMD_MEMEN | PCIM_CMD_BUSMASTEREN);
}

uint64_t fq_intx_take(struct fake_qemu *fq)
{
	uint64_t v = 0;

	if (read(fq->intx, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return 0;
	return v;
}

bool fq_log_has(const struct fake_qemu *fq, const char *needle)
{
	return strstr(fq->log, needle) != NULL;
}

