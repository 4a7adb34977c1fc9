#!/usr/bin/python3
# Lab 08: a lone ACK from the client to server port 80, as if a connection
# had been open before conntrack saw it (no SYN). Run it in the client:
#   ip netns exec ctsim-client /usr/bin/python3 bare-ack.py [SERVER] [SPORT]
import sys
from scapy.all import IP, TCP, send

server = sys.argv[1] if len(sys.argv) > 1 else "10.77.2.2"
sport = int(sys.argv[2]) if len(sys.argv) > 2 else 40001
send(IP(dst=server) / TCP(sport=sport, dport=80, flags="A", seq=1000, ack=5000),
     verbose=False)
print("sent: ACK %d -> %s:80" % (sport, server))
