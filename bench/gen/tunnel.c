/* tunnel.c - gen_calls: --tunnel wraps each IP packet of a call in
 * encapsulations (GRE, ERSPAN II/III, VXLAN, Geneve, IP-in-IP, an outer
 * IPv6, MPLS), nested in the order given (outer first); --sctp and --ws
 * carry SIP over SCTP DATA chunks and over WebSocket frames.
 * #included by bench/gen_calls.c (see gen.h). */

#define TUN_HEADROOM 512 /* bytes of headers all layers can prepend */
#define ETHERTYPE_TEB 0x6558
#define ETHERTYPE_MPLS 0x8847
#define ETHERTYPE_ERSPAN2 0x88be
#define ETHERTYPE_ERSPAN3 0x22eb
#define IPPROTO_IPIP_ 4
#define IPPROTO_IPV6_ 41
#define IPPROTO_GRE_ 47
#define IPPROTO_SCTP_ 132
#define VXLAN_PORT 4789
#define GENEVE_PORT 6081
#define GEN_WS_PORT 8080

static const struct {
	const char *name;
	uint8_t kind;
} tun_names[] = {
	{"gre", TK_GRE},       {"erspan2", TK_ERSPAN2}, {"erspan3", TK_ERSPAN3},
	{"vxlan", TK_VXLAN},   {"geneve", TK_GENEVE},   {"ipip", TK_IPIP},
	{"ip6", TK_IP6},       {"mpls", TK_MPLS},
};

/* What a layer's output is carried as. */
enum { CAR_IP4, CAR_IP6, CAR_ETH, CAR_MPLS };

/* Parses --tunnel LIST (outer first) into o; false with a message on a
 * name it does not know or a nesting that cannot be built. */
static bool tun_parse(struct gen_opts *o, const char *list)
{
	o->ntun = 0;
	const char *s = list;
	while (*s) {
		size_t n = strcspn(s, ",");
		bool found = false;
		for (size_t i = 0; i < ES_ARRAY_LEN(tun_names); i++) {
			if (strlen(tun_names[i].name) == n && memcmp(tun_names[i].name, s, n) == 0) {
				if (o->ntun == GEN_MAX_TUN) {
					fprintf(stderr, GEN_TAG ": --tunnel: at most %d layers\n",
						GEN_MAX_TUN);
					return false;
				}
				o->tun[o->ntun++] = tun_names[i].kind;
				found = true;
			}
		}
		if (!found) {
			fprintf(stderr, GEN_TAG ": --tunnel: unknown layer '%.*s' (gre, erspan2, "
				"erspan3, vxlan, geneve, ipip, ip6, mpls)\n", (int)n, s);
			return false;
		}
		s += n;
		if (*s == ',')
			s++;
	}
	/* inner to outer: IP-in-IP needs IP inside, MPLS needs an Ethernet
	 * link or GRE/Geneve outside */
	int car = CAR_IP4;
	for (int i = o->ntun - 1; i >= 0; i--) {
		uint8_t k = o->tun[i];
		if ((k == TK_IPIP || k == TK_IP6) && car == CAR_ETH) {
			fprintf(stderr, GEN_TAG ": --tunnel: ipip/ip6 cannot carry Ethernet\n");
			return false;
		}
		if ((k == TK_IPIP || k == TK_IP6 || k == TK_VXLAN || k == TK_ERSPAN2 ||
		     k == TK_ERSPAN3 || k == TK_MPLS) && car == CAR_MPLS) {
			fprintf(stderr, GEN_TAG ": --tunnel: MPLS can only be inside gre or geneve\n");
			return false;
		}
		car = k == TK_MPLS ? CAR_MPLS : CAR_IP4;
	}
	if (car == CAR_MPLS && o->linktype != LT_EN10MB && o->linktype != LT_SLL) {
		fprintf(stderr, GEN_TAG ": --tunnel mpls outermost needs --linktype en10mb or sll\n");
		return false;
	}
	return o->ntun > 0;
}

static uint8_t *prepend(uint8_t **p, size_t *len, size_t n)
{
	*p -= n;
	*len += n;
	return *p;
}

