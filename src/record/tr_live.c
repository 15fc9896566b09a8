/*
 * tr_live.c - keyword alerts while a call is in progress (issue #19): each
 * answered call the recorder lists (active.c) is followed from its spool
 * as listen-in follows it (listen.c: the media log decrypted and decoded
 * in memory), and its two channels are streamed to the Vosk server (one
 * WebSocket each, analytics/transcribe.h tr_vosk_*); the words of each
 * final result are spotted for keywords (analytics/textan.h) and a hit
 * raises the "keyword" alert at once.  Off the capture path: one thread
 * per followed call, at most max_calls of them; a call beyond the limit
 * is counted as skipped, never queued.  Each hit raised here is marked in
 * DATA/alerts/live/ so that the post-call transcript (transcript_an.c),
 * which stays the record of what was said, does not raise it again.
 */
#include "analytics/alert.h"
#include "analytics/textan.h"
#include "analytics/transcribe.h"
#include "record/record.h"
#include "record/record_internal.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define TAG "livekw"
#define TRL_POLL_US (INT64_C(200) * 1000) /* the spool is flushed every second */
#define TRL_CHUNK_MS 500                  /* audio per WebSocket frame */
#define TRL_WORDS_MAX 256                 /* words kept per channel for phrases */
#define TRL_MARK_AGE_S (7 * 86400)        /* marks no transcript took are pruned */
#define TRL_BEHIND_S 30u                  /* audio waiting for the engine, at most */
#define TRL_DECIDED 16384                 /* calls remembered as decided */
#define TRL_DECIDED_PROBE 8

static const char *const party_name[] = {"caller", "callee"};

static int64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * ES_US_PER_SEC + ts.tv_nsec / 1000;
}

struct trl_chan {
	struct tr_vosk *vosk;
	struct es_buf pcm;        /* samples waiting for a full chunk */
	struct tr_text words;     /* the final words kept for phrases */
	uint64_t sent_frames;
	/* the party's consent was refused or never came: its audio is being
	 * dropped from the recording, so none of it goes to the engine */
	atomic_bool drop;
};

struct trl_call {
	struct rec_trlive *owner;
	struct trl_call *next;
	char call_id[REC_ACTIVE_STR], caller[REC_ACTIVE_SHORT], callee[REC_ACTIVE_SHORT],
		rule[REC_ACTIVE_SHORT];
	bool siprec;
	int64_t start_us;
	unsigned late_s;          /* how long the call ran before it was followed */
	pthread_t th;
	atomic_bool ended;        /* the call left the recorder's list */
	atomic_bool done;         /* the thread has finished: join it */
	int64_t seen_us;          /* the last update that listed it */
	struct trl_chan ch[2];
	bool tap_err;
};

struct rec_trlive {
	struct rec_trlive_conf cf;
	struct tr_conf tr;        /* cf.tr with the live timeout */
	pthread_mutex_t lock;     /* calls list and counters */
	struct trl_call *calls;
	unsigned running;
	atomic_int stop;
	struct rec_trlive_stats st;
	/* calls already decided (followed or skipped), by hash: a call is
	 * counted once */
	uint64_t decided[TRL_DECIDED];
};

/* ---- marks: the hits raised live, for the post-call transcript ----------------------- */

