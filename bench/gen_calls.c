/*
 * gen_calls.c - a seeded generator of SIP + RTP captures with a truth file.
 *
 * One translation unit: the parts live in bench/gen/ (see gen.h for the
 * design) and are #included here.  The same options and seed always give the
 * same bytes.
 */
#include "gen/gen.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "gen/util.c"
#include "gen/pkt.c"
#include "gen/media.c"
#include "gen/audio.c"
#include "gen/sip_msgs.c"
#include "gen/tunnel.c"
#include "gen/out.c"
#include "gen/call.c"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gen_calls -o OUT.pcap [options]\n"
		"Writes a seeded capture of SIP calls with RTP media, and optionally a\n"
		"JSON truth file describing every call and every RTP stream as written.\n"
		"\n"
		"  -o, --output FILE       the pcap to write (required)\n"
		"  -t, --truth FILE        the truth JSON to write\n"
		"  -n, --calls N           number of calls (default 10, at most %d)\n"
		"  -d, --duration S        capture length in seconds (default 30)\n"
		"  -c, --concurrency N     calls in progress at once (default: all);\n"
		"                          the calls run in N lines one after another\n"
		"  -s, --seed N            random seed (default 1)\n"
		"      --party-base N      call i's parties are +4930555 and +4940666 with\n"
		"                          N + i in 5 digits (default 0): separate runs get\n"
		"                          distinct numbers\n"
		"      --ptime MS          RTP packet time, 10..60 ms (default 20)\n"
		"      --loss PCT          drop PCT%% of RTP packets\n"
		"      --burst R           ... in runs: BurstR R (G.107; 1 = random)\n"
		"      --reorder PCT       delay PCT%% of RTP packets past the next one\n"
		"      --dup PCT           duplicate PCT%% of RTP packets\n"
		"      --jitter MS         delay RTP packets by up to MS ms\n"
		"      --dtmf              RFC 4733 digits " GEN_DTMF_DIGITS " from the caller\n"
		"      --ipv6              IPv6 instead of IPv4\n"
		"      --tcp               SIP over TCP (with coalesced and split messages)\n"
		"      --fragment          INVITEs larger than the MTU, fragmented over IP\n"
		"      --reinvite          some calls re-INVITE and move the caller's port\n"
		"      --ssrc-change       some calls change SSRC mid-call\n"
		"      --ts-jump           every answered call re-INVITEs mid-call (same\n"
		"                          ports) and after it, in the same stream (SSRC,\n"
		"                          sequence go on), the caller's RTP timestamp\n"
		"                          restarts at its first value and the callee's\n"
		"                          jumps 3 h ahead,\n"
		"                          as gateways do on fax fallback or transfer;\n"
		"                          the truth has the call's \"ts_jump\" and per\n"
		"                          stream \"ts_jump_us\" (when the first packet\n"
		"                          after the jump was sent)\n"
		"      --missing-invite    some captures start at the 200 OK or mid-RTP\n"
		"      --fork              some calls fork (a second 180 with its own tag)\n"
		"      --outcomes          mix answered, busy, no-answer, cancelled, rejected\n"
		"      --rtcp              RTCP sender reports with SDES\n"
		"      --challenge S       every INVITE is challenged (407, its own To tag)\n"
		"                          and retried with the next CSeq S seconds later\n"
		"      --reuse-callid S    the second half of the calls reuses the first\n"
		"                          half's Call-IDs, S seconds later (3600, 86400)\n"
		"      --one-way           recvonly offers answered sendonly (an IVR):\n"
		"                          only the callee sends RTP\n"
		"      --stray             after each call a 200 to a BYE of a garbled\n"
		"                          Call-ID and a 403 to an INVITE never sent\n"
		"      --video             an m=video line (H264/90000, PT 99) and video\n"
		"                          RTP both ways beside the audio (600-byte\n"
		"                          packets at the audio's rate)\n"
		"      --vlan ID           802.1Q tag\n"
		"      --qinq OUTER,INNER  802.1ad + 802.1Q tags\n"
		"      --linktype T        en10mb (default), raw, sll or null\n"
		"      --tunnel LIST       wrap every packet in these layers, outer first,\n"
		"                          comma-separated: gre (GRE carrying IP, Ethernet or\n"
		"                          MPLS), erspan2, erspan3 (over GRE), vxlan (UDP\n"
		"                          4789), geneve (UDP 6081), ipip (in IPv4), ip6 (in\n"
		"                          IPv6), mpls (two labels); e.g. gre,vxlan is VXLAN\n"
		"                          inside GRE. Tunnel ends are 10.99.L.1/2 (fd99::L:1/2)\n"
		"      --tunnel-callee-sip only the callee's SIP goes through the tunnel\n"
		"      --sctp              SIP over SCTP (DATA chunks; messages over 700 bytes\n"
		"                          in two fragments; the callee adds a SACK chunk)\n"
		"      --ws                SIP over WebSocket on TCP (callee port %d): HTTP\n"
		"                          Upgrade, masked caller frames, split steps sent as\n"
		"                          two frames\n"
		"  -h, --help              this help\n"
		"\n"
		"Audio mode (any of the next five options; without them every call sends\n"
		"fixed G.711 tones, PCMU or PCMA at random):\n"
		"      --codec NAME        pcmu (the default in audio mode), pcma, g722,\n"
		"                          g726-32, g729, gsm, opus, l16, or mixed (call i\n"
		"                          uses the codec i %% 8 of that list). The SDP offers\n"
		"                          and answers that codec alone (PT 0 8 9 96 18 3 97 98;\n"
		"                          opus/48000/2, L16/16000, G722/8000) plus\n"
		"                          telephone-event at the codec's RTP clock. gsm needs\n"
		"                          a ptime of 20, 40 or 60; opus 10, 20, 40 or 60.\n"
		"                          Also speex (speex/8000, PT 99), speex-wb\n"
		"                          (speex/16000, PT 100), amr (AMR/8000 octet-aligned,\n"
		"                          PT 102), amr-be (bandwidth-efficient, PT 103),\n"
		"                          amr-wb (AMR-WB/16000 bandwidth-efficient, PT 104),\n"
		"                          g723 (PT 4, ptime 30 or 60) and lpc (PT 7: earshot\n"
		"                          does not decode LPC; the payload is not real LPC).\n"
		"                          amr, amr-wb: ptime a multiple of 20.\n"
		"      --audio-caller WAV  the caller's audio: 16-bit PCM WAV, any rate (the\n"
		"                          first channel), at most %d s, resampled to the\n"
		"      --audio-callee WAV  codec's rate. A party's first RTP packet carries\n"
		"                          the start of its source; packet k (DTMF or not)\n"
		"                          starts k ptimes into it. The source loops, padded\n"
		"                          with silence to a whole number of ptimes. Each\n"
		"                          codec encodes one loop (cold encoder at its start)\n"
		"                          and the packets repeat by index.\n"
		"                          Without a file, a party sends a 4.2 s synthetic\n"
		"                          loop (16 kHz, peaks -12 dBFS): the caller 7 tone\n"
		"                          bursts of 0.5 s + 0.1 s silence at 440, 1250, 700,\n"
		"                          2000, 550, 1600, 900 Hz; the callee a chirp 300 ->\n"
		"                          3300 Hz over 1.6 s, 0.5 s silence, a chirp 3000 ->\n"
		"                          400 Hz over 1.6 s, 0.5 s silence.\n"
		"      --drift PPM         the callee's clock runs PPM parts per million fast\n"
		"                          (negative: slow): its packets come every\n"
		"                          ptime / (1 + PPM 1e-6) of capture time while each\n"
		"                          still carries one ptime of audio and advances the\n"
		"                          RTP timestamp by ptime x clock (its RTCP SR RTP\n"
		"                          time follows the same clock). The caller is exact.\n"
		"      --audio-out PREFIX  write each party's loop (source rate, padded) to\n"
		"                          PREFIX.caller.wav and PREFIX.callee.wav, the\n"
		"                          references for bench/audio_cmp\n"
		"The truth then also has per call \"codec\" (the SDP name), per stream\n"
		"\"codec\", \"clock\", \"first_us\" (capture time of its first written\n"
		"packet) and \"audio_offset_samples\" (where that packet starts in the\n"
		"party's source, in source samples, modulo the loop), and under \"options\"\n"
		"\"codec\", \"drift_ppm\" and \"audio\" (per party: source, rate,\n"
		"source_samples, loop_samples).\n"
		"\n"
		"Impairments spare the first and last packets of every stream and the\n"
		"packets around a sequence number wrap, so that the counts in the truth\n"
		"equal what `tshark -z rtp,streams` reports.\n",
		GEN_MAX_CALLS, GEN_WS_PORT, GEN_AUDIO_MAX_S);
}

