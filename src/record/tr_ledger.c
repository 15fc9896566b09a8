/*
 * tr_ledger.c - transcripts in the integrity ledger (record.h): the tr leaf
 * of a stored transcript (the SHA-256 of its sealed words file, of their
 * plaintext and of its index row), the queue of leaves waiting for the
 * ledger's one writer (DATA/ledger/pending/), that writer's drain of it,
 * the catch-up at open of transcripts without a leaf, and the transcript
 * tombstones of a deletion.
 *
 * Why a queue: the ledger has one writer (a flock), normally the running
 * recorder, while transcripts are made by a worker that may be another
 * process (`transcribe run`, `serve`) or another thread of the recorder.
 * The worker computes the leaf when it seals the words and leaves it here
 * before its index commit; whoever holds the lock appends it once the index
 * row is there and still hashes to it.  Until then verify and the API call
 * the transcript "not yet sealed", not a failure.
 */
#include "record/record.h"
#include "store/crypt.h"
#include "store/ledger.h"
#include "store/vault.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TAG "ledger"
#define PENDING_MAX_FILES 4096           /* entries drained per pass */
#define PENDING_STALE_US (3600 * ES_US_PER_SEC) /* a leaf whose row never came */

static const char *const party[] = {"caller", "callee"};

static int64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * ES_US_PER_SEC + ts.tv_nsec / 1000;
}

/* ---- the leaf ------------------------------------------------------------------- */

void rec_tr_row_hash(const char *rec_path, const struct idx_transcript *t, uint8_t out[32])
{
	/* version 2: fixed order, one field a line.  The index keeps no
	 * words since the blind search index (IDX_MIG_TR_BLIND): they are
	 * covered by the leaf's sealed= and plain= hashes of the words file,
	 * and the row by what it still holds (version 1 also hashed the text
	 * and times columns, which no longer exist) */
	crypto_hash_sha256_state st;
	char head[160];
	crypto_hash_sha256_init(&st);
	static const char magic[] = "earshot-transcript-row-v2\n";
	crypto_hash_sha256_update(&st, (const uint8_t *)magic, sizeof(magic) - 1);
	crypto_hash_sha256_update(&st, (const uint8_t *)rec_path, strlen(rec_path));
	const char *engine = t->engine ? t->engine : "";
	int n = snprintf(head, sizeof(head), "\n%d\n", t->channel);
	crypto_hash_sha256_update(&st, (const uint8_t *)head, (size_t)n);
	crypto_hash_sha256_update(&st, (const uint8_t *)engine, strlen(engine));
	n = snprintf(head, sizeof(head), "\n%" PRId64 "\n%" PRId64 "\n", t->words, t->created_us);
	crypto_hash_sha256_update(&st, (const uint8_t *)head, (size_t)n);
	crypto_hash_sha256_final(&st, out);
}

/* An engine name in the ledger's alphabet: anything else becomes '-'. */
static void engine_name(const char *engine, char *out, size_t cap)
{
	size_t n = 0;
	for (const char *p = engine ? engine : ""; *p && n + 1 < cap && n < ST_LEDGER_REASON_MAX;
	     p++) {
		char c = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
			  c == '-';
		out[n++] = ok ? c : '-';
	}
	if (!n)
		out[n++] = '-';
	out[n] = '\0';
}

int rec_tr_leaf_make(struct st_ledger_entry *e, const char *rec_path,
		     const struct idx_transcript *t, const uint8_t sealed[32],
		     const uint8_t plain[32])
{
	memset(e, 0, sizeof(*e));
	if (t->channel < 0 || t->channel > 1 || !rec_path || strlen(rec_path) > ST_LEDGER_ID_MAX ||
	    t->created_us < 0)
		return ES_EINVAL;
	e->type = ST_ENTRY_TRANSCRIPT;
	snprintf(e->id, sizeof(e->id), "%s", rec_path);
	snprintf(e->channel, sizeof(e->channel), "%s", party[t->channel]);
	engine_name(t->engine, e->engine, sizeof(e->engine));
	e->made_us = t->created_us;
	e->has_meta = e->has_cipher = e->has_plain = true;
	memcpy(e->cipher_sha256, sealed, 32);
	memcpy(e->plain_sha256, plain, 32);
	rec_tr_row_hash(rec_path, t, e->meta_sha256);
	return 0;
}

