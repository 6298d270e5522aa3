#!/usr/bin/python3
"""milter-proto - authmilter driven over the milter protocol (version 6).

The MTA side is tests/lib/milterclient.py, packet by packet (struct-packed
SMFIC_* commands), so the test can send what a real MTA never would: commands out
of order, missing macros, oversized or truncated packets, unknown
commands.  After each abuse the daemon must still serve the next
connection.  It also checks what the daemon negotiates, that it answers
nothing where it asked for no reply, what it does at end of message, and
that SIGHUP reloads (or keeps a good config) and SIGTERM ends it cleanly
with exit status 0 (under AddressSanitizer, that includes no leaks).

DNS: the daemon is pointed at a loopback port where nothing answers, with
a short timeout, so every look-up is a temporary failure; what this test
checks does not depend on any DNS answer.
"""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests", "lib"))
import milterclient as mc  # noqa: E402
import tap  # noqa: E402
from milterclient import (  # noqa: E402
    ALL_PROTOCOL, SMFIC_ABORT, SMFIC_BODY, SMFIC_BODYEOB, SMFIC_CONNECT, SMFIC_EOH,
    SMFIC_HEADER, SMFIC_HELO, SMFIC_MAIL, SMFIC_RCPT, SMFIF_ADDHDRS, SMFIF_CHGHDRS,
    SMFIF_QUARANTINE, SMFIP_HDR_LEADSPC, SMFIP_NODATA, SMFIP_NOUNKNOWN, SMFIP_NR_BODY,
    SMFIP_NR_CONN, SMFIP_NR_EOH, SMFIP_NR_HDR, SMFIP_NR_HELO, SMFIP_NR_MAIL, SMFIP_NR_RCPT,
    SMFIR_ACCEPT, SMFIR_CONTINUE, SMFIC_OPTNEG, Milter, final, free_port, inserted,
    valid_final)
from tap import diag, ok  # noqa: E402

AUTHSERV_ID = "mx.proto.test"

WANT_ACTIONS = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE
WANT_PROTOCOL = (SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NR_CONN | SMFIP_NR_HELO |
                 SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_EOH |
                 SMFIP_NR_BODY | SMFIP_HDR_LEADSPC)

HEADERS = [(b"From", b" Sender <user@sender.test>"), (b"To", b" rcpt@receiver.test"),
           (b"Subject", b" protocol test"), (b"Message-ID", b" <1@sender.test>"),
           (b"Date", b" Wed, 25 Nov 2026 12:00:00 +0000")]


class Daemon(mc.Daemon):
    def write_config(self, extra=""):
        mc.Daemon.write_config(self, "authserv_id %s\n" % AUTHSERV_ID +
                             "dns_server 127.0.0.1:%d\ndns_timeout 100ms\ndns_retries 0\n"
                             % dead_port() +
                             "spf_timeout 2s\nlog_level info\ntrusted_networks 10.9.9.9\n" +
                             extra)


def dead_port():
    """A loopback UDP port with nothing behind it."""
    return free_port(socket.SOCK_DGRAM)


def one_message(d):
    """A whole connection with one message; True when it was answered."""
    try:
        m = Milter(d.sock)
        m.negotiate()
        m.connect()
        m.step(SMFIC_HELO, b"client.sender.test\0", SMFIP_NR_HELO)
        acts = m.message(HEADERS)
        m.close()
        return valid_final(acts)
    except (OSError, EOFError) as e:
        diag(e)
        return False


def full_session(d, name):
    """The daemon still serves a whole connection."""
    return ok(one_message(d) and d.alive(), name)


