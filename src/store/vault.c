/* vault.c - wrapped data keys in files beside the keyring (vault.h). */
#include "store/crypt_internal.h"
#include "store/vault.h"

#include <dirent.h>
#include <sodium.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct st_vault {
	char dir[1024];     /* DATA/keys */
	char dek_dir[1040]; /* DATA/keys/dek */
	/* kr is read under lock's read side (wrap, unwrap) and replaced under
	 * its write side (refresh, rotate): a long-running process follows a
	 * rotation made by another without a restart */
	pthread_rwlock_t lock;
	struct st_keyring *kr;
	struct st_vault_remote remote; /* get NULL: none */
};

/* Read the keyring file again if another process rotated it (or a rotated
 * copy replaced it): a stat, and a read only when it changed.  Whether the
 * keys changed. */
static bool vault_follow(struct st_vault *v)
{
	char err[512] = "";
	bool changed = false;
	pthread_rwlock_wrlock(&v->lock);
	int rc = st_kr_refresh(v->kr, &changed, err, sizeof(err));
	pthread_rwlock_unlock(&v->lock);
	if (rc)
		ES_LOG_WARNING("crypt", "%s", *err ? err : es_strerror(rc));
	return changed;
}

/* st_dek_unwrap under the read lock; a KEK it does not know (ES_ENOTFOUND)
 * may be a rotation made since the keyring was read: read it again, once,
 * and try again even when this thread found it unchanged (another thread
 * may have read the new keyring between this one's try and its look). */
static int vault_unwrap(struct st_vault *v, const char *wrapped, const char *id,
			struct st_dek **dek, char *err, size_t errlen)
{
	pthread_rwlock_rdlock(&v->lock);
	int rc = st_dek_unwrap(v->kr, wrapped, id, dek, err, errlen);
	pthread_rwlock_unlock(&v->lock);
	if (rc == ES_ENOTFOUND) {
		vault_follow(v);
		pthread_rwlock_rdlock(&v->lock);
		rc = st_dek_unwrap(v->kr, wrapped, id, dek, err, errlen);
		pthread_rwlock_unlock(&v->lock);
	}
	if (rc == ES_ENOTFOUND) {
		/* the KEK is named already; say what gives it to this node */
		size_t n = strlen(err);
		if (n < errlen)
			snprintf(err + n, errlen - n, "%s",
				 getenv(ST_KEK_ENV) && *getenv(ST_KEK_ENV)
					 ? " ($" ST_KEK_ENV " holds another KEK: restart with the "
					   "recorders' KEK)"
					 : " of this node (rotated elsewhere? put the current kek.keys "
					   "in its DATA/keys: it is read again without a restart)");
	}
	return rc;
}

/* st_dek_wrap with the current KEK, after following a rotation made by
 * another process (a stat per new key: one per recording, not per packet). */
static int vault_wrap(struct st_vault *v, const struct st_dek *d, const char *id, char *out,
		      size_t cap)
{
	vault_follow(v);
	pthread_rwlock_rdlock(&v->lock);
	int rc = st_dek_wrap(v->kr, d, id, out, cap);
	pthread_rwlock_unlock(&v->lock);
	return rc;
}

void st_vault_set_remote(struct st_vault *v, const struct st_vault_remote *r)
{
	if (r)
		v->remote = *r;
	else
		memset(&v->remote, 0, sizeof(v->remote));
}


