#!/usr/bin/python3
"""milter-faults - the MTA side going wrong, while mail flows.

The lab of tests/lib/faultlab.py (nsd behind the DNS fault proxy, six
messages whose verdicts are known), the milter daemon on a loopback TCP
port and the SMTP listener beside it.

  - Cuts: MTA connections closed at every stage (after negotiation,
    connect, HELO, MAIL, RCPT, a header field, end of headers, a body
    chunk, end of message), between packets, in the middle of one, and
    with a reset, while whole messages go through beside them: each whole
    one gets its verdict, no cut message before its end is logged, and the
    daemon serves on.
  - SIGHUP every 0.2 s to both daemons, their config files rewritten in
    between, during a run of 480 messages: every verdict right, the
    reloads logged.
  - SIGTERM with messages in flight: milter connections stopped at each
    stage, one waiting on a DNS look-up that stalls, SMTP sessions inside
    DATA and idle ones.  Every message past MAIL is finished with its
    right verdict (so is any other that got a final reply); idle SMTP
    clients get 421; both daemons exit 0.
  - SIGTERM just as idle milter connections send whole messages, half of
    them waiting on DNS look-ups that stall: each gets its right verdict,
    a tempfail or a closed connection, and the daemon exits 0 (under the
    sanitizers, with no report).
Neither daemon logs an error or a warning.
"""
import os
import random
import signal
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests", "lib"))
import faultlab as fl  # noqa: E402
import milterclient as mc  # noqa: E402
import smtptest  # noqa: E402
import tap  # noqa: E402
from faultlab import Msg  # noqa: E402

STAGES = ["negotiate", "connect", "helo", "mail", "rcpt", "header", "eoh", "body", "eom"]
STYLES = ["between packets", "mid-packet", "reset"]
OPTNEG = mc.packet(mc.SMFIC_OPTNEG, struct.pack("!III", 6, mc.ALL_ACTIONS, mc.ALL_PROTOCOL))


def transaction(msg, qid):
    headers, body = mc.fields(msg.raw)
    return mc.packets(headers, body, sender=("<%s>" % msg.mail_from).encode(),
                      queue_id=qid.encode(), rcpt=b"<rcpt@mx.faults.test>", ip=msg.ip,
                      helo=b"client.example")


def split_at(pk, stage):
    """The bytes before the stage's first packet, and that packet."""
    i = [s for s, _ in pk].index(stage)
    return b"".join(p for _, p in pk[:i]), pk[i][1]


def connect(d):
    return socket.create_connection(d.sock, timeout=30)


def verdict(acts):
    if mc.final(acts)[0] != mc.SMFIR_CONTINUE:
        return mc.reply_text(acts)
    ours = mc.inserted(acts, b"Authentication-Results")
    return fl.our_results(ours[0][1]) if len(ours) == 1 else "A-R fields: %r" % ours


