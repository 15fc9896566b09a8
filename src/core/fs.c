/* fs.c - file system helpers. */
#include "core/core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int es_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return ES_EIO;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int es_errf(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

int es_mkdirs(const char *path, bool last)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return ES_ELIMIT;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0750) && errno != EEXIST)
			return ES_EIO;
		*p = '/';
	}
	if (last && mkdir(tmp, 0750) && errno != EEXIST)
		return ES_EIO;
	return 0;
}

/* A folder others may search (o+x) exposes every file in it that is
 * other-readable by name, even when they cannot list it (o-r): so any
 * "other" bit counts, not only read and write. */
int es_dir_private(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	if (stat(dir, &st) != 0) {
		if (errno == ENOENT)
			return es_errf(err, errlen, ES_ENOTFOUND, "%s: no such folder", dir);
		return es_errf(err, errlen, ES_EIO, "%s: %s", dir, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return es_errf(err, errlen, ES_EFORMAT, "%s is not a folder", dir);
	mode_t o = st.st_mode & S_IRWXO;
	if (o)
		return es_errf(err, errlen, ES_EINVAL,
			       "%s is open to every user of this machine (mode %04o, others have "
			       "%c%c%c)",
			       dir, (unsigned)(st.st_mode & 07777), (o & S_IROTH) ? 'r' : '-',
			       (o & S_IWOTH) ? 'w' : '-', (o & S_IXOTH) ? 'x' : '-');
	return 0;
}

int es_read_file(const char *path, struct es_buf *b)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? ES_ENOTFOUND : ES_EIO;
	char buf[65536];
	ssize_t n;
	int rc = 0;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || es_buf_append(b, buf, (size_t)n)) {
			rc = n < 0 ? ES_EIO : ES_ENOMEM;
			break;
		}
	}
	close(fd);
	return rc;
}
