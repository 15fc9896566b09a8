# rec_lib.sh - helpers of the recording benchmarks (recordings.sh, peers.sh),
# sourced after they set $build and $tmp.
# shellcheck shell=bash disable=SC2154,SC2034

# gen OUT ARGS... : a capture, seed 1
gen() {
	local out=$1
	shift
	"$build/gen_calls" -o "$out" --seed 1 "$@" >"$tmp/gen.log" 2>&1 ||
		{ cat "$tmp/gen.log" >&2; exit 1; }
}

# timed CMD... : runs CMD under /usr/bin/time; sets W (wall s), C (user +
# sys s), R (peak RSS KiB); CMD's stdout goes to $tmp/out.json
timed() {
	if ! /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$@" >"$tmp/out.json" 2>"$tmp/err"; then
		echo "$(basename "$0"): failed: $*" >&2
		tail -n 20 "$tmp/err" >&2
		exit 1
	fi
	read -r W C R < <(tail -n 1 "$tmp/time" | awk '{ printf "%.2f %.2f %d\n", $1, $2 + $3, $4 }')
}

# import DATA ARGS... FILE : earshot import ($EARSHOT, default the build's)
# into a fresh DATA under timed;
# also sets REC (recorded_seconds), RB (recording_bytes), MCB (max_call_bytes)
import() {
	local data=$1
	shift
	rm -rf "$data"
	timed "${EARSHOT:-$build/earshot}" --data "$data" import --json --no-progress "$@"
	read -r REC RB MCB < <(python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
print(j.get("recorded_seconds", 0), j.get("recording_bytes", 0), j.get("max_call_bytes", 0))
' "$tmp/out.json")
}

# xrt SECONDS CPU : SECONDS / CPU, or "-"
xrt() { awk -v s="$1" -v c="$2" 'BEGIN { if (c > 0 && s > 0) printf "%.0f", s / c; else print "-" }'; }

# median N FN ARGS... : runs FN ARGS... N times; C becomes the median CPU
# seconds, W the wall seconds of that run (other variables: the last run's)
median() {
	local n=$1 i cs=() ws=()
	shift
	for ((i = 0; i < n; i++)); do
		"$@"
		cs+=("$C")
		ws+=("$W")
	done
	read -r C W < <(for i in "${!cs[@]}"; do echo "${cs[$i]} ${ws[$i]}"; done | sort -g |
		awk -v n="$n" 'NR == int((n + 1) / 2) { print $1, $2 }')
}
