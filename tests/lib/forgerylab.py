"""forgerylab - forged p=reject mail and the DNS it is judged against, for
the end-to-end tests (over the milter protocol and through Postfix).

bank.example publishes p=reject; the forger owns evil.example, whose SPF
passes 203.0.113.9 (and 127.0.0.1, where Postfix's client comes from) and
whose DKIM key it holds, so it can authenticate everything but
bank.example.  forwarder.example is a relay that passes SPF for
198.51.100.0/24.  nsd serves all of it (one zone, "example"); a dnsfault
forwarder in front of nsd makes the forger's own _dmarc record, a key
selector of the forger's and one of the bank's time out.

    lab = Lab(tmp, top_srcdir, top_builddir); lab.start()  ... lab.stop()
        (zone_extra: more lines for the zone, in its $ORIGIN example.)
    lab.dns_port                    where the daemon asks
    lab.sign(raw, domain, selector) a DKIM-signed copy (tests/tools/dkimsign)
    header_cases(), envelope_cases(), author_cases(), from_syntax_cases(),
    flood_case(), unsigned_from_case(lab), dns_cases(lab): forged messages;
    forwarded_case(lab), genuine_flood_case(lab, n): genuine ones (Case)
    our_results(value)              our Authentication-Results, parsed
    sys.exit(run_tests(prefix, body, zone_extra=""))  body(lab, tmp) in a started lab
"""
import base64
import os
import re
import shutil
import subprocess
import tempfile

import tap

try:
    import authres
except ImportError:
    authres = None

AUTHSERV = "mx.test"
FORGER_IP = "203.0.113.9"
FORGER_FROM = b"<attacker@evil.example>"
FORGED_AR = b"Authentication-Results: mx.test; dmarc=pass header.from=bank.example\r\n"
DMARC_TEXT = "550 5.7.1 Rejected by DMARC policy for bank.example"
FROM_TEXT = "550 5.7.1 Rejected: the From field does not name one author domain"
AR_TEXT = ("550 5.7.1 Rejected: an Authentication-Results field claiming this host's "
           "authserv-id cannot be removed")
REFUSALS = (DMARC_TEXT, FROM_TEXT, AR_TEXT)
SLOW_NAMES = ["_dmarc.evil.example/TXT", "slowkey._domainkey.evil.example/TXT",
              "slowkey._domainkey.bank.example/TXT"]

ZONE = """$ORIGIN example.
$TTL 300
@ IN SOA ns.example. hostmaster.example. 1 3600 600 86400 300
@ IN NS ns.example.
ns IN A 127.0.0.1
bank IN TXT "v=spf1 ip4:192.0.2.0/25 -all"
_dmarc.bank IN TXT "v=DMARC1; p=reject"
sel._domainkey.bank IN TXT "v=DKIM1; k=ed25519; p={bank}"
slowkey._domainkey.bank IN TXT "v=DKIM1; k=ed25519; p={bank}"
evil IN TXT "v=spf1 ip4:203.0.113.0/24 ip4:127.0.0.1 -all"
_dmarc.evil IN TXT "v=DMARC1; p=none"
sel._domainkey.evil IN TXT "v=DKIM1; k=ed25519; p={evil}"
slowkey._domainkey.evil IN TXT "v=DKIM1; k=ed25519; p={evil}"
forwarder IN TXT "v=spf1 ip4:198.51.100.0/24 -all"
"""


def run_tests(prefix, body, zone_extra=""):
    """Skips when what the lab needs is missing; else starts it in a
    temporary directory, runs body(lab, tmp), stops it, and returns the
    exit status of the TAP run."""
    top_srcdir = os.environ.get("top_srcdir", ".")
    top_builddir = os.environ.get("top_builddir", ".")
    if missing(top_builddir):
        tap.skip_all(missing(top_builddir))
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        lab = Lab(tmp, top_srcdir, top_builddir, zone_extra)
        try:
            err = lab.start()
            if err:
                print("Bail out! %s" % err)
                return 1
            body(lab, tmp)
        except (OSError, EOFError) as e:
            tap.ok(False, "protocol exchange failed: %r" % e)
        finally:
            lab.stop()
    return tap.done()


def missing(top_builddir):
    """Why the lab cannot run here, or None."""
    for prog in (os.path.join(top_builddir, "milter", "authmilter"),
                 os.path.join(top_builddir, "tests", "tools", "dkimsign")):
        if not os.access(prog, os.X_OK):
            return "%s not built" % prog
    if authres is None:
        return "python3-authres not installed"
    if not os.access(os.environ.get("NSD") or "/usr/sbin/nsd", os.X_OK):
        return "nsd not installed"
    if shutil.which("openssl") is None:
        return "openssl not installed"
    return None


