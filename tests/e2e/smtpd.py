#!/usr/bin/python3
"""smtpd - authmilter --smtp, the standalone listener, against real clients.

nsd serves the test zones on loopback; the listener delivers into
per-recipient Maildirs.  Python's smtplib and a raw client (exact bytes)
exercise every command, pipelining, SIZE and oversize, line limits, the
SMTP smuggling variants, a refused DATA with data pipelined behind it,
STARTTLS with a certificate made here (checked with posttls-finger too,
and reloaded on SIGHUP), STARTTLS command injection, timeouts, per-IP and
total connection limits, XCLIENT and PROXY v1/v2 from a trusted and an
untrusted address (sources 127.0.0.x), the bare-line-end leniency, a DNS
failure answered 451 when so configured, and SIGTERM during DATA.
"""
import atexit
import os
import re
import shutil
import signal
import smtplib
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", os.path.join(
    os.path.dirname(__file__), "..", "..")), "tests", "lib"))
from smtptest import (AUTHMILTER, DKIMSIGN, Daemon, Nsd, Raw, authres, bail, diag,  # noqa: E402
                      dkim_key, done, free_port, header_names, is_, maildir_files,
                      message, nsd_available, ok, read, sign, skip_all, wait_files,
                      write_zone)
from smtptest import send as smtptest_send  # noqa: E402

HOST = "mx.smtpd.test"

for prog in (AUTHMILTER, DKIMSIGN):
    if not os.access(prog, os.X_OK):
        skip_all(prog + " not built")
if not nsd_available() or shutil.which("openssl") is None:
    skip_all("nsd or openssl not installed")
try:
    __import__("authres")
except ImportError:
    skip_all("python3-authres not installed")

tmp = tempfile.mkdtemp(prefix="smtpd-")
zones = os.path.join(tmp, "zones")
os.mkdir(zones)
key, keytxt = dkim_key(tmp)
write_zone(zones, "good.test", "v=spf1 ip4:127.0.0.0/8 -all", "reject",
           "sel._domainkey IN TXT " + keytxt)
write_zone(zones, "reject.test", "v=spf1 -all", "reject")
write_zone(zones, "quar.test", "v=spf1 -all", "quarantine")
write_zone(zones, "none.test", "v=spf1 ip4:192.0.2.1 -all", "none")
try:
    nsd = Nsd(zones)
except RuntimeError as e:
    bail(str(e))

cert, certkey = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")


def make_cert(cn):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    certkey, "-out", cert, "-days", "2", "-subj", "/CN=" + cn],
                   check=True, capture_output=True)


make_cert(HOST)
mail = os.path.join(tmp, "mail")
base_conf = """authserv_id %s
dns_server 127.0.0.1:%d
dns_timeout 1s
trusted_networks ""
log_level info
""" % (HOST, nsd.port)
conf1 = base_conf + """maildir %s/%%d/%%l
smtp_tls_cert_file %s
smtp_tls_key_file %s
smtp_trusted_proxies 127.0.0.3
smtp_max_message_size 64k
smtp_command_timeout 2s
smtp_max_connections_per_ip 5
smtp_max_connections 12
smtp_workers 4
""" % (mail, cert, certkey)

daemons = []


def cleanup():
    for d in daemons:
        d.stop()
    daemons.clear()
    nsd.stop()
    shutil.rmtree(tmp, ignore_errors=True)


atexit.register(cleanup)


def box(rcpt, quarantine=False):
    local, domain = rcpt.split("@")
    path = os.path.join(mail, domain, local)
    return os.path.join(path, ".Quarantine") if quarantine else path


# ---- configuration ----

out = subprocess.run([AUTHMILTER, "-t", "--smtp", "2525", "-c", "/dev/null"],
                     capture_output=True, text=True)
is_((out.returncode, out.stderr.strip()),
    (78, "authmilter: accepted mail needs one destination: next_hop or maildir"),
    "-t without a destination fails with EX_CONFIG and says why")
conf_path = os.path.join(tmp, "check.conf")
with open(conf_path, "w") as f:
    f.write(conf1)
out = subprocess.run([AUTHMILTER, "-t", "--smtp", "2525", "-c", conf_path],
                     capture_output=True, text=True)
is_(out.stdout.strip(), "authmilter: configuration OK", "-t accepts the listener's config")
out = subprocess.run([AUTHMILTER, "-t", "--smtp", "no-such-host.invalid:2525", "-c", conf_path],
                     capture_output=True, text=True)
