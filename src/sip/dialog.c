/* dialog.c - grouping SIP messages into calls (RFC 3261 12, 13, 15, 17). */
#include "sip/dialog.h"

#include <stdlib.h>
#include <string.h>

#define TAG "sip"

struct linger {
	struct es_hnode node;
	int64_t released_us;
	uint64_t invite_sig; /* the call's last initial INVITE */
	size_t len;
	char id[]; /* Call-ID, not terminated */
};

struct sip_tracker {
	struct es_htab calls;
	struct es_htab lingering;
	struct sip_tracker_config cfg;
	sip_sdp_fn on_sdp;
	void *ud;
	struct sip_tracker_stats stats;
	/* Call-IDs of the latest orphan responses: the ACK of a stray
	 * failure is an orphan too, not a call begun before the capture */
	uint64_t orphan_ids[16];
	unsigned norphan_ids;
};

static const char *const outcome_names[] = {
	"in_progress", "answered", "busy", "no_answer", "cancelled", "rejected", "redirected",
};
static const char *const end_names[] = {
	"none", "bye", "cancel", "final_response", "timeout", "capture_end",
	"rtp_timeout", "max_duration", "session_timer", "shutdown",
};

const char *sip_outcome_name(enum sip_outcome o)
{
	return (unsigned)o < ES_ARRAY_LEN(outcome_names) ? outcome_names[o] : "unknown";
}

const char *sip_end_reason_name(enum sip_end_reason r)
{
	return (unsigned)r < ES_ARRAY_LEN(end_names) ? end_names[r] : "unknown";
}

/* ---- tracker ------------------------------------------------------------ */

int sip_tracker_new(struct sip_tracker **out, const struct sip_tracker_config *cfg,
		    sip_sdp_fn on_sdp, void *ud)
{
	struct sip_tracker *t = calloc(1, sizeof(*t));
	if (!t)
		return ES_ENOMEM;
	if (es_htab_init(&t->calls, 1024) || es_htab_init(&t->lingering, 256)) {
		es_htab_free(&t->calls);
		free(t);
		return ES_ENOMEM;
	}
	if (cfg)
		t->cfg = *cfg;
	if (t->cfg.linger_us <= 0)
		t->cfg.linger_us = 60 * ES_US_PER_SEC;
	t->on_sdp = on_sdp;
	t->ud = ud;
	*out = t;
	return 0;
}

static void party_free(struct sip_party_info *p)
{
	free(p->uri);
	free(p->user);
	free(p->display);
	free(p->pai);
	free(p->ua);
	memset(p, 0, sizeof(*p));
}

static void call_free(struct sip_call *c)
{
	free(c->call_id);
	party_free(&c->party[0]);
	party_free(&c->party[1]);
	free(c->from_tag);
	for (unsigned i = 0; i < c->nto_tags; i++)
		free(c->to_tags[i]);
	free(c->answered_tag);
	free(c->extra_json);
	free(c->msgs);
	free(c->events);
	free(c);
}

void sip_tracker_free(struct sip_tracker *t)
{
	if (!t)
		return;
	size_t pos = 0;
	struct es_hnode *cur = NULL, *n;
	while ((n = es_htab_next(&t->calls, &pos, &cur)))
		call_free(ES_CONTAINER_OF(n, struct sip_call, node));
	pos = 0;
	cur = NULL;
	while ((n = es_htab_next(&t->lingering, &pos, &cur)))
		free(ES_CONTAINER_OF(n, struct linger, node));
	es_htab_free(&t->calls);
	es_htab_free(&t->lingering);
	free(t);
}

static bool call_eq(const struct es_hnode *n, const void *key)
{
	const struct sip_call *c = ES_CONTAINER_OF(n, struct sip_call, node);
	const struct slice *k = key;
	return strlen(c->call_id) == k->len && memcmp(c->call_id, k->p, k->len) == 0;
}

static bool linger_eq(const struct es_hnode *n, const void *key)
{
	const struct linger *l = ES_CONTAINER_OF(n, struct linger, node);
	const struct slice *k = key;
	return l->len == k->len && memcmp(l->id, k->p, k->len) == 0;
}

size_t sip_tracker_count(const struct sip_tracker *t) { return t->calls.n; }

const struct sip_tracker_stats *sip_tracker_stats(const struct sip_tracker *t)
{
	return &t->stats;
}

