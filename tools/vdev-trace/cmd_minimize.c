/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `vdev-trace minimize`: shrink a trace while it still shows a problem, by delta
 * debugging over its records (the set-up records DEVICE, PARAM and RAM always stay),
 * then by trimming the bytes of the MEM records that are left.
 *
 * Every candidate runs in a forked child, so a crash is observed, not suffered: the
 * child replays and reports through a pipe; the parent looks at how it ended.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "replay/replay.h"
#include "trace/trace_format.h"
#include "vdev/virtio.h"

/* How a child that replayed to the end reports (any other end is a crash). */
#define CHILD_OK 0
#define CHILD_DIVERGED 10
#define CHILD_ERROR 11

enum goal {
	GOAL_CRASH,      /* the replay dies by a signal or a sanitizer's exit */
	GOAL_DIVERGENCE, /* the same first divergence */
	GOAL_SAME_END,   /* the device ends in the same state */
	GOAL_CMD,        /* a command given the candidate fails */
	GOAL_IDENTICAL,  /* a checking replay still agrees and ends in the same state */
};

/* What a child sends back. */
struct outcome {
	int error;
	bool diverged;
	char message[256];
	uint8_t status;
	uint64_t features;
	struct vdev_dev_stats stats;
};

struct minimizer {
	enum goal goal;
	const char *cmd;
	const char *out_path;
	struct vdev_replay_options o;
	unsigned timeout_s;
	bool trim_only; /* keep every record; only trim MEM payloads */

	struct vdev_trace_rec *recs;
	size_t nrecs;
	bool *pinned;
	uint32_t *mem_len; /* MEM records: bytes kept (trimmed from the end) */

	struct outcome ref; /* what the whole trace shows */
	uint64_t runs;
};

static void minimize_usage(FILE *out)
{
	fprintf(out,
		"usage: vdev-trace minimize [options] IN OUT\n"
		"what must still happen (one of):\n"
		"  --crash        the replay crashes: a signal, or a sanitizer's exit (default)\n"
		"  --divergence   a checking replay reports the same first difference\n"
		"  --same-end     a replay without checking ends with the same status,\n"
		"                 features and counters (shrinks seeds from real guests)\n"
		"  --identical    a checking replay still agrees with the trace and ends in the\n"
		"                 same state (with --trim-only: shrink a recording's payloads\n"
		"                 but keep it a faithful replay, e.g. for seed corpora)\n"
		"  --trim-only    keep every record; only cut MEM payload bytes\n"
		"  --cmd 'CMD {}' the shell command fails; {} is replaced by a candidate file\n"
		"how to replay:\n"
		"  --raw          IN has no file header (a fuzzer's input)\n"
		"  --fuzz         replay as the fuzzers do (lenient, bounded, no checking)\n"
		"  --type TYPE    build blk, net, console or rng whatever the trace says\n"
		"  --mode MODE    legacy, modern or transitional\n"
		"  --cfg-access   every BAR access through the PCI cfg-access capability\n"
		"  --timeout SEC  a candidate running longer does not count (default 60)\n"
		"OUT is a binary trace (with a file header, which fuzzers accept too).\n"
		"Exit status: 0 OUT written, 1 IN itself does not show the problem,\n"
		"2 bad command line, 3 IN unreadable or malformed, or OUT not written.\n");
}

static int parse_type(const char *s)
{
	if (strcmp(s, "blk") == 0)
		return VIRTIO_TYPE_BLOCK;
	if (strcmp(s, "net") == 0)
		return VIRTIO_TYPE_NET;
	if (strcmp(s, "console") == 0)
		return VIRTIO_TYPE_CONSOLE;
	if (strcmp(s, "rng") == 0)
		return VIRTIO_TYPE_ENTROPY;
	return 0;
}

/* ---- candidates ---- */

