#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Lab 16: a burst of N entries for one ctctl batch (ctctl -b FILE): N UDP
entries from 10.9.0.0/16 to a DNS server 10.0.0.3, added at once, each a
[NEW] event.  Usage: burst.py [N] > /tmp/burst.txt"""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
for i in range(n):
    print(f"add udp src 10.9.{i // 250}.{i % 250 + 1} dst 10.0.0.3 sport 1000 dport 53 timeout 60")
