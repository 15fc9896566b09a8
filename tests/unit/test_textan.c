/*
 * test_textan.c - src/analytics/textan: keyword spotting (phrases across
 * words, wildcards, party, required phrases missing), sentiment (negation,
 * boosters, "but", utterance splits) with a hand-made lexicon and with the
 * real VADER lexicon fetched by scripts/fetch-lexicon, spoken card numbers
 * ("double", "oh", digits across words, Luhn) and configured patterns, the
 * configuration's errors and the words' JSON reader.
 */
#include "analytics/textan.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>

/* Words of one channel from a blank-separated sentence: each 300 ms long,
 * 100 ms apart, from t0; a "|" token adds a 1 s pause.  Texts point into a
 * static copy. */
static size_t mk(struct ta_word *w, size_t at, int ch, int64_t t0, const char *sentence)
{
	static char store[8][1024];
	static int slot;
	char *s = store[slot++ % 8];
	snprintf(s, 1024, "%s", sentence);
	int64_t t = t0;
	for (char *tok = strtok(s, " "); tok; tok = strtok(NULL, " ")) {
		if (!strcmp(tok, "|")) {
			t += 1000;
			continue;
		}
		w[at] = (struct ta_word){tok, t, t + 300, 0.9f, ch};
		at++;
		t += 400;
	}
	return at;
}

static int conf_from(struct ta_config *cfg, const char *text, char *err, size_t errlen)
{
	struct es_conf c;
	int rc = es_conf_parse(&c, "test.conf", text, err, errlen);
	if (rc)
		return rc;
	rc = ta_config_load(cfg, &c, err, errlen);
	es_conf_free(&c);
	return rc;
}

static const char *const kw_conf =
	"[keywords disclosure]\n"
	"category = disclosure\n"
	"phrases = this call is recorded, call may be recorded\n"
	"required = yes\n"
	"party = callee\n"
	"[keywords rivals]\n"
	"category = competitor\n"
	"phrases = acme tel*, Globex\n"
	"[keywords complaint]\n"
	"category = complaint\n"
	"phrases = speak to your manager, cancel*\n"
	"party = caller\n"
	"[keywords greeting]\n"
	"phrases = thank you for calling\n"
	"required = yes\n";

static void test_keywords(void)
{
	struct ta_config cfg;
	char err[256] = "";
	CHECK_INT(conf_from(&cfg, kw_conf, err, sizeof(err)), 0);
	CHECK_INT(cfg.nlists, 4);
	struct ta_word w[64];
	size_t n = 0;
	/* callee: the disclosure split over words with punctuation and case */
	n = mk(w, n, 1, 0, "Hello, THIS call... is recorded. for quality");
	/* caller: a competitor with the wildcard, a complaint, Globex */
	n = mk(w, n, 0, 3000, "I'll switch to ACME Telecom or globex!");
	n = mk(w, n, 0, 7000, "let me speak to your manager I want to cancellation");
	/* callee says "cancel": the complaint list is for the caller only */
	n = mk(w, n, 1, 12000, "do not cancel");
	struct ta_result r;
	memset(&r, 0, sizeof(r));
	CHECK_INT(ta_keywords(&cfg, w, n, &r), 0);
	CHECK_INT(r.nhits, 5);
	int seen = 0;
	for (size_t i = 0; i < r.nhits; i++) {
		const struct ta_hit *h = &r.hits[i];
		if (!strcmp(h->phrase, "this call is recorded")) {
			seen |= 1;
			CHECK_INT(h->channel, 1);
			CHECK_INT(h->start_ms, 400);  /* "THIS" */
			CHECK_INT(h->end_ms, 1900);   /* "recorded." */
			CHECK_STR(h->category, "disclosure");
		} else if (!strcmp(h->phrase, "acme tel*")) {
			seen |= 2;
			CHECK_INT(h->start_ms, 4200);
			CHECK_INT(h->end_ms, 4900);
			CHECK_STR(h->category, "competitor");
		} else if (!strcmp(h->phrase, "Globex")) {
			seen |= 4;
		} else if (!strcmp(h->phrase, "speak to your manager")) {
			seen |= 8;
			CHECK_INT(h->channel, 0);
			CHECK_INT(h->start_ms, 7800);
			CHECK_INT(h->end_ms, 9300);
		} else if (!strcmp(h->phrase, "cancel*")) {
			seen |= 16;
			CHECK_INT(h->channel, 0); /* not the callee's "cancel" */
		}
	}
	CHECK_INT(seen, 31);
	/* the greeting never came: a missing required phrase; the disclosure did */
	CHECK_INT(r.nmissing, 1);
	CHECK_STR(r.missing[0].list, "greeting");
	CHECK_INT(r.missing[0].party, TA_PARTY_ANY);
	ta_result_free(&r);

	/* the disclosure said by the caller does not count for the callee */
	n = mk(w, 0, 0, 0, "this call is recorded");
	memset(&r, 0, sizeof(r));
	CHECK_INT(ta_keywords(&cfg, w, n, &r), 0);
	CHECK_INT(r.nmissing, 2);
	CHECK_STR(r.missing[0].list, "disclosure");
	CHECK_STR(r.missing[0].category, "disclosure");
	CHECK_INT(r.missing[0].party, 1);
	ta_result_free(&r);
	ta_config_free(&cfg);
}

