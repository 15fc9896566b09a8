/*
 * opus_cx.c - the Ogg/Opus writer's complexity against speed and fidelity,
 * for docs/PERFORMANCE.md: encodes one WAV (mono or stereo, 8 or 16 kHz,
 * e.g. two speakers as caller and callee) with media_writer at each
 * complexity, reads it back with media_reader, and prints per complexity
 * the encoder's x real time per core (CPU time of the process while
 * writing) and, averaged over the channels, against the source:
 *
 *  - corr: normalised correlation (the fidelity test's measure);
 *  - SNR and segSNR (20 ms segments with speech, each clamped to
 *    -10..35 dB, as is usual for segmental SNR);
 *  - LSD: log-spectral distance in dB (32 ms Hann frames with speech,
 *    the RMS over frequency of the difference of the log power spectra,
 *    averaged over frames): a spectral measure that, unlike the waveform
 *    ones, does not penalise the phase changes of parametric coding.
 *    It is not PESQ or ViSQOL (neither is packaged in Debian); lower is
 *    better.
 *
 *   opus_cx IN.wav [--bitrate BPS] [--repeat N] [--tmp DIR]
 */
#include "core/core.h"
#include "media/media.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FFT_N 512

struct audio {
	int16_t *pcm;
	size_t frames;
	uint32_t rate;
	unsigned ch;
};

static int load(const char *path, struct audio *a)
{
	struct media_reader *r;
	char err[256];
	size_t cap = 1 << 16;
	long n;

	if (media_reader_open(&r, path, err, sizeof(err))) {
		fprintf(stderr, "opus_cx: %s\n", err);
		return -1;
	}
	a->rate = media_reader_rate(r);
	a->ch = media_reader_channels(r);
	a->frames = 0;
	a->pcm = malloc(cap * a->ch * sizeof(*a->pcm));
	while (a->pcm && (n = media_reader_read(r, a->pcm + a->frames * a->ch, 4096)) > 0) {
		a->frames += (size_t)n;
		if (a->frames + 4096 > cap) {
			cap *= 2;
			int16_t *p = realloc(a->pcm, cap * a->ch * sizeof(*p));
			if (!p)
				break;
			a->pcm = p;
		}
	}
	media_reader_close(r);
	return a->pcm ? 0 : -1;
}

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Iterative radix-2 FFT of re/im in place (n a power of two). */
static void fft(double *re, double *im, unsigned n)
{
	for (unsigned i = 1, j = 0; i < n; i++) {
		unsigned bit = n >> 1;
		for (; j & bit; bit >>= 1)
			j ^= bit;
		j ^= bit;
		if (i < j) {
			double t = re[i];
			re[i] = re[j];
			re[j] = t;
			t = im[i];
			im[i] = im[j];
			im[j] = t;
		}
	}
	for (unsigned len = 2; len <= n; len <<= 1) {
		double a = -2 * M_PI / len;
		for (unsigned i = 0; i < n; i += len)
			for (unsigned k = 0; k < len / 2; k++) {
				double wr = cos(a * k), wi = sin(a * k);
				double xr = re[i + k + len / 2], xi = im[i + k + len / 2];
				double tr = xr * wr - xi * wi, ti = xr * wi + xi * wr;
				re[i + k + len / 2] = re[i + k] - tr;
				im[i + k + len / 2] = im[i + k] - ti;
				re[i + k] += tr;
				im[i + k] += ti;
			}
	}
}

static void power(const int16_t *p, unsigned ch, unsigned c, unsigned n, double *out)
{
	static double re[FFT_N], im[FFT_N];
	for (unsigned i = 0; i < n; i++) {
		double w = 0.5 - 0.5 * cos(2 * M_PI * i / (n - 1));
		re[i] = w * p[(size_t)i * ch + c];
		im[i] = 0;
	}
	fft(re, im, n);
	for (unsigned k = 0; k <= n / 2; k++)
		out[k] = re[k] * re[k] + im[k] * im[k] + 1e-3;
}

struct metrics {
	double corr, snr, segsnr, lsd;
};

