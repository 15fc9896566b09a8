/*
 * transcripts.c - the transcription queue and the transcripts' searchable
 * text (schema IDX_MIG_TRANSCRIPT, index.h).  Storage only: who runs a job
 * and when is record/transcript.c's; what the words are, the engine's.
 * The search index is blind (IDX_MIG_TR_BLIND, trblind.c): keyed hashes of
 * the words in FTS5 (SQLite) or a GIN-indexed tsvector (PostgreSQL); the
 * words are only in the sealed words files.
 */
#include "index/index_internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int prep(struct idx *ix, const char *sql, struct idx_st **st)
{
	*st = idx_prep(ix, sql);
	return *st ? 0 : ES_EDB;
}

/* One statement without rows: 0 or ES_EDB (named what in the message). */
static int done(struct idx *ix, struct idx_st *st, const char *what)
{
	int err = db_step(st) == DB_DONE ? 0 : idx_fail(ix, what);
	db_finalize(st);
	return err;
}

/* ---- the queue -------------------------------------------------------------------- */

int idx_tr_enqueue(struct idx *ix, int64_t call_row, int channel, int64_t now_us, bool again,
		   bool *added)
{
	struct idx_st *st;
	if (added)
		*added = false;
	if (prep(ix, "INSERT INTO transcribe_jobs (call_row, channel, state, attempts, next_us,"
		     " created_us, updated_us) VALUES (?, ?, 'queued', 0, ?, ?, ?)"
		     " ON CONFLICT DO NOTHING",
		 &st))
		return ES_EDB;
	db_bind_int64(st, 1, call_row);
	db_bind_int64(st, 2, channel);
	db_bind_int64(st, 3, now_us);
	db_bind_int64(st, 4, now_us);
	db_bind_int64(st, 5, now_us);
	int rc = db_step(st), err = 0;
	if (rc == DB_EFK)
		err = ES_ENOTFOUND;
	else if (rc != DB_DONE)
		err = idx_fail(ix, "transcription queue");
	db_finalize(st);
	if (err)
		return err;
	if (db_changes(ix) > 0) {
		if (added)
			*added = true;
		return 0;
	}
	if (!again)
		return 0;
	if (prep(ix, "UPDATE transcribe_jobs SET state = 'queued', attempts = 0, next_us = ?,"
		     " error = NULL, updated_us = ? WHERE call_row = ? AND channel = ?",
		 &st))
		return ES_EDB;
	db_bind_int64(st, 1, now_us);
	db_bind_int64(st, 2, now_us);
	db_bind_int64(st, 3, call_row);
	db_bind_int64(st, 4, channel);
	err = done(ix, st, "transcription queue");
	if (!err && added)
		*added = true;
	return err;
}

int idx_tr_enqueue_rule(struct idx *ix, const char *rule, int64_t now_us, int64_t *n)
{
	if (n)
		*n = 0;
	for (int ch = 0; ch < 2; ch++) {
		struct idx_st *st;
		if (prep(ix, "INSERT INTO transcribe_jobs (call_row, channel, state, attempts, next_us,"
			     " created_us, updated_us)"
			     " SELECT c.id, ?, 'queued', 0, ?, ?, ? FROM calls c"
			     " JOIN recordings r ON r.call_row = c.id"
			     " WHERE c.rule = ? AND r.channels > ?"
			     " ON CONFLICT DO NOTHING",
			 &st))
			return ES_EDB;
		db_bind_int64(st, 1, ch);
		db_bind_int64(st, 2, now_us);
		db_bind_int64(st, 3, now_us);
		db_bind_int64(st, 4, now_us);
		db_bind_text(st, 5, rule);
		db_bind_int64(st, 6, ch);
		int err = done(ix, st, "transcription queue");
		if (err)
			return err;
		if (n)
			*n += db_changes(ix);
	}
	return 0;
}

