/*
 * msg.c - zero-copy SIP message parsing (RFC 3261 7, 18.3, 25): start line,
 * headers with compact forms and folded lines, Via/CSeq/Content-Length,
 * body, stream framing and a cheap "is this SIP" check.
 */
#include "sip/sip.h"

#include <string.h>

static const struct {
	const char *name;
	char compact;
	enum sip_hdr_id id;
} hdr_names[] = {
	{"via", 'v', SIP_H_VIA},
	{"from", 'f', SIP_H_FROM},
	{"to", 't', SIP_H_TO},
	{"call-id", 'i', SIP_H_CALL_ID},
	{"cseq", 0, SIP_H_CSEQ},
	{"contact", 'm', SIP_H_CONTACT},
	{"content-type", 'c', SIP_H_CONTENT_TYPE},
	{"content-length", 'l', SIP_H_CONTENT_LENGTH},
	{"user-agent", 0, SIP_H_USER_AGENT},
	{"server", 0, SIP_H_SERVER},
	{"p-asserted-identity", 0, SIP_H_PAI},
	{"supported", 'k', SIP_H_SUPPORTED},
	{"require", 0, SIP_H_REQUIRE},
	{"session-expires", 'x', SIP_H_SESSION_EXPIRES},
	{"reason", 0, SIP_H_REASON},
	{"subject", 's', SIP_H_SUBJECT},
	{"event", 'o', SIP_H_EVENT},
	/* compact forms of headers without their own id (RFC 3261 and
	 * the IANA SIP parameter registry) */
	{"content-encoding", 'e', SIP_H_OTHER},
	{"refer-to", 'r', SIP_H_OTHER},
	{"allow-events", 'u', SIP_H_OTHER},
	{"referred-by", 'b', SIP_H_OTHER},
	{"accept-contact", 'a', SIP_H_OTHER},
	{"reject-contact", 'j', SIP_H_OTHER},
	{"request-disposition", 'd', SIP_H_OTHER},
	{"identity", 'y', SIP_H_OTHER},
	{"identity-info", 'n', SIP_H_OTHER},
};

static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }

/* Index in hdr_names of a full or compact name, or -1. */
static int hdr_lookup(struct slice name)
{
	if (name.len == 1) {
		char c = lower(name.p[0]);
		for (size_t i = 0; i < ES_ARRAY_LEN(hdr_names); i++)
			if (hdr_names[i].compact == c)
				return (int)i;
		return -1;
	}
	for (size_t i = 0; i < ES_ARRAY_LEN(hdr_names); i++)
		if (sl_eq_str_ci(name, hdr_names[i].name))
			return (int)i;
	return -1;
}

