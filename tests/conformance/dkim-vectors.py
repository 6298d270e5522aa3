#!/usr/bin/python3
"""DKIM conformance vectors: the RFC 8463 Appendix A example and dkimpy's
signed messages and key records (tests/data/dkim, see its README), verified
by tests/tools/dkimverify with DNS answered from a zone file written here.
Each vector states the result and reason expected for every signature."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

TOP_SRC = os.environ.get("top_srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
TOP_BUILD = os.environ.get("top_builddir", ".")
DATA = os.path.join(TOP_SRC, "tests", "data", "dkim")
VERIFY = os.path.join(TOP_BUILD, "tests", "tools", "dkimverify")
SIGN = os.path.join(TOP_BUILD, "tests", "tools", "dkimsign")

FOOTBALL = "football.example.com"
RFC_KEYS = {"brisbane._domainkey." + FOOTBALL: "rfc8463-brisbane.txt",
            "test._domainkey." + FOOTBALL: "test.txt"}


def rsa_key(name):
    return {"test._domainkey." + FOOTBALL: name}


def altered_body(msg):
    return msg.replace(b"We lost the game", b"We won the game")


def refolded_subject(msg):
    return msg.replace(b"Subject: Is dinner ready?", b"Subject: Is dinner\n ready?")


PASS = ("pass", None)
# (name, message file, mutation, key records {owner: file}, verifier options,
#  expected (result, reason) per signature from the top)
VECTORS = [
    ("RFC 8463 A.3: ed25519-sha256 and rsa-sha256", "rfc6376.signed.msg", None, RFC_KEYS, [],
     [PASS, PASS]),
    ("RFC 8463 A.3: altered body", "rfc6376.signed.msg", altered_body, RFC_KEYS, [],
     [("fail", "body hash mismatch"), ("fail", "body hash mismatch")]),
    ("RFC 8463 A.3: simple/simple refolded Subject", "rfc6376.signed.msg", refolded_subject,
     RFC_KEYS, [], [("fail", "signature mismatch"), ("fail", "signature mismatch")]),
    ("RFC 8463 A.3: no keys published", "rfc6376.signed.msg", None, {}, [],
     [("permerror", "no key"), ("permerror", "no key")]),
    ("RFC 8463 A.3: keys time out", "rfc6376.signed.msg", None, RFC_KEYS,
     ["-f", "brisbane._domainkey." + FOOTBALL, "-f", "test._domainkey." + FOOTBALL],
     [("temperror", "DNS temporary failure"), ("temperror", "DNS temporary failure")]),
    ("RFC 8463 A.3: keys swapped", "rfc6376.signed.msg", None,
     {"brisbane._domainkey." + FOOTBALL: "test.txt",
      "test._domainkey." + FOOTBALL: "rfc8463-brisbane.txt"}, [],
     [("permerror", "inappropriate key algorithm"),
      ("permerror", "inappropriate key algorithm")]),
    ("rsa-sha256, key with k=rsa", "rfc6376.signed.rsa.msg", None, rsa_key("test.txt"), [],
     [PASS]),
    ("rsa-sha256, key without k=", "rfc6376.signed.rsa.msg", None, rsa_key("test2.txt"), [],
     [PASS]),
    ("rsa-sha256, key with a bad v=", "rfc6376.signed.rsa.msg", None, rsa_key("badversion.txt"),
     [], [("permerror", "key syntax error")]),
    ("rsa-sha256, key with an unknown k=", "rfc6376.signed.rsa.msg", None, rsa_key("badk.txt"),
     [], [("permerror", "inappropriate key algorithm")]),
    ("rsa-sha256, key bytes altered", "rfc6376.signed.rsa.msg", None, rsa_key("test_bad.txt"),
     [], [("permerror", "key syntax error")]),
    ("rsa-sha256, another key", "rfc6376.signed.rsa.msg", None,
     rsa_key("1024_testkey_wo_markers.pub.txt"), [], [("fail", "signature mismatch")]),
    ("rsa-sha256, another key as RSAPublicKey", "rfc6376.signed.rsa.msg", None,
     rsa_key("1024_testkey_wo_markers.pub.rsa.txt"), [], [("fail", "signature mismatch")]),
    ("rsa-sha256, 1024-bit key refused below 2048", "rfc6376.signed.rsa.msg", None,
     rsa_key("test.txt"), ["-b", "2048"], [("policy", "key too small")]),
    ("Exim ed25519 prototype", "ed25519test2.msg", None,
     {"sed._domainkey.test.ex": "eximtest.dns"}, [], [PASS]),
    ("Gmail, degenerate folding", "test2.message", None,
     {"20120113._domainkey.gmail.com": "gmail-20120113.txt"}, [], [PASS]),
    ("d= with a parenthesis", "test.message.baddomain", None, rsa_key("test.txt"), [],
     [("permerror", "syntax error: d=")]),
]


def zone_line(owner, text):
    text = text.strip()
    parts = [text[i:i + 200] for i in range(0, len(text), 200)] or [""]
    quoted = " ".join('"%s"' % p.replace("\\", "\\\\").replace('"', '\\"') for p in parts)
    return "%s. 300 IN TXT %s\n" % (owner, quoted)


def verify(tmp, message, keys, args):
    zone = os.path.join(tmp, "zone")
    with open(zone, "w") as f:
        # The signing domain exists whether or not a key is published.
        f.write("$TTL 300\n%s. IN SOA ns.%s. host.%s. 1 3600 600 86400 300\n"
                % (FOOTBALL, FOOTBALL, FOOTBALL))
        for owner, name in keys.items():
            with open(os.path.join(DATA, name)) as k:
                f.write(zone_line(owner, k.read()))
    out = subprocess.run([VERIFY, "-z", zone] + args, input=message, capture_output=True,
                         check=True)
    return [(r["result"], r["reason"]) for r in json.loads(out.stdout)["dkim"]]


def round_trip(tmp):
    """dkimpy's unsigned test.message signed here with its 2048-bit test key
    (PKCS#1 PEM), then verified here against its published form, as signed
    and with a line added to the body."""
    with open(os.path.join(DATA, "test.message"), "rb") as f:
        out = subprocess.run([SIGN, "-d", "example.com", "-s", "test", "-k",
                              os.path.join(DATA, "2048_testkey.key"), "-c", "simple/simple",
                              "-h", "from:to:subject:date:message-id"],
                             stdin=f, capture_output=True, check=True).stdout
    keys = {"test._domainkey.example.com": "2048_testkey_wo_markers.pub.txt"}
    return verify(tmp, out, keys, []) + verify(tmp, out + b"tampered\r\n", keys, [])


def main():
    if not os.access(VERIFY, os.X_OK) or not os.access(SIGN, os.X_OK):
        print("1..0 # SKIP tests/tools not built")
        return 0
    tmp = tempfile.mkdtemp()
    failed = 0
    try:
        print("1..%d" % (len(VECTORS) + 1))
        got = round_trip(tmp)
        want = [PASS, ("fail", "body hash mismatch")]
        print("%sok 1 - test.message signed here with 2048_testkey.key" % ("" if got == want else "not "))
        if got != want:
            failed += 1
            print("# got %s, want %s" % (got, want))
        for n, (name, msgfile, mutate, keys, args, want) in enumerate(VECTORS, 2):
            with open(os.path.join(DATA, msgfile), "rb") as f:
                message = f.read()
            if mutate is not None:
                message = mutate(message)
            got = verify(tmp, message, keys, args)
            if got == want:
                print("ok %d - %s" % (n, name))
            else:
                failed += 1
                print("not ok %d - %s" % (n, name))
                print("# got %s, want %s" % (got, want))
    finally:
        shutil.rmtree(tmp)
    return 1 if failed else 0


sys.exit(main())
