"""The peers of the ARC cross-checks: zone files and key records, this
project's verifier and sealer (tests/tools/arctool), dkimpy's
(python3-dkim) with DNS answered from the same records, and Mail::DKIM's
verifier through tests/conformance/arc-maildkim.pl asking the nsd that
serves the zones."""

import base64
import json
import os
import subprocess

import dkim

from crosslib import txt_rdata

TOP_SRC = os.environ.get("top_srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
TOP_BUILD = os.environ.get("top_builddir", ".")
ARCTOOL = os.path.join(TOP_BUILD, "tests", "tools", "arctool")
MAILDKIM = os.path.join(TOP_SRC, "tests", "conformance", "arc-maildkim.pl")


class Zones:
    """Key records by owner name, written as one zone file per domain."""

    def __init__(self, directory):
        self.dir = directory
        self.records = {}
        os.makedirs(directory, exist_ok=True)

    def add(self, selector, domain, record):
        self.records["%s._domainkey.%s" % (selector, domain)] = record

    def write(self):
        domains = sorted({name.split("._domainkey.")[1] for name in self.records})
        for d in domains:
            with open(os.path.join(self.dir, d + ".zone"), "w") as f:
                f.write("$ORIGIN %s.\n$TTL 300\n"
                        "@ IN SOA ns.%s. host.%s. 1 3600 600 86400 300\n"
                        "@ IN NS ns.%s.\nns IN A 127.0.0.1\n" % (d, d, d, d))
                for name, rec in sorted(self.records.items()):
                    if name.endswith("._domainkey." + d):
                        f.write("%s. IN TXT %s\n" % (name, txt_rdata(rec)))
        with open(os.path.join(self.dir, "records.json"), "w") as f:
            json.dump(self.records, f)

    @classmethod
    def load(cls, directory):
        z = cls(directory)
        with open(os.path.join(directory, "records.json")) as f:
            z.records = json.load(f)
        return z

    def files(self):
        return sorted(os.path.join(self.dir, n) for n in os.listdir(self.dir)
                      if n.endswith(".zone"))

    def dnsfunc(self, name, timeout=5):
        rec = self.records.get(name.decode().rstrip("."))
        return rec.encode() if rec is not None else None


def make_key(directory, name, kind):
    """A private key file; returns (path, DKIM key record)."""
    path = os.path.join(directory, name + ".pem")
    if kind == "rsa":
        subprocess.run(["openssl", "genrsa", "-traditional", "-out", path, "2048"], check=True,
                       capture_output=True)
    else:
        subprocess.run(["openssl", "genpkey", "-algorithm", "ED25519", "-out", path],
                       check=True, capture_output=True)
    der = subprocess.run(["openssl", "pkey", "-in", path, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    if kind == "rsa":
        return path, "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()
    # RFC 8463 §4.2: the raw 32-byte key.
    return path, "v=DKIM1; k=ed25519; p=" + base64.b64encode(der[-32:]).decode()


def here_verify(zones, msg, extra=()):
    args = [ARCTOOL]
    for z in zones.files():
        args += ["-z", z]
    out = subprocess.run(args + list(extra), input=msg, capture_output=True, check=True).stdout
    return json.loads(out)["arc"]


def here_seal(zones, msg, domain, selector, key, extra=()):
    args = [ARCTOOL, "-S", "-d", domain, "-s", selector, "-k", key, "-r", "mx." + domain]
    for z in zones.files():
        args += ["-z", z]
    return subprocess.run(args + list(extra), input=msg, capture_output=True, check=True).stdout


def dkimpy_verify(zones, msg):
    """dkimpy's chain validation status: "pass", "fail", "none", or
    "terminated" (its None: a chain whose newest seal says cv=fail)."""
    cv, _, reason = dkim.arc_verify(msg, dnsfunc=zones.dnsfunc)
    return ("terminated" if cv is None else cv.decode()), reason


def dkimpy_seal(zones, msg, domain, selector, keyfile):
    """A dkimpy forwarder: it verifies the chain with dkimpy, records that in
    its own Authentication-Results (which dkimpy's sealer reads cv= from)
    and seals."""
    status, _ = dkimpy_verify(zones, msg)
    status = "fail" if status == "terminated" else status
    srv = "mx." + domain
    ar = ("Authentication-Results: %s; arc=%s\r\n" % (srv, status)).encode()
    with open(keyfile, "rb") as f:
        key = f.read()
    lines = dkim.arc_sign(ar + msg, selector.encode(), domain.encode(), key, srv.encode(),
                          timestamp=str(1700000000))
    return b"".join(lines) + ar + msg


def maildkim_verify(msg):
    port = os.environ.get("NSD_PORT", "")
    out = subprocess.run(["perl", MAILDKIM, port], input=msg, capture_output=True, check=True)
    result, _, detail = out.stdout.decode().rstrip("\n").partition("\t")
    return result, detail


def maildkim_available():
    if not os.environ.get("NSD_PORT"):
        return "no nsd serving the test zones"
    probe = subprocess.run(["perl", "-MMail::DKIM::ARC::Verifier", "-e", "1"],
                           capture_output=True)
    return None if probe.returncode == 0 else "Mail::DKIM not installed"
