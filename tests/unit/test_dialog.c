/* test_dialog.c - the SIP dialog tracker: outcomes, parties, forks,
 * retransmissions, re-INVITE/hold, calls without INVITE, SIP INFO DTMF. */
#include "check.h"
#include "sip/dialog.h"

#include <stdlib.h>
#include <string.h>

struct sdp_seen {
	int n;
	int from[16];
	uint16_t port[16];
};

static void on_sdp(void *ud, struct sip_call *c, enum sip_party from, const struct sdp *s,
		   int64_t ts)
{
	struct sdp_seen *seen = ud;
	(void)c;
	(void)ts;
	if (seen->n < 16) {
		seen->from[seen->n] = from;
		seen->port[seen->n] = s->nmedia ? s->media[0].port : 0;
		seen->n++;
	}
}

#define SDP(port, dir) \
	"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n" \
	"m=audio " #port " RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=" dir "\r\n"

/* Build a message: start line, the dialog headers, extra headers, body. */
static char *msg(const char *start, const char *from_tag, const char *to_tag, unsigned cseq,
		 const char *cseq_method, const char *branch, const char *extra, const char *body)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	fprintf(f, "%s\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=%s\r\n", start, branch);
	fprintf(f, "From: \"Alice A\" <sip:alice@example.com>;tag=%s\r\n", from_tag);
	fprintf(f, "To: <sip:+15551234@example.com>%s%s\r\n", to_tag ? ";tag=" : "",
		to_tag ? to_tag : "");
	fprintf(f, "Call-ID: call-1@example.com\r\nCSeq: %u %s\r\n", cseq, cseq_method);
	if (extra)
		fputs(extra, f);
	if (body)
		fprintf(f, "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s",
			strlen(body), body);
	else
		fputs("Content-Length: 0\r\n\r\n", f);
	fclose(f);
	return out;
}

struct feeder {
	struct sip_tracker *t;
	int64_t ts;
	struct sip_call *last;
};

static struct sip_call *feed(struct feeder *fd, char *text)
{
	struct sip_msg m;
	struct sip_meta meta = {.ts_us = fd->ts, .frame = 1, .proto = 17};
	fd->ts += 100000;
	int err = sip_msg_parse(&m, text, strlen(text));
	CHECK_INT(err, 0);
	struct sip_call *c = NULL;
	if (!err)
		CHECK_INT(sip_tracker_feed(fd->t, &m, &meta, &c), 0);
	free(text);
	fd->last = c;
	return c;
}

static const char *const extra_headers[] = {"X-Case-Id", NULL};

static struct feeder start(struct sdp_seen *seen)
{
	struct feeder fd = {.ts = 1000 * ES_US_PER_SEC};
	struct sip_tracker_config cfg = {.extra_headers = extra_headers};
	CHECK_INT(sip_tracker_new(&fd.t, &cfg, on_sdp, seen), 0);
	return fd;
}

