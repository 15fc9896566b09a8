/* test_ledger.c - the integrity ledger: formats, reopen, proofs against
 * old and new heads, tampering of every file, torn writes, key handling,
 * and a throughput figure for 100,000 leaves. */
#include "check.h"
#include "store/ledger.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[256];

static void mkpath(char *buf, size_t cap, const char *dir, const char *name)
{
	snprintf(buf, cap, "%s/%s", dir, name);
}

static void hash_of(uint32_t i, uint8_t tag, uint8_t out[32])
{
	memset(out, tag, 32);
	memcpy(out, &i, sizeof(i));
}

/* A tiny sh wrapper for copies of folders. */
static int sh(const char *fmt, const char *a, const char *b)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), fmt, a, b);
	return system(cmd);
}

static char *slurp_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *p = malloc((size_t)n + 1);
	if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	fclose(f);
	if (p) {
		p[n] = '\0';
		*len = (size_t)n;
	}
	return p;
}

static void write_file(const char *path, const char *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(p, 1, len, f);
		fclose(f);
	}
}

/* Offset of the start of 1-based line n in p. */
static size_t line_off(const char *p, size_t len, int n)
{
	size_t off = 0;
	for (int i = 1; i < n && off < len; i++) {
		const char *nl = memchr(p + off, '\n', len - off);
		off = (size_t)(nl - p) + 1;
	}
	return off;
}

struct findings {
	int n;
	char all[8192];
};

static void collect(void *ctx, const char *file, uint64_t line, const char *msg)
{
	struct findings *f = ctx;
	size_t used = strlen(f->all);
	snprintf(f->all + used, sizeof(f->all) - used, "%s:%llu: %s\n", file,
		 (unsigned long long)line, msg);
	f->n++;
}

static int verify_dir(const char *dir, struct findings *f)
{
	struct st_ledger *l;
	char err[512];
	memset(f, 0, sizeof(*f));
	int rc = st_ledger_open(&l, dir, ST_LEDGER_RDONLY, err, sizeof(err));
	if (rc) {
		snprintf(f->all, sizeof(f->all), "open: %s", err);
		return rc;
	}
	uint64_t problems = 0;
	rc = st_ledger_verify(l, collect, f, &problems);
	st_ledger_close(l);
	return rc;
}

