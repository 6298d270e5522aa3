"""milterclient - the MTA side of the milter protocol (version 6), for tests.

Written here packet by packet (struct-packed SMFIC_* commands, no
libmilter), so that a test can send what a real MTA never would as well as
what one does.

    m = Milter(path_or_host_port)      one MTA connection
    m.negotiate(); m.connect(ip, host); m.step(SMFIC_HELO, ...)
    acts = m.message(headers, body, sender=...)   -> end-of-message actions
    packets(headers, body, ...)        the same as bytes, stage by stage
    read_packet(sock), read_final(sock)   replies read from a plain socket
    final(acts), changes(acts), inserted(acts, name)
    fields(raw)                        a raw message as an MTA passes it
    Daemon(binary, dir)                authmilter started and stopped
    free_port()                        a free loopback port
"""
import os
import signal
import socket
import struct
import subprocess
import time

# Commands (MTA to milter) and replies (milter to MTA), from libmilter's mfdef.h.
SMFIC_ABORT, SMFIC_BODY, SMFIC_CONNECT, SMFIC_MACRO = b"A", b"B", b"C", b"D"
SMFIC_BODYEOB, SMFIC_HELO, SMFIC_QUIT_NC, SMFIC_HEADER = b"E", b"H", b"K", b"L"
SMFIC_MAIL, SMFIC_EOH, SMFIC_OPTNEG, SMFIC_QUIT, SMFIC_RCPT = b"M", b"N", b"O", b"Q", b"R"
SMFIR_CONTINUE, SMFIR_ACCEPT, SMFIR_REJECT, SMFIR_TEMPFAIL = b"c", b"a", b"r", b"t"
SMFIR_REPLYCODE, SMFIR_INSHEADER, SMFIR_CHGHEADER, SMFIR_ADDHEADER = b"y", b"i", b"m", b"h"
SMFIR_QUARANTINE, SMFIR_PROGRESS = b"q", b"p"
FINAL = {SMFIR_CONTINUE, SMFIR_ACCEPT, SMFIR_REJECT, SMFIR_TEMPFAIL, SMFIR_REPLYCODE}

SMFIF_ADDHDRS, SMFIF_CHGHDRS, SMFIF_QUARANTINE = 0x01, 0x10, 0x20
SMFIP_NR_HDR, SMFIP_NOUNKNOWN, SMFIP_NODATA = 0x80, 0x100, 0x200
SMFIP_NR_CONN, SMFIP_NR_HELO, SMFIP_NR_MAIL, SMFIP_NR_RCPT = 0x1000, 0x2000, 0x4000, 0x8000
SMFIP_NR_EOH, SMFIP_NR_BODY, SMFIP_HDR_LEADSPC = 0x40000, 0x80000, 0x100000
ALL_ACTIONS = 0x1FF
ALL_PROTOCOL = 0x1FFFFF

# libmilter refuses a command longer than this (MILTER_MAX_DATA_SIZE).
MAX_DATA = 65535


