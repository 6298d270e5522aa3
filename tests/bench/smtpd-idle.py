#!/usr/bin/python3
"""smtpd-idle - the listener holding thousands of idle connections while
mail still flows (tests/bench/README.md).  Run by hand, not by make check.

    tests/bench/smtpd-idle.py [-b BUILDDIR] [-n IDLE] [-m MESSAGES] [-t SECONDS]

Starts nsd with one signing domain and `authmilter --smtp` delivering to
a Maildir, opens IDLE connections (default 5000) that each read the
greeting and then say nothing, spread over 127.1.x.y source addresses so
that the default per-address limit (50) holds, and while they stay open
sends MESSAGES signed messages (default 200) over 4 client threads.  It
prints the daemon's RSS before, with the idle connections, and after the
messages (from /proc/PID/status), the RSS per idle connection, how many
messages got 250 and were delivered, their latency, and whether a new
client is still greeted.  Everything is on loopback, bounded by SECONDS
(default 120) for opening the connections; every process started here is
stopped at exit.  Exit status 0 when every connection opened, every
message was delivered and the daemon stayed up.
"""
import argparse
import atexit
import os
import shutil
import smtplib
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
os.environ.setdefault("top_srcdir", os.path.abspath(os.path.join(HERE, "..", "..")))

ap = argparse.ArgumentParser()
ap.add_argument("-b", "--builddir", default=".")
ap.add_argument("-n", "--idle", type=int, default=5000)
ap.add_argument("-m", "--messages", type=int, default=200)
ap.add_argument("-t", "--seconds", type=float, default=120)
args = ap.parse_args()
os.environ["top_builddir"] = os.path.abspath(args.builddir)

import smtptest  # noqa: E402
from smtp_bench import open_idle, raise_nofile, rss_kib, still_open  # noqa: E402

def main():
    raise_nofile(args.idle + 1000)
    tmp = tempfile.mkdtemp(prefix="smtpd-idle-")
    zones = os.path.join(tmp, "zones")
    os.mkdir(zones)
    key, keytxt = smtptest.dkim_key(tmp)
    smtptest.write_zone(zones, "good.test", "v=spf1 ip4:127.0.0.0/8 -all", "reject",
                        "sel._domainkey IN TXT " + keytxt)
    nsd = smtptest.Nsd(zones)
    port = smtptest.free_port()
    mail = os.path.join(tmp, "mail")
    daemon = smtptest.Daemon(tmp, "idle", port, """authserv_id mx.bench.test
dns_server 127.0.0.1:%d
trusted_networks ""
maildir %s
smtp_max_connections %d
log_level notice
""" % (nsd.port, mail, args.idle + 100))

    def cleanup():
        daemon.stop()
        nsd.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    atexit.register(cleanup)
    pid = daemon.proc.pid
    time.sleep(0.5)
    rss0 = rss_kib(pid)
    start = time.time()
    idle = open_idle(port, args.idle, start + args.seconds)
    opened = time.time() - start
    time.sleep(1)
    rss1 = rss_kib(pid)

    msg = smtptest.sign(smtptest.message("user@good.test", "bench", "bench"), key)
    lat, codes, lock = [], [], threading.Lock()

    def sender(n):
        for _ in range(n):
            t0 = time.time()
            try:
                s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=30)
                s.sendmail("user@good.test", ["b@receiver.test"], msg)
                s.quit()
                code = 250
            except (smtplib.SMTPException, OSError) as e:
                code = getattr(e, "smtp_code", 0)
            with lock:
                lat.append(time.time() - t0)
                codes.append(code)

    per = args.messages // 4
    threads = [threading.Thread(target=sender, args=(per,)) for _ in range(4)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - t0
    rss2 = rss_kib(pid)
    delivered = len(smtptest.wait_files(mail, per * 4))
    try:
        fresh = smtptest.Raw(port, source="127.2.0.1").greeting
    except OSError as e:
        fresh = str(e)
    left = still_open(idle)
    for c in idle:
        c.close()
    lat.sort()
    ok = (len(idle) == args.idle and left == len(idle) and delivered == per * 4 and codes.count(250) == per * 4 and
          fresh.startswith("220 "))
    print("idle connections: %d of %d opened in %.1f s, %d still open after the mail flowed" %
          (len(idle), args.idle, opened, left))
    print("daemon RSS: %d KiB at start, %d KiB with the idle connections, %d KiB after the "
          "messages" % (rss0, rss1, rss2))
    print("RSS per idle connection: %.2f KiB" % ((rss1 - rss0) / max(len(idle), 1)))
    print("messages: %d sent, %d answered 250, %d delivered, in %.1f s (%.1f/s)" %
          (len(codes), codes.count(250), delivered, elapsed, len(codes) / max(elapsed, 1e-9)))
    if lat:
        print("latency: median %.1f ms, p99 %.1f ms, max %.1f ms" %
              (statistics.median(lat) * 1000, lat[int(len(lat) * 0.99) - 1] * 1000,
               lat[-1] * 1000))
    print("a new client while they were open: %s" % fresh)
    print("result: %s" % ("ok" if ok else "FAILED"))
    return 0 if ok else 1


sys.exit(main())
