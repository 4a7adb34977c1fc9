# SPDX-License-Identifier: GPL-2.0-or-later
"""nfct (cttimeout, cthelper) under ctsim-exec, compared with a kernel netns.

The same requests go to ctsim (through ctsim-exec, inside a netns whose own
kernel state is watched) and to a fresh kernel netns; answers must be the
same byte for byte (raw requests) and line for line (nfct). The netns that
ran ctsim-exec must end with its kernel conntrack table and its kernel
cttimeout list exactly as they were.
"""

import pathlib
import shutil
import subprocess

import pytest

from conftest import CTSIM_EXEC, KernelNetns, normalize_conntrack_output
from test_lifecycle import traversable

HERE = pathlib.Path(__file__).resolve().parent
WIRE = HERE / "clients" / "cttimeout_wire.py"
NFCT = shutil.which("nfct") or "/usr/sbin/nfct"

pytestmark = pytest.mark.skipif(not pathlib.Path(NFCT).exists(),
                                reason="nfct not installed (tests/setup-deps.sh)")


@pytest.fixture
def watched_ns():
    """A kernel netns holding one known entry, in which ctsim-exec runs;
    at teardown its conntrack table and its cttimeout list are checked to
    be exactly what they were."""
    ns = KernelNetns()
    try:
        res = ns.conntrack("-I", "-s", "10.9.0.1", "-d", "10.9.0.2", "-p", "tcp",
                           "--sport", "1", "--dport", "2", "--state", "ESTABLISHED",
                           "-t", "3000")
        assert res.returncode == 0, res.stderr
        before = ns.conntrack("-L", "-o", "id").stdout
        assert "10.9.0.1" in before
        yield ns
        after = ns.conntrack("-L", "-o", "id").stdout
        assert normalize_conntrack_output(after) == normalize_conntrack_output(before), \
            (before, after)
        assert len(after.splitlines()) == 1, after
        tl = ns.run([NFCT, "timeout", "list"])
        assert tl.returncode == 0 and tl.stdout == "", tl
        assert ns.run(["sysctl", "-n", "net.netfilter.nf_conntrack_udp_timeout"]).stdout.strip() \
            == "30"
    finally:
        ns.delete()


def under_ctsim(ns, ctsim, args):
    return ns.run([CTSIM_EXEC, "--socket", ctsim.socket, *args])


def test_cttimeout_wire_matches_kernel(ctsim, kernel_ns, watched_ns):
    """Every cttimeout request of the script (creation, EEXIST/EBUSY,
    replace, bad attributes, untracked protocols, dumps, defaults, deletion)
    is answered with the kernel's bytes."""
    k = kernel_ns.run(["/usr/bin/python3", WIRE])
    c = under_ctsim(watched_ns, ctsim, ["/usr/bin/python3", WIRE])
    assert k.returncode == 0, k.stderr
    assert c.returncode == 0, c.stderr
    assert len(k.stdout.splitlines()) > 50
    assert c.stdout.splitlines() == k.stdout.splitlines()


# nfct commands, run in order on each side. (DCCP is refused by nfct on a
# 6.18 kernel: no tracker; the same answer from ctsim.)
SESSION = [
    ["timeout", "list"],
    ["timeout", "add", "t1", "inet", "tcp", "established", "100", "syn_sent", "7"],
    ["timeout", "add", "t1", "inet", "tcp", "established", "100"],
    ["timeout", "add", "t2", "inet", "udp", "unreplied", "5", "replied", "9"],
    ["timeout", "add", "t3", "inet6", "icmpv6", "timeout", "7"],
    ["timeout", "add", "t4", "inet", "sctp", "established", "7"],
    ["timeout", "add", "t5", "inet", "gre", "replied", "7"],
    ["timeout", "add", "t6", "inet", "generic", "timeout", "7"],
    ["timeout", "add", "t7", "inet", "udplite", "replied", "7"],
    ["timeout", "add", "t8", "inet", "icmp", "timeout", "1"],
    ["timeout", "add", "t9", "inet", "dccp", "open", "7"],
    ["timeout", "add", "tx", "inet", "tcp", "bogus", "5"],
    ["timeout", "add", "ty", "inet", "tcp"],
    ["timeout", "list"],
    ["timeout", "get", "t2"],
    ["timeout", "get", "nope"],
    ["timeout", "delete", "t1"],
    ["timeout", "delete", "t1"],
    ["timeout", "default-get", "inet", "tcp"],
    ["timeout", "default-get", "inet6", "sctp"],
    ["timeout", "default-set", "inet", "udp", "unreplied", "31"],
    ["timeout", "default-get", "inet", "udp"],
    ["timeout", "default-set", "inet", "udp", "unreplied", "30"],
    ["timeout", "list"],
]


