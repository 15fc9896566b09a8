/* pkt.c - gen_calls: frames around UDP and TCP payloads: the link header
 * (Ethernet with optional 802.1Q / 802.1ad tags, Linux SLL, raw IP, BSD
 * loopback), IPv4 or IPv6, and IP fragmentation.
 * #included by bench/gen_calls.c (see gen.h). */

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_8021Q 0x8100
#define ETHERTYPE_8021AD 0x88a8
#define GEN_MTU 1500
#define IPPROTO_UDP_ 17
#define IPPROTO_TCP_ 6
#define IPV6_NH_FRAGMENT 44
#define BSD_AF_INET 2
#define BSD_AF_INET6 24 /* what Wireshark takes as IPv6 in DLT_NULL */

#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_PSH 0x08
#define TCPF_ACK 0x10

#define TOS_SIP 0x60 /* CS3 */
#define TOS_RTP 0xb8 /* EF */

static void die_oom(void)
{
	fprintf(stderr, GEN_TAG ": out of memory\n");
	exit(1);
}

static struct frame *frame_new(struct call *c, size_t len, int64_t t)
{
	struct frame *f = malloc(sizeof(*f) + len);
	if (!f)
		die_oom();
	memset(f, 0, sizeof(*f));
	f->ts = t;
	f->call = c;
	f->dtmf_idx = 0xff;
	f->len = (uint32_t)len;
	return f;
}

static struct frame *frame_dup(const struct frame *f)
{
	struct frame *d = malloc(sizeof(*d) + f->len);
	if (!d)
		die_oom();
	memcpy(d, f, sizeof(*d) + f->len);
	return d;
}

/* A locally administered MAC address made from the host's IP. */
static void mac_of(const struct es_addr *a, uint8_t mac[6])
{
	bool v6 = a->family == ES_AF_INET6;
	mac[0] = 0x02;
	mac[1] = v6 ? 0x06 : 0x04;
	memcpy(mac + 2, a->ip + (v6 ? 12 : 0), 4);
}

/* The protocol chain after the MAC addresses: VLAN tags, then the
 * ethertype of what follows. */
static size_t put_ethertypes(const struct gen_opts *o, uint8_t *p, uint16_t type)
{
	size_t n = 0;
	if (o->qinq_outer) {
		put16(p + n, ETHERTYPE_8021AD);
		put16(p + n + 2, (uint16_t)o->qinq_outer);
		put16(p + n + 4, ETHERTYPE_8021Q);
		put16(p + n + 6, (uint16_t)o->qinq_inner);
		n += 8;
	} else if (o->vlan) {
		put16(p + n, ETHERTYPE_8021Q);
		put16(p + n + 2, (uint16_t)o->vlan);
		n += 4;
	}
	put16(p + n, type);
	return n + 2;
}

/* Writes the link-layer header for a packet of ethertype type (raw and
 * BSD loopback links carry only IP); returns its length. */
static size_t link_put_type(const struct gen_opts *o, uint8_t *p, const struct es_addr *src,
			    const struct es_addr *dst, uint16_t type)
{
	bool v6 = type == ETHERTYPE_IPV6;
	uint32_t fam;
	switch (o->linktype) {
	case LT_EN10MB:
		mac_of(dst, p);
		mac_of(src, p + 6);
		return 12 + put_ethertypes(o, p + 12, type);
	case LT_SLL: /* Linux cooked v1: type, ARPHRD, address length, address */
		put16(p, 0);
		put16(p + 2, 1);
		put16(p + 4, 6);
		mac_of(src, p + 6);
		p[12] = p[13] = 0;
		return 14 + put_ethertypes(o, p + 14, type);
	case LT_NULL: /* host byte order, as the writer's pcap header says */
		fam = v6 ? BSD_AF_INET6 : BSD_AF_INET;
		memcpy(p, &fam, 4);
		return 4;
	case LT_RAW:
		break;
	}
	return 0;
}

static size_t link_put(const struct gen_opts *o, uint8_t *p, const struct es_addr *src,
		       const struct es_addr *dst)
{
	return link_put_type(o, p, src, dst,
			     src->family == ES_AF_INET6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4);
}

/* A frame just built (link header of ll bytes, then IP) through the
 * --tunnel layers when they apply to it. */
static struct frame *maybe_tunnel(struct gen *g, struct call *c, struct frame *f, size_t ll)
{
	if (!g->wrap)
		return f;
	struct frame *w = tun_frame(g, c, f->data + ll, f->len - ll, f->ts);
	free(f);
	return w;
}

static size_t ip4_put(uint8_t *p, const struct es_addr *src, const struct es_addr *dst,
		      uint8_t proto, uint8_t tos, uint16_t id, uint16_t frag, size_t plen)
{
	p[0] = 0x45;
	p[1] = tos;
	put16(p + 2, (uint16_t)(20 + plen));
	put16(p + 4, id);
	put16(p + 6, frag);
	p[8] = 64;
	p[9] = proto;
	put16(p + 10, 0);
	memcpy(p + 12, src->ip, 4);
	memcpy(p + 16, dst->ip, 4);
	put16(p + 10, csum_fold(csum_add(0, p, 20)));
	return 20;
}

