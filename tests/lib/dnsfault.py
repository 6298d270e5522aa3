#!/usr/bin/python3
"""dnsfault - a DNS fault proxy for tests, in front of nsd on loopback.

nsd answers every name it serves correctly, and a server that is not there
fails every name alike; a test of how one broken answer is judged needs
that one name to fail, in one chosen way, while the others answer.  This
forwards every query (UDP and TCP) to nsd and relays its answer, except
queries matching a rule, which get the rule's fault instead.

    dnsfault.py --upstream PORT [--fault RULE=MODE]... [--drop RULE]... [--control]

RULE is NAME (any type), NAME/TYPE, *.SUFFIX[/TYPE] (names below SUFFIX),
or all[/TYPE].  The most specific rule wins: NAME/TYPE, NAME, then the
longest *.SUFFIX, then all.  MODE is one of

    pass            relay nsd's answer (the default; used to lift a rule)
    drop            never answer (the client times out)
    delay:MS        relay nsd's answer after MS milliseconds
    servfail        RCODE SERVFAIL, the question echoed, nothing else
    refused         RCODE REFUSED, likewise
    tc              over UDP an empty answer with TC set; over TCP nsd's answer
    tc-tcpfail      TC over UDP, and over TCP the connection closed unanswered
    garbage         the query's ID followed by bytes that are no DNS message
    wrongid         nsd's answer with another query ID
    othername       nsd's answer to NAME's parent (same type): another question
    othertype       nsd's answer to NAME with another type (TXT<->A)
    class           nsd's answer with the answer records' class set to CH
    qclass          likewise, and the question's class too: an answer for CH
    loop            an answer record whose owner is a compression pointer to itself
    big             nsd's answer padded past 4000 octets with additional records,
                    over UDP too and without TC (a well-formed answer)

--drop RULE is --fault RULE=drop.  Listens on 127.0.0.1 on a free port (the
same number for UDP and TCP), prints that port on a line of its own once it
serves, and runs until killed.  Each query a rule other than pass caught is
written to stderr as "MODE NAME/TYPE" (a dropped one as "dropped NAME/TYPE").

With --control, it reads commands from stdin, one a line, and answers each
on stdout with one line, "ok ..." or "error ...":
    fault RULE=MODE     add or replace a rule
    clear               remove every rule
    hits                "ok N": queries caught by a rule since the last clear
The Proxy class below starts it that way for a test.
"""
import argparse
import os
import random
import socket
import struct
import subprocess
import sys
import threading
import time

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28,
         "SPF": 99}
NAMES = {v: k for k, v in TYPES.items()}
MODES = ("pass", "drop", "delay", "servfail", "refused", "tc", "tc-tcpfail", "garbage",
         "wrongid", "othername", "othertype", "class", "qclass", "loop", "big")
QR, TC, RD, RA = 0x8000, 0x0200, 0x0100, 0x0080
SERVFAIL, REFUSED = 2, 5
CLASS_CH = 3
UPSTREAM_TIMEOUT = 5


# ---- wire format ----

def skip_name(msg, pos):
    """The offset after the name at pos (a pointer ends it)."""
    while True:
        n = msg[pos]
        if n & 0xC0 == 0xC0:
            return pos + 2
        if n == 0:
            return pos + 1
        pos += 1 + n


def question(msg):
    """(name, type, offset after the question) of a message's first
    question, or None when it has none that can be read."""
    pos, labels = 12, []
    try:
        if struct.unpack("!H", msg[4:6])[0] < 1:
            return None
        while msg[pos]:
            n = msg[pos]
            if n & 0xC0:
                return None
            labels.append(msg[pos + 1:pos + 1 + n].decode("ascii", "replace").lower())
            pos += 1 + n
        (qtype,) = struct.unpack("!H", msg[pos + 1:pos + 3])
    except (IndexError, struct.error):
        return None
    return ".".join(labels), qtype, pos + 5


def encode_name(name):
    out = b""
    for label in name.split(".") if name else []:
        out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def query(name, qtype, qid):
    """A query with RD set, as a stub resolver sends it."""
    return struct.pack("!HHHHHH", qid, RD, 1, 0, 0, 0) + encode_name(name) + \
        struct.pack("!HH", qtype, 1)


def empty_reply(msg, end, rcode=0, flags=0):
    """A reply to msg with its question echoed and no records."""
    qid, qflags = struct.unpack("!HH", msg[:4])
    head = struct.pack("!HHHHHH", qid, QR | RA | (qflags & RD) | flags | rcode, 1, 0, 0, 0)
    return head + msg[12:end]


def with_id(msg, qid):
    return struct.pack("!H", qid) + msg[2:]


