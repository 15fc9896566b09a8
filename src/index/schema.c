/*
 * schema.c - the index schema as an ordered list of migrations.  Step i
 * brings the schema version (SQLite: PRAGMA user_version; PostgreSQL: the
 * earshot_schema table) from i to i + 1 inside one transaction.  Never
 * edit a released step: append a new one.  Each step is SQLite's dialect,
 * which db_rewrite.c turns into PostgreSQL's (BIGINT, identity ids, CITEXT
 * for COLLATE NOCASE, "user", ...); a step that no rewrite can express
 * gives PostgreSQL's own SQL beside it (pg_own, as v7 does).
 */
#include "index/index_internal.h"

#include <string.h>

/* Version 1: imports, calls, parties, streams, events, SIP messages. */
static const char v1_sql[] =
	"CREATE TABLE imports ("
	"  id INTEGER PRIMARY KEY,"
	"  path TEXT,"
	"  file_key TEXT,"
	"  started_us INTEGER NOT NULL DEFAULT 0,"
	"  finished_us INTEGER NOT NULL DEFAULT 0,"
	"  frames INTEGER NOT NULL DEFAULT 0,"
	"  calls_new INTEGER NOT NULL DEFAULT 0,"
	"  calls_dup INTEGER NOT NULL DEFAULT 0,"
	"  streams INTEGER NOT NULL DEFAULT 0,"
	"  status TEXT NOT NULL DEFAULT 'running',"
	"  summary_json TEXT"
	");"
	"CREATE INDEX imports_file_key ON imports(file_key);"

	"CREATE TABLE calls ("
	"  id INTEGER PRIMARY KEY,"
	"  call_id TEXT NOT NULL,"
	"  start_us INTEGER NOT NULL,"
	"  answer_us INTEGER NOT NULL DEFAULT 0,"
	"  end_us INTEGER NOT NULL DEFAULT 0,"
	"  outcome TEXT,"
	"  sip_code INTEGER NOT NULL DEFAULT 0,"
	"  end_reason TEXT,"
	"  flags TEXT,"
	"  extra_json TEXT,"
	"  source TEXT,"
	"  import_id INTEGER REFERENCES imports(id) ON DELETE SET NULL,"
	"  UNIQUE (call_id, start_us)"
	");"
	"CREATE INDEX calls_start ON calls(start_us, id);"
	"CREATE INDEX calls_outcome ON calls(outcome, start_us);"
	"CREATE INDEX calls_import ON calls(import_id);"

	/* role: 0 caller, 1 callee */
	"CREATE TABLE parties ("
	"  call_row INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,"
	"  role INTEGER NOT NULL CHECK (role IN (0, 1)),"
	"  uri TEXT,"
	"  user TEXT,"
	"  display TEXT,"
	"  pai TEXT,"
	"  ua TEXT,"
	"  sdp_addr TEXT,"
	"  PRIMARY KEY (call_row, role)"
	") WITHOUT ROWID;"
	"CREATE INDEX parties_user ON parties(user COLLATE NOCASE, role);"

	/* party: 0 caller, 1 callee, -1 unknown; seq keeps the caller's order */
	"CREATE TABLE streams ("
	"  call_row INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  party INTEGER NOT NULL DEFAULT -1,"
	"  ssrc INTEGER NOT NULL,"
	"  src TEXT,"
	"  dst TEXT,"
	"  payload_types TEXT,"
	"  codecs TEXT,"
	"  packets INTEGER NOT NULL DEFAULT 0,"
	"  expected INTEGER NOT NULL DEFAULT 0,"
	"  lost INTEGER NOT NULL DEFAULT 0,"
	"  duplicates INTEGER NOT NULL DEFAULT 0,"
	"  out_of_order INTEGER NOT NULL DEFAULT 0,"
	"  jitter_max_ms REAL NOT NULL DEFAULT 0,"
	"  jitter_mean_ms REAL NOT NULL DEFAULT 0,"
	"  delta_max_ms REAL NOT NULL DEFAULT 0,"
	"  first_us INTEGER NOT NULL DEFAULT 0,"
	"  last_us INTEGER NOT NULL DEFAULT 0,"
	"  rtcp_json TEXT,"
	"  PRIMARY KEY (call_row, seq)"
	") WITHOUT ROWID;"

	"CREATE TABLE events ("
	"  call_row INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  ts_us INTEGER NOT NULL,"
	"  kind TEXT,"
	"  party INTEGER NOT NULL DEFAULT -1,"
	"  detail TEXT,"
	"  PRIMARY KEY (call_row, seq)"
	") WITHOUT ROWID;"
	"CREATE INDEX events_kind ON events(kind);"

	"CREATE TABLE sip_msgs ("
	"  call_row INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  ts_us INTEGER NOT NULL,"
	"  frame INTEGER NOT NULL DEFAULT 0,"
	"  src TEXT,"
	"  dst TEXT,"
	"  transport TEXT,"
	"  label TEXT,"
	"  cseq INTEGER NOT NULL DEFAULT 0,"
	"  cseq_method TEXT,"
	"  retransmission INTEGER NOT NULL DEFAULT 0,"
	"  has_sdp INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (call_row, seq)"
	") WITHOUT ROWID;";

/* Version 2: one recording file per call, entered once the file is durable. */
static const char v2_sql[] =
	"CREATE TABLE recordings ("
	"  call_row INTEGER PRIMARY KEY REFERENCES calls(id) ON DELETE CASCADE,"
	"  path TEXT NOT NULL,"
	"  format TEXT NOT NULL,"
	"  bytes INTEGER NOT NULL DEFAULT 0,"
	"  sha256 TEXT NOT NULL,"
	"  start_us INTEGER NOT NULL DEFAULT 0,"
	"  duration_us INTEGER NOT NULL DEFAULT 0,"
	"  rate INTEGER NOT NULL DEFAULT 0,"
	"  channels INTEGER NOT NULL DEFAULT 0,"
	"  codecs TEXT,"
	"  flags TEXT,"
	"  stats_json TEXT,"
	"  created_us INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE UNIQUE INDEX recordings_path ON recordings(path);";

