#!/usr/bin/env bash
# api_load.sh - the REST API under load (issue #7): searches at a fixed
# rate on an index of 100,000 generated calls, 50 clients streaming real
# encrypted recordings in Range chunks, and both at once; beside them, in
# the same run, the same decrypted files from a static file server
# (lighttpd) and the same search SQL in the sqlite3 CLI (lower bounds).
#
# The data folder: `gen_calls` + `earshot import` record a few dozen real
# calls (Opus, encrypted at rest, the defaults), then `gen_index` adds the
# generated calls through the index layer and writes the search mix (by
# number, by name prefix, time range, duration, outcome, tag; paging
# follows next_cursor).  `api_load` is the client: open-loop searches
# (latency from the scheduled time), streams as fast as answered; it
# prints its own CPU.  The server's CPU and RSS come from /proc.
#
#   bench/api_load.sh [--build DIR] [--duration S] [--rate R] [--streams N]
#                     [--calls N] [--real N] [--keep] [--data DIR]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build="$here/../build"
duration=30
rate=200
streams=50
calls=100000
real=32
real_dur=60
chunk=65536
threads=4
sql_n=300
keep=0
data=""
port=18200
peer_port=18201

usage() {
	cat <<EOF
usage: bench/api_load.sh [--build DIR] [--duration S] [--rate R] [--streams N]
                         [--calls N] [--real N] [--threads N] [--keep] [--data DIR]
Builds a data folder (N real calls recorded by earshot import, Opus,
encrypted; plus --calls generated calls through the index layer), serves it
with earshot serve on 127.0.0.1:$port and the decrypted recordings with
lighttpd on 127.0.0.1:$peer_port (apt-get installs it when missing and
allowed), then measures for S seconds each:
  sql       the first $sql_n searches' SQL in the sqlite3 CLI (no HTTP)
  search    R searches/s (api_load, open loop)
  stream    N clients reading whole recordings in $chunk-byte Range requests
  static    the same through lighttpd (the peer)
  both      search + stream at once
About 4-5 minutes on 2 idle cores.
  --build DIR    CMake build folder with earshot, gen_calls, gen_index,
                 api_load (default: build/ next to bench/)
  --duration S   seconds per phase (default $duration)
  --rate R       searches per second (default $rate)
  --streams N    streaming clients (default $streams)
  --calls N      generated calls (default $calls)
  --real N       real recorded calls, $real_dur s each (default $real)
  --threads N    earshot serve --threads (default $threads)
  --data DIR     reuse a data folder a previous --keep run prepared
  --keep         keep the temporary folder
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=${2:?}; shift 2 ;;
	--build=*) build=${1#--build=}; shift ;;
	--duration) duration=${2:?}; shift 2 ;;
	--rate) rate=${2:?}; shift 2 ;;
	--streams) streams=${2:?}; shift 2 ;;
	--calls) calls=${2:?}; shift 2 ;;
	--real) real=${2:?}; shift 2 ;;
	--threads) threads=${2:?}; shift 2 ;;
	--data) data=${2:?}; shift 2 ;;
	--keep) keep=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "api_load.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
build=$(cd "$build" 2>/dev/null && pwd) || { echo "api_load.sh: no build folder '$build'" >&2; exit 2; }
for t in earshot gen_calls gen_index api_load; do
	[ -x "$build/$t" ] || { echo "api_load.sh: $build/$t is missing" >&2; exit 2; }
done
command -v sqlite3 >/dev/null || { echo "api_load.sh: the sqlite3 CLI is needed" >&2; exit 2; }
if ! command -v lighttpd >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	echo "api_load.sh: installing lighttpd (the static file peer)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends lighttpd >/dev/null ||
		echo "api_load.sh: apt-get install lighttpd failed; the peer is skipped" >&2
fi
lighttpd=$(command -v lighttpd || true)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/earshot-api.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ "$keep" = 1 ] || rm -rf "$tmp"
}
trap cleanup EXIT
[ "$keep" = 1 ] && echo "api_load.sh: keeping $tmp"
es() { "$build/earshot" --data "$d" "$@"; }

# ---- the data folder --------------------------------------------------------------------
if [ -n "$data" ]; then
	d=$(cd "$data" && pwd)
	[ -f "$d/bench/queries.txt" ] || { echo "api_load.sh: $d was not prepared by --keep" >&2; exit 2; }
