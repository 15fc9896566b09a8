/*
 * quality.c - one stream's network quality: loss runs, simulated jitter
 * buffers, jitter percentiles, the RTCP round trip and the 5 s series,
 * turned into E-model figures (emodel.c) at the end of the call.  Per
 * packet everything is O(1): a few counters per buffer, one histogram
 * slot, one bin.  The rules are documented in docs/QUALITY.md.
 */
#include "analytics/quality.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double jb_fixed_ms[2] = {50.0, 200.0};

/* Upper edges of the jitter histogram's bins, in ms; the last is open. */
static const double jitter_edges[AN_JITTER_BINS - 1] = {
	1, 2, 3, 4, 5, 7, 10, 15, 20, 30, 40, 50, 75, 100, 150, 200, 300,
};

void an_stream_init(struct an_stream *q)
{
	memset(q, 0, sizeof(*q));
	q->ajb_ms = AN_JB_ADAPTIVE_START_MS;
	q->ajb_max_ms = AN_JB_ADAPTIVE_START_MS;
}

void an_stream_free(struct an_stream *q)
{
	free(q->bins);
	q->bins = NULL;
	q->nbins = q->cap = 0;
}

/* Account n packets in one state (lost or found) in sequence order. */
static void loss_add(struct an_loss *l, bool lost, uint32_t n)
{
	if (!n)
		return;
	if (lost) {
		if (l->started && !l->last_lost)
			l->found_lost++;
		l->lost += n;
		l->run = l->last_lost ? l->run + n : n;
		if (l->run > l->longest)
			l->longest = l->run;
	} else {
		if (l->started && l->last_lost)
			l->lost_found++;
		l->found += n;
		l->run = 0;
	}
	l->last_lost = lost;
	l->started = true;
}

/* One packet found: the common case, kept short (every packet passes). */
static inline void loss_found(struct an_loss *l)
{
	if (l->last_lost) {
		l->lost_found++;
		l->last_lost = false;
		l->run = 0;
	}
	l->found++;
	l->started = true;
}

static void sat16_add(uint16_t *v, uint32_t n)
{
	uint32_t s = (uint32_t)*v + n;
	*v = s > 0xFFFF ? 0xFFFF : (uint16_t)s;
}

/* The bin for arrival_us: a new one each AN_BIN_US from the first packet;
 * NULL when the series could not grow (the figures still count). */
static struct an_bin *bin_at(struct an_stream *q, int64_t arrival_us)
{
	if (!q->bins) {
		q->cap = 16;
		q->bins = calloc(q->cap, sizeof(*q->bins));
		if (!q->bins) {
			q->bins_oom = true;
			q->cap = 0;
			return NULL;
		}
		q->nbins = 1;
		q->t0_us = arrival_us;
		q->bin_end_us = arrival_us + AN_BIN_US;
	}
	/* A clock step back stays in the current bin; forward, one step per
	 * elapsed bin (bounded by AN_MAX_BINS). */
	while (arrival_us >= q->bin_end_us && q->nbins < AN_MAX_BINS && !q->bins_oom) {
		if (q->nbins == q->cap) {
			uint32_t cap = q->cap * 2 > AN_MAX_BINS ? AN_MAX_BINS : q->cap * 2;
			struct an_bin *nb = realloc(q->bins, cap * sizeof(*nb));
			if (!nb) {
				q->bins_oom = true;
				break;
			}
			memset(nb + q->cap, 0, (cap - q->cap) * sizeof(*nb));
			q->bins = nb;
			q->cap = cap;
		}
		q->nbins++;
		q->bin_end_us += AN_BIN_US;
	}
	return &q->bins[q->nbins - 1];
}

/* Fixed buffer k: the reference is the first packet's transit, re-synced
 * at a talkspurt start that arrives earlier than it, and when a packet is
 * so early that it would overflow the buffer.  Late = more than the
 * buffer's size after its reference. */
static bool fixed_late(struct an_stream *q, int k, double transit_ms, bool marker)
{
	double e = transit_ms - q->anchor_ms[k];
	if (e < -jb_fixed_ms[k] || (marker && e < 0)) {
		q->anchor_ms[k] = transit_ms;
		return false;
	}
	return e > jb_fixed_ms[k];
}

/* The adaptive buffer: the reference is the lowest transit seen (the
 * fastest path); a packet later than the buffer's size is lost, and the
 * buffer grows at once to cover it plus 10 ms (up to 500 ms); otherwise it
 * shrinks by 1/256 of its distance to 4 x jitter + 10 ms (at least 20 ms)
 * per packet: about 5 s at 50 packets/s to forget a spike. */
