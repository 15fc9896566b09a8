/* test_srs.c - the recording server end to end on loopback: the test is the
 * SRC (real UDP/TCP sockets, and TLS with OpenSSL), a real engine records
 * what the server hands it.  Ports: one free block picked at start (SIP,
 * TLS, the SRC's, then 100 for RTP), never fixed numbers another program
 * on the machine may hold.
 * Single-threaded: the server runs (srs_step) between the SRC's attempts,
 * and every SRC socket is nonblocking, so nothing can wait on the other. */
#include "record/record.h"
#include "siprec/siprec.h"
#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <sodium.h>
#include <srtp2/srtp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* One block of free ports (free_block() in main): SIP (UDP and TCP) at
 * its start, TLS next, the SRC's UDP socket at +10, RTP from +12. */
#define PORT_BLOCK 112
static unsigned port_base;
#define SIP_PORT (port_base)
#define TLS_PORT (port_base + 1)
#define SRC_PORT (port_base + 10)
#define RTP_LO (port_base + 12)
#define RTP_HI (port_base + PORT_BLOCK - 1)
#define TLS_DIR ES_SOURCE_DIR "/tests/data/tls/"

/* env_up adds a TLS listener on TLS_PORT when on (mutual with ca) */
static struct {
	bool on;
	const char *ca;
} tls_opt;

/* ---- what the engine handed on ---- */
static struct {
	unsigned ncalls;
	char call_id[128];
	unsigned nstreams;
	uint64_t packets[8];
} got;

static int on_call(void *ud, struct idx_call *c, const char *media_log)
{
	(void)ud;
	(void)media_log;
	got.ncalls++;
	snprintf(got.call_id, sizeof(got.call_id), "%s", c->call_id ? c->call_id : "");
	got.nstreams = c->nstreams;
	for (unsigned i = 0; i < c->nstreams && i < 8; i++)
		got.packets[i] = c->streams[i].packets;
	return 0;
}

struct env {
	struct rec_engine *e;
	struct srs *s;
	int udp; /* the SRC's socket, 127.0.0.1:SRC_PORT */
};

static void lo_addr(struct es_addr *a, uint16_t port)
{
	const uint8_t ip[4] = {127, 0, 0, 1};
	es_addr_set_v4(a, ip, port);
}

static int env_up(struct env *v, unsigned max_sessions, bool allow_none)
{
	memset(v, 0, sizeof(*v));
	struct rec_config rc;
	rec_config_default(&rc);
	rc.end_linger_us = 100000;
	rc.source = "live";
	if (rec_engine_new(&v->e, &rc, on_call, NULL))
		return -1;
	struct srs_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.listen[0].proto = 17;
	lo_addr(&cfg.listen[0].addr, SIP_PORT);
	cfg.listen[1].proto = 6;
	lo_addr(&cfg.listen[1].addr, SIP_PORT);
	cfg.nlisten = 2;
	if (tls_opt.on) {
		cfg.listen[2].proto = SRS_PROTO_TLS;
		lo_addr(&cfg.listen[2].addr, TLS_PORT);
		cfg.nlisten = 3;
		cfg.tls_cert = TLS_DIR "cert.pem";
		cfg.tls_key = TLS_DIR "key.pem";
		cfg.tls_ca = tls_opt.ca;
	}
	lo_addr(&cfg.media_addr, 0);
	cfg.rtp_lo = (uint16_t)RTP_LO;
	cfg.rtp_hi = (uint16_t)RTP_HI;
	cfg.max_sessions = max_sessions;
	cfg.retry_after_s = 7;
	if (allow_none) {
		const uint8_t net[4] = {10, 0, 0, 0};
		es_addr_set_v4(&cfg.allow[0].net, net, 0);
		cfg.allow[0].bits = 8;
		cfg.nallow = 1;
	}
	char err[200];
	if (srs_new(&v->s, &cfg, v->e, err, sizeof(err))) {
		fprintf(stderr, "srs_new: %s\n", err);
		return -1;
	}
	/* a second server on the same ports is refused (no silent sharing of
	 * the UDP port) */
	struct srs *twin = NULL;
	CHECK(srs_new(&twin, &cfg, v->e, err, sizeof(err)) != 0);
	srs_free(twin);
	v->udp = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(SRC_PORT)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int one = 1;
	setsockopt(v->udp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	return bind(v->udp, (struct sockaddr *)&sa, sizeof(sa));
}

static void env_down(struct env *v)
{
	srs_free(v->s);
	rec_engine_free(v->e);
	close(v->udp);
}

static void pump(struct env *v, int ms)
{
	int64_t end = es_mono_us() + (int64_t)ms * 1000;
	while (es_mono_us() < end)
		srs_step(v->s, 5);
}

static void send_to(int fd, uint16_t port, const void *p, size_t len)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(sendto(fd, p, len, 0, (struct sockaddr *)&sa, sizeof(sa)) == (ssize_t)len);
}

