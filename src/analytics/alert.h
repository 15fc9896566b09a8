/*
 * alert.h - alerts (issue #17): `[alert NAME]` sections of the
 * configuration, the conditions they watch, de-duplication and rate
 * limiting, and the delivery of each event: a signed webhook through a
 * durable outbox in the data folder, syslog, and a log of recent events
 * the web UI shows.  The event's JSON, the signature and every setting:
 * docs/ALERTS.md.
 *
 * Who raises what: the recording engine (record/) checks its calls in
 * progress once a second (one-way audio, dead air: an_alert_live_eval);
 * `earshot record`/`srs` checks finished calls (MOS, loss), recordings
 * (failed) and the recorder itself (drops, disk, SIPREC refusals, backlog);
 * the audio checks raise their flags by kind.  All of them call
 * an_alert_raise, which is thread-safe, never blocks on the network or the
 * disk, and does nothing for a kind no alert watches.
 *
 * Threads: an_alerts_raise/an_alerts_stats may be called from any thread.
 * an_alerts_start starts one sender thread that writes raised events to the
 * outbox (one fsync'd file per event), then POSTs them oldest first and
 * deletes each after a 2xx; an_alerts_stop writes what is still queued to
 * the outbox and joins it.  What the outbox holds is sent by the next run.
 */
#ifndef ES_ANALYTICS_ALERT_H
#define ES_ANALYTICS_ALERT_H

#include "core/config.h"
#include "core/core.h"

/* The conditions, by the name `condition =` takes (a table in alert.c). */
enum an_alert_kind {
	AN_ALERT_MOS_BELOW,        /* finished call: MOS under threshold */
	AN_ALERT_LOSS_ABOVE,       /* finished call: loss % over threshold */
	AN_ALERT_ONE_WAY,          /* call in progress: one party silent for after */
	AN_ALERT_DEAD_AIR,         /* call in progress: no media either way for after
				      (also the audio check's flag on a recording) */
	AN_ALERT_RECORDING_FAILED, /* a recording failed, or its spool was cut */
	AN_ALERT_RECORDING_GAP,    /* audio checks: the recording has gaps */
	AN_ALERT_CLIPPING,         /* audio checks */
	AN_ALERT_LOW_LEVEL,        /* audio checks */
	AN_ALERT_DROPS,            /* capture or queue drops over threshold a second */
	AN_ALERT_DISK_FREE,        /* the data folder's free bytes under threshold */
	AN_ALERT_SRS_REFUSALS,     /* SIPREC refusals over threshold a minute */
	AN_ALERT_BACKLOG,          /* recordings waiting over threshold */
	AN_ALERT_KEYWORD,          /* a transcript has a keyword hit (analytics/textan.h) */
	AN_ALERT_NKINDS
};

/* The condition's name ("one_way"), or NULL; and back (-1 = unknown). */
const char *an_alert_kind_name(enum an_alert_kind k);
int an_alert_kind_parse(const char *name);
/* Call alerts de-duplicate per (alert, call); the others per alert. */
bool an_alert_kind_is_call(enum an_alert_kind k);

/* The call an event is about; every field may be NULL/0.  Valid during the
 * call of an_alert_raise only (copied). */
struct an_alert_call {
	const char *call_id;
	const char *caller;       /* user part / number */
	const char *callee;
	const char *rule;         /* the recording rule that decided */
	const char *source;       /* "live", "siprec" */
	int64_t start_us;
	const struct es_addr *peers; /* signalling and media addresses seen */
	unsigned npeers;
};

/* One extra field of the event's "fields" object: a string or a number. */
struct an_alert_field {
	const char *key;
	const char *str;          /* NULL: the number */
	double num;
};

struct an_alerts;

/* The `[alert NAME]` sections and `[alerts]` of c (docs/ALERTS.md) for the
 * data folder data_dir (the outbox: DATA/alerts/outbox/).  *out is NULL
 * when no alert is configured (everything below accepts NULL and does
 * nothing).  ES_EPARSE with "path:line: why" in err for a bad section. */
int an_alerts_from_conf(struct an_alerts **out, const struct es_conf *c, const char *data_dir,
			char *err, size_t errlen);