#define JOB_COLS \
	"id, call_row, channel, state, attempts, next_us, error, created_us, updated_us, claimed_by"

static void read_job(struct idx_st *st, struct idx_tr_job *j)
{
	j->id = db_col_int64(st, 0);
	j->call_row = db_col_int64(st, 1);
	j->channel = db_col_int(st, 2);
	j->state = db_col_text(st, 3);
	j->attempts = db_col_int(st, 4);
	j->next_us = db_col_int64(st, 5);
	j->error = db_col_text(st, 6);
	j->created_us = db_col_int64(st, 7);
	j->updated_us = db_col_int64(st, 8);
	j->claimed_by = db_col_text(st, 9);
}

/* The id of the oldest due job: *id 0 when none. */
static int due_job(struct idx *ix, int64_t now_us, int64_t *id)
{
	struct idx_st *st;
	*id = 0;
	if (prep(ix, "SELECT id FROM transcribe_jobs WHERE state IN ('queued', 'retry')"
		     " AND next_us <= ? ORDER BY next_us, id LIMIT 1",
		 &st))
		return ES_EDB;
	db_bind_int64(st, 1, now_us);
	int rc = db_step(st), err = 0;
	if (rc == DB_ROW)
		*id = db_col_int64(st, 0);
	else if (rc != DB_DONE)
		err = idx_fail(ix, "transcription queue");
	db_finalize(st);
	return err;
}

/* Tries per claim: each lost race means another worker took a job, so the
 * queue moved; a worker that loses this often just tries again later. */
#define CLAIM_TRIES 16

int idx_tr_claim(struct idx *ix, int64_t now_us, const char *owner, idx_tr_job_fn fn, void *ud)
{
	struct idx_st *st;
	int64_t id = 0;
	bool mine = false;
	for (int i = 0; i < CLAIM_TRIES && !mine; i++) {
		int err = due_job(ix, now_us, &id);
		if (err)
			return err;
		if (!id)
			return ES_ENOTFOUND;
		/* the claim is this one statement: it re-checks the state, so
		 * of two workers that read the same id only one changes the
		 * row (SQLite's write lock; PostgreSQL re-evaluates the WHERE
		 * on the row's newest version after the other's commit).  It
		 * is marked before the engine is called: a crash leaves it
		 * "running" with its owner, which a later start requeues. */
		if (prep(ix, "UPDATE transcribe_jobs SET state = 'running', claimed_by = ?,"
			     " updated_us = ? WHERE id = ? AND state IN ('queued', 'retry')"
			     " AND next_us <= ?",
			 &st))
			return ES_EDB;
		db_bind_text(st, 1, owner);
		db_bind_int64(st, 2, now_us);
		db_bind_int64(st, 3, id);
		db_bind_int64(st, 4, now_us);
		if ((err = done(ix, st, "transcription queue")))
			return err;
		mine = db_changes(ix) == 1;
	}
	if (!mine)
		return ES_ENOTFOUND;
	if (prep(ix, "SELECT " JOB_COLS " FROM transcribe_jobs WHERE id = ?", &st))
		return ES_EDB;
	db_bind_int64(st, 1, id);
	int rc = db_step(st), err;
	if (rc == DB_ROW) {
		struct idx_tr_job j;
		read_job(st, &j);
		err = fn(ud, &j);
	} else {
		err = rc == DB_DONE ? ES_ENOTFOUND : idx_fail(ix, "transcription queue");
	}
	db_finalize(st);
	return err;
}

int idx_tr_job_done(struct idx *ix, int64_t job_id, int64_t now_us)
{
	struct idx_st *st;
	if (prep(ix, "UPDATE transcribe_jobs SET state = 'done', error = NULL, updated_us = ?"
		     " WHERE id = ?",
		 &st))
		return ES_EDB;
	db_bind_int64(st, 1, now_us);
	db_bind_int64(st, 2, job_id);
	return done(ix, st, "transcription job");
}

