#!/usr/bin/python3
# Lab 13: connect to server:8080 from source port 40000, read until the
# server closes, close. Run it twice within 120 s:
#   ip netns exec ctsim-client /usr/bin/python3 same-port-client.py [SERVER]
import socket
import sys

c = socket.socket()
c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
c.bind(("", 40000))
c.connect((sys.argv[1] if len(sys.argv) > 1 else "server", 8080))
data = b""
while True:
    got = c.recv(100)
    if not got:
        break
    data += got
c.close()
print(data.decode().strip())
