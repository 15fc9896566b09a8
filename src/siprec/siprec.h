/*
 * siprec.h - the SIPREC recording server (RFC 7866): a SIP user agent
 * server on UDP, TCP and TLS (RFC 3261 26.2) that accepts recording sessions from session
 * recording clients (SBCs, PBXs), answers their offers receive-only from an
 * RTP port pool, decrypts SRTP (SDES, RFC 4568), and hands everything it
 * receives and sends to a recording engine (record/) as if it had been
 * captured: the SIP messages of each recording session and the (plain) RTP
 * and RTCP that reach its ports.  The engine reads the recording metadata
 * (RFC 7865) from those messages, so a recording session becomes one call
 * with the original call's participants, recorded and stored like any
 * captured call.
 */
#ifndef ES_SIPREC_H
#define ES_SIPREC_H

#include "core/core.h"
#include "sip/sip.h"

struct rec_engine;

/* ---- RTP port pool ---------------------------------------------------------
 * Even ports of [lo, hi] for RTP, each with the next odd one for RTCP.
 * Ports are handed out from a random place in the pool (libsodium's
 * generator), so that a host that sees one session's ports cannot guess the
 * next session's and send it media first; a pair given back rests while
 * others are free (it is taken again only after half the pool has been
 * given back since, or when nothing else is free), so that late packets of
 * a finished session do not reach the next one. */
struct srs_ports;
/* ES_EINVAL when the range holds no even/odd pair. */
int srs_ports_new(struct srs_ports **out, uint16_t lo, uint16_t hi);
void srs_ports_free(struct srs_ports *p);
/* An RTP port (even); ES_ELIMIT when every pair is taken. */
int srs_ports_take(struct srs_ports *p, uint16_t *port);
/* Give a port back; a port not taken (or out of range) is ignored. */
void srs_ports_give(struct srs_ports *p, uint16_t port);
/* npairs consecutive pairs (first, first+2, ...), chosen like
 * srs_ports_take; ES_ELIMIT when no such run is free. */
int srs_ports_take_block(struct srs_ports *p, unsigned npairs, uint16_t *first);
unsigned srs_ports_available(const struct srs_ports *p);

/* ---- the SDP answer ----------------------------------------------------------
 * A recording server only receives: for each media line of the offer the
 * answer has the port in ports[i] (0 rejects the stream: m= port 0), the
 * offered audio payload types earshot decodes (in the offer's order) plus
 * telephone-event, a=recvonly, and the offer's a=label (RFC 7866 needs it to
 * tie the stream to the metadata).  A stream with no decodable codec, or a
 * non-audio stream, is rejected.  addr is the server's media address. */
struct srs_answer_opts {
	const char *addr;        /* "192.0.2.10" or "2001:db8::10" */
	uint64_t session_id;     /* o= session id and version */
	uint64_t version;
	/* Per media line: the answer's a=crypto value (RFC 4568) for an SRTP
	 * stream, or NULL; the array may be NULL (no SRTP). */
	const char *const *crypto;
};
/* Whether the answer accepts media line m (audio with a codec earshot
 * decodes), given a port. */
bool srs_sdp_stream_ok(const struct sdp_media *m);
/* Writes the answer into out (appended); *accepted gets how many streams
 * were accepted.  ES_EINVAL when ports has fewer than offer->nmedia
 * entries. */
int srs_sdp_answer(const struct sdp *offer, const uint16_t *ports, unsigned nports,
		   const struct srs_answer_opts *o, struct es_buf *out, unsigned *accepted);

/* ---- responses ------------------------------------------------------------
 * A response to request req (RFC 3261 8.2.6): the status line, every Via
 * in order, From, To (with to_tag added when the request's To has none and
 * to_tag is not NULL), Call-ID, CSeq, then `extra` (whole header lines
 * ending in CRLF, may be NULL), Content-Length and the body (with its
 * Content-Type) when body is not NULL.  Appended to out.  ES_EINVAL when
 * req is not a request or lacks Call-ID, From, To or CSeq. */
struct srs_body {
	const char *type;  /* "application/sdp" */
	const char *data;
	size_t len;
};
int srs_response(const struct sip_msg *req, unsigned code, const char *reason,
		 const char *to_tag, const char *extra, const struct srs_body *body,
		 struct es_buf *out);

/* ---- the server ------------------------------------------------------------ */

#define SRS_MAX_LISTEN 8
#define SRS_MAX_ALLOW 32

/* A TLS listener (SIP over TLS over TCP, RFC 3261 26.2: "sips:",
 * transport=tls).  Not an IP protocol number: the engine knows TCP and UDP
 * only, so messages received and sent over TLS are handed to it (decrypted)
 * with NET_PROTO_TCP. */
#define SRS_PROTO_TLS 250

struct srs_listen {
	uint8_t proto;            /* NET_PROTO_UDP, NET_PROTO_TCP or SRS_PROTO_TLS */
	struct es_addr addr;      /* with port; 0.0.0.0 / :: = every address */
};

struct srs_allow {
	struct es_addr net;       /* port ignored */
	unsigned bits;            /* prefix length */
};

