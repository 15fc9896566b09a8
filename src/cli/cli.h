/* cli.h - the earshot command line: wiring only. */
#ifndef ES_CLI_H
#define ES_CLI_H

#include "api/api.h"
#include "core/core.h"
#include "index/index.h"
#include "record/record.h"
#include "siprec/siprec.h"
#include "store/anchor.h"
#include "store/blob.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>

/* Exit codes (docs/CLI.md). */
enum {
	CLI_OK = 0,
	CLI_ERR = 1,      /* could not do the job: index, I/O, memory */
	CLI_USAGE = 2,    /* bad command line */
	CLI_INPUT = 3,    /* some input was unreadable, truncated or corrupt;
			     everything readable was imported */
	CLI_NOTFOUND = 4, /* no such call, or it has no recording */
	CLI_UNAVAILABLE = 5, /* no sound device (play) */
	CLI_HELD = 6,     /* refused: a legal hold covers it (hold, delete, retention) */
	CLI_QUOTA = 7,    /* retention run: the quota cannot be met without
			     deleting recordings before their minimum keep time */
	CLI_GAPS = 8,     /* reconcile: answered calls without a recording or a reason */
	CLI_TIMEOUT = 9,  /* calls: the search took longer than --timeout */
};

struct cli_ctx {
	const char *data_dir;
	bool data_explicit;       /* --data or $EARSHOT_DATA given */
	bool verbosity_explicit;  /* -v or -q given */
	bool allow_open_data;     /* --allow-open-data: run in a folder others can enter */
	const char *index;        /* $EARSHOT_INDEX or [earshot] index: a PostgreSQL
				     URL; NULL: DATA/index.sqlite */
	bool index_explicit;      /* from $EARSHOT_INDEX (the file's key yields) */
	const char *node;         /* $EARSHOT_NODE or [earshot] node; NULL: the
				     host name (nodes.c) */
	bool node_explicit;       /* from $EARSHOT_NODE (the file's key yields) */
	const char *prog;
	struct rec_tr_keysrc trkey; /* cli_open_index's search key source */
};

int cli_import(struct cli_ctx *ctx, int argc, char **argv);
int cli_calls(struct cli_ctx *ctx, int argc, char **argv);
int cli_show(struct cli_ctx *ctx, int argc, char **argv);
int cli_export(struct cli_ctx *ctx, int argc, char **argv);
/* anonymise.c: export --anonymise.  which: "caller" 1, "callee" 2, "both" 3
 * into *mask; alpha "A" or "LO:HI" (a random one per export, picked by
 * cli_anon_pick_alpha); ES_EINVAL when malformed or out of range.  The
 * plaintext recording in goes to out (fmt, mono with mix), its masked
 * channels anonymised; err says why on failure. */
int cli_anon_parse_which(const char *s, unsigned *mask);
int cli_anon_parse_alpha(const char *s, double *lo, double *hi);
double cli_anon_pick_alpha(double lo, double hi);
int cli_anon_file(const char *in, const char *out, enum media_format fmt, bool mix,
		  unsigned mask, double alpha, char *err, size_t errlen);
int cli_play(struct cli_ctx *ctx, int argc, char **argv);
int cli_record(struct cli_ctx *ctx, int argc, char **argv);
int cli_status(struct cli_ctx *ctx, int argc, char **argv);
int cli_srs(struct cli_ctx *ctx, int argc, char **argv);
int cli_verify(struct cli_ctx *ctx, int argc, char **argv); /* verify.c */
/* verify_head.c: check the ledger in ledger_dir against every distinct
 * head of FILE signed by its key (only the newest with newest_only); each
 * failing head goes to report as a finding ("head_truncated",
 * "head_forked", "head_key", "head_proof", "head_unreadable"...), a clean
 * check as one "head_ok".  Returns how many heads were checked. */
typedef void (*cli_head_report_fn)(void *ctx, const char *kind, const char *msg, bool finding);
int cli_verify_heads(const char *ledger_dir, const char *file, bool newest_only,
		     cli_head_report_fn report, void *ctx);