def test_negotiation(d):
    m = Milter(d.sock)
    cmd, version, actions, protocol = m.negotiate()
    ok(cmd == SMFIC_OPTNEG and version == 6, "negotiation answered, version 6")
    ok(actions == WANT_ACTIONS, "asks for add-header, change-header, quarantine (0x%x)" % actions)
    ok(protocol == WANT_PROTOCOL, "asks for leading space, no unknown/DATA, no replies "
       "before end of message (0x%x)" % protocol)
    m.close()
    # An MTA offering only the version 2 steps: every step gets a reply.
    m = Milter(d.sock)
    cmd, version, actions, protocol = m.negotiate(actions=0x3F, protocol=0x7F)
    ok(protocol == 0 and actions == WANT_ACTIONS,
       "asks only for what the MTA offers (0x%x 0x%x)" % (actions, protocol))
    r = m.connect()
    ok(r is not None and r[0] == SMFIR_CONTINUE, "connect answered with continue")
    r = m.step(SMFIC_HELO, b"client.sender.test\0", 0)
    ok(r is not None and r[0] == SMFIR_CONTINUE, "helo answered with continue")
    m.macro(SMFIC_MAIL, [(b"i", b"QIDV2")])
    r = m.step(SMFIC_MAIL, b"<user@sender.test>\0", 0)
    ok(r is not None and r[0] == SMFIR_CONTINUE, "mail answered with continue")
    r = m.step(SMFIC_RCPT, b"<rcpt@receiver.test>\0", 0)
    ok(r is not None and r[0] == SMFIR_CONTINUE, "rcpt answered with continue")
    r = m.step(SMFIC_HEADER, b"From\0Sender <user@sender.test>\0", 0)
    ok(r is not None and r[0] == SMFIR_CONTINUE, "header answered with continue")
    r = m.step(SMFIC_EOH, b"", 0)
    ok(r is not None and r[0] == SMFIR_CONTINUE, "end of headers answered with continue")
    r = m.step(SMFIC_BODY, b"Body.\r\n", 0)
    ok(r is not None and r[0] == SMFIR_CONTINUE, "body answered with continue")
    acts = m.eom()
    ok(valid_final(acts), "end of message answered (v2 steps)")
    m.close()


def test_no_replies_before_eom(d):
    m = Milter(d.sock)
    m.negotiate()
    m.connect()
    m.step(SMFIC_HELO, b"client.sender.test\0", SMFIP_NR_HELO)
    m.macro(SMFIC_MAIL, [(b"i", b"QIDNR")])
    m.step(SMFIC_MAIL, b"<user@sender.test>\0", SMFIP_NR_MAIL)
    m.step(SMFIC_RCPT, b"<rcpt@receiver.test>\0", SMFIP_NR_RCPT)
    for name, value in HEADERS:
        m.step(SMFIC_HEADER, name + b"\0" + value + b"\0", SMFIP_NR_HDR)
    m.step(SMFIC_EOH, b"", SMFIP_NR_EOH)
    m.step(SMFIC_BODY, b"Body.\r\n", SMFIP_NR_BODY)
    ok(m.quiet(), "nothing sent back before end of message")
    acts = m.eom()
    ok(valid_final(acts), "end of message gets a final reply")
    for idx, value in inserted(acts, b"Authentication-Results"):
        ok(idx == 0, "Authentication-Results inserted at the top (index %d)" % idx)
        ok(value.startswith(b" " + AUTHSERV_ID.encode() + b";"),
           "its value keeps the leading space and names our authserv-id: %r" % value[:60])
        ok(b"\r\n" not in value, "folded with LF only, as the MTA wants it")
    m.close()


def test_many_messages(d):
    m = Milter(d.sock)
    m.negotiate()
    m.connect(ip="2001:db8::25", host=b"client6.sender.test")
    m.step(SMFIC_HELO, b"client6.sender.test\0", SMFIP_NR_HELO)
    finals = [valid_final(m.message(HEADERS, queue_id=b"QM%d" % i)) for i in range(40)]
    ok(all(finals), "40 messages on one connection, each answered")
    m.close()
    ok(d.log_text().count("QM39: client=2001:db8::25 ") == 1,
       "one summary line per message, with queue id and IPv6 client")


def test_abort_mid_body(d):
    m = Milter(d.sock)
    m.negotiate()
    m.connect()
    m.macro(SMFIC_MAIL, [(b"i", b"QABORT")])
    m.step(SMFIC_MAIL, b"<user@sender.test>\0", SMFIP_NR_MAIL)
    for name, value in HEADERS:
        m.step(SMFIC_HEADER, name + b"\0" + value + b"\0", SMFIP_NR_HDR)
    m.step(SMFIC_EOH, b"", SMFIP_NR_EOH)
    m.step(SMFIC_BODY, b"x" * 60000, SMFIP_NR_BODY)
    m.send(SMFIC_ABORT)
    ok(m.quiet(), "abort needs no reply")
    acts = m.message(HEADERS, queue_id=b"QAFTER")
    ok(valid_final(acts), "the next message on the same connection is evaluated")
    m.close()
    ok("QABORT: client" not in d.log_text(), "the aborted message logs no summary")
    ok("QAFTER: client=192.0.2.1 " in d.log_text(), "the next one does")


