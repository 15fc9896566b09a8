/*
 * evidence.c - what ties the index to the integrity ledger (store/ledger.h)
 * and to encryption at rest (store/vault.h): the canonical metadata a
 * recording's leaf carries, the leaf itself, the ledger's catch-up after a
 * crash, and the plaintext of a stored recording.
 */
#include "record/record.h"
#include "store/crypt.h"
#include "store/ledger.h"
#include "store/vault.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TAG "evidence"

static void json_party(struct es_json *j, const char *key, const struct idx_party *p)
{
	es_json_key(j, key);
	es_json_obj_begin(j);
	es_json_key(j, "uri");
	es_json_str(j, p->uri);
	es_json_key(j, "user");
	es_json_str(j, p->user);
	es_json_key(j, "display");
	es_json_str(j, p->display);
	es_json_key(j, "pai");
	es_json_str(j, p->pai);
	es_json_obj_end(j);
}

struct canon {
	struct es_buf *out;
	int err;
};

/* Version 1 of the canonical metadata: these keys in this order, compact,
 * one line ("consent" only for calls whose rule asked for it).  What may change after a recording is stored (tags, notes) is
 * not in it; everything that says what was recorded, when and between whom
 * is. */
static int canon_fn(void *ud, const struct idx_call *c)
{
	struct canon *k = ud;
	const struct idx_recording *r = c->recording;
	if (!r) {
		k->err = ES_ENOTFOUND;
		return 1;
	}
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f) {
		k->err = ES_ENOMEM;
		return 1;
	}
	struct es_json j;
	es_json_init(&j, f, false);
	es_json_obj_begin(&j);
	es_json_key(&j, "v");
	es_json_int(&j, 1);
	es_json_key(&j, "call_id");
	es_json_str(&j, c->call_id);
	es_json_key(&j, "start_us");
	es_json_int(&j, c->start_us);
	es_json_key(&j, "answer_us");
	es_json_int(&j, c->answer_us);
	es_json_key(&j, "end_us");
	es_json_int(&j, c->end_us);
	es_json_key(&j, "outcome");
	es_json_str(&j, c->outcome);
	es_json_key(&j, "sip_code");
	es_json_int(&j, c->sip_code);
	es_json_key(&j, "end_reason");
	es_json_str(&j, c->end_reason);
	es_json_key(&j, "source");
	es_json_str(&j, c->source);
	es_json_key(&j, "flags");
	es_json_str(&j, c->flags);
	json_party(&j, "caller", &c->caller);
	json_party(&j, "callee", &c->callee);
	if (c->consent[0] || c->consent[1]) {
		/* only when the rule asked for consent: the metadata of every
		 * other recording stays byte for byte what its leaf signed */
		es_json_key(&j, "consent");
		es_json_obj_begin(&j);
		es_json_key(&j, "caller");
		es_json_str(&j, c->consent[0]);
		es_json_key(&j, "callee");
		es_json_str(&j, c->consent[1]);
		es_json_key(&j, "evidence");
		es_json_raw(&j, c->consent_json);
		es_json_obj_end(&j);
	}
	es_json_key(&j, "recording");
	es_json_obj_begin(&j);
	es_json_key(&j, "path");
	es_json_str(&j, r->path);
	es_json_key(&j, "format");
	es_json_str(&j, r->format);
	es_json_key(&j, "bytes");
	es_json_int(&j, (int64_t)r->bytes);
	es_json_key(&j, "sha256");
	es_json_str(&j, r->sha256);
	es_json_key(&j, "plain_sha256");
	es_json_str(&j, r->plain_sha256);
	es_json_key(&j, "encrypted");
	es_json_bool(&j, r->encrypted);
	es_json_key(&j, "start_us");
	es_json_int(&j, r->start_us);
	es_json_key(&j, "duration_us");
	es_json_int(&j, r->duration_us);
	es_json_key(&j, "rate");
	es_json_int(&j, r->rate);
	es_json_key(&j, "channels");
	es_json_int(&j, r->channels);
	es_json_key(&j, "codecs");
	es_json_str(&j, r->codecs);
	es_json_key(&j, "flags");
	es_json_str(&j, r->flags);
	es_json_obj_end(&j);
	/* the recorder's clock while it captured (MiFID II RTS 25); only when
	 * known, so metadata signed before it existed is unchanged */
	if (c->clock_json) {
		es_json_key(&j, "clock");
		es_json_raw(&j, c->clock_json);
	}
	es_json_obj_end(&j);
	es_json_end(&j);
	fclose(f);
	if (!text) {
		k->err = ES_ENOMEM;
		return 1;
	}
	if (es_buf_append(k->out, text, len))
		k->err = ES_ENOMEM;
	free(text);
	return 0;
}

