/*
 * test_oggopus.c - the Ogg Opus writer (src/media/oggopus.c) against
 * RFC 7845, page by page with libogg, and decoded with opusfile:
 *
 *  - OpusHead alone on the first page (BOS, granule 0) with version 1,
 *    the channel count, the input rate and a pre-skip equal to libopus's
 *    lookahead at that rate (in 48 kHz samples); mono in mapping family
 *    0, stereo in family 1 as two uncoupled streams (section 5.1.1.2:
 *    2 streams, 0 coupled, mapping 0, 1); OpusTags alone on the
 *    second page with libopus's vendor string and the writer's tags;
 *  - audio pages with monotonic granule positions, at most 1 s of audio
 *    each, the last one EOS with granule = pre-skip + the input's length
 *    at 48 kHz, so that opusfile and media_reader give back exactly the
 *    frames written (the end trimming, section 4.4);
 *  - an empty recording is a valid stream of length 0;
 *  - pages reach the output while the call is still being written;
 *  - each channel decodes to its own source: one party speaking beside
 *    the other's silence leaves that silence under -60 dBFS, at
 *    complexity 0 as at 5 (what redaction relies on);
 *  - a failed write and a bad tag are errors, not crashes;
 *  - the older files still read with media_reader, in channel order:
 *    libopusenc's (48 kHz) and this writer's coupled stereo (family 0);
 *  - the audio packets are byte for byte those of libopus's multistream
 *    encoder with the same settings (the writer frames the streams itself
 *    to keep the multistream encoder's per-call CPUID off the hot path).
 */
#include "check.h"
#include "media/media.h"
#include "media/oggopus_internal.h"

#include <math.h>
#include <ogg/ogg.h>
#include <opus/opus.h>
#include <opus/opus_multistream.h>
#include <opus/opusenc.h>
#include <opus/opusfile.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[64];

static int16_t *speechlike(uint32_t rate, unsigned ch, size_t frames)
{
	int16_t *p = malloc(frames * ch * sizeof(*p) + 1);
	uint32_t s = 12345;

	for (size_t i = 0; i < frames; i++)
		for (unsigned c = 0; c < ch; c++) {
			s = s * 1103515245u + 12345u;
			double t = (double)i / rate;
			double env = 0.5 + 0.5 * sin(2 * M_PI * (c ? 3.1 : 2.3) * t);
			double v = env * (6000 * sin(2 * M_PI * (c ? 330 : 220) * t) +
					  2000 * sin(2 * M_PI * (c ? 1250 : 900) * t)) +
				   (double)((int)(s >> 16) % 600 - 300);
			p[i * ch + c] = (int16_t)lrint(v);
		}
	return p;
}

static uint64_t write_media(const char *path, uint32_t rate, unsigned ch, const int16_t *pcm,
			    size_t frames, const char *const *tags)
{
	struct media_writer *w;
	struct media_writer_opts o = {0, -1, tags};
	char err[256] = "";
	uint64_t bytes = 0;
	int rc = media_writer_open(&w, path, MEDIA_OPUS, rate, ch, &o, err, sizeof(err));

	CHECK_INT(rc, 0);
	if (rc) {
		fprintf(stderr, "  %s\n", err);
		return 0;
	}
	size_t off = 0, step = 333;
	while (off < frames) {
		size_t n = ES_MIN(step, frames - off);
		CHECK_INT(media_writer_write(w, pcm + off * ch, n), 0);
		off += n;
		step = step == 333 ? 1601 : 333;
	}
	rc = media_writer_close(w, &bytes, err, sizeof(err));
	CHECK_INT(rc, 0);
	if (rc)
		fprintf(stderr, "  %s\n", err);
	return bytes;
}

struct pages {
	unsigned n;
	ogg_int64_t last_gp;
	bool monotonic, eos_last, bos_first;
	unsigned max_packets;
	ogg_int64_t max_span; /* granule advance of one audio page */
	unsigned char head[64];
	long head_len;
	unsigned char tags[4096];
	long tags_len;
	unsigned head_pkts, tags_pkts;
};

