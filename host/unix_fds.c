/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "unix_fds.h"

void unix_fds_attach(struct msghdr *mh, void *ctl, size_t ctl_size, const int *fds, int nfds)
{
	struct cmsghdr *c;

	if (nfds <= 0 || ctl_size < UNIX_FDS_SPACE((size_t)nfds))
		return;
	memset(ctl, 0, UNIX_FDS_SPACE((size_t)nfds));
	mh->msg_control = ctl;
	mh->msg_controllen = UNIX_FDS_SPACE((size_t)nfds);
	c = CMSG_FIRSTHDR(mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
}
