#!/bin/sh
# postfix-arc - outbound DKIM signing and ARC through a real Postfix.
#
# The private Postfix of tests/lib/postfix.sh offers SMTP AUTH (Cyrus SASL,
# PLAIN, a private sasldb) and has authmilter as its milter; nsd serves the
# test zones on loopback.  authmilter signs for sub.test with two dkim_sign
# entries (RSA and Ed25519, as RFC 8463 suggests), trusts the ARC sealer
# lists.test, and seals what it passes on as receiver.test.  swaks sends:
#   - a submission by an authenticated client, From sub.test: delivered with
#     our two DKIM-Signature fields, which our verifier (authcheck asking
#     nsd) and dkimpy both find valid;
#   - the same from a client that did not authenticate: not signed, and
#     refused by sub.test's p=reject;
#   - a message DKIM-signed by reject.test (p=reject), then changed as a
#     mailing list does (Subject tag, footer: the signature breaks), sent
#     from an address reject.test's SPF does not permit, with an ARC set by
#     lists.test whose ARC-Authentication-Results says dmarc=pass: delivered
#     with dmarc=fail and arc=pass, the log line and the report row giving
#     the reason trusted_forwarder, and our own ARC set (i=2, cv=pass) on
#     top, which dkimpy and our verifier find valid;
#   - the same sealed by rogue.test, not a trusted sealer: 550 5.7.1;
#   - the lists.test seal over a body changed after sealing (the chain
#     fails): 550 5.7.1;
#   - a lists.test seal whose ARC-Authentication-Results says dkim, spf and
#     dmarc fail (the sealer vouches for nothing): 550 5.7.1.
# The forwarded messages are sealed by dkimpy (python3-dkim), whose AAR
# copies the sealer's own Authentication-Results, so the sealer's word is
# what the test writes.  The system's own Postfix is never started or used.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
. "$top_srcdir/tests/lib/mailtest.sh"
authcheck=$top_builddir/milter/authcheck
dkimsign=$top_builddir/tests/tools/dkimsign
arctool=$top_builddir/tests/tools/arctool
dkimpeer="$python $top_srcdir/tests/lib/dkimpeer.py"
authserv=mx.postfix.test

mailtest_begin swaks openssl saslpasswd2 "$authmilter" "$authcheck" "$dkimsign" "$arctool" \
	py:dkim py:nacl py:dns.query

# ---- DNS: the test zones, each key fresh ----

mkdir "$tmp/keys"
zone sub.test "v=spf1 -all" reject \
	"rsa._domainkey IN TXT ( $(key_record "$tmp/keys/sub-rsa.pem" rsa))" \
	"ed._domainkey IN TXT ( $(key_record "$tmp/keys/sub-ed.pem" ed25519))"
zone reject.test "v=spf1 -all" reject \
	"sel._domainkey IN TXT ( $(key_record "$tmp/keys/reject.pem" rsa))"
zone lists.test "v=spf1 -all" none \
	"arc._domainkey IN TXT ( $(key_record "$tmp/keys/lists.pem" rsa))"
zone rogue.test "v=spf1 -all" none \
	"arc._domainkey IN TXT ( $(key_record "$tmp/keys/rogue.pem" rsa))"
zone receiver.test "v=spf1 -all" "" \
	"seal._domainkey IN TXT ( $(key_record "$tmp/keys/receiver.pem" rsa))"
serve_zones

# ---- authmilter: keys readable by root alone, read before it drops to nobody ----

milter_config "dkim_sign sub.test rsa $tmp/keys/sub-rsa.pem" \
	"dkim_sign sub.test ed $tmp/keys/sub-ed.pem" "arc_trusted_sealers lists.test" \
	"arc_seal_domain receiver.test" "arc_seal_selector seal" \
	"arc_seal_key $tmp/keys/receiver.pem"
"$authmilter" -t -c "$tmp/authmilter.conf" >/dev/null
check $? "authmilter -t accepts the signing and ARC config"
milter_start
check $? "authmilter listens on its unix socket"

# ---- Postfix, with SMTP AUTH ----

postfix_sasl "$tmp/postfix" user@sub.test 'open sesame'
check $? "a private sasldb holds the submission account"
postfix_start "$tmp/postfix" "unix:$tmp/milter/authmilter.sock"
check $? "the private Postfix starts, offering SMTP AUTH"

