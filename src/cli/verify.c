/*
 * verify.c - `earshot verify`: check the archive against its integrity
 * ledger (store/ledger.h).  Read-only: the index, the ledger (opened
 * ST_LEDGER_RDONLY) and the vault are never written, so a tampered archive
 * is never "healed" by the check.
 *
 * The ledger's leaves are read straight from DATA/ledger/entries.log (each
 * line parsed with st_ledger_entry_parse, malformed ones skipped) so that
 * the recordings can still be checked one by one when the ledger as a
 * whole does not open or does not verify; that failure is a finding of its
 * own.
 */
#include "cli/verify_internal.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VERIFY_CMD "earshot verify"
#define VERIFY_CANNOT_OPEN 3 /* no index, no ledger, keys unreadable */
#define VERIFY_PROGRESS_US (2 * ES_US_PER_SEC)

static void verify_usage(FILE *f)
{
	fprintf(f,
		"Usage: earshot verify [options] [ID...|--all]\n"
		"\n"
		"Check the archive against its signed integrity ledger (DATA/ledger):\n"
		"the ledger itself (every entry re-hashed, every signed head, heads\n"
		"consistent with each other and with the entries), then each recording:\n"
		"its file is there, its SHA-256 matches the index and the ledger, its\n"
		"metadata row matches the ledger, it has a ledger entry, and an encrypted\n"
		"one decrypts with its own key to the plaintext the ledger names.  A\n"
		"recording whose key was shredded (`earshot keys shred`) and whose ledger\n"
		"says so is reported as shredded: expected, not a finding.\n"
		"\n"
		"ID is a number from `earshot calls` or a Call-ID.  With --all (the\n"
		"default without IDs) every recording is checked, and also: ledger\n"
		"entries whose index row is gone, and files under DATA/recordings that\n"
		"no row names.  No recording, key or ledger file is written.\n"
		"\n"
		"Options:\n"
		"  --all               every recording (default when no ID is given)\n"
		"  --quick             do not decrypt (file hashes, rows and keys only)\n"
		"  --head FILE         also prove (RFC 9162) that the ledger extends every\n"
		"                      head in FILE signed by its key: an [anchor] file, a\n"
		"                      syslog collector's file or one head line, kept\n"
		"                      outside the data folder; catches truncation and\n"
		"                      rollback, which the ledger alone cannot\n"
		"  --newest-head       with --head: only the newest head in FILE\n"
		"  --nodes             on a shared index: every recorder node's folder\n"
		"                      (a shared mount) and the head it published\n"
		"  --json              one JSON object (docs/CLI.md describes it)\n"
		"  --data DIR          data folder (default $EARSHOT_DATA or ./earshot-data)\n"
		"  -h, --help          this help\n"
		"\n"
		"Exit codes: 0 no finding (shredded recordings allowed), 1 findings:\n"
		"tampering or loss, or a check could not run, 2 usage, 3 cannot open the\n"
		"index or the ledger, 4 no such call or it has no recording.\n");
}

/* ---- the ledger's leaves, by recording id ------------------------------------ */

#define VERIFY_IOBUF (1u << 20)

static bool leaf_eq(const struct es_hnode *n, const void *key)
{
	return !strcmp(ES_CONTAINER_OF(n, struct vleaf, node)->id, key);
}

static uint64_t id_hash(const char *id)
{
	return es_hash(id, strlen(id), 0x76657269);
}

struct vleaf *cli_verify_leaf_find(struct verify *v, const char *id)
{
	struct es_hnode *n = es_htab_find(&v->leaves, id_hash(id), leaf_eq, id);
	return n ? ES_CONTAINER_OF(n, struct vleaf, node) : NULL;
}

struct vleaf *cli_verify_leaf_get(struct verify *v, const char *id)
{
	struct vleaf *l = cli_verify_leaf_find(v, id);
	if (l)
		return l;
	if (v->nleaves == v->capleaves) {
		size_t cap = v->capleaves ? v->capleaves * 2 : 256;
		void *p = realloc(v->leafv, cap * sizeof(*v->leafv));
		if (!p)
			return NULL;
		v->leafv = p;
		v->capleaves = cap;
	}
	l = calloc(1, sizeof(*l));
	if (!l || !(l->id = strdup(id)) || es_htab_insert(&v->leaves, &l->node, id_hash(id))) {
		if (l)
			free(l->id);
		free(l);
		return NULL;
	}
	v->leafv[v->nleaves++] = l;
	return l;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	sodium_bin2hex(out, n * 2 + 1, p, n);
}

