#!/usr/bin/python3
"""corpus - a reproducible mail corpus for the benchmark, with its DNS zones.

    corpus.py [--seed S] [--count N] OUTDIR
    corpus.py [--seed S] --flat BODYSIZE --count N OUTDIR

Writes OUTDIR/msgs/NNNNN.eml (messages as on the wire, CRLF line ends),
OUTDIR/index.json (per message: file, client IP, HELO name, envelope sender
and recipient, and what was done to it) and OUTDIR/zones/NAME.zone (one
zone per sending domain: SPF, DKIM keys, DMARC record, ready for
tests/lib/nsd.sh).  The same seed and count give the same bytes: keys are
derived from the seed (RSA primes from a seeded generator, Ed25519 seeds
likewise) and signatures carry a fixed t= time.

The mix: 10-25 header fields; bodies log-uniform from 1 KB to 1 MB, and
about one in a hundred 2-6 MB; rsa-sha256 (2048-bit) signatures mostly,
some ed25519-sha256, some messages with both an author and a service
provider signature, some unsigned; relaxed/relaxed or simple/simple;
about one in ten forged (body altered after signing, or a From domain
that neither signed nor sent it).  DMARC policies none, quarantine and
reject are all present.

--flat BODYSIZE writes N signed messages whose bodies are all BODYSIZE
bytes (suffix k or m): the memory-flatness run uses it.

Needs python3-dkim (and python3-nacl for ed25519); run with /usr/bin/python3.
"""
import argparse
import base64
import json
import os
import random
import sys

import dkim

# Signatures claim this time (2026-01-01T00:00:00Z) so output is stable.
FIXED_TIME = 1767225600

# Sending domains: DMARC policy, SPF range, whether an ESP signs too.
DOMAINS = [
    ("shop.example", "reject", "198.51.100.0/26"),
    ("news.example", "none", "198.51.100.64/26"),
    ("bank.example", "reject", "198.51.100.128/27"),
    ("social.example", "quarantine", "198.51.100.160/27"),
    ("lists.example", "none", "198.51.100.192/27"),
    ("corp.example", "quarantine", "198.51.100.224/27"),
]
ESP_DOMAIN = "esp.example"
ESP_RANGE = "192.0.2.0/24"
FORGER_IP = "203.0.113.66"

WORDS = ("the of and to in is that for it as was with be by on not he this are or his "
         "from at which but have an they you were her she there been one all we their "
         "order invoice meeting report update account delivery shipment quarterly review "
         "please attached schedule newsletter offer discount subscription security notice").split()


class _FixedClock:
    """Stands in for the time module inside dkimpy, so t= is fixed."""

    @staticmethod
    def time():
        return FIXED_TIME


dkim.time = _FixedClock()


# ---- deterministic keys ----

def _is_probable_prime(n, rng):
    if n < 2:
        return False
    for p in (3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47):
        if n % p == 0:
            return n == p
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(24):
        x = pow(rng.randrange(2, n - 2), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits, rng):
    while True:
        c = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if (c - 1) % 65537 and _is_probable_prime(c, rng):
            return c


def _der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def _der(tag, body):
    return bytes([tag]) + _der_len(len(body)) + body