static void test_answered_call(void)
{
	struct sdp_seen seen = {0};
	struct feeder fd = start(&seen);
	const char *inv = "INVITE sip:+15551234@example.com SIP/2.0";
	struct sip_call *c = feed(&fd, msg(inv, "a1", NULL, 1, "INVITE", "z9hG4bK1",
					  "User-Agent: PhoneA\r\nX-Case-Id: 42\r\n"
					  "P-Asserted-Identity: <sip:+4420@example.com>\r\n",
					  SDP(4000, "sendrecv")));
	CHECK(c != NULL);
	feed(&fd, msg(inv, "a1", NULL, 1, "INVITE", "z9hG4bK1", NULL, SDP(4000, "sendrecv")));
	feed(&fd, msg("SIP/2.0 100 Trying", "a1", NULL, 1, "INVITE", "z9hG4bK1", NULL, NULL));
	feed(&fd, msg("SIP/2.0 180 Ringing", "a1", "b1", 1, "INVITE", "z9hG4bK1", NULL, NULL));
	feed(&fd, msg("SIP/2.0 200 OK", "a1", "b1", 1, "INVITE", "z9hG4bK1", "Server: PBX\r\n",
		      SDP(5000, "sendrecv")));
	feed(&fd, msg("SIP/2.0 200 OK", "a1", "b1", 1, "INVITE", "z9hG4bK1", NULL, SDP(5000, "sendrecv")));
	feed(&fd, msg("ACK sip:+15551234@example.com SIP/2.0", "a1", "b1", 1, "ACK", "z9hG4bK2", NULL, NULL));
	/* hold and resume by re-INVITE from the caller */
	feed(&fd, msg(inv, "a1", "b1", 2, "INVITE", "z9hG4bK3", NULL, SDP(4000, "sendonly")));
	feed(&fd, msg("SIP/2.0 200 OK", "a1", "b1", 2, "INVITE", "z9hG4bK3", NULL, SDP(5000, "recvonly")));
	feed(&fd, msg(inv, "a1", "b1", 3, "INVITE", "z9hG4bK4", NULL, SDP(4002, "sendrecv")));
	feed(&fd, msg("INFO sip:+15551234@example.com SIP/2.0", "a1", "b1", 4, "INFO", "z9hG4bK5",
		      "Content-Type: application/dtmf-relay\r\n", NULL));
	/* a BYE from the callee: From/To swapped */
	char *bye = NULL;
	size_t bl = 0;
	FILE *f = open_memstream(&bye, &bl);
	fputs("BYE sip:alice@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK9\r\n"
	      "From: <sip:+15551234@example.com>;tag=b1\r\nTo: \"Alice A\" <sip:alice@example.com>;tag=a1\r\n"
	      "Call-ID: call-1@example.com\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n", f);
	fclose(f);
	int64_t bye_ts = fd.ts;
	feed(&fd, bye);

	CHECK_INT(sip_tracker_count(fd.t), 1);
	CHECK_INT(c->outcome, SIP_OUT_ANSWERED);
	CHECK_INT(c->sip_code, 200);
	CHECK_INT(c->end_reason, SIP_END_BYE);
	CHECK(c->end_us == bye_ts);
	CHECK(c->answer_us == 1000 * ES_US_PER_SEC + 400000);
	CHECK_STR(c->party[SIP_CALLER].uri, "sip:alice@example.com");
	CHECK_STR(c->party[SIP_CALLER].display, "Alice A");
	CHECK_STR(c->party[SIP_CALLER].user, "alice");
	CHECK_STR(c->party[SIP_CALLER].ua, "PhoneA");
	CHECK_STR(c->party[SIP_CALLER].pai, "sip:+4420@example.com");
	CHECK_STR(c->party[SIP_CALLEE].user, "+15551234");
	CHECK_STR(c->party[SIP_CALLEE].ua, "PBX");
	CHECK_STR(c->extra_json, "{\"X-Case-Id\":\"42\"}");
	CHECK(!c->forked);
	/* retransmitted INVITE and 200 are kept as messages but flagged */
	CHECK_INT(c->nmsgs, 12);
	CHECK(c->msgs[1].retransmission);
	CHECK(c->msgs[5].retransmission);
	CHECK_INT(sip_tracker_stats(fd.t)->retransmissions, 2);
	CHECK_INT(c->msgs[11].sender, SIP_CALLEE);
	CHECK_STR(c->msgs[3].label, "180 Ringing");
	/* SDPs reported by sender, retransmissions not re-reported */
	CHECK_INT(seen.n, 5);
	CHECK_INT(seen.from[0], SIP_CALLER);
	CHECK_INT(seen.port[0], 4000);
	CHECK_INT(seen.from[1], SIP_CALLEE);
	CHECK_INT(seen.port[1], 5000);
	/* events: reinvite, hold, reinvite, resume (hold by the caller) */
	int holds = 0, resumes = 0, reinv = 0;
	for (unsigned i = 0; i < c->nevents; i++) {
		holds += !strcmp(c->events[i].kind, "hold");
		resumes += !strcmp(c->events[i].kind, "resume");
		reinv += !strcmp(c->events[i].kind, "reinvite");
	}
	CHECK_INT(holds, 1);
	CHECK_INT(resumes, 1);
	CHECK_INT(reinv, 2);
	sip_tracker_release(fd.t, c, fd.ts);
	CHECK_INT(sip_tracker_count(fd.t), 0);
	/* a straggler of a released call does not open a new one */
	struct sip_call *late = feed(&fd, msg("SIP/2.0 200 OK", "a1", "b1", 1, "BYE", "z9hG4bK9", NULL, NULL));
	CHECK(late == NULL);
	CHECK_INT(sip_tracker_stats(fd.t)->late, 1);
	sip_tracker_free(fd.t);
}

struct outcome_case {
	unsigned code;
	bool cancel;
	enum sip_outcome outcome;
	enum sip_end_reason end;
};

