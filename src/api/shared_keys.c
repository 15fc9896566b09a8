/*
 * shared_keys.c - a web node's way to the data keys it does not hold
 * (issue #16): recordings made by other nodes have their wrapped keys in
 * the shared index (record/shared_keys.c), which the vault reads through
 * st_vault_remote when DATA/keys has none.  Lookups go through one
 * connection of their own under a lock: a request already holds one of
 * the pool's, and taking a second could wait forever for a full pool.
 */
#include "api/server_internal.h"
#include "record/record.h"
#include "store/vault.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TAG "keys"

struct srv_keyix {
	pthread_mutex_t lock;
	struct idx *ix; /* opened on first use */
	const char *index_path; /* the server's */
};

/* The connection, opened on first use (k->lock held). */
static struct idx *keyix_get(struct srv_keyix *k)
{
	char err[512];
	if (!k->ix && idx_open(&k->ix, k->index_path, err, sizeof(err))) {
		ES_LOG_ERR(TAG, "%s", err);
		k->ix = NULL;
	}
	return k->ix;
}

static int remote_get(void *ud, const char *rec_id, char *wrapped, size_t cap)
{
	struct srv_keyix *k = ud;
	pthread_mutex_lock(&k->lock);
	struct idx *ix = keyix_get(k);
	int rc = ix ? idx_reckey_get(ix, rec_id, wrapped, cap) : ES_EDB;
	if (rc == ES_EDB && ix) {
		/* a broken connection is not kept: the next lookup opens anew */
		ES_LOG_ERR(TAG, "%s: %s", rec_id, idx_errmsg(ix));
		idx_close(ix);
		k->ix = NULL;
	}
	pthread_mutex_unlock(&k->lock);
	return rc;
}

static int remote_del(void *ud, const char *rec_id)
{
	struct srv_keyix *k = ud;
	pthread_mutex_lock(&k->lock);
	struct idx *ix = keyix_get(k);
	int rc = ix ? idx_reckey_del(ix, rec_id) : ES_EDB;
	pthread_mutex_unlock(&k->lock);
	return rc;
}

int srv_keys_remote(struct api_server *s)
{
	if (!s->vault)
		return 0;
	struct srv_keyix *k = calloc(1, sizeof(*k));
	if (!k)
		return ES_ENOMEM;
	pthread_mutex_init(&k->lock, NULL);
	k->index_path = s->index_path;
	s->keyix = k;
	const struct st_vault_remote r = {.get = remote_get, .del = remote_del, .ud = k};
	st_vault_set_remote(s->vault, &r);
	return 0;
}

void srv_keys_remote_free(struct srv_keyix *k)
{
	if (!k)
		return;
	idx_close(k->ix);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

bool srv_rec_elsewhere(struct srv_req *r, const char *node, const char *path)
{
	return rec_recording_elsewhere(r->srv->data_dir, r->ix, node, path);
}

int srv_rec_fetch(struct srv_req *r, const char *node, const char *path, const char *sha256,
		  char *out, size_t cap, char *err, size_t errlen)
{
	int rc = rec_tier_fetch_node(r->srv->data_dir, r->ix, node, path, sha256, out, cap, err,
				     errlen);
	if (rc == ES_ENOTFOUND && !*err)
		es_errf(err, errlen, rc, "neither this node nor node %s's published bucket holds %s",
			node, path);
	return rc;
}

const char *srv_no_kek_msg(char *out, size_t cap)
{
	snprintf(out, cap, "this node has no key-encryption key: set $%s or copy the "
		 "recorders' DATA/keys/kek.keys", ST_KEK_ENV);
	return out;
}

const char *srv_elsewhere_msg(const char *node, const char *why, char *out, size_t cap)
{
	return rec_elsewhere_msg(node, why, out, cap);
}

int srv_rec_reach(struct srv_req *r, const struct srv_rec *ar, char *err, size_t errlen)
{
	if (!ar->has_rec || ar->bad_path)
		return 0;
	if (ar->rec.encrypted && !r->srv->vault) {
		srv_no_kek_msg(err, errlen);
		return ES_ENOKEK;
	}
	return rec_recording_reach(r->srv->data_dir, r->ix, ar->node, ar->path, ar->sha256, err,
				   errlen);
}

int srv_rec_unreachable(struct srv_req *r, const char *action, const char *obj, int e,
			const char *err)
{
	srv_audit(r, action, obj, API_AUDIT_FAILED, err);
	if (e == ES_ECRYPTO)
		return srv_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "tampered", NULL,
				 "the recording does not match its hash: %s", err);
	return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, e == ES_ENOKEK ? "no_kek" : "elsewhere",
			 NULL, "%s", err);
}

int srv_transcript_load(struct srv_req *r, const struct srv_rec *ar, int ch, struct es_buf *out,
			char *err, size_t errlen)
{
	/* the same test as the recording's: another node's words are in its
	 * bucket once the recording is (rec_tier_move archives both) */
	bool elsewhere = srv_rec_elsewhere(r, ar->node, ar->path);
	return rec_transcript_load_node(r->srv->data_dir, elsewhere ? r->ix : NULL,
					elsewhere ? ar->node : NULL, r->srv->vault, &ar->rec, ch,
					out, err, errlen);
}
