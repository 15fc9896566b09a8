#!/usr/bin/env bash
# evidence.sh - what evidence-grade storage costs: encryption at rest on
# import throughput, and `earshot verify` speed.
#
#  1. a capture of N calls x D s (G.711, gen_calls seed 1) imported as WAV
#     and as Ogg/Opus, each encrypted (the default) and with --no-encrypt:
#     wall, CPU, and the encrypted import's extra CPU in % of the plain one;
#  2. `earshot verify --all` on the encrypted Ogg/Opus and WAV folders, with
#     and without --quick (--quick skips decrypting): seconds, recordings/s,
#     MB/s of stored recordings.
#
#   bench/evidence.sh [--build DIR] [--calls N] [--duration S] [--keep]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build="$here/../build"
calls=200
dur=60
keep=0

usage() {
	cat <<EOF2
usage: bench/evidence.sh [--build DIR] [--calls N] [--duration S] [--keep]
Times \`earshot import\` with and without encryption and \`earshot verify
--all\` on the result (/usr/bin/time -f '%e %U %S %M').  About 4 minutes
with the defaults (200 calls x 60 s) on 2 idle cores.
  --build DIR     the CMake build folder (default: build/ next to bench/)
  --calls N       calls in the capture (200)
  --duration S    seconds per call (60)
  --keep          keep the temporary folder
  -h, --help      this help
EOF2
}

while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=${2:?--build needs a folder}; shift 2 ;;
	--calls) calls=${2:?}; shift 2 ;;
	--duration) dur=${2:?}; shift 2 ;;
	--keep) keep=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "evidence.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
build=$(cd "$build" 2>/dev/null && pwd) || { echo "evidence.sh: no build folder '$build'" >&2; exit 2; }
for t in /usr/bin/time "$build/gen_calls" "$build/earshot"; do
	[ -x "$t" ] || { echo "evidence.sh: $t is missing" >&2; exit 2; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/earshot-evid.XXXXXX")
if [ "$keep" = 1 ]; then echo "evidence.sh: keeping $tmp"; else trap 'rm -rf "$tmp"' EXIT; fi
echo "evidence.sh: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# timed CMD... : sets W (wall s), C (user + sys s), R (peak RSS KiB)
timed() {
	if ! /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err"; then
		echo "evidence.sh: failed: $*" >&2
		tail -n 20 "$tmp/out" "$tmp/err" >&2
		exit 1
	fi
	read -r W C R < <(tail -n 1 "$tmp/time" | awk '{ printf "%.2f %.2f %d\n", $1, $2 + $3, $4 }')
}

"$build/gen_calls" -o "$tmp/in.pcap" --seed 1 --calls "$calls" --duration "$dur" --ptime 20 \
	>"$tmp/gen.log" 2>&1 || { cat "$tmp/gen.log" >&2; exit 1; }

echo
echo "== 1. $calls calls x $dur s imported: encrypted (default) vs --no-encrypt"
printf '%-6s %-10s %8s %8s %13s %10s\n' format mode "wall s" "CPU s" "peak RSS KiB" "extra CPU"
for f in wav opus; do
	timed "$build/earshot" --data "$tmp/plain-$f" import --no-progress --format "$f" --no-encrypt "$tmp/in.pcap"
	pc=$C
	printf '%-6s %-10s %8s %8s %13s %10s\n' "$f" plain "$W" "$C" "$R" "-"
	timed "$build/earshot" --data "$tmp/enc-$f" import --no-progress --format "$f" "$tmp/in.pcap"
	printf '%-6s %-10s %8s %8s %13s %9s%%\n' "$f" encrypted "$W" "$C" "$R" \
		"$(awk -v a="$C" -v b="$pc" 'BEGIN { if (b > 0) printf "%+.1f", (a - b) * 100 / b; else print "-" }')"
done

echo
echo "== 2. earshot verify --all on the encrypted folders"
printf '%-6s %-8s %8s %8s %12s %10s\n' format mode "wall s" "CPU s" "recordings/s" "MB/s"
for f in opus wav; do
	n=$(find "$tmp/enc-$f/recordings" -name '*.enc' | wc -l)
	mb=$(du -sm "$tmp/enc-$f/recordings" | cut -f1)
	for m in full quick; do
		if [ "$m" = quick ]; then
			timed "$build/earshot" --data "$tmp/enc-$f" verify --all --quick
		else
			timed "$build/earshot" --data "$tmp/enc-$f" verify --all
		fi
		printf '%-6s %-8s %8s %8s %12s %10s\n' "$f" "$m" "$W" "$C" \
			"$(awk -v n="$n" -v w="$W" 'BEGIN { if (w > 0) printf "%.0f", n / w; else print "-" }')" \
			"$(awk -v b="$mb" -v w="$W" 'BEGIN { if (w > 0) printf "%.0f", b / w; else print "-" }')"
	done
done
echo "(full: every file hashed and decrypted, its plaintext hashed, the ledger and its heads checked;"
echo " quick: no decryption)"
