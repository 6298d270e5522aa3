"""dkimpeer - dkimpy (python3-dkim) as the other party of an end-to-end
test, asking the nsd that serves the test zones for keys.  Run with
Debian's python3:

  dkimpeer.py PORT dkim-verify FILE   one line per DKIM-Signature, top
                                      first: "d=D s=S a=ALG pass|fail"
  dkimpeer.py PORT arc-verify FILE    "CV: REASON", CV as dkimpy finds the
                                      chain: pass, fail, none, or
                                      terminated (its newest seal says
                                      cv=fail)
  dkimpeer.py PORT arc-sign DOMAIN SELECTOR KEYFILE AUTHSERV-ID
                                      seals the message on stdin as a
                                      forwarder would and writes it, its
                                      new ARC set on top, to stdout; the
                                      AAR is taken from the message's
                                      Authentication-Results of
                                      AUTHSERV-ID
"""
import re
import sys

import dkim
import dns.message
import dns.query
import dns.rdatatype


def dnsfunc_for(port):
    def dnsfunc(name, timeout=5):
        q = dns.message.make_query(name.decode(), dns.rdatatype.TXT)
        r = dns.query.udp(q, "127.0.0.1", port=port, timeout=timeout)
        for rrset in r.answer:
            if rrset.rdtype == dns.rdatatype.TXT:
                for rd in rrset:
                    return b"".join(rd.strings)
        return None
    return dnsfunc


def tag(sig, name):
    m = re.search(rb"(?:^|;)\s*" + name + rb"\s*=\s*([^;\s]+)", sig)
    return m.group(1).decode() if m else "-"


def dkim_verify(dnsfunc, msg):
    d = dkim.DKIM(msg)
    sigs = [v for k, v in d.headers if k.lower() == b"dkim-signature"]
    for i, sig in enumerate(sigs):
        sig = b"".join(sig.split())
        ok = dkim.DKIM(msg).verify(idx=i, dnsfunc=dnsfunc)
        print("d=%s s=%s a=%s %s" % (tag(sig, b"d"), tag(sig, b"s"), tag(sig, b"a"),
                                     "pass" if ok else "fail"))


def arc_verify(dnsfunc, msg):
    cv, _, reason = dkim.arc_verify(msg, dnsfunc=dnsfunc)
    print("%s: %s" % ("terminated" if cv is None else cv.decode(), reason))


def arc_sign(dnsfunc, msg, domain, selector, keyfile, srv_id):
    with open(keyfile, "rb") as f:
        key = f.read()
    lines = dkim.arc_sign(msg, selector.encode(), domain.encode(), key, srv_id.encode())
    if not lines:
        sys.exit("dkimpeer: dkimpy did not seal (no Authentication-Results of %s)" % srv_id)
    sys.stdout.buffer.write(b"".join(lines) + msg)


def main():
    dnsfunc = dnsfunc_for(int(sys.argv[1]))
    cmd = sys.argv[2]
    if cmd == "arc-sign":
        arc_sign(dnsfunc, sys.stdin.buffer.read(), *sys.argv[3:7])
        return
    with open(sys.argv[3], "rb") as f:
        msg = f.read()
    if cmd == "dkim-verify":
        dkim_verify(dnsfunc, msg)
    elif cmd == "arc-verify":
        arc_verify(dnsfunc, msg)
    else:
        sys.exit("dkimpeer: unknown command " + cmd)


if __name__ == "__main__":
    main()