/* The binary trace of the records kept (set-up records always). NULL on no memory. */
static uint8_t *encode(const struct minimizer *m, const bool *keep, size_t *len)
{
	size_t total = VDEV_TRACE_HEADER_LEN, at;
	uint8_t *buf;

	for (size_t i = 0; i < m->nrecs; i++) {
		struct vdev_trace_rec r = m->recs[i];

		if (!m->pinned[i] && !keep[i])
			continue;
		if (r.kind == VDEV_TR_MEM)
			r.len = m->mem_len[i];
		total += vdev_trace_rec_size(&r);
	}
	buf = malloc(total);
	if (buf == NULL)
		return NULL;
	vdev_trace_header_encode(buf);
	at = VDEV_TRACE_HEADER_LEN;
	for (size_t i = 0; i < m->nrecs; i++) {
		struct vdev_trace_rec r = m->recs[i];

		if (!m->pinned[i] && !keep[i])
			continue;
		if (r.kind == VDEV_TR_MEM)
			r.len = m->mem_len[i];
		at += vdev_trace_rec_encode(&r, buf + at);
	}
	*len = at;
	return buf;
}

static void child_replay(const struct minimizer *m, const uint8_t *buf, size_t len, int fd)
{
	struct vdev_replay_options o = m->o;
	struct vdev_replay_result res;
	struct outcome out;
	int code;

	alarm(m->timeout_s);
	o.check = (m->goal == GOAL_DIVERGENCE || m->goal == GOAL_IDENTICAL) && !o.fuzz;
	(void)vdev_replay_run(buf, len, &o, &res);
	memset(&out, 0, sizeof(out));
	out.error = res.error;
	out.diverged = res.diverged;
	memcpy(out.message, res.message, sizeof(out.message));
	out.status = res.status;
	out.features = res.negotiated_features;
	out.stats = res.stats;
	(void)!write(fd, &out, sizeof(out));
	code = res.error ? CHILD_ERROR : res.diverged ? CHILD_DIVERGED : CHILD_OK;
	_exit(code);
}

/* Run one candidate in a child. Returns the wait status, or -1 when it could not run. */
static int run_child(const struct minimizer *m, const uint8_t *buf, size_t len,
		     struct outcome *out)
{
	int fds[2], status;
	pid_t pid;
	size_t got = 0;

