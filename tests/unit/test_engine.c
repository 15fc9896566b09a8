/* test_engine.c - the recording engine's ends of a call that only a live
 * recorder meets: RTP that stops without a BYE, a call longer than the
 * limit, an RFC 4028 session interval that passes without a refresh, and
 * the shutdown; plus a call the recording rules skip.  Packets are raw IPv4
 * datagrams (DLT_RAW) fed to rec_engine_frame, time moved by
 * rec_engine_tick. */
#include "record/record.h"
#include "check.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define S(x) ((int64_t)(x) * ES_US_PER_SEC)
#define T0 S(1700000000)

struct ended {
	char reason[32];
	char flags[128];
	char rule[32];
	int64_t end_us;
	int sip_code;
	unsigned n;
};

static int on_call(void *ud, struct idx_call *c, const char *media_log)
{
	struct ended *e = ud;
	(void)media_log;
	snprintf(e->reason, sizeof(e->reason), "%s", c->end_reason ? c->end_reason : "");
	snprintf(e->flags, sizeof(e->flags), "%s", c->flags ? c->flags : "");
	snprintf(e->rule, sizeof(e->rule), "%s", c->rule ? c->rule : "");
	e->end_us = c->end_us;
	e->sip_code = c->sip_code;
	e->n++;
	return 0;
}

/* An IPv4/UDP datagram around payload, into buf; returns its length. */
static size_t udp(uint8_t *buf, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
		  const void *payload, size_t len)
{
	size_t total = 20 + 8 + len;
	memset(buf, 0, 28);
	buf[0] = 0x45;
	buf[2] = (uint8_t)(total >> 8);
	buf[3] = (uint8_t)total;
	buf[8] = 64;
	buf[9] = 17;
	for (int i = 0; i < 4; i++) {
		buf[12 + i] = (uint8_t)(src >> (24 - 8 * i));
		buf[16 + i] = (uint8_t)(dst >> (24 - 8 * i));
	}
	buf[20] = (uint8_t)(sport >> 8);
	buf[21] = (uint8_t)sport;
	buf[22] = (uint8_t)(dport >> 8);
	buf[23] = (uint8_t)dport;
	buf[24] = (uint8_t)((8 + len) >> 8);
	buf[25] = (uint8_t)(8 + len);
	memcpy(buf + 28, payload, len);
	return total;
}

#define A 0x0A000001u /* 10.0.0.1, the caller */
#define B 0x0A000002u /* 10.0.0.2, the callee */

static uint64_t frame_no;

static void sip(struct rec_engine *e, int64_t ts, bool from_a, const char *text)
{
	uint8_t buf[4096];
	size_t n = udp(buf, from_a ? A : B, 5060, from_a ? B : A, 5060, text, strlen(text));
	rec_engine_frame(e, 12, buf, n, ts, ++frame_no);
}

/* A PCMU packet of 20 ms: sequence seq, timestamp seq * 160, SSRC ssrc. */
static void rtp_packet(uint8_t p[12 + 160], uint16_t seq, uint8_t ssrc)
{
	memset(p, 0, 12);
	p[0] = 0x80;
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	uint32_t rts = seq * 160u;
	p[4] = (uint8_t)(rts >> 24);
	p[5] = (uint8_t)(rts >> 16);
	p[6] = (uint8_t)(rts >> 8);
	p[7] = (uint8_t)rts;
	p[11] = ssrc;
	memset(p + 12, 0xFF, 160);
}

static void rtp(struct rec_engine *e, int64_t ts, bool from_a, uint16_t seq)
{
	uint8_t p[12 + 160];
	rtp_packet(p, seq, from_a ? 1 : 2);
	uint8_t buf[256];
	size_t n = udp(buf, from_a ? A : B, from_a ? 4000 : 6000, from_a ? B : A,
		       from_a ? 6000 : 4000, p, sizeof(p));
	rec_engine_frame(e, 12, buf, n, ts, ++frame_no);
}

