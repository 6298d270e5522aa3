# mailtest.sh - what the end-to-end tests of authmilter behind a private
# Postfix share (sourced with top_srcdir and top_builddir set; brings
# nsd.sh, postfix.sh and tap.sh, and sets $python, Debian's python3, and
# $authmilter):
#
#   mailtest_begin WHAT...       a TAP skip, and exit, unless nsd, Postfix
#                                (and root), python3-authres and each WHAT
#                                (a command, a built program by path, or
#                                py:MODULE) are there; then makes $tmp,
#                                removed at exit with the daemon, Postfix
#                                and nsd stopped
#   key_record KEYFILE rsa|ed25519
#                                makes a private key (mode 600) and prints
#                                its DKIM key record as TXT character-strings
#   zone NAME SPF DMARC-POLICY [LINE...]
#                                writes $tmp/zones/NAME.zone ("" policy: no
#                                _dmarc record)
#   serve_zones                  nsd serves them, or the test bails out
#   milter_config [LINE...]      writes $tmp/authmilter.conf: authserv-id
#                                $authserv, a socket for Postfix, nsd as DNS,
#                                no trusted networks, an SQLite report store
#                                in $tmp/milter, then LINEs
#   milter_start / milter_stop   runs authmilter as nobody:postfix, logging
#                                to $tmp/authmilter.log / SIGTERM, returning
#                                its exit status
#   message FROM SUBJECT ID [FIELD...]
#                                a message (Message-ID <ID@test>) on stdout
#   send NAME MAIL-FROM FILE [SWAKS-OPTION...]
#                                swaks to $POSTFIX_PORT; prints the reply to
#                                the end of the data
#   delivered ID                 the file Postfix delivered with Message-ID
#                                <ID@test> (waits for it)
#   not_delivered ID             succeeds when, a second later, none is
#   refused ID MAIL-FROM DOMAIN WHAT
#                                two checks: $tmp/ID.eml gets DOMAIN's DMARC
#                                550 5.7.1, and is not delivered
#   fields FILE NAME             each field NAME of FILE, unfolded, one a line
#   results FILE                 each Authentication-Results field:
#                                "authserv-id method=result..."
#   mailtest_done                tap_plan, after the ends of the daemon's and
#                                Postfix's logs if a check failed
#
# milter_config and results expect $authserv.

. "$top_srcdir/tests/lib/nsd.sh"
. "$top_srcdir/tests/lib/postfix.sh"
. "$top_srcdir/tests/lib/tap.sh"
python=${SYS_PYTHON3:-/usr/bin/python3}
authmilter=$top_builddir/milter/authmilter
milter_pid=

mailtest_cleanup() {
	postfix_stop
	milter_stop 2>/dev/null
	nsd_stop
	rm -rf "$tmp"
}

mailtest_begin() { # WHAT...
	_mb_missing=
	for _mb in "$@"; do
		case $_mb in
		*/*) [ -x "$_mb" ] || _mb_missing="$_mb_missing $_mb(not built)" ;;
		py:*)
			"$python" -c "import ${_mb#py:}" 2>/dev/null ||
				_mb_missing="$_mb_missing python:${_mb#py:}"
			;;
		*)
			command -v "$_mb" >/dev/null 2>&1 || [ -x "/usr/sbin/$_mb" ] ||
				_mb_missing="$_mb_missing $_mb"
			;;
		esac
	done
	nsd_available || _mb_missing="$_mb_missing nsd"
	postfix_available || _mb_missing="$_mb_missing postfix(or not root)"
	"$python" -c 'import authres' 2>/dev/null || _mb_missing="$_mb_missing python3-authres"
	if [ -n "$_mb_missing" ]; then
		echo "1..0 # SKIP not installed:$_mb_missing"
		exit 0
	fi
	PATH=$PATH:/usr/sbin
	tmp=$(mktemp -d) || exit 1
	chmod 755 "$tmp"
	trap mailtest_cleanup EXIT
}

# TXT character-strings are at most 255 bytes: the record is split.  An
# Ed25519 record holds the raw 32-byte key (RFC 8463 section 4.2).
key_record() { # KEYFILE rsa|ed25519
	if [ "$2" = rsa ]; then
		openssl genrsa -traditional -out "$1" 2048 2>/dev/null
		_kr_p=$(openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | base64 -w0)
	else
		openssl genpkey -algorithm ED25519 -out "$1" 2>/dev/null
		_kr_p=$(openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | tail -c 32 |
			base64 -w0)
	fi
	chmod 600 "$1"
	printf '%s' "v=DKIM1; k=$2; p=$_kr_p" | fold -w 200 | sed 's/.*/"&"/' | tr '\n' ' '
}

zone() { # NAME SPF DMARC-POLICY [LINE...]
	_z_name=$1 _z_spf=$2 _z_policy=$3
	shift 3
	mkdir -p "$tmp/zones"
	{
		printf '$ORIGIN %s.\n' "$_z_name"
		printf '$TTL 300\n@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300\n' \
			"$_z_name" "$_z_name"
		printf '@ IN NS ns.%s.\nns IN A 127.0.0.1\n' "$_z_name"
		printf '@ IN TXT "%s"\n' "$_z_spf"
		[ -z "$_z_policy" ] || printf '_dmarc IN TXT "v=DMARC1; p=%s"\n' "$_z_policy"
		for _z_line in "$@"; do
			printf '%s\n' "$_z_line"
		done
	} >"$tmp/zones/$_z_name.zone"
}

