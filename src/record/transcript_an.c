/*
 * transcript_an.c - the text analyses of a stored transcript (issue #19,
 * docs/ANALYTICS.md): before a channel's words are sealed, spoken numbers
 * (cards, configured patterns) are masked in them and their spans kept in
 * the stored JSON ("masked"); after, both channels' words are analysed
 * together (keyword hits, required lists missing, sentiment) and the
 * findings go into the index (idx_call_set_speech) and raise the "keyword"
 * alert (analytics/alert.h).
 */
#include "analytics/alert.h"
#include "analytics/textan.h"
#include "analytics/transcribe.h"
#include "index/index.h"
#include "record/record.h"
#include "record/record_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG "transcribe"

static const char *const party_name[] = {"caller", "callee"};



/* A channel's words as the text analyses take them (views into t). */
static struct ta_word *ta_words_of(const struct tr_text *t, int channel, struct ta_word *into)
{
	for (size_t i = 0; i < t->n; i++)
		into[i] = (struct ta_word){.text = t->w[i].w, .start_ms = t->w[i].start_ms,
					   .end_ms = t->w[i].end_ms, .conf = (float)t->w[i].conf,
					   .channel = channel};
	return into;
}

int rec_tr_mask(const struct rec_tr_worker *w, int channel, struct tr_text *t,
		struct rec_tr_spans *out)
{
	memset(out, 0, sizeof(*out));
	es_buf_init(&out->json);
	if (!t->n)
		return es_buf_append(&out->json, "[]", 3);
	struct ta_word *tw = calloc(t->n, sizeof(*tw));
	if (!tw)
		return ES_ENOMEM;
	struct ta_result r;
	memset(&r, 0, sizeof(r));
	int rc = ta_numbers(w->ta, ta_words_of(t, channel, tw), t->n, &r);
	if (!rc && r.nspans && !(out->span = calloc(r.nspans, sizeof(*out->span))))
		rc = ES_ENOMEM;
	/* the words of each span replaced by their mask: the clear digits
	 * never reach the sealed file, the index or a reply */
	for (size_t i = 0; !rc && i < r.nmasked && i < t->n; i++) {
		if (r.masked[i].text == t->w[i].w)
			continue;
		char *m = strdup(r.masked[i].text);
		if (!m) {
			rc = ES_ENOMEM;
			break;
		}
		free(t->w[i].w);
		t->w[i].w = m;
	}
	rc = rc ? rc : es_buf_append(&out->json, "[", 1);
	for (size_t s = 0; !rc && s < r.nspans; s++) {
		const struct ta_span *sp = &r.spans[s];
		out->span[out->n++] = (struct rec_tr_span){
			.start_ms = sp->start_ms, .end_ms = sp->end_ms, .ndigits = sp->ndigits};
		snprintf(out->span[out->n - 1].kind, sizeof(out->span[0].kind), "%s", sp->kind);
		rc = es_buf_printf(&out->json, "%s{\"kind\":\"%s\",\"s\":%lld,\"e\":%lld,\"digits\":%u}",
				   s ? "," : "", out->span[out->n - 1].kind, (long long)sp->start_ms,
				   (long long)sp->end_ms, sp->ndigits);
	}
	rc = rc ? rc : es_buf_append(&out->json, "]", 2);
	ta_result_free(&r);
	free(tw);
	return rc;
}

void rec_tr_spans_free(struct rec_tr_spans *s)
{
	free(s->span);
	es_buf_free(&s->json);
	memset(s, 0, sizeof(*s));
}

/* ---- the whole call -------------------------------------------------------------------- */

struct both {
	struct tr_text t[2];
	struct es_buf masked[2]; /* each channel's "masked" array, raw JSON */
	bool have[2];
};

static void both_free(struct both *b)
{
	for (int ch = 0; ch < 2; ch++) {
		tr_text_free(&b->t[ch]);
		es_buf_free(&b->masked[ch]);
	}
}

/* The "masked" member of a stored transcript, copied raw (the worker
 * wrote it: a flat array of objects without nested brackets). */
