/* anchor.c - publishing signed tree heads to sinks outside the data folder
 * from one thread, with retries (anchor.h). */
#include "store/anchor.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define TAG "anchor"
#define DEFAULT_RETRY_US (30 * ES_US_PER_SEC)
#define DEFAULT_TIMEOUT_US (10 * ES_US_PER_SEC)
/* RFC 5424 6.2.1: PRI = facility * 8 + severity; local0 (16), notice (5) */
#define SYSLOG_PRI (16 * 8 + 5)

extern char **environ;

struct sink {
	struct st_anchor_sink s;
	uint64_t next;     /* serial of the next head to publish */
	int64_t retry_at;  /* monotonic; 0 = now */
	bool failing;      /* the last attempt failed */
	struct st_anchor_stats st;
};

struct st_anchor {
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	pthread_t thread;
	bool started, stop;
	struct st_head ring[ST_ANCHOR_QUEUE];
	uint64_t serial; /* heads queued so far */
	struct sink sinks[ST_ANCHOR_MAX_SINKS];
	unsigned n;
	int64_t retry_us, timeout_us;
	char host[256];
};

/* ---- configuration ------------------------------------------------------------ */

/* "udp:HOST:PORT" ("udp:[v6]:PORT") into host and port. */
static bool split_udp(const char *v, char *host, size_t hcap, char *port, size_t pcap)
{
	if (strncmp(v, "udp:", 4) != 0)
		return false;
	v += 4;
	const char *colon = strrchr(v, ':');
	if (!colon || colon == v || !colon[1] || strlen(colon + 1) >= pcap)
		return false;
	const char *h = v;
	size_t hl = (size_t)(colon - v);
	if (h[0] == '[') {
		if (hl < 3 || h[hl - 1] != ']')
			return false;
		h++;
		hl -= 2;
	}
	if (hl >= hcap)
		return false;
	for (const char *p = colon + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	long pn = strtol(colon + 1, NULL, 10);
	if (pn < 1 || pn > 65535)
		return false;
	memcpy(host, h, hl);
	host[hl] = '\0';
	snprintf(port, pcap, "%s", colon + 1);
	return true;
}

int st_anchor_conf_add(struct st_anchor_conf *c, const char *kind, const char *value, char *err,
		       size_t errlen)
{
	struct st_anchor_sink s = {0};
	char host[256], port[16];
	if (!strcmp(kind, "file"))
		s.kind = ST_ANCHOR_FILE;
	else if (!strcmp(kind, "syslog"))
		s.kind = ST_ANCHOR_SYSLOG;
	else if (!strcmp(kind, "command"))
		s.kind = ST_ANCHOR_COMMAND;
	else
		return es_errf(err, errlen, ES_EINVAL, "unknown anchor '%s' (file, syslog, command)",
			       kind);
	if (!value || !*value || strlen(value) >= sizeof(s.target))
		return es_errf(err, errlen, ES_EINVAL, "%s: empty or too long", kind);
	if (s.kind == ST_ANCHOR_FILE && value[0] != '/')
		return es_errf(err, errlen, ES_EINVAL, "file: '%s' is not an absolute path", value);
	if (s.kind == ST_ANCHOR_SYSLOG && strcmp(value, "local") != 0 &&
	    !split_udp(value, host, sizeof(host), port, sizeof(port)))
		return es_errf(err, errlen, ES_EINVAL,
			       "syslog: '%s' is neither udp:HOST:PORT nor local", value);
	if (c->nsinks >= ST_ANCHOR_MAX_SINKS)
		return es_errf(err, errlen, ES_ELIMIT, "more than %d anchors", ST_ANCHOR_MAX_SINKS);
	snprintf(s.target, sizeof(s.target), "%s", value);
	c->sink[c->nsinks++] = s;
	return 0;
}

/* ---- the sinks ----------------------------------------------------------------------- */

static int put_file(const char *path, const char *line, size_t len, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return es_errf(err, errlen, ES_EIO, "%s: %s", path, strerror(errno));
	int rc = es_write_all(fd, line, len);
	if (!rc && fsync(fd) != 0)
		rc = ES_EIO;
	if (rc)
		es_errf(err, errlen, 0, "%s: %s", path, strerror(errno));
	close(fd);
	return rc;
}

/* RFC 5424 6: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG */
static int put_syslog(const struct st_anchor *a, const char *target, const struct st_head *h,
		      const char *published, char *err, size_t errlen)
{
	if (!strcmp(target, "local")) {
		syslog(LOG_LOCAL0 | LOG_NOTICE, "%s", published);
		return 0;
	}
	char host[256], port[16], msg[ST_LEDGER_LINE_MAX + 512], ts[40];
	if (!split_udp(target, host, sizeof(host), port, sizeof(port)))
		return es_errf(err, errlen, ES_EINVAL, "%s: bad target", target);
	time_t t = (time_t)(h->time_us / ES_US_PER_SEC);
	struct tm tm;
	gmtime_r(&t, &tm);
	size_t k = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + k, sizeof(ts) - k, ".%06dZ", (int)(h->time_us % ES_US_PER_SEC));
	int n = snprintf(msg, sizeof(msg), "<%d>1 %s %s earshot %ld sth - %s", SYSLOG_PRI, ts,
			 a->host, (long)getpid(), published);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return es_errf(err, errlen, ES_ELIMIT, "syslog message too long");
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV}, *ai;
	int g = getaddrinfo(host, port, &hints, &ai);
	if (g)
		return es_errf(err, errlen, ES_EIO, "%s: %s", target, gai_strerror(g));
	int rc = ES_EIO;
	for (struct addrinfo *p = ai; p && rc; p = p->ai_next) {
		int fd = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC, p->ai_protocol);
		if (fd < 0)
			continue;
		if (sendto(fd, msg, (size_t)n, 0, p->ai_addr, p->ai_addrlen) == n)
			rc = 0;
		close(fd);
	}
	freeaddrinfo(ai);
	if (rc)
		es_errf(err, errlen, 0, "%s: %s", target, strerror(errno));
	return rc;
}

