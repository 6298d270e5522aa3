"""smtptest - what the listener's end-to-end tests and its benchmark share.

TAP output (ok/is_/done), free loopback ports, nsd serving test zones
(through tests/lib/nsd.sh), a DKIM key published in them and messages
signed with tests/tools/dkimsign, `authmilter --smtp` started with a
config of the test's own, a raw SMTP client that sends exact bytes, and
Maildir reading.  Run with Debian's /usr/bin/python3.
"""
import base64
import glob
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time

TOP_SRCDIR = os.environ.get("top_srcdir") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
TOP_BUILDDIR = os.environ.get("top_builddir") or os.getcwd()
AUTHMILTER = os.path.join(TOP_BUILDDIR, "milter", "authmilter")
DKIMSIGN = os.path.join(TOP_BUILDDIR, "tests", "tools", "dkimsign")

_count = 0
_failures = 0


def ok(cond, name):
    global _count, _failures
    _count += 1
    if not cond:
        _failures += 1
    print("%sok %d - %s" % ("" if cond else "not ", _count, name), flush=True)
    return cond


def is_(got, want, name):
    if not ok(got == want, name):
        diag("got:  %r" % (got,))
        diag("want: %r" % (want,))
    return got == want


def diag(text):
    for line in str(text).splitlines():
        print("# " + line, flush=True)


def done():
    print("1..%d" % _count, flush=True)
    sys.exit(1 if _failures else 0)


def skip_all(why):
    print("1..0 # SKIP " + why, flush=True)
    sys.exit(0)