static bool is_token_char(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("-.!%*_+`'~", c) != NULL;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* One physical line starting at off: [off, *eol) without CR/LF, *next past
 * the LF.  Returns false when there is no LF before len. */
static bool next_line(const char *p, size_t len, size_t off, size_t *eol, size_t *next)
{
	const char *lf = off < len ? memchr(p + off, '\n', len - off) : NULL;
	if (!lf)
		return false;
	size_t e = (size_t)(lf - p);
	*next = e + 1;
	if (e > off && p[e - 1] == '\r')
		e--;
	*eol = e;
	return true;
}

static bool is_version(struct slice s) { return sl_eq_str_ci(s, "SIP/2.0"); }

/* "SIP/2.0 200 OK" or "INVITE sip:x SIP/2.0". */
static int parse_start_line(struct sip_msg *m, struct slice line)
{
	if (line.len >= 8 && sl_starts_ci(line, "SIP/2.0 ")) {
		struct slice r = sl_sub(line, 8, line.len);
		while (r.len && r.p[0] == ' ') {
			r.p++;
			r.len--;
		}
		if (r.len < 3 || !is_digit(r.p[0]) || !is_digit(r.p[1]) || !is_digit(r.p[2]))
			return ES_EPARSE;
		if (r.len > 3 && r.p[3] != ' ' && r.p[3] != '\t')
			return ES_EPARSE;
		unsigned code = (unsigned)(r.p[0] - '0') * 100 + (unsigned)(r.p[1] - '0') * 10 +
				(unsigned)(r.p[2] - '0');
		if (code < 100 || code > 699)
			return ES_EPARSE;
		m->is_request = false;
		m->status = code;
		m->reason = sl_trim(sl_sub(r, 3, r.len));
		return 0;
	}
	size_t i = 0;
	while (i < line.len && is_token_char((unsigned char)line.p[i]))
		i++;
	if (i == 0 || i >= line.len || line.p[i] != ' ')
		return ES_EPARSE;
	m->method = sl_make(line.p, i);
	struct slice rest = sl_sub(line, i + 1, line.len);
	long sp = sl_index(rest, ' ');
	if (sp <= 0)
		return ES_EPARSE;
	m->ruri = sl_make(rest.p, (size_t)sp);
	struct slice ver = sl_sub(rest, (size_t)sp + 1, rest.len);
	if (!is_version(ver))
		return ES_EPARSE;
	m->is_request = true;
	return 0;
}

/* Count comma-separated values outside quotes and <>; *first gets the
 * first value. */
static unsigned count_values(struct slice v, struct slice *first)
{
	unsigned n = 0;
	bool q = false;
	int angle = 0;
	size_t start = 0;
	bool have_first = false;
	for (size_t i = 0; i <= v.len; i++) {
		char c = i < v.len ? v.p[i] : ',';
		if (q) {
			if (c == '\\' && i + 1 < v.len)
				i++;
			else if (c == '"')
				q = false;
			continue;
		}
		if (c == '"')
			q = true;
		else if (c == '<')
			angle++;
		else if (c == '>' && angle)
			angle--;
		else if (c == ',' && !angle) {
			struct slice item = sl_trim(sl_make(v.p + start, i - start));
			if (item.len) {
				n++;
				if (!have_first) {
					*first = item;
					have_first = true;
				}
			}
			start = i + 1;
		}
	}
	if (q && !have_first) /* unterminated quote: one value */
		*first = v, n = v.len ? 1 : 0;
	return n;
}

static void on_header(struct sip_msg *m, enum sip_hdr_id id, struct slice v, int *err)
{
	switch (id) {
	case SIP_H_VIA: {
		struct slice first = SL_NULL;
		unsigned n = count_values(v, &first);
		if (m->nvia == 0 && n && first.p) {
			struct slice head, params;
			if (sl_split(first, ';', &head, &params)) {
				struct slice b;
				if (sip_param(params, "branch", &b) == 0)
					m->via_branch = b;
			}
		}
		m->nvia += n;
		break;
	}
	case SIP_H_FROM:
		if (!m->from.p)
			m->from = v;
		break;
	case SIP_H_TO:
		if (!m->to.p)
			m->to = v;
		break;
	case SIP_H_CALL_ID:
		if (!m->call_id.p)
			m->call_id = v;
		break;
	case SIP_H_CSEQ:
		if (!m->cseq_method.p && v.len) {
			size_t i = 0;
			while (i < v.len && is_digit(v.p[i]))
				i++;
			uint32_t n;
			if (sl_to_u32(sl_make(v.p, i), &n) == 0) {
				m->cseq = n;
				m->cseq_method = sl_trim(sl_sub(v, i, v.len));
			}
		}
		break;
	case SIP_H_CONTENT_TYPE:
		if (!m->content_type.p)
			m->content_type = v;
		break;
	case SIP_H_CONTENT_LENGTH:
		if (!m->has_content_length) {
			uint32_t n;
			if (sl_to_u32(v, &n)) {
				*err = ES_EPARSE;
				break;
			}
			m->has_content_length = true;
			m->content_length = n;
		}
		break;
	default:
		break;
	}
}

int sip_msg_parse(struct sip_msg *m, const char *p, size_t len)
{
	memset(m, 0, sizeof(*m));
	if (!p)
		return ES_EPARSE;
	size_t off = 0;
	/* RFC 3261 7.5: ignore CRLFs before the start line */
	while (off < len && (p[off] == '\r' || p[off] == '\n'))
		off++;
	const char *base = p + off;
	size_t eol, next;
	if (!next_line(p, len, off, &eol, &next))
		return ES_EPARSE;
	int err = parse_start_line(m, sl_make(p + off, eol - off));
	if (err)
		return err;
	off = next;
	bool ended = false;
	while (off < len) {
		if (!next_line(p, len, off, &eol, &next))
			return ES_EPARSE; /* no blank line */
		if (eol == off) {
			off = next;
			ended = true;
			break;
		}
		if (p[off] == ' ' || p[off] == '\t')
			return ES_EPARSE; /* continuation with no header before */
		size_t line_start = off;
		/* join continuation lines */
		while (next < len && (p[next] == ' ' || p[next] == '\t')) {
			size_t e2, n2;
			if (!next_line(p, len, next, &e2, &n2))
				return ES_EPARSE;
			eol = e2;
			next = n2;
		}
		struct slice line = sl_make(p + line_start, eol - line_start);
		long colon = sl_index(line, ':');
		if (colon <= 0)
			return ES_EPARSE;
		struct slice name = sl_trim(sl_make(line.p, (size_t)colon));
		if (!name.len)
			return ES_EPARSE;
		for (size_t i = 0; i < name.len; i++)
			if (!is_token_char((unsigned char)name.p[i]))
				return ES_EPARSE;
		struct slice value = sl_trim(sl_sub(line, (size_t)colon + 1, line.len));
		int k = hdr_lookup(name);
		enum sip_hdr_id id = k >= 0 ? hdr_names[k].id : SIP_H_OTHER;
		if (m->nhdrs < SIP_MAX_HEADERS) {
			struct sip_hdr *h = &m->hdrs[m->nhdrs++];
			h->id = id;
			h->name = name;
			h->value = value;
		} else {
			m->hdrs_truncated = true;
		}
		on_header(m, id, value, &err);
		if (err)
			return err;
		off = next;
	}
	if (!ended)
		return ES_EPARSE;
	size_t rest = len - off;
	if (m->has_content_length) {
		if (m->content_length > rest)
			return ES_ETRUNC;
		m->body = sl_make(p + off, m->content_length);
		m->msg_len = (size_t)(p + off - base) + m->content_length;
	} else {
		m->body = sl_make(p + off, rest);
		m->msg_len = len - (size_t)(base - p);
	}
	return 0;
}

struct slice sip_msg_hdr(const struct sip_msg *m, enum sip_hdr_id id)
{
	if (id == SIP_H_OTHER)
		return SL_NULL;
	for (unsigned i = 0; i < m->nhdrs; i++)
		if (m->hdrs[i].id == id)
			return m->hdrs[i].value;
	return SL_NULL;
}

struct slice sip_msg_hdr_name(const struct sip_msg *m, const char *name)
{
	if (!name)
		return SL_NULL;
	struct slice want = sl_cstr(name);
	int k = hdr_lookup(want);
	for (unsigned i = 0; i < m->nhdrs; i++) {
		const struct sip_hdr *h = &m->hdrs[i];
		if (k >= 0) {
			if (hdr_lookup(h->name) == k)
				return h->value;
		} else if (sl_eq_ci(h->name, want)) {
			return h->value;
		}
	}
	return SL_NULL;
}

/* ---- framing -------------------------------------------------------------- */

static bool line_looks_like(const char *p, size_t n)
{
	struct slice line = sl_make(p, n);
	if (n >= 12 && sl_starts_ci(line, "SIP/2.0 ")) {
		return is_digit(p[8]) && is_digit(p[9]) && is_digit(p[10]) &&
		       (n == 11 || p[11] == ' ' || p[11] == '\t');
	}
	if (n == 11 && sl_starts_ci(line, "SIP/2.0 "))
		return is_digit(p[8]) && is_digit(p[9]) && is_digit(p[10]);
	size_t i = 0;
	while (i < n && is_token_char((unsigned char)p[i]))
		i++;
	if (i == 0 || i >= n || p[i] != ' ')
		return false;
	if (n < i + 1 + 1 + 8)
		return false;
	struct slice ver = sl_make(p + n - 8, 8);
	if (!sl_eq_str_ci(ver, " SIP/2.0"))
		return false;
	/* a non-empty URI without spaces between */
	size_t us = i + 1, ue = n - 8;
	if (ue <= us)
		return false;
	for (size_t j = us; j < ue; j++)
		if (p[j] == ' ' || p[j] == '\t')
			return false;
	return true;
}

bool sip_looks_like(const uint8_t *p, size_t len)
{
	if (!p || len < 11)
		return false;
	const char *s = (const char *)p;
	size_t n = 0;
	while (n < len && s[n] != '\r' && s[n] != '\n')
		n++;
	return line_looks_like(s, n);
}

/* Could this be the beginning of a start line (first line incomplete)? */
static bool prefix_plausible(const char *p, size_t n)
{
	static const char ver[] = "SIP/2.0 ";
	size_t i;
	for (i = 0; i < n && i < 8; i++)
		if (lower(p[i]) != lower(ver[i]))
			break;
	if (i == n || i == 8)
		return true;
	for (i = 0; i < n && is_token_char((unsigned char)p[i]); i++)
		;
	if (i == n)
		return true;
	return i > 0 && p[i] == ' ';
}

int sip_frame(const char *p, size_t len, size_t max_len, size_t *skip, size_t *msg_len)
{
	size_t k = 0;
	*msg_len = 0;
	while (k < len && (p[k] == '\r' || p[k] == '\n'))
		k++;
	*skip = k;
	if (k == len)
		return ES_EAGAIN;
	const char *s = p + k;
	size_t n = len - k;
	size_t lim = max_len && max_len < n ? max_len : n;
	size_t off = 0, eol, next;
	/* the start line */
	if (!next_line(s, lim, 0, &eol, &next)) {
		if (lim < n)
			return ES_EPARSE; /* too long */
		return prefix_plausible(s, n) ? ES_EAGAIN : ES_EPARSE;
	}
	if (!line_looks_like(s, eol))
		return ES_EPARSE;
	off = next;
	bool have_cl = false;
	uint64_t cl = 0;
	for (;;) {
		if (!next_line(s, lim, off, &eol, &next))
			return lim < n ? ES_EPARSE : ES_EAGAIN;
		if (eol == off) {
			off = next;
			break;
		}
		struct slice line = sl_make(s + off, eol - off);
		long colon = sl_index(line, ':');
		if (colon > 0 && !have_cl) {
			struct slice name = sl_trim(sl_make(line.p, (size_t)colon));
			int h = hdr_lookup(name);
			if (h >= 0 && hdr_names[h].id == SIP_H_CONTENT_LENGTH) {
				struct slice v = sl_trim(sl_sub(line, (size_t)colon + 1, line.len));
				uint32_t u;
				if (sl_to_u32(v, &u))
					return ES_EPARSE;
				cl = u;
				have_cl = true;
			}
		}
		off = next;
	}
	/* RFC 3261 18.3: Content-Length is mandatory on streams; absent = 0 */
	if (cl > n - off)
		return ES_EAGAIN;
	*msg_len = off + (size_t)cl;
	return 0;
}
