/*
 * ledger.h - the integrity ledger: an append-only, signed Merkle log
 * (RFC 9162 tree, merkle.h) of recordings and their deletions, in a folder
 * (DATA/ledger/).
 *
 * Files of the folder, all text, one record per line ending in "\n":
 *
 *   entries.log  one leaf per line; the leaf data is exactly the line
 *                without its newline; leaf n (from 0) is line n+1.
 *     1\trec\t<seq>\t<time_us>\t<id>\tmeta=<h>\tcipher=<h>\tplain=<h>
 *     1\ttomb\t<seq>\t<time_us>\t<id>\treason=<reason>
 *     1\thold\t<seq>\t<time_us>\t<id>\thold=<name>
 *     1\trelease\t<seq>\t<time_us>\t<id>\thold=<name>
 *     1\tredact\t<seq>\t<time_us>\t<id>\tof=<oseq>\tspan=<from>-<to>\tchannel=<ch>\tdetail=<h>
 *     1\ttr\t<seq>\t<time_us>\t<id>\tchannel=<party>\tsealed=<h>\tplain=<h>\trow=<h>\tengine=<name>\tmade=<us>
 *     1\ttrtomb\t<seq>\t<time_us>\t<id>\tchannel=<party>\treason=<reason>
 *       <seq>     decimal leaf index, equal to the line number - 1
 *       <time_us> decimal microseconds since the Unix epoch, >= 0
 *       <id>      recording id: 1..255 bytes of 0x21..0x7e
 *       <h>       64 lowercase hex digits (SHA-256 of the canonical
 *                 metadata, of the stored ciphertext, of the plaintext),
 *                 or "-" when there is none (an unencrypted recording)
 *       <reason>  1..64 bytes of [a-z0-9._-]: "retention", "shredded"...
 *       <name>    a legal hold's name, the same alphabet as <reason>: the
 *                 recording id is under that hold from its hold leaf to
 *                 its release leaf (a recording may be in several holds),
 *                 so a hold over a recording is provable offline.  Hold
 *                 and release leaves do not change what st_ledger_find
 *                 returns (the latest rec or tomb leaf).
 *       redact    <id> is a redacted version of the recording whose rec
 *                 leaf is <oseq> (its own rec leaf comes just before);
 *                 <from>-<to> the span in milliseconds from the start of
 *                 the recording, <ch> "caller", "callee" or "both", <h> the
 *                 SHA-256 of the redaction's canonical JSON (fill, reason,
 *                 who: record/redact.c), so free text and names, which may
 *                 be personal data, never enter the append-only log.
 *       tr        the transcript of one party ("caller" or "callee") of the
 *                 recording <id> (record/tr_ledger.c): <h> the SHA-256 of
 *                 the words file as stored (DATA/transcripts/, sealed with
 *                 the recording's key), of its plaintext (the words JSON)
 *                 and of the index row's canonical form (rec_tr_row_hash);
 *                 <name> the engine, the <reason> alphabet; <us> when the
 *                 transcript was made (the row's created time).  A later tr
 *                 leaf of the same id and party replaces the earlier one.
 *       trtomb    that transcript is gone: <reason> as for tomb ("retention",
 *                 "replaced" when a new transcript took its place...).
 *                 Neither changes what st_ledger_find returns.
 *     Leaves of a type a reader does not know fail its open: older
 *     earshots cannot read a ledger with transcript leaves; every older
 *     ledger reads unchanged.
 *     Decimals have no sign and no leading zero.  A line is accepted only
 *     if it is byte for byte the line this module would write.
 *
 *   heads.log    one signed tree head per line:
 *     1\t<size>\t<time_us>\t<root>\t<keyid>\t<sig>
 *       <root>  64 lowercase hex, the RFC 9162 head of the first <size> leaves
 *       <keyid> 16 lowercase hex, the first 8 bytes of the public key
 *       <sig>   128 lowercase hex, Ed25519 signature of the bytes
 *               "earshot-sth-v1\n<size>\n<time_us>\n<root>\n"
 *
 *   ledger.key   "earshot-ledger-key-v1 <64 hex: Ed25519 seed>\n", mode 0600;
 *                refused when group or other may read or write it.  It
 *                may live outside the folder (st_ledger_key_path): then
 *                only writers read it; readers need only ledger.pub
 *   ledger.pub   "earshot-ledger-pub-v1 <64 hex: Ed25519 public key>\n"
 *
 * Crash safety: each append is one write(2) of one line with O_APPEND;
 * st_ledger_commit fsyncs the entries, then appends and fsyncs a signed
 * head.  A last line without its newline (a torn write) is reported and
 * ignored; a ledger opened for writing truncates it away.  Any other
 * malformed line fails the open with "<file>:<line>: why".
 *
 * One writer at a time (flock on entries.log).  Not thread-safe: one
 * struct st_ledger per thread or a lock around it.  Key material is never
 * logged nor put into error messages.
 */
