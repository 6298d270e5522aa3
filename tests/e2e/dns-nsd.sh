# dns-nsd - the ldns resolver against a real authoritative server: nsd
# serves tests/e2e/dns-nsd/*.zone on loopback and tests/unit/test-dns_ldns
# asks it (records, NXDOMAIN, NODATA, TCP after truncation, CNAME chains,
# timeouts).  Prints TAP.
. "$top_srcdir/tests/lib/nsd.sh"

if ! nsd_available; then
	echo "1..0 # SKIP nsd not installed"
	exit 0
fi
trap nsd_stop EXIT
if ! nsd_start "$top_srcdir/tests/e2e/dns-nsd"; then
	echo "Bail out! nsd did not start"
	exit 1
fi
DNS_TEST_SERVER="127.0.0.1:$NSD_PORT" "$top_builddir/tests/unit/test-dns_ldns"