static void test_parsers(void)
{
	struct st_ledger_entry e = {.type = ST_ENTRY_RECORDING, .seq = 7, .time_us = 123};
	strcpy(e.id, "call-1@host");
	e.has_meta = e.has_plain = true;
	memset(e.meta_sha256, 0xab, 32);
	memset(e.plain_sha256, 0x01, 32);
	char line[ST_LEDGER_LINE_MAX + 1];
	int n = st_ledger_entry_format(&e, line, sizeof(line));
	CHECK(n > 0);
	CHECK(strstr(line, "1\trec\t7\t123\tcall-1@host\tmeta=abab") == line);
	CHECK(strstr(line, "\tcipher=-\tplain=0101") != NULL);
	struct st_ledger_entry p;
	char err[128];
	CHECK_INT(st_ledger_entry_parse(line, (size_t)n, &p, err, sizeof(err)), 0);
	CHECK(p.has_meta && !p.has_cipher && p.has_plain && p.seq == 7 && p.time_us == 123);
	CHECK_STR(p.id, "call-1@host");
	uint8_t lh[ST_HASH_LEN];
	st_merkle_leaf_hash(line, (size_t)n, lh);
	CHECK(memcmp(lh, p.leaf_hash, ST_HASH_LEN) == 0);
	static const char *const bad[] = {
		"1\trec\t07\t123\tx\tmeta=-\tcipher=-\tplain=-",      /* leading zero */
		"1\trec\t7\t-1\tx\tmeta=-\tcipher=-\tplain=-",        /* negative time */
		"1\trec\t7\t1\tx y\tmeta=-\tcipher=-\tplain=-",       /* space in id */
		"1\trec\t7\t1\t\tmeta=-\tcipher=-\tplain=-",          /* empty id */
		"1\trec\t7\t1\tx\tmeta=-\tcipher=-",                  /* missing field */
		"1\trec\t7\t1\tx\tmeta=-\tcipher=-\tplain=-\t",       /* extra field */
		"1\trec\t7\t1\tx\tplain=-\tcipher=-\tmeta=-",         /* order */
		"1\trec\t7\t1\tx\tmeta=AB\tcipher=-\tplain=-",        /* bad hex */
		"1\ttomb\t7\t1\tx\treason=",                          /* empty reason */
		"1\ttomb\t7\t1\tx\treason=Retention",                 /* upper case */
		"2\ttomb\t7\t1\tx\treason=retention",                 /* version */
		"1\tdel\t7\t1\tx\treason=retention",                  /* type */
		"1\ttomb\t18446744073709551616\t1\tx\treason=a",      /* overflow */
		"",
	};
	for (size_t i = 0; i < ES_ARRAY_LEN(bad); i++) {
		int rc = st_ledger_entry_parse(bad[i], strlen(bad[i]), &p, err, sizeof(err));
		CHECK_INT(rc, ES_EPARSE);
		if (rc != ES_EPARSE)
			fprintf(stderr, "  accepted: %s\n", bad[i]);
	}
	const char *ok = "1\ttomb\t18446744073709551615\t9223372036854775807\t!~\treason=shredded";
	CHECK_INT(st_ledger_entry_parse(ok, strlen(ok), &p, err, sizeof(err)), 0);
	CHECK_STR(p.reason, "shredded");
	CHECK(p.type == ST_ENTRY_TOMBSTONE && p.seq == UINT64_MAX && p.time_us == INT64_MAX);
	/* legal hold leaves: hold=NAME, the reason's alphabet */
	const char *hold = "1\thold\t3\t9\tx\thold=case-7";
	CHECK_INT(st_ledger_entry_parse(hold, strlen(hold), &p, err, sizeof(err)), 0);
	CHECK(p.type == ST_ENTRY_HOLD && !strcmp(p.reason, "case-7"));
	const char *rel = "1\trelease\t4\t9\tx\thold=case-7";
	CHECK_INT(st_ledger_entry_parse(rel, strlen(rel), &p, err, sizeof(err)), 0);
	CHECK(p.type == ST_ENTRY_RELEASE);
	n = st_ledger_entry_format(&p, line, sizeof(line));
	CHECK(n == (int)strlen(rel) && !memcmp(line, rel, strlen(rel)));
	static const char *const badh[] = {"1\thold\t3\t9\tx\thold=", "1\thold\t3\t9\tx\thold=Case",
					   "1\thold\t3\t9\tx\treason=case", "1\trelease\t3\t9\tx"};
	for (size_t i = 0; i < ES_ARRAY_LEN(badh); i++)
		CHECK_INT(st_ledger_entry_parse(badh[i], strlen(badh[i]), &p, err, sizeof(err)),
			  ES_EPARSE);
	/* redact leaves: of=, span=FROM-TO (ms, from < to), channel=, detail= */
#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	const char *red = "1\tredact\t5\t9\tr/1.r1.opus.enc\tof=0\tspan=1000-2500\tchannel=caller"
			  "\tdetail=" H64;
	CHECK_INT(st_ledger_entry_parse(red, strlen(red), &p, err, sizeof(err)), 0);
	CHECK(p.type == ST_ENTRY_REDACT && p.of_seq == 0 && p.span_from_ms == 1000 &&
	      p.span_to_ms == 2500 && !strcmp(p.channel, "caller") && p.detail_sha256[0] == 0x01);
	n = st_ledger_entry_format(&p, line, sizeof(line));
	CHECK(n == (int)strlen(red) && !memcmp(line, red, strlen(red)));
	static const char *const badr[] = {
		"1\tredact\t5\t9\tx\tof=0\tspan=2500-1000\tchannel=caller\tdetail=" H64,
		"1\tredact\t5\t9\tx\tof=5\tspan=1-2\tchannel=caller\tdetail=" H64,
		"1\tredact\t5\t9\tx\tof=0\tspan=1-2\tchannel=agent\tdetail=" H64,
		"1\tredact\t5\t9\tx\tof=0\tspan=1-2\tchannel=both\tdetail=-",
		"1\tredact\t5\t9\tx\tof=0\tspan=12\tchannel=both\tdetail=" H64,
		"1\tredact\t5\t9\tx\tof=0\tspan=01-2\tchannel=both\tdetail=" H64,
		"1\tredact\t5\t9\tx\tof=0\tspan=1-2\tchannel=both",
	};
	for (size_t i = 0; i < ES_ARRAY_LEN(badr); i++)
		CHECK_INT(st_ledger_entry_parse(badr[i], strlen(badr[i]), &p, err, sizeof(err)),
			  ES_EPARSE);
	/* transcript leaves (record/tr_ledger.c): one party, three hashes,
	 * the engine, when it was made; their tombstones */
	const char *tr = "1\ttr\t6\t9\tr/1.opus.enc\tchannel=callee\tsealed=" H64 "\tplain=" H64
			 "\trow=" H64 "\tengine=whisper\tmade=1760000000000000";
	CHECK_INT(st_ledger_entry_parse(tr, strlen(tr), &p, err, sizeof(err)), 0);
	CHECK(p.type == ST_ENTRY_TRANSCRIPT && !strcmp(p.channel, "callee") &&
	      !strcmp(p.engine, "whisper") && p.made_us == INT64_C(1760000000000000) &&
	      p.has_cipher && p.has_plain && p.has_meta && p.meta_sha256[0] == 0x01);
	n = st_ledger_entry_format(&p, line, sizeof(line));
	CHECK(n == (int)strlen(tr) && !memcmp(line, tr, strlen(tr)));
	const char *trt = "1\ttrtomb\t7\t9\tr/1.opus.enc\tchannel=caller\treason=replaced";
	CHECK_INT(st_ledger_entry_parse(trt, strlen(trt), &p, err, sizeof(err)), 0);
	CHECK(p.type == ST_ENTRY_TR_TOMB && !strcmp(p.channel, "caller") &&
	      !strcmp(p.reason, "replaced"));
	n = st_ledger_entry_format(&p, line, sizeof(line));
	CHECK(n == (int)strlen(trt) && !memcmp(line, trt, strlen(trt)));
	static const char *const badt[] = {
		"1\ttr\t6\t9\tx\tchannel=both\tsealed=" H64 "\tplain=" H64 "\trow=" H64
		"\tengine=w\tmade=1",
		"1\ttr\t6\t9\tx\tchannel=caller\tsealed=-\tplain=" H64 "\trow=" H64
		"\tengine=w\tmade=1",
		"1\ttr\t6\t9\tx\tchannel=caller\tsealed=" H64 "\tplain=" H64 "\trow=" H64
		"\tengine=W\tmade=1",
		"1\ttr\t6\t9\tx\tchannel=caller\tsealed=" H64 "\tplain=" H64 "\trow=" H64
		"\tengine=w\tmade=01",
		"1\ttr\t6\t9\tx\tchannel=caller\tsealed=" H64 "\tplain=" H64 "\trow=" H64
		"\tengine=w",
		"1\ttrtomb\t7\t9\tx\tchannel=caller",
		"1\ttrtomb\t7\t9\tx\tchannel=both\treason=gone",
		"1\ttrtomb\t7\t9\tx\treason=gone\tchannel=caller",
	};
	for (size_t i = 0; i < ES_ARRAY_LEN(badt); i++)
		CHECK_INT(st_ledger_entry_parse(badt[i], strlen(badt[i]), &p, err, sizeof(err)),
			  ES_EPARSE);
#undef H64

	struct st_head h = {.size = 42, .time_us = 5};
	memset(h.root, 0x5a, sizeof(h.root));
	memset(h.key_id, 0x11, sizeof(h.key_id));
	memset(h.sig, 0xee, sizeof(h.sig));
	n = st_head_format(&h, line, sizeof(line));
	CHECK(n > 0);
	struct st_head g;
	CHECK_INT(st_head_parse(line, (size_t)n, &g, err, sizeof(err)), 0);
	CHECK(memcmp(&g, &h, sizeof(g)) == 0);
	line[3] = 'x';
	CHECK_INT(st_head_parse(line, (size_t)n, &g, err, sizeof(err)), ES_EPARSE);
	CHECK_INT(st_head_parse(line, 10, &g, err, sizeof(err)), ES_EPARSE);
	n = st_head_message(&h, line, sizeof(line));
	CHECK(n > 0 && strncmp(line, "earshot-sth-v1\n42\n5\n5a5a", 24) == 0 && line[n - 1] == '\n');
}