/* ---- findings ------------------------------------------------------------------ */

/* One finding (verify_internal.h). */
void cli_verify_finding(struct verify *v, const struct vrow *r, const char *id, const char *kind,
				   const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bool expected = !strcmp(kind, "shredded") || !strcmp(kind, "unfinished") ||
			!strcmp(kind, "head_ok") || !strcmp(kind, "transcript_pending");
	if (!strcmp(kind, "shredded"))
		v->shredded++;
	else if (expected)
		v->notes++;
	else
		v->findings++;
	if (r)
		id = r->path;
	if (v->json) {
		es_json_obj_begin(&v->j);
		es_json_key(&v->j, "kind"); es_json_str(&v->j, kind);
		es_json_key(&v->j, "finding"); es_json_bool(&v->j, !expected);
		es_json_key(&v->j, "call_row");
		if (r)
			es_json_int(&v->j, r->call_row);
		else
			es_json_null(&v->j);
		es_json_key(&v->j, "call_id"); es_json_str(&v->j, r ? r->call_id : NULL);
		es_json_key(&v->j, "recording"); es_json_str(&v->j, id);
		es_json_key(&v->j, "message"); es_json_str(&v->j, msg);
		es_json_obj_end(&v->j);
		return;
	}
	const char *tag = !expected		       ? "FINDING"
			  : !strcmp(kind, "shredded") ? "SHREDDED"
			  : !strcmp(kind, "head_ok")  ? "TRUSTED HEAD"
						      : "NOTE";
	if (r)
		printf("%s call %lld (Call-ID %s) %s: %s\n", tag, (long long)r->call_row,
		       r->call_id ? r->call_id : "-", r->path, msg);
	else if (id)
		printf("%s %s: %s\n", tag, id, msg);
	else
		printf("%s %s\n", tag, msg);
}

static void ledger_report(void *ctx, const char *file, uint64_t line, const char *msg)
{
	struct verify *v = ctx;
	if (line)
		cli_verify_finding(v, NULL, NULL, "ledger", "ledger %s:%llu: %s", file,
				   (unsigned long long)line, msg);
	else
		cli_verify_finding(v, NULL, NULL, "ledger", "ledger %s: %s", file, msg);
}

/* ---- reading the ledger ----------------------------------------------------------- */

/* Every leaf of entries.log into v->leaves (the latest rec and tomb leaf of
 * each id).  Malformed lines are skipped: st_ledger_open/verify report them. */
static int load_leaves(struct verify *v, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return ES_EIO;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;
	struct st_ledger_entry e;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n')
			break; /* a torn last line */
		if (st_ledger_entry_parse(line, (size_t)n - 1, &e, NULL, 0))
			continue;
		v->nentries++;
		if (e.type == ST_ENTRY_TRANSCRIPT || e.type == ST_ENTRY_TR_TOMB) {
			if ((rc = cli_verify_tr_leaf(v, &e)))
				break;
			continue;
		}
		struct vleaf *l = cli_verify_leaf_get(v, e.id);
		if (!l) {
			rc = ES_ENOMEM;
			break;
		}
		if (e.type == ST_ENTRY_RECORDING) {
			l->has_rec = true;
			l->rec_seq = e.seq;
			l->has_meta = e.has_meta;
			l->has_cipher = e.has_cipher;
			l->has_plain = e.has_plain;
			memcpy(l->meta, e.meta_sha256, 32);
			memcpy(l->cipher, e.cipher_sha256, 32);
			memcpy(l->plain, e.plain_sha256, 32);
			l->tombstoned = false;
		} else if (e.type == ST_ENTRY_HOLD) {
			l->holds++;
			snprintf(l->hold, sizeof(l->hold), "%s", e.reason);
		} else if (e.type == ST_ENTRY_RELEASE) {
			if (l->holds)
				l->holds--;
		} else if (e.type == ST_ENTRY_REDACT) {
			/* links id to an original: verify_redact.c checks it */
		} else if (e.type == ST_ENTRY_TOMBSTONE) {
			/* retention, quota and delete refuse a held recording */
			if (l->holds)
				l->tomb_held = true;
			l->tombstoned = true;
			l->tomb_seq = e.seq;
			l->tomb_us = e.time_us;
			snprintf(l->reason, sizeof(l->reason), "%s", e.reason);
		}
	}
	if (ferror(f))
		rc = ES_EIO;
	free(line);
	fclose(f);
	return rc;
}

