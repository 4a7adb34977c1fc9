#!/usr/bin/python3
# Lab 07: from the server, an ICMP port-unreachable quoting a UDP packet
# client:4444 -> server:5555 that nobody ever sent. Run it in the server:
#   ip netns exec ctsim-server /usr/bin/python3 forge-icmp.py [CLIENT SERVER]
import sys
from scapy.all import ICMP, IP, UDP, send

client, server = (sys.argv[1:3] if len(sys.argv) > 2 else ("10.77.1.2", "10.77.2.2"))
send(IP(src=server, dst=client) / ICMP(type=3, code=3) /
     IP(src=client, dst=server) / UDP(sport=4444, dport=5555), verbose=False)
print("sent: port-unreachable for udp %s:4444 -> %s:5555" % (client, server))
