/*
 * handlers_qa.c - QA scorecards (issue #18):
 *   GET  /api/forms                    the newest version of every form (any role)
 *   POST /api/forms                    {name, sections: [{title, questions: [{id,
 *                                      text, kind: yesno|scale, weight, na?, fatal?}]}]}:
 *                                      a new version of the form (admin): 201
 *   GET  /api/forms/{id}               one version
 *   GET  /api/calls/{id}/evaluations   the call's evaluations (who may view the call)
 *   POST /api/calls/{id}/evaluations   {form, answers: {qid: "yes"|"no"|"na"|1..5},
 *                                      comment?}: score the call (API_ACT_EVALUATE): 201
 *   GET  /api/reports/qa               ?from&to&agent&team&form&format=csv: count,
 *                                      average, weeks, agents, lowest questions;
 *                                      the CSV (one row an evaluation) audited
 *                                      as an export (qa.export)
 *
 * Scoring: a question earns its weight for "yes", nothing for "no", and
 * weight * (v - 1) / 4 for a scale answer v of 1..5; "na" (only where the
 * question allows it) leaves the question out of both sums.  The score is
 * 100 * earned / possible; a fatal question answered "no" makes it 0.
 * Every evaluation names the form version it used; the call's agent is the
 * agent user one of whose numbers is a party (the own-call rule's match).
 * Every evaluation, and every read of evaluations, is audited (qa.*).
 */
#include "api/server_internal.h"
#include "api/teams.h"

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define QA_SECTIONS_MAX 50
#define QA_QUESTIONS_MAX 200  /* in a form */
#define QA_TEXT_MAX 500       /* bytes of a question's or a section's text */
#define QA_NAME_MAX 80
#define QA_COMMENT_MAX 2000
#define QA_WEIGHT_MAX 100
#define QA_REPORT_ROWS 500    /* evaluations listed in a report */

static bool json_type(const char *ct)
{
	static const char want[] = "application/json";
	size_t n = sizeof(want) - 1;
	return ct && !strncasecmp(ct, want, n) && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' ');
}

/* 1..max bytes, no control characters. */
static bool text_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (!n || n > max)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static bool qid_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (!n || n > 32)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
			return false;
	return true;
}

static int bad(struct srv_req *r, const char *action, const char *obj, const char *param,
	       const char *msg)
{
	char d[128];
	snprintf(d, sizeof(d), "bad %s", param);
	srv_audit(r, action, obj, API_AUDIT_FAILED, d);
	return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", param, "%s", msg);
}

static int unavailable(struct srv_req *r)
{
	return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL, "the index failed");
}

/* ---- forms --------------------------------------------------------------------------- */

/* A form's questions are checked and the whole form rewritten in one shape
 * (only known keys): *out (malloc'd) or the name of what is wrong
 * (server_internal.h; fuzz/fuzz_qa_form.c). */
