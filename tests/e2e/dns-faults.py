#!/usr/bin/python3
"""dns-faults - verdicts when DNS answers go wrong, through both daemons.

nsd serves the test zones behind tests/lib/dnsfault.py, a fault proxy; the
milter daemon (over the milter protocol, tests/lib/milterclient.py) and the
SMTP listener (smtplib, the client named by XCLIENT, delivering to a
Maildir) both ask the proxy.  Records have TTL 0 and failures are not
remembered, so every message asks again and meets the fault in force.

bank.test publishes p=reject.  Six messages, whose verdicts with working
DNS are known: aligned SPF and DKIM; DKIM only (forwarded); SPF only; a
forgery (the forger's own SPF and DKIM pass); and a forwarded and a forged
one from news.bank.test, whose policy the DNS tree walk finds at its
parent.  Each fault of the proxy is applied in turn to each look-up that
matters (bank.test's SPF record, its DKIM key, _dmarc.bank.test, the tree
walk's _dmarc.test and _dmarc.news.bank.test) and to the forger's and the
forwarder's, which cannot change DMARC's answer.  Each message then gets
the exact Authentication-Results the RFCs allow for a failure of that
look-up (temperror where the answer mattered, never a pass that needed it,
never accepted where p=reject and DMARC fails without it), or the refusal;
faults that still carry a correct answer (a delay under the timeout, TC
then TCP, an oversized reply) change nothing.

Then: while one message waits on a stalled key look-up, others that do not
need it are answered well before it (also with more stalled look-ups than
the background DNS threads); the milter daemon's RSS stays flat over a few
hundred faulty messages; both daemons exit 0 (under the sanitizers, with
no leak).
"""
import base64
import concurrent.futures
import email
import email.policy
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests", "lib"))
import dnsfault  # noqa: E402
import milterclient as mc  # noqa: E402
import smtptest  # noqa: E402
import tap  # noqa: E402

try:
    import authres
except ImportError:
    authres = None

AUTHSERV = "mx.faults.test"
TIMEOUT_MS = 1000
PAST_MS, UNDER_MS = 2000, 500

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

# The look-ups faulted, as proxy rules; whether the name has records (a
# fault that rewrites records changes nothing on a name without any); and
# what each message gets when the look-up fails (the others are unchanged).
TEMP_DMARC = "spf=pass dkim=pass dmarc=temperror"
TARGETS = [
    ("SPF record", ["bank.test/TXT"], True, {
        "aligned": "spf=temperror dkim=pass dmarc=pass",
        "spf only": "spf=temperror dkim=none dmarc=temperror"}),
    ("DKIM key", ["sel._domainkey.bank.test/TXT"], True, {
        "aligned": "spf=pass dkim=temperror dmarc=pass",
        "forwarded": "spf=pass dkim=temperror dmarc=temperror",
        "sub forwarded": "spf=pass dkim=temperror dmarc=temperror"}),
    ("author's _dmarc", ["_dmarc.bank.test/TXT"], True, {
        "aligned": TEMP_DMARC, "forwarded": TEMP_DMARC,
        "spf only": "spf=pass dkim=none dmarc=temperror", "forged": TEMP_DMARC,
        "sub forwarded": TEMP_DMARC, "sub forged": TEMP_DMARC}),
    ("tree walk parent _dmarc.test", ["_dmarc.test/TXT"], False, {
        "sub forwarded": TEMP_DMARC}),
    ("subdomain's own _dmarc", ["_dmarc.news.bank.test/TXT"], False, {
        "sub forwarded": TEMP_DMARC, "sub forged": TEMP_DMARC}),
    ("forger's and forwarder's", ["evil.example/TXT", "*.evil.example",
                                  "forwarder.example/TXT"], True, {
        "forwarded": "spf=temperror dkim=pass dmarc=pass",
        "sub forwarded": "spf=temperror dkim=pass dmarc=pass"}),
]

