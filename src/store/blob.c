/* blob.c - what both blob engines share: opening one, the s3:// URL, the
 * credentials file, key rules, and the one XML reading S3's replies need. */
#include "store/blob_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int st_blob_open(struct st_blob *b, const struct st_blob_ops *ops, const struct st_blob_conf *c,
		 char *err, size_t errlen)
{
	b->ops = ops;
	b->state = NULL;
	int rc = ops->open(&b->state, c, err, errlen);
	if (rc)
		b->ops = NULL;
	return rc;
}

void st_blob_close(struct st_blob *b)
{
	if (b && b->ops)
		b->ops->close(b->state);
	if (b) {
		b->ops = NULL;
		b->state = NULL;
	}
}

bool st_blob_key_ok(const char *key)
{
	size_t n = strlen(key);
	if (!n || n >= ST_BLOB_KEY_MAX || key[0] == '/' || strstr(key, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = key[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '_' || ch == '~' || ch == '/' || ch == '-'))
			return false;
	}
	return true;
}

/* Bucket names: 3-63 of [a-z0-9.-] (the S3 rules, simplified). */
static bool bucket_ok(const char *b, size_t n)
{
	if (n < 3 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') || b[i] == '.' ||
		      b[i] == '-'))
			return false;
	return true;
}

int st_blob_parse_url(const char *url, struct st_blob_conf *c, char *err, size_t errlen)
{
	if (strncmp(url, "s3://", 5))
		return es_errf(err, errlen, ES_EPARSE, "'%s' is not an s3://bucket/prefix URL", url);
	const char *b = url + 5, *slash = strchr(b, '/');
	size_t bn = slash ? (size_t)(slash - b) : strlen(b);
	if (!bucket_ok(b, bn))
		return es_errf(err, errlen, ES_EPARSE,
			       "'%s': the bucket name must be 3-63 of a-z 0-9 . -", url);
	memcpy(c->bucket, b, bn);
	c->bucket[bn] = 0;
	c->prefix[0] = 0;
	if (slash && slash[1]) {
		const char *p = slash + 1;
		size_t pn = strlen(p);
		while (pn && p[pn - 1] == '/')
			pn--;
		char tmp[ST_BLOB_FIELD_MAX - 1];
		if (pn + 2 > sizeof(tmp))
			return es_errf(err, errlen, ES_EPARSE, "'%s': the prefix is too long", url);
		memcpy(tmp, p, pn);
		tmp[pn] = 0;
		if (pn && !st_blob_key_ok(tmp))
			return es_errf(err, errlen, ES_EPARSE,
				       "'%s': the prefix may hold only A-Z a-z 0-9 . _ ~ / -", url);
		if (pn)
			snprintf(c->prefix, sizeof(c->prefix), "%s/", tmp);
	}
	return 0;
}

/* One "name = value" line's value into dst when name matches. */
static void cred_line(char *line, const char *name, char *dst, size_t cap)
{
	size_t n = strlen(name);
	char *p = line;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncmp(p, name, n))
		return;
	p += n;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '=')
		return;
	p++;
	while (*p == ' ' || *p == '\t')
		p++;
	size_t l = strcspn(p, "\r\n");
	while (l && (p[l - 1] == ' ' || p[l - 1] == '\t'))
		l--;
	if (l < cap) {
		memcpy(dst, p, l);
		dst[l] = 0;
	}
}

int st_blob_read_credentials(const char *path, struct st_blob_conf *c, char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st))
		return es_errf(err, errlen, errno == ENOENT ? ES_ENOTFOUND : ES_EIO,
			       "credentials file %s: %s", path, strerror(errno));
	/* a secret others may read is not a secret */
	if (st.st_mode & 077)
		return es_errf(err, errlen, ES_EINVAL,
			       "credentials file %s: mode %03o lets group or other in; chmod 600 it",
			       path, (unsigned)(st.st_mode & 0777));
	FILE *f = fopen(path, "r");
	if (!f)
		return es_errf(err, errlen, ES_EIO, "credentials file %s: %s", path,
			       strerror(errno));
	char line[1024];
	while (fgets(line, sizeof(line), f)) {
		cred_line(line, "access_key", c->access_key, sizeof(c->access_key));
		cred_line(line, "secret_key", c->secret_key, sizeof(c->secret_key));
		cred_line(line, "aws_access_key_id", c->access_key, sizeof(c->access_key));
		cred_line(line, "aws_secret_access_key", c->secret_key, sizeof(c->secret_key));
	}
	fclose(f);
	if (!c->access_key[0] || !c->secret_key[0])
		return es_errf(err, errlen, ES_EPARSE,
			       "credentials file %s: needs access_key and secret_key", path);
	return 0;
}

