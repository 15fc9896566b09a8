/*
 * callcsv.c - a list of calls as CSV, the one shape `earshot calls --csv`
 * and GET /api/calls.csv write: RFC 4180 (CRLF line ends; a field with a
 * comma, quote, CR or LF is quoted, its quotes doubled), and text that a
 * spreadsheet would run as a formula (a cell starting with = + - @, or a
 * tab or CR) gets a leading apostrophe (OWASP "CSV injection"): caller
 * names and Call-IDs come from the network, and a CSV is opened in Excel.
 */
#include "api/calljson.h"

#include <string.h>

/* One text field: neutralised, then quoted when it must be. */
static void csv_text(FILE *f, const char *s)
{
	if (!s || !*s)
		return;
	bool formula = strchr("=+-@\t\r", s[0]) != NULL;
	bool quote = formula || strpbrk(s, ",\"\r\n") != NULL;
	if (quote)
		fputc('"', f);
	if (formula)
		fputc('\'', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	if (quote)
		fputc('"', f);
}

void api_call_csv_header(FILE *f)
{
	fputs("id,call_id,start,answer,end,duration_s,caller,callee,outcome,sip_code,"
	      "streams,flags,mos,loss_pct\r\n", f);
}

void api_call_csv_row(FILE *f, const struct idx_call *c)
{
	char start[ES_TIME_STRLEN] = "", answer[ES_TIME_STRLEN] = "", end[ES_TIME_STRLEN] = "";
	if (c->start_us)
		es_time_fmt(c->start_us, start, sizeof(start));
	if (c->answer_us)
		es_time_fmt(c->answer_us, answer, sizeof(answer));
	if (c->end_us)
		es_time_fmt(c->end_us, end, sizeof(end));
	fprintf(f, "%lld,", (long long)c->id);
	csv_text(f, c->call_id);
	fprintf(f, ",%s,%s,%s,%.3f,", start, answer, end, (double)idx_call_duration_us(c) / 1e6);
	csv_text(f, c->caller.uri);
	fputc(',', f);
	csv_text(f, c->callee.uri);
	fputc(',', f);
	csv_text(f, c->outcome);
	fputc(',', f);
	if (c->sip_code)
		fprintf(f, "%d", c->sip_code);
	fprintf(f, ",%u,", c->nstreams);
	csv_text(f, c->flags);
	if (c->quality.set)
		fprintf(f, ",%.2f,%.3f\r\n", c->quality.mos, c->quality.loss_pct);
	else
		fputs(",,\r\n", f);
}
