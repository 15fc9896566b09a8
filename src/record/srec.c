/*
 * srec.c - calls that are SIPREC recording sessions (RFC 7866).
 *
 * A recording client (an SBC, a PBX) sends the recording server one audio
 * stream per participant, each labelled (a=label, RFC 4574), and recording
 * metadata (RFC 7865) that says which participant sends which labelled
 * stream.  Whether the engine sees this traffic on the wire (import, live
 * capture) or as the recording server itself (siprec/), the call it makes
 * of it is the original call: its parties are the participants, each
 * stream belongs to the participant that sends it, and a stream the client
 * marks inactive is paused.
 *
 * Parties: the first participant (in the metadata's order) that sends a
 * stream is the caller, the next one the callee; a third sender (a
 * conference) is heard on the callee's side.  Without metadata the first
 * m= line is the caller's and the others the callee's.
 */
#include "record/record_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG "record"

struct rec_siprec {
	struct rsmeta meta;
	bool have_meta;
	bool seen_offer;
	char labels[SDP_MAX_MEDIA][32];
	bool paused[SDP_MAX_MEDIA];
	uint32_t meta_updates;
	/* an update in a request of the dialog, applied when its 2xx is seen */
	struct rsmeta pending;
	bool have_pending;
	uint32_t pending_cseq;
	char *json;          /* extra JSON of the finished call */
};

static int party_of(const struct rsmeta *m, const struct rsmeta_participant *p);

int rec_srec_attach(struct rec_call *rc)
{
	if (rc->siprec)
		return 0;
	rc->siprec = calloc(1, sizeof(*rc->siprec));
	return rc->siprec ? 0 : ES_ENOMEM;
}

void rec_srec_free(struct rec_call *rc)
{
	if (!rc->siprec)
		return;
	rsmeta_free(&rc->siprec->meta);
	rsmeta_free(&rc->siprec->pending);
	free(rc->siprec->json);
	free(rc->siprec);
	rc->siprec = NULL;
}

int rec_srec_meta(struct rec_call *rc, const struct rsmeta *update)
{
	struct rec_siprec *s = rc->siprec;
	if (!s)
		return ES_EINVAL;
	int err = rsmeta_merge(&s->meta, update);
	if (err)
		return err;
	s->have_meta = true;
	s->meta_updates++;
	rec_srec_consent(rc);
	return 0;
}

void rec_srec_consent(struct rec_call *rc)
{
	struct rec_siprec *s = rc->siprec;
	if (!s || !rc->consent)
		return;
	for (unsigned i = 0; i < s->meta.nparts; i++) {
		const struct rsmeta_participant *p = &s->meta.parts[i];
		if (p->consent != RSMETA_CONSENT_NONE)
			rec_consent_siprec(rc, party_of(&s->meta, p), p->consent == RSMETA_CONSENT_YES,
					   rc->sip->last_sip_us);
	}
}

/* A request that was not answered yet: lenient, as for a capture that
 * missed the response, its update counts. */
void rec_srec_settle(struct rec_call *rc)
{
	struct rec_siprec *s = rc->siprec;
	if (!s || !s->have_pending)
		return;
	rec_srec_meta(rc, &s->pending);
	rsmeta_free(&s->pending);
	s->have_pending = false;
}

void rec_srec_stash(struct rec_call *rc, struct rsmeta *update, uint32_t cseq)
{
	struct rec_siprec *s = rc->siprec;
	if (!s)
		return;
	rec_srec_settle(rc);
	s->pending = *update;           /* the arena moves with the struct */
	memset(update, 0, sizeof(*update));
	s->have_pending = true;
	s->pending_cseq = cseq;
}

void rec_srec_response(struct rec_call *rc, uint32_t cseq, unsigned status)
{
	struct rec_siprec *s = rc->siprec;
	if (!s || !s->have_pending || cseq != s->pending_cseq || status < 200)
		return;
	if (status < 300)
		rec_srec_meta(rc, &s->pending);
	rsmeta_free(&s->pending);
	s->have_pending = false;
}

/* The k-th participant (0-based, document order) that sends a stream;
 * when nobody has send associations, the k-th participant. */