/* /bin/sh -c cmd with the head on stdin and in the environment; killed
 * after timeout_us. */
static int put_command(const char *cmd, const struct st_head *h, const char *line, size_t len,
		       const char *published, int64_t timeout_us, char *err, size_t errlen)
{
	char e_head[ST_LEDGER_LINE_MAX + 32], e_pub[ST_LEDGER_LINE_MAX + 128], e_size[64],
		e_root[96];
	snprintf(e_head, sizeof(e_head), "EARSHOT_HEAD=%.*s", (int)(len - 1), line);
	snprintf(e_pub, sizeof(e_pub), "EARSHOT_HEAD_PUBLISHED=%s", published);
	snprintf(e_size, sizeof(e_size), "EARSHOT_HEAD_SIZE=%" PRIu64, h->size);
	memcpy(e_root, "EARSHOT_HEAD_ROOT=", 18);
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < ST_HASH_LEN; i++) {
		e_root[18 + 2 * i] = digits[h->root[i] >> 4];
		e_root[19 + 2 * i] = digits[h->root[i] & 15];
	}
	e_root[18 + 2 * ST_HASH_LEN] = '\0';
	size_t ne = 0;
	while (environ && environ[ne])
		ne++;
	char **envp = calloc(ne + 5, sizeof(*envp));
	int pfd[2] = {-1, -1}, rc = 0;
	pid_t pid = -1;
	posix_spawn_file_actions_t fa;
	bool fa_ok = false;
	if (!envp)
		return es_errf(err, errlen, ES_ENOMEM, "out of memory");
	size_t k = 0;
	for (size_t i = 0; i < ne; i++)
		if (strncmp(environ[i], "EARSHOT_HEAD", 12) != 0)
			envp[k++] = environ[i];
	envp[k++] = e_head;
	envp[k++] = e_pub;
	envp[k++] = e_size;
	envp[k++] = e_root;
	/* the line goes into the pipe before the child starts: one small
	 * write that fits the pipe, and no SIGPIPE if it never reads */
	if (pipe2(pfd, O_CLOEXEC) != 0 || es_write_all(pfd[1], line, len) != 0) {
		rc = es_errf(err, errlen, ES_EIO, "pipe: %s", strerror(errno));
		goto out;
	}
	close(pfd[1]);
	pfd[1] = -1;
	if (posix_spawn_file_actions_init(&fa) != 0) {
		rc = es_errf(err, errlen, ES_ENOMEM, "out of memory");
		goto out;
	}
	fa_ok = true;
	posix_spawn_file_actions_adddup2(&fa, pfd[0], 0);
	char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
	int e = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, envp);
	if (e) {
		pid = -1;
		rc = es_errf(err, errlen, ES_EIO, "cannot run /bin/sh: %s", strerror(e));
		goto out;
	}
	int status = 0;
	int64_t deadline = es_mono_us() + timeout_us;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			rc = es_errf(err, errlen, ES_EIO, "waitpid: %s", strerror(errno));
			pid = -1;
			goto out;
		}
		if (es_mono_us() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			rc = es_errf(err, errlen, ES_EIO, "command killed after %.1f s",
				     (double)timeout_us / 1e6);
			pid = -1;
			goto out;
		}
		usleep(10000);
	}
	pid = -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		rc = 0;
	else if (WIFEXITED(status))
		rc = es_errf(err, errlen, ES_EIO, "command exited with status %d",
			     WEXITSTATUS(status));
	else
		rc = es_errf(err, errlen, ES_EIO, "command killed by signal %d",
			     WIFSIGNALED(status) ? WTERMSIG(status) : 0);
