/*
 * fuzz_mlog.c - libFuzzer harness for the media log reader and the
 * renderer: the input is written to a temporary file, read record by
 * record, and when it opens as a media log, rendered to a WAV file (capped
 * at 10 s) that is then removed.
 *
 * Because every record carries a CRC-32, random bytes rarely get past the
 * reader.  An input that starts with 0xA5 is therefore read as a program
 * for the writer instead: streams, payload maps and RTP packets with
 * arbitrary fields and payloads, written as a valid log, so the renderer
 * (timeline, decoders, resamplers) meets arbitrary but well-formed logs.
 * 0xA6 does the same through the encrypted writer (format 2); programs
 * also write stream addresses and SIP messages, and every log that opens
 * is read by the raw data's readers (record/raw.c's SIP ladder,
 * record/pcap_rebuild.c's capture).
 *
 * Every input is opened with a fixed test key (wrapped text "fuzz", key
 * bytes 0x42), so encrypted logs written with it (corpus/mlog/ *-enc.mlog,
 * ES_MLOG_SEEDS=DIR build/test_mlog) decrypt, and mutations reach the
 * chunk framing, the authentication and the records inside.
 */
#include "media/media.h"
#include "record/record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fz_new_key(void *ud, const char *key_id, uint8_t key[MLOG_KEY_BYTES], char *wrapped,
		      size_t cap)
{
	(void)ud;
	(void)key_id;
	memset(key, 0x42, MLOG_KEY_BYTES);
	snprintf(wrapped, cap, "fuzz");
	return 0;
}

static int fz_unwrap(void *ud, const char *key_id, const char *wrapped,
		     uint8_t key[MLOG_KEY_BYTES], char *err, size_t errlen)
{
	(void)ud;
	(void)key_id;
	if (strcmp(wrapped, "fuzz") != 0)
		return es_errf(err, errlen, ES_ECRYPTO, "not the fuzz key%s", "");
	memset(key, 0x42, MLOG_KEY_BYTES);
	return 0;
}

static const struct mlog_keys fz_keys = {.new_key = fz_new_key, .unwrap = fz_unwrap};

static const char *const names[] = {
	"PCMU", "PCMA", "G722", "G726-32", "AAL2-G726-24", "G729", "GSM", "opus", "L16",
	"CN", "telephone-event", "speex", "",
};
static const uint32_t clocks[] = {8000, 16000, 48000, 44100, 0, 1, 90000, 12345};

struct cursor {
	const uint8_t *p;
	size_t n;
};

static unsigned take(struct cursor *c, unsigned bytes)
{
	unsigned v = 0;
	for (unsigned i = 0; i < bytes; i++) {
		v = v << 8 | (c->n ? *c->p : 0);
		if (c->n) {
			c->p++;
			c->n--;
		}
	}
	return v;
}

