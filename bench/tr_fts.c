/*
 * tr_fts.c - transcript text search latency of the index layer (either
 * engine: SQLite FTS5 or PostgreSQL's GIN tsvector, index/transcripts.c):
 * generated transcripts entered through idx_transcript_put, then
 * idx_calls_list with a text filter, as the search API runs it (a page of
 * 50), timed one search at a time per kind (a common word, a rare word, a
 * phrase, a prefix, one party's words, two words within a month) and
 * idx_tr_hits_words on one transcript's words (a page's hits: the API
 * decrypts each listed call's words file and marks them in memory).  The
 * index is the blind one (index/trblind.c) under a fixed bench key.
 * INDEX is a SQLite file or a PostgreSQL URL (idx_open); the same seed
 * gives both engines the same transcripts and the same searches
 * (bench/tr_fts.sh runs both and compares the calls found).
 *
 *   tr_fts INDEX --fill N [--batch B]
 *                             N transcripts (two per call: the first N/2
 *                             calls' caller and callee; calls made first
 *                             by gen_index), words from a generated
 *                             vocabulary of 5,000 with Zipf-like
 *                             frequencies and a few planted phrases; B
 *                             transcripts a transaction (default 5,000)
 *   tr_fts INDEX [--runs R] [--each FILE]
 *                             R searches of each kind (default 40):
 *                             n, p50, p95, p99 and mean rows, ms; FILE
 *                             gets a line a search: kind, query, the
 *                             calls found in order, ms (tab-separated)
 */
#include "core/core.h"
#include "index/index.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define VOCAB 5000
#define WORDS_PER_TR 300 /* about two minutes of one party's speech */
/* gen_index's first day (2026-06-01T00:00:00Z) and its 183 days of calls */
#define GI_EPOCH_US (INT64_C(1780272000) * ES_US_PER_SEC)
#define DAY_US (INT64_C(86400) * ES_US_PER_SEC)

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static char vocab[VOCAB][12];
static double cdf[VOCAB];

/* Pronounceable made-up words; word k has weight 1/(k+1) (Zipf s = 1). */
static void vocab_init(void)
{
	static const char *const c = "bcdfghjklmnprstvwz", *const v = "aeiou";
	double sum = 0;
	for (int k = 0; k < VOCAB; k++) {
		uint64_t x = (uint64_t)k * 2654435761u + 12345;
		int syl = 1 + k % 3, n = 0;
		for (int s = 0; s < syl + 1; s++) {
			vocab[k][n++] = c[x % 18];
			x /= 18;
			vocab[k][n++] = v[x % 5];
			x /= 5;
		}
		snprintf(vocab[k] + n, sizeof(vocab[k]) - (size_t)n, "%d", k % 10);
		sum += 1.0 / (k + 1);
		cdf[k] = sum;
	}
	for (int k = 0; k < VOCAB; k++)
		cdf[k] /= sum;
}

