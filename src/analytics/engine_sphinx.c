/*
 * engine_sphinx.c - the built-in, offline speech engine (transcribe.h):
 * CMU pocketsphinx (Debian's 0.8+5prealpha with its US-English model),
 * run in the transcription worker's own process.  No audio leaves the
 * machine.  docs/SPEECH.md has the measured accuracy and speed.
 *
 * The model is a folder (`[transcription] model`): the acoustic model's
 * files with their feat.params, plus model.dict and model.lm.bin (links to
 * the packaged dictionary and language model; the packaged ones are used
 * when absent).  feat.params decides the sample rate the model takes
 * (-samprate, 16000 when not set) and the engine resamples the channel to
 * it (speexdsp).  That file overrides the command line and the C API
 * alike, which is why the telephone variants are copies of the model with
 * an edited feat.params (tr_sphinx_prepare) and not settings.
 *
 * A channel is cut into utterances by the talk metrics' voice activity
 * detector (talk.h), each decoded whole (full_utt: with "-cmn batch" its
 * cepstral mean is the utterance's own, with "-cmn live" it starts from
 * -cmninit and follows the audio); word times are the utterance's start
 * plus the decoder's 10 ms frames, so they are exact to the frame.
 *
 * Built only when CMake finds pocketsphinx (ES_HAVE_POCKETSPHINX); without
 * it the engine is absent and tr_sphinx_prepare says so.
 */
#include "analytics/transcribe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The telephone variants: edits of the stock model's feat.params.  The
 * -cmninit of "16k-cmn" is the mean cepstrum (C0..C12, the model's own
 * front end, every 10 ms frame) of the eleven real recordings of
 * ../shared/speech in G.711 form, upsampled to 16 kHz
 * (bench/sphinx_wer.py --estimate-cmn prints it; docs/SPEECH.md). */
static const struct sphinx_variant {
	const char *name;
	const char *edits[4][2]; /* key, value */
} variants[] = {
	{"8k", {{"-upperf", "3500"}, {"-samprate", "8000"}, {"-nfft", "256"}}},
	{"16k", {{NULL, NULL}}},
	{"16k-live", {{"-cmn", "live"}}},
	{"16k-cmn",
	 {{"-cmn", "live"},
	  {"-cmninit", "45.53,30.34,-35.86,44.27,-22.51,0.49,11.81,-28.81,22.01,-12.59,0.17,9.19,-15.14"}}},
};
#define SPHINX_DEFAULT_VARIANT "16k"

/* The packaged model's files (Debian: pocketsphinx-en-us). */
#ifndef ES_SPHINX_MODELDIR
#define ES_SPHINX_MODELDIR "/usr/share/pocketsphinx/model"
#endif
#define STOCK_AM ES_SPHINX_MODELDIR "/en-us/en-us"
#define STOCK_DICT ES_SPHINX_MODELDIR "/en-us/cmudict-en-us.dict"
#define STOCK_LM ES_SPHINX_MODELDIR "/en-us/en-us.lm.bin"

static const char *const am_files[] = {"feat.params", "mdef", "means", "variances",
				       "transition_matrices", "sendump", "noisedict"};

const char *tr_sphinx_default_variant(void)
{
	return SPHINX_DEFAULT_VARIANT;
}

/* ---- the model copy ------------------------------------------------------------------ */

static const struct sphinx_variant *variant_find(const char *name)
{
	for (size_t i = 0; i < ES_ARRAY_LEN(variants); i++)
		if (!strcmp(variants[i].name, name))
			return &variants[i];
	return NULL;
}

/* feat.params with the variant's edits: a key's line is replaced, a key
 * not there is appended. */
