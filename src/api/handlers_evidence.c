/*
 * handlers_evidence.c - GET /api/calls/{id}/evidence: the call's evidence
 * bundle as a ZIP download, built by the same code as `earshot export
 * --evidence` (record/bundle.c) and checked against the ledger the same
 * way.  API_ACT_EXPORT (supervisors, admins, auditors with can_listen; not
 * agents), audited as call.export.
 *
 * The archive holds the plaintext audio, so it is built in a memfd (memory,
 * never a file): the audio is decrypted straight into it, and MHD sends it
 * from that descriptor, closed when the response ends (or the process
 * dies).  Nothing of it reaches DATA or any disk, and there is nothing to
 * clean up after a crash.
 */
#include "api/server_internal.h"
#include "record/bundle.h"
#include "record/ledger_pub.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int srv_call_evidence(struct srv_req *r, int64_t id)
{
	int rc;
	char obj[24];
	static const char *const none[] = {NULL};
	struct srv_rec ar = {0};
	if (!srv_access_call_ex(r, id, API_ACT_EXPORT, "call.export", none, srv_rec_row, &ar, obj,
				&rc))
		return rc;
	char err[2048] = "";
	/* another node's recording: its bytes as GET .../export reaches them
	 * (issue #16) */
	int e = srv_rec_reach(r, &ar, err, sizeof(err));
	if (e)
		return srv_rec_unreachable(r, "call.export", obj, e, err);
	struct rec_evidence_info info;
	int fd = -1;
	e = rec_evidence_bundle_memfd(r->srv->data_dir, r->srv->vault, r->srv->ledger, r->ix, id,
				      obj, &fd, &info, err, sizeof(err));
	if (e == ES_ENOTFOUND) {
		srv_audit(r, "call.export", obj, API_AUDIT_FAILED, err);
		return srv_error(r, MHD_HTTP_NOT_FOUND, "no_recording", "id", "%s", err);
	}
	if (e == ES_EAGAIN) {
		/* another node's recording whose leaf that node has not
		 * published to its bucket yet (record/ledger_pub.c): it does at
		 * each upload pass */
		srv_audit(r, "call.export", obj, API_AUDIT_FAILED, err);
		struct srv_json o;
		if (!srv_json_begin(&o))
			return MHD_NO;
		es_json_obj_begin(&o.j);
		es_json_key(&o.j, "error"); es_json_str(&o.j, "not_published");
		es_json_key(&o.j, "message"); es_json_str(&o.j, err);
		es_json_obj_end(&o.j);
		const char *const hdrs[] = {MHD_HTTP_HEADER_RETRY_AFTER, REC_LEDGER_PUB_RETRY_S, NULL};
		return srv_json_send_hdrs(r, MHD_HTTP_SERVICE_UNAVAILABLE, &o, hdrs);
	}
	if (e == ES_ECRYPTO || e == ES_EUNSUP || e == ES_ENOKEK)
		/* an altered published ledger (or recording), an unreachable
		 * bucket, no KEK: the words the audio endpoint uses */
		return srv_rec_unreachable(r, "call.export", obj, e, err);
	if (e) {
		srv_audit(r, "call.export", obj, API_AUDIT_FAILED, err);
		return srv_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "evidence", NULL,
				 "no evidence bundle: %s", err);
	}
	struct stat st;
	if (fstat(fd, &st)) {
		close(fd);
		srv_audit(r, "call.export", obj, API_AUDIT_FAILED, "the bundle cannot be read");
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