static void test_config_errors(void)
{
	struct ta_config cfg;
	char err[256] = "";
	CHECK_INT(conf_from(&cfg, "[keywords x]\nparty = boss\nphrases = a\n", err, sizeof(err)),
		  ES_EPARSE);
	CHECK(strstr(err, "test.conf:2: party") != NULL);
	CHECK_INT(conf_from(&cfg, "[keywords x]\ncategory = c\n", err, sizeof(err)), ES_EPARSE);
	CHECK(strstr(err, "[keywords x] has no phrases") != NULL);
	CHECK_INT(conf_from(&cfg, "[keywords x]\nphrases = a\nweight = 3\n", err, sizeof(err)),
		  ES_EPARSE);
	CHECK(strstr(err, "weight") != NULL);
	CHECK_INT(conf_from(&cfg, "[keywords x]\nphrases = ... , a\n", err, sizeof(err)), ES_EPARSE);
	CHECK(strstr(err, "has no words") != NULL);
	CHECK_INT(conf_from(&cfg, "[redact_speech]\npatterns = account\\d{8}\n", err, sizeof(err)),
		  ES_EPARSE);
	CHECK(strstr(err, "test.conf:2: patterns: expected KIND:PATTERN") != NULL);
	CHECK_INT(conf_from(&cfg, "[redact_speech]\npatterns = id:\\d{9,3}\n", err, sizeof(err)),
		  ES_EPARSE);
	CHECK(strstr(err, "offset") != NULL);
	CHECK_INT(conf_from(&cfg, "[redact_speech]\npatterns = id:\\w+\n", err, sizeof(err)),
		  ES_EPARSE);
	CHECK_INT(conf_from(&cfg, "[redact_speech]\ncards = maybe\n", err, sizeof(err)), ES_EPARSE);
	CHECK_INT(conf_from(&cfg, "[sentiment]\nlexicon = /x/lex.txt\n[redact_speech]\ncards = no\n",
			    err, sizeof(err)),
		  0);
	CHECK_STR(cfg.lexicon, "/x/lex.txt");
	CHECK(!cfg.cards);
	ta_config_free(&cfg);
}

static void test_patterns(void)
{
	struct ta_pattern p;
	char err[128];
	CHECK_INT(ta_pattern_parse("\\d{8}", &p, err, sizeof(err)), 0);
	CHECK(ta_pattern_match(&p, "12345678", 8));
	CHECK(!ta_pattern_match(&p, "1234567", 7));
	CHECK(!ta_pattern_match(&p, "123456789", 9));
	CHECK_INT(ta_pattern_parse("4\\d{2,3}[0-5]?9", &p, err, sizeof(err)), 0);
	CHECK(ta_pattern_match(&p, "4129", 4));
	CHECK(ta_pattern_match(&p, "41239", 5));
	CHECK(ta_pattern_match(&p, "412359", 6));
	CHECK(!ta_pattern_match(&p, "412399", 6));
	CHECK(!ta_pattern_match(&p, "5129", 4));
	CHECK(!ta_pattern_match(&p, "41", 2));
	CHECK_INT(ta_pattern_parse("", &p, err, sizeof(err)), ES_EPARSE);
	CHECK_INT(ta_pattern_parse("\\d{65}", &p, err, sizeof(err)), ES_EPARSE);
	CHECK(ta_luhn("4532015112830366", 16));
	CHECK(!ta_luhn("4532015112830367", 16));
	CHECK(ta_luhn("79927398713", 11)); /* the ISO/IEC 7812 annex's example */
}

