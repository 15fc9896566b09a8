/* session.c - the recording server's SIP side: requests (RFC 3261 UAS,
 * RFC 7866 SRS), dialogs = recording sessions, the server transactions'
 * response cache, and the offer/answer of each session's media. */
#include "siprec/srs_internal.h"
#include "sip/rsmeta.h"

#include <stdlib.h>
#include <string.h>

#define TAG "srs"
#define ALLOW "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO"

/* ---- small helpers ---- */

static char *sdup(struct slice s) { return sl_strdup(s); }

/* Text safe inside a quoted Warning (RFC 3261 20.43): no quotes, no CTLs. */
static void warn_text(char *dst, size_t cap, const char *src)
{
	size_t j = 0;
	for (size_t i = 0; src[i] && j + 1 < cap; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[j++] = (c < 0x20 || c == 0x7f || c == '"' || c == '\\') ? ' ' : (char)c;
	}
	dst[j] = 0;
}

/* The first option tag of Require (every Require header) we do not
 * support, or an empty slice. */
static struct slice unsupported(const struct sip_msg *m)
{
	for (unsigned i = 0; i < m->nhdrs; i++) {
		if (m->hdrs[i].id != SIP_H_REQUIRE)
			continue;
		struct slice rest = m->hdrs[i].value, tag;
		while (rest.len) {
			struct slice r2;
			sl_split(rest, ',', &tag, &r2);
			rest = r2;
			tag = sl_trim(tag);
			if (tag.len && !sl_eq_str_ci(tag, "siprec") && !sl_eq_str_ci(tag, "timer"))
				return tag;
		}
	}
	return SL_NULL;
}

static struct slice tag_of(struct slice hdr)
{
	struct sip_nameaddr na;
	if (sip_nameaddr_parse(hdr, &na))
		return SL_NULL;
	return na.tag;
}

/* ---- responses ---- */

struct req_ctx {
	struct srs *s;
	const struct srs_route *r;
	const struct sip_msg *m;
	const char *raw;     /* the request as received */
	size_t rawlen;
	bool recorded;       /* handed to the engine: so are its responses */
	bool stateless;      /* answer without keeping the response */
	char key[432];
};

/* Hand the request to the engine, once: only a request of an accepted
 * session is, so that a refused one leaves no call (RFC 7866 sessions are
 * what we record; a refusal is a counter and a log line). */
static void record_request(struct req_ctx *c)
{
	if (c->recorded)
		return;
	c->recorded = true;
	srs_to_engine(c->s, c->r->proto, &c->r->peer, &c->r->local, c->raw, c->rawlen);
}

/* Build, send, cache; extra may be NULL.  The built message stays in out
 * when out is not NULL. */
static void respond_full(struct req_ctx *c, unsigned code, const char *reason, const char *to_tag,
			 const char *extra, const struct srs_body *body, struct es_buf *keep)
{
	struct es_buf hdr, out;
	es_buf_init(&hdr);
	es_buf_init(&out);
	es_buf_printf(&hdr, "Server: %s\r\nAllow: " ALLOW "\r\nSupported: siprec\r\n%s",
		      c->s->cfg.server_name, extra ? extra : "");
	if (hdr.p && srs_response(c->m, code, reason, to_tag, (const char *)hdr.p, body, &out) == 0 &&
	    out.p) {
		srs_send(c->s, c->r, out.p, out.len, c->recorded);
		c->s->st.responses_sent++;
		if (!c->stateless)
			srs_txn_store(c->s, c->key, &out, c->recorded);
		if (keep)
			es_buf_append(keep, out.p, out.len);
	}
	es_buf_free(&hdr);
	es_buf_free(&out);
	if (code >= 300 && srs_ratelog_ok(&c->s->refusals, srs_now_us(), "refusals")) {
		char a[ES_ADDR_STRLEN];
		es_addr_fmt(&c->r->peer, true, a, sizeof(a));
		ES_LOG_WARNING(TAG, "%.*s from %s (Call-ID %.*s) refused: %u %s",
			       (int)c->m->method.len, c->m->method.p, a, (int)c->m->call_id.len,
			       c->m->call_id.p, code, reason);
	}
}