/* The next datagram (after the server ran), or "" */
static const char *recv_msg(struct env *v, char *buf, size_t cap)
{
	pump(v, 30);
	ssize_t n = recv(v->udp, buf, cap - 1, MSG_DONTWAIT);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

static int status_of(const char *msg)
{
	return strncmp(msg, "SIP/2.0 ", 8) == 0 ? atoi(msg + 8) : 0;
}

/* ---- messages of the SRC ---- */

static const char meta_xml[] =
	"<?xml version='1.0' encoding='UTF-8'?>\r\n"
	"<recording xmlns='urn:ietf:params:xml:ns:recording:1'>"
	"<datamode>complete</datamode>"
	"<session session_id='cs1'><sipSessionID>abc;remote=def</sipSessionID></session>"
	"<participant participant_id='pa'><nameID aor='sip:anna@lab.test'><name>Anna</name>"
	"</nameID></participant>"
	"<participant participant_id='pb'><nameID aor='sip:+4930123@lab.test'/></participant>"
	"<stream stream_id='sa' session_id='cs1'><label>la</label></stream>"
	"<stream stream_id='sb' session_id='cs1'><label>lb</label></stream>"
	"<participantstreamassoc participant_id='pa'><send>sa</send><recv>sb</recv>"
	"</participantstreamassoc>"
	"<participantstreamassoc participant_id='pb'><send>sb</send><recv>sa</recv>"
	"</participantstreamassoc>"
	"</recording>\r\n";

static void make_sdp(char *out, size_t cap, const char *proto, const char *label2,
		     const char *crypto)
{
	char cl[200] = "";
	if (crypto)
		snprintf(cl, sizeof(cl), "a=crypto:%s\r\n", crypto);
	snprintf(out, cap,
		 "v=0\r\no=src 11 1 IN IP4 127.0.0.1\r\ns=rec\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		 "m=audio 30000 %s 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=label:la\r\n"
		 "a=sendonly\r\n%s"
		 "m=audio 30002 %s 8\r\na=label:%s\r\na=sendonly\r\n%s",
		 proto, cl, proto, label2, cl);
}

/* A request over transport "UDP"/"TCP"; body_type NULL = no body. */
static void make_req(char *out, size_t cap, const char *method, const char *tp,
		     const char *call_id, const char *branch, unsigned cseq, const char *to_tag,
		     const char *extra, const char *body_type, const char *body)
{
	char tt[80] = "";
	if (to_tag)
		snprintf(tt, sizeof(tt), ";tag=%s", to_tag);
	snprintf(out, cap,
		 "%s sip:srs@127.0.0.1:%u SIP/2.0\r\n"
		 "Via: SIP/2.0/%s 127.0.0.1:%u;branch=z9hG4bK%s;rport\r\n"
		 "Max-Forwards: 70\r\nFrom: <sip:src@lab.test>;tag=srcf\r\n"
		 "To: <sip:srs@lab.test>%s\r\nCall-ID: %s\r\nCSeq: %u %s\r\n"
		 "Contact: <sip:src@127.0.0.1:%u>;+sip.src\r\n%s"
		 "%s%s%sContent-Length: %zu\r\n\r\n%s",
		 method, SIP_PORT, tp, SRC_PORT, branch, tt, call_id, cseq, method, SRC_PORT,
		 extra ? extra : "", body_type ? "Content-Type: " : "", body_type ? body_type : "",
		 body_type ? "\r\n" : "", body ? strlen(body) : 0, body ? body : "");
}

static void make_multipart(char *out, size_t cap, const char *sdp, const char *xml)
{
	snprintf(out, cap,
		 "--xyzzy\r\nContent-Type: application/sdp\r\n\r\n%s\r\n"
		 "--xyzzy\r\nContent-Type: application/rs-metadata+xml\r\n"
		 "Content-Disposition: recording-session\r\n\r\n%s\r\n--xyzzy--\r\n",
		 sdp, xml);
}

#define MP "multipart/mixed;boundary=xyzzy"

/* header value (first line starting with name) into out */
static bool hdr(const char *msg, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	for (const char *p = msg; p && *p; p = strstr(p, "\r\n"), p = p ? p + 2 : NULL) {
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1, *e = strstr(v, "\r\n");
			while (*v == ' ')
				v++;
			size_t n = e ? (size_t)(e - v) : strlen(v);
			snprintf(out, cap, "%.*s", (int)ES_MIN(n, cap - 1), v);
			return true;
		}
	}
	return false;
}

static unsigned answer_ports(const char *msg, unsigned *ports, unsigned max)
{
	unsigned n = 0;
	for (const char *p = strstr(msg, "m=audio "); p && n < max; p = strstr(p + 1, "m=audio "))
		ports[n++] = (unsigned)atoi(p + 8);
	return n;
}

static void rtp_packet(uint8_t *p, uint8_t pt, uint16_t seq, uint32_t ssrc)
{
	memset(p, 0xd5, 172);
	p[0] = 0x80;
	p[1] = pt;
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	uint32_t ts = seq * 160u;
	p[4] = (uint8_t)(ts >> 24);
	p[5] = (uint8_t)(ts >> 16);
	p[6] = (uint8_t)(ts >> 8);
	p[7] = (uint8_t)ts;
	p[8] = (uint8_t)(ssrc >> 24);
	p[9] = (uint8_t)(ssrc >> 16);
	p[10] = (uint8_t)(ssrc >> 8);
	p[11] = (uint8_t)ssrc;
}

/* INVITE a session over UDP; returns the 200 in resp. */
static int invite(struct env *v, const char *call_id, const char *branch, const char *sdp,
		  char *resp, size_t cap)
{
	static char body[8192], req[12000];
	make_multipart(body, sizeof(body), sdp, meta_xml);
	make_req(req, sizeof(req), "INVITE", "UDP", call_id, branch, 1, NULL,
		 "Require: siprec\r\nSupported: siprec\r\n", MP, body);
	send_to(v->udp, SIP_PORT, req, strlen(req));
	return status_of(recv_msg(v, resp, cap));
}

