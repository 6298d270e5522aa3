#!/usr/bin/python3
"""soak - a long run of both daemons, clients cutting in, under the sanitizers.

    soak.py -b BUILDDIR [-n MESSAGES] [-c CLIENTS] [--cut PERCENT]
            [--smtp PERCENT] [--time-limit SECONDS] [--seed N] [--samples FILE]

Starts nsd with the zones of tests/lib/faultlab.py (TTL 300, so the DNS
cache works as in production), the milter daemon on a unix socket and the
SMTP listener relaying to Postfix's smtp-sink, both from BUILDDIR (build
it with the sanitizers, as tests/run-all.sh does, for the leak check to
mean anything; README.md says how).  CLIENTS processes (default 8) then
send MESSAGES messages (default 200,000), the six of faultlab.MESSAGES in
turn, SMTP's share (default 50 %) through the listener, the rest over the
milter protocol (one to three messages per connection, as an MTA sends a
session's messages); PERCENT of the connections (default 5) are cut by the
client at a random point: any packet or inside one, FIN or reset, for SMTP
after the greeting, EHLO, MAIL, RCPT, inside DATA or right after the dot.

Every message not cut must get its verdict (our Authentication-Results
over the milter protocol, or the refusal; 250 or the refusal over SMTP).
The daemons' RSS is sampled every second; after the warm-up (the first 20 %
of the messages) it must stay within 16 MiB (or 10 %) of where it was.
At the end both get SIGTERM and must exit 0 with no sanitizer report and
no error or warning in their logs (LeakSanitizer checks at exit; the
first lines of a report are printed).  The whole must finish within
SECONDS (default 900).  Prints the figures;
exit status 0 when all of that holds.  Run with Debian's /usr/bin/python3.
"""
import argparse
import collections
import multiprocessing
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import milterclient as mc  # noqa: E402

WARMUP = 0.2
RSS_SLACK_KB = 16 * 1024
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "SUMMARY: UndefinedBehaviorSanitizer")


def setup_paths(builddir, srcdir):
    # Read when smtptest is imported: where the programs are.
    os.environ["top_builddir"] = builddir
    os.environ["top_srcdir"] = srcdir


# ---- the clients (each in a process of its own) ----

class Cut(Exception):
    pass


def cut_close(s, rnd):
    if rnd.random() < 0.3:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    raise Cut()


def milter_eom(s):
    """The verdict: the A-R value inserted, or the final reply."""
    acts = mc.read_final(s)
    cmd, data = mc.final(acts)
    if cmd != mc.SMFIR_CONTINUE:
        return data.rstrip(b"\0")
    ours = mc.inserted(acts, b"Authentication-Results")
    return ours[0][1] if len(ours) == 1 else b"A-R fields: %r" % ours


def milter_session(job, rnd, cut):
    """One milter connection with one to three messages from one client
    address; returns their verdicts as bytes (a cut one is not returned)."""
    sock, optneg, msgs = job["sock"], job["optneg"], job["milter"]
    ip = rnd.choice(sorted({m[0] for m in msgs}))
    group = [i for i, m in enumerate(msgs) if m[0] == ip]
    picks = [rnd.choice(group) for _ in range(rnd.randint(1, 3))]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(sock)
    out = []
    try:
        stream = [optneg + msgs[picks[0]][1]] + [msgs[i][2] for i in picks]
        where = rnd.randrange(sum(len(x) for x in stream)) if cut else None
        s.sendall(optneg)
        if where is not None and where < len(optneg):
            cut_close(s, rnd)
        mc.read_packet(s)
        data = msgs[picks[0]][1]
        if where is not None and where < len(stream[0]):
            s.sendall(data[:where - len(optneg)])
            cut_close(s, rnd)
        s.sendall(data)
        sent = len(stream[0])
        for i in picks:
            data = msgs[i][2]
            if where is not None and sent <= where < sent + len(data):
                s.sendall(data[:where - sent])
                cut_close(s, rnd)
            s.sendall(data)
            sent += len(data)
            out.append((i, milter_eom(s)))
        s.sendall(mc.packet(mc.SMFIC_QUIT))
    finally:
        s.close()
    return out


def smtp_reply(f):
    line = f.readline()
    while line[3:4] == b"-":
        line = f.readline()
    if not line:
        raise EOFError("closed")
    return line.rstrip(b"\r\n")


