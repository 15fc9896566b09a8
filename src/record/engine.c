/* engine.c - packets in, calls out: dispatching SIP, RTP and RTCP. */
#include "record/record_internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define TAG "record"

struct rec_engine {
	struct rec_config cfg;
	struct net_decoder *net;
	struct sip_tracker *sip;
	struct es_htab endpoints;
	struct es_htab streams; /* every open call's streams by (src, dst, SSRC) */
	rec_call_fn on_call;
	void *ud;
	struct rec_stats stats;
	struct rec_spool spool;
	int64_t now_us;
	int64_t last_sweep_us;
	int64_t last_flush_us;
	/* recording metadata of the SIP message being fed, until a call
	 * takes it */
	const struct rsmeta *pending_meta;
	bool time_fixed; /* the frame being fed had its capture time corrected */
};

void rec_config_default(struct rec_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->end_linger_us = 10 * ES_US_PER_SEC;
	cfg->challenge_wait_us = 120 * ES_US_PER_SEC;
	cfg->idle_timeout_us = 300 * ES_US_PER_SEC;
	cfg->sip_max_msg = 64 * 1024;
	cfg->source = "import";
	net_config_default(&cfg->net);
}

static const int other_party[2] = {SIP_CALLEE, SIP_CALLER};

static struct rec_call *rec_call_attach(struct rec_engine *e, struct sip_call *sc);

static void on_sdp(void *ud, struct sip_call *sc, enum sip_party from, const struct sdp *sdp,
		   int64_t ts_us)
{
	struct rec_engine *e = ud;
	/* the tracker reports the SDP of a call's first message before
	 * sip_tracker_feed returns, so the engine's state may not exist yet */
	struct rec_call *rc = rec_call_attach(e, sc);
	if (!rc)
		return;
	if (rc->siprec && from == SIP_CALLER)
		rec_srec_sdp(rc, sdp, ts_us);
	bool first_audio = true, first_video = true;
	for (unsigned i = 0; i < sdp->nmedia; i++) {
		const struct sdp_media *m = &sdp->media[i];
		/* video (RFC 6184 H.264, RFC 4629 H.263, RFC 7741 VP8...) is
		 * paired for its statistics; it is neither decoded nor in the
		 * recording */
		bool video = sl_eq_str_ci(m->type, "video");
		if ((!video && !sl_eq_str_ci(m->type, "audio")) || m->port == 0)
			continue;
		if (video ? first_video : first_audio) {
			/* the first stream of a kind carries the party's codec map */
			rec_media_from_sdp(video ? &rc->video[from] : &rc->media[from], m);
			rc->media_gen++;
			if (!video)
				es_addr_fmt(&m->addr, true, rc->media[from].sdp_addr,
					    ES_ADDR_STRLEN);
			*(video ? &first_video : &first_audio) = false;
		}
		rec_ep_add(&e->endpoints, rc, from, &m->addr, (int)i, video);
		if (!m->rtcp_mux && m->rtcp_port) {
			struct es_addr r = m->addr;
			r.port = m->rtcp_port;
			rec_ep_add(&e->endpoints, rc, from, &r, (int)i, video);
		}
	}
}

/* ---- calls ----------------------------------------------------------------------- */

/* ---- streams --------------------------------------------------------------------- */

struct stream_key {
	const struct es_addr *src, *dst;
	uint32_t ssrc;
};

/* Per packet: one mixing round for IPv4, two for IPv6. */
static uint64_t stream_hash(const struct es_addr *src, const struct es_addr *dst, uint32_t ssrc)
{
	uint64_t a0, a1, b0, b1;
	memcpy(&a0, src->ip, 8);
	memcpy(&a1, src->ip + 8, 8);
	memcpy(&b0, dst->ip, 8);
	memcpy(&b1, dst->ip + 8, 8);
	uint64_t h = es_hash_mix(a0 ^ (b0 * UINT64_C(0x9e3779b97f4a7c15)) ^
				 ((uint64_t)src->port << 48 | (uint64_t)dst->port << 32 | ssrc));
	if (a1 | b1)
		h = es_hash_mix(h ^ a1 ^ (b1 * UINT64_C(0xc2b2ae3d27d4eb4f)));
	return h;
}

static bool stream_eq(const struct es_hnode *n, const void *key)
{
	const struct rec_stream *s = ES_CONTAINER_OF(n, struct rec_stream, node);
	const struct stream_key *k = key;
	return s->st.ssrc == k->ssrc && es_addr_eq(&s->src, k->src) && es_addr_eq(&s->dst, k->dst);
}

