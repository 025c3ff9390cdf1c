/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The driver peer's vhost-user front end (vdev/vu_front.h):
 *  - against libvdev's own back end (the host/ connector serving virtio-blk on a
 *    temporary file, in a thread with a poll() loop): real writes and reads, the data
 *    checked in guest RAM and in the file;
 *  - against qemu-storage-daemon when it is installed (else the test says why it
 *    skips);
 *  - against a scripted back end that misbehaves: every broken reply is an error.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vdev/blk.h"
#include "vdev/driver.h"
#include "vdev/virtio.h"
#include "vdev/vu_front.h"
#include "vhost_user.h"

extern char **environ;

#define DISK_BYTES (1u << 20)
#define RAM_BYTES (4u << 20)

/* ---------------- helpers ---------------- */

static int listen_unix(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	cr_assert_lt(strlen(path), sizeof(a.sun_path));
	strcpy(a.sun_path, path);
	unlink(path);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(fd, 2), 0);
	return fd;
}

static void temp_path(char *buf, size_t len, const char *what)
{
	static int seq;

	snprintf(buf, len, "/tmp/vu-front-%d-%d-%s", (int)getpid(), seq++, what);
}

static struct vdev_sim *shared_sim(void)
{
	struct vdev_sim *sim = NULL;

	cr_assert_eq(vdev_sim_create(&(struct vdev_sim_config){.size = sizeof(struct vdev_sim_config),
							       .ram_size = RAM_BYTES,
							       .shared = true},
				     &sim),
		     0);
	return sim;
}

/* ---------------- libvdev's back end in a thread ---------------- */

struct server {
	char sock[108];
	char image[108];
	int lfd;
	int stop_fd[2];
	pthread_t thread;
	int conn_rc;
	uint64_t null_size; /* > 0: the null backend instead of the image */
};

static int blk_factory(void *arg, struct vmctx *ctx, struct vdev_dev **out)
{
	struct server *s = arg;
	struct vdev_blk_config cfg = {.size = sizeof(struct vdev_blk_config),
				      .pci = {.mode = VDEV_PCI_MODERN}, .path = s->image,
				      .queue_size = 256};
	struct vdev_blk_backend be;
	int rc;

	if (s->null_size == 0)
		return vdev_blk_create(ctx, "blk0", &cfg, out);
	rc = vdev_blk_null_backend(s->null_size, &be);
	if (rc < 0)
		return rc;
	cfg.path = NULL;
	cfg.backend = &be;
	rc = vdev_blk_create(ctx, "blk0", &cfg, out);
	if (rc < 0)
		be.destroy(be.opaque);
	return rc;
}

/* Accept one connection and serve it until it closes or the test stops us. */
static void *serve(void *arg)
{
	struct server *s = arg;
	struct vhost_user_conn *c = NULL;
	struct pollfd lp[2] = {{.fd = s->lfd, .events = POLLIN},
			       {.fd = s->stop_fd[0], .events = POLLIN}};
	int fd;

	if (poll(lp, 2, 10000) <= 0 || (lp[1].revents & POLLIN))
		return NULL;
	fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0 || vhost_user_conn_create(fd, blk_factory, s, NULL, NULL, &c) < 0) {
		s->conn_rc = -1;
		return NULL;
	}
	for (;;) {
		struct vdev_pollfd vfds[32];
		struct pollfd pfd[33];
		int n = vhost_user_conn_pollfds(c, vfds, 32), rc = 0;

		if (n < 0)
			break;
		for (int i = 0; i < n; i++)
			pfd[i] = (struct pollfd){.fd = vfds[i].fd, .events = POLLIN};
		pfd[n] = (struct pollfd){.fd = s->stop_fd[0], .events = POLLIN};
		if (poll(pfd, (nfds_t)n + 1, 1000) < 0)
			break;
		if (pfd[n].revents)
			break;
		for (int i = 0; i < n && rc == 0; i++) {
			if (pfd[i].revents)
				rc = vhost_user_conn_dispatch(c, pfd[i].fd);
		}
		if (rc < 0)
			break;
	}
	vhost_user_conn_destroy(c);
	return NULL;
}

