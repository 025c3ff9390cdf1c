/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * JSON configuration for vdev-host, parsed with json-c. Every key is checked against
 * the schema (unknown keys are errors), every value against its type and range, and
 * cross-device rules (unique ids and sockets) before the caller opens anything. An
 * error names the JSON path of the offending value and the reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "config_paths.h"
#include "json_dup_keys.h"

/* A configuration is written by a person; anything larger is a mistake. */
#define CONFIG_MAX_BYTES (1 << 20)

/* Where the walker is in the document, for error messages. */
struct walk {
	char path[160];
	char *err;
	size_t errlen;
	/* The configuration file's folder: relative paths in it are relative to that. */
	const char *base;
};

__attribute__((format(printf, 2, 3))) static int fail(struct walk *w, const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	snprintf(w->err, w->errlen, "%s: %s", w->path[0] ? w->path : "(top level)", reason);
	return -EINVAL;
}

/* Descend into a key; returns the old path length for leave(). */
static size_t enter(struct walk *w, const char *key)
{
	size_t len = strlen(w->path);

	snprintf(w->path + len, sizeof(w->path) - len, "%s%s", len ? "." : "", key);
	return len;
}

static size_t enter_index(struct walk *w, int i)
{
	size_t len = strlen(w->path);

	snprintf(w->path + len, sizeof(w->path) - len, "[%d]", i);
	return len;
}

static void leave(struct walk *w, size_t len)
{
	w->path[len] = '\0';
}

static const char *json_type_word(json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double:
		return floor(json_object_get_double(o)) == json_object_get_double(o)
			       ? "a number written with an exponent or a decimal point"
			       : "a fractional number";
	case json_type_int: return "an integer";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	}
	return "something else";
}

/* Refuse keys the schema does not know, so a typo never silently means "default". */
static int check_keys(struct walk *w, json_object *obj, const char *const *allowed)
{
	json_object_object_foreach(obj, key, val) {
		bool known = false;

		(void)val;
		for (int i = 0; allowed[i]; i++)
			known |= strcmp(key, allowed[i]) == 0;
		if (!known) {
			size_t l = enter(w, key);
			int rc = fail(w, "unknown key");
			leave(w, l);
			return rc;
		}
	}
	return 0;
}

static int want_object(struct walk *w, json_object *o)
{
	return json_object_is_type(o, json_type_object)
		       ? 0
		       : fail(w, "must be an object, not %s", json_type_word(o));
}

/* A string member: required, or left untouched when absent. */
static int get_string(struct walk *w, json_object *obj, const char *key, bool required,
		      char *out, size_t outlen)
{
	json_object *v;
	size_t l;
	int rc = 0;

	if (!json_object_object_get_ex(obj, key, &v)) {
		if (!required)
			return 0;
		l = enter(w, key);
		rc = fail(w, "missing (required)");
		leave(w, l);
		return rc;
	}
	l = enter(w, key);
	if (!json_object_is_type(v, json_type_string))
		rc = fail(w, "must be a string, not %s", json_type_word(v));
	else if ((size_t)json_object_get_string_len(v) >= outlen)
		rc = fail(w, "too long (at most %zu bytes)", outlen - 1);
	else if (json_object_get_string_len(v) == 0)
		rc = fail(w, "must not be empty");
	else
		memcpy(out, json_object_get_string(v), (size_t)json_object_get_string_len(v) + 1);
	leave(w, l);
	return rc;
}

/*
 * A path member: relative ones are taken against the configuration file's folder, so
 * the file means the same wherever vdev-host is started from.
 */
static int get_path(struct walk *w, json_object *obj, const char *key, bool required,
		    char *out, size_t outlen)
{
	size_t l;
	int rc = get_string(w, obj, key, required, out, outlen);

	if (rc < 0 || out[0] == '\0' || config_resolve(w->base, out, outlen) == 0)
		return rc;
	l = enter(w, key);
	rc = fail(w,
		  "\"%s\" resolved against the configuration's folder \"%s\" is too long "
		  "(at most %zu bytes)",
		  out, w->base, outlen - 1);
	leave(w, l);
	return rc;
}