/* verify_nodes.c: `verify --nodes`: for each node of the shared index that
 * published its ledger, run(ud, its data folder, its name, a file holding
 * its published head or NULL); a line per node on stdout.  The worst exit
 * code (1 before others), 3 when the index cannot be read or no node
 * published a ledger. */
typedef int (*cli_verify_node_fn)(void *ud, const char *data_dir, const char *node,
				  const char *head_file);
int cli_verify_nodes(struct cli_ctx *ctx, cli_verify_node_fn run, void *ud);
int cli_keys(struct cli_ctx *ctx, int argc, char **argv);   /* keys.c */
int cli_user(struct cli_ctx *ctx, int argc, char **argv);   /* user.c */
int cli_team(struct cli_ctx *ctx, int argc, char **argv);   /* team.c */
int cli_audit(struct cli_ctx *ctx, int argc, char **argv);  /* audit.c */
int cli_serve(struct cli_ctx *ctx, int argc, char **argv);  /* serve.c */
int cli_delete(struct cli_ctx *ctx, int argc, char **argv); /* keys.c */
int cli_hold(struct cli_ctx *ctx, int argc, char **argv);   /* hold.c */
int cli_pause(struct cli_ctx *ctx, int argc, char **argv);  /* control.c */
int cli_resume(struct cli_ctx *ctx, int argc, char **argv); /* control.c */
int cli_retention(struct cli_ctx *ctx, int argc, char **argv); /* retention.c */
int cli_redact(struct cli_ctx *ctx, int argc, char **argv);    /* redact.c */
int cli_textan(struct cli_ctx *ctx, int argc, char **argv);    /* textan.c */
/* [redaction] original of config (may be NULL), or override: *shred;
 * CLI_USAGE said on stderr for a bad file or value. */
int cli_redaction_mode(const char *config, const char *override, bool *shred);
/* verify_redact.c: the redactions of call_row (0: all) read from the
 * index; the originals' paths (which have no recording row); then the
 * check of each redaction's leaves and original, findings to report
 * (finding false: an expected state such as "shredded"). */
struct cli_vr;
struct st_vault;
typedef void (*cli_vr_report_fn)(void *ctx, const char *id, const char *kind, const char *msg,
				 bool finding);
int cli_verify_redactions_load(struct idx *ix, int64_t call_row, struct cli_vr **out);
size_t cli_verify_redactions_originals(const struct cli_vr *vr, const char **paths, size_t cap);
void cli_verify_redactions_check(struct cli_vr *vr, const char *data_dir, struct st_vault *vault,
				 cli_vr_report_fn report, void *ctx);
void cli_verify_redactions_free(struct cli_vr *vr);
int cli_subject(struct cli_ctx *ctx, int argc, char **argv);   /* subject.c */
int cli_reconcile(struct cli_ctx *ctx, int argc, char **argv); /* reconcile.c */
int cli_transcribe(struct cli_ctx *ctx, int argc, char **argv); /* transcribe.c */
/* The transcription worker as a thread of `earshot serve` when config has
 * [transcription] engine (*out NULL otherwise): the same settings, queue
 * and text analyses as `earshot transcribe run`.  0, or CLI_USAGE for a
 * bad [transcription] (printed). */
struct cli_tr_bg;
int cli_tr_bg_start(struct cli_ctx *ctx, const char *config, struct cli_tr_bg **out);
void cli_tr_bg_stop(struct cli_tr_bg *b);
/* [transcription] live = yes: the keyword alerts during calls
 * (record/tr_live.c) into r->trlive, after the run is open (its vault and
 * alerts); CLI_USAGE for a bad setting.  Stopped before the run closes. */
struct cli_run;
int cli_tr_live_start(const char *config, struct cli_run *r);
void cli_tr_live_stop(struct cli_run *r);
/* redact_spoken.c: a spoken number's audio redacted (issue #19).  A
 * redactor is the ledger's holder: ledger opened for writing, the keys
 * (NULL: plain recordings), [redaction] original = shred, and hold (may
 * be NULL) when the ledger is shared with another thread (rec_redact_req).
 * cli_redact_job: jb through rec_redact, audited as call.redact. */