/* Walk a file's pages with libogg. */
static void scan_pages(const unsigned char *b, size_t len, struct pages *pg)
{
	ogg_sync_state oy;
	ogg_stream_state os;
	ogg_page page;
	ogg_packet op;
	bool os_init = false;
	ogg_int64_t prev = 0;

	memset(pg, 0, sizeof(*pg));
	pg->monotonic = true;
	ogg_sync_init(&oy);
	char *buf = ogg_sync_buffer(&oy, (long)len);
	memcpy(buf, b, len);
	ogg_sync_wrote(&oy, (long)len);
	while (ogg_sync_pageout(&oy, &page) == 1) {
		if (!os_init) {
			ogg_stream_init(&os, ogg_page_serialno(&page));
			os_init = true;
			pg->bos_first = ogg_page_bos(&page);
		}
		ogg_stream_pagein(&os, &page);
		unsigned pk = 0;
		while (ogg_stream_packetout(&os, &op) == 1) {
			pk++;
			if (pg->n == 0 && op.bytes <= (long)sizeof(pg->head)) {
				memcpy(pg->head, op.packet, (size_t)op.bytes);
				pg->head_len = op.bytes;
			} else if (pg->n == 1 && op.bytes <= (long)sizeof(pg->tags)) {
				memcpy(pg->tags, op.packet, (size_t)op.bytes);
				pg->tags_len = op.bytes;
			}
		}
		ogg_int64_t gp = ogg_page_granulepos(&page);
		if (pg->n == 0)
			pg->head_pkts = pk;
		else if (pg->n == 1)
			pg->tags_pkts = pk;
		else {
			if (gp != -1) {
				if (gp < prev)
					pg->monotonic = false;
				if (pg->n > 2 && gp - prev > pg->max_span)
					pg->max_span = gp - prev;
				prev = gp;
			}
			if (pk > pg->max_packets)
				pg->max_packets = pk;
		}
		if (pg->n < 2 && gp != 0)
			pg->monotonic = false;
		pg->eos_last = ogg_page_eos(&page);
		pg->last_gp = gp;
		pg->n++;
	}
	if (os_init)
		ogg_stream_clear(&os);
	ogg_sync_clear(&oy);
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b = NULL;

	*len = 0;
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)n + 1);
	if (b && fread(b, 1, (size_t)n, f) == (size_t)n)
		*len = (size_t)n;
	fclose(f);
	return b;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int expected_lookahead(uint32_t rate, unsigned ch)
{
	int e = 0;
	opus_int32 la = -1;
	/* The parties' streams are CELT only (restricted low delay), mono not. */
	int app = ch == 2 ? OPUS_APPLICATION_RESTRICTED_LOWDELAY : OPUS_APPLICATION_AUDIO;
	OpusEncoder *enc = opus_encoder_create((opus_int32)rate, 1, app, &e);
	if (!enc)
		return -1;
	opus_encoder_ctl(enc, OPUS_GET_LOOKAHEAD(&la));
	opus_encoder_destroy(enc);
	return (int)la;
}

static const char *const tags[] = {"CALL_ID=abc@example.com", "TITLE=earshot test", NULL};

