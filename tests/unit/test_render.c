/*
 * test_render.c - media log to WAV: placement, loss, reordering, duplicates,
 * silence suppression, SSRC changes, clock drift with jitter, mixed codecs
 * and a log without audio.  Calls are synthesised with a local G.711 µ-law
 * encoder; G.711 decoding is exact, so the caller's channel must equal the
 * encoded-then-decoded samples.
 */
#include "check.h"
#include "media/media.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RATE 8000
#define PKT 160 /* 20 ms */
#define T0 INT64_C(1700000000000000)

static char tmpdir[256];

/* ITU-T G.711 µ-law, the reference bit manipulation. */
static uint8_t ulaw_enc(int16_t pcm)
{
	int s = pcm, sign = 0;
	if (s < 0) {
		s = -s;
		sign = 0x80;
	}
	if (s > 32635)
		s = 32635;
	s += 0x84;
	int exp = 7;
	for (int m = 0x4000; !(s & m) && exp > 0; m >>= 1)
		exp--;
	int mant = (s >> (exp + 3)) & 0x0f;
	return (uint8_t)~(sign | exp << 4 | mant);
}

static int16_t ulaw_dec(uint8_t u)
{
	u = (uint8_t)~u;
	int t = ((u & 0x0f) << 3) + 0x84;
	t <<= (u & 0x70) >> 4;
	return (int16_t)((u & 0x80) ? 0x84 - t : t - 0x84);
}

struct gen {
	bool on;
	double start_s, dur_s, freq;
	double ppm;          /* sender clock error: packets come (1+ppm) faster */
	double jitter_ms;    /* uniform extra capture delay */
	unsigned drop_pct;   /* random loss */
	bool swap, dup;      /* swap neighbour pairs / send every 10th twice */
	double gap_at, gap_s; /* silence suppression: nothing sent for gap_s */
	double ssrc_at;      /* a new SSRC (and seq/ts base) from here on */
	double marker_every; /* silence with a 20 ms burst every N s (real time) */
	int pt;              /* 0 PCMU (default), 9 G.722 */
	bool events_only;
	double ts_back_at;   /* the RTP timestamp restarts at its first value here,
				SSRC and sequence go on (a gateway's re-INVITE) */
	int ts_spike_k;      /* packet k (>0) alone has its timestamp 3 h ahead */
	int cap_spike_k;     /* packet k (>0) alone was captured 31 h late */
	bool burst_start;    /* the first packet is held and sent with the second */
	double restart_at;   /* sequence 1000 back and timestamp 5 min ahead from here
				(an SBC restarting both), the same SSRC */
};

struct pkt {
	int64_t ts_us;
	unsigned party, stream;
	uint32_t k; /* packet index in the sender's own clock */
	uint16_t seq;
	uint32_t rtp_ts;
	bool marker_burst;
};

static uint32_t rng = 12345;
/* send time of the burst packet of each minute, per party (drift case) */
static double burst_t[2][100];
static double frand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return (rng & 0xffffff) / 16777216.0;
}

static int16_t sig(const struct gen *g, uint32_t n)
{
	return (int16_t)lrint(8000.0 * sin(2 * M_PI * g->freq * n / RATE));
}

static int cmp_pkt(const void *a, const void *b)
{
	const struct pkt *x = a, *y = b;
	return x->ts_us < y->ts_us ? -1 : x->ts_us > y->ts_us;
}

