/* slice.c - error strings and byte-slice helpers. */
#include "core.h"

#include <stdlib.h>
#include <string.h>

static const char *const err_text[] = {
	"success",
	"malformed input",
	"input truncated",
	"out of memory",
	"input/output error",
	"invalid argument",
	"not found",
	"already exists",
	"not supported",
	"incomplete, more data needed",
	"limit reached",
	"wrong file format",
	"index database error",
	"authentication failed (tampered, truncated or wrong key)",
	"refused: under legal hold",
	"the key-encryption key is not configured on this node",
	"time limit reached",
};

const char *es_strerror(int err)
{
	if (err > 0 || (size_t)(-err) >= ES_ARRAY_LEN(err_text))
		return "unknown error";
	return err_text[-err];
}

static inline char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

struct slice sl_cstr(const char *s)
{
	return sl_make(s, s ? strlen(s) : 0);
}

bool sl_eq(struct slice a, struct slice b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

bool sl_eq_ci(struct slice a, struct slice b)
{
	if (a.len != b.len)
		return false;
	for (size_t i = 0; i < a.len; i++)
		if (lower(a.p[i]) != lower(b.p[i]))
			return false;
	return true;
}

bool sl_eq_str_ci(struct slice a, const char *s)
{
	return sl_eq_ci(a, sl_cstr(s));
}

bool sl_starts_ci(struct slice a, const char *prefix)
{
	size_t n = strlen(prefix);
	return a.len >= n && sl_eq_ci(sl_make(a.p, n), sl_make(prefix, n));
}

static inline bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct slice sl_trim(struct slice s)
{
	while (s.len && is_ws(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len && is_ws(s.p[s.len - 1]))
		s.len--;
	return s;
}

long sl_index(struct slice s, char c)
{
	const char *q = s.len ? memchr(s.p, c, s.len) : NULL;
	return q ? (long)(q - s.p) : -1;
}

long sl_find(struct slice s, struct slice needle)
{
	if (needle.len == 0)
		return 0;
	if (needle.len > s.len)
		return -1;
	for (size_t i = 0; i + needle.len <= s.len; i++) {
		const char *q = memchr(s.p + i, needle.p[0], s.len - needle.len - i + 1);
		if (!q)
			return -1;
		i = (size_t)(q - s.p);
		if (memcmp(q, needle.p, needle.len) == 0)
			return (long)i;
	}
	return -1;
}

long sl_find_ci(struct slice s, struct slice needle)
{
	if (needle.len == 0)
		return 0;
	for (size_t i = 0; i + needle.len <= s.len; i++)
		if (sl_eq_ci(sl_make(s.p + i, needle.len), needle))
			return (long)i;
	return -1;
}

struct slice sl_sub(struct slice s, size_t from, size_t n)
{
	if (from >= s.len)
		return sl_make(s.p + s.len, 0);
	if (n > s.len - from)
		n = s.len - from;
	return sl_make(s.p + from, n);
}

bool sl_split(struct slice s, char c, struct slice *head, struct slice *rest)
{
	long i = sl_index(s, c);
	if (i < 0) {
		*head = s;
		*rest = sl_make(s.p + s.len, 0);
		return false;
	}
	*head = sl_make(s.p, (size_t)i);
	*rest = sl_make(s.p + i + 1, s.len - (size_t)i - 1);
	return true;
}

int sl_to_u64(struct slice s, uint64_t *out)
{
	uint64_t v = 0;
	if (s.len == 0)
		return ES_EPARSE;
	for (size_t i = 0; i < s.len; i++) {
		unsigned d = (unsigned char)s.p[i] - '0';
		if (d > 9)
			return ES_EPARSE;
		if (v > (UINT64_MAX - d) / 10)
			return ES_EPARSE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int sl_to_decimal(struct slice s, double *out)
{
	if (!s.len || s.len > 12)
		return ES_EPARSE;
	double v = 0, scale = 0;
	bool digit = false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		if (c == '.' && scale == 0) {
			scale = 1;
		} else if (c >= '0' && c <= '9') {
			digit = true;
			if (scale > 0) {
				scale /= 10;
				v += (c - '0') * scale;
			} else {
				v = v * 10 + (c - '0');
			}
		} else {
			return ES_EPARSE;
		}
	}
	if (!digit)
		return ES_EPARSE;
	*out = v;
	return 0;
}

int sl_to_u32(struct slice s, uint32_t *out)
{
	uint64_t v;
	int err = sl_to_u64(s, &v);
	if (err)
		return err;
	if (v > UINT32_MAX)
		return ES_EPARSE;
	*out = (uint32_t)v;
	return 0;
}

size_t sl_copy(char *dst, size_t cap, struct slice s)
{
	size_t n = s.len < cap - 1 ? s.len : cap - 1;
	if (n)
		memcpy(dst, s.p, n);
	dst[n] = '\0';
	return n;
}

char *sl_strdup(struct slice s)
{
	char *d = malloc(s.len + 1);
	if (!d)
		return NULL;
	if (s.len)
		memcpy(d, s.p, s.len);
	d[s.len] = '\0';
	return d;
}
