/* fuzz_multipart.c - libFuzzer harness for multipart bodies (RFC 2046) as
 * a SIPREC client sends them: the first line of the input is the
 * Content-Type header value, the rest the body.  Each part is split out
 * with sip_multipart_parse, the SDP and the recording metadata are found
 * with sip_body_find and handed to their parsers, as the engine and the
 * recording server do.  The input is copied into an exactly sized heap
 * buffer so that ASan catches any over-read. */
#include "sip/rsmeta.h"
#include "sip/sip.h"

#include <stdlib.h>
#include <string.h>

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	const char *nl = memchr(buf, '\n', size);
	size_t ctl = nl ? (size_t)(nl - buf) : size;
	struct slice ct = {buf, ctl};
	struct slice body = {nl ? nl + 1 : buf + size, nl ? size - ctl - 1 : 0};

	struct sip_part parts[SIP_MAX_PARTS];
	unsigned n = 0;
	int perr = sip_multipart_parse(ct, body, parts, SIP_MAX_PARTS, &n);
	if (perr == 0 || perr == ES_ETRUNC) {
		if (n > SIP_MAX_PARTS)
			__builtin_trap();
		for (unsigned i = 0; i < n; i++) {
			/* every part lies inside the body */
			if (parts[i].body.len &&
			    (parts[i].body.p < body.p ||
			     parts[i].body.p + parts[i].body.len > body.p + body.len))
				__builtin_trap();
			sink += parts[i].content_type.len;
		}
	}
	struct slice sdp_body, xml;
	if (sip_body_find(ct, body, "application/sdp", &sdp_body) == 0) {
		struct sdp sdp;
		if (sdp_parse(&sdp, sdp_body.p, sdp_body.len) == 0)
			sink += sdp.nmedia;
	}
	if (sip_body_find(ct, body, "application/rs-metadata+xml", &xml) == 0) {
		struct rsmeta m;
		char err[128];
		if (rsmeta_parse(&m, xml.p, xml.len, err, sizeof(err)) == 0)
			sink += m.nparts + m.nstreams + (m.call_id ? strlen(m.call_id) : 0);
		rsmeta_free(&m);
	}
	free(buf);
	return 0;
}