/* The ledger as a whole: open read-only and st_ledger_verify. */
static void check_ledger(struct verify *v, const char *dir)
{
	char err[512] = "";
	struct st_ledger *l = NULL;
	int rc = st_ledger_open(&l, dir, ST_LEDGER_RDONLY, err, sizeof(err));
	if (rc) {
		cli_verify_finding(v, NULL, NULL, "ledger", "ledger cannot be opened: %s",
				   *err ? err : es_strerror(rc));
		return;
	}
	/* torn last lines: st_ledger_verify reports them */
	uint64_t problems = 0;
	rc = st_ledger_verify(l, ledger_report, v, &problems);
	if (rc && rc != ES_EFORMAT)
		cli_verify_finding(v, NULL, NULL, "ledger", "ledger could not be checked: %s",
				   es_strerror(rc));
	else if (rc && !problems)
		cli_verify_finding(v, NULL, NULL, "ledger", "ledger does not verify");
	st_ledger_close(l);
}

static void head_report(void *ctx, const char *kind, const char *msg, bool is_finding)
{
	(void)is_finding; /* cli_verify_finding() knows head_ok is none */
	cli_verify_finding(ctx, NULL, NULL, kind, "%s", msg);
}

/* ---- the rows ---------------------------------------------------------------------- */

static int take_row(void *ud, const struct idx_call *c)
{
	struct verify *v = ud;
	const struct idx_recording *rec = c->recording;
	if (!rec || !rec->path || !idx_call_is_mine(v->ix, c->node))
		return 0; /* another node's: its own ledger (verify --nodes) */
	if (v->nrows == v->caprows) {
		size_t cap = v->caprows ? v->caprows * 2 : 256;
		void *p = realloc(v->rows, cap * sizeof(*v->rows));
		if (!p)
			return v->oom = true, ES_ENOMEM;
		v->rows = p;
		v->caprows = cap;
	}
	struct vrow *r = &v->rows[v->nrows];
	memset(r, 0, sizeof(*r));
	r->call_row = c->id;
	r->call_id = c->call_id ? strdup(c->call_id) : NULL;
	r->path = strdup(rec->path);
	if ((c->call_id && !r->call_id) || !r->path) {
		free(r->call_id);
		free(r->path);
		return v->oom = true, ES_ENOMEM;
	}
	snprintf(r->sha256, sizeof(r->sha256), "%s", rec->sha256 ? rec->sha256 : "");
	r->encrypted = rec->encrypted;
	v->nrows++;
	return 0;
}


/* Decrypt the whole file with dek and hash the plaintext. */
static int hash_plain(struct verify *v, const char *path, const struct st_dek *dek,
		      uint8_t out[32], char *err, size_t errlen)
{
	struct st_enc_reader *rd;
	int rc = st_enc_reader_open(&rd, path, dek, err, errlen);
	if (rc)
		return rc;
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	uint64_t size = st_enc_reader_size(rd), off = 0;
	while (off < size) {
		size_t got = 0;
		rc = st_enc_reader_pread(rd, v->iobuf, VERIFY_IOBUF, off, &got);
		if (rc || !got) {
			snprintf(err, errlen, "%s",
				 rc ? st_enc_reader_error(rd) : "file ends before its plaintext does");
			rc = rc ? rc : ES_ETRUNC;
			break;
		}
		crypto_hash_sha256_update(&st, v->iobuf, got);
		off += got;
	}
	st_enc_reader_close(rd);
	crypto_hash_sha256_final(&st, out);
	return rc;
}

