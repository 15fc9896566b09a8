/*
 * control.c - commands to a running recorder: the other direction of
 * active.c.  `earshot serve` and the CLI run as other processes than the
 * recorder; they drop one small file per command into DATA/run/control/
 * (written to a temporary name and renamed, so the recorder never reads a
 * half-written one), the recorder picks it up within a few tenths of a
 * second, applies it to the call, removes it and writes an answer beside
 * it (ID.ack) that the sender reads and removes.
 *
 * A command file is input like any other (another process, maybe another
 * user of the group, writes it): it is parsed strictly, never trusted, and
 * fuzzed (fuzz/fuzz_control.c).  Format, one "key<TAB>value" a line:
 *
 *   earshot-control<TAB>1
 *   verb<TAB>pause | resume | consent
 *   call<TAB>CALL-ID           (as active.tsv and /api/active show it)
 *   by<TAB>api:alice | cli     (who asked: in the call's event)
 *   party<TAB>caller | callee  (consent only)
 *   value<TAB>yes | no         (consent only)
 *
 * Values are bytes 0x20..0x7E and 0x80..0xFF (no control characters, so
 * no escaping: a SIP Call-ID has no whitespace at all, RFC 3261 25.1).
 */
#include "record/record_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TAG "control"
#define CMD_MAGIC "earshot-control"
#define ACK_MAGIC "earshot-control-ack"
#define CMD_FILE_MAX 4096
#define CMD_PER_POLL 64
#define CMD_STALE_US (60 * ES_US_PER_SEC)

static const char *const verb_names[] = {[REC_CMD_PAUSE] = "pause",
					  [REC_CMD_RESUME] = "resume",
					  [REC_CMD_CONSENT] = "consent"};

const char *rec_cmd_verb_name(enum rec_cmd_verb v)
{
	return v >= REC_CMD_PAUSE && v <= REC_CMD_CONSENT ? verb_names[v] : "?";
}

/* ---- the format ------------------------------------------------------------------- */

