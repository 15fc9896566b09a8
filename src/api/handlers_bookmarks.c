/*
 * handlers_bookmarks.c - bookmarks, comments and clips on a call (#18):
 *   GET    /api/calls/{id}/bookmarks        the call's bookmarks, by time
 *   POST   /api/calls/{id}/bookmarks        {at_ms, end_ms?, text}: 201
 *   DELETE /api/calls/{id}/bookmarks/{bid}  the author or an admin
 *   GET    /api/calls/{id}/clips            the call's clips
 *   POST   /api/calls/{id}/clips            {start_ms, end_ms, title?, expires_in_s?}
 *   GET    /api/clips/{cid}                 a clip's metadata
 *   GET    /api/clips/{cid}/audio           the span as WAV (API_ACT_LISTEN)
 *   GET    /api/clips/{cid}/export          the same as an attachment (API_ACT_EXPORT)
 * Whoever may listen to the call may bookmark it and make and play its
 * clips: every request is checked against the call as GET .../audio is
 * (srv_access_call_ex: role, own-call rule, team scope).  A clip's id is no
 * bearer capability: a viewer who may not listen to the call gets the same
 * 404 as for no clip at all.  The span is cut from the stored recording
 * (record/clip.c: checked, decrypted in memory, decoded), so a redacted
 * call's clip plays the redacted audio.  Audited: call.bookmark (add,
 * delete), call.clip (make), call.listen and call.export with the span.
 */
#include "api/server_internal.h"
#include "record/record.h"

#include <microhttpd.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define SRV_CLIP_MAX_MS (10 * 60 * 1000)          /* a clip's span: bounds its WAV in memory */
#define SRV_CLIP_EXPIRY_MAX_S (366 * 24 * 3600)   /* expires_in_s */

/* UTF-8 code points of s (srv_text_ok has checked it). */
static size_t chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static int unavailable(struct srv_req *r)
{
	return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL, "the index failed");
}

/* ---- bookmarks ------------------------------------------------------------------------ */

static int bookmark_obj(void *ud, const struct idx_bookmark *b)
{
	struct es_json *j = ud;
	es_json_obj_begin(j);
	es_json_key(j, "id"); es_json_int(j, b->id);
	es_json_key(j, "at_ms"); es_json_int(j, b->at_ms);
	es_json_key(j, "end_ms");
	if (b->end_ms >= 0)
		es_json_int(j, b->end_ms);
	else
		es_json_null(j);
	es_json_key(j, "user"); es_json_str(j, b->user);
	es_json_key(j, "text"); es_json_str(j, b->text);
	es_json_key(j, "created"); api_json_time(j, b->created_us);
	es_json_obj_end(j);
	return 0;
}

/* {"id": added (when > 0), "bookmarks": [...], "may_delete_all": admin}. */
static int send_bookmarks(struct srv_req *r, int64_t id, unsigned status, int64_t added)
{
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	if (added > 0) {
		es_json_key(&o.j, "id");
		es_json_int(&o.j, added);
	}
	es_json_key(&o.j, "bookmarks");
	es_json_arr_begin(&o.j);
	int err = idx_bookmarks_list(r->ix, id, 0, bookmark_obj, &o.j);
	es_json_arr_end(&o.j);
	es_json_key(&o.j, "may_delete_all");
	es_json_bool(&o.j, r->user.role == API_ROLE_ADMIN);
	es_json_obj_end(&o.j);
	if (err) {
		srv_json_discard(&o);
		return unavailable(r);
	}
	return srv_json_send(r, status, &o);
}

static int bookmarks_get(struct srv_req *r, int64_t id)
{
	int rc;
	char obj[24];
	if (!srv_access_call(r, id, API_ACT_LISTEN, "call.view", obj, &rc))
		return rc;
	srv_audit(r, "call.view", obj, API_AUDIT_OK, "bookmarks");
	return send_bookmarks(r, id, MHD_HTTP_OK, 0);
}

