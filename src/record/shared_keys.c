/*
 * shared_keys.c - data keys shared through the index (issue #16): a
 * recorder publishes each recording's wrapped data key (never a plaintext
 * one) into the index beside the recording's row, and a web node with the
 * KEK reads it back when its own data folder has none.  The KEK is what
 * makes a row worth anything: the index alone opens nothing.
 */
#include "record/record.h"
#include "store/vault.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define TAG "keys"

static int64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * ES_US_PER_SEC + ts.tv_nsec / 1000;
}

int rec_keys_publish(struct idx *ix, struct st_vault *v, const struct idx_recording *rec)
{
	if (!v || !rec || !rec->encrypted || !rec->path || !idx_shared(ix))
		return 0;
	char wrapped[ST_WRAPPED_MAX + 8];
	int rc = st_vault_wrapped(v, rec->path, wrapped, sizeof(wrapped));
	if (!rc)
		rc = idx_reckey_put(ix, rec->path, wrapped, idx_node(ix), wall_us());
	sodium_memzero(wrapped, sizeof(wrapped));
	if (rc)
		ES_LOG_ERR(TAG, "%s: its wrapped data key is not in the index (%s); other nodes "
			   "cannot open it until `earshot keys publish`", rec->path,
			   rc == ES_EDB ? idx_errmsg(ix) : es_strerror(rc));
	return rc;
}

struct pub_all {
	struct idx *ix;
	unsigned n;
	int64_t now_us;
};

static int pub_one(void *ud, const char *rec_id, const char *wrapped)
{
	struct pub_all *p = ud;
	int rc = idx_reckey_put(p->ix, rec_id, wrapped, idx_node(p->ix), p->now_us);
	if (!rc)
		p->n++;
	return rc;
}

int rec_keys_publish_all(struct idx *ix, struct st_vault *v, unsigned *n)
{
	struct pub_all p = {.ix = ix, .now_us = wall_us()};
	/* one transaction: on PostgreSQL every statement is a round trip and
	 * a commit each would cost an fsync per key */
	int rc = idx_begin(ix);
	if (!rc)
		rc = st_vault_each(v, pub_one, &p);
	if (!rc)
		rc = idx_commit(ix);
	else
		idx_rollback(ix);
	*n = rc ? 0 : p.n;
	return rc;
}

/* st_vault_remote over one index handle (one thread). */
static int remote_get(void *ud, const char *rec_id, char *wrapped, size_t cap)
{
	return idx_reckey_get(ud, rec_id, wrapped, cap);
}

static int remote_del(void *ud, const char *rec_id)
{
	return idx_reckey_del(ud, rec_id);
}

void rec_keys_remote(struct st_vault *v, struct idx *ix)
{
	if (!v || !idx_shared(ix))
		return;
	const struct st_vault_remote r = {.get = remote_get, .del = remote_del, .ud = ix};
	st_vault_set_remote(v, &r);
}

int rec_keys_publish_blobs(const char *data_dir, struct idx *ix)
{
	char text[2048];
	const char *node = idx_node(ix);
	if (!idx_shared(ix) || !node)
		return 0;
	int rc = rec_blobs_public(data_dir, text, sizeof(text));
	if (rc == ES_ENOTFOUND)
		return 0;
	if (!rc)
		rc = idx_node_blobs_set(ix, node, text);
	if (rc)
		ES_LOG_ERR(TAG, "node %s: its bucket is not published in the index (%s): web nodes "
			   "cannot read its archived recordings", node,
			   rc == ES_EDB ? idx_errmsg(ix) : es_strerror(rc));
	return rc;
}

/* ---- another node's recording, wherever it is (issue #16) ------------------------------- */

bool rec_recording_elsewhere(const char *data_dir, struct idx *ix, const char *node,
			     const char *path)
{
	char p[4400];
	struct stat st;
	if (!idx_shared(ix) || !node || !*node || !path)
		return false;
	/* this folder's own recording: a missing file is missing (gone), not
	 * another node's to reach */
	if (idx_node(ix) && !strcmp(node, idx_node(ix)))
		return false;
	if (snprintf(p, sizeof(p), "%s/%s", data_dir, path) >= (int)sizeof(p))
		return false;
	return stat(p, &st) != 0 && errno == ENOENT;
}

const char *rec_elsewhere_msg(const char *node, const char *why, char *out, size_t cap)
{
	snprintf(out, cap, "the recording is kept by node %.63s and is not in its bucket yet: "
		 "this node cannot reach it%s%.300s", node, why && *why ? ": " : "",
		 why ? why : "");
	return out;
}

int rec_recording_reach(const char *data_dir, struct idx *ix, const char *node,
			const char *path, const char *sha256, char *err, size_t errlen)
{
	if (!rec_recording_elsewhere(data_dir, ix, node, path))
		return 0;
	char cached[4400], why[512] = "";
	int rc = rec_tier_fetch_node(data_dir, ix, node, path, sha256 && *sha256 ? sha256 : NULL,
				     cached, sizeof(cached), why, sizeof(why));
	if (!rc)
		return 0;
	if (rc == ES_ECRYPTO) { /* the bucket's copy is not the one the index names */
		snprintf(err, errlen, "%s", why);
		return rc;
	}
	if (rc == ES_ENOTFOUND && !*why)
		snprintf(why, sizeof(why), "neither this node nor node %s's published bucket holds "
			 "%s", node, path);
	rec_elsewhere_msg(node, why, err, errlen);
	return ES_EUNSUP;
}