/* Build a log for the two parties; returns its path in out. */
static void build(const char *name, const struct gen g[2], char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s.mlog", tmpdir, name);
	unlink(out);
	size_t np = 0, cap_p = 0;
	struct pkt *p = NULL;
	for (unsigned party = 0; party < 2; party++) {
		const struct gen *gp = &g[party];
		if (!gp->on)
			continue;
		uint32_t npk = (uint32_t)(gp->dur_s * 50 * (1 + gp->ppm * 1e-6));
		for (uint32_t k = 0; k < npk; k++) {
			double t_send = gp->start_s + k * 0.02 / (1 + gp->ppm * 1e-6);
			if (gp->gap_s > 0 && t_send >= gp->gap_at && t_send < gp->gap_at + gp->gap_s)
				continue;
			if (gp->drop_pct && k > 0 && frand() * 100 < gp->drop_pct)
				continue;
			bool second = gp->ssrc_at > 0 && t_send >= gp->ssrc_at;
			if (np + 2 > cap_p) {
				cap_p = cap_p ? cap_p * 2 : 1024;
				p = realloc(p, cap_p * sizeof(*p));
			}
			struct pkt *q = &p[np++];
			q->party = party;
			q->stream = party + (second ? 2 : 0);
			q->k = k;
			q->seq = (uint16_t)((second ? 40000 : 65000 + party * 100) + k);
			q->rtp_ts = (second ? 0x12345678u : 0xffff0000u) + k * PKT;
			if (gp->ts_back_at > 0 && t_send >= gp->ts_back_at)
				q->rtp_ts = 0xffff0000u + (k - (uint32_t)lround(gp->ts_back_at * 50)) * PKT;
			if (gp->restart_at > 0 && t_send >= gp->restart_at) {
				q->seq = (uint16_t)(q->seq - 1000);
				q->rtp_ts += 300u * RATE;
			}
			if (gp->ts_spike_k > 0 && k == (uint32_t)gp->ts_spike_k)
				q->rtp_ts += 3u * 3600 * RATE;
			q->ts_us = T0 + (int64_t)llround(t_send * 1e6 + frand() * gp->jitter_ms * 1000);
			if (gp->burst_start && k == 0)
				q->ts_us = T0 + (int64_t)llround((gp->start_s + 0.02) * 1e6) - 1;
			if (gp->cap_spike_k > 0 && k == (uint32_t)gp->cap_spike_k)
				q->ts_us += INT64_C(31) * 3600 * ES_US_PER_SEC;
			q->marker_burst = false;
			if (gp->marker_every > 0) {
				double t_real = t_send;
				double m = fmod(t_real, gp->marker_every);
				q->marker_burst = m < 0.02 / (1 + gp->ppm * 1e-6) - 1e-9 && t_real > 1;
				int mi = (int)lround(t_real / gp->marker_every);
				if (q->marker_burst && mi < 100)
					burst_t[party][mi] = t_send;
			}
			if (gp->dup && k % 10 == 5)
				p[np++] = *q;
		}
	}
	/* swapping neighbours keeps capture order: swap the contents */
	for (unsigned party = 0; party < 2; party++) {
		if (!g[party].swap)
			continue;
		size_t last = (size_t)-1;
		for (size_t i = 0; i < np; i++) {
			if (p[i].party != party)
				continue;
			if (last != (size_t)-1 && p[i].k % 2 == 1 && p[i].k > 2 &&
			    p[last].k + 1 == p[i].k) {
				/* the earlier packet is held up: it arrives 1 ms after
				 * the next one */
				p[last].ts_us = p[i].ts_us + 1000;
				last = (size_t)-1;
				continue;
			}
			last = i;
		}
	}
	qsort(p, np, sizeof(*p), cmp_pkt); /* stable enough: ties keep either order */
	struct mlog_writer *w;
	CHECK_INT(mlog_create(&w, out, name, T0 - 5000000, 4096), 0);
	CHECK_INT(mlog_stream(w, 0, MLOG_CALLER, 1), 0);
	CHECK_INT(mlog_stream(w, 1, MLOG_CALLEE, 2), 0);
	CHECK_INT(mlog_stream(w, 2, MLOG_CALLER, 3), 0);
	CHECK_INT(mlog_stream(w, 3, MLOG_CALLEE, 4), 0);
	CHECK_INT(mlog_ptmap(w, MLOG_CALLER, 101, "telephone-event", 8000, 1), 0);
	CHECK_INT(mlog_ptmap(w, MLOG_CALLEE, 101, "telephone-event", 8000, 1), 0);
	uint8_t pl[PKT * 2];
	for (size_t i = 0; i < np; i++) {
		const struct gen *gp = &g[p[i].party];
		size_t len = PKT;
		uint8_t pt = (uint8_t)gp->pt;
		if (gp->events_only) {
			pt = 101;
			len = 4;
			memset(pl, 1, 4);
		} else if (gp->pt == 9) {
			/* a G.722 payload: any bytes decode; a soft constant */
			memset(pl, 0xfa, PKT);
		} else {
			for (size_t j = 0; j < PKT; j++) {
				int16_t x = gp->marker_every > 0 ? (p[i].marker_burst ? sig(gp, (uint32_t)j) : 0)
								 : sig(gp, p[i].k * PKT + (uint32_t)j);
				pl[j] = ulaw_enc(x);
			}
		}
		CHECK_INT(mlog_rtp(w, p[i].stream, p[i].ts_us, p[i].seq, p[i].rtp_ts, pt, false, pl, len),
			  0);
	}
	CHECK_INT(mlog_close(w), 0);
	free(p);
}