/* The recording whose ledger leaf names cipher, other than self; NULL. */
static const char *other_with_cipher(struct verify *v, const uint8_t h[32], const char *self)
{
	for (size_t i = 0; i < v->nleaves; i++) {
		const struct vleaf *l = v->leafv[i];
		if (l->has_rec && l->has_cipher && !memcmp(l->cipher, h, 32) && strcmp(l->id, self))
			return l->id;
	}
	return NULL;
}

static void check_key(struct verify *v, const struct vrow *r, const struct vleaf *l,
		      const char *file)
{
	char err[512] = "";
	struct st_dek *dek = NULL;
	int rc = v->vault ? st_vault_key(v->vault, r->path, &dek, err, sizeof(err))
			  : ES_ENOTFOUND;
	if (rc == ES_ENOTFOUND) {
		cli_verify_finding(v, r, NULL, "key_missing",
				   "data key missing: the recording cannot be decrypted, and the ledger has "
				   "no \"shredded\" tombstone for it");
		return;
	}
	if (rc) {
		cli_verify_finding(v, r, NULL, "key_unusable", "data key does not unwrap: %s",
				   *err ? err : es_strerror(rc));
		return;
	}
	if (!v->quick) {
		uint8_t plain[32];
		rc = hash_plain(v, file, dek, plain, err, sizeof(err));
		if (rc) {
			cli_verify_finding(v, r, NULL, "decrypt_failed", "cannot be decrypted: %s",
					   *err ? err : es_strerror(rc));
		} else if (l && l->has_plain && memcmp(plain, l->plain, 32)) {
			char a[65], b[65];
			hex(plain, 32, a);
			hex(l->plain, 32, b);
			cli_verify_finding(v, r, NULL, "plaintext_altered",
					   "decrypted plaintext differs from the ledger (SHA-256 %s, the "
					   "ledger says %s): wrong key or altered content",
					   a, b);
		}
	}
	st_dek_free(dek);
}

static void check_meta(struct verify *v, const struct vrow *r, const struct vleaf *l)
{
	es_buf_reset(&v->meta);
	int rc = rec_canon_meta(v->ix, r->call_row, &v->meta);
	if (rc) {
		cli_verify_finding(v, r, NULL, "metadata_unreadable", "metadata cannot be read: %s",
				   rc == ES_EDB ? idx_errmsg(v->ix) : es_strerror(rc));
		return;
	}
	if (!l || !l->has_meta)
		return;
	uint8_t h[32];
	crypto_hash_sha256(h, v->meta.p, v->meta.len);
	if (memcmp(h, l->meta, 32))
		cli_verify_finding(v, r, NULL, "metadata_altered",
				   "metadata row altered: the canonical metadata of call %lld and its "
				   "recording no longer hashes to the ledger's meta",
				   (long long)r->call_row);
}

