/*
 * nodes.c - recorder nodes on a shared index (schema IDX_MIG_NODES, issue
 * #16): the node each new call is written with, each node's newest signed
 * ledger head and its calls in progress.  Storage only: record/ and cli/
 * decide what to publish, api/ and `earshot verify` read it back.
 *
 * Prepared per call (idx_prep) like users.c: a head is published once per
 * ledger commit and the calls in progress about once a second, where a
 * prepare does not show.
 */
#include "index/index_internal.h"

#include <stdlib.h>
#include <string.h>

bool idx_node_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n >= IDX_NODE_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

int idx_set_node(struct idx *ix, const char *name)
{
	if (name && !idx_node_name_ok(name))
		return ES_EINVAL;
	char *copy = NULL;
	if (name && !(copy = strdup(name)))
		return ES_ENOMEM;
	free(ix->node);
	ix->node = copy;
	return 0;
}

const char *idx_node(const struct idx *ix) { return ix ? ix->node : NULL; }

bool idx_shared(const struct idx *ix) { return ix && ix->eng == &idx_engine_pg; }

bool idx_call_is_mine(const struct idx *ix, const char *node)
{
	return !idx_shared(ix) || !node || !ix->node || strcmp(node, ix->node) == 0;
}

static int step_done(struct idx *ix, struct idx_st *st, const char *what)
{
	int rc = db_step(st);
	int err = rc == DB_DONE ? 0 : idx_fail(ix, what);
	db_finalize(st);
	return err;
}

int idx_node_head_set(struct idx *ix, const char *node, const char *ledger, const char *head,
		      uint64_t size, int64_t now_us)
{
	if (!idx_node_name_ok(node) || !head)
		return ES_EINVAL;
	/* the WHERE keeps a published head from going back: a node restored
	 * from an old copy of its ledger shows as behind its own head */
	struct idx_st *st = idx_prep(ix,
		"INSERT INTO nodes (name, ledger, head, head_size, head_us)"
		" VALUES (?1, ?2, ?3, ?4, ?5)"
		" ON CONFLICT (name) DO UPDATE SET ledger = excluded.ledger,"
		" head = excluded.head, head_size = excluded.head_size, head_us = excluded.head_us"
		" WHERE excluded.head_size >= nodes.head_size");
	if (!st)
		return ES_EDB;
	db_bind_text(st, 1, node);
	db_bind_text(st, 2, ledger);
	db_bind_text(st, 3, head);
	db_bind_int64(st, 4, (int64_t)size);
	db_bind_int64(st, 5, now_us);
	return step_done(ix, st, "publish the node's head");
}

int idx_node_active_set(struct idx *ix, const char *node, const char *active, int64_t now_us)
{
	if (!idx_node_name_ok(node))
		return ES_EINVAL;
	struct idx_st *st = idx_prep(ix,
		"INSERT INTO nodes (name, active, active_us) VALUES (?1, ?2, ?3)"
		" ON CONFLICT (name) DO UPDATE SET active = excluded.active,"
		" active_us = excluded.active_us");
	if (!st)
		return ES_EDB;
	db_bind_text(st, 1, node);
	db_bind_text(st, 2, active);
	db_bind_int64(st, 3, now_us);
	return step_done(ix, st, "publish the node's calls in progress");
}

int idx_nodes_list(struct idx *ix, idx_node_fn fn, void *ud)
{
	struct idx_st *st = idx_prep(ix,
		"SELECT name, ledger, head, head_size, head_us, active, active_us"
		" FROM nodes ORDER BY name");
	if (!st)
		return ES_EDB;
	int rc, ret = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		struct idx_node n = {
			.name = db_col_text(st, 0),
			.ledger = db_col_text(st, 1),
			.head = db_col_text(st, 2),
			.head_size = (uint64_t)db_col_int64(st, 3),
			.head_us = db_col_int64(st, 4),
			.active = db_col_text(st, 5),
			.active_us = db_col_int64(st, 6),
		};
		if ((ret = fn(ud, &n)))
			break;
	}
	if (!ret && rc != DB_DONE)
		ret = idx_fail(ix, "list the nodes");
	db_finalize(st);
	return ret;
}

/* Keyset pages: PostgreSQL hands a statement's whole result over at once
 * (index_pg.c), so a page bounds what one step holds on a big index. */
#define REC_PATH_PAGE 10000

int idx_recording_paths(struct idx *ix, idx_rec_path_fn fn, void *ud)
{
	int64_t after = 0;
	for (;;) {
		struct idx_st *st = idx_prep(ix, "SELECT r.call_row, r.path, c.node"
						 " FROM recordings r JOIN calls c ON c.id = r.call_row"
						 " WHERE r.call_row > ?1 ORDER BY r.call_row LIMIT ?2");
		if (!st)
			return ES_EDB;
		db_bind_int64(st, 1, after);
		db_bind_int64(st, 2, REC_PATH_PAGE);
		int rc, err = 0;
		size_t n = 0;
		while ((rc = db_step(st)) == DB_ROW) {
			struct idx_rec_path r = {
				.call_row = db_col_int64(st, 0),
				.path = db_col_text(st, 1),
				.node = db_col_text(st, 2),
			};
			after = r.call_row;
			n++;
			if ((err = fn(ud, &r)))
				break;
		}
		if (!err && rc != DB_DONE)
			err = idx_fail(ix, "recording paths");
		db_finalize(st);
		if (err || n < REC_PATH_PAGE)
			return err;
	}
}

int idx_transcript_keys(struct idx *ix, idx_tr_key_fn fn, void *ud)
{
	int64_t after = 0, after_ch = -1;
	for (;;) {
		struct idx_st *st = idx_prep(ix, "SELECT t.call_row, t.channel, t.created_us, r.path,"
						 " c.node FROM transcripts t"
						 " JOIN recordings r ON r.call_row = t.call_row"
						 " JOIN calls c ON c.id = t.call_row"
						 " WHERE t.call_row > ?1 OR (t.call_row = ?1 AND"
						 " t.channel > ?2) ORDER BY t.call_row, t.channel"
						 " LIMIT ?3");
		if (!st)
			return ES_EDB;
		db_bind_int64(st, 1, after);
		db_bind_int64(st, 2, after_ch);
		db_bind_int64(st, 3, REC_PATH_PAGE);
		int rc, err = 0;
		size_t n = 0;
		while ((rc = db_step(st)) == DB_ROW) {
			struct idx_tr_key k = {
				.call_row = db_col_int64(st, 0),
				.channel = db_col_int(st, 1),
				.created_us = db_col_int64(st, 2),
				.path = db_col_text(st, 3),
				.node = db_col_text(st, 4),
			};
			after = k.call_row;
			after_ch = k.channel;
			n++;
			if ((err = fn(ud, &k)))
				break;
		}
		if (!err && rc != DB_DONE)
			err = idx_fail(ix, "transcript keys");
		db_finalize(st);
		if (err || n < REC_PATH_PAGE)
			return err;
	}
}