def test_missing_macros(d):
    m = Milter(d.sock)
    m.negotiate()
    m.connect()
    m.step(SMFIC_MAIL, b"<>\0", SMFIP_NR_MAIL)
    m.step(SMFIC_RCPT, b"<postmaster@receiver.test>\0", SMFIP_NR_RCPT)
    for name, value in HEADERS:
        m.step(SMFIC_HEADER, name + b"\0" + value + b"\0", SMFIP_NR_HDR)
    m.step(SMFIC_EOH, b"", SMFIP_NR_EOH)
    acts = m.eom()
    ok(valid_final(acts), "no macros at all, null sender, no body: answered")
    m.close()
    ok("NOQUEUE: client=192.0.2.1 " in d.log_text(), "logged without a queue id")


def test_unknown_client(d):
    m = Milter(d.sock)
    m.negotiate()
    m.step(SMFIC_CONNECT, b"localhost\0U", SMFIP_NR_CONN)
    acts = m.message(HEADERS, queue_id=b"QLOCAL")
    ok(valid_final(acts), "client of unknown address family (local submission) answered")
    m.close()
    ok("QLOCAL: client=unknown " in d.log_text(), "logged as client=unknown")


def test_exempt_clients(d):
    m = Milter(d.sock)
    m.negotiate()
    m.connect()
    acts = m.message(HEADERS, queue_id=b"QAUTH", auth=b"alice")
    ok(valid_final(acts), "authenticated client ({auth_authen}) answered")
    m.close()
    line = d.summary("QAUTH")
    ok(line is not None and line.startswith("client=192.0.2.1 spf=skipped dkim=skipped "
                                            "dmarc=skipped "),
       "{auth_authen} reaches the session: not checked (%s)" % line)
    m = Milter(d.sock)
    m.negotiate()
    m.connect(ip="::ffff:10.9.9.9", host=b"[::ffff:10.9.9.9]")
    acts = m.message(HEADERS, queue_id=b"QMAPPED")
    ok(valid_final(acts), "IPv4-mapped IPv6 client answered")
    m.close()
    line = d.summary("QMAPPED")
    ok(line is not None and line.startswith("client=10.9.9.9 spf=skipped "),
       "IPv4-mapped client taken as IPv4, and trusted (%s)" % line)


def test_forged_results(d):
    m = Milter(d.sock)
    m.negotiate()
    m.connect()
    forged = [(b"Authentication-Results", b" other.example; spf=pass smtp.mailfrom=x.test"),
              (b"Authentication-Results", b" " + AUTHSERV_ID.encode() +
               b"; dmarc=pass header.from=sender.test")]
    acts = m.message(forged + HEADERS, queue_id=b"QFORGED")
    changes = mc.changes(acts)
    ok(changes == [(2, b"Authentication-Results", b"")],
       "the field claiming our authserv-id (2nd of its name) is deleted, "
       "the other kept: %r" % changes)
    m.close()


def test_header_limit(d, name):
    """Over max_header_bytes is an outcome: the message is judged and gets
    our Authentication-Results, whatever on_internal_error says."""
    m = Milter(d.sock)
    m.negotiate()
    m.connect()
    big = [(b"X-Big-%d" % i, b" " + b"y" * 900) for i in range(8)]
    acts = m.message(HEADERS + big, queue_id=b"QBIG")
    cmd, data = final(acts)
    ok(cmd in (SMFIR_CONTINUE, SMFIR_ACCEPT) and inserted(acts, b"Authentication-Results"),
       "%s: headers over max_header_bytes: judged, our A-R added (%r %r)"
       % (name, cmd, data[:40]))
    acts = m.message(HEADERS, queue_id=b"QSMALL")
    ok(valid_final(acts), "%s: the next message is evaluated" % name)
    m.close()


