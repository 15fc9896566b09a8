/*
 * bundle.c - the evidence bundle of one call (record/bundle.h), moved here
 * from the command line so that `earshot export --evidence` and the REST
 * API build it with the same code.
 */
#include "record/bundle.h"
#include "record/bundle_internal.h"
#include "record/ledger_pub.h"
#include "record/record.h"
#include "store/crypt.h"
#include "store/ledger.h"
#include "store/vault.h"
#include "store/zip.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct ev_ctx {
	const char *data_dir;
	struct st_vault *vault;
	struct st_ledger_cache *ledger; /* NULL: open DATA/ledger */
	const struct st_head *trusted;  /* heads from an anchor the ledger must extend */
	size_t ntrusted;
	char *err;
	size_t errlen;
	/* another node's recording (issue #16): its ledger is the copy it
	 * published (record/ledger_pub.c), its words in its bucket, its keys
	 * in the index */
	struct idx *ix;
	bool elsewhere;
	struct st_vault *own_vault; /* opened here for it when vault is NULL */
};

#define ERR(...) snprintf(ctx->err, ctx->errlen, __VA_ARGS__)

static int take(void *ud, const struct idx_call *c)
{
	struct ev_rec *r = ud;
	const struct idx_recording *x = c->recording;
	if (!x)
		return 0;
	r->found = true;
	r->row = c->id;
	r->encrypted = x->encrypted;
	r->too_long = !x->path || strlen(x->path) > ST_LEDGER_ID_MAX;
	snprintf(r->path, sizeof(r->path), "%s", x->path ? x->path : "");
	snprintf(r->format, sizeof(r->format), "%s", x->format ? x->format : "");
	snprintf(r->sha256, sizeof(r->sha256), "%s", x->sha256 ? x->sha256 : "");
	snprintf(r->plain, sizeof(r->plain), "%s", x->plain_sha256 ? x->plain_sha256 : "");
	snprintf(r->node, sizeof(r->node), "%s", c->node ? c->node : "");
	return 0;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	sodium_bin2hex(out, 2 * n + 1, p, n);
}


/* Write a new file (O_EXCL) and fsync it. */
static int write_new(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return ES_EIO;
	if (es_write_all(fd, p, n)) {
		close(fd);
		return ES_EIO;
	}
	int rc = fsync(fd) ? ES_EIO : 0;
	if (close(fd))
		rc = ES_EIO;
	return rc;
}

static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

static const char *const tr_party[2] = {"caller", "callee"};

/* The live tr leaf of each party of the recording under p->h, with its
 * inclusion proof; none when the ledger has none under that head. */
static void tr_proofs(const struct st_ledger *l, struct ev_parts *p)
{
	for (int ch = 0; ch < 2; ch++) {
		uint64_t seq;
		bool tomb;
		char line[ST_LEDGER_LINE_MAX + 1], hx[2 * ST_HASH_LEN + 1];
		size_t llen, plen = 0;
		struct st_ledger_entry e;
		uint8_t path[ST_MERKLE_MAX_PROOF][ST_HASH_LEN];
		if (st_ledger_find_transcript(l, p->rec.path, tr_party[ch], &seq, &tomb) || tomb ||
		    seq >= p->h.size || st_ledger_entry(l, seq, &e) ||
		    st_ledger_entry_line(l, seq, line, sizeof(line), &llen) ||
		    st_ledger_inclusion_proof(l, seq, p->h.size, path, &plen))
			continue;
		memcpy(p->trplain[ch], e.plain_sha256, 32);
		es_buf_append(&p->trleaf[ch], line, llen);
		es_buf_append(&p->trleaf[ch], "\n", 1);
		es_buf_printf(&p->trproof[ch], "earshot-proof-v1\nseq %" PRIu64 "\nsize %" PRIu64 "\n",
			      seq, p->h.size);
		for (size_t i = 0; i < plen; i++) {
			hex(path[i], ST_HASH_LEN, hx);
			es_buf_printf(&p->trproof[ch], "%s\n", hx);
		}
	}
}

/* Another node's recording (issue #16): its bytes into DATA/cache as
 * playing it reaches them, its keys from the index, and its ledger as the
 * node published it, checked against the node's head in the index (ldir:
 * the checked copy; *ixh, *ixtrusted: that head, and whether the copy
 * reaches it).  0, or the error with its message. */
