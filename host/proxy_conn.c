/* SPDX-License-Identifier: BSD-3-Clause */
#include "proxy_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest_ram.h"
#include "mpqemu.h"

/* Messages per proxy_conn_handle(): QEMU sends one and waits, so only a flood hits it. */
#define MAX_MESSAGES_PER_CALL 64
/* BAR misses logged one by one before they are only counted (and logged sparsely). */
#define BAR_MISS_LOG_FIRST 16
#define BAR_MISS_LOG_EVERY 4096
/* Capability hops before a capability list is called a loop. */
#define MAX_CAP_HOPS 48
#define LEGACY_STATUS_OFFSET 18 /* VIRTIO_PCI_STATUS in the legacy I/O BAR */

struct proxy_conn {
	/* First: guest_ram_host_ops() finds the table through the vmctx opaque. */
	struct guest_ram *ram;
	int sock;
	int intx_fd;     /* eventfd QEMU wired to the GSI; -1 before SET_IRQFD */
	int resample_fd; /* eventfd QEMU signals at EOI; -1 before SET_IRQFD */
	int intx_level;  /* last level the function drove */
	bool msi_warned;
	struct vmctx *ctx;
	struct pci_vdev *pci;
	void *dev;
	const struct proxy_dev_factory *factory;
	void *arg;
	proxy_log_fn log;
	void *log_opaque;
	struct mpqemu_reader rd;
	struct proxy_conn_stats stats;
	char name[32];
};