static int bookmark_add(struct srv_req *r, int64_t id)
{
	int rc;
	char obj[24];
	if (!srv_access_call(r, id, API_ACT_LISTEN, "call.bookmark", obj, &rc))
		return rc;
	if (!srv_json_body(r, "call.bookmark", &rc))
		return rc;
	struct srv_jfield f[] = {
		{.key = "at_ms", .type = SRV_JUINT, .required = true},
		{.key = "end_ms", .type = SRV_JUINT},
		{.key = "text", .type = SRV_JSTR, .required = true},
	};
	const char *bad = NULL;
	int perr = srv_body_fields(&r->body, f, ES_ARRAY_LEN(f), &bad);
	if (perr == ES_ENOMEM)
		return unavailable(r);
	if (!perr && (!srv_text_ok(f[2].s, strlen(f[2].s)) ||
		      chars(f[2].s) > IDX_BOOKMARK_TEXT_MAX))
		perr = ES_EPARSE, bad = "text";
	if (!perr && f[1].present && f[1].i <= f[0].i)
		perr = ES_EPARSE, bad = "end_ms";
	if (perr) {
		srv_fields_free(f, ES_ARRAY_LEN(f));
		srv_audit(r, "call.bookmark", obj, API_AUDIT_FAILED, bad);
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", bad,
				 "expected {\"at_ms\": MS, \"end_ms\": MS (optional, after at_ms),"
				 " \"text\": 1..%d characters of text}", IDX_BOOKMARK_TEXT_MAX);
	}
	struct idx_bookmark b = {.call_row = id, .user = r->user.name, .at_ms = f[0].i,
				 .end_ms = f[1].present ? f[1].i : -1, .text = f[2].s,
				 .created_us = srv_now_us()};
	int64_t bid = 0;
	int err = idx_bookmark_add(r->ix, &b, &bid);
	size_t tlen = strlen(f[2].s);
	srv_fields_free(f, ES_ARRAY_LEN(f));
	if (err)
		return err == ES_ENOTFOUND
			       ? srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "id", "no such call")
			       : unavailable(r);
	char d[128];
	snprintf(d, sizeof(d), "bookmark %lld at %lld ms%s, %zu bytes", (long long)bid,
		 (long long)b.at_ms, b.end_ms >= 0 ? " (a span)" : "", tlen);
	srv_audit(r, "call.bookmark", obj, API_AUDIT_OK, d);
	return send_bookmarks(r, id, MHD_HTTP_CREATED, bid);
}

static int bookmark_author(void *ud, const struct idx_bookmark *b)
{
	snprintf(ud, IDX_NAME_MAX + 1, "%s", b->user);
	return 0;
}

static int bookmark_delete(struct srv_req *r, int64_t id, int64_t bid)
{
	int rc;
	char obj[24];
	if (!srv_access_call(r, id, API_ACT_LISTEN, "call.bookmark", obj, &rc))
		return rc;
	char author[IDX_NAME_MAX + 1] = "", d[96];
	int err = bid > 0 ? idx_bookmarks_list(r->ix, id, bid, bookmark_author, author)
			  : ES_ENOTFOUND;
	snprintf(d, sizeof(d), "delete bookmark %lld", (long long)bid);
	if (err == ES_ENOTFOUND) {
		srv_audit(r, "call.bookmark", obj, API_AUDIT_FAILED, d);
		return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "bookmark",
				 "the call has no such bookmark");
	}
	if (err)
		return unavailable(r);
	if (strcmp(author, r->user.name) && r->user.role != API_ROLE_ADMIN) {
		srv_audit(r, "call.bookmark", obj, API_AUDIT_DENIED, d);
		return srv_error(r, MHD_HTTP_FORBIDDEN, "forbidden", "bookmark",
				 "only its author or an admin may delete a bookmark");
	}
	err = idx_bookmark_delete(r->ix, id, bid);
	if (err && err != ES_ENOTFOUND)
		return unavailable(r);
	srv_audit(r, "call.bookmark", obj, err ? API_AUDIT_FAILED : API_AUDIT_OK, d);
	if (err)
		return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "bookmark",
				 "the call has no such bookmark");
	return send_bookmarks(r, id, MHD_HTTP_OK, 0);
}

/* ---- clips ---------------------------------------------------------------------------- */

static void clip_json(struct es_json *j, const struct idx_clip *c)
{
	es_json_obj_begin(j);
	es_json_key(j, "id"); es_json_int(j, c->id);
	es_json_key(j, "call"); es_json_int(j, c->call_row);
	es_json_key(j, "start_ms"); es_json_int(j, c->start_ms);
	es_json_key(j, "end_ms"); es_json_int(j, c->end_ms);
	es_json_key(j, "title"); es_json_str(j, c->title);
	es_json_key(j, "creator"); es_json_str(j, c->creator);
	es_json_key(j, "created"); api_json_time(j, c->created_us);
	es_json_key(j, "expires"); api_json_time(j, c->expires_us);
	es_json_obj_end(j);
}

