"""faultlab - what the fault, MTA-side and soak tests of the daemons share.

bank.test publishes p=reject; nsd serves it, a forger's evil.example and a
forwarder (ZONES, records with TTL 0 so that every message asks again)
behind a tests/lib/dnsfault.py proxy.  MESSAGES are six messages whose
verdicts with working DNS are known.  Front starts the milter daemon and
the SMTP listener (which delivers to a Maildir and lets 127.0.0.3 name the
client with XCLIENT) with one config, and sends messages through both.

    lab = Lab(tmp); lab.messages; lab.proxy.fault(RULE, MODE); lab.stop()
    front = Front(lab, "name", timeout_ms=..., tempfail_ttl=...)
    front.run(pool, msgs) -> [(msg, "milter" | "smtp", verdict, queue id)]
    verdict: our Authentication-Results as "spf=... dkim=... dmarc=...",
             or the refusal ("550 5.7.1 ...")
    sys.exit(run_tests(prefix, body))   body(lab, pool, fronts) in a started lab;
                                         start(lab, fronts, name) makes a Front there
Run with Debian's /usr/bin/python3.
"""
import base64
import concurrent.futures
import email
import email.policy
import os
import shutil
import smtplib
import subprocess
import tempfile
import threading

import dnsfault
import milterclient as mc
import smtptest
import tap

try:
    import authres
except ImportError:
    authres = None

AUTHSERV = "mx.faults.test"
TIMEOUT_MS = 1000

ZONES = {
    "test": """$ORIGIN test.
$TTL 0
@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 0
@ IN NS ns.test.
ns IN A 127.0.0.1
bank IN TXT "v=spf1 ip4:192.0.2.0/25 -all"
_dmarc.bank IN TXT "v=DMARC1; p=reject"
sel._domainkey.bank IN TXT "v=DKIM1; k=ed25519; p={bank}"
news.bank IN A 192.0.2.80
slow IN TXT "v=spf1 ip4:192.0.2.0/25 -all"
_dmarc.slow IN TXT "v=DMARC1; p=reject"
*._domainkey.slow IN TXT "v=DKIM1; k=ed25519; p={bank}"
""",
    "example": """$ORIGIN example.
$TTL 0
@ IN SOA ns.example. hostmaster.example. 1 3600 600 86400 0
@ IN NS ns.example.
ns IN A 127.0.0.1
evil IN TXT "v=spf1 ip4:203.0.113.0/24 -all"
_dmarc.evil IN TXT "v=DMARC1; p=none"
sel._domainkey.evil IN TXT "v=DKIM1; k=ed25519; p={evil}"
forwarder IN TXT "v=spf1 ip4:198.51.100.0/24 -all"
""",
}

# (name, From domain, MAIL FROM, client IP, signer or None, verdict with working DNS)
PASS3 = "spf=pass dkim=pass dmarc=pass"
MESSAGES = [
    ("aligned", "bank.test", "ceo@bank.test", "192.0.2.10", "bank.test", PASS3),
    ("forwarded", "bank.test", "fwd@forwarder.example", "198.51.100.7", "bank.test", PASS3),
    ("spf only", "bank.test", "ceo@bank.test", "192.0.2.10", None,
     "spf=pass dkim=none dmarc=pass"),
    ("forged", "bank.test", "attacker@evil.example", "203.0.113.9", "evil.example",
     "550 5.7.1 Rejected by DMARC policy for bank.test"),
    ("sub forwarded", "news.bank.test", "fwd@forwarder.example", "198.51.100.7", "bank.test",
     PASS3),
    ("sub forged", "news.bank.test", "attacker@evil.example", "203.0.113.9", "evil.example",
     "550 5.7.1 Rejected by DMARC policy for news.bank.test"),
]

def missing():
    for prog in (smtptest.AUTHMILTER, smtptest.DKIMSIGN):
        if not os.access(prog, os.X_OK):
            return "%s not built" % prog
    if authres is None:
        return "python3-authres not installed"
    if not smtptest.nsd_available() or shutil.which("openssl") is None:
        return "nsd or openssl not installed"
    return None


