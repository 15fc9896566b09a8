/*
 * srs_internal.h - the recording server's pieces shared between srs.c
 * (event loop, transports, timers), session.c (requests, dialogs,
 * transactions) and srtp.c (SDES keys, decryption).  Not a public API.
 */
#ifndef ES_SIPREC_SRS_INTERNAL_H
#define ES_SIPREC_SRS_INTERNAL_H

#include "net/net.h"
#include "siprec/siprec.h"

#define SRS_T1_US INT64_C(500000) /* RFC 3261 17.1.1.1 */
#define SRS_T2_US INT64_C(4000000)
#define SRS_TXN_US (64 * SRS_T1_US)
#define SRS_MAX_CONNS 1024
#define SRS_MAX_TXNS 8192
#define SRS_TCP_OUT_MAX (1024u * 1024u)
#define SRS_TCP_IDLE_US (600 * ES_US_PER_SEC)
#define SRS_TLS_HANDSHAKE_US (10 * ES_US_PER_SEC)
#define SRS_CONNS_PER_HOST 16
#define SRS_TCP_REQUEST_US (10 * ES_US_PER_SEC)

/* ---- SRTP (srtp.c) ---- */
struct srs_srtp;
/* From an offered a=crypto value (RFC 4568 9.1): an inbound libsrtp2
 * session with the offer's key, and the answer's a=crypto value (same tag
 * and suite, a fresh key) in answer.  ES_EUNSUP for a suite or parameter
 * not supported, ES_EPARSE for a malformed value. */
int srs_srtp_new(struct slice crypto, struct srs_srtp **out, char *answer, size_t cap);
/* Decrypt in place; *len is updated.  Non-zero = authentication or replay
 * failure. */
int srs_srtp_unprotect(struct srs_srtp *c, bool rtcp, uint8_t *buf, size_t *len);
void srs_srtp_free(struct srs_srtp *c);

/* ---- where a message goes back to ---- */
struct srs_route {
	uint8_t proto;         /* NET_PROTO_UDP / NET_PROTO_TCP */
	int udp_fd;            /* UDP: the listener's socket */
	uint64_t conn_id;      /* TCP: the connection */
	bool tls;              /* TCP: a TLS connection (transport=tls) */
	struct es_addr peer;
	struct es_addr local;  /* as handed to the engine */
};

/* Where a stream's media may come from (guard.c): the addresses the
 * recording client signalled for it, and the source each of the stream's
 * two sockets latched on (RTP = 0, RTCP = 1). */
struct srs_source {
	struct es_addr sig[2];   /* the m-line's c= (when usable), the SIP source */
	unsigned nsig;
	bool allow_list;         /* no usable c=: hosts of the allow list too */
	struct es_addr offer;    /* c= address and m= port of the last offer */
	struct es_addr latch[2]; /* port != 0: latched */
};

struct srs_stream {
	uint16_t port;           /* 0 = none (rejected) */
	int fd_rtp, fd_rtcp;
	struct srs_srtp *srtp;
	char crypto_offer[256];  /* the offered a=crypto value it was made from */
	char crypto_answer[160];
	struct srs_source src;
};

enum srs_state { SRS_EARLY = 0, SRS_CONFIRMED };

struct srs_session {
	struct es_hnode node;    /* by Call-ID */
	char *call_id;
	char to_tag[24];
	char *from_tag;          /* the SRC's tag */
	char *local_hdr;         /* the INVITE's To value (+ our tag): our From */
	char *remote_hdr;        /* the INVITE's From value: our To */
	char *target;            /* remote target URI (Contact) */
	char *routes;            /* Record-Route values, ", " joined, or NULL */
	struct srs_route route;
	enum srs_state state;
	uint32_t remote_cseq;
	uint32_t invite_cseq;    /* of the INVITE whose 2xx awaits an ACK */
	uint32_t local_cseq;
	uint64_t sdp_id, sdp_version;
	struct es_buf ok;        /* the last 2xx to INVITE (retransmitted) */
	bool acked;
	int64_t retx_at, retx_interval, ack_deadline;
	int64_t last_activity;
	struct srs_stream st[SDP_MAX_MEDIA];
	unsigned nst;
};

/* A server transaction's last response (RFC 3261 17.2). */
struct srs_txn {
	struct es_hnode node;
	char *key;              /* branch '|' method */
	struct es_buf resp;
	int64_t expires;
	bool recorded;          /* the request was handed to the engine */
	struct srs_txn *older, *newer; /* age list, oldest first */
};

