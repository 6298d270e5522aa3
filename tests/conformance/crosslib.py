"""What the cross-check scripts share: the messages every implementation
signs or seals, TAP output, and TXT record data for zone files."""

import sys

MESSAGES = {
    "plain": b"From: Alice <alice@example.com>\r\nTo: bob@example.net\r\n"
             b"Subject: lunch\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
             b"Message-ID: <1@example.com>\r\n\r\nShall we have lunch?\r\n\r\n-- \r\nAlice\r\n",
    "folded": b"From: Alice <alice@example.com>\r\nTo: bob@example.net,\r\n\tcarol@example.org\r\n"
              b"Subject:  caf\xc3\xa9 \t menu\r\n  for today\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
              b"Message-ID: <2@example.com>\r\nMIME-Version: 1.0\r\n"
              b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
              b"Line with trailing space   \r\n\tindented\r\n  \r\nlast  line\r\n\r\n\r\n\r\n",
    "empty-body": b"From: alice@example.com\r\nTo: bob@example.net\r\nSubject: empty\r\n\r\n",
    "no-final-crlf": b"From: alice@example.com\r\nTo: bob@example.net\r\nSubject: x\r\n\r\n"
                     b"one\r\ntwo",
}


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, detail=""):
        self.n += 1
        print("%sok %d - %s" % ("" if cond else "not ", self.n, name))
        if not cond:
            self.failed += 1
            if detail:
                print("# " + str(detail).replace("\n", "\n# "))
        sys.stdout.flush()

    def skip(self, name, why):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, name, why))

    def done(self):
        print("1..%d" % self.n)
        return 1 if self.failed else 0


def txt_rdata(text):
    return " ".join('"%s"' % text[i:i + 200] for i in range(0, len(text), 200))