/* Write a valid media log from the ops in c. */
static void write_program(const char *path, struct cursor *c, const struct mlog_keys *keys)
{
	struct mlog_writer *w;
	if (mlog_create_keyed(&w, path, "fuzz@call", 1700000000000000LL, take(c, 1) * 64, keys))
		return;
	unsigned nstreams = 0;
	int64_t ts = 1700000000000000LL;
	while (c->n) {
		unsigned op = take(c, 1);
		switch (op % 5) {
		case 0:
			if (nstreams < 16)
				mlog_stream(w, nstreams++, (enum mlog_party)(op >> 7), take(c, 4));
			break;
		case 1: {
			unsigned b = take(c, 1);
			mlog_ptmap(w, (enum mlog_party)(op >> 7), (uint8_t)(take(c, 1) & 127),
				   names[b % (sizeof(names) / sizeof(names[0]))],
				   clocks[(b >> 4) % (sizeof(clocks) / sizeof(clocks[0]))], (op >> 3) & 3);
			break;
		}
		case 3: { /* a stream's addresses (the raw data) */
			struct es_addr a = {.family = (op & 8) ? ES_AF_INET6 : ES_AF_INET}, b;
			a.ip[0] = (uint8_t)take(c, 1);
			a.port = (uint16_t)take(c, 2);
			b = a;
			b.ip[3] = (uint8_t)take(c, 1);
			if (nstreams)
				mlog_addr(w, take(c, 1) % nstreams, &a, &b);
			break;
		}
		case 4: { /* a SIP message: arbitrary bytes, as captured */
			struct es_addr a = {.family = ES_AF_INET, .port = 5060}, b = a;
			b.ip[0] = (uint8_t)take(c, 1);
			uint8_t proto = (uint8_t)take(c, 1);
			/* the text's length is bounded after every take, so the
			 * text never runs past the input */
			size_t len = take(c, 2) % 2048;
			if (len > c->n)
				len = c->n;
			mlog_sip(w, ts, &a, &b, proto, c->p, len);
			c->p += len;
			c->n -= len;
			break;
		}
		default: {
			if (!nstreams)
				break;
			ts += (int16_t)take(c, 2) * 10;
			unsigned st = take(c, 1) % nstreams;
			uint16_t seq = (uint16_t)take(c, 2);
			uint32_t rts = take(c, 4);
			uint8_t pt = (uint8_t)take(c, 1);
			size_t len = take(c, 1) * 4;
			if (len > c->n)
				len = c->n;
			mlog_rtp(w, st, ts, seq, rts, pt & 127, pt >> 7, c->p, len);
			c->p += len;
			c->n -= len;
		}
		}
	}
	mlog_close(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[64], out[64], err[256];
	snprintf(in, sizeof(in), "/tmp/fuzz_mlog.%ld.mlog", (long)getpid());
	snprintf(out, sizeof(out), "/tmp/fuzz_mlog.%ld.wav", (long)getpid());
	unlink(in);
	if (size && (data[0] == 0xA5 || data[0] == 0xA6)) {
		struct cursor c = {data + 1, size - 1};
		write_program(in, &c, data[0] == 0xA6 ? &fz_keys : NULL);
	} else {
		FILE *f = fopen(in, "wb");
		if (!f)
			return 0;
		if (size && fwrite(data, 1, size, f) != size) {
			fclose(f);
			unlink(in);
			return 0;
		}
		fclose(f);
	}

	struct mlog_reader *r;
	if (mlog_open_keyed(&r, in, &fz_keys, err, sizeof(err)) == 0) {
		struct mlog_rec rec;
		int rc;
		unsigned long sum = 0;
		while ((rc = mlog_next(r, &rec, err, sizeof(err))) == 1)
			if (rec.type == MLOG_REC_RTP && rec.len)
				sum += rec.payload[0] + rec.payload[rec.len - 1]; /* in bounds */
		(void)sum;
		(void)mlog_torn(r);
		(void)mlog_call_id(r);
		/* the raw data's readers: the SIP ladder and the rebuilt capture */
		char *buf = NULL;
		size_t blen = 0;
		FILE *mf = open_memstream(&buf, &blen);
		if (mf && mlog_rewind(r) == 0) {
			struct es_json j;
			es_json_init(&j, mf, false);
			(void)rec_raw_sip_json(r, &j, err, sizeof(err));
			if (mlog_rewind(r) == 0)
				(void)rec_raw_pcap(r, mf, NULL, err, sizeof(err));
		}
		if (mf)
			fclose(mf);
		free(buf);
		mlog_reader_close(r);

		struct render_opts o = {.format = MEDIA_WAV, .max_duration_us = 10000000,
					.mlog_keys = &fz_keys};
		struct render_result res;
		o.mix = size & 1;
		unlink(out);
		if (media_render(in, out, &o, &res, err, sizeof(err)) == 0 && res.rate == 0)
			abort(); /* a rendered file has a rate */
		unlink(out);
	}
	unlink(in);
	return 0;
}
