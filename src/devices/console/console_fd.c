/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The default console backends: a pair of file descriptors (stdio, sockets, pipes, a
 * pty, a log file). Every call is non-blocking: sockets through MSG_DONTWAIT, other
 * fds that can block through O_NONBLOCK (restored on release). Writes never raise
 * SIGPIPE: sockets use MSG_NOSIGNAL, pipes write with SIGPIPE blocked in the calling
 * thread and consume the signal they caused.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "devices/console/console_internal.h"
#include "util/common.h"

enum fd_kind {
	FD_SOCKET, /* MSG_DONTWAIT / MSG_NOSIGNAL per call */
	FD_FILE,   /* regular file: never blocks, never EPIPE */
	FD_OTHER,  /* pipe, FIFO, terminal: O_NONBLOCK, SIGPIPE blocked around writes */
};

struct fd_end {
	int fd;
	enum fd_kind kind;
	int saved_flags; /* flags to restore on release, or -1 */
};

struct fd_backend {
	struct fd_end in, out;
	int extra_fd; /* the pty slave we keep open, or -1 */
	bool close_fds;
};

static ssize_t neg_errno(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno;
}

/*
 * A chain may carry more buffers than one system call takes (IOV_MAX, 1024 on Linux);
 * these are byte streams, so the first FD_IOV_MAX buffers go now and the device's loop,
 * which already handles short transfers, comes back for the rest.
 */
#define FD_IOV_MAX 1024

static int fd_iovcnt(int iovcnt)
{
	return iovcnt > FD_IOV_MAX ? FD_IOV_MAX : iovcnt;
}

static ssize_t fd_read(void *opaque, const struct iovec *iov, int iovcnt)
{
	struct fd_backend *b = opaque;
	ssize_t n;

	iovcnt = fd_iovcnt(iovcnt);
	if (b->in.kind == FD_SOCKET) {
		struct msghdr mh = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
		n = recvmsg(b->in.fd, &mh, MSG_DONTWAIT);
	} else {
		n = readv(b->in.fd, iov, iovcnt);
	}
	return n < 0 ? neg_errno() : n;
}

