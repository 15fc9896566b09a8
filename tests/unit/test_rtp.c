/*
 * test_rtp.c - RTP/RTCP parsing, stream statistics, telephone-events and
 * the static payload types.
 *
 * The statistics cases replay synthetic streams whose expected figures are
 * what `tshark -q -z rtp,streams` (Wireshark 4.0) printed for the same
 * packets written to a pcap (20 ms apart, timestamps +160 per sequence
 * step from 1000, PCMU, decoded with -d udp.port==40000,rtp).
 */
#include "check.h"
#include "rtp/rtp.h"

#include <math.h>

#define CHECK_NEAR(a, b, eps) CHECK(fabs((double)(a) - (double)(b)) <= (eps))

static size_t put_rtp(uint8_t *b, uint8_t pt, bool m, uint16_t seq, uint32_t ts,
		      uint32_t ssrc)
{
	b[0] = 0x80;
	b[1] = (uint8_t)((m ? 0x80 : 0) | pt);
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	b[4] = (uint8_t)(ts >> 24);
	b[5] = (uint8_t)(ts >> 16);
	b[6] = (uint8_t)(ts >> 8);
	b[7] = (uint8_t)ts;
	b[8] = (uint8_t)(ssrc >> 24);
	b[9] = (uint8_t)(ssrc >> 16);
	b[10] = (uint8_t)(ssrc >> 8);
	b[11] = (uint8_t)ssrc;
	return 12;
}

static void test_parse(void)
{
	uint8_t b[64];
	struct rtp_hdr h;

	/* Plain PCMA with a 4-byte payload. */
	size_t n = put_rtp(b, 8, true, 0x1234, 0xdeadbeef, 0x01020304);
	memcpy(b + n, "abcd", 4);
	CHECK_INT(rtp_parse(b, n + 4, &h), 0);
	CHECK_INT(h.version, 2);
	CHECK(h.marker);
	CHECK_INT(h.pt, 8);
	CHECK_INT(h.seq, 0x1234);
	CHECK(h.ts == 0xdeadbeef);
	CHECK_INT(h.ssrc, 0x01020304);
	CHECK_INT(h.payload_len, 4);
	CHECK(h.payload == b + 12);

	/* Two CSRCs, a one-word extension, 3 bytes of padding. */
	n = put_rtp(b, 0, false, 1, 2, 3);
	b[0] = 0x80 | 0x20 | 0x10 | 2;
	memset(b + n, 0xee, 8); /* CSRCs */
	n += 8;
	b[n] = 0xbe; b[n + 1] = 0xde; b[n + 2] = 0; b[n + 3] = 1; /* ext hdr */
	memset(b + n + 4, 0x11, 4);
	n += 8;
	memcpy(b + n, "PAYLOAD", 7);
	n += 7;
	b[n] = 0; b[n + 1] = 0; b[n + 2] = 3;
	n += 3;
	CHECK_INT(rtp_parse(b, n, &h), 0);
	CHECK_INT(h.cc, 2);
	CHECK(h.extension && h.padding);
	CHECK_INT(h.payload_len, 7);
	CHECK(h.payload == b + 12 + 8 + 8);
	CHECK(memcmp(h.payload, "PAYLOAD", 7) == 0);

	/* Padding that eats the whole payload is fine; more is not. */
	b[n - 1] = 10;
	CHECK_INT(rtp_parse(b, n, &h), 0);
	CHECK_INT(h.payload_len, 0);
	b[n - 1] = 11;
	CHECK_INT(rtp_parse(b, n, &h), ES_ETRUNC);
	b[n - 1] = 0;
	CHECK_INT(rtp_parse(b, n, &h), ES_EPARSE);
	b[n - 1] = 3;

	/* Truncated CSRC list, extension header, extension body. */
	CHECK_INT(rtp_parse(b, 11, &h), ES_ETRUNC);
	CHECK_INT(rtp_parse(b, 16, &h), ES_ETRUNC);
	CHECK_INT(rtp_parse(b, 22, &h), ES_ETRUNC);
	CHECK_INT(rtp_parse(b, 26, &h), ES_ETRUNC);
	/* Padding bit with nothing after the header. */
	CHECK_INT(rtp_parse(b, 28, &h), ES_ETRUNC);

	/* Version 1, version 0 (STUN-like), RTCP SR. */
	n = put_rtp(b, 0, false, 1, 2, 3);
	b[0] = 0x40;
	CHECK_INT(rtp_parse(b, n, &h), ES_EPARSE);
	b[0] = 0x00;
	CHECK_INT(rtp_parse(b, n, &h), ES_EPARSE);
	b[0] = 0x80;
	b[1] = 200;
	CHECK_INT(rtp_parse(b, n, &h), ES_EPARSE);
	CHECK(rtp_is_rtcp(b, n));
	b[1] = 0x80 | 0; /* marker + PCMU */
	CHECK(!rtp_is_rtcp(b, n));
	b[1] = 0x80 | 96;
	CHECK(!rtp_is_rtcp(b, n));
	CHECK(!rtp_is_rtcp(b, 4));
	CHECK_INT(rtp_parse(NULL, 0, &h), ES_EINVAL);
}

