/* wav.c - 16-bit PCM WAV files and resampling (speexdsp) for the bench tools.
 * #included by bench/gen_calls.c (see gen.h) and bench/audio_cmp.c; needs
 * <stdint.h>, <stdio.h>, <stdlib.h>, <string.h> before it. */

#include <speex/speex_resampler.h>

/* A WAV file's samples, interleaved. */
struct wav {
	uint32_t rate;
	uint16_t channels;
	size_t frames;
	int16_t *pcm; /* frames * channels, owned */
};

static uint32_t wav_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t wav_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* Reads a RIFF/WAVE file of 16-bit PCM (format 1, or WAVE_FORMAT_EXTENSIBLE
 * with the PCM subformat).  0 or -1 with a message in err. */
static int wav_read(const char *path, struct wav *w, char *err, size_t errlen)
{
	memset(w, 0, sizeof(*w));
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	uint8_t h[12], ch[8], fmt[40];
	bool have_fmt = false;
	int rc = -1;
	if (fread(h, 1, 12, f) != 12 || memcmp(h, "RIFF", 4) || memcmp(h + 8, "WAVE", 4)) {
		snprintf(err, errlen, "%s: not a RIFF/WAVE file", path);
		goto out;
	}
	for (;;) {
		if (fread(ch, 1, 8, f) != 8) {
			snprintf(err, errlen, "%s: no data chunk", path);
			goto out;
		}
		uint32_t n = wav_le32(ch + 4);
		if (!memcmp(ch, "fmt ", 4)) {
			if (n < 16 || n > sizeof(fmt) || fread(fmt, 1, n, f) != n) {
				snprintf(err, errlen, "%s: bad fmt chunk", path);
				goto out;
			}
			uint16_t tag = wav_le16(fmt);
			if (tag == 0xfffe && n >= 26)
				tag = wav_le16(fmt + 24); /* the subformat GUID starts with it */
			w->channels = wav_le16(fmt + 2);
			w->rate = wav_le32(fmt + 4);
			if (tag != 1 || wav_le16(fmt + 14) != 16 || w->channels == 0 || w->rate < 1000 ||
			    w->rate > 384000) {
				snprintf(err, errlen, "%s: not 16-bit PCM", path);
				goto out;
			}
			have_fmt = true;
			if (n & 1)
				fseek(f, 1, SEEK_CUR);
			continue;
		}
		if (memcmp(ch, "data", 4)) {
			if (fseek(f, (long)n + (n & 1), SEEK_CUR)) {
				snprintf(err, errlen, "%s: truncated", path);
				goto out;
			}
			continue;
		}
		if (!have_fmt) {
			snprintf(err, errlen, "%s: data before fmt", path);
			goto out;
		}
		/* the size may be a placeholder (streamed writers): read to the end */
		size_t cap = n && n != UINT32_MAX ? n : 1 << 20, len = 0;
		uint8_t *buf = malloc(cap);
		for (;;) {
			if (!buf) {
				snprintf(err, errlen, "%s: out of memory", path);
				goto out;
			}
			len += fread(buf + len, 1, cap - len, f);
			if (len < cap || (n && n != UINT32_MAX))
				break;
			uint8_t *nb = realloc(buf, cap * 2);
			if (!nb)
				free(buf);
			buf = nb;
			cap *= 2;
		}
		w->frames = len / 2 / w->channels;
		w->pcm = malloc(w->frames * w->channels * 2 + 2);
		if (!w->pcm) {
			free(buf);
			snprintf(err, errlen, "%s: out of memory", path);
			goto out;
		}
		for (size_t i = 0; i < w->frames * w->channels; i++)
			w->pcm[i] = (int16_t)wav_le16(buf + 2 * i);
		free(buf);
		rc = 0;
		goto out;
	}
out:
	fclose(f);
	return rc;
}

static void wav_free(struct wav *w)
{
	free(w->pcm);
	w->pcm = NULL;
}

/* Resamples n samples from `from` Hz to `to` Hz with speexdsp; the output is
 * aligned with the input (the filter delay is removed) and has
 * n * to / from samples.  Returns a new buffer, NULL on failure. */
static int16_t *wav_resample(const int16_t *in, size_t n, uint32_t from, uint32_t to,
			     int quality, size_t *out_n)
{
	size_t want = (size_t)((uint64_t)n * to / from);
	int16_t *out = malloc(want * 2 + 2);
	int err = 0;
	SpeexResamplerState *st = speex_resampler_init(1, from, to, quality, &err);
	if (!out || !st) {
		free(out);
		if (st)
			speex_resampler_destroy(st);
		return NULL;
	}
	speex_resampler_skip_zeros(st);
	static const int16_t zeros[1024];
	size_t ip = 0, op = 0;
	int idle = 0;
	while (op < want && idle < 64) {
		const int16_t *src = ip < n ? in + ip : zeros;
		spx_uint32_t il = (spx_uint32_t)ES_MIN(ip < n ? n - ip : 1024, (size_t)1 << 20);
		spx_uint32_t ol = (spx_uint32_t)ES_MIN(want - op, (size_t)1 << 20);
		speex_resampler_process_int(st, 0, src, &il, out + op, &ol);
		if (ip < n)
			ip += il;
		else
			idle++;
		op += ol;
	}
	speex_resampler_destroy(st);
	while (op < want)
		out[op++] = 0;
	*out_n = want;
	return out;
}

/* Writes n mono samples as a 16-bit PCM WAV; 0 or -1 (errno set). */
__attribute__((unused)) static int wav_write(const char *path, const int16_t *pcm, size_t n, uint32_t rate)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	uint8_t h[44];
	uint32_t bytes = (uint32_t)(n * 2);
	static const uint8_t fmt[16] = {1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 16, 0};
	memcpy(h, "RIFF", 4);
	memcpy(h + 8, "WAVEfmt ", 8);
	memcpy(h + 20, fmt, 16);
	memcpy(h + 36, "data", 4);
	for (int i = 0; i < 4; i++) {
		h[4 + i] = (uint8_t)((36 + bytes) >> (8 * i));
		h[16 + i] = (uint8_t)(16 >> (8 * i));
		h[24 + i] = (uint8_t)(rate >> (8 * i));
		h[28 + i] = (uint8_t)((rate * 2) >> (8 * i));
		h[40 + i] = (uint8_t)(bytes >> (8 * i));
	}
	bool ok = fwrite(h, 1, 44, f) == 44;
	for (size_t i = 0; ok && i < n; i++) {
		uint8_t s[2] = {(uint8_t)pcm[i], (uint8_t)((uint16_t)pcm[i] >> 8)};
		ok = fwrite(s, 1, 2, f) == 2;
	}
	if (fclose(f) != 0)
		ok = false;
	return ok ? 0 : -1;
}
