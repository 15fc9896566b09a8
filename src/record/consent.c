/*
 * consent.c - the consent of a call in progress: evidence from a SIP
 * header, DTMF keys (RFC 4733 events and SIP INFO, both already "dtmf"
 * events) and SIPREC metadata becomes "consent" call events, the same form
 * the API's command adds; the policy layer's evaluator decides; audio the
 * rule may not keep stops reaching the spool when the window passes and
 * what was spooled before is dropped at the end.
 */
#include "record/record_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TAG "consent"

static const char *const party_names[2] = {"caller", "callee"};

void rec_consent_init(struct rec_call *rc, const struct pol_decision *d)
{
	rc->consent = d->record ? d->consent : NULL;
	rc->direction = d->direction;
	rc->consent_hdr[0] = rc->consent_hdr[1] = -1;
	rc->consent_meta[0] = rc->consent_meta[1] = -1;
}

static void add_consent(struct rec_call *rc, int party, bool yes, const char *source,
			int64_t ts_us)
{
	char detail[96]; /* the event keeps 47 bytes: a header name fits */
	snprintf(detail, sizeof(detail), "%s %s", yes ? "yes" : "no", source);
	sip_call_add_event(rc->sip, ts_us, party, "consent", detail);
}

void rec_consent_header(struct rec_call *rc, const struct sip_msg *m, int party, int64_t ts_us)
{
	if (!rc->consent || !rc->consent->header[0] || (party != 0 && party != 1))
		return;
	struct slice v = sip_msg_hdr_name(m, rc->consent->header);
	if (!v.p)
		return;
	int val = pol_consent_value(v);
	/* retransmissions and every later message repeat the header: one
	 * event per change of a party's value */
	if (val < 0 || val == rc->consent_hdr[party])
		return;
	rc->consent_hdr[party] = (int8_t)val;
	char src[48];
	snprintf(src, sizeof(src), "header:%s", rc->consent->header);
	add_consent(rc, party, val == 1, src, ts_us);
}

void rec_consent_scan(struct rec_call *rc)
{
	const struct pol_consent *c = rc->consent;
	struct sip_call *sc = rc->sip;
	if (!c || (!c->dtmf_yes && !c->dtmf_no)) {
		rc->consent_scanned = sc->nevents;
		return;
	}
	unsigned n = sc->nevents;
	for (unsigned i = rc->consent_scanned; i < n; i++) {
		const struct sip_call_event *ev = &sc->events[i];
		/* "digit=1 duration_ms=..." from RTP events and SIP INFO; only
		 * the key pressed after answer counts (an IVR's prompt plays
		 * after answer, RFC 4733 2.5 events then carry the key) */
		if (strcmp(ev->kind, "dtmf") != 0 || strncmp(ev->detail, "digit=", 6) != 0)
			continue;
		char k = ev->detail[6];
		if (k >= 'a' && k <= 'd')
			k = (char)(k - 32);
		if (!k || (ev->detail[7] && ev->detail[7] != ' '))
			continue;
		if (!sc->answer_us || ev->ts_us < sc->answer_us ||
		    ev->ts_us > sc->answer_us + c->window_us)
			continue;
		if (k != c->dtmf_yes && k != c->dtmf_no)
			continue;
		char src[16];
		snprintf(src, sizeof(src), "dtmf:%c", k);
		add_consent(rc, ev->party, k == c->dtmf_yes, src, ev->ts_us);
	}
	rc->consent_scanned = sc->nevents;
}

void rec_consent_siprec(struct rec_call *rc, int party, bool yes, int64_t ts_us)
{
	if (!rc->consent || !rc->consent->siprec || (party != 0 && party != 1) ||
	    rc->consent_meta[party] == (int8_t)yes)
		return; /* a re-INVITE repeats the metadata: one event per change */
	rc->consent_meta[party] = (int8_t)yes;
	add_consent(rc, party, yes, "siprec", ts_us);
}

/* The call's consent events, for the evaluator. */
static unsigned gather(const struct sip_call *sc, struct pol_consent_ev *ev, unsigned cap)
{
	unsigned n = 0;
	for (unsigned i = 0; i < sc->nevents && n < cap; i++)
		if (strcmp(sc->events[i].kind, "consent") == 0)
			ev[n++] = (struct pol_consent_ev){sc->events[i].ts_us, sc->events[i].party,
							  sc->events[i].detail};
	return n;
}