/* 1,000 recordings and 40 tombstones in batches of ~100, a commit each. */
#define NREC 1000
static void fill(struct st_ledger *l)
{
	uint64_t seq;
	for (uint32_t i = 0; i < NREC; i++) {
		char id[32];
		uint8_t m[32], c[32], p[32];
		snprintf(id, sizeof(id), "rec-%04u@example.com", i);
		hash_of(i, 1, m);
		hash_of(i, 2, c);
		hash_of(i, 3, p);
		CHECK_INT(st_ledger_append_recording(l, id, m, i % 10 ? c : NULL, p,
						     INT64_C(1760000000000000) + i, &seq),
			  0);
		if (i % 25 == 24) {
			snprintf(id, sizeof(id), "rec-%04u@example.com", i - 20);
			CHECK_INT(st_ledger_append_tombstone(l, id, i % 50 ? "retention" : "shredded",
							     INT64_C(1760000000000000) + i, &seq),
				  0);
		}
		if (i % 100 == 99)
			CHECK_INT(st_ledger_commit(l), 0);
	}
}

static void test_create_reopen_prove(void)
{
	char dir[300], err[512], path[400];
	snprintf(dir, sizeof(dir), "%s/main", base);
	struct st_ledger *l;
	CHECK_INT(st_ledger_open(&l, dir, ST_LEDGER_CREATE, err, sizeof(err)), 0);
	if (!l)
		return;
	fill(l);
	uint64_t n = st_ledger_size(l);
	CHECK_INT(n, NREC + NREC / 25);
	CHECK_INT(st_ledger_head_count(l), NREC / 100);
	uint8_t root[ST_HASH_LEN], root2[ST_HASH_LEN], pk[32];
	CHECK_INT(st_ledger_root(l, n, root), 0);
	st_ledger_public_key(l, pk);
	CHECK_INT(st_ledger_commit(l), 0); /* nothing new: no new head */
	CHECK_INT(st_ledger_head_count(l), NREC / 100);
	st_ledger_close(l);

	struct stat st;
	mkpath(path, sizeof(path), dir, "ledger.key");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

	CHECK_INT(st_ledger_open(&l, dir, 0, err, sizeof(err)), 0);
	if (!l)
		return;
	CHECK_INT(st_ledger_size(l), n);
	CHECK_INT(st_ledger_root(l, n, root2), 0);
	CHECK(memcmp(root, root2, ST_HASH_LEN) == 0);
	uint64_t problems = 99;
	struct findings f = {0};
	CHECK_INT(st_ledger_verify(l, collect, &f, &problems), 0);
	CHECK_INT(problems, 0);
	if (f.n)
		fprintf(stderr, "%s", f.all);

	/* lookups */
	uint64_t seq;
	bool tomb;
	CHECK_INT(st_ledger_find(l, "rec-0004@example.com", &seq, &tomb), 0);
	CHECK(tomb);
	CHECK_INT(st_ledger_find(l, "rec-0005@example.com", &seq, &tomb), 0);
	CHECK(!tomb && seq == 5);
	CHECK_INT(st_ledger_find(l, "nope", &seq, &tomb), ES_ENOTFOUND);
	struct st_ledger_entry e;
	CHECK_INT(st_ledger_entry(l, 5, &e), 0);
	CHECK_STR(e.id, "rec-0005@example.com");
	CHECK(e.has_cipher && e.cipher_sha256[0] == 5 && e.cipher_sha256[31] == 2);
	CHECK_INT(st_ledger_entry(l, 0, &e), 0);
	CHECK(!e.has_cipher && e.has_meta && e.has_plain);
	CHECK_INT(st_ledger_entry(l, 25, &e), 0);
	CHECK(e.type == ST_ENTRY_TOMBSTONE);
	CHECK_STR(e.reason, "retention");
	CHECK_INT(st_ledger_entry(l, n, &e), ES_ENOTFOUND);
	/* inclusion proofs of every 37th leaf, against the latest and an older head */
	struct st_head latest, old;
	CHECK_INT(st_ledger_head(l, st_ledger_head_count(l) - 1, &latest), 0);
	CHECK_INT(st_ledger_head(l, 3, &old), 0);
	char hline[ST_LEDGER_LINE_MAX + 1], hold[ST_LEDGER_LINE_MAX + 1];
	int hl = st_head_format(&latest, hline, sizeof(hline));
	int ho = st_head_format(&old, hold, sizeof(hold));
	CHECK_INT(st_head_verify(&latest, pk), 0);
	int bad = 0, checked = 0;
	for (uint64_t s = 0; s < n; s += 37) {
		uint8_t path[ST_MERKLE_MAX_PROOF][ST_HASH_LEN];
		size_t plen;
		char line[ST_LEDGER_LINE_MAX + 1];
		size_t len;
		const uint8_t(*cp)[ST_HASH_LEN] = (const uint8_t(*)[ST_HASH_LEN])path;
		if (st_ledger_entry_line(l, s, line, sizeof(line), &len) ||
		    st_ledger_inclusion_proof(l, s, latest.size, path, &plen) ||
		    st_ledger_verify_evidence(line, len, s, cp, plen, hline, (size_t)hl, pk, err,
					      sizeof(err)))
			bad++;
		checked++;
		if (s < old.size) {
			if (st_ledger_inclusion_proof(l, s, old.size, path, &plen) ||
			    st_ledger_verify_evidence(line, len, s, cp, plen, hold, (size_t)ho, pk, err,
						      sizeof(err)))
				bad++;
			/* the old proof against the new head must fail */
			if (st_ledger_verify_evidence(line, len, s, cp, plen, hline, (size_t)hl, pk, err,
						      sizeof(err)) == 0)
				bad++;
			checked++;
		}
		CHECK_INT(st_ledger_inclusion_proof(l, s, latest.size, path, &plen), 0);
		path[0][7] ^= 4;
		if (st_ledger_verify_evidence(line, len, s, cp, plen, hline, (size_t)hl, pk, err,
					      sizeof(err)) == 0)
			bad++;
		line[len - 1] ^= 1; /* a changed entry */
		path[0][7] ^= 4;
		if (st_ledger_verify_evidence(line, len, s, cp, plen, hline, (size_t)hl, pk, err,
					      sizeof(err)) == 0)
			bad++;
	}
	CHECK_INT(bad, 0);
	CHECK(checked > 30);
	/* consistency between the old and the latest head */
	uint8_t proof[ST_MERKLE_MAX_PROOF][ST_HASH_LEN];
	size_t plen;
	CHECK_INT(st_ledger_consistency_proof(l, old.size, latest.size, proof, &plen), 0);
	CHECK_INT(st_merkle_consistency_verify(old.size, latest.size, old.root, latest.root,
					       (const uint8_t(*)[ST_HASH_LEN])proof, plen),
		  0);
	/* a forged head */
	hline[5] = hline[5] == '1' ? '2' : '1';
	CHECK(st_ledger_verify_evidence("x", 1, 0, NULL, 0, hline, (size_t)hl, pk, err, sizeof(err)) != 0);

	/* a second writer is refused */
	struct st_ledger *l2;
	CHECK_INT(st_ledger_open(&l2, dir, 0, err, sizeof(err)), ES_EAGAIN);
	CHECK(strstr(err, "in use") != NULL);
	/* appends are refused read-only */
	CHECK_INT(st_ledger_open(&l2, dir, ST_LEDGER_RDONLY, err, sizeof(err)), 0);
	if (l2) {
		CHECK_INT(st_ledger_append_tombstone(l2, "a", "retention", 1, NULL), ES_EINVAL);
		CHECK_INT(st_ledger_commit(l2), ES_EINVAL);
		st_ledger_close(l2);
	}
	CHECK_INT(st_ledger_append_tombstone(l, "a b", "retention", 1, NULL), ES_EINVAL);
	CHECK_INT(st_ledger_append_tombstone(l, "a", "Bad Reason", 1, NULL), ES_EINVAL);
	CHECK_INT(st_ledger_append_recording(l, "a", NULL, NULL, NULL, -1, NULL), ES_EINVAL);
	CHECK_INT(st_ledger_size(l), n);
	st_ledger_close(l);
}

