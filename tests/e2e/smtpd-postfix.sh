#!/bin/sh
# smtpd-postfix - authmilter --smtp between two real Postfix instances.
#
# swaks -> Postfix A (its relayhost is our listener: a real MTA's SMTP
# client talks to us) -> authmilter --smtp, running as nobody -> Postfix
# B, the next hop, which offers STARTTLS with a certificate made here and
# delivers through a pipe to files.  nsd serves the test zones.  Checked:
# a signed message arrives at B with our Authentication-Results and our
# Received, over TLS; A logs our 250; a forged From of a p=reject domain
# is refused with our 550, which A reports in its bounce, and B never
# sees it.  The system's own Postfix is never touched.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
. "$top_srcdir/tests/lib/nsd.sh"
. "$top_srcdir/tests/lib/postfix.sh"
python=${SYS_PYTHON3:-/usr/bin/python3}
authmilter=$top_builddir/milter/authmilter
dkimsign=$top_builddir/tests/tools/dkimsign
host=mx.smtpd.test

missing=
for tool in swaks openssl; do
	command -v $tool >/dev/null 2>&1 || missing="$missing $tool"
done
nsd_available || missing="$missing nsd"
postfix_available || missing="$missing postfix(or not root)"
[ -n "$missing" ] && { echo "1..0 # SKIP not installed:$missing"; exit 0; }
for prog in "$authmilter" "$dkimsign"; do
	[ -x "$prog" ] || { echo "1..0 # SKIP $prog not built"; exit 0; }
done
PATH=$PATH:/usr/sbin

tmp=$(mktemp -d)
chmod 755 "$tmp"
listener_pid= a_dir= b_dir=
cleanup() {
	[ -n "$a_dir" ] && postfix -c "$a_dir/etc" stop >/dev/null 2>&1
	[ -n "$b_dir" ] && postfix -c "$b_dir/etc" stop >/dev/null 2>&1
	if [ -n "$listener_pid" ]; then
		kill "$listener_pid" 2>/dev/null
		wait "$listener_pid" 2>/dev/null
	fi
	nsd_stop
	rm -rf "$tmp"
}
trap cleanup EXIT