static int reach_node(struct ev_ctx *ctx, struct idx *ix, const struct ev_parts *p, char *ldir,
		      size_t cap, struct st_head *ixh, bool *ixtrusted)
{
	char err[1024] = "";
	int e = rec_recording_reach(ctx->data_dir, ix, p->rec.node, p->rec.path, p->rec.sha256,
				    err, sizeof(err));
	if (e) {
		ERR("%s", err);
		return e;
	}
	if (p->rec.encrypted && !ctx->vault) {
		if (st_vault_open(&ctx->own_vault, ctx->data_dir, false, err, sizeof(err))) {
			ERR("encryption keys of %s: %s", ctx->data_dir, err);
			return ES_ENOKEK;
		}
		rec_keys_remote(ctx->own_vault, ix);
		ctx->vault = ctx->own_vault;
	}
	e = rec_ledger_fetch_node(ctx->data_dir, ix, p->rec.node, ldir, cap, ixh, ixtrusted, err,
				  sizeof(err));
	if (e == ES_EEXIST) { /* the node's ledger is this folder's own */
		snprintf(ldir, cap, "%s/ledger", ctx->data_dir);
		ctx->elsewhere = false;
		return 0;
	}
	if (e)
		ERR("%s", err);
	return e;
}

/* Gather and check every part against the ledger; 0 or the exit code. */
static int gather(struct ev_ctx *ctx, struct idx *ix, int64_t call_row, const char *arg,
		  struct ev_parts *p)
{
	struct st_ledger *own = NULL;
	const struct st_ledger *l = NULL;
	char err[1024], ldir[1100];
	int rc = ES_EIO;
	int e = idx_call_get(ix, call_row, take, &p->rec);
	if (e == ES_ENOTFOUND) {
		ERR("no call %s in %s", arg, ctx->data_dir);
		rc = ES_ENOTFOUND;
		goto out;
	}
	if (e) {
		ERR("%s", idx_errmsg(ix));
		goto out;
	}
	if (!p->rec.found) {
		ERR("call %s has no recording (no audio was captured)", arg);
		rc = ES_ENOTFOUND;
		goto out;
	}
	if (p->rec.too_long || !p->rec.format[0] || strchr(p->rec.format, '/')) {
		ERR("recording of call %s has an unusable path or format", arg);
		goto out;
	}
	snprintf(p->audio_name, sizeof(p->audio_name), "audio.%s", p->rec.format);
	if (rec_canon_meta(ix, p->rec.row, &p->meta)) {
		ERR("cannot read the metadata of call %s", arg);
		goto out;
	}
	snprintf(ldir, sizeof(ldir), "%s/ledger", ctx->data_dir);
	struct st_head ixh;
	bool ixtrusted = false;
	/* this process's own node's recording is in its own ledger
	 * (rec_recording_elsewhere: never the own node's) */
	ctx->elsewhere = rec_recording_elsewhere(ctx->data_dir, ix, p->rec.node, p->rec.path);
	if (ctx->elsewhere && (rc = reach_node(ctx, ix, p, ldir, sizeof(ldir), &ixh, &ixtrusted)))
		goto out;
	rc = ES_EIO;
	if (ctx->ledger && !ctx->elsewhere ? st_ledger_cache_get(ctx->ledger, &l, err, sizeof(err))
			: st_ledger_open(&own, ldir, ST_LEDGER_RDONLY, err, sizeof(err))) {
		ERR("integrity ledger %s: %s", ldir, err);
		goto out;
	}
	if (own)
		l = own;
	uint64_t seq;
	bool tomb;
	e = st_ledger_find(l, p->rec.path, &seq, &tomb);
	if (e == ES_ENOTFOUND && ctx->elsewhere) {
		ERR("recording %s has no leaf in the ledger node %s published yet (it publishes at "
		    "each upload pass): try again later", p->rec.path, p->rec.node);
		rc = ES_EAGAIN;
		goto out;
	}
	if (e == ES_ENOTFOUND) {
		ERR("recording %s has no leaf in the ledger %s yet (the next "
			"`earshot import` or recorder start enters it)", p->rec.path, ldir);
		goto out;
	}
	if (e || tomb) {
		ERR("%s: %s", p->rec.path, tomb ? "the ledger records its "
			"deletion (a tombstone): no evidence can be made" : es_strerror(e));
		goto out;
	}
	char line[ST_LEDGER_LINE_MAX + 1];
	size_t llen;
	if (st_ledger_entry(l, seq, &p->e) ||
	    st_ledger_entry_line(l, seq, line, sizeof(line), &llen)) {
		ERR("%s: cannot read leaf %" PRIu64 "", ldir, seq);
		goto out;
	}
	es_buf_append(&p->leaf, line, llen);
	es_buf_append(&p->leaf, "\n", 1);
	uint8_t md[32], cipher[32];
	crypto_hash_sha256(md, p->meta.p, p->meta.len);
	if (!p->e.has_meta || memcmp(md, p->e.meta_sha256, 32)) {
		ERR("the metadata of call %s in the index is not what the ledger "
			"signed (leaf %" PRIu64 "): the index was altered; run `earshot verify`", arg,
			seq);
		goto out;
	}
	size_t bl = 0;
	if (!p->e.has_cipher || sodium_hex2bin(cipher, 32, p->rec.sha256, strlen(p->rec.sha256),
					       NULL, &bl, NULL) || bl != 32 ||
	    memcmp(cipher, p->e.cipher_sha256, 32)) {
		ERR("the index's SHA-256 of %s is not the ledger's (leaf %" PRIu64
			"): the index was altered; run `earshot verify`", p->rec.path, seq);
		goto out;
	}
	size_t nh = st_ledger_head_count(l);
	if (ctx->elsewhere && (!nh || st_ledger_head(l, nh - 1, &p->h) || p->h.size <= seq)) {
		ERR("leaf %" PRIu64 " of node %s's ledger is not under a signed head it published "
		    "yet: try again later", seq, p->rec.node);
		rc = ES_EAGAIN;
		goto out;
	}
	if (!nh || st_ledger_head(l, nh - 1, &p->h) || p->h.size <= seq) {
		ERR("leaf %" PRIu64 " of %s is not under a signed tree head yet",
			seq, ldir);
		goto out;
	}
	uint8_t pk[ST_LEDGER_PK_LEN];
	st_ledger_public_key(l, pk);
	uint8_t path[ST_MERKLE_MAX_PROOF][ST_HASH_LEN];
	size_t plen = 0;
	if (st_head_verify(&p->h, pk) ||
	    st_ledger_inclusion_proof(l, seq, p->h.size, path, &plen) ||
	    st_merkle_inclusion_verify(p->e.leaf_hash, seq, p->h.size,
				       (const uint8_t(*)[ST_HASH_LEN])path, plen, p->h.root)) {
		ERR("the ledger %s does not prove leaf %" PRIu64 " under its "
			"latest signed head (damaged or altered): run `earshot verify`", ldir, seq);
		goto out;
	}
	char hl[ST_LEDGER_LINE_MAX + 1], hx[2 * ST_HASH_LEN + 1];
	int n = st_head_format(&p->h, hl, sizeof(hl));
	if (n < 0) {
		ERR("cannot format the tree head");
		goto out;
	}
	es_buf_append(&p->head, hl, (size_t)n);
	es_buf_append(&p->head, "\n", 1);
	/* trusted heads (an anchor): this ledger must extend them, and the
	 * bundle carries a proof from each */
	uint64_t extra[ST_CONS_MAX];
	size_t nextra = 0, ours = 0;
	for (size_t i = 0; i < ctx->ntrusted; i++) {
		const struct st_head *t = &ctx->trusted[i];
		char why[1024];
		if (memcmp(t->key_id, pk, ST_LEDGER_KEYID_LEN) != 0)
			continue;
		ours++;
		if (st_ledger_check_trusted(l, t, why, sizeof(why)) != ST_TRUST_OK) {
			ERR("the ledger %s does not extend a trusted head: %s", ldir, why);
			goto out;
		}
		if (nextra < ST_CONS_MAX && t->size < p->h.size)
			extra[nextra++] = t->size;
	}
	/* the head the node published in the index, which its copy reaches
	 * (checked in record/ledger_pub.c): a proof from it too */
	if (ctx->elsewhere && ixtrusted && nextra < ST_CONS_MAX && ixh.size < p->h.size)
		extra[nextra++] = ixh.size;
	if (ctx->ntrusted && !ours) {
		ERR("none of the trusted heads is signed by the ledger's key (%s/ledger.pub)", ldir);
		goto out;
	}
	/* proofs from earlier heads, for a verifier holding one from an anchor */
	if (st_ledger_consistency_text(l, p->h.size, extra, nextra, &p->cons, NULL)) {
		ERR("the ledger %s cannot prove its latest head consistent with the earlier "
		    "ones (damaged or altered): run `earshot verify`", ldir);
		goto out;
	}
	es_buf_printf(&p->proof, "earshot-proof-v1\nseq %" PRIu64 "\nsize %" PRIu64 "\n", seq,
		      p->h.size);
	for (size_t i = 0; i < plen; i++) {
		hex(path[i], ST_HASH_LEN, hx);
		es_buf_printf(&p->proof, "%s\n", hx);
	}
	tr_proofs(l, p);
	char pkx[2 * ST_LEDGER_PK_LEN + 1];
	hex(pk, ST_LEDGER_PK_LEN, pkx);
	es_buf_printf(&p->pub, "earshot-ledger-pub-v1 %s\n", pkx);
	rec_bundle_readme(p, arg, plen);
	rc = 0;
out:
	if (ctx->ledger && l && !own)
		st_ledger_cache_put(ctx->ledger);
	st_ledger_close(own);
	return rc;
}