/* A packet of a synthetic stream: the tshark-checked streams use
 * ts = 1000 + 160 * (seq - first seq, mod 2^16). */
struct pkt {
	uint16_t seq;
	int64_t at_ms;
	bool marker;
};

static void feed(struct rtp_stats *s, const struct pkt *p, size_t n,
		 uint8_t pt, uint32_t step, uint32_t clock)
{
	rtp_stats_init(s, 0xa0000000);
	for (size_t i = 0; i < n; i++) {
		struct rtp_hdr h = {.version = 2, .pt = pt, .seq = p[i].seq,
				    .marker = p[i].marker, .ssrc = 0xa0000000,
				    .payload_len = 160};
		h.ts = 1000 + step * (uint16_t)(p[i].seq - p[0].seq);
		rtp_stats_update(s, &h, 1700000000000000LL + p[i].at_ms * 1000, clock);
	}
}

static void make(struct pkt *p, const uint16_t *seqs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		p[i].seq = seqs[i];
		p[i].at_ms = 20 * (int64_t)i;
		p[i].marker = false;
	}
}

static void test_stats_wrap(void)
{
	uint16_t seqs[12];
	struct pkt p[12];
	struct rtp_stats s;
	for (int i = 0; i < 12; i++)
		seqs[i] = (uint16_t)(65530 + i);
	make(p, seqs, 12);
	feed(&s, p, 12, 0, 160, 8000);
	/* tshark: 12 packets, 0 lost, max delta 20, jitter 0 */
	CHECK_INT(s.packets, 12);
	CHECK_INT(s.lost, 0);
	CHECK_INT(s.expected, 12);
	CHECK_INT(s.cycles, 1);
	CHECK_INT(s.seq_jumps, 0);
	CHECK_NEAR(s.delta_max_ms, 20.0, 1e-9);
	CHECK_NEAR(s.jitter_max_ms, 0, 1e-9);
	CHECK_INT(s.bytes, 12 * 160);
	CHECK_INT(s.npts, 1);
	CHECK_INT(s.clock_rate, 8000);
}

