/*
 * pcap_rebuild.c - a call's raw data (raw.c) written back as a capture
 * file: pcapng (draft-ietf-opsawg-pcapng) with raw IP frames (LINKTYPE_RAW,
 * IPv4 and IPv6), one Enhanced Packet Block per SIP message and RTP packet,
 * at its capture time.  The file is rebuilt, not captured, and its section
 * header's comment says so: RTP keeps its original addresses, ports,
 * sequence numbers, timestamps, SSRC, marker, payload type and payload
 * bytes; what the media log never kept (RTCP, video, header extensions,
 * CSRCs, padding, audio that a pause or missing consent kept out of the
 * spool, link layers, IP options) is not there, and SIP that came over
 * TCP, TLS, WebSocket or SCTP is written as SIP over TCP.
 */
#include "record/record_internal.h"

#include <stdlib.h>
#include <string.h>

#define PCAPNG_SHB 0x0A0D0D0Au
#define PCAPNG_IDB 1u
#define PCAPNG_EPB 6u
#define PCAPNG_MAGIC 0x1A2B3C4Du
#define LINKTYPE_RAW 101 /* raw IPv4 or IPv6, told apart by the version */
#define RAW_MAX_FLOWS 32 /* TCP directions with their own sequence numbers */

static const char rebuilt_comment[] =
	"Rebuilt by earshot from the call's stored raw data (its media log), not "
	"captured. RTP: original addresses, ports, capture times, sequence numbers, "
	"timestamps, SSRC, marker, payload type and payload bytes. Not included: "
	"RTCP, video, RTP header extensions, CSRCs and padding, audio kept out of "
	"the recording (PCI pause, missing consent), link-layer headers and IP "
	"options. SIP over TCP, TLS, WebSocket or SCTP is written as SIP over TCP "
	"(TLS decrypted).";

struct raw_stream {
	uint32_t ssrc;
	bool have_addr;
	struct es_addr src, dst;
};

struct raw_flow {
	struct es_addr src, dst;
	uint32_t seq;
};

struct pcap_w {
	FILE *f;
	uint16_t ip_id;
	struct raw_flow flows[RAW_MAX_FLOWS];
	unsigned nflows;
	uint8_t pkt[65536 + 64];
	struct rec_pcap_stats *st;
};

static void le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
	be16(p, (uint16_t)(v >> 16));
	be16(p + 2, (uint16_t)v);
}

static bool w_put(struct pcap_w *w, const void *p, size_t n)
{
	return fwrite(p, 1, n, w->f) == n;
}

/* Section header with the comment that says the file was rebuilt, then the
 * one interface (raw IP, microsecond times: if_tsresol's default). */
static bool write_head(struct pcap_w *w)
{
	static const char appl[] = "earshot";
	size_t clen = sizeof(rebuilt_comment) - 1, alen = sizeof(appl) - 1;
	size_t opts = 4 + ((clen + 3) & ~(size_t)3) + 4 + ((alen + 3) & ~(size_t)3) + 4;
	uint32_t total = (uint32_t)(28 + opts);
	uint8_t b[1024] = {0};
	if (total > sizeof(b))
		return false;
	le32(b, PCAPNG_SHB);
	le32(b + 4, total);
	le32(b + 8, PCAPNG_MAGIC);
	b[12] = 1; /* major 1, minor 0 */
	memset(b + 16, 0xff, 8); /* section length: unknown */
	size_t o = 24;
	b[o] = 1; /* opt_comment */
	b[o + 2] = (uint8_t)clen;
	b[o + 3] = (uint8_t)(clen >> 8);
	memcpy(b + o + 4, rebuilt_comment, clen);
	o += 4 + ((clen + 3) & ~(size_t)3);
	b[o] = 4; /* shb_userappl */
	b[o + 2] = (uint8_t)alen;
	memcpy(b + o + 4, appl, alen);
	o += 4 + ((alen + 3) & ~(size_t)3);
	o += 4; /* opt_endofopt */
	le32(b + o, total);
	uint8_t idb[20] = {0};
	le32(idb, PCAPNG_IDB);
	le32(idb + 4, sizeof(idb));
	idb[8] = LINKTYPE_RAW;
	le32(idb + 12, 262144); /* snaplen */
	le32(idb + 16, sizeof(idb));
	return w_put(w, b, total) && w_put(w, idb, sizeof(idb));
}