static int edit_params(const struct es_buf *in, const struct sphinx_variant *v,
		       struct es_buf *out)
{
	bool done[4] = {false};
	const char *p = (const char *)in->p, *end = p + in->len;
	int rc = 0;
	while (!rc && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		bool replaced = false;
		for (int i = 0; i < 4 && v->edits[i][0]; i++) {
			size_t kl = strlen(v->edits[i][0]);
			if (n > kl && !memcmp(p, v->edits[i][0], kl) && (p[kl] == ' ' || p[kl] == '\t')) {
				rc = es_buf_printf(out, "%s %s\n", v->edits[i][0], v->edits[i][1]);
				done[i] = replaced = true;
				break;
			}
		}
		if (!rc && !replaced && n) {
			rc = es_buf_append(out, p, n);
			if (!rc)
				rc = es_buf_append(out, "\n", 1);
		}
		p += n + 1;
	}
	for (int i = 0; !rc && i < 4 && v->edits[i][0]; i++)
		if (!done[i])
			rc = es_buf_printf(out, "%s %s\n", v->edits[i][0], v->edits[i][1]);
	return rc;
}

static int write_file(const char *path, const void *p, size_t n, char *err, size_t errlen)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return es_errf(err, errlen, ES_EIO, "%s: %s", path, strerror(errno));
	bool ok = fwrite(p, 1, n, f) == n;
	ok = !fclose(f) && ok;
	return ok ? 0 : es_errf(err, errlen, ES_EIO, "%s: %s", path, strerror(errno));
}

int tr_sphinx_prepare(const char *dir, const char *variant, char *err, size_t errlen)
{
	if (!variant)
		variant = SPHINX_DEFAULT_VARIANT;
	const struct sphinx_variant *v = variant_find(variant);
	if (!v)
		return es_errf(err, errlen, ES_EINVAL,
			       "no model variant '%.40s' (8k, 16k, 16k-live, 16k-cmn)", variant);
	struct stat st;
	if (stat(STOCK_AM "/mdef", &st))
		return es_errf(err, errlen, ES_ENOTFOUND,
			       "%s: no pocketsphinx model (Debian: pocketsphinx-en-us)", STOCK_AM);
	char tmp[4200], path[4300], src[4300];
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp%ld", dir, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return es_errf(err, errlen, ES_ELIMIT, "model folder name too long");
	if (!stat(dir, &st))
		return es_errf(err, errlen, ES_EEXIST, "%s exists: remove it to make it again", dir);
	if (es_mkdirs(tmp, true))
		return es_errf(err, errlen, ES_EIO, "%s: %s", tmp, strerror(errno));
	int rc = 0;
	struct es_buf in, out;
	es_buf_init(&in);
	es_buf_init(&out);
	for (size_t i = 0; !rc && i < ES_ARRAY_LEN(am_files); i++) {
		snprintf(src, sizeof(src), "%s/%s", STOCK_AM, am_files[i]);
		snprintf(path, sizeof(path), "%s/%s", tmp, am_files[i]);
		in.len = out.len = 0;
		if ((rc = es_read_file(src, &in))) {
			rc = es_errf(err, errlen, rc, "%s: %s", src, strerror(errno));
			break;
		}
		if (!i && (rc = edit_params(&in, v, &out)))
			break;
		rc = i ? write_file(path, in.p, in.len, err, errlen)
		       : write_file(path, out.p, out.len, err, errlen);
	}
	/* the dictionary and the language model are not edited: links */
	const char *links[][2] = {{STOCK_DICT, "model.dict"}, {STOCK_LM, "model.lm.bin"}};
	for (size_t i = 0; !rc && i < ES_ARRAY_LEN(links); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmp, links[i][1]);
		if (symlink(links[i][0], path))
			rc = es_errf(err, errlen, ES_EIO, "%s: %s", path, strerror(errno));
	}
	snprintf(path, sizeof(path), "%s/VARIANT", tmp);
	if (!rc)
		rc = write_file(path, v->name, strlen(v->name), err, errlen);
	if (!rc && rename(tmp, dir))
		rc = es_errf(err, errlen, ES_EIO, "%s: %s", dir, strerror(errno));
	if (rc) { /* leave nothing half made */
		for (size_t i = 0; i < ES_ARRAY_LEN(am_files); i++) {
			snprintf(path, sizeof(path), "%s/%s", tmp, am_files[i]);
			unlink(path);
		}
		const char *extra[] = {"model.dict", "model.lm.bin", "VARIANT"};
		for (size_t i = 0; i < ES_ARRAY_LEN(extra); i++) {
			snprintf(path, sizeof(path), "%s/%s", tmp, extra[i]);
			unlink(path);
		}
		rmdir(tmp);
	}
	es_buf_free(&in);
	es_buf_free(&out);
	return rc;
}

