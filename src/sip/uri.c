/*
 * uri.c - SIP/SIPS/tel URIs (RFC 3261 19.1, RFC 3966), name-addr and
 * addr-spec header values (RFC 3261 20.10) and ;name=value parameter lists.
 */
#include "sip/sip.h"

#include <string.h>

static bool is_lws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static struct slice skip_lws(struct slice s)
{
	while (s.len && is_lws(s.p[0])) {
		s.p++;
		s.len--;
	}
	return s;
}

static int parse_port(struct slice s, uint16_t *port)
{
	uint32_t v;
	if (s.len == 0 || s.len > 5 || sl_to_u32(s, &v) || v == 0 || v > 65535)
		return ES_EPARSE;
	*port = (uint16_t)v;
	return 0;
}

/* host[:port] with host possibly "[v6]". */
static int parse_hostport(struct slice hp, struct sip_uri *u)
{
	if (!hp.len)
		return ES_EPARSE;
	struct slice portpart = SL_NULL;
	if (hp.p[0] == '[') {
		long close = sl_index(hp, ']');
		if (close < 2)
			return ES_EPARSE;
		u->host = sl_make(hp.p + 1, (size_t)close - 1);
		struct slice after = sl_sub(hp, (size_t)close + 1, hp.len);
		if (after.len) {
			if (after.p[0] != ':')
				return ES_EPARSE;
			portpart = sl_sub(after, 1, after.len);
			if (!portpart.len)
				return ES_EPARSE;
		}
		for (size_t i = 0; i < u->host.len; i++) {
			char c = u->host.p[i];
			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			      (c >= 'A' && c <= 'F') || c == ':' || c == '.'))
				return ES_EPARSE;
		}
	} else {
		struct slice host, port;
		bool has_port = sl_split(hp, ':', &host, &port);
		if (!host.len)
			return ES_EPARSE;
		for (size_t i = 0; i < host.len; i++) {
			char c = host.p[i];
			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			      (c >= 'A' && c <= 'Z') || c == '.' || c == '-' || c == '_'))
				return ES_EPARSE;
		}
		u->host = host;
		if (has_port) {
			portpart = port;
			if (!portpart.len)
				return ES_EPARSE;
		}
	}
	if (portpart.len)
		return parse_port(portpart, &u->port);
	return 0;
}

int sip_uri_parse(struct slice s, struct sip_uri *u)
{
	memset(u, 0, sizeof(*u));
	if (!s.p)
		return ES_EPARSE;
	s = sl_trim(s);
	struct slice scheme, rest;
	if (!sl_split(s, ':', &scheme, &rest))
		return ES_EPARSE;
	bool tel = sl_eq_str_ci(scheme, "tel");
	if (!tel && !sl_eq_str_ci(scheme, "sip") && !sl_eq_str_ci(scheme, "sips"))
		return ES_EPARSE;
	for (size_t i = 0; i < rest.len; i++)
		if (is_lws(rest.p[i]) || rest.p[i] == '<' || rest.p[i] == '>' || rest.p[i] == '"')
			return ES_EPARSE;
	struct slice body = rest, hdrs;
	if (sl_split(rest, '?', &body, &hdrs))
		u->headers = hdrs;
	if (tel) {
		struct slice num, params;
		if (sl_split(body, ';', &num, &params))
			u->params = sl_make(params.p - 1, params.len + 1);
		if (!num.len)
			return ES_EPARSE;
		u->user = num;
		u->scheme = scheme;
		return 0;
	}
	struct slice hostpart = body;
	long at = sl_index(body, '@');
	if (at >= 0) {
		struct slice userinfo = sl_make(body.p, (size_t)at);
		struct slice user, pass;
		sl_split(userinfo, ':', &user, &pass); /* password is not kept */
		if (!user.len)
			return ES_EPARSE;
		u->user = user;
		hostpart = sl_sub(body, (size_t)at + 1, body.len);
	}
	struct slice hp, params;
	if (sl_split(hostpart, ';', &hp, &params))
		u->params = sl_make(params.p - 1, params.len + 1);
	int err = parse_hostport(hp, u);
	if (err) {
		memset(u, 0, sizeof(*u));
		return err;
	}
	u->scheme = scheme;
	return 0;
}

