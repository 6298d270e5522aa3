#!/usr/bin/python3
"""authreport-cli - authreport's command line: -h and -V, usage errors, the
daemon's config file read whole (the listener's keys too), and an exit
status after sysexits(3) for each kind of failure."""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests", "lib"))
from tap import done, ok  # noqa: E402

top_srcdir = os.environ.get("top_srcdir", ".")
authreport = os.path.join(os.environ.get("top_builddir", "."), "milter", "authreport")
DAY = 1795564800  # 2026-11-24 00:00:00 UTC


def run(*args):
    p = subprocess.run([authreport] + list(args), capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def main():
    for flag in ("-h", "--help"):
        rc, out, err = run(flag)
        ok(rc == 0 and out.startswith("usage: authreport") and err == "",
           "%s: the usage on stdout, exit 0" % flag)
    for flag in ("-V", "--version"):
        rc, out, err = run(flag)
        ok(rc == 0 and re.fullmatch(r"authreport \(authmilter \d+\.\d+\.\d+\)\n", out),
           "%s prints the version: %r" % (flag, out))
    rc, out, err = run("--bogus")
    ok(rc == 2 and out == "" and "usage: authreport" in err, "a bad option: usage on stderr, 2")
    rc, out, err = run("bogus")
    ok(rc == 2 and err.startswith("authreport: unknown command bogus\n"),
       "an unknown command is named: %r" % err[:60])

    with tempfile.TemporaryDirectory(prefix="authreport-cli-") as tmp:
        db = os.path.join(tmp, "reports.db")
        conf = os.path.join(tmp, "authmilter.conf")
        with open(conf, "w") as f:
            f.write("authserv_id mx.receiver.test\nreport_store sqlite:%s\n"
                    "report_domain receiver.test\n"
                    "# the listener's keys, as the daemon's file may have them\n"
                    "smtp_listen 2525\nmaildir %s/mail\n" % (db, tmp))
        rc, out, err = run("-c", conf, "stats", "--from", str(DAY))
        ok(rc == 0 and out.startswith("policy domain "),
           "the daemon's config, listener keys and all, reads: %d %s" % (rc, err))
        rc, out, err = run("-c", conf, "-o", "Report_Store=sqlite:/x", "stats")
        ok(rc == 78 and err == 'authreport: unknown key "Report_Store"; did you mean '
           '"report_store"?\n', "a wrong-case key: EX_CONFIG, and the key meant: %r" % err)
        rc, out, err = run("-c", os.path.join(tmp, "missing.conf"), "stats")
        ok(rc == 78 and "missing.conf: No such file or directory" in err,
           "a config file named but missing: EX_CONFIG")
        rc, out, err = run("-c", conf, "-o", "report_store=sqlite:/nonexistent/dir/r.db", "stats")
        ok(rc == 69 and err.startswith("authreport: the report store: "),
           "a store that cannot be opened: EX_UNAVAILABLE: %d %r" % (rc, err))
        fill = subprocess.run(["/usr/bin/python3", os.path.join(top_srcdir, "tests", "e2e",
                                                                "report-fill.py"), db, str(DAY)])
        ok(fill.returncode == 0, "records written into the store")
        rc, out, err = run("-c", conf, "generate", "--from", str(DAY), "--out",
                           os.path.join(tmp, "no-such-dir"))
        ok(rc == 73 and "cannot write" in err,
           "a report file that cannot be written: EX_CANTCREAT: %d %r" % (rc, err[:80]))
        os.mkdir(os.path.join(tmp, "out"))
        rc, out, err = run("-c", conf, "generate", "--from", str(DAY), "--out",
                           os.path.join(tmp, "out"))
        ok(rc == 0 and len(os.listdir(os.path.join(tmp, "out"))) == 2,
           "and written where it can be: %d %r" % (rc, err))
        rc, out, err = run("-c", conf, "-o", "report_email=nodomain", "send")
        ok(rc == 78 and "report_email nodomain has no domain" in err,
           "send with a report_email that cannot send: EX_CONFIG: %d %r" % (rc, err))
    return done()


if __name__ == "__main__":
    sys.exit(main())
