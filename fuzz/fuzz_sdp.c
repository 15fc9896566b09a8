/* fuzz_sdp.c - libFuzzer harness for sdp_parse, and for the recording
 * server's SDP answer built from what it parsed; the input is copied into
 * an exactly sized heap buffer so that ASan catches any over-read. */
#include "sip/sip.h"
#include "siprec/siprec.h"

#include <stdlib.h>
#include <string.h>

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size ? size : 1);
	struct sdp *s = malloc(sizeof(*s));
	if (!p || !s)
		goto out;
	memcpy(p, data, size);
	if (sdp_parse(s, p, size) == 0) {
		if (s->nmedia > SDP_MAX_MEDIA)
			__builtin_trap();
		for (unsigned i = 0; i < s->nmedia; i++) {
			const struct sdp_media *md = &s->media[i];
			if (md->nfmt > SDP_MAX_FMT || md->nmap > SDP_MAX_FMT)
				__builtin_trap();
			for (unsigned k = 0; k < md->nfmt; k++) {
				const struct sdp_rtpmap *r = sdp_rtpmap_find(md, md->fmts[k]);
				if (r && r->encoding.len)
					sink += (unsigned char)r->encoding.p[r->encoding.len - 1] + r->fmtp.len;
			}
			sink += strlen(sdp_dir_name(md->dir)) + md->label.len + md->crypto.len;
		}
		uint16_t ports[SDP_MAX_MEDIA] = {30000, 30002, 0, 30006, 30008, 30010, 30012, 30014};
		struct srs_answer_opts o = {.addr = "192.0.2.10", .session_id = 1, .version = 1};
		struct es_buf ans;
		struct sdp *back = malloc(sizeof(*back));
		unsigned accepted;
		es_buf_init(&ans);
		/* the answer must parse back with as many media lines */
		if (back && srs_sdp_answer(s, ports, SDP_MAX_MEDIA, &o, &ans, &accepted) == 0 &&
		    sdp_parse(back, (const char *)ans.p, ans.len) == 0 && back->nmedia != s->nmedia)
			__builtin_trap();
		es_buf_free(&ans);
		free(back);
	}
out:
	free(s);
	free(p);
	return 0;
}
