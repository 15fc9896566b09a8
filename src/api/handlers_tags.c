/*
 * handlers_tags.c - tags and notes on a call:
 *   GET    /api/calls/{id}/tags          the call's tags (API_ACT_VIEW)
 *   POST   /api/calls/{id}/tags {tag}    add one: 201, 409 when present
 *   DELETE /api/calls/{id}/tags/{tag}    remove one: 200, 404 when absent
 *   GET    /api/calls/{id}/notes         the call's notes (API_ACT_VIEW)
 *   POST   /api/calls/{id}/notes {text}  append one: 201
 * The changes need API_ACT_TAG (agents on their own calls, supervisors,
 * admins; never auditors) and, for a browser session, the CSRF token
 * (srv_authenticate).  Every access is audited: call.tag, call.untag,
 * call.note; reads as call.view with detail "tags" / "notes".
 */
#include "api/server_internal.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool srv_tag_ok(const char *s, size_t n)
{
	if (!n || n > IDX_TAG_MAX || s[0] == ' ' || s[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == ' '))
			return false;
	}
	return true;
}

bool srv_text_ok(const char *s, size_t n)
{
	bool ink = false;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
				return false;
			if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
				ink = true;
			i++;
			continue;
		}
		size_t len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
		if (!len || (c >= 0xE0 && c < 0xF0 && len != 3) || i + len > n)
			return false;
		uint32_t cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
		for (size_t k = 1; k < len; k++) {
			unsigned char d = (unsigned char)s[i + k];
			if ((d & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (d & 0x3F);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		ink = true;
		i += len;
	}
	return ink;
}

static bool is_json_type(const char *ct)
{
	static const char want[] = "application/json";
	return ct && !strncasecmp(ct, want, sizeof(want) - 1) &&
	       (ct[sizeof(want) - 1] == 0 || ct[sizeof(want) - 1] == ';' ||
		ct[sizeof(want) - 1] == ' ');
}


/* ---- the call and the permission ------------------------------------------------ */

struct own {
	struct srv_req *r;
	bool own;
	idx_call_fn row;
	void *ud;
};

static int own_row(void *ud, const struct idx_call *c)
{
	struct own *o = ud;
	o->own = srv_call_own(o->r, c);
	return o->row ? o->row(o->ud, c) : 0;
}

bool srv_access_call_ex(struct srv_req *r, int64_t id, enum api_action act, const char *action,
			const char *const *params, idx_call_fn row, void *ud, char obj[24], int *rc)
{
	bool answered;
	if (!srv_authenticate(r, rc))
		return false;
	if ((*rc = srv_args_check(r, params, &answered)), answered)
		return false;
	snprintf(obj, 24, "%lld", (long long)id);
	struct own o = {.r = r, .row = row, .ud = ud};
	/* The parties (the own-call rule) and the recording row: not the call's
	 * streams, events and SIP messages (a player's every Range request comes
	 * here). */
	int err = idx_call_brief(r->ix, id, own_row, &o);
	if (err && err != ES_ENOTFOUND) {
		*rc = srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				"the index failed");
		return false;
	}
	return srv_allow_call(r, act, !err, o.own, action, obj, rc);
}

int srv_rec_row(void *ud, const struct idx_call *c)
{
	struct srv_rec *a = ud;
	const struct idx_recording *rec = c->recording;
	snprintf(a->call_id, sizeof(a->call_id), "%s", c->call_id ? c->call_id : "");
	a->start_us = c->start_us;
	a->end_us = c->end_us;
	snprintf(a->node, sizeof(a->node), "%s", c->node ? c->node : "");
	if (!rec || !rec->path)
		return 0;
	a->has_rec = true;
	a->rec = *rec;
	a->call = c->id;
	/* the row's path is ours, but never follow one out of the data folder */
	a->bad_path = strlen(rec->path) >= sizeof(a->path) || rec->path[0] == '/' ||
		      strstr(rec->path, "..") != NULL;
	snprintf(a->path, sizeof(a->path), "%s", rec->path);
	snprintf(a->format, sizeof(a->format), "%s", rec->format ? rec->format : "");
	snprintf(a->sha256, sizeof(a->sha256), "%s", rec->sha256 ? rec->sha256 : "");
	snprintf(a->plain_sha256, sizeof(a->plain_sha256), "%s",
		 rec->plain_sha256 ? rec->plain_sha256 : "");
	a->rec.path = a->path;
	a->rec.format = a->format;
	a->rec.sha256 = a->sha256;
	a->rec.plain_sha256 = a->plain_sha256;
	a->rec.codecs = a->rec.flags = a->rec.stats_json = NULL;
	return 0;
}

