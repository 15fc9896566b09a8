/*
 * test_mlog.c - the media log: write, read back exactly, torn tails,
 * corrupt records, existing files, garbage; the same for the encrypted
 * format (version 2), with no plaintext in the file.
 */
#include "check.h"
#include "media/media.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

/* Test keys: "t:<key id>:<hex key>", so a header moved to another log
 * (another key id) does not unwrap.  The record layer wraps with the
 * keyring (record/spool.c); this is only the media layer's contract. */
static int t_new_key(void *ud, const char *key_id, uint8_t key[MLOG_KEY_BYTES], char *wrapped,
		     size_t cap)
{
	(void)ud;
	randombytes_buf(key, MLOG_KEY_BYTES);
	char hex[2 * MLOG_KEY_BYTES + 1];
	sodium_bin2hex(hex, sizeof(hex), key, MLOG_KEY_BYTES);
	snprintf(wrapped, cap, "t:%s:%s", key_id, hex);
	return 0;
}

static int t_unwrap(void *ud, const char *key_id, const char *wrapped,
		    uint8_t key[MLOG_KEY_BYTES], char *err, size_t errlen)
{
	(void)ud;
	size_t n = strlen(key_id);
	if (strncmp(wrapped, "t:", 2) || strncmp(wrapped + 2, key_id, n) || wrapped[2 + n] != ':' ||
	    sodium_hex2bin(key, MLOG_KEY_BYTES, wrapped + 3 + n, strlen(wrapped + 3 + n), NULL,
			   NULL, NULL))
		return es_errf(err, errlen, ES_ECRYPTO, "test key does not unwrap%s", "");
	return 0;
}

static const struct mlog_keys t_keys = {.new_key = t_new_key, .unwrap = t_unwrap};

/* fuzz/fuzz_mlog.c's fixed key: wrapped text "fuzz", key bytes 0x42. */
static int fz_new_key(void *ud, const char *key_id, uint8_t key[MLOG_KEY_BYTES], char *wrapped,
		      size_t cap)
{
	(void)ud;
	(void)key_id;
	memset(key, 0x42, MLOG_KEY_BYTES);
	snprintf(wrapped, cap, "fuzz");
	return 0;
}

static const struct mlog_keys fz_keys = {.new_key = fz_new_key};
static const struct mlog_keys *keys; /* NULL: the plain format */

static void tmp_path(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", tmpdir, name);
}

static size_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (size_t)st.st_size : 0;
}

static size_t payload_len_of(unsigned i)
{
	static const size_t sizes[] = {160, 0, 1, 1400, 33, 320, 2};
	return sizes[i % ES_ARRAY_LEN(sizes)];
}

static void fill_payload(uint8_t *p, size_t len, unsigned i)
{
	for (size_t k = 0; k < len; k++)
		p[k] = (uint8_t)(i * 31 + k * 7);
}

#define NPKT 200

/* Writes a log with 2 streams, maps and NPKT RTP records; returns the
 * byte offset where the last record starts. */
static size_t write_log(const char *path, size_t buf_bytes)
{
	struct mlog_writer *w;
	uint8_t pl[1400];
	unlink(path);
	CHECK_INT(mlog_create_keyed(&w, path, "call-1@example.org", 1700000000000000LL, buf_bytes,
				    keys),
		  0);
	CHECK_INT(mlog_stream(w, 0, MLOG_CALLER, 0x11223344), 0);
	CHECK_INT(mlog_stream(w, 2, MLOG_CALLEE, 1), ES_EINVAL); /* out of order */
	CHECK_INT(mlog_ptmap(w, MLOG_CALLER, 96, "opus", 48000, 2), 0);
	CHECK_INT(mlog_stream(w, 1, MLOG_CALLEE, 0xdeadbeef), 0);
	CHECK_INT(mlog_ptmap(w, MLOG_CALLEE, 101, "telephone-event", 8000, 1), 0);
	CHECK_INT(mlog_rtp(w, 5, 0, 0, 0, 0, false, NULL, 0), ES_EINVAL); /* undeclared */
	for (unsigned i = 0; i < NPKT; i++) {
		size_t len = payload_len_of(i);
		fill_payload(pl, len, i);
		/* capture times go back now and then (two capture threads). */
		int64_t ts = 1700000000000000LL + (int64_t)i * 10000 - (i % 5 == 0 ? 15000 : 0);
		CHECK_INT(mlog_rtp(w, i & 1, ts, (uint16_t)(65500 + i), 0xfffff000u + i * 160,
				   (uint8_t)(i % 3 ? 0 : 96), i % 7 == 0, pl, len),
			  0);
		CHECK(mlog_mem_bytes(w) < 64 * 1024 + 4096);
	}
	size_t before_last = 0;
	CHECK_INT(mlog_flush(w, false), 0);
	before_last = file_size(path);
	fill_payload(pl, 300, 999);
	CHECK_INT(mlog_rtp(w, 1, 1700000009000000LL, 7, 1234, 8, true, pl, 300), 0);
	CHECK_INT(mlog_close(w), 0);
	return before_last;
}