static void test_udp_session(void)
{
	struct env v;
	char sdp[2048], resp[16384], req[4096], tag[64], val[256];
	CHECK_INT(env_up(&v, 10, false), 0);
	memset(&got, 0, sizeof(got));
	make_sdp(sdp, sizeof(sdp), "RTP/AVP", "lb", NULL);
	CHECK_INT(invite(&v, "call-udp-1", "inv1", sdp, resp, sizeof(resp)), 200);
	CHECK(strstr(resp, "a=recvonly") != NULL);
	CHECK(strstr(resp, "a=label:la") && strstr(resp, "a=label:lb"));
	CHECK(hdr(resp, "Contact", val, sizeof(val)));
	CHECK(strstr(val, "+sip.srs") && strstr(val, "transport=udp"));
	CHECK(hdr(resp, "Server", val, sizeof(val)) && strcmp(val, "earshot") == 0);
	unsigned ports[4];
	CHECK_INT(answer_ports(resp, ports, 4), 2);
	CHECK(ports[0] % 2 == 0 && ports[1] == ports[0] + 2);
	CHECK(ports[0] >= RTP_LO && ports[1] <= RTP_HI - 1);
	CHECK(hdr(resp, "To", val, sizeof(val)));
	char *t = strstr(val, "tag=");
	CHECK(t != NULL);
	snprintf(tag, sizeof(tag), "%s", t ? t + 4 : "");

	/* no ACK: the 2xx again after T1 */
	pump(&v, 600);
	CHECK_INT(status_of(recv_msg(&v, resp, sizeof(resp))), 200);
	struct srs_stats st;
	srs_stats(v.s, &st);
	CHECK(st.retransmissions_sent >= 1);
	/* the INVITE retransmitted: the same 200, no second session */
	CHECK_INT(invite(&v, "call-udp-1", "inv1", sdp, resp, sizeof(resp)), 200);
	srs_stats(v.s, &st);
	CHECK_INT(st.sessions_active, 1);
	CHECK_INT(st.sessions_total, 1);

	make_req(req, sizeof(req), "ACK", "UDP", "call-udp-1", "ack1", 1, tag, NULL, NULL, NULL);
	send_to(v.udp, SIP_PORT, req, strlen(req));
	pump(&v, 50);
	while (recv(v.udp, resp, sizeof(resp), MSG_DONTWAIT) > 0) {
	}
	pump(&v, 1500);
	CHECK_INT(recv(v.udp, resp, sizeof(resp), MSG_DONTWAIT), -1); /* none after the ACK */

	/* RTP: 30 to the first port, 20 to the second */
	int m1 = socket(AF_INET, SOCK_DGRAM, 0);
	uint8_t pkt[172];
	for (unsigned i = 0; i < 50; i++) {
		bool first = i < 30;
		rtp_packet(pkt, first ? 0 : 8, (uint16_t)(100 + i), first ? 0x1111 : 0x2222);
		send_to(m1, (uint16_t)(first ? ports[0] : ports[1]), pkt, sizeof(pkt));
		if (i % 10 == 9)
			pump(&v, 20);
	}
	pump(&v, 50);
	srs_stats(v.s, &st);
	CHECK_INT(st.rtp_packets, 50);

	/* in-dialog INFO, OPTIONS, an unknown method */
	make_req(req, sizeof(req), "INFO", "UDP", "call-udp-1", "info1", 2, tag, NULL, NULL, NULL);
	send_to(v.udp, SIP_PORT, req, strlen(req));
	CHECK_INT(status_of(recv_msg(&v, resp, sizeof(resp))), 200);
	make_req(req, sizeof(req), "MESSAGE", "UDP", "call-udp-1", "msg1", 3, tag, NULL, NULL,
		 NULL);
	send_to(v.udp, SIP_PORT, req, strlen(req));
	CHECK_INT(status_of(recv_msg(&v, resp, sizeof(resp))), 405);
	CHECK(hdr(resp, "Allow", val, sizeof(val)) && strstr(val, "UPDATE"));

	make_req(req, sizeof(req), "BYE", "UDP", "call-udp-1", "bye1", 4, tag, NULL, NULL, NULL);
	send_to(v.udp, SIP_PORT, req, strlen(req));
	CHECK_INT(status_of(recv_msg(&v, resp, sizeof(resp))), 200);
	pump(&v, 400);
	srs_stats(v.s, &st);
	CHECK_INT(st.sessions_active, 0);
	CHECK_INT(st.sessions_ended, 1);
	/* media after the end: not a session's */
	send_to(m1, (uint16_t)ports[0], pkt, sizeof(pkt));
	pump(&v, 30);
	CHECK_INT(got.ncalls, 1);
	CHECK_STR(got.call_id, "call-udp-1");
	CHECK_INT(got.nstreams, 2);
	uint64_t a = got.packets[0], b = got.packets[1];
	CHECK((a == 30 && b == 20) || (a == 20 && b == 30));
	fprintf(stderr, "  udp: streams %u, packets %llu + %llu, retransmissions %llu\n",
		got.nstreams, (unsigned long long)a, (unsigned long long)b,
		(unsigned long long)st.retransmissions_sent);
	close(m1);
	env_down(&v);
}