static uint16_t car_ethertype(int car)
{
	switch (car) {
	case CAR_IP6: return ETHERTYPE_IPV6;
	case CAR_ETH: return ETHERTYPE_TEB;
	case CAR_MPLS: return ETHERTYPE_MPLS;
	default: return ETHERTYPE_IPV4;
	}
}

/* An inner Ethernet header in front of an IP packet (for ERSPAN, VXLAN). */
static void tun_eth(uint8_t **p, size_t *len, int *car, unsigned layer)
{
	if (*car == CAR_ETH)
		return;
	uint8_t *h = prepend(p, len, 14);
	static const uint8_t mac[6] = {0x02, 0x42, 0xac, 0x11, 0x00, 0x00};
	memcpy(h, mac, 6);
	memcpy(h + 6, mac, 6);
	h[5] = (uint8_t)(2 * layer + 1);
	h[11] = (uint8_t)(2 * layer + 2);
	put16(h + 12, car_ethertype(*car));
	*car = CAR_ETH;
}

/* The tunnel endpoints of layer i: 10.99.i.1 <-> 10.99.i.2, or
 * fd99::i:1 <-> fd99::i:2, swapped for the reverse direction. */
static void tun_ends(unsigned i, bool v6, bool rev, struct es_addr *src, struct es_addr *dst)
{
	uint8_t a[16] = {0}, b[16] = {0};
	if (v6) {
		a[0] = b[0] = 0xfd;
		a[1] = b[1] = 0x99;
		a[13] = b[13] = (uint8_t)i;
		a[15] = 1;
		b[15] = 2;
		es_addr_set_v6(src, rev ? b : a, 0);
		es_addr_set_v6(dst, rev ? a : b, 0);
	} else {
		a[0] = b[0] = 10;
		a[1] = b[1] = 99;
		a[2] = b[2] = (uint8_t)i;
		a[3] = 1;
		b[3] = 2;
		es_addr_set_v4(src, rev ? b : a, 0);
		es_addr_set_v4(dst, rev ? a : b, 0);
	}
}

static void tun_ip(struct gen *g, uint8_t **p, size_t *len, int *car, unsigned i, bool v6,
		   uint8_t proto, bool rev, struct es_addr *src, struct es_addr *dst)
{
	tun_ends(i, v6, rev, src, dst);
	size_t plen = *len;
	if (v6)
		ip6_put(prepend(p, len, 40), src, dst, proto, 0, plen);
	else
		ip4_put(prepend(p, len, 20), src, dst, proto, 0, g->tun_ipid++, 0, plen);
	*car = v6 ? CAR_IP6 : CAR_IP4;
}

static void tun_gre(uint8_t **p, size_t *len, uint16_t type, bool seq, uint32_t sn)
{
	uint8_t *h = prepend(p, len, seq ? 8 : 4);
	put16(h, seq ? 0x1000 : 0);
	put16(h + 2, type);
	if (seq)
		put32(h + 4, sn);
}

static void tun_udp(uint8_t **p, size_t *len, uint16_t dport, const struct es_addr *src,
		    const struct es_addr *dst, uint16_t sport)
{
	uint8_t *u = prepend(p, len, 8);
	put16(u, sport);
	put16(u + 2, dport);
	put16(u + 4, (uint16_t)*len);
	put16(u + 6, 0);
	uint16_t ck = csum_fold(csum_add(csum_pseudo(src, dst, IPPROTO_UDP_, *len), u, *len));
	put16(u + 6, ck ? ck : 0xffff);
}

