#!/bin/sh
# Quick start: installs the Debian packages authmilter needs, builds it in
# build/, and runs the daemon path end to end (contrib/demo.sh): nsd serving
# the sample zone, authmilter, and a private Postfix on loopback taking a
# signed message and a tampered copy from swaks.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
sh "$src/contrib/install-deps.sh"
cd "$src"
autoreconf -fi >/dev/null 2>&1
mkdir -p build
cd build
[ -f Makefile ] || ../configure -q
make -s -j"$(nproc)"
exec "$src/contrib/demo.sh" "$src/build"