const char *srv_qa_form_check(const cJSON *in, char **out)
{
	*out = NULL;
	if (!cJSON_IsObject(in))
		return "body";
	for (const cJSON *k = in->child; k; k = k->next)
		if (strcmp(k->string, "name") && strcmp(k->string, "sections"))
			return "body";
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(in, "name");
	const cJSON *secs = cJSON_GetObjectItemCaseSensitive(in, "sections");
	if (!cJSON_IsString(name) || !text_ok(name->valuestring, QA_NAME_MAX))
		return "name";
	int ns = cJSON_GetArraySize(secs);
	if (!cJSON_IsArray(secs) || ns < 1 || ns > QA_SECTIONS_MAX)
		return "sections";
	cJSON *o = cJSON_CreateObject(), *os = cJSON_AddArrayToObject(o, "sections");
	const char *why = NULL;
	int nq_all = 0;
	cJSON_AddStringToObject(o, "name", name->valuestring);
	const cJSON *s;
	cJSON_ArrayForEach(s, secs) {
		const cJSON *title = cJSON_GetObjectItemCaseSensitive(s, "title");
		const cJSON *qs = cJSON_GetObjectItemCaseSensitive(s, "questions");
		if (!cJSON_IsObject(s) || !cJSON_IsString(title) ||
		    !text_ok(title->valuestring, QA_TEXT_MAX) || !cJSON_IsArray(qs) ||
		    cJSON_GetArraySize(qs) < 1) {
			why = "sections";
			goto out;
		}
		cJSON *osec = cJSON_CreateObject();
		cJSON_AddItemToArray(os, osec);
		cJSON_AddStringToObject(osec, "title", title->valuestring);
		cJSON *oqs = cJSON_AddArrayToObject(osec, "questions");
		const cJSON *q;
		cJSON_ArrayForEach(q, qs) {
			const cJSON *id = cJSON_GetObjectItemCaseSensitive(q, "id");
			const cJSON *text = cJSON_GetObjectItemCaseSensitive(q, "text");
			const cJSON *kind = cJSON_GetObjectItemCaseSensitive(q, "kind");
			const cJSON *w = cJSON_GetObjectItemCaseSensitive(q, "weight");
			const cJSON *na = cJSON_GetObjectItemCaseSensitive(q, "na");
			const cJSON *fatal = cJSON_GetObjectItemCaseSensitive(q, "fatal");
			bool scale = cJSON_IsString(kind) && !strcmp(kind->valuestring, "scale");
			bool yesno = cJSON_IsString(kind) && !strcmp(kind->valuestring, "yesno");
			if (++nq_all > QA_QUESTIONS_MAX || !cJSON_IsString(id) ||
			    !qid_ok(id->valuestring) || !cJSON_IsString(text) ||
			    !text_ok(text->valuestring, QA_TEXT_MAX) || (!scale && !yesno) ||
			    (w && (!cJSON_IsNumber(w) || !(w->valuedouble > 0) ||
				   w->valuedouble > QA_WEIGHT_MAX)) ||
			    (na && !cJSON_IsBool(na)) || (fatal && !cJSON_IsBool(fatal)) ||
			    (cJSON_IsTrue(fatal) && !yesno)) {
				why = "questions";
				goto out;
			}
			/* ids are unique over the whole form: answers are keyed by them */
			for (const cJSON *p = os->child; p; p = p->next) {
				const cJSON *pq;
				cJSON_ArrayForEach(pq, cJSON_GetObjectItemCaseSensitive(p, "questions"))
				if (!strcmp(cJSON_GetObjectItemCaseSensitive(pq, "id")->valuestring,
					    id->valuestring)) {
					why = "questions";
					goto out;
				}
			}
			cJSON *oq = cJSON_CreateObject();
			cJSON_AddStringToObject(oq, "id", id->valuestring);
			cJSON_AddStringToObject(oq, "text", text->valuestring);
			cJSON_AddStringToObject(oq, "kind", kind->valuestring);
			cJSON_AddNumberToObject(oq, "weight", w ? w->valuedouble : 1);
			cJSON_AddBoolToObject(oq, "na", cJSON_IsTrue(na));
			cJSON_AddBoolToObject(oq, "fatal", cJSON_IsTrue(fatal));
			cJSON_AddItemToArray(oqs, oq);
		}
	}
	if (!(*out = cJSON_PrintUnformatted(o)))
		why = "memory";
	else if (strlen(*out) > IDX_QA_FORM_MAX) {
		free(*out);
		*out = NULL;
		why = "body";
	}
out:
	cJSON_Delete(o);
	return why;
}

static int form_row(void *ud, const struct idx_qa_form *f)
{
	struct es_json *j = ud;
	es_json_obj_begin(j);
	es_json_key(j, "id"); es_json_int(j, f->id);
	es_json_key(j, "name"); es_json_str(j, f->name);
	es_json_key(j, "version"); es_json_int(j, f->version);
	es_json_key(j, "created"); api_json_time(j, f->created_us);
	es_json_key(j, "created_by"); es_json_str(j, f->created_by);
	/* the body was written by srv_qa_form_check: JSON of known keys */
	cJSON *b = cJSON_Parse(f->body);
	char *s = b ? cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(b, "sections")) : NULL;
	es_json_key(j, "sections");
	es_json_raw(j, s ? s : "[]");
	free(s);
	cJSON_Delete(b);
	es_json_obj_end(j);
	return 0;
}

