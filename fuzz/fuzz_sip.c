/* fuzz_sip.c - libFuzzer harness: SIP message parsing, headers, name-addr,
 * URIs, multipart bodies and stream framing.  Input is copied into an
 * exactly sized heap buffer so that ASan catches any over-read. */
#include "sip/sip.h"
#include "siprec/siprec.h"

#include <stdlib.h>
#include <string.h>

static volatile size_t sink;

static void touch(struct slice s)
{
	if (s.len)
		sink += (unsigned char)s.p[0] + (unsigned char)s.p[s.len - 1];
}

static void nameaddr(struct slice v)
{
	struct sip_nameaddr na;
	if (sip_nameaddr_parse(v, &na) == 0) {
		touch(na.display);
		touch(na.uri);
		touch(na.u.host);
		touch(na.tag);
		struct slice pv;
		if (sip_param(na.params, "expires", &pv) == 0)
			touch(pv);
		if (sip_param(na.u.params, "transport", &pv) == 0)
			touch(pv);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size ? size : 1);
	if (!p)
		return 0;
	memcpy(p, data, size);
	sink += sip_looks_like((const uint8_t *)p, size);

	struct sip_msg *m = malloc(sizeof(*m));
	if (m && sip_msg_parse(m, p, size) == 0) {
		for (unsigned i = 0; i < m->nhdrs; i++) {
			touch(m->hdrs[i].name);
			touch(m->hdrs[i].value);
		}
		touch(sip_msg_hdr(m, SIP_H_CONTACT));
		touch(sip_msg_hdr_name(m, "refer-to"));
		touch(sip_msg_hdr_name(m, "X-Unknown"));
		nameaddr(m->from);
		nameaddr(m->to);
		nameaddr(sip_msg_hdr(m, SIP_H_CONTACT));
		nameaddr(sip_msg_hdr(m, SIP_H_PAI));
		struct sip_uri u;
		if (m->is_request && sip_uri_parse(m->ruri, &u) == 0)
			touch(u.host);
		/* the recording server's response to it must parse back */
		struct es_buf r;
		es_buf_init(&r);
		struct sip_msg *back = malloc(sizeof(*back));
		if (back && srs_response(m, 488, "Not Acceptable Here", "t1", NULL, NULL, &r) == 0 &&
		    sip_msg_parse(back, (const char *)r.p, r.len) != 0)
			__builtin_trap();
		free(back);
		es_buf_free(&r);
		if (m->content_type.len && m->body.len) {
			struct sip_part parts[SIP_MAX_PARTS];
			unsigned n;
			if (sip_multipart_parse(m->content_type, m->body, parts, SIP_MAX_PARTS, &n) == 0)
				for (unsigned i = 0; i < n; i++) {
					touch(parts[i].content_type);
					touch(parts[i].body);
				}
			struct slice sdpb;
			if (sip_body_find(m->content_type, m->body, "application/sdp", &sdpb) == 0) {
				struct sdp *s = malloc(sizeof(*s));
				if (s && sdp_parse(s, sdpb.p, sdpb.len) == 0)
					sink += s->nmedia;
				free(s);
			}
		}
	}
	free(m);

	/* stream framing: consume messages until more data is needed */
	size_t off = 0;
	while (off < size) {
		size_t skip, len;
		int err = sip_frame(p + off, size - off, 4096, &skip, &len);
		if (err == ES_EPARSE) {
			off++; /* resync */
			continue;
		}
		if (err)
			break;
		if (skip + len == 0)
			__builtin_trap(); /* must make progress */
		off += skip + len;
	}
	free(p);
	return 0;
}
