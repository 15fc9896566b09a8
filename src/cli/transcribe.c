/* transcribe.c - `earshot transcribe`: queue calls for transcription, show
 * the queue, run the worker, show a call's transcript (wiring only: the
 * queue is index/, the worker record/transcript.c, the engines
 * analytics/transcribe.h). */
#include "analytics/alert.h"
#include "api/api.h"
#include "analytics/textan.h"
#include "analytics/transcribe.h"
#include "cli/cli.h"
#include "core/config.h"
#include "index/index.h"
#include "record/record.h"
#include "store/ledger.h"
#include "store/vault.h"

#include <errno.h>
#include <sodium.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: earshot transcribe ID...              queue calls (again if done)\n"
		"       earshot transcribe --query FILTERS    queue the calls matching\n"
		"       earshot transcribe status [--json]    the queue\n"
		"       earshot transcribe run [-c CONFIG] [--once]\n"
		"       earshot transcribe show ID [--json]   a call's transcripts\n"
		"       earshot transcribe reindex            transcripts stored before the\n"
		"                                     blind search index into it (run does it too)\n"
		"       earshot transcribe --prepare-model DIR [--variant V]\n"
		"                                     pocketsphinx: a telephone model copy\n"
		"\n"
		"Each channel of a stereo recording (caller, callee) is one job.  `run`\n"
		"works through due jobs with the engine of [transcription] (docs/CONFIG.md),\n"
		"queues the recorded calls of every [rule] with transcribe = yes, and\n"
		"retries failed jobs with backoff; --once stops when nothing is due, else\n"
		"it runs until SIGTERM.  A job left running by a stopped worker is due\n"
		"again at the next start.\n"
		"\n"
		"  --query FILTERS  comma-separated key=value of party, from, to, tag,\n"
		"                   source, outcome, flag, call-id (as `hold add --query`)\n"
		"  -c, --config F   the configuration ([transcription], [rule])\n"
		"  --json           status, show: as JSON\n"
		"  --variant V      8k, 16k, 16k-live or 16k-cmn (default: the best\n"
		"                   measured, docs/SPEECH.md)\n"
		"\n"
		"Exit codes: 0 ok, 1 error, 2 usage or configuration, 4 no such call or\n"
		"no recording.\n");
}

static int reindex(struct cli_ctx *ctx, struct idx *ix, bool say);
static atomic_int tr_stop; /* lock-free: set by the signal handler */
static void on_stop(int sig)
{
	(void)sig;
	tr_stop = 1;
}

/* ---- [transcription] ------------------------------------------------------------------ */

struct tr_settings {
	struct tr_conf c;
	int64_t max_attempts, outage_after;
	int64_t backoff_us, backoff_max_us, poll_us, outage_pause_us, outage_pause_max_us;
	char token[4096];
	char model_dir[4200]; /* pocketsphinx: DATA/models/pocketsphinx */
	struct es_conf conf;
	bool loaded;
	/* the text analyses of each transcript: [keywords NAME], [sentiment],
	 * [redact_speech] (docs/CONFIG.md) */
	struct ta_config ta;
	struct ta_lexicon lx;
	bool have_ta, have_lx;
};

static const char *const tr_keys[] = {"engine", "url", "model", "language", "token",
				      "token_file", "ca_file", "timeout", "max_attempts",
				      "backoff", "backoff_max", "poll", "worker", "outage_after",
				      "outage_pause", "outage_pause_max", "live", "live_max_calls",
				      "live_rules", "live_timeout", NULL};

static const char *val(const struct es_conf *c, const char *k)
{
	const struct es_conf_entry *e = es_conf_find(c, "transcription", k);
	return e && *e->value ? e->value : NULL;
}

/* The token from a file (first line), never echoed in a message. */
static int read_token(const char *path, char *out, size_t cap, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return es_errf(err, errlen, ES_EINVAL, "token_file %s: %s", path, strerror(errno));
	if (!fgets(out, (int)cap, f))
		out[0] = 0;
	fclose(f);
	out[strcspn(out, "\r\n")] = 0;
	return *out ? 0 : es_errf(err, errlen, ES_EINVAL, "token_file %s is empty", path);
}

