/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The connector with a real libvdev device model (struct vdev_dev) built by a
 * factory, as vdev-host uses it: virtio-rng reading a file of known bytes, so the
 * bytes that land in guest RAM can be checked. Also the device's own descriptors
 * through the connection's pollfds.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_front.h"
#include "vdev/rng.h"

struct rng_arg {
	char path[64];
	int creates;
};

static int rng_factory(void *arg, struct vmctx *ctx, struct vdev_dev **out)
{
	struct rng_arg *a = arg;
	struct vdev_rng_config cfg = {
		.size = sizeof(struct vdev_rng_config),
		.pci = {.mode = VDEV_PCI_MODERN},
		.path = a->path,
		.wrap = true,
		.queue_size = 64,
	};

	a->creates++;
	return vdev_rng_create(ctx, "rng0", &cfg, out);
}

static void pattern_file(struct rng_arg *a)
{
	uint8_t b[256];
	int fd;

	snprintf(a->path, sizeof(a->path), "/tmp/vu-rng-XXXXXX");
	fd = mkstemp(a->path);
	cr_assert_geq(fd, 0);
	for (int i = 0; i < 256; i++)
		b[i] = (uint8_t)i;
	cr_assert_eq(write(fd, b, sizeof(b)), (ssize_t)sizeof(b));
	close(fd);
}

Test(vhost_user_vdev, rng_fills_guest_buffers_from_its_source)
{
	struct rng_arg a = {0};
	struct fake_front ff;
	uint32_t id, len;
	uint16_t head;
	const uint8_t *out;

	pattern_file(&a);
	ff_open_factory(&ff, rng_factory, &a);
	cr_assert_eq(a.creates, 1);
	cr_assert_not_null(vhost_user_conn_device(ff.conn));
	cr_assert_eq(vdev_dev_type(vhost_user_conn_device(ff.conn)), VIRTIO_TYPE_ENTROPY);
	cr_assert_eq(ff_get_u64(&ff, VU_GET_QUEUE_NUM), 1);
	ff_negotiate(&ff, true);
	ff_mem_table_default(&ff);
	ff_setup_ring(&ff, 0, 0, true);
	head = ff_post(&ff, 0, NULL, 0, 100);
	ff_kick(&ff, 0);
	ff_pump(&ff);
	cr_assert_eq(ff.last_rc, 0);
	cr_assert_geq(ff_call_take(&ff, 0), 1);
	cr_assert_eq(ff_used(&ff, 0, &id, &len), 1);
	cr_assert_eq(id, head);
	cr_assert_eq(len, 100);
	out = ff_out_buf(&ff, 0, head);
	for (int i = 0; i < 100; i++)
		cr_assert_eq(out[i], (uint8_t)i, "byte %d", i);
	/* The second request continues in the file. */
	head = ff_post(&ff, 0, NULL, 0, 10);
	ff_kick(&ff, 0);
	ff_pump(&ff);
	cr_assert_eq(ff_used(&ff, 0, &id, &len), 1);
	cr_assert_eq(len, 10);
	cr_assert_eq(ff_out_buf(&ff, 0, head)[0], 100);
	ff_close(&ff);
	unlink(a.path);
}

static int failing_factory(void *arg, struct vmctx *ctx, struct vdev_dev **out)
{
	(void)arg;
	(void)ctx;
	(void)out;
	return -ENODEV;
}

Test(vhost_user_vdev, a_failing_factory_leaves_the_socket_to_the_caller)
{
	int before = fx_count_fds();
	struct vhost_user_conn *conn = NULL;
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(vhost_user_conn_create(sv[1], failing_factory, NULL, NULL, NULL, &conn),
		     -ENODEV);
	cr_assert_null(conn);
	cr_assert_eq(vhost_user_conn_create(sv[1], NULL, NULL, NULL, NULL, &conn), -EINVAL);
	cr_assert_eq(vhost_user_conn_create_ops(-1, &ff_echo_ops, NULL, NULL, NULL, &conn),
		     -EINVAL);
	close(sv[0]);
	close(sv[1]);
	cr_assert_eq(fx_count_fds(), before);
}