bool srv_access_call(struct srv_req *r, int64_t id, enum api_action act, const char *action,
		     char obj[24], int *rc)
{
	static const char *const none[] = {NULL};
	return srv_access_call_ex(r, id, act, action, none, NULL, NULL, obj, rc);
}

/* ---- tags -------------------------------------------------------------------------- */

static int tag_str(void *ud, const struct idx_tag *t)
{
	es_json_str(ud, t->tag);
	return 0;
}

int srv_tags_json(struct srv_req *r, int64_t id, struct es_json *j)
{
	es_json_arr_begin(j);
	int err = idx_tags_list(r->ix, id, tag_str, j);
	es_json_arr_end(j);
	return err;
}

static int tag_obj(void *ud, const struct idx_tag *t)
{
	struct es_json *j = ud;
	es_json_obj_begin(j);
	es_json_key(j, "tag"); es_json_str(j, t->tag);
	es_json_key(j, "user"); es_json_str(j, t->user);
	es_json_key(j, "created"); api_json_time(j, t->created_us);
	es_json_obj_end(j);
	return 0;
}

/* {"tags": [...], "items": [{tag, user, created}...]} with status. */
static int send_tags(struct srv_req *r, int64_t id, unsigned status, const char *added)
{
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	if (added) {
		es_json_key(&o.j, "tag");
		es_json_str(&o.j, added);
	}
	es_json_key(&o.j, "tags");
	int err = srv_tags_json(r, id, &o.j);
	es_json_key(&o.j, "items");
	es_json_arr_begin(&o.j);
	if (!err)
		err = idx_tags_list(r->ix, id, tag_obj, &o.j);
	es_json_arr_end(&o.j);
	es_json_obj_end(&o.j);
	if (err) {
		srv_json_discard(&o);
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "the index failed");
	}
	return srv_json_send(r, status, &o);
}

int srv_call_tags(struct srv_req *r, int64_t id)
{
	int rc;
	char obj[24];
	if (!srv_access_call(r, id, API_ACT_VIEW, "call.view", obj, &rc))
		return rc;
	srv_audit(r, "call.view", obj, API_AUDIT_OK, "tags");
	return send_tags(r, id, MHD_HTTP_OK, NULL);
}

int srv_call_tag(struct srv_req *r, int64_t id)
{
	int rc;
	char obj[24];
	if (!srv_access_call(r, id, API_ACT_TAG, "call.tag", obj, &rc))
		return rc;
	if (!is_json_type(srv_header(r, MHD_HTTP_HEADER_CONTENT_TYPE))) {
		srv_audit(r, "call.tag", obj, API_AUDIT_FAILED, "not application/json");
		return srv_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "bad_content_type", "body",
				 "send application/json");
	}
	char *tag = NULL;
	int perr = srv_body_one(&r->body, "tag", &tag);
	if (perr == ES_ENOMEM)
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "out of memory");
	if (perr || !srv_tag_ok(tag, strlen(tag))) {
		free(tag);
		srv_audit(r, "call.tag", obj, API_AUDIT_FAILED, "bad tag");
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "tag",
				 "expected {\"tag\": TAG}: 1..%d letters, digits, '-', '_', '.' "
				 "or inner spaces", IDX_TAG_MAX);
	}
	int err = idx_tag_add(r->ix, id, tag, r->user.name, srv_now_us());
	if (err == ES_EEXIST) {
		srv_audit(r, "call.tag", obj, API_AUDIT_FAILED, tag);
		free(tag);
		return srv_error(r, MHD_HTTP_CONFLICT, "exists", "tag", "the call has this tag");
	}
	if (err == ES_ENOTFOUND) {
		free(tag);
		return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "id", "no such call");
	}
	if (err) {
		free(tag);
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "the index failed");
	}
	srv_audit(r, "call.tag", obj, API_AUDIT_OK, tag);
	rc = send_tags(r, id, MHD_HTTP_CREATED, tag);
	free(tag);
	return rc;
}