static int settings_load(struct tr_settings *s, const char *config, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->max_attempts = 5;
	s->backoff_us = 30 * ES_US_PER_SEC;
	s->backoff_max_us = 3600 * ES_US_PER_SEC;
	s->poll_us = ES_US_PER_SEC;
	s->outage_after = 5;
	s->outage_pause_us = 10 * ES_US_PER_SEC;
	s->outage_pause_max_us = 300 * ES_US_PER_SEC;
	if (!config)
		return es_errf(err, errlen, ES_EINVAL, "no configuration (-c): [transcription] "
						       "names the engine");
	int rc = es_conf_load(&s->conf, config, err, errlen);
	if (rc)
		return rc;
	s->loaded = true;
	if ((rc = es_conf_check_keys(&s->conf, "transcription", tr_keys, err, errlen)))
		return rc;
	s->c.engine = val(&s->conf, "engine");
	s->c.url = val(&s->conf, "url");
	s->c.model = val(&s->conf, "model");
	s->c.language = val(&s->conf, "language");
	s->c.ca_file = val(&s->conf, "ca_file");
	const char *tok = val(&s->conf, "token"), *tf = val(&s->conf, "token_file");
	if (tf && (rc = read_token(tf, s->token, sizeof(s->token), err, errlen)))
		return rc;
	s->c.token = tf ? s->token : tok;
	int64_t to = 0;
	rc = es_conf_duration(&s->conf, "transcription", "timeout", &to, err, errlen);
	if (rc && rc != ES_ENOTFOUND)
		return rc;
	s->c.timeout_s = to > 0 ? (long)((to + ES_US_PER_SEC - 1) / ES_US_PER_SEC) : 300;
	rc = es_conf_int(&s->conf, "transcription", "max_attempts", 1, 100, &s->max_attempts, err,
			 errlen);
	if (rc && rc != ES_ENOTFOUND)
		return rc;
	rc = es_conf_int(&s->conf, "transcription", "outage_after", 1, 1000, &s->outage_after, err,
			 errlen);
	if (rc && rc != ES_ENOTFOUND)
		return rc;
	const char *dk[] = {"backoff", "backoff_max", "poll", "outage_pause", "outage_pause_max"};
	int64_t *dv[] = {&s->backoff_us, &s->backoff_max_us, &s->poll_us, &s->outage_pause_us,
			 &s->outage_pause_max_us};
	for (int i = 0; i < 5; i++) {
		rc = es_conf_duration(&s->conf, "transcription", dk[i], dv[i], err, errlen);
		if (rc && rc != ES_ENOTFOUND)
			return rc;
	}
	if (!s->c.engine)
		return es_errf(err, errlen, ES_EINVAL, "%s: [transcription] engine is not set "
						       "(whisper, openai, vosk, pocketsphinx)", config);
	bool sphinx = !strcmp(s->c.engine, "pocketsphinx");
	if (sphinx && !tr_sphinx_available())
		return es_errf(err, errlen, ES_EINVAL, "%s: [transcription] engine pocketsphinx: "
			       "this earshot was built without it", config);
	if (!tr_engine_find(s->c.engine))
		return es_errf(err, errlen, ES_EINVAL,
			       "%s: [transcription] engine '%.40s' is not one of whisper, openai, "
			       "vosk, pocketsphinx", config, s->c.engine);
	if (!s->c.url && !sphinx)
		return es_errf(err, errlen, ES_EINVAL, "%s: [transcription] url is not set", config);
	if ((rc = ta_config_load(&s->ta, &s->conf, err, errlen)))
		return rc;
	s->have_ta = true;
	if (s->ta.lexicon) {
		if ((rc = ta_lexicon_load(&s->lx, s->ta.lexicon, err, errlen)))
			return rc == ES_ENOMEM ? rc : ES_EINVAL;
		s->have_lx = true;
	}
	return 0;
}

static void settings_free(struct tr_settings *s)
{
	sodium_memzero(s->token, sizeof(s->token));
	if (s->have_lx)
		ta_lexicon_free(&s->lx);
	if (s->have_ta)
		ta_config_free(&s->ta);
	if (s->loaded)
		es_conf_free(&s->conf);
}

/* Queue the recorded calls of every [rule NAME] with transcribe = yes. */
static int queue_rules(struct idx *ix, const struct es_conf *c, int64_t now)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct es_conf_entry *e = &c->e[i];
		if (strncasecmp(e->section, "rule ", 5) || strcmp(e->key, "transcribe"))
			continue;
		bool on = false;
		char err[512];
		if (es_conf_bool(c, e->section, "transcribe", &on, err, sizeof(err)) || !on)
			continue;
		int64_t n = 0;
		int rc = idx_tr_enqueue_rule(ix, e->section + 5, now, &n);
		if (rc)
			return rc;
		if (n)
			ES_LOG_INF("transcribe", "rule %s: %lld jobs queued", e->section + 5,
				   (long long)n);
	}
	return 0;
}

/* ---- spoken numbers: their audio redacted -------------------------------------------- */

