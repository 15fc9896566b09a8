/*
 * decode.c - link layers, 802.1Q/QinQ, PPPoE, IPv4, IPv6 and its extension headers,
 * UDP, and dispatch to fragment reassembly (frag.c), tunnels (tunnel.c), SCTP
 * (sctp.c) and TCP (tcp.c).
 * Every read is checked against the captured length; a frame that cannot be
 * used is counted in exactly one skip_* counter.
 */
#include "net/net_internal.h"

#include <stdlib.h>
#include <string.h>

#define TAG "net"

/* DLT_* values (libpcap's pcap/dlt.h), kept here so that the decoder does
 * not depend on the platform's header for the few that differ. */
enum {
	DLT_NULL_ = 0,
	DLT_EN10MB_ = 1,
	DLT_RAW_ = 12,
	DLT_LINKTYPE_RAW_ = 101,
	DLT_LOOP_ = 108,
	DLT_LINUX_SLL_ = 113,
	DLT_IPV4_ = 228,
	DLT_IPV6_ = 229,
	DLT_LINUX_SLL2_ = 276,
};

enum {
	ETH_IPV4 = 0x0800,
	ETH_IPV6 = 0x86dd,
	ETH_VLAN = 0x8100,
	ETH_QINQ = 0x88a8,
	ETH_QINQ_OLD = 0x9100,
	ETH_PPPOE_SESSION = 0x8864,
	ETH_MPLS = 0x8847,
	ETH_MPLS_MC = 0x8848,
	PPP_IPV4 = 0x0021,
	PPP_IPV6 = 0x0057,
};

#define MAX_VLAN_DEPTH 8   /* tags peeled before giving up */
#define MAX_EXT_HEADERS 16 /* IPv6 extension headers followed */
#define EXPIRE_EVERY_US ES_US_PER_SEC

enum { IPPROTO_IPIP_ = 4, IPPROTO_IPV6_ = 41, IPPROTO_GRE_ = 47 };

const char *net_proto_name(uint8_t proto)
{
	switch (proto) {
	case NET_PROTO_UDP: return "udp";
	case NET_PROTO_TCP: return "tcp";
	case NET_PROTO_SCTP: return "sctp";
	case NET_PROTO_WS: return "ws";
	default: return "other";
	}
}

const char *net_tunnel_name(int kind)
{
	static const char *const names[NET_TUN_N] = {
		[NET_TUN_GRE] = "gre",       [NET_TUN_TEB] = "gre_ethernet",
		[NET_TUN_ERSPAN] = "erspan", [NET_TUN_VXLAN] = "vxlan",
		[NET_TUN_GENEVE] = "geneve", [NET_TUN_IPIP] = "ip_in_ip",
		[NET_TUN_MPLS] = "mpls",
	};
	return kind >= 0 && kind < NET_TUN_N ? names[kind] : "other";
}

void net_config_default(struct net_config *cfg)
{
	cfg->frag_max_bytes = 8u << 20;
	cfg->frag_timeout_us = 30 * ES_US_PER_SEC;
	cfg->tcp_max_flows = 65536;
	cfg->tcp_max_buffer = 1u << 20;
	cfg->tcp_idle_us = 300 * ES_US_PER_SEC;
}

int net_decoder_new(struct net_decoder **out, const struct net_config *cfg,
		    net_udp_fn on_udp, net_tcp_fn on_tcp, void *ud)
{
	*out = NULL;
	struct net_decoder *d = calloc(1, sizeof(*d));
	if (!d)
		return ES_ENOMEM;
	if (cfg)
		d->cfg = *cfg;
	else
		net_config_default(&d->cfg);
	/* Zero bounds would make every flow or fragment overflow; treat them as
	 * "use the default". */
	struct net_config def;
	net_config_default(&def);
	if (!d->cfg.frag_max_bytes)
		d->cfg.frag_max_bytes = def.frag_max_bytes;
	if (d->cfg.frag_timeout_us <= 0)
		d->cfg.frag_timeout_us = def.frag_timeout_us;
	if (!d->cfg.tcp_max_flows)
		d->cfg.tcp_max_flows = def.tcp_max_flows;
	if (!d->cfg.tcp_max_buffer)
		d->cfg.tcp_max_buffer = def.tcp_max_buffer;
	if (d->cfg.tcp_idle_us <= 0)
		d->cfg.tcp_idle_us = def.tcp_idle_us;
	d->on_udp = on_udp;
	d->on_tcp = on_tcp;
	d->ud = ud;
	int err = net_frag_new(&d->frag, d->cfg.frag_max_bytes, d->cfg.frag_timeout_us);
	if (!err)
		err = net_tcp_new(&d->tcp, &d->cfg);
	if (err) {
		net_decoder_free(d);
		return err;
	}
	*out = d;
	return 0;
}

