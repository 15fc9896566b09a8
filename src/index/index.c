/*
 * index.c - opening the SQLite index, migrations, transactions, errors, the
 * statement cache and the row arena.  Writing lives in write.c, reading in
 * query.c, the schema in schema.c.
 */
#include "index/index_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IDX_BUSY_TIMEOUT_MS 5000

/* The SQL of the cached statements, by enum idx_stmt_id.  Only '?'
 * parameters carry data. */
static const char *const stmt_sql[ST__COUNT] = {
	[ST_CALL_INSERT] =
		"INSERT INTO calls (call_id, start_us, answer_us, end_us, outcome, sip_code,"
		" end_reason, flags, extra_json, source, import_id, rule, consent_caller,"
		" consent_callee, consent_json, clock)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
		" ON CONFLICT (call_id, start_us) DO NOTHING",
	[ST_CALL_FIND] = "SELECT id FROM calls WHERE call_id = ?1 AND start_us = ?2",
	[ST_PARTY_INSERT] =
		"INSERT INTO parties (call_row, role, uri, user, display, pai, ua, sdp_addr)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_STREAM_INSERT] =
		"INSERT INTO streams (call_row, seq, party, ssrc, src, dst, payload_types,"
		" codecs, packets, expected, lost, duplicates, out_of_order, jitter_max_ms,"
		" jitter_mean_ms, delta_max_ms, first_us, last_us, rtcp_json, quality_json)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
		" ?16, ?17, ?18, ?19, ?20)",
	[ST_EVENT_INSERT] =
		"INSERT INTO events (call_row, seq, ts_us, kind, party, detail)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_MSG_INSERT] =
		"INSERT INTO sip_msgs (call_row, seq, ts_us, frame, src, dst, transport, label,"
		" cseq, cseq_method, retransmission, has_sdp)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	[ST_IMPORT_INSERT] =
		"INSERT INTO imports (path, file_key, started_us, status)"
		" VALUES (?1, ?2, ?3, ?4)",
	[ST_IMPORT_UPDATE] =
		"UPDATE imports SET finished_us = ?2, frames = ?3, calls_new = ?4,"
		" calls_dup = ?5, streams = ?6, status = ?7, summary_json = ?8"
		" WHERE id = ?1",
	[ST_CALL_GET] = IDX_CALL_SELECT " WHERE c.id = ?1",
	[ST_STREAMS_GET] =
		"SELECT party, ssrc, src, dst, payload_types, codecs, packets, expected, lost,"
		" duplicates, out_of_order, jitter_max_ms, jitter_mean_ms, delta_max_ms,"
		" first_us, last_us, rtcp_json, quality_json FROM streams WHERE call_row = ?1"
		" ORDER BY seq",
	[ST_EVENTS_GET] =
		"SELECT ts_us, kind, party, detail FROM events WHERE call_row = ?1 ORDER BY seq",
	[ST_MSGS_GET] =
		"SELECT ts_us, frame, src, dst, transport, label, cseq, cseq_method,"
		" retransmission, has_sdp FROM sip_msgs WHERE call_row = ?1 ORDER BY seq",
	[ST_CALL_START] = "SELECT start_us FROM calls WHERE id = ?1",
	[ST_COUNT_CALLS] = "SELECT count(*) FROM calls",
	[ST_REC_INSERT] = "INSERT INTO recordings (call_row, path, format, bytes, sha256, start_us,"
			  " duration_us, rate, channels, codecs, flags, stats_json, created_us,"
			  " plain_sha256, encrypted)"
			  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
	[ST_CALL_QUALITY] = "UPDATE calls SET mos = ?2, mos_min = ?3, loss_pct = ?4,"
			    " jitter_ms = ?5 WHERE id = ?1",
	[ST_REC_GET] = "SELECT call_row, path, format, bytes, sha256, start_us, duration_us, rate,"
		       " channels, codecs, flags, stats_json, created_us, plain_sha256, encrypted"
		       " FROM recordings WHERE call_row = ?1",
};

