/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Recording traces, the host's side and the recorder's own contract: host resets and
 * controls are records of their own; write errors and max_bytes stop the recorder and
 * vdev_trace_stop() says so; a device with a recorder behaves exactly as one without;
 * a device destroyed with its recorder attached leaves a whole file behind.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace_rig.h"

/* ---------------- host entry points ---------------- */

Test(trace_record, host_resets_and_controls_are_records_of_their_own)
{
	struct rig_opts o = blk_modern;
	const struct vdev_trace_rec *r;
	struct decoded d;
	size_t i;
	struct rig g;

	rig_open(&g, &o);
	cr_assert_eq(vdev_drv_reset(g.drv), 0); /* the guest's: a status write */
	virtio_reset_dev(vdev_dev_virtio(g.dev)); /* the host's */
	cr_assert_eq(vdev_blk_resize(g.dev, 2u << 20), 0);
	vdev_dev_poll(g.dev);
	cr_assert_eq(vdev_virtio_queue_notify(vdev_dev_virtio(g.dev), 0), -EINVAL);
	rig_stop(&g, 0, &d);

	cr_assert_eq(count_between(&d, SIZE_MAX, d.n, VDEV_TR_RESET), 1,
		     "a reset inside a status write is part of that write");
	i = last_access(&d);
	r = &d.r[i];
	cr_assert_eq(r->kind, VDEV_TR_NOTIFY);
	cr_assert_eq(r->queue, 0);
	i = access_before(&d, i);
	cr_assert_eq(d.r[i].kind, VDEV_TR_POLL);
	i = access_before(&d, i);
	r = &d.r[i];
	cr_assert_eq(r->kind, VDEV_TR_HOST);
	cr_assert_eq(r->width, VDEV_TR_HOST_BLK_RESIZE);
	cr_assert_eq(r->addr, 2u << 20);
	i = access_before(&d, i);
	cr_assert_eq(d.r[i].kind, VDEV_TR_RESET);
	r = &d.r[access_before(&d, i)];
	cr_assert(r->kind == VDEV_TR_BAR_READ || r->kind == VDEV_TR_BAR_WRITE,
		  "the guest reset's register accesses come before the host's reset");
	decoded_free(&d);
	rig_close(&g);
}

/* ---------------- the recorder's own contract ---------------- */

Test(trace_record, write_errors_stop_recording_and_are_reported_once)
{
	struct rig_opts o = blk_modern;
	int p[2];
	struct rig g;

	signal(SIGPIPE, SIG_IGN);
	cr_assert_eq(pipe(p), 0);
	o.trace_fd = p[1];
	rig_open(&g, &o);
	close(p[1]);
	close(p[0]); /* from now on every write fails with EPIPE */
	/* Far more than one buffer of records: the writer meets the error while recording. */
	for (int i = 0; i < 20000; i++)
		cr_assert_eq(vdev_drv_region_read(g.drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_NUMQ,
						  2),
			     1, "the device stopped answering at read %d", i);
	cr_assert_eq(g.trace_log_lines, 1, "%d log lines about the trace", g.trace_log_lines);
	blk_request(&g, VDEV_BLK_T_IN, 0, 512, false, 0, NULL);
	cr_assert_eq(g.held.n, 1, "the device stopped serving");
	rig_stop(&g, -EPIPE, NULL);
	cr_assert_eq(g.trace_log_lines, 1);
	rig_close(&g);
}

Test(trace_record, max_bytes_is_honoured)
{
	struct rig_opts o = blk_modern;
	struct decoded d;
	uint64_t at_limit;
	struct rig g;

	o.max_bytes = 4096;
	rig_open(&g, &o);
	for (int i = 0; i < 2000; i++)
		vdev_drv_region_read(g.drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_NUMQ, 2);
	at_limit = vdev_trace_bytes(g.trace);
	cr_assert_leq(at_limit, 4096);
	cr_assert_gt(at_limit, 4096 - 64, "stopped at %llu, well before the limit",
		     (unsigned long long)at_limit);
	vdev_drv_region_read(g.drv, VDEV_DRV_REGION_COMMON, VIRTIO_COMMON_NUMQ, 2);
	cr_assert_eq(vdev_trace_bytes(g.trace), at_limit);
	cr_assert_eq(g.trace_log_lines, 1);
	rig_stop(&g, -EFBIG, &d); /* decodes strictly: only whole records were written */
	cr_assert_eq(d.len, at_limit);
	decoded_free(&d);
	rig_close(&g);
}