int rec_tr_file_hashes(const char *data_dir, struct st_vault *vault,
		       const struct idx_recording *rec, int channel, uint8_t sealed[32],
		       uint8_t plain[32], char *err, size_t errlen)
{
	char path[4400];
	int rc = rec_transcript_path(data_dir, rec->path, channel, path, sizeof(path));
	if (rc)
		return es_errf(err, errlen, rc, "transcript path too long");
	rc = st_sha256_file(path, sealed, NULL);
	if (rc == ES_ENOTFOUND)
		return es_errf(err, errlen, rc, "%s does not exist", path);
	if (rc)
		return es_errf(err, errlen, rc, "%s cannot be read", path);
	struct es_buf b;
	es_buf_init(&b);
	rc = rec_transcript_load(data_dir, vault, rec, channel, &b, err, errlen);
	if (rc == ES_ENOTFOUND && !*err)
		es_errf(err, errlen, rc, "%s does not exist", path);
	if (!rc)
		crypto_hash_sha256(plain, b.p, b.len);
	if (b.p)
		sodium_memzero(b.p, b.len);
	es_buf_free(&b);
	return rc;
}

/* ---- the queue (DATA/ledger/pending/) --------------------------------------------- */

static int pending_dir(const char *data_dir, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", data_dir, REC_TR_PENDING_DIR);
	return n < 0 || (size_t)n >= cap ? ES_ELIMIT : 0;
}

/* "<made, 20 digits>-<call row>-<party>.tr": sorted by name is by made. */
static int pending_name(const char *data_dir, int64_t call_row, int channel, int64_t made_us,
			char *out, size_t cap)
{
	char dir[4200];
	if (pending_dir(data_dir, dir, sizeof(dir)) || channel < 0 || channel > 1)
		return ES_ELIMIT;
	int n = snprintf(out, cap, "%s/%020" PRId64 "-%" PRId64 "-%s.tr", dir, made_us, call_row,
			 party[channel]);
	return n < 0 || (size_t)n >= cap ? ES_ELIMIT : 0;
}

int rec_tr_pending_put(const char *data_dir, int64_t call_row, const struct st_ledger_entry *e,
		       char *err, size_t errlen)
{
	char path[4400], line[ST_LEDGER_LINE_MAX + 2];
	struct st_ledger_entry q = *e;
	q.seq = 0;
	q.time_us = 0;
	int channel = !strcmp(e->channel, "callee");
	int n = st_ledger_entry_format(&q, line, sizeof(line) - 1);
	if (n < 0)
		return es_errf(err, errlen, n, "transcript leaf of %s: %s", e->id, es_strerror(n));
	line[n++] = '\n';
	if (pending_name(data_dir, call_row, channel, e->made_us, path, sizeof(path)))
		return es_errf(err, errlen, ES_ELIMIT, "ledger queue path too long");
	/* the line alone (folders made), durable before the index names the
	 * transcript */
	return rec_sealed_save(path, NULL, line, (size_t)n, err, errlen);
}

void rec_tr_pending_drop(const char *data_dir, int64_t call_row, int channel, int64_t made_us)
{
	char path[4400];
	if (!pending_name(data_dir, call_row, channel, made_us, path, sizeof(path)))
		unlink(path);
}

bool rec_tr_pending_has(const char *data_dir, int64_t call_row, int channel, int64_t made_us)
{
	char path[4400];
	return !pending_name(data_dir, call_row, channel, made_us, path, sizeof(path)) &&
	       access(path, F_OK) == 0;
}

int rec_tr_seal_queue(const char *data_dir, const char *rec_path, const struct idx_transcript *t,
		      const char *words_file, const struct es_buf *plain, char *err,
		      size_t errlen)
{
	uint8_t sh[32], ph[32];
	struct st_ledger_entry e;
	if (st_sha256_file(words_file, sh, NULL))
		return es_errf(err, errlen, ES_EIO, "%s cannot be read back: %s", words_file,
			       strerror(errno));
	crypto_hash_sha256(ph, plain->p, plain->len);
	int rc = rec_tr_leaf_make(&e, rec_path, t, sh, ph);
	if (rc)
		return es_errf(err, errlen, rc, "%s: no ledger leaf can name it", rec_path);
	return rec_tr_pending_put(data_dir, t->call_row, &e, err, errlen);
}

/* The index row of (call_row, channel), and its row hash. */
struct row_find {
	int channel;
	const char *path;
	bool found;
	int64_t created_us;
	uint8_t row[32];
	struct idx_transcript t; /* strings not kept */
};

static int row_take(void *ud, const struct idx_transcript *t)
{
	struct row_find *f = ud;
	if (t->channel != f->channel)
		return 0;
	f->found = true;
	f->created_us = t->created_us;
	f->t = *t;
	f->t.engine = f->t.times = f->t.text = NULL;
	rec_tr_row_hash(f->path, t, f->row);
	return 0;
}