/* Reads the log and checks every record; returns the RTP records read. */
static unsigned read_check(const char *path, int *end_rc, bool *torn)
{
	struct mlog_reader *r;
	struct mlog_rec rec;
	char err[256] = "";
	unsigned nrtp = 0, nother = 0;
	uint8_t pl[1400];
	int rc = mlog_open_keyed(&r, path, keys, err, sizeof(err));
	CHECK_INT(rc, 0);
	if (rc)
		return 0;
	CHECK_STR(mlog_call_id(r), "call-1@example.org");
	CHECK(mlog_start_us(r) == 1700000000000000LL);
	while ((rc = mlog_next(r, &rec, err, sizeof(err))) == 1) {
		if (rec.type != MLOG_REC_RTP) {
			if (nother == 0) {
				CHECK_INT(rec.type, MLOG_REC_STREAM);
				CHECK_INT(rec.stream, 0);
				CHECK_INT(rec.party, MLOG_CALLER);
				CHECK_INT(rec.ssrc, 0x11223344);
			} else if (nother == 1) {
				CHECK_INT(rec.type, MLOG_REC_PTMAP);
				CHECK_INT(rec.party, MLOG_CALLER);
				CHECK_INT(rec.pt, 96);
				CHECK_STR(rec.name, "opus");
				CHECK_INT(rec.clock, 48000);
				CHECK_INT(rec.channels, 2);
			} else if (nother == 2) {
				CHECK_INT(rec.type, MLOG_REC_STREAM);
				CHECK_INT(rec.stream, 1);
				CHECK_INT(rec.party, MLOG_CALLEE);
				CHECK_INT(rec.ssrc, 0xdeadbeef);
			} else if (nother == 3) {
				CHECK_INT(rec.type, MLOG_REC_PTMAP);
				CHECK_STR(rec.name, "telephone-event");
				CHECK_INT(rec.pt, 101);
			}
			nother++;
			continue;
		}
		unsigned i = nrtp++;
		if (i < NPKT) {
			size_t len = payload_len_of(i);
			fill_payload(pl, len, i);
			int64_t ts = 1700000000000000LL + (int64_t)i * 10000 - (i % 5 == 0 ? 15000 : 0);
			CHECK_INT(rec.stream, i & 1);
			CHECK(rec.ts_us == ts);
			CHECK_INT(rec.seq, (uint16_t)(65500 + i));
			CHECK(rec.rtp_ts == 0xfffff000u + i * 160);
			CHECK_INT(rec.pt, i % 3 ? 0 : 96);
			CHECK_INT(rec.marker, i % 7 == 0);
			CHECK_INT(rec.len, len);
			CHECK(len == 0 || memcmp(rec.payload, pl, len) == 0);
		} else {
			fill_payload(pl, 300, 999);
			CHECK_INT(rec.stream, 1);
			CHECK(rec.ts_us == 1700000009000000LL);
			CHECK_INT(rec.pt, 8);
			CHECK_INT(rec.len, 300);
			CHECK(memcmp(rec.payload, pl, 300) == 0);
		}
	}
	CHECK_INT(nother, 4);
	*end_rc = rc;
	*torn = mlog_torn(r);
	/* rewind reads the same again */
	CHECK_INT(mlog_rewind(r), 0);
	unsigned again = 0;
	while (mlog_next(r, &rec, err, sizeof(err)) == 1)
		again += rec.type == MLOG_REC_RTP;
	CHECK_INT(again, nrtp);
	mlog_reader_close(r);
	return nrtp;
}

