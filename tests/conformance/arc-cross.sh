# arc-cross - ARC cross-checks with dkimpy and Mail::DKIM: keys and zones
# made by arc_cross.py, served by nsd on loopback for Mail::DKIM (dkimpy
# and this project read the same records without DNS), then the checks of
# arc_cross.py.  Prints TAP.
. "$top_srcdir/tests/lib/nsd.sh"

py=${SYS_PYTHON3:-/usr/bin/python3}
if [ ! -x "$top_builddir/tests/tools/arctool" ]; then
	echo "1..0 # SKIP tests/tools not built"
	exit 0
fi
work=$(mktemp -d)
trap 'nsd_stop; rm -rf "$work"' EXIT
"$py" "$top_srcdir/tests/conformance/arc_cross.py" prepare "$work" || {
	echo "Bail out! could not make keys and zones"
	exit 1
}
NSD_PORT=
if nsd_available; then
	nsd_start "$work/zones" || {
		echo "Bail out! nsd did not start"
		exit 1
	}
fi
NSD_PORT=$NSD_PORT "$py" "$top_srcdir/tests/conformance/arc_cross.py" run "$work"
