#!/usr/bin/python3
"""dnsfault - a DNS forwarder for tests that makes chosen names time out.

nsd answers every name it serves, and a server that is not there fails
every name; a test of how a temporary failure on one name is judged needs
that one name to time out while the others answer.  This sits in front of
nsd on loopback: every query (UDP, and TCP) is forwarded to nsd and its
answer relayed back, except a query for a configured name (and type),
which is dropped silently, so the client sees a timeout.

    dnsfault.py --upstream PORT [--drop NAME[/TYPE]]...

Listens on 127.0.0.1 on a free port (the same number for UDP and TCP),
prints that port on a line of its own once it serves, and runs until
killed.  Each dropped query is written to stderr as "dropped NAME/TYPE".
"""
import argparse
import socket
import struct
import sys
import threading

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28}
NAMES = {v: k for k, v in TYPES.items()}


def question(msg):
    """(name, type) of a query's first question, or None."""
    pos, labels = 12, []
    try:
        while msg[pos]:
            n = msg[pos]
            if n & 0xC0:
                return None
            labels.append(msg[pos + 1:pos + 1 + n].decode("ascii", "replace").lower())
            pos += 1 + n
        (qtype,) = struct.unpack("!H", msg[pos + 1:pos + 3])
    except (IndexError, struct.error):
        return None
    return ".".join(labels), qtype


class Forwarder:
    def __init__(self, upstream, drops):
        self.upstream = ("127.0.0.1", upstream)
        self.drops = set()
        for d in drops:
            name, _, kind = d.partition("/")
            self.drops.add((name.lower().rstrip("."), TYPES.get(kind.upper(), None) if kind
                            else None))
        self.lock = threading.Lock()  # guards stderr, written from every thread

    def dropped(self, msg):
        q = question(msg)
        if q is None:
            return False
        if (q[0], q[1]) in self.drops or (q[0], None) in self.drops:
            with self.lock:
                print("dropped %s/%s" % (q[0], NAMES.get(q[1], q[1])), file=sys.stderr,
                      flush=True)
            return True
        return False

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
            self.tcp.listen(64)
            return port
        raise OSError("no port free for both UDP and TCP")

    def udp_one(self, msg, client):
        if self.dropped(msg):
            return
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(5)
        try:
            s.sendto(msg, self.upstream)
            self.udp.sendto(s.recv(65535), client)
        except OSError:
            pass
        finally:
            s.close()

    def serve_udp(self):
        while True:
            msg, client = self.udp.recvfrom(65535)
            threading.Thread(target=self.udp_one, args=(msg, client), daemon=True).start()

    @staticmethod
    def read_msg(s):
        head = b""
        while len(head) < 2:
            chunk = s.recv(2 - len(head))
            if not chunk:
                return None
            head += chunk
        (n,) = struct.unpack("!H", head)
        body = b""
        while len(body) < n:
            chunk = s.recv(n - len(body))
            if not chunk:
                return None
            body += chunk
        return body

    def tcp_one(self, conn):
        try:
            while True:
                msg = self.read_msg(conn)
                if msg is None:
                    return
                if self.dropped(msg):
                    continue
                with socket.create_connection(self.upstream, timeout=5) as up:
                    up.sendall(struct.pack("!H", len(msg)) + msg)
                    answer = self.read_msg(up)
                if answer is not None:
                    conn.sendall(struct.pack("!H", len(answer)) + answer)
        except OSError:
            pass
        finally:
            conn.close()

    def serve_tcp(self):
        while True:
            conn, _ = self.tcp.accept()
            threading.Thread(target=self.tcp_one, args=(conn,), daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", type=int, required=True)
    ap.add_argument("--drop", action="append", default=[])
    args = ap.parse_args()
    f = Forwarder(args.upstream, args.drop)
    print(f.bind(), flush=True)
    threading.Thread(target=f.serve_tcp, daemon=True).start()
    f.serve_udp()


if __name__ == "__main__":
    main()