static int forms_list(struct srv_req *r)
{
	int rc;
	if (!srv_begin(r, NULL, &rc))
		return rc;
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "forms");
	es_json_arr_begin(&o.j);
	int err = idx_qa_forms_list(r->ix, false, form_row, &o.j);
	es_json_arr_end(&o.j);
	es_json_obj_end(&o.j);
	if (err) {
		srv_json_discard(&o);
		return unavailable(r);
	}
	return srv_json_send(r, MHD_HTTP_OK, &o);
}

static int form_get(struct srv_req *r, int64_t id, unsigned status)
{
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	int err = idx_qa_form_get(r->ix, id, form_row, &o.j);
	if (err) {
		srv_json_discard(&o);
		return err == ES_ENOTFOUND
			       ? srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "id", "no such form")
			       : unavailable(r);
	}
	return srv_json_send(r, status, &o);
}

static int form_save(struct srv_req *r)
{
	int rc;
	if (!srv_begin(r, NULL, &rc) || !srv_allow(r, API_ACT_ADMIN, false, "qa.form.save", NULL, &rc))
		return rc;
	if (!json_type(srv_header(r, MHD_HTTP_HEADER_CONTENT_TYPE)))
		return srv_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "bad_content_type", "body",
				 "send application/json");
	cJSON *in = r->body.len ? cJSON_ParseWithLength((const char *)r->body.p, r->body.len) : NULL;
	char *body = NULL;
	const char *why = srv_qa_form_check(in, &body);
	if (why) {
		cJSON_Delete(in);
		return bad(r, "qa.form.save", NULL, why,
			   "a form: {name, sections: [{title, questions: [{id, text, kind: "
			   "yesno|scale, weight 0..100, na, fatal (yesno only)}]}]}; ids unique");
	}
	int64_t id = 0, version = 0;
	const char *name = cJSON_GetObjectItemCaseSensitive(in, "name")->valuestring;
	int err = idx_qa_form_save(r->ix, name, body, r->user.name, srv_now_us(), &id, &version);
	char detail[64];
	snprintf(detail, sizeof(detail), "version %lld", (long long)version);
	if (!err)
		srv_audit(r, "qa.form.save", name, API_AUDIT_OK, detail);
	cJSON_Delete(in);
	free(body);
	if (err)
		return err == ES_EEXIST ? srv_error(r, MHD_HTTP_CONFLICT, "conflict", NULL,
						    "saved at the same time: try again")
					: unavailable(r);
	return form_get(r, id, MHD_HTTP_CREATED);
}

/* ---- scoring ----------------------------------------------------------------------- */

struct scored {
	struct idx_qa_answer a[QA_QUESTIONS_MAX];
	char val[QA_QUESTIONS_MAX][8];
	size_t n;
	double earned, possible;
	bool fatal;
};

/* The answers (an object qid -> value) against the form's sections: every
 * question answered, nothing else.  NULL or the name of what is wrong. */
