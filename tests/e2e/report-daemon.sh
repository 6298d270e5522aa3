#!/bin/sh
# report-daemon - the daemon's report records through SIGTERM, kill -9 and a
# PostgreSQL restart (report_daemon.py says what is checked).  This part
# serves sender.test with nsd and starts a private PostgreSQL.
. "$top_srcdir/tests/lib/nsd.sh"
. "$top_srcdir/tests/lib/postgresql.sh"
python=${SYS_PYTHON3:-/usr/bin/python3}
nsd_available || { echo "1..0 # SKIP nsd not installed"; exit 0; }
tmp=$(mktemp -d) || exit 1
cleanup() {
	pg_stop
	nsd_stop
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir "$tmp/zones" "$tmp/work"
printf '%s\n' '$TTL 300' '@ IN SOA ns.sender.test. hostmaster.sender.test. 1 3600 600 86400 300' \
	'@ IN NS ns.sender.test.' 'ns IN A 127.0.0.1' '@ IN TXT "v=spf1 ip4:192.0.2.0/24 -all"' \
	'_dmarc IN TXT "v=DMARC1; p=none; rua=mailto:dmarc@sender.test"' >"$tmp/zones/sender.test.zone"
nsd_start "$tmp/zones" || { echo "Bail out! nsd did not start"; exit 1; }
uri= data=
if grep -q '^#define HAVE_POSTGRESQL 1' "$top_builddir/autoconf.h" && pg_available; then
	pg_start || { echo "Bail out! PostgreSQL did not start"; exit 1; }
	uri=$PG_URI data=$PG_DIR/data
else
	echo "# no PostgreSQL (server or libpq): its part is left out"
fi
"$python" "$top_srcdir/tests/e2e/report_daemon.py" "$top_builddir/milter/authmilter" \
	"$tmp/work" "$NSD_PORT" "$uri" "$data" "${PG_BINDIR:-}"
