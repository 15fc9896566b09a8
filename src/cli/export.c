/* export.c - `earshot export ID -o FILE` and `earshot play ID`. */
#include "analytics/anonymise.h"
#include "cli/cli.h"
#include "media/media.h"
#include "record/record.h"
#include "store/crypt.h"
#include "store/vault.h"
#include "store/zip.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* evidence.c: `export ID --evidence [--head FILE] -o DIR|FILE.zip`; head_file
 * (may be NULL): trusted heads the ledger must extend, each proven in the
 * bundle. */
int cli_export_evidence(struct cli_ctx *ctx, const char *arg, const char *out,
			const char *head_file);
/* export_raw.c: `export ID --format pcap -o FILE`. */
int cli_export_pcap(struct cli_ctx *ctx, const char *arg, const char *out);

static void export_usage(FILE *f)
{
	fprintf(f,
		"Usage: earshot export [options] ID -o FILE\n"
		"       earshot export --evidence [--head FILE] ID -o DIR|FILE.zip\n"
		"\n"
		"Write the recording of call ID (a number from `earshot calls`, or a\n"
		"Call-ID) to FILE.  The stored file is checked against its SHA-256 in\n"
		"the index first and decrypted when it is encrypted at rest.  In the\n"
		"recording's own format and without --mix the audio is written as\n"
		"recorded; otherwise it is decoded and written anew.\n"
		"\n"
		"With --evidence, writes an evidence bundle instead (a new or empty folder,\n"
		"or a .zip): the audio, its canonical metadata, its integrity-ledger leaf,\n"
		"the inclusion proof, the signed tree head and the ledger's public key,\n"
		"with a README.txt; earshot-verify-evidence checks it without the data\n"
		"folder.\n"
		"\n"
		"Options:\n"
		"  -o, --output FILE   where to write (required; '-' is not allowed)\n"
		"  --format FMT        wav, flac or opus (default: from FILE's extension,\n"
		"                      else the recording's format); pcap: the call's SIP\n"
		"                      messages and RTP rebuilt from its stored raw data\n"
		"                      as a pcapng capture (see docs/CLI.md); mp3: LAME,\n"
		"                      32 kbit/s a channel (also from FILE's .mp3)\n"
		"  --mix               one mono channel (caller + callee)\n"
		"  --anonymise WHO     caller, callee or both: that voice made\n"
		"                      unrecognisable, its words kept (McAdams LPC\n"
		"                      method, docs/ANONYMISATION.md); for copies used\n"
		"                      outside the compliance team\n"
		"  --alpha A|LO:HI     with --anonymise: the McAdams coefficient (default\n"
		"                      0.8), or a random one in [LO, HI] for this export\n"
		"  --no-transcripts    leave the call's transcripts out (see below)\n"
		"  --evidence          write an evidence bundle (see above)\n"
		"  --head FILE         with --evidence: signed heads kept outside the data\n"
		"                      folder (an anchor); the ledger must extend each one,\n"
		"                      and the bundle carries a consistency proof from it\n"
		"  --data DIR          data folder (default $EARSHOT_DATA or ./earshot-data)\n"
		"  -h, --help          this help\n"
		"\n"
		"A FILE ending in .zip gets the audio as call-ID.FMT, the call's\n"
		"transcripts and a manifest.json naming them (as POST /api/export.zip);\n"
		"otherwise the transcripts are written beside FILE as\n"
		"call-ID.transcript.caller.json and .callee.json.  They are the stored\n"
		"words with their times, spoken numbers masked.\n"
		"\n"
		"Exit codes: 0 ok, 1 error (also: the stored file does not match its\n"
		"hash, or the ledger does not vouch for it), 2 usage, 4 no such call or\n"
		"it has no recording.\n");
}

static void play_usage(FILE *f)
{
	fprintf(f,
		"Usage: earshot play [options] ID\n"
		"\n"
		"Play the recording of call ID on this machine's sound device with the\n"
		"first player found (paplay, aplay, ffplay, play).  Where there is no\n"
		"sound device, says so: use `earshot export` instead.\n"
		"\n"
		"Options:\n"
		"  --mix               play both parties on one channel\n"
		"  --data DIR          data folder\n"
		"  -h, --help          this help\n"
		"\n"
		"Exit codes: 0 ok, 1 error, 2 usage, 4 no such call or no recording,\n"
		"5 no sound device or no player.\n");
}

