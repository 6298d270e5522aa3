#!/bin/sh
# package - the Debian package, built from this checkout, installed on this
# machine, run, removed and purged.
#
#   1. A copy of the tree (the files git tracks or would track, so the
#      checkout is never written to) is built with dpkg-buildpackage -us
#      -uc -b into a temporary directory; lintian must find no error in
#      the .changes and the .debs.
#   2. apt installs authmilter and authmilter-tools: the programs, man
#      pages, units, the conffile as shipped, the user and group, the
#      directories, the user postfix in the group authmilter.
#   3. authmilter runs as the unit runs it: under systemd when systemd is
#      PID 1, otherwise /usr/sbin/authmilter -f -c /etc/authmilter.conf as
#      the user authmilter.  DNS comes from nsd on loopback serving
#      contrib/sample's zone (a dns_server line added to the conffile).  As
#      the user postfix, a milter client reaches the default socket,
#      negotiates, and sends contrib/sample/message.eml; then authcheck
#      and authreport stats, from the package, are run.
#   4. apt remove keeps the conffile and the user; purge leaves nothing:
#      no file, user, group, directory or unit link.
#
# It changes the machine, so it runs as root only, never in make check:
# tests/run-all.sh runs it as a stage of its own, bounded in time.  It
# skips when the package is already installed or a user authmilter exists
# that the package did not make.  JOBS sets the build's parallelism.
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/tests/lib/tap.sh"
. "$src/tests/lib/nsd.sh"
SOCK=/var/spool/postfix/authmilter/authmilter.sock
PY=/usr/bin/python3

skip() {
	echo "1..0 # SKIP $*"
	exit 0
}
[ "$(id -u)" = 0 ] || skip "installs packages: root only"
for c in dpkg-buildpackage dh lintian apt-get setpriv flock "$PY"; do
	command -v "$c" >/dev/null 2>&1 || skip "$c not installed"
done
nsd_available || skip "nsd not installed"
# One package test at a time on this machine.
exec 9>/run/lock/authmilter-package-test.lock
flock -w 1800 9 || skip "another package test holds the lock"
dpkg-query -W -f='${Status}' authmilter 2>/dev/null | grep -q 'ok installed' &&
	skip "authmilter is installed already; this test would remove it"
getent passwd authmilter >/dev/null && skip "a user authmilter exists that the package did not make"