static bool write_epb(struct pcap_w *w, int64_t ts_us, const uint8_t *p, size_t n)
{
	uint8_t h[28] = {0}, pad[4] = {0}, tail[4];
	size_t padded = (n + 3) & ~(size_t)3;
	uint32_t total = (uint32_t)(28 + padded + 4);
	uint64_t ts = (uint64_t)(ts_us < 0 ? 0 : ts_us);
	le32(h, PCAPNG_EPB);
	le32(h + 4, total);
	le32(h + 12, (uint32_t)(ts >> 32));
	le32(h + 16, (uint32_t)ts);
	le32(h + 20, (uint32_t)n);
	le32(h + 24, (uint32_t)n);
	le32(tail, total);
	return w_put(w, h, sizeof(h)) && w_put(w, p, n) && w_put(w, pad, padded - n) &&
	       w_put(w, tail, sizeof(tail));
}

/* RFC 1071 one's-complement sum. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)(p[n - 1] << 8);
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* An IP header for src -> dst carrying l4len bytes of protocol proto at
 * w->pkt; returns its length (20 or 40) and the pseudo-header's sum for the
 * UDP/TCP checksum (RFC 768, RFC 9293 3.1, RFC 8200 8.1). */
static size_t ip_header(struct pcap_w *w, const struct es_addr *src, const struct es_addr *dst,
			uint8_t proto, size_t l4len, uint32_t *pseudo)
{
	uint8_t *p = w->pkt;
	uint8_t ph[40] = {0};
	if (src->family == ES_AF_INET6) {
		memset(p, 0, 40);
		p[0] = 0x60;
		be16(p + 4, (uint16_t)l4len);
		p[6] = proto;
		p[7] = 64;
		memcpy(p + 8, src->ip, 16);
		memcpy(p + 24, dst->ip, 16);
		memcpy(ph, src->ip, 16);
		memcpy(ph + 16, dst->ip, 16);
		*pseudo = csum_add(0, ph, 32) + (uint32_t)l4len + proto;
		return 40;
	}
	memset(p, 0, 20);
	p[0] = 0x45;
	be16(p + 2, (uint16_t)(20 + l4len));
	be16(p + 4, w->ip_id++);
	p[8] = 64;
	p[9] = proto;
	memcpy(p + 12, src->ip, 4);
	memcpy(p + 16, dst->ip, 4);
	be16(p + 10, csum_fold(csum_add(0, p, 20)));
	memcpy(ph, src->ip, 4);
	memcpy(ph + 4, dst->ip, 4);
	*pseudo = csum_add(0, ph, 8) + (uint32_t)l4len + proto;
	return 20;
}

/* One UDP datagram: head (may be NULL) and body as its payload. */
static bool write_udp(struct pcap_w *w, int64_t ts_us, const struct es_addr *src,
		      const struct es_addr *dst, const uint8_t *head, size_t hlen,
		      const uint8_t *body, size_t blen)
{
	size_t l4 = 8 + hlen + blen;
	if (l4 > 65535 - 40)
		return true; /* cannot be one datagram: counted by the caller */
	uint32_t pseudo;
	size_t ih = ip_header(w, src, dst, NET_PROTO_UDP, l4, &pseudo);
	uint8_t *u = w->pkt + ih;
	be16(u, src->port);
	be16(u + 2, dst->port);
	be16(u + 4, (uint16_t)l4);
	be16(u + 6, 0);
	if (hlen)
		memcpy(u + 8, head, hlen);
	memcpy(u + 8 + hlen, body, blen);
	uint16_t c = csum_fold(csum_add(pseudo, u, l4));
	be16(u + 6, c ? c : 0xffff); /* RFC 768: 0 means none */
	return write_epb(w, ts_us, w->pkt, ih + l4);
}

/* One TCP segment with the whole message, sequence numbers per direction
 * (no handshake: Wireshark's SIP dissector reads it all the same). */