static struct rec_stream *stream_find(struct rec_engine *e, const struct es_addr *src,
				      const struct es_addr *dst, uint32_t ssrc)
{
	struct stream_key k = {src, dst, ssrc};
	struct es_hnode *n = es_htab_find(&e->streams, stream_hash(src, dst, ssrc), stream_eq, &k);
	return n ? ES_CONTAINER_OF(n, struct rec_stream, node) : NULL;
}

static void streams_free(struct rec_engine *e, struct rec_call *rc)
{
	while (rc->streams) {
		struct rec_stream *s = rc->streams;
		rc->streams = s->next;
		if (s->in_table)
			es_htab_remove(&e->streams, &s->node);
		an_stream_free(&s->q);
		free(s);
	}
}

static size_t call_bytes(const struct rec_call *rc)
{
	size_t series = 0;
	for (const struct rec_stream *s = rc->streams; s; s = s->next)
		series += s->q.cap * sizeof(struct an_bin);
	return series + sizeof(*rc) + sizeof(*rc->sip) + rc->nstreams * sizeof(struct rec_stream) +
	       (rc->ml ? mlog_mem_bytes(rc->ml) : 0) +
	       rc->sip->msgs_cap * sizeof(struct sip_call_msg) +
	       rc->sip->events_cap * sizeof(struct sip_call_event);
}

/* The host of a SIP URI ("sip:alice@example.com:5060;transport=tcp"),
 * copied into out. */
const char *rec_uri_host(const char *uri, char *out, size_t cap)
{
	out[0] = '\0';
	if (!uri)
		return NULL;
	const char *at = strchr(uri, '@');
	const char *h = at ? at + 1 : strchr(uri, ':') ? strchr(uri, ':') + 1 : uri;
	size_t n = strcspn(h, ":;>?");
	if (*h == '[') /* IPv6 reference */
		n = strcspn(h, "]") + (h[strcspn(h, "]")] ? 1 : 0);
	snprintf(out, cap, "%.*s", (int)n, h);
	return out;
}

void rec_decide(const struct pol_rules *rules, const struct sip_call *sc, struct pol_decision *d)
{
	char hosts[2][256];
	struct pol_call pc = {
		.call_id = sc->call_id,
		.caller_user = sc->party[SIP_CALLER].user,
		.callee_user = sc->party[SIP_CALLEE].user,
		.caller_host = rec_uri_host(sc->party[SIP_CALLER].uri, hosts[0], sizeof(hosts[0])),
		.callee_host = rec_uri_host(sc->party[SIP_CALLEE].uri, hosts[1], sizeof(hosts[1])),
		.start_us = sc->start_us,
	};
	/* where the first message went: from the caller to the callee side
	 * when the caller sent it */
	if (sc->nmsgs) {
		const struct sip_call_msg *m = &sc->msgs[0];
		bool from_caller = m->sender == SIP_CALLER;
		pc.caller_addr = from_caller ? &m->src : &m->dst;
		pc.callee_addr = from_caller ? &m->dst : &m->src;
	}
	pol_decide(rules, &pc, d);
}

static struct rec_call *rec_call_attach(struct rec_engine *e, struct sip_call *sc)
{
	if (sc->user)
		return sc->user;
	struct rec_call *rc = calloc(1, sizeof(*rc));
	if (!rc)
		return NULL;
	rc->sip = sc;
	rc->media[0].te_pt = rc->media[1].te_pt = -1;
	rc->record = true;
	if (sc->siprec) {
		/* the metadata of the message that opens the call decides
		 * who its parties are, before the rules look at them */
		if (rec_srec_attach(rc)) {
			free(rc);
			return NULL;
		}
		if (e->pending_meta && rec_srec_meta(rc, e->pending_meta) == 0)
			e->pending_meta = NULL;
	}
	const struct pol_rules *rules = e->cfg.rules ? atomic_load(e->cfg.rules) : NULL;
	if (rules) {
		struct pol_decision d;
		if (rc->siprec)
			rec_srec_decide(rules, rc, &d);
		else
			rec_decide(rules, sc, &d);
		rc->record = d.record;
		rc->rule = d.rule;
		rec_pause_init(rc, d.pci);
		rec_consent_init(rc, &d);
		rec_srec_consent(rc); /* the opening metadata's, now that the rule is known */
	}
	sc->user = rc;
	e->stats.active_calls++;
	if (e->stats.active_calls > e->stats.max_active_calls)
		e->stats.max_active_calls = e->stats.active_calls;
	return rc;
}

