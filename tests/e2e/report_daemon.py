#!/usr/bin/python3
"""report_daemon - the report records of the real daemon, through crashes.

Run by report-daemon.sh, which serves sender.test (p=none, a rua) with nsd
and starts a private PostgreSQL; arguments: the daemon, a temporary
directory, the nsd port, the PostgreSQL URI, the cluster's data directory
and PG_BINDIR.  Messages go to the daemon over the milter protocol (the
MTA side of milter-proto.py), each from sender.test, so each makes a
record.

- SQLite, SIGTERM: every answered message's record is in the store, and
  the log says the queue was flushed.
- SQLite, kill -9 right after the last answer: no record the log called
  stored is missing (stored <= in the store <= answered); the log
  accounts for the rest; the file is intact, and a new start adds to it
  without duplicates.
- PostgreSQL restarted while messages flow: every message is answered,
  the log says the store went away and came back, and after SIGTERM the
  database holds exactly one record per message.
"""
import importlib.util
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("milterproto", os.path.join(HERE, "milter-proto.py"))
mp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mp)
ok, diag = mp.ok, mp.diag

HEADERS = [(b"From", b" Sender <user@sender.test>"), (b"To", b" rcpt@receiver.test"),
           (b"Subject", b" report test"), (b"Message-ID", b" <x@sender.test>")]


class Daemon(mp.Daemon):
    def __init__(self, binary, tmp, nsd_port, store):
        super().__init__(binary, tmp)
        self.nsd_port, self.store = nsd_port, store

    def write_config(self, extra=""):
        with open(self.conf, "w") as f:
            f.write("authserv_id mx.report.test\nsocket %s\n" % self.spec +
                    "dns_server 127.0.0.1:%d\ndns_timeout 2s\n" % self.nsd_port +
                    "trusted_networks 10.9.9.9\nlog_level debug\n" +
                    "report_store %s\n" % self.store + extra)


def send(d, count, answered, stop=None, pause=0):
    """count messages, 20 to a connection, pause seconds after each;
    answered[0] counts the answers."""
    sent = 0
    while sent < count and not (stop and stop.is_set()):
        m = mp.Milter(d.sock)
        m.negotiate()
        m.connect()
        m.step(mp.SMFIC_HELO, b"client.sender.test\0", mp.SMFIP_NR_HELO)
        for _ in range(min(20, count - sent)):
            acts = m.message(HEADERS, queue_id=b"Q%d" % sent)
            if mp.valid_final(acts):
                answered[0] += 1
            sent += 1
            if pause:
                time.sleep(pause)
        m.close()


def sqlite_count(path):
    # Killed before its writer first opened the store (a loaded machine):
    # nothing was stored, which is no loss as long as nothing was logged.
    if not os.path.exists(path):
        return (0, 0), "ok"
    db = sqlite3.connect(path)
    n = db.execute("SELECT COUNT(*), COUNT(DISTINCT uid) FROM records").fetchone()
    check = db.execute("PRAGMA integrity_check").fetchone()[0]
    db.close()
    return n, check


def logged_stored(text):
    """The last "N in all" the writer logged."""
    found = re.findall(r"report records stored: \d+, (\d+) in all", text)
    return int(found[-1]) if found else 0


def test_sigterm(binary, tmp, nsd_port):
    path = os.path.join(tmp, "term.db")
    d = Daemon(binary, os.path.join(tmp, "term"), nsd_port, "sqlite:" + path)
    os.mkdir(d.tmp)
    d.write_config()
    ok(d.start(), "daemon started with an SQLite store")
    answered = [0]
    send(d, 200, answered)
    ok(answered[0] == 200, "200 messages answered")
    ok(d.stop() == 0, "SIGTERM: exit status 0")
    (n, distinct), check = sqlite_count(path)
    ok(n == 200 and distinct == 200, "SIGTERM: all 200 records stored, once each (%d)" % n)
    ok("report records flushed: 200 stored in all" in d.log_text(), "the log says so")


