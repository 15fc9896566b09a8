/*
 * test_quality.c - src/analytics/quality: the E-model reproduced with
 * G.107's default parameters, BurstR from loss patterns of known shape,
 * the simulated jitter buffers on spikes, the RTCP round trip, the series.
 */
#include "analytics/quality.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>

#define CHECK_NEAR(a, b, tol) \
	do { \
		double check_x_ = (a), check_y_ = (b); \
		check_count++; \
		if (!(fabs(check_x_ - check_y_) <= (tol))) { \
			check_failures++; \
			fprintf(stderr, "%s:%d: CHECK failed: %s ~ %s (%.4f != %.4f)\n", \
				__FILE__, __LINE__, #a, #b, check_x_, check_y_); \
		} \
	} while (0)

static double round2(double x) { return round(x * 100.0) / 100.0; }

/*
 * With G.107's defaults R = 93.2 - Ie,eff (Ta = 0, so Idd = 0), and
 * Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl/BurstR + Bpl):
 *
 * G.711 with PLC (Ie 0, Bpl 25.1, G.113 App. I)
 *   no loss: Ie,eff = 0, R = 93.2, MOS = 1 + 3.262 + 7e-6*93.2*33.2*6.8 = 4.41
 *   1 %, random (BurstR 1): Ie,eff = 95 * 1 / (1 + 25.1) = 3.640, R = 89.56,
 *     MOS = 1 + 3.1346 + 7e-6*89.56*29.56*10.44 = 4.33
 *   5 %, BurstR 2: Ie,eff = 95 * 5 / (2.5 + 25.1) = 17.210, R = 75.99,
 *     MOS = 1 + 2.6597 + 7e-6*75.99*15.99*24.01 = 3.86
 * G.729A (Ie 11, Bpl 19, G.113 App. I)
 *   no loss: R = 82.20, MOS 4.10
 *   1 %: Ie,eff = 11 + 84 * 1/(1 + 19) = 15.2, R = 78.00, MOS 3.95
 *   5 %, BurstR 2: Ie,eff = 11 + 84 * 5/(2.5 + 19) = 30.535, R = 62.67,
 *     MOS 3.24
 */
static void test_emodel_defaults(void)
{
	const struct an_codec_imp *g711 = an_codec_imp("PCMU", 4);
	CHECK_NEAR(g711->ie, 0, 1e-9);
	CHECK_NEAR(g711->bpl, 25.1, 1e-9);
	CHECK_STR(g711->source, "G.113");
	double r = an_r_factor(g711->ie, g711->bpl, 0, 1, 0);
	CHECK_NEAR(round2(r), 93.20, 1e-9);
	CHECK_NEAR(round2(an_mos(r)), 4.41, 1e-9);
	r = an_r_factor(g711->ie, g711->bpl, 1, 1, 0);
	CHECK_NEAR(round2(r), 89.56, 1e-9);
	CHECK_NEAR(round2(an_mos(r)), 4.33, 1e-9);
	r = an_r_factor(g711->ie, g711->bpl, 5, 2, 0);
	CHECK_NEAR(round2(r), 75.99, 1e-9);
	CHECK_NEAR(round2(an_mos(r)), 3.86, 1e-9);

	const struct an_codec_imp *g729 = an_codec_imp("g729", 4);
	CHECK_NEAR(g729->ie, 11, 1e-9);
	CHECK_NEAR(g729->bpl, 19, 1e-9);
	r = an_r_factor(g729->ie, g729->bpl, 0, 1, 0);
	CHECK_NEAR(round2(r), 82.20, 1e-9);
	CHECK_NEAR(round2(an_mos(r)), 4.10, 1e-9);
	r = an_r_factor(g729->ie, g729->bpl, 1, 1, 0);
	CHECK_NEAR(round2(r), 78.00, 1e-9);
	CHECK_NEAR(round2(an_mos(r)), 3.95, 1e-9);
	r = an_r_factor(g729->ie, g729->bpl, 5, 2, 0);
	CHECK_NEAR(round2(r), 62.67, 1e-9);
	CHECK_NEAR(round2(an_mos(r)), 3.24, 1e-9);

	/* MOS bounds (G.107 B-4) */
	CHECK_NEAR(an_mos(-5), 1.0, 1e-12);
	CHECK_NEAR(an_mos(120), 4.5, 1e-12);
	/* every codec earshot decodes has an entry; unknown ones the default */
	const char *names[] = {"PCMA", "G722", "G729", "G723", "GSM", "iLBC", "AMR",
			       "AMR-WB", "speex", "opus", "G726-32", "L16"};
	for (size_t i = 0; i < ES_ARRAY_LEN(names); i++)
		CHECK(strcmp(an_codec_imp(names[i], strlen(names[i]))->source, "default") != 0);
	CHECK_STR(an_codec_imp("XYZ", 3)->source, "default");
}

/*
 * Idd at Ta = 300 ms (G.107 7.3): X = log2(300/100) = 1.58496;
 * X^6 = 15.8530, (1 + X^6)^(1/6) = 16.8530^(1/6) = 1.60120;
 * (X/3)^6 = 0.52832^6 = 0.021745, (1.021745)^(1/6) = 1.003592, x3 = 3.010777;
 * Idd = 25 * (1.60120 - 3.010777 + 2) = 25 * 0.59042 = 14.76.
 * At or below 100 ms Idd is 0; at 200 ms X = 1: 25 * (2^(1/6) -
 * 3 * (1 + 1/729)^(1/6) + 2) = 3.04.
 */
static void test_idd(void)
{
	CHECK_NEAR(round2(an_idd(300)), 14.76, 1e-9);
	CHECK_NEAR(an_idd(100), 0, 1e-12);
	CHECK_NEAR(an_idd(0), 0, 1e-12);
	CHECK_NEAR(round2(an_idd(200)), 3.04, 1e-9);
	/* R with the delay: G.711, no loss, 300 ms: 93.2 - 14.76 */
	CHECK_NEAR(round2(an_r_factor(0, 25.1, 0, 1, 300)), 78.44, 1e-9);
}

/* Deterministic generator (xorshift) for the loss patterns. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* Feed n packets at 20 ms, losses drawn from a 2-state Markov chain with
 * p (found -> lost) and q (lost -> found); no jitter. */
static void feed_markov(struct an_stream *q, unsigned n, double p, double qq)
{
	bool lost = false;
	uint32_t gap = 0;
	for (unsigned i = 0; i < n; i++) {
		lost = lost ? rnd() >= qq : rnd() < p;
		if (lost) {
			gap++;
			continue;
		}
		int64_t t = 1000000 + (int64_t)i * 20000;
		an_stream_packet(q, t, gap, false, true, 5.0, false, 0.5);
		gap = 0;
	}
}

static void test_loss_patterns(void)
{
	const struct an_codec_imp *g711 = an_codec_imp("PCMA", 4);
	/* random 5 %: p = 0.05, q = 0.95, BurstR 1 */
	struct an_stream rq;
	an_stream_init(&rq);
	feed_markov(&rq, 200000, 0.05, 0.95);
	struct an_result rr;
	an_stream_result(&rq, g711, &rr);
	CHECK_NEAR(rr.net_loss_pct, 5.0, 0.2);
	CHECK_NEAR(rr.net_burst_r, 1.0, 0.05);

	/* bursty 5 % with BurstR 2: p = Ppl/BurstR = 0.025, q = (1-Ppl)/BurstR
	 * = 0.475 */
	struct an_stream bq;
	an_stream_init(&bq);
	feed_markov(&bq, 200000, 0.025, 0.475);
	struct an_result br;
	an_stream_result(&bq, g711, &br);
	CHECK_NEAR(br.net_loss_pct, 5.0, 0.2);
	CHECK_NEAR(br.net_burst_r, 2.0, 0.1);
	CHECK(br.longest_burst > rr.longest_burst);
	/* with no jitter no packet is late: every buffer sees the network's
	 * loss; at 50 ms (no Idd) the figure is the table's 75.99 / 3.86 */
	CHECK_NEAR(br.loss_pct[AN_JB_50], br.net_loss_pct, 1e-9);
	CHECK_NEAR(br.r[AN_JB_50], 75.99, 1.0);
	CHECK_NEAR(br.mos[AN_JB_50], 3.86, 0.05);
	CHECK_NEAR(rr.r[AN_JB_50], an_r_factor(0, 25.1, 5, 1, 0), 1.0);
	/* same loss, bursty scores lower than random */
	CHECK(br.mos[AN_JB_50] < rr.mos[AN_JB_50]);
	/* the 200 ms buffer pays its delay: Idd(200) = 3.04 */
	CHECK_NEAR(br.r[AN_JB_50] - br.r[AN_JB_200], 3.04, 0.01);

	/* no loss: R 93.2 */
	struct an_stream nq;
	an_stream_init(&nq);
	feed_markov(&nq, 1000, 0, 1);
	struct an_result nr;
	an_stream_result(&nq, g711, &nr);
	CHECK_NEAR(nr.r[AN_JB_50], 93.2, 1e-9);
	CHECK_INT(nr.longest_burst, 0);
	an_stream_free(&rq);
	an_stream_free(&bq);
	an_stream_free(&nq);
}

/* 20 ms packets with a spike at packet `at`: the network stalls for
 * `spike` ms and then delivers the held packets at once (each later one
 * 20 ms less late), as a route change or a congested link does. */
static void feed_spikes(struct an_stream *q, unsigned n, const unsigned *at,
			const double *spike, unsigned nspikes)
{
	for (unsigned i = 0; i < n; i++) {
		double extra = 0;
		for (unsigned s = 0; s < nspikes; s++) {
			double d = spike[s] - 20.0 * (double)(i - at[s]);
			if (i >= at[s] && d > 0 && d > extra)
				extra = d;
		}
		int64_t t = (int64_t)i * 20000 + (int64_t)(extra * 1000);
		/* transit: arrival minus media time, 30 ms of fixed path */
		an_stream_packet(q, t, 0, false, true, 30.0 + extra, false, extra > 0 ? extra / 16 : 0.2);
	}
}

static void test_buffers_on_spikes(void)
{
	/* one 150 ms spike: 150,130,110,90,70 ms late > 50 ms (5 lost for the
	 * 50 ms buffer), none for 200 ms; the adaptive one (40 ms then) loses
	 * the first and grows to 160 ms, so only 1 */
	struct an_stream q;
	an_stream_init(&q);
	unsigned at[2] = {500, 1500};
	double sp[2] = {150, 600};
	feed_spikes(&q, 1000, at, sp, 1);
	CHECK_INT(q.jb[AN_JB_50].lost, 5);
	CHECK_INT(q.jb[AN_JB_200].lost, 0);
	CHECK_INT(q.jb[AN_JB_ADAPTIVE].lost, 1);
	CHECK_NEAR(q.ajb_max_ms, 160, 1e-9);
	/* and it shrinks back towards 4 x jitter + 10 (>= 20 ms) */
	CHECK(q.ajb_ms < 60);
	CHECK_INT(q.jb[AN_JB_50].longest, 5);
	an_stream_free(&q);

	/* then a 600 ms spike 20 s later: the adaptive buffer is capped at
	 * 500 ms, so 600..520 (5 packets) are late; the 200 ms buffer loses
	 * 600..220 (20), the 50 ms one 600..60 (28) + the first spike's 5 */
	an_stream_init(&q);
	feed_spikes(&q, 2000, at, sp, 2);
	CHECK_INT(q.jb[AN_JB_ADAPTIVE].lost, 1 + 5);
	CHECK_NEAR(q.ajb_max_ms, 500, 1e-9);
	CHECK_INT(q.jb[AN_JB_200].lost, 20);
	CHECK_INT(q.jb[AN_JB_50].lost, 5 + 28);
	struct an_result r;
	an_stream_result(&q, an_codec_imp("PCMU", 4), &r);
	/* network loss is none; the fixed 50 ms buffer loses most, the
	 * adaptive one least and scores best (the 200 ms buffer loses less
	 * than the 50 ms one but pays Idd(200 ms) = 3.04 for its delay) */
	CHECK_NEAR(r.net_loss_pct, 0, 1e-12);
	CHECK(r.loss_pct[AN_JB_50] > r.loss_pct[AN_JB_200]);
	CHECK(r.loss_pct[AN_JB_200] > r.loss_pct[AN_JB_ADAPTIVE]);
	CHECK(r.mos[AN_JB_50] < r.mos[AN_JB_ADAPTIVE]);
	/* the jitter percentiles: most packets at 0.2 ms, the spikes above */
	CHECK_NEAR(r.jitter_p50_ms, 1, 1e-9);
	CHECK(r.jitter_p99_ms >= 1);
	CHECK(r.jitter_max_ms >= 37.5 - 1e-9);
	an_stream_free(&q);
}

static void test_series_and_rtt(void)
{
	struct an_stream q;
	an_stream_init(&q);
	/* 12 s at 50 packets/s: bins 0..2 of 5 s; 10 packets lost in the
	 * second bin */
	uint32_t gap = 0;
	for (unsigned i = 0; i < 600; i++) {
		if (i >= 300 && i < 310) {
			gap++;
			continue;
		}
		an_stream_packet(&q, 7000000 + (int64_t)i * 20000, gap, false, true, 3.0, false, 0.1);
		gap = 0;
	}
	CHECK_INT(q.nbins, 3);
	CHECK_INT(q.bins[0].expected, 250);
	CHECK_INT(q.bins[0].lost, 0);
	CHECK_INT(q.bins[1].lost, 10);
	CHECK_INT(q.bins[1].expected, 250);
	CHECK_INT(q.jb[AN_JB_50].longest, 10);

	/* RTT: an SR seen at 1.000 s with NTP middle bits 0x12345678, the
	 * report block quoting it at 1.300 s after holding it 0.2 s
	 * (DLSR 13107 = 0.2 s): 100 ms */
	an_stream_sr(&q, 0x12345678, 1000000);
	an_stream_rr(&q, 0x12345678, 13107, 1300000);
	an_stream_rr(&q, 0x0BADF00D, 0, 1400000); /* unknown LSR: nothing */
	an_stream_rr(&q, 0, 0, 1400000);           /* no SR yet: nothing */
	struct an_result r;
	an_stream_result(&q, an_codec_imp("PCMU", 4), &r);
	CHECK_NEAR(r.rtt_ms, 100.0, 0.01);
	/* the worst bin scores below the whole stream */
	CHECK(r.mos_min_bin < r.mos[AN_JB_ADAPTIVE]);
	CHECK_NEAR(r.mos_min_bin, an_mos(an_r_factor(0, 25.1, 4.0, 1, r.ta_ms[AN_JB_ADAPTIVE])), 1e-9);

	struct es_buf b;
	es_buf_init(&b);
	CHECK_INT(an_stream_json(&q, &r, &b), 0);
	CHECK(es_buf_append(&b, "", 1) == 0);
	CHECK(strstr((const char *)b.p, "\"loss_pct\":[0.0,4.0,0.0]") != NULL);
	CHECK(strstr((const char *)b.p, "\"rtt_ms\":100.0") != NULL);
	CHECK(strstr((const char *)b.p, "\"adaptive\":{") != NULL);
	es_buf_free(&b);
	an_stream_free(&q);
}

/* A sequence restart is not 60000 lost packets; a long stall fills empty
 * bins (null in the JSON), and a clock step back stays in its bin. */
static void test_edges(void)
{
	struct an_stream q;
	an_stream_init(&q);
	an_stream_packet(&q, 0, 0, false, false, 0, false, 0);
	an_stream_packet(&q, 20000, 60000, false, false, 0, false, 0);
	an_stream_packet(&q, 12000000, 0, false, true, 1, false, 0);
	an_stream_packet(&q, 11000000, 0, false, true, 1, false, 0);
	CHECK_INT(q.net.lost, 0);
	CHECK_INT(q.nbins, 3);
	struct an_result r;
	an_stream_result(&q, NULL, &r);
	CHECK_STR(r.codec->source, "default");
	struct es_buf b;
	es_buf_init(&b);
	CHECK_INT(an_stream_json(&q, &r, &b), 0);
	CHECK(es_buf_append(&b, "", 1) == 0);
	CHECK(strstr((const char *)b.p, "\"mos\":[4.41,null,4.41]") != NULL);
	es_buf_free(&b);
	an_stream_free(&q);
}

/* A reordered packet fills the gap its absence opened: no network loss,
 * and no loss for a buffer it is in time for; 300 ms late it is lost for
 * every buffer all the same. */
static void test_reorder(void)
{
	struct an_stream q;
	an_stream_init(&q);
	an_stream_packet(&q, 0, 0, false, true, 0, false, 0);
	an_stream_packet(&q, 20000, 0, false, true, 0, false, 0);
	an_stream_packet(&q, 60000, 1, false, true, 0, false, 0);     /* seq 3 */
	an_stream_packet(&q, 61000, 0, true, true, 21, false, 0);     /* seq 2 */
	an_stream_packet(&q, 80000, 0, false, true, 0, false, 0);     /* seq 4 */
	an_stream_packet(&q, 120000, 1, false, true, 0, false, 0);    /* seq 6 */
	an_stream_packet(&q, 400000, 0, true, true, 300, false, 0);   /* seq 5 */
	CHECK_INT(q.net.lost, 0);
	CHECK_INT(q.net.found, 7);
	for (int k = 0; k < AN_NJB; k++) {
		CHECK_INT(q.jb[k].lost, 1);
		CHECK_INT(q.jb[k].found, 6);
	}
	CHECK_INT(q.bins[0].lost, 0);
	CHECK_INT(q.bins[0].late, 1);
	CHECK_INT(q.bins[0].expected, 7);
	an_stream_free(&q);
}

int main(void)
{
	RUN(test_reorder);
	RUN(test_emodel_defaults);
	RUN(test_idd);
	RUN(test_loss_patterns);
	RUN(test_buffers_on_spikes);
	RUN(test_series_and_rtt);
	RUN(test_edges);
	return CHECK_DONE();
}