static char *msg(const char *start, const char *totag, unsigned cseq, const char *method,
		 const char *extra, bool sdp_a, bool sdp_b)
{
	static char out[2048];
	char sdp[256] = "";
	if (sdp_a || sdp_b)
		snprintf(sdp, sizeof(sdp),
			 "v=0\r\no=- 1 1 IN IP4 10.0.0.%d\r\ns=-\r\nc=IN IP4 10.0.0.%d\r\nt=0 0\r\n"
			 "m=audio %d RTP/AVP 0\r\n", sdp_a ? 1 : 2, sdp_a ? 1 : 2, sdp_a ? 4000 : 6000);
	snprintf(out, sizeof(out),
		 "%s\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK%u%s\r\n"
		 "From: <sip:+4930111@example.com>;tag=a\r\nTo: <sip:+4930222@example.com>%s%s\r\n"
		 "Call-ID: engine-test@x\r\nCSeq: %u %s\r\n%s%s"
		 "Content-Length: %zu\r\n\r\n%s",
		 start, cseq, method, totag ? ";tag=" : "", totag ? totag : "", cseq, method,
		 extra ? extra : "", sdp[0] ? "Content-Type: application/sdp\r\n" : "", strlen(sdp),
		 sdp);
	return out;
}

/* INVITE / 200 (with extra headers) / ACK at T0, then RTP both ways for
 * `secs` seconds. */
static void answered_call(struct rec_engine *e, const char *ok_extra, int secs)
{
	sip(e, T0, true, msg("INVITE sip:+4930222@10.0.0.2 SIP/2.0", NULL, 1, "INVITE", NULL, true,
			     false));
	sip(e, T0 + 1000, false, msg("SIP/2.0 200 OK", "b", 1, "INVITE", ok_extra, false, true));
	sip(e, T0 + 2000, true, msg("ACK sip:+4930222@10.0.0.2 SIP/2.0", "b", 1, "ACK", NULL,
				    false, false));
	for (int i = 0; i < secs * 50; i++) {
		rtp(e, T0 + S(0) + 20000 * i + 5000, true, (uint16_t)i);
		rtp(e, T0 + S(0) + 20000 * i + 6000, false, (uint16_t)i);
	}
}

static struct rec_engine *engine(struct rec_config *cfg, struct ended *out)
{
	struct rec_engine *e = NULL;
	memset(out, 0, sizeof(*out));
	CHECK_INT(rec_engine_new(&e, cfg, on_call, out), 0);
	return e;
}

static void test_rtp_timeout(void)
{
	struct rec_config cfg;
	rec_config_default(&cfg);
	cfg.rtp_timeout_us = S(5);
	struct ended got;
	struct rec_engine *e = engine(&cfg, &got);
	answered_call(e, NULL, 10);
	rec_engine_tick(e, T0 + S(14)); /* 4 s after the last packet: still open */
	CHECK_INT(got.n, 0);
	rec_engine_tick(e, T0 + S(16));
	CHECK_INT(got.n, 1);
	CHECK_STR(got.reason, "rtp_timeout");
	CHECK(got.end_us >= T0 + S(9) && got.end_us <= T0 + S(10)); /* the last packet */
	rec_engine_free(e);
}

static void test_max_duration(void)
{
	struct rec_config cfg;
	rec_config_default(&cfg);
	cfg.max_duration_us = S(6);
	struct ended got;
	struct rec_engine *e = engine(&cfg, &got);
	answered_call(e, NULL, 10); /* packets until 10 s: the sweep inside ends it */
	CHECK_INT(got.n, 1);
	CHECK_STR(got.reason, "max_duration");
	rec_engine_free(e);
}

static void test_session_timer(void)
{
	struct rec_config cfg;
	rec_config_default(&cfg);
	cfg.session_timers = true;
	struct ended got;
	struct rec_engine *e = engine(&cfg, &got);
	answered_call(e, "Session-Expires: 8;refresher=uac\r\nRequire: timer\r\n", 12);
	/* RTP still flows, but the 8 s interval passed without a refresh */
	CHECK_INT(got.n, 1);
	CHECK_STR(got.reason, "session_timer");
	rec_engine_free(e);

	/* switched off: the same call goes on */
	cfg.session_timers = false;
	e = engine(&cfg, &got);
	answered_call(e, "Session-Expires: 8;refresher=uac\r\n", 12);
	CHECK_INT(got.n, 0);
	rec_engine_shutdown(e, T0 + S(13));
	CHECK_INT(got.n, 1);
	CHECK_STR(got.reason, "shutdown");
	rec_engine_free(e);
}