class Milter:
    """One MTA-side connection."""

    def __init__(self, where):
        """where: a unix socket path, or a (host, port) pair."""
        family = socket.AF_UNIX if isinstance(where, str) else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(where)
        self.protocol = 0

    def send(self, cmd, data=b""):
        self.sock.sendall(packet(cmd, data))

    def raw(self, data):
        self.sock.sendall(data)

    def recv(self):
        return read_packet(self.sock)

    def quiet(self, seconds=0.3):
        """True when the daemon sends nothing within seconds."""
        self.sock.settimeout(seconds)
        try:
            self.sock.recv(1, socket.MSG_PEEK)
            return False
        except socket.timeout:
            return True
        finally:
            self.sock.settimeout(10)

    def closed(self, seconds=5):
        """True when the daemon closes the connection within seconds."""
        self.sock.settimeout(seconds)
        try:
            while True:
                if self.sock.recv(4096) == b"":
                    return True
        except (socket.timeout, ConnectionResetError):
            return False
        except OSError:
            return True

    def negotiate(self, actions=ALL_ACTIONS, protocol=ALL_PROTOCOL):
        self.send(SMFIC_OPTNEG, struct.pack("!III", 6, actions, protocol))
        cmd, data = self.recv()
        version, got_actions, got_protocol = struct.unpack("!III", data[:12])
        self.protocol = got_protocol
        return cmd, version, got_actions, got_protocol

    def step(self, cmd, data, nr_flag):
        """Sends one command; reads the reply unless no reply was agreed."""
        self.send(cmd, data)
        if self.protocol & nr_flag:
            return None
        return self.recv()

    def macro(self, for_cmd, pairs):
        data = for_cmd + b"".join(k + b"\0" + v + b"\0" for k, v in pairs)
        self.send(SMFIC_MACRO, data)

    def connect(self, ip="192.0.2.1", host=b"[192.0.2.1]"):
        family = b"6" if ":" in ip else b"4"
        data = host + b"\0" + family + struct.pack("!H", 4242) + ip.encode() + b"\0"
        return self.step(SMFIC_CONNECT, data, SMFIP_NR_CONN)

    def eom(self):
        """End of message: the modifications, then the final reply."""
        self.send(SMFIC_BODYEOB)
        return read_final(self.sock)

    def message(self, headers, body=b"Hello.\r\n", sender=b"<user@sender.test>",
                queue_id=b"QID1", auth=None, rcpt=b"<rcpt@receiver.test>"):
        """One whole transaction; returns the end-of-message actions.  The
        body goes in chunks of the size an MTA sends."""
        pairs = [(b"i", queue_id)] if queue_id is not None else []
        if auth is not None:
            pairs.append((b"{auth_authen}", auth))
        self.macro(SMFIC_MAIL, pairs)
        self.step(SMFIC_MAIL, sender + b"\0", SMFIP_NR_MAIL)
        self.step(SMFIC_RCPT, rcpt + b"\0", SMFIP_NR_RCPT)
        for name, value in headers:
            self.step(SMFIC_HEADER, name + b"\0" + value + b"\0", SMFIP_NR_HDR)
        self.step(SMFIC_EOH, b"", SMFIP_NR_EOH)
        for i in range(0, max(len(body), 1), MAX_DATA - 1):
            self.step(SMFIC_BODY, body[i:i + MAX_DATA - 1], SMFIP_NR_BODY)
        return self.eom()

    def close(self):
        try:
            self.send(SMFIC_QUIT)
        except OSError:
            pass
        self.sock.close()


def _read(sock, n):
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise EOFError("connection closed")
        out += chunk
    return out


def read_packet(sock):
    """One reply from the milter: (command, data)."""
    (length,) = struct.unpack("!I", _read(sock, 4))
    body = _read(sock, length)
    return body[:1], body[1:]


def read_final(sock):
    """The replies at end of message, up to the final one (progress
    reports left out)."""
    actions = []
    while True:
        cmd, data = read_packet(sock)
        if cmd == SMFIR_PROGRESS:
            continue
        actions.append((cmd, data))
        if cmd in FINAL:
            return actions


def packet(cmd, data=b""):
    return struct.pack("!I", len(data) + 1) + cmd + data


def packets(headers, body=b"Hello.\r\n", sender=b"<user@sender.test>", queue_id=b"QID1",
            rcpt=b"<rcpt@receiver.test>", ip="192.0.2.1", helo=b"client.sender.test"):
    """One connection's transaction after negotiation, as (stage, bytes)
    pairs, stage one of connect, helo, mail, rcpt, header, eoh, body and
    eom, for a milter that asked for no reply before end of message."""
    family = b"6" if ":" in ip else b"4"
    out = [("connect", packet(SMFIC_CONNECT, b"[%s]\0" % ip.encode() + family +
                              struct.pack("!H", 4242) + ip.encode() + b"\0")),
           ("helo", packet(SMFIC_HELO, helo + b"\0")),
           ("mail", packet(SMFIC_MACRO, SMFIC_MAIL + b"i\0" + queue_id + b"\0") +
            packet(SMFIC_MAIL, sender + b"\0")),
           ("rcpt", packet(SMFIC_RCPT, rcpt + b"\0"))]
    out += [("header", packet(SMFIC_HEADER, n + b"\0" + v + b"\0")) for n, v in headers]
    out.append(("eoh", packet(SMFIC_EOH)))
    out += [("body", packet(SMFIC_BODY, body[i:i + MAX_DATA - 1]))
            for i in range(0, max(len(body), 1), MAX_DATA - 1)]
    out.append(("eom", packet(SMFIC_BODYEOB)))
    return out


def final(actions):
    return actions[-1] if actions else (None, b"")


def valid_final(actions):
    """The final reply is one a milter may give at end of message."""
    cmd, data = final(actions)
    if cmd in (SMFIR_CONTINUE, SMFIR_ACCEPT, SMFIR_TEMPFAIL, SMFIR_REJECT):
        return True
    return cmd == SMFIR_REPLYCODE and data[:1] in (b"4", b"5") and data.endswith(b"\0")


