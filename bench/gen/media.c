/* media.c - gen_calls: G.711 tone payloads, RTP packets (RFC 3550), RFC 4733
 * telephone events, and RTCP sender reports with SDES (RFC 3550 6.4, 6.5).
 * #included by bench/gen_calls.c (see gen.h). */

/* DTMF layout, in slots from the leg's dtmf_slot: per digit 3 updates and
 * 3 copies of the end packet (RFC 4733 2.5.1.4), then audio until the
 * next digit. */
#define DTMF_UPDATES 3
#define DTMF_ENDS 3
#define DTMF_PERIOD 11 /* slots from one digit to the next */
#define DTMF_SLOTS ((sizeof(GEN_DTMF_DIGITS) - 2) * DTMF_PERIOD + DTMF_UPDATES + DTMF_ENDS)

/* ITU-T G.711 mu-law from 16-bit linear. */
static uint8_t g711_ulaw(int16_t pcm)
{
	int sign = pcm < 0 ? 0x80 : 0;
	int s = pcm < 0 ? -(int)pcm : pcm;
	if (s > 32635)
		s = 32635;
	s += 0x84;
	int exp = 7;
	for (int mask = 0x4000; (s & mask) == 0 && exp > 0; mask >>= 1)
		exp--;
	int mant = (s >> (exp + 3)) & 0x0f;
	return (uint8_t)~(sign | exp << 4 | mant);
}

/* ITU-T G.711 A-law from 16-bit linear (13-bit magnitude segments). */
static uint8_t g711_alaw(int16_t pcm)
{
	int sign = pcm >= 0 ? 0x80 : 0;
	int m = (pcm >= 0 ? pcm : ~pcm) >> 3;
	int seg = 0;
	for (int tmp = m >> 5; tmp; tmp >>= 1)
		seg++;
	int code = seg == 0 ? m >> 1 : seg << 4 | ((m >> seg) & 0x0f);
	return (uint8_t)((code | sign) ^ 0x55);
}

/* 400 Hz from the caller, 500 Hz from the callee, about -10 dBFS: both
 * periods divide 160 samples, so every 20 ms packet has the same bytes. */
static void tones_init(struct gen *g)
{
	for (int law = 0; law < 2; law++)
		for (int side = 0; side < 2; side++)
			for (int i = 0; i < 480; i++) {
				double hz = side ? 500.0 : 400.0;
				int16_t s = (int16_t)(10000.0 * sin(2 * M_PI * hz * i / 8000.0));
				g->tone[law * 2 + side][i] = law ? g711_alaw(s) : g711_ulaw(s);
			}
}

static size_t rtp_put(uint8_t *p, bool marker, uint8_t pt, uint16_t seq, uint32_t ts,
		      uint32_t ssrc)
{
	p[0] = 0x80; /* V=2 */
	p[1] = (uint8_t)((marker ? 0x80 : 0) | pt);
	put16(p + 2, seq);
	put32(p + 4, ts);
	put32(p + 8, ssrc);
	return 12;
}

static uint8_t dtmf_code(char d)
{
	return d == '*' ? 10 : d == '#' ? 11 : (uint8_t)(d - '0');
}

/* Which DTMF packet slot `slot` of leg l carries: digit index and position
 * within the digit, or false for audio. */
static bool dtmf_at(const struct leg *l, uint32_t slot, uint32_t *digit, uint32_t *k)
{
	if (l->dtmf_slot == UINT32_MAX || slot < l->dtmf_slot ||
	    slot >= l->dtmf_slot + DTMF_SLOTS)
		return false;
	*digit = (slot - l->dtmf_slot) / DTMF_PERIOD;
	*k = (slot - l->dtmf_slot) % DTMF_PERIOD;
	return *k < DTMF_UPDATES + DTMF_ENDS;
}

/* Writes the RTP packet of the leg's current slot into p; returns its length
 * and sets pt and dtmf digit index (0xff for audio). */
