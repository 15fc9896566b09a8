/*
 * textan.h - text analyses over a transcript's timed words (issue #19):
 * keyword spotting (configured phrase lists, required phrases whose absence
 * is a finding), a lexicon-based sentiment score (VADER-style) per
 * utterance, party and call, and spoken sensitive numbers (card numbers
 * spoken as digit words, Luhn-checked, and configured digit patterns) as
 * time spans plus a masked copy of the words.  A pure library: words in,
 * findings out; no I/O except loading the lexicon file.  Rules and sources:
 * docs/ANALYTICS.md.
 *
 * Ownership: the caller owns the words; every result lives in a struct
 * ta_result (ta_result_free), every configuration in a struct ta_config
 * (ta_config_free), the lexicon in a struct ta_lexicon (ta_lexicon_free).
 * Result strings point into the configuration or the result's arena, so a
 * result must not outlive its configuration.
 */
#ifndef ES_ANALYTICS_TEXTAN_H
#define ES_ANALYTICS_TEXTAN_H

#include "core/config.h"
#include "core/core.h"

/* One recognised word; channel 0 = caller, 1 = callee.  Words come in time
 * order per channel (channels may be interleaved or one after the other). */
struct ta_word {
	const char *text;
	int64_t start_ms, end_ms;
	float conf;
	int channel;
};

#define TA_PARTY_ANY (-1)
#define TA_MAX_PHRASE_TOKENS 16
#define TA_MAX_PATTERN_ITEMS 32
#define TA_UTT_PAUSE_MS 700      /* a longer pause on one channel ends an utterance */
#define TA_DIGIT_GAP_MS 3000     /* a longer pause ends a spoken number */
#define TA_CARD_MIN_DIGITS 13
#define TA_CARD_MAX_DIGITS 19
#define TA_PATTERN_MAX_RUN 2048  /* longer digit runs are not matched by patterns */

/* ---- configuration -------------------------------------------------------- */

struct ta_phrase {
	char *text;                           /* as configured */
	char *tok[TA_MAX_PHRASE_TOKENS];      /* normalised tokens */
	bool wild[TA_MAX_PHRASE_TOKENS];      /* token ended in '*': a prefix */
	size_t ntok;
};

struct ta_kwlist {
	char *name;     /* [keywords NAME] */
	char *category; /* "disclosure", "complaint", ... (default: the name) */
	bool required;  /* no hit of any phrase is a finding */
	int party;      /* 0 caller, 1 callee, TA_PARTY_ANY */
	struct ta_phrase *ph;
	size_t nph;
};

/* One item of a digit pattern: a class of digits repeated min..max times. */
struct ta_pat_item {
	char lo, hi;
	uint8_t min, max;
};
struct ta_pattern {
	char *kind; /* "account" */
	char *text; /* "\d{8}" */
	struct ta_pat_item it[TA_MAX_PATTERN_ITEMS];
	size_t nit;
};

struct ta_config {
	struct ta_kwlist *lists;
	size_t nlists;
	struct ta_pattern *pat;
	size_t npat;
	bool cards;    /* [redact_speech] cards = yes (default) */
	char *lexicon; /* [sentiment] lexicon = PATH, or NULL */
};

/* Read every [keywords NAME] section, [sentiment] and [redact_speech] from c
 * (absent sections: no lists, no patterns, cards on).  ES_EPARSE with
 * "path:line: key: why" in err, ES_ENOMEM.  On error cfg is left empty. */
int ta_config_load(struct ta_config *cfg, const struct es_conf *c, char *err, size_t errlen);
void ta_config_free(struct ta_config *cfg);

/* Parse one digit pattern ("\d{8}", "4\d{3,5}", "[0-5]?\d"): items are
 * \d, [a-b], a digit, each optionally followed by ?, {n} or {n,m}
 * (n, m <= 64).  ES_EPARSE with why in err. */
int ta_pattern_parse(const char *text, struct ta_pattern *p, char *err, size_t errlen);
/* Whether the whole of digits[0..n) matches p. */
bool ta_pattern_match(const struct ta_pattern *p, const char *digits, size_t n);

/* ---- the lexicon ------------------------------------------------------------ */

struct ta_lexicon {
	struct es_htab h;
	struct es_arena a;
	size_t n;
};
/* Load a VADER-format lexicon: "token<TAB>mean valence<TAB>...", one a line.
 * ES_ENOTFOUND, ES_EIO, ES_EPARSE ("path:line: why"), ES_ENOMEM. */
int ta_lexicon_load(struct ta_lexicon *lx, const char *path, char *err, size_t errlen);
/* The same from a buffer (tests, fuzzing); name is used in messages. */
int ta_lexicon_parse(struct ta_lexicon *lx, const char *name, const char *text, size_t len,
		     char *err, size_t errlen);
