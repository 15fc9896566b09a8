/* alert_outbox.c - the durable outbox of alert events and its sender
 * thread: each raised event becomes one fsync'd file in DATA/alerts/outbox/
 * before anything is sent, is POSTed with its HMAC-SHA256 signature, and
 * is deleted only after a 2xx, so a crash, a restart or a receiver outage
 * loses nothing; a crash between a 2xx and the delete sends it again with
 * the same id (at least once: receivers de-duplicate by id).  Every event
 * is also appended to DATA/alerts/events.jsonl for the web UI and, when
 * the alert says so, written to syslog (docs/ALERTS.md). */
#include "analytics/alert_internal.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define TAG "alert"
#define EVENTS_LOG_MAX (1 << 20) /* events.jsonl is rotated to .1 past this */

/* ---- signature ----------------------------------------------------------------- */

void an_alert_sign(const char *secret, const void *body, size_t len, char out[72])
{
	/* RFC 2104 HMAC with SHA-256; libsodium's takes a key of any length */
	crypto_auth_hmacsha256_state st;
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_init(&st, (const uint8_t *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	memcpy(out, "sha256=", 7);
	sodium_bin2hex(out + 7, 65, mac, sizeof(mac));
	sodium_memzero(&st, sizeof(st));
}

/* ---- files --------------------------------------------------------------------- */

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return ES_EIO;
	int rc = fsync(fd) ? ES_EIO : 0;
	close(fd);
	return rc;
}

int an_outbox_write(const char *dir, const char *name, const char *body, size_t len, char *err,
		    size_t errlen)
{
	char tmp[4200], path[4200];
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return es_errf(err, errlen, ES_EIO, "%s: %s", tmp, strerror(errno));
	int rc = 0;
	if (es_write_all(fd, body, len) || fsync(fd))
		rc = es_errf(err, errlen, ES_EIO, "%s: %s", tmp, strerror(errno));
	if (close(fd) && !rc)
		rc = es_errf(err, errlen, ES_EIO, "%s: %s", tmp, strerror(errno));
	if (!rc && rename(tmp, path))
		rc = es_errf(err, errlen, ES_EIO, "%s: %s", path, strerror(errno));
	if (rc) {
		unlink(tmp);
		return rc;
	}
	/* the name is durable too: the folder's entry */
	if (fsync_dir(dir))
		return es_errf(err, errlen, ES_EIO, "%s: fsync: %s", dir, strerror(errno));
	return 0;
}

static int is_event(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return d->d_name[0] != '.' && n > 5 && !strcmp(d->d_name + n - 5, ".json");
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			char *nb = cap <= (1u << 24) ? realloc(buf, cap + 1) : NULL;
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* ---- delivery ------------------------------------------------------------------ */

static size_t discard(char *p, size_t sz, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return sz * n;
}

/* POST one event; the HTTP status, or 0 when no answer came. */
static long post(CURL *h, const char *url, const char *secret, const char *id, const char *body,
		 size_t len, long timeout_ms)
{
	char sig[80], hsig[120], hid[120];
	an_alert_sign(secret, body, len, sig);
	snprintf(hsig, sizeof(hsig), "X-Earshot-Signature: %s", sig);
	snprintf(hid, sizeof(hid), "X-Earshot-Event: %s", id);
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	hdr = curl_slist_append(hdr, hsig);
	hdr = curl_slist_append(hdr, hid);
	hdr = curl_slist_append(hdr, "Expect:"); /* no 100-continue round trip */
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "earshot-alerts");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	/* a redirect would send the signed body somewhere not configured */
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	long code = 0;
	CURLcode cc = curl_easy_perform(h);
	if (cc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	else
		ES_LOG_DBG(TAG, "POST %s: %s", url, curl_easy_strerror(cc));
	curl_slist_free_all(hdr);
	return code;
}

int an_outbox_deliver(const char *dir, const char *url, const char *secret, long timeout_ms,
		      struct an_alert_stats *st)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, is_event, alphasort);
	if (n < 0)
		return ES_EIO;
	CURL *h = n ? curl_easy_init() : NULL;
	int rc = 0, i = 0;
	if (n && !h)
		rc = ES_EAGAIN;
	for (; i < n && !rc; i++) {
		char path[4400], id[64];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		/* the name is TIME-ID.json */
		const char *dash = strchr(names[i]->d_name, '-');
		snprintf(id, sizeof(id), "%.*s", 32, dash ? dash + 1 : names[i]->d_name);
		size_t len = 0;
		char *body = read_file(path, &len);
		if (!body)
			continue; /* gone meanwhile */
		long code = post(h, url, secret, id, body, len, timeout_ms);
		free(body);
		if (code >= 200 && code < 300) {
			unlink(path);
			st->delivered++;
		} else if (code >= 400 && code < 500 && code != 408 && code != 429) {
			/* the receiver will never take it: kept aside, not retried */
			char rej[4400], rpath[4800];
			snprintf(rej, sizeof(rej), "%s/rejected", dir);
			mkdir(rej, 0750);
			snprintf(rpath, sizeof(rpath), "%s/%s", rej, names[i]->d_name);
			rename(path, rpath);
			st->rejected++;
			ES_LOG_WARNING(TAG, "%s: the webhook answered %ld: the event is kept in %s "
				       "and not sent again", url, code, rej);
		} else {
			st->failed++;
			ES_LOG_DBG(TAG, "%s: event %s not delivered (HTTP %ld): retried later", url,
				   id, code);
			rc = ES_EAGAIN;
		}
	}
	for (int k = 0; k < n; k++)
		free(names[k]);
	free(names);
	if (h)
		curl_easy_cleanup(h);
	return rc;
}