static int get_bool(struct walk *w, json_object *obj, const char *key, bool *out)
{
	json_object *v;
	size_t l;
	int rc = 0;

	if (!json_object_object_get_ex(obj, key, &v))
		return 0;
	l = enter(w, key);
	if (!json_object_is_type(v, json_type_boolean))
		rc = fail(w, "must be true or false, not %s", json_type_word(v));
	else
		*out = json_object_get_boolean(v);
	leave(w, l);
	return rc;
}

static int get_uint(struct walk *w, json_object *obj, const char *key, uint64_t min, uint64_t max,
		    uint64_t *out)
{
	json_object *v;
	int64_t n;
	size_t l;
	int rc = 0;

	if (!json_object_object_get_ex(obj, key, &v))
		return 0;
	l = enter(w, key);
	if (json_object_is_type(v, json_type_double) && isfinite(json_object_get_double(v)) &&
	    floor(json_object_get_double(v)) == json_object_get_double(v) &&
	    (json_object_get_double(v) < (double)min || json_object_get_double(v) > (double)max)) {
		/* 1e30 is a whole number, just far too large: say that, not "fractional". */
		rc = fail(w, "must be between %llu and %llu (got %s, out of range)",
			  (unsigned long long)min, (unsigned long long)max, json_object_get_string(v));
	} else if (!json_object_is_type(v, json_type_int)) {
		rc = fail(w, "must be an integer, not %s", json_type_word(v));
	} else {
		errno = 0;
		n = json_object_get_int64(v);
		if (errno != 0 || n < 0 || (uint64_t)n < min || (uint64_t)n > max)
			rc = fail(w, "must be between %llu and %llu", (unsigned long long)min,
				  (unsigned long long)max);
		else
			*out = (uint64_t)n;
	}
	leave(w, l);
	return rc;
}

/* One of a fixed set of words; *out gets the index. */
static int get_enum(struct walk *w, json_object *obj, const char *key, bool required,
		    const char *const *words, int *out)
{
	char buf[32] = "";
	char list[160] = "";
	size_t l;
	int rc = get_string(w, obj, key, required, buf, sizeof(buf));

	if (rc < 0 || buf[0] == '\0')
		return rc;
	for (int i = 0; words[i]; i++) {
		if (strcmp(buf, words[i]) == 0) {
			*out = i;
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s\"%s\"",
			 i ? ", " : "", words[i]);
	}
	l = enter(w, key);
	rc = fail(w, "must be one of %s (got \"%s\")", list, buf);
	leave(w, l);
	return rc;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &tail) != 6 || strlen(s) != 17)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

/* A file the device will open must exist now, so the error comes before anything runs. */
static int check_existing_file(struct walk *w, const char *key, const char *path, bool block_ok)
{
	struct stat st;
	size_t l = enter(w, key);
	int rc = 0;

	if (stat(path, &st) != 0)
		rc = fail(w, "\"%s\": %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode) && !(block_ok && S_ISBLK(st.st_mode)) &&
		 !S_ISCHR(st.st_mode))
		rc = fail(w, "\"%s\" is not a regular file%s", path, block_ok ? " or block device" : "");
	leave(w, l);
	return rc;
}

/* 0 stands for "the default"; anything else must be a power of two. */
static int check_pow2(struct walk *w, const char *key, uint64_t v)
{
	size_t l;
	int rc;

	if ((v & (v - 1)) == 0)
		return 0;
	l = enter(w, key);
	rc = fail(w, "must be a power of two");
	leave(w, l);
	return rc;
}

/* ---- per-type sections ---- */