/* image_dir: where the image goes (NULL: /tmp). */
static void server_start(struct server *s, uint64_t null_size, const char *image_dir)
{
	uint8_t zero[4096] = {0};
	int fd;

	memset(s, 0, sizeof(*s));
	s->null_size = null_size;
	temp_path(s->sock, sizeof(s->sock), "sock");
	temp_path(s->image, sizeof(s->image), "img");
	if (image_dir != NULL) {
		char name[64];

		snprintf(name, sizeof(name), "%s", strrchr(s->image, '/') + 1);
		cr_assert_lt(strlen(image_dir) + 1 + strlen(name), sizeof(s->image));
		memcpy(s->image, image_dir, strlen(image_dir));
		s->image[strlen(image_dir)] = '/';
		memcpy(s->image + strlen(image_dir) + 1, name, strlen(name) + 1);
	}
	fd = open(s->image, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	for (unsigned off = 0; off < DISK_BYTES; off += sizeof(zero))
		cr_assert_eq(write(fd, zero, sizeof(zero)), (ssize_t)sizeof(zero));
	close(fd);
	s->lfd = listen_unix(s->sock);
	cr_assert_eq(pipe2(s->stop_fd, O_CLOEXEC), 0);
	cr_assert_eq(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(struct server *s)
{
	(void)!write(s->stop_fd[1], "x", 1);
	pthread_join(s->thread, NULL);
	close(s->stop_fd[0]);
	close(s->stop_fd[1]);
	close(s->lfd);
	unlink(s->sock);
	unlink(s->image);
}

/* ---------------- one blk request through the front end ---------------- */

struct io_bufs {
	uint64_t hdr, data, status;
	uint8_t *hdr_p, *data_p, *status_p;
};

static void bufs_alloc(struct vdev_sim *sim, struct io_bufs *b, uint32_t len)
{
	b->hdr = vdev_sim_alloc(sim, VDEV_BLK_HDR_SIZE, 16);
	b->data = vdev_sim_alloc(sim, len, 4096);
	b->status = vdev_sim_alloc(sim, 1, 1);
	cr_assert(b->hdr && b->data && b->status);
	b->hdr_p = vdev_sim_ptr(sim, b->hdr, VDEV_BLK_HDR_SIZE);
	b->data_p = vdev_sim_ptr(sim, b->data, len);
	b->status_p = vdev_sim_ptr(sim, b->status, 1);
}

/* Submit one request and wait for it on the call eventfd; returns the status byte. */
static uint8_t blk_io(struct vdev_vu_front *f, struct io_bufs *b, uint32_t type,
		      uint64_t sector, uint32_t len)
{
	struct vdev_drv *drv = vdev_vu_front_drv(f);
	struct vdev_drv_seg segs[3] = {
		{.gpa = b->hdr, .len = VDEV_BLK_HDR_SIZE},
		{.gpa = b->data, .len = len, .writable = type == VDEV_BLK_T_IN},
		{.gpa = b->status, .len = 1, .writable = true},
	};
	void *tok = NULL;
	uint32_t used = 0;
	int waits = 0;

	memset(b->hdr_p, 0, VDEV_BLK_HDR_SIZE);
	memcpy(b->hdr_p, &type, 4); /* little-endian host */
	memcpy(b->hdr_p + 8, &sector, 8);
	*b->status_p = 0xee;
	cr_assert_eq(vdev_drv_enqueue(drv, 0, segs, 3, false, b), 0);
	vdev_drv_notify(drv, 0);
	while (vdev_drv_dequeue(drv, 0, &tok, &used) == 0) {
		int rc = vdev_vu_front_wait(f, 0, 5000);

		cr_assert_geq(rc, 0, "wait: %s", strerror(-rc));
		cr_assert(++waits < 50, "no completion");
	}
	cr_assert_eq(tok, b);
	return *b->status_p;
}

/* Write a pattern, read it back into a cleared buffer, compare; sectors 8.. of a
 * 1 MiB disk. */
static void blk_round_trip(struct vdev_vu_front *f, struct vdev_sim *sim)
{
	struct io_bufs b;
	uint64_t cap = 0, feat = 0;

	cr_assert_eq(vdev_vu_front_get_config(f, VDEV_BLK_CFG_CAPACITY, &cap, sizeof(cap)), 0);
	cr_assert_eq(cap, DISK_BYTES / 512);
	cr_assert(vdev_vu_front_device_features(f) & VIRTIO_F_VERSION_1);
	cr_assert_eq(vdev_vu_front_start(f, VIRTIO_RING_F_EVENT_IDX | VDEV_BLK_F_FLUSH, 1, 64,
					 &feat),
		     0);
	cr_assert(feat & VIRTIO_F_VERSION_1);
	bufs_alloc(sim, &b, 8192);
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 8192; i++)
			b.data_p[i] = (uint8_t)(i * 7 + round);
		cr_assert_eq(blk_io(f, &b, VDEV_BLK_T_OUT, 8 + 16 * (uint64_t)round, 8192),
			     VDEV_BLK_S_OK);
		memset(b.data_p, 0, 8192);
		cr_assert_eq(blk_io(f, &b, VDEV_BLK_T_IN, 8 + 16 * (uint64_t)round, 8192),
			     VDEV_BLK_S_OK);
		for (int i = 0; i < 8192; i++)
			cr_assert_eq(b.data_p[i], (uint8_t)(i * 7 + round), "round %d byte %d",
				     round, i);
	}
	/* A request past the end is the back end's to refuse, with IOERR. */
	cr_assert_eq(blk_io(f, &b, VDEV_BLK_T_IN, DISK_BYTES / 512, 4096), VDEV_BLK_S_IOERR);
	cr_assert_eq(vdev_drv_queue_free(vdev_vu_front_drv(f), 0), 64);
}

static void check_file(const char *image)
{
	uint8_t buf[8192];
	int fd = open(image, O_RDONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0);
	/* Round 19 wrote at sector 8 + 16 * 19. */
	cr_assert_eq(pread(fd, buf, sizeof(buf), (8 + 16 * 19) * 512), (ssize_t)sizeof(buf));
	close(fd);
	for (int i = 0; i < 8192; i++)
		cr_assert_eq(buf[i], (uint8_t)(i * 7 + 19));
}

static void libvdev_round_trip(const char *image_dir)
{
	struct server s;
	struct vdev_sim *sim = shared_sim();
	struct vdev_vu_front *f = NULL;
	int rc;

	server_start(&s, 0, image_dir);
	rc = vdev_vu_front_connect(&(struct vdev_vu_front_config){.size = sizeof(struct vdev_vu_front_config),
								  .path = s.sock, .sim = sim},
				   &f);
	cr_assert_eq(rc, 0, "connect: %s", strerror(-rc));
	cr_assert(vdev_vu_front_protocol_features(f) & (1u << 9), "CONFIG agreed");
	cr_assert_eq(vdev_vu_front_queue_num(f), 1);
	blk_round_trip(f, sim);
	vdev_vu_front_close(f);
	check_file(s.image);
	server_stop(&s);
	cr_assert_eq(s.conn_rc, 0);
	vdev_sim_destroy(sim);
}

Test(vu_front, blk_round_trip_with_libvdev_back_end)
{
	libvdev_round_trip(NULL);
}

/* On tmpfs the file backend serves reads and writes inline, inside submit(). */
Test(vu_front, blk_round_trip_with_libvdev_back_end_on_tmpfs)
{
	struct stat st;

	if (stat("/dev/shm", &st) != 0 || !S_ISDIR(st.st_mode))
		cr_skip_test("no /dev/shm");
	libvdev_round_trip("/dev/shm");
}

Test(vu_front, null_backend_completes_without_touching_buffers)
{
	struct server s;
	struct vdev_sim *sim = shared_sim();
	struct vdev_vu_front *f = NULL;
	struct io_bufs b;
	uint64_t cap = 0;
	struct vdev_blk_backend be;

	cr_assert_eq(vdev_blk_null_backend(100, &be), -EINVAL);
	cr_assert_eq(vdev_blk_null_backend(1 << 20, NULL), -EINVAL);
	server_start(&s, 64u << 20, NULL);
	cr_assert_eq(vdev_vu_front_connect(
			     &(struct vdev_vu_front_config){.size = sizeof(struct vdev_vu_front_config),
							    .path = s.sock, .sim = sim}, &f),
		     0);
	cr_assert_eq(vdev_vu_front_get_config(f, VDEV_BLK_CFG_CAPACITY, &cap, sizeof(cap)), 0);
	cr_assert_eq(cap, (64u << 20) / 512);
	cr_assert_eq(vdev_vu_front_start(f, VIRTIO_RING_F_EVENT_IDX, 1, 64, NULL), 0);
	bufs_alloc(sim, &b, 4096);
	memset(b.data_p, 0x5a, 4096);
	cr_assert_eq(blk_io(f, &b, VDEV_BLK_T_OUT, 1000, 4096), VDEV_BLK_S_OK);
	cr_assert_eq(blk_io(f, &b, VDEV_BLK_T_IN, 2000, 4096), VDEV_BLK_S_OK);
	for (int i = 0; i < 4096; i++)
		cr_assert_eq(b.data_p[i], 0x5a);
	/* Its capacity is enforced by the device like any other. */
	cr_assert_eq(blk_io(f, &b, VDEV_BLK_T_IN, cap, 4096), VDEV_BLK_S_IOERR);
	vdev_vu_front_close(f);
	server_stop(&s);
	vdev_sim_destroy(sim);
}

/* ---------------- qemu-storage-daemon ---------------- */

static char *find_in_path(const char *prog)
{
	static char buf[4096];
	const char *path = getenv("PATH");

	while (path && *path) {
		const char *colon = strchr(path, ':');
		size_t n = colon ? (size_t)(colon - path) : strlen(path);

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, prog);
		if (access(buf, X_OK) == 0)
			return buf;
		path = colon ? colon + 1 : NULL;
	}
	return NULL;
}

