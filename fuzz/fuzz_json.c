/* fuzz_json.c - libFuzzer harness for the JSON writer's strings (es_json_strn,
 * es_json_key): the input is any byte string.  The oracle is written here
 * independently of src/core/utf8.c: a strict RFC 8259 string scanner that
 * decodes what the writer wrote (rejecting raw control characters, unknown
 * escapes, lone surrogate escapes and malformed UTF-8), and a second UTF-8
 * decoder that says what the writer should have written: every code point of
 * a well-formed sequence, U+FFFD for every other byte.  Both must agree. */
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The expected code points: decode by the definition (RFC 3629 section 3:
 * the shortest form of a scalar value U+0000..U+D7FF, U+E000..U+10FFFF),
 * not by the table of lead-byte ranges that utf8.c uses. */
static size_t expect(const uint8_t *p, size_t n, uint32_t *out)
{
	size_t m = 0;
	for (size_t i = 0; i < n;) {
		uint8_t c = p[i];
		size_t len = (c & 0x80) == 0 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
			   : (c & 0xf8) == 0xf0 ? 4 : 0;
		uint32_t v = len == 1 ? c : len == 2 ? c & 0x1fu : len == 3 ? c & 0x0fu : c & 0x07u;
		bool ok = len && i + len <= n;
		for (size_t k = 1; ok && k < len; k++) {
			ok = (p[i + k] & 0xc0) == 0x80;
			v = v << 6 | (p[i + k] & 0x3fu);
		}
		static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
		ok = ok && v >= min[len] && v <= 0x10ffff && !(v >= 0xd800 && v <= 0xdfff);
		out[m++] = ok ? v : 0xfffd;
		i += ok ? len : 1;
	}
	return m;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
		: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* One JSON string at s[*pos..n) (RFC 8259 section 7), strictly: its code
 * points into out (room for n), their number returned; the process aborts
 * (a finding) on anything a strict parser would refuse. */
static size_t scan_string(const char *s, size_t n, size_t *pos, uint32_t *out)
{
	size_t i = *pos, m = 0;
	if (i >= n || s[i] != '"')
		abort();
	for (i++;;) {
		if (i >= n)
			abort(); /* unterminated */
		uint8_t c = (uint8_t)s[i];
		if (c == '"')
			break;
		if (c < 0x20)
			abort(); /* raw control character */
		if (c == '\\') {
			if (i + 1 >= n)
				abort();
			char e = s[i + 1];
			const char *simple = strchr("\"\\/bfnrt", e);
			if (e && simple) {
				static const char map[] = "\"\\/\b\f\n\r\t";
				out[m++] = (uint8_t)map[simple - "\"\\/bfnrt"];
				i += 2;
				continue;
			}
			if (e != 'u' || i + 6 > n)
				abort();
			uint32_t v = 0;
			for (int k = 2; k < 6; k++) {
				int h = hexval(s[i + k]);
				if (h < 0)
					abort();
				v = v << 4 | (uint32_t)h;
			}
			if (v >= 0xd800 && v <= 0xdfff)
				abort(); /* the writer never needs surrogate pairs */
			out[m++] = v;
			i += 6;
			continue;
		}
		/* Raw bytes must be well-formed UTF-8: reuse the independent
		 * decoder on this one sequence and refuse any replacement. */
		size_t len = (c & 0x80) == 0 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : 4;
		if (i + len > n)
			abort();
		uint32_t v[4];
		if (expect((const uint8_t *)s + i, len, v) != 1 ||
		    (v[0] == 0xfffd && memcmp(s + i, "\xef\xbf\xbd", 3) != 0))
			abort();
		if ((v[0] >= 0x7f && v[0] <= 0x9f) || v[0] == 0x2028 || v[0] == 0x2029)
			abort(); /* promised escaped (core.h) */
		out[m++] = v[0];
		i += len;
	}
	*pos = i + 1;
	return m;
}

static void check(const char *doc, size_t dlen, size_t *pos, const uint8_t *in, size_t n,
		  uint32_t *got, uint32_t *want)
{
	size_t g = scan_string(doc, dlen, pos, got);
	size_t w = expect(in, n, want);
	if (g != w || memcmp(got, want, g * sizeof(*got)) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *doc = NULL;
	size_t dlen = 0;
	FILE *f = open_memstream(&doc, &dlen);
	if (!f)
		return 0;
	/* A key is a C string: the input up to its first NUL. */
	size_t klen = strnlen((const char *)data, size);
	char *key = malloc(klen + 1);
	uint32_t *got = malloc((size + 1) * 6 * sizeof(uint32_t));
	uint32_t *want = malloc((size + 1) * sizeof(uint32_t));
	if (!key || !got || !want)
		goto out;
	memcpy(key, data, klen);
	key[klen] = 0;
	struct es_json j;
	es_json_init(&j, f, false);
	es_json_obj_begin(&j);
	es_json_key(&j, key);
	es_json_strn(&j, (const char *)data, size);
	es_json_obj_end(&j);
	fclose(f);
	f = NULL;
	size_t pos = 0;
	if (dlen < 1 || doc[pos++] != '{')
		abort();
	check(doc, dlen, &pos, (const uint8_t *)key, klen, got, want);
	if (pos >= dlen || doc[pos++] != ':')
		abort();
	check(doc, dlen, &pos, data, size, got, want);
	if (pos + 1 != dlen || doc[pos] != '}')
		abort();
out:
	if (f)
		fclose(f);
	free(doc);
	free(key);
	free(got);
	free(want);
	return 0;
}