static void test_digit_words(void)
{
	char d[8];
	int m;
	CHECK_INT(ta_digit_word("Five,", d, sizeof(d), &m), 1);
	CHECK_INT(d[0], '5');
	CHECK_INT(ta_digit_word("oh", d, sizeof(d), &m), 1);
	CHECK_INT(d[0], '0');
	CHECK_INT(ta_digit_word("zero", d, sizeof(d), &m), 1);
	CHECK_INT(ta_digit_word("4532", d, sizeof(d), &m), 4);
	CHECK_INT(ta_digit_word("double", d, sizeof(d), &m), 0);
	CHECK_INT(m, 2);
	CHECK_INT(ta_digit_word("Triple", d, sizeof(d), &m), 0);
	CHECK_INT(m, 3);
	CHECK_INT(ta_digit_word("card", d, sizeof(d), &m), -1);
	CHECK_INT(ta_digit_word("123456789", d, sizeof(d), &m), -1); /* does not fit */
}

/* 4532 0151 1283 0366 (Luhn-valid), read aloud with "double", "oh" and
 * a group of digits, then a non-Luhn 16-digit number that must stay. */
static void test_card_numbers(void)
{
	struct ta_word w[96];
	size_t n = 0;
	n = mk(w, n, 0, 0, "my card is four five three two oh one five double one two eight "
			   "three zero three double six thanks");
	size_t card_end = n;
	n = mk(w, n, 0, 12000, "and four five three two 0151 1283 0367 is the other one");
	n = mk(w, n, 1, 20000, "your account is one two three four five six seven eight right");
	struct ta_config cfg;
	char err[256] = "";
	CHECK_INT(conf_from(&cfg, "[redact_speech]\npatterns = account:\\d{8}\n", err, sizeof(err)),
		  0);
	struct ta_result r;
	memset(&r, 0, sizeof(r));
	CHECK_INT(ta_numbers(&cfg, w, n, &r), 0);
	CHECK_INT(r.nspans, 2);
	CHECK_STR(r.spans[0].kind, "card");
	CHECK_INT(r.spans[0].channel, 0);
	CHECK_INT(r.spans[0].ndigits, 16);
	CHECK_INT(r.spans[0].start_ms, 1200);            /* "four" */
	CHECK_INT(r.spans[0].end_ms, w[card_end - 2].end_ms); /* "six" */
	CHECK_STR(r.spans[1].kind, "account");
	CHECK_INT(r.spans[1].channel, 1);
	CHECK_INT(r.spans[1].ndigits, 8);
	CHECK_INT(r.nmasked, n);
	CHECK_STR(r.masked[2].text, "is");
	CHECK_STR(r.masked[3].text, "#");      /* four */
	CHECK_STR(r.masked[7].text, "#");      /* oh */
	CHECK_STR(r.masked[10].text, "#");     /* double */
	CHECK_STR(r.masked[card_end - 1].text, "thanks");
	/* the non-Luhn number is left as it was said */
	CHECK_STR(r.masked[card_end + 5].text, "0151");
	CHECK_STR(r.masked[card_end + 7].text, "0367");
	CHECK_STR(w[3].text, "four"); /* the input is untouched */
	ta_result_free(&r);

	/* cards = no: the card stays, the account is still found */
	ta_config_free(&cfg);
	CHECK_INT(conf_from(&cfg, "[redact_speech]\ncards = no\npatterns = account:\\d{8}\n", err,
			    sizeof(err)),
		  0);
	memset(&r, 0, sizeof(r));
	CHECK_INT(ta_numbers(&cfg, w, n, &r), 0);
	CHECK_INT(r.nspans, 1);
	ta_result_free(&r);
	ta_config_free(&cfg);

	/* a pause of over 3 s breaks the number: two halves are no card */
	n = mk(w, 0, 0, 0, "four five three two oh one five one | | | one two eight three oh "
			   "three six six");
	memset(&r, 0, sizeof(r));
	CHECK_INT(ta_numbers(NULL, w, n, &r), 0);
	CHECK_INT(r.nspans, 0);
	ta_result_free(&r);
}

