#!/usr/bin/python3
"""profile - where authmilter's CPU goes, from `perf script` output.

    perf record -e cpu-clock --call-graph dwarf -p PID -o perf.data
    perf script -i perf.data | profile.py [--libcrypto PATH] [--detail N]

Each sample is put in one category by its call chain (leaf first): the
shared object and function it was taken in, and for the kernel and for
libc helpers (memcpy, memchr, malloc's callers) the frames above it.  The
categories are those of tests/bench/README.md: crypto, hashing,
canonicalization, header parsing, milter protocol (ours, or libmilter's
in a build that used it), kernel split
by what entered it, DNS, allocation, locks, JSON and logging, report store.

Debian's libcrypto has no symbols for its assembly, so SHA-256 is told
apart from the rest of libcrypto by address: the code regions around the
SHA-NI instructions (sha256rnds2, found with objdump) are SHA-256's
block functions.  Without objdump, all of libcrypto counts as crypto.

--detail N also prints the N heaviest leaf functions.
"""
import argparse
import collections
import re
import subprocess
import sys

FRAME = re.compile(r"^\s*([0-9a-f]+)\s+(.+?)\s+\((.*)\)$")

# Our own functions, by name: the first pattern that matches names the
# category.  Checked from the leaf up, so a helper is counted where it is
# called from.
OWN = [
    (r"^(dkim_body_canon|dkim_body_hasher|dkim_bodyset|skip_plain|plain_span|emit_span|stage_|"
     r"emit_crlfs|content_byte|feed_byte|hasher_sink|class_mask|bytes_eq|session_body|"
     r"dkim_verifier_body|arc_verifier_body|signing_body)", "canonicalization: body"),
    (r"^(dkim_canon_header|canon_header|dkim_header_data|dkim_hdata)", "canonicalization: headers"),
    (r"^(dkim_crypto|dkim_key|dkim_keycache|record_hash|dkim_keyfetch)", "crypto"),
    (r"^(msg_|session_header|session_field|session_data|dkim_sig|dkim_tag|arc_|dkim_verifier_add"
     r"|dkim_verifier_headers|authres_parse)", "header parsing"),
    (r"^(dns_|ldns_)", "DNS (cache and look-ups)"),
    (r"^(spf_)", "SPF"),
    (r"^(dmarc_|opendmarc_)", "DMARC"),
    (r"^(json_|log_|authres_|verdict_|writer_log|recorder_log)", "JSON, A-R and logging"),
    (r"^(store_|recorder_|writer_)", "report store"),
    (r"^(arena_|buf_)", "allocation"),
    (r"^(mf_|mconn_|mfilter_)", "milter callbacks"),
    (r"^(milterproto_|mp_|milterconn_|mc_)", "milter protocol"),
    (r"^(session_|confref_)", "session"),
]
OWN = [(re.compile(p), c) for p, c in OWN]

LIBC_ALLOC = re.compile(r"(malloc|calloc|realloc|free|_int_|tcache|arena_get|sysmalloc|"
                        r"unlink_chunk|mremap_chunk|alloc_perturb|cfree)")
LIBC_LOCK = re.compile(r"(pthread_mutex|pthread_cond|__lll_|futex|pthread_rwlock|pthread_spin)")
LIBC_FMT = re.compile(r"(printf|vfprintf|__printf|_IO_|__strchrnul|outstring|_itoa|vsnprintf)")

# What entered the kernel, by the kernel's own functions (leaf first; the
# system-call wrappers are often inlined away) and then by the user-space
# frame that made the call.
KERNEL = [
    (r"do_fsync|fdatasync|fsync", "kernel: fsync"),
    (r"^(__)?(x64_sys_|do_)?(sys_)?(poll|ppoll|select|pselect|epoll_wait)|do_sys_poll|futex|"
     r"nanosleep|sched_yield|pthread_cond|__lll_lock|__poll$",
     "kernel: poll, futex, context switches"),
    (r"^(ksys_read|ksys_write|vfs_read|vfs_write|do_writev|do_readv|vfs_writev|vfs_readv|"
     r"sock_recvmsg|sock_sendmsg|sock_read_iter|sock_write_iter|unix_stream_)|__libc_read$|"
     r"__libc_write$|__writev$|__readv$|__libc_pread|__libc_pwrite", "kernel: socket and file I/O"),
    (r"accept|__sys_socket|sock_close|__sock_release|unix_release|__fput|close_fd|"
     r"__x64_sys_close|^__close|shutdown|fcntl", "kernel: socket set-up and close, fcntl"),
    (r"exc_page_fault|do_mmap|vm_munmap|__x64_sys_munmap|__x64_sys_mprotect|__x64_sys_madvise|"
     r"__x64_sys_brk|flush_tlb|^munmap|^mprotect|^madvise", "kernel: memory (mmap, page faults)"),
    (r"kernel_clone|copy_process|do_exit|__x64_sys_exit|__do_sys_clone|set_robust_list",
     "kernel: thread start and exit"),
    (r"^(schedule|__schedule|finish_task_switch|preempt_schedule)",
     "kernel: poll, futex, context switches"),
]
KERNEL = [(re.compile(p), c) for p, c in KERNEL]


