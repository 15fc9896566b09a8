/*
 * core.h - earshot's foundation: error codes, byte slices, growable buffers,
 * network addresses, time, hashing, an intrusive hash table, logging and a
 * small JSON writer.  Every other layer may include this; it includes nothing
 * of earshot's.
 */
#ifndef ES_CORE_H
#define ES_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- errors -------------------------------------------------------------
 * Functions return 0 on success or one negative code from this enum;
 * results travel through out-parameters. */
enum es_err {
	ES_OK = 0,
	ES_EPARSE = -1,    /* malformed input */
	ES_ETRUNC = -2,    /* input ends before the structure does */
	ES_ENOMEM = -3,    /* allocation failed */
	ES_EIO = -4,       /* read/write/fsync failed */
	ES_EINVAL = -5,    /* bad argument from the caller */
	ES_ENOTFOUND = -6, /* no such item */
	ES_EEXIST = -7,    /* item already present */
	ES_EUNSUP = -8,    /* well-formed but not supported */
	ES_EAGAIN = -9,    /* incomplete: give more data and call again */
	ES_ELIMIT = -10,   /* a configured bound was hit */
	ES_EFORMAT = -11,  /* wrong file format */
	ES_EDB = -12,      /* the index database failed */
	ES_ECRYPTO = -13,  /* authentication failed: tampered, truncated or wrong key */
	ES_EHELD = -14,    /* refused: the item is under a legal hold */
	ES_ENOKEK = -15,   /* the key-encryption key needed is not configured here */
	ES_ETIMEOUT = -16, /* stopped at its time limit (a search: [index] search_timeout) */
};

/* A static English description of an es_err code. */
const char *es_strerror(int err);

#define ES_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define ES_CONTAINER_OF(ptr, type, member) \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))
#define ES_MIN(a, b) ((a) < (b) ? (a) : (b))
#define ES_MAX(a, b) ((a) > (b) ? (a) : (b))

/* ---- slices -------------------------------------------------------------
 * A view into someone else's bytes: pointer + length, never NUL-terminated,
 * never owned.  Parsers return slices into the packet buffer. */
struct slice {
	const char *p;
	size_t len;
};

#define SL_LIT(s) ((struct slice){(s), sizeof(s) - 1})
#define SL_NULL ((struct slice){NULL, 0})

static inline struct slice sl_make(const void *p, size_t len)
{
	struct slice s = {(const char *)p, len};
	return s;
}
struct slice sl_cstr(const char *s);
static inline bool sl_empty(struct slice s) { return s.len == 0; }

bool sl_eq(struct slice a, struct slice b);
bool sl_eq_ci(struct slice a, struct slice b);      /* ASCII case-insensitive */
bool sl_eq_str_ci(struct slice a, const char *s);   /* against a C string */
bool sl_starts_ci(struct slice a, const char *prefix);
/* Trim SP, HTAB, CR and LF from both ends. */
struct slice sl_trim(struct slice s);
/* Index of the first c in s, or -1. */
long sl_index(struct slice s, char c);
/* Index of the first occurrence of needle (case-sensitive), or -1. */
long sl_find(struct slice s, struct slice needle);
/* Index of the first occurrence of needle, ASCII case-insensitive, or -1. */
long sl_find_ci(struct slice s, struct slice needle);
/* s[from, from+n) clipped to s. */
struct slice sl_sub(struct slice s, size_t from, size_t n);
/* Split s at the first c: head before it, rest after it; false (head = s,
 * rest empty) when c is absent. */
bool sl_split(struct slice s, char c, struct slice *head, struct slice *rest);
/* Decimal digits only (no sign, no spaces); ES_EPARSE on empty, non-digit
 * or overflow. */
int sl_to_u64(struct slice s, uint64_t *out);
int sl_to_u32(struct slice s, uint32_t *out);
/* A plain decimal: digits with at most one '.' and at least one digit
 * ("3.5", "2", ".5"; no sign, exponent or spaces, at most 12 bytes);
 * ES_EPARSE otherwise.  For thresholds given on the command line or in a
 * query string. */
int sl_to_decimal(struct slice s, double *out);
/* Copy into dst as a C string, truncating to cap-1 bytes; returns the number
 * of bytes copied (without the NUL).  cap must be > 0. */
size_t sl_copy(char *dst, size_t cap, struct slice s);
/* malloc'd NUL-terminated copy, or NULL on allocation failure. */
char *sl_strdup(struct slice s);

