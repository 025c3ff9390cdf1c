/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A hostile or broken QEMU: every malformed message either ends the connection with a
 * logged reason or is refused with a log line, never a crash, a hang, or a leaked
 * descriptor.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fake_qemu.h"

static void expect_closed(struct fake_qemu *fq, int rc, const char *why)
{
	cr_assert_eq(fq_handle(fq), rc, "handle: %d, expected %d (log:\n%s)", fq->last_rc, rc,
		     fq->log);
	cr_assert(fq_log_has(fq, why), "log lacks \"%s\":\n%s", why, fq->log);
	cr_assert(fq_no_reply(fq), "nothing answered");
}

static void send_hdr(struct fake_qemu *fq, int32_t cmd, uint64_t size)
{
	struct mpqemu_hdr h = {.cmd = cmd, .size = size};

	fq_send_raw(fq, &h, sizeof(h), NULL, 0);
}

Test(proxy_hostile, oversized_size_field)
{
	struct fake_qemu fq;

	fq_open(&fq);
	send_hdr(&fq, MPQEMU_CMD_PCI_CFGREAD, 1ull << 40);
	expect_closed(&fq, -EPROTO, "larger than any message");
	fq_close(&fq);
}

Test(proxy_hostile, size_not_the_commands)
{
	struct fake_qemu fq;
	uint8_t pad[24] = {0};

	fq_open(&fq);
	fq_send(&fq, MPQEMU_CMD_PCI_CFGREAD, pad, 24, NULL, 0);
	expect_closed(&fq, -EPROTO, "PCI_CFGREAD: size 24, expected 12");
	fq_close(&fq);
}

Test(proxy_hostile, unknown_command)
{
	struct fake_qemu fq;

	fq_open(&fq);
	send_hdr(&fq, 42, 0);
	expect_closed(&fq, -EPROTO, "unknown command 42");
	fq_close(&fq);
}

Test(proxy_hostile, negative_command)
{
	struct fake_qemu fq;

	fq_open(&fq);
	send_hdr(&fq, -1, 8);
	expect_closed(&fq, -EPROTO, "unknown command -1");
	fq_close(&fq);
}

Test(proxy_hostile, ret_sent_to_the_server)
{
	struct fake_qemu fq;
	uint64_t v = 0;

	fq_open(&fq);
	fq_send(&fq, MPQEMU_CMD_RET, &v, 8, NULL, 0);
	expect_closed(&fq, -EPROTO, "unknown command 1");
	fq_close(&fq);
}

Test(proxy_hostile, truncated_payload)
{
	struct fake_qemu fq;
	struct {
		struct mpqemu_hdr h;
		uint8_t part[6];
	} __attribute__((packed)) m = {.h = {.cmd = MPQEMU_CMD_PCI_CFGREAD, .size = 12}};

	fq_open(&fq);
	fq_send_raw(&fq, &m, sizeof(m), NULL, 0);
	cr_assert_eq(fq_handle(&fq), 0, "waits for the rest");
	cr_assert(fq_no_reply(&fq));
	shutdown(fq.sock, SHUT_WR);
	expect_closed(&fq, -EPIPE, "middle of a message (22 of 28 bytes)");
	fq_close(&fq);
}

Test(proxy_hostile, truncated_header)
{
	struct fake_qemu fq;
	uint8_t half[7] = {3};

	fq_open(&fq);
	fq_send_raw(&fq, half, sizeof(half), NULL, 0);
	cr_assert_eq(fq_handle(&fq), 0);
	shutdown(fq.sock, SHUT_WR);
	expect_closed(&fq, -EPIPE, "middle of a message (7 of 16 bytes)");
	fq_close(&fq);
}

/* A message dribbled byte by byte is still one message. */
Test(proxy_hostile, split_message_reassembled)
{
	struct fake_qemu fq;
	struct {
		struct mpqemu_hdr h;
		struct mpqemu_cfg c;
	} __attribute__((packed)) m = {.h = {.cmd = MPQEMU_CMD_PCI_CFGREAD, .size = 12},
				       .c = {.addr = PCIR_VENDOR, .len = 2}};
	const uint8_t *p = (const uint8_t *)&m;

	fq_open(&fq);
	for (size_t i = 0; i + 1 < sizeof(m); i++) {
		fq_send_raw(&fq, p + i, 1, NULL, 0);
		cr_assert_eq(fq_handle(&fq), 0);
		cr_assert(fq_no_reply(&fq));
	}
	fq_send_raw(&fq, p + sizeof(m) - 1, 1, NULL, 0);
	cr_assert_eq(fq_handle(&fq), 0);
	cr_assert_eq(fq_reply(&fq), 0x1af4u);
	fq_close(&fq);
}

