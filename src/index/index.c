/*
 * index.c - opening the index on its engine (index_sqlite.c, index_pg.c),
 * transactions, savepoints, errors and the statement cache.  Writing lives
 * in write.c, reading in query.c, the schema in schema.c.
 */
#include "index/index_internal.h"

#include <stdlib.h>
#include <string.h>

/* The SQL of the cached statements, by enum idx_stmt_id.  Only '?'
 * parameters carry data. */
static const char *const stmt_sql[ST__COUNT] = {
	[ST_CALL_INSERT] =
		"INSERT INTO calls (call_id, start_us, answer_us, end_us, outcome, sip_code,"
		" end_reason, flags, extra_json, source, import_id, rule, consent_caller,"
		" consent_callee, consent_json, clock, node)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
		" ON CONFLICT (call_id, start_us) DO NOTHING RETURNING id",
	[ST_CALL_FIND] = "SELECT id FROM calls WHERE call_id = ?1 AND start_us = ?2",
	[ST_IMPORT_INSERT] =
		"INSERT INTO imports (path, file_key, started_us, status)"
		" VALUES (?1, ?2, ?3, ?4) RETURNING id",
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
	[ST_CALL_TALK] = "UPDATE calls SET talk_json = ?2, talk_ratio = ?3, overtalk_ms = ?4,"
			 " dead_air_ms = ?5 WHERE id = ?1",
	[ST_CALL_CHECKS] = "UPDATE calls SET checks_json = ?2 WHERE id = ?1",
	[ST_REC_GET] = "SELECT call_row, path, format, bytes, sha256, start_us, duration_us, rate,"
		       " channels, codecs, flags, stats_json, created_us, plain_sha256, encrypted"
		       " FROM recordings WHERE call_row = ?1",
};

int idx_fail(struct idx *ix, const char *what)
{
	snprintf(ix->errmsg, sizeof(ix->errmsg), "index %s: %s: %s", ix->path ? ix->path : "?",
		 what, ix->conn ? ix->eng->errmsg(ix) : "not open");
	return ES_EDB;
}

const char *idx_errmsg(struct idx *ix)
{
	if (!ix)
		return "no index";
	return ix->errmsg[0] ? ix->errmsg : "no error";
}

int idx_exec(struct idx *ix, const char *sql) { return ix->eng->exec(ix, sql); }

struct idx_st *idx_prep(struct idx *ix, const char *sql)
{
	struct idx_st *st = NULL;
	if (db_prepare(ix, sql, &st))
		return NULL;
	return st;
}

struct idx_st *idx_stmt(struct idx *ix, enum idx_stmt_id id)
{
	if (ix->st[id])
		return ix->st[id];
	if (!stmt_sql[id]) {
		snprintf(ix->errmsg, sizeof(ix->errmsg), "index %s: no statement %d", ix->path,
			 (int)id);
		return NULL;
	}
	/* The call and its children run inside idx_call_insert's savepoint:
	 * no per-statement guard for them (db.h; write.c's children too). */
	if ((ix->st[id] = idx_prep(ix, stmt_sql[id])))
		ix->st[id]->hot = id <= ST_CALL_FIND || id == ST_CALL_QUALITY;
	return ix->st[id];
}

int idx_savepoint(struct idx *ix, const char *name)
{
	char sql[96];
	int err = 0;
	ix->sp_began = false;
	if (db_is_pg(ix) && !ix->eng->in_tx(ix)) {
		if ((err = idx_exec(ix, "BEGIN")))
			return err;
		ix->sp_began = true;
	}
	snprintf(sql, sizeof(sql), "SAVEPOINT %s", name);
	if ((err = idx_exec(ix, sql)) && ix->sp_began) {
		idx_exec(ix, "ROLLBACK");
		ix->sp_began = false;
	}
	return err;
}

int idx_release(struct idx *ix, const char *name)
{
	char sql[96];
	snprintf(sql, sizeof(sql), "RELEASE %s", name);
	int err = idx_exec(ix, sql);
	if (ix->sp_began) {
		ix->sp_began = false;
		if (!err)
			err = idx_exec(ix, "COMMIT");
		else
			idx_exec(ix, "ROLLBACK");
	}
	return err;
}

void idx_rollback_to(struct idx *ix, const char *name)
{
	char sql[128];
	char keep[sizeof(ix->errmsg)];
	memcpy(keep, ix->errmsg, sizeof(keep)); /* the cause, not the cleanup's */
	snprintf(sql, sizeof(sql), "ROLLBACK TO %s; RELEASE %s", name, name);
	idx_exec(ix, sql);
	if (ix->sp_began) {
		ix->sp_began = false;
		idx_exec(ix, "ROLLBACK");
	}
	memcpy(ix->errmsg, keep, sizeof(keep));
}

/* "postgresql://..." (or "postgres://") is a PostgreSQL server; anything
 * else a SQLite file. */
static const struct idx_engine *engine_for(const char *where)
{
	if (!strncmp(where, "postgresql://", 13) || !strncmp(where, "postgres://", 11))
		return &idx_engine_pg;
	return &idx_engine_sqlite;
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
	if (ix) {
		ix->eng = engine_for(path);
		ix->path = db_mask_secret(path);
	}
	if (!ix || !ix->path) {
		char *masked = db_mask_secret(path);
		if (err && errlen)
			snprintf(err, errlen, "index %s: out of memory", masked ? masked : "?");
		free(masked);
		free(ix);
		return ES_ENOMEM;
	}
	int rc;
	if ((rc = ix->eng->open(ix, path)) || (rc = ix->eng->migrate(ix)))
		goto fail;
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
		db_finalize(ix->st[i]);
	ix->eng->close(ix);
	free(ix->path);
	free(ix->node);
	idx_trkey_free(ix);
	free(ix);
}

int idx_schema_version(struct idx *ix) { return ix ? ix->version : 0; }

const char *idx_engine_name(struct idx *ix) { return ix ? ix->eng->name : "none"; }

int idx_begin(struct idx *ix)
{
	/* SQLite: IMMEDIATE takes the write lock now, so that a concurrent
	 * writer waits in busy_timeout instead of failing at the first
	 * insert (PostgreSQL: a plain BEGIN, rows are locked as written). */
	return idx_exec(ix, "BEGIN IMMEDIATE");
}

int idx_commit(struct idx *ix)
{
	/* PostgreSQL only warns about a COMMIT with nothing open: the same
	 * error on both engines. */
	if (!ix->eng->in_tx(ix)) {
		snprintf(ix->errmsg, sizeof(ix->errmsg), "index %s: commit: no transaction is open",
			 ix->path);
		return ES_EDB;
	}
	int err = idx_exec(ix, "COMMIT");
	if (!err)
		ix->trkey_tx = false; /* the search key loaded in it is stored */
	return err;
}

int idx_rollback(struct idx *ix)
{
	if (!ix->eng->in_tx(ix))
		return 0; /* nothing open (the engine may already have rolled back) */
	/* a search key made in this transaction was never stored: forget it */
	if (ix->trkey_tx)
		ix->trkey_set = ix->trkey_tx = false;
	return idx_exec(ix, "ROLLBACK");
}

int64_t idx_call_duration_us(const struct idx_call *c)
{
	if (!c->answer_us || c->end_us <= c->answer_us)
		return 0;
	return c->end_us - c->answer_us;
}

