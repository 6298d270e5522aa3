#!/bin/sh
# run.sh - authmilter against opendkim + opendmarc on one corpus (README.md).
#
#   tests/bench/run.sh [-b BUILDDIR] [-n COUNT] [-c CONN] [-r RATE] [-R ROUNDS]
#                      [-s SEED] [-F FLATSIZE] [-P PASSES] [-S SMTPROUNDS] [-I IDLE]
#
# BUILDDIR holds milter/authmilter (default: the current directory).
# COUNT messages (default 400), CONN concurrent connections (default 16),
# RATE messages a second in the paced latency run (default 50), ROUNDS
# saturated runs of each side, in turn (default 5; the median counts), FLATSIZE
# the large body of the memory-flatness run (default 50m).  PASSES > 0
# profiles authmilter with perf (cpu-clock, DWARF call graphs) over that
# many more saturated passes of the corpus, outside the measured rounds, and
# prints where its CPU went (profile.py); default 0, no profile.
# SMTPROUNDS saturated rounds of each side of the SMTP half (smtp.sh:
# authmilter --smtp against Postfix with opendkim and opendmarc; default 3,
# 0 leaves it out), IDLE the idle connections it holds (default 5000).
#
# `openssl speed` runs first, so the crypto floor (floor.py) is that of
# this machine at this time.
#
# BENCH_KEEP=1 in the environment keeps the work directory (corpora, logs,
# per-message JSON) and names it at exit.
#
# Needs root and `ip netns`: everything runs in a private network
# namespace, where nsd serves the corpus zones on 127.0.0.1 port 53, so
# opendmarc (which reads resolv.conf and cannot be given a port) asks the
# same server as the other two.  Every process started here is stopped at
# exit; traffic stays on the namespace's loopback.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=$(cd "$here/../.." && pwd)
PY=/usr/bin/python3
builddir=.
count=400
conn=16
rate=50
rounds=5
seed=20260101
flat=50m
passes=0
smtp_rounds=3
idle=5000
while getopts b:n:c:r:R:s:F:P:S:I: opt; do
	case $opt in
	b) builddir=$OPTARG ;;
	n) count=$OPTARG ;;
	c) conn=$OPTARG ;;
	r) rate=$OPTARG ;;
	R) rounds=$OPTARG ;;
	s) seed=$OPTARG ;;
	F) flat=$OPTARG ;;
	P) passes=$OPTARG ;;
	S) smtp_rounds=$OPTARG ;;
	I) idle=$OPTARG ;;
	*) echo "usage: $0 [-b BUILDDIR] [-n COUNT] [-c CONN] [-r RATE] [-R ROUNDS] [-s SEED] [-F FLATSIZE] [-P PASSES] [-S SMTPROUNDS] [-I IDLE]" >&2; exit 2 ;;
	esac
done
builddir=$(cd "$builddir" && pwd)
authmilter=$builddir/milter/authmilter
[ -x "$authmilter" ] || { echo "run.sh: no $authmilter (use -b BUILDDIR)" >&2; exit 2; }
smtp_tools=
[ "$smtp_rounds" -eq 0 ] || smtp_tools="/usr/sbin/postfix /usr/sbin/smtp-source /usr/sbin/smtp-sink"
for tool in /usr/sbin/opendkim /usr/sbin/opendmarc /usr/sbin/nsd /usr/bin/openssl $smtp_tools; do
	[ -x "$tool" ] || {
		echo "run.sh: $tool missing; contrib/install-deps.sh installs it" >&2
		exit 2
	}
done

