/*
 * handlers_listen.c - GET /api/active/{call_id}/listen: a call in progress
 * heard live (issue #18, listen-in), as an endless 16-bit stereo WAV
 * (caller left, callee right, the recording's layout) sent chunked.
 *
 * Who: the roles that may listen to recordings (API_ACT_LISTEN: admins,
 * supervisors, auditors with the listen grant), never agents, even on
 * their own calls: hearing a colleague's call as it happens is the
 * supervisor's tool.  Audited as call.listen_live when the stream starts
 * and again when it stops (why, how long, how many bytes).
 *
 * How: a thread per listener follows the call's media log in the spool
 * (record/listen.c: decrypted and decoded in memory only) and puts the
 * audio into a ring; MHD's content reader takes it from there, and while
 * the ring is empty the connection is suspended (MHD's pattern for a
 * response whose data comes later) and resumed by the thread, so no MHD
 * thread waits.  A user has at most [api] listen_streams_per_user streams
 * open at once (default 2): each is a thread and a decoder on the server,
 * so one account cannot tie up the server by opening many; the next one is
 * answered 429 until one of theirs ends (its slot is given back when both
 * its thread and its response are gone: the call ended, the listener left
 * or the server stops).  The stream ends when the call leaves the recorder's list
 * or its log leaves the spool, when the listener goes away, or when the
 * server stops.  Only this node's calls can be heard: the spool is a local
 * folder (another node's call is "no such call in progress" here).
 *
 * The WAV header says "unknown length" (0xFFFFFFFF sizes) and carries one
 * more chunk before "data": "estm", 8 bytes, the capture time of the
 * first sample in microseconds since the epoch (little endian), so that a
 * player can tell how far behind real time it plays.
 */
#include "api/server_internal.h"
#include "record/record.h"

#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TAG "api"
#define LS_RING (256 * 1024)       /* 8 s of 8 kHz stereo: a slow client loses audio beyond */
#define LS_BLOCK (16 * 1024)
#define LS_POLL_MS 100             /* how often the log is read */
#define LS_CHECK_US ES_US_PER_SEC  /* how often the recorder's list is read */
#define LS_FIND_US (INT64_C(5) * ES_US_PER_SEC) /* a log that does not appear */
#define LS_HDR 60

/* Streams open per user: a short list (one entry per user with a stream). */
struct ls_user {
	char name[IDX_NAME_MAX + 1];
	unsigned streams;
};

struct srv_listen_jobs {
	pthread_mutex_t lock;
	pthread_cond_t idle;
	unsigned threads;
	bool stopping;
	struct ls_user *users;
	size_t nusers, cap;
};

struct ls {
	struct api_server *srv;
	pthread_mutex_t lock;
	pthread_cond_t wake;       /* the thread's sleep, cut short by a close */
	struct MHD_Connection *conn;
	uint8_t *ring;
	size_t head, len;          /* unread bytes: ring[head, head + len) mod LS_RING */
	bool suspended, done, closed;
	int refs;
	uint64_t sent, dropped;
	/* the thread's */
	struct rec_listen *rl;
	bool header;
	/* the audit */
	int64_t t0;
	char reason[160];
	char user[IDX_NAME_MAX + 1];
	char remote[64];
	char obj[REC_ACTIVE_STR];
};

int srv_listen_jobs_new(struct srv_listen_jobs **out)
{
	struct srv_listen_jobs *c = calloc(1, sizeof(*c));
	if (!c)
		return ES_ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->idle, NULL);
	*out = c;
	return 0;
}

void srv_listen_jobs_free(struct srv_listen_jobs *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->idle);
	free(c->users);
	free(c);
}

/* One more stream for user unless they have max open: false when they do
 * (*open says how many) or the list cannot grow. */
static bool jobs_take(struct srv_listen_jobs *c, const char *user, unsigned max, unsigned *open)
{
	pthread_mutex_lock(&c->lock);
	bool ok = false;
	size_t i = 0;
	while (i < c->nusers && strcmp(c->users[i].name, user))
		i++;
	*open = i < c->nusers ? c->users[i].streams : 0;
	if (*open >= max)
		goto out;
	if (i == c->nusers) {
		if (c->nusers == c->cap) {
			size_t cap = c->cap ? 2 * c->cap : 8;
			struct ls_user *u = realloc(c->users, cap * sizeof(*u));
			if (!u)
				goto out;
			c->users = u;
			c->cap = cap;
		}
		snprintf(c->users[i].name, sizeof(c->users[i].name), "%s", user);
		c->users[i].streams = 0;
		c->nusers++;
	}
	c->users[i].streams++;
	ok = true;
out:
	pthread_mutex_unlock(&c->lock);
	return ok;
}