static void test_roundtrip(void)
{
	char path[512];
	int rc;
	bool torn;
	size_t sizes[] = {0, 100, 2000, 1 << 20};
	for (size_t k = 0; k < ES_ARRAY_LEN(sizes); k++) {
		tmp_path(path, sizeof(path), "rt.mlog");
		write_log(path, sizes[k]);
		CHECK_INT(read_check(path, &rc, &torn), NPKT + 1);
		CHECK_INT(rc, 0);
		CHECK(!torn);
	}
	/* compactness: the payload plus <= 18 bytes a record (10 ms deltas) */
	size_t payload = 300;
	for (unsigned i = 0; i < NPKT; i++)
		payload += payload_len_of(i);
	CHECK(file_size(path) <= payload + 18 * (NPKT + 1) + 200 + (keys ? 40 * 20 : 0));
}

/* The raw data's records (issue #18): a stream's addresses and a SIP
 * message come back as written, in order with the RTP, and a SIP message
 * over MLOG_SIP_MAX_TEXT is refused, not cut silently. */
static void test_raw_records(void)
{
	char path[512];
	tmp_path(path, sizeof(path), "raw.mlog");
	struct mlog_writer *w;
	CHECK_INT(mlog_create(&w, path, "raw@test", 1700000000000000LL, 0), 0);
	struct es_addr a = {.family = ES_AF_INET, .ip = {192, 0, 2, 1}, .port = 5060};
	struct es_addr b = {.family = ES_AF_INET6, .ip = {0x20, 0x01, 0x0d, 0xb8, [15] = 2},
			    .port = 40000};
	static const char msg[] = "INVITE sip:bob@example.com SIP/2.0\r\nCall-ID: raw@test\r\n\r\n";
	CHECK_INT(mlog_sip(w, 1700000000000123LL, &a, &b, 17, (const uint8_t *)msg, strlen(msg)), 0);
	CHECK_INT(mlog_stream(w, 0, MLOG_CALLER, 0x1234), 0);
	CHECK_INT(mlog_addr(w, 0, &b, &a), 0);
	CHECK_INT(mlog_addr(w, 1, &b, &a), ES_EINVAL); /* undeclared stream */
	uint8_t pl[160] = {0};
	CHECK_INT(mlog_rtp(w, 0, 1700000000000200LL, 7, 160, 0, false, pl, sizeof(pl)), 0);
	static uint8_t big[MLOG_SIP_MAX_TEXT + 1];
	CHECK_INT(mlog_sip(w, 1, &a, &b, 6, big, sizeof(big)), ES_ELIMIT);
	CHECK_INT(mlog_close(w), 0);
	struct mlog_reader *r;
	char err[256];
	CHECK_INT(mlog_open(&r, path, err, sizeof(err)), 0);
	struct mlog_rec rec;
	CHECK_INT(mlog_next(r, &rec, err, sizeof(err)), 1);
	CHECK(rec.type == MLOG_REC_SIP && rec.ts_us == 1700000000000123LL && rec.proto == 17 &&
	      es_addr_eq(&rec.src, &a) && es_addr_eq(&rec.dst, &b) && rec.len == strlen(msg) &&
	      !memcmp(rec.payload, msg, rec.len));
	CHECK_INT(mlog_next(r, &rec, err, sizeof(err)), 1);
	CHECK(rec.type == MLOG_REC_STREAM);
	CHECK_INT(mlog_next(r, &rec, err, sizeof(err)), 1);
	CHECK(rec.type == MLOG_REC_ADDR && rec.stream == 0 && es_addr_eq(&rec.src, &b) &&
	      es_addr_eq(&rec.dst, &a));
	CHECK_INT(mlog_next(r, &rec, err, sizeof(err)), 1);
	CHECK(rec.type == MLOG_REC_RTP && rec.ts_us == 1700000000000200LL && rec.seq == 7);
	CHECK_INT(mlog_next(r, &rec, err, sizeof(err)), 0);
	mlog_reader_close(r);
}

