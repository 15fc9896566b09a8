/*
 * subject.c - data-subject requests (GDPR art. 15 access, art. 17 erasure;
 * CCPA): find every call of one party, export them with their proofs, or
 * erase them.  Shared by `earshot subject` (cli/subject.c) and POST
 * /api/subject/export|erase (handlers_subject.c).
 *
 * A party is matched as a user's own calls are (api_party_matches: the
 * normalised user part of the caller's or callee's URI), and also by its
 * P-Asserted-Identity, which names the same person.  Erasure deletes each
 * recording through the one deletion path (record/delete.c: hold check,
 * tombstone "erasure.<reason>", key, file) and pseudonymises the call's
 * row (index/subject.c); a held call is left whole and reported with its
 * hold (GDPR art. 17(3)(e): legal claims).
 */
#include "api/api.h"
#include "api/calljson.h"
#include "record/bundle.h"
#include "record/record.h"
#include "store/ledger.h"
#include "store/zip.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define ERR(...) snprintf(err, errlen, __VA_ARGS__)

/* ---- the party and its pseudonym ------------------------------------------------- */

int api_subject_number(const char *number, char *out, size_t cap)
{
	if (!number || strchr(number, ',') || api_numbers_norm(number, out, cap) || !out[0])
		return ES_EINVAL;
	return 0;
}

/* DATA/subject.key: 32 random bytes made on first use (0600), the key of
 * the pseudonyms, so that a pseudonym cannot be reversed by hashing every
 * possible number without the data folder. */
static int subject_key(const char *data_dir, uint8_t key[32], char *err, size_t errlen)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/subject.key", data_dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		uint8_t k[32];
		randombytes_buf(k, sizeof(k));
		char tmp[4300];
		snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
		int w = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		bool ok = w >= 0 && write(w, k, sizeof(k)) == (ssize_t)sizeof(k) && !fsync(w);
		if (w >= 0)
			close(w);
		/* link, not rename: a key made at the same moment by another run wins */
		if (ok && link(tmp, path) && errno != EEXIST)
			ok = false;
		unlink(tmp);
		sodium_memzero(k, sizeof(k));
		if (!ok) {
			ERR("cannot create %s: %s", path, strerror(errno));
			return ES_EIO;
		}
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		ERR("cannot read %s: %s", path, strerror(errno));
		return ES_EIO;
	}
	ssize_t n = read(fd, key, 32);
	close(fd);
	if (n != 32) {
		ERR("%s: not a 32-byte key", path);
		return ES_EFORMAT;
	}
	return 0;
}

int api_subject_pseudonym(const char *data_dir, const char *norm, char out[API_PSEUDO_MAX],
			  char *err, size_t errlen)
{
	uint8_t key[32], md[12];
	int rc = subject_key(data_dir, key, err, errlen);
	if (rc)
		return rc;
	crypto_generichash(md, sizeof(md), (const uint8_t *)norm, strlen(norm), key, sizeof(key));
	sodium_memzero(key, sizeof(key));
	char hex[2 * sizeof(md) + 1];
	sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
	snprintf(out, API_PSEUDO_MAX, "erased:%s", hex);
	return 0;
}

/* ---- finding the calls ---------------------------------------------------------- */

static bool party_is(const char *norm, const struct idx_party *p)
{
	return api_party_matches(norm, p->user, p->uri) ||
	       (p->pai && api_party_matches(norm, NULL, p->pai));
}

struct find {
	const char *norm;
	struct api_subject_call *v;
	size_t n, cap;
	int err;
};

static int find_one(void *ud, const struct idx_call *c)
{
	struct find *f = ud;
	unsigned roles = (party_is(f->norm, &c->caller) ? 1u << IDX_CALLER : 0) |
			 (party_is(f->norm, &c->callee) ? 1u << IDX_CALLEE : 0);
	if (!roles)
		return 0;
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 16;
		struct api_subject_call *v = realloc(f->v, cap * sizeof(*v));
		if (!v) {
			f->err = ES_ENOMEM;
			return 1;
		}
		f->v = v;
		f->cap = cap;
	}
	struct api_subject_call *s = &f->v[f->n];
	memset(s, 0, sizeof(*s));
	s->row = c->id;
	s->roles = roles;
	s->start_us = c->start_us;
	snprintf(s->call_id, sizeof(s->call_id), "%s", c->call_id ? c->call_id : "");
	if (c->recording) {
		s->encrypted = c->recording->encrypted;
		if (!(s->path = strdup(c->recording->path ? c->recording->path : ""))) {
			f->err = ES_ENOMEM;
			return 1;
		}
	}
	f->n++;
	return 0;
}