static void mark_path(const char *data_dir, const char *call_id, int channel, char *out,
		      size_t cap)
{
	uint8_t md[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(md, (const uint8_t *)call_id, strlen(call_id));
	char hex[33];
	sodium_bin2hex(hex, sizeof(hex), md, 16);
	snprintf(out, cap, "%s/alerts/live/%s.%s", data_dir, hex, party_name[channel & 1]);
}

/* One line "list<TAB>phrase" a hit; tabs and newlines in names are spaces. */
static void mark_line(const char *list, const char *phrase, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s", list ? list : "");
	size_t k = n > 0 && (size_t)n < cap ? (size_t)n : 0;
	snprintf(out + k, cap - k, "\t%s\n", phrase ? phrase : "");
	size_t len = strlen(out);
	for (size_t i = 0; i + 1 < len; i++)
		if (i != k && (out[i] == '\n' || out[i] == '\t' || out[i] == '\r'))
			out[i] = ' ';
}

static void mark_add(const char *data_dir, const char *call_id, int channel, const char *list,
		     const char *phrase)
{
	char path[4400], line[600];
	mark_path(data_dir, call_id, channel, path, sizeof(path));
	if (es_mkdirs(path, false))
		return;
	mark_line(list, phrase, line, sizeof(line));
	FILE *f = fopen(path, "a");
	if (!f) {
		ES_LOG_WARNING(TAG, "%s: %s", path, strerror(errno));
		return;
	}
	fputs(line, f);
	fclose(f);
}

bool rec_trlive_mark_take(const char *data_dir, const char *call_id, int channel,
			  const char *list, const char *phrase)
{
	char path[4400], tmp[4410], line[600], want[600];
	mark_path(data_dir, call_id, channel, path, sizeof(path));
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	mark_line(list, phrase, want, sizeof(want));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *o = fopen(tmp, "w");
	bool taken = false, left = false;
	while (fgets(line, sizeof(line), f)) {
		if (!taken && !strcmp(line, want)) {
			taken = true;
			continue;
		}
		left = true;
		if (o)
			fputs(line, o);
	}
	fclose(f);
	if (o && !fclose(o) && taken) {
		if (left)
			rename(tmp, path);
		else
			unlink(path);
	}
	unlink(tmp);
	return taken;
}

/* Marks older than TRL_MARK_AGE_S: calls whose transcript never came. */
static void marks_prune(const char *data_dir, int64_t now_us)
{
	char dir[4200], path[4500];
	snprintf(dir, sizeof(dir), "%s/alerts/live", data_dir);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	struct stat st;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' &&
		    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < (int)sizeof(path) &&
		    !stat(path, &st) && st.st_mtime + TRL_MARK_AGE_S < now_us / ES_US_PER_SEC)
			unlink(path);
	closedir(d);
}

/* ---- one call ---------------------------------------------------------------------- */

static void tap(void *ud, const int16_t *caller, const int16_t *callee, size_t n)
{
	struct trl_call *c = ud;
	const int16_t *src[2] = {caller, callee};
	for (int k = 0; k < 2; k++)
		if (!atomic_load(&c->ch[k].drop) && es_buf_append(&c->ch[k].pcm, src[k], n * sizeof(int16_t)))
			c->tap_err = true;
}

/* The words of channel k from index from on: keyword hits ending there
 * raise the alert (a phrase may have begun in an earlier result). */
