#!/bin/sh
# Quick start: installs the Debian packages authmilter needs, builds it in
# build/, and checks the sample message against the sample zone with
# authcheck, the way the daemon would check it arriving from 192.0.2.25.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
sh "$src/contrib/install-deps.sh"
cd "$src"
autoreconf -fi >/dev/null 2>&1
mkdir -p build
cd build
[ -f Makefile ] || ../configure -q
make -s -j"$(nproc)"
set -x
./milter/authcheck --dns-zone ../contrib/sample/example.org.zone \
	--ip 192.0.2.25 --helo mail.example.org --mail-from alice@example.org \
	--authserv-id mx.example.net ../contrib/sample/message.eml