struct tr_redactor {
	struct cli_ctx *ctx;
	struct idx *ix;
	bool shred; /* [redaction] original = shred */
};

/* One masked number's span through the redaction mechanism: the same
 * signed redaction record and audit entry as `earshot redact` (by
 * "transcription", reason "spoken card number"), now when this process
 * can get the ledger, else queued for its holder (a running recorder,
 * cli/redact_spoken.c). */
static int redact_span(void *ud, int64_t call_row, const char *channel, int64_t from_ms,
		       int64_t to_ms, const char *kind)
{
	struct tr_redactor *rd = ud;
	char reason[96];
	snprintf(reason, sizeof(reason), "spoken %s number", kind);
	struct rec_redact_job jb = {.call_row = call_row, .channel = channel,
				    .from_us = from_ms * 1000, .to_us = to_ms * 1000,
				    .fill = "silence", .reason = reason, .by = "transcription"};
	bool queued = false;
	int rc = cli_redact_or_queue(rd->ctx, rd->ix, rd->shred, &jb, &queued);
	if (rc)
		fprintf(stderr, "earshot transcribe: call %lld: the spoken %s number at "
			"%.3f-%.3f s is not redacted\n", (long long)call_row, kind, from_ms / 1e3,
			to_ms / 1e3);
	return rc;
}

/* The worker until *stop (or, once, until nothing is due). */
static int run_worker(struct cli_ctx *ctx, const char *config, bool once, atomic_int *stop,
		      bool report)
{
	char err[1024] = "";
	struct tr_settings s;
	int rc = settings_load(&s, config, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "earshot transcribe: %s\n", err);
		settings_free(&s);
		return rc == ES_ENOMEM || rc == ES_EIO ? CLI_ERR : CLI_USAGE;
	}
	/* pocketsphinx without a model: the default copy, made once */
	if (!strcmp(s.c.engine, "pocketsphinx") && !s.c.model) {
		snprintf(s.model_dir, sizeof(s.model_dir), "%s/models/pocketsphinx", ctx->data_dir);
		s.c.model = s.model_dir;
		if (access(s.model_dir, F_OK) && (es_mkdirs(s.model_dir, false) ||
		    (rc = tr_sphinx_prepare(s.model_dir, NULL, err, sizeof(err))))) {
			fprintf(stderr, "earshot transcribe: %s\n", rc ? err : strerror(errno));
			settings_free(&s);
			return CLI_ERR;
		}
	}
	struct idx *ix = NULL;
	if (cli_open_index(ctx, false, &ix)) {
		settings_free(&s);
		return CLI_ERR;
	}
	/* transcripts from before the blind index: searchable again first */
	reindex(ctx, ix, false);
	/* the engine's state (pocketsphinx: the model) kept across jobs; a
	 * stop gives up a request under way (the job is queued again) */
	struct tr_cache cache = {0};
	s.c.cache = &cache;
	s.c.stop = stop;
	struct rec_tr_worker w = {
		.data_dir = ctx->data_dir,
		.ix = ix,
		.conf = &s.c,
		.engine = tr_engine_find(s.c.engine),
		.max_attempts = (int)s.max_attempts,
		.backoff_us = s.backoff_us,
		.backoff_max_us = s.backoff_max_us,
		.outage_after = (int)s.outage_after,
		.outage_pause_us = s.outage_pause_us,
		.outage_pause_max_us = s.outage_pause_max_us,
		.ta = &s.ta,
		.lx = s.have_lx ? &s.lx : NULL,
	};
	/* keyword hits raise the "keyword" alert (docs/ALERTS.md) */
	struct an_alerts *alerts = NULL;
	if (an_alerts_from_conf(&alerts, &s.conf, ctx->data_dir, err, sizeof(err)) ||
	    (alerts && an_alerts_start(alerts, err, sizeof(err)))) {
		fprintf(stderr, "earshot transcribe: %s\n", err);
		an_alerts_free(alerts);
		idx_close(ix);
		settings_free(&s);
		return CLI_USAGE;
	}
	w.alerts = alerts;
	/* spoken numbers' audio: redacted as [redaction] says (docs/CONFIG.md) */
	struct tr_redactor rd = {.ctx = ctx, .ix = ix};
	if (cli_redaction_mode(config, NULL, &rd.shred)) {
		an_alerts_free(alerts);
		idx_close(ix);
		settings_free(&s);
		return CLI_USAGE;
	}
	w.redact = redact_span;
	w.redact_ud = &rd;
	char owner[300];
	rec_tr_owner(owner, sizeof(owner));
	w.owner = owner;
	int64_t n = 0;
	int ret = CLI_OK;
	if ((rc = rec_tr_requeue_orphans(ix, cli_wall_us(), REC_TR_LEASE_US, &n))) {
		fprintf(stderr, "earshot transcribe: %s\n", idx_errmsg(ix));
		ret = CLI_ERR;
		goto out;
	}
	if (n)
		ES_LOG_WARNING("transcribe", "%lld jobs left running by a stopped worker: queued "
					     "again", (long long)n);
	unsigned done = 0, failed = 0;
	int64_t last_rules = 0, start = cli_wall_us();
	while (!atomic_load(stop)) {
		/* --once: the jobs due when it started, each tried once */
		int64_t now = once ? start : cli_wall_us();
		if (now - last_rules >= 10 * ES_US_PER_SEC || once) {
			if ((rc = queue_rules(ix, &s.conf, now))) {
				fprintf(stderr, "earshot transcribe: %s\n", idx_errmsg(ix));
				ret = CLI_ERR;
				break;
			}
			last_rules = now;
		}
		bool ran = false, bad = false;
		err[0] = 0;
		if ((rc = rec_tr_run_one(&w, now, &ran, &bad, err, sizeof(err)))) {
			fprintf(stderr, "earshot transcribe: %s\n", err);
			ret = CLI_ERR;
			break;
		}
		if (ran && !bad) {
			done++;
			cli_tr_seal_try(ctx, ix, &s.conf); /* its ledger leaf */
		}
		if (ran && bad) {
			failed++;
			fprintf(stderr, "earshot transcribe: %s\n", err);
		}
		if (ran)
			continue;
		if (once)
			break;
		usleep((useconds_t)(s.poll_us > 0 ? s.poll_us : ES_US_PER_SEC));
	}
	if (ret == CLI_OK && report)
		printf("transcribed %u channel(s), %u attempt(s) failed\n", done, failed);