static void respond(struct req_ctx *c, unsigned code, const char *reason, const char *extra)
{
	if (code == 400 || code == 415 || code == 420 || code == 488)
		c->s->st.rejected_bad++;
	respond_full(c, code, reason, NULL, extra, NULL, NULL);
}

static void respond_warn(struct req_ctx *c, unsigned code, const char *reason, const char *text)
{
	char w[300], extra[400];
	warn_text(w, sizeof(w), text);
	snprintf(extra, sizeof(extra), "Warning: 399 earshot \"%s\"\r\n", w);
	respond(c, code, reason, extra);
}

/* ---- sessions ---- */

static bool sess_eq(const struct es_hnode *n, const void *key)
{
	const struct srs_session *x = ES_CONTAINER_OF(n, struct srs_session, node);
	return sl_eq(sl_cstr(x->call_id), *(const struct slice *)key);
}

static struct srs_session *sess_by_callid(struct srs *s, struct slice call_id)
{
	struct es_hnode *n = es_htab_find(&s->sessions, srs_hash_sl(call_id), sess_eq, &call_id);
	return n ? ES_CONTAINER_OF(n, struct srs_session, node) : NULL;
}

/* The dialog of an in-dialog request: Call-ID and our To tag. */
static struct srs_session *dialog_of(struct srs *s, const struct sip_msg *m)
{
	struct srs_session *x = sess_by_callid(s, m->call_id);
	if (x && !sl_eq(tag_of(m->to), sl_cstr(x->to_tag)))
		return NULL;
	return x;
}

static void sess_destroy(struct srs *s, struct srs_session *x)
{
	for (unsigned i = 0; i < SDP_MAX_MEDIA; i++)
		srs_media_close(s, &x->st[i]);
	es_buf_free(&x->ok);
	free(x->call_id);
	free(x->from_tag);
	free(x->local_hdr);
	free(x->remote_hdr);
	free(x->target);
	free(x->routes);
	free(x);
}

static void send_bye(struct srs *s, struct srs_session *x)
{
	uint8_t rnd[10];
	char branch[40], local[ES_ADDR_STRLEN];
	srs_random(rnd, sizeof(rnd));
	int k = snprintf(branch, sizeof(branch), "z9hG4bK");
	for (size_t i = 0; i < sizeof(rnd); i++)
		k += snprintf(branch + k, sizeof(branch) - (size_t)k, "%02x", rnd[i]);
	es_addr_fmt(&x->route.local, true, local, sizeof(local));
	struct es_buf b;
	es_buf_init(&b);
	es_buf_printf(&b,
		      "BYE %s SIP/2.0\r\nVia: SIP/2.0/%s %s;branch=%s;rport\r\nMax-Forwards: 70\r\n",
		      x->target,
		      x->route.tls ? "TLS" : x->route.proto == NET_PROTO_TCP ? "TCP" : "UDP",
		      local, branch);
	if (x->routes)
		es_buf_printf(&b, "Route: %s\r\n", x->routes);
	es_buf_printf(&b,
		      "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %u BYE\r\nUser-Agent: %s\r\n"
		      "Content-Length: 0\r\n\r\n",
		      x->local_hdr, x->remote_hdr, x->call_id, ++x->local_cseq, s->cfg.server_name);
	if (b.p)
		srs_uac_add(s, &x->route, branch, &b);
	es_buf_free(&b);
}

void srs_session_end(struct srs *s, struct srs_session *x, const char *why, bool bye)
{
	if (bye)
		send_bye(s, x);
	char a[ES_ADDR_STRLEN];
	es_addr_fmt(&x->route.peer, true, a, sizeof(a));
	ES_LOG_INF(TAG, "session %s from %s ended: %s", x->call_id, a, why);
	es_htab_remove(&s->sessions, &x->node);
	s->st.sessions_active--;
	s->st.sessions_ended++;
	sess_destroy(s, x);
}