int rec_canon_meta(struct idx *ix, int64_t call_row, struct es_buf *out)
{
	struct canon k = {out, 0};
	int rc = idx_call_get(ix, call_row, canon_fn, &k);
	return k.err ? k.err : rc;
}

static int unhex32(const char *hex, uint8_t out[32])
{
	if (!hex || strlen(hex) != 64)
		return ES_EPARSE;
	size_t n = 0;
	return sodium_hex2bin(out, 32, hex, 64, NULL, &n, NULL) == 0 && n == 32 ? 0 : ES_EPARSE;
}

static int64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * ES_US_PER_SEC + ts.tv_nsec / 1000;
}

/* The leaf of call row call_row's recording. */
static int ledger_add(struct idx *ix, struct st_ledger *l, int64_t call_row, const char *path,
		      const char *sha, const char *plain)
{
	struct es_buf meta;
	es_buf_init(&meta);
	int rc = rec_canon_meta(ix, call_row, &meta);
	uint8_t mh[32], ch[32], ph[32];
	if (!rc) {
		crypto_hash_sha256(mh, meta.p, meta.len);
		rc = unhex32(sha, ch);
	}
	bool have_plain = plain && unhex32(plain, ph) == 0;
	if (!rc)
		rc = st_ledger_append_recording(l, path, mh, ch, have_plain ? ph : NULL, wall_us(),
						NULL);
	es_buf_free(&meta);
	return rc;
}

int rec_ledger_leaf(struct idx *ix, struct st_ledger *l, const struct idx_recording *rec)
{
	return ledger_add(ix, l, rec->call_row, rec->path, rec->sha256, rec->plain_sha256);
}

/* Recordings of this node that have no leaf: found by path and node only
 * (idx_recording_paths), their hashes read afterwards, call by call, for
 * these few (the common case has none). */
struct catch_up {
	struct idx *ix;
	struct st_ledger *l;
	int64_t *rows;
	size_t n, cap;
};

static int catch_up_fn(void *ud, const struct idx_rec_path *r)
{
	struct catch_up *k = ud;
	uint64_t seq;
	bool tomb;
	if (!r->path || st_ledger_find(k->l, r->path, &seq, &tomb) == 0)
		return 0;
	/* on a shared index, another node's recording is its own ledger's */
	if (!idx_call_is_mine(k->ix, r->node))
		return 0;
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 16;
		int64_t *p = realloc(k->rows, cap * sizeof(*p));
		if (!p)
			return ES_ENOMEM;
		k->rows = p;
		k->cap = cap;
	}
	k->rows[k->n++] = r->call_row;
	return 0;
}

/* One missing leaf: the call's start (the order leaves are entered in:
 * by start time, then id, as the calls are listed) and its recording. */
struct missing {
	int64_t start_us, call_row;
	char path[1024], sha256[65], plain_sha256[65];
	bool have_plain;
};

static int missing_fn(void *ud, const struct idx_call *c)
{
	struct missing *m = ud;
	const struct idx_recording *r = c->recording;
	if (!r || !r->path || !r->sha256)
		return ES_ENOTFOUND;
	m->start_us = c->start_us;
	m->call_row = c->id;
	snprintf(m->path, sizeof(m->path), "%s", r->path);
	snprintf(m->sha256, sizeof(m->sha256), "%s", r->sha256);
	m->have_plain = r->plain_sha256 != NULL;
	snprintf(m->plain_sha256, sizeof(m->plain_sha256), "%s", m->have_plain ? r->plain_sha256 : "");
	return 0;
}

static int missing_cmp(const void *a, const void *b)
{
	const struct missing *x = a, *y = b;
	if (x->start_us != y->start_us)
		return x->start_us < y->start_us ? -1 : 1;
	return x->call_row < y->call_row ? -1 : x->call_row > y->call_row;
}