def test_out_of_order(d):
    m = Milter(d.sock)
    m.negotiate()
    m.send(SMFIC_HEADER, b"From\0 a@b.test\0")
    m.send(SMFIC_BODY, b"body before anything\r\n")
    try:
        m.send(SMFIC_BODYEOB)
        m.sock.settimeout(5)
        m.sock.recv(4096)
    except OSError:
        pass
    m.close()
    ok(d.alive(), "header and body before connect and MAIL: daemon up")
    full_session(d, "next connection after out-of-order commands")

    m = Milter(d.sock)
    m.negotiate()
    m.connect()
    m.send(SMFIC_EOH)
    try:
        m.send(SMFIC_BODYEOB)
        m.sock.settimeout(5)
        m.sock.recv(4096)
    except OSError:
        pass
    m.close()
    full_session(d, "next connection after end of message without MAIL")


def abuse(d, name, payloads):
    """Sends raw bytes after negotiation; the daemon must survive."""
    try:
        m = Milter(d.sock)
        m.negotiate()
        m.connect()
        for p in payloads:
            m.raw(p)
        m.closed(3)
        m.sock.close()
    except OSError:
        pass
    ok(d.alive(), "%s: daemon up" % name)
    full_session(d, "%s: next connection served" % name)


def test_malformed(d):
    abuse(d, "oversized length", [struct.pack("!I", 0x7FFFFFF0) + b"B" + b"z" * 100])
    abuse(d, "unknown command", [struct.pack("!I", 5) + b"Zabcd"])
    abuse(d, "truncated packet", [struct.pack("!I", 100) + b"L" + b"From\0"])
    abuse(d, "zero length", [struct.pack("!I", 0)])
    abuse(d, "header without NUL", [struct.pack("!I", 9) + b"LFromabcd"])
    abuse(d, "macro with odd strings", [struct.pack("!I", 4) + b"DM{i"])
    abuse(d, "connect with bad family", [struct.pack("!I", 12) + b"Chost\0Z\0\0ab"])
    # Garbage before negotiation.
    try:
        m = Milter(d.sock)
        m.raw(b"GET / HTTP/1.0\r\n\r\n")
        m.closed(3)
        m.sock.close()
    except OSError:
        pass
    ok(d.alive(), "garbage instead of negotiation: daemon up")
    full_session(d, "garbage instead of negotiation: next connection served")


def test_reload(d):
    with open(d.conf, "a") as f:
        f.write("no_such_key 1\n")
    with open(d.conf) as f:
        bad_line = len(f.read().splitlines())
    d.proc.send_signal(signal.SIGHUP)
    time.sleep(1)
    ok(d.alive(), "SIGHUP with a broken config: daemon up")
    ok("reload failed, keeping the running config: %s:%d: unknown key \"no_such_key\""
       % (d.conf, bad_line) in d.log_text(), "the log says why, with file:line")
    full_session(d, "served with the old config")
    d.write_config("max_header_bytes 2k\non_internal_error tempfail\n")
    d.proc.send_signal(signal.SIGHUP)
    time.sleep(1)
    ok("configuration reloaded from %s" % d.conf in d.log_text(), "SIGHUP reloads a good config")
    test_header_limit(d, "after reload, fail closed")


def test_term_finishes_message(d):
    # Without no-reply steps, so that each reply shows the daemon has read
    # the message up to there before the signal comes.
    m = Milter(d.sock)
    m.negotiate(protocol=ALL_PROTOCOL & ~(SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL |
                                          SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_EOH |
                                          SMFIP_NR_BODY))
    m.connect()
    m.macro(SMFIC_MAIL, [(b"i", b"QINFLIGHT")])
    m.step(SMFIC_MAIL, b"<user@sender.test>\0", SMFIP_NR_MAIL)
    m.step(SMFIC_RCPT, b"<rcpt@receiver.test>\0", SMFIP_NR_RCPT)
    for name, value in HEADERS:
        m.step(SMFIC_HEADER, name + b"\0" + value + b"\0", SMFIP_NR_HDR)
    d.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    m.step(SMFIC_EOH, b"", SMFIP_NR_EOH)
    m.step(SMFIC_BODY, b"late body\r\n", SMFIP_NR_BODY)
    acts = m.eom()
    ok(valid_final(acts), "a message in flight at SIGTERM is finished")
    m.close()
    ok("QINFLIGHT: client=192.0.2.1 " in d.log_text(), "and logged")
    status = d.stop()
    ok(status == 0, "exit status 0 after SIGTERM (%s)" % status)
    ok(not os.path.exists(d.sock), "socket removed at exit")


def run(args):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace").strip()