/* Version 3: which recording rule decided for each call. */
static const char v3_sql[] = "ALTER TABLE calls ADD COLUMN rule TEXT;";

/* Version 4: encryption at rest (store/crypt.h): the plaintext's hash
 * beside the stored file's. */
static const char v4_sql[] =
	"ALTER TABLE recordings ADD COLUMN plain_sha256 TEXT;"
	"ALTER TABLE recordings ADD COLUMN encrypted INTEGER NOT NULL DEFAULT 0;";

/* Version 5: access control (api/api.h): local users, API tokens, browser
 * sessions and the hash-chained audit log.  Secrets are never stored: a
 * password as its Argon2id string (crypto_pwhash_str), a token and a session
 * id as the hex SHA-256 of the random value handed out once. */
static const char v5_sql[] =
	"CREATE TABLE users ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL COLLATE NOCASE UNIQUE,"
	"  pwhash TEXT NOT NULL,"
	"  role TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent', 'auditor')),"
	"  numbers TEXT NOT NULL DEFAULT '',"
	"  can_listen INTEGER NOT NULL DEFAULT 0,"
	"  disabled INTEGER NOT NULL DEFAULT 0,"
	"  created_us INTEGER NOT NULL DEFAULT 0,"
	"  updated_us INTEGER NOT NULL DEFAULT 0"
	");"

	"CREATE TABLE api_tokens ("
	"  id INTEGER PRIMARY KEY,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  token_hash TEXT NOT NULL UNIQUE,"
	"  label TEXT,"
	"  created_us INTEGER NOT NULL DEFAULT 0,"
	"  last_used_us INTEGER NOT NULL DEFAULT 0,"
	"  revoked INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX api_tokens_user ON api_tokens(user_id);"

	"CREATE TABLE sessions ("
	"  id_hash TEXT PRIMARY KEY,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  csrf TEXT NOT NULL,"
	"  created_us INTEGER NOT NULL DEFAULT 0,"
	"  expires_us INTEGER NOT NULL DEFAULT 0,"
	"  remote TEXT"
	") WITHOUT ROWID;"
	"CREATE INDEX sessions_user ON sessions(user_id);"
	"CREATE INDEX sessions_expires ON sessions(expires_us);"

	/* seq is assigned by the writer (last + 1) because it is hashed. */
	"CREATE TABLE audit ("
	"  seq INTEGER PRIMARY KEY,"
	"  time_us INTEGER NOT NULL,"
	"  user TEXT NOT NULL DEFAULT '-',"
	"  action TEXT NOT NULL,"
	"  object TEXT NOT NULL DEFAULT '',"
	"  remote TEXT NOT NULL DEFAULT '',"
	"  outcome TEXT NOT NULL,"
	"  detail TEXT NOT NULL DEFAULT '',"
	"  prev_hash TEXT NOT NULL,"
	"  hash TEXT NOT NULL"
	");"
	"CREATE INDEX audit_time ON audit(time_us);"
	"CREATE INDEX audit_user ON audit(user, seq);"
	"CREATE INDEX audit_action ON audit(action, seq);";

/* Version 6: tags and notes on calls (api/: POST /api/calls/{id}/tags and
 * /notes).  A tag is unique per call in any case (NOCASE); notes are
 * append-only. */
static const char v6_sql[] =
	"CREATE TABLE call_tags ("
	"  call_row INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,"
	"  tag TEXT NOT NULL COLLATE NOCASE,"
	"  user TEXT NOT NULL,"
	"  created_us INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE (call_row, tag)"
	");"
	"CREATE INDEX call_tags_tag ON call_tags(tag, call_row);"

	"CREATE TABLE call_notes ("
	"  id INTEGER PRIMARY KEY,"
	"  call_row INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,"
	"  user TEXT NOT NULL,"
	"  text TEXT NOT NULL CHECK (length(CAST(text AS BLOB)) BETWEEN 1 AND 4000),"
	"  created_us INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX call_notes_call ON call_notes(call_row, id);";

/* Version 7: a trigram index for the party search (query.c): the substring
 * filter on uri, user, display and PAI pre-selects calls through it instead
 * of scanning every call (bench/api_load.sh, docs/PERFORMANCE.md).  One row
 * per party, rowid = call_row * 2 + role; contentless (the text lives in
 * parties), so the triggers hand a deleted row's exact text back.  The text:
 * the uri, then user, display and PAI on lines of their own unless the uri
 * contains them already (a user part usually is), which would only repeat
 * trigrams.  FTS5 folds case (Unicode, more than LIKE's ASCII folding): a
 * superset, and the search keeps the exact LIKE.  Parties are only ever
 * inserted and deleted (with their call, ON DELETE CASCADE fires the
 * delete trigger); the update trigger is for completeness.  Needs SQLite
 * with FTS5 and the trigram tokenizer (3.34+). */
#define V7_TEXT_IF_NEW(r, col) \
	" || CASE WHEN instr(ifnull(" r ".uri, ''), ifnull(" r "." col ", '')) > 0 THEN ''" \
	" ELSE char(10) || " r "." col " END"
#define V7_TEXT(r) \
	"ifnull(" r ".uri, '')" V7_TEXT_IF_NEW(r, "user") V7_TEXT_IF_NEW(r, "display") \
		V7_TEXT_IF_NEW(r, "pai")
#define V7_ADD(r) \
	"INSERT INTO party_text (rowid, t) VALUES (" r ".call_row * 2 + " r ".role, " V7_TEXT(r) ");"
#define V7_DEL(r) \
	"INSERT INTO party_text (party_text, rowid, t) VALUES ('delete', " r ".call_row * 2 + " r \
	".role, " V7_TEXT(r) ");"
static const char v7_sql[] =
	"CREATE VIRTUAL TABLE party_text USING fts5("
	"  t, tokenize = 'trigram case_sensitive 0', content = '', columnsize = 0"
	");"
	"INSERT INTO party_text (rowid, t)"
	" SELECT call_row * 2 + role, " V7_TEXT("parties") " FROM parties;"
	"CREATE TRIGGER parties_text_insert AFTER INSERT ON parties BEGIN " V7_ADD("NEW") " END;"
	"CREATE TRIGGER parties_text_delete AFTER DELETE ON parties BEGIN " V7_DEL("OLD") " END;"
	"CREATE TRIGGER parties_text_update AFTER UPDATE OF call_row, role, uri, user, display, pai"
	" ON parties BEGIN " V7_DEL("OLD") V7_ADD("NEW") " END;";