def reply_text(actions):
    """The SMFIR_REPLYCODE text ("550 5.7.1 ..."), or the command letter."""
    cmd, data = final(actions)
    if cmd == SMFIR_REPLYCODE:
        return data.rstrip(b"\0").decode("utf-8", "replace")
    return cmd.decode() if cmd else None


def inserted(actions, name):
    """The SMFIR_INSHEADER requests for name: (index, value) pairs."""
    out = []
    for c, d in actions:
        if c == SMFIR_INSHEADER:
            parts = d[4:].split(b"\0")
            if parts[0] == name:
                out.append((struct.unpack("!I", d[:4])[0], parts[1]))
    return out


def changes(actions):
    """The SMFIR_CHGHEADER requests: (index, name, value) triples."""
    out = []
    for c, d in actions:
        if c == SMFIR_CHGHEADER:
            parts = d[4:].split(b"\0")
            out.append((struct.unpack("!I", d[:4])[0], parts[0], parts[1]))
    return out


def _field_name(line):
    """The length of the name up to the colon (WSP before it included), or
    0 when the line is no header field as an MTA sees it: a name of
    printable ASCII, then only WSP before the colon."""
    colon = line.find(b":")
    if colon <= 0:
        return 0
    name = line[:colon].rstrip(b" \t")
    if not name or any(c <= 32 or c >= 127 for c in name):
        return 0
    return colon


def fields(raw, trim_wsp=False):
    """Splits a raw message as Postfix and Sendmail do before they pass it
    to a milter: a line ends at LF (a CR before it dropped); a folded value
    keeps LF between its lines; a value is cut at a NUL; the header block
    ends at the empty line or at the first line that is no field, and that
    line starts the body.  The name is sent up to the colon, WSP before it
    included unless trim_wsp (both MTAs trim it).  Returns (headers, body):
    headers as (name, value) with the value as it follows the colon."""
    headers = []
    pos = 0
    while pos < len(raw):
        end = raw.find(b"\n", pos)
        end = len(raw) if end < 0 else end + 1
        line = raw[pos:end].rstrip(b"\n")
        line = line[:-1] if line.endswith(b"\r") else line
        if line == b"":
            return headers, raw[end:]
        if line[:1] in (b" ", b"\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + b"\n" + line.split(b"\0")[0])
        elif _field_name(line):
            n = _field_name(line)
            name = line[:n].rstrip(b" \t") if trim_wsp else line[:n]
            headers.append((name, line[n + 1:].split(b"\0")[0]))
        else:
            return headers, raw[pos:]
        pos = end
    return headers, b""


def free_port(kind=socket.SOCK_STREAM):
    """A loopback port free for kind (TCP by default) just now."""
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Daemon:
    """authmilter run in the foreground on a unix socket in dir (or on a
    loopback TCP port), with its config and log there."""

    def __init__(self, binary, tmp, port=None, args=()):
        self.binary, self.tmp, self.args = binary, tmp, list(args)
        self.sock = os.path.join(tmp, "authmilter.sock") if port is None else ("127.0.0.1", port)
        self.spec = "unix:" + self.sock if port is None else "inet:%d@127.0.0.1" % port
        self.conf = os.path.join(tmp, "authmilter.conf")
        self.log = os.path.join(tmp, "authmilter.log")
        self.proc = None

    def write_config(self, text):
        """The config: the socket line, a report store of the daemon's own
        (never the system's), then text."""
        # Written aside and renamed, so a reload never reads half of it.
        with open(self.conf + ".new", "w") as f:
            f.write("socket %s\n" % self.spec +
                    "report_store sqlite:%s\n" % os.path.join(self.tmp, "reports.db") + text)
        os.rename(self.conf + ".new", self.conf)

    def start(self):
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen([self.binary, "-f", "-c", self.conf] + self.args,
                                     stdout=self.logf, stderr=self.logf)
        for _ in range(100):
            try:
                Milter(self.sock).close()
                return True
            except OSError:
                pass
            if self.proc.poll() is not None:
                return False
            time.sleep(0.1)
        return False

    def alive(self):
        return self.proc.poll() is None

    def log_text(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def summary(self, queue_id):
        """The summary line logged for a queue id, from "client=" on."""
        for line in self.log_text().splitlines():
            if ": %s: client=" % queue_id in line:
                return line[line.index("client="):]
        return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
        finally:
            self.logf.close()