ok(out.returncode == 78 and out.stderr.startswith(
    "authmilter: smtp_listen no-such-host.invalid:2525: "), "-t resolves the listening address, "
   "binding nothing: %s" % out.stderr.strip())
out = subprocess.run([AUTHMILTER, "-t", "-v", "--smtp", "[::1]:2525", "-c", conf_path],
                     capture_output=True, text=True)
ok(out.returncode == 0 and "\nsmtp_listen [::1]:2525\n" in out.stdout,
   "-t -v writes the listener's keys as it read them")

port = free_port()
try:
    d1 = Daemon(tmp, "d1", port, conf1)
except RuntimeError as e:
    bail(str(e))
daemons.append(d1)

# ---- commands ----

c = Raw(port)
is_(c.greeting, "220 %s ESMTP authmilter" % HOST, "greeting names the host")
is_(c.cmd("MAIL FROM:<a@good.test>"), "503 5.5.1 Send HELO or EHLO first", "MAIL before EHLO")
ehlo = c.cmd("EHLO client.test").split("\n")
is_(ehlo, ["250-" + HOST, "250-PIPELINING", "250-SIZE 65536", "250-STARTTLS", "250-8BITMIME",
           "250 ENHANCEDSTATUSCODES"], "EHLO lists the extensions, no XCLIENT for a client")
is_(c.cmd("NOOP"), "250 2.0.0 Ok", "NOOP")
is_(c.cmd("VRFY someone"), "252 2.5.0 Cannot VRFY user, but will accept message and attempt "
    "delivery", "VRFY answers 252")
ok(c.cmd("HELP").startswith("214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA"), "HELP")
is_(c.cmd("EXPN list"), "502 5.5.1 EXPN not available", "EXPN")
is_(c.cmd("BDAT 10 LAST"), "502 5.5.1 BDAT not available (no CHUNKING)", "BDAT")
is_(c.cmd("FOO bar"), "500 5.5.2 Command not recognized", "unknown command")
is_(c.cmd("RCPT TO:<b@receiver.test>"), "503 5.5.1 Need MAIL command", "RCPT before MAIL")
is_(c.cmd("DATA"), "503 5.5.1 Need MAIL command", "DATA before MAIL")
is_(c.cmd("MAIL FROM:a@good.test"), "501 5.5.4 The address must be in angle brackets",
    "MAIL without angle brackets")
is_(c.cmd("MAIL FROM:<a@good.test> RET=FULL"), "555 5.5.4 Unsupported MAIL parameter",
    "an unannounced MAIL parameter")
is_(c.cmd("MAIL FROM:<a@good.test> SIZE=100000"),
    "552 5.3.4 Message size exceeds fixed maximum message size", "SIZE over the limit")
is_(c.cmd("MAIL FROM:<a@good.test> SIZE=1000 BODY=8BITMIME"), "250 2.1.0 Ok",
    "MAIL with SIZE and BODY=8BITMIME")
is_(c.cmd("MAIL FROM:<a@good.test>"), "503 5.5.1 Nested MAIL command", "nested MAIL")
is_(c.cmd("RCPT TO:<>"), "501 5.1.3 The null address is not a recipient", "RCPT TO:<>")
is_(c.cmd("RCPT TO:<a/b@receiver.test>"),
    "550 5.1.3 <a/b@receiver.test>: the address cannot name a folder",
    "a recipient that cannot name a folder")
is_(c.cmd("RCPT TO:<b@receiver.test>"), "250 2.1.5 Ok", "RCPT")
is_(c.cmd("RSET"), "250 2.0.0 Ok", "RSET")
is_(c.cmd("DATA"), "503 5.5.1 Need MAIL command", "RSET ended the transaction")
is_(c.cmd("NOOP " + "x" * 600), "500 5.5.2 Line too long (RFC 5321 section 4.5.3.1.4)",
    "a command line over 512 bytes")
is_(c.cmd("NOOP"), "250 2.0.0 Ok", "the connection goes on after it")
is_(c.cmd("HELO client.test"), "250 " + HOST, "HELO")
is_(c.cmd("QUIT"), "221 2.0.0 Bye", "QUIT")
ok(c.closed(), "QUIT closes the connection")

# ---- messages through smtplib ----


def send(msg, sender, rcpts, source="127.0.0.1"):
    return smtptest_send(port, msg, sender, rcpts, source)


