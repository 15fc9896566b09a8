/* call.c - gen_calls: plans each call (its SIP steps, RTP legs, switches,
 * impairments) and plays it one event at a time; the calls wait in a
 * min-heap by the time of their next event.
 * #included by bench/gen_calls.c (see gen.h). */

#define MS(x) ((int64_t)(x) * 1000)
#define SEC(x) ((int64_t)(x) * ES_US_PER_SEC)

/* ---- planning ------------------------------------------------------------ */

static void plan_step(struct call *c, int64_t t, enum gen_msg m, uint8_t flags)
{
	if (c->nsteps >= GEN_MAX_STEPS) {
		fprintf(stderr, GEN_TAG ": internal: too many steps\n");
		exit(1);
	}
	c->steps[c->nsteps].t = t;
	c->steps[c->nsteps].msg = (uint8_t)m;
	c->steps[c->nsteps].flags = flags;
	c->nsteps++;
}

static uint16_t even_port(struct rng *r, int lo, int hi)
{
	return (uint16_t)(rng_range(r, lo / 2, hi / 2 - 1) * 2);
}

/* The capture time of slot `slot` of leg l.  --drift: the callee's slots
 * come every ptime / (1 + ppm 1e-6) of capture time. */
static int64_t slot_time(const struct gen *g, const struct leg *l, uint32_t slot)
{
	if (l->drift != 0)
		return l->t_start + (int64_t)llround((double)slot * (double)g->ptime_us / l->drift);
	return l->t_start + (int64_t)slot * g->ptime_us;
}

/* The slot from which switch i of leg l applies: the first at or after it. */
static uint32_t leg_sw_slot(const struct gen *g, const struct leg *l, int i)
{
	int64_t d = l->sw[i].t - l->t_start;
	if (d <= 0)
		return 0;
	if (l->drift == 0)
		return (uint32_t)((d + g->ptime_us - 1) / g->ptime_us);
	uint32_t s = (uint32_t)ceil((double)d * l->drift / (double)g->ptime_us);
	while (s > 0 && slot_time(g, l, s - 1) >= l->sw[i].t)
		s--;
	while (slot_time(g, l, s) < l->sw[i].t)
		s++;
	return s;
}

static void leg_init(struct gen *g, struct call *c, int side, int64_t t_start, int64_t t_stop)
{
	struct leg *l = &c->leg[side];
	memset(l, 0, sizeof(*l));
	struct es_addr *me = side == 0 ? &c->caller_ip : &c->callee_ip;
	struct es_addr *peer = side == 0 ? &c->callee_ip : &c->caller_ip;
	l->src = addr_with_port(me, side == 0 ? c->caller_rtp : c->callee_rtp);
	l->dst = addr_with_port(peer, side == 0 ? c->callee_rtp : c->caller_rtp);
	l->ssrc = (uint32_t)rng_next(&c->rng);
	l->seq = (uint16_t)rng_next(&c->rng);
	l->ts_base = (uint32_t)rng_next(&c->rng);
	l->pt = c->pcma ? 8 : 0;
	l->payload = g->tone[(c->pcma ? 2 : 0) + side];
	l->t_start = t_start;
	l->nslots = t_stop > t_start ? (uint32_t)((t_stop - t_start) / g->ptime_us) : 0;
	if (c->codec >= 0) {
		const struct codec_desc *d = &codecs[c->codec];
		l->pt = d->pt;
		l->enc = audio_enc(g, side, c->codec);
		l->spp = d->clock / 1000 * (uint32_t)g->o.ptime_ms;
		if (side == 1 && g->o.drift_ppm != 0) {
			l->drift = 1.0 + g->o.drift_ppm * 1e-6;
			l->nslots = t_stop > t_start ? (uint32_t)((double)(t_stop - t_start) *
								  l->drift / (double)g->ptime_us)
						     : 0;
			while (l->nslots && slot_time(g, l, l->nslots) > t_stop)
				l->nslots--;
		}
	}
	l->dtmf_slot = UINT32_MAX;
	l->rtcp_next = t_start + rng_range(&c->rng, MS(500), SEC(5));
}

/* --video: leg 2 + side sends H.264 at the audio's packet rate between
 * the video ports of the SDP (no RTCP, no DTMF). */
