/*
 * transcribe.h - speech engines behind one table of functions: a channel's
 * 16-bit PCM in, timed words out.  The engines are network clients of the
 * deployment's own ASR server (whisper.cpp's server, an OpenAI-compatible
 * endpoint, a Vosk server; DESIGN.md "Speech recognition is a plug-in");
 * they know no calls, no index and no files: record/transcript.c decrypts
 * the recording in memory, hands each channel here and stores the result.
 * Audio goes only to the configured URL (no redirects followed); the
 * bearer token is sent in a header and never written to a message.
 */
#ifndef ES_TRANSCRIBE_H
#define ES_TRANSCRIBE_H

#include "core/core.h"

#include <stdatomic.h>

struct tr_word {
	int64_t start_ms, end_ms; /* from the channel's first sample */
	double conf;              /* 0..1, or -1 when the engine gives none */
	char *w;                  /* the word (UTF-8, no spaces), owned */
};

/* A channel's transcript: the caller's struct, tr_text_free releases it. */
struct tr_text {
	struct tr_word *w;
	size_t n, cap;
};
void tr_text_free(struct tr_text *t);

/* What an engine keeps between the jobs of one worker (pocketsphinx: the
 * loaded model, which takes longer to load than a short call to decode).
 * The worker's: zeroed before the first job, tr_cache_free at its end; one
 * worker thread uses it at a time. */
struct tr_cache {
	void *p;                  /* the engine's, NULL = nothing kept */
	void (*free)(void *p);
};
void tr_cache_free(struct tr_cache *c);

/* Settings of [transcription] (docs/CONFIG.md); strings are the caller's. */
struct tr_conf {
	const char *engine;       /* "whisper", "openai", "vosk", "pocketsphinx" */
	const char *url;          /* whisper: http(s)://host:port[/inference];
				     openai: http(s)://host:port[/v1/audio/transcriptions];
				     vosk: ws://host:port */
	const char *model;        /* openai's "model" (default "whisper-1");
				     pocketsphinx: the model folder */
	const char *language;     /* "en", ... or NULL: the engine decides */
	const char *token;        /* bearer token, NULL = none */
	const char *ca_file;      /* TLS: trust these CAs (NULL: the system's) */
	long timeout_s;           /* whole request (0: 300) */
	size_t max_reply;         /* bytes of a reply kept (0: 16 MiB) */
	struct tr_cache *cache;   /* NULL: nothing kept between jobs */
	atomic_int *stop;         /* set: a request under way is given up
				     (ES_EAGAIN) so a worker stops at once;
				     NULL: never */
};

/* One engine: transcribe a mono channel.  Errors: ES_EIO (no connection,
 * timeout, 5xx, 408, 429: worth a retry), ES_EPARSE (a reply that is not
 * the documented format: retried too, engines get restarted), ES_EINVAL
 * (the engine refused the request: 4xx; retrying will not help), ES_ELIMIT
 * (a reply larger than max_reply).  err says which URL and why. */
struct tr_engine {
	const char *name;
	int (*run)(const struct tr_conf *c, const int16_t *pcm, size_t frames, uint32_t rate,
		   struct tr_text *out, char *err, size_t errlen);
};
/* The engine named name, or NULL. */
const struct tr_engine *tr_engine_find(const char *name);

/* ---- replies (transcribe.c; fuzzed by fuzz/fuzz_transcribe.c) ---------------------
 * A verbose_json reply (whisper.cpp server and OpenAI alike): words from
 * the top-level "words" (OpenAI's timestamp_granularities[]=word) or each
 * segment's "words" (whisper.cpp: word, start, end, probability, seconds);
 * a segment without words contributes its text's words spread evenly over
 * its span (conf -1).  Appends to out; ES_EPARSE with why in err. */
int tr_parse_verbose_json(const char *p, size_t n, struct tr_text *out, char *err, size_t errlen);
/* One Vosk message: a final result's "result" words are appended, a
 * "partial" is ignored (*final false).  ES_EPARSE otherwise. */
int tr_parse_vosk(const char *p, size_t n, struct tr_text *out, bool *final, char *err,
		  size_t errlen);
/* Append one word (copied; leading/trailing spaces and control bytes
 * dropped; an empty word is skipped). */
int tr_text_add(struct tr_text *t, const char *w, size_t n, int64_t start_ms, int64_t end_ms,
		double conf);