out:
	an_alerts_stop(alerts);
	an_alerts_free(alerts);
	rec_tr_worker_close(&w);
	tr_cache_free(&cache);
	idx_close(ix);
	settings_free(&s);
	return ret;
}

/* ---- status and show ---------------------------------------------------------------- */

struct st_ctx {
	struct es_json *j;
	unsigned n[5];
};

static const char *const states[] = {"queued", "running", "retry", "done", "failed"};

static int put_job(void *ud, const struct idx_tr_job *jb)
{
	struct st_ctx *c = ud;
	for (int i = 0; i < 5; i++)
		if (!strcmp(jb->state, states[i]))
			c->n[i]++;
	char t[ES_TIME_STRLEN];
	if (!c->j) {
		es_time_fmt(jb->next_us, t, sizeof(t));
		printf("%-8lld %-7s %-8s %2d  %s  %s\n", (long long)jb->call_row,
		       jb->channel ? "callee" : "caller", jb->state, jb->attempts, t,
		       jb->error ? jb->error : "");
		return 0;
	}
	struct es_json *j = c->j;
	es_json_obj_begin(j);
	es_json_key(j, "call");
	es_json_int(j, jb->call_row);
	es_json_key(j, "channel");
	es_json_str(j, jb->channel ? "callee" : "caller");
	es_json_key(j, "state");
	es_json_str(j, jb->state);
	es_json_key(j, "attempts");
	es_json_int(j, jb->attempts);
	es_time_fmt(jb->next_us, t, sizeof(t));
	es_json_key(j, "next_try");
	es_json_str(j, t);
	es_json_key(j, "error");
	es_json_str(j, jb->error);
	es_time_fmt(jb->updated_us, t, sizeof(t));
	es_json_key(j, "updated");
	es_json_str(j, t);
	es_json_obj_end(j);
	return 0;
}

/* Each running worker's outage pause (record/transcript_pause.c). */
struct pause_ctx {
	struct es_json *j;
	bool any_paused;
	int64_t since_us; /* the earliest pause under way */
};