static void test_outcomes(void)
{
	static const struct outcome_case cases[] = {
		{486, false, SIP_OUT_BUSY, SIP_END_FINAL},
		{600, false, SIP_OUT_BUSY, SIP_END_FINAL},
		{480, false, SIP_OUT_NO_ANSWER, SIP_END_FINAL},
		{408, false, SIP_OUT_NO_ANSWER, SIP_END_FINAL},
		{487, true, SIP_OUT_CANCELLED, SIP_END_CANCEL},
		{403, false, SIP_OUT_REJECTED, SIP_END_FINAL},
		{488, false, SIP_OUT_REJECTED, SIP_END_FINAL},
		{503, false, SIP_OUT_REJECTED, SIP_END_FINAL},
		{302, false, SIP_OUT_REDIRECTED, SIP_END_FINAL},
	};
	for (size_t i = 0; i < ES_ARRAY_LEN(cases); i++) {
		struct sdp_seen seen = {0};
		struct feeder fd = start(&seen);
		const char *inv = "INVITE sip:+15551234@example.com SIP/2.0";
		struct sip_call *c = feed(&fd, msg(inv, "a1", NULL, 1, "INVITE", "z9hG4bK1", NULL, NULL));
		feed(&fd, msg("SIP/2.0 180 Ringing", "a1", "b1", 1, "INVITE", "z9hG4bK1", NULL, NULL));
		if (cases[i].cancel) {
			feed(&fd, msg("CANCEL sip:+15551234@example.com SIP/2.0", "a1", NULL, 1, "CANCEL",
				      "z9hG4bK1", NULL, NULL));
			feed(&fd, msg("SIP/2.0 200 OK", "a1", NULL, 1, "CANCEL", "z9hG4bK1", NULL, NULL));
			CHECK_INT(c->outcome, SIP_OUT_CANCELLED);
		}
		char line[64];
		snprintf(line, sizeof(line), "SIP/2.0 %u Whatever", cases[i].code);
		feed(&fd, msg(line, "a1", "b1", 1, "INVITE", "z9hG4bK1", NULL, NULL));
		CHECK_INT(c->outcome, cases[i].outcome);
		CHECK_INT(c->sip_code, cases[i].code);
		CHECK_INT(c->end_reason, cases[i].end);
		CHECK(c->answer_us == 0);
		sip_tracker_free(fd.t);
	}
}

static void test_auth_retry_and_fork(void)
{
	struct sdp_seen seen = {0};
	struct feeder fd = start(&seen);
	const char *inv = "INVITE sip:+15551234@example.com SIP/2.0";
	struct sip_call *c = feed(&fd, msg(inv, "a1", NULL, 1, "INVITE", "z9hG4bK1", NULL, NULL));
	feed(&fd, msg("SIP/2.0 407 Proxy Authentication Required", "a1", "p1", 1, "INVITE", "z9hG4bK1", NULL, NULL));
	CHECK_INT(c->outcome, SIP_OUT_REJECTED);
	feed(&fd, msg("ACK sip:+15551234@example.com SIP/2.0", "a1", "p1", 1, "ACK", "z9hG4bK1", NULL, NULL));
	feed(&fd, msg(inv, "a1", NULL, 2, "INVITE", "z9hG4bK2", NULL, NULL));
	CHECK_INT(c->outcome, SIP_OUT_IN_PROGRESS);
	/* two forks ring, one answers */
	feed(&fd, msg("SIP/2.0 180 Ringing", "a1", "f1", 2, "INVITE", "z9hG4bK2", NULL, NULL));
	feed(&fd, msg("SIP/2.0 180 Ringing", "a1", "f2", 2, "INVITE", "z9hG4bK2", NULL, NULL));
	feed(&fd, msg("SIP/2.0 200 OK", "a1", "f2", 2, "INVITE", "z9hG4bK2", NULL, NULL));
	CHECK_INT(c->outcome, SIP_OUT_ANSWERED);
	CHECK(c->forked);
	CHECK_STR(c->answered_tag, "f2");
	CHECK(c->invite_cseq == 2);
	CHECK_INT(sip_tracker_count(fd.t), 1);
	sip_tracker_free(fd.t);
}

