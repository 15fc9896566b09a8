/* handlers_json.c - a call as JSON (calljson.h), for the REST API and for
 * `earshot calls/show --json` alike (docs/CLI.md "JSON (stable
 * interface)"). */
#include "api/server_internal.h"

#include <string.h>

void api_json_time(struct es_json *j, int64_t us)
{
	char b[ES_TIME_STRLEN];
	if (!us) {
		es_json_null(j);
		return;
	}
	es_time_fmt(us, b, sizeof(b));
	es_json_str(j, b);
}

static void put_party(struct es_json *j, const struct idx_party *p)
{
	es_json_obj_begin(j);
	es_json_key(j, "uri"); es_json_str(j, p->uri);
	es_json_key(j, "user"); es_json_str(j, p->user);
	es_json_key(j, "display"); es_json_str(j, p->display);
	es_json_key(j, "pai"); es_json_str(j, p->pai);
	es_json_key(j, "user_agent"); es_json_str(j, p->ua);
	es_json_key(j, "sdp_addr"); es_json_str(j, p->sdp_addr);
	es_json_obj_end(j);
}

static const char *party_name(int p)
{
	return p == IDX_CALLER ? "caller" : p == IDX_CALLEE ? "callee" : NULL;
}

/* detail: with the network quality and its 5 s series (docs/QUALITY.md),
 * which the list leaves out for size. */
static void put_stream(struct es_json *j, const struct idx_stream *s, bool detail)
{
	char ssrc[16];
	snprintf(ssrc, sizeof(ssrc), "0x%08X", s->ssrc);
	es_json_obj_begin(j);
	es_json_key(j, "party"); es_json_str(j, party_name(s->party));
	es_json_key(j, "ssrc"); es_json_str(j, ssrc);
	es_json_key(j, "src"); es_json_str(j, s->src);
	es_json_key(j, "dst"); es_json_str(j, s->dst);
	es_json_key(j, "payload_types");
	es_json_arr_begin(j);
	struct slice rest = sl_cstr(s->payload_types), one;
	while (rest.len) {
		sl_split(rest, ',', &one, &rest);
		uint32_t pt;
		if (!sl_to_u32(one, &pt))
			es_json_int(j, pt);
	}
	es_json_arr_end(j);
	es_json_key(j, "codecs"); es_json_str(j, s->codecs);
	es_json_key(j, "packets"); es_json_int(j, (int64_t)s->packets);
	es_json_key(j, "expected"); es_json_int(j, (int64_t)s->expected);
	es_json_key(j, "lost"); es_json_int(j, s->lost);
	es_json_key(j, "duplicates"); es_json_int(j, (int64_t)s->duplicates);
	es_json_key(j, "out_of_order"); es_json_int(j, (int64_t)s->out_of_order);
	es_json_key(j, "jitter_max_ms"); es_json_double(j, s->jitter_max_ms, 3);
	es_json_key(j, "jitter_mean_ms"); es_json_double(j, s->jitter_mean_ms, 3);
	es_json_key(j, "delta_max_ms"); es_json_double(j, s->delta_max_ms, 3);
	es_json_key(j, "first"); api_json_time(j, s->first_us);
	es_json_key(j, "last"); api_json_time(j, s->last_us);
	es_json_key(j, "rtcp");
	es_json_raw(j, s->rtcp_json); /* stored as JSON by the engine */
	if (detail) {
		es_json_key(j, "quality");
		es_json_raw(j, s->quality_json); /* analytics/quality.c wrote it */
	}
	es_json_obj_end(j);
}

/* The call's quality summary (null before schema v10 or without audio). */
static void put_quality(struct es_json *j, const struct idx_call_quality *q)
{
	if (!q->set) {
		es_json_null(j);
		return;
	}
	es_json_obj_begin(j);
	es_json_key(j, "mos"); es_json_double(j, q->mos, 2);
	es_json_key(j, "mos_min"); es_json_double(j, q->mos_min, 2);
	es_json_key(j, "loss_pct"); es_json_double(j, q->loss_pct, 3);
	es_json_key(j, "jitter_p95_ms"); es_json_double(j, q->jitter_ms, 1);
	es_json_obj_end(j);
}

