/* export.c - `earshot export ID -o FILE` and `earshot play ID`. */
#include "cli/cli.h"
#include "media/media.h"
#include "record/record.h"

#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void export_usage(FILE *f)
{
	fprintf(f,
		"Usage: earshot export [options] ID -o FILE\n"
		"\n"
		"Write the recording of call ID (a number from `earshot calls`, or a\n"
		"Call-ID) to FILE.  The stored file is checked against its SHA-256 in\n"
		"the index first.  In the recording's own format and without --mix it is\n"
		"copied as it is; otherwise it is decoded and written anew.\n"
		"\n"
		"Options:\n"
		"  -o, --output FILE   where to write (required; '-' is not allowed)\n"
		"  --format FMT        wav, flac or opus (default: from FILE's extension,\n"
		"                      else the recording's format)\n"
		"  --mix               one mono channel (caller + callee)\n"
		"  --data DIR          data folder (default $EARSHOT_DATA or ./earshot-data)\n"
		"  -h, --help          this help\n"
		"\n"
		"Exit codes: 0 ok, 1 error (also: the stored file does not match its\n"
		"hash), 2 usage, 4 no such call or it has no recording.\n");
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
	char path[1024];
	char sha[65];
	char format[8];
	char data_dir[512];
};

static int take_recording(void *ud, const struct idx_call *c)
{
	struct rec_copy *rc = ud;
	if (!c->recording)
		return 0;
	rc->found = true;
	rec_recording_path(rc->data_dir, c->recording, rc->path, sizeof(rc->path));
	snprintf(rc->sha, sizeof(rc->sha), "%s", c->recording->sha256 ? c->recording->sha256 : "");
	snprintf(rc->format, sizeof(rc->format), "%s", c->recording->format ? c->recording->format : "");
	return 0;
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
	}
	idx_close(ix);
	return rc;
}

/* Copy src to dst (when dst is not NULL) while hashing it; compare with
 * the hash in the index. */
static int copy_checked(const char *cmd, const char *src, const char *dst, const char *want)
{
	FILE *in = fopen(src, "rb");
	if (!in) {
		fprintf(stderr, "earshot %s: %s: %s\n", cmd, src, strerror(errno));
		return CLI_ERR;
	}
	FILE *out = dst ? fopen(dst, "wb") : NULL;
	if (dst && !out) {
		fprintf(stderr, "earshot %s: %s: %s\n", cmd, dst, strerror(errno));
		fclose(in);
		return CLI_ERR;
	}
	if (sodium_init() < 0) {
		fclose(in);
		if (out)
			fclose(out);
		return CLI_ERR;
	}
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	uint8_t buf[65536];
	size_t n;
	bool werr = false;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
		crypto_hash_sha256_update(&st, buf, n);
		if (out && fwrite(buf, 1, n, out) != n)
			werr = true;
	}
	bool rerr = ferror(in);
	fclose(in);
	if (out && fclose(out))
		werr = true;
	uint8_t md[crypto_hash_sha256_BYTES];
	char hex[65];
	crypto_hash_sha256_final(&st, md);
	sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
	if (rerr || werr) {
		fprintf(stderr, "earshot %s: %s: %s failed\n", cmd, rerr ? src : dst,
			rerr ? "read" : "write");
		if (dst)
			unlink(dst);
		return CLI_ERR;
	}
	if (strcmp(hex, want) != 0) {
		fprintf(stderr, "earshot %s: %s does not match its SHA-256 in the index "
			"(stored %s, file %s): the recording was altered\n", cmd, src, want, hex);
		if (dst)
			unlink(dst);
		return CLI_ERR;
	}
	return CLI_OK;
}

static bool ext_format(const char *path, enum media_format *f)
{
	const char *dot = strrchr(path, '.');
	if (!dot || strchr(dot, '/'))
		return false;
	return media_format_parse(dot + 1, f) == 0;
}

int cli_export(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"format", required_argument, NULL, 'f'},
		{"mix", no_argument, NULL, 'm'},
		{"data", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	const char *out = NULL, *fmt_arg = NULL;
	bool mix = false;
	int c;
	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'f': fmt_arg = optarg; break;
		case 'm': mix = true; break;
		case 'd': ctx->data_dir = optarg; break;
		case 'h': export_usage(stdout); return CLI_OK;
		default: export_usage(stderr); return CLI_USAGE;
		}
	}
	if (optind + 1 != argc || !out || !strcmp(out, "-")) {
		fprintf(stderr, "earshot export: give one call ID and -o FILE\n");
		export_usage(stderr);
		return CLI_USAGE;
	}
	enum media_format fmt;
	bool have_fmt = false;
	if (fmt_arg) {
		if (media_format_parse(fmt_arg, &fmt)) {
			fprintf(stderr, "earshot export: unknown format '%s' (wav, flac, opus)\n", fmt_arg);
			return CLI_USAGE;
		}
		have_fmt = true;
	} else {
		have_fmt = ext_format(out, &fmt);
	}
	struct rec_copy rc;
	int st = find_recording(ctx, "export", argv[optind], &rc);
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
	if (fmt == stored && !mix)
		return copy_checked("export", rc.path, out, rc.sha);
	if ((st = copy_checked("export", rc.path, NULL, rc.sha)))
		return st;
	char err[1024];
	struct media_writer_opts wo = {.opus_complexity = -1};
	if (media_convert(rc.path, out, fmt, mix, &wo, err, sizeof(err))) {
		fprintf(stderr, "earshot export: %s\n", err);
		return CLI_ERR;
	}
	return CLI_OK;
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
	if ((st = copy_checked("play", rc.path, NULL, rc.sha)))
		return st;
	char tmp[] = "/tmp/earshot-play-XXXXXX.wav";
	int fd = mkstemps(tmp, 4);
	if (fd < 0) {
		fprintf(stderr, "earshot play: cannot make a temporary file: %s\n", strerror(errno));
		return CLI_ERR;
	}
	close(fd);
	char err[1024];
	struct media_writer_opts wo = {.opus_complexity = -1};
	if (media_convert(rc.path, tmp, MEDIA_WAV, mix, &wo, err, sizeof(err))) {
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