static void test_no_invite(void)
{
	struct sdp_seen seen = {0};
	struct feeder fd = start(&seen);
	/* REGISTER and OPTIONS are not calls */
	CHECK(feed(&fd, msg("REGISTER sip:example.com SIP/2.0", "r1", NULL, 1, "REGISTER", "z9hG4bKr", NULL, NULL)) == NULL);
	CHECK(feed(&fd, msg("SIP/2.0 200 OK", "r1", "x", 1, "REGISTER", "z9hG4bKr", NULL, NULL)) == NULL);
	CHECK(feed(&fd, msg("OPTIONS sip:example.com SIP/2.0", "o1", NULL, 1, "OPTIONS", "z9hG4bKo", NULL, NULL)) == NULL);
	/* an out-of-dialog INFO is not a call either */
	CHECK(feed(&fd, msg("INFO sip:example.com SIP/2.0", "o1", NULL, 1, "INFO", "z9hG4bKi", NULL, NULL)) == NULL);
	CHECK_INT(sip_tracker_stats(fd.t)->non_call, 4);
	/* the capture starts mid-call: ACK then BYE */
	int64_t first = fd.ts;
	struct sip_call *c = feed(&fd, msg("ACK sip:+15551234@example.com SIP/2.0", "a1", "b1", 1, "ACK", "z9hG4bK2", NULL, NULL));
	CHECK(c != NULL);
	feed(&fd, msg("BYE sip:+15551234@example.com SIP/2.0", "a1", "b1", 2, "BYE", "z9hG4bK3", NULL, NULL));
	CHECK(!c->invite_seen);
	CHECK_INT(c->outcome, SIP_OUT_ANSWERED);
	CHECK(c->answer_us == first);
	CHECK_INT(c->end_reason, SIP_END_BYE);
	CHECK_STR(c->party[SIP_CALLER].uri, "sip:alice@example.com");
	sip_tracker_free(fd.t);
}

static void test_cancel_race(void)
{
	struct sdp_seen seen = {0};
	struct feeder fd = start(&seen);
	const char *inv = "INVITE sip:+15551234@example.com SIP/2.0";
	struct sip_call *c = feed(&fd, msg(inv, "a1", NULL, 1, "INVITE", "z9hG4bK1", NULL, NULL));
	feed(&fd, msg("CANCEL sip:+15551234@example.com SIP/2.0", "a1", NULL, 1, "CANCEL", "z9hG4bK1", NULL, NULL));
	feed(&fd, msg("SIP/2.0 200 OK", "a1", "b1", 1, "INVITE", "z9hG4bK1", NULL, NULL));
	CHECK_INT(c->outcome, SIP_OUT_ANSWERED);
	CHECK_INT(c->end_reason, SIP_END_NONE);
	sip_tracker_free(fd.t);
}

/* RFC 4028: the 2xx of the INVITE starts the interval, a refreshing
 * UPDATE's 2xx (compact form "x") restarts it; the end reasons have names. */
static void test_session_timer(void)
{
	struct sdp_seen seen = {0};
	struct feeder fd = start(&seen);
	const char *inv = "INVITE sip:+15551234@example.com SIP/2.0";
	struct sip_call *c = feed(&fd, msg(inv, "a1", NULL, 1, "INVITE", "z9hG4bK1",
					  "Session-Expires: 1800\r\nSupported: timer\r\n",
					  SDP(4000, "sendrecv")));
	CHECK_INT(c->session_expires_s, 0); /* a request does not start it */
	int64_t t_ok = fd.ts;
	feed(&fd, msg("SIP/2.0 200 OK", "a1", "b1", 1, "INVITE", "z9hG4bK1",
		      "Session-Expires: 90;refresher=uac\r\n", SDP(5000, "sendrecv")));
	CHECK_INT(c->session_expires_s, 90);
	CHECK_INT(c->session_refresh_us, t_ok);
	feed(&fd, msg("UPDATE sip:alice@10.0.0.1 SIP/2.0", "a1", "b1", 2, "UPDATE", "z9hG4bK2",
		      NULL, NULL));
	int64_t t_up = fd.ts;
	feed(&fd, msg("SIP/2.0 200 OK", "a1", "b1", 2, "UPDATE", "z9hG4bK2", "x: 120\r\n", NULL));
	CHECK_INT(c->session_expires_s, 120);
	CHECK_INT(c->session_refresh_us, t_up);
	/* garbage does not reset it */
	feed(&fd, msg("SIP/2.0 200 OK", "a1", "b1", 3, "UPDATE", "z9hG4bK3",
		      "Session-Expires: soon\r\n", NULL));
	CHECK_INT(c->session_expires_s, 120);
	CHECK_STR(sip_end_reason_name(SIP_END_SESSION_TIMER), "session_timer");
	CHECK_STR(sip_end_reason_name(SIP_END_RTP_TIMEOUT), "rtp_timeout");
	CHECK_STR(sip_end_reason_name(SIP_END_MAX_DURATION), "max_duration");
	CHECK_STR(sip_end_reason_name(SIP_END_SHUTDOWN), "shutdown");
	sip_tracker_free(fd.t);
}

