#!/bin/sh
# report-loop - DMARC aggregate reports, the whole loop: messages through the
# milter daemon and the SMTP listener into one store, authreport generate and
# send to Postfix's smtp-sink, the received mail's DKIM signatures, DMARC
# result and report checked, report mail fed back (report_loop.py says what
# exactly is checked).  Everything on loopback, nsd serving the zones.
. "$top_srcdir/tests/lib/nsd.sh"
python=${SYS_PYTHON3:-/usr/bin/python3}
missing=
nsd_available || missing="$missing nsd"
[ -x /usr/sbin/smtp-sink ] || missing="$missing smtp-sink(postfix)"
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
"$python" -c 'import dkim, dns.resolver' 2>/dev/null || missing="$missing python3-dkim"
[ -n "$missing" ] && { echo "1..0 # SKIP not installed:$missing"; exit 0; }
exec "$python" "$top_srcdir/tests/e2e/report_loop.py"
