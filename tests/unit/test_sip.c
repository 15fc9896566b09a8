/* test_sip.c - SIP messages, framing, URIs, name-addr, multipart, SDP. */
#include "check.h"
#include "sip/sip.h"

#include <stdlib.h>

/* Real messages from the public captures (../shared/captures). */
/* sip-over-tcp.pcap frame 3 */
static const char real_invite[] =
	"INVITE sip:201@10.33.6.101;user=phone SIP/2.0\r\n"
	"Via: SIP/2.0/TCP 10.33.6.100;branch=z9hG4bKac1589375893;alias\r\n"
	"Max-Forwards: 70\r\n"
	"From: <sip:101@10.33.6.100>;tag=1c1589367133\r\n"
	"To: <sip:201@10.33.6.101;user=phone>\r\n"
	"Call-ID: 158936656982201062716@10.33.6.100\r\n"
	"CSeq: 1 INVITE\r\n"
	"Contact: <sip:101@10.33.6.100:5060;transport=tcp>\r\n"
	"Supported: em,timer,replaces,path,resource-priority,sdp-anat\r\n"
	"Allow: REGISTER,OPTIONS,INVITE,ACK,CANCEL,BYE,NOTIFY,PRACK,REFER,INFO,SUBSCRIBE,UPDATE\r\n"
	"User-Agent: IPP/v.6.20A.027.012\r\n"
	"Content-Type: application/sdp\r\n"
	"Content-Length: 228\r\n"
	"\r\n"
	"v=0\r\n"
	"o=IPP 1589356486 1589356361 IN IP4 10.33.6.100\r\n"
	"s=Phone-Call\r\n"
	"c=IN IP4 10.33.6.100\r\n"
	"t=0 0\r\n"
	"m=audio 6000 RTP/AVP 8 13 101\r\n"
	"a=rtpmap:8 PCMA/8000\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=fmtp:101 0-15,16\r\n"
	"a=ptime:20\r\n"
	"a=sendrecv\r\n";

/* invite-opus-bye.pcap frame 2 */
static const char real_trying[] =
	"SIP/2.0 100 Trying\r\n"
	"Via: SIP/2.0/UDP 127.0.0.1:5082;branch=z9hG4bK-3811003-1-0\r\n"
	"From: \"Alice\" <sip:alice@example.com>;tag=call-1\r\n"
	"To: \"Bob\" <sip:bob@example.com>\r\n"
	"Call-ID: 1-3811003@127.0.0.1\r\n"
	"CSeq: 1 INVITE\r\n"
	"Content-Length: 0\r\n"
	"\r\n";

static int parse(struct sip_msg *m, const char *s) { return sip_msg_parse(m, s, strlen(s)); }

static void test_real(void)
{
	struct sip_msg m;
	CHECK_INT(parse(&m, real_invite), 0);
	CHECK(m.is_request);
	CHECK_SL(m.method, "INVITE");
	CHECK_SL(m.ruri, "sip:201@10.33.6.101;user=phone");
	CHECK_SL(m.call_id, "158936656982201062716@10.33.6.100");
	CHECK_INT(m.cseq, 1);
	CHECK_SL(m.cseq_method, "INVITE");
	CHECK_INT(m.nvia, 1);
	CHECK_SL(m.via_branch, "z9hG4bKac1589375893");
	CHECK(m.has_content_length);
	CHECK_INT(m.content_length, 228);
	CHECK_INT(m.body.len, 228);
	CHECK_INT(m.msg_len, strlen(real_invite));
	CHECK_SL(sip_msg_hdr(&m, SIP_H_USER_AGENT), "IPP/v.6.20A.027.012");
	CHECK_SL(sip_msg_hdr_name(&m, "max-forwards"), "70");
	CHECK(sip_msg_hdr_name(&m, "X-None").p == NULL);
	CHECK_INT(m.nhdrs, 12);
	struct sip_uri u;
	CHECK_INT(sip_uri_parse(m.ruri, &u), 0);
	CHECK_SL(u.user, "201");
	CHECK_SL(u.host, "10.33.6.101");
	CHECK_SL(u.params, ";user=phone");
	struct slice sdpb;
	CHECK_INT(sip_body_find(m.content_type, m.body, "application/sdp", &sdpb), 0);
	struct sdp s;
	CHECK_INT(sdp_parse(&s, sdpb.p, sdpb.len), 0);
	CHECK_SL(s.origin_user, "IPP");
	CHECK(s.version == 1589356361u);
	CHECK_INT(s.nmedia, 1);
	const struct sdp_media *md = &s.media[0];
	CHECK_INT(md->port, 6000);
	CHECK_INT(md->nfmt, 3);
	CHECK_INT(md->telephone_event_pt, 101);
	const struct sdp_rtpmap *r = sdp_rtpmap_find(md, 13);
	CHECK(r != NULL);
	if (r) {
		CHECK_SL(r->encoding, "CN");
		CHECK_INT(r->clock, 8000);
	}
	r = sdp_rtpmap_find(md, 101);
	CHECK(r && r->fmtp.len);
	if (r)
		CHECK_SL(r->fmtp, "0-15,16");
	char a[ES_ADDR_STRLEN];
	es_addr_fmt(&md->addr, true, a, sizeof(a));
	CHECK_STR(a, "10.33.6.100:6000");

	CHECK_INT(parse(&m, real_trying), 0);
	CHECK(!m.is_request);
	CHECK_INT(m.status, 100);
	CHECK_SL(m.reason, "Trying");
	struct sip_nameaddr na;
	CHECK_INT(sip_nameaddr_parse(m.from, &na), 0);
	CHECK_SL(na.display, "Alice");
	CHECK_SL(na.uri, "sip:alice@example.com");
	CHECK_SL(na.tag, "call-1");
	CHECK_INT(sip_nameaddr_parse(m.to, &na), 0);
	CHECK_SL(na.tag, "");
	CHECK(sip_looks_like((const uint8_t *)real_trying, strlen(real_trying)));
	CHECK(sip_looks_like((const uint8_t *)real_invite, strlen(real_invite)));
	CHECK(!sip_looks_like((const uint8_t *)"HTTP/1.1 200 OK\r\n", 17));
	CHECK(!sip_looks_like((const uint8_t *)"\x80\x00\x12\x34", 4));
}