static int parse_blk(struct walk *w, json_object *d, struct host_blk_config *b)
{
	uint64_t v;
	int rc;

	b->discard = true;
	b->write_zeroes = true;
	/* "null_size": a disk that stores nothing (benchmarks), instead of "path". */
	if ((rc = get_uint(w, d, "null_size", 0, (uint64_t)1 << 50, &b->null_size)) < 0)
		return rc;
	if (b->null_size != 0 && b->null_size < 512) {
		size_t l = enter(w, "null_size");

		rc = fail(w, "at least 512 bytes");
		leave(w, l);
		return rc;
	}
	if (b->null_size != 0 && json_object_object_get_ex(d, "path", NULL)) {
		size_t l = enter(w, "path");

		rc = fail(w, "not used with \"null_size\"");
		leave(w, l);
		return rc;
	}
	if ((b->null_size == 0 &&
	     ((rc = get_path(w, d, "path", true, b->path, sizeof(b->path))) < 0 ||
	      (rc = check_existing_file(w, "path", b->path, true)) < 0)) ||
	    (rc = get_bool(w, d, "readonly", &b->readonly)) < 0 ||
	    (rc = get_string(w, d, "serial", false, b->serial, sizeof(b->serial))) < 0 ||
	    (rc = get_bool(w, d, "discard", &b->discard)) < 0 ||
	    (rc = get_bool(w, d, "write_zeroes", &b->write_zeroes)) < 0)
		return rc;
	v = 1;
	if ((rc = get_uint(w, d, "num_queues", 1, 16, &v)) < 0)
		return rc;
	b->num_queues = (uint16_t)v;
	v = 0;
	if ((rc = get_uint(w, d, "queue_size", 0, 32768, &v)) < 0)
		return rc;
	if ((rc = check_pow2(w, "queue_size", v)) < 0)
		return rc;
	b->queue_size = (uint16_t)v;
	v = 512;
	if ((rc = get_uint(w, d, "blk_size", 512, 65536, &v)) < 0)
		return rc;
	if ((rc = check_pow2(w, "blk_size", v)) < 0)
		return rc;
	b->blk_size = (uint32_t)v;
	return 0;
}

static int parse_net(struct walk *w, json_object *d, struct host_net_config *n)
{
	static const char *const backend_keys[] = {"type", "ifname", NULL};
	static const char *const backend_types[] = {"tap", NULL};
	char mac[32] = "";
	json_object *be;
	uint64_t v;
	int type = 0, rc;
	size_t l;

	if ((rc = get_string(w, d, "mac", false, mac, sizeof(mac))) < 0)
		return rc;
	if (mac[0]) {
		l = enter(w, "mac");
		if (parse_mac(mac, n->mac) < 0)
			rc = fail(w, "must look like 52:54:00:12:34:56 (got \"%s\")", mac);
		else if (n->mac[0] & 1)
			rc = fail(w, "must be a unicast address (got a multicast one, \"%s\")", mac);
		leave(w, l);
		if (rc < 0)
			return rc;
		n->has_mac = true;
	}
	v = 0;
	if ((rc = get_uint(w, d, "mtu", 68, 65535, &v)) < 0)
		return rc;
	n->mtu = (uint16_t)v;
	v = 1;
	if ((rc = get_uint(w, d, "queue_pairs", 1, 8, &v)) < 0)
		return rc;
	n->queue_pairs = (uint16_t)v;
	if (!json_object_object_get_ex(d, "backend", &be)) {
		l = enter(w, "backend");
		rc = fail(w, "missing (required): {\"type\": \"tap\", \"ifname\": ...}");
		leave(w, l);
		return rc;
	}
	l = enter(w, "backend");
	if ((rc = want_object(w, be)) < 0 || (rc = check_keys(w, be, backend_keys)) < 0 ||
	    (rc = get_enum(w, be, "type", true, backend_types, &type)) < 0 ||
	    (rc = get_string(w, be, "ifname", true, n->ifname, sizeof(n->ifname))) < 0) {
		leave(w, l);
		return rc;
	}
	leave(w, l);
	return 0;
}

static int parse_console(struct walk *w, json_object *d, struct host_console_config *c)
{
	static const char *const backend_keys[] = {"type", "path", NULL};
	static const char *const backend_types[] = {"file", "stdio", "pty", NULL};
	json_object *be;
	int type = HOST_CONSOLE_FILE, rc = 0;
	size_t l;

	if (!json_object_object_get_ex(d, "backend", &be)) {
		l = enter(w, "backend");
		rc = fail(w, "missing (required): {\"type\": \"file\", \"path\": ...}");
		leave(w, l);
		return rc;
	}
	l = enter(w, "backend");
	if ((rc = want_object(w, be)) < 0 || (rc = check_keys(w, be, backend_keys)) < 0 ||
	    (rc = get_enum(w, be, "type", true, backend_types, &type)) < 0 ||
	    (rc = get_path(w, be, "path", type == HOST_CONSOLE_FILE, c->path, sizeof(c->path))) < 0)
		goto out;
	c->backend = (enum host_console_backend)type;
	if (type != HOST_CONSOLE_FILE && c->path[0]) {
		size_t l2 = enter(w, "path");
		rc = fail(w, "only the \"file\" backend takes a path");
		leave(w, l2);
	}
out:
	leave(w, l);
	return rc;
}