static const char *score(const cJSON *sections, const cJSON *answers, struct scored *s)
{
	memset(s, 0, sizeof(*s));
	if (!cJSON_IsObject(answers))
		return "answers";
	const cJSON *sec, *q;
	int given = cJSON_GetArraySize(answers);
	cJSON_ArrayForEach(sec, sections) {
		cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(sec, "questions")) {
			const char *id = cJSON_GetObjectItemCaseSensitive(q, "id")->valuestring;
			const char *kind = cJSON_GetObjectItemCaseSensitive(q, "kind")->valuestring;
			double w = cJSON_GetObjectItemCaseSensitive(q, "weight")->valuedouble;
			bool na_ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(q, "na"));
			bool fatal = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(q, "fatal"));
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(answers, id);
			if (!v || s->n >= QA_QUESTIONS_MAX)
				return "answers";
			struct idx_qa_answer *a = &s->a[s->n];
			char *val = s->val[s->n];
			a->question = id;
			a->answer = val;
			if (cJSON_IsString(v) && !strcmp(v->valuestring, "na")) {
				if (!na_ok)
					return "answers";
				snprintf(val, 8, "na"); /* out of both sums */
			} else if (!strcmp(kind, "yesno") && cJSON_IsString(v) &&
				   (!strcmp(v->valuestring, "yes") || !strcmp(v->valuestring, "no"))) {
				bool yes = !strcmp(v->valuestring, "yes");
				snprintf(val, 8, "%s", yes ? "yes" : "no");
				a->possible = w;
				a->earned = yes ? w : 0;
				if (fatal && !yes)
					s->fatal = true;
			} else if (!strcmp(kind, "scale") && cJSON_IsNumber(v) &&
				   v->valuedouble == (double)v->valueint && v->valueint >= 1 &&
				   v->valueint <= 5) {
				snprintf(val, 8, "%d", v->valueint);
				a->possible = w;
				a->earned = w * (v->valueint - 1) / 4.0;
			} else {
				return "answers";
			}
			s->earned += a->earned;
			s->possible += a->possible;
			s->n++;
			given--;
		}
	}
	if (given != 0)
		return "answers"; /* an answer to a question the form has not */
	if (!(s->possible > 0))
		return "answers"; /* everything not applicable: nothing to score */
	return NULL;
}

/* ---- evaluations of a call ---------------------------------------------------------------- */

struct call_parties {
	char caller_user[128], caller_uri[256], callee_user[128], callee_uri[256];
	char agent[IDX_NAME_MAX + 1];
};

static int parties_row(void *ud, const struct idx_call *c)
{
	struct call_parties *p = ud;
	snprintf(p->caller_user, sizeof(p->caller_user), "%s", c->caller.user ? c->caller.user : "");
	snprintf(p->caller_uri, sizeof(p->caller_uri), "%s", c->caller.uri ? c->caller.uri : "");
	snprintf(p->callee_user, sizeof(p->callee_user), "%s", c->callee.user ? c->callee.user : "");
	snprintf(p->callee_uri, sizeof(p->callee_uri), "%s", c->callee.uri ? c->callee.uri : "");
	return 0;
}

/* The first agent (by name) one of whose numbers is a party. */
static int agent_row(void *ud, const struct api_user *u)
{
	struct call_parties *p = ud;
	if (u->role != API_ROLE_AGENT || p->agent[0])
		return 0;
	if (api_party_matches(u->numbers, p->caller_user, p->caller_uri) ||
	    api_party_matches(u->numbers, p->callee_user, p->callee_uri))
		snprintf(p->agent, sizeof(p->agent), "%s", u->name);
	return 0;
}

static void eval_json(struct es_json *j, const struct idx_qa_eval *e)
{
	es_json_key(j, "id"); es_json_int(j, e->id);
	es_json_key(j, "call"); es_json_int(j, e->call_row);
	es_json_key(j, "form"); es_json_int(j, e->form_id);
	es_json_key(j, "form_name"); es_json_str(j, e->form_name);
	es_json_key(j, "form_version"); es_json_int(j, e->form_version);
	es_json_key(j, "evaluator"); es_json_str(j, e->evaluator);
	es_json_key(j, "agent"); es_json_str(j, e->agent);
	es_json_key(j, "score"); es_json_double(j, e->score, 2);
	es_json_key(j, "fatal"); es_json_bool(j, e->fatal);
	es_json_key(j, "comment"); es_json_str(j, e->comment);
	es_json_key(j, "created"); api_json_time(j, e->created_us);
}

struct evals_out {
	struct es_json *j;
	bool open; /* an evaluation object is open (its answers follow) */
	unsigned n;
};

static void close_open(struct evals_out *o)
{
	if (o->open) {
		es_json_arr_end(o->j);
		es_json_obj_end(o->j);
		o->open = false;
	}
}

static int evals_eval(void *ud, const struct idx_qa_eval *e)
{
	struct evals_out *o = ud;
	close_open(o);
	es_json_obj_begin(o->j);
	eval_json(o->j, e);
	es_json_key(o->j, "answers");
	es_json_arr_begin(o->j);
	o->open = true;
	o->n++;
	return 0;
}

