/* finish.c - a finished call becomes one index row. */
#include "record/record_internal.h"
#include "codec/codec.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STR_PTS 64
#define STR_CODECS 128
#define STR_RTCP 192
#define STR_FLAGS 192
#define STREAM_STRS (STR_PTS + STR_CODECS + STR_RTCP)

/* The SDP name (and clock, may be NULL) of pt as receiver's party offered
 * it (in its video maps for a video stream), or the static type's; NULL
 * when unknown. */
static const char *pt_codec(const struct rec_call *rc, int receiver, uint8_t pt, bool video,
			    uint32_t *clock)
{
	const struct rec_party_media *maps = video ? rc->video : rc->media;
	for (int k = 0; k < 2; k++) {
		const struct rec_party_media *pm = &maps[k == 0 ? receiver : 1 - receiver];
		for (unsigned i = 0; i < pm->nmap; i++)
			if (pm->map[i].pt == pt && pm->map[i].name[0]) {
				if (clock)
					*clock = pm->map[i].clock;
				return pm->map[i].name;
			}
	}
	const struct rtp_pt_info *info = rtp_pt_static(pt);
	if (info && clock)
		*clock = info->clock;
	return info ? info->name : NULL;
}

/* Add to list (comma-separated, cap bytes) the codecs of the call's media
 * that earshot cannot decode: an SDP name it does not know (a vendor's
 * dynamic codec, speex at 11025 Hz), a static type it does not decode (LPC,
 * DVI4...), a dynamic type no SDP named ("pt96").  Its audio is missing
 * from the recording, and without this the call would only lack audio.
 * Video is not audio to decode: it has its own flag. */
static void undecoded_codecs(const struct rec_call *rc, char *list, size_t cap)
{
	for (const struct rec_stream *s = rc->streams; s; s = s->next) {
		if (!s->st.packets || s->video)
			continue;
		for (unsigned i = 0; i < s->st.npts; i++) {
			uint8_t pt = s->st.pts[i];
			uint32_t clock = 0;
			const char *name = pt_codec(rc, 1 - s->party, pt, false, &clock);
			char buf[16];
			if (name && codec_decodable(name, clock, 0))
				continue;
			if (!name) {
				snprintf(buf, sizeof(buf), "pt%u", pt);
				name = buf;
			}
			size_t n = strlen(list), l = strlen(name);
			bool dup = false;
			for (const char *p = list; (p = strstr(p, name)) != NULL; p += l)
				if ((p == list || p[-1] == ',') && (p[l] == ',' || !p[l]))
					dup = true;
			if (!dup && n + l + 2 <= cap)
				snprintf(list + n, cap - n, "%s%s", n ? "," : "", name);
		}
	}
}

static int cmp_first(const void *a, const void *b)
{
	const struct idx_stream *x = a, *y = b;
	if (x->first_us != y->first_us)
		return x->first_us < y->first_us ? -1 : 1;
	return x->party - y->party;
}

static void fill_stream(const struct rec_call *rc, const struct rec_stream *s,
			struct idx_stream *o, char *strs)
{
	memset(o, 0, sizeof(*o));
	o->party = s->party;
	o->ssrc = s->st.ssrc;
	es_addr_fmt(&s->src, true, o->src, sizeof(o->src));
	es_addr_fmt(&s->dst, true, o->dst, sizeof(o->dst));
	o->packets = s->st.packets;
	o->expected = s->st.expected;
	o->lost = s->st.lost;
	o->duplicates = s->st.duplicates;
	o->out_of_order = s->st.out_of_order;
	o->jitter_max_ms = s->st.jitter_max_ms;
	o->jitter_mean_ms = s->st.jitter_mean_ms;
	o->delta_max_ms = s->st.delta_max_ms;
	o->first_us = s->st.first_us;
	o->last_us = s->st.last_us;

