/*
 * active.c - the calls in progress: listed from an engine, written by a
 * running recorder to DATA/run/active.tsv and read back by the API server.
 *
 * The file is a header line and one line per call.  Fields are separated
 * by tabs; text fields escape '\\', tab, newline and carriage return, so
 * a SIP header value cannot break the format.  Its writer is this file
 * only, but the reader treats it as untrusted input all the same (it is
 * fuzzed: fuzz/fuzz_active.c).
 */
#include "record/record_internal.h"
#include "sip/dialog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ACTIVE_MAGIC "earshot-active"
#define ACTIVE_VERSION 1
#define ACTIVE_FILE_MAX (64u << 20)
#define ACTIVE_FIELDS 18

/* ---- listing an engine's calls ------------------------------------------------------ */

static void copy(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

/* The name of the payload type pt as the receiver (then the sender) announced it. */
static void codec_name(const struct rec_call *rc, int sender, uint8_t pt, char *out, size_t cap)
{
	for (int k = 0; k < 2; k++) {
		const struct rec_party_media *m = &rc->media[k ? sender : 1 - sender];
		for (unsigned i = 0; i < m->nmap; i++)
			if (m->map[i].pt == pt) {
				copy(out, cap, m->map[i].name);
				return;
			}
	}
	snprintf(out, cap, "PT %u", (unsigned)pt);
}

static const char *call_state(const struct rec_call *rc)
{
	const struct sip_call *sc = rc->sip;
	if (sc->end_reason != SIP_END_NONE)
		return "ending";
	if (sc->outcome != SIP_OUT_ANSWERED)
		return "ringing";
	if (rc->pz.paused || rec_srec_paused(rc))
		return "paused";
	if (!sc->siprec && (sc->hold[0] || sc->hold[1]))
		return "hold";
	return "answered";
}

void rec_engine_active(struct rec_engine *e, rec_active_fn fn, void *ud)
{
	struct sip_tracker *t = rec_engine_tracker(e);
	size_t pos = 0;
	struct es_hnode *cur = NULL;
	struct sip_call *sc;
	while ((sc = sip_tracker_next(t, &pos, &cur))) {
		const struct rec_call *rc = sc->user;
		if (!rc)
			continue;
		struct rec_active a;
		memset(&a, 0, sizeof(a));
		struct idx_party p[2];
		const char *call_id = NULL;
		rec_call_view(rc, p, &call_id);
		copy(a.call_id, sizeof(a.call_id), call_id);
		copy(a.caller_user, sizeof(a.caller_user), p[SIP_CALLER].user);
		copy(a.caller_display, sizeof(a.caller_display), p[SIP_CALLER].display);
		copy(a.caller_uri, sizeof(a.caller_uri), p[SIP_CALLER].uri);
		copy(a.callee_user, sizeof(a.callee_user), p[SIP_CALLEE].user);
		copy(a.callee_display, sizeof(a.callee_display), p[SIP_CALLEE].display);
		copy(a.callee_uri, sizeof(a.callee_uri), p[SIP_CALLEE].uri);
		a.start_us = sc->start_us;
		a.answer_us = sc->outcome == SIP_OUT_ANSWERED ? sc->answer_us : 0;
		copy(a.state, sizeof(a.state), call_state(rc));
		a.recording = rc->record;
		a.siprec = sc->siprec;
		copy(a.rule, sizeof(a.rule), rc->rule);
		for (int k = 0; rc->consent && k < 2; k++) /* consent.c's last check */
			a.consent[k] = rc->consent_drop[k] ? 'x' : rc->crash_drop[k] ? 'w' : 0;
		for (const struct rec_stream *s = rc->streams; s; s = s->next) {
			a.streams++;
			a.packets += s->st.packets;
			a.lost += s->st.lost;
			if (s->st.jitter_max_ms > a.jitter_max_ms)
				a.jitter_max_ms = s->st.jitter_max_ms;
			if (!a.codec[0] && s->st.npts)
				codec_name(rc, s->party, s->st.pts[0], a.codec, sizeof(a.codec));
		}
		fn(ud, &a);
	}
}

/* ---- the file ------------------------------------------------------------------------ */

static void put_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '\\': fputs("\\\\", f); break;
		case '\t': fputs("\\t", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		default: fputc(*s, f);
		}
	}
}