/* The stream jobs_take counted has ended. */
static void jobs_give(struct srv_listen_jobs *c, const char *user)
{
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->nusers; i++) {
		if (strcmp(c->users[i].name, user))
			continue;
		if (--c->users[i].streams == 0)
			c->users[i] = c->users[--c->nusers];
		break;
	}
	pthread_mutex_unlock(&c->lock);
}

void srv_listen_jobs_wait(struct srv_listen_jobs *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	while (c->threads)
		pthread_cond_wait(&c->idle, &c->lock);
	pthread_mutex_unlock(&c->lock);
}

static bool jobs_stopping(struct srv_listen_jobs *c)
{
	pthread_mutex_lock(&c->lock);
	bool s = c->stopping;
	pthread_mutex_unlock(&c->lock);
	return s;
}

/* The last of the thread and the response: the stop is audited (with the
 * session's own index connection: the request is long gone). */
static void ls_unref(struct ls *l)
{
	pthread_mutex_lock(&l->lock);
	bool last = --l->refs == 0;
	pthread_mutex_unlock(&l->lock);
	if (!last)
		return;
	char detail[320];
	snprintf(detail, sizeof(detail), "stop: %s; %.1f s, %llu bytes sent, %llu dropped",
		 l->reason[0] ? l->reason : "the listener left",
		 (double)(srv_now_us() - l->t0) / 1e6, (unsigned long long)l->sent,
		 (unsigned long long)l->dropped);
	struct idx *ix = srv_ix_take(l->srv);
	if (ix) {
		api_audit_append(ix, srv_now_us(), l->user, "call.listen_live", l->obj, l->remote,
				 API_AUDIT_OK, detail, NULL);
		srv_ix_give(l->srv, ix);
	} else {
		ES_LOG_WARNING(TAG, "listen-in of call %s by %s not audited (no index): %s", l->obj,
			       l->user, detail);
	}
	jobs_give(l->srv->listen, l->user); /* taken by srv_active_listen */
	rec_listen_close(l->rl);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->wake);
	if (l->ring)
		sodium_memzero(l->ring, LS_RING); /* it held the call's audio */
	free(l->ring);
	free(l);
}

/* Let MHD's reader run again (l->lock held). */
static void ls_resume(struct ls *l)
{
	if (l->suspended && !l->closed) {
		l->suspended = false;
		MHD_resume_connection(l->conn);
	}
}

/* All of p or nothing: a listener too slow to take the audio loses the
 * newest (whole frames, so the channels never swap). */
static void ls_push(struct ls *l, const uint8_t *p, size_t n)
{
	pthread_mutex_lock(&l->lock);
	if (n > LS_RING - l->len) {
		l->dropped += n;
	} else {
		size_t tail = (l->head + l->len) % LS_RING;
		size_t first = ES_MIN(n, LS_RING - tail);
		memcpy(l->ring + tail, p, first);
		memcpy(l->ring, p + first, n - first);
		l->len += n;
		ls_resume(l);
	}
	pthread_mutex_unlock(&l->lock);
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v), put16(p + 2, (uint16_t)(v >> 16)); }

/* RIFF/WAVE, PCM 16-bit stereo at rate, unknown length (0xFFFFFFFF), with
 * the "estm" chunk (start_us) before "data". */
static void wav_header(uint8_t h[LS_HDR], uint32_t rate, int64_t start_us)
{
	memcpy(h, "RIFF", 4);
	put32(h + 4, 0xFFFFFFFFu);
	memcpy(h + 8, "WAVEfmt ", 8);
	put32(h + 16, 16);
	put16(h + 20, 1); /* PCM */
	put16(h + 22, 2);
	put32(h + 24, rate);
	put32(h + 28, rate * 4);
	put16(h + 32, 4);
	put16(h + 34, 16);
	memcpy(h + 36, "estm", 4);
	put32(h + 40, 8);
	put32(h + 44, (uint32_t)(uint64_t)start_us);
	put32(h + 48, (uint32_t)((uint64_t)start_us >> 32));
	memcpy(h + 52, "data", 4);
	put32(h + 56, 0xFFFFFFFFu);
}