struct sip_call *sip_tracker_next(struct sip_tracker *t, size_t *pos, struct es_hnode **cur)
{
	struct es_hnode *n = es_htab_next(&t->calls, pos, cur);
	return n ? ES_CONTAINER_OF(n, struct sip_call, node) : NULL;
}

void sip_tracker_release(struct sip_tracker *t, struct sip_call *c, int64_t last_us)
{
	es_htab_remove(&t->calls, &c->node);
	size_t len = strlen(c->call_id);
	struct slice key = sl_make(c->call_id, len);
	uint64_t h = es_hash(c->call_id, len, 0);
	struct es_hnode *n = es_htab_find(&t->lingering, h, linger_eq, &key);
	struct linger *l = n ? ES_CONTAINER_OF(n, struct linger, node) : NULL;
	if (!l && (l = malloc(sizeof(*l) + len))) {
		l->len = len;
		memcpy(l->id, c->call_id, len);
		es_htab_insert(&t->lingering, &l->node, h);
	}
	if (l) {
		/* from the call's last activity, not from when the caller got
		 * round to closing it: a Call-ID reused an hour later is new */
		l->released_us = last_us;
		l->invite_sig = c->invite_sig;
	}
	call_free(c);
}

void sip_tracker_expire(struct sip_tracker *t, int64_t now_us)
{
	size_t pos = 0;
	struct es_hnode *cur = NULL, *n;
	while ((n = es_htab_next(&t->lingering, &pos, &cur))) {
		struct linger *l = ES_CONTAINER_OF(n, struct linger, node);
		if (now_us - l->released_us > t->cfg.linger_us) {
			es_htab_remove(&t->lingering, n);
			free(l);
		}
	}
}

/* ---- call content ---------------------------------------------------------- */

void sip_call_add_event(struct sip_call *c, int64_t ts_us, int party, const char *kind,
			const char *detail)
{
	if (c->nevents >= SIP_CALL_MAX_EVENTS)
		return;
	if (c->nevents == c->events_cap) {
		unsigned cap = c->events_cap ? c->events_cap * 2 : 4;
		struct sip_call_event *e = realloc(c->events, cap * sizeof(*e));
		if (!e)
			return;
		c->events = e;
		c->events_cap = cap;
	}
	struct sip_call_event *e = &c->events[c->nevents++];
	e->ts_us = ts_us;
	e->party = (int8_t)party;
	snprintf(e->kind, sizeof(e->kind), "%s", kind);
	snprintf(e->detail, sizeof(e->detail), "%s", detail ? detail : "");
}

static struct sip_call_msg *add_msg(struct sip_call *c)
{
	if (c->nmsgs >= SIP_CALL_MAX_MSGS) {
		c->msgs_dropped++;
		return NULL;
	}
	if (c->nmsgs == c->msgs_cap) {
		unsigned cap = c->msgs_cap ? c->msgs_cap * 2 : 8;
		struct sip_call_msg *m = realloc(c->msgs, cap * sizeof(*m));
		if (!m)
			return NULL;
		c->msgs = m;
		c->msgs_cap = cap;
	}
	struct sip_call_msg *m = &c->msgs[c->nmsgs++];
	memset(m, 0, sizeof(*m));
	return m;
}

/* The URI of a name-addr header value, user part and display name. */
static void set_party(struct sip_party_info *p, struct slice hdr)
{
	struct sip_nameaddr na;
	if (sl_empty(hdr) || sip_nameaddr_parse(hdr, &na))
		return;
	if (!p->uri && na.uri.len)
		p->uri = sl_strdup(na.uri);
	if (!p->user && na.u.user.len)
		p->user = sl_strdup(na.u.user);
	if (!p->display && na.display.len)
		p->display = sl_strdup(na.display);
}

static void set_pai(struct sip_party_info *p, struct slice hdr)
{
	struct sip_nameaddr na;
	if (p->pai || sl_empty(hdr) || sip_nameaddr_parse(hdr, &na) || !na.uri.len)
		return;
	p->pai = sl_strdup(na.uri);
}

static void set_str(char **dst, struct slice s)
{
	if (!*dst && s.len)
		*dst = sl_strdup(sl_trim(s));
}

static struct slice tag_of(struct slice hdr)
{
	struct sip_nameaddr na;
	if (sl_empty(hdr) || sip_nameaddr_parse(hdr, &na))
		return SL_NULL;
	return na.tag;
}

