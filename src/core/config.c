/*
 * config.c - earshot.conf: INI read with libinih, kept as an ordered list of
 * (section, key, value, line) entries.
 *
 * libinih as built by Debian has no INI_HANDLER_LINENO, allows Python-style
 * continuation lines and has a fixed 200-byte line buffer.  So we drive it
 * with ini_parse_stream() and our own reader, which
 *   - counts physical lines: inih asks for exactly one line per call and
 *     calls the handler before asking for the next, so the reader's count
 *     is the handler's line;
 *   - removes leading blanks, which turns off continuation lines (an
 *     indented "key = value" would otherwise become part of the previous
 *     value) and lets people indent freely;
 *   - rejects lines that do not fit inih's buffer instead of letting inih
 *     split them silently, and checks section headers itself ("[a] junk",
 *     names longer than inih's 50-byte section buffer);
 *   - keeps the raw line, from which the handler takes the value again, so
 *     that a quoted value may contain " ;" (inih would cut it there).
 */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONF_MAX_LINE (INI_MAX_LINE - 2) /* room for inih's NUL and a newline */
#define CONF_MAX_SECTION 49             /* inih copies it into char[50] */

struct conf_ent {
	size_t sec, key, val; /* offsets into strs */
	unsigned line;
};

struct conf_parse {
	const char *name;
	const char *pos, *end; /* the text not yet read */
	unsigned line;         /* of the last line handed to inih */
	struct slice raw;      /* that line, left-trimmed, without EOL */
	struct es_buf strs;    /* NUL-terminated strings */
	struct conf_ent *ents;
	size_t n, cap;
	size_t sec_off;        /* offset of the current section, or SIZE_MAX */
	int rc;                /* first error */
	char *err;
	size_t errlen;
};

static void conf_fail(struct conf_parse *p, int rc, unsigned line, const char *why)
{
	if (p->rc)
		return;
	p->rc = rc;
	if (p->err && p->errlen)
		snprintf(p->err, p->errlen, "%s:%u: %s", p->name, line, why);
}

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

/* Cut an unquoted value at an inline comment (";" after a blank). */
static struct slice strip_inline_comment(struct slice v)
{
	for (size_t i = 1; i < v.len; i++)
		if (v.p[i] == ';' && is_blank(v.p[i - 1]))
			return sl_trim(sl_sub(v, 0, i));
	return sl_trim(v);
}

/* The value part of a raw "key = value" line: after the first '=' or ':'
 * (inih's separators), comments removed, trimmed, one pair of double quotes
 * stripped.  Inside quotes ';' is literal; there are no escapes. */
static int raw_value(struct slice raw, struct slice *out, const char **why)
{
	size_t i = 0;
	while (i < raw.len && raw.p[i] != '=' && raw.p[i] != ':')
		i++;
	struct slice v = sl_trim(sl_sub(raw, i + 1, raw.len));
	if (v.len && v.p[0] == '"') {
		long q = sl_index(sl_sub(v, 1, v.len), '"');
		if (q < 0) {
			*why = "unterminated quote";
			return ES_EPARSE;
		}
		struct slice rest = sl_trim(sl_sub(v, (size_t)q + 2, v.len));
		if (rest.len && rest.p[0] != ';') {
			*why = "text after the closing quote";
			return ES_EPARSE;
		}
		*out = sl_sub(v, 1, (size_t)q);
		return 0;
	}
	*out = strip_inline_comment(v);
	return 0;
}

static int push_str(struct es_buf *b, struct slice s, size_t *off)
{
	*off = b->len;
	int rc = es_buf_append(b, s.p, s.len);
	return rc ? rc : es_buf_append(b, "", 1);
}

/* A section header as the reader sees it: "[name]" then blanks or a comment. */
static const char *check_section(struct slice l)
{
	long close = sl_index(l, ']');
	if (close < 0)
		return "missing ']' in section header";
	struct slice after = sl_trim(sl_sub(l, (size_t)close + 1, l.len));
	if (after.len && after.p[0] != ';' && after.p[0] != '#')
		return "text after ']' in section header";
	struct slice name = sl_trim(sl_sub(l, 1, (size_t)close - 1));
	if (!name.len)
		return "empty section name";
	if (close - 1 > CONF_MAX_SECTION)
		return "section name too long";
	return NULL;
}

/* A "key = value" line as inih will split it: a '=' or ':' before any
 * inline comment, and a key before it. */