/* The call's transcripts (caller, callee), decrypted, with a note in the
 * README: they are carried for the reader, not proven by the leaf. */
static const char *const tr_names[2] = {"transcript.caller.json", "transcript.callee.json"};
static const char *const tr_leaf_names[2] = {"transcript.caller.leaf.txt",
					     "transcript.callee.leaf.txt"};
static const char *const tr_proof_names[2] = {"transcript.caller.proof.txt",
					      "transcript.callee.proof.txt"};

static int gather_transcripts(struct ev_ctx *ctx, struct ev_parts *p)
{
	struct st_vault *v = ctx->vault, *own = NULL;
	char err[512] = "";
	if (p->rec.encrypted && !v && st_vault_open(&own, ctx->data_dir, false, err, sizeof(err)))
		return 0; /* no keys: the audio's own step names the problem */
	struct idx_recording rec = {.path = p->rec.path, .encrypted = p->rec.encrypted};
	int rc = 0, n = 0, proven = 0;
	for (int ch = 0; ch < 2 && !rc; ch++) {
		/* another node's words are in its bucket beside the recording */
		rc = rec_transcript_load_node(ctx->data_dir, ctx->elsewhere ? ctx->ix : NULL,
					      ctx->elsewhere ? p->rec.node : NULL, v ? v : own, &rec,
					      ch, &p->tr[ch], err, sizeof(err));
		if (rc == ES_ENOTFOUND)
			rc = 0, p->tr[ch].len = 0;
		else if (rc)
			ERR("the transcript of %s: %s", p->rec.path, err);
		else
			n++;
		/* a proof only for the words the leaf names (a newer transcript
		 * not yet sealed, or altered words, go unproven) */
		uint8_t md[32];
		if (!rc && p->trleaf[ch].len) {
			crypto_hash_sha256(md, p->tr[ch].p, p->tr[ch].len);
			if (!p->tr[ch].len || memcmp(md, p->trplain[ch], 32)) {
				es_buf_reset(&p->trleaf[ch]);
				es_buf_reset(&p->trproof[ch]);
			} else {
				proven++;
			}
		}
	}
	st_vault_close(own);
	if (!rc && n)
		es_buf_printf(&p->readme,
			"\n"
			"Transcripts\n"
			"  transcript.caller.json, transcript.callee.json: the words as the speech\n"
			"  engine heard them, with times in ms from the recording's start (spoken\n"
			"  card numbers masked).\n");
	if (!rc && n)
		es_buf_printf(&p->readme, proven == n ?
			"  Each is proven too: transcript.<party>.leaf.txt is its ledger entry (tr,\n"
			"  whose plain= is the SHA-256 of the .json file) and\n"
			"  transcript.<party>.proof.txt its inclusion proof under head.txt, checked\n"
			"  as the recording's.\n" :
			"  %d of %d are proven by a ledger entry and proof (transcript.<party>.leaf.txt,\n"
			"  .proof.txt, checked as the recording's); the others are not sealed into\n"
			"  the ledger yet and are carried for the reader only.\n", proven, n);
	return rc ? ES_EIO : 0;
}

