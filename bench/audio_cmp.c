/*
 * audio_cmp.c - compares one channel of a recording with the source audio it
 * should carry (the sources gen_calls puts in RTP with --audio-caller and
 * --audio-callee), for fidelity tests.
 *
 * Model: rec[n] ~ gain * ref[ref_start + n - lag], the reference looping
 * (as gen_calls loops it) unless --no-loop.  The lag is searched in
 * expect +- max-lag: first on 1 ms energy envelopes (normalized
 * correlation), then at sample resolution around the best envelope lag.
 */
#include "core/core.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen/wav.c"

#define TAG "audio_cmp"

struct cmp_opts {
	const char *ref_path, *rec_path;
	unsigned channel;
	double ref_start_s, expect_s, max_lag_s;
	double loop_samples; /* 0: the reference's length */
	bool json, loop;
};

struct cmp_result {
	int64_t lag;
	double corr, snr_db, segsnr_db, gain;
	uint64_t exact, compared;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: audio_cmp --ref SRC.wav --rec REC.wav [options]\n"
		"Finds where the reference (mono; else its first channel) lies in one\n"
		"channel of the recording and measures how faithfully it is there.\n"
		"Both are 16-bit PCM WAV; the reference is resampled to the\n"
		"recording's rate when they differ.\n"
		"\n"
		"  --channel N          the recording's channel (default 0)\n"
		"  --ref-start-s X      the reference starts X s into the file (default 0)\n"
		"  --expect-offset-s Y  the reference's start is expected Y s into the\n"
		"                       recording (default 0); the lag is searched within\n"
		"  --max-lag-s M        Y +- M s (default 2)\n"
		"  --ref-loop-samples N the reference loops every N samples of its own\n"
		"                       rate, silence after its end (gen_calls pads its\n"
		"                       sources to whole ptimes: the truth's\n"
		"                       options.audio.<party>.loop_samples)\n"
		"  --no-loop            the reference plays once (default: it loops)\n"
		"  --json               one JSON object instead of text\n"
		"\n"
		"Reports lag_samples (rec[n] ~ gain * ref[start + n - lag]), lag_s,\n"
		"correlation (Pearson over the compared samples in 10 ms blocks where\n"
		"either side is above -60 dBFS), snr_db (signal over the residue after\n"
		"the best gain), segsnr_db (the mean of 20 ms frames' SNR where the\n"
		"reference is active, each clamped to -10..35 dB), exact_samples (equal\n"
		"at gain 1), compared_samples, rate.\n"
		"Exit status: 0 done, 1 I/O error, 2 usage.\n");
}

static bool num_arg(const char *s, double *v)
{
	char *end;
	errno = 0;
	double d = strtod(s, &end);
	if (errno || end == s || *end || d != d)
		return false;
	*v = d;
	return true;
}

static int parse_opts(int argc, char **argv, struct cmp_opts *o)
{
	enum { O_REF = 256, O_REC, O_CH, O_START, O_EXPECT, O_MAXLAG, O_JSON, O_NOLOOP, O_LOOPN };
	static const struct option lopts[] = {
		{"ref", required_argument, NULL, O_REF},
		{"rec", required_argument, NULL, O_REC},
		{"channel", required_argument, NULL, O_CH},
		{"ref-start-s", required_argument, NULL, O_START},
		{"expect-offset-s", required_argument, NULL, O_EXPECT},
		{"max-lag-s", required_argument, NULL, O_MAXLAG},
		{"json", no_argument, NULL, O_JSON},
		{"no-loop", no_argument, NULL, O_NOLOOP},
		{"ref-loop-samples", required_argument, NULL, O_LOOPN},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof(*o));
	o->max_lag_s = 2;
	o->loop = true;
	double v;
	int ch;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (ch) {
		case O_REF: o->ref_path = optarg; break;
		case O_REC: o->rec_path = optarg; break;
		case O_CH:
			if (!num_arg(optarg, &v) || v < 0 || v > 63 || v != floor(v))
				goto bad;
			o->channel = (unsigned)v;
			break;
		case O_START:
			if (!num_arg(optarg, &o->ref_start_s) || o->ref_start_s < 0)
				goto bad;
			break;
		case O_EXPECT:
			if (!num_arg(optarg, &o->expect_s) || fabs(o->expect_s) > 86400)
				goto bad;
			break;
		case O_MAXLAG:
			if (!num_arg(optarg, &o->max_lag_s) || o->max_lag_s < 0 || o->max_lag_s > 600)
				goto bad;
			break;
		case O_JSON: o->json = true; break;
		case O_NOLOOP: o->loop = false; break;
		case O_LOOPN:
			if (!num_arg(optarg, &o->loop_samples) || o->loop_samples < 1 ||
			    o->loop_samples > 1e9 || o->loop_samples != floor(o->loop_samples))
				goto bad;
			break;
		case 'h': usage(stdout); exit(0);
		default: goto bad;
		}
	}
	if (optind < argc || !o->ref_path || !o->rec_path)
		goto bad;
	return 0;