static void video_leg_init(struct gen *g, struct call *c, int side, int64_t t_start,
			   int64_t t_stop)
{
	struct leg *l = &c->leg[2 + side];
	memset(l, 0, sizeof(*l));
	l->src = addr_with_port(side == 0 ? &c->caller_ip : &c->callee_ip,
				side == 0 ? GEN_VIDEO_PORT_CALLER : GEN_VIDEO_PORT_CALLEE);
	l->dst = addr_with_port(side == 0 ? &c->callee_ip : &c->caller_ip,
				side == 0 ? GEN_VIDEO_PORT_CALLEE : GEN_VIDEO_PORT_CALLER);
	l->ssrc = (uint32_t)rng_next(&c->rng);
	l->seq = (uint16_t)rng_next(&c->rng);
	l->ts_base = (uint32_t)rng_next(&c->rng);
	l->pt = GEN_PT_VIDEO;
	l->payload = g->video_payload;
	l->video_len = GEN_VIDEO_BYTES;
	l->spp = 90 * (uint32_t)g->o.ptime_ms;
	l->t_start = t_start;
	l->nslots = t_stop > t_start ? (uint32_t)((t_stop - t_start) / g->ptime_us) : 0;
	l->dtmf_slot = UINT32_MAX;
	l->rtcp_next = INT64_MAX;
}

static void leg_add_switch(struct call *c, int side, int64_t t, enum sw_kind k, uint16_t port)
{
	struct leg *l = &c->leg[side];
	l->sw[l->nsw].t = t;
	l->sw[l->nsw].kind = (uint8_t)k;
	l->sw[l->nsw].port = port;
	l->nsw++;
}

