#!/usr/bin/python3
"""authcheck's command-line contract: options, exit codes, JSON and text output.

Runs the built authcheck on the sample message and zone in contrib/sample and
on variants of it made here (altered body, Unix line ends, standard input).
"""
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import threading
import time

top_srcdir = os.environ.get("top_srcdir", ".")
top_builddir = os.environ.get("top_builddir", ".")
authcheck = os.path.join(top_builddir, "milter", "authcheck")
zone = os.path.join(top_srcdir, "contrib", "sample", "example.org.zone")
sample = os.path.join(top_srcdir, "contrib", "sample", "message.eml")
envelope = ["--ip", "192.0.2.25", "--helo", "mail.example.org",
            "--mail-from", "alice@example.org", "--authserv-id", "mx.example.net"]
n = 0
failed = 0


def ok(cond, name, detail=""):
    global n, failed
    n += 1
    print(("ok" if cond else "not ok"), n, "-", name)
    if not cond:
        failed += 1
        for line in str(detail).splitlines()[:20]:
            print("#", line)


def run(args, stdin=None):
    p = subprocess.run([authcheck] + args, input=stdin, capture_output=True)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def check_json(args, stdin=None):
    rc, out, err = run(["--json", "--dns-zone", zone] + args, stdin)
    try:
        return rc, json.loads(out), err
    except ValueError as e:
        return rc, {"unparsable": str(e), "out": out}, err


with open(sample, "rb") as f:
    message = f.read()

for flag in ("-h", "--help"):
    rc, out, err = run([flag])
    ok(rc == 0 and "--dns-zone" in out and err == "", "%s prints the options and exits 0" % flag,
       out)
rc, out, err = run(["--no-such-option"])
ok(rc == 2 and out == "" and "unrecognized option '--no-such-option'" in err
   and "usage: authcheck" in err, "an unknown option exits 2, the usage on stderr", err)
for flag in ("-V", "--version"):
    rc, out, err = run([flag])
    ok(rc == 0 and re.fullmatch(r"authcheck \(authmilter \d+\.\d+\.\d+\)\n", out) is not None,
       "%s prints the version: %r" % (flag, out))
rc, out, err = run(["--dns-fail", "mail2026._domainkey.example.org/TXT", sample])
ok(rc == 2 and err.startswith("authcheck: --dns-fail needs --dns-zone"),
   "--dns-fail without --dns-zone is a usage error", err)
rc, _, err = run(["--dmarc-mode", "rfc1234", sample])
ok(rc == 2 and "rfc9989 or rfc7489" in err, "a bad --dmarc-mode names the choices", err)
rc, _, err = run(["--dns-zone", zone, "/nonexistent/message"])
ok(rc == 2 and "/nonexistent/message" in err, "a missing message file exits 2 naming it", err)
rc, _, err = run(["--dns-server", "127.0.0.1", "--dns-zone", zone, sample])
ok(rc == 2, "--dns-server with --dns-zone is a usage error", err)
rc, _, err = run(["--dns-zone", "/nonexistent/zone", sample])
ok(rc == 2 and "/nonexistent/zone" in err, "a missing zone file exits 2 naming it", err)

rc, j, err = check_json(envelope + [sample])
ok(rc == 0, "the sample message is evaluated", err)
ok(j.get("spf") == {"result": "pass", "domain": "example.org", "scope": "mfrom"},
   "spf object", j)
dk = j.get("dkim", [{}])
ok(len(dk) == 1 and dk[0].get("result") == "pass" and dk[0].get("d") == "example.org"
   and dk[0].get("s") == "mail2026" and dk[0].get("a") == "rsa-sha256", "dkim array", j)
dm = j.get("dmarc", {})
ok(dm.get("result") == "pass" and dm.get("from_domain") == "example.org"
   and dm.get("policy") == "reject" and dm.get("disposition") == "none"
   and dm.get("spf_aligned") is True and dm.get("dkim_aligned") is True, "dmarc object", j)