static int masked_of(const struct es_buf *json, struct es_buf *out)
{
	const char *p = memmem(json->p, json->len, "\"masked\":[", 10);
	if (!p)
		return es_buf_append(out, "[]", 3);
	p += 9;
	const char *e = memchr(p, ']', json->len - (size_t)(p - (const char *)json->p));
	int rc = e ? es_buf_append(out, p, (size_t)(e - p + 1)) : es_buf_append(out, "[]", 2);
	return rc ? rc : es_buf_append(out, "", 1);
}

static int load_both(const struct rec_tr_worker *w, const struct idx_recording *rec,
		     struct both *b, char *err, size_t errlen)
{
	for (int ch = 0; ch < 2; ch++) {
		struct es_buf js;
		es_buf_init(&js);
		es_buf_init(&b->masked[ch]);
		int rc = rec_transcript_load(w->data_dir, w->vault, rec, ch, &js, err, errlen);
		if (rc == ES_ENOTFOUND) {
			es_buf_free(&js);
			continue;
		}
		if (!rc)
			rc = tr_text_from_json((const char *)js.p, js.len, &b->t[ch], err, errlen);
		if (!rc)
			rc = masked_of(&js, &b->masked[ch]);
		es_buf_free(&js);
		if (rc)
			return rc;
		b->have[ch] = true;
	}
	return 0;
}

static void json_num_or_null(struct es_json *j, bool set, double v)
{
	if (set)
		es_json_double(j, v, 4);
	else
		es_json_null(j);
}

/* The findings as the call's "speech" JSON (docs/ANALYTICS.md). */
static int speech_json(const struct ta_result *r, const struct both *b, struct es_buf *out)
{
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);
	if (!f)
		return ES_ENOMEM;
	struct es_json j;
	es_json_init(&j, f, false);
	es_json_obj_begin(&j);
	es_json_key(&j, "transcribed");
	es_json_arr_begin(&j);
	for (int ch = 0; ch < 2; ch++)
		if (b->have[ch])
			es_json_str(&j, party_name[ch]);
	es_json_arr_end(&j);
	es_json_key(&j, "keywords");
	ta_hits_json(&j, r);
	es_json_key(&j, "missing");
	ta_missing_json(&j, r);
	es_json_key(&j, "sentiment");
	if (!r->have_sent) {
		es_json_null(&j);
	} else {
		const struct ta_sentiment *s = &r->sent;
		es_json_obj_begin(&j);
		es_json_key(&j, "call");
		json_num_or_null(&j, s->call_utts > 0, s->call);
		es_json_key(&j, "caller");
		json_num_or_null(&j, s->party_utts[0] > 0, s->party[0]);
		es_json_key(&j, "callee");
		json_num_or_null(&j, s->party_utts[1] > 0, s->party[1]);
		es_json_key(&j, "utterances");
		es_json_arr_begin(&j);
		for (size_t i = 0; i < s->nutt; i++) {
			const struct ta_utt *u = &s->utt[i];
			es_json_obj_begin(&j);
			es_json_key(&j, "party"); es_json_str(&j, ta_party_name(u->channel));
			es_json_key(&j, "start_ms"); es_json_int(&j, u->start_ms);
			es_json_key(&j, "end_ms"); es_json_int(&j, u->end_ms);
			es_json_key(&j, "score");
			json_num_or_null(&j, u->scored > 0, u->compound);
			es_json_obj_end(&j);
		}
		es_json_arr_end(&j);
		es_json_obj_end(&j);
	}
	/* the spans masked when each channel was stored: {kind, s, e, digits} */
	es_json_key(&j, "masked");
	es_json_obj_begin(&j);
	for (int ch = 0; ch < 2; ch++) {
		es_json_key(&j, party_name[ch]);
		if (b->have[ch] && b->masked[ch].len)
			es_json_raw(&j, (const char *)b->masked[ch].p);
		else
			es_json_raw(&j, "[]");
	}
	es_json_obj_end(&j);
	es_json_obj_end(&j);
	es_json_end(&j);
	int rc = fclose(f) ? ES_ENOMEM : 0;
	if (!rc)
		rc = es_buf_append(out, mem, len);
	if (!rc)
		rc = es_buf_append(out, "", 1);
	free(mem);
	return rc;
}

