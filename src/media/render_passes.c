/*
 * render_passes.c - media log to recording: the passes over a finished log
 * (media_render, _mem, _sink) and a call in progress fed one record at a
 * time (media_live_*), both through render.c's decoding.
 *
 * Pass 1 finds the codecs used (the recording rate) and the capture time of
 * the first decodable audio packet (sample 0).  Pass 2 feeds every record
 * to render.c, which decodes it into the timeline and the writer.  A call in
 * progress has no pass 1: its first decodable packet fixes both.
 */
#include "media/render_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- passes ---------------------------------------------------------------------- */

static int fail(struct render *r, int rc, const char *what)
{
	if (r->err && r->errlen && !r->err[0])
		snprintf(r->err, r->errlen, "%s: record %llu: %s", r->path,
			 (unsigned long long)r->recno, what);
	return rc;
}

/* Pass 1, for each decodable audio packet: the stream's start offset.
 * Senders often hold their first packet and send it with the second (a
 * start burst): anchored at its capture time, the whole stream would sit
 * late until drift correction moved it back a millisecond at a time. */
static void pre_offset(struct rstream *st, const struct mlog_rec *rec, uint32_t clock)
{
	if (!st->pre_have) {
		st->pre_have = true;
		st->pre_clock = clock;
		st->pre_rtp = rec->rtp_ts;
		st->pre_ts = rec->ts_us;
		st->pre_off_us = 0;
		return;
	}
	int64_t dt = rec->ts_us - st->pre_ts;
	if (clock != st->pre_clock || dt < 0 || dt > PRE_WINDOW_US)
		return;
	int32_t ticks = (int32_t)(rec->rtp_ts - st->pre_rtp);
	if (ticks <= 0)
		return;
	int64_t off = dt - tl_muldiv(ticks, ES_US_PER_SEC, clock);
	if (off < st->pre_off_us && off >= -PRE_MAX_US)
		st->pre_off_us = off;
}

/* Pass 1: the recording rate and sample 0. */
static int scan(struct render *r, struct mlog_reader *lg)
{
	struct mlog_rec rec;
	bool found = false, wide = false;
	int rc;
	r->recno = 0;
	while ((rc = mlog_next(lg, &rec, r->err, r->errlen)) == 1) {
		r->recno++;
		if (rec.type == MLOG_REC_STREAM) {
			if ((rc = render_stream_declare(r, &rec)))
				return fail(r, rc, "out of memory");
		} else if (rec.type == MLOG_REC_PTMAP) {
			render_map_set(r, &rec);
		} else if (rec.type == MLOG_REC_RTP && rec.stream < r->nst &&
			   r->st[rec.stream].declared) {
			struct codec_info ci;
			if (!render_map_get(r, r->st[rec.stream].party, rec.pt, &ci) ||
			    !render_is_audio(&ci) || !render_in_span(r->o, rec.ts_us))
				continue;
			pre_offset(&r->st[rec.stream], &rec, ci.clock);
			found = true;
			wide |= ci.wideband;
		}
	}
	if (rc < 0)
		return rc;
	if (!found) {
		if (r->err && r->errlen)
			snprintf(r->err, r->errlen, "%s: no decodable audio", r->path);
		return ES_ENOTFOUND;
	}
	/* sample 0: where the earliest stream's first packet belongs */
	bool first = true;
	for (unsigned i = 0; i < r->nst; i++) {
		const struct rstream *st = &r->st[i];
		if (st->pre_have && (first || st->pre_ts + st->pre_off_us < r->res->start_us))
			r->res->start_us = st->pre_ts + st->pre_off_us;
		first &= !st->pre_have;
	}
	r->rate = r->o->rate ? r->o->rate : wide ? 16000 : 8000;
	return 0;
}

/* Where render_run puts the file: one of path, mem, sink; or nowhere,
 * counting the frames it would hold (count). */
struct rdest {
	const char *path;
	struct es_buf *mem;
	media_sink_fn sink;
	void *ud;
	uint64_t frames; /* sink: the WAV's announced frames; count: the result */
	bool count;
};

