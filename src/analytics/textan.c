/* textan.c - keyword spotting and spoken sensitive numbers over a
 * transcript's timed words, and ta_analyse, which runs every analysis.
 * Rules: docs/ANALYTICS.md. */
#include "analytics/textan.h"
#include "analytics/textan_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- tokens: words split at blanks and hyphens, normalised ------------------- */

struct ta_tok {
	const char *t; /* normalised, in the arena */
	size_t word;
};
struct ta_toks {
	struct ta_tok *v[2]; /* per channel, in word order */
	size_t n[2], cap[2];
	struct es_arena a;
};

static void toks_free(struct ta_toks *k)
{
	free(k->v[0]);
	free(k->v[1]);
	es_arena_free(&k->a);
}

static int toks_build(struct ta_toks *k, const struct ta_word *w, size_t n)
{
	memset(k, 0, sizeof(*k));
	for (size_t i = 0; i < n; i++) {
		int ch = w[i].channel;
		if ((ch != 0 && ch != 1) || !w[i].text)
			continue;
		const char *s = w[i].text;
		while (*s) {
			while (*s == ' ' || *s == '\t' || *s == '-')
				s++;
			const char *st = s;
			while (*s && *s != ' ' && *s != '\t' && *s != '-')
				s++;
			if (s == st)
				break;
			char raw[128], norm[128];
			sl_copy(raw, sizeof(raw), sl_make(st, (size_t)(s - st)));
			size_t len = ta_norm_word(raw, norm, sizeof(norm));
			if (!len)
				continue;
			char *t = es_arena_alloc(&k->a, len + 1);
			if (!t || ta_grow(&k->v[ch], &k->n[ch], &k->cap[ch], sizeof(struct ta_tok)))
				return ES_ENOMEM;
			memcpy(t, norm, len + 1);
			k->v[ch][k->n[ch]++] = (struct ta_tok){t, i};
		}
	}
	return 0;
}

/* ---- keywords ------------------------------------------------------------------ */

static bool tok_match(const struct ta_phrase *ph, const struct ta_tok *t)
{
	for (size_t j = 0; j < ph->ntok; j++) {
		if (ph->wild[j] ? strncmp(t[j].t, ph->tok[j], strlen(ph->tok[j]))
				: strcmp(t[j].t, ph->tok[j]))
			return false;
	}
	return true;
}

static int add_hit(struct ta_result *out, size_t *cap, const struct ta_kwlist *l,
		   const struct ta_phrase *ph, int ch, const struct ta_word *w, size_t first,
		   size_t last)
{
	if (ta_grow(&out->hits, &out->nhits, cap, sizeof(struct ta_hit)))
		return ES_ENOMEM;
	out->hits[out->nhits++] = (struct ta_hit){
		.list = l->name, .category = l->category, .phrase = ph->text, .channel = ch,
		.start_ms = w[first].start_ms, .end_ms = w[last].end_ms,
		.first_word = first, .last_word = last};
	return 0;
}

int ta_keywords(const struct ta_config *cfg, const struct ta_word *w, size_t n,
		struct ta_result *out)
{
	struct ta_toks k;
	size_t hcap = 0, mcap = 0;
	int rc = toks_build(&k, w, n);
	for (size_t li = 0; cfg && li < cfg->nlists && !rc; li++) {
		const struct ta_kwlist *l = &cfg->lists[li];
		size_t before = out->nhits;
		for (int ch = 0; ch < 2 && !rc; ch++) {
			if (l->party != TA_PARTY_ANY && l->party != ch)
				continue;
			for (size_t pi = 0; pi < l->nph && !rc; pi++) {
				const struct ta_phrase *ph = &l->ph[pi];
				for (size_t i = 0; i + ph->ntok <= k.n[ch] && !rc; i++) {
					if (!tok_match(ph, &k.v[ch][i]))
						continue;
					rc = add_hit(out, &hcap, l, ph, ch, w, k.v[ch][i].word,
						     k.v[ch][i + ph->ntok - 1].word);
					i += ph->ntok - 1; /* hits of one phrase do not overlap */
				}
			}
		}
		if (!rc && l->required && out->nhits == before) {
			if (ta_grow(&out->missing, &out->nmissing, &mcap, sizeof(struct ta_missing)))
				rc = ES_ENOMEM;
			else
				out->missing[out->nmissing++] =
					(struct ta_missing){l->name, l->category, l->party};
		}
	}
	toks_free(&k);
	return rc;
}

/* ---- spoken sensitive numbers ------------------------------------------------------ */

#define TA_RUN_CAP 4096

struct ta_run {
	char d[TA_RUN_CAP];
	size_t len;
	bool over; /* more digits than d holds: matches nothing */
	size_t first, last;
	int64_t last_end;
	bool open;
};