/* Plans call idx inside the window [w0, w1) of the capture. */
static void call_plan(struct gen *g, struct call *c, uint32_t idx, int64_t w0, int64_t w1)
{
	const struct gen_opts *o = &g->o;
	memset(c, 0, sizeof(*c));
	c->idx = idx;
	c->party = (o->party_base + idx) % 100000; /* 5 digits: SIP lengths do not move */
	c->cid_idx = idx;
	rng_seed(&c->rng, o->seed, 2 * (uint64_t)idx + 1);
	rng_seed(&c->imp, o->seed, 2 * (uint64_t)idx + 2);
	struct rng *r = &c->rng;
	int64_t len = w1 - w0;

	addr_host(&c->caller_ip, o->ipv6, 1, idx);
	addr_host(&c->callee_ip, o->ipv6, 2, idx);
	addr_host(&c->fork_ip, o->ipv6, 3, idx);
	c->caller_rtp = even_port(r, 10000, 29000);
	c->caller_rtp2 = (uint16_t)(c->caller_rtp + 2 * rng_range(r, 1, 400));
	c->callee_rtp = even_port(r, 30000, 60000);
	c->callid = rng_next(r);
	c->from_tag = rng_next(r) | 1;
	c->to_tag = rng_next(r) | 1;
	c->fork_tag = rng_next(r) | 1;
	c->br_invite = rng_next(r);
	c->br_ack = rng_next(r);
	c->br_reinvite = rng_next(r);
	c->br_ack_re = rng_next(r);
	c->br_bye = rng_next(r);
	c->cseq = (uint32_t)rng_range(r, 1, 9000);
	c->callee_cseq = (uint32_t)rng_range(r, 1, 9000);
	c->sess_caller = (uint32_t)rng_range(r, 1000, 2000000000);
	c->sess_callee = (uint32_t)rng_range(r, 1000, 2000000000);
	c->ip_id = (uint16_t)rng_next(r);
	c->ua_caller = user_agents[rng_below(r, ES_ARRAY_LEN(user_agents))];
	c->ua_callee = servers[rng_below(r, ES_ARRAY_LEN(servers))];
	c->name = display_names[rng_below(r, ES_ARRAY_LEN(display_names))];
	c->xacct = rng_chance(r, 50);
	c->pai = rng_chance(r, 50);
	c->pcma = rng_chance(r, 30);
	c->codec = GEN_CODEC_TONES;
	if (o->codec != GEN_CODEC_TONES) {
		c->codec = (int8_t)(o->codec == GEN_CODEC_MIXED ? (int)(idx % GC_MIXED_N) : o->codec);
		c->pcma = c->codec == GC_PCMA;
	}
	c->callee_bye = rng_chance(r, 40);
	/* drawn only with their options, so that the others' bytes stay */
	c->challenged = o->challenge_s > 0;
	if (c->challenged) {
		c->br_challenge = rng_next(r);
		c->chal_tag = rng_next(r) | 1;
		c->cseq++; /* the retry's; the challenged INVITE had one less */
	}
	c->nlegs = 2;
	c->streams_tail = &c->streams;
	uint16_t eph = (uint16_t)rng_range(r, 32768, 60999);
	c->tcp.caller_port = o->tcp ? eph : 0;
	c->tcp.ws = o->ws;
	c->tcp.seq[0] = (uint32_t)rng_next(r);
	c->tcp.seq[1] = (uint32_t)rng_next(r);
	if (o->fragment) {
		c->pad_len = (uint16_t)rng_range(r, 1500, 4000);
		c->frag_reverse = rng_chance(r, 30);
	}

	c->outcome = OUT_ANSWERED;
	if (o->outcomes) {
		uint64_t p = rng_below(r, 100);
		c->outcome = p < 60 ? OUT_ANSWERED : p < 70 ? OUT_BUSY : p < 80 ? OUT_NO_ANSWER
			     : p < 90 ? OUT_CANCELLED : OUT_REJECTED;
	}
	static const int reject_codes[] = {403, 488};
	static const int noanswer_codes[] = {408, 480};
	switch (c->outcome) {
	case OUT_ANSWERED: c->sip_code = 200; break;
	case OUT_BUSY: c->sip_code = 486; break;
	case OUT_NO_ANSWER: c->sip_code = noanswer_codes[rng_below(r, 2)]; break;
	case OUT_CANCELLED: c->sip_code = 487; break;
	case OUT_REJECTED: c->sip_code = reject_codes[rng_below(r, 2)]; break;
	}
	bool ans = c->outcome == OUT_ANSWERED;
	bool rings = c->outcome != OUT_BUSY && c->outcome != OUT_REJECTED;
	c->forked = o->fork && rings && rng_chance(r, 50);
	c->fork_first = rng_chance(r, 50);
	c->reinvite = o->reinvite && ans && rng_chance(r, 50);
	bool move_port = c->reinvite;
	c->ts_jump = o->ts_jump && ans;
	c->reinvite |= c->ts_jump;
	c->ssrc_change = o->ssrc_change && ans && rng_chance(r, 50);
	if (o->missing_invite && ans && rng_chance(r, 30))
		c->miss = rng_chance(r, 50) ? MISS_FROM_200 : MISS_RTP_ONLY;
	/* SCTP plans like TCP (same draws: the same calls), its open and
	 * close steps send nothing */
	bool tcp = o->tcp || o->sctp;

	/* SIP timeline */
	int64_t edge = ES_MIN(SEC(2), len / 10);
	int64_t t = w0 + rng_range(r, 0, edge);
	int64_t t_stop = w1 - rng_range(r, 0, edge) - MS(100);
	c->t_invite = t;
	if (tcp) {
		plan_step(c, t - MS(1), M_TCP_OPEN, 0);
	}
	if (c->challenged) {
		/* --challenge: INVITE, 407, ACK; the retry comes challenge_s
		 * later (a user typing a password, a phone fetching one) */
		int64_t tc = t - (int64_t)(o->challenge_s * ES_US_PER_SEC);
		c->t_invite = tc;
		plan_step(c, tc, M_INVITE_CH, 0);
		tc += rng_range(r, MS(2), MS(20));
		plan_step(c, tc, M_407, 0);
		plan_step(c, tc + rng_range(r, MS(1), MS(5)), M_ACK_407, 0);
	}
	plan_step(c, t, M_INVITE, tcp && rng_chance(r, 30) ? STEP_SPLIT : 0);
	t += rng_range(r, MS(2), MS(20));
	bool coalesce = tcp && rings && !c->forked && rng_chance(r, 30);
	plan_step(c, t, M_100, coalesce ? STEP_COALESCE : 0);
	if (rings) {
		if (!coalesce)
			t += rng_range(r, MS(30), MS(300));
		if (c->forked && c->fork_first) {
			plan_step(c, t, M_180_FORK, 0);
			t += rng_range(r, MS(5), MS(100));
		}
		plan_step(c, t, M_180, 0);
		if (c->forked && !c->fork_first) {
			t += rng_range(r, MS(5), MS(100));
			plan_step(c, t, M_180_FORK, 0);
		}
	}
	switch (c->outcome) {
	case OUT_ANSWERED: {
		t += rng_range(r, MS(300), ES_MAX(MS(300), ES_MIN(SEC(3), len / 6)));
		c->t_answer = t;
		plan_step(c, t, M_200_INV, tcp && rng_chance(r, 30) ? STEP_SPLIT : 0);
		int64_t t_200 = t;
		t += rng_range(r, MS(5), MS(40));
		plan_step(c, t, M_ACK, 0);
		int64_t t_ack = t;
		int64_t talk = t_stop - t_ack;
		if (c->miss == MISS_FROM_200)
			c->capture_from = t_200;
		else if (c->miss == MISS_RTP_ONLY)
			c->capture_from = t_ack + rng_range(r, MS(500), talk / 3);
		leg_init(g, c, 0, t_ack + rng_range(r, MS(1), MS(30)), t_stop);
		leg_init(g, c, 1, t_200 + rng_range(r, MS(1), MS(30)), t_stop);
		if (o->one_way)
			c->leg[0].nslots = 0; /* the caller only listens */
		if (o->video) {
			c->video = true;
			c->nlegs = 4;
			video_leg_init(g, c, 0, c->leg[0].t_start + MS(7), t_stop);
			video_leg_init(g, c, 1, c->leg[1].t_start + MS(7), t_stop);
			if (o->one_way)
				c->leg[2].nslots = 0;
		}
		int64_t t_sw_min = t_ack + talk / 3; /* switches after DTMF */
		if (c->reinvite) {
			int64_t tr = t_ack + talk * rng_range(r, 40, 55) / 100;
			plan_step(c, tr, M_REINVITE, 0);
			int64_t t200 = tr + rng_range(r, MS(10), MS(80));
			plan_step(c, t200, M_200_RE, 0);
			int64_t tack = t200 + rng_range(r, MS(5), MS(40));
			plan_step(c, tack, M_ACK_RE, 0);
			if (move_port) {
				leg_add_switch(c, 1, t200, SW_DST_PORT, c->caller_rtp2);
				leg_add_switch(c, 0, tack, SW_SRC_PORT, c->caller_rtp2);
			}
			if (c->ts_jump) {
				leg_add_switch(c, 1, t200, SW_TS_AHEAD, 0);
				leg_add_switch(c, 0, tack, SW_TS_RESTART, 0);
			}
		}
		if (c->ssrc_change) {
			int64_t ts = t_ack + talk * rng_range(r, 65, 85) / 100;
			if (ts < t_sw_min)
				ts = t_sw_min;
			leg_add_switch(c, (int)rng_below(r, 2), ts, SW_SSRC, 0);
		}
		if (o->dtmf) {
			struct leg *l = &c->leg[0];
			uint32_t first = (uint32_t)(rng_range(r, MS(300), MS(900)) / g->ptime_us);
			uint32_t margin = (uint32_t)(g->delay_max_us / g->ptime_us) + 4;
			uint32_t limit = l->nslots;
			if (l->nsw)
				limit = ES_MIN(limit, leg_sw_slot(g, l, 0));
			if (c->miss == MISS_RTP_ONLY)
				first += (uint32_t)((c->capture_from - l->t_start) / g->ptime_us) + margin;
			if (first + DTMF_SLOTS + margin < limit)
				l->dtmf_slot = first;
		}
		t = t_stop;
		plan_step(c, t, M_BYE, 0);
		t += rng_range(r, MS(5), MS(40));
		plan_step(c, t, M_200_BYE, 0);
		break;
	}
	case OUT_BUSY:
	case OUT_REJECTED:
		t += rng_range(r, MS(50), MS(500));
		plan_step(c, t, M_FAIL, 0);
		t += rng_range(r, MS(2), MS(30));
		plan_step(c, t, M_ACK_FAIL, 0);
		break;
	case OUT_NO_ANSWER:
		t += rng_range(r, len / 3, len / 2);
		plan_step(c, t, M_FAIL, 0);
		t += rng_range(r, MS(2), MS(30));
		plan_step(c, t, M_ACK_FAIL, 0);
		break;
	case OUT_CANCELLED:
		t += rng_range(r, MS(800), len / 3);
		plan_step(c, t, M_CANCEL, 0);
		t += rng_range(r, MS(5), MS(40));
		plan_step(c, t, M_200_CANCEL, 0);
		t += rng_range(r, MS(1), MS(20));
		plan_step(c, t, M_487, 0);
		t += rng_range(r, MS(2), MS(30));
		plan_step(c, t, M_ACK_FAIL, 0);
		break;
	}
	c->t_end = t;
	if (o->stray) {
		plan_step(c, t + rng_range(r, MS(5), MS(40)), M_STRAY_200BYE, 0);
		plan_step(c, t + rng_range(r, MS(45), MS(90)), M_STRAY_403, 0);
	}
	if (tcp)
		plan_step(c, t + rng_range(r, MS(50), MS(500)), M_TCP_CLOSE, 0);
	/* the steps were planned in time order, except the TCP open */
}