static uint64_t outbox_count(const char *dir)
{
	uint64_t n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += is_event(e) != 0;
	closedir(d);
	return n;
}

/* ---- the sender thread --------------------------------------------------------- */

int alert_state_init(struct an_alerts *a, const char *data_dir)
{
	if (pthread_mutex_init(&a->lock, NULL))
		return ES_ENOMEM;
	if (pthread_cond_init(&a->cond, NULL)) {
		pthread_mutex_destroy(&a->lock);
		return ES_ENOMEM;
	}
	a->lock_ok = true;
	a->qtail = &a->queue;
	if (gethostname(a->node, sizeof(a->node) - 1))
		snprintf(a->node, sizeof(a->node), "earshot");
	snprintf(a->outbox, sizeof(a->outbox), "%s/alerts/outbox", data_dir ? data_dir : ".");
	snprintf(a->events_log, sizeof(a->events_log), "%s/alerts/events.jsonl",
		 data_dir ? data_dir : ".");
	return 0;
}

/* The UI's log: one line per event, the file rotated past 1 MiB. */
static void log_event(struct an_alerts *a, const struct an_event *ev)
{
	struct stat sb;
	if (stat(a->events_log, &sb) == 0 && sb.st_size > EVENTS_LOG_MAX) {
		char old[4200];
		snprintf(old, sizeof(old), "%s.1", a->events_log);
		rename(a->events_log, old);
	}
	int fd = open(a->events_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return;
	/* one write: a reader never sees half a line */
	char *line = malloc(ev->len + 1);
	if (line) {
		memcpy(line, ev->body, ev->len);
		line[ev->len] = '\n';
		if (es_write_all(fd, line, ev->len + 1))
			ES_LOG_DBG(TAG, "%s: %s", a->events_log, strerror(errno));
		free(line);
	}
	close(fd);
}

/* An event out of the queue: the outbox first (durable), then the log and
 * syslog.  Without the lock. */
static void persist(struct an_alerts *a, struct an_event *ev)
{
	const struct an_alert_rule *r = &a->r[ev->rule];
	if (r->webhook) {
		char name[80], err[512];
		snprintf(name, sizeof(name), "%016lld-%s.json", (long long)ev->time_us, ev->id);
		if (an_outbox_write(a->outbox, name, ev->body, ev->len, err, sizeof(err)))
			ES_LOG_ERR(TAG, "alert %s: event %s not kept for the webhook: %s", r->name,
				   ev->id, err);
	}
	log_event(a, ev);
	if (r->syslog) {
		/* the event's JSON, which names the alert, the call and why */
		syslog(LOG_USER | (strcmp(r->severity, "critical") ? LOG_WARNING : LOG_CRIT),
		       "earshot alert %s: %.*s", r->name, (int)ev->len, ev->body);
		pthread_mutex_lock(&a->lock);
		a->st.syslog++;
		pthread_mutex_unlock(&a->lock);
	}
}

static int64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * ES_US_PER_SEC + ts.tv_nsec / 1000;
}

