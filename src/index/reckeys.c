/*
 * reckeys.c - shared data keys (schema IDX_MIG_SHARED_KEYS, issue #16):
 * each recording's wrapped data key and each recorder's bucket, so that a
 * web node with the KEK and the index, but no recorder's data folder, opens
 * any recording.  Storage only: what a wrapped key is and who may unwrap it
 * is store/crypt.h's; record/ decides when to publish.
 *
 * Prepared per call (idx_prep) like nodes.c: a key is written once per
 * recording and read once per playback (the API caches unwrapped keys).
 */
#include "index/index_internal.h"

#include <stdlib.h>
#include <string.h>

static int step_done(struct idx *ix, struct idx_st *st, const char *what)
{
	int rc = db_step(st);
	int err = rc == DB_DONE ? 0 : idx_fail(ix, what);
	db_finalize(st);
	return err;
}

int idx_reckey_put(struct idx *ix, const char *path, const char *wrapped, const char *node,
		   int64_t now_us)
{
	if (!path || !*path || !wrapped || !*wrapped)
		return ES_EINVAL;
	struct idx_st *st = idx_prep(ix,
		"INSERT INTO rec_keys (path, wrapped, node, created_us) VALUES (?1, ?2, ?3, ?4)"
		" ON CONFLICT (path) DO UPDATE SET wrapped = excluded.wrapped,"
		" node = excluded.node");
	if (!st)
		return ES_EDB;
	db_bind_text(st, 1, path);
	db_bind_text(st, 2, wrapped);
	db_bind_textn(st, 3, node, IDX_NODE_MAX);
	db_bind_int64(st, 4, now_us);
	return step_done(ix, st, "publish a recording's wrapped key");
}

int idx_reckey_get(struct idx *ix, const char *path, char *out, size_t cap)
{
	struct idx_st *st = idx_prep(ix, "SELECT wrapped FROM rec_keys WHERE path = ?1");
	if (!st)
		return ES_EDB;
	db_bind_text(st, 1, path);
	int rc = db_step(st), ret;
	if (rc == DB_ROW) {
		const char *w = db_col_text(st, 0);
		size_t n = w ? strlen(w) : 0;
		ret = n + 1 > cap ? ES_ELIMIT : 0;
		if (!ret)
			memcpy(out, w ? w : "", n + 1);
	} else {
		ret = rc == DB_DONE ? ES_ENOTFOUND : idx_fail(ix, "read a recording's wrapped key");
	}
	db_finalize(st);
	return ret;
}

int idx_reckey_del(struct idx *ix, const char *path)
{
	struct idx_st *st = idx_prep(ix, "DELETE FROM rec_keys WHERE path = ?1");
	if (!st)
		return ES_EDB;
	db_bind_text(st, 1, path);
	return step_done(ix, st, "delete a recording's wrapped key");
}

int idx_node_blobs_set(struct idx *ix, const char *node, const char *blobs)
{
	if (!idx_node_name_ok(node))
		return ES_EINVAL;
	struct idx_st *st = idx_prep(ix,
		"INSERT INTO nodes (name, blobs) VALUES (?1, ?2)"
		" ON CONFLICT (name) DO UPDATE SET blobs = excluded.blobs");
	if (!st)
		return ES_EDB;
	db_bind_text(st, 1, node);
	db_bind_textn(st, 2, blobs, 4096);
	return step_done(ix, st, "publish the node's bucket");
}

int idx_node_blobs_get(struct idx *ix, const char *node, char **out)
{
	*out = NULL;
	struct idx_st *st = idx_prep(ix, "SELECT blobs FROM nodes WHERE name = ?1");
	if (!st)
		return ES_EDB;
	db_bind_text(st, 1, node ? node : "");
	int rc = db_step(st), ret = ES_ENOTFOUND;
	if (rc == DB_ROW && db_col_text(st, 0)) {
		*out = strdup(db_col_text(st, 0));
		ret = *out ? 0 : ES_ENOMEM;
	} else if (rc != DB_ROW && rc != DB_DONE) {
		ret = idx_fail(ix, "read the node's bucket");
	}
	db_finalize(st);
	return ret;
}
