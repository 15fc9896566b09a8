/*
 * reconcile.c - proof of completeness (issue #17): every answered call of a
 * window against its recording.  The engine indexes every call it saw,
 * recorded or not, with the flags that say why not (finish.c): a rule
 * (not_recorded), a consent refusal (no_consent), a spool that failed
 * (recording_cut: disk full), no media, a codec it cannot decode, packets
 * the capture dropped while it ran (capture_drops, record/live.c); pauses
 * are events; a recording finished after a crash is "recovered"; a deleted
 * one left a tombstone in the ledger.  A call answered with none of these
 * and no recording, or whose recording's file is gone, is unexplained.
 */
#include "record/record.h"
#include "store/ledger.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* What the ledger says of a call row's recording: its last leaf. */
enum { LD_NONE = 0, LD_REC, LD_TOMB };
struct ld_state {
	uint8_t kind;
	char reason[ST_LEDGER_REASON_MAX + 1];
};

struct rc_call {
	int64_t id, start_us, answer_us, end_us;
	char call_id[160], caller[96], callee[96], flags[256], rule[64];
	bool has_rec;
	char rec_path[256], rec_flags[320];
	uint64_t rec_bytes;
};

struct rc_list {
	struct rc_call *v;
	size_t n, cap;
	int err;
};

static void copy(char *dst, size_t cap, const char *s)
{
	snprintf(dst, cap, "%s", s ? s : "");
}

static int collect(void *ud, const struct idx_call *c)
{
	struct rc_list *L = ud;
	if (!c->answer_us)
		return 0; /* only answered dialogs are owed a recording */
	if (L->n == L->cap) {
		size_t nc = L->cap ? L->cap * 2 : 64;
		struct rc_call *p = realloc(L->v, nc * sizeof(*p));
		if (!p) {
			L->err = ES_ENOMEM;
			return 1;
		}
		L->v = p;
		L->cap = nc;
	}
	struct rc_call *o = &L->v[L->n++];
	memset(o, 0, sizeof(*o));
	o->id = c->id;
	o->start_us = c->start_us;
	o->answer_us = c->answer_us;
	o->end_us = c->end_us;
	copy(o->call_id, sizeof(o->call_id), c->call_id);
	copy(o->caller, sizeof(o->caller), c->caller.user ? c->caller.user : c->caller.uri);
	copy(o->callee, sizeof(o->callee), c->callee.user ? c->callee.user : c->callee.uri);
	copy(o->flags, sizeof(o->flags), c->flags);
	copy(o->rule, sizeof(o->rule), c->rule);
	if (c->recording) {
		o->has_rec = true;
		copy(o->rec_path, sizeof(o->rec_path), c->recording->path);
		copy(o->rec_flags, sizeof(o->rec_flags), c->recording->flags);
		o->rec_bytes = c->recording->bytes;
	}
	return 0;
}

static bool flag(const char *flags, const char *f)
{
	size_t l = strlen(f);
	for (const char *p = flags; (p = strstr(p, f)) != NULL; p += l)
		if ((p == flags || p[-1] == ',') && (p[l] == ',' || !p[l]))
			return true;
	return false;
}

/* The call row a ledger id names: "recordings/Y/M/D/<row>.<ext>[.enc]". */
static int64_t id_row(const char *id)
{
	const char *b = strrchr(id, '/');
	b = b ? b + 1 : id;
	char *end;
	long long v = strtoll(b, &end, 10);
	return end != b && *end == '.' && v > 0 ? (int64_t)v : 0;
}

/* The last recording or tombstone leaf of each row in [lo, hi]. */
static void ledger_states(const struct st_ledger *l, int64_t lo, int64_t hi, struct ld_state *st)
{
	uint64_t n = l ? st_ledger_size(l) : 0;
	for (uint64_t seq = 0; seq < n; seq++) {
		struct st_ledger_entry e;
		if (st_ledger_entry(l, seq, &e))
			continue;
		if (e.type != ST_ENTRY_RECORDING && e.type != ST_ENTRY_TOMBSTONE)
			continue;
		int64_t row = id_row(e.id);
		if (row < lo || row > hi)
			continue;
		struct ld_state *s = &st[row - lo];
		s->kind = e.type == ST_ENTRY_RECORDING ? LD_REC : LD_TOMB;
		copy(s->reason, sizeof(s->reason), e.type == ST_ENTRY_TOMBSTONE ? e.reason : "");
	}
}