/* One fixed workload: requests of every kind, completions, a reset, more requests. */
static void workload(struct rig *g)
{
	void *token;
	uint32_t len;

	/* Five chains of three descriptors fill the 16-entry ring. */
	for (int i = 0; i < 4; i++)
		blk_request(g, i % 2 ? VDEV_BLK_T_OUT : VDEV_BLK_T_IN, (uint64_t)i * 8, 4096,
			    i % 2, (uint8_t)i, NULL);
	blk_request(g, VDEV_BLK_T_GET_ID, 0, 20, false, 0, NULL);
	held_release(&g->held, 0);
	vdev_dev_poll(g->dev);
	while (vdev_drv_dequeue(g->drv, 0, &token, &len) == 1)
		;
	(void)vdev_drv_read_isr(g->drv);
	blk_request(g, VDEV_BLK_T_FLUSH, 0, 0, false, 0, NULL);
	held_release(&g->held, -EIO);
	vdev_dev_poll(g->dev);
	cr_assert_eq(vdev_drv_reset(g->drv), 0);
	cr_assert_eq(vdev_drv_negotiate(g->drv, ~0ull, NULL), 0);
	cr_assert_eq(vdev_drv_queue_setup(g->drv, 0, QSIZE, VIRTIO_MSI_NO_VECTOR), 0);
	cr_assert_eq(vdev_drv_driver_ok(g->drv), 0);
	blk_request(g, VDEV_BLK_T_OUT, 100, 512, true, 0x77, NULL);
	held_release(&g->held, 0);
	vdev_dev_poll(g->dev);
}

Test(trace_record, a_traced_device_behaves_like_an_untraced_one)
{
	struct rig_opts traced = blk_modern, plain = blk_modern;
	struct vdev_virtio_stats vs[2];
	struct vdev_dev_stats ds[2];
	struct vdev_sim_irqs irq[2];
	struct rig g[2];
	struct decoded d;

	plain.no_trace = true;
	rig_open(&g[0], &traced);
	rig_open(&g[1], &plain);
	for (int i = 0; i < 2; i++) {
		workload(&g[i]);
		vdev_dev_get_stats(g[i].dev, &ds[i]);
		vdev_virtio_get_stats(vdev_dev_virtio(g[i].dev), &vs[i]);
		vdev_sim_get_irqs(g[i].sim, &irq[i]);
	}
	cr_assert_gt(ds[0].requests, 0);
	cr_assert_eq(memcmp(&ds[0], &ds[1], sizeof(ds[0])), 0, "device counters differ");
	cr_assert_eq(memcmp(&vs[0], &vs[1], sizeof(vs[0])), 0, "virtio counters differ");
	cr_assert_eq(irq[0].intx_raises, irq[1].intx_raises);
	cr_assert_eq(irq[0].intx_level, irq[1].intx_level);
	/* Same guest RAM, byte for byte: rings, used entries, data, status bytes. */
	cr_assert_eq(memcmp(vdev_sim_ptr(g[0].sim, 0, RAM_SIZE),
			    vdev_sim_ptr(g[1].sim, 0, RAM_SIZE), RAM_SIZE),
		     0, "guest RAM differs");
	rig_stop(&g[0], 0, &d);
	cr_assert_gt(d.n, 100u);
	decoded_free(&d);
	rig_close(&g[0]);
	rig_close(&g[1]);
}