/* The plaintext of the recording into dst, checked against the leaf. */
static int write_audio(struct ev_ctx *ctx, const struct ev_parts *p, const char *dst)
{
	struct st_vault *v = ctx->vault, *own = NULL;
	char err[1024];
	if (p->rec.encrypted && !v && st_vault_open(&own, ctx->data_dir, false, err, sizeof(err))) {
		ERR("encryption keys of %s: %s", ctx->data_dir, err);
		return ES_EIO;
	}
	struct idx_recording r = {
		.call_row = p->rec.row,
		.path = p->rec.path,
		.format = p->rec.format,
		.sha256 = p->rec.sha256,
		.plain_sha256 = p->rec.plain[0] ? p->rec.plain : NULL,
		.encrypted = p->rec.encrypted,
	};
	int e = rec_recording_plain(ctx->data_dir, v ? v : own, &r, dst, err, sizeof(err));

	st_vault_close(own);
	if (e == ES_ECRYPTO) {
		ERR("%s (the stored recording was altered or damaged)", err);
		return ES_EIO;
	}
	if (e == ES_ENOTFOUND) {
		ERR("%s (its key was shredded: it cannot be decrypted)", err);
		return ES_EIO;
	}
	if (e) {
		ERR("%s", err);
		return ES_EIO;
	}
	uint8_t md[32];
	const uint8_t *want = p->e.has_plain ? p->e.plain_sha256 : p->e.cipher_sha256;
	if (st_sha256_file(dst, md, NULL) || memcmp(md, want, 32)) {
		ERR("the audio of %s is not what the ledger signed (%s=): the "
			"recording was altered", p->rec.path, p->e.has_plain ? "plain" : "cipher");
		return ES_EIO;
	}
	return 0;
}

