/*
 * verify_tr.c - `earshot verify` for transcripts (record/tr_ledger.c): each
 * transcript row against its ledger leaf (the row's hash), its words file
 * (the sealed file's SHA-256) and, unless --quick, its words (the plain
 * hash after decryption); a transcript queued in DATA/ledger/pending/ and
 * not yet appended is a note, not a finding; with --all, a live transcript
 * leaf whose row is gone.  Read-only, like verify.c.
 */
#include "cli/verify_internal.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A tr or trtomb leaf into its transcript's record. */
int cli_verify_tr_leaf(struct verify *v, const struct st_ledger_entry *e)
{
	char key[ST_LEDGER_ID_MAX + 16];
	snprintf(key, sizeof(key), "%s\t%s", e->id, e->channel);
	struct vleaf *l = cli_verify_leaf_get(v, key);
	if (!l)
		return ES_ENOMEM;
	if (e->type == ST_ENTRY_TR_TOMB) {
		l->has_tr = false;
		l->tombstoned = true;
		snprintf(l->reason, sizeof(l->reason), "%s", e->reason);
		return 0;
	}
	l->has_tr = true;
	l->tombstoned = false;
	l->tr_made = e->made_us;
	l->tr_seq = e->seq;
	memcpy(l->meta, e->meta_sha256, 32);
	memcpy(l->cipher, e->cipher_sha256, 32);
	memcpy(l->plain, e->plain_sha256, 32);
	return 0;
}

static const char *const tr_party[] = {"caller", "callee"};

/* DATA/ledger/pending/, read after the rows and before the leaves: a
 * worker queues a leaf before its row exists and the writer appends it
 * before removing it, so every row read has its leaf or its entry. */
int cli_verify_tr_pending_load(struct verify *v)
{
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s/%s", v->ctx->data_dir, REC_TR_PENDING_DIR);
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *de;
	size_t cap = 0;
	int rc = 0;
	while (!rc && (de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 4 || strcmp(de->d_name + len - 3, ".tr"))
			continue;
		if (v->npending == cap) {
			cap = cap ? cap * 2 : 16;
			char **p = realloc(v->pending, cap * sizeof(*p));
			if (!p) {
				rc = ES_ENOMEM;
				break;
			}
			v->pending = p;
		}
		if (!(v->pending[v->npending] = strdup(de->d_name)))
			rc = ES_ENOMEM;
		else
			v->npending++;
	}
	closedir(d);
	return rc;
}

void cli_verify_tr_pending_free(struct verify *v)
{
	for (size_t i = 0; i < v->npending; i++)
		free(v->pending[i]);
	free(v->pending);
	v->pending = NULL;
	v->npending = 0;
}

static bool pending_has(const struct verify *v, int64_t call_row, int channel, int64_t made)
{
	char name[128];
	snprintf(name, sizeof(name), "%020lld-%lld-%s.tr", (long long)made, (long long)call_row,
		 tr_party[channel]);
	for (size_t i = 0; i < v->npending; i++)
		if (!strcmp(v->pending[i], name))
			return true;
	return false;
}

struct vtr {
	int channel;
	int64_t created_us;
	uint8_t row[32];
};
struct vtr_list {
	const char *path;
	struct vtr v[2];
	size_t n;
};

static int take_tr(void *ud, const struct idx_transcript *t)
{
	struct vtr_list *k = ud;
	if (t->channel < 0 || t->channel > 1 || k->n == 2)
		return 0;
	struct vtr *x = &k->v[k->n++];
	x->channel = t->channel;
	x->created_us = t->created_us;
	rec_tr_row_hash(k->path, t, x->row);
	return 0;
}

