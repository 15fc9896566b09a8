/*
 * test_talk.c - src/analytics/talk: the detector on synthetic signals (tone,
 * white noise, digital silence, a clipped square wave, a noisy line) and the
 * conversation figures on segment lists of known shape.
 */
#include "analytics/talk.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>

#define RATE 8000
#define SAMPLES(ms) ((size_t)(ms) * RATE / 1000)

enum sig { SIL, TONE, NOISE, CLIP, HISS };

static uint32_t rng = 12345;
static double noise1(void)
{
	rng = rng * 1103515245u + 12345u;
	return ((double)(rng >> 8) / (double)(1u << 24)) * 2.0 - 1.0;
}

/* n samples of a signal at sample offset pos. */
static void gen(int16_t *x, size_t n, size_t pos, enum sig s)
{
	for (size_t i = 0; i < n; i++) {
		double t = (double)(pos + i) / RATE, v = 0;
		if (s == TONE)
			v = 8000 * sin(2 * M_PI * 440 * t);
		else if (s == NOISE)
			v = 6000 * noise1();
		else if (s == CLIP)
			v = sin(2 * M_PI * 300 * t) >= 0 ? 32767 : -32768; /* hard clipped */
		else if (s == HISS)
			v = 60 * noise1(); /* a line's noise, about -60 dBFS */
		x[i] = (int16_t)v;
	}
}

/* Spans {caller's signal, callee's signal, unused, ms}, fed in turn; SIL
 * is the background given to run(). */
struct span {
	enum sig a, b, bg;
	unsigned ms;
};
static void run(struct an_talk *t, const struct span *sp, unsigned n, enum sig bg)
{
	static int16_t a[SAMPLES(1000)], b[SAMPLES(1000)];
	size_t pos = 0;
	for (unsigned k = 0; k < n; k++) {
		size_t left = SAMPLES(sp[k].ms);
		while (left) {
			size_t c = left < SAMPLES(1000) ? left : SAMPLES(1000);
			gen(a, c, pos, sp[k].a == SIL ? bg : sp[k].a);
			gen(b, c, pos, sp[k].b == SIL ? bg : sp[k].b);
			an_talk_feed(t, a, b, c);
			pos += c;
			left -= c;
		}
	}
}

static void test_signals(void)
{
	enum sig kinds[] = {TONE, NOISE, CLIP};
	for (unsigned k = 0; k < 3; k++) {
		for (int bg = 0; bg < 2; bg++) {
			struct an_talk t;
			CHECK_INT(an_talk_init(&t, RATE), 0);
			struct span sp[] = {
				{SIL, SIL, 0, 1500}, {kinds[k], SIL, 0, 2000}, {SIL, SIL, 0, 1000},
				{SIL, kinds[k], 0, 3000}, {SIL, SIL, 0, 500},
			};
			run(&t, sp, 5, bg ? HISS : SIL);
			struct an_talk_metrics m;
			CHECK_INT(an_talk_finish(&t, &m), 0);
			CHECK_INT(m.duration_ms, 8000);
			CHECK_INT(m.nsegs[0], 1);
			CHECK_INT(m.nsegs[1], 1);
			CHECK_INT(t.ch[0].segs[0].start_ms, 1500);
			CHECK_INT(t.ch[0].segs[0].end_ms, 3500);
			CHECK_INT(t.ch[1].segs[0].start_ms, 4500);
			CHECK_INT(t.ch[1].segs[0].end_ms, 7500);
			CHECK_INT(m.talk_ms[0], 2000);
			CHECK_INT(m.talk_ms[1], 3000);
			CHECK(fabs(m.talk_ratio - 0.4) < 1e-9);
			CHECK_INT(m.silence_ms, 3000);
			CHECK_INT(m.first_words_ms, 1500);
			CHECK_INT(m.dead_air_max_ms, 1000);
			CHECK_INT(m.dead_air_ms, 0);
			CHECK_INT(m.overtalk_ms, 0);
			an_talk_free(&t);
		}
	}
}

/* Silence alone, and a steady loud noise that never stops: no speech
 * once the floor has learnt it (the first window may call it speech). */
static void test_silence_and_steady_noise(void)
{
	struct an_talk t;
	CHECK_INT(an_talk_init(&t, RATE), 0);
	struct span sp[] = {{SIL, SIL, 0, 5000}};
	run(&t, sp, 1, SIL);
	struct an_talk_metrics m;
	CHECK_INT(an_talk_finish(&t, &m), 0);
	CHECK_INT(m.nsegs[0] + m.nsegs[1], 0);
	CHECK(m.talk_ratio < 0);
	CHECK_INT(m.first_words_ms, -1);
	CHECK_INT(m.silence_ms, 5000);
	an_talk_free(&t);

	/* -40 dBFS noise for 30 s, then a tone burst: the burst is found */
	CHECK_INT(an_talk_init(&t, RATE), 0);
	static int16_t a[SAMPLES(1000)], b[SAMPLES(1000)];
	for (unsigned s = 0; s < 32; s++) {
		for (size_t i = 0; i < SAMPLES(1000); i++)
			a[i] = (int16_t)(300 * noise1() + (s == 30 ? 8000 * sin(i * 0.3) : 0));
		gen(b, SAMPLES(1000), 0, SIL);
		an_talk_feed(&t, a, b, SAMPLES(1000));
	}
	CHECK_INT(an_talk_finish(&t, &m), 0);
	CHECK(m.nsegs[0] >= 1);
	/* the last segment is the burst, exact to a frame */
	CHECK_INT(t.ch[0].segs[m.nsegs[0] - 1].start_ms, 30000);
	CHECK_INT(t.ch[0].segs[m.nsegs[0] - 1].end_ms, 31000);
	/* before it, at most the first window's worth of "speech" */
	CHECK(t.ch[0].segs[0].start_ms >= 30000 || t.ch[0].segs[0].end_ms <= 9000);
	an_talk_free(&t);
}

