#!/bin/sh
# conffile - contrib/authmilter.conf, installed as /etc/authmilter.conf,
# names every key the programs know (the tables of policy/config.c and
# milter/smtpd_conf.c), each once and no other, and authmilter -t takes it
# as shipped and with every setting switched on.  That each value shown is
# the built-in default is checked by test-config and test-smtpd_conf.
set -u
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${top_builddir:-.}/milter/authmilter
conf=$src/contrib/authmilter.conf
. "$src/tests/lib/tap.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The first string of each row of a key table: the key's name.
table_keys() {
	sed -n "/$2\\[\\] = {/,/^};/s/^[^\"]*\"\\([a-z0-9_]*\\)\".*/\\1/p" "$1"
}
table_keys "$src/policy/config.c" config_keys >"$tmp/policy"
table_keys "$src/milter/smtpd_conf.c" smtpd_keys >"$tmp/smtpd"
sort "$tmp/policy" "$tmp/smtpd" >"$tmp/known"
# "#key value" and "#key" lines; "# text" is commentary.
sed -n 's/^#\([a-z][a-z0-9_]*\)\([ \t].*\)\{0,1\}$/\1/p' "$conf" | sort >"$tmp/shipped"

[ "$(wc -l <"$tmp/policy")" -ge 40 ] && [ "$(wc -l <"$tmp/smtpd")" -ge 20 ]
check $? "the key tables read from the sources ($(wc -l <"$tmp/policy") + $(wc -l <"$tmp/smtpd") keys)"
is "$(comm -23 "$tmp/known" "$tmp/shipped" | tr '\n' ' ')" "" "every key is in the file"
is "$(comm -13 "$tmp/known" "$tmp/shipped" | tr '\n' ' ')" "" "the file names no other key"
is "$(uniq -d "$tmp/shipped" | tr '\n' ' ')" "" "each key once"
is "$(sed -n 's/^#\([a-z][a-z0-9_]*\)[ \t]*$/\1/p' "$conf")" "authserv_id" \
	"only authserv_id (the host name) is shown without a value"

# Where this machine has no Postfix spool or /var/lib/authmilter, the
# socket and the store go to a temporary directory; the package test runs
# -t on the installed file as it is.
run_check() {
	"$bin" -t -c "$1" -o "socket=unix:$tmp/authmilter.sock" \
		-o "report_store=sqlite:$tmp/reports.db" >"$tmp/out" 2>&1
}
run_check "$conf"
check $? "authmilter -t takes the file as shipped: $(cat "$tmp/out")"
sed 's/^#\([a-z][a-z0-9_]*[ \t][ \t]*[^ \t]\)/\1/' "$conf" >"$tmp/on.conf"
is "$(grep -c '^[a-z]' "$tmp/on.conf")" "$(($(wc -l <"$tmp/known") - 1))" \
	"every key but authserv_id switched on"
run_check "$tmp/on.conf"
check $? "authmilter -t takes it with every setting on: $(cat "$tmp/out")"
echo "1..$n"
exit $failed
