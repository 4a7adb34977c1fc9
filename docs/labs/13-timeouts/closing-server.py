#!/usr/bin/python3
# Lab 13: a TCP server on port 8080 that greets and closes first, so that
# the *server's* side ends in TIME_WAIT and the client may reuse its port.
#   ip netns exec ctsim-server /usr/bin/python3 closing-server.py
import socket

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", 8080))
s.listen(5)
while True:
    c, _ = s.accept()
    c.sendall(b"hello\n")
    c.close()