static int clip_item(void *ud, const struct idx_clip *c)
{
	clip_json(ud, c);
	return 0;
}

static int clips_get(struct srv_req *r, int64_t id)
{
	int rc;
	char obj[24];
	if (!srv_access_call(r, id, API_ACT_LISTEN, "call.view", obj, &rc))
		return rc;
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "clips");
	es_json_arr_begin(&o.j);
	int err = idx_clips_list(r->ix, id, clip_item, &o.j);
	es_json_arr_end(&o.j);
	es_json_obj_end(&o.j);
	if (err) {
		srv_json_discard(&o);
		return unavailable(r);
	}
	srv_audit(r, "call.view", obj, API_AUDIT_OK, "clips");
	return srv_json_send(r, MHD_HTTP_OK, &o);
}

static int clip_add(struct srv_req *r, int64_t id)
{
	int rc;
	char obj[24];
	if (!srv_access_call(r, id, API_ACT_LISTEN, "call.clip", obj, &rc))
		return rc;
	if (!srv_json_body(r, "call.clip", &rc))
		return rc;
	struct srv_jfield f[] = {
		{.key = "start_ms", .type = SRV_JUINT, .required = true},
		{.key = "end_ms", .type = SRV_JUINT, .required = true},
		{.key = "title", .type = SRV_JSTR},
		{.key = "expires_in_s", .type = SRV_JUINT},
	};
	const char *bad = NULL;
	int perr = srv_body_fields(&r->body, f, ES_ARRAY_LEN(f), &bad);
	if (perr == ES_ENOMEM)
		return unavailable(r);
	if (!perr && (f[1].i <= f[0].i || f[1].i - f[0].i > SRV_CLIP_MAX_MS))
		perr = ES_EPARSE, bad = "end_ms";
	if (!perr && f[2].present && *f[2].s &&
	    (!srv_text_ok(f[2].s, strlen(f[2].s)) || strchr(f[2].s, '\n') ||
	     chars(f[2].s) > IDX_CLIP_TITLE_MAX))
		perr = ES_EPARSE, bad = "title";
	if (!perr && f[3].present && (!f[3].i || f[3].i > SRV_CLIP_EXPIRY_MAX_S))
		perr = ES_EPARSE, bad = "expires_in_s";
	if (perr) {
		srv_fields_free(f, ES_ARRAY_LEN(f));
		srv_audit(r, "call.clip", obj, API_AUDIT_FAILED, bad);
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", bad,
				 "expected {\"start_ms\": MS, \"end_ms\": MS (after start_ms, at most"
				 " %d s later), \"title\": 0..%d characters (optional),"
				 " \"expires_in_s\": 1..%d (optional)}",
				 SRV_CLIP_MAX_MS / 1000, IDX_CLIP_TITLE_MAX, SRV_CLIP_EXPIRY_MAX_S);
	}
	int64_t now = srv_now_us();
	struct idx_clip c = {.call_row = id, .start_ms = f[0].i, .end_ms = f[1].i,
			     .created_us = now,
			     .expires_us = f[3].present ? now + f[3].i * ES_US_PER_SEC : 0};
	snprintf(c.creator, sizeof(c.creator), "%s", r->user.name);
	snprintf(c.title, sizeof(c.title), "%s", f[2].present ? f[2].s : "");
	srv_fields_free(f, ES_ARRAY_LEN(f));
	int err = idx_clip_add(r->ix, &c, &c.id);
	if (err)
		return err == ES_ENOTFOUND
			       ? srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "id", "no such call")
			       : unavailable(r);
	char d[128];
	snprintf(d, sizeof(d), "clip %lld: %lld-%lld ms", (long long)c.id, (long long)c.start_ms,
		 (long long)c.end_ms);
	srv_audit(r, "call.clip", obj, API_AUDIT_OK, d);
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	clip_json(&o.j, &c);
	return srv_json_send(r, MHD_HTTP_CREATED, &o);
}

/* The clip cid and its call, checked for act as the call's own requests
 * are: a missing clip and one on a call r may not act on get one answer
 * (404 "no such clip"); the audit keeps which.  An expired clip: 410. */
