/* test_siprec.c - the recording server's RTP port pool and SDP answer. */
#include "siprec/siprec.h"
#include "check.h"

#include <stdlib.h>

static void test_ports(void)
{
	struct srs_ports *p;
	CHECK_INT(srs_ports_new(&p, 0, 100), ES_EINVAL);
	CHECK_INT(srs_ports_new(&p, 5000, 5000), ES_EINVAL);
	CHECK_INT(srs_ports_new(&p, 5001, 5002), ES_EINVAL); /* 5002 has no 5003 */
	/* an odd start is rounded up: 10001..10008 holds 10002, 10004, 10006 (+1 each) */
	CHECK_INT(srs_ports_new(&p, 10001, 10008), 0);
	CHECK_INT(srs_ports_available(p), 3);
	uint16_t a, b, c, d;
	CHECK_INT(srs_ports_take(p, &a), 0);
	CHECK_INT(srs_ports_take(p, &b), 0);
	CHECK_INT(srs_ports_take(p, &c), 0);
	/* all three, in an order of the pool's choosing */
	CHECK_INT(a + b + c, 10002 + 10004 + 10006);
	CHECK(a != b && b != c && a != c);
	CHECK(a % 2 == 0 && b % 2 == 0 && c % 2 == 0);
	CHECK_INT(srs_ports_take(p, &d), ES_ELIMIT);
	CHECK_INT(srs_ports_available(p), 0);
	srs_ports_give(p, 10003); /* odd: not a port of the pool */
	srs_ports_give(p, 9000);
	CHECK_INT(srs_ports_available(p), 0);
	srs_ports_give(p, b);
	srs_ports_give(p, b); /* twice: once counts */
	CHECK_INT(srs_ports_available(p), 1);
	CHECK_INT(srs_ports_take(p, &d), 0);
	CHECK_INT(d, b); /* resting, but nothing else is free */
	/* the pair given back last rests while another is free */
	srs_ports_give(p, a);
	srs_ports_give(p, c);
	CHECK_INT(srs_ports_take(p, &d), 0);
	CHECK_INT(d, a);
	CHECK_INT(srs_ports_take(p, &d), 0);
	CHECK_INT(d, c);
	srs_ports_free(p);

	/* a large range: every pair once, in an order nobody can predict (two
	 * pools do not agree on it, and it is not ascending) */
	struct srs_ports *q;
	CHECK_INT(srs_ports_new(&p, 20000, 65535), 0);
	CHECK_INT(srs_ports_new(&q, 20000, 65535), 0);
	CHECK_INT(srs_ports_available(p), 22768);
	uint8_t *seen = calloc(65536, 1);
	unsigned n = 0, ascending = 0, same = 0;
	uint16_t x, y, last = 0;
	while (seen && srs_ports_take(p, &x) == 0) {
		CHECK(x % 2 == 0 && x >= 20000 && x < 65535);
		CHECK(!seen[x]);
		seen[x] = 1;
		ascending += x > last;
		last = x;
		if (n < 64 && srs_ports_take(q, &y) == 0)
			same += x == y;
		n++;
	}
	CHECK_INT(n, 22768);
	CHECK(ascending < n / 2 + 500);
	CHECK(same < 4);
	free(seen);
	srs_ports_free(p);
	srs_ports_free(q);
}

/* A SIPREC offer: two labelled audio streams (one per party), a stream with
 * only a codec earshot does not decode, and video. */
static const char offer_text[] =
	"v=0\r\n"
	"o=SRC 2890844526 2890844526 IN IP4 198.51.100.1\r\n"
	"s=-\r\n"
	"c=IN IP4 198.51.100.1\r\n"
	"t=0 0\r\n"
	"m=audio 49170 RTP/AVP 0 8 96 101\r\n"
	"a=rtpmap:96 opus/48000/2\r\n"
	"a=fmtp:96 maxplaybackrate=16000\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=fmtp:101 0-15\r\n"
	"a=label:1\r\n"
	"a=sendonly\r\n"
	"m=audio 49172 RTP/AVP 9 101\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=label:2\r\n"
	"a=sendonly\r\n"
	"m=audio 49174 RTP/AVP 99\r\n"
	"a=rtpmap:99 EVS/16000\r\n"
	"a=label:3\r\n"
	"m=video 49176 RTP/AVP 97\r\n"
	"a=rtpmap:97 H264/90000\r\n"
	"a=label:4\r\n";