static bool tag_is(const char *tag, struct slice s)
{
	return tag && strlen(tag) == s.len && memcmp(tag, s.p, s.len) == 0;
}

/* Keep the configured extra headers of the initial request as JSON. */
static void set_extra(struct sip_tracker *t, struct sip_call *c, const struct sip_msg *m)
{
	if (c->extra_json || !t->cfg.extra_headers || !t->cfg.extra_headers[0])
		return;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return;
	struct es_json j;
	es_json_init(&j, f, false);
	es_json_obj_begin(&j);
	unsigned found = 0;
	for (const char *const *h = t->cfg.extra_headers; *h; h++) {
		struct slice v = sip_msg_hdr_name(m, *h);
		if (!v.p)
			continue;
		es_json_key(&j, *h);
		es_json_strn(&j, v.p, v.len);
		found++;
	}
	es_json_obj_end(&j);
	fclose(f);
	if (found)
		c->extra_json = out;
	else
		free(out);
}

static struct sip_call *call_new(struct sip_tracker *t, const struct sip_msg *m,
				 const struct sip_meta *meta, uint64_t h)
{
	struct sip_call *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->call_id = sl_strdup(m->call_id);
	if (!c->call_id) {
		free(c);
		return NULL;
	}
	c->start_us = meta->ts_us;
	/* From names the originator of the dialog in requests and responses
	 * alike (RFC 3261 8.1.1.3); a mid-call BYE from the callee would
	 * swap the roles, which nothing in the message can tell us. */
	set_party(&c->party[SIP_CALLER], m->from);
	set_party(&c->party[SIP_CALLEE], m->to);
	struct slice ft = tag_of(m->from);
	if (ft.len)
		c->from_tag = sl_strdup(ft);
	set_extra(t, c, m);
	if (es_htab_insert(&t->calls, &c->node, h)) {
		call_free(c);
		return NULL;
	}
	t->stats.calls++;
	return c;
}

/* Methods that belong to an INVITE dialog (RFC 3261, 3262, 3311, 6086). */
static bool dialog_method(struct slice m)
{
	static const char *const names[] = {"INVITE", "ACK", "BYE", "CANCEL", "UPDATE", "PRACK", "INFO"};
	for (size_t i = 0; i < ES_ARRAY_LEN(names); i++)
		if (sl_eq_str_ci(m, names[i]))
			return true;
	return false;
}

static bool orphan_seen(const struct sip_tracker *t, uint64_t h)
{
	unsigned n = ES_MIN(t->norphan_ids, ES_ARRAY_LEN(t->orphan_ids));
	for (unsigned i = 0; i < n; i++)
		if (t->orphan_ids[i] == h)
			return true;
	return false;
}

/* Whether a message may open a call we have not seen begin: an INVITE; an
 * in-dialog request (the To carries a tag: the capture started mid-call),
 * but not the ACK of an orphan failure; a provisional or 2xx response to
 * an INVITE with SDP (the INVITE was not captured, the media can still be
 * paired).  A lone response (a stray 403, a 200 to a BYE) proves no call:
 * it is an orphan, counted, not a call. */
static bool opens_call(const struct sip_tracker *t, const struct sip_msg *m, uint64_t h,
		       bool has_sdp)
{
	if (m->is_request) {
		if (sl_eq_str_ci(m->method, "INVITE"))
			return true;
		if (sl_eq_str_ci(m->method, "ACK") && orphan_seen(t, h))
			return false;
		return dialog_method(m->method) && !sl_eq_str_ci(m->method, "CANCEL") &&
		       tag_of(m->to).len > 0;
	}
	return sl_eq_str_ci(m->cseq_method, "INVITE") && m->status > 100 && m->status < 300 &&
	       has_sdp;
}

/* A message that would belong to a call had we seen it (a response to a
 * dialog request, an ACK or CANCEL): counted apart from REGISTER, OPTIONS
 * and out-of-dialog requests. */
static bool is_orphan(const struct sip_msg *m)
{
	if (m->is_request)
		return sl_eq_str_ci(m->method, "ACK") || sl_eq_str_ci(m->method, "CANCEL");
	return dialog_method(m->cseq_method);
}

/* The CSeq and Via branch of an initial INVITE: a retransmission has the
 * same, a new call on the same Call-ID has not (RFC 3261 17.2.3). */
