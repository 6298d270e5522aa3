#!/usr/bin/python3
"""ARC cross-checks, both ways, with dkimpy (python3-dkim) and Mail::DKIM
(libmail-dkim-perl).

  arc_cross.py prepare DIR    keys and zones (run by arc-cross.sh, which
                              then serves DIR/zones with nsd)
  arc_cross.py run DIR        the checks; prints TAP

Chains are built by sealers in turn - this project (tests/tools/arctool,
RSA and Ed25519, relaxed or simple header canonicalization in the AMS) and
dkimpy (dkim.arc_sign, RSA only: it seals nothing else) - over a few
messages, then verified by this project, by dkimpy (DNS answered from the
zones' records) and by Mail::DKIM (DNS from the nsd).  Mutated chains
(altered body, AAR changed, a seal's b= emptied, broken in the middle,
sealed after a failure with cv=fail) must fail everywhere.  Where a peer
answers otherwise than RFC 8617, the case says so and what the RFC says.
"""

import os
import re
import sys

import dkim

from crosslib import MESSAGES, Tap

from arc_peers import (Zones, dkimpy_seal, dkimpy_verify, here_seal, here_verify,
                       maildkim_available, maildkim_verify, make_key)

# domain: (selector, key kind)
SEALERS = {"a.example": ("rsa", "rsa"), "b.example": ("rsa", "rsa"),
           "d.example": ("rsa", "rsa"), "c.example": ("ed", "ed25519")}
DATA = os.path.join(os.environ.get("top_srcdir", "."), "tests", "data")


def prepare(directory):
    zones = Zones(os.path.join(directory, "zones"))
    for domain, (sel, kind) in SEALERS.items():
        _, rec = make_key(directory, domain, kind)
        zones.add(sel, domain, rec)
    # dkimpy's own ARC vector (tests/data/arc) is sealed with this key.
    with open(os.path.join(DATA, "dkim", "test.txt")) as f:
        zones.add("test", "example.com", f.read().strip())
    zones.write()
    return 0


class Run:
    def __init__(self, directory):
        self.dir = directory
        self.zones = Zones.load(os.path.join(directory, "zones"))
        self.tap = Tap()
        self.maildkim_missing = maildkim_available()

    def key(self, domain):
        return os.path.join(self.dir, domain + ".pem")

    # ---- sealing: "here:DOMAIN", "here-simple:DOMAIN", "dkimpy:DOMAIN" ----
    def seal(self, who, msg):
        kind, domain = who.split(":")
        sel = SEALERS[domain][0]
        if kind == "dkimpy":
            return dkimpy_seal(self.zones, msg, domain, sel, self.key(domain))
        extra = ["-c", "simple"] if kind == "here-simple" else []
        return here_seal(self.zones, msg, domain, sel, self.key(domain), extra)

    def chain(self, sealers, msg):
        for who in sealers:
            msg = self.seal(who, msg)
        return msg

    # ---- verifying: want maps a verifier to its expected answer ----
    def verify_all(self, msg, want, name, ed25519=False):
        here = here_verify(self.zones, msg)
        self.tap.ok(here["result"] == want["here"], "%s: here %s" % (name, want["here"]),
                    "got %s (%s)" % (here["result"], here["reason"]))
        if ed25519:
            # Neither peer implements ed25519-sha256 in ARC (dkimpy 1.1.4
            # takes rsa-sha256 only, Mail::DKIM 1.20230212 has no Ed25519).
            self.tap.skip("%s: dkimpy" % name, "dkimpy has no Ed25519 for ARC")
            self.tap.skip("%s: Mail::DKIM" % name, "Mail::DKIM has no Ed25519")
            return here
        got, reason = dkimpy_verify(self.zones, msg)
        self.tap.ok(got == want["dkimpy"], "%s: dkimpy %s" % (name, want["dkimpy"]),
                    "got %s (%s)" % (got, reason))
        if self.maildkim_missing:
            self.tap.skip("%s: Mail::DKIM" % name, self.maildkim_missing)
        else:
            got, detail = maildkim_verify(msg)
            self.tap.ok(got == want["maildkim"], "%s: Mail::DKIM %s" % (name, want["maildkim"]),
                        "got %s (%s)" % (got, detail))
        return here


def same(result):
    return {"here": result, "dkimpy": result, "maildkim": result}


CHAINS = [
    ["here:a.example"],
    ["dkimpy:a.example"],
    ["here-simple:a.example"],
    ["here:a.example", "here:b.example"],
    ["dkimpy:a.example", "here:b.example"],
    ["here:a.example", "dkimpy:b.example"],
    ["here:a.example", "dkimpy:b.example", "here-simple:d.example"],
    ["dkimpy:a.example", "dkimpy:b.example", "here:d.example"],
]