#ifndef ES_STORE_LEDGER_H
#define ES_STORE_LEDGER_H

#include "core/core.h"
#include "store/merkle.h"

#define ST_LEDGER_ID_MAX 255
#define ST_LEDGER_REASON_MAX 64
#define ST_LEDGER_LINE_MAX 1024 /* longer entry or head lines are malformed */
#define ST_LEDGER_PK_LEN 32
#define ST_LEDGER_SIG_LEN 64
#define ST_LEDGER_KEYID_LEN 8

enum st_entry_type {
	ST_ENTRY_RECORDING = 1, /* "rec" */
	ST_ENTRY_TOMBSTONE = 2, /* "tomb" */
	ST_ENTRY_HOLD = 3,      /* "hold": id put under the legal hold named reason */
	ST_ENTRY_RELEASE = 4,   /* "release": that hold released for id */
	ST_ENTRY_REDACT = 5,    /* "redact": id redacts the recording of leaf of_seq */
	ST_ENTRY_TRANSCRIPT = 6, /* "tr": the transcript of one party of id */
	ST_ENTRY_TR_TOMB = 7,    /* "trtomb": that transcript removed */
};
#define ST_REDACT_CHANNEL_MAX 7

/* One leaf, parsed.  Plain value, no pointers. */
struct st_ledger_entry {
	enum st_entry_type type;
	uint64_t seq;
	int64_t time_us;
	char id[ST_LEDGER_ID_MAX + 1];
	/* recordings: which hashes are present, and their values */
	bool has_meta, has_cipher, has_plain;
	uint8_t meta_sha256[32], cipher_sha256[32], plain_sha256[32];
	/* tombstones: the reason; hold and release leaves: the hold's name */
	char reason[ST_LEDGER_REASON_MAX + 1];
	/* redact leaves: the original's leaf, the span (ms), channel, detail */
	uint64_t of_seq, span_from_ms, span_to_ms;
	char channel[ST_REDACT_CHANNEL_MAX + 1];
	uint8_t detail_sha256[32];
	/* tr leaves: channel is the party; cipher_sha256 the sealed words
	 * file, plain_sha256 its plaintext, meta_sha256 the index row's
	 * canonical form (all present); the engine; when it was made.
	 * trtomb leaves: channel and reason. */
	char engine[ST_LEDGER_REASON_MAX + 1];
	int64_t made_us;
	uint8_t leaf_hash[ST_HASH_LEN]; /* RFC 9162 leaf hash of the line */
};

/* One signed tree head. */
struct st_head {
	uint64_t size;
	int64_t time_us;
	uint8_t root[ST_HASH_LEN];
	uint8_t key_id[ST_LEDGER_KEYID_LEN];
	uint8_t sig[ST_LEDGER_SIG_LEN];
};

/* ---- parsers and formatters (no folder needed) ------------------------- */

/* Parse one entries.log line (without its newline); also computes the leaf
 * hash.  ES_EPARSE with a reason in err (may be NULL) when malformed. */
int st_ledger_entry_parse(const char *line, size_t len, struct st_ledger_entry *e, char *err,
			  size_t errlen);
/* The canonical line of e (without newline, NUL-terminated); returns its
 * length, or ES_EINVAL for an entry that cannot be written (bad id...). */
int st_ledger_entry_format(const struct st_ledger_entry *e, char *buf, size_t cap);
/* Parse one heads.log line (without its newline).  Checks syntax only. */
int st_head_parse(const char *line, size_t len, struct st_head *h, char *err, size_t errlen);
/* The canonical heads.log line of h (without newline); returns its length. */
int st_head_format(const struct st_head *h, char *buf, size_t cap);
/* The signed bytes "earshot-sth-v1\n<size>\n<time_us>\n<roothex>\n". */
int st_head_message(const struct st_head *h, char *buf, size_t cap);
/* 0 when h is signed by pk and names its key id; ES_EPARSE otherwise. */
int st_head_verify(const struct st_head *h, const uint8_t pk[ST_LEDGER_PK_LEN]);

