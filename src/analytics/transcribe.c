/*
 * transcribe.c - what every speech engine shares (transcribe.h): the
 * transcript of a channel, the engines' JSON replies (cJSON: a reply is
 * a whole document, small next to the audio), the stored and searchable
 * forms, and the WAVE file the HTTP engines upload.
 */
#include "analytics/transcribe.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TR_WORDS_MAX (4u << 20) /* words a channel may have: far beyond any call */

void tr_cache_free(struct tr_cache *c)
{
	if (c && c->p && c->free)
		c->free(c->p);
	if (c)
		c->p = NULL;
}

void tr_text_free(struct tr_text *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->w[i].w);
	free(t->w);
	memset(t, 0, sizeof(*t));
}

/* A time in seconds (JSON number) as ms; negative, NaN or absurd -> 0. */
static int64_t sec_ms(const cJSON *v)
{
	if (!cJSON_IsNumber(v))
		return 0;
	double s = v->valuedouble;
	if (!(s >= 0) || s > 1e7) /* NaN fails too; > 115 days is no call */
		return 0;
	return (int64_t)llround(s * 1000.0);
}

int tr_text_add(struct tr_text *t, const char *w, size_t n, int64_t start_ms, int64_t end_ms,
		double conf)
{
	/* trim spaces; drop control bytes (a word is one token of the
	 * searchable text: no space and nothing that breaks a line) */
	char *c = malloc(n + 1);
	if (!c)
		return ES_ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)w[i];
		if (ch > 0x20 && ch != 0x7f)
			c[k++] = (char)ch;
	}
	c[k] = 0;
	if (!k) {
		free(c);
		return 0;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct tr_word *nw = t->n >= TR_WORDS_MAX ? NULL : realloc(t->w, cap * sizeof(*nw));
		if (!nw) {
			free(c);
			return t->n >= TR_WORDS_MAX ? ES_ELIMIT : ES_ENOMEM;
		}
		t->w = nw;
		t->cap = cap;
	}
	if (end_ms < start_ms)
		end_ms = start_ms;
	if (!(conf >= 0 && conf <= 1)) /* NaN, or an engine's other scale */
		conf = -1;
	t->w[t->n++] = (struct tr_word){.start_ms = start_ms, .end_ms = end_ms, .conf = conf, .w = c};
	return 0;
}

/* One {"word", "start", "end", "probability"|"conf"} object. */
static int add_word(struct tr_text *t, const cJSON *o)
{
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(o, "word");
	if (!cJSON_IsString(w) || !w->valuestring)
		return ES_EPARSE;
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "probability");
	if (!p)
		p = cJSON_GetObjectItemCaseSensitive(o, "conf");
	double conf = cJSON_IsNumber(p) ? p->valuedouble : -1;
	return tr_text_add(t, w->valuestring, strlen(w->valuestring),
			   sec_ms(cJSON_GetObjectItemCaseSensitive(o, "start")),
			   sec_ms(cJSON_GetObjectItemCaseSensitive(o, "end")), conf);
}

static int add_words(struct tr_text *t, const cJSON *arr, char *err, size_t errlen)
{
	const cJSON *o;
	size_t i = 0;
	cJSON_ArrayForEach(o, arr)
	{
		int rc = add_word(t, o);
		if (rc == ES_EPARSE)
			snprintf(err, errlen, "words[%zu]: no \"word\" string", i);
		if (rc)
			return rc;
		i++;
	}
	return 0;
}

/* A segment without word times: its words spread evenly over its span. */
static int add_spread(struct tr_text *t, const cJSON *seg)
{
	const cJSON *tx = cJSON_GetObjectItemCaseSensitive(seg, "text");
	if (!cJSON_IsString(tx) || !tx->valuestring)
		return 0;
	int64_t s = sec_ms(cJSON_GetObjectItemCaseSensitive(seg, "start"));
	int64_t e = sec_ms(cJSON_GetObjectItemCaseSensitive(seg, "end"));
	if (e < s)
		e = s;
	const char *p = tx->valuestring;
	size_t nw = 0;
	for (const char *q = p; *q;) {
		while (*q == ' ')
			q++;
		if (*q)
			nw++;
		while (*q && *q != ' ')
			q++;
	}
	size_t i = 0;
	while (*p) {
		while (*p == ' ')
			p++;
		const char *b = p;
		while (*p && *p != ' ')
			p++;
		if (p == b)
			break;
		int64_t ws = s + (e - s) * (int64_t)i / (int64_t)nw;
		int64_t we = s + (e - s) * (int64_t)(i + 1) / (int64_t)nw;
		int rc = tr_text_add(t, b, (size_t)(p - b), ws, we, -1);
		if (rc)
			return rc;
		i++;
	}
	return 0;
}

