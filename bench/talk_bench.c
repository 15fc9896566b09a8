/*
 * talk_bench.c - the talk metrics' CPU cost (docs/PERFORMANCE.md): N calls
 * of S seconds of stereo 16-bit PCM at 8 kHz (alternating speech-like
 * bursts of noise and tone over -60 dBFS hiss) through an_talk_feed,
 * an_talk_finish and an_talk_json, timed by CPU clock; prints the speed as
 * a multiple of real time.  usage: talk_bench [CALLS [SECONDS [RATE]]]
 */
#include "analytics/talk.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
	unsigned calls = argc > 1 ? (unsigned)atoi(argv[1]) : 200;
	unsigned secs = argc > 2 ? (unsigned)atoi(argv[2]) : 60;
	unsigned rate = argc > 3 ? (unsigned)atoi(argv[3]) : 8000;
	if (!calls || !secs || rate < 1000) {
		fprintf(stderr, "usage: talk_bench [CALLS [SECONDS [RATE]]]\n");
		return 2;
	}
	/* one call's audio, made once: the cost measured is the analysis's */
	size_t n = (size_t)secs * rate;
	int16_t *a = malloc(n * sizeof(*a)), *b = malloc(n * sizeof(*b));
	if (!a || !b)
		return 1;
	uint32_t r = 1;
	for (size_t i = 0; i < n; i++) {
		r = r * 1103515245u + 12345u;
		double hiss = ((double)(r >> 9) / (1u << 23) - 1.0) * 60;
		size_t s = i / rate;
		bool ta = (s / 3) % 2 == 0, tb = !ta || s % 7 == 0;
		a[i] = (int16_t)(hiss + (ta ? 6000 * sin(i * 0.35) : 0));
		b[i] = (int16_t)(hiss + (tb ? 5000 * sin(i * 0.21) : 0));
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	size_t bytes = 0;
	for (unsigned c = 0; c < calls; c++) {
		struct an_talk t;
		struct an_talk_metrics m;
		struct es_buf j;
		es_buf_init(&j);
		an_talk_init(&t, rate);
		for (size_t o = 0; o < n; o += 160)
			an_talk_feed(&t, a + o, b + o, n - o < 160 ? n - o : 160);
		an_talk_finish(&t, &m);
		an_talk_json(&t, &m, &j);
		bytes += j.len;
		es_buf_free(&j);
		an_talk_free(&t);
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	double cpu = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	double audio = (double)calls * secs;
	printf("%u calls x %u s stereo at %u Hz: %.3f s CPU, %.0fx real time, %.1f us per "
	       "call-second, %.0f bytes of JSON per call\n", calls, secs, rate, cpu, audio / cpu,
	       cpu / audio * 1e6, (double)bytes / calls);
	free(a);
	free(b);
	return 0;
}
