#!/usr/bin/python3
"""tools-cli - the test tools answer --help (usage on stdout, exit 0),
--version, and a bad option (usage on stderr, exit 2), as the programs do."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests", "lib"))
from tap import done, ok  # noqa: E402

tools = os.path.join(os.environ.get("top_builddir", "."), "tests", "tools")


def run(*argv):
    p = subprocess.run(list(argv), capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


for name in ("arctool", "dkimsign", "dkimverify", "dmarccheck"):
    path = os.path.join(tools, name)
    if not os.access(path, os.X_OK):
        ok(True, "# SKIP %s not built" % name)
        continue
    rc, out, err = run(path, "--help")
    ok(rc == 0 and out.startswith("usage: %s " % name) and err == "",
       "%s --help: the usage on stdout, exit 0" % name)
    rc, out, err = run(path, "--version")
    ok(rc == 0 and re.fullmatch(r"%s \(authmilter \d+\.\d+\.\d+\)\n" % name, out),
       "%s --version: %r" % (name, out))
    rc, out, err = run(path, "--no-such-option", "x")
    ok(rc == 2 and out == "" and "usage: %s " % name in err,
       "%s with a bad option: the usage on stderr, exit 2 (%d)" % (name, rc))
sys.exit(done())