static uint64_t invite_signature(const struct sip_msg *m)
{
	return es_hash(m->via_branch.p, m->via_branch.len, m->cseq);
}

/* A 401/407 is the server asking for credentials (RFC 3261 22.2), not a
 * refusal of the call: the caller usually retries with the next CSeq. */
static bool is_challenge(unsigned status) { return status == 401 || status == 407; }

static enum sip_party sender_of(const struct sip_call *c, const struct sip_msg *m)
{
	bool from_caller;
	struct slice ft = tag_of(m->from);
	if (c->from_tag)
		from_caller = tag_is(c->from_tag, ft);
	else {
		struct sip_nameaddr na;
		from_caller = !sip_nameaddr_parse(m->from, &na) && c->party[SIP_CALLER].uri &&
			      sl_eq(na.uri, sl_cstr(c->party[SIP_CALLER].uri));
	}
	/* A request is sent by the From party; a response by the other. */
	if (m->is_request)
		return from_caller ? SIP_CALLER : SIP_CALLEE;
	return from_caller ? SIP_CALLEE : SIP_CALLER;
}

/* A signature of what makes a message unique within its transaction, so a
 * retransmission (same bytes that matter, same sender) is counted once. */
static uint64_t msg_signature(const struct sip_msg *m, enum sip_party sender)
{
	uint64_t h = es_hash(&sender, sizeof(sender), m->cseq);
	if (m->is_request)
		h = es_hash(m->method.p, m->method.len, h);
	else
		h = es_hash(&m->status, sizeof(m->status), h);
	h = es_hash(m->cseq_method.p, m->cseq_method.len, h);
	h = es_hash(m->via_branch.p, m->via_branch.len, h);
	struct slice tt = tag_of(m->to);
	return es_hash(tt.p, tt.len, h);
}

static bool seen_recently(struct sip_call *c, uint64_t sig)
{
	unsigned n = ES_MIN(c->nrecent, ES_ARRAY_LEN(c->recent));
	for (unsigned i = 0; i < n; i++)
		if (c->recent[i] == sig)
			return true;
	c->recent[c->nrecent++ % ES_ARRAY_LEN(c->recent)] = sig;
	return false;
}

static void record_msg(struct sip_call *c, const struct sip_msg *m,
		       const struct sip_meta *meta, enum sip_party sender, bool retrans,
		       bool has_sdp)
{
	struct sip_call_msg *r = add_msg(c);
	if (!r)
		return;
	r->ts_us = meta->ts_us;
	r->frame = meta->frame;
	r->src = meta->src;
	r->dst = meta->dst;
	r->proto = meta->proto;
	r->retransmission = retrans;
	r->has_sdp = has_sdp;
	r->sender = (int8_t)sender;
	r->cseq = m->cseq;
	sl_copy(r->cseq_method, sizeof(r->cseq_method), m->cseq_method);
	if (m->is_request)
		sl_copy(r->label, sizeof(r->label), m->method);
	else {
		int n = snprintf(r->label, sizeof(r->label), "%u ", m->status);
		if (n > 0 && (size_t)n < sizeof(r->label))
			sl_copy(r->label + n, sizeof(r->label) - (size_t)n, m->reason);
	}
}

static void add_to_tag(struct sip_call *c, struct slice tag, unsigned status)
{
	/* each challenge carries its own tag: not an early dialog */
	if (!tag.len || is_challenge(status))
		return;
	for (unsigned i = 0; i < c->nto_tags; i++)
		if (tag_is(c->to_tags[i], tag))
			return;
	if (c->nto_tags < SIP_CALL_MAX_TAGS) {
		char *s = sl_strdup(tag);
		if (s)
			c->to_tags[c->nto_tags++] = s;
	}
	if (c->nto_tags > 1 && !c->answer_us)
		c->forked = true; /* RFC 3261 13.2.2.4: several early dialogs */
}

/* Map a final failure response to an outcome (RFC 3261 21). */
static enum sip_outcome failure_outcome(unsigned code, bool cancel_seen)
{
	if (code >= 300 && code < 400)
		return SIP_OUT_REDIRECTED;
	if (code == 486 || code == 600)
		return SIP_OUT_BUSY;
	if (code == 408 || code == 480)
		return SIP_OUT_NO_ANSWER;
	if (code == 487 || cancel_seen)
		return SIP_OUT_CANCELLED;
	return SIP_OUT_REJECTED;
}