/* A lexicon of our own, so that the rules are tested on known values. */
static const char mini_lex[] = "good\t1.9\t0.9\t[1]\n"
			       "great\t3.1\t0.7\t[3]\n"
			       "bad\t-2.5\t0.6\t[-2]\n"
			       "terrible\t-2.1\t0.8\t[-2]\n"
			       "helpful\t1.8\t0.5\t[2]\n";

static double cmp(double x) { return x / sqrt(x * x + 15); }

#define CHECK_NEAR(a, b) \
	do { \
		double check_x_ = (a), check_y_ = (b); \
		check_count++; \
		if (!(fabs(check_x_ - check_y_) <= 1e-6)) { \
			check_failures++; \
			fprintf(stderr, "%s:%d: CHECK failed: %s ~ %s (%.6f != %.6f)\n", __FILE__, \
				__LINE__, #a, #b, check_x_, check_y_); \
		} \
	} while (0)

static void test_sentiment_rules(void)
{
	struct ta_lexicon lx;
	char err[256];
	CHECK_INT(ta_lexicon_parse(&lx, "mini", mini_lex, strlen(mini_lex), err, sizeof(err)), 0);
	CHECK_INT(lx.n, 5);
	struct ta_word w[64];
	size_t n = 0;
	n = mk(w, n, 0, 0, "that was good");                        /* plain */
	n = mk(w, n, 0, 2000, "that was not good");                 /* negated */
	n = mk(w, n, 0, 5000, "never was it good");                 /* 3 words back */
	n = mk(w, n, 0, 8000, "not that it was good");              /* 4 back: no */
	n = mk(w, n, 1, 8200, "very good");                         /* channel change */
	n = mk(w, n, 1, 10000, "good but terrible");                /* but */
	n = mk(w, n, 1, 13000, "hello there");                      /* no valence */
	n = mk(w, n, 1, 14500, "it is hardly helpful");             /* pause 800 before */
	struct ta_sentiment s;
	CHECK_INT(ta_sentiment(&lx, w, n, &s), 0);
	CHECK_INT(s.nutt, 8);
	CHECK_NEAR(s.utt[0].sum, 1.9);
	CHECK_NEAR(s.utt[0].compound, cmp(1.9));
	CHECK_NEAR(s.utt[1].sum, 1.9 * -0.74);
	CHECK_NEAR(s.utt[2].sum, 1.9 * -0.74);
	CHECK_NEAR(s.utt[3].sum, 1.9);
	CHECK_INT(s.utt[4].channel, 1);
	CHECK_NEAR(s.utt[4].sum, 1.9 + 0.293);
	CHECK_NEAR(s.utt[5].sum, 1.9 * 0.5 - 2.1 * 1.5);
	CHECK_INT(s.utt[6].scored, 0);
	CHECK_NEAR(s.utt[7].sum, 1.8 - 0.293);
	CHECK_INT(s.utt[7].start_ms, 14500);
	CHECK_INT(s.party_utts[0], 4);
	CHECK_INT(s.party_utts[1], 3);
	double p0 = (cmp(1.9) * 2 + cmp(1.9 * -0.74) * 2) / 4;
	CHECK_NEAR(s.party[0], p0);
	CHECK_INT(s.call_utts, 7);
	ta_sentiment_free(&s);
	ta_lexicon_free(&lx);

	CHECK_INT(ta_lexicon_parse(&lx, "bad.txt", "good 1.9\n", 9, err, sizeof(err)), ES_EPARSE);
	CHECK(strstr(err, "bad.txt:1:") != NULL);
	CHECK_INT(ta_lexicon_parse(&lx, "bad.txt", "good\tx\n", 7, err, sizeof(err)), ES_EPARSE);
	CHECK_INT(ta_lexicon_load(&lx, "/nonexistent/lex.txt", err, sizeof(err)), ES_ENOTFOUND);
}

/* The real lexicon (scripts/fetch-lexicon, from the npm registry). */
static void test_sentiment_vader(void)
{
	const char *path = getenv("ES_VADER_LEXICON");
	char def[512];
	snprintf(def, sizeof(def), "%s/build/lexicon/vader_lexicon.txt", ES_SOURCE_DIR);
	if (!path)
		path = def;
	struct ta_lexicon lx;
	char err[256];
	int rc = ta_lexicon_load(&lx, path, err, sizeof(err));
	if (rc == ES_ENOTFOUND) {
		fprintf(stderr, "test_textan: SKIP the VADER lexicon part: %s (run scripts/fetch-lexicon)\n",
			err);
		return;
	}
	CHECK_INT(rc, 0);
	CHECK(lx.n > 7000);
	struct ta_word w[64];
	size_t n = 0;
	n = mk(w, n, 1, 0, "thank you so much that is really helpful");
	n = mk(w, n, 0, 3000, "this is not good I am very angry and disappointed");
	n = mk(w, n, 0, 8000, "the service was okay but the wait was terrible");
	struct ta_sentiment s;
	CHECK_INT(ta_sentiment(&lx, w, n, &s), 0);
	CHECK_INT(s.nutt, 3);
	CHECK(s.utt[0].compound > 0.5);
	CHECK(s.utt[1].compound < -0.5);
	CHECK(s.utt[2].compound < 0);   /* "but" puts the weight on the wait */
	CHECK(s.party[1] > 0 && s.party[0] < 0);
	ta_sentiment_free(&s);
	ta_lexicon_free(&lx);
}

static void test_words_json(void)
{
	const char *j = "{\"language\":\"en\",\"words\":[{\"text\":\"four\",\"start_ms\":0,"
			"\"end_ms\":300,\"conf\":0.5,\"channel\":1,\"x\":[1,{\"y\":null}]},"
			"{\"word\":\"caf\\u00e9\",\"start_ms\":400,\"end_ms\":700}]}";
	struct ta_word *w;
	size_t n;
	char err[128];
	CHECK_INT(ta_words_parse(j, strlen(j), &w, &n, err, sizeof(err)), 0);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_STR(w[0].text, "four");
		CHECK_INT(w[0].channel, 1);
		CHECK_INT(w[0].end_ms, 300);
		CHECK_STR(w[1].text, "caf\xc3\xa9");
		CHECK_INT(w[1].channel, 0);
	}
	ta_words_free(w, n);
	static const char *const bad[] = {
		"[{\"start_ms\":0}]", "[{\"text\":\"a\",\"channel\":2}]", "[{\"text\":\"a\"}",
		"[{\"text\":\"a\",\"start_ms\":5,\"end_ms\":1}]", "{\"calls\":[]}", "[] x",
		"[{\"text\":\"\\u0000\"}]", "[{\"text\":\"\\ud800\"}]", "",
	};
	for (size_t i = 0; i < ES_ARRAY_LEN(bad); i++) {
		CHECK_INT(ta_words_parse(bad[i], strlen(bad[i]), &w, &n, err, sizeof(err)), ES_EPARSE);
		CHECK(w == NULL && n == 0);
		CHECK(strstr(err, "offset") != NULL);
	}
}