static int run_close(const struct ta_config *cfg, struct ta_run *r, const struct ta_word *w,
		     int ch, struct ta_result *out, size_t *cap)
{
	if (!r->open || r->len == 0 || r->over) {
		r->open = false;
		return 0;
	}
	r->open = false;
	const char *kind = NULL;
	bool cards = cfg ? cfg->cards : true;
	if (cards && r->len >= TA_CARD_MIN_DIGITS && r->len <= TA_CARD_MAX_DIGITS &&
	    ta_luhn(r->d, r->len))
		kind = "card";
	for (size_t i = 0; !kind && cfg && i < cfg->npat; i++)
		if (ta_pattern_match(&cfg->pat[i], r->d, r->len))
			kind = cfg->pat[i].kind;
	if (!kind)
		return 0;
	if (ta_grow(&out->spans, &out->nspans, cap, sizeof(struct ta_span)))
		return ES_ENOMEM;
	out->spans[out->nspans++] = (struct ta_span){
		.kind = kind, .channel = ch, .start_ms = w[r->first].start_ms,
		.end_ms = w[r->last].end_ms, .first_word = r->first, .last_word = r->last,
		.ndigits = (unsigned)r->len};
	return 0;
}

static void run_push(struct ta_run *r, const char *d, size_t nd, int mult)
{
	for (size_t j = 0; j < nd; j++) {
		int times = j == 0 && mult ? mult : 1;
		for (int t = 0; t < times; t++) {
			if (r->len == TA_RUN_CAP)
				r->over = true;
			else
				r->d[r->len++] = d[j];
		}
	}
}

/* A run: consecutive number words of one channel, no pause over
 * TA_DIGIT_GAP_MS; "double"/"triple" repeat the next word's first digit. */
static int numbers_channel(const struct ta_config *cfg, const struct ta_word *w, size_t n,
			   int ch, struct ta_run *r, struct ta_result *out, size_t *cap)
{
	int mult = 0, rc = 0;
	size_t mult_word = 0;
	r->open = false;
	for (size_t i = 0; i < n && !rc; i++) {
		if (w[i].channel != ch || !w[i].text)
			continue;
		char d[64];
		int m, nd = ta_digit_word(w[i].text, d, sizeof(d), &m);
		if (r->open && w[i].start_ms - r->last_end > TA_DIGIT_GAP_MS)
			rc = run_close(cfg, r, w, ch, out, cap);
		if (nd < 0) {
			mult = 0;
			if (!rc)
				rc = run_close(cfg, r, w, ch, out, cap);
			continue;
		}
		if (rc)
			break;
		if (nd == 0) { /* double / triple */
			if (mult)
				rc = run_close(cfg, r, w, ch, out, cap);
			mult = m;
			mult_word = i;
			continue;
		}
		if (!r->open) {
			r->len = 0;
			r->over = false;
			r->open = true;
			r->first = mult ? mult_word : i;
		}
		run_push(r, d, (size_t)nd, mult);
		mult = 0;
		r->last = i;
		r->last_end = w[i].end_ms;
	}
	if (!rc)
		rc = run_close(cfg, r, w, ch, out, cap);
	return rc;
}

static int mask_words(struct ta_result *out, const struct ta_word *w, size_t n)
{
	if (n == 0)
		return 0;
	if (!(out->masked = calloc(n, sizeof(*out->masked))))
		return ES_ENOMEM;
	memcpy(out->masked, w, n * sizeof(*w));
	out->nmasked = n;
	for (size_t s = 0; s < out->nspans; s++) {
		const struct ta_span *sp = &out->spans[s];
		for (size_t i = sp->first_word; i <= sp->last_word; i++) {
			if (w[i].channel != sp->channel || !w[i].text)
				continue;
			char d[64];
			int m, nd = ta_digit_word(w[i].text, d, sizeof(d), &m);
			size_t len = nd > 0 ? (size_t)nd : 1;
			char *t = es_arena_alloc(&out->a, len + 1);
			if (!t)
				return ES_ENOMEM;
			memset(t, '#', len);
			t[len] = '\0';
			out->masked[i].text = t;
		}
	}
	return 0;
}

int ta_numbers(const struct ta_config *cfg, const struct ta_word *w, size_t n,
	       struct ta_result *out)
{
	struct ta_run *r = malloc(sizeof(*r));
	if (!r)
		return ES_ENOMEM;
	size_t cap = 0;
	int rc = 0;
	for (int ch = 0; ch < 2 && !rc; ch++)
		rc = numbers_channel(cfg, w, n, ch, r, out, &cap);
	free(r);
	return rc ? rc : mask_words(out, w, n);
}

/* ---- everything ------------------------------------------------------------------------ */

void ta_result_free(struct ta_result *r)
{
	free(r->hits);
	free(r->missing);
	free(r->spans);
	free(r->masked);
	ta_sentiment_free(&r->sent);
	es_arena_free(&r->a);
	memset(r, 0, sizeof(*r));
}

int ta_analyse(const struct ta_config *cfg, const struct ta_lexicon *lx, const struct ta_word *w,
	       size_t n, struct ta_result *out)
{
	memset(out, 0, sizeof(*out));
	int rc = ta_keywords(cfg, w, n, out);
	if (!rc && lx) {
		rc = ta_sentiment(lx, w, n, &out->sent);
		out->have_sent = rc == 0;
	}
	if (!rc)
		rc = ta_numbers(cfg, w, n, out);
	return rc;
}