static const char *check_pair(struct slice l)
{
	for (size_t i = 0; i < l.len; i++) {
		if (l.p[i] == ';' && i && is_blank(l.p[i - 1]))
			break;
		if (l.p[i] == '=' || l.p[i] == ':')
			return sl_trim(sl_sub(l, 0, i)).len ? NULL : "empty key";
	}
	return "expected 'key = value', '[section]' or a comment";
}

static char *conf_reader(char *str, int num, void *stream)
{
	struct conf_parse *p = stream;
	if (p->pos >= p->end || p->rc)
		return NULL;
	const char *nl = memchr(p->pos, '\n', (size_t)(p->end - p->pos));
	const char *eol = nl ? nl : p->end;
	struct slice l = sl_make(p->pos, (size_t)(eol - p->pos));
	p->pos = nl ? nl + 1 : p->end;
	p->line++;
	if (p->line == 1 && l.len >= 3 && memcmp(l.p, "\xEF\xBB\xBF", 3) == 0)
		l = sl_sub(l, 3, l.len); /* UTF-8 BOM */
	while (l.len && (l.p[l.len - 1] == '\r'))
		l.len--;
	while (l.len && is_blank(l.p[0]))
		l = sl_sub(l, 1, l.len);
	p->raw = l;
	if (memchr(l.p, '\0', l.len)) {
		conf_fail(p, ES_EPARSE, p->line, "NUL byte in line");
		return NULL;
	}
	if (l.len > CONF_MAX_LINE || (int)l.len >= num - 1) {
		conf_fail(p, ES_EPARSE, p->line,
			  "line too long (at most 198 bytes; repeat the key to continue a list)");
		return NULL;
	}
	const char *why = NULL;
	if (l.len && l.p[0] == '[')
		why = check_section(l);
	else if (l.len && l.p[0] != ';' && l.p[0] != '#')
		why = check_pair(l);
	if (why) {
		conf_fail(p, ES_EPARSE, p->line, why);
		return NULL;
	}
	memcpy(str, l.p, l.len);
	str[l.len] = '\0';
	return str;
}

static int conf_handler(void *user, const char *section, const char *key, const char *value)
{
	struct conf_parse *p = user;
	(void)value; /* taken again from the raw line, see raw_value() */
	if (p->rc)
		return 0;
	struct slice sec = sl_trim(sl_cstr(section));
	if (!sec.len) {
		conf_fail(p, ES_EPARSE, p->line, "key outside of a [section]");
		return 0;
	}
	if (!*key) {
		conf_fail(p, ES_EPARSE, p->line, "empty key");
		return 0;
	}
	struct slice v;
	const char *why = NULL;
	if (raw_value(p->raw, &v, &why)) {
		conf_fail(p, ES_EPARSE, p->line, why);
		return 0;
	}
	int rc = 0;
	if (p->sec_off == SIZE_MAX || !sl_eq(sec, sl_cstr((char *)p->strs.p + p->sec_off)))
		rc = push_str(&p->strs, sec, &p->sec_off);
	if (!rc && p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 32;
		struct conf_ent *e = realloc(p->ents, cap * sizeof(*e));
		if (!e)
			rc = ES_ENOMEM;
		else {
			p->ents = e;
			p->cap = cap;
		}
	}
	struct conf_ent *e = rc ? NULL : &p->ents[p->n];
	if (!rc)
		rc = push_str(&p->strs, sl_cstr(key), &e->key);
	if (!rc)
		rc = push_str(&p->strs, v, &e->val);
	if (rc) {
		conf_fail(p, rc, p->line, "out of memory");
		return 0;
	}
	e->sec = p->sec_off;
	e->line = p->line;
	p->n++;
	return 1;
}

void es_conf_free(struct es_conf *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->e);
	free(c->mem);
	memset(c, 0, sizeof(*c));
}

