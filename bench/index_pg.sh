#!/bin/sh
# index_pg.sh - the index engines side by side in one run: gen_index writes
# N calls through the index layer into SQLite and into a throwaway
# PostgreSQL 15 cluster (tests/pg_cluster.sh), then index_search runs the
# same searches on both (p50/p95), and `earshot import` of one generated
# capture into each gives the import rate.  docs/PERFORMANCE.md.
# With COPIES > 1, CALLS are generated through the index layer and then
# repeated COPIES-1 times in SQL (gen_index --copies): CALLS*COPIES calls.
#   bench/index_pg.sh [BUILD] [CALLS] [IMPORT_CALLS] [COPIES]
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-$SRC/build}
N=${2:-200000}
NI=${3:-2000}
K=${4:-1}
W=$(mktemp -d /tmp/es_index_pg_XXXXXX)
PGD=$(mktemp -d /tmp/es_pg_XXXXXX) # its own: the server user must reach it
trap 'sh "$SRC/tests/pg_cluster.sh" stop "$PGD"; rm -rf "$W"' EXIT
URL=$(sh "$SRC/tests/pg_cluster.sh" start "$PGD")
# the server settings docs/OPERATIONS.md gives for a 1,000,000-call index:
# buffers that hold the hot tables and indexes (~1.1 GB), pg_prewarm to
# load them after a restart, the planner told the data is cached on SSD
psql "$URL" -q -c "ALTER SYSTEM SET shared_buffers = '2GB'" \
	-c "ALTER SYSTEM SET effective_cache_size = '6GB'" -c "ALTER SYSTEM SET work_mem = '16MB'" \
	-c "ALTER SYSTEM SET random_page_cost = 1.1" \
	-c "ALTER SYSTEM SET shared_preload_libraries = 'pg_prewarm'"
sh "$SRC/tests/pg_cluster.sh" restart "$PGD"
psql "$URL" -qc "CREATE EXTENSION IF NOT EXISTS pg_prewarm"
echo "== start: $(uptime)"
echo "== gen_index: $N calls x $K"
"$B/gen_index" --data "$W/lite" --calls "$N" --copies "$K" --queries "$W/q.txt" --nqueries 500
"$B/gen_index" --data "$W/pgdata" --index "$URL" --calls "$N" --copies "$K"
# after a bulk load the planner needs statistics, and the trigram index
# its pending list merged (autovacuum would do both in a while; a
# deployment that bulk-loads runs VACUUM ANALYZE)
psql "$URL" -qc "VACUUM ANALYZE"
psql "$URL" -qAtc "SELECT 'prewarmed ' || sum(pg_prewarm(c)) || ' blocks' FROM unnest(ARRAY['calls',
	'calls_pkey', 'calls_start', 'calls_start_party', 'calls_outcome', 'calls_duration', 'calls_party_trgm', 'parties',
	'parties_pkey', 'streams', 'streams_pkey', 'recordings', 'call_tags', 'call_tags_time']) c"
echo "== searches (500 from gen_index --queries, one at a time)"
"$B/index_search" "$W/lite/index.sqlite" "$W/q.txt" --each "$W/each-lite.txt"
"$B/index_search" "$URL" "$W/q.txt" --each "$W/each-pg.txt"
# the same rows in the same order from both engines
if cut -f1,2 "$W/each-lite.txt" | cmp -s - "$(cut -f1,2 "$W/each-pg.txt" >"$W/pg12"; echo "$W/pg12")"; then
	echo "  same rows from both engines"
else
	echo "  ROWS DIFFER between the engines:"
	paste "$W/each-lite.txt" "$W/each-pg.txt" | awk -F'\t' '$1 != $5 || $2 != $6' | head -5
fi
python3 "$SRC/bench/search_shapes.py" "SQLite=$W/each-lite.txt" "PostgreSQL=$W/each-pg.txt"
echo "  slowest on PostgreSQL (rows, ms, query):"
sort -t "$(printf '\t')" -k3,3nr "$W/each-pg.txt" | head -5 | cut -f1,3,4 | sed 's/^/    /'
echo "== earshot import of $NI generated calls"
"$B/gen_calls" -o "$W/c.pcap" --seed 3 --calls "$NI" --duration 4 >/dev/null
for ix in sqlite "$URL"; do
	# into the big index on both engines: SQLite's is DATA/index.sqlite of
	# gen_index's folder (a folder of its own would import into an empty
	# index, as this script did before 2026-12-07 17:45)
	d=$W/imp-$(echo "$ix" | cut -c1-6)
	if [ "$ix" = sqlite ]; then unset EARSHOT_INDEX; d=$W/lite; else export EARSHOT_INDEX=$ix; fi
	/usr/bin/time -f "%e s wall, %U s user, %M KiB" "$B/earshot" --data "$d" import --no-progress \
		--json "$W/c.pcap" 2>&1 >"$W/imp.json" | tail -1
	python3 -c "import json,sys; s=json.load(open('$W/imp.json')); print('  calls', s['calls'], 'recordings', s['recordings'])" || echo "  (no summary)"
done
echo "== end: $(uptime)"
