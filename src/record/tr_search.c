/*
 * tr_search.c - the transcripts' search key and the reindex (issue #19):
 * index/trblind.c hashes words under a key it cannot keep itself (the index
 * may not use store/); here the key is made, wrapped by the data folder's
 * KEK and kept in the index (one row, shared by every process and node on
 * that index), and unwrapped for each connection on first need.  Also the
 * reindex of transcripts stored before the blind index, from their sealed
 * words files.
 */
#include "record/record.h"

#include "analytics/transcribe.h"
#include "store/vault.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The wrap's associated data: a key wrapped for a recording never
 * unwraps as this one. */
#define TR_KEY_AD "transcript search index"
/* Stored instead of a wrapped key when the data folder has no keys (encrypt
 * = no, no DATA/keys) and the index is its own (SQLite): the key is then all
 * zeros, a hash anyone can compute; the words files are plain there too
 * (docs/THREAT_MODEL.md).  Never on a shared index: there the first process
 * to need the key could be a web node without the KEK, and its zeros would
 * key every node's tokens for good. */
#define TR_KEY_PLAIN "plain"

/* The folder's vault: src's, else opened here when DATA/keys exists (*own
 * then), else NULL. */
static int vault_of(const struct rec_tr_keysrc *src, struct st_vault **v, bool *own, char *err,
		    size_t errlen)
{
	*v = src->vault ? *src->vault : NULL;
	*own = false;
	if (*v)
		return 0;
	char kdir[4200];
	struct stat st;
	snprintf(kdir, sizeof(kdir), "%s/keys", src->data_dir);
	if (stat(kdir, &st) != 0)
		return 0;
	int rc = st_vault_open(v, src->data_dir, false, err, errlen);
	*own = !rc;
	return rc;
}

int rec_tr_search_key(void *ud, struct idx *ix, uint8_t key[IDX_TR_KEY_BYTES], char *err,
		      size_t errlen)
{
	const struct rec_tr_keysrc *src = ud;
	char wrapped[IDX_TR_WRAPPED_MAX];
	struct st_vault *v = NULL;
	bool own = false;
	int rc = idx_tr_key_get(ix, wrapped, sizeof(wrapped));
	if (rc == ES_ENOTFOUND) {
		/* none yet: make one; of two processes racing here, both
		 * read back the one that was stored first */
		if ((rc = vault_of(src, &v, &own, err, errlen)))
			goto out;
		if (v) {
			uint8_t fresh[ST_KEY_BYTES];
			char w[ST_WRAPPED_MAX];
			rc = st_vault_wrap_new(v, TR_KEY_AD, fresh, w, sizeof(w));
			sodium_memzero(fresh, sizeof(fresh));
			if (rc) {
				snprintf(err, errlen, "cannot wrap a new search key: %s",
					 es_strerror(rc));
				goto out;
			}
			rc = idx_tr_key_put(ix, w);
		} else if (idx_shared(ix)) {
			/* a shared index: the key is every node's for good, and a
			 * process without the KEK would key them all with zeros */
			rc = ES_ENOKEK;
			snprintf(err, errlen, "the index has no transcript search key yet and this "
				 "process has no key-encryption key ($%s or %s/keys/kek.keys) to "
				 "make one: a node with the KEK makes it (its first transcript or "
				 "text search)", ST_KEK_ENV, src->data_dir);
			goto out;
		} else {
			rc = idx_tr_key_put(ix, TR_KEY_PLAIN);
		}
		if (!rc)
			rc = idx_tr_key_get(ix, wrapped, sizeof(wrapped));
	}
	if (rc) {
		if (!*err)
			snprintf(err, errlen, "%s", idx_errmsg(ix));
		goto out;
	}
	if (!strcmp(wrapped, TR_KEY_PLAIN)) {
		memset(key, 0, IDX_TR_KEY_BYTES);
		goto out;
	}
	if (!v && (rc = vault_of(src, &v, &own, err, errlen)))
		goto out;
	if (!v) {
		rc = ES_ENOKEK;
		snprintf(err, errlen, "the search key is wrapped by a KEK, and this process has "
			 "none ($%s or %s/keys/kek.keys)", ST_KEK_ENV, src->data_dir);
		goto out;
	}
	rc = st_vault_unwrap(v, TR_KEY_AD, wrapped, key, err, errlen);
out:
	if (own)
		st_vault_close(v);
	return rc;
}