void api_json_list(struct es_json *j, const char *comma_list)
{
	es_json_arr_begin(j);
	struct slice rest = sl_cstr(comma_list ? comma_list : ""), one;
	while (rest.len) {
		sl_split(rest, ',', &one, &rest);
		if (one.len)
			es_json_strn(j, one.p, one.len);
	}
	es_json_arr_end(j);
}

static void put_recording(struct es_json *j, const struct idx_recording *r)
{
	if (!r) {
		es_json_null(j);
		return;
	}
	es_json_obj_begin(j);
	es_json_key(j, "path"); es_json_str(j, r->path);
	es_json_key(j, "format"); es_json_str(j, r->format);
	es_json_key(j, "bytes"); es_json_int(j, (int64_t)r->bytes);
	es_json_key(j, "sha256"); es_json_str(j, r->sha256);
	es_json_key(j, "plain_sha256"); es_json_str(j, r->plain_sha256);
	es_json_key(j, "encrypted"); es_json_bool(j, r->encrypted);
	es_json_key(j, "start"); api_json_time(j, r->start_us);
	es_json_key(j, "start_us"); es_json_int(j, r->start_us);
	es_json_key(j, "duration_s"); es_json_double(j, (double)r->duration_us / 1e6, 3);
	es_json_key(j, "rate"); es_json_int(j, r->rate);
	es_json_key(j, "channels"); es_json_int(j, r->channels);
	es_json_key(j, "codecs"); es_json_str(j, r->codecs);
	es_json_key(j, "flags"); api_json_list(j, r->flags);
	es_json_key(j, "stats"); es_json_raw(j, r->stats_json);
	es_json_obj_end(j);
}

void api_call_json(struct es_json *j, const struct idx_call *c, bool detail)
{
	api_call_json_ex(j, c, detail, NULL, NULL);
}