struct wav {
	uint32_t rate;
	unsigned channels;
	size_t frames;
	int16_t *ch[2];
};

/* the call's signalled span given to the renderer; 0, 0 = unknown */
static int64_t span[2];

static int render(const char *log, bool mix, struct render_result *res, struct wav *wv,
		  const char *tag)
{
	char out[512], err[256] = "";
	snprintf(out, sizeof(out), "%s/%s.wav", tmpdir, tag);
	unlink(out);
	struct render_opts o = {.format = MEDIA_WAV, .mix = mix, .span_start_us = span[0],
				.span_end_us = span[1]};
	int rc = media_render(log, out, &o, res, err, sizeof(err));
	memset(wv, 0, sizeof(*wv));
	if (rc) {
		struct stat st;
		CHECK(stat(out, &st) != 0); /* no file left behind */
		if (rc != ES_ENOTFOUND)
			fprintf(stderr, "render: %s (%s)\n", es_strerror(rc), err);
		return rc;
	}
	struct media_reader *r;
	CHECK_INT(media_reader_open(&r, out, err, sizeof(err)), 0);
	wv->rate = media_reader_rate(r);
	wv->channels = media_reader_channels(r);
	size_t cap = 0;
	int16_t buf[4096 * 2];
	long n;
	while ((n = media_reader_read(r, buf, 4096)) > 0) {
		if (wv->frames + (size_t)n > cap) {
			cap = (wv->frames + (size_t)n) * 2;
			for (unsigned c = 0; c < wv->channels; c++)
				wv->ch[c] = realloc(wv->ch[c], cap * sizeof(int16_t));
		}
		for (long i = 0; i < n; i++)
			for (unsigned c = 0; c < wv->channels; c++)
				wv->ch[c][wv->frames + (size_t)i] = buf[(size_t)i * wv->channels + c];
		wv->frames += (size_t)n;
	}
	CHECK_INT(n, 0);
	media_reader_close(r);
	unlink(out);
	return 0;
}

static void wav_free(struct wav *w)
{
	free(w->ch[0]);
	free(w->ch[1]);
}

static size_t first_loud(const int16_t *x, size_t n, size_t from)
{
	for (size_t i = from; i < n; i++)
		if (abs(x[i]) > 1000)
			return i;
	return (size_t)-1;
}

static const struct gen base_caller = {.on = true, .start_s = 0, .dur_s = 10, .freq = 440};
static const struct gen base_callee = {.on = true, .start_s = 2, .dur_s = 8, .freq = 1000};

/* Left channel sample-exact against the encoder; returns mismatches. */
static size_t left_mismatch(const struct wav *w, size_t from, size_t to)
{
	size_t bad = 0;
	for (size_t i = from; i < to && i < w->frames; i++)
		if (w->ch[0][i] != ulaw_dec(ulaw_enc(sig(&base_caller, (uint32_t)i)))) {
			if (getenv("MISMATCH_DEBUG") && bad < 5)
				fprintf(stderr, "    mismatch at %zu\n", i);
			bad++;
		}
	return bad;
}