struct cli_redactor {
	struct cli_ctx *ctx;
	struct idx *ix;
	struct st_ledger *ledger;
	struct st_vault *vault;
	bool shred;
	void (*hold)(void *ud, bool on);
	void *hold_ud;
};
int cli_redact_job(const struct cli_redactor *e, const struct rec_redact_job *jb, char *err,
		   size_t errlen);
/* The queued redactions (at most max, 0: 16), oldest first: carried out
 * and removed, or dropped for good (bad span, no call, a hold; logged);
 * ES_EAGAIN when one failed in a way that may pass (an unreadable file,
 * a busy index: it stays queued, the others go on).  *ran (may be NULL):
 * how many were tried. */
int cli_redact_queue_run(const struct cli_redactor *e, unsigned max, unsigned *ran);
/* A worker's redaction jb: carried out now when the ledger can be had
 * (the queue first), else queued durably for its holder (*queued). */
int cli_redact_or_queue(struct cli_ctx *ctx, struct idx *ix, bool shred,
			const struct rec_redact_job *jb, bool *queued);
/* The recorder's redaction thread: the queue carried out about once a
 * second with the recorder's ledger, taken under mu (which the
 * recorder's loop holds for each round), its own index handle and keys,
 * a lower CPU priority; stop waits for a redaction under way. */
struct cli_redact_bg;
int cli_redact_bg_start(struct cli_ctx *ctx, const char *config, struct st_ledger *ledger,
			pthread_mutex_t *mu, struct cli_redact_bg **out);
void cli_redact_bg_stop(struct cli_redact_bg *b);

/* "cli:<unix user>": who the audit log names for a command (user.c). */
void cli_actor(char *buf, size_t cap);
/* Audit a deletion that a legal hold refused: action ("delete",
 * "keys.shred", "retention.run"...), the call's row, the hold (hold.c). */
void cli_audit_refusal(struct idx *ix, const char *action, int64_t call_row, const char *hold);
/* The data folder's ledger opened for writing; CLI_ERR said on stderr as
 * "earshot CMD: ..." (hold.c). */
struct st_ledger;
int cli_ledger_open(struct cli_ctx *ctx, const char *cmd, struct st_ledger **l);

/* The row id a call argument names: a number is an id, anything else a
 * Call-ID (the first call with it); 0 when there is none. */
int64_t cli_call_ref(struct idx *ix, const char *arg);

/* Open the index: ctx->index when set, else DATA/index.sqlite; create the
 * folder when create is true.  Goes through cli_data_guard first. */
int cli_open_index(struct cli_ctx *ctx, bool create, struct idx **out);

/* ---- several nodes on one index (nodes.c; docs/OPERATIONS.md) ---------------- */
/* This node's name into buf: ctx->node, else the host name (characters a
 * node name cannot hold become '-').  ES_EINVAL, said on stderr, for a bad
 * configured name. */
int cli_node_name(struct cli_ctx *ctx, char *buf, size_t cap);
struct cli_run;
/* After a ledger commit: the newest signed head into the shared index's
 * nodes table, when the ledger has a head not yet published there. */
void cli_node_publish_head(struct cli_run *r);
/* Head h of the data folder's ledger into ix's nodes table (a shared
 * index, a node set); 0 otherwise too.  ES_EDB said in the log. */
struct st_head;
int cli_node_publish_head_of(struct cli_ctx *ctx, struct idx *ix, const struct st_head *h);
/* At start on a shared index: warn when another data folder published its
 * ledger under this node's name (two recorders sharing a name). */
void cli_node_check(struct cli_run *r);
/* The calls in progress (r->active, just listed) into the shared index;
 * stopping: none, with the heartbeat of the stop. */
void cli_node_publish_active(struct cli_run *r, bool stopping);
/* Before the data folder is used: set the process umask to 027 (once), and
 * refuse (ES_EINVAL, message on stderr) a folder that "other" users may
 * enter, unless --allow-open-data was given.  0 when it does not exist yet:
 * the caller creates it 0750. */
int cli_data_guard(struct cli_ctx *ctx);