/* PostgreSQL: a pg_trgm GIN index per field, which serves ILIKE '%x%'
 * directly (query.c, PARTY_PG); no shadow table, no triggers. */
static const char v7_pg_sql[] =
	"CREATE INDEX parties_uri_trgm ON parties USING gin (uri gin_trgm_ops);"
	"CREATE INDEX parties_user_trgm ON parties USING gin (\"user\" gin_trgm_ops);"
	"CREATE INDEX parties_display_trgm ON parties USING gin (display gin_trgm_ops);"
	"CREATE INDEX parties_pai_trgm ON parties USING gin (pai gin_trgm_ops);";

/* Version 8: tokens that expire and say when and why they were revoked
 * (api/auth_tokens.c; issue #13, finding 5).  A password change, reset or
 * disable now revokes the user's tokens; tokens of users disabled before
 * this version would come back with an enable, so they are revoked here. */
static const char v8_sql[] =
	"ALTER TABLE api_tokens ADD COLUMN expires_us INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE api_tokens ADD COLUMN revoked_us INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE api_tokens ADD COLUMN revoked_why TEXT;"
	"UPDATE api_tokens SET revoked = 1, revoked_why = 'user disabled'"
	" WHERE revoked = 0 AND user_id IN (SELECT id FROM users WHERE disabled <> 0);";

/* Version 9: retention and legal hold (policy/retention.c, issue #15).  A
 * recording's policy, its minimum keep time (keep_until_us: nothing deletes
 * it earlier, not even the quota) and when it expires (retain_until_us, 0 =
 * never); NULL policy: not yet assigned.  Holds are named; a hold names its
 * calls (hold_calls) and the recording id it covered, so the ledger's hold
 * leaves can be matched.  A released hold stays, with who, when and why. */
static const char v9_sql[] =
	"ALTER TABLE recordings ADD COLUMN retention TEXT;"
	"ALTER TABLE recordings ADD COLUMN keep_until_us INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE recordings ADD COLUMN retain_until_us INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX recordings_retain ON recordings(retain_until_us) WHERE retain_until_us > 0;"
	"CREATE TABLE holds ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  reason TEXT NOT NULL,"
	"  query TEXT,"
	"  created_us INTEGER NOT NULL DEFAULT 0,"
	"  created_by TEXT NOT NULL DEFAULT '-',"
	"  released_us INTEGER NOT NULL DEFAULT 0,"
	"  released_by TEXT,"
	"  release_reason TEXT"
	");"
	"CREATE TABLE hold_calls ("
	"  hold_id INTEGER NOT NULL REFERENCES holds(id),"
	"  call_row INTEGER NOT NULL,"
	"  path TEXT,"
	"  PRIMARY KEY (hold_id, call_row)"
	") WITHOUT ROWID;"
	"CREATE INDEX hold_calls_call ON hold_calls(call_row);";

/* Consent per party (policy/consent.c, issue #15): each party's state
 * ("given", "refused", "announced", "missing", "not_required"; NULL: the
 * call's rule asked for no consent) and the evidence as JSON (source, time,
 * value of each party's deciding event, the agent, what was kept).  The
 * calls' consent events themselves are ordinary events. */
static const char v10_consent_sql[] =
	"ALTER TABLE calls ADD COLUMN consent_caller TEXT;"
	"ALTER TABLE calls ADD COLUMN consent_callee TEXT;"
	"ALTER TABLE calls ADD COLUMN consent_json TEXT;"
	"CREATE INDEX calls_consent ON calls(consent_caller, consent_callee)"
	" WHERE consent_caller IS NOT NULL;";

/* Version 10: redactions (record/redact.c, issue #15).  A redaction makes a
 * new recording that replaces the call's row in recordings (so playback,
 * peaks, export and evidence use it for everyone); the original's row
 * moves here, with the span (microseconds from the recording's start),
 * the channel, the fill, why and who, its ledger leaf and the redact
 * leaf, and whether it was kept for the restricted roles or shredded.
 * Several redactions of one call chain: each one's original is the
 * recording the previous one made (n = 1, 2, ...). */
static const char v10_redactions_sql[] =
	"CREATE TABLE redactions ("
	"  id INTEGER PRIMARY KEY,"
	"  call_row INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,"
	"  n INTEGER NOT NULL,"
	"  from_us INTEGER NOT NULL,"
	"  to_us INTEGER NOT NULL CHECK (to_us > from_us),"
	"  channel TEXT NOT NULL CHECK (channel IN ('caller', 'callee', 'both')),"
	"  fill TEXT NOT NULL CHECK (fill IN ('silence', 'tone')),"
	"  reason TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),"
	"  author TEXT NOT NULL,"  /* who asked ("by" is reserved in PostgreSQL) */
	"  created_us INTEGER NOT NULL,"
	"  path TEXT NOT NULL UNIQUE,"
	"  leaf INTEGER NOT NULL,"
	"  original_path TEXT NOT NULL UNIQUE,"
	"  original_sha256 TEXT NOT NULL,"
	"  original_plain_sha256 TEXT,"
	"  original_encrypted INTEGER NOT NULL,"
	"  original_format TEXT NOT NULL,"
	"  original_leaf INTEGER NOT NULL,"
	"  original_state TEXT NOT NULL CHECK (original_state IN ('restricted', 'shredded')),"
	"  UNIQUE (call_row, n)"
	");";

/* IDX_MIG_SUBJECT (issue #15): the recorder's clock state per
 * call (MiFID II RTS 25 traceability: synchronised, error, source; a JSON
 * object written by record/, NULL before this version).  Erased parties
 * need no column: the call carries the flag "erased" (index/subject.c). */
static const char v10_sql[] = "ALTER TABLE calls ADD COLUMN clock TEXT;";