/* Issue #14: a call that ended is closed before a packet an hour later is
 * handled: the same Call-ID's new INVITE is a new call, and the old call
 * does not grow by an hour. */
static void test_reuse_after_hour(void)
{
	struct rec_config cfg;
	rec_config_default(&cfg);
	struct ended got;
	struct rec_engine *e = engine(&cfg, &got);
	answered_call(e, NULL, 2);
	sip(e, T0 + S(3), true, msg("BYE sip:+4930222@10.0.0.2 SIP/2.0", "b", 2, "BYE", NULL,
				    false, false));
	CHECK_INT(got.n, 0);
	sip(e, T0 + S(3600), true, msg("INVITE sip:+4930222@10.0.0.2 SIP/2.0", NULL, 1, "INVITE",
				       NULL, true, false));
	CHECK_INT(got.n, 1);
	CHECK_STR(got.reason, "bye");
	CHECK(got.end_us == T0 + S(3));
	rec_engine_flush(e, T0 + S(3601));
	CHECK_INT(got.n, 2);
	rec_engine_free(e);
}

/* Issue #14: an INVITE challenged with 407 and retried 40 s later (past
 * the linger) is one call with the retry's final response. */
static void test_challenge_wait(void)
{
	struct rec_config cfg;
	rec_config_default(&cfg);
	struct ended got;
	struct rec_engine *e = engine(&cfg, &got);
	const char *inv = "INVITE sip:+4930222@10.0.0.2 SIP/2.0";
	sip(e, T0, true, msg(inv, NULL, 1, "INVITE", NULL, true, false));
	sip(e, T0 + 1000, false, msg("SIP/2.0 407 Proxy Authentication Required", "p", 1, "INVITE",
				     NULL, false, false));
	sip(e, T0 + 2000, true, msg("ACK sip:+4930222@10.0.0.2 SIP/2.0", "p", 1, "ACK", NULL,
				    false, false));
	rec_engine_tick(e, T0 + S(40));
	CHECK_INT(got.n, 0);
	sip(e, T0 + S(40), true, msg(inv, NULL, 2, "INVITE", NULL, true, false));
	sip(e, T0 + S(41), false, msg("SIP/2.0 480 Temporarily Unavailable", "q", 2, "INVITE", NULL,
				      false, false));
	rec_engine_flush(e, T0 + S(42));
	CHECK_INT(got.n, 1);
	CHECK_INT(got.sip_code, 480);
	CHECK(!strstr(got.flags, "forked"));
	/* without a retry the call ends challenge_wait after its 407 */
	e = (rec_engine_free(e), engine(&cfg, &got));
	sip(e, T0, true, msg(inv, NULL, 1, "INVITE", NULL, true, false));
	sip(e, T0 + 1000, false, msg("SIP/2.0 407 Proxy Authentication Required", "p", 1, "INVITE",
				     NULL, false, false));
	rec_engine_tick(e, T0 + S(119));
	CHECK_INT(got.n, 0);
	rec_engine_tick(e, T0 + S(122));
	CHECK_INT(got.n, 1);
	CHECK_INT(got.sip_code, 407);
	rec_engine_free(e);
}

static void test_rules(void)
{
	struct es_conf conf;
	char err[256];
	static const char text[] = "[do-not-record]\nnumber = +4930222\n";
	CHECK_INT(es_conf_parse(&conf, "t.conf", text, err, sizeof(err)), 0);
	struct pol_rules *rules = NULL;
	CHECK_INT(pol_rules_from_conf(&rules, &conf, err, sizeof(err)), 0);
	es_conf_free(&conf);
	const struct pol_rules *_Atomic ref = rules;
	struct rec_config cfg;
	rec_config_default(&cfg);
	cfg.rules = &ref;
	struct ended got;
	struct rec_engine *e = engine(&cfg, &got);
	answered_call(e, NULL, 2);
	rec_engine_flush(e, T0 + S(3));
	CHECK_INT(got.n, 1);
	CHECK(strstr(got.flags, "not_recorded") != NULL);
	CHECK_STR(got.rule, "do-not-record");
	CHECK_STR(got.reason, "capture_end");
	rec_engine_free(e);
	pol_rules_free(rules);
}