int es_conf_parse(struct es_conf *c, const char *name, const char *text, char *err,
		  size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (err && errlen)
		err[0] = '\0';
	if (!name)
		name = "(config)";
	if (!text)
		text = "";
	struct conf_parse p = {
		.name = name,
		.pos = text,
		.end = text + strlen(text),
		.sec_off = SIZE_MAX,
		.err = err,
		.errlen = errlen,
	};
	es_buf_init(&p.strs);
	int ir = ini_parse_stream(conf_reader, &p, conf_handler, &p);
	if (!p.rc && ir > 0)
		conf_fail(&p, ES_EPARSE, (unsigned)ir, "expected 'key = value', '[section]' or a comment");
	else if (!p.rc && ir < 0)
		conf_fail(&p, ES_ENOMEM, p.line, "out of memory");
	if (!p.rc) {
		c->path = strdup(name);
		c->e = calloc(p.n ? p.n : 1, sizeof(*c->e));
		if (!c->path || !c->e)
			conf_fail(&p, ES_ENOMEM, p.line, "out of memory");
	}
	if (p.rc) {
		free(p.ents);
		es_buf_free(&p.strs);
		es_conf_free(c);
		return p.rc;
	}
	const char *base = (const char *)p.strs.p;
	for (size_t i = 0; i < p.n; i++) {
		c->e[i].section = base + p.ents[i].sec;
		c->e[i].key = base + p.ents[i].key;
		c->e[i].value = base + p.ents[i].val;
		c->e[i].line = p.ents[i].line;
	}
	c->n = p.n;
	c->mem = p.strs.p;
	free(p.ents);
	return 0;
}

int es_conf_load(struct es_conf *c, const char *path, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (err && errlen)
		err[0] = '\0';
	FILE *f = fopen(path, "rb");
	if (!f) {
		int e = errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		return e == ENOENT ? ES_ENOTFOUND : ES_EIO;
	}
	struct es_buf b;
	es_buf_init(&b);
	int rc = 0;
	char chunk[4096];
	size_t n;
	while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		rc = es_buf_append(&b, chunk, n);
	if (!rc && ferror(f))
		rc = ES_EIO;
	fclose(f);
	if (!rc)
		rc = es_buf_append(&b, "", 1);
	if (rc) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, es_strerror(rc));
		es_buf_free(&b);
		return rc;
	}
	if (strlen((char *)b.p) != b.len - 1) {
		es_buf_free(&b);
		if (err && errlen)
			snprintf(err, errlen, "%s: NUL byte in the file", path);
		return ES_EPARSE;
	}
	rc = es_conf_parse(c, path, (char *)b.p, err, errlen);
	es_buf_free(&b);
	return rc;
}

/* ---- lookups and typed getters ------------------------------------------ */

const struct es_conf_entry *es_conf_find(const struct es_conf *c, const char *section,
					 const char *key)
{
	for (size_t i = c->n; i-- > 0;)
		if (strcasecmp(c->e[i].section, section) == 0 && strcmp(c->e[i].key, key) == 0)
			return &c->e[i];
	return NULL;
}

static int bad_value(const struct es_conf *c, const struct es_conf_entry *e, const char *why,
		     char *err, size_t errlen)
{
	if (err && errlen)
		snprintf(err, errlen, "%s:%u: %s: %s '%s'", c->path, e->line, e->key, why,
			 e->value);
	return ES_EPARSE;
}

