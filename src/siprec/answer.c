/* answer.c - the recording server's SDP answer: receive only, the offered
 * codecs earshot decodes, the offer's labels kept. */
#include "codec/codec.h"
#include "siprec/siprec.h"

#include <stdio.h>
#include <string.h>

/* Whether earshot can decode payload type pt as the media line maps it. */
static bool decodable(const struct sdp_media *m, uint8_t pt, bool *te)
{
	const struct sdp_rtpmap *map = sdp_rtpmap_find(m, pt);
	struct codec_info ci;
	*te = false;
	if (map && map->encoding.len) {
		char name[32];
		sl_copy(name, sizeof(name), map->encoding);
		if (codec_lookup(name, map->clock, map->channels, &ci))
			return false;
	} else if (codec_static(pt, &ci)) {
		return false;
	}
	*te = ci.id == CODEC_TELEPHONE_EVENT;
	return ci.audio || *te;
}

static void put_map(struct es_buf *out, const struct sdp_media *m, uint8_t pt)
{
	const struct sdp_rtpmap *map = sdp_rtpmap_find(m, pt);
	if (!map || !map->encoding.len)
		return; /* a static type needs no rtpmap */
	es_buf_printf(out, "a=rtpmap:%u %.*s/%u", pt, (int)map->encoding.len, map->encoding.p,
		      map->clock);
	if (map->channels > 1)
		es_buf_printf(out, "/%u", map->channels);
	es_buf_printf(out, "\r\n");
	if (map->fmtp.len)
		es_buf_printf(out, "a=fmtp:%u %.*s\r\n", pt, (int)map->fmtp.len, map->fmtp.p);
}

bool srs_sdp_stream_ok(const struct sdp_media *m)
{
	if (!sl_eq_str_ci(m->type, "audio") || m->port == 0)
		return false;
	for (unsigned f = 0; f < m->nfmt; f++) {
		bool te;
		if (decodable(m, m->fmts[f], &te) && !te)
			return true;
	}
	return false;
}

int srs_sdp_answer(const struct sdp *offer, const uint16_t *ports, unsigned nports,
		   const struct srs_answer_opts *o, struct es_buf *out, unsigned *accepted)
{
	if (nports < offer->nmedia || !o->addr)
		return ES_EINVAL;
	const char *ipv = strchr(o->addr, ':') ? "IP6" : "IP4";
	*accepted = 0;
	es_buf_printf(out, "v=0\r\no=earshot %llu %llu IN %s %s\r\ns=earshot\r\nc=IN %s %s\r\nt=0 0\r\n",
		      (unsigned long long)o->session_id, (unsigned long long)o->version, ipv,
		      o->addr, ipv, o->addr);
	for (unsigned i = 0; i < offer->nmedia; i++) {
		const struct sdp_media *m = &offer->media[i];
		uint8_t keep[SDP_MAX_FMT];
		unsigned nkeep = 0;
		bool audio = sl_eq_str_ci(m->type, "audio") && m->port != 0 && ports[i] != 0;
		bool any_audio = false;
		for (unsigned f = 0; audio && f < m->nfmt; f++) {
			bool te;
			if (decodable(m, m->fmts[f], &te)) {
				keep[nkeep++] = m->fmts[f];
				any_audio |= !te;
			}
		}
		bool accept = audio && any_audio;
		/* a rejected stream keeps the offer's media type, proto and first format */
		es_buf_printf(out, "m=%.*s %u %.*s", (int)m->type.len, m->type.p,
			      accept ? ports[i] : 0, (int)m->proto.len, m->proto.p);
		if (accept) {
			for (unsigned k = 0; k < nkeep; k++)
				es_buf_printf(out, " %u", keep[k]);
		} else {
			es_buf_printf(out, " %u", m->nfmt ? m->fmts[0] : 0);
		}
		es_buf_printf(out, "\r\n");
		if (accept) {
			for (unsigned k = 0; k < nkeep; k++)
				put_map(out, m, keep[k]);
			es_buf_printf(out, "a=recvonly\r\n");
			if (o->crypto && o->crypto[i])
				es_buf_printf(out, "a=crypto:%s\r\n", o->crypto[i]);
			(*accepted)++;
		}
		if (m->label.len)
			es_buf_printf(out, "a=label:%.*s\r\n", (int)m->label.len, m->label.p);
	}
	return 0;
}
