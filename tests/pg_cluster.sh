#!/bin/sh
# pg_cluster.sh - a throwaway PostgreSQL 15 cluster for the tests.
#   pg_cluster.sh start DIR   initdb in DIR (created, owned by the server's
#                             user), start it on a Unix socket in DIR only
#                             (no TCP port), create database "earshot";
#                             prints the index URL
#   pg_cluster.sh createdb DIR NAME   another database; prints its URL
#   pg_cluster.sh restart DIR / stop DIR (stop also removes DIR)
# As root the server runs as "postgres" (initdb refuses root).  Exit 77
# (skip) when PostgreSQL 15 is not installed.
set -eu
BIN=${ES_PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|createdb|restart|stop DIR [NAME]" >&2; exit 2; }
[ -x "$BIN/initdb" ] || { echo "pg_cluster: no PostgreSQL at $BIN" >&2; exit 77; }

as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}
url() { echo "postgresql:///$1?host=$dir&user=earshot"; }

case "$cmd" in
start)
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown postgres: "$dir"
	as_owner "$BIN/initdb" -D "$dir/data" -U earshot --auth=trust -E UTF8 --locale=C.UTF-8 \
		>"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
	as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses='' -c unix_socket_directories='$dir' -c fsync=off -c full_page_writes=off -c max_connections=50" \
		start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
	as_owner "$BIN/createdb" -h "$dir" -U earshot earshot
	url earshot
	;;
createdb)
	as_owner "$BIN/createdb" -h "$dir" -U earshot "$3"
	url "$3"
	;;
restart)
	as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -m fast restart >/dev/null
	;;
stop)
	as_owner "$BIN/pg_ctl" -D "$dir/data" -w -t 60 -m fast stop >/dev/null 2>&1 || true
	rm -rf "$dir"
	;;
*)
	echo "pg_cluster: unknown command $cmd" >&2
	exit 2
	;;
esac
