/* record.c - `earshot record` (live recording, and the SIPREC server when
 * enabled), `earshot srs` (the same without capture) and `earshot status`.
 * The run itself (data folder, loop, status) is in run.c, the SIPREC
 * server's settings in srs.c. */
#include "analytics/alert.h"
#include "analytics/textan.h"
#include "api/server.h"
#include "cli/cli.h"
#include "core/config.h"
#include "record/record.h"

#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define TAG "record"

static void record_usage(FILE *f)
{
	fprintf(f,
		"Usage: earshot record [options] -i IFACE [-i IFACE...] [--srs]\n"
		"\n"
		"Capture SIP calls and their RTP live from network interfaces (a mirror\n"
		"port), record them by the configured rules and index them, until\n"
		"SIGTERM or SIGINT, which finish every live call cleanly.  SIGHUP reloads\n"
		"the recording rules from the configuration file.  While a call is live\n"
		"its audio is spooled (written at least every second); on start, spool\n"
		"files left by a crash are finished as recordings marked \"recovered\".\n"
		"With --srs (or [srs] enabled = yes) the SIPREC recording server runs\n"
		"too (see `earshot srs --help` for its options, all accepted here);\n"
		"without an interface it runs alone.\n"
		"\n"
		"Options (each overrides the configuration file; docs/CONFIG.md):\n"
		"  -i, --interface IFACE  capture here (repeatable; \"any\" for all)\n"
		"  --filter BPF           capture filter (default \"udp or tcp\")\n"
		"  -c, --config FILE      earshot.conf: settings and recording rules\n"
		"  --data DIR             data folder (default from the configuration,\n"
		"                         else $EARSHOT_DATA or ./earshot-data)\n"
		"  --workers N            call-processing threads (default cores - 1)\n"
		"  --encode-threads N     threads encoding recordings: auto (one per core,\n"
		"                         the default) or 1..64\n"
		"  --format FMT           opus (default), wav or flac\n"
		"  --mix                  mono recordings\n"
		"  --idle-timeout SEC     end a call without SIP or RTP for this long (300)\n"
		"  --rtp-timeout SEC      end an answered call whose RTP stopped (60)\n"
		"  --linger SEC           keep a call open after BYE (10)\n"
		"  --challenge-wait SEC   keep a call challenged with 401/407 open for\n"
		"                         the retried INVITE (120)\n"
		"  --max-duration SEC     end (and record) a call at this length (14400)\n"
		"  --buffer BYTES         kernel capture ring per interface (64M)\n"
		"  --status-interval SEC  how often DIR/run/status.json is written (1)\n"
		"  --min-free BYTES       warn when free space in DIR falls below (1G)\n"
		"  --srs                  also run the SIPREC recording server\n"
		"  --api ADDR:PORT        also serve the web UI and REST API there, as\n"
		"                         `earshot serve` does ([api] in the configuration)\n"
		"  -h, --help             this help\n"
		"\n"
		"Exit codes: 0 stopped cleanly, 1 error (capture, SIP sockets, index),\n"
		"2 usage or a bad configuration file.\n");
}

/* ---- settings -------------------------------------------------------------------- */

/* Read [earshot], [capture], [calls], [recording] and [srs] of the
 * configuration (the rules are read by pol_rules_from_conf). */
