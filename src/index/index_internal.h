/*
 * index_internal.h - shared between the files of src/index/: the handle,
 * error recording, cached statements and a small arena for rows handed to
 * callbacks.  Nothing outside src/index/ includes this.
 */
#ifndef ES_INDEX_INTERNAL_H
#define ES_INDEX_INTERNAL_H

#include "index/index.h"

#include "index/db.h"

/* Statements prepared once per handle and reused; each user resets it
 * before returning. */
enum idx_stmt_id {
	ST_CALL_INSERT,
	ST_CALL_FIND,
	ST_IMPORT_INSERT,
	ST_IMPORT_UPDATE,
	ST_CALL_GET,
	ST_STREAMS_GET,
	ST_EVENTS_GET,
	ST_MSGS_GET,
	ST_CALL_START,
	ST_COUNT_CALLS,
	ST_REC_INSERT,
	ST_REC_GET,
	ST_CALL_QUALITY,
	ST_CALL_TALK,
	ST_CALL_CHECKS,
	ST__COUNT
};

struct idx {
	const struct idx_engine *eng;
	void *conn;     /* the engine's connection */
	char *path;     /* where, for messages: a password masked */
	int version;
	struct idx_st *st[ST__COUNT];
	bool sp_began;  /* idx_savepoint opened the transaction */
	char errmsg[1024];
	char *node;     /* idx_set_node: written with each new call, or NULL */
	/* the transcripts' search key (trblind.c): set, or loaded through
	 * trkey_fn on first use; trkey_tx: loaded inside a transaction that
	 * may still roll back (then it is forgotten) */
	struct idx_trkey *trkey;
	bool trkey_set, trkey_tx;
	idx_key_fn trkey_fn;
	void *trkey_ud;
	/* db_time_limit: the deadline (es_mono_us; SQLite's progress handler
	 * reads it) and whether a statement was stopped by it */
	int64_t limit_deadline_us;
	bool timed_out;
};

/* The call columns with both parties, as query.c reads them. */
#define IDX_CALL_SELECT \
	"SELECT c.id, c.call_id, c.start_us, c.answer_us, c.end_us, c.outcome, c.sip_code," \
	" c.end_reason, c.flags, c.extra_json, c.source, c.import_id," \
	" a.uri, a.user, a.display, a.pai, a.ua, a.sdp_addr," \
	" b.uri, b.user, b.display, b.pai, b.ua, b.sdp_addr, c.rule," \
	" c.consent_caller, c.consent_callee, c.consent_json, c.clock," \
	" c.mos, c.mos_min, c.loss_pct, c.jitter_ms," \
	" c.talk_json, c.talk_ratio, c.overtalk_ms, c.dead_air_ms, c.checks_json, c.node," \
	" c.sentiment, c.speech_json" \
	" FROM calls c" \
	" LEFT JOIN parties a ON a.call_row = c.id AND a.role = 0" \
	" LEFT JOIN parties b ON b.call_row = c.id AND b.role = 1"

/* Record the engine's current message (with the index location and what
 * was being done) in ix->errmsg; returns ES_EDB. */
int idx_fail(struct idx *ix, const char *what);
/* The cached statement id, prepared on first use; NULL on failure (the
 * error is recorded). */
struct idx_st *idx_stmt(struct idx *ix, enum idx_stmt_id id);
/* Run SQL without results (no user data in it). */
int idx_exec(struct idx *ix, const char *sql);
/* A statement prepared for one use (db_finalize it); NULL on failure, the
 * error recorded. */
struct idx_st *idx_prep(struct idx *ix, const char *sql);
/* A savepoint of that name: inside the caller's transaction, or one of
 * its own (PostgreSQL has savepoints only inside a transaction). */
int idx_savepoint(struct idx *ix, const char *name);
int idx_release(struct idx *ix, const char *name);
/* Undo to the savepoint and drop it (errors ignored: the cleanup path). */
void idx_rollback_to(struct idx *ix, const char *name);

/* The blind transcript index (trblind.c): text's words as the engine's
 * document (SQLite: tokens one space apart for FTS5; PostgreSQL: a tsvector
 * literal with positions) into out, NUL-terminated; a search (idx_tr_match's
 * syntax) as an FTS5 query or a tsquery (malloc'd into *out; ES_EINVAL: no
 * term); a keyword phrase's token.  ES_EUNSUP when no key can be had. */
int idx_tr_doc(struct idx *ix, const char *text, struct es_buf *out);
int idx_tr_query(struct idx *ix, const char *text, char **out);
int idx_tr_kw_token(struct idx *ix, const char *phrase, char out[IDX_TR_TOKEN_MAX + 1]);
/* SQLite: a document's tokens (text: an SQL expression) as json_each rows,
 * for tr_vocab (IDX_MIG_TR_COMPACT; the tokens are [0-9a-vx] only). */
#define IDX_TR_SPLIT_SQL(text) "json_each('[\"' || replace(" text ", ' ', '\",\"') || '\"]')"
/* SQLite: the calls whose transcripts match query (idx_tr_query's FTS5
 * form), as "id,id,..." into ids when at most IDX_TR_PROBE_MAX transcripts
 * do; else *common (ids then unused), and the search tests each call in
 * its own order against the FTS (rowid = fts_key), stopping at the page's
 * end instead of reading every match first (docs/PERFORMANCE.md). */
#define IDX_TR_PROBE_MAX 1000
int idx_tr_probe(struct idx *ix, const char *query, int text_party, struct es_buf *ids,
		 bool *common);
/* The key at hand (loaded if need be): ES_EUNSUP when none. */
int idx_tr_need_key(struct idx *ix);
/* Wipe and free the key (idx_close). */
void idx_trkey_free(struct idx *ix);
/* HMAC(search key, 's' + label): seal.c's key for label (trblind.c). */
int idx_tr_subkey(struct idx *ix, const char *label, uint8_t out[IDX_TR_KEY_BYTES]);
/* c's findings opened in place (transcripts.c), copied into a; NULL when
 * they cannot be (logged): only ES_ENOMEM fails. */
int idx_call_speech_open(struct idx *ix, struct es_arena *a, struct idx_call *c);

/* Migrations: the ordered list of schema steps, step i brings the schema
 * to version i + 1. */
struct idx_migration {
	const char *name;
	const char *sql; /* SQLite's dialect; rewritten for PostgreSQL */
};
extern const struct idx_migration idx_migrations[];
extern const unsigned idx_nmigrations;
/* Step i's SQL in PostgreSQL's own dialect where no rewrite serves, else
 * NULL (schema.c). */
const char *idx_migration_pg_sql(unsigned step);
/* Written to PRAGMA application_id (PostgreSQL: earshot_schema) so that a
 * foreign database is refused. */
#define IDX_APPLICATION_ID 0x45415253 /* "EARS" */

#endif /* ES_INDEX_INTERNAL_H */