static void ls_tap(void *ud, const int16_t *a, const int16_t *b, size_t n)
{
	struct ls *l = ud;
	if (!l->header) {
		uint8_t h[LS_HDR];
		wav_header(h, rec_listen_rate(l->rl), rec_listen_start_us(l->rl));
		ls_push(l, h, sizeof(h));
		l->header = true;
	}
	uint8_t buf[4 * 1024];
	while (n) {
		size_t k = ES_MIN(n, sizeof(buf) / 4);
		for (size_t i = 0; i < k; i++) {
			put16(buf + 4 * i, (uint16_t)a[i]);
			put16(buf + 4 * i + 2, (uint16_t)b[i]);
		}
		ls_push(l, buf, 4 * k);
		a += k, b += k, n -= k;
	}
}

/* Sleep up to ms, or until the listener goes; true when it went. */
static bool ls_sleep(struct ls *l, unsigned ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)ms * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&l->lock);
	if (!l->closed)
		pthread_cond_timedwait(&l->wake, &l->lock, &ts);
	bool closed = l->closed;
	pthread_mutex_unlock(&l->lock);
	return closed;
}

/* Follow the log until the call ends or nobody listens any more. */
static void ls_run(struct ls *l)
{
	char err[600] = "";
	int64_t t0 = srv_now_us(), checked = t0;
	for (;;) {
		bool found = false;
		int rc = rec_listen_poll(l->rl, &found, err, sizeof(err));
		if (rc) {
			ES_LOG_WARNING(TAG, "listen-in of call %s: %s", l->obj, err);
			snprintf(l->reason, sizeof(l->reason), "error: %.140s", err);
			return;
		}
		int64_t now = srv_now_us();
		if (!found && now - t0 > LS_FIND_US) {
			snprintf(l->reason, sizeof(l->reason), "no audio of the call in the spool");
			return;
		}
		bool ended = false;
		if (rec_listen_gone(l->rl)) {
			ended = true;
		} else if (now - checked >= LS_CHECK_US) {
			checked = now;
			struct rec_active a;
			bool listed = false;
			ended = srv_active_find(l->srv, l->obj, &a, &listed) || !listed;
		}
		if (ended) {
			/* what the recorder wrote last, then what the renderer held */
			if (!rec_listen_poll(l->rl, &found, err, sizeof(err)))
				rec_listen_end(l->rl);
			snprintf(l->reason, sizeof(l->reason), "the call ended");
			return;
		}
		if (jobs_stopping(l->srv->listen)) {
			snprintf(l->reason, sizeof(l->reason), "the server stopped");
			return;
		}
		if (ls_sleep(l, LS_POLL_MS))
			return; /* the listener left */
	}
}

static void *ls_main(void *arg)
{
	struct ls *l = arg;
	struct srv_listen_jobs *c = l->srv->listen;
	ls_run(l);
	pthread_mutex_lock(&l->lock);
	l->done = true;
	ls_resume(l);
	pthread_mutex_unlock(&l->lock);
	ls_unref(l);
	pthread_mutex_lock(&c->lock);
	c->threads--;
	pthread_cond_broadcast(&c->idle);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

static ssize_t ls_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct ls *l = cls;
	(void)pos;
	pthread_mutex_lock(&l->lock);
	if (l->len) {
		size_t n = ES_MIN(max, l->len);
		size_t first = ES_MIN(n, LS_RING - l->head);
		memcpy(buf, l->ring + l->head, first);
		memcpy(buf + first, l->ring, n - first);
		l->head = (l->head + n) % LS_RING;
		l->len -= n;
		l->sent += n;
		pthread_mutex_unlock(&l->lock);
		return (ssize_t)n;
	}
	if (l->done) {
		pthread_mutex_unlock(&l->lock);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	/* nothing yet: MHD calls again once the thread resumes us */
	l->suspended = true;
	MHD_suspend_connection(l->conn);
	pthread_mutex_unlock(&l->lock);
	return 0;
}

static void ls_free(void *cls)
{
	struct ls *l = cls;
	pthread_mutex_lock(&l->lock);
	l->closed = true;
	pthread_cond_signal(&l->wake);
	pthread_mutex_unlock(&l->lock);
	ls_unref(l);
}

/* The thread, counted so that the server's stop waits for it. */
static bool ls_start(struct ls *l)
{
	struct srv_listen_jobs *c = l->srv->listen;
	pthread_attr_t at;
	pthread_t th;
	if (pthread_attr_init(&at))
		return false;
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&c->lock);
	bool ok = !c->stopping && pthread_create(&th, &at, ls_main, l) == 0;
	if (ok)
		c->threads++;
	pthread_mutex_unlock(&c->lock);
	pthread_attr_destroy(&at);
	return ok;
}

