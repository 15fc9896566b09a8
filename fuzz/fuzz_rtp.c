/*
 * fuzz_rtp.c - libFuzzer harness for the rtp layer: RTP and RTCP parsing
 * (RTCP XR VoIP metrics too),
 * telephone-events, and the statistics and DTMF tracker fed with pieces
 * of the input as a packet sequence.
 */
#include "rtp/rtp.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rtp_hdr h;
	struct rtcp_report rep[4];
	unsigned n;
	struct rtp_event e;

	/* The whole input as one packet of each kind. */
	if (rtp_parse(data, size, &h) == 0) {
		if (h.payload_len && h.payload[0] == 0xff)
			(void)h.payload[h.payload_len - 1]; /* slice in bounds */
		if (rtp_event_parse(h.payload, h.payload_len, &e) == 0)
			(void)rtp_event_char(e.event);
	}
	(void)rtp_is_rtcp(data, size);
	(void)rtcp_parse(data, size, rep, 4, &n);
	(void)rtcp_parse(data, size, NULL, 0, &n);
	struct rtcp_xr_voip xr[2];
	if (rtcp_parse_xr(data, size, xr, 2, &n) == 0 && n)
		(void)xr[n - 1].jb_abs_max_ms;
	(void)rtcp_parse_xr(data, size, NULL, 0, &n);
	(void)rtp_event_parse(data, size, &e);
	if (size)
		(void)rtp_pt_static(data[0]);

	/* The input as a sequence of packets: a length byte, an arrival gap
	 * byte (ms), then the packet. */
	struct rtp_stats st;
	struct rtp_dtmf_tracker t;
	struct rtp_dtmf d;
	int64_t now = 1000000;
	memset(&t, 0, sizeof(t));
	rtp_stats_init(&st, 0);
	size_t off = 0;
	while (size - off >= 2) {
		size_t len = data[off];
		now += (int64_t)data[off + 1] * 1000;
		off += 2;
		if (len > size - off)
			len = size - off;
		if (rtp_parse(data + off, len, &h) == 0) {
			const struct rtp_pt_info *pi = rtp_pt_static(h.pt);
			uint32_t clock = pi ? pi->clock : (h.pt & 1) ? 48000 : 0;
			rtp_stats_update(&st, &h, now, clock);
			if (rtp_event_parse(h.payload, h.payload_len, &e) == 0 &&
			    rtp_dtmf_feed(&t, &h, &e, now, &d))
				(void)rtp_event_char((uint8_t)d.digit);
		}
		off += len;
	}
	return 0;
}
