/*
 * delete.c - the one path that deletes a recording (record.h): the hold
 * check, the ledger's tombstone, then the data key, the file and the index
 * row, in that order, so that a removal is always explained first.  The
 * originals a redaction kept for the restricted roles ([redaction] original
 * = restrict) are no longer the call's recording row but are the same
 * call's audio: every deletion takes them too, each with its own tombstone.
 */
#include "record/record.h"
#include "store/ledger.h"
#include "store/vault.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A kept original of a redaction of the call (the redactions table). */
struct kept {
	int64_t id;
	char path[512];
	bool encrypted;
};
struct kept_list {
	struct kept *v;
	size_t n, cap;
	int err;
};

static int check_hold(struct rec_deleter *d, const struct rec_del_target *t, char *held,
		      size_t heldcap, char *err, size_t errlen)
{
	char name[IDX_HOLD_NAME_MAX + 1] = "";
	int h = idx_call_held(d->ix, t->call_row, name, sizeof(name));
	if (h < 0) {
		snprintf(err, errlen, "%s", idx_errmsg(d->ix));
		return h;
	}
	if (!h)
		return 0;
	if (held && heldcap)
		snprintf(held, heldcap, "%s", name);
	snprintf(err, errlen, "%s (call %lld) is under legal hold '%s': not deleted", t->path,
		 (long long)t->call_row, name);
	return ES_EHELD;
}

static int need_vault(struct rec_deleter *d, char *err, size_t errlen)
{
	if (d->vault)
		return 0;
	int rc = st_vault_open(&d->vault, d->data_dir, false, err, errlen);
	if (!rc)
		d->own_vault = true;
	return rc;
}

static int kept_take(void *ud, const struct idx_redaction *r)
{
	struct kept_list *k = ud;
	if (!r->original_state || strcmp(r->original_state, "restricted") || !r->original_path)
		return 0;
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 4;
		void *p = realloc(k->v, cap * sizeof(*k->v));
		if (!p)
			return k->err = ES_ENOMEM;
		k->v = p;
		k->cap = cap;
	}
	struct kept *x = &k->v[k->n++];
	x->id = r->id;
	x->encrypted = r->original_encrypted;
	snprintf(x->path, sizeof(x->path), "%s", r->original_path);
	return 0;
}

static int kept_load(struct rec_deleter *d, int64_t call_row, struct kept_list *k, char *err,
		     size_t errlen)
{
	memset(k, 0, sizeof(*k));
	int rc = idx_redactions_list(d->ix, call_row, kept_take, k);
	if (!rc && k->err)
		rc = k->err;
	if (rc)
		snprintf(err, errlen, "call %lld: its redactions cannot be read: %s",
			 (long long)call_row, rc == ES_ENOMEM ? es_strerror(rc) : idx_errmsg(d->ix));
	return rc;
}

/* Append the tombstone of path, naming reason; err says what failed. */
static int tombstone(struct rec_deleter *d, const char *path, const char *reason, int64_t now_us,
		     uint64_t *seq, char *err, size_t errlen)
{
	int rc = st_ledger_append_tombstone(d->ledger, path, reason, now_us, seq);
	/* its transcripts' leaves end with it, for the same reason */
	if (!rc)
		rc = rec_tr_ledger_tombstone(d->ledger, path, reason, now_us);
	if (rc)
		snprintf(err, errlen, "the ledger could not record the deletion of %s: %s", path,
			 es_strerror(rc));
	return rc;
}

/* Destroy rel's data key: the data folder's wrapped key, then its copy in
 * the index that other nodes open it with (issue #16).  ES_ENOTFOUND when
 * the folder had none (the index row is removed all the same). */
static int shred_key(struct rec_deleter *d, const char *rel, char *err, size_t errlen)
{
	int rc = st_vault_shred(d->vault, rel, err, errlen);
	if (rc && rc != ES_ENOTFOUND)
		return rc;
	if (idx_reckey_del(d->ix, rel))
		return es_errf(err, errlen, ES_EDB,
			       "%s: its data key could not be removed from the index: %s", rel,
			       idx_errmsg(d->ix));
	return rc;
}

/* A recording's bytes after its tombstone is committed: its data key (when
 * encrypted), its file here or its object in the bucket, its stored
 * waveform.  Already gone is not an error (a rerun after a crash). */
