/*
 * bundle_readme.c - the README.txt of an evidence bundle (record/bundle.c):
 * what each file is, the key's fingerprint, how to verify with the tool
 * and by hand.  Not part of the evidence.
 */
#include "record/bundle_internal.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <time.h>

static void hex(const uint8_t *p, size_t n, char *out)
{
	sodium_bin2hex(out, 2 * n + 1, p, n);
}

void rec_bundle_readme(struct ev_parts *p, const char *arg, size_t plen)
{
	char t[40], fp[65], audio_hash[65];
	uint8_t md[32];
	time_t s = (time_t)(p->h.time_us / 1000000);
	struct tm tm;
	if (!gmtime_r(&s, &tm) || !strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(t, sizeof(t), "?");
	crypto_hash_sha256(md, p->pub.p, p->pub.len);
	hex(md, 32, fp);
	hex(p->e.has_plain ? p->e.plain_sha256 : p->e.cipher_sha256, 32, audio_hash);
	const char *which = p->e.has_plain ? "plain" : "cipher";
	es_buf_printf(&p->readme,
		"earshot evidence bundle\n"
		"=======================\n"
		"\n"
		"Call %s, recording %s (call row %" PRId64 "),\n"
		"leaf %" PRIu64 " of the recorder's integrity ledger, under a tree head of\n"
		"%" PRIu64 " leaves signed %s.\n"
		"\n"
		"Files\n"
		"  %-13s the recording's audio, decrypted: exactly the bytes whose SHA-256\n"
		"                the ledger leaf carries (%s=%s)\n"
		"  metadata.json the call's canonical metadata (who, when, outcome, the\n"
		"                recording's file and hashes); its SHA-256 is the leaf's meta=\n"
		"  leaf.txt      the ledger entry of the recording (one line, tab-separated):\n"
		"                1 rec <seq> <time_us> <id> meta=<h> cipher=<h> plain=<h>\n"
		"                (cipher= is the SHA-256 of the file as stored; plain= of the\n"
		"                audio, \"-\" when the recording is stored unencrypted)\n"
		"  proof.txt     the RFC 9162 inclusion proof of the leaf in the signed tree:\n"
		"                \"earshot-proof-v1\", \"seq <n>\", \"size <tree size>\", then\n"
		"                the audit path, one SHA-256 a line (%zu hashes)\n"
		"  head.txt      the signed tree head: 1 <size> <time_us> <root> <key id> <sig>;\n"
		"                the Ed25519 signature covers the bytes\n"
		"                \"earshot-sth-v1\\n<size>\\n<time_us>\\n<root>\\n\"\n"
		"  ledger.pub    the ledger's Ed25519 public key\n"
		"  consistency.txt  RFC 9162 consistency proofs from earlier signed heads\n"
		"                of the ledger to head.txt: with a head kept outside the\n"
		"                recorder (an anchor), `--head ANCHOR-FILE` checks that this\n"
		"                bundle's ledger extends it (not rolled back, not forked)\n"
		"  README.txt    this file (not part of the evidence)\n"
		"\n"
		"Verify with the tool (no data folder needed)\n"
		"  earshot-verify-evidence --key TRUSTED-ledger.pub THIS-BUNDLE\n"
		"  earshot-verify-evidence --head ANCHOR-FILE THIS-BUNDLE\n"
		"Without --key the key in this bundle is used, which proves nothing on its\n"
		"own: compare its fingerprint with the one the recorder publishes.\n"
		"  Fingerprint (SHA-256 of ledger.pub): %s\n"
		"  On the recorder: sha256sum DATA/ledger/ledger.pub\n"
		"\n"
		"Verify by hand\n"
		"  1. sha256sum %s metadata.json\n"
		"     must print the %s= and meta= values of leaf.txt.\n"
		"  2. The leaf hash is SHA-256(0x00 || leaf line without its newline):\n"
		"       (printf '\\000'; head -c -1 leaf.txt) | sha256sum\n"
		"  3. Fold the audit path of proof.txt into that hash as RFC 9162 2.1.3.2\n"
		"     says (each step SHA-256(0x01 || left || right)); the result must be\n"
		"     the root in head.txt (4th field).\n"
		"  4. Check head.txt's signature (6th field) over the message above with\n"
		"     the key of ledger.pub (Ed25519, e.g. with PyNaCl or OpenSSL).\n",
		arg, p->rec.path, p->rec.row, p->e.seq, p->h.size, t, p->audio_name, which,
		audio_hash, plen, fp, p->audio_name, which);
}
