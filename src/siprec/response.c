/* response.c - SIP responses of the recording server, built from the
 * request they answer (RFC 3261 8.2.6). */
#include "siprec/siprec.h"

#include <string.h>

static bool has_tag(struct slice to)
{
	struct slice v;
	/* the tag is a header parameter: after the name-addr's '>' when there is one */
	long gt = sl_index(to, '>');
	struct slice params = gt >= 0 ? sl_sub(to, (size_t)gt + 1, to.len) : to;
	long semi = sl_index(params, ';');
	if (semi < 0)
		return false;
	return sip_param(sl_sub(params, (size_t)semi, params.len), "tag", &v) == 0;
}

int srs_response(const struct sip_msg *req, unsigned code, const char *reason,
		 const char *to_tag, const char *extra, const struct srs_body *body,
		 struct es_buf *out)
{
	if (!req->is_request || !req->call_id.len || !req->from.len || !req->to.len ||
	    !req->cseq_method.len || code < 100 || code > 699)
		return ES_EINVAL;
	es_buf_printf(out, "SIP/2.0 %u %s\r\n", code, reason ? reason : "");
	for (unsigned i = 0; i < req->nhdrs; i++)
		if (req->hdrs[i].id == SIP_H_VIA)
			es_buf_printf(out, "Via: %.*s\r\n", (int)req->hdrs[i].value.len,
				      req->hdrs[i].value.p);
	es_buf_printf(out, "From: %.*s\r\n", (int)req->from.len, req->from.p);
	es_buf_printf(out, "To: %.*s", (int)req->to.len, req->to.p);
	if (to_tag && !has_tag(req->to))
		es_buf_printf(out, ";tag=%s", to_tag);
	es_buf_printf(out, "\r\nCall-ID: %.*s\r\nCSeq: %u %.*s\r\n", (int)req->call_id.len,
		      req->call_id.p, req->cseq, (int)req->cseq_method.len, req->cseq_method.p);
	if (extra)
		es_buf_printf(out, "%s", extra);
	if (body) {
		es_buf_printf(out, "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n", body->type,
			      body->len);
		return es_buf_append(out, body->data, body->len);
	}
	es_buf_printf(out, "Content-Length: 0\r\n\r\n");
	return 0;
}
