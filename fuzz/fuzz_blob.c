/* fuzz_blob.c - libFuzzer harness for what the blob store reads from the
 * network or a file: st_blob_xml_text over an S3 reply (UploadId, Code,
 * ObjectLockEnabled, ETag; an exactly sized heap buffer so that ASan
 * catches over-reads), st_blob_parse_url and st_blob_key_ok over the input
 * as a string, and st_blob_read_credentials over it as a credentials file. */
#include "store/blob.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	static const char *const tags[] = {"UploadId", "Code", "ObjectLockEnabled", "ETag", "x"};
	char out[512];
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		if (st_blob_xml_text(buf, size, tags[i], out, sizeof(out)))
			sink += strlen(out);
	free(buf);

	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	struct st_blob_conf c;
	memset(&c, 0, sizeof(c));
	char err[256];
	if (st_blob_parse_url(s, &c, err, sizeof(err)) == 0)
		sink += strlen(c.bucket) + strlen(c.prefix) + st_blob_key_ok(c.prefix);
	sink += st_blob_key_ok(s);
	free(s);

	char path[] = "/tmp/fuzz_blob_credXXXXXX";
	int fd = mkstemp(path);
	if (fd >= 0) {
		if (write(fd, data, size) == (ssize_t)size) {
			fchmod(fd, 0600);
			memset(&c, 0, sizeof(c));
			if (st_blob_read_credentials(path, &c, err, sizeof(err)) == 0)
				sink += strlen(c.access_key) + strlen(c.secret_key);
		}
		close(fd);
		unlink(path);
	}
	return 0;
}
