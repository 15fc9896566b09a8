/*
 * media.h - from codec frames to a recording.
 *
 *  - The media log (mlog): the compact spool of one call, as the capture
 *    path writes it: which streams there are and which party sends each,
 *    the payload maps, and every RTP packet's payload with its capture time,
 *    sequence number and timestamp.  Append-only, written in buffered
 *    chunks (no file descriptor is kept open between flushes); a reader
 *    stops cleanly at a torn last record, so a crashed recorder's spool is
 *    still readable.  No transcoding happens while it is written.
 *  - The renderer: reads a media log, decodes each party with src/codec/,
 *    places the audio on the call's timeline by RTP timestamp anchored to
 *    capture time (gaps become silence or concealment, clock drift between
 *    the sides is corrected), resamples to the recording rate (8 kHz, or
 *    16 kHz when a wideband codec was used) and streams it to a writer.
 *  - Writers (Ogg/Opus, WAV, FLAC) and readers of what they wrote.
 *
 * Memory is bounded per call whatever its length: nothing holds a whole
 * call.
 */
#ifndef ES_MEDIA_H
#define ES_MEDIA_H

#include "core/core.h"

/* ---- formats, writers and readers ------------------------------------------ */

enum media_format { MEDIA_OPUS = 0, MEDIA_WAV, MEDIA_FLAC };

const char *media_format_name(enum media_format f); /* "opus", "wav", "flac" */
const char *media_format_ext(enum media_format f);  /* ".opus", ".wav", ".flac" */
/* "opus" / "ogg", "wav", "flac" (case-insensitive); ES_EINVAL otherwise. */
int media_format_parse(const char *s, enum media_format *out);

struct media_writer_opts {
	int opus_bitrate;            /* bits/s for the whole file; 0 = 16000 per channel */
	int opus_complexity;         /* 0..10; -1 = default (0 at 8 kHz, else 5: docs/PERFORMANCE.md) */
	const char *const *tags;     /* "KEY=value" comments (Ogg/FLAC), NULL-terminated; may be NULL */
};

struct media_writer;
/* Create path (truncating) for 16-bit PCM at `rate` with `channels` (1 or
 * 2, interleaved).  ES_EIO with a message naming the file. */
int media_writer_open(struct media_writer **out, const char *path, enum media_format fmt,
		      uint32_t rate, unsigned channels, const struct media_writer_opts *o,
		      char *err, size_t errlen);
/* The same into memory: mem (caller-owned, emptied first) receives the
 * whole file, grown as needed; name is used in messages.  Close then does
 * no I/O; on failure mem holds a partial file for the caller to drop. */
int media_writer_open_mem(struct media_writer **out, struct es_buf *mem, const char *name,
			  enum media_format fmt, uint32_t rate, unsigned channels,
			  const struct media_writer_opts *o, char *err, size_t errlen);
/* Where a writer in sink mode puts its bytes, in file order: 0, or a
 * negative ES_E* that fails the writer (and is what close returns). */
typedef int (*media_sink_fn)(void *ud, const void *p, size_t n);
/* The same into sink, in one pass with no seeking back, so that the bytes
 * can go straight into an encryptor: Ogg/Opus, and WAV, whose header then
 * states `frames` (frames of `channels` samples) from the start and which
 * must then be given exactly that many (ES_EINVAL otherwise).  FLAC writes
 * its STREAMINFO last: ES_EUNSUP.  Close does no I/O; *bytes is what went
 * to the sink.  name is used in messages. */
int media_writer_open_sink(struct media_writer **out, media_sink_fn sink, void *ud,
			   const char *name, enum media_format fmt, uint32_t rate,
			   unsigned channels, uint64_t frames, const struct media_writer_opts *o,
			   char *err, size_t errlen);
int media_writer_write(struct media_writer *w, const int16_t *pcm, size_t frames);
/* Finish the file (trailers, WAV sizes), fsync it and close; frees w even
 * on error.  *bytes (may be NULL) gets the file size. */
int media_writer_close(struct media_writer *w, uint64_t *bytes, char *err, size_t errlen);
/* Abandon: close and unlink the partial file. */
void media_writer_abort(struct media_writer *w);

struct media_reader;
/* Open a file this module wrote (format from its content, not its name). */
int media_reader_open(struct media_reader **out, const char *path, char *err, size_t errlen);
/* The same over a stream the reader then owns (closed by media_reader_close,
 * and on failure): it must be readable and seekable (fopencookie over a
 * decrypting reader, fmemopen...).  name is used in messages. */
int media_reader_open_stream(struct media_reader **out, FILE *f, const char *name, char *err,
			     size_t errlen);
enum media_format media_reader_format(const struct media_reader *r);
/* Frames the file announces (WAV data size, FLAC STREAMINFO, Opus granule
 * positions at the file's rate); 0 when it does not say.  A damaged file
 * may then deliver fewer or more. */
