/*
 * redact.c - a redacted version of a recording (record.h): the span filled
 * with silence or a soft tone on the chosen channel(s), stored as a new
 * encrypted recording that replaces the call's row, with a rec leaf and a
 * redact leaf naming the original's leaf; the original kept or shredded.
 */
#include "record/record.h"
#include "record/record_internal.h"
#include "store/crypt.h"
#include "store/ledger.h"
#include "store/vault.h"

#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAG "redact"
#define CHUNK 4096
#define TONE_HZ 440.0
#define TONE_AMP 1000.0 /* about -30 dBFS: audible as a marker, never loud */

struct orig {
	bool found;
	char call_id[256];
	char path[512], sha[65], plain[65], format[8], flags[256];
	bool encrypted;
	int64_t duration_us;
	unsigned channels;
	uint32_t rate;
};

static int take(void *ud, const struct idx_call *c)
{
	struct orig *o = ud;
	const struct idx_recording *r = c->recording;
	snprintf(o->call_id, sizeof(o->call_id), "%s", c->call_id ? c->call_id : "");
	if (!r || !r->path)
		return 0;
	o->found = true;
	snprintf(o->path, sizeof(o->path), "%s", r->path);
	snprintf(o->sha, sizeof(o->sha), "%s", r->sha256 ? r->sha256 : "");
	snprintf(o->plain, sizeof(o->plain), "%s", r->plain_sha256 ? r->plain_sha256 : "");
	snprintf(o->format, sizeof(o->format), "%s", r->format ? r->format : "");
	snprintf(o->flags, sizeof(o->flags), "%s", r->flags ? r->flags : "");
	o->encrypted = r->encrypted;
	o->duration_us = r->duration_us;
	o->channels = r->channels;
	o->rate = r->rate;
	return 0;
}

unsigned rec_redact_channel_mask(const char *channel)
{
	if (!channel)
		return 0;
	return !strcmp(channel, "caller") ? 1 : !strcmp(channel, "callee") ? 2
	       : !strcmp(channel, "both") ? 3 : 0;
}

int rec_redaction_detail(const char *call_id, const struct idx_redaction *r, struct es_buf *out)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return ES_ENOMEM;
	struct es_json j;
	es_json_init(&j, f, false);
	es_json_obj_begin(&j);
	es_json_key(&j, "v"); es_json_int(&j, 1);
	es_json_key(&j, "call_id"); es_json_str(&j, call_id);
	es_json_key(&j, "original"); es_json_str(&j, r->original_path);
	es_json_key(&j, "original_sha256"); es_json_str(&j, r->original_sha256);
	es_json_key(&j, "redacted"); es_json_str(&j, r->path);
	es_json_key(&j, "from_us"); es_json_int(&j, r->from_us);
	es_json_key(&j, "to_us"); es_json_int(&j, r->to_us);
	es_json_key(&j, "channel"); es_json_str(&j, r->channel);
	es_json_key(&j, "fill"); es_json_str(&j, r->fill);
	es_json_key(&j, "reason"); es_json_str(&j, r->reason);
	es_json_key(&j, "by"); es_json_str(&j, r->by);
	es_json_key(&j, "time_us"); es_json_int(&j, r->created_us);
	es_json_obj_end(&j);
	es_json_end(&j);
	fclose(f);
	if (!text)
		return ES_ENOMEM;
	int rc = es_buf_append(out, text, len) ? ES_ENOMEM : 0;
	free(text);
	return rc;
}

static int check_req(const struct rec_redact_req *q, const struct orig *o, char *err,
		     size_t errlen)
{
	unsigned mask = rec_redact_channel_mask(q->channel);
	if (!mask) {
		snprintf(err, errlen, "unknown channel '%s' (caller, callee or both)",
			 q->channel ? q->channel : "");
		return ES_EINVAL;
	}
	if (q->fill && strcmp(q->fill, "silence") && strcmp(q->fill, "tone")) {
		snprintf(err, errlen, "unknown fill '%s' (silence or tone)", q->fill);
		return ES_EINVAL;
	}
	size_t rl = q->reason ? strlen(q->reason) : 0;
	bool blank = true;
	for (size_t i = 0; i < rl; i++)
		if (q->reason[i] != ' ' && q->reason[i] != '\t')
			blank = false;
	if (blank || rl > REC_REDACT_REASON_MAX) {
		snprintf(err, errlen, "a reason is required (1 to %d bytes)", REC_REDACT_REASON_MAX);
		return ES_EINVAL;
	}
	if (!q->by || !*q->by) {
		snprintf(err, errlen, "who redacts is required");
		return ES_EINVAL;
	}
	if (q->from_us < 0 || q->to_us <= q->from_us) {
		snprintf(err, errlen, "span %.3f-%.3f s: --from must be before --to, both >= 0",
			 q->from_us / 1e6, q->to_us / 1e6);
		return ES_EINVAL;
	}
	if (o && q->to_us > o->duration_us) {
		snprintf(err, errlen, "span %.3f-%.3f s is outside the recording (0-%.3f s)",
			 q->from_us / 1e6, q->to_us / 1e6, o->duration_us / 1e6);
		return ES_EINVAL;
	}
	if (o && o->channels == 1 && mask != 3) {
		snprintf(err, errlen, "the recording is a mono mix of both parties: only --channel "
			 "both applies");
		return ES_EINVAL;
	}
	return 0;
}