int st_vault_open(struct st_vault **out, const char *data_dir, bool create, char *err,
		  size_t errlen)
{
	*out = NULL;
	struct st_vault *v = calloc(1, sizeof(*v));
	if (!v)
		return ES_ENOMEM;
	snprintf(v->dir, sizeof(v->dir), "%s/keys", data_dir);
	snprintf(v->dek_dir, sizeof(v->dek_dir), "%s/dek", v->dir);
	char path[1100];
	snprintf(path, sizeof(path), "%s/kek.keys", v->dir);
	struct stat st;
	bool have = getenv("EARSHOT_KEK") || stat(path, &st) == 0;
	if (!have && !create) {
		free(v);
		return es_errf(err, errlen, ES_ENOTFOUND, "%s: no keyring (nothing was encrypted here)%s",
			    path, "");
	}
	if (create && (es_mkdirs(v->dek_dir, true) || chmod(v->dir, 0700) || chmod(v->dek_dir, 0700))) {
		es_errf(err, errlen, ES_EIO, "%s: %s", v->dek_dir, strerror(errno));
		free(v);
		return ES_EIO;
	}
	int rc = st_kr_open(&v->kr, path, err, errlen);
	if (!rc && pthread_rwlock_init(&v->lock, NULL)) {
		st_kr_free(v->kr);
		rc = ES_ENOMEM;
	}
	if (rc) {
		free(v);
		return rc;
	}
	*out = v;
	return 0;
}

void st_vault_close(struct st_vault *v)
{
	if (!v)
		return;
	st_kr_free(v->kr);
	pthread_rwlock_destroy(&v->lock);
	free(v);
}

const char *st_vault_kek_id(const struct st_vault *v)
{
	return st_kr_current_id(v->kr);
}

size_t st_vault_kek_count(const struct st_vault *v)
{
	return st_kr_count(v->kr);
}

/* DATA/keys/dek/<rec_id with '/' as '~'>.dek; ES_EINVAL for an id that
 * could leave the folder. */
static int key_path(const struct st_vault *v, const char *rec_id, char *out, size_t cap)
{
	size_t n = strlen(rec_id);
	if (!n || n > 400 || rec_id[0] == '.' || strstr(rec_id, ".."))
		return ES_EINVAL;
	int k = snprintf(out, cap, "%s/", v->dek_dir);
	if (k < 0 || (size_t)k + n + 5 > cap)
		return ES_EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = rec_id[i];
		if ((unsigned char)c < 0x21 || c == 0x7f || c == '~')
			return ES_EINVAL;
		out[k++] = c == '/' ? '~' : c;
	}
	memcpy(out + k, ".dek", 5);
	return 0;
}

/* Write text to path atomically and durably (mode 0600). */
static int write_key_file(const char *path, const char *text, char *err, size_t errlen)
{
	char tmp[1200];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return es_errf(err, errlen, ES_EIO, "%s: %s", tmp, strerror(errno));
	size_t len = strlen(text);
	bool ok = write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
	int e = errno;
	close(fd);
	if (!ok || rename(tmp, path)) {
		if (ok)
			e = errno;
		unlink(tmp);
		return es_errf(err, errlen, ES_EIO, "%s: %s", path, strerror(e));
	}
	char dir[1200];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	return 0;
}

static int read_key_file(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? ES_ENOTFOUND : ES_EIO;
	size_t n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return n ? 0 : ES_EPARSE;
}

int st_vault_new_key(struct st_vault *v, const char *rec_id, struct st_dek **dek, char *err,
		     size_t errlen)
{
	*dek = NULL;
	char path[1500], wrapped[ST_WRAPPED_MAX];
	if (key_path(v, rec_id, path, sizeof(path)))
		return es_errf(err, errlen, ES_EINVAL, "recording id '%.200s' cannot name a key%s", rec_id,
			    "");
	struct st_dek *d = st_dek_new();
	if (!d)
		return ES_ENOMEM;
	int rc = vault_wrap(v, d, rec_id, wrapped, sizeof(wrapped));
	if (!rc)
		rc = write_key_file(path, wrapped, err, errlen);
	sodium_memzero(wrapped, sizeof(wrapped));
	if (rc) {
		st_dek_free(d);
		return rc;
	}
	*dek = d;
	return 0;
}

