/* textan_conf.c - the text analyses' configuration ([keywords NAME],
 * [sentiment], [redact_speech]), digit patterns, and the word normalisers
 * the analyses share. */
#include "analytics/textan.h"
#include "analytics/textan_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- normalisers ---------------------------------------------------------- */

size_t ta_norm_word(const char *text, char *out, size_t cap)
{
	size_t o = 0, n = strlen(text);
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		unsigned char c = (unsigned char)text[i];
		if (isalnum(c) || c >= 0x80)
			out[o++] = (char)tolower(c);
		else if (c == '\'' && o > 0 && i + 1 < n && isalnum((unsigned char)text[i + 1]))
			out[o++] = '\''; /* "don't", not "'quoted'" */
	}
	out[o] = '\0';
	return o;
}

/* Digit words as ASR engines spell them; "oh" and "o" are zero when spoken
 * in a number (E.123-style reading of digits one by one). */
static const char *const digit_names[][3] = {
	{"zero", "oh", "o"}, {"one", "won", NULL}, {"two", "to", "too"},
	{"three", NULL, NULL}, {"four", "for", NULL}, {"five", NULL, NULL},
	{"six", NULL, NULL}, {"seven", NULL, NULL}, {"eight", NULL, NULL},
	{"nine", "niner", NULL},
};

int ta_digit_word(const char *text, char *out, size_t cap, int *mult)
{
	char w[64];
	*mult = 0;
	size_t n = ta_norm_word(text, w, sizeof(w));
	if (n == 0 || strlen(text) >= sizeof(w))
		return -1;
	bool all = true;
	for (size_t i = 0; i < n; i++)
		all = all && w[i] >= '0' && w[i] <= '9';
	if (all) {
		if (n > cap)
			return -1;
		memcpy(out, w, n);
		return (int)n;
	}
	if (!strcmp(w, "double") || !strcmp(w, "triple")) {
		*mult = w[0] == 'd' ? 2 : 3;
		return 0;
	}
	for (int d = 0; d < 10; d++)
		for (int k = 0; k < 3; k++)
			if (digit_names[d][k] && !strcmp(w, digit_names[d][k])) {
				if (cap < 1)
					return -1;
				out[0] = (char)('0' + d);
				return 1;
			}
	return -1;
}

bool ta_luhn(const char *digits, size_t n)
{
	unsigned sum = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(digits[n - 1 - i] - '0');
		if (d > 9)
			return false;
		if (i & 1)
			d = d * 2 > 9 ? d * 2 - 9 : d * 2;
		sum += d;
	}
	return n > 0 && sum % 10 == 0;
}

/* ---- digit patterns --------------------------------------------------------- */

static int pat_num(const char **s, unsigned *v)
{
	if (!isdigit((unsigned char)**s))
		return -1;
	unsigned x = 0;
	while (isdigit((unsigned char)**s)) {
		x = x * 10 + (unsigned)(**s - '0');
		if (x > 64)
			return -1;
		(*s)++;
	}
	*v = x;
	return 0;
}

int ta_pattern_parse(const char *text, struct ta_pattern *p, char *err, size_t errlen)
{
	const char *s = text;
	p->nit = 0;
	while (*s) {
		struct ta_pat_item it = {0, 0, 1, 1};
		if (s[0] == '\\' && s[1] == 'd') {
			it.lo = '0', it.hi = '9';
			s += 2;
		} else if (isdigit((unsigned char)s[0])) {
			it.lo = it.hi = s[0];
			s++;
		} else if (s[0] == '[' && isdigit((unsigned char)s[1]) && s[2] == '-' &&
			   isdigit((unsigned char)s[3]) && s[4] == ']' && s[1] <= s[3]) {
			it.lo = s[1], it.hi = s[3];
			s += 5;
		} else {
			return es_errf(err, errlen, ES_EPARSE,
				       "pattern '%s': at offset %zu: expected \\d, [a-b] or a digit",
				       text, (size_t)(s - text));
		}
		if (*s == '?') {
			it.min = 0;
			s++;
		} else if (*s == '{') {
			unsigned lo, hi;
			s++;
			if (pat_num(&s, &lo))
				goto bad_count;
			hi = lo;
			if (*s == ',') {
				s++;
				if (pat_num(&s, &hi))
					goto bad_count;
			}
			if (*s != '}' || hi < lo || hi == 0)
				goto bad_count;
			s++;
			it.min = (uint8_t)lo, it.max = (uint8_t)hi;
		}
		if (p->nit == TA_MAX_PATTERN_ITEMS)
			return es_errf(err, errlen, ES_EPARSE, "pattern '%s': more than %d items",
				       text, TA_MAX_PATTERN_ITEMS);
		p->it[p->nit++] = it;
	}
	if (p->nit == 0)
		return es_errf(err, errlen, ES_EPARSE, "empty pattern");
	return 0;
bad_count:
	return es_errf(err, errlen, ES_EPARSE,
		       "pattern '%s': at offset %zu: expected {n} or {n,m} with n <= m <= 64",
		       text, (size_t)(s - text));
}