good = sign(message("user@good.test", "good", "good"), key)
code, text = send(good, "user@good.test", ["b@receiver.test"])
ok(code == 250 and text.startswith("2.0.0 Ok: queued as "), "signed message accepted (%s)" % text)
files = wait_files(box("b@receiver.test"))
ok(len(files) == 1, "delivered into the recipient's Maildir new/")
delivered = read(files[0]) if files else b""
is_(authres(delivered), [HOST + " spf=pass dkim=pass dmarc=pass"],
    "delivered with spf, dkim and dmarc pass")
is_(header_names(delivered)[:3], ["Authentication-Results", "Received", "DKIM-Signature"],
    "our Authentication-Results on top, then our Received")
ok(b"Received: from client.test ([127.0.0.1])\r\n\tby " + HOST.encode() +
   b" (authmilter) with ESMTP id " in delivered, "the Received field names client and host")
ok(delivered.endswith(good.split(b"\r\n\r\n", 1)[1]), "the body arrives unchanged")
ok(d1.wait_log("client=127.0.0.1 spf=pass dkim=pass(good.test) dmarc=pass from=good.test "
               "disposition=none action=accept"), "one summary line for the message")

forged = sign(message("user@good.test", "forged ar", "forgedar", [
    "Authentication-Results: %s; dmarc=pass header.from=evil.test" % HOST,
    "Authentication-Results: other.test; spf=pass"]), key)
code, text = send(forged, "user@good.test", ["c@receiver.test"])
files = wait_files(box("c@receiver.test"))
got = read(files[0]) if files else b""
is_(authres(got), [HOST + " spf=pass dkim=pass dmarc=pass", "other.test spf=pass"],
    "a forged Authentication-Results with our authserv-id removed, another host's kept")

code, text = send(message("user@reject.test", "forged", "forged"), "user@reject.test",
                  ["d@receiver.test"])
is_((code, text), (550, "5.7.1 Rejected by DMARC policy for reject.test"),
    "DMARC reject: 550 5.7.1")
time.sleep(0.3)
ok(not os.path.exists(box("d@receiver.test")), "the rejected message was not delivered")

code, text = send(message("user@quar.test", "quar", "quar"), "user@quar.test",
                  ["e@receiver.test"])
ok(code == 250, "DMARC quarantine: accepted (%d %s)" % (code, text))
files = wait_files(box("e@receiver.test", quarantine=True))
ok(len(files) == 1 and not maildir_files(box("e@receiver.test")),
   "into the .Quarantine folder beside the delivery, not the inbox")

code, text = send(good, "user@good.test", ["f@receiver.test", "g@other.test", "F@Receiver.Test"])
ok(code == 250, "three recipients")
ok(len(wait_files(box("f@receiver.test"))) == 1 and len(wait_files(box("g@other.test"))) == 1,
   "one copy per folder, the same folder once")

code, text = send(message("user@none.test", "big", "big", body="x" * 70 + "\r\n") * 1000,
                  "user@none.test", ["h@receiver.test"])
is_((code, text), (552, "5.3.4 Message size exceeds fixed maximum message size (65536 bytes)"),
    "a message over the size limit, no SIZE given")

code, text = send(message("user@none.test", "long", "long", body="y" * 1200 + "\r\n"),
                  "user@none.test", ["h@receiver.test"])
is_((code, text), (550, "5.5.2 Message has a line longer than 1000 bytes (RFC 5321 section "
                   "4.5.3.1.6)"), "a line over 1000 bytes")

# ---- pipelining and smuggling ----

c = Raw(port)
c.cmd("EHLO client.test")
c.send(b"MAIL FROM:<user@good.test>\r\nRCPT TO:<p@receiver.test>\r\n"
       b"RCPT TO:<q@receiver.test>\r\nDATA\r\n")
replies = [c.reply() for _ in range(4)]
is_(replies, ["250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.1.5 Ok",
              "354 End data with <CR><LF>.<CR><LF>"], "pipelined commands answered in order")
c.send(good + b".\r\nNOOP\r\n")
r1, r2 = c.reply(), c.reply()
ok(r1.startswith("250 2.0.0 Ok: queued as ") and r2 == "250 2.0.0 Ok",
   "the message and a command pipelined after it")
c.close()

SMUGGLED = (b"MAIL FROM:<admin@reject.test>\r\nRCPT TO:<s@receiver.test>\r\nDATA\r\n"
            b"From: admin@reject.test\r\n\r\nsmuggled\r\n")