static int pick(void)
{
	double u = (double)(rnd() >> 11) / 9007199254740992.0;
	int lo = 0, hi = VOCAB - 1;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const char *const planted[] = {"cancel my account", "refund please", "speak to a manager"};

static int fill(struct idx *ix, long n, long batch)
{
	vocab_init();
	char *text = malloc(WORDS_PER_TR * 16), *times = malloc(WORDS_PER_TR * 12);
	if (!text || !times)
		return 1;
	int64_t t0 = es_mono_us();
	for (long i = 0; i < n; i++) {
		if (i % batch == 0 && idx_begin(ix))
			return 1;
		size_t tl = 0, ml = 0;
		for (int w = 0; w < WORDS_PER_TR; w++) {
			const char *word = vocab[pick()];
			/* one transcript in 50 says a planted phrase somewhere */
			if (w == 100 && rnd() % 50 == 0)
				word = planted[rnd() % 3];
			tl += (size_t)sprintf(text + tl, "%s%s", w ? " " : "", word);
			ml += (size_t)sprintf(times + ml, "%s%d", w ? "," : "", w * 400);
		}
		struct idx_transcript t = {.call_row = i / 2 + 1, .channel = (int)(i % 2),
					   .engine = "whisper", .words = WORDS_PER_TR,
					   .times = times, .text = text, .created_us = 1};
		int rc = idx_transcript_put(ix, &t);
		if (rc) {
			fprintf(stderr, "tr_fts: call %ld: %s\n", i / 2 + 1, idx_errmsg(ix));
			return 1;
		}
		if (i % batch == batch - 1 || i == n - 1) {
			if (idx_commit(ix))
				return 1;
		}
	}
	double secs = (double)(es_mono_us() - t0) / 1e6;
	/* the CPU this process used (on a shared machine the wall time is
	 * mostly waiting; PostgreSQL's server CPU is not in it) */
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		     (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	printf("filled %ld transcripts in %.1f s (%.2f ms each, %ld a transaction), %.1f s CPU"
	       " (%.2f ms each)\n",
	       n, secs, n ? secs * 1e3 / (double)n : 0, batch, cpu, n ? cpu * 1e3 / (double)n : 0);
	free(text);
	free(times);
	return 0;
}

struct seen {
	unsigned n;
	char ids[50 * 21]; /* the page's call ids, comma-separated */
	size_t len;
};

static int count(void *ud, const struct idx_call *c)
{
	struct seen *s = ud;
	s->n++;
	if (s->len + 22 < sizeof(s->ids))
		s->len += (size_t)snprintf(s->ids + s->len, sizeof(s->ids) - s->len, "%s%lld",
					   s->len ? "," : "", (long long)c->id);
	return 0;
}

/* Transcript i's words again (fill's sequence from the same seed). */
static char words[WORDS_PER_TR][32];
static struct idx_tr_word tw[WORDS_PER_TR];

static int hit(void *ud, const struct idx_tr_hit *h)
{
	(void)h;
	(*(unsigned *)ud)++;
	return 0;
}

static int cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void report(const char *kind, int64_t *lat, unsigned n, uint64_t rows)
{
	qsort(lat, n, sizeof(*lat), cmp);
	printf("%-22s n=%-3u p50 %7.2f ms  p95 %7.2f ms  p99 %7.2f ms  rows %.1f\n", kind, n,
	       lat[n / 2] / 1e3, lat[(n * 95) / 100] / 1e3, lat[(n * 99) / 100] / 1e3,
	       (double)rows / n);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: tr_fts INDEX [--fill N [--batch B] | --runs R [--each FILE]]\n");
		return 2;
	}
	long nfill = 0, batch = 5000;
	unsigned runs = 40;
	const char *each = NULL;
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--fill"))
			nfill = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--batch"))
			batch = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--runs"))
			runs = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--each"))
			each = argv[i + 1];
	}
	char err[512];
	struct idx *ix = NULL;
	if (idx_open(&ix, argv[1], err, sizeof(err))) {
		fprintf(stderr, "tr_fts: %s\n", err);
		return 1;
	}
	static const uint8_t bench_key[IDX_TR_KEY_BYTES] = {1, 2, 3};
	idx_set_search_key(ix, bench_key);
	if (nfill) {
		int rc = fill(ix, nfill, batch > 0 ? batch : 1);
		idx_close(ix);
		return rc;
	}
	vocab_init();
	int64_t *lat = calloc(runs, sizeof(*lat));
	FILE *ef = each ? fopen(each, "w") : NULL;
	if (!lat || !runs || (each && !ef)) {
		fprintf(stderr, "tr_fts: %s\n", each && !ef ? each : "out of memory");
		return 1;
	}
	static const char *const kinds[] = {"common word", "rare word",      "phrase",
					    "prefix",      "caller's words", "two words in a month",
					    "hits on a call"};
	for (size_t k = 0; k < ES_ARRAY_LEN(kinds); k++) {
		uint64_t rows = 0;
		for (unsigned r = 0; r < runs; r++) {
			char q[128];
			int party = 0;
			int64_t from = 0, to = 0;
			switch (k) {
			case 0: snprintf(q, sizeof(q), "%s", vocab[r % 20]); break;
			case 1: snprintf(q, sizeof(q), "%s", vocab[VOCAB - 1 - r * 7]); break;
			case 2: snprintf(q, sizeof(q), "\"%s\"", planted[r % 3]); break;
			case 3: snprintf(q, sizeof(q), "%.3s*", vocab[50 + r]); break;
			case 4: snprintf(q, sizeof(q), "%s", vocab[100 + r]); party = IDX_CALLER + 1; break;
			case 5:
				/* a middling word and a rarer one, one of six months */
				snprintf(q, sizeof(q), "%s %s", vocab[30 + r], vocab[400 + 3 * r]);
				from = GI_EPOCH_US + (int64_t)(r % 6) * 30 * DAY_US;
				to = from + 30 * DAY_US;
				break;
			default: snprintf(q, sizeof(q), "%s", vocab[200 + r]); break;
			}
			struct idx_filter f = {.text = q, .text_party = party, .limit = 50,
					       .from_us = from, .to_us = to};
			struct seen s = {0};
			int64_t t = es_mono_us();
			int rc = idx_calls_list(ix, &f, count, &s);
			if (!rc && k == 6) {
				/* the hits in one transcript's 300 words, in memory */
				for (int w = 0; w < WORDS_PER_TR; w++) {
					snprintf(words[w], sizeof(words[w]), "%s",
						 w % 7 ? vocab[pick()] : vocab[200 + r]);
					tw[w] = (struct idx_tr_word){.w = words[w], .start_ms = w * 400};
				}
				unsigned nh = 0;
				t = es_mono_us();
				rc = idx_tr_hits_words(q, 0, tw, WORDS_PER_TR, hit, &nh);
				s.n = nh;
			}
			lat[r] = es_mono_us() - t;
			if (rc) {
				fprintf(stderr, "tr_fts: %s: %s\n", q, idx_errmsg(ix));
				return 1;
			}
			rows += s.n;
			if (ef && k != 6)
				fprintf(ef, "%s\t%s\t%s\t%.2f\n", kinds[k], q, s.ids, lat[r] / 1e3);
		}
		report(kinds[k], lat, runs, rows);
	}
	free(lat);
	if (ef && fclose(ef)) {
		fprintf(stderr, "tr_fts: %s: write failed\n", each);
		return 1;
	}
	idx_close(ix);
	return 0;
}
