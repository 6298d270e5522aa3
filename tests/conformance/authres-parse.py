"""Reads back every Authentication-Results value our writer produces with
python3-authres (an independent RFC 8601 parser) and checks that it sees the
authserv-id, methods, results, reasons and properties we meant.

The sample headers come from tests/unit/test-authres, which writes each one
it checks to a file.  Prints TAP.
"""
import os
import subprocess
import sys
import tempfile

try:
    import authres
except ImportError:
    print("1..0 # SKIP python3-authres is not installed")
    sys.exit(0)

ID = "mx.example.net"

# name -> list of (method, result, reason, [(ptype, property, value)])
EXPECT = {
    "no results": [],
    "spf mailfrom": [("spf", "pass", None, [("smtp", "mailfrom", "alice@example.com")])],
    "spf helo with comment": [("spf", "none", None, [("smtp", "helo", "mail.example.org")])],
    "spf quoted local-part and reason": [
        ("spf", "fail", "not permitted", [("smtp", "mailfrom", '"odd user"@example.com')])],
    "spf local-part with specials gets quoted": [
        ("spf", "pass", None, [("smtp", "mailfrom", '"odd \\"user"@x.example')])],
    "a value that is no token and no address": [
        ("x-test", "pass", None, [("header", "x", "a;b c")])],
    "dkim one signature": [
        ("dkim", "pass", None, [("header", "d", "example.com"), ("header", "s", "sel1"),
                                ("header", "i", "@example.com"), ("header", "a", "rsa-sha256")])],
    "dkim two signatures with header.b": [
        ("dkim", "pass", None, [("header", "d", "example.com"), ("header", "s", "sel1"),
                                ("header", "b", "ab/d+f=h")]),
        ("dkim", "fail", "signature did not verify",
         [("header", "d", "example.com"), ("header", "s", "sel1"), ("header", "b", "Zb0d1f2h")])],
    "dmarc fail": [
        ("dmarc", "fail", None, [("header", "from", "example.com"), ("policy", "dmarc", "reject")])],
    "dmarc fail sampled out, then lowered locally": [
        ("dmarc", "fail", None,
         [("header", "from", "example.com"), ("policy", "dmarc", "quarantine")])],
    "dmarc none": [("dmarc", "none", "no DMARC record", [("header", "from", "example.org")])],
    "spf and dmarc": [
        ("spf", "pass", None, [("smtp", "mailfrom", "bounces@mail.example.com")]),
        ("dmarc", "pass", None, [("header", "from", "example.com"), ("policy", "dmarc", "none")])],
    "control characters cannot break the field": [
        ("spf", "pass", None, [("smtp", "helo", "evil??X-Injected: 1")])],
}

# python3-authres implements RFC 8601's ASCII grammar, not the UTF-8
# headers of RFC 6532, so it cannot read these.
UNSUPPORTED = {"UTF-8 local-part is quoted": "python3-authres does not accept RFC 6532 UTF-8"}


def seen(header):
    return [(r.method, r.result, r.reason,
             [(p.type, p.name, p.value) for p in r.properties]) for r in header.results]


def main():
    builddir = os.environ.get("top_builddir", ".")
    tool = os.path.join(builddir, "tests", "unit", "test-authres")
    if not os.access(tool, os.X_OK):
        print("1..0 # SKIP %s is not built" % tool)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "samples")
        subprocess.run([tool, path], stdout=subprocess.DEVNULL, check=False)
        with open(path, encoding="utf-8") as f:
            text = f.read()
    samples = [rec.split("\n", 1) for rec in text.split("\n--\n") if rec.strip()]
    print("1..%d" % len(samples))
    failed = 0
    for n, (name, field) in enumerate(samples, 1):
        if name in UNSUPPORTED:
            print("ok %d - %s # SKIP %s" % (n, name, UNSUPPORTED[name]))
            continue
        try:
            h = authres.AuthenticationResultsHeader.parse(field.rstrip("\n"))
            got = (h.authserv_id, seen(h))
        except Exception as e:  # noqa: BLE001 - any parse failure is a test failure
            got = ("parse error", str(e))
        want = (ID, EXPECT.get(name, "no expectation for this sample"))
        if got == want:
            print("ok %d - %s" % (n, name))
        else:
            failed += 1
            print("not ok %d - %s" % (n, name))
            print("# got  %r" % (got,))
            print("# want %r" % (want,))
    return 1 if failed else 0


sys.exit(main())