/* ---- heads published outside the data folder (anchors) ------------------ */

/* The one-line form an anchor publishes where tabs may not survive (syslog,
 * a command's argument): "earshot-head 1 <size> <time_us> <root> <keyid>
 * <sig>", the heads.log fields separated by single spaces. */
#define ST_HEAD_PUBLISHED_TAG "earshot-head "
int st_head_format_published(const struct st_head *h, char *buf, size_t cap);
/* A head in one line of published text: a heads.log line, or a line with
 * ST_HEAD_PUBLISHED_TAG followed by the spaced fields anywhere in it (so a
 * syslog collector's own file can be read as is).  ES_ENOTFOUND when the
 * line holds no head, ES_EPARSE with why in err when it holds a bad one. */
int st_head_parse_published(const char *line, size_t len, struct st_head *h, char *err,
			    size_t errlen);
/* Every head in the file at path (an anchor file, a syslog file, a file
 * with one head line), in file order, into a malloc'd array *out of *n.
 * Lines without a head are skipped; a malformed head fails with
 * "path:line: why".  ES_ENOTFOUND (said in err) when it holds none. */
int st_heads_read(const char *path, struct st_head **out, size_t *n, char *err, size_t errlen);

/* Offline check for an evidence bundle: the head line is signed by pk and
 * the entry line (leaf data) is leaf seq of that head's tree, by path.
 * 0 when everything holds; otherwise an error code and a reason in err. */
int st_ledger_verify_evidence(const char *entry_line, size_t entry_len, uint64_t seq,
			      const uint8_t (*path)[ST_HASH_LEN], size_t path_len,
			      const char *head_line, size_t head_len,
			      const uint8_t pk[ST_LEDGER_PK_LEN], char *err, size_t errlen);

/* ---- the ledger folder -------------------------------------------------- */

struct st_ledger;

enum {
	ST_LEDGER_CREATE = 1, /* create the folder, files and key pair if missing */
	ST_LEDGER_RDONLY = 2, /* no appends, no commits, no lock; ledger.key is
				 optional (ledger.pub suffices to verify) */
	ST_LEDGER_SIGN = 4,   /* with RDONLY: read the signing key wherever it is
				 (st_ledger_sign: a reconcile report) */
};

/* Open the ledger in dir.  Reads entries.log and heads.log back, re-hashes
 * every leaf and checks that ledger.pub matches ledger.key.  On failure *out
 * is NULL and err says why ("entries.log:17: sequence 18, expected 16").
 * Heads are not verified here: that is st_ledger_verify's job. */
int st_ledger_open(struct st_ledger **out, const char *dir, int flags, char *err, size_t errlen);
/* Where the signing key is, first found: configured (a config key), then
 * $EARSHOT_LEDGER_KEY, then $CREDENTIALS_DIRECTORY/earshot-ledger-key when
 * that file exists (systemd's LoadCredential=), else DIR/ledger.key.
 * *outside says it is not DIR/ledger.key.  ES_ELIMIT for a long path. */
#define ST_LEDGER_KEY_ENV "EARSHOT_LEDGER_KEY"
#define ST_LEDGER_CREDENTIAL "earshot-ledger-key"
int st_ledger_key_path(const char *dir, const char *configured, char *buf, size_t cap,
		       bool *outside);
/* st_ledger_open with the signing key at key_path (NULL: as
 * st_ledger_key_path finds it without a configured path).  A writer warns
 * when a key outside the folder leaves a ledger.key inside it. */
int st_ledger_open_key(struct st_ledger **out, const char *dir, int flags, const char *key_path,
		       char *err, size_t errlen);
/* Close (no implicit commit: appends after the last commit stay in
 * entries.log, unsigned until the next commit).  NULL is allowed. */
void st_ledger_close(struct st_ledger *l);

/* Read what another process appended since the open (or the last
 * refresh) of a read-only ledger: the new whole lines of entries.log and
 * heads.log, checked as the open checks them; a torn last line is left
 * for the next refresh.  *added (may be NULL) gets the number of new
 * leaves.  *reopen is set, and nothing read, when the files are no longer
 * what was read (replaced, shrunk, the last line read rewritten, a file
 * that appeared): only st_ledger_open can tell what they hold then.  A
 * malformed appended line fails with the open's message; l is then
 * partly updated and must be closed.  ES_EINVAL for a writable ledger. */
