/*
 * sdp.c - SDP (RFC 8866) for recording: origin, connection addresses,
 * media lines, rtpmap/fmtp (RFC 3551 static payload defaults), telephone
 * events (RFC 4733), direction (RFC 3264), a=rtcp (RFC 3605), rtcp-mux
 * (RFC 5761), label (RFC 4574) and crypto (RFC 4568).
 */
#include "sip/sip.h"

#include <string.h>

/* RFC 3551 table 4/5 static payload types. */
static const struct {
	uint8_t pt;
	const char *enc;
	uint32_t clock;
	uint8_t channels;
} static_pts[] = {
	{0, "PCMU", 8000, 1},   {3, "GSM", 8000, 1},     {4, "G723", 8000, 1},
	{5, "DVI4", 8000, 1},   {6, "DVI4", 16000, 1},   {7, "LPC", 8000, 1},
	{8, "PCMA", 8000, 1},   {9, "G722", 8000, 1},    {10, "L16", 44100, 2},
	{11, "L16", 44100, 1},  {12, "QCELP", 8000, 1},  {13, "CN", 8000, 1},
	{14, "MPA", 90000, 1},  {15, "G728", 8000, 1},   {16, "DVI4", 11025, 1},
	{17, "DVI4", 22050, 1}, {18, "G729", 8000, 1},   {25, "CelB", 90000, 1},
	{26, "JPEG", 90000, 1}, {28, "nv", 90000, 1},    {31, "H261", 90000, 1},
	{32, "MPV", 90000, 1},  {33, "MP2T", 90000, 1},  {34, "H263", 90000, 1},
};

/* Next space-separated word of *s. */
static struct slice word(struct slice *s)
{
	size_t i = 0;
	while (i < s->len && (s->p[i] == ' ' || s->p[i] == '\t'))
		i++;
	size_t st = i;
	while (i < s->len && s->p[i] != ' ' && s->p[i] != '\t')
		i++;
	struct slice w = sl_make(s->p + st, i - st);
	*s = sl_make(s->p + i, s->len - i);
	return w;
}

static int parse_u16(struct slice s, uint16_t *out)
{
	uint32_t v;
	if (s.len > 5 || sl_to_u32(s, &v) || v > 65535)
		return ES_EPARSE;
	*out = (uint16_t)v;
	return 0;
}

static int parse_pt(struct slice s, uint8_t *out)
{
	uint32_t v;
	if (s.len > 3 || sl_to_u32(s, &v) || v > 127)
		return ES_EPARSE;
	*out = (uint8_t)v;
	return 0;
}

static bool hostname_chars(struct slice s)
{
	if (!s.len)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '.' || c == '-' || c == '_'))
			return false;
	}
	return true;
}

/* "IN IP4 192.0.2.1[/ttl[/n]]" */
static int parse_conn(struct slice v, struct es_addr *a)
{
	struct slice nettype = word(&v), addrtype = word(&v), addr = word(&v);
	memset(a, 0, sizeof(*a));
	if (!sl_eq_str_ci(nettype, "IN"))
		return ES_EPARSE;
	bool v4 = sl_eq_str_ci(addrtype, "IP4");
	if (!v4 && !sl_eq_str_ci(addrtype, "IP6"))
		return ES_EPARSE;
	struct slice host, rest;
	sl_split(addr, '/', &host, &rest);
	if (!host.len)
		return ES_EPARSE;
	if (es_addr_parse_ip(host, a) == 0) {
		if ((a->family == ES_AF_INET) != v4) {
			memset(a, 0, sizeof(*a));
			return ES_EPARSE;
		}
		return 0;
	}
	memset(a, 0, sizeof(*a));
	/* an FQDN is allowed (RFC 8866 5.7); we cannot resolve it here */
	return hostname_chars(host) ? 0 : ES_EPARSE;
}

static bool is_rtp_proto(struct slice proto)
{
	return sl_starts_ci(proto, "RTP/") || sl_starts_ci(proto, "UDP/TLS/RTP/") ||
	       sl_starts_ci(proto, "TCP/RTP/") || sl_starts_ci(proto, "TCP/TLS/RTP/");
}