static int put_worker(void *ud, const struct rec_tr_pause_info *in)
{
	struct pause_ctx *c = ud;
	char since[ES_TIME_STRLEN] = "", resume[ES_TIME_STRLEN] = "";
	if (in->paused) {
		c->any_paused = true;
		if (!c->since_us || in->since_us < c->since_us)
			c->since_us = in->since_us;
		es_time_fmt(in->since_us, since, sizeof(since));
		es_time_fmt(in->resume_us, resume, sizeof(resume));
	}
	if (!c->j) {
		if (in->paused)
			printf("worker %s: paused since %s (the engine failed: %s); next try %s\n",
			       in->owner, since, in->last_error, resume);
		return 0;
	}
	struct es_json *j = c->j;
	es_json_obj_begin(j);
	es_json_key(j, "owner");
	es_json_str(j, in->owner);
	es_json_key(j, "paused");
	es_json_bool(j, in->paused);
	es_json_key(j, "paused_since");
	if (in->paused)
		es_json_str(j, since);
	else
		es_json_null(j);
	es_json_key(j, "next_try");
	if (in->paused)
		es_json_str(j, resume);
	else
		es_json_null(j);
	es_json_key(j, "engine_errors");
	es_json_int(j, in->errors);
	es_json_key(j, "pauses");
	es_json_int(j, (int64_t)in->pauses);
	es_json_key(j, "last_error");
	es_json_str(j, in->last_error[0] ? in->last_error : NULL);
	es_json_obj_end(j);
	return 0;
}

static int cmd_status(struct cli_ctx *ctx, bool json)
{
	struct idx *ix = NULL;
	if (cli_open_index(ctx, false, &ix))
		return CLI_ERR;
	struct es_json j;
	struct st_ctx c = {.j = json ? &j : NULL};
	if (json) {
		es_json_init(&j, stdout, true);
		es_json_obj_begin(&j);
		es_json_key(&j, "jobs");
		es_json_arr_begin(&j);
	} else {
		printf("%-8s %-7s %-8s %2s  %-24s  %s\n", "CALL", "CHANNEL", "STATE", "N",
		       "NEXT TRY", "ERROR");
	}
	int rc = idx_tr_jobs_list(ix, 0, put_job, &c);
	struct pause_ctx pc = {.j = json ? &j : NULL};
	if (json) {
		es_json_arr_end(&j);
		es_json_key(&j, "workers");
		es_json_arr_begin(&j);
		rec_tr_pause_list(ctx->data_dir, put_worker, &pc);
		es_json_arr_end(&j);
		char since[ES_TIME_STRLEN] = "";
		es_time_fmt(pc.since_us, since, sizeof(since));
		es_json_key(&j, "paused");
		es_json_bool(&j, pc.any_paused);
		es_json_key(&j, "paused_since");
		if (pc.any_paused)
			es_json_str(&j, since);
		else
			es_json_null(&j);
		es_json_key(&j, "counts");
		es_json_obj_begin(&j);
		for (int i = 0; i < 5; i++) {
			es_json_key(&j, states[i]);
			es_json_int(&j, c.n[i]);
		}
		es_json_obj_end(&j);
		es_json_obj_end(&j);
		es_json_end(&j);
		putchar('\n');
	}
	if (!json)
		rec_tr_pause_list(ctx->data_dir, put_worker, &pc);
	if (rc)
		fprintf(stderr, "earshot transcribe: %s\n", idx_errmsg(ix));
	idx_close(ix);
	return rc ? CLI_ERR : CLI_OK;
}

struct show_ctx {
	bool found;
	struct idx_recording rec;
	char path[512], sha[65];
	char node[IDX_NODE_MAX]; /* the recorder's on a shared index */
};

static int take_call(void *ud, const struct idx_call *c)
{
	struct show_ctx *s = ud;
	if (!c->recording)
		return 0;
	s->found = true;
	s->rec = *c->recording;
	snprintf(s->path, sizeof(s->path), "%s", c->recording->path);
	s->rec.path = s->path;
	s->rec.sha256 = NULL;
	s->rec.plain_sha256 = s->rec.format = s->rec.codecs = s->rec.flags = NULL;
	s->rec.stats_json = NULL;
	snprintf(s->node, sizeof(s->node), "%s", c->node ? c->node : "");
	return 0;
}

/* A call given as its number (`earshot calls` shows it). */
static int resolve_call(const char *arg, int64_t *row)
{
	char *end;
	long long v = strtoll(arg, &end, 10);
	if (!*arg || *end || v <= 0)
		return ES_ENOTFOUND;
	*row = v;
	return 0;
}