int st_ledger_refresh(struct st_ledger *l, bool *reopen, uint64_t *added, char *err,
		      size_t errlen);

/* Bytes of a torn last line that the open found (and, unless read-only,
 * truncated), per file; 0 when none. */
uint64_t st_ledger_torn_entries(const struct st_ledger *l);
uint64_t st_ledger_torn_heads(const struct st_ledger *l);

/* Append a recording leaf; a NULL hash is written as "-".  The line is
 * written at once (one write), durable after st_ledger_commit.  *seq
 * (may be NULL) receives its leaf index.  ES_EINVAL for a bad id or a
 * negative time, ES_EIO on write failure (nothing is appended then). */
int st_ledger_append_recording(struct st_ledger *l, const char *id, const uint8_t meta_sha256[32],
			       const uint8_t cipher_sha256[32], const uint8_t plain_sha256[32],
			       int64_t time_us, uint64_t *seq);
/* Append a tombstone for id: reason as described above. */
int st_ledger_append_tombstone(struct st_ledger *l, const char *id, const char *reason,
			       int64_t time_us, uint64_t *seq);
/* Append a hold (release false) or release leaf of hold name for id. */
int st_ledger_append_hold(struct st_ledger *l, const char *id, const char *name, bool release,
			  int64_t time_us, uint64_t *seq);
/* Append a redact leaf: id (the redacted recording, whose rec leaf is
 * already appended) redacts the recording of leaf of_seq over [from_ms,
 * to_ms) on channel ("caller", "callee", "both"); detail: the SHA-256 of
 * the redaction's canonical JSON.  ES_EINVAL for a bad value. */
int st_ledger_append_redact(struct st_ledger *l, const char *id, uint64_t of_seq,
			    uint64_t from_ms, uint64_t to_ms, const char *channel,
			    const uint8_t detail[32], int64_t time_us, uint64_t *seq);
/* Append a tr leaf (e: type, id, channel, hashes, engine and made_us;
 * seq and time are set here) or a trtomb leaf (id, channel, reason).
 * ES_EINVAL for a bad value or another type. */
int st_ledger_append_transcript(struct st_ledger *l, struct st_ledger_entry *e, int64_t time_us,
				uint64_t *seq);
/* The latest tr or trtomb leaf of party channel ("caller"/"callee") of
 * recording id: *seq, and whether it is a trtomb.  ES_ENOTFOUND: none. */
int st_ledger_find_transcript(const struct st_ledger *l, const char *id, const char *channel,
			      uint64_t *seq, bool *tombstoned);
/* fsync the entries, then sign a head of the whole tree (time: the real
 * time clock), append it to heads.log and fsync.  No new head when the
 * latest one already covers every leaf.  Read-only ledgers: ES_EINVAL. */
int st_ledger_commit(struct st_ledger *l);

uint64_t st_ledger_size(const struct st_ledger *l);
/* The head of the first size leaves (size <= st_ledger_size). */
int st_ledger_root(const struct st_ledger *l, uint64_t size, uint8_t out[ST_HASH_LEN]);
/* Leaf seq, read back from entries.log and parsed. */
int st_ledger_entry(const struct st_ledger *l, uint64_t seq, struct st_ledger_entry *e);
/* The raw line of leaf seq (without newline) into buf, NUL-terminated;
 * *len its length.  ES_ELIMIT when cap is too small. */
int st_ledger_entry_line(const struct st_ledger *l, uint64_t seq, char *buf, size_t cap,
			 size_t *len);
/* The latest leaf of recording id: *seq, and whether it is a tombstone.
 * ES_ENOTFOUND when id was never logged. */
int st_ledger_find(const struct st_ledger *l, const char *id, uint64_t *seq, bool *tombstoned);

/* Signed heads, oldest first, as read at open plus those committed since. */
size_t st_ledger_head_count(const struct st_ledger *l);
int st_ledger_head(const struct st_ledger *l, size_t i, struct st_head *h);

/* Proofs over the current tree (RFC 9162 2.1.3 and 2.1.4); path has room
 * for ST_MERKLE_MAX_PROOF hashes. */
