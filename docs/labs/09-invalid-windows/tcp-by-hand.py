#!/usr/bin/python3
# Lab 09: a TCP connection written packet by packet (Scapy), from both hosts
# of a running lab, to put chosen sequence numbers on the wire:
#
#   python3 tcp-by-hand.py handshake    SYN, SYN-ACK, ACK   (client port 40200 -> server 8200)
#   python3 tcp-by-hand.py rst SEQ      an RST from the server with sequence number SEQ
#
# As root; --prefix PREFIX if the lab's namespaces are not ctsim-client and
# ctsim-server (--client NS --server NS name them outright). Each packet is
# written into a raw socket opened inside its host's namespace; the hosts'
# own TCP is told to ignore these ports (an nft table in each host), else
# it would answer the hand-made packets with RSTs of its own.
# The client starts at sequence number 1000, the server at 5000: after the
# handshake the server's next sequence number is 5001.
import argparse
import ctypes
import os
import socket
import subprocess
import time

from scapy.all import IP, TCP

C, S, CP, SP = "10.77.1.2", "10.77.2.2", 40200, 8200
QUIET = ("table inet lab09quiet { chain in { type filter hook input priority 0; "
         "policy accept; tcp dport { %d, %d } drop; }; }" % (CP, SP))
libc = ctypes.CDLL(None, use_errno=True)

ap = argparse.ArgumentParser()
ap.add_argument("what", choices=("handshake", "rst"))
ap.add_argument("seq", nargs="?", type=int, default=5001)
ap.add_argument("--prefix", default="ctsim-")
ap.add_argument("--client")
ap.add_argument("--server")
a = ap.parse_args()
ns = {"client": a.client or a.prefix + "client", "server": a.server or a.prefix + "server"}


def raw_socket_in(netns):
    here = os.open("/proc/self/ns/net", os.O_RDONLY)
    there = os.open("/run/netns/" + netns, os.O_RDONLY)
    try:
        if libc.setns(there, 0x40000000) != 0:         # CLONE_NEWNET
            raise OSError(ctypes.get_errno(), "setns " + netns)
        return socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    finally:
        libc.setns(here, 0x40000000)
        os.close(here)
        os.close(there)


def send(host, pkt):
    s = raw_socket_in(ns[host])
    s.sendto(bytes(pkt), (pkt[IP].dst, 0))
    s.close()
    print("%-6s sent %s seq=%d ack=%d" % (host, pkt.summary(), pkt[TCP].seq, pkt[TCP].ack))
    time.sleep(0.1)


if a.what == "handshake":
    for host in ("client", "server"):
        subprocess.run(["ip", "netns", "exec", ns[host], "nft", "-f", "-"], input=QUIET,
                       text=True, check=True)
    send("client", IP(src=C, dst=S) / TCP(sport=CP, dport=SP, flags="S", seq=1000,
                                         window=64240))
    send("server", IP(src=S, dst=C) / TCP(sport=SP, dport=CP, flags="SA", seq=5000, ack=1001,
                                         window=65160))
    send("client", IP(src=C, dst=S) / TCP(sport=CP, dport=SP, flags="A", seq=1001, ack=5001,
                                         window=502))
else:
    send("server", IP(src=S, dst=C) / TCP(sport=SP, dport=CP, flags="R", seq=a.seq))
