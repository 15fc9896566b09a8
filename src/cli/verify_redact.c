/* verify_redact.c - `earshot verify` for redactions (record/redact.c): each
 * redaction's redact leaf names the redacted recording, the original's rec
 * leaf, the span and channel, and the hash of the redaction's details as
 * the index holds them; the original is either kept (its file matches its
 * leaf, its key unwraps) or shredded (a tombstone after the redaction, no
 * key): "redacted" when the redaction shredded it, the cause (delete,
 * retention, erasure, keys shred) when the call's deletion took it. */
#include "cli/cli.h"
#include "store/crypt.h"
#include "store/ledger.h"
#include "store/vault.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct vr_item {
	struct idx_redaction r;   /* strings owned below */
	char *strs[8];
	char call_id[256];
	bool seen_redact, seen_orig, tomb;
	struct st_ledger_entry redact, orig;
};

struct vr {
	struct idx *ix;
	struct vr_item *v;
	size_t n, cap;
	int err;
};

static char *dup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int take_call_id(void *ud, const struct idx_call *c)
{
	snprintf(ud, 256, "%s", c->call_id ? c->call_id : "");
	return 0;
}

static int take(void *ud, const struct idx_redaction *r)
{
	struct vr *k = ud;
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 16;
		void *p = realloc(k->v, cap * sizeof(*k->v));
		if (!p)
			return k->err = ES_ENOMEM;
		k->v = p;
		k->cap = cap;
	}
	struct vr_item *it = &k->v[k->n++];
	memset(it, 0, sizeof(*it));
	it->r = *r;
	const char **fields[] = {&it->r.channel, &it->r.fill, &it->r.reason, &it->r.by,
				 &it->r.path, &it->r.original_path, &it->r.original_sha256,
				 &it->r.original_state};
	for (size_t i = 0; i < ES_ARRAY_LEN(fields); i++)
		*fields[i] = it->strs[i] = dup(*fields[i]);
	it->r.original_plain_sha256 = NULL;
	it->r.original_format = NULL;
	return 0;
}

void cli_verify_redactions_free(struct cli_vr *vr)
{
	struct vr *k = (struct vr *)vr;
	if (!k)
		return;
	for (size_t i = 0; i < k->n; i++)
		for (size_t j = 0; j < ES_ARRAY_LEN(k->v[i].strs); j++)
			free(k->v[i].strs[j]);
	free(k->v);
	free(k);
}

int cli_verify_redactions_load(struct idx *ix, int64_t call_row, struct cli_vr **out)
{
	struct vr *k = calloc(1, sizeof(*k));
	*out = NULL;
	if (!k)
		return ES_ENOMEM;
	k->ix = ix;
	int rc = idx_redactions_list(ix, call_row, take, k);
	if (!rc && k->err)
		rc = k->err;
	for (size_t i = 0; !rc && i < k->n; i++)
		idx_call_get(ix, k->v[i].r.call_row, take_call_id, k->v[i].call_id);
	if (rc) {
		cli_verify_redactions_free((struct cli_vr *)k);
		return rc;
	}
	*out = (struct cli_vr *)k;
	return 0;
}

size_t cli_verify_redactions_originals(const struct cli_vr *vr, const char **paths, size_t cap)
{
	const struct vr *k = (const struct vr *)vr;
	size_t n = 0;
	for (size_t i = 0; k && i < k->n && n < cap; i++)
		paths[n++] = k->v[i].r.original_path;
	return n;
}

