#!/usr/bin/env bash
# verify_api.sh - latency of GET /api/calls/{id}/verify on an archive of N
# recordings: generate N short calls, import them (encrypted, with their
# ledger leaves), start `earshot serve` on 127.0.0.1:PORT, then time R
# sequential requests over random recorded calls, with ?quick=1 (ledger,
# file hash, metadata: no decryption) and without (the audio decrypted and
# hashed too).  Prints the median, p90 and mean per request in ms.
#
# The archive is kept in --work DIR when given (reused if it has an index),
# so that two builds can be compared on the same data:
#   bench/verify_api.sh --build build-old --work /tmp/va
#   bench/verify_api.sh --build build     --work /tmp/va
#
#   bench/verify_api.sh [--build DIR] [--calls N] [--requests R] [--port P] [--work DIR]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build="$here/../build"
calls=2000
requests=200
port=18305
work=""

while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--calls) calls=$2; shift 2 ;;
	--requests) requests=$2; shift 2 ;;
	--port) port=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	-h | --help) sed -n '2,14p' "$0"; exit 0 ;;
	*) echo "verify_api.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
build=$(cd "$build" && pwd)
earshot="$build/earshot"
for t in "$earshot" "$build/gen_calls"; do
	[ -x "$t" ] || { echo "verify_api.sh: $t not built" >&2; exit 2; }
done
keep=1
if [ -z "$work" ]; then
	work=$(mktemp -d /tmp/earshot-verify-api-XXXXXX)
	keep=0
fi
mkdir -p "$work"
data="$work/data"
server_pid=""
cleanup() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	[ "$keep" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

if [ ! -f "$data/index.sqlite" ]; then
	echo "generating and importing $calls calls..." >&2
	# short calls, a few at a time: the archive's size is in its count
	"$build/gen_calls" -o "$work/calls.pcap" --seed 5 --calls "$calls" --duration 60 \
		--concurrency $(( (calls + 9) / 10 )) >/dev/null
	"$earshot" --data "$data" import --no-progress "$work/calls.pcap" >/dev/null
	echo "bench-pass-$$-xyz" | "$earshot" --data "$data" user add bench --role admin \
		--password-stdin >/dev/null
fi
token=$("$earshot" --data "$data" user token bench --json |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
"$earshot" --data "$data" serve --listen "127.0.0.1:$port" --threads 4 2>"$work/serve.log" &
server_pid=$!

python3 - "$port" "$token" "$requests" "$data" "$earshot" <<'EOF'
import http.client, json, random, statistics, subprocess, sys, time
port, token, n, data, earshot = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
calls = json.loads(subprocess.run([earshot, "--data", data, "calls", "--json", "--limit", "100000"],
                                  capture_output=True, text=True).stdout or "[]")
ids = [c["id"] for c in calls if c.get("recording")]
ledger = sum(1 for _ in open(data + "/ledger/entries.log", "rb"))
for _ in range(200):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("GET", "/api/me", headers={"Authorization": "Bearer " + token})
        c.getresponse().read()
        break
    except OSError:
        time.sleep(0.05)
rnd = random.Random(1)
for quick in ("1", "0"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    lat = []
    for i in range(n + 5):
        cid = rnd.choice(ids)
        t0 = time.perf_counter()
        c.request("GET", "/api/calls/%d/verify?quick=%s" % (cid, quick),
                  headers={"Authorization": "Bearer " + token})
        r = c.getresponse()
        body = json.loads(r.read())
        if r.status != 200 or not body.get("ok"):
            sys.exit("verify of call %d: %d %s" % (cid, r.status, body))
        if i >= 5:  # the first requests warm the index (and the ledger view)
            lat.append((time.perf_counter() - t0) * 1e3)
    lat.sort()
    print("verify quick=%s: %d recordings (%d ledger leaves), %d requests: median %.2f ms, "
          "p90 %.2f ms, mean %.2f ms" % (quick, len(ids), ledger, n, statistics.median(lat),
                                         lat[int(0.9 * len(lat))], statistics.mean(lat)))
EOF