#ifdef ES_HAVE_POCKETSPHINX

#include "analytics/talk.h"

#include <pocketsphinx.h>
#include <sphinxbase/cmn.h>
#include <sphinxbase/feat.h>
#include <speex/speex_resampler.h>

#define SPX_FRAME_MS 10          /* -frate 100 (the model's) */
#define SPX_PAD_MS 200           /* context kept around each detected stretch of speech */
#define SPX_JOIN_MS 300          /* stretches closer than this are one utterance */
#define SPX_UTT_MAX_MS 30000     /* a longer utterance is cut (search cost grows with it) */
#define SPX_RESAMPLE_QUALITY 5   /* speexdsp: 0..10 */

bool tr_sphinx_available(void)
{
	return true;
}

/* The -samprate of a feat.params (16000 when absent). */
static int model_rate(const char *dir, uint32_t *rate, char *err, size_t errlen)
{
	char path[4300];
	snprintf(path, sizeof(path), "%s/feat.params", dir);
	struct es_buf b;
	es_buf_init(&b);
	int rc = es_read_file(path, &b);
	if (rc) {
		es_buf_free(&b);
		return es_errf(err, errlen, rc == ES_ENOTFOUND ? ES_EINVAL : rc,
			       "%s: %s (make the model with earshot transcribe --prepare-model)",
			       path, rc == ES_ENOTFOUND ? "no such file" : strerror(errno));
	}
	*rate = 16000;
	if (!(rc = es_buf_append(&b, "", 1))) {
		const char *s = strstr((const char *)b.p, "-samprate");
		if (s) {
			long r = strtol(s + 9, NULL, 10);
			if (r < 8000 || r > 48000)
				rc = es_errf(err, errlen, ES_EINVAL, "%s: -samprate %ld", path, r);
			else
				*rate = (uint32_t)r;
		}
	}
	es_buf_free(&b);
	return rc;
}

/* path in the model folder if it exists, else the packaged file. */
static void model_file(const char *dir, const char *name, const char *stock, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", dir, name);
	if (access(out, R_OK))
		snprintf(out, cap, "%s", stock);
}

/* The channel at the model's rate (malloc'd *out). */
static int resample(const int16_t *pcm, size_t frames, uint32_t from, uint32_t to, int16_t **out,
		    size_t *nout)
{
	*out = NULL;
	*nout = 0;
	size_t cap = (size_t)((double)frames * to / from) + 1024;
	int16_t *o = malloc(cap * sizeof(*o));
	if (!o)
		return ES_ENOMEM;
	int e = 0;
	SpeexResamplerState *rs = speex_resampler_init(1, from, to, SPX_RESAMPLE_QUALITY, &e);
	if (!rs) {
		free(o);
		return ES_ENOMEM;
	}
	size_t in_done = 0, out_done = 0;
	while (in_done < frames && out_done < cap) {
		spx_uint32_t il = (spx_uint32_t)ES_MIN(frames - in_done, (size_t)1 << 20);
		spx_uint32_t ol = (spx_uint32_t)ES_MIN(cap - out_done, (size_t)1 << 22);
		speex_resampler_process_int(rs, 0, pcm + in_done, &il, o + out_done, &ol);
		in_done += il;
		out_done += ol;
		if (!il && !ol)
			break;
	}
	speex_resampler_destroy(rs);
	*out = o;
	*nout = out_done;
	return 0;
}

/* A word of the decoder's dictionary as earshot stores it: fillers and
 * sentence marks dropped, "word(2)" (an alternative pronunciation) as
 * "word". */
static bool keep_word(const char *w, size_t *len)
{
	if (!w || !*w || *w == '<' || *w == '[' || *w == '+' || !strcmp(w, "(NULL)"))
		return false;
	size_t n = strlen(w);
	const char *par = strchr(w, '(');
	*len = par && par > w ? (size_t)(par - w) : n;
	return true;
}

