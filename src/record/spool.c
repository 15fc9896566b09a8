/*
 * spool.c - each open call's RTP payloads go to its media log (media/mlog)
 * as they are captured, with the payload maps in force: no decoding on the
 * capture path.  The log is rendered into a recording once the call ends.
 */
#include "record/record_internal.h"
#include "store/vault.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG "spool"

static const int sp_other[2] = {SIP_CALLEE, SIP_CALLER};

/* The spool's keys: one random key per media log, wrapped by the data
 * folder's current KEK and kept in the log's own header, so a log needs no
 * file in DATA/keys and leaves nothing behind when it is removed. */
static int sp_new_key(void *ud, const char *key_id, uint8_t key[MLOG_KEY_BYTES], char *wrapped,
		      size_t cap)
{
	return st_vault_wrap_new(ud, key_id, key, wrapped, cap);
}

static int sp_unwrap(void *ud, const char *key_id, const char *wrapped,
		     uint8_t key[MLOG_KEY_BYTES], char *err, size_t errlen)
{
	return st_vault_unwrap(ud, key_id, wrapped, key, err, errlen);
}

void rec_spool_keys(struct mlog_keys *k, struct st_vault *vault)
{
	*k = (struct mlog_keys){0};
	if (!vault)
		return;
	*k = (struct mlog_keys){.ud = vault, .new_key = sp_new_key, .unwrap = sp_unwrap};
}

static void spool_fail(struct rec_spool *sp, struct rec_call *rc, const char *what, int err)
{
	int e = errno;
	ES_LOG_WARNING(TAG, "call %s: media log %s: %s failed: %s; the audio spooled before "
		       "is kept, what follows is lost (the call is marked recording_cut)",
		       rc->sip->call_id, rc->ml_path ? rc->ml_path : "-", what,
		       err == ES_EIO && e ? strerror(e) : es_strerror(err));
	sp->errors++;
	rc->ml_failed = true;
	if (rc->ml) {
		mlog_discard(rc->ml);
		rc->ml = NULL;
	}
}

/* "key=value" lines; backslash, CR and LF escaped. */
static void meta_put(FILE *f, const char *key, const char *v)
{
	if (!v)
		return;
	fprintf(f, "%s=", key);
	for (; *v; v++) {
		if (*v == '\\')
			fputs("\\\\", f);
		else if (*v == '\n')
			fputs("\\n", f);
		else if (*v == '\r')
			fputs("\\r", f);
		else
			fputc(*v, f);
	}
	fputc('\n', f);
}

/* The call's metadata into its log, so that a log left by a crash can be
 * indexed on its own (record/recover.c). */
static int spool_meta(struct rec_spool *sp, struct rec_call *rc)
{
	const struct sip_call *sc = rc->sip;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return ES_ENOMEM;
	struct idx_party parties[2];
	const char *call_id;
	rec_call_view(rc, parties, &call_id);
	char num[32];
	meta_put(f, "call_id", call_id);
	snprintf(num, sizeof(num), "%lld", (long long)sc->start_us);
	meta_put(f, "start_us", num);
	snprintf(num, sizeof(num), "%lld",
		 (long long)(sc->outcome == SIP_OUT_ANSWERED ? sc->answer_us : 0));
	meta_put(f, "answer_us", num);
	static const char *const role[2] = {"caller", "callee"};
	for (int p = 0; p < 2; p++) {
		const struct idx_party *pi = &parties[p];
		const char *vals[5] = {pi->uri, pi->user, pi->display, pi->pai, pi->ua};
		static const char *const keys[5] = {"uri", "user", "display", "pai", "ua"};
		for (int k = 0; k < 5; k++) {
			char key[24];
			snprintf(key, sizeof(key), "%s.%s", role[p], keys[k]);
			meta_put(f, key, vals[k]);
		}
	}
	meta_put(f, "source", sp->source);
	meta_put(f, "rule", rc->rule);
	if (rc->crash_sig) {
		/* the consent decision as an end now would make it (consent.c):
		 * recovery cuts these parties and flags the call */
		char drop[16];
		snprintf(drop, sizeof(drop), "%s%s%s", rc->crash_drop[0] ? "caller" : "",
			 rc->crash_drop[0] && rc->crash_drop[1] ? "," : "",
			 rc->crash_drop[1] ? "callee" : "");
		meta_put(f, "consent.drop", drop);
		meta_put(f, "consent.no_consent", rc->crash_no_consent ? "1" : "0");
		meta_put(f, "consent.caller", rc->crash_state[0]);
		meta_put(f, "consent.callee", rc->crash_state[1]);
	}
	fclose(f);
	int err = text ? mlog_meta(rc->ml, text, len) : ES_ENOMEM;
	free(text);
	rc->ml_meta_answer = sc->outcome == SIP_OUT_ANSWERED ? sc->answer_us : 0;
	rc->ml_meta_consent = rc->crash_sig;
	return err;
}