int st_ledger_inclusion_proof(const struct st_ledger *l, uint64_t seq, uint64_t tree_size,
			      uint8_t (*path)[ST_HASH_LEN], size_t *len);
int st_ledger_consistency_proof(const struct st_ledger *l, uint64_t m, uint64_t n,
				uint8_t (*proof)[ST_HASH_LEN], size_t *len);

/* The public key (Ed25519, 32 bytes). */
void st_ledger_public_key(const struct st_ledger *l, uint8_t out[ST_LEDGER_PK_LEN]);
/* Sign msg (a document the recorder vouches for, e.g. a reconcile report,
 * whose own magic line keeps it apart from tree heads) with the ledger's
 * key: ES_EINVAL when it was opened without the secret key. */
int st_ledger_sign(const struct st_ledger *l, const void *msg, size_t len,
		   uint8_t sig[ST_LEDGER_SIG_LEN]);
/* 0 when sig is pk's Ed25519 signature of msg, ES_EPARSE otherwise. */
int st_sig_verify(const uint8_t pk[ST_LEDGER_PK_LEN], const void *msg, size_t len,
		  const uint8_t sig[ST_LEDGER_SIG_LEN]);

/* ---- the key over other bytes (ledger_sign.c) --------------------------- */

/* A detached Ed25519 signature of msg by the signing key of the ledger in
 * dir (found as st_ledger_key_path finds it with configured, which may be
 * NULL); pk gets the public key, which must be dir/ledger.pub's
 * (ES_EFORMAT otherwise).  ES_ENOTFOUND when the key is missing. */
int st_ledger_sign_detached(const char *dir, const char *configured, const void *msg, size_t len,
			    uint8_t sig[ST_LEDGER_SIG_LEN], uint8_t pk[ST_LEDGER_PK_LEN],
			    char *err, size_t errlen);
/* The public key of the ledger.pub file at path. */
int st_ledger_read_pub(const char *path, uint8_t pk[ST_LEDGER_PK_LEN], char *err, size_t errlen);

/* ---- a cached read-only view, shared by threads (ledger_cache.c) ------- */

/*
 * For a long-running reader (the API server): the ledger of dir opened
 * read-only once, then kept up to date.  Each get stats entries.log,
 * heads.log and ledger.pub; when they are as last read it costs nothing
 * more; when entries.log or heads.log only grew, the appended lines are
 * read (st_ledger_refresh); anything else (a file replaced, rewritten in
 * place, shrunk, a key file changed) reopens the whole ledger.  A failed
 * open is remembered, with its message, until the files change.  Lines
 * read back through the view (st_ledger_entry) are still checked against
 * the leaf hashes read before, so a line rewritten in place is caught
 * even when nothing else moved.
 *
 * Thread-safe: any number of threads may hold the view (a read lock);
 * refreshing takes the write lock.
 */
struct st_ledger_cache;

struct st_ledger_cache_stats {
	uint64_t opens; /* full reads of the ledger */
	uint64_t tails; /* refreshes that read appended lines */
	uint64_t hits;  /* gets that found the files unchanged */
};

int st_ledger_cache_new(struct st_ledger_cache **out, const char *dir);
/* Nothing may hold the view.  NULL is allowed. */
void st_ledger_cache_free(struct st_ledger_cache *c);
/* The up-to-date view in *l, held (read-locked) until st_ledger_cache_put.
 * On failure nothing is held, *l is NULL and err says why (the open's
 * message). */
int st_ledger_cache_get(struct st_ledger_cache *c, const struct st_ledger **l, char *err,
			size_t errlen);
void st_ledger_cache_put(struct st_ledger_cache *c);
void st_ledger_cache_stats(struct st_ledger_cache *c, struct st_ledger_cache_stats *out);

/* One finding of st_ledger_verify: file is "entries.log", "heads.log"...,
 * line its 1-based line (0 when not about one line); msg is one sentence. */
typedef void (*st_ledger_report_fn)(void *ctx, const char *file, uint64_t line, const char *msg);

/* Check the whole ledger from disk: re-read and re-hash entries.log (and
 * compare with what was opened or appended), every head's syntax, key id
 * and signature, sizes and times never going back, each head's root
 * against the leaves, a consistency proof between consecutive heads
 * verified with the RFC algorithm, and that the latest head covers every
 * leaf.  Each problem goes to report (may be NULL); *problems (may be
 * NULL) counts them.  Returns 0 when the ledger is intact, ES_EFORMAT when
 * a problem was found, or ES_EIO / ES_ENOMEM when it could not check. */