/* Decode one utterance pcm[0..n) that starts at t0_ms; words onto out. */
static int decode_utt(ps_decoder_t *ps, const int16_t *pcm, size_t n, int64_t t0_ms,
		      struct tr_text *out, char *err, size_t errlen)
{
	if (ps_start_utt(ps) < 0)
		return es_errf(err, errlen, ES_EIO, "pocketsphinx: cannot start an utterance");
	if (ps_process_raw(ps, pcm, n, FALSE, TRUE) < 0) {
		ps_end_utt(ps);
		return es_errf(err, errlen, ES_EIO, "pocketsphinx: decoding failed at %lld ms",
			       (long long)t0_ms);
	}
	if (ps_end_utt(ps) < 0)
		return es_errf(err, errlen, ES_EIO, "pocketsphinx: cannot end an utterance");
	int32 score;
	if (!ps_get_hyp(ps, &score)) /* nothing recognised; also computes the posteriors */
		return 0;
	logmath_t *lm = ps_get_logmath(ps);
	int rc = 0;
	for (ps_seg_t *s = ps_seg_iter(ps); s; s = ps_seg_next(s)) {
		size_t len = 0;
		const char *w = ps_seg_word(s);
		if (!keep_word(w, &len))
			continue;
		int sf = 0, ef = 0;
		ps_seg_frames(s, &sf, &ef);
		int32 a, l, b;
		/* a posterior; rounding in the log domain can put it a hair over 1 */
		double conf = ES_MIN(logmath_exp(lm, ps_seg_prob(s, &a, &l, &b)), 1.0);
		rc = tr_text_add(out, w, len, t0_ms + (int64_t)sf * SPX_FRAME_MS,
				 t0_ms + (int64_t)(ef + 1) * SPX_FRAME_MS, conf);
		if (rc) {
			ps_seg_free(s);
			return es_errf(err, errlen, rc, "out of memory");
		}
	}
	return 0;
}

/* The stretches of speech in pcm (the talk metrics' detector), padded and
 * joined, as sample ranges; malloc'd *segs of 2 * *n values. */
static int utterances(const int16_t *pcm, size_t frames, uint32_t rate, size_t **segs,
		      size_t *n)
{
	*segs = NULL;
	*n = 0;
	struct an_talk t;
	int rc = an_talk_init(&t, rate);
	if (rc)
		return rc;
	for (size_t i = 0; i < frames; i += 8192) {
		size_t k = ES_MIN((size_t)8192, frames - i);
		an_talk_feed(&t, pcm + i, pcm + i, k);
	}
	struct an_talk_metrics m;
	if ((rc = an_talk_finish(&t, &m))) {
		an_talk_free(&t);
		return rc;
	}
	const struct an_vad *v = &t.ch[0];
	size_t max = (size_t)SPX_UTT_MAX_MS * rate / 1000, cap = 0, k = 0;
	size_t *s = NULL;
	for (uint32_t i = 0; i < v->nsegs; i++) {
		size_t a = (size_t)ES_MAX((int64_t)v->segs[i].start_ms - SPX_PAD_MS, 0) * rate / 1000;
		size_t b = ES_MIN((size_t)(v->segs[i].end_ms + SPX_PAD_MS) * rate / 1000, frames);
		if (k && a <= s[2 * k - 1] + (size_t)SPX_JOIN_MS * rate / 1000 &&
		    b - s[2 * k - 2] <= max) {
			s[2 * k - 1] = ES_MAX(s[2 * k - 1], b);
			continue;
		}
		for (size_t lo = a; lo < b; lo += max) { /* a long one in pieces */
			if (k == cap) {
				size_t nc = cap ? cap * 2 : 64;
				size_t *ns = realloc(s, nc * 2 * sizeof(*ns));
				if (!ns) {
					free(s);
					an_talk_free(&t);
					return ES_ENOMEM;
				}
				s = ns;
				cap = nc;
			}
			s[2 * k] = lo;
			s[2 * k + 1] = ES_MIN(lo + max, b);
			k++;
		}
	}
	an_talk_free(&t);
	*segs = s;
	*n = k;
	return 0;
}

/* A loaded model, kept in the worker's tr_cache between jobs: loading
 * the packaged en-us model (acoustic model, dictionary, language model)
 * costs more than decoding a short call. */