struct srs_config {
	struct srs_listen listen[SRS_MAX_LISTEN];
	unsigned nlisten;
	/* The address put in SDP answers and Contact, where RTP sockets are
	 * bound; required (a concrete address, not 0.0.0.0). */
	struct es_addr media_addr;
	uint16_t rtp_lo, rtp_hi;   /* the RTP port pool (even RTP, odd RTCP) */
	unsigned max_sessions;     /* more concurrent sessions get 503 */
	unsigned retry_after_s;    /* Retry-After of that 503 (default 30) */
	/* Source addresses allowed to send requests; none = everyone.  Others
	 * get 403. */
	struct srs_allow allow[SRS_MAX_ALLOW];
	unsigned nallow;
	int64_t session_timeout_us; /* no SIP nor media for this long: the
				       session is ended with a BYE (0 = 300 s) */
	size_t max_msg;             /* largest SIP message (0 = 64 KiB) */
	const char *server_name;    /* Server/User-Agent header (NULL = "earshot") */
	/* Refuse plain RTP: every accepted stream must be RTP/SAVP with an
	 * SDES key (RFC 4568), so that only the holder of the key can put
	 * audio into a recording; plain streams are rejected in the answer
	 * (port 0), an offer with none left gets 488. */
	bool require_srtp;
	/* TCP and TLS: connections at once from one address (0 = 16); more
	 * are closed at accept.  Hosts the allow list refuses are closed at
	 * accept too, before any byte is read. */
	unsigned max_conns_per_host;
	/* A TCP/TLS connection that has not delivered one complete SIP
	 * message this long after accept is closed (0 = 10 s). */
	int64_t tcp_request_timeout_us;
	/* TLS (required when a listener is SRS_PROTO_TLS; read by srs_new
	 * only): PEM files of the certificate (chain) and its private key;
	 * tls_ca, when not NULL, makes TLS mutual: clients must present a
	 * certificate that verifies against these PEM CA certificates. */
	const char *tls_cert, *tls_key, *tls_ca;
};

/* What the server dropped, by reason, beside the refused requests
 * (rejected_* in srs_stats): one struct that status output (and a metrics
 * endpoint) reads as it is.  A media packet to a session's
 * port is recorded only when it comes from a source the recording client
 * signalled (see srs_media_accept in srs_internal.h) and, for SRTP,
 * authenticates. */
struct srs_drops {
	uint64_t media_malformed;    /* not RTP/RTCP version 2, or too short */
	uint64_t media_foreign;      /* from an address the client did not signal */
	uint64_t media_unlatched;    /* from a signalled address, but not the source
					the stream latched on (another port) */
	uint64_t media_srtp_auth;    /* SRTP authentication or replay failure */
	uint64_t tcp_forbidden;      /* TCP/TLS connections from hosts not allowed */
	uint64_t tcp_per_host;       /* over max_conns_per_host */
	uint64_t tcp_limit;          /* over the server's connection limit */
	uint64_t tcp_no_request;     /* no complete message within tcp_request_timeout */
};

struct srs_stats {
	uint64_t sessions_active;
	uint64_t sessions_total;     /* accepted (2xx sent) */
	uint64_t sessions_ended;
	uint64_t rejected_busy;      /* 503: max_sessions or no ports */
	uint64_t rejected_forbidden; /* 403: source not allowed */
	uint64_t rejected_bad;       /* 400/415/420/488: bad requests and offers */
	uint64_t requests, responses_sent, retransmissions_sent;
	uint64_t sip_errors;         /* datagrams or TCP bytes that were not SIP */
	uint64_t rtp_packets, rtcp_packets;
	uint64_t tcp_connections;    /* accepted, TLS ones included */
	uint64_t tls_connections;    /* TLS handshakes completed */
	uint64_t tls_failures;       /* TLS handshakes failed or timed out */
	struct srs_drops drops;
};

struct srs;
/* Bind the SIP sockets (UDP, TCP and TLS listeners), load the TLS
 * certificate and key (errors name the file) and prepare the port pool.
 * The SIP messages of accepted recording sessions (received and sent) and
 * the RTP/RTCP packets accepted on their ports (decrypted) are handed to
 * engine with rec_engine_datagram(), addressed as on the wire (media: to
 * media_addr:port); a refused request (403, 488, 503...), what it is
 * answered, and dropped media never reach the engine, so they leave no
 * call, only counters.  ES_EINVAL/ES_EIO with a message in err. */
int srs_new(struct srs **out, const struct srs_config *cfg, struct rec_engine *engine,
	    char *err, size_t errlen);
/* Wait up to timeout_ms for traffic and handle it, run the transaction
 * timers (2xx retransmission until ACK, session timeouts) and tick the
 * engine (rec_engine_tick) at least every 100 ms.  Returns 0, or an error
 * of the event loop itself. */
int srs_step(struct srs *s, int timeout_ms);
/* End every session with a BYE (handed to the engine too) and stop
 * accepting new ones (503). */
void srs_shutdown(struct srs *s);
void srs_stats(const struct srs *s, struct srs_stats *out);
void srs_free(struct srs *s);

#endif /* ES_SIPREC_H */
