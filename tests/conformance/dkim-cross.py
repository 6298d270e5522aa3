#!/usr/bin/python3
"""DKIM cross-verification with real peers, both ways.

Messages generated here are signed by three implementations - this one
(tests/tools/dkimsign), dkimpy (dkim.sign) and OpenDKIM (the opendkim daemon
in test mode) - with RSA and Ed25519 keys and both canonicalizations, then
verified by all three: here by tests/tools/dkimverify with a zone file,
dkimpy with a dnsfunc answering from the same key data, OpenDKIM through
libunbound forwarded to an nsd serving that zone on loopback.  Mutated copies
(altered body, refolded and re-cased header fields, added fields, content
past l=) must get the verdict the RFC gives them from all three.  Prints TAP.
"""

import base64
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

import dkim

from crosslib import MESSAGES, Tap, txt_rdata

TOP_BUILD = os.environ.get("top_builddir", ".")
TOOLS = os.path.join(TOP_BUILD, "tests", "tools")
NSD = os.environ.get("NSD") or shutil.which("nsd") or "/usr/sbin/nsd"
OPENDKIM = shutil.which("opendkim") or "/usr/sbin/opendkim"
DOMAIN = "example.com"

HEADERS = ["from", "to", "subject", "date", "message-id"]
CANONS = ["simple/simple", "relaxed/relaxed", "relaxed/simple"]


