#!/usr/bin/env bash
# run.sh - the import benchmark: generate a capture of 200 concurrent calls
# x 60 s (G.711, 20 ms ptime: about 1.1 M packets) and time, side by side,
# the libpcap read floor (pcap_read), `earshot import`, and tshark's RTP and
# SIP statistics.  Prints a table: tool, seconds, packets/s, peak RSS, and
# for earshot the peak RSS per concurrent call.
#
# earshot runs with --no-audio (index only, like tshark's statistics);
# --audio adds rows for the same import writing Ogg/Opus and WAV recordings.
# bench/recordings.sh has the recordings' own benchmarks.
#
# Each tool runs --repeat times (default 3); the best wall time is kept.
#
#   bench/run.sh [--build DIR] [--calls N] [--duration S] [--repeat N] [--audio] [--keep]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build="$here/../build"
calls=200
duration=60
keep=0
repeat=3
audio=0

usage() {
	cat <<EOF
usage: bench/run.sh [--build DIR] [--calls N] [--duration S] [--repeat N] [--audio] [--keep]
Generates the benchmark capture (N calls x S seconds, all concurrent, G.711
20 ms) into a temporary folder and times with /usr/bin/time -v:
  pcap_read FILE                    (libpcap read floor)
  earshot --data TMP import --no-audio FILE
  earshot --data TMP import --format opus|wav FILE   (with --audio)
  tshark -q -z rtp,streams -r FILE
  tshark -Y sip -q -z sip,stat -r FILE
A tool that is missing is skipped with a message.
  --build DIR    the CMake build folder with gen_calls, pcap_read, earshot
                 (default: build/ next to bench/)
  --calls N      default 200
  --duration S   default 60
  --repeat N     runs per tool, the fastest counts (default 3)
  --audio        also time the import writing recordings (earshot_opus,
                 earshot_wav: about 80 s and 5 s per run for 200 x 60 s
                 on 2 cores); see also bench/recordings.sh
  --keep         keep the temporary folder
  -h, --help     this help
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=${2:?--build needs a folder}; shift 2 ;;
	--build=*) build=${1#--build=}; shift ;;
	--calls) calls=${2:?}; shift 2 ;;
	--duration) duration=${2:?}; shift 2 ;;
	--repeat) repeat=${2:?}; shift 2 ;;
	--audio) audio=1; shift ;;
	--keep) keep=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
build=$(cd "$build" 2>/dev/null && pwd) || { echo "run.sh: no build folder '$build'" >&2; exit 2; }

if [ ! -x /usr/bin/time ]; then
	echo "run.sh: /usr/bin/time is needed (apt-get install time)" >&2
	exit 2
fi
if [ ! -x "$build/gen_calls" ]; then
	echo "run.sh: $build/gen_calls is missing (cmake --build $build --target gen_calls)" >&2
	exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/earshot-bench.XXXXXX")
if [ "$keep" = 1 ]; then
	echo "run.sh: keeping $tmp"
else
	trap 'rm -rf "$tmp"' EXIT
fi
pcap="$tmp/bench.pcap"
truth="$tmp/bench.json"

echo "run.sh: generating $calls calls x ${duration} s into $pcap"
"$build/gen_calls" -o "$pcap" --truth "$truth" --calls "$calls" --duration "$duration" \
	--seed 1 --ptime 20
read -r packets concurrent < <(python3 - "$truth" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1]))
ev = []
for c in t["calls"]:
    ev.append((c["start_us"], 1))
    ev.append((c["end_us"], -1))
cur = peak = 0
for _, d in sorted(ev):
    cur += d
    peak = max(peak, cur)
print(t["packets"], peak)
EOF
)
echo "run.sh: $packets packets, $(du -k "$pcap" | cut -f1) KiB, $concurrent calls at once"

results=()
# run NAME CMD... : runs CMD $repeat times; appends "name wall cpu rss" of
# the fastest run to results
run() {
	local name=$1
	shift
	local tf="$tmp/time.$name" of="$tmp/out.$name" best="" i
	for ((i = 0; i < repeat; i++)); do
		rm -rf "$tmp/data"
		if ! /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" >"$of" 2>&1; then
			echo "run.sh: $name failed; its output:" >&2
			tail -n 20 "$of" >&2
			results+=("$name FAILED - -")
			return 0
		fi
		local line
		line=$(tail -n 1 "$tf" | awk -v n="$name" '{ printf "%s %.3f %.3f %d", n, $1, $2 + $3, $4 }')
		if [ -z "$best" ] || awk -v a="$line" -v b="$best" 'BEGIN { split(a, x, " "); split(b, y, " "); exit !(x[2] < y[2]) }'; then
			best=$line
		fi
	done
	results+=("$best")
	case "$name" in
	earshot) echo "--- earshot import summary (last run):"; tail -n 15 "$of" ;;
	esac
}

if [ -x "$build/pcap_read" ]; then
	run pcap_read "$build/pcap_read" "$pcap"
else
	echo "run.sh: skipping pcap_read: $build/pcap_read is missing" >&2
fi
if [ -x "$build/earshot" ]; then
	run earshot "$build/earshot" --data "$tmp/data" import --no-audio "$pcap"
	if [ "$audio" = 1 ]; then
		run earshot_opus "$build/earshot" --data "$tmp/data" import --format opus "$pcap"
		run earshot_wav "$build/earshot" --data "$tmp/data" import --format wav "$pcap"
	fi
else
	echo "run.sh: skipping earshot: $build/earshot is missing" >&2
fi
if command -v tshark >/dev/null; then
	run tshark_rtp tshark -n -q -z rtp,streams -r "$pcap"
	run tshark_sip tshark -n -Y sip -q -z sip,stat -r "$pcap"
else
	echo "run.sh: skipping tshark: not installed" >&2
fi

echo
printf '%-12s %9s %9s %12s %13s %14s\n' tool "wall s" "CPU s" packets/s "peak RSS KiB" "KiB/call"
declare -A wall
for r in "${results[@]}"; do
	# shellcheck disable=SC2086
	set -- $r
	if [ "$2" = FAILED ]; then
		printf '%-12s %9s\n' "$1" FAILED
		continue
	fi
	wall[$1]=$2
	pps=$(awk -v p="$packets" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", p / s; else print "-" }')
	per="-"
	if [[ $1 == earshot* ]] && [ "$concurrent" -gt 0 ]; then
		per=$(awk -v r="$4" -v c="$concurrent" 'BEGIN { printf "%.1f", r / c }')
	fi
	printf '%-12s %9s %9s %12s %13s %14s\n' "$1" "$2" "$3" "$pps" "$4" "$per"
done
echo "(KiB/call: earshot's whole peak RSS divided by the $concurrent calls open at once)"
if [ -n "${wall[earshot]:-}" ]; then
	[ -n "${wall[tshark_rtp]:-}" ] && awk -v a="${wall[earshot]}" -v b="${wall[tshark_rtp]}" \
		'BEGIN { printf "earshot import vs tshark -z rtp,streams: %.1fx faster\n", b / a }'
	[ -n "${wall[pcap_read]:-}" ] && awk -v a="${wall[earshot]}" -v b="${wall[pcap_read]}" \
		'BEGIN { printf "earshot import vs the bare libpcap read: %.0f%% of its packet rate\n", 100 * b / a }'
fi