Test(proxy_hostile, fds_on_a_message_that_takes_none)
{
	struct fake_qemu fq;
	struct mpqemu_cfg c = {.addr = 0, .len = 2};
	int before, efd = eventfd(0, EFD_CLOEXEC);

	fq_open(&fq);
	before = fx_count_fds();
	fq_send(&fq, MPQEMU_CMD_PCI_CFGREAD, &c, sizeof(c), &efd, 1);
	expect_closed(&fq, -EPROTO, "PCI_CFGREAD with 1 file descriptors");
	/* The connection is gone (socket closed); the received copy must be too. */
	cr_assert_eq(fx_count_fds(), before - 1);
	close(efd);
	fq_close(&fq);
}

Test(proxy_hostile, too_many_fds)
{
	struct fake_qemu fq;
	struct mpqemu_sysmem m = {0};
	int fds[12], before;

	fq_open(&fq);
	for (int i = 0; i < 12; i++)
		fds[i] = fq.memfd;
	before = fx_count_fds();
	fq_send_raw(&fq, &(struct mpqemu_hdr){.cmd = 0, .size = sizeof(m)}, 16, fds, 12);
	fq_send_raw(&fq, &m, sizeof(m), NULL, 0);
	expect_closed(&fq, -EPROTO, "more than 8 file descriptors");
	cr_assert_eq(fx_count_fds(), before - 1, "only the socket went away");
	fq_close(&fq);
}

Test(proxy_hostile, sysmem_without_fds)
{
	struct fake_qemu fq;
	struct mpqemu_sysmem m = {0};

	fq_open(&fq);
	fq_send(&fq, MPQEMU_CMD_SYNC_SYSMEM, &m, sizeof(m), NULL, 0);
	expect_closed(&fq, -EPROTO, "SYNC_SYSMEM with 0 file descriptors");
	fq_close(&fq);
}

Test(proxy_hostile, set_irqfd_wrong_count)
{
	struct fake_qemu fq;

	fq_open(&fq);
	fq_send(&fq, MPQEMU_CMD_SET_IRQFD, NULL, 0, &fq.intx, 1);
	expect_closed(&fq, -EPROTO, "SET_IRQFD with 1 file descriptors");
	fq_close(&fq);
}

Test(proxy_hostile, set_irqfd_not_eventfds)
{
	struct fake_qemu fq;
	int p[2];

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	fq_open(&fq);
	fq_send(&fq, MPQEMU_CMD_SET_IRQFD, NULL, 0, p, 2);
	expect_closed(&fq, -EPROTO, "not eventfds");
	close(p[0]);
	close(p[1]);
	fq_close(&fq);
}

/* A refused table keeps the previous one: translations still reach the old RAM. */
static void sysmem_refused(const uint64_t *gpa, const uint64_t *size, const int64_t *off,
			   int n, const int *fds, const char *why)
{
	struct fake_qemu fq;
	struct proxy_conn_stats st;

	fq_open(&fq);
	fq_sysmem_default(&fq);
	fq_sync_sysmem(&fq, n, gpa, size, off, fds);
	cr_assert_eq(fq.last_rc, 0, "refused, not closed (log:\n%s)", fq.log);
	cr_assert(fq_log_has(&fq, "SYNC_SYSMEM refused, old table kept"), "log:\n%s", fq.log);
	cr_assert(fq_log_has(&fq, why), "log lacks \"%s\":\n%s", why, fq.log);
	cr_assert(fq_no_reply(&fq));
	proxy_conn_get_stats(fq.conn, &st);
	cr_assert_eq(st.sysmem, 1u);
	cr_assert_eq(st.sysmem_refused, 1u);
	/* still alive */
	cr_assert_eq(fq_cfg_read(&fq, PCIR_VENDOR, 2), 0x1af4u);
	fq_close(&fq);
}

Test(proxy_hostile, sysmem_overlap)
{
	uint64_t gpa[2] = {0, 0x80000}, size[2] = {0x100000, 0x1000};
	int64_t off[2] = {0, 0};

	sysmem_refused(gpa, size, off, 2, NULL, "regions overlap");
}

Test(proxy_hostile, sysmem_zero_size)
{
	uint64_t gpa = 0, size = 0;
	int64_t off = 0;

	sysmem_refused(&gpa, &size, &off, 1, NULL, "size 0");
}

Test(proxy_hostile, sysmem_gpa_wrap)
{
	uint64_t gpa = UINT64_MAX - 0xfff, size = 0x2000;
	int64_t off = 0;

	sysmem_refused(&gpa, &size, &off, 1, NULL, "wraps");
}

Test(proxy_hostile, sysmem_past_end_of_file)
{
	/* Mapping it would work; touching it would SIGBUS. */
	uint64_t gpa = 0, size = 1ull << 30;
	int64_t off = 0;

	sysmem_refused(&gpa, &size, &off, 1, NULL, "past the end of its file");
}

Test(proxy_hostile, sysmem_absurd_offset)
{
	uint64_t gpa = 0, size = 0x1000;
	int64_t off = INT64_MAX;

	sysmem_refused(&gpa, &size, &off, 1, NULL, "past the end of its file");
}

