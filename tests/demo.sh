#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The demo on built-in defaults: install what is missing, build, start ctsim
# with the classroom lab (a client and a server namespace attached by TUN
# devices, the built-in stateful firewall), send real traffic through it
# (ping, ping -6, UDP, HTTP with curl), show what ctsim tracked through ctctl
# and through the real conntrack (ctsim-exec), then stop; ctsim removes the
# namespaces. Set DEMO_KEEP=1 to keep the lab running until Ctrl-C.
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

step "$CTSIM --socket $sock --lab &"
"$CTSIM" --socket "$sock" --lab 2>"$tmp/ctsim.log" &
pid=$!
for _ in $(seq 100); do
  [ -S "$sock" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/ctsim.log" >&2; exit 1; }
  sleep 0.1
done
[ -S "$sock" ] || { echo "demo.sh: ctsim did not start" >&2; cat "$tmp/ctsim.log" >&2; exit 1; }
cat "$tmp/ctsim.log"

C=(ip netns exec ctsim-client)
S=(ip netns exec ctsim-server)
# A UDP echo and a web server on the server side.
"${S[@]}" /usr/bin/python3 -c 'import socket
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("10.77.2.2",5353))
while True:
    d,a=s.recvfrom(2048); s.sendto(d,a)' &
udp_pid=$!
"${S[@]}" /usr/bin/python3 -m http.server 8080 --bind 10.77.2.2 >/dev/null 2>&1 &
web_pid=$!
trap 'kill $udp_pid $web_pid 2>/dev/null || true; cleanup' EXIT
sleep 0.5

# real traffic from the client through ctsim
run "${C[@]}" ping -c 2 10.77.2.2
run "${C[@]}" ping -6 -c 1 fd77:2::2
run "${C[@]}" /usr/bin/python3 -c 'import socket
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(3)
s.sendto(b"hello", ("10.77.2.2",5353)); print(s.recvfrom(100)[0].decode())'
run "${C[@]}" curl -s -o /dev/null -w '%{http_code}\n' http://server:8080/   # hosts know each other by name
# the server may not open connections to the client side (default ruleset)
step "${S[*]} curl -s -m 2 http://10.77.1.2:8080/   # blocked by the firewall"
"${S[@]}" curl -s -m 2 http://10.77.1.2:8080/ || echo "(no answer: dropped in FORWARD, as it should be)"

# what ctsim tracked, seen by ctctl and by the unmodified conntrack
run "$CTCTL" --socket "$sock" list
run "$EXEC" --socket "$sock" conntrack -L
run "$EXEC" --socket "$sock" conntrack -S
run "$CTCTL" --socket "$sock" count
# the firewall's rule counters: the last, policy-drop counter caught the refused connection
run "$CTCTL" --socket "$sock" ruleset

if [ "${DEMO_KEEP:-0}" = 1 ]; then
  echo
  echo "The lab is up: try 'ip netns exec ctsim-client bash', and in another shell"
  echo "'$EXEC --socket $sock conntrack -E'. Ctrl-C ends the demo."
  wait "$pid" || true
fi

step "kill -TERM $pid   # stop ctsim"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=
echo "ctsim exited with status $status"
[ -S "$sock" ] && { echo "demo.sh: ctsim left its socket behind" >&2; exit 1; }
exit "$status"