serve_zones() {
	if ! nsd_start "$tmp/zones"; then
		echo "Bail out! nsd did not start"
		exit 1
	fi
}

# The test clients connect from 127.0.0.1, trusted by default: with no
# trusted networks, only an authenticated client is exempt.
milter_config() { # [LINE...]
	mkdir -p "$tmp/milter" "$tmp/postfix"
	chown nobody:postfix "$tmp/milter"
	printf '%s\n' "authserv_id $authserv" "socket unix:$tmp/milter/authmilter.sock" \
		"dns_server 127.0.0.1:$NSD_PORT" "dns_timeout 2s" 'trusted_networks ""' \
		"log_level info" "report_store sqlite:$tmp/milter/reports.db" \
		"report_domain mx.postfix.test" "$@" >"$tmp/authmilter.conf"
}

milter_start() {
	_ms_i=0
	"$authmilter" -f -c "$tmp/authmilter.conf" -u nobody -g postfix >"$tmp/authmilter.log" 2>&1 &
	milter_pid=$!
	while [ ! -S "$tmp/milter/authmilter.sock" ] && [ $_ms_i -lt 50 ]; do
		sleep 0.1
		_ms_i=$((_ms_i + 1))
	done
	[ -S "$tmp/milter/authmilter.sock" ]
}

milter_stop() {
	[ -n "$milter_pid" ] || return 0
	kill "$milter_pid" 2>/dev/null
	wait "$milter_pid"
	_ms_rc=$?
	milter_pid=
	return $_ms_rc
}

message() { # FROM-ADDRESS SUBJECT ID [EXTRA-HEADER...]
	_from=$1 _subject=$2 _id=$3
	shift 3
	for _h in "$@"; do
		printf '%s\r\n' "$_h"
	done
	printf 'From: Sender <%s>\r\nTo: rcpt@receiver.test\r\nSubject: %s\r\n' "$_from" "$_subject"
	printf 'Date: Wed, 25 Nov 2026 12:00:00 +0000\r\nMessage-ID: <%s@test>\r\n' "$_id"
	printf '\r\nHello from %s.\r\n' "$_from"
}

send() { # NAME MAIL-FROM DATA-FILE [SWAKS-OPTION...]
	_s_name=$1 _s_from=$2 _s_data=$3
	shift 3
	swaks --server 127.0.0.1 --port "$POSTFIX_PORT" --helo client.test --from "$_s_from" \
		--to rcpt@receiver.test --data "$_s_data" "$@" >"$tmp/$_s_name.swaks" 2>&1
	# The reply to the end of the message: the first one after " -> .".
	awk '/^ -> \.$/ { data = 1; next } data && /^<(-|\*\*) +[0-9][0-9][0-9] / {
		sub(/^<(-|\*\*) +/, ""); print; exit }' "$tmp/$_s_name.swaks"
}

delivered() { # ID
	_d_i=0
	while [ $_d_i -lt 50 ]; do
		_d_f=$(grep -l "^Message-ID: <$1@test>" "$tmp"/postfix/out/*.eml 2>/dev/null |
			head -n 1)
		[ -n "$_d_f" ] && { echo "$_d_f"; return 0; }
		sleep 0.2
		_d_i=$((_d_i + 1))
	done
	return 1
}

not_delivered() { # ID
	sleep 1
	[ -z "$(grep -l "^Message-ID: <$1@test>" "$tmp"/postfix/out/*.eml 2>/dev/null)" ]
}

refused() { # ID MAIL-FROM DOMAIN WHAT
	is "$(send "$1" "$2" "$tmp/$1.eml")" "550 5.7.1 Rejected by DMARC policy for $3" \
		"$4: swaks sees 550 5.7.1"
	not_delivered "$1"
	check $? "$4: not delivered"
}

fields() { # FILE NAME
	"$python" - "$1" "$2" <<'EOF'
import email, email.policy, sys
with open(sys.argv[1], "rb") as f:
    msg = email.message_from_binary_file(f, policy=email.policy.compat32)
for value in msg.get_all(sys.argv[2]) or []:
    print(" ".join(value.split()))
EOF
}

results() { # FILE
	fields "$1" Authentication-Results | "$python" -c '
import sys, authres
for value in sys.stdin:
    h = authres.AuthenticationResultsHeader.parse("Authentication-Results: " + value.strip())
    print(h.authserv_id, " ".join("%s=%s" % (r.method, r.result) for r in h.results))'
}

mailtest_done() {
	if [ $failed != 0 ]; then
		echo "# authmilter log:"
		sed 's/^/#   /' "$tmp/authmilter.log" | tail -30
		echo "# Postfix log:"
		sed 's/^/#   /' "$tmp/postfix/maillog" | tail -30
	fi
	tap_plan
}