def good_chains(r):
    for sealers in CHAINS:
        for mname, msg in MESSAGES.items():
            sealed = r.chain(sealers, msg)
            name = "%s, %s" % (" > ".join(sealers), mname)
            here = r.verify_all(sealed, same("pass"), name)
            r.tap.ok(here["instances"] == len(sealers) and here["oldest_pass"] == 1,
                     "%s: %d instances, oldest-pass 1" % (name, len(sealers)), str(here))
    for mname, msg in MESSAGES.items():
        sealed = r.chain(["here:a.example", "here:c.example"], msg)
        r.verify_all(sealed, same("pass"), "RSA then Ed25519, %s" % mname, ed25519=True)


def empty_newest_b(msg):
    """The newest seal (the first field) with its b= value removed."""
    end = re.search(rb"\r\n(?![ \t])", msg).start()
    field = msg[:end]
    b = max(m.end() for m in re.finditer(rb"(?:^|[ \t;])b=", field))
    stop = field.find(b";", b)
    return field[:b] + (field[stop:] if stop >= 0 else b"") + msg[end:]


def mutations(r):
    msg = MESSAGES["plain"]
    for sealers in (["here:a.example", "dkimpy:b.example"], ["dkimpy:a.example", "here:b.example"]):
        sealed = r.chain(sealers, msg)
        name = " > ".join(sealers)
        r.verify_all(sealed.replace(b"Shall we", b"Shall I"), same("fail"), name + ", altered body")
        r.verify_all(re.sub(rb"(ARC-Authentication-Results: i=1; mx\.a\.example; arc=)none",
                            rb"\1pass", sealed), same("fail"), name + ", first AAR altered")
        emptied = empty_newest_b(sealed)
        r.tap.ok(emptied != sealed, name + ": newest b= emptied")
        r.verify_all(emptied, same("fail"), name + ", newest seal with an empty b=")
    three = r.chain(["here:a.example", "dkimpy:b.example", "here:d.example"], msg)
    r.verify_all(three.replace(b"mx.b.example; arc=pass", b"mx.b.example; arc=none"),
                 same("fail"), "three sets, broken in the middle")


def failed_chains(r):
    """A chain broken before a forwarder seals: it seals with cv=fail
    (RFC 8617 §5.1.2), and every later verifier must say fail (§5.2 step
    2).  dkimpy answers None, "the chain is terminated", rather than fail:
    the RFC knows no such result."""
    msg = MESSAGES["plain"]
    for first, second in (("here:a.example", "here:b.example"),
                          ("here:a.example", "dkimpy:b.example"),
                          ("dkimpy:a.example", "here:b.example")):
        broken = r.chain([first], msg).replace(b"Shall we", b"Shall I")
        sealed = r.seal(second, broken)
        name = "%s, body altered, %s seals" % (first, second)
        r.tap.ok(b"cv=fail" in sealed.split(b"ARC-Message-Signature:")[0],
                 name + ": with cv=fail")
        here = r.verify_all(sealed, {"here": "fail", "dkimpy": "terminated", "maildkim": "fail"},
                            name)
        r.tap.ok(here["reason"] == "newest seal says cv=fail", name + ": reason", str(here))
        r.tap.ok(seal_over_own_set(r.zones, sealed, 2),
                 name + ": dkimpy verifies the cv=fail seal over its own set alone")


def seal_over_own_set(zones, msg, instance):
    """Whether dkimpy's seal check, given only the newest set's fields,
    verifies the newest seal: what §5.1.2 says a cv=fail seal covers."""
    kept = []
    for field in re.split(rb"\r\n(?![ \t])", msg.split(b"\r\n\r\n", 1)[0]):
        older = re.match(rb"ARC-[A-Za-z-]+:\s*i=(\d+)", field)
        if older is None or int(older.group(1)) == instance:
            kept.append(field)
    a = dkim.ARC(b"\r\n".join(kept) + b"\r\n\r\n" + msg.split(b"\r\n\r\n", 1)[1])
    _, headers = a.sorted_arc_headers()
    return a.verify_instance(headers, instance, dnsfunc=zones.dnsfunc)["as-valid"]


def vectors(r):
    """dkimpy's own ARC test vector (tests/data/arc/README), by all three.
    The second has h= in its seal, which RFC 8617 §4.1.3 does not allow
    (dkimpy's test says so too); Mail::DKIM ignores the tag, as RFC 6376
    would an unknown one, and passes the chain."""
    for fname, want, reason in (("dkimpy-sealed.msg", same("pass"), None),
                                ("dkimpy-seal-h.msg",
                                 {"here": "fail", "dkimpy": "fail", "maildkim": "pass"},
                                 "syntax error: h= in ARC-Seal")):
        with open(os.path.join(DATA, "arc", fname), "rb") as f:
            msg = f.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        here = r.verify_all(msg, want, "dkimpy's vector " + fname)
        r.tap.ok(here["reason"] == reason, "%s: reason" % fname, str(here))


def run(directory):
    r = Run(directory)
    good_chains(r)
    mutations(r)
    failed_chains(r)
    vectors(r)
    return r.tap.done()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("prepare", "run"):
        sys.stderr.write("usage: arc_cross.py prepare|run DIR\n")
        sys.exit(2)
    sys.exit(prepare(sys.argv[2]) if sys.argv[1] == "prepare" else run(sys.argv[2]))