/* Version 10: network quality (analytics/quality.h, docs/QUALITY.md, issue
 * #17).  Each stream keeps its figures and 5 s series as JSON; the call
 * keeps the summary it is searched and sorted by (NULL: no audio stream
 * had packets, or the call predates v10). */
static const char v10_quality_sql[] =
	"ALTER TABLE streams ADD COLUMN quality_json TEXT;"
	"ALTER TABLE calls ADD COLUMN mos REAL;"
	"ALTER TABLE calls ADD COLUMN mos_min REAL;"
	"ALTER TABLE calls ADD COLUMN loss_pct REAL;"
	"ALTER TABLE calls ADD COLUMN jitter_ms REAL;"
	"CREATE INDEX calls_mos ON calls(mos) WHERE mos IS NOT NULL;";

/* IDX_MIG_TALK (issue #19): talk metrics per call (analytics/talk.h,
 * docs/ANALYTICS.md), entered after the recording is rendered.  talk_json
 * holds every figure and both channels' speech segments; the columns are
 * what calls are searched by (talk_ratio NULL: nobody spoke). */
static const char v14_talk_sql[] =
	"ALTER TABLE calls ADD COLUMN talk_json TEXT;"
	"ALTER TABLE calls ADD COLUMN talk_ratio REAL;"
	"ALTER TABLE calls ADD COLUMN overtalk_ms INTEGER;"
	"ALTER TABLE calls ADD COLUMN dead_air_ms INTEGER;";

/* IDX_MIG_SEARCHES (issues #17/#18): searches a user saved in the web UI
 * (api/handlers_searches.c), by name per user; the query is the call
 * list's URL parameters.  They go with their user. */
static const char v15_searches_sql[] =
	"CREATE TABLE saved_searches ("
	"  id INTEGER PRIMARY KEY,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  query TEXT NOT NULL,"
	"  created_us INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE (user_id, name)"
	");";
/* IDX_MIG_CHECKS (issue #17): the audio checks of the decoded recording
 * (analytics/audiocheck.h, docs/ANALYTICS.md), entered after it is
 * rendered; their flags are searched in the recording's flags. */
static const char v16_checks_sql[] = "ALTER TABLE calls ADD COLUMN checks_json TEXT;";
/* IDX_MIG_NODES (issue #16): many recorder and web nodes on one index.
 * Each call keeps the node that recorded it (NULL: before this version, or
 * a single node that set none), so each node's ledger is checked against
 * its own calls.  nodes has one row per recorder: its ledger's newest
 * signed head (the published line, key included) and where that ledger
 * lives, and the calls it has in progress (active.tsv's text, rewritten
 * about every second: active_us is the heartbeat, so a dead recorder's
 * calls expire). */
static const char v17_nodes_sql[] =
	"ALTER TABLE calls ADD COLUMN node TEXT;"
	"CREATE INDEX calls_node ON calls(node) WHERE node IS NOT NULL;"
	"CREATE TABLE nodes ("
	"  name TEXT PRIMARY KEY,"
	"  ledger TEXT,"
	"  head TEXT,"
	"  head_size INTEGER NOT NULL DEFAULT 0,"
	"  head_us INTEGER NOT NULL DEFAULT 0,"
	"  active TEXT,"
	"  active_us INTEGER NOT NULL DEFAULT 0"
	");";
/* IDX_MIG_TRANSCRIPT (issue #19): the transcription queue (one job per
 * call and channel: restart resumes, failures retry with backoff) and the
 * searchable text of each channel's transcript.  The words with their times
 * and confidences are stored encrypted beside the recording
 * (record/transcript.c); the index keeps the text and each word's start in
 * ms ("times", a comma list in word order) so that a hit has a time.  The
 * text search is SQLite's FTS5 (external content, unicode61 without
 * diacritics); PostgreSQL gets the tables without it (pg_own). */
#define TR_TABLES(ID, INT) \
	"CREATE TABLE transcribe_jobs (" \
	"  id " ID "," \
	"  call_row " INT " NOT NULL REFERENCES calls(id) ON DELETE CASCADE," \
	"  channel " INT " NOT NULL," \
	"  state TEXT NOT NULL," \
	"  attempts " INT " NOT NULL DEFAULT 0," \
	"  next_us " INT " NOT NULL DEFAULT 0," \
	"  error TEXT," \
	"  created_us " INT " NOT NULL DEFAULT 0," \
	"  updated_us " INT " NOT NULL DEFAULT 0," \
	"  UNIQUE (call_row, channel)" \
	");" \
	"CREATE INDEX transcribe_jobs_next ON transcribe_jobs(state, next_us);" \
	"CREATE TABLE transcripts (" \
	"  id " ID "," \
	"  call_row " INT " NOT NULL REFERENCES calls(id) ON DELETE CASCADE," \
	"  channel " INT " NOT NULL," \
	"  engine TEXT," \
	"  words " INT " NOT NULL DEFAULT 0," \
	"  times TEXT NOT NULL DEFAULT ''," \
	"  text TEXT NOT NULL DEFAULT ''," \
	"  created_us " INT " NOT NULL DEFAULT 0," \
	"  UNIQUE (call_row, channel)" \
	");"
static const char v18_transcript_sql[] =
	TR_TABLES("INTEGER PRIMARY KEY", "INTEGER")
	"CREATE VIRTUAL TABLE transcript_text USING fts5("
	"  text, content = 'transcripts', content_rowid = 'id',"
	"  tokenize = 'unicode61 remove_diacritics 2'"
	");"
	"CREATE TRIGGER transcripts_ai AFTER INSERT ON transcripts BEGIN"
	"  INSERT INTO transcript_text (rowid, text) VALUES (NEW.id, NEW.text); END;"
	"CREATE TRIGGER transcripts_ad AFTER DELETE ON transcripts BEGIN"
	"  INSERT INTO transcript_text (transcript_text, rowid, text)"
	"  VALUES ('delete', OLD.id, OLD.text); END;"
	"CREATE TRIGGER transcripts_au AFTER UPDATE ON transcripts BEGIN"
	"  INSERT INTO transcript_text (transcript_text, rowid, text)"
	"  VALUES ('delete', OLD.id, OLD.text);"
	"  INSERT INTO transcript_text (rowid, text) VALUES (NEW.id, NEW.text); END;";