/* ---- the recorder run: `record` and `srs` (record.c, run.c, srs.c) ------------
 * Both commands are one program: settings from the configuration file and
 * the command line, then a run that owns the data folder (index, spool,
 * status), the recorder pool and the rules, and a main-thread loop that
 * stores finished calls.  The calls come from the capture workers
 * (rec_live, when interfaces are given) and/or from the SIPREC server,
 * which the loop drives itself (srs_step instead of sleeping). */
#define CLI_MAX_IFACES 16
struct es_conf;

/* The [srs] section and the SRS options; "not set" values let the
 * command line override the file field by field. */
struct cli_srs_settings {
	bool enabled;
	struct srs_listen listen[SRS_MAX_LISTEN];
	unsigned nlisten;
	struct es_addr media_addr;  /* ES_AF_NONE = not set */
	uint16_t rtp_lo, rtp_hi;    /* 0 = not set */
	int64_t max_sessions;       /* -1 = not set */
	int64_t retry_after_us;     /* -1 = not set */
	int64_t session_timeout_us; /* -1 = not set */
	int require_srtp;           /* -1 = not set, else 0/1 */
	int64_t max_conns_per_host; /* -1 = not set */
	int64_t tcp_request_timeout_us; /* -1 = not set */
	struct srs_allow allow[SRS_MAX_ALLOW];
	unsigned nallow;
	char tls_cert[1024], tls_key[1024], tls_ca[1024]; /* "" = not set */
};

/* archive.c: encryption keys and the integrity ledger of the data folder. */
struct st_vault;
struct st_ledger;
/* [ledger] and [anchor] of the configuration (docs/CONFIG.md). */
struct cli_ledger_settings {
	char key_path[1024];         /* [ledger] signing_key; "" = st_ledger_key_path's */
	struct st_anchor_conf anchor; /* [anchor] file/syslog/command, retry, timeout */
};
int cli_ledger_apply_config(struct cli_ledger_settings *o, const struct es_conf *c, char *err,
			    size_t errlen);
struct cli_archive {
	struct st_vault *vault;   /* NULL: recordings are stored in plain */
	struct st_ledger *ledger;
	struct st_anchor *anchor; /* NULL: no [anchor] */
	/* set by the caller before cli_archive_open (NULL: defaults) */
	const struct cli_ledger_settings *settings;
	/* set by cli_archive_open: where transcript leaves are queued for
	 * this ledger (record/tr_ledger.c), drained before each commit */
	const char *data_dir;
	struct idx *ix;
	int64_t drained_us;
};
/* Open both (created on first use; the ledger enters index rows it lacks)
 * and start the anchors, which get the newest head at once.  CLI_OK, or
 * CLI_ERR said on stderr with cmd. */
int cli_archive_open(struct cli_ctx *ctx, struct idx *ix, bool encrypt, struct cli_archive *a,
		     const char *cmd);
/* The anchors' counters as the value of a JSON key (an array, one object
 * per sink: sink, published, failures, skipped, pending, last_error). */
struct es_json;
void cli_archive_status(struct cli_archive *a, struct es_json *j);
/* After an index commit: make the leaves durable under a signed head,
 * queued for the anchors. */
int cli_archive_commit(struct cli_archive *a);
/* Append the transcript leaves workers queued (and commit them). */
void cli_archive_drain(struct cli_archive *a);
/* A transcription worker outside the ledger's writer: drain the queue now
 * when this process gets the ledger's lock (conf: [ledger] signing_key,
 * may be NULL); quiet when another holds it. */
struct es_conf;
void cli_tr_seal_try(struct cli_ctx *ctx, struct idx *ix, const struct es_conf *conf);
void cli_archive_close(struct cli_archive *a);

/* tier.c: [earshot] blobs / archive_after and [s3] (docs/CONFIG.md), and
 * `earshot archive`. */
struct cli_blob_settings {
	bool on;                    /* blobs = s3://... */
	struct st_blob_conf conf;
	int64_t after_us;           /* archive_after; 0: move once indexed */
	int64_t interval_us;        /* record/srs: between upload passes */
};
int cli_blobs_apply_config(struct cli_blob_settings *o, const struct es_conf *c, char *err,
			   size_t errlen);
