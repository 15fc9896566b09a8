#!/bin/bash
# pg_earshot.sh - run earshot with its index on a throwaway PostgreSQL
# database instead of DATA/index.sqlite, one database per data folder, so a
# test that uses several data folders keeps them apart as SQLite does
# (ES_TEST_INDEX=pg, tests/integration/estest.py).
#   pg_earshot.sh ARGS...          earshot ARGS... (the data folder from
#                                  --data DIR / --data=DIR, else
#                                  $EARSHOT_DATA, else ./earshot-data)
#   pg_earshot.sh --es-url DIR     print DIR's index URL (estest.index_db)
# Needs ES_TEST_PG_DIR (a cluster of tests/pg_cluster.sh) and
# ES_TEST_EARSHOT (the real binary).  An EARSHOT_INDEX already set wins
# (a test that chooses its own index).  A database is created on first
# use (under a lock: two commands of one test may start at once) and
# remembered by a marker file in the cluster's folder.
set -eu
: "${ES_TEST_PG_DIR:?}" "${ES_TEST_EARSHOT:?}"
here=${0%/*}

# DATA-DIR -> its URL in $url, creating the database when new.  The folder
# as spelled (made absolute) names a marker file holding the database's
# name: bash's own string operations, no process per command (a test runs
# hundreds of commands on a loaded machine).
url_of() {
	local data=$1 key mark name
	case "$data" in /*) ;; *) data=$PWD/$data ;; esac
	key=${data//\//_}
	if [ ${#key} -gt 200 ]; then key=h$(printf %s "$data" | md5sum | cut -c1-32); fi
	mark=$ES_TEST_PG_DIR/dbs/$key
	if [ ! -s "$mark" ]; then
		mkdir -p "$ES_TEST_PG_DIR/dbs"
		exec 9>"$ES_TEST_PG_DIR/dbs/.lock"
		flock 9
		if [ ! -s "$mark" ]; then
			name=d$(find "$ES_TEST_PG_DIR/dbs" -type f ! -name .lock | wc -l)
			sh "$here/pg_cluster.sh" createdb "$ES_TEST_PG_DIR" "$name" >/dev/null
			echo "$name" >"$mark"
		fi
		exec 9>&-
	fi
	read -r name <"$mark"
	url="postgresql:///$name?host=$ES_TEST_PG_DIR&user=earshot"
}

if [ "${1:-}" = "--es-url" ]; then
	url_of "$2"
	echo "$url"
	exit 0
fi
if [ -z "${EARSHOT_INDEX:-}" ]; then
	data=${EARSHOT_DATA:-./earshot-data}
	prev=
	for a in "$@"; do
		if [ "$prev" = "--data" ]; then data=$a; fi
		case "$a" in --data=*) data=${a#--data=} ;; esac
		prev=$a
	done
	url_of "$data"
	export EARSHOT_INDEX=$url
fi
exec "$ES_TEST_EARSHOT" "$@"