static int remove_blob(struct rec_deleter *d, const char *rel, bool encrypted, char *err,
		       size_t errlen)
{
	char path[4300];
	int rc;
	if (encrypted) {
		if ((rc = need_vault(d, err, errlen)))
			return rc;
		rc = shred_key(d, rel, err, errlen);
		if (rc && rc != ES_ENOTFOUND)
			return rc;
	}
	snprintf(path, sizeof(path), "%s/%s", d->data_dir, rel);
	bool local = unlink(path) == 0;
	if (!local && errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ES_EIO;
	}
	/* archived: the bucket's object (the tombstone is already durable) */
	if (!local && (rc = rec_tier_remove(d->data_dir, rel, err, errlen)))
		return rc;
	rec_peaks_drop(d->data_dir, rel); /* its stored waveform goes with it */
	rec_transcript_drop(d->data_dir, rel); /* and its transcripts */
	return 0;
}

/* A tombstone naming the cause for each kept original without one yet (a
 * rerun after a crash writes none twice). */
static int kept_tombstone(struct rec_deleter *d, const struct kept_list *k, const char *reason,
			  int64_t now_us, size_t *added, char *err, size_t errlen)
{
	for (size_t i = 0; i < k->n; i++) {
		uint64_t s = 0;
		bool tomb = false;
		if (st_ledger_find(d->ledger, k->v[i].path, &s, &tomb) == 0 && tomb)
			continue;
		int rc = tombstone(d, k->v[i].path, reason, now_us, &s, err, errlen);
		if (rc)
			return rc;
		if (added)
			(*added)++;
	}
	return 0;
}

/* After the tombstones are committed: each kept original's data key, its
 * file (local, cached or in the bucket), its waveform, and its redaction
 * rows marked shredded. */
static int kept_remove(struct rec_deleter *d, const struct kept_list *k, char *err,
		       size_t errlen)
{
	int rc;
	for (size_t i = 0; i < k->n; i++) {
		const struct kept *x = &k->v[i];
		if ((rc = remove_blob(d, x->path, x->encrypted, err, errlen)))
			return rc;
		if ((rc = idx_redaction_shredded(d->ix, x->id))) {
			snprintf(err, errlen, "%s", idx_errmsg(d->ix));
			return rc;
		}
	}
	return 0;
}

int rec_del_begin(struct rec_deleter *d, const struct rec_del_target *t, const char *reason,
		  int64_t now_us, uint64_t *seq, char *held, size_t heldcap, char *err, size_t errlen)
{
	int rc = check_hold(d, t, held, heldcap, err, errlen);
	if (rc)
		return rc;
	struct kept_list k;
	if ((rc = kept_load(d, t->call_row, &k, err, errlen)))
		return rc;
	rc = kept_tombstone(d, &k, reason, now_us, NULL, err, errlen);
	free(k.v);
	if (rc)
		return rc;
	uint64_t s = 0;
	bool tomb = false;
	if (st_ledger_find(d->ledger, t->path, &s, &tomb) == 0 && tomb) {
		if (seq)
			*seq = s; /* an interrupted delete: its tombstone is there */
		return 0;
	}
	rc = tombstone(d, t->path, reason, now_us, &s, err, errlen);
	if (!rc && seq)
		*seq = s;
	return rc;
}

int rec_del_end(struct rec_deleter *d, const struct rec_del_target *t, char *err, size_t errlen)
{
	struct kept_list k;
	/* the kept originals first: the call's row is what a rerun starts from */
	int rc = kept_load(d, t->call_row, &k, err, errlen);
	if (!rc)
		rc = kept_remove(d, &k, err, errlen);
	free(k.v);
	if (rc || (rc = remove_blob(d, t->path, t->encrypted, err, errlen)))
		return rc;
	/* the call's raw data (its SIP and RTP, raw.c) holds the same audio */
	if ((rc = rec_raw_remove(d->data_dir, t->call_row))) {
		snprintf(err, errlen, "raw data of call %lld: %s", (long long)t->call_row,
			 strerror(errno));
		return rc;
	}
	rc = idx_recording_delete(d->ix, t->call_row);
	if (rc == ES_ENOTFOUND)
		rc = 0;
	/* the transcripts' searchable text goes with the recording */
	if (!rc)
		rc = idx_transcripts_delete(d->ix, t->call_row);
	/* and the bookmarks and clips on it (their comments and spans) */
	if (!rc)
		rc = idx_bookmarks_delete(d->ix, t->call_row);
	if (rc)
		snprintf(err, errlen, "%s", idx_errmsg(d->ix));
	return rc;
}

