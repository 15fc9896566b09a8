/* blob_fs.c - the folder blob store (the default): a key is a path under
 * the data folder, which is where recordings have always been. */
#include "store/blob_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fs_state {
	char root[4096];
};

static int fs_path(const struct fs_state *s, const char *key, char *out, size_t cap, char *err,
		   size_t errlen)
{
	if (!st_blob_key_ok(key))
		return es_errf(err, errlen, ES_EINVAL, "'%s' is not a valid blob key", key);
	int n = snprintf(out, cap, "%s/%s", s->root, key);
	if (n < 0 || (size_t)n >= cap)
		return es_errf(err, errlen, ES_ELIMIT, "%s/%s: path too long", s->root, key);
	return 0;
}

static int fs_open(void **state, const struct st_blob_conf *c, char *err, size_t errlen)
{
	if (!c->root[0])
		return es_errf(err, errlen, ES_EINVAL, "the folder store needs a folder");
	struct fs_state *s = calloc(1, sizeof(*s));
	if (!s)
		return es_errf(err, errlen, ES_ENOMEM, "out of memory");
	snprintf(s->root, sizeof(s->root), "%s", c->root);
	*state = s;
	return 0;
}

static void fs_close(void *state) { free(state); }

/* Copy src into the file dst through a verified sink. */
static int fs_copy(const char *src, const char *dst, const char *want, char *err, size_t errlen)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return es_errf(err, errlen, errno == ENOENT ? ES_ENOTFOUND : ES_EIO, "%s: %s", src,
			       strerror(errno));
	struct st_blob_sink s;
	int rc = st_blob_sink_open(&s, dst, err, errlen);
	uint8_t buf[65536];
	ssize_t n;
	while (!rc && (n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = es_errf(err, errlen, ES_EIO, "%s: %s", src, strerror(errno));
		} else if (st_blob_sink_write(&s, buf, (size_t)n)) {
			rc = es_errf(err, errlen, ES_EIO, "%s: %s", s.tmp, strerror(errno));
		}
	}
	close(in);
	if (rc) {
		st_blob_sink_abort(&s);
		return rc;
	}
	return st_blob_sink_finish(&s, want, NULL, err, errlen);
}

static int fs_put_file(void *state, const char *key, const char *path, const char *sha256_hex,
		       struct st_blob_put_info *info, char *err, size_t errlen)
{
	char dst[4200];
	int rc = fs_path(state, key, dst, sizeof(dst), err, errlen);
	if (rc)
		return rc;
	struct stat a, b;
	if (stat(path, &a))
		return es_errf(err, errlen, ES_ENOTFOUND, "%s: %s", path, strerror(errno));
	if (info)
		*info = (struct st_blob_put_info){.size = (uint64_t)a.st_size};
	/* already in its place (a recording written into the data folder) */
	if (!stat(dst, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return 0;
	return fs_copy(path, dst, sha256_hex, err, errlen);
}

static int fs_get_file(void *state, const char *key, const char *dst, const char *want,
		       char *err, size_t errlen)
{
	char src[4200];
	int rc = fs_path(state, key, src, sizeof(src), err, errlen);
	return rc ? rc : fs_copy(src, dst, want, err, errlen);
}

static int fs_get_range(void *state, const char *key, uint64_t off, uint64_t len,
			struct es_buf *out, char *err, size_t errlen)
{
	char src[4200];
	int rc = fs_path(state, key, src, sizeof(src), err, errlen);
	if (rc)
		return rc;
	int fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return es_errf(err, errlen, errno == ENOENT ? ES_ENOTFOUND : ES_EIO, "%s: %s", src,
			       strerror(errno));
	if (len > SIZE_MAX / 2 || es_buf_reserve(out, (size_t)len)) {
		close(fd);
		return es_errf(err, errlen, ES_ENOMEM, "%s: out of memory for %llu bytes", src,
			       (unsigned long long)len);
	}
	while (len) {
		ssize_t n = pread(fd, out->p + out->len, (size_t)len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = es_errf(err, errlen, ES_EIO, "%s: %s", src, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	close(fd);
	return rc;
}

static int fs_size(void *state, const char *key, uint64_t *size, char *err, size_t errlen)
{
	char p[4200];
	struct stat st;
	int rc = fs_path(state, key, p, sizeof(p), err, errlen);
	if (rc)
		return rc;
	if (stat(p, &st))
		return es_errf(err, errlen, errno == ENOENT ? ES_ENOTFOUND : ES_EIO, "%s: %s", p,
			       strerror(errno));
	*size = (uint64_t)st.st_size;
	return 0;
}

static int fs_remove(void *state, const char *key, char *err, size_t errlen)
{
	char p[4200];
	int rc = fs_path(state, key, p, sizeof(p), err, errlen);
	if (rc)
		return rc;
	if (unlink(p))
		return es_errf(err, errlen, errno == ENOENT ? ES_ENOTFOUND : ES_EIO, "%s: %s", p,
			       strerror(errno));
	st_blob_sync_dir(p);
	return 0;
}

static int fs_legal_hold(void *state, const char *key, bool on, char *err, size_t errlen)
{
	(void)state, (void)key, (void)on;
	return es_errf(err, errlen, ES_EUNSUP, "a folder has no object lock");
}

static int fs_probe_lock(void *state, char *err, size_t errlen)
{
	(void)state;
	return es_errf(err, errlen, ES_EUNSUP, "a folder has no object lock");
}

static const char *fs_describe(void *state) { return ((struct fs_state *)state)->root; }

const struct st_blob_ops st_blob_fs = {
	.name = "fs",
	.open = fs_open,
	.close = fs_close,
	.put_file = fs_put_file,
	.get_file = fs_get_file,
	.get_range = fs_get_range,
	.size = fs_size,
	.remove = fs_remove,
	.legal_hold = fs_legal_hold,
	.probe_lock = fs_probe_lock,
	.describe = fs_describe,
};