/* A file of `frames` frames: headers, pages, and exact decoded lengths. */
static void check_file(uint32_t rate, unsigned ch, size_t frames)
{
	char path[128];
	size_t len;
	struct pages pg;

	snprintf(path, sizeof(path), "%s/f-%u-%u-%zu.opus", dir, rate, ch, frames);
	int16_t *src = speechlike(rate, ch, frames);
	uint64_t bytes = write_media(path, rate, ch, src, frames, tags);
	free(src);
	unsigned char *b = slurp(path, &len);
	CHECK(b && len == bytes);
	if (!b)
		return;
	scan_pages(b, len, &pg);
	free(b);
	uint64_t in48 = (frames * 48000 + rate / 2) / rate;
	bool native = rate == 8000 || rate == 16000 || rate == 12000 || rate == 24000 ||
		      rate == 48000;
	uint32_t preskip = pg.head_len >= 19 ? (uint32_t)(pg.head[10] | pg.head[11] << 8) : 0;
	fprintf(stderr, "  %5u Hz %u ch %7zu frames: %3u pages, %6llu bytes, pre-skip %u, "
		"last granule %lld, <= %u packets and %lld samples a page\n",
		rate, ch, frames, pg.n, (unsigned long long)bytes, preskip, (long long)pg.last_gp,
		pg.max_packets, (long long)pg.max_span);
	/* RFC 7845 section 3: the headers each on a page of their own. */
	CHECK(pg.bos_first);
	CHECK_INT(pg.head_pkts, 1);
	CHECK_INT(pg.tags_pkts, 1);
	CHECK(pg.n >= 3);
	/* Section 5.1: OpusHead. */
	CHECK(!memcmp(pg.head, "OpusHead", 8));
	CHECK_INT(pg.head[8], 1);
	CHECK_INT(pg.head[9], ch);
	CHECK_INT(le32(pg.head + 12), rate);
	if (ch == 1) {
		/* 5.1.1.1: family 0, no mapping table. */
		CHECK_INT(pg.head_len, 19);
		CHECK_INT(pg.head[18], 0);
	} else {
		/* 5.1.1.2: family 1; 2 streams, none coupled, stream i = channel i. */
		CHECK_INT(pg.head_len, 23);
		CHECK_INT(pg.head[18], 1);
		CHECK_INT(pg.head[19], 2);
		CHECK_INT(pg.head[20], 0);
		CHECK_INT(pg.head[21], 0);
		CHECK_INT(pg.head[22], 1);
	}
	if (native)
		CHECK_INT(preskip, expected_lookahead(rate, ch) * (int)(48000 / rate));
	/* Section 5.2: OpusTags with the vendor and our comments. */
	CHECK(pg.tags_len > 16 && !memcmp(pg.tags, "OpusTags", 8));
	uint32_t vlen = le32(pg.tags + 8);
	const char *vendor = opus_get_version_string();
	CHECK(vlen == strlen(vendor) && !memcmp(pg.tags + 12, vendor, vlen));
	CHECK_INT(le32(pg.tags + 12 + vlen), 2);
	/* Section 4: granule positions; 4.4: the end trims the padding. */
	CHECK(pg.monotonic);
	CHECK(pg.eos_last);
	CHECK_INT(pg.last_gp, (long long)(preskip + in48));
	CHECK(pg.max_packets <= 50);
	CHECK(pg.max_span <= 48000);

	/* opusfile: the length after pre-skip and end trim, and decoding it. */
	int e = 0;
	OggOpusFile *of = op_open_file(path, &e);
	CHECK(of != NULL);
	if (of) {
		CHECK_INT(op_pcm_total(of, -1), (long long)in48);
		CHECK_STR(opus_tags_query(op_tags(of, -1), "CALL_ID", 0), "abc@example.com");
		int16_t pcm[5760 * 2];
		long long got = 0;
		int n;
		while ((n = op_read(of, pcm, (int)ES_ARRAY_LEN(pcm), NULL)) > 0)
			got += n;
		CHECK_INT(n, 0);
		CHECK_INT(got, (long long)in48);
		op_free(of);
	}
	/* media_reader: the recording's frames at its own rate. */
	struct media_reader *r;
	char err[256];
	if (media_reader_open(&r, path, err, sizeof(err)) == 0) {
		CHECK_INT(media_reader_rate(r), native ? rate : 48000);
		if (native) {
			CHECK_INT(media_reader_frames(r), frames);
			int16_t pcm[4096 * 2];
			long k;
			size_t got = 0;
			while ((k = media_reader_read(r, pcm, 4096)) > 0)
				got += (size_t)k;
			CHECK_INT(k, 0);
			CHECK_INT(got, frames);
		}
		media_reader_close(r);
	} else {
		CHECK(!"media_reader_open");
		fprintf(stderr, "  %s\n", err);
	}
	unlink(path);
}

/* media_reader decodes our files one OpusDecoder per stream (reader.c,
 * for libopus's per-call CPUID in opus_multistream_decode): the samples
 * must be exactly opusfile's own multistream decoding, mono and stereo,
 * at complexity 0 and 5, through several seconds of changing sound. */
