/* out.c - gen_calls: frames ordered by capture time, written with libpcap,
 * and the truth kept as they are written.
 * #included by bench/gen_calls.c (see gen.h). */

static int out_open(struct out *o, const struct gen_opts *opt)
{
	static const int dlt[] = {
		[LT_EN10MB] = DLT_EN10MB,
		[LT_RAW] = DLT_RAW,
		[LT_SLL] = DLT_LINUX_SLL,
		[LT_NULL] = DLT_NULL,
	};
	memset(o, 0, sizeof(*o));
	o->pd = pcap_open_dead_with_tstamp_precision(dlt[opt->linktype], GEN_SNAPLEN,
						     PCAP_TSTAMP_PRECISION_MICRO);
	if (!o->pd)
		return ES_ENOMEM;
	o->dump = pcap_dump_open(o->pd, opt->out_path);
	if (!o->dump) {
		fprintf(stderr, GEN_TAG ": %s\n", pcap_geterr(o->pd));
		pcap_close(o->pd);
		o->pd = NULL;
		return ES_EIO;
	}
	/* Large writes: the file is written once, front to back. */
	setvbuf(pcap_dump_file(o->dump), NULL, _IOFBF, 1 << 20);
	return 0;
}

static bool frame_before(const struct frame *a, const struct frame *b)
{
	return a->ts < b->ts || (a->ts == b->ts && a->order < b->order);
}

static void out_push(struct out *o, struct frame *f)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 4096;
		struct frame **h = realloc(o->heap, cap * sizeof(*h));
		if (!h)
			die_oom();
		o->heap = h;
		o->cap = cap;
	}
	f->order = o->order++;
	size_t i = o->n++;
	while (i > 0) {
		size_t up = (i - 1) / 2;
		if (!frame_before(f, o->heap[up]))
			break;
		o->heap[i] = o->heap[up];
		i = up;
	}
	o->heap[i] = f;
}

static struct frame *out_pop(struct out *o)
{
	struct frame *top = o->heap[0];
	struct frame *last = o->heap[--o->n];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		const struct frame *best = last;
		if (l < o->n && frame_before(o->heap[l], best)) {
			m = l;
			best = o->heap[l];
		}
		if (l + 1 < o->n && frame_before(o->heap[l + 1], best))
			m = l + 1;
		if (m == i)
			break;
		o->heap[i] = o->heap[m];
		i = m;
	}
	if (o->n)
		o->heap[i] = last;
	return top;
}

/* RFC 3550 A.1: the extended highest sequence number over what is written.
 * The generator never jumps more than a few packets, so a sequence number
 * behind the highest is a duplicate or a reordered packet. */
static void truth_rtp_written(struct stream_truth *st, const struct frame *f)
{
	uint16_t seq = f->rtp_seq;
	if (st->packets == 0) {
		st->base_seq = st->max_seq = seq;
		st->cycles = 0;
		st->first_us = f->ts;
		st->first_slot = f->rtp_slot;
	} else {
		uint16_t udelta = (uint16_t)(seq - st->max_seq);
		if (udelta > 0 && udelta < 3000) {
			if (seq < st->max_seq)
				st->cycles += 65536;
			st->max_seq = seq;
		}
	}
	st->packets++;
	st->dups += f->dup;
	st->pt_mask[f->rtp_pt >> 6] |= UINT64_C(1) << (f->rtp_pt & 63);
	if (f->dtmf_idx < 8)
		st->digits_written |= (uint8_t)(1u << f->dtmf_idx);
}

/* RFC 3550 A.3: expected - received, so duplicates can make it negative. */
static int64_t truth_lost(const struct stream_truth *st)
{
	int64_t expected = (int64_t)st->cycles + st->max_seq - st->base_seq + 1;
	return expected - (int64_t)st->packets;
}

static void out_write(struct out *o, struct frame *f)
{
	if (o->live) {
		o->live(o->live_ud, f);
	} else {
		struct pcap_pkthdr h;
		h.ts.tv_sec = (time_t)(f->ts / ES_US_PER_SEC);
		h.ts.tv_usec = (suseconds_t)(f->ts % ES_US_PER_SEC);
		h.caplen = h.len = f->len;
		pcap_dump((u_char *)o->dump, &h, f->data);
	}
	o->packets++;
	o->bytes += f->len;
	o->sip_messages += f->sip_msgs;
	f->call->sip_written += f->sip_msgs;
	if (f->kind == FK_RTP) {
		o->rtp_packets++;
		truth_rtp_written(f->st, f);
	} else if (f->kind == FK_RTCP) {
		o->rtcp_packets++;
	}
	free(f);
}

/* Writes every frame captured before `until`. */
static void out_flush(struct out *o, int64_t until)
{
	while (o->n && o->heap[0]->ts < until)
		out_write(o, out_pop(o));
}

