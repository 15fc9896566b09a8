/*
 * sigdoc.h - a document signed with the ledger's key, checked offline with
 * nothing but its own bytes (and, to trust the key, the recorder's
 * ledger.pub): `earshot reconcile`'s report.
 *
 *   line 1  the document's magic ("earshot-reconcile-v1")
 *   line 2  its body: one line (JSON)
 *   line 3  the signer's ledger.pub line: "earshot-ledger-pub-v1 <64 hex>"
 *   line 4  "sig <128 hex>": Ed25519 over lines 1-3 with their newlines
 * Every line ends in "\n"; nothing follows line 4.  The key's fingerprint
 * is the SHA-256 of line 3 with its newline, i.e. of ledger.pub's bytes
 * (as for evidence bundles: `sha256sum ledger.pub` on the recorder).
 */
#ifndef ES_STORE_SIGDOC_H
#define ES_STORE_SIGDOC_H

#include "core/core.h"
#include "store/ledger.h"

#define ST_PUB_MAGIC "earshot-ledger-pub-v1"

/* magic, body (no newline in it) and the ledger's key and signature,
 * appended to out.  ES_EINVAL when the ledger has no signing key or the
 * body has a newline. */
int st_sigdoc_write(struct es_buf *out, const struct st_ledger *l, const char *magic,
		    const char *body, size_t len);

struct st_sigdoc {
	struct slice body;              /* a view into the checked bytes */
	uint8_t pk[ST_LEDGER_PK_LEN];
	struct slice pub_line;          /* line 3 with its newline (ledger.pub's bytes) */
	char fingerprint[65];           /* SHA-256 of pub_line */
};

/* Check p[0..n): the layout, magic, key and signature.  0 and d filled;
 * ES_EFORMAT (malformed: which line, in err) or ES_EPARSE (the signature
 * does not verify: the document was changed or signed by another key). */
int st_sigdoc_check(const uint8_t *p, size_t n, const char *magic, struct st_sigdoc *d,
		    char *err, size_t errlen);
/* ledger.pub's bytes -> the key (ES_EFORMAT when they are not one line
 * "earshot-ledger-pub-v1 <64 lowercase hex>"). */
int st_pub_parse(const uint8_t *p, size_t n, uint8_t pk[ST_LEDGER_PK_LEN]);

#endif /* ES_STORE_SIGDOC_H */