/* The valence of a (normalised) token, 0 when absent. */
double ta_lexicon_get(const struct ta_lexicon *lx, const char *tok, size_t len);
void ta_lexicon_free(struct ta_lexicon *lx);

/* ---- results ---------------------------------------------------------------- */

struct ta_hit {
	const char *list, *category, *phrase;
	int channel;
	int64_t start_ms, end_ms;
	size_t first_word, last_word; /* indices into the words */
};
struct ta_missing {
	const char *list, *category;
	int party;
};
struct ta_utt {
	int channel;
	int64_t start_ms, end_ms;
	size_t first_word, last_word;
	double sum;      /* the summed valence */
	double compound; /* sum / sqrt(sum^2 + 15) */
	unsigned scored; /* words with a valence */
};
struct ta_sentiment {
	struct ta_utt *utt;
	size_t nutt;
	double party[2]; /* mean compound of the party's scored utterances */
	unsigned party_utts[2];
	double call;     /* mean compound of all scored utterances */
	unsigned call_utts;
};
struct ta_span {
	const char *kind; /* "card" or a pattern's kind */
	int channel;
	int64_t start_ms, end_ms;
	size_t first_word, last_word;
	unsigned ndigits;
};

struct ta_result {
	struct ta_hit *hits;
	size_t nhits;
	struct ta_missing *missing;
	size_t nmissing;
	struct ta_sentiment sent;
	bool have_sent;
	struct ta_span *spans;
	size_t nspans;
	struct ta_word *masked; /* a copy of the words, digits of spans masked */
	size_t nmasked;
	struct es_arena a;      /* masked texts */
};

/* Every analysis: keywords (cfg's lists), sentiment (when lx is not NULL),
 * sensitive numbers (cfg's patterns and cards).  cfg may be NULL (no
 * keywords, cards only).  ES_ENOMEM; out is zeroed first and is freed with
 * ta_result_free whatever the outcome. */
int ta_analyse(const struct ta_config *cfg, const struct ta_lexicon *lx, const struct ta_word *w,
	       size_t n, struct ta_result *out);
/* The parts on their own (the others do what ta_analyse does). */
int ta_keywords(const struct ta_config *cfg, const struct ta_word *w, size_t n,
		struct ta_result *out);
int ta_sentiment(const struct ta_lexicon *lx, const struct ta_word *w, size_t n,
		 struct ta_sentiment *out);
void ta_sentiment_free(struct ta_sentiment *s);
int ta_numbers(const struct ta_config *cfg, const struct ta_word *w, size_t n,
	       struct ta_result *out);
void ta_result_free(struct ta_result *r);

/* ---- normalisers (exposed for tests and fuzzing) --------------------------- */

/* The digits a spoken word stands for: "five" "5" "oh" "zero" "4532" into
 * out (up to cap), *mult set to 2/3 for "double"/"triple" (then 0 digits).
 * Returns the number of digits, or -1 when the word is not a number word. */
int ta_digit_word(const char *text, char *out, size_t cap, int *mult);
/* A word's text for matching: ASCII letters lowered, characters that are
 * not letters, digits, bytes >= 0x80 or inner apostrophes dropped; into
 * out (NUL-terminated, truncated to cap-1).  Returns its length. */
size_t ta_norm_word(const char *text, char *out, size_t cap);
/* Luhn (ISO/IEC 7812-1 annex B) over n ASCII digits. */
bool ta_luhn(const char *digits, size_t n);

/* ---- words as JSON (the CLI and tests) -------------------------------------- */

/* Parse [{"text":..,"start_ms":..,"end_ms":..,"conf":..,"channel":..}, ...]
 * or {"words": [...]} from text[0..len).  Unknown keys are skipped.
 * *w and each text are malloc'd (ta_words_free).  ES_EPARSE with
 * "offset N: why" in err, ES_ELIMIT past TA_MAX_WORDS words, ES_ENOMEM;
 * *w is NULL and *n 0 on error. */
#define TA_MAX_WORDS 1000000
int ta_words_parse(const char *text, size_t len, struct ta_word **w, size_t *n, char *err,
		   size_t errlen);
void ta_words_free(struct ta_word *w, size_t n);

/* The keyword hits and the missing required lists of r as JSON arrays
 * (the caller writes the key before each): [{"list","category","phrase",
 * "party","start_ms","end_ms"}] and [{"list","category","party"}], party
 * "caller", "callee" or "any".  The CLI's output and the call's "speech". */
struct es_json;
void ta_hits_json(struct es_json *j, const struct ta_result *r);
void ta_missing_json(struct es_json *j, const struct ta_result *r);
const char *ta_party_name(int channel);

#endif /* ES_ANALYTICS_TEXTAN_H */