static int out_close(struct out *o)
{
	int err = 0;
	out_flush(o, INT64_MAX);
	if (o->dump) {
		FILE *fp = pcap_dump_file(o->dump);
		if (pcap_dump_flush(o->dump) != 0 || ferror(fp))
			err = ES_EIO;
		pcap_dump_close(o->dump);
	}
	if (o->pd)
		pcap_close(o->pd);
	free(o->heap);
	o->heap = NULL;
	o->n = o->cap = 0;
	o->dump = NULL;
	o->pd = NULL; /* the totals stay, for the truth */
	return err;
}

/* ---- the truth file ------------------------------------------------------ */

static const char *const outcome_names[] = {
	[OUT_ANSWERED] = "answered",   [OUT_BUSY] = "busy",
	[OUT_NO_ANSWER] = "no_answer", [OUT_CANCELLED] = "cancelled",
	[OUT_REJECTED] = "rejected",
};

static const char *const miss_names[] = {
	[MISS_NONE] = "invite",
	[MISS_FROM_200] = "200_ok",
	[MISS_RTP_ONLY] = "rtp",
};

/* Audio mode: what a stream carries, and where in its party's source its
 * first written packet starts (slot k starts at k ptimes into the loop). */
static void truth_stream_audio(struct es_json *j, const struct gen *g,
			       const struct stream_truth *st)
{
	const struct codec_desc *d = &codecs[st->codec];
	const struct audio_src *a = &g->audio[st->side];
	es_json_key(j, "codec");
	es_json_str(j, d->name);
	es_json_key(j, "clock");
	es_json_int(j, d->clock);
	es_json_key(j, "first_us");
	es_json_int(j, st->first_us);
	if (st->ts_jump_us) {
		es_json_key(j, "ts_jump_us");
		es_json_int(j, st->ts_jump_us);
	}
	/* in samples of the source; a fraction only for odd rates (22050 Hz
	 * with a ptime of 10, 30 or 50 ms) */
	uint64_t num = (uint64_t)st->first_slot * (uint64_t)g->o.ptime_ms * a->rate;
	uint64_t loop = (uint64_t)a->loop_len * 1000;
	es_json_key(j, "audio_offset_samples");
	if (num % 1000 == 0)
		es_json_int(j, (int64_t)(num / 1000 % a->loop_len));
	else
		es_json_double(j, (double)(num % loop) / 1000.0, 1);
}

static void truth_stream(struct es_json *j, const struct gen *g, const struct stream_truth *st)
{
	char buf[ES_ADDR_STRLEN + 8];
	es_json_obj_begin(j);
	es_addr_fmt(&st->src, true, buf, sizeof(buf));
	es_json_key(j, "src");
	es_json_str(j, buf);
	es_addr_fmt(&st->dst, true, buf, sizeof(buf));
	es_json_key(j, "dst");
	es_json_str(j, buf);
	es_json_key(j, "ssrc");
	es_json_int(j, st->ssrc);
	snprintf(buf, sizeof(buf), "0x%08x", st->ssrc);
	es_json_key(j, "ssrc_hex");
	es_json_str(j, buf);
	es_json_key(j, "payload_types");
	es_json_arr_begin(j);
	for (int pt = 0; pt < 128; pt++)
		if (st->pt_mask[pt >> 6] & (UINT64_C(1) << (pt & 63)))
			es_json_int(j, pt);
	es_json_arr_end(j);
	es_json_key(j, "packets");
	es_json_int(j, (int64_t)st->packets);
	es_json_key(j, "lost");
	es_json_int(j, truth_lost(st));
	es_json_key(j, "duplicates");
	es_json_int(j, (int64_t)st->dups);
	es_json_key(j, "first_seq");
	es_json_int(j, st->base_seq);
	es_json_key(j, "max_seq");
	es_json_int(j, st->max_seq);
	char digits[sizeof(st->digits)];
	size_t nd = 0;
	for (uint8_t i = 0; i < st->ndigits; i++)
		if (st->digits_written & (1u << i))
			digits[nd++] = st->digits[i];
	es_json_key(j, "dtmf");
	es_json_strn(j, digits, nd);
	es_json_key(j, "signalled");
	es_json_bool(j, st->signalled);
	es_json_key(j, "media");
	es_json_str(j, st->video ? "video" : "audio");
	if (st->codec >= 0)
		truth_stream_audio(j, g, st);
	es_json_obj_end(j);
}