static int cmd_show(struct cli_ctx *ctx, const char *arg, bool json)
{
	struct idx *ix = NULL;
	if (cli_open_index(ctx, false, &ix))
		return CLI_ERR;
	int64_t row = 0;
	struct show_ctx s = {0};
	int ret = CLI_OK;
	struct st_vault *v = NULL;
	char err[512] = "";
	if (resolve_call(arg, &row) || idx_call_brief(ix, row, take_call, &s) || !s.found) {
		fprintf(stderr, "earshot transcribe: no call %s with a recording\n", arg);
		idx_close(ix);
		return CLI_NOTFOUND;
	}
	if (s.rec.encrypted && st_vault_open(&v, ctx->data_dir, false, err, sizeof(err))) {
		fprintf(stderr, "earshot transcribe: %s\n", err);
		idx_close(ix);
		return CLI_ERR;
	}
	/* another node's (issue #16): its key from the index, its words from
	 * its bucket, as a web node reads them */
	bool elsewhere = rec_recording_elsewhere(ctx->data_dir, ix, s.node, s.path);
	if (elsewhere)
		rec_keys_remote(v, ix);
	if (json)
		printf("{\"call\":%lld,\"transcripts\":[", (long long)row);
	bool any = false;
	for (int ch = 0; ch < 2; ch++) {
		struct es_buf b;
		es_buf_init(&b);
		int rc = rec_transcript_load_node(ctx->data_dir, elsewhere ? ix : NULL,
						  elsewhere ? s.node : NULL, v, &s.rec, ch, &b, err,
						  sizeof(err));
		if (rc == ES_ENOTFOUND) {
			es_buf_free(&b);
			continue;
		}
		if (rc) {
			fprintf(stderr, "earshot transcribe: %s\n", err);
			ret = CLI_ERR;
			es_buf_free(&b);
			break;
		}
		if (json)
			printf("%s%.*s", any ? "," : "", (int)b.len, (const char *)b.p);
		else
			printf("%.*s\n", (int)b.len, (const char *)b.p);
		any = true;
		es_buf_free(&b);
	}
	if (json)
		printf("]}\n");
	if (!any && ret == CLI_OK && !json) {
		fprintf(stderr, "earshot transcribe: call %lld has no transcript yet\n",
			(long long)row);
		ret = CLI_NOTFOUND;
	}
	if (v)
		st_vault_close(v);
	idx_close(ix);
	return ret;
}

static int cmd_run(struct cli_ctx *ctx, const char *config, bool once)
{
	struct sigaction sa = {.sa_handler = on_stop};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	return run_worker(ctx, config, once, &tr_stop, true);
}

/* ---- the worker inside `earshot serve` ---------------------------------------------------- */

struct cli_tr_bg {
	struct cli_ctx *ctx;
	const char *config;
	pthread_t th;
	atomic_int stop;
};

static void *bg_main(void *ud)
{
	struct cli_tr_bg *b = ud;
	/* background work: this thread (Linux: a thread's own nice value)
	 * yields the CPU to capture, the API and encoding */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10))
		ES_LOG_DBG("transcribe", "setpriority: %s", strerror(errno));
	if (run_worker(b->ctx, b->config, false, &b->stop, false) != CLI_OK)
		ES_LOG_ERR("transcribe", "the transcription worker stopped; `earshot transcribe "
					 "run` can take over");
	return NULL;
}

int cli_tr_bg_start(struct cli_ctx *ctx, const char *config, struct cli_tr_bg **out)
{
	*out = NULL;
	struct es_conf c;
	char err[512];
	if (!config || es_conf_load(&c, config, err, sizeof(err)))
		return 0; /* the caller read the file already: nothing to add */
	bool on = es_conf_find(&c, "transcription", "engine") != NULL, bg = true;
	/* worker = no: this process leaves the queue to other workers */
	int brc = on ? es_conf_bool(&c, "transcription", "worker", &bg, err, sizeof(err)) : 0;
	es_conf_free(&c);
	if (brc && brc != ES_ENOTFOUND) {
		fprintf(stderr, "earshot: %s\n", err);
		return CLI_USAGE;
	}
	if (!on || !bg)
		return 0;
	struct tr_settings s;
	int rc = settings_load(&s, config, err, sizeof(err));
	settings_free(&s);
	if (rc) { /* refused at start, as `transcribe run` would */
		fprintf(stderr, "earshot: %s\n", err);
		return CLI_USAGE;
	}
	struct cli_tr_bg *b = calloc(1, sizeof(*b));
	if (!b)
		return CLI_ERR;
	b->ctx = ctx;
	b->config = config;
	atomic_init(&b->stop, 0);
	if (pthread_create(&b->th, NULL, bg_main, b)) {
		free(b);
		return CLI_ERR;
	}
	*out = b;
	return 0;
}

void cli_tr_bg_stop(struct cli_tr_bg *b)
{
	if (!b)
		return;
	atomic_store(&b->stop, 1);
	pthread_join(b->th, NULL);
	free(b);
}

/* ---- keyword alerts during the call (record/tr_live.c) -------------------------------- */

struct cli_tr_live {
	struct tr_settings s;
};