static bool wait_for_socket(const char *path, pid_t pid)
{
	for (int i = 0; i < 500; i++) {
		struct stat st;

		if (waitpid(pid, NULL, WNOHANG) == pid)
			return false;
		if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			return true;
		usleep(10000);
	}
	return false;
}

Test(vu_front, blk_round_trip_with_qemu_storage_daemon)
{
	char sock[108], image[108], blockdev[300], export[400];
	char *qsd = find_in_path("qemu-storage-daemon");
	struct vdev_sim *sim;
	struct vdev_vu_front *f = NULL;
	uint8_t zero[4096] = {0};
	pid_t pid;
	int fd, rc, tries = 0;

	if (qsd == NULL)
		cr_skip_test("qemu-storage-daemon is not installed (Debian: qemu-system-common)");
	temp_path(sock, sizeof(sock), "qsd.sock");
	temp_path(image, sizeof(image), "qsd.img");
	fd = open(image, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	for (unsigned off = 0; off < DISK_BYTES; off += sizeof(zero))
		cr_assert_eq(write(fd, zero, sizeof(zero)), (ssize_t)sizeof(zero));
	close(fd);
	snprintf(blockdev, sizeof(blockdev),
		 "driver=file,node-name=f0,filename=%s,cache.direct=off", image);
	snprintf(export, sizeof(export),
		 "type=vhost-user-blk,id=e0,node-name=f0,addr.type=unix,addr.path=%s,"
		 "writable=on,num-queues=1",
		 sock);
	char *argv[] = {qsd, "--blockdev", blockdev, "--export", export, NULL};
	cr_assert_eq(posix_spawn(&pid, qsd, NULL, NULL, argv, environ), 0);
	cr_assert(wait_for_socket(sock, pid), "qemu-storage-daemon did not listen");
	sim = shared_sim();
	/* The socket appears at bind(), a moment before listen(). */
	do {
		rc = vdev_vu_front_connect(
			&(struct vdev_vu_front_config){.size = sizeof(struct vdev_vu_front_config),
						       .path = sock, .sim = sim}, &f);
		if (rc == -ECONNREFUSED)
			usleep(10000);
	} while (rc == -ECONNREFUSED && ++tries < 200);
	cr_assert_eq(rc, 0, "connect: %s", strerror(-rc));
	blk_round_trip(f, sim);
	vdev_vu_front_close(f);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	check_file(image);
	unlink(image);
	unlink(sock);
	vdev_sim_destroy(sim);
}

/* ---------------- misbehaving back ends ---------------- */

enum fault {
	F_NONE,
	F_HANG_UP,          /* close right after accepting */
	F_WRONG_REQUEST,    /* answer GET_FEATURES with another request id */
	F_NO_REPLY_FLAG,    /* answer without the reply flag */
	F_HUGE_SIZE,        /* a reply header announcing 1 MiB */
	F_SHORT_FEATURES,   /* a 4-byte GET_FEATURES reply */
	F_SILENT,           /* never answer GET_FEATURES */
	F_CONFIG_REFUSED,   /* GET_CONFIG answered with an empty payload */
	F_CONFIG_WRONG_OFF, /* GET_CONFIG answered for another offset */
	F_NACK_MEM_TABLE,   /* REPLY_ACK with a non-zero status for SET_MEM_TABLE */
	F_HANG_UP_AT_RING,  /* close while the rings are being set up */
};

struct fake {
	char sock[108];
	int lfd;
	enum fault fault;
	pthread_t thread;
};

static bool read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		uint8_t ctl[256];
		struct iovec iov = {(uint8_t *)buf + got, len - got};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
				    .msg_controllen = sizeof(ctl)};
		ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);

		if (n <= 0)
			return false;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int)), x;

			for (int i = 0; i < k; i++) {
				memcpy(&x, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				close(x);
			}
		}
		got += (size_t)n;
	}
	return true;
}

