/* fuzz_sdp.c - libFuzzer harness for sdp_parse; the input is copied into an
 * exactly sized heap buffer so that ASan catches any over-read. */
#include "sip/sip.h"

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
	}
out:
	free(s);
	free(p);
	return 0;
}