static void copy_prefix(const char *src, const char *dst, size_t n, long flip)
{
	FILE *f = fopen(src, "rb");
	uint8_t *b = malloc(n + 1);
	size_t got = fread(b, 1, n, f);
	fclose(f);
	if (flip >= 0 && (size_t)flip < got)
		b[flip] ^= 0x40;
	unlink(dst);
	f = fopen(dst, "wb");
	fwrite(b, 1, got, f);
	fclose(f);
	free(b);
}

static void test_torn(void)
{
	char path[512], cut[512];
	tmp_path(path, sizeof(path), "full.mlog");
	tmp_path(cut, sizeof(cut), "cut.mlog");
	size_t last = write_log(path, 512);
	size_t full = file_size(path);
	int rc;
	bool torn;
	for (size_t n = last; n < full; n++) {
		copy_prefix(path, cut, n, -1);
		CHECK_INT(read_check(cut, &rc, &torn), NPKT);
		CHECK_INT(rc, 0);
		CHECK_INT(torn, n != last);
	}
}

static void test_corrupt(void)
{
	char path[512], bad[512], err[256] = "";
	tmp_path(path, sizeof(path), "full.mlog");
	tmp_path(bad, sizeof(bad), "bad.mlog");
	write_log(path, 0);
	size_t full = file_size(path);
	/* find the byte offset of the 100th record by reading */
	struct mlog_reader *r;
	struct mlog_rec rec;
	CHECK_INT(mlog_open(&r, path, err, sizeof(err)), 0);
	for (int i = 0; i < 100; i++)
		CHECK_INT(mlog_next(r, &rec, err, sizeof(err)), 1);
	mlog_reader_close(r);
	/* locate rec 100 offset: scan the file with the framing */
	FILE *f = fopen(path, "rb");
	uint8_t *b = malloc(full);
	CHECK_INT(fread(b, 1, full, f), full);
	fclose(f);
	size_t off = 16 + (size_t)(b[6] | b[7] << 8) + 4;
	for (int i = 0; i < 100; i++)
		off += 3 + (size_t)(b[off + 1] | b[off + 2] << 8) + 4;
	free(b);
	copy_prefix(path, bad, full, (long)off + 5);
	CHECK_INT(mlog_open(&r, bad, err, sizeof(err)), 0);
	int rc, n = 0;
	while ((rc = mlog_next(r, &rec, err, sizeof(err))) == 1)
		n++;
	CHECK_INT(n, 100);
	CHECK_INT(rc, ES_EPARSE);
	char want[64];
	snprintf(want, sizeof(want), "byte offset %zu", off);
	CHECK(strstr(err, want) != NULL);
	CHECK(strstr(err, bad) != NULL);
	mlog_reader_close(r);
}

static void test_exist_garbage(void)
{
	char path[512], err[256] = "";
	struct mlog_writer *w;
	struct mlog_reader *r;
	tmp_path(path, sizeof(path), "full.mlog");
	write_log(path, 0);
	CHECK_INT(mlog_create(&w, path, "x", 0, 0), ES_EEXIST);
	tmp_path(path, sizeof(path), "garbage.mlog");
	FILE *f = fopen(path, "wb");
	fputs("RIFF....WAVEfmt this is not a media log at all", f);
	fclose(f);
	CHECK_INT(mlog_open(&r, path, err, sizeof(err)), ES_EFORMAT);
	CHECK(strstr(err, path) != NULL);
	f = fopen(path, "wb");
	fclose(f);
	CHECK_INT(mlog_open(&r, path, err, sizeof(err)), ES_EFORMAT);
	/* header with a bad checksum */
	tmp_path(path, sizeof(path), "full.mlog");
	char bad[512];
	tmp_path(bad, sizeof(bad), "badhdr.mlog");
	copy_prefix(path, bad, 4096, 10);
	CHECK_INT(mlog_open(&r, bad, err, sizeof(err)), ES_EFORMAT);
	/* header only: a valid empty log */
	tmp_path(path, sizeof(path), "empty.mlog");
	unlink(path);
	CHECK_INT(mlog_create(&w, path, "", -5, 0), 0);
	CHECK_INT(mlog_close(w), 0);
	struct mlog_rec rec;
	CHECK_INT(mlog_open(&r, path, err, sizeof(err)), 0);
	CHECK_STR(mlog_call_id(r), "");
	CHECK(mlog_start_us(r) == -5);
	CHECK_INT(mlog_next(r, &rec, err, sizeof(err)), 0);
	CHECK(!mlog_torn(r));
	mlog_reader_close(r);
	CHECK_INT(mlog_open(&r, "/nonexistent/x.mlog", err, sizeof(err)), ES_ENOTFOUND);
}

