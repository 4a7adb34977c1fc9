#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Lab 14: a TCP server on port 80 that accepts connections and keeps them
open (each one stays ESTABLISHED, hence ASSURED, in the router's table)."""
import socket

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 80))
s.listen(512)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
