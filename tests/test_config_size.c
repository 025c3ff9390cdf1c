/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Every public *_config struct carries its size so it can grow without a soname bump
 * (src/util/config.h). Each function that takes one refuses a size below the struct's
 * first version (-EINVAL), accepts a caller's longer struct whose extra bytes are zero,
 * and refuses one that sets bytes it does not know (-E2BIG). The PCI layout embedded in
 * every device config grows into reserved room instead, which must be zero.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "util/config.h"
#include "vdev/vdev.h"
#include "vdev/vu_front.h"

#define EXTRA 8 /* how much longer the caller's struct is than the library's */

/* ---------------- the helper itself, on a struct that grew ---------------- */

struct fake_v1 {
	uint32_t size;
	uint32_t a;
	uint16_t b;
};

struct fake_v2 { /* v1 plus a field appended past v1's sizeof */
	uint32_t size;
	uint32_t a;
	uint16_t b;
	uint8_t pad[2];
	uint64_t c;
};

#define FAKE_MIN VDEV_CONFIG_V1_SIZE(struct fake_v2, b)

Test(config_size, an_older_callers_struct_reads_the_new_field_as_zero)
{
	unsigned char caller[sizeof(struct fake_v2)];
	struct fake_v1 old = {.size = sizeof(struct fake_v1), .a = 7, .b = 9};
	struct fake_v2 local;
	char why[VDEV_CONFIG_WHY_LEN];

	/* What lies past the old caller's struct is not the caller's: garbage here. */
	memset(caller, 0xa5, sizeof(caller));
	memcpy(caller, &old, sizeof(old));
	cr_assert_eq(vdev_config_take(&local, sizeof(local), caller, FAKE_MIN, "fake", why,
				      sizeof(why)), 0);
	cr_assert_eq(local.size, sizeof(struct fake_v1));
	cr_assert_eq(local.a, 7);
	cr_assert_eq(local.b, 9);
	cr_assert_eq(local.c, 0, "a field the caller's header lacked reads as the default");
}

Test(config_size, a_newer_callers_struct_is_accepted_until_it_sets_a_new_field)
{
	struct fake_v2 newer = {.size = sizeof(struct fake_v2), .a = 1, .b = 2};
	struct fake_v1 local;
	char why[VDEV_CONFIG_WHY_LEN];

	cr_assert_eq(vdev_config_take(&local, sizeof(local), &newer,
				      VDEV_CONFIG_V1_SIZE(struct fake_v1, b), "fake", why,
				      sizeof(why)), 0);
	cr_assert_eq(local.a, 1);
	cr_assert_eq(local.b, 2);
	newer.c = 1;
	cr_assert_eq(vdev_config_take(&local, sizeof(local), &newer,
				      VDEV_CONFIG_V1_SIZE(struct fake_v1, b), "fake", why,
				      sizeof(why)), -E2BIG);
	cr_assert_not_null(strstr(why, "does not know"), "%s", why);
}

Test(config_size, a_size_below_the_first_version_is_refused_and_says_how_to_fix_it)
{
	struct fake_v2 cfg = {.size = FAKE_MIN - 1};
	struct fake_v2 local;
	char why[VDEV_CONFIG_WHY_LEN];

	cr_assert_eq(vdev_config_take(&local, sizeof(local), &cfg, FAKE_MIN, "fake", why,
				      sizeof(why)), -EINVAL);
	cr_assert_not_null(strstr(why, "set .size = sizeof(struct fake)"), "%s", why);
	cfg.size = FAKE_MIN; /* the first version exactly: trailing padding may be left out */
	cr_assert_eq(vdev_config_take(&local, sizeof(local), &cfg, FAKE_MIN, "fake", why,
				      sizeof(why)), 0);
}

/* ---------------- every function that takes a sized config ---------------- */

/*
 * One function under test. `call` passes cfg (a caller's struct of any length, its
 * size field already set) and returns the function's result, undoing a success.
 */