static int parse_rng(struct walk *w, json_object *d, struct host_rng_config *r)
{
	uint64_t v;
	int rc;

	if ((rc = get_path(w, d, "path", false, r->path, sizeof(r->path))) < 0)
		return rc;
	if (r->path[0] && (rc = check_existing_file(w, "path", r->path, false)) < 0)
		return rc;
	v = 0;
	if ((rc = get_uint(w, d, "max_request_bytes", 1, 1u << 24, &v)) < 0)
		return rc;
	r->max_request_bytes = (uint32_t)v;
	v = 0;
	if ((rc = get_uint(w, d, "rate_bytes_per_sec", 1, 1ULL << 40, &v)) < 0)
		return rc;
	r->rate_bytes_per_sec = v;
	return 0;
}

/* ---- common device keys ---- */

static int parse_pci(struct walk *w, json_object *d, struct host_dev_config *dc, bool *given)
{
	static const char *const keys[] = {"mode", "msix", "msi", "notify_pio", "mem32", NULL};
	static const char *const modes[] = {"legacy", "modern", "transitional", NULL};
	json_object *p;
	int mode = 1, rc;
	size_t l;

	dc->pci.mode = VDEV_PCI_MODERN;
	*given = json_object_object_get_ex(d, "pci", &p);
	if (!*given)
		return 0;
	l = enter(w, "pci");
	if ((rc = want_object(w, p)) == 0 && (rc = check_keys(w, p, keys)) == 0 &&
	    (rc = get_enum(w, p, "mode", false, modes, &mode)) == 0 &&
	    (rc = get_bool(w, p, "msix", &dc->pci.msix)) == 0 &&
	    (rc = get_bool(w, p, "msi", &dc->pci.msi)) == 0 &&
	    (rc = get_bool(w, p, "notify_pio", &dc->pci.notify_pio)) == 0 &&
	    (rc = get_bool(w, p, "mem32", &dc->pci.mem32)) == 0)
		dc->pci.mode = (enum vdev_pci_mode)(VDEV_PCI_LEGACY + mode);
	leave(w, l);
	return rc;
}

static int parse_connector(struct walk *w, json_object *d, struct host_dev_config *dc)
{
	static const char *const keys[] = {"type", "path", NULL};
	static const char *const types[] = {"qemu-proxy", "vhost-user", NULL};
	json_object *c;
	int type = 0, rc;
	size_t l;

	if (!json_object_object_get_ex(d, "connector", &c)) {
		l = enter(w, "connector");
		rc = fail(w, "missing (required): {\"type\": \"qemu-proxy\" or \"vhost-user\", "
			     "\"path\": SOCKET}");
		leave(w, l);
		return rc;
	}
	l = enter(w, "connector");
	if ((rc = want_object(w, c)) == 0 && (rc = check_keys(w, c, keys)) == 0 &&
	    (rc = get_enum(w, c, "type", true, types, &type)) == 0 &&
	    (rc = get_path(w, c, "path", true, dc->socket, sizeof(dc->socket))) == 0)
		dc->conn = (enum host_conn_type)type;
	leave(w, l);
	return rc;
}