/* One pass over entries.log: the leaves the redactions name. */
static void scan(struct vr *k, const char *entries)
{
	FILE *f = fopen(entries, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	struct st_ledger_entry e;
	while (f && (n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n' || st_ledger_entry_parse(line, (size_t)n - 1, &e, NULL, 0))
			continue;
		for (size_t i = 0; i < k->n; i++) {
			struct vr_item *it = &k->v[i];
			if ((int64_t)e.seq == it->r.leaf)
				it->redact = e, it->seen_redact = true;
			if ((int64_t)e.seq == it->r.original_leaf)
				it->orig = e, it->seen_orig = true;
			if (e.type == ST_ENTRY_TOMBSTONE && !strcmp(e.id, it->r.original_path) &&
			    (int64_t)e.seq > it->r.leaf)
				it->tomb = true;
		}
	}
	free(line);
	if (f)
		fclose(f);
}

static void check_original(const struct vr_item *it, const char *data_dir,
			   struct st_vault *vault, cli_vr_report_fn report, void *ctx)
{
	const struct idx_redaction *r = &it->r;
	char file[4200], hex[65], msg[1024];
	snprintf(file, sizeof(file), "%s/%s", data_dir, r->original_path);
	bool has_key = vault && st_vault_has_key(vault, r->original_path);
	if (!strcmp(r->original_state, "shredded")) {
		if (!it->tomb)
			report(ctx, r->original_path, "redaction_unproven",
			       "the original of a redaction is marked shredded but the ledger has "
			       "no tombstone for it after the redaction", true);
		else if (has_key)
			report(ctx, r->original_path, "shred_incomplete",
			       "the ledger says shredded after redaction but its data key still "
			       "exists", true);
		else
			report(ctx, r->original_path, "shredded",
			       "original of a redaction, shredded (expected)", false);
		return;
	}
	if (st_sha256_file(file, NULL, hex)) {
		report(ctx, r->original_path, "missing",
		       "the kept original of a redaction is missing", true);
		return;
	}
	char lhex[65] = "";
	if (it->orig.has_cipher)
		sodium_bin2hex(lhex, sizeof(lhex), it->orig.cipher_sha256, 32);
	if (strcmp(hex, r->original_sha256) || (it->orig.has_cipher && strcmp(hex, lhex))) {
		snprintf(msg, sizeof(msg), "the kept original of a redaction was altered: SHA-256 "
			 "%s, the index says %s, its leaf %s", hex, r->original_sha256, lhex);
		report(ctx, r->original_path, "altered", msg, true);
	} else if (r->original_encrypted && !has_key) {
		report(ctx, r->original_path, "key_missing",
		       "the kept original of a redaction has no data key and no tombstone", true);
	}
}

void cli_verify_redactions_check(struct cli_vr *vr, const char *data_dir, struct st_vault *vault,
				 cli_vr_report_fn report, void *ctx)
{
	struct vr *k = (struct vr *)vr;
	if (!k || !k->n)
		return;
	char entries[4300], msg[1024];
	snprintf(entries, sizeof(entries), "%s/ledger/entries.log", data_dir);
	scan(k, entries);
	struct es_buf detail;
	es_buf_init(&detail);
	for (size_t i = 0; i < k->n; i++) {
		struct vr_item *it = &k->v[i];
		const struct idx_redaction *r = &it->r;
		const struct st_ledger_entry *e = &it->redact;
		if (!it->seen_redact || e->type != ST_ENTRY_REDACT || strcmp(e->id, r->path)) {
			snprintf(msg, sizeof(msg), "redaction %d of call %lld: ledger leaf %lld is not "
				 "its redact leaf", r->n, (long long)r->call_row, (long long)r->leaf);
			report(ctx, r->path, "redaction_unlinked", msg, true);
			continue;
		}
		if ((int64_t)e->of_seq != r->original_leaf || !it->seen_orig ||
		    it->orig.type != ST_ENTRY_RECORDING || strcmp(it->orig.id, r->original_path)) {
			snprintf(msg, sizeof(msg), "redaction %d of call %lld: the redact leaf links to "
				 "leaf %llu, which is not the rec leaf of the original %s",
				 r->n, (long long)r->call_row, (unsigned long long)e->of_seq,
				 r->original_path);
			report(ctx, r->path, "redaction_unlinked", msg, true);
			continue;
		}
		es_buf_reset(&detail);
		uint8_t h[32];
		bool ok = rec_redaction_detail(it->call_id, r, &detail) == 0;
		if (ok)
			crypto_hash_sha256(h, detail.p, detail.len);
		if (!ok || memcmp(h, e->detail_sha256, 32) || strcmp(e->channel, r->channel) ||
		    e->span_from_ms != (uint64_t)r->from_us / 1000 ||
		    e->span_to_ms != ((uint64_t)r->to_us + 999) / 1000) {
			snprintf(msg, sizeof(msg), "redaction %d of call %lld: the index's span, "
				 "channel, reason or author differ from what the ledger's redact leaf "
				 "%lld holds", r->n, (long long)r->call_row, (long long)r->leaf);
			report(ctx, r->path, "redaction_altered", msg, true);
			continue;
		}
		check_original(it, data_dir, vault, report, ctx);
	}
	es_buf_free(&detail);
}
