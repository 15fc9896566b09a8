/* run.c - the recorder run shared by `earshot record` and `earshot srs`:
 * the data folder, crash recovery, the recorder pool, the rules and their
 * reload, status.json, the disk check, and the main loop that stores every
 * finished call on the thread that owns the index. */
#include "api/server.h"
#include "cli/cli.h"
#include "core/clock.h"
#include "core/config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define TAG "record"

static volatile sig_atomic_t got_stop, got_hup;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_stop = 1;
}

void cli_run_signals(void)
{
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int64_t cli_wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * ES_US_PER_SEC + ts.tv_nsec / 1000;
}

int cli_parse_secs(const char *cmd, const char *opt, const char *v, int64_t *out)
{
	uint64_t n;
	if (sl_to_u64(sl_cstr(v), &n) || n > 86400 * 30) {
		fprintf(stderr, "%s: %s: bad number of seconds '%s'\n", cmd, opt, v);
		return CLI_USAGE;
	}
	*out = (int64_t)n * ES_US_PER_SEC;
	return 0;
}

int cli_parse_size(const char *cmd, const char *opt, const char *v, uint64_t *out)
{
	struct es_conf c;
	char text[256], err[256];
	snprintf(text, sizeof(text), "[x]\nv = %s\n", v);
	int rc = es_conf_parse(&c, opt, text, err, sizeof(err));
	if (!rc)
		rc = es_conf_size(&c, "x", "v", out, err, sizeof(err));
	es_conf_free(&c);
	if (rc) {
		fprintf(stderr, "%s: %s: bad size '%s'\n", cmd, opt, v);
		return CLI_USAGE;
	}
	return 0;
}

static void on_recording(void *ud, const struct rec_done *d)
{
	struct cli_run *r = ud;
	if (!d->err && d->rec) /* its key beside its row: any web node opens it */
		rec_keys_publish(r->ix, r->arc.vault, d->rec);
	rec_store_recording(r->ix, r->arc.ledger, d, &r->n);
	cli_alerts_recording(r, d);
	if (r->retention && !d->err && rec_retention_assign(r->ix, r->retention, d->call_row))
		ES_LOG_ERR(TAG, "recording of call %lld: its retention times were not set: %s "
			   "(`earshot retention run` sets them)", (long long)d->call_row,
			   idx_errmsg(r->ix));
}

/* A recovered call: index it, queue its recording (in the caller's
 * transaction). */
static int take_call(void *ud, struct idx_call *c, const char *media_log)
{
	struct cli_run *r = ud;
	cli_run_clock_stamp(r, c);
	cli_alerts_call(r, c);
	return rec_store_call(r->ix, r->rec, c, media_log, &r->n);
}

/* ---- clock evidence (MiFID II RTS 25) ------------------------------------------ */

static void clock_tick(struct cli_run *r, int64_t now)
{
	if (!r->clock || !es_clock_track_tick(r->clock, now))
		return;
	const struct es_clock_state *s = &r->clock->now;
	if (!s->known)
		ES_LOG_WARNING(TAG, "the clock's state cannot be read (adjtimex): recordings say "
			       "their time is not known to be synchronised");
	else if (!s->synchronised)
		ES_LOG_WARNING(TAG, "the clock is NOT synchronised to UTC (source %s, maximum error "
			       "%lld us): recordings made now are marked so", s->source,
			       (long long)s->maxerror_us);
	else
		ES_LOG_INF(TAG, "the clock is synchronised to UTC (source %s%s%s, estimated error "
			   "%lld us)", s->source, s->server[0] ? ", " : "", s->server,
			   (long long)s->esterror_us);
}

void cli_run_clock_stamp(struct cli_run *r, struct idx_call *c)
{
	if (!r->clock || c->clock_json)
		return;
	if (es_clock_call_json(r->clock, c->start_us, r->clock_json, sizeof(r->clock_json)))
		c->clock_json = r->clock_json;
}

