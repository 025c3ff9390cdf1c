/* SPDX-License-Identifier: BSD-3-Clause */
/* Passing file descriptors on a UNIX socket (SCM_RIGHTS), shared by the connectors. */
#ifndef VDEV_HOST_UNIX_FDS_H
#define VDEV_HOST_UNIX_FDS_H

#include <stddef.h>
#include <sys/socket.h>

/* Room for a control message carrying n descriptors. */
#define UNIX_FDS_SPACE(n) CMSG_SPACE(sizeof(int) * (n))

/*
 * Attach fds[0..nfds) to mh as one SCM_RIGHTS control message built in ctl (at least
 * UNIX_FDS_SPACE(nfds) bytes, suitably aligned). Does nothing when nfds is 0.
 */
void unix_fds_attach(struct msghdr *mh, void *ctl, size_t ctl_size, const int *fds, int nfds);

#endif
