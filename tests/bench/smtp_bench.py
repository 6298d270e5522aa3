#!/usr/bin/python3
"""smtp_bench - the SMTP half of the benchmark (README.md, "The standalone
listener against Postfix"): a corpus client, the idle-connection hold,
CPU of process trees, and the report rows.  run.sh's smtp.sh calls it.

    smtp_bench.py send [--conn K] [--limit N] [--time-limit S] [--json FILE] CORPUSDIR PORT
    smtp_bench.py idle [--idle N] [--probes M] [--seconds S] --pid PID
                       --json FILE CORPUSDIR PORT
    smtp_bench.py tree PID...
    smtp_bench.py tally DUMPDIR
    smtp_bench.py report WORKDIR

send: each corpus message (corpus.py's index.json) is one SMTP session to
127.0.0.1:PORT from the message's own client address (run.sh puts the
corpus's networks on the namespace's loopback, so SPF sees what the
milter bench tells the milters), with its HELO name, envelope sender and
recipient: EHLO, MAIL, RCPT, DATA, the message dot-stuffed, QUIT.  K worker
processes run sessions as fast as the replies come.  Per message it
records the end-of-data latency (from sending the final dot to the reply:
what the client waits for the filter and the hand-on) and the session's,
and the reply codes; it writes a JSON summary shaped like milterbench's.

idle: opens N connections (default 5000) from 127.1.x.y addresses (so the
per-address limit holds), each reads the greeting and says EHLO, then
stays silent; with them open it sends the first M corpus messages
(default 100) over 4 sessions at a time and reads PID's RSS before, with
the connections and after the messages.  It writes the figures as JSON.

tree: prints the CPU seconds (user + system, threads and waited-for
children) and the PSS in KiB of each PID and all its live descendants,
summed: Postfix's master and the processes it runs.

tally: the method=result pairs of the Authentication-Results fields in
the transactions smtp-sink dumped (-d) into DUMPDIR, as JSON.
"""
import argparse
import json
import multiprocessing
import os
import re
import resource
import selectors
import smtplib
import socket
import statistics
import sys
import time
from collections import Counter

from milterbench import percentile
from report import fmt, ratio

PER_ADDRESS = 40
RESULT = re.compile(rb"(?:^|[;\s])(spf|dkim|dmarc)=([a-z]+)")


