# postfix.sh - a private Postfix instance with a milter, for tests and the demo.
#
#   . "$top_srcdir/tests/lib/postfix.sh"
#   postfix_available || { echo "1..0 # SKIP postfix not installed"; exit 0; }
#   trap postfix_stop EXIT
#   postfix_start DIR unix:/path/to/milter.sock || exit 1
#   swaks --server 127.0.0.1 --port "$POSTFIX_PORT" ...
#   postfix_stop
#
# Everything lives under DIR (an existing directory the caller removes):
# etc/ (main.cf, master.cf), spool/, data/, and out/, where each delivered
# message is written as out/QUEUEID.eml by a pipe transport; the log is
# DIR/maillog.  smtpd listens on 127.0.0.1 on a free port, exported as
# POSTFIX_PORT; 127.0.0.0/8 may relay.  The milter settings are those of
# contrib/postfix/main.cf.snippet with the socket given, so the snippet is
# what is tested.  The system's own Postfix is never touched.  Needs root
# and the postfix user; python3 picks the port.
#
# POSTFIX_MAIN_EXTRA, set before postfix_start, holds main.cf lines that
# add settings or replace those above (the benchmark relays by SMTP:
# default_transport = smtp:[127.0.0.1]:PORT; master.cf has an smtp service).
#
# For SMTP AUTH, call postfix_sasl DIR USER@REALM PASSWORD before
# postfix_start: smtpd then offers PLAIN and LOGIN, checked by Cyrus SASL
# against a private sasldb (DIR/sasl/), and passes the login on to the
# milter as {auth_authen}; it needs saslpasswd2 (sasl2-bin).

POSTFIX_DIR=
POSTFIX_PORT=
POSTFIX_MAIN_EXTRA=

postfix_available() {
	PATH=$PATH:/usr/sbin
	command -v postfix >/dev/null 2>&1 && command -v postconf >/dev/null 2>&1 &&
		id postfix >/dev/null 2>&1 && [ "$(id -u)" = 0 ]
}

postfix_free_port() {
	${SYS_PYTHON3:-/usr/bin/python3} -c \
		'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

postfix_write_config() { # DIR MILTER
	cat >"$1/etc/main.cf" <<PFEOF
compatibility_level = 3.6
queue_directory = $1/spool
data_directory = $1/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.postfix.test
mydomain = postfix.test
mydestination =
relay_domains =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
default_transport = sink
relay_transport = sink
alias_maps =
alias_database =
local_recipient_maps =
smtputf8_enable = no
biff = no
maillog_file = $1/maillog
maillog_file_prefixes = $1
PFEOF
	sed -n '/^[a-z_]* *=/p' "$top_srcdir/contrib/postfix/main.cf.snippet" |
		sed "s|^smtpd_milters = .*|smtpd_milters = $2|" |
		sed 's|^non_smtpd_milters = .*|non_smtpd_milters =|' |
		sed 's|^milter_default_action = .*|milter_default_action = tempfail|' >>"$1/etc/main.cf"
	cat >"$1/etc/master.cf" <<PFEOF
127.0.0.1:$POSTFIX_PORT inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
smtp      unix  - - n - - smtp
sink      unix  - n n - - pipe user=nobody argv=$1/sink \${queue_id}
PFEOF
	printf '#!/bin/sh\numask 022\ncat >"%s/out/$1.eml"\n' "$1" >"$1/sink"
	chmod 755 "$1/sink"
	# Each line of POSTFIX_MAIN_EXTRA adds a setting or replaces one above.
	printf '%s\n' "$POSTFIX_MAIN_EXTRA" | while IFS= read -r _pf_line; do
		[ -z "$_pf_line" ] || postconf -c "$1/etc" -e "$_pf_line"
	done
}

# The sasldb must be readable by smtpd, which runs as the postfix user
# (and outside etc/, which postfix(1) wants owned by root).  Postfix looks
# for smtpd.conf (smtpd_sasl_path) in cyrus_sasl_config_path; Debian's
# looks in $config_directory/sasl whatever that says, so both name etc/sasl.
postfix_sasl() { # DIR USER@REALM PASSWORD
	mkdir -p "$1/etc/sasl" "$1/sasl"
	printf '%s' "$3" | saslpasswd2 -f "$1/sasl/sasldb2" -c -p -u "${2#*@}" "${2%@*}" ||
		return 1
	chown postfix "$1/sasl/sasldb2"
	chmod 600 "$1/sasl/sasldb2"
	printf 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\n' \
		>"$1/etc/sasl/smtpd.conf"
	printf 'sasldb_path: %s\n' "$1/sasl/sasldb2" >>"$1/etc/sasl/smtpd.conf"
	POSTFIX_MAIN_EXTRA="smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = $1/etc/sasl"
}

# Returns non-zero, saying why on stderr, when Postfix does not come up or
# postconf warns about the configuration.
postfix_start() { # DIR MILTER
	local warnings i=0
	POSTFIX_DIR=$1
	POSTFIX_PORT=$(postfix_free_port)
	mkdir -p "$1/etc" "$1/spool" "$1/data" "$1/out"
	chown postfix "$1/data"
	chmod 1777 "$1/out"
	postfix_write_config "$1" "$2"
	warnings=$(postconf -c "$1/etc" -n 2>&1 >/dev/null)
	if [ -n "$warnings" ]; then
		echo "postconf: $warnings" >&2
		return 1
	fi
	postfix -c "$1/etc" start >"$1/postfix-start.log" 2>&1 || {
		cat "$1/postfix-start.log" >&2
		return 1
	}
	until ${SYS_PYTHON3:-/usr/bin/python3} -c \
		"import socket; socket.create_connection(('127.0.0.1', $POSTFIX_PORT), 1)" \
		2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 50 ] || { echo "postfix: smtpd does not answer" >&2; return 1; }
		sleep 0.2
	done
	export POSTFIX_PORT
}

postfix_stop() {
	[ -n "$POSTFIX_DIR" ] && postfix -c "$POSTFIX_DIR/etc" stop >/dev/null 2>&1
	POSTFIX_DIR=
}
