#!/usr/bin/env bash
# live.sh - the live-capture benchmark: how many concurrent G.711 calls
# `earshot record -i lo` takes at real time without a drop.
#
# For each N (500, 1000, 2000, 4000, 8000 unless --sizes), gen_calls writes
# N concurrent calls x --duration s (N calls at once, 2 RTP streams each at
# 20 ms), tcpreplay plays it onto lo at its recorded pace while
# `earshot record -i lo` captures; the run stops at the first N where earshot
# or the kernel drops (status.json dropped/if_dropped > 0) or the index holds
# fewer than N calls.  One row per N:
#   N | pps | drops | calls | CPU % of earshot | peak RSS | KiB per call | tcpreplay
# CPU % is earshot's utime+stime over the replay (100 % = one core), CPU s
# its CPU seconds until every call is closed and encoded; KiB per
# call is (peak RSS - RSS before the replay) / N; the tcpreplay column says
# whether tcpreplay kept the capture's pace (its "sent in T seconds" against
# the capture's duration) and sent every packet.
#
# tcpreplay 4.4.3 replays at the capture's own timing about 20-40 % slower
# than real time on this kind of machine (9.5 s for a 7.9 s capture at 8k pps,
# with every --timer), so the default is --pps at the capture's average rate
# (packets / duration), which it holds exactly; --realtime uses the capture's
# timing instead (then pps is lower than the capture's and the column says
# "late").
#
#   bench/live.sh [--build DIR] [--quick] [--sizes "N..."] [--duration S]
#                 [--format F] [--args "record options"] [--realtime] [--keep]
#
# Recordings are WAV by default: with one encode thread, Opus encodes about
# 100 call-seconds per CPU second, so 4000 x 60 s calls would queue for half
# an hour after the replay; bench/recordings.sh measures encoding.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build="$here/../build"
sizes="500 1000 2000 4000 8000"
duration=60
extra=""
format=wav
keep=0
realtime=0

