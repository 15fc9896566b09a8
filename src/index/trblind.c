/*
 * trblind.c - the transcripts' blind (keyed) search index (issue #19):
 * the words of a transcript become keyed hashes before they reach either
 * engine, so the index file (or a PostgreSQL dump) holds no readable word;
 * the words themselves are only in the sealed words files beside each
 * recording (record/transcript.c).
 *
 * A word's token is a prefix chain and a word hash:
 *
 *     C(2) C(3) ... C(min(chars, 8)) 'x' W
 *
 * C(k) is 4 characters (20 bits) of HMAC-SHA-256(key, "p" + the word's
 * first k characters) and W 13 characters (64 bits) of HMAC-SHA-256(key,
 * "w" + the word), in the alphabet 0-9a-v (so 'x' never occurs in a hash).
 * An exact word is its whole token; a prefix of k >= 2 characters is the
 * engine's own prefix query on C(2)..C(min(k, 8)) (FTS5 "C..."*, PostgreSQL
 * 'C...':*), so both engines index one token a word at its position and
 * phrases stay positional.  A prefix longer than 8 characters is searched
 * by its first 8 (it may also find words that differ after the 8th).
 *
 * Words are split as FTS5's unicode61 splits ASCII: letters and digits
 * make tokens (lower-cased), bytes >= 0x80 too (UTF-8 kept as written, no
 * case folding or diacritics removal), everything else separates.  The same
 * split and the same prefix rule drive the hits of a page's calls in
 * memory (idx_tr_hits_words), so the snippet marks what the engine found.
 *
 * What the blind index still shows: how often each (hashed) word occurs,
 * which occur together and where, which words share their first letters,
 * and each transcript's length (docs/THREAT_MODEL.md).
 */
#include "index/index_internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRB_LEVEL_CHARS 4 /* 20 bits of a prefix's hash */
#define TRB_WORD_CHARS 13 /* 64 bits of the word's hash */
#define TRB_PREFIX_MIN 2
#define TRB_PREFIX_MAX 8
#define TRB_TOKEN_MAX ((TRB_PREFIX_MAX - 1) * TRB_LEVEL_CHARS + 1 + TRB_WORD_CHARS)
#define TRQ_TOK_MAX 64    /* bytes of one plain token; longer ones are cut */
#define TRQ_TOKS_MAX 128  /* tokens of one search (the API allows 200 chars) */
#define TRQ_TERMS_MAX 64
#define TRB_PG_POS_MAX 16383 /* PostgreSQL's last tsvector position */

static const char b32[] = "0123456789abcdefghijklmnopqrstuv";

/* ---- the key ------------------------------------------------------------------------ */

struct idx_trkey {
	crypto_auth_hmacsha256_state st; /* the key absorbed once */
};

void idx_set_search_key(struct idx *ix, const uint8_t key[IDX_TR_KEY_BYTES])
{
	/* sodium_malloc: guarded, never swapped (sodium_init is idempotent) */
	if (!ix->trkey && (sodium_init() < 0 || !(ix->trkey = sodium_malloc(sizeof(*ix->trkey)))))
		return;
	crypto_auth_hmacsha256_init(&ix->trkey->st, key, IDX_TR_KEY_BYTES);
	ix->trkey_set = true;
}

void idx_set_search_key_fn(struct idx *ix, idx_key_fn fn, void *ud)
{
	ix->trkey_fn = fn;
	ix->trkey_ud = ud;
}

void idx_trkey_free(struct idx *ix)
{
	if (ix->trkey)
		sodium_free(ix->trkey);
	ix->trkey = NULL;
	ix->trkey_set = false;
}

/* The key, through the loader on first use: ES_EUNSUP when there is none. */
int idx_tr_need_key(struct idx *ix)
{
	if (ix->trkey_set)
		return 0;
	if (!ix->trkey_fn) {
		snprintf(ix->errmsg, sizeof(ix->errmsg),
			 "transcript search: no search key (the index was opened without the"
			 " data folder's keys)");
		return ES_EUNSUP;
	}
	uint8_t key[IDX_TR_KEY_BYTES];
	char err[400] = "";
	bool in_tx = ix->eng->in_tx(ix);
	int rc = ix->trkey_fn(ix->trkey_ud, ix, key, err, sizeof(err));
	if (!rc) {
		idx_set_search_key(ix, key);
		rc = ix->trkey_set ? 0 : ES_ENOMEM;
		/* made inside the caller's transaction: a rollback forgets it */
		ix->trkey_tx = in_tx;
	}
	sodium_memzero(key, sizeof(key));
	if (rc)
		snprintf(ix->errmsg, sizeof(ix->errmsg), "transcript search key: %s",
			 *err ? err : es_strerror(rc));
	return rc;
}

