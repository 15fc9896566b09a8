/*
 * export.c - a stored recording in the format asked for, into a file
 * descriptor the caller made (the API's memfd: nothing of the plaintext
 * touches the disk).  The same steps as `earshot export` (cli/export.c):
 * the stored file checked against its SHA-256 and decrypted (plain.c),
 * then copied when the format is the stored one, else converted
 * (media_convert) or encoded as MP3 (media_mp3_encode).
 */
#include "record/record_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int rec_recording_export_fd(const char *data_dir, struct st_vault *vault,
			    const struct idx_recording *rec, const char *fmt, int out_fd, char *err,
			    size_t errlen)
{
	enum media_format want = MEDIA_WAV, stored;
	bool mp3 = !strcmp(fmt, "mp3");
	if (!mp3 && media_format_parse(fmt, &want))
		return es_errf(err, errlen, ES_EINVAL, "unknown format '%s'", fmt);
	if (media_format_parse(rec->format ? rec->format : "", &stored))
		return es_errf(err, errlen, ES_EFORMAT, "recording %s has an unknown format '%s'",
			       rec->path, rec->format ? rec->format : "");
	char file[4200];
	rec_recording_path(data_dir, rec, file, sizeof(file));
	if (!mp3 && want == stored)
		return rec_plain_into(vault, file, rec->path, rec->sha256, rec->encrypted, out_fd,
				      "not exported", err, errlen);
	int pfd = memfd_create("earshot-export", MFD_CLOEXEC);
	if (pfd < 0)
		return es_errf(err, errlen, ES_EIO, "memory file: %s", strerror(errno));
	int rc = rec_plain_into(vault, file, rec->path, rec->sha256, rec->encrypted, pfd,
				"not exported", err, errlen);
	/* the media layer takes paths: the two memory files by /proc */
	char in[64], out[64];
	snprintf(in, sizeof(in), "/proc/self/fd/%d", pfd);
	snprintf(out, sizeof(out), "/proc/self/fd/%d", out_fd);
	struct media_writer_opts wo = {.opus_complexity = -1};
	if (!rc)
		rc = mp3 ? media_mp3_encode(in, out, 0, err, errlen)
			 : media_convert(in, out, want, false, &wo, err, errlen);
	close(pfd);
	return rc;
}