static bool adaptive_late(struct an_stream *q, double transit_ms, double jitter_ms)
{
	if (transit_ms < q->min_transit_ms)
		q->min_transit_ms = transit_ms;
	double e = transit_ms - q->min_transit_ms;
	bool late = e > q->ajb_ms;
	if (late) {
		double want = e + 10.0;
		q->ajb_ms = want > AN_JB_ADAPTIVE_MAX_MS ? AN_JB_ADAPTIVE_MAX_MS : want;
	} else {
		double target = 4.0 * jitter_ms + 10.0;
		if (target < AN_JB_ADAPTIVE_MIN_MS)
			target = AN_JB_ADAPTIVE_MIN_MS;
		if (q->ajb_ms > target)
			q->ajb_ms -= (q->ajb_ms - target) / 256.0;
	}
	if (q->ajb_ms > q->ajb_max_ms)
		q->ajb_max_ms = q->ajb_ms;
	q->ajb_sum_ms += q->ajb_ms;
	q->ajb_n++;
	return late;
}

/* A late packet found after all: one loss of its run becomes a packet
 * found.  The run and transition counts stay as they were (the run is
 * split, which BurstR then slightly overstates). */
static void loss_undo(struct an_loss *l)
{
	if (!l->lost)
		return;
	l->lost--;
	l->found++;
}

void an_stream_packet(struct an_stream *q, int64_t arrival_us, uint32_t gap, bool fills_gap,
		      bool has_transit, double transit_ms, bool marker, double jitter_ms)
{
	/* A jump this long is the sender restarting its sequence, not loss
	 * that a listener heard. */
	if (gap >= AN_GAP_RESTART || fills_gap)
		gap = 0;
	struct an_bin *b = bin_at(q, arrival_us);

	if (fills_gap) {
		loss_undo(&q->net);
	} else {
		if (gap)
			loss_add(&q->net, true, gap);
		loss_found(&q->net);
	}

	bool late[AN_NJB] = {false, false, false};
	if (has_transit) {
		if (!q->have_transit) {
			q->have_transit = true;
			q->anchor_ms[0] = q->anchor_ms[1] = transit_ms;
			q->min_transit_ms = transit_ms;
		}
		late[AN_JB_50] = fixed_late(q, 0, transit_ms, marker);
		late[AN_JB_200] = fixed_late(q, 1, transit_ms, marker);
		late[AN_JB_ADAPTIVE] = adaptive_late(q, transit_ms, jitter_ms);

		unsigned j = 0; /* most packets: the first bins */
		while (j < AN_JITTER_BINS - 1 && jitter_ms > jitter_edges[j])
			j++;
		q->jitter_hist[j]++;
		if (jitter_ms > q->jitter_max_ms)
			q->jitter_max_ms = jitter_ms;
	}
	for (int k = 0; k < AN_NJB; k++) {
		if (fills_gap) {
			if (!late[k])
				loss_undo(&q->jb[k]);
			continue;
		}
		if (gap)
			loss_add(&q->jb[k], true, gap);
		if (late[k])
			loss_add(&q->jb[k], true, 1);
		else
			loss_found(&q->jb[k]);
	}
	if (b && fills_gap) {
		/* its slot was counted in this bin or an earlier one */
		if (b->lost) {
			b->lost--;
			sat16_add(&b->late, late[AN_JB_ADAPTIVE]);
		}
	} else if (b) {
		sat16_add(&b->expected, gap + 1);
		sat16_add(&b->lost, gap);
		sat16_add(&b->late, late[AN_JB_ADAPTIVE]);
		double dms = jitter_ms * 10.0;
		uint16_t jd = dms >= 65535 ? 65535 : (uint16_t)dms;
		if (jd > b->jitter_dms)
			b->jitter_dms = jd;
	}
}

void an_stream_sr(struct an_stream *q, uint32_t ntp_mid, int64_t arrival_us)
{
	q->sr_ntp_mid[q->sr_next] = ntp_mid;
	q->sr_us[q->sr_next] = arrival_us;
	q->sr_next ^= 1;
}

/* RFC 3550 6.4.1: RTT = A - LSR - DLSR.  Passively, A - LSR is the time
 * between seeing the SR whose NTP middle bits are LSR and seeing the
 * report block that quotes it: the round trip beyond the capture point. */