struct rec_copy {
	bool found;
	char path[1024];     /* the stored file */
	char rel[512];       /* its id: the path relative to the data folder */
	char sha[65];
	char plain[65];
	bool encrypted;
	int64_t row;
	char format[8];
	char data_dir[512];
	char node[IDX_NODE_MAX]; /* the recorder's on a shared index, "" none */
	bool elsewhere;          /* another node's (issue #16): keys and words there */
	struct cli_ctx *ctx;
};

static int take_recording(void *ud, const struct idx_call *c)
{
	struct rec_copy *rc = ud;
	const struct idx_recording *r = c->recording;
	if (!r)
		return 0;
	rc->found = true;
	rc->row = c->id;
	rc->encrypted = r->encrypted;
	rec_recording_path(rc->data_dir, r, rc->path, sizeof(rc->path));
	snprintf(rc->rel, sizeof(rc->rel), "%s", r->path ? r->path : "");
	snprintf(rc->sha, sizeof(rc->sha), "%s", r->sha256 ? r->sha256 : "");
	snprintf(rc->plain, sizeof(rc->plain), "%s", r->plain_sha256 ? r->plain_sha256 : "");
	snprintf(rc->format, sizeof(rc->format), "%s", r->format ? r->format : "");
	snprintf(rc->node, sizeof(rc->node), "%s", c->node ? c->node : "");
	return 0;
}

/* Another node's recording (issue #16): its bytes from that node's bucket
 * by the one way the web nodes use (rec_recording_reach); CLI_OK or the
 * exit code, said on stderr. */
static int reach_recording(struct idx *ix, const char *cmd, struct rec_copy *rc)
{
	char err[1024] = "";
	rc->elsewhere = rec_recording_elsewhere(rc->data_dir, ix, rc->node, rc->rel);
	int e = rec_recording_reach(rc->data_dir, ix, rc->node, rc->rel, rc->sha, err, sizeof(err));
	if (e == ES_ECRYPTO) {
		fprintf(stderr, "earshot %s: %s: the recording was altered (it does not match its "
			"SHA-256 in the index)\n", cmd, err);
		return CLI_ERR;
	}
	if (e) {
		fprintf(stderr, "earshot %s: %s\n", cmd, err);
		return CLI_ERR;
	}
	const struct idx_recording r = {.path = rc->rel, .sha256 = rc->sha};
	rec_recording_path(rc->data_dir, &r, rc->path, sizeof(rc->path));
	return CLI_OK;
}

/* The keys of rc's recording into *v (NULL: a plain one): DATA/keys, or
 * $EARSHOT_KEK with the wrapped keys of a shared index (*ix, closed by the
 * caller) on a folder that is not the recorder's.  CLI_OK or CLI_ERR. */
static int open_keys(const char *cmd, const struct rec_copy *rc, struct st_vault **v,
		     struct idx **ix)
{
	char err[1024] = "";
	*v = NULL;
	*ix = NULL;
	if (!rc->encrypted)
		return CLI_OK;
	if (st_vault_open(v, rc->data_dir, false, err, sizeof(err))) {
		fprintf(stderr, "earshot %s: encryption keys of %s: %s\n", cmd, rc->data_dir, err);
		return CLI_ERR;
	}
	if (rc->elsewhere && !cli_open_index(rc->ctx, false, ix))
		rec_keys_remote(*v, *ix);
	return CLI_OK;
}

