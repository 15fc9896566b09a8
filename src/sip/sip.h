/*
 * sip.h - zero-copy SIP (RFC 3261) and SDP (RFC 8866) parsing: messages,
 * headers (compact forms, case-insensitive names, folded lines), URIs
 * (sip:, sips:, tel:), name-addr with quoted display names, parameters,
 * multipart bodies (RFC 2046), stream framing by Content-Length, and SDP
 * sessions and media.  Every slice points into the caller's buffer, which
 * must outlive the parsed structure.  Nothing here allocates.
 */
#ifndef ES_SIP_H
#define ES_SIP_H

#include "core/core.h"

/* Well-known headers, recognised by full and compact name (RFC 3261 7.3.3). */
enum sip_hdr_id {
	SIP_H_OTHER = 0,
	SIP_H_VIA,            /* v */
	SIP_H_FROM,           /* f */
	SIP_H_TO,             /* t */
	SIP_H_CALL_ID,        /* i */
	SIP_H_CSEQ,
	SIP_H_CONTACT,        /* m */
	SIP_H_CONTENT_TYPE,   /* c */
	SIP_H_CONTENT_LENGTH, /* l */
	SIP_H_USER_AGENT,
	SIP_H_SERVER,
	SIP_H_PAI,            /* P-Asserted-Identity */
	SIP_H_SUPPORTED,      /* k */
	SIP_H_REQUIRE,
	SIP_H_SESSION_EXPIRES, /* x */
	SIP_H_REASON,
	SIP_H_SUBJECT,        /* s */
	SIP_H_EVENT,          /* o */
	SIP_H_COUNT
};

struct sip_hdr {
	enum sip_hdr_id id;
	struct slice name;
	struct slice value; /* trimmed; may still contain folded CRLF+WS */
};

#define SIP_MAX_HEADERS 128

struct sip_msg {
	bool is_request;
	struct slice method;     /* requests: "INVITE" */
	struct slice ruri;       /* requests: Request-URI */
	unsigned status;         /* responses: 100..699 */
	struct slice reason;     /* responses: reason phrase */
	struct sip_hdr hdrs[SIP_MAX_HEADERS];
	unsigned nhdrs;
	bool hdrs_truncated;     /* more than SIP_MAX_HEADERS: rest ignored */
	/* First occurrence of the headers every caller needs. */
	struct slice call_id;
	struct slice from;
	struct slice to;
	uint32_t cseq;
	struct slice cseq_method;
	struct slice content_type;
	unsigned nvia;           /* Via values, counting comma-separated ones */
	struct slice via_branch; /* branch parameter of the top Via */
	bool has_content_length;
	uint32_t content_length;
	struct slice body;       /* Content-Length bytes (or the rest of a
				    datagram when absent) */
	size_t msg_len;          /* bytes from start line to end of body */
};

/* Parse one SIP message at p.  Over UDP len is the datagram; a body
 * shorter than Content-Length is ES_ETRUNC.  Returns ES_EPARSE for a bad
 * start line, a header line without a colon, or a missing blank line. */
int sip_msg_parse(struct sip_msg *m, const char *p, size_t len);

/* Stream framing (SIP over TCP, RFC 3261 18.3): is there one complete
 * message at p?  Skips leading CRLF keep-alives (counted in *skip).
 * Returns 0 with *msg_len (after the skipped bytes), ES_EAGAIN when more
 * data is needed, or ES_EPARSE when this is not SIP or its headers exceed
 * max_len (the caller resyncs). */
int sip_frame(const char *p, size_t len, size_t max_len, size_t *skip, size_t *msg_len);

/* Cheap test of a datagram's first line: "SIP/2.0 NNN " or
 * "METHOD sip...SIP/2.0". */
bool sip_looks_like(const uint8_t *p, size_t len);

/* First header with this id (not SIP_H_OTHER), or an empty slice. */
struct slice sip_msg_hdr(const struct sip_msg *m, enum sip_hdr_id id);
/* First header whose name matches (case-insensitive, compact forms of the
 * well-known headers accepted), or an empty slice with p == NULL. */
struct slice sip_msg_hdr_name(const struct sip_msg *m, const char *name);

