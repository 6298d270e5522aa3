#!/usr/bin/python3
"""report - the table run.sh prints, from milterbench's JSON and the
CPU and memory figures run.sh read from /proc.

    report.py WORKDIR CONN RATE FLATSIZE key=value...

Keys: am_cpu, dkim_cpu, dmarc_cpu ("START:END" CPU seconds of the
process), am_rss, dkim_rss, dmarc_rss, flat_small_rss, flat_large_rss
(peak RSS in KiB).
"""
import json
import os
import sys


def load(workdir, name):
    with open(os.path.join(workdir, name + ".json")) as f:
        return json.load(f)["summary"]


def cpu(text):
    start, end = text.split(":")
    return float(end) - float(start)


def fmt(v, digits=2):
    return "-" if v is None else "%.*f" % (digits, v)


def ratio(a, b):
    return None if a is None or not b else a / b


def main():
    workdir, conn, rate, flatsize = sys.argv[1:5]
    kv = dict(arg.split("=", 1) for arg in sys.argv[5:])
    am, peers = load(workdir, "am"), load(workdir, "peers")
    am_paced, peers_paced = load(workdir, "am-paced"), load(workdir, "peers-paced")
    small, large = load(workdir, "flat-small"), load(workdir, "flat-large")
    n_am, n_peers = am["messages"], peers["messages"]
    am_ms = cpu(kv["am_cpu"]) * 1e3 / n_am if n_am else None
    peer_ms = ((cpu(kv["dkim_cpu"]) + cpu(kv["dmarc_cpu"])) * 1e3 / n_peers
               if n_peers else None)
    rows = [
        ("messages (errors)", "%d (%d)" % (n_am, am["errors"]),
         "%d (%d)" % (n_peers, peers["errors"]), ""),
        ("CPU ms per message", fmt(am_ms), fmt(peer_ms), fmt(ratio(am_ms, peer_ms), 3)),
    ]
    rows.append(("messages per second, saturated", fmt(n_am / am["wall_s"], 0),
                 fmt(n_peers / peers["wall_s"], 0),
                 fmt(ratio(peers["wall_s"] / n_peers, am["wall_s"] / n_am), 3)))
    for load_name, x, y in (("%s/s" % rate, am_paced, peers_paced), ("saturated", am, peers)):
        for kind, label in (("eob", "end-of-body"), ("total", "session")):
            for p in (50, 99):
                a, b = x["%s_p%d_ms" % (kind, p)], y["%s_p%d_ms" % (kind, p)]
                rows.append(("p%d ms, %s, %s" % (p, label, load_name), fmt(a), fmt(b),
                             fmt(ratio(a, b), 3)))
    am_rss = int(kv["am_rss"]) / 1024
    peer_rss = (int(kv["dkim_rss"]) + int(kv["dmarc_rss"])) / 1024
    rows.append(("peak RSS MB", fmt(am_rss, 1), "%s (%s + %s)" % (
        fmt(peer_rss, 1), fmt(int(kv["dkim_rss"]) / 1024, 1),
        fmt(int(kv["dmarc_rss"]) / 1024, 1)), fmt(ratio(am_rss, peer_rss), 3)))
    print("corpus: %d messages, %.1f MB; %s concurrent connections" % (
        n_am, am["bytes"] / 1e6, conn))
    print("%-32s %14s %22s %8s" % ("", "authmilter", "opendkim+opendmarc", "ratio"))
    for r in rows:
        print("%-32s %14s %22s %8s" % r)
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
    targets = [("CPU ratio <= 0.20", am_ms is not None and peer_ms and am_ms / peer_ms <= 0.2),
               ("p99 after end-of-body < 2 ms at %s/s" % rate,
                (am_paced["eob_p99_ms"] or 99) < 2.0),
               ("memory flat (large/small <= 1.5)", fl / fs <= 1.5)]
    print("targets: " + "; ".join("%s: %s" % (t, "met" if ok else "MISSED") for t, ok in targets))


if __name__ == "__main__":
    main()
