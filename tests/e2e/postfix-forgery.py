#!/usr/bin/python3
"""postfix-forgery - forged p=reject mail through a real Postfix and authmilter.

The private Postfix of tests/lib/postfix.sh (smtpd on a free loopback port,
delivery into files) has authmilter, in its default configuration, as its
milter; DNS is tests/lib/forgerylab.py's (nsd behind a forwarder that lets
the forger's own _dmarc record and two key selectors time out).  swaks
sends, from 127.0.0.1, which the forger's SPF passes:

  - the main forgery classes (more header fields than max_headers, a header
    block over max_header_bytes, "From :" with WSP, 60 DKIM-Signature
    fields with long tags, the forger's own DNS timing out, an
    Authentication-Results flood, two From fields): swaks sees
    550 5.7.1 and nothing is delivered;
  - a genuine, signed bank.example message carrying forged fields: it is
    delivered with every one claiming our authserv-id removed, another
    host's kept, and ours on top;
  - a genuine one whose key look-up times out: delivered, dmarc=temperror.

Postfix rewrites "From :" to "From:" before a milter sees it, and ends the
header block at a line that is no field (adding a From of its own), so
those are tested over the milter protocol alone (forgery.py).
"""
import email
import email.policy
import glob
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests", "lib"))
import forgerylab as lab_  # noqa: E402
import milterclient as mc  # noqa: E402
import tap  # noqa: E402

SWAKS = shutil.which("swaks")


def postfix_sh(top_srcdir, script, *args):
    env = dict(os.environ, top_srcdir=top_srcdir)
    return subprocess.run(["sh", "-c", '. "$top_srcdir/tests/lib/postfix.sh" && ' + script,
                           "sh"] + list(args), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=120)


def summaries(d):
    return [line[line.index("client="):] for line in d.log_text().splitlines()
            if ": client=" in line]


