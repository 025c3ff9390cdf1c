/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The proxy connector against a fake QEMU: identity reads, BAR sizing and placement as
 * QEMU's probe and SeaBIOS do them, a full modern virtio set-up through BAR messages at
 * absolute addresses, an echo request in the memfd end to end, INTx through the eventfd
 * pair with resample, and DEVICE_RESET.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_qemu.h"

#define QSIZE 8
#define DESC_GPA 0x1000u
#define AVAIL_GPA 0x2000u
#define USED_GPA 0x3000u
#define IN_GPA 0x10000u
#define OUT_GPA 0x20000u
#define COMMON(off) (FQ_MEM_BAR_ADDR + VIRTIO_CAP_COMMON_OFFSET + (off))
#define ISR_ADDR (FQ_MEM_BAR_ADDR + VIRTIO_CAP_ISR_OFFSET)
#define NOTIFY_BASE (FQ_MEM_BAR_ADDR + VIRTIO_CAP_NOTIFY_OFFSET)

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

static const char payload[] = "hello through the multi-process proxy";

static uint8_t status(struct fake_qemu *fq)
{
	return (uint8_t)fq_bar_read(fq, true, COMMON(VIRTIO_COMMON_STATUS), 1);
}

static void set_status(struct fake_qemu *fq, uint8_t s)
{
	fq_bar_write(fq, true, COMMON(VIRTIO_COMMON_STATUS), 1, s);
}

static void write64(struct fake_qemu *fq, uint32_t lo, uint64_t v)
{
	fq_bar_write(fq, true, COMMON(lo), 4, (uint32_t)v);
	fq_bar_write(fq, true, COMMON(lo + 4), 4, v >> 32);
}

/* A Linux-shaped modern probe, all through BAR_READ/BAR_WRITE at bus addresses. */
static uint16_t driver_setup(struct fake_qemu *fq)
{
	uint64_t df;
	uint16_t noff;

	set_status(fq, 0);
	cr_assert_eq(status(fq), 0);
	set_status(fq, VIRTIO_CR_STATUS_ACK | VIRTIO_CR_STATUS_DRIVER);
	fq_bar_write(fq, true, COMMON(VIRTIO_COMMON_DFSELECT), 4, 1);
	df = fq_bar_read(fq, true, COMMON(VIRTIO_COMMON_DF), 4);
	cr_assert(df & 1, "VERSION_1 offered");
	fq_bar_write(fq, true, COMMON(VIRTIO_COMMON_GFSELECT), 4, 0);
	fq_bar_write(fq, true, COMMON(VIRTIO_COMMON_GF), 4, (uint32_t)ECHO_F_TEST);
	fq_bar_write(fq, true, COMMON(VIRTIO_COMMON_GFSELECT), 4, 1);
	fq_bar_write(fq, true, COMMON(VIRTIO_COMMON_GF), 4, 1);
	set_status(fq, VIRTIO_CR_STATUS_ACK | VIRTIO_CR_STATUS_DRIVER |
			       VIRTIO_CR_STATUS_FEATURES_OK);
	cr_assert(status(fq) & VIRTIO_CR_STATUS_FEATURES_OK, "FEATURES_OK accepted");
	fq_bar_write(fq, true, COMMON(VIRTIO_COMMON_Q_SELECT), 2, 0);
	cr_assert_eq(fq_bar_read(fq, true, COMMON(VIRTIO_COMMON_Q_SIZE), 2), 64u);
	fq_bar_write(fq, true, COMMON(VIRTIO_COMMON_Q_SIZE), 2, QSIZE);
	write64(fq, VIRTIO_COMMON_Q_DESCLO, DESC_GPA);
	write64(fq, VIRTIO_COMMON_Q_AVAILLO, AVAIL_GPA);
	write64(fq, VIRTIO_COMMON_Q_USEDLO, USED_GPA);
	noff = (uint16_t)fq_bar_read(fq, true, COMMON(VIRTIO_COMMON_Q_NOFF), 2);
	fq_bar_write(fq, true, COMMON(VIRTIO_COMMON_Q_ENABLE), 2, 1);
	set_status(fq, VIRTIO_CR_STATUS_ACK | VIRTIO_CR_STATUS_DRIVER |
			       VIRTIO_CR_STATUS_FEATURES_OK | VIRTIO_CR_STATUS_DRIVER_OK);
	cr_assert_eq(status(fq), 0x0f, "DRIVER_OK (log:\n%s)", fq->log);
	return noff;
}

/* Post one echo request (readable payload, writable 64 bytes) and kick queue 0. */
static void post_request(struct fake_qemu *fq, uint16_t noff, uint16_t avail_idx)
{
	struct desc *d = (struct desc *)(fq->ram + DESC_GPA);
	uint16_t *avail = (uint16_t *)(fq->ram + AVAIL_GPA);

	memcpy(fq->ram + IN_GPA, payload, sizeof(payload));
	memset(fq->ram + OUT_GPA, 0, 64);
	d[0] = (struct desc){.addr = IN_GPA, .len = sizeof(payload), .flags = 1, .next = 1};
	d[1] = (struct desc){.addr = OUT_GPA, .len = 64, .flags = 2};
	avail[2 + (avail_idx % QSIZE)] = 0;
	__atomic_store_n(&avail[1], (uint16_t)(avail_idx + 1), __ATOMIC_RELEASE);
	fq_bar_write(fq, true, NOTIFY_BASE + (uint64_t)noff * VIRTIO_MODERN_NOTIFY_OFF_MULT, 2,
		     0);
}