void net_decoder_free(struct net_decoder *d)
{
	if (!d)
		return;
	net_frag_free(d->frag);
	net_tcp_free(d->tcp);
	net_sctp_free(d->sctp);
	free(d);
}

const struct net_stats *net_decoder_stats(const struct net_decoder *d)
{
	return &d->st;
}

void net_decoder_expire(struct net_decoder *d, int64_t now_us)
{
	net_frag_expire(d->frag, &d->st, now_us);
	net_tcp_expire(d->tcp, now_us);
	if (d->sctp)
		net_sctp_expire(d->sctp, now_us, d->cfg.tcp_idle_us);
	d->last_expire = now_us;
}

static void fill_addrs(struct net_pkt *pkt, int family, const uint8_t *src,
		       const uint8_t *dst, uint16_t sport, uint16_t dport)
{
	if (family == ES_AF_INET) {
		es_addr_set_v4(&pkt->src, src, sport);
		es_addr_set_v4(&pkt->dst, dst, dport);
	} else {
		es_addr_set_v6(&pkt->src, src, sport);
		es_addr_set_v6(&pkt->dst, dst, dport);
	}
}

static void tmpl_init(struct net_pkt *pkt, const struct net_frame_ctx *fc, uint8_t proto)
{
	memset(pkt, 0, sizeof(*pkt));
	pkt->frame = fc->frame;
	pkt->ts_us = fc->ts_us;
	pkt->proto = proto;
	pkt->vlan[0] = fc->vlan[0];
	pkt->vlan[1] = fc->vlan[1];
	pkt->nvlan = fc->nvlan;
}

/* A transport payload: p[0..len) is everything after the IP header(s). */
static void transport(struct net_decoder *d, struct net_frame_ctx *fc, int family,
		      const uint8_t *src, const uint8_t *dst, uint8_t proto,
		      const uint8_t *p, size_t len)
{
	struct net_pkt pkt;
	if (proto == NET_PROTO_UDP) {
		if (len < 8) {
			d->st.skip_truncated++;
			return;
		}
		size_t ulen = net_be16(p + 4);
		if (ulen == 0) {
			ulen = len; /* RFC 2675 jumbogram, or a TSO capture */
		} else if (ulen < 8) {
			d->st.skip_bad_ip++;
			return;
		} else if (ulen > len) {
			d->st.skip_truncated++;
			return;
		}
		/* VXLAN and Geneve are recognised by port and header. */
		if (net_udp_tunnel(d, fc, net_be16(p + 2), p + 8, ulen - 8))
			return;
		tmpl_init(&pkt, fc, NET_PROTO_UDP);
		fill_addrs(&pkt, family, src, dst, net_be16(p), net_be16(p + 2));
		pkt.data = p + 8;
		pkt.len = ulen - 8;
		d->st.udp++;
		if (d->on_udp)
			d->on_udp(d->ud, &pkt);
		return;
	}
	if (proto == NET_PROTO_TCP) {
		if (len < 20) {
			d->st.skip_truncated++;
			return;
		}
		size_t hl = (size_t)(p[12] >> 4) * 4;
		if (hl < 20) {
			d->st.skip_bad_ip++;
			return;
		}
		if (hl > len) {
			d->st.skip_truncated++;
			return;
		}
		tmpl_init(&pkt, fc, NET_PROTO_TCP);
		fill_addrs(&pkt, family, src, dst, net_be16(p), net_be16(p + 2));
		uint8_t fl = p[13];
		uint8_t flags = (uint8_t)((fl & 0x01 ? NET_TCP_FIN : 0) |
					  (fl & 0x02 ? NET_TCP_SYN : 0) |
					  (fl & 0x04 ? NET_TCP_RST : 0));
		net_tcp_segment(d, &pkt, net_be32(p + 4), flags, p + hl, len - hl);
		return;
	}
	switch (proto) {
	case NET_PROTO_SCTP:
		tmpl_init(&pkt, fc, NET_PROTO_SCTP);
		fill_addrs(&pkt, family, src, dst, 0, 0);
		net_sctp_packet(d, &pkt, p, len);
		return;
	case IPPROTO_IPIP_:
	case IPPROTO_IPV6_:
		net_ipip(d, fc, proto, p, len);
		return;
	case IPPROTO_GRE_:
		net_gre(d, fc, p, len);
		return;
	default:
		d->st.skip_other_proto++;
		return;
	}
}

