# shellcheck shell=sh disable=SC2034,SC2153,SC2154
# smtp.sh - the SMTP half of the benchmark, sourced by run.sh after the
# milter runs (README.md, "The standalone listener against Postfix").
#
# Uses run.sh's work directory, corpus, nsd, start_peers, cpu_of, rss_of,
# stop_pid and $pids; reads $smtp_rounds, $conn and $idle.  The same
# client (smtp_bench.py send) sends the corpus, each message from its own
# client address, to
#   authmilter --smtp, relaying to smtp-sink (next_hop), and
#   a private Postfix (tests/lib/postfix.sh) with opendkim and opendmarc as
#   its smtpd_milters, relaying to the same smtp-sink,
# in turn, $smtp_rounds times.  CPU is that of the whole server side:
# authmilter's process, against Postfix's master and every process it runs
# plus the two milters.  Then smtp-source sends small synthetic messages to
# each, and authmilter holds $idle idle connections while mail flows.

. "$top_srcdir/tests/lib/postfix.sh"

# The corpus's client networks, on the namespace's loopback: a client can
# bind any address in them, so SPF sees the address the milter runs give.
for net in 198.51.100.1/24 192.0.2.1/24 203.0.113.1/24; do
	ip addr add "$net" dev lo
done
chmod 755 "$work"

source_count=2000

# now: seconds since the epoch, to the nanosecond.
now() { date +%s.%N; }

wait_port() {
	until "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $1), 1)" \
		2>/dev/null; do
		sleep 0.1
	done
}

# start_sink [DUMPDIR]: smtp-sink on $sink_port, dumping each transaction
# into DUMPDIR when given.
sink_port=$(postfix_free_port)
start_sink() {
	if [ -n "${1:-}" ]; then
		mkdir -p "$1"
		chown nobody "$1"
		/usr/sbin/smtp-sink -u nobody -d "$1/%H%M%S." "127.0.0.1:$sink_port" 256 \
			>"$work/sink.log" 2>&1 &
	else
		/usr/sbin/smtp-sink -u nobody "127.0.0.1:$sink_port" 256 >"$work/sink.log" 2>&1 &
	fi
	SINKPID=$!
	pids="$pids $SINKPID"
	wait_port "$sink_port"
}

# The listener: as the milter run's config, but listening and relaying;
# 127.0.0.0/8 is not trusted, so smtp-source's mail is checked too.
am_port=$(postfix_free_port)
cat >"$work/smtp-am.conf" <<EOF
authserv_id mx.bench.test
dns_server 127.0.0.1:53
log_level warning
report_store sqlite:$work/smtp-am.db
trusted_networks ""
next_hop smtp:127.0.0.1:$sink_port
smtp_max_connections $((idle + 100))
EOF

# Postfix relays everything to the sink, opening a connection per delivery
# as the listener does; its processes never retire during the run, so the
# CPU of every one of them is still in /proc at the end.  It asks no PTR
# (the listener does not).
POSTFIX_MAIN_EXTRA="default_transport = smtp:[127.0.0.1]:$sink_port
relay_transport = smtp:[127.0.0.1]:$sink_port
relay_domains = bench.test
smtpd_relay_restrictions = reject_unauth_destination
smtp_connection_cache_on_demand = no
smtpd_peername_lookup = no
max_use = 1000000
max_idle = 3600s"

start_listener() {
	"$authmilter" -f --smtp "127.0.0.1:$am_port" -c "$work/smtp-am.conf" \
		>>"$work/smtp-am.log" 2>&1 &
	AMPID=$!
	pids="$pids $AMPID"
	wait_port "$am_port"
}

# queue_drained: waits until Postfix has handed on every message it took
# (nothing in incoming, active or deferred); non-zero after 600 seconds.
queue_drained() {
	for _ in $(seq 12000); do
		[ -z "$(find "$work/postfix/spool/incoming" "$work/postfix/spool/active" \
			"$work/postfix/spool/deferred" -type f 2>/dev/null | head -1)" ] && return 0
		sleep 0.05
	done
	return 1
}