out:
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	free(envp);
	return rc;
}

static int put(const struct st_anchor *a, const struct st_anchor_sink *s, const struct st_head *h,
	       char *err, size_t errlen)
{
	char line[ST_LEDGER_LINE_MAX + 2], pub[ST_LEDGER_LINE_MAX + 64];
	int n = st_head_format(h, line, sizeof(line) - 1);
	int pn = st_head_format_published(h, pub, sizeof(pub));
	if (n < 0 || pn < 0)
		return es_errf(err, errlen, ES_EINVAL, "a head that cannot be formatted");
	line[n++] = '\n';
	line[n] = '\0';
	switch (s->kind) {
	case ST_ANCHOR_FILE:
		return put_file(s->target, line, (size_t)n, err, errlen);
	case ST_ANCHOR_SYSLOG:
		return put_syslog(a, s->target, h, pub, err, errlen);
	case ST_ANCHOR_COMMAND:
		return put_command(s->target, h, line, (size_t)n, pub, a->timeout_us, err, errlen);
	}
	return ES_EINVAL;
}

/* ---- the thread ------------------------------------------------------------------------ */

static const char *kind_name(enum st_anchor_kind k)
{
	return k == ST_ANCHOR_FILE ? "file" : k == ST_ANCHOR_SYSLOG ? "syslog" : "command";
}

static void abs_deadline(int64_t mono_us, struct timespec *ts)
{
	ts->tv_sec = (time_t)(mono_us / ES_US_PER_SEC);
	ts->tv_nsec = (long)(mono_us % ES_US_PER_SEC) * 1000;
}

/* The sink with a head due now, or NULL; *wake gets the earliest retry. */
static struct sink *due(struct st_anchor *a, int64_t now, int64_t *wake)
{
	*wake = 0;
	for (unsigned i = 0; i < a->n; i++) {
		struct sink *s = &a->sinks[i];
		if (s->next >= a->serial)
			continue;
		if (s->retry_at <= now)
			return s;
		if (!*wake || s->retry_at < *wake)
			*wake = s->retry_at;
	}
	return NULL;
}

