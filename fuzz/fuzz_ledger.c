/* fuzz_ledger.c - libFuzzer harness for the integrity ledger's parsers:
 * every line of the input as an entries.log line and as a heads.log line
 * (each copied into an exactly sized heap buffer so that ASan sees
 * over-reads), the offline evidence check on the first two lines, then the
 * input written as a ledger folder and opened read-only and verified:
 * before the first NUL byte it is entries.log, after it heads.log.  The
 * folder has a fixed public key and no secret key.  Each line is also read
 * as a published (anchor or syslog) head line, the input as a whole as an
 * anchor file (st_heads_read), and the folder checked against its own
 * heads as trusted heads (st_ledger_check_trusted). */
#include "store/ledger.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile size_t sink;
static char dir[64];

static void put(const char *name, const uint8_t *p, size_t n)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		__builtin_trap();
	if (n && fwrite(p, 1, n, f) != n)
		__builtin_trap();
	fclose(f);
}

static void count(void *ctx, const char *file, uint64_t line, const char *msg)
{
	(void)ctx;
	sink += strlen(file) + strlen(msg) + (size_t)line;
}

static void one_line(const uint8_t *p, size_t n)
{
	char *line = malloc(n ? n : 1);
	if (!line)
		return;
	memcpy(line, p, n);
	struct st_ledger_entry e;
	struct st_head h;
	char err[128], out[ST_LEDGER_LINE_MAX + 1];
	if (st_ledger_entry_parse(line, n, &e, err, sizeof(err)) == 0) {
		/* canonical: it formats back to the same bytes */
		int k = st_ledger_entry_format(&e, out, sizeof(out));
		if (k < 0 || (size_t)k != n || memcmp(out, line, n) != 0)
			__builtin_trap();
	}
	if (st_head_parse(line, n, &h, err, sizeof(err)) == 0) {
		int k = st_head_format(&h, out, sizeof(out));
		if (k < 0 || (size_t)k != n || memcmp(out, line, n) != 0)
			__builtin_trap();
		sink += (size_t)st_head_message(&h, out, sizeof(out));
	}
	int rc = st_head_parse_published(line, n, &h, err, sizeof(err));
	if (rc == 0) {
		/* the spaced form reads back as the same head */
		struct st_head g;
		int k = st_head_format_published(&h, out, sizeof(out));
		if (k < 0 || st_head_parse_published(out, (size_t)k, &g, err, sizeof(err)) != 0 ||
		    memcmp(&g, &h, sizeof(g)) != 0)
			__builtin_trap();
	}
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/fuzz_ledger.%d", (int)getpid());
		if (es_mkdirs(dir, true))
			__builtin_trap();
		/* an arbitrary fixed public key: no head will verify, which is fine */
		static const char pub[] = "earshot-ledger-pub-v1 "
					  "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29\n";
		put("ledger.pub", (const uint8_t *)pub, sizeof(pub) - 1);
	}
	const uint8_t *lines[2] = {NULL, NULL};
	size_t lens[2] = {0, 0}, nl = 0;
	for (size_t pos = 0; pos < size;) {
		const uint8_t *end = memchr(data + pos, '\n', size - pos);
		size_t n = end ? (size_t)(end - (data + pos)) : size - pos;
		one_line(data + pos, n);
		if (nl < 2) {
			lines[nl] = data + pos;
			lens[nl++] = n;
		}
		pos += n + 1;
	}
	if (nl == 2) {
		uint8_t pk[32] = {0}, path[3][ST_HASH_LEN];
		char err[256];
		memset(path, 0x42, sizeof(path));
		char *a = malloc(lens[0] + 1), *b = malloc(lens[1] + 1);
		if (a && b) {
			memcpy(a, lines[0], lens[0]);
			memcpy(b, lines[1], lens[1]);
			sink += (size_t)st_ledger_verify_evidence(a, lens[0], 0,
								  (const uint8_t(*)[ST_HASH_LEN])path,
								  size % 4, b, lens[1], pk, err, sizeof(err));
		}
		free(a);
		free(b);
	}
	const uint8_t *nul = memchr(data, 0, size);
	size_t elen = nul ? (size_t)(nul - data) : size;
	put("entries.log", data, elen);
	put("heads.log", nul ? nul + 1 : data, nul ? size - elen - 1 : 0);
	struct st_ledger *l;
	char err[512];
	if (st_ledger_open(&l, dir, ST_LEDGER_RDONLY, err, sizeof(err)) == 0) {
		uint64_t problems;
		sink += (size_t)st_ledger_verify(l, count, NULL, &problems);
		/* its own heads, as an anchor file, as trusted heads */
		char hp[128], why[512];
		snprintf(hp, sizeof(hp), "%s/heads.log", dir);
		struct st_head *hv = NULL;
		size_t hn = 0;
		if (st_heads_read(hp, &hv, &hn, why, sizeof(why)) == 0)
			for (size_t i = 0; i < hn && i < 8; i++)
				sink += (size_t)st_ledger_check_trusted(l, &hv[i], why, sizeof(why));
		free(hv);
		uint64_t n = st_ledger_size(l);
		struct st_ledger_entry e;
		uint8_t proof[ST_MERKLE_MAX_PROOF][ST_HASH_LEN];
		size_t plen;
		for (uint64_t i = 0; i < n && i < 8; i++) {
			if (st_ledger_entry(l, i, &e) != 0)
				__builtin_trap();
			if (st_ledger_inclusion_proof(l, i, n, proof, &plen) != 0)
				__builtin_trap();
			/* rec and tomb leaves name an id st_ledger_find knows; hold and
			 * release leaves need not (a hold may precede a late rec leaf),
			 * and find never answers with one of them */
			bool t;
			uint64_t at;
			int fr = st_ledger_find(l, e.id, &at, &t);
			bool existence = e.type == ST_ENTRY_RECORDING || e.type == ST_ENTRY_TOMBSTONE;
			if (existence ? fr != 0 : fr != 0 && fr != ES_ENOTFOUND)
				__builtin_trap();
			struct st_ledger_entry f;
			if (!fr && at < 8 && (st_ledger_entry(l, at, &f) != 0 ||
					      (f.type != ST_ENTRY_RECORDING && f.type != ST_ENTRY_TOMBSTONE)))
				__builtin_trap();
		}
		st_ledger_close(l);
	} else {
		sink += strlen(err);
	}
	return 0;
}
