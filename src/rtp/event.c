/*
 * event.c - RFC 4733 telephone-events and the tracker that turns a run of
 * event packets into one digit.
 *
 * A sender repeats an event in packets that share one RTP timestamp (the
 * event's start), with a growing duration, and sends the final packet, E
 * bit set, usually three times.  The digit is reported on the first end
 * packet; later copies are ignored.  When the end packets are all lost, the
 * start of the next event (a new timestamp) closes the pending one.
 */
#include "rtp/rtp.h"

static uint16_t rtp_rd16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

int rtp_event_parse(const uint8_t *p, size_t len, struct rtp_event *e)
{
	if (!p || !e)
		return ES_EINVAL;
	if (len < 4)
		return ES_ETRUNC;
	e->event = p[0];
	e->end = (p[1] & 0x80) != 0;
	e->volume = p[1] & 0x3f;
	e->duration = rtp_rd16(p + 2);
	return 0;
}

char rtp_event_char(uint8_t event)
{
	if (event <= 9)
		return (char)('0' + event);
	switch (event) {
	case 10: return '*';
	case 11: return '#';
	case 12: case 13: case 14: case 15: return (char)('A' + event - 12);
	case 16: return '!';
	default: return '?';
	}
}

static void dtmf_emit(const struct rtp_dtmf_tracker *t, struct rtp_dtmf *out)
{
	out->digit = rtp_event_char(t->event);
	out->start_us = t->start_us;
	out->duration_ts = t->duration;
	out->volume = t->volume;
}

bool rtp_dtmf_feed(struct rtp_dtmf_tracker *t, const struct rtp_hdr *h,
		   const struct rtp_event *e, int64_t arrival_us,
		   struct rtp_dtmf *out)
{
	bool got = false;

	if (!t || !h || !e || !out)
		return false;
	if (t->active && h->ts == t->ts && e->event == t->event) {
		/* Same event: a longer duration, or a repeated end packet. */
		if (t->reported)
			return false;
		if (e->duration > t->duration)
			t->duration = e->duration;
		t->volume = e->volume;
		if (e->end) {
			t->reported = true;
			dtmf_emit(t, out);
			return true;
		}
		return false;
	}

	/* A new event; it closes a pending one whose end packets were lost. */
	if (t->active && !t->reported) {
		dtmf_emit(t, out);
		got = true;
	}
	t->active = true;
	t->reported = false;
	t->ts = h->ts;
	t->event = e->event;
	t->duration = e->duration;
	t->volume = e->volume;
	t->start_us = arrival_us;
	if (e->end && !got) {
		t->reported = true;
		dtmf_emit(t, out);
		got = true;
	}
	/* When got already holds the previous digit, an end packet of this
	 * one is reported by its retransmission, which senders always send. */
	return got;
}