/* Whether the file holds needle anywhere. */
static bool file_has(const char *path, const void *needle, size_t n)
{
	size_t size = file_size(path);
	uint8_t *b = malloc(size + 1);
	FILE *f = fopen(path, "rb");
	size_t got = f ? fread(b, 1, size, f) : 0;
	if (f)
		fclose(f);
	bool has = false;
	for (size_t i = 0; i + n <= got && !has; i++)
		has = memcmp(b + i, needle, n) == 0;
	free(b);
	return has;
}

/* The encrypted format: the same records read back, nothing in plain, a
 * torn or unauthenticated last chunk is the end, an earlier altered chunk
 * is ES_ECRYPTO naming the file and chunk, no keys is a clear error. */
static void test_encrypted(void)
{
	keys = &t_keys;
	test_roundtrip();
	test_torn();
	char path[512], bad[512], err[512] = "";
	tmp_path(path, sizeof(path), "full.mlog");
	write_log(path, 2000);
	size_t full = file_size(path);
	uint8_t pl[1400];
	fill_payload(pl, 1400, 3); /* packet 3 has a 1400-byte payload */
	CHECK(!file_has(path, pl + 500, 32));
	CHECK(!file_has(path, "call-1@example.org", 18));
	CHECK(!file_has(path, "telephone-event", 15));
	keys = NULL;
	write_log(path, 2000);
	CHECK(file_has(path, pl + 500, 32)); /* the plain format does hold it */
	keys = &t_keys;
	write_log(path, 2000);
	full = file_size(path);

	/* a bit flipped in the last chunk: a torn end, the rest reads */
	int rc;
	bool torn;
	tmp_path(bad, sizeof(bad), "bad.mlog");
	copy_prefix(path, bad, full, (long)full - 3);
	CHECK_INT(read_check(bad, &rc, &torn), NPKT);
	CHECK_INT(rc, 0);
	CHECK(torn);
	/* ... in an earlier chunk (mid-file: not chunk 0, which holds the
	 * call id alone) */
	copy_prefix(path, bad, full, (long)full / 2);
	struct mlog_reader *r;
	struct mlog_rec rec;
	CHECK_INT(mlog_open_keyed(&r, bad, keys, err, sizeof(err)), 0);
	CHECK_STR(mlog_call_id(r), "call-1@example.org");
	CHECK(mlog_encrypted(r));
	int n = 0;
	while ((rc = mlog_next(r, &rec, err, sizeof(err))) == 1)
		n++;
	CHECK(n > 4 && n < NPKT - 10);
	CHECK_INT(rc, ES_ECRYPTO);
	CHECK(strstr(err, bad) && strstr(err, "does not authenticate"));
	mlog_reader_close(r);
	/* no keys, or the header of another log */
	CHECK_INT(mlog_open(&r, path, err, sizeof(err)), ES_EUNSUP);
	CHECK(strstr(err, path) && strstr(err, "encrypted"));
	copy_prefix(path, bad, full, 10); /* the file id: the key id changes */
	CHECK_INT(mlog_open_keyed(&r, bad, keys, err, sizeof(err)), ES_EFORMAT); /* header CRC */
	/* the header alone (a crash before the first chunk went out) */
	char empty[512];
	tmp_path(empty, sizeof(empty), "empty.mlog");
	unlink(empty);
	struct mlog_writer *w;
	CHECK_INT(mlog_create_keyed(&w, empty, "c@x", 77, 0, keys), 0);
	CHECK_INT(mlog_close(w), 0);
	size_t hdr_only = file_size(empty);
	CHECK_INT(mlog_open_keyed(&r, empty, keys, err, sizeof(err)), 0);
	CHECK_STR(mlog_call_id(r), "c@x");
	CHECK(mlog_start_us(r) == 77);
	CHECK_INT(mlog_next(r, &rec, err, sizeof(err)), 0);
	mlog_reader_close(r);
	copy_prefix(empty, bad, hdr_only - 20, -1);
	CHECK_INT(mlog_open_keyed(&r, bad, keys, err, sizeof(err)), 0);
	CHECK_STR(mlog_call_id(r), "");
	CHECK_INT(mlog_next(r, &rec, err, sizeof(err)), 0);
	CHECK(mlog_torn(r));
	mlog_reader_close(r);
	keys = NULL;
}