/* Whether the call's events hold a pause (policy/pause: nothing recorded
 * while paused). */
static int has_pause_fn(void *ud, const struct idx_call *c)
{
	bool *p = ud;
	for (unsigned i = 0; i < c->nevents; i++)
		if (c->events[i].kind && !strcmp(c->events[i].kind, "pause"))
			*p = true;
	return 0;
}

struct verdict {
	enum rec_rc_status status;
	const char *reason;
	char detail[400];
};

static void judge(struct idx *ix, const char *data_dir, const struct rc_call *c,
		  const struct ld_state *ld, struct verdict *v)
{
	v->detail[0] = '\0';
	/* events are not in the list's rows: one read per call (a report, not
	 * a hot path) */
	bool paused = false;
	idx_call_get(ix, c->id, has_pause_fn, &paused);
	if (c->has_rec) {
		struct idx_recording r = {.path = c->rec_path};
		char path[4300];
		struct stat st;
		if (rec_recording_path(data_dir, &r, path, sizeof(path)) || stat(path, &st)) {
			v->status = REC_RC_UNEXPLAINED;
			v->reason = "recording_missing";
			snprintf(v->detail, sizeof(v->detail), "%s: %s", c->rec_path, strerror(errno));
			return;
		}
		if ((uint64_t)st.st_size != c->rec_bytes) {
			v->status = REC_RC_UNEXPLAINED;
			v->reason = "recording_changed";
			snprintf(v->detail, sizeof(v->detail), "%s: %lld bytes, indexed %llu",
				 c->rec_path, (long long)st.st_size, (unsigned long long)c->rec_bytes);
			return;
		}
		v->status = REC_RC_RECORDED;
		/* what a complete-looking recording may still lack */
		v->reason = flag(c->rec_flags, "recovered")       ? "recovered_after_crash"
			    : flag(c->flags, "recording_cut")      ? "cut_disk_full"
			    : paused                               ? "paused"
			    : flag(c->flags, "capture_drops")      ? "capture_drops"
			    : flag(c->rec_flags, "recording_gap")  ? "gaps"
								   : NULL;
		snprintf(v->detail, sizeof(v->detail), "%s", c->rec_path);
		return;
	}
	v->status = REC_RC_NOT_RECORDED;
	if (ld->kind == LD_TOMB) {
		v->reason = "deleted";
		snprintf(v->detail, sizeof(v->detail), "tombstone: %s", ld->reason);
	} else if (flag(c->flags, "no_consent")) {
		v->reason = "consent";
	} else if (flag(c->flags, "not_recorded")) {
		v->reason = "rule";
		snprintf(v->detail, sizeof(v->detail), "%s", c->rule[0] ? c->rule : "default");
	} else if (flag(c->flags, "recording_cut")) {
		v->reason = "disk_full";
	} else if (flag(c->flags, "capture_drops") && flag(c->flags, "no_media")) {
		/* its media may have been what the capture lost (live.c) */
		v->reason = "capture_drops";
	} else if (flag(c->flags, "no_media")) {
		v->reason = "no_media";
	} else if (flag(c->flags, "undecoded_codec")) {
		v->reason = "undecoded_codec";
	} else if (paused) {
		v->reason = "paused";
	} else if (ld->kind == LD_REC) {
		/* the ledger vouches for a recording the index no longer has */
		v->status = REC_RC_UNEXPLAINED;
		v->reason = "index_row_missing";
	} else if (flag(c->flags, "recovered")) {
		v->reason = "crash";
		snprintf(v->detail, sizeof(v->detail), "no audio survived the crash");
	} else {
		v->status = REC_RC_UNEXPLAINED;
		v->reason = "no_recording";
	}
}