struct ev_named {
	const char *name;
	const struct es_buf *b;
};

static int bundle_dir(struct ev_ctx *ctx, struct ev_parts *p, const char *dir, bool made)
{
	const struct ev_named files[] = {
		{"metadata.json", &p->meta}, {"leaf.txt", &p->leaf}, {"proof.txt", &p->proof},
		{"head.txt", &p->head},      {"ledger.pub", &p->pub}, {"README.txt", &p->readme},
		{"consistency.txt", &p->cons},
	};
	char fp[4200];
	size_t done = 0;
	int rc = 0;
	snprintf(fp, sizeof(fp), "%s/%s", dir, p->audio_name);
	if ((rc = write_audio(ctx, p, fp)))
		goto fail;
	for (; done < ES_ARRAY_LEN(files); done++) {
		snprintf(fp, sizeof(fp), "%s/%s", dir, files[done].name);
		if (write_new(fp, files[done].b->p, files[done].b->len)) {
			ERR("%s: %s", fp, strerror(errno));
			rc = ES_EIO;
			goto fail;
		}
	}
	for (int ch = 0; ch < 2; ch++) {
		const struct ev_named trf[3] = {{tr_names[ch], &p->tr[ch]},
						{tr_leaf_names[ch], &p->trleaf[ch]},
						{tr_proof_names[ch], &p->trproof[ch]}};
		for (int k = 0; k < 3; k++) {
			snprintf(fp, sizeof(fp), "%s/%s", dir, trf[k].name);
			if (trf[k].b->len && write_new(fp, trf[k].b->p, trf[k].b->len)) {
				ERR("%s: %s", fp, strerror(errno));
				rc = ES_EIO;
				goto fail;
			}
		}
	}
	fsync_dir(dir);
	return 0;
fail:
	for (int ch = 0; ch < 2; ch++) {
		const char *const names[3] = {tr_names[ch], tr_leaf_names[ch], tr_proof_names[ch]};
		for (int k = 0; k < 3; k++) {
			snprintf(fp, sizeof(fp), "%s/%s", dir, names[k]);
			unlink(fp);
		}
	}
	snprintf(fp, sizeof(fp), "%s/%s", dir, p->audio_name);
	unlink(fp);
	for (size_t i = 0; i < done; i++) {
		snprintf(fp, sizeof(fp), "%s/%s", dir, files[i].name);
		unlink(fp);
	}
	if (made)
		rmdir(dir);
	return rc;
}