static struct sdp_rtpmap *map_get(struct sdp_media *md, uint8_t pt, bool create)
{
	for (unsigned i = 0; i < md->nmap; i++)
		if (md->maps[i].pt == pt)
			return &md->maps[i];
	if (!create || md->nmap >= SDP_MAX_FMT)
		return NULL;
	struct sdp_rtpmap *r = &md->maps[md->nmap++];
	memset(r, 0, sizeof(*r));
	r->pt = pt;
	r->channels = 1;
	return r;
}

static int parse_media(struct sdp_media *md, struct slice v)
{
	memset(md, 0, sizeof(*md));
	md->telephone_event_pt = -1;
	md->nports = 1;
	md->type = word(&v);
	struct slice port = word(&v);
	md->proto = word(&v);
	if (!md->type.len || !port.len || !md->proto.len)
		return ES_EPARSE;
	struct slice pn, np;
	if (sl_split(port, '/', &pn, &np)) {
		if (parse_u16(np, &md->nports))
			return ES_EPARSE;
	}
	if (parse_u16(pn, &md->port))
		return ES_EPARSE;
	bool rtp = is_rtp_proto(md->proto);
	for (;;) {
		struct slice f = word(&v);
		if (!f.len)
			break;
		uint8_t pt;
		if (!rtp || parse_pt(f, &pt))
			continue; /* t38, webrtc-datachannel, ... */
		if (md->nfmt < SDP_MAX_FMT)
			md->fmts[md->nfmt++] = pt;
	}
	return 0;
}

/* "96 opus/48000/2" */
static void attr_rtpmap(struct sdp_media *md, struct slice v)
{
	struct slice ptw = word(&v);
	uint8_t pt;
	if (parse_pt(ptw, &pt))
		return;
	struct slice spec = sl_trim(v);
	struct slice enc, rest, clock, ch;
	sl_split(spec, '/', &enc, &rest);
	if (!enc.len)
		return;
	bool has_ch = sl_split(rest, '/', &clock, &ch);
	struct sdp_rtpmap *r = map_get(md, pt, true);
	if (!r)
		return;
	r->encoding = enc;
	uint32_t c;
	r->clock = sl_to_u32(clock, &c) == 0 ? c : 0;
	r->channels = 1;
	if (has_ch && sl_to_u32(ch, &c) == 0 && c > 0 && c < 256)
		r->channels = (uint8_t)c;
	if (md->telephone_event_pt < 0 && sl_eq_str_ci(enc, "telephone-event"))
		md->telephone_event_pt = pt;
}

static void attr_fmtp(struct sdp_media *md, struct slice v)
{
	struct slice ptw = word(&v);
	uint8_t pt;
	if (parse_pt(ptw, &pt))
		return;
	struct sdp_rtpmap *r = map_get(md, pt, true);
	if (r && !r->fmtp.p)
		r->fmtp = sl_trim(v);
}

static bool parse_dir(struct slice name, enum sdp_dir *d)
{
	static const char *const names[] = {"sendrecv", "sendonly", "recvonly", "inactive"};
	for (size_t i = 0; i < ES_ARRAY_LEN(names); i++)
		if (sl_eq_str_ci(name, names[i])) {
			*d = (enum sdp_dir)i;
			return true;
		}
	return false;
}

/* Static defaults, drop fmtp-only entries without an encoding. */
static void finish_maps(struct sdp_media *md)
{
	if (!is_rtp_proto(md->proto))
		goto prune;
	for (unsigned i = 0; i < md->nfmt; i++) {
		uint8_t pt = md->fmts[i];
		struct sdp_rtpmap *r = map_get(md, pt, false);
		if (r && r->encoding.len)
			continue;
		for (size_t k = 0; k < ES_ARRAY_LEN(static_pts); k++) {
			if (static_pts[k].pt != pt)
				continue;
			if (!r)
				r = map_get(md, pt, true);
			if (!r)
				break;
			r->encoding = sl_cstr(static_pts[k].enc);
			r->clock = static_pts[k].clock;
			r->channels = static_pts[k].channels;
			break;
		}
	}
prune:;
	unsigned w = 0;
	for (unsigned i = 0; i < md->nmap; i++)
		if (md->maps[i].encoding.len)
			md->maps[w++] = md->maps[i];
	md->nmap = w;
}

