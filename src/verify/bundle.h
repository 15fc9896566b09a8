/*
 * bundle.h - an evidence bundle (`earshot export ID --evidence`), read and
 * checked offline: no index, no data folder, only the bundle's files.
 *
 * A bundle is a folder or a flat STORED ZIP (store/zip.h) of:
 *   audio.<ext>    the recording's plaintext audio (<ext>: opus, wav, flac)
 *   metadata.json  the canonical metadata (record.h rec_canon_meta)
 *   leaf.txt       the ledger entry line (store/ledger.h) + "\n"
 *   proof.txt      "earshot-proof-v1\nseq <n>\nsize <m>\n" then the audit
 *                  path (RFC 9162 2.1.3), one 64-hex hash a line
 *   head.txt       the signed tree head line (heads.log) + "\n"
 *   ledger.pub     "earshot-ledger-pub-v1 <64 hex>\n"
 *   consistency.txt  RFC 9162 consistency proofs from earlier signed heads
 *                  to head.txt (store/ledger.h ST_CONS_MAGIC); optional
 *                  (bundles before it lack it), used with --head
 *   transcript.<party>.json  a transcript's words (party: caller, callee),
 *                  optional; with
 *   transcript.<party>.leaf.txt, .proof.txt  its tr ledger entry (plain= is
 *                  the SHA-256 of the .json) and its inclusion proof under
 *                  head.txt, as proof.txt; optional (a transcript not yet
 *                  sealed, bundles before transcripts were sealed)
 *   README.txt     for people; not checked
 * Decimals are canonical (no sign, no leading zero); every line ends in
 * "\n"; nothing else is accepted in the four machine files.
 *
 * The key's fingerprint is the SHA-256 of ledger.pub's bytes (so
 * `sha256sum ledger.pub` on the recorder gives the same value).
 */
#ifndef ES_VERIFY_BUNDLE_H
#define ES_VERIFY_BUNDLE_H

#include "core/core.h"
#include "store/ledger.h"
#include "store/zip.h"

#define EV_MAX_FILES ST_ZIP_MAX_ENTRIES
#define EV_PROOF_MAGIC "earshot-proof-v1"
#define EV_PUB_MAGIC "earshot-ledger-pub-v1"

struct ev_file {
	char name[ST_ZIP_NAME_MAX + 1];
	const uint8_t *p;
	size_t len;
};

/* The files of a bundle: views into a mapped ZIP, or buffers read from a
 * folder (owned).  Zero it before the first call; ev_bundle_free. */
struct ev_bundle {
	struct ev_file f[EV_MAX_FILES];
	size_t n;
	bool is_zip;
	void *owned[EV_MAX_FILES];
	size_t nowned;
	void *map;
	size_t maplen;
};

/* Load path: a folder, or a ZIP file.  0, or an error code with the
 * reason in err. */
int ev_bundle_load(struct ev_bundle *b, const char *path, char *err, size_t errlen);
/* The files of the ZIP p[0..n) (views: p must outlive b). */
int ev_bundle_from_zip(struct ev_bundle *b, const uint8_t *p, size_t n, char *err,
		       size_t errlen);
/* Add one file (a view); ES_ELIMIT / ES_EINVAL / ES_EEXIST. */
int ev_bundle_add(struct ev_bundle *b, const char *name, const uint8_t *p, size_t len);
const struct ev_file *ev_bundle_find(const struct ev_bundle *b, const char *name);
void ev_bundle_free(struct ev_bundle *b);

/* ledger.pub's bytes -> the key. */
int ev_pub_parse(const uint8_t *p, size_t n, uint8_t pk[ST_LEDGER_PK_LEN], char *err,
		 size_t errlen);
/* proof.txt's bytes -> seq, size and the path (room for ST_MERKLE_MAX_PROOF). */
int ev_proof_parse(const uint8_t *p, size_t n, uint64_t *seq, uint64_t *size,
		   uint8_t (*path)[ST_HASH_LEN], size_t *len, char *err, size_t errlen);
/* proof.txt's text for these values into b. */
int ev_proof_format(struct es_buf *b, uint64_t seq, uint64_t size,
		    const uint8_t (*path)[ST_HASH_LEN], size_t len);
/* The string at recording.path of the metadata JSON (a view into p, or
 * escapes decoded into buf), and likewise recording.sha256 /
 * recording.plain_sha256 / recording.format (NULL out when absent or null). */
struct ev_meta {
	char path[ST_LEDGER_ID_MAX + 2];
	char sha256[66], plain_sha256[66], format[16];
	bool has_path, has_sha256, has_plain, has_format;
};
int ev_meta_parse(const uint8_t *p, size_t n, struct ev_meta *m, char *err, size_t errlen);

/* ---- the checks ------------------------------------------------------------ */

enum ev_check_id {
	EV_C_FILES,     /* the bundle has each file, once */
	EV_C_LEAF,      /* leaf.txt is one canonical recording entry */
	EV_C_AUDIO,     /* SHA-256(audio) = leaf plain= (cipher= when plain) */
	EV_C_META,      /* SHA-256(metadata.json) = leaf meta= */
	EV_C_ID,        /* metadata.json names the leaf's recording */
	EV_C_PROOF,     /* proof.txt parses, for the leaf's seq and the head's size */
	EV_C_SIG,       /* head.txt is signed by ledger.pub's key */
	EV_C_INCLUSION, /* the leaf is in the signed tree */
	EV_C_KEY,       /* ledger.pub is the trusted key (--key) */
	EV_C_ANCHOR,    /* head.txt extends a trusted head (--head, bundle_head.c) */
	EV_C_TRANSCRIPTS, /* each transcript with a leaf: its words, leaf and proof */
	EV_NCHECKS
};

enum ev_state { EV_NOT_RUN = 0, EV_OK, EV_FAIL, EV_NOTE };

struct ev_check {
	const char *name;
	enum ev_state state;
	char why[512];
};

struct ev_result {
	struct ev_check c[EV_NCHECKS];
	bool ok;                         /* every check EV_OK or EV_NOTE */
	char id[ST_LEDGER_ID_MAX + 1];   /* from leaf.txt ("" when unreadable) */
	uint64_t seq, tree_size;
	int64_t head_time_us;
	bool have_leaf, have_head, have_key, encrypted;
	char audio[ST_ZIP_NAME_MAX + 1];
	char fingerprint[65];            /* SHA-256 of ledger.pub */
	char key_id[17];
};

/* Run every check on b; trusted_pub (may be NULL) is the bytes of the
 * operator's trusted ledger.pub. */
void ev_bundle_check(const struct ev_bundle *b, const uint8_t *trusted_pub, size_t trusted_len,
		     struct ev_result *r);
/* After ev_bundle_check: whether head.txt extends the heads trusted from
 * an anchor (heads[0..n), e.g. st_heads_read of --head FILE), with the
 * proofs of consistency.txt; sets EV_C_ANCHOR and r->ok.  Heads signed by
 * another key than ledger.pub's are ignored, unless all are. */
void ev_bundle_check_heads(const struct ev_bundle *b, const struct st_head *heads, size_t n,
			   struct ev_result *r);

#endif /* ES_VERIFY_BUNDLE_H */