static size_t rtp_slot_put(const struct gen *g, const struct leg *l, uint8_t *p, uint8_t *pt,
			   uint8_t *dtmf_idx)
{
	uint32_t spp = l->enc ? l->spp : (uint32_t)g->o.ptime_ms * 8;
	uint32_t digit, k;
	if (dtmf_at(l, l->slot, &digit, &k)) {
		uint32_t start = l->dtmf_slot + digit * DTMF_PERIOD;
		bool end = k >= DTMF_UPDATES;
		uint32_t dur = (end ? DTMF_UPDATES + 1 : k + 1) * spp;
		size_t n = rtp_put(p, k == 0, GEN_PT_EVENT, l->seq, l->ts_base + start * spp, l->ssrc);
		p[n] = dtmf_code(GEN_DTMF_DIGITS[digit]);
		p[n + 1] = (uint8_t)((end ? 0x80 : 0) | 10); /* E, volume -10 dBm0 */
		put16(p + n + 2, (uint16_t)dur);
		*pt = GEN_PT_EVENT;
		*dtmf_idx = (uint8_t)digit;
		return n + 4;
	}
	if (l->video_len)
		spp = l->spp;
	size_t n = rtp_put(p, l->slot == l->st_first_slot, l->pt, l->seq, l->ts_base + l->slot * spp,
			   l->ssrc);
	*pt = l->pt;
	*dtmf_idx = 0xff;
	if (l->enc) {
		uint32_t i = l->slot % l->enc->npkts;
		uint32_t len = l->enc->off[i + 1] - l->enc->off[i];
		memcpy(p + n, l->enc->data + l->enc->off[i], len);
		return n + len;
	}
	if (l->video_len) {
		memcpy(p + n, l->payload, l->video_len);
		return n + l->video_len;
	}
	memcpy(p + n, l->payload, spp);
	return n + spp;
}

/* The RTP timestamp of leg l at capture time t (RTCP SR): its clock runs
 * from t_start, l->drift faster with --drift. */
static uint32_t rtp_ts_at(const struct leg *l, int64_t t, uint32_t clock)
{
	int64_t elapsed = t - l->t_start;
	if (l->drift != 0)
		return l->ts_base + (uint32_t)(int64_t)((double)elapsed * clock * l->drift / 1e6);
	return l->ts_base + (uint32_t)(elapsed * clock / 1000000);
}

/* RFC 3550 6.4.1 SR with one report block about the peer's stream (when
 * there is one), then an SDES with the CNAME (6.5.1). */
static size_t rtcp_put(const struct gen *g, struct leg *l, struct leg *peer, int64_t t,
		       const char *cname, uint8_t *p)
{
	bool rb = peer->st != NULL && peer->gen_sent > 0;
	size_t n = 28 + (rb ? 24 : 0);
	p[0] = (uint8_t)(0x80 | (rb ? 1 : 0));
	p[1] = 200;
	put16(p + 2, (uint16_t)(n / 4 - 1));
	put32(p + 4, l->ssrc);
	uint64_t sec = (uint64_t)(t / ES_US_PER_SEC) + UINT64_C(2208988800);
	uint64_t frac = ((uint64_t)(t % ES_US_PER_SEC) << 32) / 1000000;
	put32(p + 8, (uint32_t)sec);
	put32(p + 12, (uint32_t)frac);
	uint32_t clock = l->enc ? l->spp * 1000 / (uint32_t)g->o.ptime_ms : 8000;
	put32(p + 16, rtp_ts_at(l, t, clock));
	put32(p + 20, l->sent_pkts);
	put32(p + 24, l->sent_octets);
	if (rb) {
		uint8_t *r = p + 28;
		uint32_t exp_int = peer->gen_sent - peer->rr_expected_prior;
		uint32_t rcv_int = peer->gen_kept - peer->rr_received_prior;
		int64_t lost_int = (int64_t)exp_int - rcv_int;
		uint8_t fraction = exp_int == 0 || lost_int <= 0 ? 0
				   : (uint8_t)ES_MIN(255, (lost_int << 8) / exp_int);
		int32_t cum = (int32_t)peer->gen_sent - (int32_t)peer->gen_kept;
		peer->rr_expected_prior = peer->gen_sent;
		peer->rr_received_prior = peer->gen_kept;
		put32(r, peer->ssrc);
		put32(r + 4, (uint32_t)fraction << 24 | ((uint32_t)cum & 0xffffff));
		put32(r + 8, (uint16_t)(peer->seq - 1));
		/* a rough interarrival jitter, in the peer's clock */
		uint32_t pclock = peer->enc ? peer->spp * 1000 / (uint32_t)g->o.ptime_ms : 8000;
		put32(r + 12, (uint32_t)((uint64_t)g->o.jitter_ms * pclock / 3000));
		put32(r + 16, 0);
		put32(r + 20, 0);
	}
	/* SDES: one chunk, CNAME, END, padded to a 32-bit boundary */
	uint8_t *s = p + n;
	size_t clen = strlen(cname);
	size_t slen = (8 + 2 + clen + 1 + 3) & ~(size_t)3;
	memset(s, 0, slen);
	s[0] = 0x81;
	s[1] = 202;
	put16(s + 2, (uint16_t)(slen / 4 - 1));
	put32(s + 4, l->ssrc);
	s[8] = 1;
	s[9] = (uint8_t)clen;
	memcpy(s + 10, cname, clen);
	return n + slen;
}