bad:
	usage(stderr);
	return 2;
}

/* The reference as the recording should hold it at lags lo..hi: buf[j] is
 * ref[start + j - hi] (looped, or 0 outside it), for j in 0..n+hi-lo. */
static int16_t *ref_window(const int16_t *ref, size_t len, size_t start, bool loop, int64_t lo,
			   int64_t hi, size_t n, size_t *out_n)
{
	size_t m = n + (size_t)(hi - lo);
	int16_t *b = malloc(m * 2 + 2);
	if (!b)
		return NULL;
	for (size_t j = 0; j < m; j++) {
		int64_t k = (int64_t)start + (int64_t)j - hi;
		if (loop) {
			k %= (int64_t)len;
			if (k < 0)
				k += (int64_t)len;
			b[j] = ref[k];
		} else {
			b[j] = k >= 0 && k < (int64_t)len ? ref[k] : 0;
		}
	}
	*out_n = m;
	return b;
}

/* Sum of |x| over blocks of bs samples. */
static float *envelope(const int16_t *x, size_t n, size_t bs, size_t *nb)
{
	*nb = n / bs;
	float *e = malloc((*nb + 1) * sizeof(*e));
	if (!e)
		return NULL;
	for (size_t b = 0; b < *nb; b++) {
		int32_t s = 0;
		for (size_t i = 0; i < bs; i++)
			s += abs(x[b * bs + i]);
		e[b] = (float)s;
	}
	return e;
}

/* Normalized correlation of a (na blocks, mean removed, unit variance) with
 * b shifted by d blocks; pb, pbb: prefix sums of b and b*b, so that a lag
 * costs one dot product (four sums, for the pipeline). */
static double env_corr(const float *a, size_t na, const float *b, const double *pb,
		       const double *pbb, size_t d)
{
	float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	const float *bd = b + d;
	size_t k = 0;
	for (; k + 4 <= na; k += 4) {
		s0 += a[k] * bd[k];
		s1 += a[k + 1] * bd[k + 1];
		s2 += a[k + 2] * bd[k + 2];
		s3 += a[k + 3] * bd[k + 3];
	}
	for (; k < na; k++)
		s0 += a[k] * bd[k];
	double sb = pb[d + na] - pb[d], sbb = pbb[d + na] - pbb[d];
	double vb = sbb - sb * sb / (double)na;
	return vb > 0 ? ((double)s0 + s1 + s2 + s3) / sqrt(vb) : 0;
}

/* Plain dot-product correlation at sample lag (w = ref_window at hi). */
static double sample_corr(const int16_t *rec, size_t n, const int16_t *w, int64_t hi, int64_t lag)
{
	const int16_t *r = w + (hi - lag);
	int64_t sab = 0;
	double sbb = 0;
	for (size_t i = 0; i < n; i++) {
		sab += (int64_t)rec[i] * r[i];
		sbb += (double)r[i] * r[i];
	}
	return sbb > 0 ? (double)sab / sqrt(sbb) : 0;
}

static bool block_active(const int16_t *x, size_t n)
{
	double e = 0;
	for (size_t i = 0; i < n; i++)
		e += (double)x[i] * x[i];
	return e / (double)n > 32768.0 * 32768.0 * 1e-6; /* -60 dBFS */
}

/* The figures at lag over the active 10 ms blocks. */
/* Segmental SNR: the mean over 20 ms frames where the reference is active
 * of each frame's SNR (after the best gain), each clamped to [-10, 35] dB,
 * so that silent and perfect frames do not dominate as in the whole-signal
 * figure. */
