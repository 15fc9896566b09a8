/*
 * siprec.h - the SIPREC recording server (RFC 7866), the parts that stand
 * on their own so far: the RTP port pool and the SDP answer to a recording
 * session's offer.  The SIP user agent server that uses them is not built
 * yet (issue #5).
 */
#ifndef ES_SIPREC_H
#define ES_SIPREC_H

#include "core/core.h"
#include "sip/sip.h"

/* ---- RTP port pool ---------------------------------------------------------
 * Even ports of [lo, hi] for RTP, each with the next odd one for RTCP.  A
 * port given back is reused last (round robin), so that late packets of a
 * finished session do not reach the next one. */
struct srs_ports;
/* ES_EINVAL when the range holds no even/odd pair. */
int srs_ports_new(struct srs_ports **out, uint16_t lo, uint16_t hi);
void srs_ports_free(struct srs_ports *p);
/* An RTP port (even); ES_ELIMIT when every pair is taken. */
int srs_ports_take(struct srs_ports *p, uint16_t *port);
/* Give a port back; a port not taken (or out of range) is ignored. */
void srs_ports_give(struct srs_ports *p, uint16_t port);
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
};
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

#endif /* ES_SIPREC_H */