/* media_render, media_render_mem and media_render_sink's passes. */
static int render_run(const char *mlog_path, struct rdest *d, const struct render_opts *o,
		      struct render_result *res, char *err, size_t errlen)
{
	if (!mlog_path || !(d->path || d->mem || d->sink || d->count) || !o || !res)
		return ES_EINVAL;
	if (o->rate && (o->rate < 8000 || o->rate > 48000))
		return ES_EINVAL;
	memset(res, 0, sizeof(*res));
	if (err && errlen)
		err[0] = '\0';
	struct mlog_reader *lg = NULL;
	int rc = mlog_open_keyed(&lg, mlog_path, o->mlog_keys, err, errlen);
	if (rc)
		return rc;
	struct render *r = calloc(1, sizeof(*r));
	if (!r) {
		mlog_reader_close(lg);
		return ES_ENOMEM;
	}
	r->path = mlog_path;
	r->o = o;
	r->res = res;
	r->err = err;
	r->errlen = errlen;
	rc = scan(r, lg);
	if (rc)
		goto out;
	/* pass 2 starts from a clean slate of maps and streams */
	memset(r->map, 0, sizeof(r->map));
	for (unsigned s = 0; s < r->nst; s++)
		r->st[s].declared = false;
	int64_t max_us = o->max_duration_us > 0 ? o->max_duration_us : DEFAULT_MAX_US;
	rc = tl_init(&r->tl, r->rate, tl_muldiv(ES_MIN(max_us, CAP_US), r->rate, ES_US_PER_SEC),
		     render_emit, r);
	if (rc)
		goto out;
	unsigned ch = o->mix ? 1 : 2;
	if (d->count)
		rc = 0;
	else if (d->mem)
		rc = media_writer_open_mem(&r->w, d->mem, mlog_path, o->format, r->rate, ch,
					   &o->writer, err, errlen);
	else if (d->sink)
		rc = media_writer_open_sink(&r->w, d->sink, d->ud, mlog_path, o->format, r->rate,
					    ch, d->frames, &o->writer, err, errlen);
	else
		rc = media_writer_open(&r->w, d->path, o->format, r->rate, ch, &o->writer, err,
				       errlen);
	if (rc)
		goto out;
	rc = mlog_rewind(lg);
	if (rc) {
		fail(r, rc, "cannot rewind");
		goto out;
	}
	struct mlog_rec rec;
	r->recno = 0;
	while ((rc = mlog_next(lg, &rec, err, errlen)) == 1) {
		r->recno++;
		rc = 0;
		if (rec.type == MLOG_REC_STREAM)
			rc = render_stream_declare(r, &rec);
		else if (rec.type == MLOG_REC_PTMAP)
			render_map_set(r, &rec);
		else if (rec.type == MLOG_REC_RTP)
			render_rtp_record(r, &rec);
		if (rc || r->tl.err) {
			rc = rc ? rc : r->tl.err;
			fail(r, rc, es_strerror(rc));
			goto out;
		}
	}
	if (rc < 0)
		goto out;
	/* the end: everything up to the end of the last packet of any party */
	for (unsigned s = 0; s < r->nst; s++)
		render_gap_resolve(r, &r->st[s]);
	int64_t end = r->tl.end;
	rc = render_flush_to(r, end);
	if (rc) {
		fail(r, rc, es_strerror(rc));
		goto out;
	}
	res->rate = r->rate;
	res->channels = o->mix ? 1 : 2;
	res->duration_us = (int64_t)(r->frames_out * (uint64_t)ES_US_PER_SEC / r->rate);
	res->torn = mlog_torn(lg);
	d->frames = r->frames_out;
	if (d->count)
		goto out;
	struct media_writer *w = r->w;
	r->w = NULL;
	rc = media_writer_close(w, &res->bytes, err, errlen);
out:
	if (r->w)
		media_writer_abort(r->w);
	mlog_reader_close(lg);
	render_free(r);
	return rc;
}

int media_render(const char *mlog_path, const char *out_path, const struct render_opts *o,
		 struct render_result *res, char *err, size_t errlen)
{
	struct rdest d = {.path = out_path};
	return render_run(mlog_path, &d, o, res, err, errlen);
}