class Keys:
    def __init__(self, tmp):
        self.rsa_pem = os.path.join(tmp, "rsa.pem")
        self.ed_pem = os.path.join(tmp, "ed.pem")
        subprocess.run(["openssl", "genrsa", "-traditional", "-out", self.rsa_pem, "2048"],
                       check=True, capture_output=True)
        subprocess.run(["openssl", "genpkey", "-algorithm", "ED25519", "-out", self.ed_pem],
                       check=True, capture_output=True)
        rsa_der = self._der(self.rsa_pem)
        ed_der = self._der(self.ed_pem)
        # RFC 8463 §4.2: the Ed25519 key is published as its raw 32 bytes.
        self.records = {
            "rsa": "v=DKIM1; k=rsa; p=" + base64.b64encode(rsa_der).decode(),
            "ed": "v=DKIM1; k=ed25519; p=" + base64.b64encode(ed_der[-32:]).decode(),
        }
        with open(self.rsa_pem, "rb") as f:
            self.rsa_bytes = f.read()
        # dkimpy takes an Ed25519 private key as its base64 seed.
        out = subprocess.run(["openssl", "pkey", "-in", self.ed_pem, "-outform", "DER"],
                             check=True, capture_output=True).stdout
        self.ed_seed = base64.b64encode(out[-32:])

    @staticmethod
    def _der(pem):
        return subprocess.run(["openssl", "pkey", "-in", pem, "-pubout", "-outform", "DER"],
                              check=True, capture_output=True).stdout

    def pem(self, alg):
        return self.rsa_pem if alg == "rsa" else self.ed_pem

    def dnsfunc(self, name, timeout=5):
        sel = name.decode().rstrip(".").split("._domainkey.")[0]
        rec = self.records.get(sel)
        return rec.encode() if rec is not None else None


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1 (nsd binds both)."""
    for _ in range(200):
        port = random.randint(20000, 59999)
        try:
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(socket.AF_INET, kind)
                s.bind(("127.0.0.1", port))
                s.close()
        except OSError:
            continue
        return port
    raise RuntimeError("no free port")


def answers(port):
    """True when something on 127.0.0.1:port answers the SOA of example.com."""
    q = struct.pack(">HHHHHH", 0x4242, 0, 1, 0, 0, 0)
    q += b"\x07example\x03com\x00" + struct.pack(">HH", 6, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.2)
    try:
        s.sendto(q, ("127.0.0.1", port))
        return s.recv(512)[:2] == b"\x42\x42"
    except OSError:
        return False
    finally:
        s.close()


class Peers:
    """The zone file, and nsd + OpenDKIM configuration when they are there."""

    def __init__(self, tmp, keys):
        self.tmp = tmp
        self.keys = keys
        self.zone = os.path.join(tmp, "example.com.zone")
        with open(self.zone, "w") as f:
            f.write("$ORIGIN example.com.\n$TTL 300\n"
                    "@ IN SOA ns.example.com. host.example.com. 1 3600 600 86400 300\n"
                    "@ IN NS ns.example.com.\nns IN A 127.0.0.1\n")
            for sel, rec in keys.records.items():
                f.write("%s._domainkey IN TXT %s\n" % (sel, txt_rdata(rec)))
        self.nsd_pid = None
        self.failure = None
        self.opendkim = os.access(NSD, os.X_OK) and os.access(OPENDKIM, os.X_OK)
        if self.opendkim:
            # The port is chosen before nsd binds it, so another test
            # running at the same time may take it first: try again on
            # another port rather than fail.
            self.opendkim = any(self._start_nsd() for _ in range(3))

    def _start_nsd(self):
        port = free_port()
        self.nsd_pid = None
        self.failure = None
        if os.path.exists(os.path.join(self.tmp, "nsd.pid")):
            os.unlink(os.path.join(self.tmp, "nsd.pid"))
        conf = os.path.join(self.tmp, "nsd.conf")
        with open(conf, "w") as f:
            f.write('server:\n  ip-address: 127.0.0.1\n  port: %d\n  username: ""\n'
                    '  database: ""\n  zonesdir: "%s"\n  pidfile: "%s/nsd.pid"\n'
                    '  xfrdfile: "%s/xfrd.state"\n  zonelistfile: "%s/zone.list"\n'
                    '  logfile: "%s/nsd.log"\n'
                    'zone:\n  name: "example.com"\n  zonefile: "example.com.zone"\n'
                    % (port, self.tmp, self.tmp, self.tmp, self.tmp, self.tmp))
        started = subprocess.run([NSD, "-c", conf], capture_output=True)
        if started.returncode != 0:
            self.failure = started.stderr.decode(errors="replace")
            return False
        serving = False
        for _ in range(200):
            if self.nsd_pid is None and os.path.exists(os.path.join(self.tmp, "nsd.pid")):
                with open(os.path.join(self.tmp, "nsd.pid")) as f:
                    text = f.read().strip()
                self.nsd_pid = int(text) if text else None
            if self.nsd_pid is not None and answers(port):
                serving = True
                break
            time.sleep(0.1)
        if not serving:
            self.stop()
            self.nsd_pid = None
            with open(os.path.join(self.tmp, "nsd.log"), errors="replace") as f:
                self.failure = "nsd did not answer: " + f.read()
        with open(os.path.join(self.tmp, "unbound.conf"), "w") as f:
            f.write('server:\n  do-not-query-localhost: no\n'
                    'forward-zone:\n  name: "."\n  forward-addr: 127.0.0.1@%d\n' % port)
        with open(os.path.join(self.tmp, "verify.conf"), "w") as f:
            f.write("Mode v\nSyslog no\nResolverConfiguration %s/unbound.conf\n" % self.tmp)
        return serving

    def stop(self):
        if self.nsd_pid is None:
            return
        os.kill(self.nsd_pid, 15)
        # Wait until it is gone, so the directory can be removed.
        for _ in range(50):
            try:
                os.kill(self.nsd_pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)

    # ---- signers ----
    def sign_here(self, msg, alg, canon, extra=()):
        path = os.path.join(self.tmp, "in.eml")
        with open(path, "wb") as f:
            f.write(msg)
        with open(path, "rb") as f:
            return subprocess.run([os.path.join(TOOLS, "dkimsign"), "-d", DOMAIN, "-s", alg,
                                   "-k", self.keys.pem(alg), "-c", canon,
                                   "-h", ":".join(HEADERS)] + list(extra),
                                  stdin=f, capture_output=True, check=True).stdout

    def sign_dkimpy(self, msg, alg, canon, length=False):
        key = self.keys.rsa_bytes if alg == "rsa" else self.keys.ed_seed
        sig = dkim.sign(msg, alg.encode(), DOMAIN.encode(), key,
                        canonicalize=tuple(c.encode() for c in canon.split("/")),
                        signature_algorithm=b"rsa-sha256" if alg == "rsa" else b"ed25519-sha256",
                        include_headers=[h.encode() for h in HEADERS], length=length)
        return sig + msg

    def sign_opendkim(self, msg, alg, canon):
        conf = os.path.join(self.tmp, "sign.conf")
        with open(conf, "w") as f:
            f.write("Mode s\nSyslog no\nRequireSafeKeys false\nDomain %s\nSelector %s\n"
                    "KeyFile %s\nCanonicalization %s\nSignatureAlgorithm %s\n"
                    "SignHeaders %s\n"
                    % (DOMAIN, alg, self.keys.pem(alg), canon,
                       "rsa-sha256" if alg == "rsa" else "ed25519-sha256", ",".join(HEADERS)))
        path = os.path.join(self.tmp, "in.eml")
        with open(path, "wb") as f:
            f.write(msg)
        out = subprocess.run([OPENDKIM, "-x", conf, "-t", path], capture_output=True,
                             check=True).stdout
        # Test mode prints "opendkim: FILE:" and then the field it would add.
        field = out.split(b"\n", 1)[1].replace(b"\r\n", b"\n").rstrip(b"\n")
        field = field.replace(b"\n", b"\r\n")
        return field + b"\r\n" + msg

    # ---- verifiers: True for pass ----
    def verify_here(self, msg, extra=()):
        out = subprocess.run([os.path.join(TOOLS, "dkimverify"), "-z", self.zone] + list(extra),
                             input=msg, capture_output=True, check=True).stdout
        return b'"result":"pass"' in out.split(b"}", 1)[0]

    def verify_dkimpy(self, msg):
        try:
            return bool(dkim.verify(msg, dnsfunc=self.keys.dnsfunc))
        except dkim.DKIMException:
            return False

    def verify_opendkim(self, msg):
        path = os.path.join(self.tmp, "check.eml")
        with open(path, "wb") as f:
            f.write(msg)
        out = subprocess.run([OPENDKIM, "-x", os.path.join(self.tmp, "verify.conf"), "-t", path],
                             capture_output=True)
        return b"succeeded" in out.stdout + out.stderr


# ---- mutations: (name, function, expected pass for simple, for relaxed
# header canonicalization) ----
def altered_body(m):
    return m.replace(b"lunch?", b"dinner?")


def refold(m):
    # A signed field folded differently: relaxed unfolds (RFC 6376 §3.4.2).
    return m.replace(b"To: bob@example.net", b"To:\r\n bob@example.net")


def recase(m):
    # Field names are case-insensitive; only relaxed lower-cases them (§3.4.2).
    return m.replace(b"\r\nSubject:", b"\r\nSUBJECT:")


def add_unsigned(m):
    # A field not in h= may be added anywhere (§5.4).
    return m.replace(b"\r\nSubject:", b"\r\nX-Added: yes\r\nSubject:")


def add_signed_below(m):
    # Another Subject below the signed one is the instance selected
    # (bottom-up, §5.4.2), so the signature no longer verifies.
    return m.replace(b"\r\nDate:", b"\r\nSubject: spam\r\nDate:")


MUTATIONS = [
    ("altered body", altered_body, False, False),
    ("refolded To", refold, False, True),
    ("re-cased Subject name", recase, False, True),
    ("unsigned field added", add_unsigned, True, True),
    ("second Subject added below", add_signed_below, False, False),
]


def verify_all(tap, peers, msg, want, name):
    got = {"here": peers.verify_here(msg), "dkimpy": peers.verify_dkimpy(msg)}
    if peers.opendkim:
        got["opendkim"] = peers.verify_opendkim(msg)
    for who, verdict in got.items():
        if isinstance(want, dict):
            want_v = want[who]
        elif callable(want):
            want_v = want(who)
        else:
            want_v = want
        tap.ok(verdict == want_v, "%s: %s verifies %s" % (name, who, want_v),
               "got %s" % verdict)
    if not peers.opendkim:
        tap.skip("%s: opendkim" % name, "nsd or opendkim not available")


def expected(signer, verifier, canon, mname):
    """Whether verifier should accept the unaltered message mname signed by
    signer: always by the RFC; the exceptions are OpenDKIM's, explained."""
    hcanon, bcanon = canon.split("/")
    if hcanon == "simple" and mname == "folded" and (signer == "opendkim") != (verifier == "opendkim"):
        # RFC 6376 §3.4.1: simple canonicalization leaves a field exactly as
        # it is, here "Subject:  caf\xc3\xa9 ..." with two spaces after the
        # colon.  OpenDKIM's test mode sees fields as name and value with the
        # leading whitespace trimmed and rebuilds "Name: value": it signs a
        # field that is not in the message, and cannot verify the real one.
        # It agrees only with itself.
        return False
    if bcanon == "relaxed" and mname == "no-final-crlf" and "opendkim" in (signer, verifier):
        # RFC 6376 §3.4.4: relaxed body canonicalization adds the missing
        # final CRLF.  OpenDKIM does not (it answers "message not signed"),
        # neither when signing nor when verifying.  Over SMTP a body always
        # ends with CRLF (RFC 5321 §4.1.1.4), so only other transports meet it.
        return False
    return True


