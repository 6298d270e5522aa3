#!/bin/sh
# Installs the Debian packages needed to build authmilter and run its tests.
# Idempotent: packages already present are left alone.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
missing=
for p in $(grep -v '^#' "$here/debian-packages.txt"); do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
[ -n "$missing" ] || exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Services a package would start (nsd on port 53, postfix) stay down: the
# tests start their own instances on loopback ports.
made_rcd=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	made_rcd=1
fi
# Postfix asks how to configure the system's mail service; the tests run
# private instances only, so the system one is left unconfigured.
if command -v debconf-set-selections >/dev/null; then
	echo 'postfix postfix/main_mailer_type select No configuration' |
		debconf-set-selections
fi
apt-get install -y -qq --no-install-recommends $missing >/dev/null
[ -z "$made_rcd" ] || rm -f /usr/sbin/policy-rc.d
