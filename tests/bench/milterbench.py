#!/usr/bin/python3
"""milterbench - replay a corpus over the milter protocol and time the replies.

    milterbench.py [--conn K] [--rate R] [--limit N] [--time-limit S] [--json FILE]
                   CORPUSDIR SOCKET [SOCKET2]

Plays the MTA side of the milter protocol, version 6, written out here
packet by packet, against one milter (SOCKET: a unix socket path) or a
chain of two (SOCKET then SOCKET2, as Postfix chains smtpd_milters: every
SMTP stage goes to both in turn, the message goes to the first, and the
header fields the first one adds are part of what the second one sees).

Each corpus message (corpus.py's index.json) is one SMTP session: a new
connection per milter, option negotiation, connect, HELO, MAIL, RCPT,
header fields, end of headers, the body in 64 KB chunks, end of message,
quit.  K worker processes do this concurrently until the corpus (or N
messages, or S seconds) is used up: as fast as the replies come (closed
loop: the milter is saturated, latency is mostly queueing), or with
--rate R, starting message i at i/R seconds (open loop, at most K at a
time: latency at a set load).

Per message it measures
  eob:   from sending end-of-body to the final reply, summed over the
         milters of a chain (the time the MTA waits after the DATA dot);
  total: from the first packet to the last final reply.
and prints one JSON object: message count, errors, p50/p90/p99 of both in
milliseconds, wall time, and a tally of the method=result pairs in the
Authentication-Results fields each milter added (so a run where every key
look-up failed is visible at once).
"""
import argparse
import json
import multiprocessing
import os
import re
import socket
import struct
import sys
import time
from collections import Counter

# Commands and replies, as libmilter's mfdef.h names them.
SMFIC_BODY, SMFIC_CONNECT, SMFIC_MACRO, SMFIC_BODYEOB = b"B", b"C", b"D", b"E"
SMFIC_HELO, SMFIC_HEADER, SMFIC_MAIL, SMFIC_EOH = b"H", b"L", b"M", b"N"
SMFIC_OPTNEG, SMFIC_QUIT, SMFIC_RCPT = b"O", b"Q", b"R"
SMFIR_CONTINUE, SMFIR_ACCEPT, SMFIR_REJECT, SMFIR_TEMPFAIL = b"c", b"a", b"r", b"t"
SMFIR_DISCARD, SMFIR_REPLYCODE, SMFIR_SKIP, SMFIR_PROGRESS = b"d", b"y", b"s", b"p"
SMFIR_ADDHEADER, SMFIR_INSHEADER = b"h", b"i"
ENDS_MESSAGE = {SMFIR_ACCEPT, SMFIR_REJECT, SMFIR_TEMPFAIL, SMFIR_DISCARD, SMFIR_REPLYCODE}

# Protocol flags: steps the milter can turn off, and steps it answers
# without a reply.
NO_STEP = {SMFIC_CONNECT: 0x1, SMFIC_HELO: 0x2, SMFIC_MAIL: 0x4, SMFIC_RCPT: 0x8,
           SMFIC_BODY: 0x10, SMFIC_HEADER: 0x20, SMFIC_EOH: 0x40}
NO_REPLY = {SMFIC_HEADER: 0x80, SMFIC_CONNECT: 0x1000, SMFIC_HELO: 0x2000,
            SMFIC_MAIL: 0x4000, SMFIC_RCPT: 0x8000, SMFIC_EOH: 0x40000, SMFIC_BODY: 0x80000}
SMFIP_SKIP, SMFIP_HDR_LEADSPC = 0x400, 0x100000
MTA_ACTIONS, MTA_PROTOCOL = 0x1FF, 0x1FFFFF
BODY_CHUNK = 65535
MTA_NAME = "mx.bench.test"


class MilterError(Exception):
    pass