/* Save o as the data folder's bucket (rec_blobs_save) and wipe the
 * secret from o; CLI_OK when o is off. */
int cli_blobs_remember(struct cli_ctx *ctx, struct cli_blob_settings *o, const char *cmd);
/* The data folder's new ledger leaves and signed heads to its bucket
 * (record/ledger_pub.c), each upload pass; a failure is logged (retried
 * at the next pass) and returned.  n may be NULL. */
struct rec_ledger_pub_counts;
int cli_ledger_publish(struct cli_ctx *ctx, struct idx *ix, struct rec_ledger_pub_counts *n);
/* Move what is due to the data folder's bucket, if it has one; failures
 * are said on stderr with cmd and stay queued.  CLI_ERR only for a refused
 * secret. */
int cli_blobs_pass(struct cli_ctx *ctx, struct idx *ix, int64_t now_us, bool quiet,
		   struct rec_tier_counts *n, const char *cmd);
int cli_archive_cmd(struct cli_ctx *ctx, int argc, char **argv);
/* "upload backlog: N ..." on stdout when the data folder has a bucket. */
void cli_blobs_backlog_line(struct cli_ctx *ctx);

/* web.c: the HTTP server (REST API, web UI) of `serve`, and of `record` /
 * `srs` when [api] enabled = yes or --api is given. */
#define CLI_WEB_DEFAULT_PORT 8080
#define CLI_WEB_DEFAULT_THREADS 4
struct cli_web_settings {
	bool enabled;
	char host[64];
	uint16_t port;
	unsigned threads;
	unsigned per_ip;      /* connections at once from one address */
	char tls_cert[1024], tls_key[1024]; /* "" = plain HTTP */
	char web[1024];       /* the web UI's folder; "" = API only */
	bool web_set;         /* web was given; else the source tree's web/ */
	char web_found[4096]; /* where the default was found (the server borrows it) */
	/* login_* of [api]: the login rate limiter; 0 = its default */
	unsigned login_max_failures, login_max_failures_address;
	int64_t login_window_us, login_lockout_us;
	bool redaction_shred; /* [redaction] original = shred */
	bool supervisor_scope_teams; /* [api] supervisor_scope = teams */
	unsigned mfa_roles;   /* [api] required_mfa: bit 1 << enum api_role */
	bool ldap_on;         /* [ldap] url was given */
	unsigned listen_reason; /* [api] listen_reason: enum api_listen_reason */
	unsigned listen_per_user; /* [api] listen_streams_per_user; 0 = its default */
	int64_t search_timeout_ms; /* [index] search_timeout; 0 = none */
	struct api_ldap_config ldap;
};
void cli_web_defaults(struct cli_web_settings *o);
/* The [api] section over o. */
int cli_web_apply_config(struct cli_web_settings *o, const struct es_conf *c, char *err,
			 size_t errlen);
/* "127.0.0.1:8080", "[::1]:8080" into host and port; -1 when malformed. */
int cli_parse_listen(const char *v, char *host, size_t cap, uint16_t *port);
/* DIR/index.html is a regular file. */
bool cli_web_dir_ok(const char *dir);
struct pol_rules;
/* The rules as one JSON object (pol_rules_json), malloc'd into *out. */
int cli_rules_json(const struct pol_rules *rules, char **out);
/* Start the server on o (rules_json may be NULL; both must outlive the
 * server) and print its URL on stdout; CLI_OK, else the exit code, said
 * on stderr with cmd. */
struct api_server;
int cli_web_start(struct cli_ctx *ctx, struct cli_web_settings *o, const char *rules_json,
		  const char *cmd, struct api_server **out);
/* The [metrics] listener (host, port): a server with only /metrics,
 * /healthz and /readyz; prints its URL.  CLI_OK or the exit code. */
int cli_metrics_start(struct cli_ctx *ctx, const char *host, uint16_t port, const char *cmd,
		      struct api_server **out);

/* --encode-threads auto, before it becomes encode_threads = 0 */
#define CLI_THREADS_AUTO UINT_MAX

