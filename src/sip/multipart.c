/*
 * multipart.c - multipart bodies (RFC 2046 5.1) as used by SIPREC
 * (SDP + application/rs-metadata+xml) and SIP-T/ISUP.
 */
#include "sip/sip.h"

#include <string.h>

/* The media type without parameters: "multipart/mixed". */
static struct slice media_type(struct slice ct)
{
	struct slice t, params;
	if (!ct.p)
		return SL_NULL;
	sl_split(ct, ';', &t, &params);
	return sl_trim(t);
}

static struct slice ct_params(struct slice ct)
{
	long semi = ct.p ? sl_index(ct, ';') : -1;
	return semi >= 0 ? sl_sub(ct, (size_t)semi, ct.len) : SL_NULL;
}

/* Position of "--boundary" at the start of a line at or after from, or
 * (size_t)-1.  *after is the offset just past the boundary. */
static size_t find_delim(struct slice body, struct slice b, size_t from, size_t *after)
{
	size_t need = b.len + 2;
	for (size_t i = from; i + need <= body.len; i++) {
		if (body.p[i] != '-' || body.p[i + 1] != '-')
			continue;
		if (i != 0 && body.p[i - 1] != '\n')
			continue;
		if (memcmp(body.p + i + 2, b.p, b.len) != 0)
			continue;
		*after = i + need;
		return i;
	}
	return (size_t)-1;
}

static void parse_part(struct slice raw, struct sip_part *part)
{
	memset(part, 0, sizeof(*part));
	size_t off = 0;
	for (;;) {
		if (off >= raw.len) {
			/* headers only, no blank line */
			part->body = sl_make(raw.p + raw.len, 0);
			return;
		}
		const char *lf = memchr(raw.p + off, '\n', raw.len - off);
		size_t end = lf ? (size_t)(lf - raw.p) : raw.len;
		size_t next = lf ? end + 1 : raw.len;
		size_t e = end;
		if (e > off && raw.p[e - 1] == '\r')
			e--;
		if (e == off) {
			part->body = sl_sub(raw, next, raw.len);
			return;
		}
		struct slice line = sl_make(raw.p + off, e - off);
		struct slice name, value;
		if (sl_split(line, ':', &name, &value)) {
			name = sl_trim(name);
			if (!part->content_type.p &&
			    (sl_eq_str_ci(name, "content-type") || sl_eq_str_ci(name, "c")))
				part->content_type = sl_trim(value);
		}
		off = next;
	}
}

int sip_multipart_parse(struct slice content_type, struct slice body,
			struct sip_part *parts, unsigned max, unsigned *n)
{
	*n = 0;
	struct slice b;
	if (sip_param(ct_params(content_type), "boundary", &b))
		return ES_EPARSE;
	if (b.len >= 2 && b.p[0] == '"' && b.p[b.len - 1] == '"') {
		b.p++;
		b.len -= 2;
	}
	if (!b.len || b.len > 200 || !body.p)
		return ES_EPARSE;
	size_t after;
	size_t pos = find_delim(body, b, 0, &after);
	if (pos == (size_t)-1)
		return ES_EPARSE;
	for (;;) {
		/* after a delimiter: "--" closes, else skip padding to the LF */
		if (after + 2 <= body.len && body.p[after] == '-' && body.p[after + 1] == '-')
			return 0;
		const char *lf = after < body.len ? memchr(body.p + after, '\n', body.len - after) : NULL;
		if (!lf)
			return ES_ETRUNC;
		size_t start = (size_t)(lf - body.p) + 1;
		size_t next_after;
		size_t next = find_delim(body, b, start, &next_after);
		size_t end = next == (size_t)-1 ? body.len : next;
		/* the CRLF before the delimiter belongs to it */
		if (next != (size_t)-1 && end > start && body.p[end - 1] == '\n') {
			end--;
			if (end > start && body.p[end - 1] == '\r')
				end--;
		}
		if (end < start)
			end = start;
		if (*n < max)
			parse_part(sl_make(body.p + start, end - start), &parts[(*n)++]);
		if (next == (size_t)-1)
			return ES_ETRUNC; /* no closing delimiter: the parts found stand */
		after = next_after;
	}
}

static int body_find(struct slice ct, struct slice body, struct slice want, struct slice *out,
		     int depth)
{
	struct slice t = media_type(ct);
	if (!t.len)
		return ES_ENOTFOUND;
	if (sl_eq_ci(t, want)) {
		*out = body;
		return 0;
	}
	if (depth > 2 || !sl_starts_ci(t, "multipart/"))
		return ES_ENOTFOUND;
	struct sip_part parts[SIP_MAX_PARTS];
	unsigned n;
	int err = sip_multipart_parse(ct, body, parts, SIP_MAX_PARTS, &n);
	if (err && err != ES_ETRUNC) /* lenient: a body cut short still has its parts */
		return ES_ENOTFOUND;
	for (unsigned i = 0; i < n; i++)
		if (sl_eq_ci(media_type(parts[i].content_type), want)) {
			*out = parts[i].body;
			return 0;
		}
	for (unsigned i = 0; i < n; i++)
		if (body_find(parts[i].content_type, parts[i].body, want, out, depth + 1) == 0)
			return 0;
	return ES_ENOTFOUND;
}

int sip_body_find(struct slice content_type, struct slice body, const char *want_type,
		  struct slice *out)
{
	if (!want_type)
		return ES_ENOTFOUND;
	return body_find(content_type, body, sl_cstr(want_type), out, 0);
}
