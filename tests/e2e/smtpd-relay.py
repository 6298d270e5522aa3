#!/usr/bin/python3
"""smtpd-relay - authmilter --smtp relaying to a next hop inside the
client's transaction.

Next hops: Postfix's smtp-sink (accepting; refusing the message with a
5xx after DATA; refusing recipients with a 4xx), a port where nothing
listens, and an LMTP server written here (over TCP and over a unix
socket) that answers per recipient: some refused at RCPT, some at the
end of DATA.  The client gets 250 only when the next hop took the
message for every recipient, the next hop's own 4xx/5xx otherwise, and a
4xx when the next hop cannot be reached; nothing refused is delivered.
"""
import atexit
import glob
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", os.path.join(
    os.path.dirname(__file__), "..", "..")), "tests", "lib"))
from smtptest import (AUTHMILTER, DKIMSIGN, Daemon, Nsd, authres, bail, dkim_key,  # noqa: E402
                      done, free_port, header_names, is_, message, nsd_available, ok, send,
                      sign, skip_all, write_zone)

HOST = "mx.relay.test"
SINK = "/usr/sbin/smtp-sink"

for prog in (AUTHMILTER, DKIMSIGN):
    if not os.access(prog, os.X_OK):
        skip_all(prog + " not built")
if not nsd_available() or not os.access(SINK, os.X_OK) or os.getuid() != 0:
    skip_all("nsd or smtp-sink not installed, or not root")
try:
    __import__("authres")
except ImportError:
    skip_all("python3-authres not installed")

tmp = tempfile.mkdtemp(prefix="smtpd-relay-")
os.chmod(tmp, 0o755)
zones = os.path.join(tmp, "zones")
os.mkdir(zones)
key, keytxt = dkim_key(tmp)
write_zone(zones, "good.test", "v=spf1 ip4:127.0.0.0/8 -all", "reject",
           "sel._domainkey IN TXT " + keytxt)
write_zone(zones, "reject.test", "v=spf1 -all", "reject")
try:
    nsd = Nsd(zones)
except RuntimeError as e:
    bail(str(e))

procs, daemons = [], []


def cleanup():
    for d in daemons:
        d.stop()
    for p in procs:
        p.terminate()
        p.wait()
    nsd.stop()
    shutil.rmtree(tmp, ignore_errors=True)


atexit.register(cleanup)

CONF = """authserv_id %s
dns_server 127.0.0.1:%d
dns_timeout 1s
trusted_networks ""
next_hop_connect_timeout 2s
next_hop_timeout 10s
""" % (HOST, nsd.port)


def sink(name, *opts):
    """smtp-sink on a free port, dumping each message into its folder."""
    dump = os.path.join(tmp, name)
    os.mkdir(dump)
    os.chmod(dump, 0o777)
    port = free_port()
    procs.append(subprocess.Popen([SINK, "-u", "nobody", "-d", dump + "/%M%S."] + list(opts) +
                                  ["127.0.0.1:%d" % port, "20"]))
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return port, dump


def listener(name, next_hop):
    port = free_port()
    d = Daemon(tmp, name, port, CONF + "next_hop %s\n" % next_hop)
    daemons.append(d)
    return port


def dumps(folder, seconds=3):
    for _ in range(seconds * 20):
        files = glob.glob(os.path.join(folder, "*"))
        if files:
            break
        time.sleep(0.05)
    out = []
    for f in sorted(glob.glob(os.path.join(folder, "*"))):
        with open(f, "rb") as fh:
            out.append(fh.read())
    return out


good = sign(message("user@good.test", "good", "good", [
    "Authentication-Results: %s; dmarc=pass header.from=evil.test" % HOST]), key)

# ---- smtp-sink: accepting ----

sink_port, sink_dir = sink("accept")
p = listener("accept", "smtp:127.0.0.1:%d" % sink_port)
code, text = send(p, good, "user@good.test", ["b@receiver.test"])
ok(code == 250 and text.startswith("2.0.0 Ok: queued as "),
   "the next hop took it: 250 (%d %s)" % (code, text))
got = dumps(sink_dir)
ok(len(got) == 1, "smtp-sink has the message")
# smtp-sink writes its own trace fields first, then the message as received.
msg = got[0].split(b"(UTC)\n", 1)[-1].replace(b"\n", b"\r\n") if got else b""
is_(header_names(msg)[:2], ["Authentication-Results", "Received"],
    "relayed with our Authentication-Results and Received on top")
is_(authres(msg), [HOST + " spf=pass dkim=pass dmarc=pass"],
    "the forged Authentication-Results is not relayed")
ok(b"X-Mail-Args: <user@good.test>" in got[0] and b"X-Rcpt-Args: <b@receiver.test>" in got[0],
   "envelope relayed as given")
for f in glob.glob(os.path.join(sink_dir, "*")):
    os.unlink(f)
code, text = send(p, message("user@reject.test", "forged", "forged"), "user@reject.test",
                  ["b@receiver.test"])
is_((code, text), (550, "5.7.1 Rejected by DMARC policy for reject.test"), "DMARC reject: 550")
time.sleep(0.5)
is_(dumps(sink_dir, 1), [], "the rejected message never reached the next hop")

# ---- smtp-sink: refusing ----