/* One layer around p[0..len) carried as *car; returns the new carrier. */
static void tun_layer(struct gen *g, unsigned i, uint8_t **p, size_t *len, int *car, bool rev)
{
	struct es_addr src, dst;
	uint8_t *h;
	uint32_t sn = g->tun_seq++;
	switch (g->o.tun[i]) {
	case TK_GRE:
		tun_gre(p, len, car_ethertype(*car), false, 0);
		tun_ip(g, p, len, car, i, false, IPPROTO_GRE_, rev, &src, &dst);
		break;
	case TK_ERSPAN2:
		tun_eth(p, len, car, i);
		h = prepend(p, len, 8);
		put16(h, 0x1000);              /* version 1, VLAN 0 */
		put16(h + 2, 0x1800 | 100);    /* COS 0, En 3, session 100 */
		put32(h + 4, 7);               /* index */
		tun_gre(p, len, ETHERTYPE_ERSPAN2, true, sn);
		tun_ip(g, p, len, car, i, false, IPPROTO_GRE_, rev, &src, &dst);
		break;
	case TK_ERSPAN3:
		tun_eth(p, len, car, i);
		h = prepend(p, len, 12);
		memset(h, 0, 12);
		put16(h, 0x2000);             /* version 2, VLAN 0 */
		put16(h + 2, 200);            /* session 200 */
		put32(h + 4, sn * 1000);      /* timestamp */
		h[11] = 0x06;                 /* granularity 3, no subheader; frame type 0 */
		tun_gre(p, len, ETHERTYPE_ERSPAN3, true, sn);
		tun_ip(g, p, len, car, i, false, IPPROTO_GRE_, rev, &src, &dst);
		break;
	case TK_VXLAN:
		tun_eth(p, len, car, i);
		h = prepend(p, len, 8);
		memset(h, 0, 8);
		h[0] = 0x08; /* I: the VNI is valid */
		h[6] = 42;   /* VNI 42 */
		tun_ends(i, false, rev, &src, &dst);
		tun_udp(p, len, VXLAN_PORT, &src, &dst, (uint16_t)(49152 + (sn & 0x3fff)));
		tun_ip(g, p, len, car, i, false, IPPROTO_UDP_, rev, &src, &dst);
		break;
	case TK_GENEVE: {
		uint16_t type = car_ethertype(*car);
		h = prepend(p, len, 8 + 8);
		memset(h, 0, 16);
		h[0] = 2; /* version 0, one 8-byte option */
		put16(h + 2, type);
		h[6] = 7; /* VNI 7 */
		put16(h + 8, 0x0103); /* option class, type, length 1 word */
		h[10] = 0x01;
		h[11] = 1;
		put32(h + 12, sn);
		tun_ends(i, false, rev, &src, &dst);
		tun_udp(p, len, GENEVE_PORT, &src, &dst, (uint16_t)(49152 + (sn & 0x3fff)));
		tun_ip(g, p, len, car, i, false, IPPROTO_UDP_, rev, &src, &dst);
		break;
	}
	case TK_IPIP:
	case TK_IP6:
		tun_ip(g, p, len, car, i, g->o.tun[i] == TK_IP6,
		       *car == CAR_IP6 ? IPPROTO_IPV6_ : IPPROTO_IPIP_, rev, &src, &dst);
		break;
	case TK_MPLS:
		if (*car == CAR_ETH) { /* RFC 4448 pseudowire: a control word */
			h = prepend(p, len, 4);
			put32(h, sn & 0xffff);
		}
		h = prepend(p, len, 8); /* two labels, the second at the bottom */
		put32(h, (uint32_t)(1000 + i) << 12 | 64);
		put32(h + 4, (uint32_t)(2000 + i) << 12 | 0x100 | 64);
		*car = CAR_MPLS;
		break;
	}
}

/* Wraps the IP packet ip[0..len) in the --tunnel layers and the link
 * header into a new frame. */
static struct frame *tun_frame(struct gen *g, struct call *c, const uint8_t *ip, size_t len,
			       int64_t t)
{
	uint8_t *p = g->tunbuf + TUN_HEADROOM;
	if (len > sizeof(g->tunbuf) - TUN_HEADROOM) {
		fprintf(stderr, GEN_TAG ": internal: packet too long to tunnel\n");
		exit(1);
	}
	memcpy(p, ip, len);
	int car = (ip[0] >> 4) == 6 ? CAR_IP6 : CAR_IP4;
	/* the reverse direction goes through the tunnel the other way */
	size_t alen = car == CAR_IP6 ? 16 : 4;
	bool rev = memcmp(ip + (car == CAR_IP6 ? 8 : 12), ip + (car == CAR_IP6 ? 24 : 16), alen) > 0;
	for (int i = g->o.ntun - 1; i >= 0; i--)
		tun_layer(g, (unsigned)i, &p, &len, &car, rev);
	struct es_addr src, dst;
	tun_ends(0, car == CAR_IP6, rev, &src, &dst);
	uint8_t link[32];
	size_t ll = link_put_type(&g->o, link, &src, &dst, car_ethertype(car));
	struct frame *f = frame_new(c, ll + len, t);
	memcpy(f->data, link, ll);
	memcpy(f->data + ll, p, len);
	return f;
}