def send(port, tmp, case, name):
    """The case through swaks; returns the reply to the end of data."""
    path = os.path.join(tmp, name + ".eml")
    with open(path, "wb") as f:
        f.write(case.raw)
    p = subprocess.run([SWAKS, "--server", "127.0.0.1", "--port", str(port), "--helo",
                        "evil.example", "--from", case.mail_from.strip(b"<>").decode(),
                        "--to", "rcpt@receiver.test", "--data", path],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    after_dot = False
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        if line == " -> .":
            after_dot = True
        elif after_dot and (line.startswith("<- ") or line.startswith("<** ")):
            return line.split(None, 1)[1].strip()
    return None


def delivered(out, msgid):
    """The delivered message with this Message-ID (waits for it)."""
    for _ in range(50):
        for f in glob.glob(os.path.join(out, "*.eml")):
            with open(f, "rb") as fh:
                raw = fh.read()
            if b"\nMessage-ID: <%s@bank.example>" % msgid in raw:
                return raw
        time.sleep(0.2)
    return None


def results(raw):
    """The Authentication-Results values of a delivered message, with LF
    line ends, as a milter sends them."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    return [v.encode("utf-8", "surrogateescape").replace(b"\r\n", b"\n")
            if isinstance(v, str) else v for v in msg.get_all("Authentication-Results") or []]


def refused(d, port, tmp, case, n):
    before = len(summaries(d))
    reply = send(port, tmp, case, "m%d" % n)
    lines = summaries(d)[before:]
    line = lines[0] if len(lines) == 1 else repr(lines)
    if not tap.ok(reply in case.texts, "%s: swaks sees 550 5.7.1" % case.name):
        tap.diag("reply: %r" % reply)
        tap.diag("log: %s" % line)
        return
    want = " %s from=bank.example disposition=reject " % case.log if case.log else " "
    tap.ok(want + "action=reject " in " " + line + " ",
           "%s: logged as rejected%s (%s)" % (case.name, ", " + case.log if case.log else "",
                                             line))


def genuine(d, port, tmp, out, lab):
    good = lab_.genuine_flood_case(lab, 40, msgid=b"pfgenuine", ip="127.0.0.1")
    reply = send(port, tmp, good, "genuine")
    tap.ok(reply is not None and reply.startswith("250 "),
           "%s: accepted (%s)" % (good.name, reply))
    raw = delivered(out, b"pfgenuine")
    if not tap.ok(raw is not None, "%s: delivered" % good.name):
        return
    ars = results(raw)
    ours = lab_.our_results(ars[0]) if ars else None
    tap.ok(ours is not None and ours.get("dkim") == "pass" and ours.get("dmarc") == "pass",
           "%s: ours first, clean, dkim and dmarc pass" % good.name)
    tap.is_([v.strip() for v in ars[1:]], [lab_.OTHER_AR.split(b":", 1)[1].strip()],
            "%s: every forged field removed, another host's kept" % good.name)
    fwd = lab_.forwarded_case(lab, msgid=b"pfforwarded")
    reply = send(port, tmp, fwd, "forwarded")
    tap.ok(reply is not None and reply.startswith("250 "),
           "%s: accepted (%s)" % (fwd.name, reply))
    raw = delivered(out, b"pfforwarded")
    ours = lab_.our_results(results(raw)[0]) if raw and results(raw) else None
    tap.ok(ours is not None and ours.get("dkim") == "temperror" and
           ours.get("dmarc") == "temperror",
           "%s: delivered with dkim and dmarc temperror" % fwd.name)


def cases(lab):
    headers = [c for c in lab_.header_cases() if "no field" not in c.name]
    authors = [c for c in lab_.author_cases() if c.name.startswith("two From")]
    return headers + lab_.dns_cases(lab) + [lab_.flood_case()] + authors


def start(lab, binary, tmp):
    """authmilter as nobody in group postfix, on a socket Postfix can use."""
    os.chmod(tmp, 0o755)
    mdir = os.path.join(tmp, "milter")
    os.mkdir(mdir)
    shutil.chown(mdir, "nobody", "postfix")
    d = mc.Daemon(binary, mdir, args=["-u", "nobody", "-g", "postfix"])
    d.write_config("authserv_id %s\ndns_server 127.0.0.1:%d\ndns_timeout 1s\n"
                   "dns_retries 0\n# The test client connects from 127.0.0.1.\n"
                   "trusted_networks \"\"\nlog_level info\n" % (lab_.AUTHSERV, lab.dns_port))
    if not tap.ok(d.start(), "authmilter starts"):
        tap.diag(d.log_text())
        return None
    return d


def through_postfix(lab, d, tmp):
    top_srcdir = os.environ.get("top_srcdir", ".")
    pdir = os.path.join(tmp, "postfix")
    os.mkdir(pdir)
    p = postfix_sh(top_srcdir, 'postfix_available && postfix_start "$1" "unix:$2" && '
                   'echo "$POSTFIX_PORT"', pdir, d.sock)
    if not tap.ok(p.returncode == 0, "the private Postfix starts"):
        tap.diag(p.stderr.decode("utf-8", "replace"))
        return
    port = int(p.stdout.split()[-1])
    try:
        for n, case in enumerate(cases(lab)):
            refused(d, port, tmp, case, n)
        time.sleep(1)
        tap.is_(os.listdir(os.path.join(pdir, "out")), [], "no refused message was delivered")
        genuine(d, port, tmp, os.path.join(pdir, "out"), lab)
    finally:
        postfix_sh(top_srcdir, 'POSTFIX_DIR=$1 && postfix_stop', pdir)
        if tap.failures:
            with open(os.path.join(pdir, "maillog"), errors="replace") as f:
                tap.diag("Postfix log (end):\n" + "".join(f.readlines()[-30:]))


def run(lab, tmp):
    binary = os.path.join(os.environ.get("top_builddir", "."), "milter", "authmilter")
    d = start(lab, binary, tmp)
    if d is None:
        return
    try:
        through_postfix(lab, d, tmp)
    finally:
        tap.is_(d.stop(), 0, "authmilter exits 0 on SIGTERM")
        if tap.failures:
            tap.diag("authmilter log (end):\n" + d.log_text()[-3000:])


if __name__ == "__main__":
    if postfix_sh(os.environ.get("top_srcdir", "."), "postfix_available").returncode != 0:
        tap.skip_all("postfix not installed, or not root")
    if SWAKS is None:
        tap.skip_all("swaks not installed")
    sys.exit(lab_.run_tests("postfix-forgery-", run))