/* ---- playing: output --------------------------------------------------- */

static void push_frame(struct gen *g, struct call *c, struct frame *f)
{
	if (f->ts < c->capture_from) {
		free(f);
		return;
	}
	out_push(&g->out, f);
}

static void push_sip_frames(struct gen *g, struct call *c, struct frame **fr, int n,
			    uint8_t msgs, bool reverse)
{
	for (int i = 0; i < n; i++) {
		fr[i]->kind = FK_SIP;
		fr[i]->sip_msgs = i == 0 ? msgs : 0;
	}
	for (int i = 0; i < n; i++)
		push_frame(g, c, fr[reverse ? n - 1 - i : i]);
}

static void sip_endpoints(const struct call *c, bool from_caller, struct es_addr *src,
			  struct es_addr *dst)
{
	*src = from_caller ? c->caller_ip : c->callee_ip;
	*dst = from_caller ? c->callee_ip : c->caller_ip;
	if (c->tcp.ws)
		(from_caller ? dst : src)->port = GEN_WS_PORT;
	if (c->tcp.caller_port) {
		if (from_caller)
			src->port = c->tcp.caller_port;
		else
			dst->port = c->tcp.caller_port;
	}
}

/* Sends data[0..len) over the call's TCP connection. */
static void tcp_send(struct gen *g, struct call *c, bool from_caller, const uint8_t *data,
		     size_t len, bool split, bool allow_frag, uint8_t msgs, int64_t t)
{
	struct es_addr src, dst;
	struct frame *fr[GEN_MAX_FRAGS];
	sip_endpoints(c, from_caller, &src, &dst);
	int dir = from_caller ? 0 : 1;
	size_t cuts[4], ncuts = 0;
	size_t mss = allow_frag ? len : 1460;
	if (split && len > 64) {
		size_t parts = (size_t)rng_range(&c->imp, 2, 3);
		for (size_t i = 1; i < parts; i++)
			cuts[ncuts++] = len * i / parts + (size_t)rng_below(&c->imp, 16);
	}
	cuts[ncuts++] = len;
	size_t off = 0;
	int seg = 0;
	for (size_t k = 0; k < ncuts; k++) {
		while (off < cuts[k]) {
			size_t n = ES_MIN(cuts[k] - off, mss);
			memcpy(tcp_payload(g), data + off, n);
			int nf = tcp_frames(g, c, &src, &dst, TCPF_ACK | TCPF_PSH, c->tcp.seq[dir],
					    c->tcp.seq[!dir], n, allow_frag, t + seg * 60, fr);
			c->tcp.seq[dir] += (uint32_t)n;
			push_sip_frames(g, c, fr, nf, seg == 0 ? msgs : 0, false);
			off += n;
			seg++;
		}
	}
}