static void test_stats_reorder_dup_loss(void)
{
	struct pkt p[8];
	struct rtp_stats s;

	/* Reordering: tshark 6 packets, 0 lost, mean/max jitter 2.803/4.692 */
	static const uint16_t r[] = {1, 2, 4, 3, 5, 6};
	make(p, r, 6);
	feed(&s, p, 6, 0, 160, 8000);
	CHECK_INT(s.packets, 6);
	CHECK_INT(s.lost, 0);
	CHECK_INT(s.out_of_order, 1);
	CHECK_INT(s.duplicates, 0);
	CHECK_INT(s.seq_jumps, 2); /* the jump to 4, then the late 3 */
	CHECK_NEAR(s.jitter_mean_ms, 2.803, 0.0015);
	CHECK_NEAR(s.jitter_max_ms, 4.692, 0.0015);
	CHECK_NEAR(s.delta_max_ms, 20.0, 1e-9);

	/* Duplicates: tshark 8 packets, lost -3, jitter 1.313/3.387 */
	static const uint16_t d[] = {1, 2, 3, 3, 4, 5, 5, 5};
	make(p, d, 8);
	feed(&s, p, 8, 0, 160, 8000);
	CHECK_INT(s.packets, 8);
	CHECK_INT(s.lost, -3);
	CHECK_INT(s.duplicates, 3);
	CHECK_INT(s.out_of_order, 0);
	CHECK_NEAR(s.jitter_mean_ms, 1.313, 0.0015);
	CHECK_NEAR(s.jitter_max_ms, 3.387, 0.0015);

	/* Loss: tshark 5 packets, 2 lost, jitter 1.760/2.500 */
	static const uint16_t l[] = {1, 2, 5, 6, 7};
	make(p, l, 5);
	feed(&s, p, 5, 0, 160, 8000);
	CHECK_INT(s.packets, 5);
	CHECK_INT(s.expected, 7);
	CHECK_INT(s.lost, 2);
	CHECK_INT(s.seq_jumps, 1);
	CHECK_NEAR(s.jitter_mean_ms, 1.760, 0.0015);
	CHECK_NEAR(s.jitter_max_ms, 2.500, 0.0015);

	/* The last packet late: tshark counts expected up to the LAST
	 * sequence (4), not the highest (5): lost -1, jitter 1.230/3.672. */
	static const uint16_t z[] = {1, 2, 3, 5, 4};
	make(p, z, 5);
	feed(&s, p, 5, 0, 160, 8000);
	CHECK_INT(s.packets, 5);
	CHECK_INT(s.lost, -1);
	CHECK_INT(s.out_of_order, 1);
	CHECK_NEAR(s.jitter_mean_ms, 1.230, 0.0015);
	CHECK_NEAR(s.jitter_max_ms, 3.672, 0.0015);

	/* A late packet numbered just below a first sequence of 0 counts as a
	 * wrap, as in tshark: 6 packets, lost -1. */
	static const uint16_t w[] = {0, 1, 2, 65535, 3, 4};
	make(p, w, 6);
	feed(&s, p, 6, 0, 160, 8000);
	CHECK_INT(s.packets, 6);
	CHECK_INT(s.lost, -1);
	CHECK_NEAR(s.jitter_max_ms, 158711.562, 0.0015);
}

static void test_stats_restart(void)
{
	/* A sender restarting its sequence far ahead: tshark takes the jump
	 * as loss (8 packets, 29895 lost) and the timestamps, kept in step
	 * with the sequence here, as a huge jitter.  We report the same and
	 * count the jump; deciding that it is a new stream is the caller's. */
	static const uint16_t j[] = {100, 101, 102, 103, 104, 30000, 30001, 30002};
	struct pkt p[8];
	struct rtp_stats s;
	make(p, j, 8);
	feed(&s, p, 8, 0, 160, 8000);
	CHECK_INT(s.packets, 8);
	CHECK_INT(s.lost, 29895);
	CHECK_INT(s.seq_jumps, 1);
	CHECK_NEAR(s.jitter_mean_ms, 15035.083, 0.0015);
	CHECK_NEAR(s.jitter_max_ms, 37368.750, 0.0015);

	/* Far above after a few packets: tshark's "forward" jump. */
	static const uint16_t b[] = {5, 6, 7, 65000, 8, 9};
	make(p, b, 6);
	feed(&s, p, 6, 0, 160, 8000);
	CHECK_INT(s.packets, 6);
	CHECK_INT(s.lost, -1);
	CHECK_NEAR(s.jitter_mean_ms, 77241.953, 0.0015);
	CHECK_NEAR(s.jitter_max_ms, 157403.750, 0.0015);
}

