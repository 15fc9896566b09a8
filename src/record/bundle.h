/*
 * bundle.h - the evidence bundle of one call (format in src/verify/bundle.h
 * and docs/CLI.md): the plaintext audio, the canonical metadata, the
 * recording's ledger leaf, its inclusion proof against the latest signed
 * tree head, that head and the ledger's public key, each checked against
 * the ledger before anything is written.  Built by `earshot export
 * --evidence` and by GET /api/calls/{id}/evidence.
 */
#ifndef ES_RECORD_BUNDLE_H
#define ES_RECORD_BUNDLE_H

#include "core/core.h"
#include "index/index.h"

struct st_vault;
struct st_ledger_cache;

struct rec_evidence_info {
	char path[256];    /* the recording (DATA-relative) */
	uint64_t seq;      /* its ledger leaf */
	uint64_t size;     /* the signed tree's size */
};

/*
 * Write the bundle of call row call_row (label: how the call is named in
 * the README and messages, e.g. the user's argument) to out: a new ZIP file
 * (zip; must not exist: the archive is built beside it and linked in) or
 * an existing empty folder (made: this caller created it, removed on
 * failure).  vault may be NULL: the data folder's keys are opened when the
 * recording is encrypted.  A ZIP is built in a temporary file beside out
 * (the audio streamed into it as it is decrypted) and linked in; a folder
 * gets the audio as its own file.
 *
 * trusted[0..ntrusted) (may be empty): heads kept outside the recorder
 * (an anchor, store/anchor.h); the ledger must extend each one signed by
 * its key (else an error naming the truncation or fork), and the bundle's
 * consistency.txt then carries a proof from each.
 *
 * 0; ES_ENOTFOUND: no such call, or it has no recording; another negative
 * es_err otherwise.  err gets the reason (without a program prefix).
 */
struct st_head;
int rec_evidence_bundle(const char *data_dir, struct st_vault *vault, struct idx *ix,
			int64_t call_row, const char *label, const char *out, bool zip, bool made,
			const struct st_head *trusted, size_t ntrusted,
			struct rec_evidence_info *info, char *err, size_t errlen);

/*
 * The same bundle as a ZIP built in memory, for the REST API: *fd gets a
 * new memfd (MFD_CLOEXEC, owned by the caller; read it with pread, its
 * size by fstat) holding exactly the archive rec_evidence_bundle would
 * write.  Nothing touches the disk: the audio is decrypted straight into
 * the archive.  ledger (may be NULL: DATA/ledger is opened) is a cached
 * view of DATA/ledger (store/ledger.h), held only while the parts are
 * gathered.  Returns as rec_evidence_bundle; *fd is -1 on failure.
 */
int rec_evidence_bundle_memfd(const char *data_dir, struct st_vault *vault,
			      struct st_ledger_cache *ledger, struct idx *ix, int64_t call_row,
			      const char *label, int *fd, struct rec_evidence_info *info, char *err,
			      size_t errlen);

#endif /* ES_RECORD_BUNDLE_H */
