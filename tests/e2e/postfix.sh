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
. "$top_srcdir/tests/lib/nsd.sh"
. "$top_srcdir/tests/lib/postfix.sh"
python=${SYS_PYTHON3:-/usr/bin/python3}
authmilter=$top_builddir/milter/authmilter
dkimsign=$top_builddir/tests/tools/dkimsign
authserv=mx.postfix.test

missing=
for tool in postqueue swaks openssl; do
	command -v $tool >/dev/null 2>&1 || [ -x /usr/sbin/$tool ] || missing="$missing $tool"
done
nsd_available || missing="$missing nsd"
postfix_available || missing="$missing postfix(or not root)"
[ -n "$missing" ] && { echo "1..0 # SKIP not installed:$missing"; exit 0; }
for prog in "$authmilter" "$dkimsign"; do
	[ -x "$prog" ] || { echo "1..0 # SKIP $prog not built"; exit 0; }
done
"$python" -c 'import authres' 2>/dev/null ||
	{ echo "1..0 # SKIP python3-authres not installed"; exit 0; }
PATH=$PATH:/usr/sbin

tmp=$(mktemp -d)
chmod 755 "$tmp"
milter_pid=
cleanup() {
	postfix_stop
	if [ -n "$milter_pid" ]; then
		kill "$milter_pid" 2>/dev/null
		wait "$milter_pid" 2>/dev/null
	fi
	nsd_stop
	rm -rf "$tmp"
}
trap cleanup EXIT

. "$top_srcdir/tests/lib/tap.sh"

# ---- DNS: the test zones, with a fresh DKIM key ----

