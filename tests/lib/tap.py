"""tap - TAP output for the Python tests: numbered ok/not ok lines and
diagnostics, and the plan printed at the end.

    import tap
    tap.ok(cond, "name")          -> cond
    tap.is_(got, want, "name")    -> got == want; prints both when not
    tap.diag(text)
    sys.exit(tap.done())          -> prints "1..N"; 1 when anything failed
"""
import sys

count = 0
failures = 0


def diag(text):
    for line in str(text).splitlines():
        print("# " + line, flush=True)


def ok(cond, name):
    global count, failures
    count += 1
    if not cond:
        failures += 1
    print("%sok %d - %s" % ("" if cond else "not ", count, name), flush=True)
    return bool(cond)


def is_(got, want, name):
    if ok(got == want, name):
        return True
    diag("got:  %r" % (got,))
    diag("want: %r" % (want,))
    return False


def skip_all(reason):
    print("1..0 # SKIP %s" % reason, flush=True)
    sys.exit(0)


def done():
    print("1..%d" % count, flush=True)
    return 1 if failures else 0