def test_command_line(d):
    rc, out = run([d.binary, "-t", "-c", d.conf])
    ok(rc == 0 and out == "authmilter: configuration OK", "-t on a good config: %d %s" % (rc, out))
    rc, out = run([d.binary, "-t", "-c", d.conf, "-o", "max_headers=5"])
    ok(rc == 78 and out == "authmilter: command line: max_headers must be between 10 and 100000",
       "-t with a bad override: EX_CONFIG: %d %s" % (rc, out))
    rc, out = run([d.binary, "-t", "-c", d.conf, "-o", "nokey"])
    ok(rc == 2 and out.startswith("authmilter: -o takes key=value\nusage: authmilter"),
       "-o without '=' is a usage error: %d" % rc)
    rc, out = run([d.binary, "-t", "-c", os.path.join(d.tmp, "missing.conf")])
    ok(rc == 78 and "missing.conf: No such file or directory" in out,
       "a config named with -c must exist: %d %s" % (rc, out))
    rc, out = run([d.binary, "-x"])
    ok(rc == 2, "unknown option: exit 2")
    test_help_and_version(d)
    test_check_refuses(d)
    test_check_verbose(d)


def run_split(args):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def test_help_and_version(d):
    for flag in ("-h", "--help"):
        rc, out, err = run_split([d.binary, flag])
        ok(rc == 0 and out.startswith("usage: authmilter") and "--version" in out and err == "",
           "%s: the usage on stdout, exit 0" % flag)
    rc, out, err = run_split([d.binary, "--no-such-option"])
    ok(rc == 2 and out == "" and "usage: authmilter" in err,
       "a bad option: the usage on stderr, exit 2: %d" % rc)
    for flag in ("-V", "--version"):
        rc, out, err = run_split([d.binary, flag])
        ok(rc == 0 and re.fullmatch(r"authmilter \d+\.\d+\.\d+\n", out) is not None,
           "%s prints the version: %r" % (flag, out))
    rc, out, err = run_split([d.binary, "-v", "-c", d.conf])
    ok(rc == 2 and "-v goes with -t" in err, "-v without -t is a usage error")


def test_check_refuses(d):
    """What the start would refuse, -t refuses, naming the cause; so does
    the start itself."""
    cases = [
        (["-o", "dns_server=127.0.0.1:99999"],
         "authmilter: command line: dns_server takes HOST, HOST:PORT or [IPv6]:PORT, "
         "the port from 1 to 65535"),
        (["-u", "no-such-user-here"], "authmilter: unknown user no-such-user-here"),
        (["-g", "no-such-group-here"], "authmilter: unknown group no-such-group-here"),
        (["-p", "unix:/nonexistent/authmilter/authmilter.sock"],
         "authmilter: socket unix:/nonexistent/authmilter/authmilter.sock: "
         "/nonexistent/authmilter does not exist: No such file or directory"),
        (["-P", "/nonexistent/run/authmilter.pid"],
         "authmilter: pidfile: /nonexistent/run does not exist: No such file or directory"),
        (["-o", "dkim_sign=example.org sel /nonexistent/key.pem"],
         "authmilter: /nonexistent/key.pem: No such file or directory"),
        (["-o", "Authserv_Id=x"],
         "authmilter: command line: unknown key \"Authserv_Id\"; did you mean \"authserv_id\"?"),
        (["-o", "spf_timeout=1h"], "authmilter: command line: spf_timeout must be between 1ms and 10m"),
    ]
    for args, want in cases:
        rc, out = run([d.binary, "-t", "-c", d.conf] + args)
        ok(rc == 78 and out == want, "-t %s: EX_CONFIG, %s" % (" ".join(args), want))
        if not (rc == 78 and out == want):
            diag("got %d %r" % (rc, out))
    bad = os.path.join(d.tmp, "case.conf")
    with open(bad, "w") as f:
        f.write("Authserv_Id mx.example\n")
    rc, out = run([d.binary, "-t", "-c", bad])
    ok(rc == 78 and out == "authmilter: %s:1: unknown key \"Authserv_Id\"; did you mean "
       "\"authserv_id\"?" % bad, "a wrong-case key in the file: file:line and the key meant")
    rc, out = run([d.binary, "-f", "-c", d.conf, "-p", "unix:/nonexistent/authmilter/a.sock"])
    ok(rc == 78 and "/nonexistent/authmilter does not exist: No such file or directory" in out,
       "the start names the missing socket directory: %d %s" % (rc, out))
    store = os.path.join(d.tmp, "no-such-dir", "reports.db")
    rc, out, err = run_split([d.binary, "-t", "-c", d.conf, "-o", "report_store=sqlite:" + store])
    ok(rc == 0 and out == "authmilter: configuration OK\n" and
       err == "authmilter: warning: report_store: %s does not exist: No such file or directory; "
       "no report record is stored until it can be\n" % os.path.dirname(store) and
       not os.path.exists(os.path.dirname(store)),
       "a store that cannot be opened is a warning, and -t creates nothing: %r" % err)


