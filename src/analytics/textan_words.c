/* textan_words.c - a transcript's words as JSON (RFC 8259), for the CLI
 * and tests: an array of word objects, or an object whose "words" member
 * is one.  A small reader of its own: only this shape, bounded nesting. */
#include "analytics/textan.h"
#include "analytics/textan_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WJ_MAX_DEPTH 16

struct wj {
	const char *p;
	size_t len, pos;
	char *err;
	size_t errlen;
};

static int wj_fail(struct wj *j, const char *why)
{
	return es_errf(j->err, j->errlen, ES_EPARSE, "offset %zu: %s", j->pos, why);
}

static void wj_ws(struct wj *j)
{
	while (j->pos < j->len && (j->p[j->pos] == ' ' || j->p[j->pos] == '\t' ||
				   j->p[j->pos] == '\n' || j->p[j->pos] == '\r'))
		j->pos++;
}

static bool wj_lit(struct wj *j, char c)
{
	wj_ws(j);
	if (j->pos < j->len && j->p[j->pos] == c) {
		j->pos++;
		return true;
	}
	return false;
}

static int hex4(struct wj *j, unsigned *v)
{
	if (j->len - j->pos < 4)
		return wj_fail(j, "short \\u escape");
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = j->p[j->pos++];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
			     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16;
		if (d > 15)
			return wj_fail(j, "bad \\u escape");
		*v = *v * 16 + d;
	}
	return 0;
}

static int put_utf8(struct es_buf *b, unsigned cp)
{
	uint8_t u[4];
	size_t n;
	if (cp < 0x80)
		u[0] = (uint8_t)cp, n = 1;
	else if (cp < 0x800)
		u[0] = (uint8_t)(0xC0 | cp >> 6), u[1] = (uint8_t)(0x80 | (cp & 63)), n = 2;
	else if (cp < 0x10000)
		u[0] = (uint8_t)(0xE0 | cp >> 12), u[1] = (uint8_t)(0x80 | (cp >> 6 & 63)),
		u[2] = (uint8_t)(0x80 | (cp & 63)), n = 3;
	else
		u[0] = (uint8_t)(0xF0 | cp >> 18), u[1] = (uint8_t)(0x80 | (cp >> 12 & 63)),
		u[2] = (uint8_t)(0x80 | (cp >> 6 & 63)), u[3] = (uint8_t)(0x80 | (cp & 63)), n = 4;
	return es_buf_append(b, u, n);
}

/* A string into b (NUL-terminated; an embedded NUL is refused). */
static int wj_str(struct wj *j, struct es_buf *b)
{
	es_buf_reset(b);
	if (!wj_lit(j, '"'))
		return wj_fail(j, "expected a string");
	int rc = 0;
	while (!rc) {
		if (j->pos >= j->len)
			return wj_fail(j, "unterminated string");
		unsigned char c = (unsigned char)j->p[j->pos++];
		if (c == '"')
			break;
		if (c < 0x20)
			return wj_fail(j, "control character in a string");
		if (c != '\\') {
			rc = es_buf_append(b, &c, 1);
			continue;
		}
		if (j->pos >= j->len)
			return wj_fail(j, "unterminated string");
		char e = j->p[j->pos++];
		const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
		const char *k = e ? strchr(from, e) : NULL;
		if (k) {
			rc = es_buf_append(b, to + (k - from), 1);
			continue;
		}
		if (e != 'u')
			return wj_fail(j, "unknown escape");
		unsigned cp, lo;
		if ((rc = hex4(j, &cp)))
			return rc;
		if (cp >= 0xD800 && cp < 0xDC00) {
			if (j->len - j->pos < 2 || j->p[j->pos] != '\\' || j->p[j->pos + 1] != 'u')
				return wj_fail(j, "lone surrogate");
			j->pos += 2;
			if ((rc = hex4(j, &lo)))
				return rc;
			if (lo < 0xDC00 || lo > 0xDFFF)
				return wj_fail(j, "lone surrogate");
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
			return wj_fail(j, "lone surrogate");
		}
		if (cp == 0)
			return wj_fail(j, "NUL in a string");
		rc = put_utf8(b, cp);
	}
	if (!rc)
		rc = es_buf_append(b, "", 1);
	return rc;
}