/* A log read while it is written (listen-in, record/listen.c): the reader
 * reaches the end of what was flushed, the writer appends, and after
 * mlog_follow the reader gets exactly the new records; plain and
 * encrypted. */
static void follow_one(const struct mlog_keys *k)
{
	char path[512], err[512] = "";
	tmp_path(path, sizeof(path), "follow.mlog");
	unlink(path);
	struct mlog_writer *w;
	struct mlog_reader *r;
	struct mlog_rec rec;
	uint8_t pl[160];
	memset(pl, 0xd5, sizeof(pl));
	CHECK_INT(mlog_create_keyed(&w, path, "follow@x", 1000, 0, k), 0);
	CHECK_INT(mlog_stream(w, 0, MLOG_CALLER, 0x1234), 0);
	for (int i = 0; i < 10; i++)
		CHECK_INT(mlog_rtp(w, 0, 1000 + i * 20000, (uint16_t)i, (uint32_t)(i * 160), 8, false,
				   pl, sizeof(pl)), 0);
	CHECK_INT(mlog_flush(w, false), 0);
	CHECK_INT(mlog_open_keyed(&r, path, k, err, sizeof(err)), 0);
	int n = 0, rc;
	while ((rc = mlog_next(r, &rec, err, sizeof(err))) == 1)
		n += rec.type == MLOG_REC_RTP;
	CHECK_INT(rc, 0);
	CHECK_INT(n, 10);
	for (int i = 10; i < 25; i++)
		CHECK_INT(mlog_rtp(w, 0, 1000 + i * 20000, (uint16_t)i, (uint32_t)(i * 160), 8, false,
				   pl, sizeof(pl)), 0);
	CHECK_INT(mlog_flush(w, false), 0);
	CHECK_INT(mlog_next(r, &rec, err, sizeof(err)), 0); /* the end stays the end ... */
	mlog_follow(r);                                    /* ... until it is followed */
	n = 0;
	int last = -1;
	while ((rc = mlog_next(r, &rec, err, sizeof(err))) == 1)
		if (rec.type == MLOG_REC_RTP)
			n++, last = rec.seq;
	CHECK_INT(rc, 0);
	CHECK_INT(n, 15);
	CHECK_INT(last, 24);
	mlog_follow(r);
	CHECK_INT(mlog_next(r, &rec, err, sizeof(err)), 0); /* nothing new */
	mlog_reader_close(r);
	CHECK_INT(mlog_close(w), 0);
	unlink(path);
}