SMTP_CUTS = ("greeting", "ehlo", "mail", "rcpt", "data", "dot")


def smtp_session(job, rnd, cut):
    i = rnd.randrange(len(job["smtp"]))
    ip, mail_from, data = job["smtp"][i]
    where = rnd.choice(SMTP_CUTS) if cut else None
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(60)
    s.bind(("127.0.0.3", 0))
    s.connect(("127.0.0.1", job["port"]))
    f = s.makefile("rb")
    try:
        smtp_reply(f)
        if where == "greeting":
            cut_close(s, rnd)
        s.sendall(b"EHLO proxy.test\r\n")
        smtp_reply(f)
        s.sendall(b"XCLIENT ADDR=%s HELO=client.example\r\n" % ip)
        smtp_reply(f)
        if where == "ehlo":
            s.sendall(b"EHLO client.example\r\n")
            cut_close(s, rnd)
        s.sendall(b"EHLO client.example\r\nMAIL FROM:<%s>\r\n" % mail_from)
        if where == "mail":
            cut_close(s, rnd)
        s.sendall(b"RCPT TO:<rcpt@mx.faults.test>\r\n")
        if where == "rcpt":
            cut_close(s, rnd)
        s.sendall(b"DATA\r\n")
        for _ in range(4):
            smtp_reply(f)
        if where == "data":
            s.sendall(data[:rnd.randrange(len(data))])
            cut_close(s, rnd)
        s.sendall(data + b".\r\n")
        if where == "dot":
            cut_close(s, rnd)
        reply = smtp_reply(f)
        s.sendall(b"QUIT\r\n")
        smtp_reply(f)
    finally:
        f.close()
        s.close()
    return [(i, reply)]


def client(job):
    """Sends job["count"] messages; returns a Counter of outcomes and a
    few examples of wrong ones."""
    rnd = random.Random(job["seed"])
    tally, wrong = collections.Counter(), []
    done = 0
    while done < job["count"] and time.monotonic() < job["deadline"]:
        cut = rnd.random() < job["cut"]
        via = "smtp" if rnd.random() < job["smtp_share"] else "milter"
        try:
            results = (smtp_session if via == "smtp" else milter_session)(job, rnd, cut)
        except Cut:
            tally["cut " + via] += 1
            done += 1
            continue
        except (OSError, EOFError) as e:
            tally["error " + via] += 1
            if len(wrong) < 5:
                wrong.append("%s: %r" % (via, e))
            done += 1
            continue
        for i, got in results:
            want = job["want_" + via][i]
            if got == want or (want == b"250" and got[:4] == b"250 "):
                tally["right " + via] += 1
            else:
                tally["wrong " + via] += 1
                if len(wrong) < 5:
                    wrong.append("%s: %r, want %r" % (via, got[:200], want[:200]))
        done += len(results)
        with job["progress"].get_lock():
            job["progress"].value += len(results)
    return tally, wrong


# ---- the run ----

def reference_verdicts(fl, front_milter, lab):
    """What each message gets over the milter protocol, as bytes, taken once
    with milterclient and checked against the message's known verdict."""
    out = []
    for n, msg in enumerate(lab.messages):
        m = mc.Milter(front_milter.sock)
        m.negotiate()
        m.connect(ip=msg.ip, host=("[%s]" % msg.ip).encode())
        m.step(mc.SMFIC_HELO, b"client.example\0", mc.SMFIP_NR_HELO)
        headers, body = mc.fields(msg.raw)
        acts = m.message(headers, body=body, sender=("<%s>" % msg.mail_from).encode(),
                         queue_id=b"REF%d" % n, rcpt=b"<rcpt@mx.faults.test>")
        m.close()
        if mc.final(acts)[0] == mc.SMFIR_CONTINUE:
            value = mc.inserted(acts, b"Authentication-Results")[0][1]
            if fl.our_results(value) != msg.want:
                raise RuntimeError("%s: %s, want %s" % (msg.name, fl.our_results(value),
                                                        msg.want))
            out.append(value)
        else:
            if mc.reply_text(acts) != msg.want:
                raise RuntimeError("%s: %s, want %s" % (msg.name, mc.reply_text(acts),
                                                        msg.want))
            out.append(mc.final(acts)[1].rstrip(b"\0"))
    return out