int64_t srs_sessions_timers(struct srs *s, int64_t now)
{
	int64_t next = srs_txn_expire(s, now);
	size_t pos = 0;
	struct es_hnode *cur = NULL, *n;
	while ((n = es_htab_next(&s->sessions, &pos, &cur))) {
		struct srs_session *x = ES_CONTAINER_OF(n, struct srs_session, node);
		if (!x->acked && now >= x->ack_deadline) {
			srs_session_end(s, x, "no ACK for the 2xx", true);
			continue;
		}
		if (now - x->last_activity >= s->cfg.session_timeout_us) {
			srs_session_end(s, x, "no SIP nor media: session timeout", true);
			continue;
		}
		if (!x->acked && now >= x->retx_at) {
			/* RFC 3261 13.3.1.4: the 2xx until the ACK */
			srs_send(s, &x->route, x->ok.p, x->ok.len, true);
			s->st.retransmissions_sent++;
			x->retx_interval = ES_MIN(x->retx_interval * 2, SRS_T2_US);
			x->retx_at = now + x->retx_interval;
		}
		if (!x->acked)
			next = ES_MIN(next, ES_MIN(x->retx_at, x->ack_deadline));
		next = ES_MIN(next, x->last_activity + s->cfg.session_timeout_us);
	}
	return next;
}

/* ---- the offer ---- */

struct offer {
	struct sdp sdp;
	char warn[300];
	const char *reason;
	bool no_sdp;      /* in dialog: no body, or recording metadata only */
};

static struct slice media_type(struct slice ct)
{
	struct slice head, rest;
	if (!ct.p)
		return SL_NULL;
	sl_split(ct, ';', &head, &rest);
	return sl_trim(head);
}

/* Read and check the offer of m; 0 or the SIP status refusing it. */
/* The offer of request m (0 or a SIP status with o->reason and o->warn).
 * With in_dialog, a request without SDP (no body, or recording metadata
 * alone: an RFC 7866 metadata update) is accepted with o->no_sdp set. */