struct clip_call {
	struct srv_req *r;
	bool own;
	struct srv_rec rec;
};

static int clip_call_row(void *ud, const struct idx_call *c)
{
	struct clip_call *cc = ud;
	cc->own = srv_call_own(cc->r, c);
	return srv_rec_row(&cc->rec, c);
}

static bool clip_access(struct srv_req *r, int64_t cid, enum api_action act, const char *action,
			const char *const *params, struct idx_clip *clip, struct clip_call *cc,
			char obj[24], int *rc)
{
	bool answered;
	if (!srv_authenticate(r, rc))
		return false;
	if ((*rc = srv_args_check(r, params, &answered)), answered)
		return false;
	char cobj[24]; /* cid has at most 9 digits (id_of) */
	snprintf(cobj, sizeof(cobj), "clip %d", (int)cid);
	/* a role that may not do act on any call is told so for any id */
	if (!srv_allow(r, act, true, action, cobj, rc))
		return false;
	int err = cid > 0 ? idx_clip_get(r->ix, cid, clip) : ES_ENOTFOUND;
	if (err && err != ES_ENOTFOUND) {
		*rc = unavailable(r);
		return false;
	}
	cc->r = r;
	if (!err) {
		snprintf(obj, 24, "%lld", (long long)clip->call_row);
		err = idx_call_brief(r->ix, clip->call_row, clip_call_row, cc);
		if (err && err != ES_ENOTFOUND) {
			*rc = unavailable(r);
			return false;
		}
	} else {
		memcpy(obj, cobj, sizeof(cobj));
	}
	if (!err && srv_may(r, act, cc->own)) {
		if (clip->expires_us && clip->expires_us <= srv_now_us()) {
			srv_audit(r, action, obj, API_AUDIT_FAILED, "clip expired");
			*rc = srv_error(r, MHD_HTTP_GONE, "expired", "id", "the clip has expired");
			return false;
		}
		return true;
	}
	char d[128];
	snprintf(d, sizeof(d), "%s: %s", cobj,
		 err ? "no such clip" : "not this user's to act on (answered as absent)");
	srv_audit(r, action, obj, err ? API_AUDIT_FAILED : API_AUDIT_DENIED, d);
	*rc = srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "id", "no such clip");
	return false;
}

static int clip_meta(struct srv_req *r, int64_t cid)
{
	int rc;
	char obj[24];
	struct idx_clip c;
	struct clip_call cc = {0};
	if (!clip_access(r, cid, API_ACT_LISTEN, "call.view", NULL, &c, &cc, obj, &rc))
		return rc;
	char d[48];
	snprintf(d, sizeof(d), "clip %lld", (long long)cid);
	srv_audit(r, "call.view", obj, API_AUDIT_OK, d);
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	clip_json(&o.j, &c);
	return srv_json_send(r, MHD_HTTP_OK, &o);
}

static void wav_free(void *cls)
{
	struct es_buf *b = cls;
	if (b->p)
		sodium_memzero(b->p, b->cap);
	es_buf_free(b);
	free(b);
}

/* GET /api/clips/{cid}/audio (export: .../export): the span rendered now
 * from the call's current recording. */