/* Whether call_row's recording is still the one at path. */
struct rec_is {
	const char *path;
	bool same;
};

static int rec_is_take(void *ud, const struct idx_call *c)
{
	struct rec_is *r = ud;
	r->same = c->recording && c->recording->path && !strcmp(c->recording->path, r->path);
	return 0;
}

/* Append tr leaf e, after a trtomb "replaced" for a live earlier one; an
 * identical live leaf or a newer one makes it a no-op (*added false). */
static int append_tr(struct st_ledger *l, struct st_ledger_entry *e, int64_t now_us, bool *added)
{
	uint64_t seq = 0;
	bool tomb = false;
	*added = false;
	if (st_ledger_find(l, e->id, &seq, &tomb) == 0 && tomb)
		return 0; /* the recording is gone: its transcripts with it */
	if (st_ledger_find_transcript(l, e->id, e->channel, &seq, &tomb) == 0 && !tomb) {
		struct st_ledger_entry old;
		int rc = st_ledger_entry(l, seq, &old);
		if (rc)
			return rc;
		if (old.made_us > e->made_us ||
		    (old.made_us == e->made_us && !memcmp(old.cipher_sha256, e->cipher_sha256, 32) &&
		     !memcmp(old.plain_sha256, e->plain_sha256, 32) &&
		     !memcmp(old.meta_sha256, e->meta_sha256, 32)))
			return 0;
		struct st_ledger_entry t = {.type = ST_ENTRY_TR_TOMB};
		memcpy(t.id, e->id, sizeof(t.id));
		memcpy(t.channel, e->channel, sizeof(t.channel));
		snprintf(t.reason, sizeof(t.reason), "replaced");
		if ((rc = st_ledger_append_transcript(l, &t, now_us, NULL)))
			return rc;
	}
	int rc = st_ledger_append_transcript(l, e, now_us, NULL);
	*added = rc == 0;
	return rc;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int rec_pending_names(const char *dir, const char *suffix, const char *infix, size_t max,
		      char ***names_out, size_t *n_out)
{
	*names_out = NULL;
	*n_out = 0;
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : ES_EIO;
	char **names = NULL;
	size_t n = 0, cap = 0, sl = strlen(suffix), il = infix ? strlen(infix) : 0;
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < max) {
		const char *nm = de->d_name;
		size_t len = strlen(nm);
		if (len <= sl || strcmp(nm + len - sl, suffix) || nm[0] == '.')
			continue;
		/* the queued time first (20 digits), then what the infix names */
		if (il && (len < 20 + il || strncmp(nm + 20, infix, il)))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			char **p = realloc(names, nc * sizeof(*p));
			if (!p) {
				rc = ES_ENOMEM;
				break;
			}
			names = p;
			cap = nc;
		}
		if (!(names[n] = strdup(nm))) {
			rc = ES_ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	*names_out = names;
	*n_out = n;
	return rc;
}

void rec_pending_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* One queued leaf: 1 appended, 0 done with (remove it), 2 keep for later;
 * negative: the ledger failed. */
static int drain_one(struct idx *ix, struct st_ledger *l, const char *dir,
		     const char *name, int64_t now_us)
{
	char path[4400], buf[ST_LEDGER_LINE_MAX + 2], why[160];
	int64_t made = 0, call_row = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
	if (fd >= 0)
		close(fd);
	struct st_ledger_entry e;
	bool ok = n > 1 && (size_t)n < sizeof(buf) && buf[n - 1] == '\n' &&
		  st_ledger_entry_parse(buf, (size_t)n - 1, &e, why, sizeof(why)) == 0 &&
		  e.type == ST_ENTRY_TRANSCRIPT &&
		  sscanf(name, "%" SCNd64 "-%" SCNd64 "-", &made, &call_row) == 2 &&
		  made == e.made_us;
	if (!ok) {
		/* never lost, never in the way: set aside with a clear name */
		char bad[4500];
		snprintf(bad, sizeof(bad), "%s.bad", path);
		ES_LOG_ERR(TAG, "%s: not a transcript leaf (%s): set aside as %s.bad", path,
			   n < 0 ? strerror(errno) : "malformed", name);
		rename(path, bad);
		return 0;
	}
	/* the index row must be there and still be what the worker sealed */
	struct row_find f = {.channel = !strcmp(e.channel, "callee"), .path = e.id};
	int rc = idx_transcripts_get(ix, call_row, row_take, &f);
	if (rc)
		return 2; /* the index is busy or gone: next pass */
	if (!f.found || f.created_us < e.made_us) {
		if (now_us - e.made_us < PENDING_STALE_US)
			return 2; /* the worker has not committed yet */
		ES_LOG_WARNING(TAG, "%s: the transcript of the %s of call %" PRId64 " never reached "
			       "the index: dropped", path, e.channel, call_row);
		return 0;
	}
	if (f.created_us > e.made_us)
		return 0; /* replaced since: the newer one has its own entry */
	/* the call's recording replaced since (a redaction of a spoken number
	 * moves the transcripts to the new recording and seals them there, or
	 * the catch-up at the next open does): a leaf for the old path would
	 * name a transcript the index no longer has under it */
	struct rec_is ri = {.path = e.id};
	rc = idx_call_brief(ix, call_row, rec_is_take, &ri);
	if (rc && rc != ES_ENOTFOUND)
		return 2;
	if (!ri.same)
		return 0;
	if (memcmp(f.row, e.meta_sha256, 32)) {
		ES_LOG_ERR(TAG, "call %" PRId64 " %s: the transcript's index row is not what was "
			   "sealed (altered after it was stored?): not entered; `earshot verify` "
			   "reports it", call_row, e.channel);
		return 0;
	}
	bool added = false;
	if ((rc = append_tr(l, &e, now_us, &added)))
		return rc < 0 ? rc : ES_EIO;
	return added ? 1 : 0;
}

int rec_tr_ledger_drain(const char *data_dir, struct idx *ix, struct st_ledger *l,
			unsigned *added, char *err, size_t errlen)
{
	char dir[4200];
	if (added)
		*added = 0;
	if (pending_dir(data_dir, dir, sizeof(dir)))
		return es_errf(err, errlen, ES_ELIMIT, "data folder path too long");
	char **names = NULL;
	size_t n = 0;
	int rc = rec_pending_names(dir, ".tr", NULL, PENDING_MAX_FILES, &names, &n);
	if (rc == ES_EIO)
		return es_errf(err, errlen, ES_EIO, "%s: %s", dir, strerror(errno));
	bool *done = n ? calloc(n, sizeof(*done)) : NULL;
	if (n && !done)
		rc = ES_ENOMEM;
	unsigned appended = 0;
	int64_t now = wall_us();
	for (size_t i = 0; !rc && i < n; i++) {
		int r = drain_one(ix, l, dir, names[i], now);
		if (r < 0)
			rc = r;
		else if (r != 2)
			done[i] = true;
		if (r == 1)
			appended++;
	}
	/* the leaves are durable under a signed head before their entries go */
	if (!rc && appended && (rc = st_ledger_commit(l)))
		es_errf(err, errlen, rc, "cannot sign a head: %s", es_strerror(rc));
	else if (rc)
		es_errf(err, errlen, rc, "transcript leaves: %s", es_strerror(rc));
	for (size_t i = 0; !rc && i < n; i++) {
		if (done[i]) {
			char path[4400];
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			unlink(path);
		}
	}
	rec_pending_names_free(names, n);
	free(done);
	if (added)
		*added = appended;
	return rc;
}

/* ---- sealing from the files (catch-up, redaction) --------------------------------- */

struct seal_ctx {
	const char *data_dir;
	struct st_vault *vault;
	struct st_ledger *l;
	const struct idx_recording *rec;
	int64_t now_us;
	unsigned added;
	int err;
};

static int seal_take(void *ud, const struct idx_transcript *t)
{
	struct seal_ctx *k = ud;
	uint8_t sealed[32], plain[32];
	char err[600] = "";
	if (t->channel < 0 || t->channel > 1)
		return 0;
	if (rec_tr_file_hashes(k->data_dir, k->vault, k->rec, t->channel, sealed, plain, err,
			       sizeof(err))) {
		/* nothing to seal: verify reports the transcript as unsealed */
		ES_LOG_WARNING(TAG, "call %" PRId64 " %s: transcript not entered in the ledger: %s",
			       t->call_row, party[t->channel], err);
		return 0;
	}
	struct st_ledger_entry e;
	bool added = false;
	int rc = rec_tr_leaf_make(&e, k->rec->path, t, sealed, plain);
	if (!rc)
		rc = append_tr(k->l, &e, k->now_us, &added);
	if (rc)
		return k->err = rc;
	k->added += added;
	return 0;
}

int rec_tr_ledger_seal_call(const char *data_dir, struct idx *ix, struct st_vault *vault,
			    struct st_ledger *l, const struct idx_recording *rec, int64_t now_us,
			    unsigned *added)
{
	struct seal_ctx k = {data_dir, vault, l, rec, now_us, 0, 0};
	int rc = idx_transcripts_get(ix, rec->call_row, seal_take, &k);
	if (added)
		*added = k.added;
	return k.err ? k.err : rc;
}

int rec_tr_ledger_tombstone(struct st_ledger *l, const char *rec_path, const char *reason,
			    int64_t now_us)
{
	for (int ch = 0; ch < 2; ch++) {
		uint64_t seq;
		bool tomb = true;
		if (st_ledger_find_transcript(l, rec_path, party[ch], &seq, &tomb) || tomb)
			continue;
		struct st_ledger_entry t = {.type = ST_ENTRY_TR_TOMB};
		snprintf(t.id, sizeof(t.id), "%s", rec_path);
		snprintf(t.channel, sizeof(t.channel), "%s", party[ch]);
		snprintf(t.reason, sizeof(t.reason), "%s", reason);
		int rc = st_ledger_append_transcript(l, &t, now_us, NULL);
		if (rc)
			return rc;
	}
	return 0;
}

/* Transcripts of this node without their leaf, and no queued one. */
struct missing_tr {
	const char *data_dir;
	struct idx *ix;
	struct st_ledger *l;
	int64_t *rows;
	size_t n, cap;
};

static int missing_take(void *ud, const struct idx_tr_key *k)
{
	struct missing_tr *m = ud;
	uint64_t seq;
	bool tomb;
	if (!k->path || k->channel < 0 || k->channel > 1 || !idx_call_is_mine(m->ix, k->node))
		return 0;
	if (st_ledger_find_transcript(m->l, k->path, party[k->channel], &seq, &tomb) == 0 &&
	    !tomb) {
		struct st_ledger_entry e;
		if (st_ledger_entry(m->l, seq, &e) == 0 && e.made_us >= k->created_us)
			return 0;
	}
	if (rec_tr_pending_has(m->data_dir, k->call_row, k->channel, k->created_us))
		return 0; /* the drain's */
	if (m->n && m->rows[m->n - 1] == k->call_row)
		return 0;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		int64_t *p = realloc(m->rows, cap * sizeof(*p));
		if (!p)
			return ES_ENOMEM;
		m->rows = p;
		m->cap = cap;
	}
	m->rows[m->n++] = k->call_row;
	return 0;
}