static void spot(struct trl_call *c, int k, size_t from, int64_t sample0_us)
{
	struct rec_trlive *l = c->owner;
	struct tr_text *t = &c->ch[k].words;
	if (t->n <= from || !l->cf.ta)
		return;
	struct ta_word *tw = calloc(t->n, sizeof(*tw));
	if (!tw)
		return;
	for (size_t i = 0; i < t->n; i++)
		tw[i] = (struct ta_word){.text = t->w[i].w, .start_ms = t->w[i].start_ms,
					 .end_ms = t->w[i].end_ms, .conf = (float)t->w[i].conf,
					 .channel = k};
	struct ta_result r;
	memset(&r, 0, sizeof(r));
	if (!ta_keywords(l->cf.ta, tw, t->n, &r)) {
		struct an_alert_call call = {.call_id = c->call_id, .caller = c->caller,
					     .callee = c->callee, .rule = c->rule[0] ? c->rule : NULL,
					     .source = c->siprec ? "siprec" : "live",
					     .start_us = c->start_us};
		for (size_t i = 0; i < r.nhits; i++) {
			const struct ta_hit *h = &r.hits[i];
			if (h->last_word < from)
				continue;
			int64_t said_us = sample0_us + h->end_ms * 1000;
			int64_t now = wall_us();
			struct an_alert_field f[7] = {
				{.key = "category", .str = h->category},
				{.key = "list", .str = h->list},
				{.key = "phrase", .str = h->phrase},
				{.key = "party", .str = party_name[k]},
				/* from the call's first message: the live stream
				 * has no recording to count from yet */
				{.key = "at_s", .num = (double)(sample0_us + h->start_ms * 1000 -
								c->start_us) / 1e6},
				{.key = "stage", .str = "live"},
				{.key = "said_at", .num = (double)said_us / 1e6},
			};
			/* marked before it is raised: the post-call raise of the
			 * same hit is skipped whatever the delivery does */
			mark_add(l->cf.data_dir, c->call_id, k, h->list, h->phrase);
			an_alert_raise(l->cf.alerts, AN_ALERT_KEYWORD, 1, &call, f, 7, now);
			pthread_mutex_lock(&l->lock);
			l->st.hits++;
			l->st.delay_ms_last = (now - said_us) / 1000;
			pthread_mutex_unlock(&l->lock);
			ES_LOG_INF(TAG, "call %s: %s said \"%s\" (%s), alert %.1f s later",
				   c->call_id, party_name[k], h->phrase, h->list,
				   (double)(now - said_us) / 1e6);
		}
	}
	ta_result_free(&r);
	free(tw);
	/* bounded: a phrase spans a few words, the oldest half goes */
	if (t->n > TRL_WORDS_MAX) {
		size_t drop = t->n / 2;
		for (size_t i = 0; i < drop; i++)
			free(t->w[i].w);
		memmove(t->w, t->w + drop, (t->n - drop) * sizeof(*t->w));
		t->n -= drop;
	}
}

/* Send what channel k holds (whole chunks, or all of it at the end). */
static int pump(struct trl_call *c, int k, uint32_t rate, int64_t sample0_us, bool all,
		char *err, size_t errlen)
{
	struct trl_chan *ch = &c->ch[k];
	size_t chunk = (size_t)rate * TRL_CHUNK_MS / 1000;
	size_t have = ch->pcm.len / sizeof(int16_t);
	size_t n = all ? have : have / chunk * chunk;
	int rc = 0;
	if (!ch->vosk && !n)
		return 0; /* nothing heard on this channel yet */
	/* a server slower than speech: the call is given up rather than
	 * buffered without bound (a call followed late, once its consent
	 * came, starts that far behind) */
	if (have > (size_t)rate * (TRL_BEHIND_S + c->late_s))
		return es_errf(err, errlen, ES_ELIMIT, "the engine is %u s behind the call",
			       TRL_BEHIND_S);
	if (!ch->vosk &&
	    (rc = tr_vosk_open(&ch->vosk, &c->owner->tr, rate, err, errlen)))
		return rc;
	if (atomic_load(&ch->drop)) {
		/* consent withdrawn or refused during the call: nothing more */
		es_buf_consume(&ch->pcm, ch->pcm.len);
		tr_vosk_close(ch->vosk);
		ch->vosk = NULL;
		return 0;
	}
	size_t before = ch->words.n;
	if (n) {
		rc = tr_vosk_feed(ch->vosk, (const int16_t *)ch->pcm.p, n, &ch->words, err, errlen);
		es_buf_consume(&ch->pcm, n * sizeof(int16_t));
		ch->sent_frames += n;
	}
	if (!rc && all)
		rc = tr_vosk_finish(ch->vosk, &ch->words, err, errlen);
	spot(c, k, before, sample0_us);
	return rc;
}