/* Look the recording up; CLI_OK or the exit code, with the message printed. */
static int find_recording(struct cli_ctx *ctx, const char *cmd, const char *arg,
			  struct rec_copy *out)
{
	struct idx *ix;
	if (cli_open_index(ctx, false, &ix))
		return CLI_ERR;
	memset(out, 0, sizeof(*out));
	snprintf(out->data_dir, sizeof(out->data_dir), "%s", ctx->data_dir);
	out->ctx = ctx;
	int err = idx_call_get(ix, cli_call_ref(ix, arg), take_recording, out);
	int rc = CLI_OK;
	if (err == ES_ENOTFOUND) {
		fprintf(stderr, "earshot %s: no call %s in %s\n", cmd, arg, ctx->data_dir);
		rc = CLI_NOTFOUND;
	} else if (err) {
		fprintf(stderr, "earshot %s: %s\n", cmd, idx_errmsg(ix));
		rc = CLI_ERR;
	} else if (!out->found) {
		fprintf(stderr, "earshot %s: call %s has no recording (no audio was captured)\n",
			cmd, arg);
		rc = CLI_NOTFOUND;
	} else {
		rc = reach_recording(ix, cmd, out);
	}
	idx_close(ix);
	return rc;
}

/* The recording's plaintext into dst (created via a temporary file): the
 * stored file is checked against its SHA-256 in the index first, then
 * decrypted (encrypted at rest) or copied. */
static int plain_copy(const char *cmd, const struct rec_copy *rc, const char *dst)
{
	struct st_vault *v = NULL;
	struct idx *ix = NULL;
	char err[1024];
	if (open_keys(cmd, rc, &v, &ix))
		return CLI_ERR;
	struct idx_recording r = {
		.call_row = rc->row,
		.path = rc->rel,
		.format = rc->format,
		.sha256 = rc->sha,
		.plain_sha256 = rc->plain[0] ? rc->plain : NULL,
		.encrypted = rc->encrypted,
	};
	int e = rec_recording_plain(rc->data_dir, v, &r, dst, err, sizeof(err));
	st_vault_close(v);
	idx_close(ix);
	if (!e)
		return CLI_OK;
	if (e == ES_ECRYPTO)
		fprintf(stderr, "earshot %s: %s: the recording was altered (it does not match its "
			"SHA-256 in the index, or does not decrypt)\n", cmd, err);
	else if (e == ES_ENOTFOUND && rc->encrypted)
		fprintf(stderr, "earshot %s: %s (its key was shredded: it cannot be decrypted)\n",
			cmd, err);
	else
		fprintf(stderr, "earshot %s: %s\n", cmd, err);
	return CLI_ERR;
}

/* A temporary file name beside dst (same folder, so that the plaintext
 * stays where the user asked it to go): "<dst>.<pid>.<ext>". */
static void tmp_beside(const char *dst, const char *ext, char *out, size_t cap)
{
	snprintf(out, cap, "%s.%ld.tmp.%s", dst, (long)getpid(), ext);
}

static bool ext_format(const char *path, enum media_format *f)
{
	const char *dot = strrchr(path, '.');
	if (!dot || strchr(dot, '/'))
		return false;
	return media_format_parse(dot + 1, f) == 0;
}

/* --format mp3: the recording's plaintext beside the target, then LAME
 * (media/mp3.c); the plaintext copy is removed whatever happens. */
static int export_mp3(struct cli_ctx *ctx, const char *arg, const char *out)
{
	struct rec_copy rc;
	int st = find_recording(ctx, "export", arg, &rc);
	if (st)
		return st;
	char tmp[1200], err[1024];
	tmp_beside(out, rc.format, tmp, sizeof(tmp));
	if ((st = plain_copy("export", &rc, tmp)))
		return st;
	if (media_mp3_encode(tmp, out, 0, err, sizeof(err))) {
		fprintf(stderr, "earshot export: %s\n", err);
		unlink(out);
		st = CLI_ERR;
	}
	unlink(tmp);
	return st;
}

/* The audio of call arg into out (its format from fmt_arg, else out's
 * extension, else the stored one): a byte copy, or decoded and written
 * anew (--mix, --anonymise, another format, mp3). */