static int evals_answer(void *ud, const struct idx_qa_answer *a)
{
	struct evals_out *o = ud;
	es_json_obj_begin(o->j);
	es_json_key(o->j, "question"); es_json_str(o->j, a->question);
	es_json_key(o->j, "answer"); es_json_str(o->j, a->answer);
	es_json_key(o->j, "earned"); es_json_double(o->j, a->earned, 3);
	es_json_key(o->j, "possible"); es_json_double(o->j, a->possible, 3);
	es_json_obj_end(o->j);
	return 0;
}

static int evals_send(struct srv_req *r, int64_t id, unsigned status)
{
	struct srv_json o;
	if (!srv_json_begin(&o))
		return MHD_NO;
	struct evals_out eo = {.j = &o.j};
	es_json_obj_begin(&o.j);
	es_json_key(&o.j, "evaluations");
	es_json_arr_begin(&o.j);
	int err = idx_qa_evals_of_call(r->ix, id, evals_eval, evals_answer, &eo);
	close_open(&eo);
	es_json_arr_end(&o.j);
	es_json_obj_end(&o.j);
	if (err) {
		srv_json_discard(&o);
		return unavailable(r);
	}
	return srv_json_send(r, status, &o);
}

static int evals_get(struct srv_req *r, int64_t id)
{
	char obj[24];
	int rc;
	if (!srv_access_call(r, id, API_ACT_VIEW, "qa.view", obj, &rc))
		return rc;
	srv_audit(r, "qa.view", obj, API_AUDIT_OK, NULL);
	return evals_send(r, id, MHD_HTTP_OK);
}

static int form_body(void *ud, const struct idx_qa_form *f)
{
	cJSON **out = ud;
	*out = cJSON_Parse(f->body);
	return *out ? 0 : ES_ENOMEM;
}

static int eval_add(struct srv_req *r, int64_t id)
{
	static const char *const none[] = {NULL};
	char obj[24];
	int rc;
	struct call_parties p = {0};
	if (!srv_access_call_ex(r, id, API_ACT_EVALUATE, "qa.evaluate", none, parties_row, &p, obj,
				&rc))
		return rc;
	if (!json_type(srv_header(r, MHD_HTTP_HEADER_CONTENT_TYPE)))
		return srv_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "bad_content_type", "body",
				 "send application/json");
	cJSON *in = r->body.len ? cJSON_ParseWithLength((const char *)r->body.p, r->body.len) : NULL;
	cJSON *form = NULL;
	struct scored *s = NULL;
	const cJSON *fid = cJSON_GetObjectItemCaseSensitive(in, "form");
	const cJSON *comment = cJSON_GetObjectItemCaseSensitive(in, "comment");
	const char *why = cJSON_IsObject(in) ? NULL : "body";
	/* (only an object's members have names) */
	for (const cJSON *k = why ? NULL : in->child; k && !why; k = k->next)
		if (strcmp(k->string, "form") && strcmp(k->string, "answers") &&
		    strcmp(k->string, "comment"))
			why = "body";
	if (!why && (!cJSON_IsNumber(fid) || fid->valuedouble < 1 ||
		     fid->valuedouble != (double)(int64_t)fid->valuedouble))
		why = "form";
	if (!why && comment &&
	    (!cJSON_IsString(comment) || strlen(comment->valuestring) > QA_COMMENT_MAX))
		why = "comment";
	int err = 0;
	if (!why) {
		err = idx_qa_form_get(r->ix, (int64_t)fid->valuedouble, form_body, &form);
		if (err == ES_ENOTFOUND)
			why = "form";
		else if (err) {
			rc = unavailable(r);
			goto out;
		}
	}
	if (!why && !(s = malloc(sizeof(*s)))) {
		rc = srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL, "out of memory");
		goto out;
	}
	if (!why)
		why = score(cJSON_GetObjectItemCaseSensitive(form, "sections"),
			    cJSON_GetObjectItemCaseSensitive(in, "answers"), s);
	if (why) {
		rc = bad(r, "qa.evaluate", obj, why,
			 "{form: ID, answers: {QUESTION: \"yes\"|\"no\"|\"na\"|1..5}, comment}: every "
			 "question of the form answered, \"na\" only where it allows it");
		goto out;
	}
	if ((err = api_users_list(r->ix, agent_row, &p))) {
		rc = unavailable(r);
		goto out;
	}
	struct idx_qa_eval e = {
		.call_row = id,
		.form_id = (int64_t)fid->valuedouble,
		.evaluator = r->user.name,
		.agent = p.agent,
		.comment = comment ? comment->valuestring : "",
		.fatal = s->fatal,
		.score = s->fatal ? 0 : 100.0 * s->earned / s->possible,
		.created_us = srv_now_us(),
	};
	if ((err = idx_qa_eval_add(r->ix, &e, s->a, s->n))) {
		rc = err == ES_ENOTFOUND
			     ? srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "id", "no such call")
			     : unavailable(r);
		goto out;
	}
	char detail[160];
	snprintf(detail, sizeof(detail), "evaluation %lld, form %lld, score %.2f%s, agent %s",
		 (long long)e.id, (long long)e.form_id, e.score, e.fatal ? " (fatal)" : "",
		 p.agent[0] ? p.agent : "-");
	srv_audit(r, "qa.evaluate", obj, API_AUDIT_OK, detail);
	rc = evals_send(r, id, MHD_HTTP_CREATED);