void an_stream_rr(struct an_stream *q, uint32_t lsr, uint32_t dlsr, int64_t arrival_us)
{
	if (!lsr)
		return; /* no SR received yet by the reporter */
	for (int i = 0; i < 2; i++) {
		if (q->sr_us[i] == 0 || q->sr_ntp_mid[i] != lsr)
			continue;
		double ms = (double)(arrival_us - q->sr_us[i]) / 1000.0 -
			    (double)dlsr * 1000.0 / 65536.0;
		if (ms < 0 || ms > 10000)
			return; /* clocks or a stale LSR: no figure */
		q->rtt_sum_ms += ms;
		q->rtt_n++;
		if (ms > q->rtt_max_ms)
			q->rtt_max_ms = ms;
		return;
	}
}

static double loss_pct(const struct an_loss *l)
{
	uint64_t all = (uint64_t)l->found + l->lost;
	return all ? 100.0 * (double)l->lost / (double)all : 0;
}

static double percentile(const struct an_stream *q, double pct)
{
	uint64_t n = 0;
	for (int i = 0; i < AN_JITTER_BINS; i++)
		n += q->jitter_hist[i];
	if (!n)
		return 0;
	uint64_t want = (uint64_t)ceil(pct / 100.0 * (double)n), acc = 0;
	for (int i = 0; i < AN_JITTER_BINS - 1; i++) {
		acc += q->jitter_hist[i];
		if (acc >= want)
			return jitter_edges[i] < q->jitter_max_ms ? jitter_edges[i] : q->jitter_max_ms;
	}
	return q->jitter_max_ms;
}

void an_stream_result(const struct an_stream *q, const struct an_codec_imp *codec,
		      struct an_result *out)
{
	memset(out, 0, sizeof(*out));
	out->codec = codec ? codec : an_codec_imp(NULL, 0);
	out->rtt_ms = q->rtt_n ? q->rtt_sum_ms / q->rtt_n : -1;
	/* One-way delay for Idd: the buffer's own delay plus half the round
	 * trip beyond the capture point when RTCP gave one. */
	double half_rtt = q->rtt_n ? out->rtt_ms / 2 : 0;
	out->adaptive_mean_ms = q->ajb_n ? q->ajb_sum_ms / q->ajb_n : AN_JB_ADAPTIVE_START_MS;
	out->adaptive_max_ms = q->ajb_max_ms;
	out->ta_ms[AN_JB_50] = jb_fixed_ms[0] + half_rtt;
	out->ta_ms[AN_JB_200] = jb_fixed_ms[1] + half_rtt;
	out->ta_ms[AN_JB_ADAPTIVE] = out->adaptive_mean_ms + half_rtt;
	for (int k = 0; k < AN_NJB; k++) {
		const struct an_loss *l = &q->jb[k];
		out->loss_pct[k] = loss_pct(l);
		out->burst_r[k] = an_burst_r(l->found, l->lost, l->found_lost, l->lost_found);
		out->r[k] = an_r_factor(out->codec->ie, out->codec->bpl, out->loss_pct[k],
					out->burst_r[k], out->ta_ms[k]);
		out->mos[k] = an_mos(out->r[k]);
	}
	out->net_loss_pct = loss_pct(&q->net);
	out->net_burst_r = an_burst_r(q->net.found, q->net.lost, q->net.found_lost,
				      q->net.lost_found);
	/* a run that reordered packets later filled is shorter than it
	 * looked: bound it by what stayed lost */
	out->longest_burst = q->net.longest < q->net.lost ? q->net.longest : q->net.lost;
	out->packets = q->net.found;
	out->jitter_p50_ms = percentile(q, 50);
	out->jitter_p95_ms = percentile(q, 95);
	out->jitter_p99_ms = percentile(q, 99);
	out->jitter_max_ms = q->jitter_max_ms;
	out->mos_min_bin = out->mos[AN_JB_ADAPTIVE];
	for (uint32_t i = 0; i < q->nbins; i++) {
		if (!q->bins[i].expected)
			continue;
		double m = an_bin_mos(q, out, i);
		if (m < out->mos_min_bin)
			out->mos_min_bin = m;
	}
}

double an_bin_mos(const struct an_stream *q, const struct an_result *r, uint32_t i)
{
	const struct an_bin *b = &q->bins[i];
	if (!b->expected)
		return 0;
	double ppl = 100.0 * (double)(b->lost + b->late) / (double)b->expected;
	return an_mos(an_r_factor(r->codec->ie, r->codec->bpl, ppl, 1.0,
				  r->ta_ms[AN_JB_ADAPTIVE]));
}

