#!/usr/bin/env bash
# Runs every test authmilter has, the way CI does:
#   1. a normal build (warnings are errors) and `make check`, and the C
#      sources checked against .clang-format;
#   2. a build with AddressSanitizer and UndefinedBehaviorSanitizer and
#      `make check` again;
#   3. the libFuzzer targets, built with clang (the libraries instrumented
#      for coverage too), each run over its seed
#      corpus and for a short bounded random run;
#   4. the Debian package (tests/e2e/package.sh): built from a copy of the
#      tree, installed on this machine, run and purged, within
#      PACKAGE_SECONDS (default 1200); as root only, else it skips.
# Build trees go under $BUILD_ROOT (default: build-tests/ in the source
# tree).  The last line is "N passed, N failed, N skipped".
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
root=${BUILD_ROOT:-$src/build-tests}
jobs=${JOBS:-2}
fuzz_seconds=${FUZZ_SECONDS:-10}
passed=0 failed=0 skipped=0

note() { printf '\n=== %s\n' "$*"; }

# Adds the counts of a `make check` run, read from automake's summary.
count_summary() {
	local log=$1 n
	n=$(awk '/^# PASS:/ {print $3}' "$log" | tail -1); passed=$((passed + ${n:-0}))
	n=$(awk '/^# XFAIL:/ {print $3}' "$log" | tail -1); passed=$((passed + ${n:-0}))
	n=$(awk '/^# SKIP:/ {print $3}' "$log" | tail -1); skipped=$((skipped + ${n:-0}))
	for k in FAIL XPASS ERROR; do
		n=$(awk -v k="# $k:" 'index($0, k) == 1 {print $3}' "$log" | tail -1)
		failed=$((failed + ${n:-0}))
	done
}

# build NAME CONFIGURE-ARGS...: configures and builds in $root/NAME, runs
# make check, and counts what it printed.  A build that fails counts as one
# failure.
build_and_check() {
	local name=$1 dir=$root/$1 log
	shift
	log=$dir/check-output.log
	note "$name: configure and build"
	mkdir -p "$dir"
	if ! (cd "$dir" && "$src/configure" -q "$@" && make -s -j"$jobs"); then
		echo "FAIL: $name build"
		failed=$((failed + 1))
		return
	fi
	note "$name: make check"
	(cd "$dir" && make -j"$jobs" check) >"$log" 2>&1
	grep -E '^(FAIL|ERROR|XPASS|SKIP):' "$log" | head -50
	sed -n '/^# TOTAL:/,/^# ERROR:/p' "$log" | tail -7
	if ! grep -q '^# TOTAL:' "$log"; then
		tail -40 "$log"
		echo "FAIL: $name make check did not run"
		failed=$((failed + 1))
		return
	fi
	count_summary "$log"
	# Per-test logs of the failures, so CI output says why.
	for f in $(grep -lE '^(not ok|# (FAIL|ERROR))' "$dir"/tests/*/*.log "$dir"/tests/*.log 2>/dev/null | head -5); do
		note "$f"; grep -vE '^ok ' "$f" | head -40
	done
}

# Each fuzz target runs over its seeds and then for a bounded random run.
run_fuzzers() {
	local dir=$root/fuzz f name corpus
	note "fuzz: build"
	mkdir -p "$dir"
	if ! (cd "$dir" && "$src/configure" -q CC=clang --enable-fuzzing --disable-shared \
		CFLAGS="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined" &&
		make -s -j"$jobs"); then
		echo "FAIL: fuzz build"
		failed=$((failed + 1))
		return
	fi
	for f in "$dir"/tests/fuzz/fuzz-*; do
		[ -x "$f" ] || continue
		name=${f##*/fuzz-}
		corpus=$src/tests/fuzz/corpus/$name
		work=$(mktemp -d)
		[ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
		if "$f" -max_total_time="$fuzz_seconds" -seed=1 -timeout=10 -rss_limit_mb=2048 \
			"$work" >"$dir/fuzz-$name.log" 2>&1; then
			echo "PASS: fuzz-$name"
			passed=$((passed + 1))
		else
			echo "FAIL: fuzz-$name"
			tail -30 "$dir/fuzz-$name.log"
			failed=$((failed + 1))
		fi
		rm -rf "$work"
	done
}

# run_tap_script NAME SECONDS COMMAND...: runs a TAP test script for at
# most SECONDS and counts its lines; one that fails without saying which
# check (a timeout, a crash) counts as one failure.
run_tap_script() {
	local name=$1 seconds=$2 log=$root/$1.log rc p f
	shift 2
	note "$name"
	mkdir -p "$root"
	JOBS=$jobs timeout "$seconds" "$@" >"$log" 2>&1
	rc=$?
	grep -E '^(not ok|1\.\.0|Bail out)|^#   ' "$log" | head -40
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	if grep -q '^1\.\.0 # SKIP' "$log"; then
		echo "SKIP: $name ($(sed -n 's/^1\.\.0 # SKIP //p' "$log"))"
		skipped=$((skipped + 1))
		return
	fi
	[ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || f=1
	echo "$name: $p passed, $f failed (exit status $rc)"
	passed=$((passed + p))
	failed=$((failed + f))
}

note "bootstrap"
(cd "$src" && autoreconf -fi) >/dev/null 2>&1 || { echo "FAIL: autoreconf"; failed=$((failed + 1)); }

build_and_check default --enable-werror
if command -v clang-format >/dev/null; then
	note "format: make format-check"
	if (cd "$root/default" && make -s format-check); then
		echo "PASS: format-check"
		passed=$((passed + 1))
	else
		echo "FAIL: format-check (make format rewrites the files above)"
		failed=$((failed + 1))
	fi
fi
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
san="-fsanitize=address,undefined -fno-sanitize-recover=all"
build_and_check sanitize --enable-werror --disable-shared \
	CFLAGS="-g -O1 -fno-omit-frame-pointer $san" LDFLAGS="$san"
unset ASAN_OPTIONS UBSAN_OPTIONS
run_tap_script package "${PACKAGE_SECONDS:-1200}" "$src/tests/e2e/package.sh"
if command -v clang >/dev/null; then
	run_fuzzers
else
	echo "SKIP: fuzz targets (clang not installed)"
	skipped=$((skipped + 1))
fi

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