uint64_t media_reader_frames(const struct media_reader *r);
uint32_t media_reader_rate(const struct media_reader *r);
unsigned media_reader_channels(const struct media_reader *r);
/* Read up to `frames` interleaved frames; returns frames read, 0 at the
 * end, negative ES_E* on a damaged file. */
long media_reader_read(struct media_reader *r, int16_t *pcm, size_t frames);
void media_reader_close(struct media_reader *r);

/* ---- peaks: a recording's waveform for a player (peaks.c) ------------------- */

struct media_peaks {
	uint32_t rate;
	unsigned channels;
	unsigned points;
	uint64_t frames;  /* frames read (the duration is frames / rate) */
	uint8_t *v;       /* channels * points, channel by channel: v[c * points + i]
			     = round(max |sample| of point i * 255 / 32768) */
};

/* Read r to its end and reduce it to `points` stretches of equal length
 * (point i covers frames [ceil(i*T/N), ceil((i+1)*T/N)), T the length the
 * file announces).  ES_EFORMAT when the file does not state its length,
 * a reader error when it is damaged (with a message in err).  out->v is
 * the caller's (media_peaks_free). */
int media_peaks(struct media_reader *r, unsigned points, struct media_peaks *out, char *err,
		size_t errlen);
void media_peaks_free(struct media_peaks *p);

/* ---- the media log ----------------------------------------------------------- */

enum mlog_party { MLOG_CALLER = 0, MLOG_CALLEE = 1 };

/* Keys of encrypted media logs (format 2, mlog.c).  The media layer knows
 * no keyring: the caller hands it a fresh data key per log with that key's
 * wrapped form (kept in the log's header), and unwraps it again to read.
 * key_id names the log ("spool:" + its random file id in hex) and must be
 * bound to the wrapping (its associated data), so a header's wrapped key
 * does not open another log.  Both return 0 or a negative ES_E*; the key
 * bytes are wiped by the media layer when it is done with them. */
#define MLOG_KEY_BYTES 32
#define MLOG_WRAPPED_MAX 160 /* wrapped key text with its NUL */
struct mlog_keys {
	void *ud;
	int (*new_key)(void *ud, const char *key_id, uint8_t key[MLOG_KEY_BYTES], char *wrapped,
		       size_t cap);
	int (*unwrap)(void *ud, const char *key_id, const char *wrapped,
		      uint8_t key[MLOG_KEY_BYTES], char *err, size_t errlen);
};

struct mlog_writer;
/* Start a media log at path (created; ES_EEXIST if present).  call_id and
 * start_us (capture time of the call's first message) go in its header.
 * buf_bytes: bytes buffered before a write to the file (0 = 32 KiB). */
int mlog_create(struct mlog_writer **out, const char *path, const char *call_id,
		int64_t start_us, size_t buf_bytes);
/* The same, encrypted (format 2) when keys is non-NULL: a fresh data key
 * from keys->new_key; call_id and start_us then go in the first encrypted
 * chunk, not the plain header.  keys is used only during the call. */
int mlog_create_keyed(struct mlog_writer **out, const char *path, const char *call_id,
		      int64_t start_us, size_t buf_bytes, const struct mlog_keys *keys);
/* Declare stream number `stream` (0, 1, ... in order) sent by `party`. */
int mlog_stream(struct mlog_writer *w, unsigned stream, enum mlog_party party, uint32_t ssrc);
/* The payload map for streams sent by `party` from now on: payload type pt
 * means this SDP encoding.  Later records for the same (party, pt) replace
 * earlier ones. */
int mlog_ptmap(struct mlog_writer *w, enum mlog_party party, uint8_t pt, const char *name,
	       uint32_t clock, unsigned channels);
/* One RTP packet of a declared stream. */
int mlog_rtp(struct mlog_writer *w, unsigned stream, int64_t ts_us, uint16_t seq,
	     uint32_t rtp_ts, uint8_t pt, bool marker, const uint8_t *payload, size_t len);
/* What the log is about: the call's metadata as text ("key=value" lines,
 * written by the recorder so that a crashed call can be indexed from its
 * log alone); the last META record counts.  At most 60,000 bytes. */
int mlog_meta(struct mlog_writer *w, const char *text, size_t len);
/* The addresses of declared stream `stream` (src sends to dst), so that
 * the call's raw data can be rebuilt as packets (record/pcap_rebuild.c). */
int mlog_addr(struct mlog_writer *w, unsigned stream, const struct es_addr *src,
	      const struct es_addr *dst);
/* One SIP message of the call as captured: capture time, addresses, the
 * transport (an IP protocol number, or 0xfe for WebSocket) and the whole
 * message (at most MLOG_SIP_MAX_TEXT bytes; ES_ELIMIT above). */