/* RFC 3264 8.4 / RFC 6337 5.3: sendonly, inactive or a 0.0.0.0 address in
 * an offer put the other side on hold. */
static bool sdp_is_hold(const struct sdp *s)
{
	bool any = false;
	for (unsigned i = 0; i < s->nmedia; i++) {
		const struct sdp_media *md = &s->media[i];
		if (!sl_eq_str_ci(md->type, "audio") || md->port == 0)
			continue;
		any = true;
		static const uint8_t zero[16];
		bool null_addr = md->addr.family == ES_AF_INET && memcmp(md->addr.ip, zero, 4) == 0;
		if (md->dir != SDP_SENDONLY && md->dir != SDP_INACTIVE && !null_addr)
			return false;
	}
	return any;
}

/* A recording session (RFC 7866): the SRC marks its requests with the
 * siprec option tag (Require) or the +sip.src Contact feature tag, and
 * carries recording metadata. */
static bool is_siprec_request(const struct sip_msg *m)
{
	struct slice v;
	if (m->body.len && sip_body_find(m->content_type, m->body, "application/rs-metadata+xml",
					 &v) == 0)
		return true;
	v = sip_msg_hdr(m, SIP_H_REQUIRE);
	if (v.len && sl_find_ci(v, SL_LIT("siprec")) >= 0)
		return true;
	v = sip_msg_hdr(m, SIP_H_CONTACT);
	return v.len && sl_find_ci(v, SL_LIT("+sip.src")) >= 0;
}

static void handle_sdp(struct sip_tracker *t, struct sip_call *c, enum sip_party sender,
		       int64_t ts, struct slice body, bool offer)
{
	struct sdp sdp;
	if (sdp_parse(&sdp, body.p, body.len)) {
		t->stats.sdp_errors++;
		ES_LOG_DBG(TAG, "call %s: SDP did not parse", c->call_id);
		return;
	}
	/* A recording client always sends one way: its pauses are the
	 * engine's to report, per stream.  Only an offer holds or resumes
	 * (RFC 3264 8.4): an answer's direction follows the offer's, and a
	 * sendonly answer to a recvonly offer (an IVR, an announcement,
	 * paging) is a one-way call, not a hold. */
	bool hold = !c->siprec && sdp_is_hold(&sdp);
	if (offer && hold != c->hold[sender]) {
		c->hold[sender] = hold;
		sip_call_add_event(c, ts, sender, hold ? "hold" : "resume", "offer");
	}
	if (t->on_sdp)
		t->on_sdp(t->ud, c, sender, &sdp, ts);
}

/* SIP INFO DTMF (application/dtmf-relay "Signal=5", application/dtmf "5"). */
static void handle_info(struct sip_call *c, const struct sip_msg *m, enum sip_party sender,
			int64_t ts)
{
	struct slice ct = m->content_type, sig = SL_NULL, dur = SL_NULL;
	if (sl_starts_ci(ct, "application/dtmf-relay")) {
		struct slice rest = m->body, line;
		while (rest.len) {
			sl_split(rest, '\n', &line, &rest);
			struct slice k, v;
			sl_split(line, '=', &k, &v);
			if (sl_eq_str_ci(sl_trim(k), "Signal"))
				sig = sl_trim(v);
			else if (sl_eq_str_ci(sl_trim(k), "Duration"))
				dur = sl_trim(v);
		}
	} else if (sl_starts_ci(ct, "application/dtmf")) {
		sig = sl_trim(m->body);
	}
	if (sig.len == 0 || sig.len > 8)
		return;
	char detail[48], s[9], d[12];
	sl_copy(s, sizeof(s), sig);
	sl_copy(d, sizeof(d), dur);
	snprintf(detail, sizeof(detail), "digit=%s%s%s", s, d[0] ? " duration_ms=" : "", d);
	sip_call_add_event(c, ts, sender, "dtmf", detail);
}