static int cfail(char *err, size_t errlen, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int cfail(char *err, size_t errlen, unsigned line, const char *fmt, ...)
{
	if (err && errlen) {
		int n = snprintf(err, errlen, "line %u: ", line);
		if (n > 0 && (size_t)n < errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return ES_EPARSE;
}

static bool value_ok(struct slice v)
{
	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.p[i];
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

/* Copy a value of at most cap-1 bytes, non-empty, without control bytes. */
static int take(struct slice v, char *out, size_t cap, unsigned line, const char *key, char *err,
		size_t errlen)
{
	if (!v.len)
		return cfail(err, errlen, line, "%s: empty", key);
	if (v.len >= cap)
		return cfail(err, errlen, line, "%s: longer than %zu bytes", key, cap - 1);
	if (!value_ok(v))
		return cfail(err, errlen, line, "%s: a control character", key);
	memcpy(out, v.p, v.len);
	out[v.len] = 0;
	return 0;
}

int rec_cmd_parse(const char *buf, size_t len, struct rec_cmd *c, char *err, size_t errlen)
{
	struct slice rest = sl_make(buf, len), line;
	unsigned n = 0, seen = 0;
	char verb[16] = "", party[16] = "", value[16] = "";
	enum { K_VERB = 1, K_CALL = 2, K_BY = 4, K_PARTY = 8, K_VALUE = 16 };
	memset(c, 0, sizeof(*c));
	if (err && errlen)
		*err = 0;
	if (len > CMD_FILE_MAX)
		return cfail(err, errlen, 0, "longer than %d bytes", CMD_FILE_MAX);
	while (rest.len) {
		n++;
		const char *nl = memchr(rest.p, '\n', rest.len);
		if (!nl)
			return cfail(err, errlen, n, "no end of line");
		line = sl_make(rest.p, (size_t)(nl - rest.p));
		rest = sl_make(nl + 1, rest.len - line.len - 1);
		struct slice k, v;
		if (!sl_split(line, '\t', &k, &v))
			return cfail(err, errlen, n, "expected KEY<TAB>VALUE");
		if (n == 1) {
			if (!sl_eq(k, sl_cstr(CMD_MAGIC)))
				return cfail(err, errlen, n, "not an earshot command file");
			if (!sl_eq(v, sl_cstr("1")))
				return cfail(err, errlen, n, "version not 1");
			continue;
		}
		static const struct {
			const char *name;
			unsigned bit;
		} keys[] = {{"verb", K_VERB}, {"call", K_CALL}, {"by", K_BY},
			    {"party", K_PARTY}, {"value", K_VALUE}};
		unsigned bit = 0;
		for (size_t i = 0; i < ES_ARRAY_LEN(keys); i++)
			if (sl_eq(k, sl_cstr(keys[i].name)))
				bit = keys[i].bit;
		if (!bit)
			return cfail(err, errlen, n, "unknown key");
		if (seen & bit)
			return cfail(err, errlen, n, "a key given twice");
		seen |= bit;
		int rc = bit == K_VERB	 ? take(v, verb, sizeof(verb), n, "verb", err, errlen)
			 : bit == K_CALL ? take(v, c->call_id, sizeof(c->call_id), n, "call", err, errlen)
			 : bit == K_BY	 ? take(v, c->by, sizeof(c->by), n, "by", err, errlen)
			 : bit == K_PARTY ? take(v, party, sizeof(party), n, "party", err, errlen)
					  : take(v, value, sizeof(value), n, "value", err, errlen);
		if (rc)
			return rc;
	}
	if (n == 0)
		return cfail(err, errlen, 1, "empty file");
	if ((seen & (K_VERB | K_CALL | K_BY)) != (K_VERB | K_CALL | K_BY))
		return cfail(err, errlen, n, "verb, call and by are required");
	c->verb = 0;
	for (int v = REC_CMD_PAUSE; v <= REC_CMD_CONSENT; v++)
		if (!strcmp(verb, verb_names[v]))
			c->verb = (enum rec_cmd_verb)v;
	if (!c->verb)
		return cfail(err, errlen, n, "verb: not pause, resume or consent");
	if (c->verb != REC_CMD_CONSENT) {
		if (seen & (K_PARTY | K_VALUE))
			return cfail(err, errlen, n, "party and value belong to consent only");
		return 0;
	}
	if ((seen & (K_PARTY | K_VALUE)) != (K_PARTY | K_VALUE))
		return cfail(err, errlen, n, "consent needs party and value");
	if (!strcmp(party, "caller") || !strcmp(party, "callee"))
		c->party = !strcmp(party, "caller") ? 0 : 1;
	else
		return cfail(err, errlen, n, "party: not caller or callee");
	if (!strcmp(value, "yes") || !strcmp(value, "no"))
		c->yes = !strcmp(value, "yes");
	else
		return cfail(err, errlen, n, "value: not yes or no");
	return 0;
}

int rec_cmd_format(const struct rec_cmd *c, struct es_buf *out)
{
	struct slice id = sl_cstr(c->call_id), by = sl_cstr(c->by);
	if (c->verb < REC_CMD_PAUSE || c->verb > REC_CMD_CONSENT || !id.len || !by.len ||
	    !value_ok(id) || !value_ok(by))
		return ES_EINVAL;
	int rc = es_buf_printf(out, "%s\t1\nverb\t%s\ncall\t%s\nby\t%s\n", CMD_MAGIC,
			       verb_names[c->verb], c->call_id, c->by);
	if (!rc && c->verb == REC_CMD_CONSENT)
		rc = es_buf_printf(out, "party\t%s\nvalue\t%s\n", c->party ? "callee" : "caller",
				   c->yes ? "yes" : "no");
	return rc;
}

/* ---- answers ------------------------------------------------------------------------ */

static const struct {
	int rc;
	const char *word;
} answers[] = {{0, "ok"},
	       {ES_ENOTFOUND, "not_found"},
	       {ES_EEXIST, "conflict"},
	       {ES_EPARSE, "bad"},
	       {ES_EIO, "error"}};

static const char *answer_word(int rc)
{
	for (size_t i = 0; i < ES_ARRAY_LEN(answers); i++)
		if (answers[i].rc == rc)
			return answers[i].word;
	return "error";
}

int rec_ack_parse(const char *buf, size_t len, int *status, char *msg, size_t cap)
{
	char w[16];
	struct slice rest = sl_make(buf, len), l1, l2, l3, k, v;
	const char *nl;
	struct slice *lines[] = {&l1, &l2, &l3};
	for (size_t i = 0; i < 3; i++) {
		if (!(nl = memchr(rest.p, '\n', rest.len)))
			return ES_EPARSE;
		*lines[i] = sl_make(rest.p, (size_t)(nl - rest.p));
		rest = sl_make(nl + 1, rest.len - lines[i]->len - 1);
	}
	if (rest.len || !sl_eq(l1, sl_cstr(ACK_MAGIC "\t1")))
		return ES_EPARSE;
	if (!sl_split(l2, '\t', &k, &v) || !sl_eq(k, sl_cstr("status")) || v.len >= sizeof(w))
		return ES_EPARSE;
	sl_copy(w, sizeof(w), v);
	*status = 1;
	for (size_t i = 0; i < ES_ARRAY_LEN(answers); i++)
		if (!strcmp(w, answers[i].word))
			*status = answers[i].rc;
	if (*status == 1 || !sl_split(l3, '\t', &k, &v) || !sl_eq(k, sl_cstr("message")) ||
	    !value_ok(v))
		return ES_EPARSE;
	sl_copy(msg, cap, v);
	return 0;
}

/* ---- files -------------------------------------------------------------------------- */

int rec_control_dir(const char *data_dir, char *out, size_t cap)
{
	if ((size_t)snprintf(out, cap, "%s/%s", data_dir, REC_CONTROL_DIR) >= cap)
		return ES_ELIMIT;
	return 0;
}

int rec_control_open(const char *data_dir, char *err, size_t errlen)
{
	char dir[4200];
	if (rec_control_dir(data_dir, dir, sizeof(dir)))
		return es_errf(err, errlen, ES_ELIMIT, "%s: path too long", data_dir);
	/* the group may write commands (`earshot serve` as another user of
	 * the recorder's group); others get nothing, like the data folder */
	if ((es_mkdirs(dir, false) || (mkdir(dir, 0770) && errno != EEXIST)) ||
	    chmod(dir, 0770))
		return es_errf(err, errlen, ES_EIO, "%s: %s", dir, strerror(errno));
	return 0;
}

static bool id_ok(const char *s, size_t n)
{
	if (!n || n > REC_CMD_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_",
			    s[i]))
			return false;
	return true;
}

/* Write path atomically (a temporary name in the same folder, then rename). */
static int write_atomic(const char *path, const char *p, size_t n)
{
	char tmp[4300];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return ES_ELIMIT;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0660);
	if (fd < 0)
		return ES_EIO;
	int rc = es_write_all(fd, p, n);
	if (fchmod(fd, 0660))
		rc = ES_EIO;
	if (close(fd) || rc || rename(tmp, path)) {
		unlink(tmp);
		return ES_EIO;
	}
	return 0;
}

/* Read a small regular file (not a link) into buf[cap]: its length, or -1. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -1;
	struct stat st;
	ssize_t got = -1;
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && (size_t)st.st_size < cap) {
		size_t n = 0;
		for (;;) {
			ssize_t r = read(fd, buf + n, cap - n);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				got = r < 0 ? -1 : (ssize_t)n;
				break;
			}
			n += (size_t)r;
			if (n == cap)
				break; /* grew while read: too long */
		}
	}
	close(fd);
	return got;
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * ES_US_PER_SEC + ts.tv_nsec / 1000;
}