def test_nfct_timeout_session_matches_kernel(ctsim, kernel_ns, watched_ns):
    diffs = []
    for cmd in SESSION:
        k = kernel_ns.run([NFCT, *cmd])
        c = under_ctsim(watched_ns, ctsim, [NFCT, *cmd])
        if (k.returncode, k.stdout, k.stderr) != (c.returncode, c.stdout, c.stderr):
            diffs.append((cmd, (k.returncode, k.stdout, k.stderr),
                          (c.returncode, c.stdout, c.stderr)))
    assert not diffs, diffs
    # the session did create something on both sides
    assert ".t2 = {" in kernel_ns.run([NFCT, "timeout", "list"]).stdout


def test_default_set_is_the_sysctl(ctsim, kernel_ns, watched_ns):
    """cttimeout_default_set() writes the namespace's defaults, i.e. the
    sysctl: on the kernel `sysctl` shows it, on ctsim `ctctl get` does."""
    args = ["timeout", "default-set", "inet", "tcp", "established", "777", "close", "9"]
    assert kernel_ns.run([NFCT, *args]).returncode == 0
    res = under_ctsim(watched_ns, ctsim, [NFCT, *args])
    assert res.returncode == 0, res.stderr
    for name, want in (("nf_conntrack_tcp_timeout_established", "777"),
                       ("nf_conntrack_tcp_timeout_close", "9"),
                       ("nf_conntrack_tcp_timeout_syn_sent", "120")):
        k = kernel_ns.run(["sysctl", "-n", f"net.netfilter.{name}"]).stdout.strip()
        c = ctsim.ctctl("get", name)
        assert k == want, (name, k)
        assert c.returncode == 0 and c.stdout.split()[-1] == want, (name, c)


def test_nfct_helper_list(ctsim, kernel_ns, watched_ns):
    """ctsim answers cthelper as a kernel with nfnetlink_cthelper and no
    userspace helper: an empty list, ENOENT for a name. (This machine's
    kernel has no cthelper subsystem: EINVAL; recorded, not compared.)"""
    res = under_ctsim(watched_ns, ctsim, [NFCT, "helper", "list"])
    assert (res.returncode, res.stdout, res.stderr) == (0, "", ""), res
    res = under_ctsim(watched_ns, ctsim, [NFCT, "helper", "get", "ftp", "inet", "tcp"])
    assert res.returncode == 1 and "No such file or directory" in res.stderr, res
    k = kernel_ns.run([NFCT, "helper", "list"])
    assert k.returncode in (0, 1)


def test_nfct_non_root_refused_as_kernel(ctsim_factory, kernel_ns, watched_ns):
    """Without CAP_NET_ADMIN nfnetlink refuses every cttimeout request."""
    d = ctsim_factory(mode="0666")
    k = kernel_ns.run(["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups",
                       NFCT, "timeout", "list"])
    with traversable(d.socket):
        c = watched_ns.run(["setpriv", "--reuid", "nobody", "--regid", "nogroup",
                            "--clear-groups", CTSIM_EXEC, "--socket", d.socket,
                            NFCT, "timeout", "list"])
    assert k.returncode == 1 and "Operation not permitted" in k.stderr, k
    assert (c.returncode, c.stdout, c.stderr) == (k.returncode, k.stdout, k.stderr)