ok(j.get("authentication_results", "").startswith(
    "Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=alice@example.org; "
    "dkim=pass header.d=example.org"), "authentication_results on one line", j)

try:
    import authres
except ImportError:
    authres = None
if authres is None:
    n += 1
    print("ok", n, "- # SKIP python3-authres not installed")
else:
    try:
        h = authres.AuthenticationResultsHeader.parse(j["authentication_results"])
        got = [(r.method, r.result, sorted((p.type, p.name, p.value) for p in r.properties))
               for r in h.results]
        detail = (h.authserv_id, got)
    except Exception as e:  # the parser's own errors carry no common base class
        h, got, detail = None, None, repr(e)
    ok(h is not None and h.authserv_id == "mx.example.net" and got == [
        ("spf", "pass", [("smtp", "mailfrom", "alice@example.org")]),
        ("dkim", "pass", [("header", "a", "rsa-sha256"), ("header", "d", "example.org"),
                          ("header", "i", "@example.org"), ("header", "s", "mail2026")]),
        ("dmarc", "pass", [("header", "from", "example.org"), ("policy", "dmarc", "reject")]),
    ], "python3-authres reads back the values we meant", detail)

altered = message.replace(b"noon", b"one")
rc, j, err = check_json(["--ip", "203.0.113.7", "--mail-from", "x@forger.example", "-"],
                        altered)
ok(rc == 0 and j["dkim"][0]["result"] == "fail"
   and j["dkim"][0]["reason"] == "body hash mismatch", "altered body: dkim fail, reason", j)
ok(j["spf"]["result"] == "none" and j["spf"]["domain"] == "forger.example",
   "forger's domain has no SPF record", j)
ok(j["dmarc"]["result"] == "fail" and j["dmarc"]["disposition"] == "reject"
   and j.get("action") == "reject", "altered body from elsewhere: dmarc fail, reject", j)

rc, j2, err = check_json(envelope + ["-"], message.replace(b"\r\n", b"\n"))
ok(rc == 0 and j2["dkim"][0]["result"] == "pass",
   "Unix line ends are read as CRLF: still passes", j2)

for mode in ("rfc9989", "rfc7489"):
    rc, j, err = check_json(envelope + ["--dmarc-mode", mode, sample])
    ok(rc == 0 and j["dmarc"]["result"] == "pass" and j["dmarc"]["mode"] == mode,
       "dmarc pass in %s mode" % mode, j)
    rc, j, err = check_json(envelope + ["--dmarc-mode", mode, "--dns-fail",
                                        "_dmarc.example.org/TXT", sample])
    ok(rc == 0 and j["dmarc"]["result"] == "temperror",
       "a DMARC record look-up that times out is temperror (%s)" % mode, j)

rc, j, err = check_json(["--spf-only", "--ip", "198.51.100.1", "--helo", "mail.example.org",
                         "--mail-from", "alice@example.org"])
ok(rc == 0 and j.get("spf", {}).get("result") == "fail" and "dkim" not in j,
   "--spf-only gives only the spf object", j)
rc, j, err = check_json(["--spf-only", "--ip", "192.0.2.25", "--helo", "example.org",
                         "--mail-from", ""])
ok(rc == 0 and j["spf"] == {"result": "pass", "domain": "example.org", "scope": "helo"}
   if "spf" in j else False, "--spf-only with the null sender checks the HELO name", j)

rc, out, err = run(["--dns-zone", zone, "--dns-query", "example.org", "MX"])
ok(rc == 0 and out == "example.org MX: records\nMX 3600 10 mail.example.org.\n",
   "--dns-query prints the records", out + err)
rc, out, err = run(["--dns-zone", zone, "--dns-fail", "example.org/TXT",
                    "--dns-query", "example.org", "TXT"])
