#!/usr/bin/python3
"""report - the table run.sh prints, from milterbench's JSON and the
CPU and memory figures run.sh read from /proc.

    report.py WORKDIR CONN RATE FLATSIZE key=value...

Keys: rounds (saturated rounds; WORKDIR/cpu.txt has one line per round:
number, then start and end CPU seconds of authmilter, opendkim and
opendmarc), am_rss, dkim_rss, dmarc_rss, flat_small_rss, flat_large_rss
(peak RSS in KiB).  WORKDIR/floor.json is floor.py's output for the
corpus, from `openssl speed` run in the same benchmark run.

The last line names each target and says "met", or "NOT met" with the
gap: how far the figure is from the bound.
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
    return am, peers, am_paced, peers_paced, am_ms, peer_ms, cpu


def floor_line(workdir, am_ms):
    """Prints the crypto floor and returns it in ms per message (None if unknown)."""
    try:
        with open(os.path.join(workdir, "floor.json")) as f:
            fl = json.load(f)
    except (OSError, ValueError):
        print("crypto floor: unknown (no floor.json)")
        return None
    v = fl["verify_s"]
    print("crypto floor: %.3f ms per message (SHA-256 %.0f MB/s over %.1f MB; verify/s "
          "rsa2048 %.0f, rsa1024 %.0f, ed25519 %.0f; signatures %s); authmilter at %s x floor" % (
              fl["floor_ms"], fl["sha256_bytes_s"] / 1e6, fl["bytes"] / 1e6, v["rsa2048"],
              v["rsa1024"], v["ed25519"], json.dumps(fl["signatures"], sort_keys=True),
              fmt(ratio(am_ms, fl["floor_ms"]), 2)))
    return fl["floor_ms"]


def verdict(value, bound, unit, digits=3):
    """'met', or 'NOT met (gap)' for a figure that must be at most bound."""
    if value is None:
        return "NOT met (no figure)"
    if value <= bound:
        return "met (%.*f%s)" % (digits, value, unit)
    return "NOT met (%.*f%s, %.*f%s over)" % (digits, value, unit, digits, value - bound, unit)


def main():
    workdir, conn, rate, flatsize = sys.argv[1:5]
    kv = dict(arg.split("=", 1) for arg in sys.argv[5:])
    am, peers, am_paced, peers_paced, am_ms, peer_ms, cpu = table(workdir, conn, rate, kv)
    floor_ms = floor_line(workdir, am_ms)
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
    worst = max((ratio(a, b) for a, b in cpu if b), default=None)
    eob_sat = am["eob_p99_ms"], peers["eob_p99_ms"]
    paced = am_paced["eob_p99_ms"]
    targets = [
        ("CPU <= 0.125 of opendkim+opendmarc in every round (worst round)",
         verdict(worst, 0.125, "")),
        ("CPU <= 3 x crypto floor", verdict(ratio(am_ms, floor_ms), 3.0, " x", 2)),
        ("p99 end-of-body, saturated, <= the peers' (%s ms)" % fmt(eob_sat[1]),
         verdict(eob_sat[0], eob_sat[1] if eob_sat[1] is not None else 0, " ms", 2)),
        ("p99 end-of-body < 2 ms at %s/s, %s connections" % (rate, conn),
         "met (%s ms)" % fmt(paced) if paced is not None and paced < 2.0
         else verdict(paced, 2.0, " ms", 2)),
        ("memory flat (large/small <= 1.5)", verdict(ratio(fl, fs), 1.5, "", 2)),
    ]
    print("targets:")
    for t, v in targets:
        print("  %s: %s" % (t, v))


if __name__ == "__main__":
    main()