static void test_stats_jitter(void)
{
	/* 20 ms of media per packet; arrivals at 0, 20, 50, 60, 80, 100 ms.
	 * By hand (RFC 3550 A.8, in ms): D = 0, 10, 10, 0, 0, so
	 * J = 0, 0.625, 1.2109375, 1.13525390625, 1.064300537109375;
	 * max 1.2109375, mean of the five = 0.80710... (tshark: 0.807,
	 * 1.211, max delta 30). */
	struct pkt p[6];
	static const int64_t at[] = {0, 20, 50, 60, 80, 100};
	struct rtp_stats s;
	for (int i = 0; i < 6; i++)
		p[i] = (struct pkt){.seq = (uint16_t)(10 + i), .at_ms = at[i]};
	feed(&s, p, 6, 0, 160, 8000);
	CHECK_NEAR(s.jitter_max_ms, 1.2109375, 1e-9);
	CHECK_NEAR(s.jitter_ms, 1.064300537109375, 1e-9);
	CHECK_NEAR(s.jitter_mean_ms,
		   (0 + 0.625 + 1.2109375 + 1.13525390625 + 1.064300537109375) / 5, 1e-9);
	CHECK_NEAR(s.delta_max_ms, 30.0, 1e-9);
	CHECK_INT(s.lost, 0);

	/* Clock rate 0 (unknown, telephone-event): no jitter at all. */
	feed(&s, p, 6, 101, 160, 0);
	CHECK_NEAR(s.jitter_max_ms, 0, 1e-12);
	CHECK_NEAR(s.jitter_mean_ms, 0, 1e-12);
	CHECK_INT(s.clock_rate, 0);

	/* L16 mono, 44100 Hz, 882 ticks per packet; Wireshark converts with
	 * the integer clock_rate / 1000 = 44.  tshark: 0.407 / 0.608, max
	 * delta 25. */
	static const int64_t at2[] = {0, 20, 45, 60, 80, 100};
	for (int i = 0; i < 6; i++)
		p[i] = (struct pkt){.seq = (uint16_t)(10 + i), .at_ms = at2[i]};
	feed(&s, p, 6, 11, 882, rtp_pt_static(11)->clock);
	CHECK_NEAR(s.jitter_mean_ms, 0.407, 0.0015);
	CHECK_NEAR(s.jitter_max_ms, 0.608, 0.0015);
	CHECK_NEAR(s.delta_max_ms, 25.0, 1e-9);

	/* A marker packet after a 260 ms silence is not "regular": its delta
	 * is left out of max delta (tshark: 20.0, jitter 3.516 / 14.062). */
	static const int64_t at3[] = {0, 20, 40, 300, 320};
	for (int i = 0; i < 5; i++)
		p[i] = (struct pkt){.seq = (uint16_t)(1000 + i), .at_ms = at3[i],
				    .marker = i == 3};
	feed(&s, p, 5, 0, 160, 8000);
	CHECK_NEAR(s.delta_max_ms, 20.0, 1e-9);
	CHECK_NEAR(s.jitter_mean_ms, 3.516, 0.0015);
	CHECK_NEAR(s.jitter_max_ms, 14.062, 0.0015);
	CHECK_INT(s.first_us, 1700000000000000LL);
	CHECK_INT(s.last_us, 1700000000000000LL + 320000);
}

static size_t put32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24); b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8); b[3] = (uint8_t)v;
	return 4;
}