/* The audio, streamed: plaintext pieces go to fn as they are decrypted. */
typedef int (*ev_sink_fn)(void *ud, const void *p, size_t n);

/* Stream the plaintext of p's recording to fn (never to a file): the stored
 * file is checked against the index's SHA-256 first, as rec_recording_plain
 * does, and the plaintext against the leaf at the end; on failure fn has
 * seen a prefix, which the caller discards. */
static int stream_audio(struct ev_ctx *ctx, const struct ev_parts *p, ev_sink_fn fn, void *ud)
{
	struct st_vault *v = ctx->vault, *own = NULL;
	struct st_enc_reader *rd = NULL;
	struct st_dek *dek = NULL;
	uint8_t *buf = NULL;
	int fd = -1, rc = ES_EIO;
	char err[1024], file[1200], fhex[65];
	/* with its SHA-256: an archived recording's checked copy in DATA/cache
	 * (rec_recording_reach fetched another node's there) */
	struct idx_recording r = {.call_row = p->rec.row, .path = p->rec.path,
				  .format = p->rec.format, .sha256 = p->rec.sha256,
				  .encrypted = p->rec.encrypted};
	if (rec_recording_path(ctx->data_dir, &r, file, sizeof(file))) {
		ERR("%s: path too long", p->rec.path);
		return ES_ELIMIT;
	}
	if (st_sha256_file(file, NULL, fhex)) {
		ERR("%s: %s", file, strerror(errno));
		return ES_EIO;
	}
	if (strcmp(fhex, p->rec.sha256)) {
		ERR("%s: altered: its SHA-256 is %s, the index says %s (the stored recording was "
		    "altered or damaged)", file, fhex, p->rec.sha256);
		return ES_EIO;
	}
	enum { BUF = 256 * 1024 };
	if (!(buf = malloc(BUF))) {
		ERR("out of memory");
		return ES_ENOMEM;
	}
	crypto_hash_sha256_state hs;
	crypto_hash_sha256_init(&hs);
	if (p->rec.encrypted) {
		if (!v && st_vault_open(&own, ctx->data_dir, false, err, sizeof(err))) {
			ERR("encryption keys of %s: %s", ctx->data_dir, err);
			goto out;
		}
		int e = (v || own) ? st_vault_key(v ? v : own, p->rec.path, &dek, err, sizeof(err))
				   : ES_ENOTFOUND;
		if (e == ES_ENOTFOUND) {
			if (!v && !own)
				snprintf(err, sizeof(err), "%.900s: encrypted, and the data folder has no keys",
					 file);
			ERR("%s (its key was shredded: it cannot be decrypted)", err);
			goto out;
		}
		if (e || (e = st_enc_reader_open(&rd, file, dek, err, sizeof(err)))) {
			ERR("%s%s", err, e == ES_ECRYPTO ? " (the stored recording was altered or "
				"damaged)" : "");
			goto out;
		}
		uint64_t size = st_enc_reader_size(rd), off = 0;
		while (off < size) {
			size_t got = 0;
			e = st_enc_reader_pread(rd, buf, BUF, off, &got);
			if (e || !got) {
				ERR("%s: %s (the stored recording was altered or damaged)", file,
				    e ? st_enc_reader_error(rd) : "ends early");
				goto out;
			}
			crypto_hash_sha256_update(&hs, buf, got);
			if ((rc = fn(ud, buf, got)))
				goto out;
			rc = ES_EIO;
			off += got;
		}
	} else {
		if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
			ERR("%s: %s", file, strerror(errno));
			goto out;
		}
		for (;;) {
			ssize_t k = read(fd, buf, BUF);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				ERR("%s: %s", file, strerror(errno));
				goto out;
			}
			if (!k)
				break;
			crypto_hash_sha256_update(&hs, buf, (size_t)k);
			if ((rc = fn(ud, buf, (size_t)k)))
				goto out;
			rc = ES_EIO;
		}
	}
	uint8_t md[32];
	crypto_hash_sha256_final(&hs, md);
	if (memcmp(md, p->e.has_plain ? p->e.plain_sha256 : p->e.cipher_sha256, 32)) {
		ERR("the audio of %s is not what the ledger signed (%s=): the "
			"recording was altered", p->rec.path, p->e.has_plain ? "plain" : "cipher");
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	st_enc_reader_close(rd);
	st_dek_free(dek);
	st_vault_close(own);
	free(buf);
	return rc;
}