/* ---- a SIPREC recording session (RFC 7866) seen on the wire ---------------------
 * A = the recording client (10.0.0.1), B = the recording server (10.0.0.2).
 * The metadata (written for this test) names Alice first and has her send
 * the stream labelled "2", on the second m= line: parties go by label, not
 * by line order.  Then a pause and a resume (re-INVITEs), a partial
 * metadata update renaming Alice (UPDATE), BYE. */

struct srec_got {
	unsigned n;
	char call_id[64], flags[128], caller[64], caller_uri[64], callee[64], callee_user[32];
	char extra[1024];
	unsigned nstreams;
	int party_of_port[2];           /* party of the stream to B's port 8000, 8002 */
	uint64_t packets_of_port[2];
	char events[256];               /* "pause:0,resume:0,..." */
};

static void cpy(char *d, size_t cap, const char *s)
{
	snprintf(d, cap, "%s", s ? s : "");
}

static int on_srec(void *ud, struct idx_call *c, const char *media_log)
{
	struct srec_got *g = ud;
	(void)media_log;
	g->n++;
	cpy(g->call_id, sizeof(g->call_id), c->call_id);
	cpy(g->flags, sizeof(g->flags), c->flags);
	cpy(g->caller, sizeof(g->caller), c->caller.display);
	cpy(g->caller_uri, sizeof(g->caller_uri), c->caller.uri);
	cpy(g->callee, sizeof(g->callee), c->callee.display);
	cpy(g->callee_user, sizeof(g->callee_user), c->callee.user);
	cpy(g->extra, sizeof(g->extra), c->extra_json);
	g->nstreams = c->nstreams;
	for (unsigned i = 0; i < c->nstreams; i++) {
		int k = strstr(c->streams[i].dst, ":8000") ? 0 : strstr(c->streams[i].dst, ":8002") ? 1 : -1;
		if (k >= 0) {
			g->party_of_port[k] = c->streams[i].party;
			g->packets_of_port[k] = c->streams[i].packets;
		}
	}
	for (unsigned i = 0; i < c->nevents; i++) {
		size_t n = strlen(g->events);
		snprintf(g->events + n, sizeof(g->events) - n, "%s%s:%d", n ? "," : "",
			 c->events[i].kind, c->events[i].party);
	}
	return 0;
}

#define SREC_META_FULL                                                                   \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"                                     \
	"<recording xmlns=\"urn:ietf:params:xml:ns:recording:1\"\r\n"                        \
	"           xmlns:x=\"urn:example:src-extensions\">\r\n"                             \
	"<datamode>complete</datamode>\r\n"                                                  \
	"<session session_id=\"c2Vzc2lvbi0x\"><x:callid>orig-42@pbx</x:callid></session>\r\n" \
	"<participant participant_id=\"pA\"><nameID aor=\"sip:+4930111@example.com\">"       \
	"<name>Alice</name></nameID></participant>\r\n"                                      \
	"<participant participant_id=\"pB\"><nameID aor=\"sip:+4930222@example.com\">"       \
	"<name>Bob</name></nameID></participant>\r\n"                                        \
	"<stream stream_id=\"s1\" session_id=\"c2Vzc2lvbi0x\"><label>1</label></stream>\r\n"  \
	"<stream stream_id=\"s2\" session_id=\"c2Vzc2lvbi0x\"><label>2</label></stream>\r\n"  \
	"<participantstreamassoc participant_id=\"pA\"><send>s2</send><recv>s1</recv>"       \
	"</participantstreamassoc>\r\n"                                                      \
	"<participantstreamassoc participant_id=\"pB\"><send>s1</send><recv>s2</recv>"       \
	"</participantstreamassoc>\r\n"                                                      \
	"</recording>\r\n"