static void test_rtcp(void)
{
	uint8_t b[256];
	size_t n = 0;
	struct rtcp_report r[4];
	unsigned nr = 99;

	/* SR with one report block. */
	b[n++] = 0x81; b[n++] = 200; b[n++] = 0; b[n++] = 12;
	n += put32(b + n, 0x11111111);
	n += put32(b + n, 0xe1234567); n += put32(b + n, 0x89abcdef); /* NTP */
	n += put32(b + n, 160000);
	n += put32(b + n, 1000);
	n += put32(b + n, 160000);
	n += put32(b + n, 0x22222222);
	b[n++] = 25; b[n++] = 0xff; b[n++] = 0xff; b[n++] = 0xfe; /* -2 */
	n += put32(b + n, 0x0001fffe);
	n += put32(b + n, 37);
	n += put32(b + n, 0x45670000);
	n += put32(b + n, 65536);
	/* RR with two blocks. */
	b[n++] = 0x82; b[n++] = 201; b[n++] = 0; b[n++] = 13;
	n += put32(b + n, 0x33333333);
	for (int i = 0; i < 2; i++) {
		n += put32(b + n, 0x44444440 + (uint32_t)i);
		b[n++] = 0; b[n++] = 0; b[n++] = 0; b[n++] = (uint8_t)(5 + i);
		for (int k = 0; k < 4; k++)
			n += put32(b + n, (uint32_t)(100 * i + k));
	}
	/* SDES: one chunk, CNAME "abc" + END, padded to 12 bytes. */
	size_t sdes = n;
	b[n++] = 0x81; b[n++] = 202; b[n++] = 0; b[n++] = 3;
	n += put32(b + n, 0x33333333);
	b[n++] = 1; b[n++] = 3; b[n++] = 'a'; b[n++] = 'b'; b[n++] = 'c';
	b[n++] = 0; b[n++] = 0; b[n++] = 0;
	/* BYE with a reason. */
	b[n++] = 0x81; b[n++] = 203; b[n++] = 0; b[n++] = 2;
	n += put32(b + n, 0x33333333);
	b[n++] = 3; b[n++] = 'b'; b[n++] = 'y'; b[n++] = 'e';

	CHECK_INT(rtcp_parse(b, n, r, 4, &nr), 0);
	CHECK_INT(nr, 2);
	CHECK_INT(r[0].type, 200);
	CHECK(r[0].has_sender_info);
	CHECK_INT(r[0].sender_ssrc, 0x11111111);
	CHECK(r[0].ntp == 0xe123456789abcdefULL);
	CHECK_INT(r[0].rtp_ts, 160000);
	CHECK_INT(r[0].sender_packets, 1000);
	CHECK_INT(r[0].sender_octets, 160000);
	CHECK_INT(r[0].nblocks, 1);
	CHECK_INT(r[0].blocks[0].ssrc, 0x22222222);
	CHECK_INT(r[0].blocks[0].fraction_lost, 25);
	CHECK_INT(r[0].blocks[0].cum_lost, -2);
	CHECK_INT(r[0].blocks[0].ext_max_seq, 0x0001fffe);
	CHECK_INT(r[0].blocks[0].jitter, 37);
	CHECK_INT(r[0].blocks[0].lsr, 0x45670000);
	CHECK_INT(r[0].blocks[0].dlsr, 65536);
	CHECK_INT(r[1].type, 201);
	CHECK(!r[1].has_sender_info);
	CHECK_INT(r[1].nblocks, 2);
	CHECK_INT(r[1].blocks[1].ssrc, 0x44444441);
	CHECK_INT(r[1].blocks[1].cum_lost, 6);
	CHECK_INT(r[1].blocks[1].jitter, 101);
	CHECK(rtp_is_rtcp(b, n));

	/* Only room for one report: the rest is still checked. */
	CHECK_INT(rtcp_parse(b, n, r, 1, &nr), 0);
	CHECK_INT(nr, 1);

	/* Truncated: the SR is kept, the RR is cut. */
	CHECK_INT(rtcp_parse(b, 60, r, 4, &nr), ES_ETRUNC);
	CHECK_INT(nr, 1);
	/* An SDES item running past its packet. */
	b[sdes + 9] = 40;
	CHECK_INT(rtcp_parse(b, n, r, 4, &nr), ES_EPARSE);
	CHECK_INT(nr, 2);
	b[sdes + 9] = 3;
	/* RR claiming more blocks than its length holds. */
	b[52] = 0x85;
	CHECK_INT(rtcp_parse(b, n, r, 4, &nr), ES_EPARSE);
	CHECK_INT(nr, 1);
	b[52] = 0x82;
	/* Not version 2; RTP given as RTCP. */
	b[0] = 0x41;
	CHECK_INT(rtcp_parse(b, n, r, 4, &nr), ES_EPARSE);
	CHECK_INT(nr, 0);
	b[0] = 0x81;
	uint8_t rtp[12];
	put_rtp(rtp, 0, false, 1, 2, 3);
	CHECK_INT(rtcp_parse(rtp, 12, r, 4, &nr), ES_EPARSE);
	CHECK_INT(rtcp_parse(b, 3, r, 4, &nr), ES_ETRUNC);
	CHECK_INT(rtcp_parse(b, n, NULL, 0, &nr), 0);
	CHECK_INT(nr, 0);
}

