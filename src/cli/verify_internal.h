/*
 * verify_internal.h - what verify.c (the recordings, the ledger, --all) and
 * verify_tr.c (the transcripts) of `earshot verify` share: the ledger's
 * leaves by id, the rows to check, the run's state and its findings.
 * Not a contract for other layers or commands.
 */
#ifndef ES_CLI_VERIFY_INTERNAL_H
#define ES_CLI_VERIFY_INTERNAL_H

#include "cli/cli.h"
#include "store/ledger.h"
#include "store/vault.h"

struct vleaf {
	struct es_hnode node;
	char *id;
	bool has_rec, has_row, tombstoned;
	bool has_meta, has_cipher, has_plain;
	uint8_t meta[32], cipher[32], plain[32];
	uint64_t rec_seq, tomb_seq;
	int64_t tomb_us;
	char reason[ST_LEDGER_REASON_MAX + 1];
	unsigned holds;          /* legal holds not yet released (hold leaves) */
	bool tomb_held;          /* a tombstone came while a hold was on */
	char hold[ST_LEDGER_REASON_MAX + 1]; /* the latest hold's name */
	/* a transcript's record, keyed "<id>\t<party>" (tr_ledger.c): the
	 * latest tr leaf (hashes in meta: row, cipher: sealed, plain) */
	bool has_tr, tr_seen;
	int64_t tr_made;
	uint64_t tr_seq;
};

/* One recording row to check (copied out of the index callback). */
struct vrow {
	int64_t call_row;
	char *call_id;
	char *path;
	char sha256[65];
	bool encrypted;
};

struct verify {
	struct cli_ctx *ctx;
	struct idx *ix;
	struct st_vault *vault; /* NULL: no DATA/keys */
	bool quick, all, json;
	const char *head_file; /* --head */
	bool newest_head;
	uint64_t heads_checked;
	struct es_htab leaves;
	struct vleaf **leafv; /* every leaf record, in file order */
	size_t nleaves, capleaves;
	struct vrow *rows;
	size_t nrows, caprows;
	struct es_json j; /* the "findings" array when json */
	uint64_t findings, shredded, checked, notes;
	uint64_t nentries; /* well-formed lines of entries.log */
	uint64_t tr_checked, tr_pending;
	char **pending;    /* DATA/ledger/pending/ names, sorted */
	size_t npending;
	bool oom;
	int64_t started_us, progress_us;
	struct es_buf meta;
	uint8_t *iobuf;
};

/* verify.c: the leaf record of id (a recording's path, or "<path>\t<party>"
 * for a transcript): NULL when there is none / when out of memory. */
struct vleaf *cli_verify_leaf_find(struct verify *v, const char *id);
struct vleaf *cli_verify_leaf_get(struct verify *v, const char *id);

/* verify.c: one finding (or, with kind "shredded", "unfinished", "head_ok"
 * or "transcript_pending", one expected state) about a recording row r
 * (may be NULL) or a recording id without a row, printed or into the JSON. */
void cli_verify_finding(struct verify *v, const struct vrow *r, const char *id, const char *kind,
			const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* verify_tr.c: a tr or trtomb leaf e into its transcript's record. */
int cli_verify_tr_leaf(struct verify *v, const struct st_ledger_entry *e);
/* verify_tr.c: the names in DATA/ledger/pending/ into v (ES_ENOMEM). */
int cli_verify_tr_pending_load(struct verify *v);
void cli_verify_tr_pending_free(struct verify *v);
/* verify_tr.c: the transcripts of row r against their leaves, words files
 * and rows. */
void cli_verify_tr_check(struct verify *v, const struct vrow *r);
/* verify_tr.c, --all: live transcript leaves whose row is gone. */
void cli_verify_tr_orphans(struct verify *v);

#endif