int idx_tr_job_fail(struct idx *ix, int64_t job_id, const char *error, int64_t next_us,
		    bool give_up, int64_t now_us)
{
	struct idx_st *st;
	if (prep(ix, "UPDATE transcribe_jobs SET state = ?, attempts = attempts + 1, next_us = ?,"
		     " error = ?, updated_us = ? WHERE id = ?",
		 &st))
		return ES_EDB;
	db_bind_text(st, 1, give_up ? "failed" : "retry");
	db_bind_int64(st, 2, next_us);
	db_bind_text(st, 3, error);
	db_bind_int64(st, 4, now_us);
	db_bind_int64(st, 5, job_id);
	return done(ix, st, "transcription job");
}

int idx_tr_requeue_job(struct idx *ix, int64_t job_id, const char *claimed_by, int64_t now_us,
		       bool *done_)
{
	struct idx_st *st;
	if (done_)
		*done_ = false;
	/* '' stands for no owner: one bound text, no untyped NULL parameter */
	if (prep(ix, "UPDATE transcribe_jobs SET state = 'queued', next_us = ?, updated_us = ?"
		     " WHERE id = ? AND state = 'running' AND COALESCE(claimed_by, '') = ?",
		 &st))
		return ES_EDB;
	db_bind_int64(st, 1, now_us);
	db_bind_int64(st, 2, now_us);
	db_bind_int64(st, 3, job_id);
	db_bind_text(st, 4, claimed_by ? claimed_by : "");
	int err = done(ix, st, "transcription queue");
	if (!err && done_)
		*done_ = db_changes(ix) == 1;
	return err;
}

int idx_tr_jobs_list(struct idx *ix, int64_t call_row, idx_tr_job_fn fn, void *ud)
{
	struct idx_st *st;
	if (prep(ix, "SELECT " JOB_COLS " FROM transcribe_jobs WHERE ? = 0 OR call_row = ?"
		     " ORDER BY id",
		 &st))
		return ES_EDB;
	db_bind_int64(st, 1, call_row);
	db_bind_int64(st, 2, call_row);
	int rc, err = 0;
	while (!err && (rc = db_step(st)) == DB_ROW) {
		struct idx_tr_job j;
		read_job(st, &j);
		err = fn(ud, &j);
	}
	if (!err && rc != DB_DONE)
		err = idx_fail(ix, "transcription jobs");
	db_finalize(st);
	return err;
}

/* ---- transcripts ------------------------------------------------------------------ */

/* The blind index's row id of a transcript: the call's start in ms, then
 * 12 bits of (call, channel), so that the FTS5 rowid order is newest-first
 * time order (a search reads its doclists from the newest end); a taken key
 * (two calls in one ms) moves up by one. */
#define FTS_KEY_SPREAD 4096
static int fts_key(struct idx *ix, int64_t call_row, int channel, int64_t *key)
{
	struct idx_st *st;
	int64_t start_us = 0;
	if (prep(ix, "SELECT start_us FROM calls WHERE id = ?", &st))
		return ES_EDB;
	db_bind_int64(st, 1, call_row);
	int rc = db_step(st);
	if (rc == DB_ROW)
		start_us = db_col_int64(st, 0);
	db_finalize(st);
	if (rc != DB_ROW)
		return rc == DB_DONE ? ES_ENOTFOUND : idx_fail(ix, "transcript");
	if (start_us < 0)
		start_us = 0;
	int64_t k = start_us / 1000 * FTS_KEY_SPREAD +
		    (int64_t)(((uint64_t)call_row * 2 + (uint64_t)channel) % FTS_KEY_SPREAD);
	for (;;) {
		if (prep(ix, "SELECT 1 FROM transcripts WHERE fts_key = ?", &st))
			return ES_EDB;
		db_bind_int64(st, 1, k);
		rc = db_step(st);
		db_finalize(st);
		if (rc == DB_DONE)
			break;
		if (rc != DB_ROW)
			return idx_fail(ix, "transcript");
		k++;
	}
	*key = k;
	return 0;
}