static bool write_tcp(struct pcap_w *w, int64_t ts_us, const struct es_addr *src,
		      const struct es_addr *dst, const uint8_t *body, size_t blen)
{
	size_t l4 = 20 + blen;
	if (l4 > 65535 - 40)
		return true;
	struct raw_flow *fl = NULL;
	for (unsigned i = 0; i < w->nflows && !fl; i++)
		if (es_addr_eq(&w->flows[i].src, src) && es_addr_eq(&w->flows[i].dst, dst))
			fl = &w->flows[i];
	if (!fl) {
		fl = &w->flows[w->nflows < RAW_MAX_FLOWS ? w->nflows++ : RAW_MAX_FLOWS - 1];
		*fl = (struct raw_flow){.src = *src, .dst = *dst, .seq = 1};
	}
	uint32_t pseudo;
	size_t ih = ip_header(w, src, dst, NET_PROTO_TCP, l4, &pseudo);
	uint8_t *t = w->pkt + ih;
	memset(t, 0, 20);
	be16(t, src->port);
	be16(t + 2, dst->port);
	be32(t + 4, fl->seq);
	t[12] = 5 << 4;
	t[13] = 0x18; /* PSH, ACK */
	be16(t + 14, 65535);
	memcpy(t + 20, body, blen);
	be16(t + 16, csum_fold(csum_add(pseudo, t, l4)));
	fl->seq += (uint32_t)blen;
	return write_epb(w, ts_us, w->pkt, ih + l4);
}

int rec_raw_pcap(struct mlog_reader *r, FILE *out, struct rec_pcap_stats *st, char *err,
		 size_t errlen)
{
	struct pcap_w *w = calloc(1, sizeof(*w));
	struct raw_stream *streams = NULL;
	size_t nstreams = 0;
	int rc = 0;
	struct rec_pcap_stats local = {0};
	if (!st)
		st = &local;
	*st = (struct rec_pcap_stats){0};
	if (!w)
		return ES_ENOMEM;
	w->f = out;
	w->st = st;
	if (!write_head(w)) {
		rc = es_errf(err, errlen, ES_EIO, "cannot write the capture's header");
		goto out;
	}
	struct mlog_rec rec;
	int got;
	while ((got = mlog_next(r, &rec, err, errlen)) == 1) {
		bool ok = true;
		if (rec.type == MLOG_REC_STREAM) {
			if (rec.stream != nstreams)
				continue; /* declared in order: anything else is not ours */
			struct raw_stream *n = realloc(streams, (nstreams + 1) * sizeof(*n));
			if (!n) {
				rc = ES_ENOMEM;
				goto out;
			}
			streams = n;
			streams[nstreams++] = (struct raw_stream){.ssrc = rec.ssrc};
		} else if (rec.type == MLOG_REC_ADDR && rec.stream < nstreams) {
			streams[rec.stream].have_addr = true;
			streams[rec.stream].src = rec.src;
			streams[rec.stream].dst = rec.dst;
		} else if (rec.type == MLOG_REC_SIP) {
			if (rec.src.family != rec.dst.family) {
				st->skipped++;
				continue;
			}
			ok = rec.proto == NET_PROTO_UDP
				     ? write_udp(w, rec.ts_us, &rec.src, &rec.dst, NULL, 0,
						 rec.payload, rec.len)
				     : write_tcp(w, rec.ts_us, &rec.src, &rec.dst, rec.payload,
						 rec.len);
			st->sip++;
		} else if (rec.type == MLOG_REC_RTP) {
			const struct raw_stream *s = rec.stream < nstreams ? &streams[rec.stream] : NULL;
			if (!s || !s->have_addr || s->src.family != s->dst.family ||
			    rec.len > 65535 - 40 - 8 - 12) {
				st->skipped++;
				continue;
			}
			/* RFC 3550 5.1: V=2, no padding, extension or CSRC */
			uint8_t h[12];
			h[0] = 0x80;
			h[1] = (uint8_t)(rec.pt | (rec.marker ? 0x80 : 0));
			be16(h + 2, rec.seq);
			be32(h + 4, rec.rtp_ts);
			be32(h + 8, s->ssrc);
			ok = write_udp(w, rec.ts_us, &s->src, &s->dst, h, sizeof(h), rec.payload,
				       rec.len);
			st->rtp++;
		}
		if (!ok) {
			rc = es_errf(err, errlen, ES_EIO, "cannot write the capture");
			goto out;
		}
	}
	if (got < 0)
		rc = got;
	else if (fflush(out))
		rc = es_errf(err, errlen, ES_EIO, "cannot write the capture");
out:
	free(streams);
	free(w);
	return rc;
}
