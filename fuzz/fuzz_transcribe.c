/* fuzz_transcribe.c - libFuzzer harness for the speech engines' replies
 * (analytics/transcribe.h): the input is read as a verbose_json reply
 * (whisper.cpp server, OpenAI-compatible), as one Vosk message, and as a
 * stream of WebSocket frames from a server, in an exactly sized heap
 * buffer so that ASan catches over-reads.  Every word kept must be
 * non-empty, without spaces or control bytes, with end >= start and a
 * confidence in [0, 1] or -1; every frame must lie inside the input. */
#include "analytics/transcribe.h"

#include <stdlib.h>
#include <string.h>

static void check_words(const struct tr_text *t)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct tr_word *w = &t->w[i];
		if (!w->w[0] || w->end_ms < w->start_ms || w->start_ms < 0 ||
		    !(w->conf == -1 || (w->conf >= 0 && w->conf <= 1)))
			abort();
		for (const char *p = w->w; *p; p++)
			if ((unsigned char)*p <= 0x20 || *p == 0x7f)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	char err[256];
	struct tr_text t = {0};
	tr_parse_verbose_json((const char *)buf, size, &t, err, sizeof(err));
	check_words(&t);
	bool final = false;
	tr_parse_vosk((const char *)buf, size, &t, &final, err, sizeof(err));
	check_words(&t);
	struct es_buf js, text, times;
	es_buf_init(&js);
	es_buf_init(&text);
	es_buf_init(&times);
	tr_text_json(&t, "caller", "fuzz", &js);
	tr_text_plain(&t, &text, &times);
	/* the stored form read back (a transcript file the worker re-reads) */
	struct tr_text back = {0};
	tr_text_from_json((const char *)js.p, js.len, &back, err, sizeof(err));
	if (back.n != t.n)
		abort();
	tr_text_free(&back);
	tr_text_from_json((const char *)buf, size, &back, err, sizeof(err));
	check_words(&back);
	tr_text_free(&back);
	es_buf_free(&js);
	es_buf_free(&text);
	es_buf_free(&times);
	tr_text_free(&t);
	size_t off = 0;
	while (off < size) {
		struct tr_ws_frame f;
		if (tr_ws_frame_parse(buf + off, size - off, 1u << 20, &f))
			break;
		if (f.size > size - off || f.payload < buf + off ||
		    f.payload + f.len > buf + off + f.size || !f.size)
			abort();
		off += f.size;
	}
	free(buf);
	return 0;
}