static void check_split_decode(unsigned ch, int complexity)
{
	char path[400], err[256];
	snprintf(path, sizeof(path), "%s/split-%u-%d.opus", dir, ch, complexity);
	struct media_writer_opts o = {.opus_complexity = complexity};
	struct media_writer *w;
	CHECK_INT(media_writer_open(&w, path, MEDIA_OPUS, 48000, ch, &o, err, sizeof(err)), 0);
	size_t frames = 48000 * 4 + 123;
	int16_t *src = calloc(frames * ch, sizeof(*src));
	uint32_t seed = 7;
	for (size_t i = 0; i < frames; i++)
		for (unsigned c = 0; c < ch; c++) {
			seed = seed * 1103515245u + 12345u;
			double tone = sin((double)i * (c ? 0.031 : 0.013)) * (i % 48000 < 30000 ? 9000 : 0);
			src[i * ch + c] = (int16_t)(tone + (int)((seed >> 16) % 2001) - 1000);
		}
	CHECK_INT(media_writer_write(w, src, frames), 0);
	CHECK_INT(media_writer_close(w, NULL, err, sizeof(err)), 0);
	free(src);
	int e = 0;
	OggOpusFile *of = op_open_file(path, &e);
	struct media_reader *r = NULL;
	CHECK(of != NULL);
	CHECK_INT(media_reader_open(&r, path, err, sizeof(err)), 0);
	if (!of || !r)
		goto out;
	CHECK_INT(media_reader_rate(r), 48000);
	int16_t a[5760 * 2], b[5760 * 2];
	size_t na = 0, nb = 0, same = 0, total = 0;
	for (;;) {
		int n = op_read(of, a, (int)ES_ARRAY_LEN(a), NULL);
		if (n <= 0) {
			CHECK_INT(n, 0);
			break;
		}
		na += (size_t)n;
		size_t have = 0;
		while (have < (size_t)n) {
			long k = media_reader_read(r, b + have * ch, (size_t)n - have);
			if (k <= 0)
				break;
			have += (size_t)k;
		}
		nb += have;
		for (size_t i = 0; i < have * ch; i++)
			same += a[i] == b[i];
		total += (size_t)n * ch;
	}
	CHECK(na > 48000 * 4 && nb == na);
	CHECK_INT(same, total);
out:
	if (of)
		op_free(of);
	media_reader_close(r);
	unlink(path);
}

static void test_split_decode(void)
{
	check_split_decode(2, 0);
	check_split_decode(1, 0);
	check_split_decode(2, 5);
}

static void test_files(void)
{
	check_file(8000, 2, 8000 * 3 + 77);
	check_file(8000, 1, 8000 * 2);
	check_file(16000, 2, 16000 * 3 + 5);
	check_file(16000, 1, 1);
	check_file(8000, 2, 0);
	check_file(44100, 2, 44100 * 2 + 3); /* resampled to 48 kHz */
}

/* Decode a stereo file with media_reader into a fresh buffer of *frames. */
static int16_t *read_all(const char *path, size_t want, size_t *frames)
{
	struct media_reader *r;
	char err[256];
	int16_t *pcm = calloc(want * 2 + 1, sizeof(*pcm));
	long k;

	*frames = 0;
	if (!pcm || media_reader_open(&r, path, err, sizeof(err)) != 0) {
		CHECK(!"media_reader_open");
		return pcm;
	}
	CHECK_INT(media_reader_channels(r), 2);
	while (*frames < want && (k = media_reader_read(r, pcm + *frames * 2, want - *frames)) > 0)
		*frames += (size_t)k;
	media_reader_close(r);
	return pcm;
}

/* Channel c of a (decoded) stereo buffer against channel c of its source:
 * the normalised correlation, and the decoded level in dBFS. */
static void channel_cmp(const int16_t *src, const int16_t *dec, size_t frames, unsigned c,
			double *corr, double *dbfs)
{
	double sd = 0, ss = 0, dd = 0;

	for (size_t i = 0; i < frames; i++) {
		double a = src[i * 2 + c], b = dec[i * 2 + c];
		sd += a * b;
		ss += a * a;
		dd += b * b;
	}
	*corr = ss > 0 && dd > 0 ? sd / sqrt(ss * dd) : 0;
	*dbfs = 10 * log10(dd / (double)(frames ? frames : 1) / (32768.0 * 32768.0) + 1e-20);
}

/* Each party decodes to its own source: one speaks, the other is silent
 * (a redacted span), on either side, at complexity 0 and 5. */