/* A reply header announcing `announced` bytes, followed by `size` bytes of p. */
static void reply_sized(int fd, uint32_t req, uint32_t flags, uint32_t announced, const void *p,
			uint32_t size)
{
	uint32_t hdr[3] = {req, flags, announced};

	/* The front end may already have given up and closed: no SIGPIPE here. */
	(void)!send(fd, hdr, sizeof(hdr), MSG_NOSIGNAL);
	if (size)
		(void)!send(fd, p, size, MSG_NOSIGNAL);
}

static void reply(int fd, uint32_t req, uint32_t flags, const void *p, uint32_t size)
{
	reply_sized(fd, req, flags, size, p, size);
}

/* A vhost-user-blk back end that answers just enough, except for its one fault. */
static void *fake_main(void *arg)
{
	struct fake *fk = arg;
	int fd = accept4(fk->lfd, NULL, NULL, SOCK_CLOEXEC);
	uint8_t payload[512];

	if (fd < 0)
		return NULL;
	if (fk->fault == F_HANG_UP) {
		close(fd);
		return NULL;
	}
	for (;;) {
		uint32_t h[3];
		uint64_t v = 0;

		if (!read_full(fd, h, sizeof(h)) || h[2] > sizeof(payload) ||
		    !read_full(fd, payload, h[2]))
			break;
		switch (h[0]) {
		case 1: /* GET_FEATURES */
			v = VIRTIO_F_VERSION_1 | (1ULL << 30);
			if (fk->fault == F_SILENT)
				continue;
			if (fk->fault == F_WRONG_REQUEST)
				reply(fd, 15, 0x5, &v, 8);
			else if (fk->fault == F_NO_REPLY_FLAG)
				reply(fd, 1, 0x1, &v, 8);
			else if (fk->fault == F_HUGE_SIZE)
				reply_sized(fd, 1, 0x5, 1u << 20, &v, 8);
			else if (fk->fault == F_SHORT_FEATURES)
				reply(fd, 1, 0x5, &v, 4);
			else
				reply(fd, 1, 0x5, &v, 8);
			continue;
		case 15: /* GET_PROTOCOL_FEATURES: MQ, REPLY_ACK, CONFIG */
			v = (1u << 0) | (1u << 3) | (1u << 9);
			reply(fd, 15, 0x5, &v, 8);
			continue;
		case 17: /* GET_QUEUE_NUM */
			v = 1;
			reply(fd, 17, 0x5, &v, 8);
			continue;
		case 24: /* GET_CONFIG */
			if (fk->fault == F_CONFIG_REFUSED) {
				reply(fd, 24, 0x5, NULL, 0);
			} else {
				if (fk->fault == F_CONFIG_WRONG_OFF)
					payload[0] ^= 4;
				reply(fd, 24, 0x5, payload, h[2]);
			}
			continue;
		case 9: /* SET_VRING_ADDR */
			if (fk->fault == F_HANG_UP_AT_RING)
				goto out;
			break;
		case 11: /* GET_VRING_BASE */
			reply(fd, 11, 0x5, payload, 8);
			continue;
		default:
			break;
		}
		if (h[1] & (1u << 3)) { /* NEED_REPLY */
			v = h[0] == 5 && fk->fault == F_NACK_MEM_TABLE ? 1 : 0;
			reply(fd, h[0], 0x5, &v, 8);
		}
	}
out:
	close(fd);
	return NULL;
}