class Case:
    """One message and its envelope.  forged: how many Authentication-Results
    fields from the top claim our authserv-id (deleted bottom first);
    wsp: its field names have WSP before the colon; texts: the replies
    that refuse it (each a 550 5.7.1); dmarc: the result our
    Authentication-Results gives when the message is let through
    (report_only), None when it gives none (no author domain); hidden: a
    field claiming our authserv-id hides in another, so it cannot be
    deleted and the message is refused even then; log: what the summary
    line says of DKIM and DMARC, when the case is about them."""

    def __init__(self, name, raw, ip=FORGER_IP, mail_from=FORGER_FROM, forged=1,
                 wsp=False, texts=REFUSALS, dmarc="fail", hidden=False, log=None):
        self.name, self.raw, self.ip, self.mail_from = name, raw, ip, mail_from
        self.forged, self.wsp, self.texts = forged, wsp, texts
        self.dmarc, self.hidden, self.log = dmarc, hidden, log

    def deletions(self):
        """The SMFIR_CHGHEADER requests expected: bottom first."""
        return [(i, b"Authentication-Results", b"") for i in range(self.forged, 0, -1)]


def _sh(top_srcdir, script, *args):
    env = dict(os.environ, top_srcdir=top_srcdir)
    return subprocess.run(["sh", "-c", script, "sh"] + list(args), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)


class Lab:
    def __init__(self, tmp, top_srcdir, top_builddir, zone_extra=""):
        self.tmp, self.top_srcdir, self.zone_extra = tmp, top_srcdir, zone_extra
        self.dkimsign = os.path.join(top_builddir, "tests", "tools", "dkimsign")
        self.nsd_dir = None
        self.fault = None
        self.dns_port = None

    def _key(self, name):
        path = os.path.join(self.tmp, name + ".key")
        subprocess.run(["openssl", "genpkey", "-algorithm", "ED25519", "-out", path],
                       check=True, capture_output=True)
        der = subprocess.run(["openssl", "pkey", "-in", path, "-pubout", "-outform", "DER"],
                             check=True, capture_output=True).stdout
        # RFC 8463 §4.2: p= is the raw 32-byte key, the end of the SPKI.
        return path, base64.b64encode(der[-32:]).decode()

    def start(self):
        """Keys, zone, nsd, the forwarder; returns an error text or None."""
        self.keys = {}
        pubs = {}
        for d in ("bank", "evil"):
            self.keys[d + ".example"], pubs[d] = self._key(d)
        zones = os.path.join(self.tmp, "zones")
        os.mkdir(zones)
        with open(os.path.join(zones, "example.zone"), "w") as f:
            f.write(ZONE.format(**pubs) + self.zone_extra)
        p = _sh(self.top_srcdir, '. "$top_srcdir/tests/lib/nsd.sh" && nsd_start "$1" && '
                'echo "$NSD_PORT $NSD_DIR"', zones)
        if p.returncode != 0:
            return "nsd did not start: " + p.stderr.decode("utf-8", "replace")
        port, self.nsd_dir = p.stdout.decode().split()
        self.fault_log = os.path.join(self.tmp, "dnsfault.log")
        with open(self.fault_log, "wb") as log:
            args = [os.path.join(self.top_srcdir, "tests", "lib", "dnsfault.py"),
                    "--upstream", port]
            for n in SLOW_NAMES:
                args += ["--drop", n]
            self.fault = subprocess.Popen(["/usr/bin/python3"] + args, stdout=subprocess.PIPE,
                                          stderr=log)
        line = self.fault.stdout.readline().strip()
        if not line.isdigit():
            return "the DNS forwarder did not start"
        self.dns_port = int(line)
        return None

    def stop(self):
        if self.fault is not None:
            self.fault.terminate()
            self.fault.wait()
            self.fault = None
        if self.nsd_dir:
            _sh(self.top_srcdir, '. "$top_srcdir/tests/lib/nsd.sh" && NSD_DIR=$1 && nsd_stop',
                self.nsd_dir)
            self.nsd_dir = None

    def dropped(self):
        """The queries the forwarder let time out, as "name/TYPE"."""
        with open(self.fault_log) as f:
            return [line.split()[1] for line in f if line.startswith("dropped ")]

    def sign(self, raw, domain, selector, headers="from:to:subject:date:message-id",
             oversign=None):
        extra = [] if oversign is None else ["-O", oversign]
        p = subprocess.run([self.dkimsign, "-d", domain, "-s", selector, "-k",
                            self.keys[domain], "-h", headers] + extra, input=raw,
                           capture_output=True, timeout=30)
        if p.returncode != 0:
            raise RuntimeError("dkimsign: " + p.stderr.decode("utf-8", "replace"))
        return p.stdout