Test(trace_record, destroying_the_device_leaves_a_whole_trace)
{
	struct rig_opts o = rng_modern;
	struct decoded d;
	uint8_t *buf;
	struct rig g;

	rig_open(&g, &o);
	rng_kick(&g, 32, &buf);
	vdev_drv_close(g.drv);
	g.drv = NULL;
	vdev_dev_destroy(g.dev);
	g.dev = NULL;
	/* The recorder outlives the device: stop flushes and closes. */
	cr_assert_eq(vdev_trace_add_ram(g.trace, 1ull << 32, 4096), 0);
	rig_stop(&g, 0, &d);
	cr_assert_eq(d.r[d.n - 1].kind, VDEV_TR_RAM);
	cr_assert_neq(last_notify(&d), SIZE_MAX);
	decoded_free(&d);
	rig_close(&g);
}

Test(trace_record, ram_regions_are_declared_once)
{
	struct rig_opts o = rng_modern;
	struct decoded d;
	size_t first;
	struct rig g;

	rig_open(&g, &o);
	cr_assert_eq(vdev_trace_add_ram(g.trace, 0, RAM_SIZE), 0);      /* again: nothing */
	cr_assert_eq(vdev_trace_add_ram(g.trace, 4096, 4096), 0);       /* inside: nothing */
	cr_assert_eq(vdev_trace_add_ram(g.trace, RAM_SIZE - 4096, 3 * 4096), 0); /* the tail */
	cr_assert_eq(vdev_trace_add_ram(g.trace, 0x100000000ull, 1 << 20), 0);
	cr_assert_eq(vdev_trace_add_ram(g.trace, 0, 0), -EINVAL);
	cr_assert_eq(vdev_trace_add_ram(g.trace, UINT64_MAX - 10, 100), -EINVAL);
	cr_assert_eq(vdev_trace_add_ram(NULL, 0, 4096), -EINVAL);
	rig_stop(&g, 0, &d);
	first = 0;
	while (d.r[first].kind != VDEV_TR_RAM)
		first++;
	cr_assert_eq(count_between(&d, SIZE_MAX, d.n, VDEV_TR_RAM), 3);
	for (size_t i = first + 1; i < d.n; i++) {
		if (d.r[i].kind != VDEV_TR_RAM)
			continue;
		if (d.r[i].addr == RAM_SIZE)
			cr_assert_eq(d.r[i].value, 2 * 4096, "only the part not declared yet");
		else
			cr_assert_eq(d.r[i].addr, 0x100000000ull);
	}
	decoded_free(&d);
	rig_close(&g);
}

Test(trace_record, start_refuses_what_it_cannot_record)
{
	struct rig_opts o = rng_modern;
	struct vdev_trace_config tc = {.size = sizeof(struct vdev_trace_config),
				       .path = "/nonexistent-dir/trace.bin"};
	struct vdev_trace *t = (struct vdev_trace *)&tc, *first = NULL;
	char path[] = "/tmp/vdev-trace-test-XXXXXX";
	struct stat st;
	off_t size;
	int fd;
	struct rig g;

	o.no_trace = true;
	rig_open(&g, &o);
	cr_assert_eq(vdev_trace_start(g.dev, &tc, &t), -ENOENT);
	cr_assert_null(t);
	cr_assert_eq(vdev_trace_start(NULL, &tc, &t), -EINVAL);
	cr_assert_eq(vdev_trace_start(g.dev, NULL, &t), -EINVAL);
	cr_assert_eq(vdev_trace_start(g.dev, &tc, NULL), -EINVAL);
	tc = (struct vdev_trace_config){.size = sizeof(struct vdev_trace_config), .fd = -1};
	cr_assert_eq(vdev_trace_start(g.dev, &tc, &t), -EINVAL);

	fd = mkstemp(path);
	cr_assert(fd >= 0);
	close(fd);
	tc = (struct vdev_trace_config){.size = sizeof(struct vdev_trace_config), .path = path};
	cr_assert_eq(vdev_trace_start(g.dev, &tc, &first), 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	size = st.st_size;
	cr_assert_gt(size, VDEV_TRACE_HEADER_LEN, "the set-up records are written at once");
	/* One recorder per device; the second attempt does not even truncate the file. */
	cr_assert_eq(vdev_trace_start(g.dev, &tc, &t), -EINVAL);
	cr_assert_null(t);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, size);
	cr_assert_eq(vdev_trace_stop(first), 0);
	cr_assert_eq(vdev_trace_stop(NULL), 0);
	unlink(path);
	rig_close(&g);
}