int media_render_mem(const char *mlog_path, struct es_buf *out, const struct render_opts *o,
		     struct render_result *res, char *err, size_t errlen)
{
	struct rdest d = {.mem = out};
	return render_run(mlog_path, &d, o, res, err, errlen);
}

int media_render_sink(const char *mlog_path, media_sink_fn sink, void *ud,
		      const struct render_opts *o, struct render_result *res, char *err,
		      size_t errlen)
{
	if (!sink || !o)
		return ES_EINVAL;
	struct rdest d = {.sink = sink, .ud = ud};
	if (o->format == MEDIA_WAV) {
		/* the header goes first and states the length: count it */
		struct render_opts co = *o;
		co.pcm_tap = NULL;
		struct rdest c = {.count = true};
		int rc = render_run(mlog_path, &c, &co, res, err, errlen);
		if (rc)
			return rc;
		d.frames = c.frames;
	}
	return render_run(mlog_path, &d, o, res, err, errlen);
}

/* ---- a call in progress: fed one record at a time (media.h) ------------------- */

struct media_live {
	struct render *r;
	struct render_opts o;
	struct render_result res;
	bool started;
};

int media_live_new(struct media_live **out, uint32_t rate,
		   void (*tap)(void *ud, const int16_t *caller, const int16_t *callee, size_t n,
			       uint32_t rate),
		   void *ud)
{
	*out = NULL;
	if (rate && (rate < 8000 || rate > 48000))
		return ES_EINVAL;
	struct media_live *l = calloc(1, sizeof(*l));
	struct render *r = calloc(1, sizeof(*r));
	if (!l || !r) {
		free(l);
		free(r);
		return ES_ENOMEM;
	}
	l->r = r;
	l->o.rate = rate;
	l->o.pcm_tap = tap;
	l->o.pcm_tap_ud = ud;
	r->path = "live";
	r->o = &l->o;
	r->res = &l->res;
	*out = l;
	return 0;
}

/* The first decodable audio packet fixes sample 0 and the rate (no pass 1:
 * the rest of the log is not written yet). */
static int live_start(struct media_live *l, const struct mlog_rec *rec)
{
	struct render *r = l->r;
	struct codec_info ci;
	if (rec->stream >= r->nst || !r->st[rec->stream].declared ||
	    !render_map_get(r, r->st[rec->stream].party, rec->pt, &ci) || !render_is_audio(&ci))
		return 0;
	r->rate = l->o.rate ? l->o.rate : ci.wideband ? 16000 : 8000;
	l->res.start_us = rec->ts_us;
	int rc = tl_init(&r->tl, r->rate, tl_muldiv(DEFAULT_MAX_US, r->rate, ES_US_PER_SEC),
			 render_emit, r);
	if (!rc)
		l->started = true;
	return rc;
}

int media_live_feed(struct media_live *l, const struct mlog_rec *rec)
{
	struct render *r = l->r;
	int rc = 0;
	if (rec->type == MLOG_REC_STREAM)
		return render_stream_declare(r, rec);
	if (rec->type == MLOG_REC_PTMAP) {
		render_map_set(r, rec);
		return 0;
	}
	if (rec->type != MLOG_REC_RTP)
		return 0;
	if (!l->started && (rc = live_start(l, rec)))
		return rc;
	if (!l->started)
		return 0;
	render_rtp_record(r, rec);
	return r->tl.err;
}

int media_live_end(struct media_live *l)
{
	struct render *r = l->r;
	if (!l->started)
		return 0;
	for (unsigned s = 0; s < r->nst; s++)
		render_gap_resolve(r, &r->st[s]);
	return render_flush_to(r, r->tl.end);
}

uint32_t media_live_rate(const struct media_live *l) { return l->started ? l->r->rate : 0; }
int64_t media_live_start_us(const struct media_live *l) { return l->started ? l->res.start_us : 0; }

void media_live_free(struct media_live *l)
{
	if (!l)
		return;
	render_free(l->r);
	free(l);
}
