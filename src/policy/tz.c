/*
 * tz.c - local time for the rules' time windows, from the TZif files of
 * the system's tz database (RFC 8536), without touching the process's TZ.
 */
#include "policy_internal.h"

#include <stdlib.h>
#include <string.h>

#define TZ_DIR "/usr/share/zoneinfo/"
#define TZ_MAX_FILE (1 << 20)

/* POSIX TZ rule (RFC 8536 section 3.3, POSIX.1 8.3): "CET-1CEST,M3.5.0,M10.5.0/3" */
struct tz_date {
	char kind;         /* 'J' (1..365, no Feb 29), 'N' (0..365), 'M' */
	int m, w, d, n;
	int32_t secs;      /* local time of day of the change, may be < 0 or > 24h */
};
struct tz_rule {
	int32_t std_off, dst_off; /* seconds east of UTC */
	bool has_dst;
	struct tz_date start, end;
};

struct pol_tz {
	int64_t *times;  /* transitions, UTC seconds, ascending */
	uint8_t *idx;    /* type of each transition */
	int32_t *offs;   /* utoff of each type */
	size_t ntimes, ntypes;
	bool has_rule;
	struct tz_rule rule;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p) { return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4)); }

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int64_t year_of_days(int64_t z)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int m = (int)(mp < 10 ? mp + 3 : mp - 9);
	return yoe + era * 400 + (m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

static bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* ---- the POSIX TZ footer ------------------------------------------------- */

static const char *tz_name(const char *s)
{
	if (*s == '<') {
		const char *e = strchr(s, '>');
		return e ? e + 1 : NULL;
	}
	const char *b = s;
	while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
		s++;
	return s - b >= 3 ? s : NULL;
}

/* [+-]hh[:mm[:ss]], hh up to 167 (RFC 8536 3.3.1). */
static const char *tz_hms(const char *s, int32_t *out)
{
	int sign = 1;
	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	int32_t part[3] = {0, 0, 0};
	for (int i = 0; i < 3; i++) {
		if (i && *s != ':')
			break;
		if (i)
			s++;
		if (*s < '0' || *s > '9')
			return NULL;
		int v = 0;
		for (int k = 0; k < 3 && *s >= '0' && *s <= '9'; k++)
			v = v * 10 + (*s++ - '0');
		part[i] = v;
	}
	if (part[0] > 167 || part[1] > 59 || part[2] > 59)
		return NULL;
	*out = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
	return s;
}

static const char *tz_int(const char *s, int *v, int lo, int hi)
{
	if (*s < '0' || *s > '9')
		return NULL;
	*v = 0;
	while (*s >= '0' && *s <= '9' && *v <= hi)
		*v = *v * 10 + (*s++ - '0');
	return *v >= lo && *v <= hi ? s : NULL;
}

static const char *tz_date(const char *s, struct tz_date *d)
{
	d->secs = 7200;
	if (*s == 'M') {
		d->kind = 'M';
		s = tz_int(s + 1, &d->m, 1, 12);
		if (s && *s == '.')
			s = tz_int(s + 1, &d->w, 1, 5);
		else
			s = NULL;
		if (s && *s == '.')
			s = tz_int(s + 1, &d->d, 0, 6);
		else
			s = NULL;
	} else if (*s == 'J') {
		d->kind = 'J';
		s = tz_int(s + 1, &d->n, 1, 365);
	} else {
		d->kind = 'N';
		s = tz_int(s, &d->n, 0, 365);
	}
	if (s && *s == '/')
		s = tz_hms(s + 1, &d->secs);
	return s;
}

static bool tz_rule_parse(const char *s, struct tz_rule *r)
{
	int32_t off;
	memset(r, 0, sizeof(*r));
	if (!(s = tz_name(s)) || !(s = tz_hms(s, &off)))
		return false;
	r->std_off = -off;
	if (!*s)
		return true;
	if (!(s = tz_name(s)))
		return false;
	r->has_dst = true;
	r->dst_off = r->std_off + 3600;
	if (*s && *s != ',') {
		if (!(s = tz_hms(s, &off)))
			return false;
		r->dst_off = -off;
	}
	if (*s != ',' || !(s = tz_date(s + 1, &r->start)))
		return false;
	if (*s != ',' || !(s = tz_date(s + 1, &r->end)))
		return false;
	return *s == '\0';
}

/* Local-time seconds since the epoch at which date d happens in year y. */
static int64_t tz_date_at(const struct tz_date *d, int64_t y)
{
	int64_t day;
	if (d->kind == 'J')
		day = days_from_civil(y, 1, 1) + d->n - 1 + (is_leap(y) && d->n >= 60);
	else if (d->kind == 'N')
		day = days_from_civil(y, 1, 1) + d->n;
	else {
		static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
		int len = mdays[d->m - 1] + (d->m == 2 && is_leap(y));
		int64_t first = days_from_civil(y, d->m, 1);
		int wd0 = (int)((first % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
		int md = 1 + (d->d - wd0 + 7) % 7 + 7 * (d->w - 1);
		while (md > len)
			md -= 7;
		day = first + md - 1;
	}
	return day * 86400 + d->secs;
}

static int32_t tz_rule_offset(const struct tz_rule *r, int64_t t)
{
	if (!r->has_dst)
		return r->std_off;
	int64_t y = year_of_days(floor_div(t + r->std_off, 86400));
	int64_t start = tz_date_at(&r->start, y) - r->std_off;
	int64_t end = tz_date_at(&r->end, y) - r->dst_off;
	bool dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
	return dst ? r->dst_off : r->std_off;
}

/* ---- TZif ---------------------------------------------------------------- */

static bool valid_name(const char *name)
{
	if (!name[0] || name[0] == '/' || strstr(name, "..") || strlen(name) > 255)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || strchr("/_+-", *p)))
			return false;
	return true;
}

static int read_file(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return ES_ENOTFOUND;
	uint8_t *b = malloc(TZ_MAX_FILE);
	size_t n = b ? fread(b, 1, TZ_MAX_FILE, f) : 0;
	fclose(f);
	if (!b)
		return ES_ENOMEM;
	*out = b;
	*len = n;
	return 0;
}

struct tzif_hdr {
	uint32_t isut, isstd, leap, time, type, chars;
};

static bool tzif_hdr(const uint8_t *p, size_t len, struct tzif_hdr *h, char *version)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return false;
	*version = (char)p[4];
	h->isut = be32(p + 20);
	h->isstd = be32(p + 24);
	h->leap = be32(p + 28);
	h->time = be32(p + 32);
	h->type = be32(p + 36);
	h->chars = be32(p + 40);
	return h->type >= 1 && h->type <= 256 && h->time <= 100000 && h->leap <= 100000 &&
	       h->chars <= 100000 && h->isut <= 256 && h->isstd <= 256;
}