/* The original's plaintext into memfd fd, its stored file checked first. */
static int plain_into(const struct rec_redact_req *q, const struct orig *o, int fd, char *err,
		      size_t errlen)
{
	return rec_plain_into(q->data_dir, q->vault, o->path, o->sha, o->encrypted, fd,
			      "not redacted", err, errlen);
}

/* Decode in, fill the span, encode into out (same format, rate, channels). */
static int fill_span(const struct rec_redact_req *q, const struct orig *o, int in_fd, int out_fd,
		     char *err, size_t errlen)
{
	char ip[64], op[64];
	snprintf(ip, sizeof(ip), "/proc/self/fd/%d", in_fd);
	snprintf(op, sizeof(op), "/proc/self/fd/%d", out_fd);
	struct media_reader *r = NULL;
	struct media_writer *w = NULL;
	enum media_format fmt;
	int16_t *pcm = NULL;
	int rc = media_format_parse(o->format, &fmt);
	if (rc) {
		snprintf(err, errlen, "%s: unknown format '%s'", o->path, o->format);
		return rc;
	}
	if ((rc = media_reader_open(&r, ip, err, errlen)))
		return rc;
	unsigned ch = media_reader_channels(r), mask = rec_redact_channel_mask(q->channel);
	uint32_t rate = media_reader_rate(r);
	uint64_t from = (uint64_t)q->from_us * rate / ES_US_PER_SEC;
	uint64_t to = (uint64_t)q->to_us * rate / ES_US_PER_SEC;
	bool tone = q->fill && !strcmp(q->fill, "tone");
	struct media_writer_opts wo = {.opus_complexity = -1};
	if (!(pcm = malloc((size_t)CHUNK * ch * sizeof(*pcm)))) {
		rc = ES_ENOMEM;
		goto out;
	}
	if ((rc = media_writer_open(&w, op, fmt, rate, ch, &wo, err, errlen)))
		goto out;
	uint64_t pos = 0;
	for (;;) {
		long n = media_reader_read(r, pcm, CHUNK);
		if (n < 0) {
			rc = (int)n;
			snprintf(err, errlen, "%s: does not decode: %s", o->path, es_strerror(rc));
			goto out;
		}
		if (!n)
			break;
		for (long i = 0; i < n; i++) {
			uint64_t t = pos + (uint64_t)i;
			if (t < from || t >= to)
				continue;
			int16_t v = tone ? (int16_t)lrint(TONE_AMP * sin(2 * M_PI * TONE_HZ *
									   (double)(t - from) / rate))
					 : 0;
			for (unsigned c = 0; c < ch; c++)
				if (ch == 1 || (mask & (1u << c)))
					pcm[(size_t)i * ch + c] = v;
		}
		pos += (uint64_t)n;
		if ((rc = media_writer_write(w, pcm, (size_t)n))) {
			snprintf(err, errlen, "encoding the redacted recording: %s", es_strerror(rc));
			goto out;
		}
	}
	rc = media_writer_close(w, NULL, err, errlen);
	w = NULL;
out:
	if (w)
		media_writer_abort(w);
	if (pcm) {
		sodium_memzero(pcm, (size_t)CHUNK * ch * sizeof(*pcm));
		free(pcm);
	}
	media_reader_close(r);
	return rc;
}

