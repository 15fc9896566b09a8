#!/usr/bin/env bash
# retention.sh - `earshot retention run` over a large generated index (issue
# #15): gen_index adds N calls through the index layer, each answered one
# with a recording row (no file: the deletion path's unlink finds none,
# everything else - hold check, ledger tombstone per recording, signed
# heads per batch, index rows - is the real work).  One policy, kept 30
# days, deleted after 180; --now is chosen so that about 10 % of the
# recordings have expired.  Prints the time and peak RSS of the first
# assignment (`retention apply --yes`), of the report and of the run.
#
#   bench/retention.sh [--build DIR] [--calls N] [--keep] [--data DIR]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build="$here/../build"
calls=100000
keep=0
data=""
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--calls) calls=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	--data) data=$2; shift 2 ;;
	-h|--help) sed -n '2,12p' "$0"; exit 0 ;;
	*) echo "retention.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
es="$build/earshot"
for b in "$es" "$build/gen_index"; do
	[ -x "$b" ] || { echo "retention.sh: $b not built" >&2; exit 2; }
done
work=$(mktemp -d /tmp/earshot-retention-bench.XXXXXX)
[ -n "$data" ] || data="$work/data"
[ "$keep" = 1 ] || trap 'rm -rf "$work"' EXIT

cat >"$work/earshot.conf" <<CONF
[retention default]
keep = 30d
delete_after = 180d
CONF

# /usr/bin/time -f: wall seconds and peak RSS (KiB) of one command
measure() {
	local what=$1; shift
	/usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/out" 2>"$work/err" || {
		local rc=$?
		[ "$rc" = 7 ] || { cat "$work/err" >&2; echo "retention.sh: $what failed ($rc)" >&2; exit 1; }
	}
	read -r secs kib <"$work/time"
	printf '%-28s %8.2f s  %7.1f MiB peak RSS\n' "$what" "$secs" "$(echo "$kib / 1024" | bc -l)"
}

t0=$(date +%s.%N)
"$build/gen_index" --data "$data" --calls "$calls" --recordings >/dev/null
t1=$(date +%s.%N)
nrec=$(sqlite3 "$data/index.sqlite" "SELECT count(*) FROM recordings")
printf 'index: %s calls, %s recordings, generated in %.1f s\n' "$calls" "$nrec" \
	"$(echo "$t1 - $t0" | bc -l)"
# calls span 183 days from 2026-06-01; expiry = start + 180 d: 18 days past it, ~10 %
now=2026-12-16
measure "retention apply --yes" "$es" --data "$data" retention apply -c "$work/earshot.conf" --yes --now "$now"
measure "retention report --days 30" "$es" --data "$data" retention report -c "$work/earshot.conf" --days 30 --now "$now"
measure "retention run --dry-run" "$es" --data "$data" retention run -c "$work/earshot.conf" --dry-run --now "$now"
measure "retention run" "$es" --data "$data" retention run -c "$work/earshot.conf" --now "$now" --json
deleted=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(sum(e["count"] for e in j["expired"]))' "$work/out")
left=$(sqlite3 "$data/index.sqlite" "SELECT count(*) FROM recordings")
tombs=$(grep -c $'\ttomb\t' "$data/ledger/entries.log")
heads=$(wc -l <"$data/ledger/heads.log")
printf 'deleted %s of %s recordings (%.1f %%), %s left; %s tombstones, %s signed heads\n' \
	"$deleted" "$nrec" "$(echo "100 * $deleted / $nrec" | bc -l)" "$left" "$tombs" "$heads"
measure "retention run (nothing due)" "$es" --data "$data" retention run -c "$work/earshot.conf" --now "$now"
