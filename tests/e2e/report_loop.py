#!/usr/bin/python3
"""report_loop - DMARC aggregate reports, the whole loop, on loopback.

Run by report-loop.sh.  nsd serves the zones of three sender domains
(alpha.test p=reject, beta.test p=quarantine, gamma.test p=none, each
with SPF, a DKIM key and a rua list), three external destinations
(auth-dest.test authorizes alpha.test and beta.test, noauth-dest.test
only beta.test, redirect-dest.test alpha.test but with a rua= naming
another host, suppressed.test everyone but is in report_suppress) and
the reporting domain receiver.test (its RSA and Ed25519 keys, SPF and
p=reject).

1. A known mix of messages (passing, forged, from several source
   addresses, IPv4 and IPv6) goes through the milter daemon (the MTA side
   in tests/lib/milterclient.py) and through the SMTP listener (smtplib,
   into a Maildir), both writing one SQLite store; each reply is checked,
   then SIGTERM flushes both queues and the store holds one record per
   message.
2. authreport generate for the interval prints one exact file name per
   policy domain; authreport send mails them through Postfix's smtp-sink:
   its exact output, exit status 0, and what the store says of each
   destination.
3. Each mail the sink took: exactly the authorized destinations got one
   each; its envelope and To; Subject "Report Domain: D Submitter: S
   Report-ID: ID"; the attachment named as the stored report; both DKIM
   signatures verified by dkimpy (keys asked of nsd) and by authcheck,
   which also gives dmarc=pass for receiver.test; the XML's metadata,
   policy and every row (count, source address, disposition, alignment,
   identifiers, DKIM and SPF results) exactly what was sent.
4. generate and send again: the same names, "0 sent, ...", nothing mailed.
5. A received report mail fed back through the milter from receiver.test's
   address is accepted with dmarc=pass and not recorded; an altered copy
   from elsewhere fails DMARC, is rejected and is recorded.
6. When Mail::DMARC is installed: generate in RFC 7489's format (the one
   it reads), which adds receiver.test's report of the altered copy; send
   mails each to its destinations; dmarc_receive reads alpha.test's, with
   the message and row counts sent.
"""
import atexit
import base64
import email
import email.policy
import gzip
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

TOP = os.environ.get("top_srcdir") or os.path.join(os.path.dirname(__file__), "..", "..")
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import milterclient as mc  # noqa: E402
from smtptest import (AUTHMILTER, TOP_BUILDDIR, Daemon, Nsd, authres, bail,  # noqa: E402
                      diag, done, free_port, is_, message, ok, read, sign, skip_all,
                      wait_files)
from smtptest import send as smtp_send  # noqa: E402

import dkim  # noqa: E402
import dns.exception  # noqa: E402
import dns.resolver  # noqa: E402

AUTHREPORT = os.path.join(TOP_BUILDDIR, "milter", "authreport")
AUTHCHECK = os.path.join(TOP_BUILDDIR, "milter", "authcheck")
SINK = "/usr/sbin/smtp-sink"
NS = "{urn:ietf:params:xml:ns:dmarc-2.0}"
HOST = "mx.receiver.test"
REPORTER = "receiver.test"
REPORT_FROM = "dmarc-reports@receiver.test"
REPORTER_IP = "192.0.2.99"

RUA = {
    "alpha.test": "mailto:dmarc@alpha.test,mailto:agg@auth-dest.test,"
                  "mailto:agg@noauth-dest.test,mailto:agg@suppressed.test,"
                  "mailto:agg@redirect-dest.test",
    "beta.test": "mailto:rua@beta.test,mailto:agg@auth-dest.test!10m,mailto:quiet@beta.test",
    "gamma.test": "mailto:dmarc@gamma.test,mailto:dmarc@suppressed.test",
}
POLICY = {"alpha.test": "reject", "beta.test": "quarantine", "gamma.test": "none"}
SPF = {"alpha.test": "v=spf1 ip4:192.0.2.10 ip4:127.0.0.2 -all",
       "beta.test": "v=spf1 ip4:192.0.2.20 -all",
       "gamma.test": "v=spf1 ip6:2001:db8::5 -all",
       REPORTER: "v=spf1 ip4:%s -all" % REPORTER_IP}