static void check_row(struct verify *v, const struct vrow *r)
{
	char file[4200];
	/* A row without a leaf gets an empty record: the file walk of --all
	 * then knows a row names its file. */
	struct vleaf *l = cli_verify_leaf_get(v, r->path);
	if (l)
		l->has_row = true;
	else
		v->oom = true;
	snprintf(file, sizeof(file), "%s/%s", v->ctx->data_dir, r->path);
	bool has_key = v->vault && st_vault_has_key(v->vault, r->path);

	if (l && l->tombstoned) {
		if (!strcmp(l->reason, "shredded") && !has_key) {
			char t[ES_TIME_STRLEN];
			es_time_fmt(l->tomb_us, t, sizeof(t));
			cli_verify_finding(v, r, NULL, "shredded",
					   "shredded on %s: its data key is destroyed (expected)", t);
			check_meta(v, r, l);
			return;
		}
		if (!strcmp(l->reason, "shredded"))
			cli_verify_finding(v, r, NULL, "shred_incomplete",
					   "the ledger says shredded but its data key still exists");
		else
			cli_verify_finding(v, r, NULL, "tombstoned",
					   "the ledger says deleted (reason %s) but its index row is still "
					   "there",
					   l->reason);
	}
	if (l && !l->has_rec)
		cli_verify_finding(v, r, NULL, "not_in_ledger",
				   "not in the ledger: no readable ledger entry names this recording");

	uint8_t fh[32];
	char fhex[65] = "";
	int rc = st_sha256_file(file, fh, NULL);
	char fetched[4200] = "", why[1024];
	/* archived: the bucket's bytes, unchecked, so that an altered object is
	 * reported as altered, not as missing */
	if (rc == ES_ENOTFOUND &&
	    !rec_tier_fetch(v->ctx->data_dir, r->path, NULL, fetched, sizeof(fetched), why,
			    sizeof(why))) {
		snprintf(file, sizeof(file), "%s", fetched);
		rc = st_sha256_file(file, fh, NULL);
	}
	if (rc == ES_ENOTFOUND) {
		cli_verify_finding(v, r, NULL, "missing", "missing: the file %s does not exist", file);
	} else if (rc) {
		cli_verify_finding(v, r, NULL, "unreadable", "the file %s cannot be read", file);
	} else {
		hex(fh, 32, fhex);
		bool row_ok = !strcmp(fhex, r->sha256);
		bool leaf_ok = !l || !l->has_rec || !l->has_cipher || !memcmp(fh, l->cipher, 32);
		if (!leaf_ok) {
			const char *other = other_with_cipher(v, fh, r->path);
			char lhex[65];
			hex(l->cipher, 32, lhex);
			if (other)
				cli_verify_finding(v, r, NULL, "replaced",
						   "altered file: replaced by recording %s (its SHA-256 %s is that "
						   "recording's; the ledger says %s)",
						   other, fhex, lhex);
			else
				cli_verify_finding(v, r, NULL, "altered",
						   "altered file: SHA-256 %s, the ledger says %s%s", fhex, lhex,
						   row_ok ? " (and the index row's sha256 was changed to match)"
							  : "");
		} else if (!row_ok) {
			if (l && l->has_rec && l->has_cipher)
				cli_verify_finding(v, r, NULL, "metadata_altered",
						   "metadata row altered: the index says sha256 %s, the file and "
						   "the ledger agree on %s",
						   r->sha256, fhex);
			else
				cli_verify_finding(v, r, NULL, "altered",
						   "altered file: SHA-256 %s, the index says %s", fhex, r->sha256);
		}
		/* Decrypting an altered file only repeats the finding. */
		if (r->encrypted && leaf_ok && row_ok)
			check_key(v, r, l, file);
	}
	if (fetched[0])
		unlink(fetched);
	if (rc && r->encrypted && !has_key)
		cli_verify_finding(v, r, NULL, "key_missing", "data key missing too");
	check_meta(v, r, l);
}

/* ---- --all: leaves without rows, files without rows -------------------------------- */

static void check_orphan_leaves(struct verify *v)
{
	for (size_t i = 0; i < v->nleaves; i++) {
		const struct vleaf *l = v->leafv[i];
		if (l->has_rec && !l->tombstoned && !l->has_row)
			cli_verify_finding(v, NULL, l->id, "row_deleted",
					   "row deleted: ledger entry %llu (entries.log line %llu) names this recording, the index has "
					   "no row for it and the ledger no tombstone",
					   (unsigned long long)l->rec_seq, (unsigned long long)l->rec_seq + 1);
		if (l->tomb_held)
			cli_verify_finding(v, NULL, l->id, "deleted_under_hold",
					   "deleted while under legal hold: tombstone %llu (reason %s) came "
					   "after a hold leaf (%s) without its release",
					   (unsigned long long)l->tomb_seq, l->reason, l->hold);
	}
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !memcmp(s + n - m, suffix, m);
}

/* Walk DATA/<rel> (rel relative to the data folder, e.g. "recordings"). */
static void walk_files(struct verify *v, char *rel, size_t cap, int depth)
{
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s/%s", v->ctx->data_dir, rel);
	DIR *d = opendir(dir);
	if (!d) {
		if (errno != ENOENT)
			cli_verify_finding(v, NULL, rel, "unreadable", "folder cannot be read: %s",
					   strerror(errno));
		return;
	}
	size_t len = strlen(rel);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (len + 1 + strlen(de->d_name) + 1 > cap)
			continue;
		snprintf(rel + len, cap - len, "/%s", de->d_name);
		struct stat st;
		char full[4400];
		snprintf(full, sizeof(full), "%s/%s", v->ctx->data_dir, rel);
		if (lstat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (depth < 16)
				walk_files(v, rel, cap, depth + 1);
		} else {
			const struct vleaf *l = cli_verify_leaf_find(v, rel);
			if (l && l->has_row)
				;
			else if (ends_with(rel, ".part"))
				cli_verify_finding(v, NULL, rel, "unfinished",
						   "unfinished file (a recorder is writing it, or a crash left it "
						   "for recovery)");
			else
				cli_verify_finding(v, NULL, rel, "unexpected_file",
						   "unexpected file: no index row names it%s",
						   l && l->has_rec ? "" : ", and the ledger does not know it");
		}
		rel[len] = 0;
	}
	closedir(d);
}

