/*
 * net.h - the network layer: capture files (pcap, pcapng via libpcap),
 * link layers (Ethernet, Linux cooked SLL/SLL2, raw IP, BSD loopback),
 * 802.1Q/QinQ, IPv4/IPv6 with extension headers, IP fragment reassembly,
 * tunnels (GRE, ERSPAN I/II/III, VXLAN, Geneve, IP-in-IP, MPLS; nested to a
 * bounded depth), UDP, SCTP DATA (with user-message reassembly), TCP stream
 * reassembly and WebSocket framing on TCP (RFC 6455, after an HTTP Upgrade).
 * It hands transport payloads to callbacks and knows nothing of SIP or RTP.
 */
#ifndef ES_NET_H
#define ES_NET_H

#include "core/core.h"

/* The transport of a payload: IP protocol numbers, and NET_PROTO_WS
 * (not an IP protocol) for a WebSocket message on a TCP stream. */
enum { NET_PROTO_TCP = 6, NET_PROTO_UDP = 17, NET_PROTO_SCTP = 132, NET_PROTO_WS = 0xfe };
/* "udp", "tcp", "sctp", "ws" (RFC 7118's transport token, lower case), or
 * "other". */
const char *net_proto_name(uint8_t proto);

/* Tunnels the decoder peels, counted by kind in net_stats.decap. */
enum net_tunnel {
	NET_TUN_GRE,     /* GRE carrying IP or MPLS (RFC 2784, 2890) */
	NET_TUN_TEB,     /* GRE carrying Ethernet (transparent bridging) */
	NET_TUN_ERSPAN,  /* ERSPAN type I, II or III over GRE */
	NET_TUN_VXLAN,   /* VXLAN, UDP port 4789 (RFC 7348) */
	NET_TUN_GENEVE,  /* Geneve, UDP port 6081 (RFC 8926) */
	NET_TUN_IPIP,    /* IPv4 or IPv6 inside IPv4 or IPv6 (RFC 2003, 2473, 4213) */
	NET_TUN_MPLS,    /* an MPLS label stack (RFC 3032) */
	NET_TUN_N
};
/* "gre", "gre_ethernet", "erspan", "vxlan", "geneve", "ip_in_ip", "mpls". */
const char *net_tunnel_name(int kind);

/* One transport payload.  data points into the decoder's or the caller's
 * buffer and is valid only during the callback. */
struct net_pkt {
	uint64_t frame;        /* 1-based frame number in the capture (the last
				  frame that completed this payload) */
	int64_t ts_us;         /* capture time of that frame */
	uint8_t proto;         /* NET_PROTO_UDP or NET_PROTO_TCP */
	struct es_addr src;    /* with port */
	struct es_addr dst;    /* with port */
	uint16_t vlan[2];      /* outer first */
	uint8_t nvlan;
	const uint8_t *data;
	size_t len;
};

/* A message: a UDP datagram (after IP reassembly), an SCTP user message
 * (after reassembly of its DATA chunks; proto NET_PROTO_SCTP) or a WebSocket
 * message of a TCP stream (unmasked and reassembled; NET_PROTO_WS). */
typedef void (*net_udp_fn)(void *ud, const struct net_pkt *pkt);

/* TCP: pkt->data/len is all in-order bytes buffered for one direction of
 * one connection (not yet consumed).  The callback returns how many bytes
 * from the start it consumed (whole messages); the rest stays buffered and
 * is offered again, with what follows, when more data arrives.  A callback
 * that cannot make sense of the data may consume all of it to resync. */
typedef size_t (*net_tcp_fn)(void *ud, const struct net_pkt *pkt);

/* Why frames were not handed on; every frame read is counted once in
 * frames and, if dropped, in exactly one skip_* counter. */
struct net_stats {
	uint64_t frames;
	uint64_t bytes;
	uint64_t udp;               /* datagrams delivered */
	uint64_t tcp_segments;      /* segments with payload accepted */
	uint64_t skip_linktype;     /* link type not supported */
	uint64_t skip_truncated;    /* captured frame shorter than its headers */
	uint64_t skip_non_ip;       /* ARP, LLDP, ... */
	uint64_t skip_bad_ip;       /* bad version, header length, total length */
	uint64_t skip_other_proto;  /* ICMP, SCTP, ESP, ... */
	uint64_t frag_held;         /* fragments waiting for their siblings */
	uint64_t frag_reassembled;  /* datagrams completed from fragments */
	uint64_t frag_expired;      /* incomplete datagrams dropped on timeout */
	uint64_t frag_overflow;     /* fragments dropped: memory bound reached */
	uint64_t tcp_retrans;       /* segments already seen (dropped) */
	uint64_t tcp_out_of_order;  /* segments held until the gap filled */
	uint64_t tcp_gaps;          /* gaps given up on (data lost) */
	uint64_t tcp_overflow;      /* bytes dropped: per-flow buffer bound */
	/* tunnels: layers peeled by kind (a frame in GRE in VXLAN counts in
	 * both), and frames dropped inside a tunnel */
	uint64_t decap[NET_TUN_N];
	uint64_t skip_gre_proto;    /* GRE version, routing or protocol type
				       not decoded (e.g. PPTP, NSH) */
	uint64_t skip_mpls_payload; /* MPLS payload not IPv4, IPv6 or an
				       Ethernet pseudowire */
	uint64_t skip_tunnel_bad;   /* malformed tunnel header (ERSPAN version
				       or frame type, Geneve version) */
	uint64_t skip_tunnel_depth; /* tunnels nested deeper than the bound */
	/* SCTP (RFC 9260) */
	uint64_t sctp_messages;     /* user messages delivered */
	uint64_t skip_sctp_no_data; /* SCTP packets without a DATA chunk for
				       us (INIT, SACK, HEARTBEAT, other PPID) */
	uint64_t sctp_dup;          /* DATA chunks already seen (retransmitted) */
	uint64_t sctp_dropped;      /* fragments dropped: gap, bound, eviction */
	/* WebSocket on TCP (RFC 6455) */
	uint64_t ws_messages;       /* messages delivered */
	uint64_t ws_errors;         /* streams given up on: bad frame, control
				       frame too long, message over the bound */
};