static const char v18_transcript_pg_sql[] =
	TR_TABLES("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "BIGINT");
/* IDX_MIG_SPEECH (issue #19): what the text analyses found in a call's
 * transcripts (analytics/textan.h, record/transcript.c): the call's mean
 * sentiment (searched) and every finding as JSON (shown), and one row per
 * keyword hit or missing required list (missing = 1, no times) so that a
 * search by category, list or phrase is a plain index lookup. */
static const char v20_speech_sql[] =
	"ALTER TABLE calls ADD COLUMN sentiment REAL;"
	"ALTER TABLE calls ADD COLUMN speech_json TEXT;"
	"CREATE TABLE keyword_hits ("
	"  id INTEGER PRIMARY KEY,"
	"  call_row INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,"
	"  channel INTEGER NOT NULL,"
	"  list TEXT NOT NULL,"
	"  category TEXT NOT NULL,"
	"  phrase TEXT,"
	"  start_ms INTEGER NOT NULL DEFAULT -1,"
	"  end_ms INTEGER NOT NULL DEFAULT -1,"
	"  missing INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX keyword_hits_call ON keyword_hits(call_row);"
	"CREATE INDEX keyword_hits_category ON keyword_hits(category);";

/* IDX_MIG_QA (issue #18): teams of agents and their supervisors, a user's
 * own scope ("teams": a supervisor acts only on the calls of their teams'
 * agents; none: the server's [api] supervisor_scope), and QA evaluation
 * forms, each edit a new version (an evaluation keeps the version it was
 * scored with), the evaluations of calls and their answers (one row per
 * question: the report's lowest items are an aggregate over them). */
static const char v19_qa_sql[] =
	"CREATE TABLE teams ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL COLLATE NOCASE UNIQUE,"
	"  created_us INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE TABLE team_members ("
	"  team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  kind TEXT NOT NULL CHECK (kind IN ('agent', 'supervisor')),"
	"  PRIMARY KEY (team_id, user_id, kind)"
	");"
	"CREATE INDEX team_members_user ON team_members(user_id, kind);"
	"CREATE TABLE user_scopes ("
	"  user_id INTEGER NOT NULL PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"
	"  scope TEXT NOT NULL CHECK (scope IN ('all', 'teams'))"
	");"
	"CREATE TABLE qa_forms ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  body TEXT NOT NULL,"
	"  created_us INTEGER NOT NULL DEFAULT 0,"
	"  created_by TEXT NOT NULL DEFAULT '',"
	"  retired INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE (name, version)"
	");"
	"CREATE TABLE qa_evaluations ("
	"  id INTEGER PRIMARY KEY,"
	"  call_row INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,"
	"  form_id INTEGER NOT NULL REFERENCES qa_forms(id),"
	"  evaluator TEXT NOT NULL,"
	"  agent TEXT NOT NULL DEFAULT '',"
	"  score REAL NOT NULL,"
	"  fatal INTEGER NOT NULL DEFAULT 0,"
	"  comment TEXT NOT NULL DEFAULT '',"
	"  created_us INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX qa_evaluations_call ON qa_evaluations(call_row);"
	"CREATE INDEX qa_evaluations_time ON qa_evaluations(created_us);"
	"CREATE TABLE qa_answers ("
	"  evaluation_id INTEGER NOT NULL REFERENCES qa_evaluations(id) ON DELETE CASCADE,"
	"  question TEXT NOT NULL,"
	"  answer TEXT NOT NULL,"
	"  earned REAL NOT NULL,"
	"  possible REAL NOT NULL,"
	"  PRIMARY KEY (evaluation_id, question)"
	");";

/* Party search text per call (IDX_MIG_PARTY_TEXT): on PostgreSQL the
 * four party fields of both parties in one column of calls, kept by a
 * trigger on parties, under one pg_trgm GIN index.  The per-field indexes
 * of v7 left the planner two poor plans for a short needle at 200,000
 * calls (walk the calls by time probing four ILIKEs on each call's parties,
 * or BitmapOr the four indexes and join): p95 471 ms against SQLite's 36
 * (docs/PERFORMANCE.md).  With the text on the call row the walk costs one
 * ILIKE on a row it reads anyway, a rare needle is one bitmap scan, and
 * the column's statistics let the planner choose between them (query.c
 * keeps the exact per-field LIKE, so the rows are SQLite's).  SQLite keeps
 * its FTS5 table of v7: nothing to do there. */
static const char v21_party_text_sql[] = "";
/* The text of call id r: each party's fields on lines of their own, caller
 * first. */
#define V21_PARTY_TEXT_OF(r) \
	"(SELECT string_agg(concat_ws(E'\\n', p.uri, p.\"user\", p.display, p.pai)," \
	" E'\\n' ORDER BY p.role) FROM parties p WHERE p.call_row = " r ")"
/* Statement triggers with transition tables: a call's parties arrive in
 * one INSERT (write.c), so a call costs one UPDATE of its row, and a bulk
 * copy one UPDATE over all its calls; a row whose text is already right
 * (copied with its call) is not written again.  EXECUTE plans each time:
 * PL/pgSQL would keep the first plan, and one made for a bulk copy's
 * thousands of rows (a scan of calls) is the wrong one for a call's two. */
#define V21_SET_TEXT(ids) \
	"EXECUTE $q$UPDATE calls c SET party_text = " V21_PARTY_TEXT_OF("c.id") \
	" WHERE c.id IN (" ids ") AND c.party_text IS DISTINCT FROM " V21_PARTY_TEXT_OF("c.id") \
	"$q$;"
static const char v21_party_text_pg_sql[] =
	"ALTER TABLE calls ADD COLUMN party_text TEXT;"
	"CREATE FUNCTION earshot_parties_text() RETURNS trigger LANGUAGE plpgsql AS $$"
	" BEGIN"
	"  IF TG_OP = 'INSERT' THEN " V21_SET_TEXT("SELECT call_row FROM nt")
	"  ELSIF TG_OP = 'DELETE' THEN " V21_SET_TEXT("SELECT call_row FROM ot")
	"  ELSE " V21_SET_TEXT("SELECT call_row FROM nt UNION SELECT call_row FROM ot")
	"  END IF;"
	"  RETURN NULL;"
	" END $$;"
	"CREATE TRIGGER parties_text_insert AFTER INSERT ON parties REFERENCING NEW TABLE AS nt"
	" FOR EACH STATEMENT EXECUTE FUNCTION earshot_parties_text();"
	"CREATE TRIGGER parties_text_delete AFTER DELETE ON parties REFERENCING OLD TABLE AS ot"
	" FOR EACH STATEMENT EXECUTE FUNCTION earshot_parties_text();"
	"CREATE TRIGGER parties_text_update AFTER UPDATE ON parties"
	" REFERENCING NEW TABLE AS nt OLD TABLE AS ot"
	" FOR EACH STATEMENT EXECUTE FUNCTION earshot_parties_text();"
	"UPDATE calls c SET party_text = " V21_PARTY_TEXT_OF("c.id") ";"
	"CREATE INDEX calls_party_trgm ON calls USING gin (party_text gin_trgm_ops);"
	/* the LIKE estimate tests the pattern on the histogram: a finer one
	 * tells a 1-in-1000 needle from a 1-in-50 one */
	"ALTER TABLE calls ALTER COLUMN party_text SET STATISTICS 1000;"
	/* v7's per-field indexes: no query uses them now, and every write
	 * paid for four */
	"DROP INDEX parties_uri_trgm; DROP INDEX parties_user_trgm;"
	"DROP INDEX parties_display_trgm; DROP INDEX parties_pai_trgm;";
/* IDX_MIG_MFA (issue #18): a second factor per user (RFC 6238 TOTP).  The
 * secret is kept sealed by the data folder's KEK (store/vault.h, the user's
 * id as associated data), never in the clear; enabled once the user has
 * typed one right code.  last_step is the newest time step accepted, so a
 * code is not taken twice (RFC 6238 5.2).  Recovery codes are kept as their
 * SHA-256, used_us marking the one use each has.  login_pending holds the
 * first step of a two-step sign-in (the password was right, the code is
 * still owed): the SHA-256 of its token, for a few minutes. */
static const char v22_mfa_sql[] =
	"CREATE TABLE user_totp ("
	"  user_id INTEGER NOT NULL PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"
	"  sealed TEXT NOT NULL,"
	"  enabled INTEGER NOT NULL DEFAULT 0,"
	"  last_step INTEGER NOT NULL DEFAULT 0,"
	"  created_us INTEGER NOT NULL DEFAULT 0,"
	"  enabled_us INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE TABLE user_recovery ("
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  code_hash TEXT NOT NULL,"
	"  used_us INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (user_id, code_hash)"
	");"
	"CREATE TABLE login_pending ("
	"  id_hash TEXT PRIMARY KEY,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  expires_us INTEGER NOT NULL DEFAULT 0,"
	"  remote TEXT"
	");"
	"CREATE INDEX login_pending_user ON login_pending(user_id);";

/* IDX_MIG_BOOKMARKS (issue #18): time-stamped bookmarks (a point, or a
 * span with end_ms) and comments on a call's recording, and clips (a span
 * of it, shared as a link that is checked against the viewer's roles on
 * every use: a clip is no bearer capability).  Both go with their call
 * (ON DELETE CASCADE) and are deleted with its recording (record/delete.c)
 * and by a data-subject erasure (subject.c): a comment may name a party. */
static const char v23_bookmarks_sql[] =
	"CREATE TABLE call_bookmarks ("
	"  id INTEGER PRIMARY KEY,"
	"  call_row INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,"
	"  user TEXT NOT NULL,"
	"  at_ms INTEGER NOT NULL CHECK (at_ms >= 0),"
	"  end_ms INTEGER CHECK (end_ms IS NULL OR end_ms > at_ms),"
	"  text TEXT NOT NULL,"
	"  created_us INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX call_bookmarks_call ON call_bookmarks(call_row, at_ms);"
	"CREATE TABLE call_clips ("
	"  id INTEGER PRIMARY KEY,"
	"  call_row INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,"
	"  creator TEXT NOT NULL,"
	"  start_ms INTEGER NOT NULL CHECK (start_ms >= 0),"
	"  end_ms INTEGER NOT NULL CHECK (end_ms > start_ms),"
	"  title TEXT NOT NULL DEFAULT '',"
	"  created_us INTEGER NOT NULL DEFAULT 0,"
	"  expires_us INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX call_clips_call ON call_clips(call_row);";
/* IDX_MIG_TR_CLAIM (issue #19): the worker that claimed a job ("host:pid"),
 * so that a starting worker requeues the running jobs of workers that are
 * gone and not those of a worker still at them (record/transcript.c). */
static const char v24_tr_claim_sql[] = "ALTER TABLE transcribe_jobs ADD COLUMN claimed_by TEXT;";
/* IDX_MIG_SHARED_KEYS (issue #16): any web node plays any recording.  Each
 * recording's data key in its wrapped form (st_dek_wrap's text, bound to the
 * path by the wrap's associated data; never a plaintext key), keyed by the
 * path the vault names it by: written before the recording's row exists, so
 * no foreign key.  Shredding deletes the row.  nodes.blobs is a recorder's
 * bucket (blobs.conf's lines without credentials: record/tier.c). */
static const char v27_shared_keys_sql[] =
	"CREATE TABLE rec_keys ("
	"  path TEXT PRIMARY KEY,"
	"  wrapped TEXT NOT NULL,"
	"  node TEXT,"
	"  created_us INTEGER NOT NULL DEFAULT 0"
	");"
	"ALTER TABLE nodes ADD COLUMN blobs TEXT;";

/* IDX_MIG_TR_BLIND (issues #19, #16): the transcripts' search index made
 * blind (index/trblind.c): the plain text and word times go, and so does
 * the plain FTS5 table; the new one holds keyed tokens (with their content,
 * hashes only: SQLite 3.40's FTS5 deletes an entry only given its tokens),
 * rowid = transcripts.fts_key, which follows the call's start so that a
 * search reads newest first.  PostgreSQL gets a GIN-indexed tsvector of the
 * same tokens.  Rows from before have no fts_key until `earshot transcribe
 * reindex` enters them again from the sealed words files.  Keyword hits'
 * phrases go (new ones are stored as tokens).  secure_delete zeroes the
 * pages the plain text leaves, so that it is not in the file's free pages. */
static const char tr_blind_sql[] =
	"PRAGMA secure_delete = ON;"
	"DROP TRIGGER transcripts_ai; DROP TRIGGER transcripts_ad; DROP TRIGGER transcripts_au;"
	"DROP TABLE transcript_text;"
	"ALTER TABLE transcripts DROP COLUMN text;"
	"ALTER TABLE transcripts DROP COLUMN times;"
	"ALTER TABLE transcripts ADD COLUMN fts_key INTEGER;"
	"CREATE UNIQUE INDEX transcripts_fts_key ON transcripts(fts_key);"
	"CREATE VIRTUAL TABLE transcript_text USING fts5(tokens, tokenize = 'ascii');"
	"CREATE TRIGGER transcripts_ad AFTER DELETE ON transcripts BEGIN"
	"  DELETE FROM transcript_text WHERE rowid = OLD.fts_key; END;"
	"UPDATE keyword_hits SET phrase = NULL WHERE phrase IS NOT NULL;"
	"CREATE TABLE tr_search_key (id INTEGER PRIMARY KEY CHECK (id = 1), wrapped TEXT NOT NULL);";
static const char tr_blind_pg_sql[] =
	"ALTER TABLE transcripts DROP COLUMN text;"
	"ALTER TABLE transcripts DROP COLUMN times;"
	"ALTER TABLE transcripts ADD COLUMN fts_key BIGINT;"
	"ALTER TABLE transcripts ADD COLUMN tsv tsvector;"
	"CREATE UNIQUE INDEX transcripts_fts_key ON transcripts(fts_key);"
	"CREATE INDEX transcripts_tsv ON transcripts USING gin (tsv);"
	"UPDATE keyword_hits SET phrase = NULL WHERE phrase IS NOT NULL;"
	"CREATE TABLE tr_search_key (id BIGINT PRIMARY KEY CHECK (id = 1), wrapped TEXT NOT NULL);";
/* IDX_MIG_TR_COMPACT (issue #19): the blind index's FTS5 table kept a
 * second full copy of every transcript's tokens (its content table: 90 % of
 * the index's size, 12 KB a transcript of 300 words) only because SQLite
 * 3.40's FTS5 deletes an entry when given its tokens.  It needs each of
 * the entry's distinct tokens once, not their order or count (a delete
 * marks (token, rowid); measured: an index whose entries were deleted so
 * has the same instances as one never given them), so the table is now
 * contentless and each transcript keeps its distinct tokens as ids into
 * tr_vocab, which holds each token once (tokens the FTS5 index holds
 * anyway): ~0.8 KB a transcript.  The triggers hand FTS5 the tokens back
 * on a delete and when a reindex moves the entry (fts_key changes).  The
 * step rebuilds the table from the old copy (hashes, no key needed).  The
 * token counts FTS5 keeps for ranking drift by the repeats of deleted
 * entries; no search ranks (lists are in call order).  tr_vocab is not
 * pruned: a deleted transcript's token hashes stay there, tied to no call. */
#define TR_COMPACT_DELETE \
	"  INSERT INTO transcript_text (transcript_text, rowid, tokens)" \
	"  SELECT 'delete', OLD.fts_key, group_concat(v.token, ' ')" \
	"  FROM json_each(ifnull(OLD.fts_ids, '[]')) j JOIN tr_vocab v ON v.id = j.value; END;"
static const char tr_compact_sql[] =
	"CREATE TABLE tr_vocab (id INTEGER PRIMARY KEY, token TEXT NOT NULL UNIQUE);"
	"ALTER TABLE transcripts ADD COLUMN fts_ids TEXT;"
	"INSERT OR IGNORE INTO tr_vocab (token) SELECT j.value FROM transcript_text_content c, "
	IDX_TR_SPLIT_SQL("c.c0") " j WHERE j.value <> '';"
	"UPDATE transcripts SET fts_ids = (SELECT json_group_array(DISTINCT v.id)"
	" FROM transcript_text_content c, " IDX_TR_SPLIT_SQL("c.c0") " j"
	" JOIN tr_vocab v ON v.token = j.value WHERE c.id = transcripts.fts_key)"
	" WHERE fts_key IS NOT NULL;"
	"DROP TRIGGER transcripts_ad;"
	"CREATE VIRTUAL TABLE transcript_text_new USING fts5(tokens, tokenize = 'ascii', content = '');"
	"INSERT INTO transcript_text_new (rowid, tokens) SELECT id, c0 FROM transcript_text_content;"
	"DROP TABLE transcript_text;"
	"ALTER TABLE transcript_text_new RENAME TO transcript_text;"
	"CREATE TRIGGER transcripts_ad AFTER DELETE ON transcripts WHEN OLD.fts_key IS NOT NULL BEGIN"
	TR_COMPACT_DELETE
	"CREATE TRIGGER transcripts_au AFTER UPDATE OF fts_key ON transcripts"
	" WHEN OLD.fts_key IS NOT NULL BEGIN" TR_COMPACT_DELETE;
/* PostgreSQL's tsvector has no second copy: the table and column only so
 * that `earshot migrate` (index/migrate.c) finds SQLite's tables there. */
static const char tr_compact_pg_sql[] =
	"CREATE TABLE tr_vocab (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	" token TEXT NOT NULL UNIQUE);"
	"ALTER TABLE transcripts ADD COLUMN fts_ids TEXT;";

