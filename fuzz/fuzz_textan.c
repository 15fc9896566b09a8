/* fuzz_textan.c - libFuzzer harness for the text analyses' parsers
 * (src/analytics/textan*.c): the same input read as a configuration
 * ([keywords NAME] phrase lists, [redact_speech] patterns: ta_config_load),
 * as a digit pattern (its first line: ta_pattern_parse, then matched
 * against the input's digits), as a lexicon (ta_lexicon_parse), as the
 * words' JSON (ta_words_parse), and split at blanks into timed words that
 * the digit-word normaliser and every analysis run over (ta_analyse).
 * Checks: spans lie inside the words, a card span is 13-19 digits, the
 * masked copy has every word and masks only number words. */
#include "analytics/textan.h"
#include "core/config.h"

#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 4096

static void check_result(const struct ta_result *r, const struct ta_word *w, size_t n)
{
	if (r->nmasked != n && !(n == 0 && r->nmasked == 0))
		abort();
	for (size_t i = 0; i < r->nspans; i++) {
		const struct ta_span *s = &r->spans[i];
		if (s->first_word > s->last_word || s->last_word >= n || s->start_ms > s->end_ms)
			abort();
		if (!strcmp(s->kind, "card") &&
		    (s->ndigits < TA_CARD_MIN_DIGITS || s->ndigits > TA_CARD_MAX_DIGITS))
			abort();
	}
	for (size_t i = 0; i < r->nhits; i++)
		if (r->hits[i].first_word > r->hits[i].last_word || r->hits[i].last_word >= n)
			abort();
	for (size_t i = 0; i < r->nmasked; i++) {
		if (r->masked[i].text == w[i].text)
			continue;
		char d[64];
		int m;
		if (ta_digit_word(w[i].text, d, sizeof(d), &m) < 0)
			abort(); /* only number words are masked */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	char *words_buf = malloc(size + 1);
	struct ta_word *w = calloc(MAX_WORDS, sizeof(*w));
	if (!text || !words_buf || !w)
		goto out;
	memcpy(text, data, size);
	text[size] = '\0';
	char err[512];

	/* the configuration (NULs end the text, as in a file read by inih) */
	struct ta_config cfg;
	struct es_conf c;
	bool have_cfg = false;
	if (es_conf_parse(&c, "fuzz.conf", text, err, sizeof(err)) == 0) {
		have_cfg = ta_config_load(&cfg, &c, err, sizeof(err)) == 0;
		es_conf_free(&c);
	}

	/* the first line as a pattern, over the input's digits */
	struct ta_pattern p;
	char line[256];
	size_t ll = 0;
	while (ll < size && ll < sizeof(line) - 1 && text[ll] && text[ll] != '\n')
		line[ll] = text[ll], ll++;
	line[ll] = '\0';
	if (ta_pattern_parse(line, &p, err, sizeof(err)) == 0) {
		char digits[512];
		size_t nd = 0;
		for (size_t i = 0; i < size && nd < sizeof(digits); i++)
			if (data[i] >= '0' && data[i] <= '9')
				digits[nd++] = (char)data[i];
		(void)ta_pattern_match(&p, digits, nd);
	}

	/* a lexicon */
	struct ta_lexicon lx;
	bool have_lx = ta_lexicon_parse(&lx, "fuzz.lex", (const char *)data, size, err,
					sizeof(err)) == 0;

	/* the words' JSON */
	struct ta_word *jw;
	size_t jn;
	if (ta_words_parse((const char *)data, size, &jw, &jn, err, sizeof(err)) == 0) {
		struct ta_result r;
		if (ta_analyse(have_cfg ? &cfg : NULL, have_lx ? &lx : NULL, jw, jn, &r) == 0)
			check_result(&r, jw, jn);
		ta_result_free(&r);
		ta_words_free(jw, jn);
	}

	/* blank-separated words, 400 ms apart; a newline changes the channel,
	 * a '|' pauses 4 s */
	memcpy(words_buf, text, size + 1);
	size_t n = 0;
	int ch = 0;
	int64_t t = 0;
	char *s = words_buf;
	while (*s && n < MAX_WORDS) {
		while (*s == ' ' || *s == '\n' || *s == '|') {
			ch ^= *s == '\n';
			t += *s == '|' ? 4000 : 0;
			s++;
		}
		if (!*s)
			break;
		char *st = s;
		while (*s && *s != ' ' && *s != '\n' && *s != '|')
			s++;
		char end = *s;
		if (end)
			*s++ = '\0';
		char d[64];
		int m;
		(void)ta_digit_word(st, d, sizeof(d), &m);
		w[n++] = (struct ta_word){st, t, t + 300, 1.0f, ch};
		t += end == '|' ? 4400 : 400;
		ch ^= end == '\n';
	}
	struct ta_result r;
	if (ta_analyse(have_cfg ? &cfg : NULL, have_lx ? &lx : NULL, w, n, &r) == 0)
		check_result(&r, w, n);
	ta_result_free(&r);

	if (have_lx)
		ta_lexicon_free(&lx);
	if (have_cfg)
		ta_config_free(&cfg);
out:
	free(text);
	free(words_buf);
	free(w);
	return 0;
}