# The Postfix side's CPU seconds and PSS KiB: master's tree, opendkim,
# opendmarc.
pf_figures() {
	"$PY" "$here/smtp_bench.py" tree "$(cat "$work/postfix/spool/pid/master.pid")" \
		"$DKPID" "$DMPID"
}

smtp_send() { # PORT JSON
	timeout 900 "$PY" "$here/smtp_bench.py" send --conn "$conn" --time-limit 600 \
		--json "$2" "$work/corpus" "$1" >/dev/null || true
}

# side_cpu am|pf: CPU seconds of that side so far.
side_cpu() {
	if [ "$1" = am ]; then cpu_of "$AMPID"; else pf_figures | cut -d' ' -f1; fi
}

# run_side NAME am|pf COMMAND...: runs the client command; appends to
# smtp-cpu.txt NAME, the side, the wall clock before and after (for
# Postfix, after its queue is empty) and the side's CPU before and after.
run_side() {
	_name=$1 _side=$2
	shift 2
	_c0=$(side_cpu "$_side")
	_t0=$(now)
	"$@"
	[ "$_side" = am ] || queue_drained || echo "run.sh: Postfix's queue did not drain" >&2
	_t1=$(now)
	echo "$_name $_side $_t0 $_t1 $_c0 $(side_cpu "$_side")" >>"$work/smtp-cpu.txt"
}

echo "SMTP: authmilter --smtp and Postfix + opendkim + opendmarc..." >&2
start_sink "$work/sink-check"
start_listener
start_peers
postfix_start "$work/postfix" "unix:$work/opendkim.sock, unix:$work/opendmarc.sock" || {
	echo "run.sh: Postfix did not start" >&2
	exit 1
}
pids="$pids $(cat "$work/postfix/spool/pid/master.pid")"

# A first pass each, unmeasured, fills the DNS caches and starts Postfix's
# processes; the sink keeps these transactions, for the tallies.
: >"$work/smtp-cpu.txt"
smtp_send "$am_port" "$work/smtp-am-check.json"
stop_pid "$SINKPID"
mv "$work/sink-check" "$work/sink-am"
start_sink "$work/sink-check"
smtp_send "$POSTFIX_PORT" "$work/smtp-pf-check.json"
queue_drained || true
stop_pid "$SINKPID"
mv "$work/sink-check" "$work/sink-pf"
"$PY" "$here/smtp_bench.py" tally "$work/sink-am" >"$work/smtp-am-tally.json"
"$PY" "$here/smtp_bench.py" tally "$work/sink-pf" >"$work/smtp-pf-tally.json"
rm -rf "$work/sink-am" "$work/sink-pf"
start_sink

echo "SMTP: $smtp_rounds saturated rounds, in turn..." >&2
round=1
while [ "$round" -le "$smtp_rounds" ]; do
	run_side "$round" am smtp_send "$am_port" "$work/smtp-am-$round.json"
	run_side "$round" pf smtp_send "$POSTFIX_PORT" "$work/smtp-pf-$round.json"
	round=$((round + 1))
done

echo "SMTP: smtp-source, $source_count small messages each..." >&2
for side in am pf; do
	port=$am_port
	[ "$side" = am ] || port=$POSTFIX_PORT
	run_side source "$side" timeout 600 /usr/sbin/smtp-source -s "$conn" \
		-m "$source_count" -l 4096 -M relay0.news.example -f bench@news.example \
		-t rcpt@bench.test "127.0.0.1:$port" >"$work/smtp-source-$side.log" 2>&1 ||
		true
done

smtp_am_pss=$("$PY" "$here/smtp_bench.py" tree "$AMPID" | cut -d" " -f2)
smtp_pf_pss=$(pf_figures | cut -d' ' -f2)
postfix_stop
stop_pid "$DKPID"
stop_pid "$DMPID"

# The hold, on a fresh listener: the heap the rounds left would hide what
# each connection costs.
echo "SMTP: $idle idle connections..." >&2
stop_pid "$AMPID"
start_listener
timeout 900 "$PY" "$here/smtp_bench.py" idle --idle "$idle" --pid "$AMPID" \
	--json "$work/smtp-idle.json" "$work/corpus" "$am_port" >/dev/null || true
stop_pid "$AMPID"
stop_pid "$SINKPID"