/* The memfd's bytes into part, encrypted under rel's new key (or plain). */
static int store(const struct rec_redact_req *q, const struct orig *o, int fd, const char *rel,
		 const char *part, struct st_enc_hashes *h, char *err, size_t errlen)
{
	struct st_dek *dek = NULL;
	struct st_enc_writer *w = NULL;
	int rc = 0;
	FILE *plain = NULL;
	if (o->encrypted) {
		if (!q->vault) {
			snprintf(err, errlen, "no keys to encrypt the redacted recording");
			return ES_EINVAL;
		}
		if (!(rc = st_vault_new_key(q->vault, rel, &dek, err, errlen)))
			rc = st_enc_writer_open(&w, part, dek, 0, err, errlen);
		st_dek_free(dek);
	} else if (!(plain = fopen(part, "wb"))) {
		snprintf(err, errlen, "%s: %s", part, strerror(errno));
		rc = ES_EIO;
	}
	uint8_t buf[65536];
	ssize_t n = 0;
	if (!rc && lseek(fd, 0, SEEK_SET) != 0)
		rc = ES_EIO;
	while (!rc && (n = read(fd, buf, sizeof(buf))) > 0) {
		if (w)
			rc = st_enc_writer_write(w, buf, (size_t)n);
		else if (fwrite(buf, 1, (size_t)n, plain) != (size_t)n)
			rc = ES_EIO;
	}
	if (!rc && n < 0)
		rc = ES_EIO;
	sodium_memzero(buf, sizeof(buf));
	if (w) {
		if (!rc)
			rc = st_enc_writer_finish(w, h);
		if (rc && !*err)
			snprintf(err, errlen, "%s", st_enc_writer_error(w));
		st_enc_writer_free(w);
	} else if (plain) {
		if (fflush(plain) || fsync(fileno(plain)))
			rc = rc ? rc : ES_EIO;
		fclose(plain);
		memset(h, 0, sizeof(*h));
		if (!rc && st_sha256_file(part, NULL, h->cipher_sha256))
			rc = ES_EIO;
	}
	if (rc && !*err)
		snprintf(err, errlen, "%s: cannot be written: %s", part, es_strerror(rc));
	return rc;
}

/* The ledger's (and the index writes') turn, when shared (q->hold). */
static void hold(const struct rec_redact_req *q, bool *held, bool on)
{
	if (q->hold && *held != on)
		q->hold(q->hold_ud, on);
	*held = on;
}

static void flags_with(const char *flags, const char *add, char *out, size_t cap)
{
	size_t n = strlen(add);
	for (const char *p = flags; p && *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && !memcmp(p, add, n)) {
			snprintf(out, cap, "%s", flags);
			return;
		}
		p = e ? e + 1 : p + len;
	}
	snprintf(out, cap, "%s%s%s", flags ? flags : "", flags && *flags ? "," : "", add);
}

