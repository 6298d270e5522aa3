# postgresql.sh - a private PostgreSQL server on loopback, for tests.
#
#   . "$top_srcdir/tests/lib/postgresql.sh"
#   pg_available || { echo "1..0 # SKIP PostgreSQL server not installed"; exit 0; }
#   trap pg_stop EXIT
#   pg_start || { echo "Bail out! PostgreSQL did not start"; exit 1; }
#   ... connect to $PG_URI (postgresql://authmilter@127.0.0.1:PORT/reports)
#   pg_restart     # stop (fast) and start again on the same port and data
#   pg_stop
#
# pg_start makes a cluster with Debian's initdb in a directory of its own
# ($PG_DIR, from mktemp -d), with trust authentication for loopback only, a
# free port on 127.0.0.1 (exported as PG_PORT), its unix socket inside
# $PG_DIR, and a database "reports" owned by the role "authmilter"; it
# waits until the server accepts connections.  The server runs as the
# caller, or as "nobody" when the caller is root (PostgreSQL refuses to
# run as root).  pg_stop stops it by its data directory and removes
# $PG_DIR; it is safe to call twice.  pg_psql SQL runs one statement and
# prints the rows unaligned.
#
# PG_BINDIR (from configure) names the server programs; else the newest
# /usr/lib/postgresql/*/bin is used.

PG_DIR=
PG_PORT=
PG_URI=

pg_available() {
	if [ -z "${PG_BINDIR:-}" ] || [ ! -x "$PG_BINDIR/initdb" ]; then
		PG_BINDIR=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
	fi
	[ -n "$PG_BINDIR" ] && [ -x "$PG_BINDIR/initdb" ] && [ -x "$PG_BINDIR/pg_ctl" ]
}

_pg_as() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u nobody -- "$@"
	else
		"$@"
	fi
}

_pg_free_port() {
	${SYS_PYTHON3:-/usr/bin/python3} -c \
		'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

_pg_ctl_start() {
	_pg_as "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=on" start >/dev/null
}

pg_start() {
	PG_DIR=$(mktemp -d /tmp/pgtest.XXXXXX) || return 1
	chmod 755 "$PG_DIR"
	[ "$(id -u)" = 0 ] && chown nobody "$PG_DIR"
	if ! _pg_as "$PG_BINDIR/initdb" -D "$PG_DIR/data" -A trust -U postgres --no-sync \
		>"$PG_DIR/initdb.log" 2>&1; then
		cat "$PG_DIR/initdb.log" >&2
		return 1
	fi
	PG_PORT=$(_pg_free_port)
	if ! _pg_ctl_start; then
		cat "$PG_DIR/server.log" >&2
		return 1
	fi
	pg_psql "CREATE ROLE authmilter LOGIN" >/dev/null &&
		pg_psql "CREATE DATABASE reports OWNER authmilter" >/dev/null || return 1
	PG_URI="postgresql://authmilter@127.0.0.1:$PG_PORT/reports"
	export PG_DIR PG_PORT PG_URI
}

pg_psql() {
	_pg_as "$PG_BINDIR/psql" -X -q -A -t -h 127.0.0.1 -p "$PG_PORT" -U postgres \
		-d "${PG_DB:-postgres}" -c "$1"
}

pg_restart() {
	_pg_as "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null &&
		_pg_ctl_start
}

pg_stop() {
	if [ -n "$PG_DIR" ] && [ -d "$PG_DIR/data" ]; then
		_pg_as "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1
	fi
	[ -n "$PG_DIR" ] && rm -rf "$PG_DIR"
	PG_DIR=
}