static size_t tzif_size(const struct tzif_hdr *h, size_t tsz)
{
	return h->time * tsz + h->time + h->type * 6 + h->chars + h->leap * (tsz + 4) +
	       h->isstd + h->isut;
}

static int tzif_parse(struct pol_tz *tz, const uint8_t *p, size_t len)
{
	struct tzif_hdr h;
	char ver;
	if (!tzif_hdr(p, len, &h, &ver))
		return ES_EFORMAT;
	size_t tsz = 4, data = 44;
	if (ver >= '2') {
		size_t v2 = 44 + tzif_size(&h, 4);
		if (v2 > len || !tzif_hdr(p + v2, len - v2, &h, &ver))
			return ES_EFORMAT;
		tsz = 8;
		data = v2 + 44;
	}
	size_t end = data + tzif_size(&h, tsz);
	if (end > len)
		return ES_EFORMAT;
	tz->times = malloc((h.time ? h.time : 1) * sizeof(*tz->times));
	tz->idx = malloc(h.time ? h.time : 1);
	tz->offs = malloc(h.type * sizeof(*tz->offs));
	if (!tz->times || !tz->idx || !tz->offs)
		return ES_ENOMEM;
	const uint8_t *q = p + data;
	for (size_t i = 0; i < h.time; i++, q += tsz)
		tz->times[i] = tsz == 8 ? be64(q) : (int32_t)be32(q);
	for (size_t i = 0; i < h.time; i++, q++) {
		if (*q >= h.type)
			return ES_EFORMAT;
		tz->idx[i] = *q;
	}
	for (size_t i = 0; i < h.type; i++, q += 6)
		tz->offs[i] = (int32_t)be32(q);
	tz->ntimes = h.time;
	tz->ntypes = h.type;
	/* The footer: "\n" POSIX-TZ "\n" (version 2+). */
	if (tsz == 8 && end + 2 <= len && p[end] == '\n') {
		const uint8_t *nl = memchr(p + end + 1, '\n', len - end - 1);
		char rule[128];
		size_t n = nl ? (size_t)(nl - (p + end + 1)) : 0;
		if (nl && n > 0 && n < sizeof(rule)) {
			memcpy(rule, p + end + 1, n);
			rule[n] = '\0';
			tz->has_rule = tz_rule_parse(rule, &tz->rule);
		}
	}
	return 0;
}

int pol_tz_load(struct pol_tz **out, const char *name)
{
	*out = NULL;
	if (!valid_name(name))
		return ES_EPARSE;
	char path[sizeof(TZ_DIR) + 256];
	snprintf(path, sizeof(path), "%s%s", TZ_DIR, name);
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = read_file(path, &buf, &len);
	if (rc)
		return rc;
	struct pol_tz *tz = calloc(1, sizeof(*tz));
	rc = tz ? tzif_parse(tz, buf, len) : ES_ENOMEM;
	free(buf);
	if (rc) {
		pol_tz_free(tz);
		return rc;
	}
	*out = tz;
	return 0;
}

void pol_tz_free(struct pol_tz *tz)
{
	if (!tz)
		return;
	free(tz->times);
	free(tz->idx);
	free(tz->offs);
	free(tz);
}

int32_t pol_tz_offset(const struct pol_tz *tz, int64_t t)
{
	size_t n = tz->ntimes;
	if (n == 0 || t < tz->times[0]) {
		if (n == 0 && tz->has_rule)
			return tz_rule_offset(&tz->rule, t);
		return tz->offs[0]; /* RFC 8536: before the first transition, type 0 */
	}
	if (t >= tz->times[n - 1] && tz->has_rule)
		return tz_rule_offset(&tz->rule, t);
	size_t lo = 0, hi = n; /* last transition <= t */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (tz->times[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return tz->offs[tz->idx[lo]];
}