/* The directory a file is to be created in, which must exist now. */
static int check_parent_dir(struct walk *w, const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (stat(dir, &st) != 0)
		return fail(w, "\"%s\": directory \"%s\": %s", path, dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fail(w, "\"%s\": \"%s\" is not a directory", path, dir);
	return 0;
}

/* The file a device itself opens (image, console log, entropy file), or NULL. */
static const char *device_file(const struct host_dev_config *dc)
{
	switch (dc->type) {
	case HOST_DEV_BLK: return dc->u.blk.path[0] ? dc->u.blk.path : NULL;
	case HOST_DEV_CONSOLE:
		return dc->u.console.backend == HOST_CONSOLE_FILE ? dc->u.console.path : NULL;
	case HOST_DEV_RNG: return dc->u.rng.path[0] ? dc->u.rng.path : NULL;
	default: return NULL;
	}
}

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (strcmp(a, b) == 0)
		return true;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/*
 * "trace": {"path": FILE}. Nothing is created here: the file is written when a
 * connection's device is built (FILE, then FILE.2, FILE.3, ... for later ones), so
 * only what can be known now is checked: the directory exists, FILE is not something
 * other than a regular file, and it is not a file the device itself uses.
 */
static int parse_trace(struct walk *w, json_object *d, struct host_dev_config *dc)
{
	static const char *const keys[] = {"path", NULL};
	const char *own;
	struct stat st;
	json_object *t;
	size_t l, l2;
	int rc;

	if (!json_object_object_get_ex(d, "trace", &t))
		return 0;
	l = enter(w, "trace");
	if ((rc = want_object(w, t)) < 0 || (rc = check_keys(w, t, keys)) < 0 ||
	    (rc = get_path(w, t, "path", true, dc->trace_path, sizeof(dc->trace_path))) < 0)
		goto out;
	l2 = enter(w, "path");
	own = device_file(dc);
	if ((rc = check_parent_dir(w, dc->trace_path)) == 0) {
		if (stat(dc->trace_path, &st) == 0 && !S_ISREG(st.st_mode))
			rc = fail(w, "\"%s\" exists and is not a regular file", dc->trace_path);
		else if (own != NULL && same_file(dc->trace_path, own))
			rc = fail(w, "\"%s\" is the device's own file; a trace would overwrite it",
				  dc->trace_path);
	}
	leave(w, l2);
	dc->trace = rc == 0;
out:
	leave(w, l);
	return rc;
}

/* What the connectors can carry: rules that come from QEMU 7.2, checked here. */
static int check_connector_rules(struct walk *w, struct host_dev_config *dc, bool pci_given,
				 json_object *d)
{
	json_object *p, *m;
	size_t l;
	int rc = 0;

	if (dc->conn == HOST_CONN_VHOST_USER) {
		l = enter(w, "connector.type");
		if (dc->type == HOST_DEV_CONSOLE)
			rc = fail(w, "QEMU has no vhost-user console device; use \"qemu-proxy\"");
		leave(w, l);
		if (rc == 0 && dc->trace) {
			l = enter(w, "trace");
			rc = fail(w, "not available with the vhost-user connector (a vhost-user "
				     "device has no PCI registers to record); use \"qemu-proxy\"");
			leave(w, l);
		}
		if (rc == 0 && pci_given) {
			l = enter(w, "pci");
			rc = fail(w, "not used with the vhost-user connector (QEMU's front end "
				     "owns the PCI function)");
			leave(w, l);
		}
		return rc;
	}
	/* qemu-proxy: QEMU forwards no MSI/MSI-X and sizes each BAR register as 32 bits. */
	if (dc->pci.msix || dc->pci.msi) {
		l = enter(w, dc->pci.msix ? "pci.msix" : "pci.msi");
		rc = fail(w, "QEMU's proxy forwards only INTx; set it to false");
		leave(w, l);
		return rc;
	}
	if (json_object_object_get_ex(d, "pci", &p) && json_object_object_get_ex(p, "mem32", &m) &&
	    !dc->pci.mem32) {
		l = enter(w, "pci.mem32");
		rc = fail(w, "QEMU's proxy sizes BARs as 32 bits; leave it true");
		leave(w, l);
		return rc;
	}
	dc->pci.mem32 = true;
	return 0;
}

static int parse_device(struct walk *w, json_object *d, struct host_dev_config *dc)
{
	static const char *const common[] = {"id", "type", "pci", "connector", "trace"};
	static const char *const types[] = {"blk", "net", "console", "rng", NULL};
	static const char *const per_type[][9] = {
		{"path", "readonly", "serial", "num_queues", "queue_size", "blk_size", "discard",
		 "write_zeroes", "null_size"},
		{"mac", "backend", "mtu", "queue_pairs"},
		{"backend"},
		{"path", "max_request_bytes", "rate_bytes_per_sec"},
	};
	const char *allowed[20];
	int type = 0, n = 0, rc;
	bool pci_given;
	if ((rc = want_object(w, d)) < 0 ||
	    (rc = get_string(w, d, "id", true, dc->id, sizeof(dc->id))) < 0 ||
	    (rc = get_enum(w, d, "type", true, types, &type)) < 0)
		return rc;
	for (const char *p = dc->id; *p; p++) {
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= '0' && *p <= '9') && *p != '-' && *p != '_') {
			size_t l = enter(w, "id");
			rc = fail(w, "only letters, digits, '-' and '_' (got \"%s\")", dc->id);
			leave(w, l);
			return rc;
		}
	}
	dc->type = (enum host_dev_type)type;
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		allowed[n++] = common[i];
	for (int i = 0; i < 9 && per_type[type][i]; i++)
		allowed[n++] = per_type[type][i];
	allowed[n] = NULL;
	if ((rc = check_keys(w, d, allowed)) < 0 || (rc = parse_pci(w, d, dc, &pci_given)) < 0 ||
	    (rc = parse_connector(w, d, dc)) < 0)
		return rc;
	switch (dc->type) {
	case HOST_DEV_BLK: rc = parse_blk(w, d, &dc->u.blk); break;
	case HOST_DEV_NET: rc = parse_net(w, d, &dc->u.net); break;
	case HOST_DEV_CONSOLE: rc = parse_console(w, d, &dc->u.console); break;
	case HOST_DEV_RNG: rc = parse_rng(w, d, &dc->u.rng); break;
	}
	/* After the type's keys: a trace must not land on the device's own file. */
	if (rc < 0 || (rc = parse_trace(w, d, dc)) < 0)
		return rc;
	return check_connector_rules(w, dc, pci_given, d);
}