static void call_finish(struct rec_engine *e, struct rec_call *rc, int64_t now_us,
			enum sip_end_reason why)
{
	struct sip_call *sc = rc->sip;
	int64_t last = ES_MAX(sc->last_sip_us, rc->last_rtp_us);
	if (sc->end_reason == SIP_END_NONE) {
		sc->end_reason = why;
		sc->end_us = last ? last : now_us;
	}
	rec_srec_settle(rc);
	rec_consent_check(rc, sc->end_us, true);
	struct idx_call ic;
	rec_call_to_idx(rc, e->cfg.source, &ic);
	char *media_log = rec_spool_close(&e->spool, rc);
	bool gone = false;
	rec_consent_trim(rc, media_log, e->spool.keys.ud ? &e->spool.keys : NULL, &gone);
	if (media_log && gone) {
		free(media_log); /* no consent, nothing to keep */
		media_log = NULL;
	}
	e->stats.spool_errors = e->spool.errors;
	if (e->on_call && e->on_call(e->ud, &ic, media_log))
		ES_LOG_WARNING(TAG, "call %s was not stored", sc->call_id);
	free(media_log);
	rec_idx_call_free(&ic);
	e->stats.calls++;
	e->stats.streams += rc->nstreams;

	rec_ep_release_call(&e->endpoints, rc);
	streams_free(e, rc);
	e->stats.active_calls--;
	rec_srec_free(rc);
	rec_consent_free(rc);
	free(rc);
	sc->user = NULL;
	sip_tracker_release(e->sip, sc, last ? last : now_us);
}

/* Close calls whose time has come: linger after the end elapsed, or idle. */
static void sweep(struct rec_engine *e, int64_t now_us)
{
	size_t pos = 0, bytes = 0;
	bool flush = e->cfg.spool_flush_us && now_us - e->last_flush_us >= e->cfg.spool_flush_us;
	if (flush)
		e->last_flush_us = now_us;
	struct es_hnode *cur = NULL;
	struct sip_call *sc;
	while ((sc = sip_tracker_next(e->sip, &pos, &cur))) {
		struct rec_call *rc = sc->user;
		if (!rc)
			continue;
		int64_t last = ES_MAX(sc->last_sip_us, rc->last_rtp_us);
		/* a challenged INVITE is retried once the user or the phone
		 * has the credentials: keep the call for the retry */
		int64_t linger = sc->challenged ? ES_MAX(e->cfg.end_linger_us, e->cfg.challenge_wait_us)
						: e->cfg.end_linger_us;
		bool ended = sc->end_reason != SIP_END_NONE &&
			     now_us - ES_MAX(sc->end_us, last) > linger;
		bool open = sc->end_reason == SIP_END_NONE;
		bool answered = sc->outcome == SIP_OUT_ANSWERED;
		if (ended)
			call_finish(e, rc, now_us, sc->end_reason);
		else if (now_us - last > e->cfg.idle_timeout_us)
			call_finish(e, rc, now_us, SIP_END_TIMEOUT);
		else if (open && answered && e->cfg.rtp_timeout_us && rc->last_rtp_us &&
			 now_us - rc->last_rtp_us > e->cfg.rtp_timeout_us)
			call_finish(e, rc, now_us, SIP_END_RTP_TIMEOUT);
		else if (open && e->cfg.max_duration_us &&
			 now_us - sc->start_us > e->cfg.max_duration_us)
			call_finish(e, rc, now_us, SIP_END_MAX_DURATION);
		else if (open && answered && e->cfg.session_timers && sc->session_expires_s &&
			 now_us - sc->session_refresh_us >
				 (int64_t)sc->session_expires_s * ES_US_PER_SEC)
			call_finish(e, rc, now_us, SIP_END_SESSION_TIMER);
		else {
			rec_pause_tick(rc, now_us);
			if (e->cfg.alerts && now_us - rc->alert_check_us >= ES_US_PER_SEC)
				rec_alert_check(e->cfg.alerts, rc, now_us);
			if (rc->consent) /* the window, or events of other sources (API) */
				rec_consent_check(rc, now_us, false);
			if (flush && rc->ml)
				rec_spool_flush(&e->spool, rc);
			bytes += call_bytes(rc);
		}
	}
	e->stats.call_bytes = bytes;
	e->stats.spool_errors = e->spool.errors;
	if (bytes > e->stats.max_call_bytes)
		e->stats.max_call_bytes = bytes;
	sip_tracker_expire(e->sip, now_us);
	e->last_sweep_us = now_us;
}

static void finish_all(struct rec_engine *e, int64_t now_us, enum sip_end_reason why)
{
	sweep(e, now_us);
	size_t pos = 0;
	struct es_hnode *cur = NULL;
	struct sip_call *sc;
	while ((sc = sip_tracker_next(e->sip, &pos, &cur))) {
		struct rec_call *rc = sc->user;
		if (rc)
			call_finish(e, rc, now_us, why);
	}
}