mkdir "$tmp/zones"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/dkim.key" 2>/dev/null
pub=$(openssl pkey -in "$tmp/dkim.key" -pubout -outform DER 2>/dev/null | base64 -w0)
# TXT character-strings are at most 255 bytes: split the key record.
pubtxt=$(printf '%s' "v=DKIM1; k=rsa; p=$pub" | fold -w 200 | sed 's/.*/"&"/' | tr '\n' ' ')
zone() { # NAME SPF DMARC-POLICY [EXTRA-LINE]
	{
		printf '$TTL 300\n@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300\n' "$1" "$1"
		printf '@ IN NS ns.%s.\nns IN A 127.0.0.1\n' "$1"
		printf '@ IN TXT "%s"\n' "$2"
		printf '_dmarc IN TXT "v=DMARC1; p=%s"\n' "$3"
		[ $# -gt 3 ] && printf '%s\n' "$4"
	} >"$tmp/zones/$1.zone"
}
zone good.test "v=spf1 ip4:127.0.0.1 -all" reject "sel._domainkey IN TXT ( $pubtxt)"
zone reject.test "v=spf1 -all" reject
zone quar.test "v=spf1 -all" quarantine
zone spffail.test "v=spf1 -all" none
if ! nsd_start "$tmp/zones"; then
	echo "Bail out! nsd did not start"
	exit 1
fi

# ---- authmilter ----

mkdir "$tmp/milter" "$tmp/postfix"
chown nobody:postfix "$tmp/milter"
cat >"$tmp/authmilter.conf" <<EOF
authserv_id $authserv
socket unix:$tmp/milter/authmilter.sock
dns_server 127.0.0.1:$NSD_PORT
dns_timeout 2s
# The test client connects from 127.0.0.1, trusted by default.
trusted_networks ""
log_level info
report_store sqlite:$tmp/milter/reports.db
report_domain mx.postfix.test
EOF
"$authmilter" -t -c "$tmp/authmilter.conf" >/dev/null
check $? "authmilter -t accepts the config"
"$authmilter" -f -c "$tmp/authmilter.conf" -u nobody -g postfix >"$tmp/authmilter.log" 2>&1 &
milter_pid=$!
i=0
while [ ! -S "$tmp/milter/authmilter.sock" ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ -S "$tmp/milter/authmilter.sock" ]
check $? "authmilter listens on its unix socket"
is "$(stat -c '%U:%G %a' "$tmp/milter/authmilter.sock")" "nobody:postfix 660" \
	"the socket belongs to the daemon's user, in the MTA's group"
is "$(ps -o user=,group= -p "$milter_pid" | tr -s ' ')" "nobody postfix" \
	"authmilter dropped to nobody:postfix"

# ---- Postfix ----

postfix_start "$tmp/postfix" "unix:$tmp/milter/authmilter.sock"
check $? "the private Postfix starts with the milter settings of the contrib snippet"
port=$POSTFIX_PORT

# ---- messages ----

message() { # FROM-ADDRESS SUBJECT ID [EXTRA-HEADER...]
	_from=$1 _subject=$2 _id=$3
	shift 3
	for _h in "$@"; do
		printf '%s\r\n' "$_h"
	done
	printf 'From: Sender <%s>\r\nTo: rcpt@receiver.test\r\nSubject: %s\r\n' "$_from" "$_subject"
	printf 'Date: Wed, 25 Nov 2026 12:00:00 +0000\r\nMessage-ID: <%s@test>\r\n' "$_id"
	printf '\r\nHello from %s.\r\n' "$_from"
}
sign() {
	"$dkimsign" -d good.test -s sel -k "$tmp/dkim.key" -h from:to:subject:date:message-id
}
send() { # NAME MAIL-FROM DATA-FILE
	swaks --server 127.0.0.1 --port "$port" --helo client.test --from "$2" \
		--to rcpt@receiver.test --data "$3" >"$tmp/$1.swaks" 2>&1
	# The reply to the end of the message: the first one after " -> .".
	awk '/^ -> \.$/ { data = 1; next } data && /^<(-|\*\*) +[0-9][0-9][0-9] / {
		sub(/^<(-|\*\*) +/, ""); print; exit }' "$tmp/$1.swaks"
}
# Waits for the delivered copy of the message with this Message-ID.
delivered() {
	i=0
	while [ $i -lt 50 ]; do
		f=$(grep -l "^Message-ID: <$1@test>" "$tmp"/postfix/out/*.eml 2>/dev/null | head -n 1)
		[ -n "$f" ] && { echo "$f"; return 0; }
		sleep 0.2
		i=$((i + 1))
	done
	return 1
}
# Each Authentication-Results field of a file: "authserv-id method=result...".
results() {
	"$python" - "$1" <<'EOF'
import email, email.policy, sys, authres
with open(sys.argv[1], "rb") as f:
    msg = email.message_from_binary_file(f, policy=email.policy.compat32)
for value in msg.get_all("Authentication-Results") or []:
    h = authres.AuthenticationResultsHeader.parse(
        "Authentication-Results: " + " ".join(value.split()))
    print(h.authserv_id, " ".join("%s=%s" % (r.method, r.result) for r in h.results))
EOF
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
reply=$(send forged user@reject.test "$tmp/forged.eml")
is "$reply" "550 5.7.1 Rejected by DMARC policy for reject.test" \
	"forged From of a p=reject domain: swaks sees 550 5.7.1"
sleep 1
[ -z "$(grep -l '^Message-ID: <forged@test>' "$tmp"/postfix/out/*.eml 2>/dev/null)" ]
check $? "the rejected message was not delivered"

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
sleep 1
[ -z "$(grep -l '^Message-ID: <quar@test>' "$tmp"/postfix/out/*.eml 2>/dev/null)" ]
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

kill "$milter_pid"
wait "$milter_pid"
is "$?" "0" "authmilter exits 0 on SIGTERM"
milter_pid=
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

if [ $failed != 0 ]; then
	echo "# authmilter log:"
	sed 's/^/#   /' "$tmp/authmilter.log" | tail -30
	echo "# Postfix log:"
	sed 's/^/#   /' "$tmp/postfix/maillog" | tail -30
fi
echo "1..$n"
exit $failed
