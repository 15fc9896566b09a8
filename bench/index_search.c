/*
 * index_search.c - search latency of the index layer itself, for either
 * engine: the searches gen_index --queries wrote (QUERY_STRING<TAB>SQL a
 * line; only the query string is used), each run through idx_calls_list
 * as the API runs it (oldest first, the page's calls with their streams
 * and recordings), timed one at a time.  Prints n, mean, p50, p95, p99.
 *
 *   index_search INDEX QUERIES [--runs N] [--each FILE]
 * INDEX: a SQLite file or a PostgreSQL URL (index.h).  --each writes a
 * line per search: rows, a digest of the rows' Call-IDs in order, the
 * milliseconds and the query, so that two engines' answers can be
 * compared (bench/index_pg.sh) and the slow searches found.
 */
#include "core/core.h"
#include "index/index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct seen {
	unsigned n;
	uint64_t digest; /* FNV-1a over the Call-IDs in list order */
};

static int count(void *ud, const struct idx_call *c)
{
	struct seen *s = ud;
	s->n++;
	for (const char *p = c->call_id; p && *p; p++)
		s->digest = (s->digest ^ (unsigned char)*p) * 1099511628211ull;
	s->digest = (s->digest ^ '\n') * 1099511628211ull;
	return 0;
}

/* %XX and '+' of a query string value, in place. */
static void unescape(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (*s == '%' && s[1] && s[2]) {
			char hex[3] = {s[1], s[2], 0};
			*o++ = (char)strtol(hex, NULL, 16);
			s += 2;
		} else {
			*o++ = *s == '+' ? ' ' : *s;
		}
	}
	*o = '\0';
}

static int cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: index_search INDEX QUERIES [--runs N]\n");
		return 2;
	}
	unsigned runs = 1;
	FILE *each = NULL;
	for (int i = 3; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--runs"))
			runs = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--each") && !(each = fopen(argv[i + 1], "w"))) {
			perror(argv[i + 1]);
			return 1;
		}
	}
	char err[512];
	struct idx *ix = NULL;
	if (idx_open(&ix, argv[1], err, sizeof(err))) {
		fprintf(stderr, "index_search: %s\n", err);
		return 1;
	}
	FILE *f = fopen(argv[2], "r");
	if (!f) {
		perror(argv[2]);
		return 1;
	}
	size_t cap = 4096, n = 0;
	int64_t *lat = malloc(cap * sizeof(*lat));
	char line[4096];
	uint64_t rows = 0;
	int rc = 0;
	while (lat && !rc && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\t\n")] = '\0';
		char query[4096];
		snprintf(query, sizeof(query), "%s", line);
		struct idx_filter fl = {0};
		char *save = NULL;
		for (char *kv = strtok_r(line, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
			char *v = strchr(kv, '=');
			if (!v)
				continue;
			*v++ = '\0';
			unescape(v);
			if (!strcmp(kv, "party"))
				fl.party = v;
			else if (!strcmp(kv, "from"))
				es_time_parse(v, &fl.from_us);
			else if (!strcmp(kv, "to"))
				es_time_parse(v, &fl.to_us);
			else if (!strcmp(kv, "outcome"))
				fl.outcome = v;
			else if (!strcmp(kv, "min_duration"))
				fl.min_duration_us = atoll(v) * ES_US_PER_SEC;
			else if (!strcmp(kv, "tag"))
				fl.tag = v;
			else if (!strcmp(kv, "limit"))
				fl.limit = (unsigned)atoi(v);
		}
		for (unsigned r = 0; r < runs && !rc; r++) {
			struct seen got = {0, 14695981039346656037ull};
			int64_t t = es_mono_us();
			rc = idx_calls_list(ix, &fl, count, &got);
			if (n == cap && !(lat = realloc(lat, (cap *= 2) * sizeof(*lat))))
				break;
			lat[n++] = es_mono_us() - t;
			rows += got.n;
			if (each)
				fprintf(each, "%u\t%016llx\t%.2f\t%s\n", got.n,
					(unsigned long long)got.digest, (double)lat[n - 1] / 1e3, query);
		}
	}
	fclose(f);
	if (each)
		fclose(each);
	if (rc || !lat || !n) {
		fprintf(stderr, "index_search: %s\n", rc ? idx_errmsg(ix) : "no searches");
		idx_close(ix);
		return 1;
	}
	int64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += lat[i];
	qsort(lat, n, sizeof(*lat), cmp);
	printf("%s: %zu searches, %.1f rows each; mean %.2f ms, p50 %.2f ms, p95 %.2f ms, "
	       "p99 %.2f ms\n",
	       idx_engine_name(ix), n, (double)rows / (double)n, (double)total / (double)n / 1e3,
	       (double)lat[n / 2] / 1e3, (double)lat[n * 95 / 100] / 1e3,
	       (double)lat[n * 99 / 100] / 1e3);
	free(lat);
	idx_close(ix);
	return 0;
}
