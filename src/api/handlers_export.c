/*
 * handlers_export.c - a call's raw data and exports:
 *   GET /api/calls/{id}/sip   its SIP messages (the ladder): API_ACT_VIEW,
 *                             so an agent sees only their own calls; audited
 *                             as call.sip
 *   GET /api/calls/{id}/pcap  its SIP and RTP rebuilt as pcapng
 *                             (record/pcap_rebuild.c): API_ACT_EXPORT,
 *                             audited as call.export with the format
 *   GET /api/calls/{id}/export?format=wav|mp3|opus|flac
 *                             its recording as a file to download
 *                             (record/export.c, the steps of `earshot
 *                             export`): API_ACT_EXPORT, audited as
 *                             call.export with the format, size and hash;
 *                             a finished call whose recording is still
 *                             queued is rendered from its media log in the
 *                             spool (record/export.c), audited saying so
 *   POST /api/export.zip      {"ids": [...], "format": ...}: several
 *                             recordings and a manifest.json of their
 *                             hashes in one ZIP (store/zip.c); each call is
 *                             checked as the one-call export is, and
 *                             audited; the ones refused are listed in the
 *                             manifest without saying why ("not available":
 *                             absent and not yours look the same)
 * The first two read the call's raw data (record/raw.c), decrypted in
 * memory only.  Whatever holds audio (a capture, a recording, a ZIP) is
 * built in a memfd, never in a file.
 */
#include "api/server_internal.h"
#include "record/record.h"
#include "store/crypt.h"
#include "store/vault.h"
#include "store/zip.h"

#include <errno.h>
#include <microhttpd.h>
#include <sodium.h>
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

/* ---- a recording as a file: one call, or several in a ZIP ------------------------ */

#define SRV_ZIP_MAX_CALLS 200

static const struct {
	const char *name, *mime;
} export_formats[] = {
	{"wav", "audio/wav"}, {"mp3", "audio/mpeg"}, {"opus", "audio/ogg"}, {"flac", "audio/flac"},
};

static const char *export_mime(const char *fmt)
{
	for (size_t i = 0; i < ES_ARRAY_LEN(export_formats); i++)
		if (!strcmp(fmt, export_formats[i].name))
			return export_formats[i].mime;
	return NULL;
}

/* A memfd and its file's SHA-256 and size after rec_recording_export_fd. */
struct exported {
	int fd;
	uint64_t bytes;
	char sha256[65];
};

/* The call's recording, or (none yet) its media log from the spool
 * (record/export.c): *queued says which. */
static int export_one(struct srv_req *r, const struct srv_rec *ar, const char *fmt,
		      struct exported *x, bool *queued, char *err, size_t errlen)
{
	*queued = !ar->has_rec;
	x->fd = memfd_create("earshot-export", MFD_CLOEXEC);
	if (x->fd < 0)
		return es_errf(err, errlen, ES_EIO, "no memory file for the export");
	/* another node's recording: from its published bucket (issue #16) */
	int e = srv_rec_reach(r, ar, err, errlen);
	if (e) {
		close(x->fd);
		x->fd = -1;
		return e; /* export_failed: no_kek, elsewhere or tampered */
	}
	e = ar->has_rec ? rec_recording_export_fd(r->srv->data_dir, r->srv->vault, &ar->rec,
						      fmt, x->fd, err, errlen)
			    : rec_queued_export_fd(r->srv->data_dir, r->srv->vault, ar->call_id,
						   ar->start_us, ar->end_us, fmt, x->fd, err, errlen);
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", x->fd);
	struct stat sb;
	if (!e && (fstat(x->fd, &sb) || st_sha256_file(path, NULL, x->sha256)))
		e = es_errf(err, errlen, ES_EIO, "the export could not be read back");
	if (!e)
		x->bytes = (uint64_t)sb.st_size;
	if (e) {
		close(x->fd);
		x->fd = -1;
	}
	return e;
}