int sdp_parse(struct sdp *s, const char *p, size_t len)
{
	memset(s, 0, sizeof(*s));
	s->dir = SDP_SENDRECV;
	if (!p)
		return ES_EPARSE;
	bool seen_v = false, in_media = false;
	bool has_c[SDP_MAX_MEDIA] = {false}, has_dir[SDP_MAX_MEDIA] = {false},
	     has_rtcp[SDP_MAX_MEDIA] = {false};
	struct sdp_media *md = NULL;
	size_t off = 0;
	while (off < len) {
		const char *lf = memchr(p + off, '\n', len - off);
		size_t end = lf ? (size_t)(lf - p) : len;
		size_t next = lf ? end + 1 : len;
		size_t e = end;
		if (e > off && p[e - 1] == '\r')
			e--;
		struct slice line = sl_make(p + off, e - off);
		off = next;
		if (line.len < 2 || line.p[1] != '=')
			continue;
		char type = line.p[0];
		struct slice v = sl_sub(line, 2, line.len);
		unsigned mi = s->nmedia ? s->nmedia - 1 : 0;
		switch (type) {
		case 'v':
			seen_v = true;
			break;
		case 'o':
			if (!in_media) {
				s->origin_user = word(&v);
				s->session_id = word(&v);
				uint64_t ver;
				if (sl_to_u64(word(&v), &ver) == 0)
					s->version = ver;
			}
			break;
		case 'c': {
			struct es_addr a;
			if (parse_conn(v, &a))
				return ES_EPARSE;
			if (!in_media) {
				s->conn = a;
			} else if (md && !has_c[mi]) {
				md->addr = a;
				has_c[mi] = true;
			}
			break;
		}
		case 'm':
			in_media = true;
			if (s->nmedia >= SDP_MAX_MEDIA) {
				struct sdp_media tmp;
				if (parse_media(&tmp, v))
					return ES_EPARSE;
				s->media_truncated = true;
				md = NULL;
				break;
			}
			md = &s->media[s->nmedia];
			if (parse_media(md, v))
				return ES_EPARSE;
			s->nmedia++;
			break;
		case 'a': {
			struct slice name, val;
			sl_split(v, ':', &name, &val);
			name = sl_trim(name);
			enum sdp_dir d;
			if (parse_dir(name, &d)) {
				if (!in_media) {
					s->dir = d;
				} else if (md) {
					md->dir = d;
					has_dir[mi] = true;
				}
				break;
			}
			if (!md)
				break;
			if (sl_eq_str_ci(name, "rtpmap")) {
				attr_rtpmap(md, val);
			} else if (sl_eq_str_ci(name, "fmtp")) {
				attr_fmtp(md, val);
			} else if (sl_eq_str_ci(name, "rtcp")) {
				struct slice pw = word(&val);
				uint16_t port;
				if (!has_rtcp[mi] && parse_u16(pw, &port) == 0) {
					md->rtcp_port = port;
					has_rtcp[mi] = true;
				}
			} else if (sl_eq_str_ci(name, "rtcp-mux")) {
				md->rtcp_mux = true;
			} else if (sl_eq_str_ci(name, "label")) {
				if (!md->label.p)
					md->label = sl_trim(val);
			} else if (sl_eq_str_ci(name, "crypto")) {
				if (!md->crypto.p)
					md->crypto = sl_trim(val);
			}
			break;
		}
		default:
			break;
		}
	}
	if (!seen_v)
		return ES_EPARSE;
	for (unsigned i = 0; i < s->nmedia; i++) {
		struct sdp_media *m = &s->media[i];
		if (!has_c[i])
			m->addr = s->conn;
		m->addr.port = m->port;
		if (!has_dir[i])
			m->dir = s->dir;
		if (!has_rtcp[i])
			m->rtcp_port = m->port ? (uint16_t)(m->port + 1) : 0;
		finish_maps(m);
		if (m->telephone_event_pt >= 0 &&
		    !sdp_rtpmap_find(m, (uint8_t)m->telephone_event_pt))
			m->telephone_event_pt = -1;
	}
	return 0;
}

const struct sdp_rtpmap *sdp_rtpmap_find(const struct sdp_media *m, uint8_t pt)
{
	for (unsigned i = 0; i < m->nmap; i++)
		if (m->maps[i].pt == pt)
			return &m->maps[i];
	return NULL;
}

const char *sdp_dir_name(enum sdp_dir d)
{
	switch (d) {
	case SDP_SENDRECV:
		return "sendrecv";
	case SDP_SENDONLY:
		return "sendonly";
	case SDP_RECVONLY:
		return "recvonly";
	case SDP_INACTIVE:
		return "inactive";
	}
	return "?";
}