def test_check_verbose(d):
    """-t -v: every key and its value, as a file that reads back."""
    rc, out, err = run_split([d.binary, "-t", "-v", "-c", d.conf, "-o", "dns_timeout=1500",
                              "-o", "report_store=postgresql://mx:s3cret@db.test/reports"])
    lines = out.splitlines()
    keys = [line.split(" ", 1)[0] for line in lines]
    ok(rc == 0 and err == "authmilter: configuration OK\n", "-t -v: exit 0, the verdict on stderr")
    ok("authserv_id %s" % AUTHSERV_ID in lines and "dns_timeout 1500ms" in lines and
       "max_header_bytes 2k" in lines and "spf_timeout 2s" in lines, "the values in effect")
    ok("report_store postgresql://mx:*****@db.test/reports" in lines and "s3cret" not in out,
       "the store's password masked")
    ok("smtp_listen \"\"" in lines and "next_hop_starttls yes" in lines,
       "the listener's keys too")
    ok(len(keys) == len(set(keys)) and len(keys) > 60, "each key once (%d)" % len(keys))
    again = os.path.join(d.tmp, "effective.conf")
    with open(again, "w") as f:
        f.write(out.replace("postgresql://mx:*****@db.test/reports",
                            "sqlite:" + os.path.join(d.tmp, "reports.db")))
    rc, out2, err = run_split([d.binary, "-t", "-v", "-c", again])
    ok(rc == 0 and out2.splitlines() == [
        line if not line.startswith("report_store ") else
        "report_store sqlite:" + os.path.join(d.tmp, "reports.db") for line in lines],
       "and reads back to the same settings")


def test_detached(d):
    """Without -f: the command returns once detached; the pid file names the
    daemon, which serves, stops on SIGTERM and removes its files."""
    pidfile = os.path.join(d.tmp, "authmilter.pid")
    rc, out = run([d.binary, "-c", d.conf, "-P", pidfile])
    ok(rc == 0, "started in the background: exit %d %s" % (rc, out))
    pid = None
    for _ in range(200):
        try:
            with open(pidfile) as f:
                pid = int(f.read())
            Milter(d.sock).close()
            break
        except (OSError, ValueError):
            pid = None
            time.sleep(0.1)
    if not ok(pid is not None, "pid file written, socket open"):
        return
    ok(os.getsid(pid) != os.getsid(0) and os.getsid(pid) != pid,
       "in a session of its own, not its leader (no controlling terminal)")
    ok(one_message(d), "the detached daemon serves")
    os.kill(pid, signal.SIGTERM)
    for _ in range(150):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    ok(not os.path.exists(pidfile) and not os.path.exists(d.sock),
       "SIGTERM: pid file and socket removed")


def gone_pid():
    """The pid of a process that has exited."""
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def test_pidfile(binary, tmp):
    """The pid file is created exclusively: a live daemon's refuses the
    start, a dead one's is replaced, and it is removed at exit."""
    d = Daemon(binary, os.path.join(tmp, "pid"))
    os.mkdir(d.tmp)
    d.write_config()
    pidfile = os.path.join(d.tmp, "authmilter.pid")
    with open(pidfile, "w") as f:
        f.write("%d\n" % os.getpid())
    rc, out = run([binary, "-f", "-c", d.conf, "-P", pidfile])
    ok(rc == 69 and "another daemon (pid %d) runs" % os.getpid() in out,
       "a pid file naming a live process refuses the start: EX_UNAVAILABLE: %d %s" % (rc, out))
    with open(pidfile, "w") as f:
        f.write("%d\n" % gone_pid())
    d.logf = open(d.log, "ab")
    d.proc = subprocess.Popen([binary, "-f", "-c", d.conf, "-P", pidfile],
                              stdout=d.logf, stderr=d.logf)
    written = None
    for _ in range(100):
        try:
            with open(pidfile) as f:
                written = f.read().strip()
            if written == str(d.proc.pid):
                break
        except OSError:
            pass
        time.sleep(0.1)
    ok(written == str(d.proc.pid), "a stale pid file is replaced (%s)" % written)
    ok(d.stop() == 0 and not os.path.exists(pidfile), "and removed at exit")