struct net_config {
	size_t frag_max_bytes;      /* all pending fragments, default 8 MiB */
	int64_t frag_timeout_us;    /* default 30 s (capture time) */
	size_t tcp_max_flows;       /* default 65536 */
	size_t tcp_max_buffer;      /* per direction, default 1 MiB */
	int64_t tcp_idle_us;        /* flow forgotten after idle, default 300 s */
};
/* Fill cfg with the defaults above. */
void net_config_default(struct net_config *cfg);

struct net_decoder;
/* cfg may be NULL for defaults.  on_udp/on_tcp may be NULL. */
int net_decoder_new(struct net_decoder **out, const struct net_config *cfg,
		    net_udp_fn on_udp, net_tcp_fn on_tcp, void *ud);
void net_decoder_free(struct net_decoder *d);
/* Decode one captured frame of DLT link type dlt (libpcap's DLT_* values).
 * Always returns 0: a bad frame is counted in the stats, not an error. */
int net_decode_frame(struct net_decoder *d, int dlt, const uint8_t *data,
		     size_t caplen, int64_t ts_us, uint64_t frame);
/* Drop fragments and idle TCP flows older than the timeouts, relative to
 * now_us in capture time.  Called by the decoder itself from time to time;
 * callable at end of input. */
void net_decoder_expire(struct net_decoder *d, int64_t now_us);
const struct net_stats *net_decoder_stats(const struct net_decoder *d);

/* ---- capture files ------------------------------------------------------ */
struct net_file;
/* Open a pcap or pcapng file.  On failure returns ES_EIO (cannot open) or
 * ES_EFORMAT (not pcap/pcapng) and writes a message naming the file and,
 * where recognisable, its real format (e.g. Microsoft Network Monitor,
 * with the hint to convert it with editcap) into err. */
int net_file_open(struct net_file **out, const char *path, char *err, size_t errlen);
/* Next frame: returns 1 with the frame, 0 at a clean end of file, or a
 * negative code (ES_ETRUNC for a truncated last record, ES_EFORMAT for a
 * corrupt record length) with net_file_error() naming the frame number. */
int net_file_next(struct net_file *f, const uint8_t **data, size_t *caplen,
		  int64_t *ts_us, uint64_t *frame);
int net_file_dlt(const struct net_file *f);
uint64_t net_file_size(const struct net_file *f);   /* bytes on disk */
uint64_t net_file_offset(const struct net_file *f); /* bytes read so far */
const char *net_file_error(const struct net_file *f);
void net_file_close(struct net_file *f);

/* ---- live capture ------------------------------------------------------ */
struct net_live_config {
	const char *iface;      /* "eth1", "lo", "any" */
	const char *filter;     /* BPF expression, NULL = everything */
	int snaplen;            /* 0 = 65535 */
	size_t buffer_bytes;    /* kernel ring; 0 = 64 MiB */
	int timeout_ms;         /* delivery timeout; 0 = 100 ms */
	bool immediate;         /* deliver each packet at once (TPACKET_V2 in
				   libpcap); false: blocks (TPACKET_V3) */
};
struct net_live;
/* Open and activate a live capture (needs CAP_NET_RAW).  ES_EIO with a
 * message naming the interface (and the BPF error) in err. */
int net_live_open(struct net_live **out, const struct net_live_config *c, char *err,
		  size_t errlen);
int net_live_dlt(const struct net_live *l);
/* A frame as delivered by the capture: valid during the call only. */
typedef void (*net_live_fn)(void *ud, const uint8_t *data, size_t caplen, int64_t ts_us);
/* Deliver what the kernel has (at most max frames, 0 = no limit), waiting
 * up to the timeout when nothing is there.  Returns the number of frames,
 * 0 on timeout or after net_live_break, negative ES_EIO on error. */
int net_live_dispatch(struct net_live *l, int max, net_live_fn fn, void *ud);
/* Make a dispatch in progress return (async-signal-safe enough: sets a flag). */
void net_live_break(struct net_live *l);
struct net_live_stats {
	uint64_t received;   /* frames the kernel saw for us */
	uint64_t dropped;    /* lost because the ring was full */
	uint64_t if_dropped; /* dropped by the interface/driver */
};
int net_live_stats(struct net_live *l, struct net_live_stats *s);
const char *net_live_error(const struct net_live *l);
void net_live_close(struct net_live *l);

#endif /* ES_NET_H */