static unsigned count_events(const struct sip_call *c, const char *kind)
{
	unsigned n = 0;
	for (unsigned i = 0; i < c->nevents; i++)
		n += !strcmp(c->events[i].kind, kind);
	return n;
}

/* Issue #14 (sngrep-aaa.pcap): each 401/407 carries its own To-tag; a
 * challenge is not a fork, and the retry's final response is the call's. */
static void test_challenge_not_fork(void)
{
	struct sdp_seen seen = {0};
	struct feeder fd = start(&seen);
	const char *inv = "INVITE sip:+15551234@example.com SIP/2.0";
	struct sip_call *c = feed(&fd, msg(inv, "a1", NULL, 1, "INVITE", "z9hG4bK1", NULL,
					  SDP(4000, "sendrecv")));
	feed(&fd, msg("SIP/2.0 401 Unauthorized", "a1", "c1", 1, "INVITE", "z9hG4bK1", NULL, NULL));
	CHECK(c->challenged);
	feed(&fd, msg("ACK sip:+15551234@example.com SIP/2.0", "a1", "c1", 1, "ACK", "z9hG4bK1", NULL, NULL));
	feed(&fd, msg(inv, "a1", NULL, 2, "INVITE", "z9hG4bK2", NULL, SDP(4000, "sendrecv")));
	CHECK(!c->challenged);
	feed(&fd, msg("SIP/2.0 407 Proxy Authentication Required", "a1", "c2", 2, "INVITE", "z9hG4bK2", NULL, NULL));
	CHECK(c->challenged);
	CHECK_INT(c->sip_code, 407);
	feed(&fd, msg(inv, "a1", NULL, 3, "INVITE", "z9hG4bK3", NULL, SDP(4000, "sendrecv")));
	feed(&fd, msg("SIP/2.0 100 Trying", "a1", NULL, 3, "INVITE", "z9hG4bK3", NULL, NULL));
	feed(&fd, msg("SIP/2.0 183 Session Progress", "a1", "t3", 3, "INVITE", "z9hG4bK3", NULL,
		      SDP(5000, "sendrecv")));
	feed(&fd, msg("SIP/2.0 480 Temporarily Unavailable", "a1", "t3", 3, "INVITE", "z9hG4bK3", NULL, NULL));
	CHECK(!c->forked);
	CHECK(!c->challenged);
	CHECK_INT(c->sip_code, 480);
	CHECK_INT(c->outcome, SIP_OUT_NO_ANSWER);
	CHECK_INT(c->nto_tags, 1);
	sip_tracker_free(fd.t);
}

/* RFC 3264 8.4: only an offer holds.  A recvonly offer answered sendonly
 * (an IVR, an announcement) is one-way, not a hold; a sendonly re-INVITE
 * is; with a late offer (INVITE without SDP) the 200 carries the offer. */
static void test_hold_is_an_offer(void)
{
	struct sdp_seen seen = {0};
	struct feeder fd = start(&seen);
	const char *inv = "INVITE sip:+15551234@example.com SIP/2.0";
	struct sip_call *c = feed(&fd, msg(inv, "a1", NULL, 1, "INVITE", "z9hG4bK1", NULL,
					  SDP(4000, "recvonly")));
	feed(&fd, msg("SIP/2.0 200 OK", "a1", "b1", 1, "INVITE", "z9hG4bK1", NULL, SDP(5000, "sendonly")));
	feed(&fd, msg("ACK sip:+15551234@example.com SIP/2.0", "a1", "b1", 1, "ACK", "z9hG4bK2", NULL, NULL));
	CHECK_INT(count_events(c, "hold"), 0);
	CHECK(!c->hold[SIP_CALLEE]);
	/* the caller really puts the callee on hold, then resumes */
	feed(&fd, msg(inv, "a1", "b1", 2, "INVITE", "z9hG4bK3", NULL, SDP(4000, "sendonly")));
	feed(&fd, msg("SIP/2.0 200 OK", "a1", "b1", 2, "INVITE", "z9hG4bK3", NULL, SDP(5000, "recvonly")));
	CHECK_INT(count_events(c, "hold"), 1);
	CHECK(c->hold[SIP_CALLER]);
	feed(&fd, msg(inv, "a1", "b1", 3, "INVITE", "z9hG4bK4", NULL, SDP(4000, "sendrecv")));
	CHECK_INT(count_events(c, "resume"), 1);
	/* a late offer: the callee's 200 offers inactive (it holds), the
	 * caller's ACK answers inactive (no event) */
	feed(&fd, msg(inv, "a1", "b1", 4, "INVITE", "z9hG4bK5", NULL, NULL));
	feed(&fd, msg("SIP/2.0 200 OK", "a1", "b1", 4, "INVITE", "z9hG4bK5", NULL, SDP(5000, "inactive")));
	feed(&fd, msg("ACK sip:+15551234@example.com SIP/2.0", "a1", "b1", 4, "ACK", "z9hG4bK6", NULL,
		      SDP(4000, "inactive")));
	CHECK_INT(count_events(c, "hold"), 2);
	CHECK(c->hold[SIP_CALLEE]);
	CHECK(!c->hold[SIP_CALLER]);
	sip_tracker_free(fd.t);
}