struct cli_settings {
	const char *cmd;            /* "earshot record", "earshot srs": messages */
	const char *ifaces[CLI_MAX_IFACES];
	unsigned nifaces;
	const char *filter;
	const char *config;
	unsigned workers;
	unsigned encode_threads;    /* 0 = auto: one per online core */
	int64_t status_interval_us;
	uint64_t buffer_bytes;
	uint64_t min_free;
	int snaplen;
	struct rec_config engine;   /* capture workers' engines; the SRS's derives */
	struct rec_store_config store;
	struct an_check_limits checks; /* [checks]; store.checks points here */
	struct cli_srs_settings srs;
	bool encrypt;               /* [recording] encrypt (default yes) */
	struct cli_web_settings web; /* [api] / --api */
	struct cli_ledger_settings ledger; /* [ledger], [anchor] */
	/* [metrics] listen: the recorder's own /metrics, /healthz, /readyz
	 * (port 0 = off, the default) */
	char metrics_host[64];
	uint16_t metrics_port;
	bool metrics_on;
};

/* The recorder's figures the system alerts watch, sampled once a second. */
struct cli_alert_sample {
	uint64_t drops;          /* kernel and queue drops so far */
	bool disk_known;
	uint64_t disk_free;      /* bytes available in the data folder */
	uint64_t srs_refusals;   /* SIPREC requests refused so far */
	uint64_t backlog;        /* recordings waiting for the pool */
};
#define CLI_ALERT_RING 61        /* a minute of one-second samples */
struct cli_alert_state {
	uint64_t drops;
	bool have_drops;
	uint64_t ref[CLI_ALERT_RING];
	uint64_t ref_n;
	int64_t last_us;
};

struct cli_run {
	struct cli_ctx *ctx;
	/* the ledger shared by the loop (each round) and the redaction
	 * thread (cli_redact_bg: queued redactions, off the capture path) */
	pthread_mutex_t ledger_mu;
	struct cli_redact_bg *redact;
	const struct cli_settings *s;
	struct idx *ix;
	struct rec_recorder *rec;
	struct cli_archive arc;
	struct rec_live *live;         /* NULL: no capture */
	struct rec_engine *srs_engine; /* the SRS's engine, main thread only */
	struct srs *srs;               /* NULL: no SIPREC server */
	bool srs_stopped;
	const struct pol_rules *_Atomic rules;
	struct pol_rules *old_rules[64]; /* replaced by SIGHUP, freed at exit */
	unsigned nold;
	struct pol_retention *retention; /* [retention]: set at indexing (read at start) */
	bool retention_daily;            /* [retention ...] configured: run it daily */
	bool blobs;                      /* [earshot] blobs = s3://: upload passes */
	int64_t upload_interval_us;      /* [s3] upload_interval */
	const char *config_path;
	char spool[4096];
	int64_t started_us;
	struct rec_store_counts n;
	bool disk_low;
	int64_t disk_warned_us;  /* last "disk low" warning */
	uint64_t status_frames;  /* frames at the last status, for packets/s */
	int64_t status_us;
	char status_path[4200];
	char active_path[4200];  /* DATA/run/active.tsv: the calls in progress */
	struct api_server *web;  /* the web server (--api), or NULL: told of reloaded rules */
	struct rec_active *active; /* scratch for it */
	size_t nactive, active_cap;
	struct es_clock_track *clock; /* the clock's state over time (core/clock.h) */
	char clock_json[2048];        /* scratch: the call being stored's */
	struct an_alerts *alerts;     /* [alert NAME] (alerts.c), NULL = none */
	struct cli_alert_state alert_state;
	bool shared;                  /* the index is shared by several nodes
				         (PostgreSQL): heads and calls in progress
				         are published there (nodes.c) */
	size_t heads_published;       /* the ledger's head count then */
	struct rec_trlive *trlive;    /* keyword alerts during calls, NULL = off */
	struct cli_tr_live *trlive_cfg; /* its settings (cli/transcribe.c) */
};

int64_t cli_wall_us(void);
/* Seconds (0 .. 30 days) and sizes ("64M") of options; CLI_USAGE with a
 * message naming cmd and opt. */