/* The words of (call_row, channel) into the blind index (its row exists). */
static int blind_put(struct idx *ix, int64_t call_row, int channel, const char *text)
{
	struct es_buf doc;
	es_buf_init(&doc);
	int64_t key = 0;
	struct idx_st *st;
	int err = idx_tr_doc(ix, text ? text : "", &doc);
	if (!err)
		err = fts_key(ix, call_row, channel, &key);
	if (err)
		goto out;
	if (db_is_pg(ix)) {
		if ((err = prep(ix, "UPDATE transcripts SET fts_key = ?, tsv = CAST(? AS tsvector)"
				    " WHERE call_row = ? AND channel = ?",
				&st)))
			goto out;
		db_bind_int64(st, 1, key);
		db_bind_text(st, 2, (const char *)doc.p);
		db_bind_int64(st, 3, call_row);
		db_bind_int64(st, 4, channel);
		err = done(ix, st, "transcript search index");
		goto out;
	}
	/* FTS5's delete needs the entry's distinct tokens: kept once each in
	 * tr_vocab, the row holds their ids (IDX_MIG_TR_COMPACT); the new key
	 * hands the old entry (a reindex) back to FTS5 (trigger transcripts_au) */
	if ((err = prep(ix, "INSERT OR IGNORE INTO tr_vocab (token) SELECT value FROM "
			IDX_TR_SPLIT_SQL("?") " WHERE value <> ''", &st)))
		goto out;
	db_bind_text(st, 1, (const char *)doc.p);
	if ((err = done(ix, st, "transcript search index")))
		goto out;
	if ((err = prep(ix, "UPDATE transcripts SET fts_key = ?, fts_ids = (SELECT"
			    " json_group_array(DISTINCT v.id) FROM " IDX_TR_SPLIT_SQL("?") " j"
			    " JOIN tr_vocab v ON v.token = j.value) WHERE call_row = ? AND channel = ?",
			&st)))
		goto out;
	db_bind_int64(st, 1, key);
	db_bind_text(st, 2, (const char *)doc.p);
	db_bind_int64(st, 3, call_row);
	db_bind_int64(st, 4, channel);
	if ((err = done(ix, st, "transcript")))
		goto out;
	if ((err = prep(ix, "INSERT INTO transcript_text (rowid, tokens) VALUES (?, ?)", &st)))
		goto out;
	db_bind_int64(st, 1, key);
	db_bind_text(st, 2, (const char *)doc.p);
	err = done(ix, st, "transcript search index");
out:
	es_buf_free(&doc);
	return err;
}

int idx_transcript_put(struct idx *ix, const struct idx_transcript *t)
{
	struct idx_st *st;
	/* the key first: without it nothing is written (no row that no
	 * search could find) */
	int err = idx_tr_need_key(ix);
	if (err)
		return err;
	/* delete + insert, not an update: the search entry goes with the row
	 * (SQLite: a trigger) */
	if (prep(ix, "DELETE FROM transcripts WHERE call_row = ? AND channel = ?", &st))
		return ES_EDB;
	db_bind_int64(st, 1, t->call_row);
	db_bind_int64(st, 2, t->channel);
	if ((err = done(ix, st, "transcript")))
		return err;
	if (prep(ix, "INSERT INTO transcripts (call_row, channel, engine, words, created_us)"
		     " VALUES (?, ?, ?, ?, ?)",
		 &st))
		return ES_EDB;
	db_bind_int64(st, 1, t->call_row);
	db_bind_int64(st, 2, t->channel);
	db_bind_text(st, 3, t->engine);
	db_bind_int64(st, 4, t->words);
	db_bind_int64(st, 5, t->created_us);
	int rc = db_step(st);
	err = rc == DB_DONE ? 0 : rc == DB_EFK ? ES_ENOTFOUND : idx_fail(ix, "transcript");
	db_finalize(st);
	return err ? err : blind_put(ix, t->call_row, t->channel, t->text);
}

