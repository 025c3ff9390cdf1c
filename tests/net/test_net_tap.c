/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-net over a real Linux tap device. Each test forks a child that moves into a
 * private network namespace (unshare(CLONE_NEWNET)), so the tap and every frame stay
 * inside it; the child creates the tap through the backend, brings it up, and uses an
 * AF_PACKET socket on it to see the guest's TX frames and to inject frames the guest
 * must receive. Without /dev/net/tun or the rights to use it the test fails, loudly.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net_guest.h"

#define TAP_NAME "vdevtap0"
#define ETHERTYPE_TEST 0x88B5

static const uint8_t BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t PEER_MAC[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};

#define CHECK(cond, ...)                                                                 \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "tap test: " __VA_ARGS__);                       \
			fprintf(stderr, " (line %d, errno %s)\n", __LINE__, strerror(errno)); \
			return 1;                                                        \
		}                                                                        \
	} while (0)

static int set_up(const char *name)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	rc = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (rc == 0) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	rc = rc < 0 ? -errno : 0;
	close(s);
	return rc;
}

/* Quiet the namespace's own IPv6 chatter on the tap; harmless when it fails. */
static void no_ipv6(const char *name)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		(void)!write(fd, "1", 1);
		close(fd);
	}
}

static int packet_socket(int ifindex)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET,
				  .sll_protocol = htons(ETH_P_ALL),
				  .sll_ifindex = ifindex};
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));

	if (s < 0)
		return -1;
	if (bind(s, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		close(s);
		return -1;
	}
	return s;
}