/* Enter the leaves of k's rows; *added counts them. */
static int catch_up_add(struct catch_up *k, unsigned *added)
{
	struct missing *m = k->n ? calloc(k->n, sizeof(*m)) : NULL;
	if (k->n && !m)
		return ES_ENOMEM;
	size_t n = 0;
	int rc = 0;
	for (size_t i = 0; i < k->n && !rc; i++) {
		rc = idx_call_brief(k->ix, k->rows[i], missing_fn, &m[n]);
		if (rc == ES_ENOTFOUND) /* gone meanwhile */
			rc = 0;
		else if (!rc)
			n++;
	}
	if (n) /* qsort of NULL is undefined even for 0 */
		qsort(m, n, sizeof(*m), missing_cmp);
	for (size_t i = 0; i < n && !rc; i++) {
		rc = ledger_add(k->ix, k->l, m[i].call_row, m[i].path, m[i].sha256,
				m[i].have_plain ? m[i].plain_sha256 : NULL);
		if (!rc)
			(*added)++;
	}
	free(m);
	return rc;
}

int rec_ledger_open(const char *data_dir, struct idx *ix, bool create, const char *key_path,
		    struct st_ledger **out, unsigned *added, char *err, size_t errlen)
{
	char dir[1100];
	snprintf(dir, sizeof(dir), "%s/ledger", data_dir);
	if (added)
		*added = 0;
	int rc = st_ledger_open_key(out, dir, create ? ST_LEDGER_CREATE : 0, key_path, err, errlen);
	if (rc)
		return rc;
	struct catch_up k = {ix, *out, NULL, 0, 0};
	unsigned n_added = 0;
	rc = idx_recording_paths(ix, catch_up_fn, &k);
	if (!rc)
		rc = catch_up_add(&k, &n_added);
	free(k.rows);
	if (rc) {
		snprintf(err, errlen, "%s: recordings of the index could not be entered: %s", dir,
			 es_strerror(rc));
		st_ledger_close(*out);
		*out = NULL;
		return rc;
	}
	if (n_added)
		ES_LOG_WARNING(TAG, "%s: %u recordings of the index had no leaf (a crash between the "
			       "index and the ledger): entered now", dir, n_added);
	if (added)
		*added = n_added;
	rc = st_ledger_commit(*out);
	if (rc) {
		snprintf(err, errlen, "%s: cannot sign a head: %s", dir, es_strerror(rc));
		st_ledger_close(*out);
		*out = NULL;
	}
	return rc;
}


static int copy_file(const char *src, const char *dst, char *err, size_t errlen)
{
	char tmp[1200];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", dst, (long)getpid());
	FILE *in = fopen(src, "rb"), *out = in ? fopen(tmp, "wb") : NULL;
	bool ok = in && out;
	uint8_t buf[65536];
	size_t n;
	while (ok && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		ok = fwrite(buf, 1, n, out) == n;
	ok = ok && !ferror(in);
	int e = errno;
	if (in)
		fclose(in);
	if (out && fclose(out))
		ok = false;
	if (!ok || rename(tmp, dst)) {
		unlink(tmp);
		snprintf(err, errlen, "%s: %s", dst, strerror(ok ? errno : e));
		return ES_EIO;
	}
	return 0;
}

int rec_recording_plain(const char *data_dir, struct st_vault *vault,
			const struct idx_recording *rec, const char *dst, char *err, size_t errlen)
{
	char path[1200], hex[65];
	if (rec_recording_path(data_dir, rec, path, sizeof(path)))
		return ES_ELIMIT;
	if (st_sha256_file(path, NULL, hex)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ES_EIO;
	}
	if (!rec->sha256 || strcmp(hex, rec->sha256) != 0) {
		snprintf(err, errlen, "%s: altered: its SHA-256 is %s, the index says %s", path, hex,
			 rec->sha256 ? rec->sha256 : "(none)");
		return ES_ECRYPTO;
	}
	if (!rec->encrypted)
		return copy_file(path, dst, err, errlen);
	if (!vault) {
		snprintf(err, errlen, "%s: encrypted, and the data folder has no keys", path);
		return ES_ENOTFOUND;
	}
	struct st_dek *dek = NULL;
	int rc = st_vault_key(vault, rec->path, &dek, err, errlen);
	if (rc)
		return rc;
	rc = st_enc_decrypt_file(path, dst, dek, err, errlen);
	st_dek_free(dek);
	return rc;
}