def rss_kib(pid, field="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def pss_kib(pid):
    """The proportional set size of pid: its private pages plus its share of
    those it shares (libraries, Postfix's processes' common pages), so a sum
    over processes counts each page once."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def source(i):
    """The source address of idle connection i: PER_ADDRESS per address."""
    n = i // PER_ADDRESS
    return "127.1.%d.%d" % (n // 250, n % 250 + 1)


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))


def _final_reply(data):
    """The code of the final line of a complete reply in data, else None."""
    lines = data.split(b"\r\n")[:-1]
    if not lines or lines[-1][3:4] != b" ":
        return None
    return lines[-1][:3]


def open_idle(port, count, deadline, ehlo=None):
    """Opens count connections to 127.0.0.1:port, each reading its greeting
    and, with ehlo, saying EHLO ehlo and reading the reply; returns those
    that got 220 (and 250).  At most 200 handshakes are outstanding."""
    sel = selectors.DefaultSelector()
    pending, kept, opened = {}, [], 0
    while (opened < count or pending) and time.time() < deadline:
        while opened < count and len(pending) < 200:
            s = socket.socket()
            s.setblocking(False)
            s.bind((source(opened), 0))
            s.connect_ex(("127.0.0.1", port))
            sel.register(s, selectors.EVENT_READ)
            pending[s] = [b"", False]  # reply so far, EHLO sent
            opened += 1
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            state = pending[s]
            try:
                chunk = s.recv(4096)
            except OSError:
                chunk = b""
            state[0] += chunk
            code = _final_reply(state[0])
            if chunk and code is None:
                continue
            if code == b"220" and ehlo and not state[1]:
                s.send(b"EHLO " + ehlo.encode() + b"\r\n")
                state[:] = [b"", True]
                continue
            sel.unregister(s)
            del pending[s]
            if code == (b"250" if ehlo else b"220"):
                kept.append(s)
            else:
                s.close()
    sel.close()
    for s in pending:
        s.close()
    return kept


def stuffed(raw):
    """The message as DATA carries it: leading dots doubled, ending in CRLF."""
    body = re.sub(rb"(?m)^\.", b"..", raw)
    return body if body.endswith(b"\r\n") else body + b"\r\n"


def session(port, meta, raw, timeout):
    """One SMTP session for one corpus message: (code of the last reply
    that decided the message, end-of-data seconds or None, session
    seconds)."""
    t0 = time.perf_counter()
    s = smtplib.SMTP("127.0.0.1", port, local_hostname=meta["helo"], timeout=timeout,
                     source_address=(meta["client_ip"], 0))
    eod = None
    try:
        code, _ = s.ehlo()
        if code == 250:
            code, _ = s.mail(meta["mail_from"])
        if code == 250:
            code, _ = s.rcpt(meta["rcpt"])
        if code == 250:
            s.putcmd("data")
            code, _ = s.getreply()
        if code == 354:
            s.send(stuffed(raw) + b".\r\n")
            t = time.perf_counter()
            code, _ = s.getreply()
            eod = time.perf_counter() - t
        s.quit()
    finally:
        s.close()
    return code, eod, time.perf_counter() - t0


_job = {}


def _init(corpus, port, timeout, deadline):
    _job.update(corpus=corpus, port=port, timeout=timeout, deadline=deadline)


def _one(meta):
    if time.monotonic() >= _job["deadline"]:
        return {"skipped": True}
    with open(os.path.join(_job["corpus"], meta["file"]), "rb") as f:
        raw = f.read()
    try:
        code, eod, total = session(_job["port"], meta, raw, _job["timeout"])
    except (OSError, smtplib.SMTPException) as e:
        return {"error": "%s: %s" % (meta["file"], e)}
    return {"file": meta["file"], "bytes": len(raw), "code": code, "total_ms": total * 1e3,
            "eod_ms": None if eod is None else eod * 1e3}


def summary(per_msg, errors, first_error, wall):
    eods = [m["eod_ms"] for m in per_msg if m["eod_ms"] is not None]
    totals = [m["total_ms"] for m in per_msg]
    out = {"messages": len(per_msg), "errors": errors, "first_error": first_error,
           "wall_s": round(wall, 3), "bytes": sum(m["bytes"] for m in per_msg),
           "codes": dict(sorted(Counter(str(m["code"]) for m in per_msg).items()))}
    for p in (50, 90, 99):
        out["eod_p%d_ms" % p] = percentile(eods, p)
        out["total_p%d_ms" % p] = percentile(totals, p)
    return out


def run_corpus(corpus, index, port, conn, timeout, time_limit):
    per_msg, errors, first_error = [], 0, None
    start = time.perf_counter()
    # One process per connection, as milterbench: the client's own work
    # never waits on another connection's.
    with multiprocessing.Pool(conn, _init, (corpus, port, timeout,
                                            time.monotonic() + time_limit)) as pool:
        for r in pool.imap_unordered(_one, index, chunksize=1):
            if "error" in r:
                errors += 1
                first_error = first_error or r["error"]
            elif "file" in r:
                per_msg.append(r)
    return per_msg, errors, first_error, time.perf_counter() - start


def load_index(corpus, limit=0):
    with open(os.path.join(corpus, "index.json")) as f:
        index = json.load(f)
    return index[:limit] if limit else index


def cmd_send(a):
    per_msg, errors, first_error, wall = run_corpus(
        a.corpus, load_index(a.corpus, a.limit), a.port, a.conn, a.timeout, a.time_limit)
    out = summary(per_msg, errors, first_error, wall)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"summary": out, "messages": per_msg}, f)
    print(json.dumps(out))
    return 0 if per_msg and not errors else 1


def still_open(conns):
    """How many of conns the server has not closed (nothing to read: no
    EOF, no 421)."""
    sel = selectors.DefaultSelector()
    for c in conns:
        sel.register(c, selectors.EVENT_READ)
    n = len(conns) - len(sel.select(timeout=0.5))
    sel.close()
    return n


def cmd_idle(a):
    raise_nofile(a.idle + 1000)
    rss0 = rss_kib(a.pid)
    t0 = time.time()
    idle = open_idle(a.port, a.idle, t0 + a.seconds, ehlo="idle.bench.test")
    opened = time.time() - t0
    time.sleep(1)
    rss1 = rss_kib(a.pid)
    per_msg, errors, first_error, wall = run_corpus(
        a.corpus, load_index(a.corpus, a.probes), a.port, 4, 30, a.seconds)
    rss2 = rss_kib(a.pid)
    left = still_open(idle)
    for c in idle:
        c.close()
    out = {"wanted": a.idle, "idle": len(idle), "open_s": round(opened, 2), "still_open": left,
           "rss_start_kib": rss0, "rss_idle_kib": rss1, "rss_after_kib": rss2,
           "probes": summary(per_msg, errors, first_error, wall)}
    with open(a.json, "w") as f:
        json.dump(out, f)
    print(json.dumps(out))
    return 0


def tree_figures(pids):
    """(CPU seconds, PSS KiB) of pids and their live descendants."""
    hz = os.sysconf("SC_CLK_TCK")
    parent, stat = {}, {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command: state, ppid, ..., utime is field 14 of stat.
        parent[int(d)] = int(fields[1])
        stat[int(d)] = sum(int(x) for x in fields[11:15]) / hz
    cpu, rss = 0.0, 0
    for p in stat:
        q = p
        while q not in pids and q in parent and q > 1:
            q = parent[q]
        if q in pids:
            cpu += stat[p]
            rss += pss_kib(p)
    return cpu, rss


def cmd_tree(a):
    cpu, rss = tree_figures(set(a.pids))
    print("%.3f %d" % (cpu, rss))
    return 0


def unfolded_fields(head):
    return re.sub(rb"\r?\n[ \t]+", b" ", head).split(b"\n")


def cmd_tally(a):
    tally = Counter()
    for name in os.listdir(a.dumpdir):
        with open(os.path.join(a.dumpdir, name), "rb") as f:
            head = f.read().split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
        for field in unfolded_fields(head):
            if field.lower().startswith(b"authentication-results:"):
                tally.update(b"=".join(r).decode() for r in RESULT.findall(field))
    print(json.dumps(dict(sorted(tally.items()))))
    return 0


def side_runs(workdir):
    """{name: {side: (wall seconds, CPU seconds)}} from smtp-cpu.txt."""
    runs = {}
    with open(os.path.join(workdir, "smtp-cpu.txt")) as f:
        for line in f:
            name, side, t0, t1, c0, c1 = line.split()
            runs.setdefault(name, {})[side] = (float(t1) - float(t0), float(c1) - float(c0))
    return runs


def load_summary(workdir, name):
    with open(os.path.join(workdir, name + ".json")) as f:
        return json.load(f)["summary"]


def codes_text(s):
    c = dict(s["codes"])
    ok, rej = c.pop("250", 0), sum(v for k, v in c.items() if k.startswith("5"))
    return "%d/%d/%d (%d)" % (ok, rej, sum(c.values()) - rej, s["errors"])


def idle_lines(workdir, kv):
    """The idle-hold lines, and whether it held: every connection still
    open, every probe answered, probe sessions p99 within 1 s, at most
    16 KiB of RSS per idle connection."""
    try:
        with open(os.path.join(workdir, "smtp-idle.json")) as f:
            d = json.load(f)
    except (OSError, ValueError):
        return ["idle hold: no figures (smtp-idle.json missing)"], False
    pr = d["probes"]
    per = (d["rss_idle_kib"] - d["rss_start_kib"]) / max(d["idle"], 1)
    lines = [
        "idle hold: %d of %d connections opened (EHLO) in %.1f s, %d still open after the "
        "probes" % (d["idle"], d["wanted"], d["open_s"], d["still_open"]),
        "  a fresh authmilter: RSS %.1f MB before, %.1f MB with them (%.2f KiB each), %.1f MB after "
        "the probes" % (d["rss_start_kib"] / 1024, d["rss_idle_kib"] / 1024, per,
                        d["rss_after_kib"] / 1024),
        "  %d probe messages while they were open, 250/5xx/other (errors) %s: session p50 "
        "%s ms, p99 %s ms" % (pr["messages"] + pr["errors"], codes_text(pr),
                              fmt(pr["total_p50_ms"]), fmt(pr["total_p99_ms"]))]
    held = (d["idle"] == d["wanted"] and d["still_open"] == d["idle"] and not pr["errors"] and
            pr["messages"] > 0 and "4" not in "".join(k[0] for k in pr["codes"]) and
            pr["total_p99_ms"] is not None and pr["total_p99_ms"] <= 1000 and per <= 16)
    return lines, held


def cmd_report(a):
    kv = dict(arg.split("=", 1) for arg in a.kv)
    wd = a.workdir
    runs = side_runs(wd)
    rounds = sorted((n for n in runs if n.isdigit()), key=int)
    cpu, rate = [], []
    for r in rounds:
        am, pf = load_summary(wd, "smtp-am-" + r), load_summary(wd, "smtp-pf-" + r)
        (aw, ac), (pw, pc) = runs[r]["am"], runs[r]["pf"]
        if am["messages"] and pf["messages"]:
            cpu.append((ac * 1e3 / am["messages"], pc * 1e3 / pf["messages"]))
            rate.append((am["messages"] / aw, pf["messages"] / pw))
    med = [statistics.median(c[i] for c in cpu) if cpu else None for i in (0, 1)]
    mps = [statistics.median(c[i] for c in rate) if rate else None for i in (0, 1)]
    last = rounds[-1] if rounds else None
    am = load_summary(wd, "smtp-am-" + last)
    pf = load_summary(wd, "smtp-pf-" + last)
    print()
    print("SMTP: the corpus over %s connections, %d saturated rounds; authmilter --smtp "
          "against Postfix smtpd with opendkim + opendmarc, both relaying to smtp-sink" % (
              kv["conn"], len(cpu)))
    print("%-34s %12s %22s %8s" % ("", "authmilter", "postfix+peers", "ratio"))
    rows = [("250/5xx/other (errors), last round", codes_text(am), codes_text(pf), ""),
            ("CPU ms per message, median", fmt(med[0]), fmt(med[1]), fmt(ratio(*med), 3)),
            ("messages per second, median", fmt(mps[0], 0), fmt(mps[1], 0),
             fmt(ratio(*mps), 3))]
    for kind, label in (("eod", "end-of-data"), ("total", "session")):
        for p in (50, 99):
            x, y = am["%s_p%d_ms" % (kind, p)], pf["%s_p%d_ms" % (kind, p)]
            rows.append(("p%d ms, %s, saturated" % (p, label), fmt(x), fmt(y),
                         fmt(ratio(x, y), 3)))
    src = runs.get("source", {})
    n = int(kv["source_count"])
    if "am" in src and "pf" in src:
        sc = [src[s][1] * 1e3 / n for s in ("am", "pf")]
        sr = [n / src[s][0] for s in ("am", "pf")]
        rows.append(("smtp-source: CPU ms per message", fmt(sc[0]), fmt(sc[1]),
                     fmt(ratio(*sc), 3)))
        rows.append(("smtp-source: messages per second", fmt(sr[0], 0), fmt(sr[1], 0),
                     fmt(ratio(*sr), 3)))
    ar, pr = int(kv["am_pss"]) / 1024, int(kv["pf_pss"]) / 1024
    rows.append(("PSS MB, all processes, at the end", fmt(ar, 1), fmt(pr, 1),
                 fmt(ratio(ar, pr), 3)))
    for r in rows:
        print("%-34s %12s %22s %8s" % r)
    print("CPU ratio per round: " + " ".join(fmt(ratio(x, y), 3) for x, y in cpu))
    for side, name in (("am", "authmilter"), ("pf", "postfix+peers")):
        s = load_summary(wd, "smtp-%s-%s" % (side, last))
        if s["errors"]:
            print("%s: %d errors, first: %s" % (name, s["errors"], s["first_error"]))
        log = os.path.join(wd, "smtp-source-%s.log" % side)
        if os.path.exists(log) and os.path.getsize(log):
            with open(log, errors="replace") as f:
                print("smtp-source against %s: %s" % (name, f.readline().strip()))
    tallies = []
    for side in ("am", "pf"):
        try:
            with open(os.path.join(wd, "smtp-%s-tally.json" % side)) as f:
                tallies.append(f.read().strip())
        except OSError:
            tallies.append("-")
    print("Authentication-Results at the sink (first pass): authmilter %s; postfix+peers %s" %
          tuple(tallies))
    lines, held = idle_lines(wd, kv)
    for line in lines:
        print(line)
    print("targets:")
    print("  %s idle connections held, mail through within 1 s (p99), <= 16 KiB each: %s" % (
        kv["idle"], "met" if held else "NOT met"))
    return 0


def main():
    ap = argparse.ArgumentParser(description="the SMTP half of the benchmark")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("send", help="replay a corpus over SMTP")
    p.add_argument("--conn", type=int, default=16)
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--time-limit", type=float, default=600)
    p.add_argument("--json")
    p.add_argument("corpus")
    p.add_argument("port", type=int)
    p.set_defaults(run=cmd_send)
    p = sub.add_parser("idle", help="hold idle connections while mail flows")
    p.add_argument("--idle", type=int, default=5000)
    p.add_argument("--probes", type=int, default=100)
    p.add_argument("--seconds", type=float, default=120)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--json", required=True)
    p.add_argument("corpus")
    p.add_argument("port", type=int)
    p.set_defaults(run=cmd_idle)
    p = sub.add_parser("tree", help="CPU seconds and PSS of process trees")
    p.add_argument("pids", type=int, nargs="+")
    p.set_defaults(run=cmd_tree)
    p = sub.add_parser("tally", help="Authentication-Results in smtp-sink's dumps")
    p.add_argument("dumpdir")
    p.set_defaults(run=cmd_tally)
    p = sub.add_parser("report", help="the SMTP rows of run.sh's report")
    p.add_argument("workdir")
    p.add_argument("kv", nargs="*")
    p.set_defaults(run=cmd_report)
    a = ap.parse_args()
    return a.run(a)


if __name__ == "__main__":
    sys.exit(main())