int api_subject_find(struct idx *ix, const char *norm, struct api_subject_call **out, size_t *n)
{
	/* every call, not the party filter: that is a substring of the stored
	 * text, which misses a number stored with separators ("+1 555-1234") */
	struct idx_filter flt = {0};
	struct find f = {.norm = norm};
	int rc = idx_calls_list(ix, &flt, find_one, &f);
	if (f.err)
		rc = f.err;
	if (rc) {
		api_subject_calls_free(f.v, f.n);
		f.v = NULL;
		f.n = 0;
	}
	*out = f.v;
	*n = f.n;
	return rc;
}

void api_subject_calls_free(struct api_subject_call *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].path);
	free(v);
}

/* ---- export ---------------------------------------------------------------------- */

static void roles_json(struct es_json *j, unsigned roles)
{
	es_json_arr_begin(j);
	if (roles & (1u << IDX_CALLER))
		es_json_str(j, "caller");
	if (roles & (1u << IDX_CALLEE))
		es_json_str(j, "callee");
	es_json_arr_end(j);
}

static const char readme[] =
	"earshot data-subject export\n"
	"===========================\n"
	"\n"
	"manifest.json lists every call of the party in this file with its\n"
	"metadata (\"call\": as `earshot show --json` prints it) and, when the call\n"
	"has a recording, the name of its evidence bundle (call-ID.zip: the audio,\n"
	"the signed metadata, the ledger leaf, its inclusion proof and the signed\n"
	"tree head; see the README inside it).  A party with many calls gets\n"
	"several parts (\"part\" of \"parts\"): FILE.zip, FILE-part2.zip, ...\n"
	"\n"
	"Check it offline, without the recorder, with\n"
	"    earshot-verify-evidence [--key LEDGER.PUB] THIS.zip\n"
	"which checks every bundle against its own signed head and that every\n"
	"bundle the manifest names is there.\n";

static int call_json_one(void *ud, const struct idx_call *c)
{
	api_call_json(ud, c, true);
	return 0;
}

/* The name of part k (1-based) of out: out itself, then "X-partK.zip". */
static void part_name(const char *out, size_t k, char *buf, size_t cap)
{
	size_t ol = strlen(out);
	if (k == 1) {
		snprintf(buf, cap, "%s", out);
		return;
	}
	bool zip = ol > 4 && !strcasecmp(out + ol - 4, ".zip");
	snprintf(buf, cap, "%.*s-part%zu.zip", (int)(zip ? ol - 4 : ol), out, k);
}

