/*
 * anchor.h - signed tree heads published outside the data folder as they
 * are made.  Someone who controls the data folder can cut the last leaves
 * and heads from the ledger (with those recordings' rows, files and keys),
 * or put back an older copy of the whole folder, and the ledger alone
 * still verifies; a head kept elsewhere cannot be taken back, and
 * `earshot verify --head` proves (RFC 9162 consistency) that today's
 * ledger extends it.
 *
 * Sinks (any number, each gets every head in order):
 *   file     one heads.log line per head appended to PATH and fsynced; the
 *            file is opened for each head, so a remounted share is found
 *   syslog   "udp:HOST:PORT": one RFC 5424 message per head over UDP
 *            (facility local0, severity notice; MSGID "sth"), the message
 *            being the head in its spaced form (ST_HEAD_PUBLISHED_TAG);
 *            "local": the same message through syslog(3)
 *   command  "/bin/sh -c COMMAND" with the heads.log line on its standard
 *            input and in $EARSHOT_HEAD, the spaced form in
 *            $EARSHOT_HEAD_PUBLISHED, $EARSHOT_HEAD_SIZE and
 *            $EARSHOT_HEAD_ROOT; exit status 0 means published (an S3
 *            upload, a remote append, a ticket...)
 *
 * Never blocking a recording: st_anchor_publish only queues the head; one
 * thread publishes.  A sink that fails keeps its place: the failure is
 * counted and logged, and the same head is tried again after the retry
 * interval; the queue keeps the newest ST_ANCHOR_QUEUE heads, and a sink
 * that falls further behind skips the oldest (counted): every head covers
 * all the leaves before it, so the newest published head is what matters.
 * Nothing is stored in the data folder; a fresh start publishes the
 * ledger's newest head again (duplicates are harmless to the check).
 *
 * Thread-safe: publish and stats from any thread.
 */
#ifndef ES_STORE_ANCHOR_H
#define ES_STORE_ANCHOR_H

#include "store/ledger.h"

#define ST_ANCHOR_MAX_SINKS 16
#define ST_ANCHOR_QUEUE 256
#define ST_ANCHOR_TARGET_MAX 1024

enum st_anchor_kind {
	ST_ANCHOR_FILE = 1,
	ST_ANCHOR_SYSLOG = 2,
	ST_ANCHOR_COMMAND = 3,
};

struct st_anchor_sink {
	enum st_anchor_kind kind;
	char target[ST_ANCHOR_TARGET_MAX]; /* the path, "udp:HOST:PORT"/"local", the command */
};

struct st_anchor_conf {
	struct st_anchor_sink sink[ST_ANCHOR_MAX_SINKS];
	unsigned nsinks;
	int64_t retry_us;   /* after a failure; 0 = 30 s */
	int64_t timeout_us; /* a command's run, and the flush at st_anchor_free; 0 = 10 s */
};

/* Add a sink by its config name ("file", "syslog", "command") and value:
 * ES_EINVAL with why in err for an unknown kind, an empty or malformed
 * value ("syslog = udp:HOST:PORT" or "local"), ES_ELIMIT when full. */
int st_anchor_conf_add(struct st_anchor_conf *c, const char *kind, const char *value, char *err,
		       size_t errlen);

struct st_anchor;

/* Start the publishing thread for c's sinks (copied).  A syslog host is
 * resolved when a head is sent, so a collector that is down at start is
 * only a failure to retry. */
int st_anchor_new(struct st_anchor **out, const struct st_anchor_conf *c, char *err,
		  size_t errlen);
/* Give the sinks up to timeout_us to publish what is queued, then stop;
 * what is left is logged as not published.  NULL is allowed. */
void st_anchor_free(struct st_anchor *a);
/* Queue h for every sink; never blocks on a sink. */
void st_anchor_publish(struct st_anchor *a, const struct st_head *h);
/* Wait up to timeout_us for every queued head to be published by the
 * sinks that are not failing (a failing sink is not waited for); true
 * when nothing is pending. */
bool st_anchor_flush(struct st_anchor *a, int64_t timeout_us);

struct st_anchor_stats {
	uint64_t published; /* heads this sink took */
	uint64_t failures;  /* attempts that failed (each retried) */
	uint64_t skipped;   /* heads dropped from the queue before this sink took them */
	uint64_t pending;   /* heads queued for it now */
	char last_error[256];
};
/* Stats of sink i (< nsinks); ES_EINVAL otherwise. */
int st_anchor_stats(struct st_anchor *a, unsigned i, struct st_anchor_stats *out);

#endif /* ES_STORE_ANCHOR_H */