	char *pts = strs, *codecs = strs + STR_PTS, *rtcp = codecs + STR_CODECS;
	size_t np = 0, nc = 0;
	pts[0] = codecs[0] = rtcp[0] = '\0';
	for (unsigned i = 0; i < s->st.npts; i++) {
		uint8_t pt = s->st.pts[i];
		const char *name = pt_codec(rc, 1 - s->party, pt, s->video, NULL);
		int n = snprintf(pts + np, STR_PTS - np, "%s%u", i ? "," : "", pt);
		if (n > 0 && (size_t)n < STR_PTS - np)
			np += (size_t)n;
		n = snprintf(codecs + nc, STR_CODECS - nc, "%s%s", i ? "," : "", name ? name : "?");
		if (n > 0 && (size_t)n < STR_CODECS - nc)
			nc += (size_t)n;
	}
	o->payload_types = pts;
	o->codecs = codecs;
	if (s->rtcp.sr || s->rtcp.rr_blocks) {
		snprintf(rtcp, STR_RTCP,
			 "{\"sr\":%u,\"rr_blocks\":%u,\"fraction_lost_max\":%.3f,"
			 "\"cum_lost\":%d,\"jitter_max_ms\":%.3f}",
			 s->rtcp.sr, s->rtcp.rr_blocks, s->rtcp.fraction_lost_max / 256.0,
			 s->rtcp.cum_lost, s->rtcp.jitter_max_ms);
		o->rtcp_json = rtcp;
	}
}

/* The stream's first audio codec (telephone-event and comfort noise are
 * not the voice), NULL when none is named. */
static const char *stream_codec(const struct rec_call *rc, const struct rec_stream *s)
{
	for (unsigned i = 0; i < s->st.npts; i++) {
		const char *name = pt_codec(rc, 1 - s->party, s->st.pts[i], false, NULL);
		if (name && strcasecmp(name, "telephone-event") != 0 && strcasecmp(name, "CN") != 0)
			return name;
	}
	return NULL;
}

/* Each stream's quality JSON into qb, NUL-terminated, in the order of
 * rc->streams (an empty string for video and streams without packets), and
 * the call's summary: the worst direction and the worst 5 s bin. */
static int call_quality(const struct rec_call *rc, struct es_buf *qb, struct idx_call_quality *q)
{
	memset(q, 0, sizeof(*q));
	for (const struct rec_stream *s = rc->streams; s; s = s->next) {
		if (s->video || !s->st.packets || !s->q.net.found) {
			if (es_buf_append(qb, "", 1))
				return ES_ENOMEM;
			continue;
		}
		const char *name = stream_codec(rc, s);
		struct an_result r;
		an_stream_result(&s->q, an_codec_imp(name, name ? strlen(name) : 0), &r);
		if (an_stream_json(&s->q, &r, qb) || es_buf_append(qb, "", 1))
			return ES_ENOMEM;
		double mos = r.mos[AN_JB_ADAPTIVE];
		if (!q->set || mos < q->mos)
			q->mos = mos;
		if (!q->set || r.mos_min_bin < q->mos_min)
			q->mos_min = r.mos_min_bin;
		if (r.net_loss_pct > q->loss_pct)
			q->loss_pct = r.net_loss_pct;
		if (r.jitter_p95_ms > q->jitter_ms)
			q->jitter_ms = r.jitter_p95_ms;
		q->set = true;
	}
	return 0;
}

static void add_flag(char *flags, const char *f)
{
	size_t n = strlen(flags);
	snprintf(flags + n, STR_FLAGS - n, "%s%s", n ? "," : "", f);
}