static int export_audio(struct cli_ctx *ctx, const char *arg, const char *out, const char *fmt_arg,
			bool mix, unsigned anon_mask, double alpha_lo, double alpha_hi)
{
	const char *dot = strrchr(out, '.');
	if ((fmt_arg && !strcmp(fmt_arg, "mp3")) || (!fmt_arg && dot && !strcasecmp(dot, ".mp3"))) {
		if (mix || anon_mask) {
			fprintf(stderr, "earshot export: --format mp3 keeps both channels: no --mix, "
				"no --anonymise\n");
			return CLI_USAGE;
		}
		return export_mp3(ctx, arg, out);
	}
	enum media_format fmt;
	bool have_fmt = false;
	if (fmt_arg) {
		if (media_format_parse(fmt_arg, &fmt)) {
			fprintf(stderr, "earshot export: unknown format '%s' (wav, flac, opus, mp3, pcap)\n", fmt_arg);
			return CLI_USAGE;
		}
		have_fmt = true;
	} else {
		have_fmt = ext_format(out, &fmt);
	}
	struct rec_copy rc;
	int st = find_recording(ctx, "export", arg, &rc);
	if (st)
		return st;
	enum media_format stored;
	if (media_format_parse(rc.format, &stored)) {
		fprintf(stderr, "earshot export: recording %s has an unknown format '%s'\n", rc.path,
			rc.format);
		return CLI_ERR;
	}
	if (!have_fmt)
		fmt = stored;
	if (fmt == stored && !mix && !anon_mask)
		return plain_copy("export", &rc, out);
	char tmp[1200], err[1024];
	tmp_beside(out, rc.format, tmp, sizeof(tmp));
	if ((st = plain_copy("export", &rc, tmp)))
		return st;
	struct media_writer_opts wo = {.opus_complexity = -1};
	st = CLI_OK;
	if (anon_mask) {
		double alpha = cli_anon_pick_alpha(alpha_lo, alpha_hi);
		int e = cli_anon_file(tmp, out, fmt, mix, anon_mask, alpha, err, sizeof(err));
		if (e) {
			fprintf(stderr, "earshot export: %s\n", err);
			st = e == ES_EINVAL ? CLI_USAGE : CLI_ERR;
		}
	} else if (media_convert(tmp, out, fmt, mix, &wo, err, sizeof(err))) {
		fprintf(stderr, "earshot export: %s\n", err);
		st = CLI_ERR;
	}
	unlink(tmp);
	return st;
}

/* ---- transcripts ------------------------------------------------------------------ */

/* One stored transcript, under the name the ZIP export gives it. */
typedef int (*tr_put_fn)(void *ud, const char *name, const struct es_buf *json);

/* Each stored transcript of the recording (the words with their times,
 * spoken numbers masked before they were stored: record/transcript.c)
 * into put as "call-ID.transcript.CHANNEL.json"; none is fine.  A
 * transcript that cannot be read is named on stderr: CLI_ERR. */
static int each_transcript(const struct rec_copy *rc, tr_put_fn put, void *ud)
{
	static const char *const chan[] = {"caller", "callee"};
	struct st_vault *v = NULL;
	struct idx *ix = NULL;
	char err[1024] = "";
	if (open_keys("export", rc, &v, &ix))
		return CLI_ERR;
	struct idx_recording rec = {.path = rc->rel, .encrypted = rc->encrypted};
	int st = CLI_OK;
	for (int ch = 0; ch < 2 && st == CLI_OK; ch++) {
		struct es_buf b;
		es_buf_init(&b);
		char name[80];
		snprintf(name, sizeof(name), "call-%lld.transcript.%s.json", (long long)rc->row,
			 chan[ch]);
		/* another node's words: from its bucket, beside the recording */
		int e = rec_transcript_load_node(rc->data_dir, ix, ix ? rc->node : NULL, v, &rec, ch,
						 &b, err, sizeof(err));
		if (!e && put(ud, name, &b))
			st = CLI_ERR;
		else if (e && e != ES_ENOTFOUND) {
			fprintf(stderr, "earshot export: call %lld: the %s transcript: %s\n",
				(long long)rc->row, chan[ch], err);
			st = CLI_ERR;
		}
		if (b.p)
			sodium_memzero(b.p, b.len);
		es_buf_free(&b);
	}
	st_vault_close(v);
	idx_close(ix);
	return st;
}

/* Beside an audio file: DIR-of-FILE/call-ID.transcript.CHANNEL.json. */
struct beside {
	char dir[1024];
};

