# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared helpers for the classroom-lab tests (test_lab.py, test_lab_kernel.py).

* ``Lab`` -- a running ``ctsim --lab``: run programs in its hosts, list
  ctsim's table through the shim.
* fixtures ``lab_factory`` (``make(extra_args=()) -> Lab``) and ``lab`` (the
  default lab); a test module uses them by importing them
  (``from labutil import lab, lab_factory``).  The namespaces are removed at
  teardown, also after a crash of the daemon.
* ``wait_port()`` and small Python programs (UDP echo, UDP ask, HTTP) run
  with ``/usr/bin/python3 -c`` inside a host.
"""
import os
import subprocess
import time

import pytest

from conftest import BUILD

CTSIM = str(BUILD / "ctsim" / "ctsim")
PY = "/usr/bin/python3"     # Debian's interpreter: it sees python3-scapy
SERVER4, CLIENT4, ROUTER4 = "10.77.2.2", "10.77.1.2", "10.77.1.1"
SERVER6, CLIENT6 = "fd77:2::2", "fd77:1::2"

UDP_ECHO = ("import socket,sys\n"
            "s=socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET,"
            " socket.SOCK_DGRAM)\n"
            "s.bind((sys.argv[1], int(sys.argv[2])))\n"
            "while True:\n"
            "    d,a=s.recvfrom(2048); s.sendto(d,a)\n")
# http.server's HTTPServer resolves its own name (getfqdn) before listening,
# which hangs in a namespace without DNS: serve with a plain TCPServer.
HTTP_SERVE = ("import http.server, socketserver, sys\n"
              "class S(socketserver.TCPServer): allow_reuse_address = True\n"
              "S((sys.argv[1], int(sys.argv[2])), http.server.SimpleHTTPRequestHandler)"
              ".serve_forever()\n")
UDP_ASK = ("import socket,sys\n"
           "s=socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET,"
           " socket.SOCK_DGRAM)\n"
           "s.settimeout(3); s.bind(('', int(sys.argv[3])))\n"
           "s.sendto(b'hello', (sys.argv[1], int(sys.argv[2])))\n"
           "print(s.recvfrom(2048)[0].decode())\n")


class Lab:
    """A running ``ctsim --lab``; hosts are named as in the topology
    ("client", "server"), their namespaces are PREFIX + name."""

    def __init__(self, daemon, prefix):
        self.d = daemon
        self.prefix = prefix
        self.bg = []

    def ns(self, host):
        return f"{self.prefix}{host}"

    def run(self, host, *cmd, timeout=20, check=False, input=None):
        res = subprocess.run(["ip", "netns", "exec", self.ns(host), *map(str, cmd)],
                             text=True, capture_output=True, timeout=timeout, input=input)
        if check:
            assert res.returncode == 0, (cmd, res.stdout, res.stderr)
        return res

    def start(self, host, *cmd):
        """A background program in @host; its output is kept for failures."""
        log = open(self.d.workdir / f"bg{len(self.bg)}.log", "w+")
        p = subprocess.Popen(["ip", "netns", "exec", self.ns(host), *map(str, cmd)],
                             stdout=log, stderr=subprocess.STDOUT, cwd=self.d.workdir)
        p.log = log
        self.bg.append(p)
        return p

    def bg_logs(self):
        text = ""
        for p in self.bg:
            p.log.seek(0)
            text += p.log.read()
        return text

    def entries(self, *args):
        res = self.d.conntrack("-L", *args)
        assert res.returncode == 0, res.stderr
        return res.stdout.splitlines()

    def close(self):
        for p in self.bg:
            if p.poll() is None:
                p.kill()
            p.wait()
            p.log.close()
        self.bg = []


def lab_prefix(tag="ctl"):
    """A namespace prefix unique to this test run (pid), short enough for
    interface and namespace names."""
    return "%s%04x-" % (tag, os.getpid() % 0xffff)


@pytest.fixture
def lab_factory(ctsim_factory):
    made = []

    def make(extra=(), tag="ctl"):
        prefix = lab_prefix(tag)
        daemon = ctsim_factory(["--lab", "--lab-prefix", prefix, *extra])
        lab = Lab(daemon, prefix)
        made.append(lab)
        return lab

    yield make
    for lab in made:
        lab.close()
        lab.d.stop()
        # The daemon removes its namespaces; this also covers a crash.
        subprocess.run([CTSIM, "lab", "down", "--prefix", lab.prefix],
                       capture_output=True, timeout=30)
        left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert lab.prefix not in left, left


@pytest.fixture
def lab(lab_factory):
    return lab_factory()


def wait_port(lab, host, proto, port, limit=10.0):
    """Wait until something listens on @proto/@port in @host (any object
    with run(host, ...) and bg_logs())."""
    deadline = time.monotonic() + limit
    flag = "-ltn" if proto == "tcp" else "-lun"
    while time.monotonic() < deadline:
        if f":{port} " in lab.run(host, "ss", flag).stdout:
            return
        time.sleep(0.05)
    logs = lab.bg_logs() if hasattr(lab, "bg_logs") else ""
    raise AssertionError(f"nothing listens on {proto} {port} in {host}:\n{logs}")
