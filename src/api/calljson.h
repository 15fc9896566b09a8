/*
 * calljson.h - a call as JSON, the one shape `earshot calls/show --json`
 * and the REST API (GET /api/calls, /api/calls/{id}) print: parties,
 * streams with statistics, the recording, and with detail also events and
 * the SIP message sequence (docs/CLI.md "JSON (stable interface)").
 */
#ifndef ES_API_CALLJSON_H
#define ES_API_CALLJSON_H

#include "core/core.h"
#include "index/index.h"

#include <stdio.h>

void api_call_json(struct es_json *j, const struct idx_call *c, bool detail);
/* The same; extra (when not NULL) writes more keys before the object ends
 * (the REST API's "tags"). */
void api_call_json_ex(struct es_json *j, const struct idx_call *c, bool detail,
		      void (*extra)(void *ud, struct es_json *j), void *ud);

/* A comma list ("one_way,siprec", a user's numbers) as an array of its
 * non-empty items; NULL or "" is []. */
void api_json_list(struct es_json *j, const char *comma_list);
/* A time as the JSON of calls writes it: ISO 8601 UTC, null for 0. */
void api_json_time(struct es_json *j, int64_t us);

/* A list of calls as CSV (callcsv.c: RFC 4180, formulas neutralised): the
 * header line, then one line per call. */
void api_call_csv_header(FILE *f);
void api_call_csv_row(FILE *f, const struct idx_call *c);

#endif /* ES_API_CALLJSON_H */