int st_vault_key(struct st_vault *v, const char *rec_id, struct st_dek **dek, char *err,
		 size_t errlen)
{
	*dek = NULL;
	char path[1500], wrapped[ST_WRAPPED_MAX + 8];
	if (key_path(v, rec_id, path, sizeof(path)))
		return ES_EINVAL;
	int rc = read_key_file(path, wrapped, sizeof(wrapped));
	/* not in this folder: another node's recording, its key in the index */
	if (rc == ES_ENOTFOUND && v->remote.get) {
		rc = v->remote.get(v->remote.ud, rec_id, wrapped, sizeof(wrapped));
		if (rc && rc != ES_ENOTFOUND)
			return es_errf(err, errlen, rc,
				       "%s: its data key cannot be read from the index: %s", rec_id,
				       es_strerror(rc));
	}
	if (rc == ES_ENOTFOUND)
		return es_errf(err, errlen, ES_ENOTFOUND, "%s: no data key (shredded or never encrypted)%s",
			    rec_id, "");
	if (rc)
		return es_errf(err, errlen, rc, "%s: cannot read its data key%s", rec_id, "");
	rc = vault_unwrap(v, wrapped, rec_id, dek, err, errlen);
	sodium_memzero(wrapped, sizeof(wrapped));
	/* the key is there but its KEK is not: not a shred (err names the KEK) */
	return rc == ES_ENOTFOUND ? ES_ENOKEK : rc;
}

int st_vault_wrap_new(struct st_vault *v, const char *id, uint8_t key[ST_KEY_BYTES],
		      char *wrapped, size_t cap)
{
	struct st_dek *d = st_dek_new();
	if (!d)
		return ES_ENOMEM;
	int rc = vault_wrap(v, d, id, wrapped, cap);
	if (!rc)
		memcpy(key, d->k, ST_KEY_BYTES);
	st_dek_free(d);
	return rc;
}

int st_vault_unwrap(struct st_vault *v, const char *id, const char *wrapped,
		    uint8_t key[ST_KEY_BYTES], char *err, size_t errlen)
{
	struct st_dek *d = NULL;
	int rc = vault_unwrap(v, wrapped, id, &d, err, errlen);
	if (!rc)
		memcpy(key, d->k, ST_KEY_BYTES);
	st_dek_free(d);
	return rc;
}

int st_vault_rewrap(struct st_vault *v, const char *id, const char *wrapped, char *out,
		    size_t cap, char *err, size_t errlen)
{
	vault_follow(v); /* wrap with the KEK current now */
	pthread_rwlock_rdlock(&v->lock);
	int rc = st_dek_rewrap(v->kr, wrapped, id, out, cap, err, errlen);
	pthread_rwlock_unlock(&v->lock);
	return rc;
}

bool st_vault_has_key(struct st_vault *v, const char *rec_id)
{
	char path[1500], wrapped[ST_WRAPPED_MAX + 8];
	struct stat st;
	if (key_path(v, rec_id, path, sizeof(path)))
		return false;
	if (stat(path, &st) == 0)
		return true;
	bool has = v->remote.get &&
		   v->remote.get(v->remote.ud, rec_id, wrapped, sizeof(wrapped)) == 0;
	sodium_memzero(wrapped, sizeof(wrapped));
	return has;
}

int st_vault_wrapped(struct st_vault *v, const char *rec_id, char *out, size_t cap)
{
	char path[1500];
	if (key_path(v, rec_id, path, sizeof(path)))
		return ES_EINVAL;
	return read_key_file(path, out, cap);
}

/* The recording id a key file's name stands for ('~' back to '/'). */
static bool key_file_id(const char *name, char *rec_id, size_t cap)
{
	size_t n = strlen(name);
	if (n < 5 || strcmp(name + n - 4, ".dek") != 0 || n - 4 >= cap)
		return false;
	for (size_t i = 0; i < n - 4; i++)
		rec_id[i] = name[i] == '~' ? '/' : name[i];
	rec_id[n - 4] = '\0';
	return true;
}

