/*
 * test_media_io.c - the recording writers and readers (WAV, FLAC,
 * Ogg/Opus), media_convert, and the readers' handling of damaged files.
 *
 * Every format is written at 8 and 16 kHz, mono and stereo, with a
 * different sine per channel (440 Hz left, 1000 Hz right), and read back:
 * WAV and FLAC must be sample-exact; Opus (lossy) must keep the length
 * within 10 ms and correlate >= 0.9 per channel with the source at the
 * best lag within 20 ms.
 */
#include "check.h"
#include "media/media.h"

#include <FLAC/metadata.h>
#include <dirent.h>
#include <math.h>
#include <opus/opusfile.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECONDS 3

static char dir[64];

static void path_in(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", dir, name);
}

static int16_t *sines(uint32_t rate, unsigned ch, size_t frames)
{
	static const double freq[2] = {440.0, 1000.0}, amp[2] = {10000.0, 8000.0};
	int16_t *p = malloc(frames * ch * sizeof(*p));
	for (size_t i = 0; i < frames; i++)
		for (unsigned c = 0; c < ch; c++)
			p[i * ch + c] = (int16_t)lrint(amp[c] * sin(2 * M_PI * freq[c] * (double)i / rate));
	return p;
}

static size_t file_size(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 ? (size_t)st.st_size : 0;
}

/* Write pcm in uneven chunks; returns the writer's reported size. */
static uint64_t write_file(const char *path, enum media_format fmt, uint32_t rate, unsigned ch,
			   const int16_t *pcm, size_t frames, const char *const *tags)
{
	struct media_writer *w;
	struct media_writer_opts o = {0, -1, tags};
	char err[256] = "";
	uint64_t bytes = 0;

	int rc = media_writer_open(&w, path, fmt, rate, ch, &o, err, sizeof(err));
	CHECK_INT(rc, 0);
	if (rc) {
		fprintf(stderr, "  %s\n", err);
		return 0;
	}
	size_t off = 0, step = 997;
	while (off < frames) {
		size_t n = ES_MIN(step, frames - off);
		CHECK_INT(media_writer_write(w, pcm + off * ch, n), 0);
		off += n;
		step = step == 997 ? 160 : 997;
	}
	CHECK_INT(media_writer_close(w, &bytes, err, sizeof(err)), 0);
	CHECK_INT(bytes, file_size(path));
	return bytes;
}

/* Read a whole file; *frames gets its length.  NULL on open failure. */
static int16_t *read_file(const char *path, enum media_format fmt, uint32_t rate, unsigned ch,
			  size_t cap, size_t *frames)
{
	struct media_reader *r;
	char err[256] = "";
	int16_t *p;
	long n = 0;

	*frames = 0;
	int rc = media_reader_open(&r, path, err, sizeof(err));
	CHECK_INT(rc, 0);
	if (rc) {
		fprintf(stderr, "  %s\n", err);
		return NULL;
	}
	CHECK_INT(media_reader_format(r), fmt);
	CHECK_INT(media_reader_rate(r), rate);
	CHECK_INT(media_reader_channels(r), ch);
	p = malloc(cap * ch * sizeof(*p));
	/* Uneven reads, as a renderer or exporter would do. */
	size_t want = 333;
	while (*frames < cap && (n = media_reader_read(r, p + *frames * ch,
						      ES_MIN(want, cap - *frames))) > 0) {
		*frames += (size_t)n;
		want = want == 333 ? 4096 : 333;
	}
	CHECK(n >= 0);
	media_reader_close(r);
	return p;
}