int cli_parse_secs(const char *cmd, const char *opt, const char *v, int64_t *out);
int cli_parse_size(const char *cmd, const char *opt, const char *v, uint64_t *out);

/* run.c: open the data folder (index, spool, run/), start the recorder pool
 * and finish what a crash left in the spool.  CLI_OK or CLI_ERR (said on
 * stderr).  r->ctx, r->s, r->rules and r->config_path are set by the
 * caller. */
int cli_run_open(struct cli_run *r);
/* Catch SIGTERM/SIGINT (stop) and SIGHUP (reload the rules). */
void cli_run_signals(void);
/* The main loop until SIGTERM/SIGINT: stores finished calls, drains the
 * recorder, reloads rules, writes status.json and checks the disk; waits in
 * srs_step when the SRS runs, else sleeps 100 ms.  Returns the exit code. */
int cli_run_loop(struct cli_run *r);
/* After a failed start: stop the SRS if it runs, wait for the recordings
 * queued so far and index them. */
void cli_run_abort(struct cli_run *r);
void cli_run_close(struct cli_run *r);
/* Give c, a call of this recorder (live or SIPREC), its clock evidence:
 * the clock's state at its start and now, at its end (run.c). */
void cli_run_clock_stamp(struct cli_run *r, struct idx_call *c);

/* srs.c */
void cli_srs_usage(FILE *f);
void cli_srs_settings_init(struct cli_srs_settings *o);
/* An SRS option of getopt (the long option's name, its argument): 0, or
 * CLI_USAGE with a message naming the option. */
int cli_srs_option(const char *cmd, struct cli_srs_settings *o, const char *opt,
		   const char *arg);
/* Read [srs] (keys checked): 0 or ES_EPARSE with "file:line: ..." in err. */
int cli_srs_apply_config(struct cli_srs_settings *o, const struct es_conf *c, char *err,
			 size_t errlen);
/* Fields set in over (the command line) replace those of s. */
void cli_srs_merge(struct cli_srs_settings *s, const struct cli_srs_settings *over);
/* The settings complete (a media address...)?  CLI_USAGE, said on stderr. */
int cli_srs_check(const struct cli_settings *s);
/* Start the SIPREC server in r: its engine and sockets.  CLI_USAGE (bad or
 * missing settings) or CLI_ERR (sockets), said on stderr. */
int cli_srs_start(struct cli_run *r);
/* Wait up to timeout_ms for SIP and media and handle them. */
int cli_srs_step(struct cli_run *r, int timeout_ms);
/* BYE every session, finish every call (end reason "shutdown"): they are
 * stored in the index and queued for the recorder. */
void cli_srs_stop(struct cli_run *r);
void cli_srs_free(struct cli_run *r);
/* The "srs" object of status.json. */
void cli_srs_status(struct cli_run *r, struct es_json *j);
/* The SRS's engine statistics (active calls etc.), or NULL. */
const struct rec_stats *cli_srs_engine_stats(const struct cli_run *r);

/* alerts.c: read [alert NAME] and [alerts] into r->alerts, write
 * DATA/run/alerts.json (the UI's list) and start the sender; CLI_USAGE for
 * a bad section, CLI_ERR, said on stderr naming cmd.  The rest raise what
 * the main loop sees; close stops the sender (after the engines). */
int cli_alerts_open(struct cli_run *r, const struct es_conf *c, const char *cmd);
void cli_alerts_call(struct cli_run *r, const struct idx_call *c);
void cli_alerts_recording(struct cli_run *r, const struct rec_done *d);
void cli_alerts_system(struct cli_run *r, const struct cli_alert_sample *s);
void cli_alerts_status(struct cli_run *r, struct es_json *j);
void cli_alerts_close(struct cli_run *r);

/* retention.c: `retention run` inside `earshot record`, with its ledger
 * and vault (it holds the ledger's lock); the summary goes to the log. */
int cli_retention_daily(struct cli_run *r);

/* record.c: `earshot record` and `earshot srs` (srs_only: no capture,
 * the SIPREC server always on, srs usage). */
int cli_record_main(struct cli_ctx *ctx, int argc, char **argv, bool srs_only);

#endif