static void test_basic(void)
{
	struct gen g[2] = {base_caller, base_callee};
	char log[512];
	struct render_result res;
	struct wav w;
	build("basic", g, log, sizeof(log));
	if (render(log, false, &res, &w, "basic") != 0) {
		CHECK(0);
		return;
	}
	CHECK_INT(w.rate, 8000);
	CHECK_INT(w.channels, 2);
	CHECK_INT(res.rate, 8000);
	CHECK(res.start_us == T0);
	CHECK(llabs(res.duration_us - 10000000) <= 40000);
	CHECK_INT(left_mismatch(&w, 0, w.frames), 0);
	size_t on = first_loud(w.ch[1], w.frames, 0);
	fprintf(stderr, "  basic: %zu frames, callee onset %zu (want 16000)\n", w.frames, on);
	CHECK(on >= 15999 && on <= 16001 + 2); /* sine starts near 0: first loud sample */
	CHECK(res.party_audio[0] && res.party_audio[1]);
	CHECK_STR(res.codecs, "PCMU");
	CHECK_STR(res.unknown, "");
	CHECK_INT(res.packets, 500 + 400);
	CHECK_INT(res.packets_decoded, 900);
	CHECK_INT(res.packets_late + res.packets_bad + res.samples_concealed, 0);
	CHECK(!res.torn);
	wav_free(&w);

	/* mono mix */
	CHECK_INT(render(log, true, &res, &w, "mix"), 0);
	CHECK_INT(w.channels, 1);
	CHECK(llabs(res.duration_us - 10000000) <= 40000);
	wav_free(&w);
}

/* Output of g compared with the in-order basic rendering: mismatching samples. */
static size_t diff_vs_basic(const struct gen g[2], const char *tag, struct render_result *res,
			    size_t *frames)
{
	struct gen b[2] = {base_caller, base_callee};
	char log[512];
	struct wav w0, w1;
	struct render_result r0;
	build("ref", b, log, sizeof(log));
	if (render(log, false, &r0, &w0, "ref"))
		return (size_t)-1;
	build(tag, g, log, sizeof(log));
	if (render(log, false, res, &w1, tag)) {
		wav_free(&w0);
		return (size_t)-1;
	}
	*frames = w1.frames;
	size_t bad = 0;
	for (size_t i = 0; i < ES_MIN(w0.frames, w1.frames); i++)
		bad += (w0.ch[0][i] != w1.ch[0][i]) + (w0.ch[1][i] != w1.ch[1][i]);
	bad += w0.frames > w1.frames ? w0.frames - w1.frames : w1.frames - w0.frames;
	wav_free(&w0);
	wav_free(&w1);
	return bad;
}

static void test_reorder_dup(void)
{
	struct gen g[2] = {base_caller, base_callee};
	struct render_result res;
	size_t frames;
	g[0].swap = g[1].swap = true;
	CHECK_INT(diff_vs_basic(g, "swap", &res, &frames), 0);
	CHECK_INT(res.samples_concealed, 0);
	CHECK_INT(res.packets_late, 0);
	g[0].swap = g[1].swap = false;
	g[0].dup = g[1].dup = true;
	CHECK_INT(diff_vs_basic(g, "dup", &res, &frames), 0);
	CHECK_INT(res.packets, 900 + 90);
}

static void test_loss(void)
{
	struct gen g[2] = {base_caller, base_callee};
	char log[512];
	struct render_result res;
	struct wav w;
	g[0].drop_pct = g[1].drop_pct = 5;
	build("loss", g, log, sizeof(log));
	if (render(log, false, &res, &w, "loss")) {
		CHECK(0);
		return;
	}
	fprintf(stderr, "  loss: %llu packets, %llu samples concealed, duration %lld us\n",
		(unsigned long long)res.packets, (unsigned long long)res.samples_concealed,
		(long long)res.duration_us);
	uint64_t lost = 900 - res.packets;
	CHECK(lost > 20);
	CHECK(res.samples_concealed > 0 && res.samples_concealed <= lost * PKT);
	CHECK(res.samples_concealed >= (lost - 4) * PKT); /* short gaps, all concealed */
	CHECK(llabs(res.duration_us - 10000000) <= 40000);
	wav_free(&w);
}

static void test_gap_ssrc(void)
{
	struct gen g[2] = {base_caller, base_callee};
	char log[512];
	struct render_result res;
	struct wav w;
	g[0].gap_at = 4;
	g[0].gap_s = 3; /* caller silent 4..7 s */
	g[1].ssrc_at = 6; /* callee restarts with another SSRC at 6 s */
	build("gap", g, log, sizeof(log));
	if (render(log, false, &res, &w, "gap")) {
		CHECK(0);
		return;
	}
	CHECK(llabs(res.duration_us - 10000000) <= 40000);
	CHECK_INT(left_mismatch(&w, 0, 4 * RATE), 0);
	CHECK_INT(left_mismatch(&w, 7 * RATE, w.frames), 0);
	size_t loud = 0;
	for (size_t i = 4 * RATE; i < 7 * RATE; i++)
		loud += w.ch[0][i] != 0;
	CHECK_INT(loud, 0);
	CHECK_INT(res.samples_concealed, 0);
	/* the callee's second stream continues in place: a 1 kHz sine with
	 * period 8 samples, so every 8th sample repeats through the switch */
	size_t bad = 0;
	for (size_t i = 5 * RATE; i < 7 * RATE; i++)
		bad += w.ch[1][i] != w.ch[1][i - 8];
	CHECK_INT(bad, 0);
	wav_free(&w);
}