variants = [("<LF>.<LF>", b"\n.\n", "LF"), ("<CR>.<CR>", b"\r.\r", "CR"),
            ("<LF>.<CR><LF>", b"\n.\r\n", "LF"), ("<CR><LF>.<LF>", b"\r\n.\n", "LF"),
            ("<CR><LF>.<CR>", b"\r\n.\r", "CR")]
for name, seq, bare in variants:
    c = Raw(port)
    c.cmd("EHLO client.test")
    c.cmd("MAIL FROM:<user@good.test>")
    c.cmd("RCPT TO:<r@receiver.test>")
    c.cmd("DATA")
    c.send(b"Subject: x\r\n\r\nfirst" + seq + SMUGGLED + b".\r\nNOOP\r\n")
    r1, r2 = c.reply(), c.reply()
    is_((r1, r2), ("550 5.5.2 Message has a bare %s; line ends must be CRLF (RFC 5321 section "
                   "2.3.8)" % bare, "250 2.0.0 Ok"),
        "%s: no end of DATA, the smuggled commands are content, refused" % name)
    c.close()
time.sleep(0.3)
ok(not os.path.exists(box("s@receiver.test")) and not os.path.exists(box("r@receiver.test")),
   "no smuggled message, and no refused one, was delivered")

c = Raw(port)
c.cmd("EHLO client.test")
c.send(b"MAIL FROM:<user@good.test>\r\nDATA\r\nRCPT TO:<t@receiver.test>\r\n.\r\n")
r = [c.reply(), c.reply(), c.reply()]
is_(r, ["250 2.1.0 Ok", "554 5.5.1 No valid recipients",
        "421 4.5.0 %s Data pipelined after a refused DATA, closing" % HOST],
    "a refused DATA with the message pipelined behind it: closed, nothing read as commands")
ok(c.closed(), "and the connection is closed")
ok(not os.path.exists(box("t@receiver.test")), "nothing was taken as RCPT")

# ---- STARTTLS ----

ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=15)
s.ehlo()
code, _ = s.starttls(context=ctx)
is_(code, 220, "STARTTLS")
ok(s.sock.version() in ("TLSv1.2", "TLSv1.3"), "TLS 1.2 or later (%s)" % s.sock.version())
s.ehlo()
ok(not s.has_extn("starttls"), "no STARTTLS offered inside TLS")
s.sendmail("user@good.test", ["tls@receiver.test"], good)
s.quit()
files = wait_files(box("tls@receiver.test"))
ok(files and b"(authmilter) with ESMTPS id " in read(files[0]), "Received says ESMTPS")


def peer_cert():
    raw = socket.create_connection(("127.0.0.1", port), 10)
    f = raw.makefile("rb")
    f.readline()
    raw.sendall(b"EHLO client.test\r\n")
    while not f.readline().startswith(b"250 "):
        pass
    raw.sendall(b"STARTTLS\r\n")
    f.readline()
    t = ctx.wrap_socket(raw)
    der = t.getpeercert(binary_form=True)
    t.close()
    return der


c = Raw(port)
c.cmd("EHLO client.test")
c.send(b"STARTTLS\r\nRSET\r\n")
is_(c.reply(), "220 2.0.0 Ready to start TLS", "STARTTLS with a command injected behind it")
t = ctx.wrap_socket(c.sock)
t.settimeout(2)
t.sendall(b"NOOP\r\n")
first = t.recv(4096)
is_(first, b"250 2.0.0 Ok\r\n", "the injected command was discarded, not answered inside TLS")
t.close()

finger = shutil.which("posttls-finger") or "/usr/sbin/posttls-finger"
if os.access(finger, os.X_OK):
    # It reads a Postfix main.cf: an empty one of its own.
    pfconf = os.path.join(tmp, "posttls-finger")
    os.mkdir(pfconf)
    open(os.path.join(pfconf, "main.cf"), "w").close()
    out = subprocess.run([finger, "-c", "-l", "may", "[127.0.0.1]:%d" % port],
                         capture_output=True, text=True, timeout=30,
                         env=dict(os.environ, MAIL_CONFIG=pfconf))
    text = out.stdout + out.stderr
    ok("subject_CN=%s, issuer_CN=%s" % (HOST, HOST) in text and
       re.search(r"TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:\d+: "
                 r"TLSv1\.[23] with cipher", text) is not None,
       "posttls-finger: our certificate, TLS 1.2 or later")
    if "TLS connection established" not in text:
        diag(text)
