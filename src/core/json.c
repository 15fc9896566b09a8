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

static void put_str(FILE *f, const char *s, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			/* Control bytes are escaped; bytes >= 0x80 that are not
			 * valid UTF-8 would make invalid JSON, so they are
			 * escaped as their Latin-1 code point. */
			if (c < 0x20)
				fprintf(f, "\\u%04x", c);
			else if (c >= 0x80) {
				size_t need = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
				bool ok = need > 0 && i + need < n;
				for (size_t k = 1; ok && k <= need; k++)
					ok = ((unsigned char)s[i + k] & 0xc0) == 0x80;
				if (ok) {
					fwrite(s + i, 1, need + 1, f);
					i += need;
				} else
					fprintf(f, "\\u%04x", c);
			} else
				fputc(c, f);
		}
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
