/*
 * handlers_redact.c - redaction over the REST API (#15; record/redact.c does
 * the work):
 *   POST /api/calls/{id}/redact {from_ms, to_ms, channel, fill, reason}
 *        201 with the redaction; admins and supervisors (API_ACT_REDACT)
 *   GET  /api/calls/{id}/audio?version=original
 *        the kept original of the call's first redaction, for admins and
 *        auditors with the listen grant (API_ACT_ORIGINAL); 403 otherwise
 * Audited as call.redact and call.listen ("original").  A redaction writes
 * to the ledger, so while `earshot record` holds it the answer is 503
 * ledger_busy and nothing changes.
 */
#include "api/server_internal.h"
#include "record/record.h"
#include "store/ledger.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

static int failed(struct srv_req *r, int e, const char *obj, const char *err)
{
	srv_audit(r, "call.redact", obj, API_AUDIT_FAILED, err);
	if (e == ES_EINVAL)
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", NULL, "%s", err);
	if (e == ES_ENOTFOUND)
		return srv_error(r, MHD_HTTP_NOT_FOUND, "no_recording", "id", "%s", err);
	if (e == ES_EHELD)
		return srv_error(r, MHD_HTTP_CONFLICT, "held", NULL, "%s", err);
	return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL, "%s", err);
}

int srv_call_redact(struct srv_req *r, int64_t id)
{
	static const char *const none[] = {NULL};
	int rc;
	char obj[24], err[1024] = "";
	struct srv_rec ar = {0};
	if (!srv_access_call_ex(r, id, API_ACT_REDACT, "call.redact", none, srv_rec_row, &ar, obj,
				&rc))
		return rc;
	struct srv_jfield f[] = {
		{.key = "from_ms", .type = SRV_JUINT, .required = true},
		{.key = "to_ms", .type = SRV_JUINT, .required = true},
		{.key = "channel", .type = SRV_JSTR},
		{.key = "fill", .type = SRV_JSTR},
		{.key = "reason", .type = SRV_JSTR, .required = true},
	};
	const char *bad = NULL;
	int e = srv_body_fields(&r->body, f, ES_ARRAY_LEN(f), &bad);
	if (e == ES_ENOMEM)
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL, "out of memory");
	if (e) {
		srv_audit(r, "call.redact", obj, API_AUDIT_FAILED, "bad body");
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", bad,
				 "expected {\"from_ms\", \"to_ms\", \"channel\": caller|callee|both, "
				 "\"fill\": silence|tone, \"reason\"}");
	}
	struct st_ledger *l = NULL;
	struct rec_redact_req q = {
		.data_dir = r->srv->data_dir,
		.ix = r->ix,
		.vault = r->srv->vault,
		.call_row = id,
		.from_us = f[0].i * 1000,
		.to_us = f[1].i * 1000,
		.channel = f[2].present ? f[2].s : "both",
		.fill = f[3].present ? f[3].s : "silence",
		.reason = f[4].s,
		.by = r->user.name,
		.shred_original = r->srv->cfg.redaction_shred,
		.now_us = srv_now_us(),
	};
	struct rec_redact_result res;
	if (!ar.has_rec) {
		rc = failed(r, ES_ENOTFOUND, obj, "the call has no recording");
		goto out;
	}
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s/ledger", r->srv->data_dir);
	/* bad input is answered by rec_redact before anything changes; the
	 * ledger's lock serialises redactions */
	e = st_ledger_open(&l, dir, ST_LEDGER_CREATE, err, sizeof(err));
	if (e) {
		srv_audit(r, "call.redact", obj, API_AUDIT_FAILED, "ledger busy or unreadable");
		rc = srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "ledger_busy", NULL,
			       "the ledger cannot be written now (a running recorder holds it): %s",
			       *err ? err : es_strerror(e));
		goto out;
	}
	q.ledger = l;
	e = rec_redact(&q, &res, err, sizeof(err));
	if (e && !res.path[0]) {
		rc = failed(r, e, obj, err);
		goto out;
	}
	char detail[1400];
	snprintf(detail, sizeof(detail), "redaction %d: %s %.3f-%.3f s (%s), original %s%s: %.800s",
		 res.n, q.channel, q.from_us / 1e6, q.to_us / 1e6, q.fill,
		 res.shredded ? "shredded" : "kept (restricted)", e ? " (incomplete)" : "", q.reason);
	srv_audit(r, "call.redact", obj, e ? API_AUDIT_FAILED : API_AUDIT_OK, detail);
	if (e) {
		rc = srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL, "%s", err);
		goto out;
	}
	struct srv_json o;
	if (!srv_json_begin(&o)) {
		rc = MHD_NO;
		goto out;
	}
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "call"); es_json_int(&o.j, id);
	es_json_key(&o.j, "n"); es_json_int(&o.j, res.n);
	es_json_key(&o.j, "from_ms"); es_json_int(&o.j, f[0].i);
	es_json_key(&o.j, "to_ms"); es_json_int(&o.j, f[1].i);
	es_json_key(&o.j, "channel"); es_json_str(&o.j, q.channel);
	es_json_key(&o.j, "fill"); es_json_str(&o.j, q.fill);
	es_json_key(&o.j, "recording"); es_json_str(&o.j, res.path);
	es_json_key(&o.j, "leaf"); es_json_int(&o.j, (int64_t)res.redact_leaf);
	es_json_key(&o.j, "original"); es_json_str(&o.j, res.original);
	es_json_key(&o.j, "original_leaf"); es_json_int(&o.j, (int64_t)res.original_leaf);
	es_json_key(&o.j, "original_state");
	es_json_str(&o.j, res.shredded ? "shredded" : "restricted");
	es_json_obj_end(&o.j);
	rc = srv_json_send(r, MHD_HTTP_CREATED, &o);
