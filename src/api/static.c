/*
 * static.c - the web UI's files (web/: index.html, app.js, app.css) served
 * from api_server_config.web_dir.  A fixed allow-list of names maps URLs to
 * files: there is no directory listing and no path from the URL ever reaches
 * the file system, so traversal ("/../", "%2e%2e", symlinks by URL) has
 * nothing to work with.  The Content-Security-Policy of srv_headers (only
 * 'self') applies to these pages as to every response.
 */
#include "api/server_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATIC_FILE_MAX (4 * 1024 * 1024)

struct static_file {
	const char *url;
	const char *name; /* inside web_dir */
	const char *type;
};

static const struct static_file static_files[] = {
	{"/", "index.html", "text/html; charset=utf-8"},
	{"/index.html", "index.html", "text/html; charset=utf-8"},
	{"/app.js", "app.js", "text/javascript; charset=utf-8"},
	{"/search.js", "search.js", "text/javascript; charset=utf-8"},
	{"/app.css", "app.css", "text/css; charset=utf-8"},
	{"/waveform.js", "waveform.js", "text/javascript; charset=utf-8"},
	{"/timeline.js", "timeline.js", "text/javascript; charset=utf-8"},
	{"/redact.js", "redact.js", "text/javascript; charset=utf-8"},
	{"/admin.js", "admin.js", "text/javascript; charset=utf-8"},
	{"/admin.css", "admin.css", "text/css; charset=utf-8"},
	{"/live.js", "live.js", "text/javascript; charset=utf-8"},
	{"/account.js", "account.js", "text/javascript; charset=utf-8"},
	{"/holds.js", "holds.js", "text/javascript; charset=utf-8"},
	{"/quality.js", "quality.js", "text/javascript; charset=utf-8"},
	{"/dashboard.js", "dashboard.js", "text/javascript; charset=utf-8"},
	{"/callflow.js", "callflow.js", "text/javascript; charset=utf-8"},
	{"/export.js", "export.js", "text/javascript; charset=utf-8"},
	{"/transcript.js", "transcript.js", "text/javascript; charset=utf-8"},
	{"/qa.js", "qa.js", "text/javascript; charset=utf-8"},
	{"/qa.css", "qa.css", "text/css; charset=utf-8"},
	{"/qaforms.js", "qaforms.js", "text/javascript; charset=utf-8"},
	{"/teams.js", "teams.js", "text/javascript; charset=utf-8"},
	{"/bookmarks.js", "bookmarks.js", "text/javascript; charset=utf-8"},
};

static const struct static_file *static_lookup(const char *url)
{
	for (size_t i = 0; i < sizeof(static_files) / sizeof(static_files[0]); i++)
		if (!strcmp(url, static_files[i].url))
			return &static_files[i];
	return NULL;
}

/* The whole of a regular file of at most STATIC_FILE_MAX bytes (malloc'd). */
static int static_read(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? ES_ENOTFOUND : ES_EIO;
	int rc = ES_EIO;
	char *buf = NULL;
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > STATIC_FILE_MAX)
		goto out;
	size_t n = (size_t)st.st_size, got = 0;
	if (!(buf = malloc(n ? n : 1))) {
		rc = ES_ENOMEM;
		goto out;
	}
	while (got < n) {
		ssize_t k = read(fd, buf + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			goto out;
		got += (size_t)k;
	}
	*out = buf;
	*len = n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

int srv_static(struct srv_req *r)
{
	const struct static_file *f = static_lookup(r->url);
	const char *web = r->srv->cfg.web_dir;
	if (!f || !web || !*web)
		return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no such resource");
	if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD")) {
		struct MHD_Response *resp =
			MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		if (!resp)
			return MHD_NO;
		srv_headers(resp, false);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
		return srv_queue(r, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
	}
	char path[4200];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", web, f->name) >= sizeof(path))
		return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no such resource");
	char *buf = NULL;
	size_t len = 0;
	int err = static_read(path, &buf, &len);
	if (err == ES_ENOMEM)
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "out of memory");
	if (err) {
		ES_LOG_ERR("api", "web UI file %s: %s", path, es_strerror(err));
		return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no such resource");
	}
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(buf);
		return MHD_NO;
	}
	srv_headers(resp, false);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, f->type);
	return srv_queue(r, MHD_HTTP_OK, resp);
}