/* RTP timestamp jumps within one stream (#14.3, #13.8): the caller's
 * timestamp restarts at 5 s (a gateway's re-INVITE), or one packet's is 3 h
 * ahead: every packet is still placed, by capture time, and the channel
 * stays sample-exact. */
static void test_ts_jump(void)
{
	struct gen g[2] = {base_caller, base_callee};
	char log[512];
	struct render_result res;
	struct wav w;
	g[0].ts_back_at = 5;
	g[1].ts_spike_k = 150;
	build("tsjump", g, log, sizeof(log));
	if (render(log, false, &res, &w, "tsjump")) {
		CHECK(0);
		return;
	}
	CHECK(llabs(res.duration_us - 10000000) <= 40000);
	CHECK_INT(res.packets_late, 0);
	CHECK_INT(res.packets_decoded, 500 + 400);
	CHECK_INT(left_mismatch(&w, 0, w.frames), 0);
	CHECK(res.ts_jumps >= 2);
	wav_free(&w);
	/* sequence and timestamp both restart: one packet may be taken for a
	 * late one, the next confirms the restart */
	g[0].ts_back_at = 0;
	g[0].restart_at = 5;
	build("restart", g, log, sizeof(log));
	if (render(log, false, &res, &w, "restart")) {
		CHECK(0);
		return;
	}
	CHECK(res.packets_late <= 1);
	CHECK(left_mismatch(&w, 0, 5 * RATE) == 0);
	CHECK(left_mismatch(&w, 5 * RATE + 4 * PKT, w.frames) == 0);
	/* the callee's 1 kHz sine (period 8 samples) runs on through its spike;
	 * placing by capture time may land a sample off (microsecond rounding)
	 * at each of the two new segments */
	size_t bad = 0;
	for (size_t i = (size_t)2.1 * RATE; i < 9 * RATE; i++)
		bad += w.ch[1][i] != w.ch[1][i - 8];
	CHECK(bad <= 16);
	wav_free(&w);
}

/* One packet captured 31 h late (a flipped byte in its capture time): with
 * the call's span known, the recording stays as long as the call and only
 * that packet is missing. */
static void test_capture_outlier(void)
{
	struct gen g[2] = {base_caller, base_callee};
	char log[512];
	struct render_result res;
	struct wav w;
	g[0].cap_spike_k = 250;
	build("capjump", g, log, sizeof(log));
	span[0] = T0 - 1000000;
	span[1] = T0 + 10500000;
	int rc = render(log, false, &res, &w, "capjump");
	span[0] = span[1] = 0;
	if (rc) {
		CHECK(0);
		return;
	}
	CHECK(llabs(res.duration_us - 10000000) <= 40000);
	CHECK_INT(res.packets_outside, 1);
	CHECK_INT(left_mismatch(&w, 0, 5 * RATE), 0);
	/* the missing packet is concealed, which blends into the next ones */
	CHECK_INT(res.samples_concealed, PKT);
	CHECK_INT(left_mismatch(&w, 5 * RATE + 4 * PKT, w.frames), 0);
	wav_free(&w);
}

/* Exact clocks, but each party's first packet is captured with its second
 * (#14.12): the streams start where their timestamps say, sample-exact,
 * with no drift correction where there is no drift. */