static char *evidence_json(const struct rec_call *rc, const struct pol_consent_result *res)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	struct es_json j;
	es_json_init(&j, f, false);
	es_json_obj_begin(&j);
	for (int p = 0; p < 2; p++) {
		const struct pol_consent_party *pp = &res->p[p];
		es_json_key(&j, party_names[p]);
		es_json_obj_begin(&j);
		es_json_key(&j, "state");
		es_json_str(&j, pol_consent_state_name(pp->state));
		es_json_key(&j, "required");
		es_json_bool(&j, pp->required);
		es_json_key(&j, "source");
		es_json_str(&j, pp->source[0] ? pp->source : NULL);
		es_json_key(&j, "value");
		es_json_str(&j, pp->state == POL_CS_GIVEN     ? "yes"
				: pp->state == POL_CS_REFUSED ? "no"
							      : NULL);
		es_json_key(&j, "ts_us");
		if (pp->ts_us)
			es_json_int(&j, pp->ts_us);
		else
			es_json_null(&j);
		es_json_key(&j, "kept");
		es_json_bool(&j, res->keep[p]);
		es_json_obj_end(&j);
	}
	es_json_key(&j, "mode");
	es_json_str(&j, rc->consent->mode == POL_CONSENT_REQUIRED ? "required" : "announce");
	es_json_key(&j, "agent");
	es_json_str(&j, res->agent >= 0 ? party_names[res->agent] : NULL);
	es_json_key(&j, "no_consent_keep");
	es_json_str(&j, rc->consent->keep == POL_KEEP_AGENT ? "agent" : "nothing");
	es_json_key(&j, "window_s");
	es_json_int(&j, rc->consent->window_us / ES_US_PER_SEC);
	es_json_obj_end(&j);
	es_json_end(&j);
	if (fclose(f)) {
		free(out);
		return NULL;
	}
	return out;
}

void rec_consent_check(struct rec_call *rc, int64_t now_us, bool ended)
{
	/* after the decision only new events (a withdrawal, from any source)
	 * or the end make a difference */
	if (!rc->consent || (rc->consent_done && !ended && rc->sip->nevents == rc->consent_nev))
		return;
	rec_consent_scan(rc);
	struct sip_call *sc = rc->sip;
	struct pol_consent_ev ev[SIP_CALL_MAX_EVENTS];
	unsigned n = gather(sc, ev, ES_ARRAY_LEN(ev));
	int64_t answer = sc->outcome == SIP_OUT_ANSWERED ? sc->answer_us : 0;
	struct pol_consent_result res;
	pol_consent_eval(rc->consent, (enum pol_direction)rc->direction, ev, n, answer, now_us,
			 ended, &res);
	/* the no_consent events are added last: adding one may move the call's
	 * events (realloc), which ev[] and res point into */
	char drop_detail[2][48];
	bool dropped[2] = {false, false};
	if (res.no_consent) {
		for (int p = 0; p < 2; p++) {
			if (res.keep[p] || rc->consent_drop[p])
				continue;
			rc->consent_drop[p] = dropped[p] = true;
			/* which party's consent is missing or refused */
			int who = res.p[0].required && res.p[0].state != POL_CS_GIVEN ? 0 : 1;
			snprintf(drop_detail[p], sizeof(drop_detail[p]), "%s %s: audio dropped",
				 party_names[who], pol_consent_state_name(res.p[who].state));
		}
	}
	/* what an end now would keep, for the spool's metadata (spool.c), so
	 * that a crash is finished with the decision: before the window has
	 * passed a required consent counts as missing, as at a real end */
	struct pol_consent_result fin = res;
	if (!ended)
		pol_consent_eval(rc->consent, (enum pol_direction)rc->direction, ev, n, answer,
				 now_us, true, &fin);
	rc->crash_no_consent = fin.no_consent;
	unsigned sig = 1u | (fin.no_consent ? 2u : 0u);
	for (int p = 0; p < 2; p++) {
		rc->crash_drop[p] = fin.no_consent && !fin.keep[p];
		rc->crash_state[p] = pol_consent_state_name(fin.p[p].state);
		sig |= (rc->crash_drop[p] ? 4u << p : 0u) | ((unsigned)fin.p[p].state << (4 + 4 * p));
	}
	rc->crash_sig = sig;
	/* once no required party is pending, only new events are looked at */
	bool pending = res.p[0].state == POL_CS_PENDING || res.p[1].state == POL_CS_PENDING;
	if (answer && !pending)
		rc->consent_done = true;
	if (ended) {
		rc->no_consent = res.no_consent;
		for (int p = 0; p < 2; p++)
			rc->consent_state[p] = pol_consent_state_name(res.p[p].state);
		free(rc->consent_json);
		rc->consent_json = evidence_json(rc, &res);
	}
	for (int p = 0; p < 2; p++) {
		if (!dropped[p])
			continue;
		sip_call_add_event(sc, now_us, p, "no_consent", drop_detail[p]);
		ES_LOG_INF(TAG, "call %s: %s", sc->call_id, drop_detail[p]);
	}
	rc->consent_nev = sc->nevents;
}

