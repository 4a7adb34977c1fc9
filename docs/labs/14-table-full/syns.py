#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Lab 14: a SYN flood, the polite way: N connection attempts at once, from N
source ports, to an address of the server's network where nobody answers
(10.77.2.99).  No answer, so each attempt leaves an entry in SYN_SENT
[UNREPLIED] for 120 s that never becomes ASSURED.  Usage: syns.py [N]"""
import socket
import sys
import time

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
socks = []
for _ in range(n):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("10.77.2.99", 80))    # sends one SYN
    socks.append(s)
time.sleep(0.5)
for s in socks:
    s.close()                           # a socket in SYN_SENT closes silently
print(f"{n} SYNs sent to 10.77.2.99 port 80 (nobody answers)")