static int spool_open(struct rec_spool *sp, struct rec_call *rc)
{
	const char *cid = rc->sip->call_id ? rc->sip->call_id : "";
	size_t n = strlen(sp->dir) + 96;
	rc->ml_path = malloc(n);
	if (!rc->ml_path)
		return ES_ENOMEM;
	snprintf(rc->ml_path, n, "%s/%lld-%016llx-%llu.mlog", sp->dir, (long long)rc->sip->start_us,
		 (unsigned long long)es_hash(cid, strlen(cid), 0), (unsigned long long)++sp->seq);
	int err = mlog_create_keyed(&rc->ml, rc->ml_path, cid, rc->sip->start_us, sp->buf_bytes,
				    sp->keys.ud ? &sp->keys : NULL);
	return err ? err : spool_meta(sp, rc);
}

void rec_spool_flush(struct rec_spool *sp, struct rec_call *rc)
{
	if (!rc->ml)
		return;
	const struct sip_call *sc = rc->sip;
	int64_t answer = sc->outcome == SIP_OUT_ANSWERED ? sc->answer_us : 0;
	int err = answer != rc->ml_meta_answer || rc->crash_sig != rc->ml_meta_consent
			  ? spool_meta(sp, rc)
			  : 0;
	if (!err)
		err = mlog_flush(rc->ml, sp->sync);
	if (err)
		spool_fail(sp, rc, "write", err);
}

/* The payload maps for what `sender` sends: the receiver's announcement
 * first (it says what the payload types it receives mean), then the
 * sender's own for types the receiver did not list. */
static int spool_maps(struct rec_call *rc)
{
	for (int sender = 0; sender < 2; sender++) {
		const struct rec_party_media *rx = &rc->media[sp_other[sender]];
		const struct rec_party_media *tx = &rc->media[sender];
		for (int k = 0; k < 2; k++) {
			const struct rec_party_media *pm = k == 0 ? rx : tx;
			for (unsigned i = 0; i < pm->nmap; i++) {
				const struct rec_ptmap *m = &pm->map[i];
				if (!m->name[0])
					continue;
				bool dup = false;
				for (unsigned j = 0; k == 1 && j < rx->nmap && !dup; j++)
					dup = rx->map[j].pt == m->pt && rx->map[j].name[0];
				if (dup)
					continue;
				int err = mlog_ptmap(rc->ml, sender == SIP_CALLER ? MLOG_CALLER : MLOG_CALLEE,
						     m->pt, m->name, m->clock, m->channels);
				if (err)
					return err;
			}
		}
	}
	rc->ml_gen = rc->media_gen + 1;
	return 0;
}

void rec_spool_rtp(struct rec_spool *sp, struct rec_call *rc, struct rec_stream *s,
		   const struct rtp_hdr *h, int64_t ts_us)
{
	if (!sp->dir || rc->ml_failed)
		return;
	int err;
	if (!rc->ml && (err = spool_open(sp, rc))) {
		spool_fail(sp, rc, "create", err);
		return;
	}
	if (rc->ml_gen != rc->media_gen + 1 && (err = spool_maps(rc))) {
		spool_fail(sp, rc, "write", err);
		return;
	}
	if (s->ml_id < 0) {
		s->ml_id = (int)rc->ml_nstreams++;
		err = mlog_stream(rc->ml, (unsigned)s->ml_id,
				  s->party == SIP_CALLER ? MLOG_CALLER : MLOG_CALLEE, s->st.ssrc);
		/* its addresses: the raw data rebuilds the packets (raw.c) */
		if (!err)
			err = mlog_addr(rc->ml, (unsigned)s->ml_id, &s->src, &s->dst);
		if (err) {
			spool_fail(sp, rc, "write", err);
			return;
		}
	}
	err = mlog_rtp(rc->ml, (unsigned)s->ml_id, ts_us, h->seq, h->ts, h->pt, h->marker,
		       h->payload, h->payload_len);
	if (err)
		spool_fail(sp, rc, "write", err);
}