int idx_fail(struct idx *ix, const char *what)
{
	snprintf(ix->errmsg, sizeof(ix->errmsg), "index %s: %s: %s", ix->path ? ix->path : "?",
		 what, ix->db ? sqlite3_errmsg(ix->db) : "not open");
	return ES_EDB;
}

const char *idx_errmsg(struct idx *ix)
{
	if (!ix)
		return "no index";
	return ix->errmsg[0] ? ix->errmsg : "no error";
}

int idx_exec(struct idx *ix, const char *sql)
{
	if (sqlite3_exec(ix->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return idx_fail(ix, sql);
	return 0;
}

sqlite3_stmt *idx_stmt(struct idx *ix, enum idx_stmt_id id)
{
	if (ix->st[id])
		return ix->st[id];
	if (!stmt_sql[id]) {
		snprintf(ix->errmsg, sizeof(ix->errmsg), "index %s: no statement %d", ix->path,
			 (int)id);
		return NULL;
	}
	if (sqlite3_prepare_v3(ix->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &ix->st[id],
			       NULL) != SQLITE_OK) {
		idx_fail(ix, "prepare");
		ix->st[id] = NULL;
	}
	return ix->st[id];
}

/* One integer from a PRAGMA (no user data in sql). */
static int pragma_int(struct idx *ix, const char *sql, int *out)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(ix->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		int err = idx_fail(ix, sql);
		sqlite3_finalize(st);
		return err;
	}
	*out = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return 0;
}

static int set_wal(struct idx *ix)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(ix->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		int err = idx_fail(ix, "set WAL journal");
		sqlite3_finalize(st);
		return err;
	}
	const char *mode = (const char *)sqlite3_column_text(st, 0);
	/* An in-memory database answers "memory"; anything else means WAL
	 * could not be had (e.g. a file system without shared memory). */
	bool ok = mode && (!strcmp(mode, "wal") || !strcmp(mode, "memory"));
	if (!ok)
		snprintf(ix->errmsg, sizeof(ix->errmsg), "index %s: WAL journal refused (mode %s)",
			 ix->path, mode ? mode : "?");
	sqlite3_finalize(st);
	return ok ? 0 : ES_EDB;
}

/* Apply every migration step above the stored user_version, each in its own
 * transaction together with its version bump. */
static int migrate(struct idx *ix)
{
	int ver, app;
	int err = pragma_int(ix, "PRAGMA user_version", &ver);
	if (!err)
		err = pragma_int(ix, "PRAGMA application_id", &app);
	if (err)
		return err;
	if (ver > 0 && app != IDX_APPLICATION_ID) {
		snprintf(ix->errmsg, sizeof(ix->errmsg),
			 "index %s: not an earshot index (application_id %d)", ix->path, app);
		return ES_EFORMAT;
	}
	if (ver < 0 || (unsigned)ver > idx_nmigrations) {
		snprintf(ix->errmsg, sizeof(ix->errmsg),
			 "index %s: schema version %d is newer than this program's (%u)", ix->path,
			 ver, idx_nmigrations);
		return ES_EUNSUP;
	}
	for (unsigned v = (unsigned)ver; v < idx_nmigrations; v++) {
		char bump[96];
		if ((err = idx_exec(ix, "BEGIN IMMEDIATE")))
			return err;
		/* Re-read under the write lock: another process may have
		 * migrated meanwhile. */
		int now;
		if ((err = pragma_int(ix, "PRAGMA user_version", &now)))
			goto fail;
		if ((unsigned)now > v) {
			if ((err = idx_exec(ix, "COMMIT")))
				return err;
			v = (unsigned)now - 1;
			continue;
		}
		if (sqlite3_exec(ix->db, idx_migrations[v].sql, NULL, NULL, NULL) != SQLITE_OK) {
			err = idx_fail(ix, idx_migrations[v].name);
			goto fail;
		}
		snprintf(bump, sizeof(bump), "PRAGMA user_version = %u; PRAGMA application_id = %d",
			 v + 1, IDX_APPLICATION_ID);
		if ((err = idx_exec(ix, bump)) || (err = idx_exec(ix, "COMMIT")))
			goto fail;
		es_log(ES_LOG_INFO, "index", "%s: schema version %u (%s)", ix->path, v + 1,
		       idx_migrations[v].name);
	}
	return pragma_int(ix, "PRAGMA user_version", &ix->version);
fail:
	sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
	return err;
}