/* IDX_MIG_SEARCH_FAST (issue #16): what the searches without a party
 * needed at 1,000,000 calls (docs/PERFORMANCE.md).  A tag search read every
 * call of its time range and probed its tags (a month: ~160,000 calls for
 * a page of 50); each tag row now carries its call's start (calls are
 * never moved in time: write.c inserts a call once), so (tag, start_us,
 * call_row) holds a tag's calls in list order and a page reads as many
 * entries as it shows.  The trigger fills the start on every insert, so
 * tags.c writes as before; the old (tag, call_row) index is a prefix of the
 * new one.  A long-duration search read the range too: on PostgreSQL an
 * index on the answered duration lets the planner take the few long calls
 * directly (it chooses by the statistics, a short minimum still walks). */
static const char v26_search_fast_sql[] =
	"ALTER TABLE call_tags ADD COLUMN start_us INTEGER NOT NULL DEFAULT 0;"
	"UPDATE call_tags SET start_us ="
	" ifnull((SELECT c.start_us FROM calls c WHERE c.id = call_tags.call_row), 0);"
	"CREATE TRIGGER call_tags_start AFTER INSERT ON call_tags BEGIN"
	" UPDATE call_tags SET start_us ="
	" ifnull((SELECT c.start_us FROM calls c WHERE c.id = NEW.call_row), 0)"
	" WHERE rowid = NEW.rowid; END;"
	"DROP INDEX call_tags_tag;"
	"CREATE INDEX call_tags_time ON call_tags(tag, start_us, call_row);";