int srv_active_listen(struct srv_req *r, const char *call_id)
{
	int rc;
	static const char action[] = "call.listen_live";
	if (!srv_begin(r, NULL, &rc))
		return rc;
	if (!*call_id || strlen(call_id) >= REC_ACTIVE_STR)
		return srv_error(r, MHD_HTTP_BAD_REQUEST, "bad_parameter", "id",
				 "a call id of 1 to %d bytes", REC_ACTIVE_STR - 1);
	/* agents never, even on their own calls; the others as for playback */
	if (r->user.role == API_ROLE_AGENT) {
		srv_audit(r, action, call_id, API_AUDIT_DENIED, "agents do not listen in");
		return srv_error(r, MHD_HTTP_FORBIDDEN, "forbidden", NULL,
				 "your role may not listen to calls in progress");
	}
	struct rec_active a;
	bool found = false;
	if (srv_active_find(r->srv, call_id, &a, &found)) {
		srv_audit(r, action, call_id, API_AUDIT_FAILED, "no recorder");
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "no_recorder", NULL,
				 "no recorder is running with this data folder");
	}
	if (!srv_allow_call(r, API_ACT_LISTEN, found, found && srv_active_own(r, &a),
			    action, call_id, &rc))
		return rc;
	if (!a.recording) {
		srv_audit(r, action, call_id, API_AUDIT_FAILED, "the call's audio is not recorded");
		return srv_error(r, MHD_HTTP_CONFLICT, "not_recorded", NULL,
				 "the recording rules keep no audio of this call%s%s",
				 *a.rule ? ": rule " : "", a.rule);
	}
	unsigned max = r->srv->cfg.listen_per_user ? r->srv->cfg.listen_per_user
						   : API_SRV_LISTEN_PER_USER_DEFAULT;
	unsigned open = 0;
	if (!jobs_take(r->srv->listen, r->user.name, max, &open)) {
		if (open < max)
			return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
					 "out of memory");
		char d[96];
		snprintf(d, sizeof(d), "too many streams: %u open, %u allowed per user", open, max);
		srv_audit(r, action, call_id, API_AUDIT_FAILED, d);
		return srv_error(r, MHD_HTTP_TOO_MANY_REQUESTS, "too_many_streams", NULL,
				 "you have %u listen-in stream%s open, the most one user may have "
				 "([api] listen_streams_per_user = %u): close one first",
				 open, open == 1 ? "" : "s", max);
	}
	struct ls *l = calloc(1, sizeof(*l));
	if (l)
		l->ring = malloc(LS_RING);
	if (!l || !l->ring || rec_listen_open(&l->rl, r->srv->data_dir, r->srv->vault, call_id,
					      a.start_us, ls_tap, l)) {
		if (l)
			free(l->ring);
		free(l);
		jobs_give(r->srv->listen, r->user.name);
		return srv_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL, "out of memory");
	}
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->wake, NULL);
	l->srv = r->srv;
	l->conn = r->conn;
	l->t0 = srv_now_us();
	l->refs = 2;
	snprintf(l->user, sizeof(l->user), "%s", r->user.name);
	snprintf(l->remote, sizeof(l->remote), "%s", r->remote);
	snprintf(l->obj, sizeof(l->obj), "%s", call_id);
	struct MHD_Response *resp =
		MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, LS_BLOCK, ls_read, l, ls_free);
	if (!resp) {
		l->refs = 1;
		ls_unref(l);
		return MHD_NO;
	}
	if (!ls_start(l)) {
		l->done = true; /* the response ends at once; its free is the last ref */
		l->refs = 1;
		snprintf(l->reason, sizeof(l->reason), "no thread could be started");
	}
	srv_audit(r, action, call_id, API_AUDIT_OK, "start");
	srv_headers(resp, false);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "audio/wav");
	return srv_queue(r, MHD_HTTP_OK, resp);
}
