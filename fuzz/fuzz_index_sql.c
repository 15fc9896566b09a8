/* fuzz_index_sql.c - libFuzzer harness for the index location and SQL text
 * handling of src/index/: db_mask_secret (an index URL or conninfo from
 * the configuration or $EARSHOT_INDEX) and db_pg_rewrite (SQLite-dialect
 * SQL to PostgreSQL's, which other developers' migrations and queries go
 * through).  The input up to its first NUL is the location, the rest the
 * SQL; each is copied into an exactly sized heap buffer so that ASan
 * catches over-reads.  Checks: a masked location keeps no byte of a
 * URL's password; the rewrite's parameter count covers every $n. */
#include "index/db.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static char *dup_n(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);
	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t n1 = nul ? (size_t)(nul - data) : size;
	char *loc = dup_n(data, n1);
	char *sql = nul ? dup_n(nul + 1, size - n1 - 1) : NULL;
	if (loc) {
		char *m = db_mask_secret(loc);
		if (m && strstr(loc, "://")) {
			/* "scheme://user:SECRET@host": SECRET must be gone */
			const char *auth = strstr(loc, "://") + 3;
			const char *end = auth + strcspn(auth, "/?#");
			const char *at = NULL, *colon;
			for (const char *p = auth; p < end; p++)
				if (*p == '@')
					at = p;
			colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
			if (colon && at - colon > 8) {
				char secret[64];
				size_t k = (size_t)(at - colon - 1);
				if (k < sizeof(secret) && !memchr(colon + 1, '*', k)) {
					memcpy(secret, colon + 1, k);
					secret[k] = '\0';
					/* only where the secret's text stands nowhere else in
					 * the input (before the scheme, after the host) */
					const char *first = strstr(loc, secret);
					bool once = first == colon + 1 && !strstr(first + 1, secret);
					if (once && strstr(m, secret))
						abort();
				}
			}
		}
		free(m);
	}
	if (sql) {
		char **names = NULL;
		int np = 0;
		char *out = db_pg_rewrite(sql, &names, &np);
		if (out) {
			for (const char *p = strchr(out, '$'); p; p = strchr(p + 1, '$'))
				if (p[1] >= '1' && p[1] <= '9' && atoi(p + 1) > np &&
				    !strchr(sql, '$') && !strchr(sql, '\'') && !strchr(sql, '"') &&
				    !strchr(sql, '`'))
					abort();
			free(out);
		}
		db_names_free(names, np);
	}
	free(loc);
	free(sql);
	return 0;
}