static int wj_num(struct wj *j, double *out)
{
	wj_ws(j);
	char num[40];
	size_t n = 0;
	while (j->pos + n < j->len && n < sizeof(num) - 1 &&
	       strchr("0123456789+-.eE", j->p[j->pos + n]) && j->p[j->pos + n])
		n++;
	memcpy(num, j->p + j->pos, n);
	num[n] = '\0';
	char *end;
	errno = 0;
	double v = n ? strtod(num, &end) : 0;
	if (!n || *end || errno || !isfinite(v))
		return wj_fail(j, "expected a number");
	j->pos += n;
	*out = v;
	return 0;
}

/* Skip any value (for unknown keys). */
static int wj_skip(struct wj *j, struct es_buf *b, int depth)
{
	if (depth > WJ_MAX_DEPTH)
		return wj_fail(j, "nested too deeply");
	wj_ws(j);
	if (j->pos >= j->len)
		return wj_fail(j, "expected a value");
	char c = j->p[j->pos];
	if (c == '"')
		return wj_str(j, b);
	if (c == '{' || c == '[') {
		char close = c == '{' ? '}' : ']';
		j->pos++;
		if (wj_lit(j, close))
			return 0;
		do {
			int rc;
			if (c == '{' && ((rc = wj_str(j, b)) || (!wj_lit(j, ':') && (rc = wj_fail(j, "expected ':'")))))
				return rc;
			if ((rc = wj_skip(j, b, depth + 1)))
				return rc;
		} while (wj_lit(j, ','));
		return wj_lit(j, close) ? 0 : wj_fail(j, "expected ',' or a closing bracket");
	}
	static const char *const lits[] = {"true", "false", "null"};
	for (size_t i = 0; i < 3; i++) {
		size_t l = strlen(lits[i]);
		if (j->len - j->pos >= l && !memcmp(j->p + j->pos, lits[i], l)) {
			j->pos += l;
			return 0;
		}
	}
	double d;
	return wj_num(j, &d);
}

static int wj_word(struct wj *j, struct es_buf *b, struct ta_word *w)
{
	memset(w, 0, sizeof(*w));
	w->conf = 1;
	if (!wj_lit(j, '{'))
		return wj_fail(j, "expected a word object");
	int rc = 0;
	bool have_text = false;
	if (wj_lit(j, '}'))
		return wj_fail(j, "a word without \"text\"");
	do {
		char key[16];
		if ((rc = wj_str(j, b)))
			break;
		sl_copy(key, sizeof(key), sl_cstr((const char *)b->p));
		if (!wj_lit(j, ':')) {
			rc = wj_fail(j, "expected ':'");
			break;
		}
		double d;
		if (!strcmp(key, "text") || !strcmp(key, "word")) {
			if ((rc = wj_str(j, b)))
				break;
			free((char *)w->text);
			if (!(w->text = strdup((const char *)b->p)))
				rc = ES_ENOMEM;
			have_text = true;
		} else if (!strcmp(key, "start_ms") || !strcmp(key, "end_ms") ||
			   !strcmp(key, "channel") || !strcmp(key, "conf")) {
			if ((rc = wj_num(j, &d)))
				break;
			if (key[0] == 'c' && key[1] == 'h') {
				if (d != 0 && d != 1)
					rc = wj_fail(j, "channel must be 0 (caller) or 1 (callee)");
				w->channel = (int)d;
			} else if (key[0] == 'c') {
				w->conf = (float)d;
			} else if (!(d >= 0 && d <= 1e15)) {
				rc = wj_fail(j, "a time out of range");
			} else if (key[0] == 's') {
				w->start_ms = (int64_t)d;
			} else {
				w->end_ms = (int64_t)d;
			}
		} else {
			rc = wj_skip(j, b, 2);
		}
	} while (!rc && wj_lit(j, ','));
	if (!rc && !wj_lit(j, '}'))
		rc = wj_fail(j, "expected ',' or '}'");
	if (!rc && !have_text)
		rc = wj_fail(j, "a word without \"text\"");
	if (!rc && w->end_ms < w->start_ms)
		rc = wj_fail(j, "a word that ends before it starts");
	if (rc) {
		free((char *)w->text);
		w->text = NULL;
	}
	return rc;
}