int idx_tr_probe(struct idx *ix, const char *query, int text_party, struct es_buf *ids,
		 bool *common)
{
	struct idx_st *st;
	*common = false;
	if (prep(ix, "SELECT tr.call_row FROM transcript_text JOIN transcripts tr"
		     " ON tr.fts_key = transcript_text.rowid WHERE transcript_text MATCH ?"
		     " AND (? = 0 OR tr.channel = ? - 1) LIMIT ?",
		 &st))
		return ES_EDB;
	db_bind_text(st, 1, query);
	db_bind_int64(st, 2, text_party);
	db_bind_int64(st, 3, text_party);
	db_bind_int64(st, 4, IDX_TR_PROBE_MAX + 1);
	int rc, err = 0, n = 0;
	while (!err && (rc = db_step(st)) == DB_ROW)
		if (++n <= IDX_TR_PROBE_MAX)
			err = es_buf_printf(ids, "%s%lld", n > 1 ? "," : "",
					    (long long)db_col_int64(st, 0));
	if (!err && rc != DB_DONE && rc != DB_ROW)
		err = idx_fail(ix, "transcript search");
	db_finalize(st);
	*common = n > IDX_TR_PROBE_MAX;
	return err;
}

int idx_tr_reindex(struct idx *ix, int64_t call_row, int channel, const char *text)
{
	return blind_put(ix, call_row, channel, text);
}

int idx_tr_unindexed(struct idx *ix, idx_tr_row_fn fn, void *ud)
{
	struct idx_st *st;
	/* PostgreSQL: also rows copied by `earshot migrate` (the tsvector is
	 * not among SQLite's columns, so it arrives empty) */
	if (prep(ix, db_is_pg(ix) ? "SELECT call_row, channel FROM transcripts WHERE fts_key IS NULL"
				    " OR tsv IS NULL ORDER BY call_row, channel"
				  : "SELECT call_row, channel FROM transcripts WHERE fts_key IS NULL"
				    " ORDER BY call_row, channel",
		 &st))
		return ES_EDB;
	int rc, err = 0;
	while (!err && (rc = db_step(st)) == DB_ROW)
		err = fn(ud, db_col_int64(st, 0), db_col_int(st, 1));
	if (!err && rc != DB_DONE)
		err = idx_fail(ix, "transcripts");
	db_finalize(st);
	return err;
}

int idx_tr_key_get(struct idx *ix, char *wrapped, size_t cap)
{
	struct idx_st *st;
	if (prep(ix, "SELECT wrapped FROM tr_search_key WHERE id = 1", &st))
		return ES_EDB;
	int rc = db_step(st), err = 0;
	if (rc == DB_ROW) {
		const char *w = db_col_text(st, 0);
		if (!w || (size_t)snprintf(wrapped, cap, "%s", w) >= cap)
			err = ES_EPARSE;
	} else {
		err = rc == DB_DONE ? ES_ENOTFOUND : idx_fail(ix, "transcript search key");
	}
	db_finalize(st);
	return err;
}

int idx_tr_key_put(struct idx *ix, const char *wrapped)
{
	struct idx_st *st;
	if (prep(ix, "INSERT INTO tr_search_key (id, wrapped) VALUES (1, ?) ON CONFLICT DO NOTHING",
		 &st))
		return ES_EDB;
	db_bind_text(st, 1, wrapped);
	return done(ix, st, "transcript search key");
}