static int zip_sink(void *ud, const void *p, size_t n)
{
	return st_zip_writer_write(ud, p, n);
}

/* The archive's entries, in their fixed order, into w (not finished). */
static int bundle_zip_entries(struct ev_ctx *ctx, struct ev_parts *p, struct st_zip_writer *w)
{
	int e = st_zip_writer_add(w, "README.txt", p->readme.p, p->readme.len);
	if (!e && !(e = st_zip_writer_begin(w, p->audio_name))) {
		e = stream_audio(ctx, p, zip_sink, w);
		if (e) {
			if (!ctx->err[0]) /* the writer failed, not the audio */
				ERR("%s", st_zip_writer_error(w));
			return ES_EIO;
		}
		e = st_zip_writer_end(w);
	}
	if (!e)
		e = st_zip_writer_add(w, "metadata.json", p->meta.p, p->meta.len);
	if (!e)
		e = st_zip_writer_add(w, "leaf.txt", p->leaf.p, p->leaf.len);
	if (!e)
		e = st_zip_writer_add(w, "proof.txt", p->proof.p, p->proof.len);
	if (!e)
		e = st_zip_writer_add(w, "head.txt", p->head.p, p->head.len);
	if (!e)
		e = st_zip_writer_add(w, "ledger.pub", p->pub.p, p->pub.len);
	if (!e)
		e = st_zip_writer_add(w, "consistency.txt", p->cons.p, p->cons.len);
	for (int ch = 0; ch < 2 && !e; ch++)
		if (p->tr[ch].len)
			e = st_zip_writer_add(w, tr_names[ch], p->tr[ch].p, p->tr[ch].len);
	for (int ch = 0; ch < 2 && !e; ch++) {
		if (!p->trleaf[ch].len)
			continue;
		e = st_zip_writer_add(w, tr_leaf_names[ch], p->trleaf[ch].p, p->trleaf[ch].len);
		if (!e)
			e = st_zip_writer_add(w, tr_proof_names[ch], p->trproof[ch].p,
					      p->trproof[ch].len);
	}
	if (!e)
		e = st_zip_writer_finish(w);
	if (e)
		ERR("%s", st_zip_writer_error(w));
	return e ? ES_EIO : 0;
}

static int bundle_zip(struct ev_ctx *ctx, struct ev_parts *p, const char *out)
{
	char tmp_zip[4200], err[512];
	snprintf(tmp_zip, sizeof(tmp_zip), "%s.%ld.tmp", out, (long)getpid());
	struct st_zip_writer *w = NULL;
	if (st_zip_writer_open(&w, tmp_zip, err, sizeof(err))) {
		ERR("%s", err);
		return ES_EIO;
	}
	int rc = bundle_zip_entries(ctx, p, w);
	st_zip_writer_free(w); /* removes tmp_zip unless finished */
	if (rc) {
		unlink(tmp_zip);
		return rc;
	}
	/* no clobbering: link fails when out appeared meanwhile */
	if (link(tmp_zip, out)) {
		ERR("%s: %s", out, strerror(errno));
		unlink(tmp_zip);
		return ES_EIO;
	}
	unlink(tmp_zip);
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s", out);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	fsync_dir(slash ? (dir[0] ? dir : "/") : ".");
	return 0;
}