static int put_beside(void *ud, const char *name, const struct es_buf *json)
{
	struct beside *b = ud;
	char path[1200];
	snprintf(path, sizeof(path), "%s/%s", b->dir, name);
	/* personal data: readable by the user who exported it only */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || es_write_all(fd, json->p, json->len) || fsync(fd)) {
		fprintf(stderr, "earshot export: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(path);
		return ES_EIO;
	}
	close(fd);
	printf("transcript: %s\n", path);
	return 0;
}

static int transcripts_beside(const struct rec_copy *rc, const char *out)
{
	struct beside b;
	const char *slash = strrchr(out, '/');
	if (!slash)
		snprintf(b.dir, sizeof(b.dir), ".");
	else
		snprintf(b.dir, sizeof(b.dir), "%.*s", slash == out ? 1 : (int)(slash - out), out);
	return each_transcript(rc, put_beside, &b);
}

/* Into a ZIP, named in the manifest's "transcripts". */
struct into_zip {
	struct st_zip_writer *w;
	struct es_json *man;
};

static int put_zip(void *ud, const char *name, const struct es_buf *json)
{
	struct into_zip *z = ud;
	if (st_zip_writer_add(z->w, name, json->p, json->len)) {
		fprintf(stderr, "earshot export: %s\n", st_zip_writer_error(z->w));
		return ES_EIO;
	}
	es_json_str(z->man, name);
	return 0;
}

/* -o FILE.zip: the audio as call-ID.EXT, the transcripts and a
 * manifest.json of the layout POST /api/export.zip writes. */
static int export_zip(struct cli_ctx *ctx, const char *arg, const char *out, const char *fmt_arg,
		      bool mix, unsigned anon_mask, double alpha_lo, double alpha_hi, bool with_tr)
{
	struct rec_copy rc;
	int st = find_recording(ctx, "export", arg, &rc);
	if (st)
		return st;
	const char *ext = fmt_arg ? fmt_arg : rc.format;
	char audio[1200], name[64], hex[65], err[512] = "";
	uint8_t md[32];
	tmp_beside(out, ext, audio, sizeof(audio));
	if ((st = export_audio(ctx, arg, audio, fmt_arg, mix, anon_mask, alpha_lo, alpha_hi)))
		return st;
	struct stat sb;
	struct st_zip_writer *w = NULL;
	char *mtext = NULL;
	size_t mlen = 0;
	FILE *mf = NULL;
	snprintf(name, sizeof(name), "call-%lld.%s", (long long)rc.row, ext);
	if (stat(audio, &sb) || st_sha256_file(audio, md, hex)) {
		fprintf(stderr, "earshot export: %s: %s\n", audio, strerror(errno));
		st = CLI_ERR;
		goto out;
	}
	if (st_zip_writer_open(&w, out, err, sizeof(err)) ||
	    st_zip_writer_add_file(w, name, audio)) {
		fprintf(stderr, "earshot export: %s\n", w ? st_zip_writer_error(w) : err);
		st = CLI_ERR;
		goto out;
	}
	if (!(mf = open_memstream(&mtext, &mlen))) {
		st = CLI_ERR;
		goto out;
	}
	struct es_json man;
	es_json_init(&man, mf, true);
	es_json_obj_begin(&man);
	es_json_key(&man, "format");
	es_json_str(&man, ext);
	es_json_key(&man, "calls");
	es_json_arr_begin(&man);
	es_json_obj_begin(&man);
	es_json_key(&man, "id");
	es_json_int(&man, rc.row);
	es_json_key(&man, "file");
	es_json_str(&man, name);
	es_json_key(&man, "bytes");
	es_json_int(&man, (int64_t)sb.st_size);
	es_json_key(&man, "sha256");
	es_json_str(&man, hex);
	es_json_key(&man, "recording_sha256");
	es_json_str(&man, rc.sha);
	es_json_key(&man, "transcripts");
	es_json_arr_begin(&man);
	struct into_zip z = {.w = w, .man = &man};
	if (with_tr)
		st = each_transcript(&rc, put_zip, &z);
	es_json_arr_end(&man);
	es_json_obj_end(&man);
	es_json_arr_end(&man);
	es_json_obj_end(&man);
	fclose(mf);
	if (st == CLI_OK && (!mtext || st_zip_writer_add(w, "manifest.json", mtext, mlen) ||
			     st_zip_writer_finish(w))) {
		fprintf(stderr, "earshot export: %s\n", mtext ? st_zip_writer_error(w) : "out of memory");
		st = CLI_ERR;
	}
out:
	st_zip_writer_free(w); /* a ZIP not finished is removed */
	free(mtext);
	unlink(audio);
	return st;
}