def smtp_want(msg):
    """250 (whatever its text) when accepted, else the refusal."""
    return b"250" if not msg.want.startswith("550") else msg.want.encode()


def start_sink(tmp):
    import smtptest
    port = smtptest.free_port()
    args = ["/usr/sbin/smtp-sink"] + (["-u", "nobody"] if os.geteuid() == 0 else []) + \
        ["127.0.0.1:%d" % port, "256"]
    sink = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(
        os.path.join(tmp, "smtp-sink.log"), "w"))
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return sink, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("smtp-sink did not start")


def daemon_env():
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "abort_on_error=1:detect_leaks=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    return env


def start_daemons(lab, tmp, sink_port):
    import smtptest
    os.environ.update(daemon_env())
    milter = mc.Daemon(smtptest.AUTHMILTER, os.path.join(tmp, "milter"))
    os.mkdir(milter.tmp)
    milter.write_config(lab.config(tempfail_ttl=30))
    if not milter.start():
        raise RuntimeError("the milter daemon did not start: " + milter.log_text())
    port = smtptest.free_port()
    smtp = smtptest.Daemon(tmp, "smtp", port, lab.config(
        "next_hop smtp:127.0.0.1:%d\nsmtp_trusted_proxies 127.0.0.3\nreport_store sqlite:%s\n"
        % (sink_port, os.path.join(tmp, "smtp.db")), tempfail_ttl=30))
    return milter, smtp, port


def sample(fl, procs, progress, until, samples, pool_result):
    while not pool_result.ready() and time.monotonic() < until:
        samples.append((progress.value,) + tuple(fl.rss_kb(p.pid) for p in procs))
        pool_result.wait(1)