static void test_answer(void)
{
	struct sdp offer;
	CHECK_INT(sdp_parse(&offer, offer_text, strlen(offer_text)), 0);
	CHECK_INT(offer.nmedia, 4);
	uint16_t ports[4] = {30000, 30002, 30004, 30006};
	struct srs_answer_opts o = {.addr = "192.0.2.10", .session_id = 7, .version = 1};
	struct es_buf out;
	es_buf_init(&out);
	unsigned accepted = 9;
	CHECK_INT(srs_sdp_answer(&offer, ports, 3, &o, &out, &accepted), ES_EINVAL);
	CHECK_INT(srs_sdp_answer(&offer, ports, 4, &o, &out, &accepted), 0);
	CHECK_INT(accepted, 2);
	es_buf_append(&out, "", 1);
	const char *text = (const char *)out.p;
	struct sdp ans;
	CHECK_INT(sdp_parse(&ans, text, out.len - 1), 0);
	CHECK_INT(ans.nmedia, 4);
	/* stream 1: PCMU, PCMA, opus, telephone-event, receive only, label kept */
	CHECK_INT(ans.media[0].port, 30000);
	CHECK_INT(ans.media[0].nfmt, 4);
	CHECK_INT(ans.media[0].dir, SDP_RECVONLY);
	CHECK(sl_eq_str_ci(ans.media[0].label, "1"));
	const struct sdp_rtpmap *opus = sdp_rtpmap_find(&ans.media[0], 96);
	CHECK(opus && sl_eq_str_ci(opus->encoding, "opus") && opus->clock == 48000 &&
	      opus->channels == 2);
	CHECK(opus && sl_eq_str_ci(opus->fmtp, "maxplaybackrate=16000"));
	CHECK_INT(ans.media[0].telephone_event_pt, 101);
	CHECK_INT(ans.media[0].addr.port, 30000);
	char a[ES_ADDR_STRLEN];
	es_addr_fmt(&ans.media[0].addr, false, a, sizeof(a));
	CHECK_STR(a, "192.0.2.10");
	/* stream 2: G.722 */
	CHECK_INT(ans.media[1].port, 30002);
	CHECK_INT(ans.media[1].nfmt, 2);
	CHECK_INT(ans.media[1].fmts[0], 9);
	CHECK(sl_eq_str_ci(ans.media[1].label, "2"));
	/* stream 3: EVS only (not decoded): rejected, label still there */
	CHECK_INT(ans.media[2].port, 0);
	CHECK(sl_eq_str_ci(ans.media[2].label, "3"));
	/* video: rejected */
	CHECK_INT(ans.media[3].port, 0);
	CHECK(sl_eq_str_ci(ans.media[3].type, "video"));

	/* a stream the server has no port for is rejected; IPv6 */
	es_buf_reset(&out);
	uint16_t some[4] = {30000, 0, 30004, 30006};
	struct srs_answer_opts o6 = {.addr = "2001:db8::10", .session_id = 8, .version = 2};
	CHECK_INT(srs_sdp_answer(&offer, some, 4, &o6, &out, &accepted), 0);
	CHECK_INT(accepted, 1);
	es_buf_append(&out, "", 1);
	CHECK(strstr((const char *)out.p, "c=IN IP6 2001:db8::10\r\n") != NULL);
	CHECK_INT(sdp_parse(&ans, (const char *)out.p, out.len - 1), 0);
	CHECK_INT(ans.media[1].port, 0);
	es_buf_free(&out);
}

static const char invite[] =
	"INVITE sip:srs@192.0.2.10 SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKa1\r\n"
	"Via: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bKb2, SIP/2.0/UDP 198.51.100.8;branch=z9hG4bKc3\r\n"
	"From: <sip:src@example.com>;tag=s1\r\n"
	"To: <sip:srs@example.com>\r\n"
	"Call-ID: rec-1@src\r\n"
	"CSeq: 101 INVITE\r\n"
	"Require: siprec\r\n"
	"Content-Length: 0\r\n\r\n";