/* Protocols worth holding fragments for: the ones transport() decodes. */
static bool decodable(uint8_t proto)
{
	return proto == NET_PROTO_UDP || proto == NET_PROTO_TCP || proto == NET_PROTO_SCTP ||
	       proto == IPPROTO_IPIP_ || proto == IPPROTO_IPV6_ || proto == IPPROTO_GRE_;
}

void net_ipv4(struct net_decoder *d, struct net_frame_ctx *fc, const uint8_t *p, size_t len)
{
	if (len < 1) {
		d->st.skip_truncated++;
		return;
	}
	if (p[0] >> 4 != 4) {
		d->st.skip_bad_ip++;
		return;
	}
	if (len < 20) {
		d->st.skip_truncated++;
		return;
	}
	size_t hl = (size_t)(p[0] & 0x0f) * 4;
	size_t tot = net_be16(p + 2);
	if (hl < 20) {
		d->st.skip_bad_ip++;
		return;
	}
	if (hl > len) {
		d->st.skip_truncated++;
		return;
	}
	if (tot == 0) {
		tot = len; /* segmentation offload: the NIC fills it in later */
	} else if (tot < hl) {
		d->st.skip_bad_ip++;
		return;
	} else if (tot > len) {
		d->st.skip_truncated++;
		return;
	}
	uint8_t proto = p[9];
	const uint8_t *src = p + 12, *dst = p + 16;
	uint16_t fo = net_be16(p + 6);
	bool more = (fo & 0x2000) != 0;
	size_t off = (size_t)(fo & 0x1fff) * 8;
	const uint8_t *pl = p + hl;
	size_t plen = tot - hl;
	if (!more && off == 0) {
		transport(d, fc, ES_AF_INET, src, dst, proto, pl, plen);
		return;
	}
	if (!decodable(proto)) {
		d->st.skip_other_proto++; /* no point holding what we would drop */
		return;
	}
	struct net_frag_key k;
	memset(&k, 0, sizeof(k));
	k.family = ES_AF_INET;
	k.proto = proto;
	memcpy(k.src, src, 4);
	memcpy(k.dst, dst, 4);
	k.id = net_be16(p + 4);
	uint8_t *whole = NULL;
	size_t wlen = 0;
	uint8_t nh = 0;
	if (net_frag_add(d->frag, &d->st, &k, off, more, proto, pl, plen, fc->ts_us,
			 &whole, &wlen, &nh) == 1) {
		/* Copy the addresses: they live in the frame, which stays valid. */
		transport(d, fc, ES_AF_INET, src, dst, proto, whole, wlen);
		free(whole);
	}
}

static bool ipv6_ext(uint8_t nh)
{
	switch (nh) {
	case 0:   /* hop-by-hop options */
	case 43:  /* routing */
	case 60:  /* destination options */
	case 135: /* mobility */
	case 139: /* HIP */
	case 140: /* shim6 */
		return true;
	default:
		return false;
	}
}

/* Walk extension headers from nh over p[0..len); on return *nh is the
 * upper-layer protocol and *off where it starts.  Returns 0, or 1 when a
 * fragment header was met (*frag points at it), or a negative code when the
 * chain is truncated (ES_ETRUNC) or too long (ES_ELIMIT). */
