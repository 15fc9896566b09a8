/* sip_msgs.c - gen_calls: the text of each SIP message of a call (RFC 3261)
 * and its SDP offer/answer (RFC 3264, RFC 4566).
 * #included by bench/gen_calls.c (see gen.h). */

#define DOMAIN_CALLER "example.com"
#define DOMAIN_CALLEE "example.net"

/* UTF-8 on purpose: display names are quoted strings that parsers must
 * carry through unharmed. */
static const char *const display_names[] = {
	"Alice Martin", "Bob Schmidt", "J\xc3\xbcrgen Wei\xc3\x9f", "Chlo\xc3\xa9 Dubois",
	"Dmitri Ivanov", "Ana Garc\xc3\xad\x61", "Kenji Sato", "Fatima Khan",
	"Olu Adeyemi", "Sven Lindqvist", "Priya Nair", "Tom\xc3\xa1\xc5\xa1 Nov\xc3\xa1k",
};

static const char *const user_agents[] = {
	"Yealink SIP-T46S 66.86.0.15",
	"Grandstream GXP2170 1.0.11.23",
	"Linphone/5.2.0 (belle-sip/5.2.0)",
	"Zoiper rv2.10.19.3",
	"PolycomVVX-VVX_450-UA/6.4.3.5018",
	"MicroSIP/3.21.3",
};

static const char *const servers[] = {
	"Asterisk PBX 20.5.0",
	"FreeSWITCH-mod_sofia/1.10.10",
	"Kamailio (5.7.2 (x86_64/linux))",
	"Cisco-SIPGateway/IOS-17.9",
};

/* Per message: CSeq method, status (0: request; -1: the call's failure
 * code), and whether it carries SDP. */
static const struct {
	const char *method;
	int code;
	bool sdp;
} msg_desc[] = {
	[M_INVITE] = {"INVITE", 0, true},     [M_100] = {"INVITE", 100, false},
	[M_180] = {"INVITE", 180, false},     [M_180_FORK] = {"INVITE", 180, false},
	[M_200_INV] = {"INVITE", 200, true},  [M_ACK] = {"ACK", 0, false},
	[M_REINVITE] = {"INVITE", 0, true},   [M_200_RE] = {"INVITE", 200, true},
	[M_ACK_RE] = {"ACK", 0, false},       [M_BYE] = {"BYE", 0, false},
	[M_200_BYE] = {"BYE", 200, false},    [M_CANCEL] = {"CANCEL", 0, false},
	[M_200_CANCEL] = {"CANCEL", 200, false}, [M_487] = {"INVITE", 487, false},
	[M_FAIL] = {"INVITE", -1, false},     [M_ACK_FAIL] = {"ACK", 0, false},
	[M_INVITE_CH] = {"INVITE", 0, true},  [M_407] = {"INVITE", 407, false},
	[M_ACK_407] = {"ACK", 0, false},      [M_STRAY_200BYE] = {"BYE", 200, false},
	[M_STRAY_403] = {"INVITE", 403, false},
};

static const struct {
	int code;
	const char *reason;
} reasons[] = {
	{100, "Trying"},      {180, "Ringing"},
	{200, "OK"},          {403, "Forbidden"},
	{407, "Proxy Authentication Required"},
	{408, "Request Timeout"}, {480, "Temporarily Unavailable"},
	{486, "Busy Here"},   {487, "Request Terminated"},
	{488, "Not Acceptable Here"},
};

static const char *reason_of(int code)
{
	for (size_t i = 0; i < ES_ARRAY_LEN(reasons); i++)
		if (reasons[i].code == code)
			return reasons[i].reason;
	return "Unknown";
}