/* A fresh copy of the main ledger to damage. */
static void copy_of(const char *name, char *dir, size_t cap)
{
	char src[300];
	snprintf(src, sizeof(src), "%s/main", base);
	snprintf(dir, cap, "%s/%s", base, name);
	CHECK_INT(sh("rm -rf '%2$s' && cp -a '%1$s' '%2$s'", src, dir), 0);
}

static void test_tamper_entries(void)
{
	char dir[300], path[400], err[512];
	size_t len;
	char *p;
	struct st_ledger *l;
	struct findings f;

	/* a byte that breaks the syntax: the open names the line */
	copy_of("flip1", dir, sizeof(dir));
	mkpath(path, sizeof(path), dir, "entries.log");
	p = slurp_file(path, &len);
	CHECK(p != NULL);
	if (!p)
		return;
	p[line_off(p, len, 10) + 3] = 'R'; /* "1\trec" -> "1\tRec" */
	write_file(path, p, len);
	CHECK_INT(st_ledger_open(&l, dir, ST_LEDGER_RDONLY, err, sizeof(err)), ES_EPARSE);
	CHECK(strstr(err, "entries.log:10: unknown entry type") != NULL);
	fprintf(stderr, "  flipped type byte: %s\n", err);
	free(p);

	/* a byte that keeps the syntax (a hash digit): heads no longer match */
	copy_of("flip2", dir, sizeof(dir));
	mkpath(path, sizeof(path), dir, "entries.log");
	p = slurp_file(path, &len);
	size_t o = line_off(p, len, 250);
	char *h = strstr(p + o, "plain=") + 6;
	*h = *h == '0' ? '1' : '0';
	write_file(path, p, len);
	free(p);
	CHECK_INT(verify_dir(dir, &f), ES_EFORMAT);
	CHECK(strstr(f.all, "entries.log lines 209..") != NULL); /* the range after a good head */
	fprintf(stderr, "  flipped hash digit:\n%s", f.all);

	/* a deleted line */
	copy_of("del", dir, sizeof(dir));
	mkpath(path, sizeof(path), dir, "entries.log");
	p = slurp_file(path, &len);
	o = line_off(p, len, 5);
	size_t o2 = line_off(p, len, 6);
	memmove(p + o, p + o2, len - o2);
	write_file(path, p, len - (o2 - o));
	free(p);
	CHECK_INT(st_ledger_open(&l, dir, ST_LEDGER_RDONLY, err, sizeof(err)), ES_EPARSE);
	CHECK(strstr(err, "entries.log:5: sequence 5, expected 4") != NULL);

	/* lines removed from the end: every head after is reported */
	copy_of("cut", dir, sizeof(dir));
	mkpath(path, sizeof(path), dir, "entries.log");
	p = slurp_file(path, &len);
	write_file(path, p, line_off(p, len, 1001));
	free(p);
	CHECK_INT(verify_dir(dir, &f), ES_EFORMAT);
	CHECK(strstr(f.all, "but entries.log has 1000 (lines were removed)") != NULL);
}

