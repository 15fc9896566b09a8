/* ledger_internal.h - shared by ledger.c (the folder: open, append, commit),
 * ledger_format.c (line formats, signed heads) and ledger_verify.c (checks
 * and proofs against trusted heads).  Not for other modules. */
#ifndef ES_STORE_LEDGER_INTERNAL_H
#define ES_STORE_LEDGER_INTERNAL_H

#include "store/ledger.h"

#include <sodium.h>

#define ST_LD_ENTRIES "entries.log"
#define ST_LD_HEADS "heads.log"
#define ST_LD_KEY_MAGIC "earshot-ledger-key-v1 "
#define ST_LD_PUB_MAGIC "earshot-ledger-pub-v1 "

/* A small key file "<magic><64 hex>\n" into out (32 bytes); *missing
 * when it does not exist.  secret: refused when group or other may access
 * it (ledger.c). */
int st_ld_read_keyfile(const char *path, const char *magic, bool secret, uint8_t out[32],
		       bool *missing, char *err, size_t errlen);

/* n bytes as 2n lowercase hex digits and a NUL. */
void st_ld_hex_encode(const uint8_t *p, size_t n, char *out);
/* Exactly 2n lowercase hex digits into n bytes. */
bool st_ld_hex_decode(struct slice s, uint8_t *out, size_t n);
/* A recording id (1..255 bytes of 0x21..0x7e); a tombstone reason. */
bool st_ld_id_valid(const char *id, size_t len);
bool st_ld_reason_valid(const char *r, size_t len);

struct ld_id {
	struct es_hnode node;
	uint64_t seq;
	bool tomb;
	char id[];
};

struct ld_off {
	uint64_t off;
	uint32_t len;
};

struct st_ledger {
	char *dir;
	int flags;
	int efd, hfd;
	uint64_t eend; /* end of the last whole line of entries.log */
	uint64_t hend; /* and of heads.log */
	uint64_t torn_e, torn_h;
	struct st_merkle_tree tree;
	struct ld_off *offs;
	size_t cap_offs;
	struct es_htab ids;
	struct st_head *heads;
	size_t nheads, cap_heads;
	uint8_t pk[ST_LEDGER_PK_LEN];
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	bool has_sk;
};

/* The whole file behind fd into b. */
int st_ld_slurp(int fd, struct es_buf *b);
/* Calls fn on every whole line of b (the bytes of a file from its start);
 * *end gets the end of the last whole line, *torn the bytes after it.
 * Stops at the first non-zero return of fn. */
typedef int (*st_ld_line_fn)(void *ctx, const char *p, size_t len, uint64_t lineno,
			     uint64_t off);
int st_ld_each_line(const struct es_buf *b, st_ld_line_fn fn, void *ctx, uint64_t *end,
		    uint64_t *torn);

#endif /* ES_STORE_LEDGER_INTERNAL_H */
