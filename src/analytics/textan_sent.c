/* textan_sent.c - a lexicon-based sentiment score in the manner of VADER
 * (Hutto & Gilbert, "VADER: A Parsimonious Rule-based Model for Sentiment
 * Analysis of Social Media Text", ICWSM 2014): each word's valence from a
 * lexicon, shifted by boosters, flipped by negation, weighted around "but",
 * summed per utterance and normalised.  VADER's capitals and "!" rules have
 * no input here: ASR output has neither.  The lexicon is not in the tree
 * (scripts/bootstrap fetches it); the word lists below are ours. */
#include "analytics/textan.h"
#include "analytics/textan_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TA_BOOST 0.293        /* a booster's shift (the paper's empirical value) */
#define TA_NEGATE (-0.74)     /* a negated valence is scaled by this */
#define TA_BUT_BEFORE 0.5     /* words before "but" count half ... */
#define TA_BUT_AFTER 1.5      /* ... and after it one and a half times */
#define TA_ALPHA 15.0         /* compound = x / sqrt(x^2 + alpha) */
#define TA_WINDOW 3           /* negators and boosters reach this many words */

/* ---- the lexicon ------------------------------------------------------------------ */

struct lex_node {
	struct es_hnode h;
	double v;
	size_t len;
	char tok[];
};

struct lex_key {
	const char *p;
	size_t len;
};

static bool lex_eq(const struct es_hnode *n, const void *key)
{
	const struct lex_node *ln = ES_CONTAINER_OF(n, struct lex_node, h);
	const struct lex_key *k = key;
	return ln->len == k->len && !memcmp(ln->tok, k->p, k->len);
}

void ta_lexicon_free(struct ta_lexicon *lx)
{
	es_htab_free(&lx->h);
	es_arena_free(&lx->a);
	memset(lx, 0, sizeof(*lx));
}

double ta_lexicon_get(const struct ta_lexicon *lx, const char *tok, size_t len)
{
	if (!lx->h.b)
		return 0;
	struct lex_key k = {tok, len};
	struct es_hnode *n = es_htab_find(&lx->h, es_hash(tok, len, 0), lex_eq, &k);
	return n ? ES_CONTAINER_OF(n, struct lex_node, h)->v : 0;
}

static int lex_line(struct ta_lexicon *lx, struct slice l, const char *name, unsigned line,
		    char *err, size_t errlen)
{
	struct slice tok, rest, val, more;
	if (!sl_split(l, '\t', &tok, &rest) || sl_empty(tok))
		return es_errf(err, errlen, ES_EPARSE, "%s:%u: expected TOKEN<TAB>VALENCE", name, line);
	sl_split(rest, '\t', &val, &more);
	char num[32], *end;
	if (val.len == 0 || val.len >= sizeof(num))
		return es_errf(err, errlen, ES_EPARSE, "%s:%u: bad valence", name, line);
	sl_copy(num, sizeof(num), val);
	errno = 0;
	double v = strtod(num, &end);
	if (*end || errno || !(v >= -10 && v <= 10))
		return es_errf(err, errlen, ES_EPARSE, "%s:%u: bad valence '%s'", name, line, num);
	struct lex_node *n = es_arena_alloc(&lx->a, sizeof(*n) + tok.len + 1);
	if (!n)
		return ES_ENOMEM;
	for (size_t i = 0; i < tok.len; i++)
		n->tok[i] = (char)tolower((unsigned char)tok.p[i]);
	n->tok[tok.len] = '\0';
	n->len = tok.len;
	n->v = v;
	struct lex_key k = {n->tok, n->len};
	uint64_t h = es_hash(n->tok, n->len, 0);
	if (es_htab_find(&lx->h, h, lex_eq, &k))
		return 0; /* the first entry wins */
	lx->n++;
	return es_htab_insert(&lx->h, &n->h, h);
}

