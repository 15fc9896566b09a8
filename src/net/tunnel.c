/*
 * tunnel.c - peeling encapsulations: GRE (RFC 2784, keys and sequence
 * numbers of RFC 2890) carrying IP, MPLS, Ethernet (transparent bridging)
 * or ERSPAN types I, II and III; VXLAN (RFC 7348) and Geneve (RFC 8926) on
 * UDP; IPv4/IPv6 inside IPv4/IPv6 (RFC 2003, RFC 2473, RFC 4213); MPLS
 * label stacks (RFC 3032) ending in IP or an Ethernet pseudowire (RFC 4448).
 *
 * Each layer re-enters decode.c on the inner packet, a view into the same
 * frame (no copy, no allocation).  The nesting is bounded by
 * NET_MAX_TUNNEL_DEPTH, counted in the frame's context, so a frame that
 * wraps itself again and again costs at most that many layers.  A frame
 * dropped inside a tunnel is counted in exactly one skip_* counter, like
 * any other.
 */
#include "net/net_internal.h"

enum {
	GRE_C = 0x8000, /* checksum present */
	GRE_R = 0x4000, /* routing present (RFC 1701; not decoded) */
	GRE_K = 0x2000, /* key present (RFC 2890) */
	GRE_S = 0x1000, /* sequence number present (RFC 2890) */
	GRE_VER = 0x0007,
};

/* GRE protocol types (ethertypes) */
enum {
	PT_IPV4 = 0x0800,
	PT_IPV6 = 0x86dd,
	PT_TEB = 0x6558,      /* transparent Ethernet bridging */
	PT_MPLS = 0x8847,
	PT_MPLS_MC = 0x8848,
	PT_ERSPAN2 = 0x88be,  /* type I without a sequence number, else type II */
	PT_ERSPAN3 = 0x22eb,
};

#define VXLAN_PORT 4789
#define GENEVE_PORT 6081
#define MPLS_MAX_LABELS 16 /* a label stack deeper than this is not real */

/* One more layer: false (and counted) when the bound is reached. */
static bool enter(struct net_decoder *d, struct net_frame_ctx *fc, int kind)
{
	if (fc->depth >= NET_MAX_TUNNEL_DEPTH) {
		d->st.skip_tunnel_depth++;
		return false;
	}
	fc->depth++;
	d->st.decap[kind]++;
	return true;
}

/* An IP packet by its version nibble (MPLS and some GRE carry no type). */
static void ip_guess(struct net_decoder *d, struct net_frame_ctx *fc, const uint8_t *p,
		     size_t len, uint64_t *unknown)
{
	if (len < 1) {
		d->st.skip_truncated++;
		return;
	}
	if (p[0] >> 4 == 4)
		net_ipv4(d, fc, p, len);
	else if (p[0] >> 4 == 6)
		net_ipv6(d, fc, p, len);
	else
		(*unknown)++;
}

void net_ipip(struct net_decoder *d, struct net_frame_ctx *fc, uint8_t proto,
	      const uint8_t *p, size_t len)
{
	if (!enter(d, fc, NET_TUN_IPIP))
		return;
	/* Protocol 4 is IPv4 (RFC 2003), 41 IPv6 (RFC 4213, RFC 2473). */
	if (proto == 4)
		net_ipv4(d, fc, p, len);
	else
		net_ipv6(d, fc, p, len);
}

void net_mpls(struct net_decoder *d, struct net_frame_ctx *fc, const uint8_t *p, size_t len)
{
	if (!enter(d, fc, NET_TUN_MPLS))
		return;
	/* RFC 3032 2.1: 20-bit label, 3 TC bits, S (bottom of stack), TTL. */
	size_t o = 0;
	for (int i = 0;; i++) {
		if (i == MPLS_MAX_LABELS) {
			d->st.skip_tunnel_bad++;
			return;
		}
		if (len - o < 4) {
			d->st.skip_truncated++;
			return;
		}
		bool bottom = (p[o + 2] & 0x01) != 0;
		o += 4;
		if (bottom)
			break;
	}
	p += o;
	len -= o;
	if (len < 1) {
		d->st.skip_truncated++;
		return;
	}
	/* The payload names no type: IP by its version, else the first
	 * nibble 0 of the RFC 4385 control word of an Ethernet pseudowire
	 * (RFC 4448), whose frame follows the 4-byte word. */
	if (p[0] >> 4 == 0) {
		if (len < 4) {
			d->st.skip_truncated++;
			return;
		}
		net_ether(d, fc, p + 4, len - 4);
		return;
	}
	ip_guess(d, fc, p, len, &d->st.skip_mpls_payload);
}

/* ERSPAN type II (8-byte header, version 1) or III (12 bytes, version 2,
 * plus an 8-byte platform subheader when its O bit is set): the mirrored
 * Ethernet frame follows. */