static void test_start_burst(void)
{
	struct gen g[2] = {base_caller, base_callee};
	char log[512];
	struct render_result res;
	struct wav w;
	g[0].burst_start = g[1].burst_start = true;
	build("burst", g, log, sizeof(log));
	if (render(log, false, &res, &w, "burst")) {
		CHECK(0);
		return;
	}
	CHECK_INT(res.start_us, T0);
	CHECK_INT(res.drift_corrected_us, 0);
	CHECK_INT(left_mismatch(&w, 0, w.frames), 0);
	CHECK(llabs(res.duration_us - 10000000) <= 40000);
	size_t bad = 0; /* the callee's sine, period 8 samples, from its start */
	for (size_t i = 2 * RATE + 8; i < 9 * RATE; i++)
		bad += w.ch[1][i] != w.ch[1][i - 8];
	CHECK_INT(bad, 0);
	wav_free(&w);
}

/* Both sides send a burst every 60 s of real time; the callee's clock runs
 * ppm fast and every packet is delayed by up to 8 ms of jitter. */
static void drift_case(double ppm, double minutes)
{
	struct gen g[2] = {base_caller, base_callee};
	char log[512];
	struct render_result res;
	struct wav w;
	for (int p = 0; p < 2; p++) {
		g[p].start_s = 0;
		g[p].dur_s = minutes * 60;
		g[p].jitter_ms = 8;
		g[p].marker_every = 60;
		g[p].freq = 1000;
	}
	g[1].ppm = ppm;
	build("drift", g, log, sizeof(log));
	int64_t t = es_mono_us();
	if (render(log, false, &res, &w, "drift")) {
		CHECK(0);
		return;
	}
	t = es_mono_us() - t;
	double worst = 0;
	for (int m = 1; m < (int)minutes; m++) {
		size_t from = (size_t)(m * 60 - 1) * RATE;
		size_t a = first_loud(w.ch[0], w.frames, from), b = first_loud(w.ch[1], w.frames, from);
		CHECK(a != (size_t)-1 && b != (size_t)-1);
		if (a == (size_t)-1 || b == (size_t)-1)
			break;
		/* the callee's burst packet starts up to 20 ms after the minute */
		double e = ((double)b - (double)a) * 1000.0 / RATE -
			   (burst_t[1][m] - burst_t[0][m]) * 1000.0;
		if (getenv("DRIFT_DEBUG"))
			fprintf(stderr, "    minute %d: %.2f ms (a %+ld b %+ld)\n", m, e, (long)a - m * 60L * RATE, (long)b - m * 60L * RATE);
		if (fabs(e) > fabs(worst))
			worst = e;
	}
	fprintf(stderr,
		"  drift %+.0f ppm over %.0f min, 8 ms jitter: worst sync error %.2f ms, "
		"corrected %.1f ms, duration error %lld us, render %.2f s\n",
		ppm, minutes, worst, res.drift_corrected_us / 1000.0,
		(long long)(res.duration_us - (int64_t)(minutes * 60e6)), t / 1e6);
	CHECK(fabs(worst) <= 20);
	CHECK(res.drift_corrected_us > 0);
	CHECK(llabs(res.duration_us - (int64_t)(minutes * 60e6)) <= 60000);
	wav_free(&w);
}

static void test_drift(void)
{
	drift_case(100, 20);
	drift_case(-300, 20); /* the drift of an hour at 100 ppm in 20 minutes */
}

static void test_g722(void)
{
	struct gen g[2] = {base_caller, base_callee};
	char log[512];
	struct render_result res;
	struct wav w;
	g[1].pt = 9;
	build("g722", g, log, sizeof(log));
	if (render(log, false, &res, &w, "g722")) {
		CHECK(0);
		return;
	}
	CHECK_INT(res.rate, 16000);
	CHECK_INT(w.rate, 16000);
	CHECK_STR(res.codecs, "PCMU,G722");
	CHECK(llabs(res.duration_us - 10000000) <= 40000);
	/* the caller's 440 Hz survives the resampling to 16 kHz, in place */
	size_t on = first_loud(w.ch[0], w.frames, 0);
	CHECK(on < 40);
	wav_free(&w);
}

static void test_no_audio(void)
{
	struct gen g[2] = {base_caller, base_callee};
	char log[512];
	struct render_result res;
	struct wav w;
	g[0].events_only = g[1].events_only = true;
	build("events", g, log, sizeof(log));
	CHECK_INT(render(log, false, &res, &w, "events"), ES_ENOTFOUND);
}