/* Whether the frames about to be built go through the --tunnel layers:
 * all of them, or with --tunnel-callee-sip only the callee's SIP (and its
 * TCP segments). */
static void wrap_for(struct gen *g, bool sip, bool from_caller)
{
	g->wrap = g->o.ntun && (!g->o.tun_callee_sip || (sip && !from_caller));
}

static void tcp_ctl(struct gen *g, struct call *c, bool from_caller, uint8_t flags, int64_t t)
{
	wrap_for(g, true, from_caller);
	struct es_addr src, dst;
	struct frame *fr[GEN_MAX_FRAGS];
	sip_endpoints(c, from_caller, &src, &dst);
	int dir = from_caller ? 0 : 1;
	int n = tcp_frames(g, c, &src, &dst, flags, c->tcp.seq[dir], c->tcp.seq[!dir], 0, false,
			   t, fr);
	if (flags & (TCPF_SYN | TCPF_FIN))
		c->tcp.seq[dir]++;
	for (int i = 0; i < n; i++) {
		fr[i]->kind = FK_OTHER;
		push_frame(g, c, fr[i]);
	}
}

static void play_step(struct gen *g, struct call *c)
{
	struct step *s = &c->steps[c->next_step++];
	enum gen_msg m = (enum gen_msg)s->msg;
	int64_t t = s->t;
	if ((m == M_TCP_OPEN || m == M_TCP_CLOSE) && g->o.sctp)
		return;
	if (m == M_TCP_OPEN) {
		tcp_ctl(g, c, true, TCPF_SYN, t);
		tcp_ctl(g, c, false, TCPF_SYN | TCPF_ACK, t + 150);
		tcp_ctl(g, c, true, TCPF_ACK, t + 300);
		if (g->o.ws)
			ws_handshake(g, c, t + 400);
		return;
	}
	if (m == M_TCP_CLOSE) {
		tcp_ctl(g, c, true, TCPF_FIN | TCPF_ACK, t);
		tcp_ctl(g, c, false, TCPF_FIN | TCPF_ACK, t + 150);
		tcp_ctl(g, c, true, TCPF_ACK, t + 300);
		return;
	}
	bool from_caller = msg_from_caller(c, m);
	uint8_t msgs = 1;
	size_t cut[2];
	es_buf_reset(&g->sip);
	sip_build(g, c, m, &g->sip);
	cut[0] = g->sip.len;
	if ((s->flags & STEP_COALESCE) && c->next_step < c->nsteps) {
		enum gen_msg m2 = (enum gen_msg)c->steps[c->next_step].msg;
		if (msg_from_caller(c, m2) == from_caller) {
			sip_build(g, c, m2, &g->sip);
			cut[1] = g->sip.len;
			c->next_step++;
			msgs = 2;
		}
	}
	wrap_for(g, true, from_caller);
	bool frag = g->o.fragment && m == M_INVITE;
	if (g->o.sctp) {
		sctp_send(g, c, from_caller, cut, msgs, msgs, t);
		return;
	}
	if (g->o.ws) {
		ws_wrap(g, c, from_caller, cut, msgs, s->flags & STEP_SPLIT);
		tcp_send(g, c, from_caller, g->ws.p, g->ws.len, s->flags & STEP_SPLIT, frag, msgs, t);
		return;
	}
	if (g->o.tcp) {
		tcp_send(g, c, from_caller, g->sip.p, g->sip.len, s->flags & STEP_SPLIT, frag, msgs,
			 t);
		return;
	}
	struct es_addr src, dst;
	struct frame *fr[GEN_MAX_FRAGS];
	sip_endpoints(c, from_caller, &src, &dst);
	if (g->sip.len > GEN_SNAPLEN - 200) {
		fprintf(stderr, GEN_TAG ": internal: SIP message too long\n");
		exit(1);
	}
	memcpy(udp_payload(g), g->sip.p, g->sip.len);
	int n = udp_frames(g, c, &src, &dst, g->sip.len, TOS_SIP, frag, t, fr);
	push_sip_frames(g, c, fr, n, msgs, frag && c->frag_reverse);
}

