#!/bin/sh
# Quick start: installs the Debian packages authmilter needs, builds it in
# build/, and runs the standalone filter end to end on loopback: nsd serves
# contrib/sample/example.org.zone, `authmilter --smtp 127.0.0.1:2525` (no
# config file: the embedded defaults and a few -o settings) delivers
# accepted mail into build/quickstart/Maildir, and swaks sends the sample
# message, DKIM-signed by example.org, then a copy whose body was altered.
# It prints what was delivered, with our Authentication-Results, and the
# 550 the altered copy got.  The listener and nsd are stopped at the end;
# the Maildir stays for a look.  (contrib/demo.sh runs authmilter behind a
# private Postfix instead.)
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
sh "$src/contrib/install-deps.sh"
cd "$src"
autoreconf -fi >/dev/null 2>&1
mkdir -p build
cd build
[ -f Makefile ] || ../configure -q
make -s -j"$(nproc)"

SYS_PYTHON3=/usr/bin/python3
. "$src/tests/lib/nsd.sh"
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -z "$pid" ] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; } || true
	nsd_stop
	rm -rf "$tmp"
}
trap cleanup EXIT

mkdir "$tmp/zones"
cp "$src/contrib/sample/example.org.zone" "$tmp/zones/"
nsd_start "$tmp/zones"
maildir=$src/build/quickstart/Maildir
rm -rf "$maildir" "$src/build/quickstart/reports.db"
mkdir -p "$src/build/quickstart"

# swaks connects from 127.0.0.1, which is trusted (not checked) by default:
# trusted_networks= makes it a stranger.
"$src/build/milter/authmilter" -f --smtp 127.0.0.1:2525 -c /dev/null -o "maildir=$maildir" \
	-o "dns_server=127.0.0.1:$NSD_PORT" -o authserv_id=mx.example.net -o trusted_networks= \
	-o "report_store=sqlite:$src/build/quickstart/reports.db" \
	2>"$src/build/quickstart/authmilter.log" &
pid=$!
i=0
until "$SYS_PYTHON3" -c "import socket; socket.create_connection(('127.0.0.1', 2525), 1)" \
	2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 50 ] || { cat "$src/build/quickstart/authmilter.log" >&2; exit 1; }
	sleep 0.1
done

send() { # MESSAGE-FILE
	swaks --server 127.0.0.1 --port 2525 --helo mail.example.org --from alice@example.org \
		--to bob@example.net --data "$1" 2>&1 |
		awk '/^ -> \.$/ { data = 1; next } data && /^<(-|\*\*) +[0-9][0-9][0-9] / {
			sub(/^<(-|\*\*) +/, ""); print; exit }'
}

echo "== authmilter --smtp 127.0.0.1:2525, delivering into build/quickstart/Maildir"
echo
echo "== The sample message, signed by example.org:"
echo "   authmilter answered: $(send "$src/contrib/sample/message.eml")"
f=$(ls "$maildir"/new/* 2>/dev/null | head -n 1)
[ -n "$f" ] || { echo "   (not delivered)"; exit 1; }
echo "   and delivered it into build/quickstart/Maildir/new/ with:"
sed -n '/^Authentication-Results:/,/^[^[:space:]]/p' "$f" | sed '$d' | sed 's/^/     /'

sed 's/noon/midnight/' "$src/contrib/sample/message.eml" >"$tmp/altered.eml"
echo
echo "== The same message with its body altered:"
echo "   authmilter answered: $(send "$tmp/altered.eml")"
echo "   (and delivered nothing: $(ls "$maildir"/new | wc -l) message in new/)"

# SIGTERM writes the queued report records out before the daemon exits.
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=
echo
echo "== What authreport stats says of today, from build/quickstart/reports.db:"
today=$(date -u +%Y-%m-%d)
"$src/build/milter/authreport" -c /dev/null -o "report_store=sqlite:$src/build/quickstart/reports.db" \
	stats --from "$today" | sed 's/^/   /'