def _der_int(x):
    return _der(0x02, x.to_bytes(x.bit_length() // 8 + 1, "big"))


def rsa_key(rng, bits=2048):
    """Returns (PKCS#1 private key PEM, base64 SubjectPublicKeyInfo for p=)."""
    e = 65537
    while True:
        p, q = _prime(bits // 2, rng), _prime(bits // 2, rng)
        n = p * q
        if p != q and n.bit_length() == bits:
            break
    d = pow(e, -1, (p - 1) * (q - 1))
    priv = _der(0x30, b"".join(_der_int(v) for v in (
        0, n, e, d, p, q, d % (p - 1), d % (q - 1), pow(q, -1, p))))
    b64 = base64.b64encode(priv).decode()
    pem = "-----BEGIN RSA PRIVATE KEY-----\n%s\n-----END RSA PRIVATE KEY-----\n" % "\n".join(
        b64[i:i + 64] for i in range(0, len(b64), 64))
    rsa_oid = bytes.fromhex("06092a864886f70d0101010500")
    spki = _der(0x30, _der(0x30, rsa_oid) + _der(0x03, b"\0" + _der(0x30, _der_int(n) + _der_int(e))))
    return pem.encode(), base64.b64encode(spki).decode()


def ed25519_key(rng):
    """Returns (base64 seed as dkimpy takes it, base64 public key for p=)."""
    import nacl.signing
    sk = nacl.signing.SigningKey(bytes(rng.getrandbits(8) for _ in range(32)))
    return base64.b64encode(bytes(sk)), base64.b64encode(bytes(sk.verify_key)).decode()


# ---- zones ----

def _txt(value):
    chunks = [value[i:i + 250] for i in range(0, len(value), 250)]
    return "( " + " ".join('"%s"' % c for c in chunks) + " )"


def write_zone(zonedir, domain, records):
    lines = ["$ORIGIN %s." % domain, "$TTL 3600",
             "@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 3600" % (domain, domain),
             "@ IN NS ns.%s." % domain, "ns IN A 127.0.0.1"]
    lines += ["%s IN TXT %s" % (name, _txt(value)) for name, value in records]
    with open(os.path.join(zonedir, domain + ".zone"), "w") as f:
        f.write("\n".join(lines) + "\n")


def make_domains(rng, zonedir):
    """Makes keys and zones; returns {domain: info}."""
    out = {}
    for name, policy, spf_range in DOMAINS + [(ESP_DOMAIN, "none", ESP_RANGE)]:
        rsa_priv, rsa_pub = rsa_key(rng)
        ed_priv, ed_pub = ed25519_key(rng)
        spf = "v=spf1 ip4:%s include:_spf.%s -all" % (spf_range, ESP_DOMAIN)
        if name == ESP_DOMAIN:
            spf = "v=spf1 ip4:%s -all" % spf_range
        write_zone(zonedir, name, [
            ("@", spf),
            ("_spf", "v=spf1 ip4:%s -all" % ESP_RANGE),
            ("_dmarc", "v=DMARC1; p=%s; rua=mailto:dmarc@%s; pct=100" % (policy, name)),
            ("rsa2026._domainkey", "v=DKIM1; k=rsa; p=" + rsa_pub),
            ("ed2026._domainkey", "v=DKIM1; k=ed25519; p=" + ed_pub),
        ])
        net = spf_range.split("/")[0].rsplit(".", 1)
        out[name] = {"rsa": rsa_priv, "ed": ed_priv, "policy": policy,
                     "ip_base": (net[0], int(net[1]))}
    return out


# ---- messages ----

def body_bytes(rng, size):
    """Text lines of words, CRLF ended, `size` bytes; past 1 MB the first
    megabyte repeats (hashing cost is the same, generating it is not)."""
    if size > (1 << 20):
        block = body_bytes(rng, 1 << 20)
        return _cut(block * (size // len(block) + 1), size)
    lines, total = [], 0
    while total < size:
        n = rng.randint(4, 14)
        line = " ".join(rng.choice(WORDS) for _ in range(n)).encode()
        if rng.random() < 0.1:
            line = b""
        lines.append(line + b"\r\n")
        total += len(line) + 2
    return _cut(b"".join(lines), size)


def _cut(body, size):
    """body cut to about `size` bytes, ending in CRLF and with no CR left
    bare by the cut (an MTA would not pass one on)."""
    return body[:max(size - 2, 0)].rstrip(b"\r") + b"\r\n"


def body_size(rng):
    if rng.random() < 0.01:
        return rng.randint(2 << 20, 6 << 20)
    return int(1024 * (1024 ** rng.random()))


def header_block(rng, idx, author, client_ip, rcpt):
    h = []
    for hop in range(rng.randint(2, 6)):
        h.append(("Received", "from relay%d.%s (relay%d.%s [%s])\r\n\tby mx.bench.test with "
                  "ESMTPS id Q%05d%d; Thu, 1 Jan 2026 00:%02d:00 +0000" % (
                      hop, author, hop, author, client_ip, idx, hop, hop)))
    h += [("From", '"Sender %d" <user%d@%s>' % (idx, idx % 97, author)),
          ("To", "<%s>" % rcpt),
          ("Subject", " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9)))),
          ("Date", "Thu, 1 Jan 2026 00:00:%02d +0000" % (idx % 60)),
          ("Message-ID", "<%d.%d@%s>" % (idx, rng.getrandbits(32), author)),
          ("MIME-Version", "1.0"),
          ("Content-Type", "text/plain; charset=utf-8"),
          ("Content-Transfer-Encoding", "8bit")]
    optional = [("Reply-To", "<reply@%s>" % author), ("Cc", "<cc%d@bench.test>" % idx),
                ("List-Id", "<list.%s>" % author),
                ("List-Unsubscribe", "<mailto:unsub@%s>" % author),
                ("X-Mailer", "BenchMailer 2.%d" % (idx % 10)),
                ("In-Reply-To", "<%d@%s>" % (idx - 1, author)),
                ("References", "<%d@%s> <%d@%s>" % (idx - 2, author, idx - 1, author)),
                ("Thread-Topic", "bench"), ("X-Priority", "3"),
                ("Precedence", "bulk"), ("Auto-Submitted", "no"),
                ("X-Campaign", "c%d" % rng.getrandbits(20))]
    want = rng.randint(10, 25) - 2 - len(h)
    rng.shuffle(optional)
    h += optional[:max(want, 0)]
    return h


def render(headers, body):
    return b"".join(("%s: %s\r\n" % (k, v)).encode() for k, v in headers) + b"\r\n" + body


def sign(msg, domain, keys, algo, canon):
    sel, priv, alg = (b"ed2026", keys["ed"], b"ed25519-sha256") if algo == "ed25519" else (
        b"rsa2026", keys["rsa"], b"rsa-sha256")
    heads = [b"from", b"to", b"subject", b"date", b"message-id", b"mime-version",
             b"content-type", b"reply-to", b"cc", b"list-id"]
    sig = dkim.sign(msg, sel, domain.encode(), priv, canonicalize=(canon, canon),
                    include_headers=heads, signature_algorithm=alg)
    return sig.replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n") + msg


def one_message(rng, idx, domains, size=None):
    names = [d for d, _, _ in DOMAINS]
    author = rng.choice(names)
    info = domains[author]
    rcpt = "rcpt%d@bench.test" % (idx % 50)
    base, first = info["ip_base"]
    client_ip = "%s.%d" % (base, first + 1 + idx % 20)
    mail_from = "bounce%d@%s" % (idx, author)
    kind = rng.random()
    canon = b"relaxed" if rng.random() < 0.6 else b"simple"
    headers = header_block(rng, idx, author, client_ip, rcpt)
    body = body_bytes(rng, size if size is not None else body_size(rng))
    msg = render(headers, body)
    what = []
    if size is not None or kind < 0.62:
        msg, what = sign(msg, author, info, "rsa", canon), ["rsa"]
    elif kind < 0.72:
        msg, what = sign(msg, author, info, "ed25519", canon), ["ed25519"]
    elif kind < 0.84:
        # An ESP sends on the author's behalf and signs too.
        msg = sign(msg, ESP_DOMAIN, domains[ESP_DOMAIN], "rsa", canon)
        msg = sign(msg, author, info, rng.choice(["rsa", "ed25519"]), canon)
        client_ip, what = "192.0.2.%d" % (10 + idx % 200), ["esp", "two"]
    elif kind < 0.90:
        what = ["unsigned"]
    elif kind < 0.95:
        msg = sign(msg, author, info, "rsa", canon)
        msg = msg[:-3] + b"X\r\n"
        what = ["rsa", "forged-body"]
    else:
        victim = rng.choice([d for d in names if domains[d]["policy"] == "reject"])
        msg = sign(msg, author, info, "rsa", canon).replace(
            ("@%s>" % author).encode(), ("@%s>" % victim).encode(), 1)
        client_ip, mail_from = FORGER_IP, "bounce%d@%s" % (idx, victim)
        what = ["rsa", "forged-from"]
    return msg, {"client_ip": client_ip, "helo": "relay0." + mail_from.split("@")[1],
                 "mail_from": mail_from, "rcpt": rcpt, "what": what}


def parse_size(text):
    mult = {"k": 1024, "m": 1 << 20}.get(text[-1:].lower(), 1)
    return int(text.rstrip("kKmM")) * mult


def main():
    ap = argparse.ArgumentParser(description="write the benchmark corpus and its zones")
    ap.add_argument("--seed", type=int, default=20260101)
    ap.add_argument("--count", type=int, default=400)
    ap.add_argument("--flat", metavar="BODYSIZE", help="every body this size (e.g. 1k, 50m)")
    ap.add_argument("outdir")
    a = ap.parse_args()
    if a.count < 1 or a.count > 100000:
        ap.error("--count must be 1..100000")
    rng = random.Random(a.seed)
    zonedir, msgdir = os.path.join(a.outdir, "zones"), os.path.join(a.outdir, "msgs")
    os.makedirs(zonedir, exist_ok=True)
    os.makedirs(msgdir, exist_ok=True)
    domains = make_domains(rng, zonedir)
    size = parse_size(a.flat) if a.flat else None
    index, total = [], 0
    for i in range(a.count):
        msg, meta = one_message(rng, i, domains, size)
        meta["file"] = "msgs/%05d.eml" % i
        with open(os.path.join(a.outdir, meta["file"]), "wb") as f:
            f.write(msg)
        meta["bytes"] = len(msg)
        total += len(msg)
        index.append(meta)
    with open(os.path.join(a.outdir, "index.json"), "w") as f:
        json.dump(index, f, indent=0)
    print("corpus: %d messages, %.1f MB, zones for %d domains in %s" % (
        a.count, total / 1e6, len(domains), zonedir), file=sys.stderr)


if __name__ == "__main__":
    main()