int tr_parse_verbose_json(const char *p, size_t n, struct tr_text *out, char *err, size_t errlen)
{
	cJSON *root = cJSON_ParseWithLength(p, n);
	int rc = 0;
	if (!cJSON_IsObject(root)) {
		snprintf(err, errlen, "reply is not a JSON object");
		rc = ES_EPARSE;
		goto out;
	}
	const cJSON *words = cJSON_GetObjectItemCaseSensitive(root, "words");
	const cJSON *segs = cJSON_GetObjectItemCaseSensitive(root, "segments");
	if (cJSON_IsArray(words)) {
		rc = add_words(out, words, err, errlen);
		goto out;
	}
	if (!cJSON_IsArray(segs)) {
		/* an error object, or plain "json" without segments */
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
		const cJSON *m = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "message") : e;
		if (cJSON_IsString(m) && m->valuestring)
			snprintf(err, errlen, "engine error: %.200s", m->valuestring);
		else
			snprintf(err, errlen, "reply has neither \"words\" nor \"segments\"");
		rc = ES_EPARSE;
		goto out;
	}
	const cJSON *seg;
	cJSON_ArrayForEach(seg, segs)
	{
		if (!cJSON_IsObject(seg)) {
			snprintf(err, errlen, "a segment is not an object");
			rc = ES_EPARSE;
			goto out;
		}
		const cJSON *sw = cJSON_GetObjectItemCaseSensitive(seg, "words");
		rc = cJSON_IsArray(sw) ? add_words(out, sw, err, errlen) : add_spread(out, seg);
		if (rc)
			goto out;
	}
out:
	cJSON_Delete(root);
	return rc;
}

int tr_parse_vosk(const char *p, size_t n, struct tr_text *out, bool *final, char *err,
		  size_t errlen)
{
	*final = false;
	cJSON *root = cJSON_ParseWithLength(p, n);
	int rc = 0;
	if (!cJSON_IsObject(root)) {
		snprintf(err, errlen, "message is not a JSON object");
		rc = ES_EPARSE;
		goto out;
	}
	if (cJSON_GetObjectItemCaseSensitive(root, "partial"))
		goto out;
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(root, "result");
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(root, "text");
	if (!res && cJSON_IsString(text)) { /* a final result with no words */
		*final = true;
		goto out;
	}
	if (!cJSON_IsArray(res)) {
		snprintf(err, errlen, "message has no \"result\" array");
		rc = ES_EPARSE;
		goto out;
	}
	*final = true;
	rc = add_words(out, res, err, errlen);
out:
	cJSON_Delete(root);
	return rc;
}

int tr_text_json(const struct tr_text *t, const char *channel, const char *engine,
		 struct es_buf *out)
{
	return tr_text_json_ex(t, channel, engine, NULL, out);
}

int tr_text_json_ex(const struct tr_text *t, const char *channel, const char *engine,
		    const char *extra, struct es_buf *out)
{
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);
	if (!f)
		return ES_ENOMEM;
	struct es_json j;
	es_json_init(&j, f, false);
	es_json_obj_begin(&j);
	es_json_key(&j, "channel");
	es_json_str(&j, channel);
	es_json_key(&j, "engine");
	es_json_str(&j, engine);
	es_json_key(&j, "words");
	es_json_arr_begin(&j);
	for (size_t i = 0; i < t->n; i++) {
		const struct tr_word *w = &t->w[i];
		es_json_obj_begin(&j);
		es_json_key(&j, "w");
		es_json_str(&j, w->w);
		es_json_key(&j, "s");
		es_json_int(&j, w->start_ms);
		es_json_key(&j, "e");
		es_json_int(&j, w->end_ms);
		es_json_key(&j, "c");
		if (w->conf < 0)
			es_json_null(&j);
		else
			es_json_double(&j, w->conf, 3);
		es_json_obj_end(&j);
	}
	es_json_arr_end(&j);
	if (extra && *extra) {
		/* members of the caller's own making (the masked spans) */
		es_json_key(&j, "masked");
		es_json_raw(&j, extra);
	}
	es_json_obj_end(&j);
	es_json_end(&j);
	int rc = fclose(f) ? ES_ENOMEM : 0;
	if (!rc)
		rc = es_buf_append(out, mem, len);
	free(mem);
	return rc;
}