def set_class(msg, cls, in_question):
    """msg with the class of each answer-section record set to cls, and
    of the question too if in_question."""
    out = bytearray(msg)
    qd, an = struct.unpack("!HH", msg[4:8])
    pos = 12
    for _ in range(qd):
        pos = skip_name(msg, pos) + 4
        if in_question:
            struct.pack_into("!H", out, pos - 2, cls)
    for _ in range(an):
        pos = skip_name(msg, pos)
        struct.pack_into("!H", out, pos + 2, cls)
        (rdlen,) = struct.unpack("!H", msg[pos + 8:pos + 10])
        pos += 10 + rdlen
    return bytes(out)


def pointer_loop(msg, end):
    """One answer record whose owner name is a pointer to itself."""
    reply = bytearray(empty_reply(msg, end))
    struct.pack_into("!H", reply, 6, 1)
    here = len(reply)
    reply += struct.pack("!H", 0xC000 | here) + struct.pack("!HHIH", 16, 1, 300, 2) + b"\x01x"
    return bytes(reply)


def padded(msg, size=4000):
    """msg with TXT records owned by the question's name (a pointer to it)
    added to the additional section until it is past size octets."""
    out = bytearray(msg)
    count = 0
    while len(out) <= size:
        text = b"padding %03d " % count + b"x" * 180
        out += struct.pack("!HHHIH", 0xC00C, 16, 1, 300, len(text) + 1) + \
            bytes([len(text)]) + text
        count += 1
    (ar,) = struct.unpack("!H", msg[10:12])
    struct.pack_into("!H", out, 10, ar + count)
    return bytes(out)


def garbage(msg):
    """The query's ID, a header claiming more than follows, then noise."""
    noise = random.Random(len(msg)).randbytes(40)
    return msg[:2] + struct.pack("!HHHHH", QR | 0x7800, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF) + noise


# ---- rules ----

def parse_rule(text):
    """"RULE=MODE" into (name, type or None, mode)."""
    rule, sep, mode = text.partition("=")
    base = mode.split(":")[0]
    if not sep or base not in MODES or (base == "delay") != (":" in mode):
        raise ValueError("not RULE=MODE: %r" % text)
    if base == "delay" and not mode[6:].isdigit():
        raise ValueError("delay:MS needs milliseconds: %r" % text)
    name, _, kind = rule.partition("/")
    if kind and kind.upper() not in TYPES:
        raise ValueError("unknown type in %r" % text)
    return name.lower().rstrip("."), TYPES[kind.upper()] if kind else None, mode


class Rules:
    def __init__(self):
        self.lock = threading.Lock()  # guards table and hits, used by every thread
        self.table = {}
        self.hits = 0

    def set(self, text):
        name, qtype, mode = parse_rule(text)
        with self.lock:
            self.table[(name, qtype)] = mode

    def clear(self):
        with self.lock:
            self.table.clear()
            self.hits = 0

    def mode(self, name, qtype):
        """The fault for name/qtype: most specific rule first."""
        keys = [(name, qtype), (name, None)]
        parts = name.split(".")
        keys += [(k, t) for i in range(1, len(parts)) for k in ["*." + ".".join(parts[i:])]
                 for t in (qtype, None)]
        keys += [("all", qtype), ("all", None)]
        with self.lock:
            for k in keys:
                if k in self.table:
                    mode = self.table[k]
                    if mode != "pass":
                        self.hits += 1
                    return mode
        return "pass"


# ---- the proxy ----