tmp=$(mktemp -d /tmp/authmilter-package.XXXXXX)
chmod 755 "$tmp"
daemon_pid=
installed=
cleanup() {
	[ -z "$daemon_pid" ] || kill "$daemon_pid" 2>/dev/null
	[ -z "$installed" ] || apt-get purge -y -qq authmilter authmilter-tools >/dev/null 2>&1
	nsd_stop
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
apt_get() {
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -y -qq "$@" \
		>>"$tmp/apt.log" 2>&1
}
show() { sed 's/^/#   /' "$@"; }

# ---- 1. build ----
mkdir "$tmp/authmilter"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$src" ls-files -z --cached --others --exclude-standard |
		(cd "$src" && tar --null -T - -cf -) | tar -xf - -C "$tmp/authmilter"
else
	tar -C "$src" --exclude='./build*' -cf - . | tar -xf - -C "$tmp/authmilter"
fi
(cd "$tmp/authmilter" && DEB_BUILD_OPTIONS="nocheck parallel=${JOBS:-2}" \
	dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1
check $? "dpkg-buildpackage -us -uc -b builds the packages"
debs="$tmp/authmilter_*.deb $tmp/authmilter-tools_*.deb"
# shellcheck disable=SC2086
if ! ls $debs >/dev/null 2>&1; then
	tail -30 "$tmp/build.log" | show
	echo "Bail out! no package was built"
	exit 1
fi
lintian --fail-on error "$tmp"/authmilter_*.changes >"$tmp/lintian.log" 2>&1
check $? "lintian finds no error in the .changes and the .debs"
grep -E '^[EW]: ' "$tmp/lintian.log" | show

# ---- 2. install ----
# shellcheck disable=SC2086
apt_get install --no-install-recommends $debs
check $? "apt installs authmilter and authmilter-tools"
installed=1
for f in /usr/sbin/authmilter /usr/bin/authcheck /usr/bin/authreport /etc/authmilter.conf \
	/lib/systemd/system/authmilter.service /lib/systemd/system/authreport.service \
	/lib/systemd/system/authreport.timer /usr/share/man/man8/authmilter.8.gz \
	/usr/share/man/man5/authmilter.conf.5.gz /usr/share/man/man1/authcheck.1.gz \
	/usr/share/man/man8/authreport.8.gz; do
	[ -e "$f" ]
	check $? "installed: $f"
done
is "$(dpkg-query -W -f='${Conffiles}' authmilter | awk '{print $1}')" "/etc/authmilter.conf" \
	"/etc/authmilter.conf is the one conffile"
cmp -s /etc/authmilter.conf "$src/contrib/authmilter.conf"
check $? "it is contrib/authmilter.conf, every key at its default"
unit=/lib/systemd/system/authmilter.service
is "$(sed -n 's/^ExecStart=//p' $unit)" "/usr/sbin/authmilter -f -c /etc/authmilter.conf" \
	"the unit runs /usr/sbin/authmilter on /etc/authmilter.conf, no -p over its socket"
is "$(sed -n 's/^RuntimeDirectory=//p' $unit) $(sed -n 's/^User=//p' $unit)" \
	"authmilter authmilter" "the unit: RuntimeDirectory and User authmilter"
is "$(sed -n 's/^ExecStart=//p' /lib/systemd/system/authreport.service | head -1)" \
	"/usr/bin/authreport -c /etc/authmilter.conf generate --out /var/lib/authmilter/reports" \
	"the report service runs /usr/bin/authreport"
if command -v systemd-analyze >/dev/null 2>&1; then
	out=$(systemd-analyze verify --man=no $unit /lib/systemd/system/authreport.service \
		/lib/systemd/system/authreport.timer 2>&1) && [ -z "$out" ]
	check $? "systemd-analyze verify finds nothing wrong with the units${out:+: $out}"
fi
uid=$(id -u authmilter 2>/dev/null)
[ -n "$uid" ] && [ "$uid" -lt 1000 ] && [ "$(id -gn authmilter)" = authmilter ]
check $? "a system user authmilter (uid $uid) in its own group"
if getent passwd postfix >/dev/null; then
	id -nG postfix | tr ' ' '\n' | grep -qx authmilter
	check $? "the user postfix is in the group authmilter"
fi
is "$(stat -c '%U:%G %a' /var/lib/authmilter /var/lib/authmilter/reports \
	/var/spool/postfix/authmilter | tr '\n' ' ')" \
	"authmilter:authmilter 750 authmilter:authmilter 750 authmilter:authmilter 750 " \
	"/var/lib/authmilter, its reports/ and the socket directory belong to authmilter"
/usr/sbin/authmilter -h 2>&1 | grep -q '/etc/authmilter\.conf'
check $? "authmilter -h names /etc/authmilter.conf as the default"
out=$(setpriv --reuid=authmilter --regid=authmilter --init-groups /usr/sbin/authmilter -t 2>&1)
check $? "authmilter -t on the installed file, as the user authmilter: $out"

# ---- 3. run ----
mkdir "$tmp/zones" "$tmp/lib"
cp "$src/contrib/sample/example.org.zone" "$tmp/zones/"
cp "$src/tests/lib/milterclient.py" "$tmp/lib/"
nsd_start "$tmp/zones" || { echo "Bail out! nsd did not start"; exit 1; }
echo "dns_server 127.0.0.1:$NSD_PORT" >>/etc/authmilter.conf
if [ -d /run/systemd/system ]; then
	systemctl restart authmilter.service
	check $? "systemctl starts authmilter.service"
else
	setpriv --reuid=authmilter --regid=authmilter --init-groups \
		/usr/sbin/authmilter -f -c /etc/authmilter.conf >"$tmp/daemon.log" 2>&1 &
	daemon_pid=$!
fi
i=0
while [ ! -S $SOCK ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
is "$(stat -c '%U:%G %a' $SOCK 2>&1)" "authmilter:authmilter 660" \
	"authmilter listens on $SOCK, mode 0660"
cat >"$tmp/client.py" <<'EOF'
import sys
import milterclient as mc
m = mc.Milter(sys.argv[1])
cmd, version, actions, protocol = m.negotiate()
print("negotiated: %s version %d" % (cmd.decode(), version))
m.connect("192.0.2.25", b"mail.example.org")
m.step(mc.SMFIC_HELO, b"mail.example.org\0", mc.SMFIP_NR_HELO)
with open(sys.argv[2], "rb") as f:
    headers, body = mc.fields(f.read(), trim_wsp=True)
acts = m.message(headers, body=body, sender=b"<alice@example.org>", queue_id=b"PKGTEST1")
m.close()
print("reply: %s" % mc.final(acts)[0].decode())
for _, value in mc.inserted(acts, b"Authentication-Results"):
    print("Authentication-Results:%s" % value.decode().replace("\n", " "))
EOF
setpriv --reuid=postfix --regid=postfix --init-groups env PYTHONPATH="$tmp/lib" \
	"$PY" "$tmp/client.py" $SOCK "$src/contrib/sample/message.eml" >"$tmp/client.out" 2>&1
check $? "as the user postfix, a milter client talks to the socket"
is "$(sed -n 1p "$tmp/client.out")" "negotiated: O version 6" "it negotiates milter protocol 6"
is "$(sed -n 2p "$tmp/client.out")" "reply: c" "the sample message is accepted (continue)"
ar=$(sed -n 3p "$tmp/client.out")
case $ar in
*"spf=pass"*"dkim=pass header.d=example.org"*"dmarc=pass"*) check 0 "with spf, dkim and dmarc pass" ;;
*) check 1 "with spf, dkim and dmarc pass: $ar" ;;
esac
[ $failed = 0 ] || show "$tmp/client.out"
if [ -n "$daemon_pid" ]; then
	kill -TERM "$daemon_pid"
	wait "$daemon_pid"
	check $? "SIGTERM stops it, exit status 0"
	daemon_pid=
	grep -q 'PKGTEST1: client=192.0.2.25 spf=pass dkim=pass(example.org) dmarc=pass' \
		"$tmp/daemon.log"
	check $? "its log has the message's summary line"
else
	systemctl stop authmilter.service
	check $? "systemctl stops it"
fi
[ ! -e $SOCK ]
check $? "the socket is gone after the stop"

out=$(authcheck --dns-zone "$src/contrib/sample/example.org.zone" --ip 192.0.2.25 \
	--helo mail.example.org --mail-from alice@example.org --authserv-id mx.example.net \
	"$src/contrib/sample/message.eml" 2>&1 | grep -E '^(spf|dkim|dmarc|action):' | tr '\n' ' ')
is "$out" "spf: pass dkim: pass(example.org) dmarc: pass (from example.org, disposition none) action: accept " \
	"authcheck from the package evaluates the sample"
now=$(date -u +%s)
out=$(setpriv --reuid=authmilter --regid=authmilter --init-groups authreport stats --json \
	--from $((now - 86400)) --until $((now + 86400)) 2>&1)
want='{"domain":"example.org","messages":1,"pass":1,"fail":0,"disposition":{"none":1,"quarantine":0,"reject":0}}'
case $out in
*"$want"*) check 0 "authreport stats reads the daemon's record of it" ;;
*) check 1 "authreport stats reads the daemon's record of it: $out" ;;
esac

# ---- 4. remove, purge ----
apt_get remove authmilter authmilter-tools
check $? "apt removes the packages"
[ ! -e /usr/sbin/authmilter ] && [ ! -e /usr/bin/authcheck ] && [ -e /etc/authmilter.conf ] &&
	getent passwd authmilter >/dev/null
check $? "remove: the programs are gone, the conffile and the user stay"
apt_get purge authmilter authmilter-tools
check $? "apt purges them"
installed=
# Not counted: our lock, and man-db's cache of pages someone read.
left=$(find /etc /lib /usr /var /run \( -path /run/lock -o -path /var/cache/man \) -prune -o \( -name '*authmilter*' -o -name 'authreport*' -o \
	-name 'authcheck*' \) -print 2>/dev/null | tr '\n' ' ')
is "$left" "" "purge leaves no file or directory named after them"
is "$(getent passwd authmilter; getent group authmilter)" "" "purge removes the user and the group"
is "$(dpkg-query -W -f='${Status}' authmilter authmilter-tools 2>&1 | grep -c 'ok installed\|config-files')" \
	"0" "dpkg knows nothing more of them"
[ -s "$tmp/apt.log" ] && [ $failed = 1 ] && show "$tmp/apt.log"
echo "1..$n"
exit $failed