static void fake_start(struct fake *fk, enum fault fault)
{
	temp_path(fk->sock, sizeof(fk->sock), "fake.sock");
	fk->lfd = listen_unix(fk->sock);
	fk->fault = fault;
	cr_assert_eq(pthread_create(&fk->thread, NULL, fake_main, fk), 0);
}

static void fake_stop(struct fake *fk)
{
	pthread_join(fk->thread, NULL);
	close(fk->lfd);
	unlink(fk->sock);
}

/* Connect (and, for later faults, go on as far as start) against one fault. */
static int against(enum fault fault, int stage)
{
	struct fake fk;
	struct vdev_sim *sim = shared_sim();
	struct vdev_vu_front *f = NULL;
	uint64_t cap;
	int rc;

	fake_start(&fk, fault);
	rc = vdev_vu_front_connect(
		&(struct vdev_vu_front_config){.size = sizeof(struct vdev_vu_front_config),
					       .path = fk.sock, .sim = sim, .timeout_ms = 300},
		&f);
	if (rc == 0 && stage >= 1)
		rc = vdev_vu_front_get_config(f, 0, &cap, sizeof(cap));
	if (rc == 0 && stage >= 2)
		rc = vdev_vu_front_start(f, 0, 1, 64, NULL);
	if (rc == 0)
		cr_assert_eq(stage, 2);
	vdev_vu_front_close(f);
	fake_stop(&fk);
	vdev_sim_destroy(sim);
	return rc;
}