def signers(peers):
    out = [("here", peers.sign_here), ("dkimpy", peers.sign_dkimpy)]
    if peers.opendkim:
        out.append(("opendkim", peers.sign_opendkim))
    return out


def main():
    if not os.access(os.path.join(TOOLS, "dkimsign"), os.X_OK):
        print("1..0 # SKIP tests/tools not built")
        return 0
    tmp = tempfile.mkdtemp()
    peers = None
    tap = Tap()
    try:
        keys = Keys(tmp)
        peers = Peers(tmp, keys)
        if peers.failure is not None:
            # Both tools are installed, so this is a fault, not a skip.
            tap.ok(False, "nsd serves the key zone", peers.failure.replace("\n", "\n# "))
        for sname, sign in signers(peers):
            for alg in ("rsa", "ed"):
                for canon in CANONS:
                    if sname == "opendkim" and alg == "ed" and canon.startswith("simple"):
                        # OpenDKIM's ed25519 signatures with simple header
                        # canonicalization verify nowhere, not even with
                        # OpenDKIM: the field it prints is folded otherwise
                        # than the one it hashed (RFC 6376 §3.7 hashes the
                        # field as inserted).  Nothing to compare.
                        continue
                    for mname, msg in MESSAGES.items():
                        signed = sign(msg, alg, canon)
                        verify_all(tap, peers, signed,
                                   lambda v, s=sname, c=canon, m=mname: expected(s, v, c, m),
                                   "%s %s %s %s" % (sname, alg, canon, mname))
            for canon in ("simple/simple", "relaxed/relaxed"):
                signed = sign(MESSAGES["plain"], "rsa", canon)
                for mname, fn, want_simple, want_relaxed in MUTATIONS:
                    want = want_relaxed if canon.startswith("relaxed") else want_simple
                    if fn is refold and canon.startswith("simple"):
                        # RFC 6376 §3.4.1: simple canonicalization changes no
                        # field, so a refolded signed field must fail.  OpenDKIM
                        # in test mode reads fields through its milter code
                        # as name and trimmed value and rebuilds them, and so
                        # accepts the refolded To.
                        want = {"here": False, "dkimpy": False, "opendkim": True}
                    verify_all(tap, peers, fn(signed), want,
                               "%s rsa %s, %s" % (sname, canon, mname))
        length_cases(tap, peers)
        oversign_cases(tap, peers)
    finally:
        if peers is not None:
            peers.stop()
        shutil.rmtree(tmp)
    print("1..%d" % tap.n)
    return 1 if tap.failed else 0