static void on_request(struct sip_tracker *t, struct sip_call *c, const struct sip_msg *m,
		       enum sip_party sender, int64_t ts)
{
	struct slice totag = tag_of(m->to);
	if (sl_eq_str_ci(m->method, "INVITE")) {
		bool initial = totag.len == 0 && c->outcome != SIP_OUT_ANSWERED;
		if (!initial) {
			sip_call_add_event(c, ts, sender, "reinvite", "");
			return;
		}
		if (!c->invite_seen) {
			c->invite_seen = true;
			c->invite_us = ts;
			/* The INVITE names the parties best (RFC 3261 8.1.1). */
			party_free(&c->party[SIP_CALLER]);
			party_free(&c->party[SIP_CALLEE]);
			set_party(&c->party[SIP_CALLER], m->from);
			set_party(&c->party[SIP_CALLEE], m->to);
			struct slice ft = tag_of(m->from);
			if (ft.len && !c->from_tag)
				c->from_tag = sl_strdup(ft);
			set_extra(t, c, m);
		}
		set_pai(&c->party[SIP_CALLER], sip_msg_hdr(m, SIP_H_PAI));
		c->invite_sig = invite_signature(m);
		if (m->cseq != c->invite_cseq) {
			/* a new attempt, e.g. after a 401/407 challenge: the
			 * tags of the last attempt's responses were not forks */
			c->invite_cseq = m->cseq;
			for (unsigned i = 0; i < c->nto_tags; i++)
				free(c->to_tags[i]);
			c->nto_tags = 0;
			c->challenged = false;
			if (c->outcome != SIP_OUT_IN_PROGRESS && !c->cancel_seen) {
				c->outcome = SIP_OUT_IN_PROGRESS;
				c->sip_code = 0;
				c->end_us = 0;
				c->end_reason = SIP_END_NONE;
			}
		}
	} else if (sl_eq_str_ci(m->method, "CANCEL")) {
		c->cancel_seen = true;
		if (c->outcome == SIP_OUT_IN_PROGRESS) {
			c->outcome = SIP_OUT_CANCELLED;
			c->end_us = ts;
			c->end_reason = SIP_END_CANCEL;
		}
	} else if (sl_eq_str_ci(m->method, "BYE")) {
		if (c->outcome == SIP_OUT_IN_PROGRESS) {
			/* the 2xx was not captured, but a BYE proves the
			 * dialog was confirmed (RFC 3261 15) */
			c->outcome = SIP_OUT_ANSWERED;
			c->answer_us = c->invite_seen ? 0 : c->start_us;
		}
		if (c->end_reason != SIP_END_BYE) {
			c->end_us = ts;
			c->end_reason = SIP_END_BYE;
		}
	} else if (sl_eq_str_ci(m->method, "UPDATE")) {
		sip_call_add_event(c, ts, sender, "update", "");
	} else if (sl_eq_str_ci(m->method, "INFO")) {
		handle_info(c, m, sender, ts);
	}
}

/* RFC 4028: a 2xx to an INVITE or UPDATE carrying Session-Expires (or
 * "x") starts a new interval. */
static void session_timer(struct sip_call *c, const struct sip_msg *m, int64_t ts)
{
	struct slice se = sip_msg_hdr_name(m, "Session-Expires");
	if (!se.len)
		se = sip_msg_hdr_name(m, "x");
	struct slice delta, params;
	uint32_t secs;
	if (!se.len)
		return;
	if (!sl_split(se, ';', &delta, &params))
		delta = se;
	if (sl_to_u32(sl_trim(delta), &secs) == 0 && secs > 0) {
		c->session_expires_s = secs;
		c->session_refresh_us = ts;
	}
}

static void on_response(struct sip_call *c, const struct sip_msg *m, enum sip_party sender,
			int64_t ts)
{
	if (m->status >= 200 && m->status < 300 &&
	    (sl_eq_str_ci(m->cseq_method, "INVITE") || sl_eq_str_ci(m->cseq_method, "UPDATE")))
		session_timer(c, m, ts);
	if (!sl_eq_str_ci(m->cseq_method, "INVITE"))
		return;
	struct slice totag = tag_of(m->to);
	bool initial = !c->invite_seen || m->cseq == c->invite_cseq;
	if (!initial)
		return; /* response to a re-INVITE */
	if (m->status > 100 && c->outcome != SIP_OUT_ANSWERED)
		add_to_tag(c, totag, m->status);
	if (m->status < 200)
		return;
	if (m->status < 300) {
		if (c->outcome != SIP_OUT_ANSWERED) {
			c->outcome = SIP_OUT_ANSWERED;
			c->answer_us = c->invite_seen ? ts : c->start_us;
			c->sip_code = (int)m->status;
			if (totag.len)
				c->answered_tag = sl_strdup(totag);
			if (c->end_reason == SIP_END_CANCEL) {
				/* CANCEL lost the race with the 2xx (RFC 3261 9.1) */
				c->end_us = 0;
				c->end_reason = SIP_END_NONE;
			}
		}
		set_pai(&c->party[SIP_CALLEE], sip_msg_hdr(m, SIP_H_PAI));
		return;
	}
	if (c->outcome == SIP_OUT_ANSWERED)
		return;
	c->outcome = failure_outcome(m->status, c->cancel_seen);
	c->sip_code = (int)m->status;
	c->challenged = is_challenge(m->status) && !c->cancel_seen;
	c->end_us = ts;
	c->end_reason = c->outcome == SIP_OUT_CANCELLED ? SIP_END_CANCEL : SIP_END_FINAL;
	(void)sender;
}