static unsigned read_offer(const struct sip_msg *m, struct offer *o, bool in_dialog)
{
	struct slice sdp = SL_NULL, meta = SL_NULL;
	struct slice type = media_type(m->content_type);
	o->warn[0] = 0;
	o->no_sdp = false;
	if (!m->body.len && in_dialog) {
		o->no_sdp = true;
		return 0;
	}
	if (!m->body.len) {
		o->reason = "Offerless INVITE Not Supported";
		snprintf(o->warn, sizeof(o->warn), "an SDP offer is required (no offerless INVITE)");
		return 488;
	}
	if (sl_eq_str_ci(type, "application/sdp")) {
		sdp = m->body;
	} else if (in_dialog && sl_eq_str_ci(type, "application/rs-metadata+xml")) {
		meta = m->body;
	} else if (sl_eq_str_ci(type, "multipart/mixed")) {
		struct sip_part parts[SIP_MAX_PARTS];
		unsigned n = 0;
		int perr = sip_multipart_parse(m->content_type, m->body, parts, SIP_MAX_PARTS, &n);
		if (perr) {
			o->reason = "Malformed Multipart Body";
			snprintf(o->warn, sizeof(o->warn), "%s",
				 perr == ES_ETRUNC ? "multipart body without its closing delimiter"
						   : "multipart body without its boundary");
			return 400;
		}
		for (unsigned i = 0; i < n; i++) {
			struct slice pt = media_type(parts[i].content_type);
			if (!sdp.p && sl_eq_str_ci(pt, "application/sdp"))
				sdp = parts[i].body;
			else if (!meta.p && sl_eq_str_ci(pt, "application/rs-metadata+xml"))
				meta = parts[i].body;
		}
		if (!sdp.p && !(in_dialog && meta.p)) {
			o->reason = "Offerless INVITE Not Supported";
			snprintf(o->warn, sizeof(o->warn), "no application/sdp part");
			return 488;
		}
	} else {
		o->reason = "Unsupported Media Type";
		return 415;
	}
	struct rsmeta rm;
	bool have_meta = false;
	memset(&rm, 0, sizeof(rm));
	if (meta.p) {
		char err[200];
		int e = rsmeta_parse(&rm, meta.p, meta.len, err, sizeof(err));
		if (e) {
			rsmeta_free(&rm);
			o->reason = "Bad Recording Metadata";
			snprintf(o->warn, sizeof(o->warn), "rs-metadata: %s", err);
			return 400;
		}
		have_meta = true;
	}
	if (!sdp.p) {
		/* a metadata update alone (in dialog) */
		rsmeta_free(&rm);
		o->no_sdp = true;
		return 0;
	}
	unsigned code = 0;
	if (sdp_parse(&o->sdp, sdp.p, sdp.len)) {
		o->reason = "Not Acceptable Here";
		snprintf(o->warn, sizeof(o->warn),
			 "malformed SDP: needs v=, valid m= (port <= 65535) and c= lines");
		code = 488;
	}
	for (unsigned i = 0; !code && have_meta && rm.datamode == RSMETA_COMPLETE &&
			     i < o->sdp.nmedia; i++) {
		const struct sdp_media *md = &o->sdp.media[i];
		if (!md->label.len || !sl_eq_str_ci(md->type, "audio") || !md->port)
			continue;
		bool found = false;
		for (unsigned k = 0; k < rm.nstreams && !found; k++)
			found = rm.streams[k].label && sl_eq(md->label, sl_cstr(rm.streams[k].label));
		if (!found) {
			o->reason = "Not Acceptable Here";
			snprintf(o->warn, sizeof(o->warn), "a=label:%.*s matches no metadata stream",
				 (int)ES_MIN(md->label.len, 64), md->label.p);
			code = 488;
		}
	}
	if (have_meta)
		rsmeta_free(&rm);
	return code;
}

static bool is_srtp(const struct sdp_media *m)
{
	return sl_find_ci(m->proto, SL_LIT("SAVP")) >= 0;
}

/* Set up stream i of x for offer line md (keeping what it had); false =
 * reject the stream. */
static bool stream_setup(struct srs *s, struct srs_session *x, unsigned i,
			 const struct sdp_media *md, bool have_port, const struct es_addr *sip_src)
{
	struct srs_stream *st = &x->st[i];
	srs_source_offer(&st->src, md, sip_src);
	if (is_srtp(md)) {
		char want[sizeof(st->crypto_offer)];
		if (!md->crypto.len || md->crypto.len >= sizeof(want))
			return false;
		sl_copy(want, sizeof(want), md->crypto);
		if (!st->srtp || strcmp(want, st->crypto_offer) != 0) {
			struct srs_srtp *c = NULL;
			char ans[sizeof(st->crypto_answer)];
			if (srs_srtp_new(md->crypto, &c, ans, sizeof(ans)))
				return false;
			srs_srtp_free(st->srtp);
			st->srtp = c;
			memcpy(st->crypto_offer, want, sizeof(want));
			memcpy(st->crypto_answer, ans, sizeof(ans));
		}
	} else {
		srs_srtp_free(st->srtp);
		st->srtp = NULL;
	}
	if (have_port)
		return true;
	if (srs_ports_take(s->ports, &st->port))
		return false;
	if (srs_media_open(s, x, i)) {
		st->port = 0;
		return false;
	}
	return true;
}

/* Apply offer o, sent from sip_src, to session x (new or in dialog) and
 * write the answer into ans; 0 or a SIP status. */