int rec_del_shred(struct rec_deleter *d, const struct rec_del_target *t, int64_t now_us,
		  uint64_t *seq,
		  bool *had_key, bool *already, char *held, size_t heldcap, char *err,
		  size_t errlen)
{
	*had_key = *already = false;
	int rc = check_hold(d, t, held, heldcap, err, errlen);
	if (rc || (rc = need_vault(d, err, errlen)))
		return rc;
	/* the kept originals of redactions: tombstoned, committed, then their
	 * keys and files go (a shredded original has no use for its file) */
	struct kept_list k;
	size_t added = 0;
	if ((rc = kept_load(d, t->call_row, &k, err, errlen)))
		return rc;
	rc = kept_tombstone(d, &k, "shredded", now_us, &added, err, errlen);
	if (!rc && added && (rc = st_ledger_commit(d->ledger)))
		snprintf(err, errlen, "the ledger could not record the shredding of the "
				      "originals of call %lld: %s", (long long)t->call_row,
			 es_strerror(rc));
	if (!rc)
		rc = kept_remove(d, &k, err, errlen);
	free(k.v);
	if (rc)
		return rc;
	uint64_t s = 0;
	bool tomb = false;
	bool was_tombstoned = st_ledger_find(d->ledger, t->path, &s, &tomb) == 0 && tomb;
	/* key first: a crash before the tombstone leaves a recording without
	 * key nor tombstone, which verify reports and a second run completes */
	rc = shred_key(d, t->path, err, errlen);
	*had_key = rc != ES_ENOTFOUND;
	if (rc && *had_key)
		return rc;
	rec_peaks_drop(d->data_dir, t->path); /* unreadable without the key anyway */
	rec_transcript_drop(d->data_dir, t->path);
	/* the index's copy of the words is no less sensitive than the file */
	if ((rc = idx_transcripts_delete(d->ix, t->call_row)) ||
	    (rc = idx_bookmarks_delete(d->ix, t->call_row))) {
		snprintf(err, errlen, "%s", idx_errmsg(d->ix));
		return rc;
	}
	/* the raw data has its own key in its header: only removal erases it */
	if ((rc = rec_raw_remove(d->data_dir, t->call_row))) {
		snprintf(err, errlen, "raw data of call %lld: %s", (long long)t->call_row,
			 strerror(errno));
		return rc;
	}
	if (!*had_key && was_tombstoned) {
		*already = true;
		if (seq)
			*seq = s;
		return 0;
	}
	rc = st_ledger_append_tombstone(d->ledger, t->path, "shredded", now_us, &s);
	if (!rc)
		rc = rec_tr_ledger_tombstone(d->ledger, t->path, "shredded", now_us);
	if (!rc)
		rc = st_ledger_commit(d->ledger);
	if (rc)
		snprintf(err, errlen, "the key of %s is destroyed but the ledger could not record "
				      "it: %s; run the command again", t->path, es_strerror(rc));
	else if (seq)
		*seq = s;
	return rc;
}

int rec_del_original(struct rec_deleter *d, const struct rec_del_target *t, const char *reason,
		     int64_t now_us, uint64_t *seq, char *held, size_t heldcap, char *err,
		     size_t errlen)
{
	int rc = rec_del_begin(d, t, reason, now_us, seq, held, heldcap, err, errlen);
	if (rc)
		return rc;
	if ((rc = st_ledger_commit(d->ledger))) {
		snprintf(err, errlen, "the ledger could not record the deletion of %s: %s", t->path,
			 es_strerror(rc));
		return rc;
	}
	if (t->encrypted) {
		if ((rc = need_vault(d, err, errlen)))
			return rc;
		rc = shred_key(d, t->path, err, errlen);
		if (rc && rc != ES_ENOTFOUND)
			return rc;
	} else {
		char path[4300];
		snprintf(path, sizeof(path), "%s/%s", d->data_dir, t->path);
		if (unlink(path) && errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return ES_EIO;
		}
	}
	rec_peaks_drop(d->data_dir, t->path);
	rec_transcript_drop(d->data_dir, t->path);
	return 0;
}

void rec_deleter_close(struct rec_deleter *d)
{
	if (d->own_vault)
		st_vault_close(d->vault);
	d->vault = NULL;
	d->own_vault = false;
}