/* RFC 4475-style torture: compact forms, folding, odd case, many Via. */
static void test_torture(void)
{
	static const char wsinv[] =
		"INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\r\n"
		"TO :\r\n"
		" sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\r\n"
		"from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n"
		"  ;\r\n"
		"  tag = 98asjd8\r\n"
		"MaX-fOrWaRdS: 0068\r\n"
		"Call-ID\r\n"
		" : wsinv.ndaksdj@192.0.2.1\r\n"
		"Content-Length   : 150\r\n"
		"cseq: 0009\r\n"
		"  INVITE\r\n"
		"Via  : SIP  /   2.0\r\n"
		" /UDP\r\n"
		"    192.0.2.2;branch=390skdjuw\r\n"
		"s :\r\n"
		"NewFangledHeader:   newfangled value\r\n"
		" continued newfangled value\r\n"
		"UnknownHeaderWithUnusualValue: ;;,,;;,;\r\n"
		"Content-Type: application/sdp\r\n"
		"Route:\r\n"
		" <sip:services.example.com;lr;unknownwith=value;unknown-no-value>\r\n"
		"v:  SIP  / 2.0  / TCP     spindle.example.com   ;\r\n"
		"  branch  =   z9hG4bK9ikj8  ,\r\n"
		" SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n"
		" z9hG4bK30239\r\n"
		"m:\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\r\n"
		"      newvalue ;\r\n"
		"  secondparam ; q = 0.33\r\n"
		"\r\n"
		"v=0\r\n"
		"o=mhandley 29739 7272939 IN IP4 192.0.2.3\r\n"
		"s=-\r\n"
		"c=IN IP4 192.0.2.4\r\n"
		"t=0 0\r\n"
		"m=audio 49217 RTP/AVP 0 12\r\n"
		"m=video 3227 RTP/AVP 31\r\n"
		"a=rtpmap:31 LPC\r\n";
	struct sip_msg m;
	CHECK_INT(parse(&m, wsinv), 0);
	CHECK_SL(m.call_id, "wsinv.ndaksdj@192.0.2.1");
	CHECK_INT(m.cseq, 9);
	CHECK(m.cseq_method.len >= 6 && memcmp(m.cseq_method.p + m.cseq_method.len - 6, "INVITE", 6) == 0);
	CHECK_INT(m.content_length, 150);
	CHECK_INT(m.body.len, 150);
	CHECK_INT(m.nvia, 3);
	CHECK_SL(m.via_branch, "390skdjuw");
	CHECK_SL(sip_msg_hdr(&m, SIP_H_SUBJECT), "");
	CHECK(sip_msg_hdr(&m, SIP_H_SUBJECT).p != NULL);
	CHECK_SL(sip_msg_hdr_name(&m, "max-forwards"), "0068");
	CHECK_SL(sip_msg_hdr_name(&m, "Contact").len ? sl_sub(sip_msg_hdr_name(&m, "Contact"), 0, 1) : SL_NULL, "\"");
	CHECK_SL(sip_msg_hdr_name(&m, "Subject"), "");
	struct sip_nameaddr na;
	CHECK_INT(sip_nameaddr_parse(m.from, &na), 0);
	CHECK_SL(na.display, "J Rosenberg \\\\\\\"");
	CHECK_SL(na.uri, "sip:jdrosen@example.com");
	CHECK_SL(na.tag, "98asjd8");
	CHECK_INT(sip_nameaddr_parse(m.to, &na), 0);
	CHECK_SL(na.uri, "sip:vivekg@chair-dnrc.example.com");
	CHECK_SL(na.tag, "1918181833n");
	CHECK_SL(na.u.host, "chair-dnrc.example.com");
	CHECK_INT(sip_nameaddr_parse(sip_msg_hdr(&m, SIP_H_CONTACT), &na), 0);
	CHECK_SL(na.display, "Quoted string \\\"\\\"");
	struct slice v;
	CHECK_INT(sip_param(na.params, "Q", &v), 0);
	CHECK_SL(v, "0.33");
	CHECK_INT(sip_param(na.params, "secondparam", &v), 0);
	CHECK_INT(sip_param(na.params, "nothere", &v), ES_ENOTFOUND);
	struct sdp s;
	CHECK_INT(sdp_parse(&s, m.body.p, m.body.len), 0);
	CHECK_INT(s.nmedia, 2);

	/* compact forms, bare LF, leading CRLF, missing Content-Length (UDP) */
	static const char compact[] =
		"\r\nOPTIONS sips:[2001:db8::10]:5061;transport=tls SIP/2.0\n"
		"v: SIP/2.0/TLS [2001:db8::9]:5061;branch=z9hG4bKa, SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKb\n"
		"V: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKc\n"
		"f: Bob <sips:bob@[2001:db8::9]>;tag=x1\n"
		"t: tel:+1-201-555-0123;phone-context=example.com\n"
		"i: cmp1\n"
		"CSEQ: 7 OPTIONS\n"
		"c: text/plain\n"
		"k: timer\n"
		"x: 1800\n"
		"o: dialog\n"
		"r: <sip:carol@example.com>\n"
		"\n"
		"hello";
	CHECK_INT(parse(&m, compact), 0);
	CHECK_SL(m.method, "OPTIONS");
	CHECK_INT(m.nvia, 3);
	CHECK_SL(m.via_branch, "z9hG4bKa");
	CHECK_SL(m.call_id, "cmp1");
	CHECK_SL(m.content_type, "text/plain");
	CHECK(!m.has_content_length);
	CHECK_SL(m.body, "hello");
	CHECK_INT(m.msg_len, strlen(compact) - 2);
	CHECK_SL(sip_msg_hdr(&m, SIP_H_SUPPORTED), "timer");
	CHECK_SL(sip_msg_hdr(&m, SIP_H_SESSION_EXPIRES), "1800");
	CHECK_SL(sip_msg_hdr(&m, SIP_H_EVENT), "dialog");
	CHECK_SL(sip_msg_hdr_name(&m, "Refer-To"), "<sip:carol@example.com>");
	CHECK_SL(sip_msg_hdr_name(&m, "call-id"), "cmp1");
	CHECK_SL(sip_msg_hdr_name(&m, "k"), "timer");
	struct sip_uri u;
	CHECK_INT(sip_uri_parse(m.ruri, &u), 0);
	CHECK_SL(u.scheme, "sips");
	CHECK_SL(u.host, "2001:db8::10");
	CHECK_INT(u.port, 5061);
	CHECK_SL(u.params, ";transport=tls");
	CHECK_INT(sip_nameaddr_parse(m.from, &na), 0);
	CHECK_SL(na.display, "Bob");
	CHECK_SL(na.u.host, "2001:db8::9");
	CHECK_SL(na.u.user, "bob");
	CHECK_SL(na.tag, "x1");
	/* bare tel: addr-spec: the ;params belong to the header */
	CHECK_INT(sip_nameaddr_parse(m.to, &na), 0);
	CHECK_SL(na.uri, "tel:+1-201-555-0123");
	CHECK_SL(na.u.scheme, "tel");
	CHECK_SL(na.u.user, "+1-201-555-0123");
	CHECK_SL(na.params, ";phone-context=example.com");

	/* Content-Length shorter than the datagram: extra bytes ignored */
	CHECK_INT(parse(&m, "SIP/2.0 486 Busy Here\r\ni: a\r\nl: 2\r\n\r\nabcdef"), 0);
	CHECK_INT(m.status, 486);
	CHECK_SL(m.reason, "Busy Here");
	CHECK_SL(m.body, "ab");
	/* empty reason phrase */
	CHECK_INT(parse(&m, "SIP/2.0 200\r\n\r\n"), 0);
	CHECK_INT(m.status, 200);
	/* body shorter than Content-Length */
	CHECK_INT(parse(&m, "SIP/2.0 200 OK\r\nContent-Length: 10\r\n\r\nabc"), ES_ETRUNC);

	/* malformed */
	static const char *const bad[] = {
		"",
		"\r\n\r\n",
		"INVITE sip:a@b SIP/2.0",                         /* no line end */
		"INVITE sip:a@b SIP/2.0\r\nTo: x\r\n",            /* no blank line */
		"INVITE sip:a@b SIP/3.0\r\n\r\n",                 /* version */
		"INVITE  sip:a@b SIP/2.0\r\n\r\n",                /* double space */
		"INVITE sip:a@b\r\n\r\n",                         /* no version */
		"INV<TE sip:a@b SIP/2.0\r\n\r\n",                 /* method token */
		"SIP/2.0 99 Low\r\n\r\n",                         /* status */
		"SIP/2.0 700 High\r\n\r\n",
		"SIP/2.0 2000 OK\r\n\r\n",
		"SIP/2.0 OK\r\n\r\n",
		"SIP/2.0 200 OK\r\nNoColonHere\r\n\r\n",          /* header */
		"SIP/2.0 200 OK\r\n : empty\r\n\r\n",             /* continuation first */
		"SIP/2.0 200 OK\r\nContent-Length: -1\r\n\r\n",   /* bad length */
		"SIP/2.0 200 OK\r\nContent-Length: 99999999999\r\n\r\n",
		"SIP/2.0 200 OK\r\nBad Name: x\r\n\r\n",
	};
	for (size_t i = 0; i < ES_ARRAY_LEN(bad); i++) {
		int err = parse(&m, bad[i]);
		if (err != ES_EPARSE)
			fprintf(stderr, "bad[%zu] -> %d\n", i, err);
		CHECK_INT(err, ES_EPARSE);
	}
	CHECK_INT(sip_msg_parse(&m, NULL, 0), ES_EPARSE);

	/* more headers than SIP_MAX_HEADERS */
	char *big = malloc(SIP_MAX_HEADERS * 16 + 256);
	size_t n = (size_t)sprintf(big, "SIP/2.0 200 OK\r\n");
	for (int i = 0; i < SIP_MAX_HEADERS + 5; i++)
		n += (size_t)sprintf(big + n, "X-H: %d\r\n", i);
	n += (size_t)sprintf(big + n, "Call-ID: last\r\n\r\n");
	CHECK_INT(sip_msg_parse(&m, big, n), 0);
	CHECK(m.hdrs_truncated);
	CHECK_INT(m.nhdrs, SIP_MAX_HEADERS);
	CHECK_SL(m.call_id, "last");
	free(big);
}