static void test_channels(void)
{
	static const int cxs[] = {0, 5};
	const uint32_t rate = 8000;
	const size_t frames = rate * 3;
	char path[128];

	snprintf(path, sizeof(path), "%s/ch.opus", dir);
	for (size_t x = 0; x < ES_ARRAY_LEN(cxs); x++)
		for (unsigned talk = 0; talk < 2; talk++) {
			int16_t *src = speechlike(rate, 2, frames);
			for (size_t i = 0; i < frames; i++)
				src[i * 2 + !talk] = 0;
			struct media_writer_opts o = {0, cxs[x], NULL};
			struct media_writer *w;
			char err[256] = "";
			CHECK_INT(media_writer_open(&w, path, MEDIA_OPUS, rate, 2, &o, err,
						    sizeof(err)),
				  0);
			if (w) {
				CHECK_INT(media_writer_write(w, src, frames), 0);
				CHECK_INT(media_writer_close(w, NULL, err, sizeof(err)), 0);
			}
			size_t got;
			int16_t *dec = read_all(path, frames, &got);
			CHECK_INT(got, frames);
			double c_talk, db_talk, c_quiet, db_quiet;
			channel_cmp(src, dec, got, talk, &c_talk, &db_talk);
			channel_cmp(src, dec, got, !talk, &c_quiet, &db_quiet);
			fprintf(stderr,
				"  complexity %d, %s speaking: its channel corr %.3f at %.1f dBFS, "
				"the silent one %.1f dBFS\n",
				cxs[x], talk ? "right" : "left", c_talk, db_talk, db_quiet);
			CHECK(c_talk > 0.9);
			CHECK(db_quiet < -60);
			free(dec);
			free(src);
			unlink(path);
		}
}

/* Pages leave the encoder while the call runs: a player streaming the
 * file (a live call) is at most about a second behind. */
struct sink {
	size_t len;
	unsigned char b[256 * 1024];
	bool fail;
};

static int sink_out(void *user, const void *p, size_t n)
{
	struct sink *s = user;
	if (s->fail || n > sizeof(s->b) - s->len)
		return -1;
	memcpy(s->b + s->len, p, n);
	s->len += n;
	return 0;
}

static void test_streaming(void)
{
	static struct sink s;
	struct oggopus *e;
	char msg[128] = "";
	struct pages pg;
	const uint32_t rate = 8000;
	int16_t *src = speechlike(rate, 2, rate * 10);

	memset(&s, 0, sizeof(s));
	CHECK_INT(oggopus_open(&e, rate, 2, NULL, sink_out, &s, msg, sizeof(msg)), 0);
	if (!e) {
		free(src);
		return;
	}
	CHECK_INT(oggopus_write(e, src, rate * 5, msg, sizeof(msg)), 0);
	scan_pages(s.b, s.len, &pg);
	/* After 5 s written, at least 4 s are on complete pages. */
	fprintf(stderr, "  after 5 s written: %zu bytes out, granule %lld\n", s.len,
		(long long)pg.last_gp);
	CHECK(pg.n >= 3);
	CHECK(pg.last_gp >= 4 * 48000);
	CHECK(!pg.eos_last);
	CHECK_INT(oggopus_write(e, src + rate * 5 * 2, rate * 5, msg, sizeof(msg)), 0);
	CHECK_INT(oggopus_finish(e, msg, sizeof(msg)), 0);
	oggopus_free(e);
	scan_pages(s.b, s.len, &pg);
	CHECK(pg.eos_last);
	free(src);
}

