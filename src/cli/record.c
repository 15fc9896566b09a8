/* record.c - `earshot record` (live recording) and `earshot status`. */
#include "cli/cli.h"
#include "core/config.h"
#include "record/record.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define TAG "record"
#define MAX_IFACES 16

static volatile sig_atomic_t got_stop, got_hup;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_stop = 1;
}

static void record_usage(FILE *f)
{
	fprintf(f,
		"Usage: earshot record [options] -i IFACE [-i IFACE...]\n"
		"\n"
		"Capture SIP calls and their RTP live from network interfaces (a mirror\n"
		"port), record them by the configured rules and index them, until\n"
		"SIGTERM or SIGINT, which finish every live call cleanly.  SIGHUP reloads\n"
		"the recording rules from the configuration file.  While a call is live\n"
		"its audio is spooled (written at least every second); on start, spool\n"
		"files left by a crash are finished as recordings marked \"recovered\".\n"
		"\n"
		"Options (each overrides the configuration file; docs/CONFIG.md):\n"
		"  -i, --interface IFACE  capture here (repeatable; \"any\" for all)\n"
		"  --filter BPF           capture filter (default \"udp or tcp\")\n"
		"  -c, --config FILE      earshot.conf: settings and recording rules\n"
		"  --data DIR             data folder (default from the configuration,\n"
		"                         else $EARSHOT_DATA or ./earshot-data)\n"
		"  --workers N            call-processing threads (default cores - 1)\n"
		"  --encode-threads N     threads encoding recordings (default 1)\n"
		"  --format FMT           opus (default), wav or flac\n"
		"  --mix                  mono recordings\n"
		"  --idle-timeout SEC     end a call without SIP or RTP for this long (300)\n"
		"  --rtp-timeout SEC      end an answered call whose RTP stopped (60)\n"
		"  --linger SEC           keep a call open after BYE (10)\n"
		"  --max-duration SEC     end (and record) a call at this length (14400)\n"
		"  --buffer BYTES         kernel capture ring per interface (64M)\n"
		"  --status-interval SEC  how often DIR/run/status.json is written (1)\n"
		"  --min-free BYTES       warn when free space in DIR falls below (1G)\n"
		"  -h, --help             this help\n"
		"\n"
		"Exit codes: 0 stopped cleanly, 1 error (capture, index), 2 usage.\n");
}

/* ---- settings -------------------------------------------------------------------- */

struct record_settings {
	const char *ifaces[MAX_IFACES];
	unsigned nifaces;
	const char *filter;
	const char *config;
	unsigned workers;
	unsigned encode_threads;
	int64_t status_interval_us;
	uint64_t buffer_bytes;
	uint64_t min_free;
	int snaplen;
	struct rec_config engine;
	struct rec_store_config store;
};

/* Read [earshot], [capture], [calls], [recording] of the configuration. */
static int apply_config(struct cli_ctx *ctx, struct record_settings *s, const struct es_conf *c,
			char *err, size_t errlen)
{
	static const char *const k_earshot[] = {"data", "log_level", "syslog", NULL};
	static const char *const k_capture[] = {"interface", "filter", "snaplen", "buffer",
						"workers", NULL};
	static const char *const k_calls[] = {"idle_timeout", "rtp_timeout", "max_duration",
					      "linger", "session_timers", NULL};
	static const char *const k_rec[] = {"format", "mix", "bitrate", "encode_threads",
					    "spool_sync", "min_free", "default", "timezone", NULL};
	static const char *const sections[] = {"earshot", "capture", "calls", "recording",
					       "networks", "do-not-record"};
	for (size_t i = 0; i < c->n; i++) {
		const char *sec = c->e[i].section;
		bool known = !strncasecmp(sec, "rule ", 5);
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
	    (rc = es_conf_check_keys(c, "recording", k_rec, err, errlen)))
		return rc;
	const struct es_conf_entry *e;
	if (!ctx->data_explicit && (e = es_conf_find(c, "earshot", "data")))
		ctx->data_dir = e->value;
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
		for (size_t i = 0; i < c->n && s->nifaces < MAX_IFACES; i++)
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
	OPT(es_conf_bool(c, "calls", "session_timers", &s->engine.session_timers, err, errlen));
	if ((e = es_conf_find(c, "recording", "format")) &&
	    media_format_parse(e->value, &s->store.render.format)) {
		snprintf(err, errlen, "%s:%u: format: '%s' is not opus, wav or flac", c->path,
			 e->line, e->value);
		return ES_EPARSE;
	}
	OPT(es_conf_bool(c, "recording", "mix", &s->store.render.mix, err, errlen));
	if (!(rc = es_conf_int(c, "recording", "bitrate", 6000, 256000, &v, err, errlen)))
		s->store.render.writer.opus_bitrate = (int)v;
	else if (rc != ES_ENOTFOUND)
		return rc;
	if (!(rc = es_conf_int(c, "recording", "encode_threads", 1, 64, &v, err, errlen)))
		s->encode_threads = (unsigned)v;
	else if (rc != ES_ENOTFOUND)
		return rc;
	OPT(es_conf_bool(c, "recording", "spool_sync", &s->engine.spool_sync, err, errlen));
	OPT(es_conf_size(c, "recording", "min_free", &s->min_free, err, errlen));
#undef OPT
	return 0;
}