struct spx_model {
	char dir[4096];
	uint32_t rate;
	cmd_ln_t *cfg;
	ps_decoder_t *ps;
	/* "-cmn live" carries the cepstral mean from one utterance to the
	 * next: each job starts from the loaded model's own (-cmninit), so a
	 * call's words do not depend on the call decoded before it */
	mfcc_t *cmn0;
};

static void model_free(void *p)
{
	struct spx_model *m = p;
	if (!m)
		return;
	if (m->ps)
		ps_free(m->ps);
	if (m->cfg)
		cmd_ln_free_r(m->cfg);
	free(m->cmn0);
	free(m);
}

/* The live cepstral mean of the model as loaded, kept (NULL: none). */
static void cmn_keep(struct spx_model *m)
{
	feat_t *f = ps_get_feat(m->ps);
	if (!f || !f->cmn_struct || f->cmn_struct->veclen <= 0)
		return;
	m->cmn0 = malloc((size_t)f->cmn_struct->veclen * sizeof(*m->cmn0));
	if (m->cmn0)
		cmn_live_get(f->cmn_struct, m->cmn0);
}

static void cmn_reset(struct spx_model *m)
{
	feat_t *f = ps_get_feat(m->ps);
	if (m->cmn0 && f && f->cmn_struct)
		cmn_live_set(f->cmn_struct, m->cmn0);
}

static int model_load(const char *dir, struct spx_model **out, char *err, size_t errlen)
{
	*out = NULL;
	struct spx_model *m = calloc(1, sizeof(*m));
	if (!m)
		return es_errf(err, errlen, ES_ENOMEM, "out of memory");
	snprintf(m->dir, sizeof(m->dir), "%s", dir);
	int rc = model_rate(dir, &m->rate, err, errlen);
	char mdef[4300], dict[4300], lm[4300];
	snprintf(mdef, sizeof(mdef), "%s/mdef", dir);
	if (!rc && access(mdef, R_OK))
		rc = es_errf(err, errlen, ES_EINVAL, "%s: %s: not a pocketsphinx model", mdef,
			     strerror(errno));
	if (rc) {
		free(m);
		return rc;
	}
	model_file(dir, "model.dict", STOCK_DICT, dict, sizeof(dict));
	model_file(dir, "model.lm.bin", STOCK_LM, lm, sizeof(lm));
	/* -remove_silence no: the utterances are cut here, and frame numbers
	 * must count every frame for the word times to be right */
	m->cfg = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", dir, "-dict", dict, "-lm", lm,
			     "-remove_silence", "no", "-logfn", "/dev/null", NULL);
	if (!m->cfg)
		rc = es_errf(err, errlen, ES_ENOMEM, "pocketsphinx: configuration");
	else if (!(m->ps = ps_init(m->cfg)))
		rc = es_errf(err, errlen, ES_EINVAL, "pocketsphinx: cannot load the model %s", dir);
	if (rc) {
		model_free(m);
		return rc;
	}
	cmn_keep(m);
	*out = m;
	return 0;
}

/* The model of dir: the cached one when it is that folder's, else loaded
 * (and cached when there is a cache).  *own: the caller frees it. */
static int model_get(const struct tr_conf *c, struct spx_model **m, bool *own, char *err,
		     size_t errlen)
{
	struct tr_cache *k = c->cache;
	*own = false;
	if (k && k->p && k->free == model_free &&
	    !strcmp(((struct spx_model *)k->p)->dir, c->model)) {
		*m = k->p;
		return 0;
	}
	int rc = model_load(c->model, m, err, errlen);
	if (rc)
		return rc;
	if (k) {
		tr_cache_free(k);
		k->p = *m;
		k->free = model_free;
	} else {
		*own = true;
	}
	return 0;
}

