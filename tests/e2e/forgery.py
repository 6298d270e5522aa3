#!/usr/bin/python3
"""forgery - forged p=reject mail through the daemon, over the milter protocol.

The MTA side is tests/lib/milterclient.py; the messages and the DNS they
are judged against are tests/lib/forgerylab.py: nsd serves bank.example
(p=reject), the forger's evil.example and a forwarder, behind a forwarder
that makes the forger's own _dmarc record and two key selectors time out.
Each message goes field by field as an MTA passes it (names up to the
colon; those written with WSP before the colon once with it, "From ", and
once trimmed, as Postfix and Sendmail trim it), through three daemons:

  - the default configuration: every forged message is refused, 550 5.7.1;
  - on_dns_tempfail tempfail: the same, so the forger's own timeouts never
    turn the 550 into a 451;
  - report_only: the message passes, and what would be delivered shows the
    verdict's header edits: every forged field claiming our authserv-id
    deleted (SMFIR_CHGHEADER, its index among the Authentication-Results
    fields, bottom first), ours inserted at the top and clean.

And the other side: a genuine bank.example message, forwarded, whose key
look-up times out is accepted by default and deferred (451) with
on_dns_tempfail tempfail, never refused; a genuine signed one carrying
forged fields is accepted with them deleted.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests", "lib"))
import forgerylab as lab_  # noqa: E402
import milterclient as mc  # noqa: E402
import tap  # noqa: E402
from forgerylab import AUTHSERV  # noqa: E402

qid_n = 0


def config(dns_port, extra=""):
    # A short DNS timeout keeps the look-ups that time out quick; nothing
    # else differs from the defaults but what the daemon is named after.
    return ("authserv_id %s\ndns_server 127.0.0.1:%d\ndns_timeout 1s\ndns_retries 0\n"
            "trusted_networks \"\"\nlog_level info\n" % (AUTHSERV, dns_port) + extra)


def send(d, case, trim):
    """The case through daemon d; returns (actions, queue id)."""
    global qid_n
    qid_n += 1
    qid = "F%d" % qid_n
    headers, body = mc.fields(case.raw, trim_wsp=trim)
    m = mc.Milter(d.sock)
    try:
        m.negotiate()
        m.connect(ip=case.ip, host=("[%s]" % case.ip).encode())
        m.step(mc.SMFIC_HELO, b"evil.example\0", mc.SMFIP_NR_HELO)
        return m.message(headers, body=body, sender=case.mail_from, queue_id=qid.encode(),
                         rcpt=b"<ceo@mx.test>"), qid
    finally:
        m.close()


def variants(case):
    return [(False, "name up to the colon"), (True, "name trimmed")] if case.wsp else [
        (False, "")]


def label(d, case, how):
    return "%s: %s%s" % (d.label, case.name, " (%s)" % how if how else "")


def refused(d, case):
    for trim, how in variants(case):
        what = label(d, case, how)
        acts, qid = send(d, case, trim)
        text = mc.reply_text(acts)
        if not tap.ok(text in case.texts, "%s: refused, 550 5.7.1" % what):
            tap.diag("reply: %r" % text)
            tap.diag("log: %s" % d.summary(qid))
            continue
        line = (d.summary(qid) or "") + " "
        if case.log:
            tap.ok(" spf=pass %s from=bank.example disposition=reject action=reject " % case.log
                   in line,
                   "%s: logged as %s, rejected (%s)" % (what, case.log, line.strip()))
        else:
            tap.ok(" action=reject " in line, "%s: logged as a rejection" % what)


def edits_ok(what, acts, case, dmarc):
    """The forged fields deleted, ours at the top saying dmarc."""
    tap.is_(mc.changes(acts), case.deletions(),
            "%s: the %d forged A-R deleted, bottom first" % (what, case.forged) if case.forged
            else "%s: no field deleted" % what)
    ours = mc.inserted(acts, b"Authentication-Results")
    res = lab_.our_results(ours[0][1]) if len(ours) == 1 and ours[0][0] == 0 else None
    if not tap.ok(res is not None and res.get("dmarc") == dmarc,
                  "%s: ours inserted at the top, clean, dmarc=%s" % (what, dmarc or "(none)")):
        tap.diag("inserted: %r" % [(i, v[:300]) for i, v in ours])


def edited(d, case):
    """Through the report_only daemon: delivered with the verdict's edits."""
    for trim, how in variants(case):
        what = label(d, case, how)
        acts, qid = send(d, case, trim)
        if case.hidden:
            tap.ok(mc.reply_text(acts) in case.texts and not mc.changes(acts),
                   "%s: refused even so (%s)" % (what, mc.reply_text(acts)))
            continue
        cmd, _ = mc.final(acts)
        if not tap.ok(cmd == mc.SMFIR_CONTINUE, "%s: passed on" % what):
            tap.diag("reply: %r; log: %s" % (mc.reply_text(acts), d.summary(qid)))
            continue
        edits_ok(what, acts, case, case.dmarc)


