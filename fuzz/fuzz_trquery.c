/* fuzz_trquery.c - libFuzzer harness for the transcript search's parser
 * and in-memory matcher (src/index/trblind.c): the input's first line is a
 * search text as GET /api/calls?text= passes it (idx_tr_match), the rest
 * split at blanks into timed words that idx_tr_hits_words marks.  Checks:
 * the normal form parses to itself, at most IDX_TR_HITS_MAX times in
 * ascending order, every snippet is a string. */
#include "index/index.h"

#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 4096

static int see(void *ud, const struct idx_tr_hit *h)
{
	(void)ud;
	if (!h->snippet || h->nat > IDX_TR_HITS_MAX || h->nat == 0)
		abort();
	for (unsigned i = 1; i < h->nat; i++)
		if (h->at_ms[i] < h->at_ms[i - 1])
			abort();
	return (int)strlen(h->snippet) < 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	struct idx_tr_word *w = calloc(MAX_WORDS, sizeof(*w));
	if (!buf || !w)
		goto out;
	memcpy(buf, data, size);
	buf[size] = '\0';
	char *nl = strchr(buf, '\n');
	char *rest = nl ? nl + 1 : buf + size;
	if (nl)
		*nl = '\0';
	char *m = idx_tr_match(buf);
	if (m) {
		/* the understood form is itself a search that means the same */
		char *again = idx_tr_match(m);
		if (!again || strcmp(again, m))
			abort();
		free(again);
		free(m);
	}
	size_t n = 0;
	for (char *save = NULL, *t = strtok_r(rest, " \t\r\n", &save); t && n < MAX_WORDS;
	     t = strtok_r(NULL, " \t\r\n", &save)) {
		w[n].w = t;
		w[n].start_ms = (int64_t)n * 300;
		n++;
	}
	idx_tr_hits_words(buf, 0, w, n, see, NULL);
out:
	free(buf);
	free(w);
	return 0;
}