/* ---- reindex ------------------------------------------------------------------------- */

struct row {
	int64_t call_row;
	int channel;
};

struct rows {
	struct row *r;
	size_t n, cap;
};

static int take_row(void *ud, int64_t call_row, int channel)
{
	struct rows *rs = ud;
	if (rs->n == rs->cap) {
		size_t nc = rs->cap ? rs->cap * 2 : 64;
		struct row *g = realloc(rs->r, nc * sizeof(*g));
		if (!g)
			return ES_ENOMEM;
		rs->r = g;
		rs->cap = nc;
	}
	rs->r[rs->n++] = (struct row){call_row, channel};
	return 0;
}

struct rec_copy {
	bool have;
	char path[1024];
	bool encrypted;
};

static int take_rec(void *ud, const struct idx_call *c)
{
	struct rec_copy *rc = ud;
	if (!c->recording || !c->recording->path)
		return 0;
	rc->have = true;
	rc->encrypted = c->recording->encrypted;
	snprintf(rc->path, sizeof(rc->path), "%s", c->recording->path);
	return 0;
}

/* One transcript's words, decrypted in memory, into the blind index. */
static int reindex_one(struct idx *ix, const struct rec_tr_keysrc *src, struct st_vault *v,
		       const struct row *w, char *err, size_t errlen)
{
	struct rec_copy rc = {0};
	int e = idx_call_get(ix, w->call_row, take_rec, &rc);
	if (e || !rc.have)
		return e ? e : ES_ENOTFOUND;
	struct idx_recording rec = {.path = rc.path, .encrypted = rc.encrypted};
	struct es_buf json, text;
	es_buf_init(&json);
	es_buf_init(&text);
	struct tr_text t = {0};
	e = rec_transcript_load(src->data_dir, v, &rec, w->channel, &json, err, errlen);
	if (!e)
		e = tr_text_from_json((const char *)json.p, json.len, &t, err, errlen);
	for (size_t i = 0; !e && i < t.n; i++)
		if ((i && (e = es_buf_append(&text, " ", 1))) ||
		    (e = es_buf_append(&text, t.w[i].w, strlen(t.w[i].w))))
			break;
	if (!e)
		e = es_buf_append(&text, "", 1);
	if (!e && (e = idx_tr_reindex(ix, w->call_row, w->channel, (const char *)text.p)))
		snprintf(err, errlen, "%s", idx_errmsg(ix));
	if (json.p)
		sodium_memzero(json.p, json.len);
	if (text.p)
		sodium_memzero(text.p, text.len);
	es_buf_free(&json);
	es_buf_free(&text);
	tr_text_free(&t);
	return e;
}

int rec_tr_reindex(struct idx *ix, const struct rec_tr_keysrc *src, unsigned *done,
		   unsigned *failed, char *err, size_t errlen)
{
	struct rows rs = {0};
	struct st_vault *v = NULL;
	bool own = false;
	*done = *failed = 0;
	int rc = idx_tr_unindexed(ix, take_row, &rs);
	if (rc) {
		snprintf(err, errlen, "%s", idx_errmsg(ix));
		goto out;
	}
	if (rs.n && (rc = vault_of(src, &v, &own, err, errlen)))
		goto out;
	for (size_t i = 0; i < rs.n; i++) {
		char e[400] = "";
		/* one transaction each: a transcript that cannot be read
		 * (its key shredded) stays out, the others go in */
		int r = idx_begin(ix);
		if (!r)
			r = reindex_one(ix, src, v, &rs.r[i], e, sizeof(e));
		if (!r)
			r = idx_commit(ix);
		else
			idx_rollback(ix);
		if (r) {
			(*failed)++;
			ES_LOG_WARNING("transcribe", "reindex: call %lld %s: %s",
				       (long long)rs.r[i].call_row, rs.r[i].channel ? "callee" : "caller",
				       *e ? e : es_strerror(r));
		} else {
			(*done)++;
		}
	}
out:
	if (own)
		st_vault_close(v);
	free(rs.r);
	return rc;
}