/* One "keyword" event per hit of the channel just stored (the other
 * channel's hits were raised when it was); de-duplicated per alert and
 * call by analytics/alert.c. */
static void raise_hits(const struct rec_tr_worker *w, const struct rec_tr_call *c, int channel,
		       const struct ta_result *r, int64_t now_us)
{
	if (!an_alerts_want(w->alerts, AN_ALERT_KEYWORD))
		return;
	struct an_alert_call call = {.call_id = c->call_id, .caller = c->caller,
				     .callee = c->callee, .rule = c->rule[0] ? c->rule : NULL,
				     .source = c->source, .start_us = c->start_us};
	for (size_t i = 0; i < r->nhits; i++) {
		const struct ta_hit *h = &r->hits[i];
		if (h->channel != channel)
			continue;
		/* raised during the call already (tr_live.c): once per hit */
		if (rec_trlive_mark_take(w->data_dir, c->call_id, channel, h->list, h->phrase))
			continue;
		struct an_alert_field f[5] = {
			{.key = "category", .str = h->category},
			{.key = "list", .str = h->list},
			{.key = "phrase", .str = h->phrase},
			{.key = "party", .str = ta_party_name(h->channel)},
			{.key = "at_s", .num = (double)h->start_ms / 1000.0},
		};
		an_alert_raise(w->alerts, AN_ALERT_KEYWORD, 1, &call, f, 5, now_us);
	}
}

int rec_tr_analyse_call(struct rec_tr_worker *w, const struct rec_tr_call *c, int channel,
			int64_t now_us, char *err, size_t errlen)
{
	struct idx_recording rec = {.path = c->path, .sha256 = c->sha, .encrypted = c->encrypted};
	struct both b;
	memset(&b, 0, sizeof(b));
	struct ta_word *tw = NULL;
	struct ta_result r;
	memset(&r, 0, sizeof(r));
	struct idx_kw_hit *kh = NULL;
	struct es_buf js;
	es_buf_init(&js);
	int rc = load_both(w, &rec, &b, err, errlen);
	size_t n = b.t[0].n + b.t[1].n;
	if (!rc && n && !(tw = calloc(n, sizeof(*tw))))
		rc = es_errf(err, errlen, ES_ENOMEM, "out of memory");
	if (!rc) {
		ta_words_of(&b.t[0], 0, tw);
		ta_words_of(&b.t[1], 1, tw + b.t[0].n);
		if ((rc = ta_analyse(w->ta, w->lx, tw, n, &r)))
			es_errf(err, errlen, rc, "text analyses: %s", es_strerror(rc));
	}
	if (!rc && (rc = speech_json(&r, &b, &js)))
		es_errf(err, errlen, rc, "out of memory");
	size_t nk = r.nhits + r.nmissing;
	if (!rc && nk && !(kh = calloc(nk, sizeof(*kh))))
		rc = es_errf(err, errlen, ES_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < r.nhits; i++)
		kh[i] = (struct idx_kw_hit){.channel = r.hits[i].channel, .list = r.hits[i].list,
					    .category = r.hits[i].category,
					    .phrase = r.hits[i].phrase,
					    .start_ms = r.hits[i].start_ms,
					    .end_ms = r.hits[i].end_ms};
	for (size_t i = 0; !rc && i < r.nmissing; i++)
		kh[r.nhits + i] = (struct idx_kw_hit){.channel = r.missing[i].party,
						      .list = r.missing[i].list,
						      .category = r.missing[i].category,
						      .missing = true};
	if (!rc) {
		bool set = r.have_sent && r.sent.call_utts > 0 && isfinite(r.sent.call);
		rc = idx_call_set_speech(w->ix, c->row, (const char *)js.p, set, r.sent.call, kh, nk);
		if (rc)
			es_errf(err, errlen, rc, "%s", idx_errmsg(w->ix));
	}
	if (!rc)
		raise_hits(w, c, channel, &r, now_us);
	free(kh);
	es_buf_free(&js);
	ta_result_free(&r);
	free(tw);
	both_free(&b);
	return rc;
}