#define MLOG_SIP_MAX_TEXT 65000
int mlog_sip(struct mlog_writer *w, int64_t ts_us, const struct es_addr *src,
	     const struct es_addr *dst, uint8_t proto, const uint8_t *text, size_t len);
/* Write the buffered records to the file (and fsync when sync). */
int mlog_flush(struct mlog_writer *w, bool sync);
/* Flush, fsync and free. */
int mlog_close(struct mlog_writer *w);
/* Free without writing what is buffered (the file stays as it is). */
void mlog_discard(struct mlog_writer *w);
/* Bytes the writer holds in memory now. */
size_t mlog_mem_bytes(const struct mlog_writer *w);

/* Reading, for the renderer, recovery and tests. */
enum mlog_rec_type {
	MLOG_REC_STREAM = 1,
	MLOG_REC_PTMAP = 2,
	MLOG_REC_RTP = 3,
	MLOG_REC_META = 4,
	/* 5 is the encrypted log's HEAD, never returned */
	MLOG_REC_ADDR = 6,
	MLOG_REC_SIP = 7,
};

struct mlog_rec {
	enum mlog_rec_type type;
	unsigned stream;          /* STREAM, RTP */
	enum mlog_party party;    /* STREAM, PTMAP */
	uint32_t ssrc;            /* STREAM */
	uint8_t pt;               /* PTMAP, RTP */
	char name[24];            /* PTMAP */
	uint32_t clock;           /* PTMAP */
	unsigned channels;        /* PTMAP */
	int64_t ts_us;            /* RTP, SIP */
	struct es_addr src, dst;  /* ADDR (of stream), SIP */
	uint8_t proto;            /* SIP: NET_PROTO_* (an IP protocol number) */
	uint16_t seq;             /* RTP */
	uint32_t rtp_ts;          /* RTP */
	bool marker;              /* RTP */
	const uint8_t *payload;   /* RTP (the payload), META and SIP (the text),
				     valid until the next read */
	size_t len;
};

struct mlog_reader;
/* ES_EFORMAT (with a message naming the file) if it is not a media log. */
int mlog_open(struct mlog_reader **out, const char *path, char *err, size_t errlen);
/* The same for either format: an encrypted log's key is unwrapped with
 * keys (ES_EUNSUP when keys is NULL, the callback's code when it fails);
 * records are decrypted in memory only.  keys is used only during the call. */
int mlog_open_keyed(struct mlog_reader **out, const char *path, const struct mlog_keys *keys,
		    char *err, size_t errlen);
/* Whether the file at path is an encrypted media log (format 2), without
 * its keys. */
bool mlog_file_encrypted(const char *path);
/* Whether the log is encrypted (format 2). */
bool mlog_encrypted(const struct mlog_reader *r);
const char *mlog_call_id(const struct mlog_reader *r);
int64_t mlog_start_us(const struct mlog_reader *r);
/* Next record: 1 = got one, 0 = end of log (including a torn last record:
 * mlog_torn() then says so), negative ES_E* for a corrupt record (with a
 * message naming the file and offset in err). */
int mlog_next(struct mlog_reader *r, struct mlog_rec *rec, char *err, size_t errlen);
bool mlog_torn(const struct mlog_reader *r);
/* A log still being written (a call in progress): after mlog_next gave 0,
 * let the next mlog_next read what the writer appended since (a record or
 * chunk that was cut short is read again whole). */
void mlog_follow(struct mlog_reader *r);
int mlog_rewind(struct mlog_reader *r);
void mlog_reader_close(struct mlog_reader *r);

/* ---- rendering ------------------------------------------------------------------ */

struct render_opts {
	enum media_format format;
	bool mix;                       /* one mono channel instead of stereo */
	struct media_writer_opts writer;
	uint32_t rate;                  /* 0 = 8000, or 16000 when a wideband codec is used */
	int64_t max_duration_us;        /* longest file; audio beyond is dropped (counted
					   late); 0 = 24 h */
	/* The call's signalled span (capture times of its first and last
	 * message); 0, 0 = unknown.  Audio captured more than
	 * RENDER_SPAN_BEFORE_US before it or RENDER_SPAN_AFTER_US after it is
	 * dropped (packets_outside): a recording is never longer than its
	 * call, whatever one packet's capture time says. */
	int64_t span_start_us, span_end_us;
	/* Opens encrypted media logs (mlog_open_keyed); NULL = plain ones only. */
	const struct mlog_keys *mlog_keys;
	/* Called with each run of final samples of both parties (before
	 * mixing) at the file's rate: the talk metrics listen here
	 * (record/recording.c), so the audio is decoded once.  NULL = none. */
	void (*pcm_tap)(void *ud, const int16_t *caller, const int16_t *callee, size_t n,
			uint32_t rate);
	void *pcm_tap_ud;
};
#define RENDER_SPAN_BEFORE_US (INT64_C(2) * ES_US_PER_SEC)
#define RENDER_SPAN_AFTER_US (INT64_C(10) * ES_US_PER_SEC) /* the engine's linger after BYE */