out:
	free(s);
	cJSON_Delete(form);
	cJSON_Delete(in);
	return rc;
}

int srv_call_evaluations(struct srv_req *r, int64_t id)
{
	const char *m = r->method;
	if (!strcmp(m, "GET") || !strcmp(m, "HEAD"))
		return evals_get(r, id);
	return !strcmp(m, "POST") ? eval_add(r, id) : srv_method_not_allowed(r, "GET, HEAD, POST");
}

int srv_forms_route(struct srv_req *r, const char *rest)
{
	const char *m = r->method;
	bool get = !strcmp(m, "GET") || !strcmp(m, "HEAD");
	if (!rest || !*rest) {
		if (get)
			return forms_list(r);
		return !strcmp(m, "POST") ? form_save(r) : srv_method_not_allowed(r, "GET, HEAD, POST");
	}
	uint64_t id;
	if (strlen(rest) > 18 || sl_to_u64(sl_cstr(rest), &id) || !id)
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "id",
				 "a form id is a positive decimal number");
	if (!get)
		return srv_method_not_allowed(r, "GET, HEAD");
	int rc;
	if (!srv_begin(r, NULL, &rc))
		return rc;
	return form_get(r, (int64_t)id, MHD_HTTP_OK);
}

/* ---- the report ------------------------------------------------------------------------ */

struct report {
	struct srv_req *r;
	struct es_json *j;
	FILE *csv;
	unsigned rows;
	struct es_buf names; /* a comma list of agent names */
};

static int rep_total(void *ud, const struct idx_qa_row *row)
{
	struct report *p = ud;
	es_json_key(p->j, "count"); es_json_int(p->j, row->count);
	es_json_key(p->j, "average");
	if (row->count)
		es_json_double(p->j, row->average, 2);
	else
		es_json_null(p->j);
	return 0;
}

static int rep_row(struct report *p, const struct idx_qa_row *row, const char *key)
{
	es_json_obj_begin(p->j);
	if (key) {
		es_json_key(p->j, key); es_json_str(p->j, row->key);
	} else {
		es_json_key(p->j, "week"); api_json_time(p->j, row->week_us);
	}
	es_json_key(p->j, "count"); es_json_int(p->j, row->count);
	es_json_key(p->j, "average"); es_json_double(p->j, row->average, 2);
	es_json_obj_end(p->j);
	return 0;
}

static int rep_week(void *ud, const struct idx_qa_row *row) { return rep_row(ud, row, NULL); }
static int rep_agent(void *ud, const struct idx_qa_row *row) { return rep_row(ud, row, "agent"); }
static int rep_question(void *ud, const struct idx_qa_row *row)
{
	return rep_row(ud, row, "question");
}