static int apply_config(struct cli_ctx *ctx, struct cli_settings *s, const struct es_conf *c,
			char *err, size_t errlen)
{
	static const char *const k_earshot[] = {"data", "index", "log_level", "syslog", "blobs",
						"archive_after", "node", NULL};
	static const char *const k_capture[] = {"interface", "filter", "snaplen", "buffer",
						"workers", NULL};
	static const char *const k_calls[] = {"idle_timeout", "rtp_timeout", "max_duration",
					      "linger", "session_timers", "challenge_wait", NULL};
	static const char *const k_rec[] = {"format", "mix", "bitrate", "encode_threads",
					    "spool_sync", "min_free", "default", "timezone",
					    "encrypt", "opus_bitrate", "opus_complexity", NULL};
	static const char *const sections[] = {"earshot", "capture", "calls", "recording",
					       "networks", "do-not-record", "srs", "api",
					       "ledger", "anchor", "s3", "metrics", "checks",
					       "transcription", "index"}; /* cli_tr_bg_start checks it */
	for (size_t i = 0; i < c->n; i++) {
		const char *sec = c->e[i].section;
		bool known = !strncasecmp(sec, "rule ", 5) || !strncasecmp(sec, "retention ", 10) ||
			     !strcasecmp(sec, "retention") || /* policy/retention.c checks them */
			     an_alerts_is_section(sec) ||    /* analytics/alert.c checks them */
			     !strncasecmp(sec, "keywords ", 9) || !strcasecmp(sec, "sentiment") ||
			     !strcasecmp(sec, "redact_speech"); /* ta_config_load, below */
		for (size_t k = 0; k < ES_ARRAY_LEN(sections) && !known; k++)
			known = !strcasecmp(sec, sections[k]);
		if (!known) {
			snprintf(err, errlen, "%s:%u: unknown section [%s]", c->path, c->e[i].line, sec);
			return ES_EPARSE;
		}
	}
	int rc;
	if ((rc = es_conf_check_keys(c, "earshot", k_earshot, err, errlen)) ||
	    (rc = es_conf_check_keys(c, "capture", k_capture, err, errlen)) ||
	    (rc = es_conf_check_keys(c, "calls", k_calls, err, errlen)) ||
	    (rc = es_conf_check_keys(c, "recording", k_rec, err, errlen)) ||
	    (rc = cli_srs_apply_config(&s->srs, c, err, errlen)) ||
	    (rc = cli_web_apply_config(&s->web, c, err, errlen)) ||
	    (rc = cli_ledger_apply_config(&s->ledger, c, err, errlen)) ||
	    (rc = an_check_conf(&s->checks, c, err, errlen)))
		return rc;
	struct ta_config ta; /* the text analyses' sections: refuse a bad one at start */
	if ((rc = ta_config_load(&ta, c, err, errlen)))
		return rc;
	ta_config_free(&ta);
	static const char *const k_metrics[] = {"listen", NULL};
	const struct es_conf_entry *me;
	if ((rc = es_conf_check_keys(c, "metrics", k_metrics, err, errlen)))
		return rc;
	if ((me = es_conf_find(c, "metrics", "listen"))) {
		if (cli_parse_listen(me->value, s->metrics_host, sizeof(s->metrics_host),
				     &s->metrics_port)) {
			snprintf(err, errlen, "%s:%u: listen: expected ADDR:PORT, not '%s'", c->path,
				 me->line, me->value);
			return ES_EPARSE;
		}
		s->metrics_on = true;
	}
	const struct es_conf_entry *e;
	if (!ctx->data_explicit && (e = es_conf_find(c, "earshot", "data")))
		ctx->data_dir = e->value;
	if (!ctx->index_explicit && (e = es_conf_find(c, "earshot", "index")))
		ctx->index = e->value;
	if (!ctx->node_explicit && (e = es_conf_find(c, "earshot", "node")))
		ctx->node = e->value;
	if ((e = es_conf_find(c, "earshot", "log_level"))) {
		int lvl;
		if (es_log_level_parse(e->value, &lvl)) {
			snprintf(err, errlen, "%s:%u: log_level: '%s' is not error, warn, info or debug",
				 c->path, e->line, e->value);
			return ES_EPARSE;
		}
		if (!ctx->verbosity_explicit)
			es_log_set_level((enum es_log_level)lvl);
	}
	bool b;
	if ((rc = es_conf_bool(c, "earshot", "syslog", &b, err, errlen)) == 0)
		es_log_syslog("earshot", b);
	else if (rc != ES_ENOTFOUND)
		return rc;
	if (s->nifaces == 0) {
		for (size_t i = 0; i < c->n && s->nifaces < CLI_MAX_IFACES; i++)
			if (!strcasecmp(c->e[i].section, "capture") && !strcmp(c->e[i].key, "interface"))
				s->ifaces[s->nifaces++] = c->e[i].value;
	}
	if (!s->filter && (e = es_conf_find(c, "capture", "filter")))
		s->filter = e->value;
	int64_t v;
#define OPT(call) do { rc = (call); if (rc && rc != ES_ENOTFOUND) return rc; } while (0)
	if (!(rc = es_conf_int(c, "capture", "snaplen", 64, 262144, &v, err, errlen)))
		s->snaplen = (int)v;
	else if (rc != ES_ENOTFOUND)
		return rc;
	OPT(es_conf_size(c, "capture", "buffer", &s->buffer_bytes, err, errlen));
	if (!(rc = es_conf_int(c, "capture", "workers", 0, 64, &v, err, errlen)))
		s->workers = (unsigned)v;
	else if (rc != ES_ENOTFOUND)
		return rc;
	OPT(es_conf_duration(c, "calls", "idle_timeout", &s->engine.idle_timeout_us, err, errlen));
	OPT(es_conf_duration(c, "calls", "rtp_timeout", &s->engine.rtp_timeout_us, err, errlen));
	OPT(es_conf_duration(c, "calls", "max_duration", &s->engine.max_duration_us, err, errlen));
	OPT(es_conf_duration(c, "calls", "linger", &s->engine.end_linger_us, err, errlen));
	OPT(es_conf_duration(c, "calls", "challenge_wait", &s->engine.challenge_wait_us, err,
			     errlen));
	OPT(es_conf_bool(c, "calls", "session_timers", &s->engine.session_timers, err, errlen));
	if ((e = es_conf_find(c, "recording", "format")) &&
	    media_format_parse(e->value, &s->store.render.format)) {
		snprintf(err, errlen, "%s:%u: format: '%s' is not opus, wav or flac", c->path,
			 e->line, e->value);
		return ES_EPARSE;
	}
	OPT(es_conf_bool(c, "recording", "mix", &s->store.render.mix, err, errlen));
	OPT(es_conf_bool(c, "recording", "encrypt", &s->encrypt, err, errlen));
	if (!(rc = es_conf_int(c, "recording", "bitrate", 6000, 256000, &v, err, errlen)))
		s->store.render.writer.opus_bitrate = (int)v;
	else if (rc != ES_ENOTFOUND)
		return rc;
	/* opus_bitrate: the same per-party rate under the name that says so. */
	if (!(rc = es_conf_int(c, "recording", "opus_bitrate", 6000, 256000, &v, err, errlen)))
		s->store.render.writer.opus_bitrate = (int)v;
	else if (rc != ES_ENOTFOUND)
		return rc;
	if (!(rc = es_conf_int(c, "recording", "opus_complexity", 0, 10, &v, err, errlen)))
		s->store.render.writer.opus_complexity = (int)v;
	else if (rc != ES_ENOTFOUND)
		return rc;
	/* auto (0): one per online core, taken when the recorder starts */
	const struct es_conf_entry *et = es_conf_find(c, "recording", "encode_threads");
	if (et && !strcasecmp(et->value, "auto"))
		s->encode_threads = 0;
	else if (!(rc = es_conf_int(c, "recording", "encode_threads", 1, 64, &v, err, errlen)))
		s->encode_threads = (unsigned)v;
	else if (rc != ES_ENOTFOUND)
		return rc;
	OPT(es_conf_bool(c, "recording", "spool_sync", &s->engine.spool_sync, err, errlen));
	OPT(es_conf_size(c, "recording", "min_free", &s->min_free, err, errlen));
#undef OPT
	return 0;
}