static int sphinx_run(const struct tr_conf *c, const int16_t *pcm, size_t frames, uint32_t rate,
		      struct tr_text *out, char *err, size_t errlen)
{
	if (!c->model || !*c->model)
		return es_errf(err, errlen, ES_EINVAL, "pocketsphinx: no model folder");
	if (!rate)
		return es_errf(err, errlen, ES_EINVAL, "pocketsphinx: no sample rate");
	struct spx_model *m = NULL;
	bool own = false;
	int rc = model_get(c, &m, &own, err, errlen);
	if (rc)
		return rc;
	cmn_reset(m);
	uint32_t mrate = m->rate;
	int16_t *rs = NULL;
	size_t n = frames;
	size_t *segs = NULL, nsegs = 0;
	if (rate != mrate && (rc = resample(pcm, frames, rate, mrate, &rs, &n))) {
		es_errf(err, errlen, rc, "out of memory");
		goto out;
	}
	const int16_t *x = rs ? rs : pcm;
	if ((rc = utterances(x, n, mrate, &segs, &nsegs))) {
		es_errf(err, errlen, rc, "out of memory");
		goto out;
	}
	for (size_t i = 0; !rc && i < nsegs; i++) {
		if (c->stop && atomic_load(c->stop)) {
			rc = es_errf(err, errlen, ES_EAGAIN, "pocketsphinx: the worker is stopping");
			break;
		}
		rc = decode_utt(m->ps, x + segs[2 * i], segs[2 * i + 1] - segs[2 * i],
				(int64_t)segs[2 * i] * 1000 / mrate, out, err, errlen);
	}
out:
	if (own)
		model_free(m);
	free(segs);
	free(rs);
	return rc;
}

int tr_sphinx_cepstrum(const char *dir, const int16_t *pcm, size_t frames, uint32_t rate,
		       double sum[13], uint64_t *nframes, char *err, size_t errlen)
{
	uint32_t mrate = 0;
	int rc = model_rate(dir, &mrate, err, errlen);
	if (rc)
		return rc;
	int16_t *rs = NULL;
	size_t n = frames;
	if (rate != mrate && (rc = resample(pcm, frames, rate, mrate, &rs, &n)))
		return es_errf(err, errlen, rc, "out of memory");
	const int16_t *x = rs ? rs : pcm;
	char dict[4300], lm[4300];
	model_file(dir, "model.dict", STOCK_DICT, dict, sizeof(dict));
	model_file(dir, "model.lm.bin", STOCK_LM, lm, sizeof(lm));
	cmd_ln_t *cfg = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", dir, "-dict", dict, "-lm", lm,
				    "-logfn", "/dev/null", NULL);
	ps_decoder_t *ps = cfg ? ps_init(cfg) : NULL;
	fe_t *fe = ps ? ps_get_fe(ps) : NULL;
	mfcc_t **cep = NULL;
	int ncep = fe ? fe_get_output_size(fe) : 0;
	if (!fe || ncep < 13) {
		rc = es_errf(err, errlen, ES_EINVAL, "pocketsphinx: cannot load the model %s", dir);
		goto out;
	}
	cep = (mfcc_t **)ckd_calloc_2d(256, (size_t)ncep, sizeof(mfcc_t));
	fe_start_utt(fe);
	const int16_t *p = x;
	size_t left = n;
	while (left) {
		int32 nfr = 256;
		if (fe_process_frames(fe, &p, &left, cep, &nfr, NULL) < 0 || !nfr)
			break;
		for (int32 f = 0; f < nfr; f++)
			for (int k = 0; k < 13; k++)
				sum[k] += MFCC2FLOAT(cep[f][k]);
		*nframes += (uint64_t)nfr;
	}
	int32 last = 0;
	fe_end_utt(fe, cep[0], &last);
out:
	if (cep)
		ckd_free_2d(cep);
	if (ps)
		ps_free(ps);
	if (cfg)
		cmd_ln_free_r(cfg);
	free(rs);
	return rc;
}

const struct tr_engine tr_engine_pocketsphinx = {.name = "pocketsphinx", .run = sphinx_run};

#else /* !ES_HAVE_POCKETSPHINX */

bool tr_sphinx_available(void)
{
	return false;
}

int tr_sphinx_cepstrum(const char *dir, const int16_t *pcm, size_t frames, uint32_t rate,
		       double sum[13], uint64_t *nframes, char *err, size_t errlen)
{
	(void)dir, (void)pcm, (void)frames, (void)rate, (void)sum, (void)nframes;
	return es_errf(err, errlen, ES_EUNSUP, "earshot was built without pocketsphinx");
}

#endif