/* Whether the key belongs to [alerts] or an [alert NAME] section. */
bool an_alerts_is_section(const char *section);
void an_alerts_free(struct an_alerts *a);

/* Whether any alert watches kind (a constant after loading: callers on a hot
 * path test it before gathering a call's details). */
bool an_alerts_want(const struct an_alerts *a, enum an_alert_kind kind);
/* The smallest threshold of the alerts watching kind (one_way and dead_air:
 * seconds), or -1 when none watches it. */
double an_alerts_min_threshold(const struct an_alerts *a, enum an_alert_kind kind);

/* Raise kind with value (MOS, loss %, seconds, bytes, count: what the
 * condition compares; ignored by flag conditions) about call (NULL for a
 * system alert), at now_us (µs since the epoch).  Each alert watching kind
 * whose threshold, rule and peer filters match makes one event, subject
 * to de-duplication and rate limiting.  Returns the number of events
 * queued.  Thread-safe; no I/O. */
int an_alert_raise(struct an_alerts *a, enum an_alert_kind kind, double value,
		   const struct an_alert_call *call, const struct an_alert_field *fields,
		   size_t nfields, int64_t now_us);

/* One-way audio and dead air of a call in progress from its per-party
 * media times (µs; 0 = no packet yet).  *one_way_s: how long one party has
 * been silent while the other sends (0 = not one-way); *dead_s: how long
 * neither has sent (0 = media flows).  Pure; for the engine's check. */
struct an_alert_live {
	int64_t now_us;
	int64_t answer_us;         /* 0 = not answered: no condition */
	int64_t last_rtp_us[2];    /* caller's, callee's last packet */
};
void an_alert_live_eval(const struct an_alert_live *in, double *one_way_s, int *silent_party,
			double *dead_s);

/* The sender thread (see the top); ES_EIO when the outbox folder cannot
 * be created (err says which). */
int an_alerts_start(struct an_alerts *a, char *err, size_t errlen);
void an_alerts_stop(struct an_alerts *a);
/* Drop the events raised and not yet written (the fuzz harness: nothing
 * reaches the disk or syslog); returns how many. */
size_t an_alerts_drop_queued(struct an_alerts *a);

struct an_alert_stats {
	uint64_t raised;           /* events made */
	uint64_t suppressed;       /* raises de-duplication or the rate held back */
	uint64_t delivered;        /* webhook POSTs answered 2xx */
	uint64_t failed;           /* POSTs that failed (retried later) */
	uint64_t rejected;         /* answered 4xx (not retried: outbox/rejected/) */
	uint64_t outbox;           /* events waiting in the outbox */
	uint64_t syslog;           /* events written to syslog */
};
void an_alerts_stats(struct an_alerts *a, struct an_alert_stats *st);
/* The configured alerts as a JSON array (no secrets) into f, for the web
 * UI's admin page (DATA/run/alerts.json). */
void an_alerts_json(const struct an_alerts *a, struct es_json *j);

/* ---- the outbox (alert_outbox.c), exposed for the tests ------------------- */

/* "sha256=" and the HMAC-SHA256 of body under secret in lower-case hex
 * (RFC 2104) into out (at least 72 bytes). */
void an_alert_sign(const char *secret, const void *body, size_t len, char out[72]);
/* Write body as one event file of folder dir, named after id, durably:
 * a temporary file, fsync, rename, fsync of the folder. */
int an_outbox_write(const char *dir, const char *name, const char *body, size_t len, char *err,
		    size_t errlen);
/* One delivery pass over dir: POST each file (oldest name first) to url
 * with the signature; a 2xx deletes it, a 4xx other than 408/429 moves it
 * to dir/rejected/, anything else stops the pass.  Counts into st.
 * Returns 0 when the outbox is empty afterwards, ES_EAGAIN when a POST
 * failed (try again later), ES_EIO when dir cannot be read. */
int an_outbox_deliver(const char *dir, const char *url, const char *secret, long timeout_ms,
		      struct an_alert_stats *st);

#endif /* ES_ANALYTICS_ALERT_H */
