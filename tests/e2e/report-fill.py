#!/usr/bin/python3
"""report-fill - helpers of report-consumers.sh.

  report-fill.py DB DAY              writes the test's known records into the
                                     authreport store DB (SQLite)
  report-fill.py --dmarc-cat FILE    sums dmarc-cat's output: domain=messages
  report-fill.py --mail REPORT OUT   the report as mail, as RFC 9990 says
  report-fill.py --mail-dmarc DB     sums Mail::DMARC's store: domain=messages/rows
"""
import email.message
import email.utils
import os
import re
import sqlite3
import sys

COLS = ("uid, host, time, policy_domain, header_from, envelope_from, envelope_to, source_ip,"
        " discovery, p, sp, np, adkim, aspf, fo, pct, testing, rua, result, disposition,"
        " dkim_aligned, spf_aligned, override, spf_domain, spf_scope, spf_result, dkim")


def fill(path, day):
    rows = []

    def add(count, dom, ip, result, disp, aligned, override, spf, dkim, p="reject", when=None):
        for _ in range(count):
            t = when if when is not None else day + 100 + len(rows)
            rows.append(("u%d" % len(rows), "mx1", t, dom, dom, dom, "receiver.test", ip,
                         "treewalk", p, "", "", "r", "r", "", -1, 0, "mailto:dmarc@" + dom,
                         result, disp, aligned, aligned, override, dom, "mfrom", spf, dkim))

    add(5, "example.org", "192.0.2.1", "pass", "none", 1, "", "pass", "example.org/sel/pass")
    add(2, "example.org", "198.51.100.7", "fail", "reject", 0, "", "fail", "")
    add(1, "example.org", "2001:db8::9", "fail", "quarantine", 0, "local_policy", "softfail",
        "evil.test/x/fail")
    add(3, "other.test", "203.0.113.5", "fail", "none", 0, "", "fail", "", p="none")
    add(1, "example.org", "192.0.2.1", "pass", "none", 1, "", "pass", "", when=day + 86400 + 5)
    db = sqlite3.connect(path)
    db.executemany("INSERT INTO records (%s) VALUES (%s)" % (COLS, ",".join("?" * 27)), rows)
    db.commit()


def dmarc_cat(path):
    """dmarc-cat prints a header naming the domain, then one line per row
    beginning with the source IP and its count."""
    total = {}
    dom = None
    with open(path) as f:
        for line in f:
            m = re.search(r"Domain:\s*(\S+)", line)
            if m:
                dom = m.group(1)
            m = re.match(r"\s*([0-9a-fA-F:.]*[:.][0-9a-fA-F:.]*)\s+(\d+)\s", line)
            if m and dom:
                total[dom] = total.get(dom, 0) + int(m.group(2))
    print(" ".join("%s=%d" % kv for kv in sorted(total.items())))


def mail(path, out):
    name = os.path.basename(path)
    receiver, domain, _begin, _end, rest = name.split("!")
    rid = rest.split(".")[0]
    m = email.message.EmailMessage()
    m["From"] = "dmarc-noreply@" + receiver
    m["To"] = "dmarc@" + domain
    m["Subject"] = "Report Domain: %s Submitter: %s Report-ID: <%s>" % (domain, receiver, rid)
    m["Date"] = email.utils.formatdate()
    m["Message-ID"] = "<%s@%s>" % (rid, receiver)
    m.set_content("DMARC aggregate report.\n")
    with open(path, "rb") as f:
        m.add_attachment(f.read(), maintype="application", subtype="gzip", filename=name)
    with open(out, "wb") as f:
        f.write(bytes(m))


def mail_dmarc(path):
    db = sqlite3.connect(path)
    q = ("SELECT d.domain, SUM(rr.count), COUNT(rr.id) FROM report r"
         " JOIN domain d ON d.id = r.from_domain_id"
         " JOIN report_record rr ON rr.report_id = r.id GROUP BY d.domain ORDER BY d.domain")
    print(" ".join("%s=%d/%d" % row for row in db.execute(q)))


if __name__ == "__main__":
    if sys.argv[1] == "--dmarc-cat":
        dmarc_cat(sys.argv[2])
    elif sys.argv[1] == "--mail":
        mail(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "--mail-dmarc":
        mail_dmarc(sys.argv[2])
    else:
        fill(sys.argv[1], int(sys.argv[2]))