int rec_redact(const struct rec_redact_req *q, struct rec_redact_result *res, char *err,
	       size_t errlen)
{
	memset(res, 0, sizeof(*res));
	struct orig o = {0};
	*err = 0;
	int rc = check_req(q, NULL, err, errlen);
	if (rc)
		return rc;
	rc = idx_call_get(q->ix, q->call_row, take, &o);
	if (rc == ES_ENOTFOUND || (!rc && !o.found)) {
		snprintf(err, errlen, "call %lld %s", (long long)q->call_row,
			 rc ? "does not exist" : "has no recording");
		return ES_ENOTFOUND;
	}
	if (rc) {
		snprintf(err, errlen, "%s", idx_errmsg(q->ix));
		return rc;
	}
	if ((rc = check_req(q, &o, err, errlen)))
		return rc;
	snprintf(res->original, sizeof(res->original), "%s", o.path);
	if (q->shred_original) {
		int h = idx_call_held(q->ix, q->call_row, res->held, sizeof(res->held));
		if (h > 0) {
			snprintf(err, errlen, "call %lld is under legal hold '%s': its original "
				 "cannot be shredded, nothing redacted", (long long)q->call_row,
				 res->held);
			return ES_EHELD;
		}
	}
	bool tomb = false, held = false;
	hold(q, &held, true);
	rc = st_ledger_find(q->ledger, o.path, &res->original_leaf, &tomb);
	hold(q, &held, false);
	if (rc || tomb) {
		snprintf(err, errlen, "%s has no live leaf in the ledger: not redacted", o.path);
		return ES_EINVAL;
	}
	int n = 0;
	int in_fd = memfd_create("earshot-redact-in", MFD_CLOEXEC);
	int out_fd = memfd_create("earshot-redact-out", MFD_CLOEXEC);
	char part[4300] = "", final[4300] = "";
	bool placed = false;
	struct st_enc_hashes h = {0};
	if (in_fd < 0 || out_fd < 0) {
		snprintf(err, errlen, "no memory file: %s", strerror(errno));
		rc = ES_EIO;
		goto out;
	}
	if ((rc = plain_into(q, &o, in_fd, err, errlen)) ||
	    (rc = fill_span(q, &o, in_fd, out_fd, err, errlen)))
		goto out;

	/* from here to the end the ledger is this call's: the original's leaf
	 * is checked again (a deletion meanwhile), names are taken, leaves
	 * appended */
	hold(q, &held, true);
	if (q->hold && (st_ledger_find(q->ledger, o.path, &res->original_leaf, &tomb) || tomb)) {
		snprintf(err, errlen, "%s has no live leaf in the ledger: not redacted", o.path);
		rc = ES_EINVAL;
		goto out;
	}
	/* <dir of the original>/<call row>.r<n><ext>[.enc], n past any taken */
	enum media_format fmt;
	media_format_parse(o.format, &fmt);
	const char *slash = strrchr(o.path, '/');
	int dirlen = slash ? (int)(slash - o.path) : 0;
	for (n = 1; n < 10000; n++) {
		snprintf(res->path, sizeof(res->path), "%.*s/%lld.r%d%s%s", dirlen, o.path,
			 (long long)q->call_row, n, media_format_ext(fmt),
			 o.encrypted ? ST_ENC_SUFFIX : "");
		snprintf(final, sizeof(final), "%s/%s", q->data_dir, res->path);
		uint64_t s;
		bool t;
		if (access(final, F_OK) != 0 && st_ledger_find(q->ledger, res->path, &s, &t) != 0)
			break;
	}
	snprintf(part, sizeof(part), "%s.part", final);
	if ((rc = store(q, &o, out_fd, res->path, part, &h, err, errlen)))
		goto out;
	if (rename(part, final)) {
		snprintf(err, errlen, "%s: %s", final, strerror(errno));
		rc = ES_EIO;
		goto out;
	}
	placed = true;

	/* index and ledger: the row swapped, the redaction entered, a rec leaf
	 * for the new recording and a redact leaf naming the original's */
	char flags[300];
	flags_with(o.flags, "redacted", flags, sizeof(flags));
	struct idx_recording nr = {
		.call_row = q->call_row,
		.path = res->path,
		.format = o.format,
		.bytes = h.cipher_size,
		.sha256 = h.cipher_sha256,
		.plain_sha256 = o.encrypted ? h.plain_sha256 : NULL,
		.encrypted = o.encrypted,
		.duration_us = o.duration_us,
		.flags = flags,
	};
	if (!o.encrypted) {
		struct stat st;
		nr.bytes = stat(final, &st) == 0 ? (uint64_t)st.st_size : 0;
	}
	res->rec_leaf = st_ledger_size(q->ledger);
	res->redact_leaf = res->rec_leaf + 1;
	struct idx_redaction r = {
		.call_row = q->call_row,
		.from_us = q->from_us,
		.to_us = q->to_us,
		.channel = q->channel,
		.fill = q->fill ? q->fill : "silence",
		.reason = q->reason,
		.by = q->by,
		.created_us = q->now_us,
		.path = res->path,
		.leaf = (int64_t)res->redact_leaf,
		.original_path = o.path,
		.original_sha256 = o.sha,
		.original_plain_sha256 = o.plain[0] ? o.plain : NULL,
		.original_encrypted = o.encrypted,
		.original_format = o.format,
		.original_leaf = (int64_t)res->original_leaf,
		.original_state = "restricted",
	};
	struct es_buf detail;
	es_buf_init(&detail);
	uint8_t dh[32];
	uint64_t s1 = 0, s2 = 0;
	/* the redacted file's key for other nodes (outside the transaction:
	 * a failure there is logged and leaves the redaction whole) */
	rec_keys_publish(q->ix, q->vault, &nr);
	if ((rc = idx_begin(q->ix))) {
		snprintf(err, errlen, "%s", idx_errmsg(q->ix));
		es_buf_free(&detail);
		goto out;
	}
	rc = idx_redaction_apply(q->ix, &nr, &r);
	if (rc)
		snprintf(err, errlen, "%s", idx_errmsg(q->ix));
	if (!rc && (rc = rec_redaction_detail(o.call_id, &r, &detail)) == 0) {
		crypto_hash_sha256(dh, detail.p, detail.len);
		rc = rec_ledger_leaf(q->ix, q->ledger, &nr);
		if (!rc)
			rc = st_ledger_append_redact(q->ledger, res->path, res->original_leaf,
						     (uint64_t)q->from_us / 1000,
						     ((uint64_t)q->to_us + 999) / 1000, q->channel, dh,
						     q->now_us, &s2);
		s1 = s2 - 1;
		if (rc)
			snprintf(err, errlen, "the ledger could not record the redaction: %s",
				 es_strerror(rc));
		else if (s1 != res->rec_leaf || s2 != res->redact_leaf)
			rc = ES_EIO, snprintf(err, errlen, "the ledger moved while redacting");
	}
	es_buf_free(&detail);
	res->n = r.n;
	if (rc) {
		idx_rollback(q->ix);
		goto out;
	}
	if ((rc = idx_commit(q->ix))) {
		snprintf(err, errlen, "%s", idx_errmsg(q->ix));
		goto out;
	}
	if ((rc = st_ledger_commit(q->ledger))) {
		snprintf(err, errlen, "the ledger could not be signed: %s", es_strerror(rc));
		hold(q, &held, false);
		return rc; /* the row is in: the next open's catch-up completes it */
	}
	rec_peaks_drop(q->data_dir, o.path); /* the cached waveform was of the original */
	/* the transcripts follow the call's recording (sealed with its key),
	 * before a shred of the original's key would make them unreadable */
	char terr[512] = "";
	if (rec_transcript_move(q->data_dir, q->vault, o.path, o.encrypted, res->path, terr,
				sizeof(terr)))
		ES_LOG_ERR(TAG, "call %lld: its transcripts could not follow the redaction: %s",
			   (long long)q->call_row, terr);
	/* and the bucket's copies of the original's words (an archived
	 * recording's, tier.c) go: the redacted recording takes its words to
	 * the bucket when it moves there itself, so no node reads the old ones */
	else if (rec_tier_drop_words(q->data_dir, o.path, terr, sizeof(terr)))
		ES_LOG_ERR(TAG, "call %lld: the bucket still holds the words files of %s, which "
			   "the redaction replaced: %s", (long long)q->call_row, o.path, terr);
	/* and their leaves: the original's end, the redacted version's begin
	 * (tr_ledger.c; a failure leaves them to the next open's catch-up) */
	struct idx_recording moved = {.call_row = q->call_row, .path = res->path,
				      .encrypted = o.encrypted};
	if (rec_tr_ledger_tombstone(q->ledger, o.path, REC_REDACT_TOMBSTONE, q->now_us) ||
	    rec_tr_ledger_seal_call(q->data_dir, q->ix, q->vault, q->ledger, &moved, q->now_us,
				    NULL) ||
	    st_ledger_commit(q->ledger))
		ES_LOG_ERR(TAG, "call %lld: its transcripts' ledger leaves could not follow the "
			   "redaction", (long long)q->call_row);
	/* the raw data (SIP and RTP, raw.c) holds the redacted audio: it goes */
	if (rec_raw_remove(q->data_dir, q->call_row))
		ES_LOG_ERR(TAG, "call %lld: its raw data could not be removed after redaction: %s",
			   (long long)q->call_row, strerror(errno));
	ES_LOG_INF(TAG, "call %lld: %s redacts %s (%s, %.3f-%.3f s)", (long long)q->call_row,
		    res->path, o.path, q->channel, q->from_us / 1e6, q->to_us / 1e6);
	if (q->shred_original) {
		struct rec_deleter d = {.data_dir = q->data_dir, .ix = q->ix, .ledger = q->ledger,
					.vault = q->vault};
		struct rec_del_target t = {.call_row = q->call_row, .path = o.path,
					   .encrypted = o.encrypted};
		rc = rec_del_original(&d, &t, REC_REDACT_TOMBSTONE, q->now_us, &res->tomb_leaf,
				      res->held, sizeof(res->held), err, errlen);
		rec_deleter_close(&d);
		if (!rc && !(rc = idx_redaction_shredded(q->ix, r.id)))
			res->shredded = true;
		else if (rc == ES_EDB)
			snprintf(err, errlen, "%s", idx_errmsg(q->ix));
	}
	placed = false;
out:
	if (placed && rc) {
		unlink(final);
		if (o.encrypted && q->vault)
			st_vault_shred(q->vault, res->path, NULL, 0);
	}
	if (part[0] && rc)
		unlink(part);
	if (in_fd >= 0)
		close(in_fd);
	if (out_fd >= 0)
		close(out_fd);
	hold(q, &held, false);
	return rc;
}
