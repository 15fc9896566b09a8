#!/usr/bin/env bash
# peers.sh - earshot's import beside its peers on one generated capture
# (bench/gen_calls, G.711, 20 ms packets; by default 200 calls x 60 s, the
# file of bench/run.sh and recordings.sh's table 1): CPU seconds (user +
# sys, median of --repeat runs) and recorded call-seconds per CPU second
# ("x RT/core") for
#
#  - earshot import: statistics only (--no-audio), WAV, Ogg/Opus; with
#    --before EARSHOT also an earlier build on the same file;
#  - tshark -z rtp,streams (statistics);
#  - VoIPmonitor when --voipmonitor PATH is given (it is not in Debian):
#    `voipmonitor --config-file=CONF -k -r FILE` with no database and no
#    packet or graph files (nocdr=yes, savesip/savertp/savertcp/savegraph=no,
#    managerport=0), statistics without and with its jitter-buffer
#    simulation (jitterbuffer_f1/f2/adapt), WAV and Ogg (saveaudio=wav|ogg,
#    jitter buffers off);
#  - opusenc (libopusenc) and ffmpeg's libopus on a stereo WAV of one call
#    (earshot export 1), 32 kbit/s, as x real time of that call.
#
#   bench/peers.sh [--build DIR] [--calls N] [--duration S] [--repeat N]
#                  [--pcap FILE] [--before EARSHOT] [--voipmonitor PATH] [--keep]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build="$here/../build"
calls=200 duration=60 repeat=3 pcap="" before="" vm="" keep=0

usage() {
	cat <<EOF
usage: bench/peers.sh [options]
  --build DIR         CMake build folder with gen_calls and earshot (default build/)
  --calls N           calls in the generated capture (default $calls)
  --duration S        seconds per call (default $duration)
  --repeat N          runs per row; the median CPU is reported (default $repeat)
  --pcap FILE         use this capture instead of generating one
  --before EARSHOT    also time this earlier earshot binary (before/after rows)
  --voipmonitor PATH  also time VoIPmonitor's sniffer (skipped when not given)
  --keep              keep the temporary folder
About 8 minutes on 2 idle cores with the defaults and no VoIPmonitor.
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=${2:?}; shift 2 ;;
	--calls) calls=${2:?}; shift 2 ;;
	--duration) duration=${2:?}; shift 2 ;;
	--repeat) repeat=${2:?}; shift 2 ;;
	--pcap) pcap=${2:?}; shift 2 ;;
	--before) before=${2:?}; shift 2 ;;
	--voipmonitor) vm=${2:?}; shift 2 ;;
	--keep) keep=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "peers.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
build=$(cd "$build" 2>/dev/null && pwd) || { echo "peers.sh: no build folder '$build'" >&2; exit 2; }
for t in /usr/bin/time "$build/gen_calls" "$build/earshot" ${before:+"$before"} ${vm:+"$vm"}; do
	[ -x "$t" ] || { echo "peers.sh: $t is missing or not executable" >&2; exit 2; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/earshot-peers.XXXXXX")
if [ "$keep" = 1 ]; then
	echo "peers.sh: keeping $tmp"
else
	trap 'rm -rf "$tmp"' EXIT
fi
# gen, timed, import, xrt, median
# shellcheck source=bench/rec_lib.sh
. "$here/rec_lib.sh"

echo "peers.sh: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -z "$pcap" ]; then
	pcap="$tmp/peers.pcap"
	gen "$pcap" --calls "$calls" --duration "$duration" --ptime 20
fi
echo "capture: $pcap ($(du -m "$pcap" | cut -f1) MB); CPU s = user + sys, median of $repeat"
echo
printf '%-44s %8s %8s %11s %10s\n' "tool, work" "wall s" "CPU s" "recorded s" "x RT/core"
row() { printf '%-44s %8s %8s %11s %10s\n' "$1" "$W" "$C" "$2" "$(xrt "$2" "$C")"; }

# ---- earshot (this build, and the earlier one) ---------------------------
rec_s=0
for who in after before; do
	if [ "$who" = before ]; then
		[ -n "$before" ] || continue
		EARSHOT=$before
	else
		EARSHOT=$build/earshot
	fi
	label="earshot${before:+ ($who)}"
	median "$repeat" import "$tmp/d" --no-audio "$pcap"
	row "$label: statistics (--no-audio)" "-"
	median "$repeat" import "$tmp/d" --format wav "$pcap"
	row "$label: + stereo WAV" "$REC"
	median "$repeat" import "$tmp/d" --format opus "$pcap"
	row "$label: + Ogg/Opus (default)" "$REC"
	rec_s=$REC
done
unset EARSHOT
# One call as a stereo WAV for the encoders below.
import "$tmp/d" --format wav "$pcap"
"$build/earshot" --data "$tmp/d" export 1 -o "$tmp/call.wav" >/dev/null
call_s=$(python3 -c 'import wave, sys; f = wave.open(sys.argv[1]); print(f.getnframes() / f.getframerate())' "$tmp/call.wav")

# ---- tshark ----------------------------------------------------------------
if command -v tshark >/dev/null; then
	median "$repeat" timed tshark -n -q -z rtp,streams -r "$pcap"
	row "tshark -z rtp,streams: statistics" "-"
else
	echo "peers.sh: tshark not installed: skipped" >&2
fi

# ---- VoIPmonitor (only when given) ------------------------------------------
# vm_conf AUDIO JB : a configuration matching earshot's work
vm_conf() {
	local jb=$2
	mkdir -p "$tmp/vmspool"
	cat >"$tmp/vm.conf" <<EOF
[general]
spooldir = $tmp/vmspool
nocdr = yes
savesip = no
savertp = no
savertcp = no
savegraph = no
managerport = 0
saveaudio = $1
jitterbuffer_f1 = $jb
jitterbuffer_f2 = $jb
jitterbuffer_adapt = $jb
EOF
}
vm_run() {
	rm -rf "$tmp/vmspool"
	timed "$vm" --config-file="$tmp/vm.conf" -k -r "$pcap"
}
if [ -n "$vm" ]; then
	for v in "no no:statistics, no jitter-buffer MOS" "no yes:statistics with jitter-buffer MOS" \
		"wav no:+ WAV" "ogg no:+ Ogg/Vorbis"; do
		read -r audio jb <<<"${v%%:*}"
		vm_conf "$audio" "$jb"
		median "$repeat" vm_run
		if [ "$audio" = no ]; then
			row "voipmonitor: ${v#*:}" "-"
		else
			row "voipmonitor: ${v#*:}" "$rec_s"
		fi
	done
else
	echo "(VoIPmonitor: not run; give --voipmonitor PATH to include it)"
fi

# ---- encoders on one call ----------------------------------------------------
if command -v opusenc >/dev/null; then
	median "$repeat" timed opusenc --quiet --bitrate 32 --comp 5 "$tmp/call.wav" "$tmp/x.opus"
	row "opusenc --bitrate 32 --comp 5 (one call)" "$call_s"
fi
if command -v ffmpeg >/dev/null && [[ $(ffmpeg -hide_banner -encoders 2>/dev/null) == *libopus* ]]; then
	median "$repeat" timed ffmpeg -nostdin -loglevel error -y -i "$tmp/call.wav" -c:a libopus \
		-b:a 32k "$tmp/x.ff.opus"
	row "ffmpeg -c:a libopus -b:a 32k (one call)" "$call_s"
fi
echo
echo "(x RT/core: recorded call-seconds (both parties, one stereo file per call) per CPU second)"
echo "peers.sh: done $(date -u +%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