AUTHORIZED = {"auth-dest.test": ["alpha.test", "beta.test"],
              "noauth-dest.test": ["beta.test"],
              "suppressed.test": ["alpha.test", "beta.test", "gamma.test"]}
# Authorizes alpha.test, but sends its reports on to yet another host.
REDIRECT = 'alpha.test._report._dmarc IN TXT "v=DMARC1; rua=mailto:agg@elsewhere.test"'

# The mix: (front end, source, From domain, how, count).  how: "signed"
# (a valid signature of the From domain), "forged" (that signature, the
# body changed after signing) or "plain" (no signature).
MIX = [("milter", "192.0.2.10", "alpha.test", "signed", 3),
       ("milter", "198.51.100.20", "alpha.test", "plain", 2),
       ("smtp", "127.0.0.2", "alpha.test", "signed", 2),
       ("smtp", "127.0.0.3", "alpha.test", "forged", 1),
       ("milter", "192.0.2.20", "beta.test", "plain", 2),
       ("smtp", "127.0.0.4", "beta.test", "plain", 2),
       ("milter", "203.0.113.5", "gamma.test", "signed", 1),
       ("milter", "2001:db8::5", "gamma.test", "plain", 1),
       ("smtp", "127.0.0.5", "gamma.test", "plain", 1)]


def spf_pass(ip, domain):
    return ip in SPF[domain]


def expected_row(ip, domain, how, count):
    """The report row the daemons' records of these messages must make."""
    dkim_pass = how == "signed"
    spf_ok = spf_pass(ip, domain)
    if dkim_pass or spf_ok:
        disp = "none" if POLICY[domain] == "none" else "pass"
    else:
        disp = POLICY[domain]
    dkims = () if how == "plain" else ((domain, "sel", "pass" if dkim_pass else "fail"),)
    return (ip, count, disp, "pass" if dkim_pass else "fail", "pass" if spf_ok else "fail",
            domain, domain, "receiver.test", dkims,
            ((domain, "mfrom", "pass" if spf_ok else "fail"),))


def expected_reply(ip, domain, how):
    """What the front end answers at the end of the message."""
    dmarc_pass = how == "signed" or spf_pass(ip, domain)
    if not dmarc_pass and POLICY[domain] == "reject":
        return "550 5.7.1 Rejected by DMARC policy for " + domain
    if not dmarc_pass and POLICY[domain] == "quarantine":
        return "quarantine"
    return "accept"


for prog in (AUTHMILTER, AUTHREPORT, AUTHCHECK, os.path.join(TOP_BUILDDIR, "tests", "tools",
                                                            "dkimsign")):
    if not os.access(prog, os.X_OK):
        skip_all(prog + " not built")

tmp = tempfile.mkdtemp(prefix="report-loop-")
os.chmod(tmp, 0o755)
procs, daemons = [], []
nsd = None


def cleanup():
    for d in daemons:
        if d.proc is not None and d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
    for p in procs:
        if p.poll() is None:
            p.terminate()
            p.wait()
    if nsd is not None:
        nsd.stop()
    shutil.rmtree(tmp, ignore_errors=True)


atexit.register(cleanup)


# ---- keys and zones ----