#define SREC_META_RENAME                                                                 \
	"<?xml version=\"1.0\"?>\r\n"                                                        \
	"<recording xmlns=\"urn:ietf:params:xml:ns:recording:1\">"                           \
	"<datamode>partial</datamode>"                                                       \
	"<participant participant_id=\"pA\"><nameID aor=\"sip:+4930111@example.com\">"       \
	"<name>Alice Renamed</name></nameID></participant></recording>\r\n"

#define SREC_META_REFUSED                                                                \
	"<?xml version=\"1.0\"?>\r\n"                                                        \
	"<recording xmlns=\"urn:ietf:params:xml:ns:recording:1\">"                           \
	"<datamode>partial</datamode>"                                                       \
	"<participant participant_id=\"pA\"><nameID aor=\"sip:+4930111@example.com\">"       \
	"<name>Refused Name</name></nameID></participant></recording>\r\n"

/* A request of the client (dir: sendonly / inactive) with SDP and, when
 * meta is not NULL, metadata in a multipart body. */
static char *srec_req(const char *method, unsigned cseq, const char *totag, const char *dir,
		      const char *meta)
{
	static char out[4096];
	char sdp[512], body[3072];
	snprintf(sdp, sizeof(sdp),
		 "v=0\r\no=src 1 %u IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
		 "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=label:1\r\na=%s\r\n"
		 "m=audio 4002 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=label:2\r\na=%s\r\n",
		 cseq, dir, dir);
	const char *ctype = "application/sdp";
	if (meta) {
		snprintf(body, sizeof(body),
			 "--bnd\r\nContent-Type: application/sdp\r\n\r\n%s"
			 "--bnd\r\nContent-Type: application/rs-metadata+xml\r\n"
			 "Content-Disposition: recording-session\r\n\r\n%s--bnd--\r\n",
			 sdp, meta);
		ctype = "multipart/mixed;boundary=bnd";
	} else {
		snprintf(body, sizeof(body), "%s", sdp);
	}
	snprintf(out, sizeof(out),
		 "%s sip:srs@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKs%u\r\n"
		 "From: <sip:src@example.com>;tag=src\r\nTo: <sip:srs@10.0.0.2>%s%s\r\n"
		 "Call-ID: rs-dialog-1@src\r\nCSeq: %u %s\r\n"
		 "Contact: <sip:src@10.0.0.1>;+sip.src\r\nRequire: siprec\r\n"
		 "User-Agent: test-src/1\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n%s",
		 method, cseq, totag ? ";tag=" : "", totag ? totag : "", cseq, method, ctype,
		 strlen(body), body);
	return out;
}

static char *srec_ok(unsigned cseq, const char *method, bool sdp)
{
	static char out[2048];
	char body[512] = "";
	if (sdp)
		snprintf(body, sizeof(body),
			 "v=0\r\no=srs 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n"
			 "m=audio 8000 RTP/AVP 0\r\na=label:1\r\na=recvonly\r\n"
			 "m=audio 8002 RTP/AVP 0\r\na=label:2\r\na=recvonly\r\n");
	snprintf(out, sizeof(out),
		 "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKs%u\r\n"
		 "From: <sip:src@example.com>;tag=src\r\nTo: <sip:srs@10.0.0.2>;tag=srs\r\n"
		 "Call-ID: rs-dialog-1@src\r\nCSeq: %u %s\r\n%sContent-Length: %zu\r\n\r\n%s",
		 cseq, cseq, method, sdp ? "Content-Type: application/sdp\r\n" : "", strlen(body),
		 body);
	return out;
}

/* n packets of stream `line` (0 or 1) from the client to the server. */
static void srec_rtp(struct rec_engine *e, int64_t t, int line, int n, uint16_t seq0)
{
	for (int i = 0; i < n; i++) {
		uint8_t p[12 + 160];
		rtp_packet(p, (uint16_t)(seq0 + i), (uint8_t)(0x10 + line));
		uint8_t buf[256];
		size_t len = udp(buf, A, (uint16_t)(4000 + 2 * line), B, (uint16_t)(8000 + 2 * line),
				 p, sizeof(p));
		rec_engine_frame(e, 12, buf, len, t + 20000 * i, ++frame_no);
	}
}