bool st_blob_xml_text(const char *xml, size_t len, const char *tag, char *out, size_t cap)
{
	char open[80], close[80];
	if (cap)
		out[0] = 0;
	int on = snprintf(open, sizeof(open), "<%s>", tag);
	int cn = snprintf(close, sizeof(close), "</%s>", tag);
	if (on <= 0 || cn <= 0 || (size_t)on >= sizeof(open) || (size_t)cn >= sizeof(close))
		return false;
	struct slice s = sl_make(xml, len);
	long a = sl_find(s, sl_make(open, (size_t)on));
	if (a < 0)
		return false;
	struct slice rest = sl_sub(s, (size_t)a + (size_t)on, len);
	long b = sl_find(rest, sl_make(close, (size_t)cn));
	if (b < 0)
		return false;
	if (cap)
		sl_copy(out, cap, sl_sub(rest, 0, (size_t)b));
	return true;
}

/* ---- a verified download into a file ------------------------------------------- */

int st_blob_sync_dir(const char *path)
{
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	else
		snprintf(dir, sizeof(dir), ".");
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ES_EIO;
	int rc = fsync(fd) ? ES_EIO : 0;
	close(fd);
	return rc;
}

int st_blob_sink_open(struct st_blob_sink *s, const char *dst, char *err, size_t errlen)
{
	s->fd = -1;
	s->n = 0;
	if (strlen(dst) >= sizeof(s->dst))
		return es_errf(err, errlen, ES_ELIMIT, "%s: path too long", dst);
	snprintf(s->dst, sizeof(s->dst), "%s", dst);
	/* a name of its own: two fetches of one object at once (two listeners
	 * of one archived call on a web node) must not write into one file,
	 * where the second's truncation leaves zeros in the first's copy */
	snprintf(s->tmp, sizeof(s->tmp), "%s.XXXXXX.part", dst);
	if (es_mkdirs(dst, false))
		return es_errf(err, errlen, ES_EIO, "%s: cannot create its folder: %s", dst,
			       strerror(errno));
	s->fd = mkostemps(s->tmp, 5, O_CLOEXEC);
	if (s->fd < 0 || fchmod(s->fd, 0640)) {
		int e = errno;
		if (s->fd >= 0) {
			close(s->fd);
			unlink(s->tmp);
			s->fd = -1;
		}
		return es_errf(err, errlen, ES_EIO, "%s: %s", s->tmp, strerror(e));
	}
	crypto_hash_sha256_init(&s->h);
	return 0;
}

int st_blob_sink_write(struct st_blob_sink *s, const void *p, size_t n)
{
	crypto_hash_sha256_update(&s->h, p, n);
	s->n += n;
	return es_write_all(s->fd, p, n);
}

void st_blob_sink_abort(struct st_blob_sink *s)
{
	if (s->fd >= 0) {
		close(s->fd);
		unlink(s->tmp);
	}
	s->fd = -1;
}

int st_blob_sink_finish(struct st_blob_sink *s, const char *want_hex, char *got_hex, char *err,
			size_t errlen)
{
	uint8_t md[crypto_hash_sha256_BYTES];
	char hex[65];
	crypto_hash_sha256_final(&s->h, md);
	sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
	if (got_hex)
		memcpy(got_hex, hex, 65);
	if (want_hex && strcmp(hex, want_hex)) {
		st_blob_sink_abort(s);
		return es_errf(err, errlen, ES_ECRYPTO,
			       "%s: the stored bytes hash to %.16s..., not %.16s... as recorded",
			       s->dst, hex, want_hex);
	}
	if (fsync(s->fd)) {
		int e = errno;
		st_blob_sink_abort(s);
		return es_errf(err, errlen, ES_EIO, "%s: fsync: %s", s->tmp, strerror(e));
	}
	close(s->fd);
	s->fd = -1;
	if (rename(s->tmp, s->dst)) {
		int e = errno;
		unlink(s->tmp);
		return es_errf(err, errlen, ES_EIO, "%s: rename: %s", s->dst, strerror(e));
	}
	st_blob_sync_dir(s->dst);
	return 0;
}
