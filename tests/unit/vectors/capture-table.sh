#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Records the kernel byte vectors of tests/unit/vectors/kernel_vectors.h:
# entries created with conntrack -I (tcp/udp/icmp/icmpv6/sctp/gre/generic, zones, mark, NAT), then -L/-G/-U/-C/-S/-D/-F, with conntrack -E recording the events.
# Run as root in an empty directory: unshare -n -m sh capture-table.sh
# then: gen_vectors.py a:DIR_OF_capture-table b:DIR_OF_capture-packets > kernel_vectors.h
# Each conntrack command is straced (-e write=3 -e read=3,4: raw bytes).
# (the nft ruleset below is disabled: ctnetlink-created entries need no hooks)
set -x
ip link set lo up
sysctl -qw net.netfilter.nf_conntrack_acct=1 net.netfilter.nf_conntrack_timestamp=1
cat >/dev/null <<NFT
table inet t { chain o { type filter hook output priority 0; policy accept; ct state new accept; }
 chain i { type filter hook input priority 0; policy accept; ct state new accept; } }
table ip nat { chain post { type nat hook postrouting priority 100; policy accept; } }
NFT
T="strace -qq -f -xx -s 65536 -e trace=sendto,sendmsg,recvmsg,recvfrom -e write=3 -e read=3,4"
$T -o ev.trace conntrack -E -o id > ev.out 2>&1 &
EVPID=$!
sleep 0.5
n=0
run() { n=$((n+1)); echo "$*" > cmd$n.txt; $T -o c$n.trace conntrack "$@" > out$n.txt 2>&1; echo "rc=$?" >> out$n.txt; }
run -I -s 1.1.1.1 -d 2.2.2.2 -p tcp --sport 10 --dport 20 --state LISTEN -u SEEN_REPLY -t 50
run -I -s 10.0.0.1 -d 10.0.0.2 -p tcp --sport 1234 --dport 80 --state ESTABLISHED -u ASSURED,SEEN_REPLY -t 100 -m 42
run -I -s 2001:db8::1 -d 2001:db8::2 -p udp --sport 53 --dport 5353 -t 30
run -I -s 1.1.1.1 -d 2.2.2.2 -p icmp --icmp-type 8 --icmp-code 0 --icmp-id 77 -t 30
run -I -s ::1 -d ::2 -p icmpv6 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 5 -t 30
run -I -s 3.3.3.3 -d 4.4.4.4 -p sctp --sport 5 --dport 6 --state ESTABLISHED --orig-vtag 1 --reply-vtag 2 -t 50
run -I -s 5.5.5.5 -d 6.6.6.6 -p gre --srckey 1 --dstkey 2 -t 50
run -I -s 7.7.7.7 -d 8.8.8.8 -p 200 -t 50
run -I -s 1.1.1.1 -d 2.2.2.2 -p udp --sport 1 --dport 2 -t 50 -w 5
run -I -s 1.1.1.1 -d 2.2.2.2 -p udp --sport 3 --dport 4 -t 50 --orig-zone 7
run -I -s 1.1.1.1 -d 2.2.2.2 -p udp --sport 5 --dport 6 -t 50 --reply-zone 8
run -I -s 11.0.0.1 -d 11.0.0.2 -p tcp --sport 100 --dport 200 --state ESTABLISHED -t 60 --src-nat 12.0.0.1:3000
run -I -s 11.0.0.1 -d 11.0.0.2 -p udp --sport 100 --dport 200 -t 60 --dst-nat 13.0.0.1:4000
# packet-created entries: TCP over loopback and UDP
python3 - <<'PY'
import socket
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR,1); s.bind(('127.0.0.1',8080)); s.listen()
c=socket.create_connection(('127.0.0.1',8080)); a,_=s.accept(); c.send(b'hi'); a.recv(10); a.send(b'ho'); c.recv(10)
u=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); u.sendto(b'x',('127.0.0.1',9999))
import time; time.sleep(0.2)
PY
run -L
run -L -o extended,id
run -L -f ipv6
run -G -s 1.1.1.1 -d 2.2.2.2 -p tcp --sport 10 --dport 20
run -U -s 10.0.0.1 -d 10.0.0.2 -p tcp --sport 1234 --dport 80 -m 7
run -C
run -S
run -L -m 42
run -L -p tcp --orig-src 10.0.0.1
run -D -s 2001:db8::1 -d 2001:db8::2 -p udp --sport 53 --dport 5353
run -F
sleep 0.5
kill $(cat /proc/$EVPID/task/$EVPID/children)
wait