int rec_call_to_idx(const struct rec_call *rc, const char *source, struct idx_call *out)
{
	const struct sip_call *sc = rc->sip;
	memset(out, 0, sizeof(*out));
	size_t ns = rc->nstreams;
	struct es_buf qb;
	es_buf_init(&qb);
	if (call_quality(rc, &qb, &out->quality)) {
		es_buf_free(&qb);
		return ES_ENOMEM;
	}
	uint8_t *block = malloc(ns * (sizeof(struct idx_stream) + STREAM_STRS) + STR_FLAGS +
				sc->nevents * sizeof(struct idx_event) +
				sc->nmsgs * sizeof(struct idx_msg) + qb.len + 1);
	if (!block) {
		es_buf_free(&qb);
		return ES_ENOMEM;
	}
	struct idx_stream *streams = (struct idx_stream *)(void *)block;
	struct idx_event *events = (struct idx_event *)(void *)(streams + ns);
	struct idx_msg *msgs = (struct idx_msg *)(void *)(events + sc->nevents);
	char *strs = (char *)(msgs + sc->nmsgs);
	char *flags = strs + ns * STREAM_STRS;
	char *qj = flags + STR_FLAGS;
	if (qb.len)
		memcpy(qj, qb.p, qb.len);
	es_buf_free(&qb);

	unsigned i = 0, senders = 0;
	bool video = false;
	for (const struct rec_stream *s = rc->streams; s; s = s->next, i++) {
		fill_stream(rc, s, &streams[i], strs + i * STREAM_STRS);
		streams[i].quality_json = *qj ? qj : NULL;
		qj += strlen(qj) + 1;
		if (s->st.packets && s->video)
			video = true;
		else if (s->st.packets)
			senders |= 1u << s->party; /* one_way and no_media speak of audio */
	}
	qsort(streams, ns, sizeof(*streams), cmp_first);

	for (unsigned k = 0; k < sc->nevents; k++) {
		events[k].ts_us = sc->events[k].ts_us;
		events[k].kind = sc->events[k].kind;
		events[k].party = sc->events[k].party;
		events[k].detail = sc->events[k].detail;
	}
	for (unsigned k = 0; k < sc->nmsgs; k++) {
		const struct sip_call_msg *m = &sc->msgs[k];
		struct idx_msg *o = &msgs[k];
		memset(o, 0, sizeof(*o));
		o->ts_us = m->ts_us;
		o->frame = m->frame;
		es_addr_fmt(&m->src, true, o->src, sizeof(o->src));
		es_addr_fmt(&m->dst, true, o->dst, sizeof(o->dst));
		o->transport = net_proto_name(m->proto);
		o->label = m->label;
		o->cseq = m->cseq;
		o->cseq_method = m->cseq_method;
		o->retransmission = m->retransmission;
		o->has_sdp = m->has_sdp;
	}

	flags[0] = '\0';
	if (!sc->invite_seen)
		add_flag(flags, "no_invite");
	if (sc->forked)
		add_flag(flags, "forked");
	if (sc->outcome == SIP_OUT_ANSWERED) {
		if (senders == 0)
			add_flag(flags, "no_media");
		else if (senders != 3)
			add_flag(flags, "one_way");
	}
	if (video)
		add_flag(flags, "video"); /* its streams' statistics only (docs/ARCHITECTURE.md) */
	if (sc->siprec)
		add_flag(flags, "siprec");
	if (sc->msgs_dropped)
		add_flag(flags, "messages_truncated");
	if (rc->time_fixed)
		add_flag(flags, "capture_time_fixed");
	if (rc->capture_drops) {
		/* the flag, then the count as "capture_drops:N" (live.c) */
		char f[40];
		snprintf(f, sizeof(f), "capture_drops:%llu", (unsigned long long)rc->capture_drops);
		add_flag(flags, "capture_drops");
		add_flag(flags, f);
	}
	char undecoded[48] = "";
	undecoded_codecs(rc, undecoded, sizeof(undecoded));
	if (undecoded[0]) {
		/* the flag, then each codec as "undecoded:NAME" */
		add_flag(flags, "undecoded_codec");
		for (char *p = undecoded, *e; *p; p = e) {
			e = strchr(p, ',');
			e = e ? (*e = '\0', e + 1) : p + strlen(p);
			char f[40];
			snprintf(f, sizeof(f), "undecoded:%s", p);
			add_flag(flags, f);
		}
	}
	if (rc->no_consent)
		add_flag(flags, "no_consent"); /* required consent refused or missing */
	if (!rc->record)
		add_flag(flags, "not_recorded");
	else if (rc->ml_failed)
		add_flag(flags, "recording_cut");

	struct idx_party parties[2];
	rec_call_view(rc, parties, &out->call_id);
	out->caller = parties[SIP_CALLER];
	out->callee = parties[SIP_CALLEE];
	out->start_us = sc->start_us;
	out->answer_us = sc->outcome == SIP_OUT_ANSWERED ? sc->answer_us : 0;
	out->end_us = sc->end_us;
	/* A call whose INVITE got no final response before the capture or
	 * the timeout ended it was not answered. */
	enum sip_outcome oc = sc->outcome == SIP_OUT_IN_PROGRESS ? SIP_OUT_NO_ANSWER : sc->outcome;
	out->outcome = sip_outcome_name(oc);
	out->sip_code = sc->sip_code;
	out->end_reason = sip_end_reason_name(sc->end_reason);
	out->flags = flags[0] ? flags : NULL;
	out->extra_json = rec_srec_json(rc, sc->extra_json);
	out->rule = rc->rule;
	out->consent[0] = rc->consent_state[0];
	out->consent[1] = rc->consent_state[1];
	out->consent_json = rc->consent_json;
	out->source = source;
	out->streams = streams;
	out->nstreams = (unsigned)ns;
	out->events = events;
	out->nevents = sc->nevents;
	out->msgs = msgs;
	out->nmsgs = sc->nmsgs;
	return 0;
}

void rec_idx_call_free(struct idx_call *c)
{
	free(c->streams); /* one block holds streams, events, messages, strings */
	c->streams = NULL;
}