static int export_failed(struct srv_req *r, const char *obj, int e, const char *err)
{
	srv_audit(r, "call.export", obj, API_AUDIT_FAILED, err);
	if (e == ES_ECRYPTO)
		return srv_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "tampered", NULL,
				 "the recording does not match its hash or does not decrypt");
	if (e == ES_ENOTFOUND)
		return srv_error(r, MHD_HTTP_GONE, "gone", "id",
				 "the recording's file or key is gone");
	if (e == ES_ENOKEK)
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "no_kek", NULL, "%s", err);
	if (e == ES_EUNSUP)
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "elsewhere", NULL, "%s", err);
	return srv_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "export_failed", NULL,
			 "the recording could not be exported");
}

/* Serve fd (taken) as an attachment named name. */
static int send_fd(struct srv_req *r, int fd, uint64_t size, const char *mime, const char *name)
{
	struct MHD_Response *resp = MHD_create_response_from_fd(size, fd);
	if (!resp) {
		close(fd);
		return MHD_NO;
	}
	srv_headers(resp, false);
	char cd[128];
	snprintf(cd, sizeof(cd), "attachment; filename=\"%s\"", name);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, mime);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, cd);
	return srv_queue(r, MHD_HTTP_OK, resp);
}

int srv_call_export(struct srv_req *r, int64_t id)
{
	static const char *const params[] = {"format", NULL};
	int rc;
	char obj[24];
	struct srv_rec ar = {0};
	if (!srv_access_call_ex(r, id, API_ACT_EXPORT, "call.export", params, srv_rec_row, &ar, obj,
				&rc))
		return rc;
	const char *fmt = srv_arg(r, "format");
	if (!fmt)
		fmt = "wav";
	const char *mime = export_mime(fmt);
	if (!mime)
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "format",
				 "format is wav, mp3, opus or flac");
	char err[1024] = "";
	struct exported x;
	bool queued = false;
	/* no recording yet: a queued call's media log, if the spool holds one */
	int e = ar.bad_path || !ar.call_id[0]
			? ES_ENOTFOUND
			: export_one(r, &ar, fmt, &x, &queued, err, sizeof(err));
	if (e == ES_ENOTFOUND && (!ar.has_rec || ar.bad_path)) {
		srv_audit(r, "call.export", obj, API_AUDIT_FAILED, "no recording");
		return srv_error(r, MHD_HTTP_NOT_FOUND, "no_recording", "id",
				 "the call has no recording");
	}
	if (e) {
		ES_LOG_WARNING("api", "export of call %s: %s", obj, err);
		return export_failed(r, obj, e, err);
	}
	char detail[240], name[64];
	snprintf(detail, sizeof(detail), "format %s%s: %llu bytes, sha256 %s", fmt,
		 queued ? " rendered from the media log (recording queued)" : "",
		 (unsigned long long)x.bytes, x.sha256);
	srv_audit(r, "call.export", obj, API_AUDIT_OK, detail);
	snprintf(name, sizeof(name), "call-%lld.%s", (long long)id, fmt);
	return send_fd(r, x.fd, x.bytes, mime, name);
}

/* The call of one id of the ZIP: is it the user's, its recording. */
struct zip_call {
	struct srv_req *r;
	bool own;
	struct srv_rec ar;
};

static int zip_row(void *ud, const struct idx_call *c)
{
	struct zip_call *z = ud;
	z->own = api_call_is_own(z->r->user.numbers, c);
	return srv_rec_row(&z->ar, c);
}

/* "12,13,14" into ids (at most SRV_ZIP_MAX_CALLS, each a positive number,
 * each once); false when malformed. */
static bool parse_ids(const char *s, int64_t *ids, size_t *n)
{
	*n = 0;
	while (*s) {
		char *end;
		errno = 0;
		long long v = strtoll(s, &end, 10);
		if (errno || end == s || v <= 0 || (*end && *end != ',') || *n == SRV_ZIP_MAX_CALLS)
			return false;
		for (size_t i = 0; i < *n; i++)
			if (ids[i] == v)
				return false;
		ids[(*n)++] = v;
		s = *end ? end + 1 : end;
	}
	return *n > 0;
}

/* The call's stored transcripts (the words with their times, spoken
 * numbers masked, as `earshot transcribe show --json` prints them,
 * decrypted) beside its audio, named in the manifest's "transcripts": a
 * user who may export the call may read them, as in its evidence bundle.
 * A transcript that cannot be read is left out and logged. */