static void test_errors(void)
{
	static struct sink s;
	struct oggopus *e = NULL;
	char msg[128] = "";
	static const char *const bad[] = {"no equals sign", NULL};
	struct media_writer_opts o = {0, -1, bad};
	int16_t pcm[320 * 2] = {0};

	memset(&s, 0, sizeof(s));
	CHECK_INT(oggopus_open(&e, 8000, 2, &o, sink_out, &s, msg, sizeof(msg)), ES_EINVAL);
	CHECK(e == NULL);
	CHECK(strstr(msg, "bad tag") != NULL);
	CHECK_INT(oggopus_open(&e, 8000, 3, NULL, sink_out, &s, msg, sizeof(msg)), ES_EINVAL);
	/* The output fails mid-stream: ES_EIO from then on, no crash. */
	memset(&s, 0, sizeof(s));
	CHECK_INT(oggopus_open(&e, 8000, 2, NULL, sink_out, &s, msg, sizeof(msg)), 0);
	if (!e)
		return;
	s.fail = true;
	int rc = 0;
	for (int i = 0; i < 200 && !rc; i++)
		rc = oggopus_write(e, pcm, 320, msg, sizeof(msg));
	CHECK_INT(rc, ES_EIO);
	CHECK_INT(oggopus_finish(e, msg, sizeof(msg)), ES_EIO);
	oggopus_free(e);
	/* The writer names the file when the disk is full. */
	struct media_writer *w;
	char err[256] = "";
	if (access("/dev/full", W_OK) == 0) {
		CHECK_INT(media_writer_open(&w, "/dev/full", MEDIA_OPUS, 8000, 2, NULL, err,
					    sizeof(err)),
			  0);
		if (w) {
			for (int i = 0; i < 500; i++)
				(void)media_writer_write(w, pcm, 320);
			CHECK_INT(media_writer_close(w, NULL, err, sizeof(err)), ES_EIO);
			CHECK(strstr(err, "/dev/full") != NULL);
		}
	}
}

/* Every recording before this writer came from libopusenc (which encodes
 * at 48 kHz and says so in its pre-skip): it must still read. */
static void test_libopusenc_file(void)
{
	char path[128];
	const uint32_t rate = 8000;
	const size_t frames = rate * 2 + 123;
	int e = 0;

	snprintf(path, sizeof(path), "%s/old.opus", dir);
	int16_t *src = speechlike(rate, 2, frames);
	OggOpusComments *c = ope_comments_create();
	ope_comments_add(c, "CALL_ID", "old@example.com");
	OggOpusEnc *enc = ope_encoder_create_file(path, c, (opus_int32)rate, 2, 0, &e);
	CHECK(enc != NULL);
	if (enc) {
		CHECK_INT(ope_encoder_write(enc, src, (int)frames), OPE_OK);
		CHECK_INT(ope_encoder_drain(enc), OPE_OK);
		ope_encoder_destroy(enc);
	}
	ope_comments_destroy(c);
	free(src);
	struct media_reader *r;
	char err[256];
	CHECK_INT(media_reader_open(&r, path, err, sizeof(err)), 0);
	if (r) {
		CHECK_INT(media_reader_rate(r), rate);
		CHECK_INT(media_reader_channels(r), 2);
		CHECK_INT(media_reader_frames(r), frames);
		int16_t pcm[4096 * 2];
		long k;
		size_t got = 0;
		while ((k = media_reader_read(r, pcm, 4096)) > 0)
			got += (size_t)k;
		CHECK_INT(got, frames);
		media_reader_close(r);
	}
	unlink(path);
}

/* Write the pages libogg has completed (all of them with flush). */
static void pages_to(FILE *f, ogg_stream_state *os, bool flush)
{
	ogg_page pg;

	while (flush ? ogg_stream_flush(os, &pg) : ogg_stream_pageout(os, &pg)) {
		fwrite(pg.header, 1, (size_t)pg.header_len, f);
		fwrite(pg.body, 1, (size_t)pg.body_len, f);
	}
}

/* This writer's files before family 1: one coupled stereo stream at
 * 8 kHz (mapping family 0), written here the way it wrote them.  They
 * must read at their own rate, full length, in channel order. */