static void erspan(struct net_decoder *d, struct net_frame_ctx *fc, bool type3,
		   const uint8_t *p, size_t len)
{
	size_t hl = type3 ? 12 : 8;
	if (len < hl) {
		d->st.skip_truncated++;
		return;
	}
	unsigned ver = p[0] >> 4;
	if (ver != (type3 ? 2u : 1u)) {
		d->st.skip_tunnel_bad++;
		return;
	}
	if (type3) {
		unsigned ft = (p[10] >> 2) & 0x1f; /* frame type: 0 Ethernet */
		if (ft != 0) {
			d->st.skip_tunnel_bad++;
			return;
		}
		if (p[11] & 0x01)
			hl += 8;
		if (len < hl) {
			d->st.skip_truncated++;
			return;
		}
	}
	net_ether(d, fc, p + hl, len - hl);
}

void net_gre(struct net_decoder *d, struct net_frame_ctx *fc, const uint8_t *p, size_t len)
{
	if (len < 4) {
		d->st.skip_truncated++;
		return;
	}
	uint16_t fl = net_be16(p);
	uint16_t type = net_be16(p + 2);
	/* Version 1 is PPTP's enhanced GRE (PPP inside); routing (RFC 1701)
	 * is obsolete: neither is decoded. */
	if ((fl & GRE_VER) != 0 || (fl & GRE_R)) {
		d->st.skip_gre_proto++;
		return;
	}
	size_t hl = 4 + (fl & GRE_C ? 4 : 0) + (fl & GRE_K ? 4 : 0) + (fl & GRE_S ? 4 : 0);
	if (len < hl) {
		d->st.skip_truncated++;
		return;
	}
	p += hl;
	len -= hl;
	switch (type) {
	case PT_IPV4:
	case PT_IPV6:
		if (enter(d, fc, NET_TUN_GRE))
			(type == PT_IPV4 ? net_ipv4 : net_ipv6)(d, fc, p, len);
		return;
	case PT_MPLS:
	case PT_MPLS_MC:
		if (enter(d, fc, NET_TUN_GRE))
			net_mpls(d, fc, p, len);
		return;
	case PT_TEB:
		if (enter(d, fc, NET_TUN_TEB))
			net_ether(d, fc, p, len);
		return;
	case PT_ERSPAN2:
		if (!enter(d, fc, NET_TUN_ERSPAN))
			return;
		/* Type I has no sequence number and no ERSPAN header. */
		if (!(fl & GRE_S))
			net_ether(d, fc, p, len);
		else
			erspan(d, fc, false, p, len);
		return;
	case PT_ERSPAN3:
		if (enter(d, fc, NET_TUN_ERSPAN))
			erspan(d, fc, true, p, len);
		return;
	default:
		d->st.skip_gre_proto++;
		return;
	}
}

/* RFC 7348 5: flags (I bit 0x08 set), 24 reserved bits, VNI, 8 reserved
 * bits; an Ethernet frame follows.  RTP and RTCP (version 2: 0x80..0xBF)
 * and SIP (a letter) on the port are told apart by the first byte. */
static bool vxlan(struct net_decoder *d, struct net_frame_ctx *fc, const uint8_t *p,
		  size_t len)
{
	if (len < 8 || !(p[0] & 0x08) || (p[0] & 0xc0) == 0x80 || (p[0] & 0xc0) == 0x40 ||
	    p[7] != 0)
		return false;
	if (enter(d, fc, NET_TUN_VXLAN))
		net_ether(d, fc, p + 8, len - 8);
	return true;
}

/* RFC 8926 3.4: version 0 (2 bits), options length in 4-byte words, O and
 * C flags, the protocol type (an ethertype), VNI; options follow. */
static bool geneve(struct net_decoder *d, struct net_frame_ctx *fc, const uint8_t *p,
		   size_t len)
{
	if (len < 8 || (p[0] >> 6) != 0)
		return false;
	size_t hl = 8 + (size_t)(p[0] & 0x3f) * 4;
	uint16_t type = net_be16(p + 2);
	if (!enter(d, fc, NET_TUN_GENEVE))
		return true;
	if (len < hl) {
		d->st.skip_truncated++;
		return true;
	}
	if (type == PT_TEB)
		net_ether(d, fc, p + hl, len - hl);
	else if (type == PT_IPV4 || type == PT_IPV6 || type == PT_MPLS)
		net_ethertype(d, fc, type, p + hl, len - hl);
	else
		d->st.skip_tunnel_bad++;
	return true;
}

bool net_udp_tunnel(struct net_decoder *d, struct net_frame_ctx *fc, uint16_t dport,
		    const uint8_t *p, size_t len)
{
	if (dport == VXLAN_PORT)
		return vxlan(d, fc, p, len);
	if (dport == GENEVE_PORT)
		return geneve(d, fc, p, len);
	return false;
}
