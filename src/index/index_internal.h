/*
 * index_internal.h - shared between the files of src/index/: the handle,
 * error recording, cached statements and a small arena for rows handed to
 * callbacks.  Nothing outside src/index/ includes this.
 */
#ifndef ES_INDEX_INTERNAL_H
#define ES_INDEX_INTERNAL_H

#include "index/index.h"

#include <sqlite3.h>

/* Statements prepared once per handle (SQLITE_PREPARE_PERSISTENT) and reused;
 * each user resets it before returning. */
enum idx_stmt_id {
	ST_CALL_INSERT,
	ST_CALL_FIND,
	ST_PARTY_INSERT,
	ST_STREAM_INSERT,
	ST_EVENT_INSERT,
	ST_MSG_INSERT,
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
	ST__COUNT
};

struct idx {
	sqlite3 *db;
	char *path;
	int version;
	sqlite3_stmt *st[ST__COUNT];
	char errmsg[1024];
};

/* The call columns with both parties, as query.c reads them. */
#define IDX_CALL_SELECT \
	"SELECT c.id, c.call_id, c.start_us, c.answer_us, c.end_us, c.outcome, c.sip_code," \
	" c.end_reason, c.flags, c.extra_json, c.source, c.import_id," \
	" a.uri, a.user, a.display, a.pai, a.ua, a.sdp_addr," \
	" b.uri, b.user, b.display, b.pai, b.ua, b.sdp_addr, c.rule," \
	" c.consent_caller, c.consent_callee, c.consent_json, c.clock," \
	" c.mos, c.mos_min, c.loss_pct, c.jitter_ms" \
	" FROM calls c" \
	" LEFT JOIN parties a ON a.call_row = c.id AND a.role = 0" \
	" LEFT JOIN parties b ON b.call_row = c.id AND b.role = 1"

/* Record sqlite's current message (with the db path and what was being
 * done) in ix->errmsg; returns ES_EDB. */
int idx_fail(struct idx *ix, const char *what);
/* The cached statement id, prepared on first use; NULL on failure (the
 * error is recorded). */
sqlite3_stmt *idx_stmt(struct idx *ix, enum idx_stmt_id id);
/* Run SQL without results (no user data in it). */
int idx_exec(struct idx *ix, const char *sql);

/* Migrations: the ordered list of schema steps, step i brings the schema
 * to version i + 1. */
struct idx_migration {
	const char *name;
	const char *sql;
};
extern const struct idx_migration idx_migrations[];
extern const unsigned idx_nmigrations;
/* Written to PRAGMA application_id so that a foreign database is refused. */
#define IDX_APPLICATION_ID 0x45415253 /* "EARS" */

#endif /* ES_INDEX_INTERNAL_H */