Test(vu_front, a_well_behaved_fake_gets_through)
{
	cr_assert_eq(against(F_NONE, 2), 0);
}

Test(vu_front, broken_replies_are_errors)
{
	cr_assert_eq(against(F_HANG_UP, 0), -EPIPE);
	cr_assert_eq(against(F_WRONG_REQUEST, 0), -EPROTO);
	cr_assert_eq(against(F_NO_REPLY_FLAG, 0), -EPROTO);
	cr_assert_eq(against(F_HUGE_SIZE, 0), -EPROTO);
	cr_assert_eq(against(F_SHORT_FEATURES, 0), -EPROTO);
	cr_assert_eq(against(F_SILENT, 0), -ETIMEDOUT);
	cr_assert_eq(against(F_CONFIG_REFUSED, 1), -EREMOTEIO);
	cr_assert_eq(against(F_CONFIG_WRONG_OFF, 1), -EPROTO);
	cr_assert_eq(against(F_NACK_MEM_TABLE, 2), -EREMOTEIO);
	cr_assert_eq(against(F_HANG_UP_AT_RING, 2), -EPIPE);
}

Test(vu_front, bad_arguments)
{
	struct vdev_sim *priv = NULL, *sim = shared_sim();
	struct vdev_vu_front *f = (void *)1;
	char sock[108];

	cr_assert_eq(vdev_sim_create(&(struct vdev_sim_config){.size = sizeof(struct vdev_sim_config),
							       .ram_size = RAM_BYTES}, &priv), 0);
	cr_assert_eq(vdev_sim_memfd(priv), -1);
	cr_assert_geq(vdev_sim_memfd(sim), 0);
	cr_assert_eq(vdev_vu_front_connect(NULL, &f), -EINVAL);
	cr_assert_null(f);
	cr_assert_eq(vdev_vu_front_connect(
			     &(struct vdev_vu_front_config){.size = sizeof(struct vdev_vu_front_config),
							    .path = "/nonexistent", .sim = priv},
			     &f),
		     -EINVAL, "RAM that is not shared cannot be handed over");
	temp_path(sock, sizeof(sock), "nobody.sock");
	cr_assert_eq(vdev_vu_front_connect(&(struct vdev_vu_front_config){.size = sizeof(struct vdev_vu_front_config),
									  .path = sock, .sim = sim},
					   &f),
		     -ENOENT);
	cr_assert_null(vdev_vu_front_drv(NULL));
	cr_assert_eq(vdev_vu_front_call_fd(NULL, 0), -1);
	cr_assert_eq(vdev_vu_front_wait(NULL, 0, 0), -EINVAL);
	vdev_vu_front_close(NULL);
	vdev_sim_destroy(priv);
	vdev_sim_destroy(sim);
}
