/*
 * handlers_evidence.c - GET /api/calls/{id}/evidence: the call's evidence
 * bundle as a ZIP download, built by the same code as `earshot export
 * --evidence` (record/bundle.c) and checked against the ledger the same
 * way.  API_ACT_EXPORT (supervisors, admins, auditors with can_listen; not
 * agents), audited as call.export.
 *
 * The archive (which holds the plaintext audio) is built in DATA/run under
 * a random name, opened, and unlinked before a byte is sent: it lives on
 * only as the open descriptor MHD streams from, and is gone when the
 * response ends (or the process dies).  A crash while building leaves
 * the temporaries (the archive and the audio beside it): the next server
 * start removes those older than an hour (srv_evidence_sweep).
 */
#include "api/server_internal.h"
#include "record/bundle.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SRV_EVIDENCE_PREFIX "evidence-"
/* A temporary older than this is a leftover of a crash (a bundle takes
 * seconds), not a bundle another server on the same data folder is
 * building. */
#define SRV_EVIDENCE_STALE_S 3600

void srv_evidence_sweep(const char *data_dir)
{
	char dir[4200], f[4500];
	snprintf(dir, sizeof(dir), "%s/run", data_dir);
	DIR *d = opendir(dir);
	if (!d)
		return;
	time_t now = time(NULL);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, SRV_EVIDENCE_PREFIX, sizeof(SRV_EVIDENCE_PREFIX) - 1))
			continue;
		struct stat st;
		snprintf(f, sizeof(f), "%s/%s", dir, de->d_name);
		if (!lstat(f, &st) && S_ISREG(st.st_mode) && now - st.st_mtime > SRV_EVIDENCE_STALE_S &&
		    !unlink(f))
			ES_LOG_WARNING("api", "removed a stale evidence temporary %s", f);
	}
	closedir(d);
}

int srv_call_evidence(struct srv_req *r, int64_t id)
{
	int rc;
	char obj[24];
	if (!srv_access_call(r, id, API_ACT_EXPORT, "call.export", obj, &rc))
		return rc;
	char dir[4200], path[4300], err[2048] = "";
	snprintf(dir, sizeof(dir), "%s/run", r->srv->data_dir);
	if (mkdir(dir, 0700) && errno != EEXIST) {
		srv_audit(r, "call.export", obj, API_AUDIT_FAILED, "no DATA/run");
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "cannot make a temporary file");
	}
	uint8_t rnd[12];
	char hx[25];
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hx, sizeof(hx), rnd, sizeof(rnd));
	snprintf(path, sizeof(path), "%s/" SRV_EVIDENCE_PREFIX "%s.zip", dir, hx);
	struct rec_evidence_info info;
	int e = rec_evidence_bundle(r->srv->data_dir, r->srv->vault, r->ix, id, obj, path, true,
				    false, &info, err, sizeof(err));
	if (e == ES_ENOTFOUND) {
		srv_audit(r, "call.export", obj, API_AUDIT_FAILED, err);
		return srv_error(r, MHD_HTTP_NOT_FOUND, "no_recording", "id", "%s", err);
	}
	if (e) {
		unlink(path);
		srv_audit(r, "call.export", obj, API_AUDIT_FAILED, err);
		return srv_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "evidence", NULL,
				 "no evidence bundle: %s", err);
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	unlink(path);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		srv_audit(r, "call.export", obj, API_AUDIT_FAILED, "temporary file lost");
		return srv_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "evidence", NULL,
				 "the bundle could not be read back");
	}
	char detail[400];
	snprintf(detail, sizeof(detail), "evidence bundle: recording %.256s, leaf %llu of %llu, %lld bytes",
		 info.path, (unsigned long long)info.seq, (unsigned long long)info.size,
		 (long long)st.st_size);
	struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	if (!resp) {
		close(fd);
		return MHD_NO;
	}
	srv_audit(r, "call.export", obj, API_AUDIT_OK, detail);
	srv_headers(resp, false);
	char cd[96];
	snprintf(cd, sizeof(cd), "attachment; filename=\"call-%lld-evidence.zip\"", (long long)id);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/zip");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, cd);
	return srv_queue(r, MHD_HTTP_OK, resp);
}