/* The first bits of HMAC(key, kind + p[0..n)) as chars characters. */
static void keyed(const struct idx *ix, char kind, const char *p, size_t n, char *out,
		  unsigned chars)
{
	crypto_auth_hmacsha256_state s = ix->trkey->st;
	uint8_t md[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_update(&s, (const uint8_t *)&kind, 1);
	crypto_auth_hmacsha256_update(&s, (const uint8_t *)p, n);
	crypto_auth_hmacsha256_final(&s, md);
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | md[i];
	/* 13 characters take 65 bits: the last shift count is -1, which
	 * x86-64's shr (all stored tokens were made there) takes modulo 64;
	 * "& 63" says so, defined and the same tokens */
	for (unsigned i = 0; i < chars; i++)
		out[i] = b32[(v >> ((59 - 5 * i) & 63)) & 31];
	sodium_memzero(md, sizeof(md));
	sodium_memzero(&s, sizeof(s));
}

/* A key for seal.c: HMAC(key, 's' + label), so that what is sealed under
 * the search key's wrap needs no second key kept beside it ('s' is no
 * token's kind: 'p', 'w' and 'k' are). */
int idx_tr_subkey(struct idx *ix, const char *label, uint8_t out[IDX_TR_KEY_BYTES])
{
	int err = idx_tr_need_key(ix);
	if (err)
		return err;
	crypto_auth_hmacsha256_state s = ix->trkey->st;
	const uint8_t kind = 's';
	crypto_auth_hmacsha256_update(&s, &kind, 1);
	crypto_auth_hmacsha256_update(&s, (const uint8_t *)label, strlen(label));
	crypto_auth_hmacsha256_final(&s, out);
	sodium_memzero(&s, sizeof(s));
	return 0;
}

/* ---- splitting ------------------------------------------------------------------------ */

static bool tok_char(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c >= 0x80;
}

/* The next token of s[*i..n) lower-cased into out (NUL-terminated, cut at
 * TRQ_TOK_MAX bytes on a character boundary): its length, 0 at the end. */
static size_t tok_next(const char *s, size_t n, size_t *i, char out[TRQ_TOK_MAX + 1])
{
	while (*i < n && !tok_char((unsigned char)s[*i]))
		(*i)++;
	size_t k = 0;
	while (*i < n && tok_char((unsigned char)s[*i])) {
		unsigned char c = (unsigned char)s[(*i)++];
		if (k < TRQ_TOK_MAX)
			out[k++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	/* a cut inside a UTF-8 sequence: back to its first byte */
	if (k == TRQ_TOK_MAX)
		while (k && ((unsigned char)out[k - 1] & 0xc0) == 0x80)
			k--;
	out[k] = '\0';
	return k;
}

/* The byte length of the first chars characters of s (all of it when
 * shorter), and in *have how many characters that is. */
static size_t char_prefix(const char *s, size_t n, unsigned chars, unsigned *have)
{
	size_t i = 0;
	unsigned c = 0;
	while (i < n && c < chars) {
		i++;
		while (i < n && ((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
		c++;
	}
	*have = c;
	return i;
}

static unsigned char_count(const char *s, size_t n)
{
	unsigned c;
	char_prefix(s, n, ~0u, &c);
	return c;
}

/* The chain of a token's first levels (2..upto chars): its length. */
static size_t chain(const struct idx *ix, const char *t, size_t n, unsigned upto, char *out)
{
	size_t len = 0;
	for (unsigned k = TRB_PREFIX_MIN; k <= upto; k++) {
		unsigned have;
		size_t b = char_prefix(t, n, k, &have);
		keyed(ix, 'p', t, b, out + len, TRB_LEVEL_CHARS);
		len += TRB_LEVEL_CHARS;
	}
	return len;
}

/* A word's whole token (see the top): its length. */
static size_t word_token(const struct idx *ix, const char *t, size_t n, char out[TRB_TOKEN_MAX + 1])
{
	unsigned chars = char_count(t, n);
	size_t len = chain(ix, t, n, chars < TRB_PREFIX_MAX ? chars : TRB_PREFIX_MAX, out);
	out[len++] = 'x';
	keyed(ix, 'w', t, n, out + len, TRB_WORD_CHARS);
	len += TRB_WORD_CHARS;
	out[len] = '\0';
	return len;
}

/* ---- documents ------------------------------------------------------------------------- */

int idx_tr_doc(struct idx *ix, const char *text, struct es_buf *out)
{
	int err = idx_tr_need_key(ix);
	if (err)
		return err;
	bool pg = db_is_pg(ix);
	size_t n = strlen(text), i = 0;
	unsigned pos = 0;
	char t[TRQ_TOK_MAX + 1], tok[TRB_TOKEN_MAX + 1];
	size_t tl;
	while (!err && (tl = tok_next(text, n, &i, t))) {
		word_token(ix, t, tl, tok);
		pos++;
		/* PostgreSQL: positions 1..16383, later ones share the last */
		if (pg)
			err = es_buf_printf(out, "%s'%s':%u", out->len ? " " : "", tok,
					    pos < TRB_PG_POS_MAX ? pos : TRB_PG_POS_MAX);
		else
			err = es_buf_printf(out, "%s%s", out->len ? " " : "", tok);
	}
	sodium_memzero(t, sizeof(t));
	if (!err)
		err = es_buf_append(out, "", 1);
	return err;
}

int idx_tr_kw_token(struct idx *ix, const char *phrase, char out[IDX_TR_TOKEN_MAX + 1])
{
	int err = idx_tr_need_key(ix);
	if (err)
		return err;
	/* the phrase's tokens one space apart, so that case and punctuation
	 * do not matter (as the old lower() comparison) */
	struct es_buf b;
	es_buf_init(&b);
	size_t n = strlen(phrase), i = 0, tl;
	char t[TRQ_TOK_MAX + 1];
	while (!err && (tl = tok_next(phrase, n, &i, t)))
		err = es_buf_printf(&b, "%s%s", b.len ? " " : "", t);
	if (!err) {
		out[0] = 'k';
		keyed(ix, 'k', b.p ? (const char *)b.p : "", b.len, out + 1, TRB_WORD_CHARS);
		out[1 + TRB_WORD_CHARS] = '\0';
	}
	if (b.p)
		sodium_memzero(b.p, b.len);
	es_buf_free(&b);
	sodium_memzero(t, sizeof(t));
	return err;
}

/* ---- searches --------------------------------------------------------------------------- */

/* A search as terms (words ANDed), each a run of plain tokens (a phrase
 * when more than one) whose last may be a prefix. */
struct trq {
	char tok[TRQ_TOKS_MAX][TRQ_TOK_MAX + 1];
	unsigned ntok;
	struct {
		unsigned first, n;
		bool star;
	} term[TRQ_TERMS_MAX];
	unsigned nterm;
};

static bool space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* One term's text into q (none when it has no token). */
static int trq_term(struct trq *q, const char *s, size_t n, bool star)
{
	size_t i = 0, tl;
	unsigned first = q->ntok;
	char t[TRQ_TOK_MAX + 1];
	while (q->ntok < TRQ_TOKS_MAX && (tl = tok_next(s, n, &i, t)))
		memcpy(q->tok[q->ntok++], t, tl + 1);
	if (tok_next(s, n, &i, t))
		return ES_EINVAL; /* too many tokens */
	if (q->ntok == first)
		return 0;
	if (q->nterm == TRQ_TERMS_MAX)
		return ES_EINVAL;
	/* a prefix needs 2 characters: a 1-letter one is in no chain */
	const char *last = q->tok[q->ntok - 1];
	if (star && char_count(last, strlen(last)) < TRB_PREFIX_MIN)
		return ES_EINVAL;
	q->term[q->nterm].first = first;
	q->term[q->nterm].n = q->ntok - first;
	q->term[q->nterm].star = star;
	q->nterm++;
	return 0;
}

/* The search syntax (index.h, idx_tr_match): ES_EINVAL without a term. */
static int trq_parse(const char *text, struct trq *q)
{
	q->ntok = q->nterm = 0;
	const char *p = text ? text : "";
	int err = 0;
	while (!err && *p) {
		while (space(*p))
			p++;
		if (!*p)
			break;
		const char *s = p;
		size_t n;
		bool star = false;
		if (*p == '"') {
			/* a phrase: up to the closing quote (or the end) */
			s = ++p;
			while (*p && *p != '"')
				p++;
			n = (size_t)(p - s);
			if (*p)
				p++;
			/* "a phr"* and "a phr*": the last word a prefix */
			if (*p == '*') {
				star = true;
				p++;
			}
			while (n && s[n - 1] == '*') {
				star = true;
				n--;
			}
		} else {
			while (*p && !space(*p) && *p != '"')
				p++;
			n = (size_t)(p - s);
			while (n && s[n - 1] == '*') {
				star = true;
				n--;
			}
		}
		err = trq_term(q, s, n, star);
	}
	return err ? err : q->nterm ? 0 : ES_EINVAL;
}

/* The common end of the two query writers: b NUL-terminated into *out
 * (the caller's), or freed on err; q (plain words) wiped and freed. */
static int trq_finish(struct trq *q, struct es_buf *b, int err, char **out)
{
	if (!err)
		err = es_buf_append(b, "", 1);
	sodium_memzero(q, sizeof(*q));
	free(q);
	if (err) {
		es_buf_free(b);
		return err;
	}
	*out = (char *)b->p;
	return 0;
}

char *idx_tr_match(const char *text)
{
	struct trq *q = malloc(sizeof(*q));
	if (!q || trq_parse(text, q)) {
		free(q);
		return NULL;
	}
	/* the search as understood: "phrase of tokens"[*] per term */
	struct es_buf b;
	es_buf_init(&b);
	int err = 0;
	for (unsigned i = 0; !err && i < q->nterm; i++) {
		err = es_buf_append(&b, i ? " \"" : "\"", i ? 2 : 1);
		for (unsigned k = 0; !err && k < q->term[i].n; k++)
			err = es_buf_printf(&b, "%s%s", k ? " " : "", q->tok[q->term[i].first + k]);
		if (!err)
			err = es_buf_append(&b, q->term[i].star ? "\"*" : "\"", q->term[i].star ? 2 : 1);
	}
	char *out = NULL;
	trq_finish(q, &b, err, &out);
	return out;
}

int idx_tr_query(struct idx *ix, const char *text, char **out)
{
	*out = NULL;
	struct trq *q = malloc(sizeof(*q));
	if (!q)
		return ES_ENOMEM;
	int err = trq_parse(text, q);
	if (err) {
		free(q);
		return err;
	}
	if ((err = idx_tr_need_key(ix))) {
		free(q);
		return err;
	}
	bool pg = db_is_pg(ix);
	struct es_buf b;
	es_buf_init(&b);
	char tok[TRB_TOKEN_MAX + 1];
	for (unsigned i = 0; !err && i < q->nterm; i++) {
		/* FTS5: "t1 t2 c3"* is a phrase whose last token is a prefix;
		 * PostgreSQL: 't1' <-> 't2' <-> 'c3':* */
		if (!pg)
			err = es_buf_append(&b, i ? " \"" : "\"", i ? 2 : 1);
		else if (i)
			err = es_buf_append(&b, " & ", 3);
		for (unsigned k = 0; !err && k < q->term[i].n; k++) {
			const char *t = q->tok[q->term[i].first + k];
			size_t tl = strlen(t);
			bool pre = q->term[i].star && k + 1 == q->term[i].n;
			if (pre) {
				unsigned c = char_count(t, tl);
				size_t len = chain(ix, t, tl, c < TRB_PREFIX_MAX ? c : TRB_PREFIX_MAX, tok);
				tok[len] = '\0';
			} else {
				word_token(ix, t, tl, tok);
			}
			if (pg)
				err = es_buf_printf(&b, "%s'%s'%s", k ? " <-> " : "", tok, pre ? ":*" : "");
			else
				err = es_buf_printf(&b, "%s%s", k ? " " : "", tok);
		}
		if (!err && !pg)
			err = es_buf_append(&b, q->term[i].star ? "\"*" : "\"", q->term[i].star ? 2 : 1);
	}
	return trq_finish(q, &b, err, out);
}

/* ---- hits in a page's words (in memory) ------------------------------------------------ */

struct wtok {
	char t[TRQ_TOK_MAX + 1];
	size_t word; /* index in the words */
};

/* Whether plain token t matches query token q (prefix: as the chain does). */
static bool tok_match(const char *t, const char *q, bool pre)
{
	if (!pre)
		return !strcmp(t, q);
	size_t ql = strlen(q), tl = strlen(t);
	unsigned qc = char_count(q, ql), m = qc < TRB_PREFIX_MAX ? qc : TRB_PREFIX_MAX, have;
	size_t qb = char_prefix(q, ql, m, &have);
	size_t tb = char_prefix(t, tl, m, &have);
	return have == m && tb == qb && !memcmp(t, q, qb);
}

/* The snippet: up to 16 words from a little before the first hit, each
 * hit word in [ ], "..." where words were left out. */
#define SNIPPET_WORDS 16
static int snippet(const struct idx_tr_word *w, size_t n, const bool *hit, size_t first,
		   struct es_buf *out)
{
	size_t from = first > 3 ? first - 3 : 0, to = from + SNIPPET_WORDS < n ? from + SNIPPET_WORDS : n;
	int err = from ? es_buf_append(out, "...", 3) : 0;
	for (size_t i = from; !err && i < to; i++)
		err = es_buf_printf(out, "%s%s%s%s", i > from ? " " : "", hit[i] ? "[" : "",
				    w[i].w ? w[i].w : "", hit[i] ? "]" : "");
	if (!err && to < n)
		err = es_buf_append(out, "...", 3);
	if (!err)
		err = es_buf_append(out, "", 1);
	return err;
}

int idx_tr_hits_words(const char *text, int channel, const struct idx_tr_word *w, size_t n,
		      idx_tr_hit_fn fn, void *ud)
{
	struct trq *q = malloc(sizeof(*q));
	if (!q)
		return ES_ENOMEM;
	int err = trq_parse(text, q);
	struct wtok *wt = NULL;
	bool *hit = NULL, *found = NULL;
	size_t nt = 0, cap = 0;
	struct es_buf snip;
	es_buf_init(&snip);
	if (err)
		goto out;
	/* each word's tokens in order, as idx_tr_doc splits the words joined
	 * by spaces */
	for (size_t i = 0; !err && i < n; i++) {
		const char *s = w[i].w ? w[i].w : "";
		size_t sl = strlen(s), j = 0;
		for (;;) {
			if (nt == cap) {
				size_t nc = cap ? cap * 2 : 256;
				struct wtok *g = realloc(wt, nc * sizeof(*wt));
				if (!g) {
					err = ES_ENOMEM;
					break;
				}
				wt = g;
				cap = nc;
			}
			if (!tok_next(s, sl, &j, wt[nt].t))
				break;
			wt[nt++].word = i;
		}
	}
	if (!err && (!(hit = calloc(n ? n : 1, sizeof(*hit))) ||
		     !(found = calloc(q->nterm, sizeof(*found)))))
		err = ES_ENOMEM;
	/* every term somewhere (AND), each of its places marked */
	for (unsigned k = 0; !err && k < q->nterm; k++) {
		unsigned f = q->term[k].first, len = q->term[k].n;
		for (size_t i = 0; i + len <= nt; i++) {
			bool ok = true;
			for (unsigned m = 0; ok && m < len; m++)
				ok = tok_match(wt[i + m].t, q->tok[f + m],
					       q->term[k].star && m + 1 == len);
			if (!ok)
				continue;
			found[k] = true;
			for (unsigned m = 0; m < len; m++)
				hit[wt[i + m].word] = true;
		}
	}
	bool all = !err;
	for (unsigned k = 0; all && k < q->nterm; k++)
		all = found[k];
	if (all) {
		struct idx_tr_hit h = {.channel = channel};
		size_t first = n;
		for (size_t i = 0; i < n; i++) {
			if (!hit[i])
				continue;
			if (first == n)
				first = i;
			if (h.nat < IDX_TR_HITS_MAX &&
			    (!h.nat || h.at_ms[h.nat - 1] != w[i].start_ms))
				h.at_ms[h.nat++] = w[i].start_ms;
		}
		if (!(err = snippet(w, n, hit, first, &snip))) {
			h.snippet = (const char *)snip.p;
			err = fn(ud, &h);
		}
	}
out:
	if (wt)
		sodium_memzero(wt, cap * sizeof(*wt));
	if (snip.p)
		sodium_memzero(snip.p, snip.len);
	es_buf_free(&snip);
	free(wt);
	free(hit);
	free(found);
	sodium_memzero(q, sizeof(*q));
	free(q);
	return err;
}