Test(proxy_hostile, sysmem_negative_offset)
{
	uint64_t gpa = 0, size = 0x1000;
	int64_t off = -4096;

	sysmem_refused(&gpa, &size, &off, 1, NULL, "negative offset");
}

Test(proxy_hostile, sysmem_not_a_file)
{
	uint64_t gpa = 0, size = 0x1000;
	int64_t off = 0;
	int efd = eventfd(0, EFD_CLOEXEC);

	sysmem_refused(&gpa, &size, &off, 1, &efd, "not a regular file");
	close(efd);
}

Test(proxy_hostile, sysmem_read_only_file)
{
	uint64_t gpa = 0, size = 0x1000;
	int64_t off = 0;
	struct fake_qemu tmp;
	char path[64];
	int ro;

	/* The same memfd reopened read-only: MAP_SHARED|PROT_WRITE must fail cleanly. */
	fq_open(&tmp);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", tmp.memfd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert(ro >= 0);
	fq_close(&tmp);
	sysmem_refused(&gpa, &size, &off, 1, &ro, "mmap");
	close(ro);
}

Test(proxy_hostile, config_access_bad_width_or_offset)
{
	struct fake_qemu fq;
	struct {
		uint32_t addr;
		int32_t len;
	} bad[] = {{0, 3}, {0, 0}, {0, -1}, {0, 8}, {1, 2}, {0xfffffffcu, 4}, {4096, 4}};

	fq_open(&fq);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mpqemu_cfg c = {.addr = bad[i].addr, .len = bad[i].len};

		fq_send(&fq, MPQEMU_CMD_PCI_CFGREAD, &c, sizeof(c), NULL, 0);
		cr_assert_eq(fq_handle(&fq), 0);
		cr_assert_eq(fq_reply(&fq), UINT64_MAX, "read %#x/%d", c.addr, c.len);
		fq_send(&fq, MPQEMU_CMD_PCI_CFGWRITE, &c, sizeof(c), NULL, 0);
		cr_assert_eq(fq_handle(&fq), 0);
		cr_assert_eq(fq_reply(&fq), UINT64_MAX, "write %#x/%d", c.addr, c.len);
	}
	cr_assert(fq_log_has(&fq, "refused"));
	cr_assert_eq(fq_cfg_read(&fq, PCIR_VENDOR, 2), 0x1af4u, "still serving");
	fq_close(&fq);
}

Test(proxy_hostile, bar_access_bad_size_or_address)
{
	struct fake_qemu fq;
	uint32_t sizes[] = {0, 3, 16, 0xffffffffu};

	fq_open(&fq);
	fq_program_bars(&fq);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct mpqemu_bar b = {.addr = FQ_MEM_BAR_ADDR, .size = sizes[i], .memory = 1};

		fq_send(&fq, MPQEMU_CMD_BAR_READ, &b, sizeof(b), NULL, 0);
		cr_assert_eq(fq_handle(&fq), 0);
		(void)fq_reply(&fq);
		fq_send(&fq, MPQEMU_CMD_BAR_WRITE, &b, sizeof(b), NULL, 0);
		cr_assert_eq(fq_handle(&fq), 0);
		cr_assert_eq(fq_reply(&fq), 0u);
	}
	/* straddling the end of the BAR, and at the top of the address space */
	cr_assert_eq(fq_bar_read(&fq, true, FQ_MEM_BAR_ADDR + VIRTIO_MODERN_MEM_BAR_SIZE - 2, 4),
		     0xffffffffu);
	cr_assert_eq(fq_bar_read(&fq, true, UINT64_MAX - 1, 8), UINT64_MAX);
	fq_bar_write(&fq, true, UINT64_MAX - 1, 8, 0);
	cr_assert(fq_log_has(&fq, "hits no BAR"));
	cr_assert_eq(fq_cfg_read(&fq, PCIR_VENDOR, 2), 0x1af4u, "still serving");
	fq_close(&fq);
}

Test(proxy_hostile, msi_is_refused_once_logged)
{
	struct fake_qemu fq;

	fq_open(&fq);
	/* The echo device has no MSI-X here; a config change raises INTx only. */
	fq_set_irqfd(&fq);
	echo_dev_host_set_scratch(fq.echo, 5);
	cr_assert(!fq_log_has(&fq, "cannot be delivered"));
	fq_close(&fq);
}

Test(proxy_hostile, request_flood_without_reading_replies)
{
	struct fake_qemu fq;
	struct mpqemu_cfg c = {.addr = 0, .len = 4};
	int rc = 0, i;

	fq_open(&fq);
	/* Until our replies no longer fit: the connection ends instead of blocking. */
	for (i = 0; i < 100000 && rc == 0; i++) {
		fq_send(&fq, MPQEMU_CMD_PCI_CFGREAD, &c, sizeof(c), NULL, 0);
		rc = fq_handle(&fq);
	}
	cr_assert_eq(rc, -EAGAIN, "after %d requests: %d", i, rc);
	cr_assert(fq_log_has(&fq, "cannot send a reply"));
	fq_close(&fq);
}
