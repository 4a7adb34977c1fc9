#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Install the Debian 12 packages ctsim needs to build and test, if any is
# missing.  Idempotent and quiet; needs root (apt-get).
set -euo pipefail

PKGS=(
  # build
  gcc meson ninja-build pkg-config libmnl-dev libreadline-dev libjansson-dev
  libpcap-dev libcmocka-dev libseccomp-dev
  # installed like a Debian tool (tests/test_packaging.py): man pages, bash
  # completion, the .deb (tests/tools/build-deb.sh)
  scdoc man-db bash-completion debhelper dpkg-dev build-essential
  # systemd-analyze verify of the unit (test_packaging.py); nothing is started
  systemd
  # run and test: the real conntrack and the kernel side
  conntrack nftables iproute2 procps util-linux sed
  # `hold`/`release` in `--kernel` runs: the xt NFQUEUE target (this kernel
  # has no nft queue expression) from iptables-legacy
  iptables
  python3 python3-pytest python3-pyroute2 python3-yaml python3-scapy
  libnl-utils strace
  # step and quiz modes driven in a real terminal (tests/test_step.py)
  tmux
  # raw-syscall clients under ctsim-exec (tests/test_raw_clients.py): a Go
  # program on vishvananda/netlink; conntrackd and nfct (issue 14)
  golang-go golang-github-vishvananda-netlink-dev conntrackd nfct
  # the classroom lab: real programs in the namespaces
  iputils-ping curl netcat-openbsd
  # the lab's helper exercises (tests/test_lab_helpers.py): FTP, TFTP, SIP servers
  python3-pyftpdlib tftpd-hpa sip-tester
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-deps: missing packages (${missing[*]}); run as root" >&2
  exit 1
fi
echo "setup-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