static void truth_call(struct es_json *j, const struct gen *g, const struct call *c,
		       char *const uri[2],
		       const char *const user[2])
{
	char buf[128];
	es_json_obj_begin(j);
	es_json_key(j, "index");
	es_json_int(j, c->idx);
	es_json_key(j, "call_id");
	es_json_str(j, call_id_str(c, buf, sizeof(buf)));
	es_json_key(j, "caller");
	es_json_str(j, uri[0]);
	es_json_key(j, "callee");
	es_json_str(j, uri[1]);
	es_json_key(j, "caller_user");
	es_json_str(j, user[0]);
	es_json_key(j, "callee_user");
	es_json_str(j, user[1]);
	es_json_key(j, "caller_name");
	es_json_str(j, c->name);
	es_json_key(j, "start");
	es_time_fmt(c->t_invite, buf, sizeof(buf));
	es_json_str(j, buf);
	es_json_key(j, "end");
	es_time_fmt(c->t_end, buf, sizeof(buf));
	es_json_str(j, buf);
	es_json_key(j, "start_us");
	es_json_int(j, c->t_invite);
	es_json_key(j, "answer_us");
	if (c->t_answer)
		es_json_int(j, c->t_answer);
	else
		es_json_null(j);
	es_json_key(j, "end_us");
	es_json_int(j, c->t_end);
	es_json_key(j, "outcome");
	es_json_str(j, outcome_names[c->outcome]);
	es_json_key(j, "sip_code");
	es_json_int(j, c->sip_code);
	es_json_key(j, "codec");
	if (c->codec >= 0)
		es_json_str(j, c->outcome == OUT_ANSWERED ? codecs[c->codec].name : NULL);
	else
		es_json_str(j, c->outcome == OUT_ANSWERED ? (c->pcma ? "PCMA" : "PCMU") : NULL);
	es_json_key(j, "invite_captured");
	es_json_bool(j, c->miss == MISS_NONE);
	es_json_key(j, "capture_starts");
	es_json_str(j, miss_names[c->miss]);
	es_json_key(j, "forked");
	es_json_bool(j, c->forked);
	es_json_key(j, "challenged");
	es_json_bool(j, c->challenged);
	es_json_key(j, "reinvite");
	es_json_bool(j, c->reinvite);
	es_json_key(j, "ssrc_change");
	es_json_bool(j, c->ssrc_change);
	if (c->ts_jump) {
		es_json_key(j, "ts_jump");
		es_json_bool(j, true);
	}
	es_json_key(j, "hangup");
	es_json_str(j, c->outcome != OUT_ANSWERED ? NULL : c->callee_bye ? "callee" : "caller");
	es_json_key(j, "x_account_id");
	es_json_str(j, c->xacct ? xacct_str(c, buf, sizeof(buf)) : NULL);
	es_json_key(j, "p_asserted_identity");
	es_json_str(j, c->pai ? pai_uri(c, buf, sizeof(buf)) : NULL);
	es_json_key(j, "sip_messages");
	es_json_int(j, c->sip_written);
	es_json_key(j, "streams");
	es_json_arr_begin(j);
	for (const struct stream_truth *st = c->streams; st; st = st->next)
		if (st->packets)
			truth_stream(j, g, st);
	es_json_arr_end(j);
	es_json_obj_end(j);
}

/* Audio mode: the codec choice, the drift and both parties' sources. */
static void truth_audio_options(struct es_json *j, const struct gen *g)
{
	const struct gen_opts *o = &g->o;
	es_json_key(j, "codec");
	es_json_str(j, o->codec == GEN_CODEC_MIXED ? "mixed" : codecs[o->codec].opt);
	es_json_key(j, "drift_ppm");
	es_json_double(j, o->drift_ppm, 3);
	es_json_key(j, "audio");
	es_json_obj_begin(j);
	for (int side = 0; side < 2; side++) {
		const struct audio_src *a = &g->audio[side];
		es_json_key(j, side ? "callee" : "caller");
		es_json_obj_begin(j);
		es_json_key(j, "source");
		es_json_str(j, a->path ? a->path : "synthetic");
		es_json_key(j, "rate");
		es_json_int(j, a->rate);
		es_json_key(j, "source_samples");
		es_json_int(j, a->src_len);
		es_json_key(j, "loop_samples");
		es_json_int(j, a->loop_len);
		es_json_obj_end(j);
	}
	es_json_obj_end(j);
}