# Outside the namespace: make it, run this script inside it, remove it.
if [ -z "${BENCH_IN_NETNS:-}" ]; then
	[ "$(id -u)" = 0 ] && command -v ip >/dev/null || {
		echo "run.sh: needs root and ip(8) for a private network namespace" >&2
		exit 2
	}
	ns=authbench$$
	cleanup_ns() {
		ip netns del "$ns" 2>/dev/null || true
		rm -rf "/etc/netns/$ns"
	}
	trap cleanup_ns EXIT
	trap 'exit 130' INT TERM
	ip netns add "$ns"
	mkdir -p "/etc/netns/$ns"
	printf 'nameserver 127.0.0.1\noptions attempts:1 timeout:2\n' >"/etc/netns/$ns/resolv.conf"
	ip netns exec "$ns" ip link set lo up
	BENCH_IN_NETNS=1 timeout 3600 ip netns exec "$ns" sh "$0" -b "$builddir" -n "$count" \
		-c "$conn" -r "$rate" -R "$rounds" -s "$seed" -F "$flat" -P "$passes" -S "$smtp_rounds" -I "$idle"
	exit $?
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/authbench.XXXXXX")
pids=
. "$top_srcdir/tests/lib/nsd.sh"
# The namespace is private, so nsd takes the standard port there.
_nsd_free_port() { echo 53; }

stop_all() {
	for p in $pids; do
		kill "$p" 2>/dev/null || true
	done
	for p in $pids; do
		wait "$p" 2>/dev/null || true
	done
	pids=
	nsd_stop
	if [ -n "${BENCH_KEEP:-}" ]; then
		echo "run.sh: kept $work" >&2
	else
		rm -rf "$work"
	fi
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# CPU seconds (user + system, threads and waited-for children) of PID.
cpu_of() {
	awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15 + $16 + $17) / hz }' "/proc/$1/stat"
}
# Peak resident set of PID, in KiB.
rss_of() {
	awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"
}
wait_socket() {
	for _ in $(seq 100); do
		[ -S "$1" ] && return 0
		sleep 0.1
	done
	echo "run.sh: no socket $1; log:" >&2
	cat "$2" >&2
	return 1
}
stop_pid() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	pids=$(echo "$pids" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}

# start_authmilter NAME: starts it on $work/NAME.sock, sets AMPID.  Its
# report store is a file of its own beside the corpus (on the same disk as
# the default one), so storing the records is part of what is measured.
start_authmilter() {
	cat >"$work/$1.conf" <<EOF
authserv_id mx.bench.test
socket unix:$work/$1.sock
dns_server 127.0.0.1:53
log_level warning
report_store sqlite:$work/$1.db
EOF
	"$authmilter" -f -c "$work/$1.conf" >"$work/$1.log" 2>&1 &
	AMPID=$!
	pids="$pids $AMPID"
	wait_socket "$work/$1.sock" "$work/$1.log"
}

start_peers() {
	cat >"$work/opendkim.conf" <<EOF
Mode v
Syslog no
Socket local:$work/opendkim.sock
AuthservID mx.bench.test
Nameservers 127.0.0.1
UMask 000
EOF
	cat >"$work/opendmarc.conf" <<EOF
AuthservID mx.bench.test
TrustedAuthservIDs mx.bench.test
Socket local:$work/opendmarc.sock
Syslog false
SPFSelfValidate true
SPFIgnoreResults true
UMask 000
RejectFailures true
FailureReports false
PublicSuffixList /usr/share/publicsuffix/public_suffix_list.dat
EOF
	/usr/sbin/opendkim -f -x "$work/opendkim.conf" >"$work/opendkim.log" 2>&1 &
	DKPID=$!
	/usr/sbin/opendmarc -f -c "$work/opendmarc.conf" >"$work/opendmarc.log" 2>&1 &
	DMPID=$!
	pids="$pids $DKPID $DMPID"
	wait_socket "$work/opendkim.sock" "$work/opendkim.log"
	wait_socket "$work/opendmarc.sock" "$work/opendmarc.log"
}

# bench CONN ARGS...: one milterbench run, bounded in time.
bench() {
	_conn=$1
	shift
	timeout 900 "$PY" "$here/milterbench.py" --conn "$_conn" --time-limit 600 "$@"
}