/* Normalised correlation of channel c at the best lag within max_lag. */
static double best_corr(const int16_t *a, size_t na, const int16_t *b, size_t nb, unsigned ch,
			unsigned c, long max_lag, long *lag_out)
{
	double best = -2;
	size_t n = ES_MIN(na, nb);

	for (long lag = -max_lag; lag <= max_lag; lag++) {
		double sab = 0, saa = 0, sbb = 0;
		for (size_t i = (size_t)max_lag; i + (size_t)max_lag < n; i++) {
			double x = a[i * ch + c], y = b[(size_t)((long)i + lag) * ch + c];
			sab += x * y;
			saa += x * x;
			sbb += y * y;
		}
		double r = saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 0;
		if (r > best) {
			best = r;
			*lag_out = lag;
		}
	}
	return best;
}

static const char *const tags[] = {"TITLE=earshot test", "CALL_ID=abc@example.com", NULL};

static void check_tags(const char *path, enum media_format fmt)
{
	if (fmt == MEDIA_OPUS) {
		OggOpusFile *of = op_open_file(path, NULL);
		CHECK(of != NULL);
		if (!of)
			return;
		const OpusTags *t = op_tags(of, 0);
		CHECK_STR(opus_tags_query(t, "TITLE", 0), "earshot test");
		CHECK_STR(opus_tags_query(t, "CALL_ID", 0), "abc@example.com");
		op_free(of);
	} else if (fmt == MEDIA_FLAC) {
		FLAC__StreamMetadata *m = NULL;
		CHECK(FLAC__metadata_get_tags(path, &m));
		if (!m)
			return;
		bool found = false;
		for (unsigned i = 0; i < m->data.vorbis_comment.num_comments; i++) {
			const FLAC__StreamMetadata_VorbisComment_Entry *e =
				&m->data.vorbis_comment.comments[i];
			if (e->length == 18 && !memcmp(e->entry, "TITLE=earshot test", 18))
				found = true;
		}
		CHECK(found);
		FLAC__metadata_object_delete(m);
	}
}

static void roundtrip(enum media_format fmt, uint32_t rate, unsigned ch)
{
	char path[128], name[32];
	size_t frames = (size_t)rate * SECONDS, got;

	snprintf(name, sizeof(name), "rt-%u-%u%s", rate, ch, media_format_ext(fmt));
	path_in(path, sizeof(path), name);
	int16_t *src = sines(rate, ch, frames);
	uint64_t bytes = write_file(path, fmt, rate, ch, src, frames, tags);
	int16_t *dec = read_file(path, fmt, rate, ch, frames * 2, &got);
	if (!dec) {
		free(src);
		return;
	}
	if (fmt == MEDIA_OPUS) {
		long tol = (long)rate / 100; /* 10 ms */
		long diff = (long)got - (long)frames;
		fprintf(stderr, "  opus %5u Hz %u ch: %6llu bytes, %zu frames (%+ld)", rate, ch,
			(unsigned long long)bytes, got, diff);
		CHECK(labs(diff) <= tol);
		for (unsigned c = 0; c < ch; c++) {
			long lag = 0;
			double r = best_corr(src, frames, dec, got, ch, c, (long)rate / 50, &lag);
			/* A sine repeats every period, so the best lag is only
			 * known modulo it; the correlation at lag 0 is what
			 * checks the resampler delay compensation (1 sample off
			 * at 1 kHz / 8 kHz would drop it to 0.7). */
			long zero = 0;
			double r0 = best_corr(src, frames, dec, got, ch, c, 0, &zero);
			fprintf(stderr, ", ch%u corr %.4f lag %ld (lag 0: %.4f)", c, r, lag, r0);
			CHECK(r >= 0.9);
			CHECK(r0 >= 0.9);
		}
		fprintf(stderr, "\n");
	} else {
		fprintf(stderr, "  %-4s %5u Hz %u ch: %6llu bytes, %zu frames\n",
			media_format_name(fmt), rate, ch, (unsigned long long)bytes, got);
		CHECK_INT(got, frames);
		CHECK(got == frames && !memcmp(src, dec, frames * ch * sizeof(*src)));
	}
	check_tags(path, fmt);
	free(src);
	free(dec);
}