int cli_tr_live_start(const char *config, struct cli_run *r)
{
	r->trlive = NULL;
	r->trlive_cfg = NULL;
	struct es_conf c;
	char err[1024] = "";
	if (!config || es_conf_load(&c, config, err, sizeof(err)))
		return 0;
	bool live = false;
	int rc = es_conf_find(&c, "transcription", "engine")
			 ? es_conf_bool(&c, "transcription", "live", &live, err, sizeof(err))
			 : ES_ENOTFOUND;
	es_conf_free(&c);
	if (rc && rc != ES_ENOTFOUND)
		goto bad;
	if (!live)
		return 0;
	struct cli_tr_live *t = calloc(1, sizeof(*t));
	if (!t)
		return CLI_ERR;
	int64_t max = 8, to = 0;
	if ((rc = settings_load(&t->s, config, err, sizeof(err))))
		goto bad_t;
	/* only a streaming engine hears the words while they are said */
	if (strcmp(t->s.c.engine, "vosk")) {
		rc = es_errf(err, sizeof(err), ES_EINVAL, "%s: [transcription] live = yes needs "
			     "engine = vosk (a streaming engine), not %s", config, t->s.c.engine);
		goto bad_t;
	}
	rc = es_conf_int(&t->s.conf, "transcription", "live_max_calls", 1, 1000, &max, err,
			 sizeof(err));
	if (rc && rc != ES_ENOTFOUND)
		goto bad_t;
	rc = es_conf_duration(&t->s.conf, "transcription", "live_timeout", &to, err, sizeof(err));
	if (rc && rc != ES_ENOTFOUND)
		goto bad_t;
	struct rec_trlive_conf lc = {.data_dir = r->ctx->data_dir, .vault = r->arc.vault,
				     .tr = &t->s.c, .ta = &t->s.ta, .alerts = r->alerts,
				     .max_calls = (unsigned)max,
				     .timeout_s = to > 0 ? (long)((to + ES_US_PER_SEC - 1) /
								  ES_US_PER_SEC) : 10,
				     .rules = val(&t->s.conf, "live_rules")};
	if ((rc = rec_trlive_new(&r->trlive, &lc))) {
		es_errf(err, sizeof(err), rc, "live keywords: %s", es_strerror(rc));
		goto bad_t;
	}
	r->trlive_cfg = t;
	ES_LOG_INF("transcribe", "keyword alerts during calls: up to %lld calls streamed to %s",
		   (long long)max, t->s.c.url);
	return 0;
bad_t:
	settings_free(&t->s);
	free(t);
bad:
	fprintf(stderr, "earshot: %s\n", err);
	return CLI_USAGE;
}

void cli_tr_live_stop(struct cli_run *r)
{
	rec_trlive_free(r->trlive);
	r->trlive = NULL;
	if (r->trlive_cfg) {
		settings_free(&r->trlive_cfg->s);
		free(r->trlive_cfg);
		r->trlive_cfg = NULL;
	}
}

/* ---- queueing --------------------------------------------------------------------------- */

struct q_ctx {
	struct idx *ix;
	int64_t now;
	unsigned calls, jobs, skipped;
	int err;
};

static int queue_one(void *ud, const struct idx_call *c)
{
	struct q_ctx *q = ud;
	if (!c->recording) {
		q->skipped++;
		return 0;
	}
	unsigned added = 0;
	int rc = rec_tr_enqueue(q->ix, c->id, q->now, true, &added);
	if (rc == ES_ENOTFOUND) {
		q->skipped++;
		return 0;
	}
	if (rc)
		return q->err = rc;
	q->calls++;
	q->jobs += added;
	return 0;
}

static int cmd_queue(struct cli_ctx *ctx, char **ids, int nids, const char *query)
{
	struct idx *ix = NULL;
	if (cli_open_index(ctx, false, &ix))
		return CLI_ERR;
	struct q_ctx q = {.ix = ix, .now = cli_wall_us()};
	int ret = CLI_OK;
	if (query) {
		char *buf = strdup(query), err[300] = "";
		struct idx_filter f = {0};
		if (!buf || rec_hold_query_parse(buf, &f, err, sizeof(err))) {
			fprintf(stderr, "earshot transcribe: %s\n", buf ? err : "out of memory");
			free(buf);
			idx_close(ix);
			return buf ? CLI_USAGE : CLI_ERR;
		}
		int rc = idx_calls_list(ix, &f, queue_one, &q);
		free(buf);
		if (rc) {
			fprintf(stderr, "earshot transcribe: %s\n", idx_errmsg(ix));
			ret = CLI_ERR;
		}
	}
	for (int i = 0; ret == CLI_OK && i < nids; i++) {
		char *end;
		long long row = strtoll(ids[i], &end, 10);
		unsigned added = 0;
		int rc = *ids[i] && !*end && row > 0
				 ? rec_tr_enqueue(ix, row, q.now, true, &added)
				 : ES_ENOTFOUND;
		if (rc == ES_ENOTFOUND) {
			fprintf(stderr, "earshot transcribe: no call %s with a recording\n", ids[i]);
			ret = CLI_NOTFOUND;
		} else if (rc) {
			fprintf(stderr, "earshot transcribe: %s\n", idx_errmsg(ix));
			ret = CLI_ERR;
		} else {
			q.calls++;
			q.jobs += added;
		}
	}
	printf("queued %u job(s) for %u call(s)", q.jobs, q.calls);
	if (q.skipped)
		printf(", %u call(s) without a recording skipped", q.skipped);
	printf("\n");
	idx_close(ix);
	return ret;
}

