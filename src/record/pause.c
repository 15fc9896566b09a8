/*
 * pause.c - PCI DSS pause/resume and DTMF masking of calls in progress.
 *
 * A paused call's RTP is still counted (statistics, DTMF) but none of it
 * reaches the spool: the frames are dropped before the media log sees
 * them, so a card number spoken or keyed during the pause is never on
 * disk, not even encrypted.  The recording has silence over the span (the
 * renderer fills gaps), and the call gets "pause"/"resume" events saying
 * who or what caused them.  A pause comes from a command (control.c: the
 * API or the CLI), a DTMF key sequence of the call's rule (RFC 4733 events
 * and SIP INFO alike), and ends by command, sequence or max_pause.
 *
 * mask_dtmf: a DTMF event keeps its time and duration but its digit is
 * stored as '*', the telephone-event packets are not spooled (RFC 4733 2.5:
 * the payload names the key) and the sender's audio during the key's tone
 * is dropped too (a phone may send the tone in band as well).  Keys typed
 * while paused are masked whatever the rule says.
 */
#include "record/record_internal.h"

#include <stdio.h>
#include <string.h>

/* Keys further apart than this do not form a sequence. */
#define PZ_KEY_GAP_US (5 * ES_US_PER_SEC)
/* A sender's audio stays muted this long after its last telephone-event
 * packet: RFC 4733 2.5.1.4 repeats the end packet and a sender resumes
 * audio a packet or two later. */
#define PZ_MUTE_TAIL_US (120 * 1000)

void rec_pause_init(struct rec_call *rc, const struct pol_pci *pci)
{
	memset(&rc->pz, 0, sizeof(rc->pz));
	if (pci)
		rc->pz.pci = *pci;
}

int rec_pause_set(struct rec_call *rc, bool pause, int party, const char *by, int64_t now_us)
{
	struct rec_pause *pz = &rc->pz;
	if (pz->paused == pause)
		return ES_EEXIST;
	pz->paused = pause;
	if (pause)
		pz->since_us = now_us;
	else
		pz->resumed_us = now_us;
	pz->keys[0] = 0;
	/* the events are looked at for DTMF from ev_seen on: these are not */
	bool caught_up = pz->ev_seen == rc->sip->nevents;
	sip_call_add_event(rc->sip, now_us, party, pause ? "pause" : "resume", by);
	if (caught_up)
		pz->ev_seen = rc->sip->nevents;
	return 0;
}

void rec_pause_tick(struct rec_call *rc, int64_t now_us)
{
	const struct rec_pause *pz = &rc->pz;
	if (pz->paused && pz->pci.max_pause_us && now_us - pz->since_us >= pz->pci.max_pause_us)
		rec_pause_set(rc, false, -1, "auto:max_pause", pz->since_us + pz->pci.max_pause_us);
}

bool rec_pause_drop(struct rec_call *rc, int sender, bool te, int64_t ts_us)
{
	struct rec_pause *pz = &rc->pz;
	/* by capture time: a command takes effect at the wall clock, while
	 * frames captured before it may still wait in a worker's queue */
	if (pz->paused || ts_us < pz->resumed_us)
		return true;
	if (!pz->pci.mask_dtmf || sender < 0 || sender > 1)
		return false;
	if (te) {
		pz->mute_until_us[sender] = ts_us + PZ_MUTE_TAIL_US;
		return true;
	}
	return ts_us < pz->mute_until_us[sender];
}

/* pause_fill = tone: a soft 400 Hz tone (amplitude 1000 of 32767, about
 * -30 dBFS; one period is 20 samples at 8 kHz), encoded once in G.711
 * mu-law and A-law (ITU-T G.711 tables 2 and 1) and kept as constants. */
static const uint8_t tone_ulaw[20] = {0xFF, 0xE4, 0xD9, 0xD2, 0xCF, 0xCE, 0xCF, 0xD2, 0xD9, 0xE4,
				      0xFF, 0x64, 0x59, 0x52, 0x4F, 0x4E, 0x4F, 0x52, 0x59, 0x64};
static const uint8_t tone_alaw[20] = {0xD5, 0xC6, 0xF7, 0xFC, 0xF8, 0xFA, 0xF8, 0xFC, 0xF7, 0xC6,
				      0xD5, 0x46, 0x77, 0x7C, 0x78, 0x7A, 0x78, 0x7C, 0x77, 0x46};

bool rec_pause_fill(const struct rec_call *rc, const struct rtp_hdr *h, bool te,
		    struct rtp_hdr *out, uint8_t *buf, size_t cap)
{
	/* only over a pause, and only where the codec is known without a
	 * decoder: the static G.711 types (RFC 3551 6); others stay silent */
	if (!rc->pz.paused || !rc->pz.pci.fill_tone || te || (h->pt != 0 && h->pt != 8) ||
	    h->payload_len > cap)
		return false;
	const uint8_t *t = h->pt == 0 ? tone_ulaw : tone_alaw;
	for (size_t i = 0; i < h->payload_len; i++)
		buf[i] = t[(h->ts + i) % 20]; /* the phase follows the RTP clock */
	*out = *h;
	out->payload = buf;
	return true;
}