static const char *status_name(enum rec_rc_status s)
{
	return s == REC_RC_RECORDED ? "recorded" : s == REC_RC_NOT_RECORDED ? "not_recorded"
									   : "unexplained";
}

int rec_reconcile(struct idx *ix, const struct st_ledger *l, const char *data_dir,
		  int64_t from_us, int64_t to_us, int64_t now_us, char **json, size_t *jlen,
		  struct rec_reconcile_totals *t, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	*json = NULL;
	struct rc_list L = {0};
	struct idx_filter f = {.from_us = from_us, .to_us = to_us};
	int rc = idx_calls_list(ix, &f, collect, &L);
	struct ld_state *ld = NULL;
	FILE *m = NULL;
	if (L.err || (rc && rc != 1)) {
		rc = es_errf(err, errlen, L.err ? L.err : rc, "listing the calls: %s",
			     L.err ? es_strerror(L.err) : idx_errmsg(ix));
		goto out;
	}
	int64_t lo = INT64_MAX, hi = 0;
	for (size_t i = 0; i < L.n; i++) {
		lo = ES_MIN(lo, L.v[i].id);
		hi = ES_MAX(hi, L.v[i].id);
	}
	if (L.n && !(ld = calloc((size_t)(hi - lo + 1), sizeof(*ld)))) {
		rc = es_errf(err, errlen, ES_ENOMEM, "out of memory");
		goto out;
	}
	if (L.n)
		ledger_states(l, lo, hi, ld);
	if (!(m = open_memstream(json, jlen))) {
		rc = es_errf(err, errlen, ES_ENOMEM, "out of memory");
		goto out;
	}
	struct es_json j;
	es_json_init(&j, m, false);
	es_json_obj_begin(&j);
	es_json_key(&j, "from_us"); es_json_int(&j, from_us);
	es_json_key(&j, "to_us"); es_json_int(&j, to_us);
	es_json_key(&j, "generated_us"); es_json_int(&j, now_us);
	es_json_key(&j, "ledger"); es_json_bool(&j, l != NULL);
	es_json_key(&j, "calls");
	es_json_arr_begin(&j);
	for (size_t i = 0; i < L.n; i++) {
		const struct rc_call *c = &L.v[i];
		struct verdict v;
		judge(ix, data_dir, c, &ld[c->id - lo], &v);
		t->answered++;
		t->recorded += v.status == REC_RC_RECORDED;
		t->not_recorded += v.status == REC_RC_NOT_RECORDED;
		t->unexplained += v.status == REC_RC_UNEXPLAINED;
		es_json_obj_begin(&j);
		es_json_key(&j, "id"); es_json_int(&j, c->id);
		es_json_key(&j, "call_id"); es_json_str(&j, c->call_id);
		es_json_key(&j, "start_us"); es_json_int(&j, c->start_us);
		es_json_key(&j, "answer_us"); es_json_int(&j, c->answer_us);
		es_json_key(&j, "end_us"); es_json_int(&j, c->end_us);
		es_json_key(&j, "caller"); es_json_str(&j, c->caller);
		es_json_key(&j, "callee"); es_json_str(&j, c->callee);
		es_json_key(&j, "status"); es_json_str(&j, status_name(v.status));
		es_json_key(&j, "reason"); es_json_str(&j, v.reason);
		es_json_key(&j, "detail"); es_json_str(&j, v.detail[0] ? v.detail : NULL);
		es_json_obj_end(&j);
	}
	es_json_arr_end(&j);
	es_json_key(&j, "answered"); es_json_int(&j, t->answered);
	es_json_key(&j, "recorded"); es_json_int(&j, t->recorded);
	es_json_key(&j, "not_recorded"); es_json_int(&j, t->not_recorded);
	es_json_key(&j, "unexplained"); es_json_int(&j, t->unexplained);
	es_json_obj_end(&j); /* one line, no newline: the signed report's line 2 */
	rc = 0;
out:
	if (m && fclose(m) && !rc)
		rc = es_errf(err, errlen, ES_ENOMEM, "out of memory");
	if (rc) {
		free(*json);
		*json = NULL;
	}
	free(ld);
	free(L.v);
	return rc;
}