/* ---- SIP over SCTP (RFC 4168) ------------------------------------------- */

/* CRC32c (Castagnoli), reflected, as RFC 9260 Appendix A specifies. */
static uint32_t crc32c(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
	}
	return ~c;
}

/* Appends a DATA chunk (RFC 9260 3.3.1) of u[0..n) to pkt at *o. */
static void sctp_data(uint8_t *pkt, size_t *o, uint8_t flags, uint32_t tsn, uint16_t ssn,
		      const uint8_t *u, size_t n)
{
	uint8_t *h = pkt + *o;
	h[0] = 0;
	h[1] = flags;
	put16(h + 2, (uint16_t)(16 + n));
	put32(h + 4, tsn);
	put16(h + 8, 0);  /* stream 0 */
	put16(h + 10, ssn);
	put32(h + 12, 0); /* PPID unspecified */
	memcpy(h + 16, u, n);
	size_t cl = 16 + n;
	while (cl & 3)
		h[cl++] = 0;
	*o += cl;
}

/* The common header (RFC 9260 3.1) of the packet pkt[0..len): ports,
 * verification tag, and the CRC32c, stored little-endian (Appendix A). */
static void sctp_head(uint8_t *pkt, size_t len, const struct es_addr *src,
		      const struct es_addr *dst, uint32_t vtag)
{
	put16(pkt, src->port);
	put16(pkt + 2, dst->port);
	put32(pkt + 4, vtag);
	put32(pkt + 8, 0);
	uint32_t ck = crc32c(pkt, len);
	pkt[8] = (uint8_t)ck;
	pkt[9] = (uint8_t)(ck >> 8);
	pkt[10] = (uint8_t)(ck >> 16);
	pkt[11] = (uint8_t)(ck >> 24);
}

/* Sends the SIP messages of g->sip (cut at cut[0..ncut)) over SCTP: each
 * message one DATA chunk, or two (B, then E in the next packet) when
 * longer than 700 bytes; coalesced messages share a packet; the callee's
 * first packet also carries a SACK chunk. */
static void sctp_send(struct gen *g, struct call *c, bool from_caller, const size_t *cut,
		      int ncut, uint8_t msgs, int64_t t)
{
	struct es_addr src, dst;
	struct frame *fr[GEN_MAX_FRAGS];
	sip_endpoints(c, from_caller, &src, &dst);
	int dir = from_caller ? 0 : 1;
	uint8_t *pkt = g->scratch2;
	size_t o = 12;
	if (!from_caller) {
		uint8_t *h = pkt + o; /* SACK: cumulative TSN ack, a_rwnd, no gaps */
		h[0] = 3;
		h[1] = 0;
		put16(h + 2, 16);
		put32(h + 4, c->tcp.seq[0] - 1);
		put32(h + 8, 65536);
		put32(h + 12, 0);
		o += 16;
	}
	int seg = 0;
	size_t from = 0;
	for (int m = 0; m < ncut; m++) {
		size_t n = cut[m] - from;
		const uint8_t *u = g->sip.p + from;
		uint16_t ssn = c->tcp.ssn[dir]++;
		if (n > 700) {
			size_t half = n / 2;
			sctp_data(pkt, &o, 0x02, c->tcp.seq[dir]++, ssn, u, half);
			sctp_head(pkt, o, &src, &dst, (uint32_t)c->callid ^ (uint32_t)dir);
			int nf = ip_frames(g, c, &src, &dst, IPPROTO_SCTP_, TOS_SIP, pkt, o, false,
					   t + seg * 60, fr);
			push_sip_frames(g, c, fr, nf, seg == 0 ? msgs : 0, false);
			seg++;
			o = 12;
			sctp_data(pkt, &o, 0x01, c->tcp.seq[dir]++, ssn, u + half, n - half);
		} else {
			sctp_data(pkt, &o, 0x03, c->tcp.seq[dir]++, ssn, u, n);
		}
		from = cut[m];
	}
	sctp_head(pkt, o, &src, &dst, (uint32_t)c->callid ^ (uint32_t)dir);
	int nf = ip_frames(g, c, &src, &dst, IPPROTO_SCTP_, TOS_SIP, pkt, o, false, t + seg * 60,
			   fr);
	push_sip_frames(g, c, fr, nf, seg == 0 ? msgs : 0, false);
}