static double segsnr(const int16_t *rec, const int16_t *r, size_t n0, size_t n, uint32_t rate,
		     double gain)
{
	size_t fs = rate / 50;
	double sum = 0;
	size_t frames = 0;
	for (size_t f0 = n0; fs && f0 + fs <= n; f0 += fs) {
		if (!block_active(r + f0, fs))
			continue;
		double sig = 0, noise = 0;
		for (size_t i = f0; i < f0 + fs; i++) {
			double x = gain * r[i], e = rec[i] - x;
			sig += x * x;
			noise += e * e;
		}
		double db = noise <= 0 ? 35.0 : sig <= 0 ? -10.0 : 10 * log10(sig / noise);
		sum += db > 35.0 ? 35.0 : db < -10.0 ? -10.0 : db;
		frames++;
	}
	return frames ? sum / (double)frames : 0.0;
}

static void measure(const int16_t *rec, size_t n0, size_t n, const int16_t *w, int64_t hi,
		    int64_t lag, uint32_t rate, struct cmp_result *res)
{
	const int16_t *r = w + (hi - lag);
	size_t bs = rate / 100;
	double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
	uint64_t cnt = 0, exact = 0;
	for (size_t b0 = n0; b0 < n; b0 += bs) {
		size_t m = ES_MIN(bs, n - b0);
		if (!block_active(rec + b0, m) && !block_active(r + b0, m))
			continue;
		for (size_t i = b0; i < b0 + m; i++) {
			double x = r[i], y = rec[i];
			sa += x;
			sb += y;
			saa += x * x;
			sbb += y * y;
			sab += x * y;
			exact += rec[i] == r[i];
		}
		cnt += m;
	}
	res->lag = lag;
	res->compared = cnt;
	res->exact = exact;
	res->corr = 0;
	res->gain = 0;
	res->snr_db = 0;
	res->segsnr_db = 0;
	if (!cnt)
		return;
	double va = saa - sa * sa / (double)cnt, vb = sbb - sb * sb / (double)cnt;
	res->corr = va > 0 && vb > 0 ? (sab - sa * sb / (double)cnt) / sqrt(va * vb) : 0;
	res->gain = saa > 0 ? sab / saa : 0;
	double sig = res->gain * res->gain * saa;
	double noise = sbb - 2 * res->gain * sab + res->gain * res->gain * saa;
	res->snr_db = noise <= 0 ? 200.0 : sig <= 0 ? -200.0 : 10 * log10(sig / noise);
	if (res->snr_db > 200)
		res->snr_db = 200;
	res->segsnr_db = segsnr(rec, r, n0, n, rate, res->gain);
}

