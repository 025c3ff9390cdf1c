/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A tiny demonstration device for tests and benchmarks: every chain's readable bytes
 * are copied into its writable bytes, and the used length is what was copied. It is
 * written only against the public API, as an embedder's own device would be.
 *
 * Device config (24 bytes, little-endian):
 *   0  u32 requests   read-only: chains completed since reset
 *   4  u32 scratch    read-write
 *   8  u64 scratch64  read-write
 *   16 u8  id[8]      read-only: "vdevecho"
 */
#ifndef VDEV_TESTS_ECHO_DEV_H
#define VDEV_TESTS_ECHO_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "vdev/vdev.h"

#define ECHO_CFG_REQUESTS 0
#define ECHO_CFG_SCRATCH 4
#define ECHO_CFG_SCRATCH64 8
#define ECHO_CFG_ID 16
#define ECHO_CFG_SIZE 24
#define ECHO_MAX_QUEUES 8
#define ECHO_MAX_IOV 64
#define ECHO_F_TEST (1ULL << 0) /* a device feature bit to negotiate */

/* The default offer: ECHO_F_TEST and every ring feature the core implements. */
#define ECHO_DEFAULT_FEATURES                                                         \
	(ECHO_F_TEST | VIRTIO_RING_F_INDIRECT_DESC | VIRTIO_RING_F_EVENT_IDX |        \
	 VIRTIO_F_NOTIFY_ON_EMPTY)

struct echo_dev_config {
	struct vdev_virtio_pci_config pci; /* pci.mode is required */
	int nvq;                           /* 0: 1 queue */
	uint16_t qsize;                    /* 0: 256 */
	uint64_t features;                 /* 0: ECHO_DEFAULT_FEATURES */
	bool manual;                       /* kicks are counted, not processed */
	bool use_mutex;                    /* set virtio_base.mtx */
};

struct echo_dev {
	struct virtio_base base; /* first, as ACRN devices do */
	struct virtio_vq_info vq[ECHO_MAX_QUEUES];
	struct virtio_ops ops;
	pthread_mutex_t mtx;
	bool manual;
	uint8_t cfg[ECHO_CFG_SIZE];
	/* what the device saw */
	uint64_t kicks;
	uint64_t resets;
	uint64_t applied_features;
	int apply_calls;
	uint64_t last_status;
	uint64_t echoed;     /* chains completed */
	uint64_t chain_errors; /* vq_getchain() returned -1 */
};

int echo_dev_create(struct vmctx *ctx, const char *name, const struct echo_dev_config *cfg,
		    struct echo_dev **out);
void echo_dev_destroy(struct echo_dev *dev);
struct pci_vdev *echo_dev_pci(struct echo_dev *dev);
/* Serve every available chain of queue q, then vq_endchains(). Returns chains served,
 * or -1 when the queue broke. */
int echo_dev_process(struct echo_dev *dev, int q);
/* The host changes the scratch field and tells the guest (virtio_config_changed). */
void echo_dev_host_set_scratch(struct echo_dev *dev, uint32_t val);

#endif