int rec_consent_trim(const struct rec_call *rc, const char *path, const struct mlog_keys *keys,
		     bool *gone)
{
	return rec_consent_cut(path, rc->consent_drop, rc->sip->call_id, keys, gone);
}

int rec_consent_cut(const char *path, const bool drop[2], const char *call_id,
		    const struct mlog_keys *keys, bool *gone)
{
	*gone = false;
	if (!path || (!drop[0] && !drop[1]))
		return 0;
	struct mlog_reader *r = NULL;
	struct mlog_writer *w = NULL;
	char err[256], *tmp = NULL;
	int map[64], next = 0, rc_ = 0;
	for (unsigned i = 0; i < ES_ARRAY_LEN(map); i++)
		map[i] = -1;
	if ((rc_ = mlog_open_keyed(&r, path, keys, err, sizeof(err))))
		goto out;
	size_t tl = strlen(path) + 16;
	if (!(tmp = malloc(tl))) {
		rc_ = ES_ENOMEM;
		goto out;
	}
	snprintf(tmp, tl, "%s.consent", path);
	unlink(tmp);
	/* the cut log is encrypted like the spool it replaces */
	if ((rc_ = mlog_create_keyed(&w, tmp, mlog_call_id(r), mlog_start_us(r), 0,
				       mlog_encrypted(r) ? keys : NULL)))
		goto out;
	struct mlog_rec rec;
	int got;
	while ((got = mlog_next(r, &rec, err, sizeof(err))) == 1 && !rc_) {
		bool keep_party = rec.party <= MLOG_CALLEE && !drop[rec.party];
		switch (rec.type) {
		case MLOG_REC_STREAM:
			if (keep_party && rec.stream < ES_ARRAY_LEN(map)) {
				map[rec.stream] = next;
				rc_ = mlog_stream(w, (unsigned)next++, rec.party, rec.ssrc);
			}
			break;
		case MLOG_REC_PTMAP:
			if (keep_party)
				rc_ = mlog_ptmap(w, rec.party, rec.pt, rec.name, rec.clock, rec.channels);
			break;
		case MLOG_REC_RTP:
			if (rec.stream < ES_ARRAY_LEN(map) && map[rec.stream] >= 0)
				rc_ = mlog_rtp(w, (unsigned)map[rec.stream], rec.ts_us, rec.seq,
					       rec.rtp_ts, rec.pt, rec.marker, rec.payload, rec.len);
			break;
		case MLOG_REC_META:
			rc_ = mlog_meta(w, (const char *)rec.payload, rec.len);
			break;
		case MLOG_REC_ADDR: /* a kept stream's addresses, for the raw data */
			if (rec.stream < ES_ARRAY_LEN(map) && map[rec.stream] >= 0)
				rc_ = mlog_addr(w, (unsigned)map[rec.stream], &rec.src, &rec.dst);
			break;
		case MLOG_REC_SIP: /* signalling is not a party's audio: kept */
			rc_ = mlog_sip(w, rec.ts_us, &rec.src, &rec.dst, rec.proto, rec.payload,
				       rec.len);
			break;
		}
	}
	if (!rc_ && got < 0)
		rc_ = got;
	if (rc_)
		goto out;
	rc_ = mlog_close(w);
	w = NULL;
	if (rc_)
		goto out;
	if (!next) {
		/* nothing may be kept: no recording at all */
		unlink(tmp);
		*gone = unlink(path) == 0;
		if (!*gone)
			rc_ = ES_EIO;
	} else if (rename(tmp, path)) {
		rc_ = ES_EIO;
	}
out:
	if (rc_) {
		/* audio that may not be kept must not survive a failed cut:
		 * the whole log goes, the agent's channel with it */
		ES_LOG_ERR(TAG, "call %s: cannot cut the audio without consent from %s (%s): "
			   "dropping all of its audio", call_id ? call_id : "?", path,
			   es_strerror(rc_));
		*gone = unlink(path) == 0;
	}
	if (w)
		mlog_discard(w);
	if (rc_ && tmp)
		unlink(tmp);
	mlog_reader_close(r);
	free(tmp);
	return rc_;
}

void rec_consent_free(struct rec_call *rc)
{
	free(rc->consent_json);
	rc->consent_json = NULL;
}