static void zip_transcripts(struct srv_req *r, struct st_zip_writer *w, struct es_json *man,
			    int64_t id, const struct srv_rec *ar)
{
	static const char *const chan[] = {"caller", "callee"};
	es_json_key(man, "transcripts");
	es_json_arr_begin(man);
	for (int ch = 0; ch < 2; ch++) {
		struct es_buf b;
		es_buf_init(&b);
		char err[512] = "", name[80];
		int e = srv_transcript_load(r, ar, ch, &b, err, sizeof(err));
		snprintf(name, sizeof(name), "call-%lld.transcript.%s.json", (long long)id, chan[ch]);
		if (!e && st_zip_writer_add(w, name, b.p, b.len))
			e = ES_EIO;
		if (!e)
			es_json_str(man, name);
		else if (e != ES_ENOTFOUND)
			ES_LOG_WARNING("api", "export of call %lld: transcript %s left out: %s",
				       (long long)id, chan[ch], *err ? err : es_strerror(e));
		if (b.p)
			sodium_memzero(b.p, b.len);
		es_buf_free(&b);
	}
	es_json_arr_end(man);
}

/* One call into the ZIP: true when it went in; else why it did not in
 * *why (the manifest's word; the audit says more). */
static bool zip_one(struct srv_req *r, struct st_zip_writer *w, struct es_json *man, int64_t id,
		    const char *fmt, const char **why)
{
	char obj[24], err[1024] = "";
	snprintf(obj, sizeof(obj), "%lld", (long long)id);
	struct zip_call z = {.r = r};
	int e = idx_call_brief(r->ix, id, zip_row, &z);
	const struct api_user *u = &r->user;
	if (e || !api_allow(u->role, u->can_listen, API_ACT_EXPORT, z.own)) {
		srv_audit(r, "call.export", obj, e ? API_AUDIT_FAILED : API_AUDIT_DENIED,
			  e ? "no such call (in a ZIP)" : "not this user's to export (in a ZIP)");
		*why = "not available";
		return false;
	}
	struct exported x;
	bool queued = false;
	/* no recording yet: a queued call's media log, if the spool holds one */
	e = z.ar.bad_path || !z.ar.call_id[0]
		    ? ES_ENOTFOUND
		    : export_one(r, &z.ar, fmt, &x, &queued, err, sizeof(err));
	if (e == ES_ENOTFOUND && (!z.ar.has_rec || z.ar.bad_path)) {
		srv_audit(r, "call.export", obj, API_AUDIT_FAILED, "no recording (in a ZIP)");
		*why = "no recording";
		return false;
	}
	if (e) {
		ES_LOG_WARNING("api", "export of call %s: %s", obj, err);
		srv_audit(r, "call.export", obj, API_AUDIT_FAILED, err);
		*why = e == ES_ECRYPTO ? "tampered" : "export failed";
		return false;
	}
	char name[64], path[64], detail[280];
	snprintf(name, sizeof(name), "call-%lld.%s", (long long)id, fmt);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", x.fd);
	e = st_zip_writer_add_file(w, name, path);
	close(x.fd);
	if (e) {
		*why = "export failed";
		return false;
	}
	snprintf(detail, sizeof(detail), "format %s%s in a ZIP: %llu bytes, sha256 %s", fmt,
		 queued ? " rendered from the media log (recording queued)" : "",
		 (unsigned long long)x.bytes, x.sha256);
	srv_audit(r, "call.export", obj, API_AUDIT_OK, detail);
	es_json_obj_begin(man);
	es_json_key(man, "id");
	es_json_int(man, id);
	es_json_key(man, "file");
	es_json_str(man, name);
	es_json_key(man, "bytes");
	es_json_int(man, (int64_t)x.bytes);
	es_json_key(man, "sha256");
	es_json_str(man, x.sha256);
	/* a queued call has no recording to hash yet */
	es_json_key(man, queued ? "recording_queued" : "recording_sha256");
	if (queued)
		es_json_bool(man, true);
	else
		es_json_str(man, z.ar.sha256);
	if (!queued) /* transcripts come after the recording */
		zip_transcripts(r, w, man, id, &z.ar);
	es_json_obj_end(man);
	return true;
}