/* Short pauses stay inside a segment; a click shorter than the onset
 * opens none. */
static void test_hangover_and_onset(void)
{
	struct an_talk t;
	CHECK_INT(an_talk_init(&t, RATE), 0);
	struct span sp[] = {
		{SIL, SIL, 0, 1000}, {TONE, SIL, 0, 1000}, {SIL, SIL, 0, 200}, {TONE, SIL, 0, 1000},
		{SIL, SIL, 0, 1000}, {SIL, TONE, 0, 30}, {SIL, SIL, 0, 1000},
	};
	run(&t, sp, 7, SIL);
	struct an_talk_metrics m;
	CHECK_INT(an_talk_finish(&t, &m), 0);
	CHECK_INT(m.nsegs[0], 1);
	CHECK_INT(t.ch[0].segs[0].start_ms, 1000);
	CHECK_INT(t.ch[0].segs[0].end_ms, 3200);
	CHECK_INT(m.nsegs[1], 0);
	an_talk_free(&t);
}

#define S(a, b) {a, b}
static void test_figures(void)
{
	/* caller: 0-5 s, 9-10 s (backchannel), 20-25 s, 25.5-30 s (one turn)
	 * callee: 4-8 s (interrupts: starts at 4, caller stops at 5, callee
	 * goes on), 9.5-12 s, 12.2-13 s; dead air 13-20 s (7 s) */
	struct an_talk_seg a[] = {S(0, 5000), S(9000, 10000), S(20000, 25000), S(25500, 30000)};
	struct an_talk_seg b[] = {S(4000, 8000), S(9500, 12000), S(12200, 13000)};
	struct an_talk_metrics m;
	an_talk_compute(a, 4, b, 3, 31000, &m);
	CHECK_INT(m.talk_ms[0], 15500);
	CHECK_INT(m.talk_ms[1], 7300);
	CHECK_INT(m.overtalk_ms, 1000 + 500);
	CHECK_INT(m.overtalk_count, 2);
	/* callee at 4 s: caller stops 1 s later, callee goes on: yes;
	 * callee at 9.5 s: caller stops 0.5 s later, callee on: yes */
	CHECK_INT(m.interruptions[1], 2);
	CHECK_INT(m.interruptions[0], 0);
	/* shared silences 1 s, 0.2 s, 7 s, 0.5 s */
	CHECK_INT(m.dead_air_max_ms, 7000);
	CHECK_INT(m.dead_air_ms, 7000);
	CHECK_INT(m.dead_air_count, 1);
	CHECK_INT(m.silence_ms, 31000 - 21300); /* union 0-8, 9-12, 12.2-13, 20-25, 25.5-30 */
	CHECK_INT(m.monologue_ms[0], 10000);
	CHECK_INT(m.monologue_ms[1], 4000);
	CHECK_INT(m.first_words_ms, 0);
	CHECK_INT(m.first_words_party_ms[1], 4000);

	/* a backchannel is no interruption: the speaker goes on */
	struct an_talk_seg c[] = {S(0, 10000)};
	struct an_talk_seg d[] = {S(3000, 3500)};
	an_talk_compute(c, 1, d, 1, 10000, &m);
	CHECK_INT(m.interruptions[1], 0);
	CHECK_INT(m.overtalk_count, 1);
	CHECK_INT(m.overtalk_ms, 500);
	/* nothing */
	an_talk_compute(NULL, 0, NULL, 0, 0, &m);
	CHECK_INT(m.silence_ms, 0);
	CHECK_INT(m.first_words_ms, -1);
}

static void test_json(void)
{
	struct an_talk t;
	CHECK_INT(an_talk_init(&t, RATE), 0);
	struct span sp[] = {{TONE, SIL, 0, 1000}, {SIL, TONE, 0, 1000}};
	run(&t, sp, 2, SIL);
	struct an_talk_metrics m;
	CHECK_INT(an_talk_finish(&t, &m), 0);
	struct es_buf b;
	es_buf_init(&b);
	CHECK_INT(an_talk_json(&t, &m, &b), 0);
	CHECK(strstr((const char *)b.p, "\"caller\":{\"talk_ms\":1000,\"interruptions\":0,"
			 "\"monologue_max_ms\":1000,\"first_words_ms\":0,\"segments\":[0,1000]}") != NULL);
	CHECK(strstr((const char *)b.p, "\"segments\":[1000,2000]}}") != NULL);
	CHECK(strstr((const char *)b.p, "\"talk_ratio\":0.5000") != NULL);
	es_buf_free(&b);
	an_talk_free(&t);
	CHECK_INT(an_talk_init(&t, 0), ES_EINVAL);
}

int main(void)
{
	RUN(test_signals);
	RUN(test_silence_and_steady_noise);
	RUN(test_hangover_and_onset);
	RUN(test_figures);
	RUN(test_json);
	return CHECK_DONE();
}
