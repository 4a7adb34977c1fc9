# SPDX-License-Identifier: GPL-2.0-or-later
"""Clients check who answers (issue 17 robustness 8).

On a socket path in a world-writable directory (the README's own
/tmp/ct.sock example) any user can bind first. Root's `ctsim-exec conntrack
-L` and `ctctl list` then talked to the impostor and showed its forged
entries, and root's ctsim only said the address was in use. Now clients
read the server's credentials (SO_PEERCRED) and trust only root or their
own user; the daemon names who holds the path, and warns when its socket
is in a world-writable directory.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import CONNTRACK, CTCTL_BIN, CTSIM_BIN, CTSIM_EXEC

NOBODY = 65534

# the impostor: binds as nobody and answers every datagram with a forged
# (empty) dump end, so a client that does not check gets "an answer"
IMPOSTOR = """
import os, socket, struct, sys, threading
os.setgid(%d); os.setuid(%d)
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(sys.argv[1]); s.listen(8)
print("up", flush=True)
def serve(c):
    while True:
        d = c.recv(65536)
        if not d:
            return
        c.send(struct.pack("=IHHII", 20, 3, 2, 0, 0) + b"\\0" * 4)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
""" % (NOBODY, NOBODY)


@pytest.fixture
def public_dir():
    if os.geteuid() != 0:
        pytest.skip("needs root (to run the impostor as another user)")
    d = tempfile.mkdtemp(prefix="ctpub", dir="/tmp")
    os.chmod(d, 0o1777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def impostor(public_dir):
    path = os.path.join(public_dir, "ct.sock")
    p = subprocess.Popen([sys.executable, "-c", IMPOSTOR, path], stdout=subprocess.PIPE,
                         text=True)
    try:
        assert p.stdout.readline().strip() == "up"
        yield path
    finally:
        p.kill()
        p.wait()


def test_shim_refuses_impostor(impostor):
    res = subprocess.run([str(CTSIM_EXEC), "--socket", impostor, CONNTRACK, "-L"],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode != 0, res
    assert f"refusing {impostor}: its server runs as uid {NOBODY}" in res.stderr, res.stderr


def test_ctctl_refuses_impostor(impostor):
    res = subprocess.run([str(CTCTL_BIN), "--socket", impostor, "list"],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode != 0, res
    assert "Permission denied (EACCES)" in res.stderr, res.stderr


def test_daemon_names_who_holds_the_path(impostor):
    res = subprocess.run([str(CTSIM_BIN), "--socket", impostor], capture_output=True,
                         text=True, timeout=30)
    assert res.returncode != 0, res
    assert f"is served by process" in res.stderr and f"(uid {NOBODY})" in res.stderr, \
        res.stderr


def test_daemon_warns_about_world_writable_dir(public_dir):
    path = os.path.join(public_dir, "own.sock")
    p = subprocess.Popen([str(CTSIM_BIN), "--socket", path], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(path):
            assert time.monotonic() < deadline and p.poll() is None, "ctsim did not start"
            time.sleep(0.05)
        # its own user's clients (root) are served
        res = subprocess.run([str(CTSIM_EXEC), "--socket", path, CONNTRACK, "-L"],
                             capture_output=True, text=True, timeout=30)
        assert res.returncode == 0, res.stderr
    finally:
        p.terminate()
        out = p.communicate(timeout=10)[0]
    assert f"{path} is in a world-writable directory" in out, out