# Faults that leave no usable answer, and those that still carry one.
FAILING = ["drop", "delay:%d" % PAST_MS, "servfail", "refused", "tc-tcpfail", "garbage",
           "wrongid", "othername", "othertype", "qclass", "loop", "class"]
BENIGN = ["delay:%d" % UNDER_MS, "tc", "big"]
# These rewrite the answer records only: on a name without any, no fault.
RECORD_FAULTS = ("class",)


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
    def __init__(self, tmp):
        self.tmp = tmp
        self.keys, pubs = {}, {}
        for d in ("bank", "evil"):
            self.keys[d], pubs[d] = ed25519_key(tmp, d)
        zones = os.path.join(tmp, "zones")
        os.mkdir(zones)
        for name, text in ZONES.items():
            with open(os.path.join(zones, name + ".zone"), "w") as f:
                f.write(text.format(**pubs))
        self.nsd = smtptest.Nsd(zones)
        self.proxy = dnsfault.Proxy(self.nsd.port, os.path.join(tmp, "dnsfault.log"))
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
                % (AUTHSERV, self.proxy.port, timeout_ms, tempfail_ttl) + extra)

    def next_qid(self):
        self.qid += 1
        return "DF%d" % self.qid

    def stop(self):
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
    """Both daemons, started with the same config."""

    def __init__(self, lab, name, **conf):
        self.lab = lab
        self.lock = threading.Lock()  # guards found and the Maildir, read by every run()
        self.found = {}
        self.maildir = os.path.join(lab.tmp, name + "-mail")
        self.milter = mc.Daemon(smtptest.AUTHMILTER, os.path.join(lab.tmp, name))
        os.mkdir(self.milter.tmp)
        self.milter.write_config(lab.config(**conf))
        self.started = self.milter.start()
        self.port = smtptest.free_port()
        self.smtp = smtptest.Daemon(lab.tmp, name + "-smtp", self.port, lab.config(
            "maildir %s\nsmtp_trusted_proxies 127.0.0.3\nreport_store sqlite:%s\n"
            % (self.maildir, os.path.join(lab.tmp, name + "-smtp.db")), **conf))

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


# ---- the checks ----

def expected(msg, target, mode):
    _, _, has_records, fails = target
    if mode in BENIGN or (mode in RECORD_FAULTS and not has_records):
        return msg.want
    return fails.get(msg.name, msg.want)


def matrix(lab, front, pool):
    base = front.run(pool, lab.messages)
    for msg, via, got, _ in base:
        tap.is_(got, msg.want, "working DNS: %s via %s" % (msg.name, via))
    for target in TARGETS:
        for mode in FAILING + BENIGN:
            lab.proxy.clear()
            for rule in target[1]:
                lab.proxy.fault(rule, mode)
            results = front.run(pool, lab.messages)
            bad = ["%s via %s: got %r, want %r" % (msg.name, via, got, expected(msg, target, mode))
                   for msg, via, got, _ in results if got != expected(msg, target, mode)]
            hit = lab.proxy.hits()
            if not tap.ok(not bad and hit > 0, "%s, %s: %d messages, each as the RFCs allow "
                          "(%d queries faulted)" % (target[0], mode, len(results), hit)):
                for line in bad:
                    tap.diag(line)
    lab.proxy.clear()


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sanitized(binary):
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


def memory(lab, front, pool):
    """A few hundred faulty messages; RSS before and after."""
    modes = ["servfail", "garbage", "loop", "wrongid", "big", "tc", "othername", "class"]
    rules = ["bank.test/TXT", "sel._domainkey.bank.test/TXT", "_dmarc.bank.test/TXT",
             "_dmarc.test/TXT", "evil.example/TXT"]

    def round_(i):
        lab.proxy.clear()
        for j, rule in enumerate(rules):
            lab.proxy.fault(rule, modes[(i + j) % len(modes)])
        return front.run(pool, lab.messages * 4)

    for i in range(3):
        round_(i)
    before = rss_kb(front.milter.proc.pid)
    answered = 0
    for i in range(12):
        answered += sum(1 for _, _, v, _ in round_(i) if v and v != "not delivered")
    after = rss_kb(front.milter.proc.pid)
    lab.proxy.clear()
    tap.is_(answered, 12 * 48, "576 messages with faulty DNS, each answered")
    if sanitized(front.milter.binary):
        tap.ok(True, "# SKIP RSS under AddressSanitizer grows with its quarantine "
               "(%d -> %d KiB); its leak check at exit stands in" % (before, after))
    else:
        tap.ok(after - before < 4096, "milter daemon RSS flat over them: %d -> %d KiB"
               % (before, after))