static void test_uri(void)
{
	struct sip_uri u;
	CHECK_INT(sip_uri_parse(SL_LIT("sip:alice:secret@example.com:5070;transport=udp?subject=hi"), &u), 0);
	CHECK_SL(u.scheme, "sip");
	CHECK_SL(u.user, "alice");
	CHECK_SL(u.host, "example.com");
	CHECK_INT(u.port, 5070);
	CHECK_SL(u.params, ";transport=udp");
	CHECK_SL(u.headers, "subject=hi");
	struct slice v;
	CHECK_INT(sip_param(u.params, "TRANSPORT", &v), 0);
	CHECK_SL(v, "udp");
	CHECK_INT(sip_uri_parse(SL_LIT("SIP:example.com"), &u), 0);
	CHECK_SL(u.user, "");
	CHECK_INT(u.port, 0);
	CHECK_INT(sip_uri_parse(SL_LIT("sip:+1555;npdi@[::1]:5060;user=phone"), &u), 0);
	CHECK_SL(u.user, "+1555;npdi");
	CHECK_SL(u.host, "::1");
	CHECK_INT(u.port, 5060);
	CHECK_INT(sip_uri_parse(SL_LIT("tel:+358-555-1234567;postd=pp22"), &u), 0);
	CHECK_SL(u.user, "+358-555-1234567");
	CHECK_SL(u.host, "");
	CHECK_SL(u.params, ";postd=pp22");
	static const char *const bad[] = {
		"", "sip:", "http://x", "sip:@host", "sip:a@", "sip:a@[::1", "sip:a@h:0", "sip:a@h:99999",
		"sip:a@h:", "sip:a@[::1]x", "tel:", "sip:a b@c", "sip:a@ho<st",
	};
	for (size_t i = 0; i < ES_ARRAY_LEN(bad); i++) {
		int err = sip_uri_parse(sl_cstr(bad[i]), &u);
		if (err != ES_EPARSE)
			fprintf(stderr, "bad uri %s -> %d\n", bad[i], err);
		CHECK_INT(err, ES_EPARSE);
	}

	struct sip_nameaddr na;
	CHECK_INT(sip_nameaddr_parse(SL_LIT("sip:bob@example.com;tag=abc"), &na), 0);
	CHECK_SL(na.uri, "sip:bob@example.com");
	CHECK_SL(na.tag, "abc");
	CHECK_SL(na.display, "");
	CHECK_INT(sip_nameaddr_parse(SL_LIT("\"A \\\"B\\\" <C>\"<sip:c@d>;tag=t;x"), &na), 0);
	CHECK_SL(na.display, "A \\\"B\\\" <C>");
	CHECK_SL(na.uri, "sip:c@d");
	CHECK_SL(na.params, ";tag=t;x");
	CHECK_SL(na.tag, "t");
	CHECK_INT(sip_param(na.params, "x", &v), 0);
	CHECK_SL(v, "");
	CHECK_INT(sip_nameaddr_parse(SL_LIT("<sip:a@b>, <sip:c@d>;tag=no"), &na), 0);
	CHECK_SL(na.uri, "sip:a@b");
	CHECK_SL(na.tag, "");
	CHECK_INT(sip_nameaddr_parse(SL_LIT("Anonymous <urn:service:sos>"), &na), 0);
	CHECK_SL(na.uri, "urn:service:sos");
	CHECK_SL(na.u.scheme, ""); /* not sip/tel: unparsed */
	CHECK_INT(sip_nameaddr_parse(SL_LIT("\"unterminated <sip:a@b>"), &na), ES_EPARSE);
	CHECK_INT(sip_nameaddr_parse(SL_LIT("<sip:a@b"), &na), ES_EPARSE);
	CHECK_INT(sip_nameaddr_parse(SL_LIT("\"x\" sip:a@b"), &na), ES_EPARSE);
	CHECK_INT(sip_nameaddr_parse(SL_LIT("<>"), &na), ES_EPARSE);
	CHECK_INT(sip_nameaddr_parse(SL_LIT("  "), &na), ES_EPARSE);
	CHECK_INT(sip_param(SL_LIT(";a=\"x;y\";b=2"), "b", &v), 0);
	CHECK_SL(v, "2");
	CHECK_INT(sip_param(SL_NULL, "b", &v), ES_ENOTFOUND);
}

