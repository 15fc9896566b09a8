/*
 * emodel.c - the ITU-T G.107 E-model with its default parameters and the
 * codec impairments of ITU-T G.113 Appendix I.  The sources of every value
 * are in docs/QUALITY.md; the comments here name the clause.
 */
#include "analytics/quality.h"

#include <math.h>
#include <string.h>
#include <strings.h>

/* Ie and Bpl per codec.  "G.113": ITU-T G.113 Appendix I (Ie from its
 * table of provisional planning values, Bpl from its table of packet-loss
 * robustness factors).  "earshot": G.113 gives no value for this codec (or
 * only on the wideband scale of G.107.1, which this narrowband model does
 * not use); the choice and its reason are in docs/QUALITY.md. */
static const struct an_codec_imp codec_table[] = {
	{"PCMU", 0, 25.1, "G.113"},     /* G.711 with PLC (spandsp's) */
	{"PCMA", 0, 25.1, "G.113"},
	{"G729", 11, 19.0, "G.113"},    /* G.729A + VAD: A and full G.729
					   share a bitstream, SDP does not say */
	{"G729A", 11, 19.0, "G.113"},
	{"G723", 15, 16.1, "G.113"},    /* G.723.1 6.3 kbit/s + VAD */
	{"G726-40", 2, 25.1, "earshot"},/* Ie G.113; Bpl: G.711's PLC, ours */
	{"G726-32", 7, 25.1, "earshot"},
	{"G726-24", 25, 25.1, "earshot"},
	{"G726-16", 50, 25.1, "earshot"},
	{"AAL2-G726-32", 7, 25.1, "earshot"},
	{"GSM", 20, 10.0, "earshot"},   /* Ie G.113 (GSM-FR); Bpl ours */
	{"AMR", 5, 10.0, "earshot"},    /* 12.2 kbit/s = GSM-EFR's Ie; Bpl ours */
	{"iLBC", 10, 30.0, "earshot"},
	{"speex", 10, 19.0, "earshot"},
	{"G722", 0, 25.1, "earshot"},   /* wideband on the narrowband scale */
	{"AMR-WB", 0, 25.1, "earshot"},
	{"opus", 0, 25.1, "earshot"},
	{"L16", 0, 25.1, "earshot"},
};

static const struct an_codec_imp codec_default = {"?", 0, 25.1, "default"};

const struct an_codec_imp *an_codec_imp(const char *name, size_t len)
{
	if (!name)
		return &codec_default;
	for (size_t i = 0; i < ES_ARRAY_LEN(codec_table); i++) {
		const char *n = codec_table[i].name;
		if (strlen(n) == len && strncasecmp(n, name, len) == 0)
			return &codec_table[i];
	}
	return &codec_default;
}

/* G.107 7.3 (the delay impairment Id; Idd, the part from absolute delay):
 * Idd = 0 for Ta <= 100 ms, else with X = log2(Ta / 100):
 * Idd = 25 * ((1 + X^6)^(1/6) - 3 * (1 + (X/3)^6)^(1/6) + 2). */
double an_idd(double ta_ms)
{
	if (!(ta_ms > 100.0))
		return 0;
	double x = log2(ta_ms / 100.0);
	return 25.0 * (pow(1.0 + pow(x, 6), 1.0 / 6) -
		       3.0 * pow(1.0 + pow(x / 3.0, 6), 1.0 / 6) + 2.0);
}

/* G.107 7.6 (the effective equipment impairment factor Ie,eff). */
double an_ie_eff(double ie, double bpl, double ppl_pct, double burst_r)
{
	if (ppl_pct <= 0)
		return ie;
	if (ppl_pct > 100)
		ppl_pct = 100;
	if (burst_r < 1)
		burst_r = 1;
	return ie + (95.0 - ie) * ppl_pct / (ppl_pct / burst_r + bpl);
}

double an_r_factor(double ie, double bpl, double ppl_pct, double burst_r, double ta_ms)
{
	/* G.107 7.1 with the default values of its Table 3: Ro - Is = 93.2 and
	 * the echo terms of Id (Idte, Idle) round away at T = Ta; A = 0. */
	double r = 93.2 - an_idd(ta_ms) - an_ie_eff(ie, bpl, ppl_pct, burst_r);
	return r < 0 ? 0 : r > 100 ? 100 : r;
}

/* G.107 Annex B, formula B-4. */
double an_mos(double r)
{
	if (r <= 0)
		return 1.0;
	if (r >= 100)
		return 4.5;
	return 1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r);
}

/* G.107 7.6: BurstR = 1 / (p + q) for a 2-state Markov model, p the
 * probability of a loss after a packet found, q of a packet found after a
 * loss; equal to (Ppl/100)/p = (1 - Ppl/100)/q. */
double an_burst_r(uint64_t found, uint64_t lost, uint64_t found_lost, uint64_t lost_found)
{
	if (!found || !lost)
		return 1.0;
	double p = (double)found_lost / (double)found;
	double q = (double)lost_found / (double)lost;
	/* a loss run still open at the end: q from the losses alone */
	if (q <= 0)
		q = 1.0 / (double)lost;
	if (p + q <= 0)
		return 1.0;
	double br = 1.0 / (p + q);
	return br < 1.0 ? 1.0 : br;
}
