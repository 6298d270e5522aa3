#!/usr/bin/python3
"""report - the table run.sh prints, from milterbench's JSON and the
CPU and memory figures run.sh read from /proc.

    report.py WORKDIR CONN RATE FLATSIZE key=value...

Keys: rounds (saturated rounds; WORKDIR/cpu.txt has one line per round:
number, then start and end CPU seconds of authmilter, opendkim and
opendmarc), am_rss, dkim_rss, dmarc_rss, flat_small_rss, flat_large_rss
(peak RSS in KiB).
"""
import json
import os
import statistics
import sys


def load(workdir, name):
    with open(os.path.join(workdir, name + ".json")) as f:
        return json.load(f)["summary"]


def fmt(v, digits=2):
    return "-" if v is None else "%.*f" % (digits, v)


def ratio(a, b):
    return None if a is None or not b else a / b


def cpu_rounds(workdir, rounds):
    """Per round: (ours, peers) CPU ms per message, from cpu.txt."""
    out = []
    with open(os.path.join(workdir, "cpu.txt")) as f:
        for line in f:
            r, c0, c1, d0, d1, m0, m1 = line.split()
            am, peers = load(workdir, "am-" + r), load(workdir, "peers-" + r)
            if not am["messages"] or not peers["messages"]:
                continue
            out.append(((float(c1) - float(c0)) * 1e3 / am["messages"],
                        (float(d1) - float(d0) + float(m1) - float(m0)) * 1e3 /
                        peers["messages"]))
    return out


def table(workdir, conn, rate, kv):
    rounds = int(kv["rounds"])
    am, peers = load(workdir, "am-%d" % rounds), load(workdir, "peers-%d" % rounds)
    am_paced, peers_paced = load(workdir, "am-paced"), load(workdir, "peers-paced")
    cpu = cpu_rounds(workdir, rounds)
    am_ms = statistics.median(c[0] for c in cpu) if cpu else None
    peer_ms = statistics.median(c[1] for c in cpu) if cpu else None
    rows = [
        ("messages (errors), last round", "%d (%d)" % (am["messages"], am["errors"]),
         "%d (%d)" % (peers["messages"], peers["errors"]), ""),
        ("CPU ms per message, median", fmt(am_ms), fmt(peer_ms), fmt(ratio(am_ms, peer_ms), 3)),
        ("messages per second, saturated", fmt(ratio(am["messages"], am["wall_s"]), 0),
         fmt(ratio(peers["messages"], peers["wall_s"]), 0),
         fmt(ratio(am["messages"] * peers["wall_s"], peers["messages"] * am["wall_s"]), 3)),
    ]
    for load_name, x, y in (("%s/s" % rate, am_paced, peers_paced), ("saturated", am, peers)):
        for kind, label in (("eob", "end-of-body"), ("total", "session")):
            for p in (50, 99):
                a, b = x["%s_p%d_ms" % (kind, p)], y["%s_p%d_ms" % (kind, p)]
                rows.append(("p%d ms, %s, %s" % (p, label, load_name), fmt(a), fmt(b),
                             fmt(ratio(a, b), 3)))
    am_rss = int(kv["am_rss"]) / 1024
    dk_rss, dm_rss = int(kv["dkim_rss"]) / 1024, int(kv["dmarc_rss"]) / 1024
    rows.append(("peak RSS MB", fmt(am_rss, 1), "%s (%s + %s)" % (
        fmt(dk_rss + dm_rss, 1), fmt(dk_rss, 1), fmt(dm_rss, 1)),
        fmt(ratio(am_rss, dk_rss + dm_rss), 3)))
    print("corpus: %d messages, %.1f MB; %s concurrent connections; %d saturated rounds" % (
        am["messages"], am["bytes"] / 1e6, conn, len(cpu)))
    print("%-34s %12s %22s %8s" % ("", "authmilter", "opendkim+opendmarc", "ratio"))
    for r in rows:
        print("%-34s %12s %22s %8s" % r)
    print("CPU ratio per round: " + " ".join(fmt(ratio(a, b), 3) for a, b in cpu))
    return am, peers, am_paced, peers_paced, am_ms, peer_ms


def main():
    workdir, conn, rate, flatsize = sys.argv[1:5]
    kv = dict(arg.split("=", 1) for arg in sys.argv[5:])
    am, peers, am_paced, peers_paced, am_ms, peer_ms = table(workdir, conn, rate, kv)
    small, large = load(workdir, "flat-small"), load(workdir, "flat-large")
    fs, fl = int(kv["flat_small_rss"]) / 1024, int(kv["flat_large_rss"]) / 1024
    print("memory flatness: authmilter peak RSS %s MB with %d x 1 KB bodies, "
          "%s MB with %d x %s bodies (ratio %s)" % (
              fmt(fs, 1), small["messages"], fmt(fl, 1), large["messages"], flatsize,
              fmt(ratio(fl, fs), 2)))
    print("Authentication-Results tallies: authmilter %s; opendkim %s; opendmarc %s" % (
        json.dumps(am["results"][0]), json.dumps(peers["results"][0]),
        json.dumps(peers["results"][1] if len(peers["results"]) > 1 else {})))
    for name, s in (("authmilter", am), ("peers", peers), ("authmilter paced", am_paced),
                    ("peers paced", peers_paced), ("flat 1k", small), ("flat large", large)):
        if s["errors"]:
            print("%s: %d errors, first: %s" % (name, s["errors"], s["first_error"]))
    targets = [("CPU ratio <= 0.20", bool(peer_ms) and am_ms / peer_ms <= 0.2),
               ("p99 after end-of-body < 2 ms at %s/s" % rate,
                (am_paced["eob_p99_ms"] or 99) < 2.0),
               ("memory flat (large/small <= 1.5)", fl / fs <= 1.5)]
    print("targets: " + "; ".join("%s: %s" % (t, "met" if ok else "MISSED") for t, ok in targets))


if __name__ == "__main__":
    main()