class Forwarder:
    def __init__(self, upstream, rules):
        self.upstream = ("127.0.0.1", upstream)
        self.rules = rules
        self.out_lock = threading.Lock()  # guards stderr, written from every thread

    def note(self, mode, name, qtype):
        word = "dropped" if mode == "drop" else mode
        with self.out_lock:
            print("%s %s/%s" % (word, name, NAMES.get(qtype, qtype)), file=sys.stderr,
                  flush=True)

    def ask_udp(self, msg):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(UPSTREAM_TIMEOUT)
        try:
            s.sendto(msg, self.upstream)
            return s.recv(65535)
        finally:
            s.close()

    def ask_tcp(self, msg):
        with socket.create_connection(self.upstream, timeout=UPSTREAM_TIMEOUT) as up:
            up.sendall(struct.pack("!H", len(msg)) + msg)
            return read_msg(up)

    def answer(self, msg, tcp):
        """What to send back for msg: bytes, or None for nothing (and, over
        TCP, the connection closed)."""
        ask = self.ask_tcp if tcp else self.ask_udp
        q = question(msg)
        if q is None:
            return ask(msg)
        name, qtype, end = q
        mode = self.rules.mode(name, qtype)
        if mode != "pass":
            self.note(mode, name, qtype)
        base = mode.split(":")[0]
        qid = struct.unpack("!H", msg[:2])[0]
        if base == "drop" or (base == "tc-tcpfail" and tcp):
            return None
        if base in ("tc", "tc-tcpfail") and not tcp:
            return empty_reply(msg, end, flags=TC)
        if base == "delay":
            time.sleep(int(mode[6:]) / 1000.0)
        if base in ("servfail", "refused"):
            return empty_reply(msg, end, SERVFAIL if base == "servfail" else REFUSED)
        if base == "garbage":
            return garbage(msg)
        if base == "loop":
            return pointer_loop(msg, end)
        if base == "othername":
            parent = name.partition(".")[2]
            return with_id(ask(query(parent, qtype, qid)), qid)
        if base == "othertype":
            other = TYPES["A"] if qtype == TYPES["TXT"] else TYPES["TXT"]
            return with_id(ask(query(name, other, qid)), qid)
        reply = ask(msg)
        if reply is None:
            return None
        if base == "wrongid":
            return with_id(reply, qid ^ 0x5A5A)
        if base in ("class", "qclass"):
            return set_class(reply, CLASS_CH, base == "qclass")
        if base == "big":
            return padded(reply)
        return reply

    def bind(self):
        for _ in range(50):
            self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.udp.bind(("127.0.0.1", 0))
            port = self.udp.getsockname()[1]
            self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.tcp.bind(("127.0.0.1", port))
            except OSError:
                self.udp.close()
                self.tcp.close()
                continue
            self.tcp.listen(128)
            return port
        raise OSError("no port free for both UDP and TCP")

    def udp_one(self, msg, client):
        try:
            reply = self.answer(msg, False)
            if reply is not None:
                self.udp.sendto(reply, client)
        except OSError:
            pass

    def serve_udp(self):
        while True:
            msg, client = self.udp.recvfrom(65535)
            threading.Thread(target=self.udp_one, args=(msg, client), daemon=True).start()

    def tcp_one(self, conn):
        try:
            while True:
                msg = read_msg(conn)
                if msg is None:
                    return
                reply = self.answer(msg, True)
                if reply is None:
                    return
                conn.sendall(struct.pack("!H", len(reply)) + reply)
        except OSError:
            pass
        finally:
            conn.close()

    def serve_tcp(self):
        while True:
            conn, _ = self.tcp.accept()
            threading.Thread(target=self.tcp_one, args=(conn,), daemon=True).start()


def read_msg(s):
    """One length-prefixed DNS message from a TCP stream, or None at EOF."""
    data = b""
    for n in (2, None):
        want = n if n is not None else 2 + struct.unpack("!H", data[:2])[0]
        while len(data) < want:
            chunk = s.recv(want - len(data))
            if not chunk:
                return None
            data += chunk
    return data[2:]


def control(rules):
    for line in sys.stdin:
        words = line.split()
        try:
            if words[:1] == ["fault"] and len(words) == 2:
                rules.set(words[1])
                reply = "ok"
            elif words == ["clear"]:
                rules.clear()
                reply = "ok"
            elif words == ["hits"]:
                with rules.lock:
                    reply = "ok %d" % rules.hits
            else:
                reply = "error unknown command"
        except ValueError as e:
            reply = "error %s" % e
        print(reply, flush=True)
    os._exit(0)


class Proxy:
    """The proxy as a test drives it: started with --control, its port in
    .port, rules changed while it runs, its log in log_path."""

    def __init__(self, upstream, log_path, rules=()):
        args = [sys.executable if sys.executable else "/usr/bin/python3",
                os.path.abspath(__file__), "--upstream", str(upstream), "--control"]
        for r in rules:
            args += ["--fault", r]
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True, bufsize=1)
        line = self.proc.stdout.readline().strip()
        if not line.isdigit():
            self.stop()
            raise RuntimeError("the DNS fault proxy did not start")
        self.port = int(line)

    def _cmd(self, text):
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline().strip()
        if not reply.startswith("ok"):
            raise RuntimeError("dnsfault: %s: %s" % (text, reply))
        return reply[3:]

    def fault(self, rule, mode):
        self._cmd("fault %s=%s" % (rule, mode))

    def clear(self):
        self._cmd("clear")

    def hits(self):
        return int(self._cmd("hits"))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait()
        self.log.close()


def main():
    ap = argparse.ArgumentParser(description="DNS fault proxy in front of a local server")
    ap.add_argument("--upstream", type=int, required=True, help="the server's port on 127.0.0.1")
    ap.add_argument("--fault", action="append", default=[], metavar="RULE=MODE")
    ap.add_argument("--drop", action="append", default=[], metavar="RULE")
    ap.add_argument("--control", action="store_true", help="read commands from stdin")
    args = ap.parse_args()
    rules = Rules()
    try:
        for r in args.fault + [d + "=drop" for d in args.drop]:
            rules.set(r)
    except ValueError as e:
        ap.error(str(e))
    f = Forwarder(args.upstream, rules)
    print(f.bind(), flush=True)
    threading.Thread(target=f.serve_tcp, daemon=True).start()
    if args.control:
        threading.Thread(target=f.serve_udp, daemon=True).start()
        control(rules)
    f.serve_udp()


if __name__ == "__main__":
    main()