/* ---- SIP over WebSocket (RFC 7118) --------------------------------------- */

/* One WebSocket frame (RFC 6455 5.2) of u[0..n) appended to b; the
 * client (caller) masks its frames, the server does not. */
static void ws_frame(struct es_buf *b, uint8_t b0, bool mask, uint32_t key, const uint8_t *u,
		     size_t n)
{
	uint8_t h[14];
	size_t hl = 2;
	h[0] = b0;
	if (n < 126) {
		h[1] = (uint8_t)n;
	} else {
		h[1] = 126;
		put16(h + 2, (uint16_t)n);
		hl = 4;
	}
	if (mask) {
		h[1] |= 0x80;
		put32(h + hl, key);
		hl += 4;
	}
	if (es_buf_append(b, h, hl) || es_buf_reserve(b, n))
		die_oom();
	uint8_t *d = b->p + b->len;
	for (size_t i = 0; i < n; i++)
		d[i] = mask ? (uint8_t)(u[i] ^ h[hl - 4 + (i & 3)]) : u[i];
	b->len += n;
}

/* The SIP messages of g->sip as WebSocket text messages in g->ws; a
 * split step sends its first message as two frames (text, continuation). */
static void ws_wrap(struct gen *g, struct call *c, bool from_caller, const size_t *cut, int ncut,
		    bool split)
{
	es_buf_reset(&g->ws);
	size_t from = 0;
	for (int m = 0; m < ncut; m++) {
		size_t n = cut[m] - from;
		const uint8_t *u = g->sip.p + from;
		/* no draw from the call's generators: the same call as --tcp */
		uint32_t key = (uint32_t)(c->callid >> 13) ^ c->tcp.seq[0] ^ (uint32_t)from;
		if (split && m == 0 && n > 64) {
			ws_frame(&g->ws, 0x01, from_caller, key, u, n / 2);
			ws_frame(&g->ws, 0x80, from_caller, key ^ 0x5a5a5a5au, u + n / 2, n - n / 2);
		} else {
			ws_frame(&g->ws, 0x81, from_caller, key, u, n);
		}
		from = cut[m];
	}
}

/* The opening handshake (RFC 6455 1.3, 4): the caller's GET with Upgrade,
 * the callee's 101; the key and accept values are the RFC's example. */
static void ws_handshake(struct gen *g, struct call *c, int64_t t)
{
	char h[ES_ADDR_STRLEN], req[512];
	int n = snprintf(req, sizeof(req),
			 "GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
			 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			 "Origin: https://%s\r\nSec-WebSocket-Protocol: sip\r\n"
			 "Sec-WebSocket-Version: 13\r\n\r\n",
			 addr_uri_host(&c->callee_ip, h, sizeof(h)), GEN_WS_PORT, h);
	wrap_for(g, true, true);
	tcp_send(g, c, true, (const uint8_t *)req, (size_t)n, false, false, 0, t);
	static const char resp[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
				   "Connection: Upgrade\r\n"
				   "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
				   "Sec-WebSocket-Protocol: sip\r\n\r\n";
	wrap_for(g, true, false);
	tcp_send(g, c, false, (const uint8_t *)resp, sizeof(resp) - 1, false, false, 0, t + 150);
}
