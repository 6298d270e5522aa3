#!/usr/bin/python3
"""metrics - the milter daemon's Prometheus endpoint, scraped with curl.

The lab is tests/lib/forgerylab.py (nsd behind a forwarder that lets chosen
names time out) with two more domains: lax.example (p=none) and
hold.example (p=quarantine).  The daemon, with metrics_listen on a free
loopback port, gets over the milter protocol (tests/lib/milterclient.py),
one connection each:

  3  genuine bank.example mail, signed: SPF, DKIM and DMARC pass, accepted;
  2  unsigned lax.example mail from outside its SPF: fail, p=none, accepted;
  1  the same for hold.example: quarantined;
  1  a forged bank.example message: DMARC fail, rejected;
  1  a forwarded bank.example message whose key times out: DKIM and DMARC
     temperror, accepted.

Every count is then checked exactly against that: messages, results,
actions, dispositions, connections, the end-of-message histogram, the
report records stored; and the DNS side against itself and the
forwarder: every query ended one way, timeouts are what the forwarder
dropped, each query a cache miss.  The whole exposition is read by a
strict parser of the text format 0.0.4 (below); other paths are 404,
other methods 405, HEAD has the headers and no body.
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests", "lib"))
import forgerylab as lab_  # noqa: E402
import milterclient as mc  # noqa: E402
import tap  # noqa: E402

ZONE_EXTRA = """lax IN TXT "v=spf1 ip4:192.0.2.0/25 -all"
_dmarc.lax IN TXT "v=DMARC1; p=none"
hold IN TXT "v=spf1 ip4:192.0.2.0/25 -all"
_dmarc.hold IN TXT "v=DMARC1; p=quarantine"
"""
OUTSIDER = "203.0.113.50"

# ---- a strict reader of the text format, version 0.0.4 ----

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)(?:\{(%s(?:,%s)*)?\})? (\S+)$" % (NAME, LABEL, LABEL))
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


class FormatError(Exception):
    pass


def parse_value(text):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf"))
    if not re.match(r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$", text):
        raise FormatError("not a number: %r" % text)
    return float(text)


def family_of(name, families):
    """The family a sample name belongs to, and its suffix."""
    if name in families and families[name]["type"] != "histogram":
        return name, ""
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and families.get(base, {}).get("type") == "histogram":
            return base, suffix
    raise FormatError("sample %s of no declared family" % name)


def parse_line(line, families, current, series):
    if line.startswith("# HELP "):
        parts = line.split(" ", 3)
        if len(parts) < 4 or not re.match("^%s$" % NAME, parts[2]) or parts[2] in families:
            raise FormatError("bad or repeated HELP: %r" % line)
        families[parts[2]] = {"help": parts[3], "type": None, "samples": []}
        return parts[2]
    if line.startswith("# TYPE "):
        parts = line.split(" ")
        if (len(parts) != 4 or parts[2] != current or parts[3] not in TYPES or
                families[current]["type"] is not None or families[current]["samples"]):
            raise FormatError("TYPE not right after its HELP: %r" % line)
        families[current]["type"] = parts[3]
        return current
    if line.startswith("#") or not line:
        raise FormatError("stray line: %r" % line)
    m = SAMPLE.match(line)
    if not m:
        raise FormatError("not a sample: %r" % line)
    base, suffix = family_of(m.group(1), families)
    if base != current or families[base]["type"] is None:
        raise FormatError("sample outside its family's block: %r" % line)
    labels = tuple(sorted(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"',
                                     m.group(2) or "")))
    key = (m.group(1), labels)
    if key in series:
        raise FormatError("repeated series: %r" % line)
    series[key] = parse_value(m.group(3))
    families[base]["samples"].append((suffix, dict(labels), series[key]))
    return current


def check_histogram(name, fam):
    groups = {}
    for suffix, labels, value in fam["samples"]:
        rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        g = groups.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if suffix == "_bucket":
            if "le" not in labels:
                raise FormatError("%s bucket without le" % name)
            g["buckets"].append((parse_value(labels["le"]), value))
        else:
            g[suffix[1:]] = value
    for rest, g in groups.items():
        les = [le for le, _ in g["buckets"]]
        counts = [c for _, c in g["buckets"]]
        if les != sorted(les) or not les or les[-1] != float("inf"):
            raise FormatError("%s%r: buckets not in order up to +Inf" % (name, rest))
        if counts != sorted(counts):
            raise FormatError("%s%r: buckets not cumulative" % (name, rest))
        if g["count"] != counts[-1] or g["sum"] is None:
            raise FormatError("%s%r: _count is not +Inf, or no _sum" % (name, rest))


def parse_exposition(text):
    """{(name, ((label, value), ...)): value}; raises FormatError."""
    if not text.endswith("\n"):
        raise FormatError("does not end with a line end")
    families, series, current = {}, {}, None
    for line in text[:-1].split("\n"):
        current = parse_line(line, families, current, series)
    for name, fam in families.items():
        if fam["type"] is None or not fam["samples"]:
            raise FormatError("%s: no TYPE or no sample" % name)
        if fam["type"] == "counter" and any(v < 0 for _, _, v in fam["samples"]):
            raise FormatError("%s: a negative counter" % name)
        if fam["type"] == "histogram":
            check_histogram(name, fam)
    return series


# ---- the run ----

def curl(port, path="/metrics", *args):
    """(status, headers, body) of one request with curl."""
    p = subprocess.run(["curl", "-s", "-S", "-i", "--max-time", "10"] + list(args) +
                       ["http://127.0.0.1:%d%s" % (port, path)],
                       capture_output=True, timeout=30)
    raw = p.stdout.decode("utf-8", "replace")
    head, _, body = raw.partition("\r\n\r\n")
    lines = head.split("\r\n")
    status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else None
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    return status, headers, body


def scrape(port):
    status, headers, body = curl(port)
    if status != 200:
        raise FormatError("GET /metrics: %r" % status)
    return parse_exposition(body)


def val(series, name, **labels):
    return series.get((name, tuple(sorted(labels.items()))))


def send(d, n, raw, ip, sender):
    headers, body = mc.fields(raw)
    m = mc.Milter(d.sock)
    try:
        m.negotiate()
        m.connect(ip=ip, host=("[%s]" % ip).encode())
        m.step(mc.SMFIC_HELO, b"client.example\0", mc.SMFIP_NR_HELO)
        return m.message(headers, body=body, sender=sender, queue_id=b"M%d" % n,
                         rcpt=b"<ceo@mx.test>")
    finally:
        m.close()


def unsigned(domain):
    return (b"From: someone@%s\r\nTo: ceo@mx.test\r\nSubject: hello\r\n"
            b"Message-ID: <u@%s>\r\n\r\nHello.\r\n" % (domain, domain))


def messages(lab):
    """(raw, ip, sender, what the milter answers) for each message sent."""
    out = []
    for i in range(3):
        raw = lab.sign(lab_.genuine(b"figures", b"m%d" % i), "bank.example", "sel")
        out.append((raw, "192.0.2.10", b"<ceo@bank.example>", mc.SMFIR_CONTINUE))
    for _ in range(2):
        out.append((unsigned(b"lax.example"), OUTSIDER, b"<x@lax.example>", mc.SMFIR_CONTINUE))
    out.append((unsigned(b"hold.example"), OUTSIDER, b"<x@hold.example>", mc.SMFIR_CONTINUE))
    out.append((lab_.forged(), lab_.FORGER_IP, lab_.FORGER_FROM, mc.SMFIR_REPLYCODE))
    fwd = lab_.forwarded_case(lab)
    out.append((fwd.raw, fwd.ip, fwd.mail_from, mc.SMFIR_CONTINUE))
    return out


EXPECTED = [
    ("authmilter_messages_total", {"frontend": "milter"}, 8),
    ("authmilter_messages_total", {"frontend": "smtp"}, 0),
    ("authmilter_spf_results_total", {"result": "pass"}, 5),
    ("authmilter_spf_results_total", {"result": "fail"}, 3),
    ("authmilter_dkim_results_total", {"result": "pass"}, 3),
    ("authmilter_dkim_results_total", {"result": "none"}, 4),
    ("authmilter_dkim_results_total", {"result": "temperror"}, 1),
    ("authmilter_dmarc_results_total", {"result": "pass"}, 3),
    ("authmilter_dmarc_results_total", {"result": "fail"}, 4),
    ("authmilter_dmarc_results_total", {"result": "temperror"}, 1),
    ("authmilter_actions_total", {"action": "accept"}, 6),
    ("authmilter_actions_total", {"action": "quarantine"}, 1),
    ("authmilter_actions_total", {"action": "reject"}, 1),
    ("authmilter_actions_total", {"action": "tempfail"}, 0),
    ("authmilter_dmarc_dispositions_total", {"disposition": "none"}, 6),
    ("authmilter_dmarc_dispositions_total", {"disposition": "quarantine"}, 1),
    ("authmilter_dmarc_dispositions_total", {"disposition": "reject"}, 1),
    ("authmilter_end_of_message_seconds_count", {"frontend": "milter"}, 8),
]


def family_total(series, name):
    return sum(v for (n, _), v in series.items() if n == name)


def check_counts(s):
    for name, labels, want in EXPECTED:
        tap.is_(val(s, name, **labels), want, "%s%r = %d" % (name, labels, want))
    for fam in ("spf", "dmarc"):
        tap.is_(family_total(s, "authmilter_%s_results_total" % fam), 8,
                "%s results add up to the messages" % fam)
    tap.is_(family_total(s, "authmilter_actions_total"), 8, "actions add up to the messages")


def check_dns(s, lab):
    queries = val(s, "authmilter_dns_queries_total")
    answers = family_total(s, "authmilter_dns_answers_total")
    tap.ok(queries > 0 and answers == queries,
           "every DNS query ended one way (%r queries, %r ends)" % (queries, answers))
    tap.is_(val(s, "authmilter_dns_answers_total", kind="timeout"), len(lab.dropped()),
            "timeouts are the queries the forwarder dropped (%s)" % lab.dropped())
    for kind in ("servfail", "refused", "other", "malformed"):
        tap.is_(val(s, "authmilter_dns_answers_total", kind=kind), 0, "no %s answer" % kind)
    tap.is_(val(s, "authmilter_dns_cache_misses_total"), queries,
            "each query was a cache miss")
    tap.is_(val(s, "authmilter_dns_lookup_seconds_count"), queries, "each look-up timed")
    tap.ok(val(s, "authmilter_dns_cache_hits_total") > 0, "the cache answered some")
    tap.ok(val(s, "authmilter_dns_cache_entries") > 0, "the cache holds answers")


def wait_for(port, cond, seconds=15):
    """The last scrape, once cond(scrape) or after seconds."""
    s = scrape(port)
    deadline = time.time() + seconds
    while not cond(s) and time.time() < deadline:
        time.sleep(0.2)
        s = scrape(port)
    return s


def check_http(port):
    status, headers, body = curl(port)
    tap.is_(headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8",
            "the exposition's content type")
    tap.is_(headers.get("connection"), "close", "Connection: close")
    length = headers.get("content-length")
    hstatus, hheaders, hbody = curl(port, "/metrics", "-I")
    tap.ok(hstatus == 200 and hbody == "" and hheaders.get("content-length") is not None,
           "HEAD: 200, the headers, no body")
    tap.ok(length is not None and int(length) == len(body.encode()),
           "Content-Length is the body's")
    for path in ("/", "/metrics/", "/metric", "/favicon.ico"):
        tap.is_(curl(port, path)[0], 404, "GET %s: 404" % path)
    for method in ("POST", "PUT", "DELETE"):
        st, h, _ = curl(port, "/metrics", "-X", method)
        tap.ok(st == 405 and h.get("allow") == "GET, HEAD", "%s /metrics: 405, Allow" % method)


BAD_EXPOSITIONS = [
    ("no line end at the end", "# HELP a_total x\n# TYPE a_total counter\na_total 1"),
    ("a sample before its TYPE", "# HELP a_total x\na_total 1\n"),
    ("no HELP", "# TYPE a_total counter\na_total 1\n"),
    ("a sample of another family", "# HELP a x\n# TYPE a gauge\nb 1\n"),
    ("a repeated series", "# HELP a x\n# TYPE a gauge\na 1\na 2\n"),
    ("an unquoted label", "# HELP a x\n# TYPE a gauge\na{k=v} 1\n"),
    ("a value that is no number", "# HELP a x\n# TYPE a gauge\na one\n"),
    ("buckets not cumulative", "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\n"
     "h_bucket{le=\"+Inf\"} 1\nh_sum 0\nh_count 1\n"),
    ("_count not +Inf", "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\n"
     "h_sum 0\nh_count 2\n"),
]


def check_parser():
    """The reader refuses what the format does not allow."""
    for what, text in BAD_EXPOSITIONS:
        try:
            parse_exposition(text)
            tap.ok(False, "the strict reader refuses %s" % what)
        except FormatError:
            tap.ok(True, "the strict reader refuses %s" % what)


def run(lab, tmp):
    check_parser()
    binary = os.path.join(os.environ.get("top_builddir", "."), "milter", "authmilter")
    port = mc.free_port()
    d = mc.Daemon(binary, os.path.join(tmp, "daemon"))
    os.mkdir(d.tmp)
    d.write_config("authserv_id %s\ndns_server 127.0.0.1:%d\ndns_timeout 1s\ndns_retries 0\n"
                   "trusted_networks \"\"\nmetrics_listen 127.0.0.1:%d\n"
                   % (lab_.AUTHSERV, lab.dns_port, port))
    if not tap.ok(d.start(), "the daemon starts with metrics_listen 127.0.0.1:%d" % port):
        tap.diag(d.log_text())
        return
    try:
        before = wait_for(port, lambda s: val(s, "authmilter_connections",
                                              frontend="milter") == 0)
        tap.is_(val(before, "authmilter_messages_total", frontend="milter"), 0,
                "no message counted before any was sent")
        for n, (raw, ip, sender, want) in enumerate(messages(lab)):
            acts = send(d, n, raw, ip, sender)
            if not tap.is_(mc.final(acts)[0], want, "message %d answered as expected" % n):
                tap.diag(d.summary("M%d" % n))
        after = wait_for(port, lambda s: val(s, "authmilter_connections", frontend="milter") == 0
                         and val(s, "authmilter_report_records_stored_total") == 8)
        tap.ok(len(after) > 50, "the whole exposition parses: %d series" % len(after))
        check_counts(after)
        opened = (val(after, "authmilter_connections_total", frontend="milter") -
                  val(before, "authmilter_connections_total", frontend="milter"))
        tap.is_(opened, 8, "eight milter connections counted")
        tap.is_(val(after, "authmilter_connections", frontend="milter"), 0,
                "none open once all closed")
        tap.is_(val(after, "authmilter_report_records_stored_total"), 8,
                "eight report records stored")
        tap.is_(val(after, "authmilter_report_records_dropped_total"), 0, "none dropped")
        tap.is_(val(after, "authmilter_report_queue_depth"), 0, "none waiting")
        check_dns(after, lab)
        check_http(port)
    except lab_.subprocess.TimeoutExpired as e:
        tap.ok(False, "curl finished: %r" % e)
    except FormatError as e:
        tap.ok(False, "the exposition parses: %s" % e)
    finally:
        tap.is_(d.stop(), 0, "the daemon exits 0 on SIGTERM")
        if tap.failures:
            tap.diag(d.log_text()[-4000:])


if __name__ == "__main__":
    if subprocess.run(["sh", "-c", "command -v curl"], capture_output=True).returncode != 0:
        tap.skip_all("curl not installed")
    sys.exit(lab_.run_tests("metrics-", run, zone_extra=ZONE_EXTRA))
