#!/usr/bin/python3
"""floor - the crypto floor of a corpus: what SHA-256 and public-key
verification alone cost per message on this machine.

    floor.py SPEEDFILE CORPUSDIR

SPEEDFILE is the output of `openssl speed -seconds 1 sha256 rsa2048
rsa1024 ed25519`, run in the same benchmark run.  The floor of one message
is its bytes over SHA-256's rate at the largest block size, plus, for each
DKIM-Signature field, one verification at the rate of its algorithm and
key size (read from the corpus zones); the corpus floor is their mean.
Nothing cheaper can verify the corpus: every byte is hashed at least once
and every signature checked once.

Prints JSON: floor_ms, sha256_bytes_s, verify_s (per algorithm), and what
the corpus holds (messages, bytes, signatures per algorithm).
"""
import base64
import json
import os
import re
import sys


def parse_speed(text):
    """{"sha256": bytes/s, "rsa1024": verify/s, "rsa2048": ..., "ed25519": ...}."""
    out = {}
    for line in text.splitlines():
        if line.startswith("sha256 "):
            # Figures are in 1000s of bytes per second; the last column is
            # the largest block size.
            out["sha256"] = float(line.split()[-1].rstrip("k")) * 1000
        m = re.match(r"rsa\s+(\d+)\s+bits\s+\S+\s+\S+\s+\S+\s+(\S+)", line)
        if m:
            out["rsa" + m.group(1)] = float(m.group(2))
        m = re.match(r"\s*\d+\s+bits\s+EdDSA\s+\(Ed25519\)\s+\S+\s+\S+\s+\S+\s+(\S+)", line)
        if m:
            out["ed25519"] = float(m.group(1))
    return out


def _der_item(data, pos):
    """(tag, start of contents, end of contents) of the DER item at pos."""
    tag, n = data[pos], data[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(data[pos:pos + k], "big")
        pos += k
    return tag, pos, pos + n


def rsa_bits(spki):
    """Modulus size of a SubjectPublicKeyInfo (or bare RSAPublicKey)."""
    tag, start, end = _der_item(spki, 0)
    tag, s2, e2 = _der_item(spki, start)
    if tag == 0x30:  # SPKI: skip the algorithm, enter the BIT STRING
        tag, s3, _ = _der_item(spki, e2)
        _, start, _ = _der_item(spki, s3 + 1)
        tag, s2, e2 = _der_item(spki, start)
    return int.from_bytes(spki[s2:e2], "big").bit_length()


def zone_keys(zonedir):
    """{(domain, selector): "rsa2048" | "rsa1024" | "ed25519"}."""
    keys = {}
    for name in os.listdir(zonedir):
        if not name.endswith(".zone"):
            continue
        domain = name[:-5]
        with open(os.path.join(zonedir, name)) as f:
            for line in f:
                m = re.match(r"(\S+)\._domainkey\s+IN\s+TXT\s+\((.*)\)", line)
                if not m:
                    continue
                rec = "".join(re.findall(r'"([^"]*)"', m.group(2)))
                tags = dict(t.strip().split("=", 1) for t in rec.split(";") if "=" in t)
                if tags.get("k", "rsa") == "ed25519":
                    keys[(domain, m.group(1))] = "ed25519"
                else:
                    bits = rsa_bits(base64.b64decode(tags["p"]))
                    keys[(domain, m.group(1))] = "rsa%d" % (1024 if bits <= 1024 else 2048)
    return keys


def signatures(raw):
    """(d, s) of each DKIM-Signature field of a message."""
    head = raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ").replace(b"\r\n\t", b" ")
    out = []
    for field in head.split(b"\r\n"):
        if not field.lower().startswith(b"dkim-signature:"):
            continue
        tags = dict(t.strip().split(b"=", 1) for t in field[15:].split(b";") if b"=" in t)
        out.append((tags.get(b"d", b"").strip().decode().lower(),
                    tags.get(b"s", b"").strip().decode().lower()))
    return out


def floor(speed, corpus):
    keys = zone_keys(os.path.join(corpus, "zones"))
    with open(os.path.join(corpus, "index.json")) as f:
        index = json.load(f)
    total_s, nbytes, sigs = 0.0, 0, {}
    for meta in index:
        with open(os.path.join(corpus, meta["file"]), "rb") as f:
            raw = f.read()
        nbytes += len(raw)
        total_s += len(raw) / speed["sha256"]
        for d, s in signatures(raw):
            kind = keys.get((d, s))
            if kind is None:
                continue
            sigs[kind] = sigs.get(kind, 0) + 1
            total_s += 1.0 / speed[kind]
    return {"floor_ms": total_s * 1e3 / len(index), "sha256_bytes_s": speed["sha256"],
            "verify_s": {k: v for k, v in speed.items() if k != "sha256"},
            "messages": len(index), "bytes": nbytes, "signatures": sigs}


def main():
    with open(sys.argv[1]) as f:
        speed = parse_speed(f.read())
    for need in ("sha256", "rsa1024", "rsa2048", "ed25519"):
        if need not in speed:
            sys.exit("floor.py: no %s figure in %s" % (need, sys.argv[1]))
    print(json.dumps(floor(speed, sys.argv[2])))


if __name__ == "__main__":
    main()