int cli_export(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"format", required_argument, NULL, 'f'},
		{"mix", no_argument, NULL, 'm'},
		{"anonymise", required_argument, NULL, 'A'},
		{"alpha", required_argument, NULL, 'a'},
		{"evidence", no_argument, NULL, 'e'},
		{"no-transcripts", no_argument, NULL, 'T'},
		{"head", required_argument, NULL, 'H'},
		{"data", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	const char *out = NULL, *fmt_arg = NULL, *head = NULL, *anon = NULL, *alpha_arg = NULL;
	bool mix = false, evidence = false, with_tr = true;
	unsigned anon_mask = 0;
	double alpha_lo = AN_ALPHA_DEFAULT, alpha_hi = AN_ALPHA_DEFAULT;
	int c;
	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'f': fmt_arg = optarg; break;
		case 'm': mix = true; break;
		case 'e': evidence = true; break;
		case 'T': with_tr = false; break;
		case 'A': anon = optarg; break;
		case 'a': alpha_arg = optarg; break;
		case 'H': head = optarg; break;
		case 'd': ctx->data_dir = optarg; break;
		case 'h': export_usage(stdout); return CLI_OK;
		default: export_usage(stderr); return CLI_USAGE;
		}
	}
	if (optind + 1 != argc || !out || !strcmp(out, "-") || !*out) {
		fprintf(stderr, "earshot export: give one call ID and -o FILE\n");
		export_usage(stderr);
		return CLI_USAGE;
	}
	if (evidence && (fmt_arg || mix)) {
		fprintf(stderr, "earshot export: --evidence holds the recording as the ledger signed "
			"it: no --format, no --mix\n");
		return CLI_USAGE;
	}
	if (anon && cli_anon_parse_which(anon, &anon_mask)) {
		fprintf(stderr, "earshot export: --anonymise '%s': give caller, callee or both\n",
			anon);
		return CLI_USAGE;
	}
	if (alpha_arg && (!anon || cli_anon_parse_alpha(alpha_arg, &alpha_lo, &alpha_hi))) {
		fprintf(stderr, "earshot export: --alpha '%s': a number or LO:HI within %.1f..%.1f, "
			"with --anonymise\n", alpha_arg, AN_ALPHA_MIN, AN_ALPHA_MAX);
		return CLI_USAGE;
	}
	if (anon && evidence) {
		fprintf(stderr, "earshot export: --evidence holds the recording as the ledger signed "
			"it: no --anonymise\n");
		return CLI_USAGE;
	}
	if (head && !evidence) {
		fprintf(stderr, "earshot export: --head is for --evidence\n");
		return CLI_USAGE;
	}
	if (evidence)
		return cli_export_evidence(ctx, argv[optind], out, head);
	if (fmt_arg && (!strcmp(fmt_arg, "pcap") || !strcmp(fmt_arg, "pcapng"))) {
		if (mix || anon) {
			fprintf(stderr, "earshot export: --format pcap rebuilds the packets as "
				"captured: no --mix, no --anonymise\n");
			return CLI_USAGE;
		}
		return cli_export_pcap(ctx, argv[optind], out);
	}
	const char *dot = strrchr(out, '.');
	if (dot && !strcasecmp(dot, ".zip"))
		return export_zip(ctx, argv[optind], out, fmt_arg, mix, anon_mask, alpha_lo, alpha_hi,
				  with_tr);
	int st = export_audio(ctx, argv[optind], out, fmt_arg, mix, anon_mask, alpha_lo, alpha_hi);
	if (st || !with_tr)
		return st;
	struct rec_copy rc;
	if ((st = find_recording(ctx, "export", argv[optind], &rc)))
		return st;
	return transcripts_beside(&rc, out);
}