static void test_torn(void)
{
	char dir[300], path[400], err[512];
	struct st_ledger *l;
	struct findings f;
	copy_of("torn", dir, sizeof(dir));
	CHECK_INT(st_ledger_open(&l, dir, 0, err, sizeof(err)), 0);
	if (!l)
		return;
	uint64_t n = st_ledger_size(l);
	for (int i = 0; i < 3; i++)
		CHECK_INT(st_ledger_append_tombstone(l, "rec-0999@example.com", "shredded", 1, NULL), 0);
	st_ledger_close(l); /* a crash before the commit... */
	mkpath(path, sizeof(path), dir, "entries.log");
	struct stat st;
	CHECK(stat(path, &st) == 0);
	CHECK(truncate(path, st.st_size - 7) == 0); /* ...in the middle of the last write */

	/* read-only: reported and ignored */
	CHECK_INT(st_ledger_open(&l, dir, ST_LEDGER_RDONLY, err, sizeof(err)), 0);
	if (!l)
		return;
	CHECK(st_ledger_torn_entries(l) > 0);
	CHECK_INT(st_ledger_size(l), n + 2);
	st_ledger_close(l);
	CHECK_INT(verify_dir(dir, &f), ES_EFORMAT);
	CHECK(strstr(f.all, "torn last line") != NULL);
	/* for writing: truncated; the uncommitted leaves are reported until a commit */
	CHECK_INT(st_ledger_open(&l, dir, 0, err, sizeof(err)), 0);
	if (!l)
		return;
	CHECK(st_ledger_torn_entries(l) > 0);
	CHECK_INT(st_ledger_size(l), n + 2);
	st_ledger_close(l);
	CHECK_INT(verify_dir(dir, &f), ES_EFORMAT);
	CHECK(strstr(f.all, "not covered by a signed head") != NULL);
	CHECK(strstr(f.all, "torn") == NULL);
	CHECK_INT(st_ledger_open(&l, dir, 0, err, sizeof(err)), 0);
	if (!l)
		return;
	CHECK_INT(st_ledger_torn_entries(l), 0);
	CHECK_INT(st_ledger_append_tombstone(l, "rec-0998@example.com", "retention", 2, NULL), 0);
	CHECK_INT(st_ledger_commit(l), 0);
	st_ledger_close(l);
	CHECK_INT(verify_dir(dir, &f), 0);
	if (f.n)
		fprintf(stderr, "%s", f.all);
}

static void edit_head(const char *name, int line, const char *field_prefix, int skip_tabs,
		      struct findings *f)
{
	char dir[300], path[400];
	size_t len;
	(void)field_prefix;
	copy_of(name, dir, sizeof(dir));
	mkpath(path, sizeof(path), dir, "heads.log");
	char *p = slurp_file(path, &len);
	if (!p)
		return;
	char *q = p + line_off(p, len, line);
	for (int i = 0; i < skip_tabs; i++)
		q = strchr(q, '\t') + 1;
	q[10] = q[10] == 'a' ? 'b' : 'a';
	write_file(path, p, len);
	free(p);
	CHECK_INT(verify_dir(dir, f), ES_EFORMAT);
}

/* A transcript's leaves are found by (id, party), survive a reopen and
 * leave the recording's own lookup alone. */
static void test_transcript_leaves(void)
{
	char dir[300], err[512];
	struct st_ledger *l;
	uint64_t seq;
	bool tomb;
	snprintf(dir, sizeof(dir), "%s/trleaves", base);
	CHECK_INT(st_ledger_open(&l, dir, ST_LEDGER_CREATE, err, sizeof(err)), 0);
	if (!l)
		return;
	uint8_t h[32] = {1};
	CHECK_INT(st_ledger_append_recording(l, "r/1.opus.enc", h, h, h, 5, &seq), 0);
	struct st_ledger_entry t = {.type = ST_ENTRY_TRANSCRIPT, .made_us = 7, .has_meta = true,
				    .has_cipher = true, .has_plain = true};
	snprintf(t.id, sizeof(t.id), "r/1.opus.enc");
	snprintf(t.channel, sizeof(t.channel), "callee");
	snprintf(t.engine, sizeof(t.engine), "vosk");
	CHECK_INT(st_ledger_find_transcript(l, t.id, "callee", &seq, &tomb), ES_ENOTFOUND);
	CHECK_INT(st_ledger_append_transcript(l, &t, 9, &seq), 0);
	CHECK_INT(seq, 1);
	CHECK_INT(st_ledger_find_transcript(l, t.id, "callee", &seq, &tomb), 0);
	CHECK(!tomb && seq == 1);
	CHECK_INT(st_ledger_find_transcript(l, t.id, "caller", &seq, &tomb), ES_ENOTFOUND);
	struct st_ledger_entry tt = {.type = ST_ENTRY_TR_TOMB};
	memcpy(tt.id, t.id, sizeof(tt.id));
	snprintf(tt.channel, sizeof(tt.channel), "callee");
	snprintf(tt.reason, sizeof(tt.reason), "retention");
	CHECK_INT(st_ledger_append_transcript(l, &tt, 10, &seq), 0);
	t.type = ST_ENTRY_HOLD;
	CHECK_INT(st_ledger_append_transcript(l, &t, 10, &seq), ES_EINVAL);
	CHECK_INT(st_ledger_commit(l), 0);
	st_ledger_close(l);
	CHECK_INT(st_ledger_open(&l, dir, ST_LEDGER_RDONLY, err, sizeof(err)), 0);
	if (!l)
		return;
	CHECK_INT(st_ledger_find_transcript(l, "r/1.opus.enc", "callee", &seq, &tomb), 0);
	CHECK(tomb && seq == 2);
	CHECK_INT(st_ledger_find(l, "r/1.opus.enc", &seq, &tomb), 0);
	CHECK(!tomb && seq == 0);
	struct st_ledger_entry e;
	CHECK_INT(st_ledger_entry(l, 1, &e), 0);
	CHECK(e.type == ST_ENTRY_TRANSCRIPT && e.made_us == 7 && !strcmp(e.engine, "vosk"));
	uint64_t problems = 9;
	CHECK_INT(st_ledger_verify(l, NULL, NULL, &problems), 0);
	CHECK_INT(problems, 0);
	st_ledger_close(l);
}