static const struct rsmeta_participant *nth_sender(const struct rsmeta *m, unsigned k)
{
	bool any = false;
	for (unsigned i = 0; i < m->nparts && !any; i++)
		any = m->parts[i].nsend > 0;
	for (unsigned i = 0; i < m->nparts; i++) {
		if (any && !m->parts[i].nsend)
			continue;
		if (k-- == 0)
			return &m->parts[i];
	}
	return NULL;
}

static int party_of(const struct rsmeta *m, const struct rsmeta_participant *p)
{
	const struct rsmeta_participant *caller = nth_sender(m, 0);
	return caller && p == caller ? SIP_CALLER : SIP_CALLEE;
}

int rec_srec_party(const struct rec_call *rc, int line)
{
	const struct rec_siprec *s = rc->siprec;
	if (s && s->have_meta && line >= 0 && line < SDP_MAX_MEDIA && s->labels[line][0]) {
		const struct rsmeta_participant *p =
			rsmeta_sender_of_label(&s->meta, s->labels[line]);
		if (p)
			return party_of(&s->meta, p);
	}
	return line <= 0 ? SIP_CALLER : SIP_CALLEE;
}

void rec_srec_sdp(struct rec_call *rc, const struct sdp *sdp, int64_t ts_us)
{
	struct rec_siprec *s = rc->siprec;
	if (!s)
		return;
	for (unsigned i = 0; i < sdp->nmedia && i < SDP_MAX_MEDIA; i++) {
		const struct sdp_media *m = &sdp->media[i];
		sl_copy(s->labels[i], sizeof(s->labels[i]), m->label);
		if (!sl_eq_str_ci(m->type, "audio"))
			continue;
		bool paused = m->port == 0 || m->dir == SDP_INACTIVE || m->dir == SDP_RECVONLY;
		if (paused == s->paused[i] && s->seen_offer)
			continue;
		bool was = s->paused[i];
		s->paused[i] = paused;
		if (paused == was)
			continue; /* the first offer, streaming */
		char detail[48];
		if (s->labels[i][0])
			snprintf(detail, sizeof(detail), "label %s", s->labels[i]);
		else
			snprintf(detail, sizeof(detail), "stream %u", i + 1);
		sip_call_add_event(rc->sip, ts_us, rec_srec_party(rc, (int)i),
				   paused ? "pause" : "resume", detail);
	}
	s->seen_offer = true;
}

void rec_call_view(const struct rec_call *rc, struct idx_party out[2], const char **call_id)
{
	const struct sip_call *sc = rc->sip;
	for (int p = 0; p < 2; p++) {
		const struct sip_party_info *pi = &sc->party[p];
		out[p] = (struct idx_party){
			.uri = pi->uri,
			.user = pi->user,
			.display = pi->display,
			.pai = pi->pai,
			.ua = pi->ua,
			.sdp_addr = rc->media[p].sdp_addr[0] ? rc->media[p].sdp_addr : NULL,
		};
	}
	*call_id = sc->call_id;
	const struct rec_siprec *s = rc->siprec;
	if (!s)
		return;
	/* the recording dialog's From/To name the client and the server, not
	 * the parties: those come from the metadata (or stay unknown) */
	for (int p = 0; p < 2; p++) {
		const struct rsmeta_participant *pt = s->have_meta ? nth_sender(&s->meta, (unsigned)p) : NULL;
		out[p].uri = pt ? pt->aor : NULL;
		out[p].user = pt ? pt->number : NULL;
		out[p].display = pt ? pt->name : NULL;
		out[p].pai = NULL;
		out[p].ua = NULL;
	}
	if (s->have_meta && s->meta.call_id)
		*call_id = s->meta.call_id;
}

bool rec_srec_paused(const struct rec_call *rc)
{
	const struct rec_siprec *s = rc->siprec;
	if (!s)
		return false;
	for (unsigned i = 0; i < SDP_MAX_MEDIA; i++)
		if (s->paused[i])
			return true;
	return false;
}

