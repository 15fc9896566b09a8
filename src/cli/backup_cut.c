/*
 * backup_cut.c - where `earshot backup` cuts the ledger so that it matches
 * the index snapshot it took.
 *
 * A recorder appends a recording's leaf (and signs a head over it) before
 * it commits the recording's row.  The snapshot of the index is taken
 * first and the ledger read afterwards, so the ledger read may end with
 * leaves whose rows came after the snapshot: restored, `verify` would call
 * them "row deleted".  The cut is therefore the newest signed head at
 * which the ledger and the snapshot agree:
 *   - every row of the snapshot has its leaf before the cut,
 *   - every recording leaf before the cut names a row of the snapshot (or
 *     a kept redaction original), unless a tombstone before the cut
 *     removed it,
 *   - no tombstone before the cut names a row the snapshot still has
 *     (a deletion is ledgered before its row goes; "shredded" keeps rows),
 *   - every leaf left out is younger than the in-flight window: an old
 *     leaf without a row is a finding to keep in the backup, not a write
 *     in progress to leave for the next one.
 * No such head (a recorder's writes interleaved with the snapshot): the
 * caller takes the snapshot again.
 */
#include "cli/backup.h"
#include "store/ledger.h"

#include <stdlib.h>
#include <string.h>

struct cut_path {
	struct es_hnode node;
	bool open; /* an unmatched leaf not yet tombstoned */
	char path[];
};

static bool cut_eq(const struct es_hnode *n, const void *key)
{
	return !strcmp(ES_CONTAINER_OF(n, struct cut_path, node)->path, key);
}

/* The node for path in t, added when absent; NULL when out of memory. */
static struct cut_path *cut_get(struct es_htab *t, const char *path, bool *added)
{
	uint64_t h = es_hash(path, strlen(path), 0);
	struct es_hnode *n = es_htab_find(t, h, cut_eq, path);
	*added = !n;
	if (n)
		return ES_CONTAINER_OF(n, struct cut_path, node);
	size_t len = strlen(path);
	struct cut_path *p = calloc(1, sizeof(*p) + len + 1);
	if (!p)
		return NULL;
	memcpy(p->path, path, len + 1);
	if (es_htab_insert(t, &p->node, h)) {
		free(p);
		return NULL;
	}
	return p;
}

static void cut_free(struct es_htab *t)
{
	size_t pos = 0;
	struct es_hnode *cur = NULL, *n;
	while ((n = es_htab_next(t, &pos, &cur)))
		free(ES_CONTAINER_OF(n, struct cut_path, node));
	es_htab_free(t);
}

uint64_t bk_head_size(const uint8_t *line, size_t len)
{
	struct st_head h;
	return st_head_parse((const char *)line, len, &h, NULL, 0) ? 0 : h.size;
}

int bk_cut_find(const struct es_buf *entries, const struct es_buf *heads,
		const struct bk_cut_rows *rows, int64_t now_us, int64_t window_us,
		struct bk_cut *out)
{
	struct es_htab seen, extra;
	if (es_htab_init(&seen, 256))
		return ES_ENOMEM;
	if (es_htab_init(&extra, 16)) {
		es_htab_free(&seen);
		return ES_ENOMEM;
	}
	/* The last leaf older than the window: the cut may not leave it out. */
	uint64_t min_size = 0, size = 0;
	size_t hpos = 0, best_e = 0, best_h = 0;
	uint64_t best = 0;
	size_t nseen = 0, nopen = 0;
	bool deleted_row = false, found = false;
	int rc = 0;
	struct st_ledger_entry e;
	for (size_t pos = 0; pos < entries->len && !rc;) {
		const uint8_t *nl = memchr(entries->p + pos, '\n', entries->len - pos);
		if (!nl)
			break;
		size_t len = (size_t)(nl - (entries->p + pos));
		bool parsed = !st_ledger_entry_parse((const char *)entries->p + pos, len, &e, NULL, 0);
		pos += len + 1;
		size++;
		if (parsed && e.time_us < now_us - window_us)
			min_size = size;
		if (parsed && e.type == ST_ENTRY_RECORDING) {
			bool added;
			if (rows->is_row(rows->ud, e.id)) {
				if (!cut_get(&seen, e.id, &added))
					rc = ES_ENOMEM;
				else
					nseen += added;
			} else if (!rows->is_known(rows->ud, e.id)) {
				struct cut_path *p = cut_get(&extra, e.id, &added);
				if (!p)
					rc = ES_ENOMEM;
				else if (!p->open)
					p->open = true, nopen++;
			}
		} else if (parsed && e.type == ST_ENTRY_TOMBSTONE) {
			struct es_hnode *n = es_htab_find(&extra, es_hash(e.id, strlen(e.id), 0),
							   cut_eq, e.id);
			struct cut_path *p = n ? ES_CONTAINER_OF(n, struct cut_path, node) : NULL;
			if (p && p->open)
				p->open = false, nopen--;
			else if (!p && strcmp(e.reason, "shredded") && rows->is_row(rows->ud, e.id))
				deleted_row = true;
		}
		/* the heads signed at this size (heads.log grows with entries.log) */
		while (hpos < heads->len) {
			const uint8_t *hn = memchr(heads->p + hpos, '\n', heads->len - hpos);
			if (!hn)
				break;
			size_t hlen = (size_t)(hn - (heads->p + hpos));
			uint64_t hs = bk_head_size(heads->p + hpos, hlen);
			if (hs > size)
				break;
			hpos += hlen + 1;
			if (hs == size && nseen == rows->nrows && !nopen && !deleted_row) {
				found = true;
				best = size;
				best_e = pos;
				best_h = hpos;
			}
		}
	}
	cut_free(&seen);
	cut_free(&extra);
	if (rc)
		return rc;
	if (!found || best < min_size)
		return ES_ENOTFOUND;
	out->size = best;
	out->entries_len = best_e;
	out->heads_len = best_h;
	return 0;
}