static void test_tamper_heads_and_keys(void)
{
	struct findings f;
	char dir[300], other[300], path[400], path2[400], err[512];
	struct st_ledger *l;

	edit_head("root", 3, "root", 3, &f);
	CHECK(strstr(f.all, "heads.log:3: the signature does not verify") != NULL);
	CHECK(strstr(f.all, "heads.log:3: the root does not match") != NULL);
	CHECK(strstr(f.all, "heads.log:4: not consistent with the head of line 3") != NULL);
	fprintf(stderr, "  edited root:\n%s", f.all);

	edit_head("sig", 5, "sig", 5, &f);
	CHECK_INT(f.n, 1);
	CHECK(strstr(f.all, "heads.log:5: the signature does not verify") != NULL);

	/* another ledger's key pair: the pair matches, the heads do not */
	snprintf(other, sizeof(other), "%s/other", base);
	CHECK_INT(st_ledger_open(&l, other, ST_LEDGER_CREATE, err, sizeof(err)), 0);
	st_ledger_close(l);
	copy_of("swap", dir, sizeof(dir));
	CHECK_INT(sh("cp -p '%1$s/ledger.key' '%1$s/ledger.pub' '%2$s/'", other, dir), 0);
	CHECK_INT(verify_dir(dir, &f), ES_EFORMAT);
	CHECK_INT(f.n, NREC / 100);
	CHECK(strstr(f.all, "heads.log:1: signed by key id") != NULL);
	/* only the secret key swapped: refused at open */
	copy_of("swap2", dir, sizeof(dir));
	CHECK_INT(sh("cp -p '%1$s/ledger.key' '%2$s/'", other, dir), 0);
	CHECK_INT(st_ledger_open(&l, dir, 0, err, sizeof(err)), ES_EFORMAT);
	CHECK(strstr(err, "does not match") != NULL);
	/* a missing key with signed heads is not silently replaced */
	copy_of("nokey", dir, sizeof(dir));
	mkpath(path, sizeof(path), dir, "ledger.key");
	unlink(path);
	CHECK_INT(st_ledger_open(&l, dir, ST_LEDGER_CREATE, err, sizeof(err)), ES_ENOTFOUND);
	CHECK_INT(verify_dir(dir, &f), 0); /* the public key still verifies */

	/* a key readable by others is refused, and the secret never shows */
	copy_of("mode", dir, sizeof(dir));
	mkpath(path, sizeof(path), dir, "ledger.key");
	CHECK(chmod(path, 0644) == 0);
	CHECK_INT(st_ledger_open(&l, dir, 0, err, sizeof(err)), ES_EINVAL);
	CHECK(strstr(err, "refusing a signing key with mode 0644") != NULL);
	size_t klen;
	char *key = slurp_file(path, &klen);
	CHECK(key && klen > 30 && strstr(err, key + 22) == NULL);
	free(key);
	fprintf(stderr, "  %s\n", err);
	mkpath(path2, sizeof(path2), dir, "heads.log");
	(void)path2;
}

/* Append raw bytes to a file (another process's write, possibly torn). */
static void append_raw(const char *path, const char *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_APPEND);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(write(fd, p, n) == (ssize_t)n);
		close(fd);
	}
}

static void append_recs(const char *dir, uint32_t from, uint32_t n, bool commit)
{
	struct st_ledger *w;
	char err[512], id[64];
	uint8_t h[32];
	CHECK_INT(st_ledger_open(&w, dir, 0, err, sizeof(err)), 0);
	if (!w)
		return;
	for (uint32_t i = from; i < from + n; i++) {
		snprintf(id, sizeof(id), "new-%04u@example.com", i);
		hash_of(i, 7, h);
		CHECK_INT(st_ledger_append_recording(w, id, h, h, h, 5, NULL), 0);
	}
	if (commit)
		CHECK_INT(st_ledger_commit(w), 0);
	st_ledger_close(w);
}

/* st_ledger_refresh: a reader sees what a writer appends, reads a torn
 * line once it is whole, and asks for a reopen when the file was replaced
 * or its last line rewritten. */