/* A BYE the server sends (client transaction, RFC 3261 17.1.2). */
struct srs_uac {
	struct srs_uac *next;
	char branch[40];
	struct srs_route route;
	struct es_buf msg;
	int64_t retx_at, retx_interval, deadline;
};

/* A TLS connection: handshake (accepting), then open. */
enum srs_tls_state { SRS_TLS_NONE = 0, SRS_TLS_HANDSHAKE, SRS_TLS_OPEN };

struct srs_conn {
	struct srs_conn *next;
	uint64_t id;
	int fd;
	struct es_addr peer, local;
	struct es_buf in, out;   /* TLS: plaintext both */
	int64_t last_us;
	struct ssl_st *ssl;      /* TLS: the session (SSL *), else NULL */
	enum srs_tls_state tls;
	bool got_message;        /* one complete SIP message came (tcp_request_timeout) */
	int64_t accepted_us;
	bool tls_want_write;     /* TLS needs the socket writable to go on */
	int64_t tls_deadline;    /* end of the handshake */
	uint32_t events;         /* the epoll interest set */
};

/* ---- TLS (tls.c) ---- */
struct ssl_ctx_st;
/* The server's SSL_CTX from cfg's tls_cert/tls_key/tls_ca: TLS 1.2 or
 * later, server cipher preference, no compression, no renegotiation;
 * mutual TLS when tls_ca is set.  ES_EINVAL/ES_EIO with the file named in
 * err. */
int srs_tls_ctx_new(const struct srs_config *cfg, struct ssl_ctx_st **out, char *err,
		    size_t errlen);
void srs_tls_ctx_free(struct ssl_ctx_st *ctx);
/* Results of the I/O below: > 0 bytes, or one of these. */
enum { SRS_TLS_WANT_READ = -1, SRS_TLS_WANT_WRITE = -2, SRS_TLS_CLOSED = -3,
       SRS_TLS_ERROR = -4 };
/* A server-side session on c->fd (c->ssl); ES_ENOMEM. */
int srs_tls_conn_new(struct ssl_ctx_st *ctx, struct srs_conn *c);
/* Go on with the handshake: 1 = done, or SRS_TLS_WANT_* / _ERROR (why is
 * logged). */
int srs_tls_handshake(struct srs_conn *c);
/* SSL_read / SSL_write of up to len bytes. */
int srs_tls_read(struct srs_conn *c, void *p, size_t len);
int srs_tls_write(struct srs_conn *c, const void *p, size_t len);
/* close_notify (best effort) and SSL_free. */
void srs_tls_conn_free(struct srs_conn *c);

/* ---- guard.c: who may talk to the server ---- */
/* A rate-limited log: at most SRS_LOG_BURST lines a SRS_LOG_WINDOW_US,
 * then one line saying how many were left out. */
#define SRS_LOG_BURST 10
#define SRS_LOG_WINDOW_US (10 * ES_US_PER_SEC)
struct srs_ratelog {
	int64_t window;        /* start of the current window */
	unsigned lines;        /* logged in it */
	uint64_t suppressed;   /* left out in it */
};
/* Whether a line may be logged now (and logs the count left out of the
 * previous window when a new one starts). */
bool srs_ratelog_ok(struct srs_ratelog *l, int64_t now, const char *what);

struct srs;
/* Whether the allow list lets address a in (an empty list lets everyone). */
bool srs_allowed(const struct srs *s, const struct es_addr *a);
/* A stream's media sources after an offer (RFC 7866 8.1.x: the SRC's SDP
 * for the stream) made by a request from sip_src: resets the latches when
 * what the client signalled changed. */
void srs_source_offer(struct srs_source *src, const struct sdp_media *md,
		      const struct es_addr *sip_src);
/* The verdict on a packet from src to a stream's socket (rtcp_sock: the
 * RTCP port): 0 = from the latched source, or from a signalled one while
 * nothing is latched (*latch is then set: call srs_source_latch once the
 * packet is accepted, i.e. after SRTP authentication); else the
 * srs_drops counter to count it in. */
uint64_t *srs_source_check(struct srs *s, struct srs_source *ms, bool rtcp_sock,
			   const struct es_addr *src, bool *latch);
void srs_source_latch(struct srs_source *ms, bool rtcp_sock, const struct es_addr *src);

struct srs_media {
	struct srs_session *sess; /* NULL = free */
	unsigned stream;
	bool rtcp;
};