static int ipv6_walk(uint8_t *nh, const uint8_t *p, size_t len, size_t *off,
		     const uint8_t **frag)
{
	size_t o = *off;
	for (int i = 0; i < MAX_EXT_HEADERS; i++) {
		if (ipv6_ext(*nh)) {
			if (len - o < 8)
				return ES_ETRUNC;
			size_t el = ((size_t)p[o + 1] + 1) * 8;
			if (el > len - o)
				return ES_ETRUNC;
			*nh = p[o];
			o += el;
		} else if (*nh == 51) { /* AH: length in 4-byte units, RFC 4302 */
			if (len - o < 8)
				return ES_ETRUNC;
			size_t el = ((size_t)p[o + 1] + 2) * 4;
			if (el > len - o)
				return ES_ETRUNC;
			*nh = p[o];
			o += el;
		} else if (*nh == 44) { /* fragment, RFC 8200 4.5 */
			if (len - o < 8)
				return ES_ETRUNC;
			*frag = p + o;
			*off = o + 8;
			return 1;
		} else {
			*off = o;
			return 0;
		}
	}
	return ES_ELIMIT;
}

void net_ipv6(struct net_decoder *d, struct net_frame_ctx *fc, const uint8_t *p, size_t len)
{
	if (len < 1) {
		d->st.skip_truncated++;
		return;
	}
	if (p[0] >> 4 != 6) {
		d->st.skip_bad_ip++;
		return;
	}
	if (len < 40) {
		d->st.skip_truncated++;
		return;
	}
	size_t plen = net_be16(p + 4);
	if (plen == 0)
		plen = len - 40; /* jumbogram or segmentation offload */
	else if (plen > len - 40) {
		d->st.skip_truncated++;
		return;
	}
	const uint8_t *src = p + 8, *dst = p + 24;
	const uint8_t *pl = p + 40;
	uint8_t nh = p[6];
	size_t off = 0;
	const uint8_t *fh = NULL;
	int r = ipv6_walk(&nh, pl, plen, &off, &fh);
	if (r == ES_ETRUNC) {
		d->st.skip_truncated++;
		return;
	}
	if (r < 0) {
		d->st.skip_bad_ip++;
		return;
	}
	if (r == 0) {
		transport(d, fc, ES_AF_INET6, src, dst, nh, pl + off, plen - off);
		return;
	}
	uint16_t fo = net_be16(fh + 2);
	size_t foff = (size_t)(fo >> 3) * 8;
	bool more = (fo & 1) != 0;
	uint8_t fnh = fh[0];
	if (!more && foff == 0) {
		/* Atomic fragment (RFC 6946): carry on as if unfragmented. */
		size_t o2 = 0;
		const uint8_t *fh2 = NULL;
		r = ipv6_walk(&fnh, pl + off, plen - off, &o2, &fh2);
		if (r == ES_ETRUNC)
			d->st.skip_truncated++;
		else if (r != 0)
			d->st.skip_bad_ip++; /* nested fragment headers */
		else
			transport(d, fc, ES_AF_INET6, src, dst, fnh, pl + off + o2,
				  plen - off - o2);
		return;
	}
	struct net_frag_key k;
	memset(&k, 0, sizeof(k));
	k.family = ES_AF_INET6;
	memcpy(k.src, src, 16);
	memcpy(k.dst, dst, 16);
	k.id = net_be32(fh + 4);
	uint8_t *whole = NULL;
	size_t wlen = 0;
	uint8_t rnh = 0;
	if (net_frag_add(d->frag, &d->st, &k, foff, more, fnh, pl + off, plen - off,
			 fc->ts_us, &whole, &wlen, &rnh) != 1)
		return;
	size_t o2 = 0;
	const uint8_t *fh2 = NULL;
	r = ipv6_walk(&rnh, whole, wlen, &o2, &fh2);
	if (r == ES_ETRUNC)
		d->st.skip_truncated++;
	else if (r != 0)
		d->st.skip_bad_ip++;
	else
		transport(d, fc, ES_AF_INET6, src, dst, rnh, whole + o2, wlen - o2);
	free(whole);
}