/* media_render_mem (the recorder's one-pass path, record/recording.c) gives
 * the same bytes as media_render into a file, for every format, including
 * the WAV sizes and FLAC's STREAMINFO that the writers patch at the end. */
static void test_render_mem(void)
{
	struct gen g[2] = {base_caller, base_callee};
	g[0].drop_pct = 5;
	char log[512], out[600], err[256] = "";
	build("mem", g, log, sizeof(log));
	static const enum media_format fmts[] = {MEDIA_WAV, MEDIA_FLAC, MEDIA_OPUS};
	for (size_t i = 0; i < ES_ARRAY_LEN(fmts); i++) {
		for (int mix = 0; mix < 2; mix++) {
			struct render_opts o = {.format = fmts[i], .mix = mix};
			struct render_result rf, rm;
			snprintf(out, sizeof(out), "%s/mem%s", tmpdir, media_format_ext(fmts[i]));
			CHECK_INT(media_render(log, out, &o, &rf, err, sizeof(err)), 0);
			struct es_buf file, mem;
			es_buf_init(&file);
			es_buf_init(&mem);
			CHECK_INT(es_read_file(out, &file), 0);
			es_buf_append(&mem, "stale", 5); /* emptied first */
			CHECK_INT(media_render_mem(log, &mem, &o, &rm, err, sizeof(err)), 0);
			fprintf(stderr, "  %s%s: file %zu bytes, memory %zu\n",
				media_format_name(fmts[i]), mix ? " mono" : "", file.len, mem.len);
			CHECK(file.len > 1000);
			CHECK(mem.len == file.len && !memcmp(mem.p, file.p, file.len));
			CHECK(rm.bytes == mem.len && rf.bytes == file.len);
			CHECK(rm.duration_us == rf.duration_us && rm.packets == rf.packets);
			es_buf_free(&file);
			es_buf_free(&mem);
			unlink(out);
		}
	}
	/* no audio: ES_ENOTFOUND, as into a file */
	struct es_buf mem;
	es_buf_init(&mem);
	struct render_opts o = {.format = MEDIA_WAV};
	struct render_result rm;
	g[0].events_only = g[1].events_only = true;
	build("mem-events", g, log, sizeof(log));
	CHECK_INT(media_render_mem(log, &mem, &o, &rm, err, sizeof(err)), ES_ENOTFOUND);
	es_buf_free(&mem);
}

/* A sink that appends to an es_buf, or fails once it holds fail_at bytes. */
struct sink_buf {
	struct es_buf b;
	size_t fail_at;
	uint64_t tapped;
};

static int sink_append(void *ud, const void *p, size_t n)
{
	struct sink_buf *s = ud;
	if (s->fail_at && s->b.len + n > s->fail_at)
		return ES_ELIMIT;
	return es_buf_append(&s->b, p, n) ? ES_ENOMEM : 0;
}

static void sink_tap(void *ud, const int16_t *a, const int16_t *b, size_t n, uint32_t rate)
{
	(void)a;
	(void)b;
	(void)rate;
	((struct sink_buf *)ud)->tapped += n;
}

/* media_render_sink (a long encrypted call, record/recording.c) gives the
 * bytes media_render_mem gives, WAV header first with its final sizes,
 * over timelines whose length only decoding tells (loss, drift, a
 * timestamp restart, G.722 resampled); the tap hears every frame once. */
