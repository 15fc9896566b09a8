#!/usr/bin/env bash
# live.sh - the live-capture benchmark: how many concurrent G.711 calls
# `earshot record -i lo` takes at real time without a drop, and (with
# --calls) whether the recording backlog stays bounded under sustained load.
#
# Everything runs in a network namespace of its own (`ip netns add`, its own
# `lo`; tcpreplay and earshot started in it with `ip netns exec`), so other
# programs' loopback traffic (other tests, other benchmarks on a shared
# machine) never enters the capture; the namespace, the processes started
# in it and the temporary folder are removed on exit, error or Ctrl-C.
# --no-netns runs on the host's `lo` as before.
#
# Step mode (default).  For each N (500, 1000, 2000, 4000, 8000 unless
# --sizes), gen_calls writes N concurrent calls x --duration s (N calls at
# once, 2 RTP streams each at 20 ms), tcpreplay plays it onto lo at its
# recorded pace while `earshot record -i lo` captures; the run stops at the
# first N where earshot or the kernel drops (status.json dropped/if_dropped
# > 0) or the index holds fewer than N calls.  One row per N:
#   N | pps | drops | calls | CPU % | CPU s | CPU s/call-min | peak RSS | KiB per call | tcpreplay
# CPU % is earshot's utime+stime over the replay (100 % = one core), CPU s
# its CPU seconds until every call is closed and encoded, CPU s/call-min
# that divided by the N x duration / 60 call-minutes replayed; KiB per call
# is (peak RSS - RSS before the replay) / N; the tcpreplay column says
# whether tcpreplay kept the capture's pace (its "sent in T seconds" against
# the capture's duration) and sent every packet.
#
# Sustained mode (--calls "N ..."; format opus unless --format, the
# recorder's default, encoded in the background).  For each N in turn,
# bench/gen_live sends N G.711 calls in progress at once for --duration s
# (default 600), in real time from memory through a packet socket on the
# namespace's lo (sendmmsg, one batch a millisecond, paced by the monotonic
# clock): gen_calls' SIP and 20 ms RTP, each call --min-len..--max-len s
# (60..180), a new call starting on a line as the last one ends, so N stays
# constant.  earshot record is pinned to CPU 0 at nice -10 and gen_live
# to CPU 1 at real-time priority (taskset, chrt; --no-pin leaves them
# free), so earshot's figures are for one core.  Every --interval s (10) a sample: status.json's recording_queue
# (the figure /metrics exports as earshot_recording_backlog), its oldest
# age (recording_queue_oldest_seconds), active_calls, drops, and earshot's
# CPU % over the interval (100 % = one core); gen_live reports its own
# lateness (packets sent more than 10 ms after their time) beside it.
# "Held" = no drops, gen_live on pace (no packet sent a second or more
# late; its count of packets > 10 ms late is printed), and no upward trend over the last
# half of the run: the least-squares slope of the backlog over the last
# half, times that half's length, is at most the calls that finish in one
# interval (N x interval / mean call length, at least 2).  Per N also
# earshot's CPU seconds from its start until every recording is encoded
# over the call-seconds gen_live sent: CPU s per call-minute and the calls
# one core would keep up with, a figure that other load on a shared
# machine changes little (it slows earshot down, it does not add to its
# CPU time).  It stops at the first N that does not hold and prints the
# largest that held.
# (Before gen_live the source was tcpreplay looping a gen_calls capture,
# which fell behind under load: the load it measured was not N.)
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
#                 [--no-netns] [--calls "N..." [--min-len S] [--max-len S]
#                 [--interval S] [--no-pin]]
#
# Recordings are WAV by default in step mode: with one encode thread, Opus
# encodes a few hundred call-seconds per CPU second, so 4000 x 60 s calls
# would queue long after the replay; bench/recordings.sh measures encoding
# alone, --calls the encoder under sustained load.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build="$here/../build"
sizes="500 1000 2000 4000 8000"
duration=60
duration_set=0
extra=""
format=""
keep=0
realtime=0
rt=0
netns=1
calls=""
min_len=60
max_len=180
interval=10
pin=1