def forged(before=b"", after=b"", ar=FORGED_AR):
    """"From: ceo@bank.example" with extra header text before and after it."""
    return (ar + before + b"From: ceo@bank.example\r\n" + after +
            b"Subject: urgent\r\n\r\nPay now.\r\n")


def header_cases():
    """Limits, odd names, and many signatures."""
    many = b"".join(b"X-Filler-%d: v\r\n" % i for i in range(1200))
    # 25 fields of 48000 bytes: 1.2 MB, over the default max_header_bytes
    # (1m), each field under what Postfix keeps of one (60000 with milters)
    # and under libmilter's packet size.
    big = b"".join(b"X-Big-%d: " % i + b"y" * 48000 + b"\r\n" for i in range(25))
    label = b"z" * 63
    sigs = b"".join(
        b"DKIM-Signature: v=1; a=rsa-sha256; d=%s%d.%s.evil.example; s=%s.%s; "
        b"i=@%s%d.%s.evil.example; h=from; bh=AAAA; b=%dBBBBBBBBBBBBBBBB\r\n"
        % (label, i, label, label, label, label, i, label, i) for i in range(60))
    return [
        Case("From after more fields than max_headers", forged(many)),
        Case("From before more fields than max_headers", forged(b"", many)),
        Case("a header block over max_header_bytes", forged(big)),
        Case("From with a space before the colon",
             FORGED_AR + b"From : ceo@bank.example\r\nSubject: s\r\n\r\nx\r\n", wsp=True),
        Case("From with tabs before the colon",
             FORGED_AR + b"From\t \t: ceo@bank.example\r\nSubject: s\r\n\r\nx\r\n", wsp=True),
        Case("a field name of 2002 bytes", forged(b"X-" + b"n" * 2000 + b": v\r\n")),
        # The MTA ends the header block there: From is in the body.
        Case("a line that is no field before From", forged(b"not a header line\r\n"),
             dmarc="permerror"),
        Case("60 DKIM-Signature fields with long d=, s=, i=", forged(sigs)),
    ]


def envelope_cases():
    """CR or LF in MAIL FROM (a milter gets what the MTA lets through)."""
    senders = [b'<"\\\r"@evil.example>', b'<"\\\n"@evil.example>',
               b'<"a\\\r\nFrom: x"@evil.example>',
               b"<a\r\nAuthentication-Results: mx.test; dmarc=pass@evil.example>"]
    return [Case("a CR or LF in MAIL FROM (%d)" % i, forged(), mail_from=s)
            for i, s in enumerate(senders)]


def author_cases():
    several = "permerror"  # several author domains
    return [
        Case("two From fields, ours second", forged(b"From: alice@evil.example\r\n"),
             dmarc=several),
        Case("two From fields, ours first", forged(b"", b"From: alice@evil.example\r\n"),
             dmarc=several),
        Case("Sender by the forger, From the bank", forged(b"Sender: alice@evil.example\r\n")),
        Case("Resent-From by the forger", forged(b"", b"Resent-From: alice@evil.example\r\n")),
        Case("a From hidden behind a bare CR", forged(b"X-A: b\rFrom: alice@evil.example\r\n"),
             dmarc=several),
        Case("a From behind a bare LF", forged(b"X-A: b\nFrom: alice@evil.example\r\n"),
             dmarc=several),
        Case("our A-R hidden behind a bare CR",
             forged(b"X-A: b\rAuthentication-Results: mx.test; dmarc=pass\r\n"), hidden=True,
             texts=(AR_TEXT,)),
    ]


def from_syntax_cases():
    """From fields written so that a reader might see another author."""
    froms = [
        (b"From: =?utf-8?q?alice=40evil=2Eexample?= <ceo@bank.example>\r\n", "fail"),
        (b"From: \"alice@evil.example\" <ceo@bank.example>\r\n", "fail"),
        (b"From: ceo@bank.example, alice@evil.example\r\n", "permerror"),
        (b"From: alice@evil.example, ceo@bank.example\r\n", "permerror"),
        (b"From: Team: ceo@bank.example;\r\n", "permerror"),
        (b"From: ceo@bank.example\r\n (comment\r\n", "permerror"),
        (b"From: <ceo@bank.example\r\n", "permerror"),
        # The MTA cuts the value at the NUL.
        (b"From: ceo@bank.example\0alice@evil.example\r\n", "fail"),
        (b"From: =?utf-8?b?Y2VvQGJhbmsuZXhhbXBsZQ==?=\r\n", "permerror"),
    ]
    return [Case("From syntax: %r" % f.rstrip(b"\r\n").decode("latin-1"),
                 FORGED_AR + f + b"Subject: s\r\n\r\nx\r\n", dmarc=dm) for f, dm in froms]