/* ---- redactions (verify_redact.c) --------------------------------------------------- */

static void redaction_report(void *ctx, const char *id, const char *kind, const char *msg,
			     bool is_finding)
{
	(void)is_finding; /* cli_verify_finding() knows "shredded" is expected */
	cli_verify_finding(ctx, NULL, id, kind, "%s", msg);
}

/* A redaction's original has no recording row but is accounted for. */
static void verify_redactions(struct verify *v, int64_t call_row)
{
	struct cli_vr *vr = NULL;
	if (cli_verify_redactions_load(v->ix, call_row, &vr)) {
		cli_verify_finding(v, NULL, NULL, "unreadable", "redactions cannot be read: %s",
				   idx_errmsg(v->ix));
		return;
	}
	const char *orig[256];
	size_t n = cli_verify_redactions_originals(vr, orig, ES_ARRAY_LEN(orig));
	for (size_t i = 0; i < n; i++) {
		struct vleaf *l = cli_verify_leaf_get(v, orig[i]);
		if (l)
			l->has_row = true;
	}
	cli_verify_redactions_check(vr, v->ctx->data_dir, v->vault, redaction_report, v);
	cli_verify_redactions_free(vr);
}

/* ---- main --------------------------------------------------------------------------- */

static void progress(struct verify *v, size_t done)
{
	int64_t now = es_mono_us();
	if (now - v->progress_us < VERIFY_PROGRESS_US)
		return;
	v->progress_us = now;
	fprintf(stderr, "%s: %zu/%zu recordings checked\n", VERIFY_CMD, done, v->nrows);
}

static int take_path(void *ud, const struct idx_rec_path *p)
{
	struct verify *v = ud;
	if (!p->path || !idx_call_is_mine(v->ix, p->node))
		return 0;
	int rc = idx_call_brief(v->ix, p->call_row, take_row, v);
	return rc == ES_ENOTFOUND ? 0 : rc;
}

/* Collect the rows named by the arguments: CLI_OK or CLI_NOTFOUND (said). */
static int collect_rows(struct verify *v, int n, char **ids)
{
	if (v->all) {
		/* the recordings only, in pages (idx_recording_paths), each row
		 * then read alone: never every call of the index */
		int rc = idx_recording_paths(v->ix, take_path, v);
		if (rc) {
			fprintf(stderr, "%s: %s\n", VERIFY_CMD,
				v->oom ? "out of memory" : idx_errmsg(v->ix));
			return CLI_ERR;
		}
		return CLI_OK;
	}
	for (int i = 0; i < n; i++) {
		size_t before = v->nrows;
		int64_t row = cli_call_ref(v->ix, ids[i]);
		int rc = row ? idx_call_get(v->ix, row, take_row, v) : ES_ENOTFOUND;
		if (rc == ES_ENOTFOUND) {
			fprintf(stderr, "%s: no call %s in %s\n", VERIFY_CMD, ids[i],
				v->ctx->data_dir);
			return CLI_NOTFOUND;
		}
		if (rc) {
			fprintf(stderr, "%s: %s\n", VERIFY_CMD,
				v->oom ? "out of memory" : idx_errmsg(v->ix));
			return CLI_ERR;
		}
		if (v->nrows == before) {
			fprintf(stderr, "%s: call %s has no recording\n", VERIFY_CMD, ids[i]);
			return CLI_NOTFOUND;
		}
	}
	return CLI_OK;
}