struct sized_case {
	const char *type;   /* "vdev_blk_config" */
	size_t ours;        /* sizeof the library's struct */
	size_t first;       /* size of the first version */
	const void *good;   /* a config that works, in the library's layout */
	int (*call)(void *arg, const void *cfg);
	void *arg;
	struct vdev_sim *log; /* where the refusal is logged, or NULL when it is not */
};

static void set_size(unsigned char *buf, uint32_t size)
{
	memcpy(buf, &size, sizeof(size));
}

static void check_sizes(const struct sized_case *c)
{
	unsigned char buf[512] __attribute__((aligned(16)));
	char want[128];
	int rc, accepted;

	cr_assert_leq(c->ours + EXTRA, sizeof(buf));
	memset(buf, 0, sizeof(buf));
	memcpy(buf, c->good, c->ours);

	set_size(buf, (uint32_t)c->ours);
	accepted = c->call(c->arg, buf);
	cr_assert(accepted != -EINVAL && accepted != -E2BIG, "%s: the good config fails: %d",
		  c->type, accepted);

	set_size(buf, 0);
	cr_assert_eq(c->call(c->arg, buf), -EINVAL, "%s: size 0", c->type);
	if (c->log != NULL) {
		snprintf(want, sizeof(want), "size: 0 (set .size = sizeof(struct %s))", c->type);
		cr_assert_not_null(strstr(vdev_sim_last_log(c->log), want), "%s: log \"%s\"",
				   c->type, vdev_sim_last_log(c->log));
	}
	set_size(buf, (uint32_t)c->first - 1);
	cr_assert_eq(c->call(c->arg, buf), -EINVAL, "%s: one byte short of version 1", c->type);

	set_size(buf, (uint32_t)(c->ours + EXTRA));
	rc = c->call(c->arg, buf);
	cr_assert_eq(rc, accepted, "%s: a longer struct with zero tail: %d, not %d", c->type, rc,
		     accepted);

	buf[c->ours + EXTRA - 1] = 1;
	cr_assert_eq(c->call(c->arg, buf), -E2BIG, "%s: a longer struct that sets more",
		     c->type);
	if (c->log != NULL)
		cr_assert_not_null(strstr(vdev_sim_last_log(c->log), "does not know"),
				   "%s: log \"%s\"", c->type, vdev_sim_last_log(c->log));
}

#define CASE(T, last, good_, call_, arg_, log_)                                             \
	((struct sized_case){.type = #T,                                                    \
			     .ours = sizeof(struct T),                                      \
			     .first = VDEV_CONFIG_V1_SIZE(struct T, last),                  \
			     .good = (good_),                                               \
			     .call = (call_),                                               \
			     .arg = (arg_),                                                 \
			     .log = (log_)})

static struct vdev_sim *sim_new(bool shared)
{
	struct vdev_sim_config sc = {.size = sizeof(struct vdev_sim_config),
				     .ram_size = 1 << 20, .shared = shared};
	struct vdev_sim *sim;

	cr_assert_eq(vdev_sim_create(&sc, &sim), 0);
	return sim;
}

/* A create that succeeded is destroyed at once: each call starts from nothing. `dev`
 * is read only now, after the create that fills it has run. */
static int done(int rc, struct vdev_dev **dev)
{
	if (rc == 0)
		vdev_dev_destroy(*dev);
	return rc;
}

/* The backends handed over per call: each call makes a fresh one, which a device that
 * took it destroys and which is released here otherwise. */
static struct vdev_blk_backend blk_be;
static struct vdev_net_backend net_be;

static int call_blk(void *arg, const void *cfg)
{
	struct vdev_dev *dev;
	int rc;

	cr_assert_eq(vdev_blk_null_backend(1 << 20, &blk_be), 0);
	rc = vdev_blk_create(vdev_sim_vmctx(arg), "b", cfg, &dev);
	if (rc < 0 && blk_be.destroy)
		blk_be.destroy(blk_be.opaque);
	return done(rc, &dev);
}

