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
import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests", "lib"))
import faultlab as fl  # noqa: E402
import tap  # noqa: E402
from faultlab import Msg  # noqa: E402

PAST_MS, UNDER_MS = 2000, 500

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
    before = fl.rss_kb(front.milter.proc.pid)
    answered = 0
    for i in range(12):
        answered += sum(1 for _, _, v, _ in round_(i)
                        if v.startswith("spf=") or v.startswith("550 5.7.1 "))
    after = fl.rss_kb(front.milter.proc.pid)
    lab.proxy.clear()
    tap.is_(answered, 12 * 48, "576 messages with faulty DNS, each given a verdict")
    if fl.sanitized(front.milter.binary):
        tap.ok(True, "# SKIP RSS under AddressSanitizer grows with its quarantine "
               "(%d -> %d KiB); its leak check at exit stands in" % (before, after))
    else:
        tap.ok(after - before < 4096, "milter daemon RSS flat over them: %d -> %d KiB"
               % (before, after))


def stall(lab, pool, fronts):
    """Stalled key look-ups hold up only the messages that need them."""
    timeout_s = 4
    # Failures are remembered as by default, so a look-up made ahead that
    # timed out is not asked again when its answer is needed.
    front = fl.start(lab, fronts, "stall", timeout_ms=timeout_s * 1000, tempfail_ttl=30)
    if front is None:
        return
    good = lab.messages[0]
    # A message with five signatures whose keys never answer; with eight
    # of them in flight, forty distinct look-ups wait at once: more than
    # the daemon's background DNS threads.
    slow = []
    for n in range(8):
        raw = fl.raw_message("slow.test", "stalled %d" % n)
        for i in range(5):
            raw = fl.sign(raw, "slow.test", "s%d-%d" % (n, i), lab.keys["bank"])
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


def body(lab, pool, fronts):
    t0 = time.monotonic()
    front = fl.start(lab, fronts, "main")
    if front is None:
        return
    matrix(lab, front, pool)
    memory(lab, front, pool)
    stall(lab, pool, fronts)
    for f in fronts:
        tap.is_(f.stop(), (0, 0), "%s: both daemons exit 0" % f.milter.tmp.rsplit("/", 1)[1])
    tap.diag("done in %.0f s" % (time.monotonic() - t0))


if __name__ == "__main__":
    sys.exit(fl.run_tests("dns-faults-", body))