static unsigned apply_offer(struct srs *s, struct srs_session *x, const struct sdp *sdp, bool fresh,
			    const struct es_addr *sip_src, struct es_buf *ans)
{
	bool ok[SDP_MAX_MEDIA] = {false};
	unsigned last = 0;
	for (unsigned i = 0; i < sdp->nmedia; i++) {
		bool srtp = is_srtp(&sdp->media[i]);
		ok[i] = srs_sdp_stream_ok(&sdp->media[i]) && (srtp || !s->cfg.require_srtp) &&
			(!srtp || sdp->media[i].crypto.len);
		if (ok[i])
			last = i + 1;
	}
	if (!last)
		return 488;
	if (fresh) {
		/* consecutive pairs: m-line i at first + 2 i */
		uint16_t first;
		if (srs_ports_take_block(s->ports, last, &first))
			return 503;
		for (unsigned i = 0; i < last; i++) {
			x->st[i].port = (uint16_t)(first + 2 * i);
			if (!ok[i]) {
				srs_ports_give(s->ports, x->st[i].port);
				x->st[i].port = 0;
			}
		}
		/* on failure the caller's sess_destroy gives every port back */
		for (unsigned i = 0; i < last; i++)
			if (ok[i] && srs_media_open(s, x, i))
				return 503;
	}
	for (unsigned i = 0; i < SDP_MAX_MEDIA; i++) {
		struct srs_stream *st = &x->st[i];
		if (i < sdp->nmedia && ok[i] &&
		    stream_setup(s, x, i, &sdp->media[i], st->port != 0, sip_src))
			continue;
		srs_media_close(s, st);
		st->port = 0;
		st->crypto_offer[0] = 0;
		memset(&st->src, 0, sizeof(st->src));
	}
	x->nst = sdp->nmedia;
	uint16_t ports[SDP_MAX_MEDIA];
	const char *crypto[SDP_MAX_MEDIA];
	unsigned accepted = 0;
	for (unsigned i = 0; i < SDP_MAX_MEDIA; i++) {
		ports[i] = x->st[i].port;
		crypto[i] = x->st[i].srtp ? x->st[i].crypto_answer : NULL;
	}
	struct srs_answer_opts ao = {.addr = s->media_ip, .session_id = x->sdp_id,
				     .version = x->sdp_version++, .crypto = crypto};
	if (srs_sdp_answer(sdp, ports, SDP_MAX_MEDIA, &ao, ans, &accepted) || !ans->p)
		return 500;
	return accepted ? 0 : 488;
}

static char *contact_extra(struct req_ctx *c, char *buf, size_t cap)
{
	char a[ES_ADDR_STRLEN];
	es_addr_fmt(&c->r->local, true, a, sizeof(a));
	snprintf(buf, cap, "Contact: <sip:srs@%s;transport=%s>;+sip.srs\r\n", a,
		 c->r->tls ? "tls" : c->r->proto == NET_PROTO_TCP ? "tcp" : "udp");
	return buf;
}

/* The 2xx to an INVITE (new or re-INVITE): retransmitted until the ACK. */
static void answer_invite(struct req_ctx *c, struct srs_session *x, struct es_buf *ans)
{
	char contact[200];
	struct srs_body body = {"application/sdp", (const char *)ans->p, ans->len};
	es_buf_reset(&x->ok);
	respond_full(c, 200, "OK", x->to_tag, contact_extra(c, contact, sizeof(contact)), &body,
		     &x->ok);
	int64_t now = srs_now_us();
	x->acked = false;
	x->invite_cseq = c->m->cseq;
	x->retx_interval = SRS_T1_US;
	x->retx_at = c->r->proto == NET_PROTO_UDP ? now + SRS_T1_US : INT64_MAX;
	x->ack_deadline = now + SRS_TXN_US;
}

static char *hdr_list(const struct sip_msg *m, const char *name)
{
	struct es_buf b;
	es_buf_init(&b);
	for (unsigned i = 0; i < m->nhdrs; i++)
		if (sl_eq_str_ci(m->hdrs[i].name, name))
			es_buf_printf(&b, "%s%.*s", b.len ? ", " : "", (int)m->hdrs[i].value.len,
				      m->hdrs[i].value.p);
	if (!b.len) {
		es_buf_free(&b);
		return NULL;
	}
	char *s = sdup(sl_make(b.p, b.len));
	es_buf_free(&b);
	return s;
}