static void test_refresh(void)
{
	char dir[300], path[400], err[512], line[ST_LEDGER_LINE_MAX + 1];
	struct st_ledger *l;
	bool reopen;
	uint64_t added, seq;
	copy_of("refresh", dir, sizeof(dir));
	mkpath(path, sizeof(path), dir, "entries.log");
	CHECK_INT(st_ledger_open(&l, dir, ST_LEDGER_RDONLY, err, sizeof(err)), 0);
	if (!l)
		return;
	uint64_t n = st_ledger_size(l);
	size_t nh = st_ledger_head_count(l);
	CHECK_INT(st_ledger_refresh(l, &reopen, &added, err, sizeof(err)), 0);
	CHECK(!reopen);
	CHECK_INT(added, 0);

	append_recs(dir, 0, 5, true);
	CHECK_INT(st_ledger_refresh(l, &reopen, &added, err, sizeof(err)), 0);
	CHECK(!reopen);
	CHECK_INT(added, 5);
	CHECK_INT(st_ledger_size(l), n + 5);
	CHECK_INT(st_ledger_head_count(l), nh + 1);
	CHECK_INT(st_ledger_find(l, "new-0004@example.com", &seq, NULL), 0);
	CHECK_INT(seq, n + 4);
	struct st_ledger_entry e;
	CHECK_INT(st_ledger_entry(l, seq, &e), 0);
	uint8_t root[ST_HASH_LEN];
	struct st_head hd;
	CHECK_INT(st_ledger_head(l, nh, &hd), 0);
	CHECK_INT(hd.size, n + 5);
	CHECK_INT(st_ledger_root(l, n + 5, root), 0);
	CHECK(memcmp(root, hd.root, ST_HASH_LEN) == 0);
	uint8_t pk[32];
	st_ledger_public_key(l, pk);
	CHECK_INT(st_head_verify(&hd, pk), 0);

	/* a torn append: half a line now, the rest later */
	struct st_ledger_entry t = {.type = ST_ENTRY_TOMBSTONE, .seq = n + 5, .time_us = 9};
	snprintf(t.id, sizeof(t.id), "new-0000@example.com");
	snprintf(t.reason, sizeof(t.reason), "retention");
	int len = st_ledger_entry_format(&t, line, sizeof(line) - 1);
	CHECK(len > 20);
	line[len] = '\n';
	append_raw(path, line, 20);
	CHECK_INT(st_ledger_refresh(l, &reopen, &added, err, sizeof(err)), 0);
	CHECK(!reopen);
	CHECK_INT(added, 0);
	CHECK_INT(st_ledger_torn_entries(l), 20);
	CHECK_INT(st_ledger_size(l), n + 5);
	append_raw(path, line + 20, (size_t)len + 1 - 20);
	CHECK_INT(st_ledger_refresh(l, &reopen, &added, err, sizeof(err)), 0);
	CHECK(!reopen);
	CHECK_INT(added, 1);
	CHECK_INT(st_ledger_torn_entries(l), 0);
	bool tomb = false;
	CHECK_INT(st_ledger_find(l, "new-0000@example.com", &seq, &tomb), 0);
	CHECK(tomb && seq == n + 5);

	/* the last line read rewritten in place (same length): reopen */
	size_t flen;
	char *p = slurp_file(path, &flen);
	CHECK(p != NULL);
	if (p) {
		char *last = p + flen - 3; /* inside "retention" */
		*last = *last == 'o' ? 'x' : 'o';
		write_file(path, p, flen);
		free(p);
	}
	CHECK_INT(st_ledger_refresh(l, &reopen, &added, err, sizeof(err)), 0);
	CHECK(reopen);
	st_ledger_close(l);

	/* a malformed appended line fails the refresh with the open's message */
	copy_of("refresh2", dir, sizeof(dir));
	mkpath(path, sizeof(path), dir, "entries.log");
	CHECK_INT(st_ledger_open(&l, dir, ST_LEDGER_RDONLY, err, sizeof(err)), 0);
	if (!l)
		return;
	append_raw(path, "1\trec\tgarbage\n", 14);
	CHECK(st_ledger_refresh(l, &reopen, &added, err, sizeof(err)) != 0);
	CHECK(strstr(err, "entries.log:") != NULL);
	st_ledger_close(l);

	/* entries.log replaced by another file: reopen */
	copy_of("refresh3", dir, sizeof(dir));
	mkpath(path, sizeof(path), dir, "entries.log");
	CHECK_INT(st_ledger_open(&l, dir, ST_LEDGER_RDONLY, err, sizeof(err)), 0);
	if (!l)
		return;
	CHECK_INT(sh("cp '%s' '%s.new'", path, path), 0);
	CHECK_INT(sh("mv '%s.new' '%s'", path, path), 0);
	CHECK_INT(st_ledger_refresh(l, &reopen, &added, err, sizeof(err)), 0);
	CHECK(reopen);
	/* a writable ledger cannot be refreshed */
	struct st_ledger *w;
	CHECK_INT(st_ledger_open(&w, dir, 0, err, sizeof(err)), 0);
	if (w)
		CHECK_INT(st_ledger_refresh(w, &reopen, &added, err, sizeof(err)), ES_EINVAL);
	st_ledger_close(w);
	st_ledger_close(l);
}

/* The cached view: hits while nothing changes, reads only the tail after
 * appends, reopens after a rewrite, and never answers from a stale view
 * after tampering. */
static void test_cache(void)
{
	char dir[300], path[400], err[512];
	struct st_ledger_cache *c;
	struct st_ledger_cache_stats s;
	const struct st_ledger *l;
	uint64_t seq;
	copy_of("cache", dir, sizeof(dir));
	mkpath(path, sizeof(path), dir, "entries.log");
	CHECK_INT(st_ledger_cache_new(&c, dir), 0);
	if (!c)
		return;
	CHECK_INT(st_ledger_cache_get(c, &l, err, sizeof(err)), 0);
	uint64_t n = l ? st_ledger_size(l) : 0;
	if (l)
		st_ledger_cache_put(c);
	for (int i = 0; i < 3; i++) {
		CHECK_INT(st_ledger_cache_get(c, &l, err, sizeof(err)), 0);
		if (l)
			st_ledger_cache_put(c);
	}
	st_ledger_cache_stats(c, &s);
	CHECK_INT(s.opens, 1);
	CHECK_INT(s.hits, 3);
	CHECK_INT(s.tails, 0);

	append_recs(dir, 100, 3, true);
	CHECK_INT(st_ledger_cache_get(c, &l, err, sizeof(err)), 0);
	if (l) {
		CHECK_INT(st_ledger_size(l), n + 3);
		CHECK_INT(st_ledger_find(l, "new-0102@example.com", &seq, NULL), 0);
		st_ledger_cache_put(c);
	}
	st_ledger_cache_stats(c, &s);
	CHECK_INT(s.opens, 1);
	CHECK_INT(s.tails, 1);

	/* a line in the middle rewritten in place, same length, valid: the view
	 * reads it back and sees that it is not the leaf read before (before
	 * any reload), then the reload takes the file as it now is */
	size_t flen;
	char *p = slurp_file(path, &flen);
	CHECK(p != NULL);
	if (!p)
		return;
	size_t off = line_off(p, flen, 3);
	char *q = strstr(p + off, "meta=") + 5;
	*q = *q == 'a' ? 'b' : 'a';
	int fd = open(path, O_WRONLY);
	CHECK(fd >= 0 && pwrite(fd, q, 1, (off_t)(q - p)) == 1);
	if (fd >= 0)
		close(fd);
	free(p);
	struct st_ledger_entry e;
	CHECK_INT(st_ledger_cache_get(c, &l, err, sizeof(err)), 0);
	st_ledger_cache_stats(c, &s);
	CHECK_INT(s.opens, 2); /* same size, new mtime: read again */
	if (l) {
		CHECK_INT(st_ledger_entry(l, 2, &e), 0);
		st_ledger_cache_put(c);
	}
	/* made malformed: the get fails with the open's reason, and keeps
	 * failing (without reading again) until the file changes */
	p = slurp_file(path, &flen);
	if (!p)
		return;
	off = line_off(p, flen, 2);
	p[off] = 'X';
	write_file(path, p, flen);
	CHECK(st_ledger_cache_get(c, &l, err, sizeof(err)) != 0);
	CHECK(l == NULL);
	CHECK(strstr(err, "entries.log:2:") != NULL);
	CHECK(st_ledger_cache_get(c, &l, err, sizeof(err)) != 0);
	st_ledger_cache_stats(c, &s);
	CHECK_INT(s.opens, 3);
	p[off] = '1';
	write_file(path, p, flen);
	free(p);
	CHECK_INT(st_ledger_cache_get(c, &l, err, sizeof(err)), 0);
	if (l)
		st_ledger_cache_put(c);
	st_ledger_cache_free(c);

	/* a view held while the line is tampered (no reload in between):
	 * reading the leaf back fails instead of answering the old line */
	CHECK_INT(st_ledger_cache_new(&c, dir), 0);
	CHECK_INT(st_ledger_cache_get(c, &l, err, sizeof(err)), 0);
	if (l) {
		p = slurp_file(path, &flen);
		if (p) {
			off = line_off(p, flen, 4);
			q = strstr(p + off, "cipher=") + 7;
			*q = *q == 'a' ? 'b' : 'a';
			fd = open(path, O_WRONLY);
			CHECK(fd >= 0 && pwrite(fd, q, 1, (off_t)(q - p)) == 1);
			if (fd >= 0)
				close(fd);
			free(p);
		}
		CHECK_INT(st_ledger_entry(l, 3, &e), ES_EFORMAT);
		st_ledger_cache_put(c);
	}
	st_ledger_cache_free(c);
}