static int rep_eval(void *ud, const struct idx_qa_eval *e)
{
	struct report *p = ud;
	if (p->rows++ >= QA_REPORT_ROWS)
		return 0;
	if (p->csv) {
		char t[ES_TIME_STRLEN];
		es_time_fmt(e->created_us, t, sizeof(t));
		/* names are user names (no comma or quote); the form's name may
		 * hold anything printable: quoted, with quotes doubled */
		fprintf(p->csv, "%lld,%s,%lld,%s,%s,\"", (long long)e->id, t, (long long)e->call_row,
			e->agent, e->evaluator);
		for (const char *c = e->form_name; c && *c; c++)
			fputs(*c == '"' ? "\"\"" : (char[]){*c, 0}, p->csv);
		fprintf(p->csv, "\",%lld,%.2f,%s\r\n", (long long)e->form_version, e->score,
			e->fatal ? "yes" : "no");
		return 0;
	}
	es_json_obj_begin(p->j);
	eval_json(p->j, e);
	es_json_obj_end(p->j);
	return 0;
}

static int add_name(struct es_buf *b, const char *name)
{
	if ((b->len && es_buf_append(b, ",", 1)) || es_buf_append(b, name, strlen(name)))
		return ES_ENOMEM;
	return 0;
}

static int team_agent(void *ud, const struct idx_team_member *m)
{
	return strcmp(m->kind, "agent") ? 0 : add_name(ud, m->user);
}

static int scope_agent(void *ud, const char *user, const char *numbers)
{
	(void)numbers;
	return add_name(ud, user);
}

/* Whether name is in the comma list. */
static bool in_list(const char *list, const char *name)
{
	struct slice rest = sl_cstr(list), one;
	while (rest.len) {
		sl_split(rest, ',', &one, &rest);
		if (sl_eq(one, sl_cstr(name)))
			return true;
	}
	return false;
}