/*
 * Two spellings of one socket ("s.sock", "./s.sock", "d/../s.sock") are one socket:
 * the second bind would replace the first and leave its device unreachable. Sockets
 * do not exist yet, so the comparison is lexical, on absolute normalised paths.
 */
static bool same_socket(const char *a, const char *b)
{
	char na[PATH_MAX], nb[PATH_MAX];

	if (strcmp(a, b) == 0)
		return true;
	return config_normalise(a, na, sizeof(na)) == 0 &&
	       config_normalise(b, nb, sizeof(nb)) == 0 && strcmp(na, nb) == 0;
}

/*
 * One image under two blk devices: each caches nothing, but the guest's two drivers
 * would each believe they own the disk and overwrite each other's file system. Only
 * when both are read-only is that harmless (a shared base image), so it is allowed.
 * The images exist (checked earlier), so stat tells even hard links and symlinks apart;
 * the lexical comparison covers a stat that fails.
 */
static bool same_image(const struct host_dev_config *a, const struct host_dev_config *b)
{
	char na[PATH_MAX], nb[PATH_MAX];

	if (a->type != HOST_DEV_BLK || b->type != HOST_DEV_BLK || !a->u.blk.path[0] ||
	    !b->u.blk.path[0] || (a->u.blk.readonly && b->u.blk.readonly))
		return false;
	if (same_file(a->u.blk.path, b->u.blk.path))
		return true;
	return config_normalise(a->u.blk.path, na, sizeof(na)) == 0 &&
	       config_normalise(b->u.blk.path, nb, sizeof(nb)) == 0 && strcmp(na, nb) == 0;
}

/* Ids, sockets, tap names, console files and writable images must each be used once. */
static int check_unique(struct walk *w, const struct host_config *cfg)
{
	for (int i = 0; i < cfg->ndevs; i++) {
		const struct host_dev_config *a = &cfg->devs[i];

		for (int j = 0; j < i; j++) {
			const struct host_dev_config *b = &cfg->devs[j];
			const char *what = NULL;

			if (strcmp(a->id, b->id) == 0)
				what = "id";
			else if (same_socket(a->socket, b->socket))
				what = "connector.path";
			else if (a->type == HOST_DEV_NET && b->type == HOST_DEV_NET &&
				 strcmp(a->u.net.ifname, b->u.net.ifname) == 0)
				what = "backend.ifname";
			else if (a->type == HOST_DEV_CONSOLE && b->type == HOST_DEV_CONSOLE &&
				 a->u.console.backend == HOST_CONSOLE_FILE &&
				 b->u.console.backend == HOST_CONSOLE_FILE &&
				 strcmp(a->u.console.path, b->u.console.path) == 0)
				what = "backend.path";
			if (what != NULL) {
				snprintf(w->path, sizeof(w->path), "devices[%d].%s", i, what);
				return fail(w, "same as devices[%d] (\"%s\"); each must be unique", j,
					    b->id);
			}
			if (same_image(a, b)) {
				snprintf(w->path, sizeof(w->path), "devices[%d].path", i);
				return fail(w,
					    "\"%s\" is devices[%d]'s (\"%s\") image too; two blk "
					    "devices may share an image only when both are read-only",
					    a->u.blk.path, j, b->id);
			}
		}
	}
	return 0;
}

