#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# build-deb.sh — build ctsim's Debian package from this checkout:
#   tests/tools/build-deb.sh [OUTDIR]        (default OUTDIR: build-deb/)
# The project's top level has no debian/ (its layout is fixed: see
# docs/packaging/README.md), so the packaging lives in docs/packaging/debian/.
# This copies the checkout's files (tracked and untracked, not ignored: no
# build trees) into a temporary ctsim-VERSION/ tree, adds debian/ there and
# runs `dpkg-buildpackage -b -us -uc` under nice. The .deb and the build log
# end up in OUTDIR; the temporary tree is removed. Needs the Build-Depends of
# docs/packaging/debian/control (tests/setup-deps.sh installs them).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mkdir -p "${1:-$root/build-deb}" && cd "${1:-$root/build-deb}" && pwd)
version=$(sed -n '1s/^ctsim (\([^)]*\)).*/\1/p' "$root/docs/packaging/debian/changelog")
[ -n "$version" ] || { echo "build-deb: no version in docs/packaging/debian/changelog" >&2; exit 2; }

tmp=$(mktemp -d /tmp/ctsim-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/ctsim-$version
mkdir "$src"
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
  (cd "$root" && git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    tar -c --null -T - -f -) | tar -x -C "$src"
else
  (cd "$root" && tar -c --exclude='./build*' -f - .) | tar -x -C "$src"
fi
cp -r "$root/docs/packaging/debian" "$src/debian"
# tests/meson.build looks for the shared reference folder next to the source
# tree (the unit test `packet` reads it)
if [ -d "$root/../shared" ]; then
  ln -s "$(cd "$root/../shared" && pwd)" "$tmp/shared"
fi

log=$out/build.log
echo "build-deb: building ctsim $version in $src (log: $log)" >&2
if ! (cd "$src" && nice -n 10 dpkg-buildpackage -b -us -uc -j"${DEB_JOBS:-2}") >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "build-deb: dpkg-buildpackage failed (log: $log)" >&2
  exit 1
fi
for f in "$tmp"/*.deb "$tmp"/*.buildinfo "$tmp"/*.changes; do
  [ -e "$f" ] && mv -f "$f" "$out/"
done
ls "$out"/ctsim_"$version"_*.deb
