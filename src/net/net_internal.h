/*
 * net_internal.h - what decode.c, frag.c and tcp.c share inside the network
 * layer.  Not for other layers: they use net.h.
 */
#ifndef ES_NET_INTERNAL_H
#define ES_NET_INTERNAL_H

#include "net/net.h"

struct net_frag;
struct net_tcp;
struct net_sctp;

/* Tunnels nested deeper than this are counted in skip_tunnel_depth: it
 * bounds the decoder's recursion whatever the frame says. */
#define NET_MAX_TUNNEL_DEPTH 8

/* What the link and IP layers learned about the frame, for net_pkt. */
struct net_frame_ctx {
	uint64_t frame;
	int64_t ts_us;
	uint16_t vlan[2];
	uint8_t nvlan;
	uint8_t depth; /* tunnels peeled so far */
};

struct net_decoder {
	struct net_config cfg;
	net_udp_fn on_udp;
	net_tcp_fn on_tcp;
	void *ud;
	struct net_stats st;
	struct net_frag *frag;
	struct net_tcp *tcp;
	struct net_sctp *sctp; /* made at the first SCTP packet */
	int64_t max_ts;      /* newest capture time seen */
	int64_t last_expire; /* capture time of the last automatic expiry */
	bool have_ts;
};

/* ---- decode.c: entry points the tunnels re-enter ---- */
void net_ipv4(struct net_decoder *d, struct net_frame_ctx *fc, const uint8_t *p, size_t len);
void net_ipv6(struct net_decoder *d, struct net_frame_ctx *fc, const uint8_t *p, size_t len);
/* An Ethernet frame from its destination MAC. */
void net_ether(struct net_decoder *d, struct net_frame_ctx *fc, const uint8_t *p, size_t len);
/* What follows an ethertype (VLAN tags, PPPoE, MPLS, IPv4, IPv6). */
void net_ethertype(struct net_decoder *d, struct net_frame_ctx *fc, uint16_t type,
		   const uint8_t *p, size_t len);

/* ---- tunnel.c ---- */
/* GRE, IP protocol 47: p[0..len) from the GRE header. */
void net_gre(struct net_decoder *d, struct net_frame_ctx *fc, const uint8_t *p, size_t len);
/* An MPLS label stack (ethertype 0x8847/0x8848, GRE, ...). */
void net_mpls(struct net_decoder *d, struct net_frame_ctx *fc, const uint8_t *p, size_t len);
/* IPv4 or IPv6 inside IP (protocols 4 and 41). */
void net_ipip(struct net_decoder *d, struct net_frame_ctx *fc, uint8_t proto,
	      const uint8_t *p, size_t len);
/* A UDP payload to dport that is a VXLAN or Geneve header: decoded and
 * true; false when it is not a tunnel (the caller delivers the datagram). */
bool net_udp_tunnel(struct net_decoder *d, struct net_frame_ctx *fc, uint16_t dport,
		    const uint8_t *p, size_t len);

/* ---- sctp.c ---- */
/* One SCTP packet (RFC 9260 3); tmpl carries frame, time, addresses
 * without ports, and VLANs. */
void net_sctp_packet(struct net_decoder *d, const struct net_pkt *tmpl, const uint8_t *p,
		     size_t len);
void net_sctp_free(struct net_sctp *s);
void net_sctp_expire(struct net_sctp *s, int64_t now_us, int64_t idle_us);

/* ---- frag.c ---- */
/* RFC 791 identifies a datagram by (src, dst, protocol, id); RFC 8200 by
 * (src, dst, id).  proto is 0 for IPv6. */
struct net_frag_key {
	uint8_t family;
	uint8_t proto;
	uint8_t src[16];
	uint8_t dst[16];
	uint32_t id;
};
int net_frag_new(struct net_frag **out, size_t max_bytes, int64_t timeout_us);
void net_frag_free(struct net_frag *f);
/* Add one fragment: payload bytes p[0..len) at byte offset off of the
 * reassembled payload; more = more fragments follow; nh = the next header
 * carried by an IPv6 fragment header (kept from the offset-0 fragment).
 * Returns 1 when the datagram is complete, with *out a malloc'd buffer the
 * caller frees, *outlen its length and *out_nh the first fragment's nh;
 * 0 when the fragment is held or dropped (counted in st). */
int net_frag_add(struct net_frag *f, struct net_stats *st,
		 const struct net_frag_key *k, size_t off, bool more, uint8_t nh,
		 const uint8_t *p, size_t len, int64_t ts_us,
		 uint8_t **out, size_t *outlen, uint8_t *out_nh);
void net_frag_expire(struct net_frag *f, struct net_stats *st, int64_t now_us);

/* ---- tcp.c ---- */
enum {
	NET_TCP_FIN = 0x01,
	NET_TCP_SYN = 0x02,
	NET_TCP_RST = 0x04,
};
int net_tcp_new(struct net_tcp **out, const struct net_config *cfg);
void net_tcp_free(struct net_tcp *t);
/* One TCP segment; tmpl carries frame, time, addresses and VLANs (its
 * data/len are ignored). */
void net_tcp_segment(struct net_decoder *d, const struct net_pkt *tmpl,
		     uint32_t seq, uint8_t flags, const uint8_t *payload, size_t len);
void net_tcp_expire(struct net_tcp *t, int64_t now_us);

/* ---- ws.c: WebSocket (RFC 6455) on a TCP stream ---- */
enum { NET_WS_NONE, NET_WS_FRAMES, NET_WS_DEAD };
/* Per-direction state, inside tcp.c's stream. */
struct net_ws {
	uint8_t state;      /* NET_WS_*: set by tcp.c */
	bool in_msg;        /* continuation frames expected */
	struct es_buf msg;  /* fragments gathered; empty unless fragmented */
};
/* Whether the bytes start an HTTP request asking for a WebSocket upgrade
 * (RFC 6455 4.1), or the 101 response that grants it (4.2.2).  Sets *hlen
 * to the length of the request or response head. */
bool net_ws_upgrade_request(const uint8_t *p, size_t len, size_t *hlen);
bool net_ws_upgrade_response(const uint8_t *p, size_t len, size_t *hlen);
/* A stream picked up after its handshake (the capture began later): 1 when
 * buf starts with a WebSocket text/binary frame whose payload starts like
 * a SIP message, 0 when it does not, -1 when more bytes are needed to say. */
int net_ws_pickup(const uint8_t *p, size_t len);
/* Consume whole frames from buf[0..len), which it may change (unmasking
 * in place), delivering each complete text or binary message through
 * d->on_udp with tmpl's addresses and proto NET_PROTO_WS.  Returns the
 * bytes consumed; sets *fail when the stream cannot be followed any more
 * (counted in ws_errors; the caller drops its bytes). */
size_t net_ws_consume(struct net_decoder *d, struct net_ws *ws, const struct net_pkt *tmpl,
		      uint8_t *buf, size_t len, size_t max_msg, bool *fail);
void net_ws_reset(struct net_ws *ws);

/* now - then > span, without overflow for any capture times. */
static inline bool net_ts_older(int64_t now, int64_t then, int64_t span)
{
	return now > then && (uint64_t)now - (uint64_t)then > (uint64_t)span;
}

/* Big-endian loads without alignment assumptions. */
static inline uint16_t net_be16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}
static inline uint32_t net_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint32_t net_le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

#endif /* ES_NET_INTERNAL_H */