static void test_frame(void)
{
	static const char ack[] =
		"ACK sip:201@10.33.6.101:5060;transport=tcp SIP/2.0\r\n"
		"Via: SIP/2.0/TCP 10.33.6.100;branch=z9hG4bKac1600323074;alias\r\n"
		"Call-ID: 158936656982201062716@10.33.6.100\r\n"
		"CSeq: 1 ACK\r\n"
		"Content-Length: 0\r\n"
		"\r\n";
	size_t la = strlen(ack), li = strlen(real_invite);
	char *buf = malloc(4 + la + li + 100);
	memcpy(buf, "\r\n\r\n", 4);
	memcpy(buf + 4, ack, la);
	memcpy(buf + 4 + la, real_invite, li);
	size_t total = 4 + la + li;
	size_t skip, len;
	CHECK_INT(sip_frame(buf, total, 65536, &skip, &len), 0);
	CHECK_INT(skip, 4);
	CHECK_INT(len, la);
	size_t off = skip + len;
	CHECK_INT(sip_frame(buf + off, total - off, 65536, &skip, &len), 0);
	CHECK_INT(skip, 0);
	CHECK_INT(len, li);
	/* every partial prefix of the INVITE needs more data */
	for (size_t cut = 0; cut < li; cut++) {
		int err = sip_frame(buf + off, cut, 65536, &skip, &len);
		if (err != ES_EAGAIN) {
			fprintf(stderr, "cut %zu -> %d\n", cut, err);
			CHECK_INT(err, ES_EAGAIN);
			break;
		}
	}
	/* headers exceed max_len */
	CHECK_INT(sip_frame(buf + off, li, 100, &skip, &len), ES_EPARSE);
	/* garbage */
	CHECK_INT(sip_frame("GET / HTTP/1.1\r\n\r\n", 18, 65536, &skip, &len), ES_EPARSE);
	CHECK_INT(sip_frame("\x16\x03\x01\x02", 4, 65536, &skip, &len), ES_EPARSE);
	CHECK_INT(sip_frame("\r\n\r\n", 4, 65536, &skip, &len), ES_EAGAIN);
	CHECK_INT(skip, 4);
	CHECK_INT(sip_frame("SIP/2.0 200 OK\r\nl: x\r\n\r\n", 24, 65536, &skip, &len), ES_EPARSE);
	/* no Content-Length on a stream: no body */
	CHECK_INT(sip_frame("SIP/2.0 200 OK\r\n\r\nSIP/2.0", 25, 65536, &skip, &len), 0);
	CHECK_INT(len, 18);
	/* LF-only line ends and compact l: */
	CHECK_INT(sip_frame("BYE sip:a@b SIP/2.0\nl: 3\n\nabc", 29, 65536, &skip, &len), 0);
	CHECK_INT(len, 29);
	free(buf);
}