def bail(why):
    print("Bail out! " + why, flush=True)
    sys.exit(1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- DNS ----

class Nsd:
    """nsd serving every NAME.zone of a directory, on a free port."""

    def __init__(self, zonedir):
        lib = os.path.join(TOP_SRCDIR, "tests", "lib", "nsd.sh")
        out = subprocess.run(
            ["sh", "-c", '. "$0"; nsd_start "$1" >&2 && echo "$NSD_PORT $NSD_DIR"', lib,
             zonedir], capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("nsd did not start: " + out.stderr)
        port, self.dir = out.stdout.split()
        self.port = int(port)

    def stop(self):
        lib = os.path.join(TOP_SRCDIR, "tests", "lib", "nsd.sh")
        subprocess.run(["sh", "-c", '. "$0"; NSD_DIR="$1"; nsd_stop', lib, self.dir])


def nsd_available():
    lib = os.path.join(TOP_SRCDIR, "tests", "lib", "nsd.sh")
    return subprocess.run(["sh", "-c", '. "$0"; nsd_available', lib]).returncode == 0


def dkim_key(tmp):
    """A fresh RSA key; returns (key file, TXT record text for the zone)."""
    key = os.path.join(tmp, "dkim.key")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:2048", "-out", key], check=True, capture_output=True)
    der = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    record = "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()
    parts = " ".join('"%s"' % record[i:i + 200] for i in range(0, len(record), 200))
    return key, "( %s )" % parts


def write_zone(zonedir, name, spf, policy, extra=""):
    with open(os.path.join(zonedir, name + ".zone"), "w") as f:
        f.write("$TTL 300\n@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300\n" % (name, name))
        f.write("@ IN NS ns.%s.\nns IN A 127.0.0.1\n" % name)
        f.write('@ IN TXT "%s"\n' % spf)
        if policy:
            f.write('_dmarc IN TXT "v=DMARC1; p=%s"\n' % policy)
        if extra:
            f.write(extra + "\n")


def message(sender, subject, msgid, extra_headers=(), body="Hello.\r\n"):
    lines = list(extra_headers) + [
        "From: Sender <%s>" % sender, "To: rcpt@receiver.test", "Subject: %s" % subject,
        "Date: Wed, 25 Nov 2026 12:00:00 +0000", "Message-ID: <%s@test>" % msgid]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def sign(msg, key, domain="good.test"):
    out = subprocess.run([DKIMSIGN, "-d", domain, "-s", "sel", "-k", key, "-h",
                          "from:to:subject:date:message-id"], input=msg,
                         capture_output=True, check=True)
    return out.stdout


# ---- the daemon ----

class Daemon:
    """authmilter --smtp in the foreground with the given config text,
    after a report store of the daemon's own (never the system's, which a
    package installed on the machine would be using)."""

    def __init__(self, tmp, name, listen, conf, extra_args=()):
        self.conf = os.path.join(tmp, name + ".conf")
        self.logfile = os.path.join(tmp, name + ".log")
        with open(self.conf, "w") as f:
            f.write("report_store sqlite:%s\n" % os.path.join(tmp, name + "-reports.db") + conf)
        self.port = listen
        self.log = open(self.logfile, "w")
        self.proc = subprocess.Popen(
            [AUTHMILTER, "-f", "--smtp", "127.0.0.1:%d" % listen, "-c", self.conf] +
            list(extra_args), stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(100):
            if self.proc.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", listen), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("authmilter did not start: " + self.text())

    def text(self):
        self.log.flush()
        with open(self.logfile, errors="replace") as f:
            return f.read()

    def signal(self, sig=signal.SIGHUP):
        self.proc.send_signal(sig)

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def wait_log(self, needle, seconds=5):
        for _ in range(int(seconds * 20)):
            if needle in self.text():
                return True
            time.sleep(0.05)
        return False


def send(port, msg, sender, rcpts, source="127.0.0.1", helo="client.test"):
    """One transaction over smtplib: (code, text) of the reply to the end
    of DATA, or of MAIL when refused, or of the last RCPT when none was
    accepted."""
    s = smtplib.SMTP("127.0.0.1", port, local_hostname=helo, source_address=(source, 0),
                     timeout=20)
    try:
        s.ehlo()
        code, text = s.mail(sender)
        if code != 250:
            return code, text.decode()
        accepted, last = 0, None
        for r in rcpts:
            code, text = s.rcpt(r)
            if code == 250:
                accepted += 1
            else:
                last = (code, text.decode())
        if accepted == 0:
            return last
        code, text = s.data(msg)
        return code, text.decode()
    except smtplib.SMTPDataError as e:
        return e.smtp_code, e.smtp_error.decode()
    finally:
        try:
            s.quit()
        except smtplib.SMTPException:
            pass


class Raw:
    """An SMTP client that sends exactly the bytes it is given."""

    def __init__(self, port, source="127.0.0.1", greet=True, timeout=10):
        self.sock = socket.socket()
        self.sock.settimeout(timeout)
        self.sock.bind((source, 0))
        self.sock.connect(("127.0.0.1", port))
        self.buf = b""
        self.greeting = self.reply() if greet else None

    def send(self, data):
        self.sock.sendall(data)

    def _line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("latin-1")

    def reply(self):
        """The next reply: its lines joined by newlines."""
        lines = [self._line()]
        while len(lines[-1]) > 3 and lines[-1][3] == "-":
            lines.append(self._line())
        return "\n".join(lines)

    def cmd(self, line):
        self.send(line.encode() + b"\r\n")
        return self.reply()

    def closed(self, seconds=5):
        self.sock.settimeout(seconds)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except socket.timeout:
            return False
        except OSError:
            return True

    def close(self):
        self.sock.close()


def maildir_files(path, sub="new"):
    """Oldest first."""
    return sorted(glob.glob(os.path.join(path, sub, "*")),
                  key=lambda f: (os.stat(f).st_mtime_ns, f))


def wait_files(path, n=1, sub="new", seconds=5):
    for _ in range(int(seconds * 20)):
        files = maildir_files(path, sub)
        if len(files) >= n:
            return files
        time.sleep(0.05)
    return maildir_files(path, sub)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def header_names(msg):
    """The names of the header fields, in order."""
    head = msg.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return [line.split(":", 1)[0] for line in head.split("\r\n")
            if line and line[0] not in " \t"]


def authres(msg):
    """Each Authentication-Results field: "authserv-id method=result...". """
    import email
    import email.policy
    import authres as ar
    parsed = email.message_from_bytes(msg, policy=email.policy.compat32)
    out = []
    for value in parsed.get_all("Authentication-Results") or []:
        h = ar.AuthenticationResultsHeader.parse(
            "Authentication-Results: " + " ".join(value.split()))
        out.append(h.authserv_id + " " + " ".join("%s=%s" % (r.method, r.result)
                                                 for r in h.results))
    return out
