#!/bin/sh
# tr_fts.sh - transcript search on both index engines in one run (issue
# #19): gen_index writes CALLS calls into SQLite and into a throwaway
# PostgreSQL 15 cluster (tests/pg_cluster.sh), tr_fts enters the same
# generated transcripts (two a call) into each, timed, then runs the same
# searches on both (p50/p95 per kind), checks that both found the same
# calls in the same order, and gives the search index's size on each.
# docs/PERFORMANCE.md.  The calls are TRANSCRIPTS/2/COPIES generated ones
# repeated COPIES times in SQL (gen_index --copies; PostgreSQL takes
# gen_index's calls at ~100 a second here), the transcripts all distinct.
#   bench/tr_fts.sh [BUILD] [TRANSCRIPTS] [RUNS] [BATCH] [COPIES]
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-$SRC/build}
N=${2:-100000}
R=${3:-40}
BATCH=${4:-5000}
K=${5:-10}
W=$(mktemp -d /tmp/es_tr_fts_XXXXXX)
PGD=$(mktemp -d /tmp/es_pg_XXXXXX) # its own: the server user must reach it
trap 'sh "$SRC/tests/pg_cluster.sh" stop "$PGD"; rm -rf "$W"' EXIT
URL=$(sh "$SRC/tests/pg_cluster.sh" start "$PGD")
# memory for the GIN index's build and searches (docs/OPERATIONS.md's
# settings for a large index, scaled to this machine)
psql "$URL" -q -c "ALTER SYSTEM SET shared_buffers = '1GB'" \
	-c "ALTER SYSTEM SET effective_cache_size = '4GB'" -c "ALTER SYSTEM SET work_mem = '16MB'" \
	-c "ALTER SYSTEM SET maintenance_work_mem = '256MB'" -c "ALTER SYSTEM SET random_page_cost = 1.1"
sh "$SRC/tests/pg_cluster.sh" restart "$PGD"
echo "== start: $(uptime)"
C=$(((N + 2 * K - 1) / (2 * K)))
echo "== gen_index: $C calls x $K"
"$B/gen_index" --data "$W/lite" --calls "$C" --copies "$K" | tail -1
"$B/gen_index" --data "$W/pgdata" --index "$URL" --calls "$C" --copies "$K" | tail -1
echo "== fill: $N transcripts, $BATCH a transaction"
printf '  SQLite:     '
"$B/tr_fts" "$W/lite/index.sqlite" --fill "$N" --batch "$BATCH"
printf '  PostgreSQL: '
"$B/tr_fts" "$URL" --fill "$N" --batch "$BATCH"
# statistics for the planner and the GIN pending list merged, as
# autovacuum does a while after a bulk load
psql "$URL" -qc "VACUUM ANALYZE"
echo "== size of the transcripts' search index"
sqlite3 "$W/lite/index.sqlite" "SELECT '  SQLite ' || name || ': ' || (sum(pgsize) / 1048576) || ' MB'
	FROM dbstat WHERE name LIKE 'transcript%' OR name LIKE '%transcripts%' OR name LIKE '%tr_vocab%'
	GROUP BY name ORDER BY sum(pgsize) DESC"
sqlite3 "$W/lite/index.sqlite" "SELECT '  SQLite total: ' || (sum(pgsize) / 1048576) || ' MB, '
	|| (sum(pgsize) / $N) || ' bytes a transcript' FROM dbstat WHERE name LIKE 'transcript%'
	OR name LIKE '%transcripts%' OR name LIKE '%tr_vocab%'"
psql "$URL" -qAtc "SELECT '  PostgreSQL transcripts (table + TOAST): ' || pg_table_size('transcripts') / 1048576
	|| ' MB, GIN transcripts_tsv: ' || pg_relation_size('transcripts_tsv') / 1048576
	|| ' MB, all with its other indexes: ' || pg_total_relation_size('transcripts') / 1048576 || ' MB, '
	|| pg_total_relation_size('transcripts') / $N || ' bytes a transcript'"
echo "== searches ($R of each kind, one at a time, a page of 50)"
echo "  SQLite:"
"$B/tr_fts" "$W/lite/index.sqlite" --runs "$R" --each "$W/each-lite.txt" | sed 's/^/    /'
echo "  PostgreSQL:"
"$B/tr_fts" "$URL" --runs "$R" --each "$W/each-pg.txt" | sed 's/^/    /'
# the same calls in the same order from both engines
if cut -f1-3 "$W/each-lite.txt" | cmp -s - "$(cut -f1-3 "$W/each-pg.txt" >"$W/pg3"; echo "$W/pg3")"; then
	echo "  same calls from both engines ($(wc -l <"$W/pg3") searches)"
else
	echo "  CALLS DIFFER between the engines:"
	paste "$W/each-lite.txt" "$W/each-pg.txt" | awk -F'\t' '$3 != $7 {print "    " $1 ": " $2}' | head -10
	exit 1
fi
echo "== end: $(uptime)"