static void test_roundtrip(void)
{
	static const uint32_t rates[] = {8000, 16000};
	for (int f = MEDIA_OPUS; f <= MEDIA_FLAC; f++)
		for (size_t r = 0; r < ES_ARRAY_LEN(rates); r++)
			for (unsigned ch = 1; ch <= 2; ch++)
				roundtrip((enum media_format)f, rates[r], ch);
}

static void test_formats(void)
{
	enum media_format f = MEDIA_WAV;
	CHECK_INT(media_format_parse("OPUS", &f), 0);
	CHECK_INT(f, MEDIA_OPUS);
	CHECK_INT(media_format_parse("ogg", &f), 0);
	CHECK_INT(f, MEDIA_OPUS);
	CHECK_INT(media_format_parse("Wav", &f), 0);
	CHECK_INT(f, MEDIA_WAV);
	CHECK_INT(media_format_parse("flac", &f), 0);
	CHECK_INT(f, MEDIA_FLAC);
	CHECK_INT(media_format_parse("mp3", &f), ES_EINVAL);
	CHECK_INT(media_format_parse("", &f), ES_EINVAL);
	CHECK_STR(media_format_name(MEDIA_FLAC), "flac");
	CHECK_STR(media_format_ext(MEDIA_OPUS), ".opus");
	CHECK_STR(media_format_ext(MEDIA_WAV), ".wav");
}

static void test_convert(void)
{
	char in[128], out[128], out2[128], err[256] = "";
	uint32_t rate = 16000;
	size_t frames = rate * SECONDS, got;

	path_in(in, sizeof(in), "conv-in.opus");
	path_in(out, sizeof(out), "conv-out.wav");
	path_in(out2, sizeof(out2), "conv-out.flac");
	int16_t *src = sines(rate, 2, frames);
	write_file(in, MEDIA_OPUS, rate, 2, src, frames, NULL);
	CHECK_INT(media_convert(in, out, MEDIA_WAV, true, NULL, err, sizeof(err)), 0);
	int16_t *dec = read_file(out, MEDIA_WAV, rate, 1, frames * 2, &got);
	fprintf(stderr, "  opus stereo -> wav mono: %zu frames (%+ld)\n", got,
		(long)got - (long)frames);
	CHECK(labs((long)got - (long)frames) <= (long)rate / 100);
	free(dec);

	/* WAV -> FLAC keeps every sample. */
	path_in(in, sizeof(in), "conv-in.wav");
	write_file(in, MEDIA_WAV, rate, 2, src, frames, NULL);
	CHECK_INT(media_convert(in, out2, MEDIA_FLAC, false, NULL, err, sizeof(err)), 0);
	dec = read_file(out2, MEDIA_FLAC, rate, 2, frames * 2, &got);
	CHECK(dec && got == frames && !memcmp(src, dec, frames * 2 * sizeof(*src)));
	free(dec);

	/* Mix of a full-scale pair does not overflow. */
	int16_t loud[4] = {32767, 32767, -32768, -32768};
	write_file(in, MEDIA_WAV, rate, 2, loud, 2, NULL);
	CHECK_INT(media_convert(in, out, MEDIA_WAV, true, NULL, err, sizeof(err)), 0);
	dec = read_file(out, MEDIA_WAV, rate, 1, 4, &got);
	CHECK(dec && got == 2 && dec[0] == 32767 && dec[1] == -32768);
	free(dec);

	/* Onto itself, from a missing file. */
	CHECK_INT(media_convert(in, in, MEDIA_WAV, false, NULL, err, sizeof(err)), ES_EINVAL);
	CHECK(media_convert("/nonexistent/x.wav", out, MEDIA_WAV, false, NULL, err,
			    sizeof(err)) < 0);
	CHECK(strstr(err, "/nonexistent/x.wav") != NULL);
	free(src);
}

static void put_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (n)
		fwrite(p, 1, n, f);
	fclose(f);
}