out:
	st_ledger_close(l);
	srv_fields_free(f, ES_ARRAY_LEN(f));
	return rc;
}

struct first {
	bool found;
	struct srv_rec *ar;
	bool shredded;
};

static int take_first(void *ud, const struct idx_redaction *x)
{
	struct first *k = ud;
	if (k->found)
		return 0;
	k->found = true;
	k->shredded = strcmp(x->original_state, "restricted") != 0;
	struct srv_rec *a = k->ar;
	a->bad_path = strlen(x->original_path) >= sizeof(a->path) || x->original_path[0] == '/' ||
		      strstr(x->original_path, "..") != NULL;
	snprintf(a->path, sizeof(a->path), "%s", x->original_path);
	snprintf(a->format, sizeof(a->format), "%s", x->original_format);
	snprintf(a->sha256, sizeof(a->sha256), "%s", x->original_sha256);
	snprintf(a->plain_sha256, sizeof(a->plain_sha256), "%s",
		 x->original_plain_sha256 ? x->original_plain_sha256 : "");
	a->rec.encrypted = x->original_encrypted;
	return 0;
}

bool srv_original_audio(struct srv_req *r, int64_t id, const char *obj, struct srv_rec *ar,
			int *rc)
{
	if (!srv_allow(r, API_ACT_ORIGINAL, false, "call.listen", obj, rc))
		return false;
	struct first k = {.ar = ar};
	if (idx_redactions_list(r->ix, id, take_first, &k)) {
		*rc = srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				"the index failed");
		return false;
	}
	if (!k.found || k.shredded) {
		srv_audit(r, "call.listen", obj, API_AUDIT_FAILED,
			  k.found ? "original shredded" : "no redaction");
		*rc = k.found ? srv_error(r, MHD_HTTP_GONE, "gone", "version",
					  "the original was shredded when the call was redacted")
			      : srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "version",
					  "the call has not been redacted: it has no other version");
		return false;
	}
	return true;
}