/* Issue #14: a response with no request behind it is an orphan, not a
 * call; a 200 or 183 to an INVITE with SDP still opens a call whose INVITE
 * was not captured. */
static void test_orphans(void)
{
	struct sdp_seen seen = {0};
	struct feeder fd = start(&seen);
	CHECK(feed(&fd, msg("SIP/2.0 200 OK", "a1", "b1", 2, "BYE", "z9hG4bK7", NULL, NULL)) == NULL);
	CHECK(feed(&fd, msg("SIP/2.0 403 Forbidden", "a1", "b1", 1, "INVITE", "z9hG4bK1", NULL, NULL)) == NULL);
	/* the ACK of that 403 is no mid-call start either */
	CHECK(feed(&fd, msg("ACK sip:+15551234@example.com SIP/2.0", "a1", "b1", 1, "ACK", "z9hG4bK1", NULL, NULL)) == NULL);
	CHECK(feed(&fd, msg("SIP/2.0 200 OK", "a1", "b1", 1, "INVITE", "z9hG4bK1", NULL, NULL)) == NULL);
	CHECK_INT(sip_tracker_stats(fd.t)->orphans, 4);
	CHECK_INT(sip_tracker_stats(fd.t)->calls, 0);
	CHECK_INT(sip_tracker_count(fd.t), 0);
	struct sip_call *c = feed(&fd, msg("SIP/2.0 200 OK", "a1", "b1", 1, "INVITE", "z9hG4bK1", NULL,
					  SDP(5000, "sendrecv")));
	CHECK(c != NULL);
	CHECK(!c->invite_seen);
	CHECK_INT(c->outcome, SIP_OUT_ANSWERED);
	CHECK_INT(seen.n, 1);
	sip_tracker_free(fd.t);
}

/* Issue #14: a Call-ID reused by a new INVITE while it still lingers is a
 * new call; the old INVITE retransmitted is a straggler. */
static void test_callid_reuse(void)
{
	struct sdp_seen seen = {0};
	struct feeder fd = start(&seen);
	const char *inv = "INVITE sip:+15551234@example.com SIP/2.0";
	struct sip_call *c = feed(&fd, msg(inv, "a1", NULL, 1, "INVITE", "z9hG4bK1", NULL, NULL));
	feed(&fd, msg("SIP/2.0 486 Busy Here", "a1", "b1", 1, "INVITE", "z9hG4bK1", NULL, NULL));
	sip_tracker_release(fd.t, c, fd.ts);
	CHECK(feed(&fd, msg(inv, "a1", NULL, 1, "INVITE", "z9hG4bK1", NULL, NULL)) == NULL);
	CHECK_INT(sip_tracker_stats(fd.t)->late, 1);
	struct sip_call *c2 = feed(&fd, msg(inv, "a9", NULL, 1, "INVITE", "z9hG4bK99", NULL, NULL));
	CHECK(c2 != NULL);
	CHECK_INT(sip_tracker_stats(fd.t)->calls, 2);
	CHECK_INT(c2->outcome, SIP_OUT_IN_PROGRESS);
	sip_tracker_free(fd.t);
}

int main(void)
{
	RUN(test_answered_call);
	RUN(test_outcomes);
	RUN(test_auth_retry_and_fork);
	RUN(test_no_invite);
	RUN(test_cancel_race);
	RUN(test_session_timer);
	RUN(test_challenge_not_fork);
	RUN(test_hold_is_an_offer);
	RUN(test_orphans);
	RUN(test_callid_reuse);
	return CHECK_DONE();
}