/* A trace file must be nobody else's: not another trace, not another device's file. */
static int check_trace_files(struct walk *w, const struct host_config *cfg)
{
	for (int i = 0; i < cfg->ndevs; i++) {
		const struct host_dev_config *a = &cfg->devs[i];

		for (int j = 0; a->trace && j < cfg->ndevs; j++) {
			const struct host_dev_config *b = &cfg->devs[j];
			const char *what = NULL;

			if (j < i && b->trace && strcmp(a->trace_path, b->trace_path) == 0)
				what = "trace";
			else if (j != i && device_file(b) != NULL &&
				 same_file(a->trace_path, device_file(b)))
				what = "file";
			if (what != NULL) {
				snprintf(w->path, sizeof(w->path), "devices[%d].trace.path", i);
				return fail(w,
					    "\"%s\" is devices[%d]'s (\"%s\") %s too; each must "
					    "be unique",
					    a->trace_path, j, b->id, what);
			}
		}
	}
	return 0;
}

static int parse_root(struct walk *w, json_object *root, struct host_config *cfg)
{
	static const char *const keys[] = {"devices", "log_level", NULL};
	static const char *const levels[] = {"error", "warn", "info", "debug", NULL};
	json_object *devs;
	int level = VDEV_LOG_INFO, rc, n;
	size_t l;

	if ((rc = want_object(w, root)) < 0 || (rc = check_keys(w, root, keys)) < 0 ||
	    (rc = get_enum(w, root, "log_level", false, levels, &level)) < 0)
		return rc;
	cfg->log_level = (enum vdev_log_level)level;
	if (!json_object_object_get_ex(root, "devices", &devs))
		return fail(w, "\"devices\" is missing (required)");
	l = enter(w, "devices");
	if (!json_object_is_type(devs, json_type_array)) {
		rc = fail(w, "must be an array, not %s", json_type_word(devs));
		leave(w, l);
		return rc;
	}
	n = (int)json_object_array_length(devs);
	if (n == 0 || n > HOST_MAX_DEVICES) {
		rc = fail(w, "must list 1 to %d devices (got %d)", HOST_MAX_DEVICES, n);
		leave(w, l);
		return rc;
	}
	leave(w, l);
	cfg->devs = calloc((size_t)n, sizeof(*cfg->devs));
	if (cfg->devs == NULL)
		return fail(w, "out of memory");
	for (int i = 0; i < n; i++) {
		snprintf(w->path, sizeof(w->path), "devices");
		l = enter_index(w, i);
		rc = parse_device(w, json_object_array_get_idx(devs, (size_t)i), &cfg->devs[i]);
		if (rc < 0)
			return rc;
		leave(w, l);
		cfg->ndevs++;
	}
	rc = check_unique(w, cfg);
	return rc < 0 ? rc : check_trace_files(w, cfg);
}