int es_conf_bool(const struct es_conf *c, const char *section, const char *key, bool *out,
		 char *err, size_t errlen)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	const struct es_conf_entry *e = es_conf_find(c, section, key);
	if (!e)
		return ES_ENOTFOUND;
	for (size_t i = 0; i < ES_ARRAY_LEN(yes); i++) {
		if (strcasecmp(e->value, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(e->value, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return bad_value(c, e, "expected yes or no, got", err, errlen);
}

/* An optionally signed decimal integer followed by a suffix (returned). */
static int parse_num(const char *s, bool sign, int64_t *v, const char **suffix)
{
	bool neg = false;
	if (sign && (*s == '-' || *s == '+'))
		neg = *s++ == '-';
	if (*s < '0' || *s > '9')
		return ES_EPARSE;
	uint64_t u = 0;
	while (*s >= '0' && *s <= '9') {
		unsigned d = (unsigned)(*s++ - '0');
		if (u > ((uint64_t)INT64_MAX + (neg ? 1 : 0) - d) / 10)
			return ES_ELIMIT;
		u = u * 10 + d;
	}
	*v = neg ? (int64_t)(0 - u) : (int64_t)u;
	*suffix = s;
	return 0;
}

int es_conf_int(const struct es_conf *c, const char *section, const char *key, int64_t min,
		int64_t max, int64_t *out, char *err, size_t errlen)
{
	const struct es_conf_entry *e = es_conf_find(c, section, key);
	if (!e)
		return ES_ENOTFOUND;
	int64_t v;
	const char *rest;
	int rc = parse_num(e->value, true, &v, &rest);
	if (rc == 0 && *rest)
		rc = ES_EPARSE;
	if (rc == ES_EPARSE)
		return bad_value(c, e, "expected an integer, got", err, errlen);
	if (rc || v < min || v > max) {
		if (err && errlen)
			snprintf(err, errlen, "%s:%u: %s: %s is out of range [%lld, %lld]", c->path,
				 e->line, key, e->value, (long long)min, (long long)max);
		return ES_EPARSE;
	}
	*out = v;
	return 0;
}

struct conf_unit {
	const char *name;
	uint64_t mul;
};

/* Multiply v by the unit named suffix (case-insensitive); ES_EPARSE on an
 * unknown unit, ES_ELIMIT on overflow. */
static int apply_unit(int64_t v, const char *suffix, const struct conf_unit *u, size_t nu,
		      uint64_t *out)
{
	while (*suffix == ' ')
		suffix++;
	for (size_t i = 0; i < nu; i++) {
		if (strcasecmp(suffix, u[i].name) != 0)
			continue;
		if ((uint64_t)v > UINT64_MAX / u[i].mul)
			return ES_ELIMIT;
		*out = (uint64_t)v * u[i].mul;
		return 0;
	}
	return ES_EPARSE;
}

int es_conf_duration(const struct es_conf *c, const char *section, const char *key,
		     int64_t *out_us, char *err, size_t errlen)
{
	static const struct conf_unit units[] = {
		{"", 1000000},     {"s", 1000000},         {"sec", 1000000},
		{"us", 1},         {"ms", 1000},           {"m", 60000000},
		{"min", 60000000}, {"h", UINT64_C(3600000000)}, {"d", UINT64_C(86400000000)},
	};
	const struct es_conf_entry *e = es_conf_find(c, section, key);
	if (!e)
		return ES_ENOTFOUND;
	int64_t v;
	const char *rest;
	uint64_t us = 0;
	int rc = parse_num(e->value, false, &v, &rest);
	if (!rc)
		rc = apply_unit(v, rest, units, ES_ARRAY_LEN(units), &us);
	if (!rc && us > (uint64_t)INT64_MAX)
		rc = ES_ELIMIT;
	if (rc == ES_ELIMIT)
		return bad_value(c, e, "duration too large:", err, errlen);
	if (rc)
		return bad_value(c, e, "expected a duration (300, 300s, 5m, 2h, 1500ms), got", err,
				 errlen);
	*out_us = (int64_t)us;
	return 0;
}

int es_conf_size(const struct es_conf *c, const char *section, const char *key,
		 uint64_t *out, char *err, size_t errlen)
{
#define K UINT64_C(1024)
	static const struct conf_unit units[] = {
		{"", 1},	   {"b", 1},
		{"k", K},	   {"kb", K},		{"kib", K},
		{"m", K * K},	   {"mb", K * K},	{"mib", K * K},
		{"g", K * K * K},  {"gb", K * K * K},	{"gib", K * K * K},
		{"t", K * K * K * K}, {"tb", K * K * K * K}, {"tib", K * K * K * K},
	};
#undef K
	const struct es_conf_entry *e = es_conf_find(c, section, key);
	if (!e)
		return ES_ENOTFOUND;
	int64_t v;
	const char *rest;
	uint64_t n = 0;
	int rc = parse_num(e->value, false, &v, &rest);
	if (!rc)
		rc = apply_unit(v, rest, units, ES_ARRAY_LEN(units), &n);
	if (rc == ES_ELIMIT)
		return bad_value(c, e, "size too large:", err, errlen);
	if (rc)
		return bad_value(c, e, "expected a size (64k, 512M, 2G), got", err, errlen);
	*out = n;
	return 0;
}

/* section is "name" exactly, or "prefix NAME" for prefix = the argument. */
static bool section_in(const char *sec, const char *want)
{
	size_t n = strlen(want);
	if (strcasecmp(sec, want) == 0)
		return true;
	return n && want[n - 1] != ' ' && strncasecmp(sec, want, n) == 0 &&
	       is_blank(sec[n]);
}

int es_conf_check_keys(const struct es_conf *c, const char *section, const char *const *known,
		       char *err, size_t errlen)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct es_conf_entry *e = &c->e[i];
		if (!section_in(e->section, section))
			continue;
		bool ok = false;
		for (const char *const *k = known; *k && !ok; k++)
			ok = strcmp(*k, e->key) == 0;
		if (!ok) {
			if (err && errlen)
				snprintf(err, errlen, "%s:%u: unknown key '%s' in [%s]", c->path,
					 e->line, e->key, e->section);
			return ES_EPARSE;
		}
	}
	return 0;
}