struct render_result {
	uint32_t rate;
	unsigned channels;
	int64_t start_us;               /* capture time of the first sample */
	int64_t duration_us;            /* of the file */
	uint64_t bytes;                 /* file size */
	bool party_audio[2];            /* some decoded audio from caller / callee */
	uint64_t packets;               /* RTP records read */
	uint64_t packets_decoded;
	uint64_t packets_late;          /* arrived after their place was written */
	uint64_t packets_bad;           /* the decoder refused the payload */
	uint64_t packets_unknown_pt;    /* no codec for the payload type */
	uint64_t packets_event;         /* telephone-event, not audio */
	uint64_t samples_concealed;     /* per party, summed */
	uint64_t samples_missing;       /* longer holes inside a stream (more than
					   GAP_MAX packets lost), left silent; per
					   party, summed (audio checks' completeness) */
	int64_t drift_corrected_us;     /* total shift applied by drift correction */
	uint64_t ts_jumps;              /* RTP timestamp jumps within a stream (a new
					   segment placed by capture time) */
	uint64_t packets_outside;       /* captured outside the call's span: dropped */
	bool torn;                      /* the log ended in a torn record */
	char codecs[64];                /* audio codecs used: "PCMA,G722" */
	char unknown[64];               /* payload types without a codec: "96,97" */
};

/* Render the media log at mlog_path into out_path.  Returns 0, ES_ENOTFOUND
 * when the log holds no decodable audio (no file is left behind), or an
 * error with a message naming the file (and the record) in err.  The file
 * is fsynced before this returns 0. */
int media_render(const char *mlog_path, const char *out_path, const struct render_opts *o,
		 struct render_result *res, char *err, size_t errlen);
/* The same into memory: out (caller-owned, emptied first) receives the
 * whole file, so that the caller can hash and encrypt it in one pass
 * (record/recording.c) or serve it (a queued recording played from its
 * media log).  res->bytes is out->len. */
int media_render_mem(const char *mlog_path, struct es_buf *out, const struct render_opts *o,
		     struct render_result *res, char *err, size_t errlen);

/* The same into sink (media_writer_open_sink), in one pass with memory
 * bounded whatever the call's length: a long call straight into the
 * recorder's encryptor.  WAV states its length in its header, which goes
 * first, and that length is where the last packet lands on the timeline
 * (after drift correction, concealment, segment jumps), known only once
 * the log has been decoded: WAV is decoded twice (the first time counting
 * frames only, with no pcm_tap) and written once.  Ogg/Opus is decoded
 * once.  FLAC: ES_EUNSUP.  The bytes are those media_render_mem gives. */
int media_render_sink(const char *mlog_path, media_sink_fn sink, void *ud,
		      const struct render_opts *o, struct render_result *res, char *err,
		      size_t errlen);

/* ---- a call in progress, decoded as its media log grows (render.c) -----------
 * The renderer fed one record at a time (listen-in): the same decoders,
 * loss concealment and timeline as media_render, without its first pass
 * (sample 0 is the first decodable audio packet fed; the rate is fixed then:
 * `rate`, or 0 for 8000 / 16000 when that packet's codec is wideband).
 * Final audio of both parties goes to tap (o->pcm_tap) TL_LAG_MS after the
 * newest packet's capture time; nothing is written anywhere. */
struct media_live;
int media_live_new(struct media_live **out, uint32_t rate,
		   void (*tap)(void *ud, const int16_t *caller, const int16_t *callee, size_t n,
			       uint32_t rate),
		   void *ud);
/* One record of the log (STREAM, PTMAP and RTP are used, others ignored). */
int media_live_feed(struct media_live *l, const struct mlog_rec *rec);
/* The end of the call: hand out what is left. */
int media_live_end(struct media_live *l);
/* 0 until the first decodable audio packet was fed. */
uint32_t media_live_rate(const struct media_live *l);
/* Capture time of sample 0 (0 until then). */
int64_t media_live_start_us(const struct media_live *l);
void media_live_free(struct media_live *l); /* NULL is fine */

/* in_path (any format media_reader reads) as MP3 at out_path (libmp3lame,
 * constant kbps; 0 = 32 kbit/s per channel), channels and rate kept.  An
 * export format only (mp3.c). */
int media_mp3_encode(const char *in_path, const char *out_path, int kbps, char *err,
		     size_t errlen);
/* Convert a recording to another format or to mono (export). */
int media_convert(const char *in_path, const char *out_path, enum media_format fmt, bool mix,
		  const struct media_writer_opts *o, char *err, size_t errlen);

#endif /* ES_MEDIA_H */