/* Wait for a frame equal to want[0..len) on the packet socket (others are skipped). */
static bool packet_wait(int s, const uint8_t *want, size_t len, int timeout_ms)
{
	static uint8_t buf[65536];

	for (int waited = 0; waited < timeout_ms; waited += 10) {
		struct pollfd p = {.fd = s, .events = POLLIN};
		ssize_t r;

		if (poll(&p, 1, 10) <= 0)
			continue;
		while ((r = recv(s, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
			if ((size_t)r == len && memcmp(buf, want, len) == 0)
				return true;
	}
	return false;
}

struct rx_cond {
	struct net_guest *g;
	uint8_t *want;
	size_t len;
	bool found;
};

/* Pump condition: the guest received the wanted frame (other frames are consumed). */
static bool guest_got(void *arg)
{
	struct rx_cond *c = arg;
	static uint8_t in[65536];
	struct vdev_net_hdr h;
	size_t got;

	while (ng_recv(c->g, 0, &h, in, sizeof(in), &got, NULL, true, 2048) == 1)
		if (got == c->len && memcmp(in, c->want, got) == 0)
			c->found = true;
	return c->found;
}

static int tap_roundtrip(const struct fx_mode *m, uint64_t wanted)
{
	struct vdev_net_tap_config tc = {.size = sizeof(struct vdev_net_tap_config),
					 .ifname = TAP_NAME};
	struct vdev_net_config cfg = {.size = sizeof(struct vdev_net_config)};
	struct vdev_net_backend be;
	struct net_guest g;
	uint8_t out[300], mac[6];
	int rc, ifindex, ps;
	struct rx_cond cond;

	rc = vdev_net_backend_tap(&tc, &be);
	CHECK(rc == 0, "open tap: %d", rc);
	CHECK(be.tx_offloads & VDEV_NET_OFFLOAD_CSUM, "tap offers no checksum offload");
	ifindex = (int)if_nametoindex(TAP_NAME);
	CHECK(ifindex > 0, "tap interface missing");
	no_ipv6(TAP_NAME);
	CHECK(set_up(TAP_NAME) == 0, "bringing the tap up failed");
	ps = packet_socket(ifindex);
	CHECK(ps >= 0, "AF_PACKET socket");
	cfg.backend = &be;
	rc = ng_open(&g, "tapnet", m, false, &cfg);
	CHECK(rc == 0, "device create: %d", rc);
	CHECK(ng_ready(&g, wanted, 1) == 0, "ready");
	CHECK((g.fx.features & VIRTIO_NET_F_CSUM) && (g.fx.features & VIRTIO_NET_F_HOST_TSO4) &&
		      (g.fx.features & VIRTIO_NET_F_GUEST_CSUM),
	      "offloads not offered with a tap: %llx", (unsigned long long)g.fx.features);
	CHECK(ng_post_rx(&g, 0, 32, 2048) == 32, "post rx");

	/* Guest TX appears on the tap. */
	ng_mac(&g, mac);
	ng_frame(out, BCAST, mac, sizeof(out), 42);
	CHECK(ng_send(&g, 0, NULL, out, sizeof(out), true) == 0, "send");
	CHECK(packet_wait(ps, out, sizeof(out), 2000), "guest frame not seen on the tap");
	CHECK(ng_tx_done(&g, 0) == 1, "TX completion");

	/* A frame sent into the tap reaches the guest. */
	ng_frame(out, mac, PEER_MAC, sizeof(out), 77);
	CHECK(send(ps, out, sizeof(out), 0) == (ssize_t)sizeof(out), "inject");
	cond = (struct rx_cond){&g, out, sizeof(out), false};
	CHECK(ng_pump(&g.fx.dev, 1, guest_got, &cond, 2000), "injected frame not received");

	/* A partial checksum from the guest is accepted by the kernel. */
	{
		struct vdev_net_hdr h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					 .csum_start = 34,
					 .csum_offset = 6};
		struct vdev_net_stats st;

		ng_frame(out, BCAST, mac, sizeof(out), 43);
		CHECK(ng_send(&g, 0, &h, out, sizeof(out), true) == 0, "send csum");
		CHECK(vdev_net_get_stats(g.fx.dev, &st) == 0 && st.tx_frames == 2 &&
			      st.tx_backend_err == 0,
		      "tap refused a partial-checksum frame");
	}
	close(ps);
	ng_close(&g);
	/* Not persistent: the interface went away with the device. */
	CHECK(if_nametoindex(TAP_NAME) == 0, "tap still exists after close");
	return 0;
}

static int tap_multiqueue(void)
{
	struct vdev_net_tap_config tc = {.size = sizeof(struct vdev_net_tap_config),
					 .ifname = TAP_NAME, .queues = 2, .persistent = true};
	struct vdev_net_config cfg = {.size = sizeof(struct vdev_net_config), .queue_pairs = 2};
	struct vdev_net_backend be;
	struct net_guest g;
	int rc;

	rc = vdev_net_backend_tap(&tc, &be);
	CHECK(rc == 0, "open multiqueue tap: %d", rc);
	CHECK(be.nqueues == 2, "queues");
	cfg.backend = &be;
	rc = ng_open(&g, "tapmq", &fx_modes[1], false, &cfg);
	CHECK(rc == 0, "device create: %d", rc);
	CHECK(ng_ready(&g, VIRTIO_NET_F_MQ | VIRTIO_NET_F_CTRL_VQ, 2) == 0, "ready");
	{
		uint16_t v = 2;

		CHECK(ng_ctrl(&g, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &v, 2) ==
			      VIRTIO_NET_OK,
		      "pairs set");
	}
	ng_close(&g);
	CHECK(if_nametoindex(TAP_NAME) != 0, "persistent tap removed");
	/* Reopen and make it non-persistent again so it goes away. */
	tc.persistent = false;
	tc.queues = 1;
	{
		int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
		struct ifreq ifr;

		CHECK(fd >= 0, "tun");
		memset(&ifr, 0, sizeof(ifr));
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", TAP_NAME);
		CHECK(ioctl(fd, TUNSETIFF, &ifr) == 0, "reattach");
		CHECK(ioctl(fd, TUNSETPERSIST, 0UL) == 0, "unpersist");
		close(fd);
	}
	CHECK(if_nametoindex(TAP_NAME) == 0, "tap left behind");
	return 0;
}

/* Run fn in a child inside a fresh network namespace; its exit status. */
static int in_netns(int (*fn)(const void *), const void *arg)
{
	pid_t pid = fork();
	int status = 0;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0) {
			fprintf(stderr, "tap test: unshare(CLONE_NEWNET): %s\n", strerror(errno));
			_exit(2);
		}
		if (access("/dev/net/tun", R_OK | W_OK) < 0) {
			fprintf(stderr, "tap test: /dev/net/tun unusable: %s\n", strerror(errno));
			_exit(3);
		}
		_exit(fn(arg));
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int run_roundtrip(const void *arg)
{
	const struct fx_mode *m = arg;
	uint64_t want = VIRTIO_NET_F_MAC | VIRTIO_NET_F_CSUM | VIRTIO_NET_F_GUEST_CSUM |
			VIRTIO_NET_F_HOST_TSO4 | VIRTIO_NET_F_GUEST_TSO4 | VIRTIO_NET_F_MRG_RXBUF;

	return tap_roundtrip(m, want);
}

static int run_mq(const void *arg)
{
	(void)arg;
	return tap_multiqueue();
}

Test(net_tap, frames_both_ways_through_a_tap)
{
	for (int i = 0; i < FX_NMODES_TRANSITIONAL; i++) {
		int rc = in_netns(run_roundtrip, &fx_modes[i]);

		cr_assert_eq(rc, 0, "%s: tap round trip failed (%d), see stderr", fx_modes[i].name,
			     rc);
	}
}

Test(net_tap, multiqueue_and_persistent_tap)
{
	cr_assert_eq(in_netns(run_mq, NULL), 0, "see stderr");
}