/* The parse proper; `base` is the folder relative paths are taken against. */
static int parse_text(const char *json, const char *base, struct host_config *out, char *err,
		      size_t errlen)
{
	struct walk w = {"", err, errlen, base};
	struct json_dup_key dup;
	struct json_tokener *tok;
	json_object *root;
	int rc;

	memset(out, 0, sizeof(*out));
	tok = json_tokener_new();
	if (tok == NULL)
		return fail(&w, "out of memory");
	root = json_tokener_parse_ex(tok, json, (int)strlen(json));
	if (root == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    tok->char_offset < (int)strlen(json)) {
		enum json_tokener_error e = json_tokener_get_error(tok);
		size_t end = json_tokener_get_parse_end(tok);
		int line = 1, column = 1;

		/* Columns count bytes from 1, as editors that show byte columns do. */
		for (size_t i = 0; i < end && json[i]; i++) {
			line += json[i] == '\n';
			column = json[i] == '\n' ? 1 : column + 1;
		}
		if (e == json_tokener_continue)
			rc = fail(&w, "not valid JSON: the file ends before the document does");
		else
			rc = fail(&w, "not valid JSON at line %d, column %d: %s", line, column,
				  e == json_tokener_success ? "unexpected data after the document"
							    : json_tokener_error_desc(e));
		json_object_put(root);
		json_tokener_free(tok);
		return rc;
	}
	json_tokener_free(tok);
	if (json_find_dup_key(json, strlen(json), &dup)) {
		snprintf(w.path, sizeof(w.path), "%s", dup.path);
		rc = fail(&w, "key \"%s\" given twice (again at line %d); each key once", dup.key,
			  dup.line);
		json_object_put(root);
		return rc;
	}
	rc = parse_root(&w, root, out);
	json_object_put(root);
	if (rc < 0)
		host_config_free(out);
	return rc;
}

int host_config_parse(const char *json, struct host_config *out, char *err, size_t errlen)
{
	return parse_text(json, "", out, err, errlen);
}

/*
 * Read all of fd, refusing more than the limit. A regular file or standard input only:
 * the caller has refused FIFOs and devices by name, since reading those can block
 * forever (a FIFO nobody writes) or never end (/dev/zero).
 */
static int read_all(int fd, char **text, char *err, size_t errlen)
{
	size_t len = 0, cap = 64 * 1024;
	char *buf = malloc(cap + 1);

	if (buf == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *more;

			if (cap > CONFIG_MAX_BYTES) {
				free(buf);
				snprintf(err, errlen,
					 "larger than %d bytes (1 MiB), the limit for a configuration",
					 CONFIG_MAX_BYTES);
				return -EFBIG;
			}
			more = realloc(buf, cap * 2 + 1);
			if (more == NULL) {
				free(buf);
				snprintf(err, errlen, "out of memory");
				return -ENOMEM;
			}
			buf = more;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			free(buf);
			snprintf(err, errlen, "cannot read: %s", strerror(e));
			return -e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CONFIG_MAX_BYTES) {
		free(buf);
		snprintf(err, errlen, "larger than %d bytes (1 MiB), the limit for a configuration",
			 CONFIG_MAX_BYTES);
		return -EFBIG;
	}
	buf[len] = '\0';
	if (strlen(buf) != len) {
		free(buf);
		snprintf(err, errlen, "contains a NUL byte");
		return -EINVAL;
	}
	*text = buf;
	return 0;
}

int host_config_load(const char *path, struct host_config *out, char *err, size_t errlen)
{
	char base[PATH_MAX];
	struct stat st;
	char *text;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	if (strcmp(path, "-") == 0) {
		/* Standard input: relative paths are relative to the working directory. */
		rc = read_all(STDIN_FILENO, &text, err, errlen);
		if (rc < 0)
			return rc;
		rc = parse_text(text, "", out, err, errlen);
		free(text);
		return rc;
	}
	/* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s", strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(err, errlen,
			 "not a regular file; to read the configuration from a pipe, give \"-\" "
			 "and feed it to standard input");
		return -EINVAL;
	}
	if (st.st_size > CONFIG_MAX_BYTES) {
		close(fd);
		snprintf(err, errlen, "larger than %d bytes (1 MiB), the limit for a configuration",
			 CONFIG_MAX_BYTES);
		return -EFBIG;
	}
	rc = read_all(fd, &text, err, errlen);
	close(fd);
	if (rc < 0)
		return rc;
	config_base_dir(path, base, sizeof(base));
	rc = parse_text(text, base, out, err, errlen);
	free(text);
	return rc;
}

void host_config_free(struct host_config *cfg)
{
	free(cfg->devs);
	cfg->devs = NULL;
	cfg->ndevs = 0;
}

const char *host_dev_type_name(enum host_dev_type t)
{
	static const char *const names[] = {"blk", "net", "console", "rng"};
	return (unsigned)t < 4 ? names[t] : "?";
}

const char *host_conn_type_name(enum host_conn_type t)
{
	return t == HOST_CONN_PROXY ? "qemu-proxy" : "vhost-user";
}
