/*
 * mp3.c - a recording as MP3 for people who need one (issue #18: exports):
 * any file media_reader reads (Ogg/Opus, FLAC, WAV) encoded with LAME
 * (libmp3lame), at the file's rate and channels, constant bit rate.  An
 * export format only: recordings are never stored as MP3.
 */
#include "media/media.h"

#include <lame/lame.h>
#include <stdio.h>
#include <stdlib.h>

#define MP3_FRAMES 4096

int media_mp3_encode(const char *in_path, const char *out_path, int kbps, char *err,
		     size_t errlen)
{
	struct media_reader *r = NULL;
	lame_global_flags *lf = NULL;
	FILE *out = NULL;
	int16_t *pcm = NULL;
	unsigned char *mp3 = NULL;
	/* LAME's worst case: 1.25 x samples + 7200 bytes */
	size_t mp3cap = MP3_FRAMES * 5 / 4 + 7200;
	int rc = media_reader_open(&r, in_path, err, errlen);
	if (rc)
		return rc;
	unsigned ch = media_reader_channels(r);
	if (ch < 1 || ch > 2) {
		rc = es_errf(err, errlen, ES_EUNSUP, "%s: %u channels (MP3: 1 or 2)", in_path, ch);
		goto out;
	}
	pcm = malloc(sizeof(*pcm) * MP3_FRAMES * ch);
	mp3 = malloc(mp3cap);
	lf = lame_init();
	if (!pcm || !mp3 || !lf) {
		rc = ES_ENOMEM;
		goto out;
	}
	lame_set_in_samplerate(lf, (int)media_reader_rate(r));
	lame_set_out_samplerate(lf, (int)media_reader_rate(r));
	lame_set_num_channels(lf, (int)ch);
	lame_set_mode(lf, ch == 2 ? STEREO : MONO); /* caller left, callee right: not joint */
	lame_set_brate(lf, kbps > 0 ? kbps : 32 * (int)ch);
	lame_set_VBR(lf, vbr_off);
	lame_set_write_id3tag_automatic(lf, 0);
	if (lame_init_params(lf) < 0) {
		rc = es_errf(err, errlen, ES_EUNSUP, "%s: LAME refuses %u Hz, %u channels", in_path,
			     media_reader_rate(r), ch);
		goto out;
	}
	if (!(out = fopen(out_path, "wb"))) {
		rc = es_errf(err, errlen, ES_EIO, "%s: cannot create it", out_path);
		goto out;
	}
	long n;
	while ((n = media_reader_read(r, pcm, MP3_FRAMES)) > 0) {
		int m = ch == 2 ? lame_encode_buffer_interleaved(lf, pcm, (int)n, mp3, (int)mp3cap)
				: lame_encode_buffer(lf, pcm, pcm, (int)n, mp3, (int)mp3cap);
		if (m < 0 || fwrite(mp3, 1, (size_t)m, out) != (size_t)m) {
			rc = es_errf(err, errlen, ES_EIO, "%s: encoding or writing failed", out_path);
			goto out;
		}
	}
	if (n < 0) {
		rc = es_errf(err, errlen, ES_EPARSE, "%s: cannot be read to its end", in_path);
		goto out;
	}
	int m = lame_encode_flush(lf, mp3, (int)mp3cap);
	if (m < 0 || fwrite(mp3, 1, (size_t)m, out) != (size_t)m)
		rc = es_errf(err, errlen, ES_EIO, "%s: encoding or writing failed", out_path);
out:
	if (out && fclose(out) && !rc)
		rc = es_errf(err, errlen, ES_EIO, "%s: write failed", out_path);
	if (lf)
		lame_close(lf);
	free(pcm);
	free(mp3);
	media_reader_close(r);
	return rc;
}