def sha_regions(libcrypto):
    """Address ranges of libcrypto's SHA-256 block code: from the branch or
    return before a cluster of SHA-NI instructions to the return after it."""
    try:
        out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", libcrypto],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    ins = []
    for line in out.splitlines():
        m = re.match(r"\s+([0-9a-f]+):\s+(\S+)", line)
        if m:
            ins.append((int(m.group(1), 16), m.group(2)))
    regions, i = [], 0
    while i < len(ins):
        if not ins[i][1].startswith("sha256"):
            i += 1
            continue
        s = i
        while s > 0 and not ins[s - 1][1].startswith(("ret", "jmp", "ud2")):
            s -= 1
        e = i
        while e < len(ins) and not ins[e][1].startswith("ret"):
            e += 1
        regions.append((ins[s][0], ins[min(e, len(ins) - 1)][0]))
        i = e + 1
    return regions


def samples(stream):
    frames = None
    for line in stream:
        if not line.strip():
            if frames:
                yield frames
            frames = None
            continue
        if not line[0].isspace():
            frames = []
            continue
        m = FRAME.match(line)
        if m and frames is not None:
            sym = re.sub(r"\+0x[0-9a-f]+$", "", m.group(2))
            frames.append((int(m.group(1), 16), sym, m.group(3)))
    if frames:
        yield frames


def own_category(sym):
    for pat, cat in OWN:
        if pat.search(sym):
            return cat
    return None


def kernel_category(frames):
    for _, sym, _ in frames:
        for pat, cat in KERNEL:
            if pat.search(sym):
                return cat
    return "kernel: other (interrupts, softirq)"


def classify(frames, regions):
    addr, sym, dso = frames[0]
    if "kernel" in dso:
        cat = kernel_category(frames)
        # File I/O under SQLite is the report store's, not the network's.
        if cat == "kernel: socket and file I/O" and any("sqlite" in f[2] for f in frames):
            return "kernel: report store file I/O"
        return cat
    if "libcrypto" in dso:
        if sym.startswith(("SHA256", "sha256")) or any(a <= addr <= b for a, b in regions):
            return "hashing (SHA-256)"
        return "crypto"
    if "libmilter" in dso:
        return "milter protocol (libmilter)"
    if "sqlite" in dso or "libpq" in dso:
        return "report store"
    if "ldns" in dso:
        return "DNS (cache and look-ups)"
    if "opendmarc" in dso:
        return "DMARC"
    if "libc.so" in dso or "ld-linux" in dso:
        if LIBC_ALLOC.search(sym):
            return "allocation"
        if LIBC_LOCK.search(sym):
            return "locks"
    # Our code, or a libc helper counted where it was called from.
    for _, fsym, fdso in frames:
        if "libc.so" in fdso or "ld-linux" in fdso:
            if LIBC_FMT.search(fsym):
                continue
            continue
        if "libcrypto" in fdso:
            return "crypto"
        if "libmilter" in fdso:
            return "milter protocol (libmilter)"
        if "sqlite" in fdso:
            return "report store"
        cat = own_category(fsym)
        if cat is not None:
            return cat
    if "libc.so" in dso and LIBC_FMT.search(sym):
        return "JSON, A-R and logging"
    return "other"


def main():
    ap = argparse.ArgumentParser(description="categorize perf script samples")
    ap.add_argument("--libcrypto", default="/usr/lib/x86_64-linux-gnu/libcrypto.so.3")
    ap.add_argument("--detail", type=int, default=0)
    a = ap.parse_args()
    regions = sha_regions(a.libcrypto)
    cats, leaves, total = collections.Counter(), collections.Counter(), 0
    for frames in samples(sys.stdin):
        cats[classify(frames, regions)] += 1
        leaves["%s (%s)" % (frames[0][1], frames[0][2].rsplit("/", 1)[-1])] += 1
        total += 1
    if not total:
        sys.exit("profile.py: no samples")
    kernel = sum(n for c, n in cats.items() if c.startswith("kernel"))
    print("%d samples; kernel %.1f%%, user %.1f%%" % (total, 100.0 * kernel / total,
                                                      100.0 * (total - kernel) / total))
    for cat, n in sorted(cats.items(), key=lambda kv: -kv[1]):
        print("  %5.1f%%  %s" % (100.0 * n / total, cat))
    if a.detail:
        print("heaviest leaf functions:")
        for leaf, n in leaves.most_common(a.detail):
            print("  %5.1f%%  %s" % (100.0 * n / total, leaf))


if __name__ == "__main__":
    main()