/* ---- playing: RTP --------------------------------------------------------- */

/* Applies the switch due at the current slot, if any, and opens a new
 * stream (at slot 0 and at every switch). */
static void leg_open_stream(struct gen *g, struct call *c, struct leg *l)
{
	bool open = l->slot == 0;
	while (l->next_sw < l->nsw && leg_sw_slot(g, l, l->next_sw) <= l->slot) {
		struct leg_switch *sw = &l->sw[l->next_sw++];
		uint32_t spp = l->enc ? l->spp : (uint32_t)g->o.ptime_ms * 8;
		uint32_t clock = l->enc ? codecs[c->codec].clock : 8000;
		if (sw->kind == SW_TS_RESTART || sw->kind == SW_TS_AHEAD) {
			/* the same stream goes on: same SSRC, sequence and ports */
			if (sw->kind == SW_TS_RESTART)
				l->ts_base -= l->slot * spp; /* back to its first value */
			else
				l->ts_base += (uint32_t)GEN_TS_AHEAD_S * clock;
			if (l->st)
				l->ts_jump_pending = true;
			continue;
		}
		open = true;
		switch (sw->kind) {
		case SW_SRC_PORT: l->src.port = sw->port; break;
		case SW_DST_PORT: l->dst.port = sw->port; break;
		case SW_SSRC: {
			uint32_t old = l->ssrc;
			do
				l->ssrc = (uint32_t)rng_next(&c->imp);
			while (l->ssrc == old);
			l->seq = (uint16_t)rng_next(&c->imp);
			l->ts_base = (uint32_t)rng_next(&c->imp);
			break;
		}
		}
	}
	if (!open && l->st)
		return;
	struct stream_truth *st = calloc(1, sizeof(*st));
	if (!st)
		die_oom();
	st->src = l->src;
	st->dst = l->dst;
	st->ssrc = l->ssrc;
	st->signalled = c->miss != MISS_RTP_ONLY;
	st->codec = c->codec;
	st->side = l == &c->leg[1] || l == &c->leg[3];
	st->video = l->video_len != 0;
	*c->streams_tail = st;
	c->streams_tail = &st->next;
	l->st = st;
	l->st_first_slot = l->slot;
	l->st_last_slot = l->nslots - 1;
	for (uint8_t i = l->next_sw; i < l->nsw; i++) {
		if (l->sw[i].kind == SW_TS_RESTART || l->sw[i].kind == SW_TS_AHEAD)
			continue; /* not a new stream */
		uint32_t s = leg_sw_slot(g, l, i);
		if (s > l->slot && s - 1 < l->st_last_slot)
			l->st_last_slot = s - 1;
		break;
	}
	l->st_last_kept = l->st_last_slot;
	l->kept_in_stream = 0;
	l->gen_sent = l->gen_kept = 0;
	l->rr_expected_prior = l->rr_received_prior = 0;
	if (l->dtmf_slot != UINT32_MAX && l->dtmf_slot >= l->st_first_slot &&
	    l->dtmf_slot + DTMF_SLOTS <= l->st_last_slot + 1) {
		size_t nd = sizeof(GEN_DTMF_DIGITS) - 1;
		memcpy(st->digits, GEN_DTMF_DIGITS, nd);
		st->ndigits = (uint8_t)nd;
	}
}

/* Whether slot may be impaired: not near the ends of its stream nor near
 * the start of the capture, so that the first and last packets written of
 * every stream are its first and highest (as RFC 3550 and tshark count). */
static bool slot_impairable(const struct gen *g, const struct call *c, const struct leg *l,
			    uint32_t slot)
{
	uint32_t margin = (uint32_t)(g->delay_max_us / g->ptime_us) + 3;
	if (slot < l->st_first_slot + 3 || slot + margin > l->st_last_slot)
		return false;
	if (c->capture_from) {
		int64_t t = slot_time(g, l, slot);
		if (t > c->capture_from - g->delay_max_us - 2 * g->ptime_us &&
		    t < c->capture_from + 4 * g->ptime_us)
			return false;
	}
	return true;
}

/* Is this packet lost?  Random (each with loss_pct), or with --burst R a
 * 2-state Markov chain of the same mean loss whose BurstR (ITU-T G.107,
 * 1/(p+q)) is R: p = Ppl/R, q = (1-Ppl)/R. */