static void conn_log(struct proxy_conn *conn, enum vdev_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void conn_log(struct proxy_conn *conn, enum vdev_log_level level, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (conn->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conn->log(conn->log_opaque, level, conn->name, msg);
}

/* --- host callbacks of the connection's vmctx --- */

static void signal_intx(struct proxy_conn *conn)
{
	uint64_t one = 1;

	if (conn->intx_fd < 0)
		return;
	/* Non-blocking: a counter at its maximum means the line is pending anyway. */
	if (write(conn->intx_fd, &one, sizeof(one)) == (ssize_t)sizeof(one))
		conn->stats.intx_signals++;
}

static void cb_intx_set(void *opaque, struct pci_vdev *dev, int level)
{
	struct proxy_conn *conn = opaque;

	(void)dev;
	/* Only the rising edge is signalled: de-assertion happens in the interrupt
	 * controller at EOI (irqfd with resample), and the resample fd tells us. */
	if (level && !conn->intx_level)
		signal_intx(conn);
	conn->intx_level = level ? 1 : 0;
}

static int cb_msi_send(void *opaque, struct pci_vdev *dev, uint64_t addr, uint32_t data)
{
	struct proxy_conn *conn = opaque;

	(void)dev;
	if (!conn->msi_warned) {
		conn->msi_warned = true;
		conn_log(conn, VDEV_LOG_WARN,
			 "MSI/MSI-X message (addr %#llx data %#x) cannot be delivered over the "
			 "multi-process protocol; configure the device without MSI-X",
			 (unsigned long long)addr, data);
	}
	return -ENOTSUP;
}

static void cb_log(void *opaque, enum vdev_log_level level, const char *devname,
		   const char *msg)
{
	struct proxy_conn *conn = opaque;

	if (conn->log != NULL)
		conn->log(conn->log_opaque, level, devname, msg);
}

/* --- message handlers --- */

static int reply(struct proxy_conn *conn, uint64_t val)
{
	int rc = mpqemu_send_ret(conn->sock, val);

	if (rc < 0)
		conn_log(conn, VDEV_LOG_ERROR, "cannot send a reply: %s", strerror(-rc));
	return rc;
}

static void handle_sysmem(struct proxy_conn *conn, struct mpqemu_msg *msg)
{
	struct guest_ram_region r[MPQEMU_SYSMEM_REGIONS];
	int n = msg->nfds, rc = 0;

	for (int i = 0; i < n; i++) {
		if (msg->u.sysmem.offset[i] < 0) {
			conn_log(conn, VDEV_LOG_ERROR,
				 "SYNC_SYSMEM refused, old table kept: region %d has a negative "
				 "offset",
				 i);
			rc = -EINVAL;
			break;
		}
		r[i] = (struct guest_ram_region){.gpa = msg->u.sysmem.gpa[i],
						 .size = msg->u.sysmem.size[i],
						 .fd = msg->fds[i],
						 .offset = (uint64_t)msg->u.sysmem.offset[i]};
	}
	if (rc == 0) {
		rc = guest_ram_replace(conn->ram, r, (size_t)n);
		if (rc < 0)
			conn_log(conn, VDEV_LOG_ERROR, "SYNC_SYSMEM refused, old table kept: %s",
				 guest_ram_error(conn->ram));
	}
	mpqemu_msg_close_fds(msg); /* the mappings hold the memory */
	/* No reply is expected either way. */
	if (rc < 0) {
		conn->stats.sysmem_refused++;
		return;
	}
	conn->stats.sysmem++;
	conn_log(conn, VDEV_LOG_DEBUG, "guest RAM: %d regions", n);
	if (conn->factory->ram_region != NULL) {
		for (size_t i = 0; i < guest_ram_count(conn->ram); i++) {
			struct guest_ram_map m;

			if (guest_ram_get(conn->ram, i, &m) == 0)
				conn->factory->ram_region(conn->arg, conn->dev, m.gpa, m.size);
		}
	}
}

static int handle_cfg(struct proxy_conn *conn, const struct mpqemu_msg *msg, bool write)
{
	const struct mpqemu_cfg *c = &msg->u.cfg;
	uint32_t val = 0xffffffffu;
	int rc = -EINVAL;

	/* vdev_pci_cfgread/cfgwrite check range, width and alignment themselves; the
	 * integers are narrowed only after a sanity bound so a huge addr cannot wrap. */
	if (c->addr < VDEV_PCI_CFG_EXT_SIZE && c->len > 0 && c->len <= 4) {
		if (write)
			rc = vdev_pci_cfgwrite(conn->pci, (int)c->addr, c->len, c->val);
		else
			rc = vdev_pci_cfgread(conn->pci, (int)c->addr, c->len, &val);
	}
	if (write)
		conn->stats.cfg_writes++;
	else
		conn->stats.cfg_reads++;
	if (rc < 0) {
		conn_log(conn, VDEV_LOG_WARN, "config %s at %#x, %d bytes, refused",
			 write ? "write" : "read", c->addr, c->len);
		/* QEMU's own remote answers a refused access with all ones. */
		return reply(conn, UINT64_MAX);
	}
	return reply(conn, write ? 0 : val);
}

static uint64_t width_mask(uint32_t size)
{
	return size >= 8 ? UINT64_MAX : (1ULL << (size * 8)) - 1;
}

static void bar_miss(struct proxy_conn *conn, const struct mpqemu_bar *b, bool write)
{
	uint64_t n = ++conn->stats.bar_misses;

	if (n <= BAR_MISS_LOG_FIRST || n % BAR_MISS_LOG_EVERY == 0)
		conn_log(conn, VDEV_LOG_WARN,
			 "BAR %s of %u bytes at %s address %#llx hits no BAR (%llu so far)",
			 write ? "write" : "read", b->size, b->memory ? "memory" : "I/O",
			 (unsigned long long)b->addr, (unsigned long long)n);
}

static int handle_bar(struct proxy_conn *conn, const struct mpqemu_msg *msg, bool write)
{
	const struct mpqemu_bar *b = &msg->u.bar;
	uint64_t off, val = 0;
	int bar;

	if (write)
		conn->stats.bar_writes++;
	else
		conn->stats.bar_reads++;
	if ((b->size != 1 && b->size != 2 && b->size != 4 && b->size != 8) ||
	    vdev_pci_bar_lookup(conn->pci, b->memory == 0, b->addr, (int)b->size, &bar, &off) <
		    0) {
		bar_miss(conn, b, write);
		/* A read of nothing is all ones, as a master abort reads on real PCI. */
		return reply(conn, write ? 0 : width_mask(b->size));
	}
	if (write) {
		virtio_pci_write(conn->ctx, 0, conn->pci, bar, off, (int)b->size,
				 b->val & width_mask(b->size));
		return reply(conn, 0);
	}
	val = virtio_pci_read(conn->ctx, 0, conn->pci, bar, off, (int)b->size);
	return reply(conn, val & width_mask(b->size));
}

/* An eventfd, by what the kernel calls it: anything else could block or spin our loop. */
static bool is_eventfd(int fd)
{
	char path[64], target[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return true; /* no /proc: trust it, it is made non-blocking anyway */
	target[n] = '\0';
	return strcmp(target, "anon_inode:[eventfd]") == 0;
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int handle_irqfd(struct proxy_conn *conn, struct mpqemu_msg *msg)
{
	if (!is_eventfd(msg->fds[0]) || !is_eventfd(msg->fds[1])) {
		conn_log(conn, VDEV_LOG_ERROR, "SET_IRQFD with descriptors that are not eventfds");
		mpqemu_msg_close_fds(msg);
		return -EPROTO;
	}
	if (conn->intx_fd >= 0)
		close(conn->intx_fd);
	if (conn->resample_fd >= 0)
		close(conn->resample_fd);
	conn->intx_fd = msg->fds[0];
	conn->resample_fd = msg->fds[1];
	msg->nfds = 0; /* the connection owns them now */
	set_nonblock(conn->intx_fd);
	set_nonblock(conn->resample_fd);
	conn_log(conn, VDEV_LOG_INFO, "INTx wired (eventfd %d, resample %d)", conn->intx_fd,
		 conn->resample_fd);
	/* A line already high before the wiring must be seen now. */
	if (vdev_pci_intx_level(conn->pci))
		signal_intx(conn);
	return 0;
}

/* The common-config capability's BAR and offset, walking a bounded capability list. */
static int find_common_cfg(struct proxy_conn *conn, int *bar, uint64_t *off)
{
	uint32_t status = 0, ptr = 0;

	if (vdev_pci_cfgread(conn->pci, PCIR_STATUS, 2, &status) < 0 ||
	    !(status & PCIM_STATUS_CAPPRESENT) ||
	    vdev_pci_cfgread(conn->pci, PCIR_CAP_PTR, 1, &ptr) < 0)
		return -ENOENT;
	for (int hops = 0; ptr >= 0x40 && ptr < VDEV_PCI_CFG_SIZE && hops < MAX_CAP_HOPS;
	     hops++) {
		uint32_t id = 0, next = 0, type = 0, b = 0, o = 0;

		ptr &= ~3u;
		vdev_pci_cfgread(conn->pci, (int)ptr, 1, &id);
		vdev_pci_cfgread(conn->pci, (int)ptr + 1, 1, &next);
		if (id == PCIY_VENDOR && ptr + 12 <= VDEV_PCI_CFG_SIZE) {
			vdev_pci_cfgread(conn->pci, (int)ptr + 3, 1, &type);
			vdev_pci_cfgread(conn->pci, (int)ptr + 4, 1, &b);
			vdev_pci_cfgread(conn->pci, (int)ptr + 8, 4, &o);
			if (type == VIRTIO_PCI_CAP_COMMON_CFG && b < VDEV_PCI_NUM_BARS) {
				*bar = (int)b;
				*off = o;
				return 0;
			}
		}
		ptr = next;
	}
	return -ENOENT;
}

/*
 * DEVICE_RESET is QEMU resetting the proxy device (system reset): reset the virtio
 * device, and give the PCI function its power-on decode state, as QEMU's own copy of
 * the config space has just been reset too and the firmware will program it again.
 */
static void reset_function(struct proxy_conn *conn)
{
	struct vdev_pci_bar_info info;
	uint64_t off;
	int bar;

	if (conn->factory->reset != NULL) {
		conn->factory->reset(conn->arg, conn->dev);
	} else if (find_common_cfg(conn, &bar, &off) == 0) {
		virtio_pci_write(conn->ctx, 0, conn->pci, bar, off + VIRTIO_COMMON_STATUS, 1, 0);
	} else if (vdev_pci_bar_info(conn->pci, VIRTIO_LEGACY_PIO_BAR_IDX, &info) == 0 &&
		   info.type == VDEV_PCI_BAR_IO) {
		virtio_pci_write(conn->ctx, 0, conn->pci, VIRTIO_LEGACY_PIO_BAR_IDX,
				 LEGACY_STATUS_OFFSET, 1, 0);
	} else {
		conn_log(conn, VDEV_LOG_WARN, "DEVICE_RESET: no status register found");
	}
	vdev_pci_cfgwrite(conn->pci, PCIR_COMMAND, 2, 0);
	for (int i = 0; i < VDEV_PCI_NUM_BARS; i++)
		vdev_pci_cfgwrite(conn->pci, PCIR_BAR(i), 4, 0);
	conn->stats.resets++;
	conn_log(conn, VDEV_LOG_INFO, "device reset");
}

static int dispatch(struct proxy_conn *conn, struct mpqemu_msg *msg)
{
	conn->stats.messages++;
	switch (msg->cmd) {
	case MPQEMU_CMD_SYNC_SYSMEM:
		handle_sysmem(conn, msg);
		return 0;
	case MPQEMU_CMD_PCI_CFGWRITE:
		return handle_cfg(conn, msg, true);
	case MPQEMU_CMD_PCI_CFGREAD:
		return handle_cfg(conn, msg, false);
	case MPQEMU_CMD_BAR_WRITE:
		return handle_bar(conn, msg, true);
	case MPQEMU_CMD_BAR_READ:
		return handle_bar(conn, msg, false);
	case MPQEMU_CMD_SET_IRQFD:
		return handle_irqfd(conn, msg);
	case MPQEMU_CMD_DEVICE_RESET:
		reset_function(conn);
		return reply(conn, 0);
	default: /* mpqemu_read() lets no other command through */
		mpqemu_msg_close_fds(msg);
		return -EPROTO;
	}
}

int proxy_conn_handle(struct proxy_conn *conn)
{
	for (int i = 0; i < MAX_MESSAGES_PER_CALL; i++) {
		struct mpqemu_msg msg;
		char err[160] = "";
		int rc = mpqemu_read(conn->sock, &conn->rd, &msg, err, sizeof(err));

		if (rc == 0)
			return 0;
		if (rc < 0) {
			conn_log(conn, rc == -EPIPE && strcmp(err, "peer closed") == 0
					       ? VDEV_LOG_INFO
					       : VDEV_LOG_ERROR,
				 "closing: %s", err);
			return rc;
		}
		rc = dispatch(conn, &msg);
		mpqemu_msg_close_fds(&msg);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void proxy_conn_handle_resample(struct proxy_conn *conn)
{
	uint64_t cnt;

	if (conn->resample_fd < 0)
		return;
	if (read(conn->resample_fd, &cnt, sizeof(cnt)) != (ssize_t)sizeof(cnt))
		return; /* spurious wake-up */
	conn->stats.resamples++;
	/* The controller dropped the line at EOI; raise it again if we still drive it. */
	if (vdev_pci_intx_level(conn->pci))
		signal_intx(conn);
}

/* --- life cycle --- */

int proxy_conn_create(int fd, const struct proxy_dev_factory *factory, void *arg,
		      proxy_log_fn log, void *log_opaque, struct proxy_conn **out)
{
	struct vdev_host_ops ops;
	struct proxy_conn *conn;
	int rc;

	if (fd < 0 || factory == NULL || factory->create == NULL || factory->destroy == NULL ||
	    out == NULL)
		return -EINVAL;
	conn = calloc(1, sizeof(*conn));
	if (conn == NULL)
		return -ENOMEM;
	conn->sock = fd;
	conn->intx_fd = -1;
	conn->resample_fd = -1;
	conn->factory = factory;
	conn->arg = arg;
	conn->log = log;
	conn->log_opaque = log_opaque;
	snprintf(conn->name, sizeof(conn->name), "proxy-fd%d", fd);
	mpqemu_reader_init(&conn->rd);
	rc = guest_ram_create(&conn->ram);
	if (rc < 0)
		goto fail;
	guest_ram_host_ops(&ops);
	ops.intx_set = cb_intx_set;
	ops.msi_send = cb_msi_send;
	ops.log = cb_log;
	rc = vdev_vmctx_create(&ops, conn, &conn->ctx);
	if (rc < 0)
		goto fail;
	rc = factory->create(arg, conn->ctx, &conn->pci, &conn->dev);
	if (rc < 0) {
		conn_log(conn, VDEV_LOG_ERROR, "device creation failed: %s", strerror(-rc));
		goto fail;
	}
	if (conn->pci == NULL) {
		factory->destroy(arg, conn->dev);
		rc = -EINVAL;
		goto fail;
	}
	set_nonblock(fd);
	*out = conn;
	return 0;
fail:
	if (conn->ctx != NULL)
		vdev_vmctx_destroy(conn->ctx);
	guest_ram_destroy(conn->ram);
	free(conn);
	return rc;
}

void proxy_conn_destroy(struct proxy_conn *conn)
{
	if (conn == NULL)
		return;
	conn->factory->destroy(conn->arg, conn->dev);
	vdev_vmctx_destroy(conn->ctx);
	guest_ram_destroy(conn->ram);
	mpqemu_reader_reset(&conn->rd);
	if (conn->intx_fd >= 0)
		close(conn->intx_fd);
	if (conn->resample_fd >= 0)
		close(conn->resample_fd);
	close(conn->sock);
	free(conn);
}

int proxy_conn_fd(const struct proxy_conn *conn)
{
	return conn->sock;
}

int proxy_conn_resample_fd(const struct proxy_conn *conn)
{
	return conn->resample_fd;
}

int proxy_conn_pollfds(const struct proxy_conn *conn, int *fds, int max)
{
	int n = 0;

	if (n < max)
		fds[n++] = conn->sock;
	if (n < max && conn->resample_fd >= 0)
		fds[n++] = conn->resample_fd;
	return n;
}

void *proxy_conn_device(const struct proxy_conn *conn)
{
	return conn->dev;
}

struct pci_vdev *proxy_conn_pci(const struct proxy_conn *conn)
{
	return conn->pci;
}

void proxy_conn_get_stats(const struct proxy_conn *conn, struct proxy_conn_stats *out)
{
	*out = conn->stats;
}

void proxy_conn_set_name(struct proxy_conn *conn, const char *name)
{
	if (conn != NULL && name != NULL)
		snprintf(conn->name, sizeof(conn->name), "%s", name);
}