static uint8_t *slurp(const char *path, size_t *n)
{
	*n = file_size(path);
	uint8_t *p = malloc(*n ? *n : 1);
	FILE *f = fopen(path, "rb");
	*n = fread(p, 1, *n, f);
	fclose(f);
	return p;
}

/* Open and read to the end; the first error (open or read), or 0. */
static int read_all(const char *path, char *err, size_t errlen, size_t *frames)
{
	struct media_reader *r;
	int16_t pcm[1024];
	long n;

	*frames = 0;
	err[0] = 0;
	int rc = media_reader_open(&r, path, err, errlen);
	if (rc)
		return rc;
	while ((n = media_reader_read(r, pcm, 512)) > 0)
		*frames += (size_t)n;
	media_reader_close(r);
	return n < 0 ? (int)n : 0;
}

static void test_damaged(void)
{
	char path[128], good[128], err[256];
	size_t n, frames;
	uint8_t junk[4096];
	int16_t *src = sines(8000, 1, 8000);

	/* Random bytes, an empty file. */
	srand(7);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)rand();
	path_in(path, sizeof(path), "junk.bin");
	put_file(path, junk, sizeof(junk));
	CHECK_INT(read_all(path, err, sizeof(err), &frames), ES_EFORMAT);
	CHECK(strstr(err, path) != NULL);
	put_file(path, "", 0);
	CHECK_INT(read_all(path, err, sizeof(err), &frames), ES_EFORMAT);
	CHECK(strstr(err, "empty") != NULL);

	/* A WAV header claiming 24-bit. */
	path_in(good, sizeof(good), "good.wav");
	write_file(good, MEDIA_WAV, 8000, 1, src, 8000, NULL);
	uint8_t *w = slurp(good, &n);
	w[34] = 24;
	w[32] = 3;
	put_file(path, w, n);
	CHECK_INT(read_all(path, err, sizeof(err), &frames), ES_EFORMAT);
	CHECK(strstr(err, "24 bits") != NULL);
	fprintf(stderr, "  24-bit: %s\n", err);
	w[34] = 16;
	w[32] = 2;

	/* Sizes never patched (a crashed writer): read to the end. */
	memset(w + 4, 0, 4);
	memset(w + 40, 0, 4);
	put_file(path, w, n);
	CHECK_INT(read_all(path, err, sizeof(err), &frames), 0);
	CHECK_INT(frames, 8000);
	memset(w + 4, 0xff, 4);
	memset(w + 40, 0xff, 4);
	put_file(path, w, n);
	CHECK_INT(read_all(path, err, sizeof(err), &frames), 0);
	CHECK_INT(frames, 8000);

	/* Data cut short of what the header claims; a header cut short. */
	put_file(good, w, n); /* restore sizes by rewriting below */
	write_file(good, MEDIA_WAV, 8000, 1, src, 8000, NULL);
	free(w);
	w = slurp(good, &n);
	put_file(path, w, n - 1000);
	CHECK_INT(read_all(path, err, sizeof(err), &frames), ES_ETRUNC);
	CHECK_INT(frames, 8000 - 500);
	put_file(path, w, 30);
	CHECK_INT(read_all(path, err, sizeof(err), &frames), ES_ETRUNC);
	free(w);

	/* Truncated and corrupted FLAC and Opus: an error or fewer frames,
	 * never a crash (ASan watches). */
	static const enum media_format fmts[] = {MEDIA_FLAC, MEDIA_OPUS};
	for (size_t f = 0; f < ES_ARRAY_LEN(fmts); f++) {
		path_in(good, sizeof(good), fmts[f] == MEDIA_FLAC ? "good.flac" : "good.opus");
		write_file(good, fmts[f], 8000, 1, src, 8000, NULL);
		w = slurp(good, &n);
		static const size_t cuts[] = {4, 40, 100, 300};
		for (size_t c = 0; c < ES_ARRAY_LEN(cuts); c++) {
			put_file(path, w, ES_MIN(cuts[c], n));
			int rc = read_all(path, err, sizeof(err), &frames);
			CHECK(rc < 0 || frames < 8000);
		}
		put_file(path, w, n / 2);
		int rc = read_all(path, err, sizeof(err), &frames);
		CHECK(rc < 0 || frames < 8000);
		for (size_t i = n / 3; i < n; i += 97)
			w[i] ^= 0x5a;
		put_file(path, w, n);
		rc = read_all(path, err, sizeof(err), &frames);
		fprintf(stderr, "  corrupted %s: rc %d, %zu frames\n", media_format_name(fmts[f]),
			rc, frames);
		free(w);
	}
	free(src);
}

