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

#define S(x) ((int64_t)(x) * ES_US_PER_SEC)
#define T0 S(1700000000)

struct ended {
	char reason[32];
	char flags[128];
	char rule[32];
	int64_t end_us;
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

static void rtp(struct rec_engine *e, int64_t ts, bool from_a, uint16_t seq)
{
	uint8_t p[12 + 160] = {0x80, 0};
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	uint32_t rts = seq * 160u;
	p[4] = (uint8_t)(rts >> 24);
	p[5] = (uint8_t)(rts >> 16);
	p[6] = (uint8_t)(rts >> 8);
	p[7] = (uint8_t)rts;
	p[11] = from_a ? 1 : 2;
	memset(p + 12, 0xFF, 160);
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

int main(void)
{
	es_log_set_level(ES_LOG_ERROR);
	RUN(test_rtp_timeout);
	RUN(test_max_duration);
	RUN(test_session_timer);
	RUN(test_rules);
	return CHECK_DONE();
}