static void test_response(void)
{
	struct sip_msg req, resp;
	CHECK_INT(sip_msg_parse(&req, invite, strlen(invite)), 0);
	struct es_buf out;
	es_buf_init(&out);
	const char sdp[] = "v=0\r\n";
	struct srs_body body = {"application/sdp", sdp, strlen(sdp)};
	CHECK_INT(srs_response(&req, 200, "OK", "t9", "Contact: <sip:srs@192.0.2.10>;+sip.src\r\n",
			       &body, &out), 0);
	CHECK_INT(sip_msg_parse(&resp, (const char *)out.p, out.len), 0);
	CHECK(!resp.is_request);
	CHECK_INT(resp.status, 200);
	CHECK_INT(resp.nvia, 3);
	CHECK(sl_eq_str_ci(resp.via_branch, "z9hG4bKa1"));
	CHECK(sl_eq_str_ci(resp.to, "<sip:srs@example.com>;tag=t9"));
	CHECK(sl_eq_str_ci(resp.from, "<sip:src@example.com>;tag=s1"));
	CHECK(sl_eq_str_ci(resp.call_id, "rec-1@src"));
	CHECK_INT(resp.cseq, 101);
	CHECK(sl_eq_str_ci(resp.cseq_method, "INVITE"));
	CHECK(sl_eq_str_ci(resp.body, sdp));
	CHECK(sl_eq_str_ci(resp.content_type, "application/sdp"));
	CHECK(sl_eq_str_ci(sip_msg_hdr(&resp, SIP_H_CONTACT), "<sip:srs@192.0.2.10>;+sip.src"));

	/* the To already has a tag (an in-dialog request): not added twice */
	static const char bye[] =
		"BYE sip:srs@192.0.2.10 SIP/2.0\r\nVia: SIP/2.0/TCP 198.51.100.1;branch=z9hG4bKd4\r\n"
		"From: <sip:src@example.com>;tag=s1\r\nTo: \"SRS\" <sip:srs@example.com>;tag=t9\r\n"
		"Call-ID: rec-1@src\r\nCSeq: 102 BYE\r\nContent-Length: 0\r\n\r\n";
	CHECK_INT(sip_msg_parse(&req, bye, strlen(bye)), 0);
	es_buf_reset(&out);
	CHECK_INT(srs_response(&req, 481, "Call/Transaction Does Not Exist", "zz", NULL, NULL, &out), 0);
	CHECK_INT(sip_msg_parse(&resp, (const char *)out.p, out.len), 0);
	CHECK_INT(resp.status, 481);
	CHECK(sl_eq_str_ci(resp.to, "\"SRS\" <sip:srs@example.com>;tag=t9"));
	CHECK_INT(resp.content_length, 0);
	CHECK(resp.has_content_length);

	/* a response cannot be answered; a bad code is refused */
	es_buf_reset(&out);
	CHECK_INT(srs_response(&resp, 200, "OK", NULL, NULL, NULL, &out), ES_EINVAL);
	CHECK_INT(sip_msg_parse(&req, invite, strlen(invite)), 0);
	CHECK_INT(srs_response(&req, 99, "x", NULL, NULL, NULL, &out), ES_EINVAL);
	CHECK_INT(out.len, 0);
	es_buf_free(&out);
}

static void test_ports_block(void)
{
	struct srs_ports *p;
	uint16_t a, b;
	CHECK_INT(srs_ports_new(&p, 10000, 10011), 0); /* 6 pairs */
	CHECK_INT(srs_ports_take_block(p, 2, &a), 0);
	CHECK(a >= 10000 && a <= 10008 && a % 2 == 0);
	CHECK_INT(srs_ports_available(p), 4);
	srs_ports_give(p, a);
	srs_ports_give(p, (uint16_t)(a + 2));
	CHECK_INT(srs_ports_take_block(p, 6, &b), 0); /* the only run of six */
	CHECK_INT(b, 10000);
	CHECK_INT(srs_ports_available(p), 0);
	CHECK_INT(srs_ports_take_block(p, 1, &b), ES_ELIMIT);
	srs_ports_give(p, 10000);
	srs_ports_give(p, 10004);
	/* 10000 and 10004 are free but not consecutive */
	CHECK_INT(srs_ports_take_block(p, 2, &b), ES_ELIMIT);
	srs_ports_give(p, 10002);
	CHECK_INT(srs_ports_take_block(p, 3, &b), 0);
	CHECK_INT(b, 10000);
	CHECK_INT(srs_ports_take_block(p, 7, &b), ES_ELIMIT);
	CHECK_INT(srs_ports_take_block(p, 0, &b), ES_ELIMIT);
	srs_ports_free(p);
}

int main(void)
{
	RUN(test_ports);
	RUN(test_ports_block);
	RUN(test_answer);
	RUN(test_response);
	return CHECK_DONE();
}