struct srs_listener {
	uint8_t proto;
	int fd;
	struct es_addr local;   /* as handed to the engine */
};

struct srs {
	struct srs_config cfg;
	struct rec_engine *engine;
	int ep;
	struct srs_listener lst[SRS_MAX_LISTEN];
	struct ssl_ctx_st *tls_ctx; /* NULL = no TLS listener */
	unsigned nlst;
	struct srs_ports *ports;
	uint16_t port_first;   /* first even port of the pool */
	unsigned nmedia_slots; /* two per pair */
	struct srs_media *media;
	struct es_htab sessions;
	struct es_htab txns;
	struct srs_txn *txn_oldest, *txn_newest;
	size_t ntxn;
	struct srs_uac *uacs;
	struct srs_conn *conns;
	unsigned nconns;
	uint64_t next_conn_id;
	uint64_t frame;
	struct srs_ratelog refusals; /* log lines of refused requests/connections */
	int64_t last_tick;
	bool shutting_down;
	char media_ip[ES_ADDR_STRLEN];
	struct srs_stats st;
	uint8_t rx[65536 + 1];
};

/* The hash of Call-IDs and transaction keys in the server's tables. */
static inline uint64_t srs_hash_sl(struct slice s) { return es_hash(s.p, s.len, 0x5125); }

/* epoll data: kind in the top byte, an index or id below */
enum { EV_UDP = 1, EV_TCP_LISTEN, EV_CONN, EV_MEDIA };
#define EV(kind, v) (((uint64_t)(kind) << 56) | (uint64_t)(v))

/* srs.c */
int64_t srs_now_us(void);
void srs_random(void *p, size_t n);
struct sockaddr_storage;
void srs_from_sockaddr(const struct sockaddr_storage *ss, struct es_addr *a);
int srs_ep_add(struct srs *s, int fd, uint32_t events, uint64_t data);
/* Send a SIP message along route; record: hand it to the engine too (a
 * message of an accepted session). */
void srs_send(struct srs *s, const struct srs_route *r, const void *p, size_t len, bool record);
/* Hand a received message/packet to the engine. */
void srs_to_engine(struct srs *s, uint8_t proto, const struct es_addr *src,
		   const struct es_addr *dst, const void *p, size_t len);
void srs_uac_add(struct srs *s, const struct srs_route *r, const char *branch,
		 struct es_buf *msg);
/* A response to a request the server sent: true when it matched one. */
bool srs_uac_response(struct srs *s, struct slice branch, unsigned status);
/* Bind/close a media port pair of a stream. */
int srs_media_open(struct srs *s, struct srs_session *sess, unsigned idx);
void srs_media_close(struct srs *s, struct srs_stream *st);

/* tcp.c */
/* Accept what listener li has waiting (up to 64). */
void srs_on_accept(struct srs *s, unsigned li);
/* Events on connection id: read, frame and handle messages, write. */
void srs_on_conn(struct srs *s, uint64_t id, uint32_t events);
/* Queue and write a message on route r's connection; false when it is
 * gone or had to be closed (not sent). */
bool srs_conn_send(struct srs *s, const struct srs_route *r, const void *p, size_t len);
void srs_conn_close(struct srs *s, struct srs_conn *c);
/* Close connections idle too long, without a request in time, or stuck in
 * their TLS handshake. */
void srs_conns_timers(struct srs *s, int64_t now);

/* session.c */
/* One parsed SIP message received on route r (raw bytes p/len). */
void srs_on_sip(struct srs *s, const struct srs_route *r, const char *p, size_t len);
/* Timers of every session and transaction; returns the next deadline. */
int64_t srs_sessions_timers(struct srs *s, int64_t now);
void srs_session_end(struct srs *s, struct srs_session *sess, const char *why, bool bye);

/* txn.c */
/* The key of m's server transaction (method: the request's, or "INVITE"
 * for a CANCEL's INVITE). */
void srs_txn_key(const struct sip_msg *m, const char *method, char *out, size_t cap);
struct srs_txn *srs_txn_find(struct srs *s, const char *key);
/* Keep resp as the answer of transaction key (replacing one kept);
 * recorded: the request was handed to the engine. */
void srs_txn_store(struct srs *s, const char *key, const struct es_buf *resp, bool recorded);
/* Drop expired transactions; the next expiry (INT64_MAX: none). */
int64_t srs_txn_expire(struct srs *s, int64_t now);
void srs_txn_free_all(struct srs *s);

#endif