int rec_control_send(const char *data_dir, const struct rec_cmd *c, char *id, size_t idcap,
		     char *err, size_t errlen)
{
	char dir[4200], path[4400];
	struct stat st;
	if (rec_control_dir(data_dir, dir, sizeof(dir)))
		return es_errf(err, errlen, ES_ELIMIT, "%s: path too long", data_dir);
	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		return es_errf(err, errlen, ES_ENOTFOUND,
			       "%s: no recorder has run with this data folder", dir);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	/* unique across processes (pid) and within one (nanoseconds, and
	 * O_EXCL on the temporary name) */
	snprintf(id, idcap, "%ld-%lld-%09ld", (long)getpid(), (long long)ts.tv_sec, ts.tv_nsec);
	struct es_buf b = {0};
	int rc = rec_cmd_format(c, &b);
	if (rc) {
		es_buf_free(&b);
		return es_errf(err, errlen, rc, "the command cannot be written (a call id or "
			       "name with control characters?)");
	}
	snprintf(path, sizeof(path), "%s/%s.cmd", dir, id);
	rc = write_atomic(path, (const char *)b.p, b.len);
	es_buf_free(&b);
	if (rc)
		return es_errf(err, errlen, rc, "%s: %s", path, strerror(errno));
	return 0;
}

