#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The whole test suite: install what is missing, build the normal and the
# ASan+UBSan trees (warnings are errors), run the C unit tests in both, then
# pytest over tests/ against the sanitizer build.  The last line printed is
# pytest's summary; the exit status is non-zero on any failure.
# Usage (as root, from anywhere):  ./tests/run-all.sh [extra pytest args]
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "run-all.sh: must run as root (network namespaces, apt-get)" >&2
  exit 1
fi

tests/setup-deps.sh || exit 1

# setup_tree DIR OPTIONS...: configure (or reconfigure) a meson build tree.
setup_tree() {
  local dir=$1; shift
  if [ -d "$dir/meson-private" ]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@" >/dev/null
  fi
}

echo "== build (build/, debugoptimized, --werror)"
setup_tree build --werror -Dbuildtype=debugoptimized || exit 1
meson compile -C build || exit 1

echo "== build (build-asan/, ASan+UBSan, --werror)"
setup_tree build-asan --werror -Dbuildtype=debugoptimized \
  -Db_sanitize=address,undefined -Db_lundef=false || exit 1
meson compile -C build-asan || exit 1

failed=0
echo "== C unit tests (build/)"
meson test -C build --print-errorlogs || failed=1
echo "== C unit tests (build-asan/)"
meson test -C build-asan --print-errorlogs || failed=1

echo "== pytest (CTSIM_BUILD=build-asan)"
# The suite runs one test at a time, so the kernel table-full checks may
# lower this machine's nf_conntrack_max / hash size for a few seconds (they
# always restore them): opted in here, off for a developer's partial runs.
export CTSIM_KERNEL_TABLE_FULL=1 CTSIM_KERNEL_GLOBAL_SIZING=1
CTSIM_BUILD="$PWD/build-asan" /usr/bin/python3 -m pytest tests \
  -p no:cacheprovider -v -ra --durations=15 "$@"
rc=$?
[ $rc -ne 0 ] && exit $rc
exit $failed