/* The whole of fd as the entry name of w. */
static int copy_fd(struct st_zip_writer *w, const char *name, int fd)
{
	uint8_t buf[65536];
	int rc = st_zip_writer_begin(w, name);
	for (off_t off = 0; !rc;) {
		ssize_t n = pread(fd, buf, sizeof(buf), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = ES_EIO;
		if (n <= 0)
			break;
		rc = st_zip_writer_write(w, buf, (size_t)n);
		off += n;
	}
	return rc ? rc : st_zip_writer_end(w);
}

/* One call into the manifest m, and its bundle into the zip w. */
static int export_call(struct api_subject_export *q, struct st_zip_writer *w,
		       struct api_subject_call *c, struct es_json *m,
		       char *err, size_t errlen)
{
	es_json_obj_begin(m);
	es_json_key(m, "id"); es_json_int(m, c->row);
	es_json_key(m, "party_is"); roles_json(m, c->roles);
	es_json_key(m, "call");
	int rc = idx_call_get(q->ix, c->row, call_json_one, m);
	if (rc) {
		ERR("call %lld: its metadata could not be read: %s", (long long)c->row,
		    rc == ES_EDB ? idx_errmsg(q->ix) : es_strerror(rc));
		return rc;
	}
	es_json_key(m, "evidence");
	if (!c->path) {
		es_json_null(m);
		es_json_obj_end(m);
		return 0;
	}
	char label[32], name[48], sub[512];
	snprintf(label, sizeof(label), "%lld", (long long)c->row);
	snprintf(name, sizeof(name), "call-%lld.zip", (long long)c->row);
	/* built in memory (a memfd) and streamed in: no plaintext audio of
	 * ours touches a disk but the export itself */
	struct rec_evidence_info info;
	int fd = -1;
	rc = rec_evidence_bundle_memfd(q->data_dir, NULL, NULL, q->ix, c->row, label, &fd, &info,
				       sub, sizeof(sub));
	if (!rc) {
		rc = copy_fd(w, name, fd);
		close(fd);
		if (rc)
			snprintf(sub, sizeof(sub), "adding it: %s", es_strerror(rc));
	}
	if (rc) {
		ERR("call %lld: no evidence bundle: %s", (long long)c->row, sub);
		return rc;
	}
	es_json_str(m, name);
	es_json_obj_end(m);
	q->nbundles++;
	return 0;
}

/* Part k of nparts: calls v[0..n) with the manifest and README. */
static int export_part(struct api_subject_export *q, const char *norm, const char *part,
		       size_t k, size_t nparts, struct api_subject_call *v, size_t n, char *err,
		       size_t errlen)
{
	struct st_zip_writer *w = NULL;
	char *mtext = NULL;
	size_t mlen = 0;
	int rc = q->out_fd >= 0 ? st_zip_writer_open_fd(&w, q->out_fd, part, err, errlen)
				: st_zip_writer_open(&w, part, err, errlen);
	if (rc)
		return rc;
	FILE *mf = open_memstream(&mtext, &mlen);
	if (!mf) {
		st_zip_writer_free(w);
		ERR("out of memory");
		return ES_ENOMEM;
	}
	struct es_json m;
	es_json_init(&m, mf, true);
	es_json_obj_begin(&m);
	es_json_key(&m, "format"); es_json_str(&m, "earshot-subject-export");
	es_json_key(&m, "version"); es_json_int(&m, 1);
	es_json_key(&m, "party"); es_json_str(&m, norm);
	es_json_key(&m, "created"); api_json_time(&m, q->now_us);
	es_json_key(&m, "part"); es_json_int(&m, (int64_t)k);
	es_json_key(&m, "parts"); es_json_int(&m, (int64_t)nparts);
	es_json_key(&m, "calls");
	es_json_arr_begin(&m);
	for (size_t i = 0; i < n && !rc; i++)
		rc = export_call(q, w, &v[i], &m, err, errlen);
	es_json_arr_end(&m);
	es_json_obj_end(&m);
	es_json_end(&m);
	fputc('\n', mf);
	fclose(mf);
	if (!rc && !mtext) {
		rc = ES_ENOMEM;
		ERR("out of memory");
	}
	if (!rc && ((rc = st_zip_writer_add(w, "manifest.json", mtext, mlen)) ||
		    (rc = st_zip_writer_add(w, "README.txt", readme, sizeof(readme) - 1)) ||
		    (rc = st_zip_writer_finish(w))))
		ERR("%s: %s", part, es_strerror(rc));
	free(mtext);
	st_zip_writer_free(w); /* an unfinished archive is removed */
	return rc;
}

int api_subject_export(struct api_subject_export *q, char *err, size_t errlen)
{
	char norm[IDX_NUMBERS_MAX + 1], part[4200];
	struct api_subject_call *v = NULL;
	size_t n = 0;
	q->ncalls = q->nbundles = q->nparts = 0;
	if (api_subject_number(q->number, norm, sizeof(norm))) {
		ERR("--party: not a number (digits, letters, '+' first, separators \" -.()/\")");
		return ES_EINVAL;
	}
	int rc = api_subject_find(q->ix, norm, &v, &n);
	if (rc) {
		ERR("%s", idx_errmsg(q->ix));
		return rc;
	}
	size_t nparts = n ? (n + API_SUBJECT_PART_CALLS - 1) / API_SUBJECT_PART_CALLS : 1;
	if (q->out_fd >= 0 && nparts > 1) {
		ERR("%zu calls: more than one part (%d calls); use `earshot subject export`", n,
		    API_SUBJECT_PART_CALLS);
		api_subject_calls_free(v, n);
		q->ncalls = n;
		return ES_ELIMIT;
	}
	struct stat st;
	for (size_t k = 1; k <= nparts && !rc; k++) {
		part_name(q->out, k, part, sizeof(part));
		if (q->out_fd < 0 && !lstat(part, &st)) {
			ERR("%s exists; an export is never written over a file", part);
			rc = ES_EEXIST;
		}
	}
	size_t k = 0;
	while (!rc && k < nparts) {
		size_t from = k * API_SUBJECT_PART_CALLS;
		size_t cnt = n - from < API_SUBJECT_PART_CALLS ? n - from : API_SUBJECT_PART_CALLS;
		part_name(q->out, ++k, part, sizeof(part));
		rc = export_part(q, norm, part, k, nparts, v + from, cnt, err, errlen);
	}
	if (rc && q->out_fd < 0) /* never a partial export: the parts written go too */
		while (k > 1)
			part_name(q->out, --k, part, sizeof(part)), unlink(part);
	else
		q->nparts = nparts;
	q->ncalls = n;
	api_subject_calls_free(v, n);
	return rc;
}

/* ---- erasure --------------------------------------------------------------------- */

/* "erasure.<reason>" in the ledger's alphabet ([a-z0-9._-], 64 bytes): the
 * reason lowercased, other characters as '-'. */
static void tomb_reason(const char *reason, char out[ST_LEDGER_REASON_MAX + 1])
{
	size_t n = (size_t)snprintf(out, ST_LEDGER_REASON_MAX + 1, "erasure.");
	for (const char *p = reason; *p && n < ST_LEDGER_REASON_MAX; p++) {
		char c = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			c = '-';
		if (c == '-' && out[n - 1] == '-')
			continue;
		out[n++] = c;
	}
	while (n > 8 && out[n - 1] == '-')
		n--;
	out[n == 8 ? n - 1 : n] = '\0'; /* no reason left: "erasure" */
}

static int erase_one(struct api_subject_erase *q, struct rec_deleter *d,
		     struct api_subject_call *c, const char *tomb, const char *pseudo, char *err,
		     size_t errlen)
{
	char held[IDX_HOLD_NAME_MAX + 1] = "";
	int h = idx_call_held(q->ix, c->row, held, sizeof(held));
	if (h < 0) {
		ERR("%s", idx_errmsg(q->ix));
		return h;
	}
	if (h) {
		/* a legal hold keeps the whole call: its recording and its row */
		c->state = API_SUBJECT_HELD;
		snprintf(c->hold, sizeof(c->hold), "%s", held);
		if (!q->dry_run) {
			char obj[64], detail[160];
			snprintf(obj, sizeof(obj), "call:%lld", (long long)c->row);
			snprintf(detail, sizeof(detail), "under legal hold %s", held);
			api_audit_append(q->ix, q->now_us, q->actor, "subject.erase", obj, q->remote,
					 API_AUDIT_DENIED, detail, NULL);
		}
		return 0;
	}
	c->state = c->path ? API_SUBJECT_ERASED : API_SUBJECT_METADATA;
	if (q->dry_run)
		return 0;
	int rc = 0;
	if (c->path) {
		struct rec_del_target t = {.call_row = c->row, .path = c->path,
					   .encrypted = c->encrypted};
		rc = rec_del_begin(d, &t, tomb, q->now_us, &c->seq, held, sizeof(held), err, errlen);
		if (!rc && (rc = st_ledger_commit(q->ledger)))
			ERR("the ledger could not record the erasure of %s: %s", c->path,
			    es_strerror(rc));
		if (!rc)
			rc = rec_del_end(d, &t, err, errlen);
		if (rc)
			return rc;
	}
	rc = idx_call_erase_parties(q->ix, c->row, c->roles, pseudo);
	if (rc)
		ERR("call %lld: its metadata could not be pseudonymised: %s", (long long)c->row,
		    idx_errmsg(q->ix));
	return rc;
}

int api_subject_erase(struct api_subject_erase *q, char *err, size_t errlen)
{
	char norm[IDX_NUMBERS_MAX + 1], tomb[ST_LEDGER_REASON_MAX + 1];
	q->calls = NULL;
	q->ncalls = 0;
	if (api_subject_number(q->number, norm, sizeof(norm))) {
		ERR("--party: not a number (digits, letters, '+' first, separators \" -.()/\")");
		return ES_EINVAL;
	}
	if (!q->reason || !q->reason[0] || strlen(q->reason) > 500) {
		ERR("--reason: 1-500 characters (a request reference, not personal data)");
		return ES_EINVAL;
	}
	int rc = api_subject_pseudonym(q->data_dir, norm, q->pseudonym, err, errlen);
	if (rc)
		return rc;
	tomb_reason(q->reason, tomb);
	snprintf(q->tombstone, sizeof(q->tombstone), "%s", tomb);
	if ((rc = api_subject_find(q->ix, norm, &q->calls, &q->ncalls))) {
		ERR("%s", idx_errmsg(q->ix));
		return rc;
	}
	struct rec_deleter d = {.data_dir = q->data_dir, .ix = q->ix, .ledger = q->ledger};
	for (size_t i = 0; i < q->ncalls && !rc; i++)
		rc = erase_one(q, &d, &q->calls[i], tomb, q->pseudonym, err, errlen);
	rec_deleter_close(&d);
	if (q->dry_run)
		return rc;
	size_t ne = 0, nh = 0;
	for (size_t i = 0; i < q->ncalls; i++) {
		ne += q->calls[i].state == API_SUBJECT_ERASED ||
		      q->calls[i].state == API_SUBJECT_METADATA;
		nh += q->calls[i].state == API_SUBJECT_HELD;
	}
	char obj[API_PSEUDO_MAX + 8], detail[700];
	snprintf(obj, sizeof(obj), "party:%s", q->pseudonym);
	snprintf(detail, sizeof(detail), "%zu calls erased, %zu kept by legal holds%s: %s", ne, nh,
		 rc ? " (stopped by an error)" : "", q->reason);
	api_audit_append(q->ix, q->now_us, q->actor, "subject.erase", obj, q->remote,
			 rc ? API_AUDIT_FAILED : API_AUDIT_OK, detail, NULL);
	return rc;
}

const char *api_subject_state_name(enum api_subject_state s)
{
	static const char *const names[] = {"found", "erased", "metadata_erased", "held"};
	return (unsigned)s < ES_ARRAY_LEN(names) ? names[s] : "?";
}

void api_subject_report_json(struct es_json *j, const struct api_subject_erase *q)
{
	es_json_obj_begin(j);
	es_json_key(j, "dry_run"); es_json_bool(j, q->dry_run);
	es_json_key(j, "pseudonym"); es_json_str(j, q->pseudonym);
	es_json_key(j, "tombstone_reason"); es_json_str(j, q->tombstone);
	es_json_key(j, "calls");
	es_json_arr_begin(j);
	for (size_t i = 0; i < q->ncalls; i++) {
		const struct api_subject_call *c = &q->calls[i];
		es_json_obj_begin(j);
		es_json_key(j, "id"); es_json_int(j, c->row);
		es_json_key(j, "start"); api_json_time(j, c->start_us);
		es_json_key(j, "party_is"); roles_json(j, c->roles);
		/* a dry run erased nothing: what it would do is "found" (or "held") */
		es_json_key(j, "result");
		es_json_str(j, api_subject_state_name(q->dry_run && c->state != API_SUBJECT_HELD
							      ? API_SUBJECT_FOUND : c->state));
		es_json_key(j, "recording");
		if (c->path) es_json_str(j, c->path); else es_json_null(j);
		es_json_key(j, "tombstone");
		if (c->seq) es_json_int(j, (int64_t)c->seq); else es_json_null(j);
		es_json_key(j, "hold");
		if (c->hold[0]) es_json_str(j, c->hold); else es_json_null(j);
		es_json_obj_end(j);
	}
	es_json_arr_end(j);
	es_json_obj_end(j);
}
