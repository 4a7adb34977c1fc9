#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The demo on built-in defaults: install what is missing, build, start ctsim
# on a temporary socket, create a few entries with ctctl and with the real
# conntrack (through ctsim-exec), show the table both ways, stop the daemon.
# Usage (as root, from anywhere):  ./tests/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh: must run as root (apt-get)" >&2
  exit 1
fi

# CTSIM_BUILD: the build tree to use (default build/, configured if needed)
B=${CTSIM_BUILD:-build}
tests/setup-deps.sh
if [ ! -d "$B/meson-private" ]; then
  meson setup "$B" -Dbuildtype=debugoptimized >/dev/null
fi
meson compile -C "$B" >/dev/null

CTSIM=$B/ctsim/ctsim
CTCTL=$B/ctctl/ctctl
EXEC=$B/proto/ctsim-exec

tmp=$(mktemp -d /tmp/ctsim-demo.XXXXXX)
sock=$tmp/ct.sock
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -t 1 ]; then b=$'\e[1m' n=$'\e[0m'; else b= n=; fi
step() { printf '\n%s$ %s%s\n' "$b" "$*" "$n"; }
run() { step "$*"; "$@"; }

step "$CTSIM --socket $sock &"
"$CTSIM" --socket "$sock" 2>"$tmp/ctsim.log" &
pid=$!
for _ in $(seq 100); do
  [ -S "$sock" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/ctsim.log" >&2; exit 1; }
  sleep 0.1
done
[ -S "$sock" ] || { echo "demo.sh: ctsim did not start" >&2; cat "$tmp/ctsim.log" >&2; exit 1; }
cat "$tmp/ctsim.log"

# entries created with ctctl ...
run "$CTCTL" --socket "$sock" add tcp src 192.168.1.10 dst 93.184.216.34 sport 40000 dport 443 \
  timeout 432000 state ESTABLISHED status SEEN_REPLY,ASSURED
run "$CTCTL" --socket "$sock" add udp src 192.168.1.10 dst 192.168.1.1 sport 53000 dport 53 timeout 30
# ... and with the unmodified conntrack binary, through the shim
run "$EXEC" --socket "$sock" conntrack -I -s 192.168.1.10 -d 192.168.1.20 -p tcp \
  --sport 40001 --dport 22 --state SYN_SENT -t 120 -m 7
run "$EXEC" --socket "$sock" conntrack -I -s 2001:db8::10 -d 2001:db8::1 -p icmpv6 \
  --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 42 -t 30

# the same table, seen by both clients
run "$CTCTL" --socket "$sock" list
run "$EXEC" --socket "$sock" conntrack -L
run "$CTCTL" --socket "$sock" count
run "$EXEC" --socket "$sock" conntrack -C

step "kill -TERM $pid   # stop ctsim"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=
echo "ctsim exited with status $status"
[ -S "$sock" ] && { echo "demo.sh: ctsim left its socket behind" >&2; exit 1; }
exit "$status"
