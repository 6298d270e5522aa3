#!/bin/sh
# postfix - authmilter behind a real Postfix, end to end.
#
# A private Postfix instance (its own config, queue and data directories
# under a temporary directory, smtpd on a free loopback port, delivery
# through a pipe to a script that writes each message to a file) has
# authmilter as its milter over a unix socket; authmilter runs as nobody
# in group postfix and asks nsd, serving the test zones on loopback, for
# SPF, DKIM and DMARC records.  swaks sends:
#   - a message DKIM-signed by good.test, from an SPF-permitted address:
#     delivered with spf, dkim and dmarc pass;
#   - a forged From: reject.test (p=reject): swaks sees 550 5.7.1;
#   - an SPF failure from spffail.test (p=none): delivered, spf=fail;
#   - a forged From: quar.test (p=quarantine): accepted into the hold queue;
#   - a signed message carrying a forged Authentication-Results with our
#     authserv-id and a genuine-looking one of another host: ours deleted,
#     the other kept.
# The system's own Postfix is never started or used.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
. "$top_srcdir/tests/lib/mailtest.sh"
dkimsign=$top_builddir/tests/tools/dkimsign
authserv=mx.postfix.test

mailtest_begin postqueue swaks openssl "$authmilter" "$dkimsign"

# ---- DNS: the test zones, with a fresh DKIM key ----

pubtxt=$(key_record "$tmp/dkim.key" rsa)
zone good.test "v=spf1 ip4:127.0.0.1 -all" reject "sel._domainkey IN TXT ( $pubtxt)"
zone reject.test "v=spf1 -all" reject
zone quar.test "v=spf1 -all" quarantine
zone spffail.test "v=spf1 -all" none
serve_zones

# ---- authmilter ----

milter_config
"$authmilter" -t -c "$tmp/authmilter.conf" >/dev/null
check $? "authmilter -t accepts the config"
milter_start
check $? "authmilter listens on its unix socket"
is "$(stat -c '%U:%G %a' "$tmp/milter/authmilter.sock")" "nobody:postfix 660" \
	"the socket belongs to the daemon's user, in the MTA's group"
is "$(ps -o user=,group= -p "$milter_pid" | tr -s ' ')" "nobody postfix" \
	"authmilter dropped to nobody:postfix"

# ---- Postfix ----

postfix_start "$tmp/postfix" "unix:$tmp/milter/authmilter.sock"
check $? "the private Postfix starts with the milter settings of the contrib snippet"

# ---- messages ----

sign() {
	"$dkimsign" -d good.test -s sel -k "$tmp/dkim.key" -h from:to:subject:date:message-id
}
message user@good.test "good" good | sign >"$tmp/good.eml"
reply=$(send good user@good.test "$tmp/good.eml")
is "${reply%% *}" "250" "signed message from good.test accepted ($reply)"
f=$(delivered good)
check $? "signed message delivered"
is "$(results "$f")" "$authserv spf=pass dkim=pass dmarc=pass" \
	"delivered with spf, dkim and dmarc pass"
is "$(grep -v '^[[:space:]]' "$f" | sed -n '1,2s/:.*//p' | tr '\n' ' ')" \
	"Authentication-Results Received " "Authentication-Results is inserted at the top"

message user@reject.test "forged" forged >"$tmp/forged.eml"
refused forged user@reject.test reject.test "forged From of a p=reject domain"

message user@spffail.test "spf fail" spffail >"$tmp/spffail.eml"
reply=$(send spffail user@spffail.test "$tmp/spffail.eml")
is "${reply%% *}" "250" "SPF-failing message from a p=none domain accepted"
f=$(delivered spffail)
check $? "SPF-failing message delivered"
is "$(results "$f")" "$authserv spf=fail dkim=none dmarc=fail" \
	"delivered with spf=fail and dmarc=fail"

message user@quar.test "quarantine" quar >"$tmp/quar.eml"
reply=$(send quar user@quar.test "$tmp/quar.eml")
is "${reply%% *}" "250" "forged From of a p=quarantine domain accepted by Postfix"
not_delivered quar
check $? "the quarantined message was not delivered"
held=$(postqueue -c "$tmp/postfix/etc" -j | "$python" -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    print(m["queue_name"], m["sender"])')
is "$held" "hold user@quar.test" "it waits in the hold queue"

message user@good.test "forged results" forgedar \
	"Authentication-Results: other.example; spf=pass smtp.mailfrom=good.test" \
	"Authentication-Results: $authserv; dmarc=pass header.from=good.test" |
	sign >"$tmp/forgedar.eml"
reply=$(send forgedar user@good.test "$tmp/forgedar.eml")
is "${reply%% *}" "250" "message with forged Authentication-Results accepted"
f=$(delivered forgedar)
check $? "it is delivered"
is "$(results "$f")" "$authserv spf=pass dkim=pass dmarc=pass
other.example spf=pass" "ours replaces the forged one; another host's is kept"

# ---- what the daemon logged ----

is "$(grep -c ' client=127.0.0.1 ' "$tmp/authmilter.log")" "5" \
	"one summary line per message"
grep -q "action=reject text=Rejected by DMARC policy for reject.test" "$tmp/authmilter.log"
check $? "the rejection is logged with its reason"
grep -q ' action=quarantine ' "$tmp/authmilter.log"
check $? "the quarantine is logged"

milter_stop
is "$?" "0" "authmilter exits 0 on SIGTERM"
grep -q "report records flushed: 5 stored in all" "$tmp/authmilter.log"
check $? "at stop the writer says all 5 report records are stored"

# ---- the records, and the reports made from them ----

today=$(($(date +%s) / 86400 * 86400))
authreport() {
	"$top_builddir/milter/authreport" -c "$tmp/authmilter.conf" "$@"
}
is "$(authreport stats --from $today --until $((today + 86400)) --json | "$python" -c '
import json, sys
for d in json.load(sys.stdin)["domains"]:
    x = d["disposition"]
    print(d["domain"], d["messages"], d["pass"], x["none"], x["quarantine"], x["reject"])')" \
	"good.test 2 2 2 0 0
quar.test 1 0 0 1 0
reject.test 1 0 0 0 1
spffail.test 1 0 1 0 0" "the store holds each message: domain, count, passes, dispositions"
mkdir "$tmp/reports"
authreport generate --from $today --until $((today + 86400)) --out "$tmp/reports" \
	>"$tmp/generated" 2>&1
check $? "authreport generate succeeds"
is "$(sed 's/![0-9A-F]*\.xml\.gz$//' "$tmp/generated")" \
	"mx.postfix.test!good.test!$today!$((today + 86400))
mx.postfix.test!quar.test!$today!$((today + 86400))
mx.postfix.test!reject.test!$today!$((today + 86400))
mx.postfix.test!spffail.test!$today!$((today + 86400))" "one report per policy domain, named as RFC 9990 says"
valid=0
for f in "$tmp"/reports/*.xml.gz; do
	gzip -dc "$f" | xmllint --noout --schema "$top_srcdir/tests/data/report/rfc9990.xsd" - \
		2>/dev/null || valid=1
done
check $valid "every report validates against the RFC 9990 schema"
is "$(gzip -dc "$tmp"/reports/*good.test*.xml.gz | grep -c '<count>2</count>')" "1" \
	"the two good.test messages are one row counted 2"

mailtest_done