def length_cases(tap, peers):
    """l= (RFC 6376 §3.5, §8.2): content appended past the signed length
    leaves the signature valid for all three by default; here it can be
    refused (-p, reject_partial_body).  OpenDKIM signs l= only for listed
    recipients (BodyLengthDB), so only this signer and dkimpy make one."""
    msg = MESSAGES["plain"]
    for sname, signed in (("here", peers.sign_here(msg, "rsa", "relaxed/simple", ["-l"])),
                          ("dkimpy", peers.sign_dkimpy(msg, "rsa", "relaxed/simple", True))):
        appended = signed + b"Click here: http://example.org/\r\n"
        verify_all(tap, peers, signed, True, "%s l=, nothing appended" % sname)
        verify_all(tap, peers, appended, True, "%s l=, content appended" % sname)
        tap.ok(not peers.verify_here(appended, ["-p"]),
               "%s l=, content appended: refused here with reject_partial_body" % sname)
        cut = signed[:-4] + b"\r\n"
        verify_all(tap, peers, cut, False, "%s l=, body cut short" % sname)


def oversign_cases(tap, peers):
    """Oversigning (§8.15): h= names Subject once more than it occurs, so
    a Subject added even above the signed one breaks the signature; without
    it, the added field above is not selected and the signature holds."""
    msg = MESSAGES["plain"]
    over = peers.sign_here(msg, "ed", "relaxed/relaxed", ["-o"])
    plain = peers.sign_here(msg, "ed", "relaxed/relaxed")
    above = b"\r\nSubject: lunch\r\n"
    added = b"\r\nSubject: free money\r\nSubject: lunch\r\n"
    verify_all(tap, peers, over, True, "oversigned")
    verify_all(tap, peers, over.replace(above, added), False, "oversigned, Subject added above")
    verify_all(tap, peers, plain.replace(above, added), True,
               "not oversigned, Subject added above")


sys.exit(main())