static struct srs_session *sess_alloc(struct req_ctx *c)
{
	const struct sip_msg *m = c->m;
	struct srs_session *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	for (unsigned i = 0; i < SDP_MAX_MEDIA; i++)
		x->st[i].fd_rtp = x->st[i].fd_rtcp = -1;
	es_buf_init(&x->ok);
	uint8_t rnd[8];
	srs_random(rnd, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(x->to_tag + 2 * i, 3, "%02x", rnd[i]);
	srs_random(&x->sdp_id, sizeof(x->sdp_id));
	x->sdp_id >>= 2; /* a positive 62-bit number */
	x->sdp_version = 1;
	x->route = *c->r;
	x->remote_cseq = m->cseq;
	x->last_activity = srs_now_us();
	struct sip_nameaddr na;
	struct slice contact = sip_msg_hdr(m, SIP_H_CONTACT);
	struct slice target = SL_NULL;
	if (contact.len && sip_nameaddr_parse(contact, &na) == 0)
		target = na.uri;
	else if (sip_nameaddr_parse(m->from, &na) == 0)
		target = na.uri;
	x->call_id = sdup(m->call_id);
	x->from_tag = sdup(tag_of(m->from));
	x->remote_hdr = sdup(m->from);
	x->target = target.len ? sdup(target) : NULL;
	x->routes = hdr_list(m, "Record-Route");
	size_t ln = m->to.len + sizeof(x->to_tag) + 8;
	x->local_hdr = malloc(ln);
	if (x->local_hdr)
		snprintf(x->local_hdr, ln, "%.*s;tag=%s", (int)m->to.len, m->to.p, x->to_tag);
	if (!x->call_id || !x->from_tag || !x->remote_hdr || !x->target || !x->local_hdr) {
		free(x->call_id);
		free(x->from_tag);
		free(x->remote_hdr);
		free(x->target);
		free(x->routes);
		free(x->local_hdr);
		es_buf_free(&x->ok);
		free(x);
		return NULL;
	}
	return x;
}

static void on_invite_new(struct req_ctx *c)
{
	struct srs *s = c->s;
	if (sess_by_callid(s, c->m->call_id)) {
		respond(c, 482, "Loop Detected", NULL);
		return;
	}
	if (s->shutting_down || s->st.sessions_active >= s->cfg.max_sessions) {
		char extra[64];
		snprintf(extra, sizeof(extra), "Retry-After: %u\r\n", s->cfg.retry_after_s);
		s->st.rejected_busy++;
		respond(c, 503, "Service Unavailable", extra);
		return;
	}
	struct offer *o = malloc(sizeof(*o));
	struct srs_session *x = o ? sess_alloc(c) : NULL;
	struct es_buf ans;
	es_buf_init(&ans);
	if (!x) {
		respond(c, 500, "Server Internal Error", NULL);
		goto out;
	}
	unsigned code = read_offer(c->m, o, false);
	if (code == 415) {
		respond(c, 415, o->reason,
			"Accept: application/sdp, application/rs-metadata+xml, multipart/mixed\r\n");
		goto out;
	}
	if (code) {
		respond_warn(c, code, o->reason, o->warn);
		goto out;
	}
	code = apply_offer(s, x, &o->sdp, true, &c->r->peer, &ans);
	if (code == 503) {
		char extra[64];
		snprintf(extra, sizeof(extra), "Retry-After: %u\r\n", s->cfg.retry_after_s);
		s->st.rejected_busy++;
		respond(c, 503, "Service Unavailable", extra);
		goto out;
	}
	if (code) {
		respond_warn(c, code, code == 488 ? "Not Acceptable Here" : "Server Internal Error",
			     s->cfg.require_srtp
				     ? "no acceptable audio stream (SRTP with SDES required; codec, "
				       "SRTP suite or media type)"
				     : "no acceptable audio stream (codec, SRTP suite or media type)");
		goto out;
	}
	if (es_htab_insert(&s->sessions, &x->node, srs_hash_sl(sl_cstr(x->call_id)))) {
		respond(c, 500, "Server Internal Error", NULL);
		goto out;
	}
	s->st.sessions_active++;
	s->st.sessions_total++;
	record_request(c); /* accepted: the engine sees the INVITE, then its 2xx */
	answer_invite(c, x, &ans);
	char a[ES_ADDR_STRLEN];
	unsigned nst = 0;
	for (unsigned i = 0; i < SDP_MAX_MEDIA; i++)
		nst += x->st[i].port != 0;
	es_addr_fmt(&c->r->peer, true, a, sizeof(a));
	ES_LOG_INF(TAG, "session %s from %s: %u stream(s) from port %u%s", x->call_id, a, nst,
		   x->st[0].port, x->st[0].srtp ? ", SRTP" : "");
	x = NULL;
out:
	if (x)
		sess_destroy(s, x);
	es_buf_free(&ans);
	free(o);
}

/* A re-INVITE or an UPDATE with an offer (RFC 3311 5.2). */
static void on_reoffer(struct req_ctx *c, struct srs_session *x, bool invite)
{
	struct offer *o = malloc(sizeof(*o));
	struct es_buf ans;
	es_buf_init(&ans);
	if (!o) {
		respond(c, 500, "Server Internal Error", NULL);
		return;
	}
	unsigned code = read_offer(c->m, o, true);
	if (code == 415)
		respond(c, 415, o->reason,
			"Accept: application/sdp, application/rs-metadata+xml, multipart/mixed\r\n");
	else if (code)
		respond_warn(c, code, o->reason, o->warn);
	else if (o->no_sdp && !invite)
		respond(c, 200, "OK", NULL); /* a metadata update or a refresh */
	else if (o->no_sdp)
		respond_warn(c, 488, "Not Acceptable Here",
			     "a re-INVITE without SDP is not supported: send an UPDATE");
	else if ((code = apply_offer(c->s, x, &o->sdp, false, &c->r->peer, &ans)))
		respond_warn(c, 488, "Not Acceptable Here", "no acceptable audio stream");
	else if (invite)
		answer_invite(c, x, &ans);
	else {
		char contact[200];
		struct srs_body body = {"application/sdp", (const char *)ans.p, ans.len};
		respond_full(c, 200, "OK", NULL, contact_extra(c, contact, sizeof(contact)), &body,
			     NULL);
	}
	es_buf_free(&ans);
	free(o);
}

static void on_ack(struct req_ctx *c)
{
	struct srs *s = c->s;
	const struct sip_msg *m = c->m;
	struct srs_session *x = dialog_of(s, m);
	if (x)
		record_request(c);
	if (x && m->cseq == x->invite_cseq) {
		x->acked = true;
		x->state = SRS_CONFIRMED;
		x->last_activity = srs_now_us();
	}
	/* else the ACK of a non-2xx (same branch as its INVITE): absorbed */
}

static void on_request(struct req_ctx *c)
{
	struct srs *s = c->s;
	const struct sip_msg *m = c->m;
	if (!srs_allowed(s, &c->r->peer)) {
		/* answered statelessly (a retransmission gets the same 403
		 * anyway): a flood of refused requests must not push the
		 * clients' transactions out of the bounded cache */
		s->st.rejected_forbidden++;
		c->stateless = true;
		respond(c, 403, "Forbidden", NULL);
		return;
	}
	struct slice bad = unsupported(m);
	if (bad.len && !sl_eq_str_ci(m->method, "CANCEL")) {
		char extra[200];
		snprintf(extra, sizeof(extra), "Unsupported: %.*s\r\n", (int)ES_MIN(bad.len, 100),
			 bad.p);
		respond(c, 420, "Bad Extension", extra);
		return;
	}
	bool in_dialog = tag_of(m->to).len != 0;
	struct srs_session *x = in_dialog ? dialog_of(s, m) : NULL;
	if (x) {
		x->last_activity = srs_now_us();
		record_request(c); /* part of an accepted session, whatever its answer */
	}
	if (sl_eq_str_ci(m->method, "OPTIONS")) {
		respond(c, 200, "OK",
			"Accept: application/sdp, application/rs-metadata+xml, multipart/mixed\r\n");
	} else if (sl_eq_str_ci(m->method, "CANCEL")) {
		char ikey[432];
		srs_txn_key(m, "INVITE", ikey, sizeof(ikey));
		/* every INVITE is answered at once: its final response is out */
		if (srs_txn_find(s, ikey))
			respond(c, 200, "OK", NULL);
		else
			respond(c, 481, "Call/Transaction Does Not Exist", NULL);
	} else if (sl_eq_str_ci(m->method, "INVITE") && !in_dialog) {
		on_invite_new(c);
	} else if (!sl_eq_str_ci(m->method, "INVITE") && !sl_eq_str_ci(m->method, "BYE") &&
		   !sl_eq_str_ci(m->method, "UPDATE") && !sl_eq_str_ci(m->method, "INFO")) {
		respond(c, 405, "Method Not Allowed", NULL);
	} else if (!x) {
		respond(c, 481, "Call/Transaction Does Not Exist", NULL);
	} else if (sl_eq_str_ci(m->method, "BYE")) {
		respond(c, 200, "OK", NULL);
		srs_session_end(s, x, "BYE from the SRC", false);
	} else if (sl_eq_str_ci(m->method, "INVITE")) {
		on_reoffer(c, x, true);
	} else if (sl_eq_str_ci(m->method, "UPDATE") && m->body.len) {
		on_reoffer(c, x, false);
	} else {
		respond(c, 200, "OK", NULL);
	}
}

void srs_on_sip(struct srs *s, const struct srs_route *r, const char *p, size_t len)
{
	struct sip_msg *m = malloc(sizeof(*m));
	if (!m)
		return;
	memset(m, 0, sizeof(*m));
	struct req_ctx c = {.s = s, .r = r, .m = m, .raw = p, .rawlen = len};
	int e = sip_msg_parse(m, p, len);
	if (e) {
		s->st.sip_errors++;
		/* a request whose start line parsed: say why if we can (RFC 3261 8.2) */
		if (m->is_request && m->method.len && !sl_eq_str_ci(m->method, "ACK") &&
		    m->call_id.len && m->from.len && m->to.len && m->cseq_method.len) {
			srs_txn_key(m, "?", c.key, sizeof(c.key));
			respond(&c, 400, "Bad Request", NULL);
		}
		goto out;
	}
	if (!m->is_request) {
		/* a response to one of our BYEs is part of its session */
		if (srs_uac_response(s, m->via_branch, m->status))
			srs_to_engine(s, r->proto, &r->peer, &r->local, p, len);
		goto out;
	}
	s->st.requests++;
	if (!m->call_id.len || !m->from.len || !m->to.len || !m->cseq_method.len ||
	    !m->nvia) {
		s->st.sip_errors++;
		goto out; /* cannot even be answered */
	}
	if (sl_eq_str_ci(m->method, "ACK")) {
		on_ack(&c);
		goto out;
	}
	char method[32];
	sl_copy(method, sizeof(method), m->method);
	srs_txn_key(m, method, c.key, sizeof(c.key));
	struct srs_txn *t = srs_txn_find(s, c.key);
	if (t) { /* a retransmission: the same answer (RFC 3261 17.2.1, 17.2.2) */
		if (t->recorded)
			record_request(&c);
		srs_send(s, r, t->resp.p, t->resp.len, t->recorded);
		s->st.retransmissions_sent++;
		goto out;
	}
	on_request(&c);
out:
	free(m);
}