/* Several threads getting the view while a writer appends. */
struct cache_thr {
	struct st_ledger_cache *c;
	int fails;
	uint64_t max_size;
};

static void *cache_reader(void *ud)
{
	struct cache_thr *t = ud;
	char err[512];
	for (int i = 0; i < 2000; i++) {
		const struct st_ledger *l;
		if (st_ledger_cache_get(t->c, &l, err, sizeof(err))) {
			t->fails++;
			continue;
		}
		uint64_t n = st_ledger_size(l);
		struct st_ledger_entry e;
		if (n > t->max_size)
			t->max_size = n;
		if (st_ledger_entry(l, n - 1, &e))
			t->fails++;
		st_ledger_cache_put(t->c);
	}
	return NULL;
}

static void test_cache_threads(void)
{
	char dir[300];
	struct st_ledger_cache *c;
	copy_of("cache-thr", dir, sizeof(dir));
	CHECK_INT(st_ledger_cache_new(&c, dir), 0);
	if (!c)
		return;
	struct cache_thr t[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		t[i] = (struct cache_thr){.c = c};
		CHECK_INT(pthread_create(&th[i], NULL, cache_reader, &t[i]), 0);
	}
	for (uint32_t k = 0; k < 20; k++)
		append_recs(dir, 200 + 5 * k, 5, k % 2);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT(t[i].fails, 0);
	}
	const struct st_ledger *l;
	char err[512];
	CHECK_INT(st_ledger_cache_get(c, &l, err, sizeof(err)), 0);
	if (l) {
		uint64_t seq;
		CHECK_INT(st_ledger_find(l, "new-0299@example.com", &seq, NULL), 0);
		st_ledger_cache_put(c);
	}
	st_ledger_cache_free(c);
}

static void test_perf(void)
{
	enum { N = 100000 };
	char dir[300], err[512];
	snprintf(dir, sizeof(dir), "%s/perf", base);
	struct st_ledger *l;
	CHECK_INT(st_ledger_open(&l, dir, ST_LEDGER_CREATE, err, sizeof(err)), 0);
	if (!l)
		return;
	uint8_t m[32], c[32], p[32];
	int64_t t0 = es_mono_us();
	int fails = 0;
	for (uint32_t i = 0; i < N; i++) {
		char id[48];
		snprintf(id, sizeof(id), "%08x-4f1c-4b7e-9a3d-%012u", i, i);
		hash_of(i, 1, m);
		hash_of(i, 2, c);
		hash_of(i, 3, p);
		fails += st_ledger_append_recording(l, id, m, c, p, INT64_C(1760000000000000) + i, NULL) != 0;
		if (i % 1000 == 999)
			fails += st_ledger_commit(l) != 0;
	}
	int64_t t1 = es_mono_us();
	CHECK_INT(fails, 0);
	st_ledger_close(l);
	int64_t t2 = es_mono_us();
	CHECK_INT(st_ledger_open(&l, dir, ST_LEDGER_RDONLY, err, sizeof(err)), 0);
	if (!l)
		return;
	int64_t t3 = es_mono_us();
	uint64_t problems;
	CHECK_INT(st_ledger_verify(l, NULL, NULL, &problems), 0);
	int64_t t4 = es_mono_us();
	uint8_t path[ST_MERKLE_MAX_PROOF][ST_HASH_LEN];
	size_t plen;
	for (uint64_t s = 0; s < N; s += 100)
		fails += st_ledger_inclusion_proof(l, s, N, path, &plen) != 0;
	int64_t t5 = es_mono_us();
	CHECK_INT(fails, 0);
	st_ledger_close(l);
	fprintf(stderr,
		"ledger: %d appends with a commit (fsync + signed head) every 1000: %.0f appends/s "
		"(%.2f s); open %.0f ms; verify %.0f ms (100 heads); 1000 inclusion proofs %.1f ms\n",
		N, N / ((double)(t1 - t0) / 1e6), (double)(t1 - t0) / 1e6, (double)(t3 - t2) / 1e3,
		(double)(t4 - t3) / 1e3, (double)(t5 - t4) / 1e3);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(base, sizeof(base), "%s/es-ledger-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_parsers);
	RUN(test_create_reopen_prove);
	RUN(test_tamper_entries);
	RUN(test_torn);
	RUN(test_tamper_heads_and_keys);
	RUN(test_transcript_leaves);
	RUN(test_refresh);
	RUN(test_cache);
	RUN(test_cache_threads);
	RUN(test_perf);
	if (!getenv("ES_KEEP_TMP"))
		sh("rm -rf '%s'%s", base, "");
	return CHECK_DONE();
}