def stall(lab, pool):
    """Stalled key look-ups hold up only the messages that need them."""
    timeout_s = 4
    # Failures are remembered as by default, so a look-up made ahead that
    # timed out is not asked again when its answer is needed.
    front = Front(lab, "stall", timeout_ms=timeout_s * 1000, tempfail_ttl=30)
    if not tap.ok(front.started, "stall daemons start"):
        return front
    good = lab.messages[0]
    # A message with five signatures whose keys never answer; with eight
    # of them in flight, forty distinct look-ups wait at once: more than
    # the daemon's background DNS threads.
    slow = []
    for n in range(8):
        raw = raw_message("slow.test", "stalled %d" % n)
        for i in range(5):
            raw = sign(raw, "slow.test", "s%d-%d" % (n, i), lab.keys["bank"])
        slow.append(Msg("stalled %d" % n, raw, "ceo@slow.test", "192.0.2.10",
                        "spf=pass dkim=temperror dkim=temperror dkim=temperror dkim=temperror "
                        "dkim=temperror dmarc=pass"))
    lab.proxy.clear()
    lab.proxy.fault("*._domainkey.slow.test", "drop")
    for kind, count in (("one", 1), ("eight", 8)):
        t0 = time.monotonic()
        waiting = [pool.submit(front.run, pool, [m]) for m in slow[:count]]
        time.sleep(0.3)
        lat = []
        for _ in range(4):
            t = time.monotonic()
            res = front.run(pool, [good])
            lat.append(time.monotonic() - t)
            tap.ok(all(v == good.want for _, _, v, _ in res),
                   "%s stalled: a message not needing them passes (%s)"
                   % (kind, "; ".join(v for _, _, v, _ in res)))
        stalled_done = [w.result() for w in waiting]
        slowest = time.monotonic() - t0
        tap.ok(max(lat) < timeout_s / 2.0 and max(lat) < slowest / 2.0,
               "%s stalled: the others answered in at most %.2f s while the stalled took "
               "%.2f s (timeout %d s)" % (kind, max(lat), slowest, timeout_s))
        bad = [(m.name, via, v) for res in stalled_done for m, via, v, _ in res if v != m.want]
        tap.is_(bad, [], "%s stalled: each answered once its look-ups time out" % kind)
    lab.proxy.clear()
    return front


def main():
    why = missing()
    if why:
        tap.skip_all(why)
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="dns-faults-")
    lab = None
    fronts = []
    try:
        lab = Lab(tmp)
        front = Front(lab, "main")
        fronts.append(front)
        if not tap.ok(front.started, "daemons start"):
            tap.diag(front.milter.log_text())
            return tap.done()
        with concurrent.futures.ThreadPoolExecutor(max_workers=48) as pool:
            matrix(lab, front, pool)
            memory(lab, front, pool)
            fronts.append(stall(lab, pool))
        for f in fronts:
            tap.is_(f.stop(), (0, 0), "%s: both daemons exit 0" % f.milter.tmp.rsplit("/", 1)[1])
        tap.diag("done in %.0f s" % (time.monotonic() - t0))
    except (OSError, EOFError, RuntimeError) as e:
        tap.ok(False, "exchange failed: %r" % e)
    finally:
        for f in fronts:
            f.stop()
        if tap.failures and fronts:
            tap.diag(fronts[0].milter.log_text()[-4000:])
        if lab is not None:
            lab.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
