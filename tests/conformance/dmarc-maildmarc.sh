# dmarc-maildmarc.sh - our RFC 7489 mode against Mail::DMARC on generated
# cases, both resolving through nsd on loopback (run by make check; TAP).
set -u
. "$top_srcdir/tests/lib/nsd.sh"
tool="$top_builddir/tests/tools/dmarccheck"
script="$top_srcdir/tests/conformance/dmarc-maildmarc.pl"

nsd_available || { echo "1..0 # SKIP nsd not installed"; exit 0; }
perl -MMail::DMARC::PurePerl -MNet::DNS::Resolver -e 1 2>/dev/null ||
	{ echo "1..0 # SKIP Mail::DMARC (libmail-dmarc-perl) not installed"; exit 0; }
[ -x "$tool" ] || { echo "1..0 # SKIP $tool not built"; exit 0; }

work=$(mktemp -d "${TMPDIR:-/tmp}/dmarc-maildmarc.XXXXXX") || exit 1
trap 'nsd_stop; rm -rf "$work"' EXIT
perl "$script" generate "$work" "${DMARC_CASES:-150}" || { echo "Bail out! generator failed"; exit 1; }
nsd_start "$work/zones" || { echo "Bail out! nsd did not start"; exit 1; }
perl "$script" compare "$work" "$NSD_PORT" "$tool"