/* ---- play ------------------------------------------------------------------------ */

static bool have_sound_device(void)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char p[512];
	struct stat st;
	if (getenv("PULSE_SERVER"))
		return true;
	if (xdg) {
		snprintf(p, sizeof(p), "%s/pulse/native", xdg);
		if (stat(p, &st) == 0)
			return true;
		snprintf(p, sizeof(p), "%s/pipewire-0", xdg);
		if (stat(p, &st) == 0)
			return true;
	}
	/* ALSA: a playback PCM device */
	for (int card = 0; card < 8; card++) {
		snprintf(p, sizeof(p), "/dev/snd/pcmC%dD0p", card);
		if (stat(p, &st) == 0)
			return true;
	}
	return false;
}

static const char *find_program(const char *name, char *buf, size_t cap)
{
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		const char *colon = strchr(path, ':');
		size_t n = colon ? (size_t)(colon - path) : strlen(path);
		snprintf(buf, cap, "%.*s/%s", (int)n, path, name);
		if (access(buf, X_OK) == 0)
			return buf;
		path += n + (colon ? 1 : 0);
	}
	return NULL;
}

int cli_play(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"mix", no_argument, NULL, 'm'},
		{"data", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	bool mix = false;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm': mix = true; break;
		case 'd': ctx->data_dir = optarg; break;
		case 'h': play_usage(stdout); return CLI_OK;
		default: play_usage(stderr); return CLI_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "earshot play: give exactly one call ID\n");
		play_usage(stderr);
		return CLI_USAGE;
	}
	struct rec_copy rc;
	int st = find_recording(ctx, "play", argv[optind], &rc);
	if (st)
		return st;
	if (!have_sound_device()) {
		fprintf(stderr, "earshot play: no sound device on this machine (no ALSA playback "
			"device, no PulseAudio or PipeWire server); write the recording out with "
			"`earshot export %s -o FILE.wav` instead\n", argv[optind]);
		return CLI_UNAVAILABLE;
	}
	static const char *const players[][5] = {
		{"paplay", NULL},
		{"aplay", "-q", NULL},
		{"ffplay", "-nodisp", "-autoexit", "-loglevel", "error"},
		{"play", "-q", NULL},
	};
	char prog[1024];
	const char *const *player = NULL;
	for (size_t i = 0; i < ES_ARRAY_LEN(players) && !player; i++)
		if (find_program(players[i][0], prog, sizeof(prog)))
			player = players[i];
	if (!player) {
		fprintf(stderr, "earshot play: no player found (install pulseaudio-utils, "
			"alsa-utils, ffmpeg or sox), or use `earshot export`\n");
		return CLI_UNAVAILABLE;
	}
	char tmp[] = "/tmp/earshot-play-XXXXXX.wav";
	int fd = mkstemps(tmp, 4);
	if (fd < 0) {
		fprintf(stderr, "earshot play: cannot make a temporary file: %s\n", strerror(errno));
		return CLI_ERR;
	}
	close(fd);
	char src[1200], err[1024];
	tmp_beside(tmp, rc.format, src, sizeof(src));
	if ((st = plain_copy("play", &rc, src))) {
		unlink(tmp);
		return st;
	}
	struct media_writer_opts wo = {.opus_complexity = -1};
	int cv = media_convert(src, tmp, MEDIA_WAV, mix, &wo, err, sizeof(err));
	unlink(src);
	if (cv) {
		fprintf(stderr, "earshot play: %s\n", err);
		unlink(tmp);
		return CLI_ERR;
	}
	const char *args[8];
	unsigned n = 0;
	args[n++] = prog;
	for (unsigned i = 1; i < 5 && player[i]; i++)
		args[n++] = player[i];
	args[n++] = tmp;
	args[n] = NULL;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		execv(prog, (char *const *)args);
		_exit(127);
	}
	int status = 0;
	if (pid > 0)
		waitpid(pid, &status, 0);
	unlink(tmp);
	if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "earshot play: %s failed\n", prog);
		return CLI_ERR;
	}
	return CLI_OK;
}