/* PostgreSQL: the same with a row trigger before the insert, the duration
 * index (SQLite's planner, without statistics, never chooses it: left out
 * there), and fresh statistics: the expression index has none until
 * ANALYZE.  Not a partial index (WHERE answer_us <> 0): the planner takes
 * no statistics from a partial index's expression and guessed 236,000
 * calls of 1,000,000 for a 30-minute minimum that 5,000 meet, so it
 * walked a week of calls for none; query.c writes the duration as this
 * same CASE. */
static const char v26_search_fast_pg_sql[] =
	"ALTER TABLE call_tags ADD COLUMN start_us BIGINT NOT NULL DEFAULT 0;"
	"UPDATE call_tags t SET start_us = c.start_us FROM calls c WHERE c.id = t.call_row;"
	"CREATE FUNCTION earshot_call_tags_start() RETURNS trigger LANGUAGE plpgsql AS $$"
	" BEGIN"
	"  NEW.start_us := coalesce((SELECT c.start_us FROM calls c WHERE c.id = NEW.call_row), 0);"
	"  RETURN NEW;"
	" END $$;"
	"CREATE TRIGGER call_tags_start BEFORE INSERT ON call_tags"
	" FOR EACH ROW EXECUTE FUNCTION earshot_call_tags_start();"
	"DROP INDEX call_tags_tag;"
	"CREATE INDEX call_tags_time ON call_tags(tag, start_us, call_row);"
	"CREATE INDEX calls_duration ON calls"
	" ((CASE WHEN answer_us <> 0 THEN end_us - answer_us END), start_us);"
	/* the party walk's index: its tuples carry the text (query.c) */
	"CREATE INDEX calls_start_party ON calls(start_us, id) INCLUDE (party_text);"
	"ANALYZE calls; ANALYZE call_tags;";