int an_json_number(const char *json, const char *obj, const char *key, double *out)
{
	char pat[48];
	const char *p = json, *end = NULL;
	if (!json)
		return ES_ENOTFOUND;
	if (obj) {
		snprintf(pat, sizeof(pat), "\"%s\":{", obj);
		if (!(p = strstr(json, pat)))
			return ES_ENOTFOUND;
		p += strlen(pat);
		end = strchr(p, '}'); /* the objects written here are flat */
	} else {
		/* the top level's own keys come before its first nested object */
		end = strstr(json, "\":{");
	}
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	for (const char *k = strstr(p, pat); k && (!end || k < end); k = strstr(k + 1, pat)) {
		/* a key, not the tail of a longer one ("mos" in "xr_mos") */
		if (k > json && k[-1] != '{' && k[-1] != ',')
			continue;
		char *e;
		double v = strtod(k + strlen(pat), &e);
		if (e == k + strlen(pat))
			return ES_ENOTFOUND;
		*out = v;
		return 0;
	}
	return ES_ENOTFOUND;
}

static const char *jb_names[AN_NJB] = {"jb50", "jb200", "adaptive"};

int an_stream_json(const struct an_stream *q, const struct an_result *r, struct es_buf *b)
{
	int rc = es_buf_printf(b,
		"{\"mos\":%.2f,\"mos_min_bin\":%.2f,\"codec\":\"%s\",\"ie\":%.1f,\"bpl\":%.1f,\"impairment_source\":\"%s\","
		"\"loss_pct\":%.3f,\"burst_r\":%.3f,\"longest_burst\":%u,"
		"\"jitter_p50_ms\":%.1f,\"jitter_p95_ms\":%.1f,\"jitter_p99_ms\":%.1f,"
		"\"jitter_max_ms\":%.3f,\"adaptive_mean_ms\":%.1f,\"adaptive_max_ms\":%.1f,",
		r->mos[AN_JB_ADAPTIVE], r->mos_min_bin, r->codec->name, r->codec->ie, r->codec->bpl, r->codec->source,
		r->net_loss_pct, r->net_burst_r, r->longest_burst,
		r->jitter_p50_ms, r->jitter_p95_ms, r->jitter_p99_ms, r->jitter_max_ms,
		r->adaptive_mean_ms, r->adaptive_max_ms);
	if (!rc && r->rtt_ms >= 0)
		rc = es_buf_printf(b, "\"rtt_ms\":%.1f,", r->rtt_ms);
	if (!rc && q->has_xr)
		rc = es_buf_printf(b,
			"\"xr\":{\"loss_pct\":%.2f,\"discard_pct\":%.2f,\"rtt_ms\":%u,"
			"\"end_system_ms\":%u,\"r_factor\":%u,\"mos_cq\":%.1f},",
			q->xr_loss_rate * 100.0 / 256, q->xr_discard_rate * 100.0 / 256,
			q->xr_rtt_ms, q->xr_end_system_ms, q->xr_r_factor,
			q->xr_mos_cq / 10.0);
	for (int k = 0; !rc && k < AN_NJB; k++)
		rc = es_buf_printf(b,
			"\"%s\":{\"loss_pct\":%.3f,\"burst_r\":%.3f,\"ta_ms\":%.1f,"
			"\"r\":%.2f,\"mos\":%.2f},",
			jb_names[k], r->loss_pct[k], r->burst_r[k], r->ta_ms[k], r->r[k], r->mos[k]);
	if (!rc)
		rc = es_buf_printf(b, "\"series\":{\"step_ms\":%d,\"t0_us\":%lld,\"loss_pct\":[",
				   AN_BIN_US / 1000, (long long)q->t0_us);
	for (uint32_t i = 0; !rc && i < q->nbins; i++) {
		const struct an_bin *bn = &q->bins[i];
		rc = bn->expected ? es_buf_printf(b, "%s%.1f", i ? "," : "",
						  100.0 * bn->lost / bn->expected)
				  : es_buf_printf(b, "%snull", i ? "," : "");
	}
	if (!rc)
		rc = es_buf_printf(b, "],\"jitter_ms\":[");
	for (uint32_t i = 0; !rc && i < q->nbins; i++)
		rc = es_buf_printf(b, "%s%.1f", i ? "," : "", q->bins[i].jitter_dms / 10.0);
	if (!rc)
		rc = es_buf_printf(b, "],\"mos\":[");
	for (uint32_t i = 0; !rc && i < q->nbins; i++)
		rc = q->bins[i].expected ? es_buf_printf(b, "%s%.2f", i ? "," : "", an_bin_mos(q, r, i))
					 : es_buf_printf(b, "%snull", i ? "," : "");
	if (!rc)
		rc = es_buf_printf(b, "]}}");
	return rc ? ES_ENOMEM : 0;
}