void api_call_json_ex(struct es_json *j, const struct idx_call *c, bool detail,
		      void (*extra)(void *ud, struct es_json *j), void *ud)
{
	es_json_obj_begin(j);
	es_json_key(j, "id"); es_json_int(j, c->id);
	es_json_key(j, "call_id"); es_json_str(j, c->call_id);
	es_json_key(j, "caller"); es_json_str(j, c->caller.uri);
	es_json_key(j, "callee"); es_json_str(j, c->callee.uri);
	es_json_key(j, "start"); api_json_time(j, c->start_us);
	es_json_key(j, "answer"); api_json_time(j, c->answer_us);
	es_json_key(j, "end"); api_json_time(j, c->end_us);
	es_json_key(j, "duration_s");
	es_json_double(j, (double)idx_call_duration_us(c) / 1e6, 3);
	es_json_key(j, "outcome"); es_json_str(j, c->outcome);
	es_json_key(j, "sip_code");
	if (c->sip_code)
		es_json_int(j, c->sip_code);
	else
		es_json_null(j);
	es_json_key(j, "end_reason"); es_json_str(j, c->end_reason);
	es_json_key(j, "source"); es_json_str(j, c->source);
	es_json_key(j, "node"); es_json_str(j, c->node); /* the recorder (IDX_MIG_NODES) */
	es_json_key(j, "rule"); es_json_str(j, c->rule);
	es_json_key(j, "clock"); /* core/clock.h; null for calls indexed before it */
	if (c->clock_json)
		es_json_raw(j, c->clock_json);
	else
		es_json_null(j);
	es_json_key(j, "flags"); api_json_list(j, c->flags);
	es_json_key(j, "consent");
	if (c->consent[0] || c->consent[1]) {
		/* each party's state and the evidence the recorder stored */
		es_json_obj_begin(j);
		es_json_key(j, "caller"); es_json_str(j, c->consent[0]);
		es_json_key(j, "callee"); es_json_str(j, c->consent[1]);
		es_json_key(j, "evidence"); es_json_raw(j, c->consent_json);
		es_json_obj_end(j);
	} else {
		es_json_null(j);
	}
	es_json_key(j, "parties");
	es_json_obj_begin(j);
	es_json_key(j, "caller"); put_party(j, &c->caller);
	es_json_key(j, "callee"); put_party(j, &c->callee);
	es_json_obj_end(j);
	es_json_key(j, "extra_headers");
	es_json_raw(j, c->extra_json); /* stored as a JSON object by the engine */
	es_json_key(j, "streams");
	es_json_arr_begin(j);
	for (unsigned i = 0; i < c->nstreams; i++)
		put_stream(j, &c->streams[i], detail);
	es_json_arr_end(j);
	es_json_key(j, "quality");
	put_quality(j, &c->quality);
	/* talk metrics (docs/ANALYTICS.md): everything with the speech
	 * segments in the detail, the searched figures in a list */
	es_json_key(j, "talk");
	if (!c->talk.json) {
		es_json_null(j);
	} else if (detail) {
		es_json_raw(j, c->talk.json); /* analytics/talk.c wrote it */
	} else {
		es_json_obj_begin(j);
		es_json_key(j, "talk_ratio");
		if (c->talk.ratio < 0)
			es_json_null(j);
		else
			es_json_double(j, c->talk.ratio, 4);
		es_json_key(j, "overtalk_ms"); es_json_int(j, c->talk.overtalk_ms);
		es_json_key(j, "dead_air_max_ms"); es_json_int(j, c->talk.dead_air_ms);
		es_json_obj_end(j);
	}
	/* transcript findings (record/transcript_an.c wrote the JSON):
	 * everything in the detail, the searched score in a list */
	es_json_key(j, "sentiment");
	if (c->speech.sentiment_set)
		es_json_double(j, c->speech.sentiment, 4);
	else
		es_json_null(j);
	if (detail) {
		es_json_key(j, "speech");
		if (c->speech.json)
			es_json_raw(j, c->speech.json);
		else
			es_json_null(j);
	}
	/* audio checks of the decoded recording (analytics/audiocheck.c wrote it) */
	es_json_key(j, "checks");
	if (c->checks_json)
		es_json_raw(j, c->checks_json);
	else
		es_json_null(j);
	es_json_key(j, "recording");
	put_recording(j, c->recording);
	if (detail) {
		es_json_key(j, "events");
		es_json_arr_begin(j);
		for (unsigned i = 0; i < c->nevents; i++) {
			const struct idx_event *e = &c->events[i];
			es_json_obj_begin(j);
			es_json_key(j, "time"); api_json_time(j, e->ts_us);
			es_json_key(j, "recording_offset_s");
			if (c->recording && e->ts_us >= c->recording->start_us)
				es_json_double(j, (double)(e->ts_us - c->recording->start_us) / 1e6, 3);
			else
				es_json_null(j);
			es_json_key(j, "kind"); es_json_str(j, e->kind);
			es_json_key(j, "party"); es_json_str(j, party_name(e->party));
			es_json_key(j, "detail"); es_json_str(j, e->detail);
			es_json_obj_end(j);
		}
		es_json_arr_end(j);
		es_json_key(j, "messages");
		es_json_arr_begin(j);
		for (unsigned i = 0; i < c->nmsgs; i++) {
			const struct idx_msg *m = &c->msgs[i];
			es_json_obj_begin(j);
			es_json_key(j, "time"); api_json_time(j, m->ts_us);
			es_json_key(j, "frame"); es_json_int(j, (int64_t)m->frame);
			es_json_key(j, "src"); es_json_str(j, m->src);
			es_json_key(j, "dst"); es_json_str(j, m->dst);
			es_json_key(j, "transport"); es_json_str(j, m->transport);
			es_json_key(j, "label"); es_json_str(j, m->label);
			es_json_key(j, "cseq"); es_json_int(j, m->cseq);
			es_json_key(j, "cseq_method"); es_json_str(j, m->cseq_method);
			es_json_key(j, "retransmission"); es_json_bool(j, m->retransmission);
			es_json_key(j, "sdp"); es_json_bool(j, m->has_sdp);
			es_json_obj_end(j);
		}
		es_json_arr_end(j);
	}
	if (extra)
		extra(ud, j);
	es_json_obj_end(j);
}