static void test_refusals(void)
{
	struct env v;
	char sdp[2048], resp[16384], req[12000], body[8192], val[512];
	CHECK_INT(env_up(&v, 1, false), 0);

	make_req(req, sizeof(req), "OPTIONS", "UDP", "opt-1", "opt1", 1, NULL, NULL, NULL, NULL);
	send_to(v.udp, SIP_PORT, req, strlen(req));
	CHECK_INT(status_of(recv_msg(&v, resp, sizeof(resp))), 200);
	CHECK(hdr(resp, "Accept", val, sizeof(val)) && strstr(val, "application/rs-metadata+xml"));
	CHECK(hdr(resp, "Supported", val, sizeof(val)) && strstr(val, "siprec"));

	make_req(req, sizeof(req), "BYE", "UDP", "nobody", "bye9", 2, "zzz", NULL, NULL, NULL);
	send_to(v.udp, SIP_PORT, req, strlen(req));
	CHECK_INT(status_of(recv_msg(&v, resp, sizeof(resp))), 481);

	make_sdp(sdp, sizeof(sdp), "RTP/AVP", "lb", NULL);
	make_req(req, sizeof(req), "INVITE", "UDP", "t-415", "b415", 1, NULL, NULL, "text/plain",
		 "hello");
	send_to(v.udp, SIP_PORT, req, strlen(req));
	CHECK_INT(status_of(recv_msg(&v, resp, sizeof(resp))), 415);
	CHECK(hdr(resp, "Accept", val, sizeof(val)));

	make_req(req, sizeof(req), "INVITE", "UDP", "t-420", "b420", 1, NULL,
		 "Require: siprec, foo\r\n", "application/sdp", sdp);
	send_to(v.udp, SIP_PORT, req, strlen(req));
	CHECK_INT(status_of(recv_msg(&v, resp, sizeof(resp))), 420);
	CHECK(hdr(resp, "Unsupported", val, sizeof(val)) && strcmp(val, "foo") == 0);

	make_req(req, sizeof(req), "INVITE", "UDP", "t-488a", "b488a", 1, NULL, NULL,
		 "application/sdp", "v=0\r\nm=audio 99999 RTP/AVP 0\r\n");
	send_to(v.udp, SIP_PORT, req, strlen(req));
	CHECK_INT(status_of(recv_msg(&v, resp, sizeof(resp))), 488);
	CHECK(hdr(resp, "Warning", val, sizeof(val)) && strncmp(val, "399 earshot \"", 13) == 0);

	make_req(req, sizeof(req), "INVITE", "UDP", "t-488n", "b488n", 1, NULL, NULL, NULL, NULL);
	send_to(v.udp, SIP_PORT, req, strlen(req));
	CHECK_INT(status_of(recv_msg(&v, resp, sizeof(resp))), 488);

	/* a label the metadata does not know */
	char sdp2[2048];
	make_sdp(sdp2, sizeof(sdp2), "RTP/AVP", "lx", NULL);
	make_multipart(body, sizeof(body), sdp2, meta_xml);
	make_req(req, sizeof(req), "INVITE", "UDP", "t-488l", "b488l", 1, NULL, NULL, MP, body);
	send_to(v.udp, SIP_PORT, req, strlen(req));
	CHECK_INT(status_of(recv_msg(&v, resp, sizeof(resp))), 488);
	CHECK(hdr(resp, "Warning", val, sizeof(val)) && strstr(val, "lx"));

	/* XXE and billion laughs: refused by the metadata parser */
	static const char *evil[] = {
		"<?xml version='1.0'?><!DOCTYPE r [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
		"<recording xmlns='urn:ietf:params:xml:ns:recording:1'>&x;</recording>",
		"<?xml version='1.0'?><!DOCTYPE r [<!ENTITY a 'aaaaaaaa'>"
		"<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;'><!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;'>]>"
		"<recording xmlns='urn:ietf:params:xml:ns:recording:1'>&c;</recording>",
	};
	for (unsigned i = 0; i < 2; i++) {
		char cid[32];
		snprintf(cid, sizeof(cid), "t-400-%u", i);
		make_multipart(body, sizeof(body), sdp, evil[i]);
		make_req(req, sizeof(req), "INVITE", "UDP", cid, cid, 1, NULL, NULL, MP, body);
		send_to(v.udp, SIP_PORT, req, strlen(req));
		CHECK_INT(status_of(recv_msg(&v, resp, sizeof(resp))), 400);
		CHECK(hdr(resp, "Warning", val, sizeof(val)) && strstr(val, "rs-metadata"));
	}
	/* multipart without its boundary */
	make_req(req, sizeof(req), "INVITE", "UDP", "t-400m", "b400m", 1, NULL, NULL,
		 "multipart/mixed;boundary=nothere", body);
	send_to(v.udp, SIP_PORT, req, strlen(req));
	CHECK_INT(status_of(recv_msg(&v, resp, sizeof(resp))), 400);

	/* max_sessions = 1: the second gets 503 with Retry-After */
	CHECK_INT(invite(&v, "busy-1", "busy1", sdp, resp, sizeof(resp)), 200);
	CHECK_INT(invite(&v, "busy-2", "busy2", sdp, resp, sizeof(resp)), 503);
	CHECK(hdr(resp, "Retry-After", val, sizeof(val)) && strcmp(val, "7") == 0);

	/* not SIP at all */
	send_to(v.udp, SIP_PORT, "hello there", 11);
	pump(&v, 20);
	struct srs_stats st;
	srs_stats(v.s, &st);
	CHECK_INT(st.rejected_busy, 1);
	CHECK_INT(st.rejected_bad, 8);
	CHECK(st.sip_errors >= 1);

	/* shutdown: a BYE to the SRC; then 503 */
	srs_shutdown(v.s);
	CHECK(strncmp(recv_msg(&v, resp, sizeof(resp)), "BYE sip:src@127.0.0.1", 21) == 0);
	CHECK(hdr(resp, "Call-ID", val, sizeof(val)) && strcmp(val, "busy-1") == 0);
	srs_stats(v.s, &st);
	CHECK_INT(st.sessions_active, 0);
	CHECK_INT(invite(&v, "late-1", "late1", sdp, resp, sizeof(resp)), 503);
	env_down(&v);

	/* an allow list without 127.0.0.1 */
	CHECK_INT(env_up(&v, 10, true), 0);
	CHECK_INT(invite(&v, "forb-1", "forb1", sdp, resp, sizeof(resp)), 403);
	srs_stats(v.s, &st);
	CHECK_INT(st.rejected_forbidden, 1);
	env_down(&v);
}