static void test_events(void)
{
	struct rtp_event e;
	static const uint8_t ev[] = {11, 0x80 | 10, 0x03, 0x20};
	CHECK_INT(rtp_event_parse(ev, 4, &e), 0);
	CHECK_INT(e.event, 11);
	CHECK(e.end);
	CHECK_INT(e.volume, 10);
	CHECK_INT(e.duration, 800);
	CHECK_INT(rtp_event_parse(ev, 3, &e), ES_ETRUNC);
	CHECK(rtp_event_char(0) == '0');
	CHECK(rtp_event_char(9) == '9');
	CHECK(rtp_event_char(10) == '*');
	CHECK(rtp_event_char(11) == '#');
	CHECK(rtp_event_char(12) == 'A');
	CHECK(rtp_event_char(15) == 'D');
	CHECK(rtp_event_char(16) == '!');
	CHECK(rtp_event_char(17) == '?');
	CHECK(rtp_event_char(255) == '?');
}

static void test_dtmf(void)
{
	struct rtp_dtmf_tracker t = {0};
	struct rtp_dtmf d;
	struct rtp_hdr h = {.version = 2, .pt = 101, .ts = 8000};
	struct rtp_event e = {.event = 5, .volume = 10};
	int digits = 0;

	/* Digit 5: start (marker), 4 updates, 3 end packets. */
	for (int i = 0; i < 8; i++) {
		h.seq = (uint16_t)(100 + i);
		h.marker = i == 0;
		e.end = i >= 5;
		e.duration = (uint16_t)(i < 5 ? 160 * (i + 1) : 800);
		if (rtp_dtmf_feed(&t, &h, &e, 1000000 + 20000 * i, &d)) {
			digits++;
			CHECK(d.digit == '5');
			CHECK_INT(d.start_us, 1000000);
			CHECK_INT(d.duration_ts, 800);
			CHECK_INT(d.volume, 10);
			CHECK_INT(i, 5); /* the first end packet */
		}
	}
	CHECK_INT(digits, 1);

	/* '#' whose end packets are all lost: reported when '1' starts. */
	h.ts = 16000;
	e = (struct rtp_event){.event = 11, .volume = 8, .duration = 320};
	CHECK(!rtp_dtmf_feed(&t, &h, &e, 2000000, &d));
	e.duration = 480;
	CHECK(!rtp_dtmf_feed(&t, &h, &e, 2020000, &d));
	h.ts = 24000;
	e = (struct rtp_event){.event = 1, .volume = 8, .duration = 160};
	CHECK(rtp_dtmf_feed(&t, &h, &e, 3000000, &d));
	CHECK(d.digit == '#');
	CHECK_INT(d.duration_ts, 480);
	CHECK_INT(d.start_us, 2000000);
	/* '1' ends normally, once. */
	e.end = true;
	e.duration = 640;
	CHECK(rtp_dtmf_feed(&t, &h, &e, 3060000, &d));
	CHECK(d.digit == '1');
	CHECK_INT(d.start_us, 3000000);
	CHECK(!rtp_dtmf_feed(&t, &h, &e, 3065000, &d));
	CHECK(!rtp_dtmf_feed(&t, &h, &e, 3070000, &d));

	/* Only an end packet arrives: reported at once. */
	h.ts = 40000;
	e = (struct rtp_event){.event = 12, .end = true, .duration = 400};
	CHECK(rtp_dtmf_feed(&t, &h, &e, 4000000, &d));
	CHECK(d.digit == 'A');
	CHECK(!rtp_dtmf_feed(&t, &h, &e, 4000000, &d));
}