/* Options of `record` only: `earshot srs` refuses them. */
enum {
	OPT_SRS_FIRST = 1000, /* the SRS options: handed to cli_srs_option by name */
	OPT_SRS = 2000,
	OPT_API,
};

static void settings_default(struct cli_settings *s, const char *cmd)
{
	memset(s, 0, sizeof(*s));
	s->cmd = cmd;
	rec_config_default(&s->engine);
	s->engine.source = "live";
	s->engine.rtp_timeout_us = 60 * ES_US_PER_SEC;
	s->engine.max_duration_us = 4 * 3600 * ES_US_PER_SEC;
	s->engine.session_timers = true;
	s->engine.spool_flush_us = ES_US_PER_SEC;
	s->store.render.format = MEDIA_OPUS;
	an_check_limits_default(&s->checks);
	s->store.checks = &s->checks;
	s->store.render.writer.opus_complexity = -1;
	s->encode_threads = 0; /* auto */
	s->status_interval_us = ES_US_PER_SEC;
	s->encrypt = true;
	s->min_free = (uint64_t)1 << 30;
	cli_srs_settings_init(&s->srs);
	cli_web_defaults(&s->web);
}

int cli_record_main(struct cli_ctx *ctx, int argc, char **argv, bool srs_only)
{
	static const struct option opts[] = {
		{"interface", required_argument, NULL, 'i'},
		{"filter", required_argument, NULL, 'F'},
		{"config", required_argument, NULL, 'c'},
		{"data", required_argument, NULL, 'd'},
		{"workers", required_argument, NULL, 'w'},
		{"encode-threads", required_argument, NULL, 'E'},
		{"format", required_argument, NULL, 'f'},
		{"mix", no_argument, NULL, 'm'},
		{"idle-timeout", required_argument, NULL, 'I'},
		{"rtp-timeout", required_argument, NULL, 'R'},
		{"linger", required_argument, NULL, 'L'},
		{"challenge-wait", required_argument, NULL, 'C'},
		{"max-duration", required_argument, NULL, 'M'},
		{"buffer", required_argument, NULL, 'B'},
		{"status-interval", required_argument, NULL, 'S'},
		{"min-free", required_argument, NULL, 'N'},
		{"srs", no_argument, NULL, OPT_SRS},
		{"api", required_argument, NULL, OPT_API},
		{"listen", required_argument, NULL, OPT_SRS_FIRST},
		{"media-addr", required_argument, NULL, OPT_SRS_FIRST},
		{"rtp-ports", required_argument, NULL, OPT_SRS_FIRST},
		{"max-sessions", required_argument, NULL, OPT_SRS_FIRST},
		{"retry-after", required_argument, NULL, OPT_SRS_FIRST},
		{"allow", required_argument, NULL, OPT_SRS_FIRST},
		{"session-timeout", required_argument, NULL, OPT_SRS_FIRST},
		{"require-srtp", no_argument, NULL, OPT_SRS_FIRST},
		{"tls-cert", required_argument, NULL, OPT_SRS_FIRST},
		{"tls-key", required_argument, NULL, OPT_SRS_FIRST},
		{"tls-ca", required_argument, NULL, OPT_SRS_FIRST},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	const char *cmd = srs_only ? "earshot srs" : "earshot record";
	void (*usage)(FILE *) = srs_only ? cli_srs_usage : record_usage;
	struct cli_settings s;
	settings_default(&s, cmd);
	/* command-line values, applied after the configuration file */
	struct cli_settings cli;
	memset(&cli, 0, sizeof(cli));
	cli_srs_settings_init(&cli.srs);
	int64_t cli_idle = -1, cli_rtp = -1, cli_linger = -1, cli_max = -1, cli_chal = -1;
	int cli_format = -1, cli_mix = 0;
	const char *cli_api = NULL;
	int c, rc, li;
	while ((c = getopt_long(argc, argv, srs_only ? "hc:" : "hi:c:", opts, &li)) != -1) {
		uint64_t v;
		if (srs_only && (c == 'i' || c == 'F' || c == 'w' || c == 'L' || c == 'B' ||
				 c == OPT_SRS)) {
			/* long options only here: -i is not in srs's short ones */
			fprintf(stderr, "%s: --%s is an option of `earshot record` (which runs the "
				"SIPREC server too with --srs)\n", cmd, opts[li].name);
			return CLI_USAGE;
		}
		switch (c) {
		case 'i':
			if (cli.nifaces == CLI_MAX_IFACES) {
				fprintf(stderr, "%s: at most %d interfaces\n", cmd, CLI_MAX_IFACES);
				return CLI_USAGE;
			}
			cli.ifaces[cli.nifaces++] = optarg;
			break;
		case 'F': cli.filter = optarg; break;
		case 'c': cli.config = optarg; break;
		case 'd': ctx->data_dir = optarg; ctx->data_explicit = true; break;
		case 'E':
			if (!strcasecmp(optarg, "auto")) {
				cli.encode_threads = CLI_THREADS_AUTO;
				break;
			}
			/* fall through */
		case 'w':
			if (sl_to_u64(sl_cstr(optarg), &v) || v > 64 || (c == 'E' && v == 0)) {
				fprintf(stderr, "%s: %s: bad thread count '%s'\n", cmd,
					c == 'w' ? "--workers" : "--encode-threads", optarg);
				return CLI_USAGE;
			}
			*(c == 'w' ? &cli.workers : &cli.encode_threads) = (unsigned)v;
			break;
		case 'f': {
			enum media_format f;
			if (media_format_parse(optarg, &f)) {
				fprintf(stderr, "%s: --format: unknown format '%s'\n", cmd, optarg);
				return CLI_USAGE;
			}
			cli_format = (int)f;
			break;
		}
		case 'm': cli_mix = 1; break;
		case 'I': if ((rc = cli_parse_secs(cmd, "--idle-timeout", optarg, &cli_idle))) return rc; break;
		case 'R': if ((rc = cli_parse_secs(cmd, "--rtp-timeout", optarg, &cli_rtp))) return rc; break;
		case 'L': if ((rc = cli_parse_secs(cmd, "--linger", optarg, &cli_linger))) return rc; break;
		case 'C': if ((rc = cli_parse_secs(cmd, "--challenge-wait", optarg, &cli_chal))) return rc; break;
		case 'M': if ((rc = cli_parse_secs(cmd, "--max-duration", optarg, &cli_max))) return rc; break;
		case 'S': if ((rc = cli_parse_secs(cmd, "--status-interval", optarg, &cli.status_interval_us))) return rc; break;
		case 'B': if ((rc = cli_parse_size(cmd, "--buffer", optarg, &cli.buffer_bytes))) return rc; break;
		case 'N': if ((rc = cli_parse_size(cmd, "--min-free", optarg, &cli.min_free))) return rc; break;
		case OPT_SRS: cli.srs.enabled = true; break;
		case OPT_API: cli_api = optarg; break;
		case OPT_SRS_FIRST:
			if ((rc = cli_srs_option(cmd, &cli.srs, opts[li].name, optarg)))
				return rc;
			break;
		case 'h': usage(stdout); return CLI_OK;
		default: usage(stderr); return CLI_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", cmd, argv[optind]);
		return CLI_USAGE;
	}

	/* a daemon says what it does: info unless -v/-q or the file say otherwise */
	if (!ctx->verbosity_explicit)
		es_log_set_level(ES_LOG_INFO);
	struct cli_run run = {.ctx = ctx, .s = &s, .config_path = cli.config};
	struct api_server *web = NULL, *metrics = NULL;
	struct cli_tr_bg *tr = NULL;
	char *rules_json = NULL;
	struct es_conf conf = {0};
	char err[1024];
	if (cli.config) {
		if ((rc = es_conf_load(&conf, cli.config, err, sizeof(err))) ||
		    (rc = apply_config(ctx, &s, &conf, err, sizeof(err)))) {
			fprintf(stderr, "%s: %s\n", cmd, err);
			es_conf_free(&conf);
			return CLI_USAGE;
		}
		struct pol_rules *rules;
		if (pol_rules_from_conf(&rules, &conf, err, sizeof(err))) {
			fprintf(stderr, "%s: %s\n", cmd, err);
			es_conf_free(&conf);
			return CLI_USAGE;
		}
		atomic_store(&run.rules, rules);
		if (pol_retention_from_conf(&run.retention, &conf, err, sizeof(err))) {
			fprintf(stderr, "%s: %s\n", cmd, err);
			es_conf_free(&conf);
			pol_rules_free(rules);
			return CLI_USAGE;
		}
		struct cli_blob_settings bs;
		if (cli_blobs_apply_config(&bs, &conf, err, sizeof(err))) {
			fprintf(stderr, "%s: %s\n", cmd, err);
			es_conf_free(&conf);
			pol_rules_free(rules);
			return CLI_USAGE;
		}
		run.blobs = bs.on;
		run.upload_interval_us = bs.interval_us;
		if (cli_blobs_remember(ctx, &bs, cmd)) {
			es_conf_free(&conf);
			pol_rules_free(rules);
			return CLI_ERR;
		}
		/* the daily run only where retention is configured */
		for (size_t i = 0; i < conf.n && !run.retention_daily; i++)
			run.retention_daily = !strncasecmp(conf.e[i].section, "retention", 9);
	}
	s.config = cli.config;
	if (cli.nifaces) {
		memcpy(s.ifaces, cli.ifaces, sizeof(s.ifaces));
		s.nifaces = cli.nifaces;
	}
	if (cli.filter)
		s.filter = cli.filter;
	if (cli.workers)
		s.workers = cli.workers;
	if (cli.encode_threads)
		s.encode_threads = cli.encode_threads == CLI_THREADS_AUTO ? 0 : cli.encode_threads;
	if (cli.status_interval_us)
		s.status_interval_us = cli.status_interval_us;
	if (cli.buffer_bytes)
		s.buffer_bytes = cli.buffer_bytes;
	if (cli.min_free)
		s.min_free = cli.min_free;
	if (cli_idle >= 0) s.engine.idle_timeout_us = cli_idle;
	if (cli_rtp >= 0) s.engine.rtp_timeout_us = cli_rtp;
	if (cli_linger >= 0) s.engine.end_linger_us = cli_linger;
	if (cli_chal >= 0) s.engine.challenge_wait_us = cli_chal;
	if (cli_max >= 0) s.engine.max_duration_us = cli_max;
	if (cli_format >= 0) s.store.render.format = (enum media_format)cli_format;
	if (cli_mix) s.store.render.mix = true;
	cli_srs_merge(&s.srs, &cli.srs);
	if (cli_api) {
		if (cli_parse_listen(cli_api, s.web.host, sizeof(s.web.host), &s.web.port)) {
			fprintf(stderr, "%s: --api: expected ADDR:PORT, not '%s'\n", cmd, cli_api);
			es_conf_free(&conf);
			return CLI_USAGE;
		}
		s.web.enabled = true;
	}
	if (srs_only) {
		/* the SIPREC server alone: [capture] is for `earshot record` */
		s.nifaces = 0;
		s.srs.enabled = true;
	}
	int exit_code = CLI_OK;
	if (s.nifaces == 0 && !s.srs.enabled) {
		fprintf(stderr, "%s: no interface: give -i IFACE (or interface = in [capture] of "
			"the configuration), or run the SIPREC server (--srs, [srs] enabled = yes)\n",
			cmd);
		exit_code = CLI_USAGE;
		goto out;
	}
	if (s.srs.enabled && (exit_code = cli_srs_check(&s)))
		goto out;
	if (s.store.render.writer.opus_bitrate)
		s.store.render.writer.opus_bitrate *= s.store.render.mix ? 1 : 2;

	/* the data folder: index, spool, status; what a crash left */
	/* alerts before the recovery, whose calls are checked too; the
	 * engines raise one-way audio and dead air to them */
	if ((exit_code = cli_alerts_open(&run, &conf, cmd)))
		goto out;
	s.engine.alerts = run.alerts;
	if ((exit_code = cli_run_open(&run)))
		goto out;
	/* live = yes: calls in progress streamed for keyword alerts (a bad
	 * setting refused before capture starts) */
	if ((exit_code = cli_tr_live_start(cli.config, &run)))
		goto out;
	cli_run_signals();
	/* the web server: on the index the run just opened */
	if (s.web.enabled) {
		const struct pol_rules *rules = atomic_load(&run.rules);
		if (rules && cli_rules_json(rules, &rules_json)) {
			fprintf(stderr, "%s: out of memory\n", cmd);
			exit_code = CLI_ERR;
			goto out;
		}
		signal(SIGPIPE, SIG_IGN);
		if ((exit_code = cli_web_start(ctx, &s.web, rules_json, cmd, &web)))
			goto out;
		run.web = web;
	}
	if (s.metrics_on) {
		signal(SIGPIPE, SIG_IGN);
		if ((exit_code = cli_metrics_start(ctx, s.metrics_host, s.metrics_port, cmd,
						   &metrics)))
			goto out;
	}
	/* the SRS first: a bad setting is found before capture starts */
	if (s.srs.enabled && (exit_code = cli_srs_start(&run)))
		goto out;
	if (s.nifaces) {
		struct net_live_config lc[CLI_MAX_IFACES];
		for (unsigned i = 0; i < s.nifaces; i++)
			lc[i] = (struct net_live_config){.iface = s.ifaces[i],
							 .filter = s.filter ? s.filter : "udp or tcp",
							 .snaplen = s.snaplen,
							 .buffer_bytes = (size_t)s.buffer_bytes,
							 .timeout_ms = 100};
		struct rec_live_config live = {.ifaces = lc, .nifaces = s.nifaces,
					       .workers = s.workers, .engine = s.engine};
		live.engine.spool_dir = run.spool;
		live.engine.spool_vault = run.arc.vault;
		live.engine.rules = &run.rules;
		if (rec_live_start(&run.live, &live, err, sizeof(err))) {
			fprintf(stderr, "%s: %s\n", cmd, err);
			exit_code = CLI_ERR;
			goto out;
		}
		ES_LOG_INF(TAG, "recording from %u interface%s into %s", s.nifaces,
			   s.nifaces > 1 ? "s" : "", ctx->data_dir);
	} else {
		ES_LOG_INF(TAG, "recording SIPREC sessions into %s", ctx->data_dir);
	}
	/* [transcription] configured: its worker as one background thread
	 * (its own index handle, a lower CPU priority), never on the capture
	 * path; it stops before the run closes */
	if ((exit_code = cli_tr_bg_start(ctx, cli.config, &tr)))
		goto out;
	exit_code = cli_run_loop(&run);
	goto done;
out:
	/* a start that failed: the recovered calls' recordings still finish */
	if (run.rec)
		cli_run_abort(&run);
done:
	cli_tr_bg_stop(tr);
	/* the web server first: it reads the index the run closes */
	if (web)
		api_server_stop(web);
	if (metrics)
		api_server_stop(metrics);
	free(rules_json);
	cli_run_close(&run);
	es_conf_free(&conf);
	return exit_code;
}

int cli_record(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_record_main(ctx, argc, argv, false);
}

/* ---- status ------------------------------------------------------------------------- */

/* The integer after "key": in text, or -1. */
static long long json_int_after(const char *text, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\"", key);
	const char *p = strstr(text, pat);
	if (!p || !(p = strchr(p + strlen(pat), ':')))
		return -1;
	return strtoll(p + 1, NULL, 10);
}

/* One line on the SIPREC server when the status has its object. */
static void print_srs_summary(const char *buf)
{
	const char *srs = strstr(buf, "\"srs\"");
	if (!srs)
		return;
	printf("SIPREC server: %lld sessions active, %lld accepted, rejected %lld busy / "
	       "%lld forbidden / %lld bad, %lld RTP packets; media dropped: %lld from "
	       "unsignalled addresses, %lld from other ports, %lld failed SRTP; TCP refused: "
	       "%lld forbidden, %lld over limits, %lld without a request\n",
	       json_int_after(srs, "sessions_active"), json_int_after(srs, "sessions_total"),
	       json_int_after(srs, "rejected_busy"), json_int_after(srs, "rejected_forbidden"),
	       json_int_after(srs, "rejected_bad"), json_int_after(srs, "rtp_packets"),
	       json_int_after(srs, "media_foreign"), json_int_after(srs, "media_unlatched"),
	       json_int_after(srs, "media_srtp_auth"), json_int_after(srs, "tcp_forbidden"),
	       json_int_after(srs, "tcp_per_host") + json_int_after(srs, "tcp_limit"),
	       json_int_after(srs, "tcp_no_request"));
}

static void print_active_call(void *ud, const struct rec_active *a)
{
	(void)ud;
	printf("  %-9s %s  %s -> %s\n", a->state, a->call_id, a->caller_user, a->callee_user);
}

/* The calls in progress (DATA/run/active.tsv) with their state: paused... */
static void print_active(const char *data_dir)
{
	char path[4200], err[512];
	struct rec_active_hdr hdr;
	snprintf(path, sizeof(path), "%s/run/active.tsv", data_dir);
	if (rec_active_read(path, &hdr, NULL, NULL, err, sizeof(err)))
		return;
	printf("calls in progress: %llu\n", (unsigned long long)hdr.count);
	rec_active_read(path, &hdr, print_active_call, NULL, err, sizeof(err));
}

/* One line on the recorder's clock (status.json's "clock", core/clock.h):
 * a warning when it is not synchronised to UTC. */
static void print_clock_summary(const char *buf)
{
	const char *c = strstr(buf, "\"clock\": {");
	const char *s = c ? strstr(c, "\"synchronised\": ") : NULL;
	if (!s)
		return;
	s += strlen("\"synchronised\": ");
	const char *src = strstr(c, "\"source\": \"");
	int srclen = 0;
	if (src) {
		src += strlen("\"source\": \"");
		srclen = (int)strcspn(src, "\"");
	}
	if (!strncmp(s, "true", 4))
		printf("clock: synchronised to UTC (%.*s)\n", srclen, src ? src : "");
	else
		printf("WARNING: the recorder's clock is NOT synchronised to UTC (%.*s): recordings "
		       "made now say so\n", srclen, src ? src : "");
}

int cli_status(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"data", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'd': ctx->data_dir = optarg; break;
		case 'h':
			printf("Usage: earshot status [--json] [--data DIR]\n\n"
			       "What the `earshot record` (or `earshot srs`) writing into DIR is\n"
			       "doing: interfaces and their drops, packets/s, active calls, queues,\n"
			       "the SIPREC server's sessions (DIR/run/status.json, rewritten every\n"
			       "second).\n\n"
			       "Exit codes: 0 running, 1 not running (the last status is shown),\n"
			       "4 no status file.\n");
			return CLI_OK;
		default: return CLI_USAGE;
		}
	}
	char path[4096];
	if (!json)
		cli_blobs_backlog_line(ctx);
	snprintf(path, sizeof(path), "%s/run/status.json", ctx->data_dir);
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "earshot status: %s: no status (is `earshot record` or `srs` running with "
			"this data folder?)\n", path);
		return CLI_NOTFOUND;
	}
	char buf[65536];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* is the writer alive? */
	const char *p = strstr(buf, "\"pid\"");
	long pid = p ? strtol(strchr(p, ':') + 1, NULL, 10) : 0;
	bool alive = pid > 0 && kill((pid_t)pid, 0) == 0;
	if (json) {
		fputs(buf, stdout);
	} else {
		printf("earshot record (pid %ld) %s\n", pid, alive ? "running" : "NOT running");
		print_srs_summary(buf);
		print_active(ctx->data_dir);
		print_clock_summary(buf);
		fputs(buf, stdout);
	}
	return alive ? CLI_OK : CLI_ERR;
}