int main(int argc, char **argv)
{
	struct cmp_opts o;
	int rc = parse_opts(argc, argv, &o);
	if (rc)
		return rc;
	struct wav ref, rec;
	char err[400];
	if (wav_read(o.ref_path, &ref, err, sizeof(err))) {
		fprintf(stderr, TAG ": %s\n", err);
		return 1;
	}
	if (wav_read(o.rec_path, &rec, err, sizeof(err))) {
		fprintf(stderr, TAG ": %s\n", err);
		wav_free(&ref);
		return 1;
	}
	rc = 1;
	int16_t *r = NULL, *x = NULL, *w = NULL;
	float *ea = NULL, *eb = NULL;
	double *pb = NULL, *pbb = NULL;
	if (o.channel >= rec.channels) {
		fprintf(stderr, TAG ": %s has %u channel(s)\n", o.rec_path, rec.channels);
		rc = 2;
		goto out;
	}
	uint32_t rate = rec.rate;
	size_t n = rec.frames, rn = ref.frames;
	x = malloc(n * 2 + 2);
	r = malloc(rn * 2 + 2);
	if (!x || !r)
		goto oom;
	for (size_t i = 0; i < n; i++)
		x[i] = rec.pcm[i * rec.channels + o.channel];
	for (size_t i = 0; i < rn; i++)
		r[i] = ref.pcm[i * ref.channels];
	if (o.loop_samples > 0) {
		size_t ln = (size_t)o.loop_samples;
		int16_t *p = realloc(r, ln * 2 + 2);
		if (!p)
			goto oom;
		r = p;
		for (size_t i = rn; i < ln; i++)
			r[i] = 0;
		rn = ln;
	}
	if (ref.rate != rate) {
		int16_t *rs = wav_resample(r, rn, ref.rate, rate, 5, &rn);
		free(r);
		r = rs;
		if (!r)
			goto oom;
	}
	size_t start = (size_t)llround(o.ref_start_s * rate);
	if (rn == 0 || n < rate / 10 || start >= rn) {
		fprintf(stderr, TAG ": too little audio to compare\n");
		goto out;
	}
	int64_t ex = llround(o.expect_s * rate), ml = llround(o.max_lag_s * rate);
	int64_t lo = ex - ml, hi = ex + ml;
	size_t wn;
	w = ref_window(r, rn, start, o.loop, lo, hi, n, &wn);
	if (!w)
		goto oom;

	/* coarse: 1 ms envelopes; lag = hi - d * bs keeps the block grids aligned */
	size_t bs = ES_MAX((size_t)1, (size_t)rate / 1000), na, nb;
	ea = envelope(x, n, bs, &na);
	eb = envelope(w, wn, bs, &nb);
	if (!ea || !eb)
		goto oom;
	pb = malloc((nb + 1) * sizeof(*pb));
	pbb = malloc((nb + 1) * sizeof(*pbb));
	if (!pb || !pbb)
		goto oom;
	pb[0] = pbb[0] = 0;
	for (size_t k = 0; k < nb; k++) {
		pb[k + 1] = pb[k] + eb[k];
		pbb[k + 1] = pbb[k] + (double)eb[k] * eb[k];
	}
	/* the recording's envelope: mean removed, unit variance */
	double sa = 0, saa = 0;
	for (size_t k = 0; k < na; k++) {
		sa += ea[k];
		saa += (double)ea[k] * ea[k];
	}
	double mean = na ? sa / (double)na : 0, va = saa - sa * mean;
	for (size_t k = 0; k < na; k++)
		ea[k] = va > 0 ? (float)((ea[k] - mean) / sqrt(va)) : 0;
	int64_t best = ex;
	double bestc = -2;
	for (size_t d = 0; (int64_t)(d * bs) <= hi - lo && d + na <= nb; d++) {
		double c = env_corr(ea, na, eb, pb, pbb, d);
		if (c > bestc) {
			bestc = c;
			best = hi - (int64_t)(d * bs);
		}
	}
	/* fine: every sample lag around it */
	int64_t f0 = ES_MAX(lo, best - 3 * (int64_t)bs - 4), f1 = ES_MIN(hi, best + 3 * (int64_t)bs + 4);
	double bestf = -INFINITY;
	int64_t lag = best;
	for (int64_t l = f0; l <= f1; l++) {
		double c = sample_corr(x, n, w, hi, l);
		if (c > bestf) {
			bestf = c;
			lag = l;
		}
	}
	struct cmp_result res;
	/* --no-loop: only where the reference plays */
	size_t n0 = 0, n1 = n;
	if (!o.loop) {
		int64_t a = ES_MAX((int64_t)0, lag), b = ES_MIN((int64_t)n, lag + (int64_t)(rn - start));
		n0 = (size_t)ES_MIN(a, (int64_t)n);
		n1 = (size_t)ES_MAX(b, (int64_t)n0);
	}
	measure(x, n0, n1, w, hi, lag, rate, &res);
	if (o.json)
		printf("{\"lag_samples\": %lld, \"lag_s\": %.6f, \"correlation\": %.6f, "
		       "\"snr_db\": %.3f, \"segsnr_db\": %.3f, \"gain\": %.6f, "
		       "\"exact_samples\": %llu, \"compared_samples\": %llu, \"rate\": %u}\n",
		       (long long)res.lag, (double)res.lag / rate, res.corr, res.snr_db,
		       res.segsnr_db, res.gain,
		       (unsigned long long)res.exact, (unsigned long long)res.compared, rate);
	else
		printf("lag %lld samples (%.6f s), correlation %.4f, SNR %.2f dB, segmental SNR "
		       "%.2f dB, gain %.4f, %llu of %llu samples exact, %u Hz\n",
		       (long long)res.lag, (double)res.lag / rate, res.corr, res.snr_db,
		       res.segsnr_db, res.gain,
		       (unsigned long long)res.exact, (unsigned long long)res.compared, rate);
	rc = 0;
	goto out;
oom:
	fprintf(stderr, TAG ": out of memory\n");
out:
	free(ea);
	free(eb);
	free(pb);
	free(pbb);
	free(w);
	free(r);
	free(x);
	wav_free(&ref);
	wav_free(&rec);
	return rc;
}
