/*
 * stats.c - per-stream RTP statistics computed the way Wireshark's RTP
 * stream analysis does (tshark -z rtp,streams, Wireshark 4.0), so that the
 * figures we store compare one to one with what an engineer sees there:
 *
 *  - the first packet sets the base sequence, timestamp and arrival time;
 *  - the sequence wraps are counted with Wireshark's "under" heuristic:
 *    a sequence below the first one starts a new cycle, a sequence above
 *    it again ends the wrapped state;
 *  - expected = last sequence + 65536 * cycles - first sequence + 1, and
 *    lost = expected - packets, negative when duplicates outnumber losses;
 *  - jitter (RFC 3550 A.8) is kept in milliseconds as a double: the
 *    transit difference is the arrival gap minus the timestamp gap, both
 *    in ms, J += (|D| - J) / 16.  Packets with clock rate 0 (unknown
 *    payload, telephone-event) leave jitter and the last nominal time as
 *    they are;
 *  - max delta, max jitter and mean jitter only count "regular" packets:
 *    not the first, not a marker packet with a later timestamp, not a
 *    wrong-timestamp marker packet, not comfort noise nor the packet that
 *    follows comfort noise.
 */
#include "rtp/rtp.h"

#include <math.h>
#include <string.h>

#define PT_CN 13
#define PT_CN_OLD 19

void rtp_stats_init(struct rtp_stats *s, uint32_t ssrc)
{
	memset(s, 0, sizeof(*s));
	s->ssrc = ssrc;
}

static void stats_note_pt(struct rtp_stats *s, uint8_t pt)
{
	for (unsigned i = 0; i < s->npts; i++)
		if (s->pts[i] == pt)
			return;
	if (s->npts < sizeof(s->pts))
		s->pts[s->npts++] = pt;
}

/* Window of the last 128 sequence numbers at or below seq_num: bit i of
 * the window is seq_num - i. */
static bool window_test(const struct rtp_stats *s, uint16_t back)
{
	if (back >= 128)
		return false;
	return (s->seen_window[back / 64] >> (back % 64)) & 1;
}

static void window_set(struct rtp_stats *s, uint16_t back)
{
	if (back < 128)
		s->seen_window[back / 64] |= (uint64_t)1 << (back % 64);
}

static void window_advance(struct rtp_stats *s, uint16_t by)
{
	if (by >= 128) {
		s->seen_window[0] = s->seen_window[1] = 0;
	} else if (by >= 64) {
		s->seen_window[1] = s->seen_window[0] << (by - 64);
		s->seen_window[0] = 0;
	} else if (by > 0) {
		s->seen_window[1] = s->seen_window[1] << by |
				    s->seen_window[0] >> (64 - by);
		s->seen_window[0] <<= by;
	}
	window_set(s, 0);
}

static double ts_to_ms(double ticks, uint32_t clock_rate)
{
	/* Wireshark divides by clock_rate / 1000 in integers. */
	if (clock_rate >= 1000)
		return ticks / (double)(clock_rate / 1000);
	return ticks * 1000.0 / clock_rate;
}

void rtp_stats_update(struct rtp_stats *s, const struct rtp_hdr *h,
		      int64_t arrival_us, uint32_t clock_rate)
{
	uint16_t seq = h->seq;

	s->bytes += h->payload_len;
	stats_note_pt(s, h->pt);

	if (!s->started) {
		s->started = true;
		s->base_seq = s->max_seq = s->seq_num = seq;
		s->first_ts = s->last_ts = h->ts;
		s->first_us = s->last_us = s->last_arrival_us = arrival_us;
		s->last_transit = 0;
		s->ext_ts = 0;
		s->last_pt = h->pt;
		s->packets = 1;
		s->expected = 1;
		s->lost = 0;
		s->jitter_ms = s->jitter_max_ms = s->jitter_mean_ms = 0;
		s->delta_max_ms = 0;
		s->delta_ms = 0;
		s->jitter_n = 0;
		if (clock_rate)
			s->clock_rate = clock_rate;
		window_advance(s, 128);
		return;
	}

	/* Sequence wraps, Wireshark's way. */
	if (seq < s->base_seq && !s->under) {
		s->cycles++;
		s->under = true;
	} else if (seq == 0 && s->max_seq == 65535 && !s->under) {
		s->cycles++;
		s->under = true;
	} else if (seq > s->base_seq && s->under) {
		s->under = false;
	}

	/* In order, a forward jump (loss, or a wrap with loss), or late /
	 * duplicated; the same tests as Wireshark, which counts the last two
	 * as sequence errors. */
	uint32_t last = s->seq_num;
	if (last + 1 == seq || (last == 65535 && seq == 0)) {
		window_advance(s, 1);
		s->seq_num = seq;
	} else if (last + 1 < seq || last - seq > 0xff00) {
		window_advance(s, (uint16_t)(seq - last));
		s->seq_num = seq;
		s->seq_jumps++;
	} else {
		uint16_t back = (uint16_t)(last - seq);
		s->seq_jumps++;
		if (window_test(s, back)) {
			s->duplicates++;
		} else {
			s->out_of_order++;
			window_set(s, back);
		}
	}

	bool cn = h->pt == PT_CN || h->pt == PT_CN_OLD;
	bool follow_cn = s->last_pt == PT_CN || s->last_pt == PT_CN_OLD;
	s->last_pt = h->pt;

	/* Milliseconds since the first packet, as Wireshark's relative time;
	 * in doubles so that no clock value can overflow. */
	double now = ((double)arrival_us - (double)s->first_us) / 1000.0;
	double prev = ((double)s->last_arrival_us - (double)s->first_us) / 1000.0;
	double jitter_now = 0;

	/* Unwrapped against the previous packet, not the first: a
	 * timestamp that restarts lower within one SSRC (a gateway switching
	 * to fax and back) is a step back, not a wrap of 2^32 ticks that
	 * would add 2^32/rate to one transit. */
	s->ext_ts += (int32_t)(h->ts - s->last_ts);
	if (clock_rate) {
		double ticks = (double)s->ext_ts;
		double nominal = ts_to_ms(ticks, clock_rate);
		double expected = prev + (nominal - s->last_transit);
		double d = fabs(now - expected);
		jitter_now = (15 * s->jitter_ms + d) / 16;
		s->delta_ms = now - prev;
		s->jitter_ms = jitter_now;
		s->last_transit = nominal;
		s->clock_rate = clock_rate;
	}

	bool marker = false, wrong_ts = false;
	if (h->marker) {
		if (h->ts > s->last_ts)
			marker = true;
		else
			wrong_ts = true;
	}
	if (!marker && !wrong_ts && !cn && !follow_cn) {
		if (s->delta_ms > s->delta_max_ms)
			s->delta_max_ms = s->delta_ms;
		if (clock_rate) {
			if (s->jitter_ms > s->jitter_max_ms)
				s->jitter_max_ms = s->jitter_ms;
			/* Wireshark weighs by the packets after the first,
			 * irregular ones included. */
			s->jitter_mean_ms = (s->jitter_mean_ms * (double)(s->packets - 1) +
					     jitter_now) / (double)s->packets;
			s->jitter_sum += jitter_now;
			s->jitter_n++;
		}
	}

	s->last_arrival_us = arrival_us;
	s->last_us = arrival_us;
	s->last_ts = h->ts;
	s->max_seq = seq;
	s->packets++;
	s->expected = (uint64_t)s->max_seq + 65536ull * s->cycles - s->base_seq + 1;
	s->lost = (int64_t)s->expected - (int64_t)s->packets;
}