sink_port, sink_dir = sink("refuse-data", "-f", ".")
p = listener("refuse-data", "smtp:127.0.0.1:%d" % sink_port)
code, text = send(p, good, "user@good.test", ["b@receiver.test"])
is_((code, text), (500, "5.3.0 Error: command failed"),
    "the next hop refuses the message: the client gets its 5xx")
sink_port, sink_dir = sink("refuse-rcpt", "-r", "RCPT")
p = listener("refuse-rcpt", "smtp:127.0.0.1:%d" % sink_port)
code, text = send(p, good, "user@good.test", ["b@receiver.test"])
is_((code, text), (450, "4.3.0 Error: command failed"),
    "the next hop defers the recipient: the client gets its 4xx at RCPT")

# ---- nothing listening ----

p = listener("down", "smtp:127.0.0.1:%d" % free_port())
code, text = send(p, good, "user@good.test", ["b@receiver.test"])
is_((code, text), (451, "4.4.1 Next hop not available, try again later"),
    "next hop down: 451 4.4.1")


# ---- LMTP ----

class Lmtp(threading.Thread):
    """An LMTP server: RCPT refused for rcpt_refuse, DATA answered per
    recipient from data_reply (default 250)."""

    def __init__(self, sock, rcpt_refuse, data_reply):
        super().__init__(daemon=True)
        self.sock, self.rcpt_refuse, self.data_reply = sock, rcpt_refuse, data_reply
        self.messages, self.commands = [], []
        self.start()

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        f = conn.makefile("rwb")

        def say(line):
            f.write(line.encode() + b"\r\n")
            f.flush()

        say("220 lmtp.test LMTP")
        accepted = []
        for raw in f:
            line = raw.decode().rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            self.commands.append(verb)
            if verb == "LHLO":
                say("250-lmtp.test\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME")
            elif verb == "MAIL":
                accepted = []
                say("250 2.1.0 Ok")
            elif verb == "RCPT":
                addr = line.split("<", 1)[1].split(">", 1)[0]
                if addr in self.rcpt_refuse:
                    say(self.rcpt_refuse[addr])
                else:
                    accepted.append(addr)
                    say("250 2.1.5 Ok")
            elif verb == "DATA":
                say("354 go on")
                body = b""
                for data in f:
                    if data == b".\r\n":
                        break
                    body += data
                self.messages.append(body)
                for addr in accepted:
                    say(self.data_reply.get(addr, "250 2.0.0 <%s> delivered" % addr))
            elif verb == "QUIT":
                say("221 2.0.0 Bye")
                break
            else:
                say("250 2.0.0 Ok")
        conn.close()


refuse = {"nobody@receiver.test": "550 5.1.1 <nobody@receiver.test> User unknown"}
full = {"full@receiver.test": "452 4.2.2 <full@receiver.test> Mailbox full",
        "gone@receiver.test": "550 5.2.1 <gone@receiver.test> Mailbox disabled"}
lsock = socket.socket()
lsock.bind(("127.0.0.1", 0))
lsock.listen(10)
lmtp = Lmtp(lsock, refuse, full)
upath = os.path.join(tmp, "lmtp.sock")
usock = socket.socket(socket.AF_UNIX)
usock.bind(upath)
usock.listen(10)
ulmtp = Lmtp(usock, refuse, full)

for name, hop, server in (("TCP", "lmtp:127.0.0.1:%d" % lsock.getsockname()[1], lmtp),
                          ("unix socket", "lmtp:unix:" + upath, ulmtp)):
    p = listener("lmtp-" + name.replace(" ", ""), hop)
    code, text = send(p, good, "user@good.test", ["a@receiver.test", "b@receiver.test"])
    ok(code == 250, "LMTP over %s: both recipients delivered: 250 (%s)" % (name, text))
    ok("LHLO" in server.commands and "EHLO" not in server.commands, "LMTP over %s: LHLO" % name)
    ok(server.messages and server.messages[-1].startswith(b"Authentication-Results: " +
                                                          HOST.encode()),
       "LMTP over %s: the message with our Authentication-Results" % name)
    s = smtplib.SMTP("127.0.0.1", p, local_hostname="client.test", timeout=20)
    s.ehlo()
    s.mail("user@good.test")
    is_(s.rcpt("nobody@receiver.test"), (550, b"5.1.1 <nobody@receiver.test> User unknown"),
        "LMTP over %s: a recipient refused at RCPT gets the next hop's reply" % name)
    s.quit()
    code, text = send(p, good, "user@good.test", ["full@receiver.test"])
    is_((code, text), (452, "4.2.2 <full@receiver.test> Mailbox full"),
        "LMTP over %s: one recipient, deferred after DATA: its 4xx" % name)
    code, text = send(p, good, "user@good.test", ["gone@receiver.test"])
    is_((code, text), (550, "5.2.1 <gone@receiver.test> Mailbox disabled"),
        "LMTP over %s: one recipient, refused after DATA: its 5xx" % name)
    code, text = send(p, good, "user@good.test", ["a@receiver.test", "full@receiver.test"])
    is_((code, text), (451, "4.3.0 Delivered to 1 of 2 recipients only, try again later"),
        "LMTP over %s: one of two after DATA: no 250 for the transaction" % name)

lsock.close()
usock.close()
done()
