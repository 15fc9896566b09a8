/*
 * delete.c - the one path that deletes a recording (record.h): the hold
 * check, the ledger's tombstone, then the data key, the file and the index
 * row, in that order, so that a removal is always explained first.
 */
#include "record/record.h"
#include "store/ledger.h"
#include "store/vault.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

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

int rec_del_begin(struct rec_deleter *d, const struct rec_del_target *t, const char *reason,
		  int64_t now_us, uint64_t *seq, char *held, size_t heldcap, char *err, size_t errlen)
{
	int rc = check_hold(d, t, held, heldcap, err, errlen);
	if (rc)
		return rc;
	uint64_t s = 0;
	bool tomb = false;
	if (st_ledger_find(d->ledger, t->path, &s, &tomb) == 0 && tomb) {
		if (seq)
			*seq = s; /* an interrupted delete: its tombstone is there */
		return 0;
	}
	rc = st_ledger_append_tombstone(d->ledger, t->path, reason, now_us, &s);
	if (rc)
		snprintf(err, errlen, "the ledger could not record the deletion of %s: %s", t->path,
			 es_strerror(rc));
	else if (seq)
		*seq = s;
	return rc;
}

int rec_del_end(struct rec_deleter *d, const struct rec_del_target *t, char *err, size_t errlen)
{
	char path[4300];
	int rc;
	if (t->encrypted) {
		if ((rc = need_vault(d, err, errlen)))
			return rc;
		rc = st_vault_shred(d->vault, t->path, err, errlen);
		if (rc && rc != ES_ENOTFOUND)
			return rc;
	}
	snprintf(path, sizeof(path), "%s/%s", d->data_dir, t->path);
	bool local = unlink(path) == 0;
	if (!local && errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ES_EIO;
	}
	/* archived: the bucket's object (the tombstone is already durable) */
	if (!local && (rc = rec_tier_remove(d->data_dir, t->path, err, errlen)))
		return rc;
	rec_peaks_drop(d->data_dir, t->path); /* its stored waveform goes with it */
	rc = idx_recording_delete(d->ix, t->call_row);
	if (rc == ES_ENOTFOUND)
		rc = 0;
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
	uint64_t s = 0;
	bool tomb = false;
	bool was_tombstoned = st_ledger_find(d->ledger, t->path, &s, &tomb) == 0 && tomb;
	/* key first: a crash before the tombstone leaves a recording without
	 * key nor tombstone, which verify reports and a second run completes */
	rc = st_vault_shred(d->vault, t->path, err, errlen);
	*had_key = rc != ES_ENOTFOUND;
	if (rc && *had_key)
		return rc;
	rec_peaks_drop(d->data_dir, t->path); /* unreadable without the key anyway */
	if (!*had_key && was_tombstoned) {
		*already = true;
		if (seq)
			*seq = s;
		return 0;
	}
	rc = st_ledger_append_tombstone(d->ledger, t->path, "shredded", now_us, &s);
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
		rc = st_vault_shred(d->vault, t->path, err, errlen);
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
	return 0;
}

void rec_deleter_close(struct rec_deleter *d)
{
	if (d->own_vault)
		st_vault_close(d->vault);
	d->vault = NULL;
	d->own_vault = false;
}
