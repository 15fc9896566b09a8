/* time.c - timestamps in microseconds since the epoch, UTC. */
#include "core.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

size_t es_time_fmt(int64_t us, char *buf, size_t cap)
{
	int64_t sec = us / ES_US_PER_SEC;
	int64_t rem = us % ES_US_PER_SEC;
	if (rem < 0) {
		rem += ES_US_PER_SEC;
		sec--;
	}
	time_t t = (time_t)sec;
	struct tm tm;
	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, cap, "-");
		return strlen(buf);
	}
	int n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec, (int)(rem / 1000));
	if (n < 0)
		n = 0;
	return (size_t)n < cap ? (size_t)n : cap - 1;
}

static int digits(const char **s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*s)[i]))
			return ES_EPARSE;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*out = v;
	return 0;
}

int es_time_parse(const char *s, int64_t *us)
{
	if (!s || !*s)
		return ES_EPARSE;
	size_t n = strlen(s);
	if (strspn(s, "0123456789") == n) {
		uint64_t v;
		if (sl_to_u64(sl_make(s, n), &v) || v > INT64_MAX / ES_US_PER_SEC)
			return ES_EPARSE;
		*us = (int64_t)v * ES_US_PER_SEC;
		return 0;
	}
	struct tm tm = {0};
	int y, mo, d, h = 0, mi = 0, sec = 0, frac_us = 0;
	const char *p = s;
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d))
		return ES_EPARSE;
	if (*p == 'T' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
			return ES_EPARSE;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec))
				return ES_EPARSE;
			if (*p == '.') {
				p++;
				int scale = 100000;
				if (!isdigit((unsigned char)*p))
					return ES_EPARSE;
				while (isdigit((unsigned char)*p)) {
					frac_us += (*p - '0') * scale;
					scale /= 10;
					p++;
				}
			}
		}
	}
	if (*p == 'Z')
		p++;
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return ES_EPARSE;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	time_t t = timegm(&tm);
	*us = (int64_t)t * ES_US_PER_SEC + frac_us;
	return 0;
}

int64_t es_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * ES_US_PER_SEC + ts.tv_nsec / 1000;
}