struct rec_copy {
	bool found;
	char path[1024];
	bool encrypted;
};

static int rec_take(void *ud, const struct idx_call *c)
{
	struct rec_copy *r = ud;
	if (!c->recording || !c->recording->path)
		return 0;
	r->found = true;
	r->encrypted = c->recording->encrypted;
	snprintf(r->path, sizeof(r->path), "%s", c->recording->path);
	return 0;
}

int rec_tr_ledger_catch_up(const char *data_dir, struct idx *ix, struct st_vault *vault,
			   struct st_ledger *l, unsigned *added, char *err, size_t errlen)
{
	struct missing_tr m = {data_dir, ix, l, NULL, 0, 0};
	struct st_vault *own = NULL;
	unsigned total = 0;
	int rc = idx_transcript_keys(ix, missing_take, &m);
	if (rc)
		es_errf(err, errlen, rc, "transcripts: %s",
			rc == ES_ENOMEM ? es_strerror(rc) : idx_errmsg(ix));
	int64_t now = wall_us();
	for (size_t i = 0; !rc && i < m.n; i++) {
		struct rec_copy r = {0};
		if (idx_call_brief(ix, m.rows[i], rec_take, &r) || !r.found)
			continue; /* gone meanwhile */
		if (r.encrypted && !vault && !own) {
			char verr[512] = "";
			if (st_vault_open(&own, data_dir, false, verr, sizeof(verr)))
				ES_LOG_WARNING(TAG, "transcripts: no keys to read them: %s", verr);
		}
		struct idx_recording rec = {.call_row = m.rows[i], .path = r.path,
					    .encrypted = r.encrypted};
		unsigned n = 0;
		rc = rec_tr_ledger_seal_call(data_dir, ix, vault ? vault : own, l, &rec, now, &n);
		if (rc)
			es_errf(err, errlen, rc, "transcripts of call %" PRId64 ": %s", m.rows[i],
				es_strerror(rc));
		total += n;
	}
	st_vault_close(own);
	free(m.rows);
	if (!rc && total)
		ES_LOG_WARNING(TAG, "%u transcripts of the index had no leaf: entered now", total);
	if (added)
		*added = total;
	return rc;
}