static void test_writer_errors(void)
{
	struct media_writer *w = NULL;
	char err[256] = "", path[128];
	int16_t pcm[320] = {0};

	for (int f = MEDIA_OPUS; f <= MEDIA_FLAC; f++) {
		err[0] = 0;
		CHECK_INT(media_writer_open(&w, "/proc/nonexistent/x.wav", (enum media_format)f,
					    8000, 1, NULL, err, sizeof(err)),
			  ES_EIO);
		CHECK(w == NULL);
		CHECK(strstr(err, "/proc/nonexistent/x.wav") != NULL);
	}
	fprintf(stderr, "  unwritable: %s\n", err);
	CHECK_INT(media_writer_open(&w, "x.wav", MEDIA_WAV, 8000, 3, NULL, err, sizeof(err)),
		  ES_EINVAL);

	/* Abort leaves nothing behind. */
	for (int f = MEDIA_OPUS; f <= MEDIA_FLAC; f++) {
		path_in(path, sizeof(path), "aborted");
		CHECK_INT(media_writer_open(&w, path, (enum media_format)f, 16000, 2, NULL, err,
					    sizeof(err)),
			  0);
		CHECK_INT(media_writer_write(w, pcm, 160), 0);
		media_writer_abort(w);
		CHECK(access(path, F_OK) != 0);
	}

	/* A full disk: /dev/full fails every write; close says so, by name. */
	if (access("/dev/full", W_OK) == 0) {
		for (int f = MEDIA_OPUS; f <= MEDIA_FLAC; f++) {
			int rc = media_writer_open(&w, "/dev/full", (enum media_format)f, 8000, 1,
						   NULL, err, sizeof(err));
			if (rc) { /* encoders that write a header at open */
				CHECK(strstr(err, "/dev/full") != NULL);
				continue;
			}
			for (int i = 0; i < 200; i++)
				(void)media_writer_write(w, pcm, 320);
			CHECK_INT(media_writer_close(w, NULL, err, sizeof(err)), ES_EIO);
			CHECK(strstr(err, "/dev/full: ") == err);
			CHECK(strstr(err, "No space left on device") != NULL);
			fprintf(stderr, "  %s: %s\n", media_format_name((enum media_format)f), err);
		}
	}

	/* Empty recordings are valid files. */
	for (int f = MEDIA_OPUS; f <= MEDIA_FLAC; f++) {
		size_t frames;
		path_in(path, sizeof(path), "empty");
		CHECK_INT(media_writer_open(&w, path, (enum media_format)f, 8000, 1, NULL, err,
					    sizeof(err)),
			  0);
		CHECK_INT(media_writer_close(w, NULL, err, sizeof(err)), 0);
		CHECK_INT(read_all(path, err, sizeof(err), &frames), 0);
		CHECK_INT(frames, 0);
	}
}

static void cleanup(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/es-media-io-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_formats);
	RUN(test_roundtrip);
	RUN(test_convert);
	RUN(test_damaged);
	RUN(test_writer_errors);
	if (getenv("ES_KEEP_TMP"))
		fprintf(stderr, "files kept in %s\n", dir);
	else
		cleanup();
	return CHECK_DONE();
}
