# nsd.sh - serve test zones with Debian's nsd on loopback (sourced by tests).
#
# Usage, in a test script run by make check (it sets top_srcdir and NSD):
#
#   . "$top_srcdir/tests/lib/nsd.sh"
#   nsd_available || { echo "1..0 # SKIP nsd not installed"; exit 0; }
#   trap nsd_stop EXIT
#   nsd_start "$zonedir" || { echo "Bail out! nsd did not start"; exit 1; }
#   ... ask 127.0.0.1 port $NSD_PORT, e.g.
#       authcheck --dns-server "127.0.0.1:$NSD_PORT" ...
#   nsd_stop
#
# nsd_start ZONEDIR
#   Serves every ZONEDIR/NAME.zone as the zone NAME (so "example.com.zone"
#   is the zone example.com; give each file an SOA).  It picks a free high
#   port, writes nsd.conf and keeps nsd's pid, log and state files in a
#   private directory made with mktemp -d ($NSD_DIR), starts `nsd -c` and
#   waits until nsd answers.  Exports NSD_PORT (UDP and TCP on 127.0.0.1).
#   Returns non-zero, with the reason and nsd's log on stderr, when nsd does
#   not start.  ZONEDIR is only read.
# nsd_stop
#   Stops that nsd (by the pid it wrote) and removes $NSD_DIR.  Safe to call
#   twice, or when nsd_start failed.
# nsd_available
#   True when an nsd binary is found ($NSD, as configure found it, else
#   /usr/sbin/nsd or nsd on PATH); sets NSD to it.
#
# Needs python3 (to find a free port and to see that nsd answers).

nsd_available() {
	if [ -n "${NSD:-}" ] && [ -x "$NSD" ]; then
		return 0
	fi
	for _nsd_c in /usr/sbin/nsd "$(command -v nsd 2>/dev/null)"; do
		if [ -n "$_nsd_c" ] && [ -x "$_nsd_c" ]; then
			NSD=$_nsd_c
			export NSD
			return 0
		fi
	done
	return 1
}

_nsd_python() {
	if [ -n "${SYS_PYTHON3:-}" ] && [ -x "$SYS_PYTHON3" ]; then
		"$SYS_PYTHON3" "$@"
	else
		python3 "$@"
	fi
}

# Prints a port in 20000-59999 that is free for both UDP and TCP on 127.0.0.1.
_nsd_free_port() {
	_nsd_python - <<'EOF'
import random, socket
for _ in range(200):
    port = random.randint(20000, 59999)
    try:
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            s = socket.socket(socket.AF_INET, kind)
            s.bind(("127.0.0.1", port))
            s.close()
    except OSError:
        continue
    print(port)
    break
EOF
}

# Succeeds when something on 127.0.0.1:$1 answers an SOA question for $2
# over UDP.
_nsd_answers() {
	_nsd_python - "$1" "$2" <<'EOF'
import socket, struct, sys
port, zone = int(sys.argv[1]), sys.argv[2]
q = struct.pack(">HHHHHH", 0x4242, 0, 1, 0, 0, 0)
for label in zone.strip(".").split("."):
    q += bytes([len(label)]) + label.encode()
q += b"\0" + struct.pack(">HH", 6, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
try:
    s.sendto(q, ("127.0.0.1", port))
    r = s.recv(4096)
except OSError:
    sys.exit(1)
sys.exit(0 if r[:2] == b"\x42\x42" else 1)
EOF
}

_nsd_write_conf() {
	{
		printf 'server:\n'
		printf '\tip-address: 127.0.0.1\n\tport: %s\n\tdo-ip6: no\n' "$1"
		printf '\tusername: ""\n\tdatabase: ""\n\tzonesdir: "%s"\n' "$2"
		printf '\tpidfile: "%s/nsd.pid"\n\tlogfile: "%s/nsd.log"\n' "$NSD_DIR" "$NSD_DIR"
		printf '\tzonelistfile: "%s/zone.list"\n\txfrdfile: "%s/xfrd.state"\n' \
			"$NSD_DIR" "$NSD_DIR"
		printf '\txfrdir: "%s"\n\tserver-count: 1\n\tverbosity: 1\n' "$NSD_DIR"
		# No response rate limiting (Debian's nsd has it on, 200 a second per
		# source): the tests ask more than that from 127.0.0.1, TTL 0 included.
		printf '\trrl-ratelimit: 0\n'
		printf 'remote-control:\n\tcontrol-enable: no\n'
		for _nsd_f in "$2"/*.zone; do
			[ -f "$_nsd_f" ] || continue
			printf 'zone:\n\tname: "%s"\n\tzonefile: "%s"\n' \
				"$(basename "$_nsd_f" .zone)" "$_nsd_f"
		done
	} >"$NSD_DIR/nsd.conf"
}

nsd_start() {
	_nsd_zonedir=$(cd "$1" 2>/dev/null && pwd) || {
		echo "nsd_start: no zone directory $1" >&2
		return 1
	}
	_nsd_first=$(ls "$_nsd_zonedir" | sed -n 's/\.zone$//p' | head -n 1)
	if [ -z "$_nsd_first" ]; then
		echo "nsd_start: no *.zone file in $1" >&2
		return 1
	fi
	nsd_available || { echo "nsd_start: nsd not installed" >&2; return 1; }
	NSD_DIR=$(mktemp -d "${TMPDIR:-/tmp}/nsd.XXXXXX") || return 1
	export NSD_DIR
	for _nsd_try in 1 2 3 4 5; do
		NSD_PORT=$(_nsd_free_port)
		[ -n "$NSD_PORT" ] || continue
		_nsd_write_conf "$NSD_PORT" "$_nsd_zonedir"
		"$NSD" -c "$NSD_DIR/nsd.conf" >>"$NSD_DIR/nsd.log" 2>&1 || continue
		for _nsd_wait in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
			if _nsd_answers "$NSD_PORT" "$_nsd_first"; then
				export NSD_PORT
				return 0
			fi
			sleep 0.25
		done
		_nsd_kill
	done
	echo "nsd_start: nsd did not start; its log:" >&2
	cat "$NSD_DIR/nsd.log" >&2
	nsd_stop
	return 1
}

_nsd_kill() {
	[ -n "${NSD_DIR:-}" ] && [ -s "$NSD_DIR/nsd.pid" ] || return 0
	_nsd_pid=$(cat "$NSD_DIR/nsd.pid")
	kill "$_nsd_pid" 2>/dev/null || return 0
	for _nsd_wait in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		kill -0 "$_nsd_pid" 2>/dev/null || break
		sleep 0.1
	done
	rm -f "$NSD_DIR/nsd.pid"
}

nsd_stop() {
	_nsd_kill
	if [ -n "${NSD_DIR:-}" ]; then
		rm -rf "$NSD_DIR"
	fi
	NSD_DIR=
	NSD_PORT=
}