/* The list's text (header and lines) into f. */
static void active_format(FILE *f, const struct rec_active *calls, size_t n, int64_t now_us)
{
	fprintf(f, "%s\t%d\t%lld\t%ld\t%zu\n", ACTIVE_MAGIC, ACTIVE_VERSION, (long long)now_us,
		(long)getpid(), n);
	for (size_t i = 0; i < n; i++) {
		const struct rec_active *a = &calls[i];
		const char *text[] = {a->call_id,    a->caller_user, a->caller_display, a->caller_uri,
				      a->callee_user, a->callee_display, a->callee_uri};
		for (size_t k = 0; k < sizeof(text) / sizeof(text[0]); k++) {
			put_text(f, text[k]);
			fputc('\t', f);
		}
		fprintf(f, "%lld\t%lld\t", (long long)a->start_us, (long long)a->answer_us);
		put_text(f, a->state);
		fprintf(f, "\t%d\t%d\t", a->recording, a->siprec);
		put_text(f, a->rule);
		fputc('\t', f);
		put_text(f, a->codec);
		fprintf(f, "\t%u\t%llu\t%lld\t%.3f\n", a->streams, (unsigned long long)a->packets,
			(long long)a->lost, a->jitter_max_ms);
	}
}

int rec_active_write(const char *path, const struct rec_active *calls, size_t n, int64_t now_us)
{
	char tmp[4200];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return ES_EINVAL;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return ES_EIO;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return ES_ENOMEM;
	}
	active_format(f, calls, n, now_us);
	bool bad = ferror(f) != 0;
	if (fclose(f) || bad || rename(tmp, path)) {
		unlink(tmp);
		return ES_EIO;
	}
	return 0;
}

int rec_active_text(const struct rec_active *calls, size_t n, int64_t now_us, char **out)
{
	size_t len = 0;
	*out = NULL;
	FILE *f = open_memstream(out, &len);
	if (!f)
		return ES_ENOMEM;
	active_format(f, calls, n, now_us);
	bool bad = ferror(f) != 0;
	if (fclose(f) || bad) {
		free(*out);
		*out = NULL;
		return ES_ENOMEM;
	}
	return 0;
}

struct rd {
	const char *p, *end;
	unsigned line;
	char *err;
	size_t errlen;
};