def cut_once(d, msg, stage, style, qid):
    s = connect(d)
    try:
        if stage == "negotiate":
            before, last = b"", OPTNEG
        else:
            s.sendall(OPTNEG)
            mc.read_packet(s)
            before, last = split_at(transaction(msg, qid), stage)
        s.sendall(before + (last[:len(last) // 2] if style == "mid-packet" else last))
        if style == "reset":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        s.close()


def error_lines(*daemons_logs):
    return [line for text in daemons_logs for line in text.splitlines()
            if "[error]" in line or "[warning]" in line]


def smtp_log(front):
    return front.smtp.text()


def cuts(lab, front, pool):
    rnd = random.Random(7)
    jobs, cut_qids = [], []
    for rep in range(3):
        for stage in STAGES:
            for style in STYLES:
                qid = lab.next_qid()
                cut_qids.append((stage, style, qid))
                jobs.append(pool.submit(cut_once, front.milter, rnd.choice(lab.messages), stage,
                                        style, qid))
    whole = [pool.submit(front.run, pool, lab.messages) for _ in range(6)]
    for j in jobs:
        j.result()
    results = [r for w in whole for r in w.result()]
    bad = [(m.name, via, v) for m, via, v, _ in results if v != m.want]
    tap.is_(bad, [], "%d cut connections (%d stages, 3 ways each), %d whole messages beside "
            "them: each whole one right" % (len(jobs), len(STAGES), len(results)))
    tap.ok(front.milter.alive(), "the milter daemon is up")
    time.sleep(0.5)
    logged = [(st, sty) for st, sty, qid in cut_qids
              if st != "eom" and (": %s: client=" % qid) in front.milter.log_text()]
    tap.is_(logged, [], "no message cut before its end is logged")
    results = front.run(pool, lab.messages)
    tap.is_([(m.name, via, v) for m, via, v, _ in results if v != m.want], [],
            "after the cuts, the six messages judged right")


def hup_storm(lab, front, pool):
    stop = threading.Event()
    hups = [0]

    def hupper():
        while not stop.is_set():
            front.rewrite("dkim_max_signatures %d\n" % (5 + hups[0] % 2))
            front.milter.proc.send_signal(signal.SIGHUP)
            front.smtp.signal(signal.SIGHUP)
            hups[0] += 1
            stop.wait(0.2)

    before = (front.milter.log_text().count("configuration reloaded"),
              smtp_log(front).count("configuration reloaded"))
    t = threading.Thread(target=hupper)
    t.start()
    t0 = time.monotonic()
    try:
        results = []
        for _ in range(40):
            results += front.run(pool, lab.messages)
    finally:
        stop.set()
        t.join()
    took = time.monotonic() - t0
    time.sleep(0.5)
    bad = [(m.name, via, v) for m, via, v, _ in results if v != m.want]
    tap.is_(bad, [], "SIGHUP every 0.2 s for %.1f s (%d sent): %d messages, each right"
            % (took, hups[0], len(results)))
    got = (front.milter.log_text().count("configuration reloaded") - before[0],
           smtp_log(front).count("configuration reloaded") - before[1])
    tap.ok(min(got) >= min(hups[0], 5) // 2,
           "reloads logged: milter %d, SMTP %d, of %d signals" % (got[0], got[1], hups[0]))


class InFlight(threading.Thread):
    """One milter connection stopped before stage (or, for "sent", with the
    whole message sent), finished once go is set; .result is the verdict,
    or "cut: ..." when the daemon closed it."""

    def __init__(self, d, msg, qid, stage, go):
        threading.Thread.__init__(self)
        self.msg, self.stage, self.go = msg, stage, go
        self.s = connect(d)
        self.s.sendall(OPTNEG)
        mc.read_packet(self.s)
        pk = transaction(msg, qid)
        if stage == "sent":
            self.before, self.rest = b"".join(p for _, p in pk), b""
        else:
            before, _ = split_at(pk, stage)
            self.before, self.rest = before, b"".join(p for _, p in pk)[len(before):]
        self.s.sendall(self.before)
        self.result = None

    def run(self):
        try:
            self.go.wait()
            self.s.sendall(self.rest)
            self.result = verdict(mc.read_final(self.s))
        except (OSError, EOFError) as e:
            self.result = "cut: %r" % e
        finally:
            self.s.close()


class SmtpInFlight(threading.Thread):
    """One SMTP session, idle after EHLO or inside DATA (half the message
    sent), finished once go is set: .result is the reply to the end of
    DATA ("250 ..." or a refusal), or for an idle one what it was told."""

    def __init__(self, port, msg, qid, idle, go):
        threading.Thread.__init__(self)
        self.msg, self.qid, self.idle, self.go = msg, qid, idle, go
        self.result = None
        self.c = smtptest.Raw(port, source="127.0.0.3", timeout=60)
        self.c.cmd("EHLO proxy.test")
        data = b"X-Case: " + qid.encode() + b"\r\n" + msg.raw
        self.rest = data[len(data) // 2:] + b".\r\n"
        if idle:
            return
        self.c.cmd("XCLIENT ADDR=%s HELO=client.example" % msg.ip)
        self.c.cmd("EHLO client.example")
        self.c.cmd("MAIL FROM:<%s>" % msg.mail_from)
        self.c.cmd("RCPT TO:<rcpt@mx.faults.test>")
        self.c.cmd("DATA")
        self.c.send(data[:len(data) // 2])

    def run(self):
        try:
            self.go.wait()
            if not self.idle:
                self.c.send(self.rest)
            self.result = self.c.reply()
        except (OSError, EOFError) as e:
            self.result = "cut: %r" % e
        finally:
            self.c.close()


def stalled_front(lab, fronts, name, **conf):
    """Daemons whose DKIM key look-ups for slow.test never answer (2 s
    timeout), and a message that waits on one; (None, None) when they did
    not start."""
    front = fl.start(lab, fronts, name, inet=True, timeout_ms=2000, **conf)
    if front is None:
        return None, None
    lab.proxy.clear()
    lab.proxy.fault("*._domainkey.slow.test", "drop")
    raw = fl.sign(fl.raw_message("slow.test", "stalled at " + name), "slow.test", name,
                  lab.keys["bank"])
    return front, Msg("stalled", raw, "ceo@slow.test", "192.0.2.10",
                      "spf=pass dkim=temperror dmarc=pass")


def term(lab, fronts):
    front, stalled = stalled_front(lab, fronts, "term", tempfail_ttl=30)
    if front is None:
        return
    go = threading.Event()
    milters = []
    for i, stage in enumerate(STAGES[1:] + ["sent"]):
        msg = lab.messages[i % len(lab.messages)]
        milters.append(InFlight(front.milter, msg, lab.next_qid(), stage, go))
    milters.append(InFlight(front.milter, stalled, lab.next_qid(), "sent", go))
    smtps = [SmtpInFlight(front.port, m, lab.next_qid(), False, go) for m in lab.messages]
    idle = [SmtpInFlight(front.port, lab.messages[0], lab.next_qid(), True, go)
            for _ in range(3)]
    for t in milters + smtps + idle:
        t.start()
    time.sleep(0.5)
    front.milter.proc.send_signal(signal.SIGTERM)
    front.smtp.signal(signal.SIGTERM)
    time.sleep(0.5)
    go.set()
    for t in milters + smtps + idle:
        t.join(90)
    bad = []
    for t in milters:
        past_mail = t.stage not in ("connect", "helo", "mail")
        if t.result != t.msg.want and (past_mail or not t.result.startswith("cut")):
            bad.append((t.msg.name, t.stage, t.result))
    tap.diag("; ".join("%s@%s=%s" % (t.msg.name, t.stage, t.result) for t in milters))
    tap.is_(bad, [], "milter: %d connections in flight at SIGTERM, one waiting on DNS: those "
            "past MAIL finished, each reply right" % len(milters))
    got = {}
    fl.delivered(front.maildir, got)
    for t in smtps:
        if t.result.startswith("250 "):
            t.result = got.get(t.qid, "not delivered")
    bad = [(t.msg.name, t.result) for t in smtps if t.result != t.msg.want]
    tap.is_(bad, [], "SMTP: %d sessions inside DATA at SIGTERM finished, each reply right"
            % len(smtps))
    tap.is_([t.result.split(" ")[0] for t in idle], ["421"] * len(idle),
            "SMTP: idle sessions told 421")
    t0 = time.monotonic()
    status = front.stop()
    tap.is_(status, (0, 0), "both exit 0 (%.1f s after the last reply)" % (time.monotonic() - t0))
    lab.proxy.clear()


def late(lab, fronts):
    front, stalled = stalled_front(lab, fronts, "late")
    if front is None:
        return
    go = threading.Event()
    conns = [InFlight(front.milter, stalled if i % 2 else lab.messages[i // 2 % 6],
                      lab.next_qid(), "mail", go) for i in range(16)]
    for t in conns:
        t.start()
    time.sleep(0.3)
    front.milter.proc.send_signal(signal.SIGTERM)
    go.set()
    for t in conns:
        t.join(90)
    bad = [(t.msg.name, t.result) for t in conns
           if t.result not in (t.msg.want, "t") and not t.result.startswith("cut")]
    tap.diag("; ".join("%s=%s" % (t.msg.name, t.result) for t in conns))
    tap.is_(bad, [], "%d messages sent as SIGTERM came: each right, tempfailed or cut"
            % len(conns))
    tap.is_(front.milter.stop(), 0, "the milter daemon exits 0")
    lab.proxy.clear()


def body(lab, pool, fronts):
    front = fl.start(lab, fronts, "main", inet=True)
    if front is None:
        return
    cuts(lab, front, pool)
    hup_storm(lab, front, pool)
    tap.is_(front.stop(), (0, 0), "both daemons exit 0")
    term(lab, fronts)
    late(lab, fronts)
    errors = error_lines(*[t for f in fronts for t in (f.milter.log_text(), smtp_log(f))])
    tap.is_(errors, [], "no error or warning logged")


if __name__ == "__main__":
    sys.exit(fl.run_tests("milter-faults-", body))