class Milter:
    """One milter connection for one message."""

    def __init__(self, path, timeout):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.proto = 0
        self.done = None  # the reply that ended the message early, if any
        self.added = []   # (index or None, name, value) header fields added at EOB

    def close(self):
        try:
            self.sock.sendall(struct.pack("!I", 1) + SMFIC_QUIT)
        except OSError:
            pass
        self.sock.close()

    def send(self, cmd, data=b""):
        self.sock.sendall(struct.pack("!I", len(data) + 1) + cmd + data)

    def _read(self, n):
        out = bytearray()
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise MilterError("milter closed the connection")
            out += chunk
        return bytes(out)

    def reply(self):
        (n,) = struct.unpack("!I", self._read(4))
        if n < 1 or n > (1 << 24):
            raise MilterError("bad reply length %d" % n)
        data = self._read(n)
        return data[:1], data[1:]

    def negotiate(self):
        self.send(SMFIC_OPTNEG, struct.pack("!III", 6, MTA_ACTIONS, MTA_PROTOCOL))
        cmd, data = self.reply()
        if cmd != SMFIC_OPTNEG or len(data) < 12:
            raise MilterError("no option negotiation reply")
        _, _, self.proto = struct.unpack("!III", data[:12])

    def macros(self, cmd, pairs):
        self.send(SMFIC_MACRO, cmd + b"".join(k + b"\0" + v + b"\0" for k, v in pairs))

    def step(self, cmd, data=b""):
        """Sends one command unless the milter turned it off; waits for
        the reply unless it said it sends none."""
        if self.done is not None or self.proto & NO_STEP.get(cmd, 0):
            return
        self.send(cmd, data)
        if self.proto & NO_REPLY.get(cmd, 0):
            return
        while True:
            r, _ = self.reply()
            if r != SMFIR_PROGRESS:
                break
        if r in ENDS_MESSAGE:
            self.done = r
        elif r == SMFIR_SKIP:
            self.skip = True

    def body(self, body):
        self.skip = False
        for i in range(0, len(body), BODY_CHUNK):
            if self.skip or self.done is not None:
                return
            self.step(SMFIC_BODY, body[i:i + BODY_CHUNK])

    def end_of_message(self):
        if self.done is not None:
            return self.done
        self.send(SMFIC_BODYEOB)
        while True:
            r, data = self.reply()
            if r == SMFIR_ADDHEADER:
                name, value = data.split(b"\0")[:2]
                self.added.append((None, name, value))
            elif r == SMFIR_INSHEADER:
                (idx,) = struct.unpack("!I", data[:4])
                name, value = data[4:].split(b"\0")[:2]
                self.added.append((idx, name, value))
            elif r in ENDS_MESSAGE or r == SMFIR_CONTINUE:
                self.done = r
                return r