def test_kill(binary, tmp, nsd_port):
    path = os.path.join(tmp, "kill.db")
    d = Daemon(binary, os.path.join(tmp, "kill"), nsd_port, "sqlite:" + path)
    os.mkdir(d.tmp)
    d.write_config()
    ok(d.start(), "daemon started again")
    answered = [0]
    send(d, 300, answered)
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    d.logf.close()
    (n, distinct), check = sqlite_count(path)
    logged = logged_stored(d.log_text())
    ok(answered[0] == 300, "300 messages answered before kill -9")
    ok(check == "ok", "the SQLite file is intact after kill -9")
    ok(logged <= n <= 300 and distinct == n,
       "no record the log called stored was lost: logged %d <= stored %d <= answered 300"
       % (logged, n))
    diag("kill -9: %d answered, %d stored, %d were still queued" % (300, n, 300 - n))
    ok(d.log_text().count(" client=192.0.2.1 ") == 300,
       "the log has a summary line for each of the 300 messages")
    ok(d.start(), "a new start on the same store")
    more = [0]
    send(d, 10, more)
    ok(d.stop() == 0, "stopped")
    (n2, distinct2), _ = sqlite_count(path)
    ok(n2 == n + 10 and distinct2 == n2, "the 10 new records added, nothing twice (%d)" % n2)


def pg_count(bindir, uri):
    out = subprocess.run([os.path.join(bindir, "psql"), "-X", "-A", "-t", uri, "-c",
                          "SELECT COUNT(*), COUNT(DISTINCT uid) FROM records"],
                         capture_output=True, text=True)
    return tuple(int(x) for x in out.stdout.strip().split("|")) if out.returncode == 0 else None


def pg_restart(bindir, data):
    cmd = [os.path.join(bindir, "pg_ctl"), "-D", data, "-m", "fast", "-w", "restart"]
    if os.getuid() == 0:
        cmd = ["runuser", "-u", "nobody", "--"] + cmd
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode


def test_pg_restart(binary, tmp, nsd_port, uri, data, bindir):
    d = Daemon(binary, os.path.join(tmp, "pg"), nsd_port, uri)
    os.mkdir(d.tmp)
    d.write_config()
    ok(d.start(), "daemon started with a PostgreSQL store")
    answered = [0]
    send(d, 50, answered)
    deadline = time.time() + 10
    while time.time() < deadline and logged_stored(d.log_text()) < 50:
        time.sleep(0.1)
    ok(logged_stored(d.log_text()) == 50, "the first 50 records are stored")
    # Paced so that the flow outlasts the restart, whatever the machine's
    # speed: records are written while the store is down and after.
    stop = threading.Event()
    flow = threading.Thread(target=send, args=(d, 400, answered, stop, 0.01))
    flow.start()
    while answered[0] < 80 and flow.is_alive():
        time.sleep(0.05)
    ok(pg_restart(bindir, data) == 0, "PostgreSQL restarted while messages flow")
    flow.join(timeout=120)
    ok(answered[0] == 450, "every message answered meanwhile (%d)" % answered[0])
    ok(d.stop() == 0, "SIGTERM: exit status 0")
    text = d.log_text()
    ok("report store unavailable, records wait in memory" in text,
       "the log says the store went away")
    ok("report store available again" in text, "and that it came back")
    ok(pg_count(bindir, uri) == (450, 450), "PostgreSQL holds one record per message: %r"
       % (pg_count(bindir, uri),))


def main():
    binary, tmp, nsd_port, uri, data, bindir = sys.argv[1:7]
    nsd_port = int(nsd_port)
    try:
        test_sigterm(binary, tmp, nsd_port)
        test_kill(binary, tmp, nsd_port)
        if uri:
            test_pg_restart(binary, tmp, nsd_port, uri, data, bindir)
    except (OSError, EOFError) as e:
        ok(False, "protocol exchange failed: %r" % e)
    print("1..%d" % mp.tap.count)
    return 1 if mp.tap.failures else 0


if __name__ == "__main__":
    sys.exit(main())