void rec_spool_sip(struct rec_spool *sp, struct rec_call *rc, const struct net_pkt *pkt,
		   const uint8_t *p, size_t len)
{
	if (!sp->dir || rc->ml_failed)
		return;
	int err;
	if (!rc->ml && (err = spool_open(sp, rc))) {
		spool_fail(sp, rc, "create", err);
		return;
	}
	/* a message too long for one record is kept cut, not dropped: the
	 * ladder still shows it (SIP over TCP is bounded by sip_max_msg) */
	if ((err = mlog_sip(rc->ml, pkt->ts_us, &pkt->src, &pkt->dst, pkt->proto, p,
			    ES_MIN(len, (size_t)MLOG_SIP_MAX_TEXT))))
		spool_fail(sp, rc, "write", err);
}

char *rec_spool_close(struct rec_spool *sp, struct rec_call *rc)
{
	char *path = rc->ml_path;
	rc->ml_path = NULL;
	if (!rc->ml) {
		/* a log that failed part-way still holds what was written before
		 * the failure (a reader stops at a torn record): render that */
		struct stat st;
		if (path && rc->ml_failed && stat(path, &st) == 0)
			return path;
		free(path);
		return NULL;
	}
	int err = mlog_flush(rc->ml, sp->sync);
	mlog_discard(rc->ml);
	rc->ml = NULL;
	if (err) {
		ES_LOG_WARNING(TAG, "call %s: media log %s: flush failed (%d)", rc->sip->call_id,
			       path, err);
		sp->errors++;
		free(path);
		return NULL;
	}
	return path;
}

void rec_spool_discard(struct rec_call *rc)
{
	if (rc->ml)
		mlog_discard(rc->ml);
	rc->ml = NULL;
	free(rc->ml_path);
	rc->ml_path = NULL;
}

/* ---- finding a call's log (queued.c plays it, listen.c follows it) ---------------- */

/* Whether the open log ml is call_id's: its header's Call-ID, or the
 * call_id= its first metadata record gives (spool_meta writes it before any
 * media; a SIPREC session's log names the recorded call there).  Rewinds. */
static bool sp_log_is_call(struct mlog_reader *ml, const char *call_id)
{
	if (!strcmp(mlog_call_id(ml), call_id))
		return true;
	struct mlog_rec rec;
	char err[256];
	size_t cl = strlen(call_id);
	bool hit = false;
	/* the metadata comes first; a few records at most before it */
	for (int i = 0; i < 64 && mlog_next(ml, &rec, err, sizeof(err)) == 1; i++) {
		if (rec.type != MLOG_REC_META)
			continue;
		hit = rec.len > cl + 8 && !memcmp(rec.payload, "call_id=", 8) &&
		      !memcmp(rec.payload + 8, call_id, cl) && rec.payload[8 + cl] == '\n';
		break;
	}
	mlog_rewind(ml);
	return hit;
}

int rec_spool_find(const char *spool, const struct mlog_keys *keys, const char *call_id,
		   int64_t start_us, char *out, size_t cap, struct mlog_reader **ml, char *err,
		   size_t errlen)
{
	if (ml)
		*ml = NULL;
	if (!spool || !call_id || !*call_id)
		return es_errf(err, errlen, ES_EINVAL, "no call to look for in the spool");
	/* spool_open names a log START_US-HASH-SEQ.mlog; the hash is of the
	 * header's Call-ID, which for SIPREC is not the recorded call's, so the
	 * start time narrows and the contents decide */
	char prefix[32];
	int pl = snprintf(prefix, sizeof(prefix), "%lld-", (long long)start_us);
	DIR *d = opendir(spool);
	if (!d)
		return es_errf(err, errlen, errno == ENOENT ? ES_ENOTFOUND : ES_EIO,
			       "%s: cannot read the spool: %s", spool, strerror(errno));
	const struct mlog_keys *k = keys && keys->unwrap ? keys : NULL;
	int rc = ES_ENOTFOUND;
	struct dirent *e;
	while (rc && (e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (strncmp(e->d_name, prefix, (size_t)pl) || n < 5 ||
		    strcmp(e->d_name + n - 5, ".mlog"))
			continue;
		char path[4400];
		if (snprintf(path, sizeof(path), "%s/%s", spool, e->d_name) >= (int)sizeof(path) ||
		    strlen(path) >= cap)
			continue;
		struct mlog_reader *r = NULL;
		char why[512];
		/* a log just created may not hold its header yet: not an error */
		if (mlog_open_keyed(&r, path, k, why, sizeof(why)))
			continue;
		if (sp_log_is_call(r, call_id)) {
			snprintf(out, cap, "%s", path);
			rc = 0;
			if (ml) {
				*ml = r;
				r = NULL;
			}
		}
		mlog_reader_close(r);
	}
	closedir(d);
	if (rc)
		es_errf(err, errlen, rc, "no media log of call %s started at %lld in %s", call_id,
			(long long)start_us, spool);
	return rc;
}
