/*
 * recover.c - media logs left in the spool by a crash or kill -9.  Each log
 * holds the call's metadata (its last META record: "key=value" lines
 * written by spool.c) and every RTP payload spooled before the crash; it
 * becomes a call row flagged "recovered" (end reason "crash", ended at its
 * last packet) with per-stream packet counts and times, handed to the same
 * callback as a finished call, which renders its recording.  The consent
 * decision the log's metadata holds (consent.c: what an end at the crash
 * would decide, so a required consent whose window was still open counts
 * as missing) is applied first: the parties without consent are cut from
 * the log, the call flagged "no_consent".
 */
#include "record/record_internal.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TAG "recover"
#define MAX_STREAMS 64

struct meta {
	char *text; /* unescaped values point into it */
	const char *v[20];
};

static const char *const meta_keys[] = {
	"call_id", "start_us", "answer_us",
	"caller.uri", "caller.user", "caller.display", "caller.pai", "caller.ua",
	"callee.uri", "callee.user", "callee.display", "callee.pai", "callee.ua",
	"source", "rule",
	"consent.drop", "consent.no_consent", "consent.caller", "consent.callee",
};
enum { M_CALL_ID, M_START, M_ANSWER, M_CALLER, M_CALLEE = 8, M_SOURCE = 13, M_RULE,
       M_CDROP, M_CNO, M_CCALLER, M_CCALLEE };