void net_ethertype(struct net_decoder *d, struct net_frame_ctx *fc, uint16_t type,
		   const uint8_t *p, size_t len)
{
	/* 802.1Q / 802.1ad / pre-standard QinQ tags, outer first. */
	for (int depth = 0; type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD;
	     depth++) {
		if (depth >= MAX_VLAN_DEPTH) {
			d->st.skip_non_ip++;
			return;
		}
		if (len < 4) {
			d->st.skip_truncated++;
			return;
		}
		if (fc->nvlan < 2)
			fc->vlan[fc->nvlan++] = net_be16(p) & 0x0fff;
		type = net_be16(p + 2);
		p += 4;
		len -= 4;
	}
	/* PPPoE session stage (RFC 2516): 6-byte header, then PPP's protocol. */
	if (type == ETH_PPPOE_SESSION) {
		if (len < 8) {
			d->st.skip_truncated++;
			return;
		}
		uint16_t ppp = net_be16(p + 6);
		if (ppp == PPP_IPV4)
			net_ipv4(d, fc, p + 8, len - 8);
		else if (ppp == PPP_IPV6)
			net_ipv6(d, fc, p + 8, len - 8);
		else
			d->st.skip_non_ip++;
		return;
	}
	if (type == ETH_IPV4)
		net_ipv4(d, fc, p, len);
	else if (type == ETH_IPV6)
		net_ipv6(d, fc, p, len);
	else if (type == ETH_MPLS || type == ETH_MPLS_MC)
		net_mpls(d, fc, p, len);
	else
		d->st.skip_non_ip++;
}

void net_ether(struct net_decoder *d, struct net_frame_ctx *fc, const uint8_t *p, size_t len)
{
	if (len < 14)
		d->st.skip_truncated++;
	else
		net_ethertype(d, fc, net_be16(p + 12), p + 14, len - 14);
}

static void ip_by_version(struct net_decoder *d, struct net_frame_ctx *fc,
			  const uint8_t *p, size_t len)
{
	if (len < 1) {
		d->st.skip_truncated++;
		return;
	}
	switch (p[0] >> 4) {
	case 4:
		net_ipv4(d, fc, p, len);
		break;
	case 6:
		net_ipv6(d, fc, p, len);
		break;
	default:
		d->st.skip_bad_ip++;
		break;
	}
}

/* BSD loopback: the address family, in the capturing host's byte order for
 * DLT_NULL and network order for DLT_LOOP; we accept either. */
static void loopback(struct net_decoder *d, struct net_frame_ctx *fc,
		     const uint8_t *p, size_t len)
{
	if (len < 4) {
		d->st.skip_truncated++;
		return;
	}
	uint32_t be = net_be32(p), le = net_le32(p);
	if (be == 2 || le == 2) {
		net_ipv4(d, fc, p + 4, len - 4);
		return;
	}
	/* AF_INET6 is 24 (NetBSD, OpenBSD), 28 (FreeBSD), 30 (macOS). */
	if (be == 24 || be == 28 || be == 30 || le == 24 || le == 28 || le == 30) {
		net_ipv6(d, fc, p + 4, len - 4);
		return;
	}
	d->st.skip_non_ip++;
}

int net_decode_frame(struct net_decoder *d, int dlt, const uint8_t *data,
		     size_t caplen, int64_t ts_us, uint64_t frame)
{
	d->st.frames++;
	d->st.bytes += caplen;
	if (!d->have_ts) {
		d->have_ts = true;
		d->max_ts = d->last_expire = ts_us;
	} else if (ts_us > d->max_ts) {
		d->max_ts = ts_us;
	}
	struct net_frame_ctx fc = {.frame = frame, .ts_us = ts_us};
	if (!data)
		caplen = 0;
	switch (dlt) {
	case DLT_EN10MB_:
		net_ether(d, &fc, data, caplen);
		break;
	case DLT_LINUX_SLL_:
		if (caplen < 16)
			d->st.skip_truncated++;
		else
			net_ethertype(d, &fc, net_be16(data + 14), data + 16, caplen - 16);
		break;
	case DLT_LINUX_SLL2_:
		if (caplen < 20)
			d->st.skip_truncated++;
		else
			net_ethertype(d, &fc, net_be16(data), data + 20, caplen - 20);
		break;
	case DLT_RAW_:
	case DLT_LINKTYPE_RAW_:
		ip_by_version(d, &fc, data, caplen);
		break;
	case DLT_IPV4_:
		net_ipv4(d, &fc, data, caplen);
		break;
	case DLT_IPV6_:
		net_ipv6(d, &fc, data, caplen);
		break;
	case DLT_NULL_:
	case DLT_LOOP_:
		loopback(d, &fc, data, caplen);
		break;
	default:
		d->st.skip_linktype++;
		break;
	}
	if (net_ts_older(d->max_ts, d->last_expire, EXPIRE_EVERY_US - 1))
		net_decoder_expire(d, d->max_ts);
	return 0;
}
