#!/usr/bin/python3
# Lab 19: a TCP simultaneous open (RFC 793 fig. 8), packet by packet, from
# both hosts of a running lab:
#   /usr/bin/python3 simopen.py [PREFIX]      (as root; PREFIX default ctsim-)
#   /usr/bin/python3 simopen.py --client NS --server NS   (namespaces named outright)
# Real stacks cannot be timed to cross their SYNs reliably, so the packets
# are written by hand (Scapy) into raw sockets opened inside each host's
# namespace, and the hosts' own TCP is told to stay quiet on these ports
# (an nft table in each host), else they would answer with RSTs.
import ctypes
import os
import subprocess
import sys
import time

from scapy.all import IP, TCP

args = sys.argv[1:]
if args[:1] == ["--client"] and len(args) == 4 and args[2] == "--server":
    NS = {"client": args[1], "server": args[3]}
else:
    prefix = args[0] if args else "ctsim-"
    NS = {"client": prefix + "client", "server": prefix + "server"}
C, S, CP, SP = "10.77.1.2", "10.77.2.2", 40101, 5101
libc = ctypes.CDLL(None, use_errno=True)
QUIET = ("table inet lab19quiet { chain in { type filter hook input priority 0; "
         "policy accept; tcp dport { %d, %d } drop; }; }" % (CP, SP))


def raw_socket_in(host):
    """A raw IPv4 socket that belongs to @host's namespace."""
    import socket
    here = os.open("/proc/self/ns/net", os.O_RDONLY)
    there = os.open("/run/netns/" + NS[host], os.O_RDONLY)
    try:
        if libc.setns(there, 0x40000000) != 0:         # CLONE_NEWNET
            raise OSError(ctypes.get_errno(), "setns " + host)
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    finally:
        libc.setns(here, 0x40000000)
        os.close(here)
        os.close(there)
    return s


for host in ("client", "server"):
    subprocess.run(["ip", "netns", "exec", NS[host], "nft", "-f", "-"], input=QUIET,
                   text=True, check=True)
sock = {"client": raw_socket_in("client"), "server": raw_socket_in("server")}
steps = [
    ("client", IP(src=C, dst=S) / TCP(sport=CP, dport=SP, flags="S", seq=1000)),
    ("server", IP(src=S, dst=C) / TCP(sport=SP, dport=CP, flags="S", seq=5000)),
    ("client", IP(src=C, dst=S) / TCP(sport=CP, dport=SP, flags="SA", seq=1000, ack=5001)),
    ("server", IP(src=S, dst=C) / TCP(sport=SP, dport=CP, flags="SA", seq=5000, ack=1001)),
    ("server", IP(src=S, dst=C) / TCP(sport=SP, dport=CP, flags="A", seq=5001, ack=1001)),
    ("client", IP(src=C, dst=S) / TCP(sport=CP, dport=SP, flags="A", seq=1001, ack=5001)),
]
for host, pkt in steps:
    sock[host].sendto(bytes(pkt), (pkt[IP].dst, 0))
    print("%-6s sent %s" % (host, pkt.summary()))
    time.sleep(0.2)