/* Parse "key=value" lines in place. */
static void meta_parse(struct meta *m, const uint8_t *p, size_t n)
{
	free(m->text);
	memset(m, 0, sizeof(*m));
	m->text = malloc(n + 1);
	if (!m->text)
		return;
	memcpy(m->text, p, n);
	m->text[n] = '\0';
	char *save = NULL;
	for (char *line = strtok_r(m->text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		/* unescape the value in place */
		char *r = eq + 1, *w = eq + 1;
		for (; *r; r++) {
			if (*r == '\\' && r[1]) {
				r++;
				*w++ = *r == 'n' ? '\n' : *r == 'r' ? '\r' : *r;
			} else {
				*w++ = *r;
			}
		}
		*w = '\0';
		for (size_t k = 0; k < ES_ARRAY_LEN(meta_keys); k++)
			if (!strcmp(line, meta_keys[k]))
				m->v[k] = eq + 1;
	}
}

static int64_t meta_int(const struct meta *m, int k)
{
	return m->v[k] ? strtoll(m->v[k], NULL, 10) : 0;
}

struct rstream {
	int party;
	uint32_t ssrc;
	uint64_t packets;
	int64_t first_us, last_us;
	char pts[64];
};

static void add_pt(struct rstream *s, uint8_t pt)
{
	char one[8];
	snprintf(one, sizeof(one), "%u", pt);
	/* already listed? */
	const char *p = s->pts;
	size_t n = strlen(one);
	while (*p) {
		if (!strncmp(p, one, n) && (p[n] == ',' || p[n] == '\0'))
			return;
		p = strchr(p, ',');
		if (!p)
			break;
		p++;
	}
	size_t len = strlen(s->pts);
	if (len + n + 2 < sizeof(s->pts))
		snprintf(s->pts + len, sizeof(s->pts) - len, "%s%s", len ? "," : "", one);
}

static void recover_one(const char *path, const struct mlog_keys *keys, rec_recover_fn fn,
			void *ud)
{
	char err[512];
	struct mlog_reader *r;
	if (mlog_open_keyed(&r, path, keys, err, sizeof(err))) {
		ES_LOG_WARNING(TAG, "%s: not recovered: %s", path, err);
		return;
	}
	struct meta m = {0};
	struct rstream st[MAX_STREAMS];
	unsigned nst = 0;
	struct mlog_rec rec;
	int rc;
	int64_t last_us = 0;
	while ((rc = mlog_next(r, &rec, err, sizeof(err))) == 1) {
		if (rec.type == MLOG_REC_META) {
			meta_parse(&m, rec.payload, rec.len);
		} else if (rec.type == MLOG_REC_STREAM && rec.stream == nst && nst < MAX_STREAMS) {
			st[nst] = (struct rstream){.party = rec.party, .ssrc = rec.ssrc};
			nst++;
		} else if (rec.type == MLOG_REC_RTP && rec.stream < nst) {
			struct rstream *s = &st[rec.stream];
			if (!s->packets)
				s->first_us = rec.ts_us;
			s->packets++;
			s->last_us = rec.ts_us;
			add_pt(s, rec.pt);
			if (rec.ts_us > last_us)
				last_us = rec.ts_us;
		}
	}
	if (rc < 0)
		ES_LOG_WARNING(TAG, "%s: read up to a damaged record: %s", path, err);
	const char *call_id = m.v[M_CALL_ID] ? m.v[M_CALL_ID] : mlog_call_id(r);
	int64_t start = m.v[M_START] ? meta_int(&m, M_START) : mlog_start_us(r);
	int64_t answer = meta_int(&m, M_ANSWER);

	struct idx_stream streams[MAX_STREAMS];
	memset(streams, 0, sizeof(streams));
	for (unsigned i = 0; i < nst; i++) {
		streams[i].party = st[i].party;
		streams[i].ssrc = st[i].ssrc;
		streams[i].packets = st[i].packets;
		streams[i].first_us = st[i].first_us;
		streams[i].last_us = st[i].last_us;
		streams[i].payload_types = st[i].pts[0] ? st[i].pts : NULL;
	}
	struct idx_call c = {
		.call_id = call_id && *call_id ? call_id : "unknown",
		.start_us = start,
		.answer_us = answer,
		.end_us = last_us > start ? last_us : start,
		.outcome = answer || last_us ? "answered" : "in_progress",
		.end_reason = "crash",
		.flags = "recovered",
		.source = m.v[M_SOURCE] ? m.v[M_SOURCE] : "live",
		.rule = m.v[M_RULE],
		.streams = streams,
		.nstreams = nst,
	};
	struct idx_party *parties[2] = {&c.caller, &c.callee};
	for (int p = 0; p < 2; p++) {
		int base = p == 0 ? M_CALLER : M_CALLEE;
		parties[p]->uri = m.v[base];
		parties[p]->user = m.v[base + 1];
		parties[p]->display = m.v[base + 2];
		parties[p]->pai = m.v[base + 3];
		parties[p]->ua = m.v[base + 4];
	}
	const char *known[] = {"given", "refused", "announced", "missing", "not_required"};
	for (int p = 0; p < 2; p++)
		for (size_t k = 0; k < ES_ARRAY_LEN(known); k++)
			if (m.v[M_CCALLER + p] && !strcmp(m.v[M_CCALLER + p], known[k]))
				c.consent[p] = known[k];
	char cid[256];
	snprintf(cid, sizeof(cid), "%s", c.call_id); /* the reader's, closed below */
	c.call_id = cid;
	mlog_reader_close(r);
	const char *media = path;
	if (m.v[M_CNO] && !strcmp(m.v[M_CNO], "1")) {
		const char *dv = m.v[M_CDROP] ? m.v[M_CDROP] : "";
		bool drop[2] = {strstr(dv, "caller") != NULL, strstr(dv, "callee") != NULL};
		bool gone = false;
		c.flags = "recovered,no_consent";
		if (rec_consent_cut(path, drop, cid, keys, &gone) || gone)
			media = gone ? NULL : path;
		if (!gone && access(path, F_OK) != 0)
			media = NULL;
		ES_LOG_INF(TAG, "call %s: consent %s/%s at the crash: %s%s audio cut", cid,
			   c.consent[0] ? c.consent[0] : "-", c.consent[1] ? c.consent[1] : "-",
			   dv[0] ? dv : "no", dv[0] ? "'s" : "");
	}
	ES_LOG_INF(TAG, "recovering call %s from %s (%u streams, media until %.1f s after its start)",
		   c.call_id, path, nst, (double)(c.end_us - start) / 1e6);
	fn(ud, &c, media);
	free(m.text);
}

unsigned rec_recover_spool(const char *spool_dir, struct st_vault *vault, rec_recover_fn fn,
			   void *ud)
{
	/* plain logs of an earlier version read as before; encrypted ones need
	 * the data folder's keys */
	struct mlog_keys keys;
	rec_spool_keys(&keys, vault);
	DIR *d = opendir(spool_dir);
	if (!d)
		return 0;
	unsigned n = 0;
	struct dirent *de;
	char path[4096];
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".mlog") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", spool_dir, de->d_name);
		recover_one(path, keys.ud ? &keys : NULL, fn, ud);
		n++;
	}
	closedir(d);
	return n;
}