static int call_net(void *arg, const void *cfg)
{
	struct vdev_dev *dev;
	int fds[2], rc;

	cr_assert_eq(vdev_net_socketpair(fds), 0);
	cr_assert_eq(vdev_net_backend_socket(fds[0], false, &net_be), 0);
	close(fds[0]);
	close(fds[1]);
	rc = vdev_net_create(vdev_sim_vmctx(arg), "n", cfg, &dev);
	if (rc < 0)
		vdev_net_backend_close(&net_be);
	return done(rc, &dev);
}

static int call_console(void *arg, const void *cfg)
{
	struct vdev_dev *dev;

	return done(vdev_console_create(vdev_sim_vmctx(arg), "c", cfg, &dev), &dev);
}

static int call_rng(void *arg, const void *cfg)
{
	struct vdev_dev *dev;

	return done(vdev_rng_create(vdev_sim_vmctx(arg), "r", cfg, &dev), &dev);
}

static int call_trace(void *arg, const void *cfg)
{
	struct vdev_trace *t;
	int rc = vdev_trace_start(arg, cfg, &t);

	if (rc == 0)
		cr_assert_eq(vdev_trace_stop(t), 0);
	return rc;
}

static int call_sim(void *arg, const void *cfg)
{
	struct vdev_sim *sim;
	int rc = vdev_sim_create(cfg, &sim);

	(void)arg;
	if (rc == 0)
		vdev_sim_destroy(sim);
	return rc;
}

struct drv_arg {
	struct vdev_sim *sim;
	struct vdev_dev *dev;
};

static int call_drv(void *arg, const void *cfg)
{
	struct drv_arg *a = arg;
	struct vdev_drv *drv;
	int rc = vdev_drv_open(a->sim, vdev_dev_pci(a->dev), cfg, &drv);

	if (rc == 0)
		vdev_drv_close(drv);
	return rc;
}

static int call_tap(void *arg, const void *cfg)
{
	struct vdev_net_backend be;
	int rc = vdev_net_backend_tap(cfg, &be);

	(void)arg;
	if (rc == 0)
		vdev_net_backend_close(&be);
	return rc;
}

static int call_vu_front(void *arg, const void *cfg)
{
	struct vdev_vu_front *f;
	int rc = vdev_vu_front_connect(cfg, &f);

	(void)arg;
	if (rc == 0)
		vdev_vu_front_close(f);
	return rc;
}

static struct vdev_dev *rng_on(struct vdev_sim *sim)
{
	struct vdev_rng_config rc = {.size = sizeof(struct vdev_rng_config),
				     .pci = {.mode = VDEV_PCI_MODERN}};
	struct vdev_dev *dev;

	cr_assert_eq(vdev_rng_create(vdev_sim_vmctx(sim), "r", &rc, &dev), 0);
	return dev;
}

Test(config_size, device_creates)
{
	struct vdev_sim *sim = sim_new(false);
	struct vdev_blk_config blk = {.size = sizeof(struct vdev_blk_config),
				      .pci = {.mode = VDEV_PCI_MODERN}, .backend = &blk_be};
	struct vdev_net_config net = {.size = sizeof(struct vdev_net_config),
				      .pci = {.mode = VDEV_PCI_MODERN}, .backend = &net_be};
	struct vdev_console_config con = {.size = sizeof(struct vdev_console_config),
					  .pci = {.mode = VDEV_PCI_MODERN}};
	struct vdev_rng_config rng = {.size = sizeof(struct vdev_rng_config),
				      .pci = {.mode = VDEV_PCI_MODERN}};

	check_sizes(&CASE(vdev_blk_config, writethrough, &blk, call_blk, sim, sim));
	check_sizes(&CASE(vdev_net_config, no_in_order, &net, call_net, sim, sim));
	check_sizes(&CASE(vdev_console_config, no_emerg_write, &con, call_console, sim, sim));
	check_sizes(&CASE(vdev_rng_config, clock_arg, &rng, call_rng, sim, sim));
	vdev_sim_destroy(sim);
}

