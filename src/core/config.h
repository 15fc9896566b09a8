/*
 * config.h - the configuration file (earshot.conf): INI, read with libinih.
 * Sections and keys may repeat (several `interface =`, several `[rule
 * NAME]` sections); the file's order is kept.  Values are strings; typed
 * getters parse them and name the file, line and key on error.
 */
#ifndef ES_CONFIG_H
#define ES_CONFIG_H

#include "core/core.h"

struct es_conf_entry {
	const char *section; /* "recording", "rule office-hours" (as written, trimmed) */
	const char *key;
	const char *value;   /* trimmed; inline "; comments" removed */
	unsigned line;
};

struct es_conf {
	char *path;
	struct es_conf_entry *e;
	size_t n;
	/* private: storage */
	void *mem;
};

/* Read path.  ES_ENOTFOUND (no such file), ES_EPARSE with "path:line: why"
 * in err, ES_ENOMEM.  An empty file is a valid, empty configuration. */
int es_conf_load(struct es_conf *c, const char *path, char *err, size_t errlen);
/* The same from a string (tests); name is used in messages. */
int es_conf_parse(struct es_conf *c, const char *name, const char *text, char *err,
		  size_t errlen);
void es_conf_free(struct es_conf *c);

/* The last value of section/key (section compared case-insensitively,
 * exactly as written), or NULL. */
const struct es_conf_entry *es_conf_find(const struct es_conf *c, const char *section,
					 const char *key);

/* Typed getters: 0 and *out set when present and valid, ES_ENOTFOUND when
 * absent (*out untouched), ES_EPARSE with "path:line: key: why" in err. */
int es_conf_bool(const struct es_conf *c, const char *section, const char *key, bool *out,
		 char *err, size_t errlen);   /* yes/no, true/false, on/off, 1/0 */
int es_conf_int(const struct es_conf *c, const char *section, const char *key, int64_t min,
		int64_t max, int64_t *out, char *err, size_t errlen);
/* "300", "300s", "5m", "2h", "1500ms" -> microseconds */
int es_conf_duration(const struct es_conf *c, const char *section, const char *key,
		     int64_t *out_us, char *err, size_t errlen);
/* "64", "64k", "64KiB", "512M", "2G" -> bytes (k = 1024) */
int es_conf_size(const struct es_conf *c, const char *section, const char *key,
		 uint64_t *out, char *err, size_t errlen);

/* Report every key in section (or in every section whose name starts with
 * prefix + " " when prefix ends without a space, e.g. "rule") that is not
 * in the NULL-terminated list known: ES_EPARSE with "path:line: unknown
 * key 'x' in [section]" in err. */
int es_conf_check_keys(const struct es_conf *c, const char *section, const char *const *known,
		       char *err, size_t errlen);

#endif /* ES_CONFIG_H */
