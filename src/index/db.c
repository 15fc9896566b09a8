/*
 * db.c - the statement layer's calls, each handed to the engine of the
 * handle (db.h), and masking of credentials in an index location.
 */
#include "index/index_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct idx_engine *eng(struct idx_st *st) { return st->ix->eng; }

int db_prepare(struct idx *ix, const char *sql, struct idx_st **out)
{
	*out = NULL;
	return ix->eng->prepare(ix, sql, out);
}

void db_finalize(struct idx_st *st)
{
	if (st)
		eng(st)->finalize(st);
}

void db_reset(struct idx_st *st) { eng(st)->reset(st); }

void db_bind_int64(struct idx_st *st, int i, int64_t v) { eng(st)->bind_int64(st, i, v); }

void db_bind_double(struct idx_st *st, int i, double v) { eng(st)->bind_double(st, i, v); }

void db_bind_text(struct idx_st *st, int i, const char *s) { eng(st)->bind_text(st, i, s, -1); }

void db_bind_textn(struct idx_st *st, int i, const char *s, size_t cap)
{
	if (!s || !s[0])
		eng(st)->bind_text(st, i, NULL, 0);
	else
		eng(st)->bind_text(st, i, s, (int)strnlen(s, cap));
}

void db_bind_named_text(struct idx_st *st, const char *name, const char *s)
{
	int i = eng(st)->param_index(st, name);
	if (i)
		eng(st)->bind_text(st, i, s, -1);
}

void db_bind_named_int64(struct idx_st *st, const char *name, int64_t v)
{
	int i = eng(st)->param_index(st, name);
	if (i)
		eng(st)->bind_int64(st, i, v);
}

void db_bind_named_double(struct idx_st *st, const char *name, double v)
{
	int i = eng(st)->param_index(st, name);
	if (i)
		eng(st)->bind_double(st, i, v);
}

int db_step(struct idx_st *st) { return eng(st)->step(st); }

int64_t db_col_int64(struct idx_st *st, int i) { return eng(st)->col_int64(st, i); }

int db_col_int(struct idx_st *st, int i) { return (int)eng(st)->col_int64(st, i); }

double db_col_double(struct idx_st *st, int i) { return eng(st)->col_double(st, i); }

const char *db_col_text(struct idx_st *st, int i) { return eng(st)->col_text(st, i); }

int64_t db_changes(struct idx *ix) { return ix->eng->changes(ix); }

bool db_is_pg(const struct idx *ix) { return ix->eng == &idx_engine_pg; }

int db_time_limit(struct idx *ix, int64_t ms)
{
	if (ms > 0)
		ix->timed_out = false;
	return ix->eng->time_limit(ix, ms);
}

/* Mask what follows "user:" up to '@' in a URL, and the value of every
 * password= keyword (conninfo or URL query), so that no message, log line
 * or error carries a credential. */
char *db_mask_secret(const char *where)
{
	size_t n = strlen(where);
	char *out = malloc(n + 8 * 4 + 1), *o = out;
	if (!out)
		return NULL;
	const char *s = where, *at = NULL, *scheme = strstr(where, "://");
	if (scheme) {
		const char *auth = scheme + 3, *end = auth + strcspn(auth, "/?#");
		for (const char *p = auth; p < end; p++)
			if (*p == '@')
				at = p;
		if (at) {
			const char *colon = memchr(auth, ':', (size_t)(at - auth));
			if (colon) {
				memcpy(o, where, (size_t)(colon + 1 - where));
				o += colon + 1 - where;
				memcpy(o, "***", 3);
				o += 3;
				s = at;
			}
		}
	}
	int masked = 0;
	while (*s) {
		if (!strncasecmp(s, "password=", 9) && masked < 4 &&
		    (s == where || strchr("?& \t", s[-1]))) {
			memcpy(o, s, 9);
			o += 9;
			s += 9;
			memcpy(o, "***", 3);
			o += 3;
			masked++;
			if (*s == '\'') /* conninfo: 'quoted value' */
				for (s++; *s && *s != '\''; s += (*s == '\\' && s[1]) ? 2 : 1)
					;
			if (*s == '\'')
				s++;
			else
				s += strcspn(s, "& \t");
			continue;
		}
		*o++ = *s++;
	}
	*o = '\0';
	return out;
}
