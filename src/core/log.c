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

/* Log lines are text for terminals, journald and grep, but their arguments
 * are often packet bytes (a Call-ID, a header from a malformed message): an
 * ESC sequence would drive the reader's terminal, a CR/LF would forge a log
 * line, a NUL or a stray byte >= 0x80 would make the file binary.  So every
 * control byte (C0 but TAB, DEL, and the two bytes of a C1 character) and
 * every byte that is not part of well-formed UTF-8 is written as \xNN.
 * out[cap] must hold 4 bytes per input byte, plus the NUL. */
static void log_clean(const char *in, char *out, size_t cap)
{
	size_t n = strlen(in), o = 0;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = es_utf8_seq(in + i, n - i, &cp);
		bool bad = !len || (cp < 0x20 && cp != '\t') || (cp >= 0x7f && cp <= 0x9f);
		if (!len)
			len = 1;
		if (o + 4 * len >= cap)
			break;
		for (size_t k = 0; k < len; k++) {
			if (bad)
				o += (size_t)snprintf(out + o, cap - o, "\\x%02x",
						      (unsigned char)in[i + k]);
			else
				out[o++] = in[i + k];
		}
		i += len;
	}
	out[o] = 0;
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
	char clean[4 * sizeof(msg)];
	log_clean(msg, clean, sizeof(clean));

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
	fprintf(stderr, "%searshot[%s] %s: %s\n", stamp, tag, level_info[lvl].name, clean);
	if (atomic_load(&log_syslog))
		syslog(level_info[lvl].priority, "[%s] %s", tag, clean);
}