void rec_srec_decide(const struct pol_rules *rules, const struct rec_call *rc,
		     struct pol_decision *d)
{
	struct idx_party p[2];
	const char *call_id;
	rec_call_view(rc, p, &call_id);
	char hosts[2][256];
	struct pol_call pc = {
		.call_id = call_id,
		.caller_user = p[SIP_CALLER].user,
		.callee_user = p[SIP_CALLEE].user,
		.caller_host = rec_uri_host(p[SIP_CALLER].uri, hosts[0], sizeof(hosts[0])),
		.callee_host = rec_uri_host(p[SIP_CALLEE].uri, hosts[1], sizeof(hosts[1])),
		.start_us = rc->sip->start_us,
	};
	pol_decide(rules, &pc, d);
}

static void json_participants(struct es_json *j, const struct rsmeta *m)
{
	const struct rsmeta_participant *caller = nth_sender(m, 0);
	const struct rsmeta_participant *callee = nth_sender(m, 1);
	es_json_key(j, "participants");
	es_json_arr_begin(j);
	for (unsigned i = 0; i < m->nparts; i++) {
		const struct rsmeta_participant *p = &m->parts[i];
		es_json_obj_begin(j);
		es_json_key(j, "id");
		es_json_str(j, p->id);
		es_json_key(j, "aor");
		es_json_str(j, p->aor);
		es_json_key(j, "name");
		es_json_str(j, p->name);
		es_json_key(j, "party");
		es_json_str(j, p == caller ? "caller" : p == callee ? "callee" : NULL);
		es_json_key(j, "send");
		es_json_arr_begin(j);
		for (unsigned k = 0; k < p->nsend; k++) {
			const struct rsmeta_stream *st = rsmeta_stream_find(m, p->send[k]);
			es_json_str(j, st && st->label ? st->label : p->send[k]);
		}
		es_json_arr_end(j);
		es_json_key(j, "left");
		es_json_bool(j, rsmeta_participant_left(p));
		es_json_obj_end(j);
	}
	es_json_arr_end(j);
}

const char *rec_srec_json(const struct rec_call *rc, const char *extra_json)
{
	struct rec_siprec *s = rc->siprec;
	if (!s)
		return extra_json;
	const struct sip_call *sc = rc->sip;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return extra_json;
	struct es_json j;
	es_json_init(&j, f, false);
	es_json_obj_begin(&j);
	es_json_key(&j, "call_id");
	es_json_str(&j, sc->call_id);
	es_json_key(&j, "client");
	es_json_str(&j, sc->party[SIP_CALLER].ua);
	es_json_key(&j, "metadata");
	es_json_bool(&j, s->have_meta);
	if (s->have_meta) {
		const struct rsmeta *m = &s->meta;
		es_json_key(&j, "original_call_id");
		es_json_str(&j, m->call_id);
		es_json_key(&j, "session_id");
		es_json_str(&j, m->nsessions ? m->sessions[0].id : NULL);
		es_json_key(&j, "sip_session_ids");
		es_json_arr_begin(&j);
		for (unsigned i = 0; i < m->nsessions; i++)
			for (unsigned k = 0; k < m->sessions[i].nsip_session_ids; k++)
				es_json_str(&j, m->sessions[i].sip_session_ids[k]);
		es_json_arr_end(&j);
		es_json_key(&j, "group_id");
		es_json_str(&j, m->ngroups ? m->groups[0].id : NULL);
		es_json_key(&j, "updates");
		es_json_int(&j, s->meta_updates);
		json_participants(&j, m);
	}
	es_json_obj_end(&j);
	es_json_end(&j);
	fclose(f);
	if (!text)
		return extra_json;
	while (len && text[len - 1] == '\n')
		text[--len] = '\0';
	/* {"X-Case":"42"} + {"siprec":{...}} -> {"X-Case":"42","siprec":{...}} */
	size_t xl = extra_json ? strlen(extra_json) : 0;
	char *out = malloc(xl + len + 16);
	if (out) {
		if (xl > 2 && extra_json[xl - 1] == '}')
			snprintf(out, xl + len + 16, "%.*s,\"siprec\":%s}", (int)(xl - 1), extra_json,
				 text);
		else
			snprintf(out, xl + len + 16, "{\"siprec\":%s}", text);
		free(s->json);
		s->json = out;
	}
	free(text);
	return out ? out : extra_json;
}