int cli_run_open(struct cli_run *r)
{
	const struct cli_settings *s = r->s;
	struct cli_ctx *ctx = r->ctx;
	char rundir[4096];
	if (cli_open_index(ctx, true, &r->ix))
		return CLI_ERR;
	r->shared = idx_shared(r->ix);
	snprintf(r->spool, sizeof(r->spool), "%s/spool", ctx->data_dir);
	snprintf(rundir, sizeof(rundir), "%s/run", ctx->data_dir);
	snprintf(r->status_path, sizeof(r->status_path), "%s/status.json", rundir);
	snprintf(r->active_path, sizeof(r->active_path), "%s/active.tsv", rundir);
	if (es_mkdirs(r->spool, true) || es_mkdirs(rundir, true)) {
		fprintf(stderr, "%s: cannot create %s: %s\n", s->cmd, r->spool, strerror(errno));
		return CLI_ERR;
	}
	char cerr[512];
	if (rec_control_open(ctx->data_dir, cerr, sizeof(cerr))) {
		fprintf(stderr, "%s: %s\n", s->cmd, cerr);
		return CLI_ERR;
	}
	r->arc.settings = &s->ledger;
	cli_node_check(r);
	if (cli_archive_open(ctx, r->ix, s->encrypt, &r->arc, s->cmd))
		return CLI_ERR;
	rec_keys_publish_blobs(ctx->data_dir, r->ix); /* web nodes read its archive */
	struct rec_store_config store = s->store;
	store.data_dir = ctx->data_dir;
	store.threads = s->encode_threads;
	store.vault = r->arc.vault;
	if (rec_recorder_new(&r->rec, &store)) {
		fprintf(stderr, "%s: cannot start the encoding threads\n", s->cmd);
		return CLI_ERR;
	}
	r->started_us = cli_wall_us();
	if (!(r->clock = calloc(1, sizeof(*r->clock)))) {
		fprintf(stderr, "%s: out of memory\n", s->cmd);
		return CLI_ERR;
	}
	if (es_clock_track_start(r->clock))
		ES_LOG_WARNING(TAG, "no thread to ask the NTP client: the kernel's clock state only");
	clock_tick(r, r->started_us);

	/* what a crash left behind first: those logs are finished before any
	 * new one is written */
	idx_begin(r->ix);
	unsigned nrec = rec_recover_spool(r->spool, r->arc.vault, take_call, r);
	if (idx_commit(r->ix))
		ES_LOG_ERR(TAG, "index: %s", idx_errmsg(r->ix));
	cli_archive_commit(&r->arc);
	cli_node_publish_head(r);
	if (nrec)
		ES_LOG_INF(TAG, "%u calls left in %s by an earlier run are being recovered", nrec,
			   r->spool);
	return CLI_OK;
}

static void active_add(void *ud, const struct rec_active *a)
{
	struct cli_run *r = ud;
	if (r->nactive == r->active_cap) {
		size_t cap = r->active_cap ? r->active_cap * 2 : 64;
		struct rec_active *n = cap <= REC_ACTIVE_MAX ? realloc(r->active, cap * sizeof(*n))
							     : NULL;
		if (!n)
			return; /* the list is cut short; recording goes on */
		r->active = n;
		r->active_cap = cap;
	}
	r->active[r->nactive++] = *a;
}

/* DATA/run/active.tsv: the capture workers' and the SRS's open calls. */
static void write_active(struct cli_run *r)
{
	r->nactive = 0;
	if (r->live)
		rec_live_active(r->live, active_add, r);
	if (r->srs_engine)
		rec_engine_active(r->srs_engine, active_add, r);
	cli_node_publish_active(r, false);
	int64_t now = cli_wall_us();
	int rc = rec_active_write(r->active_path, r->active, r->nactive, now);
	if (rc)
		ES_LOG_DBG(TAG, "%s: %s", r->active_path, es_strerror(rc));
	/* the same list starts and ends the live keyword streams */
	rec_trlive_update(r->trlive, r->active, r->nactive, now);
}

/* A command from `earshot serve` or the CLI (record/control.c): the SRS's
 * engine runs on this thread; the capture workers take it themselves. */
static int run_command(void *ud, const struct rec_cmd *c, char *msg, size_t cap)
{
	struct cli_run *r = ud;
	int rc = ES_ENOTFOUND;
	snprintf(msg, cap, "no call in progress with this id");
	if (r->srs_engine)
		rc = rec_engine_command(r->srs_engine, c, cli_wall_us(), msg, cap);
	if (rc == ES_ENOTFOUND && r->live)
		rc = rec_live_command(r->live, c, msg, cap);
	return rc;
}

