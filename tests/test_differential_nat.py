# SPDX-License-Identifier: GPL-2.0-or-later
"""conntrack(8) with NAT, kernel against ctsim (issue 11, control plane):
the same unmodified `conntrack` commands in a kernel network namespace and
through the shim, outputs compared as test_differential.py does.

* `-I` with --src-nat / --dst-nat (address, address:port, both, IPv6): the
  entry the kernel's ctnetlink_setup_nat() -> nf_nat_setup_info() builds;
* two `-I` whose SNAT to one address:port would give both the same reply
  tuple: what the kernel does with the second one (a single-port range is
  taken even when used, and the insert then clashes);
* `-L` / `-G` of NATed entries, `-L --src-nat|--dst-nat|--any-nat` with
  and without ADDR (and ADDR:PORT), `-D --src-nat`;
* `conntrack -E` while NATed entries are inserted and deleted.
"""
import os
import signal
import subprocess
import time

import pytest

from conftest import assert_conntrack_equal, normalize_conntrack_output
from test_differential import (A, A6, B, B6, both, compare, insert_both, tcp,  # noqa: F401
                               worlds, _event_kinds)

NAT = [
    ["-s", A, "-d", B, "-p", "udp", "--sport", "7001", "--dport", "53",
     "--src-nat", "10.8.8.8:4000", "-t", "30"],
    tcp(7002, "ESTABLISHED", "--dst-nat", "10.9.9.10"),
    ["-s", A, "-d", B, "-p", "udp", "--sport", "7003", "--dport", "53",
     "--src-nat", "10.8.8.9", "--dst-nat", "10.9.9.11:5353", "-t", "30"],
    ["-s", A6, "-d", B6, "-p", "udp", "--sport", "7004", "--dport", "53",
     "--src-nat", "2001:db8::8", "-t", "30"],
    tcp(7005, "SYN_SENT", "--src-nat", "10.8.8.8"),
    ["-s", A, "-d", B, "-p", "udp", "--sport", "7006", "--dport", "53", "-t", "30"],
]


@pytest.mark.parametrize("view", [["-L"], ["-L", "-o", "extended,id"], ["-C"]])
def test_nat_listing(worlds, view):
    insert_both(worlds, NAT)
    k, s = both(worlds, *view)
    compare(k, s, " ".join(view))


FILTERS = {
    "src-nat": ["--src-nat"],
    "src-nat-addr": ["--src-nat", "10.8.8.8"],
    "src-nat-addr-port": ["--src-nat", "10.8.8.8:4000"],
    "src-nat-other": ["--src-nat", "10.8.8.7"],
    "dst-nat": ["--dst-nat"],
    "dst-nat-addr": ["--dst-nat", "10.9.9.11"],
    "dst-nat-addr-port": ["--dst-nat", "10.9.9.11:5353"],
    "any-nat": ["--any-nat"],
    "any-nat-addr": ["--any-nat", "10.9.9.10"],
    "src-nat-proto": ["-p", "udp", "--src-nat"],
}


@pytest.mark.parametrize("flt", list(FILTERS))
def test_nat_filters(worlds, flt):
    insert_both(worlds, NAT)
    args = ["-L", *FILTERS[flt]]
    k, s = both(worlds, *args)
    compare(k, s, " ".join(args))


def test_nat_delete_by_src_nat(worlds):
    insert_both(worlds, NAT)
    k, s = both(worlds, "-D", "--src-nat", "10.8.8.8")
    compare(k, s, "-D --src-nat 10.8.8.8")
    k, s = both(worlds, "-L")
    compare(k, s, "-L (after the delete)")


def test_nat_insert_same_mapping(worlds):
    """Two flows SNATed to one address:port towards the same server: the
    second insert's reply tuple is the first one's."""
    first = ["-s", A, "-d", B, "-p", "udp", "--sport", "7101", "--dport", "53",
             "--src-nat", "10.8.8.8:4100", "-t", "30"]
    second = ["-s", "10.0.0.3", "-d", B, "-p", "udp", "--sport", "7102", "--dport", "53",
              "--src-nat", "10.8.8.8:4100", "-t", "30"]
    insert_both(worlds, [first])
    k, s = both(worlds, "-I", *second)
    compare(k, s, "-I " + " ".join(second))
    # the same without a port: the kernel may move the source port
    third = ["-s", "10.0.0.4", "-d", B, "-p", "udp", "--sport", "4100", "--dport", "53",
             "--src-nat", "10.8.8.8", "-t", "30"]
    k, s = both(worlds, "-I", *third)
    assert s.returncode == k.returncode, (k.stderr, s.stderr)
    k, s = both(worlds, "-L", "-s", "10.0.0.4")
    # the port moves (4100 is taken towards B:53), to a random one on the
    # kernel: compare its class
    assert "dst=10.8.8.8" in k.stdout and "dst=10.8.8.8" in s.stdout, (k.stdout, s.stdout)
    assert ("dport=4100" in k.stdout) == ("dport=4100" in s.stdout), (k.stdout, s.stdout)
    k, s = both(worlds, "-C")
    compare(k, s, "-C")


def _events(world, ops):
    proc = world.popen("-E")
    time.sleep(0.5)
    res = [world.conntrack(*op) for op in ops]
    time.sleep(0.5)
    try:
        os.killpg(proc.pid, signal.SIGINT)
    except ProcessLookupError:
        pass
    try:
        out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    return out, err, res


def test_nat_events(worlds):
    kern, sim = worlds
    ops = [["-I", *e] for e in NAT[:4]] + [["-D", "--dst-nat", "10.9.9.10"], ["-F"]]
    kout, kerr, kres = _events(kern, ops)
    sout, serr, sres = _events(sim, ops)
    for op, k, s in zip(ops, kres, sres):
        assert s.returncode == k.returncode, (op, k.stderr, s.stderr)
    assert normalize_conntrack_output(serr) == normalize_conntrack_output(kerr)
    assert _event_kinds(sout) == _event_kinds(kout), f"kernel:\n{kout}\nctsim:\n{sout}"
    assert_conntrack_equal(kout, sout, sort=True, what="conntrack -E (NAT)")