/* read() calls of this process so far (/proc/self/io), or -1. */
static long syscr(void)
{
	char line[64];
	long v = -1;
	FILE *f = fopen("/proc/self/io", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "syscr: %ld", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

/* An encrypted log of many small chunks (a call flushed often) is read in
 * windows of many chunks, not with two reads a chunk; twice over, as the
 * renderer reads it (media/render.c: two passes). */
static void test_encrypted_reads(void)
{
	char path[512], err[512] = "";
	struct mlog_writer *w;
	struct mlog_reader *r;
	struct mlog_rec rec;
	uint8_t pl[160];
	int n = 0, rc;

	tmp_path(path, sizeof(path), "chunks.mlog");
	unlink(path);
	memset(pl, 0xd5, sizeof(pl));
	CHECK_INT(mlog_create_keyed(&w, path, "chunks@x", 1000, 0, &t_keys), 0);
	CHECK_INT(mlog_stream(w, 0, MLOG_CALLER, 0x1234), 0);
	for (int i = 0; i < 3000; i++) {
		CHECK_INT(mlog_rtp(w, 0, 1000 + i * 20000, (uint16_t)i, (uint32_t)(i * 160), 8,
				   false, pl, sizeof(pl)), 0);
		if (i % 10 == 9) /* 300 chunks */
			CHECK_INT(mlog_flush(w, false), 0);
	}
	CHECK_INT(mlog_close(w), 0);
	long before = syscr();
	CHECK_INT(mlog_open_keyed(&r, path, &t_keys, err, sizeof(err)), 0);
	for (int pass = 0; r && pass < 2; pass++) {
		CHECK_INT(mlog_rewind(r), 0);
		while ((rc = mlog_next(r, &rec, err, sizeof(err))) == 1)
			n += rec.type == MLOG_REC_RTP;
		CHECK_INT(rc, 0);
	}
	long reads = syscr() - before;
	fprintf(stderr, "  300 chunks, %zu bytes, read twice: %ld read() calls\n", file_size(path),
		reads);
	CHECK_INT(n, 6000);
	if (before >= 0)
		CHECK(reads <= 30); /* a chunk at a time: over 1,200 */
	mlog_reader_close(r);
	unlink(path);
}

static void test_follow(void)
{
	follow_one(NULL);
	follow_one(&t_keys);
}

/* ES_MLOG_SEEDS=DIR: the fuzz seeds of the encrypted format, each a
 * committed plain seed (ES_MLOG_SEEDS_FROM=FILE...) written again record by
 * record through the encrypted writer with the fuzz key, as
 * DIR/<name>-enc.mlog. */
static int write_seeds(const char *dir, const char *from)
{
	char list[4096];
	snprintf(list, sizeof(list), "%s", from);
	char *save = NULL;
	for (char *src = strtok_r(list, " ", &save); src; src = strtok_r(NULL, " ", &save)) {
		char err[512], out[1024];
		struct mlog_reader *r;
		struct mlog_writer *w;
		struct mlog_rec rec;
		const char *base = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
		snprintf(out, sizeof(out), "%s/%.*s-enc.mlog", dir, (int)strcspn(base, "."), base);
		unlink(out);
		if (mlog_open(&r, src, err, sizeof(err)) ||
		    mlog_create_keyed(&w, out, mlog_call_id(r), mlog_start_us(r), 2048, &fz_keys)) {
			fprintf(stderr, "%s: %s\n", src, err);
			return 1;
		}
		unsigned ns = 0;
		int rc;
		while ((rc = mlog_next(r, &rec, err, sizeof(err))) == 1) {
			if (rec.type == MLOG_REC_STREAM)
				rc = mlog_stream(w, ns++, rec.party, rec.ssrc);
			else if (rec.type == MLOG_REC_PTMAP)
				rc = mlog_ptmap(w, rec.party, rec.pt, rec.name, rec.clock, rec.channels);
			else if (rec.type == MLOG_REC_RTP)
				rc = mlog_rtp(w, rec.stream, rec.ts_us, rec.seq, rec.rtp_ts, rec.pt,
					      rec.marker, rec.payload, rec.len);
			else
				rc = mlog_meta(w, (const char *)rec.payload, rec.len);
			if (rc)
				break;
		}
		mlog_reader_close(r);
		if (mlog_close(w) || rc) {
			fprintf(stderr, "%s: cannot copy (%d)\n", src, rc);
			return 1;
		}
		printf("wrote %s\n", out);
	}
	return 0;
}

static void cleanup(void)
{
	const char *names[] = {"rt.mlog", "full.mlog", "cut.mlog", "bad.mlog", "garbage.mlog",
			       "badhdr.mlog", "empty.mlog"};
	char p[512];
	for (size_t i = 0; i < ES_ARRAY_LEN(names); i++) {
		tmp_path(p, sizeof(p), names[i]);
		unlink(p);
	}
	rmdir(tmpdir);
}

int main(void)
{
	if (getenv("ES_MLOG_SEEDS"))
		return write_seeds(getenv("ES_MLOG_SEEDS"),
				   getenv("ES_MLOG_SEEDS_FROM") ? getenv("ES_MLOG_SEEDS_FROM") : "");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_mlog.XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	RUN(test_roundtrip);
	RUN(test_torn);
	RUN(test_corrupt);
	RUN(test_exist_garbage);
	RUN(test_encrypted);
	RUN(test_raw_records);
	RUN(test_follow);
	RUN(test_encrypted_reads);
	cleanup();
	return CHECK_DONE();
}