/* Everything queued, persisted (the lock held on entry and exit). */
static void drain_queue(struct an_alerts *a)
{
	while (a->queue) {
		struct an_event *ev = a->queue;
		a->queue = NULL;
		a->qtail = &a->queue;
		a->nqueue = 0;
		pthread_mutex_unlock(&a->lock);
		while (ev) {
			struct an_event *next = ev->next;
			persist(a, ev);
			free(ev->body);
			free(ev);
			ev = next;
		}
		pthread_mutex_lock(&a->lock);
	}
}

static void *sender(void *ud)
{
	struct an_alerts *a = ud;
	int64_t backoff = 0, next_try = 0;
	pthread_mutex_lock(&a->lock);
	while (!a->stop) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		if (!a->queue)
			pthread_cond_timedwait(&a->cond, &a->lock, &until);
		int64_t now = wall_us();
		alert_tick_locked(a, now);
		bool fresh = a->queue != NULL;
		drain_queue(a);
		if (a->stop || !a->url)
			continue;
		/* a fresh event is tried at once unless the receiver is known down */
		if (now < next_try && !(fresh && backoff <= ES_US_PER_SEC))
			continue;
		pthread_mutex_unlock(&a->lock);
		struct an_alert_stats d = {0};
		int rc = an_outbox_deliver(a->outbox, a->url, a->secret,
					   (long)(a->timeout_us / 1000), &d);
		uint64_t left = outbox_count(a->outbox);
		pthread_mutex_lock(&a->lock);
		a->st.delivered += d.delivered;
		a->st.failed += d.failed;
		a->st.rejected += d.rejected;
		a->st.outbox = left;
		if (rc == ES_EAGAIN) {
			/* exponential backoff: 1 s, 2 s, 4 s ... up to retry_max */
			backoff = backoff ? ES_MIN(backoff * 2, a->retry_max_us) : ES_US_PER_SEC;
			next_try = now + backoff;
			ES_LOG_DBG(TAG, "%llu events wait for %s; next try in %lld ms",
				   (unsigned long long)left, a->url, (long long)(backoff / 1000));
		} else {
			backoff = 0;
			next_try = now + ES_US_PER_SEC; /* what a restart left, by the second */
		}
	}
	drain_queue(a);
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

int an_alerts_start(struct an_alerts *a, char *err, size_t errlen)
{
	if (!a || a->running)
		return 0;
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s", a->outbox);
	if (es_mkdirs(dir, true))
		return es_errf(err, errlen, ES_EIO, "%s: %s", dir, strerror(errno));
	a->st.outbox = outbox_count(a->outbox);
	a->stop = false;
	if (pthread_create(&a->thread, NULL, sender, a))
		return es_errf(err, errlen, ES_ENOMEM, "no thread for the alert sender");
	a->running = true;
	return 0;
}

void an_alerts_stop(struct an_alerts *a)
{
	if (!a)
		return;
	if (a->running) {
		pthread_mutex_lock(&a->lock);
		a->stop = true;
		pthread_cond_signal(&a->cond);
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->thread, NULL);
		a->running = false;
	} else if (a->lock_ok) {
		/* never started: what was raised still reaches the outbox */
		pthread_mutex_lock(&a->lock);
		if (a->queue)
			es_mkdirs(a->outbox, true);
		drain_queue(a);
		pthread_mutex_unlock(&a->lock);
	}
}

size_t an_alerts_drop_queued(struct an_alerts *a)
{
	if (!a || !a->lock_ok)
		return 0;
	pthread_mutex_lock(&a->lock);
	struct an_event *ev = a->queue;
	size_t n = a->nqueue;
	a->queue = NULL;
	a->qtail = &a->queue;
	a->nqueue = 0;
	pthread_mutex_unlock(&a->lock);
	while (ev) {
		struct an_event *next = ev->next;
		free(ev->body);
		free(ev);
		ev = next;
	}
	return n;
}

void an_alerts_free(struct an_alerts *a)
{
	if (!a)
		return;
	an_alerts_stop(a);
	if (a->lock_ok) {
		pthread_mutex_destroy(&a->lock);
		pthread_cond_destroy(&a->cond);
	}
	free(a->url);
	if (a->secret)
		sodium_memzero(a->secret, strlen(a->secret));
	free(a->secret);
	free(a);
}