static void truth_options(struct es_json *j, const struct gen *g)
{
	const struct gen_opts *o = &g->o;
	static const char *const lt[] = {"en10mb", "raw", "sll", "null"};
	es_json_key(j, "options");
	es_json_obj_begin(j);
	es_json_key(j, "calls");
	es_json_int(j, o->ncalls);
	es_json_key(j, "duration");
	es_json_double(j, o->duration_s, 3);
	es_json_key(j, "seed");
	es_json_int(j, (int64_t)o->seed);
	es_json_key(j, "ptime");
	es_json_int(j, o->ptime_ms);
	es_json_key(j, "loss");
	es_json_double(j, o->loss_pct, 3);
	es_json_key(j, "reorder");
	es_json_double(j, o->reorder_pct, 3);
	es_json_key(j, "dup");
	es_json_double(j, o->dup_pct, 3);
	es_json_key(j, "jitter");
	es_json_int(j, o->jitter_ms);
	static const struct {
		const char *k;
		size_t off;
	} flags[] = {
		{"dtmf", offsetof(struct gen_opts, dtmf)},
		{"ipv6", offsetof(struct gen_opts, ipv6)},
		{"tcp", offsetof(struct gen_opts, tcp)},
		{"fragment", offsetof(struct gen_opts, fragment)},
		{"reinvite", offsetof(struct gen_opts, reinvite)},
		{"ssrc_change", offsetof(struct gen_opts, ssrc_change)},
		{"ts_jump", offsetof(struct gen_opts, ts_jump)},
		{"missing_invite", offsetof(struct gen_opts, missing_invite)},
		{"fork", offsetof(struct gen_opts, fork)},
		{"outcomes", offsetof(struct gen_opts, outcomes)},
		{"rtcp", offsetof(struct gen_opts, rtcp)},
		{"sctp", offsetof(struct gen_opts, sctp)},
		{"ws", offsetof(struct gen_opts, ws)},
		{"tunnel_callee_sip", offsetof(struct gen_opts, tun_callee_sip)},
		{"one_way", offsetof(struct gen_opts, one_way)},
		{"stray", offsetof(struct gen_opts, stray)},
		{"video", offsetof(struct gen_opts, video)},
	};
	for (size_t i = 0; i < ES_ARRAY_LEN(flags); i++) {
		es_json_key(j, flags[i].k);
		es_json_bool(j, *(const bool *)((const char *)o + flags[i].off));
	}
	es_json_key(j, "vlan");
	es_json_int(j, o->vlan);
	es_json_key(j, "qinq");
	if (o->qinq_outer) {
		es_json_arr_begin(j);
		es_json_int(j, o->qinq_outer);
		es_json_int(j, o->qinq_inner);
		es_json_arr_end(j);
	} else {
		es_json_null(j);
	}
	es_json_key(j, "linktype");
	es_json_str(j, lt[o->linktype]);
	es_json_key(j, "tunnel");
	es_json_arr_begin(j);
	for (int i = 0; i < o->ntun; i++)
		for (size_t k = 0; k < ES_ARRAY_LEN(tun_names); k++)
			if (tun_names[k].kind == o->tun[i])
				es_json_str(j, tun_names[k].name);
	es_json_arr_end(j);
	es_json_key(j, "concurrency");
	es_json_int(j, o->concurrency);
	es_json_key(j, "challenge");
	es_json_double(j, o->challenge_s, 3);
	es_json_key(j, "reuse_callid");
	es_json_double(j, o->reuse_s, 3);
	if (o->codec != GEN_CODEC_TONES)
		truth_audio_options(j, g);
	es_json_obj_end(j);
}

/* Writes the truth file; ES_EIO on failure. */
static int truth_write(const struct gen *g, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, GEN_TAG ": %s: %s\n", path, strerror(errno));
		return ES_EIO;
	}
	struct es_json j;
	es_json_init(&j, f, true);
	es_json_obj_begin(&j);
	es_json_key(&j, "generator");
	es_json_str(&j, "gen_calls");
	truth_options(&j, g);
	es_json_key(&j, "calls");
	es_json_arr_begin(&j);
	for (int i = 0; i < g->o.ncalls; i++) {
		const struct call *c = &g->calls[i];
		char uri[2][128], user[2][32];
		char *uris[2] = {uri[0], uri[1]};
		const char *users[2] = {user_str(c, 0, user[0], sizeof(user[0])),
					user_str(c, 1, user[1], sizeof(user[1]))};
		aor_str(c, 0, uri[0], sizeof(uri[0]));
		aor_str(c, 1, uri[1], sizeof(uri[1]));
		truth_call(&j, g, c, uris, users);
	}
	es_json_arr_end(&j);
	es_json_key(&j, "packets");
	es_json_int(&j, (int64_t)g->out.packets);
	es_json_key(&j, "rtp_packets");
	es_json_int(&j, (int64_t)g->out.rtp_packets);
	es_json_key(&j, "rtcp_packets");
	es_json_int(&j, (int64_t)g->out.rtcp_packets);
	es_json_key(&j, "sip_messages");
	es_json_int(&j, (int64_t)g->out.sip_messages);
	es_json_obj_end(&j);
	es_json_end(&j);
	bool bad = ferror(f) != 0;
	if (fclose(f) != 0 || bad) {
		fprintf(stderr, GEN_TAG ": %s: write failed\n", path);
		return ES_EIO;
	}
	return 0;
}