/* An index made by an older earshot (or copied with cp) may be 0644:
 * take away what "other" users may do with it and its WAL files. */
static void private_files(const char *path)
{
	static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
	char p[4200];
	struct stat st;
	for (size_t i = 0; i < ES_ARRAY_LEN(sfx); i++) {
		if ((size_t)snprintf(p, sizeof(p), "%s%s", path, sfx[i]) >= sizeof(p))
			return;
		if (!lstat(p, &st) && S_ISREG(st.st_mode) && (st.st_mode & S_IRWXO) &&
		    chmod(p, st.st_mode & 07770))
			ES_LOG_WARNING("index", "%s: cannot take away other users' access: %s", p,
				       strerror(errno));
	}
}

int idx_open(struct idx **out, const char *path, char *err, size_t errlen)
{
	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!path) {
		if (err && errlen)
			snprintf(err, errlen, "index: no path");
		return ES_EINVAL;
	}
	struct idx *ix = calloc(1, sizeof(*ix));
	if (ix)
		ix->path = strdup(path);
	if (!ix || !ix->path) {
		if (err && errlen)
			snprintf(err, errlen, "index %s: out of memory", path);
		free(ix);
		return ES_ENOMEM;
	}
	int rc = ES_EDB;
	/* The index holds every call's parties, the password hashes and the
	 * audit log: it is created 0600 (SQLite would make it 0644 less the
	 * umask), and SQLite gives its -wal, -shm and -journal files the mode
	 * of the database file. */
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0)
		close(fd);
	if (sqlite3_open_v2(path, &ix->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		idx_fail(ix, "open");
		goto fail;
	}
	sqlite3_extended_result_codes(ix->db, 1);
	sqlite3_busy_timeout(ix->db, IDX_BUSY_TIMEOUT_MS);
	if ((rc = set_wal(ix)) || (rc = idx_exec(ix, "PRAGMA synchronous = NORMAL")) ||
	    (rc = idx_exec(ix, "PRAGMA foreign_keys = ON")) || (rc = migrate(ix)))
		goto fail;
	private_files(path);
	ix->errmsg[0] = '\0';
	*out = ix;
	return 0;
fail:
	if (err && errlen)
		snprintf(err, errlen, "%s", ix->errmsg);
	idx_close(ix);
	return rc;
}

void idx_close(struct idx *ix)
{
	if (!ix)
		return;
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(ix->st[i]);
	/* sqlite3_close_v2: a statement left open elsewhere cannot turn
	 * close into a leak of the connection. */
	if (ix->db)
		sqlite3_close_v2(ix->db);
	free(ix->path);
	free(ix);
}

int idx_schema_version(struct idx *ix) { return ix ? ix->version : 0; }

int idx_begin(struct idx *ix)
{
	/* IMMEDIATE: take the write lock now, so that a concurrent writer
	 * waits in busy_timeout instead of failing at the first insert. */
	return idx_exec(ix, "BEGIN IMMEDIATE");
}

int idx_commit(struct idx *ix) { return idx_exec(ix, "COMMIT"); }

int idx_rollback(struct idx *ix)
{
	if (sqlite3_get_autocommit(ix->db))
		return 0; /* nothing open (sqlite may already have rolled back) */
	return idx_exec(ix, "ROLLBACK");
}

int64_t idx_call_duration_us(const struct idx_call *c)
{
	if (!c->answer_us || c->end_us <= c->answer_us)
		return 0;
	return c->end_us - c->answer_us;
}