static void write_status(struct cli_run *r)
{
	struct rec_live_status st;
	if (r->live)
		rec_live_status(r->live, &st);
	else
		memset(&st, 0, sizeof(st));
	/* the SRS's calls count with the captured ones */
	const struct rec_stats *es = cli_srs_engine_stats(r);
	uint64_t active = st.active_calls, rtp = st.rtp_packets, sip = st.sip_messages,
		 spool_err = st.spool_errors, bytes = st.call_bytes;
	if (es) {
		active += es->active_calls;
		rtp += es->rtp_packets;
		sip += es->sip_messages;
		spool_err += es->spool_errors;
		bytes += es->call_bytes;
	}
	char tmp[4300];
	snprintf(tmp, sizeof(tmp), "%s.tmp", r->status_path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return;
	int64_t now = cli_wall_us();
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
	es_json_key(&j, "active_calls"); es_json_int(&j, (int64_t)active);
	es_json_key(&j, "calls_total"); es_json_int(&j, (int64_t)r->n.calls);
	es_json_key(&j, "calls_not_recorded"); es_json_int(&j, (int64_t)r->n.not_recorded);
	es_json_key(&j, "calls_cut"); es_json_int(&j, (int64_t)r->n.cut);
	es_json_key(&j, "calls_recovered"); es_json_int(&j, (int64_t)r->n.recovered);
	es_json_key(&j, "recordings"); es_json_int(&j, (int64_t)r->n.recordings);
	es_json_key(&j, "recording_errors"); es_json_int(&j, (int64_t)r->n.recording_errors);
	struct rec_backlog bl;
	rec_recorder_backlog(r->rec, &bl);
	es_json_key(&j, "recording_queue"); es_json_int(&j, bl.pending);
	es_json_key(&j, "recording_queue_oldest_seconds"); es_json_double(&j, bl.oldest_s, 1);
	es_json_key(&j, "recording_encoding"); es_json_int(&j, bl.encoding);
	es_json_key(&j, "encode_threads"); es_json_int(&j, bl.threads);
	es_json_key(&j, "rtp_packets"); es_json_int(&j, (int64_t)rtp);
	es_json_key(&j, "sip_messages"); es_json_int(&j, (int64_t)sip);
	es_json_key(&j, "spool_errors"); es_json_int(&j, (int64_t)spool_err);
	es_json_key(&j, "call_bytes"); es_json_int(&j, (int64_t)bytes);
	es_json_key(&j, "disk_low"); es_json_bool(&j, r->disk_low);
	es_json_key(&j, "alerts"); /* deliveries of [alert NAME] events (alerts.c) */
	cli_alerts_status(r, &j);
	if (r->trlive) { /* keyword alerts during calls (record/tr_live.c) */
		struct rec_trlive_stats ls;
		rec_trlive_stats(r->trlive, &ls);
		es_json_key(&j, "live_keywords");
		es_json_obj_begin(&j);
		es_json_key(&j, "running"); es_json_int(&j, ls.running);
		es_json_key(&j, "max_calls"); es_json_int(&j, ls.max_calls);
		es_json_key(&j, "followed"); es_json_int(&j, (int64_t)ls.followed);
		es_json_key(&j, "skipped"); es_json_int(&j, (int64_t)ls.skipped);
		es_json_key(&j, "failed"); es_json_int(&j, (int64_t)ls.failed);
		es_json_key(&j, "finished"); es_json_int(&j, (int64_t)ls.finished);
		es_json_key(&j, "hits"); es_json_int(&j, (int64_t)ls.hits);
		es_json_key(&j, "delay_ms_last"); es_json_int(&j, ls.delay_ms_last);
		es_json_obj_end(&j);
	}
	es_json_key(&j, "clock"); /* the recorder's clock now (core/clock.h) */
	if (r->clock)
		es_clock_json(&j, &r->clock->now);
	else
		es_json_null(&j);
	es_json_key(&j, "anchors"); /* heads published outside the data folder */
	cli_archive_status(&r->arc, &j);
	es_json_key(&j, "workers");
	es_json_arr_begin(&j);
	for (unsigned i = 0; i < st.nworkers; i++) {
		es_json_obj_begin(&j);
		es_json_key(&j, "queue_bytes"); es_json_int(&j, (int64_t)st.worker[i].queue_bytes);
		es_json_key(&j, "active_calls"); es_json_int(&j, (int64_t)st.worker[i].active_calls);
		es_json_obj_end(&j);
	}
	es_json_arr_end(&j);
	if (r->srs) {
		es_json_key(&j, "srs");
		cli_srs_status(r, &j);
	}
	es_json_obj_end(&j);
	es_json_end(&j);
	if (fclose(f) == 0)
		rename(tmp, r->status_path);
	else
		unlink(tmp);
}

static void check_disk(struct cli_run *r)
{
	struct statvfs vfs;
	if (statvfs(r->ctx->data_dir, &vfs))
		return;
	uint64_t min_free = r->s->min_free;
	uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	bool low = avail < min_free;
	int64_t now = cli_wall_us();
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

/* The figures the system alerts watch, once a second (alerts.c). */
static void alert_sample(struct cli_run *r, int64_t now)
{
	if (!r->alerts || now - r->alert_state.last_us < ES_US_PER_SEC)
		return;
	r->alert_state.last_us = now;
	struct cli_alert_sample s = {.backlog = (uint64_t)rec_recorder_pending(r->rec)};
	if (r->live) {
		struct rec_live_status st;
		rec_live_status(r->live, &st);
		s.drops = st.queue_drops;
		for (unsigned i = 0; i < st.nifaces; i++)
			s.drops += st.iface[i].dropped;
	}
	if (r->srs) {
		struct srs_stats ss;
		srs_stats(r->srs, &ss);
		s.srs_refusals = ss.rejected_busy + ss.rejected_forbidden + ss.rejected_bad;
	}
	struct statvfs vfs;
	if (statvfs(r->ctx->data_dir, &vfs) == 0) {
		s.disk_known = true;
		s.disk_free = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	}
	cli_alerts_system(r, &s);
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

static void reload_rules(struct cli_run *r)
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
	/* the engines read the pointer at each new call; the old set stays
	 * alive until exit because a worker may still be using it */
	r->old_rules[r->nold++] = (struct pol_rules *)atomic_exchange(&r->rules, nr);
	char *json = NULL;
	if (r->web && (cli_rules_json(nr, &json) || api_server_set_rules_json(r->web, json)))
		ES_LOG_ERR(TAG, "SIGHUP: out of memory: the web server shows the previous rules");
	free(json);
	ES_LOG_INF(TAG, "SIGHUP: %u recording rules reloaded from %s", pol_rule_count(nr),
		   r->config_path);
}

int cli_run_loop(struct cli_run *r)
{
	int exit_code = CLI_OK;
	int64_t last_status = 0, last_disk = 0, last_retention = 0, last_upload = 0;
	bool stopping = false;
	/* redactions queued by transcription workers that could not get the
	 * ledger (this process's or another's): carried out by a thread of
	 * their own, which takes the ledger between this loop's rounds */
	pthread_mutex_init(&r->ledger_mu, NULL);
	if (cli_redact_bg_start(r->ctx, r->config_path, r->arc.ledger, &r->ledger_mu,
				&r->redact) == CLI_ERR)
		ES_LOG_ERR(TAG, "no redaction thread: queued redactions wait for the next start");
	for (;;) {
		pthread_mutex_lock(&r->ledger_mu);
		if (got_stop && !stopping) {
			ES_LOG_INF(TAG, "stopping: finishing every live call");
			stopping = true;
			if (r->live)
				rec_live_stop(r->live); /* the workers finish their calls */
			if (r->srs)
				cli_srs_stop(r); /* its calls are stored right away */
		}
		if (got_hup) {
			got_hup = 0;
			reload_rules(r);
		}
		/* one transaction for what finished since the last round (an
		 * empty one writes nothing) */
		idx_begin(r->ix);
		if (r->live) {
			struct rec_live_call *lcall;
			while ((lcall = rec_live_next_call(r->live))) {
				take_call(r, rec_live_call_row_mut(lcall), rec_live_call_media_log(lcall));
				rec_live_call_free(lcall);
			}
		}
		rec_recorder_drain(r->rec, stopping, on_recording, r);
		if (idx_commit(r->ix))
			ES_LOG_ERR(TAG, "index: %s", idx_errmsg(r->ix));
		cli_archive_commit(&r->arc);
		cli_node_publish_head(r);
		int64_t now = cli_wall_us();
		clock_tick(r, now);
		alert_sample(r, now);
		if (now - last_disk >= 5 * ES_US_PER_SEC) {
			check_disk(r);
			last_disk = now;
		}
		/* retention at start and then once a day, between two rounds: the
		 * ledger and the index are this process's (their locks) */
		if (r->retention_daily && !stopping && now - last_retention >= 86400 * ES_US_PER_SEC) {
			last_retention = now;
			int rrc = cli_retention_daily(r);
			if (rrc != CLI_OK && rrc != CLI_QUOTA)
				ES_LOG_ERR(TAG, "retention run failed (exit %d); the next runs in a day",
					   rrc);
		}
		/* commands before the list, which then shows their effect */
		if (!stopping && rec_control_poll(r->ctx->data_dir, run_command, r))
			last_status = 0;
		/* the bucket: what is due and still local (new recordings, and
		 * those a failed upload left queued), a bounded batch a pass
		 * ([s3] upload_interval, a minute) so that an outage does not
		 * hold this loop for long */
		if (r->blobs && !stopping && now - last_upload >= r->upload_interval_us) {
			last_upload = now;
			struct rec_tier_counts tc;
			char terr[1024];
			int64_t after = 0;
			struct st_blob b;
			if (!rec_blobs_open(r->ctx->data_dir, &b, &after, terr, sizeof(terr))) {
				st_blob_close(&b);
				if (rec_tier_move(r->ctx->data_dir, r->ix, now, after, 50, &tc, terr,
						  sizeof(terr)))
					ES_LOG_WARNING(TAG, "upload: %s; %llu recording(s) stay queued",
						       terr, (unsigned long long)(tc.due - tc.moved));
				/* the ledger's new leaves and heads, so that web
				 * nodes prove what this pass archived: a leaf
				 * reaches them within one pass of its commit */
				cli_ledger_publish(r->ctx, r->ix, NULL);
			}
		}
		if (now - last_status >= r->s->status_interval_us || stopping) {
			write_status(r);
			if (!stopping)
				write_active(r);
			last_status = now;
		}
		pthread_mutex_unlock(&r->ledger_mu);
		if (stopping)
			break;
		if (!r->srs) {
			usleep(100 * 1000);
		} else if (cli_srs_step(r, 100) && !got_stop && !got_hup) {
			/* the event loop itself failed: stop cleanly, report it */
			ES_LOG_ERR(TAG, "the SIPREC server failed; stopping");
			got_stop = 1;
			exit_code = CLI_ERR;
		}
	}
	cli_redact_bg_stop(r->redact);
	r->redact = NULL;
	pthread_mutex_destroy(&r->ledger_mu);
	ES_LOG_INF(TAG, "stopped: %llu calls, %llu recordings", (unsigned long long)r->n.calls,
		   (unsigned long long)r->n.recordings);
	if (r->n.store_errors || r->n.recording_errors)
		exit_code = CLI_ERR;
	return exit_code;
}

void cli_run_abort(struct cli_run *r)
{
	if (r->srs)
		cli_srs_stop(r);
	idx_begin(r->ix);
	rec_recorder_drain(r->rec, true, on_recording, r);
	if (idx_commit(r->ix))
		ES_LOG_ERR(TAG, "index: %s", idx_errmsg(r->ix));
	cli_archive_commit(&r->arc);
	cli_node_publish_head(r);
}

void cli_run_close(struct cli_run *r)
{
	/* the live streams read the spool with the vault and raise alerts */
	cli_tr_live_stop(r);
	/* no recorder, no calls in progress */
	if (r->active_path[0])
		unlink(r->active_path);
	if (r->ix)
		cli_node_publish_active(r, true);
	free(r->active);
	r->active = NULL;
	if (r->clock)
		es_clock_track_stop(r->clock);
	free(r->clock);
	r->clock = NULL;
	rec_live_free(r->live);
	r->live = NULL;
	cli_srs_free(r);
	/* after the engines, which raise to it; what is queued reaches the outbox */
	cli_alerts_close(r);
	rec_recorder_free(r->rec);
	r->rec = NULL;
	cli_archive_close(&r->arc);
	pol_retention_free(r->retention);
	r->retention = NULL;
	idx_close(r->ix);
	r->ix = NULL;
	pol_rules_free((struct pol_rules *)atomic_load(&r->rules));
	for (unsigned i = 0; i < r->nold; i++)
		pol_rules_free(r->old_rules[i]);
	r->nold = 0;
}