static bool parse_num(const char *s, double lo, double hi, double *v)
{
	char *end;
	errno = 0;
	double d = strtod(s, &end);
	if (errno || end == s || *end || d < lo || d > hi || d != d)
		return false;
	*v = d;
	return true;
}

static bool parse_int(const char *s, long lo, long hi, int *v)
{
	char *end;
	errno = 0;
	long n = strtol(s, &end, 10);
	if (errno || end == s || *end || n < lo || n > hi)
		return false;
	*v = (int)n;
	return true;
}

enum {
	OPT_PTIME = 256,
	OPT_LOSS,
	OPT_REORDER,
	OPT_DUP,
	OPT_JITTER,
	OPT_BURST,
	OPT_DTMF,
	OPT_IPV6,
	OPT_TCP,
	OPT_FRAGMENT,
	OPT_REINVITE,
	OPT_SSRC_CHANGE,
	OPT_TS_JUMP,
	OPT_MISSING_INVITE,
	OPT_FORK,
	OPT_OUTCOMES,
	OPT_RTCP,
	OPT_VLAN,
	OPT_QINQ,
	OPT_LINKTYPE,
	OPT_CODEC,
	OPT_AUDIO_CALLER,
	OPT_AUDIO_CALLEE,
	OPT_PARTY_BASE,
	OPT_DRIFT,
	OPT_AUDIO_OUT,
	OPT_TUNNEL,
	OPT_TUNNEL_CALLEE_SIP,
	OPT_SCTP,
	OPT_WS,
	OPT_CHALLENGE,
	OPT_REUSE,
	OPT_ONE_WAY,
	OPT_STRAY,
	OPT_VIDEO,
};