static void test_coupled_file(void)
{
	const uint32_t rate = 8000;
	const int frame = 160;
	const size_t frames = (size_t)frame * 100; /* 2 s: whole packets, no end trim */
	char path[128];
	int e = 0;
	opus_int32 la = 0;
	ogg_stream_state os;
	ogg_packet op;
	unsigned char h[19], pkt[1500];

	snprintf(path, sizeof(path), "%s/coupled.opus", dir);
	int16_t *src = speechlike(rate, 2, frames);
	for (size_t i = 0; i < frames / 2; i++) /* left alone first, then right alone */
		src[i * 2 + 1] = 0;
	for (size_t i = frames / 2; i < frames; i++)
		src[i * 2] = 0;
	OpusEncoder *enc = opus_encoder_create((opus_int32)rate, 2, OPUS_APPLICATION_AUDIO, &e);
	FILE *f = fopen(path, "wb");
	CHECK(enc && f);
	if (!enc || !f)
		goto out;
	opus_encoder_ctl(enc, OPUS_SET_BITRATE(32000));
	opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(5));
	opus_encoder_ctl(enc, OPUS_GET_LOOKAHEAD(&la));
	ogg_stream_init(&os, 1234);
	memcpy(h, "OpusHead", 8);
	h[8] = 1;
	h[9] = 2;
	h[10] = (unsigned char)(la * 6);
	h[11] = (unsigned char)((la * 6) >> 8);
	h[12] = (unsigned char)(rate & 0xff);
	h[13] = (unsigned char)(rate >> 8);
	h[14] = h[15] = h[16] = h[17] = 0;
	h[18] = 0;
	op = (ogg_packet){.packet = h, .bytes = 19, .b_o_s = 1, .packetno = 0};
	ogg_stream_packetin(&os, &op);
	static unsigned char tags[] = "OpusTags\0\0\0\0\0\0\0\0";
	op = (ogg_packet){.packet = tags, .bytes = 16, .packetno = 1};
	ogg_stream_packetin(&os, &op);
	pages_to(f, &os, true);
	/* The lookahead is trimmed at the start; one packet more covers it. */
	for (int i = 0; i <= (int)(frames / (size_t)frame); i++) {
		static const int16_t zero[160 * 2];
		const int16_t *in = (size_t)i < frames / (size_t)frame ? src + (size_t)i * frame * 2 : zero;
		opus_int32 n = opus_encode(enc, in, frame, pkt, sizeof(pkt));
		CHECK(n > 0);
		bool last = (size_t)i == frames / (size_t)frame;
		op = (ogg_packet){.packet = pkt,
				  .bytes = n,
				  .e_o_s = last,
				  .granulepos = last ? (ogg_int64_t)(la * 6 + frames * 6)
						     : (ogg_int64_t)(i + 1) * frame * 6,
				  .packetno = 2 + i};
		ogg_stream_packetin(&os, &op);
		pages_to(f, &os, last);
	}
	ogg_stream_clear(&os);
	fclose(f);
	f = NULL;
	struct media_reader *r;
	char err[256];
	CHECK_INT(media_reader_open(&r, path, err, sizeof(err)), 0);
	if (r) {
		CHECK_INT(media_reader_rate(r), rate);
		CHECK_INT(media_reader_channels(r), 2);
		CHECK_INT(media_reader_frames(r), frames);
		media_reader_close(r);
	}
	size_t got;
	int16_t *dec = read_all(path, frames, &got);
	CHECK_INT(got, frames);
	/* Channel order: the left half is loud on the left, the right on the right. */
	double cl, dl, cr, dr;
	channel_cmp(src, dec, got / 2, 0, &cl, &dl);
	channel_cmp(src + frames, dec + frames, got - got / 2, 1, &cr, &dr);
	fprintf(stderr, "  coupled stereo (family 0): left corr %.3f, right corr %.3f\n", cl, cr);
	CHECK(cl > 0.8 && cr > 0.8);
	free(dec);
out:
	if (f)
		fclose(f);
	if (enc)
		opus_encoder_destroy(enc);
	free(src);
	unlink(path);
}

/* The audio packets of an Ogg Opus file in memory (after the 2 headers),
 * each copied to pk[i] with its length in len[i]; returns the count. */
static unsigned audio_packets(const unsigned char *b, size_t blen, unsigned char (*pk)[2560],
			      long *len, unsigned max)
{
	ogg_sync_state oy;
	ogg_stream_state os;
	ogg_page page;
	ogg_packet op;
	bool os_init = false;
	unsigned n = 0, seen = 0;

	ogg_sync_init(&oy);
	memcpy(ogg_sync_buffer(&oy, (long)blen), b, blen);
	ogg_sync_wrote(&oy, (long)blen);
	while (ogg_sync_pageout(&oy, &page) == 1) {
		if (!os_init) {
			ogg_stream_init(&os, ogg_page_serialno(&page));
			os_init = true;
		}
		ogg_stream_pagein(&os, &page);
		while (ogg_stream_packetout(&os, &op) == 1)
			if (seen++ >= 2 && n < max && op.bytes <= 2560) {
				memcpy(pk[n], op.packet, (size_t)op.bytes);
				len[n++] = op.bytes;
			}
	}
	if (os_init)
		ogg_stream_clear(&os);
	ogg_sync_clear(&oy);
	return n;
}