static void *call_main(void *ud)
{
	struct trl_call *c = ud;
	struct rec_trlive *l = c->owner;
	struct rec_listen *ls = NULL;
	char err[1024] = "";
	/* background work (Linux: a thread's own nice value): capture,
	 * encoding and the API come first */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10))
		ES_LOG_DBG(TAG, "setpriority: %s", strerror(errno));
	int rc = rec_listen_open(&ls, l->cf.data_dir, l->cf.vault, c->call_id, c->start_us, tap, c);
	if (!rc) /* every word counts: the call is heard from its start */
		rec_listen_from_start(ls);
	bool streamed = false;
	while (!rc && !atomic_load(&l->stop)) {
		bool ended = atomic_load(&c->ended), found = false;
		if ((rc = rec_listen_poll(ls, &found, err, sizeof(err))))
			break;
		if (c->tap_err) {
			rc = es_errf(err, sizeof(err), ES_ENOMEM, "out of memory");
			break;
		}
		uint32_t rate = rec_listen_rate(ls);
		bool last = ended || rec_listen_gone(ls);
		if (last)
			rec_listen_end(ls);
		int64_t s0 = rec_listen_start_us(ls);
		for (int k = 0; rate && k < 2 && !rc; k++)
			rc = pump(c, k, rate, s0, last, err, sizeof(err));
		streamed = streamed || rate;
		if (rc || last)
			break;
		usleep(TRL_POLL_US);
	}
	pthread_mutex_lock(&l->lock);
	if (rc && atomic_load(&l->stop)) {
		ES_LOG_DBG(TAG, "call %s: live keywords stopped with the recorder", c->call_id);
	} else if (rc) {
		l->st.failed++;
		ES_LOG_WARNING(TAG, "call %s: live keywords given up (the call records as "
				    "usual): %s", c->call_id, err[0] ? err : es_strerror(rc));
	} else if (streamed) {
		l->st.finished++;
	}
	pthread_mutex_unlock(&l->lock);
	rec_listen_close(ls);
	for (int k = 0; k < 2; k++) {
		tr_vosk_close(c->ch[k].vosk);
		c->ch[k].vosk = NULL;
		es_buf_free(&c->ch[k].pcm);
		tr_text_free(&c->ch[k].words);
	}
	atomic_store(&c->done, true);
	return NULL;
}

/* ---- the calls -------------------------------------------------------------------- */

int rec_trlive_new(struct rec_trlive **out, const struct rec_trlive_conf *cf)
{
	*out = NULL;
	struct rec_trlive *l = calloc(1, sizeof(*l));
	if (!l)
		return ES_ENOMEM;
	l->cf = *cf;
	l->tr = *cf->tr;
	/* a server that stops answering holds one call's thread this long */
	l->tr.timeout_s = cf->timeout_s > 0 ? cf->timeout_s : 10;
	/* a shutdown gives up a wait on the server at once, not after
	 * timeout_s per call */
	l->tr.stop = &l->stop;
	if (!l->cf.max_calls)
		l->cf.max_calls = 8;
	pthread_mutex_init(&l->lock, NULL);
	atomic_init(&l->stop, 0);
	marks_prune(cf->data_dir, wall_us());
	*out = l;
	return 0;
}

static bool rule_wanted(const struct rec_trlive *l, const char *rule)
{
	const char *p = l->cf.rules;
	if (!p || !*p)
		return true;
	size_t n = strlen(rule);
	while (*p) {
		size_t k = strcspn(p, ", ");
		if (k && k == n && !strncasecmp(p, rule, n))
			return true;
		p += k;
		p += strspn(p, ", ");
	}
	return false;
}

/* Whether the call was decided already; marks it decided otherwise.  A
 * hash table probed a few slots (the main loop asks for every listed
 * call each second); when the probe is full its first slot is reused, so
 * a call forgotten after thousands of newer ones may be decided again. */
static bool decided(struct rec_trlive *l, const struct rec_active *a)
{
	uint64_t h = es_hash(a->call_id, strlen(a->call_id), (uint64_t)a->start_us) | 1;
	size_t base = (size_t)(h % TRL_DECIDED);
	for (size_t i = 0; i < TRL_DECIDED_PROBE; i++) {
		uint64_t *slot = &l->decided[(base + i) % TRL_DECIDED];
		if (*slot == h)
			return true;
		if (!*slot) {
			*slot = h;
			return false;
		}
	}
	l->decided[base] = h;
	return false;
}