void ta_words_free(struct ta_word *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((char *)w[i].text);
	free(w);
}

static int wj_array(struct wj *j, struct es_buf *b, struct ta_word **w, size_t *n)
{
	size_t cap = 0;
	if (!wj_lit(j, '['))
		return wj_fail(j, "expected '['");
	if (wj_lit(j, ']'))
		return 0;
	do {
		if (*n == TA_MAX_WORDS)
			return es_errf(j->err, j->errlen, ES_ELIMIT, "more than %d words", TA_MAX_WORDS);
		if (ta_grow(w, n, &cap, sizeof(**w)))
			return ES_ENOMEM;
		int rc = wj_word(j, b, &(*w)[*n]);
		if (rc)
			return rc;
		(*n)++;
	} while (wj_lit(j, ','));
	return wj_lit(j, ']') ? 0 : wj_fail(j, "expected ',' or ']'");
}

int ta_words_parse(const char *text, size_t len, struct ta_word **w, size_t *n, char *err,
		   size_t errlen)
{
	struct wj j = {text, len, 0, err, errlen};
	struct es_buf b;
	es_buf_init(&b);
	*w = NULL;
	*n = 0;
	int rc;
	bool found = false;
	wj_ws(&j);
	if (j.pos < len && text[j.pos] == '[') {
		rc = wj_array(&j, &b, w, n);
		found = true;
	} else if (wj_lit(&j, '{')) {
		rc = 0;
		if (!wj_lit(&j, '}')) {
			do {
				if ((rc = wj_str(&j, &b)))
					break;
				bool words = !strcmp((const char *)b.p, "words");
				if (!wj_lit(&j, ':')) {
					rc = wj_fail(&j, "expected ':'");
					break;
				}
				if (words && !found) {
					rc = wj_array(&j, &b, w, n);
					found = true;
				} else {
					rc = wj_skip(&j, &b, 1);
				}
			} while (!rc && wj_lit(&j, ','));
			if (!rc && !wj_lit(&j, '}'))
				rc = wj_fail(&j, "expected ',' or '}'");
		}
		if (!rc && !found)
			rc = wj_fail(&j, "no \"words\" array");
	} else {
		rc = wj_fail(&j, "expected '[' or '{'");
	}
	wj_ws(&j);
	if (!rc && j.pos != len)
		rc = wj_fail(&j, "text after the JSON value");
	es_buf_free(&b);
	if (rc) {
		ta_words_free(*w, *n);
		*w = NULL;
		*n = 0;
	}
	return rc;
}

/* ---- findings as JSON ------------------------------------------------------- */

const char *ta_party_name(int channel)
{
	return channel == 0 ? "caller" : channel == 1 ? "callee" : "any";
}

void ta_hits_json(struct es_json *j, const struct ta_result *r)
{
	es_json_arr_begin(j);
	for (size_t i = 0; i < r->nhits; i++) {
		const struct ta_hit *h = &r->hits[i];
		es_json_obj_begin(j);
		es_json_key(j, "list");
		es_json_str(j, h->list);
		es_json_key(j, "category");
		es_json_str(j, h->category);
		es_json_key(j, "phrase");
		es_json_str(j, h->phrase);
		es_json_key(j, "party");
		es_json_str(j, ta_party_name(h->channel));
		es_json_key(j, "start_ms");
		es_json_int(j, h->start_ms);
		es_json_key(j, "end_ms");
		es_json_int(j, h->end_ms);
		es_json_obj_end(j);
	}
	es_json_arr_end(j);
}

void ta_missing_json(struct es_json *j, const struct ta_result *r)
{
	es_json_arr_begin(j);
	for (size_t i = 0; i < r->nmissing; i++) {
		es_json_obj_begin(j);
		es_json_key(j, "list");
		es_json_str(j, r->missing[i].list);
		es_json_key(j, "category");
		es_json_str(j, r->missing[i].category);
		es_json_key(j, "party");
		es_json_str(j, ta_party_name(r->missing[i].party));
		es_json_obj_end(j);
	}
	es_json_arr_end(j);
}