static void test_siprec_session(void)
{
	struct rec_config cfg;
	rec_config_default(&cfg);
	struct srec_got g;
	memset(&g, 0, sizeof(g));
	struct rec_engine *e = NULL;
	CHECK_INT(rec_engine_new(&e, &cfg, on_srec, &g), 0);
	sip(e, T0, true, srec_req("INVITE", 1, NULL, "sendonly", SREC_META_FULL));
	sip(e, T0 + 1000, false, srec_ok(1, "INVITE", true));
	sip(e, T0 + 2000, true, srec_req("ACK", 1, "srs", "sendonly", NULL));
	srec_rtp(e, T0 + S(1), 0, 100, 0);  /* Bob's stream (label 1): 100 packets */
	srec_rtp(e, T0 + S(1), 1, 150, 0);  /* Alice's (label 2): 150 */
	sip(e, T0 + S(5), true, srec_req("INVITE", 2, "srs", "inactive", NULL)); /* pause */
	sip(e, T0 + S(5) + 1000, false, srec_ok(2, "INVITE", true));
	sip(e, T0 + S(7), true, srec_req("INVITE", 3, "srs", "sendonly", NULL)); /* resume */
	sip(e, T0 + S(7) + 1000, false, srec_ok(3, "INVITE", true));
	srec_rtp(e, T0 + S(8), 1, 50, 150);
	sip(e, T0 + S(9), true, srec_req("UPDATE", 4, "srs", "sendonly", SREC_META_RENAME));
	sip(e, T0 + S(9) + 1000, false, srec_ok(4, "UPDATE", true));
	/* an update the server refuses does not count */
	sip(e, T0 + S(9) + 2000, true, srec_req("UPDATE", 5, "srs", "sendonly", SREC_META_REFUSED));
	char *refused = srec_ok(5, "UPDATE", false);
	memcpy(refused + 8, "415", 3);
	sip(e, T0 + S(9) + 3000, false, refused);
	sip(e, T0 + S(10), true, srec_req("BYE", 6, "srs", "sendonly", NULL));
	sip(e, T0 + S(10) + 1000, false, srec_ok(6, "BYE", false));
	rec_engine_flush(e, T0 + S(11));
	CHECK_INT(g.n, 1);
	CHECK_STR(g.call_id, "orig-42@pbx");       /* from the client's extension data */
	CHECK(strstr(g.flags, "siprec") != NULL);
	CHECK(strstr(g.flags, "one_way") == NULL);  /* both parties were heard */
	CHECK_STR(g.caller, "Alice Renamed");       /* the partial update applied */
	CHECK_STR(g.caller_uri, "sip:+4930111@example.com");
	CHECK_STR(g.callee, "Bob");
	CHECK_STR(g.callee_user, "+4930222");
	CHECK_INT(g.nstreams, 2);
	CHECK_INT(g.party_of_port[0], 1);           /* label 1: Bob, the callee */
	CHECK_INT(g.party_of_port[1], 0);           /* label 2: Alice, the caller */
	CHECK_INT(g.packets_of_port[0], 100);
	CHECK_INT(g.packets_of_port[1], 200);
	/* no "hold" for the client's sendonly; a pause and a resume per stream */
	CHECK(strstr(g.events, "hold") == NULL);
	CHECK(strstr(g.events, "pause:1") != NULL);
	CHECK(strstr(g.events, "pause:0") != NULL);
	CHECK(strstr(g.events, "resume:1") != NULL);
	CHECK(strstr(g.events, "resume:0") != NULL);
	CHECK(strstr(g.extra, "\"siprec\":{\"call_id\":\"rs-dialog-1@src\"") != NULL);
	CHECK(strstr(g.extra, "\"session_id\":\"c2Vzc2lvbi0x\"") != NULL);
	CHECK(strstr(g.extra, "\"client\":\"test-src/1\"") != NULL);
	rec_engine_free(e);

	/* metadata with a DOCTYPE is refused and counted; the session is still
	 * a call (its parties unknown), never a crash */
	memset(&g, 0, sizeof(g));
	CHECK_INT(rec_engine_new(&e, &cfg, on_srec, &g), 0);
	sip(e, T0, true,
	    srec_req("INVITE", 1, NULL, "sendonly",
		     "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
		     "<recording xmlns=\"urn:ietf:params:xml:ns:recording:1\">&x;</recording>"));
	rec_engine_flush(e, T0 + S(1));
	CHECK_INT(g.n, 1);
	CHECK_INT(rec_engine_stats(e)->siprec_meta_errors, 1);
	CHECK_STR(g.caller, "");
	CHECK_STR(g.call_id, "rs-dialog-1@src");
	rec_engine_free(e);
}