/* Transcripts stored before the blind index (IDX_MIG_TR_BLIND), entered
 * again from their sealed words files: 0, or 1 when one could not be. */
static int reindex(struct cli_ctx *ctx, struct idx *ix, bool say)
{
	char err[512] = "";
	unsigned done = 0, failed = 0;
	int rc = rec_tr_reindex(ix, &ctx->trkey, &done, &failed, err, sizeof(err));
	if (rc)
		fprintf(stderr, "earshot transcribe: reindex: %s\n", *err ? err : es_strerror(rc));
	else if (say || done || failed)
		fprintf(say ? stdout : stderr,
			"earshot transcribe: reindex: %u transcript(s) entered in the search index,"
			" %u could not be read (see the log)\n", done, failed);
	/* findings stored in plain text before they were sealed (issue #19) */
	unsigned sealed = 0;
	int sr = idx_speech_reseal(ix, &sealed);
	if (sr)
		fprintf(stderr, "earshot transcribe: reindex: sealing the findings: %s\n",
			idx_errmsg(ix));
	else if (sealed)
		fprintf(say ? stdout : stderr,
			"earshot transcribe: reindex: the findings of %u call(s) sealed\n", sealed);
	return rc || failed || sr;
}

static int cmd_reindex(struct cli_ctx *ctx)
{
	struct idx *ix = NULL;
	if (cli_open_index(ctx, false, &ix))
		return CLI_ERR;
	int rc = reindex(ctx, ix, true);
	idx_close(ix);
	return rc ? CLI_ERR : CLI_OK;
}

int cli_transcribe(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"query", required_argument, NULL, 'q'},
		{"json", no_argument, NULL, 'j'},
		{"once", no_argument, NULL, 'o'},
		{"data", required_argument, NULL, 'd'},
		{"prepare-model", required_argument, NULL, 'P'},
		{"variant", required_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *config = NULL, *query = NULL, *prep = NULL, *variant = NULL;
	bool json = false, once = false;
	int c;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'q': query = optarg; break;
		case 'j': json = true; break;
		case 'o': once = true; break;
		case 'd': ctx->data_dir = optarg; ctx->data_explicit = true; break;
		case 'P': prep = optarg; break;
		case 'V': variant = optarg; break;
		case 'h': usage(stdout); return CLI_OK;
		default: usage(stderr); return CLI_USAGE;
		}
	}
	if (prep) {
		char err[1024];
		int rc = optind == argc ? tr_sphinx_prepare(prep, variant, err, sizeof(err)) : ES_EINVAL;
		if (rc == ES_EINVAL && optind != argc)
			snprintf(err, sizeof(err), "--prepare-model takes no other arguments");
		if (rc)
			fprintf(stderr, "earshot transcribe: %s\n", err);
		else
			printf("%s: pocketsphinx model, variant %s\n", prep,
			       variant ? variant : tr_sphinx_default_variant());
		return !rc ? CLI_OK : rc == ES_EINVAL || rc == ES_EEXIST ? CLI_USAGE : CLI_ERR;
	}
	char **rest = argv + optind;
	int nrest = argc - optind;
	const char *sub = nrest ? rest[0] : NULL;
	if (sub && !strcmp(sub, "status") && nrest == 1)
		return cmd_status(ctx, json);
	if (sub && !strcmp(sub, "run") && nrest == 1)
		return cmd_run(ctx, config, once);
	if (sub && !strcmp(sub, "show") && nrest == 2)
		return cmd_show(ctx, rest[1], json);
	if (sub && !strcmp(sub, "reindex") && nrest == 1)
		return cmd_reindex(ctx);
	if (!nrest && !query) {
		usage(stderr);
		return CLI_USAGE;
	}
	return cmd_queue(ctx, rest, nrest, query);
}