static void *anchor_main(void *arg)
{
	struct st_anchor *a = arg;
	pthread_mutex_lock(&a->mu);
	while (!a->stop) {
		int64_t now = es_mono_us(), wake;
		struct sink *s = due(a, now, &wake);
		if (!s) {
			if (wake) {
				struct timespec ts;
				abs_deadline(wake, &ts);
				pthread_cond_timedwait(&a->work, &a->mu, &ts);
			} else {
				pthread_cond_wait(&a->work, &a->mu);
			}
			continue;
		}
		uint64_t serial = s->next;
		struct st_head h = a->ring[serial % ST_ANCHOR_QUEUE];
		struct st_anchor_sink target = s->s;
		pthread_mutex_unlock(&a->mu);
		char err[256] = "";
		int rc = put(a, &target, &h, err, sizeof(err));
		pthread_mutex_lock(&a->mu);
		if (!rc) {
			if (s->failing)
				ES_LOG_INF(TAG, "%s %s: publishing again (after %" PRIu64 " failures)",
					   kind_name(target.kind), target.target, s->st.failures);
			s->failing = false;
			s->st.published++;
			if (s->next == serial) /* not moved on by a full queue meanwhile */
				s->next++;
		} else {
			if (!s->failing || s->st.failures % 100 == 0)
				ES_LOG_WARNING(TAG, "%s %s: head of %" PRIu64 " leaves not published: "
					       "%s (retried every %.1f s)", kind_name(target.kind),
					       target.target, h.size, err, (double)a->retry_us / 1e6);
			s->failing = true;
			s->st.failures++;
			snprintf(s->st.last_error, sizeof(s->st.last_error), "%s", err);
			s->retry_at = es_mono_us() + a->retry_us;
		}
		pthread_cond_broadcast(&a->done);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* ---- the interface --------------------------------------------------------------------- */

int st_anchor_new(struct st_anchor **out, const struct st_anchor_conf *c, char *err,
		  size_t errlen)
{
	*out = NULL;
	if (!c || c->nsinks > ST_ANCHOR_MAX_SINKS)
		return es_errf(err, errlen, ES_EINVAL, "bad anchor configuration");
	struct st_anchor *a = calloc(1, sizeof(*a));
	if (!a)
		return es_errf(err, errlen, ES_ENOMEM, "out of memory");
	a->n = c->nsinks;
	for (unsigned i = 0; i < a->n; i++)
		a->sinks[i].s = c->sink[i];
	a->retry_us = c->retry_us > 0 ? c->retry_us : DEFAULT_RETRY_US;
	a->timeout_us = c->timeout_us > 0 ? c->timeout_us : DEFAULT_TIMEOUT_US;
	if (gethostname(a->host, sizeof(a->host)) != 0 || !a->host[0])
		snprintf(a->host, sizeof(a->host), "-");
	a->host[sizeof(a->host) - 1] = '\0';
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->work, &ca);
	pthread_cond_init(&a->done, &ca);
	pthread_condattr_destroy(&ca);
	int e = pthread_create(&a->thread, NULL, anchor_main, a);
	if (e) {
		st_anchor_free(a);
		return es_errf(err, errlen, ES_ENOMEM, "cannot start the anchor thread: %s",
			       strerror(e));
	}
	a->started = true;
	*out = a;
	return 0;
}

void st_anchor_publish(struct st_anchor *a, const struct st_head *h)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	a->ring[a->serial % ST_ANCHOR_QUEUE] = *h;
	a->serial++;
	for (unsigned i = 0; i < a->n; i++) {
		struct sink *s = &a->sinks[i];
		if (a->serial - s->next > ST_ANCHOR_QUEUE) {
			s->st.skipped += a->serial - ST_ANCHOR_QUEUE - s->next;
			s->next = a->serial - ST_ANCHOR_QUEUE;
		}
	}
	pthread_cond_signal(&a->work);
	pthread_mutex_unlock(&a->mu);
}

bool st_anchor_flush(struct st_anchor *a, int64_t timeout_us)
{
	if (!a)
		return true;
	int64_t deadline = es_mono_us() + timeout_us;
	pthread_mutex_lock(&a->mu);
	bool idle = false;
	for (;;) {
		/* done when nothing is pending, or what is pending belongs to
		 * sinks that are failing: those are not waited for (their next
		 * attempt may be far off; the next start publishes the newest
		 * head again) */
		bool waiting = false;
		idle = true;
		for (unsigned i = 0; i < a->n; i++) {
			const struct sink *s = &a->sinks[i];
			if (s->next < a->serial) {
				idle = false;
				if (!s->failing)
					waiting = true;
			}
		}
		if (idle || !waiting || es_mono_us() >= deadline)
			break;
		struct timespec ts;
		abs_deadline(deadline, &ts);
		pthread_cond_timedwait(&a->done, &a->mu, &ts);
	}
	pthread_mutex_unlock(&a->mu);
	return idle;
}

void st_anchor_free(struct st_anchor *a)
{
	if (!a)
		return;
	if (a->started) {
		st_anchor_flush(a, a->timeout_us);
		pthread_mutex_lock(&a->mu);
		a->stop = true;
		pthread_cond_signal(&a->work);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->thread, NULL);
		for (unsigned i = 0; i < a->n; i++) {
			const struct sink *s = &a->sinks[i];
			if (s->next < a->serial)
				ES_LOG_WARNING(TAG, "%s %s: %" PRIu64 " heads not published at exit "
					       "(the next start publishes the newest): %s",
					       kind_name(s->s.kind), s->s.target, a->serial - s->next,
					       s->st.last_error);
		}
	}
	pthread_cond_destroy(&a->work);
	pthread_cond_destroy(&a->done);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

int st_anchor_stats(struct st_anchor *a, unsigned i, struct st_anchor_stats *out)
{
	if (!a || i >= a->n)
		return ES_EINVAL;
	pthread_mutex_lock(&a->mu);
	*out = a->sinks[i].st;
	out->pending = a->serial - a->sinks[i].next;
	pthread_mutex_unlock(&a->mu);
	return 0;
}