static void open_ready(struct fake_qemu *fq)
{
	fq_open(fq);
	fq_sysmem_default(fq);
	fq_set_irqfd(fq);
	fq_program_bars(fq);
}

Test(proxy, identity_reads)
{
	struct fake_qemu fq;

	fq_open(&fq);
	/* QEMU's probe_pci_info() reads these first, with 2-byte accesses. */
	cr_assert_eq(fq_cfg_read(&fq, PCIR_VENDOR, 2), 0x1af4u);
	cr_assert_eq(fq_cfg_read(&fq, PCIR_DEVICE, 2),
		     vdev_virtio_pci_device_id(VIRTIO_TYPE_ENTROPY, VDEV_PCI_MODERN));
	cr_assert_eq(fq_cfg_read(&fq, PCIR_DEVICE, 2), 0x1044u);
	cr_assert_eq(fq_cfg_read(&fq, PCIR_VENDOR, 4) & 0xffff, 0x1af4u);
	cr_assert_eq(fq_cfg_read(&fq, PCIR_INTPIN, 1), 1u, "INTA");
	cr_assert_neq(fq_cfg_read(&fq, PCIR_STATUS, 2) & PCIM_STATUS_CAPPRESENT, 0u);
	fq_close(&fq);
}

Test(proxy, bar_sizing_and_placement)
{
	struct fake_qemu fq;
	struct vdev_pci_bar_info info;

	fq_open(&fq);
	fq_program_bars(&fq);
	cr_assert_eq(vdev_pci_bar_info(proxy_conn_pci(fq.conn), 4, &info), 0);
	cr_assert_eq(info.type, VDEV_PCI_BAR_MEM32, "QEMU's proxy needs 32-bit memory BARs");
	cr_assert_eq(info.addr, FQ_MEM_BAR_ADDR);
	cr_assert(info.decode);
	/* A read inside the BAR reaches the register model: the ISR, nothing pending. */
	cr_assert_eq(fq_bar_read(&fq, true, ISR_ADDR, 1), 0u);
	/* The same offset in I/O space is not this function's. */
	cr_assert_eq(fq_bar_read(&fq, false, ISR_ADDR, 1), 0xffu);
	cr_assert(fq_log_has(&fq, "hits no BAR"), "miss logged");
	fq_close(&fq);
}

Test(proxy, echo_end_to_end_with_intx)
{
	struct fake_qemu fq;
	const uint32_t *used;
	uint16_t noff;

	open_ready(&fq);
	noff = driver_setup(&fq);
	cr_assert_eq(fq_intx_take(&fq), 0u, "no interrupt before a request");
	post_request(&fq, noff, 0);
	used = (const uint32_t *)(fq.ram + USED_GPA);
	cr_assert_eq(((const uint16_t *)used)[1], 1, "used idx (log:\n%s)", fq.log);
	cr_assert_eq(used[1], 0u, "used id");
	cr_assert_eq(used[2], sizeof(payload), "used len");
	cr_assert_str_eq((const char *)fq.ram + OUT_GPA, payload);
	cr_assert_eq(fq.echo->echoed, 1u);

	/* INTx: rising edge signalled once. */
	cr_assert_eq(fq_intx_take(&fq), 1u, "INTx eventfd written on completion");
	cr_assert_eq(vdev_pci_intx_level(proxy_conn_pci(fq.conn)), 1);
	/* EOI without the driver reading the ISR: the line is still high, so re-raise. */
	uint64_t one = 1;
	cr_assert_eq(write(fq.resample, &one, 8), 8);
	proxy_conn_handle_resample(fq.conn);
	cr_assert_eq(fq_intx_take(&fq), 1u, "re-raised via resample");
	/* The driver reads the ISR: the line drops, and the next resample stays quiet. */
	cr_assert_eq(fq_bar_read(&fq, true, ISR_ADDR, 1), VIRTIO_CR_ISR_QUEUES);
	cr_assert_eq(vdev_pci_intx_level(proxy_conn_pci(fq.conn)), 0);
	cr_assert_eq(write(fq.resample, &one, 8), 8);
	proxy_conn_handle_resample(fq.conn);
	cr_assert_eq(fq_intx_take(&fq), 0u, "no re-raise after the ISR read");

	/* A second request raises a new edge. */
	post_request(&fq, noff, 1);
	cr_assert_eq(((const uint16_t *)used)[1], 2);
	cr_assert_eq(fq_intx_take(&fq), 1u);

	struct proxy_conn_stats st;
	proxy_conn_get_stats(fq.conn, &st);
	cr_assert_eq(st.sysmem, 1u);
	cr_assert_eq(st.resamples, 2u);
	cr_assert_eq(st.intx_signals, 3u);
	cr_assert_eq(st.bar_misses, 0u, "log:\n%s", fq.log);
	fq_close(&fq);
}