usage() {
	cat <<EOF
usage: bench/live.sh [--build DIR] [--quick] [--sizes "N ..."] [--duration S]
                     [--format F] [--args "OPTIONS"] [--realtime] [--keep]
Replays N concurrent G.711 calls (gen_calls) onto lo at real time with
tcpreplay while \`earshot record -i lo\` captures, for increasing N until
earshot or the kernel drops or calls go missing.  Needs root, tcpreplay,
capinfos.  About 1.5 minutes per size with the default 60 s.
  --build DIR    the CMake build folder with gen_calls and earshot
                 (default: build/ next to bench/)
  --quick        sizes "100 300", 15 s calls
  --sizes LIST   the N to try, in order (default "$sizes")
  --duration S   seconds of each capture (default $duration)
  --format F     recording format for earshot record (default wav; opus
                 queues long after big runs, see bench/recordings.sh)
  --args OPTS    more options for earshot record (e.g. "--workers 2")
  --realtime     replay at the capture's packet times (default: tcpreplay
                 --pps at the capture's average rate, which it holds better)
  --keep         keep the temporary folder (captures, data, logs)
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift ;;
	--quick) sizes="100 300"; duration=15 ;;
	--sizes) sizes=$2; shift ;;
	--duration) duration=$2; shift ;;
	--args) extra=$2; shift ;;
	--format) format=$2; shift ;;
	--keep) keep=1 ;;
	--realtime) realtime=1 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done

earshot="$build/earshot"
gen="$build/gen_calls"
for t in "$earshot" "$gen"; do
	[ -x "$t" ] || { echo "live.sh: $t not built" >&2; exit 1; }
done
for t in tcpreplay capinfos python3; do
	command -v "$t" >/dev/null || { echo "live.sh: $t not installed" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "live.sh: tcpreplay and capturing on lo need root" >&2; exit 1; }
"$earshot" record --help >/dev/null 2>&1 || { echo "live.sh: $earshot has no record command" >&2; exit 1; }

tmp=$(mktemp -d /tmp/earshot-live-bench.XXXXXX)
pid=""
cleanup() {
	if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
	if [ "$keep" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# gen_calls' calls use 10.0.0.0/8; the filter keeps anything else on lo out
bpf="udp and net 10.0.0.0/8"

# json FILE EXPR: a value out of status.json (s is the parsed object)
json() {
	python3 - "$1" "$2" <<'EOF' 2>/dev/null || echo ""
import json, sys
s = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))
EOF
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
vm() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

printf "live capture on lo, %s s of G.711 calls (20 ms), %s cores, tcpreplay %s, earshot record %s\n" \
	"$duration" "$(nproc)" "$([ "$realtime" = 1 ] && echo "real time" || echo "--pps")" "--format $format $extra"
printf "%6s | %8s | %11s | %6s | %6s | %7s | %9s | %8s | %s\n" \
	N pps drops calls "CPU %" "CPU s" "peak RSS" "KiB/call" tcpreplay
printf -- "-------+----------+-------------+--------+--------+---------+-----------+----------+----------\n"
hz=$(getconf CLK_TCK)
verdict=""
for n in $sizes; do
	pcap="$tmp/live-$n.pcap"
	"$gen" -o "$pcap" -n "$n" -c "$n" -d "$duration" -s 1 >"$tmp/gen-$n.log" 2>&1
	pkts=$(capinfos -c -M "$pcap" | awk '/Number of packets/ { print $NF }')
	span=$(capinfos -u -M "$pcap" | awk '/Capture duration/ { print $(NF-1) }')

	data="$tmp/data-$n"
	# shellcheck disable=SC2086 # $extra is a list of options
	"$earshot" --data "$data" record -i lo --filter "$bpf" --rtp-timeout 5 --linger 2 \
		--format "$format" $extra 2>"$tmp/record-$n.log" &
	pid=$!
	for _ in $(seq 200); do
		[ "$(json "$data/run/status.json" 's["pid"]')" = "$pid" ] && break
		sleep 0.1
	done
	[ -f "$data/run/status.json" ] || { echo "live.sh: no status.json (see $tmp/record-$n.log)" >&2; keep=1; exit 1; }
	rss0=$(vm "$pid" VmRSS)
	t0=$(date +%s.%N)
	c0=$(cpu_ticks "$pid")
	# above ~20k pps, send in bursts of 10+ packets per timer tick (smoother)
	pace=$(awk -v p="$pkts" -v d="$span" 'BEGIN { r = p / d; m = int(r / 20000);
		printf "--pps=%d", r + 0.5; if (m > 1) printf " --pps-multi=%d", m }')
	[ "$realtime" = 1 ] && pace=""
	# shellcheck disable=SC2086 # $pace is empty or one option
	tcpreplay -i lo $pace "$pcap" >"$tmp/tcpreplay-$n.log" 2>&1
	t1=$(date +%s.%N)
	c1=$(cpu_ticks "$pid")
	# the calls end with BYE; wait for earshot to close and encode them all
	# (or until nothing changes for 30 s: calls whose BYE was lost wait for
	# --idle-timeout and count as missing)
	last=""; since=$(date +%s)
	while :; do
		now=$(json "$data/run/status.json" '(s["active_calls"], s["recording_queue"], s["recordings"])')
		case "$now" in "(0, 0,"*) break ;; esac
		if [ "$now" != "$last" ]; then last=$now; since=$(date +%s); fi
		[ $(($(date +%s) - since)) -ge 30 ] && break
		sleep 0.5
	done
	sleep 1.5
	st="$data/run/status.json"
	drops=$(json "$st" 'sum(i["dropped"] for i in s["interfaces"])')
	ifdrops=$(json "$st" 'sum(i["if_dropped"] for i in s["interfaces"])')
	# earshot's own queue between capture and call workers (not in the
	# status contract's minimum, so 0 when absent)
	qdrops=$(json "$st" 's.get("queue_drops", 0)')
	active=$(json "$st" 's["active_calls"]')
	hwm=$(vm "$pid" VmHWM)
	c2=$(cpu_ticks "$pid")
	kill -TERM "$pid"
	rc=0; wait "$pid" || rc=$?
	pid=""
	calls=$("$earshot" --data "$data" calls --json 2>/dev/null \
		| python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null || echo 0)

	sent=$(awk '/^Actual:/ { print $2 }' "$tmp/tcpreplay-$n.log")
	took=$(awk '/^Actual:/ { for (i = 1; i <= NF; i++) if ($i == "in") print $(i+1) }' "$tmp/tcpreplay-$n.log")
	failed=$(awk '/Failed packets:/ { print $NF }' "$tmp/tcpreplay-$n.log")
	tr=$(awk -v s="$sent" -v p="$pkts" -v t="$took" -v d="$span" -v f="${failed:-0}" 'BEGIN {
		if (s != p || f > 0) printf "sent %s/%s", s, p;
		else if (t > d * 1.02 + 0.5) printf "late %.1f/%.1f s", t, d;
		else printf "ok %.1f s", t }')
	cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" -v t0="$t0" -v t1="$t1" \
		'BEGIN { printf "%.1f", 100 * (b - a) / hz / (t1 - t0) }')
	perc=$(awk -v h="$hwm" -v r="$rss0" -v n="$n" 'BEGIN { printf "%.1f", (h - r) / n }')
	cpus=$(awk -v a="$c0" -v b="$c2" -v hz="$hz" 'BEGIN { printf "%.1f", (b - a) / hz }')
	printf "%6d | %8.0f | %s/%s/%-7s | %6s | %6s | %7s | %5.0f MiB | %8s | %s\n" \
		"$n" "$(awk -v p="$pkts" -v d="$span" 'BEGIN { print p / d }')" "${drops:-?}" \
		"${ifdrops:-?}" "${qdrops:-?}" "$calls" "$cpu" "$cpus" "$(awk -v h="$hwm" 'BEGIN { print h / 1024 }')" \
		"$perc" "$tr"
	[ "${active:-0}" = 0 ] || echo "       $active calls still active 30 s after the replay when stopped"
	[ "$rc" = 0 ] || echo "       earshot record exited $rc after SIGTERM (see $tmp/record-$n.log)"
	[ "$keep" = 1 ] || rm -f "$pcap"
	rm -rf "$data/recordings"
	case "$tr" in
	ok*) ;;
	*) verdict="tcpreplay could not keep pace at N=$n ($tr): the limit is the load generator (earshot drops ${drops:-?}/${ifdrops:-?}/${qdrops:-?}, $calls of $n calls)"
	   [ "$realtime" = 1 ] || break ;;
	esac
	if [ "${drops:-1}" != 0 ] || [ "${ifdrops:-1}" != 0 ] || [ "${qdrops:-1}" != 0 ] ||
		[ "$calls" -lt "$n" ]; then
		verdict="first loss at N=$n (drops ${drops:-?}/${ifdrops:-?}/${qdrops:-?}, $calls of $n calls)"
		break
	fi
done
echo "${verdict:-no loss up to N=${n}}"
echo "drops = dropped/if_dropped/queue_drops from status.json; CPU % = of one core over the replay;"
echo "CPU s = earshot's CPU seconds from the replay's start until every call is closed and encoded"
