/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A small scanner over JSON text that json-c has already parsed successfully, so it
 * only needs to find its way, not to validate. It follows json-c's relaxed syntax
 * (comments, single-quoted strings) and gives up quietly on anything else. Keys are
 * decoded by json-c itself, so "a" and "\u0061" are the same key, as json-c sees them;
 * each object's keys go into a json-c object used as a hash set.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_dup_keys.h"

struct scan {
	const char *s;
	size_t n, i;
	bool found, stop;
	struct json_dup_key *dup;
	char path[160];
};

static void skip_space(struct scan *sc)
{
	while (sc->i < sc->n) {
		const char *p = sc->s + sc->i;

		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
			sc->i++;
		} else if (p[0] == '/' && sc->i + 1 < sc->n && p[1] == '*') {
			const char *end = strstr(p + 2, "*/");

			sc->i = end ? (size_t)(end - sc->s) + 2 : sc->n;
		} else if (p[0] == '/' && sc->i + 1 < sc->n && p[1] == '/') {
			const char *end = strchr(p, '\n');

			sc->i = end ? (size_t)(end - sc->s) + 1 : sc->n;
		} else {
			return;
		}
	}
}

static void skip_string(struct scan *sc)
{
	char quote = sc->s[sc->i++];

	while (sc->i < sc->n && sc->s[sc->i] != quote)
		sc->i += sc->s[sc->i] == '\\' ? 2 : 1;
	sc->i = sc->i < sc->n ? sc->i + 1 : sc->n;
}

static int line_of(const struct scan *sc, size_t at)
{
	int line = 1;

	for (size_t k = 0; k < at; k++)
		line += sc->s[k] == '\n';
	return line;
}

static void scan_value(struct scan *sc);

static void scan_object(struct scan *sc)
{
	json_object *seen = json_object_new_object();
	size_t plen = strlen(sc->path);

	if (seen == NULL) {
		sc->stop = true;
		return;
	}
	sc->i++;
	while (!sc->stop && !sc->found) {
		size_t start;
		json_object *k;
		char *raw;

		skip_space(sc);
		if (sc->i >= sc->n || sc->s[sc->i] == '}' ||
		    (sc->s[sc->i] != '"' && sc->s[sc->i] != '\'')) {
			sc->stop = sc->i >= sc->n || sc->s[sc->i] != '}';
			sc->i++;
			break;
		}
		start = sc->i;
		skip_string(sc);
		raw = strndup(sc->s + start, sc->i - start);
		k = raw ? json_tokener_parse(raw) : NULL;
		free(raw);
		if (!json_object_is_type(k, json_type_string)) {
			json_object_put(k);
			sc->stop = true;
			break;
		}
		if (json_object_object_get_ex(seen, json_object_get_string(k), NULL)) {
			sc->found = true;
			snprintf(sc->dup->path, sizeof(sc->dup->path), "%s", sc->path);
			snprintf(sc->dup->key, sizeof(sc->dup->key), "%s", json_object_get_string(k));
			sc->dup->line = line_of(sc, start);
		} else if (json_object_object_add(seen, json_object_get_string(k), NULL) != 0) {
			sc->stop = true;
		}
		snprintf(sc->path + plen, sizeof(sc->path) - plen, "%s%s", plen ? "." : "",
			 json_object_get_string(k));
		json_object_put(k);
		if (sc->found || sc->stop)
			break;
		skip_space(sc);
		if (sc->i >= sc->n || sc->s[sc->i] != ':') {
			sc->stop = true;
			break;
		}
		sc->i++;
		scan_value(sc);
		sc->path[plen] = '\0';
		skip_space(sc);
		if (sc->i < sc->n && sc->s[sc->i] == ',')
			sc->i++;
	}
	sc->path[plen] = '\0';
	json_object_put(seen);
}

static void scan_array(struct scan *sc)
{
	size_t plen = strlen(sc->path);

	sc->i++;
	for (int idx = 0; !sc->stop && !sc->found; idx++) {
		skip_space(sc);
		if (sc->i >= sc->n || sc->s[sc->i] == ']') {
			sc->i++;
			break;
		}
		snprintf(sc->path + plen, sizeof(sc->path) - plen, "[%d]", idx);
		scan_value(sc);
		sc->path[plen] = '\0';
		skip_space(sc);
		if (sc->i < sc->n && sc->s[sc->i] == ',')
			sc->i++;
		else if (sc->i < sc->n && sc->s[sc->i] != ']')
			sc->stop = true;
	}
	sc->path[plen] = '\0';
}

static void scan_value(struct scan *sc)
{
	size_t from;

	skip_space(sc);
	if (sc->i >= sc->n) {
		sc->stop = true;
		return;
	}
	switch (sc->s[sc->i]) {
	case '{': scan_object(sc); return;
	case '[': scan_array(sc); return;
	case '"':
	case '\'': skip_string(sc); return;
	}
	/* A number, true, false, null, NaN...: up to the next delimiter. */
	from = sc->i;
	while (sc->i < sc->n && !strchr(",]}: \t\r\n/", sc->s[sc->i]))
		sc->i++;
	sc->stop = sc->i == from;
}

bool json_find_dup_key(const char *text, size_t len, struct json_dup_key *dup)
{
	struct scan sc = {.s = text, .n = len, .dup = dup};

	scan_value(&sc);
	return sc.found;
}