/* Index of the first c in s outside a quoted string, or -1. */
static long index_unquoted(struct slice s, char c)
{
	bool q = false;
	for (size_t i = 0; i < s.len; i++) {
		char x = s.p[i];
		if (q) {
			if (x == '\\')
				i++;
			else if (x == '"')
				q = false;
		} else if (x == '"') {
			q = true;
		} else if (x == c) {
			return (long)i;
		}
	}
	return -1;
}

int sip_nameaddr_parse(struct slice s, struct sip_nameaddr *na)
{
	memset(na, 0, sizeof(*na));
	if (!s.p)
		return ES_EPARSE;
	s = sl_trim(s);
	if (!s.len)
		return ES_EPARSE;
	struct slice after;
	if (s.p[0] == '"') {
		size_t i = 1;
		bool closed = false;
		for (; i < s.len; i++) {
			if (s.p[i] == '\\') {
				i++;
				continue;
			}
			if (s.p[i] == '"') {
				closed = true;
				break;
			}
		}
		if (!closed)
			return ES_EPARSE;
		na->display = sl_make(s.p + 1, i - 1);
		after = skip_lws(sl_sub(s, i + 1, s.len));
		if (!after.len || after.p[0] != '<')
			return ES_EPARSE;
	} else {
		long lt = sl_index(s, '<');
		long semi = sl_index(s, ';');
		long comma = sl_index(s, ',');
		if (lt >= 0 && (semi < 0 || lt < semi) && (comma < 0 || lt < comma)) {
			na->display = sl_trim(sl_make(s.p, (size_t)lt));
			after = sl_sub(s, (size_t)lt, s.len);
		} else {
			/* addr-spec: params after ';' belong to the header */
			size_t end = s.len;
			if (semi >= 0)
				end = (size_t)semi;
			if (comma >= 0 && (size_t)comma < end)
				end = (size_t)comma;
			na->uri = sl_trim(sl_make(s.p, end));
			if (!na->uri.len)
				return ES_EPARSE;
			if (semi >= 0 && (size_t)semi == end) {
				struct slice pr = sl_sub(s, end, s.len);
				long c2 = index_unquoted(pr, ',');
				if (c2 >= 0)
					pr.len = (size_t)c2;
				na->params = sl_trim(pr);
			}
			goto uri;
		}
	}
	/* after starts with '<' */
	{
		long gt = sl_index(after, '>');
		if (gt < 0)
			return ES_EPARSE;
		na->uri = sl_trim(sl_make(after.p + 1, (size_t)gt - 1));
		if (!na->uri.len)
			return ES_EPARSE;
		struct slice pr = skip_lws(sl_sub(after, (size_t)gt + 1, after.len));
		long c2 = index_unquoted(pr, ',');
		if (c2 >= 0)
			pr.len = (size_t)c2;
		pr = sl_trim(pr);
		if (pr.len && pr.p[0] == ';')
			na->params = pr;
	}
uri:
	if (sip_uri_parse(na->uri, &na->u))
		memset(&na->u, 0, sizeof(na->u));
	struct slice tag;
	if (na->params.len && sip_param(na->params, "tag", &tag) == 0)
		na->tag = tag;
	return 0;
}

int sip_param(struct slice params, const char *name, struct slice *value)
{
	if (!params.p || !name)
		return ES_ENOTFOUND;
	struct slice want = sl_cstr(name);
	struct slice rest = params;
	while (rest.len) {
		long semi = index_unquoted(rest, ';');
		struct slice item = semi >= 0 ? sl_make(rest.p, (size_t)semi) : rest;
		rest = semi >= 0 ? sl_sub(rest, (size_t)semi + 1, rest.len) : sl_make(rest.p + rest.len, 0);
		item = sl_trim(item);
		if (!item.len)
			continue;
		struct slice k, v;
		bool has_v = sl_split(item, '=', &k, &v);
		if (sl_eq_ci(sl_trim(k), want)) {
			*value = has_v ? sl_trim(v) : sl_make(item.p + item.len, 0);
			return 0;
		}
	}
	return ES_ENOTFOUND;
}
