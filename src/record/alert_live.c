/* alert_live.c - one-way audio and dead air while a call is in progress
 * (docs/ALERTS.md): once a second per call, from the engine's sweep, the
 * streams' last packet times decide (analytics/alert.h an_alert_live_eval);
 * nothing is added per packet.  A raise while the condition lasts is
 * de-duplicated per (alert, call) by the alerts themselves. */
#include "analytics/alert.h"
#include "record/record_internal.h"

#define PEERS_MAX 8

/* The call as alerts describe it; peers: the signalling and the media
 * addresses seen so far. */
static unsigned call_peers(const struct rec_call *rc, struct es_addr *peers)
{
	unsigned n = 0;
	const struct sip_call *sc = rc->sip;
	if (sc->nmsgs) {
		peers[n++] = sc->msgs[0].src;
		peers[n++] = sc->msgs[0].dst;
	}
	for (const struct rec_stream *s = rc->streams; s && n < PEERS_MAX; s = s->next)
		peers[n++] = s->src;
	return n;
}

void rec_alert_check(struct an_alerts *alerts, struct rec_call *rc, int64_t now_us)
{
	rc->alert_check_us = now_us;
	const struct sip_call *sc = rc->sip;
	/* a party on hold is silent by design */
	if (!sc->answer_us || sc->end_reason != SIP_END_NONE || sc->hold[0] || sc->hold[1])
		return;
	struct an_alert_live in = {.now_us = now_us, .answer_us = sc->answer_us};
	for (const struct rec_stream *s = rc->streams; s; s = s->next)
		if (!s->video && s->party >= 0 && s->party < 2 &&
		    s->st.last_us > in.last_rtp_us[s->party])
			in.last_rtp_us[s->party] = s->st.last_us;
	double one_way, dead;
	int silent;
	an_alert_live_eval(&in, &one_way, &silent, &dead);
	double ow_min = an_alerts_min_threshold(alerts, AN_ALERT_ONE_WAY);
	double da_min = an_alerts_min_threshold(alerts, AN_ALERT_DEAD_AIR);
	bool ow = ow_min >= 0 && one_way > 0 && one_way >= ow_min;
	bool da = da_min >= 0 && dead > 0 && dead >= da_min;
	if (!ow && !da)
		return;
	struct es_addr peers[PEERS_MAX];
	struct an_alert_call call = {
		.call_id = sc->call_id,
		.caller = sc->party[SIP_CALLER].user,
		.callee = sc->party[SIP_CALLEE].user,
		.rule = rc->rule,
		.source = rc->siprec ? "siprec" : "live",
		.start_us = sc->start_us,
		.peers = peers,
		.npeers = call_peers(rc, peers),
	};
	if (ow) {
		struct an_alert_field f[2] = {
			{.key = "silent_party", .str = silent == SIP_CALLER ? "caller" : "callee"},
			{.key = "since_answer_s", .num = (double)(now_us - sc->answer_us) / 1e6},
		};
		an_alert_raise(alerts, AN_ALERT_ONE_WAY, one_way, &call, f, 2, now_us);
	}
	if (da) {
		struct an_alert_field f[1] = {
			{.key = "since_answer_s", .num = (double)(now_us - sc->answer_us) / 1e6},
		};
		an_alert_raise(alerts, AN_ALERT_DEAD_AIR, dead, &call, f, 1, now_us);
	}
}