. "$top_srcdir/tests/lib/tap.sh"
# Waits (at most 30 s: two queue managers on a busy machine) until FILE
# matches the extended regular expression.
wait_grep() { # REGEX FILE-OR-GLOB... (a glob is expanded again at each try)
	_re=$1
	shift
	for _i in $(seq 300); do
		grep -Eq "$_re" $@ 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# ---- DNS ----

mkdir "$tmp/zones"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/dkim.key" 2>/dev/null
pub=$(openssl pkey -in "$tmp/dkim.key" -pubout -outform DER 2>/dev/null | base64 -w0)
pubtxt=$(printf '%s' "v=DKIM1; k=rsa; p=$pub" | fold -w 200 | sed 's/.*/"&"/' | tr '\n' ' ')
zone() { # NAME SPF POLICY [EXTRA]
	{
		printf '$TTL 300\n@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300\n' "$1" "$1"
		printf '@ IN NS ns.%s.\nns IN A 127.0.0.1\n@ IN TXT "%s"\n' "$1" "$2"
		printf '_dmarc IN TXT "v=DMARC1; p=%s"\n' "$3"
		[ $# -gt 3 ] && printf '%s\n' "$4"
	} >"$tmp/zones/$1.zone"
}
zone good.test "v=spf1 ip4:127.0.0.1 -all" reject "sel._domainkey IN TXT ( $pubtxt)"
zone reject.test "v=spf1 -all" reject
nsd_start "$tmp/zones" || { echo "Bail out! nsd did not start"; exit 1; }

# ---- Postfix B, the next hop, with STARTTLS ----

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/b.key" -out "$tmp/b.pem" -days 2 \
	-subj /CN=nexthop.test >/dev/null 2>&1
# Postfix's smtpd reads it as the postfix user.
chmod 644 "$tmp/b.key"
mkdir "$tmp/b" "$tmp/a"
postfix_start "$tmp/b" "" || { echo "Bail out! Postfix B did not start"; exit 1; }
b_dir=$POSTFIX_DIR b_port=$POSTFIX_PORT
echo 'tlsmgr    unix  - - n 1000? 1 tlsmgr' >>"$b_dir/etc/master.cf"
postconf -c "$b_dir/etc" -e "smtpd_tls_cert_file=$tmp/b.pem" "smtpd_tls_key_file=$tmp/b.key" \
	smtpd_tls_security_level=may smtpd_tls_received_header=yes
postfix -c "$b_dir/etc" reload >/dev/null 2>&1
check $? "Postfix B, the next hop, offers STARTTLS"

# ---- the listener ----

port=$(postfix_free_port)
cat >"$tmp/authmilter.conf" <<EOF
authserv_id $host
dns_server 127.0.0.1:$NSD_PORT
dns_timeout 2s
trusted_networks ""
next_hop smtp:127.0.0.1:$b_port
EOF
chmod 644 "$tmp/authmilter.conf"
"$authmilter" -f --smtp "127.0.0.1:$port" -c "$tmp/authmilter.conf" -u nobody \
	>"$tmp/listener.log" 2>&1 &
listener_pid=$!
for i in $(seq 50); do
	"$python" -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" \
		2>/dev/null && break
	sleep 0.1
done
is "$(ps -o user= -p "$listener_pid")" "nobody" "the listener runs as nobody"

# ---- Postfix A, the client, relaying to the listener ----

postfix_start "$tmp/a" "" || { echo "Bail out! Postfix A did not start"; exit 1; }
a_dir=$POSTFIX_DIR a_port=$POSTFIX_PORT
echo 'smtp      unix  - - n - - smtp' >>"$a_dir/etc/master.cf"
# Its bounces to reject.test are dropped, so that only the forged message
# itself could ever reach Postfix B.
postconf -c "$a_dir/etc" -e "relayhost=[127.0.0.1]:$port" default_transport=smtp \
	relay_transport=smtp smtp_tls_security_level=none \
	'transport_maps=inline:{reject.test=discard:}'
postfix -c "$a_dir/etc" reload >/dev/null 2>&1
check $? "Postfix A relays to the listener"

# ---- messages ----

message() { # FROM ID
	printf 'From: Sender <%s>\r\nTo: rcpt@receiver.test\r\nSubject: %s\r\n' "$1" "$2"
	printf 'Date: Wed, 25 Nov 2026 12:00:00 +0000\r\nMessage-ID: <%s@test>\r\n\r\nHello.\r\n' "$2"
}
message user@good.test good |
	"$dkimsign" -d good.test -s sel -k "$tmp/dkim.key" -h from:to:subject:date:message-id \
		>"$tmp/good.eml"
swaks --server 127.0.0.1 --port "$a_port" --helo client.test --from user@good.test \
	--to rcpt@receiver.test --data "$tmp/good.eml" >"$tmp/good.swaks" 2>&1
check $? "swaks hands a signed message to Postfix A"
wait_grep "relay=127\.0\.0\.1\[127\.0\.0\.1\]:$port, .*status=sent \(250 2\.0\.0 Ok: queued as " \
	"$a_dir/maillog"
check $? "Postfix A's SMTP client got our 250 (sent)"
wait_grep '^Message-ID: <good@test>' "$b_dir/out/*.eml"
check $? "the message reached Postfix B"
f=$(grep -l '^Message-ID: <good@test>' "$b_dir"/out/*.eml 2>/dev/null | head -n 1)
ar=$("$python" - "$f" <<'EOF'
import email, email.policy, sys, authres
with open(sys.argv[1], "rb") as fh:
    msg = email.message_from_binary_file(fh, policy=email.policy.compat32)
for value in msg.get_all("Authentication-Results") or []:
    h = authres.AuthenticationResultsHeader.parse(
        "Authentication-Results: " + " ".join(value.split()))
    print(h.authserv_id, " ".join("%s=%s" % (r.method, r.result) for r in h.results))
EOF
)
is "$ar" "$host spf=pass dkim=pass dmarc=pass" "relayed with spf, dkim and dmarc pass"
grep -q "^Received: from mx.postfix.test (\[127.0.0.1\])" "$f"
check $? "our Received names Postfix A's HELO and address"
tr -d '\r' <"$f" | awk '/^Received: from/ {p = 1} p && /using TLSv1\.[23] with cipher/ {found = 1}
	/^$/ {exit} END {exit !found}'
check $? "Postfix B got it over TLS (its Received says so)"
wait_grep "client=127\.0\.0\.1 spf=pass dkim=pass\(good\.test\) dmarc=pass from=good\.test" \
	"$tmp/listener.log"
check $? "the listener logs one summary line"

message user@reject.test forged >"$tmp/forged.eml"
swaks --server 127.0.0.1 --port "$a_port" --helo client.test --from user@reject.test \
	--to rcpt@receiver.test --data "$tmp/forged.eml" >"$tmp/forged.swaks" 2>&1
wait_grep "status=bounced \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 550 5\.7\.1 Rejected by DMARC policy for reject\.test" \
	"$a_dir/maillog"
check $? "a forged From of a p=reject domain: Postfix A bounces with our 550 5.7.1"
sleep 0.5
[ -z "$(grep -l '^Message-ID: <forged@test>' "$b_dir"/out/*.eml 2>/dev/null)" ]
check $? "and Postfix B never saw it"

kill "$listener_pid"
wait "$listener_pid"
is "$?" "0" "the listener exits 0 on SIGTERM"
listener_pid=
echo "1..$n"
exit $failed
