# SPDX-License-Identifier: GPL-2.0-or-later
"""Unread replies are bounded per client (issue 17 robustness 7).

A client may pack thousands of requests into one datagram and never read
the answers. The kernel answers into the socket's receive buffer and drops
what does not fit (netlink_overrun(): the next recvmsg() fails with
ENOBUFS). ctsim queued every answer: 200 such clients took the daemon from
3 MB to 205 MB. Now a client's unread replies are bounded like a kernel
socket buffer; the daemon's memory stays flat and the client learns of the
loss (ctsim's ENOBUFS notice, which the shim turns into ENOBUFS).
"""
import struct
import time

import wire as W
from test_fd_exhaustion import connect, served

CLIENTS = 20
CTL_MAGIC = 0x4d535443


def asan_build(pid):
    with open(f"/proc/{pid}/maps") as f:
        return "libasan" in f.read()


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_unread_replies_are_bounded(ctsim):
    # a GET without a tuple: an error ACK (echoing the request) for each
    msg = W.ct_msg(W.CT_GET, W.NLM_F_REQUEST | W.NLM_F_ACK)
    per_dgram = (200 * 1024) // len(msg)
    pid = ctsim.proc.pid
    assert served(connect(ctsim.socket), 5.0)
    base = rss_kb(pid)
    socks = []
    for _ in range(CLIENTS):
        s = connect(ctsim.socket)
        s.send(msg * per_dgram)
        socks.append(s)
    # the daemon has handled them all when it answers a new client
    time.sleep(0.5)
    assert served(connect(ctsim.socket), 5.0)
    growth = rss_kb(pid) - base
    print(f"daemon RSS growth for {CLIENTS} non-reading clients: {growth} kB")
    # ~1 MB per client before (every answer queued); now at most the budget.
    # (Under ASan freed memory sits in quarantine: RSS says little there,
    # the count of answers below is the check.)
    if not asan_build(pid):
        assert growth < CLIENTS * 400, f"daemon grew {growth} kB for {CLIENTS} non-reading clients"

    # a client that reads now gets part of its answers, then the loss notice
    s = socks[0]
    s.settimeout(1.0)
    acks, notice = 0, False
    try:
        while True:
            d = s.recv(65536)
            if len(d) >= 4 and struct.unpack_from("<I", d)[0] == CTL_MAGIC:
                notice = True
                break
            acks += 1
    except TimeoutError:
        pass
    print(f"answers read: {acks} of {per_dgram}")
    # what the socket holds plus the budget (212992 / (44 + 512) answers),
    # not all of them
    assert 0 < acks < per_dgram // 4, (acks, per_dgram)
    assert notice, f"no ENOBUFS notice after {acks} of {per_dgram} answers"
    # the connection still works
    assert served(s, 5.0)
    for s in socks:
        s.close()