# The DKIM-Signature fields of a file, top first: "d=D s=S a=ALG h=NAMES".
signatures() {
	fields "$1" DKIM-Signature | "$python" -c '
import re, sys
for v in sys.stdin:
    t = dict(re.findall(r"(\w+)=([^;]*)", "".join(v.split())))
    print("d=%s s=%s a=%s h=%s" % (t["d"], t["s"], t["a"], t["h"]))'
}
# Our verifier's DKIM results for a file: "d=D s=S result".
authcheck_dkim() { # FILE MAIL-FROM
	"$authcheck" --dns-server "127.0.0.1:$NSD_PORT" --ip 192.0.2.1 --mail-from "$2" \
		--json "$1" | "$python" -c '
import json, sys
for r in json.load(sys.stdin)["dkim"]:
    print("d=%s s=%s %s" % (r["d"], r["s"], r["result"]))'
}
# Our ARC verifier on a file, from the zone files: "result instances
# oldest_pass d" (oldest_pass 1: every AMS validates).
arctool_verify() {
	"$arctool" $(for z in "$tmp"/zones/*.zone; do printf ' -z %s' "$z"; done) <"$1" |
		"$python" -c '
import json, sys
a = json.load(sys.stdin)["arc"]
print(a["result"], a["instances"], a["oldest_pass"], a["d"])'
}
# The names of a file's first N header fields, one line.
top_fields() { # FILE N
	grep -v '^[[:space:]]' "$1" | sed -n "1,${2}s/:.*//p" | tr '\n' ' '
}
field() { # FILE NAME: the first one
	fields "$1" "$2" | head -n 1
}
summary() { # FROM-DOMAIN: the daemon's summary lines for it, from client= on
	grep " from=$1 " "$tmp/authmilter.log" | sed 's/.*client=/client=/'
}

# ---- 1. submission: signed twice, RSA and Ed25519 ----

message user@sub.test "submitted" submitted >"$tmp/submitted.eml"
reply=$(send submitted user@sub.test "$tmp/submitted.eml" \
	--auth PLAIN --auth-user user@sub.test --auth-password 'open sesame')
is "${reply%% *}" "250" "authenticated submission accepted ($reply)"
grep -q '^<- *235 ' "$tmp/submitted.swaks"
check $? "swaks authenticated (235)"
f=$(delivered submitted)
check $? "the submission is delivered"
is "$(top_fields "$f" 3)" "DKIM-Signature DKIM-Signature Received " \
	"two DKIM-Signature fields on top, nothing else added"
is "$(signatures "$f")" \
	"d=sub.test s=rsa a=rsa-sha256 h=from:from:subject:date:to:message-id
d=sub.test s=ed a=ed25519-sha256 h=from:from:subject:date:to:message-id" \
	"RSA then Ed25519, d=sub.test, From oversigned"
is "$(results "$f")" "" "an exempt submission gets no Authentication-Results"
is "$(authcheck_dkim "$f" user@sub.test)" "d=sub.test s=rsa pass
d=sub.test s=ed pass" "our verifier, asking nsd: both signatures pass"
is "$($dkimpeer "$NSD_PORT" dkim-verify "$f")" "d=sub.test s=rsa a=rsa-sha256 pass
d=sub.test s=ed a=ed25519-sha256 pass" "dkimpy, asking nsd: both signatures pass"
is "$(grep ' dkim=signed' "$tmp/authmilter.log" | sed 's/.*client=/client=/')" \
	"client=127.0.0.1 spf=skipped dkim=signed(sub.test) dmarc=skipped from=sub.test disposition=skipped action=accept" \
	"the log says the submission was signed, not checked"

message user@sub.test "not authenticated" unauth >"$tmp/unauth.eml"
refused unauth user@sub.test sub.test "without AUTH, checked and not signed: p=reject"
is "$(summary sub.test | grep -v " dkim=signed")" \
	"client=127.0.0.1 spf=fail dkim=none dmarc=fail from=sub.test disposition=reject action=reject text=Rejected by DMARC policy for sub.test" \
	"the log: checked, no signature"

# ---- 2-4. forwarded by a list ----

# forward ID SEALER SEEN [after]: the original, signed by reject.test; the
# list's A-R (SEEN: what its DKIM, SPF and DMARC checks found), its Subject
# tag and footer; SEALER's ARC set over that, from dkimpy; "after" changes
# the body once sealed.
forward() {
	message user@reject.test "news" "$1" |
		"$dkimsign" -d reject.test -s sel -k "$tmp/keys/reject.pem" \
			-h from:to:subject:date:message-id >"$tmp/$1.orig"
	{
		printf 'Authentication-Results: %s; dkim=%s header.d=reject.test header.s=sel;\r\n' \
			"$2" "$3"
		printf '\tspf=%s smtp.mailfrom=user@reject.test; dmarc=%s header.from=reject.test\r\n' \
			"$3" "$3"
		sed 's/^Subject: /Subject: [list] /' "$tmp/$1.orig"
		printf -- '-- \r\nThe list: https://lists.test/\r\n'
	} | $dkimpeer "$NSD_PORT" arc-sign "$2" arc "$tmp/keys/${2%.test}.pem" "$2" >"$tmp/$1.eml"
	[ "${4:-}" = after ] && printf 'Added once sealed.\r\n' >>"$tmp/$1.eml"
	return 0
}

forward trusted lists.test pass
is "$(arctool_verify "$tmp/trusted.eml")" "pass 1 1 lists.test" \
	"the forwarded message as sent: one ARC set by lists.test, valid"
reply=$(send trusted user@reject.test "$tmp/trusted.eml")
is "${reply%% *}" "250" "trusted forwarder: accepted ($reply)"
f=$(delivered trusted)
check $? "trusted forwarder: delivered"
is "$(results "$f")" "$authserv spf=fail dkim=fail arc=pass dmarc=fail
lists.test dkim=pass spf=pass dmarc=pass" \
	"our A-R: spf, dkim and dmarc fail, arc passes; the list's A-R kept"
is "$(field "$f" Authentication-Results | grep -o 'arc=pass [^;]*')" \
	"arc=pass header.oldest-pass=0 smtp.remote-ip=127.0.0.1" \
	"arc=pass names the oldest pass and the sealer's address"
is "$(top_fields "$f" 5)" \
	"ARC-Seal ARC-Message-Signature ARC-Authentication-Results Authentication-Results Received " \
	"our ARC set on top, above our A-R"
is "$(field "$f" ARC-Seal | grep -o 'i=[0-9]*; a=[^;]*; cv=[a-z]*; d=[^;]*; s=[^;]*')" \
	"i=2; a=rsa-sha256; cv=pass; d=receiver.test; s=seal" "our seal: i=2, cv=pass, d=receiver.test"
is "$(field "$f" ARC-Authentication-Results)" "i=2; $(field "$f" Authentication-Results)" \
	"our AAR is our A-R, as instance 2"
is "$($dkimpeer "$NSD_PORT" arc-verify "$f")" "pass: success" "dkimpy: the chain of two sets passes"
is "$(arctool_verify "$f")" "pass 2 1 receiver.test" "our verifier: the chain of two sets passes"
is "$(summary reject.test | sed -n 1p)" \
	"client=127.0.0.1 spf=fail dkim=fail(reject.test) dmarc=fail from=reject.test disposition=none override=trusted_forwarder action=accept arc_seal=sealed" \
	"the log: dmarc=fail, disposition none as trusted_forwarder, and sealed"

forward untrusted rogue.test pass
is "$(arctool_verify "$tmp/untrusted.eml")" "pass 1 1 rogue.test" \
	"the rogue.test seal is valid too"
refused untrusted user@reject.test reject.test "untrusted sealer"

forward altered lists.test pass after
is "$(arctool_verify "$tmp/altered.eml" | cut -d' ' -f1-2)" "fail 1" \
	"a body changed after the lists.test seal breaks the chain"
refused altered user@reject.test reject.test "trusted sealer, broken chain"

forward novouch lists.test fail
refused novouch user@reject.test reject.test "trusted sealer that saw DKIM, SPF and DMARC fail"

is "$(summary reject.test | sed 's/ text=.*//')" \
	"client=127.0.0.1 spf=fail dkim=fail(reject.test) dmarc=fail from=reject.test disposition=none override=trusted_forwarder action=accept arc_seal=sealed
client=127.0.0.1 spf=fail dkim=fail(reject.test) dmarc=fail from=reject.test disposition=reject action=reject
client=127.0.0.1 spf=fail dkim=fail(reject.test) dmarc=fail from=reject.test disposition=reject action=reject
client=127.0.0.1 spf=fail dkim=fail(reject.test) dmarc=fail from=reject.test disposition=reject action=reject" \
	"the log: one accepted forward, three refused"

# ---- the report records ----

milter_stop
is "$?" "0" "authmilter exits 0 on SIGTERM"
today=$(($(date +%s) / 86400 * 86400))
mkdir "$tmp/reports"
"$top_builddir/milter/authreport" -c "$tmp/authmilter.conf" generate --from $today \
	--until $((today + 86400)) --out "$tmp/reports" >/dev/null 2>&1
check $? "authreport generate succeeds"
# Each row of the reject.test report: count, disposition, reason types.
is "$(gzip -dc "$tmp"/reports/*'!reject.test!'*.xml.gz | "$python" -c '
import sys, xml.etree.ElementTree as ET
ns = {"d": "urn:ietf:params:xml:ns:dmarc-2.0"}
for row in ET.parse(sys.stdin).getroot().iterfind("d:record/d:row", ns):
    pe = row.find("d:policy_evaluated", ns)
    print(row.findtext("d:count", None, ns), pe.findtext("d:disposition", None, ns),
          " ".join(r.findtext("d:type", None, ns) for r in pe.iterfind("d:reason", ns)) or "-")
' | sort)" "1 none trusted_forwarder
3 reject -" "the report: one forward let through as trusted_forwarder, three rejected"

mailtest_done