static void test_sdp(void)
{
	static const char v4[] =
		"v=0\r\n"
		"o=alice 2890844526 2890844527 IN IP4 198.51.100.1\r\n"
		"s=-\r\n"
		"c=IN IP4 198.51.100.1/127\r\n"
		"t=0 0\r\n"
		"a=sendonly\r\n"
		"m=audio 49170 RTP/AVP 0 8 9 18 96 101\r\n"
		"a=rtpmap:96 opus/48000/2\r\n"
		"a=fmtp:96 useinbandfec=1; maxplaybackrate=16000\r\n"
		"a=fmtp:101 0-16\r\n"
		"a=rtpmap:101 telephone-event/8000\r\n"
		"a=fmtp:18 annexb=no\r\n"
		"a=rtcp:53020 IN IP4 198.51.100.1\r\n"
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n"
		"m=video 0 RTP/AVP 31\r\n"
		"m=audio 49172/2 RTP/SAVP 0\r\n"
		"c=IN IP6 2001:db8::5\r\n"
		"a=recvonly\r\n"
		"a=rtcp-mux\r\n"
		"a=label:2\r\n"
		"m=image 49174 udptl t38\r\n"
		"a=inactive\r\n";
	struct sdp s;
	CHECK_INT(sdp_parse(&s, v4, strlen(v4)), 0);
	CHECK_SL(s.origin_user, "alice");
	CHECK_SL(s.session_id, "2890844526");
	CHECK(s.version == 2890844527u);
	CHECK_INT(s.conn.family, ES_AF_INET);
	CHECK_INT(s.dir, SDP_SENDONLY);
	CHECK_INT(s.nmedia, 4);
	CHECK(!s.media_truncated);
	const struct sdp_media *a = &s.media[0];
	CHECK_SL(a->type, "audio");
	CHECK_INT(a->port, 49170);
	CHECK_INT(a->nports, 1);
	CHECK_SL(a->proto, "RTP/AVP");
	CHECK_INT(a->nfmt, 6);
	CHECK_INT(a->fmts[5], 101);
	CHECK_INT(a->dir, SDP_SENDONLY);
	CHECK_INT(a->rtcp_port, 53020);
	CHECK_INT(a->telephone_event_pt, 101);
	CHECK(a->crypto.len > 10);
	char buf[ES_ADDR_STRLEN];
	es_addr_fmt(&a->addr, true, buf, sizeof(buf));
	CHECK_STR(buf, "198.51.100.1:49170");
	const struct sdp_rtpmap *r = sdp_rtpmap_find(a, 96);
	CHECK(r != NULL);
	if (r) {
		CHECK_SL(r->encoding, "opus");
		CHECK_INT(r->clock, 48000);
		CHECK_INT(r->channels, 2);
		CHECK_SL(r->fmtp, "useinbandfec=1; maxplaybackrate=16000");
	}
	r = sdp_rtpmap_find(a, 101);
	CHECK(r && r->clock == 8000 && r->fmtp.len == 4);
	r = sdp_rtpmap_find(a, 9);
	CHECK(r != NULL);
	if (r) {
		CHECK_SL(r->encoding, "G722");
		CHECK_INT(r->clock, 8000);
		CHECK_INT(r->channels, 1);
	}
	r = sdp_rtpmap_find(a, 18);
	CHECK(r && r->fmtp.len == 9);
	CHECK(sdp_rtpmap_find(a, 42) == NULL);
	const struct sdp_media *vid = &s.media[1];
	CHECK_INT(vid->port, 0);
	CHECK_INT(vid->rtcp_port, 0);
	const struct sdp_media *b = &s.media[2];
	CHECK_INT(b->nports, 2);
	CHECK_INT(b->addr.family, ES_AF_INET6);
	es_addr_fmt(&b->addr, true, buf, sizeof(buf));
	CHECK_STR(buf, "[2001:db8::5]:49172");
	CHECK_INT(b->dir, SDP_RECVONLY);
	CHECK(b->rtcp_mux);
	CHECK_INT(b->rtcp_port, 49173);
	CHECK_SL(b->label, "2");
	CHECK_INT(b->telephone_event_pt, -1);
	const struct sdp_media *img = &s.media[3];
	CHECK_SL(img->type, "image");
	CHECK_INT(img->nfmt, 0);
	CHECK_INT(img->dir, SDP_INACTIVE);
	CHECK_STR(sdp_dir_name(SDP_SENDRECV), "sendrecv");
	CHECK_STR(sdp_dir_name(SDP_INACTIVE), "inactive");
	CHECK_STR(sdp_dir_name(SDP_SENDONLY), "sendonly");
	CHECK_STR(sdp_dir_name(SDP_RECVONLY), "recvonly");

	/* LF-only, session-level IPv6, hold with 0.0.0.0 */
	static const char v6[] = "v=0\no=- 1 1 IN IP6 ::1\ns=-\nc=IN IP6 2001:db8::1\nt=0 0\n"
				 "m=audio 5004 RTP/AVP 0\nm=audio 5006 RTP/AVP 8\nc=IN IP4 0.0.0.0\n";
	CHECK_INT(sdp_parse(&s, v6, strlen(v6)), 0);
	CHECK_INT(s.nmedia, 2);
	CHECK_INT(s.media[0].addr.family, ES_AF_INET6);
	CHECK_INT(s.media[0].dir, SDP_SENDRECV);
	CHECK_INT(s.media[1].addr.family, ES_AF_INET);
	CHECK_INT(s.media[1].addr.port, 5006);

	/* no c= at all */
	CHECK_INT(sdp_parse(&s, "v=0\r\nm=audio 1 RTP/AVP 0\r\n", 26), 0);
	CHECK_INT(s.media[0].addr.family, ES_AF_NONE);
	/* FQDN in c= is accepted, address unknown */
	CHECK_INT(sdp_parse(&s, "v=0\nc=IN IP4 host.example.com\nm=audio 1 RTP/AVP 0\n", 49), 0);
	CHECK_INT(s.media[0].addr.family, ES_AF_NONE);

	static const char *const bad[] = {
		"",
		"o=- 1 1 IN IP4 1.2.3.4\r\n",
		"v=0\r\nm=audio\r\n",
		"v=0\r\nm=audio 99999 RTP/AVP 0\r\n",
		"v=0\r\nm=audio x RTP/AVP 0\r\n",
		"v=0\r\nc=IN IP4\r\n",
		"v=0\r\nc=XX IP4 1.2.3.4\r\n",
		"v=0\r\nc=IN IP5 1.2.3.4\r\n",
		"v=0\r\nc=IN IP4 2001:db8::1\r\n",
		"v=0\r\nc=IN IP4 1.2.3.4:99\r\n",
	};
	for (size_t i = 0; i < ES_ARRAY_LEN(bad); i++) {
		int err = sdp_parse(&s, bad[i], strlen(bad[i]));
		if (err != ES_EPARSE)
			fprintf(stderr, "bad sdp[%zu] -> %d\n", i, err);
		CHECK_INT(err, ES_EPARSE);
	}

	/* media bound */
	char many[2048];
	size_t n = (size_t)sprintf(many, "v=0\r\n");
	for (int i = 0; i < SDP_MAX_MEDIA + 3; i++)
		n += (size_t)sprintf(many + n, "m=audio %d RTP/AVP 0\r\na=sendonly\r\n", 1000 + 2 * i);
	CHECK_INT(sdp_parse(&s, many, n), 0);
	CHECK_INT(s.nmedia, SDP_MAX_MEDIA);
	CHECK(s.media_truncated);
}