static bool leg_lose(struct gen *g, struct call *c, struct leg *l)
{
	if (g->o.burst_r <= 1)
		return rng_chance(&c->imp, g->o.loss_pct);
	double ppl = g->o.loss_pct / 100.0;
	if (l->in_loss)
		l->in_loss = !rng_chance(&c->imp, 100.0 * (1.0 - ppl) / g->o.burst_r);
	else
		l->in_loss = rng_chance(&c->imp, 100.0 * ppl / g->o.burst_r);
	return l->in_loss;
}

static void play_rtp(struct gen *g, struct call *c, struct leg *l)
{
	leg_open_stream(g, c, l);
	int64_t t = slot_time(g, l, l->slot);
	if (l->ts_jump_pending && l->st) {
		l->st->ts_jump_us = t;
		l->ts_jump_pending = false;
	}
	uint8_t pt, dtmf_idx;
	size_t plen = rtp_slot_put(g, l, udp_payload(g), &pt, &dtmf_idx);
	uint16_t seq = l->seq;
	l->seq++;
	l->sent_pkts++;
	l->sent_octets += (uint32_t)(plen - 12);
	l->gen_sent++;
	bool imp = slot_impairable(g, c, l, l->slot);
	/* Nor near the sequence number wrap: tshark counts a wrap a second
	 * time when a packet from before it arrives after it. */
	uint32_t w = (uint32_t)(g->delay_max_us / g->ptime_us) + 4;
	if ((uint16_t)(seq + w) < 2 * w)
		imp = false;
	l->slot++;
	if (imp && leg_lose(g, c, l))
		return;
	l->gen_kept++;
	l->kept_in_stream++;
	if (imp && g->o.jitter_ms)
		t += rng_range(&c->imp, 0, MS(g->o.jitter_ms));
	if (imp && rng_chance(&c->imp, g->o.reorder_pct))
		t += g->ptime_us + rng_range(&c->imp, 1, g->ptime_us / 2);
	struct frame *fr[1];
	int n = udp_frames(g, c, &l->src, &l->dst, plen, TOS_RTP, false, t, fr);
	(void)n;
	struct frame *f = fr[0];
	f->kind = FK_RTP;
	f->st = l->st;
	f->rtp_seq = seq;
	f->rtp_slot = l->slot - 1;
	f->rtp_pt = pt;
	f->dtmf_idx = dtmf_idx;
	bool dup = imp && rng_chance(&c->imp, g->o.dup_pct);
	struct frame *d = dup ? frame_dup(f) : NULL;
	push_frame(g, c, f);
	if (d) {
		d->ts += rng_range(&c->imp, 1, GEN_DUP_DELTA_MAX_US);
		d->dup = 1;
		push_frame(g, c, d);
	}
}

static bool leg_active(const struct leg *l) { return l->slot < l->nslots; }

static void play_rtcp(struct gen *g, struct call *c, int side)
{
	struct leg *l = &c->leg[side], *peer = &c->leg[!side];
	int64_t t = l->rtcp_next;
	l->rtcp_next += rng_range(&c->imp, MS(4000), MS(6000));
	if (!l->st)
		return;
	char cname[100], user[32], host[ES_ADDR_STRLEN];
	if (snprintf(cname, sizeof(cname), "%s@%s", user_str(c, side, user, sizeof(user)),
		     addr_plain(&l->src, host, sizeof(host))) >= (int)sizeof(cname))
		cname[sizeof(cname) - 1] = 0;
	size_t plen = rtcp_put(g, l, peer, t, cname, udp_payload(g));
	struct es_addr src = l->src, dst = l->dst;
	src.port++;
	dst.port++;
	struct frame *fr[1];
	udp_frames(g, c, &src, &dst, plen, TOS_RTP, false, t, fr);
	fr[0]->kind = FK_RTCP;
	push_frame(g, c, fr[0]);
}

/* ---- the scheduler ------------------------------------------------------- */

enum ev { EV_NONE, EV_STEP, EV_RTP, EV_RTCP };

/* The call's next event and, for RTP and RTCP, the leg it is on. */
static enum ev call_next_event(const struct gen *g, const struct call *c, int64_t *when,
			       int *leg)
{
	enum ev e = EV_NONE;
	int64_t best = INT64_MAX;
	if (c->next_step < c->nsteps) {
		best = c->steps[c->next_step].t;
		e = EV_STEP;
	}
	for (int s = 0; s < c->nlegs; s++) {
		const struct leg *l = &c->leg[s];
		if (!leg_active(l))
			continue;
		int64_t t = slot_time(g, l, l->slot);
		if (t < best) {
			best = t;
			e = EV_RTP;
			*leg = s;
		}
		if (g->o.rtcp && s < 2 && l->rtcp_next < slot_time(g, l, l->nslots) &&
		    l->rtcp_next < best) {
			best = l->rtcp_next;
			e = EV_RTCP;
			*leg = s;
		}
	}
	*when = best;
	return e;
}