def genkey(name, algorithm):
    path = os.path.join(tmp, name)
    args = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"] \
        if algorithm == "rsa" else ["-algorithm", "ED25519"]
    subprocess.run(["openssl", "genpkey"] + args + ["-out", path], check=True,
                   capture_output=True)
    os.chmod(path, 0o600)
    der = subprocess.run(["openssl", "pkey", "-in", path, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    # RFC 8463: an Ed25519 key is published as the bare 32 bytes.
    pub = der if algorithm == "rsa" else der[-32:]
    record = "v=DKIM1; k=%s; p=%s" % ("rsa" if algorithm == "rsa" else "ed25519",
                                     base64.b64encode(pub).decode())
    return path, "( %s )" % " ".join('"%s"' % record[i:i + 200]
                                     for i in range(0, len(record), 200))


def zone(name, lines):
    with open(os.path.join(tmp, "zones", name + ".zone"), "w") as f:
        f.write("$TTL 300\n@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300\n" % (name, name))
        f.write("@ IN NS ns.%s.\nns IN A 127.0.0.1\n" % name)
        f.write("".join(line + "\n" for line in lines))


os.mkdir(os.path.join(tmp, "zones"))
# The parent, as the root would answer for it: the Tree Walk from a
# destination's name up to its Organizational Domain asks _dmarc.test.
zone("test", [])
sender_key, sender_txt = genkey("sender.key", "rsa")
rsa_key, rsa_txt = genkey("report-rsa.key", "rsa")
ed_key, ed_txt = genkey("report-ed.key", "ed25519")
for dom in POLICY:
    zone(dom, ['@ IN TXT "%s"' % SPF[dom], "sel._domainkey IN TXT " + sender_txt,
               '_dmarc IN TXT "v=DMARC1; p=%s; rua=%s"' % (POLICY[dom], RUA[dom])])
for dest, allowed in AUTHORIZED.items():
    zone(dest, ['%s._report._dmarc IN TXT "v=DMARC1"' % d for d in allowed])
zone("redirect-dest.test", [REDIRECT])
zone(REPORTER, ['@ IN TXT "%s"' % SPF[REPORTER], "rsa._domainkey IN TXT " + rsa_txt,
                "ed._domainkey IN TXT " + ed_txt,
                '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@receiver.test"'])
try:
    nsd = Nsd(os.path.join(tmp, "zones"))
except RuntimeError as e:
    bail(str(e))

# ---- the sink, the store, the config all three programs read ----

sinkdir = os.path.join(tmp, "sink")
os.mkdir(sinkdir)
os.chmod(sinkdir, 0o777)
sink_port = free_port()
sink_cmd = [SINK] + (["-u", "nobody"] if os.getuid() == 0 else []) + \
    ["-d", sinkdir + "/%M%S.", "127.0.0.1:%d" % sink_port, "10"]
procs.append(subprocess.Popen(sink_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

mdir = os.path.join(tmp, "milter")
os.mkdir(mdir)
store = os.path.join(mdir, "reports.db")
COMMON = """authserv_id %s
dns_server 127.0.0.1:%d
dns_timeout 2s
trusted_networks ""
log_level info
report_domain %s
report_org_name "Receiver Test"
report_email %s
report_smtp 127.0.0.1:%d
report_suppress suppressed.test quiet@beta.test
dkim_sign receiver.test rsa %s
dkim_sign receiver.test ed %s
""" % (HOST, nsd.port, REPORTER, REPORT_FROM, sink_port, rsa_key, ed_key)
conf = os.path.join(tmp, "authreport.conf")
with open(conf, "w") as f:
    f.write("report_store sqlite:%s\n" % store + COMMON)


def records():
    db = sqlite3.connect(store)
    try:
        return db.execute("SELECT COUNT(*) FROM records").fetchone()[0]
    finally:
        db.close()


# ---- 1. the messages, through both front ends ----

def milter_daemon():
    d = mc.Daemon(AUTHMILTER, mdir)
    d.write_config(COMMON)
    daemons.append(d)
    if not d.start():
        bail("the milter daemon did not start: " + d.log_text())
    return d


def test_message(domain, how, n):
    msg = message("user@" + domain, "mix %s %d" % (how, n), "%s-%s-%d" % (domain, how, n))
    if how != "plain":
        msg = sign(msg, sender_key, domain)
    if how == "forged":
        msg = msg.replace(b"Hello.", b"Hullo.")
    return msg


def milter_send(d, ip, raw, sender, rcpt, qid):
    """One message over the milter protocol: "accept", "quarantine" or the
    reply text, and the Authentication-Results value inserted."""
    headers, body = mc.fields(raw.replace(b"\r\n", b"\n"), trim_wsp=True)
    m = mc.Milter(d.sock)
    try:
        m.negotiate()
        m.connect(ip, b"[" + ip.encode() + b"]")
        m.step(mc.SMFIC_HELO, b"client.test\0", mc.SMFIP_NR_HELO)
        acts = m.message(headers, body.replace(b"\n", b"\r\n"), sender=b"<%s>" % sender,
                         rcpt=b"<%s>" % rcpt, queue_id=qid)
    finally:
        m.close()
    ar = [v for _, v in mc.inserted(acts, b"Authentication-Results")]
    if mc.final(acts)[0] == mc.SMFIR_REPLYCODE:
        return mc.reply_text(acts), ar
    if any(c == mc.SMFIR_QUARANTINE for c, _ in acts):
        return "quarantine", ar
    return "accept", ar


def smtp_reply(port, ip, raw, domain):
    code, text = smtp_send(port, raw, "user@" + domain, ["rcpt@receiver.test"], source=ip)
    if code == 550:
        return "550 " + text
    return "accept" if code == 250 else "%d %s" % (code, text)


start = time.time()
milter = milter_daemon()
maildir = os.path.join(tmp, "maildir")
smtp_port = free_port()
try:
    smtpd = Daemon(tmp, "smtpd", smtp_port, "report_store sqlite:%s\nmaildir %s\n"
                   % (store, maildir) + COMMON)
except RuntimeError as e:
    bail(str(e))
daemons.append(smtpd)

quarantined = 0
for front, ip, domain, how, count in MIX:
    want = expected_reply(ip, domain, how)
    got = []
    for n in range(count):
        raw = test_message(domain, how, n)
        if front == "milter":
            got.append(milter_send(milter, ip, raw, b"user@" + domain.encode(),
                                   b"rcpt@receiver.test", b"Q%d" % len(got))[0])
        else:
            reply = smtp_reply(smtp_port, ip, raw, domain)
            # The listener files a quarantined message itself.
            got.append("quarantine" if reply == "accept" and want == "quarantine" else reply)
            quarantined += want == "quarantine"
    is_(got, [want] * count, "%s, %s from %s (%s): %s" % (front, domain, ip, how, want))
ok(len(wait_files(os.path.join(maildir, ".Quarantine"), quarantined)) == quarantined,
   "the listener filed its %d quarantined messages in .Quarantine" % quarantined)
is_((milter.stop(), smtpd.stop()), (0, 0), "SIGTERM: both daemons exit 0")
sent_total = sum(c for *_, c in MIX)
is_(records(), sent_total, "the one store holds a record for each of the %d messages" %
    sent_total)
day_from = int(start) // 86400 * 86400
# Through the day the run ends in, should it cross midnight UTC.
day_until = (int(time.time()) + 120) // 86400 * 86400 + 86400

# ---- 2. generate and send ----


def authreport(*args):
    p = subprocess.run([AUTHREPORT, "-c", conf] + list(args), capture_output=True, text=True)
    if p.stderr:
        diag("authreport %s: %s" % (args[0], p.stderr))
    return p.returncode, p.stdout


rc, out = authreport("generate", "--from", str(day_from), "--until", str(day_until))
db = sqlite3.connect(store)
stored = {d: (u, f, x) for d, u, f, x in db.execute(
    "SELECT policy_domain, unique_id, filename, xml FROM reports")}
db.close()
ids = {d: stored.get(d, ("?", ""))[0] for d in POLICY}
names = ["%s!%s!%d!%d!%s.xml.gz" % (REPORTER, d, day_from, day_until, ids[d])
         for d in sorted(POLICY)]
is_((rc, out.splitlines()), (0, names), "generate: exit 0, one report per policy domain")
is_({d: f for d, (u, f, x) in stored.items()}, dict(zip(sorted(POLICY), names)),
    "the store keeps each report under that name")

NOAUTH = "the destination publishes no authorization record"
ELSEWHERE = "the authorization record sends the reports to another host"
SUPP = "suppressed by report_suppress"


def send_lines(ids_):
    """What authreport send prints for each policy domain's report, its
    destinations in order, given the reports' ids."""
    a, b, g = ids_["alpha.test"], ids_["beta.test"], ids_["gamma.test"]
    return {"alpha.test": ["sent %s mailto:agg@auth-dest.test: ok" % a,
                           "failed %s mailto:agg@noauth-dest.test: %s" % (a, NOAUTH),
                           "failed %s mailto:agg@redirect-dest.test: %s" % (a, ELSEWHERE),
                           "failed %s mailto:agg@suppressed.test: %s" % (a, SUPP),
                           "sent %s mailto:dmarc@alpha.test: ok" % a],
            "beta.test": ["sent %s mailto:agg@auth-dest.test!10m: ok" % b,
                          "failed %s mailto:quiet@beta.test: %s" % (b, SUPP),
                          "sent %s mailto:rua@beta.test: ok" % b],
            "gamma.test": ["sent %s mailto:dmarc@gamma.test: ok" % g,
                           "failed %s mailto:dmarc@suppressed.test: %s" % (g, SUPP)]}


rc, out = authreport("send")
want = send_lines(ids)
is_((rc, out.splitlines()), (0, want["alpha.test"] + want["beta.test"] + want["gamma.test"] +
                             ["5 sent, 5 failed, 0 deferred, 0 left for the next run"]),
    "send: exit 0, one exact line per destination and the count")
db = sqlite3.connect(store)
states = sorted(db.execute(
    "SELECT r.policy_domain, d.uri, d.state, d.attempts, d.last_error IS NULL"
    " FROM report_destinations d JOIN reports r ON r.id = d.report"))
db.close()
is_(states, [
    ("alpha.test", "mailto:agg@auth-dest.test", "sent", 1, 1),
    ("alpha.test", "mailto:agg@noauth-dest.test", "failed", 1, 0),
    ("alpha.test", "mailto:agg@redirect-dest.test", "failed", 1, 0),
    ("alpha.test", "mailto:agg@suppressed.test", "failed", 1, 0),
    ("alpha.test", "mailto:dmarc@alpha.test", "sent", 1, 1),
    ("beta.test", "mailto:agg@auth-dest.test!10m", "sent", 1, 1),
    ("beta.test", "mailto:quiet@beta.test", "failed", 1, 0),
    ("beta.test", "mailto:rua@beta.test", "sent", 1, 1),
    ("gamma.test", "mailto:dmarc@gamma.test", "sent", 1, 1),
    ("gamma.test", "mailto:dmarc@suppressed.test", "failed", 1, 0)],
    "the store marks each destination sent or failed (with its reason), one attempt each")

# ---- 3. what the sink received ----

SINK_FIELDS = ("X-Client-Addr:", "X-Client-Proto:", "X-Helo-Args:", "X-Mail-Args:",
               "X-Rcpt-Args:")


def take_mails(n, seconds=5):
    """The sink's dumps (at least n, waiting for them): (envelope sender,
    recipients, the message with CRLF line ends, smtp-sink's own X- fields
    left out)."""
    deadline = time.time() + seconds
    while len(os.listdir(sinkdir)) < n and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    out = []
    for f in sorted(os.listdir(sinkdir)):
        lines = read(os.path.join(sinkdir, f)).split(b"\n")
        os.unlink(os.path.join(sinkdir, f))
        env = [x.decode() for x in lines if x.decode("latin-1").startswith(SINK_FIELDS)]
        body = lines[len(env):]
        out.append((next((e[13:] for e in env if e.startswith("X-Mail-Args:")), ""),
                    sorted(e[13:] for e in env if e.startswith("X-Rcpt-Args:")),
                    b"\r\n".join(body)))
    return out


resolver = dns.resolver.Resolver(configure=False)
resolver.nameservers = ["127.0.0.1"]
resolver.port = nsd.port


def dnsfunc(name, timeout=5):
    try:
        answer = resolver.resolve(name.decode().rstrip("."), "TXT", lifetime=timeout)
    except dns.exception.DNSException:
        return None
    return b"".join(answer[0].strings)


def authcheck(raw, ip=REPORTER_IP, mail_from=REPORT_FROM):
    path = os.path.join(tmp, "check.eml")
    with open(path, "wb") as f:
        f.write(raw)
    p = subprocess.run([AUTHCHECK, "--ip", ip, "--helo", "mx.receiver.test", "--mail-from",
                        mail_from, "--dns-server", "127.0.0.1:%d" % nsd.port, "--json", path],
                       capture_output=True, text=True)
    try:
        return json.loads(p.stdout)
    except ValueError:
        diag(p.stdout + p.stderr)
        return {}


def rows_of(root):
    out = []
    for rec in root.findall(NS + "record"):
        row, ids_, res = rec.find(NS + "row"), rec.find(NS + "identifiers"), \
            rec.find(NS + "auth_results")
        pe = row.find(NS + "policy_evaluated")
        out.append((row.findtext(NS + "source_ip"), int(row.findtext(NS + "count")),
                    pe.findtext(NS + "disposition"), pe.findtext(NS + "dkim"),
                    pe.findtext(NS + "spf"), ids_.findtext(NS + "header_from"),
                    ids_.findtext(NS + "envelope_from"), ids_.findtext(NS + "envelope_to"),
                    tuple((k.findtext(NS + "domain"), k.findtext(NS + "selector"),
                           k.findtext(NS + "result")) for k in res.findall(NS + "dkim")),
                    tuple((k.findtext(NS + "domain"), k.findtext(NS + "scope"),
                           k.findtext(NS + "result")) for k in res.findall(NS + "spf"))))
    return sorted(out)


def schema_valid(xml, fmt):
    """Whether xmllint finds xml valid against the RFC's schema (True
    when xmllint is not installed)."""
    if shutil.which("xmllint") is None:
        return True
    path = os.path.join(tmp, "report.xml")
    with open(path, "wb") as f:
        f.write(xml)
    p = subprocess.run(["xmllint", "--noout", "--schema", os.path.join(
        TOP, "tests", "data", "report", fmt + ".xsd"), path], capture_output=True, text=True)
    if p.returncode != 0:
        diag(p.stderr)
    return p.returncode == 0


def check_report(dom, xml):
    ok(schema_valid(xml, "rfc9990"), "  %s: the report is valid by RFC 9990's schema" % dom)
    root = ET.fromstring(xml)
    meta, pol = root.find(NS + "report_metadata"), root.find(NS + "policy_published")
    is_((root.tag, meta.findtext(NS + "org_name"), meta.findtext(NS + "email"),
         meta.findtext(NS + "report_id"), meta.findtext(NS + "date_range/" + NS + "begin"),
         meta.findtext(NS + "date_range/" + NS + "end")),
        (NS + "feedback", "Receiver Test", REPORT_FROM, ids[dom], str(day_from),
         str(day_until)), "  %s: the report's metadata" % dom)
    is_((pol.findtext(NS + "domain"), pol.findtext(NS + "p"), pol.findtext(NS + "adkim"),
         pol.findtext(NS + "aspf")), (dom, POLICY[dom], "r", "r"),
        "  %s: the policy as published" % dom)
    want = sorted(expected_row(ip, d, how, count) for _, ip, d, how, count in MIX if d == dom)
    got = rows_of(root)
    is_(got, want, "  %s: every row exactly as the messages were sent (%d rows, %d messages)"
        % (dom, len(want), sum(r[1] for r in want)))


def check_mail(env_from, rcpts, raw):
    """Checks one report mail; returns (recipient, policy domain)."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    subject = str(msg["Subject"])
    dom = next((d for d in POLICY if subject.startswith("Report Domain: %s " % d)), None)
    rcpt = rcpts[0][1:-1] if len(rcpts) == 1 else repr(rcpts)
    diag("%s: %s" % (rcpt, subject))
    if dom is None:
        ok(False, "a report mail about one of the policy domains: " + subject)
        return rcpt, None
    is_((env_from, str(msg["From"]), str(msg["To"])), ("<%s>" % REPORT_FROM, REPORT_FROM, rcpt),
        "  envelope sender and From are report_email, To the one envelope recipient")
    is_(subject, "Report Domain: %s Submitter: %s Report-ID: %s" % (dom, REPORTER, ids[dom]),
        "  Subject: Report Domain, Submitter, Report-ID")
    att = [p for p in msg.iter_attachments() if p.get_content_type() == "application/gzip"]
    is_([p.get_filename() for p in att], [stored[dom][1]],
        "  one application/gzip attachment, named as the stored report")
    d = dkim.DKIM(raw)
    sigs = [d.verify(idx=i, dnsfunc=dnsfunc) for i in range(2)]
    heads = [str(h) for h in msg.get_all("DKIM-Signature")]
    ok(sigs == [True, True] and all(" d=receiver.test;" in h for h in heads) and
       sorted("a=ed25519-sha256;" in h for h in heads) == [False, True],
       "  dkimpy verifies both signatures, rsa-sha256 and ed25519-sha256, d=receiver.test")
    r = authcheck(raw)
    is_(([(k.get("result"), k.get("d"), k.get("s")) for k in r.get("dkim", [])],
         r.get("spf", {}).get("result"), r.get("dmarc", {}).get("result"),
         r.get("dmarc", {}).get("from_domain")),
        ([("pass", REPORTER, "rsa"), ("pass", REPORTER, "ed")], "pass", "pass", REPORTER),
        "  authcheck: dkim=pass twice, spf=pass, dmarc=pass for receiver.test")
    if att:
        xml = gzip.decompress(att[0].get_payload(decode=True))
        is_(xml.decode(), stored[dom][2], "  the attachment is the stored report, gzipped")
        check_report(dom, xml)
    return rcpt, dom


mails = take_mails(5)
got = sorted(check_mail(*m) for m in mails)
is_(got, [("agg@auth-dest.test", "alpha.test"), ("agg@auth-dest.test", "beta.test"),
          ("dmarc@alpha.test", "alpha.test"), ("dmarc@gamma.test", "gamma.test"),
          ("rua@beta.test", "beta.test")],
    "the sink got one mail per authorized destination, none for the others")

# ---- 4. nothing twice ----

rc, out = authreport("generate", "--from", str(day_from), "--until", str(day_until))
is_((rc, out.splitlines()), (0, names), "generate again: the same names")
db = sqlite3.connect(store)
is_(dict(db.execute("SELECT policy_domain, xml FROM reports")), {d: stored[d][2] for d in POLICY},
    "and the same documents as were sent")
db.close()
rc, out = authreport("send")
is_((rc, out), (0, "0 sent, 0 failed, 0 deferred, 0 left for the next run\n"),
    "send again: nothing to send")
is_(take_mails(1, 1), [], "and the sink got nothing more")

# ---- 5. report mail fed back to the daemon ----

back = next((m for m in mails if m[1] == ["<dmarc@alpha.test>"]), None)
if back is None:
    bail("no report mail for dmarc@alpha.test to feed back")
before = records()
milter = milter_daemon()
reply, ar = milter_send(milter, REPORTER_IP, back[2], REPORT_FROM.encode(),
                        b"dmarc@alpha.test", b"BACK1")
is_((reply, authres(b"".join(b"Authentication-Results:" + v + b"\r\n" for v in ar) + b"\r\n")),
    ("accept", [HOST + " spf=pass dkim=pass dkim=pass dmarc=pass"]),
    "a report mail fed back from receiver.test's address: accepted, spf, dkim (twice), "
    "dmarc pass")
altered = back[2].replace(b"This is a DMARC aggregate report", b"This is a DMARC aggregate rep0rt")
reply, _ = milter_send(milter, "198.51.100.66", altered, REPORT_FROM.encode(),
                       b"dmarc@alpha.test", b"BACK2")
is_(reply, "550 5.7.1 Rejected by DMARC policy for receiver.test",
    "an altered copy from elsewhere fails DMARC: rejected")
is_(milter.stop(), 0, "SIGTERM: exit 0")
db = sqlite3.connect(store)
new = db.execute("SELECT policy_domain, source_ip, header_from, result, disposition FROM records"
                 " ORDER BY id LIMIT -1 OFFSET ?", (before,)).fetchall()
db.close()
is_(new, [(REPORTER, "198.51.100.66", REPORTER, "fail", "reject")],
    "only the altered copy was recorded (%d records before, %d after)"
    % (before, before + len(new)))

# ---- 6. RFC 7489's format, report_send_limit, Mail::DMARC ----

rc, out = authreport("generate", "--from", str(day_from), "--until", str(day_until),
                     "--format", "rfc7489")
db = sqlite3.connect(store)
ids7489 = dict(db.execute("SELECT policy_domain, unique_id FROM reports"
                          " WHERE format = 'rfc7489'"))
db.close()
is_((rc, out.splitlines()), (0, ["%s!%s!%d!%d!%s.xml.gz" % (
    REPORTER, d, day_from, day_until, ids7489.get(d, "?")) for d in sorted(POLICY) + [REPORTER]]),
    "generate --format rfc7489: four more reports, receiver.test's for the altered copy")
want = send_lines(dict((d, ids7489.get(d, "?")) for d in POLICY))
rc, out = authreport("-o", "report_send_limit=4", "send")
is_((rc, out.splitlines()), (75, want["alpha.test"] + want["beta.test"] +
                             ["4 sent, 4 failed, 0 deferred, 3 left for the next run"]),
    "send with report_send_limit 4: four mails, the rest left for the next run, exit 75")
rc, out = authreport("send")
is_((rc, out.splitlines()), (0, want["gamma.test"] + [
    "sent %s mailto:dmarc@receiver.test: ok" % ids7489.get(REPORTER),
    "2 sent, 1 failed, 0 deferred, 0 left for the next run"]),
    "the next send: the rest, receiver.test's to its own address")
mails = take_mails(6)
is_(sorted((m[1], email.message_from_bytes(m[2])["Subject"].split()[2]) for m in mails),
    [(["<agg@auth-dest.test>"], "alpha.test"), (["<agg@auth-dest.test>"], "beta.test"),
     (["<dmarc@alpha.test>"], "alpha.test"), (["<dmarc@gamma.test>"], "gamma.test"),
     (["<dmarc@receiver.test>"], REPORTER), (["<rua@beta.test>"], "beta.test")],
    "the sink got one mail per authorized destination")
mail7489 = next((m[2] for m in mails if m[1] == ["<dmarc@alpha.test>"]), b"")
att = [p for p in email.message_from_bytes(mail7489, policy=email.policy.default)
       .iter_attachments() if p.get_content_type() == "application/gzip"]
ok(len(att) == 1 and schema_valid(gzip.decompress(att[0].get_payload(decode=True)), "rfc7489"),
   "alpha.test's RFC 7489 report is valid by RFC 7489's schema")
if shutil.which("dmarc_receive"):
    ini = os.path.join(tmp, "mail-dmarc.ini")
    with open(ini, "w") as f:
        f.write("[organization]\ndomain = alpha.test\norg_name = Alpha\nemail = dmarc@alpha.test\n"
                "[report_store]\nbackend = SQL\ndsn = dbi:SQLite:dbname=%s/maildmarc.sqlite\n"
                % tmp)
    path = os.path.join(tmp, "7489.eml")
    with open(path, "wb") as f:
        f.write(mail7489)
    p = subprocess.run(["dmarc_receive", "--file", path], capture_output=True, text=True,
                       env=dict(os.environ, MAIL_DMARC_CONFIG_FILE=ini))
    got = None
    if p.returncode == 0:
        db = sqlite3.connect(os.path.join(tmp, "maildmarc.sqlite"))
        got = db.execute("SELECT d.domain, SUM(rr.count), COUNT(rr.id) FROM report r"
                         " JOIN domain d ON d.id = r.from_domain_id JOIN report_record rr"
                         " ON rr.report_id = r.id GROUP BY d.domain").fetchall()
        db.close()
    else:
        diag(p.stdout + p.stderr)
    want = [r for r in (expected_row(ip, d, how, c) for _, ip, d, how, c in MIX)
            if r[5] == "alpha.test"]
    is_(got, [("alpha.test", sum(r[1] for r in want), len(want))],
        "Mail::DMARC's dmarc_receive reads the alpha.test report mail: messages and rows")
else:
    diag("dmarc_receive not installed: Mail::DMARC's reading left out")

diag("%.1f s" % (time.time() - start))
done()
