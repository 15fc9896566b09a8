/*
 * handlers_export.c - a call's raw data and exports:
 *   GET /api/calls/{id}/sip   its SIP messages (the ladder): API_ACT_VIEW,
 *                             so an agent sees only their own calls; audited
 *                             as call.sip
 *   GET /api/calls/{id}/pcap  its SIP and RTP rebuilt as pcapng
 *                             (record/pcap_rebuild.c): API_ACT_EXPORT,
 *                             audited as call.export with the format
 * Both read the call's raw data (record/raw.c), decrypted in memory only;
 * the capture is built in a memfd (it holds the audio payloads), never in a
 * file.
 */
#include "api/server_internal.h"
#include "record/record.h"
#include "store/vault.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int raw_missing(struct srv_req *r, const char *action, const char *obj, int e,
		       const char *err)
{
	srv_audit(r, action, obj, API_AUDIT_FAILED, err);
	if (e == ES_ENOTFOUND)
		return srv_error(r, MHD_HTTP_NOT_FOUND, "no_raw_data", "id", "%s", err);
	return srv_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "raw_data", NULL,
			 "the call's raw data cannot be read: %s", err);
}

int srv_call_sip(struct srv_req *r, int64_t id)
{
	int rc;
	char obj[24];
	if (!srv_access_call(r, id, API_ACT_VIEW, "call.sip", obj, &rc))
		return rc;
	char err[1024] = "";
	struct mlog_reader *ml = NULL;
	int e = rec_raw_open(r->srv->data_dir, r->srv->vault, id, &ml, err, sizeof(err));
	/* a call without raw data (not recorded, older, deleted or redacted)
	 * is an answer, not an error: the call page asks for every call */
	bool none = e == ES_ENOTFOUND;
	if (e && !none)
		return raw_missing(r, "call.sip", obj, e, err);
	struct srv_json o;
	if (!srv_json_begin(&o)) {
		mlog_reader_close(ml);
		return srv_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "no_memory", NULL,
				 "out of memory");
	}
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "id");
	es_json_int(&o.j, id);
	es_json_key(&o.j, "raw");
	es_json_bool(&o.j, !none);
	es_json_key(&o.j, "messages");
	if (none) {
		es_json_arr_begin(&o.j);
		es_json_arr_end(&o.j);
		e = 0;
	} else {
		e = rec_raw_sip_json(ml, &o.j, err, sizeof(err));
	}
	es_json_obj_end(&o.j);
	if (ml)
		mlog_reader_close(ml);
	if (e) {
		srv_json_discard(&o);
		return raw_missing(r, "call.sip", obj, e, err);
	}
	srv_audit(r, "call.sip", obj, API_AUDIT_OK, none ? "no raw data" : NULL);
	return srv_json_send(r, MHD_HTTP_OK, &o);
}

int srv_call_pcap(struct srv_req *r, int64_t id)
{
	int rc;
	char obj[24];
	if (!srv_access_call(r, id, API_ACT_EXPORT, "call.export", obj, &rc))
		return rc;
	char err[1024] = "";
	struct mlog_reader *ml = NULL;
	int e = rec_raw_open(r->srv->data_dir, r->srv->vault, id, &ml, err, sizeof(err));
	if (e)
		return raw_missing(r, "call.export", obj, e, err);
	int fd = memfd_create("earshot-pcap", MFD_CLOEXEC);
	int wfd = fd >= 0 ? dup(fd) : -1;
	FILE *f = wfd >= 0 ? fdopen(wfd, "wb") : NULL;
	struct rec_pcap_stats st = {0};
	if (!f) {
		if (wfd >= 0)
			close(wfd);
		e = ES_EIO;
		snprintf(err, sizeof(err), "no memory file for the capture");
	} else {
		e = rec_raw_pcap(ml, f, &st, err, sizeof(err));
		if (fclose(f) && !e)
			e = ES_EIO, snprintf(err, sizeof(err), "the capture could not be written");
	}
	mlog_reader_close(ml);
	struct stat sb;
	if (!e && fstat(fd, &sb))
		e = ES_EIO, snprintf(err, sizeof(err), "the capture could not be read back");
	if (e) {
		if (fd >= 0)
			close(fd);
		return raw_missing(r, "call.export", obj, e, err);
	}
	struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
	if (!resp) {
		close(fd);
		return MHD_NO;
	}
	char detail[160];
	snprintf(detail, sizeof(detail), "format pcap: %llu SIP messages, %llu RTP packets, %lld bytes",
		 (unsigned long long)st.sip, (unsigned long long)st.rtp, (long long)sb.st_size);
	srv_audit(r, "call.export", obj, API_AUDIT_OK, detail);
	srv_headers(resp, false);
	char cd[96];
	snprintf(cd, sizeof(cd), "attachment; filename=\"call-%lld.pcapng\"", (long long)id);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"application/vnd.tcpdump.pcap");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, cd);
	return srv_queue(r, MHD_HTTP_OK, resp);
}