else
	d="$tmp/data"
	mkdir -p "$d/bench"
	t0=$(date +%s.%N)
	echo "api_load.sh: recording $real real calls x $real_dur s (gen_calls --codec mixed, earshot import)"
	"$build/gen_calls" -o "$tmp/real.pcap" -n "$real" -d "$real_dur" --codec mixed --seed 7 >/dev/null
	es import --no-progress "$tmp/real.pcap" | tail -n 1
	rm -f "$tmp/real.pcap"
	echo "api_load.sh: generating $calls calls through the index layer (gen_index)"
	"$build/gen_index" --data "$d" --calls "$calls" --queries "$d/bench/queries.txt"
	printf 'bench-password-%s\n' "$RANDOM$RANDOM" | es user add bench --role supervisor --password-stdin >/dev/null
	es user token bench --json | sed -n 's/.*"token": *"\([^"]*\)".*/\1/p' >"$d/bench/token"
	mkdir -p "$d/bench/static"
	: >"$d/bench/api.txt"
	: >"$d/bench/static.txt"
	for id in $(sqlite3 "$d/index.sqlite" "SELECT call_row FROM recordings ORDER BY call_row"); do
		es export "$id" -o "$d/bench/static/$id.opus" >/dev/null
		echo "/api/calls/$id/audio" >>"$d/bench/api.txt"
		echo "/$id.opus" >>"$d/bench/static.txt"
	done
	awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "api_load.sh: data folder ready in %.0f s\n", b - a }'
fi
token=$(cat "$d/bench/token")
ncalls=$(sqlite3 "$d/index.sqlite" "SELECT count(*) FROM calls")
nrec=$(wc -l <"$d/bench/api.txt")
recmb=$(du -sm "$d/bench/static" | cut -f1)
echo "api_load.sh: $ncalls calls in the index ($(du -m "$d/index.sqlite" | cut -f1) MB), $nrec recordings (${recmb} MB decrypted)"

# ---- the sqlite3 CLI lower bound ---------------------------------------------------------
# The first page's SQL of the first $sql_n searches, timed one by one.
head -n "$sql_n" "$d/bench/queries.txt" | cut -f2 >"$tmp/q.sql"
{ echo ".timer on"; echo ".output /dev/null"; cat "$tmp/q.sql"; } |
	sqlite3 -readonly "$d/index.sqlite" | awk '/^Run Time/ { print $4 * 1000 }' >"$tmp/sql.ms"
paste <(cat "$tmp/sql.ms") <(head -n "$sql_n" "$d/bench/queries.txt" | cut -f1) >"$tmp/sql.by_query"