static void compare(const struct audio *a, const struct audio *b, unsigned c, struct metrics *m)
{
	size_t n = ES_MIN(a->frames, b->frames);
	double sab = 0, saa = 0, sbb = 0, see = 0, seg = 0, lsd = 0;
	unsigned nseg = 0, nlsd = 0;
	size_t sl = a->rate / 50;
	unsigned fn = a->rate >= 16000 ? 512 : 256;
	static double pa[FFT_N / 2 + 1], pb[FFT_N / 2 + 1];

	for (size_t i = 0; i < n; i++) {
		double x = a->pcm[i * a->ch + c], y = b->pcm[i * b->ch + c];
		sab += x * y;
		saa += x * x;
		sbb += y * y;
		see += (x - y) * (x - y);
	}
	for (size_t s = 0; s + sl <= n; s += sl) {
		double es = 0, ee = 0;
		for (size_t i = s; i < s + sl; i++) {
			double x = a->pcm[i * a->ch + c], y = b->pcm[i * b->ch + c];
			es += x * x;
			ee += (x - y) * (x - y);
		}
		if (es / (double)sl < 100.0 * 100.0) /* below -50 dBFS: a pause */
			continue;
		double d = 10 * log10(es / (ee + 1e-9));
		seg += d < -10 ? -10 : d > 35 ? 35 : d;
		nseg++;
	}
	for (size_t s = 0; s + fn <= n; s += fn / 2) {
		double es = 0;
		for (size_t i = s; i < s + fn; i++)
			es += (double)a->pcm[i * a->ch + c] * a->pcm[i * a->ch + c];
		if (es / fn < 100.0 * 100.0)
			continue;
		power(a->pcm + s * a->ch, a->ch, c, fn, pa);
		power(b->pcm + s * b->ch, b->ch, c, fn, pb);
		double d2 = 0;
		for (unsigned k = 1; k < fn / 2; k++) {
			double d = 10 * log10(pa[k] / pb[k]);
			d2 += d * d;
		}
		lsd += sqrt(d2 / (fn / 2 - 1));
		nlsd++;
	}
	m->corr = saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 0;
	m->snr = 10 * log10(saa / (see + 1e-9));
	m->segsnr = nseg ? seg / nseg : 0;
	m->lsd = nlsd ? lsd / nlsd : 0;
}

int main(int argc, char **argv)
{
	const char *in = NULL, *tmp = "/tmp";
	int bitrate = 0, repeat = 3;
	struct audio src, dec;
	char path[512], err[256];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--bitrate") && i + 1 < argc)
			bitrate = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			repeat = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--tmp") && i + 1 < argc)
			tmp = argv[++i];
		else if (argv[i][0] != '-' && !in)
			in = argv[i];
		else {
			fprintf(stderr, "usage: opus_cx IN.wav [--bitrate BPS] [--repeat N] [--tmp DIR]\n");
			return 2;
		}
	}
	if (!in || load(in, &src))
		return in ? 1 : 2;
	snprintf(path, sizeof(path), "%s/opus_cx.%d.opus", tmp, (int)getpid());
	double secs = (double)src.frames / src.rate;
	printf("%s: %.1f s, %u Hz, %u channel(s), %d bit/s, best of %d\n", in, secs, src.rate,
	       src.ch, bitrate ? bitrate : 16000 * (int)src.ch, repeat);
	printf("%-10s %10s %8s %8s %8s %8s %8s\n", "complexity", "x RT/core", "kbit/s", "corr",
	       "SNR dB", "segSNR", "LSD dB");
	for (int cx = 0; cx <= 10; cx++) {
		struct media_writer_opts o = {bitrate, cx, NULL};
		double best = 1e9;
		uint64_t bytes = 0;
		for (int r = 0; r < repeat; r++) {
			struct media_writer *w;
			double t0 = cpu_now();
			if (media_writer_open(&w, path, MEDIA_OPUS, src.rate, src.ch, &o, err,
					      sizeof(err)) ||
			    media_writer_write(w, src.pcm, src.frames) ||
			    media_writer_close(w, &bytes, err, sizeof(err))) {
				fprintf(stderr, "opus_cx: %s\n", err);
				return 1;
			}
			best = ES_MIN(best, cpu_now() - t0);
		}
		if (load(path, &dec))
			return 1;
		struct metrics sum = {0}, m;
		for (unsigned c = 0; c < src.ch; c++) {
			compare(&src, &dec, c, &m);
			sum.corr += m.corr / src.ch;
			sum.snr += m.snr / src.ch;
			sum.segsnr += m.segsnr / src.ch;
			sum.lsd += m.lsd / src.ch;
		}
		printf("%-10d %10.0f %8.1f %8.4f %8.2f %8.2f %8.2f\n", cx, secs / best,
		       (double)bytes * 8 / secs / 1000, sum.corr, sum.snr, sum.segsnr, sum.lsd);
		free(dec.pcm);
	}
	unlink(path);
	free(src.pcm);
	return 0;
}
