/* log.c - the one logging function: stderr always, syslog on request.
 * Safe to call from several threads: each message is formatted into one
 * buffer and written with a single call, and the settings are atomics or
 * guarded by a mutex. */
#include "core.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

static atomic_int log_level = ES_LOG_WARN;
static atomic_bool log_timestamps = false;
static atomic_bool log_syslog = false;
/* openlog keeps the ident pointer: it must outlive the syslog session. */
static char log_ident[64];
static pthread_mutex_t log_syslog_lock = PTHREAD_MUTEX_INITIALIZER;

static const struct {
	const char *name;
	int priority; /* syslog's */
} level_info[] = {
	[ES_LOG_ERROR] = {"error", LOG_ERR},
	[ES_LOG_WARN] = {"warning", LOG_WARNING},
	[ES_LOG_INFO] = {"info", LOG_INFO},
	[ES_LOG_DEBUG] = {"debug", LOG_DEBUG},
};

/* Names accepted by es_log_level_parse. */
static const struct {
	const char *name;
	enum es_log_level lvl;
} level_names[] = {
	{"error", ES_LOG_ERROR}, {"warn", ES_LOG_WARN},   {"warning", ES_LOG_WARN},
	{"info", ES_LOG_INFO},   {"debug", ES_LOG_DEBUG},
};

void es_log_set_level(enum es_log_level lvl) { atomic_store(&log_level, (int)lvl); }

enum es_log_level es_log_get_level(void)
{
	return (enum es_log_level)atomic_load(&log_level);
}

void es_log_set_timestamps(bool on) { atomic_store(&log_timestamps, on); }

void es_log_syslog(const char *ident, bool on)
{
	pthread_mutex_lock(&log_syslog_lock);
	if (atomic_load(&log_syslog)) {
		atomic_store(&log_syslog, false);
		closelog();
	}
	if (on) {
		snprintf(log_ident, sizeof(log_ident), "%s", ident && ident[0] ? ident : "earshot");
		openlog(log_ident, LOG_PID, LOG_DAEMON);
		atomic_store(&log_syslog, true);
	}
	pthread_mutex_unlock(&log_syslog_lock);
}

int es_log_level_parse(const char *s, int *level)
{
	if (!s)
		return ES_EINVAL;
	for (size_t i = 0; i < ES_ARRAY_LEN(level_names); i++) {
		if (strcasecmp(s, level_names[i].name) == 0) {
			*level = (int)level_names[i].lvl;
			return 0;
		}
	}
	return ES_EINVAL;
}

void es_log(enum es_log_level lvl, const char *tag, const char *fmt, ...)
{
	if ((int)lvl > atomic_load(&log_level))
		return;
	if ((int)lvl < ES_LOG_ERROR || (int)lvl > ES_LOG_DEBUG)
		lvl = ES_LOG_ERROR;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	char stamp[ES_TIME_STRLEN + 1] = "";
	if (atomic_load(&log_timestamps)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		size_t n = es_time_fmt((int64_t)ts.tv_sec * ES_US_PER_SEC + ts.tv_nsec / 1000,
				       stamp, sizeof(stamp) - 1);
		stamp[n] = ' ';
		stamp[n + 1] = '\0';
	}
	/* One call per message: stdio locks the stream for its duration, so
	 * lines from different threads do not interleave. */
	fprintf(stderr, "%searshot[%s] %s: %s\n", stamp, tag, level_info[lvl].name, msg);
	if (atomic_load(&log_syslog))
		syslog(level_info[lvl].priority, "[%s] %s", tag, msg);
}
