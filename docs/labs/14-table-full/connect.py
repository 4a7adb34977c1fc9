#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Lab 14: open N TCP connections to the server's port 80 and keep them open
until Ctrl-C.  Each attempt waits 2 s at most: a SYN the router drops is
retransmitted once, then counted as failed.  Usage: connect.py [N]"""
import socket
import sys
import time

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
opened, failed = [], 0
for _ in range(n):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("10.77.2.2", 80))
        opened.append(s)
    except OSError:
        failed += 1
        s.close()
print(f"{len(opened)} connections open, {failed} failed", flush=True)
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    pass