/* ---- URIs and addresses --------------------------------------------------- */
struct sip_uri {
	struct slice scheme;   /* "sip", "sips", "tel" */
	struct slice user;     /* sip: user part; tel: the number */
	struct slice host;     /* without brackets for IPv6 */
	uint16_t port;         /* 0 = absent */
	struct slice params;   /* ";a=b;c" after host[:port] (or the number) */
	struct slice headers;  /* after '?' */
};
int sip_uri_parse(struct slice s, struct sip_uri *u);

/* name-addr / addr-spec of From, To, Contact, P-Asserted-Identity. */
struct sip_nameaddr {
	struct slice display;  /* without quotes; escapes left as they are */
	struct slice uri;      /* raw URI text */
	struct sip_uri u;      /* parsed uri (scheme empty if it did not parse) */
	struct slice params;   /* header params after the URI: ";tag=x" */
	struct slice tag;      /* tag parameter value, empty if none */
};
int sip_nameaddr_parse(struct slice s, struct sip_nameaddr *na);

/* Find ;name[=value] in a parameter list (case-insensitive name).
 * Returns 0 with *value (empty for a flag), or ES_ENOTFOUND. */
int sip_param(struct slice params, const char *name, struct slice *value);

/* ---- multipart bodies ---------------------------------------------------- */
struct sip_part {
	struct slice content_type;
	struct slice body;
};
#define SIP_MAX_PARTS 8
/* Split a multipart body (RFC 2046 5.1) using the boundary from
 * content_type.  ES_EPARSE when the boundary is missing or never found;
 * ES_ETRUNC when the closing delimiter ("--boundary--") is missing: the
 * parts found are still in parts/n (lenient readers use them). */
int sip_multipart_parse(struct slice content_type, struct slice body,
			struct sip_part *parts, unsigned max, unsigned *n);
/* The body of the given type: the body itself when content_type is that
 * type, else the first multipart part of it.  ES_ENOTFOUND otherwise. */
int sip_body_find(struct slice content_type, struct slice body,
		  const char *want_type, struct slice *out);

/* ---- SDP ------------------------------------------------------------------- */
enum sdp_dir { SDP_SENDRECV = 0, SDP_SENDONLY, SDP_RECVONLY, SDP_INACTIVE };

struct sdp_rtpmap {
	uint8_t pt;
	struct slice encoding;  /* "PCMU", "opus", "telephone-event" */
	uint32_t clock;
	uint8_t channels;       /* 1 when absent */
	struct slice fmtp;      /* a=fmtp parameters for this pt, if any */
};

#define SDP_MAX_MEDIA 8
#define SDP_MAX_FMT 32
struct sdp_media {
	struct slice type;       /* "audio", "video", "image", ... */
	uint16_t port;           /* 0 = rejected/disabled stream */
	uint16_t nports;         /* m=audio 49170/2 -> 2; 1 when absent */
	struct slice proto;      /* "RTP/AVP", "RTP/SAVP", ... */
	struct es_addr addr;     /* media c= or session c=, port = m= port;
				    family ES_AF_NONE when there is no c= */
	uint8_t fmts[SDP_MAX_FMT];
	unsigned nfmt;
	struct sdp_rtpmap maps[SDP_MAX_FMT];
	unsigned nmap;
	int telephone_event_pt;  /* -1 when none */
	enum sdp_dir dir;        /* media attribute, else the session's */
	uint16_t rtcp_port;      /* a=rtcp, else port + 1 (0 when port is 0) */
	bool rtcp_mux;
	struct slice label;      /* a=label (RFC 4574), used by SIPREC */
	struct slice crypto;     /* first a=crypto value (RFC 4568) */
};

struct sdp {
	struct slice origin_user;
	struct slice session_id;
	uint64_t version;
	struct es_addr conn;     /* session-level c= (family NONE if absent) */
	enum sdp_dir dir;        /* session-level direction, default sendrecv */
	struct sdp_media media[SDP_MAX_MEDIA];
	unsigned nmedia;
	bool media_truncated;    /* more than SDP_MAX_MEDIA m= lines */
};

/* Parse an SDP body.  Lenient about unknown lines and LF-only line ends;
 * ES_EPARSE for a body without v= or with a malformed m= or c= line. */
int sdp_parse(struct sdp *s, const char *p, size_t len);
/* The rtpmap of pt in m, or NULL. */
const struct sdp_rtpmap *sdp_rtpmap_find(const struct sdp_media *m, uint8_t pt);
const char *sdp_dir_name(enum sdp_dir d);

#endif /* ES_SIP_H */
