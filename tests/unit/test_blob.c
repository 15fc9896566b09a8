/* test_blob.c - the blob interface's shared parts (s3:// URLs, keys,
 * credentials files, S3 reply text) and the folder engine through the
 * interface: put, a verified get, ranges, size, remove, and a get whose
 * bytes are not the ones recorded.  The S3 engine runs the same operations
 * against a real Swift server in tests/integration/test_s3.py. */
#include "check.h"
#include "store/blob.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void test_parsers(void)
{
	struct st_blob_conf c;
	char err[256];
	memset(&c, 0, sizeof(c));
	CHECK_INT(st_blob_parse_url("s3://rec-1/site/a/", &c, err, sizeof(err)), 0);
	CHECK_STR(c.bucket, "rec-1");
	CHECK_STR(c.prefix, "site/a/");
	CHECK_INT(st_blob_parse_url("s3://rec", &c, err, sizeof(err)), 0);
	CHECK_STR(c.prefix, "");
	CHECK_INT(st_blob_parse_url("s3://Rec/x", &c, err, sizeof(err)), ES_EPARSE);
	CHECK_INT(st_blob_parse_url("http://rec/x", &c, err, sizeof(err)), ES_EPARSE);
	CHECK_INT(st_blob_parse_url("s3://rec/../x", &c, err, sizeof(err)), ES_EPARSE);
	CHECK(st_blob_key_ok("recordings/2026/12/07/1.opus.enc"));
	CHECK(!st_blob_key_ok("/abs"));
	CHECK(!st_blob_key_ok("a/../b"));
	CHECK(!st_blob_key_ok("a b"));
	CHECK(!st_blob_key_ok(""));

	char out[64];
	const char *x = "<Error><Code>SignatureDoesNotMatch</Code></Error>";
	CHECK(st_blob_xml_text(x, strlen(x), "Code", out, sizeof(out)));
	CHECK_STR(out, "SignatureDoesNotMatch");
	CHECK(!st_blob_xml_text(x, strlen(x), "UploadId", out, sizeof(out)));
	/* an unterminated element is absent, and nothing past len is read */
	CHECK(!st_blob_xml_text(x, 20, "Code", out, sizeof(out)));

	char cred[128];
	snprintf(cred, sizeof(cred), "%s/cred", dir);
	write_file(cred, "[default]\naws_access_key_id = AK\naws_secret_access_key = s e\n", 0600);
	memset(&c, 0, sizeof(c));
	CHECK_INT(st_blob_read_credentials(cred, &c, err, sizeof(err)), 0);
	CHECK_STR(c.access_key, "AK");
	CHECK_STR(c.secret_key, "s e");
	chmod(cred, 0644);
	CHECK_INT(st_blob_read_credentials(cred, &c, err, sizeof(err)), ES_EINVAL);
	CHECK(strstr(err, "chmod 600") != NULL);
	CHECK(strstr(err, "s e") == NULL); /* never the secret */
}

static void test_fs(void)
{
	struct st_blob_conf c;
	memset(&c, 0, sizeof(c));
	snprintf(c.root, sizeof(c.root), "%s/root", dir);
	struct st_blob b;
	char err[512], src[128], dst[128], hex[65];
	CHECK_INT(st_blob_open(&b, &st_blob_fs, &c, err, sizeof(err)), 0);
	CHECK_STR(b.ops->name, "fs");
	snprintf(src, sizeof(src), "%s/src", dir);
	write_file(src, "0123456789abcdef", 0640);
	uint8_t md[32];
	crypto_hash_sha256(md, (const uint8_t *)"0123456789abcdef", 16);
	sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
	struct st_blob_put_info info;
	CHECK_INT(b.ops->put_file(b.state, "r/2026/a.enc", src, hex, &info, err, sizeof(err)), 0);
	CHECK_INT((int)info.size, 16);
	uint64_t n = 0;
	CHECK_INT(b.ops->size(b.state, "r/2026/a.enc", &n, err, sizeof(err)), 0);
	CHECK_INT((int)n, 16);
	struct es_buf out;
	es_buf_init(&out);
	CHECK_INT(b.ops->get_range(b.state, "r/2026/a.enc", 4, 6, &out, err, sizeof(err)), 0);
	CHECK_INT((int)out.len, 6);
	CHECK(!memcmp(out.p, "456789", 6));
	out.len = 0;
	CHECK_INT(b.ops->get_range(b.state, "r/2026/a.enc", 12, 100, &out, err, sizeof(err)), 0);
	CHECK_INT((int)out.len, 4); /* fewer at the end */
	es_buf_free(&out);
	snprintf(dst, sizeof(dst), "%s/copy", dir);
	CHECK_INT(b.ops->get_file(b.state, "r/2026/a.enc", dst, hex, err, sizeof(err)), 0);
	struct stat st;
	CHECK_INT(stat(dst, &st), 0);
	/* bytes that are not the recorded ones: refused, no file left */
	unlink(dst);
	char wrong[65];
	memcpy(wrong, hex, 65);
	wrong[0] = wrong[0] == '0' ? '1' : '0';
	CHECK_INT(b.ops->get_file(b.state, "r/2026/a.enc", dst, wrong, err, sizeof(err)),
		  ES_ECRYPTO);
	CHECK(stat(dst, &st) != 0);
	CHECK_INT(b.ops->get_file(b.state, "../x", dst, NULL, err, sizeof(err)), ES_EINVAL);
	CHECK_INT(b.ops->legal_hold(b.state, "r/2026/a.enc", true, err, sizeof(err)), ES_EUNSUP);
	CHECK_INT(b.ops->remove(b.state, "r/2026/a.enc", err, sizeof(err)), 0);
	CHECK_INT(b.ops->remove(b.state, "r/2026/a.enc", err, sizeof(err)), ES_ENOTFOUND);
	CHECK_INT(b.ops->size(b.state, "r/2026/a.enc", &n, err, sizeof(err)), ES_ENOTFOUND);
	st_blob_close(&b);
}

static void test_s3_needs(void)
{
	struct st_blob_conf c;
	memset(&c, 0, sizeof(c));
	struct st_blob b;
	char err[512];
	snprintf(c.endpoint, sizeof(c.endpoint), "http://127.0.0.1:9");
	snprintf(c.bucket, sizeof(c.bucket), "rec");
	c.path_style = true;
	CHECK_INT(st_blob_open(&b, &st_blob_s3, &c, err, sizeof(err)), ES_EINVAL);
	CHECK(strstr(err, "no credentials") != NULL);
	/* a server that is not there: retried, then an error naming it (and
	 * not the secret) */
	snprintf(c.access_key, sizeof(c.access_key), "ak");
	snprintf(c.secret_key, sizeof(c.secret_key), "SeCrEt123");
	c.retries = 1;
	c.backoff_us = 1000;
	CHECK_INT(st_blob_open(&b, &st_blob_s3, &c, err, sizeof(err)), 0);
	uint64_t n;
	CHECK_INT(b.ops->size(b.state, "k", &n, err, sizeof(err)), ES_EIO);
	CHECK(strstr(err, "http://127.0.0.1:9 bucket rec") != NULL);
	CHECK(strstr(err, "2 tries") != NULL);
	CHECK(strstr(err, "SeCrEt123") == NULL);
	st_blob_close(&b);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	snprintf(dir, sizeof(dir), "/tmp/earshot-blob-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	RUN(test_parsers);
	RUN(test_fs);
	RUN(test_s3_needs);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return CHECK_DONE();
}