# ---- servers -----------------------------------------------------------------------------
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }
wait_port() {
	local i
	for ((i = 0; i < 100; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "api_load.sh: nothing listens on port $1" >&2
	return 1
}

"$build/earshot" serve --listen "127.0.0.1:$port" --data "$d" --web '' --threads "$threads" \
	>"$tmp/serve.log" 2>&1 &
srv=$!
pids+=("$srv")
wait_port "$port"
peer=""
if [ -n "$lighttpd" ]; then
	cat >"$tmp/lighttpd.conf" <<EOF
server.document-root = "$d/bench/static"
server.bind = "127.0.0.1"
server.port = $peer_port
server.errorlog = "$tmp/lighttpd.err"
server.max-keep-alive-requests = 100000
server.max-keep-alive-idle = 60
mimetype.assign = (".opus" => "audio/ogg")
EOF
	"$lighttpd" -D -f "$tmp/lighttpd.conf" >"$tmp/lighttpd.log" 2>&1 &
	peer=$!
	pids+=("$peer")
	wait_port "$peer_port"
fi

rows=()
# phase NAME PID api_load-ARGS... : runs the client, adds a row with the
# server's CPU (% of one core) and RSS over the phase
phase() {
	local name=$1 pid=$2
	shift 2
	local c0 c1 t0 t1
	c0=$(cpu_ticks "$pid")
	t0=$(date +%s.%N)
	"$build/api_load" --duration "$duration" "$@" >"$tmp/out.$name" 2>"$tmp/err.$name" || true
	t1=$(date +%s.%N)
	c1=$(cpu_ticks "$pid")
	local srvcpu
	srvcpu=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" -v t0="$t0" -v t1="$t1" \
		'BEGIN { printf "%.0f", 100 * (b - a) / hz / (t1 - t0) }')
	echo "srv_cpu_pct=$srvcpu srv_rss_kib=$(rss_kib "$pid") srv_hwm_kib=$(hwm_kib "$pid")" >>"$tmp/out.$name"
	echo "--- $name: $(tr '\n' ' ' <"$tmp/out.$name")"
	[ -s "$tmp/err.$name" ] && head -n 3 "$tmp/err.$name"
	rows+=("$name")
	sleep 2 # let late answers drain
}
get() { tr ' ' '\n' <"$tmp/out.$1" | sed -n "s/^$2=//p" | head -n 1; }

echo "api_load.sh: load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
phase search "$srv" --port "$port" --token "$token" --queries "$d/bench/queries.txt" --rate "$rate"
phase stream "$srv" --port "$port" --token "$token" --audio "$d/bench/api.txt" --streams "$streams" --chunk "$chunk"
[ -n "$peer" ] && phase static "$peer" --port "$peer_port" --audio "$d/bench/static.txt" --streams "$streams" --chunk "$chunk"
phase both "$srv" --port "$port" --token "$token" --queries "$d/bench/queries.txt" --rate "$rate" \
	--audio "$d/bench/api.txt" --streams "$streams" --chunk "$chunk"
echo "api_load.sh: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- the tables ---------------------------------------------------------------------------
echo
echo "Searches ($ncalls calls; target $rate/s for $duration s; latency from the scheduled time)"
printf '%-22s %8s %8s %8s %9s %9s %9s %9s %6s %8s %11s\n' run sent ok err "rate/s" "p50 ms" "p95 ms" \
	"p99 ms" "srv %" "client %" "srv RSS KiB"
for r in search both; do
	name="earshot"
	[ "$r" = both ] && name="earshot + $streams streams"
	printf '%-22s %8s %8s %8s %9s %9s %9s %9s %6s %8s %11s\n' "$name" \
		"$(get $r search_sent)" "$(get $r search_ok)" "$(get $r search_err)" "$(get $r search_rate)" \
		"$(get $r search_p50_ms)" "$(get $r search_p95_ms)" "$(get $r search_p99_ms)" \
		"$(get $r srv_cpu_pct)" "$(get $r client_cpu_pct)" "$(get $r srv_hwm_kib)"
done
sort -n "$tmp/sql.ms" | awk -v n="$sql_n" '{ v[NR] = $1; s += $1 } END {
	printf "%-22s %8d %8d %8d %9.1f %9.2f %9.2f %9.2f %6s %8s %10s\n", "sqlite3 CLI (1st page)", NR, NR, 0,
		NR / (s / 1000), v[int(0.5 * (NR - 1) + 1.5)], v[int(0.95 * (NR - 1) + 1.5)],
		v[int(0.99 * (NR - 1) + 1.5)], "-", "-", "-" }'
echo "(sqlite3: $sql_n searches one after another in one process, first page only; rate/s = 1 / mean;"
echo " gen_index's plain LIKE SQL, without the party trigram index earshot's search uses since schema v7)"
echo
echo "Slowest searches in the sqlite3 CLI (ms, query):"
sort -rn "$tmp/sql.by_query" | head -n 5
slow=$(sort -rn "$tmp/sql.by_query" | head -n 1 | cut -f2)
echo "EXPLAIN QUERY PLAN of the slowest:"
grep -F -m 1 "$slow	" "$d/bench/queries.txt" | cut -f2 | sed 's/^/EXPLAIN QUERY PLAN /' | sqlite3 -readonly "$d/index.sqlite"
echo
echo "By kind (sqlite3 CLI ms: count, median, p95):"
awk -F'\t' '{ k = "time range only"; q = $2
	if (q ~ /party=%2B/) k = "party: outside number"; else if (q ~ /party=[0-9]/) k = "party: extension"
	else if (q ~ /party=/) k = "party: name"; else if (q ~ /tag=/) k = "tag"
	if (q !~ /from=/) k = k ", no time range"
	print k "\t" $1 }' "$tmp/sql.by_query" | sort -t'	' -k1,1 -k2,2n |
	awk -F'\t' '{ v[$1, ++n[$1]] = $2 } END { for (k in n) printf "  %-38s %4d %9.1f %9.1f\n", k, n[k],
		v[k, int(0.5 * (n[k] - 1) + 1.5)], v[k, int(0.95 * (n[k] - 1) + 1.5)] }' | sort
echo
echo "Streams ($streams clients, whole recordings in ${chunk}-byte Range requests, $duration s)"
printf '%-22s %9s %8s %9s %6s %10s %10s %10s %7s %8s %10s\n' run MB/s files requests err "TTFB p50" "TTFB p95" \
	"chunk p95" "srv %" "client %" "srv RSS KiB"
for r in stream static both; do
	[ -f "$tmp/out.$r" ] || continue
	name="earshot (decrypting)"
	[ "$r" = static ] && name="lighttpd (plain files)"
	[ "$r" = both ] && name="earshot + searches"
	printf '%-22s %9s %8s %9s %6s %10s %10s %10s %7s %8s %10s\n' "$name" "$(get $r stream_mbps)" \
		"$(get $r stream_files)" "$(get $r stream_requests)" "$(get $r stream_err)" \
		"$(get $r stream_ttfb_p50_ms)" "$(get $r stream_ttfb_p95_ms)" "$(get $r stream_chunk_p95_ms)" \
		"$(get $r srv_cpu_pct)" "$(get $r client_cpu_pct)" "$(get $r srv_hwm_kib)"
done
echo "(srv %: the server process's CPU over the phase, % of one core; client %: api_load's own; TTFB in ms)"