def split_message(raw):
    """Returns ([(name, value)], body); values keep their folds as CRLF
    and their leading space."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, body = raw, b""
    fields = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1] += b"\r\n" + line
        elif line:
            name, _, value = line.partition(b":")
            fields.append([name, value])
    return [(n, v) for n, v in fields], body


def with_added(fields, added):
    out = list(fields)
    for idx, name, value in added:
        if idx is None:
            out.append((name, b" " + value.replace(b"\n", b"\r\n")))
        else:
            out.insert(min(idx, len(out)), (name, b" " + value.replace(b"\n", b"\r\n")))
    return out


def run_message(paths, meta, raw, timeout):
    """One SMTP session through the chain; returns (eob_s, total_s, milters)."""
    t0 = time.perf_counter()
    fields, body = split_message(raw)
    qid = b"B" + os.path.basename(meta["file"]).split(".")[0].encode()
    ip = meta["client_ip"].encode()
    ms = [Milter(p, timeout) for p in paths]
    try:
        for m in ms:
            m.negotiate()
        for m in ms:
            m.macros(SMFIC_CONNECT, [(b"j", MTA_NAME.encode()), (b"{daemon_name}", b"bench"),
                                     (b"_", b"relay [" + ip + b"]")])
            m.step(SMFIC_CONNECT, b"relay\0" + b"4" + struct.pack("!H", 25) + ip + b"\0")
        for m in ms:
            m.step(SMFIC_HELO, meta["helo"].encode() + b"\0")
        for m in ms:
            m.macros(SMFIC_MAIL, [(b"i", qid), (b"{mail_addr}", meta["mail_from"].encode())])
            m.step(SMFIC_MAIL, b"<" + meta["mail_from"].encode() + b">\0")
        for m in ms:
            m.macros(SMFIC_RCPT, [(b"{rcpt_addr}", meta["rcpt"].encode())])
            m.step(SMFIC_RCPT, b"<" + meta["rcpt"].encode() + b">\0")
        eob, seen = 0.0, fields
        for m in ms:
            for name, value in seen:
                if not m.proto & SMFIP_HDR_LEADSPC and value[:1] == b" ":
                    value = value[1:]
                m.step(SMFIC_HEADER, name + b"\0" + value + b"\0")
            m.step(SMFIC_EOH)
            m.body(body)
            m.macros(SMFIC_BODYEOB, [(b"i", qid)])
            t = time.perf_counter()
            m.end_of_message()
            eob += time.perf_counter() - t
            seen = with_added(seen, m.added)
        return eob, time.perf_counter() - t0, ms
    finally:
        for m in ms:
            m.close()


def percentile(values, p):
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100.0 * len(s) + 0.5)) - 1))]


RESULT = re.compile(rb"(?:^|[;\s])(spf|dkim|dmarc)=([a-z]+)")


# Set in each worker process by _init().
_job = {}


def _init(corpus, sockets, timeout, start, rate, deadline):
    _job.update(corpus=corpus, sockets=sockets, timeout=timeout, start=start, rate=rate,
                deadline=deadline)


def _one(job):
    """Runs message number i in a worker process; returns a result dict."""
    i, meta = job
    if _job["rate"]:
        wait = _job["start"] + i / _job["rate"] - time.monotonic()
        if wait > 0:
            time.sleep(wait)
    if time.monotonic() >= _job["deadline"]:
        return {"skipped": True}
    with open(os.path.join(_job["corpus"], meta["file"]), "rb") as f:
        raw = f.read()
    try:
        eob, total, ms = run_message(_job["sockets"], meta, raw, _job["timeout"])
    except (OSError, MilterError, struct.error, ValueError) as e:
        return {"error": "%s: %s" % (meta["file"], e)}
    results = []
    for m in ms:
        found = []
        for _, name, value in m.added:
            if name.lower() == b"authentication-results":
                found += [b"=".join(r).decode() for r in RESULT.findall(value)]
        results.append(found)
    return {"file": meta["file"], "bytes": len(raw), "eob_ms": eob * 1e3,
            "total_ms": total * 1e3, "results": results}


def main():
    ap = argparse.ArgumentParser(description="time a milter (or two) over a corpus")
    ap.add_argument("--conn", type=int, default=16, help="concurrent connections")
    ap.add_argument("--limit", type=int, default=0, help="at most N messages (0: all)")
    ap.add_argument("--rate", type=float, default=0,
                    help="start at most R messages a second (0: as fast as replies come)")
    ap.add_argument("--time-limit", type=float, default=600, help="stop after S seconds")
    ap.add_argument("--timeout", type=float, default=60, help="per-reply timeout")
    ap.add_argument("--json", help="also write per-message figures here")
    ap.add_argument("corpus")
    ap.add_argument("sockets", nargs="+")
    a = ap.parse_args()
    if not 1 <= a.conn <= 256 or len(a.sockets) > 2 or a.rate < 0:
        ap.error("1..256 connections, one or two sockets, a rate >= 0")
    with open(os.path.join(a.corpus, "index.json")) as f:
        index = json.load(f)
    if a.limit:
        index = index[:a.limit]
    per_msg, tally = [], [Counter() for _ in a.sockets]
    errors, first_error = 0, None
    # One process per connection: the client's own work never waits on
    # another connection's (as threads would, on the interpreter lock).
    start, now = time.perf_counter(), time.monotonic()
    with multiprocessing.Pool(a.conn, _init, (a.corpus, a.sockets, a.timeout, now + 0.5,
                                              a.rate, now + a.time_limit)) as pool:
        for r in pool.imap_unordered(_one, enumerate(index), chunksize=1):
            if "error" in r:
                errors += 1
                first_error = first_error or r["error"]
            elif "file" in r:
                for t, found in zip(tally, r["results"]):
                    t.update(found)
                per_msg.append(r)
    wall = time.perf_counter() - start
    eobs = [m["eob_ms"] for m in per_msg]
    totals = [m["total_ms"] for m in per_msg]
    out = {"messages": len(per_msg), "errors": errors, "connections": a.conn, "rate": a.rate,
           "wall_s": round(wall, 3), "bytes": sum(m["bytes"] for m in per_msg),
           "first_error": first_error,
           "results": [dict(sorted(t.items())) for t in tally]}
    for p in (50, 90, 99):
        out["eob_p%d_ms" % p] = percentile(eobs, p)
        out["total_p%d_ms" % p] = percentile(totals, p)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"summary": out, "messages": per_msg}, f)
    print(json.dumps(out))
    return 0 if per_msg and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
