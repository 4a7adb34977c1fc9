#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Records the kernel byte vectors of tests/unit/vectors/kernel_vectors.h:
# packet-created entries (TCP and UDPv6 over loopback, nf_conntrack_acct and _timestamp on), their events, -L and -S.
# Run as root in an empty directory: unshare -n -m sh capture-packets.sh
# then: gen_vectors.py a:DIR_OF_capture-table b:DIR_OF_capture-packets > kernel_vectors.h
# Each conntrack command is straced (-e write=3 -e read=3,4: raw bytes).
set -x
ip link set lo up
sysctl -qw net.netfilter.nf_conntrack_acct=1 net.netfilter.nf_conntrack_timestamp=1
nft -f - <<'NFT'
table inet t {
  chain o { type filter hook output priority 0; policy accept; ct state new accept; }
  chain i { type filter hook input priority 0; policy accept; ct state new accept; }
}
NFT
nft list ruleset
T="strace -qq -f -xx -s 65536 -e trace=sendto,sendmsg,recvmsg,recvfrom -e write=3 -e read=3,4"
$T -o ev.trace conntrack -E -o id > ev.out 2>&1 &
EVPID=$!
sleep 0.5
/usr/bin/python3 - <<'PY'
import socket, time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR,1); s.bind(('127.0.0.1',8080)); s.listen()
c=socket.create_connection(('127.0.0.1',8080)); a,_=s.accept(); c.send(b'hi'); a.recv(10); a.send(b'ho'); c.recv(10)
u=socket.socket(socket.AF_INET6,socket.SOCK_DGRAM); u.sendto(b'x',('::1',9999))
time.sleep(0.3)
c.close(); a.close()
time.sleep(0.3)
PY
n=0
run() { n=$((n+1)); echo "$*" > cmd$n.txt; $T -o c$n.trace conntrack "$@" > out$n.txt 2>&1; echo "rc=$?" >> out$n.txt; }
run -L -o extended,id
run -Z
run -S
run -F
sleep 0.5
kill $(cat /proc/$EVPID/task/$EVPID/children); sleep 0.3; wait