def ed25519_key(tmp, name):
    path = os.path.join(tmp, name + ".key")
    subprocess.run(["openssl", "genpkey", "-algorithm", "ED25519", "-out", path],
                   check=True, capture_output=True)
    der = subprocess.run(["openssl", "pkey", "-in", path, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    # RFC 8463 §4.2: p= is the raw 32-byte key, the end of the SPKI.
    return path, base64.b64encode(der[-32:]).decode()


def sign(raw, domain, selector, key):
    return subprocess.run([smtptest.DKIMSIGN, "-d", domain, "-s", selector, "-k", key, "-h",
                           "from:to:subject:date:message-id"], input=raw,
                          capture_output=True, check=True).stdout


def raw_message(from_domain, subject):
    return ("From: Someone <someone@%s>\r\nTo: rcpt@mx.faults.test\r\nSubject: %s\r\n"
            "Date: Wed, 25 Nov 2026 12:00:00 +0000\r\nMessage-ID: <%s@%s>\r\n\r\n"
            "Hello.\r\n" % (from_domain, subject, subject.replace(" ", "-"), from_domain)
            ).encode()


class Msg:
    def __init__(self, name, raw, mail_from, ip, want):
        self.name, self.raw, self.mail_from, self.ip, self.want = name, raw, mail_from, ip, want


class Lab:
    """Keys, zones, nsd and (unless proxy is false) the fault proxy in
    front of it; ttl, when given, replaces the zones' TTL of 0 (and their
    negative TTL), so that the daemons' caches keep the answers."""

    def __init__(self, tmp, proxy=True, ttl=None):
        self.tmp = tmp
        self.keys, pubs = {}, {}
        for d in ("bank", "evil"):
            self.keys[d], pubs[d] = ed25519_key(tmp, d)
        zones = os.path.join(tmp, "zones")
        os.mkdir(zones)
        for name, text in ZONES.items():
            if ttl is not None:
                text = text.replace("$TTL 0", "$TTL %d" % ttl).replace(
                    "86400 0\n", "86400 %d\n" % ttl)
            with open(os.path.join(zones, name + ".zone"), "w") as f:
                f.write(text.format(**pubs))
        self.nsd = smtptest.Nsd(zones)
        self.proxy = None
        self.dns_port = self.nsd.port
        if proxy:
            self.proxy = dnsfault.Proxy(self.nsd.port, os.path.join(tmp, "dnsfault.log"))
            self.dns_port = self.proxy.port
        self.qid = 0
        self.messages = []
        for name, dom, mail_from, ip, signer, want in MESSAGES:
            raw = raw_message(dom, name)
            if signer:
                raw = sign(raw, signer, "sel", self.keys[signer.split(".")[0]])
            self.messages.append(Msg(name, raw, mail_from, ip, want))

    def config(self, extra="", timeout_ms=TIMEOUT_MS, tempfail_ttl=0):
        return ("authserv_id %s\ndns_server 127.0.0.1:%d\ndns_timeout %dms\ndns_retries 0\n"
                "dns_tempfail_ttl %d\ntrusted_networks \"\"\nlog_level info\n"
                % (AUTHSERV, self.dns_port, timeout_ms, tempfail_ttl) + extra)

    def next_qid(self):
        self.qid += 1
        return "DF%d" % self.qid

    def stop(self):
        if self.proxy is not None:
            self.proxy.stop()
        self.nsd.stop()


def our_results(value):
    """"method=result ..." of our Authentication-Results value, or None."""
    h = authres.AuthenticationResultsHeader.parse(
        "Authentication-Results: " + " ".join(value.decode("utf-8", "replace").split()))
    if h.authserv_id != AUTHSERV:
        return None
    return " ".join("%s=%s" % (r.method, r.result) for r in h.results)


# ---- sending ----

def via_milter(d, msg, qid):
    """The verdict over the milter protocol: our A-R's results when passed
    on, else the reply text."""
    m = mc.Milter(d.sock)
    m.sock.settimeout(30)
    try:
        m.negotiate()
        m.connect(ip=msg.ip, host=("[%s]" % msg.ip).encode())
        m.step(mc.SMFIC_HELO, b"client.example\0", mc.SMFIP_NR_HELO)
        headers, body = mc.fields(msg.raw)
        acts = m.message(headers, body=body, sender=("<%s>" % msg.mail_from).encode(),
                         queue_id=qid.encode(), rcpt=b"<rcpt@mx.faults.test>")
    finally:
        m.close()
    if mc.final(acts)[0] != mc.SMFIR_CONTINUE:
        return mc.reply_text(acts)
    ours = mc.inserted(acts, b"Authentication-Results")
    return our_results(ours[0][1]) if len(ours) == 1 else "A-R fields: %r" % ours


def via_smtp(port, msg, token):
    """The verdict through the listener: "queued" (the A-R is read from the
    Maildir later) or the reply."""
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="proxy.test",
                     source_address=("127.0.0.3", 0), timeout=30)
    try:
        s.ehlo()
        code, _ = s.docmd("XCLIENT", "ADDR=%s HELO=client.example" % msg.ip)
        if code != 220:
            return "XCLIENT %d" % code
        s.ehlo("client.example")
        s.mail(msg.mail_from)
        s.rcpt("rcpt@mx.faults.test")
        code, text = s.data(b"X-Case: " + token.encode() + b"\r\n" + msg.raw)
        return "queued" if code == 250 else "%d %s" % (code, text.decode())
    except smtplib.SMTPDataError as e:
        return "%d %s" % (e.smtp_code, e.smtp_error.decode())
    finally:
        try:
            s.quit()
        except smtplib.SMTPException:
            pass


def delivered(maildir, out):
    """Adds {X-Case token: our A-R results} of what was delivered to out;
    the files are removed."""
    for path in smtptest.maildir_files(maildir):
        with open(path, "rb") as f:
            parsed = email.message_from_bytes(f.read(), policy=email.policy.compat32)
        os.unlink(path)
        ours = [our_results(v.encode()) for v in parsed.get_all("Authentication-Results") or []]
        out[parsed["X-Case"]] = ours[0] if len(ours) == 1 else "A-R fields: %r" % ours


class Front:
    """Both daemons, started with the same config (the milter daemon on a
    loopback TCP port if inet, else on a unix socket)."""

    def __init__(self, lab, name, inet=False, **conf):
        self.lab, self.conf = lab, conf
        self.lock = threading.Lock()  # guards found and the Maildir, read by every run()
        self.found = {}
        self.maildir = os.path.join(lab.tmp, name + "-mail")
        self.smtp_db = os.path.join(lab.tmp, name + "-smtp.db")
        self.milter = mc.Daemon(smtptest.AUTHMILTER, os.path.join(lab.tmp, name),
                                port=mc.free_port() if inet else None)
        os.mkdir(self.milter.tmp)
        self.milter.write_config(lab.config(**conf))
        self.started = self.milter.start()
        self.port = smtptest.free_port()
        self.smtp = smtptest.Daemon(lab.tmp, name + "-smtp", self.port, self.smtp_config())

    def smtp_config(self, extra=""):
        return self.lab.config("maildir %s\nsmtp_trusted_proxies 127.0.0.3\nreport_store "
                               "sqlite:%s\n%s" % (self.maildir, self.smtp_db, extra), **self.conf)

    def rewrite(self, extra):
        """Both config files replaced (each at once, by rename), extra added."""
        self.milter.write_config(self.lab.config(extra, **self.conf))
        with open(self.smtp.conf + ".new", "w") as f:
            f.write(self.smtp_config(extra))
        os.rename(self.smtp.conf + ".new", self.smtp.conf)

    def run(self, pool, msgs):
        """Sends each message through both at once; returns a list of
        (message, via, verdict, queue id)."""
        jobs = []
        for msg in msgs:
            qid = self.lab.next_qid()
            jobs.append((msg, "milter", qid, pool.submit(via_milter, self.milter, msg, qid)))
            jobs.append((msg, "smtp", qid, pool.submit(via_smtp, self.port, msg, qid)))
        out = [(msg, via, f.result(), qid) for msg, via, qid, f in jobs]
        with self.lock:
            delivered(self.maildir, self.found)
            return [(msg, via, self.found.pop(qid, "not delivered") if v == "queued" else v,
                     qid) for msg, via, v, qid in out]

    def stop(self):
        return self.milter.stop(), self.smtp.stop()


def rss_kb(pid):
    """VmRSS of pid in KiB; 0 once it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def sanitized(binary):
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


def run_tests(prefix, body):
    """Skips when what the lab needs is missing; else runs body(lab, pool,
    fronts) in a started lab with a pool of threads to send from, stops
    every Front body put in fronts, and returns the TAP exit status."""
    why = missing()
    if why:
        tap.skip_all(why)
    tmp = tempfile.mkdtemp(prefix=prefix)
    lab, fronts = None, []
    try:
        lab = Lab(tmp)
        with concurrent.futures.ThreadPoolExecutor(max_workers=48) as pool:
            body(lab, pool, fronts)
    except (OSError, EOFError, RuntimeError) as e:
        tap.ok(False, "exchange failed: %r" % e)
    finally:
        for f in fronts:
            f.stop()
        if tap.failures and fronts:
            tap.diag(fronts[-1].milter.log_text()[-3000:])
        if lab is not None:
            lab.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return tap.done()


def start(lab, fronts, name, **opts):
    """A Front, put in fronts; None (said in TAP) when it did not start."""
    front = Front(lab, name, **opts)
    fronts.append(front)
    if not tap.ok(front.started, "%s: daemons start" % name):
        tap.diag(front.milter.log_text())
        return None
    return front