static void test_pt(void)
{
	const struct rtp_pt_info *pi = rtp_pt_static(0);
	CHECK(pi && pi->clock == 8000 && pi->channels == 1);
	CHECK_STR(pi->name, "PCMU");
	CHECK_STR(rtp_pt_static(8)->name, "PCMA");
	CHECK_STR(rtp_pt_static(3)->name, "GSM");
	CHECK_STR(rtp_pt_static(4)->name, "G723");
	CHECK_STR(rtp_pt_static(9)->name, "G722");
	CHECK_INT(rtp_pt_static(9)->clock, 8000);
	CHECK_INT(rtp_pt_static(10)->clock, 44100);
	CHECK_INT(rtp_pt_static(10)->channels, 2);
	CHECK_INT(rtp_pt_static(11)->channels, 1);
	CHECK_STR(rtp_pt_static(13)->name, "CN");
	CHECK_STR(rtp_pt_static(18)->name, "G729");
	CHECK_INT(rtp_pt_static(6)->clock, 16000);
	CHECK_INT(rtp_pt_static(34)->clock, 90000);
	CHECK(rtp_pt_static(2) == NULL);
	CHECK(rtp_pt_static(19) == NULL);
	CHECK(rtp_pt_static(35) == NULL);
	CHECK(rtp_pt_static(96) == NULL);
	CHECK(rtp_pt_static(101) == NULL);
	CHECK(rtp_pt_static(255) == NULL);
}

/* A timestamp that restarts at 0 within one SSRC (the gateway of the
 * shared fax capture does so when it falls back from fax to audio) is one
 * step back of 1,001,440 ticks: one transit difference of 125,180 + 20 ms,
 * J = 125200 / 16.  Unwrapping against the first timestamp instead read it
 * as a wrap forward of ~2^32 ticks (~536,745 s): max jitter 33.5 million ms. */
static void test_stats_ts_step_back(void)
{
	struct rtp_stats s;
	rtp_stats_init(&s, 0xb0000000);
	for (uint16_t i = 0; i < 30; i++) {
		struct rtp_hdr h = {.version = 2, .pt = 8, .seq = (uint16_t)(100 + i),
				    .ssrc = 0xb0000000, .payload_len = 160};
		h.ts = i < 10 ? 1000000u + 160u * i : 160u * (uint32_t)(i - 10);
		rtp_stats_update(&s, &h, 1700000000000000LL + 20000LL * i, 8000);
	}
	CHECK_INT(s.packets, 30);
	CHECK_INT(s.lost, 0);
	CHECK_NEAR(s.jitter_max_ms, 125200.0 / 16, 1e-6);
	CHECK(s.jitter_ms < s.jitter_max_ms); /* decays after the step */
}

int main(void)
{
	RUN(test_parse);
	RUN(test_stats_wrap);
	RUN(test_stats_reorder_dup_loss);
	RUN(test_stats_restart);
	RUN(test_stats_ts_step_back);
	RUN(test_stats_jitter);
	RUN(test_rtcp);
	RUN(test_events);
	RUN(test_dtmf);
	RUN(test_pt);
	return CHECK_DONE();
}