Test(config_size, trace_start)
{
	struct vdev_sim *sim = sim_new(false);
	struct vdev_dev *dev = rng_on(sim);
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct vdev_trace_config tc = {.size = sizeof(struct vdev_trace_config), .fd = fd};

	cr_assert_geq(fd, 0);
	check_sizes(&CASE(vdev_trace_config, max_bytes, &tc, call_trace, dev, sim));
	close(fd);
	vdev_dev_destroy(dev);
	vdev_sim_destroy(sim);
}

Test(config_size, driver_peer_sim_and_vhost_user_front_end)
{
	struct vdev_sim *sim = sim_new(true);
	struct drv_arg da = {.sim = sim, .dev = rng_on(sim)};
	struct vdev_sim_config sc = {.size = sizeof(struct vdev_sim_config), .ram_size = 1 << 20};
	struct vdev_drv_config dc = {.size = sizeof(struct vdev_drv_config),
				     .access = VDEV_DRV_MODERN};
	/* Nobody listens there: -ENOENT shows the config itself was taken. */
	struct vdev_vu_front_config vc = {.size = sizeof(struct vdev_vu_front_config),
					  .path = "/nonexistent/vdev-config-size.sock",
					  .sim = sim};

	check_sizes(&CASE(vdev_sim_config, shared, &sc, call_sim, NULL, NULL));
	check_sizes(&CASE(vdev_drv_config, io_base, &dc, call_drv, &da, NULL));
	check_sizes(&CASE(vdev_vu_front_config, timeout_ms, &vc, call_vu_front, NULL, NULL));
	vdev_dev_destroy(da.dev);
	vdev_sim_destroy(sim);
}

Test(config_size, tap_backend)
{
	/* Unprivileged the open fails (-EPERM, -ENOENT), privileged it works: either way
	 * past the config, which is what check_sizes() compares against. */
	struct vdev_net_tap_config tc = {.size = sizeof(struct vdev_net_tap_config),
					 .ifname = "vdevcfgsz0"};

	check_sizes(&CASE(vdev_net_tap_config, no_offloads, &tc, call_tap, NULL, NULL));
}

/* ---------------- console ports: an array of sized entries ---------------- */

/* A caller whose header made each port config EXTRA bytes longer than ours. */
struct long_port {
	struct vdev_console_port_config pc;
	unsigned char extra[EXTRA];
};

static int console_with(struct vdev_sim *sim, struct long_port *ports, uint32_t n)
{
	struct vdev_console_config cfg = {.size = sizeof(struct vdev_console_config),
					  .pci = {.mode = VDEV_PCI_MODERN}, .nports = n,
					  .max_nr_ports = 4,
					  .ports = (const struct vdev_console_port_config *)ports};
	struct vdev_dev *dev;

	return done(vdev_console_create(vdev_sim_vmctx(sim), "c", &cfg, &dev), &dev);
}

Test(config_size, console_ports_are_stepped_through_by_their_size)
{
	struct vdev_sim *sim = sim_new(false);
	struct long_port ports[3];

	memset(ports, 0, sizeof(ports));
	for (int i = 0; i < 3; i++)
		ports[i].pc.size = sizeof(struct long_port);
	ports[2].pc.name = "two";
	cr_assert_eq(console_with(sim, ports, 3), 0, "%s", vdev_sim_last_log(sim));

	ports[2].extra[0] = 1;
	cr_assert_eq(console_with(sim, ports, 3), -E2BIG);
	cr_assert_not_null(strstr(vdev_sim_last_log(sim), "ports[2].size"), "%s",
			   vdev_sim_last_log(sim));
	ports[2].extra[0] = 0;

	ports[1].pc.size = sizeof(struct vdev_console_port_config);
	cr_assert_eq(console_with(sim, ports, 3), -EINVAL, "entries of two sizes");
	cr_assert_not_null(strstr(vdev_sim_last_log(sim), "ports[1].size"), "%s",
			   vdev_sim_last_log(sim));

	ports[0].pc.size = ports[1].pc.size = ports[2].pc.size = 0;
	cr_assert_eq(console_with(sim, ports, 3), -EINVAL);
	cr_assert_not_null(strstr(vdev_sim_last_log(sim),
				  "ports[0].size: 0 (set .size = sizeof(struct "
				  "vdev_console_port_config))"),
			   "%s", vdev_sim_last_log(sim));
	vdev_sim_destroy(sim);
}