/* The writer's packets against opus_multistream_encode's on the same
 * input: mono and two streams, 8 and 16 kHz, default and odd bit rates. */
static void test_same_packets(void)
{
	static struct sink s;
	static unsigned char pk[520][2560];
	static long len[520];
	static const unsigned char mapping[2] = {0, 1};
	static const struct {
		uint32_t rate;
		unsigned ch;
		int bitrate, cx;
	} cases[] = {{8000, 2, 0, -1}, {8000, 2, 0, 5}, {8000, 1, 0, -1}, {16000, 2, 0, -1},
		     {8000, 2, 24001, -1}, {16000, 1, 20000, 2}};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const uint32_t rate = cases[k].rate;
		const unsigned ch = cases[k].ch;
		const int frame = (int)rate / 50, nframes = 500; /* 10 s */
		struct media_writer_opts o = {cases[k].bitrate, cases[k].cx, NULL};
		struct oggopus *w = NULL;
		char msg[128] = "";
		int16_t *src = speechlike(rate, ch, (size_t)frame * nframes);
		int err = 0;

		memset(&s, 0, sizeof(s));
		CHECK_INT(oggopus_open(&w, rate, ch, &o, sink_out, &s, msg, sizeof(msg)), 0);
		if (w) {
			CHECK_INT(oggopus_write(w, src, (size_t)frame * nframes, msg, sizeof(msg)),
				  0);
			CHECK_INT(oggopus_finish(w, msg, sizeof(msg)), 0);
			oggopus_free(w);
		}
		unsigned got = audio_packets(s.b, s.len, pk, len, 520);
		CHECK(got >= (unsigned)nframes);
		int app = ch == 2 ? OPUS_APPLICATION_RESTRICTED_LOWDELAY : OPUS_APPLICATION_AUDIO;
		OpusMSEncoder *ms = opus_multistream_encoder_create((opus_int32)rate, (int)ch,
								    (int)ch, 0, mapping, app, &err);
		CHECK(ms != NULL);
		if (!ms) {
			free(src);
			continue;
		}
		int cx = cases[k].cx >= 0 ? cases[k].cx
			 : rate <= 8000   ? OGGOPUS_COMPLEXITY_NB
					  : OGGOPUS_COMPLEXITY_WB;
		int bw = rate <= 8000 ? OPUS_BANDWIDTH_NARROWBAND : OPUS_BANDWIDTH_WIDEBAND;
		opus_multistream_encoder_ctl(ms, OPUS_SET_MAX_BANDWIDTH(bw));
		opus_multistream_encoder_ctl(
			ms, OPUS_SET_BITRATE(cases[k].bitrate ? cases[k].bitrate
							      : OGGOPUS_BITRATE_PER_CH * (int)ch));
		opus_multistream_encoder_ctl(ms, OPUS_SET_COMPLEXITY(cx));
		unsigned same = 0;
		for (int i = 0; i < nframes && (unsigned)i < got; i++) {
			unsigned char ref[2560];
			opus_int32 n = opus_multistream_encode(ms, src + (size_t)i * frame * ch,
								frame, ref, sizeof(ref));
			same += n == len[i] && !memcmp(ref, pk[i], (size_t)n);
		}
		fprintf(stderr, "  %u Hz, %u ch, %d bit/s, cx %d: %u of %d packets identical\n",
			rate, ch, cases[k].bitrate, cx, same, nframes);
		CHECK_INT(same, nframes);
		opus_multistream_encoder_destroy(ms);
		free(src);
	}
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/es-oggopus-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_files);
	RUN(test_split_decode);
	RUN(test_channels);
	RUN(test_streaming);
	RUN(test_errors);
	RUN(test_libopusenc_file);
	RUN(test_coupled_file);
	RUN(test_same_packets);
	rmdir(dir);
	return CHECK_DONE();
}