int ta_lexicon_parse(struct ta_lexicon *lx, const char *name, const char *text, size_t len,
		     char *err, size_t errlen)
{
	memset(lx, 0, sizeof(*lx));
	int rc = es_htab_init(&lx->h, 8192);
	struct slice rest = sl_make(text, len), l;
	unsigned line = 0;
	while (!rc && !sl_empty(rest)) {
		sl_split(rest, '\n', &l, &rest);
		line++;
		if (l.len && l.p[l.len - 1] == '\r')
			l.len--;
		if (sl_empty(l) || l.p[0] == '#')
			continue;
		rc = lex_line(lx, l, name, line, err, errlen);
	}
	if (!rc && lx->n == 0)
		rc = es_errf(err, errlen, ES_EPARSE, "%s: no entries", name);
	if (rc)
		ta_lexicon_free(lx);
	return rc;
}

int ta_lexicon_load(struct ta_lexicon *lx, const char *path, char *err, size_t errlen)
{
	memset(lx, 0, sizeof(*lx));
	FILE *f = fopen(path, "rb");
	if (!f)
		return es_errf(err, errlen, errno == ENOENT ? ES_ENOTFOUND : ES_EIO,
			       "%s: %s", path, strerror(errno));
	struct es_buf b;
	es_buf_init(&b);
	char chunk[65536];
	size_t got;
	int rc = 0;
	while (!rc && (got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		rc = es_buf_append(&b, chunk, got);
	if (!rc && ferror(f))
		rc = es_errf(err, errlen, ES_EIO, "%s: read failed", path);
	fclose(f);
	if (!rc)
		rc = ta_lexicon_parse(lx, path, (const char *)b.p, b.len, err, errlen);
	es_buf_free(&b);
	return rc;
}

/* ---- word classes ---------------------------------------------------------------------- */

static const char *const negators[] = {
	"not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "nowhere",
	"cannot", "without", "aint", "cant", "dont", "doesnt", "didnt", "isnt", "wasnt",
	"werent", "wont", "wouldnt", "shouldnt", "couldnt", "arent", "havent", "hasnt",
	"hadnt", "mustnt", "neednt", "darent",
};
static const char *const boost_up[] = {
	"absolutely", "amazingly", "completely", "deeply", "enormously", "entirely",
	"especially", "exceptionally", "extremely", "fully", "greatly", "highly", "hugely",
	"incredibly", "intensely", "most", "particularly", "purely", "quite", "really",
	"remarkably", "so", "substantially", "thoroughly", "totally", "tremendously", "truly",
	"utterly", "very", "awfully", "terribly", "super",
};
static const char *const boost_down[] = {
	"barely", "hardly", "scarcely", "slightly", "somewhat", "marginally", "partly",
	"occasionally", "little", "less", "rarely",
};

static bool in_list(const char *t, const char *const *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t, l[i]))
			return true;
	return false;
}

/* Negation: a negator, or any contraction ending in n't ("shan't"). */
static bool is_negator(const char *t)
{
	char plain[64];
	size_t o = 0;
	for (size_t i = 0; t[i] && o + 1 < sizeof(plain); i++)
		if (t[i] != '\'')
			plain[o++] = t[i];
	plain[o] = '\0';
	size_t n = strlen(t);
	return in_list(plain, negators, ES_ARRAY_LEN(negators)) ||
	       (n > 3 && !strcmp(t + n - 3, "n't"));
}

static double booster(const char *t)
{
	if (in_list(t, boost_up, ES_ARRAY_LEN(boost_up)))
		return TA_BOOST;
	if (in_list(t, boost_down, ES_ARRAY_LEN(boost_down)))
		return -TA_BOOST;
	return 0;
}

/* ---- scoring -------------------------------------------------------------------------- */

#define TA_TOKLEN 64