int srv_qa_report(struct srv_req *r)
{
	static const char *const params[] = {"from", "to", "agent", "team", "form", "format", NULL};
	int rc;
	if (!srv_begin(r, params, &rc) || !srv_allow(r, API_ACT_EVALUATE, true, "qa.report", NULL, &rc))
		return rc;
	struct idx_qa_filter f = {.from_us = 0, .to_us = INT64_MAX};
	const char *v, *agent = srv_arg(r, "agent"), *team = srv_arg(r, "team");
	const char *fmt = srv_arg(r, "format");
	if ((v = srv_arg(r, "from")) && (strlen(v) > 40 || es_time_parse(v, &f.from_us)))
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "from",
				 "a time: 2026-11-24, 2026-11-24T08:00Z or seconds since 1970");
	if ((v = srv_arg(r, "to")) && (strlen(v) > 40 || es_time_parse(v, &f.to_us)))
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "to",
				 "a time: 2026-11-24, 2026-11-24T08:00Z or seconds since 1970");
	if (agent && !api_name_valid(agent))
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "agent", "a user name");
	if (team && !api_name_valid(team))
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "team", "a team name");
	if ((v = srv_arg(r, "form")) && !text_ok(v, QA_NAME_MAX))
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "form", "a form's name");
	f.form_name = v;
	if (fmt && strcmp(fmt, "csv") && strcmp(fmt, "json"))
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "format", "csv or json");
	bool csv = fmt && !strcmp(fmt, "csv");
	struct report p = {.r = r};
	struct es_buf team_names, scope_names;
	es_buf_init(&p.names);
	es_buf_init(&team_names);
	es_buf_init(&scope_names);
	int err = 0;
	/* the agents: the one asked for, or a team's, within a scoped
	 * supervisor's teams' agents (an empty list matches nobody) */
	if (team && (err = idx_team_members(r->ix, team, team_agent, &team_names)) == ES_ENOTFOUND) {
		rc = srv_error(r, MHD_HTTP_NOT_FOUND, "not_found", "team", "no such team");
		goto out;
	}
	if (!err && r->scoped)
		err = idx_team_scope_numbers(r->ix, r->user.id, scope_agent, &scope_names);
	if (!err && (team || r->scoped || agent)) {
		if (es_buf_append(&team_names, "", 1) || es_buf_append(&scope_names, "", 1))
			err = ES_ENOMEM;
		const char *tl = (const char *)team_names.p, *sl = (const char *)scope_names.p;
		if (agent) {
			if ((!team || in_list(tl, agent)) && (!r->scoped || in_list(sl, agent)))
				err = err ? err : add_name(&p.names, agent);
		} else {
			struct slice rest = sl_cstr(team ? tl : sl), one;
			while (!err && rest.len) {
				sl_split(rest, ',', &one, &rest);
				char n[IDX_NAME_MAX + 1];
				snprintf(n, sizeof(n), "%.*s", (int)one.len, one.p);
				if (!r->scoped || in_list(sl, n))
					err = add_name(&p.names, n);
			}
		}
		if (!err && es_buf_append(&p.names, "", 1))
			err = ES_ENOMEM;
		f.agents = (const char *)p.names.p;
	}
	if (err) {
		rc = unavailable(r);
		goto out;
	}
	struct srv_json o;
	char *cbuf = NULL;
	size_t clen = 0;
	if (csv) {
		if (!(p.csv = open_memstream(&cbuf, &clen))) {
			rc = MHD_NO;
			goto out;
		}
		fputs("id,created,call,agent,evaluator,form,form_version,score,fatal\r\n", p.csv);
		struct idx_qa_report_fns fns = {.ud = &p, .eval = rep_eval};
		err = idx_qa_report(r->ix, &f, 0, &fns);
		if (fclose(p.csv) || err) {
			free(cbuf);
			rc = unavailable(r);
			goto out;
		}
		/* the CSV leaves the system with the agents' names and scores: an
		 * export, audited as one (the JSON report is a read, qa.report) */
		char detail[200];
		snprintf(detail, sizeof(detail), "csv: %u evaluation%s%s%s%s%s", ES_MIN(p.rows, QA_REPORT_ROWS),
			 p.rows == 1 ? "" : "s", f.from_us ? ", from " : "", f.from_us ? srv_arg(r, "from") : "",
			 f.to_us != INT64_MAX ? ", to " : "", f.to_us != INT64_MAX ? srv_arg(r, "to") : "");
		srv_audit(r, "qa.export", team ? team : agent, API_AUDIT_OK, detail);
		struct MHD_Response *resp =
			MHD_create_response_from_buffer(clen, cbuf, MHD_RESPMEM_MUST_FREE);
		if (!resp) {
			free(cbuf);
			rc = MHD_NO;
			goto out;
		}
		srv_headers(resp, false);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/csv; charset=utf-8");
		MHD_add_response_header(resp, "Content-Disposition",
					"attachment; filename=\"qa-report.csv\"");
		rc = srv_queue(r, MHD_HTTP_OK, resp);
		goto out;
	}
	if (!srv_json_begin(&o)) {
		rc = MHD_NO;
		goto out;
	}
	p.j = &o.j;
	es_json_obj_begin(&o.j);
	struct idx_qa_report_fns fns = {.ud = &p, .total = rep_total};
	if (!(err = idx_qa_report(r->ix, &f, 5, &fns))) {
		static const char *const keys[] = {"weeks", "agents", "lowest", "evaluations"};
		for (size_t i = 0; i < ES_ARRAY_LEN(keys) && !err; i++) {
			struct idx_qa_report_fns one = {.ud = &p};
			if (i == 0) one.week = rep_week;
			if (i == 1) one.agent = rep_agent;
			if (i == 2) one.question = rep_question;
			if (i == 3) one.eval = rep_eval;
			es_json_key(&o.j, keys[i]);
			es_json_arr_begin(&o.j);
			err = idx_qa_report(r->ix, &f, 5, &one);
			es_json_arr_end(&o.j);
		}
	}
	es_json_obj_end(&o.j);
	if (err) {
		srv_json_discard(&o);
		rc = unavailable(r);
		goto out;
	}
	srv_audit(r, "qa.report", team ? team : agent, API_AUDIT_OK, "json");
	rc = srv_json_send(r, MHD_HTTP_OK, &o);
out:
	es_buf_free(&p.names);
	es_buf_free(&team_names);
	es_buf_free(&scope_names);
	return rc;
}
