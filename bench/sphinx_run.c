/*
 * sphinx_run.c - the built-in pocketsphinx engine over WAV files, for the
 * WER and throughput measurements (bench/sphinx_wer.py,
 * tests/integration/test_sphinx_wer.py, docs/SPEECH.md).  The engine is
 * run exactly as the transcription worker runs it (tr_engine_find, one
 * call per file), the model folder given as in [transcription] model.
 *
 * usage: sphinx_run [--cache] MODEL FILE.wav...
 *          one JSON line per file: {"file","seconds","cpu_s","words":[..]};
 *          --cache: the model loaded once for all files, as one worker
 *          keeps it (tr_cache); without: loaded per file (cpu_s includes it)
 *        sphinx_run --cepstrum MODEL FILE.wav...
 *          the mean cepstrum C0..C12 over every frame of the files, as a
 *          -cmninit value (13 numbers, comma-separated)
 *        sphinx_run --variant
 *          the default model variant of earshot transcribe --prepare-model
 * Exit: 0 ok, 1 error, 77 the engine is not built in.
 */
#include "analytics/transcribe.h"
#include "media/media.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A mono WAV file's samples (malloc'd). */
static int read_wav(const char *path, int16_t **pcm, size_t *n, uint32_t *rate)
{
	char err[512];
	struct media_reader *r = NULL;
	if (media_reader_open(&r, path, err, sizeof(err))) {
		fprintf(stderr, "sphinx_run: %s\n", err);
		return 1;
	}
	unsigned ch = media_reader_channels(r);
	*rate = media_reader_rate(r);
	size_t cap = 1 << 16;
	int16_t *o = malloc(cap * sizeof(*o)), buf[4096 * 8];
	*n = 0;
	long got;
	while (o && ch && ch <= 8 && (got = media_reader_read(r, buf, 4096)) > 0) {
		if (*n + (size_t)got > cap) {
			int16_t *p = realloc(o, (cap *= 2) * sizeof(*o));
			if (!p) {
				free(o);
				o = NULL;
				break;
			}
			o = p;
		}
		for (long i = 0; i < got; i++) /* the first channel */
			o[*n + (size_t)i] = buf[(size_t)i * ch];
		*n += (size_t)got;
	}
	media_reader_close(r);
	*pcm = o;
	if (!o || !ch || ch > 8)
		fprintf(stderr, "sphinx_run: %s: cannot be read\n", path);
	return o && ch && ch <= 8 ? 0 : 1;
}

static double cpu_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++)
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	putchar('"');
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--variant")) { /* the default telephone variant */
		printf("%s\n", tr_sphinx_default_variant());
		return 0;
	}
	bool cep = argc > 1 && !strcmp(argv[1], "--cepstrum");
	bool cached = argc > 1 && !strcmp(argv[1], "--cache");
	int a = cep || cached ? 2 : 1;
	if (argc - a < 2) {
		fprintf(stderr, "usage: sphinx_run [--cepstrum|--cache] MODEL FILE.wav...\n");
		return 2;
	}
	if (!tr_sphinx_available()) {
		fprintf(stderr, "sphinx_run: earshot was built without pocketsphinx\n");
		return 77;
	}
	const struct tr_engine *e = tr_engine_find("pocketsphinx");
	struct tr_cache cache = {0};
	struct tr_conf c = {.engine = "pocketsphinx", .model = argv[a],
			    .cache = cached ? &cache : NULL};
	double sum[13] = {0};
	uint64_t frames = 0;
	char err[1024];
	for (int i = a + 1; i < argc; i++) {
		int16_t *pcm = NULL;
		size_t n = 0;
		uint32_t rate = 0;
		if (read_wav(argv[i], &pcm, &n, &rate))
			return 1;
		if (cep) {
			int rc = tr_sphinx_cepstrum(c.model, pcm, n, rate, sum, &frames, err,
						    sizeof(err));
			free(pcm);
			if (rc) {
				fprintf(stderr, "sphinx_run: %s: %s\n", argv[i], err);
				return 1;
			}
			continue;
		}
		struct tr_text t = {0};
		double t0 = cpu_now();
		int rc = e->run(&c, pcm, n, rate, &t, err, sizeof(err));
		double cpu = cpu_now() - t0;
		free(pcm);
		if (rc) {
			fprintf(stderr, "sphinx_run: %s: %s\n", argv[i], err);
			tr_text_free(&t);
			return 1;
		}
		printf("{\"file\":");
		json_str(argv[i]);
		printf(",\"seconds\":%.3f,\"cpu_s\":%.3f,\"words\":[", (double)n / rate, cpu);
		for (size_t k = 0; k < t.n; k++) {
			printf("%s{\"w\":", k ? "," : "");
			json_str(t.w[k].w);
			printf(",\"s\":%lld,\"e\":%lld,\"c\":%.3f}", (long long)t.w[k].start_ms,
			       (long long)t.w[k].end_ms, t.w[k].conf);
		}
		printf("]}\n");
		fflush(stdout);
		tr_text_free(&t);
	}
	if (cep) {
		if (!frames) {
			fprintf(stderr, "sphinx_run: no frames\n");
			return 1;
		}
		for (int k = 0; k < 13; k++)
			printf("%s%.2f", k ? "," : "", sum[k] / (double)frames);
		printf("\n");
	}
	tr_cache_free(&cache);
	return 0;
}