/* Score the utterance of tokens tok[0..m). */
static void score(const struct ta_lexicon *lx, char (*tok)[TA_TOKLEN], size_t m, double *v,
		  struct ta_utt *u)
{
	size_t but = SIZE_MAX;
	for (size_t i = 0; i < m && but == SIZE_MAX; i++)
		if (!strcmp(tok[i], "but"))
			but = i;
	u->sum = 0;
	u->scored = 0;
	for (size_t i = 0; i < m; i++) {
		v[i] = 0;
		if (booster(tok[i]) != 0 || is_negator(tok[i]))
			continue; /* modifiers carry no valence of their own */
		double x = ta_lexicon_get(lx, tok[i], strlen(tok[i]));
		if (x == 0)
			continue;
		bool negated = false;
		for (size_t d = 1; d <= TA_WINDOW && d <= i; d++) {
			double b = booster(tok[i - d]);
			if (b != 0) {
				b *= d == 1 ? 1.0 : d == 2 ? 0.95 : 0.9; /* farther, weaker */
				x += x < 0 ? -b : b;
			}
			negated = negated || is_negator(tok[i - d]);
		}
		if (negated)
			x *= TA_NEGATE;
		if (but != SIZE_MAX)
			x *= i < but ? TA_BUT_BEFORE : TA_BUT_AFTER;
		v[i] = x;
		u->sum += x;
		u->scored++;
	}
	double c = u->sum / sqrt(u->sum * u->sum + TA_ALPHA);
	u->compound = c < -1 ? -1 : c > 1 ? 1 : c;
}

void ta_sentiment_free(struct ta_sentiment *s)
{
	free(s->utt);
	memset(s, 0, sizeof(*s));
}

int ta_sentiment(const struct ta_lexicon *lx, const struct ta_word *w, size_t n,
		 struct ta_sentiment *out)
{
	memset(out, 0, sizeof(*out));
	char(*tok)[TA_TOKLEN] = n ? malloc(n * sizeof(*tok)) : NULL;
	double *v = n ? malloc(n * sizeof(*v)) : NULL;
	size_t cap = 0, m = 0;
	int rc = 0;
	if (n && (!tok || !v)) {
		rc = ES_ENOMEM;
		goto out;
	}
	struct ta_utt cur = {0};
	const struct ta_word *prev = NULL;
	for (size_t i = 0; i <= n; i++) {
		const struct ta_word *x = i < n ? &w[i] : NULL;
		if (x && ((x->channel != 0 && x->channel != 1) || !x->text))
			continue;
		bool split = !x || (prev && (x->channel != prev->channel ||
					     x->start_ms - prev->end_ms > TA_UTT_PAUSE_MS));
		if (split && prev) {
			score(lx, tok, m, v, &cur);
			if ((rc = ta_grow(&out->utt, &out->nutt, &cap, sizeof(cur))))
				goto out;
			out->utt[out->nutt++] = cur;
			m = 0;
			prev = NULL;
		}
		if (!x)
			break;
		if (!prev) {
			cur = (struct ta_utt){.channel = x->channel, .start_ms = x->start_ms,
					      .first_word = i};
		}
		cur.end_ms = x->end_ms;
		cur.last_word = i;
		if (ta_norm_word(x->text, tok[m], TA_TOKLEN))
			m++;
		prev = x;
	}
	double sum[2] = {0, 0};
	for (size_t i = 0; i < out->nutt; i++) {
		const struct ta_utt *u = &out->utt[i];
		if (!u->scored)
			continue; /* no sentiment words: neutral, not counted */
		sum[u->channel] += u->compound;
		out->party_utts[u->channel]++;
	}
	for (int p = 0; p < 2; p++)
		out->party[p] = out->party_utts[p] ? sum[p] / out->party_utts[p] : 0;
	out->call_utts = out->party_utts[0] + out->party_utts[1];
	out->call = out->call_utts ? (sum[0] + sum[1]) / out->call_utts : 0;
out:
	free(tok);
	free(v);
	if (rc)
		ta_sentiment_free(out);
	return rc;
}