static unsigned next_port = 1;

static int call_port_add(void *arg, const void *cfg)
{
	struct vdev_dev *dev = arg;
	/* A removed port stays busy until the guest hears of it: a new id each time. */
	unsigned port = next_port++;
	int rc = vdev_console_port_add(dev, port, cfg);

	if (rc == 0)
		cr_assert_eq(vdev_console_port_remove(dev, port), 0);
	return rc;
}

Test(config_size, console_port_add)
{
	struct vdev_sim *sim = sim_new(false);
	struct vdev_console_config cfg = {.size = sizeof(struct vdev_console_config),
					  .pci = {.mode = VDEV_PCI_MODERN},
					  .max_nr_ports = VDEV_CONSOLE_MAX_PORTS};
	struct vdev_console_port_config pc = {.size = sizeof(struct vdev_console_port_config)};
	struct vdev_dev *dev;

	cr_assert_eq(vdev_console_create(vdev_sim_vmctx(sim), "c", &cfg, &dev), 0);
	check_sizes(&CASE(vdev_console_port_config, host_closed, &pc, call_port_add, dev, sim));
	vdev_dev_destroy(dev);
	vdev_sim_destroy(sim);
}

/* ---------------- the PCI layout's reserved room ---------------- */

Test(config_size, pci_reserved_must_be_zero)
{
	struct vdev_sim *sim = sim_new(false);
	struct vdev_virtio_pci_config pci = {.mode = VDEV_PCI_MODERN, .reserved = {0, 0, 0, 1}};
	struct vdev_blk_config blk = {.size = sizeof(struct vdev_blk_config), .pci = pci,
				      .backend = &blk_be};
	struct vdev_net_config net = {.size = sizeof(struct vdev_net_config), .pci = pci,
				      .backend = &net_be};
	struct vdev_console_config con = {.size = sizeof(struct vdev_console_config), .pci = pci};
	struct vdev_rng_config rng = {.size = sizeof(struct vdev_rng_config), .pci = pci};
	struct echo_dev_config ecfg = {.pci = pci};
	struct echo_dev *echo;

	cr_assert_eq(call_blk(sim, &blk), -EINVAL);
	cr_assert_not_null(strstr(vdev_sim_last_log(sim), "pci.reserved"));
	cr_assert_eq(call_net(sim, &net), -EINVAL);
	cr_assert_not_null(strstr(vdev_sim_last_log(sim), "pci.reserved"));
	cr_assert_eq(call_console(sim, &con), -EINVAL);
	cr_assert_not_null(strstr(vdev_sim_last_log(sim), "pci.reserved"));
	cr_assert_eq(call_rng(sim, &rng), -EINVAL);
	cr_assert_not_null(strstr(vdev_sim_last_log(sim), "pci.reserved"));
	/* An ACRN-style device laying itself out with vdev_virtio_pci_init(). */
	cr_assert_eq(echo_dev_create(vdev_sim_vmctx(sim), "e", &ecfg, &echo), -EINVAL);
	cr_assert_not_null(strstr(vdev_sim_last_log(sim), "pci.reserved"));
	vdev_sim_destroy(sim);
}