/* The stored transcript of a channel: {"channel":"caller","engine":...,
 * "words":[{"w":..,"s":ms,"e":ms,"c":conf},...]} */
int tr_text_json(const struct tr_text *t, const char *channel, const char *engine,
		 struct es_buf *out);
/* The same with "masked": extra (a JSON array, raw) when extra is not NULL. */
int tr_text_json_ex(const struct tr_text *t, const char *channel, const char *engine,
		    const char *extra, struct es_buf *out);
/* A stored transcript (tr_text_json's form) back into out (appended).
 * ES_EPARSE with why in err. */
int tr_text_from_json(const char *p, size_t n, struct tr_text *out, char *err, size_t errlen);
/* The searchable forms: words one space apart, and each word's start
 * ("120,480"), NUL-terminated. */
int tr_text_plain(const struct tr_text *t, struct es_buf *text, struct es_buf *times);

/* ---- the WebSocket frames of the Vosk client (engine_vosk.c; fuzzed) ----------------
 * RFC 6455 section 5.2, as a client reads them: unmasked frames from the
 * server.  ES_EAGAIN: more bytes needed; ES_EPARSE: a masked frame, a
 * reserved bit or opcode, a control frame over 125 bytes or fragmented,
 * a length over max.  The payload is a view into p. */
struct tr_ws_frame {
	bool fin;
	unsigned opcode;          /* 0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong */
	const uint8_t *payload;
	size_t len;
	size_t size;              /* header + payload: bytes consumed */
};
int tr_ws_frame_parse(const uint8_t *p, size_t n, size_t max, struct tr_ws_frame *f);

/* ---- a Vosk stream (engine_vosk.c): a call's channel while it runs -----------------
 * One WebSocket per channel, the audio handed over as it comes (the live
 * keyword alerts, record/tr_live.c).  tr_vosk_open connects and sends the
 * config at rate; tr_vosk_feed sends pcm (in frames of at most 0.5 s, each
 * answered before the next) and appends the words of every final result
 * to out (times from the stream's first sample; partials carry no times
 * and may still change, so they are not used); tr_vosk_finish sends the
 * end and appends the last result.  Errors as tr_engine.run's; every
 * socket read and write waits at most cf->timeout_s.  One thread a stream. */
struct tr_vosk;
int tr_vosk_open(struct tr_vosk **out, const struct tr_conf *cf, uint32_t rate, char *err,
		 size_t errlen);
int tr_vosk_feed(struct tr_vosk *v, const int16_t *pcm, size_t frames, struct tr_text *out,
		 char *err, size_t errlen);
int tr_vosk_finish(struct tr_vosk *v, struct tr_text *out, char *err, size_t errlen);
void tr_vosk_close(struct tr_vosk *v); /* NULL is fine */

/* A RIFF WAVE file of mono 16-bit PCM (malloc'd *out). */
int tr_wav(const int16_t *pcm, size_t frames, uint32_t rate, uint8_t **out, size_t *len);

/* ---- the built-in pocketsphinx engine (engine_sphinx.c, docs/SPEECH.md) ----------
 * Its tr_conf.model is a model folder.  tr_sphinx_prepare makes one in dir
 * (which must not exist): a copy of the packaged en-us model with its
 * feat.params edited for the telephone variant ("8k", "16k", "16k-live",
 * "16k-cmn"; NULL: tr_sphinx_default_variant(), the best measured).
 * ES_EEXIST, ES_ENOTFOUND (no packaged model), ES_EINVAL (no such
 * variant), ES_EIO. */
int tr_sphinx_prepare(const char *dir, const char *variant, char *err, size_t errlen);
const char *tr_sphinx_default_variant(void);
/* Add the model's cepstra (C0..C12, its own front end, every frame) of pcm
 * to sum[] and their count to *nframes: the mean over telephone speech is
 * a -cmninit (bench/sphinx_wer.py).  ES_EUNSUP without the engine. */
int tr_sphinx_cepstrum(const char *dir, const int16_t *pcm, size_t frames, uint32_t rate,
		       double sum[13], uint64_t *nframes, char *err, size_t errlen);
/* Whether this build has the engine (pocketsphinx found at build time). */
bool tr_sphinx_available(void);

#endif /* ES_TRANSCRIBE_H */