/* The archive into a new memfd: *fd, positioned anywhere (read it with pread). */
static int bundle_memfd(struct ev_ctx *ctx, struct ev_parts *p, int *fd)
{
	char err[512];
	*fd = memfd_create("earshot-evidence", MFD_CLOEXEC);
	if (*fd < 0) {
		ERR("memfd_create: %s", strerror(errno));
		return ES_EIO;
	}
	struct st_zip_writer *w = NULL;
	int rc = st_zip_writer_open_fd(&w, *fd, "evidence.zip", err, sizeof(err));
	if (rc)
		ERR("%s", err);
	else
		rc = bundle_zip_entries(ctx, p, w);
	st_zip_writer_free(w);
	if (rc) {
		close(*fd);
		*fd = -1;
	}
	return rc;
}

/* Gather, then build with zip / dir (out) or into a memfd (*fd). */
static int bundle(struct ev_ctx *ctx, struct idx *ix, int64_t call_row, const char *label,
		  const char *out, bool zip, bool made, int *fd, struct rec_evidence_info *info)
{
	ERR("%s", "");
	if (sodium_init() < 0) {
		ERR("libsodium failed to start");
		return ES_ECRYPTO;
	}
	struct ev_parts *p = calloc(1, sizeof(*p));
	if (!p) {
		ERR("out of memory");
		return ES_ENOMEM;
	}
	es_buf_init(&p->meta);
	es_buf_init(&p->leaf);
	es_buf_init(&p->proof);
	es_buf_init(&p->head);
	es_buf_init(&p->pub);
	es_buf_init(&p->readme);
	es_buf_init(&p->cons);
	for (int ch = 0; ch < 2; ch++) {
		es_buf_init(&p->tr[ch]);
		es_buf_init(&p->trleaf[ch]);
		es_buf_init(&p->trproof[ch]);
	}
	ctx->ix = ix;
	int rc = gather(ctx, ix, call_row, label, p);
	if (!rc)
		rc = gather_transcripts(ctx, p);
	if (rc && made)
		rmdir(out);
	if (!rc)
		rc = fd ? bundle_memfd(ctx, p, fd)
			: zip ? bundle_zip(ctx, p, out) : bundle_dir(ctx, p, out, made);
	if (!rc && info) {
		snprintf(info->path, sizeof(info->path), "%s", p->rec.path);
		info->seq = p->e.seq;
		info->size = p->h.size;
	}
	es_buf_free(&p->meta);
	es_buf_free(&p->leaf);
	es_buf_free(&p->proof);
	es_buf_free(&p->head);
	es_buf_free(&p->pub);
	es_buf_free(&p->readme);
	es_buf_free(&p->cons);
	for (int ch = 0; ch < 2; ch++) {
		if (p->tr[ch].p)
			sodium_memzero(p->tr[ch].p, p->tr[ch].len);
		es_buf_free(&p->tr[ch]);
		es_buf_free(&p->trleaf[ch]);
		es_buf_free(&p->trproof[ch]);
	}
	free(p);
	st_vault_close(ctx->own_vault);
	return rc;
}

int rec_evidence_bundle(const char *data_dir, struct st_vault *vault, struct idx *ix,
			int64_t call_row, const char *label, const char *out, bool zip, bool made,
			const struct st_head *trusted, size_t ntrusted,
			struct rec_evidence_info *info, char *err, size_t errlen)
{
	char dummy[8];
	struct ev_ctx c = {.data_dir = data_dir, .vault = vault, .err = err ? err : dummy,
			   .errlen = err ? errlen : sizeof(dummy), .trusted = trusted,
			   .ntrusted = ntrusted};
	return bundle(&c, ix, call_row, label, out, zip, made, NULL, info);
}

int rec_evidence_bundle_memfd(const char *data_dir, struct st_vault *vault,
			      struct st_ledger_cache *ledger, struct idx *ix, int64_t call_row,
			      const char *label, int *fd, struct rec_evidence_info *info, char *err,
			      size_t errlen)
{
	char dummy[8];
	struct ev_ctx c = {.data_dir = data_dir, .vault = vault, .ledger = ledger,
			   .err = err ? err : dummy, .errlen = err ? errlen : sizeof(dummy)};
	*fd = -1;
	return bundle(&c, ix, call_row, label, NULL, true, false, fd, info);
}