	memset(out, 0, sizeof(*out));
	if (pipe(fds) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		child_replay(m, buf, len, fds[1]);
	}
	close(fds[1]);
	while (got < sizeof(*out)) {
		ssize_t n = read(fds[0], (uint8_t *)out + got, sizeof(*out) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (got != sizeof(*out))
		memset(out, 0, sizeof(*out));
	return status;
}

/* "record 12 (cfg-read ...): ..." without the record number, which changes as records
 * go. */
static const char *divergence_what(const char *msg)
{
	const char *p = strchr(msg, '(');

	return p != NULL ? p : msg;
}

static bool same_end(const struct outcome *a, const struct outcome *b)
{
	return a->status == b->status && a->features == b->features &&
	       memcmp(&a->stats, &b->stats, sizeof(a->stats)) == 0;
}

static bool crashed(int status)
{
	if (WIFSIGNALED(status))
		return WTERMSIG(status) != SIGALRM; /* our timeout is not the bug */
	return WIFEXITED(status) && WEXITSTATUS(status) != CHILD_OK &&
	       WEXITSTATUS(status) != CHILD_DIVERGED && WEXITSTATUS(status) != CHILD_ERROR;
}

static int run_cmd(const struct minimizer *m, const uint8_t *buf, size_t len)
{
	size_t plen = strlen(m->out_path) + sizeof(".cand-XXXXXX");
	char *path = malloc(plen), *line = NULL;
	size_t cap, at = 0;
	int fd, status = -1;

	if (path == NULL)
		return -1;
	snprintf(path, plen, "%s.cand-XXXXXX", m->out_path);
	fd = mkstemp(path);
	if (fd < 0) {
		free(path);
		return -1;
	}
	if (write(fd, buf, len) != (ssize_t)len) {
		close(fd);
		goto out;
	}
	close(fd);
	/* The command with every {} replaced by the candidate's path. */
	cap = strlen(m->cmd) + 1;
	for (const char *p = m->cmd; (p = strstr(p, "{}")) != NULL; p += 2)
		cap += strlen(path);
	line = malloc(cap);
	if (line == NULL)
		goto out;
	for (const char *p = m->cmd; *p;) {
		if (p[0] == '{' && p[1] == '}') {
			memcpy(line + at, path, strlen(path));
			at += strlen(path);
			p += 2;
		} else {
			line[at++] = *p++;
		}
	}
	line[at] = '\0';
	fflush(NULL);
	{
		pid_t pid = fork();

		if (pid == 0) {
			execl("/bin/sh", "sh", "-c", line, (char *)NULL);
			_exit(127);
		}
		if (pid > 0)
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
	}
out:
	unlink(path);
	free(path);
	free(line);
	return status;
}

/* Does the candidate still show the problem? With `ref` non-NULL, also say what the
 * candidate showed (used once, on the whole trace). */
static bool shows(struct minimizer *m, const bool *keep, struct outcome *ref)
{
	struct outcome out;
	uint8_t *buf;
	size_t len;
	int status;
	bool yes = false;

	buf = encode(m, keep, &len);
	if (buf == NULL)
		return false;
	m->runs++;
	if (m->goal == GOAL_CMD) {
		status = run_cmd(m, buf, len);
		free(buf);
		return status != -1 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	status = run_child(m, buf, len, &out);
	free(buf);
	if (status == -1)
		return false;
	if (ref != NULL)
		*ref = out;
	switch (m->goal) {
	case GOAL_CRASH:
		yes = crashed(status);
		break;
	case GOAL_DIVERGENCE:
		yes = WIFEXITED(status) && WEXITSTATUS(status) == CHILD_DIVERGED &&
		      (ref != NULL || strcmp(divergence_what(out.message),
					     divergence_what(m->ref.message)) == 0);
		break;
	case GOAL_SAME_END:
		yes = WIFEXITED(status) && WEXITSTATUS(status) == CHILD_OK &&
		      (ref != NULL || same_end(&out, &m->ref));
		break;
	case GOAL_IDENTICAL:
		yes = WIFEXITED(status) && WEXITSTATUS(status) == CHILD_OK &&
		      (ref != NULL || same_end(&out, &m->ref));
		break;
	case GOAL_CMD:
		break;
	}
	return yes;
}

/* ---- delta debugging ---- */

static size_t count_kept(const struct minimizer *m, const bool *keep)
{
	size_t n = 0;

	for (size_t i = 0; i < m->nrecs; i++)
		n += !m->pinned[i] && keep[i];
	return n;
}

/*
 * Remove chunks of the records still kept, halving the chunk size whenever no chunk
 * can go (ddmin's complement steps). Ends when no single record can be removed.
 */
static void ddmin(struct minimizer *m, bool *keep)
{
	size_t *idx = malloc(m->nrecs * sizeof(*idx));
	bool *trial = malloc(m->nrecs * sizeof(*trial));
	size_t n = 2;

	if (idx == NULL || trial == NULL)
		goto out;
	for (;;) {
		size_t cur = 0, chunk;
		bool removed = false;

		for (size_t i = 0; i < m->nrecs; i++)
			if (!m->pinned[i] && keep[i])
				idx[cur++] = i;
		if (cur == 0)
			break;
		if (n > cur)
			n = cur;
		chunk = (cur + n - 1) / n;
		for (size_t start = 0; start < cur; start += chunk) {
			size_t end = start + chunk < cur ? start + chunk : cur;

			memcpy(trial, keep, m->nrecs * sizeof(*trial));
			for (size_t k = start; k < end; k++)
				trial[idx[k]] = false;
			if (shows(m, trial, NULL)) {
				/* Gone for good; the next chunks are looked at in this round. */
				memcpy(keep, trial, m->nrecs * sizeof(*keep));
				removed = true;
			}
		}
		fprintf(stderr, "minimize: %zu records left (chunks of %zu, %" PRIu64 " runs)\n",
			count_kept(m, keep), chunk, m->runs);
		if (removed) {
			n = n > 2 ? n - 1 : 2;
			continue;
		}
		if (chunk == 1)
			break;
		n *= 2;
	}
out:
	free(idx);
	free(trial);
}

/* Cut MEM records' trailing bytes while the problem stays. */
static void trim_mem(struct minimizer *m, const bool *keep)
{
	size_t trimmed = 0;

	for (size_t i = 0; i < m->nrecs; i++) {
		uint32_t step;

		if (!keep[i] || m->recs[i].kind != VDEV_TR_MEM || m->mem_len[i] == 0)
			continue;
		step = m->mem_len[i] / 2 ? m->mem_len[i] / 2 : 1;
		while (step > 0) {
			uint32_t was = m->mem_len[i];

			if (step > was)
				step = was;
			m->mem_len[i] = was - step;
			if (step > 0 && shows(m, keep, NULL)) {
				trimmed += step;
				continue;
			}
			m->mem_len[i] = was;
			step /= 2;
		}
	}
	fprintf(stderr, "minimize: %zu MEM bytes trimmed (%" PRIu64 " runs)\n", trimmed, m->runs);
}

/* ---- input and output ---- */

static int load_records(struct minimizer *m, const uint8_t *buf, size_t len, bool raw,
			const char *path)
{
	struct vdev_trace_reader rd;
	struct vdev_trace_rec r;
	size_t cap = 0;
	int rc;

	if (vdev_trace_reader_init(&rd, buf, len, raw) < 0) {
		fprintf(stderr, "vdev-trace: minimize: %s: %s\n", path, rd.errmsg);
		return VT_EXIT_IO;
	}
	while ((rc = vdev_trace_next(&rd, &r)) == 1) {
		if (m->nrecs == cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			struct vdev_trace_rec *nr = realloc(m->recs, ncap * sizeof(*nr));

			if (nr == NULL)
				return VT_EXIT_IO;
			m->recs = nr;
			cap = ncap;
		}
		m->recs[m->nrecs++] = r;
	}
	if (rc < 0 && !raw) {
		fprintf(stderr, "vdev-trace: minimize: %s: %s\n", path, rd.errmsg);
		return VT_EXIT_IO;
	}
	m->pinned = calloc(m->nrecs ? m->nrecs : 1, sizeof(*m->pinned));
	m->mem_len = calloc(m->nrecs ? m->nrecs : 1, sizeof(*m->mem_len));
	if (m->pinned == NULL || m->mem_len == NULL)
		return VT_EXIT_IO;
	for (size_t i = 0; i < m->nrecs; i++) {
		uint8_t k = m->recs[i].kind;

		m->pinned[i] = k == VDEV_TR_DEVICE || k == VDEV_TR_PARAM || k == VDEV_TR_RAM;
		m->mem_len[i] = m->recs[i].len;
	}
	return VT_EXIT_OK;
}

static int write_out(const struct minimizer *m, const bool *keep)
{
	size_t len;
	uint8_t *buf = encode(m, keep, &len);
	FILE *f;
	int rc = VT_EXIT_OK;

	if (buf == NULL)
		return VT_EXIT_IO;
	f = fopen(m->out_path, "wb");
	if (f == NULL || fwrite(buf, 1, len, f) != len) {
		fprintf(stderr, "vdev-trace: minimize: cannot write %s: %s\n", m->out_path,
			strerror(errno));
		rc = VT_EXIT_IO;
	}
	if (f != NULL && fclose(f) != 0 && rc == VT_EXIT_OK) {
		fprintf(stderr, "vdev-trace: minimize: cannot write %s\n", m->out_path);
		rc = VT_EXIT_IO;
	}
	free(buf);
	return rc;
}

static int minimize(struct minimizer *m)
{
	bool *keep = malloc((m->nrecs ? m->nrecs : 1) * sizeof(*keep));
	size_t before;
	int rc;

	if (keep == NULL)
		return VT_EXIT_IO;
	for (size_t i = 0; i < m->nrecs; i++)
		keep[i] = true;
	before = count_kept(m, keep);
	if (!shows(m, keep, &m->ref)) {
		fprintf(stderr, "vdev-trace: minimize: the whole trace does not show the "
				"problem; nothing to keep it for\n");
		free(keep);
		return VT_EXIT_DIVERGED;
	}
	if (m->goal == GOAL_DIVERGENCE)
		fprintf(stderr, "minimize: keeping divergence %s\n",
			divergence_what(m->ref.message));
	fprintf(stderr, "minimize: %zu records (besides set-up)\n", before);
	if (!m->trim_only)
		ddmin(m, keep);
	trim_mem(m, keep);
	rc = write_out(m, keep);
	if (rc == VT_EXIT_OK)
		fprintf(stderr, "minimize: %zu of %zu records kept, %" PRIu64 " runs; wrote %s\n",
			count_kept(m, keep), before, m->runs, m->out_path);
	free(keep);
	return rc;
}

int vt_cmd_minimize(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "crash", no_argument, NULL, 'C' },
		{ "divergence", no_argument, NULL, 'D' },
		{ "same-end", no_argument, NULL, 'S' },
		{ "cmd", required_argument, NULL, 'x' },
		{ "identical", no_argument, NULL, 'I' },
		{ "trim-only", no_argument, NULL, 'O' },
		{ "raw", no_argument, NULL, 'r' },
		{ "fuzz", no_argument, NULL, 'f' },
		{ "type", required_argument, NULL, 't' },
		{ "mode", required_argument, NULL, 'm' },
		{ "cfg-access", no_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct minimizer m;
	bool raw = false;
	uint8_t *buf = NULL;
	size_t len;
	int c, rc, goals = 0;

	memset(&m, 0, sizeof(m));
	vdev_replay_default_options(&m.o);
	m.timeout_s = 60;
	optind = 1;
	while ((c = getopt_long(argc, argv, "CDSx:IOrft:m:cT:h", opts, NULL)) != -1) {
		switch (c) {
		case 'C': m.goal = GOAL_CRASH; goals++; break;
		case 'D': m.goal = GOAL_DIVERGENCE; goals++; break;
		case 'S': m.goal = GOAL_SAME_END; goals++; break;
		case 'x': m.goal = GOAL_CMD; m.cmd = optarg; goals++; break;
		case 'I': m.goal = GOAL_IDENTICAL; goals++; break;
		case 'O': m.trim_only = true; break;
		case 'r': raw = true; break;
		case 'f': m.o.fuzz = true; break;
		case 'c': m.o.via_cfg_access = true; break;
		case 't':
			m.o.force_type = (uint16_t)parse_type(optarg);
			if (m.o.force_type == 0) {
				fprintf(stderr, "vdev-trace: minimize: --type must be blk, net, "
						"console or rng\n");
				return VT_EXIT_USAGE;
			}
			break;
		case 'm':
			m.o.force_mode = vt_parse_mode(optarg);
			if (m.o.force_mode == 0) {
				fprintf(stderr, "vdev-trace: minimize: --mode must be legacy, "
						"modern or transitional\n");
				return VT_EXIT_USAGE;
			}
			break;
		case 'T':
			m.timeout_s = (unsigned)strtoul(optarg, NULL, 10);
			if (m.timeout_s == 0) {
				fprintf(stderr, "vdev-trace: minimize: --timeout must be a "
						"positive number of seconds\n");
				return VT_EXIT_USAGE;
			}
			break;
		case 'h': minimize_usage(stdout); return VT_EXIT_OK;
		default: minimize_usage(stderr); return VT_EXIT_USAGE;
		}
	}
	if (goals > 1) {
		fprintf(stderr, "vdev-trace: minimize: give one of --crash, --divergence, "
				"--same-end, --identical, --cmd\n");
		return VT_EXIT_USAGE;
	}
	if ((m.goal == GOAL_DIVERGENCE || m.goal == GOAL_IDENTICAL) && m.o.fuzz) {
		fprintf(stderr, "vdev-trace: minimize: --fuzz replays do not check, so they "
				"cannot diverge\n");
		return VT_EXIT_USAGE;
	}
	if (optind + 2 != argc) {
		minimize_usage(stderr);
		return VT_EXIT_USAGE;
	}
	m.out_path = argv[optind + 1];
	rc = raw ? vt_read_file(argv[optind], &buf, &len) : vt_load_trace(argv[optind], &buf, &len);
	if (rc == VT_EXIT_OK)
		rc = load_records(&m, buf, len, raw, argv[optind]);
	if (rc == VT_EXIT_OK)
		rc = minimize(&m);
	free(m.recs);
	free(m.pinned);
	free(m.mem_len);
	free(buf);
	return rc;
}