int sip_tracker_feed(struct sip_tracker *t, const struct sip_msg *m,
		     const struct sip_meta *meta, struct sip_call **out)
{
	*out = NULL;
	t->stats.messages++;
	if (m->call_id.len == 0) {
		t->stats.parse_errors++;
		return ES_EPARSE;
	}
	uint64_t h = es_hash(m->call_id.p, m->call_id.len, 0);
	struct es_hnode *n = es_htab_find(&t->calls, h, call_eq, &m->call_id);
	struct slice sdp_body = SL_NULL;
	bool has_sdp = m->body.len &&
		       sip_body_find(m->content_type, m->body, "application/sdp", &sdp_body) == 0;
	bool invite = m->is_request && sl_eq_str_ci(m->method, "INVITE");
	struct sip_call *c;
	if (n) {
		c = ES_CONTAINER_OF(n, struct sip_call, node);
	} else {
		struct es_hnode *ln = t->lingering.n ? es_htab_find(&t->lingering, h, linger_eq,
								      &m->call_id)
						     : NULL;
		if (ln) {
			struct linger *l = ES_CONTAINER_OF(ln, struct linger, node);
			if (!invite || tag_of(m->to).len || invite_signature(m) == l->invite_sig) {
				t->stats.late++;
				return 0;
			}
			/* a new initial INVITE: the Call-ID was reused */
			es_htab_remove(&t->lingering, ln);
			free(l);
		}
		if (!opens_call(t, m, h, has_sdp)) {
			if (is_orphan(m)) {
				t->stats.orphans++;
				if (!m->is_request && !orphan_seen(t, h))
					t->orphan_ids[t->norphan_ids++ % ES_ARRAY_LEN(t->orphan_ids)] = h;
			} else
				t->stats.non_call++;
			return 0;
		}
		c = call_new(t, m, meta, h);
		if (!c)
			return ES_ENOMEM;
	}

	enum sip_party sender = sender_of(c, m);
	bool retrans = seen_recently(c, msg_signature(m, sender));
	record_msg(c, m, meta, sender, retrans, has_sdp);
	c->last_sip_us = meta->ts_us;
	if (m->is_request && sender == SIP_CALLER && !c->siprec && is_siprec_request(m))
		c->siprec = true;
	*out = c;
	if (retrans) {
		t->stats.retransmissions++;
		return 0;
	}
	/* RFC 3264 / RFC 3261 13.2.1: an INVITE without SDP gets the offer
	 * in its responses; ACK and PRACK carry answers */
	bool offer;
	if (m->is_request)
		offer = !sl_eq_str_ci(m->method, "ACK") && !sl_eq_str_ci(m->method, "PRACK");
	else
		offer = sl_eq_str_ci(m->cseq_method, "INVITE") && c->offerless_cseq &&
			m->cseq == c->offerless_cseq;
	if (invite)
		c->offerless_cseq = has_sdp ? 0 : m->cseq;
	if (m->is_request)
		on_request(t, c, m, sender, meta->ts_us);
	else
		on_response(c, m, sender, meta->ts_us);
	/* after on_request: the first INVITE resets the parties */
	struct sip_party_info *p = &c->party[sender];
	if (!p->ua)
		set_str(&p->ua, sip_msg_hdr(m, m->is_request ? SIP_H_USER_AGENT : SIP_H_SERVER));
	if (!p->ua)
		set_str(&p->ua, sip_msg_hdr(m, SIP_H_USER_AGENT));
	if (has_sdp)
		handle_sdp(t, c, sender, meta->ts_us, sdp_body, offer);
	return 0;
}