int rec_control_wait(const char *data_dir, const char *id, int timeout_ms, int *status,
		     char *msg, size_t cap)
{
	char dir[4200], cmd[4400], ack[4400], buf[1024];
	if (rec_control_dir(data_dir, dir, sizeof(dir)))
		return ES_ELIMIT;
	snprintf(cmd, sizeof(cmd), "%s/%s.cmd", dir, id);
	snprintf(ack, sizeof(ack), "%s/%s.ack", dir, id);
	int64_t until = now_us() + (int64_t)timeout_ms * 1000;
	for (;;) {
		ssize_t n = read_small(ack, buf, sizeof(buf));
		if (n >= 0) {
			unlink(ack);
			if (rec_ack_parse(buf, (size_t)n, status, msg, cap))
				return ES_EPARSE;
			return 0;
		}
		if (now_us() >= until)
			break;
		usleep(20 * 1000);
	}
	/* never taken: withdraw it, so that a recorder started later does not
	 * pause a call long after the person asked */
	if (unlink(cmd) == 0)
		snprintf(msg, cap, "no recorder took the command within %d ms", timeout_ms);
	else
		snprintf(msg, cap, "the recorder took the command but did not answer within %d ms",
			 timeout_ms);
	return ES_EAGAIN;
}

/* Remove answers and temporary files nobody collected (a sender that died). */
static void sweep_stale(const char *dir, const char *name, int64_t now)
{
	char path[4600];
	struct stat st;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return;
	if (!lstat(path, &st) && now - (int64_t)st.st_mtime * ES_US_PER_SEC > CMD_STALE_US)
		unlink(path);
}

unsigned rec_control_poll(const char *data_dir, rec_cmd_fn fn, void *ud)
{
	char dir[4200];
	if (rec_control_dir(data_dir, dir, sizeof(dir)))
		return 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	unsigned done = 0;
	int64_t now = now_us();
	struct dirent *de;
	while (done < CMD_PER_POLL && (de = readdir(d))) {
		const char *name = de->d_name;
		size_t len = strlen(name);
		if (name[0] == '.')
			continue;
		if (len < 4 || strcmp(name + len - 4, ".cmd")) {
			sweep_stale(dir, name, now);
			continue;
		}
		char path[4600], ackp[4600], buf[CMD_FILE_MAX + 1], msg[256] = "";
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (!id_ok(name, len - 4)) {
			ES_LOG_WARNING(TAG, "%s: not a command file name; removed", path);
			unlink(path);
			continue;
		}
		snprintf(ackp, sizeof(ackp), "%s/%.*s.ack", dir, (int)(len - 4), name);
		ssize_t n = read_small(path, buf, sizeof(buf));
		unlink(path);
		struct rec_cmd c;
		char why[200];
		int rc;
		if (n < 0) {
			rc = ES_EPARSE;
			snprintf(msg, sizeof(msg), "%s: not a regular file of at most %d bytes", name,
				 CMD_FILE_MAX);
		} else if ((rc = rec_cmd_parse(buf, (size_t)n, &c, why, sizeof(why)))) {
			snprintf(msg, sizeof(msg), "%s: %s", name, why);
		} else {
			rc = fn(ud, &c, msg, sizeof(msg));
			ES_LOG_INF(TAG, "%s of call %s by %s: %s", rec_cmd_verb_name(c.verb), c.call_id,
				   c.by, rc ? msg : "done");
		}
		if (rc == ES_EPARSE)
			ES_LOG_WARNING(TAG, "command refused: %s", msg);
		for (char *p = msg; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = ' ';
		char out[512];
		int m = snprintf(out, sizeof(out), "%s\t1\nstatus\t%s\nmessage\t%s\n", ACK_MAGIC,
				 answer_word(rc), msg[0] ? msg : "-");
		if (write_atomic(ackp, out, (size_t)ES_MIN(m, (int)sizeof(out) - 1)))
			ES_LOG_WARNING(TAG, "%s: cannot write the answer: %s", ackp, strerror(errno));
		done++;
	}
	closedir(d);
	return done;
}