/* ---- growable byte buffer ---------------------------------------------- */
struct es_buf {
	uint8_t *p;
	size_t len;
	size_t cap;
};
void es_buf_init(struct es_buf *b);
void es_buf_free(struct es_buf *b);
int es_buf_reserve(struct es_buf *b, size_t extra);
int es_buf_append(struct es_buf *b, const void *p, size_t n);
int es_buf_printf(struct es_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Drop the first n bytes (memmove of the rest). */
void es_buf_consume(struct es_buf *b, size_t n);
static inline void es_buf_reset(struct es_buf *b) { b->len = 0; }

/* ---- addresses ----------------------------------------------------------
 * An IP address with an optional port, as plain value. */
enum { ES_AF_NONE = 0, ES_AF_INET = 4, ES_AF_INET6 = 6 };
struct es_addr {
	uint8_t family; /* ES_AF_* */
	uint8_t ip[16]; /* IPv4 uses the first 4 bytes; the rest are zero */
	uint16_t port;  /* host byte order; 0 = none */
};
/* Parse a textual IPv4 or IPv6 address (no port, no brackets) into a;
 * a->port is left as it was. */
int es_addr_parse_ip(struct slice s, struct es_addr *a);
void es_addr_set_v4(struct es_addr *a, const uint8_t ip[4], uint16_t port);
void es_addr_set_v6(struct es_addr *a, const uint8_t ip[16], uint16_t port);
/* "192.0.2.1:5060", "[2001:db8::1]:5060"; the port is omitted when 0 and
 * with_port is false.  Returns strlen of the result; buf always terminated. */
#define ES_ADDR_STRLEN 64
size_t es_addr_fmt(const struct es_addr *a, bool with_port, char *buf, size_t cap);
bool es_addr_eq(const struct es_addr *a, const struct es_addr *b); /* ip+port */
bool es_addr_ip_eq(const struct es_addr *a, const struct es_addr *b);
uint64_t es_addr_hash(const struct es_addr *a, uint64_t seed);

/* ---- time ---------------------------------------------------------------
 * Timestamps are microseconds since the Unix epoch, UTC (int64_t). */
#define ES_US_PER_SEC INT64_C(1000000)
/* "2026-11-24T07:54:04.123Z" (millisecond precision); returns strlen. */
#define ES_TIME_STRLEN 32
size_t es_time_fmt(int64_t us, char *buf, size_t cap);
/* Accepts "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.fff]][Z]" (space also allowed
 * for T) and plain integer seconds since the epoch. */
int es_time_parse(const char *s, int64_t *us);
/* Monotonic clock in microseconds, for progress and benchmarks. */
int64_t es_mono_us(void);

/* ---- hashing ------------------------------------------------------------ */
uint64_t es_hash(const void *p, size_t n, uint64_t seed);
/* The splitmix64 finaliser: every input bit reaches every output bit. */
static inline uint64_t es_hash_mix(uint64_t h)
{
	h ^= h >> 30;
	h *= UINT64_C(0xbf58476d1ce4e5b9);
	h ^= h >> 27;
	h *= UINT64_C(0x94d049bb133111eb);
	h ^= h >> 31;
	return h;
}
uint64_t es_hash_ci(const void *p, size_t n, uint64_t seed); /* ASCII-folded */

/* ---- intrusive hash table -----------------------------------------------
 * Chained, power-of-two buckets, grows at load factor 1.  The caller embeds
 * struct es_hnode in its own struct, computes the hash, and owns the
 * entries: es_htab_free releases the bucket array only. */
struct es_hnode {
	struct es_hnode *next;
	uint64_t hash;
};
struct es_htab {
	struct es_hnode **b;
	size_t nb; /* bucket count, power of two */
	size_t n;  /* entries */
};
typedef bool (*es_htab_eq_fn)(const struct es_hnode *n, const void *key);
int es_htab_init(struct es_htab *h, size_t hint);
void es_htab_free(struct es_htab *h);
struct es_hnode *es_htab_find(const struct es_htab *h, uint64_t hash,
			      es_htab_eq_fn eq, const void *key);
int es_htab_insert(struct es_htab *h, struct es_hnode *n, uint64_t hash);
void es_htab_remove(struct es_htab *h, struct es_hnode *n);
/* Iterate: start with *pos = 0, *cur = NULL; returns the next node or NULL.
 * The current node may be removed during iteration. */
struct es_hnode *es_htab_next(const struct es_htab *h, size_t *pos,
			      struct es_hnode **cur);

/* ---- logging ------------------------------------------------------------
 * One function for every message; library code never printf()s.  Messages
 * go to stderr as "earshot[tag] level: text" (one write per message, safe
 * from several threads), and also to syslog when es_log_syslog is on. */
enum es_log_level {
	ES_LOG_ERROR = 0,
	ES_LOG_WARN = 1,
	ES_LOG_INFO = 2,
	ES_LOG_DEBUG = 3,
};
void es_log_set_level(enum es_log_level lvl);
enum es_log_level es_log_get_level(void);
void es_log(enum es_log_level lvl, const char *tag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Also send messages to syslog (openlog with LOG_PID, facility LOG_DAEMON,
 * ident copied; NULL or "" = "earshot"), at the matching priority: error =
 * LOG_ERR, warning = LOG_WARNING, info = LOG_INFO, debug = LOG_DEBUG.
 * stderr output continues.  on = false closes the syslog connection. */
void es_log_syslog(const char *ident, bool on);
/* Prefix stderr lines with the UTC time, "2026-11-29T23:40:01.123Z ".
 * Default off. */
void es_log_set_timestamps(bool on);
/* "error", "warn"/"warning", "info", "debug" (ASCII case-insensitive) into
 * *level as an enum es_log_level value; ES_EINVAL for anything else. */
int es_log_level_parse(const char *s, int *level);
#define ES_LOG_ERR(tag, ...) es_log(ES_LOG_ERROR, tag, __VA_ARGS__)
#define ES_LOG_WARNING(tag, ...) es_log(ES_LOG_WARN, tag, __VA_ARGS__)
#define ES_LOG_INF(tag, ...) es_log(ES_LOG_INFO, tag, __VA_ARGS__)
#define ES_LOG_DBG(tag, ...) \
	do { \
		if (es_log_get_level() >= ES_LOG_DEBUG) \
			es_log(ES_LOG_DEBUG, tag, __VA_ARGS__); \
	} while (0)

/* ---- UTF-8 ---------------------------------------------------------------
 * The length (1..4) of the well-formed UTF-8 sequence at the start of
 * p[0..n), its code point in *cp; 0 when the bytes there are not one
 * (overlong, a surrogate, above U+10FFFF, C0/C1/F5..FF, a stray continuation
 * byte, or cut short by n). */
size_t es_utf8_seq(const void *p, size_t n, uint32_t *cp);

/* ---- JSON writer ---------------------------------------------------------
 * Streams JSON to a FILE with correct string escaping; commas are managed
 * for the caller.  Strings always come out as valid UTF-8 (RFC 8259 section
 * 8.1): each byte that does not belong to a well-formed sequence becomes
 * U+FFFD, and control characters (C0, DEL, C1) and U+2028/2029 are escaped.  Nesting is bounded by ES_JSON_MAX_DEPTH. */
#define ES_JSON_MAX_DEPTH 32
struct es_json {
	FILE *f;
	int depth;
	bool pretty;
	bool need_comma[ES_JSON_MAX_DEPTH];
	bool after_key;
};
void es_json_init(struct es_json *j, FILE *f, bool pretty);
void es_json_obj_begin(struct es_json *j);
void es_json_obj_end(struct es_json *j);
void es_json_arr_begin(struct es_json *j);
void es_json_arr_end(struct es_json *j);
void es_json_key(struct es_json *j, const char *k);
void es_json_str(struct es_json *j, const char *s); /* NULL writes null */
void es_json_strn(struct es_json *j, const char *s, size_t n);
void es_json_int(struct es_json *j, int64_t v);
void es_json_double(struct es_json *j, double v, int decimals);
void es_json_bool(struct es_json *j, bool v);
void es_json_null(struct es_json *j);
/* A value that is already JSON (from a trusted writer), written verbatim. */
void es_json_raw(struct es_json *j, const char *json);
/* Ends the document with a newline. */
void es_json_end(struct es_json *j);

/* ---- arena ------------------------------------------------------------------ */

/* Many small allocations freed together (rows handed to callbacks, a
 * finished call passed between threads).  Zero-initialise; 8 KiB chunks. */
struct es_arena_chunk;
struct es_arena {
	struct es_arena_chunk *head;
};
void *es_arena_alloc(struct es_arena *a, size_t n); /* max_align_t-aligned; NULL = no memory */
/* A copy of s (NULL stays NULL); *oom is set on allocation failure. */
const char *es_arena_strdup(struct es_arena *a, const char *s, bool *oom);
void es_arena_free(struct es_arena *a);

/* ---- files ------------------------------------------------------------------ */

/* Create the folders of path (mode 0750), like mkdir -p: every component,
 * or all but the last (a file name) when last is false.  errno tells why
 * on ES_EIO; ES_ELIMIT for a path too long. */
int es_mkdirs(const char *path, bool last);
/* Whether the folder dir keeps "other" users out: 0 when its mode grants
 * them nothing; ES_EINVAL when it grants read, write or search (err names
 * the folder and its mode); ES_EFORMAT when it is not a folder; ES_ENOTFOUND
 * when it does not exist; ES_EIO when it cannot be examined. */
int es_dir_private(const char *dir, char *err, size_t errlen);
/* Write all n bytes to fd (retrying after EINTR and short writes); ES_EIO
 * with errno set otherwise. */
int es_write_all(int fd, const void *p, size_t n);
/* Append the whole file at path to b.  ES_ENOTFOUND: no such file;
 * ES_EIO: it cannot be read; ES_ENOMEM. */
int es_read_file(const char *path, struct es_buf *b);

/* Format a message into err (when err and errlen are set) and return rc:
 * `return es_errf(err, errlen, ES_EIO, "%s: %s", path, strerror(errno));` */
int es_errf(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif /* ES_CORE_H */
