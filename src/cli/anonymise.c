/* anonymise.c - `earshot export ID --anonymise caller|callee|both`: the
 * plaintext recording read back, the chosen channels through the McAdams
 * transform (analytics/anonymise.h), written in the asked format. */
#include "analytics/anonymise.h"
#include "cli/cli.h"
#include "media/media.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ANON_CHUNK 4096

int cli_anon_parse_which(const char *s, unsigned *mask)
{
	if (!strcmp(s, "caller"))
		*mask = 1;
	else if (!strcmp(s, "callee"))
		*mask = 2;
	else if (!strcmp(s, "both"))
		*mask = 3;
	else
		return ES_EINVAL;
	return 0;
}

int cli_anon_parse_alpha(const char *s, double *lo, double *hi)
{
	char *end;
	*lo = strtod(s, &end);
	*hi = *lo;
	if (end != s && *end == ':') {
		const char *h = end + 1;
		*hi = strtod(h, &end);
		if (end == h)
			return ES_EINVAL;
	}
	if (end == s || *end || !(*lo >= AN_ALPHA_MIN && *hi <= AN_ALPHA_MAX && *lo <= *hi))
		return ES_EINVAL;
	return 0;
}

double cli_anon_pick_alpha(double lo, double hi)
{
	if (hi <= lo)
		return lo;
	/* uniform in [lo, hi] from the system's CSPRNG: the export's receiver
	 * must not be able to guess it and invert the warp */
	return lo + (hi - lo) * (double)randombytes_uniform(1000001) / 1e6;
}

int cli_anon_file(const char *in, const char *out, enum media_format fmt, bool mix,
		  unsigned mask, double alpha, char *err, size_t errlen)
{
	struct media_reader *r = NULL;
	struct media_writer *w = NULL;
	struct an_anon *st[2] = {NULL, NULL};
	int16_t *pcm = NULL, *res = NULL;
	int rc = media_reader_open(&r, in, err, errlen);
	if (rc)
		return rc;
	unsigned ch = media_reader_channels(r);
	uint32_t rate = media_reader_rate(r);
	if (ch == 1 && mask != 3) {
		snprintf(err, errlen, "the recording is a mono mix of both parties: only "
			 "--anonymise both applies to it");
		rc = ES_EINVAL;
		goto out;
	}
	for (unsigned c = 0; c < ch; c++)
		if ((mask & (1u << c)) && (rc = an_anon_new(&st[c], rate, alpha, 0))) {
			snprintf(err, errlen, "cannot anonymise audio at %u Hz: %s", rate,
				 es_strerror(rc));
			goto out;
		}
	size_t hop = st[0] ? an_anon_hop(st[0]) : an_anon_hop(st[1]);
	pcm = malloc(ANON_CHUNK * ch * sizeof(*pcm));
	res = calloc((ANON_CHUNK + 2 * hop) * ch, sizeof(*res));
	if (!pcm || !res) {
		rc = ES_ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	struct media_writer_opts wo = {.opus_complexity = -1};
	if ((rc = media_writer_open(&w, out, fmt, rate, mix ? 1 : ch, &wo, err, errlen)))
		goto out;
	/* An untouched channel is delayed by one hop too, so both channels
	 * come out of the same frame counts (a queue of hop samples). */
	int16_t *delay = calloc(hop * 2 + ANON_CHUNK, sizeof(*delay));
	size_t held = 0;
	bool end = false;
	if (!delay) {
		rc = ES_ENOMEM;
		goto out;
	}
	while (!rc && !end) {
		long n = media_reader_read(r, pcm, ANON_CHUNK);
		if (n < 0) {
			rc = (int)n;
			snprintf(err, errlen, "%s: damaged recording: %s", in, es_strerror(rc));
			break;
		}
		size_t got = 0;
		if (n == 0) {
			end = true;
			for (unsigned c = 0; c < ch; c++)
				got = st[c] ? an_anon_flush(st[c], res + c, ch) : got;
		} else {
			for (unsigned c = 0; c < ch; c++)
				got = st[c] ? an_anon_push(st[c], pcm + c, (size_t)n, ch, res + c) : got;
		}
		/* the untouched channel: what went in, aligned with what came out */
		for (unsigned c = 0; c < ch; c++) {
			if (st[c])
				continue;
			for (size_t i = 0; i < (size_t)n; i++)
				delay[held + i] = pcm[i * ch + c];
			held += (size_t)n;
			size_t take = end ? held : got;
			for (size_t i = 0; i < take && i < held; i++)
				res[i * ch + c] = delay[i];
			memmove(delay, delay + take, (held - take) * sizeof(*delay));
			held -= take;
		}
		if (mix && ch == 2)
			for (size_t i = 0; i < got; i++)
				res[i] = (int16_t)(((int32_t)res[2 * i] + res[2 * i + 1]) / 2);
		if (got && (rc = media_writer_write(w, res, got)))
			snprintf(err, errlen, "%s: %s", out, es_strerror(rc));
	}
	free(delay);
	if (!rc) {
		rc = media_writer_close(w, NULL, err, errlen);
		w = NULL;
		if (rc)
			unlink(out);
	}
out:
	if (w) {
		media_writer_abort(w);
	}
	for (unsigned c = 0; c < 2; c++)
		an_anon_free(st[c]);
	if (pcm)
		sodium_memzero(pcm, ANON_CHUNK * ch * sizeof(*pcm));
	free(pcm);
	free(res);
	media_reader_close(r);
	return rc;
}
