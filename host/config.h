/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vdev-host's configuration: the JSON file turned into plain structs, validated in
 * full before anything is opened, created or written. docs/config.md is the reference.
 */
#ifndef VDEV_HOST_CONFIG_H
#define VDEV_HOST_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#include "vdev/vdev.h"

#define HOST_ID_MAX 32
#define HOST_SOCK_MAX (sizeof(((struct sockaddr_un *)0)->sun_path))
#define HOST_MAX_DEVICES 64
/* A trace path leaves room for the ".N" suffix of later connections. */
#define HOST_TRACE_PATH_MAX (PATH_MAX - 16)

enum host_dev_type { HOST_DEV_BLK, HOST_DEV_NET, HOST_DEV_CONSOLE, HOST_DEV_RNG };
enum host_conn_type { HOST_CONN_PROXY, HOST_CONN_VHOST_USER };
enum host_console_backend { HOST_CONSOLE_FILE, HOST_CONSOLE_STDIO, HOST_CONSOLE_PTY };

struct host_blk_config {
	char path[PATH_MAX];  /* empty with null_size */
	uint64_t null_size;   /* > 0: the null backend of this many bytes instead of a file */
	bool readonly;
	char serial[21];
	uint16_t num_queues;
	uint16_t queue_size;
	uint32_t blk_size;
	bool discard;
	bool write_zeroes;
};

struct host_net_config {
	bool has_mac;
	uint8_t mac[6];
	char ifname[16]; /* tap backend */
	uint16_t mtu;
	uint16_t queue_pairs;
};

struct host_console_config {
	enum host_console_backend backend;
	char path[PATH_MAX]; /* file backend */
};

struct host_rng_config {
	char path[PATH_MAX]; /* "" for getrandom */
	uint32_t max_request_bytes;
	uint64_t rate_bytes_per_sec;
};

struct host_dev_config {
	char id[HOST_ID_MAX];
	enum host_dev_type type;
	struct vdev_virtio_pci_config pci;
	enum host_conn_type conn;
	char socket[HOST_SOCK_MAX];
	/* "trace": {"path": FILE}: record each connection's device (qemu-proxy only). */
	bool trace;
	char trace_path[HOST_TRACE_PATH_MAX];
	union {
		struct host_blk_config blk;
		struct host_net_config net;
		struct host_console_config console;
		struct host_rng_config rng;
	} u;
};

struct host_config {
	struct host_dev_config *devs;
	int ndevs;
	enum vdev_log_level log_level;
};

/*
 * Read and validate `path`. On failure returns a negative errno and writes one line
 * into err naming the JSON path and the reason (e.g. `devices[1].pci.mode: must be one
 * of "legacy", "modern", "transitional"`); nothing has been opened or created.
 */
int host_config_load(const char *path, struct host_config *out, char *err, size_t errlen);
/* The same from a string (tests, --check-config of stdin). */
int host_config_parse(const char *json, struct host_config *out, char *err, size_t errlen);
void host_config_free(struct host_config *cfg);

const char *host_dev_type_name(enum host_dev_type t);
const char *host_conn_type_name(enum host_conn_type t);

#endif