static void verify_free(struct verify *v)
{
	for (size_t i = 0; i < v->nleaves; i++) {
		free(v->leafv[i]->id);
		free(v->leafv[i]);
	}
	free(v->leafv);
	for (size_t i = 0; i < v->nrows; i++) {
		free(v->rows[i].call_id);
		free(v->rows[i].path);
	}
	free(v->rows);
	cli_verify_tr_pending_free(v);
	es_htab_free(&v->leaves);
	es_buf_free(&v->meta);
	free(v->iobuf);
	st_vault_close(v->vault);
	if (v->ix)
		idx_close(v->ix);
}

static int verify_run(struct verify *v, int nids, char **ids)
{
	char ldir[4200], entries[4300], kdir[4200];
	struct stat st;
	snprintf(ldir, sizeof(ldir), "%s/ledger", v->ctx->data_dir);
	snprintf(entries, sizeof(entries), "%s/entries.log", ldir);
	if (stat(entries, &st) != 0) {
		fprintf(stderr, "%s: no ledger at %s: nothing to verify against\n", VERIFY_CMD,
			ldir);
		return VERIFY_CANNOT_OPEN;
	}
	if (cli_open_index(v->ctx, false, &v->ix))
		return VERIFY_CANNOT_OPEN;
	snprintf(kdir, sizeof(kdir), "%s/keys", v->ctx->data_dir);
	if (stat(kdir, &st) == 0) {
		char err[512] = "";
		int rc = st_vault_open(&v->vault, v->ctx->data_dir, false, err, sizeof(err));
		if (rc) {
			fprintf(stderr, "%s: cannot open the keys: %s\n", VERIFY_CMD,
				*err ? err : es_strerror(rc));
			return VERIFY_CANNOT_OPEN;
		}
	}
	if (es_htab_init(&v->leaves, 1024) || !(v->iobuf = malloc(VERIFY_IOBUF))) {
		fprintf(stderr, "%s: out of memory\n", VERIFY_CMD);
		return CLI_ERR;
	}
	/* Rows first, leaves second: a recorder appends a recording's leaf
	 * before it commits the row, so every row read here has its leaf in
	 * the file read next, even while `earshot record` runs. */
	int rc = collect_rows(v, nids, ids);
	if (rc)
		return rc;
	if (cli_verify_tr_pending_load(v)) {
		fprintf(stderr, "%s: out of memory\n", VERIFY_CMD);
		return CLI_ERR;
	}
	rc = load_leaves(v, entries);
	if (rc) {
		fprintf(stderr, "%s: cannot read %s: %s\n", VERIFY_CMD, entries, es_strerror(rc));
		return rc == ES_ENOMEM ? CLI_ERR : VERIFY_CANNOT_OPEN;
	}

	if (v->json) {
		es_json_init(&v->j, stdout, true);
		es_json_obj_begin(&v->j);
		es_json_key(&v->j, "findings");
		es_json_arr_begin(&v->j);
	}
	check_ledger(v, ldir);
	if (v->head_file)
		v->heads_checked =
			(uint64_t)cli_verify_heads(ldir, v->head_file, v->newest_head, head_report, v);
	for (size_t i = 0; i < v->nrows; i++) {
		check_row(v, &v->rows[i]);
		cli_verify_tr_check(v, &v->rows[i]);
		v->checked++;
		progress(v, i + 1);
	}
	for (size_t i = 0; i < (v->all ? 1 : v->nrows); i++)
		verify_redactions(v, v->all ? 0 : v->rows[i].call_row);
	if (v->oom) {
		fprintf(stderr, "%s: out of memory\n", VERIFY_CMD);
		return CLI_ERR;
	}
	if (v->all) {
		check_orphan_leaves(v);
		cli_verify_tr_orphans(v);
		char rel[4096] = "recordings";
		walk_files(v, rel, sizeof(rel), 0);
	}
	double secs = (double)(es_mono_us() - v->started_us) / 1e6;
	double rate = secs > 0 ? (double)v->checked / secs : 0;
	if (v->json) {
		es_json_arr_end(&v->j);
		es_json_key(&v->j, "ok"); es_json_bool(&v->j, v->findings == 0);
		es_json_key(&v->j, "all"); es_json_bool(&v->j, v->all);
		es_json_key(&v->j, "quick"); es_json_bool(&v->j, v->quick);
		es_json_key(&v->j, "recordings_checked"); es_json_int(&v->j, (int64_t)v->checked);
		es_json_key(&v->j, "finding_count"); es_json_int(&v->j, (int64_t)v->findings);
		es_json_key(&v->j, "shredded_count"); es_json_int(&v->j, (int64_t)v->shredded);
		es_json_key(&v->j, "note_count"); es_json_int(&v->j, (int64_t)v->notes);
		es_json_key(&v->j, "ledger_entries"); es_json_int(&v->j, (int64_t)v->nentries);
		es_json_key(&v->j, "transcripts_checked"); es_json_int(&v->j, (int64_t)v->tr_checked);
		es_json_key(&v->j, "transcripts_pending"); es_json_int(&v->j, (int64_t)v->tr_pending);
		es_json_key(&v->j, "trusted_heads_checked");
		es_json_int(&v->j, (int64_t)v->heads_checked);
		es_json_key(&v->j, "seconds"); es_json_double(&v->j, secs, 3);
		es_json_key(&v->j, "recordings_per_s"); es_json_double(&v->j, rate, 1);
		es_json_obj_end(&v->j);
		es_json_end(&v->j);
	} else {
		printf("%llu recordings checked, %llu findings, %llu shredded, verified in %.2f s, "
		       "%.1f recordings/s; %llu transcripts checked, %llu not yet sealed\n",
		       (unsigned long long)v->checked, (unsigned long long)v->findings,
		       (unsigned long long)v->shredded, secs, rate,
		       (unsigned long long)v->tr_checked, (unsigned long long)v->tr_pending);
	}
	fflush(stdout);
	return v->findings ? CLI_ERR : CLI_OK;
}