/* ---- calls in progress: rec_engine_active and DATA/run/active.tsv ---------------- */

struct act_list {
	struct rec_active a[4];
	unsigned n;
};

static void act_add(void *ud, const struct rec_active *a)
{
	struct act_list *l = ud;
	if (l->n < 4)
		l->a[l->n] = *a;
	l->n++;
}

static void test_active(void)
{
	struct rec_config cfg;
	rec_config_default(&cfg);
	struct ended got;
	struct rec_engine *e = engine(&cfg, &got);
	struct act_list l = {0};
	rec_engine_active(e, act_add, &l);
	CHECK_INT(l.n, 0);
	/* ringing: INVITE only */
	sip(e, T0, true, msg("INVITE sip:+4930222@10.0.0.2 SIP/2.0", NULL, 1, "INVITE", NULL, true,
			     false));
	rec_engine_active(e, act_add, &l);
	CHECK_INT(l.n, 1);
	CHECK_STR(l.a[0].state, "ringing");
	CHECK_STR(l.a[0].call_id, "engine-test@x");
	CHECK_STR(l.a[0].caller_user, "+4930111");
	CHECK_STR(l.a[0].callee_user, "+4930222");
	CHECK_INT(l.a[0].answer_us, 0);
	CHECK_INT(l.a[0].streams, 0);
	/* answered, 3 s of RTP both ways with one packet lost on each side */
	sip(e, T0 + 1000, false, msg("SIP/2.0 200 OK", "b", 1, "INVITE", NULL, false, true));
	sip(e, T0 + 2000, true, msg("ACK sip:+4930222@10.0.0.2 SIP/2.0", "b", 1, "ACK", NULL,
				    false, false));
	for (int i = 0; i < 150; i++) {
		if (i == 70)
			continue;
		rtp(e, T0 + 20000 * i + 5000, true, (uint16_t)i);
		rtp(e, T0 + 20000 * i + 6000, false, (uint16_t)i);
	}
	l.n = 0;
	rec_engine_active(e, act_add, &l);
	CHECK_INT(l.n, 1);
	CHECK_STR(l.a[0].state, "answered");
	CHECK_INT(l.a[0].answer_us, T0 + 1000);
	CHECK_INT(l.a[0].start_us, T0);
	CHECK_INT(l.a[0].streams, 2);
	CHECK_INT(l.a[0].packets, 2 * 149);
	CHECK_INT(l.a[0].lost, 2);
	CHECK_STR(l.a[0].codec, "PCMU");
	CHECK(l.a[0].recording);
	CHECK(!l.a[0].siprec);

	/* the file: written, read back the same; a hostile Call-ID stays one field */
	snprintf(l.a[1].call_id, sizeof(l.a[1].call_id), "a\tb\nc\\d\re");
	snprintf(l.a[1].caller_display, sizeof(l.a[1].caller_display), "Zoë \"Z\"");
	snprintf(l.a[1].state, sizeof(l.a[1].state), "hold");
	l.a[1].jitter_max_ms = 12.5;
	l.a[1].lost = -3; /* duplicates make "lost" negative */
	char dir[] = "/tmp/earshot-active-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[64];
	snprintf(path, sizeof(path), "%s/active.tsv", dir);
	CHECK_INT(rec_active_write(path, l.a, 2, T0 + S(3)), 0);
	struct act_list back = {0};
	struct rec_active_hdr hdr;
	char err[256];
	CHECK_INT(rec_active_read(path, &hdr, act_add, &back, err, sizeof(err)), 0);
	CHECK_INT(hdr.count, 2);
	CHECK_INT(hdr.written_us, T0 + S(3));
	CHECK_INT(hdr.pid, getpid());
	CHECK_INT(back.n, 2);
	CHECK_STR(back.a[0].call_id, "engine-test@x");
	CHECK_INT(back.a[0].packets, 298);
	CHECK_STR(back.a[0].codec, "PCMU");
	CHECK_STR(back.a[1].call_id, "a\tb\nc\\d\re");
	CHECK_STR(back.a[1].caller_display, "Zoë \"Z\"");
	CHECK_INT(back.a[1].lost, -3);
	CHECK(back.a[1].jitter_max_ms > 12.49 && back.a[1].jitter_max_ms < 12.51);
	CHECK(!memcmp(&back.a[0], &l.a[0], sizeof(l.a[0])));

	/* what a reader must refuse, each naming the line; nothing handed out */
	static const struct {
		const char *text, *why;
	} bad[] = {
		{"", "line 1: no end of line"},
		{"earshot-active\t2\t1\t1\t0\n", "version 2"},
		{"something\t1\t1\t1\t0\n", "not an earshot"},
		{"earshot-active\t1\t1\t1\t1\n", "line 2: no end of line"},
		{"earshot-active\t1\t1\t1\t0\nextra\n", "line 2: more lines than the count"},
		{"earshot-active\t1\t1\t1\t1\na\tb\n", "line 2: 2 fields, not 18"},
		{"earshot-active\t1\t1\t1\t1\n\\x\t\t\t\t\t\t\t1\t0\tanswered\t1\t0\t\t\t2\t3\t0\t0.0\n",
		 "call_id: unknown escape"},
		{"earshot-active\t1\t1\t1\t1\nid\t\t\t\t\t\t\t1\t0\tanswered\t2\t0\t\t\t2\t3\t0\t0.0\n",
		 "recording: not 0 or 1"},
		{"earshot-active\t1\t1\t1\t1\nid\t\t\t\t\t\t\tx\t0\tanswered\t1\t0\t\t\t2\t3\t0\t0.0\n",
		 "start: not a number"},
		{"earshot-active\t1\t1\t1\t9999999\n", "more than 100000"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		back.n = 0;
		int rc = rec_active_parse(bad[i].text, strlen(bad[i].text), &hdr, act_add, &back,
					  err, sizeof(err));
		CHECK_INT(rc, ES_EPARSE);
		CHECK_INT(back.n, 0);
		if (!strstr(err, bad[i].why))
			fprintf(stderr, "case %zu: '%s' lacks '%s'\n", i, err, bad[i].why);
		CHECK(strstr(err, bad[i].why) != NULL);
	}
	/* a file cut anywhere is refused whole */
	FILE *f = fopen(path, "rb");
	char buf[4096];
	size_t len = f ? fread(buf, 1, sizeof(buf), f) : 0;
	if (f)
		fclose(f);
	unsigned refused = 0;
	for (size_t cut = 0; cut < len; cut++) {
		back.n = 0;
		if (rec_active_parse(buf, cut, &hdr, act_add, &back, err, sizeof(err)) == ES_EPARSE &&
		    back.n == 0)
			refused++;
	}
	CHECK_INT(refused, len);
	CHECK_INT(rec_active_read("/nonexistent/active.tsv", &hdr, act_add, &back, err, sizeof(err)),
		  ES_ENOTFOUND);
	unlink(path);
	rmdir(dir);
	rec_engine_free(e);
}

int main(void)
{
	es_log_set_level(ES_LOG_ERROR);
	RUN(test_rtp_timeout);
	RUN(test_max_duration);
	RUN(test_session_timer);
	RUN(test_reuse_after_hour);
	RUN(test_challenge_wait);
	RUN(test_rules);
	RUN(test_siprec_session);
	RUN(test_active);
	return CHECK_DONE();
}