static void call_play(struct gen *g, struct call *c)
{
	int64_t when;
	int leg = 0;
	wrap_for(g, false, false);
	switch (call_next_event(g, c, &when, &leg)) {
	case EV_STEP: play_step(g, c); break;
	case EV_RTP: play_rtp(g, c, &c->leg[leg]); break;
	case EV_RTCP: play_rtcp(g, c, leg); break;
	case EV_NONE: break;
	}
}

static bool sched_before(const struct call *a, const struct call *b)
{
	return a->next_t < b->next_t || (a->next_t == b->next_t && a->idx < b->idx);
}

static void sched_set(struct gen *g, size_t i, struct call *c)
{
	g->sched[i] = c;
	c->heap_pos = i;
}

static void sched_up(struct gen *g, size_t i)
{
	struct call *c = g->sched[i];
	while (i > 0) {
		size_t up = (i - 1) / 2;
		if (!sched_before(c, g->sched[up]))
			break;
		sched_set(g, i, g->sched[up]);
		i = up;
	}
	sched_set(g, i, c);
}

static void sched_down(struct gen *g, size_t i)
{
	struct call *c = g->sched[i];
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		const struct call *best = c;
		if (l < g->nsched && sched_before(g->sched[l], best)) {
			m = l;
			best = g->sched[l];
		}
		if (l + 1 < g->nsched && sched_before(g->sched[l + 1], best))
			m = l + 1;
		if (m == i)
			break;
		sched_set(g, i, g->sched[m]);
		i = m;
	}
	sched_set(g, i, c);
}

/* Puts a planned call into the schedule by the time of its first event. */
static void gen_sched_add(struct gen *g, struct call *c)
{
	(void)call_next_event(g, c, &c->next_t, &(int){0});
	g->sched[g->nsched] = c;
	c->heap_pos = g->nsched++;
	sched_up(g, g->nsched - 1);
}

/* Plays every scheduled call's events in time order, handing frames to the
 * output as they become final; `each` (if any) runs after every event. */
static void gen_play(struct gen *g, void (*each)(struct gen *g, void *ud), void *ud)
{
	while (g->nsched) {
		struct call *c = g->sched[0];
		out_flush(&g->out, c->next_t);
		call_play(g, c);
		(void)call_next_event(g, c, &c->next_t, &(int){0});
		if (c->next_t == INT64_MAX) {
			struct call *last = g->sched[--g->nsched];
			if (g->nsched) {
				sched_set(g, 0, last);
				sched_down(g, 0);
			}
		} else {
			sched_down(g, 0);
		}
		if (each)
			each(g, ud);
	}
}

/* Plans every call and plays them all, writing the capture. */
static void gen_run(struct gen *g)
{
	const struct gen_opts *o = &g->o;
	int lines = o->concurrency > 0 && o->concurrency < o->ncalls ? o->concurrency : o->ncalls;
	int per_line = (o->ncalls + lines - 1) / lines;
	int64_t win = (int64_t)(o->duration_s * ES_US_PER_SEC) / per_line;
	g->sched = malloc((size_t)o->ncalls * sizeof(*g->sched));
	if (!g->sched)
		die_oom();
	int half = o->ncalls / 2;
	for (int i = 0; i < o->ncalls; i++) {
		int line = i % lines, k = i / lines;
		/* stagger the lines a little so that calls do not start together */
		int64_t w0 = GEN_T0_US + k * win + (per_line > 1 ? win * line / lines / 4 : 0);
		/* --reuse-callid: the second half replays the first half's
		 * Call-IDs reuse_s later */
		if (o->reuse_s > 0 && i >= half)
			w0 += (int64_t)(o->reuse_s * ES_US_PER_SEC);
		struct call *c = &g->calls[i];
		call_plan(g, c, (uint32_t)i, w0, w0 + win - (per_line > 1 ? win / 4 : 0));
		if (o->reuse_s > 0 && i >= half) {
			c->callid = g->calls[i - half].callid;
			c->cid_idx = g->calls[i - half].idx;
		}
		gen_sched_add(g, c);
	}
	gen_play(g, NULL, NULL);
}

/* Everything a run allocated: the calls' stream records, the schedule, the
 * output heap, the audio sources and the message buffers (gen_calls and
 * gen_live end the same way). */
static void gen_free(struct gen *g, int ncalls)
{
	for (int i = 0; i < ncalls; i++) {
		struct stream_truth *st = g->calls[i].streams;
		while (st) {
			struct stream_truth *next = st->next;
			free(st);
			st = next;
		}
	}
	free(g->calls);
	free(g->sched);
	free(g->out.heap);
	audio_free(g);
	es_buf_free(&g->sip);
	es_buf_free(&g->body);
	es_buf_free(&g->ws);
}