__attribute__((format(printf, 2, 3))) static void bput(struct es_buf *b, const char *fmt, ...)
{
	if (b->cap - b->len < 256 && es_buf_reserve(b, 256))
		die_oom();
	for (;;) {
		size_t room = b->cap - b->len;
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf((char *)b->p + b->len, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			die_oom();
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		if (es_buf_reserve(b, (size_t)n + 1))
			die_oom();
	}
}

/* ---- names a call is known by (also used by the truth file) ----------- */

static const char *user_str(const struct call *c, int side, char *buf, size_t cap)
{
	snprintf(buf, cap, side == 0 ? "+4930555%05u" : "+4940666%05u", c->party);
	return buf;
}

static const char *aor_str(const struct call *c, int side, char *buf, size_t cap)
{
	char user[32];
	snprintf(buf, cap, "sip:%s@%s", user_str(c, side, user, sizeof(user)),
		 side == 0 ? DOMAIN_CALLER : DOMAIN_CALLEE);
	return buf;
}

static const char *call_id_str(const struct call *c, char *buf, size_t cap)
{
	snprintf(buf, cap, "%016" PRIx64 "@ua%u." DOMAIN_CALLER, c->callid, c->cid_idx);
	return buf;
}

static const char *xacct_str(const struct call *c, char *buf, size_t cap)
{
	snprintf(buf, cap, "ACC-%06u", (unsigned)(c->callid % 1000000));
	return buf;
}

static const char *pai_uri(const struct call *c, char *buf, size_t cap)
{
	snprintf(buf, cap, "sip:+4930999%05u@" DOMAIN_CALLER, c->idx);
	return buf;
}

/* ---- message parts ------------------------------------------------------- */

static bool msg_is_request(enum gen_msg m) { return msg_desc[m].code == 0; }

/* Who sends m: the caller, or the callee (or the proxy in front of it). */
static bool msg_from_caller(const struct call *c, enum gen_msg m)
{
	if (m == M_BYE)
		return !c->callee_bye;
	if (m == M_200_BYE)
		return c->callee_bye;
	return msg_is_request(m);
}

static uint64_t msg_branch(const struct call *c, enum gen_msg m)
{
	switch (m) {
	case M_ACK: return c->br_ack;
	case M_REINVITE: case M_200_RE: return c->br_reinvite;
	case M_ACK_RE: return c->br_ack_re;
	case M_BYE: case M_200_BYE: return c->br_bye;
	case M_INVITE_CH: case M_407: case M_ACK_407: return c->br_challenge;
	case M_STRAY_200BYE: case M_STRAY_403: return c->br_bye ^ 0x5a5a5a;
	default: return c->br_invite; /* INVITE transaction, CANCEL, non-2xx ACK */
	}
}

static uint32_t msg_cseq(const struct call *c, enum gen_msg m)
{
	switch (m) {
	case M_REINVITE: case M_200_RE: case M_ACK_RE: return c->cseq + 1;
	case M_INVITE_CH: case M_407: case M_ACK_407: return c->cseq - 1;
	case M_BYE: case M_200_BYE:
		return c->callee_bye ? c->callee_cseq : c->cseq + (c->reinvite ? 2 : 1);
	default: return c->cseq;
	}
}

/* The To tag a message carries (in the caller's view of the dialog). */
static uint64_t msg_to_tag(const struct call *c, enum gen_msg m)
{
	switch (m) {
	case M_INVITE: case M_100: case M_CANCEL: case M_INVITE_CH: return 0;
	case M_180_FORK: return c->fork_tag;
	case M_407: case M_ACK_407: return c->chal_tag; /* each challenge its own */
	default: return c->to_tag;
	}
}

/* The Via transport token and the URI transport parameter (RFC 3261,
 * RFC 4168, RFC 7118). */
static const char *via_transport(const struct gen *g)
{
	return g->o.ws ? "WS" : g->o.sctp ? "SCTP" : g->o.tcp ? "TCP" : "UDP";
}

static const char *uri_transport(const struct gen *g)
{
	return g->o.ws ? ";transport=ws" : g->o.sctp ? ";transport=sctp"
	       : g->o.tcp ? ";transport=tcp" : "";
}

static void put_contact(struct es_buf *b, const struct gen *g, const struct call *c, int side,
			const struct es_addr *host)
{
	char user[32], h[ES_ADDR_STRLEN];
	bput(b, "Contact: <sip:%s@%s:%u%s>\r\n", user_str(c, side, user, sizeof(user)),
	     addr_uri_host(host, h, sizeof(h)), GEN_SIP_PORT, uri_transport(g));
}

static void put_request_line(struct es_buf *b, const struct gen *g, const struct call *c,
			     enum gen_msg m)
{
	char user[32], h[ES_ADDR_STRLEN];
	const struct es_addr *target = &c->callee_ip;
	int side = 1;
	if (m == M_BYE && c->callee_bye) {
		target = &c->caller_ip;
		side = 0;
	}
	bool initial = m == M_INVITE || m == M_CANCEL || m == M_ACK_FAIL || m == M_INVITE_CH ||
		       m == M_ACK_407;
	bput(b, "%s sip:%s@%s%s%s SIP/2.0\r\n", msg_desc[m].method,
	     user_str(c, side, user, sizeof(user)), addr_uri_host(target, h, sizeof(h)),
	     initial ? "" : ":5060", initial ? "" : uri_transport(g));
}

/* The Via of the request m answers (or is): sent-by is the request's sender. */
static void put_via(struct es_buf *b, const struct gen *g, const struct call *c, enum gen_msg m)
{
	char h[ES_ADDR_STRLEN];
	bool req_from_caller = m == M_200_BYE ? !c->callee_bye
			       : msg_is_request(m) ? msg_from_caller(c, m) : true;
	const struct es_addr *by = req_from_caller ? &c->caller_ip : &c->callee_ip;
	bput(b, "Via: SIP/2.0/%s %s:%u;branch=z9hG4bK%012" PRIx64 "%s\r\n",
	     via_transport(g), addr_uri_host(by, h, sizeof(h)), GEN_SIP_PORT,
	     msg_branch(c, m) & UINT64_C(0xffffffffffff), g->o.tcp || g->o.sctp ? "" : ";rport");
}

static void put_from_to(struct es_buf *b, const struct call *c, enum gen_msg m)
{
	char aor[2][128];
	aor_str(c, 0, aor[0], sizeof(aor[0]));
	aor_str(c, 1, aor[1], sizeof(aor[1]));
	uint64_t to_tag = msg_to_tag(c, m);
	char caller[256], callee[160];
	snprintf(caller, sizeof(caller), "\"%s\" <%s>;tag=%08x", c->name, aor[0],
		 (uint32_t)c->from_tag);
	if (to_tag)
		snprintf(callee, sizeof(callee), "<%s>;tag=%08x", aor[1], (uint32_t)to_tag);
	else
		snprintf(callee, sizeof(callee), "<%s>", aor[1]);
	bool reversed = (m == M_BYE || m == M_200_BYE) && c->callee_bye;
	bput(b, "From: %s\r\nTo: %s\r\n", reversed ? callee : caller, reversed ? caller : callee);
}

/* --one-way: the caller offers to receive only, the callee answers that it
 * only sends (an IVR, an announcement); otherwise both ways. */
static const char *sdp_dir(const struct gen *g, bool offerer)
{
	if (!g->o.one_way)
		return "sendrecv";
	return offerer ? "recvonly" : "sendonly";
}

/* --video: an H.264 stream beside the audio (RFC 6184). */
static void put_sdp_video(struct es_buf *b, const struct gen *g, bool offerer)
{
	bput(b, "m=video %u RTP/AVP %d\r\na=rtpmap:%d H264/90000\r\n"
		"a=fmtp:%d profile-level-id=42e01f;packetization-mode=1\r\na=%s\r\n",
	     offerer ? GEN_VIDEO_PORT_CALLER : GEN_VIDEO_PORT_CALLEE, GEN_PT_VIDEO, GEN_PT_VIDEO,
	     GEN_PT_VIDEO, sdp_dir(g, offerer));
}

static void put_sdp(struct es_buf *b, const struct gen *g, const struct call *c, bool offerer,
		    bool moved)
{
	char ip[ES_ADDR_STRLEN];
	const struct es_addr *a = offerer ? &c->caller_ip : &c->callee_ip;
	const char *fam = a->family == ES_AF_INET6 ? "IP6" : "IP4";
	addr_plain(a, ip, sizeof(ip));
	unsigned port = offerer ? (moved ? c->caller_rtp2 : c->caller_rtp) : c->callee_rtp;
	uint32_t sess = offerer ? c->sess_caller : c->sess_callee;
	bput(b, "v=0\r\no=%s %u %u IN %s %s\r\ns=call\r\nc=IN %s %s\r\nt=0 0\r\n",
	     offerer ? "caller" : "callee", sess, moved ? 2 : 1, fam, ip, fam, ip);
	if (c->codec >= 0) {
		/* audio mode: offer and answer the call's one codec */
		const struct codec_desc *d = &codecs[c->codec];
		bput(b, "m=audio %u RTP/AVP %d %d\r\na=rtpmap:%d %s/%u", port, d->pt, GEN_PT_EVENT,
		     d->pt, d->name, d->clock);
		if (d->sdp_chans)
			bput(b, "/%u", d->sdp_chans);
		bput(b, "\r\n");
		if (d->fmtp)
			bput(b, "a=fmtp:%d %s\r\n", d->pt, d->fmtp);
		bput(b, "a=rtpmap:%d telephone-event/%u\r\na=fmtp:%d 0-16\r\na=ptime:%d\r\n"
			"a=%s\r\n",
		     GEN_PT_EVENT, codec_event_clock(c->codec), GEN_PT_EVENT, g->o.ptime_ms,
		     sdp_dir(g, offerer));
		if (c->video)
			put_sdp_video(b, g, offerer);
		return;
	}
	if (offerer)
		bput(b, "m=audio %u RTP/AVP 0 8 %d\r\n"
			"a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n",
		     port, GEN_PT_EVENT);
	else
		bput(b, "m=audio %u RTP/AVP %d %d\r\na=rtpmap:%d %s/8000\r\n", port,
		     c->pcma ? 8 : 0, GEN_PT_EVENT, c->pcma ? 8 : 0, c->pcma ? "PCMA" : "PCMU");
	bput(b, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\na=ptime:%d\r\n"
		"a=%s\r\n",
	     GEN_PT_EVENT, GEN_PT_EVENT, g->o.ptime_ms, sdp_dir(g, offerer));
	if (c->video)
		put_sdp_video(b, g, offerer);
}

/* --fragment: a long header so that the INVITE exceeds the MTU. */
static void put_padding(struct es_buf *b, const struct call *c)
{
	static const char pat[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	bput(b, "X-Filler: ");
	if (es_buf_reserve(b, c->pad_len + 2))
		die_oom();
	for (unsigned i = 0; i < c->pad_len; i++)
		b->p[b->len++] = (uint8_t)pat[(i + c->idx) % (sizeof(pat) - 1)];
	bput(b, "\r\n");
}

/* Appends message m of call c to b. */
static void sip_build(struct gen *g, struct call *c, enum gen_msg m, struct es_buf *b)
{
	char buf[160];
	bool req = msg_is_request(m);
	bool from_caller = msg_from_caller(c, m);
	int code = msg_desc[m].code < 0 ? c->sip_code : msg_desc[m].code;

	es_buf_reset(&g->body);
	if (msg_desc[m].sdp)
		put_sdp(&g->body, g, c, req, m == M_REINVITE);

	if (req)
		put_request_line(b, g, c, m);
	else
		bput(b, "SIP/2.0 %d %s\r\n", code, reason_of(code));
	put_via(b, g, c, m);
	if (req)
		bput(b, "Max-Forwards: 70\r\n");
	put_from_to(b, c, m);
	/* --stray: Call-IDs that belong to no call seen */
	bput(b, "Call-ID: %s%s\r\n", m == M_STRAY_200BYE ? "garbled-" : "",
	     call_id_str(c, buf, sizeof(buf)));
	if (m == M_STRAY_403)
		b->p[b->len - 3] ^= 1; /* another Call-ID: its last character changed */
	bput(b, "CSeq: %u %s\r\n", msg_cseq(c, m), msg_desc[m].method);
	if (m == M_INVITE || m == M_REINVITE || m == M_INVITE_CH)
		put_contact(b, g, c, 0, &c->caller_ip);
	if (m == M_407)
		bput(b, "Proxy-Authenticate: Digest realm=\"" DOMAIN_CALLEE "\", "
			"nonce=\"%016" PRIx64 "\", algorithm=MD5, qop=\"auth\"\r\n",
		     c->chal_tag);
	if (m == M_INVITE && c->challenged)
		bput(b, "Proxy-Authorization: Digest username=\"%s\", realm=\"" DOMAIN_CALLEE
			"\", nonce=\"%016" PRIx64 "\", uri=\"sip:" DOMAIN_CALLEE "\", "
			"response=\"%032x\", algorithm=MD5\r\n",
		     user_str(c, 0, buf, sizeof(buf)), c->chal_tag, (unsigned)c->br_challenge);
	else if (m == M_180 || m == M_200_INV || m == M_200_RE)
		put_contact(b, g, c, 1, &c->callee_ip);
	else if (m == M_180_FORK)
		put_contact(b, g, c, 1, &c->fork_ip);
	if (m == M_INVITE && c->pai)
		bput(b, "P-Asserted-Identity: \"%s\" <%s>\r\n", c->name,
		     pai_uri(c, buf, sizeof(buf)));
	if (m == M_INVITE && c->xacct)
		bput(b, "X-Account-Id: %s\r\n", xacct_str(c, buf, sizeof(buf)));
	bput(b, "%s: %s\r\n", req ? "User-Agent" : "Server",
	     from_caller ? c->ua_caller : c->ua_callee);
	if (m == M_INVITE || m == M_REINVITE || m == M_200_INV)
		bput(b, "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE\r\n"
			"Supported: replaces, timer\r\n");
	if (m == M_INVITE && c->pad_len)
		put_padding(b, c);
	if (g->body.len)
		bput(b, "Content-Type: application/sdp\r\n");
	bput(b, "Content-Length: %zu\r\n\r\n", g->body.len);
	if (g->body.len && es_buf_append(b, g->body.p, g->body.len))
		die_oom();
}