static void test_render_sink(void)
{
	struct gen cases[4][2] = {{base_caller, base_callee}, {base_caller, base_callee},
				  {base_caller, base_callee}, {base_caller, base_callee}};
	cases[0][0].drop_pct = 5;
	cases[1][0].ppm = 300;
	cases[1][1].jitter_ms = 15;
	cases[2][0].ts_back_at = 4;
	cases[2][1].gap_at = 3, cases[2][1].gap_s = 2;
	cases[3][1].pt = 9;
	cases[3][0].swap = true;
	char log[512], err[256] = "";
	for (size_t c = 0; c < ES_ARRAY_LEN(cases); c++) {
		char name[32];
		snprintf(name, sizeof(name), "sink%zu", c);
		build(name, cases[c], log, sizeof(log));
		static const enum media_format fmts[] = {MEDIA_WAV, MEDIA_OPUS};
		for (size_t i = 0; i < ES_ARRAY_LEN(fmts); i++) {
			for (int mix = 0; mix < 2; mix++) {
				struct render_opts o = {.format = fmts[i], .mix = mix};
				struct render_result rm, rs;
				struct es_buf mem;
				struct sink_buf sb = {.fail_at = 0};
				es_buf_init(&mem);
				es_buf_init(&sb.b);
				CHECK_INT(media_render_mem(log, &mem, &o, &rm, err, sizeof(err)), 0);
				o.pcm_tap = sink_tap;
				o.pcm_tap_ud = &sb;
				CHECK_INT(media_render_sink(log, sink_append, &sb, &o, &rs, err,
							    sizeof(err)), 0);
				CHECK(mem.len > 1000 && sb.b.len == mem.len &&
				      !memcmp(sb.b.p, mem.p, mem.len));
				CHECK(rs.bytes == mem.len && rs.duration_us == rm.duration_us &&
				      rs.packets == rm.packets);
				CHECK(sb.tapped == (uint64_t)rs.duration_us * rs.rate / ES_US_PER_SEC);
				es_buf_free(&mem);
				es_buf_free(&sb.b);
			}
		}
	}
	/* the sink's failure is the render's; FLAC cannot go in one pass */
	struct sink_buf sb = {.fail_at = 5000};
	es_buf_init(&sb.b);
	struct render_opts o = {.format = MEDIA_WAV};
	struct render_result r;
	CHECK_INT(media_render_sink(log, sink_append, &sb, &o, &r, err, sizeof(err)), ES_ELIMIT);
	CHECK(strstr(err, log) != NULL);
	o.format = MEDIA_FLAC;
	CHECK_INT(media_render_sink(log, sink_append, &sb, &o, &r, err, sizeof(err)), ES_EUNSUP);
	es_buf_free(&sb.b);
	/* no audio: ES_ENOTFOUND before anything reaches the sink */
	struct gen g[2] = {base_caller, base_callee};
	g[0].events_only = g[1].events_only = true;
	build("sink-events", g, log, sizeof(log));
	struct sink_buf none = {.fail_at = 1};
	o.format = MEDIA_WAV;
	CHECK_INT(media_render_sink(log, sink_append, &none, &o, &r, err, sizeof(err)),
		  ES_ENOTFOUND);
}

/* ES_MLOG_SEEDS=dir: write the fuzzer's seed logs (fuzz/corpus/mlog). */
static void write_seeds(const char *dir)
{
	struct gen g[2] = {base_caller, base_callee};
	char log[512], dst[600];
	g[0].dur_s = 0.1;
	g[1].start_s = 0.04;
	g[1].dur_s = 0.06;
	g[1].swap = true;
	build("seed-pcmu", g, log, sizeof(log));
	snprintf(dst, sizeof(dst), "%s/pcmu-two-parties.mlog", dir);
	CHECK_INT(rename(log, dst), 0);
	g[1].pt = 9;
	g[0].drop_pct = 30;
	g[0].dur_s = 0.2;
	build("seed-g722", g, log, sizeof(log));
	snprintf(dst, sizeof(dst), "%s/g722-pcmu-loss.mlog", dir);
	CHECK_INT(rename(log, dst), 0);
	struct gen j[2] = {base_caller, base_callee};
	j[0].dur_s = j[1].dur_s = 0.2;
	j[1].start_s = 0.02;
	j[0].ts_back_at = 0.1;
	j[1].ts_spike_k = 4;
	build("seed-tsjump", j, log, sizeof(log));
	snprintf(dst, sizeof(dst), "%s/pcmu-ts-jump.mlog", dir);
	CHECK_INT(rename(log, dst), 0);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_render.XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	if (getenv("ES_MLOG_SEEDS")) {
		write_seeds(getenv("ES_MLOG_SEEDS"));
		rmdir(tmpdir);
		return CHECK_DONE();
	}
	RUN(test_basic);
	RUN(test_reorder_dup);
	RUN(test_loss);
	RUN(test_gap_ssrc);
	RUN(test_ts_jump);
	RUN(test_capture_outlier);
	RUN(test_start_burst);
	RUN(test_g722);
	RUN(test_no_audio);
	RUN(test_drift);
	RUN(test_render_mem);
	RUN(test_render_sink);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	return CHECK_DONE();
}