Test(proxy, intx_before_irqfd_is_signalled_on_wiring)
{
	struct fake_qemu fq;
	uint16_t noff;

	fq_open(&fq);
	fq_sysmem_default(&fq);
	fq_program_bars(&fq);
	noff = driver_setup(&fq);
	post_request(&fq, noff, 0);
	cr_assert_eq(vdev_pci_intx_level(proxy_conn_pci(fq.conn)), 1);
	fq_set_irqfd(&fq);
	cr_assert_eq(fq_intx_take(&fq), 1u, "pending line signalled when SET_IRQFD arrives");
	fq_close(&fq);
}

Test(proxy, device_reset)
{
	struct fake_qemu fq;
	uint16_t noff;
	uint64_t resets;

	open_ready(&fq);
	noff = driver_setup(&fq);
	post_request(&fq, noff, 0);
	resets = fq.echo->resets;
	cr_assert_eq(fq_device_reset(&fq), 0u);
	cr_assert_gt(fq.echo->resets, resets, "the device saw a reset");
	cr_assert_eq(vdev_pci_intx_level(proxy_conn_pci(fq.conn)), 0, "ISR cleared");
	/* Power-on decode state: QEMU's copy was reset too, firmware programs it again. */
	cr_assert_eq(fq_cfg_read(&fq, PCIR_COMMAND, 2) & (PCIM_CMD_MEMEN | PCIM_CMD_PORTEN), 0u);
	cr_assert_eq(fq_cfg_read(&fq, PCIR_BAR(4), 4) & ~0xfu, 0u);
	cr_assert_eq(fq_bar_read(&fq, true, COMMON(VIRTIO_COMMON_STATUS), 1), 0xffu,
		     "no decode until reprogrammed");
	fq_program_bars(&fq);
	cr_assert_eq(status(&fq), 0);
	fq_bar_write(&fq, true, COMMON(VIRTIO_COMMON_Q_SELECT), 2, 0);
	cr_assert_eq(fq_bar_read(&fq, true, COMMON(VIRTIO_COMMON_Q_ENABLE), 2), 0u);
	/* And the device works again after a fresh set-up. */
	memset(fq.ram + USED_GPA, 0, 0x100);
	memset(fq.ram + AVAIL_GPA, 0, 0x100);
	noff = driver_setup(&fq);
	post_request(&fq, noff, 0);
	cr_assert_eq(((const uint16_t *)(fq.ram + USED_GPA))[1], 1);
	fq_close(&fq);
}

Test(proxy, sysmem_replace_keeps_rings_working)
{
	struct fake_qemu fq;
	uint16_t noff;
	/* QEMU resends the RAM table on every topology change, split differently. */
	uint64_t gpa[2] = {0, 0xc0000}, size[2] = {0xa0000, FQ_RAM_SIZE - 0xc0000};
	int64_t off[2] = {0, 0xc0000};

	open_ready(&fq);
	noff = driver_setup(&fq);
	fq_sync_sysmem(&fq, 2, gpa, size, off, NULL);
	cr_assert_eq(fq.last_rc, 0);
	fq_sysmem_default(&fq);
	post_request(&fq, noff, 0);
	cr_assert_eq(((const uint16_t *)(fq.ram + USED_GPA))[1], 1, "log:\n%s", fq.log);
	cr_assert_str_eq((const char *)fq.ram + OUT_GPA, payload);
	fq_close(&fq);
}

Test(proxy, fresh_function_per_connection)
{
	struct fake_qemu a, b;

	fq_open(&a);
	fq_open(&b);
	cr_assert_neq(proxy_conn_pci(a.conn), proxy_conn_pci(b.conn));
	fq_program_bars(&a);
	cr_assert_eq(fq_cfg_read(&b, PCIR_BAR(4), 4) & ~0xfu, 0u, "b is untouched");
	fq_close(&a);
	fq_close(&b);
}

Test(proxy, pollfds_and_orderly_close)
{
	struct fake_qemu fq;
	int fds[4], n;

	fq_open(&fq);
	n = proxy_conn_pollfds(fq.conn, fds, 4);
	cr_assert_eq(n, 1);
	cr_assert_eq(fds[0], proxy_conn_fd(fq.conn));
	fq_set_irqfd(&fq);
	n = proxy_conn_pollfds(fq.conn, fds, 4);
	cr_assert_eq(n, 2);
	cr_assert_eq(fds[1], proxy_conn_resample_fd(fq.conn));
	shutdown(fq.sock, SHUT_WR);
	cr_assert_eq(fq_handle(&fq), -EPIPE);
	cr_assert(fq_log_has(&fq, "peer closed"));
	fq_close(&fq);
}

Test(proxy, no_leaked_descriptors)
{
	struct fake_qemu fq;
	int before = fx_count_fds();

	open_ready(&fq);
	fq_sysmem_default(&fq);
	fq_set_irqfd(&fq); /* replaces the first pair */
	fq_close(&fq);
	cr_assert_eq(fx_count_fds(), before);
}