void rec_engine_flush(struct rec_engine *e, int64_t now_us)
{
	finish_all(e, now_us, SIP_END_CAPTURE);
}

void rec_engine_shutdown(struct rec_engine *e, int64_t now_us)
{
	finish_all(e, now_us, SIP_END_SHUTDOWN);
}

void rec_engine_tick(struct rec_engine *e, int64_t now_us)
{
	if (now_us > e->now_us)
		e->now_us = now_us;
	if (e->now_us - e->last_sweep_us >= ES_US_PER_SEC / 5)
		sweep(e, e->now_us);
}

/* ---- SIP ------------------------------------------------------------------------- */

static void handle_sip(struct rec_engine *e, const struct net_pkt *pkt, const uint8_t *p,
		       size_t len)
{
	struct sip_msg m;
	if (sip_msg_parse(&m, (const char *)p, len)) {
		e->stats.sip_parse_errors++;
		ES_LOG_DBG(TAG, "frame %llu: SIP message did not parse",
			   (unsigned long long)pkt->frame);
		return;
	}
	e->stats.sip_messages++;
	/* SIPREC recording metadata (RFC 7865) in a request of the client */
	struct rsmeta rsm = {0};
	bool have_rsm = false;
	struct slice xml;
	if (m.is_request && m.body.len &&
	    sip_body_find(m.content_type, m.body, "application/rs-metadata+xml", &xml) == 0) {
		char why[160];
		if (rsmeta_parse(&rsm, xml.p, xml.len, why, sizeof(why)) == 0) {
			have_rsm = true;
		} else {
			e->stats.siprec_meta_errors++;
			ES_LOG_WARNING(TAG, "frame %llu: recording metadata refused: %s",
				       (unsigned long long)pkt->frame, why);
		}
	}
	e->pending_meta = have_rsm ? &rsm : NULL;
	struct sip_meta meta = {pkt->ts_us, pkt->frame, pkt->src, pkt->dst, pkt->proto};
	struct sip_call *sc = NULL;
	uint64_t before_late = sip_tracker_stats(e->sip)->late;
	uint64_t before_nc = sip_tracker_stats(e->sip)->non_call;
	uint64_t before_orphans = sip_tracker_stats(e->sip)->orphans;
	int err = sip_tracker_feed(e->sip, &m, &meta, &sc);
	if (err)
		e->stats.sip_parse_errors++;
	const struct sip_tracker_stats *ts = sip_tracker_stats(e->sip);
	e->stats.sip_late += ts->late - before_late;
	e->stats.sip_non_call += ts->non_call - before_nc;
	e->stats.sip_orphans += ts->orphans - before_orphans;
	e->stats.sip_retransmissions = ts->retransmissions;
	e->stats.sdp_errors = ts->sdp_errors;
	if (sc && !sc->user)
		rec_call_attach(e, sc);
	struct rec_call *rc = sc ? sc->user : NULL;
	if (rc && e->time_fixed)
		rc->time_fixed = true;
	if (e->pending_meta && rc && rc->siprec)
		rec_srec_stash(rc, &rsm, m.cseq); /* an update in the dialog */
	else if (rc && rc->siprec && !m.is_request && !sl_eq_str_ci(m.cseq_method, "CANCEL"))
		rec_srec_response(rc, m.cseq, m.status);
	e->pending_meta = NULL;
	rsmeta_free(&rsm);
	if (rc && rc->consent && sc->nmsgs && sc->msgs[sc->nmsgs - 1].frame == pkt->frame) {
		/* the message's party: the dialog's view of who sent it */
		rec_consent_header(rc, &m, sc->msgs[sc->nmsgs - 1].sender, pkt->ts_us);
		rec_consent_check(rc, pkt->ts_us, false); /* and SIP INFO keys */
	}
	/* after consent has read the keys: mask_dtmf may turn them into '*' */
	if (rc)
		rec_pause_events(rc, pkt->ts_us); /* SIP INFO keys */
	/* the call's raw data keeps its messages; an INFO (keys typed) while
	 * paused or masked would keep what the pause is for: not kept */
	if (rc && rc->record && e->spool.dir &&
	    !((rc->pz.paused || rc->pz.pci.mask_dtmf) && m.is_request &&
	      sl_eq_str_ci(m.method, "INFO")))
		rec_spool_sip(&e->spool, rc, pkt, p, len);
}

static void on_udp(void *ud, const struct net_pkt *pkt);