else:
    ok(True, "# SKIP posttls-finger not installed")

first_cert = peer_cert()
make_cert("renewed." + HOST)
d1.signal(signal.SIGHUP)
ok(d1.wait_log("configuration reloaded"), "SIGHUP reloads")
ok(peer_cert() != first_cert, "new connections get the new certificate")

# ---- timeouts and limits ----

c = Raw(port)
start = time.time()
r = c.reply()
is_(r, "421 4.4.2 %s Timeout, closing" % HOST, "a silent client gets 421 after the timeout")
ok(c.closed() and 1.5 < time.time() - start < 6, "and is dropped after about 2 s")

held = [Raw(port) for _ in range(5)]
ok(all(h.greeting.startswith("220 ") for h in held), "five connections from one address")
c = Raw(port)
is_(c.greeting, "421 4.7.0 Too many connections from your address, try again later",
    "the sixth from that address is refused")
held += [Raw(port, source="127.0.0.%d" % (10 + i)) for i in range(7)]
c = Raw(port, source="127.0.0.30")
is_(c.greeting, "421 4.7.0 Too many connections, try again later",
    "past smtp_max_connections every address is refused")
for h in held:
    h.close()
time.sleep(0.3)

# ---- XCLIENT and PROXY on a listener that takes no PROXY header ----

c = Raw(port)
c.cmd("EHLO client.test")
is_(c.cmd("XCLIENT ADDR=192.0.2.1"), "550 5.7.0 Insufficient authorization for XCLIENT",
    "XCLIENT from an untrusted address")
c.close()
c = Raw(port, source="127.0.0.3")
ok("250-XCLIENT ADDR HELO LOGIN" in c.cmd("EHLO proxy.test"), "XCLIENT offered to the proxy")
is_(c.cmd("XCLIENT ADDR=192.0.2.1 HELO=outside.test"), "220 %s ESMTP authmilter" % HOST,
    "XCLIENT from the trusted proxy: a new greeting")
c.cmd("EHLO outside.test")
c.cmd("MAIL FROM:<user@none.test>")
c.cmd("RCPT TO:<x@receiver.test>")
c.cmd("DATA")
c.send(message("user@none.test", "xclient", "xclient") + b".\r\n")
ok(c.reply().startswith("250 "), "a message for the client XCLIENT named")
files = wait_files(box("x@receiver.test"))
got = read(files[0]) if files else b""
ok(authres(got) == [HOST + " spf=pass dkim=none dmarc=pass"] and
   b"Received: from outside.test ([192.0.2.1])" in got,
   "SPF evaluated for the XCLIENT address, which the Received field names")
c.close()

for name, header in (("v1", b"PROXY TCP4 192.0.2.1 127.0.0.1 5555 25\r\n"),
                     ("v2", b"\r\n\r\n\x00\r\nQUIT\n")):
    c = Raw(port)
    c.send(header)
    is_(c.reply(), "554 5.7.0 PROXY protocol only from a trusted proxy",
        "a PROXY %s header from an untrusted client is refused" % name)
    ok(c.closed(), "and the connection closed")

# ---- a listener behind a PROXY protocol proxy, lenient, deferring on DNS failure ----

mail2 = os.path.join(tmp, "mail2")
port2 = free_port()
d2 = Daemon(tmp, "d2", port2, base_conf + """maildir %s
smtp_trusted_proxies 127.0.0.3
smtp_proxy_protocol yes
smtp_accept_bare_line_ends yes
on_dns_tempfail tempfail
""" % mail2)
daemons.append(d2)


def proxied(header, sender, body_msg, rcpt="y@receiver.test"):
    c = Raw(port2, source="127.0.0.3", greet=False)
    c.send(header)
    greeting = c.reply()
    c.cmd("EHLO outside.test")
    c.cmd("MAIL FROM:<%s>" % sender)
    c.cmd("RCPT TO:<%s>" % rcpt)
    c.cmd("DATA")
    c.send(body_msg + b".\r\n")
    r = c.reply()
    c.close()
    return greeting, r


v2 = (b"\r\n\r\n\x00\r\nQUIT\n\x21\x11" + struct.pack("!H", 12) +
      socket.inet_aton("192.0.2.1") + socket.inet_aton("127.0.0.1") + struct.pack("!HH", 5555, 25))
