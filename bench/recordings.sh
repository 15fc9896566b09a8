#!/usr/bin/env bash
# recordings.sh - benchmarks of the recordings `earshot import` writes.
# Three tables, each run once (recordings take seconds to minutes, so the
# 10 ms steps of /usr/bin/time matter little):
#
#  1. the 200-call x 60 s capture of bench/run.sh imported with recordings
#     (Ogg/Opus, WAV) beside --no-audio: wall, CPU, peak RSS, recorded
#     seconds, and recorded seconds per CPU second ("x real time per core");
#  2. per codec, a 20-call x 60 s capture imported with --threads 1 as opus,
#     as wav and with --no-audio: x real time of decode + encode, i.e.
#     recorded seconds / (CPU of the import - CPU of the --no-audio import);
#     beside it opusenc and ffmpeg's libopus on a stereo WAV of one call;
#  3. memory: a two-hour call, a 10-minute call, a 1-call x 60 s capture and
#     500 concurrent calls x 60 s imported with recordings (default format
#     and threads): peak RSS, max_call_bytes, and RSS per concurrent call.
#
#   bench/recordings.sh [--build DIR] [--quick] [--only 1|2|3] [--keep]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build="$here/../build"
quick=0
only=""
keep=0
codecs="pcmu pcma g722 g726-32 g729 gsm opus l16"