/* One transcript of row r against its leaf, its words file and its row. */
static void check_tr(struct verify *v, const struct vrow *r, const struct vtr *t)
{
	const char *who = tr_party[t->channel];
	char key[4200], err[600] = "";
	snprintf(key, sizeof(key), "%s\t%s", r->path, who);
	struct vleaf *l = cli_verify_leaf_find(v, key);
	v->tr_checked++;
	if (l)
		l->tr_seen = true;
	if (!l || !l->has_tr || l->tr_made < t->created_us) {
		if (pending_has(v, r->call_row, t->channel, t->created_us)) {
			v->tr_pending++;
			cli_verify_finding(v, r, NULL, "transcript_pending",
					   "transcript of the %s not yet sealed: queued for the ledger's writer "
					   "(a running recorder enters it within seconds)", who);
		} else {
			cli_verify_finding(v, r, NULL, "transcript_not_in_ledger",
					   "transcript of the %s: no ledger leaf names it%s", who,
					   l && l->has_tr ? " (the ledger's is older: the index row was "
							    "replaced)" : "");
		}
		return;
	}
	if (l->tr_made > t->created_us || memcmp(l->meta, t->row, 32)) {
		cli_verify_finding(v, r, NULL, "transcript_row_altered",
				   "transcript of the %s: index row altered (it no longer hashes to ledger "
				   "leaf %llu)", who, (unsigned long long)l->tr_seq);
	}
	struct idx_recording rec = {.call_row = r->call_row, .path = r->path,
				    .encrypted = r->encrypted};
	uint8_t sealed[32], plain[32];
	char file[4400];
	rec_transcript_path(v->ctx->data_dir, r->path, t->channel, file, sizeof(file));
	int rc = st_sha256_file(file, sealed, NULL);
	if (rc == ES_ENOTFOUND) {
		cli_verify_finding(v, r, NULL, "transcript_missing",
				   "transcript of the %s: the words file %s does not exist", who, file);
		return;
	}
	if (rc || memcmp(sealed, l->cipher, 32)) {
		cli_verify_finding(v, r, NULL, "transcript_altered",
				   "transcript of the %s: the words file %s %s (ledger leaf %llu)", who, file,
				   rc ? "cannot be read" : "is altered: its SHA-256 is not the ledger's",
				   (unsigned long long)l->tr_seq);
		return;
	}
	if (v->quick)
		return;
	rc = rec_tr_file_hashes(v->ctx->data_dir, v->vault, &rec, t->channel, sealed, plain, err,
				sizeof(err));
	if (rc)
		cli_verify_finding(v, r, NULL, "transcript_unreadable", "transcript of the %s: %s", who, err);
	else if (memcmp(plain, l->plain, 32))
		cli_verify_finding(v, r, NULL, "transcript_altered",
				   "transcript of the %s: its words decrypt to other words than the ledger's "
				   "(leaf %llu)", who, (unsigned long long)l->tr_seq);
}

void cli_verify_tr_check(struct verify *v, const struct vrow *r)
{
	struct vtr_list k = {.path = r->path};
	if (idx_transcripts_get(v->ix, r->call_row, take_tr, &k)) {
		cli_verify_finding(v, r, NULL, "unreadable", "transcripts cannot be read: %s",
				   idx_errmsg(v->ix));
		return;
	}
	for (size_t i = 0; i < k.n; i++)
		check_tr(v, r, &k.v[i]);
}

/* --all: a live transcript leaf of a live recording row without its row. */
void cli_verify_tr_orphans(struct verify *v)
{
	for (size_t i = 0; i < v->nleaves; i++) {
		const struct vleaf *l = v->leafv[i];
		const char *tab = strchr(l->id, '\t');
		if (!l->has_tr || l->tr_seen || !tab)
			continue;
		char id[4200];
		snprintf(id, sizeof(id), "%.*s", (int)(tab - l->id), l->id);
		const struct vleaf *rl = cli_verify_leaf_find(v, id);
		if (!rl || !rl->has_row || rl->tombstoned)
			continue; /* the recording's own finding, or it is gone */
		cli_verify_finding(v, NULL, id, "transcript_row_deleted",
				   "transcript of the %s deleted: ledger leaf %llu names it, the index has no "
				   "such transcript and the ledger no tombstone",
				   tab + 1, (unsigned long long)l->tr_seq);
	}
}