static size_t ip6_put(uint8_t *p, const struct es_addr *src, const struct es_addr *dst,
		      uint8_t nh, uint8_t tc, size_t plen)
{
	put32(p, UINT32_C(0x60000000) | (uint32_t)tc << 20);
	put16(p + 4, (uint16_t)plen);
	p[6] = nh;
	p[7] = 64;
	memcpy(p + 8, src->ip, 16);
	memcpy(p + 24, dst->ip, 16);
	return 40;
}

/* An IP packet (or, when allowed and needed, its fragments per RFC 791 /
 * RFC 8200 4.5) carrying l4[0..l4len); frames go to fr[], all at time t.
 * Returns the number of frames. */
static int ip_frames(struct gen *g, struct call *c, const struct es_addr *src,
		     const struct es_addr *dst, uint8_t proto, uint8_t tos, const uint8_t *l4,
		     size_t l4len, bool allow_frag, int64_t t, struct frame **fr)
{
	bool v6 = src->family == ES_AF_INET6;
	size_t iph = v6 ? 40 : 20;
	uint8_t link[32];
	size_t ll = link_put(&g->o, link, src, dst);
	uint16_t id = c->ip_id++;

	if (!allow_frag || iph + l4len <= GEN_MTU) {
		struct frame *f = frame_new(c, ll + iph + l4len, t);
		memcpy(f->data, link, ll);
		if (v6)
			ip6_put(f->data + ll, src, dst, proto, tos, l4len);
		else
			ip4_put(f->data + ll, src, dst, proto, tos, id,
				proto == IPPROTO_TCP_ ? 0x4000 : 0, l4len);
		memcpy(f->data + ll + iph, l4, l4len);
		fr[0] = maybe_tunnel(g, c, f, ll);
		return 1;
	}
	size_t chunk = v6 ? (GEN_MTU - 40 - 8) & ~(size_t)7 : (GEN_MTU - 20) & ~(size_t)7;
	uint32_t id6 = c->idx << 16 | id;
	int n = 0;
	for (size_t off = 0; off < l4len && n < GEN_MAX_FRAGS; off += chunk) {
		size_t len = ES_MIN(chunk, l4len - off);
		bool more = off + len < l4len;
		struct frame *f = frame_new(c, ll + iph + (v6 ? 8 : 0) + len, t);
		uint8_t *p = f->data;
		memcpy(p, link, ll);
		p += ll;
		if (v6) {
			p += ip6_put(p, src, dst, IPV6_NH_FRAGMENT, tos, 8 + len);
			p[0] = proto;
			p[1] = 0;
			put16(p + 2, (uint16_t)(off | (more ? 1 : 0)));
			put32(p + 4, id6);
			p += 8;
		} else {
			p += ip4_put(p, src, dst, proto, tos, id,
				     (uint16_t)((more ? 0x2000 : 0) | off / 8), len);
		}
		memcpy(p, l4 + off, len);
		fr[n++] = maybe_tunnel(g, c, f, ll);
	}
	return n;
}

/* Where the caller writes a UDP payload before udp_frames(). */
static uint8_t *udp_payload(struct gen *g) { return g->scratch + 8; }

static int udp_frames(struct gen *g, struct call *c, const struct es_addr *src,
		      const struct es_addr *dst, size_t plen, uint8_t tos, bool allow_frag,
		      int64_t t, struct frame **fr)
{
	uint8_t *u = g->scratch;
	size_t l4len = 8 + plen;
	put16(u, src->port);
	put16(u + 2, dst->port);
	put16(u + 4, (uint16_t)l4len);
	put16(u + 6, 0);
	uint16_t ck = csum_fold(csum_add(csum_pseudo(src, dst, IPPROTO_UDP_, l4len), u, l4len));
	put16(u + 6, ck ? ck : 0xffff);
	return ip_frames(g, c, src, dst, IPPROTO_UDP_, tos, u, l4len, allow_frag, t, fr);
}

/* Where the caller writes a TCP payload before tcp_frames(). */
static uint8_t *tcp_payload(struct gen *g) { return g->scratch + 20; }

/* A TCP segment; a SYN carries the MSS option and no payload. */
static int tcp_frames(struct gen *g, struct call *c, const struct es_addr *src,
		      const struct es_addr *dst, uint8_t flags, uint32_t seq, uint32_t ack,
		      size_t plen, bool allow_frag, int64_t t, struct frame **fr)
{
	uint8_t *h = g->scratch;
	size_t hl = 20;
	if (flags & TCPF_SYN) {
		static const uint8_t mss[4] = {2, 4, 0x05, 0xb4}; /* MSS 1460 */
		memcpy(h + 20, mss, 4);
		hl = 24;
		plen = 0;
	}
	put16(h, src->port);
	put16(h + 2, dst->port);
	put32(h + 4, seq);
	put32(h + 8, (flags & TCPF_ACK) ? ack : 0);
	h[12] = (uint8_t)(hl / 4) << 4;
	h[13] = flags;
	put16(h + 14, 64240);
	put16(h + 16, 0);
	put16(h + 18, 0);
	size_t l4len = hl + plen;
	put16(h + 16, csum_fold(csum_add(csum_pseudo(src, dst, IPPROTO_TCP_, l4len), h, l4len)));
	return ip_frames(g, c, src, dst, IPPROTO_TCP_, TOS_SIP, h, l4len, allow_frag, t, fr);
}