static size_t on_tcp(void *ud, const struct net_pkt *pkt)
{
	struct rec_engine *e = ud;
	size_t used = 0;
	while (used < pkt->len) {
		size_t skip = 0, mlen = 0;
		const char *p = (const char *)pkt->data + used;
		int err = sip_frame(p, pkt->len - used, e->cfg.sip_max_msg, &skip, &mlen);
		if (err == ES_EAGAIN) {
			used += skip;
			break;
		}
		if (err) {
			e->stats.tcp_not_sip += pkt->len - used;
			return pkt->len; /* not SIP, or lost framing: resync */
		}
		handle_sip(e, pkt, (const uint8_t *)p + skip, mlen);
		used += skip + mlen;
	}
	return used;
}

/* ---- RTP and RTCP ------------------------------------------------------------------ */

static struct rec_stream *stream_get(struct rec_engine *e, struct rec_call *rc, int party,
				     bool video, const struct net_pkt *pkt, uint32_t ssrc)
{
	struct rec_stream *s = stream_find(e, &pkt->src, &pkt->dst, ssrc);
	if (s && s->call == rc)
		return s;
	struct rec_stream *same_party = NULL;
	for (struct rec_stream *o = rc->streams; o; o = o->next)
		if (o->party == party && o->video == video)
			same_party = o;
	if (s) {
		/* the same key in an older call: this call takes it over */
		es_htab_remove(&e->streams, &s->node);
		s->in_table = false;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->src = pkt->src;
	s->dst = pkt->dst;
	s->party = party;
	s->video = video;
	s->call = rc;
	s->cache_pt = -1;
	s->ml_id = -1;
	rtp_stats_init(&s->st, ssrc);
	an_stream_init(&s->q);
	s->next = rc->streams;
	rc->streams = s;
	rc->nstreams++;
	if (es_htab_insert(&e->streams, &s->node, stream_hash(&s->src, &s->dst, ssrc)) == 0)
		s->in_table = true;
	if (same_party && same_party->st.ssrc != ssrc) {
		char d[48];
		snprintf(d, sizeof(d), "0x%08X -> 0x%08X", same_party->st.ssrc, ssrc);
		sip_call_add_event(rc->sip, pkt->ts_us, party, "ssrc_change", d);
	}
	return s;
}

/* The clock rate of pt as the receiver announced it (in its audio or video
 * map), else as the sender did, else the static table. */
static uint32_t pt_clock(const struct rec_call *rc, int receiver, uint8_t pt, bool video)
{
	const struct rec_party_media *maps = video ? rc->video : rc->media;
	for (int k = 0; k < 2; k++) {
		const struct rec_party_media *pm = &maps[k == 0 ? receiver : other_party[receiver]];
		for (unsigned i = 0; i < pm->nmap; i++)
			if (pm->map[i].pt == pt && pm->map[i].clock)
				return pm->map[i].clock;
	}
	const struct rtp_pt_info *info = rtp_pt_static(pt);
	return info ? info->clock : 0;
}

static void handle_dtmf(struct rec_call *rc, int sender, const struct rtp_hdr *h, int64_t ts)
{
	struct rtp_event ev;
	struct rtp_dtmf d;
	if (rtp_event_parse(h->payload, h->payload_len, &ev))
		return;
	if (!rtp_dtmf_feed(&rc->dtmf[sender], h, &ev, ts, &d))
		return;
	uint32_t clock = pt_clock(rc, other_party[sender], h->pt, false);
	char detail[48];
	snprintf(detail, sizeof(detail), "digit=%c duration_ms=%u", d.digit,
		 clock ? (unsigned)((uint64_t)d.duration_ts * 1000 / clock) : 0);
	sip_call_add_event(rc->sip, d.start_us, sender, "dtmf", detail);
	/* consent reads the key before mask_dtmf turns it into '*' */
	if (rc->consent)
		rec_consent_check(rc, ts, false);
	rec_pause_events(rc, ts);
}

static bool is_te(const struct rec_call *rc, int sender, uint8_t pt)
{
	return rc->media[other_party[sender]].te_pt == pt || rc->media[sender].te_pt == pt;
}

static void handle_rtcp(struct rec_engine *e, struct rec_call *rc, int sender,
			const struct net_pkt *pkt)
{
	struct rtcp_report reps[4];
	unsigned n = 0;
	rtcp_parse(pkt->data, pkt->len, reps, ES_ARRAY_LEN(reps), &n);
	e->stats.rtcp_packets++;
	rc->last_rtp_us = pkt->ts_us;
	rc->time_fixed |= e->time_fixed;
	/* RFC 3611 4.7: an endpoint's own view of the stream it receives,
	 * kept beside earshot's figures for that stream (the latest report) */
	struct rtcp_xr_voip xr[4];
	unsigned nxr = 0;
	rtcp_parse_xr(pkt->data, pkt->len, xr, ES_ARRAY_LEN(xr), &nxr);
	for (unsigned i = 0; i < nxr; i++)
		for (struct rec_stream *s = rc->streams; s; s = s->next)
			if (s->st.ssrc == xr[i].ssrc) {
				s->q.has_xr = true;
				s->q.xr_loss_rate = xr[i].loss_rate;
				s->q.xr_discard_rate = xr[i].discard_rate;
				s->q.xr_r_factor = xr[i].r_factor;
				s->q.xr_mos_cq = xr[i].mos_cq;
				s->q.xr_rtt_ms = xr[i].rtt_ms;
				s->q.xr_end_system_ms = xr[i].end_system_ms;
			}
	for (unsigned i = 0; i < n; i++) {
		for (struct rec_stream *s = rc->streams; s; s = s->next) {
			if (reps[i].has_sender_info && s->st.ssrc == reps[i].sender_ssrc &&
			    s->party == sender) {
				s->rtcp.sr++;
				/* RFC 3550 6.4.1: LSR is the middle 32 bits */
				an_stream_sr(&s->q, (uint32_t)(reps[i].ntp >> 16), pkt->ts_us);
			}
			for (unsigned b = 0; b < reps[i].nblocks; b++) {
				const struct rtcp_block *blk = &reps[i].blocks[b];
				if (blk->ssrc != s->st.ssrc)
					continue;
				s->rtcp.rr_blocks++;
				s->rtcp.fraction_lost_max = ES_MAX(s->rtcp.fraction_lost_max, blk->fraction_lost);
				s->rtcp.cum_lost = blk->cum_lost;
				an_stream_rr(&s->q, blk->lsr, blk->dlsr, pkt->ts_us);
				if (s->st.clock_rate) {
					double j = blk->jitter * 1000.0 / s->st.clock_rate;
					if (j > s->rtcp.jitter_max_ms)
						s->rtcp.jitter_max_ms = j;
				}
			}
		}
	}
}

/* The quality figures' share of one packet (O(1), analytics/quality.c):
 * the sequence gap before it, its transit (arrival minus media time, as
 * RFC 3550 A.8) when its clock is known.  A duplicate (as rtp_stats
 * counted it) is left out; a reordered packet fills a gap counted before. */
static void quality_packet(struct rec_stream *s, const struct rtp_hdr *h, int64_t ts_us,
			   bool te, bool started, uint16_t prev_seq, uint64_t dups, uint64_t ooo)
{
	if (s->st.duplicates != dups)
		return;
	bool fills = s->st.out_of_order != ooo;
	uint32_t gap = started && !fills ? (uint16_t)(h->seq - prev_seq - 1) : 0;
	bool has_transit = !te && s->cache_clock;
	double transit = 0;
	if (has_transit)
		transit = (double)(ts_us - s->st.first_us) / 1000.0 -
			  (double)s->st.ext_ts * 1000.0 / s->cache_clock;
	an_stream_packet(&s->q, ts_us, gap, fills, has_transit, transit, h->marker, s->st.jitter_ms);
}

static void rtp_account(struct rec_engine *e, struct rec_call *rc, struct rec_stream *s,
			const struct rtp_hdr *h, const struct net_pkt *pkt)
{
	int sender = s->party;
	e->stats.rtp_packets++;
	rc->last_rtp_us = pkt->ts_us;
	rc->time_fixed |= e->time_fixed;
	if (s->cache_pt != h->pt || s->cache_gen != rc->media_gen) {
		s->cache_pt = h->pt;
		s->cache_gen = rc->media_gen;
		s->cache_te = !s->video && is_te(rc, sender, h->pt);
		s->cache_clock = pt_clock(rc, other_party[sender], h->pt, s->video);
	}
	/* tshark computes no jitter over telephone-events: clock 0 */
	bool te = s->cache_te;
	bool started = s->st.started;
	uint16_t prev_seq = s->st.seq_num;
	uint64_t dups = s->st.duplicates, ooo = s->st.out_of_order;
	rtp_stats_update(&s->st, h, pkt->ts_us, te ? 0 : s->cache_clock);
	if (!s->video)
		quality_packet(s, h, pkt->ts_us, te, started, prev_seq, dups, ooo);
	if (te)
		handle_dtmf(rc, sender, h, pkt->ts_us);
	/* the window for consent may pass between two sweeps */
	if (rc->consent && !rc->consent_done && rc->sip->answer_us &&
	    pkt->ts_us > rc->sip->answer_us + rc->consent->window_us)
		rec_consent_check(rc, pkt->ts_us, false);
	/* a paused call's media (and masked DTMF) never reaches the disk; a
	 * tone made here may stand in for it (pause_fill = tone); nor does the
	 * audio of a party whose required consent did not come */
	if (e->spool.dir && rc->record && !s->video && !rc->consent_drop[sender]) {
		struct rtp_hdr fill;
		uint8_t tone[REC_FILL_MAX];
		if (!rec_pause_drop(rc, sender, te, pkt->ts_us))
			rec_spool_rtp(&e->spool, rc, s, h, pkt->ts_us);
		else if (rec_pause_fill(rc, h, te, &fill, tone, sizeof(tone)))
			rec_spool_rtp(&e->spool, rc, s, &fill, pkt->ts_us);
	}
}

/* For the counters of media matching no call: a payload type that is
 * assigned or dynamic (RFC 3551 6: 0..34, 96..127), not the unassigned
 * and reserved range between. */
static bool rtp_pt_plausible(uint8_t pt) { return pt <= 34 || pt >= 96; }

/* RTCP's first packet: a type of RFC 3550 (SR..APP), RFC 4585 (RTPFB,
 * PSFB) or RFC 3611 (XR), 200..207, whose length fits the datagram. */
static bool rtcp_plausible(const uint8_t *p, size_t len)
{
	return len >= 8 && p[1] >= 200 && p[1] <= 207 &&
	       ((size_t)((unsigned)p[2] << 8 | p[3]) + 1) * 4 <= len;
}

static void handle_media(struct rec_engine *e, const struct net_pkt *pkt)
{
	bool rtcp = rtp_is_rtcp(pkt->data, pkt->len);
	struct rtp_hdr h;
	bool is_rtp = !rtcp && rtp_parse(pkt->data, pkt->len, &h) == 0;
	if (is_rtp) {
		/* fast path: a known stream of a call that has not ended */
		struct rec_stream *s = stream_find(e, &pkt->src, &pkt->dst, h.ssrc);
		if (s && s->call->sip->end_reason == SIP_END_NONE) {
			rtp_account(e, s->call, s, &h, pkt);
			return;
		}
	}
	/* The call both addresses belong to, else the newest call the
	 * destination belongs to, else the newest the source belongs to. */
	struct rec_endpoint *dep = rec_ep_find(&e->endpoints, &pkt->dst);
	struct rec_endpoint *sep = rec_ep_find(&e->endpoints, &pkt->src);
	struct rec_call *rc = NULL;
	int sender = SIP_CALLER, line = -1;
	bool src_known = false, video = false;
	for (unsigned i = 0; dep && sep && i < dep->nown && !rc; i++) {
		if (rec_ep_owner_index(sep, dep->own[i].call) >= 0) {
			rc = dep->own[i].call;
			sender = other_party[dep->own[i].party];
			line = dep->own[i].line;
			video = dep->own[i].video;
			src_known = true;
		}
	}
	if (!rc && dep) {
		rc = dep->own[0].call;
		sender = other_party[dep->own[0].party];
		line = dep->own[0].line;
		video = dep->own[0].video;
	} else if (!rc && sep) {
		rc = sep->own[0].call;
		sender = sep->own[0].party;
		line = sep->own[0].line;
		video = sep->own[0].video;
		src_known = true;
	}
	/* a recording client sends every party's stream: the m= line's
	 * label says whose it is */
	if (rc && rc->siprec)
		sender = rec_srec_party(rc, line);
	if (!rc) {
		/* Media runs between dynamic ports (RFC 3550 11), never a
		 * system port: DNS (53), NetBIOS (137, 138) and DHCP whose
		 * first byte happens to read as version 2 are not RTP. */
		bool dyn = pkt->src.port >= 1024 && pkt->dst.port >= 1024;
		if (dyn && rtcp && rtcp_plausible(pkt->data, pkt->len))
			e->stats.rtcp_no_call++;
		else if (dyn && is_rtp && rtp_pt_plausible(h.pt))
			e->stats.rtp_no_call++;
		else
			e->stats.udp_other++; /* DNS, NetBIOS...: a first byte is no proof */
		return;
	}
	if (rtcp) {
		handle_rtcp(e, rc, sender, pkt);
		return;
	}
	if (!is_rtp) {
		e->stats.udp_other++;
		return;
	}
	if (!src_known) {
		/* NAT: the sender's real address, learned from what it sends
		 * to the announced port, is where it receives too (symmetric
		 * RTP, RFC 4961). */
		rec_ep_add(&e->endpoints, rc, sender, &pkt->src, line, video);
	}
	struct rec_stream *s = stream_get(e, rc, sender, video, pkt, h.ssrc);
	if (s)
		rtp_account(e, rc, s, &h, pkt);
}

static void on_udp(void *ud, const struct net_pkt *pkt)
{
	struct rec_engine *e = ud;
	const uint8_t *p = pkt->data;
	/* RTP and RTCP start with version 2 (0x80..0xBF); SIP with a letter.
	 * One byte decides the common case without any parsing. */
	if (pkt->len && (p[0] & 0xC0) == 0x80)
		handle_media(e, pkt);
	else if (sip_looks_like(p, pkt->len))
		handle_sip(e, pkt, p, pkt->len);
	else
		e->stats.udp_other++;
}

/* Close what is due before the packet at now_us is handled: a call that
 * ended an hour ago must not take a packet that reuses its Call-ID or its
 * ports (nor grow by an hour of silence). */
static void sweep_due(struct rec_engine *e, int64_t ts_us)
{
	if (ts_us > e->now_us)
		e->now_us = ts_us;
	if (e->now_us - e->last_sweep_us >= ES_US_PER_SEC)
		sweep(e, e->now_us);
}

void rec_engine_datagram(struct rec_engine *e, const struct net_pkt *pkt)
{
	sweep_due(e, pkt->ts_us);
	if (pkt->proto == NET_PROTO_TCP)
		handle_sip(e, pkt, pkt->data, pkt->len);
	else
		on_udp(e, pkt);
}

/* ---- engine ----------------------------------------------------------------------- */

int rec_engine_new(struct rec_engine **out, const struct rec_config *cfg, rec_call_fn on_call,
		   void *ud)
{
	struct rec_engine *e = calloc(1, sizeof(*e));
	int err = ES_ENOMEM;
	if (!e)
		return ES_ENOMEM;
	if (cfg)
		e->cfg = *cfg;
	else
		rec_config_default(&e->cfg);
	if (!e->cfg.source)
		e->cfg.source = "import";
	if (e->cfg.sip_max_msg == 0)
		e->cfg.sip_max_msg = 64 * 1024;
	e->on_call = on_call;
	e->ud = ud;
	e->spool.dir = e->cfg.spool_dir;
	e->spool.buf_bytes = e->cfg.spool_buf_bytes;
	e->spool.sync = e->cfg.spool_sync;
	e->spool.source = e->cfg.source;
	rec_spool_keys(&e->spool.keys, e->cfg.spool_vault);
	struct sip_tracker_config tc = {.extra_headers = e->cfg.extra_headers};
	if ((err = es_htab_init(&e->endpoints, 1024)) || (err = es_htab_init(&e->streams, 1024)))
		goto fail;
	if ((err = net_decoder_new(&e->net, &e->cfg.net, on_udp, on_tcp, e)))
		goto fail;
	if ((err = sip_tracker_new(&e->sip, &tc, on_sdp, e)))
		goto fail;
	*out = e;
	return 0;
fail:
	rec_engine_free(e);
	return err;
}

void rec_engine_free(struct rec_engine *e)
{
	if (!e)
		return;
	if (e->sip) {
		size_t pos = 0;
		struct es_hnode *cur = NULL;
		struct sip_call *sc;
		while ((sc = sip_tracker_next(e->sip, &pos, &cur))) {
			struct rec_call *rc = sc->user;
			if (!rc)
				continue;
			streams_free(e, rc);
			rec_spool_discard(rc);
			rec_srec_free(rc);
			free(rc);
			sc->user = NULL;
		}
		sip_tracker_free(e->sip);
	}
	rec_ep_free_all(&e->endpoints);
	es_htab_free(&e->streams);
	net_decoder_free(e->net);
	free(e);
}

int rec_engine_frame(struct rec_engine *e, int dlt, const uint8_t *data, size_t caplen,
		     int64_t ts_us, uint64_t frame)
{
	sweep_due(e, ts_us);
	int err = net_decode_frame(e->net, dlt, data, caplen, ts_us, frame);
	e->time_fixed = false; /* rec_engine_time_fixed() speaks of this frame only */
	return err;
}

void rec_engine_time_fixed(struct rec_engine *e) { e->time_fixed = true; }

const struct rec_stats *rec_engine_stats(const struct rec_engine *e) { return &e->stats; }

struct sip_tracker *rec_engine_tracker(struct rec_engine *e) { return e->sip; }

const struct net_stats *rec_engine_net_stats(const struct rec_engine *e)
{
	return net_decoder_stats(e->net);
}