/* Reachable positions item by item (no backtracking, so no blow-up):
 * at most items x run x 64 steps. */
bool ta_pattern_match(const struct ta_pattern *p, const char *digits, size_t n)
{
	if (n > TA_PATTERN_MAX_RUN || p->nit == 0)
		return false;
	uint8_t *cur = calloc(2 * (n + 1), 1);
	if (!cur)
		return false;
	uint8_t *next = cur + n + 1;
	cur[0] = 1;
	for (size_t i = 0; i < p->nit; i++) {
		const struct ta_pat_item *it = &p->it[i];
		memset(next, 0, n + 1);
		bool any = false;
		for (size_t pos = 0; pos <= n; pos++) {
			if (!cur[pos])
				continue;
			for (size_t k = 0; k <= it->max && pos + k <= n; k++) {
				if (k >= it->min) {
					next[pos + k] = 1;
					any = true;
				}
				if (pos + k == n || digits[pos + k] < it->lo || digits[pos + k] > it->hi)
					break;
			}
		}
		memcpy(cur, next, n + 1);
		if (!any)
			break;
	}
	bool ok = cur[n];
	free(cur);
	return ok;
}

/* ---- configuration ------------------------------------------------------------- */

void ta_config_free(struct ta_config *cfg)
{
	for (size_t i = 0; i < cfg->nlists; i++) {
		struct ta_kwlist *l = &cfg->lists[i];
		for (size_t k = 0; k < l->nph; k++) {
			free(l->ph[k].text);
			for (size_t t = 0; t < l->ph[k].ntok; t++)
				free(l->ph[k].tok[t]);
		}
		free(l->ph);
		free(l->name);
		free(l->category);
	}
	free(cfg->lists);
	for (size_t i = 0; i < cfg->npat; i++) {
		free(cfg->pat[i].kind);
		free(cfg->pat[i].text);
	}
	free(cfg->pat);
	free(cfg->lexicon);
	memset(cfg, 0, sizeof(*cfg));
	cfg->cards = true;
}

/* Split a phrase into normalised tokens at blanks and hyphens. */
static int phrase_build(struct ta_phrase *ph, struct slice text, const struct es_conf *c,
			const struct es_conf_entry *e, char *err, size_t errlen)
{
	memset(ph, 0, sizeof(*ph));
	if (!(ph->text = sl_strdup(text)))
		return ES_ENOMEM;
	size_t i = 0;
	while (i < text.len) {
		while (i < text.len && (text.p[i] == ' ' || text.p[i] == '\t' || text.p[i] == '-'))
			i++;
		size_t st = i;
		while (i < text.len && text.p[i] != ' ' && text.p[i] != '\t' && text.p[i] != '-')
			i++;
		if (i == st)
			break;
		char raw[128], norm[128];
		sl_copy(raw, sizeof(raw), sl_make(text.p + st, i - st));
		bool wild = i - st > 1 && text.p[i - 1] == '*';
		if (!ta_norm_word(raw, norm, sizeof(norm)))
			continue; /* punctuation only */
		if (ph->ntok == TA_MAX_PHRASE_TOKENS)
			return es_errf(err, errlen, ES_EPARSE, "%s:%u: phrases: '%s' has more than %d words",
				       c->path, e->line, ph->text, TA_MAX_PHRASE_TOKENS);
		if (!(ph->tok[ph->ntok] = strdup(norm)))
			return ES_ENOMEM;
		ph->wild[ph->ntok++] = wild;
	}
	if (ph->ntok == 0)
		return es_errf(err, errlen, ES_EPARSE, "%s:%u: phrases: '%s' has no words", c->path,
			       e->line, ph->text);
	return 0;
}