int st_vault_each(struct st_vault *v, st_vault_key_fn fn, void *ud)
{
	DIR *d = opendir(v->dek_dir);
	if (!d)
		return errno == ENOENT ? 0 : ES_EIO;
	struct dirent *de;
	int rc = 0;
	while (!rc && (de = readdir(d))) {
		char rec_id[512], path[1500], wrapped[ST_WRAPPED_MAX + 8];
		if (!key_file_id(de->d_name, rec_id, sizeof(rec_id)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", v->dek_dir, de->d_name);
		if (read_key_file(path, wrapped, sizeof(wrapped)) == 0)
			rc = fn(ud, rec_id, wrapped);
		sodium_memzero(wrapped, sizeof(wrapped));
	}
	closedir(d);
	return rc;
}

/* Remove rec_id's copy in the remote (the index): *had tells whether
 * there was one. */
static int shred_remote(struct st_vault *v, const char *rec_id, bool *had, char *err,
			size_t errlen)
{
	*had = false;
	if (!v->remote.get)
		return 0;
	char wrapped[ST_WRAPPED_MAX + 8];
	int rc = v->remote.get(v->remote.ud, rec_id, wrapped, sizeof(wrapped));
	sodium_memzero(wrapped, sizeof(wrapped));
	*had = rc == 0;
	if (rc == 0 || rc == ES_ENOTFOUND)
		rc = v->remote.del(v->remote.ud, rec_id);
	if (rc)
		return es_errf(err, errlen, rc, "%s: its data key cannot be removed from the index: %s",
			       rec_id, es_strerror(rc));
	return 0;
}

int st_vault_shred(struct st_vault *v, const char *rec_id, char *err, size_t errlen)
{
	char path[1500];
	if (key_path(v, rec_id, path, sizeof(path)))
		return ES_EINVAL;
	/* the index's copy first: a failure there leaves the local key, so the
	 * shred can be repeated, rather than a key only the index still has */
	bool had_remote;
	int rrc = shred_remote(v, rec_id, &had_remote, err, errlen);
	if (rrc)
		return rrc;
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && had_remote)
		return 0;
	if (fd < 0)
		return errno == ENOENT
			       ? es_errf(err, errlen, ES_ENOTFOUND, "%s: no data key to shred%s", rec_id, "")
			       : es_errf(err, errlen, ES_EIO, "%s: %s", path, strerror(errno));
	struct stat st;
	char zeros[256] = {0};
	bool ok = fstat(fd, &st) == 0;
	for (off_t off = 0; ok && off < st.st_size; off += (off_t)sizeof(zeros))
		ok = pwrite(fd, zeros, sizeof(zeros), off) == (ssize_t)sizeof(zeros);
	ok = ok && fsync(fd) == 0;
	int e = errno;
	close(fd);
	if (!ok || unlink(path))
		return es_errf(err, errlen, ES_EIO, "%s: %s", path, strerror(ok ? errno : e));
	int dfd = open(v->dek_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int st_vault_rotate(struct st_vault *v, unsigned *rewrapped, char *err, size_t errlen)
{
	*rewrapped = 0;
	pthread_rwlock_wrlock(&v->lock);
	int rc = st_kr_rotate(v->kr, err, errlen);
	pthread_rwlock_unlock(&v->lock);
	if (rc)
		return rc;
	DIR *d = opendir(v->dek_dir);
	if (!d)
		return errno == ENOENT ? 0 : es_errf(err, errlen, ES_EIO, "%s: %s", v->dek_dir, strerror(errno));
	struct dirent *de;
	while ((de = readdir(d))) {
		char rec_id[512], path[1500], wrapped[ST_WRAPPED_MAX + 8];
		if (!key_file_id(de->d_name, rec_id, sizeof(rec_id)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", v->dek_dir, de->d_name);
		rc = read_key_file(path, wrapped, sizeof(wrapped));
		if (!rc) {
			pthread_rwlock_rdlock(&v->lock);
			rc = st_dek_rewrap(v->kr, wrapped, rec_id, wrapped, sizeof(wrapped), err, errlen);
			pthread_rwlock_unlock(&v->lock);
		}
		if (!rc)
			rc = write_key_file(path, wrapped, err, errlen);
		sodium_memzero(wrapped, sizeof(wrapped));
		if (rc) {
			closedir(d);
			return rc;
		}
		(*rewrapped)++;
	}
	closedir(d);
	return 0;
}