int idx_transcripts_get(struct idx *ix, int64_t call_row, idx_transcript_fn fn, void *ud)
{
	struct idx_st *st;
	if (prep(ix, "SELECT call_row, channel, engine, words, created_us"
		     " FROM transcripts WHERE call_row = ? ORDER BY channel",
		 &st))
		return ES_EDB;
	db_bind_int64(st, 1, call_row);
	int rc, err = 0;
	while (!err && (rc = db_step(st)) == DB_ROW) {
		struct idx_transcript t = {
			.call_row = db_col_int64(st, 0),
			.channel = db_col_int(st, 1),
			.engine = db_col_text(st, 2),
			.words = db_col_int64(st, 3),
			.created_us = db_col_int64(st, 4),
		};
		err = fn(ud, &t);
	}
	if (!err && rc != DB_DONE)
		err = idx_fail(ix, "transcripts");
	db_finalize(st);
	return err;
}

int idx_transcripts_delete(struct idx *ix, int64_t call_row)
{
	struct idx_st *st;
	if (prep(ix, "DELETE FROM transcripts WHERE call_row = ?", &st))
		return ES_EDB;
	db_bind_int64(st, 1, call_row);
	int err = done(ix, st, "transcripts");
	if (err)
		return err;
	if (prep(ix, "DELETE FROM transcribe_jobs WHERE call_row = ?", &st))
		return ES_EDB;
	db_bind_int64(st, 1, call_row);
	if ((err = done(ix, st, "transcription jobs")))
		return err;
	/* what the text analyses found says what was said: it goes too */
	if (prep(ix, "DELETE FROM keyword_hits WHERE call_row = ?", &st))
		return ES_EDB;
	db_bind_int64(st, 1, call_row);
	if ((err = done(ix, st, "keyword hits")))
		return err;
	if (prep(ix, "UPDATE calls SET speech_json = NULL, sentiment = NULL WHERE id = ?", &st))
		return ES_EDB;
	db_bind_int64(st, 1, call_row);
	return done(ix, st, "transcript findings");
}

/* ---- findings ------------------------------------------------------------------------ */

