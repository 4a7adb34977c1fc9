#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# nightly.sh [RUNS] [TARGET...] — run libFuzzer targets to RUNS executions
# each (default 10000000), nightly-style, not in CI (docs/testing.md,
# "Fuzzing"). Builds a clang tree with -Dfuzzing=true (ASan+UBSan) in
# $FUZZ_BUILD (default /tmp/ctsim-build-fuzz), starts every target from its
# corpus in tests/fuzz/corpus/<t>/ and writes what it finds new to
# $FUZZ_OUT/<t>/ (default /tmp/ctsim-fuzz-out): review, minimise
# (-merge=1) and commit inputs worth keeping to the corpus. A crash leaves
# crash-* in $FUZZ_OUT and makes the script exit 1.
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
runs=${1:-10000000}
[ $# -gt 0 ] && shift
build=${FUZZ_BUILD:-/tmp/ctsim-build-fuzz}
out=${FUZZ_OUT:-/tmp/ctsim-fuzz-out}
if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" "$here" -Dfuzzing=true -Dbuildtype=debugoptimized \
		-Db_sanitize=address,undefined -Db_lundef=false
fi
nice -n 19 meson compile -C "$build"
targets=${*:-$(cd "$here/tests/fuzz" && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')}
status=0
for t in $targets; do
	mkdir -p "$out/$t"
	echo "== $t: $runs runs"
	if ! (cd "$out/$t" && nice -n 19 "$build/tests/fuzz/fuzz_$t" -runs="$runs" \
		-max_len=8192 -print_final_stats=1 "$out/$t" "$here/tests/fuzz/corpus/$t"); then
		echo "== $t: FAILED (see $out/$t/crash-*)"
		status=1
	fi
done
exit $status