/* The key of a "dtmf" event's detail ("digit=5 duration_ms=160"; SIP INFO
 * may say 10 for '*' and 11 for '#'), 0 when none; *vp, *vn the value's
 * place in the detail. */
static char event_key(const char *detail, size_t *vp, size_t *vn)
{
	static const char pfx[] = "digit=";
	if (strncmp(detail, pfx, sizeof(pfx) - 1))
		return 0;
	*vp = sizeof(pfx) - 1;
	*vn = strcspn(detail + *vp, " ");
	const char *v = detail + *vp;
	if (*vn == 1 && strchr("0123456789*#ABCDabcd", v[0]))
		return v[0] >= 'a' ? (char)(v[0] - 'a' + 'A') : v[0];
	if (*vn == 2 && v[0] == '1' && (v[1] == '0' || v[1] == '1'))
		return v[1] == '0' ? '*' : '#';
	return 0;
}

/* "digit=5 duration_ms=160" -> "digit=* duration_ms=160". */
static void mask_detail(char *detail, size_t cap, size_t vp, size_t vn)
{
	if (vp >= cap)
		return;
	/* the value shrinks to one '*': move the rest left over it */
	if (!vn || vp + vn >= cap)
		return;
	size_t rest = strnlen(detail + vp + vn, cap - vp - vn - 1);
	detail[vp] = '*';
	memmove(detail + vp + 1, detail + vp + vn, rest + 1);
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);
	return t && n >= t && !memcmp(s + n - t, tail, t);
}

/* A key of party at ts, seen at now (an RFC 4733 event is known at its
 * end): a pause begins when it is known, so that no frame after the event
 * says "paused" was written. */
static void key_typed(struct rec_call *rc, char key, int party, int64_t ts, int64_t now)
{
	struct rec_pause *pz = &rc->pz;
	size_t n = strlen(pz->keys);
	if (n && ts - pz->key_us > PZ_KEY_GAP_US)
		n = 0;
	if (n == POL_DTMF_SEQ_MAX) {
		memmove(pz->keys, pz->keys + 1, n - 1);
		n--;
	}
	pz->keys[n++] = key;
	pz->keys[n] = 0;
	pz->key_us = ts;
	const char *seq = pz->paused ? pz->pci.resume_dtmf : pz->pci.pause_dtmf;
	if (!ends_with(pz->keys, seq))
		return;
	char by[24];
	snprintf(by, sizeof(by), "dtmf:%s", seq);
	rec_pause_set(rc, !pz->paused, party, by, ES_MAX(ts, now));
}

void rec_pause_events(struct rec_call *rc, int64_t now_us)
{
	struct rec_pause *pz = &rc->pz;
	struct sip_call *sc = rc->sip;
	while (pz->ev_seen < sc->nevents) {
		struct sip_call_event *ev = &sc->events[pz->ev_seen++];
		if (strcmp(ev->kind, "dtmf"))
			continue;
		size_t vp = 0, vn = 0;
		char key = event_key(ev->detail, &vp, &vn);
		/* a key typed while paused is masked, the resume sequence too */
		if (vn && (pz->pci.mask_dtmf || pz->paused))
			mask_detail(ev->detail, sizeof(ev->detail), vp, vn);
		if (key)
			key_typed(rc, key, ev->party, ev->ts_us, now_us);
	}
}

/* ---- commands (control.c) ------------------------------------------------------------ */

int rec_engine_command(struct rec_engine *e, const struct rec_cmd *c, int64_t now_us,
		       char *msg, size_t cap)
{
	struct sip_tracker *t = rec_engine_tracker(e);
	size_t pos = 0;
	struct es_hnode *cur = NULL;
	struct sip_call *sc;
	while ((sc = sip_tracker_next(t, &pos, &cur))) {
		struct rec_call *rc = sc->user;
		if (!rc)
			continue;
		struct idx_party p[2];
		const char *call_id = NULL;
		rec_call_view(rc, p, &call_id);
		if (!call_id || strcmp(call_id, c->call_id))
			continue;
		if (c->verb == REC_CMD_CONSENT) {
			/* the event's detail holds 47 bytes: a long name is cut */
			char detail[sizeof(c->by) + 8];
			snprintf(detail, sizeof(detail), "%s %s", c->yes ? "yes" : "no", c->by);
			rec_pause_events(rc, now_us);
			sip_call_add_event(sc, now_us, c->party, "consent", detail);
			rc->pz.ev_seen = sc->nevents;
			snprintf(msg, cap, "consent %s of the %s recorded", c->yes ? "yes" : "no",
				 c->party ? "callee" : "caller");
			return 0;
		}
		bool pause = c->verb == REC_CMD_PAUSE;
		rec_pause_events(rc, now_us);
		if (rec_pause_set(rc, pause, -1, c->by, now_us)) {
			snprintf(msg, cap, "the call is %s", pause ? "already paused" : "not paused");
			return ES_EEXIST;
		}
		snprintf(msg, cap, "%s", pause ? "paused" : "recording");
		return 0;
	}
	snprintf(msg, cap, "no call in progress with this id");
	return ES_ENOTFOUND;
}