ok(rc == 0 and out.startswith("example.org TXT: temporary failure"),
   "--dns-fail makes that name and type time out", out + err)
rc, out, err = run(["--dns-zone", zone, "--dns-query", "example.org", "BOGUS"])
ok(rc == 2, "--dns-query with an unknown type exits 2", out + err)

rc, out, err = run(["--dns-zone", zone] + envelope + [sample])
ok(rc == 0 and out.startswith("Authentication-Results: mx.example.net; spf=pass")
   and "\naction: accept\n" in out, "the readable output: the header, then a line per check",
   out + err)
rc, out, err = run(["--dns-zone", zone] + envelope + ["-"], b"Subject x\r\n\r\nbody\r\n")
ok(rc == 0 and "action: reject 550 5.7.1 Rejected: the From field does not name one author "
   "domain" in out, "a header block that does not parse is judged, not skipped", out + err)
rc, out, err = run(["--dns-zone", zone] + envelope + ["/nonexistent/message"])
ok(rc == 2 and "authcheck: /nonexistent/message:" in err, "an unreadable file exits 2",
   out + err)



def stalled_dns():
    """With every server silent, the look-ups one message needs are made
    together: the message waits about one DNS timeout (2 s by default),
    not one per look-up (five here: SPF, three keys, DMARC)."""
    for _ in range(50):  # a port free for both UDP and TCP
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))
        port = udp.getsockname()[1]
        tcp = socket.socket()
        try:
            tcp.bind(("127.0.0.1", port))
            break
        except OSError:
            udp.close()
            tcp.close()
    tcp.listen(16)
    held = []

    def swallow():
        while True:
            try:
                udp.recvfrom(4096)
            except OSError:
                return

    def hold():
        while True:
            try:
                held.append(tcp.accept()[0])
            except OSError:
                return

    for f in (swallow, hold):
        threading.Thread(target=f, daemon=True).start()
    sigs = b"".join(b"DKIM-Signature: v=1; a=rsa-sha256; d=%s.example; s=s1; h=from; "
                    b"bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\r\n" % d
                    for d in (b"a", b"b", b"c"))
    msg = sigs + b"From: x@sub.d.example\r\nTo: y@example.net\r\nSubject: t\r\n\r\nbody\r\n"
    t0 = time.monotonic()
    rc, out, err = run(["--json", "--dns-server", "127.0.0.1:%d" % port, "--ip", "192.0.2.1",
                        "--mail-from", "a@e.example", "-"], msg)
    elapsed = time.monotonic() - t0
    try:
        j = json.loads(out)
    except ValueError:
        j = {}
    results = [j.get("spf", {}).get("result")] + [d.get("result") for d in j.get("dkim", [])]
    ok(rc == 0 and results == ["temperror"] * 4 and j.get("dmarc", {}).get("result") == "temperror",
       "every server silent: SPF, three keys and DMARC are temperror", out + err)
    ok(elapsed < 5.0, "and the message waited %.1f s, about one timeout, not five" % elapsed)
    udp.close()
    tcp.close()


