# SPDX-License-Identifier: GPL-2.0-or-later
"""NAT with real programs, through ctsim's lab and through a kernel router.

Two worlds with the lab's hosts and addresses (client 10.77.1.2, server
10.77.2.2, router 10.77.1.1 | 10.77.2.1): ``ctsim --lab --ruleset R`` and a
Linux router namespace (tests/lib/kernel_router.py) loading the same R with
``nft -f``. R forwards the router's port 8080 to the server's port 80 and
masquerades everything the client sends to the server's network (written on
addresses, not interface names: the kernel router's interfaces are eth1 and
eth2, ctsim's ct-c0 and ct-s0).

In both worlds the same programs run, and the tests check that they work and
that ``conntrack -L`` (ctsim: through the shim) lists the same entries,
translated reply tuples included, once ids and timeouts are normalised:

* curl through the port forward (DNAT + masquerade on one entry);
* ping, a UDP exchange and a TCP connection through masquerade, the server
  seeing the router's address;
* ``conntrack -L --src-nat`` / ``--dst-nat`` / ``--any-nat``: the kernel's
  filtering of NATed entries, the same lines in both worlds.
"""
import os
import re
import subprocess
import time

import pytest

from conftest import diff_conntrack_output
from kernel_router import KernelRouter
from labutil import PY, UDP_ASK, UDP_ECHO, HTTP_SERVE, Lab, lab_prefix, wait_port

from test_lab_kernel import KernelWorld, CtsimWorld, TCP_ECHO, TCP_CLIENT, start_ctsim, stop_ctsim

C4, S4, R1, R2 = "10.77.1.2", "10.77.2.2", "10.77.1.1", "10.77.2.1"

NAT_RULESET = """\
table ip labnat {
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr 10.77.1.1 tcp dport 8080 dnat to 10.77.2.2:80
	}
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 10.77.1.0/24 ip daddr 10.77.2.0/24 masquerade
	}
}
"""

# who the server saw: a TCP echo that answers with the peer's address
TCP_PEER = """\
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(8)
while True:
    c, a = s.accept(); c.sendall(a[0].encode()); c.close()
"""
TCP_ASK = """\
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('', int(sys.argv[3]))); s.settimeout(3)
s.connect((sys.argv[1], int(sys.argv[2]))); print(s.recv(100).decode())
"""


def prepare(w):
    w.start("server", PY, "-c", HTTP_SERVE, "0.0.0.0", "80")
    w.start("server", PY, "-c", UDP_ECHO, "0.0.0.0", "5000")
    w.start("server", PY, "-c", TCP_PEER, "0.0.0.0", "5001")
    wait_port(w, "server", "tcp", 80)
    wait_port(w, "server", "udp", 5000)
    wait_port(w, "server", "tcp", 5001)
    deadline = time.monotonic() + 5
    while w.run("client", "ping", "-c1", "-W1", S4).returncode != 0:
        assert time.monotonic() < deadline, f"{w.name}: no path to {S4}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    base = tmp_path_factory.mktemp("labnat")
    rfile = base / "nat.nft"
    rfile.write_text(NAT_RULESET)
    k = KernelRouter(lab_prefix("krn"), NAT_RULESET, workdir=str(base))
    lab = None
    k.__enter__()
    try:
        lab = start_ctsim(base / "ctsim", lab_prefix("cxn"), str(rfile))
        pair = (KernelWorld(k), CtsimWorld(lab))
        for w in pair:
            prepare(w)
        yield pair
    finally:
        problems = stop_ctsim(lab) if lab is not None else []
        k.__exit__(None, None, None)
        left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        for tag in ("krn", "cxn"):
            assert lab_prefix(tag) not in left, left
        if problems:
            pytest.fail("\n\n".join(problems), pytrace=False)


def listing(w, *args):
    res = w.conntrack("-L", *args)
    assert res.returncode == 0, (w.name, res.stderr)
    # the ping id is the program's own (random): compare it as "ID"
    return re.sub(r"\bid=\d+", "id=ID", res.stdout)


def flush(worlds):
    for w in worlds:
        assert w.conntrack("-F").returncode == 0


def same_listing(worlds, *args):
    k, c = (listing(w, *args) for w in worlds)
    problems = diff_conntrack_output(k, c)
    assert not problems, f"conntrack -L {' '.join(args)}:\nkernel:\n{k}\nctsim:\n{c}\n" + \
        "\n".join(problems)
    return k


def test_curl_through_port_forward(worlds):
    flush(worlds)
    for w in worlds:
        res = w.run("client", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                    "--local-port", "45000", "--max-time", "5", f"http://{R1}:8080/")
        assert res.stdout == "200", (w.name, res.stdout, res.stderr, w.bg_logs())
    text = same_listing(worlds)
    # DNAT and masquerade on one entry: from the server's port 80 to the
    # router's address on the server side
    assert re.search(rf"src={C4} dst={R1} sport=45000 dport=8080 .*"
                     rf"src={S4} dst={R2} sport=80 dport=45000", text), text


def test_masquerade_ping_udp_tcp(worlds):
    flush(worlds)
    for w in worlds:
        assert w.run("client", "ping", "-c1", "-W2", S4).returncode == 0, w.name
        res = w.run("client", PY, "-c", UDP_ASK, S4, "5000", "45001")
        assert res.stdout.strip() == "hello", (w.name, res.stdout, res.stderr)
        res = w.run("client", PY, "-c", TCP_ASK, S4, "5001", "45002")
        # the server saw the router's address, not the client's
        assert res.stdout.strip() == R2, (w.name, res.stdout, res.stderr)
    text = same_listing(worlds)
    for proto, port in (("udp", 5000), ("tcp", 5001)):
        assert re.search(rf"{proto} .*src={C4} dst={S4} sport=4500\d dport={port} .*"
                         rf"src={S4} dst={R2} sport={port} dport=4500\d", text), text
    assert re.search(rf"icmp .*src={C4} dst={S4} type=8 .*src={S4} dst={R2} type=0", text), text


def test_nat_filters(worlds):
    """conntrack -L --src-nat / --dst-nat / --any-nat [ADDR] list the same
    entries as on the kernel. (Without an address, conntrack 1.4.7 lists the
    ping to the router too, on the kernel as in ctsim: compared, not judged.)"""
    flush(worlds)
    for w in worlds:
        res = w.run("client", "curl", "-s", "-o", "/dev/null", "--local-port", "45010",
                    "--max-time", "5", f"http://{R1}:8080/")
        assert res.returncode == 0, (w.name, res.stderr)
        w.run("client", PY, "-c", UDP_ASK, S4, "5000", "45011")
        # something not NATed at all: the client pings the router itself
        w.run("client", "ping", "-c1", "-W2", R1)
    all_ = same_listing(worlds)
    src = same_listing(worlds, "--src-nat")
    dst = same_listing(worlds, "--dst-nat")
    any_ = same_listing(worlds, "--any-nat")
    assert "dport=8080" in src and "dport=5000" in src, src
    assert "dport=8080" in dst and "dport=5000" not in dst, dst
    assert f"dst={R1} type=8" in all_, all_
    # with an address: only entries NATed to it (the reply's destination /
    # source); the ping to the router itself is not among them
    src2 = same_listing(worlds, "--src-nat", R2)
    dst2 = same_listing(worlds, "--dst-nat", S4)
    assert "dport=8080" in src2 and "dport=5000" in src2 and "type=8" not in src2, src2
    assert "dport=8080" in dst2 and "dport=5000" not in dst2 and "type=8" not in dst2, dst2
    assert any_.strip(), any_
