/*
 * handlers_subject.c - data-subject requests (#15; api/subject.c does the
 * work, as for `earshot subject`):
 *   POST /api/subject/export {party}                    the export ZIP
 *   POST /api/subject/erase  {party, reason, dry_run}   the report (JSON)
 * Both need API_ACT_HOLD (admins and auditors: the compliance officer's
 * role); the export, which holds audio, also API_ACT_EXPORT for any call
 * (so an auditor needs can_listen).  The party is audited by its pseudonym
 * only (subject.export, subject.erase).  The export is built in a memfd,
 * as the evidence download is: its audio never reaches a disk.
 */
#include "api/server_internal.h"
#include "store/ledger.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* "party:<pseudonym>" for the audit (never the number); "party:?" when the
 * number is not one. */
static void party_obj(struct srv_req *r, const char *party, char *obj, size_t cap)
{
	char norm[IDX_NUMBERS_MAX + 1], pseudo[API_PSEUDO_MAX], err[300];
	if (api_subject_number(party, norm, sizeof(norm)) ||
	    api_subject_pseudonym(r->srv->data_dir, norm, pseudo, err, sizeof(err)))
		snprintf(obj, cap, "party:?");
	else
		snprintf(obj, cap, "party:%s", pseudo);
}

static int subject_export(struct srv_req *r)
{
	int rc;
	if (!srv_begin(r, NULL, &rc) ||
	    !srv_allow(r, API_ACT_HOLD, false, "subject.export", NULL, &rc) ||
	    !srv_allow(r, API_ACT_EXPORT, false, "subject.export", NULL, &rc))
		return rc;
	char *party = NULL, err[1200] = "", obj[API_PSEUDO_MAX + 8];
	int e = srv_body_one(&r->body, "party", &party);
	if (e == ES_ENOMEM)
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL, "out of memory");
	if (e) {
		srv_audit(r, "subject.export", NULL, API_AUDIT_FAILED, "bad body");
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "party",
				 "expected {\"party\": NUMBER}");
	}
	party_obj(r, party, obj, sizeof(obj));
	int fd = memfd_create("earshot-subject", MFD_CLOEXEC);
	if (fd < 0) {
		free(party);
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "no memory for the export");
	}
	struct api_subject_export q = {.data_dir = r->srv->data_dir, .ix = r->ix, .number = party,
				       .out = "export.zip", .out_fd = fd, .now_us = srv_now_us()};
	e = api_subject_export(&q, err, sizeof(err));
	free(party);
	struct stat st;
	if (!e && !q.ncalls)
		e = ES_ENOTFOUND, snprintf(err, sizeof(err), "no call of that party");
	if (!e && fstat(fd, &st))
		e = ES_EIO, snprintf(err, sizeof(err), "the export could not be read back");
	if (e) {
		close(fd);
		srv_audit(r, "subject.export", obj, API_AUDIT_FAILED, err);
		unsigned status = e == ES_EINVAL	 ? MHD_HTTP_BAD_REQUEST
				  : e == ES_ENOTFOUND ? MHD_HTTP_NOT_FOUND
				  : e == ES_ELIMIT    ? MHD_HTTP_CONTENT_TOO_LARGE
						      : MHD_HTTP_INTERNAL_SERVER_ERROR;
		return srv_error(r, status,
				 e == ES_EINVAL ? "bad_parameter" : e == ES_ENOTFOUND ? "not_found"
				 : e == ES_ELIMIT ? "too_many_calls" : "export",
				 e == ES_EINVAL ? "party" : NULL, "%s", err);
	}
	struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	if (!resp) {
		close(fd);
		return MHD_NO;
	}
	char detail[160];
	snprintf(detail, sizeof(detail), "%zu calls, %zu evidence bundles", q.ncalls, q.nbundles);
	srv_audit(r, "subject.export", obj, API_AUDIT_OK, detail);
	srv_headers(resp, false);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/zip");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION,
				"attachment; filename=\"subject-export.zip\"");
	return srv_queue(r, MHD_HTTP_OK, resp);
}

static int subject_erase(struct srv_req *r)
{
	int rc;
	if (!srv_begin(r, NULL, &rc) ||
	    !srv_allow(r, API_ACT_HOLD, false, "subject.erase", NULL, &rc))
		return rc;
	struct srv_jfield f[] = {
		{.key = "party", .type = SRV_JSTR, .required = true},
		{.key = "reason", .type = SRV_JSTR, .required = true},
		{.key = "dry_run", .type = SRV_JBOOL},
	};
	const char *bad = NULL;
	int e = srv_body_fields(&r->body, f, ES_ARRAY_LEN(f), &bad);
	if (e == ES_ENOMEM)
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL, "out of memory");
	if (e) {
		srv_audit(r, "subject.erase", NULL, API_AUDIT_FAILED, "bad body");
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", bad,
				 "expected {\"party\": NUMBER, \"reason\": TEXT, \"dry_run\": BOOL}");
	}
	bool dry = f[2].present && f[2].b;
	char err[1200] = "", obj[API_PSEUDO_MAX + 8], ldir[4200];
	struct st_ledger *l = NULL;
	struct api_subject_erase q = {.data_dir = r->srv->data_dir, .ix = r->ix,
				      .number = f[0].s, .reason = f[1].s, .dry_run = dry,
				      .actor = r->user.name, .remote = r->remote,
				      .now_us = srv_now_us()};
	char norm[IDX_NUMBERS_MAX + 1];
	/* bad input is answered before the ledger's lock is taken */
	if (api_subject_number(f[0].s, norm, sizeof(norm))) {
		srv_audit(r, "subject.erase", "party:?", API_AUDIT_FAILED, "not a number");
		rc = srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "party", "not a number");
		goto out;
	}
	party_obj(r, f[0].s, obj, sizeof(obj));
	snprintf(ldir, sizeof(ldir), "%s/ledger", r->srv->data_dir);
	if (!dry && (e = st_ledger_open(&l, ldir, ST_LEDGER_CREATE, err, sizeof(err)))) {
		srv_audit(r, "subject.erase", obj, API_AUDIT_FAILED, "ledger busy or unreadable");
		rc = srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "ledger_busy", NULL,
			       "the ledger cannot be written now (a running recorder holds it): %s",
			       *err ? err : es_strerror(e));
		goto out;
	}
	q.ledger = l;
	e = api_subject_erase(&q, err, sizeof(err));
	if (e == ES_EINVAL) {
		rc = srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "reason", "%s", err);
		goto out;
	}
	if (!e && !q.ncalls) {
		rc = srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "party", "no call of that party");
		goto out;
	}
	struct srv_json o;
	if (!srv_json_begin(&o)) {
		rc = MHD_NO;
		goto out;
	}
	api_subject_report_json(&o.j, &q);
	/* an error half-way: the report says how far it got, the status why */
	rc = srv_json_send(r, e ? MHD_HTTP_INTERNAL_SERVER_ERROR : MHD_HTTP_OK, &o);
out:
	api_subject_calls_free(q.calls, q.ncalls);
	st_ledger_close(l);
	srv_fields_free(f, ES_ARRAY_LEN(f));
	return rc;
}

int srv_subject_route(struct srv_req *r, const char *rest)
{
	bool post = !strcmp(r->method, "POST");
	if (!strcmp(rest, "export"))
		return post ? subject_export(r) : srv_method_not_allowed(r, "POST");
	if (!strcmp(rest, "erase"))
		return post ? subject_erase(r) : srv_method_not_allowed(r, "POST");
	return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no such resource");
}
