/* pg_helper.h - a throwaway PostgreSQL cluster for unit tests, through
 * tests/pg_cluster.sh (the same helper the integration tests use):
 * pgh_start() once, pgh_fresh() for an empty database per test,
 * pgh_stop() at the end.  Header-only: included by one test file each. */
#ifndef ES_TEST_PG_HELPER_H
#define ES_TEST_PG_HELPER_H

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char pgh_dir[64];
static unsigned pgh_n;

/* Run the cluster helper; its first output line into out. */
static inline int pgh_run(const char *args, char *out, size_t cap)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "sh '%s/tests/pg_cluster.sh' %s", ES_SOURCE_DIR, args);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	char line[512] = "";
	if (!fgets(line, sizeof(line), p))
		line[0] = '\0';
	int st = pclose(p);
	line[strcspn(line, "\n")] = '\0';
	if (out)
		snprintf(out, cap, "%s", line);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* 0 started, 77 when PostgreSQL is not installed, else failed. */
static inline int pgh_start(void)
{
	snprintf(pgh_dir, sizeof(pgh_dir), "/tmp/es_pg_XXXXXX");
	if (!mkdtemp(pgh_dir))
		return -1;
	char args[128];
	snprintf(args, sizeof(args), "start %s", pgh_dir);
	return pgh_run(args, NULL, 0);
}

/* A new empty database's URL. */
static inline void pgh_fresh(char *url, size_t cap)
{
	char args[160];
	snprintf(args, sizeof(args), "createdb %s t%u", pgh_dir, ++pgh_n);
	if (pgh_run(args, url, cap) != 0) {
		fprintf(stderr, "pg_cluster createdb failed\n");
		exit(1);
	}
}

static inline void pgh_restart(void)
{
	char args[128];
	snprintf(args, sizeof(args), "restart %s", pgh_dir);
	pgh_run(args, NULL, 0);
}

static inline void pgh_stop(void)
{
	char args[128];
	snprintf(args, sizeof(args), "stop %s", pgh_dir);
	pgh_run(args, NULL, 0);
}

/* The first value of sql on url, as text ("" for none or NULL). */
static inline void pgh_text(const char *url, const char *sql, char *out, size_t cap)
{
	out[0] = '\0';
	PGconn *c = PQconnectdb(url);
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
	else if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fprintf(stderr, "pgh_text %s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

#endif /* ES_TEST_PG_HELPER_H */