for name, header in (("v1", b"PROXY TCP4 192.0.2.1 127.0.0.1 5555 25\r\n"), ("v2", v2)):
    before = len(maildir_files(mail2))
    g, r = proxied(header, "user@none.test", message("user@none.test", name, "proxy" + name))
    ok(g == "220 %s ESMTP authmilter" % HOST and r.startswith("250 "),
       "PROXY %s from the trusted proxy: greeted after the header, message taken" % name)
    files = wait_files(mail2, before + 1)
    got = read(files[-1]) if len(files) > before else b""
    is_(authres(got), [HOST + " spf=pass dkim=none dmarc=pass"],
        "PROXY %s: SPF evaluated for the client the header names" % name)

c = Raw(port2, source="127.0.0.3", greet=False)
c.send(b"EHLO proxy.test\r\n")
is_(c.reply(), "421 4.7.0 Bad PROXY protocol header", "the trusted proxy without a header")
c = Raw(port2, source="127.0.0.1")
ok(c.greeting.startswith("220 "), "a client that is no proxy is greeted at once")
c.send(b"PROXY TCP4 192.0.2.1 127.0.0.1 5555 25\r\n")
is_(c.reply(), "554 5.7.0 PROXY protocol only from a trusted proxy",
    "and its PROXY header is refused")

before = len(maildir_files(mail2))
c = Raw(port2, source="127.0.0.1")
c.cmd("EHLO client.test")
c.cmd("MAIL FROM:<user@none.test>")
c.cmd("RCPT TO:<z@receiver.test>")
c.cmd("DATA")
c.send(b"From: user@none.test\nSubject: bare\n\nline\n.\nstill data\r\n.\r\n")
r = c.reply()
ok(r.startswith("250 "), "lenient: bare LF line ends accepted (%s)" % r)
files = wait_files(mail2, before + 1)
got = read(files[-1]) if len(files) > before else b""
ok(got.endswith(b"Subject: bare\r\n\r\nline\r\n.\r\nstill data\r\n"),
   "made CRLF, and <LF>.<LF> stayed content")
c.close()

g, r = proxied(b"PROXY TCP4 192.0.2.9 127.0.0.1 1 25\r\n", "user@unserved.test",
               message("user@unserved.test", "tempfail", "tempfail"))
ok(r.startswith("451 4."), "a DNS failure for the From domain with on_dns_tempfail tempfail: "
   "451 (%s)" % r)

# ---- SIGTERM during DATA ----

busy = Raw(port2)
busy.cmd("EHLO client.test")
busy.cmd("MAIL FROM:<user@none.test>")
busy.cmd("RCPT TO:<term@receiver.test>")
busy.cmd("DATA")
msg = message("user@none.test", "term", "term")
busy.send(msg[:40])
idle = Raw(port2)
before = len(maildir_files(mail2))
d2.signal(signal.SIGTERM)
is_(idle.reply(), "421 4.3.2 %s Service shutting down" % HOST, "SIGTERM: an idle client gets 421")
time.sleep(0.3)
busy.send(msg[40:] + b".\r\n")
r = busy.reply()
ok(r.startswith("250 2.0.0 Ok: queued as "), "the message in DATA is finished: 250 (%s)" % r)
ok(len(wait_files(mail2, before + 1)) == before + 1, "and delivered")
is_(busy.reply(), "421 4.3.2 %s Service shutting down" % HOST, "then that client gets 421")
is_(d2.stop(), 0, "the listener exits 0")
c = socket.socket()
ok(c.connect_ex(("127.0.0.1", port2)) != 0, "and listens no more")
c.close()

is_(d1.stop(), 0, "the first listener exits 0 on SIGTERM")
log = d1.text()
ok("stopping on signal 15" in log and "stopped" in log, "and logs its stop")

# An idle listener, its report store at hand, stops at once.
port3 = free_port()
d3 = Daemon(tmp, "d3", port3, conf1 + "report_store sqlite:%s\n" % os.path.join(tmp, "d3.db"))
daemons.append(d3)
idle = Raw(port3)
ok(idle.greeting.startswith("220 ") and d3.proc.poll() is None, "a client waits, greeted")
time.sleep(1)
start = time.monotonic()
status = d3.stop()
elapsed = time.monotonic() - start
ok(status == 0 and elapsed < 0.5, "an idle listener exits 0 at once on SIGTERM, an idle client "
   "connected (%.2f s)" % elapsed)
done()