int st_ledger_verify(struct st_ledger *l, st_ledger_report_fn report, void *ctx,
		     uint64_t *problems);

/* How the ledger relates to a head trusted from outside (an anchor). */
enum st_trust {
	ST_TRUST_OK = 0,        /* the ledger extends (or equals) the trusted head */
	ST_TRUST_KEY = 1,       /* the head is not signed by this ledger's key */
	ST_TRUST_TRUNCATED = 2, /* the ledger (or its newest signed head) is shorter */
	ST_TRUST_FORK = 3,      /* the first size leaves have another root: rolled
				   back and re-grown, or rewritten */
	ST_TRUST_PROOF = 4,     /* the RFC 9162 consistency proof from the trusted
				   head to the ledger's newest signed head fails */
	ST_TRUST_NEWER = 5,     /* (a bundle) the trusted head is newer than the
				   bundle's: the bundle cannot prove it */
	ST_TRUST_UNPROVEN = 6,  /* (a bundle) it carries no proof from that size */
};
/* Whether the ledger extends trusted head t: t's signature with this
 * ledger's public key, t.size against the leaves and the newest signed
 * head, then an RFC 9162 2.1.4 consistency proof from t to the newest
 * signed head, generated from the leaves and verified with t's root and
 * that head's root.  One sentence in why; returns the enum (never fails:
 * the proof is built from memory). */
enum st_trust st_ledger_check_trusted(const struct st_ledger *l, const struct st_head *t,
				      char *why, size_t whylen);

/* ---- consistency proofs carried with a head (ledger_proof.c) -----------
 * An evidence bundle carries, besides its signed head of n leaves, RFC
 * 9162 consistency proofs from some earlier signed heads of the ledger to
 * it, so that a verifier holding any of those heads from an anchor can
 * check that the bundle's head extends it.  Text, every line ending in
 * "\n":
 *   earshot-consistency-v1
 *   size <n>
 *   from <m> <root of the first m leaves, 64 hex>
 *   <the proof from m to n, one 64-hex hash a line>
 *   from ...
 * Sizes m are distinct, increasing, 0 < m < n.  Which heads: the sizes
 * asked for (trusted heads the exporter was given), the 16 newest
 * distinct sizes below n, then heads 2^k places further back in
 * heads.log, at most ST_CONS_MAX in all. */
#define ST_CONS_MAGIC "earshot-consistency-v1"
#define ST_CONS_MAX 64
struct st_cons_entry {
	uint64_t m;
	uint8_t root[ST_HASH_LEN];
	size_t len;
	uint8_t proof[ST_MERKLE_MAX_PROOF][ST_HASH_LEN];
};
/* The text for the ledger's signed head of size n into out, with proofs
 * from the sizes extra[0..nextra) first (those >= n or 0 are skipped);
 * *count (may be NULL) gets how many proofs it holds.  ES_ENOTFOUND when
 * no signed head has size n, ES_EFORMAT when a head's root is not the
 * leaves'. */
int st_ledger_consistency_text(const struct st_ledger *l, uint64_t n, const uint64_t *extra,
			       size_t nextra, struct es_buf *out, size_t *count);
/* Parse the text: *n and up to cap entries (ES_ELIMIT beyond); ES_EPARSE
 * with "line N: why" in err. */
int st_cons_parse(const uint8_t *p, size_t len, uint64_t *n, struct st_cons_entry *v, size_t cap,
		  size_t *count, char *err, size_t errlen);
/* Whether head b (of n leaves, already checked: signed, and the one the
 * text is for) extends trusted head t (already checked: signed by the same
 * key), with the proofs v: ST_TRUST_OK (equal, or a proof from t.size
 * verifies with both roots), ST_TRUST_FORK (same size, other root; or the
 * text's root at t.size is not t's), ST_TRUST_PROOF, ST_TRUST_NEWER,
 * ST_TRUST_UNPROVEN.  One sentence in why. */
enum st_trust st_cons_check(const struct st_head *b, const struct st_cons_entry *v, size_t count,
			    const struct st_head *t, char *why, size_t whylen);

#endif /* ES_STORE_LEDGER_H */