const struct idx_migration idx_migrations[] = {
	{"calls, parties, streams, events, sip messages, imports", v1_sql},
	{"recordings", v2_sql},
	{"recording rule per call", v3_sql},
	{"encrypted recordings", v4_sql},
	{"users, api tokens, sessions, audit log", v5_sql},
	{"call tags and notes", v6_sql},
	{"party search index (needs SQLite with FTS5 and its trigram tokenizer, 3.34+)", v7_sql},
	{"api tokens: expiry, when and why revoked", v8_sql},
	{"retention per recording, legal holds", v9_sql},
	{IDX_MIGRATION_CONSENT, v10_consent_sql},
	{IDX_REDACTIONS_MIGRATION, v10_redactions_sql},
	{IDX_MIG_SUBJECT, v10_sql},
	{"network quality per stream and call", v10_quality_sql},
	{IDX_MIG_TALK, v14_talk_sql},
	{IDX_MIG_SEARCHES, v15_searches_sql},
	{IDX_MIG_CHECKS, v16_checks_sql},
	{IDX_MIG_NODES, v17_nodes_sql},
	{IDX_MIG_TRANSCRIPT, v18_transcript_sql},
	{IDX_MIG_QA, v19_qa_sql},
	{IDX_MIG_SPEECH, v20_speech_sql},
	{IDX_MIG_PARTY_TEXT, v21_party_text_sql},
	{IDX_MIG_MFA, v22_mfa_sql},
	{IDX_MIG_BOOKMARKS, v23_bookmarks_sql},
	{IDX_MIG_TR_CLAIM, v24_tr_claim_sql},
	{IDX_MIG_TR_BLIND, tr_blind_sql},
	{IDX_MIG_SEARCH_FAST, v26_search_fast_sql},
	{IDX_MIG_SHARED_KEYS, v27_shared_keys_sql},
	{IDX_MIG_TR_COMPACT, tr_compact_sql},
};
const unsigned idx_nmigrations = ES_ARRAY_LEN(idx_migrations);

/* PostgreSQL's own SQL for the steps no rewrite serves, by the step's name
 * (kept apart from idx_migrations so that a new step stays one line; by name
 * because branches append steps independently and are ordered at merge). */
static const struct {
	const char *name, *sql;
} pg_own[] = {
	{"party search index (needs SQLite with FTS5 and its trigram tokenizer, 3.34+)", v7_pg_sql},
	{IDX_MIG_TRANSCRIPT, v18_transcript_pg_sql},
	{IDX_MIG_PARTY_TEXT, v21_party_text_pg_sql},
	{IDX_MIG_TR_BLIND, tr_blind_pg_sql},
	{IDX_MIG_SEARCH_FAST, v26_search_fast_pg_sql},
	{IDX_MIG_TR_COMPACT, tr_compact_pg_sql},
};

const char *idx_migration_pg_sql(unsigned step)
{
	if (step >= idx_nmigrations)
		return NULL;
	for (size_t i = 0; i < ES_ARRAY_LEN(pg_own); i++)
		if (!strcmp(pg_own[i].name, idx_migrations[step].name))
			return pg_own[i].sql;
	return NULL;
}