def rss_verdict(samples, total, name, col):
    """(ok, text) for one daemon's RSS after the warm-up."""
    after = [s[col] for s in samples if s[0] >= total * WARMUP]
    if len(after) < 2:
        return False, "%s: too few RSS samples after the warm-up" % name
    base, end, top = after[0], after[-1], max(after)
    slack = max(RSS_SLACK_KB, base // 10)
    return top - base <= slack, (
        "%s RSS: %.1f MiB at start, %.1f MiB after the warm-up, %.1f MiB at the end, "
        "at most %.1f MiB after the warm-up" % (name, samples[0][col] / 1024.0, base / 1024.0,
                                                end / 1024.0, top / 1024.0))


def log_problems(text):
    return [line for line in text.splitlines()
            if "[error]" in line or "[warning]" in line or
            any(m in line for m in SANITIZER_MARKS)]


def sanitizer_report(text, most=80):
    """The first sanitizer report in a log, its first lines: a failure
    that shows up once in a long run must say where it came from."""
    lines = text.splitlines()
    for n, line in enumerate(lines):
        if any(m in line for m in SANITIZER_MARKS):
            return lines[n:n + most]
    return []


def run(args):
    import faultlab as fl
    why = fl.missing()
    if why:
        print("soak: " + why, file=sys.stderr)
        return 2
    t_start = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="soak-")
    lab = sink = milter = smtp = None
    failures = []
    try:
        lab = fl.Lab(tmp, proxy=False, ttl=300)
        sink, sink_port = start_sink(tmp)
        milter, smtp, port = start_daemons(lab, tmp, sink_port)
        want_milter = reference_verdicts(fl, milter, lab)
        optneg = mc.packet(mc.SMFIC_OPTNEG,
                           struct.pack("!III", 6, mc.ALL_ACTIONS, mc.ALL_PROTOCOL))
        milter_msgs, smtp_msgs = [], []
        for n, msg in enumerate(lab.messages):
            headers, body = mc.fields(msg.raw)
            pk = mc.packets(headers, body, sender=("<%s>" % msg.mail_from).encode(),
                            queue_id=b"SOAK%d" % n, rcpt=b"<rcpt@mx.faults.test>", ip=msg.ip,
                            helo=b"client.example")
            # The connection's packets, then the message's.
            milter_msgs.append((msg.ip, b"".join(p for st, p in pk[:2]),
                                b"".join(p for st, p in pk[2:])))
            smtp_msgs.append((msg.ip.encode(), msg.mail_from.encode(), msg.raw))
        progress = multiprocessing.Value("l", 0)
        deadline = t_start + args.time_limit
        per = [args.messages // args.clients + (1 if i < args.messages % args.clients else 0)
               for i in range(args.clients)]
        jobs = [{"sock": milter.sock, "port": port, "optneg": optneg, "milter": milter_msgs,
                 "smtp": smtp_msgs, "want_milter": want_milter,
                 "want_smtp": [smtp_want(m) for m in lab.messages], "count": per[i],
                 "seed": args.seed * 1000 + i, "cut": args.cut / 100.0,
                 "smtp_share": args.smtp / 100.0, "deadline": deadline,
                 "progress": progress} for i in range(args.clients)]
        samples = []
        t0 = time.monotonic()
        with multiprocessing.get_context("fork").Pool(args.clients, initializer=_init,
                                                      initargs=(progress,)) as pool:
            res = pool.map_async(_client, [dict(j, progress=None) for j in jobs])
            sample(fl, [milter.proc, smtp.proc], progress, deadline + 60, samples, res)
            outcomes = res.get(60)
        took = time.monotonic() - t0
        if args.samples:
            with open(args.samples, "w") as f:
                f.writelines("%d %d %d\n" % smp for smp in samples)
        tally, wrong = collections.Counter(), []
        for t, w in outcomes:
            tally.update(t)
            wrong += w
        sent = sum(tally.values())
        rss = [rss_verdict(samples, args.messages, "milter daemon", 1),
               rss_verdict(samples, args.messages, "SMTP listener", 2)]
        statuses = (milter.stop(), smtp.stop())
        milter_problems = log_problems(milter.log_text())
        smtp_problems = log_problems(smtp.text())
        print("soak: %d messages in %.0f s (%.0f a second), %d clients, %d%% cut, %d%% SMTP"
              % (sent, took, sent / took if took else 0, args.clients, args.cut, args.smtp))
        for k in sorted(tally):
            print("  %-14s %d" % (k, tally[k]))
        for line in wrong:
            print("  e.g. " + line)
        for good, text in rss:
            print("  " + text)
        print("  exit status: milter daemon %s, SMTP listener %s" % statuses)
        print("  log lines with an error, a warning or a sanitizer report: %d milter, %d SMTP"
              % (len(milter_problems), len(smtp_problems)))
        for line in (milter_problems + smtp_problems)[:10]:
            print("    " + line)
        for line in sanitizer_report(milter.log_text()) + sanitizer_report(smtp.text()):
            print("    | " + line)
        if sent < args.messages:
            failures.append("only %d of %d messages sent in time" % (sent, args.messages))
        if tally["wrong milter"] or tally["wrong smtp"] or tally["error milter"] or \
                tally["error smtp"]:
            failures.append("messages answered wrongly or not at all")
        failures += [text for good, text in rss if not good]
        if statuses != (0, 0):
            failures.append("a daemon did not exit 0")
        if milter_problems or smtp_problems:
            failures.append("problems logged")
    except (OSError, EOFError, RuntimeError) as e:
        failures.append("soak: %r" % e)
    finally:
        for d in (milter, smtp):
            if d is not None:
                d.stop()
        if sink is not None:
            sink.terminate()
            sink.wait()
        if lab is not None:
            lab.stop()
        if os.environ.get("SOAK_KEEP"):
            print("soak: kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("soak: %.0f s in all; %s" % (time.monotonic() - t_start,
                                       "; ".join(failures) if failures else "all held"))
    return 1 if failures else 0


def _init(progress):
    # The shared counter cannot travel in the job; each worker gets it here.
    global _progress
    _progress = progress


def _client(job):
    job["progress"] = _progress
    return client(job)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="Soak both daemons with clients that cut in.")
    ap.add_argument("-b", "--builddir", default=".", help="holds milter/authmilter")
    ap.add_argument("-n", "--messages", type=int, default=200000)
    ap.add_argument("-c", "--clients", type=int, default=8)
    ap.add_argument("--cut", type=float, default=5, metavar="PERCENT")
    ap.add_argument("--smtp", type=float, default=50, metavar="PERCENT")
    ap.add_argument("--time-limit", type=float, default=900, metavar="SECONDS")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--samples", metavar="FILE",
                    help="write the RSS samples there (messages, milter KiB, SMTP KiB)")
    args = ap.parse_args()
    setup_paths(os.path.abspath(args.builddir), os.path.abspath(os.path.join(here, "..", "..")))
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