def test_unprivileged_reload(binary, tmp):
    """Running as nobody, the daemon must still be able to read its config
    for SIGHUP: it refuses to start when it could not."""
    if os.geteuid() != 0:
        ok(True, "# SKIP not root: privileges cannot be dropped")
        return
    base = os.path.join(tmp, "priv")
    os.mkdir(base)
    os.chmod(tmp, 0o755)
    os.chmod(base, 0o755)
    d = Daemon(binary, base)
    d.write_config()
    os.chmod(d.conf, 0o600)
    rc, out = run([binary, "-t", "-c", d.conf, "-u", "nobody"])
    ok(rc == 78 and ("cannot read %s as user nobody" % d.conf) in out and "SIGHUP" in out,
       "-t: a config only root can read: refused with a clear error: %d %s" % (rc, out))
    rc, out = run([binary, "-f", "-c", d.conf, "-u", "nobody"])
    ok(rc == 78 and ("cannot read %s as user nobody" % d.conf) in out and "SIGHUP" in out,
       "so is the start: %d %s" % (rc, out))
    os.chmod(d.conf, 0o644)
    d.logf = open(d.log, "ab")
    d.proc = subprocess.Popen([binary, "-f", "-c", d.conf, "-u", "nobody"],
                              stdout=d.logf, stderr=d.logf)
    for _ in range(100):
        try:
            Milter(d.sock).close()
            break
        except OSError:
            time.sleep(0.1)
    d.write_config("log_level debug\n")
    d.proc.send_signal(signal.SIGHUP)
    for _ in range(50):
        if "configuration reloaded" in d.log_text():
            break
        time.sleep(0.1)
    ok("configuration reloaded from %s" % d.conf in d.log_text(),
       "running as nobody, SIGHUP reloads the config")
    ok(one_message(d), "and serves")
    ok(d.stop() == 0, "stops with exit status 0")


def timed_stop(d):
    start = time.monotonic()
    status = d.stop()
    return status, time.monotonic() - start


def test_idle_stop(binary, tmp):
    """SIGTERM with nothing in flight stops the daemon at once, with or
    without an idle MTA connection (libmilter itself looks at its stop flag
    only every 5 seconds)."""
    for idle_connection in (False, True):
        d = Daemon(binary, os.path.join(tmp, "idle%d" % idle_connection))
        os.mkdir(d.tmp)
        d.write_config()
        if not ok(d.start(), "daemon starts"):
            return
        m = None
        if idle_connection:
            m = Milter(d.sock)
            m.negotiate()
            m.connect()
        time.sleep(1)  # the listener is well into its poll
        status, elapsed = timed_stop(d)
        ok(status == 0 and elapsed < 0.5, "idle%s: stopped %.2f s after SIGTERM, status %s" % (
            ", an MTA connection open" if idle_connection else "", elapsed, status))
        if m is not None:
            m.close()


