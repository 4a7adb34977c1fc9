# SPDX-License-Identifier: GPL-2.0-or-later
"""The daemon out of file descriptors (issue 17, robustness item 1).

With RLIMIT_NOFILE low and enough idle clients, accept4() fails with EMFILE
while the connection stays in the listen backlog. The listening socket is
then still readable; with level-triggered epoll a daemon that only retries
accept4() spins at 100% CPU and never gets to the waiting client. ctsim must
stop polling the listener until a client leaves, log it once, and then
accept the waiting clients.
"""

import os
import resource
import socket
import time

import wire as W

NOFILE = 64


def cpu_ticks(pid):
    """utime + stime of *pid* in clock ticks (/proc/PID/stat fields 14, 15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(2.0)
    s.connect(path)
    return s


def served(sock, timeout):
    """Does the daemon answer a request on *sock* within *timeout* seconds?"""
    sock.settimeout(timeout)
    sock.send(W.ct_msg(W.CT_DELETE, W.NLM_F_REQUEST | W.NLM_F_ACK,
                       W.tuple_attr(W.CTA_TUPLE_ORIG, "9.9.9.9", "8.8.8.8")))
    try:
        return len(sock.recv(65536)) > 0
    except (socket.timeout, BlockingIOError):
        return False


def test_out_of_fds_keeps_serving(ctsim):
    pid = ctsim.proc.pid
    assert served(connect(ctsim.socket), 5.0)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
    hz = os.sysconf("SC_CLK_TCK")
    clients = []
    try:
        # Fill the daemon's descriptor table: connect() succeeds into the
        # backlog even when accept4() fails, so test each one for service.
        stuck = None
        for _ in range(3 * NOFILE):
            s = connect(ctsim.socket)
            if not served(s, 1.0):
                stuck = s
                break
            clients.append(s)
        assert stuck is not None, "the daemon never ran out of descriptors"
        assert len(clients) < NOFILE

        # While it is out of descriptors, the daemon must idle.
        t0, c0 = time.monotonic(), cpu_ticks(pid)
        time.sleep(1.0)
        used = (cpu_ticks(pid) - c0) / hz / (time.monotonic() - t0)
        assert used < 0.3, f"daemon used {used:.0%} CPU while out of descriptors"
        assert ctsim.alive, ctsim.stderr_text()

        # A client leaves: the waiting one is accepted and served, and so is
        # a new one.
        for s in clients[:4]:
            s.close()
        del clients[:4]
        stuck.settimeout(5.0)
        assert len(stuck.recv(65536)) > 0, "the waiting client was never served"
        clients.append(stuck)
        assert served(connect(ctsim.socket), 5.0)
    finally:
        for s in clients:
            s.close()
    log = ctsim.stderr_text()
    assert log.count("out of file descriptors") == 1, log
    # Recovered: a fresh client is served once the others have gone.
    time.sleep(0.2)
    with W.CtsimConn(ctsim.socket) as c:
        c.dump(W.ct_dump())