def genuine_checks(lab, default, tempfail):
    fwd = lab_.forwarded_case(lab)
    acts, qid = send(default, fwd, False)
    line = default.summary(qid) or ""
    tap.ok(mc.final(acts)[0] == mc.SMFIR_CONTINUE and
           "dkim=temperror(bank.example) dmarc=temperror " in line,
           "default: %s: accepted, dmarc=temperror (%s)" % (fwd.name, line))
    edits_ok("default: " + fwd.name, acts, fwd, "temperror")
    acts, qid = send(tempfail, fwd, False)
    tap.is_(mc.reply_text(acts),
            "451 4.4.3 Temporary DNS failure checking bank.example; try again later",
            "tempfail: %s: deferred with 451 4.4.3" % fwd.name)
    tap.ok("slowkey._domainkey.bank.example/TXT" in lab.dropped(),
           "the bank's key look-up did time out")
    good = lab_.genuine_flood_case(lab, 40)
    for d in (default, tempfail):
        for trim, how in variants(good):
            what = label(d, good, how)
            acts, qid = send(d, good, trim)
            line = d.summary(qid) or ""
            tap.ok(mc.final(acts)[0] == mc.SMFIR_CONTINUE and
                   "dkim=pass(bank.example) dmarc=pass " in line,
                   "%s: accepted, dmarc=pass (%s)" % (what, line))
            edits_ok(what, acts, good, "pass")


def start(lab, binary, tmp, name, extra=""):
    d = mc.Daemon(binary, os.path.join(tmp, name))
    d.label = name
    os.mkdir(d.tmp)
    d.write_config(config(lab.dns_port, extra))
    if not tap.ok(d.start(), "%s daemon starts" % name):
        tap.diag(d.log_text())
        return None
    return d


def checks(lab, default, tempfail, report):
    cases = (lab_.header_cases() + lab_.envelope_cases() + lab_.author_cases() +
             lab_.from_syntax_cases() + [lab_.flood_case(), lab_.unsigned_from_case(lab)])
    dns = lab_.dns_cases(lab)
    for case in cases + dns:
        refused(default, case)
        refused(tempfail, case)
        edited(report, case)
    slow = lab.dropped()
    tap.diag("timed out: %s" % sorted(set(slow)))
    tap.ok("slowkey._domainkey.evil.example/TXT" in slow,
           "the forger's key look-up did time out (%s)" % sorted(set(slow)))
    genuine_checks(lab, default, tempfail)


def run(lab, tmp):
    binary = os.path.join(os.environ.get("top_builddir", "."), "milter", "authmilter")
    daemons = []
    try:
        for name, extra in (("default", ""), ("tempfail", "on_dns_tempfail tempfail\n"),
                            ("report_only", "report_only yes\n")):
            d = start(lab, binary, tmp, name, extra)
            if d is None:
                return
            daemons.append(d)
        checks(lab, *daemons)
    finally:
        for d in daemons:  # they drain at once
            d.proc.terminate()
        for d in daemons:
            tap.is_(d.stop(), 0, "%s daemon exits 0 on SIGTERM" % d.label)
        if tap.failures:
            for d in daemons:
                tap.diag("%s log (end):" % d.label)
                tap.diag(d.log_text()[-3000:])


if __name__ == "__main__":
    sys.exit(lab_.run_tests("forgery-", run))
