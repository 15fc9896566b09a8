/* import.c - `earshot import FILE...`. */
#include "cli/cli.h"
#include "core/config.h"
#include "record/record.h"

#include <stdatomic.h>

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_EXTRA_HEADERS 32

struct import_run {
	struct idx *ix;
	struct rec_recorder *rec; /* NULL: --no-audio */
	struct cli_archive arc;
	int64_t import_id;
	struct rec_store_counts n;
	bool progress;
	int64_t t0;
	const struct pol_retention *retention; /* -c with [retention]: set at indexing */
};

static void import_usage(FILE *f)
{
	fprintf(f,
		"Usage: earshot import [options] FILE...\n"
		"\n"
		"Read pcap or pcapng captures, find every SIP call and its RTP streams,\n"
		"and store them in the index.  Importing a capture again adds no\n"
		"duplicate calls.  The files form one capture: their packets are merged\n"
		"by capture time, so the order of the files does not matter.\n"
		"\n"
		"Options:\n"
		"  --data DIR          data folder (default $EARSHOT_DATA or ./earshot-data)\n"
		"  --header NAME       keep this SIP header of each call (repeatable),\n"
		"                      e.g. --header X-Account-Id\n"
		"  --idle-timeout SEC  end a call after this long without SIP or RTP (300)\n"
		"  --linger SEC        keep a call open this long after BYE (10)\n"
		"  --challenge-wait SEC  keep a call whose INVITE was challenged (401/407)\n"
		"                      open this long for the retried INVITE (120)\n"
		"  --format FMT        recording format: opus (default), wav or flac\n"
		"  --mix               one mono channel instead of caller left, callee right\n"
		"  --bitrate BPS       Ogg/Opus bit rate per channel (16000)\n"
		"  --opus-complexity N Ogg/Opus encoder complexity 0..10 (0 at 8 kHz, 5 above)\n"
		"  --threads N         threads encoding recordings (default: one per core)\n"
		"  --no-audio          index calls and streams only, write no recordings\n"
		"  --no-encrypt        store recordings in plain (default: encrypted, each\n"
		"                      with its own key; [recording] encrypt = no)\n"
		"  -c, --config FILE   apply the recording rules of this earshot.conf\n"
		"                      (docs/CONFIG.md): calls they skip are indexed\n"
		"                      without a recording\n"
		"  --progress          progress bar on stderr even when it is not a terminal\n"
		"  --no-progress       no progress bar\n"
		"  --json              print the summary as JSON on stdout\n"
		"  -h, --help          this help\n"
		"\n"
		"Exit codes: 0 ok, 1 error, 2 usage, 3 some input unreadable or\n"
		"corrupt (everything before the fault was imported).\n");
}

static void on_recording(void *ud, const struct rec_done *d)
{
	struct import_run *r = ud;
	if (!d->err && d->rec) /* its key beside its row: any web node opens it */
		rec_keys_publish(r->ix, r->arc.vault, d->rec);
	rec_store_recording(r->ix, r->arc.ledger, d, &r->n);
	if (r->retention && !d->err && rec_retention_assign(r->ix, r->retention, d->call_row))
		ES_LOG_ERR("import", "recording of call %lld: its retention times were not set: %s "
			   "(`earshot retention run` sets them)", (long long)d->call_row,
			   idx_errmsg(r->ix));
}

static int on_call(void *ud, struct idx_call *c, const char *media_log)
{
	struct import_run *r = ud;
	c->import_id = r->import_id;
	int err = rec_store_call(r->ix, r->rec, c, media_log, &r->n);
	if (err && media_log)
		unlink(media_log); /* the capture can simply be imported again */
	if (media_log)
		rec_recorder_drain(r->rec, false, on_recording, r);
	return err;
}

