/*
 * export.c - a stored recording in the format asked for, into a file
 * descriptor the caller made (the API's memfd: nothing of the plaintext
 * touches the disk).  The same steps as `earshot export` (cli/export.c):
 * the stored file checked against its SHA-256 and decrypted (plain.c),
 * then copied when the format is the stored one, else converted
 * (media_convert) or encoded as MP3 (media_mp3_encode).  A finished call
 * whose recording is still queued is exported from its media log the same
 * way: the WAV the encoder will write (queued.c), then converted.
 */
#include "record/record_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* What plain (a memory file holding a WAV or the stored format) holds, into
 * out_fd as the format asked for. */
static int export_convert(int plain, bool mp3, enum media_format want, int out_fd, char *err,
			  size_t errlen)
{
	/* the media layer takes paths: the two memory files by /proc */
	char in[64], out[64];
	snprintf(in, sizeof(in), "/proc/self/fd/%d", plain);
	snprintf(out, sizeof(out), "/proc/self/fd/%d", out_fd);
	struct media_writer_opts wo = {.opus_complexity = -1};
	return mp3 ? media_mp3_encode(in, out, 0, err, errlen)
		   : media_convert(in, out, want, false, &wo, err, errlen);
}

static int export_format(const char *fmt, bool *mp3, enum media_format *want, char *err,
			 size_t errlen)
{
	*want = MEDIA_WAV;
	*mp3 = !strcmp(fmt, "mp3");
	if (!*mp3 && media_format_parse(fmt, want))
		return es_errf(err, errlen, ES_EINVAL, "unknown format '%s'", fmt);
	return 0;
}

int rec_recording_export_fd(const char *data_dir, struct st_vault *vault,
			    const struct idx_recording *rec, const char *fmt, int out_fd, char *err,
			    size_t errlen)
{
	enum media_format want, stored;
	bool mp3;
	if (export_format(fmt, &mp3, &want, err, errlen))
		return ES_EINVAL;
	if (media_format_parse(rec->format ? rec->format : "", &stored))
		return es_errf(err, errlen, ES_EFORMAT, "recording %s has an unknown format '%s'",
			       rec->path, rec->format ? rec->format : "");
	if (!mp3 && want == stored)
		return rec_plain_into(data_dir, vault, rec->path, rec->sha256, rec->encrypted, out_fd,
				      "not exported", err, errlen);
	int pfd = memfd_create("earshot-export", MFD_CLOEXEC);
	if (pfd < 0)
		return es_errf(err, errlen, ES_EIO, "memory file: %s", strerror(errno));
	int rc = rec_plain_into(data_dir, vault, rec->path, rec->sha256, rec->encrypted, pfd,
				"not exported", err, errlen);
	if (!rc)
		rc = export_convert(pfd, mp3, want, out_fd, err, errlen);
	close(pfd);
	return rc;
}

int rec_queued_export_fd(const char *data_dir, struct st_vault *vault, const char *call_id,
			 int64_t start_us, int64_t end_us, const char *fmt, int out_fd, char *err,
			 size_t errlen)
{
	enum media_format want;
	bool mp3;
	if (export_format(fmt, &mp3, &want, err, errlen))
		return ES_EINVAL;
	/* the WAV the encoder will write (queued.c), then as for a recording */
	struct es_buf wav;
	es_buf_init(&wav);
	struct render_result res;
	int rc = rec_queued_render(data_dir, vault, call_id, start_us, end_us, &wav, &res, err,
				   errlen);
	int pfd = -1;
	if (!rc && !mp3 && want == MEDIA_WAV) {
		rc = es_write_all(out_fd, wav.p, wav.len) ?
			     es_errf(err, errlen, ES_EIO, "memory file: %s", strerror(errno)) : 0;
	} else if (!rc) {
		pfd = memfd_create("earshot-export", MFD_CLOEXEC);
		if (pfd < 0 || es_write_all(pfd, wav.p, wav.len))
			rc = es_errf(err, errlen, ES_EIO, "memory file: %s", strerror(errno));
		if (!rc)
			rc = export_convert(pfd, mp3, want, out_fd, err, errlen);
	}
	if (pfd >= 0)
		close(pfd);
	es_buf_free(&wav);
	return rc;
}