def test_stop_at_start(binary, tmp):
    """SIGTERM as soon as the pid file is there, before libmilter's listener
    may have started: still a clean stop, exit 0, files removed."""
    d = Daemon(binary, os.path.join(tmp, "early"))
    os.mkdir(d.tmp)
    d.write_config()
    pidfile = os.path.join(d.tmp, "authmilter.pid")
    statuses = []
    for _ in range(10):
        p = subprocess.Popen([binary, "-f", "-c", d.conf, "-P", pidfile],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(2000):
            try:
                with open(pidfile) as f:
                    if f.read().strip() == str(p.pid):
                        break
            except OSError:
                pass
            time.sleep(0.002)
        p.send_signal(signal.SIGTERM)
        try:
            statuses.append(p.wait(timeout=30))
        except subprocess.TimeoutExpired:
            p.kill()
            statuses.append(p.wait())
    ok(statuses == [0] * 10 and not os.path.exists(pidfile) and not os.path.exists(d.sock),
       "stopped at once after start, ten times: exit 0, files removed (%s)" % statuses)


def test_unprivileged_start(binary, tmp):
    """Started as nobody with user and group nobody's own: there is nothing
    to drop, and it serves; asking for another user without root is said."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        ok(True, "# SKIP not root or no setpriv: cannot start unprivileged")
        return
    import grp
    import pwd
    pw = pwd.getpwnam("nobody")
    group = grp.getgrgid(pw.pw_gid).gr_name
    base = os.path.join(tmp, "self")
    os.mkdir(base)
    os.chmod(tmp, 0o755)
    os.chown(base, pw.pw_uid, pw.pw_gid)
    d = Daemon(binary, base)
    d.write_config()
    as_nobody = ["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid,
                 "--clear-groups", binary]
    rc, out = run(as_nobody + ["-t", "-c", d.conf, "-u", "nobody", "-g", group])
    ok(rc == 0 and out == "authmilter: configuration OK", "-t as nobody for nobody: %s" % out)
    d.args = ["-u", "nobody", "-g", group]
    d.binary = as_nobody[0]
    d.logf = open(d.log, "ab")
    d.proc = subprocess.Popen(as_nobody + ["-f", "-c", d.conf] + d.args,
                              stdout=d.logf, stderr=d.logf)
    served = False
    for _ in range(100):
        try:
            Milter(d.sock).close()
            served = True
            break
        except OSError:
            if d.proc.poll() is not None:
                break
            time.sleep(0.1)
    ok(served and one_message(d), "started as nobody with user nobody: it serves")
    ok(d.stop() == 0, "and stops with exit status 0")
    rc, out = run(as_nobody + ["-t", "-c", d.conf, "-u", "root"])
    ok(rc == 78 and "cannot switch to user root, group (the user's): not started as root" in out,
       "another user without root: refused, and why: %d %s" % (rc, out))


def test_inet_socket(binary, tmp):
    port = free_port()
    d = Daemon(binary, os.path.join(tmp, "inet"), port)
    os.mkdir(d.tmp)
    d.write_config()
    if not ok(d.start(), "daemon starts on inet:%d@127.0.0.1" % port):
        return
    ok(one_message(d), "a message over TCP is answered")
    status, elapsed = timed_stop(d)
    ok(status == 0 and elapsed < 0.5, "stops with exit status 0 at once (%.2f s)" % elapsed)
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    rc, out = run([binary, "-f", "-c", d.conf, "-p", "inet:%d@127.0.0.1" % busy.getsockname()[1]])
    busy.close()
    ok(rc == 69 and out.endswith(": Address already in use"),
       "a port in use: EX_UNAVAILABLE, and why: %d %s" % (rc, out))


def main():
    top = os.environ.get("top_builddir", ".")
    binary = os.environ.get("AUTHMILTER", os.path.join(top, "milter", "authmilter"))
    if not os.access(binary, os.X_OK):
        print("1..0 # SKIP %s not built" % binary)
        return 0
    with tempfile.TemporaryDirectory(prefix="milter-proto-") as tmp:
        d = Daemon(binary, tmp)
        d.write_config("max_header_bytes 2k\n")
        test_command_line(d)
        if not ok(d.start(), "daemon starts on a unix socket"):
            diag(d.log_text())
            return tap.done()
        try:
            test_negotiation(d)
            test_no_replies_before_eom(d)
            test_many_messages(d)
            test_abort_mid_body(d)
            test_missing_macros(d)
            test_unknown_client(d)
            test_exempt_clients(d)
            test_forged_results(d)
            test_header_limit(d, "fail open")
            test_out_of_order(d)
            test_malformed(d)
            test_reload(d)
            test_term_finishes_message(d)
            test_detached(d)
            test_inet_socket(binary, tmp)
            test_pidfile(binary, tmp)
            test_idle_stop(binary, tmp)
            test_stop_at_start(binary, tmp)
            test_unprivileged_reload(binary, tmp)
            test_unprivileged_start(binary, tmp)
        except (OSError, EOFError) as e:
            ok(False, "protocol exchange failed: %r" % e)
        finally:
            if d.proc.poll() is None:
                d.stop()
            if tap.failures:
                diag(d.log_text()[-6000:])
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