/* writev that cannot kill the process with SIGPIPE, for pipes and terminals. */
static ssize_t writev_nosigpipe(int fd, const struct iovec *iov, int iovcnt)
{
	sigset_t pipe_set, old;
	ssize_t n;
	int err;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	n = writev(fd, iov, iovcnt);
	err = errno;
	if (n < 0 && err == EPIPE && !sigismember(&old, SIGPIPE)) {
		/* Take the SIGPIPE we raised before the mask comes off. */
		struct timespec zero = {0, 0};
		(void)sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = err;
	return n;
}

static ssize_t fd_write(void *opaque, const struct iovec *iov, int iovcnt)
{
	struct fd_backend *b = opaque;
	ssize_t n;

	iovcnt = fd_iovcnt(iovcnt);
	if (b->out.kind == FD_SOCKET) {
		struct msghdr mh = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
		n = sendmsg(b->out.fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	} else if (b->out.kind == FD_FILE) {
		n = writev(b->out.fd, iov, iovcnt);
	} else {
		n = writev_nosigpipe(b->out.fd, iov, iovcnt);
	}
	return n < 0 ? neg_errno() : n;
}

static int fd_poll_fd(void *opaque, short dir)
{
	struct fd_backend *b = opaque;

	return dir == VDEV_POLL_OUT ? b->out.fd : b->in.fd;
}

static void end_restore(struct fd_end *e)
{
	if (e->fd >= 0 && e->saved_flags >= 0)
		(void)fcntl(e->fd, F_SETFL, e->saved_flags);
}

static void fd_release(void *opaque)
{
	struct fd_backend *b = opaque;

	end_restore(&b->in);
	if (b->out.fd != b->in.fd)
		end_restore(&b->out);
	if (b->close_fds) {
		if (b->in.fd >= 0)
			close(b->in.fd);
		if (b->out.fd >= 0 && b->out.fd != b->in.fd)
			close(b->out.fd);
	}
	if (b->extra_fd >= 0)
		close(b->extra_fd);
	free(b);
}

/* Classify an fd and make it non-blocking where that is needed. */
static int end_setup(struct fd_end *e, int fd, const struct fd_end *same)
{
	struct stat st;
	int fl;

	e->fd = fd;
	e->saved_flags = -1;
	e->kind = FD_OTHER;
	if (fd < 0)
		return 0;
	if (same != NULL && same->fd == fd) {
		e->kind = same->kind; /* already set up; restored once */
		return 0;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fstat(fd, &st) < 0)
		return -EBADF;
	if (S_ISSOCK(st.st_mode)) {
		e->kind = FD_SOCKET;
	} else if (S_ISREG(st.st_mode)) {
		e->kind = FD_FILE;
	} else if (!(fl & O_NONBLOCK)) {
		if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
			return -errno;
		e->saved_flags = fl;
	}
	return 0;
}

static void fill_backend(struct vdev_console_backend *out, struct fd_backend *b)
{
	*out = (struct vdev_console_backend){
		.version = VDEV_CONSOLE_BACKEND_VERSION,
		.opaque = b,
		.read = b->in.fd >= 0 ? fd_read : NULL,
		.write = b->out.fd >= 0 ? fd_write : NULL,
		.poll_fd = fd_poll_fd,
		.release = fd_release,
	};
}

VDEV_EXPORT int vdev_console_backend_fds(int in_fd, int out_fd, uint32_t flags,
					 struct vdev_console_backend *out)
{
	struct fd_backend *b;
	int rc;

	if (out == NULL || (in_fd < 0 && out_fd < 0) || (flags & ~VDEV_CONSOLE_FD_CLOSE))
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return -ENOMEM;
	/* Both ends "unset" first, so a failed set-up restores nothing it did not touch. */
	b->in = b->out = (struct fd_end){.fd = -1, .kind = FD_OTHER, .saved_flags = -1};
	b->extra_fd = -1;
	b->close_fds = (flags & VDEV_CONSOLE_FD_CLOSE) != 0;
	rc = end_setup(&b->in, in_fd, NULL);
	if (rc == 0)
		rc = end_setup(&b->out, out_fd, &b->in);
	if (rc < 0) {
		/* Undo what was changed, but the caller still owns the fds. */
		b->close_fds = false;
		fd_release(b);
		return rc;
	}
	fill_backend(out, b);
	return 0;
}

VDEV_EXPORT int vdev_console_backend_stdio(struct vdev_console_backend *out)
{
	return vdev_console_backend_fds(STDIN_FILENO, STDOUT_FILENO, 0, out);
}

VDEV_EXPORT int vdev_console_backend_logfile(const char *path, struct vdev_console_backend *out)
{
	int fd, rc;

	if (path == NULL || out == NULL || path[0] == '\0')
		return -EINVAL;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	rc = vdev_console_backend_fds(-1, fd, VDEV_CONSOLE_FD_CLOSE, out);
	if (rc < 0)
		close(fd);
	return rc;
}

/* Open a pty master in raw mode and its slave; the name goes to name[]. */
static int pty_open(int *master, int *slave, char *name, size_t name_len)
{
	struct termios t;
	int m = -1, s = -1, rc;

	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return -errno;
	if (grantpt(m) < 0 || unlockpt(m) < 0) {
		rc = -errno;
		goto fail;
	}
	rc = ptsname_r(m, name, name_len);
	if (rc != 0) {
		rc = rc == ERANGE ? -ERANGE : -rc;
		goto fail;
	}
	s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0) {
		rc = -errno;
		goto fail;
	}
	/* Raw: no echo of guest output back into the guest, no line editing. */
	if (tcgetattr(s, &t) == 0) {
		cfmakeraw(&t);
		(void)tcsetattr(s, TCSANOW, &t);
	}
	*master = m;
	*slave = s;
	return 0;
fail:
	close(m);
	return rc;
}

VDEV_EXPORT int vdev_console_backend_pty(struct vdev_console_backend *out, char *name,
					 size_t name_len)
{
	int m = -1, s = -1, rc;

	if (out == NULL || name == NULL || name_len == 0)
		return -EINVAL;
	rc = pty_open(&m, &s, name, name_len);
	if (rc < 0)
		return rc;
	rc = vdev_console_backend_fds(m, m, VDEV_CONSOLE_FD_CLOSE, out);
	if (rc < 0) {
		close(m);
		close(s);
		return rc;
	}
	((struct fd_backend *)out->opaque)->extra_fd = s;
	return 0;
}

VDEV_EXPORT void vdev_console_backend_release(struct vdev_console_backend *be)
{
	if (be == NULL)
		return;
	if (be->version != 0 && be->release != NULL)
		be->release(be->opaque);
	memset(be, 0, sizeof(*be));
}