usage() {
	cat <<EOF
usage: bench/recordings.sh [--build DIR] [--quick] [--only N] [--codecs LIST] [--keep]
Generates captures with gen_calls into a temporary folder and times
\`earshot import\` with recordings (/usr/bin/time -f '%e %U %S %M'):
  1  200 calls x 60 s (bench/run.sh's file): opus, wav, --no-audio
  2  per codec 20 calls x 60 s, --threads 1: opus, wav, --no-audio;
     opusenc and ffmpeg -c:a libopus on a stereo WAV of one call
  3  memory: 1 call x 7200 s, 1 call x 600 s, 1 call x 60 s,
     500 concurrent calls x 60 s, with recordings
About 9 minutes on 2 idle cores; --quick about 2 minutes.
  --build DIR    the CMake build folder with gen_calls and earshot
                 (default: build/ next to bench/)
  --quick        smaller sizes: 50 x 30 s; 5 x 30 s per codec;
                 1800 s / 300 s / 30 s calls and 100 concurrent x 30 s
  --only N       run table N only (1, 2 or 3)
  --codecs LIST  codecs of table 2, space-separated
                 (default: "$codecs")
  --keep         keep the temporary folder
  -h, --help     this help
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=${2:?--build needs a folder}; shift 2 ;;
	--build=*) build=${1#--build=}; shift ;;
	--quick) quick=1; shift ;;
	--only) only=${2:?}; shift 2 ;;
	--codecs) codecs=${2:?}; shift 2 ;;
	--keep) keep=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "recordings.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
build=$(cd "$build" 2>/dev/null && pwd) || { echo "recordings.sh: no build folder '$build'" >&2; exit 2; }
for t in /usr/bin/time "$build/gen_calls" "$build/earshot"; do
	[ -x "$t" ] || { echo "recordings.sh: $t is missing" >&2; exit 2; }
done

if [ "$quick" = 1 ]; then
	s1_calls=50 s1_dur=30
	s2_calls=5 s2_dur=30
	s3_long=1800 s3_mid=300 s3_one=30 s3_conc=100 s3_dur=30
else
	s1_calls=200 s1_dur=60
	s2_calls=20 s2_dur=60
	s3_long=7200 s3_mid=600 s3_one=60 s3_conc=500 s3_dur=60
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/earshot-rec.XXXXXX")
if [ "$keep" = 1 ]; then
	echo "recordings.sh: keeping $tmp"
else
	trap 'rm -rf "$tmp"' EXIT
fi
echo "recordings.sh: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -m), load average $(cut -d' ' -f1-3 /proc/loadavg)"

# gen, timed, import, xrt
# shellcheck source=bench/rec_lib.sh
. "$here/rec_lib.sh"

# ---- 1: the import benchmark's file with and without recordings ----------
table1() {
	local pcap="$tmp/t1.pcap" f
	gen "$pcap" --calls "$s1_calls" --duration "$s1_dur" --ptime 20
	echo
	echo "== 1. $s1_calls calls x $s1_dur s (G.711, all concurrent) imported, default threads"
	echo "   earshot --data DIR import --json [--format F | --no-audio] FILE"
	printf '%-10s %8s %8s %13s %11s %12s %12s\n' mode "wall s" "CPU s" "peak RSS KiB" "recorded s" "rec. MB" "x RT/core"
	for f in no-audio opus wav; do
		if [ "$f" = no-audio ]; then
			import "$tmp/d1" --no-audio "$pcap"
		else
			import "$tmp/d1" --format "$f" "$pcap"
		fi
		printf '%-10s %8s %8s %13s %11.0f %12.1f %12s\n' "$f" "$W" "$C" "$R" "$REC" \
			"$(awk -v b="$RB" 'BEGIN { print b / 1e6 }')" "$(xrt "$REC" "$C")"
	done
	echo "(x RT/core: recorded call seconds (stereo, both parties) per CPU second of the whole import)"
}

# ---- 2: per codec, one thread ---------------------------------------------
table2() {
	local c pcap base copus cwav rec
	echo
	echo "== 2. per codec: $s2_calls calls x $s2_dur s, earshot import --threads 1"
	echo "   x RT = recorded s / (CPU s of the import - CPU s of the --no-audio import)"
	printf '%-8s %6s %10s %10s %10s %10s %9s %9s %9s\n' codec rate "recorded s" "CPU none" "CPU opus" "CPU wav" "opus MB" "x RT opus" "x RT wav"
	for c in $codecs; do
		pcap="$tmp/t2.$c.pcap"
		gen "$pcap" --codec "$c" --calls "$s2_calls" --duration "$s2_dur"
		import "$tmp/d2" --threads 1 --no-audio "$pcap"
		base=$C
		import "$tmp/d2" --threads 1 --format opus "$pcap"
		copus=$C rec=$REC
		local mb
		mb=$(awk -v b="$RB" 'BEGIN { printf "%.2f", b / 1e6 }')
		import "$tmp/d2" --threads 1 --format wav "$pcap"
		cwav=$C
		"$build/earshot" export 1 -o "$tmp/peer.$c.wav" --data "$tmp/d2" >/dev/null
		local rate
		rate=$(python3 -c 'import wave, sys; print(wave.open(sys.argv[1]).getframerate())' "$tmp/peer.$c.wav")
		printf '%-8s %6s %10.0f %10s %10s %10s %9s %9s %9s\n' "$c" "$rate" "$rec" "$base" "$copus" "$cwav" "$mb" \
			"$(xrt "$rec" "$(awk -v a="$copus" -v b="$base" 'BEGIN { print a - b }')")" \
			"$(xrt "$rec" "$(awk -v a="$cwav" -v b="$base" 'BEGIN { print a - b }')")"
	done

	# Peers: the same work on a stereo 16-bit WAV of one call, at
	# 32 kbit/s (earshot's 16 kbit/s per party).
	echo
	echo "   peers on a stereo 16-bit WAV of one call (earshot export 1 -o x.wav), 32 kbit/s"
	printf '%-8s %6s %8s %-40s %8s %9s\n' input rate "audio s" tool "CPU s" "x RT"
	local w secs ff=0
	# Not `ffmpeg | grep -q`: grep's early exit is a SIGPIPE under pipefail.
	if command -v ffmpeg >/dev/null && [[ $(ffmpeg -hide_banner -encoders 2>/dev/null) == *libopus* ]]; then
		ff=1
	fi
	for c in pcmu g722; do
		w="$tmp/peer.$c.wav"
		[ -f "$w" ] || continue
		# Repeated to 4 x the call, so that the 10 ms steps of
		# /usr/bin/time are small beside the CPU time.
		sox "$w" "$tmp/peer4.wav" repeat 3 2>/dev/null || cp "$w" "$tmp/peer4.wav"
		w="$tmp/peer4.wav"
		read -r rate secs < <(python3 -c '
import wave, sys
f = wave.open(sys.argv[1]); print(f.getframerate(), f.getnframes() / f.getframerate())' "$w")
		if command -v opusenc >/dev/null; then
			timed opusenc --quiet --bitrate 32 "$w" "$tmp/peer.opus"
			printf '%-8s %6s %8.0f %-40s %8s %9s\n' "$c" "$rate" "$secs" "opusenc --bitrate 32 (complexity 10)" "$C" "$(xrt "$secs" "$C")"
			timed opusenc --quiet --bitrate 32 --comp 5 "$w" "$tmp/peer.opus"
			printf '%-8s %6s %8.0f %-40s %8s %9s\n' "$c" "$rate" "$secs" "opusenc --bitrate 32 --comp 5" "$C" "$(xrt "$secs" "$C")"
		fi
		if [ "$ff" = 1 ]; then
			timed ffmpeg -nostdin -loglevel error -y -i "$w" -c:a libopus -b:a 32k "$tmp/peer.ff.opus"
			printf '%-8s %6s %8.0f %-40s %8s %9s\n' "$c" "$rate" "$secs" "ffmpeg -c:a libopus -b:a 32k" "$C" "$(xrt "$secs" "$C")"
			timed ffmpeg -nostdin -loglevel error -y -i "$w" -c:a libopus -b:a 32k -compression_level 5 "$tmp/peer.ff.opus"
			printf '%-8s %6s %8.0f %-40s %8s %9s\n' "$c" "$rate" "$secs" "ffmpeg ... -compression_level 5" "$C" "$(xrt "$secs" "$C")"
		fi
	done
}

# ---- 3: memory ------------------------------------------------------------
table3() {
	local one_rss mid_rss long_rss
	echo
	echo "== 3. memory with recordings: earshot --data DIR import --json FILE (opus, default threads)"
	printf '%-34s %8s %8s %13s %14s %11s\n' capture "wall s" "CPU s" "peak RSS KiB" "max_call_bytes" "recorded s"
	row() { printf '%-34s %8s %8s %13s %14s %11.0f\n' "$1" "$W" "$C" "$R" "$MCB" "$REC"; }

	gen "$tmp/t3.pcap" --calls 1 --duration "$s3_one"
	import "$tmp/d3" "$tmp/t3.pcap"
	one_rss=$R
	row "1 call x $s3_one s"
	gen "$tmp/t3.pcap" --calls 1 --duration "$s3_mid"
	import "$tmp/d3" "$tmp/t3.pcap"
	mid_rss=$R
	row "1 call x $s3_mid s"
	gen "$tmp/t3.pcap" --calls 1 --duration "$s3_long"
	import "$tmp/d3" "$tmp/t3.pcap"
	long_rss=$R
	row "1 call x $s3_long s"
	gen "$tmp/t3.pcap" --calls "$s3_conc" --concurrency "$s3_conc" --duration "$s3_dur"
	rm -f "$tmp/t1.pcap" "$tmp"/t2.*.pcap
	import "$tmp/d3" "$tmp/t3.pcap"
	row "$s3_conc concurrent calls x $s3_dur s"
	rm -rf "$tmp/d3" "$tmp/t3.pcap"
	echo
	awk -v r="$R" -v o="$one_rss" -v n="$s3_conc" -v m="$MCB" 'BEGIN {
		printf "peak RSS per concurrent call: (%d - %d) / %d = %.1f KiB; max_call_bytes / call = %.1f KiB\n",
			r, o, n, (r - o) / n, m / n / 1024 }'
	awk -v l="$long_rss" -v m="$mid_rss" -v a="$s3_long" -v b="$s3_mid" 'BEGIN {
		printf "%d s call vs %d s call: peak RSS %d vs %d KiB (%+.1f%%): %s\n", a, b, l, m,
			100 * (l - m) / m, (l - m) / m < 0.10 ? "bounded" : "GROWS with call length" }'
}

case "$only" in
'') table1; table2; table3 ;;
1) table1 ;;
2) table2 ;;
3) table3 ;;
*) echo "recordings.sh: --only takes 1, 2 or 3" >&2; exit 2 ;;
esac
echo
echo "recordings.sh: done $(date -u +%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