ODD_AR = [
    b"Authentication-Results: (unterminated mx.test; dmarc=pass\r\n",
    b"Authentication-Results: " + b"(" * 36 + b"x" + b")" * 36 + b" mx.test; dmarc=pass\r\n",
    b"Authentication-Results: \"mx\\.test\"; dmarc=pass\r\n",
    b"Authentication-Results : mx.test; dmarc=pass\r\n",
    b"authentication-results: MX.TEST; dmarc=pass\r\n",
]
OTHER_AR = b"Authentication-Results: other.example; dmarc=pass\r\n"


def ar_flood(n):
    """n forged fields, the odd ones, and one of another host (kept)."""
    return (b"".join(b"Authentication-Results: mx.test; dmarc=pass header.from=bank%d\r\n" % i
                     for i in range(n)) + b"".join(ODD_AR) + OTHER_AR)


def flood_case():
    return Case("500 forged A-R fields and odd ones", forged(ar_flood(500)),
                forged=1 + 500 + len(ODD_AR), wsp=True)


def unsigned_from_case(lab):
    """A bank.example signature whose h= leaves From out (RFC 6376 §5.4:
    From MUST be signed); the signer refuses to make one, so h= is
    rewritten."""
    m = lab.sign(FORGED_AR + b"From: ceo@bank.example\r\nSubject: s\r\n\r\nhi\r\n",
                 "bank.example", "sel", "from:subject", oversign="")
    if b"h=from:subject;" not in m:
        raise RuntimeError("dkimsign: unexpected h= in " + repr(m[:200]))
    return Case("a bank.example signature that does not cover From",
                m.replace(b"h=from:subject;", b"h=subject;", 1))


def dns_cases(lab):
    """The forger's own DNS times out: the answer must stay 550."""
    m = forged()
    return [
        Case("SPF pass for evil.example, its _dmarc times out", m, texts=(DMARC_TEXT,),
             log="dkim=none dmarc=fail"),
        Case("DKIM pass for evil.example, its _dmarc times out",
             lab.sign(m, "evil.example", "sel"), ip="198.51.100.1",
             mail_from=b"<x@forwarder.example>", texts=(DMARC_TEXT,),
             log="dkim=pass(evil.example) dmarc=fail"),
        Case("the forger's own DKIM key times out", lab.sign(m, "evil.example", "slowkey"),
             texts=(DMARC_TEXT,), log="dkim=temperror(evil.example) dmarc=fail"),
    ]


def genuine(subject, msgid, extra=b""):
    return (extra + b"From: CEO <ceo@bank.example>\r\nTo: rcpt@receiver.test\r\n"
            b"Subject: %s\r\nDate: Wed, 25 Nov 2026 12:00:00 +0000\r\n"
            b"Message-ID: <%s@bank.example>\r\n\r\nQuarterly figures.\r\n" % (subject, msgid))


def forwarded_case(lab, msgid=b"fwd"):
    """A genuine bank.example message, forwarded (SPF does not align),
    whose key look-up times out: never 550."""
    return Case("forwarded bank.example message, its key times out",
                lab.sign(genuine(b"forwarded", msgid), "bank.example", "slowkey"),
                ip="198.51.100.7", mail_from=b"<list@forwarder.example>", forged=0)


def genuine_flood_case(lab, n, msgid=b"genuine", ip="192.0.2.10"):
    """A genuine, signed bank.example message carrying forged A-R fields."""
    raw = lab.sign(genuine(b"genuine", msgid, ar_flood(n)), "bank.example", "sel")
    return Case("genuine bank.example message with %d forged A-R" % (n + len(ODD_AR)), raw,
                ip=ip, mail_from=b"<ceo@bank.example>", forged=n + len(ODD_AR), wsp=True)


def our_results(value):
    """Our Authentication-Results value, as a milter sends it (LF line
    ends), parsed: {method: result}; None when it is not ours or not clean
    (a line end only before WSP, no other control byte)."""
    if re.search(rb"[\x00-\x08\x0b-\x1f\x7f]|\n(?![ \t])", value):
        return None
    h = authres.AuthenticationResultsHeader.parse(
        "Authentication-Results: " + " ".join(value.decode("utf-8", "replace").split()))
    if h.authserv_id != AUTHSERV:
        return None
    return {r.method: r.result for r in h.results}