static int clip_audio(struct srv_req *r, int64_t cid, bool export)
{
	static const char *const listen_params[] = {"reason", NULL};
	const char *action = export ? "call.export" : "call.listen";
	int rc;
	char obj[24];
	struct idx_clip c;
	struct clip_call cc = {0};
	const char *reason = NULL;
	if (!clip_access(r, cid, export ? API_ACT_EXPORT : API_ACT_LISTEN, action,
			 export ? NULL : listen_params, &c, &cc, obj, &rc) ||
	    (!export && !srv_listen_reason(r, "call.listen", obj, &reason, &rc)))
		return rc;
	if (!cc.rec.has_rec || cc.rec.bad_path) {
		srv_audit(r, action, obj, API_AUDIT_FAILED, "clip: no recording");
		return srv_error(r, MHD_HTTP_NOT_FOUND, "no_recording", "id",
				 "the call has no stored recording (yet)");
	}
	char err[600] = "";
	/* another node's recording: fetched as GET .../export does (issue #16) */
	int e = srv_rec_reach(r, &cc.rec, err, sizeof(err));
	if (e)
		return srv_rec_unreachable(r, action, obj, e, err);
	struct es_buf *wav = calloc(1, sizeof(*wav));
	if (!wav)
		return MHD_NO;
	struct rec_span sp;
	e = rec_recording_span(r->srv->data_dir, r->srv->vault, &cc.rec.rec, c.start_ms,
				   c.end_ms, wav, &sp, err, sizeof(err));
	char d[300 + 200];
	if (e) {
		wav_free(wav);
		ES_LOG_WARNING("api", "clip %lld of call %s: %s", (long long)cid, obj, err);
		snprintf(d, sizeof(d), "clip %lld: %.400s", (long long)cid, err);
		srv_audit(r, action, obj, API_AUDIT_FAILED, d);
		if (e == ES_ECRYPTO)
			return srv_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "tampered", NULL,
					 "the recording does not match its hash or does not decrypt");
		if (e == ES_ENOKEK) /* a KEK, not the one that wrapped this key */
			return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "no_kek", NULL, "%s", err);
		if (e == ES_ENOTFOUND && strstr(err, "after the recording's end"))
			return srv_error(r, MHD_HTTP_RANGE_NOT_SATISFIABLE, "outside", "id",
					 "the clip starts after the recording's end");
		if (e == ES_ENOTFOUND)
			return srv_error(r, MHD_HTTP_GONE, "gone", "id",
					 "the recording's file or key is gone");
		return srv_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "clip_failed", NULL,
				 "the clip could not be made");
	}
	/* the span in the audit entry: what was heard or taken, exactly */
	snprintf(d, sizeof(d), "%s%s%sclip %lld: %lld-%lld ms (frames %llu-%llu at %u Hz), %zu bytes",
		 reason ? "reason: " : "", reason ? reason : "", reason ? "; " : "",
		 (long long)cid, (long long)c.start_ms, (long long)c.end_ms,
		 (unsigned long long)sp.first_frame,
		 (unsigned long long)(sp.first_frame + sp.frames), sp.rate, wav->len);
	srv_audit(r, action, obj, API_AUDIT_OK, d);
	struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback_cls(
		wav->len, wav->p, wav_free, wav);
	if (!resp) {
		wav_free(wav);
		return MHD_NO;
	}
	srv_headers(resp, false);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "audio/wav");
	if (export) {
		char cd[96];
		snprintf(cd, sizeof(cd), "attachment; filename=\"clip-%lld.wav\"", (long long)cid);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, cd);
	}
	return srv_queue(r, MHD_HTTP_OK, resp);
}

/* ---- routes ----------------------------------------------------------------------------- */

static bool id_of(struct slice s, int64_t *id)
{
	uint32_t v;
	if (!s.len || s.len > 9 || sl_to_u32(s, &v) || !v)
		return false;
	*id = v;
	return true;
}

int srv_call_bookmarks_route(struct srv_req *r, int64_t id, bool clips, struct slice rest)
{
	const char *m = r->method;
	bool get = !strcmp(m, "GET") || !strcmp(m, "HEAD");
	if (clips) {
		if (rest.len)
			return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no such resource");
		if (get)
			return clips_get(r, id);
		if (!strcmp(m, "POST"))
			return clip_add(r, id);
		return srv_method_not_allowed(r, "GET, POST");
	}
	if (rest.len) {
		int64_t bid;
		if (!id_of(rest, &bid))
			return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "bookmark",
					 "no such bookmark");
		if (!strcmp(m, "DELETE"))
			return bookmark_delete(r, id, bid);
		return srv_method_not_allowed(r, "DELETE");
	}
	if (get)
		return bookmarks_get(r, id);
	if (!strcmp(m, "POST"))
		return bookmark_add(r, id);
	return srv_method_not_allowed(r, "GET, POST");
}

int srv_clips_route(struct srv_req *r, const char *rest)
{
	struct slice idp, sub = {0};
	bool has_sub = sl_split(sl_cstr(rest), '/', &idp, &sub);
	int64_t cid;
	if (!id_of(idp, &cid) ||
	    (has_sub && !sl_eq(sub, sl_cstr("audio")) && !sl_eq(sub, sl_cstr("export"))))
		return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no such resource");
	if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
		return srv_method_not_allowed(r, "GET");
	if (!has_sub)
		return clip_meta(r, cid);
	return clip_audio(r, cid, sl_eq(sub, sl_cstr("export")));
}
