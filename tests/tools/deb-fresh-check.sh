#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# deb-fresh-check.sh — the Debian package on a fresh Debian 12:
#   tests/tools/deb-fresh-check.sh [CTSIM.deb]      (as root; takes a few minutes)
# Builds the .deb with tests/tools/build-deb.sh unless one is given, then, in
# a throwaway debootstrap minbase chroot (the base system of
# ../shared/tools/fresh-debian-ci, cached in ${FRESH_BASE:-/var/tmp/fresh-debian-base},
# under an overlay that is thrown away), installs it with apt-get (which
# pulls its dependencies from the mirror) and runs the demo from the
# installed files only: `ctsim --lab`, a ping through it, `ctctl list`, the
# real `conntrack -L` through ctsim-exec, a scenario of the installed
# catalogue, the man pages (man --warnings) and the bash completion.
# Too slow for the pytest suite (tests/test_packaging.py builds the .deb and
# checks it with dpkg -x there); run it before calling the packaging done.
set -u
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "deb-fresh-check: run as root" >&2; exit 2; }

tmp=$(mktemp -d /tmp/ctsim-debcheck.XXXXXX); run=$tmp/root
cleanup() {
  for m in dev/pts dev proc sys run; do umount -l "$run/$m" 2>/dev/null; done
  umount -l "$run" 2>/dev/null; rm -rf "$tmp"
}
trap cleanup EXIT

deb=${1:-}
if [ -z "$deb" ]; then
  deb=$("$here/build-deb.sh" "$tmp/out") || exit 1
fi
[ -f "$deb" ] || { echo "deb-fresh-check: $deb: no such file" >&2; exit 2; }

apt_mirror() { awk '/^URIs:/ && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null; }
base=${FRESH_BASE:-/var/tmp/fresh-debian-base}
if [ ! -x "$base/usr/bin/apt-get" ]; then
  command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null || exit 2
  echo "deb-fresh-check: creating the Debian 12 base system in $base (about a minute)…"
  rm -rf "$base"
  debootstrap --variant=minbase bookworm "$base" $(apt_mirror) >/dev/null || exit 2
fi
mkdir -p "$run" "$tmp/up" "$tmp/work"
mount -t overlay overlay -o "lowerdir=$base,upperdir=$tmp/up,workdir=$tmp/work" "$run" || exit 2
mount --bind /dev "$run/dev"; mount --bind /dev/pts "$run/dev/pts"; mount -t proc proc "$run/proc"
mount -t sysfs sys "$run/sys"; mount -t tmpfs tmpfs "$run/run"
cp /etc/resolv.conf "$run/etc/resolv.conf" 2>/dev/null
cp "$deb" "$run/tmp/ctsim.deb"

prefix="ctdeb$(printf %04x $(($$ % 0xffff)))-"
echo "deb-fresh-check: installing $(basename "$deb") in a fresh Debian 12…"
chroot "$run" /bin/bash -s "$prefix" <<'IN_CHROOT'
set -eu
prefix=$1
export DEBIAN_FRONTEND=noninteractive
step() { printf '\n# %s\n' "$*"; }
step "apt-get install ./ctsim.deb (+ conntrack, ping, man-db, bash-completion)"
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends /tmp/ctsim.deb conntrack iputils-ping \
  man-db bash-completion >/dev/null
dpkg -s ctsim | grep -E '^(Status|Version):'
step "installed files"
for f in /usr/bin/ctsim /usr/bin/ctctl /usr/bin/ctsim-exec \
         /usr/lib/x86_64-linux-gnu/ctsim/libctsim_shim.so /lib/systemd/system/ctsim.service \
         /usr/share/ctsim/scenarios/icmp_echo.ct /usr/share/doc/ctsim/lab.md.gz; do
  ls -l "$f"
done
step "man pages render without warnings"
for p in ctsim.8 ctctl.8 ctsim-exec.1 ctsim-scenario.5 ctsim-ruleset.5; do
  w=$(MANWIDTH=80 man --warnings "${p#*.}" "${p%.*}" 2>&1 >/dev/null) || { echo "man $p failed: $w"; exit 1; }
  [ -z "$w" ] || { echo "man $p: $w"; exit 1; }
  echo "$p ok"
done
step "bash completion"
bash -c 'source /usr/share/bash-completion/bash_completion
  _completion_loader ctctl; complete -p ctctl
  COMP_WORDS=(ctctl li); COMP_CWORD=1; COMP_LINE="ctctl li"; COMP_POINT=8
  _ctctl ctctl li ctctl; [ "${COMPREPLY[*]}" = list ] && echo "ctctl li<Tab> -> list"'
step "ctsim --lab --lab-prefix $prefix &"
ctsim --lab --lab-prefix "$prefix" 2>/tmp/ctsim.log &
pid=$!
for _ in $(seq 100); do [ -S /run/ctsim/ctnetlink.sock ] && break; sleep 0.1; done
cat /tmp/ctsim.log
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; ctsim lab down --prefix "$prefix"' EXIT
step "ip netns exec ${prefix}client ping -c1 10.77.2.2"
ip netns exec "${prefix}client" ping -c1 -W3 10.77.2.2
step "ctctl list"
ctctl list | tee /tmp/list
grep -q '^icmp .*src=10.77.1.2 dst=10.77.2.2' /tmp/list
step "ctsim-exec conntrack -L"
ctsim-exec conntrack -L | tee /tmp/list2
grep -q '^icmp .*src=10.77.1.2 dst=10.77.2.2' /tmp/list2
preload=$(ctsim-exec sh -c 'echo $LD_PRELOAD')
echo "ctsim-exec preloads $preload"
[ "$preload" = /usr/lib/x86_64-linux-gnu/ctsim/libctsim_shim.so ]
step "ctsim scenario run /usr/share/ctsim/scenarios/icmp_echo.ct"
ctsim scenario run /usr/share/ctsim/scenarios/icmp_echo.ct
kill $pid; wait $pid || true
trap - EXIT
ip netns list | grep -q "$prefix" && { echo "namespaces left behind"; exit 1; }
echo
echo "deb-fresh-check: all good"
IN_CHROOT
rc=$?
echo "deb-fresh-check: exit $rc"
exit $rc