static int rd_fail(struct rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int rd_fail(struct rd *r, const char *fmt, ...)
{
	if (r->errlen) {
		int n = snprintf(r->err, r->errlen, "line %u: ", r->line);
		if (n > 0 && (size_t)n < r->errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return ES_EPARSE;
}

/* Split the next line into at most max fields (without unescaping). */
static int rd_line(struct rd *r, struct slice *f, unsigned max, unsigned *nf)
{
	const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
	r->line++;
	if (!nl)
		return rd_fail(r, "no end of line");
	struct slice s = sl_make(r->p, (size_t)(nl - r->p));
	r->p = nl + 1;
	*nf = 0;
	for (;;) {
		struct slice head, rest;
		bool more = sl_split(s, '\t', &head, &rest);
		if (*nf == max)
			return rd_fail(r, "more than %u fields", max);
		f[(*nf)++] = head;
		if (!more)
			break;
		s = rest;
	}
	return 0;
}

/* Unescape s into out[cap] (NUL-terminated); too long or a bad escape fails. */
static int rd_text(struct rd *r, struct slice s, char *out, size_t cap, const char *what)
{
	size_t n = 0;
	for (size_t i = 0; i < s.len; i++) {
		char c = (char)s.p[i];
		if (c == '\\') {
			if (++i == s.len)
				return rd_fail(r, "%s: a '\\' at the end", what);
			switch (s.p[i]) {
			case '\\': c = '\\'; break;
			case 't': c = '\t'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			default: return rd_fail(r, "%s: unknown escape", what);
			}
		} else if (!c || c == '\r') {
			return rd_fail(r, "%s: a control character", what);
		}
		if (n + 1 >= cap)
			return rd_fail(r, "%s: longer than %zu bytes", what, cap - 1);
		out[n++] = c;
	}
	out[n] = 0;
	return 0;
}

static int rd_i64(struct rd *r, struct slice s, int64_t *out, const char *what)
{
	bool neg = s.len && s.p[0] == '-';
	uint64_t v;
	if (neg)
		s = sl_make(s.p + 1, s.len - 1);
	if (!s.len || s.len > 19 || sl_to_u64(s, &v) || v > (uint64_t)INT64_MAX)
		return rd_fail(r, "%s: not a number", what);
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

static int rd_u64(struct rd *r, struct slice s, uint64_t *out, const char *what)
{
	if (!s.len || s.len > 20 || sl_to_u64(s, out))
		return rd_fail(r, "%s: not a number", what);
	return 0;
}

static int rd_bool(struct rd *r, struct slice s, bool *out, const char *what)
{
	if (s.len != 1 || (s.p[0] != '0' && s.p[0] != '1'))
		return rd_fail(r, "%s: not 0 or 1", what);
	*out = s.p[0] == '1';
	return 0;
}

static int rd_double(struct rd *r, struct slice s, double *out, const char *what)
{
	char tmp[32];
	if (!s.len || s.len >= sizeof(tmp))
		return rd_fail(r, "%s: not a number", what);
	memcpy(tmp, s.p, s.len);
	tmp[s.len] = 0;
	for (size_t i = 0; i < s.len; i++)
		if (!strchr("0123456789.", tmp[i]))
			return rd_fail(r, "%s: not a number", what);
	char *endp;
	errno = 0;
	*out = strtod(tmp, &endp);
	if (*endp || errno)
		return rd_fail(r, "%s: not a number", what);
	return 0;
}

static int rd_call(struct rd *r, struct rec_active *a)
{
	struct slice f[ACTIVE_FIELDS];
	unsigned nf;
	int rc;
	if ((rc = rd_line(r, f, ACTIVE_FIELDS, &nf)))
		return rc;
	if (nf != ACTIVE_FIELDS)
		return rd_fail(r, "%u fields, not %d", nf, ACTIVE_FIELDS);
	memset(a, 0, sizeof(*a));
	/* Zeroed although every path that reads them sets them first: GCC at
	 * -O3 does not inline the varargs rd_fail() and so cannot see that it
	 * never returns 0 (-Wmaybe-uninitialized breaks a Release build). */
	int64_t lost = 0;
	uint64_t streams = 0;
	if ((rc = rd_text(r, f[0], a->call_id, sizeof(a->call_id), "call_id")) ||
	    (rc = rd_text(r, f[1], a->caller_user, sizeof(a->caller_user), "caller_user")) ||
	    (rc = rd_text(r, f[2], a->caller_display, sizeof(a->caller_display),
			  "caller_display")) ||
	    (rc = rd_text(r, f[3], a->caller_uri, sizeof(a->caller_uri), "caller_uri")) ||
	    (rc = rd_text(r, f[4], a->callee_user, sizeof(a->callee_user), "callee_user")) ||
	    (rc = rd_text(r, f[5], a->callee_display, sizeof(a->callee_display),
			  "callee_display")) ||
	    (rc = rd_text(r, f[6], a->callee_uri, sizeof(a->callee_uri), "callee_uri")) ||
	    (rc = rd_i64(r, f[7], &a->start_us, "start")) ||
	    (rc = rd_i64(r, f[8], &a->answer_us, "answer")) ||
	    (rc = rd_text(r, f[9], a->state, sizeof(a->state), "state")) ||
	    (rc = rd_bool(r, f[10], &a->recording, "recording")) ||
	    (rc = rd_bool(r, f[11], &a->siprec, "siprec")) ||
	    (rc = rd_text(r, f[12], a->rule, sizeof(a->rule), "rule")) ||
	    (rc = rd_text(r, f[13], a->codec, sizeof(a->codec), "codec")) ||
	    (rc = rd_u64(r, f[14], &streams, "streams")) ||
	    (rc = rd_u64(r, f[15], &a->packets, "packets")) ||
	    (rc = rd_i64(r, f[16], &lost, "lost")) ||
	    (rc = rd_double(r, f[17], &a->jitter_max_ms, "jitter_max_ms")))
		return rc;
	if (streams > 1000)
		return rd_fail(r, "streams: %llu is too many", (unsigned long long)streams);
	a->streams = (unsigned)streams;
	a->lost = lost;
	return 0;
}

int rec_active_parse(const char *buf, size_t len, struct rec_active_hdr *hdr, rec_active_fn fn,
		     void *ud, char *err, size_t errlen)
{
	struct rd r = {.p = buf, .end = buf + len, .err = err, .errlen = errlen};
	struct slice f[5];
	unsigned nf;
	int rc;
	if (errlen)
		*err = 0;
	memset(hdr, 0, sizeof(*hdr));
	if ((rc = rd_line(&r, f, 5, &nf)))
		return rc;
	int64_t version = 0, pid = 0; /* see rd_call(): GCC -O3 */
	if (nf != 5 || !sl_eq(f[0], sl_cstr(ACTIVE_MAGIC)))
		return rd_fail(&r, "not an earshot active-calls file");
	if ((rc = rd_i64(&r, f[1], &version, "version")))
		return rc;
	if (version != ACTIVE_VERSION)
		return rd_fail(&r, "version %lld, this program reads %d", (long long)version,
			       ACTIVE_VERSION);
	if ((rc = rd_i64(&r, f[2], &hdr->written_us, "written")) ||
	    (rc = rd_i64(&r, f[3], &pid, "pid")) || (rc = rd_u64(&r, f[4], &hdr->count, "count")))
		return rc;
	if (hdr->count > REC_ACTIVE_MAX)
		return rd_fail(&r, "count: %llu calls is more than %d",
			       (unsigned long long)hdr->count, REC_ACTIVE_MAX);
	hdr->pid = (long)pid;
	/* Check every line before handing any out: a torn file gives nothing. */
	struct rd check = r;
	struct rec_active a;
	for (uint64_t i = 0; i < hdr->count; i++)
		if ((rc = rd_call(&check, &a)))
			return rc;
	if (check.p != check.end) {
		check.line++;
		return rd_fail(&check, "more lines than the count of %llu",
			       (unsigned long long)hdr->count);
	}
	for (uint64_t i = 0; i < hdr->count; i++) {
		rd_call(&r, &a);
		if (fn)
			fn(ud, &a);
	}
	return 0;
}

int rec_active_read(const char *path, struct rec_active_hdr *hdr, rec_active_fn fn, void *ud,
		    char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? ES_ENOTFOUND : ES_EIO;
	}
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > ACTIVE_FILE_MAX) {
		snprintf(err, errlen, "%s: not a regular file of at most %u bytes", path,
			 ACTIVE_FILE_MAX);
		close(fd);
		return ES_EIO;
	}
	size_t len = (size_t)st.st_size;
	char *buf = malloc(len ? len : 1);
	if (!buf) {
		close(fd);
		return ES_ENOMEM;
	}
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	char perr[200];
	int rc = rec_active_parse(buf, got, hdr, fn, ud, perr, sizeof(perr));
	if (rc)
		snprintf(err, errlen, "%s: %s", path, perr);
	free(buf);
	return rc;
}