/* Everything at once, through ta_analyse. */
static void test_analyse(void)
{
	struct ta_config cfg;
	char err[256] = "";
	CHECK_INT(conf_from(&cfg, kw_conf, err, sizeof(err)), 0);
	struct ta_lexicon lx;
	CHECK_INT(ta_lexicon_parse(&lx, "mini", mini_lex, strlen(mini_lex), err, sizeof(err)), 0);
	struct ta_word w[64];
	size_t n = mk(w, 0, 1, 0, "thank you for calling this call is recorded");
	n = mk(w, n, 0, 5000, "great my number is four five three two oh one five double one "
			      "two eight three zero three double six");
	struct ta_result r;
	CHECK_INT(ta_analyse(&cfg, &lx, w, n, &r), 0);
	CHECK_INT(r.nmissing, 0);
	CHECK_INT(r.nhits, 2);
	CHECK(r.have_sent);
	CHECK(r.sent.party[0] > 0);
	CHECK_INT(r.nspans, 1);
	ta_result_free(&r);
	CHECK_INT(ta_analyse(&cfg, &lx, w, 0, &r), 0);
	CHECK_INT(r.nmissing, 2);
	ta_result_free(&r);
	ta_lexicon_free(&lx);
	ta_config_free(&cfg);
}

int main(void)
{
	test_keywords();
	test_config_errors();
	test_patterns();
	test_digit_words();
	test_card_numbers();
	test_sentiment_rules();
	test_sentiment_vader();
	test_words_json();
	test_analyse();
	printf("test_textan: %d checks, %d failed\n", check_count, check_failures);
	return check_failures ? 1 : 0;
}
