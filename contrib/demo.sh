#!/bin/sh
# demo - authmilter behind Postfix, end to end, on this machine's loopback.
#
#   contrib/demo.sh [BUILD-DIR]      (as root; BUILD-DIR defaults to build/)
#
# Starts nsd serving contrib/sample/example.org.zone, authmilter using it,
# and a private Postfix instance with authmilter as its milter (nothing of
# the system's own mail setup is used or changed).  swaks then sends the
# sample message, DKIM-signed by example.org, and a copy whose body was
# altered in transit.  It shows the Authentication-Results Postfix
# delivered with the first and the reply the second got (example.org
# publishes p=reject).  Everything is stopped and removed at the end.
set -eu
top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top_srcdir/build}" && pwd)
SYS_PYTHON3=/usr/bin/python3
. "$top_srcdir/tests/lib/nsd.sh"
. "$top_srcdir/tests/lib/postfix.sh"

nsd_available || { echo "demo: nsd is not installed" >&2; exit 2; }
postfix_available || { echo "demo: needs root and Postfix" >&2; exit 2; }
command -v swaks >/dev/null || { echo "demo: swaks is not installed" >&2; exit 2; }

tmp=$(mktemp -d)
chmod 755 "$tmp"
milter_pid=
cleanup() {
	postfix_stop
	[ -z "$milter_pid" ] || kill "$milter_pid" 2>/dev/null || true
	nsd_stop
	rm -rf "$tmp"
}
trap cleanup EXIT

mkdir "$tmp/zones" "$tmp/milter" "$tmp/postfix"
cp "$top_srcdir/contrib/sample/example.org.zone" "$tmp/zones/"
nsd_start "$tmp/zones"
chown nobody:postfix "$tmp/milter"
cat >"$tmp/authmilter.conf" <<CONF
authserv_id mx.example.net
socket unix:$tmp/milter/authmilter.sock
dns_server 127.0.0.1:$NSD_PORT
report_store sqlite:$tmp/milter/reports.db
# swaks connects from 127.0.0.1, which is trusted (not checked) by default.
trusted_networks ""
CONF
"$build/milter/authmilter" -f -c "$tmp/authmilter.conf" -u nobody -g postfix \
	2>"$tmp/authmilter.log" &
milter_pid=$!
i=0
until [ -S "$tmp/milter/authmilter.sock" ]; do
	i=$((i + 1))
	[ $i -lt 50 ] || { cat "$tmp/authmilter.log" >&2; exit 1; }
	sleep 0.1
done
postfix_start "$tmp/postfix" "unix:$tmp/milter/authmilter.sock"

send() { # MESSAGE-FILE
	swaks --server 127.0.0.1 --port "$POSTFIX_PORT" --helo mail.example.org \
		--from alice@example.org --to bob@example.net --data "$1" 2>&1 |
		awk '/^ -> \.$/ { data = 1; next } data && /^<(-|\*\*) +[0-9][0-9][0-9] / {
			sub(/^<(-|\*\*) +/, ""); print; exit }'
}

echo "== The sample message, signed by example.org:"
echo "   Postfix answered: $(send "$top_srcdir/contrib/sample/message.eml")"
i=0
until ls "$tmp"/postfix/out/*.eml >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 50 ] || { echo "   (not delivered)"; exit 1; }
	sleep 0.2
done
echo "   and delivered it with:"
sed -n '/^Authentication-Results:/,/^[^[:space:]]/p' "$tmp"/postfix/out/*.eml | sed '$d' |
	sed 's/^/     /'

sed 's/noon/midnight/' "$top_srcdir/contrib/sample/message.eml" >"$tmp/altered.eml"
echo
echo "== The same message with its body altered:"
echo "   Postfix answered: $(send "$tmp/altered.eml")"
echo
echo "== What authmilter logged:"
grep ' client=' "$tmp/authmilter.log" | sed 's/^/   /'
