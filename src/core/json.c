/* json.c - a streaming JSON writer. */
#include "core.h"

#include <math.h>
#include <string.h>

void es_json_init(struct es_json *j, FILE *f, bool pretty)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->pretty = pretty;
}

static void indent(struct es_json *j)
{
	if (!j->pretty)
		return;
	fputc('\n', j->f);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

/* Before any value: a comma if a sibling came first, then indentation. */
static void pre_value(struct es_json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth > 0 && j->depth <= ES_JSON_MAX_DEPTH) {
		if (j->need_comma[j->depth - 1])
			fputc(',', j->f);
		j->need_comma[j->depth - 1] = true;
		indent(j);
	}
}

static void open(struct es_json *j, char c)
{
	pre_value(j);
	fputc(c, j->f);
	if (j->depth < ES_JSON_MAX_DEPTH)
		j->need_comma[j->depth] = false;
	j->depth++;
}

static void close(struct es_json *j, char c)
{
	bool had = j->depth > 0 && j->depth <= ES_JSON_MAX_DEPTH &&
		   j->need_comma[j->depth - 1];
	j->depth--;
	if (had)
		indent(j);
	fputc(c, j->f);
}

void es_json_obj_begin(struct es_json *j) { open(j, '{'); }
void es_json_obj_end(struct es_json *j) { close(j, '}'); }
void es_json_arr_begin(struct es_json *j) { open(j, '['); }
void es_json_arr_end(struct es_json *j) { close(j, ']'); }

/* RFC 8259 section 7, strict: input bytes that are not well-formed UTF-8
 * (a display name from a capture, a query parameter) become U+FFFD, one per
 * byte, so that a strict parser reads every document we write.  C1 controls,
 * DEL and U+2028/2029 are valid JSON but are escaped too: terminals act on C1
 * and JavaScript string literals end at U+2028/2029. */
static void put_str(FILE *f, const char *s, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		uint32_t cp;
		size_t len = es_utf8_seq(s + i, n - i, &cp);
		if (!len) {
			fputs("\\ufffd", f);
			i++;
			continue;
		}
		switch (cp) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029)
				fprintf(f, "\\u%04x", (unsigned)cp);
			else if (len == 1)
				fputc(c, f);
			else
				fwrite(s + i, 1, len, f);
		}
		i += len;
	}
	fputc('"', f);
}

void es_json_key(struct es_json *j, const char *k)
{
	pre_value(j);
	put_str(j->f, k, strlen(k));
	fputs(j->pretty ? ": " : ":", j->f);
	j->after_key = true;
}

void es_json_strn(struct es_json *j, const char *s, size_t n)
{
	pre_value(j);
	put_str(j->f, s, n);
}

void es_json_str(struct es_json *j, const char *s)
{
	if (!s) {
		es_json_null(j);
		return;
	}
	es_json_strn(j, s, strlen(s));
}

void es_json_int(struct es_json *j, int64_t v)
{
	pre_value(j);
	fprintf(j->f, "%lld", (long long)v);
}

void es_json_double(struct es_json *j, double v, int decimals)
{
	pre_value(j);
	if (!isfinite(v))
		fputs("null", j->f);
	else
		fprintf(j->f, "%.*f", decimals, v);
}

void es_json_bool(struct es_json *j, bool v)
{
	pre_value(j);
	fputs(v ? "true" : "false", j->f);
}

void es_json_null(struct es_json *j)
{
	pre_value(j);
	fputs("null", j->f);
}

void es_json_raw(struct es_json *j, const char *json)
{
	pre_value(j);
	fputs(json && *json ? json : "null", j->f);
}

void es_json_end(struct es_json *j) { fputc('\n', j->f); }