static void test_tcp(void)
{
	struct env v;
	char sdp[2048], body[8192], req[12000], resp[16384], val[256], tag[64] = "";
	CHECK_INT(env_up(&v, 10, false), 0);
	memset(&got, 0, sizeof(got));
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(SIP_PORT)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_INT(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	make_sdp(sdp, sizeof(sdp), "RTP/AVP", "lb", NULL);
	make_multipart(body, sizeof(body), sdp, meta_xml);
	make_req(req, sizeof(req), "INVITE", "TCP", "call-tcp-1", "tinv", 1, NULL, NULL, MP, body);
	size_t half = strlen(req) / 2;
	CHECK(send(fd, req, half, 0) == (ssize_t)half);
	pump(&v, 30);
	CHECK(send(fd, req + half, strlen(req) - half, 0) == (ssize_t)(strlen(req) - half));
	pump(&v, 50);
	ssize_t n = recv(fd, resp, sizeof(resp) - 1, MSG_DONTWAIT);
	resp[n > 0 ? n : 0] = 0;
	CHECK_INT(status_of(resp), 200);
	CHECK(hdr(resp, "Contact", val, sizeof(val)) && strstr(val, "transport=tcp"));
	if (hdr(resp, "To", val, sizeof(val)) && strstr(val, "tag="))
		snprintf(tag, sizeof(tag), "%s", strstr(val, "tag=") + 4);
	unsigned ports[4];
	CHECK_INT(answer_ports(resp, ports, 4), 2);
	/* ACK and BYE in one segment */
	char two[4096];
	make_req(req, sizeof(req), "ACK", "TCP", "call-tcp-1", "tack", 1, tag, NULL, NULL, NULL);
	make_req(two, sizeof(two), "BYE", "TCP", "call-tcp-1", "tbye", 2, tag, NULL, NULL, NULL);
	int s1 = socket(AF_INET, SOCK_DGRAM, 0);
	uint8_t pkt[172];
	for (unsigned i = 0; i < 10; i++) {
		rtp_packet(pkt, 0, (uint16_t)i, 0x3333);
		send_to(s1, (uint16_t)ports[0], pkt, sizeof(pkt));
	}
	pump(&v, 50);
	strcat(req, two);
	CHECK(send(fd, req, strlen(req), 0) == (ssize_t)strlen(req));
	pump(&v, 50);
	n = recv(fd, resp, sizeof(resp) - 1, MSG_DONTWAIT);
	resp[n > 0 ? n : 0] = 0;
	CHECK_INT(status_of(resp), 200);
	CHECK(hdr(resp, "CSeq", val, sizeof(val)) && strcmp(val, "2 BYE") == 0);
	pump(&v, 400);
	struct srs_stats st;
	srs_stats(v.s, &st);
	CHECK_INT(st.sessions_ended, 1);
	CHECK_INT(st.tcp_connections, 1);
	CHECK_INT(st.retransmissions_sent, 0);
	CHECK_INT(got.ncalls, 1);
	CHECK_INT(got.nstreams >= 1, 1);
	CHECK_INT(got.packets[0], 10);
	/* an oversized message closes the connection */
	static char big[70000];
	memset(big, 'a', sizeof(big));
	memcpy(big, "OPTIONS sip:x SIP/2.0\r\nX: ", 26);
	(void)!send(fd, big, sizeof(big), MSG_NOSIGNAL);
	pump(&v, 50);
	srs_stats(v.s, &st);
	CHECK(st.sip_errors >= 1);
	close(fd);
	close(s1);
	env_down(&v);
}

static void test_srtp(void)
{
	struct env v;
	char sdp[2048], resp[16384], req[4096], tag[64] = "", val[256];
	CHECK_INT(env_up(&v, 10, false), 0);
	CHECK(sodium_init() >= 0);
	memset(&got, 0, sizeof(got));
	uint8_t key[30];
	char key64[64], crypto[128];
	randombytes_buf(key, sizeof(key));
	sodium_bin2base64(key64, sizeof(key64), key, sizeof(key), sodium_base64_VARIANT_ORIGINAL);
	snprintf(crypto, sizeof(crypto), "1 AES_CM_128_HMAC_SHA1_80 inline:%s|2^31", key64);
	make_sdp(sdp, sizeof(sdp), "RTP/SAVP", "lb", crypto);
	CHECK_INT(invite(&v, "call-srtp-1", "sinv", sdp, resp, sizeof(resp)), 200);
	CHECK(strstr(resp, "m=audio ") && strstr(resp, "RTP/SAVP"));
	CHECK(strstr(resp, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:") != NULL);
	CHECK(strstr(resp, key64) == NULL); /* our own key, not the SRC's */
	if (hdr(resp, "To", val, sizeof(val)) && strstr(val, "tag="))
		snprintf(tag, sizeof(tag), "%s", strstr(val, "tag=") + 4);
	unsigned ports[4];
	CHECK_INT(answer_ports(resp, ports, 4), 2);
	make_req(req, sizeof(req), "ACK", "UDP", "call-srtp-1", "sack", 1, tag, NULL, NULL, NULL);
	send_to(v.udp, SIP_PORT, req, strlen(req));

	srtp_t tx;
	srtp_policy_t pol;
	memset(&pol, 0, sizeof(pol));
	srtp_crypto_policy_set_rtp_default(&pol.rtp);
	srtp_crypto_policy_set_rtcp_default(&pol.rtcp);
	pol.ssrc.type = ssrc_any_outbound;
	pol.key = key;
	CHECK_INT(srtp_create(&tx, &pol), srtp_err_status_ok);
	int m1 = socket(AF_INET, SOCK_DGRAM, 0);
	uint8_t pkt[256];
	for (unsigned i = 0; i < 25; i++) {
		rtp_packet(pkt, 0, (uint16_t)(7 + i), 0x4444);
		int len = 172;
		CHECK_INT(srtp_protect(tx, pkt, &len), srtp_err_status_ok);
		if (i == 24)
			pkt[len - 1] ^= 0x55; /* a bad auth tag */
		send_to(m1, (uint16_t)ports[0], pkt, (size_t)len);
	}
	pump(&v, 60);
	struct srs_stats st;
	srs_stats(v.s, &st);
	CHECK_INT(st.rtp_packets, 24);
	CHECK_INT(st.drops.media_srtp_auth, 1);
	make_req(req, sizeof(req), "BYE", "UDP", "call-srtp-1", "sbye", 2, tag, NULL, NULL, NULL);
	send_to(v.udp, SIP_PORT, req, strlen(req));
	CHECK_INT(status_of(recv_msg(&v, resp, sizeof(resp))), 200);
	pump(&v, 400);
	CHECK_INT(got.ncalls, 1);
	CHECK_INT(got.nstreams, 1);
	CHECK_INT(got.packets[0], 24);
	srtp_dealloc(tx);
	close(m1);
	env_down(&v);
}

/* A re-INVITE keeps the ports; a session silent for session_timeout_us
 * ends with a BYE that is retransmitted until answered. */
static void test_reinvite_timeout(void)
{
	struct env v;
	char sdp[2048], resp[16384], req[12000], val[256], tag[64] = "";
	CHECK_INT(env_up(&v, 10, false), 0);
	make_sdp(sdp, sizeof(sdp), "RTP/AVP", "lb", NULL);
	CHECK_INT(invite(&v, "call-re-1", "rinv", sdp, resp, sizeof(resp)), 200);
	unsigned p1[4], p2[4];
	CHECK_INT(answer_ports(resp, p1, 4), 2);
	if (hdr(resp, "To", val, sizeof(val)) && strstr(val, "tag="))
		snprintf(tag, sizeof(tag), "%s", strstr(val, "tag=") + 4);
	make_req(req, sizeof(req), "ACK", "UDP", "call-re-1", "rack", 1, tag, NULL, NULL, NULL);
	send_to(v.udp, SIP_PORT, req, strlen(req));
	make_req(req, sizeof(req), "INVITE", "UDP", "call-re-1", "rinv2", 2, tag, NULL,
		 "application/sdp", sdp);
	send_to(v.udp, SIP_PORT, req, strlen(req));
	CHECK_INT(status_of(recv_msg(&v, resp, sizeof(resp))), 200);
	CHECK_INT(answer_ports(resp, p2, 4), 2);
	CHECK(p1[0] == p2[0] && p1[1] == p2[1]);
	CHECK(strstr(resp, "o=earshot ") && strstr(resp, " 2 IN IP4"));
	make_req(req, sizeof(req), "ACK", "UDP", "call-re-1", "rack2", 2, tag, NULL, NULL, NULL);
	send_to(v.udp, SIP_PORT, req, strlen(req));
	/* UPDATE with an offer: answered with SDP */
	make_req(req, sizeof(req), "UPDATE", "UDP", "call-re-1", "rupd", 3, tag, NULL,
		 "application/sdp", sdp);
	send_to(v.udp, SIP_PORT, req, strlen(req));
	CHECK_INT(status_of(recv_msg(&v, resp, sizeof(resp))), 200);
	CHECK(strstr(resp, "a=recvonly") != NULL);
	env_down(&v);

	/* the timeout */
	struct rec_config rc;
	rec_config_default(&rc);
	memset(&v, 0, sizeof(v));
	CHECK_INT(rec_engine_new(&v.e, &rc, on_call, NULL), 0);
	struct srs_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.listen[0].proto = 17;
	lo_addr(&cfg.listen[0].addr, SIP_PORT);
	cfg.nlisten = 1;
	lo_addr(&cfg.media_addr, 0);
	cfg.rtp_lo = (uint16_t)RTP_LO;
	cfg.rtp_hi = (uint16_t)RTP_HI;
	cfg.session_timeout_us = 800000;
	CHECK_INT(srs_new(&v.s, &cfg, v.e, NULL, 0), 0);
	v.udp = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(SRC_PORT)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_INT(bind(v.udp, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK_INT(invite(&v, "call-to-1", "toinv", sdp, resp, sizeof(resp)), 200);
	if (hdr(resp, "To", val, sizeof(val)) && strstr(val, "tag="))
		snprintf(tag, sizeof(tag), "%s", strstr(val, "tag=") + 4);
	make_req(req, sizeof(req), "ACK", "UDP", "call-to-1", "toack", 1, tag, NULL, NULL, NULL);
	send_to(v.udp, SIP_PORT, req, strlen(req));
	pump(&v, 900);
	CHECK(strncmp(recv_msg(&v, resp, sizeof(resp)), "BYE ", 4) == 0);
	pump(&v, 600); /* not answered: sent again */
	CHECK(strncmp(recv_msg(&v, resp, sizeof(resp)), "BYE ", 4) == 0);
	/* answer it: no more BYEs */
	char ok[4096], via[256], from[256], to[256], cseq[64];
	hdr(resp, "Via", via, sizeof(via));
	hdr(resp, "From", from, sizeof(from));
	hdr(resp, "To", to, sizeof(to));
	hdr(resp, "CSeq", cseq, sizeof(cseq));
	snprintf(ok, sizeof(ok),
		 "SIP/2.0 200 OK\r\nVia: %s\r\nFrom: %s\r\nTo: %s\r\nCall-ID: call-to-1\r\n"
		 "CSeq: %s\r\nContent-Length: 0\r\n\r\n",
		 via, from, to, cseq);
	send_to(v.udp, SIP_PORT, ok, strlen(ok));
	pump(&v, 100);
	while (recv(v.udp, resp, sizeof(resp), MSG_DONTWAIT) > 0) {
	}
	pump(&v, 1200);
	CHECK_INT(recv(v.udp, resp, sizeof(resp), MSG_DONTWAIT), -1);
	struct srs_stats st;
	srs_stats(v.s, &st);
	CHECK_INT(st.sessions_ended, 1);
	CHECK_INT(st.sessions_active, 0);
	env_down(&v);
}

/* ---- TLS: the SRC as an OpenSSL client ---- */

struct tcli {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
};

static int tcp_connect(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	CHECK(rc == 0 || errno == EINPROGRESS);
	return fd;
}

/* Connect and handshake (verifying the server's certificate for
 * 127.0.0.1), the server stepped between attempts; cert: present the test
 * certificate as the client's.  1 = done, 0 = the handshake failed. */
static int tls_connect(struct env *v, struct tcli *t, bool cert)
{
	memset(t, 0, sizeof(*t));
	t->fd = tcp_connect(TLS_PORT);
	t->ctx = SSL_CTX_new(TLS_client_method());
	CHECK(SSL_CTX_load_verify_locations(t->ctx, TLS_DIR "cert.pem", NULL) == 1);
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	if (cert) {
		CHECK(SSL_CTX_use_certificate_file(t->ctx, TLS_DIR "cert.pem", SSL_FILETYPE_PEM) == 1);
		CHECK(SSL_CTX_use_PrivateKey_file(t->ctx, TLS_DIR "key.pem", SSL_FILETYPE_PEM) == 1);
	}
	t->ssl = SSL_new(t->ctx);
	SSL_set_fd(t->ssl, t->fd);
	X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), "127.0.0.1");
	int64_t end = es_mono_us() + 3 * ES_US_PER_SEC;
	while (es_mono_us() < end) {
		int r = SSL_connect(t->ssl);
		if (r == 1)
			return 1;
		int e = SSL_get_error(t->ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			ERR_clear_error();
			return 0;
		}
		srs_step(v->s, 5);
	}
	return 0;
}

static void tls_close(struct tcli *t)
{
	SSL_free(t->ssl);
	SSL_CTX_free(t->ctx);
	close(t->fd);
}

static void tls_send(struct env *v, struct tcli *t, const char *p, size_t len)
{
	int64_t end = es_mono_us() + 2 * ES_US_PER_SEC;
	while (len && es_mono_us() < end) {
		size_t n = 0;
		if (SSL_write_ex(t->ssl, p, len, &n) == 1) {
			p += n;
			len -= n;
			continue;
		}
		int e = SSL_get_error(t->ssl, 0);
		ERR_clear_error();
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			break;
		srs_step(v->s, 5);
	}
	CHECK_INT(len, 0);
}

/* What arrives within ms (the server stepped meanwhile) into buf; -1 when
 * the connection was closed or failed (with nothing read). */
static int tls_recv(struct env *v, struct tcli *t, char *buf, size_t cap, int ms)
{
	size_t got_n = 0;
	bool closed = false;
	int64_t end = es_mono_us() + (int64_t)ms * 1000;
	while (es_mono_us() < end && !closed) {
		srs_step(v->s, 5);
		for (;;) {
			size_t n = 0;
			if (SSL_read_ex(t->ssl, buf + got_n, cap - 1 - got_n, &n) == 1) {
				got_n += n;
				continue;
			}
			int e = SSL_get_error(t->ssl, 0);
			ERR_clear_error();
			closed = e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE;
			break;
		}
	}
	buf[got_n] = 0;
	return got_n == 0 && closed ? -1 : (int)got_n;
}

static void test_tls_session(void)
{
	struct env v;
	struct tcli t;
	char sdp[2048], body[8192], req[12000], two[4096], resp[16384], val[256], tag[64] = "";
	tls_opt.on = true;
	tls_opt.ca = NULL;
	CHECK_INT(env_up(&v, 10, false), 0);
	memset(&got, 0, sizeof(got));
	CHECK_INT(tls_connect(&v, &t, false), 1);
	make_sdp(sdp, sizeof(sdp), "RTP/AVP", "lb", NULL);
	make_multipart(body, sizeof(body), sdp, meta_xml);
	make_req(req, sizeof(req), "INVITE", "TLS", "call-tls-1", "linv", 1, NULL,
		 "Require: siprec\r\n", MP, body);
	/* the INVITE in two TLS records, the server running in between */
	size_t half = strlen(req) / 2;
	tls_send(&v, &t, req, half);
	pump(&v, 30);
	tls_send(&v, &t, req + half, strlen(req) - half);
	CHECK(tls_recv(&v, &t, resp, sizeof(resp), 100) > 0);
	CHECK_INT(status_of(resp), 200);
	CHECK(hdr(resp, "Contact", val, sizeof(val)) && strstr(val, "transport=tls"));
	/* the Via as received (the server adds no received/rport on TCP, TLS) */
	CHECK(hdr(resp, "Via", val, sizeof(val)) && strstr(val, "SIP/2.0/TLS 127.0.0.1"));
	if (hdr(resp, "To", val, sizeof(val)) && strstr(val, "tag="))
		snprintf(tag, sizeof(tag), "%s", strstr(val, "tag=") + 4);
	unsigned ports[4];
	CHECK_INT(answer_ports(resp, ports, 4), 2);
	make_req(req, sizeof(req), "ACK", "TLS", "call-tls-1", "lack", 1, tag, NULL, NULL, NULL);
	tls_send(&v, &t, req, strlen(req));
	int s1 = socket(AF_INET, SOCK_DGRAM, 0);
	uint8_t pkt[172];
	for (unsigned i = 0; i < 10; i++) {
		rtp_packet(pkt, 0, (uint16_t)i, 0x4444);
		send_to(s1, (uint16_t)ports[0], pkt, sizeof(pkt));
		rtp_packet(pkt, 8, (uint16_t)i, 0x5555);
		send_to(s1, (uint16_t)ports[1], pkt, sizeof(pkt));
	}
	pump(&v, 50);
	make_req(two, sizeof(two), "BYE", "TLS", "call-tls-1", "lbye", 2, tag, NULL, NULL, NULL);
	tls_send(&v, &t, two, strlen(two));
	CHECK(tls_recv(&v, &t, resp, sizeof(resp), 100) > 0);
	CHECK_INT(status_of(resp), 200);
	CHECK(hdr(resp, "CSeq", val, sizeof(val)) && strcmp(val, "2 BYE") == 0);
	pump(&v, 400);
	struct srs_stats st;
	srs_stats(v.s, &st);
	CHECK_INT(st.sessions_total, 1);
	CHECK_INT(st.sessions_ended, 1);
	CHECK_INT(st.tcp_connections, 1);
	CHECK_INT(st.tls_connections, 1);
	CHECK_INT(st.tls_failures, 0);
	CHECK_INT(st.retransmissions_sent, 0);
	CHECK_INT(got.ncalls, 1);
	CHECK_STR(got.call_id, "call-tls-1");
	CHECK_INT(got.nstreams, 2);
	CHECK_INT(got.packets[0] + got.packets[1], 20);
	close(s1);
	tls_close(&t);
	env_down(&v);
	tls_opt.on = false;
}

/* Plain SIP, garbage and a vanished client on the TLS port: each
 * handshake fails and is counted; the server goes on serving. */
static void test_tls_bad_clients(void)
{
	struct env v;
	struct tcli t;
	char req[4096], resp[4096];
	tls_opt.on = true;
	tls_opt.ca = NULL;
	CHECK_INT(env_up(&v, 10, false), 0);
	struct srs_stats st;
	/* plain SIP */
	int fd = tcp_connect(TLS_PORT);
	pump(&v, 20);
	make_req(req, sizeof(req), "OPTIONS", "TCP", "call-plain", "opt1", 1, NULL, NULL, NULL, NULL);
	CHECK(send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req));
	pump(&v, 50);
	srs_stats(v.s, &st);
	CHECK_INT(st.tls_failures, 1);
	CHECK_INT(st.requests, 0);
	ssize_t n;
	do
		n = recv(fd, resp, sizeof(resp), MSG_DONTWAIT);
	while (n > 0); /* maybe an alert, then the close */
	CHECK(n == 0 || (n < 0 && errno != EAGAIN));
	close(fd);
	/* garbage: random bytes, then a TLS record header with nonsense */
	uint8_t junk[2048];
	randombytes_buf(junk, sizeof(junk));
	fd = tcp_connect(TLS_PORT);
	pump(&v, 20);
	CHECK(send(fd, junk, sizeof(junk), MSG_NOSIGNAL) == (ssize_t)sizeof(junk));
	pump(&v, 50);
	close(fd);
	memcpy(junk, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
	fd = tcp_connect(TLS_PORT);
	pump(&v, 20);
	CHECK(send(fd, junk, 600, MSG_NOSIGNAL) == 600);
	pump(&v, 50);
	close(fd);
	/* a client gone in the middle of its handshake */
	fd = tcp_connect(TLS_PORT);
	pump(&v, 20);
	CHECK(send(fd, junk, 5, MSG_NOSIGNAL) == 5);
	pump(&v, 20);
	close(fd);
	pump(&v, 50);
	srs_stats(v.s, &st);
	CHECK_INT(st.tls_failures, 4);
	CHECK_INT(st.tls_connections, 0);
	/* still serving, TLS and UDP */
	CHECK_INT(tls_connect(&v, &t, false), 1);
	make_req(req, sizeof(req), "OPTIONS", "TLS", "call-opt", "opt2", 1, NULL, NULL, NULL, NULL);
	tls_send(&v, &t, req, strlen(req));
	CHECK(tls_recv(&v, &t, resp, sizeof(resp), 100) > 0);
	CHECK_INT(status_of(resp), 200);
	tls_close(&t);
	make_req(req, sizeof(req), "OPTIONS", "UDP", "call-opt3", "opt3", 1, NULL, NULL, NULL, NULL);
	send_to(v.udp, SIP_PORT, req, strlen(req));
	CHECK_INT(status_of(recv_msg(&v, resp, sizeof(resp))), 200);
	srs_stats(v.s, &st);
	CHECK_INT(st.tls_failures, 4);
	CHECK_INT(st.tls_connections, 1);
	env_down(&v);
	tls_opt.on = false;
}

/* tls_ca set: a client without a certificate is refused, one with a
 * certificate the CA file holds is served. */
static void test_tls_mutual(void)
{
	struct env v;
	struct tcli t;
	char req[4096], resp[4096];
	tls_opt.on = true;
	tls_opt.ca = TLS_DIR "cert.pem";
	CHECK_INT(env_up(&v, 10, false), 0);
	/* TLS 1.3: the client may finish before the server has checked */
	int ok = tls_connect(&v, &t, false);
	if (ok) {
		make_req(req, sizeof(req), "OPTIONS", "TLS", "call-m1", "m1", 1, NULL, NULL, NULL,
			 NULL);
		tls_send(&v, &t, req, strlen(req));
		CHECK_INT(tls_recv(&v, &t, resp, sizeof(resp), 100), -1);
	}
	tls_close(&t);
	struct srs_stats st;
	srs_stats(v.s, &st);
	CHECK_INT(st.tls_failures, 1);
	CHECK_INT(st.tls_connections, 0);
	CHECK_INT(st.requests, 0);
	CHECK_INT(tls_connect(&v, &t, true), 1);
	make_req(req, sizeof(req), "OPTIONS", "TLS", "call-m2", "m2", 1, NULL, NULL, NULL, NULL);
	tls_send(&v, &t, req, strlen(req));
	CHECK(tls_recv(&v, &t, resp, sizeof(resp), 100) > 0);
	CHECK_INT(status_of(resp), 200);
	tls_close(&t);
	srs_stats(v.s, &st);
	CHECK_INT(st.tls_connections, 1);
	env_down(&v);
	tls_opt.on = false;
	tls_opt.ca = NULL;
}

/* srs_new's errors name the file. */
static void test_tls_config_errors(void)
{
	struct rec_engine *e;
	struct rec_config rc;
	rec_config_default(&rc);
	CHECK_INT(rec_engine_new(&e, &rc, on_call, NULL), 0);
	struct srs_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.listen[0].proto = SRS_PROTO_TLS;
	lo_addr(&cfg.listen[0].addr, TLS_PORT);
	cfg.nlisten = 1;
	lo_addr(&cfg.media_addr, 0);
	cfg.rtp_lo = (uint16_t)RTP_LO;
	cfg.rtp_hi = (uint16_t)RTP_HI;
	struct srs *s = NULL;
	char err[512];
	CHECK_INT(srs_new(&s, &cfg, e, err, sizeof(err)), ES_EINVAL);
	CHECK(strstr(err, "tls_cert") && strstr(err, "tls_key"));
	cfg.tls_cert = TLS_DIR "cert.pem";
	CHECK_INT(srs_new(&s, &cfg, e, err, sizeof(err)), ES_EINVAL);
	CHECK(strstr(err, "tls_key") != NULL);
	cfg.tls_key = TLS_DIR "missing-key.pem";
	CHECK_INT(srs_new(&s, &cfg, e, err, sizeof(err)), ES_EIO);
	CHECK(strstr(err, "missing-key.pem") && strstr(err, "No such file"));
	cfg.tls_key = TLS_DIR "other-key.pem";
	CHECK(srs_new(&s, &cfg, e, err, sizeof(err)) != 0);
	CHECK(strstr(err, "other-key.pem") && strstr(err, "match"));
	cfg.tls_key = TLS_DIR "key.pem";
	cfg.tls_cert = TLS_DIR "README.txt";
	CHECK(srs_new(&s, &cfg, e, err, sizeof(err)) != 0);
	CHECK(strstr(err, "README.txt") && strstr(err, "certificate"));
	cfg.tls_cert = TLS_DIR "cert.pem";
	cfg.tls_ca = TLS_DIR "README.txt";
	CHECK(srs_new(&s, &cfg, e, err, sizeof(err)) != 0);
	CHECK(strstr(err, "README.txt") && strstr(err, "CA"));
	cfg.tls_ca = NULL;
	CHECK_INT(srs_new(&s, &cfg, e, err, sizeof(err)), 0);
	srs_free(s);
	rec_engine_free(e);
}

/* Whether port is free for both TCP and UDP on 127.0.0.1 now. */
static bool port_free(unsigned port)
{
	static const int kinds[] = {SOCK_STREAM, SOCK_DGRAM};
	bool ok = true;
	for (size_t k = 0; ok && k < 2; k++) {
		int fd = socket(AF_INET, kinds[k], 0);
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
		if (fd >= 0)
			close(fd);
	}
	return ok;
}

/* The first port (even) of PORT_BLOCK consecutive free ones, probed from a
 * random start in 20000-60000 (as estest.free_port_range); 0 if none. */
static unsigned free_block(void)
{
	uint32_t r = randombytes_random();
	for (int tries = 0; tries < 200; tries++, r = randombytes_random()) {
		unsigned start = (20000 + r % (40000 - PORT_BLOCK)) & ~1u, i = 0;
		while (i < PORT_BLOCK && port_free(start + i))
			i++;
		if (i == PORT_BLOCK)
			return start;
	}
	return 0;
}

int main(void)
{
	es_log_set_level(ES_LOG_ERROR);
	if (sodium_init() < 0)
		return 1;
	port_base = free_block();
	if (!port_base) {
		fprintf(stderr, "no %d consecutive free ports on 127.0.0.1\n", PORT_BLOCK);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN); /* as the program does: a TLS write to a closed peer */
	RUN(test_udp_session);
	RUN(test_refusals);
	RUN(test_tcp);
	RUN(test_srtp);
	RUN(test_reinvite_timeout);
	RUN(test_tls_session);
	RUN(test_tls_bad_clients);
	RUN(test_tls_mutual);
	RUN(test_tls_config_errors);
	return CHECK_DONE();
}
