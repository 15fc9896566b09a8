/* log.c - the one logging function. */
#include "core.h"

static enum es_log_level log_level = ES_LOG_WARN;

static const char *const level_name[] = {"error", "warning", "info", "debug"};

void es_log_set_level(enum es_log_level lvl) { log_level = lvl; }

enum es_log_level es_log_get_level(void) { return log_level; }

void es_log(enum es_log_level lvl, const char *tag, const char *fmt, ...)
{
	if (lvl > log_level)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "earshot[%s] %s: %s\n", tag, level_name[lvl], msg);
}