int srv_export_zip(struct srv_req *r)
{
	int rc;
	if (!srv_begin(r, NULL, &rc))
		return rc;
	/* a role that exports nothing is told so before the body is read */
	if (!srv_allow(r, API_ACT_EXPORT, true, "calls.export_zip", NULL, &rc))
		return rc;
	struct srv_jfield fl[] = {{.key = "ids", .type = SRV_JLIST, .required = true},
				  {.key = "format", .type = SRV_JSTR}};
	const char *bad = "body";
	int perr = srv_body_fields(&r->body, fl, ES_ARRAY_LEN(fl), &bad);
	if (perr == ES_ENOMEM)
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL, "out of memory");
	if (perr)
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", bad,
				 "expected {\"ids\": [\"12\", ...], \"format\": \"wav\"|\"mp3\"|"
				 "\"opus\"|\"flac\"}");
	char fmt[8];
	snprintf(fmt, sizeof(fmt), "%s", fl[1].present ? fl[1].s : "wav");
	int64_t *ids = malloc(sizeof(*ids) * SRV_ZIP_MAX_CALLS);
	size_t n = 0;
	bool ok_ids = ids && parse_ids(fl[0].s, ids, &n);
	bool ok_fmt = (!fl[1].present || strlen(fl[1].s) < sizeof(fmt)) && export_mime(fmt);
	srv_fields_free(fl, ES_ARRAY_LEN(fl));
	if (!ok_ids || !ok_fmt) {
		free(ids);
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", !ok_ids ? "ids" : "format",
				 !ok_ids ? "ids: 1 to %d distinct call ids" : "format is wav, mp3, opus "
				 "or flac", SRV_ZIP_MAX_CALLS);
	}
	char err[256] = "";
	int fd = memfd_create("earshot-zip", MFD_CLOEXEC);
	struct st_zip_writer *w = NULL;
	char *mtext = NULL;
	size_t mlen = 0;
	FILE *mf = open_memstream(&mtext, &mlen);
	if (fd < 0 || !mf || st_zip_writer_open_fd(&w, fd, "export.zip", err, sizeof(err))) {
		if (mf)
			fclose(mf);
		free(mtext);
		free(ids);
		if (fd >= 0)
			close(fd);
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "no memory for the archive");
	}
	struct es_json man;
	es_json_init(&man, mf, true);
	es_json_obj_begin(&man);
	es_json_key(&man, "format");
	es_json_str(&man, fmt);
	es_json_key(&man, "exported_by");
	es_json_str(&man, r->user.name);
	es_json_key(&man, "time");
	api_json_time(&man, srv_now_us());
	es_json_key(&man, "calls");
	es_json_arr_begin(&man);
	const char **why = calloc(n, sizeof(*why));
	unsigned put = 0;
	for (size_t i = 0; why && i < n; i++)
		put += zip_one(r, w, &man, ids[i], fmt, &why[i]);
	es_json_arr_end(&man);
	es_json_key(&man, "refused");
	es_json_arr_begin(&man);
	for (size_t i = 0; why && i < n; i++) {
		if (!why[i])
			continue;
		es_json_obj_begin(&man);
		es_json_key(&man, "id");
		es_json_int(&man, ids[i]);
		es_json_key(&man, "reason");
		es_json_str(&man, why[i]);
		es_json_obj_end(&man);
	}
	es_json_arr_end(&man);
	es_json_obj_end(&man);
	fclose(mf);
	int e = !why || !mtext ? ES_ENOMEM
				: st_zip_writer_add(w, "manifest.json", mtext, mlen) ||
						  st_zip_writer_finish(w)
					  ? ES_EIO
					  : 0;
	st_zip_writer_free(w);
	free(mtext);
	free(why);
	free(ids);
	struct stat sb;
	if (!e && fstat(fd, &sb))
		e = ES_EIO;
	char detail[96];
	snprintf(detail, sizeof(detail), "format %s: %u of %zu calls", fmt, put, n);
	if (e || !put) {
		close(fd);
		srv_audit(r, "calls.export_zip", NULL, API_AUDIT_FAILED, detail);
		if (!e)
			return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "ids",
					 "none of the calls can be exported");
		return srv_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "export_failed", NULL,
				 "the archive could not be built");
	}
	srv_audit(r, "calls.export_zip", NULL, API_AUDIT_OK, detail);
	return send_fd(r, fd, (uint64_t)sb.st_size, "application/zip", "calls.zip");
}
