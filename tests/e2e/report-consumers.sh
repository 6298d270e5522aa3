#!/bin/sh
# report-consumers - reports made by authreport generate, read back by the
# report parsers receivers actually run, with their counts checked:
#   - every report (RFC 9990 and RFC 7489 format) validates with xmllint;
#   - dmarc-cat reads both formats from the files as named;
#   - Mail::DMARC's dmarc_receive reads each RFC 7489 report mailed as RFC
#     9990 says (Subject "Report Domain: ... Submitter: ... Report-ID:
#     ...", application/gzip attachment) into its SQLite store;
#   - dmarcts-report-parser reads the same mail into the test's PostgreSQL.
# The store is filled with known records: example.org, 8 messages in 3
# rows (one from IPv6), and other.test, 3 messages in 1 row, plus one
# record of the next day that no report may count.
. "$top_srcdir/tests/lib/postgresql.sh"
. "$top_srcdir/tests/lib/tap.sh"
python=${SYS_PYTHON3:-/usr/bin/python3}
authreport=$top_builddir/milter/authreport
schemas=$top_srcdir/tests/data/report
here=$top_srcdir/tests/e2e
missing=
for tool in xmllint dmarc-cat dmarc_receive; do
	command -v $tool >/dev/null 2>&1 || missing="$missing $tool"
done
[ -x /usr/sbin/dmarcts-report-parser ] || missing="$missing dmarcts-report-parser"
perl -MDBD::Pg -e 1 2>/dev/null || missing="$missing libdbd-pg-perl"
pg_available || missing="$missing postgresql"
grep -q '^#define HAVE_POSTGRESQL 1' "$top_builddir/autoconf.h" || missing="$missing libpq(build)"
[ -n "$missing" ] && { echo "1..0 # SKIP not installed:$missing"; exit 0; }

tmp=$(mktemp -d) || exit 1
chmod 755 "$tmp"
cleanup() {
	pg_stop
	rm -rf "$tmp"
}
trap cleanup EXIT

day=1795564800 # 2026-11-24 00:00:00 UTC
printf '%s\n' "authserv_id mx.receiver.test" "report_store sqlite:$tmp/reports.db" \
	"report_domain receiver.test" 'report_org_name "Receiver Test"' \
	"report_email dmarc-noreply@receiver.test" >"$tmp/authmilter.conf"
ar() { "$authreport" -c "$tmp/authmilter.conf" "$@"; }
ar stats --from $day >/dev/null
check $? "authreport creates the store"
"$python" "$here/report-fill.py" "$tmp/reports.db" "$day"
check $? "known records written into the store"

mkdir "$tmp/r9990" "$tmp/r7489"
ar generate --from $day --out "$tmp/r9990" >"$tmp/names9990"
check $? "generate, RFC 9990 format"
ar generate --from $day --format rfc7489 --out "$tmp/r7489" >"$tmp/names7489"
check $? "generate, RFC 7489 format"
is "$(sed 's/![0-9A-F]\{16\}\.xml\.gz$/!ID.xml.gz/' "$tmp/names9990" | tr '\n' ' ')" \
	"receiver.test!example.org!$day!$((day + 86400))!ID.xml.gz receiver.test!other.test!$day!$((day + 86400))!ID.xml.gz " \
	"one report per policy domain, named receiver!domain!begin!end!id.xml.gz"
ar generate --from $day >"$tmp/again"
is "$(cat "$tmp/again")" "$(cat "$tmp/names9990")" "generating again keeps the names"
for fmt in 9990 7489; do
	bad=0
	for f in "$tmp"/r$fmt/*.xml.gz; do
		gzip -dc "$f" >"${f%.gz}"
		xmllint --noout --schema "$schemas/rfc$fmt.xsd" "${f%.gz}" 2>"$tmp/lint" ||
			{ bad=1; sed 's/^/#   /' "$tmp/lint"; }
	done
	check $bad "every RFC $fmt report validates against the RFC $fmt schema"
done

# ---- dmarc-cat: both formats, from the files as named ----
for fmt in 9990 7489; do
	(cd "$tmp/r$fmt" && for f in *.xml.gz; do dmarc-cat -N "$f"; done) >"$tmp/cat$fmt" 2>&1
	sums=$("$python" "$here/report-fill.py" --dmarc-cat "$tmp/cat$fmt")
	is "$sums" "example.org=8 other.test=3" "dmarc-cat reads the RFC $fmt reports: messages per domain"
	[ "$sums" = "example.org=8 other.test=3" ] || sed 's/^/#   /' "$tmp/cat$fmt" | head -40
done

# ---- the RFC 7489 reports as mail (RFC 9990 Subject, gzip attachment) ----
mkdir "$tmp/mail"
for f in "$tmp"/r7489/*.xml.gz; do
	"$python" "$here/report-fill.py" --mail "$f" "$tmp/mail/$(basename "$f").eml"
done

# ---- Mail::DMARC ----
printf '%s\n' "[organization]" "domain = receiver.test" "org_name = Receiver Test" \
	"email = dmarc@receiver.test" "[report_store]" "backend = SQL" \
	"dsn = dbi:SQLite:dbname=$tmp/maildmarc.sqlite" >"$tmp/mail-dmarc.ini"
recv=0
for f in "$tmp"/mail/*.eml; do
	MAIL_DMARC_CONFIG_FILE=$tmp/mail-dmarc.ini dmarc_receive --file "$f" >"$tmp/recv.log" 2>&1 ||
		{ recv=1; sed 's/^/#   /' "$tmp/recv.log"; }
done
check $recv "dmarc_receive takes every report mail"
is "$("$python" "$here/report-fill.py" --mail-dmarc "$tmp/maildmarc.sqlite")" \
	"example.org=8/3 other.test=3/1" "Mail::DMARC stored each report: messages/rows per domain"

# ---- dmarcts-report-parser into PostgreSQL ----
pg_start || { echo "Bail out! PostgreSQL did not start"; exit 1; }
pg_psql "CREATE DATABASE dmarcts OWNER authmilter" >/dev/null
mkdir "$tmp/dmarcts"
printf '%s\n' '$debug = 0;' '$delete_reports = 0;' "\$dbtype = 'Pg';" "\$dbname = 'dmarcts';" \
	"\$dbuser = 'authmilter';" "\$dbpass = '';" "\$dbhost = '127.0.0.1';" \
	"\$dbport = '$PG_PORT';" '$imapreadfolder = "dmarc";' '$maxsize_xml = 500000;' '$compress_xml = 0;' '1;' \
	>"$tmp/dmarcts/dmarcts-report-parser.conf"
(cd "$tmp/dmarcts" && /usr/sbin/dmarcts-report-parser -e "$tmp"/mail/*.eml) >"$tmp/dmarcts.log" 2>&1
check $? "dmarcts-report-parser reads every report mail"
is "$(PG_DB=dmarcts pg_psql "SELECT r.domain || '=' || SUM(x.rcount) || '/' || COUNT(*) FROM report r JOIN rptrecord x ON x.serial = r.serial GROUP BY r.domain ORDER BY r.domain" | tr '\n' ' ')" \
	"example.org=8/3 other.test=3/1 " \
	"dmarcts-report-parser stored each report in PostgreSQL: messages/rows per domain"
[ $failed = 0 ] || sed 's/^/#   /' "$tmp/dmarcts.log" | head -20
tap_plan