/* ---- the running recorder ------------------------------------------------------------ */

struct rec_run {
	struct cli_ctx *ctx;
	struct idx *ix;
	struct rec_recorder *rec;
	struct rec_live *live;
	const struct pol_rules *_Atomic rules;
	struct pol_rules *old_rules[64]; /* replaced by SIGHUP, freed at exit */
	unsigned nold;
	const char *config_path;
	int64_t started_us;
	struct rec_store_counts n;
	bool disk_low;
	int64_t disk_warned_us;  /* last "disk low" warning */
	uint64_t status_frames;  /* frames at the last status, for packets/s */
	int64_t status_us;
	char status_path[4200];
};

static int64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * ES_US_PER_SEC + ts.tv_nsec / 1000;
}

static void on_recording(void *ud, const struct rec_done *d)
{
	struct rec_run *r = ud;
	rec_store_recording(r->ix, d, &r->n);
}

/* A finished (or recovered) call: index it, queue its recording. */
static int take_call(void *ud, struct idx_call *c, const char *media_log)
{
	struct rec_run *r = ud;
	return rec_store_call(r->ix, r->rec, c, media_log, &r->n);
}

static void write_status(struct rec_run *r)
{
	struct rec_live_status st;
	rec_live_status(r->live, &st);
	char tmp[4300];
	snprintf(tmp, sizeof(tmp), "%s.tmp", r->status_path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return;
	int64_t now = wall_us();
	double pps = r->status_us && now > r->status_us
			     ? (double)(st.frames - r->status_frames) * 1e6 / (double)(now - r->status_us)
			     : 0;
	r->status_frames = st.frames;
	r->status_us = now;
	struct es_json j;
	es_json_init(&j, f, true);
	es_json_obj_begin(&j);
	es_json_key(&j, "pid"); es_json_int(&j, getpid());
	es_json_key(&j, "updated_us"); es_json_int(&j, now);
	es_json_key(&j, "uptime_s"); es_json_double(&j, (double)(now - r->started_us) / 1e6, 1);
	es_json_key(&j, "interfaces");
	es_json_arr_begin(&j);
	uint64_t dropped = 0;
	for (unsigned i = 0; i < st.nifaces; i++) {
		es_json_obj_begin(&j);
		es_json_key(&j, "name"); es_json_str(&j, st.iface[i].name);
		es_json_key(&j, "frames"); es_json_int(&j, (int64_t)st.iface[i].frames);
		es_json_key(&j, "received"); es_json_int(&j, (int64_t)st.iface[i].received);
		es_json_key(&j, "dropped"); es_json_int(&j, (int64_t)st.iface[i].dropped);
		es_json_key(&j, "if_dropped"); es_json_int(&j, (int64_t)st.iface[i].if_dropped);
		es_json_obj_end(&j);
		dropped += st.iface[i].dropped;
	}
	es_json_arr_end(&j);
	es_json_key(&j, "packets"); es_json_int(&j, (int64_t)st.frames);
	es_json_key(&j, "packets_per_s"); es_json_double(&j, pps, 1);
	/* every packet lost on the way: the kernel rings' and earshot's own
	 * queues (a worker that fell behind) */
	es_json_key(&j, "dropped"); es_json_int(&j, (int64_t)(dropped + st.queue_drops));
	es_json_key(&j, "kernel_drops"); es_json_int(&j, (int64_t)dropped);
	es_json_key(&j, "queue_drops"); es_json_int(&j, (int64_t)st.queue_drops);
	es_json_key(&j, "active_calls"); es_json_int(&j, (int64_t)st.active_calls);
	es_json_key(&j, "calls_total"); es_json_int(&j, (int64_t)r->n.calls);
	es_json_key(&j, "calls_not_recorded"); es_json_int(&j, (int64_t)r->n.not_recorded);
	es_json_key(&j, "calls_cut"); es_json_int(&j, (int64_t)r->n.cut);
	es_json_key(&j, "calls_recovered"); es_json_int(&j, (int64_t)r->n.recovered);
	es_json_key(&j, "recordings"); es_json_int(&j, (int64_t)r->n.recordings);
	es_json_key(&j, "recording_errors"); es_json_int(&j, (int64_t)r->n.recording_errors);
	es_json_key(&j, "recording_queue"); es_json_int(&j, rec_recorder_pending(r->rec));
	es_json_key(&j, "rtp_packets"); es_json_int(&j, (int64_t)st.rtp_packets);
	es_json_key(&j, "sip_messages"); es_json_int(&j, (int64_t)st.sip_messages);
	es_json_key(&j, "spool_errors"); es_json_int(&j, (int64_t)st.spool_errors);
	es_json_key(&j, "call_bytes"); es_json_int(&j, (int64_t)st.call_bytes);
	es_json_key(&j, "disk_low"); es_json_bool(&j, r->disk_low);
	es_json_key(&j, "workers");
	es_json_arr_begin(&j);
	for (unsigned i = 0; i < st.nworkers; i++) {
		es_json_obj_begin(&j);
		es_json_key(&j, "queue_bytes"); es_json_int(&j, (int64_t)st.worker[i].queue_bytes);
		es_json_key(&j, "active_calls"); es_json_int(&j, (int64_t)st.worker[i].active_calls);
		es_json_obj_end(&j);
	}
	es_json_arr_end(&j);
	es_json_obj_end(&j);
	es_json_end(&j);
	if (fclose(f) == 0)
		rename(tmp, r->status_path);
	else
		unlink(tmp);
}

static void check_disk(struct rec_run *r, uint64_t min_free)
{
	struct statvfs vfs;
	if (statvfs(r->ctx->data_dir, &vfs))
		return;
	uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	bool low = avail < min_free;
	int64_t now = wall_us();
	if (low && (!r->disk_low || now - r->disk_warned_us > 60 * ES_US_PER_SEC)) {
		ES_LOG_WARNING(TAG, "%s: only %.1f MiB free (under %.1f MiB): live calls keep "
			       "spooling while they can; calls whose audio cannot be written are "
			       "reported as cut", r->ctx->data_dir, (double)avail / 1048576.0,
			       (double)min_free / 1048576.0);
		r->disk_warned_us = now;
	} else if (!low && r->disk_low) {
		ES_LOG_INF(TAG, "%s: %.1f MiB free again", r->ctx->data_dir, (double)avail / 1048576.0);
	}
	r->disk_low = low;
}

static int load_rules(const char *path, struct pol_rules **out)
{
	struct es_conf c;
	char err[1024];
	int rc = es_conf_load(&c, path, err, sizeof(err));
	if (rc) {
		ES_LOG_ERR(TAG, "%s", err);
		return rc;
	}
	rc = pol_rules_from_conf(out, &c, err, sizeof(err));
	if (rc)
		ES_LOG_ERR(TAG, "%s", err);
	es_conf_free(&c);
	return rc;
}

static void reload_rules(struct rec_run *r)
{
	if (!r->config_path) {
		ES_LOG_INF(TAG, "SIGHUP: no configuration file, nothing to reload");
		return;
	}
	struct pol_rules *nr;
	if (load_rules(r->config_path, &nr)) {
		ES_LOG_ERR(TAG, "SIGHUP: %s not reloaded, the previous rules stay", r->config_path);
		return;
	}
	if (r->nold == ES_ARRAY_LEN(r->old_rules)) {
		ES_LOG_ERR(TAG, "SIGHUP: too many reloads in one run; restart to reload again");
		pol_rules_free(nr);
		return;
	}
	/* the workers read the pointer at each new call; the old set stays
	 * alive until exit because a worker may still be using it */
	r->old_rules[r->nold++] = (struct pol_rules *)atomic_exchange(&r->rules, nr);
	ES_LOG_INF(TAG, "SIGHUP: %u recording rules reloaded from %s", pol_rule_count(nr),
		   r->config_path);
}

static int parse_secs(const char *opt, const char *v, int64_t *out)
{
	uint64_t n;
	if (sl_to_u64(sl_cstr(v), &n) || n > 86400 * 30) {
		fprintf(stderr, "earshot record: %s: bad number of seconds '%s'\n", opt, v);
		return CLI_USAGE;
	}
	*out = (int64_t)n * ES_US_PER_SEC;
	return 0;
}

static int parse_size(const char *opt, const char *v, uint64_t *out)
{
	struct es_conf c;
	char text[256], err[256];
	snprintf(text, sizeof(text), "[x]\nv = %s\n", v);
	int rc = es_conf_parse(&c, opt, text, err, sizeof(err));
	if (!rc)
		rc = es_conf_size(&c, "x", "v", out, err, sizeof(err));
	es_conf_free(&c);
	if (rc) {
		fprintf(stderr, "earshot record: %s: bad size '%s'\n", opt, v);
		return CLI_USAGE;
	}
	return 0;
}

int cli_record(struct cli_ctx *ctx, int argc, char **argv)
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
		{"max-duration", required_argument, NULL, 'M'},
		{"buffer", required_argument, NULL, 'B'},
		{"status-interval", required_argument, NULL, 'S'},
		{"min-free", required_argument, NULL, 'N'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	struct record_settings s = {0};
	rec_config_default(&s.engine);
	s.engine.source = "live";
	s.engine.rtp_timeout_us = 60 * ES_US_PER_SEC;
	s.engine.max_duration_us = 4 * 3600 * ES_US_PER_SEC;
	s.engine.session_timers = true;
	s.engine.spool_flush_us = ES_US_PER_SEC;
	s.store.render.format = MEDIA_OPUS;
	s.store.render.writer.opus_complexity = -1;
	s.encode_threads = 1;
	s.status_interval_us = ES_US_PER_SEC;
	s.min_free = (uint64_t)1 << 30;
	/* command-line values, applied after the configuration file */
	struct record_settings cli = {0};
	int64_t cli_idle = -1, cli_rtp = -1, cli_linger = -1, cli_max = -1;
	int cli_format = -1, cli_mix = 0;
	int c, rc;
	while ((c = getopt_long(argc, argv, "hi:c:", opts, NULL)) != -1) {
		uint64_t v;
		switch (c) {
		case 'i':
			if (cli.nifaces == MAX_IFACES) {
				fprintf(stderr, "earshot record: at most %d interfaces\n", MAX_IFACES);
				return CLI_USAGE;
			}
			cli.ifaces[cli.nifaces++] = optarg;
			break;
		case 'F': cli.filter = optarg; break;
		case 'c': cli.config = optarg; break;
		case 'd': ctx->data_dir = optarg; ctx->data_explicit = true; break;
		case 'w':
		case 'E':
			if (sl_to_u64(sl_cstr(optarg), &v) || v > 64 || (c == 'E' && v == 0)) {
				fprintf(stderr, "earshot record: bad thread count '%s'\n", optarg);
				return CLI_USAGE;
			}
			*(c == 'w' ? &cli.workers : &cli.encode_threads) = (unsigned)v;
			break;
		case 'f': {
			enum media_format f;
			if (media_format_parse(optarg, &f)) {
				fprintf(stderr, "earshot record: unknown format '%s'\n", optarg);
				return CLI_USAGE;
			}
			cli_format = (int)f;
			break;
		}
		case 'm': cli_mix = 1; break;
		case 'I': if ((rc = parse_secs("--idle-timeout", optarg, &cli_idle))) return rc; break;
		case 'R': if ((rc = parse_secs("--rtp-timeout", optarg, &cli_rtp))) return rc; break;
		case 'L': if ((rc = parse_secs("--linger", optarg, &cli_linger))) return rc; break;
		case 'M': if ((rc = parse_secs("--max-duration", optarg, &cli_max))) return rc; break;
		case 'S': if ((rc = parse_secs("--status-interval", optarg, &cli.status_interval_us))) return rc; break;
		case 'B': if ((rc = parse_size("--buffer", optarg, &cli.buffer_bytes))) return rc; break;
		case 'N': if ((rc = parse_size("--min-free", optarg, &cli.min_free))) return rc; break;
		case 'h': record_usage(stdout); return CLI_OK;
		default: record_usage(stderr); return CLI_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "earshot record: unexpected argument '%s'\n", argv[optind]);
		return CLI_USAGE;
	}

	/* a daemon says what it does: info unless -v/-q or the file say otherwise */
	if (!ctx->verbosity_explicit)
		es_log_set_level(ES_LOG_INFO);
	struct rec_run run = {.ctx = ctx, .config_path = cli.config};
	struct es_conf conf = {0};
	char err[1024];
	if (cli.config) {
		if ((rc = es_conf_load(&conf, cli.config, err, sizeof(err))) ||
		    (rc = apply_config(ctx, &s, &conf, err, sizeof(err)))) {
			fprintf(stderr, "earshot record: %s\n", err);
			es_conf_free(&conf);
			return CLI_USAGE;
		}
		struct pol_rules *rules;
		if (pol_rules_from_conf(&rules, &conf, err, sizeof(err))) {
			fprintf(stderr, "earshot record: %s\n", err);
			es_conf_free(&conf);
			return CLI_USAGE;
		}
		atomic_store(&run.rules, rules);
	}
	if (cli.nifaces) {
		memcpy(s.ifaces, cli.ifaces, sizeof(s.ifaces));
		s.nifaces = cli.nifaces;
	}
	if (cli.filter)
		s.filter = cli.filter;
	if (cli.workers)
		s.workers = cli.workers;
	if (cli.encode_threads)
		s.encode_threads = cli.encode_threads;
	if (cli.status_interval_us)
		s.status_interval_us = cli.status_interval_us;
	if (cli.buffer_bytes)
		s.buffer_bytes = cli.buffer_bytes;
	if (cli.min_free)
		s.min_free = cli.min_free;
	if (cli_idle >= 0) s.engine.idle_timeout_us = cli_idle;
	if (cli_rtp >= 0) s.engine.rtp_timeout_us = cli_rtp;
	if (cli_linger >= 0) s.engine.end_linger_us = cli_linger;
	if (cli_max >= 0) s.engine.max_duration_us = cli_max;
	if (cli_format >= 0) s.store.render.format = (enum media_format)cli_format;
	if (cli_mix) s.store.render.mix = true;
	if (s.nifaces == 0) {
		fprintf(stderr, "earshot record: no interface: give -i IFACE (or interface = in "
			"[capture] of the configuration)\n");
		es_conf_free(&conf);
		return CLI_USAGE;
	}
	if (s.store.render.writer.opus_bitrate)
		s.store.render.writer.opus_bitrate *= s.store.render.mix ? 1 : 2;

	/* the data folder: index, spool, status */
	int exit_code = CLI_OK;
	char spool[4096], rundir[4096];
	if (cli_open_index(ctx, true, &run.ix)) {
		es_conf_free(&conf);
		return CLI_ERR;
	}
	snprintf(spool, sizeof(spool), "%s/spool", ctx->data_dir);
	snprintf(rundir, sizeof(rundir), "%s/run", ctx->data_dir);
	snprintf(run.status_path, sizeof(run.status_path), "%s/status.json", rundir);
	if (es_mkdirs(spool, true) || es_mkdirs(rundir, true)) {
		fprintf(stderr, "earshot record: cannot create %s: %s\n", spool, strerror(errno));
		exit_code = CLI_ERR;
		goto out;
	}
	s.store.data_dir = ctx->data_dir;
	s.store.threads = s.encode_threads;
	if (rec_recorder_new(&run.rec, &s.store)) {
		fprintf(stderr, "earshot record: cannot start the encoding threads\n");
		exit_code = CLI_ERR;
		goto out;
	}
	run.started_us = wall_us();

	/* what a crash left behind first: those logs are finished before any
	 * new one is written */
	idx_begin(run.ix);
	unsigned nrec = rec_recover_spool(spool, take_call, &run);
	idx_commit(run.ix);
	if (nrec)
		ES_LOG_INF(TAG, "%u calls left in %s by an earlier run are being recovered", nrec, spool);

	struct net_live_config lc[MAX_IFACES];
	for (unsigned i = 0; i < s.nifaces; i++)
		lc[i] = (struct net_live_config){.iface = s.ifaces[i],
						 .filter = s.filter ? s.filter : "udp or tcp",
						 .snaplen = s.snaplen,
						 .buffer_bytes = (size_t)s.buffer_bytes,
						 .timeout_ms = 100};
	s.engine.spool_dir = spool;
	s.engine.rules = &run.rules;
	struct rec_live_config live = {.ifaces = lc, .nifaces = s.nifaces, .workers = s.workers,
				       .engine = s.engine};
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (rec_live_start(&run.live, &live, err, sizeof(err))) {
		fprintf(stderr, "earshot record: %s\n", err);
		rec_recorder_drain(run.rec, true, on_recording, &run);
		exit_code = CLI_ERR;
		goto out;
	}
	ES_LOG_INF(TAG, "recording from %u interface%s into %s", s.nifaces, s.nifaces > 1 ? "s" : "",
		   ctx->data_dir);

	int64_t last_status = 0, last_disk = 0;
	bool stopping = false;
	for (;;) {
		if (got_stop && !stopping) {
			ES_LOG_INF(TAG, "stopping: finishing every live call");
			stopping = true;
			rec_live_stop(run.live); /* the workers finish their calls */
		}
		if (got_hup) {
			got_hup = 0;
			reload_rules(&run);
		}
		/* one transaction for what finished since the last round (an
		 * empty one writes nothing) */
		struct rec_live_call *lcall;
		idx_begin(run.ix);
		while ((lcall = rec_live_next_call(run.live))) {
			take_call(&run, rec_live_call_row_mut(lcall), rec_live_call_media_log(lcall));
			rec_live_call_free(lcall);
		}
		rec_recorder_drain(run.rec, stopping, on_recording, &run);
		if (idx_commit(run.ix))
			ES_LOG_ERR(TAG, "index: %s", idx_errmsg(run.ix));
		int64_t now = wall_us();
		if (now - last_disk >= 5 * ES_US_PER_SEC) {
			check_disk(&run, s.min_free);
			last_disk = now;
		}
		if (now - last_status >= s.status_interval_us || stopping) {
			write_status(&run);
			last_status = now;
		}
		if (stopping)
			break;
		usleep(100 * 1000);
	}
	ES_LOG_INF(TAG, "stopped: %llu calls, %llu recordings", (unsigned long long)run.n.calls,
		   (unsigned long long)run.n.recordings);
	if (run.n.store_errors || run.n.recording_errors)
		exit_code = CLI_ERR;
out:
	rec_live_free(run.live);
	rec_recorder_free(run.rec);
	idx_close(run.ix);
	pol_rules_free((struct pol_rules *)atomic_load(&run.rules));
	for (unsigned i = 0; i < run.nold; i++)
		pol_rules_free(run.old_rules[i]);
	es_conf_free(&conf);
	return exit_code;
}

/* ---- status ------------------------------------------------------------------------- */

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
			       "What the `earshot record` writing into DIR is doing: interfaces and\n"
			       "their drops, packets/s, active calls, queues (DIR/run/status.json,\n"
			       "rewritten every second).\n\n"
			       "Exit codes: 0 running, 1 not running (the last status is shown),\n"
			       "4 no status file.\n");
			return CLI_OK;
		default: return CLI_USAGE;
		}
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/run/status.json", ctx->data_dir);
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "earshot status: %s: no status (is `earshot record` running with "
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
		fputs(buf, stdout);
	}
	return alive ? CLI_OK : CLI_ERR;
}