/* One node of `verify --nodes` (verify_nodes.c), with the options given. */
static int verify_node(void *ud, const char *data_dir, const char *node, const char *head)
{
	const struct verify *o = ud;
	struct cli_ctx ctx = *o->ctx;
	ctx.data_dir = data_dir;
	ctx.node = node;
	struct verify v = {.ctx = &ctx, .quick = o->quick, .all = true, .head_file = head,
			   .newest_head = true, .started_us = es_mono_us()};
	v.progress_us = v.started_us;
	es_buf_init(&v.meta);
	int rc = verify_run(&v, 0, NULL);
	verify_free(&v);
	return rc;
}

int cli_verify(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"all", no_argument, NULL, 'a'},
		{"quick", no_argument, NULL, 'Q'},
		{"json", no_argument, NULL, 'J'},
		{"head", required_argument, NULL, 'H'},
		{"newest-head", no_argument, NULL, 'E'},
		{"nodes", no_argument, NULL, 'N'},
		{"data", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	struct verify v = {.ctx = ctx, .started_us = es_mono_us()};
	v.progress_us = v.started_us;
	es_buf_init(&v.meta);
	bool nodes = false;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a': v.all = true; break;
		case 'Q': v.quick = true; break;
		case 'J': v.json = true; break;
		case 'H': v.head_file = optarg; break;
		case 'E': v.newest_head = true; break;
		case 'N': nodes = true; break;
		case 'd': ctx->data_dir = optarg; break;
		case 'h': verify_usage(stdout); return CLI_OK;
		default: verify_usage(stderr); return CLI_USAGE;
		}
	}
	if (v.newest_head && !v.head_file) {
		fprintf(stderr, "%s: --newest-head needs --head FILE\n", VERIFY_CMD);
		return CLI_USAGE;
	}
	int nids = argc - optind;
	if (v.all && nids) {
		fprintf(stderr, "%s: give call IDs or --all, not both\n", VERIFY_CMD);
		return CLI_USAGE;
	}
	if (!nids)
		v.all = true;
	if (sodium_init() < 0) {
		fprintf(stderr, "%s: libsodium cannot start\n", VERIFY_CMD);
		return CLI_ERR;
	}
	if (nodes && (nids || v.json || v.head_file)) {
		fprintf(stderr, "%s: --nodes checks every recording of every node: no IDs, --json "
			"or --head\n", VERIFY_CMD);
		return CLI_USAGE;
	}
	int rc = nodes ? cli_verify_nodes(ctx, verify_node, &v) : verify_run(&v, nids, argv + optind);
	verify_free(&v);
	return rc;
}