static void test_multipart(void)
{
	static const char body[] =
		"This is the preamble.\r\n"
		"--OSS-unique-boundary-42\r\n"
		"Content-Type: application/sdp\r\n"
		"\r\n"
		"v=0\r\n"
		"o=SRS 0 0 IN IP4 198.51.100.20\r\n"
		"s=-\r\n"
		"c=IN IP4 198.51.100.20\r\n"
		"t=0 0\r\n"
		"m=audio 12240 RTP/AVP 0\r\n"
		"a=sendonly\r\n"
		"a=label:96\r\n"
		"m=audio 12242 RTP/AVP 0\r\n"
		"a=sendonly\r\n"
		"a=label:97\r\n"
		"\r\n"
		"--OSS-unique-boundary-42\r\n"
		"Content-Type: application/rs-metadata+xml\r\n"
		"Content-Disposition: recording-session\r\n"
		"\r\n"
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
		"<recording xmlns='urn:ietf:params:xml:ns:recording:1'/>\r\n"
		"--OSS-unique-boundary-42--\r\n"
		"epilogue\r\n";
	struct slice ct = SL_LIT("multipart/mixed;boundary=\"OSS-unique-boundary-42\"");
	struct sip_part parts[SIP_MAX_PARTS];
	unsigned n;
	CHECK_INT(sip_multipart_parse(ct, sl_make(body, strlen(body)), parts, SIP_MAX_PARTS, &n), 0);
	CHECK_INT(n, 2);
	CHECK_SL(parts[0].content_type, "application/sdp");
	CHECK_SL(parts[1].content_type, "application/rs-metadata+xml");
	CHECK(parts[0].body.len > 4 && memcmp(parts[0].body.p, "v=0\r\n", 5) == 0);
	CHECK(parts[0].body.p[parts[0].body.len - 1] == '\n'); /* ends "a=label:97\r\n" */
	CHECK_SL(sl_sub(parts[1].body, parts[1].body.len - 2, 2), "/>");
	struct slice sdpb, xml;
	CHECK_INT(sip_body_find(ct, sl_make(body, strlen(body)), "application/sdp", &sdpb), 0);
	CHECK_INT(sip_body_find(ct, sl_make(body, strlen(body)), "APPLICATION/RS-METADATA+XML", &xml), 0);
	CHECK_INT(sip_body_find(ct, sl_make(body, strlen(body)), "text/plain", &xml), ES_ENOTFOUND);
	struct sdp s;
	CHECK_INT(sdp_parse(&s, sdpb.p, sdpb.len), 0);
	CHECK_INT(s.nmedia, 2);
	CHECK_SL(s.media[1].label, "97");
	CHECK_INT(s.media[1].dir, SDP_SENDONLY);
	/* unquoted boundary, one part, max bound */
	CHECK_INT(sip_multipart_parse(SL_LIT("multipart/mixed; boundary=OSS-unique-boundary-42"),
				      sl_make(body, strlen(body)), parts, 1, &n), 0);
	CHECK_INT(n, 1);
	/* plain body */
	CHECK_INT(sip_body_find(SL_LIT("application/sdp"), SL_LIT("v=0"), "application/sdp", &sdpb), 0);
	CHECK_SL(sdpb, "v=0");
	/* errors */
	CHECK_INT(sip_multipart_parse(SL_LIT("multipart/mixed"), SL_LIT("--x\r\n"), parts, 8, &n), ES_EPARSE);
	CHECK_INT(sip_multipart_parse(SL_LIT("multipart/mixed;boundary=zz"), SL_LIT("--x\r\n"), parts, 8, &n),
		  ES_EPARSE);
	CHECK_INT(sip_multipart_parse(SL_LIT("multipart/mixed;boundary=\"\""), SL_LIT("--\r\n"), parts, 8, &n),
		  ES_EPARSE);
	/* part without headers, missing close delimiter: reported, the part
	 * still there, and found by the lenient sip_body_find */
	CHECK_INT(sip_multipart_parse(SL_LIT("multipart/mixed;boundary=b"), SL_LIT("--b\r\n\r\nraw"), parts, 8, &n),
		  ES_ETRUNC);
	CHECK_INT(n, 1);
	CHECK_SL(parts[0].body, "raw");
	CHECK_SL(parts[0].content_type, "");
	CHECK_INT(sip_body_find(SL_LIT("multipart/mixed;boundary=b"),
				SL_LIT("--b\r\nContent-Type: application/sdp\r\n\r\nv=0"), "application/sdp",
				&sdpb), 0);
	CHECK_SL(sdpb, "v=0");

	/* the whole message */
	char msg[2048];
	int len = snprintf(msg, sizeof(msg),
			   "INVITE sip:srs@example.com SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP 198.51.100.1;branch=z9hG4bKsrec\r\n"
			   "Call-ID: rec1\r\nCSeq: 1 INVITE\r\nRequire: siprec\r\n"
			   "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n%s",
			   "multipart/mixed;boundary=\"OSS-unique-boundary-42\"", strlen(body), body);
	struct sip_msg m;
	CHECK_INT(sip_msg_parse(&m, msg, (size_t)len), 0);
	CHECK_SL(sip_msg_hdr(&m, SIP_H_REQUIRE), "siprec");
	CHECK_INT(sip_body_find(m.content_type, m.body, "application/sdp", &sdpb), 0);
	CHECK_INT(sdp_parse(&s, sdpb.p, sdpb.len), 0);
	CHECK_SL(s.media[0].label, "96");
}

int main(void)
{
	RUN(test_real);
	RUN(test_torture);
	RUN(test_uri);
	RUN(test_frame);
	RUN(test_sdp);
	RUN(test_multipart);
	return CHECK_DONE();
}