static void reap(struct rec_trlive *l, bool all)
{
	for (struct trl_call **pp = &l->calls; *pp;) {
		struct trl_call *c = *pp;
		if (!all && !atomic_load(&c->done)) {
			pp = &c->next;
			continue;
		}
		pthread_join(c->th, NULL);
		*pp = c->next;
		l->running--;
		free(c);
	}
}

void rec_trlive_update(struct rec_trlive *l, const struct rec_active *calls, size_t n,
		       int64_t now_us)
{
	if (!l)
		return;
	reap(l, false);
	for (size_t i = 0; i < n; i++) {
		const struct rec_active *a = &calls[i];
		struct trl_call *c = l->calls;
		while (c && (strcmp(c->call_id, a->call_id) || c->start_us != a->start_us))
			c = c->next;
		if (c) {
			c->seen_us = now_us;
			for (int k = 0; k < 2; k++)
				if (a->consent[k] == 'x')
					atomic_store(&c->ch[k].drop, true);
			continue;
		}
		/* answered and kept: ringing has no audio, an unrecorded call
		 * never leaves earshot */
		if (!a->answer_us || !a->recording || !strcmp(a->state, "ending"))
			continue;
		/* a party whose consent is still awaited may yet be cut from the
		 * recording: the engine hears nothing until it is settled (the
		 * call is followed from its start then); both refused: nothing */
		if (a->consent[0] == 'w' || a->consent[1] == 'w' ||
		    (a->consent[0] == 'x' && a->consent[1] == 'x'))
			continue;
		if (!rule_wanted(l, a->rule) || decided(l, a))
			continue;
		pthread_mutex_lock(&l->lock);
		bool full = l->running >= l->cf.max_calls;
		if (full)
			l->st.skipped++;
		pthread_mutex_unlock(&l->lock);
		if (full) {
			ES_LOG_WARNING(TAG, "call %s: not followed live, %u calls are already "
					    "([transcription] live_max_calls)", a->call_id,
				       l->cf.max_calls);
			continue;
		}
		if (!(c = calloc(1, sizeof(*c))))
			continue;
		c->owner = l;
		snprintf(c->call_id, sizeof(c->call_id), "%s", a->call_id);
		snprintf(c->caller, sizeof(c->caller), "%s", a->caller_user);
		snprintf(c->callee, sizeof(c->callee), "%s", a->callee_user);
		snprintf(c->rule, sizeof(c->rule), "%s", a->rule);
		c->siprec = a->siprec;
		c->start_us = a->start_us;
		c->seen_us = now_us;
		int64_t ran = now_us - a->answer_us;
		c->late_s = ran > 0 ? (unsigned)(ran / 1000000) : 0;
		for (int k = 0; k < 2; k++) {
			es_buf_init(&c->ch[k].pcm);
			atomic_init(&c->ch[k].drop, a->consent[k] == 'x');
		}
		atomic_init(&c->ended, false);
		atomic_init(&c->done, false);
		if (pthread_create(&c->th, NULL, call_main, c)) {
			free(c);
			continue;
		}
		c->next = l->calls;
		l->calls = c;
		l->running++;
		pthread_mutex_lock(&l->lock);
		l->st.followed++;
		pthread_mutex_unlock(&l->lock);
	}
	/* a call no longer listed has ended: its threads send the rest */
	for (struct trl_call *c = l->calls; c; c = c->next)
		if (c->seen_us != now_us)
			atomic_store(&c->ended, true);
}

void rec_trlive_stats(struct rec_trlive *l, struct rec_trlive_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	*st = l->st;
	st->running = l->running;
	st->max_calls = l->cf.max_calls;
	pthread_mutex_unlock(&l->lock);
}

void rec_trlive_free(struct rec_trlive *l)
{
	if (!l)
		return;
	atomic_store(&l->stop, 1);
	reap(l, true);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