echo "openssl speed (the crypto floor)..." >&2
/usr/bin/openssl speed -seconds 1 sha256 rsa2048 rsa1024 ed25519 >"$work/speed.txt" 2>/dev/null
echo "generating corpora (seed $seed)..." >&2
"$PY" "$here/corpus.py" --seed "$seed" --count "$count" "$work/corpus"
"$PY" "$here/corpus.py" --seed "$seed" --flat 1k --count 40 "$work/flat-small"
"$PY" "$here/corpus.py" --seed "$seed" --flat "$flat" --count 3 "$work/flat-large"
# The three corpora share their keys and zones (same seed).
"$PY" "$here/floor.py" "$work/speed.txt" "$work/corpus" >"$work/floor.json"
nsd_start "$work/corpus/zones"

# Both sides run at once (an idle milter costs nothing) and the saturated
# runs alternate, so a busy neighbour weighs on both alike.
echo "saturated runs: $rounds rounds, authmilter and peers in turn..." >&2
start_authmilter am
start_peers
: >"$work/cpu.txt"
round=1
while [ "$round" -le "$rounds" ]; do
	c0=$(cpu_of "$AMPID")
	bench "$conn" --json "$work/am-$round.json" "$work/corpus" "$work/am.sock" >/dev/null ||
		true
	c1=$(cpu_of "$AMPID")
	d0=$(cpu_of "$DKPID")
	m0=$(cpu_of "$DMPID")
	bench "$conn" --json "$work/peers-$round.json" "$work/corpus" "$work/opendkim.sock" \
		"$work/opendmarc.sock" >/dev/null || true
	d1=$(cpu_of "$DKPID")
	m1=$(cpu_of "$DMPID")
	echo "$round $c0 $c1 $d0 $d1 $m0 $m1" >>"$work/cpu.txt"
	round=$((round + 1))
done
echo "paced runs ($rate/s)..." >&2
bench "$conn" --rate "$rate" --json "$work/am-paced.json" "$work/corpus" \
	"$work/am.sock" >/dev/null || true
bench "$conn" --rate "$rate" --json "$work/peers-paced.json" "$work/corpus" \
	"$work/opendkim.sock" "$work/opendmarc.sock" >/dev/null || true
am_rss=$(rss_of "$AMPID")
if [ "$passes" -gt 0 ]; then
	echo "profile ($passes saturated passes under perf)..." >&2
	perf record -q -e cpu-clock --call-graph dwarf -p "$AMPID" -o "$work/perf.data" \
		>"$work/perf.log" 2>&1 &
	perfpid=$!
	sleep 1
	for _ in $(seq "$passes"); do
		bench "$conn" "$work/corpus" "$work/am.sock" >/dev/null || true
	done
	kill -INT "$perfpid"
	wait "$perfpid" || true
	perf script -i "$work/perf.data" 2>/dev/null | "$PY" "$here/profile.py" --detail 25 \
		>"$work/profile.txt" || true
fi
dk_rss=$(rss_of "$DKPID")
dm_rss=$(rss_of "$DMPID")
stop_pid "$AMPID"
stop_pid "$DKPID"
stop_pid "$DMPID"

echo "memory flatness..." >&2
for size in small large; do
	start_authmilter "flat-$size"
	bench 2 --json "$work/flat-$size.json" "$work/flat-$size" \
		"$work/flat-$size.sock" >/dev/null || true
	eval "flat_${size}_rss=\$(rss_of \$AMPID)"
	stop_pid "$AMPID"
done
[ "$smtp_rounds" -eq 0 ] || . "$here/smtp.sh"

"$PY" "$here/report.py" "$work" "$conn" "$rate" "$flat" "rounds=$rounds" \
	"am_rss=$am_rss" "dkim_rss=$dk_rss" \
	"dmarc_rss=$dm_rss" "flat_small_rss=$flat_small_rss" "flat_large_rss=$flat_large_rss"
if [ -s "$work/profile.txt" ]; then
	echo "profile of authmilter, $passes saturated passes (perf, cpu-clock):"
	cat "$work/profile.txt"
fi
[ "$smtp_rounds" -eq 0 ] || "$PY" "$here/smtp_bench.py" report "$work" "conn=$conn" \
	"idle=$idle" "source_count=$source_count" "am_pss=$smtp_am_pss" "pf_pss=$smtp_pf_pss"