usage() {
	cat <<EOF
usage: bench/live.sh [--build DIR] [--quick] [--sizes "N ..."] [--duration S]
                     [--format F] [--args "OPTIONS"] [--realtime] [--keep]
                     [--no-netns] [--calls "N ..." [--min-len S] [--max-len S]
                     [--interval S] [--no-pin]]
Replays N concurrent G.711 calls (gen_calls) onto lo at real time with
tcpreplay while \`earshot record -i lo\` captures, for increasing N until
earshot or the kernel drops or calls go missing; or, with --calls, keeps N
calls in progress for --duration s (bench/gen_live, real time) and samples
the recording backlog.
Runs in a network namespace of its own.  Needs root, ip (iproute2),
tcpreplay, capinfos.  About 1.5 minutes per size with the default 60 s.
  --build DIR      the CMake build folder with gen_calls and earshot
                   (default: build/ next to bench/)
  --quick          sizes "100 300", 15 s calls
  --sizes LIST     the N to try, in order (default "$sizes")
  --duration S     seconds of each capture (default $duration); with --calls,
                   of each sustained run (default 600)
  --format F       recording format for earshot record (default wav; with
                   --calls opus, the recorder's default)
  --args OPTS      more options for earshot record (e.g. "--workers 2")
  --realtime       replay at the capture's packet times (default: tcpreplay
                   --pps at the capture's average rate, which it holds better)
  --keep           keep the temporary folder (captures, data, logs)
  --no-netns       capture on the host's lo, where other programs' loopback
                   traffic to 10.0.0.0/8 enters the capture too
  --calls LIST     sustained mode: these N, in order, until one does not hold
  --min-len S      sustained mode: shortest call (default $min_len)
  --max-len S      sustained mode: longest call (default $max_len)
  --interval S     sustained mode: seconds between backlog samples (default $interval)
  --no-pin         sustained mode: do not pin earshot to CPU 0 and gen_live to CPU 1
  --rt             sustained mode: run the pinned recorder at real-time priority
                   (SCHED_RR 5) instead of nice -10, so a busy shared machine
                   cannot take its core (the kernel still keeps 5 % for others)
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift ;;
	--quick) sizes="100 300"; duration=15; duration_set=1 ;;
	--sizes) sizes=$2; shift ;;
	--duration) duration=$2; duration_set=1; shift ;;
	--args) extra=$2; shift ;;
	--format) format=$2; shift ;;
	--keep) keep=1 ;;
	--realtime) realtime=1 ;;
	--no-netns) netns=0 ;;
	--calls) calls=$2; shift ;;
	--min-len) min_len=$2; shift ;;
	--max-len) max_len=$2; shift ;;
	--no-pin) pin=0 ;;
	--rt) rt=1 ;;
	--interval) interval=$2; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
if [ -n "$calls" ]; then
	[ "$duration_set" = 1 ] || duration=600
	format=${format:-opus}
else
	format=${format:-wav}
fi

earshot="$build/earshot"
gen="$build/gen_calls"
[ -n "$calls" ] && gen="$build/gen_live"
for t in "$earshot" "$gen"; do
	[ -x "$t" ] || { echo "live.sh: $t not built" >&2; exit 1; }
done
tools="python3 ip"
[ -n "$calls" ] && [ "$pin" = 1 ] && tools="$tools taskset chrt nice"
[ -n "$calls" ] || tools="$tools tcpreplay capinfos"
for t in $tools; do
	command -v "$t" >/dev/null || { echo "live.sh: $t not installed" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "live.sh: sending raw frames, capturing on lo and ip netns need root" >&2; exit 1; }
"$earshot" record --help >/dev/null 2>&1 || { echo "live.sh: $earshot has no record command" >&2; exit 1; }

tmp=$(mktemp -d /tmp/earshot-live-bench.XXXXXX)
pid=""
replay=""
ns=""
nsexec=()
cleanup() {
	for p in $pid $replay; do kill -KILL "$p" 2>/dev/null || true; done
	if [ -n "$ns" ]; then
		# whatever still runs in our namespace was started by this script
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
		ip netns del "$ns" 2>/dev/null || echo "live.sh: could not remove network namespace $ns" >&2
	fi
	if [ "$keep" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if [ "$netns" = 1 ]; then
	ns="earshot-bench-$$"
	ip netns add "$ns" || { ns=""; echo "live.sh: cannot create a network namespace (root? or --no-netns)" >&2; exit 1; }
	ip netns exec "$ns" ip link set lo up
	nsexec=(ip netns exec "$ns")
fi

# gen_calls' calls use 10.0.0.0/8; the filter keeps anything else on lo out
bpf="udp and net 10.0.0.0/8"

# json FILE EXPR: a value out of status.json (s is the parsed object)
json() {
	python3 - "$1" "$2" <<'PY' 2>/dev/null || echo ""
import json, sys
s = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))
PY
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
vm() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
hz=$(getconf CLK_TCK)
pin_rec=()
pin_gen=()
if [ -n "$calls" ] && [ "$pin" = 1 ]; then
	# and ahead of the shared machine's other work: the source on time
	# (real-time priority; it needs a few % of its core), the recorder
	# weighted as if the core were its own (nice -10)
	pin_rec=(taskset -c 0 nice -n -10)
	[ "$rt" = 1 ] && pin_rec=(taskset -c 0 chrt -r 5)
	pin_gen=(taskset -c 1 chrt -f 10)
fi

# start_earshot DATA LOG: `earshot record` in the namespace (ip netns exec
# execs it, so $! is earshot itself); sets pid, waits for its status.json
start_earshot() {
	# shellcheck disable=SC2086 # $extra is a list of options
	"${nsexec[@]}" ${pin_rec[@]+"${pin_rec[@]}"} "$earshot" --data "$1" record -i lo \
		--filter "$bpf" --rtp-timeout 5 --linger 2 --format "$format" $extra 2>"$2" &
	pid=$!
	for _ in $(seq 200); do
		[ "$(json "$1/run/status.json" 's["pid"]')" = "$pid" ] && break
		sleep 0.1
	done
	[ -f "$1/run/status.json" ] || { echo "live.sh: no status.json (see $2)" >&2; keep=1; exit 1; }
}

# wait_idle DATA: until every call is closed and encoded (or nothing has
# changed for 30 s: calls whose BYE was lost wait for --idle-timeout)
wait_idle() {
	local now last="" since
	since=$(date +%s)
	while :; do
		now=$(json "$1/run/status.json" '(s["active_calls"], s["recording_queue"], s["recordings"])')
		case "$now" in "(0, 0,"*) break ;; esac
		if [ "$now" != "$last" ]; then last=$now; since=$(date +%s); fi
		[ $(($(date +%s) - since)) -ge 30 ] && break
		sleep 0.5
	done
	sleep 1.5
}

# drops of status.json: "kernel interface queue"
drops_of() {
	json "$1" '"%d %d %d" % (sum(i["dropped"] for i in s["interfaces"]), sum(i["if_dropped"] for i in s["interfaces"]), s.get("queue_drops", 0))'
}

# pace PCAP: tcpreplay's rate options for the capture (none with --realtime)
pace() {
	[ "$realtime" = 1 ] && return 0
	# above ~20k pps, send in bursts of 10+ packets per timer tick (smoother)
	awk -v p="$pkts" -v d="$span" 'BEGIN { r = p / d; m = int(r / 20000);
		printf "--pps=%d", r + 0.5; if (m > 1) printf " --pps-multi=%d", m }'
}

capture_facts() {
	pkts=$(capinfos -c -M "$1" | awk '/Number of packets/ { print $NF }')
	span=$(capinfos -u -M "$1" | awk '/Capture duration/ { print $(NF-1) }')
}

# ---- sustained mode -----------------------------------------------------------------

sustained() {
	local n held_n="" verdict=""
	local mean_len
	mean_len=$(awk -v a="$min_len" -v b="$max_len" 'BEGIN { print (a + b) / 2 }')
	printf "sustained live recording in %s: N G.711 calls in progress (bench/gen_live), %s-%s s each, %s s per N, " \
		"${ns:-the host namespace}" "$min_len" "$max_len" "$duration"
	printf "%s cores%s, earshot record --format %s %s\n" "$(nproc)" \
		"$([ "$pin" = 1 ] && echo ", earshot on CPU 0 ($([ "$rt" = 1 ] && echo "SCHED_RR 5" || echo "nice -10")) and gen_live on CPU 1 (SCHED_FIFO)")" "$format" "$extra"
	printf "every %s s: backlog (recording_queue), its oldest age, calls in progress, earshot CPU %% of one core\n" "$interval"
	for n in $calls; do
		local data="$tmp/sdata-$n" log="$tmp/srecord-$n.log" glog="$tmp/gen_live-$n.log"
		local samples="$tmp/samples-$n.txt"
		start_earshot "$data" "$log"
		local c0 t0 c1 t1
		c0=$(cpu_ticks "$pid")
		t0=$(date +%s.%N)
		"${nsexec[@]}" ${pin_gen[@]+"${pin_gen[@]}"} "$gen" -i lo -n "$n" -d "$duration" \
			--min-len "$min_len" --max-len "$max_len" --report "$interval" 2>"$glog" &
		replay=$!
		# one sampler for the whole run (a process per sample falls behind
		# on a loaded machine: python3 alone can take seconds to start)
		nice -n -10 python3 - "$data/run/status.json" "$pid" "$replay" "$interval" "$hz" \
			"$samples" <<'PY' &
import json, os, sys, time
st, pid, gen, iv, hz, out = sys.argv[1:]
iv, hz = float(iv), float(hz)
def ticks():
    try:
        f = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12])
    except (OSError, IndexError, ValueError):
        return 0
t0 = time.time()
pc, pt, nxt = ticks(), t0, t0 + iv
with open(out, "w") as o:
    while os.path.exists("/proc/%s" % gen):
        time.sleep(max(0.0, min(0.5, nxt - time.time())))
        now = time.time()
        if now < nxt:
            continue
        c = ticks()
        try:
            s = json.load(open(st))
            o.write("%.1f %d %d %s %.0f\n" % (now - t0, s["recording_queue"], s["active_calls"],
                    s.get("recording_queue_oldest_seconds", "-"), 100 * (c - pc) / hz / (now - pt)))
            o.flush()
        except (OSError, ValueError, KeyError):
            pass
        pc, pt, nxt = c, now, nxt + iv
PY
		local sampler=$!
		wait "$replay" || true
		replay=""
		wait "$sampler" || true
		t1=$(date +%s.%N)
		c1=$(cpu_ticks "$pid")
		local st="$data/run/status.json" d
		d=$(drops_of "$st")
		# the backlog's drain after the load: how long until it is empty
		local tq0 left
		tq0=$(date +%s)
		wait_idle "$data"
		left=$(json "$st" 's["recording_queue"]')
		local c2
		c2=$(cpu_ticks "$pid")
		kill -TERM "$pid"
		wait "$pid" || true
		pid=""
		rm -rf "$data/recordings"
		# CPU per call-second, capture to encoded: the capacity of a core
		# that contention for the CPU does not change much
		local callsec per
		callsec=$(awk '/: total / { for (i = 1; i <= NF; i++) if ($i == "call-s,") print $(i-1) }' "$glog")
		per=$(awk -v a="$c0" -v b="$c2" -v hz="$hz" -v cs="${callsec:-0}" 'BEGIN {
			c = (b - a) / hz; if (cs > 0 && c > 0) printf "%.2f CPU s for %.0f call-s: %.2f CPU s per call-minute, %.0f calls per core", c, cs, 60 * c / cs, cs / c; else print "-" }')
		local glate
		glate=$(awk '/: total / { for (i = 1; i <= NF; i++) if ($i == "max") print $(i+1) }' "$glog")
		local out
		out=$(python3 - "$samples" "$n" "$interval" "$mean_len" "$d" "$c0" "$c1" "$hz" "$t0" "$t1" "${glate:-x}" <<'PY'
import sys
path, n, iv, cl, drops, c0, c1, hz, t0, t1, glate = sys.argv[1:]
n, iv, cl, hz = int(n), float(iv), float(cl), float(hz)
rows = [l.split() for l in open(path) if l.strip()]
pts = [(float(r[0]), int(r[1])) for r in rows if len(r) >= 3 and r[1].isdigit()]
act = [int(r[2]) for r in rows if len(r) >= 3 and r[2].isdigit()]
ages = [r[3] for r in rows if len(r) >= 4]
cpu = [r[4] for r in rows if len(r) >= 5]
cores = (float(c1) - float(c0)) / hz / max(1e-9, float(t1) - float(t0))
if len(pts) < 4:
    print("0|too few samples (%d)|%.2f|-|-|0|-|-" % (len(pts), cores))
    sys.exit()
end = pts[-1][0]
half = [(t, q) for t, q in pts if t >= end / 2]
if len(half) < 2:
    half = pts[-2:]
mt = sum(t for t, _ in half) / len(half)
mq = sum(q for _, q in half) / len(half)
den = sum((t - mt) ** 2 for t, _ in half) or 1e-9
slope = sum((t - mt) * (q - mq) for t, q in half) / den
growth = slope * (half[-1][0] - half[0][0])
tol = max(2.0, n * iv / cl)
nodrop = drops.split() == ["0", "0", "0"]
ontime = glate != "x" and float(glate) < 1000.0
held = growth <= tol and nodrop and ontime
why = ("held" if held else "drops %s" % drops if not nodrop
       else "gen_live behind (late max %s ms)" % glate if not ontime else "backlog grew")
print("%d|%s|%.2f|%+.1f (tolerance %.0f)|%s|%.0f|%s|%s" % (
    held, why, cores, growth, tol, " ".join(str(q) for _, q in pts),
    sum(act) / len(act) if act else 0, " ".join(ages), " ".join(cpu)))
PY
)
		local ok why cores growth series mean ages cpus
		IFS='|' read -r ok why cores growth series mean ages cpus <<<"$out"
		printf "N=%-5d %-14s %s calls in progress on average, drops %s, earshot %.2f cores, backlog growth over the last half %s recordings, %s left %s s after the load\n" \
			"$n" "$why" "$mean" "$d" "$cores" "$growth" "${left:-?}" "$(($(date +%s) - tq0))"
		printf "        backlog every %s s: %s\n" "$interval" "$series"
		printf "        oldest queued (s):  %s\n" "$ages"
		printf "        earshot CPU %%:      %s\n" "$cpus"
		printf "        %s\n" "$(grep ': total ' "$glog" || echo "gen_live: no total (see $glog)")"
		printf "        earshot, start to every recording encoded: %s\n" "$per"
		if [ "$ok" = 1 ]; then
			held_n=$n
		else
			verdict="N=$n did not hold ($why)"
			break
		fi
	done
	if [ -n "$held_n" ]; then
		echo "largest N that held: $held_n ($(nproc)-core machine$([ "$pin" = 1 ] && echo ", earshot pinned to one core"))${verdict:+; $verdict}"
	else
		echo "no N held${verdict:+: $verdict}"
	fi
}

if [ -n "$calls" ]; then
	sustained
	exit 0
fi

# ---- step mode ----------------------------------------------------------------------

printf "live capture on lo (%s), %s s of G.711 calls (20 ms), %s cores, tcpreplay %s, earshot record %s\n" \
	"${ns:-host namespace}" "$duration" "$(nproc)" "$([ "$realtime" = 1 ] && echo "real time" || echo "--pps")" \
	"--format $format $extra"
printf "%6s | %8s | %11s | %6s | %6s | %7s | %8s | %9s | %8s | %s\n" \
	N pps drops calls "CPU %" "CPU s" "s/call-m" "peak RSS" "KiB/call" tcpreplay
printf -- "-------+----------+-------------+--------+--------+---------+----------+-----------+----------+----------\n"
verdict=""
for n in $sizes; do
	pcap="$tmp/live-$n.pcap"
	"$gen" -o "$pcap" -n "$n" -c "$n" -d "$duration" -s 1 >"$tmp/gen-$n.log" 2>&1
	capture_facts "$pcap"

	data="$tmp/data-$n"
	start_earshot "$data" "$tmp/record-$n.log"
	rss0=$(vm "$pid" VmRSS)
	t0=$(date +%s.%N)
	c0=$(cpu_ticks "$pid")
	# shellcheck disable=SC2046 # pace is empty or options
	"${nsexec[@]}" tcpreplay -i lo $(pace) "$pcap" >"$tmp/tcpreplay-$n.log" 2>&1 &
	replay=$!
	wait "$replay" || true # in the background: a signal's trap runs at once
	replay=""
	t1=$(date +%s.%N)
	c1=$(cpu_ticks "$pid")
	# the calls end with BYE; wait for earshot to close and encode them all
	wait_idle "$data"
	st="$data/run/status.json"
	read -r drops ifdrops qdrops <<<"$(drops_of "$st")"
	active=$(json "$st" 's["active_calls"]')
	hwm=$(vm "$pid" VmHWM)
	c2=$(cpu_ticks "$pid")
	kill -TERM "$pid"
	rc=0; wait "$pid" || rc=$?
	pid=""
	calls_n=$("$earshot" --data "$data" calls --json 2>/dev/null \
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
	cpus=$(awk -v a="$c0" -v b="$c2" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }')
	percm=$(awk -v c="$cpus" -v n="$n" -v d="$duration" 'BEGIN { printf "%.5f", c / (n * d / 60) }')
	printf "%6d | %8.0f | %s/%s/%-7s | %6s | %6s | %7s | %8s | %5.0f MiB | %8s | %s\n" \
		"$n" "$(awk -v p="$pkts" -v d="$span" 'BEGIN { print p / d }')" "${drops:-?}" \
		"${ifdrops:-?}" "${qdrops:-?}" "$calls_n" "$cpu" "$cpus" "$percm" \
		"$(awk -v h="$hwm" 'BEGIN { print h / 1024 }')" "$perc" "$tr"
	[ "${active:-0}" = 0 ] || echo "       $active calls still active 30 s after the replay when stopped"
	[ "$rc" = 0 ] || echo "       earshot record exited $rc after SIGTERM (see $tmp/record-$n.log)"
	[ "$keep" = 1 ] || rm -f "$pcap"
	rm -rf "$data/recordings"
	case "$tr" in
	ok*) ;;
	*) verdict="tcpreplay could not keep pace at N=$n ($tr): the limit is the load generator (earshot drops ${drops:-?}/${ifdrops:-?}/${qdrops:-?}, $calls_n of $n calls)"
	   [ "$realtime" = 1 ] || break ;;
	esac
	if [ "${drops:-1}" != 0 ] || [ "${ifdrops:-1}" != 0 ] || [ "${qdrops:-1}" != 0 ] ||
		[ "$calls_n" -lt "$n" ]; then
		verdict="first loss at N=$n (drops ${drops:-?}/${ifdrops:-?}/${qdrops:-?}, $calls_n of $n calls)"
		break
	fi
done
echo "${verdict:-no loss up to N=${n}}"
echo "drops = dropped/if_dropped/queue_drops from status.json; CPU % = of one core over the replay;"
echo "CPU s = earshot's CPU seconds from the replay's start until every call is closed and encoded;"
echo "s/call-m = CPU s per call-minute replayed (N x duration / 60)"