/* A stored time in ms; negative, NaN or absurd -> 0 (as sec_ms). */
static int64_t ms_of(double v)
{
	return v >= 0 && v <= 1e10 ? (int64_t)v : 0;
}

int tr_text_from_json(const char *p, size_t n, struct tr_text *out, char *err, size_t errlen)
{
	cJSON *root = cJSON_ParseWithLength(p, n);
	const cJSON *ws = cJSON_GetObjectItemCaseSensitive(root, "words"), *o;
	int rc = 0;
	if (!cJSON_IsArray(ws)) {
		snprintf(err, errlen, "stored transcript has no \"words\" array");
		rc = ES_EPARSE;
		goto out;
	}
	cJSON_ArrayForEach(o, ws)
	{
		const cJSON *w = cJSON_GetObjectItemCaseSensitive(o, "w");
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "s");
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "e");
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "c");
		if (!cJSON_IsString(w) || !w->valuestring || !cJSON_IsNumber(s) ||
		    !cJSON_IsNumber(e)) {
			snprintf(err, errlen, "stored transcript: a word without w, s or e");
			rc = ES_EPARSE;
			goto out;
		}
		if ((rc = tr_text_add(out, w->valuestring, strlen(w->valuestring),
				      ms_of(s->valuedouble), ms_of(e->valuedouble),
				      cJSON_IsNumber(c) ? c->valuedouble : -1))) {
			snprintf(err, errlen, "stored transcript: %s", es_strerror(rc));
			goto out;
		}
	}
out:
	cJSON_Delete(root);
	return rc;
}

int tr_text_plain(const struct tr_text *t, struct es_buf *text, struct es_buf *times)
{
	int rc = 0;
	for (size_t i = 0; !rc && i < t->n; i++) {
		if (i && (rc = es_buf_append(text, " ", 1)))
			break;
		rc = es_buf_append(text, t->w[i].w, strlen(t->w[i].w));
		if (!rc)
			rc = es_buf_printf(times, i ? ",%lld" : "%lld", (long long)t->w[i].start_ms);
	}
	if (!rc)
		rc = es_buf_append(text, "", 1);
	if (!rc)
		rc = es_buf_append(times, "", 1);
	return rc;
}

static void le16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v)
{
	le16(p, v);
	le16(p + 2, v >> 16);
}

int tr_wav(const int16_t *pcm, size_t frames, uint32_t rate, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (frames > (UINT32_MAX - 44) / 2)
		return ES_ELIMIT;
	size_t data = frames * 2;
	uint8_t *b = malloc(44 + data);
	if (!b)
		return ES_ENOMEM;
	memcpy(b, "RIFF", 4);
	le32(b + 4, (uint32_t)(36 + data));
	memcpy(b + 8, "WAVEfmt ", 8);
	le32(b + 16, 16);
	le16(b + 20, 1); /* PCM */
	le16(b + 22, 1); /* mono */
	le32(b + 24, rate);
	le32(b + 28, rate * 2);
	le16(b + 32, 2);
	le16(b + 34, 16);
	memcpy(b + 36, "data", 4);
	le32(b + 40, (uint32_t)data);
	for (size_t i = 0; i < frames; i++)
		le16(b + 44 + 2 * i, (uint16_t)pcm[i]);
	*out = b;
	*len = 44 + data;
	return 0;
}

/* ---- the engines -------------------------------------------------------------------- */

extern const struct tr_engine tr_engine_whisper, tr_engine_openai, tr_engine_vosk;
#ifdef ES_HAVE_POCKETSPHINX
extern const struct tr_engine tr_engine_pocketsphinx;
#endif

const struct tr_engine *tr_engine_find(const char *name)
{
	static const struct tr_engine *const all[] = {&tr_engine_whisper, &tr_engine_openai,
						      &tr_engine_vosk,
#ifdef ES_HAVE_POCKETSPHINX
						      &tr_engine_pocketsphinx,
#endif
	};
	for (size_t i = 0; name && i < ES_ARRAY_LEN(all); i++)
		if (!strcmp(all[i]->name, name))
			return all[i];
	return NULL;
}