static int bad_value(const char *opt, const char *v)
{
	fprintf(stderr, GEN_TAG ": bad value for %s: '%s' (see --help)\n", opt, v);
	return 2;
}

static int parse_opts(int argc, char **argv, struct gen_opts *o)
{
	const char *tunnel = NULL;
	static const struct option lopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"truth", required_argument, NULL, 't'},
		{"calls", required_argument, NULL, 'n'},
		{"duration", required_argument, NULL, 'd'},
		{"concurrency", required_argument, NULL, 'c'},
		{"seed", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{"ptime", required_argument, NULL, OPT_PTIME},
		{"loss", required_argument, NULL, OPT_LOSS},
		{"reorder", required_argument, NULL, OPT_REORDER},
		{"dup", required_argument, NULL, OPT_DUP},
		{"jitter", required_argument, NULL, OPT_JITTER},
		{"burst", required_argument, NULL, OPT_BURST},
		{"dtmf", no_argument, NULL, OPT_DTMF},
		{"ipv6", no_argument, NULL, OPT_IPV6},
		{"tcp", no_argument, NULL, OPT_TCP},
		{"fragment", no_argument, NULL, OPT_FRAGMENT},
		{"reinvite", no_argument, NULL, OPT_REINVITE},
		{"ssrc-change", no_argument, NULL, OPT_SSRC_CHANGE},
		{"ts-jump", no_argument, NULL, OPT_TS_JUMP},
		{"missing-invite", no_argument, NULL, OPT_MISSING_INVITE},
		{"fork", no_argument, NULL, OPT_FORK},
		{"outcomes", no_argument, NULL, OPT_OUTCOMES},
		{"rtcp", no_argument, NULL, OPT_RTCP},
		{"vlan", required_argument, NULL, OPT_VLAN},
		{"qinq", required_argument, NULL, OPT_QINQ},
		{"linktype", required_argument, NULL, OPT_LINKTYPE},
		{"codec", required_argument, NULL, OPT_CODEC},
		{"audio-caller", required_argument, NULL, OPT_AUDIO_CALLER},
		{"party-base", required_argument, NULL, OPT_PARTY_BASE},
		{"audio-callee", required_argument, NULL, OPT_AUDIO_CALLEE},
		{"drift", required_argument, NULL, OPT_DRIFT},
		{"audio-out", required_argument, NULL, OPT_AUDIO_OUT},
		{"tunnel", required_argument, NULL, OPT_TUNNEL},
		{"tunnel-callee-sip", no_argument, NULL, OPT_TUNNEL_CALLEE_SIP},
		{"sctp", no_argument, NULL, OPT_SCTP},
		{"ws", no_argument, NULL, OPT_WS},
		{"challenge", required_argument, NULL, OPT_CHALLENGE},
		{"reuse-callid", required_argument, NULL, OPT_REUSE},
		{"one-way", no_argument, NULL, OPT_ONE_WAY},
		{"stray", no_argument, NULL, OPT_STRAY},
		{"video", no_argument, NULL, OPT_VIDEO},
		{NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof(*o));
	o->ncalls = 10;
	o->duration_s = 30;
	o->seed = 1;
	o->ptime_ms = 20;
	o->linktype = LT_EN10MB;
	o->codec = GEN_CODEC_TONES;
	bool audio_mode = false;
	int ch;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":o:t:n:d:c:s:h", lopts, NULL)) != -1) {
		const char *name = optind > 1 ? argv[optind - 1] : "?";
		switch (ch) {
		case 'o': o->out_path = optarg; break;
		case 't': o->truth_path = optarg; break;
		case 'n':
			if (!parse_int(optarg, 1, GEN_MAX_CALLS, &o->ncalls))
				return bad_value("--calls", optarg);
			break;
		case 'd':
			if (!parse_num(optarg, 1, 86400, &o->duration_s))
				return bad_value("--duration", optarg);
			break;
		case 'c':
			if (!parse_int(optarg, 1, GEN_MAX_CALLS, &o->concurrency))
				return bad_value("--concurrency", optarg);
			break;
		case 's': {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 0);
			if (errno || end == optarg || *end)
				return bad_value("--seed", optarg);
			o->seed = v;
			break;
		}
		case 'h': usage(stdout); exit(0);
		case OPT_PTIME:
			if (!parse_int(optarg, 10, 60, &o->ptime_ms) || o->ptime_ms % 10)
				return bad_value("--ptime", optarg);
			break;
		case OPT_LOSS:
			if (!parse_num(optarg, 0, 50, &o->loss_pct))
				return bad_value("--loss", optarg);
			break;
		case OPT_REORDER:
			if (!parse_num(optarg, 0, 50, &o->reorder_pct))
				return bad_value("--reorder", optarg);
			break;
		case OPT_DUP:
			if (!parse_num(optarg, 0, 50, &o->dup_pct))
				return bad_value("--dup", optarg);
			break;
		case OPT_BURST:
			if (!parse_num(optarg, 1, 20, &o->burst_r))
				return bad_value("--burst", optarg);
			break;
		case OPT_JITTER:
			if (!parse_int(optarg, 0, 1000, &o->jitter_ms))
				return bad_value("--jitter", optarg);
			break;
		case OPT_DTMF: o->dtmf = true; break;
		case OPT_IPV6: o->ipv6 = true; break;
		case OPT_TCP: o->tcp = true; break;
		case OPT_TUNNEL: tunnel = optarg; break;
		case OPT_TUNNEL_CALLEE_SIP: o->tun_callee_sip = true; break;
		case OPT_SCTP: o->sctp = true; break;
		case OPT_WS: o->ws = o->tcp = true; break;
		case OPT_FRAGMENT: o->fragment = true; break;
		case OPT_REINVITE: o->reinvite = true; break;
		case OPT_SSRC_CHANGE: o->ssrc_change = true; break;
		case OPT_TS_JUMP: o->ts_jump = true; break;
		case OPT_MISSING_INVITE: o->missing_invite = true; break;
		case OPT_FORK: o->fork = true; break;
		case OPT_OUTCOMES: o->outcomes = true; break;
		case OPT_RTCP: o->rtcp = true; break;
		case OPT_CHALLENGE:
			if (!parse_num(optarg, 0.01, 3600, &o->challenge_s))
				return bad_value("--challenge", optarg);
			break;
		case OPT_REUSE:
			if (!parse_num(optarg, 1, 30 * 86400, &o->reuse_s))
				return bad_value("--reuse-callid", optarg);
			break;
		case OPT_ONE_WAY: o->one_way = true; break;
		case OPT_STRAY: o->stray = true; break;
		case OPT_VIDEO: o->video = true; break;
		case OPT_VLAN:
			if (!parse_int(optarg, 1, 4094, &o->vlan))
				return bad_value("--vlan", optarg);
			break;
		case OPT_QINQ: {
			char a[16], b[16];
			const char *comma = strchr(optarg, ',');
			size_t la = comma ? (size_t)(comma - optarg) : 0;
			if (!comma || la >= sizeof(a) || strlen(comma + 1) >= sizeof(b))
				return bad_value("--qinq", optarg);
			memcpy(a, optarg, la);
			a[la] = 0;
			strcpy(b, comma + 1);
			if (!parse_int(a, 1, 4094, &o->qinq_outer) ||
			    !parse_int(b, 1, 4094, &o->qinq_inner))
				return bad_value("--qinq", optarg);
			break;
		}
		case OPT_LINKTYPE:
			if (!strcmp(optarg, "en10mb"))
				o->linktype = LT_EN10MB;
			else if (!strcmp(optarg, "raw"))
				o->linktype = LT_RAW;
			else if (!strcmp(optarg, "sll"))
				o->linktype = LT_SLL;
			else if (!strcmp(optarg, "null"))
				o->linktype = LT_NULL;
			else
				return bad_value("--linktype", optarg);
			break;
		case OPT_CODEC:
			o->codec = codec_by_name(optarg);
			if (o->codec == GEN_CODEC_TONES)
				return bad_value("--codec", optarg);
			audio_mode = true;
			break;
		case OPT_PARTY_BASE: {
			int v = 0;
			if (!parse_int(optarg, 0, 99999, &v))
				return bad_value("--party-base", optarg);
			o->party_base = (uint32_t)v;
			break;
		}
		case OPT_AUDIO_CALLER:
		case OPT_AUDIO_CALLEE:
			o->audio_path[ch == OPT_AUDIO_CALLEE] = optarg;
			audio_mode = true;
			break;
		case OPT_AUDIO_OUT:
			o->audio_out = optarg;
			audio_mode = true;
			break;
		case OPT_DRIFT:
			if (!parse_num(optarg, -10000, 10000, &o->drift_ppm))
				return bad_value("--drift", optarg);
			audio_mode = true;
			break;
		case ':':
			fprintf(stderr, GEN_TAG ": %s needs a value (see --help)\n", name);
			return 2;
		default:
			fprintf(stderr, GEN_TAG ": unknown option %s (see --help)\n", name);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, GEN_TAG ": unexpected argument '%s' (see --help)\n", argv[optind]);
		return 2;
	}
	if (!o->out_path) {
		fprintf(stderr, GEN_TAG ": -o OUT.pcap is required (see --help)\n");
		return 2;
	}
	if ((o->vlan || o->qinq_outer) && (o->linktype == LT_RAW || o->linktype == LT_NULL)) {
		fprintf(stderr, GEN_TAG ": --vlan/--qinq need --linktype en10mb or sll\n");
		return 2;
	}
	if (audio_mode && o->codec == GEN_CODEC_TONES)
		o->codec = GC_PCMU;
	bool any = o->codec == GEN_CODEC_MIXED;
	if ((any || o->codec == GC_GSM) && o->ptime_ms % 20) {
		fprintf(stderr, GEN_TAG ": gsm needs --ptime 20, 40 or 60\n");
		return 2;
	}
	if ((any || o->codec == GC_OPUS) && (o->ptime_ms == 30 || o->ptime_ms == 50)) {
		fprintf(stderr, GEN_TAG ": opus needs --ptime 10, 20, 40 or 60\n");
		return 2;
	}
	if (o->challenge_s > 0 && o->tcp) {
		fprintf(stderr, GEN_TAG ": --challenge needs UDP (not --tcp)\n");
		return 2;
	}
	if (o->reuse_s > 0 && o->ncalls < 2) {
		fprintf(stderr, GEN_TAG ": --reuse-callid needs at least 2 calls\n");
		return 2;
	}
	if (o->vlan && o->qinq_outer) {
		fprintf(stderr, GEN_TAG ": --vlan and --qinq exclude each other\n");
		return 2;
	}
	if (tunnel && !tun_parse(o, tunnel))
		return 2;
	if (o->tun_callee_sip && !o->ntun) {
		fprintf(stderr, GEN_TAG ": --tunnel-callee-sip needs --tunnel\n");
		return 2;
	}
	if (o->sctp && o->tcp) {
		fprintf(stderr, GEN_TAG ": --sctp excludes --tcp and --ws\n");
		return 2;
	}
	int lines = o->concurrency > 0 && o->concurrency < o->ncalls ? o->concurrency : o->ncalls;
	int per_line = (o->ncalls + lines - 1) / lines;
	double win = o->duration_s / per_line * (per_line > 1 ? 0.75 : 1.0);
	if (win < 4.0) {
		fprintf(stderr,
			GEN_TAG ": each call would get %.2f s; give it at least 4 s "
				"(more --duration or --concurrency)\n",
			win);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct gen g; /* large: the scratch packet */
	int rc = parse_opts(argc, argv, &g.o);
	if (rc)
		return rc;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	g.ptime_us = (int64_t)g.o.ptime_ms * 1000;
	g.delay_max_us = (int64_t)g.o.jitter_ms * 1000 + g.ptime_us + g.ptime_us / 2 +
			 GEN_DUP_DELTA_MAX_US;
	g.lag_us = 0; /* events are played in time order and only delay frames */
	es_buf_init(&g.sip);
	es_buf_init(&g.body);
	es_buf_init(&g.ws);
	tones_init(&g);
	/* --video: an H.264 IDR slice NAL header, then filler */
	g.video_payload[0] = 0x65;
	for (size_t i = 1; i < sizeof(g.video_payload); i++)
		g.video_payload[i] = (uint8_t)(i * 37 + 11);
	if (g.o.codec != GEN_CODEC_TONES &&
	    (audio_init(&g) || (g.o.audio_out && audio_write(&g, g.o.audio_out))))
		return 1;
	g.calls = calloc((size_t)g.o.ncalls, sizeof(*g.calls));
	if (!g.calls)
		die_oom();
	if (out_open(&g.out, &g.o))
		return 1;
	gen_run(&g);
	if (out_close(&g.out)) {
		fprintf(stderr, GEN_TAG ": %s: write failed\n", g.o.out_path);
		return 1;
	}
	if (g.o.truth_path && truth_write(&g, g.o.truth_path))
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr,
		GEN_TAG ": %d calls, %" PRIu64 " packets (%" PRIu64 " RTP, %" PRIu64
			" RTCP, %" PRIu64 " SIP messages), %" PRIu64 " bytes in %.2f s\n",
		g.o.ncalls, g.out.packets, g.out.rtp_packets, g.out.rtcp_packets,
		g.out.sip_messages, g.out.bytes, secs);
	gen_free(&g, g.o.ncalls);
	return 0;
}