int srv_call_untag(struct srv_req *r, int64_t id, struct slice tag)
{
	int rc;
	char obj[24];
	if (!srv_access_call(r, id, API_ACT_TAG, "call.untag", obj, &rc))
		return rc;
	char t[IDX_TAG_MAX + 1];
	if (!srv_tag_ok(tag.p, tag.len)) {
		srv_audit(r, "call.untag", obj, API_AUDIT_FAILED, "bad tag");
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "tag",
				 "1..%d letters, digits, '-', '_', '.' or inner spaces",
				 IDX_TAG_MAX);
	}
	memcpy(t, tag.p, tag.len);
	t[tag.len] = 0;
	int err = idx_tag_remove(r->ix, id, t);
	if (err == ES_ENOTFOUND) {
		srv_audit(r, "call.untag", obj, API_AUDIT_FAILED, t);
		return srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "tag",
				 "the call does not have this tag");
	}
	if (err)
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "the index failed");
	srv_audit(r, "call.untag", obj, API_AUDIT_OK, t);
	return send_tags(r, id, MHD_HTTP_OK, NULL);
}

/* ---- notes ------------------------------------------------------------------------- */

static int note_obj(void *ud, const struct idx_note *n)
{
	struct es_json *j = ud;
	es_json_obj_begin(j);
	es_json_key(j, "id"); es_json_int(j, n->id);
	es_json_key(j, "user"); es_json_str(j, n->user);
	es_json_key(j, "text"); es_json_str(j, n->text);
	es_json_key(j, "created"); api_json_time(j, n->created_us);
	es_json_obj_end(j);
	return 0;
}

static int send_notes(struct srv_req *r, int64_t id, unsigned status, int64_t added)
{
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	if (added) {
		es_json_key(&o.j, "id");
		es_json_int(&o.j, added);
	}
	es_json_key(&o.j, "notes");
	es_json_arr_begin(&o.j);
	int err = idx_notes_list(r->ix, id, note_obj, &o.j);
	es_json_arr_end(&o.j);
	es_json_obj_end(&o.j);
	if (err) {
		srv_json_discard(&o);
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "the index failed");
	}
	return srv_json_send(r, status, &o);
}

int srv_call_notes(struct srv_req *r, int64_t id)
{
	int rc;
	char obj[24];
	if (!srv_access_call(r, id, API_ACT_VIEW, "call.view", obj, &rc))
		return rc;
	srv_audit(r, "call.view", obj, API_AUDIT_OK, "notes");
	return send_notes(r, id, MHD_HTTP_OK, 0);
}

int srv_call_note(struct srv_req *r, int64_t id)
{
	int rc;
	char obj[24];
	if (!srv_access_call(r, id, API_ACT_TAG, "call.note", obj, &rc))
		return rc;
	if (!is_json_type(srv_header(r, MHD_HTTP_HEADER_CONTENT_TYPE))) {
		srv_audit(r, "call.note", obj, API_AUDIT_FAILED, "not application/json");
		return srv_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "bad_content_type", "body",
				 "send application/json");
	}
	char *text = NULL;
	int perr = srv_body_one(&r->body, "text", &text);
	if (perr == ES_ENOMEM)
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "out of memory");
	size_t n = text ? strlen(text) : 0;
	if (perr || n > IDX_NOTE_MAX || !srv_text_ok(text, n)) {
		free(text);
		srv_audit(r, "call.note", obj, API_AUDIT_FAILED, "bad text");
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "text",
				 "expected {\"text\": TEXT}: 1..%d bytes of UTF-8 text",
				 IDX_NOTE_MAX);
	}
	int64_t nid = 0;
	int err = idx_note_add(r->ix, id, r->user.name, text, srv_now_us(), &nid);
	free(text);
	if (err)
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
				 "the index failed");
	char d[64];
	snprintf(d, sizeof(d), "note %lld, %zu bytes", (long long)nid, n);
	srv_audit(r, "call.note", obj, API_AUDIT_OK, d);
	return send_notes(r, id, MHD_HTTP_CREATED, nid);
}