static int list_add_phrases(struct ta_kwlist *l, const struct es_conf *c,
			    const struct es_conf_entry *e, char *err, size_t errlen)
{
	struct slice rest = sl_cstr(e->value), one;
	while (!sl_empty(rest)) {
		sl_split(rest, ',', &one, &rest);
		one = sl_trim(one);
		if (sl_empty(one))
			continue;
		struct ta_phrase *np = realloc(l->ph, (l->nph + 1) * sizeof(*np));
		if (!np)
			return ES_ENOMEM;
		l->ph = np;
		l->nph++;
		int rc = phrase_build(&l->ph[l->nph - 1], one, c, e, err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

static int list_load(struct ta_config *cfg, const struct es_conf *c, const char *sec, char *err,
		     size_t errlen)
{
	for (size_t i = 0; i < cfg->nlists; i++)
		if (!strcasecmp(cfg->lists[i].name, sec + 9))
			return 0; /* already read (the section appears twice) */
	struct ta_kwlist *nl = realloc(cfg->lists, (cfg->nlists + 1) * sizeof(*nl));
	if (!nl)
		return ES_ENOMEM;
	cfg->lists = nl;
	struct ta_kwlist *l = &cfg->lists[cfg->nlists++];
	memset(l, 0, sizeof(*l));
	l->party = TA_PARTY_ANY;
	if (!(l->name = sl_strdup(sl_trim(sl_cstr(sec + 9)))))
		return ES_ENOMEM;
	int rc = 0;
	for (size_t i = 0; i < c->n && !rc; i++) {
		const struct es_conf_entry *e = &c->e[i];
		if (strcasecmp(e->section, sec))
			continue;
		if (!strcmp(e->key, "phrases")) {
			rc = list_add_phrases(l, c, e, err, errlen);
		} else if (!strcmp(e->key, "category")) {
			free(l->category);
			if (!(l->category = strdup(e->value)))
				rc = ES_ENOMEM;
		} else if (!strcmp(e->key, "party")) {
			if (!strcasecmp(e->value, "caller"))
				l->party = 0;
			else if (!strcasecmp(e->value, "callee"))
				l->party = 1;
			else if (!strcasecmp(e->value, "any"))
				l->party = TA_PARTY_ANY;
			else
				rc = es_errf(err, errlen, ES_EPARSE,
					     "%s:%u: party: expected caller, callee or any, not '%s'",
					     c->path, e->line, e->value);
		}
	}
	if (!rc && (rc = es_conf_bool(c, sec, "required", &l->required, err, errlen)) == ES_ENOTFOUND)
		rc = 0;
	if (!rc && !l->category && !(l->category = strdup(l->name)))
		rc = ES_ENOMEM;
	if (!rc && l->nph == 0)
		rc = es_errf(err, errlen, ES_EPARSE, "%s: [%s] has no phrases", c->path, sec);
	return rc;
}

static int patterns_load(struct ta_config *cfg, const struct es_conf *c,
			 const struct es_conf_entry *e, char *err, size_t errlen)
{
	struct slice rest = sl_cstr(e->value), one, kind, pat;
	while (!sl_empty(rest)) {
		sl_split(rest, ',', &one, &rest);
		one = sl_trim(one);
		if (sl_empty(one))
			continue;
		if (!sl_split(one, ':', &kind, &pat) || sl_empty(sl_trim(kind)))
			return es_errf(err, errlen, ES_EPARSE,
				       "%s:%u: patterns: expected KIND:PATTERN, not '%.*s'", c->path,
				       e->line, (int)one.len, one.p);
		struct ta_pattern *np = realloc(cfg->pat, (cfg->npat + 1) * sizeof(*np));
		if (!np)
			return ES_ENOMEM;
		cfg->pat = np;
		struct ta_pattern *p = &cfg->pat[cfg->npat++];
		memset(p, 0, sizeof(*p));
		if (!(p->kind = sl_strdup(sl_trim(kind))) || !(p->text = sl_strdup(sl_trim(pat))))
			return ES_ENOMEM;
		char why[160];
		if (ta_pattern_parse(p->text, p, why, sizeof(why)))
			return es_errf(err, errlen, ES_EPARSE, "%s:%u: patterns: %s", c->path, e->line,
				       why);
	}
	return 0;
}

int ta_config_load(struct ta_config *cfg, const struct es_conf *c, char *err, size_t errlen)
{
	static const char *const k_kw[] = {"category", "phrases", "required", "party", NULL};
	static const char *const k_sent[] = {"lexicon", NULL};
	static const char *const k_red[] = {"patterns", "cards", NULL};
	memset(cfg, 0, sizeof(*cfg));
	cfg->cards = true;
	int rc;
	if ((rc = es_conf_check_keys(c, "keywords", k_kw, err, errlen)) ||
	    (rc = es_conf_check_keys(c, "sentiment", k_sent, err, errlen)) ||
	    (rc = es_conf_check_keys(c, "redact_speech", k_red, err, errlen)))
		goto out;
	for (size_t i = 0; i < c->n && !rc; i++) {
		const struct es_conf_entry *e = &c->e[i];
		if (!strncasecmp(e->section, "keywords ", 9))
			rc = list_load(cfg, c, e->section, err, errlen);
		else if (!strcasecmp(e->section, "redact_speech") && !strcmp(e->key, "patterns"))
			rc = patterns_load(cfg, c, e, err, errlen);
	}
	if (rc)
		goto out;
	if ((rc = es_conf_bool(c, "redact_speech", "cards", &cfg->cards, err, errlen)) &&
	    rc != ES_ENOTFOUND)
		goto out;
	rc = 0;
	const struct es_conf_entry *lx = es_conf_find(c, "sentiment", "lexicon");
	if (lx && !(cfg->lexicon = strdup(lx->value)))
		rc = ES_ENOMEM;
out:
	if (rc)
		ta_config_free(cfg);
	return rc;
}