static void on_progress(void *ud, const struct rec_progress *p)
{
	struct import_run *r = ud;
	if (!r->progress)
		return;
	double frac = p->bytes_total ? (double)p->bytes_done / (double)p->bytes_total : 0;
	if (frac > 1)
		frac = 1;
	int w = 30, fill = (int)(frac * w);
	char bar[32];
	for (int i = 0; i < w; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[w] = '\0';
	double secs = (double)(es_mono_us() - r->t0) / 1e6;
	fprintf(stderr, "\r%-24.24s [%s] %3d%% %10llu frames %7llu calls %6.1fs", p->path, bar,
		(int)(frac * 100), (unsigned long long)p->frames, (unsigned long long)p->calls,
		secs);
	if (p->bytes_done >= p->bytes_total)
		fputc('\n', stderr);
}

/* The identity of a capture file: its size and a hash of its first 64 KiB. */
static void file_key(const char *path, char *out, size_t cap)
{
	struct stat st;
	uint8_t head[65536];
	size_t n = 0;
	FILE *f = fopen(path, "rb");
	if (f) {
		n = fread(head, 1, sizeof(head), f);
		fclose(f);
	}
	long long size = stat(path, &st) == 0 ? (long long)st.st_size : -1;
	snprintf(out, cap, "%lld:%016llx", size, (unsigned long long)es_hash(head, n, 0));
}

/* Frames the network layer could not decode, by reason: the JSON key and
 * the words of the text summary (ARP and the like are "not IP" but no
 * failure: they are left out). */
struct undecoded {
	const char *key, *what;
	uint64_t v;
};
#define UNDECODED_N 8

static size_t undecodable(const struct net_stats *n, struct undecoded *u)
{
	const struct undecoded all[] = {
		{"link_type", "unsupported link type", n->skip_linktype},
		{"truncated_frame", "truncated frames", n->skip_truncated},
		{"bad_ip_header", "bad IP header", n->skip_bad_ip},
		{"other_ip_protocol", "other IP protocols", n->skip_other_proto},
		{"gre_protocol", "GRE version or protocol not decoded", n->skip_gre_proto},
		{"mpls_payload", "MPLS payload not IP or Ethernet", n->skip_mpls_payload},
		{"tunnel_header", "malformed tunnel header", n->skip_tunnel_bad},
		{"tunnel_depth", "tunnels nested too deep", n->skip_tunnel_depth},
	};
	_Static_assert(ES_ARRAY_LEN(all) == UNDECODED_N, "undecoded reasons");
	memcpy(u, all, sizeof(all));
	return ES_ARRAY_LEN(all);
}

/* "N frames could not be decoded (140 other IP protocols, ...)" when no
 * call was found and some frames could not be decoded; else "". */
static void no_calls_note(const struct net_stats *n, const struct import_run *r, char *out,
			  size_t cap)
{
	out[0] = '\0';
	struct undecoded u[UNDECODED_N];
	size_t nu = undecodable(n, u);
	uint64_t total = 0;
	for (size_t i = 0; i < nu; i++)
		total += u[i].v;
	if (r->n.calls || r->n.calls_dup || !total)
		return;
	int w = snprintf(out, cap, "no calls found; %llu of %llu frames could not be decoded (",
			 (unsigned long long)total, (unsigned long long)n->frames);
	const char *sep = "";
	for (size_t i = 0; i < nu && w > 0 && (size_t)w < cap; i++) {
		if (!u[i].v)
			continue;
		w += snprintf(out + w, cap - (size_t)w, "%s%llu %s", sep, (unsigned long long)u[i].v,
			      u[i].what);
		sep = ", ";
	}
	if (w > 0 && (size_t)w < cap)
		snprintf(out + w, cap - (size_t)w, ")");
}

static void summary_json(FILE *f, const struct rec_engine *e, const struct import_run *r,
			 uint64_t frames, unsigned files_failed, const char *const *errors,
			 unsigned nerr)
{
	const struct rec_stats *s = rec_engine_stats(e);
	const struct net_stats *n = rec_engine_net_stats(e);
	struct es_json j;
	es_json_init(&j, f, true);
	es_json_obj_begin(&j);
	es_json_key(&j, "frames"); es_json_int(&j, (int64_t)frames);
	es_json_key(&j, "calls"); es_json_int(&j, (int64_t)r->n.calls);
	es_json_key(&j, "calls_duplicate"); es_json_int(&j, (int64_t)r->n.calls_dup);
	es_json_key(&j, "streams"); es_json_int(&j, (int64_t)r->n.streams);
	es_json_key(&j, "sip_messages"); es_json_int(&j, (int64_t)s->sip_messages);
	es_json_key(&j, "rtp_packets"); es_json_int(&j, (int64_t)s->rtp_packets);
	es_json_key(&j, "rtcp_packets"); es_json_int(&j, (int64_t)s->rtcp_packets);
	es_json_key(&j, "max_active_calls"); es_json_int(&j, (int64_t)s->max_active_calls);
	es_json_key(&j, "max_call_bytes"); es_json_int(&j, (int64_t)s->max_call_bytes);
	es_json_key(&j, "recordings"); es_json_int(&j, (int64_t)r->n.recordings);
	es_json_key(&j, "recording_bytes"); es_json_int(&j, (int64_t)r->n.recording_bytes);
	es_json_key(&j, "recorded_seconds"); es_json_double(&j, (double)r->n.recorded_us / 1e6, 3);
	if (r->rec) { /* the encoder pool: its threads and how many worked at once */
		struct rec_backlog bl;
		rec_recorder_backlog(r->rec, &bl);
		es_json_key(&j, "encode_threads"); es_json_int(&j, bl.threads);
		es_json_key(&j, "encode_parallel_max"); es_json_int(&j, bl.encoding_max);
	}
	es_json_key(&j, "calls_without_audio"); es_json_int(&j, (int64_t)r->n.no_audio);
	es_json_key(&j, "recordings_one_sided"); es_json_int(&j, (int64_t)r->n.one_sided);
	es_json_key(&j, "recording_errors"); es_json_int(&j, (int64_t)r->n.recording_errors);
	es_json_key(&j, "calls_not_recorded"); es_json_int(&j, (int64_t)r->n.not_recorded);
	es_json_key(&j, "calls_cut"); es_json_int(&j, (int64_t)r->n.cut);
	es_json_key(&j, "calls_undecoded_codec"); es_json_int(&j, (int64_t)r->n.undecoded);
	es_json_key(&j, "undecoded_codecs"); es_json_str(&j, r->n.undecoded_codecs);
	es_json_key(&j, "files_failed"); es_json_int(&j, files_failed);
	es_json_key(&j, "errors");
	es_json_arr_begin(&j);
	for (unsigned i = 0; i < nerr; i++)
		es_json_str(&j, errors[i]);
	es_json_arr_end(&j);
	es_json_key(&j, "skipped");
	es_json_obj_begin(&j);
	const struct { const char *k; uint64_t v; } sk[] = {
		{"link_type", n->skip_linktype},
		{"truncated_frame", n->skip_truncated},
		{"not_ip", n->skip_non_ip},
		{"bad_ip_header", n->skip_bad_ip},
		{"other_ip_protocol", n->skip_other_proto},
		{"fragments_expired", n->frag_expired},
		{"fragments_over_limit", n->frag_overflow},
		{"tcp_retransmission", n->tcp_retrans},
		{"tcp_gap", n->tcp_gaps},
		{"tcp_bytes_over_limit", n->tcp_overflow},
		{"gre_protocol", n->skip_gre_proto},
		{"mpls_payload", n->skip_mpls_payload},
		{"tunnel_header", n->skip_tunnel_bad},
		{"tunnel_depth", n->skip_tunnel_depth},
		{"sctp_no_data", n->skip_sctp_no_data},
		{"sctp_retransmission", n->sctp_dup},
		{"sctp_fragments_dropped", n->sctp_dropped},
		{"websocket_errors", n->ws_errors},
		{"tcp_bytes_not_sip", s->tcp_not_sip},
		{"sip_unparsable", s->sip_parse_errors},
		{"sip_not_in_call", s->sip_non_call},
		{"sip_after_call_end", s->sip_late},
		{"sip_orphan", s->sip_orphans},
		{"sdp_unparsable", s->sdp_errors},
		{"rtp_no_call", s->rtp_no_call},
		{"rtcp_no_call", s->rtcp_no_call},
		{"udp_other", s->udp_other},
		{"store_errors", r->n.store_errors},
		{"spool_errors", s->spool_errors},
	};
	for (size_t i = 0; i < ES_ARRAY_LEN(sk); i++) {
		es_json_key(&j, sk[i].k);
		es_json_int(&j, (int64_t)sk[i].v);
	}
	es_json_obj_end(&j);
	es_json_key(&j, "sip_retransmissions"); es_json_int(&j, (int64_t)s->sip_retransmissions);
	es_json_key(&j, "ip_reassembled"); es_json_int(&j, (int64_t)n->frag_reassembled);
	es_json_key(&j, "tunnels");
	es_json_obj_begin(&j);
	for (int k = 0; k < NET_TUN_N; k++) {
		es_json_key(&j, net_tunnel_name(k));
		es_json_int(&j, (int64_t)n->decap[k]);
	}
	es_json_obj_end(&j);
	es_json_key(&j, "sctp_messages"); es_json_int(&j, (int64_t)n->sctp_messages);
	es_json_key(&j, "websocket_messages"); es_json_int(&j, (int64_t)n->ws_messages);
	struct undecoded u[UNDECODED_N];
	size_t nu = undecodable(n, u);
	uint64_t total = 0;
	for (size_t i = 0; i < nu; i++)
		total += u[i].v;
	es_json_key(&j, "undecodable_frames"); es_json_int(&j, (int64_t)total);
	char note[512];
	no_calls_note(n, r, note, sizeof(note));
	es_json_key(&j, "warnings");
	es_json_arr_begin(&j);
	if (note[0])
		es_json_str(&j, note);
	es_json_arr_end(&j);
	es_json_obj_end(&j);
	es_json_end(&j);
}

static void summary_text(FILE *f, const struct rec_engine *e, const struct import_run *r,
			 uint64_t frames, double secs)
{
	const struct rec_stats *s = rec_engine_stats(e);
	const struct net_stats *n = rec_engine_net_stats(e);
	fprintf(f, "imported %llu frames in %.2f s: %llu calls (%llu already in the index), "
		"%llu streams, %llu SIP messages, %llu RTP + %llu RTCP packets\n",
		(unsigned long long)frames, secs, (unsigned long long)r->n.calls,
		(unsigned long long)r->n.calls_dup, (unsigned long long)r->n.streams,
		(unsigned long long)s->sip_messages, (unsigned long long)s->rtp_packets,
		(unsigned long long)s->rtcp_packets);
	if (r->rec)
		fprintf(f, "recorded %llu calls (%.1f min of audio, %.1f MiB, %llu one-sided); "
			"%llu without audio\n", (unsigned long long)r->n.recordings,
			(double)r->n.recorded_us / 60e6, (double)r->n.recording_bytes / 1048576.0,
			(unsigned long long)r->n.one_sided, (unsigned long long)r->n.no_audio);
	if (r->n.undecoded)
		fprintf(f, "%llu calls with media in a codec earshot does not decode (%s): "
			"flagged undecoded_codec, that audio is not in their recordings\n",
			(unsigned long long)r->n.undecoded, r->n.undecoded_codecs);
	bool tun = false;
	for (int k = 0; k < NET_TUN_N; k++) {
		if (!n->decap[k])
			continue;
		fprintf(f, "%s%s %llu", tun ? ", " : "tunnels peeled: ", net_tunnel_name(k),
			(unsigned long long)n->decap[k]);
		tun = true;
	}
	if (tun)
		fprintf(f, "\n");
	if (n->sctp_messages || n->ws_messages)
		fprintf(f, "SIP over SCTP: %llu messages; over WebSocket: %llu messages\n",
			(unsigned long long)n->sctp_messages, (unsigned long long)n->ws_messages);
	const struct { const char *k; uint64_t v; } sk[] = {
		{"unsupported link type", n->skip_linktype},
		{"truncated frames", n->skip_truncated},
		{"not IP", n->skip_non_ip},
		{"bad IP header", n->skip_bad_ip},
		{"other IP protocols", n->skip_other_proto},
		{"expired IP fragments", n->frag_expired},
		{"IP fragments over the memory limit", n->frag_overflow},
		{"TCP retransmissions", n->tcp_retrans},
		{"TCP gaps", n->tcp_gaps},
		{"GRE version or protocol not decoded", n->skip_gre_proto},
		{"MPLS payload not IP or Ethernet", n->skip_mpls_payload},
		{"malformed tunnel headers", n->skip_tunnel_bad},
		{"tunnels nested too deep", n->skip_tunnel_depth},
		{"SCTP packets without SIP data", n->skip_sctp_no_data},
		{"SCTP retransmissions", n->sctp_dup},
		{"SCTP fragments dropped", n->sctp_dropped},
		{"WebSocket frames not decoded", n->ws_errors},
		{"TCP bytes that were not SIP", s->tcp_not_sip},
		{"unparsable SIP", s->sip_parse_errors},
		{"SIP outside calls (REGISTER, OPTIONS...)", s->sip_non_call},
		{"SIP after the call ended", s->sip_late},
		{"SIP responses of no call (orphans)", s->sip_orphans},
		{"unparsable SDP", s->sdp_errors},
		{"RTP matching no call", s->rtp_no_call},
		{"RTCP matching no call", s->rtcp_no_call},
		{"other UDP", s->udp_other},
		{"calls not stored", r->n.store_errors},
		{"recordings failed", r->n.recording_errors},
		{"media logs failed", s->spool_errors},
	};
	bool any = false;
	for (size_t i = 0; i < ES_ARRAY_LEN(sk); i++) {
		if (!sk[i].v)
			continue;
		if (!any)
			fprintf(f, "skipped:\n");
		any = true;
		fprintf(f, "  %-42s %llu\n", sk[i].k, (unsigned long long)sk[i].v);
	}
}

int cli_import(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"data", required_argument, NULL, 'd'},
		{"header", required_argument, NULL, 'H'},
		{"idle-timeout", required_argument, NULL, 'I'},
		{"linger", required_argument, NULL, 'L'},
		{"challenge-wait", required_argument, NULL, 'C'},
		{"progress", no_argument, NULL, 'p'},
		{"no-progress", no_argument, NULL, 'P'},
		{"json", no_argument, NULL, 'j'},
		{"format", required_argument, NULL, 'f'},
		{"mix", no_argument, NULL, 'm'},
		{"bitrate", required_argument, NULL, 'b'},
		{"opus-complexity", required_argument, NULL, 'O'},
		{"threads", required_argument, NULL, 't'},
		{"no-audio", no_argument, NULL, 'n'},
		{"no-encrypt", no_argument, NULL, 'E'},
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	const char *extra[MAX_EXTRA_HEADERS + 1] = {0};
	unsigned nextra = 0;
	bool json = false;
	int progress = isatty(2) ? 1 : 0;
	struct rec_config cfg;
	rec_config_default(&cfg);
	struct rec_store_config scfg = {.render = {.format = MEDIA_OPUS,
						   .writer = {.opus_complexity = -1}}};
	bool audio = true;
	int encrypt = -1; /* -1: as configured (default yes) */
	const char *config = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "hc:", opts, NULL)) != -1) {
		switch (c) {
		case 'd': ctx->data_dir = optarg; break;
		case 'H':
			if (nextra == MAX_EXTRA_HEADERS) {
				fprintf(stderr, "earshot import: at most %d --header\n", MAX_EXTRA_HEADERS);
				return CLI_USAGE;
			}
			extra[nextra++] = optarg;
			break;
		case 'I':
		case 'L':
		case 'C': {
			uint64_t v;
			if (sl_to_u64(sl_cstr(optarg), &v) || v > 86400 * 30) {
				fprintf(stderr, "earshot import: bad number of seconds '%s'\n", optarg);
				return CLI_USAGE;
			}
			*(c == 'I' ? &cfg.idle_timeout_us
			  : c == 'L' ? &cfg.end_linger_us : &cfg.challenge_wait_us) =
				(int64_t)v * ES_US_PER_SEC;
			break;
		}
		case 'f':
			if (media_format_parse(optarg, &scfg.render.format)) {
				fprintf(stderr, "earshot import: unknown format '%s' (opus, wav, flac)\n",
					optarg);
				return CLI_USAGE;
			}
			break;
		case 'm': scfg.render.mix = true; break;
		case 'O': {
			uint64_t v;
			if (sl_to_u64(sl_cstr(optarg), &v) || v > 10) {
				fprintf(stderr, "earshot import: bad complexity '%s' (0..10)\n", optarg);
				return CLI_USAGE;
			}
			scfg.render.writer.opus_complexity = (int)v;
			break;
		}
		case 'b':
		case 't': {
			uint64_t v;
			if (sl_to_u64(sl_cstr(optarg), &v) || (c == 'b' ? v < 6000 || v > 256000 : v > 64)) {
				fprintf(stderr, "earshot import: bad %s '%s'\n",
					c == 'b' ? "bit rate" : "thread count", optarg);
				return CLI_USAGE;
			}
			if (c == 'b')
				scfg.render.writer.opus_bitrate = (int)v;
			else
				scfg.threads = (unsigned)v;
			break;
		}
		case 'n': audio = false; break;
		case 'E': encrypt = 0; break;
		case 'c': config = optarg; break;
		case 'p': progress = 1; break;
		case 'P': progress = 0; break;
		case 'j': json = true; break;
		case 'h': import_usage(stdout); return CLI_OK;
		default: import_usage(stderr); return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "earshot import: no capture file given\n");
		import_usage(stderr);
		return CLI_USAGE;
	}
	cfg.extra_headers = extra;
	struct pol_rules *rules = NULL;
	struct pol_retention *retention = NULL;
	const struct pol_rules *_Atomic rules_ref = NULL;
	struct cli_ledger_settings ledger_settings = {0};
	struct cli_blob_settings blob_settings = {0};
	struct an_check_limits checks;
	an_check_limits_default(&checks);
	scfg.checks = &checks;
	if (config) {
		struct es_conf conf;
		char err[1024];
		int rc = es_conf_load(&conf, config, err, sizeof(err));
		if (!rc)
			rc = pol_rules_from_conf(&rules, &conf, err, sizeof(err));
		if (!rc)
			rc = cli_ledger_apply_config(&ledger_settings, &conf, err, sizeof(err));
		if (!rc)
			rc = pol_retention_from_conf(&retention, &conf, err, sizeof(err));
		if (!rc)
			rc = cli_blobs_apply_config(&blob_settings, &conf, err, sizeof(err));
		if (!rc)
			rc = an_check_conf(&checks, &conf, err, sizeof(err));
		bool enc;
		int brc = rc ? ES_ENOTFOUND : es_conf_bool(&conf, "recording", "encrypt", &enc, err,
							 sizeof(err));
		if (brc == 0 && encrypt < 0)
			encrypt = enc;
		else if (brc && brc != ES_ENOTFOUND)
			rc = brc;
		int64_t cx;
		brc = rc ? ES_ENOTFOUND
			 : es_conf_int(&conf, "recording", "opus_complexity", 0, 10, &cx, err,
				       sizeof(err));
		if (brc == 0 && scfg.render.writer.opus_complexity < 0)
			scfg.render.writer.opus_complexity = (int)cx;
		else if (brc && brc != ES_ENOTFOUND)
			rc = brc;
		es_conf_free(&conf);
		if (rc) {
			fprintf(stderr, "earshot import: %s\n", err);
			pol_rules_free(rules);
			pol_retention_free(retention);
			return CLI_USAGE;
		}
		atomic_store(&rules_ref, rules);
		cfg.rules = &rules_ref;
	}

	struct import_run run = {.progress = progress, .t0 = es_mono_us(), .retention = retention};
	struct rec_engine *e = NULL;
	int rc = CLI_OK;
	unsigned files_failed = 0, nerr = 0;
	char *errors[64];
	uint64_t frames = 0;
	int64_t last_ts = 0;

	if (cli_open_index(ctx, true, &run.ix))
		return CLI_ERR;
	if (cli_blobs_remember(ctx, &blob_settings, "earshot import")) {
		idx_close(run.ix);
		return CLI_ERR;
	}
	rec_keys_publish_blobs(ctx->data_dir, run.ix); /* web nodes read its archive */
	char spool[1024];
	if (audio) {
		if (scfg.render.writer.opus_bitrate)
			scfg.render.writer.opus_bitrate *= scfg.render.mix ? 1 : 2;
		snprintf(spool, sizeof(spool), "%s/spool", ctx->data_dir);
		if (mkdir(spool, 0750) && errno != EEXIST) {
			fprintf(stderr, "earshot import: cannot create %s: %s\n", spool, strerror(errno));
			idx_close(run.ix);
			return CLI_ERR;
		}
		cfg.spool_dir = spool;
		scfg.data_dir = ctx->data_dir;
		run.arc.settings = &ledger_settings;
		if (cli_archive_open(ctx, run.ix, encrypt != 0, &run.arc, "earshot import")) {
			idx_close(run.ix);
			return CLI_ERR;
		}
		scfg.vault = run.arc.vault;
		cfg.spool_vault = run.arc.vault;
		if (rec_recorder_new(&run.rec, &scfg)) {
			fprintf(stderr, "earshot import: cannot start the encoding threads\n");
			cli_archive_close(&run.arc);
			idx_close(run.ix);
			return CLI_ERR;
		}
	}
	if (rec_engine_new(&e, &cfg, on_call, &run)) {
		fprintf(stderr, "earshot import: out of memory\n");
		rec_recorder_free(run.rec);
		cli_archive_close(&run.arc);
		idx_close(run.ix);
		return CLI_ERR;
	}
	char key[64];
	file_key(argv[optind], key, sizeof(key));
	struct idx_import imp = {.path = argv[optind], .file_key = key,
				 .status = "running"};
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	imp.started_us = (int64_t)now.tv_sec * ES_US_PER_SEC + now.tv_nsec / 1000;
	if (idx_import_begin(run.ix, &imp)) {
		fprintf(stderr, "earshot import: %s\n", idx_errmsg(run.ix));
		rc = CLI_ERR;
		goto out;
	}
	run.import_id = imp.id;
	/* The files are one capture: their frames are merged by time, so the
	 * order they are given in does not matter.  One transaction keeps
	 * inserts fast; a crash loses the calls of this import, which can
	 * simply be run again (no duplicates). */
	unsigned nfiles = (unsigned)(argc - optind);
	struct rec_import_result *results = calloc(nfiles, sizeof(*results));
	if (!results) {
		fprintf(stderr, "earshot import: out of memory\n");
		rc = CLI_ERR;
		goto out;
	}
	idx_begin(run.ix);
	rec_import_files(e, (const char *const *)argv + optind, nfiles, on_progress, &run, results);
	for (unsigned i = 0; i < nfiles; i++) {
		struct rec_import_result *res = &results[i];
		frames += res->frames;
		if (res->last_us > last_ts)
			last_ts = res->last_us;
		if (res->status) {
			files_failed++;
			fprintf(stderr, "earshot import: %s\n", res->error);
			if (nerr < ES_ARRAY_LEN(errors))
				errors[nerr++] = strdup(res->error);
			rc = CLI_INPUT;
		}
	}
	free(results);
	if (idx_commit(run.ix)) {
		fprintf(stderr, "earshot import: %s\n", idx_errmsg(run.ix));
		rc = CLI_ERR;
	}
	idx_begin(run.ix);
	rec_engine_flush(e, last_ts);
	if (run.rec) {
		if (progress)
			fprintf(stderr, "earshot import: finishing recordings...\n");
		rec_recorder_drain(run.rec, true, on_recording, &run);
	}
	if (idx_commit(run.ix)) {
		fprintf(stderr, "earshot import: %s\n", idx_errmsg(run.ix));
		rc = CLI_ERR;
	}
	if (cli_archive_commit(&run.arc))
		rc = CLI_ERR;
	/* durable and indexed: now the bucket (a failure stays queued) */
	struct rec_tier_counts tiered;
	if (run.rec && cli_blobs_pass(ctx, run.ix, cli_wall_us(), false, &tiered,
				      "earshot import") && rc == CLI_OK)
		rc = CLI_ERR;

	char *sum = NULL;
	size_t sumlen = 0;
	FILE *mf = open_memstream(&sum, &sumlen);
	if (mf) {
		summary_json(mf, e, &run, frames, files_failed, (const char *const *)errors, nerr);
		fclose(mf);
	}
	clock_gettime(CLOCK_REALTIME, &now);
	imp.finished_us = (int64_t)now.tv_sec * ES_US_PER_SEC + now.tv_nsec / 1000;
	imp.frames = frames;
	imp.calls_new = run.n.calls;
	imp.calls_dup = run.n.calls_dup;
	imp.streams = run.n.streams;
	imp.status = files_failed ? "partial" : "done";
	imp.summary_json = sum;
	if (idx_import_finish(run.ix, &imp))
		fprintf(stderr, "earshot import: %s\n", idx_errmsg(run.ix));
	if (json && sum)
		fputs(sum, stdout);
	else if (!json)
		summary_text(stdout, e, &run, frames, (double)(es_mono_us() - run.t0) / 1e6);
	free(sum);
	char note[512];
	no_calls_note(rec_engine_net_stats(e), &run, note, sizeof(note));
	if (note[0])
		fprintf(stderr, "earshot import: %s\n", note);
	if ((run.n.store_errors || run.n.recording_errors) && rc == CLI_OK)
		rc = CLI_ERR;
out:
	for (unsigned i = 0; i < nerr; i++)
		free(errors[i]);
	rec_engine_free(e);
	rec_recorder_free(run.rec);
	cli_archive_close(&run.arc);
	idx_close(run.ix);
	pol_rules_free(rules);
	pol_retention_free(retention);
	return rc;
}
