#!/bin/sh
# sendmail-mc - contrib/sendmail/authmilter.mc builds a sendmail.cf with
# Debian's sendmail-cf, and the filter definition, the filter list and the
# macros authmilter reads are in it.
set -u
cfm4=/usr/share/sendmail/cf/m4/cf.m4
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
if ! command -v m4 >/dev/null 2>&1 || [ ! -r "$cfm4" ]; then
	echo "1..0 # SKIP m4 or sendmail-cf ($cfm4) not installed"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$src/tests/lib/tap.sh"

cat >"$tmp/test.mc" <<MC
divert(-1)dnl
include(\`$cfm4')dnl
VERSIONID(\`authmilter test')dnl
OSTYPE(\`linux')dnl
include(\`$src/contrib/sendmail/authmilter.mc')dnl
MAILER(\`local')dnl
MAILER(\`smtp')dnl
MC
m4 "$tmp/test.mc" >"$tmp/sendmail.cf" 2>"$tmp/m4.err"
check $? "m4 builds sendmail.cf"
[ ! -s "$tmp/m4.err" ]
check $? "m4 printed no warning"
grep -qxF 'Xauthmilter, S=local:/run/authmilter/authmilter.sock, F=, T=C:10s;S:30s;R:60s;E:5m' \
	"$tmp/sendmail.cf"
check $? "Xauthmilter line with socket, flags and timeouts"
grep -qxF 'O InputMailFilters=authmilter' "$tmp/sendmail.cf"
check $? "InputMailFilters names authmilter"
grep -qxF 'O Milter.macros.envfrom=i, {auth_authen}, {auth_type}, {mail_addr}' "$tmp/sendmail.cf"
check $? "MAIL macros carry {i} and {auth_authen}"
grep -qxF 'O Milter.macros.eom=i, {msg_id}' "$tmp/sendmail.cf"
check $? "end-of-message macros carry {i}"
[ "$(grep -c '^X' "$tmp/sendmail.cf")" = 1 ]
check $? "exactly one filter defined"
[ -s "$tmp/m4.err" ] && sed 's/^/# /' "$tmp/m4.err"
tap_plan