def sign_tests():
    """--sign signs as the daemon signs its own mail; our verifier and
    dkimpy (python3-dkim) both verify the signature."""
    import base64
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        key = os.path.join(tmp, "ed.key")
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", key],
                       check=True, capture_output=True)
        os.chmod(key, 0o600)
        der = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"],
                             check=True, capture_output=True).stdout
        pub = base64.b64encode(der[-32:]).decode()
        keyzone = os.path.join(tmp, "key.zone")
        with open(keyzone, "w") as f:
            f.write("$ORIGIN example.org.\n$TTL 300\n@ SOA ns h 1 2 3 4 5\n"
                    "ed2026._domainkey TXT \"v=DKIM1; k=ed25519; p=%s\"\n" % pub)
        rc, out, err = run(["--sign", "example.org ed2026 " + key, sample])
        ok(rc == 0 and out.startswith("DKIM-Signature: v=1; a=ed25519-sha256;")
           and "d=example.org; s=ed2026;" in out and out.count("\n") == 1,
           "--sign prints one DKIM-Signature field", out + err)
        signed = out.encode() + message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        rc, j, err = check_json(["--dns-zone", keyzone], signed)
        ok(rc == 0 and [d["result"] for d in j.get("dkim", []) if d.get("s") == "ed2026"]
           == ["pass"], "our verifier passes the signature", j)
        try:
            import dkim

            def dnsfunc(name, timeout=5):
                return ("v=DKIM1; k=ed25519; p=%s" % pub).encode() \
                    if name == b"ed2026._domainkey.example.org." else None
            d = dkim.DKIM(signed)
            ok(d.verify(idx=0, dnsfunc=dnsfunc), "dkimpy verifies it")
        except ImportError:
            ok(True, "# SKIP python3-dkim not installed")
        rc, out, err = run(["--sign", "other.example s " + key, sample])
        ok(rc == 2 and "no --sign entry matches" in err, "no entry for the From domain: exit 2",
           out + err)
        os.chmod(key, 0o644)
        rc, out, err = run(["--sign", "example.org ed2026 " + key, sample])
        ok(rc == 2 and "readable by its group or others" in err,
           "a key others can read is refused", out + err)


def roff_blocks(text, section):
    """The .EX/.EE blocks of a man page section, roff escapes undone."""
    body = text.split(".SH %s\n" % section, 1)[1].split("\n.SH ", 1)[0]
    blocks, cur = [], None
    for line in body.splitlines():
        if line == ".EX":
            cur = []
        elif line == ".EE":
            blocks.append("\n".join(cur))
            cur = None
        elif cur is not None:
            cur.append(line.replace("\\e", "\\").replace("\\-", "-").replace("\\(dq", '"'))
    return blocks


def man_examples():
    """Every command in authcheck(1)'s EXAMPLES runs as printed, in
    contrib/sample, and gives what the page says; OUTPUT shows exactly
    what the first one prints."""
    with open(os.path.join(top_srcdir, "man", "authcheck.1")) as f:
        page = f.read()
    examples = roff_blocks(page, "EXAMPLES")
    ok(len(examples) == 4, "authcheck(1) has four examples (%d)" % len(examples))
    results = []
    for ex in examples:
        argv = shlex.split(ex.replace("\\\n", " "))
        ok(argv[0] == "authcheck", "an example runs authcheck: %s" % ex)
        p = subprocess.run([authcheck] + argv[1:], capture_output=True,
                           cwd=os.path.join(top_srcdir, "contrib", "sample"))
        out = p.stdout.decode("utf-8", "replace").replace("\r\n", "\n")
        ok(p.returncode == 0, "exit 0: %s" % " ".join(argv), p.stderr.decode(errors="replace"))
        results.append(out)
    while len(results) < 4:
        results.append("")
    shown = roff_blocks(page, "OUTPUT")[0]
    ok(results[0] == shown + "\n", "OUTPUT shows what the first example prints",
       results[0] + "---\n" + shown)
    try:
        j = json.loads(results[1])
    except ValueError:
        j = {}
    ok([(d.get("s"), d.get("result")) for d in j.get("dkim", [])] == [("mail2026", "temperror")]
       and j.get("dmarc", {}).get("result") == "pass",
       "the key look-up timed out: DKIM temperror, DMARC passes on SPF", results[1])
    ok(results[2].startswith("mail2026._domainkey.example.org TXT: records\nTXT 3600 "
                             "\"v=DKIM1; k=rsa; p=\" "), "--dns-query shows the key", results[2])
    ok(results[3] == "spf=fail domain=example.org scope=mfrom identity=alice@example.org\n",
       "SPF alone fails for an address outside the domain's networks", results[3])


stalled_dns()
sign_tests()
man_examples()
print("1..%d" % n)
sys.exit(1 if failed else 0)