int idx_call_set_speech(struct idx *ix, int64_t call_row, const char *json, bool sentiment_set,
			double sentiment, const struct idx_kw_hit *hits, size_t nhits)
{
	struct idx_st *st;
	/* the phrases hit say what was said: sealed (seal.c), opened for the
	 * call's page by call_get (idx_call_speech_open) */
	struct es_buf sealed;
	es_buf_init(&sealed);
	int err = json ? idx_seal(ix, IDX_SEAL_SPEECH, call_row, json, strlen(json), 64, &sealed) : 0;
	if (err || prep(ix, "UPDATE calls SET speech_json = ?, sentiment = ? WHERE id = ?", &st)) {
		es_buf_free(&sealed);
		return err ? err : ES_EDB;
	}
	db_bind_text(st, 1, json ? (const char *)sealed.p : NULL);
	if (sentiment_set)
		db_bind_double(st, 2, sentiment);
	else
		db_bind_text(st, 2, NULL);
	db_bind_int64(st, 3, call_row);
	err = done(ix, st, "transcript findings");
	es_buf_free(&sealed);
	if (!err && db_changes(ix) == 0)
		return ES_ENOTFOUND;
	if (err || prep(ix, "DELETE FROM keyword_hits WHERE call_row = ?", &st))
		return err ? err : ES_EDB;
	db_bind_int64(st, 1, call_row);
	if ((err = done(ix, st, "keyword hits")))
		return err;
	for (size_t i = 0; i < nhits && !err; i++) {
		const struct idx_kw_hit *h = &hits[i];
		/* the phrase said is kept as its keyed token (trblind.c): the
		 * category and list are the configuration's names */
		char tok[IDX_TR_TOKEN_MAX + 1];
		if (h->phrase && (err = idx_tr_kw_token(ix, h->phrase, tok)))
			return err;
		if (prep(ix, "INSERT INTO keyword_hits (call_row, channel, list, category, phrase,"
			     " start_ms, end_ms, missing) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			 &st))
			return ES_EDB;
		db_bind_int64(st, 1, call_row);
		db_bind_int64(st, 2, h->channel);
		db_bind_text(st, 3, h->list ? h->list : "");
		db_bind_text(st, 4, h->category ? h->category : "");
		db_bind_text(st, 5, h->phrase ? tok : NULL);
		db_bind_int64(st, 6, h->missing ? -1 : h->start_ms);
		db_bind_int64(st, 7, h->missing ? -1 : h->end_ms);
		db_bind_int64(st, 8, h->missing);
		err = done(ix, st, "keyword hits");
	}
	return err;
}

int idx_call_speech_open(struct idx *ix, struct es_arena *a, struct idx_call *c)
{
	if (!c->speech.json || !idx_is_sealed(c->speech.json))
		return 0; /* none, or stored before the seal (idx_speech_reseal) */
	struct es_buf js;
	es_buf_init(&js);
	int err = idx_unseal(ix, IDX_SEAL_SPEECH, c->id, c->speech.json, strlen(c->speech.json),
			     &js);
	c->speech.json = NULL;
	if (err == ES_ENOMEM) {
		es_buf_free(&js);
		return err;
	}
	if (err) {
		/* the call is still shown, without its findings */
		ES_LOG_WARNING("index", "call %lld: its transcript findings cannot be opened: %s",
			       (long long)c->id,
			       err == ES_EUNSUP ? ix->errmsg
			       : err == ES_ECRYPTO ? "altered, or sealed under another key"
						   : es_strerror(err));
	} else {
		bool oom = false;
		c->speech.json = es_arena_strdup(a, (const char *)js.p, &oom);
		err = oom ? ES_ENOMEM : 0;
	}
	if (js.p)
		sodium_memzero(js.p, js.cap);
	es_buf_free(&js);
	return err == ES_ENOMEM ? err : 0;
}

struct plain_row {
	int64_t id;
	char *json;
};

int idx_speech_reseal(struct idx *ix, unsigned *n)
{
	struct idx_st *st;
	struct plain_row *rows = NULL;
	size_t nr = 0, cap = 0;
	int rc, err = 0;
	*n = 0;
	if (prep(ix, "SELECT id, speech_json FROM calls WHERE speech_json IS NOT NULL"
		     " AND speech_json NOT LIKE 'sealed:%'", &st))
		return ES_EDB;
	while ((rc = db_step(st)) == DB_ROW) {
		if (nr == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct plain_row *g = realloc(rows, nc * sizeof(*g));
			if (!g) {
				err = ES_ENOMEM;
				break;
			}
			rows = g;
			cap = nc;
		}
		const char *j = db_col_text(st, 1);
		if (!(rows[nr].json = strdup(j ? j : ""))) {
			err = ES_ENOMEM;
			break;
		}
		rows[nr++].id = db_col_int64(st, 0);
	}
	if (!err && rc != DB_DONE)
		err = idx_fail(ix, "transcript findings");
	db_finalize(st);
	struct es_buf sealed;
	es_buf_init(&sealed);
	for (size_t i = 0; !err && i < nr; i++) {
		if ((err = idx_seal(ix, IDX_SEAL_SPEECH, rows[i].id, rows[i].json,
				    strlen(rows[i].json), 64, &sealed)))
			break;
		/* only if unchanged since read: a worker may have entered new
		 * findings (sealed) in between */
		if (prep(ix, "UPDATE calls SET speech_json = ? WHERE id = ? AND speech_json = ?",
			 &st)) {
			err = ES_EDB;
			break;
		}
		db_bind_text(st, 1, (const char *)sealed.p);
		db_bind_int64(st, 2, rows[i].id);
		db_bind_text(st, 3, rows[i].json);
		if (!(err = done(ix, st, "transcript findings")) && db_changes(ix) > 0)
			(*n)++;
	}
	for (size_t i = 0; i < nr; i++) {
		sodium_memzero(rows[i].json, strlen(rows[i].json));
		free(rows[i].json);
	}
	free(rows);
	es_buf_free(&sealed);
	return err;
}
