/*
 * convert.c - export: read a recording with a reader and stream it into a
 * writer of another format, optionally mixed down to mono.
 */
#include "media/io_internal.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Stereo to mono in place: (L+R)/2 computed in 32 bits, cannot overflow. */
static void mix_down(int16_t *pcm, size_t frames)
{
	for (size_t i = 0; i < frames; i++)
		pcm[i] = (int16_t)(((int32_t)pcm[2 * i] + pcm[2 * i + 1]) / 2);
}

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

int media_convert(const char *in_path, const char *out_path, enum media_format fmt, bool mix,
		  const struct media_writer_opts *o, char *err, size_t errlen)
{
	struct media_reader *r = NULL;
	struct media_writer *w = NULL;
	int16_t *pcm = NULL;
	int rc;

	if (same_file(in_path, out_path)) {
		mio_err(err, errlen, "%s: cannot convert a file onto itself", out_path);
		return ES_EINVAL;
	}
	rc = media_reader_open(&r, in_path, err, errlen);
	if (rc)
		return rc;
	unsigned ch = media_reader_channels(r);
	unsigned out_ch = mix ? 1 : ch;
	pcm = malloc((size_t)MIO_CHUNK_FRAMES * ch * sizeof(*pcm));
	if (!pcm) {
		mio_err(err, errlen, "%s: out of memory", in_path);
		rc = ES_ENOMEM;
		goto out;
	}
	rc = media_writer_open(&w, out_path, fmt, media_reader_rate(r), out_ch, o, err, errlen);
	if (rc)
		goto out;
	for (;;) {
		long n = media_reader_read(r, pcm, MIO_CHUNK_FRAMES);
		if (n < 0) {
			rc = (int)n;
			mio_err(err, errlen, "%s: damaged %s file: %s", in_path,
				media_format_name(media_reader_format(r)), es_strerror(rc));
			goto out;
		}
		if (!n)
			break;
		if (ch == 2 && mix)
			mix_down(pcm, (size_t)n);
		rc = media_writer_write(w, pcm, (size_t)n);
		if (rc) {
			/* close names the file and the cause (errno or encoder). */
			if (media_writer_close(w, NULL, err, errlen) == 0)
				mio_err(err, errlen, "%s: %s", out_path, es_strerror(rc));
			w = NULL;
			unlink(out_path);
			goto out;
		}
	}
	rc = media_writer_close(w, NULL, err, errlen);
	w = NULL;
	if (rc)
		unlink(out_path);
out:
	if (w)
		media_writer_abort(w);
	media_reader_close(r);
	free(pcm);
	return rc;
}
